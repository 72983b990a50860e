"""Grading rules (Appendix 1, "Overall grade")."""

from __future__ import annotations

from collections.abc import Iterator

from caseaudit_batch.core.framework import GradeParseError
from caseaudit_batch.core.messages import Problem
from caseaudit_batch.ingest.rules import FormView, rule

GRADE_FIELDS = (*tuple(f"s{n}_grade" for n in range(1, 10)), "overall_grade")


def _grade_fields(form: FormView) -> list[str]:
    return [f"{s.key}_grade" for s in form.framework.sections] + ["overall_grade"]


@rule(code="V001", severity="error", fields=GRADE_FIELDS)
def grade_missing(form: FormView) -> Iterator[Problem]:
    """Every section and the overall grade must be given."""
    for name in _grade_fields(form):
        try:
            if form.grade(name) is None:
                yield form.problem("V001", name)
        except GradeParseError:
            continue  # V002 reports it


@rule(code="V002", severity="error", fields=GRADE_FIELDS)
def grade_unknown(form: FormView) -> Iterator[Problem]:
    """A grade must be one of the four (the usual spellings are accepted)."""
    for name in _grade_fields(form):
        try:
            form.grade(name)
        except GradeParseError as exc:
            yield form.problem("V002", name, found=exc.value)


@rule(code="V003", severity="error", fields=("overall_grade",))
def overall_too_high(form: FormView) -> Iterator[Problem]:
    """Appendix 1: 'if one section is graded requires improvement, the overall grade cannot be higher than good'."""
    overall = form.grade_or_none("overall_grade")
    sections = form.section_grades()
    if overall is None or not sections:
        return
    lowest = min(sections)
    highest = form.framework.max_overall_for(lowest)
    if overall > highest:
        yield form.problem("V003", "overall_grade", found=overall.name, lowest=lowest.name, highest=highest.name)


@rule(code="V102", severity="warning", fields=("overall_grade",))
def overall_above_majority(form: FormView) -> Iterator[Problem]:
    """Appendix 1: the overall grade is 'likely to reflect the majority of your subsection grades'."""
    overall = form.grade_or_none("overall_grade")
    sections = form.section_grades()
    if overall is None or not sections:
        return
    below = sum(1 for g in sections if g < overall)
    if below * 2 > len(sections):
        yield form.problem("V102", "overall_grade", found=overall.name)
