"""The monthly allocation: which auditor audits which case (guidance section 2). Pure: no files, no register.

Rules, each from guidance section 2 or issue 3:
- every active auditor gets exactly one case; a paused auditor is exempt while paused, judged on the allocation day;
- Team Managers and Practice Supervisors never audit a case from their own team, Service Managers never one from
  their own service ("audit cases from teams that they are not directly responsible for"); Heads of Service and
  above follow ``allocation.senior_conflict``; nobody audits a case they hold, manage or review;
- no case is audited twice in a month, and a case audited in the 12 months before is picked only when nothing
  else is eligible for that auditor;
- cases are spread across teams (and so services) in proportion to each team's share of the caseload;
- the choice is random but reproducible: the seed is a hash of the month and every input;
- follow-ups due (issue 11, ``followups.py``) are offered first, up to ``allocation.followup_share`` of the month's
  allocations, each to an auditor who did not do the first audit and has no conflict; the 12-month rule does not
  apply to them (the case was audited on purpose).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import deque
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date

from caseaudit_batch.allocation.roster import Case, Caseload, Pair, Person, Roster
from caseaudit_batch.core import messages
from caseaudit_batch.core.clock import Month
from caseaudit_batch.core.messages import Problem
from caseaudit_batch.followups.due import followup_cap

TEAM_CONFLICT_ROLES = ("Team Manager", "Practice Supervisor")
SERVICE_CONFLICT_ROLES = ("Service Manager",)
SENIOR_ROLES = ("Head of Service", "Assistant Director", "Strategic Director")

HOW_RANDOM = "chosen at random"
HOW_RECENT = "chosen at random; audited in the last 12 months, no other case was eligible"
HOW_FILE = "chosen by hand (--from-file)"
HOW_FOLLOWUP = "follow-up audit"

PASSED_NO_WORKER = "no allocated social worker"
PASSED_WORKER_LEFT = "the allocated social worker has left"


@dataclass(frozen=True)
class Rules:
    """The configurable parts (``[allocation]`` in caseaudit.toml)."""

    auditing_roles: tuple[str, ...]
    senior_conflict: str = "service"  # "service" or "none"
    followup_share: float = 0.2


@dataclass(frozen=True)
class FollowupOffer:
    """A case due a follow-up of audit ``followup_of``, first audited by ``first_auditor`` (never given it)."""

    case_ref: str
    followup_of: str
    first_auditor: str


@dataclass(frozen=True)
class FollowupNote:
    """A due follow-up not allocated this month, and why (it stays due)."""

    case_ref: str
    followup_of: str
    reason: str


@dataclass(frozen=True)
class Assignment:
    staff_id: str
    case_ref: str
    how: str
    kind: str = "audit"  # audit | followup
    followup_of: str | None = None


@dataclass(frozen=True)
class Note:
    staff_id: str
    reason: str


@dataclass
class Plan:
    """The outcome: assignments, exemptions, auditors left without a case, and cases passed over (by reason)."""

    assignments: list[Assignment] = field(default_factory=list)
    exempt: list[Note] = field(default_factory=list)
    unallocated: list[Note] = field(default_factory=list)
    passed_over: dict[str, list[str]] = field(default_factory=dict)
    offered: int = 0
    total_cases: int = 0
    seed: str = ""
    followups_waiting: list[FollowupNote] = field(default_factory=list)


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


def exemption(person: Person, day: date) -> str | None:
    """Why a paused auditor is exempt on ``day`` (the allocation day), or None. "Paused until" is inclusive."""
    if person.audit_status != "Paused":
        return None
    reason = person.pause_reason or "no reason given"
    if person.paused_until is None:
        return f"paused, no end date given ({reason})"
    if person.paused_until >= day:
        return f"paused until {person.paused_until:%d/%m/%Y} ({reason})"
    return None


def is_auditor(person: Person, rules: Rules) -> bool:
    return person.role in rules.auditing_roles and person.with_authority


def unit_conflict(auditor: Person, service: str, team: str, rules: Rules) -> str | None:
    """A conflict that covers a whole team or service (guidance section 2)."""
    if auditor.role in TEAM_CONFLICT_ROLES and auditor.team and _key(team) == _key(auditor.team):
        return f"it is from their own team ({auditor.team})"
    if auditor.role in SERVICE_CONFLICT_ROLES and auditor.service and _key(service) == _key(auditor.service):
        return f"it is from their own service ({auditor.service})"
    if (
        auditor.role in SENIOR_ROLES
        and rules.senior_conflict == "service"
        and auditor.service
        and _key(service) == _key(auditor.service)
    ):
        return f"it is from their own service ({auditor.service})"
    return None


def personal_conflict(auditor: Person, case: Case, roster: Roster, rules: Rules) -> str | None:
    """A conflict through the case's people: nobody audits a case they hold, manage or review."""
    sid = auditor.staff_id
    if sid == case.social_worker_id:
        return "they are its social worker"
    if sid == case.previous_worker_id:
        return "they are its previous social worker"
    if sid == case.team_manager_id:
        return "they are its team manager"
    if sid == case.cp_iro_id:
        return "they are its CP coordinator / IRO"
    service_manager = roster.service_manager_for(case)
    if service_manager is not None:
        if service_manager.staff_id == sid:
            return "they are its service manager"
        # A service's Head of Service is that service manager's line manager.
        if rules.senior_conflict == "service" and service_manager.line_manager_id == sid:
            return "they are its Head of Service"
    return None


def conflict(auditor: Person, case: Case, roster: Roster, rules: Rules) -> str | None:
    """Why ``auditor`` may not audit ``case``, or None."""
    return unit_conflict(auditor, case.service, case.team, rules) or personal_conflict(auditor, case, roster, rules)


def offered(case: Case, roster: Roster) -> str | None:
    """Why a case is not offered for audit (issue 3: a case with no allocated social worker), or None."""
    if not case.social_worker_id:
        return PASSED_NO_WORKER
    worker = roster.get(case.social_worker_id)
    if worker is not None and not worker.with_authority:
        return PASSED_WORKER_LEFT
    return None


def three_way_meeting(case: Case, roster: Roster, day: date) -> bool:
    """Guidance section 2: re-allocated within a month before ``day`` and the previous worker still with us."""
    if not case.allocated_on or not case.previous_worker_id or case.previous_worker_id == case.social_worker_id:
        return False
    previous = roster.get(case.previous_worker_id)
    if previous is None or not previous.with_authority:
        return False
    last_month = Month.of(day).shift(-1)
    month_before = date(last_month.year, last_month.month, min(day.day, last_month.last_day.day))
    return month_before <= case.allocated_on <= day


def review_period(month: Month) -> str:
    """The six months before the audit month (guidance section 3: "the most recent 6 months of work")."""
    return f"{month.shift(-6).label} to {month.shift(-1).label}"


def recent_window(month: Month) -> list[str]:
    """The 12 months before ``month``, as ``YYYY-MM``."""
    return [str(month.shift(-k)) for k in range(12, 0, -1)]


def make_seed(month: Month, roster: Roster, caseload: Caseload, *parts: object) -> str:
    """A hash of the month and every input: the same inputs and month give the same allocation."""
    material = {
        "month": str(month),
        "people": sorted(
            [p.staff_id, p.role, p.team, p.service, p.line_manager_id, p.audit_status, str(p.paused_until)]
            for p in roster.people.values()
        ),
        "cases": sorted(
            [c.case_ref, c.service, c.team, c.social_worker_id, c.team_manager_id, c.previous_worker_id, c.cp_iro_id]
            for c in caseload.cases
        ),
        "parts": [json.loads(json.dumps(p, default=str, sort_keys=True)) for p in parts],
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode("utf-8")).hexdigest()


def check_pairs(
    pairs: Sequence[Pair], roster: Roster, caseload: Caseload, rules: Rules, *, file: str, taken: Collection[str] = ()
) -> list[Problem]:
    """Hand-chosen pairs must still follow the conflict rules and use offered cases (row numbers kept)."""
    cases = caseload.by_ref()
    found: list[Problem] = []
    for pair in pairs:
        person, case = roster.people[pair.staff_id], cases[pair.case_ref]
        where = {"file": file, "cell": f"row {pair.row}", "row": pair.row}
        why_not = offered(case, roster)
        if why_not:
            found.append(messages.problem("AL017", found=case.case_ref, reason=why_not, **where))
        elif case.case_ref in taken:
            taken_reason = "it is already allocated this month"
            found.append(messages.problem("AL017", found=case.case_ref, reason=taken_reason, **where))
        clash = conflict(person, case, roster, rules)
        if clash:
            found.append(messages.problem("AL014", name=person.name, case_ref=case.case_ref, reason=clash, **where))
    return found


def allocate(
    month: Month,
    day: date,
    roster: Roster,
    caseload: Caseload,
    rules: Rules,
    *,
    recent: Collection[str] = (),
    taken: Collection[str] = (),
    fixed: Sequence[Pair] = (),
    only: Sequence[Person] | None = None,
    extra_seed: object = None,
    followups: Sequence[FollowupOffer] = (),
) -> Plan:
    """Allocate one case to each active auditor (or to each of ``only``, exemptions then not applied).

    ``recent``: case references audited in the 12 months before; ``taken``: cases already allocated this month;
    ``fixed``: pairs chosen by hand (already checked with :func:`check_pairs`); ``followups``: follow-ups due,
    the first to be offered first.
    """
    plan = Plan(total_cases=len(caseload.cases))
    parts: list[object] = [sorted(recent), sorted(taken), [(p.staff_id, p.case_ref) for p in fixed], extra_seed]
    if followups:
        parts.append([(f.case_ref, f.followup_of, f.first_auditor) for f in followups])
    plan.seed = make_seed(month, roster, caseload, *parts)
    rng = random.Random(int(plan.seed[:16], 16))
    taken_set = set(taken)

    offer: list[Case] = []
    for case in sorted(caseload.cases, key=lambda c: c.case_ref):
        why_not = offered(case, roster)
        if why_not:
            plan.passed_over.setdefault(why_not, []).append(case.case_ref)
        else:
            plan.offered += 1  # offered, taken this month or not
            if case.case_ref not in taken_set:
                offer.append(case)

    fixed_staff = {p.staff_id for p in fixed}
    fixed_cases = {p.case_ref for p in fixed}
    for pair in fixed:
        plan.assignments.append(Assignment(pair.staff_id, pair.case_ref, HOW_FILE))

    if only is None:
        auditors = []
        for person in sorted(roster.people.values(), key=lambda p: p.staff_id):
            if not is_auditor(person, rules) or person.staff_id in fixed_staff:
                continue
            reason = exemption(person, day)
            if reason:
                plan.exempt.append(Note(person.staff_id, reason))
            else:
                auditors.append(person)
    else:
        auditors = list(only)

    # Follow-ups first (issue 11), up to the configured share of the month's allocations.
    wanted = len(auditors) + len(fixed)
    followed = _allocate_followups(
        followups, offer, fixed_cases, auditors, roster, rules, rng, followup_cap(rules.followup_share, wanted), plan
    )
    if followed:
        busy = {a.staff_id for a in followed}
        auditors = [p for p in auditors if p.staff_id not in busy]
        fixed_cases = fixed_cases | {a.case_ref for a in followed}

    # Teams in proportion to caseload (so services too): each team's target share of this month's audits.
    pool = [c for c in offer if c.case_ref not in fixed_cases]
    teams: dict[tuple[str, str], list[Case]] = {}
    for case in pool:
        teams.setdefault((_key(case.service), _key(case.team)), []).append(case)
    for cases in teams.values():
        rng.shuffle(cases)
    size = {t: len(cs) for t, cs in teams.items()}
    total = sum(size.values()) or 1
    target = {t: wanted * n / total for t, n in size.items()}
    given = {t: 0 for t in teams}
    by_ref = {c.case_ref: c for c in caseload.cases}
    for ref in [p.case_ref for p in fixed] + [a.case_ref for a in followed]:
        fixed_case = by_ref[ref]
        team_key = (_key(fixed_case.service), _key(fixed_case.team))
        if team_key in given:
            given[team_key] += 1
    tiebreak = {t: rng.random() for t in sorted(teams)}
    recent_set = set(recent)
    used: set[str] = set()

    every_unit = sorted(teams)

    def units(person: Person) -> list[tuple[str, str]]:
        # unit_conflict's test, on the keys the teams are already grouped by (a thousand auditors by a few
        # hundred teams made this most of allocate()'s time when each comparison keyed both names again).
        own_team = _key(person.team) if person.team and person.role in TEAM_CONFLICT_ROLES else None
        service_wide = person.role in SERVICE_CONFLICT_ROLES or (
            person.role in SENIOR_ROLES and rules.senior_conflict == "service"
        )
        own_service = _key(person.service) if person.service and service_wide else None
        return [t for t in every_unit if t[1] != own_team and t[0] != own_service]

    open_units = {p.staff_id: units(p) for p in auditors}
    order = list(auditors)
    rng.shuffle(order)
    # The most constrained auditors choose first, so a tight caseload still reaches everyone where it can.
    order.sort(key=lambda p: sum(size[t] for t in open_units[p.staff_id]))

    holder: dict[str, str] = {}  # case_ref -> staff_id
    chosen: dict[str, Case] = {}
    for person in order:
        # Sorted as by the key (given - target, tiebreak), stably: the position breaks a tie, never the unit. Keys
        # made in one comprehension, not a call per unit (a thousand auditors by a few hundred teams).
        keyed = [(given[t] - target[t], tiebreak[t], i, t) for i, t in enumerate(open_units[person.staff_id])]
        keyed.sort()
        ranked = [t for _, _, _, t in keyed]
        pick = None
        for fresh in (True, False):
            for unit in ranked:
                for case in teams[unit]:
                    if case.case_ref in used or (case.case_ref in recent_set) == fresh:
                        continue
                    if personal_conflict(person, case, roster, rules) is None:
                        pick = case
                        break
                if pick:
                    break
            if pick:
                break
        if pick is not None:
            used.add(pick.case_ref)
            holder[pick.case_ref] = person.staff_id
            chosen[person.staff_id] = pick
            given[(_key(pick.service), _key(pick.team))] += 1

    # A tight caseload: move earlier choices along (augmenting paths) so that nobody is left out needlessly.
    people = {p.staff_id: p for p in auditors}
    eligible_cache: dict[str, list[Case]] = {}

    def eligible(staff_id: str) -> list[Case]:
        if staff_id not in eligible_cache:
            person = people[staff_id]
            eligible_cache[staff_id] = [c for c in pool if conflict(person, c, roster, rules) is None]
        return eligible_cache[staff_id]

    def augment(start: str) -> bool:
        """Breadth-first search for the shortest chain of moves that frees a case for ``start``."""
        reached_from: dict[str, str] = {}  # case_ref -> the auditor whose move reaches it
        queue, seen = deque([start]), {start}
        while queue:
            staff_id = queue.popleft()
            for case in eligible(staff_id):
                if case.case_ref in reached_from:
                    continue
                reached_from[case.case_ref] = staff_id
                other = holder.get(case.case_ref)
                if other is None:
                    ref = case.case_ref
                    while True:  # walk the chain back, each auditor taking the case that reached them
                        mover = reached_from[ref]
                        previous = chosen.get(mover)
                        holder[ref], chosen[mover] = mover, by_ref[ref]
                        if mover == start or previous is None:
                            return True
                        ref = previous.case_ref
                if other not in seen:
                    seen.add(other)
                    queue.append(other)
        return False

    for person in order:
        if person.staff_id not in chosen:
            augment(person.staff_id)

    plan.assignments += followed
    for person in sorted(auditors, key=lambda p: p.staff_id):
        got = chosen.get(person.staff_id)
        if got is None:
            plan.unallocated.append(Note(person.staff_id, _no_case_reason(person, caseload, roster, rules)))
        else:
            how = HOW_RECENT if got.case_ref in recent_set else HOW_RANDOM
            plan.assignments.append(Assignment(person.staff_id, got.case_ref, how))
    return plan


def _allocate_followups(
    followups: Sequence[FollowupOffer],
    offer: Sequence[Case],
    fixed_cases: Collection[str],
    auditors: Sequence[Person],
    roster: Roster,
    rules: Rules,
    rng: random.Random,
    cap: int,
    plan: Plan,
) -> list[Assignment]:
    """Give due follow-ups (in the order given) to auditors, at most ``cap``; each to someone who did not do the
    first audit and has no conflict with the case, chosen at random among them. Those not given are noted."""
    offered_cases = {c.case_ref: c for c in offer}
    free = sorted(auditors, key=lambda p: p.staff_id)
    rng.shuffle(free)
    given: list[Assignment] = []
    seen: set[str] = set()
    for due in followups:
        if due.case_ref in seen:
            continue
        seen.add(due.case_ref)
        case = offered_cases.get(due.case_ref)
        reason = ""
        if case is None or due.case_ref in fixed_cases:
            reason = "the case is not offered for audit this month (no allocated social worker, or already taken)"
        elif len(given) >= cap:
            reason = f"this month's share of follow-ups ({cap}) is used; it stays due"
        else:
            person = next(
                (p for p in free if p.staff_id != due.first_auditor and conflict(p, case, roster, rules) is None),
                None,
            )
            if person is None:
                reason = "no free auditor without a conflict (other than the first auditor); it stays due"
            else:
                free.remove(person)
                given.append(Assignment(person.staff_id, case.case_ref, HOW_FOLLOWUP, "followup", due.followup_of))
        if reason:
            plan.followups_waiting.append(FollowupNote(due.case_ref, due.followup_of, reason))
    return given


def _no_case_reason(person: Person, caseload: Caseload, roster: Roster, rules: Rules) -> str:
    possible = [c for c in caseload.cases if not offered(c, roster) and conflict(person, c, roster, rules) is None]
    if not possible:
        if person.role in TEAM_CONFLICT_ROLES:
            scope = f"outside their own team ({person.team})"
        elif person.role in SERVICE_CONFLICT_ROLES or (
            person.role in SENIOR_ROLES and rules.senior_conflict == "service"
        ):
            scope = f"outside their own service ({person.service})"
        else:
            scope = "that they are not responsible for"
        return f"the caseload has no case offered for audit {scope}"
    return (
        f"all {len(possible)} case(s) they may audit are already allocated this month "
        "(the caseload is too small for the number of auditors)"
    )
