"""Action trackers: which actions each service manager's tracker lists, and reading the trackers that come back.

Guidance section 2: "It is the responsibility of the Team Manager and Service Manager to track the actions; Service
Managers will be responsible for ensuring that identified actions have been completed within required timescales."

Making the workbook is the form machine's job (``forms.render_tracker``); this module decides what a tracker
lists (:func:`tracker_plan`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import register as reg
from .actions import COMPLETED, OPEN, baseline_state
from .clock import Month

BLANK_ROWS = 10


# ---------------------------------------------------------------------------------------------------------------
# What each tracker lists
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class TrackerPlan:
    """One service manager's tracker: the rows to pre-fill and the baseline stored with it."""

    service_manager_id: str
    name: str
    service: str
    rows: list[list[object]] = field(default_factory=list)
    baseline: dict[str, dict[str, Any]] = field(default_factory=dict)
    open_count: int = 0
    overdue_count: int = 0


def days_overdue(status: str, due: date | None, on: date) -> int | None:
    """Days past the due date of an open action on ``on`` (``None`` when not overdue)."""
    if status != OPEN or due is None or due >= on:
        return None
    return (on - due).days


def last_tracker_dates(conn: Connection, month: Month) -> dict[str, date]:
    """For each service manager, the day their latest tracker for an earlier month was made."""
    rows = conn.execute(
        sa.select(reg.action_trackers.c.service_manager_id, sa.func.max(reg.action_trackers.c.made_on))
        .where(reg.action_trackers.c.month < str(month))
        .group_by(reg.action_trackers.c.service_manager_id)
    ).all()
    return {str(r[0]): r[1] for r in rows if r[1] is not None}


def tracker_plan(conn: Connection, month: Month, today: date) -> tuple[list[TrackerPlan], int]:
    """Every service manager's tracker for ``month``, and how many open actions have no service manager.

    A tracker lists every open action in the service manager's teams (the case's team manager's line manager), and
    the completed ones since their last tracker; a completed action stays listed until it is signed off, because the
    sign-off is the Service Manager's oversight the QA team reports on (guidance section 2).
    """
    since = last_tracker_dates(conn, month)
    people = {r.staff_id: r for r in conn.execute(sa.select(reg.staff)).all()}
    rows = conn.execute(
        sa.select(reg.actions)
        .where(reg.actions.c.status.in_((OPEN, COMPLETED)))
        .order_by(reg.actions.c.team, reg.actions.c.due_date, reg.actions.c.action_id)
    ).all()
    plans: dict[str, TrackerPlan] = {}
    orphans = 0
    services: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        sm = row.service_manager_id
        if row.status == COMPLETED:
            cutoff = since.get(sm or "", month.first_day)
            recent = row.completed_on is not None and row.completed_on >= cutoff
            if not recent and row.signed_off:
                continue
        if not sm:
            orphans += row.status == OPEN
            continue
        if sm not in plans:
            person = people.get(sm)
            plans[sm] = TrackerPlan(sm, person.name if person is not None else sm, "")
        plan = plans[sm]
        late = days_overdue(row.status, row.due_date, today)
        plan.rows.append(
            [
                row.action_id,
                row.case_ref or "",
                row.team or "",
                row.team_manager or "",
                row.text,
                row.owner or "",
                row.due_date,
                late,
                row.status,
                row.completed_on,
                None,
                None,
                "Yes" if row.signed_off else None,
            ]
        )
        plan.baseline[row.action_id] = baseline_state(row)
        plan.open_count += row.status == OPEN
        plan.overdue_count += late is not None
        if row.service:
            services[sm].add(row.service)
    for sm, plan in plans.items():
        person = people.get(sm)
        plan.service = (person.service if person is not None and person.service else "") or ", ".join(
            sorted(services[sm])
        )
    return sorted(plans.values(), key=lambda p: (p.name.casefold(), p.service_manager_id)), orphans
