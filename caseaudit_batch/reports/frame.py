"""The audit frame every report figure is counted from: one row per allocated audit of the window, with its grades
as audited, moderated and final (:func:`audit_frame`), and the small helpers the counting shares (blank values,
dates, shares and their intervals, small numbers). Pure pandas, no I/O."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from caseaudit_batch.core.framework import Framework
from caseaudit_batch.moderation import measures as mm
from caseaudit_batch.reports.data import SECTION_KEYS, THEME_TEXT_KEYS, RegisterData

RANK = mm.GRADE_RANK  # Outstanding 4 ... Inadequate 1


SMALL = 5  # shares of fewer than this many are marked (reports issue: small numbers)


UNKNOWN = "(not recorded)"


# ------------------------------------------------------------------------------------------------------------
# Small helpers
# ------------------------------------------------------------------------------------------------------------
def rate(numerator: float, denominator: float) -> float | None:
    """A share as a fraction, ``None`` where the denominator is 0 (JSON ``null``)."""
    return None if not denominator else float(numerator) / float(denominator)


#: Words naming a column of shares (0-1), shown as percentages in the Word and Excel reports alike: rates, shares,
#: good or better, and coverage (issue 20: the share of open cases audited in the last 12 months).
SHARE_WORDS = ("rate", "share", "good or better", "coverage")


def is_share_column(column: str) -> bool:
    """A column whose numbers are shares (0-1), shown as percentages; never a note's column."""
    lowered = column.lower()
    return any(word in lowered for word in SHARE_WORDS) and not lowered.startswith("note")


def wilson(successes: int, n: int, z: float = 1.959964) -> tuple[float | None, float | None]:
    """The Wilson score 95% interval for a share (good at small n, never outside 0..1)."""
    if n <= 0:
        return None, None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def funnel_limits(p: float, n: int, z: float) -> tuple[float, float]:
    """A funnel plot's control limits for a share of ``n`` around the authority's share ``p``: p ± z·√(p(1−p)/n),
    clipped to 0..1 (issue 20; z = 1.96 for 95%, 3.09 for 99.8%). A team of few audits gets wide limits, so it is
    "outside" only when chance at its size would not explain it."""
    if n <= 0:
        return 0.0, 1.0
    half = z * math.sqrt(p * (1 - p) / n)
    return max(0.0, p - half), min(1.0, p + half)


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
    """Stored grades by name: ingest parsed each grade once, at the edge, and recorded the grade's own name, so a
    figure only looks the name up (anything else counts as no grade); it never parses again."""

    def canon(value: Any) -> str | None:
        if _blank(value):
            return None
        return str(value) if value in RANK else None

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


def _small_note(*denominators: int) -> str:
    """The Note column's mark (every report the same): a share in the row has a denominator from 1 to 4."""
    return f"fewer than {SMALL}" if any(0 < n < SMALL for n in denominators) else ""


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
    keep += [c for c in audits.columns if str(c).startswith("ps_")]  # practice standards' answers (issue 24)
    keep += [k for k in THEME_TEXT_KEYS if k in audits]  # issue 21: every free-text answer feeds the themes
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
