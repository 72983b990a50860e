"""The action register: actions from audits and moderations, stable IDs, and resubmitted audits."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date

import sqlalchemy as sa
from actions_kit import AUDIT_ACTIONS, CLOCK, rows_of, seed
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caseaudit_batch import session
from caseaudit_batch.actions import ids as act_ids
from caseaudit_batch.actions import people as act_people
from caseaudit_batch.actions import register as act
from caseaudit_batch.actions import sync as act_sync
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.clock import Clock


def test_actions_are_created_from_an_accepted_audit_with_everything_the_register_keeps(
    ctx: session.Context,
) -> None:
    with ctx.register.writer() as conn:
        seed(conn)
        result = act_sync.sync_audit_actions(conn, "2026-09-0001", AUDIT_ACTIONS, clock=CLOCK, submission_id=7)
        stored = rows_of(conn)
        updates = conn.execute(sa.select(reg.action_updates)).all()
    assert len(result.created) == 3 and not result.replaced
    chronology = stored["Update the chronology"]
    assert chronology["action_id"] in result.created
    assert str(chronology["action_id"]).startswith("ACT-") and len(str(chronology["action_id"])) == 14
    assert chronology["owner"] == "Social worker"
    assert chronology["due_date"] == date(2026, 10, 15)
    assert chronology["source"] == "audit"
    assert chronology["month"] == "2026-09"
    assert chronology["case_ref"] == "C1001"
    assert chronology["service"] == "Children in Need"
    assert chronology["team"] == "CIN East"
    assert chronology["team_manager"] == "Tara Team"
    assert chronology["team_manager_id"] == "TM1"
    # Guidance section 2: the service manager is the case's team manager's line manager.
    assert chronology["service_manager_id"] == "SM1"
    assert chronology["status"] == "Open" and chronology["completed_on"] is None
    assert chronology["signed_off"] is False
    assert [u.kind for u in updates] == ["created"] * 3
    assert {u.submission_id for u in updates} == {7}


def test_action_ids_are_stable_across_re_runs(ctx: session.Context, tmp_path: object) -> None:
    with ctx.register.writer() as conn:
        seed(conn)
        first = act_sync.sync_audit_actions(conn, "2026-09-0001", AUDIT_ACTIONS, clock=CLOCK).created
    # The same history replayed into a fresh register gives the same IDs.
    other = session.open_context(ctx.config.path, "2026-09-20")
    other_url = "sqlite:///" + str(ctx.config.path.parent / "second.sqlite")
    other._register = reg.Register.open(other_url, create=True)
    with other.register.writer() as conn:
        seed(conn)
        again = act_sync.sync_audit_actions(conn, "2026-09-0001", AUDIT_ACTIONS, clock=CLOCK).created
    other.close()
    assert first == again
    assert first[0] == act_ids.action_id_for("audit", "2026-09-0001", "update the chronology")


def test_the_same_text_twice_in_one_audit_is_two_actions(ctx: session.Context) -> None:
    twice = [["Visit the child", "SW", "2026-10-01"], ["visit the child.", "SW", "2026-11-01"]]
    with ctx.register.writer() as conn:
        seed(conn)
        result = act_sync.sync_audit_actions(conn, "2026-09-0001", twice, clock=CLOCK)
        again = act_sync.sync_audit_actions(conn, "2026-09-0001", twice, clock=CLOCK)
    assert len(set(result.created)) == 2
    assert again.created == [] and sorted(again.kept) == sorted(result.created)


def test_blank_rows_are_not_actions_and_bad_dates_are_kept_blank(ctx: session.Context) -> None:
    rows = [
        ["", "", ""],
        [None, "SW", "2026-10-01"],
        ["  Write the plan  ", " SW ", "not a date"],
        ["Visit", "", "03/10/2026"],
    ]
    with ctx.register.writer() as conn:
        seed(conn)
        result = act_sync.sync_audit_actions(conn, "2026-09-0001", rows, clock=CLOCK)
        stored = rows_of(conn)
    assert len(result.created) == 2
    assert stored["Write the plan"]["owner"] == "SW" and stored["Write the plan"]["due_date"] is None
    # dd/mm/yyyy means 3 October in England.
    assert stored["Visit"]["due_date"] == date(2026, 10, 3) and stored["Visit"]["owner"] is None


def test_a_resubmitted_audit_keeps_updates_on_unchanged_actions(ctx: session.Context) -> None:
    with ctx.register.writer() as conn:
        seed(conn)
        first = act_sync.sync_audit_actions(conn, "2026-09-0001", AUDIT_ACTIONS, clock=CLOCK)
        before = rows_of(conn)
        chronology_id = before["Update the chronology"]["action_id"]
        direct_work_id = before["Complete direct work with the child"]["action_id"]
        supervision_id = before["Hold a supervision on the plan"]["action_id"]
        # A manager recorded progress on the chronology action, and completed the supervision one.
        conn.execute(
            sa.insert(reg.action_updates).values(
                action_id=chronology_id, kind="update", note="Started", recorded_at="x", on_date=date(2026, 9, 25)
            )
        )
        conn.execute(
            sa.update(reg.actions)
            .where(reg.actions.c.action_id == supervision_id)
            .values(status="Completed", completed_on=date(2026, 9, 26))
        )
        resubmitted = [
            ["update the  chronology.", "Social worker", "2026-10-20"],  # same text, later due date
            ["Invite the father to the next review", "Social worker", "2026-10-31"],  # new
            # direct work and supervision dropped
        ]
        second = act_sync.sync_audit_actions(
            conn, "2026-09-0001", resubmitted, clock=Clock(date(2026, 9, 28)), source_file="v2.xlsx"
        )
        after = {r.action_id: r for r in conn.execute(sa.select(reg.actions)).all()}
        history = act.action_history(conn, chronology_id)

    assert second.changed == [chronology_id]
    assert len(second.created) == 1 and second.created[0] not in first.created
    assert second.replaced == [direct_work_id]
    # The unchanged action keeps its ID, its updates and takes the new due date and wording.
    assert after[chronology_id].due_date == date(2026, 10, 20)
    assert after[chronology_id].text == "update the chronology."
    assert [h["note"] for h in history][:2] == ["Raised by the audit.", "Started"]
    assert "due date changed from 15/10/2026 to 20/10/2026" in str(history[-1]["note"])
    assert history[-1]["source_file"] == "v2.xlsx"
    # A dropped open action is closed as No longer required (replaced); a completed one stays completed.
    assert after[direct_work_id].status == "No longer required"
    assert after[direct_work_id].status_reason == "replaced"
    assert after[supervision_id].status == "Completed"


def test_an_action_dropped_then_restored_is_reopened_with_its_id(ctx: session.Context) -> None:
    with ctx.register.writer() as conn:
        seed(conn)
        first = act_sync.sync_audit_actions(conn, "2026-09-0001", AUDIT_ACTIONS, clock=CLOCK)
        act_sync.sync_audit_actions(conn, "2026-09-0001", AUDIT_ACTIONS[:1], clock=CLOCK)
        third = act_sync.sync_audit_actions(conn, "2026-09-0001", AUDIT_ACTIONS, clock=CLOCK)
        statuses = {r.action_id: r.status for r in conn.execute(sa.select(reg.actions)).all()}
    assert third.created == []
    assert sorted(third.reopened) == sorted(first.created[1:])
    assert set(statuses.values()) == {"Open"} and len(statuses) == 3


def test_moderation_actions_are_kept_apart_from_the_audits_own(ctx: session.Context) -> None:
    m_actions = [["Update the chronology", "Team manager", "2026-10-30"], ["Refer to the virtual school", "SW", None]]
    with ctx.register.writer() as conn:
        seed(conn)
        audit = act_sync.sync_audit_actions(conn, "2026-09-0001", AUDIT_ACTIONS, clock=CLOCK)
        moderation = act_sync.sync_moderation_actions(conn, "2026-09-0001", m_actions, clock=CLOCK, submission_id=9)
        # A resubmitted moderation without actions closes its own actions only.
        again = act_sync.sync_moderation_actions(conn, "2026-09-0001", [], clock=CLOCK)
        rows = {r.action_id: r for r in conn.execute(sa.select(reg.actions)).all()}
    assert len(moderation.created) == 2
    assert not set(moderation.created) & set(audit.created)  # the same text from the moderator is another action
    assert {rows[i].source for i in moderation.created} == {"moderation"}
    assert {rows[i].month for i in moderation.created} == {"2026-09"}
    assert {rows[i].service_manager_id for i in moderation.created} == {"SM1"}
    assert sorted(again.replaced) == sorted(moderation.created)
    assert {rows[i].status for i in audit.created} == {"Open"}


def test_a_supervision_action_is_added_once(ctx: session.Context) -> None:
    with ctx.register.writer() as conn:
        seed(conn)
        context = act_people.context_for_case(conn, "C1001", "2026-10")
        row = act_ids.ActionRow("Arrange a family group conference", "SW", date(2026, 11, 1))
        first, created = act_sync.add_supervision_action(conn, row, context, clock=CLOCK, source_file="t.xlsx")
        second, created_again = act_sync.add_supervision_action(conn, row, context, clock=CLOCK)
        stored = conn.execute(sa.select(reg.actions).where(reg.actions.c.action_id == first)).one()
    assert created and not created_again and first == second
    assert stored.source == "supervision" and stored.audit_id is None
    assert stored.service_manager_id == "SM1" and stored.team == "CIN East"


def test_load_actions_frame_gives_the_columns_the_reports_read(ctx: session.Context) -> None:
    with ctx.register.writer() as conn:
        seed(conn)
        act_sync.sync_audit_actions(conn, "2026-09-0001", AUDIT_ACTIONS, clock=CLOCK)
        frame = act.load_actions_frame(conn)
    for column in ("action_id", "audit_id", "source", "due_date", "status", "completed_on", "signed_off"):
        assert column in frame.columns
    assert len(frame) == 3 and frame["signed_off"].dtype == bool


def test_the_register_catches_up_with_current_audits_and_moderations_once(ctx: session.Context) -> None:
    def accept(conn: sa.Connection, table: sa.Table, path: str, answers: dict, **extra: object) -> int:
        key = conn.execute(
            sa.insert(reg.submissions).values(
                inbox="audits", filed_month="2026-09", path=path, sha256=path, size=1, outcome="accepted", seen_at="x"
            )
        ).inserted_primary_key
        assert key is not None
        conn.execute(sa.update(table).where(table.c.audit_id == "2026-09-0001").values(current=False))
        conn.execute(
            sa.insert(table).values(
                audit_id="2026-09-0001", submission_id=key[0], answers=answers, current=True, accepted_at="x", **extra
            )
        )
        return int(key[0])

    with ctx.register.writer() as conn:
        seed(conn)
        accept(conn, reg.audits, "v1.xlsx", {"actions": AUDIT_ACTIONS}, month="2026-09")
        accept(conn, reg.moderations, "m1.xlsx", {"m_actions": [["Refer to the virtual school", "SW", None]]})
        first = act_sync.sync_from_register(conn, CLOCK)
        again = act_sync.sync_from_register(conn, CLOCK)
        accept(conn, reg.audits, "v2.xlsx", {"actions": AUDIT_ACTIONS[:2]}, month="2026-09")
        third = act_sync.sync_from_register(conn, CLOCK)
        replaced = conn.execute(sa.select(reg.actions).where(reg.actions.c.status_reason == "replaced")).one()
        history = act.action_history(conn, replaced.action_id)
    assert first.created == 4 and len(first.synced) == 2
    assert again.synced == []  # nothing new: nothing done
    assert third.created == 0 and third.replaced == 1 and len(third.synced) == 1
    assert replaced.text == AUDIT_ACTIONS[2][0]
    assert history[-1]["source_file"] == "v2.xlsx"


TEXTS = st.lists(st.sampled_from(["Visit", "visit.", "Update the plan", "Chronology", "Refer to CAMHS"]), max_size=6)
_EXAMPLES = itertools.count(1)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=TEXTS, second=TEXTS)
def test_any_resubmission_leaves_exactly_the_new_versions_actions_open(
    ctx: session.Context, first: list[str], second: list[str]
) -> None:
    audit_id = f"2026-09-P{next(_EXAMPLES):04d}"  # one register for every example: a fresh audit each time
    with ctx.register.writer() as conn:
        if conn.execute(sa.select(reg.staff.c.staff_id)).first() is None:
            seed(conn, audit_id)
        else:
            seed_allocation(conn, audit_id)
        v1 = act_sync.sync_audit_actions(conn, audit_id, [[t, "SW", None] for t in first], clock=CLOCK)
        v2 = act_sync.sync_audit_actions(conn, audit_id, [[t, "SW", None] for t in second], clock=CLOCK)
        rows = conn.execute(sa.select(reg.actions).where(reg.actions.c.audit_id == audit_id)).all()
    norm = act_ids.normalise_text
    open_texts = sorted(r.norm_text for r in rows if r.status == "Open")
    assert open_texts == sorted(norm(t) for t in second)
    # Matching is by text, as a multiset: only the extra copies of a text are new actions.
    first_counts = Counter(norm(t) for t in first)
    second_counts = Counter(norm(t) for t in second)
    assert len(v2.created) == sum(max(0, n - first_counts[text]) for text, n in second_counts.items())
    assert len(v2.replaced) == sum(max(0, n - second_counts[text]) for text, n in first_counts.items())
    assert set(v1.created) >= set(v2.kept + v2.changed)
    assert len(rows) == len({r.action_id for r in rows})


def seed_allocation(conn: sa.Connection, audit_id: str) -> None:
    conn.execute(
        sa.insert(reg.allocations).values(
            audit_id=audit_id,
            month="2026-09",
            staff_id="AUD1",
            case_ref="C1001",
            due_date=date(2026, 9, 30),
            framework_version="x",
            prefilled={},
            created_at="x",
        )
    )


def test_the_bulk_catch_up_makes_the_same_actions_as_syncing_each_audit_alone(ctx: session.Context) -> None:
    """``sync_from_register`` reads in bulk and writes its rows together (issue 5's speed); what it records must
    be exactly what one-at-a-time syncing records, repeated texts and all."""
    forms = {
        "2026-09-0001": AUDIT_ACTIONS,
        "2026-09-0002": [["Visit the child", "SW", "2026-10-01"], ["visit the child.", "SW", "2026-11-01"]],
        "2026-09-0003": [],
    }

    def recorded(conn: sa.Connection) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
        a = reg.actions.c
        actions = conn.execute(
            sa.select(a.action_id, a.audit_id, a.seq, a.text, a.owner, a.due_date, a.service, a.team_manager_id)
            .where(a.source == "audit")
            .order_by(a.action_id)
        ).all()
        u = reg.action_updates.c
        updates = conn.execute(
            sa.select(u.action_id, u.kind, u.status, u.note, u.source_file).order_by(u.action_id, u.kind)
        ).all()
        return [tuple(r) for r in actions], [tuple(r) for r in updates]

    def register(name: str) -> session.Context:
        other = session.open_context(ctx.config.path, "2026-09-20")
        other._register = reg.Register.open("sqlite:///" + str(ctx.config.path.parent / name), create=True)
        with other.register.writer() as conn:
            for audit_id, rows in forms.items():
                seed(conn, audit_id)
                key = conn.execute(
                    sa.insert(reg.submissions).values(
                        inbox="audits",
                        filed_month="2026-09",
                        path=f"{audit_id}.xlsx",
                        sha256=audit_id,
                        size=1,
                        outcome="accepted",
                        seen_at="x",
                    )
                ).inserted_primary_key
                assert key is not None
                conn.execute(
                    sa.insert(reg.audits).values(
                        audit_id=audit_id,
                        submission_id=key[0],
                        answers={"actions": rows},
                        current=True,
                        accepted_at="x",
                        month="2026-09",
                    )
                )
        return other

    bulk, single = register("bulk.sqlite"), register("single.sqlite")
    with bulk.register.writer() as conn:
        caught_up = act_sync.sync_from_register(conn, CLOCK)
        by_bulk = recorded(conn)
    with single.register.writer() as conn:
        for audit_id, rows in forms.items():
            act_sync.sync_audit_actions(conn, audit_id, rows, clock=CLOCK, source_file=f"{audit_id}.xlsx")
        by_single = recorded(conn)
    bulk.close()
    single.close()
    assert caught_up.created == 5 and len(by_bulk[0]) == 5
    assert len({r[0] for r in by_bulk[0] if r[1] == "2026-09-0002"}) == 2  # the repeated text: two actions
    assert by_bulk == by_single
