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
    #: per column, the drop-down choices (empty: free entry); may be shorter than ``headers``
    choices: tuple[tuple[str, ...], ...] = ()
    #: per column, an input message shown when the cell is selected (may be shorter than ``headers``)
    prompts: tuple[str, ...] = ()

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
    """A row of the main sheet that is not a field: level 1 a part of the form, level 2 a section title,
    level 3 a paragraph of guidance across the sheet. ``guidance`` records the Appendix 1 points that belong to
    the heading (shown beside the fields that carry them)."""

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
    ("previous_worker", "Previous social worker (case re-allocated within a month)", "text"),
    ("review_period", "Period under review", "text"),
)

#: Guidance section 2, shown beside the details it concerns.
THREE_WAY_ADVICE = (
    "If the case was re-allocated within the last month and the previous worker is still with the authority, "
    "try to arrange a three-way meeting with both workers to discuss the audit."
)
PARTICIPATION_ADVICE = (
    "Give the social worker every opportunity to take part: contact them in plenty of time before the due date "
    "so that a meeting (or a call) can be arranged."
)
LEARNING_ADVICE = "Learning should be focused and succinct, so that it is useful to take forward into future practice."
DIVERSITY_ADVICE = (
    "Diversity should be captured throughout the audit; the child or young person being seen and their voice "
    "heard needs to be at the centre of all the work that we do."
)
ACTIONS_POINTER = (
    "Actions: write each action, its owner and the date it is due on the 'Actions' sheet (the tab at the "
    "bottom). Every action needs a clear timescale."
)


def audit_layout(framework: Framework) -> FormLayout:
    """The audit form's layout for this framework (the positions depend only on the section count)."""
    fields: dict[str, FieldSpec] = {}
    headings: list[Heading] = []
    points = framework.points

    def add(name: str, label: str, row: int, kind: FieldKind = "text", **kw: object) -> None:
        fields[name] = FieldSpec(name, label, MAIN_SHEET, row, ANSWER_COL, kind, **kw)  # type: ignore[arg-type]

    # Row 1 is the title, rows 2-3 the two notices (guidance section 3), row 4 the column headings.
    notices = ((2, framework.notices.get("safeguarding", "")), (3, framework.notices.get("writing", "")))
    extra = {"columns_row": 4}
    row = 5
    headings.append(Heading("Case details (filled in by the QA team; locked)", row))
    row += 1
    for name, label, kind in PREFILLED:
        guidance: tuple[str, ...] = ()
        if name == "previous_worker":
            guidance = (THREE_WAY_ADVICE,)
        elif name == "review_period":
            guidance = (framework.notices.get("focus", ""),) if framework.notices.get("focus") else ()
        add(name, label, row, kind, prefilled=True, guidance=guidance)
        row += 1
    row += 1
    headings.append(Heading("About the audit", row))
    row += 1
    add("date_completed", "Date completed", row, "date", required=True)
    row += 1
    add(
        "sw_participation",
        "How did the social worker take part?",
        row,
        "choice",
        required=True,
        choices=PARTICIPATION,
        guidance=(PARTICIPATION_ADVICE,),
    )
    row += 1
    add("sw_participation_reason", "If it was not possible, why not?", row)
    row += 1
    add(
        "three_way_meeting",
        "Was a three-way meeting held with the previous worker?",
        row,
        "choice",
        choices=THREE_WAY,
        guidance=("Not applicable when the case was not re-allocated within the last month.",),
    )
    row += 2
    analysis_points = points.get("audit_analysis", ())
    headings.append(Heading("Audit analysis", row, guidance=analysis_points))
    row += 1
    if analysis_points:
        headings.append(Heading(" ".join(analysis_points), row, level=3))
        row += 1
    for section in framework.sections:
        headings.append(Heading(f"{section.number}. {section.title}", row, level=2, guidance=section.prompts))
        row += 1
        key = section.key
        add(f"{key}_grade", f"Section {section.number} grade", row, "grade", required=True, section=section.number)
        row += 1
        add(
            f"{key}_findings",
            "Evidence and findings",
            row,
            required=True,
            section=section.number,
            guidance=section.prompts,
        )
        row += 1
        add(
            f"{key}_impact",
            framework.reflective_question,
            row,
            section=section.number,
            guidance=(framework.reflective_guidance,) if framework.reflective_guidance else (),
        )
        row += 2
    overall_points = points.get("overall_grade", ())
    headings.append(Heading("Overall grade", row, guidance=overall_points))
    row += 1
    add("overall_grade", "Overall grade", row, "grade", required=True, guidance=overall_points)
    row += 1
    extra["max_overall_row"] = row  # a formula cell: the highest overall grade the section grades allow
    row += 2
    reasons = points.get("reasons_for_grading", ())
    headings.append(Heading("Reasons for grading", row, guidance=reasons))
    row += 1
    add(
        "strengths",
        "Strengths: what was done well (at least one area of good practice)",
        row,
        required=True,
        guidance=tuple(p for p in reasons if "safeguarding" not in p.lower()),
    )
    row += 1
    add("learning", "Learning: what needs to improve", row, required=True, guidance=(LEARNING_ADVICE,))
    row += 1
    add(
        "diversity",
        "How were the child's identity and diversity understood and responded to?",
        row,
        required=True,
        guidance=(DIVERSITY_ADVICE,),
    )
    row += 1
    add(
        "safeguarding_concern",
        "Is there an immediate safeguarding concern?",
        row,
        "choice",
        required=True,
        choices=YES_NO,
    )
    row += 1
    add(
        "safeguarding_detail",
        "If yes: what was done, and who was told?",
        row,
        guidance=tuple(p for p in reasons if "safeguarding" in p.lower()),
    )
    row += 2
    recs = points.get("recommendations", ())
    headings.append(Heading("Recommendations", row, guidance=recs))
    row += 1
    add("recommendations", "Recommendations (child-focussed)", row, required=True, guidance=recs[:1])
    row += 1
    add("org_learning", "Organisational learning points", row, guidance=recs[1:])
    row += 1
    headings.append(Heading(ACTIONS_POINTER, row, level=3))
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
            prompts=(
                "What needs to be done, and the outcome it will achieve for the child or young person.",
                "The person responsible for the action (by name or role).",
                "The date the action is due (dd/mm/yyyy).",
            ),
        )
    }
    return FormLayout("audit", fields, tables, tuple(headings), notices, extra)


# ---------------------------------------------------------------------------------------------------------------
# The moderation form (issue "Moderation"): the audit's details and the auditor's grades, reasons and actions,
# pre-filled and locked; the moderator's answers beside them.
# ---------------------------------------------------------------------------------------------------------------
MODERATION_SHEET = "Moderation form"
AUDIT_ACTIONS_SHEET = "Audit actions"
ADDITIONAL_ACTIONS_SHEET = "Additional actions"

MODERATION_NOTICE = (
    "Moderation: the auditor's grades, reasons and actions are shown in grey and cannot be changed. Give a "
    "grade only where you disagree with the auditor's (a blank moderated grade means you agree), then say "
    "whether you agree with the grades and with the actions. After moderation, a disagreement about the grade is "
    "reviewed by the Head of Service for Quality Assurance, and a disagreement about the actions by the Head of "
    "Service for the area holding the case (guidance section 3)."
)
MODERATED_GRADE_ADVICE = "Leave blank if you agree with the auditor's grade; otherwise choose your grade."
ADDITIONAL_ACTIONS_POINTER = (
    "Additional actions: write any actions moderation adds, with their owner and due date, on the 'Additional "
    "actions' sheet (the tab at the bottom). The auditor's actions are on the 'Audit actions' sheet. The Team "
    "Manager discusses additional actions with the social worker and records them as supervision (guidance "
    "section 2)."
)

#: The auditor's answers shown on the moderation form (pre-filled and locked), besides the audit's details.
AUDITOR_REASONS: tuple[tuple[str, str], ...] = (
    ("strengths", "Auditor: strengths"),
    ("learning", "Auditor: learning"),
    ("recommendations", "Auditor: recommendations"),
)


def moderation_layout(framework: Framework) -> FormLayout:
    """The moderation form's layout: same machinery and conventions as :func:`audit_layout` (question in A,
    answer in B, guidance in C; one sheet per table), with the auditor's answers pre-filled and locked."""
    fields: dict[str, FieldSpec] = {}
    headings: list[Heading] = []

    def add(name: str, label: str, row: int, kind: FieldKind = "text", **kw: object) -> None:
        fields[name] = FieldSpec(name, label, MODERATION_SHEET, row, ANSWER_COL, kind, **kw)  # type: ignore[arg-type]

    notices = ((2, MODERATION_NOTICE), (3, framework.notices.get("safeguarding", "")))
    extra = {"columns_row": 4}
    row = 5
    headings.append(Heading("Case details (filled in by the QA team; locked)", row))
    row += 1
    for name, label, kind in PREFILLED:
        add(name, label, row, kind, prefilled=True)
        row += 1
    row += 1
    headings.append(Heading("About the moderation", row))
    row += 1
    add("moderator_name", "Moderator", row, required=True)
    row += 1
    add("moderation_date", "Date moderated", row, "date", required=True)
    row += 2
    headings.append(Heading("Grades: the auditor's, and yours where you disagree", row))
    row += 1
    for section in framework.sections:
        headings.append(Heading(f"{section.number}. {section.title}", row, level=2))
        row += 1
        key = section.key
        add(f"{key}_grade", "Auditor's grade", row, "grade", prefilled=True, section=section.number)
        row += 1
        add(f"{key}_findings", "Auditor's evidence and findings", row, prefilled=True, section=section.number)
        row += 1
        add(
            f"m_{key}_grade",
            f"Moderated grade, section {section.number}",
            row,
            "grade",
            section=section.number,
            guidance=(MODERATED_GRADE_ADVICE,),
        )
        row += 2
    overall_points = framework.points.get("overall_grade", ())
    headings.append(Heading("Overall grade", row))
    row += 1
    add("overall_grade", "Auditor's overall grade", row, "grade", prefilled=True)
    row += 1
    add("m_overall_grade", "Moderated overall grade", row, "grade", guidance=overall_points)
    row += 1
    add(
        "grade_agreed",
        "Do you agree with the auditor's grades?",
        row,
        "choice",
        required=True,
        choices=YES_NO,
        guidance=("No: give the grades you would give above, including the overall grade, and your rationale.",),
    )
    row += 1
    add(
        "m_rationale",
        "Rationale for the moderated grades (required when you do not agree)",
        row,
        guidance=framework.points.get("reasons_for_grading", ()),
    )
    row += 2
    headings.append(Heading("The auditor's reasons for grading", row))
    row += 1
    for name, label in AUDITOR_REASONS:
        add(name, label, row, prefilled=True)
        row += 1
    row += 1
    headings.append(Heading("Actions", row))
    row += 1
    add(
        "actions_agreed",
        "Do you agree with the auditor's actions?",
        row,
        "choice",
        required=True,
        choices=YES_NO,
        guidance=("The auditor's actions are on the 'Audit actions' sheet.",),
    )
    row += 1
    add("m_actions_comment", "Comment on the actions (required when you do not agree)", row)
    row += 1
    headings.append(Heading(ADDITIONAL_ACTIONS_POINTER, row, level=3))
    row += 1
    extra["last_row"] = row
    action_headers = ("Action", "Owner", "Due date")
    action_kinds: tuple[FieldKind, ...] = ("text", "text", "date")
    tables = {
        "actions": TableSpec(
            "actions",
            AUDIT_ACTIONS_SHEET,
            ACTIONS_HEADER_ROW + 1,
            ACTION_ROWS,
            1,
            action_headers,
            action_kinds,
            prefilled_cols=3,
        ),
        "m_actions": TableSpec(
            "m_actions",
            ADDITIONAL_ACTIONS_SHEET,
            ACTIONS_HEADER_ROW + 1,
            ACTION_ROWS,
            1,
            action_headers,
            action_kinds,
            prompts=(
                "An additional action from moderation, and the outcome it will achieve for the child or young person.",
                "The person responsible for the action (by name or role).",
                "The date the action is due (dd/mm/yyyy).",
            ),
        ),
    }
    return FormLayout("moderation", fields, tables, tuple(headings), notices, extra)
