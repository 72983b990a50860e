"""Issue 20: page one of the Head of Service report (the month at a glance), the sections after it, and the Excel
report's printing. Page one's content is tested on hand-built figures (reports/glance.py); the rendered documents
are read back."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date

import pandas as pd
import pytest
from docx import Document
from docx.oxml.ns import qn
from pageone_kit import trend, with_new_figures
from test_reports import TEMPLATE, _build

from caseaudit_batch.reports import glance, word, word_pageone
from caseaudit_batch.reports.metrics import Metrics

REPORT = "Monthly-Case-File-Audit-Report-2026-09.docx"
PAGE_ONE = ("The month at a glance", "What changed most since last month", "What needs you now")


def _metrics(**values: object) -> Metrics:
    """Hand-built figures: September against August (the trend), every page-one value given."""
    v = {
        "completion_rate": 0.9,
        "audits_allocated": 10,
        "good_or_better_rate": 0.5,
        "audits_graded": 10,
        "ri_or_better_rate": 0.9,
        "inadequate_rate": 0.1,
        "action_completion_rate": None,
        "actions_due": 0,
        "action_rag": "",
        "moderation_agreement_rate": 0.75,
        "moderation_compared": 4,
        "overall_grade_counts": {"Outstanding": 1, "Good": 4, "Requires Improvement": 4, "Inadequate": 1},
        "targets": {"good_or_better": 0.8, "ri_or_better": 0.95, "inadequate_at_most": 0.05},
        "safeguarding_alerts": 0,
        **values,
    }
    tables = {
        "trend": trend(
            [
                ("2026-06", 0, None, 0, None),  # before the first month with data: not shown
                ("2026-07", 8, 0.5, 6, 0.5),
                ("2026-08", 10, 0.6, 4, 0.25),  # good or better of 4: a small denominator
                ("2026-09", 10, 0.9, 10, 0.5),
            ]
        )
    }
    return Metrics(month="2026-09", report_date=date(2026, 9, 30), values=v, tables=tables)


def test_headlines_this_month_last_month_direction_and_target() -> None:
    rows = {h.key: h for h in glance.headlines(_metrics(provisional=["completion_rate"]))}
    compliance = rows["completion_rate"]
    assert (compliance.shown, compliance.last_shown, compliance.last_n) == ("90%", "60%", 10)
    assert compliance.provisional and not rows["good_or_better_rate"].provisional
    assert [m for m, _ in compliance.series] == ["2026-07", "2026-08", "2026-09"]  # from the first month with data
    assert compliance.direction == "up 40 points since Jul 2026"
    gob = rows["good_or_better_rate"]
    assert (gob.target, gob.status) == ("at least 80%", "Not met")
    assert (rows["inadequate_rate"].target, rows["inadequate_rate"].status) == ("at most 5%", "Not met")
    assert rows["completion_rate"].target == ""  # no [targets] completion in these figures: no status
    rows = {h.key: h for h in glance.headlines(_metrics(targets={"completion": 0.95, "moderation_agreement": 0.8}))}
    assert rows["completion_rate"].target == "at least 95%" and rows["completion_rate"].status == "Not met"
    assert rows["moderation_agreement_rate"].target == "at least 80%"


def test_action_completion_with_nothing_due_is_none_due_yet_never_red() -> None:
    rows = {h.key: h for h in glance.headlines(_metrics(action_rag="Red"))}
    actions = rows["action_completion_rate"]
    assert actions.shown == "none due yet" and actions.status == ""
    assert "0%" not in actions.shown


def test_target_status_from_the_metrics_layer_wins() -> None:
    rows = {h.key: h for h in glance.headlines(_metrics(targets_status={"good_or_better_rate": "met"}))}
    assert rows["good_or_better_rate"].status == "Met"


def test_three_biggest_changes_leave_out_small_denominators() -> None:
    # Good or better moved 25 points but August had 4 graded audits; moderation agreement has no last month.
    lines = glance.biggest_changes(glance.headlines(_metrics()))
    assert len(lines) <= 3
    assert lines[0] == "Compliance (completed on time) rose 30 points, from 60% last month to 90%."
    assert not any("Good or better" in line for line in lines)
    assert not any("Moderation" in line for line in lines)
    # With a big enough August, good or better counts, and the three largest are kept in order.
    m = _metrics()
    m.tables["trend"].loc[2, ["Graded", "Good", "Requires Improvement", "Good or better"]] = [8, 2, 6, 0.25]
    lines = glance.biggest_changes(glance.headlines(m))
    assert [line.split(" rose")[0].split(" fell")[0] for line in lines] == [
        "Compliance (completed on time)",  # 30 points
        "Good or better",  # 25 points
        "Inadequate",  # 10 points, as requires improvement or better (-10): by name
    ]


def test_needs_now_items() -> None:
    m = with_new_figures(_metrics())
    lines = glance.needs_now(m)
    assert lines[0] == "Inadequate audits this month: 1 (C004)."
    assert lines[1] == "Safeguarding alerts not yet acknowledged: 1 (C004)."
    assert lines[2] == "Escalations waiting: 2 (2 waiting on Hana Head, the oldest 19 days)."
    assert lines[3] == "Actions overdue by more than 30 days: 1."
    # Before the metrics layer adds them: the counts it has.
    bare = glance.needs_now(_metrics())
    assert bare[0] == "Inadequate audits this month: 1." and bare[2] == "Escalations waiting: none."


def test_restated_sentences_and_first_month() -> None:
    g = glance.glance(with_new_figures(_metrics()))
    assert g.restated == ["August 2026's good or better was first reported as 50% and is now 60%."]
    assert g.first_month == "2026-07"


@pytest.fixture(scope="module")
def made():
    return _build()


def _first_page(blob: bytes) -> tuple[list[str], list[str]]:
    """The paragraphs before the first page break, and their heading texts."""
    doc = Document(io.BytesIO(blob))
    texts, headings = [], []
    for p in doc.element.body.iter(qn("w:p")):
        if any(br.get(qn("w:type")) == "page" for br in p.iter(qn("w:br"))):
            break
        text = "".join(t.text or "" for t in p.iter(qn("w:t")))
        style = p.find(qn("w:pPr") + "/" + qn("w:pStyle"))
        if style is not None and style.get(qn("w:val")).startswith("Heading"):
            headings.append(text)
        texts.append(text)
    return texts, headings


@pytest.mark.parametrize("name", [REPORT, "Monthly-Case-File-Audit-Report-2026-09-North.docx"])
def test_page_one_holds_the_glance_and_the_report_date(made, name: str) -> None:
    texts, headings = _first_page(made.files[name])
    assert set(PAGE_ONE) <= set(headings)
    assert any("Report date: 30 September 2026" in t for t in texts)
    doc = Document(io.BytesIO(made.files[name]))
    glance_table = doc.tables[0]
    assert [c.text for c in glance_table.rows[0].cells][:3] == ["Measure", "This month", "Last month"]
    labels = [r.cells[0].text.removesuffix(" (provisional)") for r in glance_table.rows[1:]]
    assert labels[:2] == ["Compliance (completed on time)", "Good or better"]
    assert "Moderation agreement" in labels[-1]


def test_every_drawing_has_alt_text_and_page_one_has_sparklines(made) -> None:
    for name, blob in made.files.items():
        if not name.endswith(".docx"):
            continue
        xml = zipfile.ZipFile(io.BytesIO(blob)).read("word/document.xml").decode()
        drawings = re.findall(r"<wp:docPr [^>]*>", xml)
        assert all('descr="' in d and 'descr=""' not in d for d in drawings), name
    doc = Document(io.BytesIO(made.files[REPORT]))
    sparks = [d.get("descr") for d in doc.tables[0]._tbl.iter(qn("wp:docPr"))]
    assert len(sparks) == 6 and all(s.startswith("Sparkline of ") for s in sparks)


def test_new_sections_render_from_the_metrics_layers_tables(made) -> None:
    m = with_new_figures(made.metrics)
    blob = word.write_word_report(m, made.themes, template=TEMPLATE, organisation="T", month_label="September 2026")
    doc = Document(io.BytesIO(blob))
    text = "\n".join(p.text for p in doc.paragraphs)
    _, headings = _first_page(blob)
    assert "Figures restated since first reported" in headings
    assert "Moderation agreement (provisional)" in doc.tables[0].rows[6].cells[0].text
    assert "2 open, oldest first; 1 resolved this month." in text
    assert word_pageone.COVERAGE_NOTE in text
    assert "Outside the limits: North B (33% of 12, below)." in text
    tables: dict = {}
    for t in doc.tables:  # the first table with each header
        tables.setdefault(t.rows[0].cells[0].text + "|" + t.rows[0].cells[1].text, t)
    overdue = tables["Action|Owner"]
    assert [c.text for c in overdue.rows[1].cells][:2] == ["Update the chronology", "Sam Worker"]  # most overdue
    heat = next(t for t in doc.tables if [c.text for c in t.rows[0].cells][2:4] == ["S1", "S2"])
    assert heat.rows[1].cells[2].text == "82% (6)"
    fills = [tc.find(qn("w:tcPr") + "/" + qn("w:shd")) for tc in heat.rows[1]._tr.iter(qn("w:tc"))]
    assert fills[2] is not None and fills[2].get(qn("w:fill")) == "A6D96A"
    assert len(list(doc.element.body.iter(qn("wp:docPr")))) >= 10  # sparklines, charts and the funnel plot


def test_heatmap_cells_pair_shares_with_counts() -> None:
    table = pd.DataFrame({"Service": ["N"], "Team": ["A"], "Section 1": [0.5], "n 1": [4], "Section 2": [None],
                          "n 2": [0]})  # fmt: skip
    heatmap = word_pageone.heatmap_cells(table).iloc[0].tolist()
    assert heatmap == ["N", "A", "50% (4)", ""]


def test_not_yet_returned_replaces_outstanding_for_missing_audits(made) -> None:
    from openpyxl import load_workbook

    text = "\n".join(p.text for p in Document(io.BytesIO(made.files[REPORT])).paragraphs)
    assert "Not yet returned" in text and "Outstanding audits" not in text
    wb = load_workbook(io.BytesIO(made.files["caseaudit-report-2026-09.xlsx"]))
    assert "NotYetReturned" in wb["Compliance"].tables
    values = {c.value for ws in wb for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    assert "Not yet returned" in values and "Not yet accepted" not in values


def test_excel_wide_sheets_print_landscape_fit_to_width_with_headers(made) -> None:
    z = zipfile.ZipFile(io.BytesIO(made.files["caseaudit-report-2026-09.xlsx"]))
    sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
    workbook = z.read("xl/workbook.xml").decode()
    assert sheets
    for name in sheets:
        xml = z.read(name).decode()
        assert 'orientation="landscape"' in xml, name
        assert '<pageSetUpPr fitToPage="1"/>' in xml and 'fitToHeight="0"' in xml, name
    assert workbook.count("_xlnm.Print_Titles") >= len(sheets) - 1  # the header row repeats on every page


def test_a_first_month_report_shows_the_trend_from_the_first_month_with_data() -> None:
    shown = glance.trend_from_first_data(_metrics().tables["trend"])
    assert shown["Month"].tolist() == ["2026-07", "2026-08", "2026-09"]
    only = glance.trend_from_first_data(trend([("2026-08", 0, None, 0, None), ("2026-09", 0, None, 0, None)]))
    assert only["Month"].tolist() == ["2026-09"]


def test_service_pack_shows_audits_by_your_managers_and_of_your_cases(made) -> None:
    doc = Document(io.BytesIO(made.files["Monthly-Case-File-Audit-Report-2026-09-North.docx"]))
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert headings.index("Audits by your managers") < headings.index("Audits of your cases")
    whole = Document(io.BytesIO(made.files[REPORT]))
    assert "Audits by your managers" not in [p.text for p in whole.paragraphs]


def test_moderation_agreement_by_month_from_the_audit_frame() -> None:
    """The trend carries no moderation agreement: page one counts it by month from the audit frame, moderated audits
    with both overall grades only (issue 25 counts them in one pass)."""
    rows = [
        # month, moderated, auditor's overall, moderator's overall
        ("2026-07", True, "Good", "Good"),
        ("2026-07", True, "Good", "Requires Improvement"),
        ("2026-08", True, "Inadequate", "Inadequate"),
        ("2026-08", False, "Good", "Outstanding"),  # not moderated: not counted
        ("2026-08", True, "Good", None),  # no moderator's grade: not compared
        ("2026-09", True, None, "Good"),  # no auditor's grade: not compared
    ]
    frame = pd.DataFrame(rows, columns=["month", "moderated", "a_overall", "m_overall"])
    metrics = Metrics(month="2026-09", report_date=date(2026, 9, 30), values={}, tables={}, frame=frame)
    months = pd.DataFrame({"Month": ["2026-06", "2026-07", "2026-08", "2026-09"]})
    assert glance._agreement_by_month(metrics, months) == [
        ("2026-06", None, 0),
        ("2026-07", 0.5, 2),
        ("2026-08", 1.0, 1),
        ("2026-09", None, 0),
    ]
    assert glance._agreement_by_month(metrics, pd.DataFrame()) == []
