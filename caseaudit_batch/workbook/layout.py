"""Where every field of a generated form sits: one layout per form kind, derived from the framework.

The writer places fields here (and gives each a workbook-level defined name); the reader reads them back from the
same positions without needing defined names, which is what lets ingest use a fast values-only reader. A form's
``_meta`` sheet names its framework and generator versions, so it is always read with the layout it was made with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from openpyxl.utils import get_column_letter

from ..framework import Framework

FieldKind = Literal["text", "date", "choice", "grade"]

MAIN_SHEET = "Audit form"
ACTIONS_SHEET = "Actions"
DESCRIPTORS_SHEET = "Grade descriptors"
LISTS_SHEET = "_lists"
META_SHEET = "_meta"

LABEL_COL = 1  # A: the question
ANSWER_COL = 2  # B: the answer (the only editable column)
GUIDANCE_COL = 3  # C: guidance from Appendix 1

PARTICIPATION = ("In person", "Phone or video", "Not possible")
THREE_WAY = ("Yes", "No", "Not applicable")
YES_NO = ("Yes", "No")

#: Keys of the ``_meta`` sheet and of the custom document properties (``caseaudit.<key>``): a published contract.
META_KEYS = ("form_kind", "audit_id", "framework_version", "generator_version", "month", "case_ref", "auditor_id")

ACTION_ROWS = 15  # "at least ten rows" (issue contract)
ACTIONS_HEADER_ROW = 3


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    sheet: str
    row: int
    col: int
    kind: FieldKind = "text"
    prefilled: bool = False
    required: bool = False
    choices: tuple[str, ...] = ()
    section: int | None = None
    guidance: tuple[str, ...] = ()

    @property
    def cell(self) -> str:
        return f"{get_column_letter(self.col)}{self.row}"

    @property
    def ref(self) -> str:
        """An absolute reference for a defined name: ``'Audit form'!$B$7``."""
        return f"'{self.sheet}'!${get_column_letter(self.col)}${self.row}"


@dataclass(frozen=True)
class TableSpec:
    """A table body: ``rows`` rows from ``first_row``, columns from ``first_col``, header row just above."""

    name: str
    sheet: str
    first_row: int
    rows: int
    first_col: int
    headers: tuple[str, ...]
    kinds: tuple[FieldKind, ...]
    prefilled_cols: int = 0  # leading columns that are pre-filled and locked

    @property
    def last_row(self) -> int:
        return self.first_row + self.rows - 1

    @property
    def last_col(self) -> int:
        return self.first_col + len(self.headers) - 1

    @property
    def ref(self) -> str:
        a, b = get_column_letter(self.first_col), get_column_letter(self.last_col)
        return f"'{self.sheet}'!${a}${self.first_row}:${b}${self.last_row}"


@dataclass(frozen=True)
class Heading:
    """A heading row in the main sheet (a part of the form, or a section title)."""

    text: str
    row: int
    level: int = 1
    guidance: tuple[str, ...] = ()


@dataclass(frozen=True)
class FormLayout:
    kind: str
    fields: dict[str, FieldSpec]
    tables: dict[str, TableSpec]
    headings: tuple[Heading, ...] = ()
    notices: tuple[tuple[int, str], ...] = ()
    extra: dict[str, int] = field(default_factory=dict)

    def field_names(self, *, prefilled: bool | None = None) -> list[str]:
        return [n for n, f in self.fields.items() if prefilled is None or f.prefilled == prefilled]


PREFILLED: tuple[tuple[str, str, FieldKind], ...] = (
    ("audit_id", "Audit ID", "text"),
    ("audit_month", "Audit month", "text"),
    ("due_date", "Due date", "date"),
    ("case_ref", "Case reference", "text"),
    ("case_type", "Case type", "text"),
    ("service", "Service", "text"),
    ("team", "Team", "text"),
    ("social_worker", "Social worker", "text"),
    ("team_manager", "Team manager", "text"),
    ("service_manager", "Service manager", "text"),
    ("cp_iro", "CP coordinator / IRO", "text"),
    ("auditor_name", "Auditor", "text"),
    ("auditor_role", "Auditor's role", "text"),
    ("previous_worker", "Previous social worker (re-allocated within a month)", "text"),
    ("review_period", "Period under review", "text"),
)


def audit_layout(framework: Framework) -> FormLayout:
    """The audit form's layout for this framework (the positions depend only on the section count)."""
    fields: dict[str, FieldSpec] = {}
    headings: list[Heading] = []
    points = framework.points
    row = 1
    notices = ((2, framework.notices.get("safeguarding", "")), (3, framework.notices.get("writing", "")))
    row = 5
    headings.append(Heading("Case details (filled in by QA; locked)", row))
    row += 1
    for name, label, kind in PREFILLED:
        fields[name] = FieldSpec(name, label, MAIN_SHEET, row, ANSWER_COL, kind, prefilled=True)
        row += 1
    row += 1
    headings.append(Heading("About the audit", row))
    row += 1
    fields["date_completed"] = FieldSpec(
        "date_completed", "Date completed", MAIN_SHEET, row, ANSWER_COL, "date", required=True
    )
    row += 1
    fields["sw_participation"] = FieldSpec(
        "sw_participation",
        "How did the social worker take part?",
        MAIN_SHEET,
        row,
        ANSWER_COL,
        "choice",
        required=True,
        choices=PARTICIPATION,
    )
    row += 1
    fields["sw_participation_reason"] = FieldSpec(
        "sw_participation_reason", "If not possible, why not?", MAIN_SHEET, row, ANSWER_COL, "text"
    )
    row += 1
    fields["three_way_meeting"] = FieldSpec(
        "three_way_meeting",
        "Three-way meeting held (case re-allocated within a month)?",
        MAIN_SHEET,
        row,
        ANSWER_COL,
        "choice",
        choices=THREE_WAY,
    )
    row += 2
    headings.append(Heading("Audit analysis", row, guidance=points.get("audit_analysis", ())))
    row += 1
    for section in framework.sections:
        headings.append(Heading(f"{section.number}. {section.title}", row, level=2, guidance=section.prompts))
        row += 1
        key = section.key
        fields[f"{key}_grade"] = FieldSpec(
            f"{key}_grade",
            f"Section {section.number} grade",
            MAIN_SHEET,
            row,
            ANSWER_COL,
            "grade",
            required=True,
            section=section.number,
        )
        row += 1
        fields[f"{key}_findings"] = FieldSpec(
            f"{key}_findings",
            "Evidence and findings",
            MAIN_SHEET,
            row,
            ANSWER_COL,
            "text",
            required=True,
            section=section.number,
            guidance=section.prompts,
        )
        row += 1
        fields[f"{key}_impact"] = FieldSpec(
            f"{key}_impact",
            framework.reflective_question,
            MAIN_SHEET,
            row,
            ANSWER_COL,
            "text",
            section=section.number,
            guidance=(framework.reflective_guidance,),
        )
        row += 2
    headings.append(Heading("Overall grade", row, guidance=points.get("overall_grade", ())))
    row += 1
    fields["overall_grade"] = FieldSpec(
        "overall_grade",
        "Overall grade",
        MAIN_SHEET,
        row,
        ANSWER_COL,
        "grade",
        required=True,
        guidance=points.get("overall_grade", ()),
    )
    row += 1
    extra = {"max_overall_row": row}  # a formula cell: the highest overall grade the section grades allow
    row += 2
    headings.append(Heading("Reasons for grading", row, guidance=points.get("reasons_for_grading", ())))
    row += 1
    for name, label, required in (
        ("strengths", "Strengths: what was done well (at least one area of good practice)", True),
        ("learning", "Learning: what needs to improve", True),
        ("diversity", "How were the child's identity and diversity understood and responded to?", True),
    ):
        fields[name] = FieldSpec(
            name,
            label,
            MAIN_SHEET,
            row,
            ANSWER_COL,
            "text",
            required=required,
            guidance=points.get("reasons_for_grading", ()) if name != "diversity" else (),
        )
        row += 1
    fields["safeguarding_concern"] = FieldSpec(
        "safeguarding_concern",
        "Is there an immediate safeguarding concern?",
        MAIN_SHEET,
        row,
        ANSWER_COL,
        "choice",
        required=True,
        choices=YES_NO,
    )
    row += 1
    fields["safeguarding_detail"] = FieldSpec(
        "safeguarding_detail", "If yes: what was done, and who was told?", MAIN_SHEET, row, ANSWER_COL, "text"
    )
    row += 2
    headings.append(Heading("Recommendations", row, guidance=points.get("recommendations", ())))
    row += 1
    fields["recommendations"] = FieldSpec(
        "recommendations", "Recommendations (child-focussed)", MAIN_SHEET, row, ANSWER_COL, "text", required=True
    )
    row += 1
    fields["org_learning"] = FieldSpec(
        "org_learning", "Organisational learning points", MAIN_SHEET, row, ANSWER_COL, "text"
    )
    row += 1
    extra["last_row"] = row
    tables = {
        "actions": TableSpec(
            "actions",
            ACTIONS_SHEET,
            ACTIONS_HEADER_ROW + 1,
            ACTION_ROWS,
            1,
            ("Action", "Owner", "Due date"),
            ("text", "text", "date"),
        )
    }
    return FormLayout("audit", fields, tables, tuple(headings), notices, extra)


# ---------------------------------------------------------------------------------------------------------------
# The action tracker (one per service manager; issue 7)
# ---------------------------------------------------------------------------------------------------------------
#: Pre-filled, locked columns of the tracker table (a published contract).
TRACKER_PREFILLED = (
    "Action ID",
    "Case reference",
    "Team",
    "Team manager",
    "Action",
    "Owner",
    "Due date",
    "Days overdue",
)
#: Answer columns of the tracker table (a published contract).
TRACKER_ANSWERS = (
    "Status",
    "Completed on",
    "Update",
    "Discussed in supervision on",
    "Service manager sign-off",
)
TRACKER_HEADERS = TRACKER_PREFILLED + TRACKER_ANSWERS
