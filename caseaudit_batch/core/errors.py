"""Exceptions that end a command with a catalogued message and a documented exit code."""

from __future__ import annotations

import traceback

from caseaudit_batch.core import messages

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_DATAERR = 65
EXIT_CANTCREAT = 73
EXIT_TEMPFAIL = 75


class CaseauditError(Exception):
    """An error a user can act on: a catalogue code, its parameters and the exit code it maps to."""

    exit_code = EXIT_INTERNAL

    def __init__(self, code: str, **params: object) -> None:
        self.code = code
        self.params = params
        super().__init__(messages.render(code, **params))

    @property
    def message(self) -> str:
        return messages.render(self.code, **self.params)


class ConfigError(CaseauditError):
    """Usage or configuration: exit 2."""

    exit_code = EXIT_USAGE


class LockBusy(CaseauditError):
    """Another run holds the register: exit 75."""

    exit_code = EXIT_TEMPFAIL


class OutputError(CaseauditError):
    """An output could not be written (disk full, read-only, file held open): exit 73."""

    exit_code = EXIT_CANTCREAT


class RegisterError(CaseauditError):
    """The register could not be opened or is of an unknown schema: exit 2 (a configuration matter)."""

    exit_code = EXIT_USAGE


def safe_traceback(exc: BaseException) -> str:
    """Frames and exception types only, for the log: messages from spreadsheet and database libraries can hold
    whole cells of case text, and logs carry no form text."""
    frames = "".join(
        f'  File "{f.filename}", line {f.lineno}, in {f.name}\n' for f in traceback.extract_tb(exc.__traceback__)
    )
    return f"Traceback (exception messages omitted):\n{frames}{type(exc).__module__}.{type(exc).__name__}"
