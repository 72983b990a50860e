"""The action register: every action an audit, a moderation or a supervision raises, tracked to completion.

Guidance section 2: "It is the responsibility of the Team Manager and Service Manager to track the actions; Service
Managers will be responsible for ensuring that identified actions have been completed within required timescales."
"On receipt of the moderation form, Team Managers should discuss any additional actions with the Social Worker".

The register keeps ``actions`` rows (one per action, its current state) and ``action_updates`` (every change, dated,
with the file it came from). This module reads them back: :func:`load_actions_frame` gives the measures
(``actions/measures.py``, pure, no I/O) their input, and :func:`action_history` an action's updates. Writing them is
elsewhere: action IDs and text in :mod:`~caseaudit_batch.actions.ids`, who an action belongs to in
:mod:`~caseaudit_batch.actions.people`, the sync from accepted audits and moderations in
:mod:`~caseaudit_batch.actions.sync`, and returned trackers in :mod:`~caseaudit_batch.actions.updates`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from caseaudit_batch.core import register as reg

if TYPE_CHECKING:
    import pandas as pd


# ---------------------------------------------------------------------------------------------------------------
# Reading the register for the measures and trackers
# ---------------------------------------------------------------------------------------------------------------
#: The columns of :func:`load_actions_frame` (the input of ``action_measures``).
FRAME_COLUMNS = (
    "action_id",
    "audit_id",
    "source",
    "month",
    "text",
    "owner",
    "due_date",
    "status",
    "status_reason",
    "completed_on",
    "signed_off",
    "case_ref",
    "service",
    "team",
    "team_manager",
    "team_manager_id",
    "service_manager_id",
    "supervision_on",
)


def load_actions_frame(conn: Connection) -> pd.DataFrame:
    """Every action in the register as a DataFrame (dates as ``datetime.date``), ready for ``action_measures``."""
    import pandas as pd  # here, not at the top: every command imports this module, and pandas costs ~0.3 s to load

    columns = [reg.actions.c[name] for name in FRAME_COLUMNS]
    rows = conn.execute(sa.select(*columns).order_by(reg.actions.c.action_id)).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=list(FRAME_COLUMNS))
    frame["signed_off"] = frame["signed_off"].astype(bool)
    return frame


def action_history(conn: Connection, action_id: str) -> list[dict[str, Any]]:
    """An action's updates, oldest first (each with its date, what changed, note and source file)."""
    rows = conn.execute(
        sa.select(reg.action_updates)
        .where(reg.action_updates.c.action_id == action_id)
        .order_by(reg.action_updates.c.id)
    ).all()
    return [dict(r._mapping) for r in rows]
