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
- Due in M: due date within M and on or before D (issue 20: nothing due after D is counted as due or missed, so a
  mid-month report does not count actions not yet due). Of those, completed on time (completed on or before the due
  date, by D) and late (completed after the due date, by D).
- Action completion rate = due in M and completed on time ÷ due in M (``None`` when nothing was due).
- Overdue at D: open at D with a due date strictly before D; days overdue = D − due date.
- Service Manager oversight (``sm_oversight_rate``) = actions completed during M (by D; issue 20: only those) that
  are signed off ÷ actions completed during M.
- RAG status of the completion rate: Green at or above ``actions.green_at_least``, Amber at or above
  ``actions.amber_at_least``, otherwise Red; "none due yet" (:data:`NONE_DUE`) when nothing is due by D (issue 20:
  nothing due is not a failure, so it is neither Red nor 0%).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from caseaudit_batch.core.clock import Month

NO_LONGER_REQUIRED = "No longer required"
#: The RAG value when no action is due by D (issue 20): the renderers show it as it is.
NONE_DUE = "none due yet"
COMPLETED = "Completed"
#: The RAG thresholds when none are given (the defaults of ``[actions] green_at_least`` and ``amber_at_least``).
GREEN_AT_LEAST, AMBER_AT_LEAST = 0.90, 0.75
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


def _select(actions: pd.DataFrame, month: Month | str, report_date: date, flag: str) -> pd.DataFrame:
    """The live actions for which one of :func:`action_flags`' columns is true (one rule, one place)."""
    frame = live(actions)
    return frame.loc[action_flags(actions, month, report_date)[flag]]


#: A report date later than any recorded date, for measures that do not depend on D.
_ANY_DAY = pd.Timestamp.max.date()


def raised_in(actions: pd.DataFrame, month: Month | str) -> pd.DataFrame:
    """Actions raised in M: those of audits allocated for M and of their moderations."""
    return _select(actions, month, _ANY_DAY, "raised")


def due_in(actions: pd.DataFrame, month: Month | str, report_date: date = _ANY_DAY) -> pd.DataFrame:
    """Actions due in M (due date within the month) and by D (issue 20)."""
    return _select(actions, month, report_date, "due")


def completed_on_time(actions: pd.DataFrame, month: Month | str, report_date: date) -> pd.DataFrame:
    """Due in M and completed on or before the due date (by D)."""
    return _select(actions, month, report_date, "on_time")


def completed_late(actions: pd.DataFrame, month: Month | str, report_date: date) -> pd.DataFrame:
    """Due in M and completed after the due date (by D)."""
    return _select(actions, month, report_date, "late")


def overdue_at(actions: pd.DataFrame, report_date: date) -> pd.DataFrame:
    """Actions open at D with a due date strictly before D, with a ``days_overdue`` column (D − due date)."""
    overdue = _select(actions, Month.of(report_date), report_date, "overdue").copy()
    overdue["days_overdue"] = (pd.Timestamp(report_date) - _dates(overdue["due_date"])).dt.days.astype("int64")
    return overdue.sort_values(["days_overdue", "action_id"], ascending=[False, True])


def completed_during(actions: pd.DataFrame, month: Month | str, report_date: date) -> pd.DataFrame:
    """Actions completed during M (and by D)."""
    return _select(actions, month, report_date, "completed_in_month")


def share(numerator: int, denominator: int) -> float | None:
    """A share as a fraction; ``None`` for a zero denominator (as in ``metrics-YYYY-MM.json``)."""
    return None if denominator == 0 else numerator / denominator


def rag(rate: float | None, green_at_least: float, amber_at_least: float) -> str:
    """Green, Amber or Red for a completion rate; :data:`NONE_DUE` when there is no rate (nothing due by D)."""
    if rate is None:
        return NONE_DUE
    if rate >= green_at_least:
        return "Green"
    if rate >= amber_at_least:
        return "Amber"
    return "Red"


#: The per-action flags that the counts in :data:`SUMMARY_KEYS` add up.
FLAG_COUNTS = {
    "actions_raised": "raised",
    "actions_due": "due",
    "actions_completed_on_time": "on_time",
    "actions_completed_late": "late",
    "actions_overdue": "overdue",
    "actions_completed_in_month": "completed_in_month",
    "actions_signed_off": "signed",
}


_FLAG_COLUMNS = ("status", "due_date", "completed_on", "source", "month", "signed_off")


class ActionFlags:
    """The live actions' columns that the flags read, parsed once at D: the flags of any number of months from them
    (issue 25: the reports ask for every month of the window in each pack, and parsing and comparing the columns again
    for each month was most of the action measures' time). The one home of the flags' rules."""

    def __init__(self, actions: pd.DataFrame, report_date: date) -> None:
        # Only the columns the flags read (the whole frame, text included, was copied for each month of a trend).
        frame = actions.loc[actions["status"] != NO_LONGER_REQUIRED, list(_FLAG_COLUMNS)]
        self.index = frame.index
        self.due_on = _dates(frame["due_date"]).to_numpy()
        self.done_on = _dates(frame["completed_on"]).to_numpy()
        self.report_day = np.datetime64(pd.Timestamp(report_date))
        d = self.report_day
        # NaT compares false with every date, so a blank date is never due, done or overdue.
        self.done = (frame["status"] == COMPLETED).to_numpy(dtype=bool) & (self.done_on <= d)
        self.overdue = ~self.done & (self.due_on < d)
        self.raised_source = frame["source"].isin(RAISED_SOURCES).to_numpy(dtype=bool)
        # A blank month becomes "", which no month's text equals.
        self.month = frame["month"].astype("string").fillna("").to_numpy(dtype=object)
        self.signed = frame["signed_off"].fillna(False).astype(bool).to_numpy(dtype=bool)

    def of(self, month: Month | str) -> dict[str, np.ndarray]:
        """Each flag of :data:`FLAG_COUNTS` for ``month``: one True/False per live action, in the frame's order."""
        m = _month(month)
        first, last = np.datetime64(m.first_day), np.datetime64(m.last_day)
        done, due_on, done_on = self.done, self.due_on, self.done_on
        due = (due_on >= first) & (due_on <= last) & (due_on <= self.report_day)  # issue 20: never due after D
        in_month = done & (done_on >= first) & (done_on <= last)
        return {
            "raised": self.raised_source & (self.month == str(m)),
            "due": due,
            "on_time": due & done & (done_on <= due_on),
            "late": due & done & (done_on > due_on),
            "overdue": self.overdue,
            "completed_in_month": in_month,
            "signed": in_month & self.signed,
        }

    def counts(self, month: Month | str) -> dict[str, int]:
        """How many live actions have each flag in ``month``, keyed as :data:`FLAG_COUNTS`."""
        flags = self.of(month)
        return {key: int(np.count_nonzero(flags[flag])) for key, flag in FLAG_COUNTS.items()}

    def summary(
        self, month: Month | str, *, green_at_least: float = GREEN_AT_LEAST, amber_at_least: float = AMBER_AT_LEAST
    ) -> dict[str, Any]:
        """:func:`action_summary` of ``month``."""
        return summary_from_counts(self.counts(month), green_at_least, amber_at_least)


def action_flags(actions: pd.DataFrame, month: Month | str, report_date: date) -> pd.DataFrame:
    """One row per live action with a True/False column per measure (the same rules as the functions above)."""
    flags = ActionFlags(actions, report_date)
    return pd.DataFrame(flags.of(month), index=flags.index, columns=list(FLAG_COUNTS.values())).astype(bool)


def summary_from_counts(counts: dict[str, int], green_at_least: float, amber_at_least: float) -> dict[str, Any]:
    """The measures of :data:`SUMMARY_KEYS` from :meth:`ActionFlags.counts`."""
    rate = share(counts["actions_completed_on_time"], counts["actions_due"])
    summary: dict[str, Any] = {key: counts[key] for key in SUMMARY_KEYS if key in counts}
    summary["action_completion_rate"] = rate
    summary["sm_oversight_rate"] = share(counts["actions_signed_off"], counts["actions_completed_in_month"])
    summary["action_rag"] = rag(rate, green_at_least, amber_at_least)
    return {key: summary[key] for key in SUMMARY_KEYS}


def action_summary(
    actions: pd.DataFrame,
    month: Month | str,
    report_date: date,
    *,
    green_at_least: float = GREEN_AT_LEAST,
    amber_at_least: float = AMBER_AT_LEAST,
) -> dict[str, Any]:
    """Every action measure for M at D, keyed as in ``metrics-YYYY-MM.json`` (see :data:`SUMMARY_KEYS`)."""
    flags = ActionFlags(actions, report_date)
    return flags.summary(month, green_at_least=green_at_least, amber_at_least=amber_at_least)


def action_summary_by(
    actions: pd.DataFrame,
    month: Month | str,
    report_date: date,
    by: Sequence[str] = ("service",),
    *,
    green_at_least: float = GREEN_AT_LEAST,
    amber_at_least: float = AMBER_AT_LEAST,
) -> pd.DataFrame:
    """:func:`action_summary` for each group (``("service",)`` or ``("service", "team")``): one row per group.

    Every group with any action (of any month) gets a row, so a team with nothing due shows zeros, not a gap.
    """
    keys = list(by)
    frame = actions.copy()
    for key in keys:
        frame[key] = frame[key].fillna("(not recorded)").astype(str)
    flags = action_flags(frame, month, report_date)
    # Groups come from every action (No longer required included), so a group never vanishes from the table.
    groups = frame[keys].drop_duplicates().sort_values(keys)
    summed = flags.join(frame[keys]).groupby(keys, sort=True)[list(FLAG_COUNTS.values())].sum()
    # Each group's sums as plain ints, looked up by key (a .loc per group and flag was most of this function's time).
    found = {
        (index if len(keys) > 1 else (index,)): dict(zip(summed.columns, map(int, sums), strict=True))
        for index, sums in zip(summed.index, summed.to_numpy(), strict=True)
    }
    rows: list[dict[str, Any]] = []
    for values in groups.itertuples(index=False, name=None):
        sums = found.get(values, {})
        counts = {key: sums.get(flag, 0) for key, flag in FLAG_COUNTS.items()}
        row: dict[str, Any] = dict(zip(keys, values, strict=True))
        row.update(summary_from_counts(counts, green_at_least, amber_at_least))
        rows.append(row)
    result = pd.DataFrame(rows, columns=[*keys, *SUMMARY_KEYS])
    for column in ("action_completion_rate", "sm_oversight_rate", "action_rag"):
        # A missing rate stays None (null in JSON), not NaN.
        result[column] = result[column].astype(object).where(result[column].notna(), None)
    return result
