"""Allocation speed on the demo-size synthetic authority (about 150 auditors, 3,000 cases), and on a large one.

Prints: the pure allocation algorithm's time, and a whole ``allocate`` run (loading both workbooks, register,
forms when the form stage is installed, notices, allocations.xlsx).
"""

from __future__ import annotations

import resource
import tempfile
import time
from datetime import date
from pathlib import Path

import benchfolder

from caseaudit_batch import session
from caseaudit_batch.allocation import stage as allocation_stage
from caseaudit_batch.allocation.allocate import Rules, allocate
from caseaudit_batch.allocation.roster import AUDITING_ROLES, Caseload, Roster
from caseaudit_batch.core.clock import Month
from caseaudit_batch.demo import synthetic

MONTH = Month(2026, 9)
DAY = date(2026, 9, 1)


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
        print(f"caseaudit allocate, demo size, with forms: {summary['allocated']} audits in {took:.2f} s")


if __name__ == "__main__":
    pure(150)
    pure(600)
    whole_run()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB")
