"""Issue 25: the reports' faster counting gives what the plain loops gave (themes' window counts and trend), and the
service packs come back in the services' order wherever each was made."""

from __future__ import annotations

import io
import random
import sys
from collections import Counter
from dataclasses import replace
from datetime import date
from typing import Any

import pandas as pd
import pytest
from PIL import Image, ImageChops
from test_metrics import D, month_data, report_settings

from caseaudit_batch.core.config import TEMPLATES_DIR
from caseaudit_batch.core.framework import load_framework
from caseaudit_batch.reports import build, charts, learning, themes
from caseaudit_batch.reports.data import RegisterData
from caseaudit_batch.reports.targets import Targets
from caseaudit_batch.reports.themes import Tagger, Theme, rows_by_theme, summarise

TAXONOMY = [
    Theme("Records", "Chronology and recording.", ("chronology",), id="records"),
    Theme("Partners", "Working with partners.", ("school",), id="partners"),
    Theme("Voice", "The child's voice.", ("wishes",), id="voice"),
]
MONTHS = ["2026-07", "2026-08", "2026-09"]


def _points(seed: int = 3, n: int = 400) -> pd.DataFrame:
    """Tagged points as tag_texts makes them: audits repeat, a point names none, one or several themes."""
    rng = random.Random(seed)
    choices = [(), ("Records",), ("Partners",), ("Records", "Voice"), ("Records", "Partners", "Voice")]
    rows = []
    for _ in range(n):
        audit = f"A{rng.randrange(40)}"
        rows.append(
            {
                "audit_id": audit,
                "case_ref": f"C{audit[1:]}",
                "month": rng.choice(MONTHS),
                "service": rng.choice(("North", "South")),
                "field": "learning",
                "text": "A point.",
                "side": rng.choice(("strength", "learning", "finding")),
                "themes": rng.choice(choices),
            }
        )
    return pd.DataFrame(rows, dtype=object)


def _trend_by_loop(tagged: pd.DataFrame) -> dict[tuple[str, str, str], int]:
    seen = {
        (name, side, month, audit)
        for audit, side, month, found in zip(
            tagged["audit_id"], tagged["side"], tagged["month"], tagged["themes"], strict=True
        )
        for name in found
    }
    return dict(Counter((name, side, month) for name, side, month, _ in seen))


def test_rows_by_theme_marks_the_rows_naming_each_theme() -> None:
    themes = pd.Series([(), ("Records",), ("Records", "Voice"), ("Voice",), ()], dtype=object)
    rows = rows_by_theme(themes)
    assert sorted(rows) == ["Records", "Voice"]
    assert rows["Records"].tolist() == [False, True, True, False, False]
    assert rows["Voice"].tolist() == [False, False, True, True, False]
    assert rows_by_theme(pd.Series([], dtype=object)) == {}


def test_trend_counts_distinct_audits_per_theme_side_and_month_as_a_loop_would() -> None:
    tagged = _points()
    trend = learning.theme_trend(tagged, MONTHS)
    expected = _trend_by_loop(tagged)
    found = {
        (name, side, month): int(trend.loc[(name, side), month])
        for name, side in trend.index
        for month in MONTHS
        if trend.loc[(name, side), month]
    }
    assert found == expected
    assert list(trend.columns) == MONTHS


def test_trend_of_no_points_is_empty() -> None:
    tagged = _points().iloc[0:0]
    assert learning.theme_trend(tagged, MONTHS).empty
    untagged = _points().assign(themes=[()] * 400)
    assert learning.theme_trend(untagged, MONTHS).empty


def test_window_counts_are_each_themes_distinct_audits() -> None:
    tagged = _points()
    table = summarise(tagged, Tagger(TAXONOMY), "2026-09", no_quotes=True).table.set_index("Theme")
    for theme in TAXONOMY:
        audits = {a for a, found in zip(tagged["audit_id"], tagged["themes"], strict=True) if theme.name in found}
        assert table.loc[theme.name, "12 months"] == len(audits)
    # A blank audit ID is not an audit (as nunique).
    blank = tagged.assign(
        audit_id=pd.Series([None if i % 2 else a for i, a in enumerate(tagged["audit_id"])], dtype=object)
    )
    table = summarise(blank, Tagger(TAXONOMY), "2026-09", no_quotes=True).table.set_index("Theme")
    audits = {
        a for a, found in zip(blank["audit_id"], blank["themes"], strict=True) if "Records" in found and a is not None
    }
    assert table.loc["Records", "12 months"] == len(audits)


def test_the_packs_are_made_in_this_process_in_the_services_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 25: a forked worker making the packs copied about as much memory as the register's data it read, so
    the packs are made here, one after another, in the services' order, after the whole authority's documents."""
    import os

    def no_fork() -> int:
        raise AssertionError("the reports forked a process")

    monkeypatch.setattr(os, "fork", no_fork)
    made = build.build_month_reports(month_data(), **report_settings())
    packs = [build.word_name(month_data().month, s) for s in made.services]
    assert len(packs) >= 2 and list(made.files)[-len(packs) :] == packs  # last, in the services' order


def test_a_packs_rows_split_once_are_the_rows_a_filter_finds() -> None:
    """Each service's audits and tagged points, split once before the packs, are exactly (and in the order) those a
    filter by service finds; a service with none gets an empty table with the same columns."""
    frame = pd.DataFrame(
        {
            "audit_id": [f"A{i}" for i in range(12)],
            "case_ref": [f"C{i}" for i in range(12)],
            "month": "2026-09",
            "service": ["North", "South", None, "East"] * 3,
            "strengths": ["The chronology is current. School attends.", "", "Wishes are heard.", ""] * 3,
            "learning": ["", "Update the chronology.", "The school was not asked.", ""] * 3,
            "accepted": [True] * 8 + [False, True, False, False],  # North's third audit is not accepted
        }
    )
    tagger = Tagger(TAXONOMY)
    points = themes.tag_points(frame, tagger)
    tagged = themes.tag_texts(frame, tagger)
    job = build._PackJob(None, frame, points, tagger, None, None, None, None, "", None)  # type: ignore[arg-type]
    services = ["North", "South", "East", "West"]
    job.split(services)
    for service in services:
        got_frame, got_tagged = job._of(service)
        pd.testing.assert_frame_equal(got_frame, frame[frame["service"] == service])
        mine = tagged[tagged["service"] == service].reset_index(drop=True)
        pd.testing.assert_frame_equal(got_tagged, mine, check_index_type=False)
    assert len(job._of("North")[1]) == 4 and len(job._of("South")[1]) == 3  # two sentences each, one
    assert job._of("East")[1].empty  # East has audits but no tagged points
    assert job._of("West")[0].empty and list(job._of("West")[0].columns) == list(frame.columns)


def test_the_packs_job_holds_no_typed_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 25: once tagged, the answers' text goes, so the year's answers are not held through the documents nor
    copied into the packs' worker. (The frame without them was a view of one that had them, which kept every
    answer alive.) A two-sentence answer is tagged as two new strings, so nothing may hold the answer itself."""
    answer = "".join(["The chronology is up to date. ", "School attend every meeting."])  # made, not a constant
    held: list[int] = []

    def made_data() -> RegisterData:
        data = month_data()
        audits = data.audits.copy()
        audits.loc[audits["audit_id"] == "AUD-4", "strengths"] = answer
        return replace(data, audits=audits)

    split = build._PackJob.split

    def splitting(self: build._PackJob, services: list[str]) -> None:  # as the packs start
        held.append(sys.getrefcount(answer))
        split(self, services)

    monkeypatch.setattr(build._PackJob, "split", splitting)
    alone = sys.getrefcount(answer)  # this test's own references
    # Every argument spelled out, as the report command passes them: called with ``**``, the call's own argument
    # tuple would hold the data (and so the answer) for as long as the call lasts.
    build.build_month_reports(
        made_data(),
        report_date=D,
        targets=Targets(),
        framework=load_framework(),
        taxonomy=themes.load_taxonomy(TEMPLATES_DIR / "themes.toml"),
        template=TEMPLATES_DIR / "report_template.docx",
        organisation="Testshire Council",
        generated_on=date(2026, 10, 5),
    )
    assert held == [alone]


def _sparkline_on_axes(series: list[tuple[str, float | None]]) -> bytes:
    """The sparkline as it was drawn before issue 25: on an axes, then hidden."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1.5, 0.4))
    ax = fig.add_axes((0.03, 0.12, 0.94, 0.76))
    x = list(range(len(series)))
    y = [float("nan") if r is None else r * 100 for _, r in series]
    ax.plot(x, y, color="#2166ac", linewidth=1.4, marker="o" if len(series) < 3 else None, markersize=2.5)
    if y and y[-1] == y[-1]:
        ax.plot([x[-1]], [y[-1]], marker="o", markersize=3.5, color="#1f4e79")
    ax.set_xlim(-0.3, max(len(series) - 0.7, 0.3))
    known = [value for value in y if value == value]
    low, high = (min(known), max(known)) if known else (0.0, 100.0)
    middle, half = (low + high) / 2, max((high - low) / 2, 10.0)
    ax.set_ylim(middle - half * 1.15, middle + half * 1.15)
    ax.axis("off")
    return charts._png(fig)


def test_a_sparkline_drawn_without_axes_is_the_same_picture() -> None:
    """Issue 25: a sparkline is drawn straight onto its figure; the picture is the one an axes gave."""
    months = [f"2026-{m:02d}" for m in range(1, 13)]
    rng = random.Random(11)
    cases = [
        list(zip(months, [rng.choice([None, *(i / 20 for i in range(21))]) for _ in months], strict=True)),
        [("2026-10", 0.5), ("2026-11", 0.6)],  # under three months: markers on every point
        [("2026-11", 0.6)],
        [("2026-10", None), ("2026-11", None)],  # nothing known: the default range
        [("2026-09", 0.5), ("2026-10", 0.55), ("2026-11", None)],  # the latest month unknown: no end marker
        [("2026-09", 1.0), ("2026-10", 1.0), ("2026-11", 1.0)],  # flat: at least 20 points tall
    ]
    for series in cases:
        drawn = _pixels(charts.sparkline("Completion rate", series, "higher is better").png)
        before = _pixels(_sparkline_on_axes(series))
        assert drawn.size == before.size
        # The same picture: a gap (a month with no audits) may round an edge pixel's shade by one step in 255.
        assert max(ImageChops.difference(drawn, before).getextrema(), key=lambda band: band[1])[1] <= 2, series


def _pixels(png: bytes) -> Image.Image:
    return Image.open(io.BytesIO(png)).convert("RGBA")


def test_no_workbook_or_figure_outlives_its_document() -> None:
    """Issue 25: xlsxwriter's workbook and matplotlib's figures hold themselves in reference cycles, which only the
    collector frees, and a full collection can wait for several documents: the Excel report's cells (about 74 MB of
    the bench year's) stayed alive through the Word documents. Each document's garbage is collected once it is
    made, so with the collector's own runs switched off none is left once the reports are made (but each kind of
    chart's one canvas, kept for the process)."""
    import gc

    import xlsxwriter
    from matplotlib.figure import Figure

    def alive() -> list[str]:
        kept = {id(fig) for fig, _ in charts._CANVASES.values()}  # each kind's one canvas, kept on purpose
        found = [o for o in gc.get_objects() if isinstance(o, (xlsxwriter.Workbook, Figure)) and id(o) not in kept]
        return [type(o).__name__ for o in found]

    gc.collect()
    assert alive() == []
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        made = build.build_month_reports(month_data(), **report_settings())
        assert any(name.endswith(".xlsx") for name in made.files) and len(made.services) >= 2
        assert alive() == []
    finally:
        if was_enabled:
            gc.enable()


def _grades(**counts: int) -> dict[str, int]:
    return dict(counts)


def _sections(rows: list[tuple[str, str, list[int]]]) -> pd.DataFrame:
    """(section, title, [outstanding, good, requires improvement, inadequate]) per row."""
    names = ["Outstanding", "Good", "Requires Improvement", "Inadequate"]
    table = pd.DataFrame(
        [{"Section": s, "Title": t, **dict(zip(names, c, strict=True)), "Graded": sum(c)} for s, t, c in rows]
    )
    table["Good or better"] = [(c[0] + c[1]) / sum(c) if sum(c) else None for _, _, c in rows]
    return table


def _trend(rates: list[tuple[str, float | None, float | None]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Month": [m for m, _, _ in rates],
            "Allocated": [10] * len(rates),
            "Completion rate": [c for _, c, _ in rates],
            "Graded": [8] * len(rates),
            "Good or better": [g for _, _, g in rates],
        }
    )


def _funnel(teams: list[tuple[str, int, float, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Team": [t for t, _, _, _ in teams],
            "Audits graded": [n for _, n, _, _ in teams],
            "Rate": [r for _, _, r, _ in teams],
            "Outside": [o for _, _, _, o in teams],
            "Lower 95%": [max(0.0, r - 0.3) for _, _, r, _ in teams],
            "Upper 95%": [min(1.0, r + 0.3) for _, _, r, _ in teams],
        }
    )


def test_a_chart_drawn_on_its_kinds_reused_canvas_is_the_picture_a_new_one_gives() -> None:
    """Issue 25: each kind of chart draws on one figure kept for the process; whatever the chart before it drew
    (more or fewer sections and teams, other limits, a legend, labels), the picture is byte for byte the one a new
    figure gives."""
    three = [("s1", "Case summary", [1, 2, 3, 0]), ("s2", "Plans", [0, 0, 0, 0]), ("s3", "Risk", [0, 4, 1, 0])]
    calls: list[tuple[Any, tuple[Any, ...]]] = [
        (charts.grade_chart, (_grades(Good=5, Inadequate=1), "Final overall grades")),
        (charts.grade_chart, (_grades(), "Final overall grades")),  # nothing graded
        (charts.grade_chart, (_grades(Outstanding=40, Good=2), "Final overall grades")),
        (charts.sections_chart, (_sections(three), "S")),
        (charts.sections_chart, (_sections([three[0], three[2]]), "S")),  # a section fewer: no gap where it was
        (charts.sections_chart, (_sections([(f"s{n}", f"Section {n}", [n, 1, 0, 1]) for n in range(1, 10)]), "S")),
        (charts.sections_chart, (_sections([("s9", "Only this one, with a long title", [0, 1, 0, 0])]), "S")),
        (charts.trend_chart, (_trend([("2026-09", 0.5, None)]), "Trend", None)),
        (charts.trend_chart, (_trend([(f"2026-{m:02d}", m / 12, 1 - m / 24) for m in range(1, 13)]), "Trend", 0.8)),
        (charts.funnel_chart, (_funnel([("A", 3, 0.3, "No"), ("B", 12, 0.9, "Above")]), 0.6, "Funnel")),
        (charts.funnel_chart, (_funnel([("C", 1, 1.0, "No")]), None, "Funnel")),
    ]
    charts._CANVASES.clear()
    first = [draw(*args).png for draw, args in calls]  # each kind's first chart is drawn on a new canvas
    alone = []
    for draw, args in calls:
        charts._CANVASES.clear()
        alone.append(draw(*args).png)
    again = [draw(*args).png for draw, args in reversed(calls)][::-1]  # each after another of its kind
    assert first == alone
    assert again == alone
