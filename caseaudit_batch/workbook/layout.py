"""Where every field of a generated form sits: one layout per form kind, derived from the framework.

The writer places fields here (and gives each a workbook-level defined name); the reader reads them back from the
same positions without needing defined names, which is what lets ingest use a fast values-only reader. A form's
``_meta`` sheet names its framework and generator versions, so it is always read with the layout it was made with.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from caseaudit_batch.core.framework import STANDARD_ANSWERS, Framework
from caseaudit_batch.workbook.cells import column_letter

FieldKind = Literal["text", "date", "choice", "grade"]

MAIN_SHEET = "Audit form"
MODERATION_SHEET = "Moderation form"
AUDITOR_ACTIONS_SHEET = "Auditor's actions"
ADDITIONAL_ACTIONS_SHEET = "Additional actions"
TRACKER_SHEET = "Actions tracker"
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

#: The layout of the forms this version makes, stamped on each (``_meta`` and ``caseaudit.generator_version``).
#: "2" added the audit reference row (defined name ``audit_ref``) at the top of the case details, so every row
#: of the main sheet below it moved down one; forms made before ("1") are still read with their own layout.
#: "3" (issue 24) asks each practice standard (``ps_<id>``) under its section's grade on the audit form and shows
#: each section's findings and impact on the moderation form (a form's own standards: ``workbook/standards.py``).
GENERATOR_VERSION = "3"
READABLE_GENERATORS = ("1", "2", "3")
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
        return f"{column_letter(self.col)}{self.row}"

    @property
    def ref(self) -> str:
        """An absolute reference for a defined name: ``'Audit form'!$B$7``."""
        # An apostrophe in a sheet name is doubled inside the quotes ("'Auditor''s actions'!..."), or Excel
        # drops the name as corrupt.
        return f"'{self.sheet.replace(chr(39), chr(39) * 2)}'!${column_letter(self.col)}${self.row}"


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
    blank_rows: int = 0  # trailing rows left wholly editable (a tracker's rows for new actions)
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
        a, b = column_letter(self.first_col), column_letter(self.last_col)
        return f"'{self.sheet.replace(chr(39), chr(39) * 2)}'!${a}${self.first_row}:${b}${self.last_row}"


@dataclass(frozen=True)
class Heading:
    """A row of the main sheet that is not a field: level 1 a part of the form, level 2 a section title,
    level 3 a paragraph of guidance across the sheet, level 4 column captions (``"A text|B text|C text"``).
    ``guidance`` records the Appendix 1 points that belong to the heading (shown beside the fields that carry them).
    """

    text: str
    row: int
    level: int = 1
    guidance: tuple[str, ...] = ()
    sheet: str = ""  # empty: the form's main sheet


@dataclass(frozen=True)
class Display:
    """A read-only text (the moderation form's findings) in column B of ``rows`` rows from ``row``, continuing
    down them (``forms.continued``); not a field: no defined name, never read back."""

    name: str
    label: str
    row: int
    rows: int
    sheet: str


@dataclass(frozen=True)
class FormLayout:
    kind: str
    fields: dict[str, FieldSpec]
    tables: dict[str, TableSpec]
    headings: tuple[Heading, ...] = ()
    notices: tuple[tuple[int, str], ...] = ()
    extra: dict[str, int] = field(default_factory=dict)
    displays: tuple[Display, ...] = ()

    def field_names(self, *, prefilled: bool | None = None) -> list[str]:
        return [n for n, f in self.fields.items() if prefilled is None or f.prefilled == prefilled]


PREFILLED: tuple[tuple[str, str, FieldKind], ...] = (
    ("audit_ref", "Audit reference", "text"),
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
STANDARD_ADVICE = "A practice standard: Yes, No, or Not applicable when it does not apply to this case."
ACTIONS_POINTER = (
    "Actions: write each action, its owner and the date it is due on the 'Actions' sheet (the tab at the "
    "bottom). Every action needs a clear timescale."
)


def prefilled_fields(generator: str = GENERATOR_VERSION) -> tuple[tuple[str, str, FieldKind], ...]:
    """The case details a form of ``generator`` version carries: version 1 had no audit reference."""
    return PREFILLED[1:] if generator == "1" else PREFILLED


@dataclass
class Layouts:
    """One kind of form's layouts by the version that made the form (``_meta``'s ``generator_version``), each
    made once: a form made before an upgrade is read where its own cells are (docs/migrations.md)."""

    make: Callable[[Framework, str], FormLayout]
    framework: Framework
    made: dict[str, FormLayout] = field(default_factory=dict)

    def current(self) -> FormLayout:
        return self.of(GENERATOR_VERSION)

    def of(self, generator: str) -> FormLayout:
        if generator not in self.made:
            self.made[generator] = self.make(self.framework, generator)
        return self.made[generator]

    def for_form(self, meta: Mapping[str, str], names: Mapping[str, str] | None = None) -> FormLayout:
        """The layout a form was made with (``names``: the form's defined names, which show its standards)."""
        generator = meta.get("generator_version") or GENERATOR_VERSION
        from caseaudit_batch.workbook.standards import standards_on_form, with_standards

        found = standards_on_form(self.framework, names) if names is not None and int(generator) >= 3 else None
        if found is None or found == self.framework.standards:
            return self.of(generator)
        key = f"{generator}:" + ",".join(f"{s.id}@{s.section}" for s in found)
        if key not in self.made:
            self.made[key] = self.make(with_standards(self.framework, found), generator)
        return self.made[key]


def audit_layout(framework: Framework, generator: str = GENERATOR_VERSION) -> FormLayout:
    """The audit form's layout for this framework and form version (the positions depend only on the section
    count and the version)."""
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
    for name, label, kind in prefilled_fields(generator):
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
        for standard in framework.standards_in(section.number) if int(generator) >= 3 else ():
            kw = {"required": True, "choices": STANDARD_ANSWERS, "guidance": (STANDARD_ADVICE,)}
            add(standard.name, standard.question, row, "choice", section=section.number, **kw)
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
# The moderation form (issue 6): the audit's details and the auditor's grades, reasons and actions pre-filled and
# locked; the moderator's answers beside them.
# ---------------------------------------------------------------------------------------------------------------

#: The auditor's answers shown (locked) on the moderation form, under the audit's own names.
AUDITOR_REASONS: tuple[tuple[str, str], ...] = (
    ("strengths", "Auditor's strengths"),
    ("learning", "Auditor's learning"),
    ("recommendations", "Auditor's recommendations"),
)
#: Rows a findings or impact text may take on the moderation form (each ~1,700 characters at Excel's tallest row).
DISPLAY_ROWS = 4
EVIDENCE = (("findings", "Auditor's evidence and findings"), ("impact", ""))
MODERATION_NOTICES = (
    "Moderation checks that the grades are supported by the evidence on the case file. If you do not agree with "
    "the grade, it goes to the Head of Service for Quality Assurance; if you do not agree with the actions, to the "
    "Head of Service for the case's service (guidance section 3).",
    "Write your assessment of the quality of the work, not the story of the case. Do not copy from the case file, "
    "and do not write the names of children or family members.",
)


def moderation_layout(framework: Framework, generator: str = GENERATOR_VERSION) -> FormLayout:
    """The moderation form: auditor's grades in column B (their audit names), moderated grades in column C."""
    fields: dict[str, FieldSpec] = {}
    headings: list[Heading] = []
    displays: list[Display] = []
    sheet = MODERATION_SHEET

    def add(name: str, label: str, row: int, kind: FieldKind = "text", col: int = ANSWER_COL, **kw: object) -> None:
        fields[name] = FieldSpec(name, label, sheet, row, col, kind, **kw)  # type: ignore[arg-type]

    notices = ((2, MODERATION_NOTICES[0]), (3, MODERATION_NOTICES[1]))
    extra = {"columns_row": 4}
    row = 5
    headings.append(Heading("The audit (filled in by the QA team; locked)", row))
    row += 1
    for name, label, kind in prefilled_fields(generator):
        add(name, label, row, kind, prefilled=True)
        row += 1
    row += 1
    headings.append(Heading("Grades: the auditor's, and yours", row))
    row += 1
    headings.append(Heading("Section|Auditor's grade|Your grade (leave blank if you agree)", row, level=4))
    row += 1
    for section in framework.sections:
        label = f"{section.number}. {section.short}"
        add(f"{section.key}_grade", label, row, "grade", prefilled=True, section=section.number)
        add(
            f"m_{section.key}_grade",
            f"Section {section.number}: your grade",
            row,
            "grade",
            col=GUIDANCE_COL,
            section=section.number,
        )
        row += 1
        for name, label in EVIDENCE if int(generator) >= 3 else ():  # the evidence behind the grade (issue 24)
            label = label or "Auditor's answer: " + framework.reflective_question
            displays.append(Display(f"{section.key}_{name}", label, row, DISPLAY_ROWS, sheet))
            row += DISPLAY_ROWS
    add("overall_grade", "Overall grade (yours: required if you do not agree)", row, "grade", prefilled=True)
    add("m_overall_grade", "Overall grade: yours (required if you do not agree)", row, "grade", col=GUIDANCE_COL)
    row += 2
    headings.append(Heading("The auditor's reasons (locked)", row))
    row += 1
    for name, label in AUDITOR_REASONS:
        add(name, label, row, prefilled=True)
        row += 1
    headings.append(
        Heading("The auditor's actions are on the 'Auditor's actions' sheet (the tab at the bottom).", row, level=3)
    )
    row += 2
    headings.append(Heading("Your moderation", row))
    row += 1
    add("moderator_name", "Your name", row, required=True)
    row += 1
    add("moderation_date", "Date of moderation", row, "date", required=True)
    row += 1
    add(
        "grade_agreed",
        "Do you agree with the auditor's grades?",
        row,
        "choice",
        required=True,
        choices=YES_NO,
        guidance=("If No, give your grade for each section you grade differently, and your overall grade.",),
    )
    row += 1
    add(
        "m_rationale",
        "Your rationale: what the evidence on the case file shows",
        row,
        required=True,
        guidance=(
            "Refer to the grade descriptors (Appendix 2, on the 'Grade descriptors' sheet).",
            "As a rule of thumb, the overall grade is not more than one grade higher than the lowest section grade.",
        ),
    )
    row += 1
    add("actions_agreed", "Do you agree with the auditor's actions?", row, "choice", required=True, choices=YES_NO)
    row += 1
    add(
        "m_actions_comment",
        "Comments on the actions",
        row,
        guidance=("Add any further actions, with an owner and a date, on the 'Additional actions' sheet.",),
    )
    row += 1
    extra["last_row"] = row
    action_kinds: tuple[FieldKind, ...] = ("text", "text", "date")
    tables = {
        "actions": TableSpec(
            "actions",
            AUDITOR_ACTIONS_SHEET,
            ACTIONS_HEADER_ROW + 1,
            ACTION_ROWS,
            1,
            ("Action", "Owner", "Due date"),
            action_kinds,
            prefilled_cols=3,
        ),
        "m_actions": TableSpec(
            "m_actions",
            ADDITIONAL_ACTIONS_SHEET,
            ACTIONS_HEADER_ROW + 1,
            ACTION_ROWS,
            1,
            ("Action", "Owner", "Due date"),
            action_kinds,
            prompts=(
                "An additional action: what needs to be done, and the outcome for the child or young person.",
                "The person responsible for the action.",
                "The date the action is due (dd/mm/yyyy).",
            ),
        ),
    }
    return FormLayout("moderation", fields, tables, tuple(headings), notices, extra, tuple(displays))


# ---------------------------------------------------------------------------------------------------------------
# The action tracker (issue 7): one table, its header row directly above; pre-filled columns locked.
# ---------------------------------------------------------------------------------------------------------------

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
TRACKER_ANSWERS = ("Status", "Completed on", "Update", "Discussed in supervision on", "Service manager sign-off")
TRACKER_HEADERS = TRACKER_PREFILLED + TRACKER_ANSWERS
TRACKER_STATUSES = ("Open", "Completed", "No longer required")
TRACKER_HEADER_ROW = 4
TRACKER_BLANK_ROWS = 10


def tracker_layout(action_rows: int, blank_rows: int = TRACKER_BLANK_ROWS) -> FormLayout:
    """An action tracker for ``action_rows`` listed actions plus ``blank_rows`` rows for new ones."""
    kinds: tuple[FieldKind, ...] = (
        "text",
        "text",
        "text",
        "text",
        "text",
        "text",
        "date",
        "text",
        "choice",
        "date",
        "text",
        "date",
        "choice",
    )
    choices: tuple[tuple[str, ...], ...] = (*((),) * 8, TRACKER_STATUSES, (), (), (), ("Yes",))
    prompts = (
        *("",) * 8,
        "Open, Completed, or No longer required.",
        "The date the action was completed (needed when the status is Completed).",
        "What has happened since the last update.",
        "The date the team manager discussed the action with the worker in supervision.",
        "Yes when you, the service manager, have checked the action is complete.",
    )
    table = TableSpec(
        "tracker",
        TRACKER_SHEET,
        TRACKER_HEADER_ROW + 1,
        max(1, action_rows + blank_rows),
        1,
        TRACKER_HEADERS,
        kinds,
        prefilled_cols=len(TRACKER_PREFILLED),
        blank_rows=blank_rows,
        choices=choices,
        prompts=prompts,
    )
    return FormLayout("tracker", {}, {"tracker": table}, (), (), {})


# ---------------------------------------------------------------------------------------------------------------
# The follow-up audit form (issue 11): the audit form unchanged (same sheets, cells and names, so it is read and
# validated as any audit), plus a locked 'Follow-up' sheet with the earlier audit's final grades and a locked
# 'Earlier actions' sheet with its actions as they stand.
# ---------------------------------------------------------------------------------------------------------------

FOLLOWUP_SHEET = "Follow-up"
EARLIER_ACTIONS_SHEET = "Earlier actions"
EARLIER_ACTION_ROWS = 20
FOLLOWUP_INTRO = (
    "This is a follow-up audit. The case was graded Requires Improvement or Inadequate at the audit below, and "
    "actions were set. Audit the case as usual on the 'Audit form' sheet, grading what you find now; then say in "
    "your findings and in section 9 what has changed for the child or young person since, and whether the actions "
    "made the difference (guidance section 1: assess the impact of identified intervention)."
)
#: The follow-up sheet's pre-filled fields, in order: (defined name, label).
FOLLOWUP_FIELDS: tuple[tuple[str, str], ...] = (
    ("followup_of", "Audit ID of the earlier audit"),
    ("previous_audit_month", "Month of the earlier audit"),
    ("previous_auditor", "Earlier auditor"),
    ("previous_date_completed", "Earlier audit completed on"),
    ("followup_reason", "Why the follow-up is due now"),
    ("previous_grades_from", "The grades below are final, as decided by"),
)


def followup_layout(framework: Framework, generator: str = GENERATOR_VERSION) -> FormLayout:
    """The audit layout plus the 'Follow-up' sheet (fields) and the 'Earlier actions' sheet (table)."""
    base = audit_layout(framework, generator)
    fields = dict(base.fields)
    headings = list(base.headings)
    sheet = FOLLOWUP_SHEET

    def add(name: str, label: str, row: int, kind: FieldKind = "text", **kw: object) -> None:
        fields[name] = FieldSpec(name, label, sheet, row, ANSWER_COL, kind, prefilled=True, **kw)  # type: ignore[arg-type]

    row = 2
    headings.append(Heading(FOLLOWUP_INTRO, row, level=3, sheet=sheet))
    row += 1
    headings.append(Heading("The earlier audit (filled in by the QA team; locked)", row, sheet=sheet))
    row += 1
    for name, label in FOLLOWUP_FIELDS:
        add(name, label, row, "date" if name == "previous_date_completed" else "text")
        row += 1
    row += 1
    headings.append(Heading("Grades at the earlier audit (final, after any moderation)", row, sheet=sheet))
    row += 1
    for section in framework.sections:
        add(f"previous_{section.key}_grade", f"{section.number}. {section.short}", row)
        row += 1
    add("previous_overall_grade", "Overall grade", row)
    row += 2
    headings.append(Heading("The earlier actions", row, sheet=sheet))
    row += 1
    add("previous_actions_summary", "Where the actions stand", row)
    row += 1
    headings.append(
        Heading(
            "Each action, its owner, due date, status and completion date are on the 'Earlier actions' sheet.",
            row,
            level=3,
            sheet=sheet,
        )
    )
    tables = dict(base.tables)
    tables["previous_actions"] = TableSpec(
        "previous_actions",
        EARLIER_ACTIONS_SHEET,
        ACTIONS_HEADER_ROW + 1,
        EARLIER_ACTION_ROWS,
        1,
        ("Action", "Owner", "Due date", "Status", "Completed on"),
        ("text", "text", "date", "text", "date"),
        prefilled_cols=5,
    )
    extra = dict(base.extra)
    extra["followup_last_row"] = row
    return FormLayout("followup", fields, tables, tuple(headings), base.notices, extra)


# How a generated form looks, besides where its fields sit (the writer builds it; kept here, with the layouts, so
# that commands that only stamp or read forms never import the writer and openpyxl).
@dataclass(frozen=True)
class TableSheet:
    """How a table's sheet looks: a title and a short explanation above the header row; column widths."""

    title: str
    intro: str = ""
    widths: tuple[float, ...] = ()
    landscape: bool = False
    row_height: float = 45.0


@dataclass(frozen=True)
class FormDesign:
    """Everything the machine needs to build one kind of form (besides the per-form values, stamped later)."""

    layout: FormLayout
    framework: Framework
    title: str
    organisation: str
    password: str = ""
    descriptors: bool = True
    tables: Mapping[str, TableSheet] = field(default_factory=dict)
    #: answers that take one line (a name), so their rows are not made tall for writing
    short_fields: frozenset[str] = frozenset()
    #: text beside the formula cell at ``layout.extra["max_overall_row"]`` (the overall-grade rule)
    overall_rule: str = ""
    footer: str = ""
    #: titles of sheets of fields other than the main one (by sheet name; default: ``title``)
    sheet_titles: Mapping[str, str] = field(default_factory=dict)
