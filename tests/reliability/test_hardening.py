"""Hardening (issue 18): what a hostile-input and fault review broke, each with a regression test that failed
before its fix. Real files and real processes (``relkit.caseaudit`` runs the command line as a child)."""

from __future__ import annotations

import dataclasses
import email
import os
import sqlite3
from datetime import date
from email import policy
from pathlib import Path

import pytest
from formkit import good_answers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prepared import Templates
from relkit import caseaudit, fill, real_month

from caseaudit_batch import session
from caseaudit_batch.allocation import workspace as setup
from caseaudit_batch.core.addresses import AddressError, is_one_address, is_plain_text, parse_address, parse_mailbox
from caseaudit_batch.core.notify import Notice, build_eml
from caseaudit_batch.demo import player as demo
from caseaudit_batch.demo import synthetic

INJECTED = "sw@demoshire.example\r\nBcc: someone@elsewhere.example"


def _emls(folder: Path) -> list[Path]:
    return sorted((folder / "output").rglob("*.eml"))


def _no_injected_header(path: Path) -> None:
    data = path.read_bytes()
    parsed = email.message_from_bytes(data, policy=policy.default)
    assert parsed["Bcc"] is None, path.name
    assert b"elsewhere.example" not in data.split(b"\r\n\r\n", 1)[0], path.name


# --- 1. E-mail header injection -----------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize(
    "bad",
    [INJECTED, "a@demoshire.example, b@demoshire.example", "Sam Worker <sam@demoshire.example>", "a@x.org\nBcc: b@y"],
    ids=["crlf-bcc", "comma-list", "display-name", "lf-bcc"],
)
def test_the_roster_check_refuses_anything_but_one_plain_address(tmp_path: Path, bad: str) -> None:
    folder = tmp_path / "qa"
    setup.init_workspace(folder, organisation="Reliability Council")
    authority = synthetic.make_authority(6, today=date(2026, 9, 1))
    authority.people[0] = dataclasses.replace(authority.people[0], email=bad)
    demo.write_synthetic_authority(folder, authority)
    done = caseaudit(folder / "caseaudit.toml", "allocate", "--month", "2026-09", today="2026-09-01")
    said = done.stdout + done.stderr
    # Not one plain address (AL010), or a line break in the cell (AL045): refused with the cell either way.
    assert done.returncode != 0 and ("AL010" in said or "AL045" in said), said
    assert "AL004" not in said  # a refused address is not also reported as missing
    assert "Traceback" not in said
    assert "\\r\\n" in said or "\r" not in bad  # a line break is shown as an escape, on one line
    assert not _emls(folder)  # nothing was allocated or sent


@pytest.mark.slow
def test_every_notice_header_comes_from_parsed_addresses(tmp_path: Path, templates: Templates) -> None:
    """An address that reached the register before the roster check refused it (an older version's register)
    never becomes a header of its own: the URGENT alert and the shared audit leave it out."""
    config, forms = real_month(tmp_path / "qa", auditors=4, templates=templates)
    with sqlite3.connect(config.parent / "caseaudit.sqlite") as conn:
        conn.execute("UPDATE staff SET email = ?", (INJECTED,))
    ctx = session.open_context(config, "2026-09-01")
    answers = dict(good_answers(ctx.framework), safeguarding_concern="Yes", safeguarding_detail="Synthetic concern.")
    ctx.close()
    inbox = config.parent / "inbox" / "audits"
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / forms[0].name).write_bytes(fill(forms[0], answers))
    done = caseaudit(config, "ingest", "--month", "2026-09")
    assert done.returncode in (0, 65), done.stderr
    alerts = sorted((config.parent / "output").rglob("URGENT-safeguarding-*.eml"))
    assert alerts, done.stdout
    for path in _emls(config.parent):
        _no_injected_header(path)


def test_the_mime_builder_never_writes_a_header_from_raw_text() -> None:
    notice = Notice("alert", [INJECTED, "ok@x.org"], "Subject\r\nBcc: evil@elsewhere.example", "body", cc=[INJECTED])
    data = build_eml(notice, "QA Team <qa@x.org>", "2026-09-01T09:00:00+01:00")
    parsed = email.message_from_bytes(data, policy=policy.default)
    assert parsed["Bcc"] is None and parsed["To"] == "ok@x.org" and parsed["Cc"] in (None, "")
    assert parsed["From"] == "QA Team <qa@x.org>"


@pytest.mark.parametrize("text", ["a@x.org", "first.last@authority.gov.uk"])
def test_one_plain_address_passes(text: str) -> None:
    assert is_one_address(text) and str(parse_address(text)) == text


@pytest.mark.parametrize(
    "text", ["", " ", "a@x.org\r\n", "a@x.org;b@y.org", "Name <a@x.org>", "no-at-sign", "a@", "\x00"]
)
def test_anything_else_fails(text: str) -> None:
    assert not is_one_address(text)


def test_a_sender_may_carry_a_display_name_but_not_a_list() -> None:
    assert parse_mailbox("QA Team <qa@x.org>").display_name == "QA Team"
    with pytest.raises(AddressError):
        parse_mailbox("qa@x.org, b@x.org")


# --- 3. A missing or emptied register is never silently recreated ---------------------------------------------
@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory, templates: Templates) -> Path:
    """A working folder allocated for September 2026 by the real command (copied by each test that changes it)."""
    config, _forms = real_month(tmp_path_factory.mktemp("allocated") / "qa", auditors=4, templates=templates)
    return config.parent


def _copy(folder: Path, tmp_path: Path) -> Path:
    import shutil

    target = tmp_path / "qa"
    shutil.copytree(folder, target)
    return target / "caseaudit.toml"


def _damage(register: Path, how: str) -> None:
    for extra in register.parent.glob(register.name + "-*"):  # the WAL and shared-memory files go with it
        extra.unlink()
    if how == "deleted":
        register.unlink()
    elif how == "emptied":
        register.write_bytes(b"")
    elif how == "not a database":
        register.write_bytes(b"Case reference,Team\r\nCR1,Team 1\r\n" * 200)
    elif how == "corrupt pages":
        data = bytearray(register.read_bytes())
        page = int.from_bytes(data[16:18], "big") or 65536
        for start in range(page, len(data), page):  # every page after the first: headers and cells overwritten
            data[start : start + 64] = b"\xff" * 64
        register.write_bytes(bytes(data))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("how", "code", "command"),
    [
        ("deleted", "REG004", ("report", "--month", "2026-09")),
        ("deleted", "REG004", ("ingest",)),
        ("deleted", "REG004", ("run", "--month", "2026-09")),
        ("emptied", "REG005", ("report", "--month", "2026-09")),
        ("not a database", "REG006", ("ingest",)),
        ("corrupt pages", "REG007", ("run", "--month", "2026-09")),
    ],
)
def test_a_missing_empty_or_foreign_register_is_refused_not_recreated(
    month: Path, tmp_path: Path, how: str, code: str, command: tuple[str, ...]
) -> None:
    config = _copy(month, tmp_path)
    register = config.parent / "caseaudit.sqlite"
    _damage(register, how)
    before = sorted(p.relative_to(config.parent) for p in (config.parent / "output").rglob("*") if p.is_file())
    done = caseaudit(config, *command)
    said = done.stdout + done.stderr
    assert done.returncode == 2, said
    assert f"[{code}]" in said and "Traceback" not in said and "CLI001" not in said, said
    after = sorted(p.relative_to(config.parent) for p in (config.parent / "output").rglob("*") if p.is_file())
    assert [p for p in after if p.parts[0] != "logs"] == [p for p in before if p.parts[0] != "logs"]
    if how == "deleted":
        assert not register.exists()  # not made again, empty, by the command that found it gone


# --- 11. Smaller faults -------------------------------------------------------------------------------------
@pytest.mark.slow
def test_the_run_log_records_each_commands_exit_code(month: Path, tmp_path: Path) -> None:
    config = _copy(month, tmp_path)
    done = caseaudit(config, "report", "--month", "2026-09")
    assert done.returncode == 0, done.stderr
    refused = caseaudit(config, "report", "--month", "2026-13")
    assert refused.returncode == 2
    with sqlite3.connect(config.parent / "caseaudit.sqlite") as conn:
        rows = conn.execute("SELECT command, exit_code FROM run_log ORDER BY id").fetchall()
    assert rows[0][0] == "allocate" and rows[0][1] in (0, 65)  # made by real_month's allocate
    assert rows[-1] == ("report", 0)
    assert all(code is not None for _command, code in rows)


@pytest.mark.parametrize("given", ["0001-01", "1999-12", "2100-01"])
def test_a_month_outside_2000_to_2099_is_a_usage_error(tmp_path: Path, given: str) -> None:
    from caseaudit_batch import cli

    code = cli.main(["report", "--month", given, "--config", str(tmp_path / "missing.toml")])
    assert code == 2


def test_outbox_csv_keeps_formula_text_as_text(tmp_path: Path) -> None:
    from caseaudit_batch.core.notify import Outbox
    from caseaudit_batch.core.outputs import Staging

    outbox = Outbox(tmp_path)
    notice = Notice("allocation", ["a@x.org"], '=HYPERLINK("http://example.invalid")', "body", cc=["+b@x.org"])
    outbox.add("2026-09", notice, tmp_path / "2026-09" / "notices" / "-note.eml", "2026-09-01T09:00:00+01:00")
    staging = Staging(tmp_path, folder_mode=0o770, file_mode=0o660)
    with staging.batch():
        outbox.write(staging)
    staging.publish()
    text = (tmp_path / "2026-09" / "outbox.csv").read_text("utf-8")
    assert "'=HYPERLINK" in text and "'+b@x.org" in text and "'-note.eml" not in text  # path is notices/-note.eml
    assert ",=" not in text and "\n=" not in text


# --- 10. The roster and caseload loader names the cell; it never crashes --------------------------------------
ROSTER_TEXT_FIELDS = ("staff_id", "name", "email", "team", "service", "line_manager_id", "pause_reason")
CASE_TEXT_FIELDS = ("case_ref", "case_type", "service", "team", "social_worker_id", "team_manager_id")
HOSTILE = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"]), max_size=60),  # anything a cell can hold, controls included
    st.sampled_from(["a\r\nb", "a\rb", "a\nb", "\u202eevil", "=cmd|' /C calc'!A0", "x" * 10_000, "../../etc", "\x00"]),
    st.builds(lambda a, b: a + b, st.sampled_from(["\r", "\n", "\t", "\x1b", "\u2028", "\u202e"]), st.text(max_size=8)),
)
PROPERTY = settings(
    max_examples=60, deadline=None, derandomize=bool(os.environ.get("CI")), suppress_health_check=list(HealthCheck)
)


def _authority() -> synthetic.Authority:
    return synthetic.make_authority(6, cases=20, today=date(2026, 9, 1))


def _safe_file_name(name: str) -> bool:
    return "/" not in name and "\\" not in name and is_plain_text(name) and len(name.encode("utf-8")) < 255


@PROPERTY
@given(field=st.sampled_from(ROSTER_TEXT_FIELDS), value=HOSTILE, suffix=st.sampled_from([".csv", ".xlsx"]))
def test_any_text_in_a_roster_field_is_loaded_safely_or_refused_with_its_cell(
    tmp_path_factory: pytest.TempPathFactory, field: str, value: str, suffix: str
) -> None:
    from caseaudit_batch.allocation.roster import InputTableError, load_roster, write_roster
    from caseaudit_batch.workbook import forms

    if suffix == ".xlsx" and not all(ch.isprintable() or ch in " \t\n\r" for ch in value):
        suffix = ".csv"  # an .xlsx cannot carry most control characters (openpyxl refuses them); a CSV can
    authority = _authority()
    person = next(i for i, p in enumerate(authority.people) if p.role == "Team Manager")
    authority.people[person] = dataclasses.replace(authority.people[person], **{field: value})
    path = write_roster(tmp_path_factory.mktemp("roster") / f"roster{suffix}", authority.people)
    try:
        roster = load_roster(path)
    except InputTableError as exc:
        assert exc.problems and all(p.code.startswith("AL") and p.cell for p in exc.problems)
        assert "\n" not in exc.problems[0].message and "\r" not in exc.problems[0].message
        return
    for loaded in roster.people.values():
        for text in (loaded.staff_id, loaded.name, loaded.team or "", loaded.service or ""):
            assert is_plain_text(text) and len(text) <= 100
        assert not loaded.email or is_one_address(loaded.email)
        assert _safe_file_name(forms.form_filename("2026-09", "CR1", loaded.name))


@PROPERTY
@given(field=st.sampled_from(CASE_TEXT_FIELDS), value=HOSTILE)
def test_any_text_in_a_caseload_field_is_loaded_safely_or_refused_with_its_cell(
    tmp_path_factory: pytest.TempPathFactory, field: str, value: str
) -> None:
    from caseaudit_batch.allocation.roster import (
        InputTableError,
        load_caseload,
        load_roster,
        write_caseload,
        write_roster,
    )
    from caseaudit_batch.workbook import forms

    authority = _authority()
    folder = tmp_path_factory.mktemp("caseload")
    roster = load_roster(write_roster(folder / "roster.csv", authority.people))
    authority.cases[0] = dataclasses.replace(authority.cases[0], **{field: value})
    try:
        caseload = load_caseload(write_caseload(folder / "caseload.csv", authority.cases), roster)
    except InputTableError as exc:
        assert exc.problems and all(p.code.startswith("AL") and p.cell for p in exc.problems)
        return
    for case in caseload.cases:
        assert is_plain_text(case.case_ref) and len(case.case_ref) <= 40
        assert _safe_file_name(forms.form_filename("2026-09", case.case_ref, "Sam Smith"))


CONFIG_TEXT_KEYS = (
    ("organisation", "name"),
    ("notices", "sender"),
    ("people", "qa_officer"),
    ("people", "hos_quality_assurance"),
    ("register", "database"),
    ("folders", "output"),
    ("forms", "protection_password"),
)


@PROPERTY
@given(key=st.sampled_from(CONFIG_TEXT_KEYS), value=HOSTILE)
def test_any_text_in_a_config_field_loads_or_is_a_configuration_error(
    tmp_path_factory: pytest.TempPathFactory, key: tuple[str, str], value: str
) -> None:
    import json

    from caseaudit_batch.core.config import load_config
    from caseaudit_batch.core.errors import ConfigError

    folder = tmp_path_factory.mktemp("config")
    section, name = key
    path = folder / "caseaudit.toml"
    path.write_text(f"[{section}]\n{name} = {json.dumps(value)}\n", "utf-8")
    try:
        config = load_config(path)
    except ConfigError as exc:
        assert exc.code.startswith("CFG") and exc.exit_code == 2
        return
    assert is_plain_text(str(config.data[section][name]))  # nothing that could break a footer, file name or header
    if key == ("notices", "sender") and value.strip():
        assert is_one_address(config.notices.sender.rpartition("<")[2].rstrip(">"))


# --- 8. The output folder's own mode is the owner's ----------------------------------------------------------
@pytest.mark.slow
def test_an_existing_output_folder_keeps_its_mode_and_setgid(month: Path, tmp_path: Path) -> None:
    import stat

    config = _copy(month, tmp_path)
    shared = tmp_path / "shared-output"
    shared.mkdir()
    os.chmod(shared, 0o2775)  # a group share: setgid, readable by the group, as IT set it
    text = config.read_text("utf-8").replace('output = "output"', f'output = "{shared}"')
    config.write_text(text, "utf-8")
    done = caseaudit(config, "report", "--month", "2026-09")
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(shared.stat().st_mode) == 0o2775  # not forced to 0770, setgid kept
    made = shared / "2026-09"
    # What caseaudit made has the configured mode, keeping the setgid bit the share passed down.
    assert made.is_dir() and stat.S_IMODE(made.stat().st_mode) == 0o2770


# --- 2. A file name that is not valid text; 11. links and pipes in an inbox ------------------------------------
@pytest.mark.slow
def test_a_non_utf8_file_name_is_rejected_alone_and_the_alerts_still_come(tmp_path: Path, templates: Templates) -> None:
    from relkit import manifest, manifests

    config, forms = real_month(tmp_path / "qa", auditors=4, templates=templates)
    ctx = session.open_context(config, "2026-09-01")
    answers = dict(good_answers(ctx.framework), safeguarding_concern="Yes", safeguarding_detail="Synthetic concern.")
    ctx.close()
    inbox = config.parent / "inbox" / "audits"
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / forms[0].name).write_bytes(fill(forms[0], answers))
    windows_name = os.fsdecode(b"R\x82sum\x82.xlsx")  # as a zip made on Windows unpacks here
    (inbox / windows_name).write_bytes(fill(forms[1], good_answers_for(config)))
    (inbox / "link.xlsx").symlink_to(tmp_path / "outside.xlsx")
    os.mkfifo(inbox / "pipe.xlsx")
    done = caseaudit(config, "ingest", "--month", "2026-09")
    said = done.stdout + done.stderr
    assert done.returncode == 65, said  # a new file was rejected; nothing stopped the batch
    assert "Traceback" not in said and "CLI001" not in said
    assert sorted((config.parent / "output").rglob("URGENT-safeguarding-*.eml")), said  # the alert still came
    rows = {row["file"]: row for row in manifest(manifests(config)[-1])}
    assert rows["R\\x82sum\\x82.xlsx"]["outcome"] == "rejected" and "IN019" in rows["R\\x82sum\\x82.xlsx"]["codes"]
    assert (rows["link.xlsx"]["outcome"], rows["link.xlsx"]["codes"]) == ("ignored", "IN017")
    assert (rows["pipe.xlsx"]["outcome"], rows["pipe.xlsx"]["codes"]) == ("ignored", "IN018")
    again = caseaudit(config, "ingest", "--month", "2026-09")
    assert again.returncode == 0, again.stdout + again.stderr  # unchanged files: already seen, nothing new


def good_answers_for(config: Path) -> dict:
    ctx = session.open_context(config, "2026-09-01")
    try:
        return dict(good_answers(ctx.framework))
    finally:
        ctx.close()


# --- 12. A rule that crashes is contained ----------------------------------------------------------------------
@pytest.mark.slow
def test_a_crashing_rule_returns_the_form_with_its_own_code_and_the_rest_still_runs(
    tmp_path: Path, templates: Templates
) -> None:
    from relkit import manifest, manifests

    config, forms = real_month(tmp_path / "qa", auditors=4, templates=templates)
    secret = "SYNTHETIC-FORM-TEXT-42"
    answers = dict(good_answers_for(config), safeguarding_concern="Yes", safeguarding_detail=f"{secret} concern.")
    answers["s3_grade"] = None  # a real error the other rules must still find (V001, a missing grade)
    inbox = config.parent / "inbox" / "audits"
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / forms[0].name).write_bytes(fill(forms[0], answers))
    (inbox / forms[1].name).write_bytes(fill(forms[1], good_answers_for(config)))
    done = caseaudit(config, "ingest", "--month", "2026-09", hook=f"rule:V003:{secret} in a rule's error")
    said = done.stdout + done.stderr
    assert done.returncode == 65, said
    rows = {row["file"]: row for row in manifest(manifests(config)[-1])}
    first, second = rows[forms[0].name], rows[forms[1].name]
    assert first["outcome"] == "returned" and {"IN091", "V001"} <= set(first["codes"].split(";")), first
    assert second["outcome"] == "returned" and second["codes"] == "IN091"  # never accepted while a check is broken
    assert "IN090" not in said  # not the whole file's internal error: the rule's own
    assert sorted((config.parent / "output").rglob("URGENT-safeguarding-*.eml")), "the concern still raised its alert"
    logs = list((config.parent / "output" / "logs").glob("*.log"))
    assert any(b"rule V003 raised an internal error" in p.read_bytes() for p in logs)
    assert all(secret.encode() not in p.read_bytes() for p in logs)  # the log names the rule, never form text


# --- 9. Strict Open XML gets every guard; a reader's panic never reaches the terminal ---------------------------
_TRANSITIONAL = (
    (b"http://schemas.openxmlformats.org/spreadsheetml/2006/main", b"http://purl.oclc.org/ooxml/spreadsheetml/main"),
    (
        b"http://schemas.openxmlformats.org/officeDocument/2006/relationships",
        b"http://purl.oclc.org/ooxml/officeDocument/relationships",
    ),
)


def _strict(data: bytes, extra_rows: bytes = b"") -> bytes:
    """The form saved as Strict Open XML: the workbook and sheets in Strict's namespaces (package parts unchanged),
    with ``extra_rows`` added to the first sheet."""
    import io
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            part = source.read(info)
            if info.filename.startswith("xl/") and info.filename.endswith(".xml") and "_rels" not in info.filename:
                for old, new in _TRANSITIONAL:
                    part = part.replace(old, new)
            if info.filename == "xl/worksheets/sheet1.xml" and extra_rows:
                part = part.replace(b"</sheetData>", extra_rows + b"</sheetData>")
            target.writestr(info, part)
    return out.getvalue()


def _many_cells(first_row: int, rows: int) -> bytes:
    return b"".join(
        b'<row r="%d">' % r
        + b"".join(b'<c r="%s%d"><v>1</v></c>' % (c, r) for c in (b"A", b"B", b"C", b"D"))
        + b"</row>"
        for r in range(first_row, first_row + rows)
    )


@pytest.mark.slow
def test_strict_open_xml_forms_meet_the_same_guards(tmp_path: Path, templates: Templates) -> None:
    from relkit import manifest, manifests

    config, forms = real_month(tmp_path / "qa", auditors=4, templates=templates)
    answers = good_answers_for(config)
    inbox = config.parent / "inbox" / "audits"
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "huge.xlsx").write_bytes(_strict(fill(forms[0], answers), _many_cells(5000, 100_000)))
    (inbox / "minus.xlsx").write_bytes(_strict(fill(forms[1], dict(answers, date_completed=-1e300))))
    done = caseaudit(config, "ingest", "--month", "2026-09")
    said = done.stdout + done.stderr
    assert done.returncode == 65 and "panicked" not in said and "Traceback" not in said, said
    rows = {row["file"]: row for row in manifest(manifests(config)[-1])}
    assert (rows["huge.xlsx"]["outcome"], rows["huge.xlsx"]["codes"]) == ("rejected", "IN011")
    assert (rows["minus.xlsx"]["outcome"], rows["minus.xlsx"]["codes"]) == ("rejected", "IN016")


@pytest.mark.slow
def test_nothing_from_a_readers_panic_reaches_the_terminal(tmp_path: Path, templates: Templates) -> None:
    """With the number guard off, python-calamine panics on the value; its Rust message never shows."""
    config, forms = real_month(tmp_path / "qa", auditors=4, templates=templates)
    inbox = config.parent / "inbox" / "audits"
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "minus.xlsx").write_bytes(fill(forms[1], dict(good_answers_for(config), date_completed=-1e300)))
    done = caseaudit(config, "ingest", "--month", "2026-09", hook="noguard:")
    said = done.stdout + done.stderr
    assert done.returncode == 65, said
    assert "panicked" not in said and "RUST_BACKTRACE" not in said and "Traceback" not in said, said


# --- 4. Safeguarding alerts committed but never shown ---------------------------------------------------------
@pytest.mark.slow
def test_an_alert_whose_outputs_failed_is_shown_until_qa_acknowledges_it(tmp_path: Path, templates: Templates) -> None:
    config, forms = real_month(tmp_path / "qa", auditors=4, templates=templates)
    answers = dict(good_answers_for(config), safeguarding_concern="Yes", safeguarding_detail="Synthetic concern.")
    inbox = config.parent / "inbox" / "audits"
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / forms[0].name).write_bytes(fill(forms[0], answers))
    case_ref = forms[0].stem.split("_")[1]
    # The register commits the alert, then no output can be put in place (a read-only output folder).
    failed = caseaudit(config, "ingest", "--month", "2026-09", hook="oserror:EROFS:any")
    said = failed.stdout + failed.stderr
    assert failed.returncode == 73, said
    assert "[ALR001]" in said and f"Alert 1: case {case_ref}" in said, said  # shown, though its files were not made
    published = [p for p in (config.parent / "output").rglob("URGENT-safeguarding-*") if ".staging" not in p.parts]
    assert not published  # staged, not in place
    # The next command that writes says it first again, and makes the outputs that failed.
    again = caseaudit(config, "ingest", "--month", "2026-09")
    assert again.returncode == 0 and again.stderr.lstrip("! ").startswith("[ALR001]"), again.stderr
    assert sorted((config.parent / "output").rglob("URGENT-safeguarding-*.eml"))
    listed = caseaudit(config, "alerts")
    assert (
        listed.returncode == 0 and f"Alert 1: case {case_ref}" in listed.stdout and "raised 2026-09-25" in listed.stdout
    )
    note = "Synthetic note: phoned the team manager"
    assert caseaudit(config, "alerts", "--ack", "1").returncode == 2  # a note is needed
    done = caseaudit(config, "alerts", "--ack", "1", "--note", note)
    assert done.returncode == 0 and "acknowledged" in done.stdout, done.stdout + done.stderr
    assert caseaudit(config, "alerts", "--ack", "1", "--note", note).returncode == 2  # once only
    assert (
        "[ALR003]" not in caseaudit(config, "alerts").stdout
        and "No safeguarding alerts wait" in caseaudit(config, "alerts").stdout
    )
    quiet = caseaudit(config, "ingest", "--month", "2026-09")
    assert "[ALR001]" not in quiet.stdout + quiet.stderr
    with sqlite3.connect(config.parent / "caseaudit.sqlite") as conn:
        kept = conn.execute("SELECT acknowledged_by, ack_note, acknowledged_at FROM alerts").fetchall()
    assert kept[0][1] == note and kept[0][0] and kept[0][2]
    logs = list((config.parent / "output" / "logs").glob("*.log"))
    assert logs and all(note.encode() not in p.read_bytes() for p in logs)  # the note is never logged
