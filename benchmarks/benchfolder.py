"""A benchmark's working folder: made by the real ``init``, then given a notices sender, as a QA team sets one up
(``[notices] sender``: without it, commands that make notices stop with CFG050, issue 24)."""

from __future__ import annotations

from pathlib import Path

from caseaudit_batch.allocation import workspace as setup

SENDER = "Quality Assurance Team <qa.team@benchmark.example>"


def init_folder(folder: Path, organisation: str) -> None:
    setup.init_workspace(folder, organisation=organisation)  # through the module: bench_postgres swaps it
    config = Path(folder) / "caseaudit.toml"
    config.write_text(config.read_text("utf-8").replace('sender = ""', f'sender = "{SENDER}"', 1), "utf-8")
