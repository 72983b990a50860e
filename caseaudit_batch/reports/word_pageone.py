"""The Head of Service report's page one (the month at a glance, from :mod:`caseaudit_batch.reports.glance`) and the
sections issue 20 added after it: overdue actions by service, open escalations, cases of concern, coverage, the
section × team heatmap and the funnel plot of team rates. Laid out with :mod:`caseaudit_batch.reports.docx_blocks`;
nothing is counted here. Tables a newer metrics layer adds are read only when present (``tables.get``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from caseaudit_batch.reports import charts
from caseaudit_batch.reports.docx_blocks import LIST_LIMIT, _Builder, pct
from caseaudit_batch.reports.glance import glance
from caseaudit_batch.reports.metrics import Metrics

COVERAGE_NOTE = "The register keeps only the latest caseload, so coverage is not restated for past months."
SPARK_CM = 2.6


def page_one(b: _Builder, metrics: Metrics) -> Any:
    """One page: the headline rates with last month, the 12-month direction and the target; what changed most;
    what needs the Head of Service now; restated history."""
    g = glance(metrics)
    sd = b.new()
    b.heading(sd, "The month at a glance", 1)
    rows = pd.DataFrame(
        {
            "Measure": [h.label + (" (provisional)" if h.provisional else "") for h in g.headlines],
            "This month": [h.shown for h in g.headlines],
            "Last month": [h.last_shown for h in g.headlines],
            "12 months": [h.direction for h in g.headlines],
            "Target": [h.target for h in g.headlines],
            "Status": [h.status for h in g.headlines],
        }
    )
    tbl = b.table(sd, rows)
    for index, h in enumerate(g.headlines, start=1):
        b.picture_in_cell(sd, tbl, index, 3, charts.sparkline(h.label, h.series, h.direction), SPARK_CM)
    notes = []
    if any(h.provisional for h in g.headlines):
        notes.append("Provisional: can still change as late forms, moderations and actions come in.")
    if g.first_month and len(g.headlines[0].series) < 12:
        notes.append(f"The 12 months start at {pd.Period(g.first_month, 'M'):%B %Y}, the first month with data.")
    if notes:
        b.para(sd, " ".join(notes))
    b.heading(sd, "What changed most since last month")
    for line in g.changes:
        b.para(sd, line, "List Bullet")
    b.heading(sd, "What needs you now")
    for line in g.needs_now:
        b.para(sd, line, "List Bullet")
    if g.restated:
        b.heading(sd, "Figures restated since first reported")
        for line in g.restated:
            b.para(sd, line, "List Bullet")
    return sd


def overdue_actions(b: _Builder, sd: Any, metrics: Metrics) -> None:
    """Overdue actions with their text and owner, grouped by service, most overdue first (issue 20)."""
    table = metrics.tables.get("actions_overdue", pd.DataFrame())
    b.heading(sd, "Overdue actions")
    if not len(table):
        b.para(sd, "No actions are overdue.")
        return
    table = table.assign(_days=pd.to_numeric(table["Days overdue"], errors="coerce"))
    wanted = [c for c in ("Action", "Owner", "Case reference", "Team", "Due date", "Days overdue") if c in table]
    if "Action" not in table:
        wanted.insert(0, "Action ID")
    services = table["Service"] if "Service" in table else pd.Series("", index=table.index)
    if len(table) > LIST_LIMIT:
        b.para(sd, f"The {LIST_LIMIT} most overdue in each service are shown; the Excel report lists all {len(table)}.")
    for service in sorted({str(s) for s in services}):
        group = table[services.astype(str) == service].sort_values("_days", ascending=False)
        if service:
            b.heading(sd, f"{service} ({len(group)})", 3)
        b.table(sd, group, wanted, LIST_LIMIT)


def escalations(b: _Builder, sd: Any, metrics: Metrics) -> None:
    """Only the open escalations, oldest first, with their age and who they wait on; a count resolved this month."""
    v = metrics.values
    resolved = v.get("escalations_resolved_in_month", v.get("escalations_resolved", 0))
    b.heading(sd, "Escalations")
    table = metrics.tables.get("escalations_open")
    if table is None:
        table = metrics.tables.get("escalations", pd.DataFrame())
        if "Status" in table:
            table = table[table["Status"] == "Open"].rename(columns={"Referred to": "Waiting on"})
    if "Age (days)" in table:
        table = table.sort_values("Age (days)", ascending=False)
    # Issue 22: each is due a number of working days after it is raised; say how many are past it and how many
    # were settled in time (document text, not a command's output).
    timing = ""
    if "escalations_overdue" in v:
        in_time = v.get("escalations_resolved_in_time_rate")
        share = "none due yet" if in_time is None else f"{in_time:.0%}"
        timing = f" {int(v['escalations_overdue'])} past their due date; resolved in time: {share}."
    b.para(
        sd,
        f"{len(table)} open, oldest first; {int(resolved or 0)} resolved this month.{timing} The Excel report lists "
        "every escalation.",
    )
    columns = [c for c in ("Escalation ID", "Case reference", "Kind", "Waiting on", "Age (days)", "Due") if c in table]
    if len(table):
        b.table(sd, table, columns)


def cases_of_concern(b: _Builder, metrics: Metrics) -> Any:
    """Inadequate and Requires Improvement cases this month, with their actions' status and any safeguarding alert."""
    sd = b.new()
    table = metrics.tables.get("cases_of_concern")
    if table is None:
        b.para(sd, "This report's figures do not list the cases of concern; see the Excel report.")
        return sd
    counts = metrics.values.get("overall_grade_counts") or {}
    b.para(
        sd,
        f"Final grades this month: {counts.get('Inadequate', 0)} Inadequate and "
        f"{counts.get('Requires Improvement', 0)} Requires Improvement, with each case's actions and any safeguarding "
        "alert.",
    )
    columns = [
        c
        for c in ("Audit reference", "Case reference", "Team", "Overall grade", "Actions", "Safeguarding alert")
        if c in table
    ]
    if len(table):
        b.listing(sd, table, columns, "first")
    return sd


def coverage(b: _Builder, metrics: Metrics) -> Any:
    sd = b.new()
    table = metrics.tables.get("coverage")
    rate = metrics.values.get("coverage_rate")
    if table is None:
        b.para(sd, "Coverage is not in this report's figures.")
        return sd
    b.para(
        sd,
        f"Open cases audited in the last 12 months, by service and case type (overall {pct(rate)}). {COVERAGE_NOTE}",
    )
    b.table(sd, table)
    return sd


def _heat(text: str) -> str | None:
    """A cell's colour by its good-or-better share ("82% (6)"): colour-blind safe, dark text stays readable."""
    try:
        value = float(str(text).split("%")[0]) / 100
    except ValueError:
        return None
    for bound, colour in ((0.8, "A6D96A"), (0.6, "D9EF8B"), (0.4, "FEE08B"), (0.2, "FDAE61")):
        if value >= bound:
            return colour
    return "F46D43"


def _is_count(column: Any) -> bool:
    name = str(column).strip().lower()
    return name == "n" or name.startswith("n ") or name.endswith(" n") or "graded" in name or "audits" in name


def heatmap_cells(table: pd.DataFrame) -> pd.DataFrame:
    """The section × team table as shown: each cell "82% (6)", the share good or better and the audits behind it,
    the sections as S1 to S9 in the order of the table's share columns."""
    keys = [c for c in ("Service", "Team") if c in table]
    shares = [c for c in table.columns if c not in keys and not _is_count(c)]
    counts = [c for c in table.columns if c not in keys and _is_count(c)]
    shown = table[keys].copy()
    for index, column in enumerate(shares):
        count = table[counts[index]] if index < len(counts) else pd.Series([None] * len(table), index=table.index)
        shown[f"S{index + 1}"] = [
            ""
            if share is None or share != share
            else f"{float(share):.0%}" + ("" if n is None or n != n else f" ({int(n)})")
            for share, n in zip(table[column], count, strict=True)
        ]
    return shown


def heatmap(b: _Builder, sd: Any, metrics: Metrics) -> None:
    """Sections × teams, good or better: a table with the numbers in the cells and colour behind them."""
    table = metrics.tables.get("section_team_gob")
    if table is None or not len(table):
        return
    b.heading(sd, "Good or better by section and team")
    b.para(
        sd,
        "Each cell is the share of a team's audits graded good or better in that section (S1 to S9: the audit "
        "form's sections), with the number of audits in brackets; the colour follows the share.",
    )
    b.table(
        sd, heatmap_cells(table), fill=lambda column, value: None if column in ("Service", "Team") else _heat(value)
    )
    b.para(sd, "Colour key: green 80% or more, light green 60-79%, yellow 40-59%, orange 20-39%, red under 20%.")


def funnel(b: _Builder, sd: Any, metrics: Metrics, whose: str = "the authority") -> None:
    """The funnel plot of teams' good-or-better rates against the authority's (a pack's: the service's) rate, instead
    of ranking teams; internal only (the committee version has no team rows)."""
    table = metrics.tables.get("team_funnel")
    if table is None or not len(table) or not {"Team", "Rate", "Audits graded"} <= set(table.columns):
        return
    chart = charts.funnel_chart(
        table, metrics.values.get("good_or_better_rate"), f"Team good-or-better rates against {whose}"
    )
    b.chart(sd, chart)
    outside = table[table["Outside"].map(charts.is_outside)] if "Outside" in table else table.iloc[0:0]
    if len(outside):
        named = "; ".join(
            f"{r['Team']} ({pct(r['Rate'])} of {int(r['Audits graded'])}, {str(r['Outside']).lower()})"
            for _, r in outside.iterrows()
        )
        b.para(sd, f"Outside the limits: {named}. Worth a look: more than chance alone would explain.")
    else:
        b.para(sd, "No team is outside the limits: the differences between teams are within what chance explains.")
