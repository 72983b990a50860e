"""Issue 21: the Learning Themes document's sections, and auditor calibration only in the QA team's Excel report."""

from __future__ import annotations

import io

import pytest
from docx import Document
from openpyxl import load_workbook
from test_metrics import month_data, report_settings

from caseaudit_batch.core.config import TEMPLATES_DIR
from caseaudit_batch.reports import build, themes
from caseaudit_batch.reports.tiers import COMMITTEE, INTERNAL


def _build(no_quotes: bool = False) -> build.MonthReports:
    return build.build_month_reports(month_data(), **report_settings(no_quotes=no_quotes, tiers=(INTERNAL, COMMITTEE)))


@pytest.fixture(scope="module")
def made() -> build.MonthReports:
    return _build()


def _text(blob: bytes) -> str:
    doc = Document(io.BytesIO(blob))
    parts = [p.text for p in doc.paragraphs]
    parts += [cell.text for table in doc.tables for row in table.rows for cell in row.cells]
    return "\n".join(parts)


def test_the_document_names_its_sources_and_has_every_section(made) -> None:
    blob = made.files[build.themes_name(made.metrics.month)]
    text = _text(blob)
    for heading in (
        "What we do well",
        "What we must improve",
        "The child's lived experience",
        "Learning into practice",
    ):
        assert heading in text
    assert "Possible new themes" in text and "moderator's rationale" in text and "nine impact answers" in text
    # every theme mentioned this month has its trend chart, each with alt text naming it
    mentioned = [r["Theme"] for r in made.themes.table.to_dict("records") if r["This month"]]
    assert mentioned
    doc = Document(io.BytesIO(blob))
    alts = [d.get("descr") for d in doc.element.body.iter() if d.tag.endswith("}docPr")]
    for name in mentioned:
        assert any(alt and f"mentioning {name} " in alt for alt in alts), name


def test_quotes_and_phrases_left_out_with_no_quotes(made) -> None:
    quoted = [text for items in made.themes.quotes.values() for _, _, text in items]
    assert quoted  # the fixture has quotations to leave out
    plain = _build(no_quotes=True)
    text = _text(plain.files[build.themes_name(plain.metrics.month)])
    assert not any(f"“{q}”" in text for q in quoted)
    assert "left out of this document" in text


def test_calibration_only_in_the_qa_teams_excel_report(made) -> None:
    month = made.metrics.month
    assert "Calibration" in load_workbook(io.BytesIO(made.files[build.excel_name(month)])).sheetnames
    committee_book = load_workbook(io.BytesIO(made.files[build.committee_name(build.excel_name(month))]))
    assert "Calibration" not in committee_book.sheetnames
    for name, blob in made.files.items():
        if name.endswith(".docx"):
            assert "calibration" not in _text(blob).lower(), name
        if name.endswith(".json"):
            assert b"calibration" not in blob.lower(), name


def test_the_metrics_json_has_theme_counts_and_the_untagged_share(made) -> None:
    values = made.metrics.values
    ids = {t.id for t in themes.load_taxonomy(TEMPLATES_DIR / "themes.toml")}
    assert set(values["themes"]) == ids
    assert all(set(v) == {"strengths", "learning", "findings"} for v in values["themes"].values())
    share = values["untagged_share"]
    assert share is None or 0 <= share <= 1
