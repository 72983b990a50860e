"""Writing outputs safely: staged until the register commits, then moved into place atomically.

A command writes its files (forms, notices, reports) into ``output/.staging/<token>/``. The token is recorded in
the run log *inside* the command's transaction; after the commit the files are moved into place with
``os.replace``. If the process dies in between, :func:`recover` (run at the start of every writing command)
moves the files of committed runs into place and discards the rest, so nothing committed is lost and no file
ever carries an ID the register never recorded.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import json
import os
import shutil
import stat
import tempfile
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import IO

from caseaudit_batch.core.errors import OutputError

STAGING_DIR = ".staging"
JOURNAL = "journal.json"
QUEUED_BYTES = 16 * 1024 * 1024  # at most this much of a batch's files waits to be written (Staging.write_bytes)


def ensure_dir(path: Path, mode: int = 0o770) -> Path:
    """Create a folder (and parents) with the configured mode; raise :class:`OutputError` when it cannot be.

    Every folder made here gets the mode, parents included (``mkdir(parents=True)`` would give the parents the
    umask's default, often readable by everyone). A folder that already exists is left exactly as its owner set it:
    ``output`` may be a shared folder whose mode (and setgid bit) the authority chose, or even ``/``."""
    try:
        missing = [p for p in (path, *path.parents) if not p.exists()]
        path.mkdir(parents=True, exist_ok=True)
        for folder in missing:
            with contextlib.suppress(PermissionError):
                # A folder made inside a setgid group share inherits the bit; keep it, so the share's group still
                # owns what is made below (only the permission bits come from the configuration).
                inherited = folder.stat().st_mode & stat.S_ISGID
                os.chmod(folder, mode | inherited)
    except OSError as exc:
        raise OutputError("OUT001", path=str(path), detail=_describe(exc)) from None
    return path


def _describe(exc: OSError) -> str:
    reasons = {
        errno.ENOSPC: "the disk is full",
        errno.EROFS: "the folder is read-only",
        errno.EACCES: "permission denied (or the file is open in another program)",
        errno.EPERM: "permission denied",
        errno.EBUSY: "the file is in use by another program",
    }
    return reasons.get(exc.errno or 0, exc.strerror or type(exc).__name__)


def _write_staged(staged: str, final: Path, data: bytes) -> None:
    why = write_reserved(staged, data)
    if why is not None:
        raise OutputError("OUT001", path=str(final), detail=why)


def write_reserved(staged: str, data: bytes) -> str | None:
    """Write a file at a path :meth:`Staging.reserve` gave, from any process (allocate's form workers write their
    forms and notices themselves, rather than send 50 MB back to be written). Returns None, or what went wrong in
    :class:`OutputError`'s words, for the process that owns the staging to raise (an exception made in a worker
    does not survive being sent back whole)."""
    try:
        Path(staged).write_bytes(data)  # made a Path here, on the writing thread or process
    except OSError as exc:
        return _describe(exc)
    return None


def scratch_file(folder: Path) -> IO[bytes]:
    """A temporary file for work in progress that holds case content (the reports' tagged answers on their way back
    from a child process, ingest's drafted notices): in ``folder`` (the output folder, beside what the run writes,
    never the system's shared temporary folder), readable by this user only, and removed when closed. On Linux it
    never has a name (``O_TMPFILE``), so nothing is left even if the command is killed."""
    return tempfile.TemporaryFile(dir=folder)


def atomic_write(final: Path, writer: Callable[[Path], None], file_mode: int = 0o660) -> Path:
    """Write through a temporary file in the same folder, then replace: readers see old or new, never half."""
    ensure_dir(final.parent)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        writer(tmp)
        os.chmod(tmp, file_mode)
        os.replace(tmp, final)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError("OUT001", path=str(final), detail=_describe(exc)) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return final


class Staging:
    """Collects a command's output files until the register has committed."""

    def __init__(self, output_root: Path, *, folder_mode: int = 0o770, file_mode: int = 0o660) -> None:
        self.output_root = output_root
        self.token = uuid.uuid4().hex
        self.folder_mode = folder_mode
        self.file_mode = file_mode
        self.root = output_root / STAGING_DIR / self.token
        self._entries: dict[str, str] = {}
        self._batching = False
        self._resolved_root: Path | None = None
        self._made_dirs: set[str] = set()
        self._writer: ThreadPoolExecutor | None = None
        self._writes: dict[str, Future[None]] = {}  # staged path -> its write, in the order the files were made
        # The writes not yet known to be done, oldest first, with their sizes: see write_bytes.
        self._queued: collections.deque[tuple[Future[None], int]] = collections.deque()
        self._queued_bytes = 0

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Write the journal once at the end of the block instead of once per file (a run that writes a thousand
        notices would otherwise rewrite a growing journal a thousand times), and the files themselves on background
        threads. ``pipeline.writing`` makes every command's block one batch; a batch inside it is part of it. Leave
        the block before committing."""
        if self._batching:  # already in a batch (every command's block is one): this block is part of it
            yield
            return
        self._batching = True
        # The files are written by two threads while the command goes on making the next ones: creating a file
        # costs the disk here up to a millisecond, and allocation and ingest write two files for each audit.
        self._writer = ThreadPoolExecutor(2, thread_name_prefix="staging")
        try:
            yield
        finally:
            self._batching = False
            failed = self._finish_writes()
            if self._entries:
                self._write_journal()
        if failed is not None:
            raise failed  # the first file that could not be written (a full disk, a read-only folder): exit 73

    def path_for(self, final: Path) -> Path:
        """Where to write a file that will end up at ``final`` (which must lie under the output folder)."""
        return Path(self._staged_text(final))

    def reserve(self, final: Path) -> str:
        """Where another process is to write the file that will end up at ``final`` (:func:`write_reserved`); the
        file is listed in the journal now, and a write of it still waiting here is finished first, so that the
        other process's bytes win."""
        staged = self._staged_text(final)
        earlier = self._writes.get(staged)
        if earlier is not None:
            earlier.result()
        return staged

    def _staged_text(self, final: Path) -> str:
        """:meth:`path_for` as a string: :meth:`write_bytes` needs no Path for each of the thousands of files."""
        if self._resolved_root is None:
            self._resolved_root = self.output_root.resolve()
        text = str(final)
        prefix = os.path.join(str(self.output_root), "")
        if text.startswith(prefix) and ".." not in text.split(os.sep):
            # Plainly under the folder (the usual case, thousands of times a run): the same relative path as
            # _relative gives, in string operations rather than pathlib's.
            name = text[len(prefix) :]
        else:
            name = str(self._relative(final))
        staged = os.path.join(str(self.root), "files", name)
        parent = os.path.dirname(staged)
        if parent not in self._made_dirs:  # one mkdir per folder, not per file
            ensure_dir(Path(parent), self.folder_mode)
            self._made_dirs.add(parent)
        self._entries[name] = name
        if not self._batching:
            self._write_journal()
        return staged

    def _relative(self, final: Path) -> Path:
        """``final`` relative to the output folder. A path plainly under the folder (no ``..``) is taken as it is,
        which spares the file system calls of resolving it; anything else is resolved first."""
        assert self._resolved_root is not None
        if ".." not in final.parts:
            for root in (self.output_root, self._resolved_root):
                if final.is_relative_to(root):
                    return final.relative_to(root)
        return final.resolve().relative_to(self._resolved_root)

    def write_bytes(self, final: Path, data: bytes) -> Path:
        staged = self._staged_text(final)
        if self._writer is None:
            _write_staged(staged, final, data)
            return Path(staged)
        earlier = self._writes.get(staged)
        if earlier is not None:
            earlier.result()  # the same file written twice in one batch: the later bytes must win
        # The writing threads can fall behind (making a file costs up to a millisecond here), and each write waiting
        # holds its bytes: a 5,000-form month's notices queued 90 MB (issue 25). So at most QUEUED_BYTES wait; past
        # that, the oldest writes are waited for (they finish first: one queue, first in, first out).
        while self._queued and self._queued_bytes + len(data) > QUEUED_BYTES:
            oldest, size = self._queued.popleft()
            self._queued_bytes -= size
            if not oldest.done():
                wait([oldest])
        while self._queued and self._queued[0][0].done():
            self._queued_bytes -= self._queued.popleft()[1]
        future = self._writer.submit(_write_staged, staged, final, data)
        self._writes[staged] = future
        self._queued.append((future, len(data)))
        self._queued_bytes += len(data)
        return Path(staged)

    def _finish_writes(self) -> OutputError | None:
        """Wait for the batch's writes; the first failure (in the order the files were made) is returned."""
        writer, self._writer = self._writer, None
        if writer is None:
            return None
        writer.shutdown(wait=True)
        writes, self._writes = self._writes, {}
        self._queued.clear()
        self._queued_bytes = 0
        for done in writes.values():
            error = done.exception()
            if isinstance(error, OutputError):
                return error
            if error is not None:
                raise error
        return None

    def _write_journal(self) -> None:
        ensure_dir(self.root, self.folder_mode)
        journal = self.root / JOURNAL
        try:
            journal.write_text(json.dumps(sorted(self._entries)), "utf-8")
            os.chmod(journal, self.file_mode)
        except OSError as exc:  # a full disk here is a named fault (exit 73), not an internal error
            raise OutputError("OUT001", path=str(journal), detail=_describe(exc)) from None

    @property
    def files(self) -> list[Path]:
        return [self.output_root / rel for rel in sorted(self._entries)]

    def publish(self) -> list[Path]:
        """Move every staged file into place (call only after the register committed)."""
        return _publish(self.output_root, self.root, self.folder_mode, self.file_mode)

    def discard(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _publish(output_root: Path, root: Path, folder_mode: int, file_mode: int) -> list[Path]:
    journal = root / JOURNAL
    if not journal.exists():
        shutil.rmtree(root, ignore_errors=True)
        return []
    moved: list[Path] = []
    failed: OutputError | None = None
    ready: set[str] = set()  # folders made (or found) in this publish: one check per folder, not per file
    # The paths as strings joined by os.path, the same places as pathlib's `/` gives (the journal holds paths
    # relative to the output folder, as Staging made them), without pathlib's parsing for each of thousands of files.
    files_root, out = os.path.join(str(root), "files"), str(output_root)
    for rel in json.loads(journal.read_text("utf-8")):
        staged = os.path.join(files_root, rel)
        final = os.path.join(out, rel)
        try:
            # A file already moved on an earlier, interrupted publish is passed over: told by chmod failing rather
            # than by asking first (a run publishes thousands of files, and each question is a system call).
            os.chmod(staged, file_mode)
        except FileNotFoundError:
            continue
        except OSError as exc:
            failed = failed or OutputError("OUT001", path=str(Path(final)), detail=_describe(exc))
            continue
        try:
            parent = os.path.dirname(final)
            if parent not in ready:
                ensure_dir(Path(parent), folder_mode)
                ready.add(parent)
            os.replace(staged, final)
        except OutputError as exc:
            failed = failed or exc
            continue
        except OSError as exc:
            # One file that cannot be replaced (held open, read-only folder) must not hold back the others: they
            # are moved, and this one stays staged so that the next command moves it once the cause is gone.
            failed = failed or OutputError("OUT001", path=str(Path(final)), detail=_describe(exc))
            continue
        moved.append(Path(final))
    if failed is not None:
        raise failed
    shutil.rmtree(root, ignore_errors=True)
    return moved


def recover(
    output_root: Path, committed_tokens: set[str], *, folder_mode: int = 0o770, file_mode: int = 0o660
) -> tuple[list[Path], int]:
    """Finish interrupted moves: publish staging folders whose run committed, discard the others.

    Returns the files moved into place and the number of staging folders discarded.
    """
    base = output_root / STAGING_DIR
    moved: list[Path] = []
    discarded = 0
    if not base.is_dir():
        return moved, discarded
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        if folder.name in committed_tokens:
            moved.extend(_publish(output_root, folder, folder_mode, file_mode))
        else:
            shutil.rmtree(folder, ignore_errors=True)
            discarded += 1
    return moved, discarded


@contextlib.contextmanager
def staged(output_root: Path, *, folder_mode: int = 0o770, file_mode: int = 0o660) -> Iterator[Staging]:
    """A staging area that is discarded if the block fails."""
    staging = Staging(output_root, folder_mode=folder_mode, file_mode=file_mode)
    try:
        yield staging
    except BaseException:
        staging.discard()
        raise


#: What makes a spreadsheet treat a CSV cell as a formula (or a command, in older versions).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: str) -> str:
    """A CSV cell that a spreadsheet opening the file keeps as text: a leading apostrophe before anything that would
    start a formula (CSV injection). Every CSV caseaudit writes (manifests, outbox.csv) passes its text through."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value
