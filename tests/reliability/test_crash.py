"""A crash loses nothing: ``caseaudit`` killed (SIGKILL) at several points of an ingest and of a report write
leaves the register as it was before or after the command, and every output file either its previous version or
the complete new one, never a partial file under its final name. The next command finishes the job."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from prepared import Templates
from relkit import (
    build,
    caseaudit,
    complete,
    output_dir,
    output_files,
    register_rows,
    reported_then_two_more,
    run_log_count,
)

pytestmark = pytest.mark.slow  # each test runs caseaudit as child processes, one of them killed

# (hook, whether the register had committed when the process died)
INGEST_KILLS = [
    ("after:caseaudit_batch.ingest.record:check_audits", False),  # inbox listed and checked, nothing recorded
    ("after:caseaudit_batch.ingest.record:record_audits", False),  # rows inserted, transaction open
    ("write:2", False),  # an output half written in the staging area
    ("before:caseaudit_batch.core.outputs:Staging.publish", True),  # committed, no file moved yet
    ("replace:2", True),  # committed, one file moved into place, the rest not
]
REPORT_KILLS = [
    ("after:caseaudit_batch.reports.build:build_month_reports", False),  # figures made, nothing written
    ("write:2", False),
    ("before:caseaudit_batch.core.outputs:Staging.publish", True),
    ("replace:2", True),
]


def _assert_outputs_whole(config: Path, before: dict[str, str]) -> None:
    """Every file under its final name is its previous version or a complete file; no temporary file is left
    under the output folder's final names."""
    for rel, sha in output_files(config).items():
        assert not rel.endswith(".tmp"), rel
        if before.get(rel) != sha:
            assert complete(output_dir(config) / rel), f"{rel} is partial"


@pytest.mark.parametrize(("hook", "committed"), INGEST_KILLS, ids=[h for h, _ in INGEST_KILLS])
def test_ingest_killed_loses_nothing(tmp_path: Path, hook: str, committed: bool) -> None:
    config = build(tmp_path / "qa", forms=3)
    rows_before = register_rows(config)
    files_before = output_files(config)

    killed = caseaudit(config, "ingest", "--month", "2026-09", hook=hook)
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    rows_at_crash = register_rows(config)
    _assert_outputs_whole(config, files_before)
    if not committed:
        assert rows_at_crash == rows_before, "a killed, uncommitted ingest changed the register"
        assert output_files(config) == files_before, "files of an uncommitted run appeared"

    again = caseaudit(config, "ingest", "--month", "2026-09")
    assert again.returncode == 0, again.stderr
    rows_after = register_rows(config)
    if committed:
        assert rows_at_crash == rows_after, "the register was neither as before nor as after the command"
    accepted = [r for r in rows_after["submissions"] if "'accepted'" in r]
    assert len(accepted) == 3, "every form is accepted once, nothing lost"
    assert len(rows_after["audits"]) == 3
    _assert_outputs_whole(config, {})
    assert not any((output_dir(config) / ".staging").iterdir()), "the staging area is left clean"
    if committed:  # the killed run's files were moved into place by the next command
        assert len(list(output_dir(config).glob("2026-09/manifest-audits-*.csv"))) == 2


@pytest.mark.parametrize(("hook", "committed"), REPORT_KILLS, ids=[h for h, _ in REPORT_KILLS])
def test_report_killed_leaves_previous_or_complete_files(
    tmp_path: Path, templates: Templates, hook: str, committed: bool
) -> None:
    # 3 forms ingested and reported, then 2 more ingested: prepared once per session, copied for each test.
    templates.copy("reported-then-two-more", reported_then_two_more, tmp_path / "qa")
    config = tmp_path / "qa" / "caseaudit.toml"
    files_before = output_files(config)
    rows_before = register_rows(config)
    runs_before = run_log_count(config)

    killed = caseaudit(config, "report", "--month", "2026-09", hook=hook)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    _assert_outputs_whole(config, files_before)
    assert register_rows(config) == rows_before
    assert run_log_count(config) == runs_before + (1 if committed else 0)
    metrics = output_dir(config) / "2026-09" / "metrics-2026-09.json"
    completed = json.loads(metrics.read_text("utf-8"))["audits_completed"]
    assert completed in (3, 5), "the previous version (3 audits) or the new one (5)"

    again = caseaudit(config, "report", "--month", "2026-09")
    assert again.returncode == 0, again.stderr
    _assert_outputs_whole(config, {})
    assert json.loads(metrics.read_text("utf-8"))["audits_completed"] == 5
    assert not any((output_dir(config) / ".staging").iterdir())


def test_month_end_run_killed_in_its_report_step_keeps_the_steps_before(tmp_path: Path) -> None:
    """``caseaudit run`` commits each step on its own: killed while making the reports, the ingest it did stands,
    no report file is partial, and the next run only makes the reports."""
    config = build(tmp_path / "qa", forms=3)
    hook = "after:caseaudit_batch.reports.build:build_month_reports"
    killed = caseaudit(config, "run", "--month", "2026-09", hook=hook)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    rows_at_crash = register_rows(config)
    assert len(rows_at_crash["audits"]) == 3, "the ingest step had committed"
    assert not (output_dir(config) / "2026-09" / "metrics-2026-09.json").exists()
    _assert_outputs_whole(config, {})

    again = caseaudit(config, "run", "--month", "2026-09")
    assert again.returncode == 0, again.stderr
    assert register_rows(config) == rows_at_crash, "nothing ingested twice"
    metrics = output_dir(config) / "2026-09" / "metrics-2026-09.json"
    assert json.loads(metrics.read_text("utf-8"))["audits_completed"] == 3
    _assert_outputs_whole(config, {})
