"""Hardening (issue 18): what a hostile-input and fault review broke, each with a regression test that failed
before its fix. Real files and real processes (``relkit.caseaudit`` runs the command line as a child). Mail headers,
the register, smaller faults and folder modes; inputs in ``test_hardening_inputs.py``, alerts in
``test_hardening_alerts.py``."""

from __future__ import annotations

import dataclasses
import email
import os
from datetime import date
from email import policy
from pathlib import Path

import pgkit
import pytest
from formkit import good_answers, set_sender
from prepared import Templates
from relkit import caseaudit, fill, query, real_month

from caseaudit_batch import session
from caseaudit_batch.allocation import workspace as setup
from caseaudit_batch.core.addresses import AddressError, is_one_address, parse_address, parse_mailbox
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
    set_sender(folder)
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
    query(config, "UPDATE staff SET email = :email", email=INJECTED)
    ctx = session.open_context(config, "2026-09-01")
    answers = dict(good_answers(ctx.framework), safeguarding_concern="Yes", safeguarding_detail="Synthetic concern.")
    ctx.close()
    inbox = config.parent / "inbox" / "audits"
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / forms[0].name).write_bytes(fill(forms[0], answers))
    done = caseaudit(config, "ingest", "--month", "2026-09")
    assert done.returncode in (0, 65), done.stderr
    alerts = sorted((config.parent / "output").rglob("*URGENT-safeguarding*.eml"))
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
def month(tmp_path_factory: pytest.TempPathFactory, templates: Templates, register_backend: str) -> Path:
    """A working folder allocated for September 2026 by the real command (copied by each test that changes it)."""
    config, _forms = real_month(tmp_path_factory.mktemp("allocated") / "qa", auditors=4, templates=templates)
    return config.parent


def _copy(folder: Path, tmp_path: Path) -> Path:
    return pgkit.copy_folder(folder, tmp_path / "qa") / "caseaudit.toml"


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
@pytest.mark.sqlite_only  # it damages the SQLite file itself
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
    rows = query(config, "SELECT command, exit_code FROM run_log ORDER BY id")
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
