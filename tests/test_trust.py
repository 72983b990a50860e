"""Issue 20, "figures can be trusted": each new rule checked against a small hand-worked register.

October 2026, two services. The tables below are all a QA officer would write down; every expected figure is
counted by hand in the test's comment.
"""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from caseaudit_batch.actions import measures as am
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.clock import Month
from caseaudit_batch.reports.data import RegisterData
from caseaudit_batch.reports.frame import funnel_limits
from caseaudit_batch.reports.metrics import compute_metrics, restatement_sentences, snapshot_values
from caseaudit_batch.reports.targets import Targets

SEP, OCT = Month(2026, 9), Month(2026, 10)
G, RI, INAD = "Good", "Requires Improvement", "Inadequate"

STAFF = [
    ("A1", "Ann Able", "Team Manager", "North A", "North", "S1"),
    ("A2", "Ben Brook", "Team Manager", "South A", "South", "S2"),
    ("H1", "Hal Hill", "Head of Service", "", "North", "AD"),
]


def alloc(audit_id, month, case_ref, service, team, due, staff="A1", case_type="CP"):  # type: ignore[no-untyped-def]
    return {
        "audit_id": audit_id,
        "month": month,
        "staff_id": staff,
        "case_ref": case_ref,
        "due_date": due,
        "kind": "audit",
        "case_type": case_type,
        "service": service,
        "team": team,
        "audit_ref": f"{month}-{audit_id[-4:]}",
    }


def audit(row_id, audit_id, month, completed, overall, three_way="Not applicable"):  # type: ignore[no-untyped-def]
    return {
        "row_id": row_id,
        "audit_id": audit_id,
        "month": month,
        "date_completed": completed,
        "late": False,
        "overall_grade": overall,
        "three_way_meeting": three_way,
        "safeguarding_concern": "No",
    }


def action(action_id, audit_id, due, status="Open", completed=None, service="North", text="Update the plan"):  # type: ignore[no-untyped-def]
    return {
        "action_id": action_id,
        "audit_id": audit_id,
        "source": "audit",
        "due_date": due,
        "status": status,
        "completed_on": completed,
        "signed_off": False,
        "case_ref": "C1",
        "service": service,
        "team": "North A",
        "text": text,
        "owner": "Ann Able",
    }


# ------------------------------------------------------------------------------------------------------------
# 1. Nothing due is not a failure
# ------------------------------------------------------------------------------------------------------------
def test_a_mid_month_report_with_nothing_due_yet_is_null_and_none_due_yet() -> None:
    # D = 10 October; the month's only actions are due 20 and 31 October: nothing is due by D.
    data = RegisterData.build(
        OCT,
        allocations=[alloc("AUD-0001", "2026-10", "C1", "North", "North A", date(2026, 10, 31))],
        actions=[action("X1", "AUD-0001", date(2026, 10, 20)), action("X2", "AUD-0001", date(2026, 10, 31))],
    )
    v = compute_metrics(data, report_date=date(2026, 10, 10)).values
    assert v["actions_due"] == 0 and v["actions_overdue"] == 0
    assert v["action_completion_rate"] is None
    assert v["action_rag"] == am.NONE_DUE == "none due yet"
    assert v["targets_status"]["action_completion_rate"] is None
    # At the month's end both are due: one done on time, one missed.
    late = RegisterData.build(
        OCT,
        allocations=data.allocations.to_dict("records"),
        actions=[
            action("X1", "AUD-0001", date(2026, 10, 20), "Completed", date(2026, 10, 19)),
            action("X2", "AUD-0001", date(2026, 10, 31)),
        ],
    )
    v = compute_metrics(late, report_date=date(2026, 11, 5)).values
    assert (v["actions_due"], v["actions_completed_on_time"], v["action_completion_rate"]) == (2, 1, 0.5)


# ------------------------------------------------------------------------------------------------------------
# 2. Provisional measures
# ------------------------------------------------------------------------------------------------------------
def test_provisional_lists_action_and_moderation_measures_until_they_are_final() -> None:
    allocations = [alloc("AUD-0001", "2026-09", "C1", "North", "North A", date(2026, 9, 30))]
    sample = [("AUD-0001", "H1", date(2026, 10, 14))]
    data = RegisterData.build(SEP, allocations=allocations, moderation_sample=sample)
    # D = 30 September: the trackers have a cycle to run and the moderation form is due 14 October.
    early = compute_metrics(data, report_date=date(2026, 9, 30)).values["provisional"]
    assert {"action_completion_rate", "actions_due", "moderation_agreement_rate", "good_or_better_rate"} <= set(early)
    assert "completion_rate" not in early  # audit completion is final at D
    # D = 20 October: the moderation form is due, the tracker cycle (31 days after 30 September) not yet over.
    mid = compute_metrics(data, report_date=date(2026, 10, 20)).values["provisional"]
    assert "action_completion_rate" in mid and "moderation_agreement_rate" not in mid
    # D = 31 October: 31 days after the month's end, everything is final.
    assert compute_metrics(data, report_date=date(2026, 10, 31)).values["provisional"] == []
    # A shorter cycle ends sooner.
    short = compute_metrics(data, report_date=date(2026, 10, 20), targets=Targets(tracker_cycle_days=14))
    assert short.values["provisional"] == []


# ------------------------------------------------------------------------------------------------------------
# 3. Restated history
# ------------------------------------------------------------------------------------------------------------
def test_a_late_tracker_return_restates_the_earlier_month() -> None:
    # September's report (D = 30 Sept) said 1 of 2 actions due was completed on time: 50%. Since then a late tracker
    # return recorded that the other was completed on 25 September, before its due date: now 2 of 2, 100%.
    allocations = [
        alloc("AUD-0001", "2026-09", "C1", "North", "North A", date(2026, 9, 30)),
        alloc("AUD-0002", "2026-10", "C2", "North", "North A", date(2026, 10, 31)),
    ]
    actions = [
        action("X1", "AUD-0001", date(2026, 9, 20), "Completed", date(2026, 9, 18)),
        action("X2", "AUD-0001", date(2026, 9, 28), "Completed", date(2026, 9, 25)),
    ]
    snapshots = [
        ("2026-09", "action_completion_rate", 0.5, "2026-10-01"),
        ("2026-09", "completion_rate", 0.0, "2026-10-01"),  # unchanged: no audit came back since
        ("2026-09", "good_or_better_rate", None, "2026-10-01"),
    ]
    data = RegisterData.build(OCT, allocations=allocations, actions=actions, snapshots=snapshots)
    v = compute_metrics(data, report_date=date(2026, 10, 31)).values
    assert v["restated"] == [{"month": "2026-09", "key": "action_completion_rate", "first": 0.5, "current": 1.0}]
    assert restatement_sentences(v) == [
        "September's action completion, first reported as 50%, is now 100% after late tracker returns."
    ]
    # Within the margin nothing is restated (a change of exactly 50 points is not more than 50).
    wide = compute_metrics(data, report_date=date(2026, 10, 31), targets=Targets(restate_margin_points=50))
    assert wide.values["restated"] == []
    # A service pack restates nothing: the snapshots are the whole authority's first reports, not the service's.
    pack = compute_metrics(data.for_service("North"), report_date=date(2026, 10, 31)).values
    assert pack["restated"] == []


def test_the_example_sentence_and_another_year() -> None:
    values = {
        "month": "2027-01",
        "restated": [
            {"month": "2026-09", "key": "action_completion_rate", "first": 0.45, "current": 0.82},
            {"month": "2027-01", "key": "good_or_better_rate", "first": 0.5, "current": 0.6},
        ],
    }
    assert restatement_sentences(values) == [
        "September 2026's action completion, first reported as 45%, is now 82% after late tracker returns.",
        "January's good or better share, first reported as 50%, is now 60% after moderation.",
    ]


def test_the_snapshot_is_written_once() -> None:
    engine = sa.create_engine("sqlite://")
    reg.metadata.create_all(engine)
    first = snapshot_values({"completion_rate": 0.5, "action_completion_rate": None})
    with engine.begin() as conn:
        assert reg.write_report_snapshot(conn, "2026-09", first, "2026-10-01")
        assert not reg.write_report_snapshot(conn, "2026-09", {"completion_rate": 0.9}, "2026-10-05")
        rows = conn.execute(sa.select(reg.report_snapshots.c.key, reg.report_snapshots.c.value)).all()
    assert dict(rows)["completion_rate"] == 0.5 and dict(rows)["action_completion_rate"] is None


# ------------------------------------------------------------------------------------------------------------
# 4. Three-way meetings follow the allocation's flag
# ------------------------------------------------------------------------------------------------------------
def test_the_three_way_measure_follows_the_allocation_flag() -> None:
    # C1 and C2 were flagged at allocation; C1's auditor held the meeting, C2's did not. C3 was not flagged but its
    # auditor answered Yes: shown apart. C4: No, not flagged: nothing.
    due = date(2026, 10, 31)
    data = RegisterData.build(
        OCT,
        allocations=[alloc(f"AUD-000{n}", "2026-10", f"C{n}", "North", "North A", due) for n in range(1, 5)],
        audits=[
            audit(1, "AUD-0001", "2026-10", date(2026, 10, 5), G, "Yes"),
            audit(2, "AUD-0002", "2026-10", date(2026, 10, 5), G, "No"),
            audit(3, "AUD-0003", "2026-10", date(2026, 10, 5), G, "Yes"),
            audit(4, "AUD-0004", "2026-10", date(2026, 10, 5), G, "No"),
        ],
        notes=[
            ("2026-10", "three_way", None, "Re-allocated 2 October", "AUD-0001"),
            ("2026-10", "three_way", None, "Re-allocated 9 October", "AUD-0002"),
        ],
    )
    v = compute_metrics(data, report_date=date(2026, 10, 31)).values
    assert (v["three_way_meetings_needed"], v["three_way_meetings_held"]) == (2, 1)
    assert v["three_way_meeting_rate"] == 0.5 and v["three_way_meetings_unflagged"] == 1
    unflagged = RegisterData.build(
        OCT, allocations=data.allocations.to_dict("records"), audits=data.audits.to_dict("records")
    )
    assert compute_metrics(unflagged, report_date=date(2026, 10, 31)).values["three_way_meeting_rate"] is None


# ------------------------------------------------------------------------------------------------------------
# 5. Funnel limits, coverage
# ------------------------------------------------------------------------------------------------------------
def test_funnel_limits_worked_example() -> None:
    # p = 0.75, n = 20: √(0.75 × 0.25 / 20) = 0.0968; 95%: ± 1.96 × 0.0968 = ± 0.190; 99.8%: ± 3.09 × 0.0968 = ± 0.299
    low, high = funnel_limits(0.75, 20, 1.96)
    assert (round(low, 3), round(high, 3)) == (0.560, 0.940)
    low, high = funnel_limits(0.75, 20, 3.09)
    assert (round(low, 3), round(high, 3)) == (0.451, 1.000)  # 1.049 clipped to 1


def test_team_funnel_marks_a_team_outside_its_limits() -> None:
    # North A: 10 graded, all Good; South A: 10 graded, 2 Good. Authority p = 12/20 = 0.6; n = 10:
    # half-widths 1.96 × √(0.024) = 0.304 and 3.09 × 0.1549 = 0.479: North A (1.0) is above 95% (0.904) but not
    # above 99.8% (1.079 → 1.0); South A (0.2) is below 95% (0.296) but not below 99.8% (0.121).
    due = date(2026, 10, 31)
    allocations = [alloc(f"AUD-{n:04d}", "2026-10", f"C{n}", "North" if n <= 10 else "South",
                         "North A" if n <= 10 else "South A", due) for n in range(1, 21)]  # fmt: skip
    audits = [audit(n, f"AUD-{n:04d}", "2026-10", date(2026, 10, 5), G if n <= 12 else RI) for n in range(1, 21)]
    t = compute_metrics(RegisterData.build(OCT, allocations=allocations, audits=audits), report_date=due).tables
    funnel = t["team_funnel"].set_index("Team")
    assert funnel.loc["North A", "Outside"] == "above 95%" and funnel.loc["South A", "Outside"] == "below 95%"
    assert funnel.loc["South A", "Lower 95%"] == pytest.approx(0.6 - 1.96 * (0.024**0.5))
    heat = t["section_team_gob"]
    assert list(heat.columns[:4]) == ["Service", "Team", "S1 good or better", "S1 n"]


def test_coverage_against_a_hand_count() -> None:
    # Open cases: C1, C2, C3 (North CP, CP, CIN) and C4 (South CP); C5 is closed. Audited (accepted, completed in
    # the 12 months to 31 October 2026): C1 (October) and C4 (last November, within 365 days); C2's audit was
    # completed in September 2025, too long ago. Coverage 2 of 4; North CP 1 of 2, North CIN 0 of 1, South CP 1 of 1.
    cases = [
        ("C1", "CP", "North", "North A", True),
        ("C2", "CP", "North", "North A", True),
        ("C3", "CIN", "North", "North A", True),
        ("C4", "CP", "South", "South A", True),
        ("C5", "CP", "South", "South A", False),
    ]
    allocations = [
        alloc("AUD-0001", "2026-10", "C1", "North", "North A", date(2026, 10, 31)),
        alloc("AUD-0002", "2026-10", "C2", "North", "North A", date(2026, 10, 31)),
        alloc("AUD-0004", "2026-10", "C4", "South", "South A", date(2026, 10, 31)),
        alloc("AUD-0005", "2026-10", "C5", "South", "South A", date(2026, 10, 31)),
    ]
    audits = [
        audit(1, "AUD-0001", "2026-10", date(2026, 10, 5), G),
        audit(2, "AUD-0002", "2026-10", date(2025, 9, 30), G),
        audit(4, "AUD-0004", "2026-10", date(2025, 11, 20), G),
        audit(5, "AUD-0005", "2026-10", date(2026, 10, 5), G),
    ]
    data = RegisterData.build(OCT, allocations=allocations, audits=audits, cases=cases)
    result = compute_metrics(data, report_date=date(2026, 10, 31))
    v = result.values
    assert (v["coverage_open_cases"], v["coverage_audited_cases"], v["coverage_rate"]) == (4, 2, 0.5)
    assert v["coverage_by_service"]["South"] == {"open_cases": 1, "audited": 1, "coverage_rate": 1.0}
    table = result.tables["coverage"]
    assert table.values.tolist() == [
        ["North", "CIN", 1, 0, 0.0],
        ["North", "CP", 2, 1, 0.5],
        ["South", "CP", 1, 1, 1.0],
    ]


# ------------------------------------------------------------------------------------------------------------
# Escalations, overdue actions, cases of concern, alerts waiting, targets
# ------------------------------------------------------------------------------------------------------------
def test_escalations_overdue_concern_and_alerts() -> None:
    due = date(2026, 10, 31)
    allocations = [
        alloc("AUD-0001", "2026-10", "C1", "North", "North A", due),
        alloc("AUD-0002", "2026-10", "C2", "North", "North A", due),
    ]
    audits = [
        audit(1, "AUD-0001", "2026-10", date(2026, 10, 5), INAD),
        audit(2, "AUD-0002", "2026-10", date(2026, 10, 5), G),
    ]
    escalations = [
        ("E1", "AUD-0001", "grade", "H1", "Open", None, "2026-10-01T09:00:00", None),
        ("E2", "AUD-0002", "actions", "H1", "Open", None, "2026-10-21T09:00:00", None),
        ("E3", "AUD-0002", "grade", "H1", "Resolved", G, "2026-10-02T09:00:00", "2026-10-12T09:00:00"),
    ]
    actions = [
        action("X1", "AUD-0001", date(2026, 9, 20), service="North", text="Call Ann Able about the plan"),
        action("X2", "AUD-0001", date(2026, 10, 20), service="North"),
        action("X3", "AUD-0001", date(2026, 10, 1), "Completed", date(2026, 9, 30)),
    ]
    waiting = [(7, "AUD-0001", "2026-10-0001", "C1", "North A", "2026-10-05")]
    data = RegisterData.build(
        OCT, allocations=allocations, audits=audits, escalations=escalations, actions=actions, staff=STAFF,
        alerts=[("AUD-0001", "2026-10", "2026-10-05T10:00:00")], alerts_waiting=waiting,
    ).redacted(lambda text: text.replace("Ann Able", "[name]"))  # fmt: skip
    result = compute_metrics(data, report_date=due)
    v, t = result.values, result.tables
    assert v["escalations_waiting"] == {"H1": {"count": 2, "oldest_days": 30}}
    assert v["escalations_resolved_in_month"] == 1
    assert t["escalations_open"][["Escalation ID", "Waiting on", "Age (days)"]].values.tolist() == [
        ["E1", "Hal Hill", 30],
        ["E2", "Hal Hill", 10],
    ]
    overdue = t["actions_overdue"]
    assert overdue["Action ID"].tolist() == ["X1", "X2"]  # 41 days, then 11
    assert overdue["Action"].tolist()[0] == "Call [name] about the plan"  # typed text is redacted
    assert v["actions_overdue_30"] == 1
    concern = t["cases_of_concern"]
    assert concern.values.tolist() == [
        ["2026-10-0001", "C1", "North", "North A", INAD, "2 open, 2 overdue, 1 completed", "Yes"]
    ]
    assert v["alerts_unacknowledged"] == 1
    assert t["alerts_waiting"].values.tolist() == [[7, "2026-10-0001", "C1", "North A", "2026-10-05"]]
    assert v["targets_status"]["good_or_better_rate"] == "not met"  # 1 of 2 Good against 0.80
    assert v["targets_status"]["completion_rate"] == "met"  # both on time against 0.95
