"""Re-running is safe: the same command on the same inputs changes no audit, action or outcome in the register (the
run log gains a line) and writes identical reports (the metrics JSON, every cell of the Excel report and the text
of every Word report; only the files' own time stamps may differ)."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from relkit import build, caseaudit, manifest, manifests, output_dir, register_rows, run_log_count

pytestmark = pytest.mark.slow  # each test runs caseaudit twice as child processes


def _cells(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    book = load_workbook(path, read_only=True)
    return {ws.title: [tuple(row) for row in ws.iter_rows(values_only=True)] for ws in book.worksheets}


def _word_text(path: Path) -> str:
    with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as archive:
        xml = archive.read("word/document.xml").decode("utf-8")
    return re.sub(r"<[^>]+>", " ", xml)


def _reports(config: Path) -> dict[str, Any]:
    folder = output_dir(config) / "2026-09"
    found: dict[str, Any] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith("metrics-"):
            found[path.name] = json.loads(path.read_text("utf-8"))
        elif path.name.startswith("caseaudit-report-"):
            found[path.name] = _cells(path)
        elif path.suffix == ".docx":
            found[path.name] = _word_text(path)
    return found


def test_ingest_again_changes_nothing(tmp_path: Path) -> None:
    config = build(
        tmp_path / "qa", forms=4, answers={"s3_grade": "Inadequate", "overall_grade": "Requires Improvement"}
    )
    (config.parent / "inbox" / "audits" / "~$form0000.xlsx").write_bytes(b"lock")
    first = caseaudit(config, "ingest", "--month", "2026-09")
    assert first.returncode == 0, first.stderr
    rows, runs = register_rows(config), run_log_count(config)
    assert len(rows["audits"]) == 4 and rows["actions"] == rows["actions"]

    second = caseaudit(config, "ingest", "--month", "2026-09")
    assert second.returncode == 0, second.stderr
    assert register_rows(config) == rows, "a re-run changed the register's content"
    assert run_log_count(config) == runs + 1, "the run log gains one line"
    latest = manifest(manifests(config)[-1])
    assert {r["outcome"] for r in latest} == {"duplicate", "ignored"}
    assert len(latest) == 5


def test_report_again_writes_identical_reports(tmp_path: Path) -> None:
    config = build(tmp_path / "qa", forms=4)
    assert caseaudit(config, "ingest", "--month", "2026-09").returncode == 0
    first = caseaudit(config, "report", "--month", "2026-09")
    assert first.returncode == 0, first.stderr
    reports, rows, runs = _reports(config), register_rows(config), run_log_count(config)
    assert any(name.startswith("metrics-") for name in reports) and any(n.endswith(".docx") for n in reports)

    second = caseaudit(config, "report", "--month", "2026-09")
    assert second.returncode == 0, second.stderr
    assert _reports(config) == reports
    assert register_rows(config) == rows
    assert run_log_count(config) == runs + 1


def test_the_month_end_run_again_changes_nothing(tmp_path: Path) -> None:
    config = build(tmp_path / "qa", forms=4)
    first = caseaudit(config, "run", "--month", "2026-09")
    assert first.returncode == 0, first.stderr + first.stdout
    reports, rows, runs = _reports(config), register_rows(config), run_log_count(config)
    assert len(rows["audits"]) == 4 and any(name.startswith("metrics-") for name in reports)

    second = caseaudit(config, "run", "--month", "2026-09")
    assert second.returncode == 0, second.stderr
    assert register_rows(config) == rows, "a second month-end run changed the register's content"
    assert _reports(config) == reports
    assert run_log_count(config) > runs, "each step of the run adds its line to the run log"
