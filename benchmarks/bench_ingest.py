"""Benchmark (issue 25, "Speed on real forms"): the whole ``caseaudit ingest`` command over 1,000 realistic forms,
side by side in one run with the reference loop over the same files, best of 3.

    .venv/bin/python benchmarks/bench_ingest.py [--forms 1000] [--runs 3] [--reference-runs 3] [--growth]
        [--growth-only] [--growth-runs 3] [--growth-sizes 100,1000,5000] [--cache DIR] [--profile]

Requires LibreOffice (``soffice``): a tenth of the forms are re-saved by it, as many returned forms are; without it
the benchmark says so and exits with 2. The forms (``realforms.py``): made by the real ``allocate``, filled through
their defined names and saved by openpyxl, text in every answer, 1-4 actions, a tenth with errors. ``--cache DIR``
keeps the built folders there, so that a rerun starts at once (building 5,000 forms takes several minutes).

- **Ingest** is run as a user runs it: ``python run_monthly.py ingest`` in a new process (Python's start and imports
  included) on a fresh copy of the built folder. Its CPU (user + system, its workers included) and the peak memory
  of its process tree at one instant (``benchkit.py``) are printed beside the wall clock.
- **The reference loop** is ``openpyxl.load_workbook(path)`` plus reading every cell value of every sheet, for each
  file, in its own process (its loop is timed without Python's start, which flatters it slightly).
- **The stamped-form figure**: the same command over 1,000 forms stamped by the test form kit (the build this
  benchmark used before issue 25), for comparison.
- ``--growth``: ingest of 100, 1,000 and 5,000 forms (the first N forms of one 5,000-form month), time per form, and
  per-form(5,000) / per-form(1,000) against 1.2 (``--growth-sizes`` to choose other points).
- ``--profile``: cProfile of the ingest command on the realistic forms: its main process as run, and the whole
  command on one process (no worker pool, so that the checking shows), top 25 by cumulative time.

Targets: ingest <= 2 s, >= 12x the reference loop, <= 400 MB; growth ratio <= 1.2. The last line states them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [
    str(ROOT),
    str(ROOT / "tests"),
]  # this checkout, and the test form kit (uses the real generator if present)

import benchkit  # noqa: E402 - the benchmarks beside this one
from benchkit import PYTHON, Measure, Target  # noqa: E402

TARGET_SECONDS, TARGET_RATIO, TARGET_MB, TARGET_GROWTH = 2.0, 12.0, 400.0, 1.2
TODAY, MONTH = "2026-09-30", "2026-09"


# --------------------------------------------------------------------------------------------------------------
# The stamped forms (the build before issue 25; bench_postgres.py uses it too)
# --------------------------------------------------------------------------------------------------------------
def build(folder: Path, forms: int) -> None:
    import benchfolder
    from formkit import allocate, good_answers, make_form

    from caseaudit_batch import session

    benchfolder.init_folder(folder, "Benchmark Borough")
    ctx = session.open_context(folder / "caseaudit.toml", "2026-09-01")
    answers = good_answers(ctx.framework)
    findings = (
        "The assessment was completed on time and analyses the impact of the parents' difficulties on the child. "
        "The child's wishes and feelings are recorded in their own words and inform the plan, and the social worker "
        "has visited regularly and seen the child alone. Partner agencies attend core groups and share information; "
        "the school reports better attendance. Management oversight is evident in supervision with clear actions. "
    ) * 2
    for section in ctx.framework.sections:
        answers[f"{section.key}_findings"] = findings
    inbox = ctx.config.inbox("audits")
    with ctx.register.engine.begin() as conn:
        for i in range(forms):
            prefilled = allocate(conn, ctx.framework, case_ref=f"CR{10000 + i}")
            data = make_form(
                ctx.framework,
                prefilled,
                answers,
                [("Update the chronology for the child", "Sam Worker", date(2026, 10, 30))],
            )
            (inbox / f"2026-09_CR{10000 + i}_Alex_Auditor.xlsx").write_bytes(data)
    ctx.close()


def child_ingest(folder: Path) -> dict[str, float]:
    """``ingest_inbox`` in this process (no Python start): used by bench_postgres.py."""
    from caseaudit_batch import session
    from caseaudit_batch.ingest import stage as ingest_stage

    ctx = session.open_context(folder / "caseaudit.toml", "2026-09-25")
    started = time.perf_counter()
    cpu = _cpu()
    result = ingest_stage.ingest_inbox(ctx, "2026-09")
    elapsed = time.perf_counter() - started
    cpu = _cpu() - cpu
    ctx.close()
    tally = result.data["counts"]
    return {
        "seconds": elapsed,
        "cpu": cpu,
        "accepted": tally["accepted"],
        "files": sum(tally.values()),
        "rss_mb": max(_peak_mb(), _peak_mb(resource.RUSAGE_CHILDREN)),
    }


def _peak_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KB


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _run_child(kind: str, folder: Path) -> dict[str, float]:
    out = subprocess.run(
        [PYTHON, __file__, "--child", kind, "--dir", str(folder)], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


# --------------------------------------------------------------------------------------------------------------
# The reference loop, the command, the profile
# --------------------------------------------------------------------------------------------------------------
def child_reference(inbox: Path) -> dict[str, float]:
    """The reference: ``load_workbook`` and every cell value of every sheet, for each file."""
    from openpyxl import load_workbook

    files = sorted(p for p in inbox.rglob("*.xlsx") if p.is_file())
    started, cpu, cells = time.perf_counter(), _cpu(), 0
    for path in files:
        wb = load_workbook(path)
        for ws in wb.worksheets:
            for row in ws.iter_rows(values_only=True):
                cells += len(row)
        wb.close()
    return {"seconds": time.perf_counter() - started, "cpu": _cpu() - cpu, "files": len(files), "cells": cells}


def reference(inbox: Path) -> Measure:
    m = benchkit.run_measured([PYTHON, __file__, "--child", "reference", "--dir", str(inbox)])
    if m.returncode != 0:
        raise RuntimeError(m.stderr[-3000:])
    figures = json.loads(m.stdout.strip().splitlines()[-1])
    m.extra.update(figures)
    m.wall, m.cpu = figures["seconds"], figures["cpu"]  # the loop alone, as measured inside
    m.user = m.system = None  # the process's own split would count its start-up too
    return m


def ingest_argv(folder: Path) -> list[str]:
    return [PYTHON, str(ROOT / "run_monthly.py"), "ingest", "--config", str(folder / "caseaudit.toml"),
            "--today", TODAY, "--month", MONTH]  # fmt: skip


def outcomes(folder: Path) -> dict[str, int]:
    with sqlite3.connect(folder / "caseaudit.sqlite") as db:
        return dict(db.execute("select outcome, count(*) from submissions group by outcome").fetchall())


def ingest_command(source: Path, scratch: Path, only: int | None = None) -> Measure:
    """``caseaudit ingest`` as a user starts it, on a fresh copy of ``source``."""
    import realforms

    folder = realforms.copy_folder(source, benchkit.next_scratch(scratch), only)
    m = benchkit.run_measured(ingest_argv(folder))
    if m.returncode not in (0, 65):  # 65: some forms were returned, as they should be
        raise RuntimeError(f"ingest exited {m.returncode}\n{m.stdout[-2000:]}\n{m.stderr[-3000:]}")
    m.extra["outcomes"] = outcomes(folder)
    m.extra["files"] = sum(m.extra["outcomes"].values())
    benchkit.put_aside(folder)
    return m


def child_profile(folder: Path, single: bool) -> None:
    """Run the ingest command in this process under cProfile; ``single``: with no worker pool."""
    import cProfile
    import io
    import pstats

    if single:
        os.cpu_count = lambda: 1  # ingest sizes its pool by the cores: one core, no pool
    from caseaudit_batch import cli

    profile = cProfile.Profile()
    argv = ingest_argv(folder)[2:]
    started = time.perf_counter()
    profile.enable()
    try:
        cli.main(argv)
    finally:
        profile.disable()
    elapsed = time.perf_counter() - started
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(25)
    print(f"profiled in {elapsed:.2f} s (cProfile slows it)\n" + out.getvalue(), file=sys.stderr)


def profile(source: Path, scratch: Path, label: str) -> None:
    import realforms

    for single in (False, True):
        if scratch.exists():
            shutil.rmtree(scratch)
        folder = realforms.copy_folder(source, scratch)
        args = [PYTHON, __file__, "--child", "profile", "--dir", str(folder)] + (["--single"] if single else [])
        done = subprocess.run(args, capture_output=True, text=True, check=False)
        how = "one process, no worker pool" if single else "main process as run (workers' time shows as waiting)"
        print(f"\n--- cProfile, ingest on the {label} forms, {how}: top 25 by cumulative time ---")
        text = done.stderr
        start = text.find("profiled in")
        print(text[start:] if start >= 0 else text[-6000:])
        shutil.rmtree(folder)


# --------------------------------------------------------------------------------------------------------------
def _at_least_one(text: str) -> int:
    """A count of runs: the figures and the ratio need at least one of each."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("give at least 1 (each figure is the best of these runs)")
    return value


def _line(name: str, m: Measure, files: int) -> str:
    walls = ", ".join(f"{w:.2f}" for w in m.extra.get("all_walls", [m.wall]))
    return (
        f"{name}: best {m.wall:.2f} s ({walls}) for {files:,} files, {files / m.wall:,.0f} files/s; "
        f"{benchkit.cpu_text(m)}; {benchkit.memory_text(m)}"
    )


def side_by_side(args: argparse.Namespace, cache: Path | None, tmp: Path) -> list[Target]:
    """The realistic forms, the stamped ones and the reference loop, interleaved; best of each; their figures."""
    import realforms

    real, info = realforms.cached(cache, args.forms, tmp)
    stamped = tmp / "stamped"
    started = time.perf_counter()
    build(stamped, args.forms)
    print(f"built {args.forms:,} stamped forms (the test form kit) in {time.perf_counter() - started:.0f} s")
    real_runs: list[Measure] = []
    stamped_runs: list[Measure] = []
    ref_runs: list[Measure] = []
    for i in range(max(args.runs, args.reference_runs)):  # interleaved, so that a busy spell hits each side
        if i < args.runs:
            real_runs.append(ingest_command(real, tmp / "run"))
            stamped_runs.append(ingest_command(stamped, tmp / "run"))
        if i < args.reference_runs:
            ref_runs.append(reference(real / "inbox" / "audits"))
        done = f"  round {i + 1}: realistic {real_runs[-1].wall:.2f} s, stamped {stamped_runs[-1].wall:.2f} s"
        print(done + (f", reference {ref_runs[-1].wall:.1f} s" if i < args.reference_runs else ""), flush=True)
    best = benchkit.best_of(len(real_runs), lambda k: real_runs[k])
    best_stamped = benchkit.best_of(len(stamped_runs), lambda k: stamped_runs[k])
    best_ref = benchkit.best_of(len(ref_runs), lambda k: ref_runs[k])
    if args.profile:
        profile(real, tmp / "profile", "realistic")
        profile(stamped, tmp / "profile", "stamped")
    got = best.extra["outcomes"]
    print(
        f"\nrealistic forms: {info['forms']:,} ({len(info['errors'])} with errors, {len(info['libreoffice'])} re-saved "
        f"by LibreOffice), {info['bytes'] / info['forms'] / 1024:.0f} KB a form; outcomes {got}"
    )
    if got.get("returned", 0) != len(info["errors"]) or got.get("accepted", 0) != info["forms"] - len(info["errors"]):
        print("  WARNING: the outcomes differ from the forms built (every error form returned, every other accepted)")
    print(benchkit.load_line())
    print(_line("caseaudit ingest, realistic forms (whole command)", best, info["forms"]))
    print(_line("caseaudit ingest, stamped forms (whole command)  ", best_stamped, args.forms))
    print(
        f"reference loop (load_workbook + every cell of every sheet), realistic forms: best {best_ref.wall:.1f} s "
        f"({', '.join(f'{w:.1f}' for w in best_ref.extra['all_walls'])}), CPU {best_ref.cpu:.1f} s; "
        f"{benchkit.memory_text(best_ref)}"
    )
    ratio = best_ref.wall / best.wall
    print(f"ratio: ingest is {ratio:.1f}x faster than the reference loop ({best_ref.cpu / best.cpu:.1f}x in CPU)")
    return [
        Target("ingest 1,000 realistic forms", best.wall * 1000 / info["forms"], TARGET_SECONDS, " s"),
        Target("ratio to the reference loop", ratio, TARGET_RATIO, "x", at_least=True),
        Target("peak memory (process tree, PSS)", best.pss_mb, TARGET_MB, " MB"),
    ]


def growth(args: argparse.Namespace, cache: Path | None, tmp: Path) -> list[Target]:
    """Ingest of the first 100, 1,000 and 5,000 forms of one 5,000-form month."""
    import realforms

    sizes = sorted(int(n) for n in args.growth_sizes.split(","))
    big, _ = realforms.cached(cache, sizes[-1], tmp)
    curve: list[tuple[int, Measure]] = []
    for n in sizes:
        runs = [ingest_command(big, tmp / "run", n) for _ in range(args.growth_runs)]
        curve.append((n, benchkit.best_of(len(runs), lambda k, r=runs: r[k])))  # type: ignore[misc]
        print(f"  growth {n:,}: {curve[-1][1].wall:.2f} s", flush=True)
    print(benchkit.load_line())
    print(f"growth (the first N forms of one {sizes[-1]:,}-form month; best of each):")
    for n, m in curve:
        print(
            f"  {n:>5,} forms: {m.wall:6.2f} s, {m.wall / n * 1000:5.2f} ms a form; CPU {m.cpu:5.1f} s, "
            f"{m.cpu / n * 1000:5.2f} ms a form; {benchkit.memory_text(m)}; outcomes {m.extra['outcomes']}"
        )
    per = {n: m.wall / n for n, m in curve}
    cpu = {n: m.cpu / n for n, m in curve}
    big_n, mid_n = sizes[-1], sizes[-2]
    ratio = per[big_n] / per[mid_n]
    print(f"  per-form({big_n:,}) / per-form({mid_n:,}): {ratio:.2f} wall, {cpu[big_n] / cpu[mid_n]:.2f} CPU")
    return [
        Target(f"per-form({big_n:,}) / per-form({mid_n:,})", ratio, TARGET_GROWTH, ""),
        Target(f"peak memory at {big_n:,} forms", curve[-1][1].pss_mb, TARGET_MB, " MB"),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forms", type=int, default=1000)
    parser.add_argument("--runs", type=_at_least_one, default=3, help="ingest runs, each on a fresh copy (best shown)")
    parser.add_argument(
        "--reference-runs", type=_at_least_one, default=3, help="runs of the reference loop (best is shown)"
    )
    parser.add_argument("--growth", action="store_true", help="also ingest 100, 1,000 and 5,000 forms")
    parser.add_argument("--growth-runs", type=int, default=3, help="runs of each growth point (best is shown)")
    parser.add_argument("--growth-only", action="store_true", help="only the growth curve")
    parser.add_argument("--growth-sizes", default="100,1000,5000", help="the curve's points (the target compares the "
                        "last two)")  # fmt: skip
    parser.add_argument("--cache", metavar="DIR", help="keep the built forms here and reuse them")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top 25 of the ingest command")
    parser.add_argument("--child", choices=("ingest", "openpyxl", "reference", "profile"))
    parser.add_argument("--dir")
    parser.add_argument("--single", action="store_true")
    benchkit.add_options(parser)
    args = parser.parse_args()
    benchkit.use_options(args)
    if args.child:
        folder = Path(args.dir)
        if args.child == "profile":
            child_profile(folder, args.single)
        else:
            figures = child_ingest(folder) if args.child == "ingest" else child_reference(folder)
            print(json.dumps(figures))
        return 0
    if shutil.which("soffice") is None:
        print(
            "bench_ingest needs LibreOffice: a tenth of its forms are re-saved by it, as returned forms often are. "
            "Install it (Debian/Ubuntu: apt-get install libreoffice-calc) so that `soffice` is on the PATH.",
            file=sys.stderr,
        )
        return 2
    cache = Path(args.cache) if args.cache else None
    if cache:
        cache.mkdir(parents=True, exist_ok=True)
    print(benchkit.load_line(), flush=True)
    targets: list[Target] = []
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        if not args.growth_only:
            targets += side_by_side(args, cache, Path(tmp))
        if args.growth or args.growth_only:
            targets += growth(args, cache, Path(tmp))
    benchkit.verdict("bench_ingest", targets)
    return 0


if __name__ == "__main__":
    sys.exit(main())
