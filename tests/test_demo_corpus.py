"""Issue 21: the demo's free text is worth analysing: varied, across the themes, drifting over the year,
deterministic, and with no invented name in it."""

from __future__ import annotations

import random

from caseaudit_batch.core.config import TEMPLATES_DIR
from caseaudit_batch.core.names import NameDetector
from caseaudit_batch.demo import corpus
from caseaudit_batch.reports.themes import Tagger, load_taxonomy


def test_at_least_300_distinct_sentences_across_the_themes() -> None:
    sentences = corpus.distinct()
    assert len(sentences) >= 300
    tagger = Tagger(load_taxonomy(TEMPLATES_DIR / "themes.toml"))
    found = {theme for s in sentences for theme in tagger.themes_of(s)}
    assert len(found) == len(tagger.taxonomy)  # every theme of the shipped taxonomy has something to count


def test_no_name_anywhere_in_the_corpus() -> None:
    """The name detector (given names, titles with surnames) finds nothing in any sentence the demo can write."""
    detector = NameDetector.build()
    named = [(s, [h.word for h in detector.find(s)]) for s in sorted(corpus.distinct())]
    assert [n for n in named if n[1]] == []


def test_chronology_falls_away_as_learning_after_the_training_month() -> None:
    def chronology_share(month_index: int) -> float:
        rng = random.Random(7)
        points = [corpus.learning(rng, month_index) for _ in range(600)]
        return sum("chronology" in p.lower() for p in points) / len(points)

    before, after = chronology_share(corpus.TRAINING_MONTH_INDEX), chronology_share(corpus.TRAINING_MONTH_INDEX + 1)
    assert before > 0.2 and after < before / 2


def test_the_same_random_gives_the_same_text() -> None:
    def sample(seed: int) -> list[str]:
        rng = random.Random(seed)
        return [corpus.findings(rng, "Good", 8, 3), corpus.strength(rng, 3), corpus.impact(rng, True)]

    assert sample(1) == sample(1) and sample(1) != sample(2)
