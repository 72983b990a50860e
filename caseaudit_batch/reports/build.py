"""All of a month's report files from one :class:`RegisterData`: metrics once, then each writer (no register I/O).

Returns file names (relative to ``output/YYYY-MM/``) with their bytes, so the caller stages them and a crash never
leaves a partial report under its final name.
"""

from __future__ import annotations

import contextlib
import gc
import json
import multiprocessing
import os
import re
from collections.abc import Collection
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from caseaudit_batch.core import heap
from caseaudit_batch.core.clock import Month
from caseaudit_batch.core.framework import Framework
from caseaudit_batch.followups import measures as fm
from caseaudit_batch.reports import committee, committee_docs, excel, learning, word
from caseaudit_batch.reports.data import TYPED_TEXT, RegisterData
from caseaudit_batch.reports.frame import UNKNOWN, audit_frame
from caseaudit_batch.reports.learning_doc import Learning
from caseaudit_batch.reports.metrics import (
    FollowupInput,
    Metrics,
    completion_figures,
    compute_metrics,
    followup_input,
)
from caseaudit_batch.reports.targets import Targets
from caseaudit_batch.reports.themes import (
    Points,
    Tagger,
    Theme,
    ThemeSummary,
    points_frame,
    summarise,
    tag_points,
    theme_counts,
    untagged_share,
)
from caseaudit_batch.reports.tiers import COMMITTEE, INTERNAL


@dataclass
class MonthReports:
    metrics: Metrics
    themes: ThemeSummary
    files: dict[str, bytes]
    services: list[str]


def json_name(month: Month) -> str:
    return f"metrics-{month}.json"


def excel_name(month: Month) -> str:
    return f"caseaudit-report-{month}.xlsx"


def word_name(month: Month, service: str | None = None) -> str:
    suffix = f"-{safe_name(service)}" if service else ""
    return f"Monthly-Case-File-Audit-Report-{month}{suffix}.docx"


def themes_name(month: Month) -> str:
    return f"Learning-Themes-{month}.docx"


def committee_name(name: str) -> str:
    """The committee version of a report file: ``-committee`` before the extension."""
    stem, dot, extension = name.rpartition(".")
    return f"{stem}-{COMMITTEE}{dot}{extension}"


def safe_name(text: str) -> str:
    """Unsafe characters and spaces become ``_`` (as in form file names)."""
    return re.sub(r"[^A-Za-z0-9.-]+", "_", text.strip()).strip("_") or "service"


def metrics_json(metrics: Metrics) -> bytes:
    return _json(metrics.values)


def _json(values: dict[str, object]) -> bytes:
    return (json.dumps(values, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def _themes(metrics: Metrics, tagged: pd.DataFrame, tagger: Tagger, no_quotes: bool) -> ThemeSummary:
    sections = metrics.tables["sections"]
    shares = {
        int(str(s)[1:]): (None if g is None or g != g else float(g))
        for s, g in zip(sections["Section"], sections["Good or better"], strict=True)
    }
    return summarise(tagged, tagger, metrics.month, section_good_or_better=shares, no_quotes=no_quotes)


def _learning(
    data: RegisterData,
    tagged: pd.DataFrame,
    tagger: Tagger,
    difference: Theme,
    followups: FollowupInput,
    no_quotes: bool,
) -> Learning:
    """Issue 21: the PSW's analyses, from the points tagged once."""
    month = str(data.month)
    moved = fm.in_window(fm.movement_frame(followups.movement_records()), month)
    return Learning(
        months=data.months,
        tagged=tagged[tagged["month"] == month],  # by service: this month's mentions only
        trend=learning.theme_trend(tagged, data.months),
        emerging=learning.emerging_phrases(tagged, month),
        lived=learning.lived_experience(tagged, difference, data.months, month, no_quotes=no_quotes),
        practice=learning.into_practice(tagged, moved, tagger.taxonomy),
    )


@dataclass
class Prepared:
    """The register's data for the reports once its typed answers are tagged: the data and the audit frame
    without the answers' text, and the tagged points (:func:`prepare`)."""

    data: RegisterData
    frame: pd.DataFrame
    points: Points


def prepare(data: RegisterData, framework: Framework, taxonomy: list[Theme], difference: Theme | None) -> Prepared:
    """The audit frame of ``data`` and its answers' points tagged once for every output; then the answers' text
    goes: nothing reads it after the tagging, so the year's answers are not held through the documents, nor in the
    packs' worker (issue 25: they were most of the reports' memory). A copy: the frame without them is otherwise a
    view of the one with them, which kept every answer alive."""
    frame = audit_frame(data, framework)
    points = tag_points(frame, Tagger(taxonomy), Tagger([difference or learning.load_difference()]))
    frame = frame.drop(columns=[c for c in TYPED_TEXT if c in frame.columns]).copy()
    return Prepared(data=_without_text(data), frame=frame, points=points)


def build_month_reports(
    data: RegisterData | Prepared,
    *,
    report_date: date,
    targets: Targets,
    framework: Framework,
    taxonomy: list[Theme],
    template: Path,
    organisation: str,
    generated_on: date,
    no_quotes: bool = False,
    tiers: Collection[str] = (INTERNAL,),
    difference: Theme | None = None,
) -> MonthReports:
    """The files of each of ``tiers``: the internal documents and packs, and the committee version (issue 19).

    ``data`` is the register's data, or it :func:`prepare`-d already (the report command tags in a short-lived
    process: :func:`caseaudit_batch.reports.stage.report_month`)."""
    difference = difference or learning.load_difference()
    prepared = data if isinstance(data, Prepared) else prepare(data, framework, taxonomy, difference)
    data, frame = prepared.data, prepared.frame
    tagged = points_frame(frame, prepared.points)
    del prepared
    month = data.month
    label = month.label
    tagger = Tagger(taxonomy)
    month_services = data.allocations.loc[data.allocations["month"] == str(month), "service"]
    services = sorted({str(s) for s in month_services if isinstance(s, str) and s.strip() and s != UNKNOWN})
    # The whole authority's follow-ups and the audits they refer to: a pack's follow-up may refer to an audit filed
    # under another service (the case moved), and its movement is still known.
    followups = followup_input(data, frame, framework)
    followups.movement_records()  # worked out once, before the packs' worker forks
    job = _PackJob(data, frame, tagged, tagger, report_date, targets, framework, template, organisation, generated_on)
    job.no_quotes = no_quotes
    job.followups = followups
    internal = INTERNAL in tiers
    if internal:
        job.split(services)  # before the worker forks: it inherits the split
    # The service packs are made alongside the whole-service outputs.
    with _Packs(job, services if internal else []) as packs:
        metrics = compute_metrics(
            data,
            report_date=report_date,
            targets=targets,
            framework=framework,
            generated_on=generated_on,
            frame=frame,
            followups=followups,
        )
        themes = _themes(metrics, tagged, tagger, no_quotes)
        # Issue 21: the month's theme mentions by side and the share of learning left untagged (metrics JSON).
        metrics.values["themes"] = theme_counts(tagged, tagger, str(month))
        metrics.values["untagged_share"] = untagged_share(tagged, str(month))
        files: dict[str, bytes] = {}
        if internal:
            psw = _learning(data, tagged, tagger, difference, followups, no_quotes)
            files[json_name(month)] = metrics_json(metrics)
            files[excel_name(month)] = collected(
                excel.write_excel_report(
                    metrics,
                    themes,
                    organisation=organisation,
                    month_label=label,
                    calibration=learning.calibration(frame),
                )
            )
            files[word_name(month)] = collected(
                word.write_word_report(metrics, themes, template=template, organisation=organisation, month_label=label)
            )
            files[themes_name(month)] = collected(
                word.write_learning_themes(
                    metrics, themes, template=template, organisation=organisation, month_label=label, learning=psw
                )
            )
        if COMMITTEE in tiers:
            figures = committee.committee_figures(metrics, themes)  # suppressed once, for all three files
            files[committee_name(json_name(month))] = _json(figures.values)
            files[committee_name(excel_name(month))] = committee_docs.write_committee_excel(
                figures, organisation=organisation, month_label=label
            )
            files[committee_name(word_name(month))] = committee_docs.write_committee_word(
                figures, metrics, template=template, organisation=organisation, month_label=label
            )
        for service, blob in packs.results():
            files[word_name(month, service)] = blob
    return MonthReports(metrics=metrics, themes=themes, files=files, services=services)


def collected(blob: bytes) -> bytes:
    """``blob``, once the garbage that making it left is collected.

    xlsxwriter's workbook (its cells) and matplotlib's figures hold themselves in reference cycles, which only the
    collector frees, and its full collection waits until the objects made since its last one number a quarter of
    those it kept then; with the register's frames in the heap that took several documents. The Excel report's
    300,000 cells (about 74 MB, 311,000 objects) stayed alive through the Word documents, beside the packs' worker
    (issue 25: the reports' peak of memory fell from 561 MB to 523 MB). Each collection takes about 10 ms after a
    Word document and 70 ms after the Excel report."""
    gc.collect()
    return blob


def _without_text(data: RegisterData) -> RegisterData:
    """``data`` without the window's typed answers (``earlier``, a few hundred audits, is read whole by
    :func:`audit_frame` and kept as it is)."""

    def drop(table: pd.DataFrame) -> pd.DataFrame:
        return table.drop(columns=[c for c in TYPED_TEXT if c in table.columns]).copy()

    return replace(data, audits=drop(data.audits), moderations=drop(data.moderations))


@dataclass
class _PackJob:
    """What every service pack needs; handed to worker processes by fork (nothing is pickled on the way in)."""

    data: RegisterData
    frame: pd.DataFrame
    tagged: pd.DataFrame
    tagger: Tagger
    report_date: date
    targets: Targets
    framework: Framework
    template: Path
    organisation: str
    generated_on: date
    no_quotes: bool = False
    followups: FollowupInput | None = None
    #: each service's rows of ``frame`` and ``tagged`` (positions, in order), split once for every pack
    rows: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    def split(self, services: list[str]) -> None:
        """Each service's rows found once (issue 25: every pack compared the window's million tagged points)."""
        frame_at = self.frame.groupby(self.frame["service"], sort=False).indices
        tagged_at = self.tagged.groupby(self.tagged["service"], sort=False).indices if len(self.tagged) else {}
        none: list[int] = []
        self.rows = {s: (frame_at.get(s, none), tagged_at.get(s, none)) for s in services}

    def _of(self, service: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        frame_at, tagged_at = self.rows[service]  # split() first
        return self.frame.iloc[frame_at], self.tagged.iloc[tagged_at]

    def pack(self, service: str) -> tuple[str, bytes]:
        """Guidance section 4: each Head of Service cascades their own service's strengths and learning."""
        frame, tagged = self._of(service)
        metrics = compute_metrics(
            self.data.for_service(service),
            report_date=self.report_date,
            targets=self.targets,
            framework=self.framework,
            generated_on=self.generated_on,
            frame=frame,
            excel_tables=False,
            followups=self.followups,
        )
        # "Audits by your managers" shows only their completion by the case's service: those figures alone.
        staff_ids = set(self.data.staff.loc[self.data.staff["service"] == service, "staff_id"])
        alloc = self.data.allocations
        ids = set(alloc.loc[alloc["staff_id"].isin(staff_ids), "audit_id"])
        by_managers = completion_figures(
            self.frame[self.frame["audit_id"].isin(ids)], str(self.data.month), self.report_date
        )
        blob = word.write_word_report(
            metrics,
            _themes(metrics, tagged, self.tagger, self.no_quotes),
            template=self.template,
            organisation=self.organisation,
            month_label=self.data.month.label,
            service=service,
            by_managers=by_managers,
        )
        return service, collected(blob)


_JOB: _PackJob | None = None


def _pack_in_worker(service: str) -> tuple[str, bytes]:
    assert _JOB is not None
    return _JOB.pack(service)


class _Packs:
    """The service packs, in one forked worker process and, once its own documents are written, this one (the
    figures are already in memory, so nothing is pickled on the way in); else one after another in this process.

    One worker, not two (issue 25): a forked worker soon holds about 100 MB of its own, copied from the pages its
    pack touches (every object a pack reads has its reference count written), so a second worker cost as much
    memory again; this process, idle once its documents are written, is the second pair of hands instead."""

    def __init__(self, job: _PackJob, services: list[str]) -> None:
        self.job = job
        self.services = services
        self.pool: ProcessPoolExecutor | None = None
        self.futures: list[Future[tuple[str, bytes]]] = []
        self._frozen = contextlib.ExitStack()

    def __enter__(self) -> _Packs:
        global _JOB
        workers = min(2, os.cpu_count() or 1, len(self.services))
        if workers >= 2 and "fork" in multiprocessing.get_all_start_methods():
            _JOB = self.job
            # The worker shares the parent's memory copy-on-write; a garbage collection in it would touch (and so
            # copy) every object it scans. Frozen, the objects made so far are left out of collections (issue 25:
            # the packs' workers each grew to about 400 MB); collected first, garbage is not frozen into its copy.
            self._frozen.enter_context(heap.frozen(collect=True))
            self.pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
            self.futures = [self.pool.submit(_pack_in_worker, service) for service in self.services]
        return self

    def results(self) -> list[tuple[str, bytes]]:
        if self.pool is None:
            return [self.job.pack(service) for service in self.services]
        # The packs the worker has not yet started, from the last: made here (a cancelled one never starts there).
        here: dict[int, tuple[str, bytes]] = {}
        for index in range(len(self.services) - 1, -1, -1):
            if not self.futures[index].cancel():
                break  # this one and those before it are the worker's
            here[index] = self.job.pack(self.services[index])
        return [here[i] if i in here else future.result() for i, future in enumerate(self.futures)]

    def __exit__(self, *exc: object) -> None:
        global _JOB
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
        self._frozen.close()
        _JOB = None
