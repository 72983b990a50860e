"""Forms the way users' forms arrive (issue 25), for the ingest and allocate benchmarks.

A synthetic authority with exactly N auditors to allocate is written as the roster and caseload; the real
``allocate`` makes the month's blank forms; each blank form is filled *through its defined names* with openpyxl and
saved by openpyxl (``forms.fill_form_openpyxl``, the way QA's own tools and a careful auditor's Excel would), in a
worker pool; a tenth is then re-saved by LibreOffice (one ``soffice`` call for all of them, with a private profile).
Every free-text answer has text (sentences drawn from ``caseaudit_batch/demo/corpus.py`` and from the labelled
corpora in ``../shared/corpora``, so that no two forms read the same; a few answers name people, as auditors do),
every form has 1-4 actions, and a tenth have errors of several kinds (see ``ERRORS``).

Everything is seeded: the same N builds the same forms. A built folder can be cached (``build(..., cache=DIR)``).
"""

from __future__ import annotations

import csv
import itertools
import json
import multiprocessing
import random
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import benchfolder
import sqlalchemy as sa

from caseaudit_batch import session
from caseaudit_batch.allocation import stage as allocation_stage
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.clock import Month
from caseaudit_batch.demo import corpus, synthetic
from caseaudit_batch.demo.answers import audit_answers
from caseaudit_batch.workbook import forms
from caseaudit_batch.workbook.layout import GENERATOR_VERSION

ROOT = Path(__file__).resolve().parent.parent
MONTH = Month(2026, 9)
ALLOCATE_DAY = date(2026, 9, 1)
INGEST_DAY = date(2026, 9, 30)  # every form is in: the month's last day
ORGANISATION = "Benchmark Borough (synthetic)"
BUILD_VERSION = 1  # bump when the forms built here change, so that a cache is rebuilt
ERRORS = (
    "missing section grade",  # V001
    "missing overall grade",  # V001
    "date completed not a date",  # V021
    "action without an owner",  # V010
    "action without a due date",  # V011
    "grade not one of the four",  # V002
    "safeguarding concern without detail",  # V004
    "practice standard unanswered",  # V130
    "action due date not a date",  # V012
    "overall grade too high for the lowest section",  # V003
)
ACTION_TEXTS = (
    "Update the child's assessment so that it reflects current risks and strengths.",
    "Complete overdue statutory visits and record how the child presented.",
    "Review the plan with the family and make every action SMART.",
    "Record management oversight with the rationale for decisions.",
    "Update the chronology and share it with partner agencies.",
    "Arrange direct work to capture the young person's wishes and feelings.",
    "Hold a family network meeting and record the father's views.",
    "Invite school and health to the next core group and record what each will do.",
    "Refresh the safety plan with the young person after each missing episode.",
    "Start life story work before the planned move.",
)
OWNER_ROLES = ("Social worker", "Team manager", "Practice supervisor", "SW", "TM and SW")


# --------------------------------------------------------------------------------------------------------------
# The authority: exactly N auditors to allocate
# --------------------------------------------------------------------------------------------------------------
@contextmanager
def _more_surnames() -> Iterator[None]:
    """The demo's name pool (44 first names x 39 surnames) runs out at about 700 auditors; double-barrelled
    surnames made from the same invented words give room for 5,000."""
    extra = tuple(f"{a}-{b}" for a, b in itertools.permutations(synthetic.SURNAMES, 2))
    with mock.patch.object(synthetic, "SURNAMES", synthetic.SURNAMES + extra):
        yield


def _to_allocate(authority: synthetic.Authority, day: date) -> int:
    return sum(
        1
        for p in authority.auditors
        if not (p.audit_status == "Paused" and p.paused_until is not None and p.paused_until > day)
    )


def authority_for(forms_wanted: int, day: date = ALLOCATE_DAY) -> synthetic.Authority:
    """A synthetic authority in which exactly ``forms_wanted`` auditors are due an audit on ``day`` (about one in
    sixteen is paused, so a few more auditors than forms)."""
    n = round(forms_wanted / 0.94) + 2
    tried: dict[int, int] = {}
    with _more_surnames():
        while n not in tried and len(tried) < 60:
            authority = synthetic.make_authority(n, today=day)
            tried[n] = got = _to_allocate(authority, day)
            if got == forms_wanted:
                return authority
            n += forms_wanted - got if n + forms_wanted - got not in tried else 1
    raise RuntimeError(f"no authority size gives exactly {forms_wanted} audits (tried {sorted(tried.items())})")


def init_with_authority(folder: Path, forms_wanted: int) -> None:
    """``init``, a notices sender, the roster and caseload, and QA's people named in the config (as the demo)."""
    from caseaudit_batch.demo.player import write_synthetic_authority

    benchfolder.init_folder(folder, ORGANISATION)
    write_synthetic_authority(folder, authority_for(forms_wanted))


# --------------------------------------------------------------------------------------------------------------
# What the auditors write
# --------------------------------------------------------------------------------------------------------------
def _read_tsv(name: str) -> list[list[str]]:
    path = ROOT.parent / "shared" / "corpora" / name  # ../shared/corpora beside the checkout
    if not path.exists():
        print(f"note: {path} not found; the forms' text comes from the demo corpus alone")
        return []  # optional: the demo corpus alone still varies every text
    lines = [line for line in path.read_text("utf-8").splitlines() if line and not line.startswith("#")]
    return list(csv.reader(lines[1:], delimiter="\t"))


class Writer:
    """Draws an auditor's sentences: the demo corpus's templates, the labelled learning points, and now and then a
    sentence naming someone (from the names corpus)."""

    def __init__(self) -> None:
        names = _read_tsv("names.tsv")
        self.named = [r[0] for r in names if len(r) > 1 and r[1].strip()]
        self.plain = [r[0] for r in names if len(r) < 2 or not r[1].strip()]
        self.points = [r[0] for r in _read_tsv("themes.tsv")]

    def extra(self, rng: random.Random) -> str:
        pool = self.points + self.plain
        return rng.choice(pool) if pool and rng.random() < 0.5 else ""

    def named_sentence(self, rng: random.Random) -> str:
        return rng.choice(self.named) if self.named else "Ms Patel, the school nurse, attended the core group."


def _join(*parts: str | None) -> str:
    return " ".join(p for p in parts if p)


def form_answers(
    rng: random.Random, writer: Writer, framework: Any, row: Any, index: int, error: str | None
) -> tuple[dict[str, object], list[tuple[object, object, object]]]:
    """One auditor's completed form: grades, standards and dates from the demo's auditors (``audit_answers``), text
    in every free-text answer, 1-4 actions, and ``error`` if given."""
    p = row.prefilled
    filled = audit_answers(
        rng,
        framework,
        audit_id=row.audit_id,
        case_ref=str(p.get("case_ref", "")),
        service=str(p.get("service", "")),
        month=MONTH,
        month_index=index % 12,
        previous_worker=str(p.get("previous_worker") or ""),
    )
    a = dict(filled.answers)
    if a.get("overall_grade") is None:  # the demo's own error: this benchmark chooses its errors itself
        a["overall_grade"] = filled.overall
    completed = min(a["date_completed"], INGEST_DAY - timedelta(days=1))  # type: ignore[type-var]
    a["date_completed"] = completed
    words = random.Random(f"{row.audit_id}:bench-text")
    m = index % 12
    a["strengths"] = _join(corpus.strength(words, m), corpus.strength(words, m), writer.extra(words))
    a["learning"] = _join(corpus.learning(words, m), corpus.learning(words, m), writer.extra(words))
    a["recommendations"] = _join(corpus.recommendation(words, m), corpus.recommendation(words, m))
    a["org_learning"] = corpus.org_learning(words, m) or corpus.fill(words, words.choice(corpus.ORG_LEARNING))
    a["diversity"] = _join(corpus.diversity(words), writer.extra(words))
    if a["sw_participation"] == "Not possible":
        a["sw_participation_reason"] = a["sw_participation_reason"] or "The social worker was on leave."
    else:
        a["sw_participation_reason"] = words.choice(
            ("The social worker joined the audit discussion in person.", "We spoke by video after the file review.",
             "The worker and I met at the team office and went through the file together.")
        )  # fmt: skip
    if a["safeguarding_concern"] != "Yes":
        a["safeguarding_detail"] = words.choice(
            ("No immediate concerns; the safety plan is in place.", "None identified at the time of the audit.",
             "No new concerns; the plan already addresses the risks.")
        )  # fmt: skip
    for number, section in enumerate(framework.sections, start=1):
        grade = str(a[f"{section.key}_grade"])
        a[f"{section.key}_findings"] = _join(
            corpus.findings(words, grade, number, m), corpus.findings(words, grade, number, m), writer.extra(words)
        )
        a[f"{section.key}_impact"] = corpus.impact(words, grade in ("Good", "Outstanding"))
    if words.random() < 0.15:  # a few answers name someone, as auditors do (a warning, V120, not an error)
        key = words.choice(["strengths", "learning", *(f"{s.key}_findings" for s in framework.sections)])
        a[key] = _join(str(a[key]), writer.named_sentence(words))
    owners = [str(p.get("social_worker") or ""), str(p.get("team_manager") or ""), *OWNER_ROLES]
    actions: list[tuple[object, object, object]] = [
        (
            _join(words.choice(ACTION_TEXTS), corpus.recommendation(words, m) if words.random() < 0.4 else ""),
            words.choice([o for o in owners if o]),
            completed + timedelta(days=words.choice((14, 21, 28, 42, 56, 84))),
        )
        for _ in range(words.randint(1, 4))
    ]
    if error:
        _add_error(a, actions, framework, error)
    return a, actions


def _add_error(a: dict[str, object], actions: list[tuple[object, object, object]], framework: Any, error: str) -> None:
    sections = [s.key for s in framework.sections]
    if error == "missing section grade":
        a[f"{sections[2]}_grade"] = None
    elif error == "missing overall grade":
        a["overall_grade"] = None
    elif error == "date completed not a date":
        a["date_completed"] = "31/09/2026"
    elif error == "action without an owner":
        actions[0] = (actions[0][0], None, actions[0][2])
    elif error == "action without a due date":
        actions[-1] = (actions[-1][0], actions[-1][1], None)
    elif error == "grade not one of the four":
        a[f"{sections[0]}_grade"] = "Satisfactory"
    elif error == "safeguarding concern without detail":
        a["safeguarding_concern"], a["safeguarding_detail"] = "Yes", None
    elif error == "practice standard unanswered":
        a[next(s.name for s in framework.standards)] = None
    elif error == "action due date not a date":
        actions[0] = (actions[0][0], actions[0][1], "end of next month")
    elif error == "overall grade too high for the lowest section":
        a[f"{sections[-1]}_grade"], a["overall_grade"] = "Inadequate", "Outstanding"
    else:
        raise ValueError(error)


# --------------------------------------------------------------------------------------------------------------
# Building the folder
# --------------------------------------------------------------------------------------------------------------
def _fill_one(job: tuple[str, str, dict[str, object], list[tuple[object, object, object]]]) -> None:
    blank, target, answers, actions = job
    Path(target).write_bytes(forms.fill_form_openpyxl(Path(blank).read_bytes(), answers, actions))


def soffice_resave(files: list[Path], workdir: Path, batch: int = 100, attempts: int = 3) -> None:
    """Open and save ``files`` with LibreOffice, replacing each in place: a hundred files a call (its start is slow,
    and one call over 500 files left about half unconverted while still exiting 0), with the missing ones tried
    again."""
    out = workdir / "lo-out"
    out.mkdir(parents=True, exist_ok=True)
    todo = list(files)
    done = None
    for _ in range(attempts):
        for start in range(0, len(todo), batch):
            done = subprocess.run(
                ["soffice", f"-env:UserInstallation={(workdir / 'lo-profile').as_uri()}", "--headless",
                 "--convert-to", "xlsx", "--outdir", str(out), *map(str, todo[start : start + batch])],
                capture_output=True, text=True, check=False, timeout=3600,
            )  # fmt: skip
        todo = [f for f in files if not (out / f.name).exists()]
        if not todo:
            break
    if todo:
        stderr = done.stderr[-2000:] if done is not None else ""
        raise RuntimeError(f"soffice left {len(todo)} of {len(files)} files unconverted\n{stderr}")
    for f in files:
        shutil.move(str(out / f.name), str(f))


def build(folder: Path, forms_wanted: int, *, workers: int = 2, log: bool = True) -> dict[str, Any]:
    """Build a working folder whose audits inbox holds ``forms_wanted`` realistic forms for ``MONTH``."""
    started = time.perf_counter()
    init_with_authority(folder, forms_wanted)
    ctx = session.open_context(folder / "caseaudit.toml", ALLOCATE_DAY.isoformat())
    try:
        allocation_stage.allocate_month(ctx, MONTH)
        framework = ctx.framework
        output = ctx.config.output_dir / str(MONTH)
        inbox = ctx.config.inbox("audits") / str(MONTH)
        with ctx.register.reader() as conn:
            a = reg.allocations
            rows = list(
                conn.execute(
                    sa.select(a.c.audit_id, a.c.form_file, a.c.prefilled)
                    .where(a.c.month == str(MONTH), a.c.status == "allocated")
                    .order_by(a.c.audit_ref)
                )
            )
    finally:
        ctx.close()
    if len(rows) != forms_wanted:
        raise RuntimeError(f"allocate made {len(rows)} forms, not {forms_wanted}")
    allocated = time.perf_counter() - started
    inbox.mkdir(parents=True, exist_ok=True)
    rng, writer = random.Random(25), Writer()
    kinds = ["error" if i % 10 == 3 else "libreoffice" if i % 10 == 7 else "clean" for i in range(len(rows))]
    jobs, errors = [], {}
    for index, (row, kind) in enumerate(zip(rows, kinds, strict=True)):
        error = ERRORS[(index // 10) % len(ERRORS)] if kind == "error" else None
        answers, actions = form_answers(rng, writer, framework, row, index, error)
        if error:
            errors[row.form_file] = error
        jobs.append((str(output / row.form_file), str(inbox / row.form_file), answers, actions))
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for _ in pool.imap_unordered(_fill_one, jobs, chunksize=8):
            pass
    filled = time.perf_counter() - started - allocated
    resave = [inbox / row.form_file for row, kind in zip(rows, kinds, strict=True) if kind == "libreoffice"]
    with tempfile.TemporaryDirectory(prefix="bench-lo-") as tmp:
        soffice_resave(resave, Path(tmp))
    info = {
        "forms": len(rows),
        "errors": errors,
        "libreoffice": [p.name for p in resave],
        "seconds": {
            "allocate": round(allocated, 1),
            "fill": round(filled, 1),
            "libreoffice": round(time.perf_counter() - started - allocated - filled, 1),
        },
        "bytes": sum(p.stat().st_size for p in inbox.iterdir()),
        "build_version": BUILD_VERSION,
        "generator_version": GENERATOR_VERSION,
        "framework_version": framework.version,
    }
    (folder / "realforms.json").write_text(json.dumps(info, indent=1), "utf-8")
    if log:
        print(
            f"built {len(rows):,} realistic forms in {time.perf_counter() - started:.0f} s (allocate "
            f"{allocated:.0f} s, filling with openpyxl {filled:.0f} s, LibreOffice re-saving {len(resave)} "
            f"{info['seconds']['libreoffice']:.0f} s), {info['bytes'] / len(rows) / 1024:.0f} KB a form",
            flush=True,
        )
    return info


def cached(cache: Path | None, forms_wanted: int, scratch: Path) -> tuple[Path, dict[str, Any]]:
    """The built folder for ``forms_wanted`` forms: from ``cache`` if it holds one built by this version, else built
    (into ``cache`` when given, so that the next run reuses it)."""
    key = f"realistic-{forms_wanted}-b{BUILD_VERSION}-g{GENERATOR_VERSION}"
    folder = (cache / key) if cache else (scratch / key)
    info_path = folder / "realforms.json"
    if info_path.exists():
        info = json.loads(info_path.read_text("utf-8"))
        print(f"using the {forms_wanted:,} realistic forms cached in {folder}", flush=True)
        return folder, info
    if folder.exists():
        shutil.rmtree(folder)  # an interrupted build
    return folder, build(folder, forms_wanted)


def copy_folder(source: Path, target: Path, only: int | None = None) -> Path:
    """A fresh copy of a built folder to run on (ingest changes the register); with ``only``, just the first
    ``only`` forms of its inbox (by audit reference)."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("realforms.json"))
    if only is not None:
        inbox = target / "inbox" / "audits" / str(MONTH)
        for path in sorted(inbox.iterdir())[only:]:
            path.unlink()
    return target
