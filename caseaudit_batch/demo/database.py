"""``caseaudit demo --database URL``: the demo played on a database server (issue 23), which may be shared, so the
demo must never touch a register that is not its own."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from caseaudit_batch.core import register as reg
from caseaudit_batch.core.errors import RegisterError

#: Every member of the synthetic authority has an address at this domain (``demo/synthetic.py``); ``.example`` is
#: reserved for examples (RFC 2606), so no real authority's register has them.
DEMO_DOMAIN = "@demoshire.example"


def clear_for_demo(url: str, *, keep: bool) -> None:
    """Make ``url`` ready for a demo: an empty database is used as it is; a demo's register is emptied (or, with
    ``keep``, continued); anything else, a real register included, is refused with REG024 (exit 2)."""
    register_url = reg.server_url(url, "", Path("."))
    engine = sa.create_engine(register_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            tables = set(sa.inspect(conn).get_table_names())
            if not tables:
                return
            if "schema_version" not in tables or "staff" not in tables or not _is_demo(conn):
                raise RegisterError("REG024", where=reg.safe_url(url))
        if not keep:
            with engine.begin() as conn:
                reg.metadata.drop_all(conn)
    except sa.exc.SQLAlchemyError as exc:
        known = reg.register_failure(exc, reg.safe_url(url))
        raise (known or RegisterError("REG002", where=reg.safe_url(url), detail=type(exc).__name__)) from None
    finally:
        engine.dispose()


def _is_demo(conn: sa.Connection) -> bool:
    """A register every one of whose staff (at least one) has a demo address."""
    staff = reg.staff
    total = conn.execute(sa.select(sa.func.count()).select_from(staff)).scalar() or 0
    demo = (
        conn.execute(
            sa.select(sa.func.count()).select_from(staff).where(staff.c.email.like(f"%{DEMO_DOMAIN}"))
        ).scalar()
        or 0
    )
    return total > 0 and demo == total
