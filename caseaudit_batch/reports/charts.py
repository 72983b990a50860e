"""Charts for the Word reports (matplotlib, headless). Each chart carries its alt text and the same numbers as a
table, so a reader who cannot see the picture loses nothing (UK public-sector accessibility)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: no display on a batch machine

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from caseaudit_batch.core.clock import Month
from caseaudit_batch.core.framework import GRADE_NAMES
from caseaudit_batch.reports.frame import _small_note

# Colour-blind-safe, distinguishable in greyscale; the order follows the grades.
GRADE_COLOURS = {
    "Outstanding": "#1b7837",
    "Good": "#7fbf7b",
    "Requires Improvement": "#f1a340",
    "Inadequate": "#b2182b",
}
matplotlib.rcParams.update({"font.family": "DejaVu Sans", "font.size": 10, "svg.fonttype": "none"})


@dataclass(frozen=True)
class Chart:
    title: str
    alt: str
    png: bytes
    table: pd.DataFrame  # the same numbers, shown beside the chart


def _figure(width: float, height: float) -> tuple[Figure, Any]:
    """A figure outside pyplot: nothing registered to close afterwards, and a little quicker to make (the service
    packs draw about twenty charts a month)."""
    fig = Figure(figsize=(width, height))
    return fig, fig.subplots()


#: One figure and axes for each kind of chart, kept for the process's life (see :func:`_canvas`).
_CANVASES: dict[str, tuple[Figure, Any]] = {}


def _canvas(kind: str, width: float, height: float) -> tuple[Figure, Any]:
    """The figure and axes for a chart of ``kind``, emptied of the last chart of that kind.

    Reused (issue 25): making an axes' ticks, spines and labels, and laying their text out, was a third of each
    chart's time, and a month's reports draw each kind once a document, about thirty times. Every chart of a kind
    makes the same calls in the same order, so what one leaves set (limits, locators, rotated tick labels, hidden
    spines) the next sets again; what it added (bars, lines, points, labels, the legend) goes here. Categories are
    drawn at numeric positions with their tick labels set, never as category units, which an axes would remember
    from one chart to the next."""
    made = _CANVASES.get(kind)
    if made is None:
        made = _CANVASES[kind] = _figure(width, height)
        return made
    fig, ax = made
    for artist in [*ax.lines, *ax.patches, *ax.collections, *ax.texts, *ax.images]:
        artist.remove()
    ax.containers.clear()
    if ax.legend_ is not None:
        ax.legend_.remove()
    ax.relim()  # the data limits of nothing: the next chart's artists set them afresh
    ax.set_prop_cycle(None)
    return fig, ax


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    # Fixed margins: no extra layout or "tight" drawing pass. Charts are flat colour, so the fastest zlib level
    # costs little in size and about 5 ms less a chart.
    fig.savefig(buffer, format="png", dpi=100, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


def _pct(value: float | None) -> str:
    return "no audits" if value is None or pd.isna(value) else f"{value:.0%}"


def grade_chart(counts: dict[str, int], title: str) -> Chart:
    """Final overall grades as horizontal bars with their counts."""
    fig, ax = _canvas("grades", 6.2, 2.4)
    fig.subplots_adjust(left=0.28, right=0.95, top=0.95, bottom=0.2)
    names = list(GRADE_NAMES)[::-1]
    values = [counts.get(g, 0) for g in names]
    rows = list(range(len(names)))
    bars = ax.barh(rows, values, color=[GRADE_COLOURS[g] for g in names])
    ax.set_yticks(rows, names)
    ax.bar_label(bars, labels=[str(v) for v in values], padding=3)
    ax.set_xlabel("Audits")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_xlim(0, max([*values, 1]) * 1.15)
    total = sum(values)
    parts = ", ".join(f"{g} {counts.get(g, 0)}" for g in GRADE_NAMES)
    alt = f"Bar chart of final overall grades of {total} audits: {parts}."
    table = pd.DataFrame(
        {
            "Grade": list(GRADE_NAMES),
            "Audits": [counts.get(g, 0) for g in GRADE_NAMES],
            "Share": [(counts.get(g, 0) / total) if total else None for g in GRADE_NAMES],
            "Note": _small_note(total),  # small numbers marked, as in every table
        }
    )
    return Chart(title, alt, _png(fig), table)


def trend_chart(trend: pd.DataFrame, title: str, target: float | None = None) -> Chart:
    """Completion rate and % good or better over the window, with the target line."""
    fig, ax = _canvas("trend", 6.2, 2.8)
    fig.subplots_adjust(left=0.11, right=0.98, top=0.95, bottom=0.22)
    labels = [Month.parse(m).first_day.strftime("%b %y") for m in trend["Month"]]
    x = list(range(len(labels)))  # numeric positions: months with no audits keep their place on the axis
    completion = trend["Completion rate"].astype(float) * 100
    good = trend["Good or better"].astype(float) * 100
    ax.plot(x, completion, marker="o", color="#2166ac", label="Completed on time")
    ax.plot(x, good, marker="s", linestyle="--", color="#1b7837", label="Good or better")
    ax.set_xticks(x, labels)
    ax.set_xlim(-0.5, len(x) - 0.5)
    if target is not None:
        ax.axhline(target * 100, color="#666666", linewidth=1, linestyle=":", label=f"Target {target:.0%}")
    ax.set_ylim(0, 105)
    ax.set_ylabel("% of audits")
    ax.tick_params(axis="x", labelrotation=45)
    ax.legend(loc="lower left", fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    points = "; ".join(
        f"{m}: completed on time {_pct(c)}, good or better {_pct(g)}"
        for m, c, g in zip(trend["Month"], trend["Completion rate"], trend["Good or better"], strict=True)
    )
    alt = f"Line chart over {len(trend)} months. {points}."
    marked = ["Note"] if "Note" in trend else []  # small numbers marked, as in every table
    table = trend[["Month", "Allocated", "Completion rate", "Graded", "Good or better", *marked]].copy()
    return Chart(title, alt, _png(fig), table)


def sections_chart(sections: pd.DataFrame, title: str) -> Chart:
    """Each section's final grades as stacked horizontal bars (shares of graded audits)."""
    fig, ax = _canvas("sections", 6.2, 3.4)
    fig.subplots_adjust(left=0.36, right=0.97, top=0.97, bottom=0.22)
    labels = [f"{int(s[1:])}. {t}" for s, t in zip(sections["Section"], sections["Title"], strict=True)][::-1]
    rows = list(range(len(labels)))
    left = [0.0] * len(labels)
    graded = sections["Graded"].tolist()[::-1]
    for grade in GRADE_NAMES:
        counts = sections[grade].tolist()[::-1]
        shares = [c / n * 100 if n else 0 for c, n in zip(counts, graded, strict=True)]
        ax.barh(rows, shares, left=left, color=GRADE_COLOURS[grade], label=grade)
        left = [a + b for a, b in zip(left, shares, strict=True)]
    ax.set_yticks(rows, labels)
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of graded audits")
    ax.legend(loc="upper center", bbox_to_anchor=(0.35, -0.16), ncol=4, fontsize=8, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    parts = "; ".join(
        f"section {int(s[1:])} {_pct(g)} good or better"
        for s, g in zip(sections["Section"], sections["Good or better"], strict=True)
    )
    alt = f"Stacked bar chart of final section grades. {parts}."
    marked = ["Note"] if "Note" in sections else []  # small numbers marked, as in every table
    table = sections[[*GRADE_NAMES, "Good or better", *marked]].copy()
    table.insert(
        0, "Section", [f"{int(s[1:])}. {t}" for s, t in zip(sections["Section"], sections["Title"], strict=True)]
    )
    return Chart(title, alt, _png(fig), table)


def sparkline(label: str, series: list[tuple[str, float | None]], direction: str) -> Chart:
    """A small line of a headline rate over the months (page one), the latest month marked; the alt text gives
    every month's value."""
    fig = Figure(figsize=(1.5, 0.4))
    x = list(range(len(series)))
    y = [float("nan") if r is None else r * 100 for _, r in series]
    x_low, x_high = -0.3, max(len(series) - 0.7, 0.3)
    known = [value for value in y if value == value]
    low, high = (min(known), max(known)) if known else (0.0, 100.0)
    middle, half = (low + high) / 2, max((high - low) / 2, 10.0)  # the data's range, at least 20 points tall
    y_low, y_high = middle - half * 1.15, middle + half * 1.15
    # Drawn straight onto the figure in the box an axes would have had: a sparkline shows no axes, and making one
    # (its spines, ticks and labels, then hidden) was two thirds of each sparkline's time (issue 25).
    box = (0.03, 0.12, 0.94, 0.76)

    def at(values: Sequence[float], start: float, width: float, lower: float, upper: float) -> list[float]:
        return [start + width * (v - lower) / (upper - lower) for v in values]

    def line(xs: Sequence[float], ys: Sequence[float], **style: Any) -> None:
        fig.add_artist(
            Line2D(
                at(xs, box[0], box[2], x_low, x_high),
                at(ys, box[1], box[3], y_low, y_high),
                transform=fig.transFigure,
                **style,
            )
        )

    line(x, y, color="#2166ac", linewidth=1.4, marker="o" if len(series) < 3 else "None", markersize=2.5)
    if y and y[-1] == y[-1]:
        line([x[-1]], [y[-1]], marker="o", markersize=3.5, color="#1f4e79")
    points = ", ".join(f"{Month.parse(m).first_day:%b %Y} {_pct(r)}" for m, r in series)
    alt = f"Sparkline of {label.lower()} by month: {points}. {direction.capitalize()}."
    table = pd.DataFrame({"Month": [m for m, _ in series], label: [r for _, r in series]})
    return Chart(f"{label}, by month", alt, _png(fig), table)


def is_outside(value: Any) -> bool:
    """A funnel table's "Outside" cell says the team is outside the limits ("Above", "Below", "Yes", True)."""
    if value is None or (isinstance(value, float) and value != value):
        return False
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() not in ("", "no", "false", "none", "nan", "within", "inside")


def funnel_chart(funnel: pd.DataFrame, authority_rate: float | None, title: str) -> Chart:
    """Teams' good-or-better rates against the number of audits graded, with the authority's rate and the 95% and
    99.8% control limits (a funnel plot: no ranking of teams)."""
    fig, ax = _canvas("funnel", 6.2, 3.4)
    fig.subplots_adjust(left=0.11, right=0.97, top=0.95, bottom=0.16)
    f = funnel.sort_values("Audits graded")
    n = f["Audits graded"].astype(float)
    for low, high, style, name in (
        ("Lower 95%", "Upper 95%", "--", "95% limits"),
        ("Lower 99.8%", "Upper 99.8%", ":", "99.8% limits"),
    ):
        if low in f and high in f:
            ax.plot(n, f[low].astype(float) * 100, linestyle=style, color="#666666", linewidth=1, label=name)
            ax.plot(n, f[high].astype(float) * 100, linestyle=style, color="#666666", linewidth=1)
    if authority_rate is not None:
        ax.axhline(authority_rate * 100, color="#1f4e79", linewidth=1, label=f"Authority {authority_rate:.0%}")
    outside = f["Outside"].map(is_outside).astype(bool) if "Outside" in f else pd.Series(False, index=f.index)
    ax.scatter(n[~outside], f.loc[~outside, "Rate"].astype(float) * 100, color="#2166ac", s=18, label="Team")
    ax.scatter(n[outside], f.loc[outside, "Rate"].astype(float) * 100, color="#b2182b", marker="D", s=24,
               label="Team outside the limits")  # fmt: skip
    ax.set_ylim(-3, 105)
    ax.set_xlabel("Audits graded (team)")
    ax.set_ylabel("% good or better")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="lower right", fontsize=7, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    named = [f"{t} ({_pct(r)} of {int(g)})" for t, r, g, o in
             zip(f["Team"], f["Rate"], f["Audits graded"], outside, strict=True) if o]  # fmt: skip
    alt = (
        f"Funnel plot of {len(f)} teams' good-or-better rates against their number of graded audits, with the "
        f"authority's rate {_pct(authority_rate)} and 95% and 99.8% limits. "
        + (f"Outside the limits: {'; '.join(named)}." if named else "No team is outside the limits.")
    )
    cols = [c for c in ("Service", "Team", "Audits graded", "Good or better", "Rate", "Outside") if c in f]
    return Chart(title, alt, _png(fig), funnel[cols].copy())
