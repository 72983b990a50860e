"""Versioned register migrations: every change to the register's tables is a numbered step, applied in order.

A new register is made at the newest version directly (``register.metadata`` is the schema as it is now). An
older register is brought up to date by the steps after its version, all in one transaction, so it is either
wholly migrated or left exactly as it was. Before that, a SQLite register is copied beside itself
(``<register file>.bak-<from version>``) with SQLite's backup API, which is safe in WAL mode.

Why not Alembic: the register already records its version (``schema_version``) and refuses a newer one (REG003);
its history is one straight line, written by hand, with no autogeneration or branches to manage. A step is a plain
function over one connection, in SQL both SQLite and PostgreSQL accept, so a dozen lines run them. A step that
needs what SQLite's ``ALTER TABLE`` cannot do (drop or change a column) can use Alembic's batch operations then.

Adding a step (docs/development.md): write ``@step(N, "what it changes")`` below with the next number, change
``register.py``'s tables to match (a new register must equal a migrated one: ``tests/test_migrations.py`` checks),
and run ``python tests/make_schema_snapshot.py`` to keep the new version's schema for the tests. A step is
history: never edit one that has been released.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

StepFunction = Callable[[Connection], None]


@dataclass(frozen=True)
class Step:
    version: int  # the version the register is at after this step
    summary: str
    apply: StepFunction


STEPS: dict[int, Step] = {}

#: Version 1 is the schema every register had before versioned migrations; it has no step.
FIRST_VERSION = 1


def step(version: int, summary: str) -> Callable[[StepFunction], StepFunction]:
    """Register ``function`` as the step that takes a register from ``version - 1`` to ``version``."""

    def register(function: StepFunction) -> StepFunction:
        if version in STEPS or version <= FIRST_VERSION:
            raise ValueError(f"migration step {version} is defined twice or is not after version {FIRST_VERSION}")
        STEPS[version] = Step(version, summary, function)
        return function

    return register


def latest() -> int:
    """The newest schema version this program knows."""
    return max(STEPS, default=FIRST_VERSION)


def pending(found: int) -> list[Step]:
    """The steps a register at version ``found`` needs, in order."""
    return [STEPS[v] for v in sorted(STEPS) if v > found]


def upgrade(conn: Connection, found: int, version_table: sa.Table) -> list[Step]:
    """Apply every step after ``found`` on ``conn`` (the caller's one transaction) and record the new version."""
    done = pending(found)
    for each in done:
        each.apply(conn)
    conn.execute(sa.delete(version_table))
    conn.execute(sa.insert(version_table).values(version=latest()))
    return done


def _check_order() -> None:
    expected = list(range(FIRST_VERSION + 1, latest() + 1))
    if sorted(STEPS) != expected:
        raise ValueError(f"migration steps must be numbered {expected}, without gaps; found {sorted(STEPS)}")


# ----------------------------------------------------------------------------------------------------------------
# The steps. Each runs on SQLite and PostgreSQL alike; never edit a released step, add the next one.
# ----------------------------------------------------------------------------------------------------------------
@step(2, "index allocations by month and status (the reports, moderation and reminders select a month's live ones)")
def _allocations_month_status(conn: Connection) -> None:
    conn.execute(sa.text("CREATE INDEX IF NOT EXISTS ix_allocations_month_status ON allocations (month, status)"))


@step(3, "safeguarding alerts can be acknowledged: who, when and what was done (caseaudit alerts --ack)")
def _alert_acknowledgement(conn: Connection) -> None:
    for column in ("acknowledged_at", "acknowledged_by", "ack_note"):
        conn.execute(sa.text(f"ALTER TABLE alerts ADD COLUMN {column} VARCHAR"))


#: The allocations table as step 4 knew it (a step is history: it does not follow later changes to register.py).
_ALLOCATIONS_4 = sa.table(
    "allocations",
    sa.column("audit_id", sa.String),
    sa.column("month", sa.String),
    sa.column("created_at", sa.String),
    sa.column("batch_id", sa.Integer),
    sa.column("prefilled", sa.JSON(none_as_null=True)),
    sa.column("audit_ref", sa.String),
)


@step(4, "every audit gets a readable reference YYYY-MM-NNNN (allocations.audit_ref), numbered in allocation order")
def _audit_reference(conn: Connection) -> None:
    conn.execute(sa.text("ALTER TABLE allocations ADD COLUMN audit_ref VARCHAR"))
    a = _ALLOCATIONS_4
    # Allocation order: by month, then when each was made; SQLite's rowid breaks ties within one second in the
    # order the rows were written (PostgreSQL has no such order, so the audit ID decides there: still stable).
    tie = sa.literal_column("rowid") if conn.dialect.name == "sqlite" else a.c.audit_id
    rows = conn.execute(
        sa.select(a.c.audit_id, a.c.month, a.c.prefilled).order_by(a.c.month, a.c.created_at, a.c.batch_id, tie)
    ).all()
    numbers: dict[str, int] = {}
    for audit_id, month, prefilled in rows:
        numbers[month] = numbers.get(month, 0) + 1
        ref = f"{month}-{numbers[month]:04d}"  # YYYY-MM-NNNN, 5 digits past 9,999
        # The pre-filled values are the truth a returned form is compared with, and what later forms show.
        values = dict(prefilled or {}, audit_ref=ref)
        conn.execute(sa.update(a).where(a.c.audit_id == audit_id).values(audit_ref=ref, prefilled=values))
    conn.execute(sa.text("CREATE UNIQUE INDEX IF NOT EXISTS ux_allocations_audit_ref ON allocations (audit_ref)"))


@step(5, "each month's first report is kept (report_snapshots: the headline rates) so later reports can restate")
def _report_snapshots(conn: Connection) -> None:
    conn.execute(
        sa.text(
            'CREATE TABLE report_snapshots (id INTEGER NOT NULL, month VARCHAR NOT NULL, "key" VARCHAR NOT NULL, '
            "value FLOAT, written_at VARCHAR NOT NULL, PRIMARY KEY (id))"
        )
    )
    conn.execute(sa.text("CREATE INDEX ix_report_snapshots_month ON report_snapshots (month)"))


@step(
    6, "notices keep their send state (Message-ID, status, attempts, sent_at, reply); escalations their last reminder"
)
def _send_state(conn: Connection) -> None:
    for column, kind in (
        ("message_id", "VARCHAR"),
        ("status", "VARCHAR DEFAULT 'draft' NOT NULL"),
        ("attempts", "INTEGER DEFAULT '0' NOT NULL"),
        ("attempted_at", "VARCHAR"),
        ("sent_at", "VARCHAR"),
        ("reply", "VARCHAR"),
    ):
        conn.execute(sa.text(f"ALTER TABLE notices ADD COLUMN {column} {kind}"))
    conn.execute(sa.text("ALTER TABLE escalations ADD COLUMN reminded_on DATE"))


@step(7, "PostgreSQL: report_snapshots numbers its own rows (step 5 made its id there without a sequence)")
def _report_snapshots_sequence(conn: Connection) -> None:
    # SQLite numbers an INTEGER PRIMARY KEY by itself; PostgreSQL needs a sequence, which a new register gets from
    # SQLAlchemy (SERIAL) but step 5's plain DDL did not make, so a migrated register could not keep a report.
    if conn.dialect.name != "postgresql":
        return
    conn.execute(sa.text("CREATE SEQUENCE IF NOT EXISTS report_snapshots_id_seq OWNED BY report_snapshots.id"))
    conn.execute(
        sa.text(
            "SELECT setval('report_snapshots_id_seq', COALESCE((SELECT MAX(id) FROM report_snapshots), 0) + 1, false)"
        )
    )
    conn.execute(sa.text("ALTER TABLE report_snapshots ALTER COLUMN id SET DEFAULT nextval('report_snapshots_id_seq')"))


_check_order()
