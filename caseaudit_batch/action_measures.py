"""The action measures the monthly report shows: pure pandas over the action register, no I/O.

Guidance section 2: "The Quality Assurance Team will monitor and report on rates of compliance with auditing and
completion of actions on a monthly basis ... The Quality Assurance Team will also monitor Service Manager oversight of
actions."

Input: a frame with the columns of :func:`caseaudit_batch.actions.load_actions_frame` (at least ``action_id``,
``source``, ``month``, ``due_date``, ``status``, ``completed_on``, ``signed_off``, ``service``, ``team``), for a report
month M and a report date D. The register is read as it stood at D: an action completed after D counts as open.

- Actions marked No longer required leave every count and every denominator.
- Raised in M: actions of audits allocated for M, and of their moderations (``source`` audit or moderation and
  ``month`` = M).
- Due in M: due date within M. Of those, completed on time (completed on or before the due date, by D) and late
  (completed after the due date, by D).
- Action completion rate = due in M and completed on time ÷ due in M (``None`` when nothing was due).
- Overdue at D: open at D with a due date strictly before D; days overdue = D − due date.
- Service Manager oversight (``sm_oversight_rate``) = actions completed during M (by D) that are signed off ÷ actions
  completed during M.
- RAG status of the completion rate: Green at or above ``actions.green_at_least``, Amber at or above
  ``actions.amber_at_least``, otherwise Red; none when there is no rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import pandas as pd

from .clock import Month

NO_LONGER_REQUIRED = "No longer required"
COMPLETED = "Completed"
RAISED_SOURCES = ("audit", "moderation")

#: Keys of :func:`action_summary` (they are also keys of ``metrics-YYYY-MM.json``).
SUMMARY_KEYS = (
    "actions_raised",
    "actions_due",
    "actions_completed_on_time",
    "actions_completed_late",
    "actions_overdue",
    "action_completion_rate",
    "actions_completed_in_month",
    "actions_signed_off",
    "sm_oversight_rate",
    "action_rag",
)


def _month(month: Month | str) -> Month:
    return month if isinstance(month, Month) else Month.parse(month)


def _dates(series: pd.Series) -> pd.Series:
    """A column of dates (``datetime.date``, ISO text, Timestamps or blanks) as datetime64 with NaT for blanks."""
    return pd.to_datetime(series, errors="coerce")


def live(actions: pd.DataFrame) -> pd.DataFrame:
    """The actions that count: every one except those marked No longer required."""
    return actions.loc[actions["status"] != NO_LONGER_REQUIRED]


def _completed_by(actions: pd.DataFrame, report_date: date) -> pd.Series:
    """True where the action was completed on or before D (a completion recorded later is not yet known at D)."""
    done_on = _dates(actions["completed_on"])
    return (actions["status"] == COMPLETED) & done_on.notna() & (done_on <= pd.Timestamp(report_date))


def raised_in(actions: pd.DataFrame, month: Month | str) -> pd.DataFrame:
    """Actions raised in M: those of audits allocated for M and of their moderations."""
    m = str(_month(month))
    frame = live(actions)
    return frame.loc[frame["source"].isin(RAISED_SOURCES) & (frame["month"].astype("string") == m)]


def due_in(actions: pd.DataFrame, month: Month | str) -> pd.DataFrame:
    """Actions due in M (due date within the month)."""
    m = _month(month)
    frame = live(actions)
    due = _dates(frame["due_date"])
    return frame.loc[(due >= pd.Timestamp(m.first_day)) & (due <= pd.Timestamp(m.last_day))]


def completed_on_time(actions: pd.DataFrame, month: Month | str, report_date: date) -> pd.DataFrame:
    """Due in M and completed on or before the due date (by D)."""
    frame = due_in(actions, month)
    done = _completed_by(frame, report_date)
    return frame.loc[done & (_dates(frame["completed_on"]) <= _dates(frame["due_date"]))]


def completed_late(actions: pd.DataFrame, month: Month | str, report_date: date) -> pd.DataFrame:
    """Due in M and completed after the due date (by D)."""
    frame = due_in(actions, month)
    done = _completed_by(frame, report_date)
    return frame.loc[done & (_dates(frame["completed_on"]) > _dates(frame["due_date"]))]


def overdue_at(actions: pd.DataFrame, report_date: date) -> pd.DataFrame:
    """Actions open at D with a due date strictly before D, with a ``days_overdue`` column (D − due date)."""
    frame = live(actions)
    due = _dates(frame["due_date"])
    d = pd.Timestamp(report_date)
    open_at_d = ~_completed_by(frame, report_date)
    overdue = frame.loc[open_at_d & due.notna() & (due < d)].copy()
    overdue["days_overdue"] = (d - _dates(overdue["due_date"])).dt.days.astype("int64")
    return overdue.sort_values(["days_overdue", "action_id"], ascending=[False, True])


def completed_during(actions: pd.DataFrame, month: Month | str, report_date: date) -> pd.DataFrame:
    """Actions completed during M (and by D)."""
    m = _month(month)
    frame = live(actions)
    done_on = _dates(frame["completed_on"])
    done = _completed_by(frame, report_date)
    return frame.loc[done & (done_on >= pd.Timestamp(m.first_day)) & (done_on <= pd.Timestamp(m.last_day))]


def share(numerator: int, denominator: int) -> float | None:
    """A share as a fraction; ``None`` for a zero denominator (as in ``metrics-YYYY-MM.json``)."""
    return None if denominator == 0 else numerator / denominator


def rag(rate: float | None, green_at_least: float, amber_at_least: float) -> str | None:
    """Green, Amber or Red for a completion rate; ``None`` when there is no rate."""
    if rate is None:
        return None
    if rate >= green_at_least:
        return "Green"
    if rate >= amber_at_least:
        return "Amber"
    return "Red"


def action_summary(
    actions: pd.DataFrame,
    month: Month | str,
    report_date: date,
    *,
    green_at_least: float = 0.90,
    amber_at_least: float = 0.75,
) -> dict[str, Any]:
    """Every action measure for M at D, keyed as in ``metrics-YYYY-MM.json`` (see :data:`SUMMARY_KEYS`)."""
    due = len(due_in(actions, month))
    on_time = len(completed_on_time(actions, month, report_date))
    done_in_month = completed_during(actions, month, report_date)
    signed = int(done_in_month["signed_off"].fillna(False).astype(bool).sum())
    rate = share(on_time, due)
    return {
        "actions_raised": len(raised_in(actions, month)),
        "actions_due": due,
        "actions_completed_on_time": on_time,
        "actions_completed_late": len(completed_late(actions, month, report_date)),
        "actions_overdue": len(overdue_at(actions, report_date)),
        "action_completion_rate": rate,
        "actions_completed_in_month": len(done_in_month),
        "actions_signed_off": signed,
        "sm_oversight_rate": share(signed, len(done_in_month)),
        "action_rag": rag(rate, green_at_least, amber_at_least),
    }


def action_summary_by(
    actions: pd.DataFrame,
    month: Month | str,
    report_date: date,
    by: Sequence[str] = ("service",),
    *,
    green_at_least: float = 0.90,
    amber_at_least: float = 0.75,
) -> pd.DataFrame:
    """:func:`action_summary` for each group (``("service",)`` or ``("service", "team")``): one row per group.

    Every group with any action (of any month) gets a row, so a team with nothing due shows zeros, not a gap.
    """
    keys = list(by)
    rows: list[dict[str, Any]] = []
    frame = actions.copy()
    for key in keys:
        frame[key] = frame[key].fillna("(not recorded)").astype(str)
    for group, part in frame.groupby(keys, sort=True, dropna=False):
        values = group if isinstance(group, tuple) else (group,)
        row = dict(zip(keys, values, strict=True))
        row.update(
            action_summary(part, month, report_date, green_at_least=green_at_least, amber_at_least=amber_at_least)
        )
        rows.append(row)
    result = pd.DataFrame(rows, columns=[*keys, *SUMMARY_KEYS])
    for column in ("action_completion_rate", "sm_oversight_rate", "action_rag"):
        # A missing rate stays None (null in JSON), not NaN.
        result[column] = result[column].astype(object).where(result[column].notna(), None)
    return result
