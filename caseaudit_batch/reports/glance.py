"""Page one of the Head of Service report (issue 20): the month at a glance, as content, not layout.

Everything here is read from :class:`~caseaudit_batch.reports.metrics.Metrics` (its values and tables); nothing is
counted from the register. The headline rates come with last month and the last 12 months (from the ``trend``
table), the target status where a target exists, and a provisional mark from ``provisional``. Values a newer metrics
layer adds (``provisional``, ``restated_sentences``, ``escalations_waiting``, ``alerts_unacknowledged``,
``actions_overdue_30``, ``targets_status``, the ``escalations_open`` table) are read with ``.get`` so page one still
renders from metrics that lack them. :mod:`caseaudit_batch.reports.word_pageone` lays it out.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from caseaudit_batch.reports.docx_blocks import pct
from caseaudit_batch.reports.metrics import Metrics

SMALL = 5  # a change is not worth a sentence when either month's share is of fewer than this many
CHANGES = 3  # the number of biggest changes said in words
PEOPLE = 4  # escalations waiting: the people named on page one (the rest are in the Moderation section)


@dataclass(frozen=True)
class Spec:
    key: str  # the measure's key in metrics.values
    label: str
    denominator: str  # the key in metrics.values of this month's denominator
    target: str | None = None  # the key in values["targets"]
    at_most: bool = False
    #: this row of the trend table -> (rate, denominator), or None when the trend does not hold it
    trend: Callable[[pd.Series], tuple[float | None, int | None]] | None = None


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _column(rate: str, denominator: str) -> Callable[[pd.Series], tuple[float | None, int | None]]:
    def read(row: pd.Series) -> tuple[float | None, int | None]:
        n = _num(row.get(denominator))
        return _num(row.get(rate)), (None if n is None else int(n))

    return read


def _ri_or_better(row: pd.Series) -> tuple[float | None, int | None]:
    graded = int(_num(row.get("Graded")) or 0)
    if not graded:
        return None, 0
    better = sum(int(_num(row.get(g)) or 0) for g in ("Outstanding", "Good", "Requires Improvement"))
    return better / graded, graded


def _first_of(*pairs: tuple[str, str]) -> Callable[[pd.Series], tuple[float | None, int | None]]:
    """The first (rate, denominator) column pair the trend table has (a newer metrics layer may add them)."""

    def read(row: pd.Series) -> tuple[float | None, int | None]:
        for rate, denominator in pairs:
            if rate in row.index:
                return _column(rate, denominator)(row)
        return None, None

    return read


HEADLINES: tuple[Spec, ...] = (
    Spec("completion_rate", "Compliance (completed on time)", "audits_allocated", "completion",
         trend=_column("Completion rate", "Allocated")),
    Spec("good_or_better_rate", "Good or better", "audits_graded", "good_or_better",
         trend=_column("Good or better", "Graded")),
    Spec("ri_or_better_rate", "Requires improvement or better", "audits_graded", "ri_or_better",
         trend=_ri_or_better),
    Spec("inadequate_rate", "Inadequate", "audits_graded", "inadequate_at_most", at_most=True,
         trend=_column("Inadequate share", "Graded")),
    Spec("action_completion_rate", "Action completion", "actions_due",
         trend=_first_of(("Action completion rate", "Actions due"), ("Action completion", "Actions due"))),
    Spec("moderation_agreement_rate", "Moderation agreement", "moderation_compared", "moderation_agreement",
         trend=_first_of(("Moderation agreement rate", "Moderation compared"),
                         ("Moderation agreement", "Moderated"))),
)  # fmt: skip


@dataclass
class Headline:
    key: str
    label: str
    this_month: float | None
    this_n: int
    last_month: float | None
    last_n: int | None
    shown: str  # this month as shown ("72%", "none due yet", "n/a")
    last_shown: str
    series: list[tuple[str, float | None]]  # (month, rate) from the first month with data
    target: str  # "at least 80%", "RAG", ""
    status: str  # "Met", "Not met", "Green", "" ...
    provisional: bool
    direction: str  # "up 5 points since Oct 2025", "no earlier month"

    @property
    def change(self) -> float | None:
        """Percentage points since last month, or None when either month has no rate."""
        if self.this_month is None or self.last_month is None:
            return None
        return (self.this_month - self.last_month) * 100


@dataclass
class Glance:
    headlines: list[Headline]
    changes: list[str]
    needs_now: list[str]
    restated: list[str] = field(default_factory=list)
    first_month: str | None = None  # the first month with data in the 12 months


def trend_from_first_data(trend: pd.DataFrame) -> pd.DataFrame:
    """The trend from the first month with data (a first-month report shows one month, not eleven blank ones)."""
    if not len(trend) or "Allocated" not in trend:
        return trend
    has = [bool((_num(a) or 0) > 0) for a in trend["Allocated"]]
    first = has.index(True) if True in has else len(trend) - 1
    return trend.iloc[first:].reset_index(drop=True)


def _points(value: float) -> str:
    n = round(abs(value))
    return f"{n} point{'' if n == 1 else 's'}"


def _status(spec: Spec, v: dict[str, Any], value: float | None) -> tuple[str, str]:
    if spec.key == "action_completion_rate":  # keeps its RAG thresholds
        return "RAG", (v.get("action_rag") or "") if value is not None else ""
    if spec.target is None:
        return "", ""
    goal = v.get("targets", {}).get(spec.target)
    if goal is None:
        return "", ""
    target = f"{'at most' if spec.at_most else 'at least'} {pct(goal)}"
    given = v.get("targets_status") or {}
    if spec.key in given or spec.target in given:
        said = given.get(spec.key, given.get(spec.target))
        return target, ("" if said is None else str(said).capitalize())
    if value is None:
        return target, ""
    return target, "Met" if (value <= goal if spec.at_most else value >= goal) else "Not met"


def _agreement_by_month(metrics: Metrics, trend: pd.DataFrame) -> list[tuple[str, float | None, int | None]]:
    """Moderation agreement by month from the audit frame (moderated audits whose moderator's overall grade equals
    the auditor's), for a trend table that does not carry it."""
    af = metrics.frame
    if not len(af) or not {"month", "moderated", "a_overall", "m_overall"} <= set(af.columns):
        return []
    if "Month" not in trend:
        return []
    # Counted in one pass over the moderated audits (issue 25: a filter of the whole frame for each of the twelve
    # months, on every report and service pack, was a fiftieth of the reports' time).
    rows = af[af["moderated"].astype(bool) & af["a_overall"].notna() & af["m_overall"].notna()]
    compared: dict[Any, int] = {}
    agreed: dict[Any, int] = {}
    for month, auditor, moderator in zip(rows["month"], rows["a_overall"], rows["m_overall"], strict=True):
        compared[month] = compared.get(month, 0) + 1
        agreed[month] = agreed.get(month, 0) + bool(auditor == moderator)
    out: list[tuple[str, float | None, int | None]] = []
    for month in trend["Month"].astype(str):
        n = compared.get(month, 0)
        out.append((month, agreed[month] / n if n else None, n))
    return out


def headlines(metrics: Metrics) -> list[Headline]:
    v = metrics.values
    trend = trend_from_first_data(metrics.tables.get("trend", pd.DataFrame()))
    provisional = set(v.get("provisional") or [])
    rows = []
    for spec in HEADLINES:
        value = _num(v.get(spec.key))
        n = int(v.get(spec.denominator) or 0)
        points: list[tuple[str, float | None, int | None]] = []
        if spec.trend is not None and len(trend):
            points = [(str(row.get("Month")), *spec.trend(row)) for _, row in trend.iterrows()]
        if spec.key == "moderation_agreement_rate" and not any(r is not None for _, r, _ in points):
            points = _agreement_by_month(metrics, trend)
        points = [p for p in points if p[0] <= metrics.month]
        last: float | None = None
        last_n: int | None = None
        earlier = [p for p in points if p[0] < metrics.month]
        if earlier and earlier[-1][0] == str(pd.Period(metrics.month, "M") - 1):
            _, last, last_n = earlier[-1]
        series: list[tuple[str, float | None]] = [(m, r) for m, r, _ in earlier] + [(metrics.month, value)]
        nothing_due = spec.key == "action_completion_rate" and value is None and not n
        shown = "none due yet" if nothing_due else pct(value)  # never 0% (Red) when nothing fell due
        known = [(m, r) for m, r in series if r is not None]
        if len(known) >= 2:
            moved = (known[-1][1] - known[0][1]) * 100
            when = pd.Period(known[0][0], "M").strftime("%b %Y")
            direction = ("level" if round(moved) == 0 else f"{'up' if moved > 0 else 'down'} {_points(moved)}") + (
                f" since {when}"
            )
        else:
            direction = "no earlier month"
        target, status = _status(spec, v, value)
        rows.append(
            Headline(
                key=spec.key,
                label=spec.label,
                this_month=value,
                this_n=n,
                last_month=last,
                last_n=last_n,
                shown=shown,
                last_shown=pct(last),
                series=series,
                target=target,
                status=status,
                provisional=spec.key in provisional,
                direction=direction,
            )
        )
    return rows


def biggest_changes(rows: list[Headline], count: int = CHANGES) -> list[str]:
    """The largest absolute changes in percentage points since last month, in words, leaving out a rate whose
    denominator (this month's or last month's) is under 5, or not known."""
    eligible = [
        h for h in rows if h.change is not None and h.this_n >= SMALL and h.last_n is not None and h.last_n >= SMALL
    ]
    eligible = [h for h in eligible if round(abs(h.change or 0)) > 0]
    eligible.sort(key=lambda h: (-abs(h.change or 0), h.label))
    out = []
    for h in eligible[:count]:
        change = h.change or 0
        out.append(
            f"{h.label} {'rose' if change > 0 else 'fell'} {_points(change)}, from {pct(h.last_month)} last month "
            f"to {pct(h.this_month)}{' (provisional)' if h.provisional else ''}."
        )
    if not out:
        out.append("No headline rate of 5 or more audits or actions changed since last month.")
    return out


def _escalation_lines(metrics: Metrics) -> list[str]:
    """Per person waited on, "N waiting on NAME, the oldest D days", the longest waits first."""
    lines = _escalation_lines_by_name(metrics)
    return sorted(lines, key=lambda line: -int(line.rsplit(" ", 2)[-2]) if line.endswith(" days") else 0)


def _escalation_lines_by_name(metrics: Metrics) -> list[str]:
    """Page one's words on escalations (document text, not a command's output): how many wait on each person."""
    table = metrics.tables.get("escalations_open")
    if table is not None and len(table) and "Waiting on" in table:
        waits = []
        ages = table.get("Age (days)", pd.Series([None] * len(table), index=table.index))
        grouped = table.assign(_age=pd.to_numeric(ages, errors="coerce")).groupby("Waiting on", sort=True)
        for who, group in grouped:
            oldest = group["_age"].max()
            age = "" if pd.isna(oldest) else f", the oldest {int(oldest)} days"
            waits.append(f"{len(group)} waiting on {who}{age}")
        return waits
    table = metrics.tables.get("escalations")
    if table is not None and len(table) and {"Status", "Referred to"} <= set(table.columns):
        open_ = table[table["Status"] == "Open"]
        raised = pd.to_datetime(open_.get("Raised", pd.Series(dtype=object)), errors="coerce")
        ages = (pd.Timestamp(metrics.report_date) - raised).dt.days
        waits = []
        for who, group in open_.assign(_age=ages).groupby("Referred to", sort=True):
            oldest = group["_age"].max()
            waits.append(
                f"{len(group)} waiting on {who}" + ("" if pd.isna(oldest) else f", the oldest {int(oldest)} days")
            )
        if waits:
            return waits
    waiting = metrics.values.get("escalations_waiting") or {}
    waits = []
    for who, info in sorted(waiting.items()):
        oldest = info.get("oldest_days")
        age = "" if oldest is None else f", the oldest {int(oldest)} days"
        waits.append(f"{int(info.get('count') or 0)} waiting on {who}{age}")
    return waits


def needs_now(metrics: Metrics) -> list[str]:
    """What needs the Head of Service now, each item in one line."""
    v = metrics.values
    out = []
    inadequate = int((v.get("overall_grade_counts") or {}).get("Inadequate", 0))
    refs = ""
    concern = metrics.tables.get("cases_of_concern")
    if concern is not None and len(concern) and "Overall grade" in concern and "Case reference" in concern:
        cases = concern.loc[concern["Overall grade"] == "Inadequate", "Case reference"].astype(str).tolist()
        if cases:
            refs = " (" + ", ".join(cases[:8]) + (" and more" if len(cases) > 8 else "") + ")"
    out.append(f"Inadequate audits this month: {inadequate}{refs}.")
    unack = v.get("alerts_unacknowledged")
    if unack is None:
        out.append(f"Safeguarding alerts raised this month: {int(v.get('safeguarding_alerts') or 0)}.")
    else:
        count = len(unack) if isinstance(unack, (list, dict)) else int(unack)
        waiting = metrics.tables.get("alerts_waiting")
        refs = ""
        if count and waiting is not None and "Case reference" in waiting and len(waiting):
            cases = waiting["Case reference"].astype(str).tolist()
            refs = " (" + ", ".join(cases[:8]) + (" and more" if len(cases) > 8 else "") + ")"
        out.append(f"Safeguarding alerts not yet acknowledged: {count}{refs}.")
    lines = _escalation_lines(metrics)
    if lines:
        total = sum(int(line.split()[0]) for line in lines)
        shown = "; ".join(lines[:PEOPLE]) + (f"; and {len(lines) - PEOPLE} more people" if len(lines) > PEOPLE else "")
        out.append(f"Escalations waiting: {total} ({shown}).")
    else:
        out.append("Escalations waiting: none.")
    over30 = v.get("actions_overdue_30")
    if over30 is None:
        table = metrics.tables.get("actions_overdue")
        if table is not None and "Days overdue" in table:
            over30 = int((pd.to_numeric(table["Days overdue"], errors="coerce") > 30).sum())
    out.append(f"Actions overdue by more than 30 days: {int(over30 or 0)}.")
    return out


def glance(metrics: Metrics) -> Glance:
    rows = headlines(metrics)
    trend = trend_from_first_data(metrics.tables.get("trend", pd.DataFrame()))
    first = str(trend["Month"].iloc[0]) if len(trend) and "Month" in trend else None
    return Glance(
        headlines=rows,
        changes=biggest_changes(rows),
        needs_now=needs_now(metrics),
        restated=[str(s) for s in metrics.values.get("restated_sentences") or []],
        first_month=first,
    )
