"""Who an action belongs to: the case, its team and the managers who track it (guidance section 2), read from the
register's allocations, cases and staff, and kept current on open actions (:func:`refresh_open_actions`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from caseaudit_batch.actions.ids import OPEN
from caseaudit_batch.core import register as reg


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
