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

from . import messages, moderation, moderation_register
from . import register as reg
from .clock import Clock, Month
from .config import DEFAULT_CONFIG_NAME, Config, config_template_text, load_config
from .errors import EXIT_OK, ConfigError
from .framework import Framework, load_framework
from .moderation_register import ModerationError
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
def moderation_policy(config: Config, framework: Framework) -> moderation.SamplingPolicy:
    """``[moderation]`` checked: every grade in ``always`` must be one of the framework's grades."""
    policy = moderation.SamplingPolicy.from_settings(config.section("moderation"))
    for name in policy.always:
        if name not in framework.grade_names:
            raise ConfigError(
                "CFG003",
                path=str(config.path),
                key="moderation.always",
                found=repr(name),
                what="it is not one of the four grades",
                expected='a list of grades, e.g. ["Outstanding", "Inadequate"]',
            )
    return policy


def moderate(
    ctx: Context,
    month: str,
    *,
    add: str | None = None,
    remove: str | None = None,
    resolve: str | None = None,
    note: str | None = None,
    grade: str | None = None,
) -> Result:
    """``caseaudit moderate``: draw (or top up) the month's sample, apply --add/--remove, or record an escalation's
    outcome with --resolve. Each run considers audits accepted since the last one."""
    the_month = str(Month.parse(month))
    if (note is not None or grade is not None) and not resolve:
        raise ModerationError("MOD016")
    if add and remove and add.strip() == remove.strip():
        raise ModerationError("MOD005", audit_id=add)
    policy = moderation_policy(ctx.config, ctx.framework)
    settings = ctx.config.section("moderation")
    people = ctx.config.section("people")
    moderators = [str(m) for m in people.get("moderators", [])]
    due = moderation.moderation_due_date(ctx.clock.today, int(settings["due_days"]))
    now = ctx.clock.now_iso()
    user = _user()
    arguments = {"month": the_month, "add": add, "remove": remove, "resolve": resolve, "grade": grade}
    result = Result("moderate")
    with writing(ctx, "moderate", arguments) as run:
        if resolve:
            done = moderation_register.resolve_escalation(run.conn, ctx.framework, resolve, note or "", grade, now=now)
            result.data["resolved"] = done
            final = f"; the final grade of audit {done['audit_id']} is now {done['grade']}" if done["grade"] else ""
            result.lines.append(f"Escalation {done['escalation_id']} ({done['kind']}) recorded as resolved{final}.")
            return result
        if remove:
            moderation_register.remove_audit(run.conn, the_month, remove.strip(), now=now, user=user, run_id=run.run_id)
            result.lines.append(f"Audit {remove.strip()} removed from the moderation sample for {the_month}.")
        if add:
            added = moderation_register.add_audit(
                run.conn, the_month, add.strip(), moderators, due, now=now, user=user, run_id=run.run_id
            )
            result.lines.append(
                f"Audit {add.strip()} added to the moderation sample for {the_month}."
                if added.added
                else f"Audit {add.strip()} was already in the moderation sample for {the_month}."
            )
        drawn = moderation_register.draw_sample(
            run.conn, the_month, policy, moderators, due, now=now, user=user, run_id=run.run_id
        )
        sample = moderation_register.load_sample(run.conn, the_month)
    sampled = [r for r in sample if r.status == moderation.SAMPLED]
    result.data.update(
        {
            "month": the_month,
            "drawn": drawn.added,
            "sample": [
                {
                    "audit_id": r.audit_id,
                    "reason": r.reason,
                    "moderator_id": r.moderator_id,
                    "due_date": r.due_date.isoformat() if r.due_date else None,
                    "status": r.status,
                }
                for r in sample
            ],
        }
    )
    result.lines.append(
        f"Moderation sample for {the_month}: {len(sampled)} audits ({len(drawn.added)} drawn on this run)."
    )
    for row in sampled:
        result.lines.append(
            f"  {row.audit_id}  {row.reason:<8} moderator {row.moderator_id or '(none)'}  due {row.due_date}"
        )
    for audit_id in sorted({r.audit_id for r in sampled if not r.moderator_id}):
        result.attention.append(messages.render("MOD020", audit_id=audit_id, month=the_month))
    return result


# ---------------------------------------------------------------------------------------------------------------
# actions
# ---------------------------------------------------------------------------------------------------------------


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
