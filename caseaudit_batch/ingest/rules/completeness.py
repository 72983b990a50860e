"""Completeness rules: the answers the guidance needs are there, and are of the right kind."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from caseaudit_batch.core.messages import Problem
from caseaudit_batch.ingest.rules import FormView, rule, safe_date, to_date


@rule(code="V020", severity="error", fields=("date_completed",))
def date_completed_missing(form: FormView) -> Iterator[Problem]:
    """The date the audit was completed is needed to know whether it was on time."""
    if not form.text("date_completed"):
        yield form.problem("V020", "date_completed")


@rule(code="V021", severity="error", fields=("date_completed",))
def date_completed_not_a_date(form: FormView) -> Iterator[Problem]:
    """The date completed must be a date."""
    if form.text("date_completed") and safe_date(form.raw("date_completed")) is None:
        yield form.problem("V021", "date_completed", found=form.text("date_completed"))


def _choice_fields(form: FormView) -> list[str]:
    return [n for n, f in form.layout.fields.items() if f.kind == "choice" and not f.prefilled]


@rule(code="V005", severity="error", fields=("sw_participation", "three_way_meeting", "safeguarding_concern"))
def choice_unknown(form: FormView) -> Iterator[Problem]:
    """A drop-down answer must be one of its choices (compared without regard to case)."""
    for name in _choice_fields(form):
        spec = form.spec(name)
        value = form.text(name)
        if value and value.casefold() not in {c.casefold() for c in spec.choices}:
            yield form.problem("V005", name, found=value, choices=", ".join(spec.choices))


@rule(code="V006", severity="error", fields=("safeguarding_concern",))
def safeguarding_unanswered(form: FormView) -> Iterator[Problem]:
    """Guidance section 3: whether there is an immediate safeguarding concern must always be answered."""
    if not form.text("safeguarding_concern"):
        spec = form.spec("safeguarding_concern")
        yield form.problem("V006", "safeguarding_concern", choices=", ".join(spec.choices))


@rule(code="V004", severity="error", fields=("safeguarding_concern", "safeguarding_detail"))
def safeguarding_without_detail(form: FormView) -> Iterator[Problem]:
    """Appendix 1: 'If immediate safeguarding has been identified, be clear what was done and how this was managed'."""
    if form.text("safeguarding_concern").casefold() == "yes" and not form.text("safeguarding_detail"):
        yield form.problem("V004", "safeguarding_detail")


@rule(code="V010", severity="error", fields=("actions",))
def action_without_owner(form: FormView) -> Iterator[Problem]:
    """Guidance section 2: every action has someone to do it."""
    for action in form.actions():
        if str(action.action or "").strip() and not str(action.owner or "").strip():
            yield form.action_problem("V010", action, 1)


@rule(code="V011", severity="error", fields=("actions",))
def action_without_due_date(form: FormView) -> Iterator[Problem]:
    """Guidance section 2: actions 'with clear timescales'."""
    for action in form.actions():
        if str(action.action or "").strip() and (action.due is None or not str(action.due).strip()):
            yield form.action_problem("V011", action, 2)


@rule(code="V012", severity="error", fields=("actions",))
def action_due_not_a_date(form: FormView) -> Iterator[Problem]:
    """An action's due date must be a date."""
    for action in form.actions():
        if action.due is not None and str(action.due).strip() and safe_date(action.due) is None:
            yield form.action_problem("V012", action, 2, found=str(action.due).strip())


@rule(code="V013", severity="error", fields=("actions",))
def action_without_text(form: FormView) -> Iterator[Problem]:
    """A row with an owner or a due date needs the action itself."""
    for action in form.actions():
        if not str(action.action or "").strip():
            yield form.action_problem("V013", action, 0)


@rule(code="V022", severity="error", fields=("overall_grade", "actions"))
def low_grade_without_actions(form: FormView) -> Iterator[Problem]:
    """Guidance section 2: work graded Requires Improvement or Inadequate needs actions to improve it."""
    overall = form.grade_or_none("overall_grade")
    if overall is None or overall.rank > 2:
        return
    if not any(str(a.action or "").strip() for a in form.actions()):
        yield form.problem("V022", "overall_grade", found=overall.name)


@rule(code="V101", severity="warning", fields=("strengths",))
def no_strength(form: FormView) -> Iterator[Problem]:
    """Appendix 1: 'endeavour to identify at least one area of good practice'."""
    if not form.text("strengths"):
        yield form.problem("V101", "strengths")


@rule(code="V106", severity="warning", fields=("sw_participation",))
def participation_not_recorded(form: FormView) -> Iterator[Problem]:
    """Guidance section 2: the social worker is given every opportunity to take part; record how they did."""
    if not form.text("sw_participation"):
        yield form.problem("V106", "sw_participation")


@rule(code="V107", severity="warning", fields=("sw_participation", "sw_participation_reason"))
def participation_reason_missing(form: FormView) -> Iterator[Problem]:
    """When the social worker could not take part, say why."""
    if form.text("sw_participation").casefold() == "not possible" and not form.text("sw_participation_reason"):
        yield form.problem("V107", "sw_participation_reason")


@rule(code="V108", severity="warning", fields=("three_way_meeting",))
def three_way_meeting_not_recorded(form: FormView) -> Iterator[Problem]:
    """Guidance section 2: a case re-allocated within a month calls for a three-way meeting with both workers."""
    if not form.reallocated:
        return
    if form.text("three_way_meeting").casefold() in ("", "not applicable"):
        yield form.problem("V108", "three_way_meeting")


@rule(code="V109", severity="warning", fields=("recommendations",))
def no_recommendations(form: FormView) -> Iterator[Problem]:
    """Appendix 1: recommendations are expected."""
    if not form.text("recommendations"):
        yield form.problem("V109", "recommendations")


@rule(code="V111", severity="warning", fields=("actions", "date_completed"))
def action_due_before_completion(form: FormView) -> Iterator[Problem]:
    """An action cannot be due before the audit that set it was completed."""
    completed = safe_date(form.raw("date_completed"))
    if completed is None:
        return
    for action in form.actions():
        due = safe_date(action.due)
        if due is not None and due < completed:
            yield form.action_problem("V111", action, 2, found=due.isoformat(), completed=completed.isoformat())


@rule(code="V112", severity="warning", fields=("actions", "date_completed"))
def action_due_too_far(form: FormView) -> Iterator[Problem]:
    """Guidance section 2: 'clear timescales'; more than six months away is not one."""
    completed = safe_date(form.raw("date_completed"))
    if completed is None:
        return
    limit = _add_months(completed, 6)
    for action in form.actions():
        due = safe_date(action.due)
        if due is not None and due > limit:
            yield form.action_problem("V112", action, 2, found=due.isoformat())


@rule(code="V113", severity="warning", fields=("date_completed",))
def completed_late(form: FormView) -> Iterator[Problem]:
    """Guidance section 2: 'All audits need to be completed by the end of the month'."""
    completed = safe_date(form.raw("date_completed"))
    if completed is None or form.due_date is None:
        return
    if completed > form.due_date:
        yield form.problem("V113", "date_completed", found=completed.isoformat(), due=form.due_date.isoformat())


def _add_months(day: date, months: int) -> date:
    import calendar

    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


__all__ = ["to_date"]


@rule(code="V040", severity="error", fields=("actions",))
def cells_outside_tables(form: FormView) -> Iterator[Problem]:
    """Nothing typed outside the actions table is dropped unseen: an action in a row the auditor inserted, or typed
    under the table, is never read, so the form goes back until it is inside the table."""
    if form.layout.kind in ("audit", "followup"):
        yield from form.stray_problems("V040", ("actions", "previous_actions"))
