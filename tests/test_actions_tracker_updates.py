"""Returned trackers, as rows: the checks each row must pass, and how updates (and conflicts) reach the register."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from actions_kit import AUDIT_ACTIONS, seed

from caseaudit_batch import session
from caseaudit_batch.actions import register as act
from caseaudit_batch.actions import rules as tr
from caseaudit_batch.actions import sync as act_sync
from caseaudit_batch.actions import updates as act_updates
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.clock import Clock
from caseaudit_batch.workbook.layout import TRACKER_HEADERS

TODAY = date(2026, 10, 20)
CLOCK = Clock(TODAY)
RULES = tr.RuleContext(today=TODAY, known_actions={"ACT-KNOWN00001"}, known_cases={"C1001"})


def row(**cells: Any) -> list[Any]:
    """A tracker row from header names written with underscores (``Action_ID``)."""
    named = {k.replace("_", " "): v for k, v in cells.items()}
    named = {("Service manager sign-off" if k == "sign off" else k): v for k, v in named.items()}
    unknown = set(named) - set(TRACKER_HEADERS)
    assert not unknown, unknown
    return [named.get(h) for h in TRACKER_HEADERS]


def check(*rows: list[Any]) -> tr.CheckedTracker:
    return tr.check_tracker(tr.table_rows(list(rows), first_row=4, sheet="Tracker", file="t.xlsx"), RULES)


def codes(checked: tr.CheckedTracker) -> list[str]:
    return [p.code for p in checked.problems]


# ---------------------------------------------------------------------------------------------------------------
# The row checks
# ---------------------------------------------------------------------------------------------------------------
def test_a_good_tracker_passes_and_is_typed() -> None:
    checked = check(
        row(Action_ID="ACT-KNOWN00001", Status="completed", Completed_on="12/10/2026", sign_off="Yes", Update="Done"),
        [None] * len(TRACKER_HEADERS),  # a blank row is skipped
        row(Case_reference="C1001", Action="Arrange an FGC", Owner="SW", Due_date=date(2026, 11, 30)),
    )
    assert codes(checked) == []
    first, new = checked.entries
    assert (first.status, first.completed_on, first.signed_off) == ("Completed", date(2026, 10, 12), True)
    assert first.row == 4 and new.row == 6 and new.action_id is None and new.due_date == date(2026, 11, 30)
    assert new.status is None  # blank: no change


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ({"Status": "Finished"}, ["ACT001"]),
        ({"Status": "Completed"}, ["ACT002"]),  # Completed needs a completion date
        ({"Status": "Completed", "Completed_on": date(2026, 10, 21)}, ["ACT003"]),  # tomorrow
        ({"Status": "Completed", "Completed_on": "last week"}, ["ACT004"]),
        ({"Status": "Open", "Completed_on": date(2026, 10, 1)}, ["ACT005"]),
        ({"sign_off": "Maybe"}, ["ACT006"]),
        ({"Discussed_in_supervision_on": "soon"}, ["ACT004"]),
    ],
)
def test_each_row_check_catches_its_problem(cells: dict[str, Any], expected: list[str]) -> None:
    checked = check(row(Action_ID="ACT-KNOWN00001", **cells))
    assert codes(checked) == expected
    assert checked.entries == []  # a tracker with an error is returned whole
    assert checked.problems[0].cell.endswith("4") and checked.problems[0].sheet == "Tracker"


def test_completion_today_is_fine_and_sign_off_no_means_not_signed() -> None:
    checked = check(row(Action_ID="ACT-KNOWN00001", Status="Completed", Completed_on=TODAY, sign_off="No"))
    assert codes(checked) == [] and checked.entries[0].signed_off is False


def test_unknown_action_ids_and_incomplete_new_rows_are_errors() -> None:
    checked = check(
        row(Action_ID="ACT-NOTKNOWN01", Status="Open"),
        row(Case_reference="C1001", Action="Visit"),  # no owner, no due date
        row(Case_reference="C9999", Action="Visit", Owner="SW", Due_date="01/12/2026"),
        row(Case_reference="C1001", Action="Visit", Owner="SW", Due_date="sometime"),
    )
    assert codes(checked) == ["ACT007", "ACT008", "ACT009", "ACT012"]
    assert "'Owner' and 'Due date'" in checked.problems[1].message


# ---------------------------------------------------------------------------------------------------------------
# Applying updates to the register
# ---------------------------------------------------------------------------------------------------------------
def entry(action_id: str | None, **values: Any) -> tr.TrackerEntry:
    base: dict[str, Any] = {
        "number": 1,
        "row": 4,
        "action_id": action_id,
        "case_ref": "C1001",
        "action": "",
        "owner": "",
        "due_date": None,
        "status": None,
        "completed_on": None,
        "note": "",
        "supervision_on": None,
        "signed_off": False,
    }
    base.update(values)
    return tr.TrackerEntry(**base)


def submission(conn: sa.Connection, path: str) -> int:
    key = conn.execute(
        sa.insert(reg.submissions).values(
            inbox="actions", filed_month="2026-10", path=path, sha256=path, size=1, outcome="accepted", seen_at="x"
        )
    ).inserted_primary_key
    assert key is not None
    return int(key[0])


def apply(conn: sa.Connection, entries: list[tr.TrackerEntry], baseline: dict, path: str, file_date: date) -> Any:
    return act_updates.apply_tracker_entries(
        conn,
        entries,
        baseline=baseline,
        file_date=file_date,
        clock=CLOCK,
        month="2026-10",
        submission_id=submission(conn, path),
        source_file=path,
    )


@pytest.fixture
def made(ctx: session.Context) -> tuple[session.Context, list[str], dict]:
    """Three actions from an audit, and the baseline a tracker made now would hold."""
    with ctx.register.writer() as conn:
        seed(conn)
        ids = act_sync.sync_audit_actions(conn, "2026-09-0001", AUDIT_ACTIONS, clock=Clock(date(2026, 9, 20))).created
        rows = conn.execute(sa.select(reg.actions)).all()
    baseline = {r.action_id: act_updates.baseline_state(r) for r in rows}
    return ctx, ids, baseline


def state(conn: sa.Connection, action_id: str) -> tuple[Any, ...]:
    r = conn.execute(sa.select(reg.actions).where(reg.actions.c.action_id == action_id)).one()
    return (r.status, r.completed_on, r.signed_off)


def test_an_update_is_applied_and_recorded_with_its_date_and_file(made: Any) -> None:
    ctx, ids, baseline = made
    with ctx.register.writer() as conn:
        result = apply(
            conn,
            [
                entry(ids[0], status="Completed", completed_on=date(2026, 10, 12), signed_off=True),
                entry(ids[1], note="Direct work booked", supervision_on=date(2026, 10, 14)),
                entry(ids[2], status="No longer required"),
            ],
            baseline,
            "SM one.xlsx",
            date(2026, 10, 15),
        )
        assert state(conn, ids[0]) == ("Completed", date(2026, 10, 12), True)
        assert state(conn, ids[2])[0] == "No longer required"
        history = act.action_history(conn, ids[0])
        noted = act.action_history(conn, ids[1])
        supervision = conn.execute(
            sa.select(reg.actions.c.supervision_on).where(reg.actions.c.action_id == ids[1])
        ).scalar()
    assert result.updated == [ids[0], ids[2]] and result.noted == [ids[1]] and result.conflicts == []
    assert history[-1]["on_date"] == date(2026, 10, 12) and history[-1]["source_file"] == "SM one.xlsx"
    assert noted[-1]["note"] == "Direct work booked" and noted[-1]["on_date"] == date(2026, 10, 15)
    assert supervision == date(2026, 10, 14)


def test_two_trackers_disagreeing_the_later_date_stands_and_the_conflict_is_reported(made: Any) -> None:
    ctx, ids, baseline = made
    with ctx.register.writer() as conn:
        # Two copies of one tracker (the same baseline): the team manager's says completed on 12 October, the
        # service manager's says completed on 16 October. The later date stands, whichever file is read first.
        first = apply(
            conn, [entry(ids[0], status="Completed", completed_on=date(2026, 10, 12))], baseline, "tm.xlsx", TODAY
        )
        second = apply(
            conn, [entry(ids[0], status="Completed", completed_on=date(2026, 10, 16))], baseline, "sm.xlsx", TODAY
        )
        after_second = state(conn, ids[0])
        # An older-dated copy arriving last loses, and is still recorded (not applied).
        third = apply(
            conn, [entry(ids[0], status="Completed", completed_on=date(2026, 10, 10))], baseline, "old.xlsx", TODAY
        )
        final = state(conn, ids[0])
        history = act.action_history(conn, ids[0])
    assert first.conflicts == []
    assert after_second == ("Completed", date(2026, 10, 16), False)
    (conflict,) = second.conflicts
    assert conflict.stands_file == "sm.xlsx" and conflict.other_file == "tm.xlsx"
    (lost,) = third.conflicts
    assert lost.stands_file == "sm.xlsx" and lost.other_file == "old.xlsx"
    assert final == ("Completed", date(2026, 10, 16), False)
    assert [h["applied"] for h in history if h["source"] == "tracker"] == [True, True, False]
    text = lost.params()
    assert text["kept"] == "Completed on 16/10/2026" and text["other"] == "Completed on 10/10/2026"


def test_an_open_copy_does_not_undo_a_completion_it_never_changed(made: Any) -> None:
    ctx, ids, baseline = made
    with ctx.register.writer() as conn:
        apply(conn, [entry(ids[0], status="Completed", completed_on=date(2026, 10, 12))], baseline, "a.xlsx", TODAY)
        # The other copy left Status at Open (as made) and only added a note: no disagreement.
        result = apply(conn, [entry(ids[0], status="Open", note="Chased")], baseline, "b.xlsx", TODAY)
        assert state(conn, ids[0]) == ("Completed", date(2026, 10, 12), False)
    assert result.conflicts == [] and result.noted == [ids[0]]


def test_a_later_tracker_builds_on_the_earlier_one_without_a_conflict(made: Any) -> None:
    ctx, ids, baseline = made
    with ctx.register.writer() as conn:
        apply(conn, [entry(ids[0], status="Completed", completed_on=date(2026, 10, 12))], baseline, "oct.xlsx", TODAY)
        rows = conn.execute(sa.select(reg.actions)).all()
        november = {r.action_id: act_updates.baseline_state(r) for r in rows}
        result = apply(
            conn,
            [entry(ids[0], status="Completed", completed_on=date(2026, 10, 12), signed_off=True)],
            november,
            "nov.xlsx",
            TODAY,
        )
        assert state(conn, ids[0]) == ("Completed", date(2026, 10, 12), True)
    assert result.conflicts == [] and result.updated == [ids[0]]


def test_a_supervision_action_on_a_blank_row_joins_the_register_once(made: Any) -> None:
    ctx, _ids, baseline = made
    new = entry(None, action="Arrange an FGC", owner="SW", due_date=date(2026, 11, 30))
    with ctx.register.writer() as conn:
        first = apply(conn, [new], baseline, "a.xlsx", TODAY)
        second = apply(conn, [new], baseline, "b.xlsx", TODAY)
        stored = conn.execute(sa.select(reg.actions).where(reg.actions.c.source == "supervision")).one()
    assert len(first.created) == 1 and second.created == []
    assert stored.action_id == first.created[0] and stored.month == "2026-10"
    assert stored.service_manager_id == "SM1" and stored.due_date == date(2026, 11, 30)
