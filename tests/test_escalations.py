"""Escalations with a timescale (issue 22): the due date counts England's working days (over Christmas here, with
Boxing Day's substitute Monday and New Year's Day); the Head of Service gets a reminder on the due date and a week
later, never twice in a week; ``moderate`` lists the open ones with their age; resolved in time or late is counted
in the right measure."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from moderation_kit import MONTH, configure, email, seed

from caseaudit_batch import session
from caseaudit_batch.core import register as reg
from caseaudit_batch.moderation import escalations
from caseaudit_batch.moderation import stage as moderation_stage
from caseaudit_batch.moderation.measures import escalations_open_at
from caseaudit_batch.reports import trust

RAISED = "2026-12-17T10:00:00+00:00"  # a Thursday


def test_the_due_date_skips_weekends_and_bank_holidays() -> None:
    # 10 working days after Thu 17 Dec 2026: Fri 18; 21-24 Dec; Christmas Day (Fri 25) and Boxing Day's substitute
    # (Mon 28) are holidays; 29-31 Dec; New Year's Day (Fri 1 Jan) is one; Mon 4 and Tue 5 Jan.
    assert escalations.due_date(date(2026, 12, 17), 10) == date(2027, 1, 5)
    assert escalations.due_date(date(2026, 12, 10), 10) == date(2026, 12, 24)  # no holiday in between: two weeks
    assert escalations.due_date(date(2026, 12, 17), 0) == date(2026, 12, 17)


@pytest.fixture
def qa(workspace: Path) -> Path:
    configure(workspace, qa_officer="M1")
    context = session.open_context(workspace / "caseaudit.toml", "2026-12-17")
    seed(context)
    with context.register.writer() as conn:
        conn.execute(
            sa.insert(reg.escalations).values(
                escalation_id="ESC-0001",
                audit_id="2026-09-003",
                kind="grade",
                to_staff_id="HOS1",
                status="Open",
                created_at=RAISED,
            )
        )
    context.close()
    return workspace


def moderate(workspace: Path, today: str) -> session.Result:
    context = session.open_context(workspace / "caseaudit.toml", today)
    try:
        return moderation_stage.moderate(context, MONTH)
    finally:
        context.close()


def reminders(workspace: Path) -> list[tuple[str, str]]:
    context = session.open_context(workspace / "caseaudit.toml", "2027-01-05")
    try:
        with context.register.reader() as conn:
            n = reg.notices
            rows = conn.execute(
                sa.select(n.c.to_addr, n.c.made_at).where(n.c.kind == "escalation_reminder").order_by(n.c.id)
            )
            return [(r.to_addr, r.made_at[:10]) for r in rows]
    finally:
        context.close()


def test_the_head_of_service_is_reminded_on_the_due_date_and_a_week_later(qa: Path) -> None:
    before = moderate(qa, "2027-01-04")
    assert before.data["escalation_reminders"] == [] and reminders(qa) == []
    listed = [line for line in before.lines if "ESC-0001" in line]
    assert listed and "18 day(s) ago" in listed[0] and "due 2027-01-05" in listed[0] and "OVERDUE" not in listed[0]

    on_the_day = moderate(qa, "2027-01-05")
    assert on_the_day.data["escalation_reminders"] == ["ESC-0001"]
    assert reminders(qa) == [(email("HOS1"), "2027-01-05")]
    assert moderate(qa, "2027-01-05").data["escalation_reminders"] == []  # once a day at most
    assert moderate(qa, "2027-01-11").data["escalation_reminders"] == []  # six days later: not yet
    overdue = [line for line in moderate(qa, "2027-01-11").lines if "ESC-0001" in line]
    assert "OVERDUE" in overdue[0] and "25 day(s) ago" in overdue[0]
    a_week_later = moderate(qa, "2027-01-12")
    assert a_week_later.data["escalation_reminders"] == ["ESC-0001"]
    assert reminders(qa) == [(email("HOS1"), "2027-01-05"), (email("HOS1"), "2027-01-12")]
    eml = next((qa / "output" / MONTH / "moderation" / "notices").glob("*ESC-0001-reminder-20270112.eml"))
    text = eml.read_text("utf-8")
    assert "was due on Tuesday 5 January 2027" in text and "CR-1003" in text


def _timed(*rows: tuple[str, str | None]) -> pd.DataFrame:
    """Escalations as (raised, resolved) dates, with their due dates at 10 working days."""
    raised = [date.fromisoformat(r) for r, _ in rows]
    resolved = [date.fromisoformat(s) if s else None for _, s in rows]
    due = [escalations.due_date(d, 10) for d in raised]
    return pd.DataFrame({"due": due, "resolved_on": resolved}, dtype=object)


def test_resolved_in_time_and_late_are_counted_in_the_right_measure() -> None:
    d = date(2027, 1, 29)
    esc = _timed(
        ("2026-12-17", "2027-01-05"),  # resolved on its due date (5 Jan): in time
        ("2026-12-17", "2027-01-06"),  # a day after it: late
        ("2026-12-17", None),  # still open, due 5 Jan: overdue, and counts against the rate
        ("2027-01-27", None),  # open, due 10 Feb: neither overdue nor counted yet
        ("2027-01-20", "2027-01-22"),  # resolved early, due 3 Feb: in time
        ("2027-01-20", "2027-02-02"),  # resolved after D: open at D, not yet counted
    )
    assert trust.timescale(esc, d) == {"escalations_overdue": 1, "escalations_resolved_in_time_rate": 2 / 4}
    assert trust.timescale(esc.iloc[3:4], d) == {"escalations_overdue": 0, "escalations_resolved_in_time_rate": None}


def test_escalations_open_at_d_whatever_month_their_audit_belongs_to() -> None:
    frame = pd.DataFrame(
        {
            "audit_id": ["a-2025", "b-2026", "c-2026", "d-2026"],
            "created_at": ["2025-11-03T09:00:00", "2026-09-29T10:00:00", "2026-09-02T10:00:00", "2026-10-02T10:00"],
            "resolved_at": [None, "2026-10-01T10:00:00", "2026-09-20T10:00:00", None],
            "status": ["Open", "Resolved", "Resolved", "Open"],
        }
    )
    # Open at 30 Sep: the 2025 one (still open), and b (resolved after D); c was resolved before D, d raised after.
    assert escalations_open_at(frame, date(2026, 9, 30)) == 2
