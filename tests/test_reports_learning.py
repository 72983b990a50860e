"""Issue 21: learning for the PSW: every answer a source, quotations de-duplicated, possible new themes, the child's
lived experience, learning into practice and auditor calibration, each on a small hand-made table."""

from __future__ import annotations

import pandas as pd
import pytest

from caseaudit_batch.core.config import TEMPLATES_DIR
from caseaudit_batch.reports import learning
from caseaudit_batch.reports.themes import (
    Tagger,
    Theme,
    pick_from,
    pick_quotes,
    summarise,
    tag_texts,
    theme_counts,
    untagged_share,
)

TAXONOMY = [
    Theme("Records", "Chronology and recording.", ("chronology", "case recording"), (8,), id="records"),
    Theme("Partners", "Working with partners.", ("school", "multi-agency"), (6,), id="partners"),
]
TEXT_COLUMNS = ("strengths", "learning", "org_learning", "s4_findings", "s8_findings", "s9_impact", "m_rationale")


def _frame(rows: list[tuple[str, str, str, str, dict[str, str]]]) -> pd.DataFrame:
    """Rows of (audit ID, case reference, month, service, {answer: text})."""
    records = [
        {"audit_id": a, "case_ref": c, "month": m, "service": s, **{k: t.get(k, "") for k in TEXT_COLUMNS}}
        for a, c, m, s, t in rows
    ]
    df = pd.DataFrame.from_records(records)
    df["accepted"] = True
    return df


def test_every_answer_is_a_source_and_a_point_is_a_sentence() -> None:
    frame = _frame(
        [
            ("A1", "C1", "2026-09", "North", {"s4_findings": "The chronology is current. School attends meetings."}),
            ("A2", "C2", "2026-09", "North", {"m_rationale": "Chronologies are out of date.", "s9_impact": "Safer."}),
        ]
    )
    tagged = tag_texts(frame, Tagger(TAXONOMY))
    assert len(tagged) == 4  # two sentences of A1's findings, A2's rationale, A2's impact
    by_text = dict(zip(tagged["text"], zip(tagged["side"], tagged["themes"], strict=True), strict=True))
    assert by_text["The chronology is current."] == ("finding", ("Records",))
    assert by_text["School attends meetings."] == ("finding", ("Partners",))
    assert by_text["Chronologies are out of date."] == ("learning", ("Records",))
    assert by_text["Safer."] == ("strength", ())
    table = summarise(tagged, Tagger(TAXONOMY), "2026-09").table.set_index("Theme")
    assert table.loc["Records", ["This month", "Strengths", "Learning", "Findings"]].tolist() == [2, 0, 1, 1]
    assert theme_counts(tagged, Tagger(TAXONOMY), "2026-09")["records"] == {
        "strengths": 0,
        "learning": 1,
        "findings": 1,
    }


def test_quotes_are_deduplicated_by_content_and_kept_apart_by_side() -> None:
    same = "The chronology is out of date."
    frame = _frame(
        [
            ("A1", "C1", "2026-09", "North", {"learning": same}),
            ("A2", "C2", "2026-09", "North", {"learning": "The Chronology is out of date!"}),
            ("A3", "C3", "2026-09", "South", {"learning": "The chronology has not been updated for two months."}),
            ("A4", "C4", "2026-09", "South", {"learning": "The chronology has not been updated for three months."}),
            ("A5", "C5", "2026-09", "South", {"learning": "Case recording lags behind visits."}),
            ("A6", "C6", "2026-09", "South", {"strengths": "A clear chronology, updated weekly."}),
        ]
    )
    tagger = Tagger(TAXONOMY)
    summary = summarise(tag_texts(frame, tagger), tagger, "2026-09")
    learning_quotes = [text for _, _, text in summary.sides["Records"]["learning"]]
    # the sentence said twice comes first (representative), once; A4 says nearly what A3 says, so A5 comes next
    assert learning_quotes == [
        same,
        "The chronology has not been updated for two months.",
        "Case recording lags behind visits.",
    ]
    assert [t for _, _, t in summary.sides["Records"]["strength"]] == ["A clear chronology, updated weekly."]
    assert summarise(tag_texts(frame, tagger), tagger, "2026-09", no_quotes=True).sides["Records"]["learning"] == []


def test_good_or_better_only_beside_a_theme_with_mentions() -> None:
    frame = _frame([("A1", "C1", "2026-09", "North", {"learning": "Update the chronology."})])
    tagger = Tagger(TAXONOMY)
    table = summarise(tag_texts(frame, tagger), tagger, "2026-09", section_good_or_better={8: 0.5, 6: 0.75}).table
    rates = dict(zip(table["Theme"], table["Related sections good or better"], strict=True))
    assert rates["Records"] == 0.5 and pd.isna(rates["Partners"])


def test_untagged_share_is_of_learning_and_organisational_learning_points() -> None:
    frame = _frame(
        [
            ("A1", "C1", "2026-09", "North", {"learning": "Update the chronology. Visit more often."}),
            ("A2", "C2", "2026-09", "North", {"org_learning": "Handover needs a standard.", "strengths": "Warm."}),
        ]
    )
    tagged = tag_texts(frame, Tagger(TAXONOMY))
    assert untagged_share(tagged, "2026-09") == pytest.approx(2 / 3)
    assert untagged_share(tagged, "2026-08") is None


def test_emerging_phrases_from_a_small_corpus() -> None:
    """Three of this month's untagged points speak of "life story work"; a phrase every month uses ("the plan is
    reviewed") sinks; stop words never begin or end a phrase."""
    rows = []
    for i, text in enumerate(
        [
            "Life story work has not started for the child.",
            "No life story work is recorded.",
            "Life story work should begin before the move.",
            "Father's views are missing and the plan is reviewed.",
            "Father's views are missing from the assessment.",
        ]
    ):
        rows.append((f"A{i}", f"C{i}", "2026-09", "North", {"learning": text}))
    for i in range(6):  # the year's everyday wording
        rows.append((f"B{i}", f"D{i}", "2026-0" + str(3 + i % 5), "North", {"learning": "The plan is reviewed often."}))
    tagged = tag_texts(_frame(rows), Tagger(TAXONOMY))
    emerging = learning.emerging_phrases(tagged, "2026-09", limit=5)
    phrases = emerging["Phrase"].tolist()
    assert phrases[0] == "life story work"
    assert emerging.set_index("Phrase").loc["life story work", "Points"] == 3
    assert "father's views" in phrases
    assert "life story" not in phrases and "story work" not in phrases  # inside the longer phrase, same count
    assert not any(p.split()[0] in learning.STOP_WORDS or p.split()[-1] in learning.STOP_WORDS for p in phrases)
    assert "plan is reviewed" not in phrases  # only one untagged point this month: under the minimum count


def test_lived_experience_share_and_the_shipped_difference_phrases() -> None:
    difference = learning.load_difference(TEMPLATES_DIR / "themes.toml")
    frame = _frame(
        [
            ("A1", "C1", "2026-09", "North", {"s9_impact": "The child now attends school every day."}),
            ("A2", "C2", "2026-09", "North", {"s9_impact": "She feels safer at home and is more settled."}),
            ("A3", "C3", "2026-09", "North", {"s9_impact": "There has been no improvement for the child."}),
            ("A4", "C4", "2026-09", "North", {"s9_impact": "Progress against the plan is hard to measure."}),
            ("A5", "C5", "2026-08", "North", {"s9_impact": "Happier since the move."}),
        ]
    )
    tagged = tag_texts(frame, Tagger(TAXONOMY))
    lived = learning.lived_experience(tagged, difference, ["2026-08", "2026-09"], "2026-09")
    # A3's "no improvement" is cancelled by a not_phrase; A4's "progress" alone is no difference ("made progress" is).
    assert (lived.audits, lived.difference) == (4, 2)
    assert lived.by_month["Audits"].tolist() == [1, 4]
    assert {case for case, _, _ in lived.quotes} == {"C1", "C2"}


def test_learning_into_practice_follows_the_cases_that_carried_a_theme() -> None:
    frame = _frame(
        [
            ("E1", "C1", "2026-03", "North", {"learning": "Update the chronology."}),
            ("E2", "C2", "2026-03", "North", {"s8_findings": "The chronology is missing."}),
            ("E3", "C3", "2026-03", "North", {"strengths": "A clear chronology."}),  # a strength: not carried
            ("E4", "C4", "2026-04", "North", {"org_learning": "Chronologies are out of date."}),
        ]
    )
    tagged = tag_texts(frame, Tagger(TAXONOMY))
    moved = pd.DataFrame(
        {"Earlier audit ID": ["E1", "E2", "E3", "E4"], "Overall": ["improved", "same", "improved", "worse"]},
    )
    table = learning.into_practice(tagged, moved, TAXONOMY).set_index("Theme")
    # E2's findings name the chronology (every audit's section 8 does): only what the audit asked to improve counts
    assert table.loc["Records", ["Follow-ups", "Improved", "Same", "Worse"]].tolist() == [2, 1, 0, 1]
    assert table.loc["Records", "Share improved"] == 0.5
    assert table.loc["Partners", "Follow-ups"] == 0


def test_calibration_on_a_hand_worked_table() -> None:
    """Auditor grades against the moderator's, worked by hand (I 1, RI 2, G 3, O 4; difference = auditor - moderator):

    Ann (4 moderated): G/G 0, G/RI +1, O/G +1, RI/RI 0 -> agreed 2 of 4 (50%), mean +0.5
    Bob (3 moderated): RI/G -1, G/G 0, I/RI -1        -> agreed 1 of 3 (33%), mean -0.67
    Cat (2 moderated): fewer than 3, left out; Dan's audit is not moderated.
    """
    rows = [
        ("S1", "Ann", "Good", "Good"),
        ("S1", "Ann", "Good", "Requires Improvement"),
        ("S1", "Ann", "Outstanding", "Good"),
        ("S1", "Ann", "Requires Improvement", "Requires Improvement"),
        ("S2", "Bob", "Requires Improvement", "Good"),
        ("S2", "Bob", "Good", "Good"),
        ("S2", "Bob", "Inadequate", "Requires Improvement"),
        ("S3", "Cat", "Good", "Inadequate"),
        ("S3", "Cat", "Good", "Inadequate"),
    ]
    frame = pd.DataFrame(
        [
            {
                "audit_id": f"A{i}",
                "staff_id": s,
                "auditor": n,
                "auditor_role": "Team manager",
                "a_overall": a,
                "m_overall": m,
                "moderated": True,
            }
            for i, (s, n, a, m) in enumerate(rows)
        ]
        + [
            {
                "audit_id": "A99",
                "staff_id": "S4",
                "auditor": "Dan",
                "a_overall": "Good",
                "m_overall": None,
                "moderated": False,
            }
        ]
    )
    table = learning.calibration(frame).set_index("Auditor")
    assert list(table.index) == ["Bob", "Ann"]  # the largest difference first
    assert table.loc["Ann", ["Moderations", "Agreed", "Mean difference"]].tolist() == [4, 2, 0.5]
    assert table.loc["Ann", "Share agreed"] == 0.5
    assert table.loc["Bob", ["Moderations", "Agreed", "Mean difference"]].tolist() == [3, 1, -0.67]
    assert table.loc["Bob", "Share agreed"] == pytest.approx(1 / 3)
    assert table.loc["Bob", "Note"].startswith("fewer than 10")


def test_an_impact_answer_showing_no_difference_is_a_finding_not_a_strength() -> None:
    difference = Tagger([learning.load_difference()])
    frame = _frame(
        [
            ("A1", "C1", "2026-09", "North", {"s9_impact": "The young person is safer and seen alone at visits."}),
            ("A2", "C2", "2026-09", "North", {"s9_impact": "The young person has not been seen alone."}),
        ]
    )
    voice = Theme("Voice", "The child's voice.", ("seen alone",), id="voice")
    tagged = tag_texts(frame, Tagger([voice]), difference)
    assert dict(zip(tagged["audit_id"], tagged["side"], strict=True)) == {"A1": "strength", "A2": "finding"}


def test_quotations_go_most_said_first_then_by_audit_with_a_blank_audit_last() -> None:
    tagger = Tagger(TAXONOMY)
    said_twice = "The chronology is current."
    points = [
        (None, "C9", "learning", "Chronology gaps were found in the file."),  # said once, no audit ID: after A3
        ("A3", "C3", "learning", "The chronology needs a review of each event."),  # said once
        ("A2", "C2", "learning", said_twice),
        ("A1", "C1", "learning", said_twice),  # the same words from A1: the most said, A1 before A2
    ]
    picked = pick_from(points, "Records", tagger, 3)
    assert [case for case, _, _ in picked] == ["C1", "C3", "C9"]  # C2 says what C1 said: left out
    assert picked[0] == ("C1", "Learning", said_twice)
    assert pick_from([], "Records", tagger, 3) == []
    # The DataFrame form reads the same points.
    frame = pd.DataFrame(points, columns=["audit_id", "case_ref", "field", "text"])
    assert pick_quotes(frame, "Records", tagger, 3) == picked


def test_tagged_points_come_back_from_a_pickle_as_the_same_frame() -> None:
    """Issue 25: the report command tags in a short-lived process and takes the points back as a pickle: plain
    arrays (no object per point) that make the same frame, side, themes and order, as the frame's own rows."""
    import pickle

    from caseaudit_batch.reports.themes import points_frame, tag_points

    difference = Tagger([learning.load_difference()])
    frame = _frame(
        [
            ("A1", "C1", "2026-08", "North", {"s4_findings": "The chronology is current. School attends meetings."}),
            ("A2", "C2", "2026-09", "South", {"s9_impact": "The young person has not been seen alone."}),
            ("A3", "C3", "2026-09", "North", {"learning": "Chronology gaps. The chronology is current."}),
            ("A4", "C4", "2026-09", "North", {"strengths": "Multi-agency work is strong."}),
        ]
    )
    frame.loc[3, "accepted"] = False  # not accepted: none of its points
    points = tag_points(frame, Tagger(TAXONOMY), difference)
    assert all(a.dtype != object for a in (points.rows, points.fields, points.sentences, points.sides))
    again = pickle.loads(pickle.dumps(points))
    made = points_frame(frame, again)
    pd.testing.assert_frame_equal(made, tag_texts(frame, Tagger(TAXONOMY), difference))
    # Answer by answer in the sources' order (strengths, impact, learning, ..., findings), audits in frame order.
    assert made[["audit_id", "field", "text", "side", "themes"]].values.tolist() == [
        ["A2", "s9_impact", "The young person has not been seen alone.", "finding", ()],
        ["A3", "learning", "Chronology gaps.", "learning", ("Records",)],
        ["A3", "learning", "The chronology is current.", "learning", ("Records",)],
        ["A1", "s4_findings", "The chronology is current.", "finding", ("Records",)],
        ["A1", "s4_findings", "School attends meetings.", "finding", ("Partners",)],
    ]
    assert made.loc[made["text"] == "The chronology is current.", "case_ref"].tolist() == ["C3", "C1"]
    empty = points_frame(frame.iloc[0:0], tag_points(frame.iloc[0:0], Tagger(TAXONOMY)))
    assert empty.empty and list(empty.columns) == list(tag_texts(frame.iloc[0:0], Tagger(TAXONOMY)).columns)
