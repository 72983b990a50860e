"""One run at a time: while one ``caseaudit`` process holds the register, a second real process exits at once with
exit code 75 and a clear message; reading-only ``check`` still works; the lock goes with the process that held it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from relkit import build, caseaudit, start

pytestmark = pytest.mark.slow  # two caseaudit child processes, one holding the lock


def _wait_for(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, "the first run never took the lock"
        time.sleep(0.05)


@pytest.mark.parametrize(
    "second",
    [("ingest",), ("report", "--month", "2026-09"), ("run", "--month", "2026-09"), ("purge", "--before", "2020-01")],
    ids=str,
)
def test_a_second_run_exits_at_once_with_75(tmp_path: Path, second: tuple[str, ...]) -> None:
    config = build(tmp_path / "qa", forms=1)
    ready = tmp_path / "holding"
    first = start(config, "ingest", hook=f"hold:{ready}")
    try:
        _wait_for(ready)
        started = time.monotonic()
        other = caseaudit(config, *second, timeout=60)
        elapsed = time.monotonic() - started
        assert other.returncode == 75, other.stderr
        assert "Another caseaudit run is in progress" in other.stderr
        assert "Traceback" not in other.stderr + other.stdout
        assert elapsed < 15, f"the second run must not wait for the first ({elapsed:.1f} s, process start included)"
        checked = caseaudit(config, "check", timeout=60)  # reads without the lock
        assert checked.returncode == 0, checked.stderr
        assert first.poll() is None, "the first run is still going"
    finally:
        first.kill()
        first.wait()
    after = caseaudit(config, "ingest")
    assert after.returncode == 0, after.stderr  # the lock died with its holder
