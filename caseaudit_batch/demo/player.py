"""``caseaudit demo``: a synthetic authority played through the real pipeline, month after month, end to end.

The demo builds a working folder with ``init``, writes a synthetic authority (``synthetic.py``), then plays each
month on its own dates, exactly as a QA officer would with ``--today``: ``allocate`` on the first working day;
synthetic auditors (``synthetic_answers.py``) fill the generated forms through their defined names with
``forms.fill_form`` and drop them into ``inbox/audits/<month>/`` on the day they finish; ``ingest`` mid-month;
``remind`` a week before month end; ``moderate`` (moderators fill the moderation forms and drop them into
``inbox/moderation/``); ``actions`` (service managers return their trackers with progress into ``inbox/actions/``);
and ``run`` on the month's last working day. A stage not yet in this version is skipped and the summary says so.

Every step builds its own :class:`~caseaudit_batch.session.Context` with the step's date: the program's one
clock, as ``--today``.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from caseaudit_batch import pipeline
from caseaudit_batch.actions.stage import actions_month
from caseaudit_batch.allocation.reminders import reminder_date
from caseaudit_batch.allocation.stage import allocate_month, remind_month
from caseaudit_batch.allocation.workspace import init_workspace
from caseaudit_batch.core import heap, messages, sending, ui
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.clock import Clock, Month, is_working_day, working_day_on_or_before
from caseaudit_batch.core.config import DEFAULT_CONFIG_NAME
from caseaudit_batch.core.errors import EXIT_DATAERR, EXIT_OK
from caseaudit_batch.core.ids import SeededIds
from caseaudit_batch.demo import synthetic
from caseaudit_batch.demo.answers import AuditAnswers, audit_answers, moderation_answers, tracker_update, with_error
from caseaudit_batch.ingest.stage import ingest_inbox
from caseaudit_batch.moderation.stage import moderate
from caseaudit_batch.session import Context, Result, open_context
from caseaudit_batch.workbook import forms

DEMO_ORGANISATION = "Demoshire Children's Services (synthetic)"
STAGE_FUNCTIONS: dict[str, Callable[..., Result]] = {
    "ingest": ingest_inbox,
    "moderation": moderate,
    "actions": actions_month,
}
CORRECTION_DAYS = 7  # an auditor corrects a returned form the next week


@dataclass
class Drop:
    """A file an auditor, moderator or manager puts into an inbox on a given day."""

    day: date
    path: Path
    data: bytes


@dataclass
class MonthPlay:
    """What the demo did in one month, and the synthetic truth behind it (the test recomputes figures from it)."""

    month: str
    allocate_day: date
    ingest_day: date
    remind_day: date
    moderate_day: date
    run_day: date
    audits: list[AuditAnswers] = field(default_factory=list)
    # audit ID -> the days its files reach the inbox: ("error", day) for a version that is returned, ("final", day)
    dropped: dict[str, list[tuple[str, date]]] = field(default_factory=dict)
    strays: dict[str, int] = field(default_factory=dict)  # ignored / rejected / duplicate files put in the inbox
    moderated: dict[str, dict[str, object]] = field(default_factory=dict)  # audit ID -> the moderator's answers
    moderation_returned_on: date | None = None  # the day the moderation forms reach the moderation inbox
    #: Each step's result, kept once the month is played as its exit code, the allocation's summary and the
    #: month-end metrics only (:func:`_kept`).
    results: dict[str, Result] = field(default_factory=dict)


def _first_working_day(month: Month) -> date:
    day = month.first_day
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def _month_days(month: Month) -> MonthPlay:
    run_day = working_day_on_or_before(month.last_day)
    remind_day = reminder_date(month)
    return MonthPlay(
        month=str(month),
        allocate_day=_first_working_day(month),
        ingest_day=working_day_on_or_before(month.first_day + timedelta(days=14)),
        remind_day=remind_day,
        moderate_day=working_day_on_or_before(remind_day + timedelta(days=3)),
        run_day=run_day,
    )


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


def available_stages() -> dict[str, Callable[..., Result] | None]:
    """The stage functions the demo plays (None would mark a stage not in this version yet)."""
    return dict(STAGE_FUNCTIONS)


class _Player:
    """Plays the months: keeps the inbox drops waiting for their day, and one Context per step."""

    def __init__(self, folder: Path, seed: int) -> None:
        self.folder = folder
        self.config_path = folder / DEFAULT_CONFIG_NAME
        self.rng = random.Random(seed)
        self.ids = SeededIds(seed)  # audit IDs from the seed: the same seed plays the same year (ids.py)
        self.pending: list[Drop] = []
        self.stages = available_stages()
        self.timings: dict[str, float] = {}  # wall-clock seconds by step
        self.cpu: dict[str, float] = {}  # CPU seconds of this process by step (worker processes not included)

    # --- the clock and the inbox ------------------------------------------------------------------------------
    def context(self, day: date) -> Context:
        return open_context(self.config_path, day.isoformat(), ids=self.ids)

    def step(self, name: str, day: date, call: Callable[[Context], Result]) -> Result:
        """Deliver the files due by ``day``, then run one pipeline function with the clock set to ``day``."""
        self.deliver(day)
        started, cpu = time.perf_counter(), time.process_time()
        ctx = self.context(day)
        try:
            return call(ctx)
        finally:
            ctx.close()
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - started
            self.cpu[name] = self.cpu.get(name, 0.0) + time.process_time() - cpu

    def deliver(self, day: date) -> None:
        started = time.perf_counter()
        due = [d for d in self.pending if d.day <= day]
        self.pending = [d for d in self.pending if d.day > day]
        for drop in due:
            drop.path.parent.mkdir(parents=True, exist_ok=True)
            drop.path.write_bytes(drop.data)
        self.timings["dropping files"] = self.timings.get("dropping files", 0.0) + time.perf_counter() - started

    # --- the synthetic people ---------------------------------------------------------------------------------
    def fill_audits(self, play: MonthPlay, index: int) -> None:
        """Every allocated auditor fills their generated form; the files wait for the day each one is done."""
        started = time.perf_counter()
        ctx = self.context(play.allocate_day)
        try:
            framework = ctx.framework
            output = ctx.config.output_dir
            inbox = ctx.config.inbox("audits") / play.month
            with ctx.register.reader() as conn:
                a = reg.allocations
                rows = list(
                    conn.execute(
                        sa.select(a.c.audit_id, a.c.form_file, a.c.prefilled).where(
                            a.c.month == play.month, a.c.status == "allocated"
                        )
                    )
                )
        finally:
            ctx.close()
        month = Month.parse(play.month)
        copy_of: Drop | None = None  # an on-time, error-free form, copied once as a stray duplicate
        made: list[tuple[Any, AuditAnswers]] = []
        for row in sorted(rows, key=lambda r: str(r.prefilled.get("case_ref", ""))):  # reproducible order
            p = row.prefilled
            made.append(
                (
                    row,
                    audit_answers(
                        self.rng,
                        framework,
                        audit_id=row.audit_id,
                        case_ref=str(p.get("case_ref", "")),
                        service=str(p.get("service", "")),
                        month=month,
                        month_index=index,
                        previous_worker=str(p.get("previous_worker") or ""),
                    ),
                )
            )
        if made and not any(filled.returned for _row, filled in made):
            # Even a small month has one form sent with an error, so that every month shows the return and fix.
            first = next((f for _row, f in made if f.submitted and not f.late), made[0][1])
            with_error(first)
        for row, filled in made:
            play.audits.append(filled)
            if not filled.submitted:
                continue
            blank = (output / play.month / row.form_file).read_bytes()
            day = filled.answers["date_completed"]
            assert isinstance(day, date)
            name = Path(row.form_file)
            data = forms.fill_form(blank, filled.answers, filled.actions)
            drop = Drop(day, inbox / name, data)
            self.pending.append(drop)
            if copy_of is None and not filled.late and not filled.returned:
                copy_of = drop
            if filled.returned:
                fixed = forms.fill_form(data, filled.correction)
                later = day + timedelta(days=CORRECTION_DAYS)
                self.pending.append(Drop(later, inbox / f"{name.stem} corrected{name.suffix}", fixed))
                play.dropped[row.audit_id] = [("error", day), ("final", later)]
            else:
                play.dropped[row.audit_id] = [("final", day)]
        if copy_of is not None:
            # A few stray files, as in any real inbox: an Excel lock file, a CSV renamed .xlsx, and a copy.
            day = play.ingest_day
            stem = copy_of.path.stem
            self.pending += [
                Drop(day, inbox / f"~${stem}.xlsx", b"\x0bSynthetic owner" + b"\x00" * 150),
                Drop(
                    day,
                    inbox / "caseload export.xlsx",
                    f"Case reference,Team,Month\r\nCR000001,Team 1,{month}\r\n".encode(),
                ),
                Drop(max(day, copy_of.day), inbox / f"{stem} - Copy.xlsx", copy_of.data),
            ]
            play.strays = {"ignored": 1, "rejected": 1, "duplicate": 1}
        self.timings["auditors filling forms"] = (
            self.timings.get("auditors filling forms", 0.0) + time.perf_counter() - started
        )

    def fill_moderation(self, play: MonthPlay, day: date) -> int:
        """Moderators fill the month's moderation forms (agreeing with most) and return them within a few days."""
        ctx = self.context(day)
        try:
            out = ctx.config.output_dir / play.month
            inbox = ctx.config.inbox("moderation") / play.month
            framework = ctx.framework
            moderator_ids = list(ctx.config.people.moderators)
            with ctx.register.reader() as conn:
                names = list(
                    conn.execute(sa.select(reg.staff.c.name).where(reg.staff.c.staff_id.in_(moderator_ids))).scalars()
                )
        finally:
            ctx.close()
        by_case = {a.case_ref: a for a in play.audits}
        made = 0

        # ``<audit ref>_<case reference>_moderation.xlsx``: filled in case-reference order, so that the seeded
        # answers do not depend on how the files are named.
        def case_of(path: Path) -> str:
            return path.stem.split("_")[1] if path.stem.count("_") >= 2 else ""

        for path in sorted((out / "moderation").glob("*_moderation.xlsx"), key=lambda p: (case_of(p), p.name)):
            case_ref = case_of(path)
            audit = by_case.get(case_ref)
            grades = dict(audit.answers) if audit is not None else {}
            if audit is not None:
                grades["overall_grade"] = audit.overall
            answers = moderation_answers(
                self.rng,
                framework,
                auditor_grades={k: str(v) for k, v in grades.items() if k.endswith("_grade") and v},
                moderator_name=self.rng.choice(names or ["QA moderator"]),
                moderation_date=day + timedelta(days=1),
            )
            data = forms.fill_form(path.read_bytes(), answers)
            play.moderation_returned_on = day + timedelta(days=2)
            self.pending.append(Drop(play.moderation_returned_on, inbox / path.name, data))
            if audit is not None:
                play.moderated[audit.audit_id] = answers
            made += 1
        return made

    def fill_trackers(self, play: MonthPlay, day: date, rows_by_file: dict[Path, list[tuple[Any, ...]]]) -> int:
        """Service managers update each open action on their tracker and return it a week later."""
        ctx = self.context(day)
        try:
            inbox = ctx.config.inbox("actions") / play.month
        finally:
            ctx.close()
        for path, rows in rows_by_file.items():
            filled = []
            for row in rows:
                if len(row) > 8 and row[8] in ("Completed", "No longer required"):
                    filled.append(tuple(row[:13]))  # already closed: left as it is
                    continue
                due = row[6].date() if isinstance(row[6], datetime) else row[6]
                due = due if isinstance(due, date) else None
                filled.append((*row[:8], *tracker_update(self.rng, due, day + timedelta(days=7))))
            data = forms.fill_form(path.read_bytes(), {}, filled, table="tracker")
            self.pending.append(Drop(day + timedelta(days=7), inbox / path.name, data))
        return len(rows_by_file)


def _months_to_play(today: date, months: int) -> list[Month]:
    """The ``months`` whole months before today's month."""
    last = Month.of(today).shift(-1)
    return [last.shift(-n) for n in range(months - 1, -1, -1)]


def run_demo(
    folder: Path,
    *,
    keep: bool = False,
    today: str | None = None,
    months: int = 12,
    auditors: int = 150,
    cases: int | None = None,
    seed: int = 2026,
    database: str | None = None,
) -> Result:
    """Build the demo folder (clean unless ``keep``) and play ``months`` months of a synthetic authority of about
    ``auditors`` auditors through the real pipeline functions. ``result.data["months"]`` holds each
    :class:`MonthPlay`: the synthetic answers filled in and the days files reached the inbox."""
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    folder = Path(folder)
    if folder.exists() and not keep:
        shutil.rmtree(folder)
    clock = Clock.from_option(today)
    plan = _months_to_play(clock.today, months)
    fresh = not (folder / DEFAULT_CONFIG_NAME).exists()
    if database:  # issue 23: a demo on a database server never touches a register that is not a demo's
        from caseaudit_batch.demo.database import clear_for_demo

        clear_for_demo(database, keep=not fresh)
    player = _Player(folder, seed)
    if fresh:
        init_workspace(folder, organisation=DEMO_ORGANISATION, database=database)
        authority = synthetic.make_authority(auditors, cases=cases, seed=seed, today=plan[0].first_day)
        write_synthetic_authority(folder, authority)
    result = Result("demo")
    played: list[MonthPlay] = []
    done = _months_done(player) if not fresh else set()
    skipped = [name for name, fn in player.stages.items() if fn is None]
    steps = [(index, month) for index, month in enumerate(plan) if str(month) not in done]
    for index, month in ui.progress(steps, f"Playing {len(steps)} months", total=len(steps)):
        # Each month starts by freeing the last month's garbage and freezing what stays (the authority, the kept
        # lines): the collector then visits only what this month makes (core/heap.py; about a tenth of the
        # demo's CPU went on visiting the year's objects again and again).
        with heap.frozen(collect=True):
            play = _play_month(player, month, index)
        played.append(play)
        result.lines.append(_month_line(play))
    elapsed = time.perf_counter() - started
    cpu_seconds = _cpu_seconds() - cpu_started
    result.data = {
        "months": played,
        "timings": dict(player.timings),
        "cpu": dict(player.cpu),
        "seconds": elapsed,
        "cpu_seconds": cpu_seconds,
        "skipped": skipped,
    }
    if played:
        result.lines += _closing_lines(folder, played[-1])
    elif done:
        result.lines.append(messages.text("RUN024", month=str(plan[-1]), folder=str(folder)))
    # Issue 22: the demo sends nothing ([mail] send = false); it says how much 'caseaudit send' would have sent.
    result.data["would_send"] = _would_send(player)
    result.lines.append(messages.text("RUN030", count=result.data["would_send"]))
    result.lines.append(messages.text("RUN025", folder=str(folder), seconds=f"{elapsed:.0f}", cpu=f"{cpu_seconds:.0f}"))
    if skipped:
        result.lines.append(messages.text("RUN026", stages=", ".join(skipped)))
    return result


def _cpu_seconds() -> float:
    """User and system CPU seconds of this process and of its finished children (the reading and report workers);
    where the platform has no ``resource`` module (Windows), this process's alone."""
    try:
        import resource
    except ImportError:
        return time.process_time()
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _would_send(player: _Player) -> int:
    ctx = player.context(date.today())
    try:
        with ctx.register.reader() as conn:
            return len(sending.queue(conn, ctx.config.output_dir))
    finally:
        ctx.close()


def _months_done(player: _Player) -> set[str]:
    ctx = player.context(date.today())
    try:
        with ctx.register.reader() as conn:
            log = reg.run_log
            rows = conn.execute(sa.select(log.c.arguments).where(log.c.command == "report")).scalars()
            return {str((args or {}).get("month")) for args in rows}
    finally:
        ctx.close()


def _play_month(player: _Player, month: Month, index: int) -> MonthPlay:
    play = _month_days(month)
    m = str(month)
    stages = player.stages
    play.results["allocate"] = player.step("allocate", play.allocate_day, lambda c: allocate_month(c, m))
    player.fill_audits(play, index)
    ingest = stages["ingest"]
    if ingest is not None:
        play.results["ingest"] = player.step("ingest", play.ingest_day, lambda c: ingest(c, m))
    play.results["remind"] = player.step("remind", play.remind_day, lambda c: remind_month(c, m))
    moderate = stages["moderation"]
    if moderate is not None:
        if ingest is not None:  # the audits accepted so far, so that the sample draws from them
            play.results["ingest before moderation"] = player.step("ingest", play.moderate_day, lambda c: ingest(c, m))
        play.results["moderate"] = player.step("moderate", play.moderate_day, lambda c: moderate(c, m))
        player.fill_moderation(play, play.moderate_day)
    actions = stages["actions"]
    if actions is not None:
        day = play.moderate_day + timedelta(days=1)
        while not is_working_day(day):
            day += timedelta(days=1)
        made = player.step("actions", day, lambda c: actions(c, m))
        play.results["actions"] = made
        player.fill_trackers(play, day, _tracker_rows(made))
    run = player.step("run", play.run_day, lambda c: pipeline.run_month(c, m))
    play.results["run"] = run
    for step, seconds in run.data.get("seconds", {}).items():  # the month-end run's own steps, for the benchmark
        key = f"run: {step.lower()}"
        player.timings[key] = player.timings.get(key, 0.0) + seconds
    # The month's line and the closing lines read only these; each file's detail, kept for a year, was most of the
    # demo process's growth (issue 25: about 80 MB by the twelfth month, copied again into the report's worker).
    play.results = {name: _kept(made) for name, made in play.results.items()}
    return play


#: What a played month's results keep: the allocation's summary and the month-end run's metrics.
KEPT_DATA = ("summary", "metrics")


def _kept(made: Result) -> Result:
    """``made`` as its command, exit code and :data:`KEPT_DATA` only."""
    return Result(made.command, made.exit_code, data={k: made.data[k] for k in KEPT_DATA if k in made.data})


def _tracker_rows(made: Result) -> dict[Path, list[tuple[Any, ...]]]:
    """The pre-filled rows of each tracker just made, read at the positions its ``tracker`` defined name gives
    (python-calamine for the values: fast, and no openpyxl load per tracker)."""
    from openpyxl.utils.cell import range_boundaries
    from python_calamine import CalamineWorkbook

    from caseaudit_batch.workbook.stamp import Package, read_structure

    found: dict[Path, list[tuple[Any, ...]]] = {}
    for path in made.outputs:
        if path.suffix != ".xlsx" or "_actions_" not in path.name or not path.is_file():
            continue
        data = path.read_bytes()
        structure = read_structure(Package(data))
        if "tracker" not in structure.names:
            continue
        sheet, ref = structure.names["tracker"]
        min_col, min_row, max_col, max_row = range_boundaries(ref)
        assert min_col and min_row and max_col and max_row
        values = (
            CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        )
        rows = []
        for row in values[min_row - 1 : max_row]:
            cells = tuple(row[min_col - 1 : max_col])
            if cells and cells[0] not in ("", None):
                rows.append(tuple(None if v == "" else v for v in cells))
        found[path] = rows
    return found


def _month_line(play: MonthPlay) -> str:
    """One line a month; the month-end run's outcome in words (an exit code and a 'worst step' read as a fault)."""
    allocated = play.results["allocate"].data.get("summary", {})
    n = allocated.get("allocated", len(play.audits)) if isinstance(allocated, dict) else len(play.audits)
    run = play.results["run"]
    metrics = run.data.get("metrics") or {}
    return messages.text(
        "RUN020",
        label=Month.parse(play.month).label,
        allocated=n,
        completed=metrics.get("audits_completed", "?"),
        alerts=metrics.get("safeguarding_alerts", "?"),
        outcome=(
            messages.text("RUN027")
            if run.exit_code == EXIT_OK
            else messages.text("RUN028")
            if run.exit_code == EXIT_DATAERR
            else messages.exit_meaning(run.exit_code)
        ),
    )


def _closing_lines(folder: Path, last: MonthPlay) -> list[str]:
    from caseaudit_batch.reports.build import excel_name, json_name, themes_name, word_name

    month = Month.parse(last.month)
    out = folder / "output" / last.month
    metrics = last.results["run"].data.get("metrics") or {}
    files = (
        ("Word report:", out / word_name(month)),
        ("Excel report:", out / excel_name(month)),
        ("Learning themes:", out / themes_name(month)),
        ("Validation workbook:", out / f"validation-{month}.xlsx"),
        ("Metrics JSON:", out / json_name(month)),
    )
    lines = [messages.text("RUN021", label=month.label)]
    lines += [messages.text("RUN022", what=what, path=str(path)) for what, path in files]
    if metrics:
        counts = metrics.get("overall_grade_counts", {})
        gob = metrics.get("good_or_better_rate")
        lines.append(
            messages.text(
                "RUN023",
                completed=metrics.get("audits_completed"),
                allocated=metrics.get("audits_allocated"),
                gob=counts.get("Outstanding", 0) + counts.get("Good", 0),
                graded=metrics.get("audits_graded"),
                gob_rate="n/a" if gob is None else f"{gob:.0%}",
                alerts=metrics.get("safeguarding_alerts"),
                overdue=metrics.get("actions_overdue"),
            )
        )
    return lines


# --- Reproducibility: what must be identical when the same seed plays the same year -----------------------------
#: Register columns that hold the wall-clock time (or a file's modification time, or who ran it): left out of the
#: comparison, as the issue allows ("identical register rows apart from timestamps").
#: ``message_id`` is a hash of the notice's file name, which for some notices carries the wall-clock time of day.
_VOLATILE_COLUMNS = frozenset({"mtime", "user", "staging", "message_id"})
#: ``YYYYMMDD-HHMMSS`` in file names (manifests, URGENT workbooks) carries the wall-clock time of day.
_STAMP_RE = re.compile(r"(?<!\d)(\d{8})-\d{6}(?!\d)")


def _steady(value: Any, folder: str) -> Any:
    """``value`` with the demo folder's path and the time of day in file names made neutral, recursively."""
    if isinstance(value, str):
        return _STAMP_RE.sub(r"\1-HHMMSS", value.replace(folder, "<demo>"))
    if isinstance(value, dict):
        return {k: _steady(v, folder) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_steady(v, folder) for v in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def snapshot(folder: Path) -> dict[str, Any]:
    """Every month's metrics (less ``generated_on``) and every register row (less time stamps), in a stable order.

    Two plays of the same seed on the same ``--today`` give equal snapshots; ``tests/snapshots/`` keeps one so
    that a change that moves code can prove it changed no figure (``tests/make_demo_snapshot.py`` writes it).
    """
    folder = Path(folder).resolve()
    root = str(folder)
    metrics = {}
    for path in sorted((folder / "output").glob("*/metrics-*.json")):
        values = json.loads(path.read_text("utf-8"))
        values.pop("generated_on", None)
        metrics[path.stem.removeprefix("metrics-")] = _steady(values, root)
    ctx = open_context(folder / DEFAULT_CONFIG_NAME, None)
    tables: dict[str, list[dict[str, Any]]] = {}
    try:
        with ctx.register.reader() as conn:
            for name, table in sorted(reg.metadata.tables.items()):
                if name == "schema_version":
                    continue  # the schema's version is not data: a migration that adds a step changes no figure
                keep = [c for c in table.columns if not c.name.endswith("_at") and c.name not in _VOLATILE_COLUMNS]
                order = list(table.primary_key.columns) or keep
                rows = conn.execute(sa.select(*keep).order_by(*order)).mappings()
                # Empty columns are left out, so that a migration adding a column leaves the snapshot as it was.
                tables[name] = [_steady({k: v for k, v in row.items() if v is not None}, root) for row in rows]
    finally:
        ctx.close()
    return {"metrics": metrics, "register": tables}


def fingerprint(snap: dict[str, Any]) -> dict[str, Any]:
    """A :func:`snapshot` small enough to keep in the repository: the metrics whole, and each register table as
    its row count and the SHA-256 of its rows (canonical JSON)."""
    tables = {}
    for name, rows in snap["register"].items():
        text = json.dumps(rows, sort_keys=True, ensure_ascii=True, default=str, separators=(",", ":"))
        tables[name] = {"rows": len(rows), "sha256": hashlib.sha256(text.encode("ascii")).hexdigest()}
    return {"metrics": snap["metrics"], "register": tables}
