"""``allocations.xlsx``: the month's allocations, exemptions and notes, for the QA team."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from caseaudit_batch.allocation.allocate import (
    HOW_RANDOM,
)
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.clock import Month

if TYPE_CHECKING:
    from openpyxl import Workbook

from caseaudit_batch.allocation.people import current_allocations
from caseaudit_batch.session import Context, Run
from caseaudit_batch.workbook.cells import column_letter
from caseaudit_batch.workbook.stamp import EXCEL_EPOCH, MAX_CELL_TEXT, Package

ALLOCATION_COLUMNS = (
    "Audit reference",
    "Auditor",
    "Staff ID",
    "Role",
    "Case reference",
    "Case type",
    "Team",
    "Service",
    "Social worker",
    "Team manager",
    "Service manager",
    "CP coordinator / IRO",
    "Due date",
    "Three-way meeting",
    "How chosen",
    "Form",
    "Audit ID",
)


def landscape(wb: Workbook) -> None:
    """Printed on landscape pages with the header row repeated (wide tables; fit-to-width shrank them unreadably)."""
    for ws in wb.worksheets:
        ws.page_setup.orientation = "landscape"
        ws.print_title_rows = "1:1"


def write_allocations_workbook(ctx: Context, conn: Connection, run: Run, month: Month) -> Path:
    """``allocations.xlsx`` for QA, rebuilt from the register: current allocations, exemptions with reasons,
    auditors without a case, cases passed over, and every override (kept and shown)."""
    from openpyxl import Workbook

    from caseaudit_batch.workbook.tables import add_sheet_table, size_table

    n, s = reg.allocation_notes, reg.staff
    staff = {row.staff_id: row for row in conn.execute(sa.select(s.c.staff_id, s.c.name, s.c.role))}
    notes = list(conn.execute(sa.select(n).where(n.c.month == str(month)).order_by(n.c.id)))
    batch = conn.execute(
        sa.select(reg.allocation_batches.c.id).where(
            reg.allocation_batches.c.month == str(month), reg.allocation_batches.c.status == "current"
        )
    ).scalar()
    current_notes = [x for x in notes if x.batch_id == batch]
    how = {x.audit_id: x.detail for x in current_notes if x.kind in ("override", "recent", "followup")}
    three_way = {x.audit_id for x in current_notes if x.kind == "three_way"}
    rows = []
    for row in current_allocations(conn, str(month)):
        p = row.prefilled
        rows.append(
            [
                row.audit_ref or "",
                p.get("auditor_name", ""),
                row.staff_id,
                p.get("auditor_role", ""),
                row.case_ref,
                p.get("case_type", ""),
                p.get("team", ""),
                p.get("service", ""),
                p.get("social_worker", ""),
                p.get("team_manager", ""),
                p.get("service_manager", ""),
                p.get("cp_iro", ""),
                row.due_date,
                "Advised" if row.audit_id in three_way else "",
                how.get(row.audit_id, HOW_RANDOM if row.kind == "audit" else row.kind),
                row.form_file or "",
                row.audit_id,
            ]
        )
    rows.sort(key=lambda r: (str(r[7]), str(r[6]), str(r[1])))  # service, team, auditor

    def person_cells(staff_id: str | None) -> list[object]:
        person = staff.get(staff_id or "")
        return [staff_id or "", person.name if person else "", person.role if person else ""]

    def saved(first_rows: list[list[object]]) -> bytes:
        wb = Workbook()
        first_sheet = add_sheet_table(wb, "Allocations", ALLOCATION_COLUMNS, first_rows, first=True)
        if len(first_rows) < len(rows):
            size_table(first_sheet, ALLOCATION_COLUMNS, rows)  # from every row
        add_sheet_table(
            wb,
            "Exemptions",
            ("Staff ID", "Name", "Role", "Reason"),
            [[*person_cells(x.staff_id), x.detail] for x in current_notes if x.kind == "exempt"],
        )
        add_sheet_table(
            wb,
            "No case",
            ("Staff ID", "Name", "Role", "Reason"),
            [[*person_cells(x.staff_id), x.detail] for x in current_notes if x.kind == "unallocated"],
        )
        add_sheet_table(
            wb,
            "Passed over",
            ("Cases not offered for audit",),
            [[x.detail] for x in current_notes if x.kind == "passed_over"],
        )
        add_sheet_table(
            wb,
            "Follow-ups waiting",
            ("Follow-ups due but not allocated this month (they stay due)",),
            [[x.detail] for x in current_notes if x.kind == "followup_waiting"],
        )
        add_sheet_table(
            wb,
            "Overrides",
            ("Made at", "Kind", "Staff ID", "Name", "Role", "Audit ID", "Detail"),
            [
                [x.created_at, x.kind, *person_cells(x.staff_id), x.audit_id or "", x.detail]
                for x in notes
                if x.kind in ("override", "reassign")
            ],
        )
        landscape(wb)
        buffer = io.BytesIO()
        wb.save(buffer)
        return buffer.getvalue()

    # The Allocations sheet (a thousand rows) is written by openpyxl with its first row only, and the other rows
    # spliced in as openpyxl writes them (issue 25: openpyxl's cells were most of this workbook's time); anything
    # unusual, and openpyxl writes them all.
    data = None
    if len(rows) > 1 and all(_plain(value) for row in rows for value in row):
        data = _with_rows(saved(rows[:1]), rows)
    if data is None:
        data = saved(rows)
    path = ctx.config.output_dir / str(month) / "allocations.xlsx"
    run.staging.write_bytes(path, data)
    return path


_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_FIRST_SHEET = "xl/worksheets/sheet1.xml"


def _plain(value: object) -> bool:
    """A value whose cell :func:`_cell` writes exactly as openpyxl does: printable text, a date, or nothing."""
    if value.__class__ is date:
        return value.year > 1900  # type: ignore[attr-defined]  # Excel's 1900 leap year: openpyxl's own sums
    if value is None:
        return True
    return value.__class__ is str and len(value) <= MAX_CELL_TEXT and value.isprintable()  # type: ignore[attr-defined]


def _cell(ref: str, value: object, date_style: str) -> str:
    """One cell as openpyxl writes it (``openpyxl/cell/_writer.py``, through ``tables.set_text_safe``)."""
    if value.__class__ is date:
        return f'<c r="{ref}" s="{date_style}" t="n"><v>{(value - EXCEL_EPOCH).days}</v></c>'  # type: ignore[operator]
    text = str(value)
    if not text:
        return f'<c r="{ref}" t="inlineStr"></c>'
    space = ' xml:space="preserve"' if text != text.strip() else ""
    # openpyxl (lxml) writes the sheet in ASCII: every other character as a numeric reference.
    written = escape(text) if text.isascii() else escape(text).encode("ascii", "xmlcharrefreplace").decode("ascii")
    return f'<c r="{ref}" t="inlineStr"><is><t{space}>{written}</t></is></c>'


def _with_rows(data: bytes, rows: list[list[object]]) -> bytes | None:
    """``data`` (saved with the first row) with every row; None if the sheet is not as openpyxl was seen to write it
    (the caller then lets openpyxl write them all)."""
    package = Package(data)
    if _FIRST_SHEET not in package.index:
        return None
    xml = package.text(_FIRST_SHEET)
    width = len(rows[0])
    last = column_letter(width)
    date_cols = [i for i, value in enumerate(rows[0]) if value.__class__ is date]
    styles = {re.search(rf'<c r="{column_letter(i + 1)}2" s="(\d+)" t="n">', xml) for i in date_cols}
    if None in styles or any(v.__class__ is date for row in rows for i, v in enumerate(row) if i not in date_cols):
        return None
    date_style = next(iter(styles)).group(1) if styles else "0"  # type: ignore[union-attr]
    dimension = f'<dimension ref="A1:{last}2"/>'
    end = xml.find("</sheetData>")
    if xml.count(dimension) != 1 or end < 0 or _ILLEGAL.search(xml):
        return None
    letters = [column_letter(col) for col in range(1, width + 1)]
    body = [
        f'<row r="{number}">'
        + "".join(
            _cell(f"{letter}{number}", value, date_style)
            for letter, value in zip(letters, row, strict=True)
            if value is not None
        )
        + "</row>"
        for number, row in enumerate(rows[1:], start=3)
    ]
    xml = xml[:end].replace(dimension, f'<dimension ref="A1:{last}{len(rows) + 1}"/>') + "".join(body) + xml[end:]
    return package.build({_FIRST_SHEET: xml.encode("utf-8")})
