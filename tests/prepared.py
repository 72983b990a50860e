"""Prepared working folders shared by the tests of one session (the ``templates`` fixture in ``conftest.py``)."""

from __future__ import annotations

import fcntl
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pgkit


class Templates:
    """Prepared working folders, each built once per test session and shared by every xdist worker (a file lock
    makes the others wait for the first). A test copies one (``copy``) and changes only its copy."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._memo: dict[str, tuple[Path, Any]] = {}

    def get(self, name: str, make: Callable[[Path], Any], leaf: str = "qa") -> tuple[Path, Any]:
        """The folder (named ``leaf``) ``make(folder)`` built, and what it returned (pickled for the other
        workers)."""
        name = name if pgkit.CURRENT[0] == "sqlite" else f"{name}@{pgkit.CURRENT[0]}"
        if name not in self._memo:
            home = self.root / name
            with (self.root / f"{name}.lock").open("a") as lock:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
                done = home / "value.pickle"
                if done.exists():
                    value = pickle.loads(done.read_bytes())
                else:
                    shutil.rmtree(home, ignore_errors=True)  # what a failed build left
                    home.mkdir(parents=True)
                    pgkit.PREPARING[0] = True
                    try:
                        value = make(home / leaf)
                    finally:
                        pgkit.PREPARING[0] = False
                    (home / "value.tmp").write_bytes(pickle.dumps(value))
                    (home / "value.tmp").replace(done)
            self._memo[name] = (home / leaf, value)
        return self._memo[name]

    def copy(self, name: str, make: Callable[[Path], Any], folder: Path) -> Any:
        """Copy the prepared folder to ``folder`` (modes and modification times kept); returns ``make``'s value."""
        template, value = self.get(name, make)
        shutil.copytree(template, folder, symlinks=True)
        pgkit.clone_register(folder)  # a PostgreSQL register lives outside the folder: copy it too
        return value
