"""Moderation in the register: the sample with --add/--remove, merging, escalations and the history kept."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from moderation_kit import AUDITS, MONTH, add_audit, configure, seed

from caseaudit_batch import cli, session
from caseaudit_batch.core import register as reg
from caseaudit_batch.moderation import stage as moderation_stage
from caseaudit_batch.moderation.register import ModerationError, record_moderation


@pytest.fixture
def mctx(workspace: Path) -> session.Context:
    configure(workspace)
    context = session.open_context(workspace / "caseaudit.toml", "2026-10-01")
    seed(context)
    yield context
    context.close()


def rows(ctx: session.Context, table: sa.Table) -> list[sa.Row]:
    with ctx.register.reader() as conn:
        return list(conn.execute(sa.select(table)))


def test_first_run_draws_the_sample_with_moderators_and_due_dates(mctx: session.Context) -> None:
    result = moderation_stage.moderate(mctx, MONTH)
    sample = {r.audit_id: r for r in rows(mctx, reg.moderation_sample)}
    assert sample["2026-09-003"].reason == "always"  # Inadequate
    assert sample["2026-09-004"].reason == "always"  # Outstanding
    # The rest: 4 audits, a quarter rounded up is 1; both auditor services are then covered.
    assert sum(1 for r in sample.values() if r.reason == "random") == 1
    for row in sample.values():
        assert row.moderator_id in ("M1", "M2")
        assert row.due_date.isoformat() == "2026-10-15"  # 14 days after 1 October
    # Audit 006 was done by the moderator M2, who must not moderate it.
    if "2026-09-006" in sample:
        assert sample["2026-09-006"].moderator_id == "M1"
    changes = rows(mctx, reg.moderation_changes)
    assert {c.audit_id for c in changes} == set(sample)
    assert {c.change for c in changes} == {"drawn"}
    assert set(result.data["drawn"]) == set(sample)
    # A second run with nothing new changes nothing: the draw is reproducible.
    again = moderation_stage.moderate(mctx, MONTH)
    assert again.data["drawn"] == []
    assert {r.audit_id for r in rows(mctx, reg.moderation_sample)} == set(sample)


def test_late_always_audit_is_sampled_on_a_later_run(mctx: session.Context) -> None:
    moderation_stage.moderate(mctx, MONTH)
    with mctx.register.writer() as conn:
        add_audit(conn, "2026-09-007", "TM2", "CR-1007", "TM1", "Inadequate", ["Inadequate"] * 9)
    result = moderation_stage.moderate(mctx, MONTH)
    assert "2026-09-007" in result.data["drawn"]
    row = next(r for r in rows(mctx, reg.moderation_sample) if r.audit_id == "2026-09-007")
    assert row.reason == "always"


def test_add_and_remove_are_recorded(mctx: session.Context) -> None:
    moderation_stage.moderate(mctx, MONTH)
    sample = {r.audit_id: r for r in rows(mctx, reg.moderation_sample)}
    outside = next(a[0] for a in AUDITS if a[0] not in sample)
    moderation_stage.moderate(mctx, MONTH, add=outside)
    moderation_stage.moderate(mctx, MONTH, remove="2026-09-004")
    after = {r.audit_id: r for r in rows(mctx, reg.moderation_sample)}
    assert after[outside].reason == "added" and after[outside].status == "sampled"
    assert after["2026-09-004"].status == "removed"
    # Removed stays removed on later runs (the Outstanding audit is not drawn back).
    moderation_stage.moderate(mctx, MONTH)
    assert {r.audit_id: r.status for r in rows(mctx, reg.moderation_sample)}["2026-09-004"] == "removed"
    changes = [(c.audit_id, c.change) for c in rows(mctx, reg.moderation_changes)]
    assert (outside, "added") in changes and ("2026-09-004", "removed") in changes
    # Added back after removal: the same row, sampled again, both changes in the log.
    moderation_stage.moderate(mctx, MONTH, add="2026-09-004")
    assert {r.audit_id: r.status for r in rows(mctx, reg.moderation_sample)}["2026-09-004"] == "sampled"
    assert changes.count(("2026-09-004", "removed")) == 1


def test_add_unknown_audit_is_refused_with_exit_2(mctx: session.Context, workspace: Path) -> None:
    with pytest.raises(ModerationError) as caught:
        moderation_stage.moderate(mctx, MONTH, add="2026-09-999")
    assert caught.value.code == "MOD001"
    code = cli.main(["moderate", "--config", str(workspace / "caseaudit.toml"), "--month", MONTH, "--remove", "X"])
    assert code == 2


def test_moderator_never_moderates_own_audit(workspace: Path) -> None:
    configure(workspace, moderators=["M2"])
    context = session.open_context(workspace / "caseaudit.toml", "2026-10-01")
    try:
        seed(context)
        moderation_stage.moderate(context, MONTH)
        result = moderation_stage.moderate(context, MONTH, add="2026-09-006")  # M2's own audit
        row = next(r for r in rows(context, reg.moderation_sample) if r.audit_id == "2026-09-006")
        assert row.moderator_id is None
        assert any("[MOD020]" in line and "2026-09-006" in line for line in result.attention)
    finally:
        context.close()


def record(ctx: session.Context, audit_id: str, answers: dict[str, object], sub: int = 900) -> object:
    with ctx.register.writer() as conn:
        return record_moderation(
            conn,
            ctx.framework,
            audit_id,
            answers,
            submission_id=sub,
            hos_quality_assurance="HQA",
            now="2026-10-05T10:00:00+01:00",
            moderator_id="M1",
        )


def test_an_agreeing_moderation(mctx: session.Context) -> None:
    recorded = record(mctx, "2026-09-001", {"grade_agreed": "Yes", "actions_agreed": "Yes"})
    assert recorded.escalations == []  # type: ignore[attr-defined]
    (moderation,) = rows(mctx, reg.moderations)
    assert moderation.current and moderation.grade_agreed and moderation.actions_agreed
    assert moderation.overall_grade == "Good"  # equal to the auditor's when agreed
    moderator_grades = [r for r in rows(mctx, reg.section_grades) if r.source == "moderator"]
    assert len(moderator_grades) == 9 and {r.grade for r in moderator_grades} == {"Good"}
    assert {r.moderation_row_id for r in moderator_grades} == {moderation.id}


def test_a_moderation_that_lowers_the_overall_grade_escalates_to_hos_qa(mctx: session.Context) -> None:
    answers = {
        "grade_agreed": "No",
        "m_s7_grade": "Requires Improvement",
        "m_overall_grade": "Requires Improvement",
        "m_rationale": "Supervision is not reflective.",
        "actions_agreed": "Yes",
    }
    recorded = record(mctx, "2026-09-001", answers)
    (moderation,) = rows(mctx, reg.moderations)
    assert moderation.overall_grade == "Requires Improvement"
    assert moderation.answers["m_s7_grade"] == "Requires Improvement"
    # The auditor's grades are kept beside the moderator's.
    (audit,) = [r for r in rows(mctx, reg.audits) if r.audit_id == "2026-09-001"]
    assert audit.overall_grade == "Good"
    grades = {(r.source, r.section): r.grade for r in rows(mctx, reg.section_grades) if r.audit_row_id == audit.id}
    assert grades[("auditor", 7)] == "Good" and grades[("moderator", 7)] == "Requires Improvement"
    (escalation,) = rows(mctx, reg.escalations)
    assert escalation.escalation_id == "ESC-0001"
    assert (escalation.kind, escalation.to_staff_id, escalation.status) == ("grade", "HQA", "Open")
    assert recorded.outcome.direction == "lowered"  # type: ignore[attr-defined]


def test_actions_disagreement_goes_to_the_case_head_of_service(mctx: session.Context) -> None:
    # Case CR-1003's team manager is TM2, whose service manager SM2 reports to HOS2.
    record(
        mctx,
        "2026-09-003",
        {"grade_agreed": "Yes", "actions_agreed": "No", "m_actions_comment": "The plan needs a PLO letter."},
    )
    (escalation,) = rows(mctx, reg.escalations)
    assert (escalation.kind, escalation.to_staff_id) == ("actions", "HOS2")


def test_escalations_resolved_and_the_hos_grade_becomes_final(mctx: session.Context, workspace: Path) -> None:
    record(
        mctx,
        "2026-09-001",
        {
            "grade_agreed": "No",
            "m_overall_grade": "Requires Improvement",
            "m_s7_grade": "Requires Improvement",
            "actions_agreed": "No",
        },
    )
    ids = sorted(r.escalation_id for r in rows(mctx, reg.escalations))
    assert ids == ["ESC-0001", "ESC-0002"]
    grade_esc = next(r for r in rows(mctx, reg.escalations) if r.kind == "grade").escalation_id
    actions_esc = next(r for r in rows(mctx, reg.escalations) if r.kind == "actions").escalation_id
    with pytest.raises(ModerationError) as caught:
        moderation_stage.moderate(mctx, MONTH, resolve=grade_esc, note="Reviewed.")
    assert caught.value.code == "MOD013"  # a grade escalation needs --grade
    with pytest.raises(ModerationError):
        moderation_stage.moderate(mctx, MONTH, resolve=actions_esc, note="Agreed.", grade="Good")
    config = str(workspace / "caseaudit.toml")
    code = cli.main(
        ["moderate", "--config", config, "--month", MONTH, "--resolve", grade_esc, "--note", "Reviewed the file.",
         "--grade", "good"]
    )  # fmt: skip
    assert code == 0
    moderation_stage.moderate(mctx, MONTH, resolve=actions_esc.lower(), note="Actions stand.")
    resolved = {r.escalation_id: r for r in rows(mctx, reg.escalations)}
    assert resolved[grade_esc].status == "Resolved" and resolved[grade_esc].grade == "Good"
    assert resolved[grade_esc].note == "Reviewed the file."
    assert resolved[actions_esc].status == "Resolved" and resolved[actions_esc].grade is None
    with pytest.raises(ModerationError) as again:
        moderation_stage.moderate(mctx, MONTH, resolve=grade_esc, note="x", grade="Good")
    assert again.value.code == "MOD011"
    # The moderator's grade stays as recorded: the agreement measure is not changed by the resolution.
    (moderation,) = rows(mctx, reg.moderations)
    assert moderation.overall_grade == "Requires Improvement"


def test_a_second_moderation_keeps_the_history(mctx: session.Context) -> None:
    record(mctx, "2026-09-002", {"grade_agreed": "No", "m_overall_grade": "Inadequate", "actions_agreed": "Yes"})
    record(mctx, "2026-09-002", {"grade_agreed": "Yes", "actions_agreed": "Yes"}, sub=901)
    versions = sorted(rows(mctx, reg.moderations), key=lambda r: r.id)
    assert [v.current for v in versions] == [False, True]
    assert [v.overall_grade for v in versions] == ["Inadequate", "Requires Improvement"]
    moderator_rows = [r for r in rows(mctx, reg.section_grades) if r.source == "moderator"]
    assert len(moderator_rows) == 18  # both versions' grades are kept
    # The open grade escalation from the first version is not duplicated or lost.
    assert len(rows(mctx, reg.escalations)) == 1
