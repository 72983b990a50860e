"""The one form-building machine: a :class:`FormLayout` in, a protected, guided Excel workbook out.

The audit form, the moderation form and the action tracker are all made here from their layouts (``layout.py``):

- the main sheet: a title, plain notices, headings, one row per field (question | answer | guidance);
- one sheet per table (the actions table; a tracker's rows), its header row directly above the body;
- optionally a sheet with the grade descriptors (guidance Appendix 2 in full);
- a hidden ``_lists`` sheet that feeds every drop-down through a defined name (inline lists are cut off by Excel past
  255 characters: field notes);
- a very hidden ``_meta`` sheet and custom document properties for the form's identity (values stamped per form by
  ``stamp.py``: the template built here carries empty cells and placeholder properties for them).

Every field and table body gets a workbook-level defined name (a published contract). Only answer cells are
unlocked; every sheet is protected. openpyxl builds each template once; forms are stamped copies of it.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from copy import copy
from typing import Any

from openpyxl import Workbook
from openpyxl.formatting.rule import FormulaRule
from openpyxl.packaging.custom import StringProperty
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.workbook.protection import WorkbookProtection
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from caseaudit_batch.core.framework import Framework
from caseaudit_batch.workbook.layout import (
    ANSWER_COL,
    DESCRIPTORS_SHEET,
    GUIDANCE_COL,
    LABEL_COL,
    LISTS_SHEET,
    META_KEYS,
    META_SHEET,
    FieldSpec,
    FormDesign,
    TableSheet,
    TableSpec,
)

DATE_FORMAT = "dd/mm/yyyy"
#: The range a date answer is validated against (Excel date validation needs bounds).
DATE_MIN, DATE_MAX = 36526, 73050  # 01/01/2000 and 31/12/2099 as Excel serial numbers

# Colours: dark blue bands for parts, light blue for sections, grey for what QA filled in, yellow for a required
# answer still empty (conditional formatting), light orange for the notices.
NAVY = "1F4E79"
SECTION_FILL = PatternFill("solid", fgColor="DDEBF7")
PART_FILL = PatternFill("solid", fgColor=NAVY)
PREFILLED_FILL = PatternFill("solid", fgColor="EDEDED")
REQUIRED_FILL = PatternFill("solid", fgColor="FFF2CC", bgColor="FFF2CC")
OVER_RULE_FILL = PatternFill("solid", fgColor="F8CBAD", bgColor="F8CBAD")
NOTICE_FILL = PatternFill("solid", fgColor="FCE4D6")
FORMULA_FILL = PatternFill("solid", fgColor="E2EFDA")
HEADER_FILL = PatternFill("solid", fgColor="D9D9D9")
THIN = Side(style="thin", color="808080")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP_TOP = Alignment(wrap_text=True, vertical="top")
WRAP_CENTRE = Alignment(wrap_text=True, vertical="center")
LOCKED = Protection(locked=True)
UNLOCKED = Protection(locked=False)

MAIN_WIDTHS = {LABEL_COL: 30.0, ANSWER_COL: 60.0, GUIDANCE_COL: 44.0}
POINTS_PER_LINE = 13.0  # a wrapped line of 10-11 pt text

#: Names of the drop-down lists (defined names pointing into ``_lists``); the choices decide the name.
KNOWN_LISTS = {
    ("In person", "Phone or video", "Not possible"): "list_participation",
    ("Yes", "No", "Not applicable"): "list_three_way",
    ("Yes", "No"): "list_yes_no",
    ("Yes",): "list_yes",
    ("Open", "Completed", "No longer required"): "list_status",
}


def estimate_lines(text: str, width: float) -> int:
    """Wrapped lines a text needs in a column ``width`` characters wide (a little generous, never too short)."""
    per_line = max(8, int(width * 1.05))
    return sum(max(1, math.ceil(len(part) / per_line)) for part in text.split("\n")) if text else 0


def bullets(points: Sequence[str]) -> str:
    return "\n".join(f"• {p}" for p in points if p)


def short_title(text: str, limit: int = 32) -> str:
    """An input message title (Excel allows 32 characters), cut at a word."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"


def clip(text: str, limit: int = 250) -> str:
    """An input or error message (Excel allows 255 characters)."""
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


class _Lists:
    """The hidden ``_lists`` sheet: one column per distinct list of choices, each with a defined name."""

    def __init__(self, wb: Workbook) -> None:
        self.wb = wb
        self.ws = wb.create_sheet(LISTS_SHEET)
        self.names: dict[tuple[str, ...], str] = {}

    def name_for(self, choices: tuple[str, ...], preferred: str = "") -> str:
        if choices in self.names:
            return self.names[choices]
        name = preferred or KNOWN_LISTS.get(choices) or f"list_{len(self.names) + 1}"
        col = len(self.names) + 1
        for row, value in enumerate(choices, start=1):
            cell = self.ws.cell(row=row, column=col, value=value)
            cell.data_type = "s"
        letter = get_column_letter(col)
        ref = f"{quote_sheetname(LISTS_SHEET)}!${letter}$1:${letter}${len(choices)}"
        self.wb.defined_names[name] = DefinedName(name, attr_text=ref)
        self.names[choices] = name
        return name


def _name(wb: Workbook, name: str, ref: str) -> None:
    wb.defined_names[name] = DefinedName(name, attr_text=ref)


def _protect(ws: Worksheet, password: str) -> None:
    ws.protection.sheet = True
    # Auditors may make a row taller to read a long answer; they cannot change anything else.
    ws.protection.formatRows = False
    ws.protection.selectLockedCells = False
    ws.protection.selectUnlockedCells = False
    if password:
        ws.protection.password = password


def _print_setup(ws: Worksheet, *, landscape: bool, footer: str, title_rows: str | None = None) -> None:
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    if ws.sheet_properties.pageSetUpPr is not None:
        ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.page_margins.header = ws.page_margins.footer = 0.3
    ws.print_options.horizontalCentered = True
    if title_rows:
        ws.print_title_rows = title_rows
    footer_item = ws.oddFooter
    if footer_item is not None and footer_item.left is not None and footer_item.right is not None:
        footer_item.left.text = footer.replace("&", "&&")  # header/footer code: '&' starts a code ("&P")
        footer_item.left.size = 8
        footer_item.right.text = "Page &P of &N"
        footer_item.right.size = 8


def _validation(
    ws: Worksheet,
    ref: str,
    *,
    kind: str,
    list_name: str = "",
    title: str,
    prompt: str,
) -> None:
    """A data validation with an input message: a list fed by a defined name, a date range, or any value."""
    if list_name:
        dv = DataValidation(type="list", formula1=f"={list_name}", allow_blank=True)
        dv.error = "Please choose one of the options in the drop-down list."
        dv.errorTitle = "Choose from the list"
        dv.showErrorMessage = True
    elif kind == "date":
        dv = DataValidation(
            type="date", operator="between", formula1=str(DATE_MIN), formula2=str(DATE_MAX), allow_blank=True
        )
        dv.error = "Please type a date, for example 28/09/2026."
        dv.errorTitle = "A date is needed"
        dv.showErrorMessage = True
    else:
        dv = DataValidation(allow_blank=True)
    dv.promptTitle = short_title(title)
    dv.prompt = clip(prompt)
    dv.showInputMessage = True
    ws.add_data_validation(dv)
    dv.add(ref)


def _required_highlight(ws: Worksheet, ref: str) -> None:
    """Yellow until filled: the cell stays highlighted while it is empty or only spaces."""
    top_left = ref.split(":")[0]
    ws.conditional_formatting.add(ref, FormulaRule(formula=[f"LEN(TRIM({top_left}))=0"], fill=REQUIRED_FILL))


def _field_prompt(spec: FieldSpec) -> str:
    if spec.kind in ("grade", "choice"):
        how = "Choose from the drop-down list (the arrow at the right of the cell)."
    elif spec.kind == "date":
        how = "Type a date as dd/mm/yyyy."
    else:
        how = "Type your answer; the row grows when you print, and you can make it taller."
    need = " Required." if spec.required else ""
    return f"{spec.label}{need} {how}"


def _choices(spec_choices: tuple[str, ...], kind: str, framework: Framework) -> tuple[str, ...]:
    if kind == "grade" and not spec_choices:
        return tuple(framework.grade_names)
    return spec_choices


def _main_sheet(wb: Workbook, design: FormDesign, lists: _Lists) -> Worksheet:
    layout = design.layout
    all_fields = list(layout.fields.values())
    sheet_name = all_fields[0].sheet if all_fields else "Form"
    main_fields = [f for f in all_fields if f.sheet == sheet_name]
    ws = wb.active
    assert ws is not None
    ws.title = sheet_name
    _field_sheet(wb, ws, design, lists, main_fields, main=True)
    _overall_rule(wb, ws, design)
    last_row = max([layout.extra.get("last_row", 0)] + [f.row for f in main_fields])
    ws.print_area = f"A1:{get_column_letter(GUIDANCE_COL)}{last_row}"
    _print_setup(ws, landscape=False, footer=design.footer)
    # Other sheets of fields (a follow-up form's 'Follow-up' sheet), in the order their fields come.
    for other in dict.fromkeys(f.sheet for f in all_fields if f.sheet != sheet_name):
        side = wb.create_sheet(other)
        fields = [f for f in all_fields if f.sheet == other]
        _field_sheet(wb, side, design, lists, fields, main=False)
        last = max([f.row for f in fields] + [h.row for h in layout.headings if h.sheet == other])
        side.print_area = f"A1:{get_column_letter(GUIDANCE_COL)}{last}"
        _print_setup(side, landscape=False, footer=design.footer)
    return ws


def _field_sheet(
    wb: Workbook, ws: Worksheet, design: FormDesign, lists: _Lists, main_fields: Sequence[FieldSpec], *, main: bool
) -> None:
    """Title, notices (main sheet only), headings and fields (question | answer | guidance) of one sheet."""
    layout = design.layout
    sheet_headings = [h for h in layout.headings if h.sheet == ws.title or (main and not h.sheet)]
    for col, width in MAIN_WIDTHS.items():
        ws.column_dimensions[get_column_letter(col)].width = width
    full = MAIN_WIDTHS[LABEL_COL] + MAIN_WIDTHS[ANSWER_COL] + MAIN_WIDTHS[GUIDANCE_COL]
    last = get_column_letter(GUIDANCE_COL)
    ws.sheet_view.showGridLines = False

    def band(row: int, text: str) -> None:
        ws.merge_cells(f"A{row}:{last}{row}")
        cell = ws.cell(row=row, column=1, value=text)
        cell.data_type = "s"

    def captions(row: int, texts: Sequence[str]) -> None:
        for col, text in enumerate(texts, start=LABEL_COL):
            cell = ws.cell(row=row, column=col, value=text)
            cell.data_type = "s"
            cell.font = Font(bold=True, size=9, color="404040")
            cell.alignment = WRAP_CENTRE
        ws.row_dimensions[row].height = 26

    # Title.
    title = design.title if main else design.sheet_titles.get(ws.title, design.title)
    band(1, f"{design.organisation}: {title}")
    ws["A1"].font = Font(bold=True, size=16, color=NAVY)
    ws["A1"].alignment = Alignment(vertical="center")
    ws.row_dimensions[1].height = 30
    # The plain notices (guidance section 3).
    for row, text in layout.notices if main else ():
        if not text:
            continue
        band(row, text)
        cell = ws.cell(row=row, column=1)
        cell.font = Font(bold=True, size=11, color="833C0B")
        cell.fill = NOTICE_FILL
        cell.alignment = WRAP_CENTRE
        ws.row_dimensions[row].height = max(2, estimate_lines(text, full * 0.95)) * POINTS_PER_LINE + 8
    columns_row = layout.extra.get("columns_row") if main else None
    if columns_row:
        captions(
            columns_row,
            (
                "Question",
                "Your answer (yellow: required and not yet answered; grey: filled in by QA)",
                "Points to consider (from the guidance)",
            ),
        )
    # Headings: parts (level 1), sections (level 2), guidance paragraphs (level 3), column captions (level 4).
    for heading in sheet_headings:
        if heading.level == 4:
            captions(heading.row, heading.text.split("|"))
            continue
        band(heading.row, heading.text)
        cell = ws.cell(row=heading.row, column=1)
        if heading.level == 1:
            cell.font = Font(bold=True, size=12, color="FFFFFF")
            cell.fill = PART_FILL
            cell.alignment = Alignment(vertical="center")
            ws.row_dimensions[heading.row].height = 21
        elif heading.level == 2:
            cell.font = Font(bold=True, size=11, color=NAVY)
            cell.fill = SECTION_FILL
            cell.alignment = WRAP_CENTRE
            ws.row_dimensions[heading.row].height = max(1, estimate_lines(heading.text, full)) * 15 + 6
        elif heading.level == 3:
            cell.font = Font(italic=True, size=10, color="404040")
            cell.alignment = WRAP_TOP
            ws.row_dimensions[heading.row].height = estimate_lines(heading.text, full) * POINTS_PER_LINE + 6
    # Fields: question | answer | guidance. A row may hold two answers (B and C, as the moderation form's grades):
    # the first field on a row gives the question; guidance goes in C only when C holds no answer.
    answer_cols: dict[int, set[int]] = {}
    for spec in main_fields:
        answer_cols.setdefault(spec.row, set()).add(spec.col)
    heights: dict[int, float] = {}
    for spec in main_fields:
        label = spec.label + (" (required)" if spec.required and not spec.prefilled else "")
        if LABEL_COL not in answer_cols[spec.row] and ws.cell(row=spec.row, column=LABEL_COL).value is None:
            lab = ws.cell(row=spec.row, column=LABEL_COL, value=label)
            lab.data_type = "s"
            lab.alignment = WRAP_TOP
            lab.font = Font(bold=spec.kind == "grade", size=10)
        answer = ws.cell(row=spec.row, column=spec.col)
        answer.alignment = WRAP_TOP
        answer.border = BOX
        answer.font = Font(size=11, bold=spec.kind == "grade")
        if spec.kind == "date":
            answer.number_format = DATE_FORMAT
            answer.alignment = Alignment(horizontal="left", vertical="top")
        guidance = bullets(spec.guidance) if GUIDANCE_COL not in answer_cols[spec.row] else ""
        if guidance:
            g = ws.cell(row=spec.row, column=GUIDANCE_COL, value=guidance)
            g.data_type = "s"
            g.alignment = WRAP_TOP
            g.font = Font(italic=True, size=9, color="404040")
        needed = max(
            estimate_lines(label, MAIN_WIDTHS[LABEL_COL]) * POINTS_PER_LINE,
            estimate_lines(guidance, MAIN_WIDTHS[GUIDANCE_COL] * 1.15) * 11.5,
        )
        if spec.prefilled:
            answer.fill = PREFILLED_FILL
            answer.protection = LOCKED
            height = max(18.0, needed)
        else:
            answer.protection = UNLOCKED
            choices = _choices(spec.choices, spec.kind, design.framework)
            list_name = lists.name_for(choices, "list_grades" if spec.kind == "grade" else "") if choices else ""
            _validation(ws, spec.cell, kind=spec.kind, list_name=list_name, title=label, prompt=_field_prompt(spec))
            if spec.required:
                _required_highlight(ws, spec.cell)
            long_text = spec.kind == "text" and spec.name not in design.short_fields
            minimum = (90.0 if spec.required else 60.0) if long_text else 20.0
            height = max(minimum, needed + 6)
        heights[spec.row] = max(heights.get(spec.row, 0.0), height)
        ws.row_dimensions[spec.row].height = heights[spec.row]
        _name(wb, spec.name, spec.ref)
    for display in (d for d in layout.displays if d.sheet == ws.title):
        _display(ws, display.label, display.row, display.rows)


def _display(ws: Worksheet, label: str, first: int, rows: int) -> None:
    """A read-only text in column B (stamped per form) over ``rows`` rows: the first a box of its own; the rest,
    where a long text continues, are kept thin until a text needs them (the stamp makes rows as tall as their text)."""
    lab = ws.cell(row=first, column=LABEL_COL, value=label)
    lab.data_type = "s"
    lab.alignment = WRAP_TOP
    lab.font = Font(italic=True, size=9, color="404040")
    for row in range(first, first + rows):
        cell = ws.cell(row=row, column=ANSWER_COL, value="")
        cell.alignment = WRAP_TOP
        cell.font = Font(size=11)  # the size the stamp's row heights are reckoned for (stamp.LINE_POINTS)
        cell.fill = PREFILLED_FILL
        cell.protection = LOCKED
        # One box down all the rows: top on the first, bottom on the last (the thin rows then read as its foot).
        last = row == first + rows - 1
        cell.border = Border(left=THIN, right=THIN, top=THIN if row == first else None, bottom=THIN if last else None)
        ws.row_dimensions[row].height = (
            max(18.0, estimate_lines(label, MAIN_WIDTHS[LABEL_COL]) * 11.5 + 4) if row == first else 1.5
        )


def _overall_rule(wb: Workbook, ws: Worksheet, design: FormDesign) -> None:
    """Appendix 1's rule of thumb beside the overall grade, with a formula showing the highest grade allowed."""
    layout = design.layout
    row = layout.extra.get("max_overall_row")
    overall = layout.fields.get("overall_grade")
    sections = [
        f for f in layout.fields.values() if f.kind == "grade" and f.section is not None and f.sheet == ws.title
    ]
    if not row or overall is None or not sections:
        return
    grades = "list_grades"
    # MATCH gives 1 for the best grade; the overall grade may be at most one grade better than the lowest section
    # grade, so the highest allowed is the grade one place above the largest MATCH among the sections.
    matches = ",".join(f"IFERROR(MATCH({f.name},{grades},0),1)" for f in sections)
    names = ",".join(f.name for f in sections)
    formula = (
        f'=IF(COUNTA({names})<{len(sections)},"Shown when all {len(sections)} section grades are filled in",'
        f"INDEX({grades},MAX(1,MAX({matches})-1)))"
    )
    rule = design.overall_rule or "not more than one grade higher than your lowest section grade"
    label = f"Highest overall grade your section grades allow (the rule: {rule})"
    lab = ws.cell(row=row, column=LABEL_COL, value=label)
    lab.alignment = WRAP_TOP
    lab.font = Font(size=10)
    cell = ws.cell(row=row, column=ANSWER_COL, value=formula)
    cell.fill = FORMULA_FILL
    cell.border = BOX
    cell.font = Font(bold=True, size=11)
    cell.alignment = WRAP_TOP
    cell.protection = LOCKED
    # The overall grade's guidance (Appendix 1, which states the rule) runs down beside both rows.
    guidance = bullets(overall.guidance)
    if guidance and overall.row == row - 1:
        ws.merge_cells(f"C{overall.row}:C{row}")
        needed = estimate_lines(guidance, MAIN_WIDTHS[GUIDANCE_COL] * 1.15) * 11.5 + 6
        label_needed = estimate_lines(label, MAIN_WIDTHS[LABEL_COL]) * POINTS_PER_LINE + 6
        ws.row_dimensions[overall.row].height = max(30.0, needed / 2)
        ws.row_dimensions[row].height = max(label_needed, needed / 2)
    _name(wb, "overall_grade_allowed", f"{quote_sheetname(ws.title)}!$B${row}")
    # The overall grade turns orange when it is better than the rule allows.
    oc = overall.cell
    ws.conditional_formatting.add(
        oc,
        FormulaRule(
            formula=[
                f'AND(${oc[0]}${oc[1:]}<>"",COUNTA({names})={len(sections)},'
                f"IFERROR(MATCH(${oc[0]}${oc[1:]},{grades},0),99)<IFERROR(MATCH($B${row},{grades},0),0))"
            ],
            fill=OVER_RULE_FILL,
            stopIfTrue=True,
        ),
    )


def _table_sheet(wb: Workbook, design: FormDesign, table: TableSpec, lists: _Lists) -> Worksheet:
    look = design.tables.get(table.name, TableSheet(title=table.sheet))
    ws = wb[table.sheet] if table.sheet in wb.sheetnames else wb.create_sheet(table.sheet)
    ws.sheet_view.showGridLines = False
    header_row = table.first_row - 1
    ncols = len(table.headers)
    last = get_column_letter(table.first_col + ncols - 1)
    first = get_column_letter(table.first_col)
    widths = list(look.widths) + [0.0] * ncols
    total = 0.0
    for i, kind in enumerate(table.kinds):
        width = widths[i] or (14.0 if kind == "date" else 60.0 if i == 0 else 26.0)
        ws.column_dimensions[get_column_letter(table.first_col + i)].width = width
        total += width
    if header_row >= 2:
        ws.merge_cells(f"{first}1:{last}1")
        t = ws.cell(row=1, column=table.first_col, value=f"{look.title}")
        t.font = Font(bold=True, size=14, color=NAVY)
        ws.row_dimensions[1].height = 24
    if header_row >= 3 and look.intro:
        ws.merge_cells(f"{first}2:{last}{header_row - 1}")
        intro = ws.cell(row=2, column=table.first_col, value=look.intro)
        intro.alignment = WRAP_TOP
        intro.font = Font(size=10)
        ws.row_dimensions[2].height = estimate_lines(look.intro, total) * POINTS_PER_LINE + 6
    for i, header in enumerate(table.headers):
        cell = ws.cell(row=header_row, column=table.first_col + i, value=header)
        cell.data_type = "s"
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PART_FILL
        cell.alignment = WRAP_CENTRE
        cell.border = BOX
    header_lines = max(
        estimate_lines(h, ws.column_dimensions[get_column_letter(table.first_col + i)].width * 0.9)
        for i, h in enumerate(table.headers)
    )
    ws.row_dimensions[header_row].height = max(20, header_lines * POINTS_PER_LINE + 6)
    for i, kind in enumerate(table.kinds):
        col = table.first_col + i
        letter = get_column_letter(col)
        prefilled = i < table.prefilled_cols
        # Blank rows at the end take new entries: every column but the first (an ID, left blank) is editable.
        first_open = table.last_row - table.blank_rows + 1
        # Each cell's style is set once per column and kind (locked or open), then copied: setting five style
        # attributes on every cell of a tracker costs openpyxl about 50 ms a tracker, copying about 1 ms.
        styled: dict[bool, Any] = {}
        for row in range(table.first_row, table.last_row + 1):
            body: Any = ws.cell(row=row, column=col)  # _style (the style array) is not in the type stubs
            locked = prefilled and (row < first_open or i == 0)
            if locked in styled:
                body._style = copy(styled[locked])
                continue
            body.border = BOX
            body.alignment = WRAP_TOP
            body.protection = LOCKED if locked else UNLOCKED
            if locked:
                body.fill = PREFILLED_FILL
            if kind == "date":
                body.number_format = DATE_FORMAT
            styled[locked] = body._style
        if prefilled and (i == 0 or table.blank_rows == 0):
            continue
        start = first_open if prefilled else table.first_row
        choices = table.choices[i] if i < len(table.choices) else ()
        list_name = lists.name_for(_choices(choices, kind, design.framework)) if choices or kind == "grade" else ""
        prompt = (table.prompts[i] if i < len(table.prompts) else "") or table.headers[i]
        _validation(
            ws,
            f"{letter}{start}:{letter}{table.last_row}",
            kind=kind,
            list_name=list_name,
            title=table.headers[i],
            prompt=prompt,
        )
    for row in range(table.first_row, table.last_row + 1):
        ws.row_dimensions[row].height = look.row_height
    ws.freeze_panes = ws.cell(row=table.first_row, column=1)
    _name(wb, table.name, table.ref)
    ws.print_area = f"A1:{last}{table.last_row}"
    _print_setup(ws, landscape=look.landscape, footer=design.footer, title_rows=f"{header_row}:{header_row}")
    return ws


def _descriptors_sheet(wb: Workbook, design: FormDesign) -> Worksheet:
    """Appendix 2 in full: the words around the descriptors, then each grade's summary and what the file shows."""
    fw = design.framework
    ws = wb.create_sheet(DESCRIPTORS_SHEET)
    ws.sheet_view.showGridLines = False
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 100
    ws.merge_cells("A1:B1")
    ws["A1"] = "Grade descriptors (Appendix 2 of the Case File Audit Guidance)"
    ws["A1"].font = Font(bold=True, size=14, color=NAVY)
    ws.row_dimensions[1].height = 24
    row = 2
    for para in fw.descriptor_intro:
        ws.merge_cells(f"A{row}:B{row}")
        c = ws.cell(row=row, column=1, value=para)
        c.data_type = "s"
        c.alignment = WRAP_TOP
        c.font = Font(size=10, italic=True)
        ws.row_dimensions[row].height = estimate_lines(para, 124) * POINTS_PER_LINE + 4
        row += 1
    fills = {4: "C6E0B4", 3: "DDEBF7", 2: "FFE699", 1: "F8CBAD"}
    for d in fw.descriptors:
        row += 1
        ws.merge_cells(f"A{row}:B{row}")
        h = ws.cell(row=row, column=1, value=d.grade.name)
        h.font = Font(bold=True, size=13)
        h.fill = PatternFill("solid", fgColor=fills.get(d.grade.rank, "D9D9D9"))
        h.alignment = Alignment(vertical="center")
        ws.row_dimensions[row].height = 22
        row += 1
        for label, text in (
            ("In summary", "\n".join(d.summary)),
            ("What the case file shows", "\n".join(x for x in (d.detail_intro, bullets(d.detail)) if x)),
        ):
            if not text:
                continue
            a = ws.cell(row=row, column=1, value=label)
            a.font = Font(bold=True, size=10)
            a.alignment = WRAP_TOP
            b = ws.cell(row=row, column=2, value=text)
            b.data_type = "s"
            b.alignment = WRAP_TOP
            b.font = Font(size=10)
            b.border = BOX
            ws.row_dimensions[row].height = estimate_lines(text, 100) * POINTS_PER_LINE + 6
            row += 1
    ws.print_area = f"A1:B{row}"
    _print_setup(ws, landscape=False, footer=design.footer)
    return ws


def _meta_sheet(wb: Workbook) -> Worksheet:
    """Key/value rows for META_KEYS (column A the key, column B the value, stamped per form)."""
    ws = wb.create_sheet(META_SHEET)
    for row, key in enumerate(META_KEYS, start=1):
        ws.cell(row=row, column=1, value=key).data_type = "s"
        # A styled empty cell, so that the template's XML carries it and stamping can fill it in place.
        ws.cell(row=row, column=2).number_format = "@"
    ws.sheet_state = "veryHidden"
    return ws


def build_form(design: FormDesign) -> Workbook:
    """The workbook for one kind of form, with empty identity cells (see ``stamp.py`` for the per-form values)."""
    wb = Workbook()
    lists = _Lists(wb)
    # _lists is created first so the drop-down names exist; move the main sheet to the front afterwards.
    if design.layout.fields:
        _main_sheet(wb, design, lists)
    else:
        # A form that is only a table (the tracker): its table's sheet comes first.
        first_sheet = wb.active
        assert first_sheet is not None
        first_sheet.title = next(iter(design.layout.tables.values())).sheet
    for table in design.layout.tables.values():
        _table_sheet(wb, design, table, lists)
    if design.descriptors:
        _descriptors_sheet(wb, design)
    if "list_grades" not in lists.names.values():
        lists.name_for(tuple(design.framework.grade_names), "list_grades")
    meta = _meta_sheet(wb)
    # Order: the form and its tables, then the descriptors, then the hidden sheets.
    lists_ws = wb[LISTS_SHEET]
    wb.move_sheet(lists_ws, offset=len(wb.sheetnames) - 1 - wb.sheetnames.index(LISTS_SHEET))
    wb.move_sheet(meta, offset=len(wb.sheetnames) - 1 - wb.sheetnames.index(META_SHEET))
    lists_ws.sheet_state = "hidden"
    for ws in wb.worksheets:
        _protect(ws, design.password)
    wb.active = 0
    wb.security = WorkbookProtection(lockStructure=True)
    if design.password:
        wb.security.workbookPassword = design.password
    wb.properties.title = f"{design.title}: {design.organisation}"
    wb.properties.creator = "caseaudit"
    for key in META_KEYS:
        # Placeholders: stamping replaces docProps/custom.xml with each form's values.
        props = wb.custom_doc_props  # type: ignore[attr-defined]
        props.append(StringProperty(name=f"caseaudit.{key}", value="-"))
    return wb


def to_bytes(wb: Workbook) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
