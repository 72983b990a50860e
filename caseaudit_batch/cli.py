"""The ``caseaudit`` command line: parse options (a month once, into a Month), call the command's stage (the
pipeline for ``run``), print the summary, and map results to exit codes.

A user never sees a traceback: an unexpected error prints one plain sentence and the path of a log file.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path

from caseaudit_batch import __version__
from caseaudit_batch.core import messages, ui
from caseaudit_batch.core.clock import Month, parse_date
from caseaudit_batch.core.errors import EXIT_INTERNAL, EXIT_OK, CaseauditError, ConfigError, safe_traceback
from caseaudit_batch.reports.tiers import TIERS
from caseaudit_batch.session import Context, Result, open_context, record_exit_code

log = logging.getLogger("caseaudit")

Handler = Callable[[argparse.Namespace], Result]

# One line of help per command; docs/reference/commands.md lists the same commands (a test checks).
COMMANDS: dict[str, str] = {
    "init": "Create a working folder: caseaudit.toml, inbox folders, output folder, blank roster and caseload.",
    "allocate": "Allocate one case to every active auditor for a month, make their forms and notices.",
    "remind": "Make reminders for audits not yet accepted, a week before month end (working days).",
    "ingest": "Read every file in the audits inbox, validate it, record one outcome per file.",
    "check": "Validate audit forms and print the feedback, without changing the register.",
    "moderate": "Draw the moderation sample and make moderation forms; add, remove, or resolve escalations.",
    "actions": "Make one action tracker per service manager and read returned trackers.",
    "report": "Write the month's metrics JSON, Excel report, Word reports and learning themes.",
    "run": "The month-end batch: ingest audits, moderation returns and action updates, then all reports.",
    "alerts": "List the safeguarding alerts QA has not yet acknowledged; --ack N --note TEXT records one.",
    "send": "Send every unsent notice in the outbox by mail, safeguarding alerts first ([mail] in the config).",
    "demo": "Play a synthetic authority through the real commands, end to end.",
    "purge": "Remove register data and outputs for months before a given month (retention).",
}


def _alert_number(text: str) -> int:
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(messages.text("ALR010", number=text))
    return int(text)


def _month_option(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument("--month", required=required, metavar="YYYY-MM", help="the month, e.g. 2026-09")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="caseaudit",
        description="caseaudit: monthly case file audit for children's social care quality assurance teams.",
    )
    parser.add_argument("--version", action="version", version=f"caseaudit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    def command(name: str, *, config: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=COMMANDS[name], description=COMMANDS[name])
        if config:
            p.add_argument(
                "--config",
                default="caseaudit.toml",
                metavar="PATH",
                help="the configuration file (default: ./caseaudit.toml)",
            )
        p.add_argument("--today", metavar="YYYY-MM-DD", help="the date to act on (default: today in Europe/London)")
        return p

    p = command("init", config=False)
    p.add_argument("dir", nargs="?", default=".", metavar="DIR", help="the folder to create (default: here)")
    p.add_argument("--organisation", help="the authority's name, shown on forms and reports")
    p.add_argument("--database", metavar="URL", help="keep the register in this database (e.g. PostgreSQL)")
    p.add_argument(
        "--password-env", default="", metavar="VAR", help="with --database: the environment variable with its password"
    )

    p = command("allocate")
    _month_option(p)
    p.add_argument("--roster", metavar="F", help="the staff roster (default: from the configuration)")
    p.add_argument("--caseload", metavar="F", help="the caseload (default: from the configuration)")
    p.add_argument("--replace", action="store_true", help="replace an existing allocation for the month")
    p.add_argument("--from-file", metavar="F", help="a workbook of Staff ID / Case reference pairs to use")
    p.add_argument("--reassign", metavar="AUDIT", help="change one audit in mid-month (its reference or audit ID)")
    p.add_argument("--to", metavar="STAFF_ID", help="with --reassign: give the same case to this auditor")

    p = command("remind")
    _month_option(p)
    p.add_argument("--force", action="store_true", help="make reminders again even if already made")

    p = command("ingest")
    _month_option(p, required=False)
    p.add_argument(
        "--quiet",
        action="store_true",
        help="for scheduled runs: print only safeguarding alerts and problems (nothing when all went well)",
    )

    p = command("check")
    p.add_argument("files", nargs="*", metavar="FILE", help="forms to check (default: the whole audits inbox)")

    p = command("moderate")
    _month_option(p)
    p.add_argument("--add", metavar="AUDIT", help="add an audit to the moderation sample (its reference or ID)")
    p.add_argument("--remove", metavar="AUDIT", help="remove an audit from the moderation sample (reference or ID)")
    p.add_argument("--resolve", metavar="ESCALATION_ID", help="record the outcome of an escalation")
    p.add_argument("--note", metavar="TEXT", help="with --resolve: the outcome")
    p.add_argument("--grade", metavar="GRADE", help="with --resolve on a grade escalation: the final grade")

    p = command("actions")
    _month_option(p)

    p = command("report")
    _month_option(p)
    p.add_argument("--as-of", metavar="YYYY-MM-DD", help="judge due and overdue at this date")
    p.add_argument("--no-quotes", action="store_true", help="leave free-text quotations out of every output")
    p.add_argument(
        "--tier",
        choices=TIERS,
        help="internal (default): the documents with case references; committee: the version for publication",
    )

    p = command("run")
    _month_option(p)

    p = command("alerts")
    p.add_argument("--ack", type=_alert_number, metavar="N", help="acknowledge alert N (its number from the list)")
    p.add_argument("--note", metavar="TEXT", help="with --ack: what was done (kept in the register, never logged)")

    p = command("send")
    p.add_argument("--dry-run", action="store_true", help="list what would go, in order, and send nothing")

    p = command("demo", config=False)
    p.add_argument("--keep", action="store_true", help="continue the existing demo folder instead of starting clean")
    p.add_argument("--dir", default="output/demo", metavar="DIR", help="where to build it (default: output/demo)")
    p.add_argument("--database", metavar="URL", help="play it on this database (e.g. PostgreSQL) instead of SQLite")

    p = command("purge")
    p.add_argument("--before", metavar="YYYY-MM", help="remove months before this one (default: retention)")
    return parser


def _init(args: argparse.Namespace) -> Result:
    from caseaudit_batch.allocation.workspace import init_workspace

    return init_workspace(
        Path(args.dir), organisation=args.organisation, database=args.database, password_env=args.password_env
    )


def _demo(args: argparse.Namespace) -> Result:
    from caseaudit_batch.demo import player

    return player.run_demo(Path(args.dir), keep=args.keep, today=args.today, database=args.database)


#: The contexts this command opened: ``_main`` records the exit code in their run log rows, then closes them.
_OPENED: list[Context] = []


@contextlib.contextmanager
def _context(args: argparse.Namespace) -> Iterator[Context]:
    """The command's context (config, clock, framework, register); ``_main`` closes it however the command ends,
    once the exit code is known and recorded."""
    ctx = open_context(args.config, args.today)
    _OPENED.append(ctx)
    yield ctx


def _finish(code: int) -> int:
    """Record ``code`` in the run log rows this command wrote (``run_log.exit_code``), close every context, and
    return the code. A failure to record is logged, never allowed to change what the command reports."""
    while _OPENED:
        ctx = _OPENED.pop()
        try:
            record_exit_code(ctx, code)
        except Exception:  # noqa: BLE001 - the command's own outcome stands; the log says the code was not kept
            log.warning("the exit code could not be recorded in the run log")
        finally:
            ctx.close()
    return code


def _month(args: argparse.Namespace) -> Month:
    """``--month``, parsed once here: every stage is given a Month."""
    return Month.parse(args.month)


def _allocate(args: argparse.Namespace) -> Result:
    from caseaudit_batch.allocation import stage

    if args.to and not args.reassign:
        raise ConfigError("AL021")
    if args.reassign and (args.from_file or args.replace):
        raise ConfigError("AL029")
    month = _month(args)
    with _context(args) as ctx:
        if args.reassign:
            return stage.reassign(ctx, month, args.reassign, to=args.to, roster=args.roster, caseload=args.caseload)
        return stage.allocate_month(
            ctx, month, roster=args.roster, caseload=args.caseload, replace=args.replace, from_file=args.from_file
        )


def _remind(args: argparse.Namespace) -> Result:
    from caseaudit_batch.allocation import stage

    month = _month(args)
    with _context(args) as ctx:
        return stage.remind_month(ctx, month, force=args.force)


def _ingest(args: argparse.Namespace) -> Result:
    from caseaudit_batch.ingest import stage

    month = Month.parse(args.month) if args.month else None
    with _context(args) as ctx:
        return stage.ingest_inbox(ctx, month=month)


def _check(args: argparse.Namespace) -> Result:
    from caseaudit_batch.ingest import stage

    with _context(args) as ctx:
        return stage.check_files(ctx, args.files)


def _moderate(args: argparse.Namespace) -> Result:
    from caseaudit_batch.moderation import stage

    month = _month(args)
    with _context(args) as ctx:
        return stage.moderate(
            ctx, month, add=args.add, remove=args.remove, resolve=args.resolve, note=args.note, grade=args.grade
        )


def _actions(args: argparse.Namespace) -> Result:
    from caseaudit_batch.actions import stage

    month = _month(args)
    with _context(args) as ctx:
        return stage.actions_month(ctx, month)


def _report(args: argparse.Namespace) -> Result:
    from caseaudit_batch.reports import stage

    month = _month(args)
    as_of = parse_date(args.as_of) if args.as_of else None
    with _context(args) as ctx:
        return stage.report_month(ctx, month, as_of=as_of, no_quotes=args.no_quotes, tier=args.tier)


def _run(args: argparse.Namespace) -> Result:
    from caseaudit_batch import pipeline

    month = _month(args)
    with _context(args) as ctx:
        return pipeline.run_month(ctx, month)


def _alerts(args: argparse.Namespace) -> Result:
    from caseaudit_batch.ingest import stage

    with _context(args) as ctx:
        return stage.alerts_command(ctx, ack=args.ack, note=args.note)


def _send(args: argparse.Namespace) -> Result:
    from caseaudit_batch.send import stage

    with _context(args) as ctx:
        return stage.send_command(ctx, dry_run=args.dry_run)


def _purge(args: argparse.Namespace) -> Result:
    from caseaudit_batch.retention import stage

    before = Month.parse(args.before) if args.before else None
    with _context(args) as ctx:
        return stage.purge(ctx, before)


HANDLERS: dict[str, Handler] = {
    "init": _init,
    "demo": _demo,
    "allocate": _allocate,
    "remind": _remind,
    "ingest": _ingest,
    "check": _check,
    "moderate": _moderate,
    "actions": _actions,
    "report": _report,
    "run": _run,
    "purge": _purge,
    "alerts": _alerts,
    "send": _send,
}

#: Commands that write to the register: each lists the unacknowledged safeguarding alerts first, whatever happened.
WRITING_COMMANDS = frozenset({"allocate", "remind", "ingest", "moderate", "actions", "report", "run", "purge", "send"})


def _log_dir(args: argparse.Namespace) -> Path:
    config = getattr(args, "config", None)
    if config and Path(config).is_file():
        return Path(config).resolve().parent / "output" / "logs"
    return Path(tempfile.gettempdir()) / "caseaudit-logs"


class _LogFile(logging.FileHandler):
    """A log file that never puts a traceback on screen: when the disk is full or the folder read-only, the
    command's own message says what failed (exit 73); a lost log line is not worth a second, confusing one."""

    def handleError(self, record: logging.LogRecord) -> None:
        pass


def _setup_logging(args: argparse.Namespace) -> Path:
    name = f"caseaudit-{datetime.now():%Y%m%d}.log"
    handler: logging.Handler = logging.NullHandler()
    path = Path(tempfile.gettempdir()) / name
    for folder in (_log_dir(args), Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            handler = _LogFile(folder / name, encoding="utf-8")
        except OSError:  # a read-only or full output folder: try the next place, else log nowhere
            continue
        path = folder / name
        break
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    root = logging.getLogger("caseaudit")
    root.handlers = [handler]
    root.setLevel(logging.INFO)
    root.propagate = False
    return path


def _register_failure(exc: BaseException, args: argparse.Namespace) -> CaseauditError | None:
    """A database failure a user can act on (full disk, corrupt register), found anywhere in the exception chain."""
    from caseaudit_batch.core.register import register_failure

    where = f"named in {getattr(args, 'config', None) or 'caseaudit.toml'}"
    seen = exc
    while seen is not None:
        known = register_failure(seen, where)
        if known is not None:
            return known
        seen = seen.__cause__ or seen.__context__  # type: ignore[assignment]
    return None


def _alerts_first(args: argparse.Namespace, *, finished: bool = False) -> None:
    """A command that writes says first which safeguarding alerts still wait for QA, whatever else happened (an
    output folder that failed after the register committed must not hide an alert). A command that ``finished``
    says its own new alerts itself, first, so they are left out here: each alert is said once."""
    if args.command not in WRITING_COMMANDS:  # `alerts` itself is about them: its own lines say what it did
        return
    if not _OPENED:
        return
    from caseaudit_batch.ingest import alerts

    try:
        ctx = _OPENED[-1]
        with ctx.register.reader() as conn:
            waiting = alerts.unacknowledged(conn, except_runs=ctx.run_ids if finished else ())
    except Exception:  # noqa: BLE001 - no register to read (its own error is said): nothing more to add
        return
    for line in alerts.summary_lines(waiting):
        ui.warn(f"! {line}")


def print_result(result: Result, *, quiet: bool = False) -> None:
    """Alerts and warnings first, then the summary; ``quiet`` (a scheduled run) leaves the summary out when the
    command ended well, so that a daily run's mail says something only when someone must act."""
    for line in result.attention:
        ui.warn(f"! {line}")
    if quiet and result.exit_code == EXIT_OK:
        return
    for line in result.lines:
        ui.say(line)


# Children's data: whatever a run creates (register, its journal files, logs, outputs) gives other users no
# access. The configured folder and file modes are then applied to outputs; this covers what they do not reach.
UMASK = 0o007


def main(argv: Sequence[str] | None = None) -> int:
    previous = os.umask(UMASK)
    try:
        return _main(argv)
    finally:
        os.umask(previous)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    log_path = _setup_logging(args)
    safe_args = {k: v for k, v in vars(args).items() if k not in ("note",)}
    log.info("caseaudit %s %s", args.command, safe_args)
    handler = HANDLERS[args.command]
    try:
        result = handler(args)
    except CaseauditError as exc:
        log.info("ended with %s (exit %d)", exc.code, exc.exit_code)
        _alerts_first(args)
        ui.warn(exc.message)
        return _finish(exc.exit_code)
    except KeyboardInterrupt:
        ui.warn(messages.text("CLI002"))
        return _finish(130)
    except Exception as exc:  # noqa: BLE001 - the one place that turns any failure into a plain sentence
        known = _register_failure(exc, args)
        _alerts_first(args)
        if known is not None:  # a full disk, corrupt pages: the user's to act on, not an internal error
            log.info("ended with %s (exit %d)", known.code, known.exit_code)
            ui.warn(known.message)
            return _finish(known.exit_code)
        log.error("internal error\n%s", safe_traceback(exc))
        ui.warn(messages.render("CLI001", kind=type(exc).__name__, log=str(log_path)))
        return _finish(EXIT_INTERNAL)
    _alerts_first(args, finished=True)
    print_result(result, quiet=bool(getattr(args, "quiet", False)))
    log.info("finished %s (exit %d)", args.command, result.exit_code)
    return _finish(result.exit_code)


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


__all__ = ["COMMANDS", "ConfigError", "build_parser", "main", "run"]
