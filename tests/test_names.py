"""The personal-name detector (issue 19): its sources of names, its precision rules, ``redact``, and the labelled
corpus's targets (``shared/corpora/names.tsv``, beside the repository)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from caseaudit_batch.core.names import REASONS, NameDetector, NameHit, given_names

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpora" / "names.tsv"
TITLES = {"Mr", "Mrs", "Ms", "Miss", "Mx", "Dr"}


@pytest.fixture(scope="module")
def plain() -> NameDetector:
    return NameDetector.build()


def found(detector: NameDetector, text: str) -> list[tuple[str, str]]:
    hits = detector.find(text)
    for hit in hits:  # every hit names its own span of the text
        assert text[hit.start : hit.end] == hit.word
        assert hit.reason in REASONS
    return [(hit.word, hit.reason) for hit in hits]


@pytest.mark.parametrize(
    "template",
    [
        "{} told the worker he wants to see his nan more often.",
        "The worker visited {} at school.",
        "Direct work with {} was child-centred.",
        "The plan does not say when {} will next see the family.",
    ],
)
@pytest.mark.parametrize("name", ["Oliver", "Amelia", "Zofia", "Kacper"])
def test_a_packaged_given_name_planted_in_a_sentence_is_found(plain: NameDetector, template: str, name: str) -> None:
    assert name in given_names()
    text = template.format(name)
    assert found(plain, text) == [(name, "given name")]


def test_a_name_in_no_list_is_found_from_a_family_age_or_nickname_cue(plain: NameDetector) -> None:
    invented = "Quorbelle"
    assert invented not in given_names()
    for text in (
        f"Direct work with {invented} and her brother was creative.",
        f"The worker spoke to {invented}'s grandmother.",
        f"The worker met {invented}, aged 6, at home.",
        f"She asked that her nickname, {invented}, is used.",
    ):
        assert found(plain, text) == [(invented, "given name")], text
    assert found(plain, f"The worker met {invented} at home.") == []  # a capital alone: no evidence


def test_a_roster_name_is_a_staff_name_whole_and_word_by_word() -> None:
    detector = NameDetector.build(staff_names=["Sam Smith", "Okafor, Dawn"])
    assert found(detector, "The team manager, Sam Smith, agreed the actions.") == [("Sam Smith", "staff name")]
    assert found(detector, "Smith agreed the actions.") == [("Smith", "staff name")]
    assert found(detector, "Dawn Okafor chaired the review.") == [("Dawn Okafor", "staff name")]
    # a roster word that is also an everyday word still needs the evidence an everyday-word name needs
    assert found(detector, "Dawn visits were used to check the home.") == []


def test_an_extra_name_is_flagged_and_an_allowed_word_never_is() -> None:
    detector = NameDetector.build(extra_names=["Bodhi"], allowed_words=["oliver", "Kayden"])
    assert found(detector, "Bodhi was seen alone.") == [("Bodhi", "extra name")]
    assert found(detector, "Oliver and Kayden attend Northfield.") == []
    assert found(NameDetector.build(), "Oliver and Kayden attend Northfield.") == [
        ("Oliver", "given name"),
        ("Kayden", "given name"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "I hope the plan will work.",
        "Will the plan be reviewed before the child moves placement?",
        "The child will move to her aunt's home in May if the assessment is positive.",
        "May I suggest the plan is shared with the school?",
        "Grace period arrangements for the rent arrears were agreed.",
        "Frank conversations took place in supervision.",
        "Hope for the future is a theme of the life story work.",
        "Joy was evident when the children were reunited.",
        "Bill arrears remain a worry for the family.",
        "Summer term attendance dropped sharply.",
        "The rating moved from Red to Amber in October.",
        "Mark the referral as urgent when the threshold is met.",
    ],
)
def test_everyday_words_that_are_also_given_names_are_not_flagged(plain: NameDetector, text: str) -> None:
    assert found(plain, text) == []


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Will's mother has not been assessed.", "Will"),
        ("Grace said she feels safe with her carers.", "Grace"),
        ("Hope is eleven and likes drawing.", "Hope"),
        ("The worker visited Frank at school.", "Frank"),
        ("His sister May is subject to a separate plan.", "May"),
        ("Tyler and Joy were seen together.", "Joy"),
        ("Evie-Grace's contact with her brother is not in the plan.", "Evie-Grace"),
    ],
)
def test_everyday_word_names_are_found_with_evidence(plain: NameDetector, text: str, name: str) -> None:
    assert (name, "given name") in found(plain, text)


def test_title_and_surname(plain: NameDetector) -> None:
    assert found(plain, "Ms Okonjo, the IRO, raised concerns.") == [("Okonjo", "title and surname")]
    assert found(plain, "The worker and Mr. Adeyemi agreed a plan.") == [("Adeyemi", "title and surname")]
    assert found(plain, "Dr Nwosu-Bell completed the medical.") == [("Nwosu-Bell", "title and surname")]
    # a surname that is also an everyday word is still a surname after a title
    assert found(plain, "Mrs Green and Mr Young attended.") == [
        ("Green", "title and surname"),
        ("Young", "title and surname"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Evidence of management oversight is limited.",
        "Independent reviewing officer oversight is evident.",
        "Contingency planning is unclear.",
        "Mum and Dad both attended the core group.",
        "She and her brother were seen together at home.",
        "Rose Lane Children's Centre offered a parenting course.",
        "Sunny Days Nursery reports good progress.",
        "St Mary's Church runs a toddler group.",
        "The Looked After Team manager updated the chronology in March.",
        "Review health assessment is 6 weeks overdue.",
        "the worker visited oliver at school.",  # lower case is never a given-name hit
    ],
)
def test_sentence_openers_places_and_lower_case_give_nothing(plain: NameDetector, text: str) -> None:
    assert found(plain, text) == []


def test_redact_replaces_each_name_and_keeps_everything_else() -> None:
    detector = NameDetector.build(staff_names=["Sam Smith"])
    text = "Sam Smith met Kayden's mother;  Ms Patel (IRO) agreed.\nI hope it works."
    assert detector.redact(text) == "[name] met [name]'s mother;  Ms [name] (IRO) agreed.\nI hope it works."
    assert detector.redact(text, mark="***") == "*** met ***'s mother;  Ms *** (IRO) agreed.\nI hope it works."
    unchanged = "No names here: the plan, the review and the visit.\t"
    assert detector.redact(unchanged) == unchanged


def test_an_all_capitals_text_is_read_and_its_spans_kept(plain: NameDetector) -> None:
    assert found(plain, "MR AND MRS KHAN") == [("KHAN", "title and surname")]
    assert found(plain, "KAYDEN TOLD MR KHAN ABOUT THE PLAN") == [
        ("KAYDEN", "given name"),
        ("KHAN", "title and surname"),
    ]
    assert found(plain, "The IRO and CAMHS attended.") == []  # acronyms in ordinary text are not names


def test_importing_the_module_does_not_import_faker() -> None:
    code = "import sys, caseaudit_batch.core.names; print('faker' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"


def test_name_hit_is_frozen() -> None:
    hit = NameHit("Kayden", 0, 6, "given name")
    with pytest.raises(AttributeError):
        hit.word = "x"  # type: ignore[misc]


def _corpus() -> list[tuple[str, list[str]]]:
    rows = []
    for line in CORPUS.read_text("utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        text, _, names = line.partition("\t")
        if (text, names) != ("text", "names"):
            rows.append((text, [n.strip() for n in names.split(",") if n.strip()]))
    return rows


@pytest.mark.skipif(not CORPUS.exists(), reason=f"labelled corpus not present at {CORPUS}")
def test_corpus_targets_are_met(plain: NameDetector) -> None:
    """Recall >= 0.9 without staff names (full names without a title, which come from the roster in real use), and
    hits in fewer than 5% of the name-free sentences; both with an empty roster."""
    rows = _corpus()
    labelled = [(text, name) for text, names in rows for name in names]
    not_staff = [(t, n) for t, n in labelled if len(n.split()) < 2 or n.split()[0] in TITLES]
    empty = [text for text, names in rows if not names]
    assert len(not_staff) >= 20 and len(empty) >= 20  # the corpus is big enough to mean something

    def hit(text: str, name: str) -> bool:
        flagged = {w for h in plain.find(text) for w in h.word.split()}
        return any(w in flagged for w in name.split() if w not in TITLES)

    recall = sum(hit(t, n) for t, n in not_staff) / len(not_staff)
    false_positives = sum(bool(plain.find(t)) for t in empty) / len(empty)
    assert recall >= 0.9, [(t, n) for t, n in not_staff if not hit(t, n)]
    assert false_positives < 0.05, [(t, plain.find(t)) for t in empty if plain.find(t)]


def test_the_cached_name_lists_are_fakers_own(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The cache file (kept so that each command does not import Faker) holds exactly what Faker gives; an
    unwritable cache folder only costs time."""
    from caseaudit_batch.core import name_lists as module

    fresh = module._read_faker()
    monkeypatch.setenv("CASEAUDIT_CACHE", str(tmp_path / "cache"))
    module._faker_names.cache_clear()
    try:
        assert module._faker_names() == fresh  # made from Faker, written
        assert list((tmp_path / "cache").glob("given-names-*.json"))
        module._faker_names.cache_clear()
        assert module._faker_names() == fresh  # read back from the file
        blocked = tmp_path / "blocked"
        blocked.write_text("a file where the folder would be", "utf-8")
        monkeypatch.setenv("CASEAUDIT_CACHE", str(blocked))
        module._faker_names.cache_clear()
        assert module._faker_names() == fresh
    finally:
        module._faker_names.cache_clear()
