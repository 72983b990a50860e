"""Plain tabular workbooks (blank templates, lists for QA): a header row, filters, frozen panes, text kept text."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
HEADER_FONT = Font(bold=True, color="FFFFFF")


def set_text_safe(ws: Worksheet, row: int, column: int, value: object) -> None:
    """Write a value so that text stays text: a string starting with '=' never becomes a formula."""
    cell = ws.cell(row=row, column=column)
    cell.value = value  # type: ignore[assignment]
    if isinstance(value, str):
        # openpyxl turns any string beginning with '=' into a formula; forcing the type keeps it as text.
        cell.data_type = "s"
    elif isinstance(value, (date, datetime)):
        cell.number_format = "dd/mm/yyyy"


def size_table(ws: Worksheet, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Column widths from the content (at most 60 characters) and the filter over the header and ``rows``, as
    :func:`add_sheet_table` sets them (also for a sheet whose rows are written otherwise: allocations.xlsx)."""
    widths: list[float] = [len(h) + 4 for h in headers]
    for row in rows:
        for col, value in enumerate(row):
            widths[col] = max(widths[col], min(60, len(str(value or "")) + 2))
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.auto_filter.ref = f"A1:{get_column_letter(max(1, len(headers)))}{max(2, len(rows) + 1)}"


def add_sheet_table(
    wb: Workbook,
    title: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[object]] = (),
    *,
    lists: dict[str, Sequence[str]] | None = None,
    first: bool = False,
) -> Worksheet:
    """A sheet with a styled header row, filters, frozen panes and widths from the content."""
    if first:
        ws = wb.active
        assert ws is not None
        ws.title = title
    else:
        ws = wb.create_sheet(title)
    for col, header in enumerate(headers, start=1):
        set_text_safe(ws, 1, col, header)
        cell = ws.cell(row=1, column=col)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    written = []
    for r, row in enumerate(rows, start=2):
        written.append(row)
        for col, value in enumerate(row, start=1):
            set_text_safe(ws, r, col, value)
    size_table(ws, headers, written)
    ws.freeze_panes = "A2"
    for header, values in (lists or {}).items():
        letter = get_column_letter(list(headers).index(header) + 1)
        listed = ",".join(values)
        # Inline lists are limited to 255 characters by Excel (field notes); these short ones fit.
        assert len(listed) < 250, header
        validation = DataValidation(type="list", formula1=f'"{listed}"', allow_blank=True)
        validation.error = f"Choose one of: {', '.join(values)}"
        validation.errorTitle = header
        ws.add_data_validation(validation)
        validation.add(f"{letter}2:{letter}5000")
    return ws


def write_blank_table(
    path: Path, title: str, headers: Sequence[str], lists: dict[str, Sequence[str]] | None = None
) -> None:
    wb = Workbook()
    add_sheet_table(wb, title, headers, lists=lists, first=True)
    wb.save(path)
