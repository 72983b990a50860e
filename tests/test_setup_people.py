"""Set-up that cannot be half done (issue 24): no notice from a made-up address; each command that needs a
``[people]`` key left empty says so, with the key and the fix; ``moderate`` with sampled audits and no moderator
exits 65."""

from __future__ import annotations

from pathlib import Path

import pytest
from moderation_kit import MONTH, configure, seed

from caseaudit_batch import session
from caseaudit_batch.allocation import notices as allocation_notices
from caseaudit_batch.allocation import workspace as setup
from caseaudit_batch.core.errors import EXIT_DATAERR, EXIT_USAGE, ConfigError
from caseaudit_batch.moderation import stage as moderation_stage

SOURCE = Path(__file__).resolve().parents[1] / "caseaudit_batch"


def _fresh(tmp_path: Path) -> session.Context:
    """A working folder exactly as ``caseaudit init`` leaves it: no sender, no QA officer, no moderators."""
    setup.init_workspace(tmp_path / "qa", organisation="Testshire Council")
    return session.open_context(tmp_path / "qa" / "caseaudit.toml", "2026-09-01")


def test_no_sender_and_no_qa_officer_is_a_configuration_error_naming_the_keys(tmp_path: Path) -> None:
    ctx = _fresh(tmp_path)
    try:
        with pytest.raises(ConfigError) as caught:
            allocation_notices.sender(ctx, "")
        assert caught.value.code == "CFG050" and caught.value.exit_code == EXIT_USAGE
        assert "[people] qa_officer" in str(caught.value) and "[notices] sender" in str(caught.value)
        assert allocation_notices.sender(ctx, "qa.officer@testshire.example") == "qa.officer@testshire.example"
    finally:
        ctx.close()


def test_no_made_up_sender_is_left_in_the_program() -> None:
    found = [p for p in SOURCE.rglob("*.py") if "@localhost" in p.read_text("utf-8")]
    assert found == []


def test_each_empty_people_key_is_named_with_its_fix(tmp_path: Path) -> None:
    ctx = _fresh(tmp_path)
    try:
        said = allocation_notices.empty_people(ctx)
        assert [line[:8] for line in said] == ["[CFG051]"] * 3
        for key in ("people.qa_officer", "people.hos_quality_assurance", "people.moderators"):
            assert sum(line.count(key) == 2 for line in said) == 1, key  # in what is wrong and in the fix
        assert allocation_notices.empty_people(ctx, *allocation_notices.QA_ONLY)[0].count("people.qa_officer") == 2
    finally:
        ctx.close()


def test_moderate_with_sampled_audits_and_no_moderator_exits_65(workspace: Path) -> None:
    configure(workspace, moderators=[])
    ctx = session.open_context(workspace / "caseaudit.toml", "2026-10-01")
    try:
        seed(ctx)
        result = moderation_stage.moderate(ctx, MONTH)
        assert result.data["drawn"], "the sample is drawn even without moderators"
        assert result.exit_code == EXIT_DATAERR
        assert any("[MOD020]" in line for line in result.attention)
        assert any("[CFG051]" in line and "people.moderators" in line for line in result.attention)
    finally:
        ctx.close()


def test_moderate_with_moderators_set_up_is_all_well(workspace: Path) -> None:
    configure(workspace)
    ctx = session.open_context(workspace / "caseaudit.toml", "2026-10-01")
    try:
        seed(ctx)
        result = moderation_stage.moderate(ctx, MONTH)
        assert result.exit_code == 0
        assert not any("people.moderators" in line for line in result.attention)
    finally:
        ctx.close()
