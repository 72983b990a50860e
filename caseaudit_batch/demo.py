"""``caseaudit demo``: a synthetic authority played through the real commands, end to end.

It grows as each stage lands; today it builds the working folder, a synthetic authority (roster and caseload
workbooks) and allocates one month through the real pipeline, and says plainly what is not built yet.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from . import pipeline, synthetic
from .clock import Month
from .config import DEFAULT_CONFIG_NAME
from .framework import load_framework

DEMO_ORGANISATION = "Demoshire Children's Services (synthetic)"

# Stages still to come, said honestly in the demo's summary.
NOT_YET = ("ingest", "moderation", "actions", "reports")


def write_synthetic_authority(folder: Path, authority: synthetic.Authority) -> None:
    """Write the roster and caseload named in the demo's config, and name QA's people in the config."""
    config_path = folder / DEFAULT_CONFIG_NAME
    text = config_path.read_text("utf-8")
    text = text.replace(
        'hos_quality_assurance = ""', f"hos_quality_assurance = {json.dumps(authority.hos_quality_assurance)}"
    )
    text = text.replace('qa_officer = ""', f"qa_officer = {json.dumps(authority.qa_officer)}")
    text = text.replace("moderators = []", f"moderators = {json.dumps(authority.moderators)}")
    config_path.write_text(text, "utf-8")
    authority.write(folder / "roster.xlsx", folder / "caseload.xlsx")


def run_demo(folder: Path, *, keep: bool = False, today: str | None = None) -> pipeline.Result:
    """Build (or, with ``keep``, continue) the demo working folder and play what exists so far."""
    if folder.exists() and not keep:
        shutil.rmtree(folder)
    fresh = not (folder / DEFAULT_CONFIG_NAME).exists()
    if fresh:
        pipeline.init_workspace(folder, organisation=DEMO_ORGANISATION)
    ctx = pipeline.open_context(folder / DEFAULT_CONFIG_NAME, today)
    month = Month.of(ctx.clock.today)
    if fresh:
        authority = synthetic.make_authority(today=ctx.clock.today)
        write_synthetic_authority(folder, authority)
        ctx.close()
        ctx = pipeline.open_context(folder / DEFAULT_CONFIG_NAME, today)
    try:
        framework = load_framework(ctx.framework.path)
        ctx.register.migrate()
        allocated = pipeline.allocate_month(ctx, str(month), replace=not fresh)
    finally:
        ctx.close()
    result = pipeline.Result("demo", exit_code=allocated.exit_code)
    result.lines = [
        f"Demo working folder: {folder}",
        f"Audit framework loaded: {len(framework.sections)} sections, {len(framework.grades)} grades "
        f"(version {framework.version}).",
        "Register ready: " + ctx.config.database_url,
        f"Synthetic authority: {folder / 'roster.xlsx'} and {folder / 'caseload.xlsx'}.",
        f"caseaudit allocate --month {month}:",
        *("  " + line for line in allocated.lines if not line.startswith("Exempt:")),
        "Not built yet, so not played: " + ", ".join(NOT_YET) + ".",
    ]
    result.attention = allocated.attention
    result.data = {"allocate": allocated.data}
    return result
