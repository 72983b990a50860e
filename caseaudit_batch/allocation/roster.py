"""The staff roster and the caseload: their published headers and roles, loading and checking.

Loading validates a table the way audits are validated: every problem is reported with its row, column and fix,
and nothing is half-loaded (issue 3). A ``.csv`` with the same headers is read like a workbook.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from caseaudit_batch.core import messages
from caseaudit_batch.core.addresses import is_one_address, is_plain_text, shown_text
from caseaudit_batch.core.errors import EXIT_DATAERR, CaseauditError
from caseaudit_batch.core.messages import Problem
from caseaudit_batch.workbook.cells import column_letter

ROSTER_HEADERS = (
    "Staff ID",
    "Name",
    "Email",
    "Role",
    "Team",
    "Service",
    "Line manager ID",
    "Audit status",
    "Paused until",
    "Pause reason",
)

CASELOAD_HEADERS = (
    "Case reference",
    "Case type",
    "Service",
    "Team",
    "Social worker ID",
    "Team manager ID",
    "Allocated to current worker on",
    "Previous social worker ID",
    "CP coordinator / IRO ID",
    "Case opened on",
)

FROM_FILE_HEADERS = ("Staff ID", "Case reference")

# Guidance section 2: these roles undertake one audit a month.
AUDITING_ROLES = (
    "Team Manager",
    "Practice Supervisor",
    "Service Manager",
    "Principal Social Worker",
    "Head of Service",
    "Assistant Director",
    "Strategic Director",
)
NON_AUDITING_ROLES = (
    "Social Worker",
    "Child Protection Coordinator",
    "Independent Reviewing Officer",
    "QA Officer",
)
ALL_ROLES = AUDITING_ROLES + NON_AUDITING_ROLES
AUDIT_STATUSES = ("Active", "Paused", "Left")
CASE_TYPES = ("CIN", "CP", "CLA", "Care leaver")


# ---------------------------------------------------------------------------------------------------------------
# People and cases as loaded
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Person:
    """One roster row. ``Audit status`` blank is read as Active."""

    staff_id: str
    name: str
    email: str
    role: str
    team: str = ""
    service: str = ""
    line_manager_id: str = ""
    audit_status: str = "Active"
    paused_until: date | None = None
    pause_reason: str = ""

    @property
    def with_authority(self) -> bool:
        """Guidance section 2's "still with the authority": anyone not Left."""
        return self.audit_status != "Left"


@dataclass(frozen=True)
class Case:
    """One caseload row: a case reference and who holds it; never a child's name."""

    case_ref: str
    case_type: str
    service: str
    team: str
    social_worker_id: str = ""
    team_manager_id: str = ""
    allocated_on: date | None = None
    previous_worker_id: str = ""
    cp_iro_id: str = ""
    opened_on: date | None = None


@dataclass
class Roster:
    people: dict[str, Person]
    source: str = ""

    def get(self, staff_id: str | None) -> Person | None:
        return self.people.get(staff_id or "")

    def name(self, staff_id: str | None) -> str:
        person = self.get(staff_id)
        return person.name if person else ""

    def email(self, staff_id: str | None) -> str:
        person = self.get(staff_id)
        return person.email if person else ""

    def line_manager(self, staff_id: str | None) -> Person | None:
        person = self.get(staff_id)
        return self.get(person.line_manager_id) if person else None

    def service_manager_for(self, case: Case) -> Person | None:
        """A team's service manager is its team manager's line manager (issue 3, "who manages whom")."""
        return self.line_manager(case.team_manager_id)


@dataclass
class Caseload:
    cases: list[Case]
    source: str = ""
    #: case types the framework does not know: the value as typed -> the first row it is on (issue 24: a warning)
    unknown_case_types: dict[str, int] = field(default_factory=dict)

    def by_ref(self) -> dict[str, Case]:
        return {c.case_ref: c for c in self.cases}


class InputTableError(CaseauditError):
    """A roster, caseload or --from-file table with problems: every problem listed, nothing loaded (exit 65)."""

    exit_code = EXIT_DATAERR
    shown = 200

    def __init__(self, file: str, what: str, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("AL019", file=file, what=what, count=len(self.problems))

    @property
    def message(self) -> str:
        lines = [messages.render(self.code, **self.params)]
        lines += ["  " + describe(p) for p in self.problems[: self.shown]]
        if len(self.problems) > self.shown:
            lines.append("  " + messages.text("AL018", count=len(self.problems) - self.shown))
        return "\n".join(lines)


def describe(p: Problem) -> str:
    """One problem as one line: where, what, how to fix."""
    return f"{p.where}: [{p.code}] {p.message}" + (f" {p.fix}" if p.fix else "")


# ---------------------------------------------------------------------------------------------------------------
# Reading a table (.xlsx or .csv): header row 1, one record per row, with the row number kept for messages
# ---------------------------------------------------------------------------------------------------------------
MAX_UNPACKED = 200 * 1024 * 1024  # a roster is a few MB at most; refuse archives that unpack to more (zip bombs)


@dataclass
class Table:
    file: str
    sheet: str
    columns: dict[str, int]  # header -> 1-based column
    rows: list[tuple[int, dict[str, object]]]


def _cell_text(value: object) -> str:
    if value.__class__ is str:
        return value.strip()  # type: ignore[attr-defined]  # the usual cell, first (a large caseload: ~200,000)
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # an ID typed as a number, e.g. 1234 read back as 1234.0
    if isinstance(value, datetime):
        return value.date().isoformat()
    return str(value).strip()


#: The longest value a roster, caseload or pairs cell may hold, by column (names and teams at most 100 characters,
#: IDs and case references at most 40): beyond, a value cannot be a real one and would overflow a file name.
DEFAULT_TEXT_LIMIT = 100
TEXT_LIMITS = {
    "Email": 254,  # the longest address mail allows
    "Staff ID": 40,
    "Line manager ID": 40,
    "Case reference": 40,
    "Social worker ID": 40,
    "Team manager ID": 40,
    "Previous social worker ID": 40,
    "CP coordinator / IRO ID": 40,
    "Pause reason": 200,
}


def _read_rows_calamine(path: Path) -> tuple[str, list[tuple[object, ...]]] | None:
    """The rows as openpyxl's read-only reader gives them (empty cells None, dates as datetimes), read with
    python-calamine: some fifteen times faster on a 3,000-case caseload, which allocation reads every month. Any
    trouble (an unusual file) returns None, and the openpyxl reader, with its established messages, takes over."""
    try:
        from python_calamine import CalamineWorkbook

        wb = CalamineWorkbook.from_path(str(path))
        names = list(wb.sheet_names)
        name = next((c for c in ("Roster", "Caseload", "Allocations") if c in names), names[0] if names else None)
        if name is None:
            return None
        raw = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
    except Exception:  # noqa: BLE001 - any reader trouble: fall back to openpyxl, which names the problem
        return None

    def value(cell: object) -> object:
        if cell == "":
            return None
        if isinstance(cell, date) and not isinstance(cell, datetime):
            return datetime(cell.year, cell.month, cell.day)
        return cell

    # A text cell (most cells: IDs, names, teams) needs nothing but its emptiness seen to (issue 25: a caseload of
    # 21,000 cases is some 200,000 cells).
    return name, [tuple([(c or None) if c.__class__ is str else value(c) for c in row]) for row in raw]


def _read_rows(path: Path) -> tuple[str, list[tuple[object, ...]]]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        raw = path.read_bytes()
        for encoding in ("utf-8-sig", "cp1252"):  # Excel on Windows saves "CSV" in cp1252
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        # newline="": rows may end in CRLF, LF or a lone CR (old Mac files); a line break inside a quoted cell stays
        # in the cell, where the text check refuses it with its cell reference.
        try:
            return "", [tuple(r) for r in csv.reader(io.StringIO(text, newline=""))]
        except csv.Error:
            raise ValueError("it could not be read as CSV (a quote is not closed); save it again from Excel") from None
    with path.open("rb") as handle:
        head = handle.read(8)
    if not head.startswith(b"PK"):
        if head.startswith(b"\xd0\xcf\x11\xe0"):
            raise ValueError("it is an old .xls workbook or is password-protected; save it as .xlsx")
        raise ValueError("it is not an .xlsx workbook")
    with zipfile.ZipFile(path) as archive:
        if sum(i.file_size for i in archive.infolist()) > MAX_UNPACKED:
            raise ValueError("it unpacks to far more data than a roster or caseload holds")
    fast = _read_rows_calamine(path)
    if fast is not None:
        return fast
    import openpyxl  # the fallback reader, for files python-calamine cannot read

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        ws = wb.worksheets[0]
        for candidate in ("Roster", "Caseload", "Allocations"):
            if candidate in wb.sheetnames:
                ws = wb[candidate]
                break
        return ws.title, [tuple(r) for r in ws.iter_rows(values_only=True)]
    finally:
        wb.close()


def read_table(path: Path, headers: Sequence[str], what: str) -> tuple[Table, list[Problem]]:
    """Read ``path``; problems with the file or its header row are returned (the rows are then empty)."""
    name = path.name
    try:
        sheet, raw_rows = _read_rows(path)
    except FileNotFoundError:
        return Table(name, "", {}, []), [
            messages.problem("AL001", file=str(path), what=what, detail="it does not exist")
        ]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        detail = str(exc) if isinstance(exc, ValueError) and str(exc).startswith("it ") else "it could not be opened"
        return Table(name, "", {}, []), [messages.problem("AL001", file=str(path), what=what, detail=detail)]
    if not raw_rows:
        return Table(name, sheet, {}, []), [messages.problem("AL012", file=name, sheet=sheet, what=what)]
    found = {_cell_text(v).lower(): i + 1 for i, v in enumerate(raw_rows[0]) if _cell_text(v)}
    columns: dict[str, int] = {}
    problems = []
    for header in headers:
        if header.lower() in found:
            columns[header] = found[header.lower()]
        else:
            problems.append(messages.problem("AL002", file=name, sheet=sheet, cell="row 1", label=header, what=what))
    if problems:
        return Table(name, sheet, columns, []), problems
    rows = []
    for number, values in enumerate(raw_rows[1:], start=2):
        record = {h: (values[c - 1] if c - 1 < len(values) else None) for h, c in columns.items()}
        if all(_cell_text(v) == "" for v in record.values()):
            continue  # blank rows (Excel tables often keep some) are not records
        rows.append((number, record))
    return Table(name, sheet, columns, rows), []


_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y", "%d.%m.%Y", "%d %B %Y", "%d %b %Y")


def parse_day(value: object) -> date | None:
    """A date cell or typed date; text is read the English way (03/04/2026 is 3 April). ``None`` if not a date."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _cell_text(value)
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


class _Checker:
    """Collects the problems of one table, each with its row, column and fix."""

    def __init__(self, table: Table, what: str) -> None:
        self.table = table
        self.what = what
        self.problems: list[Problem] = []
        self._refused: set[tuple[int, str]] = set()  # cells already refused: no second problem for the same cell

    def refused(self, row: int, header: str) -> bool:
        return (row, header) in self._refused

    def add(self, code: str, row: int, header: str, found: object = "", **params: object) -> None:
        col = self.table.columns.get(header, 1)
        self.problems.append(
            messages.problem(
                code,
                found=_cell_text(found),
                file=self.table.file,
                sheet=self.table.sheet,
                cell=f"{column_letter(col)}{row}",
                label=header,
                row=row,
                what=self.what,
                **params,
            )
        )

    def text(self, row: int, record: dict[str, object], header: str, *, required: str = "") -> str:
        value = _cell_text(record.get(header))
        # Printable ASCII is plain text (no control character, separator or direction mark): the usual cell is
        # settled without the character-by-character check (a large caseload has ~200,000 cells).
        if value and not (value.isascii() and value.isprintable()) and not is_plain_text(value):
            # A line break or control character would change on its way through a form (which could then never be
            # accepted), break a file name, or start a mail header: refused with the cell.
            self.add("AL045", row, header, shown_text(value))
            self._refused.add((row, header))
            return ""
        limit = TEXT_LIMITS.get(header, DEFAULT_TEXT_LIMIT)
        if len(value) > limit:
            self.add("AL046", row, header, shown_text(value[:40]) + "…", length=len(value), limit=limit)
            self._refused.add((row, header))
            return ""
        if not value and required:
            self.add("AL004", row, header, hint=required)
        return value

    def day(self, row: int, record: dict[str, object], header: str) -> date | None:
        raw = record.get(header)
        if raw.__class__ is datetime:
            return raw.date()  # type: ignore[attr-defined]  # a date cell, as parse_day reads it
        if _cell_text(raw) == "":
            return None
        parsed = parse_day(raw)
        if parsed is None:
            self.add("AL007", row, header, raw)
        return parsed

    def choice(self, row: int, record: dict[str, object], header: str, choices: Sequence[str], default: str) -> str:
        value = _cell_text(record.get(header))
        if not value:
            return default
        for choice in choices:
            if value.lower() == choice.lower():
                return choice
        self.add("AL008", row, header, value, choices=", ".join(choices))
        return default


def _need_team(role: str) -> bool:
    return role in ("Team Manager", "Practice Supervisor", "Social Worker")


def _need_service(role: str) -> bool:
    return role in ("Team Manager", "Practice Supervisor", "Service Manager", "Head of Service")


def load_roster(path: Path) -> Roster:
    """Load and check the staff roster; raise :class:`InputTableError` listing every problem."""
    table, problems = read_table(path, ROSTER_HEADERS, "roster")
    if problems:
        raise InputTableError(str(path), "roster", problems)
    check = _Checker(table, "roster")
    people: dict[str, Person] = {}
    first_row: dict[str, int] = {}
    managers: list[tuple[int, str, str]] = []
    for row, rec in table.rows:
        staff_id = check.text(row, rec, "Staff ID", required="each person needs a unique Staff ID")
        name = check.text(row, rec, "Name", required="the person's name as it should appear on forms")
        status = check.choice(row, rec, "Audit status", AUDIT_STATUSES, "Active")
        email = check.text(row, rec, "Email")
        if email and not is_one_address(email):
            # Exactly one plain address: a line break, a list or a display name could add mail headers.
            check.add("AL010", row, "Email", shown_text(email))
        elif not email and status != "Left" and not check.refused(row, "Email"):
            check.add("AL004", row, "Email", hint="notices are sent to this address")
        role_text = _cell_text(rec.get("Role"))
        role = next((r for r in ALL_ROLES if r.lower() == role_text.lower()), "")
        if not role_text:
            check.add("AL004", row, "Role", hint="one of " + ", ".join(ALL_ROLES))
        elif not role:
            check.add("AL003", row, "Role", role_text, choices=", ".join(ALL_ROLES))
        team = check.text(row, rec, "Team", required="their team" if _need_team(role) and status != "Left" else "")
        service = check.text(
            row, rec, "Service", required="their service" if _need_service(role) and status != "Left" else ""
        )
        paused_until = check.day(row, rec, "Paused until")
        manager = check.text(row, rec, "Line manager ID")
        if staff_id and staff_id in first_row:
            check.add("AL005", row, "Staff ID", staff_id, first=first_row[staff_id])
            continue
        if staff_id:
            first_row[staff_id] = row
            if manager:
                managers.append((row, staff_id, manager))
            people[staff_id] = Person(
                staff_id=staff_id,
                name=name,
                email=email,
                role=role,
                team=team,
                service=service,
                line_manager_id=manager,
                audit_status=status,
                paused_until=paused_until,
                pause_reason=_cell_text(rec.get("Pause reason")),
            )
    for row, staff_id, manager in managers:
        if manager == staff_id:
            check.add("AL011", row, "Line manager ID", manager)
        elif manager not in people:
            check.add("AL006", row, "Line manager ID", manager)
    for row, chain in _manager_cycles(managers):
        check.add("AL044", row, "Line manager ID", chain[1], chain=" → ".join(chain))
    if check.problems:
        raise InputTableError(str(path), "roster", check.problems)
    if not people:
        raise InputTableError(str(path), "roster", [messages.problem("AL012", file=table.file, what="roster")])
    return Roster(people=people, source=str(path))


def _manager_cycles(managers: list[tuple[int, str, str]]) -> list[tuple[int, list[str]]]:
    """Line-manager chains that come back to where they started (A reports to B, B to A): each such person's row
    and the chain, first person first. A chain must end at someone with no line manager (guidance: a team's
    service manager is its team manager's line manager; a service's Head of Service is theirs)."""
    manager_of = {staff_id: manager for _row, staff_id, manager in managers if manager != staff_id}
    found = []
    for row, staff_id, _manager in managers:
        chain, seen = [staff_id], {staff_id}
        current = manager_of.get(staff_id)
        while current is not None and current not in seen:
            chain.append(current)
            seen.add(current)
            current = manager_of.get(current)
        if current == staff_id and len(chain) > 1:
            found.append((row, [*chain, staff_id]))
    return found


def load_caseload(path: Path, roster: Roster, case_types: Mapping[str, str] | None = None) -> Caseload:
    """Load and check the caseload against the roster; raise :class:`InputTableError` listing every problem.
    ``case_types``: the framework's case types by each spelling (lower case, single spaces): "Child in Need" is
    recorded as CIN; a type it does not know is kept as typed and listed in ``unknown_case_types``."""
    table, problems = read_table(path, CASELOAD_HEADERS, "caseload")
    if problems:
        raise InputTableError(str(path), "caseload", problems)
    check = _Checker(table, "caseload")
    cases: list[Case] = []
    first_row: dict[str, int] = {}
    unknown: dict[str, int] = {}

    def staff(row: int, rec: dict[str, object], header: str, required: str = "") -> str:
        value = check.text(row, rec, header, required=required)
        if value and value not in roster.people:
            check.add("AL006", row, header, value)
        return value

    for row, rec in table.rows:
        ref = check.text(row, rec, "Case reference", required="the case reference (never a child's name)")
        case_type_text = check.text(row, rec, "Case type", required="e.g. " + ", ".join(CASE_TYPES))
        case_type = next((t for t in CASE_TYPES if t.lower() == case_type_text.lower()), case_type_text)
        if case_types:
            known = case_types.get(" ".join(case_type_text.split()).casefold())
            if known is None and case_type_text:
                unknown.setdefault(case_type_text, row)
            case_type = known or case_type
        service = check.text(row, rec, "Service", required="the service holding the case")
        team = check.text(row, rec, "Team", required="the team holding the case")
        worker = staff(row, rec, "Social worker ID")
        manager = staff(row, rec, "Team manager ID", required="the Staff ID of the case's team manager")
        allocated_on = check.day(row, rec, "Allocated to current worker on")
        previous = staff(row, rec, "Previous social worker ID")
        cp_iro = staff(row, rec, "CP coordinator / IRO ID")
        opened_on = check.day(row, rec, "Case opened on")
        if ref in first_row:
            check.add("AL009", row, "Case reference", ref, first=first_row[ref])
            continue
        if ref:
            first_row[ref] = row
            cases.append(
                Case(ref, case_type, service, team, worker, manager, allocated_on, previous, cp_iro, opened_on)
            )
    if check.problems:
        raise InputTableError(str(path), "caseload", check.problems)
    return Caseload(cases=cases, source=str(path), unknown_case_types=unknown)


@dataclass(frozen=True)
class Pair:
    row: int
    staff_id: str
    case_ref: str


def load_pairs(path: Path, roster: Roster, caseload: Caseload) -> list[Pair]:
    """The ``--from-file`` table: Staff ID / Case reference pairs QA chose by hand (checked against both)."""
    table, problems = read_table(path, FROM_FILE_HEADERS, "allocation pairs")
    if problems:
        raise InputTableError(str(path), "allocation pairs", problems)
    check = _Checker(table, "allocation pairs")
    cases = caseload.by_ref()
    pairs: list[Pair] = []
    seen_staff: dict[str, int] = {}
    seen_case: dict[str, int] = {}
    for row, rec in table.rows:
        staff_id = check.text(row, rec, "Staff ID", required="the auditor's Staff ID")
        ref = check.text(row, rec, "Case reference", required="the case they should audit")
        person = roster.get(staff_id)
        if staff_id and person is None:
            check.add("AL006", row, "Staff ID", staff_id)
        elif person is not None and not person.with_authority:
            check.add("AL016", row, "Staff ID", staff_id, name=person.name)
        if ref and ref not in cases:
            check.add("AL013", row, "Case reference", ref)
        if staff_id in seen_staff:
            check.add("AL015", row, "Staff ID", staff_id, first=seen_staff[staff_id])
        if ref in seen_case:
            check.add("AL009", row, "Case reference", ref, first=seen_case[ref])
        seen_staff.setdefault(staff_id, row)
        seen_case.setdefault(ref, row)
        pairs.append(Pair(row, staff_id, ref))
    if check.problems:
        raise InputTableError(str(path), "allocation pairs", check.problems)
    return pairs


# ---------------------------------------------------------------------------------------------------------------
# Writing a roster or caseload (the demo's synthetic authority, tests); text stays text
# ---------------------------------------------------------------------------------------------------------------
def person_row(p: Person) -> list[object]:
    return [
        p.staff_id,
        p.name,
        p.email,
        p.role,
        p.team,
        p.service,
        p.line_manager_id,
        p.audit_status,
        p.paused_until,
        p.pause_reason,
    ]


def case_row(c: Case) -> list[object]:
    return [
        c.case_ref,
        c.case_type,
        c.service,
        c.team,
        c.social_worker_id,
        c.team_manager_id,
        c.allocated_on,
        c.previous_worker_id,
        c.cp_iro_id,
        c.opened_on,
    ]


def write_table(path: Path, title: str, headers: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    """Write a table as ``.csv`` (dates as DD/MM/YYYY) or ``.xlsx`` (dates as dates), by the file's suffix."""
    if path.suffix.lower() == ".csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(headers)
        for row in rows:
            writer.writerow(["" if v is None else f"{v:%d/%m/%Y}" if isinstance(v, date) else v for v in row])
        path.write_text(buffer.getvalue(), "utf-8")
        return path
    from openpyxl import Workbook

    from caseaudit_batch.workbook.stamp import without_times
    from caseaudit_batch.workbook.tables import add_sheet_table
    from caseaudit_batch.workbook.writer import to_bytes

    wb = Workbook()
    lists: dict[str, Sequence[str]] = {"Role": ALL_ROLES, "Audit status": AUDIT_STATUSES} if title == "Roster" else {}
    add_sheet_table(wb, title, headers, rows, lists=lists, first=True)
    path.write_bytes(without_times(to_bytes(wb)))
    return path


def write_roster(path: Path, people: Iterable[Person]) -> Path:
    return write_table(path, "Roster", ROSTER_HEADERS, (person_row(p) for p in people))


def write_caseload(path: Path, cases: Iterable[Case]) -> Path:
    return write_table(path, "Caseload", CASELOAD_HEADERS, (case_row(c) for c in cases))
