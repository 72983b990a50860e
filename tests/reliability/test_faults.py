"""Faults outside us are named: a full disk, a read-only output folder and an output file that cannot be replaced
end the affected step with a clear message and exit code 73, leaving the register and every other file intact; a
missing or moved inbox folder is a configuration error (exit code 2)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from prepared import Templates
from relkit import build, caseaudit, output_dir, output_files, register_rows, reported_then_two_more

pytestmark = pytest.mark.slow  # each test runs caseaudit as a child process


def _mount(*args: str) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    return subprocess.run(["mount", *args], capture_output=True, check=False).returncode == 0


@contextlib.contextmanager
def _unmounted(folder: Path) -> Iterator[None]:
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, check=False)


def _assert_named_fault(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 73, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "Could not write" in result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


@pytest.mark.parametrize("how", ["tmpfs", "hook"])
def test_a_full_disk_is_exit_73_and_changes_nothing(tmp_path: Path, how: str) -> None:
    config = build(tmp_path / "qa", forms=3)
    out = output_dir(config)
    rows, inbox = register_rows(config), sorted((config.parent / "inbox" / "audits").iterdir())
    stack = contextlib.ExitStack()
    hook = None
    if how == "tmpfs":  # a real full disk: a tiny file system for the output folder, almost filled
        if not _mount("-t", "tmpfs", "-o", "size=256k,mode=0770", "tmpfs", str(out)):
            pytest.skip("mounting a tmpfs needs root (the hook variant simulates the full disk instead)")
        stack.enter_context(_unmounted(out))
        with contextlib.suppress(OSError), (out / "filler").open("wb") as filler:
            while True:
                filler.write(b"\0" * 4096)
                filler.flush()
        (out / "filler").write_bytes((out / "filler").read_bytes()[:-8192])  # a little room, not enough
    else:
        hook = "oserror:ENOSPC:staging"
    with stack:
        result = caseaudit(config, "ingest", "--month", "2026-09", hook=hook)
        _assert_named_fault(result, "the disk is full")
        assert register_rows(config) == rows, "the register is as before the command"
        assert not list(out.glob("2026-09/*")), "no output under a final name"
    assert sorted((config.parent / "inbox" / "audits").iterdir()) == inbox
    again = caseaudit(config, "ingest", "--month", "2026-09")  # room again: the command now does its work
    assert again.returncode == 0, again.stderr


def test_a_read_only_output_folder_is_exit_73(tmp_path: Path) -> None:
    config = build(tmp_path / "qa", forms=2)
    out = output_dir(config)
    rows, files = register_rows(config), output_files(config)
    stack = contextlib.ExitStack()
    if os.geteuid() == 0:  # root writes through permission bits: a read-only mount is the real thing
        if not _mount("--bind", str(out), str(out)):
            pytest.skip("cannot bind-mount the output folder")
        stack.enter_context(_unmounted(out))
        assert _mount("-o", "remount,bind,ro", str(out), str(out))
        words: tuple[str, ...] = ("read-only",)
    else:
        out.chmod(0o555)
        stack.callback(out.chmod, 0o770)
        words = ("permission denied",)
    with stack:
        result = caseaudit(config, "ingest", "--month", "2026-09")
        _assert_named_fault(result, *words)
        assert register_rows(config) == rows
        assert output_files(config) == files


def test_a_report_file_held_open_is_exit_73_and_the_others_are_replaced(tmp_path: Path, templates: Templates) -> None:
    # 3 forms ingested and reported, then 2 more ingested (prepared once per session, shared with test_crash.py).
    templates.copy("reported-then-two-more", reported_then_two_more, tmp_path / "qa")
    config = tmp_path / "qa" / "caseaudit.toml"
    held = "caseaudit-report-2026-09.xlsx"
    before = output_files(config)

    # Replacing the Excel report fails as it does on Windows while the file is open in Excel.
    result = caseaudit(config, "report", "--month", "2026-09", hook=f"oserror:EBUSY:{held}")
    _assert_named_fault(result, held, "in use by another program", "open in Excel")
    after = output_files(config)
    assert after[f"2026-09/{held}"] == before[f"2026-09/{held}"], "the held file keeps its previous version"
    metrics = output_dir(config) / "2026-09" / "metrics-2026-09.json"
    assert json.loads(metrics.read_text("utf-8"))["audits_completed"] == 5, "the other files were replaced"

    # Once the file is closed, the next command moves the waiting version into place.
    closed = caseaudit(config, "report", "--month", "2026-09")
    assert closed.returncode == 0, closed.stderr
    assert output_files(config)[f"2026-09/{held}"] != before[f"2026-09/{held}"]
    assert not any((output_dir(config) / ".staging").iterdir())


@pytest.mark.parametrize("how", ["missing", "moved"])
def test_a_missing_or_moved_inbox_is_a_configuration_error(tmp_path: Path, how: str) -> None:
    config = build(tmp_path / "qa", forms=1)
    rows = register_rows(config)
    if how == "missing":
        shutil.rmtree(config.parent / "inbox" / "audits")
    else:
        text = config.read_text("utf-8").replace('audits_inbox = "inbox/audits"', 'audits_inbox = "inbox/elsewhere"')
        config.write_text(text, "utf-8")
    result = caseaudit(config, "ingest", "--month", "2026-09")
    assert result.returncode == 2, result.stderr
    assert "folders.audits_inbox" in result.stderr and "Traceback" not in result.stderr
    assert register_rows(config) == rows


def test_an_output_that_cannot_be_replaced_is_exit_73(tmp_path: Path) -> None:
    """No hook: a folder stands where the metrics JSON goes, so the real ``os.replace`` fails."""
    config = build(tmp_path / "qa", forms=2)
    assert caseaudit(config, "ingest", "--month", "2026-09").returncode == 0
    blocker = output_dir(config) / "2026-09" / "metrics-2026-09.json"
    (blocker / "inside").mkdir(parents=True)
    result = caseaudit(config, "report", "--month", "2026-09")
    _assert_named_fault(result, "metrics-2026-09.json")
    assert (output_dir(config) / "2026-09" / "caseaudit-report-2026-09.xlsx").exists(), "the others are in place"
    shutil.rmtree(blocker)
    assert caseaudit(config, "ingest", "--month", "2026-09").returncode == 0  # any next command moves it in
    assert json.loads(blocker.read_text("utf-8"))["audits_completed"] == 2
