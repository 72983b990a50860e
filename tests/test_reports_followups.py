# ruff: noqa: E501 - the tables are easier to read as wide rows
"""Follow-up audits in all three outputs (issue 11): the metrics JSON, the Excel report and the Word report.

A register written down by hand (report month September 2026, D = 30 September; the window is October 2025 to
September 2026). Grades: O Outstanding, G Good, RI Requires Improvement, I Inadequate; every section has the
overall grade unless said.

| audit | kind     | of | month   | case | service | completed  | auditor's grade | moderated | final |
|-------|----------|----|---------|------|---------|------------|-----------------|-----------|-------|
| E1    | audit    |    | 2026-02 | C101 | North   | 2026-02-20 | RI              |           | RI    |
| E2    | audit    |    | 2025-03 | C102 | South   | 2025-03-20 | I               | RI        | RI    |  <- older than the window
| E3    | audit    |    | 2026-03 | C103 | North   | 2026-03-20 | RI              |           | RI    |
| E4    | audit    |    | 2026-04 | C104 | South   | 2026-04-20 | RI              |           | RI    |
| E5    | audit    |    | 2026-01 | C105 | South   | 2026-01-20 | RI              |           | RI    |  <- the case moved to North
| F1    | followup | E1 | 2026-08 | C101 | North   | 2026-08-20 | G (s4 RI)       |           | G     |
| F2    | followup | E2 | 2026-09 | C102 | South   | 2026-09-20 | RI              |           | RI    |
| F3    | followup | E3 | 2026-09 | C103 | North   | 2026-09-21 | I               |           | I     |
| F4    | followup | E4 | 2026-09 | C104 | South   | not yet    |                 |           |       |
| F5    | followup | E5 | 2026-07 | C105 | North   | 2026-07-20 | O               |           | O     |

Actions: E1 two, completed 1 May and 1 June (before F1); E2 one, still open; E3 none; E4 one completed; E5 one
completed 25 July, after F5 was completed on 20 July.

Worked by hand:
- September: follow-ups due 3 (F2, F3, F4), completed 2 (F2, F3).
- Last 12 months, compared 4: F1 improved (RI -> G), F5 improved (RI -> O), F2 the same (RI -> RI: E2's final grade
  is the moderator's RI, not the auditor's I, and E2 is known although it is older than the window), F3 graded
  lower (RI -> I). Improved 2 of 4 = 50%; all actions completed first: F1 only (1).
- Section 4: F1 the same (RI -> RI), F2 the same, F3 lower, F5 better: improved 1, same 2, worse 1.
- By service: North F1, F3, F5 -> 2 of 3 improved; South F2 -> 0 of 1.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from docx import Document
from docx.oxml.ns import qn
from formkit import set_sender
from openpyxl import load_workbook

from caseaudit_batch import session
from caseaudit_batch.allocation import workspace as setup
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.clock import Month
from caseaudit_batch.reports import stage as reports_stage
from caseaudit_batch.reports.data import load_month_data

SEP = Month(2026, 9)
NOW = "2026-09-20T10:00:00+01:00"
GRADE = {"O": "Outstanding", "G": "Good", "RI": "Requires Improvement", "I": "Inadequate"}

REGISTER = """
audit | kind     | of | month   | case | service | staff | completed  | grade | s4 | moderated
E1    | audit    |    | 2026-02 | C101 | North   | A1    | 2026-02-20 | RI    | RI |
E2    | audit    |    | 2025-03 | C102 | South   | A2    | 2025-03-20 | I     | I  | RI
E3    | audit    |    | 2026-03 | C103 | North   | A1    | 2026-03-20 | RI    | RI |
E4    | audit    |    | 2026-04 | C104 | South   | A2    | 2026-04-20 | RI    | RI |
E5    | audit    |    | 2026-01 | C105 | South   | A1    | 2026-01-20 | RI    | RI |
F1    | followup | E1 | 2026-08 | C101 | North   | A2    | 2026-08-20 | G     | RI |
F2    | followup | E2 | 2026-09 | C102 | South   | A1    | 2026-09-20 | RI    | RI |
F3    | followup | E3 | 2026-09 | C103 | North   | A2    | 2026-09-21 | I     | I  |
F4    | followup | E4 | 2026-09 | C104 | South   | A1    |            |       |    |
F5    | followup | E5 | 2026-07 | C105 | North   | A2    | 2026-07-20 | O     | O  |
"""
ACTIONS = """
action | audit | service | status    | completed
X1     | E1    | North   | Completed | 2026-05-01
X2     | E1    | North   | Completed | 2026-06-01
X3     | E2    | South   | Open      |
X4     | E4    | South   | Completed | 2026-08-01
X5     | E5    | South   | Completed | 2026-07-25
"""
SENTENCE = (
    "Of 4 cases re-audited in the last 12 months, 2 improved, 1 stayed the same and 1 was graded lower; 1 of them "
    "had all their actions completed first."
)


def table(text: str) -> list[dict[str, str]]:
    lines = [[c.strip() for c in line.split("|")] for line in text.strip().splitlines()]
    return [dict(zip(lines[0], row, strict=True)) for row in lines[1:]]


def _day(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def _fill(ctx: session.Context) -> None:
    with ctx.register.writer() as conn:
        conn.execute(
            sa.insert(reg.staff),
            [
                {"staff_id": "A1", "name": "Ann Able", "role": "Team Manager", "team": "North A", "service": "North"},
                {"staff_id": "A2", "name": "Ben Brook", "role": "Team Manager", "team": "South A", "service": "South"},
            ],
        )
        for submission, row in enumerate(table(REGISTER), start=1):
            month = Month.parse(row["month"])
            conn.execute(
                sa.insert(reg.allocations).values(
                    audit_id=row["audit"],
                    month=row["month"],
                    staff_id=row["staff"],
                    case_ref=row["case"],
                    due_date=month.last_day,
                    kind=row["kind"],
                    followup_of=row["of"] or None,
                    status="allocated",
                    framework_version="test",
                    prefilled={"case_type": "CIN", "service": row["service"], "team": f"{row['service']} A",
                               "auditor_name": "Ann Able" if row["staff"] == "A1" else "Ben Brook",
                               "auditor_role": "Team Manager"},
                    created_at=NOW,
                )
            )  # fmt: skip
            if not row["completed"]:
                continue
            grade, s4 = GRADE[row["grade"]], GRADE[row["s4"]]
            sections = {f"s{n}_grade": (s4 if n == 4 else grade) for n in range(1, 10)}
            conn.execute(
                sa.insert(reg.audits).values(
                    audit_id=row["audit"],
                    submission_id=submission,
                    month=row["month"],
                    date_completed=_day(row["completed"]),
                    overall_grade=grade,
                    answers={"overall_grade": grade, "sw_participation": "In person", **sections},
                    current=True,
                    accepted_at=NOW,
                )
            )
            if row["moderated"]:
                moderated = GRADE[row["moderated"]]
                conn.execute(
                    sa.insert(reg.moderations).values(
                        audit_id=row["audit"],
                        submission_id=100 + submission,
                        moderation_date=_day(row["completed"]),
                        grade_agreed=False,
                        actions_agreed=True,
                        overall_grade=moderated,
                        answers={f"m_s{n}_grade": moderated for n in range(1, 10)},
                        current=True,
                        accepted_at=NOW,
                    )
                )
        for action in table(ACTIONS):
            conn.execute(
                sa.insert(reg.actions).values(
                    action_id=action["action"],
                    audit_id=action["audit"],
                    source="audit",
                    text="Update the plan",
                    norm_text="update the plan",
                    owner="Sam Worker",
                    due_date=date(2026, 6, 30),
                    case_ref="C10" + action["audit"][-1],
                    service=action["service"],
                    team=f"{action['service']} A",
                    status=action["status"],
                    completed_on=_day(action["completed"]),
                    created_at=NOW,
                )
            )


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory, register_backend: str) -> tuple[Path, session.Context]:
    folder = tmp_path_factory.mktemp("followups") / "qa"
    setup.init_workspace(folder, organisation="Testshire Council")
    set_sender(folder)
    ctx = session.open_context(folder / "caseaudit.toml", "2026-10-05")
    _fill(ctx)
    reports_stage.report_month(ctx, SEP)
    yield folder / "output" / "2026-09", ctx
    ctx.close()


def test_the_loader_reads_followup_of_and_earlier_audits_older_than_the_window(made) -> None:
    _, ctx = made
    with ctx.register.reader() as conn:
        data = load_month_data(conn, SEP)
    followup_of = data.allocations.set_index("audit_id")["followup_of"]
    assert followup_of["F2"] == "E2" and followup_of["F1"] == "E1" and pd.isna(followup_of["E1"])
    assert "E2" not in set(data.allocations["audit_id"])  # March 2025 is outside the window ...
    assert data.earlier is not None  # ... so it is loaded as an earlier audit, with its moderation
    assert list(data.earlier.allocations["audit_id"]) == ["E2"]
    assert list(data.earlier.audits["audit_id"]) == ["E2"]
    assert list(data.earlier.moderations["overall_grade"]) == ["Requires Improvement"]


def test_json_keys_against_the_hand_worked_register(made) -> None:
    folder, _ = made
    values = json.loads((folder / "metrics-2026-09.json").read_text("utf-8"))
    assert {k: v for k, v in values.items() if k.startswith("followups_")} == {
        "followups_due": 3,
        "followups_completed": 2,
        "followups_compared": 4,
        "followups_improved": 2,
        "followups_same": 1,
        "followups_worse": 1,
        "followups_improved_rate": 0.5,
        "followups_actions_closed_first": 1,
        "followups_section_movement": {
            "overall": {"improved": 2, "same": 1, "worse": 1, "not_known": 0},
            **{f"s{n}": {"improved": 2, "same": 1, "worse": 1, "not_known": 0} for n in (1, 2, 3, 5, 6, 7, 8, 9)},
            "s4": {"improved": 1, "same": 2, "worse": 1, "not_known": 0},
        },
        "followups_improved_rate_by_service": {"North": pytest.approx(2 / 3), "South": 0.0},
    }
    assert "followups_improved_rate" in values["small_numbers"]  # 4 compared: fewer than 5
    assert values["audits_allocated"] == 3  # follow-ups count in compliance; the earlier audit does not


def test_excel_follow_ups_sheet_read_back(made) -> None:
    folder, _ = made
    wb = load_workbook(folder / "caseaudit-report-2026-09.xlsx")
    ws = wb["Follow-ups"]
    assert wb.sheetnames.index("Follow-ups") == wb.sheetnames.index("Actions") + 1
    assert set(ws.tables) == {"FollowupSummary", "FollowupsByService", "FollowupSections", "FollowupCases"}
    for t in ws.tables.values():
        assert t.headerRowCount != 0 and t.autoFilter is not None
    assert ws.freeze_panes is not None and ws.column_dimensions["A"].width >= 20

    def rows(name: str) -> list[dict[str, object]]:
        cells = ws[ws.tables[name].ref]
        header = [c.value for c in cells[0]]
        return [dict(zip(header, (c.value for c in row), strict=True)) for row in cells[1:]]

    summary = {r["Measure"]: r["Value"] for r in rows("FollowupSummary")}
    assert summary["Follow-up audits due this month"] == 3
    assert summary["Follow-up audits completed this month"] == 2
    assert (summary["Improved"], summary["Stayed the same"], summary["Graded lower"]) == (2, 1, 1)
    assert summary["Share improved"] == "50%"
    by_service = {r["Service"]: r for r in rows("FollowupsByService")}
    assert by_service["North"]["Share improved"] == pytest.approx(2 / 3) and by_service["South"]["Follow-ups"] == 1
    assert by_service["All services"]["Improved"] == 2
    cases = rows("FollowupCases")
    assert [(c["Case reference"], c["Overall grade"]) for c in cases] == [
        ("C105", "improved"), ("C101", "improved"), ("C102", "same"), ("C103", "worse"),
    ]  # fmt: skip
    c101 = next(c for c in cases if c["Case reference"] == "C101")
    assert (c101["Overall before"], c101["Overall now"], c101["Voice and lived experience"]) == (
        "Requires Improvement",
        "Good",
        "same",
    )
    assert c101["Actions closed first"] == "Yes" and c101["Earlier audit month"] == "2026-02"
    # Case references only: no auditor's or child's name, and no formula anywhere.
    texts = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert not any("Ann Able" in t or "Ben Brook" in t for t in texts)
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)


def _word(path: Path) -> Document:
    return Document(str(path))


def test_word_follow_up_section_heading_order_and_sentence(made) -> None:
    folder, _ = made
    values = json.loads((folder / "metrics-2026-09.json").read_text("utf-8"))
    doc = _word(folder / "Monthly-Case-File-Audit-Report-2026-09.docx")
    headings = [(p.style.name, p.text) for p in doc.paragraphs if p.style.name.startswith("Heading")]
    h1 = [text for style, text in headings if style == "Heading 1"]
    assert h1.index("Follow-up audits") == h1.index("Actions") + 1
    start = headings.index(("Heading 1", "Follow-up audits"))
    assert headings[start + 1 : start + 4] == [
        ("Heading 2", "By service"),
        ("Heading 2", "By section"),
        ("Heading 2", "Cases re-audited"),
    ]
    texts = [p.text for p in doc.paragraphs]
    sentence = texts[texts.index("Follow-up audits") + 1]
    assert sentence == SENTENCE
    numbers = re.fullmatch(
        r"Of (\d+) cases re-audited in the last 12 months, (\d+) improved, (\d+) stayed the same and (\d+) was graded "
        r"lower; (\d+) of them had all their actions completed first\.",
        sentence,
    )
    assert numbers is not None
    assert [int(n) for n in numbers.groups()] == [
        values[k]
        for k in (
            "followups_compared",
            "followups_improved",
            "followups_same",
            "followups_worse",
            "followups_actions_closed_first",
        )
    ]
    assert "This month 3 follow-up audits were due and 2 completed." in texts[texts.index("Follow-up audits") + 2]
    # The by-service table: header row repeats, no merged cells, the same shares as the JSON.
    by_service = next(t for t in doc.tables if [c.text for c in t.rows[0].cells][:2] == ["Service", "Follow-ups"])
    assert by_service.rows[0]._tr.find(qn("w:trPr")).find(qn("w:tblHeader")) is not None
    assert "w:gridSpan" not in by_service._tbl.xml and "w:vMerge" not in by_service._tbl.xml
    rows = {r.cells[0].text: [c.text for c in r.cells] for r in by_service.rows[1:]}
    assert rows["North"] == ["North", "3", "2", "0", "1", "67%", "1", "fewer than 5"]  # marked, as in Excel
    assert rows["South"] == ["South", "1", "0", "1", "0", "0%", "0", "fewer than 5"]
    assert rows["All services"][1:3] == ["4", "2"]
    glossary = "\n".join(c.text for t in doc.tables for r in t.rows for c in r.cells)
    assert "Follow-up audit" in glossary and "Actions completed first" in glossary


def test_service_packs_hold_only_their_own_follow_ups(made) -> None:
    folder, _ = made
    for service, own, sentence in (
        (
            "North",
            {"C101", "C103", "C105"},
            # C105's earlier audit was filed under South: its movement is still known in North's pack.
            "Of 3 cases re-audited in the last 12 months, 2 improved and 1 was graded lower; 1 of them had all their "
            "actions completed first.",
        ),
        (
            "South",
            {"C102"},
            "1 case was re-audited in the last 12 months: it stayed the same, and not all its actions were completed "
            "first.",
        ),
    ):
        doc = _word(folder / f"Monthly-Case-File-Audit-Report-2026-09-{service}.docx")
        texts = [p.text for p in doc.paragraphs]
        start = texts.index("Follow-up audits")
        assert texts[start + 1] == sentence
        cases = next(t for t in doc.tables if t.rows[0].cells[0].text == "Case reference" and len(t.columns) == 6)
        assert {r.cells[0].text for r in cases.rows[1:]} == own
        by_service = next(t for t in doc.tables if [c.text for c in t.rows[0].cells][:2] == ["Service", "Follow-ups"])
        assert [r.cells[0].text for r in by_service.rows[1:]] == [service]


@pytest.mark.libreoffice
@pytest.mark.skipif(
    shutil.which("soffice") is None or shutil.which("pdftotext") is None,
    reason="LibreOffice (soffice) or pdftotext is not installed",
)
def test_word_report_with_follow_ups_converts_to_pdf(made, tmp_path: Path) -> None:
    folder, _ = made
    source = folder / "Monthly-Case-File-Audit-Report-2026-09.docx"
    subprocess.run(
        ["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(source)],
        check=True,
        capture_output=True,
        timeout=180,
    )
    pdf = tmp_path / source.with_suffix(".pdf").name
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    flat = " ".join(text.split())
    assert "Follow-up audits" in flat and SENTENCE in flat
