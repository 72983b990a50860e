"""Runs ``caseaudit`` in a child process, with an optional fault hook from ``CASEAUDIT_TEST_HOOK``.

The tests start this script as a real second process. A hook makes the process die (SIGKILL, no clean-up of any
kind) or meet an operating-system fault at a chosen point, so that the tests can look at what is left behind:

- ``before:MODULE:ATTR`` / ``after:MODULE:ATTR``: SIGKILL just before / just after the function runs
  (``ATTR`` may be ``Class.method``);
- ``write:N``: the N-th staged file is half written, then SIGKILL;
- ``replace:N``: SIGKILL instead of the N-th ``os.replace`` (files before it were moved into place);
- ``hold:PATH``: once the register is locked, create PATH and sleep (a long run holding the lock);
- ``vanish:NAME:NEW``: after the inbox is listed, delete NAME and create NEW (a copy of it);
- ``read:NAME:HOW``: after the inbox is listed and every file hashed, NAME is ``changed`` (a byte added, as by a
  copy still being written) or ``deleted``, before it is read to be checked;
- ``oserror:ERRNO:WHERE``: ``os.replace`` onto a file named WHERE (``any``: every file) or every staged write
  (``WHERE`` = ``staging``) fails with that errno (a file held open, a full disk, a read-only output folder);
- ``boom:TEXT``: checking a file named ``boom*.xlsx`` raises an exception whose message is TEXT;
- ``rule:CODE:TEXT``: the validation rule CODE raises an exception whose message is TEXT, on every form;
- ``noguard:``: the reader's number guard is off, so a value python-calamine panics on reaches it.
"""

from __future__ import annotations

import errno
import functools
import importlib
import os
import pathlib
import signal
import sys
import time
from typing import Any


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _target(module: str, attr: str) -> tuple[Any, str]:
    owner: Any = importlib.import_module(module)
    *path, name = attr.split(".")
    for part in path:
        owner = getattr(owner, part)
    return owner, name


def install(spec: str) -> None:
    kind, _, rest = spec.partition(":")
    if kind in ("before", "after"):
        module, attr = rest.split(":")
        owner, name = _target(module, attr)
        real = getattr(owner, name)

        @functools.wraps(real)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if kind == "before":
                _die()
            value = real(*args, **kwargs)
            _die()
            return value

        setattr(owner, name, wrapped)
    elif kind == "write":
        from caseaudit_batch.core import outputs

        count = {"n": 0}
        real_write = outputs.Staging.write_bytes

        def write_bytes(self: Any, final: pathlib.Path, data: bytes) -> pathlib.Path:
            count["n"] += 1
            if count["n"] == int(rest):
                staged = self.path_for(final)
                staged.write_bytes(data[: len(data) // 2])
                _die()
            return real_write(self, final, data)

        outputs.Staging.write_bytes = write_bytes  # type: ignore[method-assign]
    elif kind == "replace":
        calls = {"n": 0}
        real_replace = os.replace

        def replace(src: Any, dst: Any, **kw: Any) -> None:
            calls["n"] += 1
            if calls["n"] == int(rest):
                _die()
            real_replace(src, dst, **kw)

        os.replace = replace
    elif kind == "hold":
        from caseaudit_batch.ingest import files as ingest

        def gather(*args: Any, **kwargs: Any) -> Any:
            pathlib.Path(rest).touch()
            time.sleep(120)

        ingest.gather = gather  # type: ignore[assignment]
        ingest.gather_each = gather  # type: ignore[assignment]
    elif kind == "vanish":
        from caseaudit_batch.ingest import files as ingest

        gone, new = rest.split(":")
        real_list = ingest.list_files

        def list_files(folder: pathlib.Path, *args: Any, **kwargs: Any) -> list[pathlib.Path]:
            listed = real_list(folder, *args, **kwargs)
            data = (folder / gone).read_bytes()
            (folder / gone).unlink()
            (folder / new).write_bytes(data)
            return listed

        ingest.list_files = list_files
    elif kind == "read":
        from caseaudit_batch.ingest import files as ingest

        name, how = rest.split(":")
        real_each = ingest.gather_each

        def gather(conn: Any, inbox: str, folder: pathlib.Path, *args: Any, **kwargs: Any) -> Any:
            entries = list(real_each(conn, inbox, folder, *args, **kwargs))
            target = folder / name
            if how == "changed":
                target.write_bytes(target.read_bytes() + b"\0")
            else:
                target.unlink()
            return entries

        def gather_each(*args: Any, **kwargs: Any) -> Any:  # every file listed and hashed before any is checked
            yield from gather(*args, **kwargs)

        ingest.gather = gather  # type: ignore[assignment]
        ingest.gather_each = gather_each  # type: ignore[assignment]
    elif kind == "oserror":
        code, where = rest.split(":")
        number = getattr(errno, code)
        if where == "staging":
            real_path_write = pathlib.Path.write_bytes

            def path_write(self: pathlib.Path, data: Any) -> int:
                if ".staging" in self.parts:
                    raise OSError(number, os.strerror(number), str(self))
                return real_path_write(self, data)

            pathlib.Path.write_bytes = path_write  # type: ignore[method-assign]
        else:
            real_os_replace = os.replace

            def replace_fails(src: Any, dst: Any, **kw: Any) -> None:
                if pathlib.Path(dst).name == where or where == "any":
                    raise OSError(number, os.strerror(number), str(dst))
                real_os_replace(src, dst, **kw)

            os.replace = replace_fails
    elif kind == "boom":
        from caseaudit_batch.ingest import record as ingest

        real_check = ingest.check_audit

        def check_audit(entry: Any, *args: Any, **kwargs: Any) -> None:
            if entry.rel.startswith("boom"):
                raise RuntimeError(rest)
            real_check(entry, *args, **kwargs)

        ingest.check_audit = check_audit  # type: ignore[assignment]
    elif kind == "noguard":
        from caseaudit_batch.workbook import reader

        reader.MIN_NUMBER = float("-inf")  # the number guard off: python-calamine meets what would make it panic
    elif kind == "rule":
        import dataclasses

        from caseaudit_batch.ingest import rules

        code, text = rest.split(":", 1)

        def broken(form: Any) -> Any:
            raise RuntimeError(text)

        rules.REGISTRY[code] = dataclasses.replace(rules.REGISTRY[code], check=broken)
    else:
        raise SystemExit(f"unknown hook {spec!r}")


if __name__ == "__main__":
    hook = os.environ.get("CASEAUDIT_TEST_HOOK")
    if hook:
        install(hook)
    from caseaudit_batch import cli

    sys.exit(cli.main(sys.argv[1:]))
