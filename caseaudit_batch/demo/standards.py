"""The demo's answers to the practice standards (issue 24), apart from the rest of the form's answers.

Drawn from their own random stream, seeded by the audit ID, so that adding or editing standards leaves every other
answer the demo makes (and so the demo's other figures) as it was; the same audit always answers the same.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from caseaudit_batch.core.framework import Framework

#: The chance a standard is met, by the section's grade: a better-graded section mostly meets its standards.
MET_BY_GRADE = {"Outstanding": 0.99, "Good": 0.96, "Requires Improvement": 0.7, "Inadequate": 0.35}
#: The share of cases where a standard does not apply (seen alone: babies and very young children).
NOT_APPLICABLE = {"seen_alone": 0.12, "genogram": 0.03, "wishes_feelings": 0.05}


def standard_answers(framework: Framework, audit_id: str, section_grades: Sequence[str]) -> dict[str, str]:
    """Each practice standard's answer (``ps_<id>``: Yes, No or Not applicable) for one audit."""
    rng = random.Random(f"{audit_id}:practice-standards")
    answers: dict[str, str] = {}
    for standard in framework.standards:
        grade = section_grades[standard.section - 1]
        if rng.random() < NOT_APPLICABLE.get(standard.id, 0.0):
            answers[standard.name] = "Not applicable"
        else:
            answers[standard.name] = "Yes" if rng.random() < MET_BY_GRADE.get(grade, 0.8) else "No"
    return answers
