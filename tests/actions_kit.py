"""A small synthetic authority for the action tests: staff, one case, one allocated audit and its actions."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from caseaudit_batch.core import register as reg
from caseaudit_batch.core.clock import Clock

CLOCK = Clock(date(2026, 9, 20))

# Staff ID, name, role, team, service, line manager
STAFF = [
    ("SM1", "Sam Service", "Service Manager", "", "Children in Need", "HOS1"),
    ("TM1", "Tara Team", "Team Manager", "CIN East", "Children in Need", "SM1"),
    ("AUD1", "Ali Auditor", "Team Manager", "CIN West", "Children in Need", "SM1"),
]
# Case reference, service, team, team manager
CASES = [("C1001", "Children in Need", "CIN East", "TM1")]


def seed(conn: Connection, audit_id: str = "2026-09-0001", month: str = "2026-09") -> None:
    if conn.execute(sa.select(reg.staff.c.staff_id)).first() is None:
        for staff_id, name, role, team, service, manager in STAFF:
            conn.execute(
                sa.insert(reg.staff).values(
                    staff_id=staff_id, name=name, role=role, team=team, service=service, line_manager_id=manager
                )
            )
        for case_ref, service, team, tm in CASES:
            conn.execute(sa.insert(reg.cases).values(case_ref=case_ref, service=service, team=team, team_manager_id=tm))
    conn.execute(
        sa.insert(reg.allocations).values(
            audit_id=audit_id,
            month=month,
            staff_id="AUD1",
            case_ref="C1001",
            due_date=date(2026, 9, 30),
            framework_version="x",
            prefilled={"service": "Children in Need", "team": "CIN East", "team_manager": "Tara Team"},
            created_at="2026-09-01T09:00:00+01:00",
        )
    )


def rows_of(conn: Connection, audit_id: str = "2026-09-0001") -> dict[str, dict[str, object]]:
    found = conn.execute(sa.select(reg.actions).where(reg.actions.c.audit_id == audit_id)).all()
    return {r.text: dict(r._mapping) for r in found}


AUDIT_ACTIONS = [
    ["Update the chronology", "Social worker", "2026-10-15"],
    ["Complete direct work with the child", "Social worker", "2026-10-31"],
    ["Hold a supervision on the plan", "Team manager", "2026-10-10"],
]
