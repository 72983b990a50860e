"""Values are parsed once, at the edge (issue 16): the CLI makes the Month; ingest parses each grade from the form
and records the grade's own name, which nothing downstream parses again."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from caseaudit_batch import cli, session
from caseaudit_batch.core.clock import Month
from caseaudit_batch.core.framework import Framework
from caseaudit_batch.reports import stage as reports_stage

pytestmark = pytest.mark.slow


def test_the_reports_look_stored_grades_up_and_never_parse_them(
    short_demo: tuple[Path, dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "demo"
    shutil.copytree(short_demo[0], folder)
    ctx = session.open_context(folder / "caseaudit.toml", "2026-11-02")

    def parsed_again(self: Framework, value: object) -> None:
        raise AssertionError(f"a stored grade was parsed again: {value!r}")

    monkeypatch.setattr(Framework, "parse_grade", parsed_again)
    try:
        result = reports_stage.report_month(ctx, Month(2026, 10))
    finally:
        ctx.close()
    metrics = result.data["metrics"]
    assert metrics["audits_graded"] > 0 and sum(metrics["overall_grade_counts"].values()) == metrics["audits_graded"]
    # The figures are the ones the demo's own run reported for October (the same register, the same grades).
    assert metrics["overall_grade_counts"] == short_demo[1]["metrics"]["2026-10"]["overall_grade_counts"]


def test_the_cli_hands_every_stage_a_month(monkeypatch: pytest.MonkeyPatch, workspace: Path) -> None:
    seen: list[object] = []

    def report(ctx: session.Context, month: object, **kwargs: object) -> session.Result:
        seen.append(month)
        return session.Result("report")

    monkeypatch.setattr(reports_stage, "report_month", report)
    assert cli.main(["report", "--month", "2026-09", "--config", str(workspace / "caseaudit.toml")]) == 0
    assert seen == [Month(2026, 9)]


def test_a_stored_grade_is_looked_up_by_its_name_only() -> None:
    from caseaudit_batch.core.framework import GradeParseError, load_framework

    framework = load_framework()
    assert framework.grade_named("Requires Improvement") == framework.parse_grade("requires improvement")
    assert framework.grade_named("") is None and framework.grade_named(None) is None
    for form_text in ("requires improvement", "RI", " Good"):  # what a form may hold: parsed at ingest, not here
        with pytest.raises(GradeParseError):
            framework.grade_named(form_text)
