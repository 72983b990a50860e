"""The report files: JSON keys, Excel sheets and tables read back, Word accessibility, service packs, themes, PDF."""

from __future__ import annotations

import io
import itertools
import json
import re
import shutil
import subprocess
import zipfile
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn
from openpyxl import load_workbook
from test_metrics import SEP, D, month_data

from caseaudit_batch.core.config import TEMPLATES_DIR
from caseaudit_batch.core.framework import GRADE_NAMES, load_framework
from caseaudit_batch.reports import build, docx_blocks, excel, themes, word
from caseaudit_batch.reports.targets import Targets

TEMPLATE = TEMPLATES_DIR / "report_template.docx"
HOSTILE_STRENGTH = '=HYPERLINK("http://x","click") Risk <high> & escalated well by the team.'
NORTH_CASES = {"C002", "C005", "C006"}
SOUTH_CASES = {"C001", "C003", "C004"}


def _data():
    data = month_data()
    audits = data.audits.copy()
    audits.loc[audits["audit_id"] == "AUD-4", "strengths"] = HOSTILE_STRENGTH
    audits.loc[audits["audit_id"] == "AUD-2", "org_learning"] = "=1+1 Interpreters are hard to book out of hours."
    audits.loc[audits["audit_id"] == "AUD-6", "learning"] = "Nothing in the taxonomy mentions zebras."
    return replace(data, audits=audits)


def _build(no_quotes: bool = False) -> build.MonthReports:
    return build.build_month_reports(
        _data(),
        report_date=D,
        targets=Targets(),
        framework=load_framework(),
        taxonomy=themes.load_taxonomy(TEMPLATES_DIR / "themes.toml"),
        template=TEMPLATE,
        organisation="Testshire Council",
        generated_on=date(2026, 10, 5),
        no_quotes=no_quotes,
    )


@pytest.fixture(scope="module")
def made() -> build.MonthReports:
    return _build()


def _docx_text(blob: bytes) -> str:
    doc = Document(io.BytesIO(blob))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


def test_file_names(made) -> None:
    assert sorted(made.files) == sorted(
        [
            "metrics-2026-09.json",
            "caseaudit-report-2026-09.xlsx",
            "Monthly-Case-File-Audit-Report-2026-09.docx",
            "Monthly-Case-File-Audit-Report-2026-09-North.docx",
            "Monthly-Case-File-Audit-Report-2026-09-South.docx",
            "Learning-Themes-2026-09.docx",
        ]
    )
    assert build.safe_name("Children in Care / Leaving Care") == "Children_in_Care_Leaving_Care"


def test_json_keys(made) -> None:
    values = json.loads(made.files["metrics-2026-09.json"])
    required = [
        "month",
        "audits_allocated",
        "audits_exempt",
        "audits_completed",
        "audits_completed_late",
        "audits_outstanding",
        "completion_rate",
        "overall_grade_counts",
        "good_or_better_rate",
        "ri_or_better_rate",
        "inadequate_rate",
        "section_grade_counts",
        "audits_moderated",
        "moderation_agreement_rate",
        "grades_raised",
        "grades_lowered",
        "actions_raised",
        "actions_due",
        "actions_completed_on_time",
        "actions_overdue",
        "action_completion_rate",
        "sm_oversight_rate",
        "safeguarding_alerts",
        "files_accepted",
        "files_returned",
        "files_rejected",
        "files_superseded",
        "files_duplicate",
        "files_ignored",
        "followups_due",
        "followups_completed",
    ]
    assert set(required) <= set(values)
    assert list(values["overall_grade_counts"]) == list(GRADE_NAMES)
    assert list(values["section_grade_counts"]) == [f"s{n}" for n in range(1, 10)]
    assert all(list(v) == list(GRADE_NAMES) for v in values["section_grade_counts"].values())
    assert values["month"] == "2026-09" and values["completion_rate"] == pytest.approx(4 / 6)
    for key in required:
        assert isinstance(values[key], (int, float, str, dict)) or values[key] is None


def test_excel_sheets_tables_and_text_safety(made) -> None:
    wb = load_workbook(io.BytesIO(made.files["caseaudit-report-2026-09.xlsx"]))
    assert wb.sheetnames == list(excel.SHEETS)
    for ws in wb.worksheets:
        assert ws.sheet_state == "visible", ws.title
        assert ws.tables, f"{ws.title} has no Excel table"
        assert ws.freeze_panes is not None, ws.title
        for table in ws.tables.values():
            assert table.headerRowCount != 0 and table.autoFilter is not None
        assert not any(dim.hidden for dim in ws.row_dimensions.values()), ws.title
    audits = wb["Audits"]
    assert audits.tables["Audits"].ref.startswith("A2:")
    headers = [c.value for c in audits[2]]
    assert {"Case reference", "Service", "Team", "Auditor", "Overall as audited", "Overall final"} <= set(headers)
    assert {"S1 as audited", "S9 final"} <= set(headers)
    # Text typed by a user stays text: no cell anywhere is a formula.
    found = False
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{ws.title}!{cell.coordinate} became a formula"
                if isinstance(cell.value, str) and cell.value.startswith("=HYPERLINK"):
                    found = True
    assert found, "the hostile strength should be quoted as text on the Themes sheet"


def test_excel_figures_equal_metrics(made) -> None:
    wb = load_workbook(io.BytesIO(made.files["caseaudit-report-2026-09.xlsx"]))
    grades = wb["Grades"]
    rows = {r[0]: r[1] for r in grades.iter_rows(min_row=3, max_row=6, values_only=True)}
    assert rows == made.metrics.values["overall_grade_counts"]
    summary = {r[0]: r[1] for r in wb["Summary"].iter_rows(min_row=6, max_row=25, values_only=True) if r[0]}
    assert summary["Audits allocated"] == 6 and summary["Completion rate"] == pytest.approx(4 / 6)


def _styles_in_order(doc) -> list[str]:
    return [p.style.name for p in doc.paragraphs if p.style.name.startswith("Heading") or p.style.name == "Title"]


@pytest.mark.parametrize(
    "name",
    [
        "Monthly-Case-File-Audit-Report-2026-09.docx",
        "Monthly-Case-File-Audit-Report-2026-09-North.docx",
        "Learning-Themes-2026-09.docx",
    ],
)
def test_word_accessibility(made, name: str) -> None:
    blob = made.files[name]
    doc = Document(io.BytesIO(blob))
    levels = [int(s.split()[-1]) for s in _styles_in_order(doc) if s != "Title"]
    assert levels[0] == 1
    for before, after in itertools.pairwise(levels):
        assert after <= before + 1, f"heading level jumps from {before} to {after}"
    body = doc.element.body
    pictures = list(body.iter(qn("wp:docPr")))
    for pic in pictures:
        assert pic.get("descr"), "a picture without alt text"
    assert len({p.get("id") for p in pictures}) == len(pictures)
    if "Themes" not in name:
        assert len(pictures) >= 3
    for table in doc.tables:
        first = table.rows[0]._tr
        assert first.find(qn("w:trPr")) is not None and first.find(qn("w:trPr")).find(qn("w:tblHeader")) is not None
    xml = body.xml
    assert "w:gridSpan" not in xml and "w:vMerge" not in xml, "merged cells"
    normal = doc.styles["Normal"].font
    assert normal.name == "Arial" and normal.size.pt >= 11
    assert "September 2026" in doc.core_properties.title


def test_word_headings_in_order(made) -> None:
    doc = Document(io.BytesIO(made.files["Monthly-Case-File-Audit-Report-2026-09.docx"]))
    h1 = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    assert h1 == [
        "The month at a glance",
        "Summary",
        "Audit compliance",
        "Grades",
        "Services",
        "Cases graded Inadequate or Requires Improvement",
        "Moderation",
        "Actions",
        "Follow-up audits",
        "Safeguarding alerts",
        "Coverage",
        "Strengths and learning themes",
        "Organisational learning points",
        "Glossary",
    ]


def test_summary_sentences_state_the_metrics(made) -> None:
    doc = Document(io.BytesIO(made.files["Monthly-Case-File-Audit-Report-2026-09.docx"]))
    bullets = [p.text for p in doc.paragraphs if p.style.name == "List Bullet"]
    sentences = word.summary_sentences(made.metrics, "September 2026")
    start = bullets.index(sentences[0])  # after page one's bullets
    assert bullets[start : start + len(sentences)] == sentences
    v = made.metrics.values
    assert sentences[0].startswith(
        f"{v['audits_completed']} of {v['audits_allocated']} audits allocated for September 2026 were completed on "
        f"time ({v['completion_rate']:.0%})"
    )
    assert "4 of 6" in sentences[0] and "(67%)" in sentences[0]
    grades = next(s for s in sentences if s.startswith("Of the"))
    assert grades.startswith("Of the 5 audits graded, 3 were good or better (60%; 95% interval 23% to 88%")
    actions = next(s for s in sentences if "actions fell due" in s)
    assert actions.startswith("4 actions fell due in September 2026; 2 were completed on time (50%")
    assert any(s == "1 safeguarding alert was raised from this month's audits." for s in sentences)


def test_summary_sentences_of_the_hand_worked_month(made) -> None:
    # The hand-worked month of test_metrics, in words: every number here was worked out by hand there.
    assert word.summary_sentences(made.metrics, "September 2026") == [
        "4 of 6 audits allocated for September 2026 were completed on time (67%); 1 more was completed late and 1 "
        "is not yet returned.",
        "1 auditor was exempt this month and 1 could not be given a case (listed, not counted).",
        "Of the 5 audits graded, 3 were good or better (60%; 95% interval 23% to 88%) against a target of 80%.",
        "4 were requires improvement or better (80%) and 1 inadequate (20%; the aim is at most 5%).",
        "The social worker took part in 4 of 5 accepted audits (80%). A needed three-way meeting took place in 1 of "
        "2 (50%; fewer than 5: treat with caution).",
        "4 audits were moderated; the moderator agreed with the auditor's overall grade in 2 of 4 (50%; fewer than "
        "5: treat with caution), raised 0 and lowered 2.",
        "4 actions fell due in September 2026; 2 were completed on time (50%; fewer than 5: treat with caution, Red).",
        "2 actions were overdue at 30 September 2026.",
        "Service managers signed off 2 of the 3 actions completed in September 2026 (67%; fewer than 5: treat with "
        "caution).",
        "1 safeguarding alert was raised from this month's audits.",
    ]


def _word_tables(blob: bytes, *headers: str) -> dict[str, list[dict[str, str]]]:
    """Each table of a Word report whose header has all of ``headers``, by its first header (the last such table),
    as rows keyed by header."""
    tables = {}
    for table in Document(io.BytesIO(blob)).tables:
        rows = [[c.text for c in r.cells] for r in table.rows]
        if set(headers) <= set(rows[0]):
            tables[rows[0][0]] = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    return tables


def _excel_notes(made, sheet: str, table: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    ws = load_workbook(io.BytesIO(made.files["caseaudit-report-2026-09.xlsx"]))[sheet]
    rows = [[c.value for c in r] for r in ws[ws.tables[table].ref]]
    note = rows[0].index("Note")
    return {str(r[rows[0].index("Team") if "Team" in rows[0] else 0]): r[note] or "" for r in rows[1:]}


def test_word_tables_mark_small_numbers_as_the_excel_report_does(made) -> None:
    """Issue 19: a share of fewer than 5 is marked in the Word team, section and case-type tables the way the Excel
    report marks it (its Note column): 50% of North A's 2 graded audits is "fewer than 5" in both."""
    word = _word_tables(made.files["Monthly-Case-File-Audit-Report-2026-09.docx"])
    shares = _word_tables(made.files["Monthly-Case-File-Audit-Report-2026-09.docx"], "Note")
    teams = {r["Team"]: r["Note"] for r in word["Team"]}  # the last service's teams
    assert teams == {"South A": "fewer than 5", "South B": "fewer than 5"}
    assert teams.items() <= _excel_notes(made, "Services and teams", "ByTeam").items()
    case_types = {r["Case type"]: r["Note"] for r in word["Case type"]}
    assert case_types == _excel_notes(made, "Grades", "GradesByCaseType")
    assert case_types["CIN"] == "fewer than 5"
    # A service pack's sections: North's 2 graded audits, each section's share marked.
    pack = _word_tables(made.files["Monthly-Case-File-Audit-Report-2026-09-North.docx"], "Good or better")
    assert {r["Note"] for r in pack["Section"]} == {"fewer than 5"}
    # And every other table with shares by group.
    assert {"Auditor role", "Auditor's service", "Service", "Month", "Grade", "Section"} <= set(shares)


def test_autoescape_keeps_findings_whole(made) -> None:
    text = _docx_text(made.files["Monthly-Case-File-Audit-Report-2026-09.docx"])
    assert "Risk <high> & escalated" in text


def test_service_packs_hold_only_their_cases(made) -> None:
    for name, own, other in (("North", NORTH_CASES, SOUTH_CASES), ("South", SOUTH_CASES, NORTH_CASES)):
        text = _docx_text(made.files[f"Monthly-Case-File-Audit-Report-2026-09-{name}.docx"])
        refs = set(re.findall(r"\bC\d{3}\b", text))
        assert refs and refs <= own | {"C000"}, (name, refs)
        assert not refs & other
        assert f"{name} service pack" in text


def test_learning_themes(made) -> None:
    table = made.themes.table.set_index("Theme")
    assert table.loc["Risk and safety", "This month"] >= 1
    assert table.loc["Chronology and case records", "This month"] == 4  # "Chronology needs updating." x4
    assert table.loc["Chronology and case records", "12 months"] == 5  # and August's audit
    text = _docx_text(made.files["Learning-Themes-2026-09.docx"])
    assert "zebras" in text  # text matching no theme is listed too
    assert "Voice and lived experience" in text


def test_no_quotes_leaves_quotations_out_everywhere() -> None:
    made = _build(no_quotes=True)
    for name, blob in made.files.items():
        if name.endswith(".docx"):
            text = _docx_text(blob)
        elif name.endswith(".xlsx"):
            with zipfile.ZipFile(io.BytesIO(blob)) as z:
                text = "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml"))
        else:
            text = blob.decode("utf-8")
        for quoted in ("direct work with the young person", "zebras", "Interpreters are hard", "HYPERLINK"):
            assert quoted not in text, (name, quoted)


@pytest.mark.libreoffice
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_reports_convert_to_pdf(made, tmp_path: Path) -> None:
    names = ["caseaudit-report-2026-09.xlsx", "Monthly-Case-File-Audit-Report-2026-09.docx"]
    for name in names:
        (tmp_path / name).write_bytes(made.files[name])
    subprocess.run(
        [
            "soffice",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            *(str(tmp_path / n) for n in names),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    for name in names:
        pdf = tmp_path / (Path(name).stem + ".pdf")
        assert pdf.exists() and pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 10_000


def test_broken_template_is_a_clear_error(made, tmp_path: Path) -> None:
    from caseaudit_batch.core.errors import ConfigError

    bad = tmp_path / "report_template.docx"
    bad.write_bytes(b"not a word file")
    with pytest.raises(ConfigError) as info:
        word.write_learning_themes(made.metrics, made.themes, template=bad, organisation="x", month_label="y")
    assert info.value.code == "REP002"


def test_bad_taxonomy_is_a_clear_error(tmp_path: Path) -> None:
    from caseaudit_batch.core.errors import ConfigError

    bad = tmp_path / "themes.toml"
    bad.write_text('[[theme]]\nname = "No phrases"\n', "utf-8")
    with pytest.raises(ConfigError) as info:
        themes.load_taxonomy(bad)
    assert info.value.code == "REP001" and "needs a list of phrases" in info.value.message


def test_month_with_nothing_still_reports() -> None:
    from caseaudit_batch.reports.data import RegisterData

    made = build.build_month_reports(
        RegisterData.build(SEP),
        report_date=D,
        targets=Targets(),
        framework=load_framework(),
        taxonomy=themes.load_taxonomy(TEMPLATES_DIR / "themes.toml"),
        template=TEMPLATE,
        organisation="Testshire Council",
        generated_on=D,
        tiers=("internal", "committee"),
    )
    values = json.loads(made.files["metrics-2026-09.json"])
    assert values["audits_allocated"] == 0 and values["completion_rate"] is None
    committee = json.loads(made.files["metrics-2026-09-committee.json"])  # the committee version too (issue 19)
    assert committee["audits_allocated"] == 0 and committee["completion_rate"] is None
    assert "No audits were allocated for September 2026." in _docx_text(
        made.files["Monthly-Case-File-Audit-Report-2026-09.docx"]
    )


def test_template_fields_are_the_ones_the_program_fills(tmp_path: Path) -> None:
    from docxtpl import DocxTemplate

    fields = DocxTemplate(str(TEMPLATE)).get_undeclared_template_variables()
    expected = {
        "organisation", "title", "month_label", "service", "report_date", "generated_on", "audience", "privacy_note",
        "marking", "kind", "glance", "at_a_glance", "concern", "coverage", "summary", "compliance", "grades",
        "services_heading", "services", "moderation", "actions", "followups", "safeguarding", "themes",
        "org_learning", "glossary", "themes_overview", "themes_detail", "untagged",
    }  # fmt: skip
    assert fields == expected
    # The committed template is the one the committed script makes.
    import runpy

    script = runpy.run_path(str(TEMPLATES_DIR / "make_report_template.py"))
    made = script["build"](tmp_path / "report_template.docx")
    assert DocxTemplate(str(made)).get_undeclared_template_variables() == expected


def test_word_tables_keep_text_as_text_drop_control_characters_and_mark_the_header() -> None:
    """Tables are written as XML in one go (speed): text with &, < and > and a formula-like value must come out
    exactly as typed, a control character (which XML cannot hold) is dropped rather than failing the report, and the
    header row still repeats on every page."""
    import pandas as pd
    from docxtpl import DocxTemplate

    tpl = DocxTemplate(str(TEMPLATES_DIR / "report_template.docx"))
    tpl.init_docx()
    builder = docx_blocks._Builder(tpl)
    sd = builder.new()
    frame = pd.DataFrame(
        {
            "Case reference": ["CR1", "CR2"],
            "Note": ['A & B <see> =HYPERLINK("x")', "bell\x07 here"],
            "Rate": [0.5, None],
        }
    )
    builder.table(sd, frame)
    builder.table(sd, frame.iloc[0:0])  # no rows: says so
    body = sd.subdocx.element.body
    tables = body.findall(qn("w:tbl"))
    assert len(tables) == 2
    rows = [["".join(t.text or "" for t in tc.iter(qn("w:t"))) for tc in tr.findall(qn("w:tc"))]
            for tr in tables[0].findall(qn("w:tr"))]  # fmt: skip
    assert rows == [
        ["Case reference", "Note", "Rate"],
        ["CR1", 'A & B <see> =HYPERLINK("x")', "50%"],
        ["CR2", "bell here", "n/a"],
    ]
    header = tables[0].findall(qn("w:tr"))[0]
    assert header.find(f"{qn('w:trPr')}/{qn('w:tblHeader')}") is not None
    empty = ["".join(t.text or "" for t in tr.iter(qn("w:t"))) for tr in tables[1].findall(qn("w:tr"))]
    assert empty == ["Case referenceNoteRate", "None."]
    widths = [int(c.get(qn("w:w"))) for c in tables[0].iter(qn("w:gridCol"))]
    assert len(widths) == 3 and abs(sum(widths) - 17 * 567) < 60  # the page width (17 cm) shared out


def test_a_share_column_is_a_percentage_in_both_documents() -> None:
    # The Word reports showed the coverage table's share as 0.46153846153846156; one rule now serves Word and Excel.
    from caseaudit_batch.reports.frame import is_share_column

    assert docx_blocks._cell_text("Coverage", 6 / 13) == "46%"
    assert docx_blocks._cell_text("Coverage", None) == "n/a"
    assert docx_blocks._cell_text("Completion rate", 0.5) == "50%"
    assert docx_blocks._cell_text("Audited in 12 months", 120) == "120"  # a count stays a count
    assert docx_blocks._cell_text("Mean difference (overall)", 0.5) == "+0.50"  # grade points, not a share
    for column in ("Coverage", "Completion rate", "Share", "Good or better"):
        assert is_share_column(column)
    for column in ("Open cases", "Audited in 12 months", "Note", "Mean difference (overall)"):
        assert not is_share_column(column)


def test_a_table_too_wide_for_its_words_at_11_points_is_set_smaller_with_every_word_whole() -> None:
    """The month's "By case type" grades table did not fit the page at 11 pt with each word whole, so every column
    was shrunk alike and Word broke "Good" as "Goo d". Such a table is now set at the largest smaller size where
    every column has room for its longest word; a table that fits keeps the template's size."""
    import pandas as pd
    from docxtpl import DocxTemplate

    tpl = DocxTemplate(str(TEMPLATES_DIR / "report_template.docx"))
    tpl.init_docx()
    builder = docx_blocks._Builder(tpl)
    sd = builder.new()
    columns = ["Case type", "Graded", "Outstanding", "Good", "Requires Improvement", "Inadequate", "Good or better"]
    wide = pd.DataFrame(
        [["Child Protection", 12, 1, 6, 4, 1, 0.58], ["Children in Need", 9, 0, 5, 3, 1, 0.56]], columns=columns
    ).assign(Note=["Unsubstantiated", "Interpretation"])
    narrow = pd.DataFrame({"Case reference": ["CR1"], "Rate": [0.5]})
    builder.table(sd, wide)
    builder.table(sd, narrow)
    wide_xml, narrow_xml = sd.subdocx.element.body.findall(qn("w:tbl"))

    measured = builder.measure(list(wide.columns), list(wide.itertuples(index=False, name=None)))
    assert sum(builder._needs(measured)[0]) > docx_blocks.PAGE_WIDTH_CM  # too wide at 11 pt
    size = builder.text_size(measured)
    assert size in docx_blocks.SMALLER_POINTS and size < docx_blocks.BODY_POINTS
    sizes = {int(sz.get(qn("w:val"))) for sz in wide_xml.iter(qn("w:sz"))}
    assert sizes == {2 * size}  # every run of the table, the header's too (half-points)
    assert len(list(wide_xml.iter(qn("w:sz")))) == len(list(wide_xml.iter(qn("w:t"))))
    least = builder._needs(measured, size)[0]
    widths = [int(c.get(qn("w:w"))) for c in wide_xml.iter(qn("w:gridCol"))]
    assert all(w >= round(m * 567) - 1 for w, m in zip(widths, least, strict=True))  # no word broken
    assert abs(sum(widths) - 17 * 567) < 60
    assert list(narrow_xml.iter(qn("w:sz"))) == []  # it fits: the template's own size
