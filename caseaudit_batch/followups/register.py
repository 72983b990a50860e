"""Follow-ups and the register (issue 11): the rows ``followups.due_followups`` needs, and the earlier audit's
grades and actions a follow-up form shows. Reads only; the allocate pipeline writes the follow-up allocations.

Final grades follow guidance section 3: a resolved Head of Service escalation's grade, else the current
moderation's grade (a moderated section left blank means the moderator agreed), else the auditor's.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from caseaudit_batch.core import register as reg
from caseaudit_batch.core.clock import Month
from caseaudit_batch.core.framework import Framework, GradeParseError
from caseaudit_batch.followups.due import (
    CLOSED_STATUSES,
    ActionRecord,
    AllocationRecord,
    AuditRecord,
    Due,
    due_followups,
    final_grade,
)

SECTIONS = tuple(range(1, 10))


@dataclass(frozen=True)
class PreviousAudit:
    """What a follow-up form shows of the audit it follows up (final grades; actions as they stand now)."""

    audit_id: str
    case_ref: str
    month: str
    auditor_name: str
    date_completed: date | None
    overall_grade: str | None
    section_grades: dict[int, str | None]
    grades_from: str  # "the auditor" | "moderation" | "the Head of Service for Quality Assurance"
    actions: list[tuple[str, str, date | None, str, date | None]] = field(default_factory=list)

    def reason(self, after_months: int) -> str:
        """Why the follow-up is due, judged from the actions as they stand (as ``Due.describe``)."""
        closed = sum(1 for a in self.actions if a[3] in CLOSED_STATUSES)
        label = Month.parse(self.month).label if self.month else "the earlier audit"
        if self.actions and closed == len(self.actions):
            return f"all {closed} action(s) from the audit of {label} are closed"
        return f"{after_months} months have passed since the audit of {label}"

    @property
    def actions_summary(self) -> str:
        total = len(self.actions)
        if not total:
            return "No actions were recorded for the earlier audit."
        completed = sum(1 for a in self.actions if a[3] == "Completed")
        dropped = sum(1 for a in self.actions if a[3] == "No longer required")
        still_open = total - completed - dropped
        text = f"{total} action(s): {completed} completed, {dropped} no longer required, {still_open} still open."
        return text


def _canon(framework: Framework, value: Any) -> str | None:
    if value is None:
        return None
    try:
        grade = framework.grade_named(value)  # stored by name at ingest: looked up, not parsed again
    except GradeParseError:
        return None
    return grade.name if grade else None


@dataclass
class _Grades:
    auditor: str | None
    moderated: str | None = None
    resolved: str | None = None
    sections: dict[int, str | None] = field(default_factory=dict)

    @property
    def source(self) -> str:
        if self.resolved:
            return "the Head of Service for Quality Assurance"
        if self.moderated:
            return "moderation"
        return "the auditor"


def _grades(conn: Connection, framework: Framework, audit_ids: Collection[str] | None = None) -> dict[str, _Grades]:
    """Final grades of the current accepted audits (all, or those named)."""
    a, m = reg.audits, reg.moderations
    query = sa.select(a.c.audit_id, a.c.overall_grade, a.c.answers).where(a.c.current.is_(True))
    if audit_ids is not None:
        query = query.where(a.c.audit_id.in_(list(audit_ids)))
    found: dict[str, _Grades] = {}
    for row in conn.execute(query):
        answers = row.answers or {}
        overall = _canon(framework, row.overall_grade) or _canon(framework, answers.get("overall_grade"))
        sections = {n: _canon(framework, answers.get(f"s{n}_grade")) for n in SECTIONS}
        found[row.audit_id] = _Grades(overall, sections=sections)
    if not found:
        return found

    def only_these(query: Any, column: Any) -> Any:
        # All audits: no IN list (a register holds years of audits; SQLite limits bound parameters).
        return query if audit_ids is None else query.where(column.in_(list(found)))

    moderated = only_these(
        sa.select(m.c.audit_id, m.c.overall_grade, m.c.answers).where(m.c.current.is_(True)), m.c.audit_id
    )
    for row in conn.execute(moderated):
        grades = found.get(row.audit_id)
        if grades is None:
            continue
        answers = row.answers or {}
        grades.moderated = _canon(framework, row.overall_grade) or _canon(framework, answers.get("m_overall_grade"))
        for n in SECTIONS:
            moderated = _canon(framework, answers.get(f"m_s{n}_grade"))
            if moderated:  # blank means the moderator agreed with the auditor
                grades.sections[n] = moderated
    for audit_id, grade in _resolved_grades(conn, framework, found, every=audit_ids is None).items():
        found[audit_id].resolved = grade
    return found


def _resolved_grades(
    conn: Connection, framework: Framework, audits: Collection[str], *, every: bool
) -> dict[str, str | None]:
    """Audit ID -> the grade of its last resolved grade escalation, for ``audits`` (read from every escalation when
    ``every``: no IN list for all of a register's audits, since SQLite limits bound parameters)."""
    e = reg.escalations
    query = (
        sa.select(e.c.audit_id, e.c.grade)
        .where(e.c.kind == "grade", e.c.status == "Resolved", e.c.grade.is_not(None))
        .order_by(e.c.resolved_at)
    )
    if not every:
        query = query.where(e.c.audit_id.in_(list(audits)))
    resolved: dict[str, str | None] = {}
    for audit_id, grade in conn.execute(query).tuples():
        if audit_id in audits:
            resolved[audit_id] = _canon(framework, grade) or resolved.get(audit_id)
    return resolved


def _overall_grades(
    conn: Connection, framework: Framework, table: sa.Table, answer: str, audit_ids: Collection[str] | None
) -> dict[str, str | None]:
    """Audit ID -> the overall grade of each current row of ``audits`` or ``moderations`` (its column, else the
    answers' ``answer`` when the column holds no grade), as :func:`_grades` reads them. The answers (a form's
    text, kilobytes each) are decoded only for the rows whose column holds no grade."""
    query = sa.select(table.c.id, table.c.audit_id, table.c.overall_grade).where(table.c.current.is_(True))
    if audit_ids is not None:
        query = query.where(table.c.audit_id.in_(list(audit_ids)))
    found: dict[str, str | None] = {}
    blank: dict[str, int] = {}  # audit ID -> the row whose column holds no grade (the last row of an audit wins)
    for row_id, audit_id, overall in conn.execute(query).tuples():
        found[audit_id] = _canon(framework, overall)
        if found[audit_id] is None:
            blank[audit_id] = row_id
        else:
            blank.pop(audit_id, None)
    audit_of = {row_id: audit_id for audit_id, row_id in blank.items()}
    for chunk in reg.chunks(list(audit_of)):
        in_answers = sa.select(table.c.id, table.c.answers).where(table.c.id.in_(chunk))
        for row_id, answers in conn.execute(in_answers).tuples():
            found[audit_of[row_id]] = _canon(framework, (answers or {}).get(answer))
    return found


def final_grades(conn: Connection, framework: Framework, audit_ids: Collection[str] | None = None) -> dict[str, str]:
    """Audit ID -> final overall grade, for current accepted audits with a grade (the overall grades of
    :func:`_grades` without its section grades: allocation asks this of the whole register every month)."""
    auditor = _overall_grades(conn, framework, reg.audits, "overall_grade", audit_ids)
    if not auditor:
        return {}
    # As _grades: no IN list for all audits (a register holds years of them; SQLite limits bound parameters).
    moderated = _overall_grades(
        conn, framework, reg.moderations, "m_overall_grade", None if audit_ids is None else list(auditor)
    )
    resolved = _resolved_grades(conn, framework, auditor, every=audit_ids is None)
    out: dict[str, str] = {}
    for audit_id, grade in auditor.items():
        final = final_grade(grade, moderated.get(audit_id), resolved.get(audit_id))
        if final:
            out[audit_id] = final
    return out


def current_allocations(conn: Connection) -> list[Any]:
    a = reg.allocations
    return list(
        conn.execute(
            sa.select(a.c.audit_id, a.c.case_ref, a.c.month, a.c.staff_id, a.c.kind, a.c.followup_of, a.c.prefilled)
            .where(a.c.status == "allocated")
            .order_by(a.c.month, a.c.audit_id)
        )
    )


def due_for_month(
    conn: Connection, framework: Framework, month: Month, open_cases: Collection[str], *, after_months: int
) -> list[Due]:
    """The follow-ups due in ``month`` from the register as it stands (see :func:`followups.due_followups`)."""
    allocated = current_allocations(conn)
    grades = final_grades(conn, framework)
    audits = [
        AuditRecord(
            audit_id=row.audit_id,
            case_ref=row.case_ref,
            month=row.month,
            staff_id=row.staff_id,
            final_grade=grades.get(row.audit_id),
            kind=row.kind,
            service=str((row.prefilled or {}).get("service", "")),
        )
        for row in allocated
        if row.audit_id in grades
    ]
    t = reg.actions
    actions = [
        ActionRecord(row.audit_id, row.status, row.completed_on)
        for row in conn.execute(sa.select(t.c.audit_id, t.c.status, t.c.completed_on).where(t.c.audit_id.is_not(None)))
    ]
    records = [AllocationRecord(r.audit_id, r.case_ref, r.month, r.kind, r.followup_of) for r in allocated]
    return due_followups(audits, records, actions, month=month, open_cases=open_cases, after_months=after_months)


def previous_audit(conn: Connection, framework: Framework, audit_id: str) -> PreviousAudit:
    """The audit a follow-up follows up: final grades and where they came from, and its actions now."""
    a, al, t = reg.audits, reg.allocations, reg.actions
    allocation = conn.execute(sa.select(al).where(al.c.audit_id == audit_id)).first()
    # Only the date: the whole row would decode the form's answers, which _grades reads on its own.
    accepted = conn.execute(
        sa.select(a.c.date_completed).where(a.c.audit_id == audit_id, a.c.current.is_(True))
    ).first()
    grades = _grades(conn, framework, [audit_id]).get(audit_id) or _Grades(None)
    rows: Sequence[Any] = list(
        conn.execute(sa.select(t).where(t.c.audit_id == audit_id).order_by(t.c.due_date, t.c.action_id))
    )
    prefilled = (allocation.prefilled if allocation is not None else None) or {}
    return PreviousAudit(
        audit_id=audit_id,
        case_ref=allocation.case_ref if allocation is not None else "",
        month=allocation.month if allocation is not None else "",
        auditor_name=str(prefilled.get("auditor_name", "")),
        date_completed=accepted.date_completed if accepted is not None else None,
        overall_grade=final_grade(grades.auditor, grades.moderated, grades.resolved),
        section_grades=dict(grades.sections),
        grades_from=grades.source,
        actions=[
            (r.text, r.owner or "", r.due_date, r.status, r.completed_on if r.status in CLOSED_STATUSES else None)
            for r in rows
        ],
    )
