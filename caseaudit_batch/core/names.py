"""Personal names in auditors' free text, found so that a child's name never reaches a published report (issue 19).

``NameDetector.build(staff_names, extra_names, allowed_words)`` is built once; ``find(text)`` lists the hits and
``redact(text)`` replaces each by a mark. Sources of names, in the order they win:

1. roster staff names ("staff name"): the whole name as one hit, and each of its words;
2. ``[privacy] extra_names`` ("extra name");
3. a title (Mr, Mrs, Ms, Miss, Mx, Dr, with or without a dot) and the capitalised words after it ("title and surname");
4. given names ("given name"), from Faker's person providers (below), and capitalised words that read as a person's
   name from their context: "Maisie and her brother", "Maisie's mother", "Maisie, aged 4", "his nickname, JJ".

Given names come from Faker (https://github.com/joke2k/faker, MIT licence): the first names of its English-language
locales and of the locales of the largest other language communities in England, loaded once, lazily.

Precision: many given names are also everyday words (Will, May, Grace, Hope, Frank, Joy, Bill, Dawn...). Such a
word is a name only with more evidence than a capital letter at the start of a sentence: a capital mid-sentence,
a possessive, a surname after it, a family or age cue, a verb of speech or wish after it, a hyphenated partner name
(Evie-Grace), or "and" with a found name. Months, seasons, places and ratings that are also names (April, Summer,
Amber) need evidence other than a capital. Lower-case words, acronyms, and names inside the name of a school,
street or team ("Rose Lane Children's Centre", "St Mary's") are never given-name hits. The word lists, and the
loading of Faker's names, are in ``name_lists.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from caseaudit_batch.core.name_lists import (
    _AGE_AFTER,
    _AGE_UNITS,
    _AGE_WORDS,
    _COMMON,
    _COORD,
    _FAMILY,
    _FAMILY_PREFIX,
    _NICKNAME_CUES,
    _NOT_NAMES,
    _NOT_OR_HEAD,
    _OWNERS,
    _PERSON_VERBS,
    _PLACE_HEADS,
    _ROLES,
    _SAINTS,
    _SEEN,
    _SERVICE_NOUNS,
    _STRONG,
    _TITLES,
    _TITLES_AND_SAINTS,
    _WEAK,
    _WEAK_NAMES,
    _classes,
    _surnames,
    _unaccented,
    given_names,
)

__all__ = ["REASONS", "NameDetector", "NameHit", "given_names"]  # given_names is name_lists' own

GIVEN = "given name"
STAFF = "staff name"
EXTRA = "extra name"
TITLE = "title and surname"
REASONS = (GIVEN, STAFF, EXTRA, TITLE)


@dataclass(frozen=True)
class NameHit:
    """One name in a text: ``text[start:end] == word``."""

    word: str
    start: int
    end: int
    reason: str


_CUE_WORDS = re.compile(r"nickname|known as|to be called", re.IGNORECASE)

# Tokens: words (letters, inner apostrophes and hyphens), numbers, and the punctuation the rules read. A sentence
# starts at the text's start, after . ! ? ; : or a line break, and after an opening quote or bracket or a bullet.
_TOKEN = re.compile(r"([^\W\d_]+(?:['’-][^\W\d_]+)*)|(\d+)|([.!?;:\n\"“‘(\[•*·]|(?<!\w)')|([,&])")
_WORD, _NUM, _BREAK, _PUNCT = 1, 2, 3, 4
_END_OF_SENTENCE = frozenset(".!?\n")
# The prefilter's view of a text (see NameDetector._could_name): each run of letters that starts with a letter other
# than a-z (an upper-case or accented letter), to the end of its word as _TOKEN reads it. Every capitalised word
# _TOKEN can make starts at such a letter, so none is missed; a few others are seen too ("Phone" in "iPhone"), which
# only sends the text down the full path.
_CAPITAL_WORD = re.compile(r"[^\W\d_a-z][^\W\d_]*(?:['’-][^\W\d_]+)*")
_CAPITAL_WORD_ASCII = re.compile(r"[A-Z][A-Za-z]*(?:['-][A-Za-z]+)*")  # the same for a text of ASCII alone, 4x faster
_SENTENCE_END = re.compile(r"[.!?\n]")
_TOKEN_MARKS = frozenset('.!?;:\n"“‘([•*·,&')  # the characters _TOKEN makes tokens of, besides letters and digits
_BREAK_CHARS = frozenset('.!?;:"“‘([•*·')  # one-character break tokens ("'" is one only after a non-word)


def _split_words(name: str) -> list[str]:
    """A roster or configured name as words: "Smith, Sam" is "Sam Smith"; titles and initials are dropped."""
    if name.count(",") == 1:
        surname, forenames = name.split(",")
        name = f"{forenames} {surname}"
    words = re.findall(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", name)
    return [w for w in words if len(w) > 1 and w.rstrip(".") not in _TITLES]


def _has_cue(text: str, ascii: bool) -> bool:
    """A nickname cue anywhere in ``text``. For ASCII text, lower-casing and looking for each cue is ten times
    faster than the case-blind pattern, and finds the same."""
    if not ascii:
        return _CUE_WORDS.search(text) is not None
    lowered = text.lower()
    return "nickname" in lowered or "known as" in lowered or "to be called" in lowered


def _capitals(text: str, ascii: bool) -> int:
    """How many capitalised words _Tokens would count in ``text`` (not all in capitals): the capital words that
    start a token, as _TOKEN reads one (not a letter, or an apostrophe or hyphen joining it to a letter, before)."""
    count = 0
    for match in (_CAPITAL_WORD_ASCII if ascii else _CAPITAL_WORD).finditer(text):
        p = match.start()
        if p and (_is_letter(text[p - 1]) or (p > 1 and text[p - 1] in "'’-" and _is_letter(text[p - 2]))):
            continue  # inside a word ("iPhone", "x-Ray"): _TOKEN reads it from an earlier letter
        word = match.group()
        if len(word) > 3 and word[-2] in "'’" and word[-1] in "sS":
            word = word[:-2]
        count += len(word) > 1 and word[0].isupper() and not word.isupper()
    return count


def _is_letter(char: str) -> bool:
    r"""``[^\W\d_]``, a letter as _TOKEN reads one."""
    return char.isalnum() and not char.isdecimal()


def _sentence_spans(text: str) -> Iterable[tuple[int, int]]:
    """``text`` cut after each . ! ? or line break, as (start, end) pairs. The rules look across such a break only
    after a title or "St" ("Mr. Patel", "St. Mary's"), so there it is not cut; the sentence gate and the heading and
    question marks of _Tokens work sentence by sentence, so each piece reads as it would in the whole."""
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        if match.group() == "." and _title_before(text, match.start()):
            continue
        yield start, end
        start = end
    if start < len(text):
        yield start, len(text)


def _title_before(text: str, dot: int) -> bool:
    """Whether the word before the dot at ``text[dot]`` may be a title or "St" (ending in one is enough: when in
    doubt the text is not cut). Characters that make no token (spaces, a closing bracket, an apostrophe) are
    skipped, as the tokens skip them."""
    j = dot - 1
    while j >= 0 and not (text[j].isalnum() or text[j] in _TOKEN_MARKS):
        j -= 1
    word = text[max(0, j - 4) : j + 1]
    return any(word.endswith(title) for title in _TITLES_AND_SAINTS)


def _starts_sentence(text: str, start: int) -> bool:
    """Whether the token before ``text[start]`` is a break (or there is none), as _Tokens marks a sentence's first
    word. A character that is no token (a dash, a closing bracket) gives False, which only costs the full path."""
    j = start - 1
    while j >= 0 and text[j].isspace():
        if text[j] == "\n":
            return True
        j -= 1
    return j < 0 or text[j] in _BREAK_CHARS


class _Tokens:
    """One text's tokens in parallel lists (faster to read than objects), with each word's possessive stripped."""

    __slots__ = (
        "all_caps",
        "base",
        "caps",
        "cue",
        "ends",
        "initial",
        "kinds",
        "n",
        "poss",
        "question",
        "starts",
        "texts",
    )

    def __init__(self, text: str, all_caps: bool, cue: bool, sentences: bool | None = None) -> None:
        """``sentences``: whether to mark questions and headings; by default, when ``text`` has a "?" or three
        capitalised words (else no sentence can be a question or, the rules take it, a heading). A sentence read on
        its own is given the answer for the whole text it came from."""
        kinds: list[int] = []
        texts: list[str] = []
        base: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        poss: list[bool] = []
        caps: list[bool] = []  # capitalised and not an acronym: the only words that can be given names
        initial: list[bool] = []  # first word of a sentence (or a capital that is no evidence, as in a heading)
        after_break = True
        capitals = 0
        # One pass (this is the hot loop: find() must keep up with ~10,000 short texts a second).
        for m in _TOKEN.finditer(text):
            kind = m.lastindex or 0
            word = m.group()
            start, end = m.span()
            kinds.append(kind)
            texts.append(word)
            starts.append(start)
            if kind != _WORD:
                after_break = kind == _BREAK
                base.append(word)
                ends.append(end)
                poss.append(False)
                caps.append(False)
                initial.append(True)
                continue
            possessive = len(word) > 3 and word[-2] in "'’" and word[-1] in "sS"
            if possessive:
                word = word[:-2]
                end -= 2
            if all_caps and len(word) > 1:
                word = "-".join(part.capitalize() for part in word.split("-"))
            capital = len(word) > 1 and word[0].isupper() and not word.isupper()
            capitals += capital
            base.append(word)
            ends.append(end)
            poss.append(possessive)
            caps.append(capital)
            initial.append(after_break or all_caps)
            after_break = False
        n = len(kinds)
        self.kinds, self.texts, self.starts, self.ends = kinds, texts, starts, ends
        self.base, self.poss, self.caps, self.initial, self.n = base, poss, caps, initial, n
        self.all_caps = all_caps
        self.cue = cue  # a nickname cue can make even an acronym a name ("JJ")
        self.question = [False] * n  # in a sentence that ends with "?" ("Will Tyler...?": its first word is a verb)
        if sentences is None:
            sentences = capitals >= 3 or "?" in text
        if sentences:
            self._sentences()

    def _sentences(self) -> None:
        """Marks questions, and makes every capital of a Title Case Heading Or Line 'initial' (no evidence)."""
        start = 0
        for i in range(self.n + 1):
            if i < self.n and not (self.kinds[i] == _BREAK and self.texts[i] in _END_OF_SENTENCE):
                continue
            long_words = [j for j in range(start, i) if self.kinds[j] == _WORD and len(self.base[j]) > 3]
            capital = sum(1 for j in long_words if self.base[j][0].isupper())
            heading = len(long_words) >= 3 and capital >= 0.7 * len(long_words)
            question = i < self.n and self.texts[i] == "?"
            for j in range(start, i):
                self.initial[j] = self.initial[j] or heading
                self.question[j] = question
            start = i + 1

    def word(self, i: int) -> str:
        return self.base[i] if 0 <= i < self.n and self.kinds[i] == _WORD else ""

    def lower(self, i: int) -> str:
        return self.texts[i].lower() if 0 <= i < self.n else ""


class NameDetector:
    """Finds personal names in free text. Build once with ``NameDetector.build``; ``find`` and ``redact`` are pure."""

    def __init__(
        self,
        phrases: dict[str, list[tuple[tuple[str, ...], str]]],
        words: dict[str, str],
        allowed: frozenset[str],
    ) -> None:
        self._phrases = phrases  # first word (casefolded) -> (the whole name's words, reason), longest first
        self._words = words  # one word of a staff or extra name (casefolded) -> reason
        self._allowed = allowed
        self._classes = _classes()
        self._surnames = _surnames()
        self._listed = frozenset(words) | frozenset(phrases)  # casefolded words that start or are a roster name

    @classmethod
    def build(
        cls,
        staff_names: Iterable[str] = (),
        extra_names: Iterable[str] = (),
        allowed_words: Iterable[str] = (),
    ) -> NameDetector:
        allowed = frozenset(w.strip().casefold() for w in allowed_words if w.strip())
        phrases: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        words: dict[str, str] = {}
        # Extra names first, so that a name in both lists is reported as staff (the roster is the surer source).
        for reason, names in ((EXTRA, extra_names), (STAFF, staff_names)):
            for name in names:
                parts = tuple(w.casefold() for w in _split_words(name))
                for part in parts:
                    if part not in allowed:
                        words[part] = reason
                if len(parts) > 1:
                    phrases.setdefault(parts[0], []).append((parts, reason))
        for options in phrases.values():
            options.sort(key=lambda option: -len(option[0]))
        return cls(phrases, words, allowed)

    def find(self, text: str) -> list[NameHit]:
        """The names in ``text``, in order. Lower-case words are never given-name hits."""
        if text == text.lower():  # no capital letter: nothing can be a name (the common case for short answers)
            return []
        all_caps = text == text.upper()
        ascii = text.isascii()
        if all_caps or _has_cue(text, ascii):  # a cue or capitals change how every word reads: the whole text
            found = self._find_whole(text, all_caps)
        elif not self._could_name(text, ascii):
            return []
        else:  # only the sentences that could hold a name are read, each as a text of its own (issue 25)
            found = []
            marks = "?" in text or _capitals(text, ascii) >= 3
            for start, end in _sentence_spans(text):
                sentence = text[start:end]
                if self._could_name(sentence, ascii):
                    tokens = _Tokens(sentence, all_caps=False, cue=False, sentences=marks)
                    found.extend(
                        NameHit(hit.word, hit.start + start, hit.end + start, hit.reason)
                        for hit in self._find_in(tokens, sentence)
                    )
        return [hit for hit in found if hit.word.casefold() not in self._allowed]

    def _find_whole(self, text: str, all_caps: bool) -> list[NameHit]:
        """The rules over the whole of ``text`` at once, without the shortcuts of find() (the tests compare them)."""
        return self._find_in(_Tokens(text, all_caps=all_caps, cue=_has_cue(text, text.isascii())), text)

    def _find_in(self, tokens: _Tokens, text: str) -> list[NameHit]:
        """The names in ``text``, read as ``tokens``, before the allowed words are taken out."""
        hits: dict[int, NameHit] = {}  # first token -> hit
        covered: set[int] = set()
        pending: list[int] = []  # everyday-word names and unknown capitalised words, for the "and" pass
        for i in range(tokens.n):
            if tokens.kinds[i] != _WORD or i in covered or not (tokens.caps[i] or tokens.cue):
                continue
            phrase = self._phrase_at(tokens, i)
            if phrase:
                last, reason = phrase
                start, end = tokens.starts[i], tokens.ends[last]
                hits[i] = NameHit(text[start:end], start, end, reason)
                covered.update(range(i, last + 1))
                continue
            reason = self._word_reason(tokens, i, hits)
            if reason == "?":
                pending.append(i)
            elif reason:
                start, end = tokens.starts[i], tokens.ends[i]
                hits[i] = NameHit(text[start:end], start, end, reason)
        for i in pending:  # "Tyler and Hope", "Oliver, Maisie and Tyler": a name's partner in a list is a name
            if self._joined_to_name(tokens, i, hits):
                start, end = tokens.starts[i], tokens.ends[i]
                hits[i] = NameHit(text[start:end], start, end, GIVEN)
        return [hits[i] for i in sorted(hits)]

    def redact(self, text: str, mark: str = "[name]") -> str:
        """``text`` with each name replaced by ``mark``; everything else is kept as it was."""
        pieces: list[str] = []
        done = 0
        for hit in self.find(text):
            if hit.start < done:
                continue
            pieces.append(text[done : hit.start])
            pieces.append(mark)
            done = hit.end
        pieces.append(text[done:])
        return "".join(pieces)

    def _could_name(self, text: str, ascii: bool) -> bool:
        """Whether any word of ``text`` (with no nickname cue, not all in capitals) could be a name, judged from its
        capitalised words alone; when not, find() skips tokenising, most of its time on long answers (issue 25).

        True whenever the rules below might find a name. False only when each capitalised word is one they always
        pass over without a cue: a word that is never a name here (_NOT_NAMES, a place's head word) and is not a
        roster or configured name or a title; or a word of no name list that starts a sentence without a
        possessive (the rules want a family or age cue for those, and take none for a sentence's first word). A
        word that only a found neighbour could make a name ("Tyler and Hope") needs that neighbour, itself a case
        for True. tests/test_names_prefilter.py holds find() to the rules read over the whole text."""
        for match in (_CAPITAL_WORD_ASCII if ascii else _CAPITAL_WORD).finditer(text):
            word = match.group()
            possessive = len(word) > 3 and word[-2] in "'’" and word[-1] in "sS"
            if possessive:
                word = word[:-2]
            if len(word) < 2 or not word[0].isupper() or word.isupper():
                continue  # not capitalised: without a cue, the rules read no such word as a name
            if word in _TITLES or word.casefold() in self._listed:
                return True
            if word in _NOT_OR_HEAD:
                continue
            if possessive or self._class_of(word) or not _starts_sentence(text, match.start()):
                return True
        return False

    # --- the rules -----------------------------------------------------------------------------------------------

    def _phrase_at(self, t: _Tokens, i: int) -> tuple[int, str] | None:
        """A whole staff or extra name starting at token ``i``: (its last token, the reason)."""
        options = self._phrases.get(t.base[i].casefold()) if t.caps[i] else None
        if not options:
            return None
        for words, reason in options:
            last = i + len(words) - 1
            if last >= t.n:
                continue
            if all(
                t.kinds[j] == _WORD and t.caps[j] and t.base[j].casefold() == w and (j == last or not t.poss[j])
                for j, w in zip(range(i, last + 1), words, strict=True)
            ):
                return last, reason
        return None

    def _word_reason(self, t: _Tokens, i: int, hits: dict[int, NameHit]) -> str:
        """The reason word ``i`` is a name, "" if it is not, "?" if only a neighbouring name could make it one."""
        word = t.base[i]
        if t.cue and self._nickname(t, i):
            return GIVEN
        if not t.caps[i]:
            return ""
        folded = word.casefold()
        listed = self._words.get(folded)
        if listed == EXTRA:
            return EXTRA
        if self._after_title(t, i, hits):
            return listed or TITLE
        cls = self._class_of(word)
        if listed == STAFF:  # a roster word that is also an everyday or place word needs the same evidence
            if word in _NOT_OR_HEAD:
                cls = _WEAK
            if cls in (_STRONG, 0):
                return "" if self._in_place_name(t, i) else STAFF
            return STAFF if self._evidence(t, i, cls) else ""
        if word in _NOT_OR_HEAD or self._in_place_name(t, i):
            return ""
        if cls == _STRONG:
            return GIVEN
        if cls:
            return GIVEN if self._evidence(t, i, cls) else "?"
        # Not a known name: only a family, age or nickname cue makes it one (mid-sentence, or sentence-first with a
        # possessive, where an everyday opener such as "She" cannot be).
        if self._family_cue(t, i) and (not t.initial[i] or t.poss[i]):
            return GIVEN
        if self._age_cue(t, i) and not t.initial[i]:
            return GIVEN
        return "" if t.initial[i] else "?"

    def _class_of(self, word: str) -> int:
        word = word.replace("’", "'")  # "O’Neil" as the lists spell it
        cls = self._classes.get(word, 0)
        if not cls and not word.isascii():  # "Zoë", "Siobhán": the lists may spell them without the accent
            cls = self._classes.get(_unaccented(word), 0)
        if cls or "-" not in word:
            return cls
        # "Lily-Mae", "Evie-Grace": every part capitalised, and either every part a name or one a sure one and no
        # part an everyday word ("Lacey-Mai"; not "Anglo-Saxon", "Black-British")
        parts = word.split("-")
        if not all(p[:1].isupper() for p in parts) or any(p in _NOT_OR_HEAD for p in parts):
            return 0
        classes = [self._classes.get(p, 0) for p in parts]
        return _STRONG if all(classes) or _STRONG in classes else 0

    def _after_title(self, t: _Tokens, i: int, hits: dict[int, NameHit]) -> bool:
        """'Ms Patel', 'Dr. Rachel Jones': the capitalised words straight after a title."""
        j = i - 1
        if j >= 0 and t.kinds[j] == _BREAK and t.texts[j] == ".":
            j -= 1
        if j >= 0 and t.kinds[j] == _WORD and t.base[j] in _TITLES:
            # any capitalised word: "Mrs Green", "Mr Young" are surnames; in capitals, "MR AND MRS KHAN" is not
            return t.base[i] not in _TITLES and not (t.all_caps and t.base[i] in _NOT_NAMES)
        prev = hits.get(i - 1)  # "Dr Rachel Jones": not in capitals, where every word looks like a surname
        return prev is not None and prev.reason == TITLE and not t.all_caps and t.base[i] not in _NOT_OR_HEAD

    def _in_place_name(self, t: _Tokens, i: int) -> bool:
        """'St Mary's', 'Rose Lane Children's Centre', 'Sunny Days Nursery': part of a place's or service's name."""
        j = i - 1
        if j >= 0 and t.kinds[j] == _BREAK and t.texts[j] == ".":
            j -= 1
        if j >= 0 and t.base[j] in _SAINTS:
            return True
        j = i
        while j < t.n and j < i + 5 and t.kinds[j] == _WORD and t.base[j][:1].isupper():
            if j > i and t.base[j] in _PLACE_HEADS and t.word(j + 1) not in _ROLES:
                return True
            if t.poss[j] and j > i and t.base[j] not in {"Children", "Women", "Men", "People"}:
                return False  # "Sam Smith's Team" is the team of a person
            j += 1
        return False

    def _evidence(self, t: _Tokens, i: int, cls: int) -> bool:
        """Evidence beyond its capital that an everyday-word name (``_COMMON``) or a weak one is a name here."""
        if cls == _COMMON and not t.initial[i]:
            return True  # a capital mid-sentence: "the worker visited Hope at school"
        if t.poss[i] and (cls == _COMMON or t.lower(i + 1) in _FAMILY):
            return True
        if self._family_cue(t, i) or self._age_cue(t, i):
            return True
        opener = t.initial[i] and t.question[i]  # "Will Tyler...?", "May Sam...?": a question's first word is a verb
        nxt = t.word(i + 1)
        surname = nxt in self._surnames or self._classes.get(nxt) == _STRONG
        if not opener and surname and t.caps[i + 1] and nxt not in _NOT_OR_HEAD and nxt not in _WEAK_NAMES:
            return True  # "Grace Okafor", "April Jones"
        after = t.lower(i + 1)
        if not opener and after in _PERSON_VERBS:
            return True
        return cls == _COMMON and after in {"is", "was"} and t.lower(i + 2) in _SEEN

    def _family_cue(self, t: _Tokens, i: int) -> bool:
        """'Maisie's mother', 'Maisie and her brother', 'his sister Grace', 'her foster carer, Joy'."""
        if t.poss[i] and self._family_word(t, i + 1):
            return True
        if t.lower(i + 1) == "and" and t.lower(i + 2) in _OWNERS and self._family_word(t, i + 3):
            return True
        j = i - 1
        if j >= 0 and t.texts[j] == ",":
            j -= 1
        if j >= 0 and t.lower(j) in _FAMILY and t.kinds[j] == _WORD:
            k = j - 1
            if t.lower(k) in _FAMILY_PREFIX:
                k -= 1
            return t.lower(k) in _OWNERS
        return False

    def _family_word(self, t: _Tokens, j: int) -> bool:
        if t.lower(j) in _FAMILY_PREFIX and t.lower(j + 1) in _FAMILY:
            j += 1
        # "Barnardo's family support worker" names a service, not a relative
        return t.lower(j) in _FAMILY and t.lower(j + 1) not in _SERVICE_NOUNS

    def _age_cue(self, t: _Tokens, i: int) -> bool:
        """'Leo, aged four', 'Hope is eleven and...', 'Maisie (6)', 'Tom is 9 years old'."""
        j = i + 1
        if t.lower(j) in {",", "("}:
            j += 1
        if t.lower(j) in {"aged", "age"}:
            return self._is_age(t, j + 1, loose=True)
        if t.lower(i + 1) == "(":
            return self._is_age(t, i + 2, loose=True) and t.lower(i + 3) == ")"
        if t.lower(i + 1) in {"is", "was", "turned", "turns"}:
            j = i + 2
            if t.lower(j) in {"now", "only", "just"}:
                j += 1
            return self._is_age(t, j, loose=False)
        return False

    def _is_age(self, t: _Tokens, j: int, loose: bool) -> bool:
        word = t.lower(j)
        if not (word in _AGE_WORDS or (j < t.n and t.kinds[j] == _NUM and int(word) <= 25)):
            return False
        after = t.lower(j + 1)
        if after in _AGE_UNITS:  # "is 6 weeks overdue" is no age; "is 6 years old" is
            return loose or t.lower(j + 2) == "old"
        return loose or after in _AGE_AFTER or j + 1 >= t.n or t.kinds[j + 1] in (_BREAK, _PUNCT)

    def _nickname(self, t: _Tokens, i: int) -> bool:
        """'his nickname, JJ, is used', 'known as Bobby': any capitalised word or acronym after such a cue."""
        word = t.base[i]
        if len(word) < 2 or not word[0].isupper() or word in _NOT_NAMES:
            return False
        j = i - 1
        if j >= 0 and t.texts[j] in {",", ":", '"', "“", "'", "‘"}:
            j -= 1
        for cue in _NICKNAME_CUES:
            start = j - len(cue) + 1
            if start >= 0 and all(t.lower(start + k) == w for k, w in enumerate(cue)):
                return True
        return False

    def _joined_to_name(self, t: _Tokens, i: int, hits: dict[int, NameHit]) -> bool:
        """Word ``i`` joined by "and", "&" or a comma to a given name already found."""
        for step in (-2, 2):
            link, other = i + step // 2, i + step
            if t.lower(link) in _COORD and other in hits:
                return True
        return False
