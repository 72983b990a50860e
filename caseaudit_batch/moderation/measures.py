"""Moderation measures: pure functions over register tables as pandas DataFrames. No I/O.

The reports stage reads the register tables (``audits``, ``moderations``, ``section_grades``,
``moderation_sample``, ``escalations``) into DataFrames with the register's column names and calls
:func:`moderation_metrics` for the figures, or the smaller functions for tables. Shares are fractions and ``None``
where the denominator is zero (the metrics JSON writes ``null``).

The measures (issue "Moderation", "Measures"):

- audits moderated (accepted moderation forms) and their share of the accepted audits;
- agreement rate: the moderator's overall grade equal to the auditor's. A later Head of Service resolution changes
  the final grade, not this measure;
- grades raised and lowered (moderator against auditor);
- for section grades, the share agreed and Cohen's kappa with quadratic weights between auditors and moderators;
- per auditor service, the mean difference auditor minus moderator (ranks: Outstanding 4 ... Inadequate 1), so a
  positive figure means that service's auditors grade more generously than moderation does;
- timeliness: moderation forms returned by their due date.

This module is the one implementation of these rules: :mod:`caseaudit_batch.metrics` (the reports) takes its
moderation figures and final grades from here, through :func:`agreement_figures`, :func:`service_differences`,
:func:`timeliness` and :func:`final_grade`.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from caseaudit_batch.core.framework import GRADE_NAMES

#: Outstanding 4, Good 3, Requires Improvement 2, Inadequate 1 (the framework's ranks).
GRADE_RANK: dict[str, int] = {name: len(GRADE_NAMES) - i for i, name in enumerate(GRADE_NAMES)}

PAIR_COLUMNS = [
    "audit_id",
    "auditor_grade",
    "moderator_grade",
    "auditor_rank",
    "moderator_rank",
    "difference",
    "agreed",
    "direction",
    "auditor_service",
]
SECTION_PAIR_COLUMNS = [
    "audit_id",
    "section",
    "auditor_grade",
    "moderator_grade",
    "auditor_rank",
    "moderator_rank",
    "difference",
    "auditor_service",
]


def _share(numerator: float, denominator: float) -> float | None:
    return None if not denominator else float(numerator) / float(denominator)


def _current(frame: pd.DataFrame) -> pd.DataFrame:
    if "current" not in frame.columns:
        return frame
    return frame[frame["current"].astype(bool)]


def _rank(series: pd.Series) -> pd.Series:
    return series.map(GRADE_RANK)


def month_audits(audits: pd.DataFrame, month: str | None = None) -> pd.DataFrame:
    """The current accepted audit version of each audit (of ``month`` if given)."""
    frame = _current(audits)
    if month is not None and "month" in frame.columns:
        frame = frame[frame["month"] == month]
    return frame


def moderated_pairs(audits: pd.DataFrame, moderations: pd.DataFrame, month: str | None = None) -> pd.DataFrame:
    """One row per audit with a current accepted moderation: the auditor's and the moderator's overall grades.

    ``audits`` needs ``id``, ``audit_id``, ``overall_grade`` (``current``, ``month`` and ``auditor_service`` are
    used when present); ``moderations`` needs ``audit_id``, ``overall_grade`` and ``current``, and
    ``audit_row_id`` (the audit version moderated) when present.
    """
    audit_frame = month_audits(audits, month)
    mods = _current(moderations)
    if audit_frame.empty or mods.empty:
        return pd.DataFrame(columns=PAIR_COLUMNS)
    left = pd.DataFrame({"audit_id": audit_frame["audit_id"], "auditor_grade": audit_frame["overall_grade"]})
    left["auditor_service"] = audit_frame["auditor_service"] if "auditor_service" in audit_frame.columns else None
    right = pd.DataFrame({"audit_id": mods["audit_id"], "moderator_grade": mods["overall_grade"]})
    merged = left.merge(right, on="audit_id", how="inner")
    # A moderation of an earlier audit version compares with the grades the moderator saw.
    if "audit_row_id" in mods.columns and "id" in audits.columns:
        seen = mods[["audit_id", "audit_row_id"]].merge(
            audits[["id", "overall_grade"]].rename(columns={"id": "audit_row_id", "overall_grade": "seen_grade"}),
            on="audit_row_id",
            how="left",
        )[["audit_id", "seen_grade"]]
        merged = merged.merge(seen, on="audit_id", how="left")
        merged["auditor_grade"] = merged["seen_grade"].where(merged["seen_grade"].notna(), merged["auditor_grade"])
    merged["auditor_rank"] = _rank(merged["auditor_grade"])
    merged["moderator_rank"] = _rank(merged["moderator_grade"])
    merged["difference"] = merged["auditor_rank"] - merged["moderator_rank"]
    merged["agreed"] = merged["auditor_grade"] == merged["moderator_grade"]
    merged["direction"] = np.select(
        [merged["difference"] > 0, merged["difference"] < 0], ["lowered", "raised"], default="same"
    )
    return merged[PAIR_COLUMNS].reset_index(drop=True)


def section_pairs(
    section_grades: pd.DataFrame, moderations: pd.DataFrame, audits: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per section of each current moderation: the auditor's grade and the moderator's.

    ``section_grades`` needs ``audit_row_id``, ``section``, ``grade``, ``source`` (``auditor``/``moderator``) and
    ``moderation_row_id`` on the moderator rows; ``moderations`` needs ``id``, ``audit_id``, ``audit_row_id``,
    ``current``. ``audits`` (``id``, ``auditor_service``) adds the auditor's service.
    """
    mods = _current(moderations)
    if mods.empty or section_grades.empty:
        return pd.DataFrame(columns=SECTION_PAIR_COLUMNS)
    auditor = section_grades[section_grades["source"] == "auditor"][["audit_row_id", "section", "grade"]]
    moderator = section_grades[section_grades["source"] == "moderator"][["moderation_row_id", "section", "grade"]]
    frame = mods[["id", "audit_id", "audit_row_id"]].rename(columns={"id": "moderation_row_id"})
    frame = frame.merge(auditor.rename(columns={"grade": "auditor_grade"}), on="audit_row_id", how="inner")
    frame = frame.merge(
        moderator.rename(columns={"grade": "moderator_grade"}), on=["moderation_row_id", "section"], how="inner"
    )
    frame = frame.dropna(subset=["auditor_grade", "moderator_grade"])
    if audits is not None and "auditor_service" in audits.columns:
        services = audits[["id", "auditor_service"]].rename(columns={"id": "audit_row_id"})
        frame = frame.merge(services, on="audit_row_id", how="left")
    else:
        frame["auditor_service"] = None
    frame["auditor_rank"] = _rank(frame["auditor_grade"])
    frame["moderator_rank"] = _rank(frame["moderator_grade"])
    frame["difference"] = frame["auditor_rank"] - frame["moderator_rank"]
    return frame.sort_values(["audit_id", "section"])[SECTION_PAIR_COLUMNS].reset_index(drop=True)


def compared(pairs: pd.DataFrame) -> pd.DataFrame:
    """The pairs whose auditor's and moderator's overall grades are both known (the agreement's denominator)."""
    return pairs[pairs["auditor_rank"].notna() & pairs["moderator_rank"].notna()]


def agreement_figures(pairs: pd.DataFrame, sections: pd.DataFrame, accepted: int) -> dict[str, Any]:
    """Audits moderated, their share of the ``accepted`` audits, overall agreement, grades raised and lowered,
    section agreement and quadratic-weighted kappa, from :func:`moderated_pairs` and :func:`section_pairs`."""
    known = compared(pairs)
    agreed = int(known["agreed"].sum()) if len(known) else 0
    section_agreed = int((sections["auditor_grade"] == sections["moderator_grade"]).sum()) if len(sections) else 0
    return {
        "audits_moderated": len(pairs),
        "moderation_share": _share(len(pairs), accepted),
        "moderation_compared": len(known),
        "moderation_agreement_rate": _share(agreed, len(known)),
        "grades_raised": int((known["direction"] == "raised").sum()) if len(known) else 0,
        "grades_lowered": int((known["direction"] == "lowered").sum()) if len(known) else 0,
        "section_grades_compared": len(sections),
        "section_agreement_rate": _share(section_agreed, len(sections)),
        "section_kappa_quadratic": weighted_kappa(list(sections["auditor_grade"]), list(sections["moderator_grade"]))
        if len(sections)
        else None,
    }


def weighted_kappa(
    rater_a: Sequence[Hashable],
    rater_b: Sequence[Hashable],
    categories: Sequence[Hashable] = GRADE_NAMES,
    weights: str = "quadratic",
) -> float | None:
    """Cohen's kappa between two raters over ordered ``categories``, with ``quadratic`` (or ``linear``) weights.

    ``categories`` are grade names by default; any ordered labels will do (the reports pass ranks 1..4).

    kappa_w = 1 - sum(w * observed) / sum(w * expected), with disagreement weights w_ij = (i - j)^2 (quadratic) or
    |i - j| (linear), observed the joint proportions and expected the product of the two raters' marginals.
    ``None`` when there are no pairs or when chance disagreement is zero (both raters used one grade only).
    """
    if len(rater_a) != len(rater_b):
        raise ValueError("both raters need the same number of ratings")
    index = {c: i for i, c in enumerate(categories)}
    pairs = [(index[a], index[b]) for a, b in zip(rater_a, rater_b, strict=True) if a in index and b in index]
    if not pairs:
        return None
    k = len(categories)
    observed = np.zeros((k, k))
    for i, j in pairs:
        observed[i, j] += 1
    observed /= observed.sum()
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0))
    grid = np.arange(k)
    distance = np.abs(grid[:, None] - grid[None, :]).astype(float)
    disagreement = distance**2 if weights == "quadratic" else distance
    chance = float((disagreement * expected).sum())
    if chance == 0:
        return None
    return 1.0 - float((disagreement * observed).sum()) / chance


def service_differences(pairs: pd.DataFrame, sections: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per auditor service: audits moderated, agreed, mean difference (auditor minus moderator) overall and by
    section. A positive mean means the service's auditors grade more generously than moderation."""
    columns = ["auditor_service", "audits_moderated", "agreed", "mean_difference", "mean_section_difference"]
    if pairs.empty:
        return pd.DataFrame(columns=columns)
    frame = pairs.assign(auditor_service=pairs["auditor_service"].fillna("(unknown)"))
    table = frame.groupby("auditor_service", sort=True).agg(
        audits_moderated=("audit_id", "count"),
        agreed=("agreed", "sum"),
        mean_difference=("difference", "mean"),
    )
    if sections is not None and not sections.empty:
        s = sections.assign(auditor_service=sections["auditor_service"].fillna("(unknown)"))
        table = table.join(s.groupby("auditor_service")["difference"].mean().rename("mean_section_difference"))
    else:
        table["mean_section_difference"] = np.nan
    table["agreed"] = table["agreed"].astype(int)
    return table.reset_index()[columns]


def timeliness(
    sample: pd.DataFrame, moderations: pd.DataFrame, as_of: date, *, returned_on: str = "accepted_at"
) -> dict[str, Any]:
    """Moderation forms returned on time: a form counts as returned on the earliest ``returned_on`` date of its
    versions (by default the day its first version was accepted; the reports pass the moderation date).

    ``sample`` needs ``audit_id``, ``status``, ``due_date``; ``moderations`` ``audit_id`` and ``returned_on`` (a
    date or an ISO time). Every form recorded counts, also one returned after ``as_of`` (reports issue: every figure
    uses everything in the register when the command runs); overdue means not returned and due before ``as_of``.
    """
    result: dict[str, Any] = {
        "moderations_requested": 0,
        "moderations_returned": 0,
        "moderations_returned_on_time": 0,
        "moderations_returned_late": 0,
        "moderations_overdue": 0,
        "moderation_on_time_rate": None,
        "moderation_mean_days_to_return": None,
    }
    if sample.empty:
        return result
    rows = sample[sample["status"] == "sampled"][["audit_id", "due_date"]].copy()
    if "created_at" in sample.columns:
        rows["requested_on"] = pd.to_datetime(
            sample.loc[rows.index, "created_at"].astype(str).str[:10], errors="coerce"
        )
    rows["due_date"] = pd.to_datetime(rows["due_date"].astype(str).str[:10], errors="coerce")
    first = pd.Series(dtype="datetime64[ns]")
    if not moderations.empty:
        dates = pd.to_datetime(moderations[returned_on].astype(str).str[:10], errors="coerce")
        first = dates.groupby(moderations["audit_id"]).min()
    # (mapping by an empty Series fails in pandas: nothing returned yet is NaT throughout)
    rows["returned_on"] = rows["audit_id"].map(first) if len(first) else pd.NaT
    as_of_ts = pd.Timestamp(as_of)
    returned = rows["returned_on"].notna()
    on_time = returned & (rows["due_date"].isna() | (rows["returned_on"] <= rows["due_date"]))
    overdue = ~returned & rows["due_date"].notna() & (rows["due_date"] < as_of_ts)
    result["moderations_requested"] = len(rows)
    result["moderations_returned"] = int(returned.sum())
    result["moderations_returned_on_time"] = int(on_time.sum())
    result["moderations_returned_late"] = int((returned & ~on_time).sum())
    result["moderations_overdue"] = int(overdue.sum())
    result["moderation_on_time_rate"] = _share(int(on_time.sum()), int(returned.sum()) + int(overdue.sum()))
    if "requested_on" in rows.columns and returned.any():
        days = (rows.loc[returned, "returned_on"] - rows.loc[returned, "requested_on"]).dt.days.dropna()
        result["moderation_mean_days_to_return"] = float(days.mean()) if len(days) else None
    return result


def final_grade(*candidates: pd.Series) -> pd.Series:
    """The first known grade of ``candidates``, in order of authority (moderation issue, "Merging"): the Head of
    Service's resolution, else the moderator's grade, else the auditor's. Until an audit is moderated the
    auditor's grade is final."""
    result = candidates[-1].astype(object)
    for better in reversed(candidates[:-1]):
        result = better.astype(object).where(better.notna(), result)
    return result.where(result.notna(), None)


def final_grades(audits: pd.DataFrame, moderations: pd.DataFrame, escalations: pd.DataFrame) -> pd.DataFrame:
    """Per current audit: the auditor's overall grade, the moderator's, the Head of Service's (a resolved grade
    escalation) and the final grade (Head of Service, else moderator, else auditor). Both grades are kept."""
    frame = _current(audits)[["audit_id", "overall_grade"]].rename(columns={"overall_grade": "auditor_grade"})
    mods = _current(moderations)
    moderated = mods.set_index("audit_id")["overall_grade"] if not mods.empty else pd.Series(dtype=object)
    frame["moderator_grade"] = frame["audit_id"].map(moderated)
    hos = pd.Series(dtype=object)
    if not escalations.empty:
        resolved = escalations[
            (escalations["kind"] == "grade") & (escalations["status"] == "Resolved") & escalations["grade"].notna()
        ]
        if "resolved_at" in resolved.columns:
            resolved = resolved.sort_values("resolved_at")
        hos = resolved.groupby("audit_id")["grade"].last()
    frame["hos_grade"] = frame["audit_id"].map(hos)
    frame["final_grade"] = final_grade(frame["hos_grade"], frame["moderator_grade"], frame["auditor_grade"])
    frame["final_source"] = np.select(
        [frame["hos_grade"].notna(), frame["moderator_grade"].notna()], ["head_of_service", "moderation"], "auditor"
    )
    return frame.reset_index(drop=True)


def escalations_open_at(escalations: pd.DataFrame, as_of: date) -> int:
    """Escalations open at ``as_of``: raised on or before it and not resolved by it, whatever month their audit
    belongs to (issue 22; it used to count the month's audits' escalations open now)."""
    if escalations.empty:
        return 0
    raised = pd.to_datetime(escalations["created_at"].astype(str).str[:10], errors="coerce").dt.date
    resolved = pd.to_datetime(escalations["resolved_at"].astype(str).str[:10], errors="coerce").dt.date
    still = resolved.isna() | resolved.map(lambda d: d != d or d is None or d > as_of)
    return int((raised.map(lambda d: d == d and d is not None and d <= as_of) & still).sum())


def moderation_metrics(
    audits: pd.DataFrame,
    moderations: pd.DataFrame,
    section_grades: pd.DataFrame,
    sample: pd.DataFrame,
    escalations: pd.DataFrame,
    *,
    month: str | None,
    as_of: date,
) -> dict[str, Any]:
    """Every moderation figure for the metrics JSON (keys below are published in docs/reference/metrics-json.md)."""
    accepted = month_audits(audits, month)
    pairs = moderated_pairs(audits, moderations, month)
    mods = _current(moderations)
    month_mods = mods[mods["audit_id"].isin(accepted["audit_id"])] if not mods.empty else mods
    sections = section_pairs(section_grades, month_mods, audits)
    month_sample = sample[sample["month"] == month] if month is not None and not sample.empty else sample
    month_escalations = (
        escalations[escalations["audit_id"].isin(accepted["audit_id"])] if not escalations.empty else escalations
    )
    figures: dict[str, Any] = {
        "audits_sampled": int((month_sample["status"] == "sampled").sum()) if not month_sample.empty else 0,
        **agreement_figures(pairs, sections, len(accepted)),
        "escalations_open": escalations_open_at(escalations, as_of),
        "escalations_resolved": int((month_escalations["status"] == "Resolved").sum()) if len(month_escalations) else 0,
    }
    # Timeliness counts the first version returned, so superseded versions count here.
    every_version = moderations[moderations["audit_id"].isin(accepted["audit_id"])] if len(moderations) else moderations
    figures.update(timeliness(month_sample, every_version, as_of))
    return figures
