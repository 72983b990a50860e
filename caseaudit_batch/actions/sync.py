"""Creating and re-syncing the register's actions from accepted audits and moderations, and adding the actions
managers set in supervision.

Ingest calls :func:`sync_audit_actions` when an audit version is accepted and :func:`sync_moderation_actions` when a
moderation is; :func:`sync_from_register` catches up with every accepted version not yet synced. Every change is an
``action_updates`` row (:class:`_UpdateLog`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from caseaudit_batch.actions.ids import (
    NO_LONGER_REQUIRED,
    OPEN,
    REPLACED,
    ActionRow,
    _IdBook,
    _new_id,
    _show,
    action_id_for,
    parse_rows,
)
from caseaudit_batch.actions.people import ActionContext, _Directory, context_for_audit
from caseaudit_batch.core import messages
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.clock import Clock


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
            log.add(action_id, "created", status=OPEN, note=messages.text("ACT030", source=source))
            result.created.append(action_id)
            continue
        changes: dict[str, Any] = {}
        notes: list[str] = []
        if match.text != row.text:
            changes["text"] = row.text
            notes.append(messages.text("ACT031"))
        if match.owner != row.owner:
            changes["owner"] = row.owner
            none = messages.text("ACT033")
            notes.append(messages.text("ACT032", old=match.owner or none, new=row.owner or none))
        if match.due_date != row.due_date:
            changes["due_date"] = row.due_date
            notes.append(messages.text("ACT034", old=_show(match.due_date), new=_show(row.due_date)))
        if match.seq != seq:
            changes["seq"] = seq
        reopened = match.status == NO_LONGER_REQUIRED and match.status_reason == REPLACED
        if reopened:
            changes.update(status=OPEN, status_reason=None, state_on=clock.today, state_submission_id=None)
        if changes:
            changes["updated_at"] = now
            conn.execute(sa.update(reg.actions).where(reg.actions.c.action_id == match.action_id).values(**changes))
        if reopened:
            log.add(match.action_id, "changed", status=OPEN, note=messages.text("ACT035", source=source))
            result.reopened.append(match.action_id)
        elif notes:
            log.add(match.action_id, "changed", note=messages.text("ACT036", source=source, changes="; ".join(notes)))
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
                note=messages.text("ACT037", source=source),
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
    s = reg.action_sources
    # (audit, source) -> the submission last synced, for the versions read below only.
    seen: dict[tuple[str, str], int | None] = {}
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
        # The register compares each current version with the submission last synced (a version's submission is
        # never null; a missing or null one is not synced): this runs at every ingest, moderation and run, and
        # reading a row per audit ever synced into Python each time grew with the register.
        pending: list[int] = []
        for row_id, audit_id, last_synced, had in conn.execute(
            sa.select(table.c.id, table.c.audit_id, s.c.submission_id, s.c.audit_id.is_not(None))
            .select_from(table)
            .join(s, sa.and_(s.c.audit_id == table.c.audit_id, s.c.source == source), isouter=True)
            .where(
                table.c.current.is_(True),
                sa.or_(s.c.submission_id.is_(None), s.c.submission_id != table.c.submission_id),
            )
            .order_by(table.c.id)  # the order the table was scanned in before: chunks below read in this order
        ).tuples():
            pending.append(row_id)
            if had:
                seen[(audit_id, source)] = last_synced
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
