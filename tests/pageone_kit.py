"""Hand-built figures of issue 20's metrics layer (values and tables page one and the new sections read), added to a
:class:`Metrics` so the report renders them before (and whatever) the metrics layer computes."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pandas as pd

from caseaudit_batch.reports.metrics import Metrics


def trend(rows: list[tuple[str, int, float | None, int, float | None]]) -> pd.DataFrame:
    """A trend table from (month, allocated, completion rate, graded, good-or-better rate) rows."""
    out = []
    for month, allocated, completion, graded, gob in rows:
        good = round((gob or 0) * graded)
        out.append(
            {
                "Month": month,
                "Allocated": allocated,
                "Completed on time": round((completion or 0) * allocated),
                "Completed late": 0,
                "Completion rate": completion,
                "Outstanding": 0,
                "Good": good,
                "Requires Improvement": graded - good,
                "Inadequate": 0,
                "Graded": graded,
                "Good or better": gob,
                "Inadequate share": 0.0 if graded else None,
                "Note": "",
            }
        )
    return pd.DataFrame(out)


def with_new_figures(metrics: Metrics, **values: Any) -> Metrics:
    """``metrics`` with every value and table issue 20's metrics layer adds (overridden by ``values``)."""
    m = copy.copy(metrics)
    m.values = {
        **metrics.values,
        "provisional": ["moderation_agreement_rate"],
        "restated": [{"month": "2026-08", "key": "good_or_better_rate", "first": 0.5, "current": 0.6}],
        "restated_sentences": ["August 2026's good or better was first reported as 50% and is now 60%."],
        "escalations_waiting": {"S900": {"count": 2, "oldest_days": 19}},
        "escalations_resolved_in_month": 1,
        "coverage_rate": 0.42,
        "actions_overdue_30": 1,
        "alerts_unacknowledged": 1,
        "targets_status": {"good_or_better_rate": "not met", "inadequate_rate": "not met"},
        "three_way_meetings_unflagged": 0,
        **values,
    }
    t = dict(metrics.tables)
    t["escalations_open"] = pd.DataFrame(
        {
            "Escalation ID": ["ESC-1", "ESC-2"],
            "Audit reference": ["2026-09-0002", "2026-09-0005"],
            "Case reference": ["C002", "C005"],
            "Kind": ["Grade", "Actions"],
            "Waiting on": ["Hana Head", "Hana Head"],
            "Age (days)": [4, 19],
        }
    )
    t["actions_overdue"] = pd.DataFrame(
        {
            "Action ID": ["ACT-1", "ACT-2", "ACT-3"],
            "Action": ["Update the chronology", "Hold a core group meeting", "Review the plan with the family"],
            "Owner": ["Sam Worker", "Alex Manager", "Jo Worker"],
            "Case reference": ["C002", "C005", "C001"],
            "Service": ["North", "North", "South"],
            "Team": ["North A", "North B", "South A"],
            "Due date": [date(2026, 8, 1), date(2026, 9, 20), date(2026, 9, 1)],
            "Days overdue": [60, 10, 29],
        }
    )
    t["cases_of_concern"] = pd.DataFrame(
        {
            "Audit reference": ["2026-09-0004", "2026-09-0006"],
            "Case reference": ["C004", "C006"],
            "Service": ["South", "North"],
            "Team": ["South A", "North B"],
            "Overall grade": ["Inadequate", "Requires Improvement"],
            "Actions": ["2 open, 1 overdue", "1 completed"],
            "Safeguarding alert": ["Yes", ""],
        }
    )
    t["team_funnel"] = pd.DataFrame(
        {
            "Service": ["North", "North", "South", "South"],
            "Team": ["North A", "North B", "South A", "South B"],
            "Audits graded": [6, 12, 20, 9],
            "Good or better": [5, 4, 16, 6],
            "Rate": [5 / 6, 4 / 12, 0.8, 6 / 9],
            "Lower 95%": [0.3, 0.38, 0.45, 0.35],
            "Upper 95%": [0.95, 0.9, 0.85, 0.92],
            "Lower 99.8%": [0.15, 0.25, 0.35, 0.22],
            "Upper 99.8%": [0.99, 0.96, 0.92, 0.97],
            "Outside": ["", "Below", "", ""],
        }
    )
    sections: dict[str, Any] = {"Service": ["North", "North", "South"], "Team": ["North A", "North B", "South A"]}
    for s in range(1, 10):
        sections[f"Section {s}"] = [0.9 - s * 0.08, 0.5, 0.3 + s * 0.05]
        sections[f"n {s}"] = [6, 12, 20]
    t["section_team_gob"] = pd.DataFrame(sections)
    t["coverage"] = pd.DataFrame(
        {
            "Service": ["North", "North", "South"],
            "Case type": ["CIN", "CP", "CLA"],
            "Open cases": [40, 25, 30],
            "Audited in 12 months": [15, 12, 13],
            "Coverage": [15 / 40, 12 / 25, 13 / 30],
        }
    )
    t["alerts_waiting"] = pd.DataFrame(
        {
            "Alert number": [1],
            "Audit reference": ["2026-09-0004"],
            "Case reference": ["C004"],
            "Team": ["South A"],
            "Raised on": ["2026-09-12"],
        }
    )
    m.tables = t
    return m
