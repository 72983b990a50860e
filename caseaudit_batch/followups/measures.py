"""The impact of intervention (issue 11; guidance section 1): what follow-up audits show. Pure pandas, no I/O.

Inputs are two DataFrames the reports already hold (``metrics.audit_frame`` gives the first with its ``f_``
columns; :func:`from_audit_frame` renames them):

- ``audits``: one row per allocated audit, the earlier audits that follow-ups refer to included: ``audit_id``,
  ``case_ref``, ``month`` (``YYYY-MM``), ``service``, ``kind`` (``audit`` / ``followup``), ``followup_of`` (the
  earlier audit ID, follow-ups only), ``accepted`` (bool), ``date_completed`` (a date or blank), ``overall`` and
  ``s1`` … ``s9`` (the FINAL grades: Head of Service resolution, else moderation, else the auditor's);
- ``actions``: ``audit_id``, ``status`` (Open / Completed / No longer required), ``completed_on``.

A follow-up's movement compares its final grades with the earlier audit's: ``improved`` (a better grade),
``same``, ``worse``, or ``not known`` when either grade is missing.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from caseaudit_batch.core.clock import Month
from caseaudit_batch.core.framework import GRADE_NAMES

RANK = {name: len(GRADE_NAMES) - i for i, name in enumerate(GRADE_NAMES)}  # Outstanding 4 ... Inadequate 1
SECTIONS = tuple(f"s{n}" for n in range(1, 10))
IMPROVED, SAME, WORSE, UNKNOWN = "improved", "same", "worse", "not known"
MOVEMENTS = (IMPROVED, SAME, WORSE)
CLOSED = ("Completed", "No longer required")
ALL_SERVICES = "All services"


def from_audit_frame(af: pd.DataFrame) -> pd.DataFrame:
    """``metrics.audit_frame``'s columns renamed to this module's (``f_overall`` -> ``overall``, ``f_s1`` -> ``s1``)."""
    renamed = af.rename(columns={"f_overall": "overall", **{f"f_{s}": s for s in SECTIONS}})
    if "followup_of" not in renamed:
        renamed["followup_of"] = None
    return renamed


def move(before: Any, after: Any) -> str:
    """``improved``, ``same``, ``worse`` or ``not known`` from one grade to another."""
    a, b = RANK.get(str(before)), RANK.get(str(after))
    if a is None or b is None:
        return UNKNOWN
    return IMPROVED if b > a else WORSE if b < a else SAME


def _as_date(value: Any) -> date | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _followups(audits: pd.DataFrame, month: str | None = None) -> pd.DataFrame:
    rows = audits[audits["kind"] == "followup"]
    return rows if month is None else rows[rows["month"] == month]


def followups_due(audits: pd.DataFrame, month: str) -> int:
    """Follow-up audits allocated for ``month`` (due by its end), as ``audits_allocated`` counts audits."""
    return len(_followups(audits, month))


def followups_completed(audits: pd.DataFrame, month: str) -> int:
    """Follow-up audits of ``month`` accepted (completed, on time or late)."""
    return int(_followups(audits, month)["accepted"].astype(bool).sum())


def actions_closed_first(actions: pd.DataFrame, audit_id: str, by: date | None) -> bool:
    """Every action of the earlier audit closed (Completed or No longer required), each on or before ``by`` where
    its completion date is known; an audit with no actions had none to complete."""
    mine = actions[actions["audit_id"] == audit_id]
    return _closed_by(list(zip(mine["status"], mine["completed_on"], strict=True)), by)


def _closed_by(actions: list[tuple[Any, Any]], by: date | None) -> bool:
    """:func:`actions_closed_first` for one audit's actions as (status, completed on) pairs."""
    if not actions:
        return False
    for status, completed in actions:
        if status not in CLOSED:
            return False
        done = _as_date(completed)
        if by is not None and done is not None and done > by:
            return False
    return True


def movement(audits: pd.DataFrame, actions: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per completed follow-up: case reference, service, months, overall and section grades before and
    now, their movement, and whether all the earlier audit's actions were closed first."""
    return movement_frame(movement_records(audits, actions))


def movement_records(audits: pd.DataFrame, actions: pd.DataFrame | None = None) -> list[dict[str, Any]]:
    """:func:`movement`'s rows, one per completed follow-up in ``audits``' order, before they are made a table: a
    service pack keeps those of its own follow-ups (issue 25: each pack worked out the whole authority's again)."""
    done = _followups(audits)
    done = done[done["accepted"].astype(bool)]
    earlier = {str(r["audit_id"]): r for r in audits.drop_duplicates("audit_id", keep="last").to_dict(orient="records")}
    actions = actions if actions is not None else pd.DataFrame(columns=["audit_id", "status", "completed_on"])
    # Each audit's actions once (not a scan of every action per follow-up: a large authority has thousands).
    by_audit: dict[str, list[tuple[Any, Any]]] = {}
    for audit_id, status, completed in zip(
        actions["audit_id"], actions["status"], actions["completed_on"], strict=True
    ):
        by_audit.setdefault(str(audit_id), []).append((status, completed))
    records: list[dict[str, Any]] = []
    for row in done.itertuples(index=False):
        first = earlier.get(str(row.followup_of))
        record: dict[str, Any] = {
            "Case reference": row.case_ref,
            "Service": row.service,
            "Follow-up month": row.month,
            "Earlier audit month": first["month"] if first is not None else None,
            "Follow-up audit ID": row.audit_id,
            "Earlier audit ID": row.followup_of,
            "Overall before": first["overall"] if first is not None else None,
            "Overall now": row.overall,
        }
        record["Overall"] = move(record["Overall before"], row.overall)
        for s in SECTIONS:
            record[f"{s} before"] = first[s] if first is not None else None
            record[f"{s} now"] = getattr(row, s)
            record[s] = move(record[f"{s} before"], record[f"{s} now"])
        record["Actions closed first"] = _closed_by(
            by_audit.get(str(row.followup_of), []), _as_date(row.date_completed)
        )
        records.append(record)
    return records


def movement_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """:func:`movement`'s table from its rows (:func:`movement_records`)."""
    columns = [
        "Case reference",
        "Service",
        "Follow-up month",
        "Earlier audit month",
        "Follow-up audit ID",
        "Earlier audit ID",
        "Overall before",
        "Overall now",
        "Overall",
        *(c for s in SECTIONS for c in (f"{s} before", f"{s} now", s)),
        "Actions closed first",
    ]
    if not records:
        return pd.DataFrame(columns=columns)
    return pd.DataFrame.from_records(records, columns=columns).sort_values(["Follow-up month", "Case reference"])


def in_window(moved: pd.DataFrame, month: str, months: int = 12) -> pd.DataFrame:
    """The follow-ups of the ``months`` months ending with ``month``."""
    first = str(Month.parse(month).shift(-(months - 1)))
    return moved[(moved["Follow-up month"] >= first) & (moved["Follow-up month"] <= month)]


def section_movement(moved: pd.DataFrame, section_names: dict[str, str] | None = None) -> pd.DataFrame:
    """Per section (and overall): how many follow-ups improved, stayed the same, were graded lower, not known."""
    rows = []
    for key, label in [("Overall", "Overall grade"), *((s, (section_names or {}).get(s, s)) for s in SECTIONS)]:
        counts = moved[key].value_counts() if len(moved) else pd.Series(dtype=int)
        rows.append(
            {
                "Section": label,
                "Improved": int(counts.get(IMPROVED, 0)),
                "Same": int(counts.get(SAME, 0)),
                "Worse": int(counts.get(WORSE, 0)),
                "Not known": int(counts.get(UNKNOWN, 0)),
            }
        )
    return pd.DataFrame.from_records(rows)


def _share(part: int, whole: int) -> float | None:
    return None if not whole else part / whole


def improved_by_service(moved: pd.DataFrame, month: str, months: int = 12) -> pd.DataFrame:
    """The share of follow-ups whose overall grade improved, over the ``months`` months to ``month``, by the
    case's service, with a last row for all services. The share is of those compared (improved, same or worse),
    as ``followups_improved_rate``."""
    window = in_window(moved, month, months)
    rows = []
    groups = [(str(k), g) for k, g in window.groupby("Service", sort=True)] + [(ALL_SERVICES, window)]
    for service, group in groups:
        counts = group["Overall"].value_counts()
        n = len(group)
        compared = sum(int(counts.get(k, 0)) for k in MOVEMENTS)
        rows.append(
            {
                "Service": service,
                "Follow-ups": n,
                "Improved": int(counts.get(IMPROVED, 0)),
                "Same": int(counts.get(SAME, 0)),
                "Worse": int(counts.get(WORSE, 0)),
                "Share improved": _share(int(counts.get(IMPROVED, 0)), compared),
                "Actions closed first": int(group["Actions closed first"].astype(bool).sum()),
            }
        )
    return pd.DataFrame.from_records(rows)


def sentence(moved: pd.DataFrame, month: str, months: int = 12) -> str:
    """The Word report's plain sentence about the follow-ups of the last ``months`` months, e.g. "Of 9 cases
    re-audited in the last 12 months, 6 improved, 2 stayed the same and 1 was graded lower; 7 of them had all
    their actions completed first." Categories with none are left out."""
    window = in_window(moved, month, months)
    n = len(window)
    period = f"in the last {months} months"
    if not n:
        return f"No cases were re-audited (follow-up audits) {period}."
    counts = window["Overall"].value_counts()
    closed = int(window["Actions closed first"].astype(bool).sum())
    if n == 1:
        how = {IMPROVED: "improved", SAME: "stayed the same", WORSE: "was graded lower"}.get(
            str(window["Overall"].iloc[0]), "could not be compared with its earlier audit"
        )
        actions = "it had all its actions completed first" if closed else "not all its actions were completed first"
        return f"1 case was re-audited {period}: it {how}, and {actions}."
    improved, same, worse = (int(counts.get(k, 0)) for k in MOVEMENTS)
    unknown = n - improved - same - worse
    parts = [
        f"{count} {text}"
        for count, text in (
            (improved, "improved"),
            (same, "stayed the same"),
            (worse, "was graded lower" if worse == 1 else "were graded lower"),
            (unknown, "could not be compared"),
        )
        if count
    ]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    who = "none" if closed == 0 else "all" if closed == n else str(closed)
    return f"Of {n} cases re-audited {period}, {listed}; {who} of them had all their actions completed first."


def followup_tables(
    audits: pd.DataFrame,
    actions: pd.DataFrame,
    month: str,
    section_names: dict[str, str] | None = None,
    *,
    moved: pd.DataFrame | None = None,
) -> dict[str, pd.DataFrame]:
    """The tables a report shows, over the 12 months to ``month``: ``followup_cases`` (each completed follow-up,
    its case reference and the movement of its overall and section grades), ``followup_sections`` (improved /
    same / worse per section) and ``followup_by_service`` (the share improved by service). ``moved`` is
    :func:`movement` of the same frames when the caller has it already."""
    moved = movement(audits, actions) if moved is None else moved
    window = in_window(moved, month)
    names = section_names or {}
    cases = window[
        [
            "Case reference",
            "Service",
            "Earlier audit month",
            "Follow-up month",
            "Overall before",
            "Overall now",
            "Overall",
            *SECTIONS,
            "Actions closed first",
        ]
    ].rename(columns={"Overall": "Overall grade", **{s: names.get(s, s) for s in SECTIONS}})
    return {
        "followup_cases": cases.reset_index(drop=True),
        "followup_sections": section_movement(window, names),
        "followup_by_service": improved_by_service(moved, month),
    }


def followup_values(
    audits: pd.DataFrame, actions: pd.DataFrame, month: str, *, moved: pd.DataFrame | None = None
) -> dict[str, Any]:
    """The follow-up keys for ``metrics-YYYY-MM.json``: the month's ``followups_due`` and ``followups_completed``,
    and over the 12 months to ``month``: ``followups_compared``, ``followups_improved``, ``followups_same``,
    ``followups_worse``, ``followups_improved_rate`` (a fraction, ``None`` for none) and
    ``followups_actions_closed_first``. ``moved`` is :func:`movement` of the same frames, if already made."""
    moved = in_window(movement(audits, actions) if moved is None else moved, month)
    counts = moved["Overall"].value_counts() if len(moved) else pd.Series(dtype=int)
    compared = int(sum(int(counts.get(k, 0)) for k in MOVEMENTS))
    return {
        "followups_due": followups_due(audits, month),
        "followups_completed": followups_completed(audits, month),
        "followups_compared": compared,
        "followups_improved": int(counts.get(IMPROVED, 0)),
        "followups_same": int(counts.get(SAME, 0)),
        "followups_worse": int(counts.get(WORSE, 0)),
        "followups_improved_rate": _share(int(counts.get(IMPROVED, 0)), compared),
        "followups_actions_closed_first": int(moved["Actions closed first"].astype(bool).sum()) if len(moved) else 0,
    }
