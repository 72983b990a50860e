"""The register's connection to its database, apart from its schema: SQLite's settings and file, a URL's checks
(``init --database``), the lock file, and the database failures a QA officer can act on, in plain words."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from caseaudit_batch.core.errors import CaseauditError, ConfigError, OutputError, RegisterError


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    module = type(dbapi_connection).__module__
    if "sqlite" in module:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


def sqlite_path(url: str) -> Path | None:
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


#: What the database driver says (SQLite's and PostgreSQL's words) for the failures a QA officer can act on, and
#: their codes.
_FAILURES = (
    ("disk is full", "REG008"),
    ("disk i/o error", "REG008"),
    ("file is not a database", "REG006"),
    ("malformed", "REG007"),
    ("no such table", "REG006"),
    ('relation "', "REG006"),  # PostgreSQL: relation "allocations" does not exist
    ("password authentication failed", "REG021"),
    ("no password supplied", "REG021"),
    ("does not exist", "REG022"),  # database "x" does not exist; role "x" does not exist
    ("connection refused", "REG020"),
    ("could not connect", "REG020"),
    ("connection failed", "REG020"),
    ("could not translate host name", "REG020"),
    ("timeout expired", "REG020"),
    ("no such file or directory", "REG020"),  # a Unix socket that is not there
)


def register_failure(exc: BaseException, where: str) -> CaseauditError | None:
    """The catalogued error for a database failure a user can act on (a full disk, exit 73; a corrupt or foreign
    register, exit 2), or None for anything else. Only the driver's words are read; none are shown."""
    if not isinstance(exc, sa.exc.DBAPIError):
        return None
    words = str(getattr(exc, "orig", exc)).lower()
    for fragment, code in _FAILURES:
        if fragment in words:
            if code in ("REG008", "REG020"):
                return OutputError(code, where=where)
            return RegisterError(code, where=where)
    return None


def try_flock(lock_path: Path) -> IO[str] | None:
    import fcntl

    handle = open(lock_path, "a+")  # noqa: SIM115 - held open for the lock's lifetime
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def server_url(url: str, password_env: str, config_path: Path) -> str:
    """A database URL given to ``init --database``, checked before anything is made: a URL SQLAlchemy reads, with no
    password in it (the config names an environment variable instead, CFG071), and its driver installed (REG023).
    Returns the URL to connect with: the password from the environment added."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise ConfigError("CFG072", found=_printable(url)) from None
    if parsed.password:
        raise ConfigError("CFG071", where=safe_url(url))
    try:
        parsed.get_dialect()
    except (ImportError, sa.exc.NoSuchModuleError):
        raise RegisterError("REG023", where=safe_url(url), backend=parsed.get_backend_name()) from None
    return with_password(url, password_env, config_path)


def with_password(url: str, password_env: str, config_path: Path) -> str:
    """``url`` with the password from the environment variable ``password_env`` names (``[register]
    password_env``; CFG070 when it is not set); ``url`` itself when no variable is named."""
    if not password_env:
        return url
    password = os.environ.get(password_env)
    if password is None:
        raise ConfigError("CFG070", path=str(config_path), variable=password_env)
    return sa.engine.make_url(url).set(password=password).render_as_string(hide_password=False)


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in text)[:200]


def safe_url(url: str) -> str:
    """The URL with any password hidden."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "(unreadable database URL)"
