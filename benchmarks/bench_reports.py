"""All of a month's reports from a register holding 12 months of a large authority (~18,000 audits) in <= 20 s.

Synthesises the register (synthetic data only) in a temporary working folder, then times the real
``reports_stage.report_month`` (load from the register, metrics, JSON, Excel, Word report, one pack per
service, learning themes, staged and moved into place) and prints the figures.

    .venv/bin/python benchmarks/bench_reports.py [--audits-per-month 1500] [--services 8] [--keep DIR]
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import benchfolder
import sqlalchemy as sa

from caseaudit_batch import session
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.clock import Month
from caseaudit_batch.reports import stage as reports_stage

GRADES = ("Outstanding", "Good", "Requires Improvement", "Inadequate")
WEIGHTS = (0.08, 0.52, 0.32, 0.08)
CASE_TYPES = ("CIN", "CP", "CLA", "Care leaver")
ROLES = ("Team Manager", "Practice Supervisor", "Service Manager", "Head of Service")
PHRASES = (
    "The child's voice is clear and direct work is planned around their wishes and feelings.",
    "Management oversight is recorded with reasons at each key decision.",
    "The chronology needs updating so the history is clear.",
    "The assessment is analytical and considers parenting capacity.",
    "The plan is reviewed and progress is evident; contingency planning is clear.",
    "There was drift and delay in convening the strategy meeting.",
    "Partner agencies share information well; school attended every core group.",
    "The family network was explored through a family group conference.",
    "Risk of exploitation was recognised and a safety plan agreed.",
    "Identity and culture are considered, with an interpreter used for the parents.",
    "The work has made a difference: school attendance has improved.",
    "Recording is thorough and timely.",
)
FINDING = (
    "Evidence on file shows the worker visited regularly and saw the young person alone. The assessment considered "
    "history and current risks, and the plan was reviewed at the last core group with partners present. "
) * 2


def synthesise(ctx: session.Context, month: Month, per_month: int, services: int, seed: int = 7) -> dict[str, int]:
    rng = random.Random(seed)
    service_names = [f"Service {chr(65 + i)}" for i in range(services)]
    teams = {s: [f"{s} Team {n}" for n in range(1, 6)] for s in service_names}
    staff = []
    for n in range(per_month + 200):
        service = service_names[n % services]
        staff.append(
            {
                "staff_id": f"S{n:05d}",
                "name": f"Auditor {n:05d}",
                "role": ROLES[n % len(ROLES)],
                "team": rng.choice(teams[service]),
                "service": service,
                "line_manager_id": f"S{(n // 10):05d}",
            }
        )
    # The 12 months of the window, and before them the six months whose audits the window's first follow-ups refer
    # to (only those audits are made there): the loader reads them as earlier audits (issue 11).
    months = [month.shift(-k) for k in range(17, -1, -1)]
    window_starts = str(month.shift(-11))
    counts = dict.fromkeys(("allocations", "audits", "section_grades", "moderations", "actions", "submissions"), 0)
    now = "2026-10-01T09:00:00+01:00"
    with ctx.register.writer() as conn:
        conn.execute(sa.insert(reg.staff), staff)
        audit_row = 0
        submission_id = 0
        action_no = 0
        for m in months:
            due = m.last_day
            allocations, audits, grades, moderations, actions, submissions, problems, alerts = ([] for _ in range(8))
            for n in range(per_month):
                if str(m) < window_starts and n % 10 != 1:
                    continue
                auditor = staff[n]
                service = service_names[(n * 7 + m.month) % services]
                team = rng.choice(teams[service])
                audit_id = f"{m}-{n:05d}"
                case_ref = f"CR{rng.randrange(10**6):06d}"
                allocations.append(
                    {
                        "audit_id": audit_id,
                        "month": str(m),
                        "staff_id": auditor["staff_id"],
                        "case_ref": case_ref,
                        "due_date": due,
                        "kind": "followup" if n % 10 == 0 else "audit",
                        # A follow-up of the audit six months before (an ordinary audit: n + 1).
                        "followup_of": f"{m.shift(-6)}-{n + 1:05d}" if n % 10 == 0 else None,
                        "status": "allocated",
                        "framework_version": "bench",
                        "prefilled": {
                            "case_type": CASE_TYPES[n % 4],
                            "service": service,
                            "team": team,
                            "social_worker": "Synthetic Worker",
                            "team_manager": "Synthetic Manager",
                            "service_manager": "Synthetic Senior",
                            "auditor_name": auditor["name"],
                            "auditor_role": auditor["role"],
                            "previous_worker": "",
                            "review_period": "six months",
                        },
                        "created_at": now,
                    }
                )
                if rng.random() < 0.08:
                    continue  # outstanding
                audit_row += 1
                submission_id += 1
                overall = rng.choices(GRADES, WEIGHTS)[0]
                completed = due - timedelta(days=rng.randrange(-6, 25))
                section = [rng.choices(GRADES, WEIGHTS)[0] for _ in range(9)]
                answers = {
                    "date_completed": completed.isoformat(),
                    "sw_participation": rng.choice(("In person", "Phone or video", "Not possible")),
                    "three_way_meeting": rng.choice(("Yes", "No", "Not applicable", "Not applicable")),
                    "safeguarding_concern": "Yes" if rng.random() < 0.01 else "No",
                    "strengths": " ".join(rng.sample(PHRASES, 2)),
                    "learning": " ".join(rng.sample(PHRASES, 2)),
                    "recommendations": rng.choice(PHRASES),
                    "org_learning": rng.choice(PHRASES) if rng.random() < 0.3 else "",
                    "overall_grade": overall,
                    **{f"s{k}_grade": g for k, g in enumerate(section, start=1)},
                    **{f"s{k}_findings": FINDING for k in range(1, 10)},
                    **{f"s{k}_impact": FINDING[:200] for k in range(1, 10)},
                }
                audits.append(
                    {
                        "id": audit_row,
                        "audit_id": audit_id,
                        "submission_id": submission_id,
                        "month": str(m),
                        "date_completed": completed,
                        "late": completed > due,
                        "overall_grade": overall,
                        "answers": answers,
                        "current": True,
                        "accepted_at": now,
                    }
                )
                grades += [
                    {"audit_row_id": audit_row, "section": k, "grade": g, "source": "auditor"}
                    for k, g in enumerate(section, start=1)
                ]
                submissions.append(
                    {
                        "id": submission_id,
                        "run_id": 1,
                        "inbox": "audits",
                        "filed_month": str(m),
                        "path": f"{m}/{audit_id}.xlsx",
                        "sha256": f"{submission_id:064x}",
                        "size": 23000,
                        "outcome": "accepted",
                        "audit_id": audit_id,
                        "seen_at": now,
                    }
                )
                if rng.random() < 0.3:
                    problems.append(
                        {"submission_id": submission_id, "code": rng.choice(("V101", "V102", "V110")),
                         "severity": "warning", "sheet": "Audit form", "cell": "B20", "field": "learning",
                         "label": "Learning", "message": "synthetic"}
                    )  # fmt: skip
                if answers["safeguarding_concern"] == "Yes":
                    alerts.append({"audit_id": audit_id, "month": str(m), "raised_at": now})
                if rng.random() < 0.25:
                    moderated = overall if rng.random() < 0.8 else rng.choice(GRADES)
                    moderations.append(
                        {
                            "audit_id": audit_id,
                            "submission_id": submission_id,
                            "moderation_date": completed + timedelta(days=10),
                            "grade_agreed": moderated == overall,
                            "actions_agreed": True,
                            "overall_grade": moderated,
                            "answers": {"m_s1_grade": "" if moderated == overall else moderated},
                            "current": True,
                            "accepted_at": now,
                        }
                    )
                for _ in range(3):
                    action_no += 1
                    action_due = completed + timedelta(days=rng.randrange(14, 90))
                    done = rng.random() < 0.7
                    actions.append(
                        {
                            "action_id": f"A{action_no:07d}",
                            "audit_id": audit_id,
                            "source": "audit",
                            "text": "Update the chronology",
                            "norm_text": "update the chronology",
                            "owner": "Synthetic Worker",
                            "due_date": action_due,
                            "case_ref": case_ref,
                            "service": service,
                            "team": team,
                            "team_manager": "Synthetic Manager",
                            "service_manager_id": "S00001",
                            "status": "Completed" if done else "Open",
                            "completed_on": action_due - timedelta(days=rng.randrange(-10, 20)) if done else None,
                            "signed_off": done and rng.random() < 0.6,
                            "created_at": now,
                        }
                    )
            for table, rows in (
                (reg.allocations, allocations),
                (reg.audits, audits),
                (reg.section_grades, grades),
                (reg.submissions, submissions),
                (reg.problems, problems),
                (reg.moderations, moderations),
                (reg.actions, actions),
                (reg.alerts, alerts),
            ):
                if rows:
                    conn.execute(sa.insert(table), rows)
            counts["allocations"] += len(allocations)
            counts["audits"] += len(audits)
            counts["section_grades"] += len(grades)
            counts["moderations"] += len(moderations)
            counts["actions"] += len(actions)
            counts["submissions"] += len(submissions)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audits-per-month", type=int, default=1500)
    parser.add_argument("--services", type=int, default=8)
    parser.add_argument("--keep", metavar="DIR", help="build in DIR and keep it (to look at the reports)")
    args = parser.parse_args()
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-reports-"))
    if folder.exists() and args.keep:
        shutil.rmtree(folder)
    month = Month(2026, 9)
    try:
        benchfolder.init_folder(folder, "Benchmark Borough (synthetic)")
        ctx = session.open_context(folder / "caseaudit.toml", "2026-10-05")
        started = time.perf_counter()
        counts = synthesise(ctx, month, args.audits_per_month, args.services)
        synth = time.perf_counter() - started
        print(f"register synthesised in {synth:.1f} s: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        started = time.perf_counter()
        result = reports_stage.report_month(ctx, month)
        elapsed = time.perf_counter() - started
        ctx.close()
        sizes = ", ".join(f"{p.name} {p.stat().st_size / 1024:,.0f} KB" for p in result.outputs)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"files: {sizes}")
        print(
            f"report month {month}: {len(result.outputs)} files in {elapsed:.1f} s (target <= 20 s); "
            f"peak RSS {peak:,.0f} MB"
        )
        v = result.data["metrics"]
        print(
            f"figures: allocated {v['audits_allocated']:,}, completed {v['audits_completed']:,}, "
            f"good or better {v['good_or_better_rate']:.1%}, actions overdue {v['actions_overdue']:,}; follow-ups "
            f"compared over 12 months {v['followups_compared']:,}, improved {v['followups_improved']:,}"
        )
        print("PASS" if elapsed <= 20 else "FAIL: slower than 20 s")
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
