"""Ingest: every file in an inbox read safely, checked, and accounted for with exactly one outcome.

Two layers. The *file accounting* (``gather``, ``record_submissions``, ``manifest_bytes``) is shared by the audits,
moderation and actions inboxes: it lists every file, recognises lock files and unchanged re-runs, and records each
file once in the register's ``submissions`` and ``problems`` and in the run's manifest. The *audit check*
(``AuditBook``, ``check_audit``, ``settle_versions``) reads one audit form through the safe reader, compares its
pre-filled values with the register's, runs the validation rules, and decides which accepted version stands.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import logging
import multiprocessing
import os
import traceback
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from caseaudit_batch.core import messages
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.framework import Framework, GradeParseError
from caseaudit_batch.core.messages import Problem
from caseaudit_batch.ingest import rules
from caseaudit_batch.workbook import reader
from caseaudit_batch.workbook.layout import FormLayout, audit_layout

log = logging.getLogger("caseaudit")

OUTCOMES = ("accepted", "returned", "superseded", "duplicate", "rejected", "ignored")
MANIFEST_HEADERS = ("file", "sha256", "size", "outcome", "audit_id", "codes", "message")
NEW_FILE_PROBLEMS = ("rejected", "returned")
KEEP_IN_MEMORY = 1024 * 1024  # files up to this size are held from reading to sharing; larger ones are read again


# ---------------------------------------------------------------------------------------------------------------
# File accounting (shared by every inbox)
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class Entry:
    """One file in an inbox and its one outcome."""

    path: Path
    rel: str
    size: int
    mtime: float
    sha256: str = ""
    data: bytes | None = None
    outcome: str = ""
    audit_id: str = ""
    codes: list[str] = field(default_factory=list)
    message: str = ""
    problems: list[Problem] = field(default_factory=list)
    known: bool = False  # an unchanged file already in the register: listed in the manifest, nothing recorded
    standing: str = ""  # for a returned file: the accepted version that still stands
    submission_id: int | None = None
    check: AuditCheck | None = None

    @property
    def pending(self) -> bool:
        return not self.outcome

    def settle(self, outcome: str, code: str = "", /, *, note: str = "", **params: object) -> None:
        """Give the file its outcome, with the message of ``code`` (filled with ``params``) unless ``note`` is given."""
        self.outcome = outcome
        message = note
        if code:
            if code not in self.codes:
                self.codes.append(code)
            if not message:
                message = messages.text(code, **params)
        self.message = message


def list_files(folder: Path) -> list[Path]:
    """Every file under ``folder``, recursively, in a stable order (symbolic links are not followed).

    ``os.scandir`` tells files from folders and links without a system call per file: a year's inbox holds a few
    thousand files and every daily run lists them all. A folder that cannot be read is passed over, as
    ``Path.rglob`` does."""
    found: list[Path] = []
    folders = [str(folder)]
    while folders:
        try:
            with os.scandir(folders.pop()) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        folders.append(entry.path)
                    elif entry.is_file(follow_symlinks=False):
                        found.append(Path(entry.path))
        except (PermissionError, FileNotFoundError, NotADirectoryError):
            continue
    return sorted(found, key=lambda p: p.as_posix().casefold())


def _first_seen(
    conn: Connection, inbox: str
) -> tuple[dict[tuple[str, str], Any], dict[str, Any], dict[tuple[str, int, float], str]]:
    """The register's earlier sightings: by (path, bytes), by bytes alone (the first file with them), and the
    bytes' hash by (path, size, modification time), so that a file untouched since it was read is not read again."""
    rows = conn.execute(
        sa.select(
            reg.submissions.c.id,
            reg.submissions.c.path,
            reg.submissions.c.sha256,
            reg.submissions.c.size,
            reg.submissions.c.mtime,
            reg.submissions.c.outcome,
            reg.submissions.c.seen_at,
            reg.submissions.c.audit_id,
        )
        .where(reg.submissions.c.inbox == inbox)
        .order_by(reg.submissions.c.id)
    ).all()
    by_file: dict[tuple[str, str], Any] = {}
    by_bytes: dict[str, Any] = {}
    by_stat: dict[tuple[str, int, float], str] = {}
    for row in rows:
        by_file.setdefault((row.path, row.sha256), row)
        if row.outcome != "duplicate":
            by_bytes.setdefault(row.sha256, row)
        if row.mtime:
            by_stat[(row.path, row.size, row.mtime)] = row.sha256  # the latest sighting of that path and stat
    return by_file, by_bytes, by_stat


def gather(conn: Connection | None, inbox: str, folder: Path, files: Sequence[Path] | None = None) -> list[Entry]:
    """Read and account for every file: ignored names, unchanged re-runs and identical copies are settled here;
    the rest are left pending for the stage's own check. ``conn`` ``None`` means no register history (check)."""
    by_file, by_bytes, by_stat = _first_seen(conn, inbox) if conn is not None else ({}, {}, {})
    seen_here: dict[str, Entry] = {}
    entries: list[Entry] = []
    resolved_folder = folder.resolve()
    prefix = os.path.join(str(folder), "")  # the folder with its trailing separator
    known_notes: dict[tuple[str, str], str] = {}
    for path in files if files is not None else list_files(folder):
        text = str(path)
        if text.startswith(prefix) and ".." not in path.parts:
            rel = text[len(prefix) :].replace(os.sep, "/")  # as Path.relative_to, without its cost per file
        elif ".." not in path.parts and path.is_relative_to(folder):
            rel = path.relative_to(folder).as_posix()
        else:
            try:
                rel = path.resolve().relative_to(resolved_folder).as_posix()
            except ValueError:
                rel = path.as_posix()
        entry = Entry(path=path, rel=rel, size=0, mtime=0.0)
        entries.append(entry)
        try:
            stat = path.stat()
            entry.size, entry.mtime = stat.st_size, stat.st_mtime
            unchanged = by_stat.get((rel, stat.st_size, stat.st_mtime))
            if unchanged is not None and (rel, unchanged) in by_file:
                # The same path, size and modification time (to a microsecond) as a file already read: its bytes
                # are the ones recorded then. A month's inbox keeps every earlier file, and reading them all again
                # on each daily run would grow with the year.
                entry.sha256 = unchanged
            elif stat.st_size > KEEP_IN_MEMORY:
                entry.sha256 = _hash_file(path)  # read again when checked: a run's memory stays small
            else:
                entry.data = path.read_bytes()
                entry.size = len(entry.data)
                entry.sha256 = hashlib.sha256(entry.data).hexdigest()
        except FileNotFoundError:
            # Listed, then moved or deleted before it was read: still accounted for (and read again if it returns).
            entry.settle("ignored", "IN007")
            continue
        except OSError as exc:
            entry.settle("rejected", "IN008", detail=exc.strerror or type(exc).__name__)
            continue
        too_large = entry.size > reader.MAX_FILE_BYTES
        earlier = by_file.get((rel, entry.sha256))
        ignore_code = reader.ignorable(path.name)
        if earlier is not None:
            entry.known = True
            entry.audit_id = earlier.audit_id or ""
            if ignore_code:
                entry.settle("ignored", ignore_code)
            else:
                # Every unchanged file of the year is listed again on each run: its message is made once per
                # (date, outcome) rather than once per file.
                key = (str(earlier.seen_at)[:10], str(earlier.outcome))
                if key not in known_notes:
                    known_notes[key] = messages.text("IN100", date=key[0], outcome=key[1])
                entry.settle("duplicate", "IN100", note=known_notes[key])
            entry.data = None
            continue
        if ignore_code:
            entry.settle("ignored", ignore_code)
            entry.data = None
            continue
        if too_large:
            entry.settle("rejected", "IN006", found=_mb(entry.size), limit=_mb(reader.MAX_FILE_BYTES))
            continue
        first = by_bytes.get(entry.sha256)
        if first is not None:
            entry.settle("duplicate", "IN101", other=first.path, date=str(first.seen_at)[:10], outcome=first.outcome)
            entry.audit_id = first.audit_id or ""
            entry.data = None
        elif entry.sha256 in seen_here:
            entry.settle("duplicate", "IN101", other=seen_here[entry.sha256].rel, date="this run", outcome="")
            entry.message = f"Identical to {seen_here[entry.sha256].rel} (in this run)."
            entry.data = None
        else:
            seen_here[entry.sha256] = entry
    return entries


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def safe_traceback(exc: BaseException) -> str:
    """Frames and exception types only: library messages can carry whole cells of case text."""
    frames = "".join(
        f'  File "{f.filename}", line {f.lineno}, in {f.name}\n' for f in traceback.extract_tb(exc.__traceback__)
    )
    return f"Traceback (exception messages omitted):\n{frames}{type(exc).__module__}.{type(exc).__name__}"


def record_submissions(
    conn: Connection, run_id: int, inbox: str, filed_month: str, entries: Sequence[Entry], seen_at: str
) -> None:
    """One ``submissions`` row per new file (unchanged re-runs add nothing), and its ``problems`` rows."""
    new = [e for e in entries if not e.known]
    if not new:
        return
    conn.execute(
        sa.insert(reg.submissions),
        [
            dict(
                run_id=run_id,
                inbox=inbox,
                filed_month=filed_month,
                path=e.rel,
                sha256=e.sha256,
                size=e.size,
                mtime=e.mtime,
                outcome=e.outcome,
                audit_id=e.audit_id or None,
                codes=";".join(e.codes),
                message=e.message,
                seen_at=seen_at,
            )
            for e in new
        ],
    )
    ids = {
        row.path: row.id
        for row in conn.execute(
            sa.select(reg.submissions.c.id, reg.submissions.c.path).where(
                reg.submissions.c.run_id == run_id, reg.submissions.c.inbox == inbox
            )
        )
    }
    problem_rows = []
    for e in new:
        e.submission_id = ids[e.rel]
        for p in e.problems:
            problem_rows.append(
                dict(
                    submission_id=e.submission_id,
                    code=p.code,
                    severity=p.severity,
                    sheet=p.sheet,
                    cell=p.cell,
                    field=p.field,
                    label=p.label,
                    message=p.message,
                    fix=p.fix,
                    found=p.found[:500],
                )
            )
    if problem_rows:
        conn.execute(sa.insert(reg.problems), problem_rows)


def manifest_path(output_dir: Path, filed_month: str, inbox: str, timestamp: str) -> Path:
    """``manifest-<inbox>-YYYYMMDD-HHMMSS.csv``. Two runs within one second would share the name, and the later
    run's manifest would replace the earlier one's: the next free second is taken instead."""
    path = output_dir / filed_month / f"manifest-{inbox}-{timestamp}.csv"
    while path.exists():
        later = datetime.strptime(timestamp, "%Y%m%d-%H%M%S") + timedelta(seconds=1)
        timestamp = later.strftime("%Y%m%d-%H%M%S")
        path = output_dir / filed_month / f"manifest-{inbox}-{timestamp}.csv"
    return path


def manifest_bytes(entries: Iterable[Entry]) -> bytes:
    """The manifest: ``file,sha256,size,outcome,audit_id,codes,message``, one row per file."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(MANIFEST_HEADERS)
    for e in entries:
        # A cell that a spreadsheet would run as a formula is kept text by a leading apostrophe (CSV injection).
        writer.writerow(
            [_csv_text(e.rel), e.sha256, e.size, e.outcome, e.audit_id, ";".join(e.codes), _csv_text(e.message)]
        )
    return buffer.getvalue().encode("utf-8")


def _csv_text(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def counts(entries: Iterable[Entry]) -> dict[str, int]:
    found = dict.fromkeys(OUTCOMES, 0)
    for e in entries:
        found[e.outcome] = found.get(e.outcome, 0) + 1
    return found


def form_bytes(entry: Entry) -> bytes:
    """The file's bytes: held since it was listed, or read again (a large file)."""
    return entry.data if entry.data is not None else entry.path.read_bytes()


def open_form(entry: Entry, expected_kind: str, inbox: str) -> tuple[reader.Package, Any, dict[str, str]]:
    """The safety layer for any inbox: every file-level check, then the identity; refuses the wrong kind of form."""
    package, calamine, meta = reader.identify(form_bytes(entry))
    entry.audit_id = meta.get("audit_id", "")
    if meta.get("form_kind") != expected_kind:
        raise reader.Refused("IN021", found=meta.get("form_kind") or "unknown", inbox=inbox)
    return package, calamine, meta


# ---------------------------------------------------------------------------------------------------------------
# Audit forms
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class AuditBook:
    """What the audit check needs from the register and the configuration, read once per run."""

    framework: Framework
    layout: FormLayout
    settings: rules.Settings
    allocations: dict[str, Mapping[str, Any]]
    reallocated: dict[str, bool]
    known_versions: set[str]

    @classmethod
    def load(cls, conn: Connection, framework: Framework, validation: Mapping[str, Any]) -> AuditBook:
        allocations: dict[str, Mapping[str, Any]] = {
            row.audit_id: dict(row._mapping)
            for row in conn.execute(
                sa.select(
                    reg.allocations.c.audit_id,
                    reg.allocations.c.month,
                    reg.allocations.c.staff_id,
                    reg.allocations.c.case_ref,
                    reg.allocations.c.due_date,
                    reg.allocations.c.status,
                    reg.allocations.c.framework_version,
                    reg.allocations.c.prefilled,
                )
            )
        }
        versions = {framework.version} | {str(a["framework_version"]) for a in allocations.values()}
        # Allocation notes each audit whose case was re-allocated within a month, the previous worker still with
        # the authority (guidance section 2: a three-way meeting is advised).
        notes = reg.allocation_notes
        three_way = {
            row[0] for row in conn.execute(sa.select(notes.c.audit_id).where(notes.c.kind == "three_way")) if row[0]
        }
        reallocated = {k: k in three_way for k in allocations}
        return cls(
            framework=framework,
            layout=audit_layout(framework),
            settings=rules.Settings.from_config(validation),
            allocations=allocations,
            reallocated=reallocated,
            known_versions=versions,
        )


@dataclass
class AuditCheck:
    """One audit form after checking: the register's allocation, the answers as stored, and what to raise."""

    allocation: Mapping[str, Any]
    answers: dict[str, Any]
    section_grades: list[tuple[int, str | None]]
    overall_grade: str | None
    date_completed: date | None
    late: bool
    safeguarding: bool
    errors: int
    warnings: int
    reallocated: bool = False

    @property
    def month(self) -> str:
        return str(self.allocation["month"])

    @property
    def case_ref(self) -> str:
        return str(self.allocation["case_ref"])


def check_audit(entry: Entry, book: AuditBook, inbox: str = "audits") -> None:
    """Settle one pending audit file: rejected (not a safe, known form), returned (errors) or accepted."""
    try:
        package, calamine, meta = open_form(entry, "audit", inbox)
        version = meta.get("framework_version", "")
        if version not in book.known_versions:
            raise reader.Refused("IN022", found=version or "none")
        allocation = book.allocations.get(entry.audit_id)
        if allocation is None:
            raise reader.Refused("IN023", found=entry.audit_id or "none")
        if allocation["status"] != "allocated":
            raise reader.Refused("IN024", found=entry.audit_id, status=allocation["status"])
        form = reader.read_values(package, calamine, book.layout, meta)
    except reader.Refused as refused:
        entry.settle("rejected", refused.code, note=messages.text(refused.code, **refused.params))
        entry.data = None
        return
    entry.problems = _prefilled_changes(form.values, allocation, book.layout, entry.rel)
    values = dict(form.values)
    values.update(allocation["prefilled"] or {})  # the register's pre-filled values are the truth
    view = rules.FormView(
        values=values,
        actions_table=form.tables["actions"],
        layout=book.layout,
        framework=book.framework,
        settings=book.settings,
        due_date=allocation["due_date"],
        reallocated=book.reallocated.get(entry.audit_id, False),
        file=entry.rel,
    )
    entry.problems += rules.validate(view)
    entry.check = _summarise(view, allocation, entry.problems)
    entry.check.reallocated = view.reallocated
    errors = [p for p in entry.problems if p.severity == "error"]
    entry.codes = list(dict.fromkeys(p.code for p in entry.problems))
    if errors:
        # The note goes to the manifest: it names where the first error is, never what the form says there (the
        # problem's own message may quote the answer; the feedback and the QA workbook carry that).
        first = errors[0]
        place = first.label or first.field or first.cell or "the form"
        entry.settle("returned", note=f"{len(errors)} error(s) to correct; the first: {place} ({first.code}).")
        entry.data = None
    else:
        warnings = len(entry.problems)
        entry.settle("accepted", note=f"Accepted with {warnings} point(s) to check." if warnings else "Accepted.")


def check_audit_safely(entry: Entry, book: AuditBook, inbox: str = "audits") -> None:
    """One bad file never stops the batch: an unexpected failure is this file's 'rejected: internal error'."""
    try:
        check_audit(entry, book, inbox)
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - any failure in one file (even a Rust panic) is that file's only
        log.error("internal error reading %s\n%s", entry.rel, safe_traceback(exc))
        entry.problems = []
        entry.check = None
        entry.data = None
        entry.codes = []
        entry.settle("rejected", "IN090", note="rejected: internal error. " + messages.text("IN090"))


PARALLEL_FROM = 100  # below this many files, starting worker processes costs more than it saves
_WORKER_BOOK: AuditBook | None = None


def check_audits(entries: Sequence[Entry], book: AuditBook, inbox: str = "audits", workers: int | None = None) -> None:
    """Check every pending audit file; with many files, on two worker processes (the machine's two cores).

    The archive pre-checks make python-calamine safe in-process (field notes), so the workers are for speed only.
    Workers are forked after ``book`` is loaded, so they share it without copying; each returns only its results.
    If the pool fails for any reason, the files it did not finish are checked here, one by one.
    """
    pending = [e for e in entries if e.pending]
    workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    done = 0
    if workers > 1 and len(pending) >= PARALLEL_FROM and "fork" in multiprocessing.get_all_start_methods():
        global _WORKER_BOOK
        _WORKER_BOOK = book
        try:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                jobs = ((e.rel, e.data, inbox, str(e.path)) for e in pending)
                for entry, outcome in zip(pending, pool.imap(_check_in_worker, jobs, chunksize=25), strict=False):
                    _apply(entry, outcome)
                    done += 1
        except Exception as exc:  # noqa: BLE001 - a failed pool falls back to checking here
            log.error("worker pool failed after %d files; checking the rest here\n%s", done, safe_traceback(exc))
        finally:
            _WORKER_BOOK = None
    for entry in pending[done:]:
        check_audit_safely(entry, book, inbox)


def _check_in_worker(job: tuple[str, bytes | None, str, str]) -> tuple[Any, ...]:
    rel, data, inbox, path = job
    assert _WORKER_BOOK is not None
    entry = Entry(path=Path(path), rel=rel, size=len(data or b""), mtime=0.0, data=data)
    check_audit_safely(entry, _WORKER_BOOK, inbox)
    return (entry.outcome, entry.audit_id, entry.codes, entry.message, entry.problems, entry.check, entry.data is None)


def _apply(entry: Entry, outcome: tuple[Any, ...]) -> None:
    entry.outcome, entry.audit_id, entry.codes, entry.message, entry.problems, entry.check, dropped = outcome
    if dropped:
        entry.data = None


def _prefilled_changes(
    values: Mapping[str, Any], allocation: Mapping[str, Any], layout: FormLayout, file: str
) -> list[Problem]:
    problems = []
    truth = allocation["prefilled"] or {}
    for name, spec in layout.fields.items():
        if not spec.prefilled or name not in truth:
            continue
        found = rules.to_text(values.get(name))
        expected = rules.to_text(truth.get(name))
        if spec.kind == "date":
            found_date = rules.safe_date(values.get(name))
            found = found_date.isoformat() if found_date else found
        if found != expected:
            problems.append(
                messages.problem(
                    "IN030",
                    found=found,
                    file=file,
                    sheet=spec.sheet,
                    cell=spec.cell,
                    field=name,
                    label=spec.label,
                    expected=expected,
                )
            )
    return problems


def _summarise(view: rules.FormView, allocation: Mapping[str, Any], problems: Sequence[Problem]) -> AuditCheck:
    """The answers in the register's contract: grades canonical, dates ISO, actions as [action, owner, due]."""
    layout = view.layout
    answers: dict[str, Any] = {}
    for name, spec in layout.fields.items():
        raw = view.raw(name)
        if spec.kind == "grade":
            answers[name] = _grade_name(view, name)
        elif spec.kind == "date":
            parsed = rules.safe_date(raw)
            answers[name] = parsed.isoformat() if parsed else (rules.to_text(raw) or None)
        elif spec.kind == "choice":
            text = rules.to_text(raw)
            answers[name] = next((c for c in spec.choices if c.casefold() == text.casefold()), text) or None
        else:
            answers[name] = raw if isinstance(raw, str) else (rules.to_text(raw) or None)
    answers["actions"] = [
        [rules.to_text(a.action), rules.to_text(a.owner), _iso(a.due)]
        for a in view.actions()
        if rules.to_text(a.action)
    ]
    completed = rules.safe_date(view.raw("date_completed"))
    due = allocation["due_date"]
    sections = [(s.number, answers.get(f"{s.key}_grade")) for s in view.framework.sections]
    return AuditCheck(
        allocation=allocation,
        answers=answers,
        section_grades=sections,
        overall_grade=answers.get("overall_grade"),
        date_completed=completed,
        late=bool(completed and due and completed > due),
        safeguarding=view.text("safeguarding_concern").casefold() == "yes",
        errors=sum(1 for p in problems if p.severity == "error"),
        warnings=sum(1 for p in problems if p.severity == "warning"),
    )


def _grade_name(view: rules.FormView, name: str) -> str | None:
    try:
        grade = view.grade(name)
    except GradeParseError:
        return None
    return grade.name if grade else None


def _iso(value: Any) -> str | None:
    parsed = rules.safe_date(value)
    return parsed.isoformat() if parsed else (rules.to_text(value) or None)


# ---------------------------------------------------------------------------------------------------------------
# Versions: which accepted submission of an audit stands
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class Standing:
    """The accepted version of one audit currently in the register."""

    audit_row_id: int
    submission_id: int
    path: str
    date_completed: date | None
    mtime: float
    replaced_by: str = ""  # set when a newer accepted version supersedes it


def standing_versions(conn: Connection, audit_ids: Iterable[str]) -> dict[str, Standing]:
    ids = sorted(set(audit_ids))
    found: dict[str, Standing] = {}
    for chunk in reg.chunks(ids):
        rows = conn.execute(
            sa.select(
                reg.audits.c.id,
                reg.audits.c.audit_id,
                reg.audits.c.submission_id,
                reg.audits.c.date_completed,
                reg.submissions.c.path,
                reg.submissions.c.mtime,
            )
            .join(reg.submissions, reg.submissions.c.id == reg.audits.c.submission_id)
            .where(reg.audits.c.current.is_(True), reg.audits.c.audit_id.in_(chunk))
        ).all()
        for row in rows:
            found[row.audit_id] = Standing(row.id, row.submission_id, row.path, row.date_completed, row.mtime or 0.0)
    return found


def _order_key(completed: date | None, mtime: float, name: str) -> tuple[date, float, str]:
    # Oldest first: earlier date completed, then earlier file modification time, then file name.
    return (completed or date.min, mtime, name)


def settle_versions(entries: Sequence[Entry], standing: Mapping[str, Standing]) -> list[Standing]:
    """Decide superseding among this run's accepted files and the register's standing versions.

    Each accepted version supersedes the one accepted before it (oldest first, in one run or across runs); a returned
    file supersedes nothing and is told which version stands. Returns the standing versions now superseded.
    """
    by_audit: dict[str, list[Entry]] = {}
    for e in entries:
        if e.outcome == "accepted" and e.check is not None:
            by_audit.setdefault(e.audit_id, []).append(e)
    displaced: list[Standing] = []
    for audit_id, group in by_audit.items():
        old = standing.get(audit_id)
        versions: list[tuple[tuple[date, float, str], Entry | Standing]] = [
            (_order_key(e.check.date_completed if e.check else None, e.mtime, e.rel), e) for e in group
        ]
        if old is not None:
            versions.append((_order_key(old.date_completed, old.mtime, old.path), old))
        versions.sort(key=lambda item: item[0])
        for (_, earlier), (_, later) in itertools.pairwise(versions):
            later_name = later.rel if isinstance(later, Entry) else later.path
            earlier_name = earlier.rel if isinstance(earlier, Entry) else earlier.path
            if isinstance(earlier, Entry):
                earlier.outcome = "superseded"
                earlier.codes.append("IN103")
                earlier.message = messages.text("IN103", other=later_name)
            else:
                earlier.replaced_by = later_name
                displaced.append(earlier)
            if isinstance(later, Entry):
                later.codes.append("IN102")
                later.message = (later.message + " " + messages.text("IN102", other=earlier_name)).strip()
    for e in entries:
        if e.outcome == "returned" and e.audit_id in standing:
            e.codes.append("IN104")
            e.standing = standing[e.audit_id].path
            e.message += " " + messages.text("IN104", other=e.standing)
    return displaced


def record_audits(
    conn: Connection, entries: Sequence[Entry], displaced: Sequence[Standing], accepted_at: str
) -> dict[int, int]:
    """Append ``audits`` rows (and ``section_grades``) for every accepted or superseded new version; mark displaced
    standing versions not current. Returns submission ID -> audit row ID."""
    if displaced:
        conn.execute(
            sa.update(reg.audits).where(reg.audits.c.id.in_([d.audit_row_id for d in displaced])).values(current=False)
        )
        for d in displaced:
            conn.execute(
                sa.update(reg.submissions)
                .where(reg.submissions.c.id == d.submission_id)
                .values(outcome="superseded", message=messages.text("IN103", other=d.replaced_by or "a newer version"))
            )
    versions = [e for e in entries if e.outcome in ("accepted", "superseded") and e.check and not e.known]
    if not versions:
        return {}
    conn.execute(
        sa.insert(reg.audits),
        [
            dict(
                audit_id=e.audit_id,
                submission_id=e.submission_id,
                month=e.check.month,
                date_completed=e.check.date_completed,
                late=e.check.late,
                overall_grade=e.check.overall_grade,
                answers=e.check.answers,
                current=e.outcome == "accepted",
                accepted_at=accepted_at,
            )
            for e in versions
            if e.check is not None
        ],
    )
    submission_ids = [e.submission_id for e in versions]
    rows = conn.execute(
        sa.select(reg.audits.c.id, reg.audits.c.submission_id).where(reg.audits.c.submission_id.in_(submission_ids))
    ).all()
    row_ids = {r.submission_id: r.id for r in rows}
    grade_rows = [
        dict(audit_row_id=row_ids[e.submission_id], section=n, grade=g, source="auditor")
        for e in versions
        if e.check is not None and e.submission_id is not None
        for n, g in e.check.section_grades
    ]
    if grade_rows:
        conn.execute(sa.insert(reg.section_grades), grade_rows)
    return row_ids


__all__ = [
    "MANIFEST_HEADERS",
    "OUTCOMES",
    "AuditBook",
    "AuditCheck",
    "Entry",
    "check_audit",
    "check_audit_safely",
    "check_audits",
    "counts",
    "form_bytes",
    "gather",
    "list_files",
    "manifest_bytes",
    "manifest_path",
    "open_form",
    "record_audits",
    "record_submissions",
    "settle_versions",
    "standing_versions",
]
