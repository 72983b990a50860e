"""Returned trackers: applying what managers recorded (status, completion, sign-off, notes, supervision dates) to
the register's actions, the later-dated update standing when two trackers disagree (issue 7)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from caseaudit_batch.actions.ids import COMPLETED, NO_LONGER_REQUIRED, OPEN, ActionRow, _show, to_date
from caseaudit_batch.actions.people import context_for_case
from caseaudit_batch.actions.sync import _UpdateLog, _Writes, add_supervision_action
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.clock import Clock

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
    pending = _Pending(conn)
    log = _UpdateLog(
        conn, clock, source="tracker", submission_id=submission_id, source_file=source_file, writes=pending.writes
    )
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
            pending.flush()  # the new action's own rows come after this tracker's earlier ones, as they happened
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
            pending.flush()  # listed twice: read as the rows above left it
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
                pending.states.append(
                    {
                        "b_action_id": action_id,
                        "b_status": values["status"],
                        "b_status_reason": status_reason,
                        "b_completed_on": values["completed_on"],
                        "b_signed_off": values["signed_off"],
                        "b_state_on": on_date,
                        "b_state_submission_id": submission_id,
                        "b_updated_at": now,
                    }
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
                pending.supervision.append(
                    {"b_action_id": action_id, "b_supervision_on": entry.supervision_on, "b_updated_at": now}
                )
    pending.flush()
    return result


def _set(*columns: str) -> Any:
    """``UPDATE actions SET column = :b_column ... WHERE action_id = :b_action_id``, for executemany."""
    return (
        sa.update(reg.actions)
        .where(reg.actions.c.action_id == sa.bindparam("b_action_id"))
        .values({column: sa.bindparam(f"b_{column}") for column in columns})
    )


_SET_STATE = _set(
    "status", "status_reason", "completed_on", "signed_off", "state_on", "state_submission_id", "updated_at"
)
_SET_SUPERVISION = _set("supervision_on", "updated_at")


class _Pending:
    """A tracker's register writes, held and written a few statements at a time (issue 25: a statement per row was
    most of ``actions``): its ``action_updates`` rows, and the actions' new state and supervision dates. Flushed
    before anything reads them back and at the end, so the register holds what one row at a time would."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.writes = _Writes(conn)
        self.states: list[dict[str, Any]] = []
        self.supervision: list[dict[str, Any]] = []

    def flush(self) -> None:
        self.writes.flush()
        if self.states:
            self.conn.execute(_SET_STATE, self.states)
        if self.supervision:
            self.conn.execute(_SET_SUPERVISION, self.supervision)
        self.states, self.supervision = [], []


def _submission_path(conn: Connection, submission_id: int | None) -> str:
    if submission_id is None:
        return "the register"
    path = conn.execute(sa.select(reg.submissions.c.path).where(reg.submissions.c.id == submission_id)).scalar()
    return str(path) if path else "an earlier tracker"
