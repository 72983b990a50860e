"""Allocation speed (issue 25): the ``allocate`` command making 1,000 forms with their notices, best of 3, against
<= 2 s and <= 400 MB for its process tree; and, as before, the pure algorithm and a whole run at demo size.

    .venv/bin/python benchmarks/bench_allocate.py [--forms 1000] [--runs 3]

The 1,000-form run: a synthetic authority in which exactly 1,000 auditors are due an audit (``realforms.py``; about
2,400 people and 21,000 cases), written as the roster and caseload workbooks; then ``python run_monthly.py allocate``
in a new process (Python's start included, as a user runs it) on a fresh copy each time: reading both workbooks,
the register, the allocation, 1,000 forms, their notices and allocations.xlsx. Peak memory is the process tree's at
one instant (``benchkit.py``). The last line states the figures, the targets and whether they were met.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import benchfolder
import benchkit
import realforms
from benchkit import PYTHON, Target

from caseaudit_batch import session
from caseaudit_batch.allocation import stage as allocation_stage
from caseaudit_batch.allocation.allocate import Rules, allocate
from caseaudit_batch.allocation.roster import AUDITING_ROLES, Caseload, Roster
from caseaudit_batch.core.clock import Month
from caseaudit_batch.demo import synthetic

MONTH = Month(2026, 9)
DAY = date(2026, 9, 1)
TARGET_SECONDS, TARGET_MB = 2.0, 400.0


def pure(auditors: int) -> None:
    authority = synthetic.make_authority(auditors, today=DAY)
    roster = Roster({p.staff_id: p for p in authority.people})
    caseload = Caseload(authority.cases)
    start = time.perf_counter()
    plan = allocate(MONTH, DAY, roster, caseload, Rules(AUDITING_ROLES))
    took = time.perf_counter() - start
    print(
        f"allocate() {len(authority.auditors)} auditors, {len(authority.cases)} cases: "
        f"{len(plan.assignments)} allocated in {took:.2f} s"
    )


def whole_run() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "qa"
        benchfolder.init_folder(folder, "Benchmark Borough (synthetic)")
        synthetic.make_authority(today=DAY).write(folder / "roster.xlsx", folder / "caseload.xlsx")
        ctx = session.open_context(folder / "caseaudit.toml", DAY.isoformat())
        try:
            start = time.perf_counter()
            result = allocation_stage.allocate_month(ctx, str(MONTH))
            took = time.perf_counter() - start
        finally:
            ctx.close()
        summary = result.data["summary"]
        print(
            f"caseaudit allocate, demo size, with forms, in this process: {summary['allocated']} audits in {took:.2f} s"
        )


def command_run(source: Path, scratch: Path) -> benchkit.Measure:
    scratch = benchkit.next_scratch(scratch)
    shutil.copytree(source, scratch)
    m = benchkit.run_measured(
        [PYTHON, str(realforms.ROOT / "run_monthly.py"), "allocate", "--config", str(scratch / "caseaudit.toml"),
         "--today", DAY.isoformat(), "--month", str(MONTH)]
    )  # fmt: skip
    if m.returncode != 0:
        raise RuntimeError(f"allocate exited {m.returncode}\n{m.stdout[-2000:]}\n{m.stderr[-3000:]}")
    out = scratch / "output" / str(MONTH)
    m.extra["forms"] = len(list(out.glob("*.xlsx"))) - 1  # allocations.xlsx is not a form
    m.extra["notices"] = len([p for p in (out / "notices").rglob("*") if p.is_file()])
    benchkit.put_aside(scratch)
    return m


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forms", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    benchkit.add_options(parser)
    args = parser.parse_args()
    benchkit.use_options(args)
    print(benchkit.load_line(), flush=True)
    pure(150)
    pure(600)
    whole_run()
    with tempfile.TemporaryDirectory(prefix="bench-allocate-") as tmp:
        source = Path(tmp) / "qa"
        started = time.perf_counter()
        realforms.init_with_authority(source, args.forms)
        print(f"authority with {args.forms:,} auditors due an audit written in {time.perf_counter() - started:.0f} s")
        best = benchkit.best_of(args.runs, lambda i: command_run(source, Path(tmp) / "run"))
    walls = ", ".join(f"{w:.2f}" for w in best.extra["all_walls"])
    print(benchkit.load_line())
    print(
        f"caseaudit allocate (whole command), {best.extra['forms']:,} forms and {best.extra['notices']:,} notice "
        f"files: best {best.wall:.2f} s ({walls}); {benchkit.cpu_text(best)}; "
        f"{benchkit.memory_text(best)}"
    )
    if best.extra["forms"] != args.forms:
        print(f"  WARNING: {best.extra['forms']} forms made, not {args.forms}")
    benchkit.verdict(
        "bench_allocate",
        [
            Target("allocate 1,000 forms with notices", best.wall * 1000 / args.forms, TARGET_SECONDS, " s"),
            Target("peak memory (process tree, PSS)", best.pss_mb, TARGET_MB, " MB"),
        ],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
