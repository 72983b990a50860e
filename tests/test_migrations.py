"""Versioned register migrations (issue 15): an older register, filled with a month, is brought up to date with
its data intact, a copy kept beside it first, and all its steps in one transaction.

Each older version's schema is kept as DDL in ``tests/schema/register-v<N>.sql`` (``make_schema_snapshot.py``),
never as a binary file. The month's rows come from the short demo, copied column by column into the old schema.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from caseaudit_batch import session
from caseaudit_batch.core import migrations
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.errors import RegisterError

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_schema_snapshot import current_schema_sql  # noqa: E402 - the script beside the tests

OLD_VERSIONS = sorted(int(p.stem.removeprefix("register-v")) for p in (HERE / "schema").glob("register-v*.sql"))


def _columns(path: Path) -> dict[str, list[str]]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {table: [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')] for table in tables}


def _rows(path: Path, only: dict[str, list[str]] | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order (``only``: just these columns, e.g. those an older version had)."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        found = {}
        for table in tables:
            columns = [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]
            if only is not None:
                columns = [c for c in columns if c in only.get(table, columns)]
            order = ", ".join(f'"{c}"' for c in columns)
            found[table] = conn.execute(f'SELECT {order} FROM "{table}" ORDER BY {order}').fetchall()
        return found


def build_old_register(path: Path, version: int, source: Path) -> None:
    """A register at ``version`` from its kept DDL, filled with ``source``'s rows for the columns it has."""
    ddl = (HERE / "schema" / f"register-v{version}.sql").read_text("utf-8")
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.executescript(ddl)
        conn.execute("ATTACH DATABASE ? AS src", (str(source),))
        for (table,) in conn.execute("SELECT name FROM main.sqlite_master WHERE type = 'table'").fetchall():
            columns = [r[1] for r in conn.execute(f'PRAGMA main.table_info("{table}")')]
            names = ", ".join(f'"{c}"' for c in columns)
            conn.execute(f'INSERT INTO main."{table}" ({names}) SELECT {names} FROM src."{table}"')
        if version < 4:  # before audit references: the pre-filled values did not carry one
            conn.execute("UPDATE main.allocations SET prefilled = json_remove(prefilled, '$.audit_ref')")
        conn.execute("DELETE FROM main.schema_version")
        conn.execute("INSERT INTO main.schema_version (version) VALUES (?)", (version,))
        conn.commit()
        conn.execute("DETACH DATABASE src")
        conn.execute("PRAGMA journal_mode=WAL")


def _audit_refs(path: Path) -> dict[str, str]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        rows = conn.execute("SELECT audit_id, audit_ref, json_extract(prefilled, '$.audit_ref') FROM allocations")
        found = {audit_id: ref for audit_id, ref, shown in rows if ref == shown}
    assert len(found) > 20 and len(set(found.values())) == len(found)
    return found


def _without_refs(path: Path) -> list[tuple[Any, ...]]:
    """The allocations as a register before step 4 held them."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("UPDATE allocations SET prefilled = json_remove(prefilled, '$.audit_ref'), audit_ref = NULL")
        columns = [r[1] for r in conn.execute('PRAGMA table_info("allocations")') if r[1] != "audit_ref"]
        order = ", ".join(f'"{c}"' for c in columns)
        return conn.execute(f"SELECT {order} FROM allocations ORDER BY {order}").fetchall()


def _schema(url: str) -> dict[str, Any]:
    """Tables, columns (name, type, nullability), primary keys and indexes, as SQLAlchemy sees them."""
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        return {
            table: {
                "columns": [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
                "pk": inspector.get_pk_constraint(table)["constrained_columns"],
                "indexes": sorted(
                    (i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in inspector.get_indexes(table)
                ),
            }
            for table in sorted(inspector.get_table_names())
        }
    finally:
        engine.dispose()


@pytest.fixture
def month_register(short_demo: tuple[Path, dict], tmp_path: Path) -> Path:
    """A copy of the short demo's register (its months of allocations, audits, moderation and actions)."""
    folder, _snapshot = short_demo
    source = folder / "caseaudit.sqlite"
    copy = tmp_path / "played.sqlite"
    with contextlib.closing(sqlite3.connect(source)) as src, contextlib.closing(sqlite3.connect(copy)) as dst:
        src.backup(dst)
    return copy


def test_the_kept_schema_of_this_version_is_current() -> None:
    """Adding a step means keeping its schema: run ``python tests/make_schema_snapshot.py``."""
    kept = HERE / "schema" / f"register-v{reg.SCHEMA_VERSION}.sql"
    assert kept.is_file(), "run python tests/make_schema_snapshot.py"
    assert kept.read_text("utf-8") == current_schema_sql(), "run python tests/make_schema_snapshot.py"
    assert OLD_VERSIONS[0] == migrations.FIRST_VERSION and OLD_VERSIONS[-1] == reg.SCHEMA_VERSION


@pytest.mark.parametrize("version", [v for v in OLD_VERSIONS if v < reg.SCHEMA_VERSION])
def test_an_older_register_with_a_month_migrates_and_keeps_its_data(
    version: int, month_register: Path, tmp_path: Path
) -> None:
    path = tmp_path / "caseaudit.sqlite"
    build_old_register(path, version, month_register)
    before = _rows(path)
    assert len(before["audits"]) > 20 and len(before["actions"]) > 10  # a real month, not an empty shell

    register = reg.Register.open(f"sqlite:///{path}")
    register.close()

    assert register.migration is not None
    assert (register.migration.found, register.migration.version) == (version, reg.SCHEMA_VERSION)
    assert len(register.migration.steps) == reg.SCHEMA_VERSION - version
    after = _rows(path, only=_columns(register.migration.backup))
    assert after.pop("schema_version") == [(reg.SCHEMA_VERSION,)]
    if version < 4:
        # Step 4 numbers every audit in allocation order: the references are those the played months issued, one
        # sequence a month; the rest of each allocation is unchanged.
        assert _audit_refs(path) == _audit_refs(month_register)
        after["allocations"] = _without_refs(path)
    for table, rows in before.items():
        if table != "schema_version":
            assert after[table] == rows, f"{table} changed in the migration"
    if version < 6:  # step 6: every notice made before sending existed is a draft, never tried
        with contextlib.closing(sqlite3.connect(path)) as conn:
            states = set(conn.execute("SELECT status, attempts, sent_at FROM notices").fetchall())
        assert states == {("draft", 0, None)}
    # A migrated register is the same as a new one: tables, columns and indexes.
    fresh = tmp_path / "fresh.sqlite"
    reg.Register.open(f"sqlite:///{fresh}", create=True).close()
    assert _schema(f"sqlite:///{path}") == _schema(f"sqlite:///{fresh}")
    # The copy from before, beside it, is the old register as it was.
    backup = path.with_name(f"caseaudit.sqlite.bak-{version}")
    assert register.migration.backup == backup
    assert _rows(backup) == before


def test_migrating_says_so_and_where_the_copy_is(
    month_register: Path, workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = workspace / "caseaudit.sqlite"
    for made_by_init in workspace.glob("caseaudit.sqlite*"):
        made_by_init.unlink()
    build_old_register(path, migrations.FIRST_VERSION, month_register)
    ctx = session.open_context(workspace / "caseaudit.toml", "2026-11-02")
    try:
        ctx.register  # noqa: B018 - opening it is the act under test
    finally:
        ctx.close()
    out = capsys.readouterr().out
    assert "[REG010]" in out and f"caseaudit.sqlite.bak-{migrations.FIRST_VERSION}" in out
    # Opened again: already current, nothing said.
    ctx = session.open_context(workspace / "caseaudit.toml", "2026-11-02")
    try:
        assert ctx.register.migration is None
    finally:
        ctx.close()
    assert "[REG010]" not in capsys.readouterr().out


def test_a_failing_step_leaves_the_register_exactly_as_it_was(
    month_register: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """All steps in one transaction: a step that fails after changing the schema undoes every change."""
    path = tmp_path / "caseaudit.sqlite"
    build_old_register(path, migrations.FIRST_VERSION, month_register)
    before = _rows(path)
    broken = reg.SCHEMA_VERSION + 1

    def fails(conn: sa.engine.Connection) -> None:
        conn.execute(sa.text("CREATE TABLE half_done (x INTEGER)"))
        conn.execute(sa.text("DELETE FROM audits"))
        raise sa.exc.OperationalError("step", {}, Exception("disk I/O error"))

    monkeypatch.setitem(migrations.STEPS, broken, migrations.Step(broken, "a step that fails", fails))
    monkeypatch.setattr(reg, "SCHEMA_VERSION", broken)
    with pytest.raises(RegisterError) as info:
        reg.Register.open(f"sqlite:///{path}")
    assert info.value.code == "REG011"
    assert _rows(path) == before  # no half_done table, no deleted audits, version unchanged


def test_the_steps_are_numbered_in_order_without_gaps() -> None:
    assert sorted(migrations.STEPS) == list(range(migrations.FIRST_VERSION + 1, migrations.latest() + 1))
    assert migrations.latest() == reg.SCHEMA_VERSION
    with pytest.raises(ValueError):
        migrations.step(migrations.latest(), "twice")(lambda conn: None)


def test_a_new_register_is_made_at_the_newest_version(tmp_path: Path) -> None:
    register = reg.Register.open(f"sqlite:///{tmp_path / 'new.sqlite'}", create=True)
    try:
        assert register.migration is None
        with register.reader() as conn:
            assert conn.execute(sa.select(reg.schema_version.c.version)).scalar() == reg.SCHEMA_VERSION
    finally:
        register.close()
    assert not list(tmp_path.glob("*.bak-*"))
    shutil.rmtree(tmp_path, ignore_errors=True)
