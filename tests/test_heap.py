"""core/heap.py: what is alive is frozen for a block, nested blocks leave it frozen for the outer one, and garbage is
collected (not frozen) when asked (issue 25: the demo's collector visited a year's objects again and again)."""

from __future__ import annotations

import gc
import weakref

import pytest

from caseaudit_batch.core import heap


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def _cycle() -> weakref.ref[Node]:
    a, b = Node(), Node()
    a.other, b.other = b, a  # freed only by the collector
    return weakref.ref(a)


@pytest.fixture(autouse=True)
def _unfrozen() -> None:
    gc.unfreeze()  # each test starts with nothing frozen, whatever ran before it in this process


def test_a_block_freezes_what_is_alive_and_gives_it_back() -> None:
    kept = Node()
    with heap.frozen():
        assert gc.get_freeze_count() > 0
        assert not any(o is kept for o in gc.get_objects())  # frozen objects are out of the collector's lists
    assert gc.get_freeze_count() == 0
    assert any(o is kept for o in gc.get_objects())


def test_an_inner_block_leaves_the_outer_blocks_objects_frozen() -> None:
    with heap.frozen():
        outer = gc.get_freeze_count()
        with heap.frozen():
            assert gc.get_freeze_count() >= outer
        assert gc.get_freeze_count() >= outer > 0  # the inner block did not unfreeze the outer one's objects
    assert gc.get_freeze_count() == 0


def test_collect_frees_garbage_rather_than_freezing_it() -> None:
    dead = _cycle()
    with heap.frozen(collect=True):
        assert dead() is None
    frozen_dead = _cycle()
    with heap.frozen():  # not collected first: the cycle is frozen, and outlives a collection inside the block
        gc.collect()
        assert frozen_dead() is not None
    gc.collect()
    assert frozen_dead() is None  # given back to the collector at the block's end


def test_an_error_in_the_block_still_unfreezes() -> None:
    with pytest.raises(RuntimeError), heap.frozen():
        raise RuntimeError("the command failed")
    assert gc.get_freeze_count() == 0
