"""Follow-ups at demo size: a year of audits in the register, then the month that offers follow-ups.

Builds the demo-size synthetic authority (about 150 auditors, 3,000 cases), allocates twelve months through the
real pipeline, records every audit as accepted with a reproducible random grade (about a third Requires Improvement
or Inadequate) and actions in various states, then prints how long finding the due follow-ups takes and how long
the whole ``allocate`` run of the next month takes with them, and how many were due and allocated.
"""

from __future__ import annotations

import random
import resource
import tempfile
import time
from datetime import date
from pathlib import Path

import benchfolder
import sqlalchemy as sa

from caseaudit_batch import session
from caseaudit_batch.allocation import stage as allocation_stage
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.clock import Month
from caseaudit_batch.demo import synthetic
from caseaudit_batch.followups.register import due_for_month

GRADES = ("Outstanding", "Good", "Requires Improvement", "Inadequate")
WEIGHTS = (10, 55, 28, 7)
STATUSES = ("Open", "Completed", "No longer required")
FIRST = Month(2025, 9)
TARGET = Month(2026, 9)


def main() -> None:
    rng = random.Random(11)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "qa"
        benchfolder.init_folder(folder, "Benchmark Borough (synthetic)")
        synthetic.make_authority(today=FIRST.first_day).write(folder / "roster.xlsx", folder / "caseload.xlsx")
        start = time.perf_counter()
        month = FIRST
        while month < TARGET:
            ctx = session.open_context(folder / "caseaudit.toml", month.first_day.isoformat())
            try:
                allocation_stage.allocate_month(ctx, str(month))
            finally:
                ctx.close()
            month = month.shift(1)
        print(f"12 months allocated through the pipeline in {time.perf_counter() - start:.1f} s")

        ctx = session.open_context(folder / "caseaudit.toml", TARGET.first_day.isoformat())
        a = reg.allocations
        with ctx.register.engine.begin() as conn:
            rows = list(conn.execute(sa.select(a).where(a.c.status == "allocated")))
            for number, row in enumerate(rows):
                grade = rng.choices(GRADES, WEIGHTS)[0]
                done = Month.parse(row.month).first_day.replace(day=20)
                conn.execute(
                    sa.insert(reg.audits).values(
                        audit_id=row.audit_id,
                        submission_id=number,
                        month=row.month,
                        date_completed=done,
                        overall_grade=grade,
                        answers={"overall_grade": grade, **{f"s{n}_grade": grade for n in range(1, 10)}},
                        current=True,
                        accepted_at=done.isoformat(),
                    )
                )
                if grade in ("Requires Improvement", "Inadequate"):
                    for k in range(rng.randint(1, 4)):
                        status = rng.choices(STATUSES, (3, 6, 1))[0]
                        conn.execute(
                            sa.insert(reg.actions).values(
                                action_id=f"{row.audit_id[:8]}-{k}",
                                audit_id=row.audit_id,
                                source="audit",
                                text="An action for the child's plan",
                                norm_text="an action",
                                case_ref=row.case_ref,
                                status=status,
                                completed_on=date(2026, 8, 1) if status == "Completed" else None,
                                created_at=done.isoformat(),
                            )
                        )
        print(f"register: {len(rows)} accepted audits")
        with ctx.register.reader() as conn:
            open_cases = set(conn.execute(sa.select(reg.cases.c.case_ref).where(reg.cases.c.open)).scalars())
            start = time.perf_counter()
            due = due_for_month(conn, ctx.framework, TARGET, open_cases, after_months=6)
            print(f"due_for_month: {len(due)} follow-ups due, found in {time.perf_counter() - start:.2f} s")
        try:
            start = time.perf_counter()
            result = allocation_stage.allocate_month(ctx, str(TARGET))
            took = time.perf_counter() - start
        finally:
            ctx.close()
        summary = result.data["summary"]
        print(
            f"caseaudit allocate {TARGET} with follow-ups: {summary['allocated']} audits "
            f"({summary['followups_allocated']} follow-ups of {summary['followups_due']} due, "
            f"{summary['followups_waiting']} waiting) in {took:.2f} s"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
