"""Practice standards in the reports (issue 24): the share of audits meeting each standard.

A standard is met when the auditor answered Yes; it applies when the answer is Yes or No ("Not applicable" is left
out of both counts, as are audits whose form did not ask it: forms made before the standards). Counted over the
month's accepted audits, as the grades are; by the case's service; beside the previous month.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from caseaudit_batch.core.framework import Framework, PracticeStandard
from caseaudit_batch.reports.frame import _small_note, rate


def _counts(answers: pd.Series) -> tuple[int, int]:
    """(met, applicable) of one standard's answers."""
    text = answers.map(lambda a: str(a).strip().casefold() if isinstance(a, str) else "")
    met = int((text == "yes").sum())
    return met, met + int((text == "no").sum())


def _figures(audits: pd.DataFrame, standard: PracticeStandard) -> dict[str, Any]:
    met, applicable = _counts(audits[standard.name]) if standard.name in audits else (0, 0)
    return {"met": met, "applicable": applicable, "rate": rate(met, applicable)}


def practice_standards(
    af: pd.DataFrame, month: str, previous: str | None, framework: Framework | None
) -> tuple[dict[str, dict[str, Any]], dict[str, pd.DataFrame]]:
    """The metrics JSON's ``practice_standards`` (ID -> met, applicable, rate) and the reports' two tables:
    ``practice_standards`` (each standard this month and last) and ``practice_standards_by_service``."""
    standards: Sequence[PracticeStandard] = framework.standards if framework else ()
    accepted = af[af["accepted"].astype(bool)]
    now = accepted[accepted["month"] == month]
    before = accepted[accepted["month"] == previous] if previous else accepted.iloc[0:0]
    values: dict[str, dict[str, Any]] = {}
    rows, service_rows = [], []
    for standard in standards:
        this, last = _figures(now, standard), _figures(before, standard)
        values[standard.id] = this
        change = None if this["rate"] is None or last["rate"] is None else this["rate"] - last["rate"]
        rows.append(
            {
                "Standard": standard.question,
                "ID": standard.id,
                "Section": standard.section,
                "Met": this["met"],
                "Applicable": this["applicable"],
                "Share met": this["rate"],
                "Previous month share": last["rate"],
                "Change (points)": None if change is None else round(change * 100),
                "Note": _small_note(this["applicable"], last["applicable"]),
            }
        )
        for service, group in now.groupby("service", sort=True):
            figures = _figures(group, standard)
            service_rows.append(
                {
                    "Service": service,
                    "Standard": standard.question,
                    "ID": standard.id,
                    "Met": figures["met"],
                    "Applicable": figures["applicable"],
                    "Share met": figures["rate"],
                    "Note": _small_note(figures["applicable"]),
                }
            )
    columns = ["Standard", "ID", "Section", "Met", "Applicable", "Share met", "Previous month share"]
    by_service = ["Service", "Standard", "ID", "Met", "Applicable", "Share met", "Note"]
    tables = {
        "practice_standards": pd.DataFrame.from_records(rows, columns=[*columns, "Change (points)", "Note"]),
        "practice_standards_by_service": pd.DataFrame.from_records(service_rows, columns=by_service),
    }
    return values, tables
