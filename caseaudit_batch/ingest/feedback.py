"""What ingest gives people: feedback workbooks for auditors, the QA validation workbook, the urgent safeguarding
list, and the notices (feedback, sharing an accepted audit, safeguarding alerts).

Workbooks are written with xlsxwriter with ``strings_to_formulas`` off, so text an auditor typed (even
``=HYPERLINK(...)``) stays text everywhere it is written (field notes, "Formula injection").
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import xlsxwriter

from caseaudit_batch.core.clock import Month
from caseaudit_batch.core.messages import Problem
from caseaudit_batch.workbook import plain
from caseaudit_batch.workbook.cells import literal_text

FEEDBACK_HEADERS = ("Severity", "Code", "Where", "What we found", "What is wrong", "How to fix")
VALIDATION_HEADERS = (
    "File",
    "Outcome",
    "Audit ID",
    "Case reference",
    "Code",
    "Severity",
    "Sheet",
    "Cell",
    "Field",
    "What we found",
    "What is wrong",
    "How to fix",
)
URGENT_HEADERS = (
    "Audit reference",
    "Audit ID",
    "Case reference",
    "Team",
    "Service",
    "Social worker",
    "Team manager",
    "Service manager",
    "Auditor",
    "Date completed",
    "File",
    "What was done and who was told",
)
FOUND_SHOWN = 300  # characters of an answer quoted back in feedback (the answer itself is never changed)


def shown(value: str, limit: int = FOUND_SHOWN) -> str:
    """An excerpt of an answer for display: control characters made visible, long text shortened."""
    visible = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", lambda m: f"<U+{ord(m.group()):04X}>", value)
    return visible if len(visible) <= limit else visible[: limit - 1] + "…"


@dataclass
class Sheet:
    title: str
    headers: Sequence[str]
    rows: Iterable[Sequence[object]]
    intro: Sequence[str] = ()
    widths: Sequence[int] = ()


def workbook_bytes(sheets: Sequence[Sheet]) -> bytes:
    """A plain workbook: optional intro lines, a bold header row with filters, frozen panes; all text as text."""
    buffer = io.BytesIO()
    wb = xlsxwriter.Workbook(
        buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    )
    head = wb.add_format(
        {"bold": True, "font_color": "#FFFFFF", "bg_color": "#1F4E79", "text_wrap": True, "valign": "top"}
    )
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    plain = wb.add_format({})
    title = wb.add_format({"bold": True, "font_size": 13})
    for sheet in sheets:
        ws = wb.add_worksheet(sheet.title[:31])
        widths = [sheet.widths[c] if c < len(sheet.widths) else 18 for c in range(len(sheet.headers))]
        ws.set_landscape()
        ws.set_paper(9)  # A4
        ws.fit_to_pages(1, 0)
        ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
        row = 0
        for i, line in enumerate(sheet.intro):
            ws.write_string(row, 0, literal_text(line), title if i == 0 else plain)  # not wrapped: spills
            row += 1
        if sheet.intro:
            row += 1
        header_row = row
        for c, h in enumerate(sheet.headers):
            ws.write_string(row, c, h, head)
        ws.set_row(row, 15 * max(_lines(h, widths[c]) for c, h in enumerate(sheet.headers)) if sheet.headers else 15)
        count = 0
        for values in sheet.rows:
            row += 1
            count += 1
            lines = 1
            for c, v in enumerate(values):
                if v is None or v == "":
                    continue
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    ws.write_number(row, c, v, wrap)
                else:
                    text = literal_text(shown(str(v), 32_000))
                    ws.write_string(row, c, text, wrap)
                    lines = max(lines, _lines(text, widths[c] if c < len(widths) else 18))
            # Spreadsheet programs do not grow rows to fit wrapped text written by a library: set the height.
            ws.set_row(row, min(409, 15 * lines))
        for c, width in enumerate(widths):
            ws.set_column(c, c, width)
        ws.freeze_panes(header_row + 1, 0)
        ws.repeat_rows(header_row)
        ws.autofilter(header_row, 0, header_row + max(count, 1), max(0, len(sheet.headers) - 1))
    wb.close()
    return buffer.getvalue()


def _lines(text: str, width: int) -> int:
    """Roughly how many lines ``text`` wraps to in a column ``width`` characters wide."""
    per_line = max(1, int(width * 1.1))
    return sum(max(1, -(-len(part) // per_line)) for part in text.split("\n"))


def where_in_form(p: Problem) -> str:
    """Where a problem is, without the file name (the feedback names the file once, above)."""
    parts = [x for x in (p.sheet and f"sheet '{p.sheet}'", p.cell and f"cell {p.cell}") if x]
    if p.label:
        parts.append(f"'{p.label}'")
    return ", ".join(parts) or "the whole file"


def problem_row(p: Problem) -> tuple[str, str, str, str, str, str]:
    return (p.severity, p.code, where_in_form(p), shown(p.found) if p.found else "(blank)", p.message, p.fix)


def feedback_workbook(
    file: str,
    audit_ref: str,
    case_ref: str,
    outcome: str,
    problems: Sequence[Problem],
    return_instructions: str = "",
) -> bytes:
    """Where | What we found | What is wrong | How to fix, for one returned or flagged audit; the intro ends with how
    to send the corrected form back (``[notices] return_instructions``: auditors do not have caseaudit)."""
    verdict = (
        f"Returned: please correct the errors on the form and send it again. {return_instructions}".strip()
        if outcome == "returned"
        else "Accepted: the points below are worth checking."
    )
    intro = (f"Case file audit feedback: case {case_ref}", f"File: {file}   Audit reference: {audit_ref}", verdict)
    sheet = Sheet("Feedback", FEEDBACK_HEADERS, [problem_row(p) for p in problems], intro, FEEDBACK_WIDTHS)
    return _one_sheet(sheet) or workbook_bytes([sheet])


FEEDBACK_WIDTHS = (9, 7, 32, 32, 48, 48)


def _one_sheet(sheet: Sheet) -> bytes | None:
    """``workbook_bytes([sheet])`` through :mod:`caseaudit_batch.workbook.plain` (the same parts, made ~10 times
    faster: a run writes one feedback workbook per flagged audit), or ``None`` outside the plain case."""
    widths = [sheet.widths[c] if c < len(sheet.widths) else 18 for c in range(len(sheet.headers))]
    rows: list[tuple[list[tuple[int, str]], float]] = []
    for values in sheet.rows:
        cells: list[tuple[int, str]] = []
        lines = 1
        for c, v in enumerate(values):
            if v is None or v == "":
                continue
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return None  # numbers: left to xlsxwriter
            text = literal_text(shown(str(v), 32_000))
            cells.append((c, text))
            lines = max(lines, _lines(text, widths[c] if c < len(widths) else 18))
        rows.append((cells, min(409, 15 * lines)))
    header_height = 15 * max(_lines(h, widths[c]) for c, h in enumerate(sheet.headers))
    key = (sheet.title, tuple(sheet.headers), tuple(widths), len(sheet.intro))

    def shell() -> bytes:  # the same sheet with one row of text in every column: every format used once
        filler = [tuple("x" for _ in sheet.headers)]
        return workbook_bytes([Sheet(sheet.title, sheet.headers, filler, ["x"] * len(sheet.intro), sheet.widths)])

    return plain.one_sheet(key, shell, sheet.intro, sheet.headers, rows, header_height)


def summary_sentence(audits_seen: int, audits_accepted: int, audits_returned: int, files_rejected: int) -> str:
    """'41 of 45 audits accepted; 3 returned; 1 file rejected'."""
    files = "file" if files_rejected == 1 else "files"
    return (
        f"{audits_accepted} of {audits_seen} audits accepted; {audits_returned} returned; "
        f"{files_rejected} {files} rejected"
    )


def validation_workbook(
    month: str, summary: str, outcome_counts: Mapping[str, int], rows: Sequence[Sequence[Any]]
) -> bytes:
    intro = (f"Validation of returned audit forms: {Month.parse(month).label}", summary)
    count_rows = [(name, n) for name, n in outcome_counts.items()]
    return workbook_bytes(
        [
            Sheet("Summary", ("Outcome", "Files"), count_rows, intro, (60, 10)),
            Sheet("Problems", VALIDATION_HEADERS, rows, (), (24, 10, 20, 12, 7, 9, 11, 6, 16, 30, 44, 44)),
        ]
    )


def urgent_workbook(month: str, rows: Sequence[Sequence[Any]]) -> bytes:
    intro = (
        f"URGENT: safeguarding concerns raised in case file audits ({Month.parse(month).label})",
        "Guidance section 3: the allocated worker, team manager and service manager are to be notified as a matter "
        "of urgency. Notices have been made for each (see outbox.csv).",
    )
    return workbook_bytes(
        [Sheet("Safeguarding", URGENT_HEADERS, rows, intro, (14, 20, 12, 12, 14, 14, 14, 14, 14, 11, 20, 44))]
    )


__all__ = [
    "FEEDBACK_HEADERS",
    "URGENT_HEADERS",
    "VALIDATION_HEADERS",
    "Sheet",
    "feedback_workbook",
    "problem_row",
    "shown",
    "summary_sentence",
    "urgent_workbook",
    "validation_workbook",
    "workbook_bytes",
]


# ---------------------------------------------------------------------------------------------------------------
# People and notices
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Person:
    staff_id: str
    name: str
    email: str
    line_manager_id: str
    role: str = ""


#: The role whose holder Appendix 1 ("Sharing the audit") means by "the relevant Team Manager".
TEAM_MANAGER = "Team Manager"


class People:
    """Staff and cases from the register, for addressing notices."""

    def __init__(self, staff: Mapping[str, Person], cases: Mapping[str, Mapping[str, Any]]) -> None:
        self.staff = staff
        self.cases = cases

    @classmethod
    def load(cls, conn: Any) -> People:
        import sqlalchemy as sa

        from caseaudit_batch.core import register as reg

        staff = {
            r.staff_id: Person(r.staff_id, r.name, r.email or "", r.line_manager_id or "", r.role or "")
            for r in conn.execute(
                sa.select(
                    reg.staff.c.staff_id,
                    reg.staff.c.name,
                    reg.staff.c.email,
                    reg.staff.c.line_manager_id,
                    reg.staff.c.role,
                )
            )
        }
        # Only the people :meth:`case_people` names: the whole row parses two dates per case, and a large
        # authority's caseload (21,000 cases) is read on every ingest (issue 25).
        c = reg.cases.c
        cases = {
            ref: {"social_worker_id": sw, "team_manager_id": tm, "cp_iro_id": iro, "previous_worker_id": prev}
            for ref, sw, tm, iro, prev in conn.execute(
                sa.select(c.case_ref, c.social_worker_id, c.team_manager_id, c.cp_iro_id, c.previous_worker_id)
            )
        }
        return cls(staff, cases)

    def get(self, staff_id: object) -> Person | None:
        return self.staff.get(str(staff_id)) if staff_id else None

    def email(self, staff_id: object) -> str:
        person = self.get(staff_id)
        return person.email if person else ""

    def manager_of(self, staff_id: object) -> Person | None:
        person = self.get(staff_id)
        return self.get(person.line_manager_id) if person else None

    def team_manager_of(self, staff_id: object) -> Person | None:
        """A worker's team manager: the first Team Manager up their line-management chain (a social worker's line
        manager may be a practice supervisor, who reports to the team manager); else their line manager."""
        seen = {str(staff_id)}
        current = self.manager_of(staff_id)
        first = current
        while current is not None and current.staff_id not in seen:
            if current.role == TEAM_MANAGER:
                return current
            seen.add(current.staff_id)
            current = self.get(current.line_manager_id)
        return first

    def case_people(self, case_ref: str) -> dict[str, Person | None]:
        """The case's social worker, team manager, service manager (the team manager's line manager), CP
        coordinator or IRO, previous worker and the previous worker's team manager."""
        case = self.cases.get(case_ref) or {}
        team_manager = self.get(case.get("team_manager_id"))
        return {
            "social_worker": self.get(case.get("social_worker_id")),
            "team_manager": team_manager,
            "service_manager": self.manager_of(team_manager.staff_id) if team_manager else None,
            "cp_iro": self.get(case.get("cp_iro_id")),
            "previous_worker": self.get(case.get("previous_worker_id")),
            # Appendix 1: the previous worker's *team manager* (not a practice supervisor who line-manages them).
            "previous_team_manager": self.team_manager_of(case.get("previous_worker_id")),
        }


def addresses(*people: Person | None) -> list[str]:
    """Unique e-mail addresses, in order, skipping people without one."""
    seen: list[str] = []
    for p in people:
        if p and p.email and p.email not in seen:
            seen.append(p.email)
    return seen
