"""``make demo`` in at most 90 s on this 2-core machine (not counting the one-time set-up of .venv).

Runs the real demo (``demo.run_demo``: init, a synthetic authority of about 150 auditors and 3,000 cases, 12 months
played through the pipeline) in a temporary folder, in this process, and prints the wall-clock time, the CPU time,
where the time went (per step, summed over the months) and the exit codes of each month's ``run``.

    .venv/bin/python benchmarks/bench_demo.py [--months 12] [--auditors 150] [--today 2026-11-26] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from caseaudit_batch.demo import player as demo

TARGET_SECONDS = 90.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--auditors", type=int, default=150)
    parser.add_argument("--today", default=None, help="the demo plays the months before this date's month")
    parser.add_argument("--keep", metavar="DIR", help="build the demo here and keep it (default: a temporary folder)")
    args = parser.parse_args()
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-demo-")) / "demo"
    load0 = f"{os.getloadavg()[0]:.2f}"
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    result = demo.run_demo(folder, months=args.months, auditors=args.auditors, today=args.today)
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    plays = result.data["months"]
    audits = sum(len(p.audits) for p in plays)
    print(f"demo: {len(plays)} months, {audits} audits allocated and filled, {args.auditors} auditors requested")
    print(f"wall clock: {wall:.1f} s (target {TARGET_SECONDS:.0f} s) {'OK' if wall <= TARGET_SECONDS else 'TOO SLOW'}")
    print(f"load average before/after: {load0} / {os.getloadavg()[0]:.2f} (the machine is shared)")
    print(f"CPU: {cpu:.1f} s in this process, {children.ru_utime + children.ru_stime:.1f} s in worker processes")
    print("where the time went (summed over the months; wall clock, and CPU of this process where measured):")
    by_step = result.data.get("cpu", {})
    for step, seconds in sorted(result.data["timings"].items(), key=lambda kv: -kv[1]):
        used = f"{by_step[step]:6.1f} s CPU" if step in by_step else ""
        print(f"  {step:<30} {seconds:6.1f} s  {used}")
    print("month-end run exit codes: " + ", ".join(f"{p.month} {p.results['run'].exit_code}" for p in plays))
    if result.data["skipped"]:
        print("stages not in this version (skipped): " + ", ".join(result.data["skipped"]))
    if not args.keep:
        shutil.rmtree(folder.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
