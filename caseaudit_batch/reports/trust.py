"""Issue 20, "figures can be trusted": which figures can still change (``provisional``), which earlier months' figures
have changed since they were first reported (``restated``), targets met, coverage of the caseload, the
three-way meeting measure, escalations waiting, cases of concern, the funnel and heatmap data, and the alerts waiting
for QA. Pure pandas over :class:`~caseaudit_batch.reports.data.RegisterData` and the audit frame, no I/O;
:func:`caseaudit_batch.reports.metrics.compute_metrics` puts them into the month's figures.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd

from caseaudit_batch.actions import measures as am
from caseaudit_batch.core.clock import Month, working_days_after
from caseaudit_batch.moderation import measures as mm
from caseaudit_batch.reports.data import SECTION_KEYS, RegisterData
from caseaudit_batch.reports.frame import UNKNOWN, _as_date, _blank, funnel_limits, rate
from caseaudit_batch.reports.tables import _moderation_tables
from caseaudit_batch.reports.targets import Targets

GOOD_OR_BETTER = ("Outstanding", "Good")

#: The headline rates each month's first report keeps (register ``report_snapshots``) and later reports restate.
HEADLINE_KEYS = ("completion_rate", "good_or_better_rate", "moderation_agreement_rate", "action_completion_rate")
#: How a restatement sentence names each headline, and why it changed since (issue 20).
HEADLINE_WORDS = {
    "completion_rate": ("audit completion", "after later audit returns"),
    "good_or_better_rate": ("good or better share", "after moderation"),
    "moderation_agreement_rate": ("moderation agreement", "after later moderation returns"),
    "action_completion_rate": ("action completion", "after late tracker returns"),
}

#: Action measures: final only once a full tracker cycle after the month's end has passed (issue 20).
PROVISIONAL_ACTION_KEYS = (*am.SUMMARY_KEYS, "actions_overdue_30")
#: Moderation measures, and the final grades moderation can change: final once every moderation form is due.
PROVISIONAL_MODERATION_KEYS = (
    "audits_moderated",
    "audits_moderated_rate",
    "moderation_compared",
    "moderation_agreement_rate",
    "grades_raised",
    "grades_lowered",
    "section_grades_compared",
    "section_agreement_rate",
    "section_kappa",
    "moderations_on_time",
    "overall_grade_counts",
    "good_or_better_rate",
    "good_or_better_ci_low",
    "good_or_better_ci_high",
    "ri_or_better_rate",
    "inadequate_rate",
    "section_grade_counts",
)

MET, NOT_MET = "met", "not met"

#: The funnel plot's control limits: 95% and 99.8% (two-sided z).
Z95, Z998 = 1.96, 3.09


# ------------------------------------------------------------------------------------------------------------
# Provisional and restated figures
# ------------------------------------------------------------------------------------------------------------
def provisional(data: RegisterData, report_date: date, tracker_cycle_days: int) -> list[str]:
    """The keys whose value can still change (issue 20). Audit completion is final at D (late audits are late
    whenever they come). Action measures wait a full tracker cycle after the month's end for late returns;
    moderation measures (and the final grades) wait until every sampled audit's moderation form is due, and are
    provisional while no sample has been drawn."""
    keys: list[str] = []
    if report_date < data.month.last_day + timedelta(days=tracker_cycle_days):
        keys.extend(PROVISIONAL_ACTION_KEYS)
    due = [d for d in _as_date(data.moderation_sample["due_date"]) if d is not None]
    if not due or max(due) > report_date:
        keys.extend(PROVISIONAL_MODERATION_KEYS)
    return sorted(set(keys))


def _moderation_agreement(acc: pd.DataFrame) -> float | None:
    """A month's moderation agreement from the audit frame, by the one rule in :mod:`moderation_measures`."""
    mod = acc[acc["moderated"]]
    audits, moderations, _ = _moderation_tables(acc, mod)
    pairs = mm.compared(mm.moderated_pairs(audits, moderations))
    agreed = int(pairs["agreed"].sum()) if len(pairs) else 0
    return rate(agreed, len(pairs))


class MonthActions:
    """Each month's action measures at D, computed once (restated history and the trend both ask for them), from the
    actions' dates parsed once for every month (:class:`~caseaudit_batch.actions.measures.ActionFlags`)."""

    def __init__(self, actions: pd.DataFrame, report_date: date) -> None:
        self.flags = am.ActionFlags(actions, report_date)
        self.done: dict[str, dict[str, Any]] = {}

    def __call__(self, month: str) -> dict[str, Any]:
        if month not in self.done:
            self.done[month] = self.flags.summary(month)
        return self.done[month]


def headlines(
    af: pd.DataFrame, actions: pd.DataFrame, month: str, report_date: date, by_month: MonthActions | None = None
) -> dict[str, float | None]:
    """The headline rates of ``month`` as the register stands now (judged at D): what a snapshot keeps."""
    group = af[af["month"] == month]
    acc = group[group["accepted"]]
    graded = acc["f_overall"].notna()
    summary = (by_month or MonthActions(actions, report_date))(month)
    return {
        "completion_rate": rate(int(group["on_time"].sum()), len(group)),
        "good_or_better_rate": rate(int(acc["f_overall"].isin(GOOD_OR_BETTER).sum()), int(graded.sum())),
        "moderation_agreement_rate": _moderation_agreement(acc),
        "action_completion_rate": summary["action_completion_rate"],
    }


def trend_with_actions(
    trend: pd.DataFrame, actions: pd.DataFrame, report_date: date, by_month: MonthActions | None = None
) -> pd.DataFrame:
    """The trend with each month's action completion as the register stands now (page one's last month and its
    12-month line): "Action completion rate" (``None`` with none due) and "Actions due"."""
    if not len(trend):
        return trend.assign(**{"Action completion rate": [], "Actions due": []})
    by_month = by_month or MonthActions(actions, report_date)
    summaries = [by_month(str(month)) for month in trend["Month"]]
    return trend.assign(
        **{
            "Action completion rate": [s["action_completion_rate"] for s in summaries],
            "Actions due": [s["actions_due"] for s in summaries],
        }
    )


def restated(
    data: RegisterData,
    af: pd.DataFrame,
    actions: pd.DataFrame,
    report_date: date,
    margin_points: float,
    by_month: MonthActions | None = None,
) -> list[dict[str, Any]]:
    """Each earlier month's headline that moved by more than ``margin_points`` percentage points since its first
    report (or gained or lost a value), oldest first: ``{"month", "key", "first", "current"}``."""
    found: list[dict[str, Any]] = []
    snaps = data.snapshots[data.snapshots["month"].astype(str) < str(data.month)]
    for month in sorted(set(snaps["month"].astype(str))):
        first_said = snaps[snaps["month"].astype(str) == month].drop_duplicates("key", keep="first")
        pairs = zip(first_said["key"], first_said["value"], strict=True)
        first_values = {str(k): (None if _blank(v) else float(v)) for k, v in pairs}
        now = headlines(af, actions, month, report_date, by_month)
        for key in HEADLINE_KEYS:
            if key not in first_values:
                continue
            first, current = first_values[key], now[key]
            if first is None and current is None:
                continue
            if first is None or current is None or abs(current - first) * 100 > margin_points:
                found.append({"month": month, "key": key, "first": first, "current": current})
    return found


def _pct(value: float | None) -> str:
    return "none due" if value is None else f"{value:.0%}"


def restatement_sentences(values: dict[str, Any]) -> list[str]:
    """Plain sentences for ``values["restated"]`` (issue 20), e.g. "September's action completion, first reported
    as 45%, is now 82% after late tracker returns." A month of another year than the report's gets its year."""
    this_year = str(values.get("month", ""))[:4]
    sentences = []
    for item in values.get("restated") or []:
        month = Month.parse(str(item["month"]))
        name = month.first_day.strftime("%B") if str(month.year) == this_year else month.first_day.strftime("%B %Y")
        label, why = HEADLINE_WORDS.get(str(item["key"]), (str(item["key"]).replace("_", " "), "since"))
        sentences.append(
            f"{name}'s {label}, first reported as {_pct(item['first'])}, is now {_pct(item['current'])} {why}."
        )
    return sentences


def targets_status(v: dict[str, Any], targets: Targets) -> dict[str, str | None]:
    """Each headline against its target: "met", "not met", or ``None`` where there is no rate (issue 20). The action
    completion rate's target is the Green threshold."""
    at_least = {
        "completion_rate": targets.completion,
        "good_or_better_rate": targets.good_or_better,
        "ri_or_better_rate": targets.ri_or_better,
        "moderation_agreement_rate": targets.moderation_agreement,
        "action_completion_rate": targets.green_at_least,
    }
    status: dict[str, str | None] = {
        key: None if v.get(key) is None else (MET if v[key] >= target else NOT_MET) for key, target in at_least.items()
    }
    inadequate = v.get("inadequate_rate")
    within = inadequate is not None and inadequate <= targets.inadequate_at_most
    status["inadequate_rate"] = None if inadequate is None else (MET if within else NOT_MET)
    return status


# ------------------------------------------------------------------------------------------------------------
# Three-way meetings, coverage
# ------------------------------------------------------------------------------------------------------------
def three_way(acc: pd.DataFrame, data: RegisterData) -> dict[str, Any]:
    """Issue 20: a three-way meeting is needed where the allocation flagged the case (a "three_way" note: re-allocated
    within a month, previous worker still employed); held where the auditor recorded Yes. A Yes on an unflagged case
    is counted apart, so the rate measures only the meetings the guidance asks for."""
    flagged_ids = set(data.notes.loc[data.notes["kind"] == "three_way", "audit_id"].dropna().astype(str))
    flagged = acc["audit_id"].astype(str).isin(flagged_ids)
    said_yes = acc["three_way_meeting"] == "Yes"
    needed, held = int(flagged.sum()), int((flagged & said_yes).sum())
    return {
        "three_way_meetings_needed": needed,
        "three_way_meetings_held": held,
        "three_way_meeting_rate": rate(held, needed),
        "three_way_meetings_unflagged": int((~flagged & said_yes).sum()),
    }


def coverage(af: pd.DataFrame, data: RegisterData, report_date: date) -> tuple[dict[str, Any], pd.DataFrame]:
    """The share of the current caseload's open cases with an accepted audit completed in the 12 months to D, and
    the table by service and case type (issue 20)."""
    cases = data.cases[data.cases["open"].map(lambda o: not _blank(o) and bool(o)).astype(bool)].copy()
    for col in ("service", "case_type"):
        cases[col] = cases[col].map(lambda v: UNKNOWN if _blank(v) else v)
    year_ago = report_date - timedelta(days=365)
    done = af[af["accepted"]]
    in_year = done["date_completed"].map(lambda d: d is not None and year_ago < d <= report_date).astype(bool)
    audited_refs = set(done.loc[in_year, "case_ref"].astype(str))
    cases["audited"] = cases["case_ref"].astype(str).isin(audited_refs)
    records = []
    for (service, case_type), group in cases.groupby(["service", "case_type"], sort=True):
        n, k = len(group), int(group["audited"].sum())
        records.append(
            {"Service": service, "Case type": case_type, "Open cases": n, "Audited in 12 months": k,
             "Coverage": rate(k, n)}
        )  # fmt: skip
    table = pd.DataFrame.from_records(
        records, columns=["Service", "Case type", "Open cases", "Audited in 12 months", "Coverage"]
    )
    by_service = {
        str(service): {
            "open_cases": len(group),
            "audited": int(group["audited"].sum()),
            "coverage_rate": rate(int(group["audited"].sum()), len(group)),
        }
        for service, group in cases.groupby("service", sort=True)
    }
    values = {
        "coverage_open_cases": len(cases),
        "coverage_audited_cases": int(cases["audited"].sum()),
        "coverage_rate": rate(int(cases["audited"].sum()), len(cases)),
        "coverage_by_service": by_service,
    }
    return values, table


# ------------------------------------------------------------------------------------------------------------
# Escalations, cases of concern, alerts waiting
# ------------------------------------------------------------------------------------------------------------
def _day(value: Any) -> date | None:
    return _as_date(pd.Series([value], dtype=object)).iloc[0]


def escalations(
    data: RegisterData, report_date: date, names: dict[Any, Any], working_days: int = 10
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Escalations open at D (issue 22: whatever month their audit belongs to) by the Head of Service they wait on
    (count, oldest age at D), the open ones oldest first with their due date, those resolved in the month (issue
    20), and the timescale measures: overdue at D, and the share resolved in time (each due ``working_days``
    working days after it was raised, ``[moderation] escalation_working_days``)."""
    esc = data.escalations.copy()
    month = data.month
    esc["raised"] = esc["created_at"].map(_day)
    esc["resolved_on"] = esc["resolved_at"].map(_day)
    esc["due"] = esc["raised"].map(lambda d: working_days_after(d, working_days) if d is not None else None)
    timing = timescale(esc, report_date)
    is_open = esc["raised"].map(lambda d: d is not None and d <= report_date) & esc["resolved_on"].map(
        lambda d: d is None or d > report_date
    )
    open_ = esc[is_open].copy()
    open_["age"] = open_["raised"].map(lambda d: (report_date - d).days if d is not None else None)
    open_ = open_.sort_values(["age", "escalation_id"], ascending=[False, True], na_position="last")
    waiting: dict[str, dict[str, int | None]] = {}
    for staff_id, group in open_.groupby(open_["to_staff_id"].map(lambda s: "" if _blank(s) else str(s)), sort=True):
        ages = [int(a) for a in group["age"] if a is not None and a == a]
        waiting[str(staff_id)] = {"count": len(group), "oldest_days": max(ages) if ages else None}
    resolved_on = esc.loc[esc["status"] == "Resolved", "resolved_at"].map(_day)
    in_month = int(resolved_on.map(lambda d: d is not None and month.first_day <= d <= month.last_day).sum())
    refs = dict(zip(data.allocations["audit_id"], data.allocations["audit_ref"], strict=True))
    case_refs = dict(zip(data.allocations["audit_id"], data.allocations["case_ref"], strict=True))
    table = pd.DataFrame(
        {
            "Escalation ID": open_["escalation_id"],
            "Audit reference": open_["audit_id"].map(lambda a: refs.get(a) or ""),
            "Case reference": open_["audit_id"].map(lambda a: case_refs.get(a) or ""),
            "Kind": open_["kind"].map(lambda k: {"grade": "Grade", "actions": "Actions"}.get(k, k)),
            "Waiting on": open_["to_staff_id"].map(lambda s: names.get(s, s or "")),
            "Age (days)": open_["age"],
            "Due": open_["due"].map(lambda d: d.isoformat() if d is not None else ""),
        }
    ).reset_index(drop=True)
    values = {"escalations_open": len(open_), "escalations_waiting": waiting, "escalations_resolved_in_month": in_month}
    return {**values, **timing}, table


def with_due_dates(table: pd.DataFrame, working_days: int) -> pd.DataFrame:
    """The escalations table with a ``Due`` column after ``Raised``: due ``working_days`` working days (England)
    after it was raised (``[moderation] escalation_working_days``), as the open escalations table reckons it."""
    if "Raised" not in table:
        return table
    due = [
        working_days_after(date.fromisoformat(raised), working_days).isoformat() if raised else ""
        for raised in table["Raised"]
    ]
    out = table.copy()
    out.insert(list(out.columns).index("Raised") + 1, "Due", due)
    return out


def timescale(esc: pd.DataFrame, report_date: date) -> dict[str, Any]:
    """``escalations_overdue``: open at D and past their due date. ``escalations_resolved_in_time_rate``: of the
    escalations settled or due by D (resolved by D, or due on or before D), those resolved on or before their due
    date; null when there are none. An open one past its due date counts against the rate, as it should."""
    overdue = in_time = counted = 0
    for due, resolved in zip(esc["due"], esc["resolved_on"], strict=True):
        if due is None:
            continue
        settled = resolved is not None and resolved <= report_date
        if not settled and due < report_date:
            overdue += 1
        if settled or due <= report_date:
            counted += 1
            in_time += int(settled and resolved <= due)
    return {"escalations_overdue": overdue, "escalations_resolved_in_time_rate": rate(in_time, counted)}


def cases_of_concern(m: pd.DataFrame, data: RegisterData, acts: pd.DataFrame, report_date: date) -> pd.DataFrame:
    """This month's audits graded Inadequate or Requires Improvement (final grade), with where their actions stand
    at D and whether a safeguarding alert was raised (issue 20)."""
    concern = m[m["accepted"] & m["f_overall"].isin(("Inadequate", "Requires Improvement"))]
    live = am.live(acts)
    overdue_ids = set(am.overdue_at(acts, report_date)["action_id"])
    alerted = set(data.alerts["audit_id"].astype(str))
    # Each audit's open, overdue and completed actions, counted in one pass (not one scan of every action per case).
    tally: dict[str, list[int]] = {}
    for audit_id, action_id, status in zip(
        live["audit_id"].astype(str), live["action_id"], live["status"], strict=True
    ):
        counts = tally.setdefault(audit_id, [0, 0, 0])
        counts[2 if status == am.COMPLETED else 0] += 1
        counts[1] += action_id in overdue_ids

    def action_text(audit_id: str) -> str:
        open_, overdue, completed = tally.get(audit_id, (0, 0, 0))
        return f"{open_} open, {overdue} overdue, {completed} completed"

    table = pd.DataFrame(
        {
            "Audit reference": concern["audit_ref"].map(lambda r: "" if _blank(r) else r),
            "Case reference": concern["case_ref"],
            "Service": concern["service"],
            "Team": concern["team"],
            "Overall grade": concern["f_overall"],
            "Actions": concern["audit_id"].astype(str).map(action_text),
            "Safeguarding alert": concern["audit_id"].astype(str).map(lambda a: "Yes" if a in alerted else "No"),
        }
    )
    order = {"Inadequate": 0, "Requires Improvement": 1}
    table = table.assign(_o=table["Overall grade"].map(order)).sort_values(["_o", "Service", "Team", "Case reference"])
    return table.drop(columns="_o").reset_index(drop=True)


def alerts_waiting(data: RegisterData) -> tuple[int, pd.DataFrame]:
    """The alerts QA has not acknowledged: what ``caseaudit alerts`` lists (issue 20)."""
    w = data.alerts_waiting
    table = pd.DataFrame(
        {
            "Alert number": w["number"],
            "Audit reference": w["audit_ref"],
            "Case reference": w["case_ref"],
            "Team": w["team"],
            "Raised on": w["raised_on"],
        }
    ).reset_index(drop=True)
    return len(w), table


# ------------------------------------------------------------------------------------------------------------
# Funnel plot and heatmap data (internal: by team)
# ------------------------------------------------------------------------------------------------------------
def team_funnel(acc: pd.DataFrame) -> pd.DataFrame:
    """Each team's good-or-better share against the authority's, with funnel control limits for its number of graded
    audits (issue 20: a team is "outside" only beyond what chance at that size allows)."""
    graded = acc[acc["f_overall"].notna()]
    p = rate(int(graded["f_overall"].isin(GOOD_OR_BETTER).sum()), len(graded))
    records = []
    for (service, team), group in graded.groupby(["service", "team"], sort=True):
        n = len(group)
        k = int(group["f_overall"].isin(GOOD_OR_BETTER).sum())
        share = k / n
        low95, high95 = funnel_limits(p, n, Z95) if p is not None else (None, None)
        low998, high998 = funnel_limits(p, n, Z998) if p is not None else (None, None)
        outside = ""
        if p is not None:
            assert low95 is not None and high95 is not None and low998 is not None and high998 is not None
            if share > high998:
                outside = "above 99.8%"
            elif share < low998:
                outside = "below 99.8%"
            elif share > high95:
                outside = "above 95%"
            elif share < low95:
                outside = "below 95%"
        records.append(
            {"Service": service, "Team": team, "Audits graded": n, "Good or better": k, "Rate": share,
             "Lower 95%": low95, "Upper 95%": high95, "Lower 99.8%": low998, "Upper 99.8%": high998,
             "Outside": outside}
        )  # fmt: skip
    columns = ["Service", "Team", "Audits graded", "Good or better", "Rate", "Lower 95%", "Upper 95%"]
    return pd.DataFrame.from_records(records, columns=[*columns, "Lower 99.8%", "Upper 99.8%", "Outside"])


def section_team_gob(acc: pd.DataFrame) -> pd.DataFrame:
    """Rows: teams; columns: each section's good-or-better share of final section grades (a fraction) and its n."""
    records = []
    for (service, team), group in acc.groupby(["service", "team"], sort=True):
        row: dict[str, Any] = {"Service": service, "Team": team}
        for s in SECTION_KEYS:
            grades = group[f"f_{s}"].dropna()
            row[f"{s.upper()} good or better"] = rate(int(grades.isin(GOOD_OR_BETTER).sum()), len(grades))
            row[f"{s.upper()} n"] = len(grades)
        records.append(row)
    columns = ["Service", "Team", *(c for s in SECTION_KEYS for c in (f"{s.upper()} good or better", f"{s.upper()} n"))]
    return pd.DataFrame.from_records(records, columns=columns)


def overdue_table(acts: pd.DataFrame, report_date: date) -> tuple[int, pd.DataFrame]:
    """Actions overdue at D with their text and owner, by service then longest overdue first, and how many are
    overdue by more than 30 days (issue 20)."""
    overdue = am.overdue_at(acts, report_date)
    overdue = overdue.sort_values(["service", "days_overdue", "action_id"], ascending=[True, False, True])
    table = pd.DataFrame(
        {
            "Action ID": overdue["action_id"],
            "Audit ID": overdue["audit_id"],
            "Case reference": overdue["case_ref"],
            "Service": overdue["service"],
            "Team": overdue["team"],
            "Team manager": overdue["team_manager"],
            "Action": overdue["text"],
            "Owner": overdue["owner"],
            "Source": overdue["source"],
            "Due date": _as_date(overdue["due_date"]),
            "Days overdue": overdue["days_overdue"],
        }
    ).reset_index(drop=True)
    return int((overdue["days_overdue"] > 30).sum()), table
