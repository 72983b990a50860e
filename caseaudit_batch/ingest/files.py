"""Ingest's file accounting, shared by the audits, moderation and actions inboxes: every file in an inbox listed,
read safely and accounted for with exactly one outcome.

:func:`gather` lists every file and settles lock files, unchanged re-runs (the register's first sightings) and
identical copies; :func:`open_form` is the safety layer every form passes before it is read; each file is recorded
once in the register's ``submissions`` and ``problems`` (:func:`record_submissions`) and in the run's manifest
(:func:`manifest_bytes`). An :class:`Entry` carries, for an audit form, its :class:`AuditCheck` (made by
:mod:`caseaudit_batch.ingest.record`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from caseaudit_batch.core import messages
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.messages import Problem
from caseaudit_batch.core.outputs import csv_text
from caseaudit_batch.retention.register import PURGED, Purges
from caseaudit_batch.workbook import reader
from caseaudit_batch.workbook.layout import READABLE_GENERATORS

OUTCOMES = ("accepted", "returned", "superseded", "duplicate", "rejected", "ignored")
MANIFEST_HEADERS = ("file", "sha256", "size", "outcome", "audit_id", "codes", "message")
NEW_FILE_PROBLEMS = ("rejected", "returned")
READ_WHOLE = 1024 * 1024  # files up to this size are hashed in one read; larger ones in chunks


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
    feedback: bytes | None = None  # the feedback workbook, when the worker that checked the form made it
    drafted: dict[str, Any] = field(default_factory=dict)  # notices the worker made (ingest.notices.Draft, by kind)

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

    @property
    def audit_ref(self) -> str:
        """The readable audit reference people see (the audit ID where a register row predates them)."""
        return str(self.allocation.get("audit_ref") or self.allocation["audit_id"])


#: Codes for what an inbox may hold besides regular files: each is listed in the manifest as "ignored", with why.
LINK, SPECIAL = "IN017", "IN018"


def list_files(folder: Path, skipped: list[tuple[Path, str]] | None = None) -> list[Path]:
    """Every file under ``folder``, recursively, in a stable order (symbolic links are not followed).

    ``os.scandir`` tells files from folders and links without a system call per file: a year's inbox holds a few
    thousand files and every daily run lists them all. A folder that cannot be read is passed over, as
    ``Path.rglob`` does. Symbolic links and anything that is not a regular file (a pipe, a device) are never read;
    with ``skipped``, they are added to it with their code, so that the manifest lists them too."""
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
                    elif skipped is not None:
                        skipped.append((Path(entry.path), LINK if entry.is_symlink() else SPECIAL))
        except (PermissionError, FileNotFoundError, NotADirectoryError):
            continue
    if skipped is not None:
        skipped.sort(key=lambda item: item[0].as_posix().casefold())
    return sorted(found, key=lambda p: p.as_posix().casefold())


def shown_name(rel: str) -> str:
    """A file name as it can be stored and shown: a name that is not valid text (bytes from a zip made on Windows,
    read back as lone surrogates) has those bytes written as backslash escapes, e.g. ``R\\x82sum\\x82.xlsx``."""
    try:
        rel.encode("utf-8")  # fails exactly when the name holds a lone surrogate (checked in C, not per character)
    except UnicodeEncodeError:
        return os.fsencode(rel).decode("utf-8", "backslashreplace")
    return rel


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
            reg.submissions.c.codes,
            reg.submissions.c.message,
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
    return list(gather_each(conn, inbox, folder, files))


def gather_each(
    conn: Connection | None, inbox: str, folder: Path, files: Sequence[Path] | None = None
) -> Iterator[Entry]:
    """:func:`gather`, one file at a time, in the listing's order: each entry is given once what this can tell of it
    is settled (pending, or its outcome), so that a stage can begin checking the first files while the rest are
    still read and hashed (issue 25: ingest's workers start on a month's forms while it is still being listed)."""
    by_file, by_bytes, by_stat = _first_seen(conn, inbox) if conn is not None else ({}, {}, {})
    seen_here: dict[str, Entry] = {}
    resolved_folder = folder.resolve()
    prefix = os.path.join(str(folder), "")  # the folder with its trailing separator
    known_notes: dict[tuple[str, str], str] = {}
    skipped: list[tuple[Path, str]] = []
    listed = files if files is not None else list_files(folder, skipped)
    if skipped:  # links and pipes take their place in the listing's order, each with its reason
        links = dict(skipped)
        listed = sorted([*listed, *links], key=lambda p: p.as_posix().casefold())
    else:
        links = {}
    for path in listed:
        if path in links:
            entry = Entry(path=path, rel=shown_name(_relative(path, folder, prefix)), size=0, mtime=0.0)
            entry.known = (entry.rel, "") in by_file  # listed on an earlier run: in the manifest, not recorded again
            entry.settle("ignored", links[path])
            yield entry
            continue
        yield _account(path, folder, prefix, resolved_folder, by_file, by_bytes, by_stat, seen_here, known_notes)


def _account(
    path: Path,
    folder: Path,
    prefix: str,
    resolved_folder: Path,
    by_file: Mapping[tuple[str, str], Any],
    by_bytes: Mapping[str, Any],
    by_stat: Mapping[tuple[str, int, float], str],
    seen_here: dict[str, Entry],
    known_notes: dict[tuple[str, str], str],
) -> Entry:
    """One regular file of :func:`gather_each`, hashed and settled as far as the listing can settle it."""
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
    bad_name = shown_name(rel) != rel
    rel = shown_name(rel)  # stored and shown as valid text: the register refuses lone surrogates
    entry = Entry(path=path, rel=rel, size=0, mtime=0.0)
    try:
        stat = path.stat()
        entry.size, entry.mtime = stat.st_size, stat.st_mtime
        unchanged = by_stat.get((rel, stat.st_size, stat.st_mtime))
        if unchanged is not None and (rel, unchanged) in by_file:
            # The same path, size and modification time (to a microsecond) as a file already read: its bytes
            # are the ones recorded then. A month's inbox keeps every earlier file, and reading them all again
            # on each daily run would grow with the year.
            entry.sha256 = unchanged
        elif stat.st_size > READ_WHOLE:
            entry.sha256 = _hash_file(path)
        else:
            # Read to be hashed, and not held: the form is read again where it is checked (a worker process),
            # and form_bytes makes sure it is still these bytes. Held, a 5,000-form month's files were 110 MB of
            # the listing process for the whole run (issue 25).
            data = path.read_bytes()
            entry.size = len(data)
            entry.sha256 = hashlib.sha256(data).hexdigest()
    except FileNotFoundError:
        # Listed, then moved or deleted before it was read: still accounted for (and read again if it returns).
        entry.settle("ignored", "IN007")
        return entry
    except OSError as exc:
        entry.settle("rejected", "IN008", detail=exc.strerror or type(exc).__name__)
        return entry
    too_large = entry.size > reader.MAX_FILE_BYTES
    earlier = by_file.get((rel, entry.sha256))
    ignore_code = reader.ignorable(path.name)
    if earlier is not None:
        entry.known = True
        entry.audit_id = earlier.audit_id or ""
        if ignore_code:
            entry.settle("ignored", ignore_code)
        elif earlier.outcome == "ignored" and PURGED in str(earlier.codes or ""):
            entry.settle("ignored", PURGED, note=earlier.message)  # a purged month's form: still not read
        else:
            # Every unchanged file of the year is listed again on each run: its message is made once per
            # (date, outcome) rather than once per file.
            key = (str(earlier.seen_at)[:10], str(earlier.outcome))
            if key not in known_notes:
                known_notes[key] = messages.text("IN100", date=key[0], outcome=key[1])
            entry.settle("duplicate", "IN100", note=known_notes[key])
        return entry
    if ignore_code:
        entry.settle("ignored", ignore_code)
    elif bad_name:
        # Not valid text (a zip made on Windows, unpacked here): its own outcome, never the batch's end.
        entry.settle("rejected", "IN019", name=rel)
    elif too_large:
        entry.settle("rejected", "IN006", found=_mb(entry.size), limit=_mb(reader.MAX_FILE_BYTES))
    elif (first := by_bytes.get(entry.sha256)) is not None:
        entry.settle("duplicate", "IN101", other=first.path, date=str(first.seen_at)[:10], outcome=first.outcome)
        entry.audit_id = first.audit_id or ""
    elif entry.sha256 in seen_here:
        entry.settle("duplicate", "IN101", note=messages.text("IN105", other=seen_here[entry.sha256].rel))
    else:
        seen_here[entry.sha256] = entry
    return entry


def _relative(path: Path, folder: Path, prefix: str) -> str:
    text = str(path)
    if text.startswith(prefix) and ".." not in path.parts:
        return text[len(prefix) :].replace(os.sep, "/")
    try:
        return path.relative_to(folder).as_posix()
    except ValueError:
        return path.as_posix()


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


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
            [csv_text(e.rel), e.sha256, e.size, e.outcome, e.audit_id, ";".join(e.codes), csv_text(e.message)]
        )
    return buffer.getvalue().encode("utf-8")


def counts(entries: Iterable[Entry]) -> dict[str, int]:
    found = dict.fromkeys(OUTCOMES, 0)
    for e in entries:
        found[e.outcome] = found.get(e.outcome, 0) + 1
    return found


class Gone(reader.Refused):
    """The file went (``IN007``) or changed (``IN009``) between its listing and its reading: ``ignored``, since what
    was listed cannot be read; the next run reads whatever is there then."""

    outcome = "ignored"


def form_bytes(entry: Entry) -> bytes:
    """The file's bytes: held since they were read for checking, or read now; always the bytes it was listed with
    (their hash is the one recorded), else :class:`Gone`, or ``IN008`` when the file cannot be read."""
    if entry.data is not None:
        return entry.data
    try:
        data = entry.path.read_bytes()
    except FileNotFoundError:
        gone = Gone("IN007")
    except OSError as exc:
        raise reader.Refused("IN008", detail=exc.strerror or type(exc).__name__) from None
    else:
        if not entry.sha256 or hashlib.sha256(data).hexdigest() == entry.sha256:
            return data
        gone = Gone("IN009")
    # Recorded as a file that was never read, as gather records one gone before it was hashed: no hash or time for a
    # later run to take for this file's, so the next run reads whatever is there then (the same bytes again included).
    entry.sha256, entry.mtime = "", 0.0
    raise gone


def ignored_as_purged(entry: Entry, month: str, purges: Purges) -> bool:
    """A form whose own month (its ``_meta`` month, ``YYYY-MM``) was purged from the register: ``ignored``, not
    read further and not rejected; it names no audit, since the register keeps none of that month."""
    day = purges.purged_on(month)
    if day is None:
        return False
    entry.audit_id = ""
    entry.problems = []
    entry.codes = []
    entry.settle("ignored", PURGED, month=month, date=day)
    entry.data = None
    return True


def open_form(entry: Entry, expected_kind: str, inbox: str) -> tuple[reader.Package, Any, dict[str, str]]:
    """The safety layer for any inbox: every file-level check, then the identity; refuses the wrong kind of form."""
    entry.data = form_bytes(entry)  # held while the form is checked and its notices made; let go after
    package, calamine, meta = reader.identify(entry.data)
    entry.audit_id = meta.get("audit_id", "")
    if meta.get("form_kind") != expected_kind:
        raise reader.Refused("IN021", found=meta.get("form_kind") or "unknown", inbox=inbox)
    if meta.get("generator_version") not in READABLE_GENERATORS:
        raise reader.Refused("IN027", found=meta.get("generator_version") or "none")
    return package, calamine, meta


__all__ = [
    "MANIFEST_HEADERS",
    "OUTCOMES",
    "AuditCheck",
    "Entry",
    "Gone",
    "counts",
    "form_bytes",
    "gather",
    "ignored_as_purged",
    "list_files",
    "manifest_bytes",
    "manifest_path",
    "open_form",
    "record_submissions",
]
