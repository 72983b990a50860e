"""Shared fixtures: a fresh working folder made by the real ``init``; prepared folders built once per test session
(``templates``); the short demo. Also prints the session's wall time against the suite's 4-minute budget."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from formkit import set_sender
from prepared import Templates

from caseaudit_batch import session
from caseaudit_batch.allocation import workspace as setup

HERE = Path(__file__).resolve().parent
BUDGET_SECONDS = 240  # the whole suite, `make test` on a 2-core machine (docs/development.md)
_STARTED: list[float] = []


def pytest_sessionstart(session: pytest.Session) -> None:
    _STARTED.append(time.monotonic())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every ``libreoffice`` test (a round trip takes seconds) and every test that needs the short demo's play is
    also ``slow``: ``make test-fast`` leaves them out."""
    demo = {"short_demo", "short_demo_played"}
    for item in items:
        needs_demo = bool(demo & set(getattr(item, "fixturenames", ())))
        if (item.get_closest_marker("libreoffice") or needs_demo) and not item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.slow)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """The wall time, so that the budget stays in view as tests are added (shown, never failed on)."""
    if not _STARTED or os.environ.get("PYTEST_XDIST_WORKER") or config.option.collectonly:
        return
    took = time.monotonic() - _STARTED[0]
    note = "within" if took <= BUDGET_SECONDS else "OVER"
    terminalreporter.write_line(f"suite wall time {took:.0f} s: {note} the {BUDGET_SECONDS} s budget for `make test`")


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Templates:
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # the workers' shared parent
    (root / "templates").mkdir(exist_ok=True)
    return Templates(root / "templates")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A working folder as ``caseaudit init`` makes it."""
    folder = tmp_path / "qa"
    setup.init_workspace(folder, organisation="Testshire Council")
    set_sender(folder)
    return folder


@pytest.fixture
def ctx(workspace: Path) -> session.Context:
    context = session.open_context(workspace / "caseaudit.toml", "2026-09-01")
    yield context
    context.close()


def _play_short_demo(folder: Path) -> tuple[session.Result, dict[str, Any]]:
    sys.path.insert(0, str(HERE))
    import make_demo_snapshot

    from caseaudit_batch.demo import player as demo

    result = demo.run_demo(folder, **make_demo_snapshot.PLAYS["2months"])
    return result, demo.snapshot(folder)


@pytest.fixture(scope="session")
def short_demo_played(templates: Templates) -> tuple[Path, session.Result, dict[str, Any]]:
    """The short demo (2 months, 20 auditors; ``tests/make_demo_snapshot.py``), played once per session: its
    folder, the play's result and its snapshot (metrics and register rows). Read them; never change them."""
    folder, (result, snapshot) = templates.get("short-demo", _play_short_demo, leaf="demo")
    return folder, result, snapshot


@pytest.fixture(scope="session")
def short_demo(short_demo_played: tuple[Path, session.Result, dict[str, Any]]) -> tuple[Path, dict[str, Any]]:
    """The short demo's folder and its snapshot (``make_demo_snapshot.play``). Read it; never change it."""
    folder, _result, snapshot = short_demo_played
    return folder, snapshot
