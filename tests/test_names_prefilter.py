"""The name detector's shortcuts (issue 25) find exactly what its rules find when read over the whole text.

``find`` skips a text whose capitalised words can none of them be a name, and reads a text that could hold one
sentence by sentence, only the sentences that could. ``_find_whole`` is the rules without either shortcut. The texts
here are the demo's sentences, the labelled corpus, and generated ones built from the words and marks that the rules
look at across sentences (titles, "St", dots, line breaks, brackets, quotes, capitals, cues, accents).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from caseaudit_batch.core.names import NameDetector
from caseaudit_batch.demo import corpus

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "names.tsv"

_WORDS = (
    "Mr Mrs Ms Dr St Saint Miss Mx Grace Will Hope Tyler Maisie Sam Worker Green Young Rose Lane School Centre May "
    "April Amber Zoë Łukasz Siobhán O'Neil Lily-Mae JJ CAMHS ICPC The She He mother mum brother aged is was said and "
    "her his nickname known as to be called foster carer visited seen years old iPhone x-Ray Kayden Tyler's Maisie's "
    "Mum's Jones Okafor Patel Khan Evie-Grace the child plan review"
)
VOCABULARY = _WORDS.split()
MARKS = [" ", " ", " ", ". ", ".", "\n", "? ", "! ", ", ", "; ", ": ", " (", ") ", "'", "’", "-", " - ", '"', "“"]
MARKS += [" & ", "6", " 4 ", "•", "_", "²", "…", "\u00a0", "\r\n", " '", ".)", "..."]


def _generated(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        pieces = []
        for _ in range(rng.randint(1, 14)):
            word = rng.choice(VOCABULARY)
            if rng.random() < 0.05:
                word = word.upper()
            pieces += [word, rng.choice(MARKS)]
        texts.append("".join(pieces))
    return texts


def _labelled() -> list[str]:
    if not CORPUS.exists():
        return []
    rows = [line.split("\t")[0] for line in CORPUS.read_text("utf-8").splitlines() if not line.startswith("#")]
    return rows[1:]


@pytest.fixture(scope="module")
def detector() -> NameDetector:
    return NameDetector.build(["Sam Worker", "Grace Green"], ["Kayden"], ["Tyler"])


def _hits(found: list) -> list[tuple[str, int, int, str]]:  # type: ignore[type-arg]
    return [(hit.word, hit.start, hit.end, hit.reason) for hit in found]


def _whole(detector: NameDetector, text: str) -> list[tuple[str, int, int, str]]:
    hits = detector._find_whole(text, all_caps=text == text.upper())
    return _hits([hit for hit in hits if hit.word.casefold() not in detector._allowed])


def test_find_equals_the_rules_read_over_the_whole_text(detector: NameDetector) -> None:
    demo = sorted(corpus.distinct())
    labelled = _labelled()
    rng = random.Random(11)
    answers = [" ".join(rng.sample(demo + labelled, rng.randint(2, 6))) for _ in range(800)]
    texts = demo + labelled + answers + _generated(6000, seed=25)
    named = 0
    for text in texts:
        assert _hits(detector.find(text)) == _whole(detector, text), text
        named += bool(detector.find(text))
    assert named > 1000  # the generated texts exercise the rules, not only the shortcut


def test_a_text_whose_capitals_are_everyday_words_or_sentence_openers_is_skipped(detector: NameDetector) -> None:
    text = "The plan was reviewed. Management oversight is clear.\nRecords show Partner agencies attend."
    assert not detector._could_name(text, ascii=True)
    assert detector.find(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "The worker visited Maisie at school.",  # a given name
        "Records show that Kayden attends.",  # a configured name
        "Visited by Sam Worker today.",  # a roster name
        "Seen with Mr Ahmed.",  # a title
        "Following the review Signs improved.",  # an unknown capitalised word mid-sentence
        "Zoë's nan attends.",  # a possessive, not ASCII
    ],
)
def test_a_text_that_could_hold_a_name_is_read(detector: NameDetector, text: str) -> None:
    assert detector._could_name(text, ascii=text.isascii())


def test_a_title_before_a_dot_keeps_the_sentence_whole(detector: NameDetector) -> None:
    assert _hits(detector.find("Seen by Mr. Okafor and Dr. Rachel Jones. St. Mary's staff.")) == [
        ("Okafor", 12, 18, "title and surname"),
        ("Rachel", 27, 33, "title and surname"),
        ("Jones", 34, 39, "title and surname"),
    ]


def test_a_question_marks_its_own_sentence_when_read_alone(detector: NameDetector) -> None:
    # "Will" opening a question is a verb; the same word before "said" in a statement is a name
    asked = "Visits were regular. Will said he wants to move?"
    told = "Is it clear? Visits were regular. Will said he wants to move."
    assert detector.find(asked) == [] == detector._find_whole(asked, all_caps=False)
    assert [hit.word for hit in detector.find(told)] == ["Will"]
