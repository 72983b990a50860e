"""Ingest's forms checked while the inbox is still being listed, and its QA workbook written apart (issue 25).

``files.gather_each`` gives each file's entry as soon as it is hashed and settled; ``record.check_audits`` starts
its workers once a hundred pending files are known and sends them the rest in chunks as they come, so the listing
no longer holds the workers up. The QA workbook of a large month is written by a child process
(``core.apart.started``) while the action register is brought up to date and the notices are staged."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from test_ingest import setup_form

from caseaudit_batch import session
from caseaudit_batch.core import apart
from caseaudit_batch.ingest import files as inbox_files
from caseaudit_batch.ingest import record as ingest
from caseaudit_batch.ingest import stage as ingest_stage

needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="the workers and the child are forked")


def _entries(folder: Path, names: list[str]) -> list[inbox_files.Entry]:
    return [inbox_files.Entry(path=folder / n, rel=n, size=1, mtime=1.0, sha256=f"hash-{n}") for n in names]


def _checked_where(folder: Path) -> ingest.Drafter:
    """A stand-in for the form check: the outcome names the process that gave it, and a file says it was done."""
    parent = os.getpid()

    def check(entry: inbox_files.Entry, book: object, inbox: str = "audits") -> None:
        where = "here" if os.getpid() == parent else "worker"
        (folder / f"checked-{entry.rel}").touch()
        entry.settle("accepted", note=where)
        entry.audit_id = entry.rel

    return check  # type: ignore[return-value]


def _checking(monkeypatch: pytest.MonkeyPatch, folder: Path, parallel_from: int = 2, chunk: int = 32) -> None:
    """check_audits with the stand-in check, its pool started from ``parallel_from`` files, ``chunk`` to a job."""
    monkeypatch.setattr(ingest, "check_audit_safely", _checked_where(folder))
    monkeypatch.setattr(ingest, "PARALLEL_FROM", parallel_from)
    monkeypatch.setattr(ingest, "CHUNK", chunk)


# ---------------------------------------------------------------------------------------------------------------
# files.gather_each
# ---------------------------------------------------------------------------------------------------------------
def test_the_listing_gives_each_file_before_reading_the_next(tmp_path: Path) -> None:
    """Each entry comes as soon as its own file is read: a file deleted after the first entry was given is
    found gone when its turn comes (IN007), which it could not be if every file had been read first."""
    for name in ("a.xlsx", "b.xlsx", "c.xlsx"):
        (tmp_path / name).write_bytes(b"PK form " + name.encode())
    listing = inbox_files.gather_each(None, "audits", tmp_path)
    first = next(listing)
    (tmp_path / "b.xlsx").unlink()
    rest = list(listing)
    assert first.rel == "a.xlsx" and first.pending and first.sha256
    assert [(e.rel, e.outcome, e.codes) for e in rest] == [("b.xlsx", "ignored", ["IN007"]), ("c.xlsx", "", [])]


def test_the_listing_settles_a_copy_against_the_files_before_it(tmp_path: Path) -> None:
    """An identical copy is a duplicate of the first file with those bytes, whichever order they are given in;
    gather is the listing taken whole."""
    for name in ("a.xlsx", "b.xlsx"):
        (tmp_path / name).write_bytes(b"PK the same bytes")
    given = [(e.rel, e.outcome, e.codes) for e in inbox_files.gather_each(None, "audits", tmp_path)]
    assert given == [("a.xlsx", "", []), ("b.xlsx", "duplicate", ["IN101"])]
    assert [(e.rel, e.outcome, e.codes) for e in inbox_files.gather(None, "audits", tmp_path)] == given


# ---------------------------------------------------------------------------------------------------------------
# record.check_audits on a listing still in progress
# ---------------------------------------------------------------------------------------------------------------
@needs_fork
def test_the_workers_begin_while_the_listing_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _checking(monkeypatch, tmp_path, parallel_from=4, chunk=2)
    entries = _entries(tmp_path, [f"{n:02d}.xlsx" for n in range(10)])
    seen_while_listing: list[bool] = []

    def listing() -> Iterator[inbox_files.Entry]:
        for n, entry in enumerate(entries):
            yield entry
            if n == 5:  # the pool has the first chunks: wait (a while at most) for a worker to check one
                deadline = time.monotonic() + 20
                while not (tmp_path / "checked-00.xlsx").exists() and time.monotonic() < deadline:
                    time.sleep(0.01)
                seen_while_listing.append((tmp_path / "checked-00.xlsx").exists())

    given = ingest.check_audits(listing(), book=object(), workers=2)  # type: ignore[arg-type]
    assert seen_while_listing == [True]
    assert given == entries  # every entry, in the listing's order
    assert [e.message for e in entries] == ["worker"] * 10
    assert [e.audit_id for e in entries] == [e.rel for e in entries]  # each its own result


@needs_fork
def test_settled_files_are_given_back_in_place_and_not_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _checking(monkeypatch, tmp_path, chunk=3)
    entries = _entries(tmp_path, [f"{n}.xlsx" for n in range(8)])
    for entry in entries[1::3]:
        entry.settle("duplicate", "IN101", note="a copy")
    given = ingest.check_audits(iter(entries), book=object(), workers=2)  # type: ignore[arg-type]
    assert given == entries
    assert [e.outcome for e in entries] == ["accepted", "duplicate", "accepted"] * 2 + ["accepted", "duplicate"]
    assert not (tmp_path / "checked-1.xlsx").exists() and not (tmp_path / "checked-4.xlsx").exists()
    assert {e.message for e in entries if e.outcome == "accepted"} == {"worker"}


@needs_fork
def test_a_failed_pool_leaves_the_rest_to_be_checked_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A chunk that fails in its worker (not a form's own failure, which is that form's outcome) stops the pool;
    every file without its outcome yet, sent or still to be listed, is checked in this process."""
    _checking(monkeypatch, tmp_path, chunk=2)
    monkeypatch.setattr(ingest, "_check_in_worker", _failing_chunk)
    entries = _entries(tmp_path, [f"{n}.xlsx" for n in range(7)])
    ingest.check_audits(iter(entries), book=object(), workers=2)  # type: ignore[arg-type]
    assert all(e.outcome == "accepted" for e in entries)
    assert [e.message for e in entries[:2]] == ["worker", "worker"]
    assert [e.message for e in entries[2:4]] == ["here", "here"]  # the failed chunk
    assert ingest._WORKER_JOB is None  # the pool is gone


_REAL_CHECK_IN_WORKER = ingest._check_in_worker


def _failing_chunk(chunk: list[inbox_files.Entry]) -> list[tuple[object, ...]]:
    """The worker's function, failing on the chunk that begins with 2.xlsx (at module level: the pool sends it by
    name)."""
    if chunk[0].rel == "2.xlsx":
        raise MemoryError("the worker ran out of memory")
    return _REAL_CHECK_IN_WORKER(chunk)


def test_few_files_are_checked_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _checking(monkeypatch, tmp_path, parallel_from=100)
    entries = _entries(tmp_path, ["a.xlsx", "b.xlsx"])
    assert ingest.check_audits(iter(entries), book=object(), workers=2) == entries  # type: ignore[arg-type]
    assert [e.message for e in entries] == ["here", "here"]


def test_an_error_in_the_listing_itself_is_not_taken_for_the_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The register failing while the inbox is listed is the command's error, raised as before: it is not a
    worker's failure to fall back from."""
    _checking(monkeypatch, tmp_path)

    def listing() -> Iterator[inbox_files.Entry]:
        yield from _entries(tmp_path, ["a.xlsx", "b.xlsx", "c.xlsx"])
        raise OSError("the register's disk went away")

    with pytest.raises(OSError, match="disk went away"):
        ingest.check_audits(listing(), book=object(), workers=2)  # type: ignore[arg-type]
    assert ingest._WORKER_JOB is None


# ---------------------------------------------------------------------------------------------------------------
# core.apart.started
# ---------------------------------------------------------------------------------------------------------------
@needs_fork
def test_work_begun_apart_runs_while_this_process_goes_on(tmp_path: Path) -> None:
    marker = tmp_path / "done-apart"

    def work() -> tuple[int, bytes]:
        marker.touch()
        return os.getpid(), b"x" * 300_000  # more than a pipe holds

    with apart.started(work, folder=tmp_path) as job:
        assert job is not None
        deadline = time.monotonic() + 20
        while not marker.exists() and time.monotonic() < deadline:  # done without this process waiting for it
            time.sleep(0.01)
        assert marker.exists()
        pid, data = job.result() or (0, b"")
    assert pid not in (0, os.getpid()) and data == b"x" * 300_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["done-apart"]  # its scratch file is gone


@needs_fork
def test_work_apart_not_collected_is_ended_with_the_block(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), apart.started(lambda: time.sleep(60), folder=tmp_path) as job:
        assert job is not None
        raise RuntimeError("the command failed first")
    assert job._pid is None  # ended and waited for: no child left behind
    assert list(tmp_path.iterdir()) == []


@needs_fork
def test_work_apart_that_fails_is_done_by_the_caller(tmp_path: Path) -> None:
    with apart.started(lambda: 1 / 0, folder=tmp_path) as job:
        assert job is not None and job.result() is None
        assert job.result() is None  # asked again: still nothing, and no second wait


def test_without_fork_work_apart_is_left_to_the_caller(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delattr(os, "fork", raising=False)
    with apart.started(lambda: 1, folder=tmp_path) as job:
        assert job is None


# ---------------------------------------------------------------------------------------------------------------
# The QA workbook written apart
# ---------------------------------------------------------------------------------------------------------------
def _sheets(path: Path) -> dict[str, list[tuple[object, ...]]]:
    book = openpyxl.load_workbook(io.BytesIO(path.read_bytes()))
    return {ws.title: [tuple(row) for row in ws.iter_rows(values_only=True)] for ws in book.worksheets}


@needs_fork
@pytest.mark.parametrize("apart_from", [0, 10**9], ids=["written apart", "written here"])
def test_the_qa_workbook_is_the_same_written_apart_or_here(
    ctx: session.Context, monkeypatch: pytest.MonkeyPatch, apart_from: int
) -> None:
    monkeypatch.setattr(ingest_stage, "VALIDATION_APART_FROM", apart_from)
    started: list[bool] = []
    real = apart.started

    def watched(*args: object, **kwargs: object) -> object:
        started.append(True)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(apart, "started", watched)
    setup_form(ctx, "a.xlsx")
    setup_form(ctx, "b.xlsx", case_ref="CR2002", changes={"s1_grade": None})
    result = ingest_stage.ingest_inbox(ctx, "2026-09")
    assert started == ([True] if apart_from == 0 else [])
    sheets = _sheets(ctx.config.output_dir / "2026-09" / "validation-2026-09.xlsx")
    assert sheets["Summary"][1][0] == "1 of 2 audits accepted; 1 returned; 0 files rejected"
    [problem] = sheets["Problems"][1:]
    assert problem[:2] == ("b.xlsx", "returned") and problem[4] == "V001"
    assert result.outputs[1].name == "validation-2026-09.xlsx"
