"""Every validation rule: a passing, a failing and a not-applicable case (FormView built from plain values)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

import pytest
from formkit import GOOD_TEXT, good_answers, prefilled_for

from caseaudit_batch.core import messages
from caseaudit_batch.core.config import PrivacySettings
from caseaudit_batch.core.framework import load_framework
from caseaudit_batch.ingest import rules
from caseaudit_batch.workbook.layout import audit_layout

FW = load_framework()
LAYOUT = audit_layout(FW)
ACTION = ("Update the chronology", "Sam Worker", date(2026, 10, 30))


def view(
    changes: Mapping[str, Any] | None = None, actions: list[tuple[Any, ...]] | None = None, **kw: Any
) -> rules.FormView:
    values = {**prefilled_for("id-1"), **good_answers(FW), **(changes or {})}
    return rules.FormView(
        values=values,
        actions_table=[ACTION] if actions is None else actions,
        layout=kw.pop("layout", LAYOUT),
        framework=FW,
        due_date=kw.pop("due_date", date(2026, 9, 30)),
        **kw,
    )


NAMES_WARN = rules.Settings().with_privacy(PrivacySettings("warn", (), ()), ["Sam Worker"])
NAMES_RETURN = rules.Settings().with_privacy(PrivacySettings("return", (), ()), ["Sam Worker"])


def codes(form: rules.FormView, code: str) -> list[str]:
    return [p.code for p in rules.REGISTRY[code].check(form)]


def all_sections(grade: str) -> dict[str, str]:
    return {f"s{n}_grade": grade for n in range(1, 10)}


# code: (passing, failing, not applicable) — each a function returning a FormView
Case = Callable[[], rules.FormView]
CASES: dict[str, tuple[Case, Case, Case]] = {
    "V001": (lambda: view(), lambda: view({"s4_grade": None}), lambda: view({"s4_grade": "Brilliant"})),
    "V002": (
        lambda: view({"s4_grade": "good."}),
        lambda: view({"s4_grade": "Brilliant"}),
        lambda: view({"s4_grade": None}),
    ),
    "V003": (
        lambda: view({"s2_grade": "Requires Improvement", "overall_grade": "Good"}),
        lambda: view({"s2_grade": "Requires Improvement", "overall_grade": "Outstanding"}),
        lambda: view({"overall_grade": None}),
    ),
    "V004": (
        lambda: view({"safeguarding_concern": "Yes", "safeguarding_detail": "Rang TM and SM on 20/09."}),
        lambda: view({"safeguarding_concern": "Yes", "safeguarding_detail": ""}),
        lambda: view({"safeguarding_concern": "No", "safeguarding_detail": ""}),
    ),
    "V005": (
        lambda: view({"sw_participation": "phone or video"}),
        lambda: view({"sw_participation": "By pigeon"}),
        lambda: view({"sw_participation": None}),
    ),
    "V006": (
        lambda: view(),
        lambda: view({"safeguarding_concern": None}),
        lambda: view({"safeguarding_concern": "Maybe"}),
    ),
    "V010": (lambda: view(), lambda: view(actions=[("Do it", None, date(2026, 10, 1))]), lambda: view(actions=[])),
    "V011": (lambda: view(), lambda: view(actions=[("Do it", "Sam", None)]), lambda: view(actions=[])),
    "V012": (
        lambda: view(actions=[("Do it", "Sam", "01/10/2026")]),
        lambda: view(actions=[("Do it", "Sam", "next week")]),
        lambda: view(actions=[("Do it", "Sam", None)]),
    ),
    "V013": (lambda: view(), lambda: view(actions=[(None, "Sam", date(2026, 10, 1))]), lambda: view(actions=[])),
    "V020": (lambda: view(), lambda: view({"date_completed": None}), lambda: view({"date_completed": "soon"})),
    "V021": (
        lambda: view({"date_completed": "20/09/2026"}),
        lambda: view({"date_completed": "soon"}),
        lambda: view({"date_completed": None}),
    ),
    "V022": (
        lambda: view({**all_sections("Requires Improvement"), "overall_grade": "Requires Improvement"}),
        lambda: view({**all_sections("Requires Improvement"), "overall_grade": "Requires Improvement"}, actions=[]),
        lambda: view(actions=[]),
    ),
    "V030": (
        lambda: view(),
        lambda: view({"learning": "Chronology\x07 needs updating for the child."}),
        lambda: view({"learning": None}),
    ),
    "V031": (lambda: view(), lambda: view({"org_learning": "x" * 32_768}), lambda: view({"org_learning": None})),
    "V101": (lambda: view(), lambda: view({"strengths": ""}), lambda: view({"strengths": "ok"})),  # n/a: V103's concern
    "V102": (
        lambda: view({**all_sections("Good"), "s1_grade": "Requires Improvement", "overall_grade": "Good"}),
        lambda: view({**all_sections("Requires Improvement"), "s1_grade": "Good", "overall_grade": "Good"}),
        lambda: view({"overall_grade": None}),
    ),
    "V103": (lambda: view(), lambda: view({"learning": "No concerns."}), lambda: view({"learning": None})),
    "V104": (lambda: view(), lambda: view({"learning": "Chronology late."}), lambda: view({"learning": ""})),
    "V105": (
        lambda: view(),
        lambda: view({"s2_findings": "\n".join(f"0{d}/09/2026 SW visited the home." for d in range(1, 6))}),
        lambda: view({"s2_findings": None}),
    ),
    "V106": (
        lambda: view(),
        lambda: view({"sw_participation": None}),
        lambda: view({"sw_participation": "By pigeon"}),
    ),  # n/a: V005's concern
    "V107": (
        lambda: view({"sw_participation": "Not possible", "sw_participation_reason": "On long-term leave."}),
        lambda: view({"sw_participation": "Not possible"}),
        lambda: view({"sw_participation": "In person"}),
    ),
    "V108": (
        lambda: view({"three_way_meeting": "Yes"}, reallocated=True),
        lambda: view({"three_way_meeting": None}, reallocated=True),
        lambda: view({"three_way_meeting": None}, reallocated=False),
    ),
    "V109": (
        lambda: view(),
        lambda: view({"recommendations": None}),
        lambda: view({"recommendations": "\x07"}),
    ),  # n/a: V030's concern
    # Findings that say nothing in 5 or more sections return the audit (issue 24); 4 is a warning's matter only.
    "V114": (
        lambda: view({f"s{n}_findings": "No concerns." for n in range(1, 5)}),
        lambda: view({f"s{n}_findings": "No concerns." for n in range(1, 6)}),
        lambda: view(
            {f"s{n}_findings": "No concerns." for n in range(1, 10)}, settings=rules.Settings(bland_sections_return=0)
        ),
    ),
    "V115": (
        lambda: view({"s3_grade": "Requires Improvement", "s3_findings": "Fine."}),
        lambda: view({"s3_grade": "Outstanding", "s3_findings": "Fine."}),
        lambda: view({"s3_grade": None, "s3_findings": "Fine."}),
    ),
    # Practice standards (issue 24): required; No under a Good or Outstanding grade is a warning; a form made
    # before the standards (layout version 2) asks none.
    "V130": (
        lambda: view({"ps_genogram": "Not applicable"}),
        lambda: view({"ps_genogram": None}),
        lambda: view({"ps_genogram": None}, layout=audit_layout(FW, "2")),
    ),
    "V131": (
        lambda: view({"s8_grade": "Requires Improvement", "ps_chronology": "No"}),
        lambda: view({"s8_grade": "Good", "ps_chronology": "No"}),
        lambda: view({"s8_grade": "Good", "ps_chronology": "Not applicable"}),
    ),
    "V110": (
        lambda: view(),
        lambda: view({"recommendations": "Update the chronology and the case summary by October."}),
        lambda: view({"recommendations": None}),
    ),
    "V111": (
        lambda: view(),
        lambda: view(actions=[("Do it", "Sam", date(2026, 9, 1))]),
        lambda: view({"date_completed": None}, actions=[("Do it", "Sam", date(2026, 9, 1))]),
    ),
    "V112": (
        lambda: view(actions=[("Do it", "Sam", date(2027, 3, 20))]),
        lambda: view(actions=[("Do it", "Sam", date(2027, 3, 21))]),
        lambda: view({"date_completed": "unknown"}, actions=[("Do it", "Sam", date(2028, 1, 1))]),
    ),
    "V113": (
        lambda: view({"date_completed": date(2026, 9, 30)}),
        lambda: view({"date_completed": date(2026, 10, 1)}),
        lambda: view({"date_completed": date(2026, 10, 1)}, due_date=None),
    ),
    # A likely personal name in typed text: a warning under [privacy] names = "warn", an error under "return".
    "V120": (
        lambda: view(settings=NAMES_WARN),
        lambda: view({"learning": "Kayden's views on his placement were not recorded."}, settings=NAMES_WARN),
        lambda: view({"learning": "Kayden's views on his placement were not recorded."}, settings=NAMES_RETURN),
    ),
    "V121": (
        lambda: view(settings=NAMES_RETURN),
        lambda: view(
            actions=[("Ask Kayden about contact with his nan", "SW", date(2026, 10, 30))], settings=NAMES_RETURN
        ),
        lambda: view({"learning": "Kayden's views on his placement were not recorded."}, settings=NAMES_WARN),
    ),
    "V040": (
        lambda: view(strays={"actions": []}),
        lambda: view(strays={"actions": ["A19"]}),
        lambda: view(strays={"m_actions": ["A19"]}),  # a table the audit form does not have
    ),
}


def test_every_rule_has_cases() -> None:
    # Moderation form rules (MOD...) have their cases in test_moderation_rules.py.
    assert set(CASES) == {code for code in rules.REGISTRY if not code.startswith("MOD")}


@pytest.mark.parametrize("code", sorted(CASES))
def test_rule_passes(code: str) -> None:
    assert codes(CASES[code][0](), code) == []


@pytest.mark.parametrize("code", sorted(CASES))
def test_rule_fails(code: str) -> None:
    found = list(rules.REGISTRY[code].check(CASES[code][1]()))
    assert [p.code for p in found] == [code]
    problem = found[0]
    assert problem.severity == rules.REGISTRY[code].severity
    assert problem.sheet and problem.cell and problem.label and problem.fix
    # every template parameter was filled (a missing one shows as a lone '?')
    assert not re.search(r"(^|[\s'(])\?([\s').,]|$)", problem.message + " " + problem.fix)


#: The rules that judge typed text: "What we found" quotes the text judged (issue 24), never "(blank)".
TEXT_RULES = ("V103", "V104", "V105", "V110", "V114", "V115", "V120", "V121", "V131")


def test_every_rule_that_judges_text_is_held_to_quoting_it() -> None:
    """Each quality rule (writing quality, names, practice standards) is in TEXT_RULES; V030 and V031 judge no
    wording (a control character, a length) and quote none (issue 24: form text stays out of what they say)."""
    judging = {
        code
        for code, r in rules.discover().items()
        if r.check.__module__.rsplit(".", 1)[-1] in ("quality", "privacy", "standards")
    }
    assert judging - {"V030", "V031", "V130"} == set(TEXT_RULES)


@pytest.mark.parametrize("code", TEXT_RULES)
def test_a_quality_rule_quotes_the_text_it_judged(code: str) -> None:
    form = CASES[code][1]()
    problem = next(iter(rules.REGISTRY[code].check(form)))
    judged = form.text(problem.field) if problem.field != "actions" else str(form.actions()[0].action)
    assert problem.found and str(problem.found) in judged, (problem.found, judged)


@pytest.mark.parametrize("code", sorted(CASES))
def test_rule_not_applicable(code: str) -> None:
    assert codes(CASES[code][2](), code) == []


def test_good_answers_pass_every_rule() -> None:
    assert rules.validate(view()) == []


def test_duplicate_codes_are_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        rules.rule(code="V001", severity="error", fields=())(lambda form: [])


def test_a_rule_needs_its_catalogue_message() -> None:
    with pytest.raises(ValueError, match=r"messages\.py"):
        rules.rule(code="V999", severity="error", fields=())(lambda form: [])
    assert messages.CATALOGUE["V101"].severity == "warning"


def test_problem_says_where() -> None:
    [problem] = rules.REGISTRY["V001"].check(view({"s4_grade": None}))
    spec = LAYOUT.fields["s4_grade"]
    assert (problem.sheet, problem.cell) == (spec.sheet, spec.cell)
    assert "Section 4" in problem.label
    [action] = rules.REGISTRY["V010"].check(view(actions=[("Do it", None, date(2026, 10, 1))]))
    assert action.sheet == "Actions" and action.cell == "B4"


def test_day_first_dates() -> None:
    assert rules.to_date("03/04/2026") == date(2026, 4, 3)
    assert GOOD_TEXT
