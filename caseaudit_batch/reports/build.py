"""All of a month's report files from one :class:`RegisterData`: metrics once, then each writer (no register I/O).

Returns file names (relative to ``output/YYYY-MM/``) with their bytes, so the caller stages them and a crash never
leaves a partial report under its final name.
"""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

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
    point_values,
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
    goes: nothing reads it after the tagging, so the year's answers are not held through the documents (issue 25:
    they were most of the reports' memory). A copy: the frame without them is otherwise a view of the one with
    them, which kept every answer alive."""
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
    data, frame, points = prepared.data, prepared.frame, prepared.points
    del prepared
    month = data.month
    label = month.label
    tagger = Tagger(taxonomy)
    month_services = data.allocations.loc[data.allocations["month"] == str(month), "service"]
    services = sorted({str(s) for s in month_services if isinstance(s, str) and s.strip() and s != UNKNOWN})
    # The whole authority's follow-ups and the audits they refer to: a pack's follow-up may refer to an audit filed
    # under another service (the case moved), and its movement is still known.
    followups = followup_input(data, frame, framework)
    followups.movement_records()  # worked out once, for the authority and every pack
    job = _PackJob(data, frame, points, tagger, report_date, targets, framework, template, organisation, generated_on)
    job.no_quotes = no_quotes
    job.followups = followups
    internal = INTERNAL in tiers
    metrics = compute_metrics(
        data,
        report_date=report_date,
        targets=targets,
        framework=framework,
        generated_on=generated_on,
        frame=frame,
        followups=followups,
    )
    # The window's points as a frame (about a million rows in a large authority's year), for the whole
    # authority's themes and learning; it goes before the documents are written, which only read what is worked
    # out from it (issue 25: the Excel report's workbook, the process's peak of memory, need not sit on top of
    # it). A pack makes its own, of its service's points only.
    tagged = points_frame(frame, points)
    themes = _themes(metrics, tagged, tagger, no_quotes)
    # Issue 21: the month's theme mentions by side and the share of learning left untagged (metrics JSON).
    metrics.values["themes"] = theme_counts(tagged, tagger, str(month))
    metrics.values["untagged_share"] = untagged_share(tagged, str(month))
    files: dict[str, bytes] = {}
    psw = _learning(data, tagged, tagger, difference, followups, no_quotes) if internal else None
    del tagged
    if psw is not None:
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
    if internal:
        # Guidance section 4: each Head of Service's own pack. Made here, after the whole authority's documents
        # and one after another: a forked worker making them alongside copied about as much memory as the
        # register's data it read (every object it touched has its reference count written), which put the
        # reports' peak over 400 MB for a large authority (issue 25: 481 MB, against 383 MB without it, for
        # about 3 s more).
        job.split(services)
        for service in services:
            files[word_name(month, service)] = job.pack(service)
    return MonthReports(metrics=metrics, themes=themes, files=files, services=services)


def collected(blob: bytes) -> bytes:
    """``blob``, once the garbage that making it left is collected.

    xlsxwriter's workbook (its cells) and matplotlib's figures hold themselves in reference cycles, which only the
    collector frees, and its full collection waits until the objects made since its last one number a quarter of
    those it kept then; with the register's frames in the heap that took several documents. The Excel report's
    300,000 cells (about 74 MB, 311,000 objects) stayed alive through the Word documents and the packs (issue 25:
    the reports' peak of memory). Each collection takes about 10 ms after a Word document and 70 ms after the Excel
    report."""
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
    """What every service pack needs."""

    data: RegisterData
    frame: pd.DataFrame
    points: Points  # a pack makes its own points' frame, of its service's points only
    tagger: Tagger
    report_date: date
    targets: Targets
    framework: Framework
    template: Path
    organisation: str
    generated_on: date
    no_quotes: bool = False
    followups: FollowupInput | None = None
    #: each service's rows of ``frame`` and of ``points`` (positions, in order), split once for every pack
    rows: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    def split(self, services: list[str]) -> None:
        """Each service's rows found once (issue 25: every pack compared the window's million tagged points)."""
        frame_at = self.frame.groupby(self.frame["service"], sort=False).indices
        tagged_at: dict[Any, Any] = {}
        if len(self.points):
            service = pd.Series(point_values(self.frame, self.points, "service"), dtype=object)
            tagged_at = service.groupby(service, sort=False).indices
        none: list[int] = []
        self.rows = {s: (frame_at.get(s, none), tagged_at.get(s, none)) for s in services}

    def _of(self, service: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        frame_at, tagged_at = self.rows[service]  # split() first
        return self.frame.iloc[frame_at], points_frame(self.frame, self.points.take(tagged_at))

    def pack(self, service: str) -> bytes:
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
        return collected(blob)
