"""The order of the stages for ``run`` (the month-end batch), which the CLI and the demo call.

No SQL and no workbook code here: each step is a stage function from that stage's ``stage.py``, called in order with
the context and a typed :class:`~caseaudit_batch.core.clock.Month`. Every line it prints comes from the catalogue.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from caseaudit_batch.actions.stage import ingest_action_updates
from caseaudit_batch.allocation.notices import empty_people
from caseaudit_batch.core import messages
from caseaudit_batch.core.clock import Month
from caseaudit_batch.core.errors import EXIT_OK, OutputError
from caseaudit_batch.ingest.stage import alerts_raised, ingest_inbox
from caseaudit_batch.moderation.stage import ingest_moderation_returns
from caseaudit_batch.reports.stage import report_month
from caseaudit_batch.session import Context, Result, require_inboxes

Step = Callable[[Context, Month], Result]

#: The steps of the month-end batch, in order: what the summary calls each, and the stage function it calls.
RUN_STEPS: tuple[tuple[str, str, Step], ...] = (
    ("Audits inbox", "ingest_inbox", ingest_inbox),
    ("Moderation returns", "ingest_moderation_returns", ingest_moderation_returns),
    ("Action tracker updates", "ingest_action_updates", ingest_action_updates),
)

#: Where several exit codes apply, the first of these wins (docs/reference/commands.md, "Exit codes").
EXIT_PRECEDENCE = (1, 75, 73, 65)


def combined_exit_code(codes: Sequence[int]) -> int:
    """The run's exit code: the first of 1, 75, 73, 65 that any step gave, else 0."""
    for code in EXIT_PRECEDENCE:
        if code in codes:
            return code
    return next((c for c in codes if c), EXIT_OK)


def run_step_function(name: str) -> Step | None:
    """The stage function of the run step ``name``, or None while that stage is not in this version."""
    return next((function for _label, step, function in RUN_STEPS if step == name), None)


def run_month(ctx: Context, month: Month | str) -> Result:
    """``caseaudit run --month``: the month-end batch. Ingest the audits inbox, the moderation returns and the
    action tracker updates, then write all the month's reports; one summary, safeguarding alerts first.

    Each step is its own transaction, all under one hold of the register's lock (no other writer gets in between
    them), so a failed step leaves the earlier ones done and a re-run repeats nothing (inboxes are read
    idempotently). An output that cannot be written stops that step only
    (exit 73, the reports still attempted); another run holding the register stops the batch (exit 75)."""
    the_month = Month.coerce(month)
    require_inboxes(ctx.config)  # a missing inbox is a configuration error (exit 2), never an empty month
    result = Result("run", data={"month": str(the_month), "steps": {}})
    codes: list[int] = []
    alerts: list[str] = []
    attention: list[str] = []
    result.lines.append(messages.text("RUN001", label=the_month.label, today=ctx.clock.today.isoformat()))
    # Issue 24: a [people] key left empty is said at once, before any step (alerts and escalations need them).
    attention += empty_people(ctx)
    seconds: dict[str, float] = {}
    result.data["seconds"] = seconds  # how long each step took (the demo's benchmark reports them)

    def record(step: str, done: Result) -> None:
        codes.append(done.exit_code)
        result.data["steps"][step] = done.data
        result.outputs += done.outputs
        result.lines.append(messages.text("RUN004", step=step))
        result.lines += ["  " + line for line in done.lines]
        # What the audits inbox puts forward is its safeguarding alerts (guidance section 3): they go first, each
        # once; the run's own count (RUN006) says where the URGENT workbook is, so ingest's line for it is left out.
        said_by_run = set(done.data.get("alert_workbook_lines") or ())
        (alerts if step == RUN_STEPS[0][0] else attention).extend(a for a in done.attention if a not in said_by_run)

    def attempt(step: str, call: Callable[[], Result]) -> Result | None:
        started = time.perf_counter()
        try:
            done = call()
            record(step, done)
            return done
        except OutputError as exc:
            codes.append(exc.exit_code)
            attention.append(messages.render("RUN003", step=step, detail=exc.message, month=str(the_month)))
            return None
        finally:
            seconds[step] = time.perf_counter() - started

    # One single-writer lock for the whole batch (issue 23): no other writer gets in between the steps, and it
    # is released however the batch ends. Each step's own lock() is let through (the lock is re-entrant).
    with ctx.register.lock():
        alerts_before = alerts_raised(ctx)
        for label, name, _function in RUN_STEPS:
            function = run_step_function(name)
            if function is None:
                result.lines.append(messages.text("RUN002", step=label))
                continue
            attempt(label, lambda f=function: f(ctx, the_month))  # type: ignore[misc]
        reported = attempt("Reports", lambda: report_month(ctx, the_month))
        if reported is not None:
            result.data["metrics"] = reported.data.get("metrics")
    folder = str(ctx.config.output_dir / str(the_month))
    alert_count = alerts_raised(ctx) - alerts_before
    if alert_count:
        alerts.insert(0, messages.render("RUN006", count=alert_count, folder=folder))
    result.attention = alerts + attention
    result.exit_code = combined_exit_code(codes)
    result.data["alerts"] = alert_count
    result.lines.append(messages.text("RUN005", label=the_month.label, folder=folder))
    result.lines.append(messages.text("RUN010", exit=result.exit_code, meaning=messages.exit_meaning(result.exit_code)))
    return result
