"""The allocation algorithm (pure): conflict rules, reproducibility, the 12-month rule, exemptions, spread."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from alloc_tables import ACTIVE_AUDITORS, CASELOAD, ROSTER, TIGHT_CASELOAD, TIGHT_ROSTER, drop, edit, write

from caseaudit_batch.allocation.allocate import (
    HOW_FILE,
    HOW_RECENT,
    PASSED_NO_WORKER,
    Rules,
    allocate,
    check_pairs,
    conflict,
    review_period,
    three_way_meeting,
)
from caseaudit_batch.allocation.roster import AUDITING_ROLES, Caseload, Pair, Roster, load_caseload, load_roster
from caseaudit_batch.core.clock import Month
from caseaudit_batch.demo import synthetic

SEPT = Month(2026, 9)
DAY = date(2026, 9, 1)
RULES = Rules(AUDITING_ROLES, "service")


def load(tmp_path: Path, roster: str = ROSTER, caseload: str = CASELOAD) -> tuple[Roster, Caseload]:
    people = load_roster(write(tmp_path / "roster.csv", roster))
    return people, load_caseload(write(tmp_path / "caseload.csv", caseload), people)


def assert_rules_hold(roster: Roster, caseload: Caseload, plan_assignments: list, rules: Rules = RULES) -> None:
    cases = caseload.by_ref()
    refs = [a.case_ref for a in plan_assignments]
    assert len(refs) == len(set(refs)), "a case is audited twice in a month"
    staff = [a.staff_id for a in plan_assignments]
    assert len(staff) == len(set(staff)), "an auditor has two cases"
    for a in plan_assignments:
        person, case = roster.people[a.staff_id], cases[a.case_ref]
        assert conflict(person, case, roster, rules) is None, (person, case)
        if person.role in ("Team Manager", "Practice Supervisor"):
            assert case.team != person.team
        if person.role == "Service Manager" or (
            person.role in ("Head of Service",) and rules.senior_conflict == "service"
        ):
            assert case.service != person.service
        assert case.social_worker_id, "a case with no allocated social worker was offered"


def test_every_active_auditor_gets_one_case_and_the_conflict_rules_hold(tmp_path: Path) -> None:
    roster, caseload = load(tmp_path)
    plan = allocate(SEPT, DAY, roster, caseload, RULES)
    assert {a.staff_id for a in plan.assignments} == ACTIVE_AUDITORS
    assert plan.unallocated == []
    assert_rules_hold(roster, caseload, plan.assignments)
    # The case with no allocated social worker is passed over and counted.
    assert plan.passed_over == {PASSED_NO_WORKER: ["S2-05"]}
    assert plan.offered == 16 and plan.total_cases == 17


@pytest.mark.parametrize("seed", range(8))
def test_conflict_rules_hold_for_every_auditor_of_synthetic_authorities(seed: int) -> None:
    authority = synthetic.make_authority(20 + 7 * seed, seed=seed)
    roster = Roster({p.staff_id: p for p in authority.people})
    caseload = Caseload(authority.cases)
    plan = allocate(SEPT, DAY, roster, caseload, RULES)
    assert plan.unallocated == []
    exempt = {n.staff_id for n in plan.exempt}
    assert {a.staff_id for a in plan.assignments} | exempt == {p.staff_id for p in authority.auditors}
    assert_rules_hold(roster, caseload, plan.assignments)


def test_the_same_inputs_give_the_same_allocation(tmp_path: Path) -> None:
    roster, caseload = load(tmp_path)
    first = allocate(SEPT, DAY, roster, caseload, RULES)
    (tmp_path / "again").mkdir()
    again = allocate(SEPT, DAY, *load(tmp_path / "again"), RULES)  # the same tables, read again from new files
    assert first.assignments == again.assignments and first.seed == again.seed
    # Another month, or a change in the inputs, gives another draw.
    other = allocate(Month(2026, 10), date(2026, 10, 1), roster, caseload, RULES)
    assert other.seed != first.seed
    changed = allocate(SEPT, DAY, *load(tmp_path, caseload=drop(CASELOAD, "S1-04")), RULES)
    assert changed.seed != first.seed
    authority = synthetic.make_authority(40, seed=3)
    big = (Roster({p.staff_id: p for p in authority.people}), Caseload(authority.cases))
    assert allocate(SEPT, DAY, *big, RULES).assignments == allocate(SEPT, DAY, *big, RULES).assignments
    assert allocate(SEPT, DAY, *big, RULES).assignments != allocate(Month(2026, 10), DAY, *big, RULES).assignments


def test_a_case_audited_in_the_last_12_months_is_not_picked_while_others_are_eligible(tmp_path: Path) -> None:
    roster, caseload = load(tmp_path)
    recent = {"N1-01", "N1-02", "N2-01", "N2-02", "S1-01", "S1-02", "S2-01", "S2-02"}
    plan = allocate(SEPT, DAY, roster, caseload, RULES, recent=recent)
    assert len(plan.assignments) == 13 and plan.unallocated == []
    used_recent = [a for a in plan.assignments if a.case_ref in recent]
    # 16 offered cases, 8 fresh: 13 auditors need 5 recent ones, each marked; the fresh ones are all used first.
    assert len(used_recent) == 5 and all(a.how == HOW_RECENT for a in used_recent)
    assert {a.case_ref for a in plan.assignments} >= set(
        c.case_ref for c in caseload.cases if c.case_ref not in recent and c.social_worker_id
    )
    assert_rules_hold(roster, caseload, plan.assignments)


def test_paused_auditors_are_exempt_judged_on_the_allocation_day(tmp_path: Path) -> None:
    roster, caseload = load(tmp_path)
    plan = allocate(SEPT, DAY, roster, caseload, RULES)
    assert [(n.staff_id, n.reason) for n in plan.exempt] == [("P2", "paused until 15/10/2026 (Parental leave)")]
    assert "P3" in {a.staff_id for a in plan.assignments}  # paused until 20 August: back by 1 September
    # Judged on 16 October, Pip is back; on 15 October she is still paused ("until" includes the day).
    later = allocate(Month(2026, 10), date(2026, 10, 16), roster, caseload, RULES)
    assert later.exempt == [] and "P2" in {a.staff_id for a in later.assignments}
    assert [n.staff_id for n in allocate(Month(2026, 10), date(2026, 10, 15), roster, caseload, RULES).exempt] == ["P2"]
    # Paused with no end date: exempt, said so.
    roster2, caseload2 = load(tmp_path, roster=edit(ROSTER, "T1", "Audit status", "Paused"))
    exempt = {n.staff_id: n.reason for n in allocate(SEPT, DAY, roster2, caseload2, RULES).exempt}
    assert exempt["T1"] == "paused, no end date given (no reason given)"


def test_a_too_small_caseload_is_explained(tmp_path: Path) -> None:
    small = drop(CASELOAD, "N1-03", "N1-04", "N2-03", "N2-04", "S1-03", "S1-04", "S2-03", "S2-04")
    roster, caseload = load(tmp_path, caseload=small)
    plan = allocate(SEPT, DAY, roster, caseload, RULES)
    assert len(plan.assignments) == 8  # every offered case is used
    assert len(plan.unallocated) == 5
    for note in plan.unallocated:
        assert "too small for the number of auditors" in note.reason
    assert_rules_hold(roster, caseload, plan.assignments)


def test_an_auditor_with_only_own_team_cases_is_named_with_the_reason(tmp_path: Path) -> None:
    only_n1 = "\n".join(line for line in CASELOAD.strip().splitlines() if not line.startswith(("N2", "S")))
    roster, caseload = load(tmp_path, caseload=only_n1)
    plan = allocate(SEPT, DAY, roster, caseload, RULES)
    reasons = {n.staff_id: n.reason for n in plan.unallocated}
    assert reasons["T1"] == "the caseload has no case offered for audit outside their own team (N1)"
    assert reasons["M1"] == "the caseload has no case offered for audit outside their own service (North)"
    assert reasons["P1"] == reasons["T1"]
    assert reasons["H1"] == reasons["M1"]
    # The other nine auditors may audit N1 cases, but there are only four: five are told the caseload is too small.
    assert len(plan.assignments) == 4
    too_small = [s for s, r in reasons.items() if "too small for the number of auditors" in r]
    assert len(too_small) == 5 and {"T1", "P1", "M1", "H1"}.isdisjoint(too_small)


def test_senior_conflict_is_configurable(tmp_path: Path) -> None:
    south_only = "\n".join(line for line in CASELOAD.strip().splitlines() if not line.startswith("N"))
    roster, caseload = load(tmp_path, caseload=south_only)
    strict = allocate(SEPT, DAY, roster, caseload, RULES)
    assert "H2" in {n.staff_id for n in strict.unallocated}  # Head of Service South: South cases only
    relaxed = allocate(SEPT, DAY, roster, caseload, Rules(AUDITING_ROLES, "none"))
    assert "H2" not in {n.staff_id for n in relaxed.unallocated}
    # Which roles audit is configurable too.
    no_seniors = Rules(tuple(r for r in AUDITING_ROLES if r not in ("Strategic Director", "Assistant Director")))
    assert {"D1", "A1"}.isdisjoint(a.staff_id for a in allocate(SEPT, DAY, roster, caseload, no_seniors).assignments)


def test_cases_are_spread_in_proportion_to_caseload() -> None:
    authority = synthetic.make_authority(150)
    roster = Roster({p.staff_id: p for p in authority.people})
    caseload = Caseload(authority.cases)
    plan = allocate(SEPT, DAY, roster, caseload, RULES)
    assert plan.unallocated == []
    cases = caseload.by_ref()
    offered = Counter(c.service for c in authority.cases if c.social_worker_id)
    given = Counter(cases[a.case_ref].service for a in plan.assignments)
    total = sum(offered.values())
    for service, count in offered.items():
        expected = len(plan.assignments) * count / total
        assert abs(given[service] - expected) <= 3, (service, given[service], expected)
    per_team = Counter(cases[a.case_ref].team for a in plan.assignments)
    assert max(per_team.values()) - min(per_team.values()) <= 2


def test_hand_chosen_pairs_are_used_and_checked(tmp_path: Path) -> None:
    roster, caseload = load(tmp_path)
    pairs = [Pair(2, "T1", "S1-01"), Pair(3, "M1", "S2-02")]
    assert check_pairs(pairs, roster, caseload, RULES, file="pairs.xlsx") == []
    plan = allocate(SEPT, DAY, roster, caseload, RULES, fixed=pairs)
    chosen = {a.staff_id: (a.case_ref, a.how) for a in plan.assignments}
    assert chosen["T1"] == ("S1-01", HOW_FILE) and chosen["M1"] == ("S2-02", HOW_FILE)
    assert {a.staff_id for a in plan.assignments} == ACTIVE_AUDITORS
    assert_rules_hold(roster, caseload, plan.assignments)
    bad = check_pairs([Pair(4, "T1", "N1-02"), Pair(5, "M2", "S2-05")], roster, caseload, RULES, file="pairs.xlsx")
    assert [(p.code, p.cell) for p in bad] == [("AL014", "row 4"), ("AL017", "row 5"), ("AL014", "row 5")]
    assert "it is from their own team (N1)" in bad[0].message


def test_three_way_meeting_and_review_period(tmp_path: Path) -> None:
    roster, caseload = load(tmp_path)
    cases = caseload.by_ref()
    assert three_way_meeting(cases["N1-02"], roster, DAY)  # re-allocated 20 August, previous worker still here
    assert not three_way_meeting(cases["N1-02"], roster, date(2026, 9, 21))  # more than a month before
    assert not three_way_meeting(cases["N1-03"], roster, date(2026, 3, 10))  # previous worker has left
    assert not three_way_meeting(cases["N1-01"], roster, DAY)  # no previous worker
    assert review_period(SEPT) == "March 2026 to August 2026"
    assert review_period(Month(2027, 1)) == "July 2026 to December 2026"


@pytest.mark.parametrize("month", range(1, 13))
def test_nobody_is_left_out_when_moving_an_earlier_choice_frees_a_case(tmp_path: Path, month: int) -> None:
    roster, caseload = load(tmp_path, TIGHT_ROSTER, TIGHT_CASELOAD)
    plan = allocate(Month(2026, month), date(2026, month, 1), roster, caseload, RULES)
    assert {a.staff_id: a.case_ref for a in plan.assignments} == {"X1": "c1", "Y1": "b1"}
    assert plan.unallocated == []


def test_row_order_does_not_change_the_allocation(tmp_path: Path) -> None:
    roster, caseload = load(tmp_path)
    header, *body = CASELOAD.strip().splitlines()
    r_header, *r_body = ROSTER.strip().splitlines()
    (tmp_path / "reversed").mkdir()
    shuffled = load(
        tmp_path / "reversed", "\n".join([r_header, *reversed(r_body)]), "\n".join([header, *reversed(body)])
    )
    assert allocate(SEPT, DAY, roster, caseload, RULES).assignments == allocate(SEPT, DAY, *shuffled, RULES).assignments
