"""What every command shares: its context (config, clock, framework, register, audit IDs), the result it
returns, and ``writing()``: the lock, one transaction and the staged outputs of a command that writes."""

from __future__ import annotations

import contextlib
import getpass
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from caseaudit_batch.core import messages, ui
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.clock import Clock
from caseaudit_batch.core.config import Config, load_config
from caseaudit_batch.core.errors import EXIT_OK, ConfigError
from caseaudit_batch.core.framework import Framework, load_framework
from caseaudit_batch.core.ids import IdSource, RandomIds
from caseaudit_batch.core.outputs import Staging, ensure_dir, recover
from caseaudit_batch.core.register import Register

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
    #: Where audit IDs come from: random in production, seeded in the demo and tests (see ids.py).
    ids: IdSource = field(default_factory=RandomIds)
    #: The run log rows this context's commands committed (their exit code is recorded when the command ends).
    run_ids: list[int] = field(default_factory=list)

    @property
    def register(self) -> Register:
        if self._register is None:
            self._register = Register.open(self.config.database_url)
            _say_migrated(self._register)
        return self._register

    def close(self) -> None:
        if self._register is not None:
            self._register.close()


def record_exit_code(ctx: Context, code: int) -> None:
    """``run_log.exit_code`` for every run log row the command wrote: known only once the command has ended (a
    ``run`` writes one row a step), so recorded afterwards in a small transaction of its own."""
    if not ctx.run_ids:
        return
    log_table = reg.run_log
    with ctx.register.engine.begin() as conn:
        conn.execute(sa.update(log_table).where(log_table.c.id.in_(ctx.run_ids)).values(exit_code=code))
    ctx.run_ids.clear()


def _say_migrated(register: Register) -> None:
    """Tell the user that opening the register migrated it, and where the copy from before is."""
    done = register.migration
    if done is None:
        return
    where = reg.sqlite_path(register.url) or "(database)"
    params = {"where": str(where), "found": done.found, "known": done.version, "steps": "; ".join(done.steps)}
    line = (
        messages.render("REG010", backup=str(done.backup), **params)
        if done.backup
        else messages.render("REG013", **params)
    )
    log.info("register migrated from schema %d to %d", done.found, done.version)
    ui.say(line)


def open_context(config_path: str | Path | None, today: str | None, *, ids: IdSource | None = None) -> Context:
    """Load the config and framework; the register opens on first use. ``ids``: the demo's seeded audit IDs."""
    clock = Clock.from_option(today)
    config = load_config(config_path)
    framework = load_framework(config.template("framework", "framework.toml"))
    return Context(config=config, clock=clock, framework=framework, ids=ids or RandomIds())


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
                        user=current_user(),
                        today=ctx.clock.today,
                        started_at=ctx.clock.now_iso(),
                        staging=staging.token,
                    )
                ).inserted_primary_key
                assert run_id is not None
                run = Run(conn=conn, staging=staging, run_id=int(run_id[0]))
                with staging.batch():  # the staging journal written once, the files by background threads
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
        ctx.run_ids.append(run.run_id)
        staging.publish()


def current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
