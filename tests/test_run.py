"""``caseaudit run --month``: the month-end batch's steps, its one summary and its exit code rule."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pgkit
import pytest
from formkit import set_sender

from caseaudit_batch import cli, pipeline, session
from caseaudit_batch.allocation import stage as allocation_stage
from caseaudit_batch.allocation import workspace as setup
from caseaudit_batch.core.errors import LockBusy, OutputError
from caseaudit_batch.demo import player as demo
from caseaudit_batch.demo import synthetic


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        ([], 0),
        ([0, 0], 0),
        ([65, 0], 65),
        ([65, 73], 73),
        ([73, 75, 65], 75),
        ([65, 1, 75, 73], 1),
    ],
)
def test_the_first_of_1_75_73_65_wins(codes: list[int], expected: int) -> None:
    assert pipeline.combined_exit_code(codes) == expected


@pytest.fixture(scope="module")
def allocated(tmp_path_factory: pytest.TempPathFactory, register_backend: str) -> Path:
    """A small authority with September 2026 allocated (no forms returned yet)."""
    folder = tmp_path_factory.mktemp("run") / "qa"
    setup.init_workspace(folder, organisation="Run Test Council (synthetic)")
    set_sender(folder)
    demo.write_synthetic_authority(folder, synthetic.make_authority(12, today=date(2026, 9, 1)))
    ctx = session.open_context(folder / "caseaudit.toml", "2026-09-01")
    try:
        allocation_stage.allocate_month(ctx, "2026-09")
    finally:
        ctx.close()
    return folder


def _copy(folder: Path, tmp_path: Path) -> Path:
    return pgkit.copy_folder(folder, tmp_path / "qa")


@pytest.mark.slow
def test_run_writes_the_reports_and_one_summary(
    allocated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _copy(allocated, tmp_path)
    config = str(folder / "caseaudit.toml")
    code = cli.main(["run", "--month", "2026-09", "--config", config, "--today", "2026-09-30"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("Month-end run for September 2026 (today 2026-09-30):")
    for step in ("Audits inbox", "Moderation returns", "Action tracker updates", "Reports"):
        assert step in out
    assert (folder / "output" / "2026-09" / "metrics-2026-09.json").is_file()
    assert "Exit code 0: all well." in out and f"Outputs for September 2026 are in {folder / 'output'}" in out


def test_a_missing_inbox_is_a_usage_error(allocated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _copy(allocated, tmp_path)
    shutil.rmtree(folder / "inbox" / "moderation")
    code = cli.main(["run", "--month", "2026-09", "--config", str(folder / "caseaudit.toml"), "--today", "2026-09-30"])
    assert code == 2
    assert "moderation inbox" in capsys.readouterr().err
    assert not (folder / "output" / "2026-09" / "metrics-2026-09.json").exists()


def _step(result: session.Result | Exception):  # type: ignore[no-untyped-def]
    def call(ctx: session.Context, month: str) -> session.Result:
        if isinstance(result, Exception):
            raise result
        return result

    return call


@pytest.mark.slow
def test_alerts_come_first_and_an_unwritable_output_gives_73_over_65(
    allocated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _copy(allocated, tmp_path)
    returned = session.Result("ingest", exit_code=65, lines=["Files seen: 3 (2 accepted, 1 returned)."])
    returned.attention = ["[IN110] A safeguarding concern is recorded on audit A1 (case CR1).", "Something else."]
    steps = {"ingest_inbox": _step(returned), "ingest_moderation_returns": _step(OutputError("OUT001", path="x"))}
    monkeypatch.setattr(pipeline, "run_step_function", lambda name: steps.get(name))
    ctx = session.open_context(folder / "caseaudit.toml", "2026-09-30")
    try:
        result = pipeline.run_month(ctx, "2026-09")
    finally:
        ctx.close()
    assert result.exit_code == 73
    assert result.attention[:2] == returned.attention  # the audits inbox's alerts first (none in the register here)
    assert any(
        line.startswith("[RUN003] Moderation returns: an output could not be written") for line in result.attention
    )
    assert "  Files seen: 3 (2 accepted, 1 returned)." in result.lines
    assert (folder / "output" / "2026-09" / "metrics-2026-09.json").is_file()  # the reports still came out


def test_another_run_holding_the_register_stops_the_batch(
    allocated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _copy(allocated, tmp_path)
    steps = {"ingest_inbox": _step(LockBusy("REG001", where="caseaudit.sqlite"))}
    monkeypatch.setattr(pipeline, "run_step_function", lambda name: steps.get(name))
    code = cli.main(["run", "--month", "2026-09", "--config", str(folder / "caseaudit.toml"), "--today", "2026-09-30"])
    assert code == 75
    assert "Another caseaudit run is in progress" in capsys.readouterr().err
    assert not (folder / "output" / "2026-09" / "metrics-2026-09.json").exists()


@pytest.mark.slow
def test_a_safeguarding_concern_read_at_month_end_is_the_first_thing_said(
    allocated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import random

    import sqlalchemy as sa

    from caseaudit_batch.core import register as reg
    from caseaudit_batch.core.clock import Month
    from caseaudit_batch.core.framework import load_framework
    from caseaudit_batch.demo.answers import audit_answers
    from caseaudit_batch.workbook import forms

    folder = _copy(allocated, tmp_path)
    ctx = session.open_context(folder / "caseaudit.toml", "2026-09-30")
    try:
        with ctx.register.reader() as conn:
            row = conn.execute(sa.select(reg.allocations).where(reg.allocations.c.month == "2026-09")).first()
    finally:
        ctx.close()
    assert row is not None
    filled = audit_answers(
        random.Random(1),
        load_framework(),
        audit_id=row.audit_id,
        case_ref=row.case_ref,
        service="",
        month=Month(2026, 9),
        month_index=0,
    )
    answers = dict(filled.answers, date_completed=date(2026, 9, 20), overall_grade=filled.overall)
    answers.update(safeguarding_concern="Yes", safeguarding_detail="Told the team manager at once; strategy meeting.")
    form = (folder / "output" / "2026-09" / row.form_file).read_bytes()
    (folder / "inbox" / "audits" / row.form_file).write_bytes(forms.fill_form(form, answers, filled.actions))
    code = cli.main(["run", "--month", "2026-09", "--config", str(folder / "caseaudit.toml"), "--today", "2026-09-30"])
    err = capsys.readouterr().err
    assert code == 0
    assert err.startswith("! [RUN006] 1 safeguarding alert(s) raised by this run")
    assert row.case_ref in err.splitlines()[1]
    # Each alert once: the alert itself, and one count line (RUN006), not ingest's own count line as well.
    assert err.count("SAFEGUARDING:") == 1 and err.count("safeguarding alert(s)") == 1, err
