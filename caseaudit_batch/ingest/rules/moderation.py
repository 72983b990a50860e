"""Moderation form rules (issue "Moderation"): the grades given are grades, the overall-grade rule holds for the
moderated grades (Appendix 1), and the answers agree with themselves: ``grade_agreed`` No needs at least one
moderated grade that differs from the auditor's, Yes must not come with different grades; either mismatch, or an
invalid moderated grade, returns the form.

These rules look only at moderation forms (``layout.kind == "moderation"``). In the :class:`FormView` of a
moderation form, ``values`` holds the auditor's pre-filled grades as the register has them, and ``actions_table``
holds the rows of the moderator's ``m_actions`` table (the auditor's actions are locked and not checked again).
"""

from __future__ import annotations

from collections.abc import Iterator

from caseaudit_batch.core import messages
from caseaudit_batch.core.framework import Grade, GradeParseError
from caseaudit_batch.core.messages import Problem
from caseaudit_batch.ingest.rules import FormView, rule, safe_date, to_date, to_text
from caseaudit_batch.moderation.policy import m_grade_name, parse_yes_no
from caseaudit_batch.workbook.cells import column_letter

M_GRADES = (*tuple(m_grade_name(n) for n in range(1, 10)), "m_overall_grade")


def _is_moderation(form: FormView) -> bool:
    return form.layout.kind == "moderation"


def _moderated(form: FormView) -> dict[str, Grade | None]:
    """The moderated grades given (blank ones left out); unknown grades are MOD101's."""
    given: dict[str, Grade | None] = {}
    for name in M_GRADES:
        try:
            grade = form.grade(name)
        except GradeParseError:
            continue
        if grade is not None:
            given[name] = grade
    return given


def _auditor(form: FormView, moderated_name: str) -> Grade | None:
    return form.grade_or_none(moderated_name.removeprefix("m_"))


def _differences(form: FormView) -> list[str]:
    """The moderated grades that differ from the auditor's, by field name."""
    return [name for name, grade in _moderated(form).items() if grade != _auditor(form, name)]


def _which(form: FormView, names: list[str]) -> str:
    parts = []
    for name in names:
        spec = form.spec(name)
        parts.append("the overall grade" if spec.section is None else f"section {spec.section}")
    return ", ".join(parts)


def _yes_no(form: FormView, name: str) -> bool | None:
    try:
        return parse_yes_no(form.raw(name))
    except ValueError:
        return None


@rule(code="MOD101", severity="error", fields=M_GRADES)
def moderated_grade_unknown(form: FormView) -> Iterator[Problem]:
    """A moderated grade must be one of the four grades, or blank (agreed)."""
    if not _is_moderation(form):
        return
    for name in M_GRADES:
        try:
            form.grade(name)
        except GradeParseError as exc:
            yield form.problem("MOD101", name, found=exc.value)


@rule(code="MOD102", severity="error", fields=("grade_agreed",))
def grade_agreed_answered(form: FormView) -> Iterator[Problem]:
    """Whether the moderator agrees with the grades must be Yes or No."""
    if _is_moderation(form) and _yes_no(form, "grade_agreed") is None:
        yield form.problem("MOD102", "grade_agreed", found=form.text("grade_agreed"))


@rule(code="MOD103", severity="error", fields=("grade_agreed", *M_GRADES))
def disagreement_without_a_different_grade(form: FormView) -> Iterator[Problem]:
    """``grade_agreed`` No needs at least one moderated grade that differs from the auditor's."""
    if _is_moderation(form) and _yes_no(form, "grade_agreed") is False and not _differences(form):
        yield form.problem("MOD103", "grade_agreed", found="No")


@rule(code="MOD104", severity="error", fields=("grade_agreed", *M_GRADES))
def agreement_with_different_grades(form: FormView) -> Iterator[Problem]:
    """``grade_agreed`` Yes must not come with moderated grades that differ from the auditor's."""
    if not _is_moderation(form) or _yes_no(form, "grade_agreed") is not True:
        return
    differing = _differences(form)
    if differing:
        yield form.problem("MOD104", "grade_agreed", found="Yes", which=_which(form, differing))


@rule(code="MOD105", severity="error", fields=("m_overall_grade",))
def moderated_overall_missing(form: FormView) -> Iterator[Problem]:
    """``m_overall_grade`` is required when the grades are not agreed."""
    if not _is_moderation(form) or _yes_no(form, "grade_agreed") is not False:
        return
    try:
        given = form.grade("m_overall_grade")
    except GradeParseError:
        return  # MOD101 reports it
    if given is None:
        yield form.problem("MOD105", "m_overall_grade")


@rule(code="MOD106", severity="error", fields=("m_overall_grade", *M_GRADES))
def moderated_overall_too_high(form: FormView) -> Iterator[Problem]:
    """Appendix 1's overall-grade rule, applied to the moderated grades (a blank moderated grade is the auditor's)."""
    if not _is_moderation(form):
        return
    moderated = _moderated(form)
    if not any(name != "m_overall_grade" for name in moderated) and "m_overall_grade" not in moderated:
        return  # nothing moderated: the auditor's grades already passed this rule
    sections = []
    for section in form.framework.sections:
        name = m_grade_name(section.number)
        grade = moderated.get(name) or _auditor(form, name)
        if grade is not None:
            sections.append(grade)
    overall = moderated.get("m_overall_grade") or form.grade_or_none("overall_grade")
    if overall is None or not sections:
        return
    lowest = min(sections)
    highest = form.framework.max_overall_for(lowest)
    if overall > highest:
        yield form.problem("MOD106", "m_overall_grade", found=overall.name, lowest=lowest.name, highest=highest.name)


@rule(code="MOD107", severity="error", fields=("actions_agreed",))
def actions_agreed_answered(form: FormView) -> Iterator[Problem]:
    """Whether the moderator agrees with the actions must be Yes or No."""
    if _is_moderation(form) and _yes_no(form, "actions_agreed") is None:
        yield form.problem("MOD107", "actions_agreed", found=form.text("actions_agreed"))


@rule(code="MOD108", severity="error", fields=("moderator_name",))
def moderator_named(form: FormView) -> Iterator[Problem]:
    """The moderator gives their name."""
    if _is_moderation(form) and not form.text("moderator_name"):
        yield form.problem("MOD108", "moderator_name")


@rule(code="MOD109", severity="error", fields=("moderation_date",))
def moderation_dated(form: FormView) -> Iterator[Problem]:
    """The moderation date is given, as a date."""
    if not _is_moderation(form):
        return
    raw = form.raw("moderation_date")
    if safe_date(raw) is None:
        yield form.problem("MOD109", "moderation_date", found=form.text("moderation_date"))


@rule(code="MOD110", severity="error", fields=("m_rationale",))
def rationale_given(form: FormView) -> Iterator[Problem]:
    """The moderator's rationale is required (the form asks for it); a grade disagreement goes to the Head of
    Service for QA with it (guidance section 3)."""
    if _is_moderation(form) and not form.text("m_rationale"):
        yield form.problem("MOD110", "m_rationale")


@rule(code="MOD111", severity="error", fields=("m_actions_comment",))
def comment_when_actions_not_agreed(form: FormView) -> Iterator[Problem]:
    """Guidance section 3: an actions disagreement goes to the area's Head of Service, so it needs a comment."""
    if _is_moderation(form) and _yes_no(form, "actions_agreed") is False and not form.text("m_actions_comment"):
        yield form.problem("MOD111", "m_actions_comment")


def _action_problem(form: FormView, code: str, number: int, column: int, found: object = "") -> Problem:
    table = form.layout.tables["m_actions"]
    row = form.first_row("m_actions") + number - 1
    return messages.problem(
        code,
        found=found,
        file=form.file,
        sheet=table.sheet,
        cell=f"{column_letter(table.first_col + column)}{row}",
        field="m_actions",
        label=f"additional action {number}: {table.headers[column]}",
        row=number,
    )


def _m_actions(form: FormView) -> Iterator[tuple[int, str, str, object]]:
    for number, cells in enumerate(form.actions_table, start=1):
        padded = [*list(cells), None, None, None][:3]
        action, owner, due = to_text(padded[0]), to_text(padded[1]), padded[2]
        if action or owner or to_text(due):
            yield number, action, owner, due


@rule(code="MOD112", severity="error", fields=("m_actions",))
def additional_action_due(form: FormView) -> Iterator[Problem]:
    """Guidance section 2: every additional action has a clear timescale (a due date)."""
    if not _is_moderation(form):
        return
    for number, action, _owner, due in _m_actions(form):
        if not action:
            continue
        try:
            parsed = to_date(due)
        except (ValueError, OverflowError):
            parsed = None
        if parsed is None:
            yield _action_problem(form, "MOD112", number, 2, found=to_text(due))


@rule(code="MOD113", severity="warning", fields=("m_actions",))
def additional_action_owner(form: FormView) -> Iterator[Problem]:
    """Every additional action should say who owns it."""
    if not _is_moderation(form):
        return
    for number, action, owner, _due in _m_actions(form):
        if action and not owner:
            yield _action_problem(form, "MOD113", number, 1)


@rule(code="MOD114", severity="error", fields=("m_actions",))
def additional_action_text(form: FormView) -> Iterator[Problem]:
    """A row with an owner or a due date needs the action itself."""
    if not _is_moderation(form):
        return
    for number, action, _owner, _due in _m_actions(form):
        if not action:
            yield _action_problem(form, "MOD114", number, 0)


@rule(code="MOD115", severity="error", fields=("m_actions",))
def cells_outside_tables(form: FormView) -> Iterator[Problem]:
    """Nothing typed outside the actions tables is dropped unseen (an inserted row, an action under the table)."""
    if _is_moderation(form):
        yield from form.stray_problems("MOD115", ("actions", "m_actions"))
