"""Learning themes: the PSW's taxonomy (``input_templates/themes.toml``) and the tagging of audit text by it.

Guidance section 4: themes and learning are collated for the Monthly Case File Audit report and shared with the
Principal Social Worker so that strengths and learning are built into training. Strengths, learning points,
recommendations and organisational learning points are tagged by key phrases, matched on stemmed words sentence by
sentence (:class:`Tagger`). Text
matching no theme is kept in its own list, so nothing is lost. Quotations come only from strengths, learning and
organisational learning (reports issue), and ``--no-quotes`` leaves them out everywhere.
"""

from __future__ import annotations

import functools
import re
import tomllib
from array import array
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from caseaudit_batch.core.errors import ConfigError

TEXT_FIELDS = {
    "strengths": "Strengths",
    "learning": "Learning",
    "recommendations": "Recommendations",
    "org_learning": "Organisational learning",
}
#: Issue 21: every free-text answer is a source, and which side of the document it counts on: strengths and impact
#: answers are "what we do well"; learning, recommendations, organisational learning and moderation rationale "what
#: we must improve"; section findings and the diversity answer count as both, shown as "findings".
SIDE_OF: dict[str, str] = {
    "strengths": "strength",
    **{f"s{n}_impact": "strength" for n in range(1, 10)},
    "learning": "learning",
    "recommendations": "learning",
    "org_learning": "learning",
    "m_rationale": "learning",
    **{f"s{n}_findings": "finding" for n in range(1, 10)},
    "diversity": "finding",
}
SOURCES = tuple(SIDE_OF)
#: The table's column of each side (counts are audits).
SIDES = {"strength": "Strengths", "learning": "Learning", "finding": "Findings"}
SIDE_HEADINGS = {"strength": "What we do well", "learning": "What we must improve", "finding": "Findings"}
MAX_QUOTE = 220
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True)
class Theme:
    name: str
    description: str
    phrases: tuple[str, ...]
    sections: tuple[int, ...] = ()
    #: a stable identifier (``id`` in themes.toml; made from the name when absent: the metrics JSON uses it)
    id: str = ""
    #: phrases that cancel the theme within the same sentence ("no concerns about risk" is not about risk)
    not_phrases: tuple[str, ...] = ()


def source_label(field: str) -> str:
    """A source as the document names it: "Strengths", "Findings, section 4", "Impact, section 9", …"""
    if field in TEXT_FIELDS:
        return TEXT_FIELDS[field]
    if field == "diversity":
        return "Diversity"
    if field == "m_rationale":
        return "Moderation rationale"
    section, _, kind = field.partition("_")
    return f"{kind.capitalize()}, section {section[1:]}"


def theme_id(name: str) -> str:
    """An id made from a theme's name: lower case, words joined by ``_``, other characters dropped."""
    words = re.findall(r"[a-z0-9]+", name.lower())
    return "_".join(words)


@dataclass
class ThemeSummary:
    """The themes figures and quotations every output shows (computed once)."""

    table: pd.DataFrame  # one row per theme
    quotes: dict[str, list[tuple[str, str, str]]]  # theme -> (case reference, field label, quotation)
    untagged: pd.DataFrame  # Case reference, Field, Text ("" with --no-quotes)
    org_learning: pd.DataFrame  # Case reference, Service, Themes, Text ("" with --no-quotes)
    no_quotes: bool
    taxonomy: list[Theme] = field(default_factory=list)
    #: theme -> side ("strength", "learning", "finding") -> quotations (``quotes`` is them in that order)
    sides: dict[str, dict[str, list[tuple[str, str, str]]]] = field(default_factory=dict)

    @property
    def tagged_this_month(self) -> int:
        return int(self.table["This month"].sum()) if len(self.table) else 0


def load_taxonomy(path: Path) -> list[Theme]:
    """Read and check the taxonomy; a broken file says what to fix (exit 2)."""
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except OSError:
        raise ConfigError("REP001", path=str(path), what="it could not be read") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError("REP001", path=str(path), what=f"it is not valid TOML ({exc})") from None
    raw = data.get("theme")
    if not isinstance(raw, list) or not raw:
        raise ConfigError("REP001", path=str(path), what="it lists no [[theme]]")
    themes: list[Theme] = []
    for number, item in enumerate(raw, start=1):
        name = str(item.get("name", "")).strip()
        phrases = item.get("phrases", [])
        sections = item.get("sections", [])
        if not name:
            raise ConfigError("REP001", path=str(path), what=f"theme {number} has no name")
        if not isinstance(phrases, list) or not all(isinstance(p, str) and p.strip() for p in phrases) or not phrases:
            raise ConfigError("REP001", path=str(path), what=f"theme '{name}' needs a list of phrases")
        if not isinstance(sections, list) or not all(isinstance(s, int) and 1 <= s <= 9 for s in sections):
            raise ConfigError("REP001", path=str(path), what=f"theme '{name}' has sections other than 1 to 9")
        not_phrases = item.get("not_phrases", [])
        if not isinstance(not_phrases, list) or not all(isinstance(p, str) and p.strip() for p in not_phrases):
            raise ConfigError("REP001", path=str(path), what=f"theme '{name}' has not_phrases that are not a list")
        given_id = item.get("id", "")
        if not isinstance(given_id, str) or (given_id and theme_id(given_id) != given_id):
            raise ConfigError(
                "REP001",
                path=str(path),
                what=f"theme '{name}' has an id other than lower-case words joined by '_' (e.g. 'risk_and_safety')",
            )
        themes.append(
            Theme(
                name=name,
                description=str(item.get("description", "")),
                phrases=tuple(p.strip().lower() for p in phrases),
                sections=tuple(sections),
                id=given_id or theme_id(name),
                not_phrases=tuple(p.strip().lower() for p in not_phrases),
            )
        )
    if len({t.name for t in themes}) != len(themes):
        raise ConfigError("REP001", path=str(path), what="two themes have the same name")
    if len({t.id for t in themes}) != len(themes):
        raise ConfigError("REP001", path=str(path), what="two themes have the same id")
    return themes


_WORD = re.compile(r"[a-z0-9]+(?:['’-][a-z0-9]+)*")
#: A phrase of several words matches when each word follows the one before within this many tokens (issue 21).
WINDOW = 3


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("’", "'"))


@functools.cache
def _stemmer() -> Any:
    import snowballstemmer

    return snowballstemmer.stemmer("english")


@functools.lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    # "child's" and "childs" are "child"; hyphenated words are stemmed whole ("multi-agency").
    return str(_stemmer().stemWord(word.removesuffix("'s")))


def _stems(text: str) -> list[str]:
    return [_stem(w) for w in _words(text)]


def sentences(text: str) -> list[str]:
    """A text's sentences (a "point" is one sentence of one answer): split at a line break and at the spaces after
    ".", "!" or "?", each with its spaces collapsed."""
    text = text.replace("’", "'")
    if _other_space(text):
        return [s for s in (" ".join(part.split()) for part in _SENTENCE.split(text)) if s]
    # Only spaces and line breaks separate the words (nearly every answer): the same split by str methods, several
    # times faster than the regex over a year's answers (issue 25). The first space after a full stop becomes a
    # line break; runs of spaces collapse; the spaces at either end of a line go.
    text = text.replace(". ", ".\n").replace("! ", "!\n").replace("? ", "?\n")
    while "  " in text:
        text = text.replace("  ", " ")
    text = text.replace(" \n", "\n").replace("\n ", "\n").strip(" ")
    return [s for s in text.split("\n") if s]


#: The white space other than " " and "\n" (what str.split and the regex's \s take as space).
_OTHER_SPACE = re.compile("[\t\x0b\x0c\r\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")


def _other_space(text: str) -> bool:
    if text.isascii():  # a few scans for a character, quicker than the regex
        return any(c in text for c in "\t\x0b\x0c\r\x1c\x1d\x1e\x1f")
    return _OTHER_SPACE.search(text) is not None


class _Phrases:
    """Key phrases as stemmed tokens, indexed by their first token: one pass over a sentence's tokens."""

    def __init__(self) -> None:
        self.by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}

    def add(self, phrase: str, theme: str) -> None:
        stems = tuple(_stems(phrase))
        if stems:
            self.by_first.setdefault(stems[0], []).append((stems, theme))

    def found(self, stems: list[str]) -> set[str]:
        hits: set[str] = set()
        for i, stem in enumerate(stems):
            for phrase, theme in self.by_first.get(stem, ()):
                if theme not in hits and _in_order(stems, i, phrase):
                    hits.add(theme)
        return hits


def _in_order(stems: list[str], start: int, phrase: tuple[str, ...]) -> bool:
    """Whether ``phrase``'s tokens follow ``stems[start]`` in order, each within ``WINDOW`` tokens of the last."""
    at = start
    for token in phrase[1:]:
        window = stems[at + 1 : at + 1 + WINDOW]
        if token not in window:
            return False
        at = at + 1 + window.index(token)
    return True


class Tagger:
    """Theme tagging by key phrases on stemmed, case-folded tokens (chronology/chronologies, engage/engagement),
    sentence by sentence: a phrase of several words matches in order with up to two other words between
    ("plans are not SMART" matches "plan smart"), and a theme's not_phrases cancel it in that sentence."""

    def __init__(self, taxonomy: list[Theme]) -> None:
        self.taxonomy = taxonomy
        self.order = {t.name: n for n, t in enumerate(taxonomy)}
        self.phrases = _Phrases()
        self.cancels = _Phrases()
        for theme in taxonomy:
            for phrase in theme.phrases:
                self.phrases.add(phrase, theme.name)
            for phrase in theme.not_phrases:
                self.cancels.add(phrase, theme.name)

    def sentence_themes(self, sentence: str) -> set[str]:
        stems = _stems(sentence)
        return self.phrases.found(stems) - self.cancels.found(stems)

    def themes_of(self, text: str) -> tuple[str, ...]:
        found: set[str] = set()
        for sentence in sentences(text):
            found |= self.sentence_themes(sentence)
        return tuple(sorted(found, key=self.order.__getitem__))

    def quote(self, theme: str, text: str) -> str:
        """The first sentence of ``text`` naming the theme, shortened at a word to ``MAX_QUOTE`` characters."""
        for sentence in sentences(text):
            if theme in self.sentence_themes(sentence):
                if len(sentence) > MAX_QUOTE:
                    sentence = sentence[:MAX_QUOTE].rsplit(" ", 1)[0] + " …"
                return sentence
        return ""


#: The tagged points' columns, in their order.
POINT_COLUMNS = ("audit_id", "case_ref", "month", "service", "field", "text", "side", "themes")
_SIDES = ("strength", "learning", "finding")


@dataclass
class Points:
    """A window's tagged points in compact form (one entry per point: the accepted audit's row, the answer's field,
    the sentence, its side), each distinct sentence and its themes once. Plain arrays and short lists, so the reports
    can tag in a short-lived process and take these back cheaply (issue 25); :func:`points_frame` makes the frame."""

    rows: np.ndarray  # the audit's position among the frame's accepted rows
    fields: np.ndarray  # index into SOURCES
    sentences: np.ndarray  # index into ``distinct``
    sides: np.ndarray  # index into _SIDES
    distinct: list[str]
    themes: list[tuple[str, ...]]  # of each distinct sentence

    def __len__(self) -> int:
        return len(self.rows)

    def take(self, at: np.ndarray | list[int]) -> Points:
        """The points at positions ``at``, in that order (the same sentences and themes)."""
        return Points(self.rows[at], self.fields[at], self.sentences[at], self.sides[at], self.distinct, self.themes)


def tag_points(frame: pd.DataFrame, tagger: Tagger, difference: Tagger | None = None) -> Points:
    """Every point (one sentence of one free-text answer, issue 21) of an accepted audit of ``frame``, tagged. Each
    distinct sentence is tagged once (many audits repeat a sentence).

    With ``difference`` (the ``[difference]`` phrases), an impact sentence that evidences no difference for the child
    ("has had three changes of worker") is a finding, not something we do well."""
    accepted = frame["accepted"].to_numpy(dtype=bool)  # the answers' columns only: not a copy of the whole frame
    # Built in flat arrays, one entry per point: the audit's row, the answer's field and the sentence's number (a
    # pandas explode of every answer of the window, and a map over its points, was most of the learning analysis'
    # time; lists of a million Python numbers were most of the tagging's memory, issue 25).
    at = array("i")
    fields = array("b")
    texts = array("i")
    split: dict[str, tuple[int, ...]] = {}  # each distinct answer split once
    distinct: dict[str, int] = {}  # each distinct sentence numbered once (and tagged once, below)
    for code, key in enumerate(SOURCES):
        if key not in frame:
            continue  # a frame without that answer (an older register, a test's small table)
        for row, text in enumerate(frame[key].to_numpy(dtype=object)[accepted].tolist()):
            if not isinstance(text, str) or not text.strip():
                continue
            parts = split.get(text)
            if parts is None:
                parts = split[text] = tuple([distinct.setdefault(one, len(distinct)) for one in sentences(text)])
            n = len(parts)
            at.extend([row] * n)
            fields.extend([code] * n)
            texts.extend(parts)
    del split
    sentence_list = list(distinct)
    del distinct
    impact = [key.endswith("_impact") for key in SOURCES]
    made: dict[int, bool] = {}  # an impact sentence evidencing a difference for the child (else a finding)
    if difference is not None:
        impact_texts = {text for code, text in zip(fields, texts, strict=True) if impact[code]}
        made = {text: bool(difference.sentence_themes(sentence_list[text])) for text in impact_texts}
    side_code = {side: i for i, side in enumerate(_SIDES)}
    side_of = [side_code[SIDE_OF[key]] for key in SOURCES]
    finding = side_code["finding"]
    n = len(at)
    return Points(
        rows=np.array(at, dtype=np.int32),
        fields=np.array(fields, dtype=np.int8),
        sentences=np.array(texts, dtype=np.int32),
        sides=np.fromiter(
            (
                finding if impact[code] and not made.get(text, True) else side_of[code]
                for code, text in zip(fields, texts, strict=True)
            ),
            dtype=np.int8,
            count=n,
        ),
        distinct=sentence_list,
        themes=[tagger.themes_of(text) for text in sentence_list],
    )


def _objects(values: list[Any] | tuple[Any, ...]) -> np.ndarray:
    """``values`` as a one-dimensional object array; fromiter makes each item one object (a tuple too)."""
    return np.fromiter(values, dtype=object, count=len(values))


def point_values(frame: pd.DataFrame, points: Points, column: str) -> np.ndarray:
    """``column`` of ``frame`` for each point of ``points`` (tagged from ``frame``: they index its accepted rows).
    Only that column is read: not a copy of the whole frame."""
    return frame[column].to_numpy(dtype=object)[frame["accepted"].to_numpy(dtype=bool)][points.rows]


def points_frame(frame: pd.DataFrame, points: Points) -> pd.DataFrame:
    """One row per point of ``points`` (tagged from ``frame``, whose rows they index): audit, case, month, service,
    field, side, text, themes."""
    if not len(points):
        return pd.DataFrame({name: pd.Series(dtype=object) for name in POINT_COLUMNS})
    # Filled into one object block, column by column, that becomes the frame as it is: a year's points are close to
    # a million, and a dict of lists made into a frame held each column three times over at once (the lists, their
    # arrays and the frame's block: the reports' peak of memory, issue 25).
    block = np.empty((len(POINT_COLUMNS), len(points)), dtype=object)
    for i, name in enumerate(POINT_COLUMNS[:4]):
        block[i] = point_values(frame, points, name)
    block[4] = _objects(SOURCES)[points.fields]
    block[5] = _objects(points.distinct)[points.sentences]
    block[6] = _objects(_SIDES)[points.sides]
    block[7] = _objects(points.themes)[points.sentences]
    return pd.DataFrame(block.T, columns=list(POINT_COLUMNS), dtype=object, copy=False)


def tag_texts(frame: pd.DataFrame, tagger: Tagger, difference: Tagger | None = None) -> pd.DataFrame:
    """One row per point (one sentence of one free-text answer, issue 21) of an accepted audit: audit, case, month,
    service, field, side, text, themes (:func:`tag_points`, then :func:`points_frame`)."""
    return points_frame(frame, tag_points(frame, tagger, difference))


def rows_by_theme(themes: pd.Series) -> dict[str, np.ndarray]:
    """Each theme named in ``themes`` (a column of tuples of names): which rows name it, as a boolean array.

    The distinct tuples are few (each distinct sentence has one), so each is read once and the rows are found by
    their codes (a loop over a year's points, near a million, was most of the counting, issue 25)."""
    codes, distinct = pd.factorize(themes.to_numpy(dtype=object))
    codes_of: dict[str, list[int]] = {}
    for code, found in enumerate(distinct):
        for name in found:
            codes_of.setdefault(name, []).append(code)
    return {name: np.isin(codes, these) for name, these in codes_of.items()}


def content_key(text: str) -> str:
    """What two quotations have in common when they say the same thing (capitals, punctuation, a redacted name)."""
    return " ".join(w for w in _words(text.replace("[name]", " ")) if not w.isdigit())


#: Two quotations sharing this share of their words say the same thing ("two changes of worker" / "three changes").
NEAR_SAME = 0.75


def _near(words: set[str], picked: list[set[str]]) -> bool:
    return any(len(words & other) >= NEAR_SAME * len(words | other) for other in picked)


#: A point as :func:`pick_from` reads it: audit ID, case reference, the answer's field and the sentence.
Point = tuple[Any, Any, Any, Any]


def _missing(value: Any) -> bool:
    """Blank as pandas counts it (``nunique`` and sorting leave out None and NaN)."""
    return value is None or (isinstance(value, float) and value != value)


def pick_quotes(
    points: pd.DataFrame,
    theme: str,
    tagger: Tagger,
    limit: int,
    seen: list[set[str]] | None = None,
    keys_of: dict[str, str] | None = None,
) -> list[tuple[str, str, str]]:
    """:func:`pick_from` the rows of ``points`` (columns audit_id, case_ref, field and text)."""
    if not len(points):
        return []
    points_list = list(zip(points["audit_id"], points["case_ref"], points["field"], points["text"], strict=True))
    return pick_from(points_list, theme, tagger, limit, seen, keys_of)


def pick_from(
    points: list[Point],
    theme: str,
    tagger: Tagger,
    limit: int,
    seen: list[set[str]] | None = None,
    keys_of: dict[str, str] | None = None,
) -> list[tuple[str, str, str]]:
    """Up to ``limit`` quotations of ``theme`` from ``points``: the most often said first (representative), one per
    audit, and never the same content twice, nor nearly (issue 21: identical quotes repeated across cases are
    noise). Equal counts go by audit ID, a blank ID last, then in the points' order. ``keys_of``: each text's
    :func:`content_key`, when the caller has them already.

    Plain lists (issue 25): a theme's points on one side are a handful, and a DataFrame's sort, counts and copies
    for each theme and side were most of the themes' time in every service pack."""
    if not points:
        return []
    if keys_of is None:
        keys_of = {}
    keys = []
    for point in points:
        text = point[3]
        key = keys_of.get(text)
        if key is None:
            key = keys_of[text] = content_key(text)
        keys.append(key)
    often = Counter(keys)
    order = sorted(
        range(len(points)),
        key=lambda i: (-often[keys[i]], _missing(points[i][0]), "" if _missing(points[i][0]) else points[i][0]),
    )
    picked: list[tuple[str, str, str]] = []
    seen_words: list[set[str]] = seen if seen is not None else []  # shared: never the same words on two sides
    seen_audits: set[str] = set()
    for i in order:
        audit_id, case_ref, field_key, sentence = points[i]
        words = set(str(keys[i]).split())
        if str(audit_id) in seen_audits or _near(words, seen_words):
            continue
        text = tagger.quote(theme, str(sentence))
        if text:
            picked.append((str(case_ref), source_label(str(field_key)), text))
            seen_words.append(words)
            seen_audits.add(str(audit_id))
        if len(picked) >= limit:
            break
    return picked


def summarise(
    tagged: pd.DataFrame,
    tagger: Tagger,
    month: str,
    *,
    section_good_or_better: dict[int, float | None] | None = None,
    no_quotes: bool = False,
    max_quotes: int = 3,
) -> ThemeSummary:
    """Per theme: audits mentioning it this month (by side and field) and over the window, and a few quotations of
    each side ("what we do well", "what we must improve", "findings").

    ``tagged`` is :func:`tag_texts` of the audit frame (the window), or a part of it (one service).
    """
    taxonomy = tagger.taxonomy
    this_month = tagged[tagged["month"] == month]
    # The window is only counted (audits per theme), in one pass over the points' themes; only the month's points
    # are exploded, once, and split by theme once (not compared with every theme's name in turn).
    audit_codes = pd.factorize(tagged["audit_id"])[0]  # a blank ID is -1: not counted (as nunique)
    window_audits = {
        name: int(np.unique(audit_codes[rows & (audit_codes >= 0)]).size)
        for name, rows in rows_by_theme(tagged["themes"]).items()
    }
    # The month's points of each theme, in their order (what exploding the themes and grouping by them gave), as plain
    # tuples: audit, case, field, sentence and side (issue 25: a DataFrame per theme and side, each counted and
    # sorted, was most of the themes' time in every service pack).
    of_theme: dict[Any, list[tuple[Any, Any, Any, Any, Any]]] = {}
    for audit_id, case_ref, field_key, text, side, found in zip(
        this_month["audit_id"],
        this_month["case_ref"],
        this_month["field"],
        this_month["text"],
        this_month["side"],
        this_month["themes"],
        strict=True,
    ):
        point = (audit_id, case_ref, field_key, text, side)
        for name in found if isinstance(found, (tuple, list)) else (found,):
            if not _missing(name):
                of_theme.setdefault(name, []).append(point)
    keys_of: dict[str, str] = {}
    rows = []
    quotes: dict[str, list[tuple[str, str, str]]] = {}
    sides: dict[str, dict[str, list[tuple[str, str, str]]]] = {}

    def audits(points: list[tuple[Any, Any, Any, Any, Any]]) -> int:
        return len({p[0] for p in points if not _missing(p[0])})

    for theme in taxonomy:
        mine = of_theme.get(theme.name, [])
        on_side = {side: [p for p in mine if p[4] == side] for side in SIDES}
        row: dict[str, object] = {"Theme": theme.name, "This month": audits(mine)}
        for side, label in SIDES.items():
            row[label] = audits(on_side[side])
        row["Recommendations"] = audits([p for p in mine if p[2] == "recommendations"])
        row["12 months"] = window_audits.get(theme.name, 0)
        row["Related sections"] = ", ".join(str(s) for s in theme.sections)
        if section_good_or_better is not None and theme.sections:
            shares = [section_good_or_better.get(s) for s in theme.sections]
            known = [s for s in shares if s is not None]
            # Issue 21: a rate beside a theme nobody mentioned reads as a finding about it: shown only with mentions.
            row["Related sections good or better"] = sum(known) / len(known) if known and row["This month"] else None
        rows.append(row)
        seen: list[set[str]] = []
        by_side = {
            side: (
                []
                if no_quotes
                else pick_from([p[:4] for p in on_side[side]], theme.name, tagger, max_quotes, seen, keys_of)
            )
            for side in SIDES
        }
        sides[theme.name] = by_side
        quotes[theme.name] = [q for side in SIDES for q in by_side[side]]
    table = pd.DataFrame.from_records(rows)
    # The list to read stays the short answers (strengths, learning, recommendations, organisational learning):
    # untagged findings are summed up by the "possible new themes" instead.
    untagged_rows = this_month[(this_month["themes"].map(len) == 0) & this_month["field"].isin(TEXT_FIELDS)]
    untagged = pd.DataFrame(
        {
            "Case reference": untagged_rows["case_ref"],
            "Field": untagged_rows["field"].map(TEXT_FIELDS),
            "Text": "" if no_quotes else untagged_rows["text"],
        }
    ).reset_index(drop=True)
    org = this_month[this_month["field"] == "org_learning"]
    org_learning = pd.DataFrame(
        {
            "Case reference": org["case_ref"],
            "Service": org["service"],
            "Themes": org["themes"].map(lambda t: "; ".join(t) if t else "(no theme)"),
            "Text": "" if no_quotes else org["text"],
        }
    ).reset_index(drop=True)
    return ThemeSummary(
        table=table,
        quotes=quotes,
        untagged=untagged,
        org_learning=org_learning,
        no_quotes=no_quotes,
        taxonomy=taxonomy,
        sides=sides,
    )


def untagged_share(tagged: pd.DataFrame, month: str) -> float | None:
    """Issue 21 (metrics JSON ``untagged_share``): of the month's learning and organisational learning points, the
    share that carry no theme (null when there are none)."""
    mine = tagged[(tagged["month"] == month) & tagged["field"].isin(("learning", "org_learning"))]
    return float((mine["themes"].map(len) == 0).mean()) if len(mine) else None


def theme_counts(tagged: pd.DataFrame, tagger: Tagger, month: str) -> dict[str, dict[str, int]]:
    """Issue 21 (metrics JSON ``themes``): theme ID -> audits mentioning it this month as a strength, as learning and
    in findings. Findings are apart: they name each section's subject on nearly every audit, so counted on both sides
    they would make every theme a strength and a learning point of every audit."""
    mine = tagged[tagged["month"] == month].explode("themes").dropna(subset=["themes"])
    out: dict[str, dict[str, int]] = {}
    for theme in tagger.taxonomy:
        hits = mine[mine["themes"] == theme.name]
        out[theme.id] = {
            key: int(hits.loc[hits["side"] == side, "audit_id"].nunique())
            for side, key in (("strength", "strengths"), ("learning", "learning"), ("finding", "findings"))
        }
    return out
