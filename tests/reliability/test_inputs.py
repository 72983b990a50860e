"""Inputs are never changed or executed: every input workbook (roster, caseload, inbox forms, hostile files) is
read, never re-saved (same bytes and modification time after every command); macros, external links and XML
entities are refused (an entity pointing at a local file never brings its content in); the size, cell-count and
text-length limits docs/reference/guarantees.md documents are the reader's own constants."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from formkit import good_answers
from prepared import Templates
from relkit import ROOT, caseaudit, fill, hostile_corpus, manifest, manifests, output_dir, real_month, rezip

from caseaudit_batch import session
from caseaudit_batch.ingest.rules import quality
from caseaudit_batch.workbook import reader


def _fingerprints(paths: list[Path]) -> dict[str, tuple[str, int, int]]:
    return {str(p): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns, p.stat().st_size) for p in paths}


@pytest.mark.slow
def test_inputs_are_read_never_rewritten(tmp_path: Path, templates: Templates) -> None:
    config, forms = real_month(tmp_path / "qa", auditors=4, templates=templates)
    folder = config.parent
    ctx = session.open_context(config, "2026-09-01")
    answers = good_answers(ctx.framework)
    ctx.close()
    inbox = folder / "inbox" / "audits"
    good = fill(forms[0], answers)
    (inbox / "good.xlsx").write_bytes(good)
    (inbox / "returned.xlsx").write_bytes(fill(forms[1], {**answers, "s1_grade": None}))
    for name, (data, _, _) in hostile_corpus(good).items():
        (inbox / name).write_bytes(data)
    inputs = [folder / "roster.xlsx", folder / "caseload.xlsx", *sorted(inbox.iterdir())]
    before = _fingerprints(inputs)
    for args in (
        ("ingest", "--month", "2026-09"),
        ("check",),
        ("check", str(inbox / "good.xlsx")),
        ("report", "--month", "2026-09"),
        ("allocate", "--month", "2026-10"),
        ("ingest", "--month", "2026-09"),
    ):
        result = caseaudit(config, *args, today="2026-10-01" if "2026-10" in args else "2026-09-25")
        assert result.returncode in (0, 65), (args, result.stderr)
        assert _fingerprints(inputs) == before, f"'{args[0]}' changed an input file"
    assert sorted(inbox.iterdir()) == sorted(inputs[2:]), "nothing added to or taken from the inbox"


@pytest.mark.slow
def test_an_entity_pointing_at_a_local_file_never_brings_it_in(tmp_path: Path, templates: Templates) -> None:
    config, forms = real_month(tmp_path / "qa", auditors=4, templates=templates)
    secret = tmp_path / "secret.txt"
    secret.write_text("ZQXXESECRET", "utf-8")
    good = fill(forms[0], good_answers(session.open_context(config, "2026-09-01").framework))
    sheet = b'<!DOCTYPE a [<!ENTITY x SYSTEM "file://' + str(secret).encode() + b'">]><a>&x;</a>'
    inbox = config.parent / "inbox" / "audits"
    (inbox / "xxe.xlsx").write_bytes(rezip(good, {"xl/worksheets/sheet1.xml": sheet}))
    (inbox / "props.xlsx").write_bytes(rezip(good, {"docProps/custom.xml": sheet}))
    result = caseaudit(config, "ingest", "--month", "2026-09")
    assert result.returncode == 65
    rows = {r["file"]: r for r in manifest(manifests(config)[-1])}
    assert rows["xxe.xlsx"]["codes"] == "IN014" and rows["props.xlsx"]["codes"] == "IN014"
    for path in [*output_dir(config).rglob("*"), config.parent / "caseaudit.sqlite"]:
        if path.is_file():
            assert b"ZQXXESECRET" not in path.read_bytes(), path


def test_documented_limits_are_the_readers_constants() -> None:
    guarantees = (ROOT / "docs" / "reference" / "guarantees.md").read_text("utf-8")
    limits = guarantees[guarantees.index("\n## Limits\n") + 1 :]
    limits = limits[: limits.index("\n## ")] if "\n## " in limits else limits

    def row(label: str) -> str:
        found = re.search(rf"^\| {re.escape(label)}[^|]*\| ([^|]+) \|$", limits, re.M)
        assert found, label
        return found.group(1).strip()

    mb = 1024 * 1024
    assert row("File size") == f"{reader.MAX_FILE_BYTES // mb} MB"
    assert row("Zip members") == str(reader.MAX_MEMBERS)
    assert row("One member, unpacked") == f"{reader.MAX_MEMBER_BYTES // mb} MB"
    assert row("All members, unpacked") == f"{reader.MAX_TOTAL_BYTES // mb} MB"
    assert row("Compression ratio") == f"{reader.MAX_RATIO} to 1"
    assert row("Cells in the sheets read") == f"{reader.MAX_CELLS:,}"
    assert row("Furthest row / column") == f"{reader.MAX_ROWS:,} rows / {reader.MAX_COLS} columns"
    assert row("Text in one answer") == f"{quality.EXCEL_CELL_LIMIT:,} characters"
