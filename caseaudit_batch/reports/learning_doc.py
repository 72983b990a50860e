"""The Learning Themes document for the Principal Social Worker (issue 21): sources, what we do well and what we must
improve, each theme with its trend, services and quotations, the child's lived experience, learning into practice and
possible new themes. Nothing is counted here: the figures are :class:`~caseaudit_batch.reports.themes.ThemeSummary`
and :class:`Learning`'s.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from docx.shared import Cm
from matplotlib.figure import Figure

from caseaudit_batch.core.clock import Month
from caseaudit_batch.reports import charts
from caseaudit_batch.reports.docx_blocks import _Builder, _load_template, _render, pct
from caseaudit_batch.reports.learning import LivedExperience, ServiceMentions
from caseaudit_batch.reports.metrics import Metrics
from caseaudit_batch.reports.themes import SIDE_HEADINGS, SIDES, ThemeSummary

SOURCES_TEXT = (
    "Sources: every free-text answer of an accepted audit: the findings of the nine sections, the nine impact answers, "
    "strengths, learning, recommendations, organisational learning, the diversity answer and the moderator's "
    "rationale. A point is one sentence of one answer. Strengths and impact answers count as what we do well (an "
    "impact answer only where it evidences a difference for the child; otherwise it is a finding); learning, "
    "recommendations, organisational learning and moderation rationale as what we must improve; findings and the "
    "diversity answer as both, shown as findings. Counts are audits mentioning the theme; one audit can mention "
    "several."
)
_SIDE_STYLE = {"strength": ("#1b7837", "o", "-"), "learning": ("#b2182b", "s", "--"), "finding": ("#2166ac", "^", ":")}


@dataclass
class Learning:
    """The PSW's analyses beyond the theme counts (:mod:`caseaudit_batch.reports.learning`), computed once."""

    months: list[str]
    tagged: pd.DataFrame  # the month's tagged points (each theme's mentions by service)
    trend: pd.DataFrame  # index (theme, side), columns months
    emerging: pd.DataFrame  # Phrase, Points, Weight
    lived: LivedExperience
    practice: pd.DataFrame  # Theme, Follow-ups, Improved, Same, Worse, Share improved


def _label(month: str) -> str:
    return Month.parse(month).first_day.strftime("%b %y")


def theme_chart(theme: str, trend: pd.DataFrame, months: list[str]) -> charts.Chart:
    """A small line chart of a theme's audits by month, strengths and learning, drawn like page one's sparklines
    (no axes: ticks are most of a chart's drawing time, and eleven themes are drawn every month): the first and last
    months and each line's latest count are written on it, every month's numbers are in its alt text."""
    fig = Figure(figsize=(5.0, 1.1))
    ax = fig.add_axes((0.02, 0.2, 0.74, 0.72))
    x = list(range(len(months)))
    series: dict[str, list[int]] = {}
    top = 1
    # Findings name each section's subject on nearly every audit: a line of them would flatten the other two.
    for side, label in (("strength", "Strengths"), ("learning", "Learning")):
        known = (theme, side) in trend.index
        values = [int(v) for v in trend.loc[[(theme, side)]].iloc[0].tolist()] if known else [0] * len(months)
        series[label] = values
        top = max(top, *values)
        colour, marker, style = _SIDE_STYLE[side]
        ax.plot(x, values, marker=marker, markersize=2.5, linestyle=style, color=colour, linewidth=1.3)
        series[label] = values
    ends = [series["Strengths"][-1], series["Learning"][-1]]
    for (label, values), side in zip(series.items(), ("strength", "learning"), strict=True):
        # The higher line's label above, the lower's below, so two close labels never overlap.
        above = values[-1] > min(ends) or (ends[0] == ends[1] and label == "Strengths")
        ax.text(x[-1] + 0.4, values[-1], f"{label} {values[-1]}", color=_SIDE_STYLE[side][0], fontsize=7,
                va="bottom" if above else "top")  # fmt: skip
    ax.set_xlim(-0.3, len(x) - 0.7)
    ax.set_ylim(-0.08 * top, top * 1.1)
    ax.axis("off")
    ax.text(0, -0.08 * top, _label(months[0]), fontsize=6, va="top", ha="left", color="#444444")
    ax.text(x[-1], -0.08 * top, _label(months[-1]), fontsize=6, va="top", ha="right", color="#444444")
    points = "; ".join(
        f"{_label(m)}: " + ", ".join(f"{label.lower()} {series[label][i]}" for label in series)
        for i, m in enumerate(months)
    )
    alt = (
        f"Line chart of audits mentioning {theme} as a strength and as learning, by month over {len(months)} months "
        f"(highest {top}). {points}."
    )
    table = pd.DataFrame({"Month": [_label(m) for m in months], **series})
    return charts.Chart(f"{theme}: strengths and learning by month", alt, charts._png(fig), table)


def _small_picture(sd: Any, chart: charts.Chart) -> None:
    sd.add_picture(io.BytesIO(chart.png), width=Cm(11))
    doc_pr = sd.paragraphs[-1].runs[-1]._r.xpath(".//wp:docPr")[0]
    doc_pr.set("descr", chart.alt)  # every picture with its alt text (accessibility)
    doc_pr.set("title", chart.title)


def _quotes(b: _Builder, sd: Any, items: list[tuple[str, str, str]]) -> None:
    for case_ref, source, text in items:
        b.para(sd, f"{case_ref} ({source.lower()}): “{text}”", style="List Bullet")


def _plural(n: int, one: str) -> str:
    return f"{n:,} {one if n == 1 else one + 's'}"


def _overview(b: _Builder, themes: ThemeSummary, learning: Learning | None, accepted: int) -> Any:
    sd = b.new()
    b.para(sd, f"{accepted} accepted audits this month. {SOURCES_TEXT}")
    table = themes.table
    columns = ["Theme", "This month", "Strengths", "Learning", "Findings", "12 months"]
    if "Related sections good or better" in table:
        columns.append("Related sections good or better")
        b.para(sd, "Related sections good or better is shown only for a theme mentioned this month.")
    b.table(sd, table, columns)
    for side in ("strength", "learning"):
        b.heading(sd, SIDE_HEADINGS[side])
        label = SIDES[side]
        ranked = table[table[label] > 0].sort_values([label, "Theme"], ascending=[False, True]) if len(table) else table
        if not len(ranked):
            b.para(sd, "No theme this month.")
        for row in ranked.itertuples(index=False):
            b.para(sd, f"{row.Theme}: {_plural(int(getattr(row, label)), 'audit')}", style="List Bullet")
    if learning is not None and len(learning.trend):
        # What to improve, by month (findings name every section's subject on nearly every audit: not shown here).
        b.heading(sd, "What we must improve, audits by month")
        names = [t.name for t in themes.taxonomy]
        trend = learning.trend
        known = {(str(t), str(side)): [int(v) for v in values] for (t, side), values in zip(
            trend.index, trend.to_numpy().tolist(), strict=True)}  # fmt: skip
        by_month = pd.DataFrame(
            [known.get((name, "learning"), [0] * len(learning.months)) for name in names],
            index=names,
            columns=[_label(m) for m in learning.months],
        )
        b.table(sd, by_month.rename_axis("Theme").reset_index())
    return sd


def _detail(b: _Builder, themes: ThemeSummary, learning: Learning | None, month: str) -> Any:
    sd = b.new()
    by_name = themes.table.set_index("Theme") if len(themes.table) else themes.table
    quiet = []
    mentions = ServiceMentions(learning.tagged, month) if learning is not None else None
    for theme in themes.taxonomy:
        row: dict[str, Any] = {str(k): v for k, v in by_name.loc[theme.name].to_dict().items()}
        if not int(row["This month"]):
            quiet.append(theme.name)
            continue
        b.heading(sd, theme.name)
        b.para(sd, theme.description)
        rate = row.get("Related sections good or better")
        rate_text = f"; related sections ({row['Related sections']}) good or better: {pct(rate)}" if rate else ""
        b.para(
            sd,
            f"This month: {_plural(int(row['This month']), 'audit')} ({int(row['Strengths'])} what we do well, "
            f"{int(row['Learning'])} what we must improve, {int(row['Findings'])} in findings); "
            f"{_plural(int(row['12 months']), 'audit')} over 12 months{rate_text}.",
        )
        if learning is not None and mentions is not None:
            _small_picture(sd, theme_chart(theme.name, learning.trend, learning.months))
            services = mentions(theme.name)
            if len(services) > 1:
                b.table(sd, services)
            elif len(services):
                first = services.iloc[0]
                b.para(sd, f"All this month's mentions are in {first['Service']}.")
        if themes.no_quotes:
            continue
        for side, items in themes.sides.get(theme.name, {}).items():
            if items:
                b.para(sd, f"{SIDE_HEADINGS[side]}:")
                _quotes(b, sd, items)
    if quiet:
        b.heading(sd, "Not mentioned this month")
        b.para(sd, "; ".join(quiet) + ".")
    if learning is not None:
        _lived(b, sd, learning.lived, themes.no_quotes)
        b.heading(sd, "Learning into practice")
        b.para(
            sd,
            "Follow-up audits completed in the last 12 months of cases whose earlier audit carried the theme as "
            "learning (learning, recommendations, organisational learning or moderation rationale), and how the final "
            "overall grade moved (guidance section 4: did the learning reach practice?).",
        )
        practice = learning.practice
        b.table(sd, practice[practice["Follow-ups"] > 0] if len(practice) else practice)
    return sd


def _lived(b: _Builder, sd: Any, lived: LivedExperience, no_quotes: bool) -> None:
    b.heading(sd, "The child's lived experience")
    b.para(
        sd,
        "The impact answers: how the work has changed the life of the child or young person (guidance Appendix 1). "
        f"{_plural(lived.audits, 'audit')} this month answered it; {lived.difference} of them ({pct(lived.share)}) "
        "evidence a difference for the child (words such as safer, happier, attends school, more settled, improved: "
        "the [difference] phrases of themes.toml).",
    )
    shown = lived.by_month.assign(Month=lived.by_month["Month"].map(_label))
    b.table(sd, shown.rename(columns={"Audits": "Audits answering", "Difference": "Evidence a difference"}))
    if lived.quotes and not no_quotes:
        _quotes(b, sd, lived.quotes)


def _new_themes(b: _Builder, themes: ThemeSummary, learning: Learning | None) -> Any:
    sd = b.new()
    if learning is not None:
        b.heading(sd, "Possible new themes")
        b.para(
            sd,
            "The phrases said most often this month in text that matched no theme, weighted against the last 12 "
            "months so that everyday wording sinks. Points are this month's sentences holding the phrase. Where one "
            "names something the taxonomy misses, add it to themes.toml.",
        )
        if themes.no_quotes:  # the phrases are auditors' words: left out with the quotations
            b.para(sd, f"{_plural(len(learning.emerging), 'phrase')} found; left out of this document (no quotations).")
        else:
            b.table(sd, learning.emerging, ["Phrase", "Points"])
    untagged = themes.untagged
    b.heading(sd, "Short answers matching no theme")
    b.para(
        sd,
        f"{_plural(len(untagged), 'sentence')} of strengths, learning, recommendations and organisational learning "
        "this month matched no theme. Read them, and add key phrases to the taxonomy (themes.toml) where a theme is "
        "missing.",
    )
    b.listing(
        sd, untagged, ["Case reference", "Field"] if themes.no_quotes else ["Case reference", "Field", "Text"], "first"
    )
    return sd


def write_learning_themes(
    metrics: Metrics,
    themes: ThemeSummary,
    learning: Learning | None,
    *,
    template: Path,
    base: dict[str, Any],
) -> bytes:
    """The document, from the docxtpl template's "themes" part (``base``: the title page's context)."""
    tpl = _load_template(template)
    b = _Builder(tpl)
    context = dict(base)
    context.update(
        kind="themes",
        title="Learning Themes",
        audience="For the Principal Social Worker, so that strengths and learning are built into training "
        "(guidance section 4).",
        summary=[],
        at_a_glance="",
        services_heading="",
    )
    context["themes_overview"] = _overview(b, themes, learning, int(metrics.values["audits_accepted"]))
    context["themes_detail"] = _detail(b, themes, learning, metrics.month)
    sd = b.new()
    org = themes.org_learning
    if themes.no_quotes:
        b.table(sd, org, ["Case reference", "Service", "Themes"])
    else:
        for case_ref, themes_of, text in org[["Case reference", "Themes", "Text"]].itertuples(index=False):
            b.para(sd, f"{case_ref} [{themes_of}]: {text}", style="List Bullet")
        if not len(org):
            b.para(sd, "None this month.")
    context["org_learning"] = sd
    context["untagged"] = _new_themes(b, themes, learning)
    return _render(tpl, context, template)
