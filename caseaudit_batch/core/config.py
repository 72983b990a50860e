"""``caseaudit.toml``: loading and checking. The shipped template is also the table of defaults."""

from __future__ import annotations

import tomllib
import types
import typing
from dataclasses import dataclass, fields
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from caseaudit_batch.core.addresses import AddressError, is_plain_text, parse_mailbox, shown_text
from caseaudit_batch.core.errors import ConfigError
from caseaudit_batch.core.mail import MailSettings

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "input_templates"
CONFIG_TEMPLATE = TEMPLATES_DIR / "caseaudit.toml"
DEFAULT_CONFIG_NAME = "caseaudit.toml"


def _defaults() -> dict[str, Any]:
    return tomllib.loads(CONFIG_TEMPLATE.read_text("utf-8"))


def _type_name(value: object) -> str:
    return {
        bool: "true or false",
        int: "a whole number",
        float: "a number",
        str: "text in quotes",
        list: "a list in [brackets]",
        dict: "a [section]",
    }.get(type(value), type(value).__name__)


def _check(path: Path, defaults: dict[str, Any], given: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    merged = dict(defaults)
    for key, value in given.items():
        dotted = f"{prefix}{key}"
        if key not in defaults:
            raise ConfigError(
                "CFG003",
                path=str(path),
                key=dotted,
                found=repr(value),
                what="caseaudit has no such setting",
                expected="a setting from the commented defaults (or remove the line)",
            )
        default = defaults[key]
        if isinstance(default, dict):
            if not isinstance(value, dict):
                raise ConfigError(
                    "CFG003",
                    path=str(path),
                    key=dotted,
                    found=repr(value),
                    what="it should be a [section]",
                    expected=f"a [{dotted}] section",
                )
            merged[key] = _check(path, default, value, prefix=f"{dotted}.")
            continue
        ok = isinstance(value, type(default)) and not (isinstance(value, bool) and not isinstance(default, bool))
        if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        if not ok:
            raise ConfigError(
                "CFG003",
                path=str(path),
                key=dotted,
                found=repr(value),
                what=f"it should be {_type_name(default)}",
                expected=_type_name(default),
            )
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(t, str) and not is_plain_text(t) for t in texts):
            # A line break or control character would reach a form's footer, a file name or a mail header.
            raise ConfigError(
                "CFG003",
                path=str(path),
                key=dotted,
                found=shown_text(repr(value)),
                what="it holds a line break or another control character",
                expected="the text on one line, with ordinary characters",
            )
        merged[key] = value
    return merged


# ----------------------------------------------------------------------------------------------------------------
# Typed views of the sections: each stage reads ``config.people.moderators``, never ``data["people"]["..."]``.
# Their fields are the keys of the shipped template's sections, exactly (tests/test_config.py holds them together).
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OrganisationSettings:
    name: str


@dataclass(frozen=True)
class FolderSettings:
    audits_inbox: str
    moderation_inbox: str
    actions_inbox: str
    output: str
    folder_mode: str
    file_mode: str


@dataclass(frozen=True)
class RegisterSettings:
    database: str
    retention_months: int
    purge_archive: str
    password_env: str  # issue 23: the environment variable holding the database password


@dataclass(frozen=True)
class PeopleSettings:
    roster: str
    caseload: str
    hos_quality_assurance: str
    qa_officer: str
    moderators: tuple[str, ...]


@dataclass(frozen=True)
class AllocationSettings:
    auditing_roles: tuple[str, ...]
    senior_conflict: str
    followup_share: float
    followup_after_months: int


@dataclass(frozen=True)
class ReminderSettings:
    lead_days: int
    bank_holidays: str


@dataclass(frozen=True)
class NoticeSettings:
    sender: str
    return_instructions: str


@dataclass(frozen=True)
class TargetSettings:
    good_or_better: float
    inadequate_at_most: float
    ri_or_better: float
    completion: float  # issue 20: audits completed on time
    moderation_agreement: float  # issue 20


@dataclass(frozen=True)
class ReportSettings:
    committee: bool
    restate_margin_points: float  # issue 20: an earlier month's headline is restated beyond this many points
    distribution: dict[str, list[str]]  # issue 22: document kind -> roster roles or Staff IDs


@dataclass(frozen=True)
class MailSettingsView:
    """``[mail]`` as read; ``core.mail.MailSettings`` is what the mailer takes (``Config.mail`` gives that)."""

    send: bool
    host: str
    port: int
    security: str
    username: str
    password_env: str
    max_per_minute: int


@dataclass(frozen=True)
class ModerationSettings:
    always: tuple[str, ...]
    sample_share: float
    seed: str
    due_days: int
    reminder_days_before: int
    escalation_working_days: int  # issue 22


@dataclass(frozen=True)
class ActionSettings:
    green_at_least: float
    amber_at_least: float
    tracker_cycle_days: int  # issue 20: action measures stay provisional this long after the month's end


@dataclass(frozen=True)
class ValidationSettings:
    bland_phrases: tuple[str, ...]
    min_text_length: int
    retelling_max_length: int
    retelling_dated_lines: int
    bland_sections_return: int


@dataclass(frozen=True)
class PrivacySettings:
    names: str  # "warn" | "return": what a likely personal name in typed text is at check and ingest
    extra_names: tuple[str, ...]
    allowed_words: tuple[str, ...]


@dataclass(frozen=True)
class TemplateSettings:
    framework: str
    themes: str
    notices: str
    word_report: str


@dataclass(frozen=True)
class FormSettings:
    protection_password: str


#: Each section of ``caseaudit.toml`` and its typed view.
SECTION_VIEWS: dict[str, type] = {
    "organisation": OrganisationSettings,
    "folders": FolderSettings,
    "register": RegisterSettings,
    "people": PeopleSettings,
    "allocation": AllocationSettings,
    "reminders": ReminderSettings,
    "notices": NoticeSettings,
    "mail": MailSettingsView,
    "targets": TargetSettings,
    "reports": ReportSettings,
    "moderation": ModerationSettings,
    "actions": ActionSettings,
    "validation": ValidationSettings,
    "privacy": PrivacySettings,
    "templates": TemplateSettings,
    "forms": FormSettings,
}

V = TypeVar("V")


def _view(cls: type[V], values: dict[str, Any]) -> V:
    """A section's checked values as its typed view (lists become tuples; whole numbers in a float field, floats)."""
    hints = typing.get_type_hints(cls)
    given = {}
    for item in fields(cls):  # type: ignore[arg-type]
        value = values[item.name]
        kind = hints[item.name]
        if isinstance(kind, types.GenericAlias) and kind.__origin__ is tuple:
            value = tuple(str(v) for v in value)
        elif kind is float:
            value = float(value)
        given[item.name] = value
    return cls(**given)


@dataclass(frozen=True)
class Config:
    """The checked settings; ``root`` is the folder holding the config file (relative paths start there).

    Stages read the typed views (``config.people``, ``config.moderation``, ...); ``data`` keeps the checked
    table as read, for the few places that list every key.
    """

    path: Path
    root: Path
    data: dict[str, Any]

    def _section(self, cls: type[V], name: str) -> V:
        return _view(cls, self.data[name])

    @cached_property
    def folders(self) -> FolderSettings:
        return self._section(FolderSettings, "folders")

    @cached_property
    def register(self) -> RegisterSettings:
        return self._section(RegisterSettings, "register")

    @cached_property
    def people(self) -> PeopleSettings:
        return self._section(PeopleSettings, "people")

    @cached_property
    def allocation(self) -> AllocationSettings:
        return self._section(AllocationSettings, "allocation")

    @cached_property
    def reminders(self) -> ReminderSettings:
        return self._section(ReminderSettings, "reminders")

    @cached_property
    def notices(self) -> NoticeSettings:
        return self._section(NoticeSettings, "notices")

    @cached_property
    def mail(self) -> MailSettings:
        return MailSettings(**vars(self._section(MailSettingsView, "mail")))

    @cached_property
    def targets(self) -> TargetSettings:
        return self._section(TargetSettings, "targets")

    @cached_property
    def reports(self) -> ReportSettings:
        return self._section(ReportSettings, "reports")

    @cached_property
    def moderation(self) -> ModerationSettings:
        return self._section(ModerationSettings, "moderation")

    @cached_property
    def actions(self) -> ActionSettings:
        return self._section(ActionSettings, "actions")

    @cached_property
    def validation(self) -> ValidationSettings:
        return self._section(ValidationSettings, "validation")

    @cached_property
    def privacy(self) -> PrivacySettings:
        return self._section(PrivacySettings, "privacy")

    @cached_property
    def templates(self) -> TemplateSettings:
        return self._section(TemplateSettings, "templates")

    @cached_property
    def forms(self) -> FormSettings:
        return self._section(FormSettings, "forms")

    def resolve(self, value: str) -> Path:
        candidate = Path(value).expanduser()
        return candidate if candidate.is_absolute() else self.root / candidate

    @property
    def organisation(self) -> str:
        """The organisation's name (``[organisation] name``), as forms and reports show it."""
        return self._section(OrganisationSettings, "organisation").name

    @property
    def output_dir(self) -> Path:
        return self.resolve(self.folders.output)

    def inbox(self, kind: str) -> Path:
        """``audits``, ``moderation`` or ``actions``."""
        return self.resolve(getattr(self.folders, f"{kind}_inbox"))

    @property
    def database_url(self) -> str:
        """The register's URL: a relative SQLite path resolved against this file's folder, and the password (if
        ``[register] password_env`` names a variable) taken from the environment, never from this file."""
        url = self.register.database
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            return prefix + str(self.resolve(url[len(prefix) :]))
        if not self.register.password_env:
            return url
        from caseaudit_batch.core.backend import with_password  # SQLAlchemy: only for the commands that need it

        return with_password(url, self.register.password_env, self.path)

    def template(self, key: str, default_name: str) -> Path:
        given = str(getattr(self.templates, key))
        return self.resolve(given) if given else TEMPLATES_DIR / default_name

    def mode(self, key: str) -> int:
        return int(str(getattr(self.folders, key)), 8)


def _parse_mode(path: Path, data: dict[str, Any], key: str) -> None:
    text = str(data["folders"][key])
    try:
        value = int(text, 8)
    except ValueError:
        value = -1
    if not 0 <= value <= 0o777:
        raise ConfigError(
            "CFG003",
            path=str(path),
            key=f"folders.{key}",
            found=repr(text),
            what="it is not a file permission",
            expected='an octal mode such as "0o770"',
        )


#: Keys that take one of a few words: the words, and how the error message states them.
CHOICES: dict[str, tuple[tuple[str, ...], str]] = {
    "allocation.senior_conflict": (("service", "none"), '"service" or "none"'),
    "privacy.names": (("warn", "return"), '"warn" (a likely name is a warning) or "return" (the form is returned)'),
    "mail.security": (("starttls", "ssl", "none"), '"starttls", "ssl" or "none"'),
}


def _check_ranges(path: Path, data: dict[str, Any]) -> None:
    for dotted in (
        "allocation.followup_share",
        "moderation.sample_share",
        "targets.good_or_better",
        "targets.inadequate_at_most",
        "targets.completion",
        "targets.moderation_agreement",
        "actions.green_at_least",
        "actions.amber_at_least",
    ):
        section, key = dotted.split(".")
        value = data[section][key]
        if not 0 <= value <= 1:
            raise ConfigError(
                "CFG003",
                path=str(path),
                key=dotted,
                found=repr(value),
                what="it is a share and must lie between 0 and 1",
                expected="a number from 0 to 1, e.g. 0.25 for 25%",
            )
    for dotted in (
        "reminders.lead_days",
        "moderation.due_days",
        "register.retention_months",
        "actions.tracker_cycle_days",
        "reports.restate_margin_points",
        "moderation.escalation_working_days",
        "mail.port",
    ):
        section, key = dotted.split(".")
        if data[section][key] < 0:
            raise ConfigError(
                "CFG003",
                path=str(path),
                key=dotted,
                found=repr(data[section][key]),
                what="it cannot be negative",
                expected="zero or more",
            )
    for dotted, (allowed, expected) in CHOICES.items():
        section, key = dotted.split(".")
        if data[section][key] not in allowed:
            raise ConfigError(
                "CFG003",
                path=str(path),
                key=dotted,
                found=repr(data[section][key]),
                what="it is not a known choice",
                expected=expected,
            )
    if data["reminders"]["bank_holidays"] != "England":
        raise ConfigError(
            "CFG003",
            path=str(path),
            key="reminders.bank_holidays",
            found=repr(data["reminders"]["bank_holidays"]),
            what="only England's calendar is supported",
            expected='"England"',
        )
    for key in ("folder_mode", "file_mode"):
        _parse_mode(path, data, key)
    _check_mail(path, data)
    sender = data["notices"]["sender"]
    if sender:
        try:
            parse_mailbox(sender)
        except AddressError:
            raise ConfigError(
                "CFG003",
                path=str(path),
                key="notices.sender",
                found=repr(sender),
                what="it is not one e-mail address",
                expected='one address, e.g. "quality.assurance@authority.gov.uk" or "QA Team <qa@authority.gov.uk>"',
            ) from None


#: The document kinds ``[reports] distribution`` may name (issue 22).
DISTRIBUTION_KINDS = ("service_pack", "main_report", "learning_themes", "excel_report", "committee")


def _check_mail(path: Path, data: dict[str, Any]) -> None:
    """``[mail]`` and ``[reports] distribution``: what cannot work is said at load time, not mid-send."""
    mail = data["mail"]
    problem = None
    if mail["send"] and not mail["host"]:
        problem = ("mail.host", mail["host"], "sending is on ([mail] send = true) but no server is named")
    elif mail["max_per_minute"] < 1:
        problem = ("mail.max_per_minute", mail["max_per_minute"], "at least one message a minute must be allowed")
    elif mail["password_env"] and not mail["password_env"].replace("_", "").isalnum():
        problem = (
            "mail.password_env",
            mail["password_env"],
            "it is the NAME of an environment variable, not a password",
        )
    if problem is not None:
        key, found, what = problem
        raise ConfigError("CFG040", path=str(path), key=key, found=repr(found), what=what)
    for kind, who in data["reports"]["distribution"].items():
        if kind not in DISTRIBUTION_KINDS or not all(isinstance(w, str) for w in who):
            raise ConfigError(
                "CFG041", path=str(path), key=f"reports.distribution.{kind}", kinds=", ".join(DISTRIBUTION_KINDS)
            )


def load_config(path: Path | str | None = None) -> Config:
    """Read ``caseaudit.toml``; every problem names the key and the fix."""
    path = Path(path) if path else Path(DEFAULT_CONFIG_NAME)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise ConfigError("CFG001", path=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("CFG002", path=str(path), detail=type(exc).__name__) from None
    try:
        given = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("CFG002", path=str(path), detail=str(exc)) from None
    data = _check(path, _defaults(), given)
    _check_ranges(path, data)
    return Config(path=path.resolve(), root=path.resolve().parent, data=data)


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def config_template_text(
    organisation: str | None = None, *, database: str | None = None, password_env: str = ""
) -> str:
    """The commented default configuration, optionally with the organisation's name, the register's URL and the
    password's environment variable (``init --database``) filled in."""
    text = CONFIG_TEMPLATE.read_text("utf-8")
    if organisation:
        text = text.replace('name = "Example Borough Council"', f"name = {_toml_string(organisation)}", 1)
    if database:
        text = text.replace('database = "sqlite:///caseaudit.sqlite"', f"database = {_toml_string(database)}", 1)
    if password_env:
        text = text.replace('password_env = ""', f"password_env = {_toml_string(password_env)}", 1)
    return text
