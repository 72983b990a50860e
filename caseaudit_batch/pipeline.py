"""The only module that chains stages. Each command is a function returning a result object; the CLI is a thin
shell over these (sqlite-utils is the model)."""

from __future__ import annotations

import contextlib
import getpass
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import messages
from . import register as reg
from .clock import Clock, Month
from .config import DEFAULT_CONFIG_NAME, Config, config_template_text, load_config
from .errors import EXIT_OK, ConfigError
from .framework import Framework, load_framework
from .outputs import Staging, ensure_dir, recover
from .register import Register
from .roster import ALL_ROLES, AUDIT_STATUSES, CASE_TYPES, CASELOAD_HEADERS, ROSTER_HEADERS
from .workbook.tables import write_blank_table

if TYPE_CHECKING:
    from .metrics import Targets

log = logging.getLogger("caseaudit")

INBOXES = ("audits", "moderation", "actions")


@dataclass
class Result:
    """What a command did: lines for the summary, files written, what needs attention, and its exit code."""

    command: str
    exit_code: int = EXIT_OK
    lines: list[str] = field(default_factory=list)
    outputs: list[Path] = field(default_factory=list)
    attention: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    config: Config
    clock: Clock
    framework: Framework
    _register: Register | None = None

    @property
    def register(self) -> Register:
        if self._register is None:
            self._register = Register.open(self.config.database_url)
        return self._register

    def close(self) -> None:
        if self._register is not None:
            self._register.close()


def open_context(config_path: str | Path | None, today: str | None) -> Context:
    """Load the config and framework; the register opens on first use."""
    clock = Clock.from_option(today)
    config = load_config(config_path)
    framework = load_framework(config.template("framework", "framework.toml"))
    return Context(config=config, clock=clock, framework=framework)


def require_inboxes(config: Config) -> None:
    """A missing or moved inbox folder is a configuration error (exit 2), never an empty month."""
    for kind in INBOXES:
        folder = config.inbox(kind)
        if not folder.is_dir():
            raise ConfigError(
                "CFG004", what=f"{kind} inbox", folder=str(folder), key=f"folders.{kind}_inbox", path=str(config.path)
            )


@dataclass
class Run:
    """A writing command in progress: its connection, its staging area and its run-log row."""

    conn: Connection
    staging: Staging
    run_id: int
    outputs: list[str] = field(default_factory=list)
    inputs: dict[str, Any] = field(default_factory=dict)


@contextlib.contextmanager
def writing(ctx: Context, command: str, arguments: dict[str, Any]) -> Iterator[Run]:
    """Lock the register, finish any interrupted output moves, then run the block as one transaction.

    Output files are staged and only moved into place after the transaction commits.
    """
    register = ctx.register
    folder_mode = ctx.config.mode("folder_mode")
    file_mode = ctx.config.mode("file_mode")
    with register.lock():
        ensure_dir(ctx.config.output_dir, folder_mode)
        with register.reader() as conn:
            committed = {
                row[0]
                for row in conn.execute(sa.select(reg.run_log.c.staging).where(reg.run_log.c.staging.is_not(None)))
            }
        moved, _ = recover(ctx.config.output_dir, committed, folder_mode=folder_mode, file_mode=file_mode)
        if moved:
            log.info("finished moving %d output files from an interrupted run", len(moved))
        staging = Staging(ctx.config.output_dir, folder_mode=folder_mode, file_mode=file_mode)
        try:
            with register.engine.begin() as conn:
                run_id = conn.execute(
                    sa.insert(reg.run_log).values(
                        command=command,
                        arguments=arguments,
                        user=_user(),
                        today=ctx.clock.today,
                        started_at=ctx.clock.now_iso(),
                        staging=staging.token,
                    )
                ).inserted_primary_key
                assert run_id is not None
                run = Run(conn=conn, staging=staging, run_id=int(run_id[0]))
                yield run
                conn.execute(
                    sa.update(reg.run_log)
                    .where(reg.run_log.c.id == run.run_id)
                    .values(
                        finished_at=ctx.clock.now_iso(),
                        inputs=run.inputs,
                        outputs=[str(p) for p in staging.files] + run.outputs,
                    )
                )
        except BaseException:
            staging.discard()
            raise
        staging.publish()


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


# ---------------------------------------------------------------------------------------------------------------
# init
# ---------------------------------------------------------------------------------------------------------------
def init_workspace(folder: Path, organisation: str | None = None) -> Result:
    """Create a working folder: config with commented defaults, inboxes, output, blank roster and caseload."""
    folder = Path(folder)
    config_path = folder / DEFAULT_CONFIG_NAME
    if config_path.exists():
        raise ConfigError("CFG030", folder=str(folder), path=str(config_path))
    ensure_dir(folder)
    config_path.write_text(config_template_text(organisation), "utf-8")
    config = load_config(config_path)
    made = [config_path]
    for kind in INBOXES:
        made.append(ensure_dir(config.inbox(kind), config.mode("folder_mode")))
    made.append(ensure_dir(config.output_dir, config.mode("folder_mode")))
    roster_path = config.resolve(config.data["people"]["roster"])
    caseload_path = config.resolve(config.data["people"]["caseload"])
    write_blank_table(roster_path, "Roster", ROSTER_HEADERS, lists={"Role": ALL_ROLES, "Audit status": AUDIT_STATUSES})
    write_blank_table(caseload_path, "Caseload", CASELOAD_HEADERS, lists={"Case type": CASE_TYPES})
    made += [roster_path, caseload_path]
    Register.open(config.database_url).close()
    result = Result("init", outputs=made)
    result.lines = [
        f"Created a caseaudit working folder in {folder}.",
        f"Next: fill in {roster_path.name} and {caseload_path.name}, check {config_path.name}, "
        "then run 'caseaudit allocate --month YYYY-MM' in this folder.",
    ]
    return result


# ---------------------------------------------------------------------------------------------------------------
# allocate and remind
# ---------------------------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------------------------
# ingest and check
# ---------------------------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------------------------
# moderate
# ---------------------------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------------------------
# actions
# ---------------------------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------------------------------
def report_targets(config: Config) -> Targets:
    """The configured targets and action RAG thresholds, each a share from 0 to 1."""
    from .metrics import Targets  # pandas loads only for the commands that need it

    targets = config.section("targets")
    thresholds = config.section("actions")
    for key, value in targets.items():
        if not 0 <= value <= 1:
            raise ConfigError("REP004", path=str(config.path), key=key, found=repr(value))
    return Targets(
        good_or_better=float(targets["good_or_better"]),
        ri_or_better=float(targets["ri_or_better"]),
        inadequate_at_most=float(targets["inadequate_at_most"]),
        green_at_least=float(thresholds["green_at_least"]),
        amber_at_least=float(thresholds["amber_at_least"]),
    )


def report_month(ctx: Context, month: Month, as_of: date | None = None, no_quotes: bool = False) -> Result:
    """``caseaudit report``: the metrics JSON, the Excel report, the Word report and service packs, and the
    learning themes for ``month``, all from one set of figures, judged at the report date D."""
    from .reports import build, data, themes

    report_date = ctx.clock.report_date(month, as_of)
    targets = report_targets(ctx.config)
    taxonomy = themes.load_taxonomy(ctx.config.template("themes", "themes.toml"))
    template = ctx.config.template("word_report", "report_template.docx")
    folder = ctx.config.output_dir / str(month)
    arguments = {"month": str(month), "as_of": as_of.isoformat() if as_of else None, "no_quotes": no_quotes}
    with writing(ctx, "report", arguments) as run:
        register_data = data.load_month_data(run.conn, month)
        made = build.build_month_reports(
            register_data,
            report_date=report_date,
            targets=targets,
            framework=ctx.framework,
            taxonomy=taxonomy,
            template=template,
            organisation=ctx.config.organisation,
            generated_on=ctx.clock.today,
            no_quotes=no_quotes,
        )
        for name, blob in made.files.items():
            run.staging.write_bytes(folder / name, blob)
    v = made.metrics.values
    result = Result("report", data={"metrics": v, "services": made.services})
    result.outputs = [folder / name for name in made.files]
    if not v["audits_allocated"]:
        result.attention.append(messages.render("REP003", month=str(month)))
    gob = v["overall_grade_counts"]["Outstanding"] + v["overall_grade_counts"]["Good"]
    result.lines = [
        messages.text(
            "REP011",
            completed=v["audits_completed"],
            allocated=v["audits_allocated"],
            completion=_share(v["completion_rate"]),
            graded=v["audits_graded"],
            gob=gob,
            gob_rate=_share(v["good_or_better_rate"]),
            alerts=v["safeguarding_alerts"],
            overdue=v["actions_overdue"],
        ),
        messages.text("REP010", month=str(month), report_date=report_date.isoformat(), folder=str(folder)),
        *(messages.text("REP012", file=name) for name in made.files),
    ]
    return result


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


# ---------------------------------------------------------------------------------------------------------------
# run (the month-end batch)
# ---------------------------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------------------------
# purge
# ---------------------------------------------------------------------------------------------------------------
