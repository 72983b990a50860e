"""The register: SQLAlchemy Core schema, migrations, the single-writer lock and transactions.

SQLite (WAL mode) by default; any SQLAlchemy URL works. Each command that writes runs in one transaction, so a
process killed part-way leaves the register exactly as it was before the command.

The tables below are the schema at the newest version (``SCHEMA_VERSION``); every change to them also adds a
numbered step in ``migrations.py``, which brings an older register up to date.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from caseaudit_batch.core import ids, migrations
from caseaudit_batch.core.backend import register_failure, safe_url, server_url, sqlite_path, try_flock
from caseaudit_batch.core.errors import LockBusy, RegisterError

__all__ = ["register_failure", "safe_url", "server_url", "sqlite_path"]  # re-exported: callers know them from here

SCHEMA_VERSION = migrations.latest()
REGISTER_FILE_MODE = 0o660  # owner and group only
#: The key of PostgreSQL's advisory lock for the single writer (one register per database).
ADVISORY_LOCK_KEY = 4242017

metadata = sa.MetaData()


def _json() -> sa.JSON:
    return sa.JSON(none_as_null=True)


T = TypeVar("T")

#: SQLite allows at most 999 parameters in one statement (older builds): lists for ``IN (...)`` go in chunks.
CHUNK = 900


def chunks(values: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """``values`` in slices small enough for one statement's ``IN (...)``."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


schema_version = sa.Table("schema_version", metadata, sa.Column("version", sa.Integer, nullable=False))

# People and cases as last loaded (loaded again each allocation; history is kept in allocations' snapshots).
staff = sa.Table(
    "staff",
    metadata,
    sa.Column("staff_id", sa.String, primary_key=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("email", sa.String),
    sa.Column("role", sa.String, nullable=False),
    sa.Column("team", sa.String),
    sa.Column("service", sa.String),
    sa.Column("line_manager_id", sa.String),
    sa.Column("audit_status", sa.String, nullable=False, server_default="Active"),
    sa.Column("paused_until", sa.Date),
    sa.Column("pause_reason", sa.String),
    sa.Column("loaded_at", sa.String),
)

cases = sa.Table(
    "cases",
    metadata,
    sa.Column("case_ref", sa.String, primary_key=True),
    sa.Column("case_type", sa.String),
    sa.Column("service", sa.String),
    sa.Column("team", sa.String),
    sa.Column("social_worker_id", sa.String),
    sa.Column("team_manager_id", sa.String),
    sa.Column("allocated_on", sa.Date),
    sa.Column("previous_worker_id", sa.String),
    sa.Column("cp_iro_id", sa.String),
    sa.Column("opened_on", sa.Date),
    sa.Column("open", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("loaded_at", sa.String),
)

# One row per allocation made (an audit ID). `prefilled` holds every pre-filled form value as the register's
# truth; ingest compares the form against it.
allocations = sa.Table(
    "allocations",
    metadata,
    sa.Column("audit_id", sa.String, primary_key=True),
    sa.Column("month", sa.String, nullable=False, index=True),
    sa.Column("staff_id", sa.String, nullable=False, index=True),
    sa.Column("case_ref", sa.String, nullable=False, index=True),
    sa.Column("due_date", sa.Date, nullable=False),
    sa.Column("kind", sa.String, nullable=False, server_default="audit"),  # audit | followup
    sa.Column("followup_of", sa.String),
    sa.Column("status", sa.String, nullable=False, server_default="allocated"),  # allocated | withdrawn | replaced
    sa.Column("status_reason", sa.String),
    sa.Column("framework_version", sa.String, nullable=False),
    sa.Column("prefilled", _json(), nullable=False),
    sa.Column("form_file", sa.String),
    sa.Column("batch_id", sa.Integer),
    sa.Column("created_at", sa.String, nullable=False),
    # The readable audit reference, YYYY-MM-NNNN (migration step 4): what people read and type; audit_id stays the
    # machine identity.
    sa.Column("audit_ref", sa.String),
    sa.Index("ix_allocations_month_status", "month", "status"),  # migration step 2
    sa.Index("ux_allocations_audit_ref", "audit_ref", unique=True),  # migration step 4
)

allocation_batches = sa.Table(
    "allocation_batches",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("month", sa.String, nullable=False, index=True),
    sa.Column("status", sa.String, nullable=False, server_default="current"),  # current | replaced
    sa.Column("summary", _json()),
    sa.Column("created_at", sa.String, nullable=False),
)

# Exemptions, auditors left without a case, and manual overrides: every one kept and shown.
allocation_notes = sa.Table(
    "allocation_notes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("batch_id", sa.Integer),
    sa.Column("month", sa.String, nullable=False, index=True),
    sa.Column("kind", sa.String, nullable=False),  # exempt | unallocated | override | reassign | passed_over
    sa.Column("staff_id", sa.String),
    sa.Column("audit_id", sa.String),
    sa.Column("detail", sa.String),
    sa.Column("created_at", sa.String, nullable=False),
)

# Every file ever seen in an inbox, with its one outcome.
submissions = sa.Table(
    "submissions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer, index=True),
    sa.Column("inbox", sa.String, nullable=False),  # audits | moderation | actions
    sa.Column("filed_month", sa.String, nullable=False, index=True),
    sa.Column("path", sa.String, nullable=False),
    sa.Column("sha256", sa.String, nullable=False, index=True),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("mtime", sa.Float),
    sa.Column("outcome", sa.String, nullable=False),
    sa.Column("audit_id", sa.String, index=True),
    sa.Column("codes", sa.String, nullable=False, server_default=""),
    sa.Column("message", sa.String, nullable=False, server_default=""),
    sa.Column("seen_at", sa.String, nullable=False),
)

# Problems found in a submission (the validation report as data).
problems = sa.Table(
    "problems",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("submission_id", sa.Integer, nullable=False, index=True),
    sa.Column("code", sa.String, nullable=False),
    sa.Column("severity", sa.String, nullable=False),
    sa.Column("sheet", sa.String),
    sa.Column("cell", sa.String),
    sa.Column("field", sa.String),
    sa.Column("label", sa.String),
    sa.Column("message", sa.String, nullable=False),
    sa.Column("fix", sa.String),
    sa.Column("found", sa.String),  # what the form said (shown to the auditor and QA; never logged)
)

# Accepted audit versions, append-only: a newer accepted version supersedes, never overwrites.
audits = sa.Table(
    "audits",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("audit_id", sa.String, nullable=False, index=True),
    sa.Column("submission_id", sa.Integer, nullable=False),
    sa.Column("month", sa.String, nullable=False, index=True),
    sa.Column("date_completed", sa.Date),
    sa.Column("late", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("overall_grade", sa.String),
    sa.Column("answers", _json(), nullable=False),
    sa.Column("current", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("accepted_at", sa.String, nullable=False),
)

section_grades = sa.Table(
    "section_grades",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("audit_row_id", sa.Integer, nullable=False, index=True),
    sa.Column("section", sa.Integer, nullable=False),
    sa.Column("grade", sa.String),
    sa.Column("source", sa.String, nullable=False, server_default="auditor"),  # auditor | moderator
    sa.Column("moderation_row_id", sa.Integer, index=True),  # source moderator: the moderations row they belong to
)

# The action register (issue 7): one row per action, its current state; every change is kept in action_updates.
actions = sa.Table(
    "actions",
    metadata,
    sa.Column("action_id", sa.String, primary_key=True),
    sa.Column("audit_id", sa.String, index=True),
    sa.Column("source", sa.String, nullable=False),  # audit | moderation | supervision
    sa.Column("month", sa.String, index=True),  # the audit's allocation month (supervision: the tracker's month)
    sa.Column("seq", sa.Integer, nullable=False, server_default="0"),  # position in the audit's actions table
    sa.Column("text", sa.String, nullable=False),
    sa.Column("norm_text", sa.String, nullable=False),
    sa.Column("owner", sa.String),
    sa.Column("due_date", sa.Date),
    sa.Column("case_ref", sa.String, index=True),
    sa.Column("service", sa.String),
    sa.Column("team", sa.String),
    sa.Column("team_manager", sa.String),  # the case's team manager, by name (as shown on trackers)
    sa.Column("team_manager_id", sa.String),
    sa.Column("service_manager_id", sa.String, index=True),  # the team manager's line manager
    sa.Column("status", sa.String, nullable=False, server_default="Open"),  # Open | Completed | No longer required
    sa.Column("status_reason", sa.String),  # e.g. "replaced" when a resubmitted audit dropped the action
    sa.Column("completed_on", sa.Date),
    sa.Column("signed_off", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("supervision_on", sa.Date),  # the latest "Discussed in supervision on"
    sa.Column("state_on", sa.Date),  # the date of the update that set the current state (conflicts: later wins)
    sa.Column("state_submission_id", sa.Integer),  # the returned tracker that set it (none: set at creation)
    sa.Column("created_at", sa.String, nullable=False),
    sa.Column("updated_at", sa.String),
)

action_updates = sa.Table(
    "action_updates",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("action_id", sa.String, nullable=False, index=True),
    sa.Column("kind", sa.String, nullable=False, server_default="update"),  # created | changed | replaced | update
    sa.Column("on_date", sa.Date),
    sa.Column("status", sa.String),
    sa.Column("completed_on", sa.Date),
    sa.Column("note", sa.String),
    sa.Column("supervision_on", sa.Date),
    sa.Column("signed_off", sa.Boolean),
    sa.Column("applied", sa.Boolean, nullable=False, server_default=sa.true()),  # false: lost a conflict
    sa.Column("source", sa.String),  # audit | moderation | tracker
    sa.Column("source_file", sa.String),
    sa.Column("submission_id", sa.Integer),
    sa.Column("recorded_at", sa.String, nullable=False),
)

# Which accepted version of each audit's (and moderation's) form the action register was last brought in line with.
action_sources = sa.Table(
    "action_sources",
    metadata,
    sa.Column("audit_id", sa.String, primary_key=True),
    sa.Column("source", sa.String, primary_key=True),  # audit | moderation
    sa.Column("submission_id", sa.Integer),
    sa.Column("synced_at", sa.String, nullable=False),
)

# Each action tracker made: whose it is, and the state of every action it listed (the baseline a returned tracker's
# changes are measured against, so that two copies of one tracker can be told apart from a later tracker).
action_trackers = sa.Table(
    "action_trackers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("month", sa.String, nullable=False, index=True),
    sa.Column("service_manager_id", sa.String, nullable=False, index=True),
    sa.Column("file", sa.String),
    sa.Column("made_on", sa.Date, nullable=False),
    sa.Column("baseline", _json(), nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),  # rows of its ``tracker`` table (listed actions + blank rows)
    sa.Column("run_id", sa.Integer),
    sa.Column("created_at", sa.String, nullable=False),
)

moderation_sample = sa.Table(
    "moderation_sample",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("month", sa.String, nullable=False, index=True),
    sa.Column("audit_id", sa.String, nullable=False, index=True),
    sa.Column("reason", sa.String, nullable=False),
    sa.Column("moderator_id", sa.String),
    sa.Column("due_date", sa.Date),
    sa.Column("status", sa.String, nullable=False, server_default="sampled"),  # sampled | removed
    sa.Column("form_file", sa.String),
    sa.Column("created_at", sa.String, nullable=False),
)

# Every change to a month's moderation sample (drawn, added, removed), who made it and when: nothing is lost.
moderation_changes = sa.Table(
    "moderation_changes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("month", sa.String, nullable=False, index=True),
    sa.Column("audit_id", sa.String, nullable=False, index=True),
    sa.Column("change", sa.String, nullable=False),  # drawn | added | removed | reassigned
    sa.Column("reason", sa.String),
    sa.Column("user", sa.String),
    sa.Column("run_id", sa.Integer),
    sa.Column("changed_at", sa.String, nullable=False),
)

moderations = sa.Table(
    "moderations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("audit_id", sa.String, nullable=False, index=True),
    sa.Column("audit_row_id", sa.Integer),  # the audits row (auditor's version) that was moderated
    sa.Column("submission_id", sa.Integer, nullable=False),
    sa.Column("moderator_id", sa.String),
    sa.Column("moderation_date", sa.Date),
    sa.Column("grade_agreed", sa.Boolean),
    sa.Column("actions_agreed", sa.Boolean),
    sa.Column("overall_grade", sa.String),
    sa.Column("answers", _json(), nullable=False),
    sa.Column("current", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("accepted_at", sa.String, nullable=False),
)

escalations = sa.Table(
    "escalations",
    metadata,
    sa.Column("escalation_id", sa.String, primary_key=True),
    sa.Column("audit_id", sa.String, nullable=False, index=True),
    sa.Column("kind", sa.String, nullable=False),  # grade | actions
    sa.Column("to_staff_id", sa.String),
    sa.Column("status", sa.String, nullable=False, server_default="Open"),
    sa.Column("note", sa.String),
    sa.Column("grade", sa.String),
    sa.Column("moderation_row_id", sa.Integer),  # the moderation that raised it
    sa.Column("created_at", sa.String, nullable=False),
    sa.Column("resolved_at", sa.String),
    sa.Column("reminded_on", sa.Date),  # the last overdue reminder to the Head of Service (issue 22, step 6)
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("audit_id", sa.String, nullable=False, index=True),
    sa.Column("submission_id", sa.Integer),
    sa.Column("month", sa.String, nullable=False),
    sa.Column("file", sa.String),
    sa.Column("raised_at", sa.String, nullable=False),
    # Acknowledgement by QA (migration step 3): until then the alert is listed first by every command that writes.
    sa.Column("acknowledged_at", sa.String),
    sa.Column("acknowledged_by", sa.String),
    sa.Column("ack_note", sa.String),  # what QA did; kept here, never in a log
)

notices = sa.Table(
    "notices",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String, nullable=False),  # allocation | reminder | shared | feedback | alert | ...
    sa.Column("month", sa.String, index=True),
    sa.Column("audit_id", sa.String, index=True),
    sa.Column("to_addr", sa.String),
    sa.Column("cc_addr", sa.String),
    sa.Column("subject", sa.String),
    sa.Column("file", sa.String),
    sa.Column("made_at", sa.String, nullable=False),
    # Send state (issue 22, migration step 6): the outbox.csv status/sent_at columns are a view of these.
    sa.Column("message_id", sa.String),  # fixed when the notice is first made; a notice made again keeps it
    sa.Column("status", sa.String, nullable=False, server_default="draft"),  # draft | sent | deferred | failed
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("attempted_at", sa.String),  # set before sending, cleared with the result: set = result unknown
    sa.Column("sent_at", sa.String),
    sa.Column("reply", sa.String),  # the server's reply to a refusal
)

# What each month's report said when it was first written (issue 20, "figures can be trusted"): the headline rates,
# kept so that a later report can say which earlier figures have changed since (late tracker returns, moderation).
# Written once per month, inside the writing transaction of the first report (migration step 5).
report_snapshots = sa.Table(
    "report_snapshots",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("month", sa.String, nullable=False, index=True),
    sa.Column("key", sa.String, nullable=False),
    sa.Column("value", sa.Float),  # NULL: the rate had no denominator
    sa.Column("written_at", sa.String, nullable=False),
)

# Who ran what, when, with which inputs and outputs. No case content.
run_log = sa.Table(
    "run_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("command", sa.String, nullable=False),
    sa.Column("arguments", _json()),
    sa.Column("user", sa.String),
    sa.Column("today", sa.Date),
    sa.Column("started_at", sa.String, nullable=False),
    sa.Column("finished_at", sa.String),
    sa.Column("exit_code", sa.Integer),
    sa.Column("inputs", _json()),
    sa.Column("outputs", _json()),
    sa.Column("staging", sa.String),
)


def audit_id_for(conn: Connection, text: str) -> str:
    """The audit ID a person typed, as an audit ID or as an audit reference (``2026-09-0014``); unknown
    references come back as typed, so the caller's "not found" message names what was typed."""
    text = text.strip()
    if not ids.is_audit_reference(text):
        return text
    found = conn.execute(sa.select(allocations.c.audit_id).where(allocations.c.audit_ref == text)).scalar()
    return str(found) if found else text


def staff_names(conn: Connection) -> list[str]:
    """Every roster name the register holds (the name check looks for them in typed text)."""
    return [str(n) for n in conn.execute(sa.select(staff.c.name)).scalars() if n]


def next_audit_number(conn: Connection, month: str) -> int:
    """The sequence number the month's next audit reference takes (one past the highest so far)."""
    refs = conn.execute(sa.select(allocations.c.audit_ref).where(allocations.c.month == month)).scalars()
    return max((ids.reference_number(r) for r in refs), default=0) + 1


def has_report_snapshot(conn: Connection, month: str) -> bool:
    """Whether the month's first report has been kept (issue 20: only the first report is the one restated)."""
    found = conn.execute(sa.select(report_snapshots.c.id).where(report_snapshots.c.month == month).limit(1))
    return found.first() is not None


def write_report_snapshot(conn: Connection, month: str, values: dict[str, float | None], written_at: str) -> bool:
    """Keep what the month's report says, once: nothing is written when the month has a snapshot already."""
    if has_report_snapshot(conn, month) or not values:
        return False
    conn.execute(
        sa.insert(report_snapshots),
        [{"month": month, "key": k, "value": v, "written_at": written_at} for k, v in sorted(values.items())],
    )
    return True


def alert_rows(conn: Connection, where: Any) -> list[Any]:
    """The safeguarding alerts matching ``where`` with their allocation (case reference, pre-filled values), oldest
    first: the one query behind ``caseaudit alerts`` and the reports' list of alerts waiting for QA."""
    a, al = alerts, allocations
    return list(
        conn.execute(
            sa.select(a.c.id, a.c.audit_id, a.c.raised_at, a.c.acknowledged_at, al.c.case_ref, al.c.prefilled)
            .select_from(a.outerjoin(al, al.c.audit_id == a.c.audit_id))
            .where(where)
            .order_by(a.c.id)
        )
    )


@dataclass(frozen=True)
class Migration:
    """What opening the register did to bring it up to date: from and to which version, and the copy kept."""

    found: int
    version: int
    steps: tuple[str, ...]
    backup: Path | None


@dataclass
class Register:
    """An open register. Use :meth:`writer` for the lock plus one transaction; :meth:`reader` to read only."""

    url: str
    engine: Engine
    #: Set when opening migrated an older register (the caller says so to the user).
    migration: Migration | None = None
    #: How deeply this process holds the single-writer lock (``lock()`` is re-entrant).
    _held: int = 0

    @classmethod
    def open(cls, url: str, *, create: bool = False) -> Register:
        """Open the register at ``url``. Only ``init`` (and the demo, in its own folder) passes ``create``: every
        other command refuses a register that is missing (REG004), empty (REG005) or not caseaudit's (REG006),
        so a deleted register is never silently replaced by an empty one."""
        path = sqlite_path(url)
        if path is not None:
            if not create and not path.exists():
                raise RegisterError("REG004", where=str(path))
            path.parent.mkdir(parents=True, exist_ok=True)
        new_file = path is not None and not path.exists()
        try:
            engine = sa.create_engine(url, future=True)
            register = cls(url=url, engine=engine)
            register.migrate(create=create)
        except sa.exc.SQLAlchemyError as exc:
            known = register_failure(exc, safe_url(url))
            raise (known or RegisterError("REG002", where=safe_url(url), detail=type(exc).__name__)) from None
        if new_file and path is not None:
            # Children's data: a new register gives other users no access, whatever the umask (SQLite gives its
            # -wal and -shm files the database file's mode).
            with contextlib.suppress(OSError):
                os.chmod(path, REGISTER_FILE_MODE)
        return register

    def migrate(self, *, create: bool = False) -> None:
        """Create the schema (``create``: ``init`` only); bring an older register up to date; refuse one made by a
        newer version, and (unless creating) one that is empty or not caseaudit's.

        Migrating takes the single-writer lock (another run: REG001, exit 75), copies a SQLite register to
        ``<file>.bak-<from version>`` first, and applies every pending step in one transaction.
        """
        found = self._version()
        if found is None:
            foreign = self._has_tables()  # a database holding other tables is never made a register as well
            if not create or foreign:
                raise RegisterError("REG006" if foreign else "REG005", where=safe_url(self.url))
            with self.engine.begin() as conn:
                metadata.create_all(conn)
                conn.execute(sa.delete(schema_version))
                conn.execute(sa.insert(schema_version).values(version=SCHEMA_VERSION))
            return
        if found > SCHEMA_VERSION:
            raise RegisterError("REG003", where=safe_url(self.url), found=found, known=SCHEMA_VERSION)
        if found == SCHEMA_VERSION:
            return
        with self.lock():
            found = self._version() or found  # another process may have migrated it meanwhile
            if found == SCHEMA_VERSION:
                return
            backup = self._backup(found)
            try:
                with self.engine.begin() as conn:
                    if conn.dialect.name == "sqlite":
                        # pysqlite begins a transaction only before data changes, not before CREATE or ALTER:
                        # begin it here, so that every step and the new version commit together or not at all.
                        conn.exec_driver_sql("BEGIN IMMEDIATE")
                    done = migrations.upgrade(conn, found, schema_version)
            except sa.exc.SQLAlchemyError as exc:
                raise RegisterError(
                    "REG011", where=safe_url(self.url), found=found, known=SCHEMA_VERSION, detail=type(exc).__name__
                ) from None
        self.migration = Migration(found, SCHEMA_VERSION, tuple(s.summary for s in done), backup)

    def _version(self) -> int | None:
        """The register's schema version; None for a new (empty) register."""
        with self.engine.connect() as conn:
            if not sa.inspect(conn).has_table("schema_version"):
                return None
            found = conn.execute(sa.select(schema_version.c.version)).scalar()
        return None if found is None else int(found)

    def _has_tables(self) -> bool:
        with self.engine.connect() as conn:
            return bool(sa.inspect(conn).get_table_names())

    def _backup(self, found: int) -> Path | None:
        """Copy a SQLite register to ``<file>.bak-<found>`` (SQLite's backup API: consistent in WAL mode)."""
        path = sqlite_path(self.url)
        if path is None:
            return None
        target = path.with_name(f"{path.name}.bak-{found}")
        partial = target.with_name(target.name + ".partial")
        try:
            with (
                contextlib.closing(sqlite3.connect(path)) as source,
                contextlib.closing(sqlite3.connect(partial)) as copy,
            ):
                source.backup(copy)
            os.chmod(partial, REGISTER_FILE_MODE)
            os.replace(partial, target)
        except (OSError, sqlite3.Error) as exc:
            with contextlib.suppress(OSError):
                partial.unlink()
            raise RegisterError("REG012", where=str(path), backup=str(target), detail=type(exc).__name__) from None
        return target

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """The single-writer lock: a second writer fails at once with :class:`LockBusy` (exit 75).

        Re-entrant within this process: a command that holds it for its whole life (``run``: every step, so no
        other writer gets in between them) lets each step's own ``lock()`` through. It is released when the
        outermost holder ends, normally or by an error; a killed process releases it too (the kernel drops a
        SQLite lock file's lock; PostgreSQL drops a session's advisory lock when its connection goes)."""
        if self._held:
            self._held += 1
            try:
                yield
            finally:
                self._held -= 1
            return
        release = self._acquire()
        self._held = 1
        try:
            yield
        finally:
            self._held = 0
            release()

    def _acquire(self) -> Callable[[], None]:
        path = sqlite_path(self.url)
        if path is None:
            return self._advisory_lock()
        lock_path = path.with_name(path.name + ".lock")
        handle = try_flock(lock_path)
        if handle is None:
            raise LockBusy("REG001", where=str(path))
        return handle.close

    def _advisory_lock(self) -> Callable[[], None]:
        """PostgreSQL: a session-level advisory lock on a connection of its own, outside the pool (issue 23).

        A pooled connection would go back to the pool still holding the lock, and the next step would get another
        connection and find the register locked by itself (``run`` exited 75 every time). This connection is
        opened for the lock alone, unlocked explicitly and closed: the server then ends the session, which drops
        any advisory lock it still held, so nothing can outlive the command."""
        if self.engine.dialect.name != "postgresql":
            return lambda: None
        lock_engine = sa.create_engine(self.engine.url, poolclass=sa.pool.NullPool)
        conn = lock_engine.connect()
        try:
            got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY}).scalar()
            conn.commit()  # the lock is the session's, not the transaction's: end the transaction at once
        except BaseException:
            conn.close()
            lock_engine.dispose()
            raise
        if not got:
            conn.close()
            lock_engine.dispose()
            raise LockBusy("REG001", where=safe_url(self.url))

        def release() -> None:
            try:
                with contextlib.suppress(sa.exc.SQLAlchemyError):
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
                    conn.commit()
            finally:
                conn.close()
                lock_engine.dispose()

        return release

    @contextlib.contextmanager
    def writer(self) -> Iterator[Connection]:
        """Lock, then one transaction: everything commits together or nothing does."""
        with self.lock(), self.engine.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def reader(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def close(self) -> None:
        self.engine.dispose()
