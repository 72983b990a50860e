"""Learning themes: whole-word phrase matching, quotations, nothing lost."""

from __future__ import annotations

import pandas as pd

from caseaudit_batch.core.config import TEMPLATES_DIR
from caseaudit_batch.reports.themes import Tagger, Theme, load_taxonomy, summarise, tag_texts

TAXONOMY = [
    Theme("Voice", "The child's voice.", ("child's voice", "wishes and feelings", "direct work"), (4,)),
    Theme("Records", "Chronology and recording.", ("chronology", "recording"), (8,)),
    Theme("Partners", "Working with partners.", ("multi-agency", "school"), (6,)),
]


def test_phrases_match_whole_words_in_any_capitals() -> None:
    tagger = Tagger(TAXONOMY)
    assert tagger.themes_of("The CHILD’S VOICE is heard; Direct Work is planned.") == ("Voice",)
    assert tagger.themes_of("Recordings were late") == ()  # 'recording' is not 'recordings'
    assert tagger.themes_of("The chronology and multi-agency plan") == ("Records", "Partners")
    assert tagger.themes_of("Schooling was discussed") == ()
    assert tagger.themes_of("wishes and feelings") == ("Voice",)
    assert tagger.themes_of("wishes, and feelings") == ("Voice",)  # punctuation between words is not a word


def test_quote_is_the_sentence_naming_the_theme_shortened() -> None:
    tagger = Tagger(TAXONOMY)
    text = "Visits were regular. The chronology is out of date and needs work. Good multi-agency working."
    assert tagger.quote("Records", text) == "The chronology is out of date and needs work."
    long = "The chronology " + "is very long " * 40
    quoted = tagger.quote("Records", long)
    assert len(quoted) <= 222 and quoted.endswith("…")


def _frame() -> pd.DataFrame:
    rows = [
        (
            "A1",
            "C001",
            "2026-09",
            "North",
            "Lovely direct work.",
            "Chronology needs work.",
            "",
            "Schools need training.",
        ),
        ("A2", "C002", "2026-09", "South", "", "Nothing matches here.", "Update the plan.", ""),
        ("A3", "C003", "2026-08", "North", "The child's voice is clear.", "", "", ""),
    ]
    df = pd.DataFrame(
        rows,
        columns=[
            "audit_id",
            "case_ref",
            "month",
            "service",
            "strengths",
            "learning",
            "recommendations",
            "org_learning",
        ],
    )
    df["accepted"] = True
    return df


def test_summary_counts_quotes_and_keeps_untagged_text() -> None:
    tagger = Tagger(TAXONOMY)
    summary = summarise(tag_texts(_frame(), tagger), tagger, "2026-09")
    table = summary.table.set_index("Theme")
    assert table.loc["Voice", ["This month", "Strengths", "12 months"]].tolist() == [1, 1, 2]
    assert table.loc["Records", ["This month", "Learning"]].tolist() == [1, 1]
    assert table.loc["Partners", "This month"] == 0  # "Schools" is not "school"
    assert summary.quotes["Voice"] == [("C001", "Strengths", "Lovely direct work.")]
    untagged = summary.untagged
    assert set(untagged["Text"]) == {"Nothing matches here.", "Update the plan.", "Schools need training."}
    assert summary.org_learning["Themes"].tolist() == ["(no theme)"]


def test_no_quotes_keeps_counts_drops_text() -> None:
    tagger = Tagger(TAXONOMY)
    summary = summarise(tag_texts(_frame(), tagger), tagger, "2026-09", no_quotes=True)
    assert all(not items for items in summary.quotes.values())
    assert set(summary.untagged["Text"]) == {""} and len(summary.untagged) == 3
    assert summary.table.set_index("Theme").loc["Voice", "This month"] == 1


def test_shipped_taxonomy_loads() -> None:
    taxonomy = load_taxonomy(TEMPLATES_DIR / "themes.toml")
    assert len(taxonomy) >= 10 and all(t.phrases and t.description for t in taxonomy)
