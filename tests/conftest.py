"""Shared fixtures: a fresh working folder made by the real ``init``; prepared folders built once per test session
(``templates``); the short demo. Also prints the session's wall time against the suite's 4-minute budget."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pgkit
import pytest
from formkit import set_sender
from prepared import Templates

from caseaudit_batch import session
from caseaudit_batch.allocation import workspace as setup

HERE = Path(__file__).resolve().parent
BUDGET_SECONDS = 240  # the whole suite, `make test` on a 2-core machine (docs/development.md)
_STARTED: list[float] = []


def pytest_sessionstart(session: pytest.Session) -> None:
    _STARTED.append(time.monotonic())


#: The test modules whose register-making tests run on SQLite and on PostgreSQL alike (issue 23), through the one
#: fixture parameter ``backend``: the register, ingest, moderation, actions, reports, run and reliability tests.
BOTH_BACKENDS = ("test_register", "test_ingest", "test_moderation", "test_actions", "test_reports", "test_run")
#: A test makes a register when it has a folder to make it in; one that reads the session's short demo (played
#: once, on SQLite) does not.
_MAKES_A_REGISTER = {"workspace", "ctx", "templates", "tmp_path"}
_READS_THE_DEMO = {"short_demo", "short_demo_played"}


def _on_both(metafunc: pytest.Metafunc) -> bool:
    path = Path(str(metafunc.definition.fspath))
    names = set(metafunc.fixturenames)
    in_area = path.parent.name == "reliability" or path.stem.startswith(BOTH_BACKENDS)
    sqlite_only = metafunc.definition.get_closest_marker("sqlite_only") is not None
    return in_area and bool(names & _MAKES_A_REGISTER) and not names & _READS_THE_DEMO and not sqlite_only


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "register_backend" in metafunc.fixturenames and _on_both(metafunc):
        # Module scope: a module's prepared folders (module fixtures that ask for ``register_backend``) are made
        # once per backend, and the tests are grouped by backend.
        metafunc.parametrize("register_backend", ["sqlite", "postgres"], indirect=True, scope="module")


@pytest.fixture(scope="module", autouse=True)
def register_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """The register's backend: ``sqlite``, unless the test is one that runs on both (issue 23). Under
    ``postgres`` every working folder made (``init``, directly or through a kit) gets a new database on the test
    server, and a prepared folder copied with ``pgkit.copy_folder`` or ``Templates.copy`` a copy of its register.
    A module fixture that makes a working folder asks for this fixture, so that it is made once per backend."""
    name = getattr(request, "param", "sqlite")
    with pytest.MonkeyPatch.context() as patch:
        if name == "postgres":
            pgkit.server_url()  # skip (or, in CI, fail) at once when there is no server
            patch.setattr(setup, "init_workspace", pgkit.on_new_databases(setup.init_workspace))
        pgkit.CURRENT[0] = name
        mark = pgkit.made_so_far()
        try:
            yield name
        finally:
            pgkit.CURRENT[0] = "sqlite"
            pgkit.drop_databases(since=mark)


@pytest.fixture(autouse=True)
def backend(register_backend: str) -> Iterator[str]:
    """This test's backend; the databases the test itself made are dropped when it ends."""
    mark = pgkit.made_so_far()
    try:
        yield register_backend
    finally:
        pgkit.drop_databases(since=mark)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every ``libreoffice`` test (a round trip takes seconds) and every test that needs the short demo's play is
    also ``slow``: ``make test-fast`` leaves them out."""
    demo = {"short_demo", "short_demo_played"}
    for item in items:
        needs_demo = bool(demo & set(getattr(item, "fixturenames", ())))
        if (item.get_closest_marker("libreoffice") or needs_demo) and not item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.slow)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """The tests run on each register backend (issue 23: the PostgreSQL half must be visible), and the wall time,
    so that the budget stays in view as tests are added (shown, never failed on)."""
    if not _STARTED or os.environ.get("PYTEST_XDIST_WORKER") or config.option.collectonly:
        return
    passed = [r.nodeid for r in terminalreporter.stats.get("passed", []) if getattr(r, "when", "call") == "call"]
    skipped = [r.nodeid for r in terminalreporter.stats.get("skipped", [])]
    on_postgres = sum("postgres" in nodeid for nodeid in passed)
    terminalreporter.write_line(
        f"register backends: {len(passed) - on_postgres} tests passed on SQLite, {on_postgres} on PostgreSQL "
        f"({sum('postgres' in nodeid for nodeid in skipped)} PostgreSQL tests skipped)"
    )
    took = time.monotonic() - _STARTED[0]
    note = "within" if took <= BUDGET_SECONDS else "OVER"
    terminalreporter.write_line(f"suite wall time {took:.0f} s: {note} the {BUDGET_SECONDS} s budget for `make test`")


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Templates:
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # the workers' shared parent
    (root / "templates").mkdir(exist_ok=True)
    return Templates(root / "templates")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A working folder as ``caseaudit init`` makes it."""
    folder = tmp_path / "qa"
    setup.init_workspace(folder, organisation="Testshire Council")
    set_sender(folder)
    return folder


@pytest.fixture
def ctx(workspace: Path) -> session.Context:
    context = session.open_context(workspace / "caseaudit.toml", "2026-09-01")
    yield context
    context.close()


def _play_short_demo(folder: Path) -> tuple[session.Result, dict[str, Any]]:
    sys.path.insert(0, str(HERE))
    import make_demo_snapshot

    from caseaudit_batch.demo import player as demo

    result = demo.run_demo(folder, **make_demo_snapshot.PLAYS["2months"])
    return result, demo.snapshot(folder)


@pytest.fixture(scope="session")
def short_demo_played(templates: Templates) -> tuple[Path, session.Result, dict[str, Any]]:
    """The short demo (2 months, 20 auditors; ``tests/make_demo_snapshot.py``), played once per session: its
    folder, the play's result and its snapshot (metrics and register rows). Read them; never change them."""
    folder, (result, snapshot) = templates.get("short-demo", _play_short_demo, leaf="demo")
    return folder, result, snapshot


@pytest.fixture(scope="session")
def short_demo(short_demo_played: tuple[Path, session.Result, dict[str, Any]]) -> tuple[Path, dict[str, Any]]:
    """The short demo's folder and its snapshot (``make_demo_snapshot.play``). Read it; never change it."""
    folder, _result, snapshot = short_demo_played
    return folder, snapshot
