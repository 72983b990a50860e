"""The command line: every command has help text and appears in the commands reference; errors are plain sentences."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from caseaudit_batch import cli

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text("utf-8")
COMMANDS_PAGE = (ROOT / "docs" / "reference" / "commands.md").read_text("utf-8")
CONTRACT_COMMANDS = {
    "init",
    "allocate",
    "remind",
    "ingest",
    "check",
    "moderate",
    "actions",
    "report",
    "run",
    "demo",
    "purge",
    "alerts",  # issue 18: caseaudit alerts [--ack N --note TEXT]
    "send",  # issue 22: caseaudit send [--dry-run]
}


def test_every_contract_command_exists() -> None:
    assert set(cli.COMMANDS) == CONTRACT_COMMANDS


@pytest.mark.parametrize("command", sorted(CONTRACT_COMMANDS))
def test_every_command_has_help_and_is_in_the_commands_reference(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main([command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert cli.COMMANDS[command] in " ".join(out.split())
    assert "--today" in out
    assert re.search(rf"^### `{command}`$", COMMANDS_PAGE, re.MULTILINE), f"{command} missing from the commands page"
    assert re.search(rf"`caseaudit {command}\b", README), f"{command} missing from the README's monthly cycle"


def test_readme_shows_both_make_commands() -> None:
    assert "make demo" in README and "make test" in README


def test_init_then_bad_month_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["init", str(tmp_path / "qa")]) == 0
    assert (tmp_path / "qa" / "caseaudit.toml").exists()
    assert (tmp_path / "qa" / "inbox" / "moderation").is_dir()
    assert cli.main(["init", str(tmp_path / "qa")]) == 2  # refuses to overwrite
    assert "already holds a caseaudit working folder" in capsys.readouterr().err


def test_bad_today_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["demo", "--dir", str(tmp_path / "d"), "--today", "31/09/2026"]) == 2
    assert "Write the date as YYYY-MM-DD" in capsys.readouterr().err


def test_internal_error_is_one_sentence_and_a_log(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = f"SECRET-{uuid.uuid4().hex}"

    def explode(_args: object) -> None:
        raise ValueError(secret)

    monkeypatch.setitem(cli.HANDLERS, "init", explode)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["init", "x"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and secret not in err
    log_path = Path(err.split("log file ")[1].split(" to your")[0])
    log_text = log_path.read_text("utf-8")
    assert "ValueError" in log_text and secret not in log_text


def test_run_monthly_is_the_same_cli() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "run_monthly.py"), "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "caseaudit" in out and "allocate" in out
