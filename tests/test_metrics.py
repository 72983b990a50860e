"""Every measure checked against a small hand-worked month (September 2026, D = 30 September).

The month, as a QA officer would write it down:

| audit | kind     | auditor (service)    | case: type, service/team | done   | auditor | moderator          | final |
|-------|----------|----------------------|--------------------------|--------|---------|--------------------|-------|
| AUD-1 | audit    | Ann Able (North) TM  | C001 CP South/South A    | 20 Sep | G       | G, agreed          | G     |
| AUD-2 | audit    | Ben Brook (South) TM | C002 CIN North/North A   | 25 Sep | RI      | I; HoS resolved RI | RI    |
| AUD-3 | audit    | Cat Cole (North) PS  | C003 CLA South/South B   | 3 Oct  | O       | G; escalation open | G     |
| AUD-4 | audit    | Dan Dale (North) SM  | C004 Care leaver South/A | 28 Sep | I       | not moderated      | I     |
| AUD-5 | audit    | Eve East (South) SM  | C005 CP North/North B    | -      | -       | -                  | -     |
| AUD-6 | followup | Ben Brook (South) TM | C006 CIN North/North A   | 15 Sep | G       | G, agreed          | G     |

All due 30 September, so AUD-3 is late.
Fay Fox is exempt (long-term sick); Gus Gale was left without a case. AUD-0 is August's audit (trend only).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from caseaudit_batch.core.clock import Month
from caseaudit_batch.core.framework import load_framework
from caseaudit_batch.reports.data import RegisterData
from caseaudit_batch.reports.frame import rate, weighted_kappa, wilson
from caseaudit_batch.reports.json_keys import JSON_KEYS
from caseaudit_batch.reports.metrics import compute_metrics
from caseaudit_batch.reports.targets import Targets

SEP = Month(2026, 9)
D = date(2026, 9, 30)
G, OUT, RI, INAD = "Good", "Outstanding", "Requires Improvement", "Inadequate"

STAFF = [
    # staff_id, name, role, team, service, line_manager_id
    ("A1", "Ann Able", "Team Manager", "North A", "North", "A4"),
    ("A2", "Ben Brook", "Team Manager", "South A", "South", "A5"),
    ("A3", "Cat Cole", "Practice Supervisor", "North B", "North", "A4"),
    ("A4", "Dan Dale", "Service Manager", "", "North", "H1"),
    ("A5", "Eve East", "Service Manager", "", "South", "H2"),
    ("A6", "Fay Fox", "Head of Service", "", "South", "AD"),
    ("A7", "Gus Gale", "Team Manager", "South B", "South", "A5"),
    ("H2", "Hal Hill", "Head of Service", "", "South", "AD"),
]


def alloc(audit_id, month, staff_id, case_ref, due, kind, case_type, service, team, name, role):
    return {
        "audit_id": audit_id,
        "month": month,
        "staff_id": staff_id,
        "case_ref": case_ref,
        "due_date": due,
        "kind": kind,
        "case_type": case_type,
        "service": service,
        "team": team,
        "auditor_name": name,
        "auditor_role": role,
    }


# fmt: off
ALLOCATIONS = [
    alloc("AUD-0", "2026-08", "A1", "C000", date(2026, 8, 31), "audit", "CIN", "North", "North A", "Ann Able", "Team Manager"),  # noqa: E501
    alloc("AUD-1", "2026-09", "A1", "C001", D, "audit", "CP", "South", "South A", "Ann Able", "Team Manager"),
    alloc("AUD-2", "2026-09", "A2", "C002", D, "audit", "CIN", "North", "North A", "Ben Brook", "Team Manager"),
    alloc("AUD-3", "2026-09", "A3", "C003", D, "audit", "CLA", "South", "South B", "Cat Cole", "Practice Supervisor"),
    alloc("AUD-4", "2026-09", "A4", "C004", D, "audit", "Care leaver", "South", "South A", "Dan Dale", "Service Manager"),  # noqa: E501
    alloc("AUD-5", "2026-09", "A5", "C005", D, "audit", "CP", "North", "North B", "Eve East", "Service Manager"),
    alloc("AUD-6", "2026-09", "A2", "C006", D, "followup", "CIN", "North", "North A", "Ben Brook", "Team Manager"),
]
# fmt: on

NOTES = [
    ("2026-09", "exempt", "A6", "Long-term sick until November"),
    ("2026-09", "unallocated", "A7", "No open case outside their own team"),
    # Issue 20: the allocation flagged C002 and C003 for a three-way meeting (re-allocated, previous worker here).
    ("2026-09", "three_way", None, "Re-allocated on 3 September", "AUD-2"),
    ("2026-09", "three_way", None, "Re-allocated on 10 September", "AUD-3"),
]


def audit(row_id, audit_id, month, completed, late, overall, sw, three_way, sections=None):
    row = {
        "row_id": row_id,
        "audit_id": audit_id,
        "month": month,
        "date_completed": completed,
        "late": late,
        "overall_grade": overall,
        "sw_participation": sw,
        "three_way_meeting": three_way,
        "safeguarding_concern": "No",
        "strengths": "Good direct work with the young person.",
        "learning": "Chronology needs updating.",
        "recommendations": "Update the plan for the child.",
        "org_learning": "",
    }
    for n, grade in enumerate(sections or [], start=1):
        row[f"s{n}_grade"] = grade
    return row


AUDITS = [
    audit(10, "AUD-0", "2026-08", "2026-08-28", False, G, "In person", "Not applicable", [G] * 9),
    audit(11, "AUD-1", "2026-09", "2026-09-20", False, G, "In person", "Not applicable"),  # sections in table
    audit(12, "AUD-2", "2026-09", "2026-09-25", False, RI, "Phone or video", "Yes"),  # sections in table
    audit(13, "AUD-3", "2026-09", "2026-10-03", True, OUT, "Not possible", "No", [OUT] * 9),
    audit(14, "AUD-4", "2026-09", "2026-09-28", False, INAD, "In person", "Not applicable", [INAD] * 9),
    audit(16, "AUD-6", "2026-09", "2026-09-15", False, G, "In person", "Not applicable", [G] * 9),
]
SECTION_GRADES = [(11, n, G) for n in range(1, 10)] + [(12, n, RI) for n in range(1, 10)]


def moderation(audit_id, on, agreed, actions_agreed, overall, **sections):
    return {
        "audit_id": audit_id,
        "moderation_date": on,
        "grade_agreed": agreed,
        "actions_agreed": actions_agreed,
        "overall_grade": overall,
        **{f"m_{k}_grade": v for k, v in sections.items()},
    }


MODERATIONS = [
    moderation("AUD-1", date(2026, 9, 25), True, True, G),
    moderation("AUD-2", date(2026, 9, 28), False, True, INAD, s1=INAD),
    moderation("AUD-3", date(2026, 10, 2), False, False, G, s4=G, s9=G),
    moderation("AUD-6", date(2026, 9, 26), True, True, ""),  # blank overall with agreement = the auditor's grade
]
ESCALATIONS = [
    # escalation_id, audit_id, kind, to_staff_id, status, grade, created_at, resolved_at
    ("E0", "AUD-0", "actions", "H2", "Open", None, "2026-09-02T10:00:00+01:00", None),
    ("E1", "AUD-2", "grade", "H2", "Resolved", RI, "2026-09-29T10:00:00+01:00", "2026-10-01T10:00:00+01:00"),
    ("E2", "AUD-3", "grade", "H2", "Open", None, "2026-10-02T10:00:00+01:00", None),
    ("E3", "AUD-3", "actions", "H2", "Open", None, "2026-10-02T10:00:00+01:00", None),
]


def action(action_id, audit_id, source, due, status, completed, signed, service="North", team="North A"):
    return {
        "action_id": action_id,
        "audit_id": audit_id,
        "source": source,
        "due_date": due,
        "status": status,
        "completed_on": completed,
        "signed_off": signed,
        "case_ref": "C00" + (audit_id or "AUD-9")[-1],
        "service": service,
        "team": team,
        "team_manager": "Tom Tate",
        "service_manager_id": "A4",
    }


ACTIONS = [
    action("X1", "AUD-1", "audit", date(2026, 9, 15), "Completed", date(2026, 9, 10), True, "South", "South A"),
    action("X2", "AUD-2", "audit", date(2026, 9, 20), "Completed", date(2026, 9, 25), False),
    action("X3", "AUD-2", "moderation", date(2026, 10, 15), "Open", None, False),
    action("X4", "AUD-3", "audit", date(2026, 9, 25), "Open", None, False, "South", "South B"),
    action("X5", "AUD-0", "audit", date(2026, 9, 5), "Completed", date(2026, 8, 30), True),
    action("X6", "AUD-0", "audit", date(2026, 8, 20), "Open", None, False),
    action("X7", "AUD-4", "audit", date(2026, 9, 30), "No longer required", None, False, "South", "South A"),
    action("X8", None, "supervision", date(2026, 10, 10), "Completed", date(2026, 9, 12), True),
]
ALERTS = [
    ("AUD-4", "2026-09", "2026-09-28T09:00:00+01:00"),
    ("AUD-4", "2026-09", "2026-09-29T09:00:00+01:00"),  # the same audit again: one alert
    ("AUD-0", "2026-08", "2026-08-28T09:00:00+01:00"),
]
SUBMISSIONS = [
    # id, filed_month, path, sha256, outcome, audit_id
    (1, "2026-09", "a.xlsx", "sha1", "accepted", "AUD-1"),
    (2, "2026-09", "b.xlsx", "sha2", "superseded", "AUD-2"),
    (3, "2026-09", "b2.xlsx", "sha3", "accepted", "AUD-2"),
    (4, "2026-09", "c.xlsx", "sha4", "returned", "AUD-5"),
    (5, "2026-09", "~$c.xlsx", "sha5", "ignored", None),
    (6, "2026-09", "junk.xlsx", "sha6", "rejected", None),
    (7, "2026-09", "copy.xlsx", "sha1", "duplicate", "AUD-1"),
    (8, "2026-10", "a.xlsx", "sha1", "duplicate", "AUD-1"),  # October re-run: counted once, in September
    (9, "2026-08", "old.xlsx", "sha9", "accepted", "AUD-0"),
    (10, "2026-10", "d.xlsx", "sha10", "accepted", "AUD-3"),  # late form filed in October
    (11, "2026-09", "e.xlsx", "sha11", "accepted", "AUD-4"),
    (12, "2026-09", "f.xlsx", "sha12", "accepted", "AUD-6"),
]
PROBLEMS = [
    # submission_id, audit_id, outcome, code, severity, sheet, cell, field, label
    (4, "AUD-5", "returned", "V001", "error", "Audit form", "B20", "s1_grade", "Section 1 grade"),
    (3, "AUD-2", "accepted", "V020", "warning", "Audit form", "B22", "s1_findings", "Section 1 findings"),
    (3, "AUD-2", "accepted", "V020", "warning", "Audit form", "B60", "learning", "Learning"),
    (10, "AUD-3", "accepted", "V030", "warning", "Audit form", "B5", "date_completed", "Date completed"),
]
SAMPLE = [
    ("AUD-1", "Q1", date(2026, 10, 14)),
    ("AUD-2", "Q1", date(2026, 10, 14)),
    ("AUD-3", "Q1", date(2026, 10, 14)),
    ("AUD-4", "Q1", date(2026, 9, 20)),  # not moderated, due before D: overdue
    ("AUD-6", "Q1", date(2026, 10, 14)),
]


def report_settings(**changes: Any) -> dict[str, Any]:
    """``build_month_reports``' keyword arguments for :func:`month_data` (the shipped framework, taxonomy and
    template; report date D), with ``changes``."""
    from caseaudit_batch.core.config import TEMPLATES_DIR
    from caseaudit_batch.reports import themes

    settings: dict[str, Any] = {
        "report_date": D,
        "targets": Targets(),
        "framework": load_framework(),
        "taxonomy": themes.load_taxonomy(TEMPLATES_DIR / "themes.toml"),
        "template": TEMPLATES_DIR / "report_template.docx",
        "organisation": "Testshire Council",
        "generated_on": date(2026, 10, 5),
    }
    return {**settings, **changes}


def month_data() -> RegisterData:
    return RegisterData.build(
        SEP,
        staff=STAFF,
        allocations=ALLOCATIONS,
        notes=NOTES,
        audits=AUDITS,
        section_grades=SECTION_GRADES,
        moderations=MODERATIONS,
        escalations=ESCALATIONS,
        actions=ACTIONS,
        alerts=ALERTS,
        submissions=SUBMISSIONS,
        problems=PROBLEMS,
        moderation_sample=SAMPLE,
    )


@pytest.fixture(scope="module")
def metrics():
    return compute_metrics(month_data(), report_date=D, framework=load_framework(), generated_on=date(2026, 10, 5))


def test_compliance(metrics) -> None:
    v = metrics.values
    assert (v["audits_allocated"], v["audits_exempt"], v["audits_unallocated"]) == (6, 1, 1)
    assert (v["audits_accepted"], v["audits_completed"], v["audits_completed_late"], v["audits_outstanding"]) == (
        5,
        4,
        1,
        1,
    )
    assert v["completion_rate"] == pytest.approx(4 / 6)
    assert (v["followups_due"], v["followups_completed"]) == (1, 1)
    assert v["sw_participation_rate"] == pytest.approx(4 / 5)
    assert (v["three_way_meetings_needed"], v["three_way_meeting_rate"]) == (2, 0.5)


def test_compliance_tables(metrics) -> None:
    by_role = metrics.table("compliance_by_role").set_index("Auditor role")
    assert by_role.loc["Team Manager", ["Allocated", "Completed on time"]].tolist() == [3, 3]
    assert by_role.loc["Practice Supervisor", "Completed late"] == 1
    assert by_role.loc["Service Manager", ["Allocated", "Completed on time", "Not yet accepted"]].tolist() == [2, 1, 1]
    by_service = metrics.table("compliance_by_service").set_index("Auditor's service")
    assert by_service.loc["North", ["Allocated", "Completed on time", "Completed late"]].tolist() == [3, 2, 1]
    assert by_service.loc["South", ["Allocated", "Completed on time", "Not yet accepted"]].tolist() == [3, 2, 1]
    assert by_service.loc["South", "Note"] == "fewer than 5"
    out = metrics.table("outstanding")
    assert out[["Audit ID", "Auditor", "Line manager"]].values.tolist() == [["AUD-5", "Eve East", "Hal Hill"]]
    assert metrics.table("exempt")["Reason"].tolist() == ["Long-term sick until November"]
    assert metrics.table("unallocated")["Name"].tolist() == ["Gus Gale"]
    record = metrics.table("auditor_record").set_index("Staff ID")
    assert record.loc["A1", "2026-08"] == "On time" and record.loc["A3", "2026-09"] == "Late"
    assert record.loc["A5", "2026-09"] == "Not yet returned" and record.loc["A6", "2026-09"] == "Exempt"


def test_grades_are_final_grades(metrics) -> None:
    v = metrics.values
    assert v["overall_grade_counts"] == {OUT: 0, G: 3, RI: 1, INAD: 1}
    assert v["overall_grade_counts_as_audited"] == {OUT: 1, G: 2, RI: 1, INAD: 1}
    assert v["good_or_better_rate"] == pytest.approx(0.6)
    assert v["ri_or_better_rate"] == pytest.approx(0.8)
    assert v["inadequate_rate"] == pytest.approx(0.2)
    assert v["good_or_better_ci_low"] == pytest.approx(0.2307, abs=1e-4)
    assert v["good_or_better_ci_high"] == pytest.approx(0.8824, abs=1e-4)
    assert v["section_grade_counts"]["s1"] == {OUT: 1, G: 2, RI: 0, INAD: 2}
    assert v["section_grade_counts"]["s2"] == {OUT: 1, G: 2, RI: 1, INAD: 1}
    assert v["section_grade_counts"]["s4"] == {OUT: 0, G: 3, RI: 1, INAD: 1}
    assert set(v["section_grade_counts"]) == {f"s{n}" for n in range(1, 10)}


def test_grade_breakdowns(metrics) -> None:
    by_type = metrics.table("grades_by_case_type").set_index("Case type")
    assert by_type.loc["CIN", [G, RI, "Graded"]].tolist() == [1, 1, 2]
    assert by_type.loc["CP", "Graded"] == 1  # AUD-5 is outstanding
    assert by_type.loc["Care leaver", INAD] == 1
    by_team = metrics.table("by_service_team").set_index(["Service", "Team"])
    assert by_team.loc[("North", "North A"), ["Allocated", "Graded", G, RI]].tolist() == [2, 2, 1, 1]
    assert by_team.loc[("North", "North B"), ["Allocated", "Not yet accepted", "Graded"]].tolist() == [1, 1, 0]
    trend = metrics.table("trend").set_index("Month")
    # Issue 20: the trend starts at the first month with data (August), not 11 empty months back.
    assert trend.index.tolist() == ["2026-08", "2026-09"]
    assert trend.loc["2026-08", ["Allocated", "Completed on time", G]].tolist() == [1, 1, 1]
    assert trend.loc["2026-09", "Good or better"] == pytest.approx(0.6)


def test_moderation(metrics) -> None:
    v = metrics.values
    assert (v["audits_moderated"], v["moderation_compared"]) == (4, 4)
    assert v["audits_moderated_rate"] == pytest.approx(4 / 5)
    assert v["moderation_agreement_rate"] == 0.5  # the HoS resolution of AUD-2 does not change it
    assert (v["grades_raised"], v["grades_lowered"]) == (0, 2)
    assert (v["section_grades_compared"], v["section_agreement_rate"]) == (36, pytest.approx(33 / 36))
    assert v["section_kappa"] is not None and 0 < v["section_kappa"] < 1
    assert (v["moderation_sampled"], v["moderations_on_time"], v["moderations_overdue"]) == (5, 4, 1)
    # Open at D (issue 22): E0, and E1 (resolved after D); E2 and E3 were raised after D.
    assert (v["escalations_open"], v["escalations_resolved"]) == (2, 1)
    # E0, raised Wed 2 Sep, was due 16 Sep (10 working days) and is still open at D: overdue, and not in time.
    assert (v["escalations_overdue"], v["escalations_resolved_in_time_rate"]) == (1, 0.0)
    by_service = metrics.table("moderation_by_service").set_index("Auditor's service")
    assert by_service.loc["North", "Mean difference (overall)"] == 0.5  # Cat Cole graded a step above
    esc = metrics.table("escalations").set_index("Escalation ID")
    assert esc.loc["E1", "Case reference"] == "C002" and esc.loc["E1", "Referred to"] == "Hal Hill"


def test_kappa_hand_computed() -> None:
    # observed weighted disagreement 0.25·1/9; expected (0.375 + 0.125)·1/9; kappa = 1 - 0.25/0.5 = 0.5
    assert weighted_kappa([1, 1, 2, 2], [1, 2, 2, 2]) == pytest.approx(0.5)
    assert weighted_kappa([3, 3], [3, 3]) is None  # one grade only: undefined
    assert weighted_kappa([1, 2, 3, 4], [1, 2, 3, 4]) == pytest.approx(1.0)


def test_actions(metrics) -> None:
    v = metrics.values
    assert v["actions_raised"] == 4  # X1-X4 (X7 is No longer required)
    assert (v["actions_due"], v["actions_completed_on_time"], v["actions_completed_late"]) == (4, 2, 1)
    assert v["action_completion_rate"] == 0.5 and v["action_rag"] == "Red"
    assert v["actions_overdue"] == 2
    assert (v["actions_completed_in_month"], v["actions_signed_off"]) == (3, 2)
    assert v["sm_oversight_rate"] == pytest.approx(2 / 3)
    overdue = metrics.table("actions_overdue").set_index("Action ID")
    assert overdue["Days overdue"].to_dict() == {"X6": 41, "X4": 5}
    by_team = metrics.table("actions_by_team").set_index(["Service", "Team"])
    assert by_team.loc[("South", "South A"), ["Due", "Completed on time", "RAG"]].tolist() == [1, 1, "Green"]


def test_as_of_changes_what_is_overdue() -> None:
    later = compute_metrics(month_data(), report_date=date(2026, 10, 16))
    assert later.values["actions_overdue"] == 3  # X3 (due 15 October) is now overdue too
    assert later.values["report_date"] == "2026-10-16"


def test_alerts_files_and_warnings(metrics) -> None:
    v = metrics.values
    assert v["safeguarding_alerts"] == 1
    assert metrics.table("alerts")["Case reference"].tolist() == ["C004"]
    files = {k: v[k] for k in JSON_KEYS if k.startswith("files_")}
    assert files == {
        "files_accepted": 4,
        "files_returned": 1,
        "files_rejected": 1,
        "files_superseded": 1,
        "files_duplicate": 1,
        "files_ignored": 1,
        "files_seen": 9,
    }
    assert v["warnings"] == 3 and v["warnings_by_rule"] == {"V020": 2, "V030": 1}
    rules = metrics.table("warnings_by_rule")
    assert rules.iloc[0][["Rule", "Problems", "Audits"]].tolist() == ["V020", 2, 1]


def test_audits_table_shows_as_audited_and_final(metrics) -> None:
    audits = metrics.table("audits").set_index("Audit ID")
    assert audits.loc["AUD-2", ["Overall as audited", "Overall final", "S1 as audited", "S1 final"]].tolist() == [
        RI,
        RI,
        RI,
        INAD,
    ]
    assert audits.loc["AUD-5", "Status"] == "Not yet returned" and audits.loc["AUD-3", "Status"] == "Completed late"


def test_zero_denominators_are_null() -> None:
    empty = compute_metrics(RegisterData.build(SEP), report_date=D)
    v = empty.values
    for key in (
        "completion_rate",
        "good_or_better_rate",
        "ri_or_better_rate",
        "inadequate_rate",
        "moderation_agreement_rate",
        "action_completion_rate",
        "sm_oversight_rate",
        "good_or_better_ci_low",
    ):
        assert v[key] is None, key
    assert v["overall_grade_counts"] == {OUT: 0, G: 0, RI: 0, INAD: 0}


def test_small_numbers_and_helpers(metrics) -> None:
    assert "three_way_meeting_rate" in metrics.values["small_numbers"]
    assert "completion_rate" not in metrics.values["small_numbers"]
    assert rate(1, 0) is None
    low, high = wilson(0, 3)
    assert low == 0.0 and high is not None and 0.5 < high < 0.6


def test_every_json_key_is_documented(metrics) -> None:
    assert set(metrics.values) == set(JSON_KEYS)


def test_targets_are_reported() -> None:
    result = compute_metrics(month_data(), report_date=D, targets=Targets(good_or_better=0.7))
    assert result.values["targets"]["good_or_better"] == 0.7


def test_the_reference_documents_every_json_key() -> None:
    from pathlib import Path

    section = (Path(__file__).resolve().parent.parent / "docs" / "reference" / "metrics-json.md").read_text("utf-8")
    for key in JSON_KEYS:
        assert f"| `{key}` |" in section, key


def test_moderated_overall_from_the_form_answer_when_the_column_is_blank() -> None:
    data = month_data()
    mods = data.moderations.copy()
    mods.loc[mods["audit_id"] == "AUD-3", ["overall_grade", "m_overall_grade"]] = [None, RI]
    esc = data.escalations[data.escalations["audit_id"] != "AUD-2"]
    from dataclasses import replace

    result = compute_metrics(replace(data, moderations=mods, escalations=esc), report_date=D)
    audits = result.table("audits").set_index("Audit ID")
    assert audits.loc["AUD-3", "Overall final"] == RI
    assert audits.loc["AUD-2", "Overall final"] == INAD  # no Head of Service resolution: the moderator's grade
