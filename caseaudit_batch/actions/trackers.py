"""Action trackers: which actions each service manager's tracker lists, and reading the trackers that come back.

Guidance section 2: "It is the responsibility of the Team Manager and Service Manager to track the actions; Service
Managers will be responsible for ensuring that identified actions have been completed within required timescales."

Making the workbook is the form machine's job (``forms.render_tracker``); reading it safely is the ingest layer's
(``ingest.files.open_form``, ``workbook.reader``). This module decides what a tracker lists (:func:`tracker_plan`) and
checks one returned file (:func:`check_tracker_file`) with the rules of ``tracker_rules``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from caseaudit_batch.actions import rules as tracker_rules
from caseaudit_batch.actions.ids import COMPLETED, OPEN
from caseaudit_batch.actions.updates import baseline_state
from caseaudit_batch.core import messages
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.clock import LONDON, Month
from caseaudit_batch.ingest import files as inbox_files
from caseaudit_batch.retention.register import Purges
from caseaudit_batch.workbook import reader
from caseaudit_batch.workbook.layout import tracker_layout

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


# ---------------------------------------------------------------------------------------------------------------
# Reading returned trackers
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrackerRecord:
    id: int
    month: str
    service_manager_id: str
    baseline: dict[str, dict[str, Any]]
    rows: int


@dataclass
class TrackerBook:
    """What checking returned trackers needs from the register, read once per run."""

    known_actions: set[str]
    known_cases: set[str]
    trackers: dict[tuple[str, str], list[TrackerRecord]]
    purges: Purges = field(default_factory=Purges)

    @classmethod
    def load(cls, conn: Connection) -> TrackerBook:
        trackers: dict[tuple[str, str], list[TrackerRecord]] = defaultdict(list)
        for r in conn.execute(sa.select(reg.action_trackers).order_by(reg.action_trackers.c.id)).all():
            trackers[(r.month, r.service_manager_id)].append(
                TrackerRecord(r.id, r.month, r.service_manager_id, dict(r.baseline or {}), r.rows)
            )
        return cls(
            known_actions={str(r[0]) for r in conn.execute(sa.select(reg.actions.c.action_id))},
            known_cases={str(r[0]) for r in conn.execute(sa.select(reg.cases.c.case_ref))},
            trackers=dict(trackers),
            purges=Purges.load(conn),
        )


@dataclass
class ReturnedTracker:
    """A returned tracker that passed its checks: what to apply, against which baseline."""

    record: TrackerRecord
    entries: list[tracker_rules.TrackerEntry]
    file_date: date


def file_date(mtime: float, today: date) -> date:
    """The file's modification day in London; never later than the program's today."""
    return min(datetime.fromtimestamp(mtime, LONDON).date(), today)


def check_tracker_file(entry: inbox_files.Entry, book: TrackerBook, today: date) -> ReturnedTracker | None:
    """Give one returned tracker its outcome: rejected (not a tracker of this register), returned (errors to fix, the
    whole file), or accepted (with its checked rows to apply)."""
    try:
        package, calamine, meta = inbox_files.open_form(entry, "tracker", "actions")
        month, sm = meta.get("month", ""), meta.get("auditor_id", "")
        if inbox_files.ignored_as_purged(entry, month, book.purges):
            return None  # a tracker of a month purged from the register
        records = book.trackers.get((month, sm))
        if not records:
            entry.settle("rejected", "ACT011", who=sm or "no service manager", month=month or "no month")
            return None
        layout = tracker_layout(max(r.rows for r in records), 0)
        form = reader.read_values(package, calamine, layout, meta)
    except reader.Refused as refused:
        entry.settle(refused.outcome, refused.code, note=messages.text(refused.code, **refused.params))
        return None
    table = layout.tables["tracker"]
    rows = tracker_rules.table_rows(
        form.tables["tracker"],
        first_row=form.first_rows.get("tracker", table.first_row),
        sheet=table.sheet,
        file=entry.rel,
    )
    listed = {r.text("Action ID") for r in rows if not r.is_new}
    # The copy it came from: the latest tracker that listed every action it holds (a tracker made again the same
    # month lists different actions), else the latest.
    record = next((r for r in reversed(records) if listed <= set(r.baseline)), records[-1])
    checked = tracker_rules.check_tracker(
        rows,
        tracker_rules.RuleContext(today=today, known_actions=book.known_actions, known_cases=book.known_cases),
        tracker_rules.outside_table(form.strays.get("tracker", ()), sheet=table.sheet, file=entry.rel),
    )
    entry.problems = list(checked.problems)
    if checked.errors:
        first = checked.errors[0]
        entry.settle("returned", first.code, note=_returned_note(checked))
        for p in checked.errors[1:]:
            if p.code not in entry.codes:
                entry.codes.append(p.code)
        return None
    entry.settle("accepted", note=messages.text("ACT013", count=len(checked.entries)))
    for p in checked.problems:
        if p.code not in entry.codes:
            entry.codes.append(p.code)
    return ReturnedTracker(record, checked.entries, file_date(entry.mtime, today))


def _returned_note(checked: tracker_rules.CheckedTracker) -> str:
    errors = checked.errors
    first = errors[0]
    more = f" ({len(errors) - 1} more problem(s) listed in the feedback)" if len(errors) > 1 else ""
    return f"{first.where}: {first.message} {first.fix}{more}"
