"""The learning themes' sentence split (issue 25: done by str methods where only spaces and line breaks separate the
words) gives exactly the sentences of the plain rule: split at line breaks and at the white space after ".", "!"
or "?", each sentence's white space collapsed."""

import random
import re

from caseaudit_batch.reports.themes import sentences

_RULE = re.compile(r"(?<=[.!?])\s+|\n+")


def _by_rule(text: str) -> list[str]:
    text = text.replace("’", "'")
    return [s for s in (" ".join(part.split()) for part in _RULE.split(text)) if s]


def test_examples() -> None:
    assert sentences("Plan is clear.  Visits were  on time!\n\nNo chronology? none") == [
        "Plan is clear.",
        "Visits were on time!",
        "No chronology?",
        "none",
    ]
    assert sentences("  one sentence only  ") == ["one sentence only"]
    assert sentences(" \n \n ") == []
    assert sentences("a.b. c...\td\u00a0e. f’s") == ["a.b.", "c...", "d e.", "f's"]


def test_same_as_the_rule_on_random_texts() -> None:
    rnd = random.Random(25)
    alphabet = ["a", "b", " ", " ", ".", "!", "?", "\n", "\t", "\r", "\u00a0", "\u2003", "’", "é", "x"]
    for _ in range(20000):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 24)))
        assert sentences(text) == _by_rule(text), repr(text)
    for _ in range(5000):  # only spaces and line breaks: the str-methods path
        text = "".join(rnd.choice(["a", "b", " ", " ", " ", ".", "!", "?", "\n", "’"]) for _ in range(40))
        assert sentences(text) == _by_rule(text), repr(text)
