"""The garbage collector's view of the heap: what is already alive is frozen for a block.

A full collection visits every object the process holds. A month's reports hold about a million (the register's
rows as frames, the tagged points), and the demo process holds a year's worth: each full collection there took about
0.12 s, and Python makes one whenever the long-lived objects have grown by a quarter, so the collector was about a
tenth of the demo's CPU (issue 25: 6.6 s of 65 s, measured with ``gc.callbacks``). Frozen, the objects alive when
a block starts are left out of every collection in it; only what the block makes is visited.

Frozen objects are still freed when nothing refers to them (reference counting is untouched); only a reference
cycle among them that becomes garbage within the block waits for the block's end to be collected. Workers forked
inside a block share the frozen pages without their collector touching (and so copying) them.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

_depth = 0  # the frozen() blocks open: only the outermost gives the objects back to the collector


@contextlib.contextmanager
def frozen(*, collect: bool = False) -> Iterator[None]:
    """Freeze what is alive now for the block (``gc.freeze``); on leaving the outermost block, unfreeze it.

    ``collect``: collect first, so that garbage already made is freed rather than frozen (the demo starts each
    month so: the last month's documents and charts go, the authority's register stays frozen). A block inside
    another adds what has been made since to the frozen objects, and leaves them frozen for the enclosing block."""
    global _depth
    if collect:
        gc.collect()
    gc.freeze()
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            gc.unfreeze()
