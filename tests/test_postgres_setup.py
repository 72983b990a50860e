"""``init --database`` and ``demo --database`` on a PostgreSQL server (issue 23): the URL written, never a password; the
schema made there; an unreachable server named; the demo's metrics equal to SQLite's; a register not the demo's left
alone. Skipped with the reason where no server is given (a failure in CI)."""

from __future__ import annotations

import re
from pathlib import Path

import pgkit
import pytest
import sqlalchemy as sa

from caseaudit_batch import cli, session
from caseaudit_batch.allocation import workspace as setup
from caseaudit_batch.core import migrations
from caseaudit_batch.core import register as reg


def test_init_database_writes_the_url_and_makes_the_schema_there(tmp_path: Path) -> None:
    url = pgkit.new_database()
    folder = tmp_path / "qa"
    assert cli.main(["init", str(folder), "--database", url, "--password-env", "CA_TEST_PW"]) == 2  # not set: CFG070
    assert not folder.exists()  # nothing half made
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CA_TEST_PW", "unused-with-trust")
        assert cli.main(["init", str(folder), "--database", url, "--password-env", "CA_TEST_PW"]) == 0
        config = (folder / "caseaudit.toml").read_text("utf-8")
        assert f'database = "{url}"' in config and 'password_env = "CA_TEST_PW"' in config
        assert "unused-with-trust" not in config
        assert not list(folder.glob("*.sqlite"))
        ctx = session.open_context(folder / "caseaudit.toml", "2026-09-01")
        try:
            with ctx.register.reader() as conn:
                assert conn.execute(sa.select(reg.schema_version.c.version)).scalar_one() == reg.SCHEMA_VERSION
        finally:
            ctx.close()
    pw_url = url.replace("caseaudit@", "caseaudit:secret@")
    assert cli.main(["init", str(tmp_path / "b"), "--database", pw_url]) == 2  # a password in the file: CFG071


def test_init_database_says_which_server_cannot_be_reached(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pgkit.server_url()
    url = "postgresql+psycopg://caseaudit@/nowhere?host=/nonexistent-socket-folder"
    assert cli.main(["init", str(tmp_path / "qa"), "--database", url]) == 73
    said = capsys.readouterr()
    assert "[REG020]" in said.err + said.out and "Traceback" not in said.err
    assert not (tmp_path / "qa").exists()


@pytest.mark.slow
def test_demo_on_postgres_refuses_a_register_that_is_not_a_demo(tmp_path: Path) -> None:
    url = pgkit.new_database()
    setup.init_workspace(tmp_path / "real", organisation="A Real Council", database=url)  # a real, empty register
    assert cli.main(["demo", "--dir", str(tmp_path / "demo"), "--database", url]) == 2
    assert not (tmp_path / "demo").exists()


@pytest.mark.slow
def test_the_demo_on_postgres_gives_the_metrics_sqlite_gives(tmp_path: Path, short_demo: tuple[Path, dict]) -> None:
    """The short demo (same seed) played on PostgreSQL: its metrics and register rows equal the SQLite play's."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    import make_demo_snapshot

    from caseaudit_batch.demo import player as demo

    url = pgkit.new_database()
    folder = tmp_path / "demo"
    result = demo.run_demo(folder, database=url, **make_demo_snapshot.PLAYS["2months"])
    assert result.exit_code == 0
    assert f'database = "{url}"' in (folder / "caseaudit.toml").read_text("utf-8")
    played = demo.snapshot(folder)
    _, on_sqlite = short_demo
    assert played["metrics"] == on_sqlite["metrics"]
    assert played["register"] == on_sqlite["register"]
    # Played again from clean on the same database: the demo's own register is emptied and replayed, not refused.
    assert demo.run_demo(folder, database=url, **make_demo_snapshot.PLAYS["2months"]).exit_code == 0


# --- Migrations on PostgreSQL ----------------------------------------------------------------------------------
def _postgres_ddl(sqlite_ddl: str) -> list[str]:
    """A kept schema (SQLite's DDL, ``tests/schema``) as PostgreSQL DDL: what SQLAlchemy made on PostgreSQL at that
    version. The differences are few and mechanical: ``user`` is a reserved word there, booleans default to
    true/false, and an integer ``id`` key is SERIAL (SQLite numbers rows by itself)."""
    statements = []
    for line in sqlite_ddl.splitlines():
        s = re.sub(r"\buser VARCHAR", '"user" VARCHAR', line.rstrip(";"))
        s = s.replace("BOOLEAN DEFAULT 1", "BOOLEAN DEFAULT true").replace("BOOLEAN DEFAULT 0", "BOOLEAN DEFAULT false")
        if "PRIMARY KEY (id)" in s:
            s = s.replace("( id INTEGER NOT NULL", "( id SERIAL NOT NULL")
        statements.append(s)
    return statements


def _rows(engine: sa.Engine, columns: dict[str, list[str]] | None = None) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table (of only ``columns``, by table, when given: the columns an older register had)."""
    meta = sa.MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        return {
            name: sorted(
                tuple(repr(v) for v in row)
                for row in conn.execute(sa.select(*(table.c[c] for c in (columns or {}).get(name, table.c.keys()))))
            )
            for name, table in meta.tables.items()
        }


def _schema(engine: sa.Engine) -> dict[str, object]:
    """Tables, columns (name, type, nullability, numbered by a sequence), keys and indexes."""
    inspector = sa.inspect(engine)
    return {
        table: (
            [
                (c["name"], str(c["type"]), c["nullable"], "nextval" in str(c.get("default") or ""))
                for c in inspector.get_columns(table)
            ],
            inspector.get_pk_constraint(table)["constrained_columns"],
            sorted((i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in inspector.get_indexes(table)),
        )
        for table in sorted(inspector.get_table_names())
    }


def _numbered_in_allocation_order(rows: list[dict[str, object]]) -> dict[str, str]:
    """Step 4's references on PostgreSQL: a sequence a month in allocation order (when made, then batch), ties
    within one second broken by audit ID (PostgreSQL keeps no insertion order; SQLite's rowid does)."""
    numbers: dict[str, int] = {}
    refs = {}
    for r in sorted(
        rows, key=lambda r: (str(r["month"]), str(r["created_at"]), r["batch_id"] or 0, str(r["audit_id"]))
    ):
        numbers[str(r["month"])] = numbers.get(str(r["month"]), 0) + 1
        refs[str(r["audit_id"])] = f"{r['month']}-{numbers[str(r['month'])]:04d}"
    return refs


@pytest.mark.slow
@pytest.mark.parametrize("version", range(migrations.FIRST_VERSION, reg.SCHEMA_VERSION))
def test_an_older_register_on_postgres_migrates_and_keeps_its_data(version: int, short_demo: tuple[Path, dict]) -> None:
    """Each kept older schema, made on PostgreSQL and filled with the short demo's months, is brought up to date:
    its rows unchanged (step 4's references equal those the demo issued), its schema that of a new register."""
    folder, _ = short_demo
    source = sa.create_engine(f"sqlite:///{folder / 'caseaudit.sqlite'}")
    url = pgkit.new_database()
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    ddl = (Path(__file__).parent / "schema" / f"register-v{version}.sql").read_text("utf-8")
    with engine.begin() as conn:
        for statement in _postgres_ddl(ddl):
            conn.exec_driver_sql(statement)
    old, new = sa.MetaData(), sa.MetaData()
    old.reflect(engine)
    new.reflect(source)
    refs: dict[str, str] = {}
    with source.connect() as src, engine.begin() as dst:
        for name, table in old.tables.items():
            if name == "schema_version":
                continue
            rows = [dict(r._mapping) for r in src.execute(sa.select(*(new.tables[name].c[c.name] for c in table.c)))]
            if name == "allocations":
                refs = {r["audit_id"]: r["audit_ref"] for r in rows if "audit_ref" in r}
                if version < 4:
                    refs = _numbered_in_allocation_order(rows)
                    for r in rows:
                        r["prefilled"] = {k: v for k, v in r["prefilled"].items() if k != "audit_ref"}
            if rows:
                dst.execute(sa.insert(table), rows)
            if "id" in table.c and table.c.id.primary_key:
                dst.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT MAX(id) FROM {name}))"
                )
        dst.execute(sa.text("INSERT INTO schema_version (version) VALUES (:v)"), {"v": version})
    before = _rows(engine)
    had = {name: list(table.c.keys()) for name, table in old.tables.items()}
    assert len(before["audits"]) > 20 and len(before["actions"]) > 10

    register = reg.Register.open(url)
    register.close()
    assert register.migration is not None and register.migration.backup is None  # PostgreSQL: REG013's pg_dump
    assert len(register.migration.steps) == reg.SCHEMA_VERSION - version
    after = _rows(engine, had)
    assert after.pop("schema_version") == [(repr(reg.SCHEMA_VERSION),)]
    with engine.connect() as conn:
        migrated_refs = dict(conn.execute(sa.select(reg.allocations.c.audit_id, reg.allocations.c.audit_ref)).all())
    assert migrated_refs == refs and len(refs) > 20
    for table, rows in before.items():
        if table not in ("schema_version", "allocations"):
            assert after[table] == rows, f"{table} changed in the migration"
    fresh = sa.create_engine(pgkit.new_database(), poolclass=sa.pool.NullPool)
    reg.metadata.create_all(fresh)
    assert _schema(engine) == _schema(fresh)
    source.dispose()
    engine.dispose()
    fresh.dispose()


def test_init_database_refuses_a_database_holding_other_tables(tmp_path: Path) -> None:
    url = pgkit.new_database()
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE payroll (id INTEGER)")
    assert cli.main(["init", str(tmp_path / "qa"), "--database", url]) == 2  # REG006, and nothing made there
    assert sa.inspect(engine).get_table_names() == ["payroll"]
    engine.dispose()
    assert not (tmp_path / "qa").exists()
