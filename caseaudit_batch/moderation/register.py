"""Moderation in the register: the sample and its changes, accepted moderations, section grades, escalations.

Append-only where it matters: a newer accepted moderation of an audit supersedes the earlier one (``current``
False) and never overwrites it; the auditor's grades stay on the audit's rows; escalations keep their outcome.
The decisions themselves come from :mod:`caseaudit_batch.moderation`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from caseaudit_batch.core import register as reg
from caseaudit_batch.core.errors import ConfigError
from caseaudit_batch.core.framework import Framework, GradeParseError
from caseaudit_batch.moderation import policy as mod


class ModerationError(ConfigError):
    """A ``moderate`` option that cannot be carried out (an unknown audit or escalation): exit 2, nothing changed."""


@dataclass(frozen=True)
class AuditFacts:
    """What moderation needs to know about an accepted audit: its current version, auditor, case and managers."""

    audit_id: str
    audit_row_id: int
    month: str
    overall_grade: str | None
    answers: dict[str, Any]
    prefilled: dict[str, Any]
    case_ref: str
    auditor_id: str
    auditor_name: str
    auditor_email: str
    auditor_service: str | None
    team_manager_id: str | None
    framework_version: str
    audit_ref: str = ""  # the readable reference people see (YYYY-MM-NNNN)


def _staff(conn: Connection, staff_ids: Sequence[str] | None = None) -> dict[str, Any]:
    """Staff rows by ID: all of them, or only ``staff_ids`` (one moderation needs one auditor, not the roster)."""
    query = sa.select(reg.staff)
    if staff_ids is not None:
        query = query.where(reg.staff.c.staff_id.in_(sorted(set(staff_ids))))
    return {r.staff_id: r for r in conn.execute(query)}


def line_managers(conn: Connection) -> dict[str, str | None]:
    return {r.staff_id: r.line_manager_id for r in conn.execute(sa.select(reg.staff))}


def audit_facts(conn: Connection, month: str | None = None, audit_ids: Sequence[str] | None = None) -> list[AuditFacts]:
    """The current accepted version of each audit (of ``month``, or the given IDs), with its auditor and case."""
    a, al, c = reg.audits, reg.allocations, reg.cases
    query = (
        sa.select(
            a.c.id,
            a.c.audit_id,
            a.c.month,
            a.c.overall_grade,
            a.c.answers,
            al.c.prefilled,
            al.c.case_ref,
            al.c.staff_id,
            al.c.framework_version,
            al.c.audit_ref,
            c.c.team_manager_id,
        )
        .join(al, al.c.audit_id == a.c.audit_id)
        .join(c, c.c.case_ref == al.c.case_ref, isouter=True)
        .where(a.c.current.is_(True))
        .order_by(a.c.audit_id)
    )
    if month is not None:
        query = query.where(a.c.month == month)
    if audit_ids is not None:
        query = query.where(a.c.audit_id.in_(list(audit_ids)))
    rows = conn.execute(query).all()
    staff = _staff(conn, [row.staff_id for row in rows]) if len(rows) < 500 else _staff(conn)
    facts = []
    for row in rows:
        person = staff.get(row.staff_id)
        prefilled = dict(row.prefilled or {})
        facts.append(
            AuditFacts(
                audit_id=row.audit_id,
                audit_row_id=row.id,
                month=row.month,
                overall_grade=row.overall_grade,
                answers=dict(row.answers or {}),
                prefilled=prefilled,
                case_ref=row.case_ref,
                auditor_id=row.staff_id,
                auditor_name=person.name if person else str(prefilled.get("auditor_name", row.staff_id)),
                auditor_email=(person.email or "") if person else "",
                auditor_service=person.service if person else None,
                team_manager_id=row.team_manager_id,
                framework_version=row.framework_version,
                audit_ref=row.audit_ref or row.audit_id,
            )
        )
    return facts


def load_sample(conn: Connection, month: str) -> list[Any]:
    t = reg.moderation_sample
    return list(conn.execute(sa.select(t).where(t.c.month == month).order_by(t.c.id)))


def _log_change(
    conn: Connection, month: str, audit_id: str, change: str, reason: str, user: str, run_id: int | None, now: str
) -> None:
    conn.execute(
        sa.insert(reg.moderation_changes).values(
            month=month, audit_id=audit_id, change=change, reason=reason, user=user, run_id=run_id, changed_at=now
        )
    )


@dataclass
class DrawResult:
    added: list[str] = field(default_factory=list)
    unassigned: list[str] = field(default_factory=list)


def _moderator_load(conn: Connection, month: str) -> dict[str, int]:
    t = reg.moderation_sample
    rows = conn.execute(
        sa.select(t.c.moderator_id, sa.func.count())
        .where(t.c.month == month, t.c.status == mod.SAMPLED, t.c.moderator_id.is_not(None))
        .group_by(t.c.moderator_id)
    )
    return {r[0]: int(r[1]) for r in rows}


def _insert_sampled(
    conn: Connection,
    month: str,
    picks: Sequence[mod.Pick],
    facts: dict[str, AuditFacts],
    moderators: Sequence[str],
    due: date,
    now: str,
) -> DrawResult:
    result = DrawResult()
    assigned = mod.assign_moderators(
        [(p.audit_id, facts[p.audit_id].auditor_id) for p in picks], moderators, _moderator_load(conn, month)
    )
    t = reg.moderation_sample
    # The month's sample rows read once, and the new rows written in one statement (in the picks' order, so their
    # IDs are as they were one by one): a first draw of fifty audits was a hundred statements.
    existing_ids = dict(conn.execute(sa.select(t.c.audit_id, t.c.id).where(t.c.month == month)).tuples().all())
    new_rows: list[dict[str, Any]] = []
    for pick in picks:
        moderator = assigned.get(pick.audit_id)
        existing = existing_ids.get(pick.audit_id)
        values = dict(reason=pick.reason, moderator_id=moderator, due_date=due, status=mod.SAMPLED)
        if existing is None:
            new_rows.append(dict(month=month, audit_id=pick.audit_id, created_at=now, **values))
        else:  # an audit QA removed and adds back: the same row, the change logged
            conn.execute(sa.update(t).where(t.c.id == existing).values(form_file=None, **values))
        result.added.append(pick.audit_id)
        if moderator is None:
            result.unassigned.append(pick.audit_id)
    if new_rows:
        conn.execute(sa.insert(t), new_rows)
    return result


def assign_missing(conn: Connection, month: str, moderators: Sequence[str], due: date) -> list[str]:
    """Give a moderator (and a fresh due date) to sampled audits left without one, e.g. once moderators are
    configured. Returns the audit IDs assigned."""
    t = reg.moderation_sample
    rows = [r for r in load_sample(conn, month) if r.status == mod.SAMPLED and not r.moderator_id]
    if not rows or not moderators:
        return []
    facts = {f.audit_id: f for f in audit_facts(conn, audit_ids=[r.audit_id for r in rows])}
    pairs = [(r.audit_id, facts[r.audit_id].auditor_id) for r in rows if r.audit_id in facts]
    assigned = mod.assign_moderators(pairs, moderators, _moderator_load(conn, month))
    done = []
    for row in rows:
        moderator = assigned.get(row.audit_id)
        if moderator:
            conn.execute(sa.update(t).where(t.c.id == row.id).values(moderator_id=moderator, due_date=due))
            done.append(row.audit_id)
    return done


def draw_sample(
    conn: Connection,
    month: str,
    policy: mod.SamplingPolicy,
    moderators: Sequence[str],
    due: date,
    *,
    now: str,
    user: str,
    run_id: int | None = None,
) -> DrawResult:
    """Add to the month's sample the audits the policy picks now (a first draw, or late audits on a later run)."""
    facts = {f.audit_id: f for f in audit_facts(conn, month)}
    candidates = [mod.Candidate(f.audit_id, f.overall_grade, f.auditor_id, f.auditor_service) for f in facts.values()]
    existing = [mod.SampleRow(r.audit_id, r.status, r.reason) for r in load_sample(conn, month)]
    picks = mod.select_sample(month, candidates, existing, policy)
    result = _insert_sampled(conn, month, picks, facts, moderators, due, now)
    if picks:  # one statement for the draw's log rows, in the picks' order
        conn.execute(
            sa.insert(reg.moderation_changes),
            [
                dict(
                    month=month,
                    audit_id=pick.audit_id,
                    change="drawn",
                    reason=pick.reason,
                    user=user,
                    run_id=run_id,
                    changed_at=now,
                )
                for pick in picks
            ],
        )
    return result


def add_audit(
    conn: Connection,
    month: str,
    audit_id: str,
    moderators: Sequence[str],
    due: date,
    *,
    now: str,
    user: str,
    run_id: int | None = None,
) -> DrawResult:
    """QA adds an audit (``--add``): it must be an accepted audit of the month."""
    facts = {f.audit_id: f for f in audit_facts(conn, audit_ids=[audit_id])}
    fact = facts.get(audit_id)
    if fact is None or fact.month != month:
        raise ModerationError("MOD001", audit_id=audit_id, month=month)
    current = {r.audit_id: r for r in load_sample(conn, month)}
    if audit_id in current and current[audit_id].status == mod.SAMPLED:
        return DrawResult()
    result = _insert_sampled(conn, month, [mod.Pick(audit_id, mod.REASON_ADDED)], facts, moderators, due, now)
    _log_change(conn, month, audit_id, "added", mod.REASON_ADDED, user, run_id, now)
    return result


def remove_audit(
    conn: Connection, month: str, audit_id: str, *, now: str, user: str, run_id: int | None = None
) -> None:
    """QA removes an audit (``--remove``): kept as a ``removed`` row, never drawn again; refused once moderated."""
    t = reg.moderation_sample
    row = conn.execute(
        sa.select(t).where(t.c.month == month, t.c.audit_id == audit_id, t.c.status == mod.SAMPLED)
    ).first()
    if row is None:
        raise ModerationError("MOD002", audit_id=audit_id, month=month)
    moderated = conn.execute(
        sa.select(sa.func.count()).select_from(reg.moderations).where(reg.moderations.c.audit_id == audit_id)
    ).scalar()
    if moderated:
        raise ModerationError("MOD003", audit_id=audit_id)
    conn.execute(sa.update(t).where(t.c.id == row.id).values(status=mod.REMOVED))
    _log_change(conn, month, audit_id, "removed", row.reason, user, run_id, now)


# ---------------------------------------------------------------------------------------------------------------
# Accepted moderations
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class RecordedModeration:
    moderation_row_id: int
    audit: AuditFacts
    outcome: mod.ModerationOutcome
    escalations: list[dict[str, Any]] = field(default_factory=list)
    superseded: int = 0


def record_moderation(
    conn: Connection,
    framework: Framework,
    audit_id: str,
    answers: dict[str, Any],
    *,
    submission_id: int,
    hos_quality_assurance: str | None,
    now: str,
    moderator_id: str | None = None,
    moderation_date: date | None = None,
    managers: Mapping[str, str | None] | None = None,
    audit: AuditFacts | None = None,
) -> RecordedModeration:
    """Merge an accepted (validated) moderation into the register.

    The moderated grades become the audit's final grades: a ``moderations`` row (the earlier one, if any, is kept with
    ``current`` False) and ``section_grades`` rows with source ``moderator``; the auditor's rows stay as they are.
    Disagreement opens escalations (guidance section 3), one per kind, unless one of that kind is already open.
    ``managers``: :func:`line_managers`, when the caller records many moderations and has read it once.
    ``audit``: the audit's :func:`audit_facts`, when the caller read them in the same transaction (a run that
    merges a month's moderations read them all at once; two queries a moderation were a fifth of its time).
    """
    if audit is None or audit.audit_id != audit_id:
        facts = audit_facts(conn, audit_ids=[audit_id])
        if not facts:
            raise ModerationError("MOD004", audit_id=audit_id)
        audit = facts[0]
    outcome = mod.interpret(framework, audit.answers, answers)
    m = reg.moderations
    superseded = conn.execute(
        sa.update(m).where(m.c.audit_id == audit_id, m.c.current.is_(True)).values(current=False)
    ).rowcount
    inserted = conn.execute(
        sa.insert(m).values(
            audit_id=audit_id,
            audit_row_id=audit.audit_row_id,
            submission_id=submission_id,
            moderator_id=moderator_id,
            moderation_date=moderation_date,
            grade_agreed=outcome.grade_agreed,
            actions_agreed=outcome.actions_agreed,
            overall_grade=outcome.moderated_overall.name if outcome.moderated_overall else None,
            answers=_json_safe(answers),
            current=True,
            accepted_at=now,
        )
    ).inserted_primary_key
    assert inserted is not None
    moderation_row_id = int(inserted[0])
    section_rows = [
        {
            "audit_row_id": audit.audit_row_id,
            "section": number,
            "grade": grade.name if grade else None,
            "source": "moderator",
            "moderation_row_id": moderation_row_id,
        }
        for number, grade in outcome.moderated_sections.items()
    ]
    if section_rows:  # one statement for the nine sections
        conn.execute(sa.insert(reg.section_grades), section_rows)
    recorded = RecordedModeration(moderation_row_id, audit, outcome, superseded=int(superseded or 0))
    case_hos = mod.case_head_of_service(
        audit.team_manager_id, managers if managers is not None else line_managers(conn)
    )
    e = reg.escalations
    for need in mod.escalations_needed(outcome, hos_quality_assurance, case_hos):
        already = conn.execute(
            sa.select(e.c.escalation_id).where(e.c.audit_id == audit_id, e.c.kind == need.kind, e.c.status == "Open")
        ).scalar_one_or_none()
        if already is not None:
            continue
        escalation_id = mod.next_escalation_id(r[0] for r in conn.execute(sa.select(e.c.escalation_id)))
        values = dict(
            escalation_id=escalation_id,
            audit_id=audit_id,
            kind=need.kind,
            to_staff_id=need.to_staff_id,
            status="Open",
            moderation_row_id=moderation_row_id,
            created_at=now,
        )
        conn.execute(sa.insert(e).values(**values))
        recorded.escalations.append(values)
    return recorded


def _json_safe(value: Any) -> Any:
    """Dates as ISO text so the answers go into a JSON column."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


# ---------------------------------------------------------------------------------------------------------------
# Escalation outcomes
# ---------------------------------------------------------------------------------------------------------------
def resolve_escalation(
    conn: Connection, framework: Framework, escalation_id: str, note: str, grade: str | None, *, now: str
) -> dict[str, Any]:
    """Record a Head of Service's outcome (``--resolve ID --note TEXT [--grade GRADE]``).

    A grade escalation needs the final grade, which then becomes the audit's final overall grade; an actions
    escalation takes no grade. A resolved escalation is not resolved again.
    """
    e = reg.escalations
    row = conn.execute(sa.select(e).where(e.c.escalation_id == escalation_id.strip().upper())).first()
    if row is None:
        raise ModerationError("MOD010", escalation_id=escalation_id)
    if row.status == "Resolved":
        raise ModerationError("MOD011", escalation_id=row.escalation_id, when=str(row.resolved_at or "")[:10])
    if not note or not note.strip():
        raise ModerationError("MOD012", escalation_id=row.escalation_id)
    final: str | None = None
    if row.kind == mod.ESCALATION_GRADE:
        if not grade:
            raise ModerationError("MOD013", escalation_id=row.escalation_id)
        try:
            parsed = framework.parse_grade(grade)
        except GradeParseError:
            parsed = None
        if parsed is None:
            raise ModerationError("MOD014", found=grade, grades=", ".join(framework.grade_names))
        final = parsed.name
    elif grade:
        raise ModerationError("MOD015", escalation_id=row.escalation_id)
    conn.execute(
        sa.update(e)
        .where(e.c.escalation_id == row.escalation_id)
        .values(status="Resolved", note=note.strip(), grade=final, resolved_at=now)
    )
    return {"escalation_id": row.escalation_id, "audit_id": row.audit_id, "kind": row.kind, "grade": final}
