"""The action register: every action an audit, a moderation or a supervision raises, tracked to completion.

Guidance section 2: "It is the responsibility of the Team Manager and Service Manager to track the actions; Service
Managers will be responsible for ensuring that identified actions have been completed within required timescales."
"On receipt of the moderation form, Team Managers should discuss any additional actions with the Social Worker".

This module keeps the register's ``actions`` rows (one per action, its current state) and ``action_updates`` (every
change, dated, with the file it came from). Ingest calls :func:`sync_audit_actions` when an audit version is accepted
and :func:`sync_moderation_actions` when a moderation is; returned trackers add supervision actions with
:func:`add_supervision_action`. The measures the reports show live in ``action_measures.py`` (pure, no I/O);
:func:`load_actions_frame` gives them their input.
"""

from __future__ import annotations

import base64
import hashlib
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from caseaudit_batch.core import register as reg
from caseaudit_batch.core.clock import Clock

if TYPE_CHECKING:
    import pandas as pd

OPEN = "Open"
COMPLETED = "Completed"
NO_LONGER_REQUIRED = "No longer required"
#: The statuses an action can have (the tracker's ``Status`` choices): a published contract.
STATUSES = (OPEN, COMPLETED, NO_LONGER_REQUIRED)
#: ``status_reason`` of an action a resubmitted audit (or moderation) dropped.
REPLACED = "replaced"

SOURCES = ("audit", "moderation", "supervision")
ID_PREFIX = "ACT-"
_ID_LENGTH = 10  # base32 characters: 50 bits, so a clash is vanishingly rare; a clash is still handled (see _new_id)


@dataclass(frozen=True)
class ActionContext:
    """Who an action belongs to: the case, its team and the managers who track it (guidance section 2)."""

    audit_id: str | None = None
    month: str | None = None
    case_ref: str | None = None
    service: str | None = None
    team: str | None = None
    team_manager: str | None = None
    team_manager_id: str | None = None
    service_manager_id: str | None = None


@dataclass(frozen=True)
class ActionRow:
    """One action as written on a form: its text, owner and due date."""

    text: str
    owner: str | None
    due_date: date | None

    @property
    def norm_text(self) -> str:
        return normalise_text(self.text)


@dataclass
class ActionSyncResult:
    """What one sync did, by action ID."""

    audit_id: str | None
    source: str
    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # matched and unchanged
    changed: list[str] = field(default_factory=list)  # matched; owner, due date or wording changed
    reopened: list[str] = field(default_factory=list)  # dropped by an earlier version, back again
    replaced: list[str] = field(default_factory=list)  # dropped by this version: No longer required (replaced)

    @property
    def action_ids(self) -> list[str]:
        """The actions this version of the form holds, in its order of first appearance."""
        return self.created + self.kept + self.changed + self.reopened


# ---------------------------------------------------------------------------------------------------------------
# Text, dates and identifiers
# ---------------------------------------------------------------------------------------------------------------
def normalise_text(text: str) -> str:
    """The form of an action's text used to match it across versions: case, spacing and end punctuation ignored."""
    folded = " ".join(str(text).casefold().replace("\u2019", "'").split())
    return folded.strip(" .;:,-")


def to_date(value: object) -> date | None:
    """A date from a form value: a date, a datetime, an ISO string or (England) dd/mm/yyyy; otherwise None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    pd = sys.modules.get("pandas")  # pandas is imported only where frames are used; without it, no NaT can arrive
    if pd is not None and (value is pd.NaT or isinstance(value, pd.Timestamp)):
        return None if pd.isna(value) else value.date()
    text = str(value).strip()
    for parse in (date.fromisoformat, _parse_english):
        try:
            return parse(text[:10] if parse is date.fromisoformat else text)
        except ValueError:
            continue
    return None


def _parse_english(text: str) -> date:
    # A date typed as text ("03/04/2024") means 3 April in England (field notes).
    for fmt in ("%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


def parse_rows(rows: Iterable[Sequence[object] | Mapping[str, object]]) -> list[ActionRow]:
    """Form rows (``[action, owner, due_date_iso]`` lists, or mappings with those keys) as :class:`ActionRow`.

    Rows without action text are left out: a blank row of the table is not an action.
    """
    parsed: list[ActionRow] = []
    for row in rows or ():
        if isinstance(row, Mapping):
            text, owner, due = row.get("action"), row.get("owner"), row.get("due_date")
        else:
            cells = [*list(row), None, None, None]
            text, owner, due = cells[0], cells[1], cells[2]
        text_str = "" if text is None else " ".join(str(text).split())
        if not normalise_text(text_str):
            continue
        owner_str = None if owner is None or str(owner).strip() == "" else " ".join(str(owner).split())
        parsed.append(ActionRow(text_str, owner_str, to_date(due)))
    return parsed


def action_id_for(source: str, scope: str, norm_text: str, occurrence: int = 0, salt: int = 0) -> str:
    """A stable action ID: the same audit (or case), source and text always give the same ID, run after run."""
    key = f"{source}|{scope}|{norm_text}|{occurrence}" + (f"|{salt}" if salt else "")
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return ID_PREFIX + base64.b32encode(digest).decode("ascii")[:_ID_LENGTH]


class _IdBook:
    """Which action IDs are taken: the register's (asked in bulk where the caller knows the candidates) and the ones
    made since, which may not be written yet (a sync buffers its inserts)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._known: dict[str, str | None] = {}  # action ID -> its norm_text, or None when free

    def prefetch(self, candidates: Iterable[str]) -> None:
        wanted = [c for c in dict.fromkeys(candidates) if c not in self._known]
        for chunk in reg.chunks(wanted):
            found: dict[str, str] = dict(
                self.conn.execute(
                    sa.select(reg.actions.c.action_id, reg.actions.c.norm_text).where(
                        reg.actions.c.action_id.in_(chunk)
                    )
                )
                .tuples()
                .all()
            )
            self._known.update({c: found.get(c) for c in chunk})

    def taken_by(self, candidate: str) -> str | None:
        """The norm_text of the action holding this ID, or None when the ID is free."""
        if candidate not in self._known:
            self.prefetch([candidate])
        return self._known[candidate]

    def take(self, action_id: str, norm_text: str) -> None:
        self._known[action_id] = norm_text


def _new_id(ids: _IdBook, source: str, scope: str, norm_text: str) -> str:
    """The first free ID for this text: a repeated text in one audit takes the next occurrence number.

    Every step is deterministic, so replaying the same history gives the same IDs.
    """
    occurrence = 0
    while True:
        candidate = action_id_for(source, scope, norm_text, occurrence)
        holder = ids.taken_by(candidate)
        if holder is None:
            break
        if holder == norm_text:  # the same text already has an action here: try the next occurrence
            occurrence += 1
            continue
        # A hash clash with an unrelated action: extend the key until it is free.
        salt = 1
        while ids.taken_by(action_id_for(source, scope, norm_text, occurrence, salt)) is not None:
            salt += 1
        candidate = action_id_for(source, scope, norm_text, occurrence, salt)
        break
    ids.take(candidate, norm_text)
    return candidate


# ---------------------------------------------------------------------------------------------------------------
# Who an action belongs to
# ---------------------------------------------------------------------------------------------------------------
class _Directory:
    """The register's allocations, cases and staff, read once and kept for one job: a sync of a thousand audits
    asks for each a few times, and one bulk read is far cheaper than thousands of single ones."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._allocations: dict[str, Any] = {}
        self._cases: dict[str, Any] = {}
        self._staff: dict[str, Any] = {}

    def _fetch(self, cache: dict[str, Any], column: sa.Column[Any], keys: Iterable[str]) -> None:
        wanted = [k for k in dict.fromkeys(keys) if k and k not in cache]
        for chunk in reg.chunks(wanted):
            rows = {
                getattr(r, column.key): r for r in self.conn.execute(sa.select(column.table).where(column.in_(chunk)))
            }
            cache.update({k: rows.get(k) for k in chunk})

    def preload_audits(self, audit_ids: Iterable[str]) -> None:
        self._fetch(self._allocations, reg.allocations.c.audit_id, audit_ids)
        self.preload_cases(a.case_ref for a in self._allocations.values() if a is not None)

    def preload_cases(self, case_refs: Iterable[str]) -> None:
        self._fetch(self._cases, reg.cases.c.case_ref, case_refs)
        self._fetch(self._staff, reg.staff.c.staff_id, (c.team_manager_id for c in self._cases.values() if c))

    def _get(self, cache: dict[str, Any], column: sa.Column[Any], key: str | None) -> Any:
        if not key:
            return None
        if key not in cache:
            self._fetch(cache, column, [key])
        return cache[key]

    def for_case(self, case_ref: str, month: str | None = None, **known: str | None) -> ActionContext:
        case = self._get(self._cases, reg.cases.c.case_ref, case_ref)
        team_manager_id = case.team_manager_id if case is not None else known.get("team_manager_id")
        manager = self._get(self._staff, reg.staff.c.staff_id, team_manager_id)
        return ActionContext(
            audit_id=known.get("audit_id"),
            month=month,
            case_ref=case_ref,
            service=(case.service if case is not None and case.service else known.get("service")),
            team=(case.team if case is not None and case.team else known.get("team")),
            team_manager=(manager.name if manager is not None else known.get("team_manager")),
            team_manager_id=team_manager_id,
            service_manager_id=(manager.line_manager_id if manager is not None else None)
            or known.get("service_manager_id"),
        )

    def for_audit(self, audit_id: str) -> ActionContext:
        allocation = self._get(self._allocations, reg.allocations.c.audit_id, audit_id)
        if allocation is None:
            return ActionContext(audit_id=audit_id)
        prefilled = allocation.prefilled or {}
        known = {
            key: (str(prefilled[key]) if prefilled.get(key) not in (None, "") else None)
            for key in ("service", "team", "team_manager")
        }
        return self.for_case(allocation.case_ref, allocation.month, audit_id=audit_id, **known)


def context_for_case(conn: Connection, case_ref: str, month: str | None = None, **known: str | None) -> ActionContext:
    """The case's service, team, team manager and service manager (the team manager's line manager) as the
    register holds them now; ``known`` values (e.g. from a form's pre-filled fields) fill any gaps."""
    return _Directory(conn).for_case(case_ref, month, **known)


def context_for_audit(conn: Connection, audit_id: str) -> ActionContext:
    """The context of an allocated audit: its month and case, then the case's people (see :func:`context_for_case`)."""
    return _Directory(conn).for_audit(audit_id)


# ---------------------------------------------------------------------------------------------------------------
# Creating and re-syncing actions from an accepted audit or moderation
# ---------------------------------------------------------------------------------------------------------------
def sync_audit_actions(
    conn: Connection,
    audit_id: str,
    actions_rows: Iterable[Sequence[object] | Mapping[str, object]],
    context: ActionContext | None = None,
    *,
    clock: Clock,
    source: str = "audit",
    submission_id: int | None = None,
    source_file: str | None = None,
) -> ActionSyncResult:
    """Bring the register's actions for one audit (from one source) in line with an accepted version of its form.

    Call it each time an audit version is accepted (``actions_rows`` = the answers' ``actions``). Actions are matched
    within the audit by normalised text, so updates recorded against an unchanged action are kept; a new text is a new
    action; an open action the new version no longer holds is closed as "No longer required (replaced)". An action
    already completed stays completed (the work was done), and one closed by a manager stays closed.
    """
    if source not in ("audit", "moderation"):
        raise ValueError(f"unknown action source {source!r}")
    existing = conn.execute(
        sa.select(reg.actions).where(reg.actions.c.audit_id == audit_id, reg.actions.c.source == source)
    ).all()
    writes = _Writes(conn)
    result = _sync_one(
        writes,
        _IdBook(conn),
        audit_id,
        parse_rows(actions_rows),
        context or context_for_audit(conn, audit_id),
        existing,
        _UpdateLog(conn, clock, source=source, submission_id=submission_id, source_file=source_file, writes=writes),
    )
    writes.flush()
    return result


class _Writes:
    """New ``actions`` and ``action_updates`` rows, held and written in one statement each (``executemany``): a
    thousand audits' actions cost two statements rather than thousands."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.actions: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []

    def flush(self) -> None:
        if self.actions:
            self.conn.execute(sa.insert(reg.actions), self.actions)
        if self.updates:
            self.conn.execute(sa.insert(reg.action_updates), self.updates)
        self.actions, self.updates = [], []


def _sync_one(
    writes: _Writes,
    ids: _IdBook,
    audit_id: str,
    rows: list[ActionRow],
    context: ActionContext,
    existing: Sequence[Any],
    log: _UpdateLog,
) -> ActionSyncResult:
    """:func:`sync_audit_actions` for one audit, given its existing actions; new rows go to ``writes``."""
    conn, clock, source = writes.conn, log.clock, log.source
    result = ActionSyncResult(audit_id=audit_id, source=source)
    now = clock.now_iso()
    # Candidates per text: live actions first, then ones an earlier version dropped (which may come back).
    pool: dict[str, list[Any]] = defaultdict(list)
    for old in sorted(existing, key=lambda r: (r.status_reason == REPLACED, r.seq, r.action_id)):
        pool[old.norm_text].append(old)

    for seq, row in enumerate(rows, start=1):
        candidates = pool.get(row.norm_text)
        match = candidates.pop(0) if candidates else None
        if match is None:
            action_id = _new_id(ids, source, audit_id, row.norm_text)
            writes.actions.append(
                {
                    "action_id": action_id,
                    "audit_id": audit_id,
                    "source": source,
                    "month": context.month,
                    "seq": seq,
                    "text": row.text,
                    "norm_text": row.norm_text,
                    "owner": row.owner,
                    "due_date": row.due_date,
                    "case_ref": context.case_ref,
                    "service": context.service,
                    "team": context.team,
                    "team_manager": context.team_manager,
                    "team_manager_id": context.team_manager_id,
                    "service_manager_id": context.service_manager_id,
                    "status": OPEN,
                    "state_on": clock.today,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            log.add(action_id, "created", status=OPEN, note=f"Raised by the {source}.")
            result.created.append(action_id)
            continue
        changes: dict[str, Any] = {}
        notes: list[str] = []
        if match.text != row.text:
            changes["text"] = row.text
            notes.append("wording changed")
        if match.owner != row.owner:
            changes["owner"] = row.owner
            notes.append(f"owner changed from {match.owner or '(none)'} to {row.owner or '(none)'}")
        if match.due_date != row.due_date:
            changes["due_date"] = row.due_date
            notes.append(f"due date changed from {_show(match.due_date)} to {_show(row.due_date)}")
        if match.seq != seq:
            changes["seq"] = seq
        reopened = match.status == NO_LONGER_REQUIRED and match.status_reason == REPLACED
        if reopened:
            changes.update(status=OPEN, status_reason=None, state_on=clock.today, state_submission_id=None)
        if changes:
            changes["updated_at"] = now
            conn.execute(sa.update(reg.actions).where(reg.actions.c.action_id == match.action_id).values(**changes))
        if reopened:
            log.add(match.action_id, "changed", status=OPEN, note=f"Back in a resubmitted {source}; open again.")
            result.reopened.append(match.action_id)
        elif notes:
            log.add(match.action_id, "changed", note=f"Resubmitted {source}: " + "; ".join(notes) + ".")
            result.changed.append(match.action_id)
        else:
            result.kept.append(match.action_id)

    for leftovers in pool.values():
        for old in leftovers:
            if old.status != OPEN:
                continue  # already completed or closed: the record of what happened stands
            conn.execute(
                sa.update(reg.actions)
                .where(reg.actions.c.action_id == old.action_id)
                .values(
                    status=NO_LONGER_REQUIRED,
                    status_reason=REPLACED,
                    state_on=clock.today,
                    state_submission_id=None,
                    updated_at=now,
                )
            )
            log.add(
                old.action_id,
                "replaced",
                status=NO_LONGER_REQUIRED,
                note=f"No longer required (replaced): not in the resubmitted {source}.",
            )
            result.replaced.append(old.action_id)
    return result


def sync_moderation_actions(
    conn: Connection,
    audit_id: str,
    m_actions_rows: Iterable[Sequence[object] | Mapping[str, object]],
    context: ActionContext | None = None,
    *,
    clock: Clock,
    submission_id: int | None = None,
    source_file: str | None = None,
) -> ActionSyncResult:
    """The moderator's additional actions (the moderation form's ``m_actions``), as :func:`sync_audit_actions` does
    for the audit's own; call it each time a moderation version is accepted (guidance section 2)."""
    return sync_audit_actions(
        conn,
        audit_id,
        m_actions_rows,
        context,
        clock=clock,
        source="moderation",
        submission_id=submission_id,
        source_file=source_file,
    )


def add_supervision_action(
    conn: Connection,
    row: ActionRow,
    context: ActionContext,
    *,
    clock: Clock,
    submission_id: int | None = None,
    source_file: str | None = None,
) -> tuple[str, bool]:
    """An action a manager set in supervision and wrote on a blank tracker row; returns (action ID, created?).

    The same case and text is the same action, so two copies of one tracker never make it twice.
    """
    if not context.case_ref:
        raise ValueError("a supervision action needs a case reference")
    norm = row.norm_text
    found = conn.execute(
        sa.select(reg.actions.c.action_id).where(
            reg.actions.c.source == "supervision",
            reg.actions.c.case_ref == context.case_ref,
            reg.actions.c.norm_text == norm,
        )
    ).first()
    if found is not None:
        return str(found.action_id), False
    action_id = _new_id(_IdBook(conn), "supervision", context.case_ref, norm)
    now = clock.now_iso()
    conn.execute(
        sa.insert(reg.actions).values(
            action_id=action_id,
            audit_id=None,
            source="supervision",
            month=context.month,
            seq=0,
            text=row.text,
            norm_text=norm,
            owner=row.owner,
            due_date=row.due_date,
            case_ref=context.case_ref,
            service=context.service,
            team=context.team,
            team_manager=context.team_manager,
            team_manager_id=context.team_manager_id,
            service_manager_id=context.service_manager_id,
            status=OPEN,
            state_on=clock.today,
            created_at=now,
            updated_at=now,
        )
    )
    _UpdateLog(conn, clock, source="tracker", submission_id=submission_id, source_file=source_file).add(
        action_id, "created", status=OPEN, note="Set in supervision and added on an action tracker."
    )
    return action_id, True


class _UpdateLog:
    """Writes ``action_updates`` rows: every change to an action, dated, with the file it came from. Given ``writes``,
    the rows wait there to be written together."""

    _COLUMNS = tuple(c.key for c in reg.action_updates.columns if c.key != "id")

    def __init__(
        self,
        conn: Connection,
        clock: Clock,
        *,
        source: str,
        submission_id: int | None,
        source_file: str | None,
        writes: _Writes | None = None,
    ) -> None:
        self.conn, self.clock, self.writes = conn, clock, writes
        self.source, self.submission_id, self.source_file = source, submission_id, source_file

    def add(
        self, action_id: str, kind: str, *, on_date: date | None = None, applied: bool = True, **values: Any
    ) -> None:
        row = dict.fromkeys(self._COLUMNS) | values  # one shape for every row, as executemany needs
        row.update(
            action_id=action_id,
            kind=kind,
            on_date=on_date or self.clock.today,
            applied=applied,
            source=self.source,
            source_file=self.source_file,
            submission_id=self.submission_id,
            recorded_at=self.clock.now_iso(),
        )
        if self.writes is not None:
            self.writes.updates.append(row)
        else:
            self.conn.execute(sa.insert(reg.action_updates).values(**row))


def _show(day: date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else "(none)"


# ---------------------------------------------------------------------------------------------------------------
# Reading the register for the measures and trackers
# ---------------------------------------------------------------------------------------------------------------
#: The columns of :func:`load_actions_frame` (the input of ``action_measures``).
FRAME_COLUMNS = (
    "action_id",
    "audit_id",
    "source",
    "month",
    "text",
    "owner",
    "due_date",
    "status",
    "status_reason",
    "completed_on",
    "signed_off",
    "case_ref",
    "service",
    "team",
    "team_manager",
    "team_manager_id",
    "service_manager_id",
    "supervision_on",
)


def load_actions_frame(conn: Connection) -> pd.DataFrame:
    """Every action in the register as a DataFrame (dates as ``datetime.date``), ready for ``action_measures``."""
    import pandas as pd  # here, not at the top: every command imports this module, and pandas costs ~0.3 s to load

    columns = [reg.actions.c[name] for name in FRAME_COLUMNS]
    rows = conn.execute(sa.select(*columns).order_by(reg.actions.c.action_id)).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=list(FRAME_COLUMNS))
    frame["signed_off"] = frame["signed_off"].astype(bool)
    return frame


def action_history(conn: Connection, action_id: str) -> list[dict[str, Any]]:
    """An action's updates, oldest first (each with its date, what changed, note and source file)."""
    rows = conn.execute(
        sa.select(reg.action_updates)
        .where(reg.action_updates.c.action_id == action_id)
        .order_by(reg.action_updates.c.id)
    ).all()
    return [dict(r._mapping) for r in rows]


# ---------------------------------------------------------------------------------------------------------------
# Returned trackers: applying what managers recorded
# ---------------------------------------------------------------------------------------------------------------
#: The part of an action's state a tracker changes (the rest, notes and supervision dates, only adds up).
STATE_FIELDS = ("status", "completed_on", "signed_off")


@dataclass(frozen=True)
class Conflict:
    """Two trackers disagreed about one action; ``stands`` is the state kept (the later-dated one)."""

    action_id: str
    case_ref: str | None
    stands: dict[str, Any]
    stands_date: date | None
    stands_file: str
    other: dict[str, Any]
    other_date: date | None
    other_file: str

    def params(self) -> dict[str, object]:
        return {
            "action_id": self.action_id,
            "case_ref": self.case_ref or "(none)",
            "kept": describe_state(self.stands),
            "kept_date": _show(self.stands_date),
            "kept_file": self.stands_file,
            "other": describe_state(self.other),
            "other_date": _show(self.other_date),
            "other_file": self.other_file,
        }


@dataclass
class TrackerApplyResult:
    updated: list[str] = field(default_factory=list)  # state changed
    noted: list[str] = field(default_factory=list)  # an update note or supervision date recorded
    created: list[str] = field(default_factory=list)  # new actions set in supervision
    conflicts: list[Conflict] = field(default_factory=list)


def describe_state(state: Mapping[str, Any]) -> str:
    """``Completed on 10/10/2026, signed off`` — a state as words for a message."""
    text = str(state.get("status") or OPEN)
    if state.get("completed_on"):
        text += f" on {_show(to_date(state['completed_on']))}"
    if state.get("signed_off"):
        text += ", signed off"
    return text


def baseline_state(row: Any) -> dict[str, Any]:
    """The state of an action as a tracker is made (stored with the tracker; JSON-safe)."""
    return {
        "status": row.status,
        "completed_on": row.completed_on.isoformat() if row.completed_on else None,
        "signed_off": bool(row.signed_off),
    }


def _state(values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "status": values.get("status") or OPEN,
        "completed_on": to_date(values.get("completed_on")),
        "signed_off": bool(values.get("signed_off")),
    }


def apply_tracker_entries(
    conn: Connection,
    entries: Iterable[Any],
    *,
    baseline: Mapping[str, Mapping[str, Any]],
    file_date: date,
    clock: Clock,
    month: str | None,
    submission_id: int | None,
    source_file: str,
) -> TrackerApplyResult:
    """Record a checked tracker's rows (``tracker_rules.TrackerEntry``) in the register.

    A row changes only what its manager changed on it, measured against the state the tracker was made with
    (``baseline``). When the register has meanwhile been changed by another tracker and the two disagree, the update
    with the later date stands (``Completed on``, else the file's date: ``file_date``) and a :class:`Conflict` is
    reported; the losing update is still recorded, marked not applied. Every change is an ``action_updates`` row
    with its date and source file.
    """
    result = TrackerApplyResult()
    log = _UpdateLog(conn, clock, source="tracker", submission_id=submission_id, source_file=source_file)
    now = clock.now_iso()
    entries = list(entries)
    # The listed actions and their notes so far, read in a few statements rather than several per row; an action
    # changed below is read again if the tracker lists it twice.
    known = [e.action_id for e in entries if e.action_id]
    currents: dict[str, Any] = {}
    notes: set[tuple[str, str | None, date | None]] = set()
    u = reg.action_updates.c
    for chunk in reg.chunks(known):
        currents.update(
            (r.action_id, r) for r in conn.execute(sa.select(reg.actions).where(reg.actions.c.action_id.in_(chunk)))
        )
        notes.update(
            (r.action_id, r.note, r.supervision_on)
            for r in conn.execute(sa.select(u.action_id, u.note, u.supervision_on).where(u.action_id.in_(chunk)))
        )
    for entry in entries:
        action_id = entry.action_id
        if action_id is None:
            context = context_for_case(conn, entry.case_ref, month)
            row = ActionRow(entry.action, entry.owner or None, entry.due_date)
            action_id, created = add_supervision_action(
                conn, row, context, clock=clock, submission_id=submission_id, source_file=source_file
            )
            if created:
                result.created.append(action_id)
            notes.update(
                (r.action_id, r.note, r.supervision_on)
                for r in conn.execute(sa.select(u.action_id, u.note, u.supervision_on).where(u.action_id == action_id))
            )
        current = currents.pop(action_id, None)
        if current is None:
            current = conn.execute(sa.select(reg.actions).where(reg.actions.c.action_id == action_id)).one()
        current_state = _state(dict(current._mapping))
        base = _state(baseline[action_id]) if action_id in baseline else current_state
        proposed = dict(base)
        if entry.status is not None:
            proposed["status"] = entry.status
            proposed["completed_on"] = entry.completed_on if entry.status == COMPLETED else None
        proposed["signed_off"] = entry.signed_off
        changed = {k: v for k, v in proposed.items() if v != base[k]}
        on_date = entry.completed_on or file_date
        if changed and any(current_state[k] != v for k, v in changed.items()):
            others_changed = any(current_state[k] != base[k] for k in STATE_FIELDS)
            wins = True
            if others_changed:
                # Two trackers disagree: the later-dated update stands (issue 7).
                wins = current.state_on is None or on_date > current.state_on
                mine = {**current_state, **changed}
                other_file = _submission_path(conn, current.state_submission_id)
                conflict = Conflict(
                    action_id=action_id,
                    case_ref=current.case_ref,
                    stands=mine if wins else current_state,
                    stands_date=on_date if wins else current.state_on,
                    stands_file=source_file if wins else other_file,
                    other=current_state if wins else mine,
                    other_date=current.state_on if wins else on_date,
                    other_file=other_file if wins else source_file,
                )
                result.conflicts.append(conflict)
            values = {**current_state, **changed}
            log.add(
                action_id,
                "update",
                on_date=on_date,
                applied=wins,
                status=values["status"],
                completed_on=values["completed_on"],
                signed_off=values["signed_off"],
                note=None if wins else "Not applied: another tracker's later update stands.",
            )
            if wins:
                status_reason = "closed on a tracker" if values["status"] == NO_LONGER_REQUIRED else None
                conn.execute(
                    sa.update(reg.actions)
                    .where(reg.actions.c.action_id == action_id)
                    .values(
                        status=values["status"],
                        status_reason=status_reason,
                        completed_on=values["completed_on"],
                        signed_off=values["signed_off"],
                        state_on=on_date,
                        state_submission_id=submission_id,
                        updated_at=now,
                    )
                )
                result.updated.append(action_id)
        if entry.note or entry.supervision_on:
            # The same note (with the same supervision date) sent again, in a copy of a tracker, is recorded once.
            said = (action_id, entry.note or None, entry.supervision_on)
            if said not in notes:
                log.add(
                    action_id, "update", on_date=file_date, note=entry.note or None, supervision_on=entry.supervision_on
                )
                notes.add(said)
                result.noted.append(action_id)
            if entry.supervision_on and (
                current.supervision_on is None or entry.supervision_on > current.supervision_on
            ):
                conn.execute(
                    sa.update(reg.actions)
                    .where(reg.actions.c.action_id == action_id)
                    .values(supervision_on=entry.supervision_on, updated_at=now)
                )
    return result


def _submission_path(conn: Connection, submission_id: int | None) -> str:
    if submission_id is None:
        return "the register"
    path = conn.execute(sa.select(reg.submissions.c.path).where(reg.submissions.c.id == submission_id)).scalar()
    return str(path) if path else "an earlier tracker"


# ---------------------------------------------------------------------------------------------------------------
# Catching up with the register's accepted audits and moderations
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class CatchUp:
    synced: list[ActionSyncResult] = field(default_factory=list)

    @property
    def created(self) -> int:
        return sum(len(s.created) for s in self.synced)

    @property
    def replaced(self) -> int:
        return sum(len(s.replaced) for s in self.synced)


def sync_from_register(conn: Connection, clock: Clock) -> CatchUp:
    """Bring the action register in line with every current accepted audit and moderation it has not yet seen.

    Idempotent and cheap on a re-run: each (audit, source) remembers the submission it was last synced from
    (``action_sources``). Ingest calls it at the end of a run; ``caseaudit actions`` and ``run`` always do. Everything
    it needs is read in bulk and its new rows are written together, so a thousand new audits cost a few dozen
    statements (issue 5's speed target covers ingest, and this runs inside it).
    """
    seen = {(r.audit_id, r.source): r.submission_id for r in conn.execute(sa.select(reg.action_sources)).all()}
    result = CatchUp()
    now = clock.now_iso()
    writes, ids, people = _Writes(conn), _IdBook(conn), _Directory(conn)
    sources: list[tuple[str, sa.Table, str]] = [
        ("audit", reg.audits, "actions"),
        ("moderation", reg.moderations, "m_actions"),
    ]
    for source, table, key in sources:
        # Only the versions not yet synced are read in full: decoding every answer set of a year's register on each
        # ingest would grow without bound.
        pending = [
            row.id
            for row in conn.execute(
                sa.select(table.c.id, table.c.audit_id, table.c.submission_id).where(table.c.current.is_(True))
            )
            if seen.get((row.audit_id, source)) != row.submission_id
        ]
        current = [
            row
            for chunk in reg.chunks(pending)
            for row in conn.execute(
                sa.select(table.c.audit_id, table.c.submission_id, table.c.answers)
                .where(table.c.id.in_(chunk))
                .order_by(table.c.id)
            ).all()
        ]
        audit_ids = [row.audit_id for row in current]
        people.preload_audits(audit_ids)
        existing: dict[str, list[Any]] = defaultdict(list)
        paths: dict[int, str] = {}
        for chunk in reg.chunks(audit_ids):
            for action in conn.execute(
                sa.select(reg.actions).where(reg.actions.c.audit_id.in_(chunk), reg.actions.c.source == source)
            ):
                existing[action.audit_id].append(action)
        for chunk in reg.chunks([row.submission_id for row in current if row.submission_id is not None]):
            paths.update(
                conn.execute(
                    sa.select(reg.submissions.c.id, reg.submissions.c.path).where(reg.submissions.c.id.in_(chunk))
                )
                .tuples()
                .all()
            )
        parsed = {row.audit_id: parse_rows((row.answers or {}).get(key) or []) for row in current}
        # The first-choice ID of every new text, asked of the register in a few statements rather than one each.
        ids.prefetch(action_id_for(source, audit_id, r.norm_text) for audit_id, rows in parsed.items() for r in rows)
        new_sources: list[dict[str, Any]] = []
        for row in current:
            log = _UpdateLog(
                conn,
                clock,
                source=source,
                submission_id=row.submission_id,
                source_file=paths.get(row.submission_id),
                writes=writes,
            )
            synced = _sync_one(
                writes,
                ids,
                row.audit_id,
                parsed[row.audit_id],
                people.for_audit(row.audit_id),
                existing.get(row.audit_id, []),
                log,
            )
            result.synced.append(synced)
            if (row.audit_id, source) in seen:
                conn.execute(
                    sa.update(reg.action_sources)
                    .where(reg.action_sources.c.audit_id == row.audit_id, reg.action_sources.c.source == source)
                    .values(submission_id=row.submission_id, synced_at=now)
                )
            else:
                new_sources.append(
                    {"audit_id": row.audit_id, "source": source, "submission_id": row.submission_id, "synced_at": now}
                )
            seen[(row.audit_id, source)] = row.submission_id
        writes.flush()
        if new_sources:
            conn.execute(sa.insert(reg.action_sources), new_sources)
    return result


def refresh_open_actions(conn: Connection) -> int:
    """Point every open action at its case's current team and managers (a case moves team, a team manager gets a
    new line manager): the tracker goes to whoever tracks the case now. Returns how many actions moved.

    Only what the register knows now is used; an action whose case or team manager is no longer known keeps what it
    had. Completed and closed actions keep the people of their time, so past measures do not move.
    """
    moved = 0
    rows = conn.execute(
        sa.select(reg.actions).where(reg.actions.c.status == OPEN, reg.actions.c.case_ref.is_not(None))
    ).all()
    people = _Directory(conn)
    people.preload_cases(row.case_ref for row in rows)
    contexts: dict[str, ActionContext] = {}
    for row in rows:
        if row.case_ref not in contexts:
            contexts[row.case_ref] = people.for_case(row.case_ref)
        now = contexts[row.case_ref]
        if not now.service_manager_id:
            continue
        values = {
            "service": now.service,
            "team": now.team,
            "team_manager": now.team_manager,
            "team_manager_id": now.team_manager_id,
            "service_manager_id": now.service_manager_id,
        }
        if any(getattr(row, key) != value for key, value in values.items()):
            conn.execute(sa.update(reg.actions).where(reg.actions.c.action_id == row.action_id).values(**values))
            moved += 1
    return moved
