"""The register: the single-writer lock across processes and kill-safety of a write."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from caseaudit_batch import session
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.errors import LockBusy, RegisterError
from caseaudit_batch.core.register import Register

CHILD_PRELUDE = """
import os, sys, time, signal
import sqlalchemy as sa
from caseaudit_batch import session
from caseaudit_batch.core import register as reg
ctx = session.open_context(sys.argv[1], "2026-09-01")
"""


def _child(code: str, config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD_PRELUDE + textwrap.dedent(code), str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} never appeared")
        time.sleep(0.05)


def _count(ctx: session.Context, table: sa.Table) -> int:
    with ctx.register.reader() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_second_writer_fails_at_once_while_first_holds_the_lock(workspace: Path, ctx: session.Context) -> None:
    ready = workspace / "ready"
    child = _child(
        f"""
        with ctx.register.lock():
            open({str(ready)!r}, "w").close()
            time.sleep(30)
        """,
        workspace / "caseaudit.toml",
    )
    try:
        _wait_for(ready)
        started = time.monotonic()
        with pytest.raises(LockBusy) as info, ctx.register.lock():
            pass
        assert time.monotonic() - started < 2, "the second writer must not wait"
        assert info.value.exit_code == 75
        assert "Another caseaudit run is in progress" in info.value.message
    finally:
        child.kill()
        child.wait()
    with ctx.register.lock():  # released when the holder died
        pass


def test_a_child_killed_mid_transaction_leaves_the_register_unchanged(workspace: Path, ctx: session.Context) -> None:
    before = _count(ctx, reg.staff)
    runs_before = _count(ctx, reg.run_log)
    ready = workspace / "ready"
    child = _child(
        f"""
        with session.writing(ctx, "test", {{}}) as run:
            for i in range(500):
                run.conn.execute(sa.insert(reg.staff).values(staff_id=f"S{{i}}", name="Synthetic", role="Team Manager"))
            run.staging.write_bytes(ctx.config.output_dir / "2026-09" / "form.xlsx", b"staged")
            open({str(ready)!r}, "w").close()
            time.sleep(30)
        """,
        workspace / "caseaudit.toml",
    )
    _wait_for(ready)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert _count(ctx, reg.staff) == before
    assert _count(ctx, reg.run_log) == runs_before
    assert not (ctx.config.output_dir / "2026-09" / "form.xlsx").exists()
    # The next writing command discards the dead run's staged files.
    with session.writing(ctx, "next", {}):
        pass
    assert not any((ctx.config.output_dir / ".staging").iterdir())


def test_files_of_a_committed_run_are_moved_into_place_by_the_next_run(workspace: Path, ctx: session.Context) -> None:
    final = ctx.config.output_dir / "2026-09" / "notice.eml"
    child = _child(
        """
        from caseaudit_batch.core import outputs
        outputs.Staging.publish = lambda self: os.kill(os.getpid(), signal.SIGKILL)
        with session.writing(ctx, "test", {}) as run:
            run.conn.execute(sa.insert(reg.staff).values(staff_id="S1", name="Synthetic", role="Team Manager"))
            run.staging.write_bytes(ctx.config.output_dir / "2026-09" / "notice.eml", b"committed")
        """,
        workspace / "caseaudit.toml",
    )
    child.wait()
    assert child.returncode == -signal.SIGKILL
    assert _count(ctx, reg.staff) == 1  # the transaction committed
    assert not final.exists()  # ... but the file was never moved
    with session.writing(ctx, "next", {}):
        pass
    assert final.read_bytes() == b"committed"


def test_a_failed_block_rolls_back_and_leaves_no_files(ctx: session.Context) -> None:
    final = ctx.config.output_dir / "2026-09" / "x.txt"
    with pytest.raises(RuntimeError), session.writing(ctx, "test", {}) as run:
        run.conn.execute(sa.insert(reg.staff).values(staff_id="S1", name="Synthetic", role="Team Manager"))
        run.staging.write_bytes(final, b"x")
        raise RuntimeError("boom")
    assert _count(ctx, reg.staff) == 0
    assert not final.exists()


@pytest.mark.sqlite_only
def test_sqlite_register_uses_wal(ctx: session.Context) -> None:
    with ctx.register.reader() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    register = Register.open(url, create=True)
    with register.engine.begin() as conn:
        conn.execute(sa.update(reg.schema_version).values(version=reg.SCHEMA_VERSION + 1))
    register.close()
    with pytest.raises(RegisterError) as info:
        Register.open(url)
    assert info.value.code == "REG003"
