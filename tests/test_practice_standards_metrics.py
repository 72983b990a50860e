"""Practice standards in the metrics (issue 24), checked against a hand-worked table.

The hand-worked month is test_metrics.py's (AUD-5 not returned). The answers, as a QA officer would tabulate them:

| audit | case service | month | chronology     | seen_alone     | supervision |
|-------|--------------|-------|----------------|----------------|-------------|
| AUD-0 | North        | Aug   | No             | Yes            | Yes         |
| AUD-1 | South        | Sep   | Yes            | Not applicable | Yes         |
| AUD-2 | North        | Sep   | No             | Yes            | (not asked: a form made before the standards) |
| AUD-3 | South        | Sep   | Yes            | No             | (not asked) |
| AUD-4 | South        | Sep   | No             | Not applicable | (not asked) |
| AUD-6 | North        | Sep   | Yes            | Yes            | (not asked) |

September, worked by hand (met = Yes; applicable = Yes or No):
- chronology: met 3 of 5 applicable = 60%; August 0 of 1 = 0%; by service North 1/2, South 2/3.
- seen_alone: met 2 of 3 = 67% (two Not applicable left out); August 1 of 1; North 2/2, South 0/1.
- supervision: met 1 of 1 = 100% (small number, marked); the rest never asked it.
- every other standard: none applicable, rate null.
"""

from __future__ import annotations

import pandas as pd
import pytest
import test_metrics as hw

from caseaudit_batch.core.framework import load_framework
from caseaudit_batch.reports.data import RegisterData
from caseaudit_batch.reports.metrics import compute_metrics

N_A = "Not applicable"
ANSWERS = {
    "AUD-0": {"ps_chronology": "No", "ps_seen_alone": "Yes", "ps_supervision": "Yes"},
    "AUD-1": {"ps_chronology": "Yes", "ps_seen_alone": N_A, "ps_supervision": "Yes"},
    "AUD-2": {"ps_chronology": "No", "ps_seen_alone": "Yes"},
    "AUD-3": {"ps_chronology": "Yes", "ps_seen_alone": "No"},
    "AUD-4": {"ps_chronology": "No", "ps_seen_alone": N_A},
    "AUD-6": {"ps_chronology": "Yes", "ps_seen_alone": "Yes"},
}


@pytest.fixture(scope="module")
def metrics():
    audits = [{**row, **ANSWERS[row["audit_id"]]} for row in hw.AUDITS]
    data = RegisterData.build(
        hw.SEP,
        staff=hw.STAFF,
        allocations=hw.ALLOCATIONS,
        notes=hw.NOTES,
        audits=audits,
        section_grades=hw.SECTION_GRADES,
        moderations=hw.MODERATIONS,
        escalations=hw.ESCALATIONS,
        actions=hw.ACTIONS,
    )
    return compute_metrics(data, report_date=hw.D, framework=load_framework())


def test_the_json_counts_met_and_applicable_per_standard(metrics) -> None:
    ps = metrics.values["practice_standards"]
    assert ps["chronology"] == {"met": 3, "applicable": 5, "rate": pytest.approx(0.6)}
    assert ps["seen_alone"] == {"met": 2, "applicable": 3, "rate": pytest.approx(2 / 3)}
    assert ps["supervision"] == {"met": 1, "applicable": 1, "rate": 1.0}
    assert ps["genogram"] == {"met": 0, "applicable": 0, "rate": None}
    assert len(ps) == 10


def test_the_table_sets_each_standard_against_the_previous_month(metrics) -> None:
    table = metrics.table("practice_standards").set_index("ID")
    assert table.loc["chronology", "Previous month share"] == 0.0
    assert table.loc["chronology", "Change (points)"] == 60
    assert table.loc["seen_alone", "Previous month share"] == 1.0
    assert table.loc["seen_alone", "Change (points)"] == -33
    assert table.loc["chronology", "Section"] == 8
    # Small numbers are marked as elsewhere (a denominator from 1 to 4, this month or last).
    assert table.loc["seen_alone", "Note"] == "fewer than 5"
    assert table.loc["genogram", "Note"] == "" and pd.isna(table.loc["genogram", "Share met"])


def test_by_service(metrics) -> None:
    by = metrics.table("practice_standards_by_service").set_index(["ID", "Service"])
    assert tuple(by.loc[("chronology", "North"), ["Met", "Applicable"]]) == (1, 2)
    assert tuple(by.loc[("chronology", "South"), ["Met", "Applicable"]]) == (2, 3)
    assert tuple(by.loc[("seen_alone", "North"), ["Met", "Applicable"]]) == (2, 2)
    assert tuple(by.loc[("seen_alone", "South"), ["Met", "Applicable"]]) == (0, 1)
    assert by.loc[("seen_alone", "South"), "Share met"] == 0.0


def test_the_word_and_excel_reports_show_them(tmp_path) -> None:
    import io

    from docx import Document
    from openpyxl import load_workbook

    from caseaudit_batch.core.config import TEMPLATES_DIR
    from caseaudit_batch.reports import build, themes
    from caseaudit_batch.reports.targets import Targets

    audits = [{**row, **ANSWERS[row["audit_id"]]} for row in hw.AUDITS]
    data = RegisterData.build(
        hw.SEP, staff=hw.STAFF, allocations=hw.ALLOCATIONS, audits=audits, section_grades=hw.SECTION_GRADES
    )
    made = build.build_month_reports(
        data,
        report_date=hw.D,
        targets=Targets(),
        framework=load_framework(),
        taxonomy=themes.load_taxonomy(TEMPLATES_DIR / "themes.toml"),
        template=TEMPLATES_DIR / "report_template.docx",
        organisation="Testshire Council",
        generated_on=hw.D,
    )
    doc = Document(io.BytesIO(made.files["Monthly-Case-File-Audit-Report-2026-09.docx"]))
    assert "Practice standards" in [p.text for p in doc.paragraphs]
    table = next(t for t in doc.tables if t.rows[0].cells[0].text == "Standard")
    rows = {r.cells[0].text: [c.text for c in r.cells] for r in table.rows[1:]}
    chronology = rows["Is there an up-to-date chronology on the system?"]
    assert chronology[1:5] == ["8", "3", "5", "60%"]
    ws = load_workbook(io.BytesIO(made.files["caseaudit-report-2026-09.xlsx"]))["Practice standards"]
    assert set(ws.tables) == {"PracticeStandards", "PracticeStandardsByService"}
    # Internal only: the committee version has no practice standards.
    committee = [name for name in made.files if "committee" in name and name.endswith(".json")]
    for name in committee:
        assert "practice_standards" not in made.files[name].decode("utf-8")
