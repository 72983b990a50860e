"""Every user-facing message: one catalogue of stable codes with templates (pyxform's errors.py is the model).

A message says where the problem is, what is wrong, and how to fix it, in plain English. Codes never change
meaning once published; add new ones instead. Each stage keeps its codes under its own heading below.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class MessageDef:
    code: str
    severity: Severity
    text: str
    fix: str


CATALOGUE: dict[str, MessageDef] = {}


def define(code: str, severity: Severity, text: str, fix: str = "") -> MessageDef:
    """Add a message to the catalogue; a code may be defined only once."""
    if code in CATALOGUE:
        raise ValueError(f"message code {code} is defined twice")
    definition = MessageDef(code, severity, text, fix)
    CATALOGUE[code] = definition
    return definition


class _Blank(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "?"


def _fill(template: str, params: dict[str, object]) -> str:
    return string.Formatter().vformat(template, (), _Blank(params))


def text(code: str, **params: object) -> str:
    """What is wrong, filled in."""
    return _fill(CATALOGUE[code].text, params)


def fix(code: str, **params: object) -> str:
    """How to fix it, filled in."""
    return _fill(CATALOGUE[code].fix, params)


def render(code: str, **params: object) -> str:
    """The whole message as one line: ``[CODE] what is wrong. How to fix.``"""
    body = text(code, **params)
    remedy = fix(code, **params)
    return f"[{code}] {body}" + (f" {remedy}" if remedy else "")


@dataclass(frozen=True)
class Problem:
    """One item of a validation report (frictionless is the model): data, not prose.

    ``where`` fields name the file, sheet, cell and the field's label as the user sees it.
    """

    code: str
    severity: Severity
    message: str
    fix: str = ""
    file: str = ""
    sheet: str = ""
    cell: str = ""
    field: str = ""
    label: str = ""
    found: str = ""

    @property
    def where(self) -> str:
        parts = [p for p in (self.file, self.sheet and f"sheet '{self.sheet}'", self.cell and f"cell {self.cell}") if p]
        if self.label:
            parts.append(f"'{self.label}'")
        return ", ".join(parts)


def problem(code: str, *, found: object = "", **where_and_params: object) -> Problem:
    """Build a :class:`Problem` from the catalogue; location keywords are also template parameters."""
    params = dict(where_and_params)
    params.setdefault("found", found)
    definition = CATALOGUE[code]
    return Problem(
        code=code,
        severity=definition.severity,
        message=text(code, **params),
        fix=fix(code, **params),
        file=str(params.get("file", "")),
        sheet=str(params.get("sheet", "")),
        cell=str(params.get("cell", "")),
        field=str(params.get("field", "")),
        label=str(params.get("label", "")),
        found="" if found is None else str(found),
    )


# ----------------------------------------------------------------------------------------------------------------
# Configuration and framework (CFG)
# ----------------------------------------------------------------------------------------------------------------
define(
    "CFG001",
    "error",
    "The configuration file {path} was not found.",
    "Run 'caseaudit init' to create a working folder, or give the right file with --config PATH.",
)
define(
    "CFG002",
    "error",
    "The configuration file {path} is not valid TOML: {detail}.",
    "Open it in a text editor and correct that line; compare with the commented defaults 'caseaudit init' writes.",
)
define(
    "CFG003",
    "error",
    "In {path}, the setting '{key}' is {found}: {what}.",
    "Change '{key}' to {expected}.",
)
define(
    "CFG004",
    "error",
    "The {what} folder {folder} does not exist.",
    "Create it, or correct '{key}' in {path}. 'caseaudit init' creates all the folders a working folder needs.",
)
define(
    "CFG010",
    "error",
    "The audit framework file {path} cannot be used: {what}.",
    "Correct the file (input_templates/framework.toml shows the expected layout) or point 'framework' in the "
    "configuration at a good copy.",
)
define(
    "CFG011",
    "error",
    "The audit framework file {path} could not be read.",
    "Check the path given as 'framework' in the configuration.",
)
define(
    "CFG020",
    "error",
    "The month '{found}' is not a month.",
    "Write the month as YYYY-MM, for example 2026-09.",
)
define(
    "CFG021",
    "error",
    "The date '{found}' is not a date.",
    "Write the date as YYYY-MM-DD, for example 2026-09-30.",
)
define(
    "CFG030",
    "error",
    "The folder {folder} already holds a caseaudit working folder ({path} exists).",
    "Choose an empty folder, or keep using the existing one.",
)

# ----------------------------------------------------------------------------------------------------------------
# The register, the lock, outputs (REG, OUT)
# ----------------------------------------------------------------------------------------------------------------
define(
    "REG001",
    "error",
    "Another caseaudit run is in progress (it holds the register {where}).",
    "Wait for it to finish, then run this command again. 'caseaudit check' works while a run is in progress.",
)
define(
    "REG002",
    "error",
    "The register {where} could not be opened: {detail}.",
    "Check the 'database' setting in the configuration. A SQLite register must be on a local disk; a team sharing "
    "one register uses a PostgreSQL URL instead.",
)
define(
    "REG003",
    "error",
    "The register {where} was made by a newer version of caseaudit (schema {found}, this version knows {known}).",
    "Upgrade caseaudit before using this register.",
)
define(
    "OUT001",
    "error",
    "Could not write {path}: {detail}.",
    "Check there is free disk space, that the folder is not read-only, and that the file is not open in Excel or "
    "Word; then run the command again. Nothing half-written was left behind.",
)

# ----------------------------------------------------------------------------------------------------------------
# Commands (CLI)
# ----------------------------------------------------------------------------------------------------------------
define(
    "CLI001",
    "error",
    "Something went wrong inside caseaudit ({kind}); nothing was changed by the part that failed.",
    "Please send the log file {log} to your caseaudit support contact. It holds no case content.",
)
define(
    "CLI002",
    "info",
    "'caseaudit {command}' is not available in this version yet.",
    "The README's 'What works today' list says which commands are ready.",
)


# ----------------------------------------------------------------------------------------------------------------
# Allocation, roster and caseload, notices and reminders (AL)
# ----------------------------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------------------------
# Forms (FRM)
# ----------------------------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------------------------
# Ingest: file-level checks (IN)
# ----------------------------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------------------------
# Validation rules (V)
# ----------------------------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------------------------
# Moderation (MOD)
# ----------------------------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------------------------
# Actions (ACT)
# ----------------------------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------------------------
# Reports and metrics (REP)
# ----------------------------------------------------------------------------------------------------------------
define(
    "REP001",
    "error",
    "The learning themes file {path} cannot be used: {what}.",
    "Correct it (input_templates/themes.toml shows the layout, with comments), or point 'templates.themes' in "
    "caseaudit.toml at a good copy.",
)
define(
    "REP002",
    "error",
    "The Word report template {path} cannot be used: {what}.",
    "Use the template shipped in input_templates/report_template.docx (restyle it in Word, keeping the {{{{ … }}}} "
    "fields), or point 'templates.word_report' in caseaudit.toml at a good copy.",
)
define(
    "REP003",
    "warning",
    "No audits were allocated for {month}, so the reports show no audits.",
    "Check the month, or run 'caseaudit allocate --month {month}' first.",
)
define(
    "REP004",
    "error",
    "In {path}, the setting 'targets.{key}' is {found}: it is a share and must lie between 0 and 1.",
    "Change it to a number from 0 to 1, e.g. 0.95 for 95%.",
)
define("REP010", "info", "Reports for {month} (report date {report_date}) written to {folder}:")
define(
    "REP011",
    "info",
    "{completed} of {allocated} audits completed on time ({completion}); {graded} graded, {gob} good or better "
    "({gob_rate}); {alerts} safeguarding alerts; {overdue} actions overdue.",
)
define("REP012", "info", "  {file}")
