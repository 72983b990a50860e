"""Typed text shaped like xlsxwriter's rich-text markup (``<r>…</r>``) stays text in every workbook we write.

xlsxwriter copies such a string into the workbook's XML as it stands; an auditor's answer of that shape became
markup in the feedback, validation and urgent workbooks and the Excel report (found while speeding up issue 25).
"""

from __future__ import annotations

import io
import zipfile

import pandas as pd
from openpyxl import load_workbook

from caseaudit_batch.ingest import feedback
from caseaudit_batch.reports import excel
from caseaudit_batch.workbook.cells import literal_text

MARKUP = '<r><rPr><b/></rPr><t>bold</t></r><r><t xml:space="preserve"> injected</t></r>'


def _strings(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read("xl/sharedStrings.xml").decode("utf-8")


def _values(data: bytes) -> list[str]:
    wb = load_workbook(io.BytesIO(data))
    return [str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]


def test_literal_text_guards_only_the_rich_text_shape() -> None:
    assert literal_text(MARKUP) == "\u200b" + MARKUP  # fail case: guarded
    assert literal_text("<r> is how a rich run starts") == "<r> is how a rich run starts"  # pass: not the shape
    assert literal_text("") == ""  # not applicable


def test_a_feedback_workbook_keeps_markup_shaped_text_as_text() -> None:
    problem_row = ("warning", "V110", "Recommendations (C40)", MARKUP, "What is wrong", "How to fix")
    sheet = feedback.Sheet("Feedback", feedback.FEEDBACK_HEADERS, [problem_row], ("Title",), feedback.FEEDBACK_WIDTHS)
    for data in (feedback.workbook_bytes([sheet]), feedback._one_sheet(sheet)):
        assert data is not None
        assert "<t>bold</t>" not in _strings(data)  # written escaped, not as markup
        assert "\u200b" + MARKUP in _values(data)


def test_the_excel_report_keeps_markup_shaped_text_as_text() -> None:
    book = excel._Book()
    ws = book.sheet("Learning")
    book.table(ws, 0, "quotes", "Quotes", pd.DataFrame({"Quote": [MARKUP, "An ordinary quote."]}))
    book.text(ws, 10, 0, MARKUP)
    data = book.close()
    assert "<t>bold</t>" not in _strings(data)
    values = _values(data)
    assert values.count("\u200b" + MARKUP) == 2 and "An ordinary quote." in values
