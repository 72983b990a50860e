"""The register on PostgreSQL beside SQLite, in one run (issue 23): ``ingest`` of 1,000 completed forms and a
month's reports over the 18,000-audit year, on each backend, and the ratio.

Needs PostgreSQL: a server URL in CASEAUDIT_TEST_POSTGRES, or PostgreSQL installed (a throwaway cluster is started
in a temporary folder and stopped at the end, as `make test` does). Synthetic data only.

    .venv/bin/python benchmarks/bench_postgres.py [--forms 1000] [--repeat 3] [--audits-per-month 1500]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]

import bench_ingest  # noqa: E402 - the benchmarks beside this one
import bench_reports  # noqa: E402
import benchfolder  # noqa: E402

from caseaudit_batch import session  # noqa: E402
from caseaudit_batch.allocation import workspace as setup  # noqa: E402
from caseaudit_batch.core.clock import Month  # noqa: E402
from caseaudit_batch.reports import stage as reports_stage  # noqa: E402


def _server() -> Callable[[], None]:
    """Make sure there is a server (CASEAUDIT_TEST_POSTGRES); returns what stops the one started here."""
    if os.environ.get("CASEAUDIT_TEST_POSTGRES"):
        return lambda: None
    out = subprocess.run([str(ROOT / "tests" / "pg" / "cluster.sh"), "start"], capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"PostgreSQL is needed for this benchmark and could not be started: {out.stderr.strip()}")
    values = dict(line.removeprefix("export ").split("=", 1) for line in out.stdout.splitlines())
    os.environ["CASEAUDIT_TEST_POSTGRES"] = values["CASEAUDIT_TEST_POSTGRES"].strip("'")
    folder = values["CASEAUDIT_PG_DIR"].strip("'")
    return lambda: subprocess.run([str(ROOT / "tests" / "pg" / "cluster.sh"), "stop", folder], check=False)


def _on(backend: str, build: Callable[[], Any]) -> Any:
    """Run ``build`` with every working folder it makes on ``backend`` (a new PostgreSQL database for each)."""
    import pgkit

    real = setup.init_workspace
    if backend == "postgres":
        setup.init_workspace = pgkit.on_new_databases(real)  # type: ignore[assignment]
    try:
        return build()
    finally:
        setup.init_workspace = real  # type: ignore[assignment]


def _copy(folder: Path, target: Path) -> Path:
    import pgkit

    return pgkit.copy_folder(folder, target)


def bench_ingest_both(tmp: Path, forms: int, repeat: int) -> dict[str, float]:
    folders = {}
    for backend in ("sqlite", "postgres"):
        folder = tmp / f"ingest-{backend}"
        started = time.perf_counter()
        _on(backend, lambda f=folder: bench_ingest.build(f, forms))
        folders[backend] = folder
        print(f"{backend}: {forms} completed forms built and allocated in {time.perf_counter() - started:.1f} s")
    best: dict[str, float] = {}
    for i in range(repeat):  # alternated, so that a slow spell of the machine falls on both
        for backend, folder in folders.items():
            copy = _copy(folder, tmp / f"run-{backend}-{i}")
            figures = bench_ingest._run_child("ingest", copy)
            assert figures["accepted"] == forms, figures
            best[backend] = min(best.get(backend, float("inf")), figures["seconds"])
    return best


def bench_reports_both(tmp: Path, per_month: int, services: int) -> dict[str, float]:
    month = Month(2026, 9)
    took = {}
    for backend in ("sqlite", "postgres"):
        folder = tmp / f"reports-{backend}"
        _on(backend, lambda f=folder: benchfolder.init_folder(f, "Benchmark Borough (synthetic)"))
        ctx = session.open_context(folder / "caseaudit.toml", "2026-10-05")
        started = time.perf_counter()
        counts = bench_reports.synthesise(ctx, month, per_month, services)
        print(f"{backend}: register synthesised in {time.perf_counter() - started:.1f} s ({counts['audits']:,} audits)")
        started = time.perf_counter()
        result = reports_stage.report_month(ctx, month)
        took[backend] = time.perf_counter() - started
        ctx.close()
        assert result.exit_code == 0
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forms", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--audits-per-month", type=int, default=1500)
    parser.add_argument("--services", type=int, default=8)
    args = parser.parse_args()
    stop = _server()
    tmp = Path(tempfile.mkdtemp(prefix="bench-postgres-"))
    try:
        ingest = bench_ingest_both(tmp, args.forms, args.repeat)
        reports = bench_reports_both(tmp, args.audits_per_month, args.services)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        stop()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print(
        f"ingest of {args.forms} forms (best of {args.repeat}): SQLite {ingest['sqlite']:.2f} s, PostgreSQL "
        f"{ingest['postgres']:.2f} s: PostgreSQL/SQLite {ingest['postgres'] / ingest['sqlite']:.2f}"
    )
    print(
        f"report of a month over the {args.audits_per_month * 12:,}-audit year: SQLite {reports['sqlite']:.1f} s, "
        f"PostgreSQL {reports['postgres']:.1f} s: PostgreSQL/SQLite {reports['postgres'] / reports['sqlite']:.2f}"
    )


if __name__ == "__main__":
    main()
