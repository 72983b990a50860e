"""Practice standards (issue 24): each asked once, as a required Yes / No / Not applicable, in its section.

A form made before the standards were added (layout version 1 or 2) asks none, so neither rule applies to it: the
rules look only at the standards its own layout asks.
"""

from __future__ import annotations

from collections.abc import Iterator

from caseaudit_batch.core.framework import STANDARD_ANSWERS
from caseaudit_batch.core.messages import Problem
from caseaudit_batch.ingest.rules import FormView, rule

#: Grades under which a standard answered No does not fit (Appendix 2, Good: "The standards set out in the audit
#: are met").
_MET_GRADES = ("Good", "Outstanding")


def _asked(form: FormView) -> list[str]:
    return [n for n, f in form.layout.fields.items() if n.startswith("ps_") and not f.prefilled]


@rule(code="V130", severity="error", fields=("ps_*",))
def standard_unanswered(form: FormView) -> Iterator[Problem]:
    """A practice standard is a required question (as every required drop-down on the form)."""
    for name in _asked(form):
        if not form.text(name):
            yield form.problem("V130", name, choices=", ".join(STANDARD_ANSWERS))


@rule(code="V131", severity="warning", fields=("ps_*", "s1_grade"))
def standard_not_met_under_good(form: FormView) -> Iterator[Problem]:
    """Appendix 2: a Good file meets 'the standards set out in the audit'; a standard answered No sits oddly under a
    Good or Outstanding grade for its section."""
    for name in _asked(form):
        section = form.spec(name).section
        if section is None or form.text(name).casefold() != "no":
            continue
        grade = form.grade_or_none(f"s{section}_grade")
        if grade is not None and grade.name in _MET_GRADES:
            yield form.problem("V131", name, found=form.text(name), grade=grade.name, section=section)
