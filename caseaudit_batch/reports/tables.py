"""The report tables made from the audit frame: compliance and grade rows by group, the trend, each auditor's
record, the moderation tables (by service, moderated audits, escalations) and the action tables (by service, by
team, overdue), with the moderation and action figures that come with them, and the list of every audit.

Pure pandas, no I/O; :func:`caseaudit_batch.reports.metrics.compute_metrics` puts them together.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from caseaudit_batch.actions import measures as am
from caseaudit_batch.core.framework import GRADE_NAMES
from caseaudit_batch.moderation import measures as mm
from caseaudit_batch.reports.data import SECTION_KEYS, RegisterData
from caseaudit_batch.reports.frame import UNKNOWN, _blank, _small_note, rate
from caseaudit_batch.reports.targets import Targets

#: A missing audit's status in every table (issue 20: "Outstanding" is a grade, so it no longer names a missing form).
NOT_RETURNED = "Not yet returned"


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


def _trend(af: pd.DataFrame, months: list[str]) -> pd.DataFrame:
    """One row per month of the window, from the first month with any allocation (issue 20: a register in its first
    months shows no empty months before it), always ending with the report month."""
    present = set(af["month"].astype(str))
    first = next((i for i, month in enumerate(months) if month in present), len(months) - 1)
    rows = []
    # Split by month once (issue 25: a filter of the whole window for each month, in every report and pack).
    by_month = {str(m): group for m, group in af.groupby(af["month"].astype(str), sort=False)}
    for month in months[first:]:
        group = by_month.get(month, af.iloc[0:0])
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
                "Note": _small_note(compliance["Allocated"], grades["Graded"]),
            }
        )
    return pd.DataFrame.from_records(rows)


def _auditor_record(af: pd.DataFrame, data: RegisterData) -> pd.DataFrame:
    """Each auditor's completion record over the window (Excel only): one column per month."""

    # "Not yet returned", not "Outstanding" (issue 20): Outstanding is a grade.
    st = np.where(af["on_time"], "On time", np.where(af["late"], "Late", NOT_RETURNED)).tolist()
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
        return am.NONE_DUE
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
    acts = action_frame(data, month_ids)
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
        # Completion rate is of the actions due, oversight of those completed in the month.
        english["Note"] = [
            _small_note(int(due), int(done))
            for due, done in zip(shown["actions_due"], shown["actions_completed_in_month"], strict=True)
        ]
        return english.reset_index(drop=True)

    tables["actions_by_service"] = grouped(["service"])
    tables["actions_by_team"] = grouped(["service", "team"])
    # The overdue list (with each action's text and owner, issue 20) is made by reports.trust.overdue_table.


def action_frame(data: RegisterData, month_ids: set[str]) -> pd.DataFrame:
    """The register's actions as :mod:`action_measures` reads them for the report month."""
    acts = data.actions.copy()
    for col in ("service", "team"):
        acts[col] = acts[col].map(lambda x: UNKNOWN if _blank(x) else x)
    # "Raised in M" means actions of audits allocated for M (and their moderations): give each action its audit's
    # allocation month so action_measures can select them.
    acts["month"] = np.where(acts["audit_id"].astype(str).isin(month_ids), str(data.month), "")
    acts["signed_off"] = acts["signed_off"].map(lambda s: bool(s) and not _blank(s))
    return acts


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
    status = np.where(m["on_time"], "Completed", np.where(m["late"], "Completed late", NOT_RETURNED))
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
