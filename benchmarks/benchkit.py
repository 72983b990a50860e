"""What the issue 25 benchmarks share: a command measured as a user runs it (wall clock, CPU of it and its children,
peak memory of its process tree at the peak), best of N, and the verdict line that ends every benchmark.

Memory: a sampling thread reads ``/proc/<pid>/smaps_rollup`` of the measured process and of every descendant (found
through ``/proc/<pid>/task/<tid>/children``) about every 20 ms and keeps the largest *sum* seen at one instant.
Two sums are kept: RSS and PSS. Ingest's workers are forked, so each one's RSS counts again every page it shares
with its parent copy-on-write; PSS divides a shared page among the processes that map it, so the PSS sum is the
physical memory the tree uses together. The targets are judged on the PSS sum; the RSS sum is printed beside it as
an upper bound. (``ru_maxrss`` of children is each child's own maximum, not a sum at one instant.)

CPU is printed as user and system time apart. The system time is mostly the kernel making files, and on this
machine that cost moves a great deal (measured on 2026-12-03: 0.03 to 1 ms of system CPU a file, on the same disk,
minutes apart). The cause, found on 2026-12-04 with ``perf``: the disk is ext4 *without a journal*, where the kernel,
to find a free inode for each new file, passes over every inode deleted in the last one to five minutes whose
inode-table block is still in memory (``find_inode_bit`` and ``recently_deleted`` in the profile). Making 3,000
files took 0.10 s of system CPU after five quiet minutes and 1.2 s three seconds after 6,000 files were deleted.
A journalled file system, as users' machines have, skips that search. So a benchmark that deleted one run's
thousands of files before the next run measured its own deletions: each measured run now gets a new folder
(:func:`next_scratch`), and the folders are removed when the benchmark ends (:func:`put_aside`). Other work on the
machine can still leave the cost high, so :func:`load_line` measures what making a file costs at that moment: read
a figure beside it. Dropping the kernel's caches clears the cost too (the search looks only at inode-table blocks
still in memory), the likely reason the demo's system time fell from 14-20 s to about 6 s with it: each benchmark takes
``--drop-caches`` (as root: ``sync`` and ``/proc/sys/vm/drop_caches`` before every measured run, the reference's
included, then the program's code read back in) for figures comparable from one hour to the next; the output says
when it was done.
"""

from __future__ import annotations

import argparse
import atexit
import itertools
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# A benchmark measures the checkout it lives in: the package imported in-process (bench_demo's --steps, the
# children of bench_ingest) is this checkout's, not whichever one the virtual environment installed (a git
# worktree shares the main checkout's environment).
if str(ROOT) not in sys.path[:1]:
    sys.path.insert(0, str(ROOT))
INTERVAL = 0.02  # seconds between memory samples


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                found += [int(c) for c in f.read().split()]
        except OSError:
            continue
    return found


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        todo += _children(p)
    return pids


def _rss_pss_kb(pid: int) -> tuple[int, int]:
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except (OSError, ValueError):
        pass  # the process ended between listing and reading
    return rss, pss


class TreeSampler:
    """Samples the summed RSS and PSS of ``pid`` and its descendants until stopped; keeps the peaks (MB)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_rss_mb = 0.0
        self.peak_pss_mb = 0.0
        self.peak_processes = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            pids = _tree(self.pid)
            rss = pss = 0
            for p in pids:
                r, s = _rss_pss_kb(p)
                rss, pss = rss + r, pss + s
            self.samples += 1
            if pss / 1024 > self.peak_pss_mb:
                self.peak_pss_mb, self.peak_processes = pss / 1024, len(pids)
            self.peak_rss_mb = max(self.peak_rss_mb, rss / 1024)
            if self._stop.wait(INTERVAL):
                return


@dataclass
class Measure:
    """One measured run of a command."""

    wall: float
    cpu: float  # user + system of the command and every child it waited for
    pss_mb: float
    rss_mb: float
    returncode: int
    stdout: str = ""
    stderr: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    user: float | None = None  # the two parts of ``cpu``, where measured
    system: float | None = None


#: Set by ``--drop-caches`` (:func:`add_options`): the kernel's caches are dropped before each measured run.
DROP_CACHES = False
DROP_CACHES_FILE = Path("/proc/sys/vm/drop_caches")


def add_options(parser: argparse.ArgumentParser) -> None:
    """The options every benchmark takes."""
    parser.add_argument(
        "--drop-caches",
        action="store_true",
        help="as root: sync and drop the kernel's page, dentry and inode caches before every measured run",
    )


def use_options(args: argparse.Namespace) -> None:
    global DROP_CACHES
    wanted = bool(getattr(args, "drop_caches", False))
    if wanted and not os.access(DROP_CACHES_FILE, os.W_OK):
        raise SystemExit(f"--drop-caches needs root (it writes {DROP_CACHES_FILE}); run without it")
    DROP_CACHES = wanted
    if wanted:
        print("the kernel's caches are dropped before every measured run (--drop-caches)", flush=True)


#: What a warm machine has read lately: the program's code (a user who ran a command yesterday has it cached).
WARM_IMPORTS = (
    "import caseaudit_batch.cli, caseaudit_batch.pipeline, numpy, pandas, sqlalchemy, openpyxl, xlsxwriter, docx, "
    "docxtpl, matplotlib.figure, matplotlib.backends.backend_agg, python_calamine, lxml.etree, PIL.Image"
)


def drop_caches() -> None:
    """Write dirty pages out, drop the page, dentry and inode caches (root only), then read the program's code back
    in (:data:`WARM_IMPORTS`), so that a run starts as on a machine that ran it lately, less what other work left
    cached; its inputs are read from the disk."""
    os.sync()
    DROP_CACHES_FILE.write_text("3\n")
    subprocess.run([PYTHON, "-c", WARM_IMPORTS], cwd=ROOT, check=False, capture_output=True)


def run_measured(argv: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> Measure:
    """Run ``argv`` as a new process (Python's start included), sampling its process tree's memory."""
    if DROP_CACHES:
        drop_caches()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(
        list(argv), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )  # fmt: skip
    with TreeSampler(proc.pid) as sampler:
        out, err = proc.communicate()
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    peak_pss, peak_rss = sampler.peak_pss_mb, sampler.peak_rss_mb
    return Measure(wall, user + system, peak_pss, peak_rss, proc.returncode, out, err, user=user, system=system)


def best_of(runs: int, once: Callable[[int], Measure], key: Callable[[Measure], float] = lambda m: m.wall) -> Measure:
    """The best of ``runs`` runs by ``key`` (wall clock by default); peak memory is the largest of all the runs."""
    done = [once(i) for i in range(runs)]
    best = min(done, key=key)
    best.extra["all_walls"] = [m.wall for m in done]
    best.extra["all_cpu"] = [m.cpu for m in done]
    best.extra["all_system"] = [m.system for m in done]
    best.pss_mb = max(m.pss_mb for m in done)
    best.rss_mb = max(m.rss_mb for m in done)
    return best


#: Folders of finished runs, removed when the benchmark ends (:func:`put_aside`).
_PUT_ASIDE: list[Path] = []
_RUNS = itertools.count(1)


def next_scratch(scratch: Path) -> Path:
    """A new folder name beside ``scratch`` for one measured run (``run-1``, ``run-2``...): never one that a
    finished run's files were deleted from (see the module's note on making files)."""
    return scratch.with_name(f"{scratch.name}-{next(_RUNS)}")


def put_aside(folder: Path) -> None:
    """Remove ``folder`` when the benchmark ends rather than now: thousands of files deleted just before the next
    measured run would make each of its new files slower to create (see the module's note)."""
    _PUT_ASIDE.append(folder)


@atexit.register
def _remove_put_aside() -> None:
    while _PUT_ASIDE:
        shutil.rmtree(_PUT_ASIDE.pop(), ignore_errors=True)


#: The probe of :func:`file_cost`: files of about a returned form's feedback e-mail, in one new folder.
PROBE_FILES, PROBE_BYTES = 300, 20_000


def file_cost(where: Path | None = None) -> float:
    """Milliseconds of system CPU to make one file here now (the mean over :data:`PROBE_FILES` new files)."""
    folder = Path(tempfile.mkdtemp(prefix="bench-probe-", dir=where))
    data = b"x" * PROBE_BYTES
    try:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_stime
        for n in range(PROBE_FILES):
            (folder / f"probe-{n:04d}.eml").write_bytes(data)
        return (resource.getrusage(resource.RUSAGE_SELF).ru_stime - before) * 1000 / PROBE_FILES
    finally:
        put_aside(folder)


def load_line() -> str:
    one, five, fifteen = os.getloadavg()
    return (
        f"machine: {os.cpu_count()} cores, load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1/5/15 min); "
        f"making a file costs {file_cost():.2f} ms of system CPU just now ({PROBE_FILES} files of "
        f"{PROBE_BYTES // 1000} kB)"
    )


def cpu_text(m: Measure) -> str:
    """``m``'s CPU, user and system apart where measured (children included)."""
    if m.user is None or m.system is None:
        return f"CPU {m.cpu:.2f} s"
    return f"CPU {m.cpu:.2f} s (user {m.user:.2f} + system {m.system:.2f}, children included)"


def memory_text(m: Measure) -> str:
    return f"peak memory of the process tree {m.pss_mb:,.0f} MB PSS (RSS sum {m.rss_mb:,.0f} MB)"


@dataclass
class Target:
    """One figure against its target: ``at_most`` or (``at_least=True``) at least ``limit``."""

    name: str
    value: float
    limit: float
    unit: str
    at_least: bool = False

    @property
    def met(self) -> bool:
        return self.value >= self.limit if self.at_least else self.value <= self.limit

    def text(self) -> str:
        sign = ">=" if self.at_least else "<="
        return f"{self.name} {self.value:,.2f}{self.unit} (target {sign} {self.limit:,g}{self.unit})"


def verdict(title: str, targets: Sequence[Target]) -> int:
    """Print each target, then the last line: every figure, its target and "met" or "NOT MET". Returns the exit
    code (0 met, 1 not met) so that ``make bench`` can tell."""
    for t in targets:
        print(f"  {t.text()}: {'met' if t.met else 'NOT MET'}")
    ok = all(t.met for t in targets)
    print(f"{title}: " + "; ".join(t.text() for t in targets) + f": {'met' if ok else 'NOT MET'}")
    return 0 if ok else 1
