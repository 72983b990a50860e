"""``caseaudit.toml``: loading and checking. The shipped template is also the table of defaults."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from caseaudit_batch.core.errors import ConfigError

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
        merged[key] = value
    return merged


@dataclass(frozen=True)
class Config:
    """The checked settings; ``root`` is the folder holding the config file (relative paths start there)."""

    path: Path
    root: Path
    data: dict[str, Any]

    def section(self, name: str) -> dict[str, Any]:
        return dict(self.data[name])

    def resolve(self, value: str) -> Path:
        candidate = Path(value).expanduser()
        return candidate if candidate.is_absolute() else self.root / candidate

    @property
    def organisation(self) -> str:
        return str(self.data["organisation"]["name"])

    @property
    def output_dir(self) -> Path:
        return self.resolve(self.data["folders"]["output"])

    def inbox(self, kind: str) -> Path:
        """``audits``, ``moderation`` or ``actions``."""
        return self.resolve(self.data["folders"][f"{kind}_inbox"])

    @property
    def database_url(self) -> str:
        url = str(self.data["register"]["database"])
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            return prefix + str(self.resolve(url[len(prefix) :]))
        return url

    def template(self, key: str, default_name: str) -> Path:
        given = str(self.data["templates"][key])
        return self.resolve(given) if given else TEMPLATES_DIR / default_name

    def mode(self, key: str) -> int:
        return int(str(self.data["folders"][key]), 8)


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


def _check_ranges(path: Path, data: dict[str, Any]) -> None:
    for dotted in (
        "allocation.followup_share",
        "moderation.sample_share",
        "targets.good_or_better",
        "targets.inadequate_at_most",
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
    for dotted in ("reminders.lead_days", "moderation.due_days", "register.retention_months"):
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
    if data["allocation"]["senior_conflict"] not in ("service", "none"):
        raise ConfigError(
            "CFG003",
            path=str(path),
            key="allocation.senior_conflict",
            found=repr(data["allocation"]["senior_conflict"]),
            what="it is not a known rule",
            expected='"service" or "none"',
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


def config_template_text(organisation: str | None = None) -> str:
    """The commented default configuration, optionally with the organisation's name filled in."""
    text = CONFIG_TEMPLATE.read_text("utf-8")
    if organisation:
        escaped = organisation.replace("\\", "\\\\").replace('"', '\\"')
        text = text.replace('name = "Example Borough Council"', f'name = "{escaped}"', 1)
    return text
