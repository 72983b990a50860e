"""A month's reports, both tiers, from a register holding 12 months of a large authority (~18,000 audits): at most
15 s and 400 MB (issue 25), best of 3; and how the time grows with 1, 6 and 12 months of that authority.

Synthesises the register (synthetic data only) in a temporary working folder with ``[reports] committee = true``
(so the internal and the committee tier are both written), then runs ``python run_monthly.py report`` in a new
process, as a user does (Python's start included; load from the register, metrics, JSON, Excel, Word report, one
pack per service, learning themes, and the committee version of each), on a fresh copy of the folder each run.
Peak memory is the process tree's at one instant (``benchkit.py``). Every typed answer is drawn per audit from the
demo corpus and the labelled corpora (a few name someone), as auditors write: no two audits share a text, so the
reports' redact-each-distinct-text-once memo is not flattered. The last line states the figures and the targets.

    .venv/bin/python benchmarks/bench_reports.py [--audits-per-month 1500] [--services 8] [--runs 3] [--growth]
        [--growth-runs 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import itertools
import random
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import benchfolder
import benchkit
import sqlalchemy as sa
from benchkit import PYTHON, Target
from realforms import ACTION_TEXTS, Writer

from caseaudit_batch import session
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.clock import Month
from caseaudit_batch.demo import corpus, synthetic

GRADES = ("Outstanding", "Good", "Requires Improvement", "Inadequate")
WEIGHTS = (0.08, 0.52, 0.32, 0.08)
CASE_TYPES = ("CIN", "CP", "CLA", "Care leaver")
ROLES = ("Team Manager", "Practice Supervisor", "Service Manager", "Head of Service")
TARGET_SECONDS, TARGET_MB = 15.0, 400.0
TODAY = "2026-10-05"
NAMED_SHARE = 0.03  # audits where one answer names someone, as auditors do


def staff_names(count: int) -> list[str]:
    """Invented names as the demo's (first name and a made-up surname; double-barrelled once those run out)."""
    surnames = synthetic.SURNAMES + tuple(f"{a}-{b}" for a, b in itertools.permutations(synthetic.SURNAMES, 2))
    pairs = itertools.product(surnames, synthetic.FIRST_NAMES)
    return [f"{first} {last}" for last, first in itertools.islice(pairs, count)]


def typed_answers(words: random.Random, writer: Writer, index: int, grades: list[str]) -> dict[str, str]:
    """What an auditor types, drawn per audit: two or three sentences per answer from the demo corpus and the
    labelled corpora, so that the texts differ between audits as real ones do."""
    m = index % 12

    def extra() -> str:
        return writer.extra(words)

    answers = {
        "strengths": " ".join(filter(None, (corpus.strength(words, m), corpus.strength(words, m), extra()))),
        "learning": " ".join(filter(None, (corpus.learning(words, m), corpus.learning(words, m), extra()))),
        "recommendations": " ".join((corpus.recommendation(words, m), corpus.recommendation(words, m))),
        "org_learning": (corpus.org_learning(words, m) or "") if words.random() < 0.6 else "",
        "diversity": corpus.diversity(words),
    }
    for k, grade in enumerate(grades, start=1):
        answers[f"s{k}_findings"] = " ".join(
            filter(None, (corpus.findings(words, grade, k, m), corpus.findings(words, grade, k, m), extra()))
        )
        answers[f"s{k}_impact"] = corpus.impact(words, grade in ("Good", "Outstanding"))
    if words.random() < NAMED_SHARE:
        key = words.choice(sorted(answers))
        answers[key] = f"{answers[key]} {writer.named_sentence(words)}".strip()
    return answers


def synthesise(
    ctx: session.Context, month: Month, per_month: int, services: int, seed: int = 7, months: int = 12
) -> dict[str, int]:
    """The register of ``months`` months of the authority up to ``month`` (and before them the audits its first
    follow-ups refer to). Grades, dates and counts come from ``seed`` alone; each audit's text from its own stream."""
    rng = random.Random(seed)
    writer = Writer()
    names = staff_names(per_month + 200)
    service_names = [f"Service {chr(65 + i)}" for i in range(services)]
    teams = {s: [f"{s} Team {n}" for n in range(1, 6)] for s in service_names}
    staff = []
    for n in range(per_month + 200):
        service = service_names[n % services]
        staff.append(
            {
                "staff_id": f"S{n:05d}",
                "name": names[n],
                "role": ROLES[n % len(ROLES)],
                "team": rng.choice(teams[service]),
                "service": service,
                "line_manager_id": f"S{(n // 10):05d}",
            }
        )
    # The 12 months of the window, and before them the six months whose audits the window's first follow-ups refer
    # to (only those audits are made there): the loader reads them as earlier audits (issue 11).
    chosen = [month.shift(-k) for k in range(months + 5, -1, -1)]
    window_starts = str(month.shift(-(months - 1)))
    counts = dict.fromkeys(("allocations", "audits", "section_grades", "moderations", "actions", "submissions"), 0)
    now = "2026-10-01T09:00:00+01:00"
    with ctx.register.writer() as conn:
        conn.execute(sa.insert(reg.staff), staff)
        audit_row = 0
        submission_id = 0
        action_no = 0
        for m in chosen:
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
                            "social_worker": names[(n * 3 + 11) % len(names)],
                            "team_manager": names[(n // 7) % len(names)],
                            "service_manager": names[(n // 50) % len(names)],
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
                    "overall_grade": overall,
                    **{f"s{k}_grade": g for k, g in enumerate(section, start=1)},
                }
                words = random.Random(f"{audit_id}:text")  # its own stream: the grades stay as they were
                answers.update(typed_answers(words, writer, n, section))
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
                            "text": (text := words.choice(ACTION_TEXTS)),
                            "norm_text": text.casefold().rstrip("."),
                            "owner": words.choice((names[(n * 3 + 11) % len(names)], "Social worker")),
                            "due_date": action_due,
                            "case_ref": case_ref,
                            "service": service,
                            "team": team,
                            "team_manager": names[(n // 7) % len(names)],
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


def synthesise_folder(folder: Path, per_month: int, services: int, months: int) -> None:
    """A working folder (both tiers on) whose register holds ``months`` months of the authority."""
    benchfolder.init_folder(folder, "Benchmark Borough (synthetic)")
    config = folder / "caseaudit.toml"
    text = config.read_text("utf-8")
    assert "\ncommittee = false" in text, "the config template no longer has [reports] committee = false"
    config.write_text(text.replace("\ncommittee = false", "\ncommittee = true", 1), "utf-8")
    ctx = session.open_context(config, TODAY)
    try:
        started = time.perf_counter()
        counts = synthesise(ctx, Month(2026, 9), per_month, services, months=months)
    finally:
        ctx.close()
    print(
        f"register of {months} month(s) synthesised in {time.perf_counter() - started:.1f} s: "
        + ", ".join(f"{k} {v:,}" for k, v in counts.items()),
        flush=True,
    )


def report_command(source: Path, scratch: Path, keep: Path | None = None) -> benchkit.Measure:
    """``caseaudit report`` as a user starts it, on a fresh copy of ``source``."""
    scratch = benchkit.next_scratch(scratch)
    shutil.copytree(source, scratch)
    m = benchkit.run_measured(
        [PYTHON, str(benchkit.ROOT / "run_monthly.py"), "report", "--config", str(scratch / "caseaudit.toml"),
         "--today", TODAY, "--month", "2026-09"]
    )  # fmt: skip
    if m.returncode != 0:
        raise RuntimeError(f"report exited {m.returncode}\n{m.stdout[-2000:]}\n{m.stderr[-3000:]}")
    out = scratch / "output" / "2026-09"
    made = sorted(p for p in out.rglob("*") if p.is_file() and ".staging" not in p.parts)
    m.extra["files"] = [(str(p.relative_to(out)), p.stat().st_size) for p in made]
    if keep is not None:
        shutil.copytree(scratch, keep, dirs_exist_ok=True)
    benchkit.put_aside(scratch)
    return m


def _walls(m: benchkit.Measure) -> str:
    return ", ".join(f"{w:.1f}" for w in m.extra["all_walls"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audits-per-month", type=int, default=1500)
    parser.add_argument("--services", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--growth", action="store_true", help="also report over 1 and 6 months of the authority")
    parser.add_argument("--growth-runs", type=int, default=3)
    parser.add_argument("--keep", metavar="DIR", help="keep the last 12-month run's folder here (to look at it)")
    benchkit.add_options(parser)
    args = parser.parse_args()
    benchkit.use_options(args)
    print(benchkit.load_line(), flush=True)
    curve: dict[int, benchkit.Measure] = {}
    with tempfile.TemporaryDirectory(prefix="bench-reports-") as tmp_name:
        tmp = Path(tmp_name)
        for months in (1, 6, 12) if args.growth else (12,):
            source = tmp / f"months-{months}"
            synthesise_folder(source, args.audits_per_month, args.services, months)
            runs = args.runs if months == 12 else args.growth_runs
            keep = Path(args.keep) if args.keep and months == 12 else None
            curve[months] = benchkit.best_of(runs, lambda i, s=source, k=keep: report_command(s, tmp / "run", k))  # type: ignore[misc]
            print(f"  {months:>2} month(s): best {curve[months].wall:.1f} s ({_walls(curve[months])})", flush=True)
            shutil.rmtree(source)
    best = curve[12]
    sizes = ", ".join(f"{name} {size / 1024:,.0f} KB" for name, size in best.extra["files"] if "/" not in name)
    print(f"files ({len(best.extra['files'])} with the service packs): {sizes}")
    print(benchkit.load_line())
    print(
        f"caseaudit report (whole command, both tiers), 12 months of {args.audits_per_month:,} audits a month: best "
        f"{best.wall:.1f} s ({_walls(best)}); {benchkit.cpu_text(best)}; "
        f"{benchkit.memory_text(best)}"
    )
    if args.growth:
        print("growth (the same authority with 1, 6 and 12 months in its register; best of each):")
        for months, m in curve.items():
            print(f"  {months:>2} month(s): {m.wall:6.1f} s; {benchkit.cpu_text(m)}; {benchkit.memory_text(m)}")
    benchkit.verdict(
        "bench_reports",
        [
            Target(
                f"a month's reports, both tiers, {12 * args.audits_per_month:,}-allocation year",
                best.wall,
                TARGET_SECONDS,
                " s",
            ),
            Target("peak memory (process tree, PSS)", best.pss_mb, TARGET_MB, " MB"),
        ],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
