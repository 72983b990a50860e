"""Every user-facing message: one catalogue of stable codes with templates (pyxform's errors.py is the model).

A message says where the problem is, what is wrong, and how to fix it, in plain English. Codes never change
meaning once published; add new ones instead. Each stage keeps its codes under its own heading below.
"""

from __future__ import annotations

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
    # str.format_map: string.Formatter's parsing in C (issue 25: ingest fills a message for every action and
    # problem); a name not given still shows as "?" (tests/test_messages_fill.py holds the two to the same text).
    return template.format_map(_Blank(params))


def text(code: str, **params: object) -> str:
    """What is wrong, filled in."""
    return _fill(CATALOGUE[code].text, params)


def fix(code: str, **params: object) -> str:
    """How to fix it, filled in."""
    return _fill(CATALOGUE[code].fix, params)


def counted(tally: dict[str, int], *, zeros: bool = False) -> str:
    """``3 accepted, 1 returned``: counts by outcome, for a summary line (zeros left out unless asked for)."""
    return ", ".join(f"{n} {name}" for name, n in tally.items() if n or zeros)


def exit_meaning(exit_code: int) -> str:
    """What an exit code means, in words (codes ``EXTnnn``); empty for a code with no meaning defined."""
    code = f"EXT{exit_code:03d}"
    return text(code) if code in CATALOGUE else ""


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
    "CFG022",
    "error",
    "The month '{found}' is outside the months caseaudit works with ({first} to {last}).",
    "Check the year: write the month as YYYY-MM, for example 2026-09.",
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
# Set-up that cannot be half done (issue 24).
define(
    "CFG050",
    "error",
    "There is no address to send notices from: [notices] sender is empty and the QA officer ([people] qa_officer: "
    "{found}) has no e-mail address on the roster.",
    "In caseaudit.toml set [people] qa_officer to the QA officer's Staff ID (with an Email on the roster), or set "
    "[notices] sender to the QA team's address; then run the command again. Nothing was made.",
)
define(
    "CFG051",
    "warning",
    "The setting {key} in caseaudit.toml is empty: {what}.",
    "Set {key} to the Staff ID(s) from the roster (docs/reference/configuration.md, [people]).",
)
define(
    "CFG030",
    "error",
    "The folder {folder} already holds a caseaudit working folder ({path} exists).",
    "Choose an empty folder, or keep using the existing one.",
)
define(
    "CFG070",
    "error",
    "In {path}, '[register] password_env' names the environment variable {variable}, which is not set, so the "
    "register's password is unknown.",
    "Set {variable} to the database password in the environment that runs caseaudit (for a scheduled run, in its "
    "cron line or systemd unit), or empty 'password_env' if the server needs no password.",
)
define(
    "CFG071",
    "error",
    "The database URL {where} holds a password. caseaudit never writes a password into its configuration file.",
    "Give the URL without the password, and the password in an environment variable named with --password-env "
    "(it is written to '[register] password_env'), e.g. --password-env CASEAUDIT_DB_PASSWORD.",
)
define(
    "CFG072",
    "error",
    "'{found}' is not a database URL.",
    "Write it as postgresql+psycopg://USER@SERVER/DATABASE (or sqlite:///FILE for a register on this computer).",
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
    "REG004",
    "error",
    "There is no register at {where}, so this command has nothing to work on.",
    "Run caseaudit in the working folder that 'caseaudit init' made (or give it with --config), and check the "
    "'database' setting. If the register was deleted or moved, put it back from your backup: only 'caseaudit init' "
    "makes a new, empty register, in a new folder.",
)
define(
    "REG005",
    "error",
    "The register {where} is empty: it holds none of caseaudit's records.",
    "Put the register back from your backup, or check the 'database' setting. Only 'caseaudit init' makes a new "
    "register.",
)
define(
    "REG006",
    "error",
    "{where} is not a caseaudit register.",
    "Check the 'database' setting in the configuration: it should name the register 'caseaudit init' made.",
)
define(
    "REG007",
    "error",
    "The register {where} is damaged (SQLite reports corrupt pages). Nothing was changed.",
    "Stop using it, keep a copy of the file as it is, and put the register back from your latest backup (or the "
    "copy caseaudit keeps beside it before an upgrade, '.bak-N'). Then run the command again.",
)
define(
    "REG008",
    "error",
    "The register {where} could not be written: the disk is full or failing. Nothing was changed.",
    "Free some space on the disk that holds the register (or ask IT to), then run the command again.",
)
define(
    "REG010",
    "info",
    "The register {where} was brought up to date for this version of caseaudit (schema {found} to {known}): "
    "{steps}. A copy of it as it was is kept at {backup}.",
    "Nothing to do. Keep the copy until you are sure all is well; to go back, put it in the register's place.",
)
define(
    "REG011",
    "error",
    "The register {where} could not be brought up to date (schema {found} to {known}): {detail}. It was left "
    "exactly as it was.",
    "Run the command again. If it fails again, keep the register and its .bak copy and ask for help.",
)
define(
    "REG012",
    "error",
    "The register {where} needs bringing up to date, but the copy to keep first ({backup}) could not be made: "
    "{detail}. Nothing was changed.",
    "Check there is free disk space beside the register and that its folder is writable, then run the command again.",
)
define(
    "REG013",
    "info",
    "The register {where} was brought up to date for this version of caseaudit (schema {found} to {known}): "
    "{steps}. A PostgreSQL register is not copied first.",
    "Nothing to do. Before upgrading caseaudit next time, take a copy with pg_dump.",
)
define(
    "REG020",
    "error",
    "The database server for {where} could not be reached. Nothing was changed.",
    "Check that the server is running and that the host and port in the 'database' setting are right (ask IT if "
    "the server is theirs), then run the command again.",
)
define(
    "REG021",
    "error",
    "The database server for {where} refused the user name or password.",
    "Check the user in the 'database' setting and the password in the environment variable that '[register] "
    "password_env' names, then run the command again.",
)
define(
    "REG022",
    "error",
    "The database server for {where} has no such database or user.",
    "Ask the server's administrator to create the database and user (e.g. createdb caseaudit), or correct the "
    "'database' setting.",
)
define(
    "REG023",
    "error",
    "The database driver for {backend} ({where}) is not installed.",
    "Install caseaudit with its PostgreSQL driver: pip install 'caseaudit[postgres]'.",
)
define(
    "REG024",
    "error",
    "The database {where} already holds something that is not a caseaudit demo (a real register, or other "
    "tables). The demo never touches it.",
    "Give the demo a database of its own: create an empty one (e.g. createdb caseaudit_demo) and pass its URL.",
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
define("CLI002", "warning", "Stopped. Nothing half-finished was kept; run the command again to finish.")


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
    "Row {row}: '{found}' is not one email address.",
    "Enter exactly one address such as name@authority.gov.uk, with no name, no second address and no line break "
    "in the cell; notices are sent there.",
)
define(
    "AL045",
    "error",
    "Row {row}: the {label} holds a line break, a control character or a character that reorders text ('{found}').",
    "Retype the value on one line with ordinary characters (a line break in a cell comes from Alt+Enter in Excel).",
)
define(
    "AL046",
    "error",
    "Row {row}: the {label} is {length} characters long ('{found}'); it can be at most {limit}.",
    "Check the cell: it probably holds text pasted by mistake. Enter the value alone.",
)
define(
    "AL044",
    "error",
    "Row {row}: the line managers go round in a circle ({chain}), so nobody at the top is this person's Head of "
    "Service.",
    "Correct the Line manager ID of one of these people so the chain ends at someone with no line manager (the "
    "most senior person).",
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
    "--replace. To change one audit only, use --reassign AUDIT.",
)
define("AL021", "error", "--to can only be used together with --reassign AUDIT.", "Add --reassign AUDIT.")
define(
    "AL022",
    "error",
    "There is no audit {audit_id} in {month}.",
    "Copy the audit reference (e.g. 2026-09-0014) from the month's allocations.xlsx (column 'Audit reference').",
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
    "Reassigned audit {old}: {what}; new audit {new}. The old form is withdrawn.",
)
define(
    "AL070",
    "warning",
    "The caseload's case type '{found}' (first on row {row}) is not one the audit framework knows ({known}).",
    "Correct the case type in the caseload, or add it (or this spelling) under [case_types] in the framework file; "
    "reports count it as a case type of its own until then.",
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

define(
    "IN001",
    "info",
    "This is an Excel lock file: the workbook may still be open on someone's computer.",
    "Nothing to do: caseaudit ignores lock files. If the form itself is missing, ask the auditor to close Excel and "
    "save the form to the inbox again.",
)
define("IN002", "info", "This is a temporary or system file, not a form.", "Nothing to do: caseaudit ignores it.")
define(
    "IN003",
    "error",
    "This file is password-protected or an old Excel 97-2003 (.xls) workbook, so it cannot be read safely.",
    "Ask the auditor to remove the password (File > Info > Protect Workbook) and save it as an "
    "Excel Workbook (.xlsx), then put it in the inbox again.",
)
define(
    "IN004",
    "error",
    "This is not a spreadsheet: it looks like {found}.",
    "Ask the auditor to send the audit form as the Excel workbook (.xlsx) they were given.",
)
define(
    "IN005",
    "error",
    "This file is empty or cut short (the copy may not have finished), so it cannot be read.",
    "Copy the form into the inbox again; if it happens again, ask the auditor to send it again.",
)
define(
    "IN006",
    "error",
    "This file is {found}, larger than the {limit} caseaudit reads.",
    "An audit form is well under 1 MB: ask the auditor to send the form they were given, without pictures "
    "or pasted documents.",
)
define(
    "IN007",
    "info",
    "This file was listed but had gone (moved or deleted) before it could be read.",
    "Nothing to do if it was moved on purpose; if it comes back, the next run reads it.",
)
define(
    "IN009",
    "info",
    "This file changed after it was listed, before it could be read (it was probably still being saved or copied), "
    "so it was not read.",
    "Nothing to do: the next run reads it as it is then. If it keeps happening, wait until the copy has finished.",
)
define(
    "IN017",
    "info",
    "This is a shortcut (a symbolic link), not a file, so it was not read.",
    "Put the form itself in the inbox, not a shortcut to it.",
)
define(
    "IN018",
    "info",
    "This is not an ordinary file (a pipe or a device), so it was not read.",
    "Remove it from the inbox; only completed forms belong there.",
)
define(
    "IN019",
    "error",
    "This file's name ({name}) is not valid text: some of its characters came from another system's encoding "
    "(often a zip made on Windows and unpacked here), so it was not read.",
    "Rename the file with ordinary letters and digits (for example the name caseaudit gave the form) and put it in "
    "the inbox again.",
)
define(
    "IN008",
    "error",
    "This file could not be read: {detail}.",
    "Check that caseaudit may read the file (its permissions) and that it is not being copied; then run again.",
)
define(
    "IN010",
    "error",
    "This workbook would expand to far more than a form could hold ({found}; limit {limit}): it "
    "looks like a 'zip bomb' and was not opened.",
    "Do not open it. Delete it from the inbox and tell your IT security contact where it came from.",
)
define(
    "IN011",
    "error",
    "This workbook holds far more cells than an audit form ({found}; limit {limit}), so it was not read.",
    "Ask the auditor to send the form they were given, without extra sheets or pasted tables.",
)
define(
    "IN012",
    "error",
    "This workbook contains macros (a VBA project or a macro-enabled file type), which caseaudit never opens.",
    "Ask the auditor to save the form as an 'Excel Workbook (.xlsx)' without macros and send it again.",
)
define(
    "IN013",
    "error",
    "This workbook has links to other files ({found}), which caseaudit never follows.",
    "Ask the auditor to remove the links (Data > Edit Links > Break Link), save, and send the form again.",
)
define(
    "IN014",
    "error",
    "This workbook contains XML entity declarations, which are used to attack programs that "
    "read files; it was refused without being read.",
    "Do not open it. Delete it from the inbox and tell your IT security contact where it came from.",
)
define(
    "IN015",
    "error",
    "This workbook is damaged: {found}.",
    "Ask the auditor to open the form in Excel, save it again as .xlsx, and send it again.",
)
define(
    "IN140",
    "error",
    "Cell {cell} on sheet '{sheet}' holds a NUL character (an invisible code no typed answer contains, which the "
    "register cannot store).",
    "Ask the auditor to retype the text in that cell (or copy it from a plain-text editor rather than another "
    "system), save the form and send it again.",
)
define(
    "IN016",
    "error",
    "A cell on sheet '{sheet}' holds a number far outside any date ({found}), which cannot be read.",
    "Ask the auditor to check the dates on the form (the date completed and the actions' due dates), correct the "
    "number, and send the form again.",
)
define(
    "IN020",
    "error",
    "This workbook is not a caseaudit form (it has no '_meta' sheet naming its audit).",
    "Only forms made by 'caseaudit allocate' can be read. Ask the auditor to copy their answers into the form "
    "they were sent.",
)
define(
    "IN021",
    "error",
    "This is a caseaudit {found} form, but it was put in the {inbox} inbox.",
    "Move it to the right inbox folder.",
)
define(
    "IN022",
    "error",
    "This form was made for an audit framework version ({found}) that the register does not know.",
    "Ask the auditor to use the form they were sent this month; QA can re-send it with 'caseaudit allocate'.",
)
define(
    "IN023",
    "error",
    "This form's audit ID ({found}) was never allocated in this register.",
    "Check the form came from this authority's caseaudit; the auditor should use the form they were sent.",
)
define(
    "IN024",
    "error",
    "This form's audit ({found}) was {status} and no longer counts.",
    "Nothing to do for this form; the auditor should complete the form of the audit that replaced it.",
)
define(
    "IN025",
    "error",
    "The form's identity is inconsistent: its '_meta' sheet and its document properties name "
    "different audits ({found}).",
    "Ask the auditor to complete the form they were sent, not a copy of another.",
)
define(
    "IN027",
    "error",
    "This form was made by a newer version of caseaudit (form layout {found}) than the one reading it.",
    "Update caseaudit to the version that made the form (ask whoever runs the batch), then run ingest again; "
    "nothing needs to change on the form.",
)
define(
    "IN030",
    "error",
    "The pre-filled '{label}' was changed on the form: it says '{found}', the register says '{expected}'.",
    "Change it back to '{expected}' (the case details are filled in by QA and locked), or tell "
    "QA if the register is wrong.",
)
define(
    "IN040",
    "info",
    "This form is for {month}, a month purged from the register on {date}; it was not read.",
    "Delete it: the register no longer keeps audits of that month (the next 'caseaudit purge' removes it).",
)
define(
    "IN090",
    "error",
    "This file could not be read because of an internal error in caseaudit.",
    "Please send the log file to your caseaudit support contact; the other files were read normally.",
)
define(
    "IN091",
    "error",
    "The check {rule} failed inside caseaudit on this form (an internal error), so the form cannot be accepted yet.",
    "Nothing needs changing in the form for this check: QA sends the log file to the caseaudit support contact and "
    "reads the form again once caseaudit is fixed. The other checks ran normally.",
)
define("IN106", "info", "{count} error(s) to correct; the first: {place} ({first}).")
define("IN107", "info", "Accepted with {count} point(s) to check.")
define("IN108", "info", "Accepted.")
define("MOD116", "info", "{count} error(s) to correct: {message}")
define("IN105", "info", "Identical to {other} (in this run).")
define("IN100", "info", "Already ingested on {date} as {outcome}.", "")
define("IN101", "info", "Identical to {other} (first seen on {date}, {outcome}).", "")
define("IN102", "info", "Replaces the earlier accepted version {other}.", "")
define("IN103", "info", "Superseded by the newer accepted version {other}.", "")
define("IN104", "warning", "The accepted version {other} still stands; this one was returned.", "")
define(
    "IN110",
    "error",
    "SAFEGUARDING: audit {audit} (case {case_ref}) records an immediate safeguarding concern.",
    "Make sure the social worker, team manager and service manager know now (guidance section 3); "
    "run 'caseaudit ingest' to send the alert.",
)
define("IN111", "info", "{count} safeguarding alert(s) raised; see {file}.", "")
define(
    "IN112",
    "warning",
    "SAFEGUARDING: audit {audit} (case {case_ref}) records an immediate safeguarding concern; the alert was raised "
    "on {date}.",
    "Make sure it has been acted on (guidance section 3).",
)
define(
    "IN113",
    "warning",
    "The shared notice of {file} went without the form: the file changed in the inbox after it was checked.",
    "Nothing is lost: the next run checks the changed file again and, if it is accepted, shares it with the form. "
    "Make sure nobody is still saving into the inbox while caseaudit runs.",
)
define("IN120", "error", "The file {path} was not found.", "Check the name and folder of the form to check.")


# ----------------------------------------------------------------------------------------------------------------
# Validation rules (V)
# ----------------------------------------------------------------------------------------------------------------

define(
    "V001",
    "error",
    "No grade was given for {label}.",
    "Choose Outstanding, Good, Requires Improvement or Inadequate from the list in {cell}.",
)
define(
    "V002",
    "error",
    "'{found}' is not one of the four grades ({label}).",
    "Choose Outstanding, Good, Requires Improvement or Inadequate from the list in {cell}.",
)
define(
    "V003",
    "error",
    "The overall grade {found} is more than one grade higher than the lowest section grade ({lowest}).",
    "Appendix 1: the overall grade cannot be more than one grade higher than the lowest section "
    "grade; grade it {highest} or lower, or review the section grades.",
)
define(
    "V004",
    "error",
    "A safeguarding concern is marked Yes but nothing says what was done and who was told.",
    "Appendix 1: 'be clear what was done and how this was managed': fill in {cell}.",
)
define("V005", "error", "'{found}' is not one of the choices for {label}.", "Choose one of: {choices}.")
define("V006", "error", "The question '{label}' was not answered.", "Choose one of: {choices}.")
define("V010", "error", "Action {row} has no owner.", "Write who will do it in {cell}.")
# Practice standards (issue 24).
define(
    "V130",
    "error",
    "The practice standard '{label}' was not answered.",
    "Choose one of: {choices} in {cell} (Not applicable when the standard does not apply to this case).",
)
define(
    "V131",
    "warning",
    "Section {section} is graded {grade}, but the practice standard '{label}' is answered '{found}'.",
    "Appendix 2: a Good file meets the practice standards. Check the answer in {cell}, or review the grade.",
)
define("V011", "error", "Action {row} has no due date.", "Give a due date in {cell} (for example 31/10/2026).")
define(
    "V012",
    "error",
    "Action {row}'s due date '{found}' is not a date.",
    "Type the due date in {cell} as a date (for example 31/10/2026).",
)
define(
    "V013",
    "error",
    "Row {row} of the actions has an owner or a due date but no action.",
    "Describe the action in {cell}, or clear the row.",
)
define("V020", "error", "The date the audit was completed is missing.", "Type it in {cell} (for example 28/09/2026).")
define(
    "V021",
    "error",
    "The date completed '{found}' is not a date.",
    "Type it in {cell} as a date (for example 28/09/2026).",
)
define(
    "V022",
    "error",
    "The overall grade is {found} but no actions were set.",
    "An audit graded Requires "
    "Improvement or Inadequate needs actions with owners and due dates: add them on the 'Actions' sheet.",
)
define(
    "V030",
    "error",
    "{label} contains special control characters that cannot be kept in a spreadsheet.",
    "Retype the text in {cell} (text pasted from other systems can carry invisible characters).",
)
define(
    "V031",
    "error",
    "{label} is {found} characters long, more than Excel's limit of 32,767.",
    "Shorten the text in {cell}.",
)
define(
    "V101",
    "warning",
    "No strength was recorded.",
    "Appendix 1: 'endeavour to identify at least one area of good practice'; describe what was done well in {cell}.",
)
define(
    "V102",
    "warning",
    "The overall grade {found} is higher than most of the section grades.",
    "Appendix 1: the "
    "overall grade is 'likely to reflect the majority of your subsection grades'; check it, or explain why.",
)
define(
    "V103",
    "warning",
    "{label} says only '{found}', which says nothing on its own.",
    "Appendix 1: 'avoid bland "
    "phrases'; say what was done well or what needs to change, and its impact on the child, in {cell}.",
)
define(
    "V120",
    "warning",
    "{label} seems to name a person: '{found}' ({reason}).",
    "Reports must not name a child or family member: in {cell}, use 'the child', 'the young person' or initials "
    "instead. If '{found}' is not a name here, nothing needs doing (QA can add it to [privacy] allowed_words).",
)
define(
    "V121",
    "error",
    "{label} seems to name a person: '{found}' ({reason}).",
    "Reports must not name a child or family member: in {cell}, use 'the child', 'the young person' or initials "
    "instead, and send the form again. If '{found}' is not a name here, ask QA to add it to [privacy] allowed_words.",
)
define(
    "V104",
    "warning",
    "{label} is very short ({length} characters).",
    "Say what you found and why it matters for the child, in {cell}.",
)
define(
    "V105",
    "warning",
    "{label} looks like the story of the case re-told or pasted from the case file ({why}).",
    "Guidance section 3: summarise your findings and their evidence rather than re-telling the case, in {cell}.",
)
define(
    "V106",
    "warning",
    "How the social worker took part was not recorded.",
    "Choose In person, Phone or video "
    "or Not possible in {cell}; the social worker should be given every opportunity to take part.",
)
define("V107", "warning", "The social worker could not take part but no reason was given.", "Say why in {cell}.")
define(
    "V108",
    "warning",
    "The case was re-allocated within a month but no three-way meeting is recorded.",
    "Guidance section 2: try to meet both workers; answer {cell} (Yes or No).",
)
define("V109", "warning", "No recommendations were made.", "Appendix 1: make child-focussed recommendations in {cell}.")
define(
    "V114",
    "error",
    "The findings say nothing in {count} of the sections ({sections}): blank, too short, or a phrase such as 'no "
    "concerns'.",
    "Grades rest on the evidence: write what you found on the case file, and its impact on the child, in each of "
    "those sections' 'Evidence and findings' (this one is {cell}), then send the form again.",
)
define(
    "V115",
    "warning",
    "Section {section} is graded {grade}, but its findings do not say what supports it.",
    "Appendix 2: write the evidence for the grade in {cell}, or review the grade.",
)
define(
    "V110",
    "warning",
    "The recommendations never mention the child or young person.",
    "Appendix 1: 'Ensure "
    "your recommendations are child-focussed': say what each will achieve for the child, in {cell}.",
)
define(
    "V111",
    "warning",
    "Action {row} is due ({found}) before the audit was completed ({completed}).",
    "Check the due date in {cell}.",
)
define(
    "V112",
    "warning",
    "Action {row} is due ({found}) more than six months after the audit was completed.",
    "Set a nearer timescale in {cell}, or split the action into steps.",
)
define(
    "V113",
    "warning",
    "The audit was completed on {found}, after its due date {due} (late).",
    "Nothing to change on the form; it is counted as completed late.",
)


# ----------------------------------------------------------------------------------------------------------------
# Moderation (MOD)
# ----------------------------------------------------------------------------------------------------------------
define(
    "MOD001",
    "error",
    "Audit {audit_id} is not an accepted audit of {month}, so it cannot be added to the moderation sample.",
    "Check the audit ID (allocations.xlsx lists them). An audit can be moderated once its form has been accepted "
    "by 'caseaudit ingest'.",
)
define(
    "MOD002",
    "error",
    "Audit {audit_id} is not in the moderation sample for {month}.",
    "Check the audit ID; 'caseaudit moderate --month {month}' lists the sample. Nothing was changed.",
)
define(
    "MOD003",
    "error",
    "Audit {audit_id} has already been moderated, so it stays in the sample.",
    "The accepted moderation is kept in the register. Nothing was changed.",
)
define(
    "MOD004",
    "error",
    "Audit {audit_id} has no accepted audit form, so its moderation cannot be recorded.",
    "Ingest the audit form first ('caseaudit ingest'), then the moderation form again.",
)
define(
    "MOD005",
    "error",
    "--add and --remove both name audit {audit_id}.",
    "Give one of them.",
)
define(
    "MOD010",
    "error",
    "There is no escalation {escalation_id}.",
    "Escalation IDs look like ESC-0001; the moderation summary and the monthly report list them.",
)
define(
    "MOD011",
    "error",
    "Escalation {escalation_id} was already resolved on {when}.",
    "An outcome is recorded once; nothing was changed.",
)
define(
    "MOD012",
    "error",
    "The outcome of escalation {escalation_id} needs a note.",
    'Add --note "what the Head of Service decided".',
)
define(
    "MOD013",
    "error",
    "Escalation {escalation_id} is about the grade, so the Head of Service's grade is needed.",
    'Add --grade GRADE, for example --grade "Requires Improvement".',
)
define(
    "MOD014",
    "error",
    "'{found}' is not a grade.",
    "Use one of: {grades}.",
)
define(
    "MOD015",
    "error",
    "Escalation {escalation_id} is about the actions, not the grade, so it takes no --grade.",
    "Leave out --grade and run the command again.",
)
define(
    "MOD016",
    "error",
    "--note and --grade are only used with --resolve.",
    "Add --resolve ESCALATION_ID, or leave them out.",
)
define(
    "MOD020",
    "warning",
    "Audit {audit_id} has no moderator: nobody in people.moderators other than its own auditor.",
    "Add Staff IDs to 'moderators' under [people] in caseaudit.toml and run 'caseaudit moderate --month {month}' "
    "again; the audit will then be assigned and its form made.",
)
define(
    "MOD021",
    "warning",
    "Escalation {escalation_id} (grade, audit {audit_id}) has nobody to go to: people.hos_quality_assurance is "
    "not set, or is not on the roster with an email address.",
    "Set 'hos_quality_assurance' under [people] in caseaudit.toml to the Staff ID of the Head of Service for "
    "Quality Assurance, and send them the case yourself this time.",
)
define(
    "MOD022",
    "warning",
    "Escalation {escalation_id} (actions, case {case_ref}) has nobody to go to: the roster does not show the Head "
    "of Service for the case's area (the line manager of the team manager's line manager), or their email.",
    "Correct 'Line manager ID' in the roster, and send the case to the Head of Service yourself this time.",
)
define(
    "MOD023",
    "warning",
    "The moderator {staff_id} is not on the roster with an email address, so no notice could be made for audit "
    "{audit_id}.",
    "Check people.moderators in caseaudit.toml against the roster's Staff IDs and emails.",
)

define(
    "MOD030",
    "error",
    "This moderation form is for audit {found}, which is not in a moderation sample (or was removed from it).",
    "Send the moderation form caseaudit made for you (output/YYYY-MM/moderation/); ask the QA team whether the "
    "audit is still to be moderated.",
)
define(
    "MOD031",
    "info",
    "A newer moderation of audit {audit_id} ({other}) was accepted; this one is kept in the history.",
    "Nothing to do.",
)

# Moderation form rules (registered in rules/moderation.py).
define(
    "MOD101",
    "error",
    "'{found}' is not one of the four grades ({label}).",
    "Choose Outstanding, Good, Requires Improvement or Inadequate from the list in {cell}, or leave it blank if you "
    "agree with the auditor's grade.",
)
define(
    "MOD102",
    "error",
    "Whether you agree with the auditor's grades is not answered ('{found}').",
    "Choose Yes or No in {cell}.",
)
define(
    "MOD103",
    "error",
    "You answered No (grades not agreed), but every moderated grade is blank or the same as the auditor's.",
    "Give the grades you would give in the 'Your grade' column, including your overall grade; if you agree with "
    "the auditor, answer Yes in {cell}.",
)
define(
    "MOD104",
    "error",
    "You answered Yes (grades agreed), but gave a different grade from the auditor's for {which}.",
    "If you agree, clear those moderated grades; if you do not, answer No in {cell}.",
)
define(
    "MOD105",
    "error",
    "You answered No (grades not agreed), but the moderated overall grade is blank.",
    "Give your overall grade in {cell} (it may be the same as the auditor's if only section grades differ).",
)
define(
    "MOD106",
    "error",
    "The moderated overall grade {found} is more than one grade higher than the lowest moderated section grade "
    "({lowest}).",
    "Appendix 1: the overall grade cannot be more than one grade higher than the lowest section grade; grade it "
    "{highest} or lower in {cell}, or review the section grades.",
)
define(
    "MOD107",
    "error",
    "Whether you agree with the auditor's actions is not answered ('{found}').",
    "Choose Yes or No in {cell}.",
)
define("MOD108", "error", "The moderator's name is missing.", "Type your name in {cell}.")
define(
    "MOD109",
    "error",
    "The moderation date is missing or is not a date ('{found}').",
    "Type the date you moderated the audit in {cell} (for example 14/10/2026).",
)
define(
    "MOD110",
    "error",
    "The rationale for your moderation is missing.",
    "Say in {cell} what the evidence on the case file shows; if you do not agree with the grades, why they should "
    "change (guidance section 3: the Head of Service for Quality Assurance will review the case).",
)
define(
    "MOD111",
    "error",
    "You did not agree with the actions but gave no comment.",
    "Say in {cell} what is wrong with the auditor's actions (the Head of Service for the area will review them).",
)
define(
    "MOD112",
    "error",
    "Additional action {row} has no due date, or its due date '{found}' is not a date.",
    "Guidance section 2: all actions need clear timescales. Type a date in {cell} (for example 31/10/2026).",
)
define(
    "MOD113",
    "warning",
    "Additional action {row} has no owner.",
    "Write who will do it in {cell}.",
)
define(
    "MOD114",
    "error",
    "Row {row} of the additional actions has an owner or a due date but no action.",
    "Describe the action in {cell}, or clear the row.",
)


# ----------------------------------------------------------------------------------------------------------------
# Actions (ACT)
# ----------------------------------------------------------------------------------------------------------------
define(
    "ACT001",
    "error",
    "The status '{found}' is not one of Open, Completed or No longer required.",
    "Choose the status from the drop-down list in the Status column.",
)
define(
    "ACT002",
    "error",
    "The action is marked Completed but 'Completed on' is blank.",
    "Type the date the action was completed in 'Completed on' (dd/mm/yyyy).",
)
define(
    "ACT003",
    "error",
    "The completion date {found} is in the future (today is {today}).",
    "Type the date the action was actually completed; an action not yet done stays Open.",
)
define(
    "ACT004",
    "error",
    "'{column}' holds '{found}', which is not a date.",
    "Type a date as dd/mm/yyyy, for example 28/09/2026.",
)
define(
    "ACT005",
    "error",
    "A completion date is given but the status is {status}.",
    "Choose Completed in the Status column, or clear 'Completed on'.",
)
define(
    "ACT006",
    "error",
    "'Service manager sign-off' holds '{found}'.",
    "Choose Yes from the drop-down list once the Service Manager has checked the action is done, or leave it blank.",
)
define(
    "ACT007",
    "error",
    "The action ID '{found}' is not in the action register.",
    "Do not change the grey, pre-filled columns. To add an action set in supervision, use a blank row at the end "
    "and leave 'Action ID' blank.",
)
define(
    "ACT008",
    "error",
    "A new action (a row with 'Action ID' blank) needs {missing}.",
    "Fill in 'Case reference', 'Action', 'Owner' and 'Due date' for an action set in supervision, or clear the row.",
)
define(
    "ACT009",
    "error",
    "The case reference '{found}' is not on the caseload caseaudit holds.",
    "Check the case reference against the caseload (only case references, never children's names).",
)
define(
    "ACT010",
    "warning",
    "Two action trackers disagree about action {action_id} (case {case_ref}): {kept_file} says {kept} "
    "(dated {kept_date}), {other_file} says {other} (dated {other_date}). The later one stands: {kept}.",
    "Check with the Team Manager and Service Manager which is right; correct it on the next tracker if needed.",
)
define(
    "ACT011",
    "error",
    "This action tracker ({who}, {month}) was not made from this register.",
    "Return the tracker caseaudit made with 'caseaudit actions --month {month}', filled in; do not copy its rows "
    "into another workbook.",
)
define(
    "ACT012",
    "error",
    "The due date '{found}' of the new action is not a date.",
    "Type the due date as dd/mm/yyyy, for example 28/10/2026.",
)
define(
    "ACT013",
    "info",
    "Tracker read: {count} row(s) with an update or a new action.",
    "",
)
define(
    "ACT014",
    "info",
    "{count} update(s) recorded, {created} new action(s) set in supervision added.",
    "",
)
# What the action register's history says of a change (kept with each action, shown on trackers and reports).
define("ACT030", "info", "Raised by the {source}.")
define("ACT031", "info", "wording changed")
define("ACT032", "info", "owner changed from {old} to {new}")
define("ACT033", "info", "(none)")
define("ACT034", "info", "due date changed from {old} to {new}")
define("ACT035", "info", "Back in a resubmitted {source}; open again.")
define("ACT036", "info", "Resubmitted {source}: {changes}.")
define("ACT037", "info", "No longer required (replaced): not in the resubmitted {source}.")
define(
    "ACT020",
    "warning",
    "{count} open actions have no service manager, so they are on no tracker (their cases' team managers have no "
    "line manager on the roster, or the case is not on the caseload).",
    "Give each team manager a 'Line manager ID' on the roster, or check the caseload; the actions are listed in "
    "the action register either way.",
)
define(
    "ACT021",
    "info",
    "No action trackers were made for {month}: the action register holds no open actions.",
    "Actions come from accepted audits and moderations: run 'caseaudit ingest' first.",
)


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
# Safeguarding alerts until QA acknowledges them (ALR): `caseaudit alerts [--ack N --note TEXT]`.
define(
    "ALR001",
    "warning",
    "{count} safeguarding alert(s) wait for QA to acknowledge them (guidance section 3: act at once):",
    "Check each one has reached the case's managers, then record it with 'caseaudit alerts --ack N --note TEXT'.",
)
define("ALR002", "warning", "  Alert {number}: case {case_ref}, audit {audit}, {team}, raised {date}.")
define("ALR003", "info", "No safeguarding alerts wait for acknowledgement.")
define(
    "ALR004", "info", "Alert {number} (case {case_ref}) acknowledged by {user} on {date}; the note is in the register."
)
define("ALR005", "info", "team not recorded")
define(
    "ALR006",
    "info",
    'When an alert has been dealt with, record what was done: caseaudit alerts --ack N --note "what was done".',
)
define(
    "ALR010",
    "error",
    "There is no safeguarding alert number {number}.",
    "Run 'caseaudit alerts' to list the alerts and their numbers.",
)
define(
    "ALR011",
    "error",
    "Acknowledging alert {number} needs a note of what was done.",
    'Add --note "...", for example --note "Phoned the team manager; strategy meeting booked".',
)
define(
    "ALR012",
    "error",
    "Alert {number} was already acknowledged on {date}.",
    "Nothing to do: run 'caseaudit alerts' to see the alerts still waiting.",
)
define(
    "ALR013",
    "error",
    "--note goes with --ack: it records what was done about one alert.",
    "Give the alert's number too: caseaudit alerts --ack N --note TEXT.",
)
# What each command's summary says (SUM): the lines a QA officer reads at the end of a command.
define("SUM001", "info", "Files seen: {count} ({parts}).")
define("SUM002", "info", "  {outcome}: {file}: [{codes}] {message} {fix}")
define(
    "SUM003",
    "info",
    "Shared {shared} accepted audit(s); feedback for {fed_back} audit(s); manifest {manifest}; QA workbook "
    "{validation}.",
)
define("SUM004", "info", "Action register: {created} new action(s), {replaced} replaced.")
define("SUM005", "info", "{file}: {outcome}{codes}")
define("SUM006", "info", "  - {severity}: {where}")
define("SUM007", "info", "    What we found: {found}")
define("SUM008", "info", "    What is wrong: {message}")
define("SUM009", "info", "    How to fix: {fix}")
define("SUM010", "info", "  {message} {fix}")
define("SUM011", "info", "Checked {count} file(s): {parts}.")
define("SUM012", "info", "{alert} File: {file}.")
define("SUM013", "info", "(blank)")
define(
    "SUM020",
    "info",
    "Action register: {versions} audit or moderation version(s) read; {created} new action(s), {replaced} no "
    "longer required (replaced).",
)
define("SUM021", "info", "Action trackers returned: {count} file(s) ({parts}).")
define("SUM022", "info", "Action trackers returned: none in the actions inbox.")
define("SUM023", "info", "  {updated} action update(s) recorded; {created} new action(s) set in supervision.")
define(
    "SUM024",
    "info",
    "Made {count} action tracker(s) for {label} in {folder}: {open} open action(s), {overdue} overdue.",
)
define("SUM030", "info", "Escalation {escalation_id} ({kind}) recorded as resolved{final}.")
define("SUM031", "info", "; the final grade of audit {audit_id} is now {grade}")
define("SUM032", "info", "Audit {audit_id} removed from the moderation sample for {month}.")
define("SUM033", "info", "Audit {audit_id} added to the moderation sample for {month}.")
define("SUM034", "info", "Audit {audit_id} was already in the moderation sample for {month}.")
define(
    "SUM035",
    "info",
    "Moderation sample for {month}: {sampled} audits ({drawn} drawn on this run, {moderated} moderated); {forms} "
    "moderation form(s) made, {reminders} reminder(s).",
)
define("SUM036", "info", "  {audit_id}  {reason:<8} moderator {moderator}  {state}")
define("SUM037", "info", "moderated")
define("SUM038", "info", "due {date}")
define("SUM039", "info", "(none)")
define(
    "SUM040",
    "info",
    "  Open escalation {escalation_id}: {kind}, audit {audit_id}, with {to} (record the outcome with --resolve "
    "{escalation_id} --note TEXT).",
)
define("SUM041", "info", "(nobody)")
define("SUM042", "info", "Moderation files seen: {count} ({parts}).")
define("SUM043", "info", "Moderation manifest: {manifest}.")
define("SUM050", "info", "Removed {total} register records and {folders} output folders for months before {label}.")
define("SUM051", "info", "  {table}: {count}")
define("SUM052", "info", "Removed {count} completed form(s) of months before {label} from the inboxes.")
define("SUM053", "info", "Moved {count} completed form(s) of months before {label} from the inboxes to {archive}.")
define("SUM054", "info", "Left those forms out of {count} manifest(s) of later months, which listed them.")
define("SUM060", "info", "Created a caseaudit working folder in {folder}.")
define(
    "SUM061",
    "info",
    "Next: fill in {roster} and {caseload}, check {config}, then run 'caseaudit allocate --month YYYY-MM' in this "
    "folder.",
)
# Sending notices by mail (issue 22).
define(
    "MAIL001",
    "error",
    "The mail server {host} (port {port}) could not be reached ({detail}); nothing more was sent this run.",
    "Check [mail] host, port and security in caseaudit.toml and that this machine may reach the server, then run "
    "'caseaudit send' again. The notices wait in the outbox as drafts; send any safeguarding alert by hand now.",
)
define(
    "MAIL002",
    "error",
    "The mail server {host} (port {port}) refused the login: {reply}.",
    "Check [mail] username, and that the environment variable named in [mail] password_env holds the password; "
    "then run 'caseaudit send' again. Send any safeguarding alert by hand now.",
)
# What each exit code means, as the run's summary says it (docs/reference/commands.md lists them too).
define("EXT000", "info", "all well.")
define("EXT001", "error", "internal error.")
define("EXT002", "error", "a usage or configuration problem (see above); nothing was done.")
define("EXT065", "warning", "finished, but some of this run's new inputs were rejected or returned (see above).")
define("EXT073", "error", "an output could not be written (see above); run again once it is fixed.")
define("EXT075", "error", "another caseaudit run holds the register.")
define("RUN007", "info", "No files in the {inbox} inbox.")
# The demo's own lines.
define(
    "RUN020",
    "info",
    "{label}: {allocated} audits allocated, {completed} completed on time, {alerts} safeguarding alert(s); "
    "month-end run: {outcome}.",
)
define("RUN021", "info", "The latest month, {label}:")
define("RUN022", "info", "  {what:<20} {path}")
define(
    "RUN023",
    "info",
    "  Headline: {completed} of {allocated} audits completed on time; {gob} of {graded} graded good or better "
    "({gob_rate}); {alerts} safeguarding alert(s); {overdue} action(s) overdue.",
)
define("RUN024", "info", "Every month up to {month} was already played in {folder}.")
# Issue 25: CPU seconds (user and system, the worker processes included) vary less than wall time on a shared machine.
define("RUN025", "info", "Demo working folder: {folder} (played in {seconds} s, {cpu} s of CPU).")
define("RUN026", "info", "Not in this version yet, so not played: {stages} (the demo skips those stages).")
# The month-end run's outcome on the demo's month line: the exit meanings say "see above", and the demo prints no
# step's lines above it.
define("RUN027", "info", "all well")
define("RUN028", "info", "some forms were returned or rejected (the demo plants a few each month, as in real life)")
# Tables read where they now are (issue 18, item 6): a table is found by its defined name or its header row, and
# anything typed in its columns below it (or in rows added outside it) is named, never silently dropped.
define(
    "IN026",
    "error",
    "The table on sheet '{sheet}' cannot be found: its header row ({headers}) is not on the sheet, so its rows "
    "cannot be read.",
    "Ask the sender to put the header row back as it was (or to copy their answers into a new copy of the form), "
    "and send it again.",
)
define(
    "V040",
    "error",
    "Cell {cell} on the '{sheet}' sheet has something in it, but it is outside the {table} table (below it, or in "
    "a row added to the sheet), so it was not read.",
    "Move it into an empty row of the table and clear {cell}; if the table has no empty row left, ask the QA team "
    "how to record the rest.",
)
define(
    "MOD115",
    "error",
    "Cell {cell} on the '{sheet}' sheet has something in it, but it is outside the {table} table (below it, or in "
    "a row added to the sheet), so it was not read.",
    "Move it into an empty row of the table and clear {cell}; if the table has no empty row left, ask the QA team "
    "how to record the rest.",
)
define(
    "ACT015",
    "error",
    "Cell {cell} on the '{sheet}' sheet has something in it, but it is outside the tracker's table (below it, or in "
    "a row added to the sheet), so it was not read.",
    "Move it into an empty row of the table and clear {cell}; if there is no empty row left, send the tracker with "
    "the rows that fit and ask the QA team to add the rest.",
)
# Issue 22: sending the outbox, report distribution, escalation timescales.
define(
    "CFG040",
    "error",
    "In {path}, the setting '{key}' is {found}: {what}.",
    "Set [mail] host to your mail server (IT will know it), max_per_minute to 1 or more, and password_env to the "
    "NAME of an environment variable holding the password (e.g. CASEAUDIT_MAIL_PASSWORD); or set send = false to "
    "keep making drafts only.",
)
define(
    "CFG041",
    "error",
    "In {path}, '{key}' is not a document caseaudit can send, or its list holds something other than text.",
    'Use only {kinds}, each a list of roster roles or Staff IDs in quotes, e.g. ["Head of Service"].',
)
define("MAIL003", "info", "Sent {sent} notice(s) ({alerts} safeguarding alert(s) among them).")
define(
    "MAIL004",
    "warning",
    "Deferred: {file} to {to}: the server said to try later ({reply}). It is tried again on the next 'caseaudit send'.",
)
define(
    "MAIL005",
    "warning",
    "Failed: {file} to {to}: the server refused it ({reply}).",
    "Check the address in the roster; the draft stays in the outbox folder to send by hand.",
)
define(
    "MAIL006",
    "warning",
    "Not known whether it went: {file} to {to}. {reply}. It is not sent again.",
    "Ask the recipient, or check the mail server's sent log; if it did not arrive, send the .eml by hand.",
)
define(
    "MAIL007",
    "info",
    "Sending is off ([mail] send = false): {count} notice(s) wait as drafts in the outbox (see outbox.csv). Send "
    "them by hand, or set [mail] send = true and the server's details in caseaudit.toml.",
)
define("MAIL008", "info", "Would send {count} notice(s), in this order (nothing was sent: --dry-run):")
define("MAIL009", "info", "  {n}. {kind}: {month}/{file} to {to} (made {made_at})")
define("MAIL010", "info", "Nothing to send: every notice in the outbox has gone.")
define("MAIL011", "error", "SAFEGUARDING ALERT NOT SENT: {month}/{file} to {to} (made {made_at}). Send it by hand now.")
define("MAIL012", "warning", "the draft {file} is missing, so it could not be sent")
define(
    "MAIL013",
    "warning",
    "Sending began at {attempted_at} but the program stopped before the server answered",
)
define("MAIL015", "info", "{count} notice(s) not sent this run (still waiting in the outbox).")
define("MAIL016", "info", "URGENT safeguarding alert")
define(
    "MOD040",
    "info",
    "Open escalations at {today} (any month's audits; each due {days} working days after it was raised): {count}.",
)
define(
    "MOD041",
    "info",
    "  Open escalation {escalation_id}: {kind}, audit {audit}, with {to}; raised {raised}, {age} day(s) ago; due "
    "{due}{overdue}. Record the outcome with --resolve {escalation_id} --note TEXT.",
)
define("MOD042", "info", " (OVERDUE)")
define("MOD043", "info", "Escalation reminders made for the Head(s) of Service: {count}.")
define("MOD044", "info", "No open escalations (any month's audits).")
define("REP040", "info", "Reports to go by mail, as notices in the outbox: {parts} ('caseaudit send' sends them).")
define(
    "REP041",
    "warning",
    "Nobody in the roster matches {who} for the {kind} ([reports] distribution), so it was not sent to them.",
    "Correct the role or Staff ID in [reports] distribution, or the roster.",
)
define("RUN030", "info", "Notices that would have been sent by mail ([mail] send = false in the demo): {count}.")
