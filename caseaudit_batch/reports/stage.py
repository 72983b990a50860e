"""The report command: ``report``, the month's Word, Excel and JSON reports."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from caseaudit_batch.core import heap, messages
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.apart import in_child
from caseaudit_batch.core.backend import sqlite_path
from caseaudit_batch.core.clock import Month
from caseaudit_batch.core.config import Config
from caseaudit_batch.core.errors import ConfigError
from caseaudit_batch.core.names import NameDetector
from caseaudit_batch.reports.targets import Targets
from caseaudit_batch.reports.tiers import COMMITTEE, INTERNAL, TIERS
from caseaudit_batch.session import Context, Result, writing

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


def report_targets(config: Config) -> Targets:
    """The configured targets and action RAG thresholds, each a share from 0 to 1."""
    targets, thresholds = config.targets, config.actions
    for key, value in vars(targets).items():
        if not 0 <= value <= 1:
            raise ConfigError("REP004", path=str(config.path), key=key, found=repr(value))
    return Targets(
        good_or_better=targets.good_or_better,
        ri_or_better=targets.ri_or_better,
        inadequate_at_most=targets.inadequate_at_most,
        completion=targets.completion,
        moderation_agreement=targets.moderation_agreement,
        green_at_least=thresholds.green_at_least,
        amber_at_least=thresholds.amber_at_least,
        tracker_cycle_days=thresholds.tracker_cycle_days,
        restate_margin_points=config.reports.restate_margin_points,
        escalation_working_days=config.moderation.escalation_working_days,
    )


def report_tiers(config: Config, tier: str | None = None) -> tuple[str, ...]:
    """The tiers to write: ``--tier`` (default internal), and the committee version too with ``[reports]
    committee = true`` (issue 19: both tiers every time)."""
    wanted = {tier or INTERNAL} | ({COMMITTEE} if config.reports.committee else set())
    return tuple(t for t in TIERS if t in wanted)


def report_month(
    ctx: Context, month: Month | str, as_of: date | None = None, no_quotes: bool = False, tier: str | None = None
) -> Result:
    """``caseaudit report``: the metrics JSON, the Excel report, the Word report and service packs, and the
    learning themes for ``month``, all from one set of figures, judged at the report date D; with ``tier``
    ``committee`` (or ``[reports] committee``) the committee version's JSON, Excel and Word files (issue 19)."""
    from caseaudit_batch.reports import build, data, distribution, learning, themes
    from caseaudit_batch.reports.metrics import snapshot_values

    month = Month.coerce(month)
    tiers = report_tiers(ctx.config, tier)
    report_date = ctx.clock.report_date(month, as_of)
    targets = report_targets(ctx.config)
    taxonomy = themes.load_taxonomy(ctx.config.template("themes", "themes.toml"))
    difference = learning.load_difference(ctx.config.template("themes", "themes.toml"))
    template = ctx.config.template("word_report", "report_template.docx")
    folder = ctx.config.output_dir / str(month)
    arguments: dict[str, object] = {
        "month": str(month),
        "as_of": as_of.isoformat() if as_of else None,
        "no_quotes": no_quotes,
    }
    if tiers != (INTERNAL,):  # the run log says so only when the committee version was written
        arguments["tiers"] = list(tiers)
    # What is alive now (the modules the reports import: pandas, matplotlib, the document libraries) is left out of
    # the collections the register's loading sets off (core/heap.py).
    with writing(ctx, "report", arguments) as run, heap.frozen():
        privacy = ctx.config.privacy
        detector = NameDetector.build(
            staff_names=reg.staff_names(run.conn),
            extra_names=privacy.extra_names,
            allowed_words=privacy.allowed_words,
        )
        standards = [s.name for s in ctx.framework.standards]

        def prepared(conn: Connection) -> build.Prepared:
            loaded = data.load_month_data(conn, month, standards=standards).redacted(detector.redact)
            return build.prepare(loaded, ctx.framework, taxonomy, difference)

        def apart() -> build.Prepared:
            # In the child: the register's connections are this process's and stay so (not closed: the parent's
            # transaction is still open on one); the child reads through a connection of its own what has been
            # committed, which is what the parent's transaction sees too (it has written only its run's row).
            ctx.register.engine.dispose(close=False)
            with ctx.register.reader() as conn:
                return prepared(conn)

        # Read and tagged in a short-lived process, so that this one never holds the year's typed answers (the
        # memory they leave behind once dropped, about 120 MB for a large authority, would stay with this process
        # to the end: issue 25); here if not.
        ready = in_child(apart, folder=ctx.config.output_dir) if apart_ok(ctx) else None
        made = build.build_month_reports(
            ready if ready is not None else prepared(run.conn),
            report_date=report_date,
            targets=targets,
            framework=ctx.framework,
            taxonomy=taxonomy,
            template=template,
            organisation=ctx.config.organisation,
            generated_on=ctx.clock.today,
            no_quotes=no_quotes,
            tiers=tiers,
            difference=difference,
        )
        for name, blob in made.files.items():
            run.staging.write_bytes(folder / name, blob)
        # Issue 22: the documents go to the people [reports] distribution names, as notices in the outbox.
        sent_out, unmatched = distribution.distribute(ctx, run, month, made.files, made.services, report_date)
        # Issue 20: what the month's first report said is kept, in the same transaction as the report's run, so a
        # later report can say which figures have changed since (only the first report is kept).
        reg.write_report_snapshot(
            run.conn, str(month), snapshot_values(made.metrics.values), f"{ctx.clock.today.isoformat()}"
        )
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
    if any(sent_out.values()):
        parts = ", ".join(f"{n} {kind}" for kind, n in sent_out.items() if n)
        result.lines.append(messages.text("REP040", parts=parts))
    result.attention += unmatched
    return result


def apart_ok(ctx: Context) -> bool:
    """Whether a second connection reads the register this process has open: a SQLite file or a server, not an
    in-memory database (a new connection to that is a new, empty database)."""
    url = ctx.register.url
    return sqlite_path(url) is not None or ctx.register.engine.dialect.name != "sqlite"


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"
