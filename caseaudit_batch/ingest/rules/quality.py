"""Quality of the writing (Appendix 1, "Reasons for grading" and "Recommendations"; guidance section 3)."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

from caseaudit_batch.core.messages import Problem
from caseaudit_batch.ingest.rules import FormView, rule

# Excel's limit for one cell; longer text cannot be kept (field notes: openpyxl silently truncates).
EXCEL_CELL_LIMIT = 32_767
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_DATED_LINE = re.compile(
    r"^\s*(\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{4}-\d{2}-\d{2}|\d{1,2}(st|nd|rd|th)?\s+[A-Z][a-z]{2,8}\s+\d{4})\b",
    re.MULTILINE,
)
_CHILD_WORDS = re.compile(
    r"\b(child|children|child's|childs|young (person|people)|yp|cyp|baby|babies|infant|teenager|son|daughter|"
    r"sibling|siblings|boy|girl)\b",
    re.IGNORECASE,
)


FINDINGS = tuple(f"s{n}_findings" for n in range(1, 10))
REASONS = (*FINDINGS, "strengths", "learning")


def _free_text_fields(form: FormView) -> list[str]:
    return [n for n, f in form.layout.fields.items() if f.kind == "text" and not f.prefilled]


def _reason_fields(form: FormView) -> list[str]:
    """Where 'reasons for grading' and learning are written: the findings, strengths and learning."""
    return [f"{s.key}_findings" for s in form.framework.sections] + ["strengths", "learning"]


@rule(code="V030", severity="error", fields=("*",))
def control_characters(form: FormView) -> Iterator[Problem]:
    """Text stays text: control characters are reported, never silently removed."""
    for name in _free_text_fields(form):
        value = form.raw(name)
        if isinstance(value, str) and _CONTROL.search(value):
            yield form.problem("V030", name)


@rule(code="V031", severity="error", fields=("*",))
def text_too_long(form: FormView) -> Iterator[Problem]:
    """Text stays text: a cell over Excel's limit is reported, never silently cut."""
    for name in _free_text_fields(form):
        value = form.raw(name)
        if isinstance(value, str) and len(value) > EXCEL_CELL_LIMIT:
            yield form.problem("V031", name, found=f"{len(value):,}")


_PUNCTUATION = re.compile(r"[^\w\s']")
_SPACES = re.compile(r"\s+")


def _normal(text: str) -> str:
    return _SPACES.sub(" ", _PUNCTUATION.sub(" ", text.casefold())).strip()


@functools.lru_cache(maxsize=8)
def _phrases(phrases: tuple[str, ...]) -> frozenset[str]:
    return frozenset(_normal(p) for p in phrases)


def _bland(text: str, phrases: tuple[str, ...]) -> bool:
    # A bland answer is short; only text of a phrase's length is compared (long answers skip the work).
    return len(text) <= 60 and _normal(text) in _phrases(phrases)


@rule(code="V103", severity="warning", fields=REASONS)
def bland_phrase(form: FormView) -> Iterator[Problem]:
    """Appendix 1: 'Avoid bland phrases'."""
    for name in _reason_fields(form):
        text = form.text(name)
        if text and _bland(text, form.settings.bland_phrases):
            yield form.problem("V103", name, found=text)


@rule(code="V104", severity="warning", fields=REASONS)
def too_short(form: FormView) -> Iterator[Problem]:
    """Appendix 1: 'be clear regarding what was done well and what the learning is'."""
    for name in _reason_fields(form):
        text = form.text(name)
        if text and not _bland(text, form.settings.bland_phrases) and len(text) < form.settings.min_text_length:
            yield form.problem("V104", name, found=text, length=len(text))


@rule(code="V105", severity="warning", fields=FINDINGS)
def story_retold(form: FormView) -> Iterator[Problem]:
    """Guidance section 3: 'without re-telling the story of the case and without cutting and pasting'."""
    settings = form.settings
    for section in form.framework.sections:
        name = f"{section.key}_findings"
        text = form.text(name)
        if not text:
            continue
        # Only text with enough lines can hold enough dated lines: most findings skip the search.
        enough_lines = text.count("\n") + 1 >= settings.retelling_dated_lines
        dated = len(_DATED_LINE.findall(text)) if enough_lines else 0
        if len(text) > settings.retelling_max_length:
            yield form.problem("V105", name, found=text, why=f"{len(text):,} characters")
        elif dated >= settings.retelling_dated_lines:
            yield form.problem("V105", name, found=text, why=f"{dated} dated case-note lines")


@rule(code="V110", severity="warning", fields=("recommendations",))
def recommendations_not_child_focussed(form: FormView) -> Iterator[Problem]:
    """Appendix 1: 'Ensure your recommendations are child-focussed'."""
    text = form.text("recommendations")
    if text and not _CHILD_WORDS.search(text):
        yield form.problem("V110", "recommendations", found=text)


def _bland_findings(form: FormView) -> list[int]:
    """The sections whose findings say nothing: blank, a bland phrase, or shorter than ``min_text_length``."""
    settings = form.settings
    bland = []
    for section in form.framework.sections:
        text = form.text(f"{section.key}_findings")
        if not text or _bland(text, settings.bland_phrases) or len(text) < settings.min_text_length:
            bland.append(section.number)
    return bland


@rule(code="V114", severity="error", fields=FINDINGS)
def findings_without_substance(form: FormView) -> Iterator[Problem]:
    """Guidance section 3 and Appendix 1: grades rest on evidence; an audit whose findings say nothing in
    ``[validation] bland_sections_return`` or more sections is returned, not just warned about."""
    sections = _bland_findings(form)
    if form.settings.bland_sections_return and len(sections) >= form.settings.bland_sections_return:
        first = f"{form.framework.sections[sections[0] - 1].key}_findings"
        yield form.problem(
            "V114",
            first,
            found=form.text(first),
            sections=", ".join(str(n) for n in sections),
            count=len(sections),
        )


@rule(code="V115", severity="warning", fields=FINDINGS)
def good_grade_without_evidence(form: FormView) -> Iterator[Problem]:
    """Appendix 2: a Good or Outstanding grade needs the evidence for it in that section's findings."""
    bland = set(_bland_findings(form))
    for section in form.framework.sections:
        grade = form.grade_or_none(f"{section.key}_grade")
        if section.number in bland and grade is not None and grade.name in ("Good", "Outstanding"):
            name = f"{section.key}_findings"
            yield form.problem("V115", name, found=form.text(name), grade=grade.name, section=section.number)
