"""Moderation's pure logic: the sampling policy, moderators, due dates, merging and escalation routing."""

from __future__ import annotations

from datetime import date

import pytest

from caseaudit_batch.core.framework import load_framework
from caseaudit_batch.moderation import policy as mod

FW = load_framework()
POLICY = mod.SamplingPolicy(always=("Outstanding", "Inadequate"), share=0.25, seed="test")

# audit ID, overall grade, auditor, auditor's service
AUDITS = [
    ("2026-09-001", "Good", "S01", "Children in Need"),
    ("2026-09-002", "Good", "S02", "Children in Need"),
    ("2026-09-003", "Requires Improvement", "S03", "Children in Need"),
    ("2026-09-004", "Inadequate", "S04", "Children in Need"),
    ("2026-09-005", "Good", "S05", "Children in Need"),
    ("2026-09-006", "Requires Improvement", "S06", "Children in Need"),
    ("2026-09-007", "Outstanding", "S07", "Children in Need"),
    ("2026-09-008", "Good", "S08", "Children in Need"),
    ("2026-09-009", "Good", "S09", "Children in Need"),
    ("2026-09-010", "Requires Improvement", "S10", "Children in Need"),
    ("2026-09-011", "Good", "S11", "Looked After Children"),
]


def candidates(rows: list[tuple[str, str, str, str]] = AUDITS) -> list[mod.Candidate]:
    return [mod.Candidate(a, g, s, svc) for a, g, s, svc in rows]


def test_every_always_grade_is_sampled_plus_a_quarter_of_the_rest() -> None:
    picks = mod.select_sample("2026-09", candidates(), [], POLICY)
    reasons = {p.audit_id: p.reason for p in picks}
    assert reasons["2026-09-004"] == mod.REASON_ALWAYS  # Inadequate
    assert reasons["2026-09-007"] == mod.REASON_ALWAYS  # Outstanding
    # 9 audits are neither: a quarter rounded up is 3, counting the Looked After audit if the draw took it.
    rest = [p for p in picks if p.reason in (mod.REASON_RANDOM, mod.REASON_SERVICE)]
    drawn = [p for p in picks if p.reason == mod.REASON_RANDOM]
    assert len(drawn) == 3
    # At least one audit from every auditor service: the only Looked After audit is in, by draw or by cover.
    assert "2026-09-011" in reasons
    assert len(rest) == 3 + (reasons["2026-09-011"] == mod.REASON_SERVICE)


def test_the_draw_is_reproducible_and_depends_on_seed_and_month() -> None:
    first = mod.select_sample("2026-09", candidates(), [], POLICY)
    again = mod.select_sample("2026-09", list(reversed(candidates())), [], POLICY)
    assert first == sorted(again, key=lambda p: [x.audit_id for x in first].index(p.audit_id))
    assert {p.audit_id for p in first} == {p.audit_id for p in again}
    seeds = {
        frozenset(p.audit_id for p in mod.select_sample("2026-09", candidates(), [], mod.SamplingPolicy(seed=s)))
        for s in ("a", "b", "c", "d", "e", "f")
    }
    assert len(seeds) > 1  # the seed changes the random share


def test_later_runs_add_late_always_audits_and_keep_the_share() -> None:
    first = mod.select_sample("2026-09", candidates(AUDITS[:8]), [], POLICY)
    existing = [mod.SampleRow(p.audit_id, mod.SAMPLED, p.reason) for p in first]
    # Nothing new: nothing more is drawn.
    assert mod.select_sample("2026-09", candidates(AUDITS[:8]), existing, POLICY) == []
    late = [*AUDITS, ("2026-09-012", "Inadequate", "S12", "Children in Need")]
    more = mod.select_sample("2026-09", candidates(late), existing, POLICY)
    assert mod.Pick("2026-09-012", mod.REASON_ALWAYS) in more
    assert not {p.audit_id for p in more} & {p.audit_id for p in first}
    total_rest_drawn = sum(1 for p in [*first, *more] if p.reason in (mod.REASON_RANDOM, mod.REASON_SERVICE))
    assert total_rest_drawn >= mod.random_target(0.25, 9)


def test_removed_audits_are_never_drawn_again_nor_silently_replaced() -> None:
    first = mod.select_sample("2026-09", candidates(), [], POLICY)
    existing = [mod.SampleRow(p.audit_id, mod.SAMPLED, p.reason) for p in first]
    gone = next(p for p in first if p.reason == mod.REASON_RANDOM)
    existing = [
        mod.SampleRow(r.audit_id, mod.REMOVED if r.audit_id == gone.audit_id else r.status, r.reason) for r in existing
    ]
    assert mod.select_sample("2026-09", candidates(), existing, POLICY) == []
    removed_always = [mod.SampleRow("2026-09-004", mod.REMOVED, mod.REASON_ALWAYS)]
    picks = mod.select_sample("2026-09", candidates(), removed_always, POLICY)
    assert "2026-09-004" not in {p.audit_id for p in picks}


def test_share_rounding() -> None:
    assert mod.random_target(0.25, 0) == 0
    assert mod.random_target(0.25, 1) == 1
    assert mod.random_target(0.25, 4) == 1
    assert mod.random_target(0.25, 5) == 2
    assert mod.random_target(0.1, 30) == 3  # no floating-point surprise
    assert mod.random_target(0.0, 30) == 0


def test_moderators_are_never_the_auditor_and_share_the_load() -> None:
    audits = [("A1", "M1"), ("A2", "S1"), ("A3", "S2"), ("A4", "M2")]
    assigned = mod.assign_moderators(audits, ["M1", "M2"])
    assert assigned["A1"] == "M2"
    assert assigned["A4"] == "M1"
    assert sorted(assigned.values()) == ["M1", "M1", "M2", "M2"]  # type: ignore[type-var]
    assert mod.assign_moderators([("A1", "M1")], ["M1"]) == {"A1": None}
    assert mod.assign_moderators([("A1", "S1")], ["M1", "M2"], load={"M1": 3}) == {"A1": "M2"}


def test_due_dates_and_reminders() -> None:
    # 14 days after Tuesday 15 December 2026 is Tuesday 29 December; the 28th is a bank holiday, the 29th is not.
    assert mod.moderation_due_date(date(2026, 12, 15), 14) == date(2026, 12, 29)
    # 14 days after Friday 11 December is Friday 25 December (Christmas): moved back to Thursday 24.
    assert mod.moderation_due_date(date(2026, 12, 11), 14) == date(2026, 12, 24)
    assert not mod.reminder_due(date(2026, 9, 1), date(2026, 9, 15), 3)
    assert mod.reminder_due(date(2026, 9, 12), date(2026, 9, 15), 3)
    assert mod.reminder_due(date(2026, 9, 20), date(2026, 9, 15), 3)


AUDIT_ANSWERS = {f"s{n}_grade": "Good" for n in range(1, 10)} | {"overall_grade": "Good"}


def test_blank_moderated_grades_mean_agreed() -> None:
    outcome = mod.interpret(FW, AUDIT_ANSWERS, {"grade_agreed": "Yes", "actions_agreed": "Yes"})
    assert outcome.grade_agreed and outcome.actions_agreed
    assert outcome.changed_sections == {}
    assert outcome.moderated_overall == FW.grade("Good")
    assert outcome.direction == "same"


def test_a_lowered_grade_is_merged_over_the_auditors() -> None:
    answers = {
        "grade_agreed": "No",
        "m_s7_grade": "Inadequate",
        "m_overall_grade": "requires improvement",
        "actions_agreed": "yes",
        "m_actions": [["Update the chronology", "SW", "2026-10-15"], [None, None, None]],
    }
    outcome = mod.interpret(FW, AUDIT_ANSWERS, answers)
    assert not outcome.grade_agreed
    assert outcome.changed_sections == {7: (FW.grade("Good"), FW.grade("Inadequate"))}
    assert outcome.moderated_sections[1] == FW.grade("Good")
    assert outcome.moderated_overall == FW.grade("Requires Improvement")
    assert outcome.direction == "lowered"
    assert outcome.additional_actions == [mod.ActionRow("Update the chronology", "SW", "2026-10-15")]


def test_escalations_go_to_the_right_heads_of_service() -> None:
    line_manager_of = {"TM1": "SM1", "SM1": "HOS1", "HOS1": "AD1"}
    assert mod.case_head_of_service("TM1", line_manager_of) == "HOS1"
    assert mod.case_head_of_service("TMX", line_manager_of) is None
    outcome = mod.interpret(
        FW, AUDIT_ANSWERS, {"grade_agreed": "No", "m_overall_grade": "Outstanding", "actions_agreed": "No"}
    )
    needs = mod.escalations_needed(outcome, "HOSQA", "HOS1")
    assert needs == [mod.EscalationNeed("grade", "HOSQA"), mod.EscalationNeed("actions", "HOS1")]
    assert outcome.direction == "raised"
    agreed = mod.interpret(FW, AUDIT_ANSWERS, {"grade_agreed": "Yes", "actions_agreed": "Yes"})
    assert mod.escalations_needed(agreed, "HOSQA", "HOS1") == []


def test_escalation_ids_and_final_grade() -> None:
    assert mod.next_escalation_id([]) == "ESC-0001"
    assert mod.next_escalation_id(["ESC-0001", "ESC-0009", "ESC-0003"]) == "ESC-0010"
    assert mod.final_overall("Good", None, None) == "Good"
    assert mod.final_overall("Good", "Requires Improvement", None) == "Requires Improvement"
    assert mod.final_overall("Good", "Requires Improvement", "Inadequate") == "Inadequate"


@pytest.mark.parametrize(("text", "expected"), [("Yes", True), (" no ", False), ("", None), (None, None)])
def test_yes_no(text: object, expected: bool | None) -> None:
    assert mod.parse_yes_no(text) is expected


def test_yes_no_refuses_other_words() -> None:
    with pytest.raises(ValueError):
        mod.parse_yes_no("maybe")
