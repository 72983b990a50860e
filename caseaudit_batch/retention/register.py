"""Retention: removing register data for months before a given month (``caseaudit purge``).

Children's data is kept no longer than the authority's retention period (``register.retention_months``). The run
log is kept: it holds no case content, and it records what each purge removed.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from caseaudit_batch.core import register as reg


def _delete(conn: Connection, table: sa.Table, condition: sa.ColumnElement[bool]) -> int:
    return int(conn.execute(sa.delete(table).where(condition)).rowcount or 0)


def purge_register(conn: Connection, before: str) -> dict[str, int]:
    """Delete every row that belongs to a month before ``before`` (``YYYY-MM``); returns counts per table."""
    old_audits = sa.select(reg.allocations.c.audit_id).where(reg.allocations.c.month < before)
    old_audit_rows = sa.select(reg.audits.c.id).where(reg.audits.c.audit_id.in_(old_audits))
    old_submissions = sa.select(reg.submissions.c.id).where(reg.submissions.c.filed_month < before)
    # Actions of old audits, and actions set in supervision (no audit) in an old month.
    old_action = sa.or_(
        reg.actions.c.audit_id.in_(old_audits),
        sa.and_(reg.actions.c.audit_id.is_(None), reg.actions.c.month < before),
    )
    old_actions = sa.select(reg.actions.c.action_id).where(old_action)
    removed: dict[str, int] = {}
    # Children first, so that no row is left pointing at a removed one.
    removed["action_updates"] = _delete(conn, reg.action_updates, reg.action_updates.c.action_id.in_(old_actions))
    removed["actions"] = _delete(conn, reg.actions, old_action)
    removed["action_sources"] = _delete(conn, reg.action_sources, reg.action_sources.c.audit_id.in_(old_audits))
    removed["action_trackers"] = _delete(conn, reg.action_trackers, reg.action_trackers.c.month < before)
    removed["section_grades"] = _delete(conn, reg.section_grades, reg.section_grades.c.audit_row_id.in_(old_audit_rows))
    removed["audits"] = _delete(conn, reg.audits, reg.audits.c.audit_id.in_(old_audits))
    removed["moderations"] = _delete(conn, reg.moderations, reg.moderations.c.audit_id.in_(old_audits))
    removed["escalations"] = _delete(conn, reg.escalations, reg.escalations.c.audit_id.in_(old_audits))
    removed["moderation_sample"] = _delete(conn, reg.moderation_sample, reg.moderation_sample.c.month < before)
    removed["moderation_changes"] = _delete(conn, reg.moderation_changes, reg.moderation_changes.c.month < before)
    removed["alerts"] = _delete(conn, reg.alerts, reg.alerts.c.month < before)
    removed["notices"] = _delete(conn, reg.notices, reg.notices.c.month < before)
    removed["problems"] = _delete(conn, reg.problems, reg.problems.c.submission_id.in_(old_submissions))
    removed["submissions"] = _delete(conn, reg.submissions, reg.submissions.c.filed_month < before)
    removed["allocation_notes"] = _delete(conn, reg.allocation_notes, reg.allocation_notes.c.month < before)
    removed["allocation_batches"] = _delete(conn, reg.allocation_batches, reg.allocation_batches.c.month < before)
    removed["allocations"] = _delete(conn, reg.allocations, reg.allocations.c.month < before)
    return {table: count for table, count in removed.items() if count}
