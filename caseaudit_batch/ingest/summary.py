"""The lines that sum up what an inbox run did: the outcomes counted, and each problem's first fix."""

from __future__ import annotations

from collections.abc import Sequence

from caseaudit_batch.core import messages
from caseaudit_batch.ingest import files as inbox_files


def summary_lines(entries: Sequence[inbox_files.Entry], tally: dict[str, int]) -> list[str]:
    parts = ", ".join(f"{n} {name}" for name, n in tally.items())
    lines = [f"Files seen: {len(entries)} ({parts})."]
    for e in entries:
        if not e.known and e.outcome in ("returned", "rejected"):
            lines.append(f"  {e.outcome}: {e.rel}: [{';'.join(e.codes[:3])}] {e.message} {first_fix(e)}".rstrip())
    return lines


def first_fix(entry: inbox_files.Entry) -> str:
    if entry.problems:
        return entry.problems[0].fix
    return messages.fix(entry.codes[0]) if entry.codes and entry.codes[0] in messages.CATALOGUE else ""
