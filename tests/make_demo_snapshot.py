"""Save the demo's figures and register rows, so that a later change can prove it changed none of them.

    python tests/make_demo_snapshot.py           # the test's short demo (2 months, 20 auditors): seconds
    python tests/make_demo_snapshot.py --year    # the full demo year (`caseaudit demo`): about 80 s
    python tests/make_demo_snapshot.py --rows DIR  # also write every row, to diff against another commit's

Writes ``tests/snapshots/demo-<name>.json``: every month's metrics (less ``generated_on``), and each register
table's row count and hash (rows less time stamps; see ``demo.snapshot``). ``tests/test_reproducible.py`` plays the
short demo and compares; ``benchmarks/bench_determinism.py`` plays the year twice and compares with the year's file.
Rewrite a snapshot only when a change is meant to change the demo's figures, and say so in the commit.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from caseaudit_batch.demo import player as demo

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
TODAY = "2026-11-26"  # plays December 2025 to October 2026 (the year) or September and October 2026 (short)
PLAYS: dict[str, dict[str, Any]] = {
    "2months": {"today": TODAY, "months": 2, "auditors": 20, "seed": 2026},
    "year": {"today": TODAY, "months": 12, "auditors": 150, "seed": 2026},
}


def play(folder: Path, name: str) -> dict[str, Any]:
    """Play the named demo into ``folder`` and return its full snapshot."""
    demo.run_demo(folder, **PLAYS[name])
    return demo.snapshot(folder)


def saved(name: str) -> dict[str, Any]:
    return json.loads((SNAPSHOTS / f"demo-{name}.json").read_text("utf-8"))


def as_saved(name: str, snap: dict[str, Any]) -> dict[str, Any]:
    """What ``tests/snapshots/demo-<name>.json`` holds for this snapshot (JSON round trip included)."""
    return json.loads(json.dumps({"play": PLAYS[name], **demo.fingerprint(snap)}, sort_keys=True, default=str))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--year", action="store_true", help="the full demo year instead of the short demo")
    parser.add_argument("--rows", metavar="DIR", help="also write every register row as JSON into DIR")
    args = parser.parse_args(argv)
    name = "year" if args.year else "2months"
    with tempfile.TemporaryDirectory() as tmp:
        snap = play(Path(tmp) / "demo", name)
    SNAPSHOTS.mkdir(exist_ok=True)
    target = SNAPSHOTS / f"demo-{name}.json"
    target.write_text(json.dumps(as_saved(name, snap), indent=1, sort_keys=True) + "\n", "utf-8")
    print(f"wrote {target}")
    if args.rows:
        rows = Path(args.rows) / f"demo-{name}-rows.json"
        rows.parent.mkdir(parents=True, exist_ok=True)
        rows.write_text(json.dumps(snap, indent=1, sort_keys=True, default=str), "utf-8")
        print(f"wrote {rows}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
