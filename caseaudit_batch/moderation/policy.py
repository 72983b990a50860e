"""Moderation decisions as pure logic: who is sampled, who moderates, by when, what a returned form means.

Guidance section 2: "When audits have been moderated, the outcome will be shared with the auditor and the Team
Manager responsible for the case." Guidance section 3: "After moderation, if there is a disagreement regarding the
grade, the case file needs to be reviewed by the Head of Service for Quality Assurance. If there is disagreement
regarding the actions identified, this needs to be reviewed by the Head of Service for the relevant area (case
holding)."

Nothing here touches the register or the disk; :mod:`caseaudit_batch.moderation_register` records what these
functions decide, and :mod:`caseaudit_batch.pipeline` chains the two.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from caseaudit_batch.core.clock import working_day_on_or_before
from caseaudit_batch.core.config import ModerationSettings
from caseaudit_batch.core.framework import Framework, Grade, GradeParseError

# Why an audit is in the sample (the `reason` column of `moderation_sample`; a published contract).
REASON_ALWAYS = "always"  # its overall grade is one of `moderation.always`
REASON_RANDOM = "random"  # the reproducible random share of the rest
REASON_SERVICE = "service"  # the only way to have one audit from its auditor's service
REASON_ADDED = "added"  # QA added it with --add

SAMPLED = "sampled"
REMOVED = "removed"

ESCALATION_GRADE = "grade"
ESCALATION_ACTIONS = "actions"

SECTION_NUMBERS = tuple(range(1, 10))


# ---------------------------------------------------------------------------------------------------------------
# The sampling policy
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SamplingPolicy:
    """``[moderation]`` in ``caseaudit.toml``: which audits are always moderated, and the share of the rest."""

    always: tuple[str, ...] = ("Outstanding", "Inadequate")
    share: float = 0.25
    seed: str = ""

    @classmethod
    def from_settings(cls, settings: ModerationSettings) -> SamplingPolicy:
        return cls(always=settings.always, share=settings.sample_share, seed=settings.seed)


@dataclass(frozen=True)
class Candidate:
    """An accepted audit that may be moderated."""

    audit_id: str
    overall_grade: str | None
    auditor_id: str
    auditor_service: str | None = None


@dataclass(frozen=True)
class SampleRow:
    """An audit already in the month's sample (or removed from it by QA)."""

    audit_id: str
    status: str
    reason: str


@dataclass(frozen=True)
class Pick:
    audit_id: str
    reason: str


def sample_key(seed: str, month: str, audit_id: str) -> float:
    """A number in [0, 1) that looks random but is fixed by seed, month and audit ID: the draw is reproducible.

    Each audit keeps its key whatever else was accepted, so a later run draws from the same order.
    """
    digest = hashlib.sha256(f"{seed}\x1f{month}\x1f{audit_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def random_target(share: float, rest: int) -> int:
    """How many of the ``rest`` audits the random share asks for: rounded up, so any non-empty month gives one."""
    return math.ceil(round(share * rest, 9))


def select_sample(
    month: str,
    candidates: Iterable[Candidate],
    existing: Iterable[SampleRow],
    policy: SamplingPolicy,
) -> list[Pick]:
    """The audits to add to the month's sample now (existing rows are never changed here).

    1. every audit whose overall grade is in ``policy.always``;
    2. then the random share: of the audits not graded one of those ("the rest", counting audits already sampled or
       removed by QA, so a removal is not silently replaced), enough to reach ``share`` of them, taken in the
       reproducible key order;
    3. then at least one audit from each auditor service that has an accepted audit, where one is available.

    Audits QA removed are never drawn again; audits accepted after an earlier draw are considered on every run,
    so a late Inadequate or Outstanding audit is still moderated.
    """
    existing = list(existing)
    in_sample = {row.audit_id for row in existing if row.status == SAMPLED}
    removed = {row.audit_id for row in existing if row.status == REMOVED} - in_sample
    everyone = list(candidates)
    pool = sorted(
        (c for c in everyone if c.audit_id not in removed),
        key=lambda c: (sample_key(policy.seed, month, c.audit_id), c.audit_id),
    )
    always = set(policy.always)
    picks: list[Pick] = []
    chosen = set(in_sample)

    def take(candidate: Candidate, reason: str) -> None:
        picks.append(Pick(candidate.audit_id, reason))
        chosen.add(candidate.audit_id)

    for candidate in pool:
        if candidate.overall_grade in always and candidate.audit_id not in chosen:
            take(candidate, REASON_ALWAYS)

    rest = [c for c in pool if c.overall_grade not in always]
    removed_rest = sum(1 for c in everyone if c.audit_id in removed and c.overall_grade not in always)
    target = random_target(policy.share, len(rest) + removed_rest)
    have = sum(1 for c in rest if c.audit_id in chosen) + removed_rest
    for candidate in rest:
        if have >= target:
            break
        if candidate.audit_id not in chosen:
            take(candidate, REASON_RANDOM)
            have += 1

    covered = {c.auditor_service for c in pool if c.audit_id in chosen}
    for candidate in pool:
        if candidate.auditor_service and candidate.auditor_service not in covered:
            take(candidate, REASON_SERVICE)
            covered.add(candidate.auditor_service)
    return picks


# ---------------------------------------------------------------------------------------------------------------
# Moderators and due dates
# ---------------------------------------------------------------------------------------------------------------
def assign_moderators(
    audits: Sequence[tuple[str, str]], moderators: Sequence[str], load: Mapping[str, int] | None = None
) -> dict[str, str | None]:
    """A moderator for each ``(audit_id, auditor_id)``: never the audit's own auditor; the least loaded first.

    ``load`` counts what each moderator already holds this month; ties go to the order of ``people.moderators``,
    so the same inputs always give the same assignment. ``None`` where nobody else is available.
    """
    counts = {m: int((load or {}).get(m, 0)) for m in moderators}
    order = {m: i for i, m in enumerate(moderators)}
    assigned: dict[str, str | None] = {}
    # Audits by a moderator have fewer possible moderators: place them first so the load still comes out even.
    ordered = sorted(audits, key=lambda a: a[1] not in counts)
    for audit_id, auditor_id in ordered:
        eligible = [m for m in counts if m != auditor_id]
        if not eligible:
            assigned[audit_id] = None
            continue
        chosen = min(eligible, key=lambda m: (counts[m], order[m]))
        counts[chosen] += 1
        assigned[audit_id] = chosen
    return {audit_id: assigned[audit_id] for audit_id, _ in audits}


def moderation_due_date(today: date, due_days: int) -> date:
    """``due_days`` after the form is made, moved back to a working day (England's bank holidays)."""
    return max(today, working_day_on_or_before(today + timedelta(days=due_days)))


def reminder_due(today: date, due_date: date, days_before: int) -> bool:
    """A reminder goes once the due date is ``days_before`` days away or has passed."""
    return today >= due_date - timedelta(days=days_before)


# ---------------------------------------------------------------------------------------------------------------
# What a returned moderation form means
# ---------------------------------------------------------------------------------------------------------------
YES_WORDS = {"yes", "y"}
NO_WORDS = {"no", "n"}


def parse_yes_no(value: object) -> bool | None:
    """``True`` for Yes, ``False`` for No, ``None`` for blank; ``ValueError`` for anything else."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower().rstrip(".")
    if text in YES_WORDS:
        return True
    if text in NO_WORDS:
        return False
    raise ValueError(value)


@dataclass(frozen=True)
class ActionRow:
    """One additional action from the moderator: action, owner, due date (as typed; checked by the rules)."""

    action: str
    owner: str = ""
    due_date: object = None

    @property
    def blank(self) -> bool:
        return not self.action.strip() and not self.owner.strip() and self.due_date in (None, "")


def action_rows(value: object) -> list[ActionRow]:
    """The non-blank rows of an actions table, whether stored as lists ``[action, owner, due]`` or as dicts."""
    rows: list[ActionRow] = []
    if not isinstance(value, list):
        return rows
    for raw in value:
        if isinstance(raw, Mapping):
            action, owner, due = raw.get("action"), raw.get("owner"), raw.get("due_date", raw.get("due"))
        elif isinstance(raw, (list, tuple)):
            padded = [*raw, None, None, None]
            action, owner, due = padded[0], padded[1], padded[2]
        else:
            continue
        row = ActionRow("" if action is None else str(action).strip(), "" if owner is None else str(owner).strip(), due)
        if not row.blank:
            rows.append(row)
    return rows


def m_grade_name(number: int) -> str:
    """``m_s1_grade`` ... the moderator's grade for a section (blank means agreed)."""
    return f"m_s{number}_grade"


@dataclass(frozen=True)
class ModerationOutcome:
    """A validated moderation: the auditor's grades, the moderator's (blank sections are agreed ones), the answers."""

    auditor_sections: dict[int, Grade | None]
    moderated_sections: dict[int, Grade | None]
    auditor_overall: Grade | None
    moderated_overall: Grade | None
    grade_agreed: bool
    actions_agreed: bool
    additional_actions: list[ActionRow] = field(default_factory=list)

    @property
    def changed_sections(self) -> dict[int, tuple[Grade | None, Grade | None]]:
        return {
            n: (self.auditor_sections.get(n), g)
            for n, g in self.moderated_sections.items()
            if g != self.auditor_sections.get(n)
        }

    @property
    def overall_changed(self) -> bool:
        return self.moderated_overall != self.auditor_overall

    @property
    def direction(self) -> str:
        """``raised``, ``lowered`` or ``same``: the moderator's overall grade against the auditor's."""
        a, m = self.auditor_overall, self.moderated_overall
        if a is None or m is None or a == m:
            return "same"
        return "raised" if m > a else "lowered"


def _grade(framework: Framework, value: object) -> Grade | None:
    """A grade from the moderator's form: parsed here, at the edge (the form's own answers)."""
    return framework.parse_grade(value)


def auditor_grades(
    framework: Framework, audit_answers: Mapping[str, object]
) -> tuple[dict[int, Grade | None], Grade | None]:
    """The auditor's section and overall grades from an accepted audit's recorded answers: ingest parsed them once
    and stored each grade's own name, so they are looked up by name here, not parsed again."""
    sections: dict[int, Grade | None] = {}
    for n in SECTION_NUMBERS:
        try:
            sections[n] = framework.grade_named(audit_answers.get(f"s{n}_grade"))
        except GradeParseError:
            sections[n] = None
    try:
        overall = framework.grade_named(audit_answers.get("overall_grade"))
    except GradeParseError:
        overall = None
    return sections, overall


def interpret(
    framework: Framework, audit_answers: Mapping[str, object], answers: Mapping[str, object]
) -> ModerationOutcome:
    """Merge a moderation form's answers over the auditor's grades: a blank moderated grade means agreed.

    The answers must have passed the moderation rules (an unknown grade raises :class:`GradeParseError`).
    """
    a_sections, a_overall = auditor_grades(framework, audit_answers)
    m_sections: dict[int, Grade | None] = {}
    for n in SECTION_NUMBERS:
        given = _grade(framework, answers.get(m_grade_name(n)))
        m_sections[n] = given if given is not None else a_sections[n]
    given_overall = _grade(framework, answers.get("m_overall_grade"))
    m_overall = given_overall if given_overall is not None else a_overall
    grade_agreed = parse_yes_no(answers.get("grade_agreed"))
    actions_agreed = parse_yes_no(answers.get("actions_agreed"))
    return ModerationOutcome(
        auditor_sections=a_sections,
        moderated_sections=m_sections,
        auditor_overall=a_overall,
        moderated_overall=m_overall,
        grade_agreed=bool(grade_agreed) if grade_agreed is not None else True,
        actions_agreed=bool(actions_agreed) if actions_agreed is not None else True,
        additional_actions=action_rows(answers.get("m_actions")),
    )


# ---------------------------------------------------------------------------------------------------------------
# Escalations (guidance section 3) and the final grade
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EscalationNeed:
    kind: str  # grade | actions
    to_staff_id: str | None


def case_head_of_service(team_manager_id: str | None, line_manager_of: Mapping[str, str | None]) -> str | None:
    """The Head of Service for the case's area: the team manager's line manager (the service manager)'s line
    manager (contracts: "a service's Head of Service is that service manager's line manager")."""
    if not team_manager_id:
        return None
    service_manager = line_manager_of.get(team_manager_id)
    if not service_manager:
        return None
    return line_manager_of.get(service_manager) or None


def escalations_needed(
    outcome: ModerationOutcome, hos_quality_assurance: str | None, case_hos: str | None
) -> list[EscalationNeed]:
    """Grade disagreement goes to the Head of Service for Quality Assurance; actions disagreement to the Head of
    Service for the case-holding area (guidance section 3)."""
    needs: list[EscalationNeed] = []
    if not outcome.grade_agreed:
        needs.append(EscalationNeed(ESCALATION_GRADE, hos_quality_assurance or None))
    if not outcome.actions_agreed:
        needs.append(EscalationNeed(ESCALATION_ACTIONS, case_hos or None))
    return needs


def next_escalation_id(existing: Iterable[str]) -> str:
    """``ESC-0001``, ``ESC-0002`` ...: one more than the highest so far (IDs are never reused)."""
    highest = 0
    for escalation_id in existing:
        _, _, number = escalation_id.partition("-")
        if number.isdigit():
            highest = max(highest, int(number))
    return f"ESC-{highest + 1:04d}"


def final_overall(auditor: str | None, moderated: str | None, head_of_service: str | None) -> str | None:
    """The audit's final overall grade: a Head of Service's resolution, else the moderated grade, else the auditor's."""
    return head_of_service or moderated or auditor
