"""Charts for the Word reports (matplotlib, headless). Each chart carries its alt text and the same numbers as a
table, so a reader who cannot see the picture loses nothing (UK public-sector accessibility)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: no display on a batch machine

import pandas as pd
from matplotlib.figure import Figure
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
    fig, ax = _figure(6.2, 2.4)
    fig.subplots_adjust(left=0.28, right=0.95, top=0.95, bottom=0.2)
    names = list(GRADE_NAMES)[::-1]
    values = [counts.get(g, 0) for g in names]
    bars = ax.barh(names, values, color=[GRADE_COLOURS[g] for g in names])
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
    fig, ax = _figure(6.2, 2.8)
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
    fig, ax = _figure(6.2, 3.4)
    fig.subplots_adjust(left=0.36, right=0.97, top=0.97, bottom=0.22)
    labels = [f"{int(s[1:])}. {t}" for s, t in zip(sections["Section"], sections["Title"], strict=True)][::-1]
    left = [0.0] * len(labels)
    graded = sections["Graded"].tolist()[::-1]
    for grade in GRADE_NAMES:
        counts = sections[grade].tolist()[::-1]
        shares = [c / n * 100 if n else 0 for c, n in zip(counts, graded, strict=True)]
        ax.barh(labels, shares, left=left, color=GRADE_COLOURS[grade], label=grade)
        left = [a + b for a, b in zip(left, shares, strict=True)]
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
