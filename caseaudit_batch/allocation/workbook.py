"""``allocations.xlsx``: the month's allocations, exemptions and notes, for the QA team."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

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

    from caseaudit_batch.workbook.tables import add_sheet_table

    n, s = reg.allocation_notes, reg.staff
    staff = {row.staff_id: row for row in conn.execute(sa.select(s))}
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

    wb = Workbook()
    add_sheet_table(wb, "Allocations", ALLOCATION_COLUMNS, rows, first=True)
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
    path = ctx.config.output_dir / str(month) / "allocations.xlsx"
    run.staging.write_bytes(path, buffer.getvalue())
    return path
