"""The checks a returned action tracker's rows must pass before any of it reaches the register.

One small function per rule; each returns the problems it finds (messages ``ACT001``–``ACT012``). A tracker with
any error is returned to its sender whole, so the register never holds half of a manager's update. Guidance
section 2: actions need "clear timescales", so a completion needs its date, and a date in the future is not a
completion.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from caseaudit_batch.actions.ids import COMPLETED, NO_LONGER_REQUIRED, OPEN, to_date
from caseaudit_batch.core import messages
from caseaudit_batch.core.messages import Problem
from caseaudit_batch.workbook.cells import column_letter
from caseaudit_batch.workbook.layout import TRACKER_HEADERS

_STATUS_WORDS = {
    "open": OPEN,
    "ongoing": OPEN,
    "in progress": OPEN,
    "completed": COMPLETED,
    "complete": COMPLETED,
    "done": COMPLETED,
    "no longer required": NO_LONGER_REQUIRED,
    "not required": NO_LONGER_REQUIRED,
    "nlr": NO_LONGER_REQUIRED,
}
_YES = {"yes", "y", "true", "signed off", "signed"}
_NO = {"", "no", "n", "false"}
_EXCEL_EPOCH = date(1899, 12, 30)


@dataclass
class TrackerRow:
    """One non-blank row of a returned tracker, its raw cells by header, and where it sits."""

    number: int  # counted from 1 in the table
    row: int  # the sheet row
    cells: dict[str, Any]
    sheet: str = ""
    file: str = ""
    first_col: int = 1

    def raw(self, header: str) -> Any:
        return self.cells.get(header)

    def text(self, header: str) -> str:
        return cell_text(self.cells.get(header))

    def cell(self, header: str) -> str:
        return f"{column_letter(self.first_col + TRACKER_HEADERS.index(header))}{self.row}"  # openpyxl not imported

    def problem(self, code: str, header: str, found: object = "", **params: object) -> Problem:
        return messages.problem(
            code,
            found=found,
            file=self.file,
            sheet=self.sheet,
            cell=self.cell(header),
            field="tracker",
            label=f"row {self.number}, {header}",
            **params,
        )

    @property
    def is_new(self) -> bool:
        return not self.text("Action ID")


@dataclass
class TrackerEntry:
    """A checked row, typed: what the manager says about one action (or a new one set in supervision)."""

    number: int
    row: int
    action_id: str | None
    case_ref: str
    action: str
    owner: str
    due_date: date | None
    status: str | None  # None: left blank (no change)
    completed_on: date | None
    note: str
    supervision_on: date | None
    signed_off: bool


@dataclass
class CheckedTracker:
    entries: list[TrackerEntry] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())


def cell_date(value: Any) -> date | None:
    """A date from a cell: a date, a datetime, an Excel serial number, ISO text or dd/mm/yyyy; else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and 1 <= value < 2958466:
        return _EXCEL_EPOCH + timedelta(days=int(value))
    if isinstance(value, datetime):
        return value.date()
    return to_date(value)


def parse_status(value: Any) -> str | None:
    """The canonical status for what was typed; ``None`` when blank; raises ``ValueError`` when unknown."""
    text = cell_text(value).casefold().strip(" .")
    if not text:
        return None
    if text in _STATUS_WORDS:
        return _STATUS_WORDS[text]
    raise ValueError(text)


def parse_sign_off(value: Any) -> bool:
    """``True`` for Yes; ``False`` for blank (or No); raises ``ValueError`` otherwise."""
    if value is True:
        return True
    if value is False or value is None:
        return False
    text = cell_text(value).casefold().strip(" .")
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise ValueError(text)


# ---------------------------------------------------------------------------------------------------------------
# The rules
# ---------------------------------------------------------------------------------------------------------------
Rule = Callable[[TrackerRow, "RuleContext"], Iterable[Problem]]


@dataclass(frozen=True)
class RuleContext:
    today: date
    known_actions: Collection[str]
    known_cases: Collection[str]


def status_is_known(row: TrackerRow, ctx: RuleContext) -> Iterable[Problem]:
    """The status is Open, Completed or No longer required (or blank: no change)."""
    try:
        parse_status(row.raw("Status"))
    except ValueError:
        yield row.problem("ACT001", "Status", found=row.text("Status"))


def dates_are_dates(row: TrackerRow, ctx: RuleContext) -> Iterable[Problem]:
    """'Completed on' and 'Discussed in supervision on' hold dates when filled in."""
    for header in ("Completed on", "Discussed in supervision on"):
        if row.text(header) and cell_date(row.raw(header)) is None:
            yield row.problem("ACT004", header, found=row.text(header), column=header)


def completed_needs_a_date(row: TrackerRow, ctx: RuleContext) -> Iterable[Problem]:
    """Completed needs a completion date; a completion date needs the status Completed."""
    try:
        status = parse_status(row.raw("Status"))
    except ValueError:
        return
    done_on = cell_date(row.raw("Completed on"))
    if status == COMPLETED and done_on is None and not row.text("Completed on"):
        yield row.problem("ACT002", "Completed on")
    if done_on is not None and status in (OPEN, NO_LONGER_REQUIRED):
        yield row.problem("ACT005", "Completed on", found=row.text("Completed on"), status=status)


def completion_not_in_future(row: TrackerRow, ctx: RuleContext) -> Iterable[Problem]:
    """A completion date in the future is an error: the action is not done yet."""
    done_on = cell_date(row.raw("Completed on"))
    if done_on is not None and done_on > ctx.today:
        yield row.problem(
            "ACT003", "Completed on", found=done_on.strftime("%d/%m/%Y"), today=ctx.today.strftime("%d/%m/%Y")
        )


def sign_off_is_yes_or_blank(row: TrackerRow, ctx: RuleContext) -> Iterable[Problem]:
    """'Service manager sign-off' is Yes or blank."""
    try:
        parse_sign_off(row.raw("Service manager sign-off"))
    except ValueError:
        yield row.problem("ACT006", "Service manager sign-off", found=row.text("Service manager sign-off"))


def action_id_is_known(row: TrackerRow, ctx: RuleContext) -> Iterable[Problem]:
    """A listed action's ID is in the register."""
    if not row.is_new and row.text("Action ID") not in ctx.known_actions:
        yield row.problem("ACT007", "Action ID", found=row.text("Action ID"))


def new_action_is_complete(row: TrackerRow, ctx: RuleContext) -> Iterable[Problem]:
    """A new action set in supervision has a case reference, the action, an owner and a due date."""
    if not row.is_new:
        return
    missing = [h for h in ("Case reference", "Action", "Owner", "Due date") if not row.text(h)]
    if missing:
        yield row.problem("ACT008", missing[0], missing=_and(missing))
        return
    if cell_date(row.raw("Due date")) is None:
        yield row.problem("ACT012", "Due date", found=row.text("Due date"))
    if row.text("Case reference") not in ctx.known_cases:
        yield row.problem("ACT009", "Case reference", found=row.text("Case reference"))


RULES: tuple[Rule, ...] = (
    status_is_known,
    dates_are_dates,
    completed_needs_a_date,
    completion_not_in_future,
    sign_off_is_yes_or_blank,
    action_id_is_known,
    new_action_is_complete,
)


def _and(items: Sequence[str]) -> str:
    quoted = [f"'{i}'" for i in items]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def table_rows(
    table: Sequence[Sequence[Any]], *, first_row: int, sheet: str = "", file: str = "", first_col: int = 1
) -> list[TrackerRow]:
    """The tracker table's non-blank rows (a row is blank when every cell is)."""
    rows = []
    for i, cells in enumerate(table):
        padded = [*list(cells), *([None] * len(TRACKER_HEADERS))][: len(TRACKER_HEADERS)]
        if not any(cell_text(c) for c in padded):
            continue
        rows.append(
            TrackerRow(i + 1, first_row + i, dict(zip(TRACKER_HEADERS, padded, strict=True)), sheet, file, first_col)
        )
    return rows


def outside_table(cells: Iterable[str], *, sheet: str = "", file: str = "") -> list[Problem]:
    """ACT015 for each cell with something in it outside the tracker's table (under it, or in an inserted row that
    the table does not take in): it was not read, so the tracker goes back rather than lose it."""
    return [
        messages.problem("ACT015", file=file, sheet=sheet, cell=cell, field="tracker", label="outside the table")
        for cell in cells
    ]


def check_tracker(rows: Sequence[TrackerRow], ctx: RuleContext, outside: Sequence[Problem] = ()) -> CheckedTracker:
    """Every rule over every row (``outside``: the problems of cells outside the table, see :func:`outside_table`);
    the typed entries when there is no error."""
    result = CheckedTracker(problems=list(outside))
    for row in rows:
        for rule in RULES:
            result.problems.extend(rule(row, ctx))
    if result.errors:
        return result
    for row in rows:
        result.entries.append(
            TrackerEntry(
                number=row.number,
                row=row.row,
                action_id=row.text("Action ID") or None,
                case_ref=row.text("Case reference"),
                action=row.text("Action"),
                owner=row.text("Owner"),
                due_date=cell_date(row.raw("Due date")),
                status=parse_status(row.raw("Status")),
                completed_on=cell_date(row.raw("Completed on")),
                note=str(row.raw("Update") or "").strip(),
                supervision_on=cell_date(row.raw("Discussed in supervision on")),
                signed_off=parse_sign_off(row.raw("Service manager sign-off")),
            )
        )
    return result
