"""Work done in a short-lived child process, its result handed back: what the work leaves behind goes with the child.

Python keeps the memory a process has freed, scattered among what is still alive, for the process to reuse; it is
seldom given back. Work that makes and drops a lot (the reports read a year's typed answers, about 380,000 texts,
to tag them) leaves the process that large for as long as it lives, and a worker forked from it later shares and
copies those pages too (issue 25: the reports' peak of memory). Done in a child forked for it, only the result comes
back, as a pickle in a temporary file read once the child has exited, and everything else is freed with the child.

The child is an optimisation, never a second way of failing: where ``fork`` is not available, or the child fails
for any reason (an error in the work, a result that cannot be pickled, the child killed), :func:`in_child` returns
``None`` and the caller does the work itself, so that any error is raised, and reported, exactly as before.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from caseaudit_batch.core.outputs import scratch_file

T = TypeVar("T")

log = logging.getLogger(__name__)


def in_child(work: Callable[[], T], *, folder: Path) -> T | None:
    """``work()`` in a forked child process, its result handed back; ``None`` if that could not be done.

    The child pickles its result into a scratch file in ``folder`` (:func:`~caseaudit_batch.core.outputs.scratch_file`:
    the output folder) and exits; only then is it read here. So the child's memory is
    given back before this process builds its copy of the result, and the two are never held at once (through a
    pipe they were: issue 25, the reports' peak of memory).

    The child shares this process's memory copy-on-write and must not use what this process is using: an open
    database connection, say (``work`` opens its own). It ends with ``os._exit``, so it runs no exit handlers and
    flushes none of this process's buffered output."""
    if not hasattr(os, "fork"):
        return None
    with contextlib.ExitStack() as stack:
        try:
            spool = stack.enter_context(scratch_file(folder))
        except OSError:
            return None
        try:
            pid = os.fork()
        except OSError:
            return None
        if pid == 0:  # pragma: no cover - the child: what it does is seen in the parent's result
            code = 1
            try:
                pickle.dump(work(), spool, protocol=pickle.HIGHEST_PROTOCOL)
                spool.flush()
                code = 0
            except BaseException:  # noqa: BLE001 - any failure: the parent does the work itself
                code = 1
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        if status != 0:
            log.info("the work done apart failed in its child process (status %d); done in this process", status)
            return None
        try:
            spool.seek(0)
            result: T = pickle.load(spool)
        except Exception:  # noqa: BLE001 - a pickle that cannot be read: the parent does the work itself
            return None
    return result
