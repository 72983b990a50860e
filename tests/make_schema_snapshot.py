"""Keep the register's schema at the current version for the migration tests: ``python tests/make_schema_snapshot.py``.

Writes ``tests/schema/register-v<version>.sql``: the SQLite DDL that a new register of this version has. Run it
once whenever a migration step is added (docs/development.md); the files of earlier versions are history and are
never rewritten. ``tests/test_migrations.py`` builds each older version from its file, fills it and migrates it.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from pathlib import Path

import sqlalchemy as sa

from caseaudit_batch.core import register as reg

HERE = Path(__file__).resolve().parent / "schema"


def schema_sql(url: str) -> str:
    """The DDL of a SQLite database, one statement a line, in a stable order (tables, then indexes)."""
    path = url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY type DESC, name"
        ).fetchall()
    return "".join(" ".join(sql.split()) + ";\n" for (sql,) in rows)


def current_schema_sql() -> str:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/fresh.sqlite"
        engine = sa.create_engine(url)
        reg.metadata.create_all(engine)
        engine.dispose()
        return schema_sql(url)


def main() -> int:
    target = HERE / f"register-v{reg.SCHEMA_VERSION}.sql"
    HERE.mkdir(exist_ok=True)
    target.write_text(current_schema_sql(), "utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
