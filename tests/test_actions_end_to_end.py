"""From a completed audit form to the action register and a tracker, through the real ingest of the audits inbox."""

from __future__ import annotations

import os
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from formkit import allocate, good_answers, make_form
from openpyxl import load_workbook

from caseaudit_batch import session
from caseaudit_batch.actions import measures as action_measures
from caseaudit_batch.actions import register as act
from caseaudit_batch.actions import stage as actions_stage
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.clock import LONDON, Month
from caseaudit_batch.ingest import stage as ingest_stage

FIRST = [
    ("Update the chronology", "Sam Worker", date(2026, 10, 15)),
    ("Complete direct work with the child", "Sam Worker", date(2026, 10, 31)),
]
SECOND = [
    ("Update the chronology.", "Sam Worker", date(2026, 10, 20)),  # same action, new due date
    ("Invite the father to the review", "Sam Worker", date(2026, 11, 10)),  # new; direct work dropped
]


def drop_form(ctx: session.Context, alloc: dict[str, Any], name: str, actions: list[tuple[Any, ...]], day: int) -> None:
    data = make_form(ctx.framework, alloc, good_answers(ctx.framework), actions)
    path = ctx.config.inbox("audits") / name
    path.write_bytes(data)
    stamp = datetime(2026, 9, day, 12, tzinfo=LONDON).timestamp()
    os.utime(path, (stamp, stamp))


def actions_now(ctx: session.Context) -> dict[str, Any]:
    with ctx.register.reader() as conn:
        return {r.norm_text: r for r in conn.execute(sa.select(reg.actions)).all()}


def test_an_accepted_audit_then_its_resubmission_reach_the_register_and_the_tracker(
    workspace: Any, ctx: session.Context
) -> None:
    with ctx.register.engine.begin() as conn:
        alloc = allocate(conn, ctx.framework)
    drop_form(ctx, alloc, "first.xlsx", FIRST, 20)
    assert ingest_stage.ingest_inbox(ctx, "2026-09").exit_code == 0
    made = actions_stage.actions_month(ctx, "2026-09")
    assert made.exit_code == 0
    first = actions_now(ctx)
    chronology = first["update the chronology"]
    assert chronology.audit_id == alloc["audit_id"] and chronology.service_manager_id == "SM1"
    assert chronology.team_manager == "Terry Manager" and chronology.month == "2026-09"
    tracker = ctx.config.output_dir / "2026-09" / "actions" / "2026-09_actions_Sue_Service.xlsx"
    assert tracker in made.outputs
    wb = load_workbook(tracker)
    sheet, _ref = next(iter(wb.defined_names["tracker"].destinations))
    listed = [row[0] for row in wb[sheet].iter_rows(min_row=5, values_only=True) if row[0]]
    assert sorted(listed) == sorted(r.action_id for r in first.values())

    # The auditor sends a corrected version: the unchanged action keeps its ID and history.
    drop_form(ctx, alloc, "second.xlsx", SECOND, 25)
    ingested = ingest_stage.ingest_inbox(ctx, "2026-09")
    assert ingested.exit_code == 0
    # Ingest brings the action register up to date in its own transaction; `actions` then has nothing to replace.
    assert "1 replaced" in " ".join(ingested.lines)
    again = actions_stage.actions_month(ctx, "2026-09")
    assert again.exit_code == 0
    second = actions_now(ctx)
    assert second["update the chronology"].action_id == chronology.action_id
    assert second["update the chronology"].due_date == date(2026, 10, 20)
    assert second["complete direct work with the child"].status == "No longer required"
    assert second["complete direct work with the child"].status_reason == "replaced"
    assert second["invite the father to the review"].status == "Open"
    with ctx.register.reader() as conn:
        frame = act.load_actions_frame(conn)
    summary = action_measures.action_summary(frame, Month(2026, 9), date(2026, 9, 30))
    assert summary["actions_raised"] == 2  # the replaced action left the count
    assert summary["actions_due"] == 0
