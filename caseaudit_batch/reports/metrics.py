"""Every figure every report shows: pure pandas over register data (no I/O).

:func:`compute_metrics` turns a :class:`~caseaudit_batch.reports.data.RegisterData` into a :class:`Metrics`: the flat
``values`` written to ``metrics-YYYY-MM.json`` and the ``tables`` the Excel and Word reports show. The writers only
format; they never count, so the same figure is the same everywhere.

Definitions follow the issues: compliance and grades (guidance sections 1 and 4, reports issue), moderation
(guidance section 3, moderation issue), actions (guidance section 2, actions issue), follow-up audits (guidance
section 1, issue 11: counted by :mod:`caseaudit_batch.followup_measures`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from caseaudit_batch.actions import measures as am
from caseaudit_batch.core.framework import GRADE_NAMES, Framework, GradeParseError
from caseaudit_batch.followups import measures as fm
from caseaudit_batch.moderation import measures as mm
from caseaudit_batch.reports.data import SECTION_KEYS, RegisterData

RANK = mm.GRADE_RANK  # Outstanding 4 ... Inadequate 1
GOOD_OR_BETTER = ("Outstanding", "Good")
RI_OR_BETTER = ("Outstanding", "Good", "Requires Improvement")
CASE_TYPES = ("CIN", "CP", "CLA", "Care leaver")
TOOK_PART = ("In person", "Phone or video")
FILE_OUTCOMES = ("accepted", "returned", "rejected", "superseded", "duplicate", "ignored")
SMALL = 5  # shares of fewer than this many are marked (reports issue: small numbers)
NOT_REQUIRED = "No longer required"
UNKNOWN = "(not recorded)"


@dataclass(frozen=True)
class Targets:
    """Configured targets (``[targets]``) and the action RAG thresholds (``[actions]``)."""

    good_or_better: float = 0.80
    ri_or_better: float = 0.95
    inadequate_at_most: float = 0.05
    green_at_least: float = 0.90
    amber_at_least: float = 0.75


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


# ------------------------------------------------------------------------------------------------------------
# Small helpers
# ------------------------------------------------------------------------------------------------------------
def rate(numerator: float, denominator: float) -> float | None:
    """A share as a fraction, ``None`` where the denominator is 0 (JSON ``null``)."""
    return None if not denominator else float(numerator) / float(denominator)


def wilson(successes: int, n: int, z: float = 1.959964) -> tuple[float | None, float | None]:
    """The Wilson score 95% interval for a share (good at small n, never outside 0..1)."""
    if n <= 0:
        return None, None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def weighted_kappa(a: Sequence[int], b: Sequence[int], categories: int = 4) -> float | None:
    """Cohen's kappa with quadratic weights for two raters' ranks (1..categories); ``None`` when undefined.

    The one implementation is :func:`caseaudit_batch.moderation_measures.weighted_kappa`; this takes ranks."""
    if len(a) != len(b):
        return None
    return mm.weighted_kappa(list(a), list(b), categories=list(range(1, categories + 1)))


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return isinstance(value, str) and not value.strip()


def _grade_normaliser(framework: Framework | None) -> Callable[[Any], str | None]:
    cache: dict[Any, str | None] = {}

    def canon(value: Any) -> str | None:
        if _blank(value):
            return None
        if value in RANK:
            return str(value)
        if value not in cache:
            found: str | None = None
            if framework is not None:
                try:
                    parsed = framework.parse_grade(value)
                    found = parsed.name if parsed else None
                except GradeParseError:
                    found = None
            cache[value] = found
        return cache[value]

    return canon


def _as_date(series: pd.Series) -> pd.Series:
    """Dates as ``datetime.date`` (ISO strings from JSON answers too); blank stays ``None``."""

    def one(v: Any) -> date | None:
        if _blank(v):
            return None
        if isinstance(v, pd.Timestamp):
            return v.date()
        if isinstance(v, date):
            return v
        try:
            return date.fromisoformat(str(v)[:10])
        except ValueError:
            return None

    return series.map(one).astype(object)


def _after(a: pd.Series, b: pd.Series) -> pd.Series:
    return pd.Series([x is not None and y is not None and x > y for x, y in zip(a, b, strict=True)], index=a.index)


def _text_or(series: pd.Series, fallback: pd.Series | str) -> pd.Series:
    blank = series.map(_blank).astype(bool)
    result = series.astype(object).copy()
    result[blank] = fallback[blank] if isinstance(fallback, pd.Series) else fallback
    return result


def _only(mask: pd.Series, values: pd.Series) -> pd.Series:
    """``values`` where ``mask`` holds, ``None`` elsewhere (and for blanks)."""
    return pd.Series(
        [None if not keep or _blank(value) else value for keep, value in zip(mask, values, strict=True)],
        index=values.index,
        dtype=object,
    )


def _small_note(n: int) -> str:
    return f"fewer than {SMALL}" if 0 < n < SMALL else ""


# ------------------------------------------------------------------------------------------------------------
# The audit frame: one row per allocated audit in the window, with grades as audited, moderated and final
# ------------------------------------------------------------------------------------------------------------
def audit_frame(data: RegisterData, framework: Framework | None = None) -> pd.DataFrame:
    canon = _grade_normaliser(framework)
    af = data.allocations.copy()
    af["due_date"] = _as_date(af["due_date"])
    audits = data.audits.drop_duplicates("audit_id", keep="last").copy()
    audits = audits.rename(columns={"month": "audit_month", "overall_grade": "a_overall"})

    # The auditor's section grades: the section_grades rows, else the answers (sN_grade).
    sg = data.section_grades
    if len(sg):
        pivot = sg.assign(key=sg["section"].map(lambda n: f"a_s{int(n)}")).pivot_table(
            index="audit_row_id", columns="key", values="grade", aggfunc="last"
        )
        audits = audits.merge(pivot, left_on="row_id", right_index=True, how="left")
    for s in SECTION_KEYS:
        col = f"a_{s}"
        if col not in audits:
            audits[col] = None
        audits[col] = _text_or(audits[col].astype(object), audits[f"{s}_grade"]).map(canon)
    audits["a_overall"] = audits["a_overall"].map(canon)
    keep = ["audit_id", "row_id", "date_completed", "late", "a_overall", *(f"a_{s}" for s in SECTION_KEYS)]
    keep += ["sw_participation", "three_way_meeting", "safeguarding_concern"]
    keep += ["strengths", "learning", "recommendations", "org_learning"]
    af = af.merge(audits[keep], on="audit_id", how="left")
    af["accepted"] = af["row_id"].notna()
    af["date_completed"] = _as_date(af["date_completed"])
    late_by_dates = _after(af["date_completed"], af["due_date"])
    has_dates = af["date_completed"].notna() & af["due_date"].notna()
    recorded_late = af["late"].map(lambda v: bool(v) if not _blank(v) else False).astype(bool)
    af["late"] = af["accepted"] & np.where(has_dates, late_by_dates, recorded_late)
    af["on_time"] = af["accepted"] & ~af["late"]

    # Moderation: the current accepted moderation of each audit (blank moderated grade = agreed).
    mods = data.moderations.drop_duplicates("audit_id", keep="last").copy()
    mods = mods.rename(columns={"overall_grade": "m_overall_raw"})
    af = af.merge(mods, on="audit_id", how="left")
    af["moderated"] = af["accepted"] & af["audit_id"].isin(set(mods["audit_id"]))
    m_overall = _text_or(af["m_overall_raw"].astype(object), af["m_overall_grade"]).map(canon)
    af["m_overall"] = _only(af["moderated"], _text_or(m_overall, af["a_overall"]))
    for s in SECTION_KEYS:
        moderated_grade = af[f"m_{s}_grade"].map(canon)
        af[f"m_{s}"] = _only(af["moderated"], _text_or(moderated_grade, af[f"a_{s}"]))
        af[f"f_{s}"] = mm.final_grade(af[f"m_{s}"], af[f"a_{s}"])

    # Final overall grades by the one rule in moderation_measures: a resolved grade escalation's grade (the Head of
    # Service for QA), else the moderator's, else the auditor's (moderation issue, "Merging").
    moderated = af[af["moderated"]].drop_duplicates("audit_id", keep="last")
    esc = data.escalations
    finals = mm.final_grades(
        pd.DataFrame({"audit_id": af["audit_id"], "overall_grade": af["a_overall"]}),
        pd.DataFrame({"audit_id": moderated["audit_id"], "overall_grade": moderated["m_overall"]}),
        esc[["audit_id", "kind", "status", "resolved_at"]].assign(grade=esc["grade"].map(canon)),
    )
    af["hos_overall"] = finals["hos_grade"].where(finals["hos_grade"].notna(), None).to_numpy()
    af["f_overall"] = _only(af["accepted"], pd.Series(finals["final_grade"].to_numpy(), index=af.index))

    # The auditor: name and role as allocated; service and line manager from the roster.
    staff = data.staff.set_index("staff_id") if len(data.staff) else pd.DataFrame(columns=["name"])
    names = staff["name"].to_dict() if len(staff) else {}
    af["auditor"] = _text_or(af["auditor_name"], af["staff_id"].map(lambda s: names.get(s, s)))
    roles = staff["role"].to_dict() if len(staff) else {}
    af["auditor_role"] = _text_or(af["auditor_role"], af["staff_id"].map(lambda s: roles.get(s))).map(
        lambda v: UNKNOWN if _blank(v) else v
    )
    services = staff["service"].to_dict() if len(staff) else {}
    af["auditor_service"] = af["staff_id"].map(lambda s: services.get(s)).map(lambda v: UNKNOWN if _blank(v) else v)
    managers = staff["line_manager_id"].to_dict() if len(staff) else {}
    af["line_manager"] = af["staff_id"].map(lambda s: names.get(managers.get(s), managers.get(s)) or "")
    for col in ("service", "team", "case_type"):
        af[col] = af[col].map(lambda v: UNKNOWN if _blank(v) else v)
    return af


# ------------------------------------------------------------------------------------------------------------
# The month's figures
# ------------------------------------------------------------------------------------------------------------
def _grade_counts(series: pd.Series) -> dict[str, int]:
    counts = series.value_counts()
    return {g: int(counts.get(g, 0)) for g in GRADE_NAMES}


def _grade_row(series: pd.Series) -> dict[str, Any]:
    counts = _grade_counts(series)
    n = sum(counts.values())
    gob = counts["Outstanding"] + counts["Good"]
    return {
        **counts,
        "Graded": n,
        "Good or better": rate(gob, n),
        "Inadequate share": rate(counts["Inadequate"], n),
        "Note": _small_note(n),
    }


def _compliance_row(group: pd.DataFrame) -> dict[str, Any]:
    allocated = len(group)
    on_time = int(group["on_time"].sum())
    late = int(group["late"].sum())
    return {
        "Allocated": allocated,
        "Completed on time": on_time,
        "Completed late": late,
        "Not yet accepted": allocated - on_time - late,
        "Completion rate": rate(on_time, allocated),
        "Note": _small_note(allocated),
    }


def _grouped(df: pd.DataFrame, by: list[str], row: Callable[[pd.DataFrame], dict[str, Any]]) -> pd.DataFrame:
    records = []
    for key, group in df.groupby(by, sort=True, dropna=False):
        keys = key if isinstance(key, tuple) else (key,)
        records.append({**dict(zip(by, keys, strict=True)), **row(group)})
    return pd.DataFrame.from_records(records) if records else pd.DataFrame(columns=by)


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
    moved = fm.movement(audits, inputs.actions)
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
    needed = acc["three_way_meeting"].isin(("Yes", "No"))
    happened = acc["three_way_meeting"] == "Yes"
    v["three_way_meetings_needed"] = int(needed.sum())
    v["three_way_meetings_held"] = int(happened.sum())
    v["three_way_meeting_rate"] = rate(int(happened.sum()), int(needed.sum()))

    tables["compliance_by_role"] = _grouped(m, ["auditor_role"], _compliance_row).rename(
        columns={"auditor_role": "Auditor role"}
    )
    tables["compliance_by_service"] = _grouped(m, ["auditor_service"], _compliance_row).rename(
        columns={"auditor_service": "Auditor's service"}
    )
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
        "good_or_better": targets.good_or_better,
        "ri_or_better": targets.ri_or_better,
        "inadequate_at_most": targets.inadequate_at_most,
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

    def service_row(group: pd.DataFrame) -> dict[str, Any]:
        accepted = group[group["accepted"]]
        grades = _grade_row(accepted["f_overall"])
        compliance = _compliance_row(group)
        return {
            **{k: compliance[k] for k in ("Allocated", "Completed on time", "Completed late", "Not yet accepted")},
            "Completion rate": compliance["Completion rate"],
            **{k: grades[k] for k in (*GRADE_NAMES, "Graded", "Good or better")},
            "Note": _small_note(grades["Graded"]),
        }

    tables["by_service"] = _grouped(m, ["service"], service_row).rename(columns={"service": "Service"})
    tables["by_service_team"] = _grouped(m, ["service", "team"], service_row).rename(
        columns={"service": "Service", "team": "Team"}
    )
    tables["trend"] = _trend(af, data.months)

    # --- moderation ------------------------------------------------------------------------------------------
    _moderation(acc, data, report_date, v, tables, names)

    # --- actions ---------------------------------------------------------------------------------------------
    _actions(data, set(m["audit_id"].astype(str)), report_date, targets, v, tables)

    # --- safeguarding alerts ---------------------------------------------------------------------------------
    alerts = data.alerts[data.alerts["month"] == str(month)].drop_duplicates("audit_id", keep="first")
    alerts = alerts.merge(af[["audit_id", "case_ref", "service", "team"]], on="audit_id", how="left")
    v["safeguarding_alerts"] = len(alerts)
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
    v["small_numbers"] = _small_keys(v)
    return Metrics(month=str(month), report_date=report_date, values=v, tables=tables, audits=m, frame=af, texts=texts)


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


def _trend(af: pd.DataFrame, months: list[str]) -> pd.DataFrame:
    rows = []
    for month in months:
        group = af[af["month"] == month]
        accepted = group[group["accepted"]]
        compliance = _compliance_row(group)
        grades = _grade_row(accepted["f_overall"])
        rows.append(
            {
                "Month": month,
                "Allocated": compliance["Allocated"],
                "Completed on time": compliance["Completed on time"],
                "Completed late": compliance["Completed late"],
                "Completion rate": compliance["Completion rate"],
                **{g: grades[g] for g in GRADE_NAMES},
                "Graded": grades["Graded"],
                "Good or better": grades["Good or better"],
                "Inadequate share": grades["Inadequate share"],
            }
        )
    return pd.DataFrame.from_records(rows)


def _auditor_record(af: pd.DataFrame, data: RegisterData) -> pd.DataFrame:
    """Each auditor's completion record over the window (Excel only): one column per month."""

    st = np.where(af["on_time"], "On time", np.where(af["late"], "Late", "Outstanding")).tolist()
    cells: dict[tuple[str, str], str] = dict(zip(zip(af["staff_id"], af["month"], strict=True), st, strict=True))
    for _, note in data.notes[data.notes["kind"] == "exempt"].iterrows():
        cells.setdefault((note["staff_id"], note["month"]), "Exempt")
    staff = data.staff.set_index("staff_id")
    names = staff["name"].to_dict() if len(staff) else {}
    roles = staff["role"].to_dict() if len(staff) else {}
    services = staff["service"].to_dict() if len(staff) else {}
    ids = sorted({s for s, _ in cells})
    records = []
    for sid in ids:
        marks = [cells.get((sid, month), "") for month in data.months]
        allocated = sum(1 for mark in marks if mark and mark != "Exempt")
        done = marks.count("On time")
        records.append(
            {
                "Staff ID": sid,
                "Auditor": names.get(sid, sid),
                "Role": roles.get(sid, ""),
                "Service": services.get(sid, ""),
                **dict(zip(data.months, marks, strict=True)),
                "Allocated": allocated,
                "On time": done,
                "Late": marks.count("Late"),
                "Completion rate": rate(done, allocated),
            }
        )
    columns = ["Staff ID", "Auditor", "Role", "Service", *data.months, "Allocated", "On time", "Late"]
    return pd.DataFrame.from_records(records, columns=[*columns, "Completion rate"])


def _moderation(
    acc: pd.DataFrame,
    data: RegisterData,
    report_date: date,
    v: dict[str, Any],
    tables: dict[str, pd.DataFrame],
    names: dict[Any, Any],
) -> None:
    """Moderation issue measures: moderated, agreement, raised/lowered, section agreement, weighted kappa, the mean
    difference by auditor service and timeliness, all counted by :mod:`moderation_measures` (one implementation)."""
    mod = acc[acc["moderated"]]
    audits, moderations, section_grades = _moderation_tables(acc, mod)
    pairs = mm.moderated_pairs(audits, moderations)
    sections = mm.section_pairs(section_grades, moderations, audits)
    figures = mm.agreement_figures(pairs, sections, len(acc))
    v["audits_moderated"] = figures["audits_moderated"]
    v["audits_moderated_rate"] = figures["moderation_share"]
    for key in ("moderation_compared", "moderation_agreement_rate", "grades_raised", "grades_lowered"):
        v[key] = figures[key]
    v["section_grades_compared"] = figures["section_grades_compared"]
    v["section_agreement_rate"] = figures["section_agreement_rate"]
    v["section_kappa"] = figures["section_kappa_quadratic"]

    by_service = mm.service_differences(mm.compared(pairs), sections)
    tables["moderation_by_service"] = pd.DataFrame(
        {
            "Auditor's service": by_service["auditor_service"],
            "Moderated": by_service["audits_moderated"].astype(int),
            "Agreement rate": [
                rate(a, n) for a, n in zip(by_service["agreed"], by_service["audits_moderated"], strict=True)
            ],
            "Mean difference (overall)": by_service["mean_difference"].astype(float),
            "Mean difference (sections)": by_service["mean_section_difference"].map(
                lambda d: None if _blank(d) else float(d)
            ),
            "Note": by_service["audits_moderated"].map(_small_note),
        },
        columns=[
            "Auditor's service",
            "Moderated",
            "Agreement rate",
            "Mean difference (overall)",
            "Mean difference (sections)",
            "Note",
        ],
    )
    esc = data.escalations
    esc_by_audit = esc.groupby("audit_id")["escalation_id"].apply(lambda s: "; ".join(sorted(map(str, s)))).to_dict()
    tables["moderated"] = pd.DataFrame(
        {
            "Audit ID": mod["audit_id"],
            "Case reference": mod["case_ref"],
            "Service": mod["service"],
            "Auditor": mod["auditor"],
            "Overall as audited": mod["a_overall"],
            "Overall as moderated": mod["m_overall"],
            "Final overall": mod["f_overall"],
            "Grade agreed": mod["grade_agreed"].map(_yes_no),
            "Actions agreed": mod["actions_agreed"].map(_yes_no),
            "Escalations": mod["audit_id"].map(lambda a: esc_by_audit.get(a, "")),
        }
    )
    month_ids = set(acc["audit_id"])
    shown = esc[esc["audit_id"].isin(month_ids) | (esc["status"] == "Open")]
    case_refs = dict(zip(data.allocations["audit_id"], data.allocations["case_ref"], strict=True))
    v["escalations_open"] = int((shown["status"] == "Open").sum())
    v["escalations_resolved"] = int(((shown["status"] == "Resolved") & shown["audit_id"].isin(month_ids)).sum())
    tables["escalations"] = pd.DataFrame(
        {
            "Escalation ID": shown["escalation_id"],
            "Audit ID": shown["audit_id"],
            "Case reference": shown["audit_id"].map(lambda a: case_refs.get(a, "")),
            "Kind": shown["kind"].map(lambda k: {"grade": "Grade", "actions": "Actions"}.get(k, k)),
            "Referred to": shown["to_staff_id"].map(lambda s: names.get(s, s or "")),
            "Status": shown["status"],
            "Head of Service grade": shown["grade"],
            "Raised": shown["created_at"].map(lambda t: str(t)[:10] if not _blank(t) else ""),
            "Resolved": shown["resolved_at"].map(lambda t: str(t)[:10] if not _blank(t) else ""),
        }
    )
    # The register data holds the sampled audits only; a moderation counts as returned on its moderation date.
    sample = data.moderation_sample.drop_duplicates("audit_id", keep="last").assign(status="sampled")
    timely = mm.timeliness(sample, mod[["audit_id", "moderation_date"]], report_date, returned_on="moderation_date")
    v["moderation_sampled"] = timely["moderations_requested"]
    v["moderations_on_time"] = timely["moderations_returned_on_time"]
    v["moderations_overdue"] = timely["moderations_overdue"]


def _moderation_tables(acc: pd.DataFrame, mod: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The month's accepted audits and their moderations as the register tables :mod:`moderation_measures` reads
    (``audits``, ``moderations``, ``section_grades``), with the grades as the audit frame reads them (a blank
    moderated grade is the auditor's: moderation issue, "blank means agreed")."""
    audits = pd.DataFrame(
        {
            "id": acc["row_id"],
            "audit_id": acc["audit_id"],
            "overall_grade": acc["a_overall"],
            "auditor_service": acc["auditor_service"],
        }
    )
    moderations = pd.DataFrame(
        {
            "id": range(len(mod)),
            "audit_id": mod["audit_id"],
            "audit_row_id": mod["row_id"],
            "overall_grade": mod["m_overall"],
        }
    )
    section_grades = pd.concat(
        [
            pd.DataFrame(
                {
                    "audit_row_id": mod["row_id"],
                    "section": number,
                    "grade": mod[f"{side}_{s}"],
                    "source": source,
                    "moderation_row_id": moderations["id"].to_numpy(),  # read on the moderator's rows only
                }
            )
            for number, s in enumerate(SECTION_KEYS, start=1)
            for side, source in (("a", "auditor"), ("m", "moderator"))
        ],
        ignore_index=True,
    )
    return audits, moderations, section_grades


def _yes_no(value: Any) -> str:
    if _blank(value):
        return ""
    return "Yes" if bool(value) else "No"


def _rag(value: float | None, targets: Targets) -> str:
    if value is None:
        return "n/a"
    if value >= targets.green_at_least:
        return "Green"
    return "Amber" if value >= targets.amber_at_least else "Red"


def _actions(
    data: RegisterData,
    month_ids: set[str],
    report_date: date,
    targets: Targets,
    v: dict[str, Any],
    tables: dict[str, pd.DataFrame],
) -> None:
    """Actions issue measures, from the one implementation in :mod:`action_measures` (judged at D)."""
    month = data.month
    acts = data.actions.copy()
    for col in ("service", "team"):
        acts[col] = acts[col].map(lambda x: UNKNOWN if _blank(x) else x)
    # "Raised in M" means actions of audits allocated for M (and their moderations): give each action its audit's
    # allocation month so action_measures can select them.
    acts["month"] = np.where(acts["audit_id"].astype(str).isin(month_ids), str(month), "")
    acts["signed_off"] = acts["signed_off"].map(lambda s: bool(s) and not _blank(s))
    thresholds = {"green_at_least": targets.green_at_least, "amber_at_least": targets.amber_at_least}
    v.update(am.action_summary(acts, month, report_date, **thresholds))

    def grouped(by: list[str]) -> pd.DataFrame:
        table = am.action_summary_by(acts, month, report_date, by=by, **thresholds)
        shown = table[
            (
                table["actions_raised"]
                + table["actions_due"]
                + table["actions_overdue"]
                + table["actions_completed_in_month"]
            )
            > 0
        ]
        english = pd.DataFrame({key.title(): shown[key] for key in by})
        for key, title in ACTION_TABLE_COLUMNS.items():
            english[title] = shown[key]
        english["Note"] = shown["actions_due"].map(_small_note)
        return english.reset_index(drop=True)

    tables["actions_by_service"] = grouped(["service"])
    tables["actions_by_team"] = grouped(["service", "team"])
    overdue = am.overdue_at(acts, report_date).sort_values("due_date", key=lambda s: s.astype(str))
    tables["actions_overdue"] = pd.DataFrame(
        {
            "Action ID": overdue["action_id"],
            "Audit ID": overdue["audit_id"],
            "Case reference": overdue["case_ref"],
            "Service": overdue["service"],
            "Team": overdue["team"],
            "Team manager": overdue["team_manager"],
            "Source": overdue["source"],
            "Due date": _as_date(overdue["due_date"]),
            "Days overdue": overdue["days_overdue"],
        }
    )


#: The action measures' keys and the column titles the reports show for them.
ACTION_TABLE_COLUMNS = {
    "actions_raised": "Raised",
    "actions_due": "Due",
    "actions_completed_on_time": "Completed on time",
    "actions_completed_late": "Completed late",
    "actions_overdue": "Overdue",
    "action_completion_rate": "Completion rate",
    "action_rag": "RAG",
    "actions_completed_in_month": "Completed in month",
    "actions_signed_off": "Signed off",
    "sm_oversight_rate": "Oversight rate",
}


def _audits_table(m: pd.DataFrame) -> pd.DataFrame:
    status = np.where(m["on_time"], "Completed", np.where(m["late"], "Completed late", "Outstanding"))
    table = pd.DataFrame(
        {
            "Audit ID": m["audit_id"],
            "Kind": m["kind"],
            "Case reference": m["case_ref"],
            "Case type": m["case_type"],
            "Service": m["service"],
            "Team": m["team"],
            "Auditor": m["auditor"],
            "Auditor role": m["auditor_role"],
            "Due date": m["due_date"],
            "Date completed": m["date_completed"],
            "Status": status,
            "Moderated": m["moderated"].map(lambda b: "Yes" if b else "No"),
        }
    )
    for s in SECTION_KEYS:
        table[f"{s.upper()} as audited"] = m[f"a_{s}"]
    table["Overall as audited"] = m["a_overall"]
    for s in SECTION_KEYS:
        table[f"{s.upper()} final"] = m[f"f_{s}"]
    table["Overall final"] = m["f_overall"]
    return table.sort_values(["Service", "Team", "Case reference"]).reset_index(drop=True)


#: What each JSON key means (docs/reference/metrics-json.md shows the same; a test checks every key is there).
JSON_KEYS: dict[str, str] = {
    "month": "The report month, YYYY-MM.",
    "report_date": "D, the date due, overdue and late are judged at: --as-of, else the month's last day, or today "
    "while the month is the current month.",
    "generated_on": "The date the report was made (the program's --today).",
    "audits_allocated": "Audits allocated for the month (follow-ups included; withdrawn or replaced allocations and "
    "auditors for whom no case was found are not counted).",
    "audits_exempt": "Auditors paused for the month (listed with their reasons; not counted in allocated).",
    "audits_unallocated": "Auditors for whom no case could be found (listed; not counted in allocated).",
    "audits_accepted": "Allocated audits with an accepted form (on time or late).",
    "audits_completed": "Accepted audits completed on or before their due date.",
    "audits_completed_late": "Accepted audits completed after their due date.",
    "audits_outstanding": "Allocated audits with no accepted form yet.",
    "completion_rate": "audits_completed ÷ audits_allocated.",
    "followups_due": "Follow-up audits allocated for the month.",
    "followups_completed": "Follow-up audits of the month with an accepted form.",
    "followups_compared": "Completed follow-ups of the last 12 months whose overall grade could be compared with the "
    "earlier audit's (final grades both).",
    "followups_improved": "Of those, follow-ups whose final overall grade is better than the earlier audit's.",
    "followups_same": "Of those, follow-ups whose final overall grade is the same as the earlier audit's.",
    "followups_worse": "Of those, follow-ups whose final overall grade is lower than the earlier audit's.",
    "followups_improved_rate": "followups_improved ÷ followups_compared.",
    "followups_actions_closed_first": "Completed follow-ups of the last 12 months where every action of the earlier "
    "audit was closed (Completed or No longer required) by the follow-up's date completed (an earlier audit with no "
    "actions does not count).",
    "followups_section_movement": "For the overall grade (overall) and each section s1 … s9, the completed follow-ups "
    "of the last 12 months keyed improved, same, worse, not_known (a grade missing on either audit).",
    "followups_improved_rate_by_service": "followups_improved_rate for each service of the case (null where none "
    "could be compared).",
    "sw_participation_count": "Accepted audits where the social worker took part (in person, or by phone or video).",
    "sw_participation_rate": "sw_participation_count ÷ audits_accepted.",
    "three_way_meetings_needed": "Accepted audits of re-allocated cases needing a three-way meeting (answered Yes or "
    "No).",
    "three_way_meetings_held": "Of those, audits recording that the three-way meeting took place (Yes).",
    "three_way_meeting_rate": "three_way_meetings_held ÷ three_way_meetings_needed.",
    "audits_graded": "Accepted audits with a final overall grade.",
    "overall_grade_counts": "Final overall grades (after moderation and any Head of Service resolution; until an "
    "audit is moderated the auditor's grade is final), keyed Outstanding, Good, Requires Improvement, Inadequate.",
    "overall_grade_counts_as_audited": "The auditors' overall grades of the same audits, same keys.",
    "good_or_better_rate": "(Outstanding + Good) ÷ audits_graded, final grades.",
    "good_or_better_ci_low": "Lower end of the 95% Wilson interval of good_or_better_rate.",
    "good_or_better_ci_high": "Upper end of the 95% Wilson interval of good_or_better_rate.",
    "ri_or_better_rate": "(Outstanding + Good + Requires Improvement) ÷ audits_graded.",
    "inadequate_rate": "Inadequate ÷ audits_graded.",
    "targets": "The configured targets: good_or_better, ri_or_better, inadequate_at_most (fractions).",
    "section_grade_counts": "For each section s1 … s9, the final section grades keyed by grade (a moderator's "
    "section grade replaces the auditor's).",
    "section_grade_counts_as_audited": "The auditors' section grades, same shape.",
    "audits_moderated": "Accepted audits of the month with an accepted moderation form.",
    "audits_moderated_rate": "audits_moderated ÷ audits_accepted.",
    "moderation_compared": "Moderated audits where both overall grades are known (agreement's denominator).",
    "moderation_agreement_rate": "Moderated audits whose moderator's overall grade equals the auditor's ÷ "
    "moderation_compared (a later Head of Service resolution does not change it).",
    "grades_raised": "Moderated audits where the moderator's overall grade is higher than the auditor's.",
    "grades_lowered": "Moderated audits where the moderator's overall grade is lower than the auditor's.",
    "section_grades_compared": "Section grade pairs (auditor, moderator) compared.",
    "section_agreement_rate": "Section grade pairs that agree ÷ section_grades_compared.",
    "section_kappa": "Cohen's kappa with quadratic weights between auditors' and moderators' section grades "
    "(null when undefined).",
    "moderation_sampled": "Audits of the month in the moderation sample.",
    "moderations_on_time": "Sampled audits moderated on or before the moderation due date.",
    "moderations_overdue": "Sampled audits not yet moderated whose moderation due date is before D.",
    "escalations_open": "Escalations still open (this month's audits and any earlier ones still open).",
    "escalations_resolved": "Escalations of this month's audits that are resolved.",
    "actions_raised": "Actions from the month's audits and their moderations (No longer required excluded, as in "
    "every action measure).",
    "actions_due": "Actions due in the month.",
    "actions_completed_on_time": "Actions due in the month completed on or before their due date.",
    "actions_completed_late": "Actions due in the month completed after their due date.",
    "actions_overdue": "Open actions with a due date before D.",
    "action_completion_rate": "actions_completed_on_time ÷ actions_due.",
    "action_rag": "Green, Amber or Red for action_completion_rate against the configured thresholds (n/a when "
    "nothing was due).",
    "actions_completed_in_month": "Actions completed during the month.",
    "actions_signed_off": "Of those, actions signed off by the service manager.",
    "sm_oversight_rate": "Service Manager oversight: actions_signed_off ÷ actions_completed_in_month.",
    "safeguarding_alerts": "Audits of the month that raised a safeguarding alert.",
    "files_accepted": "Audits-inbox files first seen in runs filed under the month, now accepted.",
    "files_returned": "… now returned to the auditor with errors.",
    "files_rejected": "… rejected (not a readable, safe caseaudit form).",
    "files_superseded": "… accepted, then replaced by a newer submission of the same audit.",
    "files_duplicate": "… identical to a file already seen.",
    "files_ignored": "… Excel lock files and temporary files.",
    "files_seen": "The sum of the six file counts.",
    "warnings": "Warnings recorded against the month's audit submissions.",
    "warnings_by_rule": "Warnings by rule code (bland phrases, re-telling, late, …), for coaching auditors.",
    "small_numbers": "The share keys whose denominator is between 1 and 4 (treat with caution).",
}
