"""The roster and caseload as allocation loads them: the rules from the configuration, the named people
checked, and the people and cases saved in the register."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from caseaudit_batch.allocation.allocate import (
    Rules,
    recent_window,
)
from caseaudit_batch.allocation.roster import (
    ALL_ROLES,
    Case,
    Caseload,
    Roster,
    load_caseload,
    load_roster,
)
from caseaudit_batch.core import messages
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.clock import Month
from caseaudit_batch.core.config import Config
from caseaudit_batch.core.errors import ConfigError
from caseaudit_batch.session import Context


def allocation_rules(config: Config) -> Rules:
    section = config.allocation
    for role in section.auditing_roles:
        if role not in ALL_ROLES:
            raise ConfigError(
                "CFG003",
                path=str(config.path),
                key="allocation.auditing_roles",
                found=repr(role),
                what="it is not a role caseaudit knows",
                expected="a list of roles from: " + ", ".join(ALL_ROLES),
            )
    return Rules(
        auditing_roles=section.auditing_roles,
        senior_conflict=section.senior_conflict,
        followup_share=section.followup_share,
    )


def check_named_people(config: Config, roster: Roster) -> list[str]:
    """Staff IDs the configuration names (QA's people) that the roster does not hold: warnings, not errors."""
    people = config.people
    named = [
        ("people.hos_quality_assurance", "the Head of Service for Quality Assurance", people.hos_quality_assurance),
        ("people.qa_officer", "the QA officer", people.qa_officer),
    ] + [("people.moderators", "a moderator", staff_id) for staff_id in people.moderators]
    return [
        messages.render("AL043", found=staff_id, what=what, key=key)
        for key, what, staff_id in named
        if staff_id and roster.get(str(staff_id)) is None
    ]


def people_paths(ctx: Context, roster: str | Path | None, caseload: str | Path | None) -> tuple[Path, Path]:
    people = ctx.config.people
    return (
        Path(roster) if roster else ctx.config.resolve(people.roster),
        Path(caseload) if caseload else ctx.config.resolve(people.caseload),
    )


def load_people(
    ctx: Context, roster: str | Path | None = None, caseload: str | Path | None = None
) -> tuple[Roster, Caseload]:
    """The roster and caseload named on the command line or in the configuration, fully checked."""
    roster_path, caseload_path = people_paths(ctx, roster, caseload)
    loaded = load_roster(roster_path)
    return loaded, load_caseload(caseload_path, loaded, ctx.framework.case_types)


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def save_people(conn: Connection, roster: Roster, caseload: Caseload, now: str) -> None:
    """Keep the register's people and cases as last loaded; people and cases no longer listed stay (IDs resolve)."""
    staff_rows = [
        {
            "staff_id": p.staff_id,
            "name": p.name,
            "email": p.email,
            "role": p.role,
            "team": p.team,
            "service": p.service,
            "line_manager_id": p.line_manager_id,
            "audit_status": p.audit_status,
            "paused_until": p.paused_until,
            "pause_reason": p.pause_reason,
            "loaded_at": now,
        }
        for p in roster.people.values()
    ]
    for chunk in reg.chunks(list(roster.people)):
        conn.execute(sa.delete(reg.staff).where(reg.staff.c.staff_id.in_(chunk)))
    if staff_rows:
        conn.execute(sa.insert(reg.staff), staff_rows)
    conn.execute(sa.update(reg.cases).values(open=False))
    refs = [c.case_ref for c in caseload.cases]
    for chunk in reg.chunks(refs):
        conn.execute(sa.delete(reg.cases).where(reg.cases.c.case_ref.in_(chunk)))
    case_rows = [
        {
            "case_ref": c.case_ref,
            "case_type": c.case_type,
            "service": c.service,
            "team": c.team,
            "social_worker_id": c.social_worker_id,
            "team_manager_id": c.team_manager_id,
            "allocated_on": c.allocated_on,
            "previous_worker_id": c.previous_worker_id,
            "cp_iro_id": c.cp_iro_id,
            "opened_on": c.opened_on,
            "open": True,
            "loaded_at": now,
        }
        for c in caseload.cases
    ]
    if case_rows:
        conn.execute(sa.insert(reg.cases), case_rows)


def recent_cases(conn: Connection, month: Month) -> set[str]:
    """Cases audited (allocated and not withdrawn or replaced) in the 12 months before ``month``."""
    a = reg.allocations
    rows = conn.execute(
        sa.select(a.c.case_ref).where(a.c.month.in_(recent_window(month)), a.c.status == "allocated")
    ).scalars()
    return set(rows)


def current_allocations(conn: Connection, month: str) -> list[Any]:
    a = reg.allocations
    return list(
        conn.execute(sa.select(a).where(a.c.month == month, a.c.status == "allocated").order_by(a.c.created_at))
    )


def case_from_register(conn: Connection, case_ref: str) -> Case | None:
    row = conn.execute(sa.select(reg.cases).where(reg.cases.c.case_ref == case_ref)).first()
    if row is None:
        return None
    return Case(
        case_ref=row.case_ref,
        case_type=row.case_type or "",
        service=row.service or "",
        team=row.team or "",
        social_worker_id=row.social_worker_id or "",
        team_manager_id=row.team_manager_id or "",
        allocated_on=row.allocated_on,
        previous_worker_id=row.previous_worker_id or "",
        cp_iro_id=row.cp_iro_id or "",
        opened_on=row.opened_on,
    )
