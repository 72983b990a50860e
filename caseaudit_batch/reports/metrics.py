"""Every figure every report shows: pure pandas over register data (no I/O).

:func:`compute_metrics` turns a :class:`~caseaudit_batch.reports.data.RegisterData` into a :class:`Metrics`: the flat
``values`` written to ``metrics-YYYY-MM.json`` and the ``tables`` the Excel and Word reports show. The writers only
format; they never count, so the same figure is the same everywhere. The audit frame it counts from is made in
:mod:`~caseaudit_batch.reports.frame`, the tables in :mod:`~caseaudit_batch.reports.tables`; what each JSON key means
is in :mod:`~caseaudit_batch.reports.json_keys`.

Definitions follow the issues: compliance and grades (guidance sections 1 and 4, reports issue), moderation
(guidance section 3, moderation issue), actions (guidance section 2, actions issue), follow-up audits (guidance
section 1, issue 11: counted by :mod:`caseaudit_batch.followup_measures`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from caseaudit_batch.core.framework import GRADE_NAMES, Framework
from caseaudit_batch.followups import measures as fm
from caseaudit_batch.reports import trust
from caseaudit_batch.reports.data import SECTION_KEYS, RegisterData
from caseaudit_batch.reports.frame import SMALL, _blank, _small_note, audit_frame, rate, wilson
from caseaudit_batch.reports.standards import practice_standards
from caseaudit_batch.reports.tables import (
    _actions,
    _auditor_record,
    _audits_table,
    _compliance_row,
    _grade_counts,
    _grade_row,
    _grouped,
    _moderation,
    _trend,
    _yes_no,
    action_frame,
)
from caseaudit_batch.reports.targets import Targets
from caseaudit_batch.reports.trust import restatement_sentences

__all__ = ["Metrics", "compute_metrics", "followup_input", "restatement_sentences"]

GOOD_OR_BETTER = ("Outstanding", "Good")
RI_OR_BETTER = ("Outstanding", "Good", "Requires Improvement")
CASE_TYPES = ("CIN", "CP", "CLA", "Care leaver")
TOOK_PART = ("In person", "Phone or video")
FILE_OUTCOMES = ("accepted", "returned", "rejected", "superseded", "duplicate", "ignored")


NOT_REQUIRED = "No longer required"


@dataclass
class Metrics:
    month: str
    report_date: date
    values: dict[str, Any]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: one row per allocated audit of the month (the audit frame).
    audits: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: the same for every month of the window (trend, 12-month themes).
    frame: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: sentences written from the figures: ``followups`` (the follow-up audits of the last 12 months).
    texts: dict[str, str] = field(default_factory=dict)

    def table(self, name: str) -> pd.DataFrame:
        return self.tables[name]


#: The audit frame's columns the follow-up measures read (renamed by ``followup_measures.from_audit_frame``).
FOLLOWUP_COLUMNS = [
    "audit_id",
    "case_ref",
    "month",
    "service",
    "kind",
    "followup_of",
    "accepted",
    "date_completed",
    "f_overall",
    *(f"f_{s}" for s in SECTION_KEYS),
]


@dataclass(frozen=True)
class FollowupInput:
    """What :mod:`~caseaudit_batch.followup_measures` reads: the window's follow-ups with every audit they refer to
    (final grades), and the actions of those earlier audits."""

    audits: pd.DataFrame
    actions: pd.DataFrame
    made: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def movement_records(self) -> list[dict[str, Any]]:
        """Every follow-up's movement (:func:`followup_measures.movement_records`), worked out once: the report
        and each service pack keep their own follow-ups' rows."""
        if "movement" not in self.made:
            self.made["movement"] = fm.movement_records(self.audits, self.actions)
        return list(self.made["movement"])


def followup_input(data: RegisterData, frame: pd.DataFrame, framework: Framework | None = None) -> FollowupInput:
    """The follow-ups of ``frame`` (an :func:`audit_frame`) and the audits they refer to: from the frame, else from
    ``data.earlier`` (older than the window), so that every follow-up's movement is known (issue 11)."""
    pool = frame[FOLLOWUP_COLUMNS]
    if data.earlier is not None and len(data.earlier.allocations):
        older = audit_frame(data.earlier, framework)[FOLLOWUP_COLUMNS]
        pool = pd.concat([pool, older[~older["audit_id"].isin(set(pool["audit_id"]))]], ignore_index=True)
    followups = pool[pool["kind"] == "followup"]
    referred = set(followups["followup_of"].map(lambda a: None if _blank(a) else str(a))) - {None}
    audits = fm.from_audit_frame(pool[(pool["kind"] == "followup") | pool["audit_id"].astype(str).isin(referred)])
    actions = data.actions.loc[
        data.actions["audit_id"].astype(str).isin(referred), ["audit_id", "status", "completed_on"]
    ]
    return FollowupInput(audits=audits.reset_index(drop=True), actions=actions.reset_index(drop=True))


def _followups(
    af: pd.DataFrame,
    inputs: FollowupInput,
    month: str,
    titles: dict[str, str],
    v: dict[str, Any],
    tables: dict[str, pd.DataFrame],
    texts: dict[str, str],
) -> None:
    """Issue 11 measures, counted by :mod:`followup_measures`: only the follow-ups of the window's frame ``af``
    count (a service pack's frame holds its own service); the others are there only as the earlier audits they may
    be."""
    audits = inputs.audits
    ours = audits["audit_id"].isin(set(af["audit_id"]))
    audits = audits.assign(kind=audits["kind"].where(ours, "earlier"))
    # The movement of the follow-ups that are ours, in the order movement() finds them (the others are "earlier").
    own = set(audits.loc[audits["kind"] == "followup", "audit_id"])
    moved = fm.movement_frame([r for r in inputs.movement_records() if r["Follow-up audit ID"] in own])
    v.update(fm.followup_values(audits, inputs.actions, month, moved=moved))
    window = fm.in_window(moved, month)
    v["followups_section_movement"] = {
        key: {"improved": int(r["Improved"]), "same": int(r["Same"]), "worse": int(r["Worse"]),
              "not_known": int(r["Not known"])}
        for key, (_, r) in zip(("overall", *SECTION_KEYS), fm.section_movement(window).iterrows(), strict=True)
    }  # fmt: skip
    found = fm.followup_tables(audits, inputs.actions, month, titles, moved=moved)
    by_service = found["followup_by_service"]
    v["followups_improved_rate_by_service"] = {
        str(service): (None if _blank(share) else float(share))
        for service, share in zip(by_service["Service"], by_service["Share improved"], strict=True)
        if service != fm.ALL_SERVICES
    }
    compared = by_service["Improved"] + by_service["Same"] + by_service["Worse"]  # the share's denominator
    found["followup_by_service"] = by_service.assign(Note=[_small_note(int(n)) for n in compared])
    found["followup_cases"] = found["followup_cases"].assign(
        **{"Actions closed first": found["followup_cases"]["Actions closed first"].map(_yes_no)}
    )
    tables.update(found)
    texts["followups"] = fm.sentence(moved, month)


def compute_metrics(
    data: RegisterData,
    *,
    report_date: date,
    targets: Targets | None = None,
    framework: Framework | None = None,
    generated_on: date | None = None,
    frame: pd.DataFrame | None = None,
    excel_tables: bool = True,
    followups: FollowupInput | None = None,
) -> Metrics:
    """All of the month's figures. ``report_date`` is D (due, overdue and late are judged at it).

    ``frame`` is :func:`audit_frame` of ``data`` when the caller has it already (a service pack filters the
    whole authority's frame instead of building it again). ``excel_tables=False`` leaves out the tables only the
    Excel report shows (each auditor's 12-month record, every problem, every audit), for the Word service packs.
    ``followups`` is :func:`followup_input` of the whole authority (a service pack's follow-up may refer to an audit
    filed under another service); by default it is made from ``data`` and the frame.
    """
    targets = targets or Targets()
    month = data.month
    af = audit_frame(data, framework) if frame is None else frame
    m = af[af["month"] == str(month)].copy()
    acc = m[m["accepted"]]
    tables: dict[str, pd.DataFrame] = {}
    texts: dict[str, str] = {}
    titles = {s.key: s.short for s in framework.sections} if framework else {}
    v: dict[str, Any] = {"month": str(month), "report_date": report_date.isoformat()}
    v["generated_on"] = (generated_on or report_date).isoformat()

    # --- compliance ------------------------------------------------------------------------------------------
    notes = data.notes[data.notes["month"] == str(month)]
    exempt = notes[notes["kind"] == "exempt"].drop_duplicates("staff_id", keep="last")
    unallocated = notes[notes["kind"] == "unallocated"].drop_duplicates("staff_id", keep="last")
    allocated = len(m)
    on_time = int(m["on_time"].sum())
    late = int(m["late"].sum())
    v.update(
        audits_allocated=allocated,
        audits_exempt=len(exempt),
        audits_unallocated=len(unallocated),
        audits_accepted=len(acc),
        audits_completed=on_time,
        audits_completed_late=late,
        audits_outstanding=allocated - len(acc),
        completion_rate=rate(on_time, allocated),
    )
    inputs = followups if followups is not None else followup_input(data, af, framework)
    _followups(af, inputs, str(month), titles, v, tables, texts)
    took_part = acc["sw_participation"].isin(TOOK_PART)
    v["sw_participation_count"] = int(took_part.sum())
    v["sw_participation_rate"] = rate(int(took_part.sum()), len(acc))
    v.update(trust.three_way(acc, data))

    tables["compliance_by_role"] = _grouped(m, ["auditor_role"], _compliance_row).rename(
        columns={"auditor_role": "Auditor role"}
    )
    tables["compliance_by_service"] = _grouped(m, ["auditor_service"], _compliance_row).rename(
        columns={"auditor_service": "Auditor's service"}
    )
    # "Not yet returned" (issue 20): the table keeps its name, its rows are the audits with no accepted form yet.
    out = m[~m["accepted"]].sort_values(["due_date", "auditor"], key=lambda s: s.astype(str))
    tables["outstanding"] = pd.DataFrame(
        {
            "Audit ID": out["audit_id"],
            "Case reference": out["case_ref"],
            "Auditor": out["auditor"],
            "Auditor role": out["auditor_role"],
            "Line manager": out["line_manager"],
            "Due date": out["due_date"],
            "Days overdue": out["due_date"].map(lambda d: max(0, (report_date - d).days) if d else None),
        }
    )
    staff = data.staff.set_index("staff_id")
    names = staff["name"].to_dict() if len(staff) else {}
    roles = staff["role"].to_dict() if len(staff) else {}
    services = staff["service"].to_dict() if len(staff) else {}
    tables["exempt"] = pd.DataFrame(
        {
            "Staff ID": exempt["staff_id"],
            "Name": exempt["staff_id"].map(lambda s: names.get(s, "")),
            "Role": exempt["staff_id"].map(lambda s: roles.get(s, "")),
            "Service": exempt["staff_id"].map(lambda s: services.get(s, "")),
            "Reason": exempt["detail"],
        }
    )
    tables["unallocated"] = pd.DataFrame(
        {
            "Staff ID": unallocated["staff_id"],
            "Name": unallocated["staff_id"].map(lambda s: names.get(s, "")),
            "Role": unallocated["staff_id"].map(lambda s: roles.get(s, "")),
            "Service": unallocated["staff_id"].map(lambda s: services.get(s, "")),
            "Why no case was found": unallocated["detail"],
        }
    )
    if excel_tables:
        tables["auditor_record"] = _auditor_record(af, data)

    # --- grades (final: after moderation and any Head of Service resolution) ------------------------------------
    counts = _grade_counts(acc["f_overall"])
    graded = sum(counts.values())
    gob = counts["Outstanding"] + counts["Good"]
    v["audits_graded"] = graded
    v["overall_grade_counts"] = counts
    v["overall_grade_counts_as_audited"] = _grade_counts(acc["a_overall"])
    v["good_or_better_rate"] = rate(gob, graded)
    low, high = wilson(gob, graded)
    v["good_or_better_ci_low"], v["good_or_better_ci_high"] = low, high
    v["ri_or_better_rate"] = rate(gob + counts["Requires Improvement"], graded)
    v["inadequate_rate"] = rate(counts["Inadequate"], graded)
    v["targets"] = {
        "completion": targets.completion,
        "good_or_better": targets.good_or_better,
        "ri_or_better": targets.ri_or_better,
        "inadequate_at_most": targets.inadequate_at_most,
        "moderation_agreement": targets.moderation_agreement,
    }
    v["section_grade_counts"] = {s: _grade_counts(acc[f"f_{s}"]) for s in SECTION_KEYS}
    v["section_grade_counts_as_audited"] = {s: _grade_counts(acc[f"a_{s}"]) for s in SECTION_KEYS}
    as_audited = v["overall_grade_counts_as_audited"]
    tables["grades"] = pd.DataFrame(
        {
            "Grade": list(GRADE_NAMES),
            "Audits (final grade)": [counts[g] for g in GRADE_NAMES],
            "Share": [rate(counts[g], graded) for g in GRADE_NAMES],
            "Audits (as audited)": [as_audited[g] for g in GRADE_NAMES],
            "Note": _small_note(graded),
        }
    )
    by_type = []
    present = [t for t in CASE_TYPES] + sorted(set(acc["case_type"]) - set(CASE_TYPES))
    for case_type in present:
        by_type.append({"Case type": case_type, **_grade_row(acc.loc[acc["case_type"] == case_type, "f_overall"])})
    tables["grades_by_case_type"] = pd.DataFrame.from_records(by_type)
    sec_rows = []
    for s in SECTION_KEYS:
        row = _grade_row(acc[f"f_{s}"])
        audited = _grade_counts(acc[f"a_{s}"])
        n_audited = sum(audited.values())
        sec_rows.append(
            {
                "Section": s,
                "Title": titles.get(s, s),
                **row,
                "Good or better (as audited)": rate(audited["Outstanding"] + audited["Good"], n_audited),
            }
        )
    tables["sections"] = pd.DataFrame.from_records(sec_rows)

    tables["by_service"] = _grouped(m, ["service"], _service_row).rename(columns={"service": "Service"})
    tables["by_service_team"] = _grouped(m, ["service", "team"], _service_row).rename(
        columns={"service": "Service", "team": "Team"}
    )
    tables["trend"] = _trend(af, data.months)
    previous = data.months[-2] if len(data.months) > 1 else None
    v["practice_standards"], standard_tables = practice_standards(af, str(month), previous, framework)
    tables.update(standard_tables)

    # --- moderation ------------------------------------------------------------------------------------------
    _moderation(acc, data, report_date, v, tables, names)

    # --- actions ---------------------------------------------------------------------------------------------
    _actions(data, set(m["audit_id"].astype(str)), report_date, targets, v, tables)
    _trust(data, af, m, report_date, targets, v, tables, names)

    # --- safeguarding alerts ---------------------------------------------------------------------------------
    alerts = data.alerts[data.alerts["month"] == str(month)].drop_duplicates("audit_id", keep="first")
    alerts = alerts.merge(af[["audit_id", "case_ref", "service", "team"]], on="audit_id", how="left")
    v["safeguarding_alerts"] = len(alerts)
    v["alerts_unacknowledged"], tables["alerts_waiting"] = trust.alerts_waiting(data)
    tables["alerts"] = pd.DataFrame(
        {
            "Audit ID": alerts["audit_id"],
            "Case reference": alerts["case_ref"],
            "Service": alerts["service"],
            "Team": alerts["team"],
            "Raised on": alerts["raised_at"].map(lambda t: str(t)[:10] if not _blank(t) else ""),
        }
    )

    # --- files of the month's ingest (each distinct file once, by the outcome of its first sighting) -------------
    subs = data.submissions.sort_values("id")
    first_seen = subs.drop_duplicates(["path", "sha256"], keep="first")
    first_seen = first_seen[first_seen["filed_month"] == str(month)]
    outcome_counts = first_seen["outcome"].value_counts()
    for outcome in FILE_OUTCOMES:
        v[f"files_{outcome}"] = int(outcome_counts.get(outcome, 0))
    v["files_seen"] = len(first_seen)
    tables["files"] = pd.DataFrame({"Outcome": list(FILE_OUTCOMES), "Files": [v[f"files_{o}"] for o in FILE_OUTCOMES]})

    # --- audit quality: problems by rule (so QA can coach auditors) ----------------------------------------------
    problems = data.problems.merge(m[["audit_id", "auditor", "case_ref"]], on="audit_id", how="left")
    if len(problems):
        by_rule = (
            problems.groupby(["code", "severity"], sort=True)
            .agg(Problems=("code", "size"), Audits=("audit_id", "nunique"))
            .reset_index()
            .sort_values(["Problems", "code"], ascending=[False, True])
        )
    else:
        by_rule = pd.DataFrame(columns=["code", "severity", "Problems", "Audits"])
    tables["warnings_by_rule"] = by_rule.rename(columns={"code": "Rule", "severity": "Severity"})
    v["warnings"] = int((problems["severity"] == "warning").sum())
    v["warnings_by_rule"] = {
        str(r["Rule"]): int(r["Problems"])
        for _, r in tables["warnings_by_rule"].iterrows()
        if r["Severity"] == "warning"
    }
    tables["problems"] = pd.DataFrame(
        {
            "Audit ID": problems["audit_id"],
            "Case reference": problems["case_ref"],
            "Auditor": problems["auditor"],
            "File outcome": problems["outcome"],
            "Rule": problems["code"],
            "Severity": problems["severity"],
            "Sheet": problems["sheet"],
            "Cell": problems["cell"],
            "Field": problems["label"].where(~problems["label"].map(_blank).astype(bool), problems["field"]),
        }
    )

    if excel_tables:
        tables["audits"] = _audits_table(m)
    _show_audit_refs(tables, data)
    v["targets_status"] = trust.targets_status(v, targets)
    # Issue 21: filled in by reports.build from the tagged text (the themes are not this module's): empty until then.
    v["themes"], v["untagged_share"] = {}, None
    v["small_numbers"] = _small_keys(v)
    return Metrics(month=str(month), report_date=report_date, values=v, tables=tables, audits=m, frame=af, texts=texts)


def _trust(
    data: RegisterData,
    af: pd.DataFrame,
    m: pd.DataFrame,
    report_date: date,
    targets: Targets,
    v: dict[str, Any],
    tables: dict[str, pd.DataFrame],
    names: dict[Any, Any],
) -> None:
    """Issue 20's figures (:mod:`~caseaudit_batch.reports.trust`): provisional and restated figures, coverage,
    escalations waiting, cases of concern, the funnel and heatmap data."""
    acts = action_frame(data, set(m["audit_id"].astype(str)))
    v["actions_overdue_30"], tables["actions_overdue"] = trust.overdue_table(acts, report_date)
    v["provisional"] = trust.provisional(data, report_date, targets.tracker_cycle_days)
    by_month = trust.MonthActions(acts, report_date)
    v["restated"] = trust.restated(data, af, acts, report_date, targets.restate_margin_points, by_month)
    coverage, tables["coverage"] = trust.coverage(af, data, report_date)
    v.update(coverage)
    waiting, tables["escalations_open"] = trust.escalations(data, report_date, names, targets.escalation_working_days)
    v.update(waiting)
    if "escalations" in tables:  # issue 22: the Excel list of escalations shows each one's due date too
        tables["escalations"] = trust.with_due_dates(tables["escalations"], targets.escalation_working_days)
    tables["cases_of_concern"] = trust.cases_of_concern(m, data, acts, report_date)
    acc = m[m["accepted"]]
    tables["team_funnel"] = trust.team_funnel(acc)
    tables["section_team_gob"] = trust.section_team_gob(acc)
    if "trend" in tables:
        tables["trend"] = trust.trend_with_actions(tables["trend"], acts, report_date, by_month)


def _service_row(group: pd.DataFrame) -> dict[str, Any]:
    """A row of the by-service tables: completion and final grades of ``group``'s audits (the audit frame)."""
    accepted = group[group["accepted"]]
    grades = _grade_row(accepted["f_overall"])
    compliance = _compliance_row(group)
    return {
        **{k: compliance[k] for k in ("Allocated", "Completed on time", "Completed late", "Not yet accepted")},
        "Completion rate": compliance["Completion rate"],
        **{k: grades[k] for k in (*GRADE_NAMES, "Graded", "Good or better")},
        "Note": _small_note(compliance["Allocated"], grades["Graded"]),  # its completion rate and grade shares
    }


def completion_figures(frame: pd.DataFrame, month: str, report_date: date) -> Metrics:
    """Only the completion figures of ``frame``'s audits of ``month`` and its ``by_service`` table, counted as
    :func:`compute_metrics` counts them: what a pack's "Audits by your managers" shows (issue 25: the whole set of
    figures was computed for it, half of each pack's time)."""
    m = frame[frame["month"] == month]
    allocated, on_time, accepted = len(m), int(m["on_time"].sum()), int(m["accepted"].sum())
    values: dict[str, Any] = {
        "audits_allocated": allocated,
        "audits_accepted": accepted,
        "audits_completed": on_time,
        "audits_outstanding": allocated - accepted,
        "completion_rate": rate(on_time, allocated),
    }
    by_service = _grouped(m, ["service"], _service_row).rename(columns={"service": "Service"})
    return Metrics(month=month, report_date=report_date, values=values, tables={"by_service": by_service}, audits=m)


def snapshot_values(values: dict[str, Any]) -> dict[str, float | None]:
    """What the month's first report keeps in the register (issue 20): its headline rates."""
    return {key: values.get(key) for key in trust.HEADLINE_KEYS}


def _show_audit_refs(tables: dict[str, pd.DataFrame], data: RegisterData) -> None:
    """People read an audit by its reference (2026-09-0014): every table that names an audit shows it first, the
    audit ID (the machine identity) beside it."""
    refs = dict(zip(data.allocations["audit_id"], data.allocations["audit_ref"], strict=True))
    for name, table in tables.items():
        if "Audit ID" in table.columns and "Audit reference" not in table.columns:
            shown = table.copy()
            shown.insert(
                int(shown.columns.get_loc("Audit ID")),  # type: ignore[arg-type]
                "Audit reference",
                shown["Audit ID"].map(lambda a: refs.get(a) or ""),
            )
            tables[name] = shown


def _small_keys(v: dict[str, Any]) -> list[str]:
    """Shares computed from fewer than 5 (reports issue: small numbers are marked)."""
    denominators = {
        "completion_rate": v["audits_allocated"],
        "good_or_better_rate": v["audits_graded"],
        "ri_or_better_rate": v["audits_graded"],
        "inadequate_rate": v["audits_graded"],
        "sw_participation_rate": v["audits_accepted"],
        "three_way_meeting_rate": v["three_way_meetings_needed"],
        "moderation_agreement_rate": v["moderation_compared"],
        "audits_moderated_rate": v["audits_accepted"],
        "action_completion_rate": v["actions_due"],
        "sm_oversight_rate": v["actions_completed_in_month"],
        "followups_improved_rate": v["followups_compared"],
    }
    return sorted(k for k, n in denominators.items() if 0 < n < SMALL)
