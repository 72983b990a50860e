"""Safeguarding alerts until QA acknowledges them (guidance section 3: concerns go to the case's managers "as a
matter of urgency", so an alert must never be committed and then missed).

An alert raised by ingest stays *unacknowledged* until a QA officer records what was done with
``caseaudit alerts --ack N --note TEXT``. Every command that writes lists the unacknowledged alerts first, whatever
else happened (even when an output folder could not be written and the alert's files were not made). The note is
kept in the register, never in a log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from caseaudit_batch.core import messages
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.errors import ConfigError


@dataclass(frozen=True)
class Alert:
    """One alert as QA sees it: its number, the case and audit it is about, the team, and when it was raised."""

    number: int
    case_ref: str
    audit: str  # the audit's readable reference where it has one, else its ID
    team: str
    raised_on: str
    acknowledged_on: str = ""

    def line(self) -> str:
        return messages.text(
            "ALR002",
            number=self.number,
            case_ref=self.case_ref,
            audit=self.audit,
            team=self.team or messages.text("ALR005"),
            date=self.raised_on,
        )


def _alerts(conn: Connection, where: Any) -> list[Alert]:
    rows = reg.alert_rows(conn, where)  # shared with the reports' "alerts waiting" table (issue 20)
    found = []
    for row in rows:
        prefilled = row.prefilled or {}
        found.append(
            Alert(
                number=int(row.id),
                case_ref=str(row.case_ref or prefilled.get("case_ref") or ""),
                audit=str(prefilled.get("audit_ref") or row.audit_id),
                team=str(prefilled.get("team") or ""),
                raised_on=str(row.raised_at or "")[:10],
                acknowledged_on=str(row.acknowledged_at or "")[:10],
            )
        )
    return found


def unacknowledged(conn: Connection, *, except_runs: Sequence[int] = ()) -> list[Alert]:
    """Every alert QA has not yet acknowledged, oldest first; ``except_runs``: leave out the alerts raised by these
    runs (a command that finished says its own new alerts itself, first, so each alert is said once)."""
    waiting: sa.ColumnElement[bool] = reg.alerts.c.acknowledged_at.is_(None)
    if except_runs:
        own = sa.select(reg.submissions.c.id).where(reg.submissions.c.run_id.in_(list(except_runs)))
        waiting = sa.and_(waiting, sa.or_(reg.alerts.c.submission_id.is_(None), reg.alerts.c.submission_id.not_in(own)))
    return _alerts(conn, waiting)


def summary_lines(alerts: list[Alert]) -> list[str]:
    """What a command says first when alerts wait: the count, then one line per alert."""
    if not alerts:
        return []
    return [messages.render("ALR001", count=len(alerts)), *(alert.line() for alert in alerts)]


def acknowledge(conn: Connection, number: int, note: str, *, user: str, now: str) -> Alert:
    """Record that QA dealt with alert ``number``: who, when, and what was done (the note, kept in the register)."""
    if not note or not note.strip():
        raise ConfigError("ALR011", number=number)
    found = _alerts(conn, reg.alerts.c.id == number)
    if not found:
        raise ConfigError("ALR010", number=number)
    if found[0].acknowledged_on:
        raise ConfigError("ALR012", number=number, date=found[0].acknowledged_on)
    conn.execute(
        sa.update(reg.alerts)
        .where(reg.alerts.c.id == number)
        .values(acknowledged_at=now, acknowledged_by=user, ack_note=note.strip())
    )
    return found[0]
