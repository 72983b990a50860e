"""The demo year played twice gives the same figures and the same register rows (issue 15).

Plays the full demo (`caseaudit demo`: 12 months, about 150 auditors, seed 2026, as on 2026-11-26) twice, each in
a new Python process with its own string-hash seed (so that set and dict orders differ as they do between runs),
then compares every month's metrics and every register row (less time stamps; ``demo.snapshot``) between the two
plays and with the year's saved snapshot ``tests/snapshots/demo-year.json``. Takes two demo years (about 3 minutes).

    .venv/bin/python benchmarks/bench_determinism.py [--keep DIR]

The last line says whether the two plays and the snapshot agree.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import make_demo_snapshot as snapshots  # noqa: E402 - the script that saves the snapshots

PLAY = (
    "import json, sys; sys.path.insert(0, sys.argv[2]); import make_demo_snapshot as s; from pathlib import Path; "
    "snap = s.play(Path(sys.argv[1]), 'year'); Path(sys.argv[3]).write_text(json.dumps(snap, default=str))"
)


def play(folder: Path, out: Path, hash_seed: str) -> float:
    started = time.perf_counter()
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    subprocess.run([sys.executable, "-c", PLAY, str(folder), str(ROOT / "tests"), str(out)], env=env, check=True)
    return time.perf_counter() - started


def differences(first: dict, second: dict) -> list[str]:
    found = []
    for month in sorted(set(first["metrics"]) | set(second["metrics"])):
        a, b = first["metrics"].get(month, {}), second["metrics"].get(month, {})
        keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        if keys:
            found.append(f"metrics {month}: {len(keys)} keys differ ({', '.join(keys[:5])})")
    for table in sorted(set(first["register"]) | set(second["register"])):
        if first["register"].get(table) != second["register"].get(table):
            found.append(f"register table {table} differs")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", metavar="DIR", help="keep the two demo folders here (default: a temporary folder)")
    args = parser.parse_args()
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-determinism-"))
    base.mkdir(parents=True, exist_ok=True)
    snaps, seconds = [], []
    for n, hash_seed in ((1, "1"), (2, "2")):
        out = base / f"play{n}.json"
        seconds.append(play(base / f"play{n}", out, hash_seed))
        snaps.append(json.loads(out.read_text("utf-8")))
        print(f"play {n}: {len(snaps[-1]['metrics'])} months in {seconds[-1]:.0f} s (PYTHONHASHSEED={hash_seed})")
    first, second = snaps
    rows = sum(len(r) for r in first["register"].values())
    print(
        f"compared: {len(first['metrics'])} months of metrics, {rows} register rows in {len(first['register'])} tables"
    )
    between = differences(first, second)
    for line in between:
        print("  between the plays: " + line)
    saved_file = snapshots.SNAPSHOTS / "demo-year.json"
    against: list[str] = []
    if saved_file.is_file():
        saved = snapshots.saved("year")
        got = snapshots.as_saved("year", first)
        against = differences(got, saved) if got["play"] == saved["play"] else ["the saved snapshot is of another play"]
        for line in against:
            print("  against tests/snapshots/demo-year.json: " + line)
    else:
        against = ["tests/snapshots/demo-year.json is missing (python tests/make_demo_snapshot.py --year)"]
        print("  " + against[0])
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    same = not between and not against
    print(
        f"demo year played twice: {'identical' if not between else 'DIFFERENT'}; against the saved snapshot: "
        f"{'identical' if not against else 'DIFFERENT'} (target: identical) {'OK' if same else 'FAILED'}"
    )
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
