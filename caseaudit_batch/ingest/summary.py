"""The lines that sum up what an inbox run did: the outcomes counted, and each problem's first fix."""

from __future__ import annotations

from collections.abc import Sequence

from caseaudit_batch.core import messages
from caseaudit_batch.ingest import files as inbox_files


def summary_lines(entries: Sequence[inbox_files.Entry], tally: dict[str, int], *, first: str = "SUM001") -> list[str]:
    """The count of files by outcome (``first``: the line's code), then each new problem file with its first fix."""
    lines = [messages.text(first, count=len(entries), parts=messages.counted(tally, zeros=True))]
    lines += [problem_line(e) for e in entries if not e.known and e.outcome in ("returned", "rejected")]
    return lines


def problem_line(entry: inbox_files.Entry) -> str:
    """``  returned: file.xlsx: [V001;V002] what is wrong. How to fix.``"""
    return messages.text(
        "SUM002",
        outcome=entry.outcome,
        file=entry.rel,
        codes=";".join(entry.codes[:3]),
        message=entry.message,
        fix=first_fix(entry),
    ).rstrip()


def first_fix(entry: inbox_files.Entry) -> str:
    if entry.problems:
        return entry.problems[0].fix
    return messages.fix(entry.codes[0]) if entry.codes and entry.codes[0] in messages.CATALOGUE else ""
