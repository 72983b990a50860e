"""Helpers for the reliability suite: a real working folder, real forms in the inbox, ``caseaudit`` run as a real
child process (``child.py``), and snapshots of the register and the output folder to compare."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from formkit import allocate, good_answers, make_form, set_sender

from caseaudit_batch import session
from caseaudit_batch.allocation import workspace as setup
from caseaudit_batch.core import register as reg

ROOT = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("child.py")
TODAY = "2026-09-25"
ACTIONS = [("Update the chronology for the child", "Sam Worker", date(2026, 10, 30))]
# Tables whose rows are the register's content (the run log is the one table a re-run may add to).
CONTENT_TABLES = ("submissions", "problems", "audits", "section_grades", "actions", "alerts", "notices", "allocations")


def build(folder: Path, forms: int = 3, answers: Mapping[str, Any] | None = None, prefix: str = "form") -> Path:
    """``caseaudit init`` a working folder, allocate ``forms`` audits for September 2026 and put each completed
    form in the audits inbox. Returns the config path."""
    setup.init_workspace(folder, organisation="Reliability Council")
    set_sender(folder)
    config = folder / "caseaudit.toml"
    add_forms(config, forms, answers, prefix)
    return config


def add_forms(
    config: Path, forms: int, answers: Mapping[str, Any] | None = None, prefix: str = "form", start: int = 0
) -> list[Path]:
    ctx = session.open_context(config, "2026-09-01")
    filled = {**good_answers(ctx.framework), **(answers or {})}
    made = []
    try:
        with ctx.register.engine.begin() as conn:
            for i in range(start, start + forms):
                prefilled = allocate(conn, ctx.framework, case_ref=f"CR{1000 + i}")
                path = ctx.config.inbox("audits") / f"{prefix}{i:04d}.xlsx"
                path.write_bytes(make_form(ctx.framework, prefilled, filled, ACTIONS))
                made.append(path)
    finally:
        ctx.close()
    return made


def reported_then_two_more(folder: Path) -> Path:
    """``build`` with 3 forms, ``ingest`` and ``report`` September by the real command line, then 2 more forms
    ingested: a month whose next report replaces every report file (3 audits completed, then 5)."""
    config = build(folder, forms=3)
    assert caseaudit(config, "ingest", "--month", "2026-09").returncode == 0
    first = caseaudit(config, "report", "--month", "2026-09")
    assert first.returncode == 0, first.stderr
    add_forms(config, 2, start=3)
    assert caseaudit(config, "ingest", "--month", "2026-09").returncode == 0
    return config


def env(hook: str | None = None) -> dict[str, str]:
    variables = dict(os.environ)
    variables["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "tests")])
    variables.pop("CASEAUDIT_TEST_HOOK", None)
    if hook:
        variables["CASEAUDIT_TEST_HOOK"] = hook
    return variables


def command(config: Path, args: Sequence[str], today: str = TODAY) -> list[str]:
    name, *rest = args
    return [sys.executable, str(CHILD), name, "--config", str(config), "--today", today, *rest]


def caseaudit(
    config: Path, *args: str, hook: str | None = None, today: str = TODAY, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``caseaudit ARGS`` as a real child process and wait for it."""
    return subprocess.run(
        command(config, args, today), env=env(hook), capture_output=True, text=True, timeout=timeout, check=False
    )


def start(config: Path, *args: str, hook: str | None = None, today: str = TODAY) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command(config, args, today), env=env(hook), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def register_rows(config: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the content tables, in a stable order (the run log left out)."""
    ctx = session.open_context(config, TODAY)
    try:
        with ctx.register.reader() as conn:
            return {
                name: sorted(
                    (tuple(repr(v) for v in row) for row in conn.execute(sa.select(reg.metadata.tables[name]))),
                )
                for name in CONTENT_TABLES
            }
    finally:
        ctx.close()


def query(config: Path, statement: str, **params: Any) -> list[tuple[Any, ...]]:
    """Rows of ``statement`` (SQL with :named parameters) on the folder's register, SQLite or PostgreSQL."""
    engine = sa.create_engine(session.open_context(config, TODAY).config.database_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            result = conn.execute(sa.text(statement), params)
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


def run_log_count(config: Path) -> int:
    ctx = session.open_context(config, TODAY)
    try:
        with ctx.register.reader() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(reg.run_log)).scalar_one())
    finally:
        ctx.close()


def output_dir(config: Path) -> Path:
    return config.parent / "output"


def output_files(config: Path) -> dict[str, str]:
    """Every file under the output folder (not the staging area, not the logs) and its SHA-256."""
    root = output_dir(config)
    found = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and rel.parts[0] not in (".staging", "logs"):
            found[rel.as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def complete(path: Path) -> bool:
    """Whether a file is whole: archives pass their CRC check, JSON parses, text files end with a line end."""
    data = path.read_bytes()
    if path.suffix in (".xlsx", ".docx"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                return archive.testzip() is None and "[Content_Types].xml" in archive.namelist()
        except zipfile.BadZipFile:
            return False
    if path.suffix == ".json":
        try:
            json.loads(data)
        except ValueError:
            return False
        return True
    return data.endswith(b"\n")


def manifest(path: Path) -> list[dict[str, str]]:
    import csv

    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def manifests(config: Path, inbox: str = "audits") -> list[Path]:
    return sorted(output_dir(config).glob(f"*/manifest-{inbox}-*.csv"), key=lambda p: p.stat().st_mtime_ns)


def xml_parts(path: Path) -> dict[str, str]:
    """The text of every XML part of an Office file."""
    with zipfile.ZipFile(path) as archive:
        return {
            name: archive.read(name).decode("utf-8", "replace")
            for name in archive.namelist()
            if name.endswith((".xml", ".rels"))
        }


def rezip(good: bytes, change: Mapping[str, bytes], add: Mapping[str, bytes] | None = None) -> bytes:
    """A copy of the workbook ``good`` with parts changed or added."""
    src = zipfile.ZipFile(io.BytesIO(good))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, change.get(info.filename, src.read(info.filename)))
        for name, body in (add or {}).items():
            dst.writestr(name, body)
    return out.getvalue()


def hostile_corpus(good: bytes) -> dict[str, tuple[bytes, str, str]]:
    """Broken and hostile files made from a good form: name -> (bytes, expected outcome, expected code)."""
    from caseaudit_batch.workbook import reader

    sheet = "xl/worksheets/sheet1.xml"
    return {
        "~$lockfile.xlsx": (b"\x00lock", "ignored", "IN001"),
        "Thumbs.db": (b"\x00\x01", "ignored", "IN002"),
        "legacy.xlsx": (reader.OLE_MAGIC + b"\x00" * 512, "rejected", "IN003"),
        "renamed-csv.xlsx": (b"Case reference,Team\nCR1,a\n", "rejected", "IN004"),
        "empty.xlsx": (b"", "rejected", "IN005"),
        "truncated.xlsx": (good[: len(good) // 3], "rejected", "IN005"),
        "zip-bomb.xlsx": (rezip(good, {sheet: b"<a>" + b"A" * (30 * 1024 * 1024) + b"</a>"}), "rejected", "IN010"),
        "entities.xlsx": (
            rezip(good, {sheet: b'<!DOCTYPE a [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><a>&b;</a>'}),
            "rejected",
            "IN014",
        ),
        "xxe.xlsx": (
            rezip(good, {sheet: b'<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>'}),
            "rejected",
            "IN014",
        ),
        "macro.xlsx": (rezip(good, {}, {"xl/vbaProject.bin": reader.OLE_MAGIC}), "rejected", "IN012"),
        "external-link.xlsx": (
            rezip(good, {}, {"xl/externalLinks/externalLink1.xml": b"<externalLink/>"}),
            "rejected",
            "IN013",
        ),
    }


def real_month(
    folder: Path, auditors: int = 8, pause_reason: str = "", templates: Any = None
) -> tuple[Path, list[Path]]:
    """A working folder with a synthetic authority allocated for September 2026 by the real ``caseaudit allocate``
    (a child process). ``pause_reason`` is given to one paused auditor (shown on allocations.xlsx).
    Returns the config path and the blank forms allocation made. With ``templates`` (the session fixture in
    ``tests/conftest.py``) the month is allocated once per test session and ``folder`` is a copy of it."""
    if templates is not None:
        name = f"real-month-{auditors}-{hashlib.sha256(pause_reason.encode()).hexdigest()[:8]}"

        def make(template: Path) -> list[str]:
            _config, forms = real_month(template, auditors, pause_reason)
            return [form.relative_to(template).as_posix() for form in forms]

        forms = templates.copy(name, make, folder)
        return folder / "caseaudit.toml", [folder / form for form in forms]
    import dataclasses

    from caseaudit_batch.demo import player as demo
    from caseaudit_batch.demo import synthetic

    setup.init_workspace(folder, organisation="Reliability Council")

    set_sender(folder)
    authority = synthetic.make_authority(auditors, today=date(2026, 9, 1))
    if pause_reason:
        index = next(i for i, p in enumerate(authority.people) if p.role == "Team Manager")
        authority.people[index] = dataclasses.replace(
            authority.people[index], audit_status="Paused", paused_until=None, pause_reason=pause_reason
        )
    demo.write_synthetic_authority(folder, authority)
    config = folder / "caseaudit.toml"
    allocated = caseaudit(config, "allocate", "--month", "2026-09", today="2026-09-01")
    assert allocated.returncode in (0, 65), allocated.stderr
    forms = sorted((folder / "output" / "2026-09").glob("2026-09_*.xlsx"))
    assert forms, allocated.stdout
    return config, forms


def fill(form: Path, answers: Mapping[str, Any], actions: Sequence[tuple[Any, Any, Any]] = ACTIONS) -> bytes:
    from caseaudit_batch.workbook import forms

    return forms.fill_form(form.read_bytes(), answers, list(actions))


def good_answers_for(config: Path) -> dict[str, Any]:
    """Valid answers for a form of this working folder's framework (formkit.good_answers)."""
    ctx = session.open_context(config, "2026-09-01")
    try:
        return dict(good_answers(ctx.framework))
    finally:
        ctx.close()
