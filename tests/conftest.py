"""Shared fixtures: a fresh working folder made by the real ``init``."""

from __future__ import annotations

from pathlib import Path

import pytest

from caseaudit_batch import pipeline


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A working folder as ``caseaudit init`` makes it."""
    folder = tmp_path / "qa"
    pipeline.init_workspace(folder, organisation="Testshire Council")
    return folder


@pytest.fixture
def ctx(workspace: Path) -> pipeline.Context:
    context = pipeline.open_context(workspace / "caseaudit.toml", "2026-09-01")
    yield context
    context.close()
