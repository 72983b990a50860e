"""``caseaudit demo``: a synthetic authority played through the real commands, end to end.

It grows as each stage lands; today it builds the working folder and says plainly what is not built yet.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from . import pipeline
from .config import DEFAULT_CONFIG_NAME
from .framework import load_framework

DEMO_ORGANISATION = "Demoshire Children's Services (synthetic)"

# Stages still to come, said honestly in the demo's summary.
NOT_YET = ("allocation", "audit forms", "ingest", "moderation", "actions", "reports")


def run_demo(folder: Path, *, keep: bool = False, today: str | None = None) -> pipeline.Result:
    """Build (or, with ``keep``, continue) the demo working folder and play what exists so far."""
    if folder.exists() and not keep:
        shutil.rmtree(folder)
    if not (folder / DEFAULT_CONFIG_NAME).exists():
        pipeline.init_workspace(folder, organisation=DEMO_ORGANISATION)
    ctx = pipeline.open_context(folder / DEFAULT_CONFIG_NAME, today)
    try:
        framework = load_framework(ctx.framework.path)
        ctx.register.migrate()
    finally:
        ctx.close()
    result = pipeline.Result("demo")
    result.lines = [
        f"Demo working folder: {folder}",
        f"Audit framework loaded: {len(framework.sections)} sections, {len(framework.grades)} grades "
        f"(version {framework.version}).",
        "Register ready: " + ctx.config.database_url,
        "Not built yet, so not played: " + ", ".join(NOT_YET) + ".",
    ]
    return result
