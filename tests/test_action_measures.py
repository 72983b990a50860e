"""Each action measure checked against a small hand-worked example (report month September 2026)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from caseaudit_batch.actions import measures as am

# The register, as a table ("-" is blank). Service CIN = Children in Need.
REGISTER = """
id  | source      | month   | service   | team        | due        | status             | completed_on | signed_off
A1  | audit       | 2026-09 | CIN       | CIN East    | 2026-09-10 | Completed          | 2026-09-08   | yes
A2  | audit       | 2026-09 | CIN       | CIN East    | 2026-09-15 | Completed          | 2026-09-20   | no
A3  | audit       | 2026-09 | CIN       | CIN East    | 2026-09-25 | Open               | -            | no
A4  | moderation  | 2026-09 | CIN       | CIN West    | 2026-09-30 | Open               | -            | no
A5  | audit       | 2026-08 | CIN       | CIN West    | 2026-08-20 | Completed          | 2026-09-02   | yes
A6  | audit       | 2026-08 | CIN       | CIN West    | 2026-08-31 | Open               | -            | no
A7  | audit       | 2026-09 | CIN       | CIN West    | 2026-09-12 | No longer required | -            | no
A8  | supervision | 2026-09 | CIN       | CIN West    | 2026-09-20 | Completed          | 2026-09-20   | no
A9  | audit       | 2026-09 | Fostering | Fostering 1 | 2026-10-15 | Open               | -            | no
A10 | audit       | 2026-09 | CIN       | CIN East    | 2026-09-05 | Completed          | 2026-10-02   | no
"""

# Worked by hand, for M = September 2026 and D = 30 September 2026:
#   raised in M     audit/moderation actions of September audits, less A7 (no longer required), A8 (supervision):
#                   A1 A2 A3 A4 A9 A10                                                     = 6
#   due in M        A1 A2 A3 A4 A8 A10 (A7 left out)                                       = 6
#   on time         A1 (8th ≤ 10th), A8 (20th ≤ 20th)                                      = 2
#   late            A2 (20th > 15th); A10 was completed on 2 October, after D: open at D    = 1
#   completion rate 2 / 6                                                                  = 0.333 → Red
#   overdue at D    A3 (due 25 Sep: 5 days), A6 (31 Aug: 30 days), A10 (5 Sep: 25 days);
#                   A4 is due on D itself, not before it                                    = 3
#   completed in M  A1 A2 A5 A8 (A10 after D); signed off A1 A5                            = 2 / 4 = 0.5
EXPECTED_TOTAL = {
    "actions_raised": 6,
    "actions_due": 6,
    "actions_completed_on_time": 2,
    "actions_completed_late": 1,
    "actions_overdue": 3,
    "action_completion_rate": pytest.approx(2 / 6),
    "actions_completed_in_month": 4,
    "actions_signed_off": 2,
    "sm_oversight_rate": 0.5,
    "action_rag": "Red",
}

# By team, worked by hand (same M and D):
#   team        raised due on_time late overdue rate  rag   completed signed oversight
BY_TEAM = """
CIN East    | 4 | 4 | 1 | 1 | 2 | 0.25 | Red | 2 | 1 | 0.5
CIN West    | 1 | 2 | 1 | 0 | 1 | 0.5  | Red | 2 | 1 | 0.5
Fostering 1 | 1 | 0 | 0 | 0 | 0 | -    | -   | 0 | 0 | -
"""

M = "2026-09"
D = date(2026, 9, 30)


def table(text: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.split("|")] for line in text.strip().splitlines()]


def parse_register() -> pd.DataFrame:
    """The REGISTER table as the register's frame (see ``actions.load_actions_frame``)."""
    records = []
    for action_id, source, month, service, team, due, status, completed, signed in table(REGISTER)[1:]:
        records.append(
            {
                "action_id": action_id,
                "source": source,
                "month": month,
                "service": service,
                "team": team,
                "due_date": date.fromisoformat(due),
                "status": status,
                "completed_on": None if completed == "-" else date.fromisoformat(completed),
                "signed_off": signed == "yes",
            }
        )
    return pd.DataFrame(records)


def ids(frame: pd.DataFrame) -> list[str]:
    return sorted(frame["action_id"], key=lambda i: int(i[1:]))


def test_each_measure_matches_the_hand_worked_example() -> None:
    frame = parse_register()
    assert ids(am.raised_in(frame, M)) == ["A1", "A2", "A3", "A4", "A9", "A10"]
    assert ids(am.due_in(frame, M)) == ["A1", "A2", "A3", "A4", "A8", "A10"]
    assert ids(am.completed_on_time(frame, M, D)) == ["A1", "A8"]
    assert ids(am.completed_late(frame, M, D)) == ["A2"]
    overdue = am.overdue_at(frame, D)
    assert dict(zip(overdue["action_id"], overdue["days_overdue"], strict=True)) == {"A6": 30, "A10": 25, "A3": 5}
    assert list(overdue["action_id"]) == ["A6", "A10", "A3"]  # most overdue first
    assert ids(am.completed_during(frame, M, D)) == ["A1", "A2", "A5", "A8"]


def test_the_summary_matches_the_hand_worked_totals() -> None:
    summary = am.action_summary(parse_register(), M, D, green_at_least=0.9, amber_at_least=0.75)
    assert summary == EXPECTED_TOTAL
    assert set(summary) == set(am.SUMMARY_KEYS)


def test_by_team_matches_the_hand_worked_table() -> None:
    result = am.action_summary_by(parse_register(), M, D, by=("service", "team"))
    got = {row["team"]: row for row in result.to_dict("records")}
    assert sorted(got) == ["CIN East", "CIN West", "Fostering 1"]
    for team, raised, due, on_time, late, overdue, rate, rag, completed, signed, oversight in table(BY_TEAM):
        row = got[team]
        assert row["actions_raised"] == int(raised), team
        assert row["actions_due"] == int(due), team
        assert row["actions_completed_on_time"] == int(on_time), team
        assert row["actions_completed_late"] == int(late), team
        assert row["actions_overdue"] == int(overdue), team
        assert row["action_completion_rate"] == (None if rate == "-" else float(rate)), team
        assert row["action_rag"] == (am.NONE_DUE if rag == "-" else rag), team
        assert row["actions_completed_in_month"] == int(completed), team
        assert row["actions_signed_off"] == int(signed), team
        assert row["sm_oversight_rate"] == (None if oversight == "-" else float(oversight)), team


def test_by_service_adds_up_its_teams() -> None:
    result = am.action_summary_by(parse_register(), M, D, by=("service",)).set_index("service")
    assert result.loc["CIN", "actions_due"] == 6
    assert result.loc["CIN", "actions_overdue"] == 3
    assert result.loc["CIN", "action_completion_rate"] == pytest.approx(2 / 6)
    assert result.loc["Fostering", "actions_raised"] == 1
    assert result.loc["Fostering", "action_completion_rate"] is None


def test_a_later_report_date_sees_later_completions() -> None:
    # --as-of 5 October 2026 for September: A10 (completed 2 Oct, due 5 Sep) is now late, no longer overdue;
    # A4 (due 30 Sep) is now 5 days overdue, A3 10 days, A6 35 days; A9 (due 15 Oct) is not yet due.
    frame = parse_register()
    later = date(2026, 10, 5)
    assert ids(am.completed_late(frame, M, later)) == ["A2", "A10"]
    overdue = am.overdue_at(frame, later)
    assert dict(zip(overdue["action_id"], overdue["days_overdue"], strict=True)) == {"A6": 35, "A3": 10, "A4": 5}
    # Completed *during September* is unchanged: A10 was completed in October.
    assert ids(am.completed_during(frame, M, later)) == ["A1", "A2", "A5", "A8"]


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        (1.0, "Green"),
        (0.90, "Green"),
        (0.8999, "Amber"),
        (0.75, "Amber"),
        (0.7499, "Red"),
        (0.0, "Red"),
        (None, am.NONE_DUE),
    ],
)
def test_rag_thresholds(rate: float | None, expected: str | None) -> None:
    assert am.rag(rate, 0.90, 0.75) == expected


def test_no_longer_required_leaves_every_denominator() -> None:
    frame = parse_register()
    frame.loc[frame["action_id"] == "A3", "status"] = "No longer required"
    summary = am.action_summary(frame, M, D)
    assert summary["actions_due"] == 5  # A3 left the denominator
    assert summary["action_completion_rate"] == pytest.approx(2 / 5)
    assert summary["actions_overdue"] == 2
    assert summary["actions_raised"] == 5


def test_an_empty_register_gives_zeros_and_no_rates() -> None:
    empty = parse_register().iloc[0:0]
    summary = am.action_summary(empty, M, D)
    assert summary["actions_due"] == 0 and summary["action_completion_rate"] is None
    assert summary["sm_oversight_rate"] is None and summary["action_rag"] == am.NONE_DUE


def test_flags_parsed_once_give_each_months_summary_as_action_summary_does() -> None:
    # The trend asks one ActionFlags for every month of the window: each month's figures as if asked alone.
    frame = parse_register()
    flags = am.ActionFlags(frame, D)
    for month in ("2026-07", "2026-08", "2026-09", "2026-10"):
        assert flags.summary(month) == am.action_summary(frame, month, D)
    assert flags.summary(M, green_at_least=0.9, amber_at_least=0.75) == EXPECTED_TOTAL
    # August by hand: A5 (due 20 Aug, done 2 Sep) late, A6 (due 31 Aug) open; both overdue-or-late as at D.
    august = flags.summary("2026-08")
    assert (august["actions_due"], august["actions_completed_on_time"], august["actions_completed_late"]) == (2, 0, 1)


def test_a_due_date_far_beyond_the_report_is_never_due_nor_overdue() -> None:
    # A typed "9999-12-31" parses (pandas keeps microseconds there), and must compare as a date, not overflow.
    frame = parse_register()
    frame.loc[frame["action_id"] == "A3", "due_date"] = "9999-12-31"
    frame["due_date"] = frame["due_date"].astype(object)
    overdue = am.overdue_at(frame, D)
    assert "A3" not in set(overdue["action_id"])
    assert am.action_summary(frame, M, D)["actions_due"] == EXPECTED_TOTAL["actions_due"] - 1
