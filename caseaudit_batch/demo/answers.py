"""Synthetic auditors, moderators and service managers for the demo: what they write on the forms.

Everything here is invented. The free text comes from :mod:`caseaudit_batch.demo.corpus` (templates with
variation, drifting over the year) so that no two audits read the same; no child is ever named (the prose says "the
child" or "the young person"). Grades come from a realistic spread: each
service has its own level, every case its own quality, and practice improves slowly over the year. The functions
are pure (a ``random.Random`` in, values out): the demo fills them into the generated forms with
``forms.fill_form`` and the test recomputes the expected figures from the same values.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from caseaudit_batch.core.clock import Month, is_working_day
from caseaudit_batch.core.framework import Framework
from caseaudit_batch.demo import corpus
from caseaudit_batch.demo.standards import standard_answers

GRADES = ("Inadequate", "Requires Improvement", "Good", "Outstanding")  # index = rank - 1

# Each service's typical practice (on a 1-4 scale before rounding): some services are stronger than others.
SERVICE_LEVEL = {
    "Assessment and Early Help": 2.8,
    "Children in Need": 2.7,
    "Child Protection": 3.0,
    "Children Looked After": 2.85,
    "Leaving Care": 2.55,
    "Disabled Children": 2.75,
}
IMPROVEMENT_PER_MONTH = 0.015  # a slow improvement over the year

SAFEGUARDING_SHARE = 0.02
LATE_SHARE = 0.07
ERROR_SHARE = 0.05
NOT_RETURNED_SHARE = 0.03  # never returned at all: outstanding at month end

# Issue 21: the free text (strengths, learning, findings, impact, …) comes from demo/corpus.py's templates.
_ACTIONS = (
    ("Update the child's assessment so that it reflects current risks and strengths.", "Social worker"),
    ("Complete overdue statutory visits and record how the child presented.", "Social worker"),
    ("Review the plan with the family and make every action SMART.", "Team manager"),
    ("Record management oversight with the rationale for decisions.", "Team manager"),
    ("Update the chronology and share it with partner agencies.", "Social worker"),
    ("Arrange direct work to capture the young person's wishes and feelings.", "Social worker"),
)
_SAFEGUARDING_DETAIL = (
    "Recent bruising recorded by school was not followed up; I spoke with the team manager today and a strategy "
    "discussion has been arranged.",
    "An adult with known risks appears to be living at the home; discussed with the team manager and service "
    "manager on the day, and the MASH has been informed.",
    "The young person disclosed going missing overnight; the team manager was told at once and a return home "
    "interview has been requested.",
)
_NOT_POSSIBLE = (
    "The social worker was on annual leave during the audit window.",
    "The social worker had left the authority; the team manager took part instead.",
)
_MODERATION_AGREE = (
    "I agree with the grades: the findings are well evidenced and the reasons are clear.",
    "The audit is thorough and the grades reflect the evidence on the file.",
)
_MODERATION_CHANGE = (
    "The findings describe gaps that the grade does not reflect; I have adjusted the grade accordingly.",
    "On reviewing the file the evidence supports a different grade; discussed with the auditor.",
)
_TRACKER_UPDATES = (
    "Completed and discussed in supervision.",
    "Visit completed; the plan has been updated with the family.",
    "In progress: assessment booked with the family next week.",
    "Awaiting the review meeting; chronology updated.",
)


def _grade(value: float) -> str:
    return GRADES[max(0, min(3, round(value) - 1))]


def _rank(name: str) -> int:
    return GRADES.index(name) + 1


@dataclass
class AuditAnswers:
    """One synthetic auditor's completed form, and what the demo does with it."""

    audit_id: str
    case_ref: str
    service: str
    answers: dict[str, object]
    actions: list[tuple[object, object, object]]
    overall: str
    safeguarding: bool
    late: bool
    returned: bool  # the first version has an error; a corrected one follows a week later
    submitted: bool  # False: never returned (outstanding at month end)
    correction: dict[str, object] = field(default_factory=dict)


def _completion_date(rng: random.Random, month: Month, late: bool) -> date:
    if late:
        day = month.last_day + timedelta(days=rng.randint(3, 12))
    else:
        day = month.first_day + timedelta(days=rng.randint(4, (month.last_day - month.first_day).days - 1))
    while not is_working_day(day):
        day += timedelta(days=1) if late else -timedelta(days=1)
    return day


def audit_answers(
    rng: random.Random,
    framework: Framework,
    *,
    audit_id: str,
    case_ref: str,
    service: str,
    month: Month,
    month_index: int,
    previous_worker: str = "",
) -> AuditAnswers:
    """A completed audit form's answers (by the form's defined names) and its actions."""
    level = SERVICE_LEVEL.get(service, 2.75) + IMPROVEMENT_PER_MONTH * month_index + rng.gauss(0, 0.65)
    section_grades = [_grade(level + rng.gauss(0, 0.45)) for _ in framework.sections]
    ranks = sorted(_rank(g) for g in section_grades)
    overall_rank = min(ranks[len(ranks) // 2], ranks[0] + 1)  # the majority, at most one above the lowest (App. 1)
    overall = GRADES[overall_rank - 1]
    late = rng.random() < LATE_SHARE
    completed = _completion_date(rng, month, late)
    safeguarding = rng.random() < SAFEGUARDING_SHARE
    participation = rng.choices(("In person", "Phone or video", "Not possible"), (0.55, 0.28, 0.17))[0]
    # The free text draws from its own random, seeded by the audit, so a change to the corpus never moves a figure.
    words = random.Random(f"{audit_id}:text")
    answers: dict[str, object] = {
        "date_completed": completed,
        "sw_participation": participation,
        "sw_participation_reason": rng.choice(_NOT_POSSIBLE) if participation == "Not possible" else None,
        "three_way_meeting": rng.choice(("Yes", "Yes", "No")) if previous_worker else "Not applicable",
        "overall_grade": overall,
        "strengths": corpus.strength(words, month_index),
        "learning": corpus.learning(words, month_index),
        "diversity": corpus.diversity(words),
        "safeguarding_concern": "Yes" if safeguarding else "No",
        "safeguarding_detail": rng.choice(_SAFEGUARDING_DETAIL) if safeguarding else None,
        "recommendations": corpus.recommendation(words, month_index),
        "org_learning": corpus.org_learning(words, month_index),
    }
    for number, (section, grade) in enumerate(zip(framework.sections, section_grades, strict=True), start=1):
        answers[f"{section.key}_grade"] = grade
        answers[f"{section.key}_findings"] = corpus.findings(words, grade, number, month_index)
        answers[f"{section.key}_impact"] = corpus.impact(words, _rank(grade) >= 3) if words.random() < 0.6 else None
    answers.update(standard_answers(framework, audit_id, section_grades))  # their own stream (demo/standards.py)
    actions: list[tuple[object, object, object]] = []
    n_actions = {"Inadequate": (2, 4), "Requires Improvement": (1, 3), "Good": (0, 1), "Outstanding": (0, 0)}[overall]
    for text, owner in rng.sample(_ACTIONS, rng.randint(*n_actions)):
        actions.append((text, owner, completed + timedelta(days=rng.choice((14, 28, 42, 56)))))
    filled = AuditAnswers(
        audit_id=audit_id,
        case_ref=case_ref,
        service=service,
        answers=answers,
        actions=actions,
        overall=overall,
        safeguarding=safeguarding,
        late=late,
        returned=False,
        submitted=rng.random() >= NOT_RETURNED_SHARE,
    )
    return with_error(filled) if rng.random() < ERROR_SHARE else filled


def with_error(filled: AuditAnswers) -> AuditAnswers:
    """The first version leaves the overall grade empty (an error: ingest returns the form); the corrected
    version, a week later, adds it."""
    filled.answers = dict(filled.answers, overall_grade=None)
    filled.correction = {"overall_grade": filled.overall}
    filled.returned = True
    return filled


def moderation_answers(
    rng: random.Random,
    framework: Framework,
    *,
    auditor_grades: dict[str, str],
    moderator_name: str,
    moderation_date: date,
) -> dict[str, object]:
    """A moderator's answers: agree with most (about four in five); otherwise move the overall grade (and the
    weakest section) by one, downwards more often than upwards."""
    answers: dict[str, object] = {"moderator_name": moderator_name, "moderation_date": moderation_date}
    overall = auditor_grades.get("overall_grade") or "Good"
    if rng.random() < 0.8:
        answers.update(grade_agreed="Yes", m_rationale=rng.choice(_MODERATION_AGREE), actions_agreed="Yes")
        return answers
    step = -1 if rng.random() < 0.65 else 1
    new_rank = max(1, min(4, _rank(overall) + step))
    if new_rank == _rank(overall):
        new_rank = max(1, min(4, _rank(overall) - step))
    new_overall = GRADES[new_rank - 1]
    answers.update(
        grade_agreed="No",
        m_overall_grade=new_overall,
        m_rationale=rng.choice(_MODERATION_CHANGE),
        actions_agreed="Yes" if rng.random() < 0.7 else "No",
    )
    # Keep the overall grade at most one grade above the lowest section (Appendix 1): a raised overall grade
    # raises the sections it would otherwise leave more than one grade below.
    for section in framework.sections:
        grade = auditor_grades.get(f"{section.key}_grade")
        if grade and _rank(grade) < new_rank - 1:
            answers[f"m_{section.key}_grade"] = GRADES[new_rank - 2]
    if answers["actions_agreed"] == "No":
        answers["m_actions_comment"] = "One further action is needed so that the plan is reviewed promptly."
    return answers


def tracker_update(rng: random.Random, due: date | None, today: date) -> tuple[str, date | None, str, date | None, str]:
    """A service manager's update of one open action: Status, Completed on, Update, Discussed in supervision on,
    Service manager sign-off. About half the actions due by now are completed (most signed off)."""
    ready = due is None or due <= today + timedelta(days=14)
    if ready and rng.random() < 0.7:
        done = min(today, due) if due else today
        done = max(done - timedelta(days=rng.randint(0, 10)), today - timedelta(days=30))
        return ("Completed", done, rng.choice(_TRACKER_UPDATES[:2]), done, "Yes" if rng.random() < 0.8 else "")
    return ("Open", None, rng.choice(_TRACKER_UPDATES[2:]), today - timedelta(days=rng.randint(1, 10)), "")
