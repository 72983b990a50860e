"""Learning for the Principal Social Worker (issue 21), from the tagged points of :func:`themes.tag_texts`: each
theme's 12-month trend and services, possible new themes in the untagged text, the child's lived experience (the
impact answers), learning into practice (follow-ups of cases that carried a theme) and auditor calibration.

Guidance Appendix 1: the answers to "how has the work changed the life of the child or young person?" inform
practice development; guidance section 4: strengths and learning are collated for training. Everything here works on
the points already tagged once for every output, so no sentence is tagged twice.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from caseaudit_batch.core.errors import ConfigError
from caseaudit_batch.reports.themes import Tagger, Theme, pick_quotes, rows_by_theme

#: Words that carry no theme on their own: a phrase may not begin or end with one ("[name]" shows as "name").
_STOP = """a about above after again all also am an and any are as at be been before being below between both but by
can could did do does doing done down during each few for from further had has have having he her here hers him his
how i if in into is it its itself just may me might more most much must my no nor not now of off on once only or
other our out over own same she should so some such than that the their them then there these they this those
through to too under until up upon very was we were what when where which while who whom why will with would you
your name yet well still often every many several one two three child's young person person's"""
STOP_WORDS = frozenset(_STOP.split())
_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?")
DIFFERENCE = "difference"
#: The shipped list (themes.toml ``[difference]`` replaces it): words an impact answer uses when the child's life
#: is better for the work. Matched like theme phrases (stems, words in order within three).
DEFAULT_DIFFERENCE = (
    "safer",
    "happier",
    "attends school",
    "attending school",
    "more settled",
    "settled",
    "improved",
    "improvement",
    "made a difference",
    "feels listened to",
    "feel safe",
    "stable",
    "stability",
    "made progress",
    "good progress",
    "thriving",
    "reunified",
    "returned home",
    "needs are met",
    "consistent worker",
    "confident",
)
DEFAULT_NOT_DIFFERENCE = ("not improved", "no improvement", "no difference", "not safer", "not settled", "no progress")
#: Fewer moderated audits than this and the calibration figures are marked as small numbers.
CALIBRATION_MIN = 3
#: A possible new theme is said at least this much more often this month than over the window's untagged text.
MIN_LIFT = 1.3
CALIBRATION_SMALL = 10


def load_difference(path: Path | None = None) -> Theme:
    """``[difference] phrases`` (and ``not_phrases``) from themes.toml, else the shipped lists: as a one-theme
    taxonomy for :class:`Tagger`. ``None``: the shipped lists."""
    try:
        data = tomllib.loads(path.read_text("utf-8")).get("difference", {}) if path is not None else {}
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        data = {}  # load_taxonomy has already said what is wrong with the file
    phrases = data.get("phrases", list(DEFAULT_DIFFERENCE)) if isinstance(data, dict) else None
    not_phrases = data.get("not_phrases", list(DEFAULT_NOT_DIFFERENCE)) if isinstance(data, dict) else None
    for value in (phrases, not_phrases):
        if not isinstance(value, list) or not all(isinstance(p, str) and p.strip() for p in value):
            raise ConfigError("REP001", path=str(path), what="[difference] phrases and not_phrases must be lists")
    assert isinstance(phrases, list) and isinstance(not_phrases, list)
    return Theme(
        DIFFERENCE,
        "The impact answer evidences a difference for the child.",
        tuple(p.strip().lower() for p in phrases),
        id=DIFFERENCE,
        not_phrases=tuple(p.strip().lower() for p in not_phrases),
    )


# ------------------------------------------------------------------------------------------------------------
# Possible new themes
# ------------------------------------------------------------------------------------------------------------
def _phrases(text: str) -> set[str]:
    """The 2- and 3-word phrases of a point that neither begin nor end with a stop word."""
    words = _TOKEN.findall(text.lower().replace("’", "'"))
    found: set[str] = set()
    for n in (2, 3):
        for i in range(len(words) - n + 1):
            gram = words[i : i + n]
            # "[name]" (a redacted name) is never part of a phrase: the redaction mark says nothing.
            if gram[0] not in STOP_WORDS and gram[-1] not in STOP_WORDS and "name" not in gram:
                found.add(" ".join(gram))
    return found


def emerging_phrases(tagged: pd.DataFrame, month: str, *, limit: int = 10, min_count: int = 2) -> pd.DataFrame:
    """The month's untagged points, as their most telling phrases: Phrase, Points (untagged points of the month
    holding it) and Weight. Weighted against the year, TF-IDF style: Points times the log of how much more often the
    phrase is said this month than over the window's untagged points, so wording every month uses sinks and what is
    new rises. With one month of history, the most frequent. A three-word phrase hides its parts when they count no
    more."""
    columns = ["Phrase", "Points", "Weight"]
    untagged = tagged[tagged["themes"].map(len) == 0] if len(tagged) else tagged
    mine = untagged[untagged["month"] == month] if len(untagged) else untagged
    if not len(mine):
        return pd.DataFrame(columns=columns)
    # Each distinct point's phrases once, counted as often as the point is said.
    phrases_of = {text: _phrases(text) for text in untagged["text"].unique()}
    year: Counter[str] = Counter()
    for text, n in Counter(untagged["text"]).items():
        for p in phrases_of[text]:
            year[p] += n
    month_counts: Counter[str] = Counter()
    for text, n in Counter(mine["text"]).items():
        for p in phrases_of[text]:
            month_counts[p] += n
    one_month = untagged["month"].nunique() == 1
    rows = []
    for phrase, count in month_counts.items():
        if count < min_count:
            continue
        lift = (count / len(mine)) / (year[phrase] / len(untagged))
        if not one_month and lift < MIN_LIFT:
            continue  # said about as often as all year: everyday wording, however frequent
        weight = float(count) if one_month else count * math.log(lift)
        if weight > 0:
            rows.append((phrase, count, weight))
    rows.sort(key=lambda r: (-round(r[2], 6), -r[0].count(" "), r[0]))  # a tie: the longer phrase first
    shown: list[tuple[str, int, float]] = []
    for phrase, count, weight in rows:
        if any(phrase in longer and count <= c for longer, c, _ in shown):
            continue  # "out of date" already says "of date"'s part
        shown.append((phrase, count, round(weight, 2)))
        if len(shown) >= limit:
            break
    return pd.DataFrame.from_records(shown, columns=columns) if shown else pd.DataFrame(columns=columns)


# ------------------------------------------------------------------------------------------------------------
# Trend and services
# ------------------------------------------------------------------------------------------------------------
def theme_trend(tagged: pd.DataFrame, months: list[str]) -> pd.DataFrame:
    """Audits mentioning each theme by month and side: index (theme, side), columns the months (0 where none)."""
    # Each (theme, side, month) counts its distinct audits: each point's (audit, side, month) as one number, and for
    # each theme the distinct numbers of its rows (no explode of every point of the window, nor a loop over them:
    # near a million points on a large authority's year, issue 25); the same table as a group-by's.
    audit_codes, _ = pd.factorize(tagged["audit_id"], use_na_sentinel=False)
    side_codes, sides = pd.factorize(tagged["side"], use_na_sentinel=False)
    month_codes, in_months = pd.factorize(tagged["month"], use_na_sentinel=False)
    cells = len(sides) * len(in_months)
    point_keys = (audit_codes.astype(np.int64) * len(sides) + side_codes) * len(in_months) + month_codes
    audits: Counter[tuple[object, object, object]] = Counter()
    for name, rows in rows_by_theme(tagged["themes"]).items():
        found = np.bincount(np.unique(point_keys[rows]) % cells, minlength=cells) if cells else np.zeros(0, np.int64)
        for cell in np.flatnonzero(found):
            side, month = divmod(int(cell), len(in_months))
            audits[(name, sides[side], in_months[month])] = int(found[cell])
    if not audits:
        return pd.DataFrame(columns=months)
    keys = sorted(audits)
    index = pd.MultiIndex.from_tuples(keys, names=["themes", "side", "month"])
    counts = pd.Series([audits[k] for k in keys], index=index, name="audit_id", dtype="int64").unstack("month")
    return counts.reindex(columns=months).fillna(0).astype(int)


class ServiceMentions:
    """This month's audits mentioning a theme, by service of the case and side (``mentions(theme)``), for each theme
    in turn: the month's points picked and exploded once (issue 25: the learning-themes document asks for every
    theme)."""

    def __init__(self, tagged: pd.DataFrame, month: str) -> None:
        self.mine = tagged[tagged["month"] == month].explode("themes")

    def __call__(self, theme: str) -> pd.DataFrame:
        return _service_sides(self.mine[self.mine["themes"] == theme])


def _service_sides(mine: pd.DataFrame) -> pd.DataFrame:
    if not len(mine):
        return pd.DataFrame(columns=["Service", "Strengths", "Learning", "Findings"])
    table = mine.groupby(["service", "side"])["audit_id"].nunique().unstack("side")
    table = table.reindex(columns=["strength", "learning", "finding"]).fillna(0).astype(int)
    table.columns = ["Strengths", "Learning", "Findings"]
    return table.rename_axis("Service").reset_index()


# ------------------------------------------------------------------------------------------------------------
# The child's lived experience
# ------------------------------------------------------------------------------------------------------------
@dataclass
class LivedExperience:
    audits: int  # accepted audits of the month with an impact answer
    difference: int  # of those, audits whose impact answer evidences a difference (the [difference] phrases)
    by_month: pd.DataFrame  # Month, Audits, Difference, Share
    quotes: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def share(self) -> float | None:
        return self.difference / self.audits if self.audits else None


def lived_experience(
    tagged: pd.DataFrame, difference: Theme, months: list[str], month: str, *, no_quotes: bool = False
) -> LivedExperience:
    """Guidance Appendix 1 ("how has the work changed the life of the child?"): the impact answers, and the share of
    audits whose impact answer evidences a difference for the child."""
    tagger = Tagger([difference])
    impact_fields = [f for f in tagged["field"].unique() if str(f).endswith("_impact")]
    impact = tagged[tagged["field"].isin(impact_fields)]
    hits = {text: DIFFERENCE in tagger.sentence_themes(text) for text in impact["text"].unique()}
    made_mask = pd.Series([hits[t] for t in impact["text"]], index=impact.index, dtype=bool)
    marks: list[tuple[str, ...]] = [(DIFFERENCE,) if hit else () for hit in made_mask]
    impact = impact.assign(themes=pd.Series(marks, index=impact.index, dtype=object))
    made = impact[made_mask]
    answering = impact.groupby("month")["audit_id"].nunique() if len(impact) else pd.Series(dtype=int)
    evidencing = made.groupby("month")["audit_id"].nunique() if len(made) else pd.Series(dtype=int)
    rows = []
    for m in months:
        n = int(answering.get(m, 0))
        d = int(evidencing.get(m, 0))
        rows.append((m, n, d, d / n if n else None))
    by_month = pd.DataFrame.from_records(rows, columns=["Month", "Audits", "Difference", "Share"])
    latest = by_month[by_month["Month"] == month]
    audits, made_n = (int(latest["Audits"].iloc[0]), int(latest["Difference"].iloc[0])) if len(latest) else (0, 0)
    quotes = [] if no_quotes else pick_quotes(made[made["month"] == month], DIFFERENCE, tagger, 3)
    return LivedExperience(audits, made_n, by_month, quotes)


# ------------------------------------------------------------------------------------------------------------
# Learning into practice
# ------------------------------------------------------------------------------------------------------------
def into_practice(tagged: pd.DataFrame, moved: pd.DataFrame, taxonomy: list[Theme]) -> pd.DataFrame:
    """For each theme, the completed follow-ups (``moved``: :func:`followups.measures.movement` of the window) of
    audits that carried it as learning, and their overall grade movement."""
    # "Did the cases where we said chronology improve?": what the audit asked to improve (findings name every
    # section's subject on nearly every audit, so they would carry every theme).
    carried = tagged[tagged["side"] == "learning"].explode("themes").dropna(subset=["themes"])
    pairs = set(zip(carried["themes"], carried["audit_id"].astype(str), strict=True))
    earlier = [str(a) for a in moved["Earlier audit ID"].tolist()] if len(moved) else []  # once, not per theme
    rows = []
    for theme in taxonomy:
        mine = moved[[(theme.name, a) in pairs for a in earlier]] if len(moved) else moved
        counts = mine["Overall"].value_counts() if len(mine) else pd.Series(dtype=int)
        compared = int(sum(counts.get(k, 0) for k in ("improved", "same", "worse")))
        improved = int(counts.get("improved", 0))
        rows.append(
            {
                "Theme": theme.name,
                "Follow-ups": len(mine),
                "Improved": improved,
                "Same": int(counts.get("same", 0)),
                "Worse": int(counts.get("worse", 0)),
                "Share improved": improved / compared if compared else None,
            }
        )
    return pd.DataFrame.from_records(rows)


# ------------------------------------------------------------------------------------------------------------
# Auditor calibration (the QA team's internal Excel report only)
# ------------------------------------------------------------------------------------------------------------
_RANK = {"Inadequate": 1, "Requires Improvement": 2, "Good": 3, "Outstanding": 4}


def calibration(frame: pd.DataFrame, *, minimum: int = CALIBRATION_MIN) -> pd.DataFrame:
    """Per auditor with at least ``minimum`` moderated audits in the window: the mean of auditor minus moderator
    overall grade (1 Inadequate … 4 Outstanding; above 0, the auditor grades higher than the moderator) and the
    share where both gave the same grade. Guidance section 5: moderation tests the consistency of grading."""
    columns = ["Auditor", "Role", "Moderations", "Agreed", "Share agreed", "Mean difference", "Note"]
    moderated = frame[frame["moderated"].astype(bool)].drop_duplicates("audit_id", keep="last")
    a = moderated["a_overall"].map(_RANK)
    m = moderated["m_overall"].map(_RANK)
    both = moderated.assign(a=a, m=m).dropna(subset=["a", "m"])
    # Each auditor's moderations counted in one pass (not a pandas group per auditor: a large authority has
    # well over a thousand auditors); differences are whole numbers, so their sums are exact.
    tally: dict[Any, list[Any]] = {}
    for staff_id, auditor, role, ra, rm in zip(
        both["staff_id"], both["auditor"], both["auditor_role"], both["a"], both["m"], strict=True
    ):
        if staff_id is None or staff_id != staff_id:
            continue  # as groupby: no group for a blank key
        entry = tally.setdefault(staff_id, [0, 0, 0.0, None, None])
        entry[0] += 1
        entry[1] += int(ra == rm)
        entry[2] += float(ra) - float(rm)
        entry[3], entry[4] = auditor, role  # the last of the auditor's rows, as iloc[-1]
    rows = []
    for staff_id in sorted(tally):
        n, agreed, total, auditor, role = tally[staff_id]
        if n < minimum:
            continue
        rows.append(
            {
                "Auditor": str(auditor or staff_id),
                "Role": str(role or ""),
                "Moderations": n,
                "Agreed": agreed,
                "Share agreed": agreed / n,
                "Mean difference": round(total / n, 2),
                "Note": f"fewer than {CALIBRATION_SMALL}: small numbers" if n < CALIBRATION_SMALL else "",
            }
        )
    if not rows:
        return pd.DataFrame(columns=columns)
    table = pd.DataFrame.from_records(rows, columns=columns)
    order = table["Mean difference"].abs().sort_values(ascending=False, kind="stable").index
    return table.loc[order].reset_index(drop=True)
