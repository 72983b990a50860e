"""Work done in a short-lived child process (core/apart.py, issue 25): its result comes back; any failure gives
``None``, for the caller to do the work itself."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from caseaudit_batch.core import apart

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="a forked child needs os.fork")

SEEN: list[str] = []


def test_the_work_is_done_in_a_child_and_its_result_comes_back(tmp_path: Path) -> None:
    def work() -> dict[str, object]:
        SEEN.append("in the child")  # the child's own copy of the list
        return {"pid": os.getpid(), "frame": pd.DataFrame({"audit_id": ["A1", None], "n": [1, 2]})}

    result = apart.in_child(work, folder=tmp_path)
    assert result is not None
    assert result["pid"] != os.getpid()
    pd.testing.assert_frame_equal(result["frame"], pd.DataFrame({"audit_id": ["A1", None], "n": [1, 2]}))
    assert SEEN == []  # what the child did to its memory stayed in the child


def test_the_result_is_handed_over_in_a_file_that_leaves_nothing_behind(tmp_path: Path) -> None:
    """The child's pickle is read once the child has exited (so the two are never held at once), from an unnamed
    temporary file in the folder given: nothing is left there, whether the child succeeded or not."""
    big = list(range(200_000))  # a pickle larger than a pipe holds
    assert apart.in_child(lambda: big, folder=tmp_path) == big
    assert apart.in_child(lambda: 1 / 0, folder=tmp_path) is None
    assert list(tmp_path.iterdir()) == []


def test_an_error_in_the_work_gives_none(tmp_path: Path) -> None:
    def work() -> int:
        raise ValueError("the register is locked")

    assert apart.in_child(work, folder=tmp_path) is None


def test_a_result_that_cannot_be_pickled_gives_none(tmp_path: Path) -> None:
    assert apart.in_child(lambda: lambda: 1, folder=tmp_path) is None


def test_a_child_that_ends_without_a_result_gives_none(tmp_path: Path) -> None:
    def work() -> int:
        os._exit(7)

    assert apart.in_child(work, folder=tmp_path) is None


def test_without_fork_the_caller_is_told_to_do_the_work(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delattr(os, "fork")
    assert apart.in_child(lambda: 1, folder=tmp_path) is None
