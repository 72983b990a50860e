"""Which cases are due a follow-up audit (issue 11). Pure: no files, no register; the caller passes the rows in.

Guidance section 1: the auditing process "will provide performance data to track our improvement journey as well
as assess the impact of identified intervention". A case whose final grade was Requires Improvement or Inadequate
is audited again, so that the second audit shows whether the actions changed things for the child:

- it becomes due once all the actions of that audit are closed (Completed or No longer required; an audit with no
  actions recorded waits for the months instead: there is no intervention to judge sooner), or
  ``allocation.followup_after_months`` months after the audit month, whichever comes first;
- only while the case is still open in the caseload;
- it is not due again once a follow-up (or any later audit of the case) has been allocated: the latest audit of a
  case is the one followed up;
- the final grade is the resolved Head of Service escalation's grade, else the current moderation's overall grade,
  else the auditor's (guidance section 3).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date

from caseaudit_batch.core.clock import Month

#: Final grades that call for a follow-up.
FOLLOWUP_GRADES = ("Requires Improvement", "Inadequate")
#: Action statuses that count as closed (the tracker's statuses).
CLOSED_STATUSES = ("Completed", "No longer required")

BY_ACTIONS = "actions closed"
BY_MONTHS = "months elapsed"


@dataclass(frozen=True)
class AuditRecord:
    """An accepted audit: who did it, when, and its final overall grade."""

    audit_id: str
    case_ref: str
    month: str  # YYYY-MM
    staff_id: str  # the auditor (never given the follow-up)
    final_grade: str | None
    kind: str = "audit"  # audit | followup
    service: str = ""


@dataclass(frozen=True)
class AllocationRecord:
    """A current allocation (status ``allocated``) of any month."""

    audit_id: str
    case_ref: str
    month: str
    kind: str = "audit"
    followup_of: str | None = None


@dataclass(frozen=True)
class ActionRecord:
    audit_id: str
    status: str
    completed_on: date | None = None


@dataclass(frozen=True)
class Due:
    """A case due a follow-up of ``audit_id`` (its latest audit)."""

    audit_id: str
    case_ref: str
    month: str
    staff_id: str
    final_grade: str
    reason: str  # BY_ACTIONS or BY_MONTHS
    actions: int  # how many actions the audit had
    actions_closed: int
    service: str = ""

    def describe(self, after_months: int) -> str:
        """Why it is due, in plain words (shown in allocations.xlsx and on the form)."""
        if self.reason == BY_ACTIONS:
            return f"all {self.actions} action(s) from the audit of {Month.parse(self.month).label} are closed"
        return f"{after_months} months have passed since the audit of {Month.parse(self.month).label}"


def final_grade(auditor: str | None, moderated: str | None = None, resolved: str | None = None) -> str | None:
    """Guidance section 3: a resolved Head of Service grade, else the moderator's overall grade, else the auditor's."""
    for grade in (resolved, moderated, auditor):
        if grade is not None and str(grade).strip():
            return str(grade).strip()
    return None


def action_counts(actions: Iterable[ActionRecord]) -> dict[str, tuple[int, int]]:
    """Per audit ID: (actions, closed actions)."""
    counts: dict[str, tuple[int, int]] = {}
    for action in actions:
        total, closed = counts.get(action.audit_id, (0, 0))
        counts[action.audit_id] = (total + 1, closed + (action.status in CLOSED_STATUSES))
    return counts


def due_followups(
    audits: Iterable[AuditRecord],
    allocations: Iterable[AllocationRecord],
    actions: Iterable[ActionRecord],
    *,
    month: Month,
    open_cases: Collection[str],
    after_months: int = 6,
) -> list[Due]:
    """The follow-ups due in ``month``, the longest-waiting first (oldest audit, Inadequate before Requires
    Improvement, then by case reference).

    ``audits``: accepted audits with final grades; ``allocations``: every current allocation (status
    ``allocated``), used to see whether a case was allocated again after an audit; ``open_cases``: the case
    references in this month's caseload.
    """
    latest_allocated: dict[str, str] = {}
    for a in allocations:
        if a.month > latest_allocated.get(a.case_ref, ""):
            latest_allocated[a.case_ref] = a.month
    counts = action_counts(actions)
    open_set = set(open_cases)
    threshold = str(month.shift(-after_months))
    found: list[Due] = []
    for audit in audits:
        if audit.final_grade not in FOLLOWUP_GRADES or audit.case_ref not in open_set:
            continue
        if audit.month >= str(month):
            continue  # a follow-up comes in a later month than the audit
        if latest_allocated.get(audit.case_ref, "") > audit.month:
            continue  # followed up already, or audited again since: the later audit is the one to follow up
        total, closed = counts.get(audit.audit_id, (0, 0))
        if total and closed == total:
            reason = BY_ACTIONS
        elif audit.month <= threshold:
            reason = BY_MONTHS
        else:
            continue
        found.append(
            Due(
                audit_id=audit.audit_id,
                case_ref=audit.case_ref,
                month=audit.month,
                staff_id=audit.staff_id,
                final_grade=audit.final_grade,
                reason=reason,
                actions=total,
                actions_closed=closed,
                service=audit.service,
            )
        )
    severity = {g: i for i, g in enumerate(reversed(FOLLOWUP_GRADES))}  # Inadequate first
    found.sort(key=lambda d: (d.month, severity.get(d.final_grade, 9), d.case_ref))
    return found


def followup_cap(share: float, allocations: int) -> int:
    """At most ``share`` of the month's allocations go to follow-ups (rounded down: "up to 20%")."""
    return max(0, int(share * allocations + 1e-9))
