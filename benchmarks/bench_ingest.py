"""Benchmark: the whole ``ingest`` command over 1,000 valid completed audit forms, against a loop of
``openpyxl.load_workbook`` over the same files, side by side in one run (issue 5, "Speed").

Targets: ingest <= 3 s, >= 10x faster than the openpyxl loop, peak memory < 300 MB. Each side runs in its own child
process so its peak RSS is its own. Usage: ``python benchmarks/bench_ingest.py [--forms N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
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


def child_openpyxl(folder: Path) -> dict[str, float]:
    from openpyxl import load_workbook

    files = sorted((folder / "inbox" / "audits").glob("*.xlsx"))
    started = time.perf_counter()
    cpu = _cpu()
    for path in files:
        wb = load_workbook(path)
        wb.close()
    return {
        "seconds": time.perf_counter() - started,
        "cpu": _cpu() - cpu,
        "files": len(files),
        "rss_mb": _peak_mb(),
    }


def _run_command(copy: Path, folder: Path) -> float:
    """``caseaudit ingest`` as a user starts it: a new Python process, its imports and set-up included."""
    shutil.copytree(folder, copy)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, str(ROOT / "run_monthly.py"), "ingest", "--config", str(copy / "caseaudit.toml"),
         "--today", "2026-09-25", "--month", "2026-09"],
        capture_output=True, check=True,
    )  # fmt: skip
    return time.perf_counter() - started


def _peak_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KB


def _cpu() -> float:
    """CPU seconds of this process and its finished children (ingest's reading workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _run_child(kind: str, folder: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--dir", str(folder)], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--forms", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="ingest runs, each on a fresh copy (best is shown)")
    parser.add_argument("--child", choices=("ingest", "openpyxl"))
    parser.add_argument("--dir")
    args = parser.parse_args()
    if args.child:
        folder = Path(args.dir)
        figures = child_ingest(folder) if args.child == "ingest" else child_openpyxl(folder)
        print(json.dumps(figures))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "qa"
        started = time.perf_counter()
        build(folder, args.forms)
        size = sum(p.stat().st_size for p in (folder / "inbox" / "audits").glob("*.xlsx")) / args.forms
        print(
            f"built {args.forms} completed forms (~{size / 1024:.0f} KB each) in {time.perf_counter() - started:.1f} s"
        )
        runs = []
        for i in range(args.repeat):
            copy = Path(tmp) / f"run{i}"
            shutil.copytree(folder, copy)
            runs.append(_run_child("ingest", copy))
        baseline = _run_child("openpyxl", folder)
        command = _run_command(Path(tmp) / "as-command", folder)
    runs.sort(key=lambda r: r["seconds"])
    best, median = runs[0], runs[len(runs) // 2]
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} cores, load average {load:.1f} (other work on the machine slows every figure)")
    print(
        f"caseaudit ingest (whole command), best of {len(runs)}: {best['seconds']:.2f} s for {best['files']:.0f} files "
        f"({best['accepted']:.0f} accepted), {best['files'] / best['seconds']:.0f} files/s; median "
        f"{median['seconds']:.2f} s; CPU {best['cpu']:.2f} s over its processes; peak RSS {best['rss_mb']:.0f} MB"
    )
    print(
        f"openpyxl.load_workbook loop:      {baseline['seconds']:.2f} s for {baseline['files']:.0f} files, "
        f"{baseline['files'] / baseline['seconds']:.0f} files/s; CPU {baseline['cpu']:.2f} s; "
        f"peak RSS {baseline['rss_mb']:.0f} MB"
    )
    print(f"caseaudit ingest as a command (new process, Python start and imports included): {command:.2f} s")
    ratio = baseline["seconds"] / best["seconds"]
    print(
        f"ratio: ingest is {ratio:.1f}x faster (best run; {baseline['seconds'] / median['seconds']:.1f}x on the "
        f"median; {baseline['cpu'] / best['cpu']:.1f}x in CPU time)"
    )
    ok = best["seconds"] <= 3.0 and ratio >= 10 and best["rss_mb"] < 300
    print(f"targets (<= 3 s, >= 10x, < 300 MB): {'met' if ok else 'NOT MET'}")


if __name__ == "__main__":
    main()
