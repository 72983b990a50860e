"""The audit framework (grades, sections, descriptors, Appendix 1 points), loaded from one TOML file.

The file in ``input_templates/framework.toml`` is the single source; the form, the validation rules and the
reports all read it through :class:`Framework`.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from functools import total_ordering
from pathlib import Path

from caseaudit_batch.core.errors import ConfigError

DEFAULT_FRAMEWORK_PATH = Path(__file__).resolve().parents[2] / "input_templates" / "framework.toml"

#: The grade names are a published contract (metrics JSON keys, drop-downs); the file may not rename them.
GRADE_NAMES = ("Outstanding", "Good", "Requires Improvement", "Inadequate")
SECTION_COUNT = 9


@total_ordering
@dataclass(frozen=True)
class Grade:
    """One grade; ``rank`` 4 is Outstanding, 1 is Inadequate, so ``Good > Requires Improvement``."""

    name: str
    rank: int
    short: str = ""

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Grade):
            return NotImplemented
        return self.rank < other.rank

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class GradeDescriptor:
    grade: Grade
    summary: tuple[str, ...]
    detail_intro: str
    detail: tuple[str, ...]


@dataclass(frozen=True)
class Section:
    number: int
    short: str
    title: str
    prompts: tuple[str, ...]

    @property
    def key(self) -> str:
        """``s1`` ... ``s9``: the prefix of this section's defined names on the form."""
        return f"s{self.number}"


class GradeParseError(ValueError):
    """A value that is not one of the four grades, even after accepting the usual spellings."""

    def __init__(self, value: object) -> None:
        super().__init__(f"{value!r} is not a grade")
        self.value = value


def normalise_grade_text(text: str) -> str:
    """Lower case, single spaces, no surrounding spaces or trailing full stops."""
    cleaned = re.sub(r"\s+", " ", text.strip().lower())
    return cleaned.rstrip(". ").strip()


#: The answers a practice standard takes (issue 24); "Not applicable" is left out of its rate.
STANDARD_ANSWERS = ("Yes", "No", "Not applicable")
_STANDARD_ID = re.compile(r"^[a-z][a-z0-9_]{0,30}$")


@dataclass(frozen=True)
class PracticeStandard:
    """A yes-or-no question asked once in its section (``[[practice_standard]]``); its answer is ``ps_<id>``."""

    id: str
    question: str
    section: int
    source: str = "descriptors"

    @property
    def name(self) -> str:
        """The form's defined name for the answer (a published contract)."""
        return f"ps_{self.id}"


@dataclass(frozen=True)
class Framework:
    title: str
    grades: tuple[Grade, ...]
    descriptors: tuple[GradeDescriptor, ...]
    descriptor_intro: tuple[str, ...]
    sections: tuple[Section, ...]
    reflective_question: str
    reflective_guidance: str
    points: dict[str, tuple[str, ...]]
    notices: dict[str, str]
    version: str
    path: Path
    standards: tuple[PracticeStandard, ...] = ()
    #: case types as the caseload may spell them (lower case) -> the framework's name (``[case_types]``)
    case_types: dict[str, str] = field(default_factory=dict)
    _aliases: dict[str, Grade] = field(repr=False, compare=False, default_factory=dict)

    def grade(self, name: str) -> Grade:
        """The grade with this exact name."""
        for g in self.grades:
            if g.name == name:
                return g
        raise KeyError(name)

    def parse_grade(self, value: object) -> Grade | None:
        """A typed grade from what an auditor entered; ``None`` for blank; :class:`GradeParseError` otherwise."""
        if value is None:
            return None
        if not isinstance(value, str):
            raise GradeParseError(value)
        if not value.strip():
            return None
        found = self._aliases.get(normalise_grade_text(value))
        if found is None:
            raise GradeParseError(value)
        return found

    def grade_named(self, value: object) -> Grade | None:
        """The grade a stored value names: exactly a grade's own name, as ingest records it after parsing the form
        (:meth:`parse_grade`, at the edge). ``None`` for blank; :class:`GradeParseError` for anything else. Stored
        grades are never parsed again downstream."""
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        found = next((g for g in self.grades if g.name == value), None)
        if found is None:
            raise GradeParseError(value)
        return found

    def standards_in(self, section: int) -> tuple[PracticeStandard, ...]:
        return tuple(s for s in self.standards if s.section == section)

    def case_type(self, text: str) -> str | None:
        """The framework's name for a case type as typed ("Child in Need" -> "CIN"); ``None`` when unknown."""
        return self.case_types.get(" ".join(text.split()).casefold())

    @property
    def grade_names(self) -> list[str]:
        return [g.name for g in self.grades]

    def max_overall_for(self, lowest_section: Grade) -> Grade:
        """Appendix 1: the overall grade may be at most one grade higher than the lowest section grade."""
        rank = min(lowest_section.rank + 1, max(g.rank for g in self.grades))
        return next(g for g in self.grades if g.rank == rank)


def _fail(path: Path, what: str) -> ConfigError:
    return ConfigError(
        "CFG010",
        path=str(path),
        what=what,
    )


def load_framework(path: Path | None = None) -> Framework:
    """Read and check the framework file; a broken file raises :class:`ConfigError` naming what to fix."""
    path = Path(path) if path else DEFAULT_FRAMEWORK_PATH
    try:
        raw_bytes = path.read_bytes()
    except OSError:
        raise ConfigError("CFG011", path=str(path)) from None
    try:
        data = tomllib.loads(raw_bytes.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise _fail(path, f"it is not valid TOML ({exc})") from None

    raw_grades = data.get("grades")
    if not isinstance(raw_grades, list) or [g.get("name") for g in raw_grades] != list(GRADE_NAMES):
        raise _fail(
            path,
            "[[grades]] must list exactly the four grades in this order: " + ", ".join(GRADE_NAMES),
        )
    grades: list[Grade] = []
    descriptors: list[GradeDescriptor] = []
    aliases: dict[str, Grade] = {}
    for index, raw in enumerate(raw_grades):
        grade = Grade(name=raw["name"], rank=len(raw_grades) - index, short=str(raw.get("short", "")))
        grades.append(grade)
        for alias in [grade.name, *raw.get("aliases", [])]:
            key = normalise_grade_text(str(alias))
            if key in aliases and aliases[key] != grade:
                raise _fail(path, f"the spelling {alias!r} is listed for both {aliases[key]} and {grade}")
            aliases[key] = grade
        descriptors.append(
            GradeDescriptor(
                grade=grade,
                summary=tuple(raw.get("summary", [])),
                detail_intro=str(raw.get("detail_intro", "")),
                detail=tuple(raw.get("detail", [])),
            )
        )

    raw_sections = data.get("sections")
    if not isinstance(raw_sections, list) or len(raw_sections) != SECTION_COUNT:
        raise _fail(path, f"[[sections]] must list exactly {SECTION_COUNT} sections (the form names s1 ... s9)")
    sections: list[Section] = []
    for expected, raw in enumerate(raw_sections, start=1):
        if raw.get("number") != expected:
            raise _fail(path, f"section {expected} must have number = {expected} (sections are listed in order)")
        title = str(raw.get("title", "")).strip()
        if not title:
            raise _fail(path, f"section {expected} has no title")
        sections.append(
            Section(
                number=expected,
                short=str(raw.get("short", title)),
                title=title,
                prompts=tuple(str(p) for p in raw.get("prompts", [])),
            )
        )

    reflective = data.get("reflective", {})
    if not reflective.get("question"):
        raise _fail(path, "[reflective] needs a question (asked at the end of every section)")

    standards = _standards(path, data.get("practice_standard", []))
    case_types: dict[str, str] = {}
    for name, spellings in data.get("case_types", {}).items():
        for alias in [name, *spellings]:
            case_types[" ".join(str(alias).split()).casefold()] = name

    return Framework(
        title=str(data.get("title", "Case File Audit")),
        grades=tuple(grades),
        descriptors=tuple(descriptors),
        descriptor_intro=tuple(data.get("descriptors", {}).get("intro", [])),
        sections=tuple(sections),
        reflective_question=str(reflective["question"]),
        reflective_guidance=str(reflective.get("guidance", "")),
        points={k: tuple(v) for k, v in data.get("points", {}).items()},
        notices={k: str(v) for k, v in data.get("notices", {}).items()},
        version=hashlib.sha256(raw_bytes).hexdigest()[:12],
        path=path,
        standards=standards,
        case_types=case_types,
        _aliases=aliases,
    )


def _standards(path: Path, raw: object) -> tuple[PracticeStandard, ...]:
    """The ``[[practice_standard]]`` list: unique IDs (they become defined names), a question, a section 1-9."""
    if not isinstance(raw, list):
        raise _fail(path, "practice_standard must be a list of [[practice_standard]] tables")
    found: list[PracticeStandard] = []
    for item in raw:
        ident = str(item.get("id", "")) if isinstance(item, dict) else ""
        if not _STANDARD_ID.match(ident):
            raise _fail(path, f"a practice standard's id {ident!r} must be lower-case letters, digits and _")
        if any(s.id == ident for s in found):
            raise _fail(path, f"the practice standard {ident!r} is listed twice")
        question, section = str(item.get("question", "")).strip(), item.get("section")
        if not question or not isinstance(section, int) or not 1 <= section <= SECTION_COUNT:
            raise _fail(path, f"the practice standard {ident!r} needs a question and a section from 1 to 9")
        found.append(PracticeStandard(ident, question, section, str(item.get("source", "descriptors"))))
    return tuple(found)
