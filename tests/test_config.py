from __future__ import annotations

from pathlib import Path

import pytest

from caseaudit_batch.core.config import load_config
from caseaudit_batch.core.errors import ConfigError


def test_init_config_loads_with_defaults(workspace: Path) -> None:
    config = load_config(workspace / "caseaudit.toml")
    assert config.organisation == "Testshire Council"
    assert config.inbox("audits") == workspace / "inbox" / "audits"
    assert config.database_url == f"sqlite:///{workspace / 'caseaudit.sqlite'}"
    assert config.data["reminders"]["lead_days"] == 7
    assert config.data["moderation"]["sample_share"] == 0.25


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "caseaudit.toml"
    path.write_text(text, "utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "code", "fragment"),
    [
        ("[moderation]\nsample_share = 1.5\n", "CFG003", "'moderation.sample_share'"),
        ("[moderation]\nsample_share = 'a quarter'\n", "CFG003", "should be a number"),
        ("[reminders]\nlead_dayz = 7\n", "CFG003", "no such setting"),
        ("[register\n", "CFG002", "not valid TOML"),
        ("[allocation]\nsenior_conflict = 'team'\n", "CFG003", '"service" or "none"'),
        ("[privacy]\nnames = 'maybe'\n", "CFG003", "'privacy.names'"),
        ("[privacy]\nallowed_words = 'Will'\n", "CFG003", "privacy.allowed_words"),
        ("[folders]\nfile_mode = 'rw'\n", "CFG003", "octal mode"),
        # Issue 22: [mail], [reports.distribution], [moderation] escalation_working_days.
        ("[mail]\nsecurity = 'tls'\n", "CFG003", '"starttls", "ssl" or "none"'),
        ("[mail]\nsend = true\n", "CFG040", "no server is named"),
        ("[mail]\nmax_per_minute = 0\n", "CFG040", "'mail.max_per_minute'"),
        ("[mail]\npassword_env = 'hunter2!'\n", "CFG040", "NAME of an environment variable"),
        ("[mail]\nport = 'smtp'\n", "CFG003", "should be a whole number"),
        ("[reports.distribution]\nboard = ['Head of Service']\n", "CFG003", "reports.distribution.board"),
        ("[reports.distribution]\nexcel_report = [1001]\n", "CFG041", "reports.distribution.excel_report"),
        ("[moderation]\nescalation_working_days = -1\n", "CFG003", "cannot be negative"),
    ],
)
def test_invalid_config_names_key_and_fix(tmp_path: Path, text: str, code: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, text))
    assert info.value.code == code
    assert fragment in info.value.message


def test_missing_config_says_run_init(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "caseaudit.toml")
    assert "caseaudit init" in info.value.message


def test_integers_are_accepted_for_shares(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, "[moderation]\nsample_share = 1\n"))
    assert config.data["moderation"]["sample_share"] == 1.0


def test_every_section_has_a_typed_view_with_exactly_its_keys() -> None:
    """Stages read ``config.people.moderators``, not ``data["people"]["moderators"]``: each view's fields are the
    shipped template's keys, so a new setting cannot be added without its typed field (issue 16)."""
    import dataclasses
    import tomllib

    from caseaudit_batch.core.config import CONFIG_TEMPLATE, SECTION_VIEWS

    template = tomllib.loads(CONFIG_TEMPLATE.read_text("utf-8"))
    assert set(SECTION_VIEWS) == set(template)
    for section, view in SECTION_VIEWS.items():
        assert {f.name for f in dataclasses.fields(view)} == set(template[section]), section


def test_typed_views_carry_the_checked_values(workspace: Path) -> None:
    path = workspace / "caseaudit.toml"
    text = path.read_text("utf-8").replace("moderators = []", 'moderators = ["S1", "S2"]')
    path.write_text(text.replace("sample_share = 0.25", "sample_share = 1"), "utf-8")
    config = load_config(path)
    assert config.people.moderators == ("S1", "S2")
    assert config.moderation.sample_share == 1.0 and isinstance(config.moderation.sample_share, float)
    assert config.reminders.lead_days == 7
    assert config.organisation == "Testshire Council"


def test_mail_distribution_and_escalation_defaults(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 22's settings: drafts only by default; the password read from the variable named, never the file."""
    config = load_config(workspace / "caseaudit.toml")
    mail = config.mail
    assert (mail.send, mail.port, mail.security, mail.max_per_minute) == (False, 587, "starttls", 60)
    assert config.reports.distribution == {
        "service_pack": ["Head of Service"],
        "main_report": ["Head of Service"],
        "learning_themes": ["Principal Social Worker"],
        "excel_report": ["qa_officer"],
        "committee": [],
    }
    assert config.moderation.escalation_working_days == 10
    path = workspace / "caseaudit.toml"
    text = path.read_text("utf-8").replace('password_env = ""', 'password_env = "CASEAUDIT_MAIL_PASSWORD"')
    path.write_text(text.replace('host = ""', 'host = "smtp.authority.example"').replace("send = false", "send = true"))
    monkeypatch.setenv("CASEAUDIT_MAIL_PASSWORD", "synthetic-secret")
    mail = load_config(path).mail
    assert (mail.send, mail.host, mail.password()) == (True, "smtp.authority.example", "synthetic-secret")
    assert "synthetic-secret" not in path.read_text("utf-8")


def test_the_register_password_comes_from_the_environment_never_the_file(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``[register] password_env`` (issue 23): the URL gains the password from the variable it names; a variable not
    set is CFG070; a SQLite register needs none."""
    path = workspace / "caseaudit.toml"
    text = path.read_text("utf-8")
    text = text.replace('database = "sqlite:///caseaudit.sqlite"', 'database = "postgresql+psycopg://qa@db.example/ca"')
    path.write_text(text.replace('password_env = ""', 'password_env = "CA_DB_PW"', 1), "utf-8")
    monkeypatch.delenv("CA_DB_PW", raising=False)
    with pytest.raises(ConfigError) as info:
        load_config(path).database_url  # noqa: B018 - reading it is the act under test
    assert info.value.code == "CFG070"
    monkeypatch.setenv("CA_DB_PW", "synthetic-secret")
    assert load_config(path).database_url == "postgresql+psycopg://qa:synthetic-secret@db.example/ca"
    assert "synthetic-secret" not in path.read_text("utf-8")
