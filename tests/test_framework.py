from __future__ import annotations

from pathlib import Path

import pytest

from caseaudit_batch.core.errors import ConfigError
from caseaudit_batch.core.framework import DEFAULT_FRAMEWORK_PATH, GRADE_NAMES, GradeParseError, load_framework

FW = load_framework()


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Outstanding", "Outstanding"),
        ("outstanding ", "Outstanding"),
        ("GOOD", "Good"),
        ("good.", "Good"),
        ("  Good  ", "Good"),
        ("RI", "Requires Improvement"),
        ("ri", "Requires Improvement"),
        ("R.I.", "Requires Improvement"),
        ("Req. Imp.", "Requires Improvement"),
        ("requires improvement ", "Requires Improvement"),
        ("Requires  Improvement", "Requires Improvement"),
        ("Requires improvement to be good", "Requires Improvement"),
        ("Inadequate.", "Inadequate"),
        ("INADEQUATE", "Inadequate"),
    ],
)
def test_usual_spellings_parse(typed: str, expected: str) -> None:
    grade = FW.parse_grade(typed)
    assert grade is not None and grade.name == expected


def test_every_alias_in_the_file_parses_to_its_grade() -> None:
    import tomllib

    data = tomllib.loads(DEFAULT_FRAMEWORK_PATH.read_text("utf-8"))
    for raw in data["grades"]:
        for alias in raw["aliases"]:
            grade = FW.parse_grade(alias)
            assert grade is not None and grade.name == raw["name"], alias


@pytest.mark.parametrize("bad", ["Excellent", "Good-ish", "3", 3, "Satisfactory", "Good / RI"])
def test_bad_values_are_refused_with_the_value(bad: object) -> None:
    with pytest.raises(GradeParseError) as info:
        FW.parse_grade(bad)
    assert info.value.value == bad


@pytest.mark.parametrize("blank", [None, "", "   "])
def test_blank_is_no_grade(blank: object) -> None:
    assert FW.parse_grade(blank) is None


def test_grades_are_ordered_best_first() -> None:
    outstanding, good, ri, inadequate = (FW.grade(n) for n in GRADE_NAMES)
    assert outstanding > good > ri > inadequate
    assert FW.grade_names == list(GRADE_NAMES)


def test_overall_may_be_at_most_one_above_lowest_section() -> None:
    # Appendix 1: "if one section is graded 'requires improvement', the overall grade cannot be higher than 'good'".
    assert FW.max_overall_for(FW.grade("Requires Improvement")).name == "Good"
    assert FW.max_overall_for(FW.grade("Inadequate")).name == "Requires Improvement"
    assert FW.max_overall_for(FW.grade("Outstanding")).name == "Outstanding"


def test_nine_sections_with_the_guidance_titles_and_prompts() -> None:
    assert [s.key for s in FW.sections] == [f"s{i}" for i in range(1, 10)]
    assert FW.sections[1].title == "Assessments are timely, comprehensive, analytical and of good quality"
    assert FW.sections[8].title.startswith("Impact: how have we made a difference")
    assert all(s.prompts for s in FW.sections)
    assert "voice of the child" in " ".join(FW.sections[3].prompts).lower()
    assert FW.reflective_question.startswith("How has the work changed the life")
    assert len(FW.descriptors[3].detail) == 12  # Inadequate bullets, in full


def test_version_is_a_hash_of_the_content(tmp_path: Path) -> None:
    copy = tmp_path / "fw.toml"
    copy.write_text(DEFAULT_FRAMEWORK_PATH.read_text("utf-8"), "utf-8")
    assert load_framework(copy).version == FW.version
    copy.write_text(DEFAULT_FRAMEWORK_PATH.read_text("utf-8") + "\n# edited\n", "utf-8")
    assert load_framework(copy).version != FW.version


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda t: t.replace('name = "Good"', 'name = "Very Good"'), "exactly the four grades"),
        (lambda t: t.replace("number = 9", "number = 10"), "section 9 must have number = 9"),
        (lambda t: t.replace("[[sections]]\nnumber = 9", "[[oops]]\nnumber = 9"), "exactly 9 sections"),
        (lambda t: t + "\n[broken\n", "not valid TOML"),
        (lambda t: t.replace('aliases = ["good", "g", "gd"]', 'aliases = ["good", "ri"]'), "listed for both"),
    ],
)
def test_a_broken_framework_file_names_the_problem(tmp_path: Path, mutate, expected: str) -> None:  # type: ignore[no-untyped-def]
    broken = tmp_path / "framework.toml"
    broken.write_text(mutate(DEFAULT_FRAMEWORK_PATH.read_text("utf-8")), "utf-8")
    with pytest.raises(ConfigError) as info:
        load_framework(broken)
    assert info.value.code == "CFG010"
    assert expected in info.value.message
    assert str(broken) in info.value.message


def test_a_missing_framework_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_framework(tmp_path / "nope.toml")
    assert info.value.code == "CFG011"
