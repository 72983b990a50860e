"""The word lists the name detector (``caseaudit_batch.core.names``) reads, and the given names and surnames it loads
from Faker (https://github.com/joke2k/faker, MIT licence): the first names of its English-language locales and of the
locales of the largest other language communities in England, loaded once, lazily, through a cache file. The word
lists were written by hand from general English knowledge; why each exists is said beside it and in names.py.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import unicodedata
from pathlib import Path

# Word classes of the packaged list.
_STRONG, _COMMON, _WEAK = 1, 2, 3


def _words(text: str) -> frozenset[str]:
    """A word list written as one string, so that the lists below stay readable."""
    return frozenset(text.split())


# Faker locales whose first names are read: English-speaking ones, then the languages most spoken at home in England
# after English that Faker writes in the Latin alphabet (Polish, Romanian, Portuguese, Spanish, Italian, Lithuanian,
# French, Turkish, German...), and South Asian and West African names as they are written in English.
_LOCALES = _words(
    "en_GB en_US en en_IE ga_IE en_NZ en_IN en_PK en_KE en_NG tw_GH yo_NG ig_NG ha_NG "
    "pl_PL ro_RO lt_LT lv_LV sk_SK cs_CZ hu_HU hr_HR pt_PT pt_BR es_ES it_IT fr_FR de_DE tr_TR"
)
_NAME_SHAPE = re.compile(r"[^\W\d_][^\W\d_A-Z]+(?:[-'][^\W\d_][^\W\d_A-Z]*)*")  # "Zofia", "Lily-Mae", "O'Neil"
_SHORT_NAMES = frozenset({"Jo", "Ty", "Bo"})  # two-letter given names kept; the rest are initials or noise

# Given names that are also everyday words: a capital mid-sentence counts as evidence, a sentence's first capital
# does not ("Will the plan...", "Grace was shown...", "Frank discussions...").
_WORD_NAMES = _words(
    """Will Grace Hope Frank Joy Bill Dawn Rose Sunny Mark Faith Max Chance Charity Chase Comfort Destiny Fate Gift
    Grant Guy Harmony Haven Honour Honor Justice Junior King Liberty Love Lucky Mercy Miles Noble Patience Peace
    Precious Prince Princess Queen River Royal Sage Sky Star Storm Trinity Unique Victory Art Pat Sue Rob Drew Gene
    Glen Heath Lance Penny Sandy Sonny Cliff Dale Reed Clay Crystal Jewel Misty Skip Rusty Ray Carol Bliss Blessing
    Favour Happy Lyric Melody Journey Genesis Serenity Treasure Marvel Passion Prosper Purity Innocent Modest Ever
    Golden Angel Rich Hunter Page Price Shelby Phoenix Raven Echo Nova Faye Fern Ivy Iris Hazel Merry
    Ally Dot"""
)
# Names whose word use is usually capitalised anyway (months, days, seasons, festivals, ratings, places, faiths):
# neither a capital nor a bare possessive is evidence ("in May", "Summer Term", "rated Amber", "May's review").
_WEAK_NAMES = _words(
    """January February March April May June July August September October November December Monday Tuesday
    Wednesday Thursday Friday Saturday Sunday Spring Summer Autumn Winter Easter Christmas Amber Christian Jesus
    Islam Israel China Paris Devon Kent Dudley Preston Lincoln Carlisle Warwick Kendal Lancaster Beverley Wakefield
    Sterling Florida Dakota Carolina Virginia Jersey Holland Roman Chester
    Bradford Milton"""
)
# Capitalised words that are not names here, though some name list has them: social-care and everyday words,
# family and role words, pronouns and sentence openers.
_NOT_NAMES = _words(
    """Add Admiral Author Baby Bank Banks Baron Bishop Boss Branch Brain Buck Bush Captain Case Cash Colon Colonel
    Commodore Con Corona Council Deacon Delta Doc Dock Doctor Elder Else Era Essence Fed Fleet Forum Friend General
    Governor Green Hall Ham Harm Harsh Hence Hill Hung Hunt Infant Judge Lady Lane Lawyer Less Little Long Made Major
    Male Man Marry Carry Media Metro Minor Mister Nail North South East West Oral Orange Park Pink Press Raid Reason
    Red Ridge Roll Said Sad Saint Sister Son Squire Stone Tea Tiny Toy True Unknown Unnamed Urban Ward Wash Wells
    Wood Worth Young Us Till Edit Per Mar Ale Canal Divan Salami Server Sever Sole Marine Pastor Mate Mile Grit
    Wolf Peer Ion Tan Lore Cord Baptist Albino Gala Ante Free Lot Line Can My An Among Imam Master Miss Mrs Ms Mr Art
    Partner Boyfriend Girlfriend Stepfather Stepmother Stepdad Stepmum Sibling Siblings Sisters Brothers Cousins Twins
    Twin Daughter Girl Boy Person People Teacher Therapy Music Drama Maths Science
    Dr Mx Nurse Police Health Care Social Services Service Team School Court Child Children Family Mum Mummy Mam
    Dad Daddy Nan Nana Nanny Gran Granny Grandma Grandad Granddad Grandpa Grandmother Grandfather Mother Father
    Brother Sister Aunt Auntie Aunty Uncle Cousin Parent Parents Carer Carers Foster Worker Manager Officer Plan
    Review Protection Conference Order Section Panel Board Help Early Looked After Voice Views Direct Independent
    Evidence Supervision Management Oversight Chronology Assessment Contact Placement Placements Visit Visits
    He She They We It This That These Those There Their His Her Our Your You Both Each Every All Any Some No Not
    None Yes Also However Although When Where Why What Who How Whilst While If Since During Before Following
    The A As At By For From In Into Of On Or To With Without And But So Then Now Today Tomorrow Yesterday Next Last
    First Second Third Overall Further Another Other Everyone Someone Nobody Everybody Somebody Anyone Mr Sir Madam
    God Allah Lord Bible Quran Koran Mass Church Mosque Temple English British Irish Welsh Scottish Polish Romanian
    Asian African Caribbean European Muslim Catholic Sikh Hindu Jewish Bank Holiday Holidays Term Day Days Week
    Month Year Half Black White Brown Handy Pleasant Trace Link Rush Fancy Mad Gay French Job Icy Gee Ova Loot Leaner
    Lone Gorge Chin Bunk Sing Van Ace Alpha Atlas Bird Bee Cap Heaven Lemon Kale Messiah Villa Wing Mace Ether
    Lemma Eta Theta Zeta Meta Octave Ebb Leafy Manly Ell Pleas Shade Shad Whit Vernal Veer"""
)
# The last word of a school's, street's, service's or building's name: a name just before it is part of that name.
_PLACE_HEADS = _words(
    """School Schools Academy College University Nursery Nurseries Preschool Pre-school Primary Secondary Infants
    Juniors Centre Centres Center Hospital Clinic Surgery Practice Court Courts House Home Homes Lodge Lane Road
    Street Avenue Close Drive Way Crescent Gardens Park Square Place Terrace Hill Estate Grove Walk Row Green Team
    Service Services Unit Trust Council Project Foundation Church Mosque Temple Gurdwara Synagogue Chapel Club Hall
    Ward Board Panel Partnership Authority Department Office Station Library Village Town City Borough County Hub
    Group Network Society Association Alliance Campus Building Tower Care Charity Fund Appeal Programme Scheme
    Initiative Forum Playgroup Playscheme Camp Fair Holiday Holidays Term Day Days Week Bridge Therapy Class
    Classes Law Act Room Award"""
)
_NOT_OR_HEAD = _NOT_NAMES | _PLACE_HEADS
# A "head" followed by one of these is a job title, not the end of a place's name ("Sam Smith Team Manager").
_ROLES = frozenset({"Manager", "Managers", "Leader", "Lead", "Worker", "Officer", "Coordinator", "Member", "Around"})
_TITLES = frozenset({"Mr", "Mrs", "Ms", "Miss", "Mx", "Dr"})
_SAINTS = frozenset({"St", "Saint", "Ste"})
_TITLES_AND_SAINTS = tuple(_TITLES | _SAINTS)
# Family words: "Maisie's mother", "Maisie and her brother", "his sister Grace".
_FAMILY = _words(
    """mother mum mummy mam mom father dad daddy parent parents brother brothers sister sisters sibling siblings
    half-brother half-sister stepfather stepmother stepdad stepmum step-father step-mother step-dad step-mum
    grandmother grandfather grandparents grandparent grandma grandad granddad grandpa nan nana nanny gran granny
    aunt auntie aunty uncle cousin cousins son daughter twin partner boyfriend girlfriend carer carers family
    baby"""
)
_SERVICE_NOUNS = frozenset({"support", "service", "services", "group", "centre", "hub", "worker", "workers", "team"})
_FAMILY_PREFIX = frozenset({"foster", "birth", "step", "paternal", "maternal", "older", "younger", "little", "big"})
_OWNERS = frozenset({"her", "his", "their", "my"})
# Verbs of speech, wish or feeling straight after a word: a person ("Hope said", "Ruby told her teacher").
_PERSON_VERBS = _words(
    """said says told tells asked asks wants wanted wishes wished feels felt explained shared disclosed likes liked
    enjoys enjoyed misses missed loves loved lives lived attends attended hopes hoped worries worried"""
)
_SEEN = frozenset({"seen", "visited", "settled", "placed", "living", "observed", "supported", "happy", "safe"})
_AGE_WORDS = _words(
    """one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen
    eighteen"""
)
_AGE_UNITS = frozenset({"years", "year", "months", "month", "weeks"})
_AGE_AFTER = frozenset({"and", "but", "so", "with", "now", "today", "next", "this", "in", "at"})
_NICKNAME_CUES = (("nickname",), ("known", "as"), ("prefers", "to", "be", "called"), ("likes", "to", "be", "called"))
_COORD = frozenset({"and", "&", ","})


def _shape_ok(name: str) -> bool:
    return bool(_NAME_SHAPE.fullmatch(name)) and (len(name) > 2 or name in _SHORT_NAMES)


@functools.cache
def _faker_names() -> tuple[frozenset[str], frozenset[str]]:
    """The first names and surnames of ``_LOCALES``, read once per process: from the cache file when this Faker
    version's lists were read before, else from Faker (importing Faker takes about 0.2 s, which every command that
    checks or reports would pay; the cache file takes a few milliseconds)."""
    cache = _cache_file()
    if cache is not None:
        with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
            stored = json.loads(cache.read_text("utf-8"))
            return frozenset(stored["first"]), frozenset(stored["last"])
    first, last = _read_faker()
    if cache is not None:
        with contextlib.suppress(OSError):  # a cache that cannot be written only costs time
            cache.parent.mkdir(parents=True, exist_ok=True)
            partial = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
            partial.write_text(json.dumps({"first": sorted(first), "last": sorted(last)}), "utf-8")
            os.replace(partial, cache)
    return first, last


def _cache_file() -> Path | None:
    """``<user cache>/caseaudit/given-names-<key>.json`` (``CASEAUDIT_CACHE`` overrides the folder); ``None``
    without Faker. The key changes with the installed Faker (its package file's size and time, read without
    importing it: importlib.metadata alone costs more than the cache saves) and with the locales and rules here, so
    a stale file is never read."""
    import importlib.util

    spec = importlib.util.find_spec("faker")
    if spec is None or not spec.origin:
        return None
    try:
        stat = os.stat(spec.origin)
    except OSError:
        return None
    recipe = "\x1f".join(
        [spec.origin, str(stat.st_size), str(stat.st_mtime_ns), *sorted(_LOCALES), *sorted(_SHORT_NAMES)]
    )
    key = hashlib.sha256((recipe + _NAME_SHAPE.pattern).encode("utf-8")).hexdigest()[:16]
    base = os.environ.get("CASEAUDIT_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "caseaudit"
    )
    return Path(base) / f"given-names-{key}.json"


def _read_faker() -> tuple[frozenset[str], frozenset[str]]:
    """The first names and surnames of ``_LOCALES``, from Faker itself (imported only here)."""
    import importlib

    first: set[str] = set()
    last: set[str] = set()
    for locale in _LOCALES:
        try:
            provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        except (ImportError, AttributeError):  # a locale a later Faker drops: the others still serve
            continue
        for attr, into in (
            ("first_names", first),
            ("first_names_male", first),
            ("first_names_female", first),
            ("last_names", last),
        ):
            values = getattr(provider, attr, None)
            if isinstance(values, dict | tuple | list):  # en_US keeps weights in an OrderedDict: its keys are names
                into.update(str(v).strip() for v in values)
    return frozenset(n for n in first if _shape_ok(n)), frozenset(n for n in last if _shape_ok(n))


@functools.cache
def _classes() -> dict[str, int]:
    """Each packaged given name and its class: strong, also an everyday word, or weak (a month, place...)."""
    first, _ = _faker_names()
    table = {name: _STRONG for name in first if name not in _NOT_NAMES}
    table.update(dict.fromkeys(_WORD_NAMES, _COMMON))
    table.update(dict.fromkeys(_WEAK_NAMES, _WEAK))
    return table


@functools.cache
def _surnames() -> frozenset[str]:
    _, last = _faker_names()
    return frozenset(n for n in last if n not in _NOT_NAMES and n not in _WEAK_NAMES and n not in _PLACE_HEADS)


def given_names() -> frozenset[str]:
    """The packaged given names (every class), loaded once."""
    return frozenset(_classes())


@functools.lru_cache(maxsize=4096)
def _unaccented(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))
