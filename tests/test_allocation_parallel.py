"""``allocate`` making its forms and notices on worker processes (issue 25) gives what making them here gives: the
same files with the same bytes, the same register rows in the same order, the same notices and outbox; and a pool
that cannot start, or fails, leaves the forms to be made here."""

from __future__ import annotations

import multiprocessing
import re
import shutil
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from caseaudit_batch import session
from caseaudit_batch.allocation import issue
from caseaudit_batch.allocation import stage as allocation_stage
from caseaudit_batch.core.ids import SeededIds
from caseaudit_batch.demo import synthetic
from caseaudit_batch.demo.player import write_synthetic_authority

pytestmark = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="workers are forked")


@pytest.fixture
def authority(workspace: Path) -> Path:
    write_synthetic_authority(workspace, synthetic.make_authority(24, today=date(2026, 9, 1)))
    return workspace


def _allocate(folder: Path) -> dict[str, Any]:
    ctx = session.open_context(folder / "caseaudit.toml", "2026-09-01", ids=SeededIds("parallel"))
    try:
        result = allocation_stage.allocate_month(ctx, "2026-09")
    finally:
        ctx.close()
    out = folder / "output" / "2026-09"
    files = {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    notices = {}
    for name, data in files.items():
        if name.endswith(".eml"):
            text = data.decode("ascii")
            boundary = re.search(r'boundary="([^"]+)"', text)
            text = text.replace(boundary.group(1), "BOUNDARY") if boundary else text
            notices[name] = re.sub(r"(?m)^(Date|X-Caseaudit-Made-At): .*$", r"\1: -", text)
    outbox = [line.split(",")[:4] for line in files["outbox.csv"].decode("utf-8").splitlines()]
    book = openpyxl.load_workbook(out / "allocations.xlsx")
    cells = [[c.value for row in ws.iter_rows() for c in row] for ws in book.worksheets]
    register = {}
    with sqlite3.connect(folder / "caseaudit.sqlite") as db:
        for table in ("allocations", "allocation_notes", "notices"):
            cursor = db.execute(f"SELECT * FROM {table} ORDER BY rowid")
            keep = [i for i, d in enumerate(cursor.description) if not d[0].endswith("_at")]
            register[table] = [[row[i] for i in keep] for row in cursor]
    forms = {name: data for name, data in files.items() if name.endswith(".xlsx") and name != "allocations.xlsx"}
    return {
        "summary": [line.replace(str(folder), "<folder>") for line in result.lines],
        "forms": forms,
        "notices": notices,
        "outbox": outbox,
        "allocations.xlsx": cells,
        "register": register,
    }


def test_forms_made_by_workers_are_those_made_here(authority: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = authority.parent / "copy"
    shutil.copytree(authority, copy)
    monkeypatch.setattr(issue, "PARALLEL_FROM", 10**9)
    here = _allocate(copy)
    made_here: list[str] = []
    real = issue.make

    def counted(maker: issue.Maker, making: issue.Making) -> tuple[bytes, bytes]:
        made_here.append(making.filename)  # in a worker, recorded in the worker's own copy
        return real(maker, making)

    monkeypatch.setattr(issue, "PARALLEL_FROM", 2)
    monkeypatch.setattr(issue, "make", counted)
    workers = _allocate(authority)
    assert len(here["forms"]) > 10
    assert len(here["notices"]) == len(here["forms"])
    assert workers == here
    assert made_here == []  # every form was made by a worker


def _allocated_alone(authority: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What a copy of ``authority`` allocates with every form made in this process: what a pool must match."""
    copy = authority.parent / "copy"
    shutil.copytree(authority, copy)
    monkeypatch.setattr(issue, "PARALLEL_FROM", 10**9)
    return _allocate(copy)


def test_a_pool_that_cannot_start_leaves_the_forms_to_be_made_here(
    authority: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    here = _allocated_alone(authority, monkeypatch)

    class NoFork:
        def Pool(self, *args: object, **kwargs: object) -> None:
            raise OSError("no processes left")

    monkeypatch.setattr(issue, "PARALLEL_FROM", 2)
    monkeypatch.setattr(issue.multiprocessing, "get_context", lambda method: NoFork())
    assert _allocate(authority) == here
    assert "worker pool did not start" in caplog.text


def _failing(job: object) -> list[tuple[bytes, bytes]]:
    raise RuntimeError("a worker failed")


def test_a_pool_that_fails_leaves_the_rest_to_be_made_here(
    authority: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    here = _allocated_alone(authority, monkeypatch)
    monkeypatch.setattr(issue, "PARALLEL_FROM", 2)
    monkeypatch.setattr(issue, "_make_in_worker", _failing)
    assert _allocate(authority) == here
    assert "worker pool failed after 0 forms" in caplog.text


def test_a_file_a_worker_cannot_write_is_the_commands_fault(authority: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The workers write the forms and notices at their staged paths; one they cannot write (a full disk) fails the
    command as one written here would (OUT001, exit 73), and nothing of the allocation is kept."""
    real = issue.write_reserved

    def full_disk(staged: str, data: bytes) -> str | None:
        return "the disk is full" if staged.endswith("allocation.eml") and "-0005_" in staged else real(staged, data)

    monkeypatch.setattr(issue, "PARALLEL_FROM", 2)
    monkeypatch.setattr(issue, "write_reserved", full_disk)  # before the fork: the workers have it too
    with pytest.raises(issue.OutputError) as raised:
        _allocate(authority)
    assert raised.value.code == "OUT001" and raised.value.exit_code == 73
    assert "the disk is full" in raised.value.message and "-0005_" in raised.value.message
    out = authority / "output" / "2026-09"
    assert not out.exists() or not list(out.rglob("*.xlsx"))
    with sqlite3.connect(authority / "caseaudit.sqlite") as db:
        assert db.execute("SELECT count(*) FROM allocations").fetchone() == (0,)
