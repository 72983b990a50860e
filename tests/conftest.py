"""Shared fixtures: a fresh working folder made by the real ``init``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from caseaudit_batch import session
from caseaudit_batch.allocation import workspace as setup


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A working folder as ``caseaudit init`` makes it."""
    folder = tmp_path / "qa"
    setup.init_workspace(folder, organisation="Testshire Council")
    return folder


@pytest.fixture
def ctx(workspace: Path) -> session.Context:
    context = session.open_context(workspace / "caseaudit.toml", "2026-09-01")
    yield context
    context.close()


@pytest.fixture(scope="session")
def short_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The short demo (2 months, 20 auditors; ``tests/make_demo_snapshot.py``), played once per session: its
    folder and its snapshot (metrics and register rows). Read it; never change it."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import make_demo_snapshot

    folder = tmp_path_factory.mktemp("short-demo") / "demo"
    return folder, make_demo_snapshot.play(folder, "2months")
