"""Benchmark: theme tagging (``caseaudit_batch.reports.themes.Tagger``) with the shipped taxonomy
(``input_templates/themes.toml``) against the labelled corpus ``shared/corpora/themes.tsv`` (issue 21), side by side
with the whole-word matching it replaced (exact phrases, no stems, no word gaps, no negative phrases).

Micro-averaged precision and recall of the theme tags over all sentences: a tag the labels also give is a true
positive; a tag they do not give, a false positive; a label the tagger misses, a false negative. Targets: both at
least 0.85. Exits 1 if one is missed, 2 if the corpus is missing. The corpus's wording is not copied into the
taxonomy: a miss is fixed with a phrase general enough for text nobody here wrote, or not at all.
Usage: ``python benchmarks/bench_themes.py [--corpus PATH] [--misses]``.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout

from caseaudit_batch.reports.themes import Tagger, Theme, load_taxonomy  # noqa: E402

TARGET = 0.85


def default_corpus() -> Path:
    beside = ROOT.parent / "shared" / "corpora" / "themes.tsv"
    return beside if beside.exists() else Path("/work/shared/corpora/themes.tsv")


def read_corpus(path: Path) -> list[tuple[str, set[str]]]:
    rows = []
    for line in path.read_text("utf-8").splitlines():
        if not line.strip() or line.startswith("#") or line.startswith("text\t"):
            continue
        text, _, labels = line.partition("\t")
        rows.append((text, {t.strip() for t in labels.split(";") if t.strip()}))
    return rows


class WholeWords:
    """The matching before issue 21: any phrase as whole words, exactly as typed (for the side-by-side)."""

    def __init__(self, taxonomy: list[Theme]) -> None:
        self.patterns = {
            t.name: re.compile(r"\b(?:" + "|".join(re.escape(p) for p in t.phrases) + r")\b", re.IGNORECASE)
            for t in taxonomy
        }

    def themes_of(self, text: str) -> tuple[str, ...]:
        return tuple(name for name, pattern in self.patterns.items() if pattern.search(text.replace("’", "'")))


def score(tagger: Tagger | WholeWords, corpus: list[tuple[str, set[str]]]) -> tuple[float, float, list[str]]:
    tp = fp = fn = 0
    misses = []
    for text, labels in corpus:
        found = set(tagger.themes_of(text))
        tp += len(found & labels)
        fp += len(found - labels)
        fn += len(labels - found)
        if found != labels:
            misses.append(f"{text}\n    labelled {sorted(labels)}; tagged {sorted(found)}")
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, misses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=default_corpus())
    parser.add_argument("--misses", action="store_true", help="list each sentence tagged other than labelled")
    args = parser.parse_args()
    if not args.corpus.exists():
        print(f"corpus not found: {args.corpus}")
        return 2
    corpus = read_corpus(args.corpus)
    taxonomy = load_taxonomy(ROOT / "input_templates" / "themes.toml")
    now = score(Tagger(taxonomy), corpus)
    before = score(WholeWords(taxonomy), corpus)
    print(f"{'figure':<40}{'whole words':>12}{'stems (now)':>12}  target")
    print(f"{'sentences':<40}{len(corpus):>12}{len(corpus):>12}")
    print(f"{'micro precision':<40}{before[0]:>12.3f}{now[0]:>12.3f}  >= {TARGET}")
    print(f"{'micro recall':<40}{before[1]:>12.3f}{now[1]:>12.3f}  >= {TARGET}")
    if args.misses:
        print("\n".join(now[2]))
    met = now[0] >= TARGET and now[1] >= TARGET
    print("targets: " + ("all met" if met else "MISSED"))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
