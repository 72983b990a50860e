"""Validation rules: the guidance made checkable, one small function per rule.

Each rule is registered with ``@rule(code=..., severity=..., fields=...)``; its message (where, what was found, what
is wrong, how to fix) comes from the "Validation rules (V)" part of ``messages.py``. The modules of this package
are imported when it is, so every rule is discovered; a code may be registered only once.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import pkgutil
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from caseaudit_batch.core import messages
from caseaudit_batch.core.config import PrivacySettings, ValidationSettings
from caseaudit_batch.core.errors import safe_traceback
from caseaudit_batch.core.framework import Framework, Grade, GradeParseError
from caseaudit_batch.core.messages import Problem, Severity
from caseaudit_batch.core.names import NameDetector
from caseaudit_batch.workbook.cells import column_letter
from caseaudit_batch.workbook.layout import FieldSpec, FormLayout

RuleFunc = Callable[["FormView"], Iterable[Problem]]
#: how a message names each table ("... outside the actions table")
TABLE_WORDS = {
    "actions": "actions",
    "m_actions": "additional actions",
    "previous_actions": "earlier actions",
    "tracker": "tracker's",
}


@dataclass(frozen=True)
class Rule:
    code: str
    severity: Severity
    fields: tuple[str, ...]
    check: RuleFunc

    @property
    def summary(self) -> str:
        return (self.check.__doc__ or "").strip().splitlines()[0] if self.check.__doc__ else ""


log = logging.getLogger("caseaudit")

REGISTRY: dict[str, Rule] = {}


def rule(*, code: str, severity: Severity, fields: Sequence[str]) -> Callable[[RuleFunc], RuleFunc]:
    """Register a rule. Refuses a duplicate code, and a code whose catalogue severity differs."""

    def register(func: RuleFunc) -> RuleFunc:
        if code in REGISTRY:
            raise ValueError(f"validation rule {code} is registered twice")
        definition = messages.CATALOGUE.get(code)
        if definition is None or definition.severity != severity:
            raise ValueError(f"validation rule {code} needs a {severity} message in messages.py")
        REGISTRY[code] = Rule(code, severity, tuple(fields), func)
        return func

    return register


@dataclass(frozen=True)
class Settings:
    """The ``[validation]`` section of the configuration."""

    bland_phrases: tuple[str, ...] = ("fine", "ok", "no concerns", "as above", "see case notes")
    min_text_length: int = 40
    retelling_max_length: int = 3000
    retelling_dated_lines: int = 4
    #: ``[validation] bland_sections_return``: this many sections with findings that say nothing return the audit
    bland_sections_return: int = 5
    #: ``[privacy] names``: "warn" or "return" (a likely personal name is V120, a warning, or V121, an error)
    names: str = "warn"
    #: finds likely personal names in typed text (``core.names``); None: no name check (a caller outside a run)
    name_detector: NameDetector | None = None

    @classmethod
    def from_config(cls, section: Mapping[str, Any] | ValidationSettings) -> Settings:
        """From the typed ``[validation]`` view (or a mapping of its keys, for callers outside a run)."""
        if isinstance(section, ValidationSettings):
            section = vars(section)
        return cls(
            bland_phrases=tuple(str(p) for p in section.get("bland_phrases", cls.bland_phrases)),
            min_text_length=int(section.get("min_text_length", cls.min_text_length)),
            retelling_max_length=int(section.get("retelling_max_length", cls.retelling_max_length)),
            retelling_dated_lines=int(section.get("retelling_dated_lines", cls.retelling_dated_lines)),
            bland_sections_return=int(section.get("bland_sections_return", cls.bland_sections_return)),
        )

    def with_privacy(self, privacy: PrivacySettings | None, staff_names: Iterable[str]) -> Settings:
        """These settings with the name check of ``[privacy]``: the roster's staff names, the extra names and
        the allowed words (no ``[privacy]``: unchanged, no name check)."""
        if privacy is None:
            return self
        detector = NameDetector.build(
            staff_names=staff_names, extra_names=privacy.extra_names, allowed_words=privacy.allowed_words
        )
        return dataclasses.replace(self, names=privacy.names, name_detector=detector)


@dataclass(frozen=True)
class ActionRow:
    """One non-blank row of the actions table, as read (``number`` counts from 1)."""

    number: int
    row: int
    action: Any
    owner: Any
    due: Any


@dataclass
class FormView:
    """One form's answers as the rules see them, with helpers that turn raw cell values into typed ones."""

    values: Mapping[str, Any]
    actions_table: Sequence[Sequence[Any]]
    layout: FormLayout
    framework: Framework
    settings: Settings = field(default_factory=Settings)
    due_date: date | None = None  # the register's due date
    reallocated: bool = False  # the register says the case was re-allocated within a month
    file: str = ""
    #: per table, the sheet row its body was read from (when rows were inserted above it, not the layout's)
    first_rows: Mapping[str, int] = field(default_factory=dict)
    #: per table, the cells with something in them outside the table, which were not read (``FormRead.strays``)
    strays: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def first_row(self, table: str) -> int:
        return self.first_rows.get(table) or self.layout.tables[table].first_row

    def stray_problems(self, code: str, tables: Sequence[str]) -> Iterator[Problem]:
        """One problem per cell with something in it outside one of ``tables`` (so never read)."""
        for name in tables:
            spec = self.layout.tables.get(name)
            if spec is None:
                continue
            for cell in self.strays.get(name, ()):
                yield messages.problem(
                    code,
                    file=self.file,
                    sheet=spec.sheet,
                    cell=cell,
                    field=name,
                    label=f"outside the {TABLE_WORDS.get(name, name)} table",
                    table=TABLE_WORDS.get(name, name),
                )

    def spec(self, name: str) -> FieldSpec:
        return self.layout.fields[name]

    def raw(self, name: str) -> Any:
        return self.values.get(name)

    def text(self, name: str) -> str:
        """The answer as text ('' when blank); numbers and dates as they would be shown."""
        cache = self.__dict__.setdefault("_texts", {})
        found = cache.get(name)
        if found is None:
            found = cache[name] = to_text(self.values.get(name))
        return found  # type: ignore[no-any-return]

    def grade(self, name: str) -> Grade | None:
        """The grade, ``None`` when blank; raises :class:`GradeParseError` when not a grade."""
        cache = self.__dict__.setdefault("_grades", {})
        if name not in cache:
            try:
                cache[name] = self.framework.parse_grade(grade_text(self.values.get(name)))
            except GradeParseError as exc:
                cache[name] = exc
        found = cache[name]
        if isinstance(found, GradeParseError):
            raise found
        return found  # type: ignore[no-any-return]

    def grade_or_none(self, name: str) -> Grade | None:
        try:
            return self.grade(name)
        except GradeParseError:
            return None

    def date(self, name: str) -> date | None:
        return to_date(self.values.get(name))

    def section_grades(self) -> list[Grade]:
        grades = [self.grade_or_none(f"{s.key}_grade") for s in self.framework.sections]
        return [g for g in grades if g is not None]

    def actions(self) -> list[ActionRow]:
        cached = self.__dict__.get("_actions")
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        first_row = self.first_row("actions")
        rows = []
        for i, cells in enumerate(self.actions_table):
            padded = ([*list(cells), None, None, None])[:3]
            if any(to_text(c) for c in padded):
                rows.append(ActionRow(i + 1, first_row + i, *padded))
        self.__dict__["_actions"] = rows
        return rows

    def action_cell(self, row: int, column: int) -> str:
        # Not openpyxl's get_column_letter: importing openpyxl for it cost each ingest worker about half a second
        # (issue 25), and nothing else in the check needs openpyxl.
        table = self.layout.tables["actions"]
        return f"{column_letter(table.first_col + column)}{row}"

    def problem(self, code: str, name: str, found: object = "", **params: object) -> Problem:
        """A problem located at a form field: sheet, cell and the label the auditor sees."""
        spec = self.spec(name)
        label = spec.label
        if spec.section is not None and not label.lower().startswith("section"):
            label = f"section {spec.section}: {label}"
        return messages.problem(
            code, found=found, file=self.file, sheet=spec.sheet, cell=spec.cell, field=name, label=label, **params
        )

    def action_problem(
        self, code: str, action: ActionRow, column: int, found: object = "", **params: object
    ) -> Problem:
        table = self.layout.tables["actions"]
        return messages.problem(
            code,
            found=found,
            file=self.file,
            sheet=table.sheet,
            cell=self.action_cell(action.row, column),
            field="actions",
            label=f"action {action.number}: {table.headers[column]}",
            row=action.number,
            **params,
        )


_DATE_TEXT = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})\s*$")


def to_text(value: Any) -> str:
    if type(value) is str:  # most answers: asked first (a hundred-odd times a form), the same result as below
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def grade_text(value: Any) -> Any:
    """Grades are typed as text; a number or date is passed on as itself so the parser refuses it."""
    return value.strip() if isinstance(value, str) else value


def to_date(value: Any) -> date | None:
    """A date from a date cell, or from text typed in England's day-first order ("03/04/2026" is 3 April).

    Raises ``ValueError`` for anything else that is not blank.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        match = _DATE_TEXT.match(text)
        if match:
            day, month, year = (int(g) for g in match.groups())
            if year < 100:
                year += 2000
            return date(year, month, day)
        return date.fromisoformat(text)
    raise ValueError("not a date")


def safe_date(value: Any) -> date | None:
    try:
        return to_date(value)
    except (ValueError, OverflowError):
        return None


_DISCOVERED: list[bool] = []


def discover() -> dict[str, Rule]:
    """Import every module of this package (each registers its rules); done once."""
    if not _DISCOVERED:
        for module in pkgutil.iter_modules(__path__):
            importlib.import_module(f"{__name__}.{module.name}")
        _DISCOVERED.append(True)
    return REGISTRY


def validate(form: FormView, rules: Iterable[Rule] | None = None) -> list[Problem]:
    """Run every rule (or the ones given): the problems found, errors first, in form order."""
    found: list[Problem] = []
    for item in rules if rules is not None else discover().values():
        try:
            found.extend(item.check(form) or ())
        except Exception as exc:  # noqa: BLE001 - one rule's bug is that rule's problem on this form, nothing more
            # Logged with the rule and the frames only (no form content); the form is returned, never accepted,
            # and the other rules still run (a safeguarding concern is read from the form, not from a rule).
            log.error("rule %s raised an internal error on a form\n%s", item.code, safe_traceback(exc))
            found.append(messages.problem("IN091", file=form.file, field="", rule=item.code))
    order = {name: i for i, name in enumerate(form.layout.fields)}
    found.sort(key=lambda p: (p.severity != "error", p.field == "actions", order.get(p.field, 999), p.cell))
    return found


discover()
