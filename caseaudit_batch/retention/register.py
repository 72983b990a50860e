"""Retention: removing register data for months before a given month (``caseaudit purge``).

Children's data is kept no longer than the authority's retention period (``register.retention_months``). The run
log is kept: it records what each purge removed (counts only), and the ``before`` month of every purge, from which
:class:`Purges` tells ingest that a form returning for a purged month is to be ignored, never read. Its rows for
purged months keep their command and arguments but lose their ``inputs`` and ``outputs`` (:func:`forget_run_files`):
those held the names of files that the purge removes, and a file name (``2026-09_CR1001_Name.xlsx``) names a child's
case and a worker.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePath

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from caseaudit_batch.core import register as reg

#: The message code ingest gives a form for a purged month (its submission rows are purged again by a later purge).
PURGED = "IN040"


@dataclass(frozen=True)
class Purges:
    """Every purge the run log records: its ``before`` month and the day it ran, oldest first."""

    done: tuple[tuple[str, str], ...] = ()

    @classmethod
    def load(cls, conn: Connection) -> Purges:
        rows = conn.execute(
            sa.select(reg.run_log.c.arguments, reg.run_log.c.today, reg.run_log.c.started_at)
            .where(reg.run_log.c.command == "purge")
            .order_by(reg.run_log.c.id)
        ).all()
        done = []
        for arguments, today, started in rows:
            before = str((arguments or {}).get("before") or "") if isinstance(arguments, dict) else ""
            if _is_month(before):
                done.append((before, str(today or started or "")[:10]))
        return cls(tuple(done))

    def purged_on(self, month: str) -> str | None:
        """The day ``month`` (``YYYY-MM``) was first purged, or ``None`` when it never was (or is not a month)."""
        if not _is_month(month):
            return None
        return next((day for before, day in self.done if month < before), None)


def _is_month(text: str) -> bool:
    return len(text) == 7 and text[4] == "-" and text[:4].isdigit() and text[5:].isdigit()


@dataclass
class InboxPlan:
    """Which inbox files belong to purged months, as the register has them (read before its rows are deleted).

    ``purged``: relative path -> the SHA-256s recorded for a purged month; ``kept``: paths with a row of a kept
    month (never removed, whatever else says so)."""

    purged: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    kept: set[str] = field(default_factory=set)

    def belongs(self, rel: str, sha256: str | None, before: str) -> bool:
        """Whether the file at ``rel`` (its bytes' hash, when read) is a purged month's: recorded for one with these
        same bytes, or lying in a month subfolder of a purged month; never when a kept month recorded that path."""
        if rel in self.kept:
            return False
        top = PurePath(rel).parts[0] if PurePath(rel).parts else ""
        if len(PurePath(rel).parts) > 1 and _is_month(top) and top < before:
            return True
        return sha256 is not None and sha256 in self.purged.get(rel, set())


def _purged_submission(before: str) -> sa.ColumnElement[bool]:
    """A submission of a purged month: of an audit allocated before ``before``; or, with no audit this register
    still knows, filed before it; or a form a later ingest found to be for a purged month (code ``PURGED``)."""
    s = reg.submissions.c
    old_audits = sa.select(reg.allocations.c.audit_id).where(reg.allocations.c.month < before)
    known = sa.select(reg.allocations.c.audit_id)
    no_audit = sa.or_(s.audit_id.is_(None), s.audit_id == "", s.audit_id.not_in(known))
    return sa.or_(s.audit_id.in_(old_audits), sa.and_(s.filed_month < before, no_audit), s.codes.contains(PURGED))


def inbox_plans(conn: Connection, before: str) -> dict[str, InboxPlan]:
    """For each inbox, the files the register recorded for purged months and those of kept months."""
    plans: dict[str, InboxPlan] = defaultdict(InboxPlan)
    s = reg.submissions.c
    purged = _purged_submission(before)
    for inbox, path, sha256, old in conn.execute(sa.select(s.inbox, s.path, s.sha256, purged.label("old"))):
        if old:
            plans[inbox].purged[path].add(sha256)
        else:
            plans[inbox].kept.add(path)
    return dict(plans)


def forget_run_files(conn: Connection, before: str, purged_folders: list[Path]) -> int:
    """Clear the file names the run log keeps for purged months: ``inputs`` and ``outputs`` of every run for a month
    before ``before``, and any output path inside a purged month's folder from the other runs. Returns rows changed."""
    log = reg.run_log.c
    changed = 0
    prefixes = tuple(str(folder) for folder in purged_folders)
    for row in conn.execute(sa.select(log.id, log.arguments, log.outputs, log.command)).all():
        if row.command == "purge":
            continue
        arguments = row.arguments if isinstance(row.arguments, dict) else {}
        month = str(arguments.get("month") or "")
        if _is_month(month) and month < before:
            conn.execute(sa.update(reg.run_log).where(log.id == row.id).values(inputs=None, outputs=None))
            changed += 1
            continue
        outputs = row.outputs if isinstance(row.outputs, list) else []
        kept = [p for p in outputs if not _inside(str(p), prefixes)]
        if len(kept) != len(outputs):
            conn.execute(sa.update(reg.run_log).where(log.id == row.id).values(outputs=kept))
            changed += 1
    return changed


def _inside(path: str, folders: tuple[str, ...]) -> bool:
    return any(PurePath(path).is_relative_to(folder) for folder in folders)


def _delete(conn: Connection, table: sa.Table, condition: sa.ColumnElement[bool]) -> int:
    return int(conn.execute(sa.delete(table).where(condition)).rowcount or 0)


def purge_register(conn: Connection, before: str) -> dict[str, int]:
    """Delete every row that belongs to a month before ``before`` (``YYYY-MM``); returns counts per table.

    A submission belongs to its audit's month (a late return filed in a kept month goes with its purged audit, and
    one filed in a purged month for a kept audit stays); one with no audit the register knows, to its filing month."""
    old_audits = sa.select(reg.allocations.c.audit_id).where(reg.allocations.c.month < before)
    old_audit_rows = sa.select(reg.audits.c.id).where(reg.audits.c.audit_id.in_(old_audits))
    old_submissions = sa.select(reg.submissions.c.id).where(_purged_submission(before))
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
    removed["submissions"] = _delete(conn, reg.submissions, reg.submissions.c.id.in_(old_submissions))
    removed["allocation_notes"] = _delete(conn, reg.allocation_notes, reg.allocation_notes.c.month < before)
    removed["allocation_batches"] = _delete(conn, reg.allocation_batches, reg.allocation_batches.c.month < before)
    removed["allocations"] = _delete(conn, reg.allocations, reg.allocations.c.month < before)
    return {table: count for table, count in removed.items() if count}
