"""Escalations with a timescale (issue 22): each is due ``[moderation] escalation_working_days`` working days
(England's calendar) after it is raised; the Head of Service it waits on gets a reminder on the due date and every
week after until the outcome is recorded; ``moderate`` lists the open ones with their age.

Guidance section 3 sends grade disagreements to the Head of Service for Quality Assurance and actions disagreements
to the case's Head of Service; it sets no timescale, so the authority's is configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from caseaudit_batch.allocation.notices import long_date
from caseaudit_batch.core import messages
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.clock import working_days_after
from caseaudit_batch.ingest import feedback
from caseaudit_batch.moderation.notices import ModerationKit
from caseaudit_batch.session import Context, Run
from caseaudit_batch.workbook import forms

#: A reminder is repeated this many days after the last one while the escalation stays open.
REMIND_EVERY = timedelta(days=7)


@dataclass(frozen=True)
class OpenEscalation:
    escalation_id: str
    audit_id: str
    audit_ref: str
    case_ref: str
    month: str
    kind: str
    to_staff_id: str
    raised: date
    due: date
    reminded_on: date | None

    def age(self, today: date) -> int:
        return (today - self.raised).days

    def overdue(self, today: date) -> bool:
        return today > self.due

    def reminder_due(self, today: date) -> bool:
        """On the due date, then weekly after the last reminder."""
        if today < self.due:
            return False
        return self.reminded_on is None or today >= self.reminded_on + REMIND_EVERY


def due_date(raised: date, working_days: int) -> date:
    return working_days_after(raised, working_days)


def open_escalations(conn: Connection, working_days: int) -> list[OpenEscalation]:
    """Every open escalation, whatever month its audit belongs to, oldest first."""
    e, a = reg.escalations, reg.allocations
    rows = conn.execute(
        sa.select(
            e.c.escalation_id,
            e.c.audit_id,
            e.c.kind,
            e.c.to_staff_id,
            e.c.created_at,
            e.c.reminded_on,
            a.c.audit_ref,
            a.c.case_ref,
            a.c.month,
        )
        .join(a, a.c.audit_id == e.c.audit_id, isouter=True)
        .where(e.c.status == "Open")
        .order_by(e.c.created_at, e.c.escalation_id)
    )
    found = []
    for r in rows:
        raised = date.fromisoformat(str(r.created_at)[:10])
        found.append(
            OpenEscalation(
                escalation_id=r.escalation_id,
                audit_id=r.audit_id,
                audit_ref=r.audit_ref or r.audit_id,
                case_ref=r.case_ref or "",
                month=r.month or "",
                kind=r.kind,
                to_staff_id=r.to_staff_id or "",
                raised=raised,
                due=due_date(raised, working_days),
                reminded_on=r.reminded_on,
            )
        )
    return found


def remind_heads_of_service(ctx: Context, run: Run, kit: ModerationKit, working_days: int) -> list[str]:
    """A reminder notice to the Head of Service for each open escalation whose reminder is due today; the day is
    kept (``escalations.reminded_on``) so the next goes a week later. Returns the escalation IDs reminded."""
    today = ctx.clock.today
    reminded = []
    for esc in open_escalations(run.conn, working_days):
        if not esc.reminder_due(today):
            continue
        head = kit.people.get(esc.to_staff_id)
        if head is None or not head.email:
            continue  # said when it was raised (MOD021, MOD022); QA chases it from the list
        month = esc.month or str(today)[:7]
        kit.notice(
            ctx,
            run,
            "escalation_reminder",
            "escalation_reminder",
            [head.email],
            feedback.addresses(kit.qa_officer),
            month,
            esc.audit_id,
            ctx.config.output_dir
            / month
            / "moderation"
            / "notices"
            / forms.notice_filename(esc.audit_ref, esc.case_ref, f"{esc.escalation_id}-reminder-{today:%Y%m%d}"),
            [],
            {
                "head_of_service": head.name,
                "escalation_id": esc.escalation_id,
                "escalation_kind": esc.kind,
                "case_ref": esc.case_ref,
                "audit_ref": esc.audit_ref,
                "raised_date": long_date(esc.raised),
                "due_date": long_date(esc.due),
                "working_days": working_days,
                "age_days": esc.age(today),
            },
        )
        reminded.append(esc.escalation_id)
    if reminded:  # the day kept on every escalation reminded, in one statement (a year of open ones is hundreds)
        e = reg.escalations
        run.conn.execute(
            sa.update(e).where(e.c.escalation_id == sa.bindparam("reminded_id")).values(reminded_on=today),
            [{"reminded_id": escalation_id} for escalation_id in reminded],
        )
    return reminded


def listing(conn: Connection, month: str, today: date, working_days: int) -> list[str]:
    """``moderate``'s lines on the open escalations: each with its age and due date, overdue ones marked."""
    found = open_escalations(conn, working_days)
    if not found:
        return [messages.text("MOD044", label=month)]
    lines = [messages.text("MOD040", label=month, today=today.isoformat(), days=working_days, count=len(found))]
    for esc in found:
        lines.append(
            messages.text(
                "MOD041",
                escalation_id=esc.escalation_id,
                kind=esc.kind,
                audit=esc.audit_ref,
                to=esc.to_staff_id or messages.text("SUM041"),
                raised=esc.raised.isoformat(),
                age=esc.age(today),
                due=esc.due.isoformat(),
                overdue=messages.text("MOD042") if esc.overdue(today) else "",
            )
        )
    return lines
