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
    "CFG031",
    "error",
    "Purging months before {found} would remove the current month ({current}) or later.",
    "Give an earlier month with --before; only months before the current one can be purged.",
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
define(
    "AL001",
    "error",
    "The {what} {file} could not be read: {detail}.",
    "Give the path of the {what} saved from Excel as .xlsx (or as .csv with the headers in row 1); the blank one "
    "'caseaudit init' made has every column.",
)
define(
    "AL002",
    "error",
    "The {what} has no column headed '{label}' in row 1.",
    "Add a column headed exactly '{label}' (the blank {what} made by 'caseaudit init' has every column).",
)
define(
    "AL003",
    "error",
    "Row {row}: '{found}' is not a role caseaudit knows.",
    "Choose one of: {choices}.",
)
define("AL004", "error", "Row {row}: '{label}' is empty.", "Fill it in: {hint}.")
define(
    "AL005",
    "error",
    "Row {row}: the Staff ID '{found}' is used again (first on row {first}).",
    "Give each person one row and a Staff ID of their own.",
)
define(
    "AL006",
    "error",
    "Row {row}: '{found}' in '{label}' is not a Staff ID in the roster.",
    "Use the Staff ID of someone on the roster; add anyone missing (people who left stay, with Audit status Left).",
)
define(
    "AL007",
    "error",
    "Row {row}: '{found}' in '{label}' is not a date.",
    "Enter a date such as 03/04/2026 (3 April 2026), or format the cell as a date in Excel.",
)
define("AL008", "error", "Row {row}: '{found}' is not allowed in '{label}'.", "Choose one of: {choices}.")
define(
    "AL009",
    "error",
    "Row {row}: the case reference '{found}' appears again (first on row {first}).",
    "Keep one row per case and remove the other.",
)
define(
    "AL010",
    "error",
    "Row {row}: '{found}' is not an email address.",
    "Enter one address such as name@authority.gov.uk; notices are sent there.",
)
define(
    "AL011",
    "error",
    "Row {row}: this person is named as their own line manager.",
    "Enter the Staff ID of the person they report to, or leave it empty for the most senior person.",
)
define(
    "AL012",
    "error",
    "The {what} {file} holds no rows.",
    "Fill in the headers in row 1 and one row per person or case below them.",
)
define(
    "AL013",
    "error",
    "Row {row}: the case reference '{found}' is not in the caseload.",
    "Use a case reference from the caseload, exactly as written there.",
)
define(
    "AL014",
    "error",
    "Row {row}: {name} may not audit case {case_ref}: {reason}.",
    "Choose a case from a team they are not responsible for, or leave the row out and let caseaudit choose.",
)
define(
    "AL015",
    "error",
    "Row {row}: the Staff ID '{found}' is listed again (first on row {first}).",
    "Each auditor audits one case a month: keep one row for them.",
)
define(
    "AL016",
    "error",
    "Row {row}: {name} ({found}) has left the authority (Audit status Left).",
    "Choose an auditor who is still with the authority.",
)
define(
    "AL017",
    "error",
    "Row {row}: case {found} is not offered for audit: {reason}.",
    "Choose a case that has an allocated social worker.",
)
define("AL018", "info", "... and {count} more problems of the same kinds.")
define(
    "AL019",
    "error",
    "The {what} {file} has {count} problem(s), listed below; nothing was loaded from it.",
    "Correct each row listed, save the file, and run the command again.",
)
define(
    "AL020",
    "error",
    "{month} is already allocated ({count} audits, made {made_at}).",
    "To make a new allocation that replaces it (the earlier one stays in the register's history), run again with "
    "--replace. To change one audit only, use --reassign AUDIT_ID.",
)
define("AL021", "error", "--to can only be used together with --reassign AUDIT_ID.", "Add --reassign AUDIT_ID.")
define(
    "AL022",
    "error",
    "There is no audit {audit_id} in {month}.",
    "Copy the audit ID from the month's allocations.xlsx (column 'Audit ID').",
)
define(
    "AL023",
    "error",
    "Audit {audit_id} cannot be reassigned: it is {status}.",
    "Only a current allocation can be reassigned; see allocations.xlsx for the current audit ID.",
)
define(
    "AL024",
    "error",
    "Audit {audit_id} has already been completed and accepted; it cannot be reassigned.",
    "Nothing to do: the audit is done.",
)
define(
    "AL025",
    "error",
    "{name} ({staff_id}) may not audit case {case_ref}: {reason}.",
    "Choose an auditor who is not responsible for the case's team or service.",
)
define(
    "AL026",
    "error",
    "No other case can be given to {name}: {reason}.",
    "Give the case to another auditor with --to STAFF_ID, or add cases to the caseload.",
)
define(
    "AL027",
    "error",
    "{month} has not been allocated yet.",
    "Run 'caseaudit allocate --month {month}' first.",
)
define("AL028", "error", "'{found}' is not a Staff ID in the roster.", "Use a Staff ID from the roster.")
define(
    "AL029",
    "error",
    "--reassign and --from-file/--replace cannot be used together.",
    "Reassign one audit at a time, on its own.",
)
# Summary lines and warnings of allocate and remind (shown without their code).
define(
    "AL030",
    "info",
    "Allocated {allocated} audits for {label} (due {due}); {exempt} auditors exempt, {unallocated} left without "
    "a case.",
)
define(
    "AL031",
    "info",
    "Cases offered: {offered} of {total}; {passed} passed over ({reasons}).",
)
define("AL032", "info", "Chosen by hand from {file}: {count}.")
define("AL033", "info", "Three-way meetings advised (case re-allocated within a month): {count}.")
define("AL034", "info", "Exempt: {name} ({role}): {reason}.")
define("AL035", "info", "Replaced the earlier allocation of {month} (kept in the register's history).")
define(
    "AL036",
    "info",
    "Cases audited in the 12 months before {month} were used for {count} auditor(s) because no other case was "
    "eligible for them.",
)
define("AL037", "info", "Outputs: {folder} (allocations.xlsx, {forms} forms, {notices} notices, outbox.csv).")
define(
    "AL038",
    "info",
    "Reassigned audit {old}: {what}; new audit ID {new}. The old form is withdrawn.",
)
define(
    "AL040",
    "warning",
    "{name} ({role}, {staff_id}) has no case for {month}: {reason}.",
    "Add cases to the caseload or choose a case by hand with --from-file, then run again with --replace.",
)
define(
    "AL043",
    "warning",
    "The configuration names '{found}' as {what} ('{key}'), but that Staff ID is not in the roster.",
    "Correct '{key}' in caseaudit.toml, or add the person to the roster.",
)
define(
    "AL050",
    "info",
    "Reminders for {label} are due on {date}; nothing was done today ({today}). Run 'caseaudit remind --month "
    "{month}' on or after that date.",
)
define(
    "AL051",
    "info",
    "Reminders for {label} (reminder date {date}): {made} made, {already} already made earlier, {accepted} of "
    "{total} audits accepted.",
)
define("AL052", "info", "Summary for QA: {file}.")
define("AL053", "info", "Use --force to make reminders again for audits already reminded.")
# Follow-up audits (issue 11), part of allocate.
define(
    "AL060",
    "info",
    "Follow-up audits: {due} case(s) due, {made} allocated (up to {share} of the month's allocations), {waiting} "
    "still waiting (see the 'Follow-ups waiting' sheet of allocations.xlsx).",
)


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

# ----------------------------------------------------------------------------------------------------------------
# The month-end batch and the demo (RUN)
# ----------------------------------------------------------------------------------------------------------------
define("RUN001", "info", "Month-end run for {label} (today {today}):")
define(
    "RUN002",
    "warning",
    "{step}: not in this version of caseaudit yet, so this run did not do it.",
    "Nothing to do now; a later version adds it.",
)
define(
    "RUN003",
    "error",
    "{step}: an output could not be written, so that step did not finish: {detail}",
    "Free some disk space or close the file named (Excel or Word may be holding it open), then run "
    "'caseaudit run --month {month}' again: the steps that finished are kept and are not repeated.",
)
define("RUN004", "info", "{step}:")
define("RUN005", "info", "Outputs for {label} are in {folder}.")
define(
    "RUN006",
    "warning",
    "{count} safeguarding alert(s) raised by this run: act on them first (the URGENT workbook and notices are in "
    "{folder}).",
)
define("RUN010", "info", "Exit code {exit}: {meaning}")
