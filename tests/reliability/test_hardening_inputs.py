"""Hardening (issue 18), hostile inputs: file names that are not text, Strict Open XML and reader panics, a crashing
rule, and any text in a roster, caseload or configuration field. Real files and processes; each test failed before
its fix."""

from __future__ import annotations

import dataclasses
import os
from datetime import date
from pathlib import Path

import pytest
from formkit import good_answers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prepared import Templates
from relkit import caseaudit, fill, good_answers_for, real_month

from caseaudit_batch import session
from caseaudit_batch.core.addresses import is_one_address, is_plain_text
from caseaudit_batch.demo import synthetic

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
        assert _safe_file_name(forms.form_filename("2026-09", "2026-09-0001", "CR1", loaded.name))


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
        assert _safe_file_name(forms.form_filename("2026-09", "2026-09-0001", case.case_ref, "Sam Smith"))


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
    assert sorted((config.parent / "output").rglob("*URGENT-safeguarding*.eml")), said  # the alert still came
    rows = {row["file"]: row for row in manifest(manifests(config)[-1])}
    assert rows["R\\x82sum\\x82.xlsx"]["outcome"] == "rejected" and "IN019" in rows["R\\x82sum\\x82.xlsx"]["codes"]
    assert (rows["link.xlsx"]["outcome"], rows["link.xlsx"]["codes"]) == ("ignored", "IN017")
    assert (rows["pipe.xlsx"]["outcome"], rows["pipe.xlsx"]["codes"]) == ("ignored", "IN018")
    again = caseaudit(config, "ingest", "--month", "2026-09")
    assert again.returncode == 0, again.stdout + again.stderr  # unchanged files: already seen, nothing new


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
    assert sorted((config.parent / "output").rglob("*URGENT-safeguarding*.eml")), "the concern still raised its alert"
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
