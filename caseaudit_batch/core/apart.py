"""Work done in a short-lived child process, its result handed back: what the work leaves behind goes with the child.

Python keeps the memory a process has freed, scattered among what is still alive, for the process to reuse; it is
seldom given back. Work that makes and drops a lot (the reports read a year's typed answers, about 380,000 texts,
to tag them) leaves the process that large for as long as it lives, and a worker forked from it later shares and
copies those pages too (issue 25: the reports' peak of memory). Done in a child forked for it, only the result comes
back, as a pickle in a temporary file read once the child has exited, and everything else is freed with the child.

A child started with :func:`started` works while this process goes on with other work, on the machine's other core
(issue 25: ingest's QA workbook is made while the action register is brought up to date and the notices staged).

The child is an optimisation, never a second way of failing: where ``fork`` is not available, or the child fails
for any reason (an error in the work, a result that cannot be pickled, the child killed), :func:`in_child` returns
``None`` and the caller does the work itself, so that any error is raised, and reported, exactly as before.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import pickle
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Generic, TypeVar

from caseaudit_batch.core.outputs import scratch_file

T = TypeVar("T")

log = logging.getLogger(__name__)


class Apart(Generic[T]):
    """Work in a forked child, started and not yet collected: :meth:`result` waits for it."""

    def __init__(self, pid: int, spool: IO[bytes]) -> None:
        self._pid: int | None = pid
        self._spool = spool

    def result(self) -> T | None:
        """The work's result once the child has exited; ``None`` if the child failed (the caller does the work)."""
        if self._pid is None:
            return None
        _, status = os.waitpid(self._pid, 0)
        self._pid = None
        if status != 0:
            log.info("the work done apart failed in its child process (status %d); done in this process", status)
            return None
        try:
            self._spool.seek(0)
            result: T = pickle.load(self._spool)
        except Exception:  # noqa: BLE001 - a pickle that cannot be read: the parent does the work itself
            return None
        return result

    def abandon(self) -> None:
        """The result is not wanted (the command failed first): end the child and wait for it."""
        if self._pid is not None:
            with contextlib.suppress(OSError):
                os.kill(self._pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self._pid, 0)
            self._pid = None


@contextlib.contextmanager
def started(work: Callable[[], T], *, folder: Path) -> Iterator[Apart[T] | None]:
    """``work()`` begun in a forked child process, for this process to collect with ``result()`` inside the block
    (``None`` where no child could be started: the caller does the work itself). A child not collected when the
    block ends (an error came first) is ended then; its scratch file goes with the block.

    The child pickles its result into a scratch file in ``folder`` (:func:`~caseaudit_batch.core.outputs.scratch_file`:
    the output folder) and exits; only then is it read here. So the child's memory is given back before this process
    builds its copy of the result, and the two are never held at once (through a pipe they were: issue 25, the
    reports' peak of memory).

    The child shares this process's memory copy-on-write and must not use what this process is using: an open
    database connection, say (``work`` opens its own, or is given what it needs already read). It ends with
    ``os._exit``, so it runs no exit handlers and flushes none of this process's buffered output."""
    if not hasattr(os, "fork"):
        yield None
        return
    with contextlib.ExitStack() as stack:
        try:
            spool = stack.enter_context(scratch_file(folder))
        except OSError:
            yield None
            return
        try:
            pid = os.fork()
        except OSError:
            yield None
            return
        if pid == 0:  # pragma: no cover - the child: what it does is seen in the parent's result
            code = 1
            try:
                # The collector would visit, and so copy, every page of the heap the child shares with this process.
                gc.freeze()
                pickle.dump(work(), spool, protocol=pickle.HIGHEST_PROTOCOL)
                spool.flush()
                code = 0
            except BaseException:  # noqa: BLE001 - any failure: the parent does the work itself
                code = 1
            finally:
                os._exit(code)
        job: Apart[T] = Apart(pid, spool)
        try:
            yield job
        finally:
            job.abandon()


def in_child(work: Callable[[], T], *, folder: Path) -> T | None:
    """``work()`` in a forked child process, its result handed back; ``None`` if that could not be done (see
    :func:`started`, which this waits for at once)."""
    with started(work, folder=folder) as job:
        return job.result() if job is not None else None
