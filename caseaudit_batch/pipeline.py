"""The only module that chains stages. Each command is a function returning a result object; the CLI is a thin
shell over these (sqlite-utils is the model)."""

from __future__ import annotations

import contextlib
import getpass
import logging
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import register as reg
from .clock import Clock, Month
from .config import DEFAULT_CONFIG_NAME, Config, config_template_text, load_config
from .errors import EXIT_OK, ConfigError
from .framework import Framework, load_framework
from .outputs import Staging, ensure_dir, recover
from .register import Register
from .retention import purge_register
from .roster import ALL_ROLES, AUDIT_STATUSES, CASE_TYPES, CASELOAD_HEADERS, ROSTER_HEADERS
from .workbook.tables import write_blank_table

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
def actions_month(ctx: Context, month: str) -> Result:
    """``caseaudit actions --month``: bring the action register up to date with accepted audits and moderations,
    then make one tracker per service manager for the month."""
    require_inboxes(ctx.config)
    target = Month.parse(month)
    result = Result("actions")
    with writing(ctx, "actions", {"month": str(target)}) as run:
        caught_up = catch_up_actions(ctx, run)
        made = make_action_trackers(ctx, run, target)
    result.lines = caught_up.lines + made.lines
    result.attention = made.attention
    result.outputs = made.outputs
    result.data = {"trackers": made.data, "caught_up": caught_up.data}
    return result


def catch_up_actions(ctx: Context, run: Run) -> Result:
    """The action register brought in line with every current accepted audit and moderation (idempotent)."""
    from . import actions as action_register

    done = action_register.sync_from_register(run.conn, ctx.clock)
    result = Result("actions")
    if done.synced:
        result.lines.append(
            f"Action register: {len(done.synced)} audit or moderation version(s) read; "
            f"{done.created} new action(s), {done.replaced} no longer required (replaced)."
        )
    result.data = {"versions": len(done.synced), "created": done.created, "replaced": done.replaced}
    return result


def make_action_trackers(ctx: Context, run: Run, month: Month) -> Result:
    """One tracker per service manager: ``output/YYYY-MM/actions/YYYY-MM_actions_<service manager name>.xlsx``."""
    from . import forms, messages, trackers

    result = Result("actions")
    today = ctx.clock.today
    plans, orphans = trackers.tracker_plan(run.conn, month, today)
    organisation = str(ctx.config.data["organisation"]["name"])
    password = forms.form_password(ctx.config)
    folder = ctx.config.output_dir / str(month) / "actions"
    used: set[str] = set()
    made: list[dict[str, object]] = []
    created_at = ctx.clock.now_iso()
    for plan in plans:
        name = forms.tracker_filename(str(month), plan.name)
        if name.casefold() in used:  # two service managers with one name: the Staff ID tells them apart
            name = forms.tracker_filename(str(month), f"{plan.name} {plan.service_manager_id}")
        used.add(name.casefold())
        data = forms.render_tracker(
            ctx.framework,
            organisation,
            plan.rows,
            {"auditor_id": plan.service_manager_id, "month": str(month)},
            manager_name=plan.name,
            blank_rows=trackers.BLANK_ROWS,
            password=password,
        )
        path = folder / name
        run.staging.write_bytes(path, data)
        run.conn.execute(
            sa.insert(reg.action_trackers).values(
                month=str(month),
                service_manager_id=plan.service_manager_id,
                file=str(path.relative_to(ctx.config.output_dir)),
                made_on=today,
                baseline=plan.baseline,
                rows=len(plan.rows) + trackers.BLANK_ROWS,
                run_id=run.run_id,
                created_at=created_at,
            )
        )
        result.outputs.append(path)
        made.append(
            {
                "file": str(path),
                "service_manager_id": plan.service_manager_id,
                "rows": len(plan.rows),
                "open": plan.open_count,
                "overdue": plan.overdue_count,
            }
        )
    if plans:
        result.lines.append(
            f"Made {len(plans)} action tracker(s) for {month.label} in {folder}: "
            f"{sum(p.open_count for p in plans)} open action(s), {sum(p.overdue_count for p in plans)} overdue."
        )
    else:
        result.lines.append(messages.render("ACT021", month=month.label))
    if orphans:
        result.attention.append(messages.render("ACT020", count=orphans))
    result.data = {"trackers": made, "without_service_manager": orphans}
    return result


# ---------------------------------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------------------------
# run (the month-end batch)
# ---------------------------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------------------------
# purge
# ---------------------------------------------------------------------------------------------------------------
def purge(ctx: Context, before: str | None = None) -> Result:
    """Remove register data and output folders for months before ``before`` (default: the retention period)."""
    current = Month.of(ctx.clock.today)
    cutoff = Month.parse(before) if before else current.shift(-int(ctx.config.data["register"]["retention_months"]))
    if cutoff > current:
        raise ConfigError("CFG031", found=str(cutoff), current=str(current))
    output_dir = ctx.config.output_dir
    old_folders = sorted(
        p for p in output_dir.glob("[0-9][0-9][0-9][0-9]-[0-9][0-9]") if p.is_dir() and p.name < str(cutoff)
    )
    with writing(ctx, "purge", {"before": str(cutoff)}) as run:
        removed = purge_register(run.conn, str(cutoff))
        run.inputs = {"removed_rows": removed, "removed_folders": [p.name for p in old_folders]}
    # Folders go only after the register committed, so a crash never leaves records whose files are gone.
    for folder in old_folders:
        shutil.rmtree(folder)
    log.info("purge before %s removed rows %s and folders %s", cutoff, removed, [p.name for p in old_folders])
    result = Result("purge")
    total = sum(removed.values())
    result.lines.append(
        f"Removed {total} register records and {len(old_folders)} output folders for months before {cutoff.label}."
    )
    result.lines += [f"  {table}: {count}" for table, count in sorted(removed.items())]
    result.data = {"removed": removed, "folders": [p.name for p in old_folders], "before": str(cutoff)}
    return result
