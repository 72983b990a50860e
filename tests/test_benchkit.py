"""The benchmarks' shared measuring (``benchmarks/benchkit.py``): the CPU split and the file-cost probe that every
benchmark prints beside its figures (issue 25)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import benchkit  # noqa: E402


def test_a_command_is_measured_with_its_user_and_system_cpu_apart() -> None:
    # A child that spends some user CPU; the split must add up to the total it reports.
    m = benchkit.run_measured([sys.executable, "-c", "sum(range(3_000_000))"])
    assert m.returncode == 0
    assert m.user is not None and m.system is not None
    assert m.user > 0
    assert abs(m.user + m.system - m.cpu) < 1e-9
    text = benchkit.cpu_text(m)
    assert f"user {m.user:.2f}" in text and f"system {m.system:.2f}" in text


def test_a_cpu_figure_measured_inside_a_process_is_shown_without_a_split() -> None:
    m = benchkit.Measure(wall=1.0, cpu=0.8, pss_mb=10, rss_mb=12, returncode=0)
    assert benchkit.cpu_text(m) == "CPU 0.80 s"


def test_the_file_cost_probe_measures_and_leaves_nothing_behind_at_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(benchkit, "_PUT_ASIDE", [])
    cost = benchkit.file_cost(tmp_path)
    assert cost >= 0
    [probe] = list(tmp_path.iterdir())  # kept until the benchmark ends: deleted now, it would slow the next run
    assert len(list(probe.iterdir())) == benchkit.PROBE_FILES
    benchkit._remove_put_aside()  # what happens when the benchmark exits
    assert list(tmp_path.iterdir()) == []
    line = benchkit.load_line()
    assert "making a file costs" in line and "ms of system CPU" in line
    [elsewhere] = benchkit._PUT_ASIDE  # the line's own probe, in the system's temporary folder
    benchkit._remove_put_aside()
    assert not elsewhere.exists()


def test_each_measured_run_gets_a_new_folder_and_finished_ones_go_at_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(benchkit, "_PUT_ASIDE", [])
    scratch = tmp_path / "run"
    first, second = benchkit.next_scratch(scratch), benchkit.next_scratch(scratch)
    assert first != second and first.parent == second.parent == tmp_path
    assert first.name.startswith("run-") and second.name.startswith("run-")
    for folder in (first, second):
        folder.mkdir()
        (folder / "made.eml").write_bytes(b"x")
        benchkit.put_aside(folder)
    assert first.exists() and second.exists()  # nothing deleted between runs
    benchkit._remove_put_aside()
    assert list(tmp_path.iterdir()) == []


def test_dropping_the_caches_is_asked_for_and_refused_plainly_where_it_cannot_be_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parser = argparse.ArgumentParser()
    benchkit.add_options(parser)
    assert parser.parse_args([]).drop_caches is False
    benchkit.use_options(parser.parse_args([]))
    assert benchkit.DROP_CACHES is False
    monkeypatch.setattr(benchkit, "DROP_CACHES_FILE", tmp_path / "no such folder" / "drop_caches")
    with pytest.raises(SystemExit, match="needs root"):
        benchkit.use_options(parser.parse_args(["--drop-caches"]))
    assert benchkit.DROP_CACHES is False  # refused: nothing is dropped later
