"""Staged outputs: within a batch the files are written by background threads while the command goes on, and
nothing about what ends up staged, or how a failed write is reported, may change because of it."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest

from caseaudit_batch.core import outputs
from caseaudit_batch.core.errors import OutputError


def test_a_batch_stages_every_file_and_the_later_bytes_of_a_file_written_twice_win(tmp_path: Path) -> None:
    staging = outputs.Staging(tmp_path / "output")
    finals = [tmp_path / "output" / "2026-09" / "notices" / f"n{i}.eml" for i in range(50)]
    with staging.batch():
        for i, final in enumerate(finals):
            staging.write_bytes(final, f"notice {i}".encode())
        staging.write_bytes(finals[7], b"second version")
    files = staging.root / "files"
    staged = {p.relative_to(files).as_posix(): p.read_bytes() for p in files.rglob("*") if p.is_file()}
    assert len(staged) == 50
    assert staged["2026-09/notices/n7.eml"] == b"second version"
    assert staged["2026-09/notices/n49.eml"] == b"notice 49"
    journal = json.loads((staging.root / outputs.JOURNAL).read_text("utf-8"))
    assert sorted(journal) == sorted(staged)
    moved = staging.publish()
    assert len(moved) == 50 and finals[7].read_bytes() == b"second version"


def test_a_write_that_fails_in_a_batch_is_reported_at_its_end_naming_the_first_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = Path.write_bytes

    def full_disk(self: Path, data: bytes) -> int:
        if self.name.startswith("bad"):
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    staging = outputs.Staging(tmp_path / "output")
    with pytest.raises(OutputError) as raised, staging.batch():
        staging.write_bytes(tmp_path / "output" / "good.eml", b"fine")
        staging.write_bytes(tmp_path / "output" / "bad1.eml", b"lost")
        staging.write_bytes(tmp_path / "output" / "bad2.eml", b"lost")
    assert raised.value.code == "OUT001"
    assert "bad1.eml" in str(raised.value) and "the disk is full" in str(raised.value)


def test_a_batch_holds_at_most_a_bounded_amount_waiting_to_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 25: when the writing threads fall behind, each write waiting holds its bytes (a 5,000-form month's
    notices queued 90 MB); past QUEUED_BYTES the command waits for the oldest writes, and every file still lands."""
    import threading
    import time

    monkeypatch.setattr(outputs, "QUEUED_BYTES", 10_000)
    real = Path.write_bytes
    lock = threading.Lock()
    state = {"waiting": 0, "most": 0}

    def slow_disk(self: Path, data: bytes) -> int:
        time.sleep(0.002)
        with lock:
            state["waiting"] -= len(data)
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", slow_disk)
    staging = outputs.Staging(tmp_path / "output")
    finals = [tmp_path / "output" / "notices" / f"n{i}.eml" for i in range(60)]
    with staging.batch():
        for i, final in enumerate(finals):
            with lock:
                state["waiting"] += 1_000
                state["most"] = max(state["most"], state["waiting"])
            staging.write_bytes(final, bytes([i]) * 1_000)
    assert state["most"] <= 10_000 + 1_000  # the limit, and the file about to be queued
    assert {p.name: p.read_bytes() for p in staging.publish()} == {
        f.name: bytes([i]) * 1_000 for i, f in enumerate(finals)
    }


def test_a_batch_inside_a_batch_is_part_of_it(tmp_path: Path) -> None:
    """Every command's block is a batch, and allocation and ingest open one of their own inside it: the inner one
    must neither write the journal early nor stop the outer one's background writes."""
    staging = outputs.Staging(tmp_path / "output")
    journal = staging.root / outputs.JOURNAL
    with staging.batch():
        staging.write_bytes(tmp_path / "output" / "a.eml", b"a")
        with staging.batch():
            staging.write_bytes(tmp_path / "output" / "b.eml", b"b")
        assert not journal.exists()
        staging.write_bytes(tmp_path / "output" / "c.eml", b"c")
    assert sorted(json.loads(journal.read_text("utf-8"))) == ["a.eml", "b.eml", "c.eml"]
    assert [p.read_bytes() for p in staging.publish()] == [b"a", b"b", b"c"]


def test_a_scratch_file_is_in_the_folder_given_readable_by_its_user_only_and_never_named(tmp_path: Path) -> None:
    """Issue 25: case content on its way through a run (the reports' tagged answers, ingest's drafted notices) is
    spooled beside the outputs, not in the system's shared temporary folder, and leaves nothing behind."""
    import os
    import stat as stat_mod

    with outputs.scratch_file(tmp_path) as spool:
        spool.write(b"Case CR123: the child's words")
        spool.seek(0)
        assert spool.read() == b"Case CR123: the child's words"
        if os.path.isdir("/proc/self/fd"):  # Linux: where the open file lies
            assert os.path.dirname(os.path.realpath(f"/proc/self/fd/{spool.fileno()}")) == str(tmp_path.resolve())
        assert stat_mod.S_IMODE(os.fstat(spool.fileno()).st_mode) & 0o077 == 0
        assert list(tmp_path.iterdir()) == []
    assert list(tmp_path.iterdir()) == []
