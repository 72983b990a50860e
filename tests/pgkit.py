"""PostgreSQL for the tests (issue 23): the throwaway server `tests/pg/cluster.sh` starts (its URL in
``CASEAUDIT_TEST_POSTGRES``), a fresh database for each register a test makes, and copies of prepared ones.

Where no server is given the PostgreSQL half of the tests skips with the reason shown; under
``CASEAUDIT_REQUIRE_POSTGRES=1`` (CI) that skip is a failure instead."""

from __future__ import annotations

import itertools
import os
import tomllib
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

SERVER_ENV = "CASEAUDIT_TEST_POSTGRES"
REQUIRE_ENV = "CASEAUDIT_REQUIRE_POSTGRES"
NO_SERVER = (
    "PostgreSQL tests need a server: `make test` starts a throwaway one when PostgreSQL is installed "
    "(apt-get install postgresql), or set CASEAUDIT_TEST_POSTGRES to a server URL"
)

#: The backend of the test in progress (set by conftest's ``backend`` fixture): prepared folders are kept apart.
CURRENT = ["sqlite"]
_counter = itertools.count()
_made: list[str] = []
#: Set while a prepared folder is built (``Templates``, shared by a session): its databases outlive the test that
#: happened to build it.
PREPARING = [False]


def server_url() -> str:
    """The server's URL (its maintenance database), or skip (fail under CASEAUDIT_REQUIRE_POSTGRES=1)."""
    url = os.environ.get(SERVER_ENV, "")
    if not url:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1 but {NO_SERVER}", pytrace=False)
        pytest.skip(NO_SERVER)
    try:
        import psycopg  # noqa: F401
    except ImportError:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail("the PostgreSQL driver is missing: pip install -e '.[test,postgres]'", pytrace=False)
        pytest.skip("the PostgreSQL driver is missing: pip install -e '.[test,postgres]'")
    return url


def _admin() -> sa.Engine:
    return sa.create_engine(server_url(), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


def url_for(name: str) -> str:
    return sa.engine.make_url(server_url()).set(database=name).render_as_string(hide_password=False)


def new_database(template: str | None = None) -> str:
    """A new, empty database (or a copy of ``template``) on the test server; its URL."""
    name = f"t_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}_{next(_counter)}_{uuid.uuid4().hex[:6]}"
    engine = _admin()
    try:
        with engine.connect() as conn:
            if template:
                # A copy needs nobody connected to the original (a test that built it may have left a session).
                conn.execute(
                    sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"),
                    {"d": template},
                )
                conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            else:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        engine.dispose()
    if not PREPARING[0]:
        _made.append(name)
    return url_for(name)


def made_so_far() -> int:
    return len(_made)


def drop_databases(since: int = 0) -> None:
    """Drop the databases this process made after the first ``since`` (FORCE: a child process killed by a test
    may have left a session)."""
    if len(_made) <= since or not os.environ.get(SERVER_ENV):
        return
    engine = _admin()
    try:
        with engine.connect() as conn:
            while len(_made) > since:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{_made.pop()}" WITH (FORCE)')
    finally:
        engine.dispose()


def on_new_databases(init: Callable[..., Any]) -> Callable[..., Any]:
    """``init_workspace`` with each working folder it makes given a new database on the test server."""

    def init_on_postgres(folder: Path, organisation: str | None = None, **options: Any) -> Any:
        options.setdefault("database", new_database())
        return init(folder, organisation, **options)

    return init_on_postgres


def copy_folder(folder: Path, target: Path) -> Path:
    """Copy a prepared working folder to ``target``, with its PostgreSQL register if it has one; ``target``."""
    import shutil

    shutil.copytree(folder, target)
    clone_register(target)
    return target


def database_of(folder: Path) -> str:
    """The register URL of the working folder ``folder`` (its caseaudit.toml)."""
    with (folder / "caseaudit.toml").open("rb") as handle:
        return str(tomllib.load(handle)["register"]["database"])


def clone_register(folder: Path) -> None:
    """Point the copied working folder ``folder`` at a copy of its PostgreSQL register (a copied folder would
    otherwise share the original's database). A SQLite folder carries its register with it: nothing to do."""
    config = folder / "caseaudit.toml"
    if not config.exists():
        return
    url = database_of(folder)
    if not url.startswith("postgresql"):
        return
    copy = new_database(template=sa.engine.make_url(url).database)
    text = config.read_text("utf-8")
    config.write_text(text.replace(f'database = "{url}"', f'database = "{copy}"', 1), "utf-8")
