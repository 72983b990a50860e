# ruff: noqa: E501 - the tables are easier to read as wide rows
"""The follow-up measures (issue 11) against a hand-worked example written as tables."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from caseaudit_batch.followups import measures as fm

GRADE = {"O": "Outstanding", "G": "Good", "RI": "Requires Improvement", "I": "Inadequate", "-": None}

# Final grades (after moderation). Grades: O Outstanding, G Good, RI Requires Improvement, I Inadequate, - blank.
AUDITS = """
audit_id | case_ref | month   | service | kind     | followup_of | accepted | date_completed | overall | s1 | s2 | s3 | s4 | s5 | s6 | s7 | s8 | s9
A1       | C-01     | 2026-01 | North   | audit    |             | yes      | 2026-01-20     | RI      | G  | RI | RI | G  | G  | RI | I  | G  | RI
A2       | C-02     | 2026-02 | South   | audit    |             | yes      | 2026-02-20     | I       | I  | I  | I  | I  | I  | I  | I  | I  | I
A3       | C-03     | 2026-03 | South   | audit    |             | yes      | 2026-03-20     | RI      | RI | RI | RI | RI | RI | RI | RI | RI | RI
A4       | C-04     | 2026-03 | South   | audit    |             | yes      | 2026-03-21     | I       | I  | I  | I  | I  | I  | I  | I  | I  | I
A5       | C-05     | 2026-03 | South   | audit    |             | yes      | 2026-03-22     | RI      | RI | RI | RI | RI | RI | RI | RI | RI | RI
A6       | C-06     | 2025-06 | North   | audit    |             | yes      | 2025-06-20     | I       | I  | I  | I  | I  | I  | I  | I  | I  | I
F1       | C-01     | 2026-07 | North   | followup | A1          | yes      | 2026-07-21     | G       | G  | G  | RI | RI | O  | G  | RI | G  | G
F2       | C-02     | 2026-08 | South   | followup | A2          | yes      | 2026-08-25     | I       | I  | I  | I  | I  | I  | I  | I  | I  | I
F3       | C-03     | 2026-09 | South   | followup | A3          | yes      | 2026-09-10     | I       | I  | I  | I  | I  | I  | I  | I  | I  | I
F4       | C-04     | 2026-09 | South   | followup | A4          | yes      | 2026-09-15     | RI      | RI | RI | RI | RI | RI | RI | -  | RI | RI
F5       | C-05     | 2026-09 | South   | followup | A5          | no       |                | -       | -  | -  | -  | -  | -  | -  | -  | -  | -
F6       | C-06     | 2025-09 | North   | followup | A6          | yes      | 2025-09-20     | G       | G  | G  | G  | G  | G  | G  | G  | G  | G
"""

ACTIONS = """
audit_id | status             | completed_on
A1       | Completed          | 2026-05-01
A1       | Completed          | 2026-06-01
A2       | Completed          | 2026-09-01
A3       | Open               |
A4       | No longer required |
A4       | Completed          | 2026-08-01
"""

# Worked by hand: each follow-up's grades against its earlier audit's (F5 is not completed, so not compared).
# F1: s4 G->RI worse; s7 I->RI, s2/s5/s6/s9 better; the rest unchanged. F4: s7 is blank, so not known.
EXPECTED_MOVEMENT = """
case_ref | Overall  | s1       | s2       | s3       | s4       | s5       | s6       | s7        | s8       | s9       | Actions closed first
C-06     | improved | improved | improved | improved | improved | improved | improved | improved  | improved | improved | no
C-01     | improved | same     | improved | same     | worse    | improved | improved | improved  | same     | improved | yes
C-02     | same     | same     | same     | same     | same     | same     | same     | same      | same     | same     | no
C-03     | worse    | worse    | worse    | worse    | worse    | worse    | worse    | worse     | worse    | worse    | no
C-04     | improved | improved | improved | improved | improved | improved | improved | not known | improved | improved | yes
"""


def table(text: str) -> list[dict[str, str]]:
    lines = [[c.strip() for c in line.split("|")] for line in text.strip().splitlines()]
    return [dict(zip(lines[0], row, strict=True)) for row in lines[1:]]


@pytest.fixture
def audits() -> pd.DataFrame:
    rows = []
    for r in table(AUDITS):
        row: dict[str, object] = dict(r)
        row["followup_of"] = r["followup_of"] or None
        row["accepted"] = r["accepted"] == "yes"
        row["date_completed"] = date.fromisoformat(r["date_completed"]) if r["date_completed"] else None
        for key in ("overall", *fm.SECTIONS):
            row[key] = GRADE[r[key]]
        rows.append(row)
    return pd.DataFrame.from_records(rows)


@pytest.fixture
def actions() -> pd.DataFrame:
    return pd.DataFrame.from_records(
        [
            {**r, "completed_on": date.fromisoformat(r["completed_on"]) if r["completed_on"] else None}
            for r in table(ACTIONS)
        ]
    )


def test_due_and_completed_this_month(audits: pd.DataFrame) -> None:
    assert fm.followups_due(audits, "2026-09") == 3  # F3, F4, F5
    assert fm.followups_completed(audits, "2026-09") == 2  # F5 not yet accepted
    assert fm.followups_due(audits, "2026-06") == 0


def test_movement_overall_and_sections_against_the_worked_example(audits: pd.DataFrame, actions: pd.DataFrame) -> None:
    moved = fm.movement(audits, actions)
    expected = table(EXPECTED_MOVEMENT)
    assert list(moved["Case reference"]) == [e["case_ref"] for e in expected]
    for (_, got), want in zip(moved.iterrows(), expected, strict=True):
        for key in ("Overall", *fm.SECTIONS):
            assert got[key] == want[key], (want["case_ref"], key)
        assert bool(got["Actions closed first"]) == (want["Actions closed first"] == "yes"), want["case_ref"]
    c01 = moved[moved["Case reference"] == "C-01"].iloc[0]
    assert (c01["Overall before"], c01["Overall now"]) == ("Requires Improvement", "Good")
    assert (c01["s4 before"], c01["s4 now"]) == ("Good", "Requires Improvement")
    assert c01["Earlier audit month"] == "2026-01" and c01["Earlier audit ID"] == "A1"


def test_section_counts_over_the_last_12_months(audits: pd.DataFrame, actions: pd.DataFrame) -> None:
    moved = fm.in_window(fm.movement(audits, actions), "2026-09")
    assert set(moved["Case reference"]) == {"C-01", "C-02", "C-03", "C-04"}  # C-06 (2025-09) is too old
    counts = fm.section_movement(moved).set_index("Section")
    assert counts.loc["Overall grade"].to_dict() == {"Improved": 2, "Same": 1, "Worse": 1, "Not known": 0}
    assert counts.loc["s4"].to_dict() == {"Improved": 1, "Same": 1, "Worse": 2, "Not known": 0}
    assert counts.loc["s7"].to_dict() == {"Improved": 1, "Same": 1, "Worse": 1, "Not known": 1}


def test_share_improved_by_service(audits: pd.DataFrame, actions: pd.DataFrame) -> None:
    by_service = fm.improved_by_service(fm.movement(audits, actions), "2026-09").set_index("Service")
    assert by_service.loc["North", "Follow-ups"] == 1 and by_service.loc["North", "Share improved"] == 1.0
    assert by_service.loc["South", "Follow-ups"] == 3
    assert by_service.loc["South", "Share improved"] == pytest.approx(1 / 3)
    assert list(by_service.loc["South", ["Improved", "Same", "Worse"]]) == [1, 1, 1]
    assert by_service.loc[fm.ALL_SERVICES, "Follow-ups"] == 4
    assert by_service.loc[fm.ALL_SERVICES, "Share improved"] == 0.5
    assert by_service.loc[fm.ALL_SERVICES, "Actions closed first"] == 2


def test_the_sentence_for_the_word_report(audits: pd.DataFrame, actions: pd.DataFrame) -> None:
    moved = fm.movement(audits, actions)
    assert fm.sentence(moved, "2026-09") == (
        "Of 4 cases re-audited in the last 12 months, 2 improved, 1 stayed the same and 1 was graded lower; "
        "2 of them had all their actions completed first."
    )
    assert fm.sentence(moved, "2025-09") == (
        "1 case was re-audited in the last 12 months: it improved, and not all its actions were completed first."
    )
    # Categories with none are left out; "all" and "none" read better than counts.
    two = moved[moved["Case reference"].isin(["C-01", "C-04"])]
    assert fm.sentence(two, "2026-09") == (
        "Of 2 cases re-audited in the last 12 months, 2 improved; all of them had all their actions completed first."
    )
    three = moved[moved["Case reference"].isin(["C-02", "C-03", "C-04"])]
    assert fm.sentence(three, "2026-09") == (
        "Of 3 cases re-audited in the last 12 months, 1 improved, 1 stayed the same and 1 was graded lower; "
        "1 of them had all their actions completed first."
    )
    assert fm.sentence(moved, "2025-08") == "No cases were re-audited (follow-up audits) in the last 12 months."


def test_metrics_values(audits: pd.DataFrame, actions: pd.DataFrame) -> None:
    values = fm.followup_values(audits, actions, "2026-09")
    assert values == {
        "followups_due": 3,
        "followups_completed": 2,
        "followups_compared": 4,
        "followups_improved": 2,
        "followups_same": 1,
        "followups_worse": 1,
        "followups_improved_rate": 0.5,
        "followups_actions_closed_first": 2,
    }
    none = fm.followup_values(audits.iloc[:0], actions, "2026-09")
    assert none["followups_improved_rate"] is None and none["followups_compared"] == 0


def test_from_audit_frame_renames_final_grades() -> None:
    af = pd.DataFrame({"audit_id": ["x"], "f_overall": ["Good"], **{f"f_s{n}": ["Good"] for n in range(1, 10)}})
    renamed = fm.from_audit_frame(af)
    assert {"overall", "s1", "s9", "followup_of"} <= set(renamed.columns)


def test_tables_for_the_reports(audits: pd.DataFrame, actions: pd.DataFrame) -> None:
    tables = fm.followup_tables(audits, actions, "2026-09", {"s4": "4. Voice and lived experience"})
    cases = tables["followup_cases"]
    assert list(cases["Case reference"]) == ["C-01", "C-02", "C-03", "C-04"]
    assert list(cases["Overall grade"]) == ["improved", "same", "worse", "improved"]
    assert list(cases["4. Voice and lived experience"]) == ["worse", "same", "worse", "improved"]
    sections = tables["followup_sections"].set_index("Section")
    assert sections.loc["4. Voice and lived experience", "Worse"] == 2
    assert list(tables["followup_by_service"]["Service"]) == ["North", "South", fm.ALL_SERVICES]


def test_a_services_movement_kept_from_the_whole_authoritys_is_its_own(
    audits: pd.DataFrame, actions: pd.DataFrame
) -> None:
    """Issue 25: a service pack keeps its own follow-ups' rows of the movement worked out once for the authority;
    they are the rows movement() finds when the other services' follow-ups are marked "earlier"."""
    every = fm.movement_records(audits, actions)
    for service in ("North", "South"):
        ours = audits.assign(kind=audits["kind"].where(audits["service"] == service, "earlier"))
        own = set(ours.loc[ours["kind"] == "followup", "audit_id"])
        kept = fm.movement_frame([r for r in every if r["Follow-up audit ID"] in own])
        pd.testing.assert_frame_equal(kept, fm.movement(ours, actions))
        assert set(kept["Service"]) == {service}
    assert fm.movement_frame([]).empty and "Overall" in fm.movement_frame([]).columns
