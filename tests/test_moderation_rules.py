"""Every moderation form rule: a passing, a failing and a not-applicable case (FormView built from plain values)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from caseaudit_batch.core.framework import load_framework
from caseaudit_batch.ingest import rules
from caseaudit_batch.workbook.layout import audit_layout, moderation_layout

FW = load_framework()
LAYOUT = moderation_layout(FW)

AUDITOR = {f"s{n}_grade": "Good" for n in range(1, 10)} | {"overall_grade": "Good"}
AGREED = {
    "moderator_name": "Mina Okafor",
    "moderation_date": date(2026, 10, 8),
    "grade_agreed": "Yes",
    "actions_agreed": "Yes",
    "m_rationale": "The evidence on the file supports the auditor's grades.",
}
LOWERED = {
    **AGREED,
    "grade_agreed": "No",
    "m_s7_grade": "Requires Improvement",
    "m_overall_grade": "Requires Improvement",
    "m_rationale": "Supervision is not reflective and actions are not tracked.",
}
ACTION = ("Discuss the plan in supervision", "Tara Mohan", date(2026, 10, 31))


def view(changes: Mapping[str, Any] | None = None, actions: list[tuple[Any, ...]] | None = None) -> rules.FormView:
    values = {**AUDITOR, **AGREED, **(changes or {})}
    return rules.FormView(values=values, actions_table=actions or [], layout=LAYOUT, framework=FW)


def lowered(changes: Mapping[str, Any] | None = None, **kw: Any) -> rules.FormView:
    return view({**LOWERED, **(changes or {})}, **kw)


def on_audit_form() -> rules.FormView:
    """Any moderation rule on an audit form finds nothing: these rules look at moderation forms only."""
    return rules.FormView(values={"grade_agreed": "perhaps"}, actions_table=[], layout=audit_layout(FW), framework=FW)


Case = Callable[[], rules.FormView]
CASES: dict[str, tuple[Case, Case, Case]] = {
    "MOD101": (lambda: lowered(), lambda: lowered({"m_s7_grade": "Poor"}), on_audit_form),
    "MOD102": (lambda: view(), lambda: view({"grade_agreed": "Maybe"}), on_audit_form),
    "MOD103": (
        lambda: lowered(),
        lambda: view({"grade_agreed": "No", "m_overall_grade": "Good", "m_rationale": "x"}),
        lambda: view(),
    ),
    "MOD104": (
        lambda: view({"m_s3_grade": "Good"}),  # the same grade as the auditor's is still agreement
        lambda: view({"m_s3_grade": "Inadequate"}),
        lambda: lowered(),
    ),
    "MOD105": (
        lambda: lowered(),
        lambda: lowered({"m_overall_grade": None}),
        lambda: view(),
    ),
    "MOD106": (
        lambda: lowered(),
        # Section 7 lowered to Inadequate: the overall may be at most Requires Improvement.
        lambda: lowered({"m_s7_grade": "Inadequate", "m_overall_grade": "Good"}),
        lambda: view(),
    ),
    "MOD107": (lambda: view(), lambda: view({"actions_agreed": None}), on_audit_form),
    "MOD108": (lambda: view(), lambda: view({"moderator_name": "  "}), on_audit_form),
    "MOD109": (lambda: view(), lambda: view({"moderation_date": "last week"}), on_audit_form),
    "MOD110": (lambda: view(), lambda: lowered({"m_rationale": ""}), on_audit_form),
    "MOD111": (
        lambda: view({"actions_agreed": "No", "m_actions_comment": "A PLO letter is needed now."}),
        lambda: view({"actions_agreed": "No"}),
        lambda: view(),
    ),
    "MOD112": (
        lambda: view(actions=[ACTION]),
        lambda: view(actions=[(ACTION[0], ACTION[1], "soon")]),
        lambda: view(actions=[(None, None, None)]),
    ),
    "MOD113": (
        lambda: view(actions=[ACTION]),
        lambda: view(actions=[(ACTION[0], None, ACTION[2])]),
        lambda: view(actions=[]),
    ),
    "MOD114": (
        lambda: view(actions=[ACTION]),
        lambda: view(actions=[(None, "Tara Mohan", None)]),
        lambda: view(actions=[]),
    ),
    "MOD115": (
        lambda: view(actions=[ACTION]),
        lambda: replace(view(actions=[ACTION]), strays={"m_actions": ["B19"]}),
        lambda: replace(on_audit_form(), strays={"m_actions": ["B19"]}),
    ),
}


def test_every_moderation_rule_has_cases() -> None:
    assert set(CASES) == {code for code in rules.REGISTRY if code.startswith("MOD")}


@pytest.mark.parametrize("code", sorted(CASES))
def test_rule_passes(code: str) -> None:
    assert list(rules.REGISTRY[code].check(CASES[code][0]())) == []


@pytest.mark.parametrize("code", sorted(CASES))
def test_rule_fails(code: str) -> None:
    found = list(rules.REGISTRY[code].check(CASES[code][1]()))
    assert [p.code for p in found] == [code]
    problem = found[0]
    assert problem.severity == rules.REGISTRY[code].severity
    assert problem.sheet and problem.cell and problem.label and problem.fix
    assert not re.search(r"(^|[\s'(])\?([\s').,]|$)", problem.message + " " + problem.fix)


@pytest.mark.parametrize("code", sorted(CASES))
def test_rule_not_applicable(code: str) -> None:
    assert list(rules.REGISTRY[code].check(CASES[code][2]())) == []


def moderation_rules() -> list[rules.Rule]:
    return [r for code, r in rules.REGISTRY.items() if code.startswith("MOD")]


def test_an_agreeing_and_a_lowering_moderation_pass_every_rule() -> None:
    assert rules.validate(view(), moderation_rules()) == []
    assert rules.validate(lowered(actions=[ACTION]), moderation_rules()) == []


def test_an_invalid_moderated_grade_is_an_error_at_its_cell() -> None:
    found = rules.validate(lowered({"m_s2_grade": "Brilliant"}), moderation_rules())
    assert [p.code for p in found if p.severity == "error"] == ["MOD101"]
    assert found[0].cell == LAYOUT.fields["m_s2_grade"].cell
    assert "Brilliant" in found[0].message


def test_yes_with_different_grades_names_them() -> None:
    [problem] = rules.REGISTRY["MOD104"].check(view({"m_s3_grade": "Inadequate", "m_overall_grade": "Outstanding"}))
    assert "section 3" in problem.message and "the overall grade" in problem.message
