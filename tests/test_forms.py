"""The audit form: generated, read back, filled two ways; the contract names resolve to the right cells."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from caseaudit_batch.core.framework import load_framework
from caseaudit_batch.workbook import forms
from caseaudit_batch.workbook.layout import (
    ACTIONS_SHEET,
    DESCRIPTORS_SHEET,
    LISTS_SHEET,
    MAIN_SHEET,
    META_KEYS,
    META_SHEET,
    audit_layout,
)

FW = load_framework()
LAYOUT = audit_layout(FW)
ORG = "Testshire Council"

# The published contract, written out here rather than taken from the layout, so a change to either shows.
PREFILLED_NAMES = [
    "audit_id",
    "audit_month",
    "due_date",
    "case_ref",
    "case_type",
    "service",
    "team",
    "social_worker",
    "team_manager",
    "service_manager",
    "cp_iro",
    "auditor_name",
    "auditor_role",
    "previous_worker",
    "review_period",
]
ANSWER_NAMES = [
    "date_completed",
    "sw_participation",
    "sw_participation_reason",
    "three_way_meeting",
    *[f"s{i}_{part}" for part in ("grade", "findings", "impact") for i in range(1, 10)],
    "overall_grade",
    "strengths",
    "learning",
    "diversity",
    "safeguarding_concern",
    "safeguarding_detail",
    "recommendations",
    "org_learning",
]

# A synthetic month: (case reference, auditor, auditor's staff ID, previous worker).
MONTH = [
    ("CR-1001", "Alex Auditor", "S001", ""),
    ("CR 2002/B", "Jo O'Neill", "S002", "Pat Former"),
    ("CR-3003", "Sam Smith-Jones", "S003", ""),
]


def prefilled_for(case_ref: str, auditor: str, previous: str) -> dict[str, object]:
    return {
        "audit_id": f"id-{case_ref}",
        "audit_month": "2026-09",
        "due_date": date(2026, 9, 30),
        "case_ref": case_ref,
        "case_type": "Child in Need",
        "service": "Children's Services North",
        "team": "North 1",
        "social_worker": "Sam Worker",
        "team_manager": "Tina Manager",
        "service_manager": "Sue Senior",
        "cp_iro": "Ivy Reviewer",
        "auditor_name": auditor,
        "auditor_role": "Team Manager",
        "previous_worker": previous,
        "review_period": "March 2026 to August 2026",
    }


def make_form(
    case_ref: str = "CR-1001", auditor: str = "Alex Auditor", staff: str = "S001", previous: str = ""
) -> bytes:
    meta = {"audit_id": f"id-{case_ref}", "month": "2026-09", "case_ref": case_ref, "auditor_id": staff}
    return forms.render_audit_form(FW, ORG, prefilled_for(case_ref, auditor, previous), meta)


ANSWERS: dict[str, object] = {
    "date_completed": date(2026, 9, 21),
    "sw_participation": "In person",
    "three_way_meeting": "Not applicable",
    **{f"s{i}_grade": "Good" for i in range(1, 10)},
    **{
        f"s{i}_findings": f"Section {i}: the plan was reviewed on time & the child's views were recorded."
        for i in range(1, 10)
    },
    **{f"s{i}_impact": f"Impact {i}: school attendance rose from 60% to 90% <since> the plan." for i in range(1, 10)},
    "s3_grade": "Requires Improvement",
    "overall_grade": "Good",
    "strengths": '=HYPERLINK("http://example.invalid") stays text: direct work was planned and purposeful.',
    "learning": "  Chronology not updated since March.\nGenogram missing.  ",
    "diversity": "The child's faith and language were considered in the plan.",
    "safeguarding_concern": "No",
    "recommendations": "Update the chronology so the next review sees the full history.",
    "org_learning": "Chronology templates are hard to find.",
}
ACTIONS = [
    ("Update the chronology", "Sam Worker", date(2026, 10, 15)),
    ("Complete the genogram", "Tina Manager", date(2026, 10, 31)),
    ("=1+1 is an action text, not a formula", "QA", "next week"),
]


def workbook(data: bytes):
    return load_workbook(io.BytesIO(data))


def by_name(wb, name: str) -> object:
    sheet, ref = next(iter(wb.defined_names[name].destinations))
    return wb[sheet][ref.replace("$", "")]


def test_file_name_replaces_unsafe_characters_and_spaces() -> None:
    name = forms.form_filename("2026-09", "2026-09-0001", "CR-1001", "Alex Auditor")
    assert name == "2026-09_2026-09-0001_CR-1001_Alex_Auditor.xlsx"
    name = forms.form_filename("2026-09", "2026-09-0002", "CR 2002/B", 'Jo O"Neill: Lead')
    assert name == "2026-09_2026-09-0002_CR_2002_B_Jo_O_Neill_Lead.xlsx"
    assert "/" not in forms.form_filename("2026-09", "2026-09-0003", "../../etc", "a\\b")
    assert forms.moderation_filename("2026-09-0014", "CR 1") == "2026-09-0014_CR_1_moderation.xlsx"


def test_template_is_built_once_per_framework_and_organisation() -> None:
    first = forms.audit_template(FW, ORG)
    assert forms.audit_template(FW, ORG) is first
    other = forms.audit_template(FW, "Otherborough Council")
    assert other is not first
    assert b"Otherborough" not in first


def test_forms_for_a_synthetic_month_carry_their_details_and_identity() -> None:
    for case_ref, auditor, staff, previous in MONTH:
        data = make_form(case_ref, auditor, staff, previous)
        wb = workbook(data)
        for name, value in prefilled_for(case_ref, auditor, previous).items():
            got = by_name(wb, name).value
            if isinstance(value, date):
                assert got.date() == value, name
            else:
                assert (got or "") == value, name
        meta = {
            wb[META_SHEET].cell(row=r, column=1).value: wb[META_SHEET].cell(row=r, column=2).value for r in range(1, 8)
        }
        assert meta == {
            "form_kind": "audit",
            "audit_id": f"id-{case_ref}",
            "framework_version": FW.version,
            "generator_version": forms.GENERATOR_VERSION,
            "month": "2026-09",
            "case_ref": case_ref,
            "auditor_id": staff,
        }
        props = {p.name: p.value for p in wb.custom_doc_props.props}
        assert {f"caseaudit.{k}" for k in META_KEYS} == set(props)
        assert props["caseaudit.case_ref"] == case_ref
        assert props["caseaudit.auditor_id"] == staff
        assert props["caseaudit.framework_version"] == FW.version
        assert props["caseaudit.generator_version"] == forms.GENERATOR_VERSION
        assert props["caseaudit.form_kind"] == "audit"
        # The organisation comes from the caller (config), on the form itself.
        assert ORG in wb[MAIN_SHEET]["A1"].value
        assert "Bradford" not in wb[MAIN_SHEET]["A1"].value


def test_every_contract_name_resolves_to_its_layout_cell() -> None:
    wb = workbook(make_form())
    for name in PREFILLED_NAMES + ANSWER_NAMES:
        assert name in wb.defined_names, name
        assert wb.defined_names[name].localSheetId is None  # workbook level
        spec = LAYOUT.fields[name]
        assert wb.defined_names[name].attr_text == spec.ref, name
        assert spec.prefilled == (name in PREFILLED_NAMES)
        # The question beside the cell is the field's own label.
        assert wb[MAIN_SHEET].cell(row=spec.row, column=1).value.startswith(spec.label), name
    actions = wb.defined_names["actions"]
    sheet, ref = next(iter(actions.destinations))
    rows = wb[sheet][ref.replace("$", "")]
    assert sheet == ACTIONS_SHEET
    assert len(rows) >= 10 and all(len(r) == 3 for r in rows)
    header = [c.value for c in wb[sheet][rows[0][0].row - 1][:3]]
    assert header == ["Action", "Owner", "Due date"]


def test_sheets_hidden_protected_and_only_answer_cells_unlocked() -> None:
    wb = workbook(make_form())
    states = {ws.title: ws.sheet_state for ws in wb.worksheets}
    assert states == {
        MAIN_SHEET: "visible",
        ACTIONS_SHEET: "visible",
        DESCRIPTORS_SHEET: "visible",
        LISTS_SHEET: "hidden",
        META_SHEET: "veryHidden",
    }
    assert all(ws.protection.sheet for ws in wb.worksheets)
    assert wb.security is not None and wb.security.lockStructure
    main = wb[MAIN_SHEET]
    for spec in LAYOUT.fields.values():
        assert main[spec.cell].protection.locked == spec.prefilled, spec.name
    # Labels, guidance and the title are locked.
    assert main["A1"].protection.locked
    assert main["C40"].protection.locked
    for row in wb[ACTIONS_SHEET]["A4:C18"]:
        assert not any(c.protection.locked for c in row)


def test_drop_downs_come_from_the_hidden_lists_through_defined_names() -> None:
    wb = workbook(make_form())
    main = wb[MAIN_SHEET]
    validations = {str(ref): dv for dv in main.data_validations.dataValidation for ref in dv.sqref.ranges}
    lists = wb[LISTS_SHEET]

    def listed(name: str) -> list[str]:
        sheet, ref = next(iter(wb.defined_names[name].destinations))
        assert sheet == LISTS_SHEET
        return [row[0].value for row in lists[ref.replace("$", "")]]

    for spec in LAYOUT.fields.values():
        if spec.prefilled:
            assert spec.cell not in validations
            continue
        dv = validations[spec.cell]
        assert dv.showInputMessage and dv.prompt, spec.name  # an input message on every answer cell
        if spec.kind in ("grade", "choice"):
            assert dv.type == "list"
            assert dv.formula1.startswith("=list_") and '"' not in dv.formula1  # never an inline list
            expected = FW.grade_names if spec.kind == "grade" else list(spec.choices)
            assert listed(dv.formula1[1:]) == expected, spec.name
        elif spec.kind == "date":
            assert dv.type == "date"
            assert main[spec.cell].number_format == "dd/mm/yyyy"
    assert listed("list_participation") == ["In person", "Phone or video", "Not possible"]
    assert listed("list_three_way") == ["Yes", "No", "Not applicable"]
    assert listed("list_yes_no") == ["Yes", "No"]
    due = wb[ACTIONS_SHEET].data_validations.dataValidation
    assert any(dv.type == "date" and "C4:C18" in str(dv.sqref) for dv in due)


def test_required_cells_are_marked_and_highlighted_until_filled() -> None:
    wb = workbook(make_form())
    main = wb[MAIN_SHEET]
    highlighted = {str(rng.sqref) for rng in main.conditional_formatting}
    for spec in LAYOUT.fields.values():
        if spec.required:
            assert "(required)" in main.cell(row=spec.row, column=1).value, spec.name
            assert spec.cell in highlighted, spec.name
        elif not spec.prefilled:
            assert "(required)" not in main.cell(row=spec.row, column=1).value


def test_overall_grade_rule_and_formula_sit_beside_the_overall_grade() -> None:
    wb = workbook(make_form())
    main = wb[MAIN_SHEET]
    row = LAYOUT.extra["max_overall_row"]
    assert row == LAYOUT.fields["overall_grade"].row + 1
    formula = main.cell(row=row, column=2).value
    assert isinstance(formula, str) and formula.startswith("=")
    assert all(f"s{i}_grade" in formula for i in range(1, 10))
    assert "one grade higher than your lowest section grade" in main.cell(row=row, column=1).value
    # Appendix 1's points for the overall grade run down beside the grade and the formula (one merged cell).
    guidance = main.cell(row=row - 1, column=3).value
    assert "more than one grade higher than your lowest section grade" in guidance
    assert f"C{row - 1}:C{row}" in {str(r) for r in main.merged_cells.ranges}


def test_guidance_notices_and_descriptors_are_on_the_form() -> None:
    wb = workbook(make_form())
    main = wb[MAIN_SHEET]
    texts = " ".join(str(c.value) for row in main.iter_rows() for c in row if c.value)
    assert "Do not wait until the audit is finished" in main["A2"].value
    assert "not the story of the case" in main["A3"].value
    for points in FW.points["overall_grade"] + FW.points["reasons_for_grading"] + FW.points["recommendations"]:
        assert points in texts
    for section in FW.sections:
        assert section.title in texts
        for prompt in section.prompts:
            assert prompt in texts
    descriptors = " ".join(str(c.value) for row in wb[DESCRIPTORS_SHEET].iter_rows() for c in row if c.value)
    for d in FW.descriptors:
        assert d.grade.name in descriptors
        for line in d.summary + d.detail:
            assert line in descriptors
    for para in FW.descriptor_intro:
        assert para in descriptors
    # A4, fitted to the page width.
    assert int(main.page_setup.paperSize) == 9  # A4
    assert main.page_setup.fitToWidth == 1


def test_protection_password_from_config() -> None:
    plain = workbook(forms.audit_template(FW, ORG))
    assert not plain[MAIN_SHEET].protection.password
    locked = workbook(forms.audit_template(FW, ORG, password="s3cret"))
    assert locked[MAIN_SHEET].protection.password  # stored hashed
    assert locked[MAIN_SHEET].protection.sheet


def read_answers_openpyxl(data: bytes) -> dict[str, object]:
    wb = workbook(data)
    out = {name: by_name(wb, name).value for name in ANSWER_NAMES}
    sheet, ref = next(iter(wb.defined_names["actions"].destinations))
    out["actions"] = [tuple(c.value for c in row) for row in wb[sheet][ref.replace("$", "")] if row[0].value]
    return out


def normalise(values: dict[str, object]) -> dict[str, object]:
    def one(v: object) -> object:
        return v.date() if hasattr(v, "date") and callable(v.date) else v

    return {
        k: ([tuple(one(x) for x in row) for row in v] if k == "actions" else one(v))  # type: ignore[union-attr]
        for k, v in values.items()
    }


def test_fill_form_and_fill_form_openpyxl_read_back_the_same() -> None:
    blank = make_form()
    fast = forms.fill_form(blank, ANSWERS, ACTIONS)
    slow = forms.fill_form_openpyxl(blank, ANSWERS, ACTIONS)
    got_fast, got_slow = normalise(read_answers_openpyxl(fast)), normalise(read_answers_openpyxl(slow))
    assert got_fast == got_slow
    expected = {name: ANSWERS.get(name) for name in ANSWER_NAMES}
    assert {k: v for k, v in got_fast.items() if k != "actions"} == expected
    assert got_fast["actions"] == ACTIONS
    # Text starting with '=' stays text in both.
    for data in (fast, slow):
        wb = workbook(data)
        assert by_name(wb, "strengths").data_type == "s"
        assert wb[ACTIONS_SHEET]["A6"].data_type == "s"
    # The fast fill keeps the identity and the pre-filled details.
    wb = workbook(fast)
    assert wb[META_SHEET].sheet_state == "veryHidden"
    assert by_name(wb, "case_ref").value == "CR-1001"


def test_fast_fill_reads_back_with_calamine_at_layout_positions() -> None:
    filled = forms.fill_form(make_form(), ANSWERS, ACTIONS)
    book = CalamineWorkbook.from_filelike(io.BytesIO(filled))
    rows = book.get_sheet_by_name(MAIN_SHEET).to_python(skip_empty_area=False)
    for name in ("s1_findings", "learning", "overall_grade", "case_ref", "date_completed", "due_date"):
        spec = LAYOUT.fields[name]
        value = rows[spec.row - 1][spec.col - 1]
        expected = ANSWERS.get(name) or prefilled_for("CR-1001", "Alex Auditor", "")[name]
        assert value == expected, name
    meta = book.get_sheet_by_name(META_SHEET).to_python()
    assert meta[1] == ["audit_id", "id-CR-1001"]


def test_fill_form_refuses_unknown_names_and_too_many_rows() -> None:
    blank = make_form()
    with pytest.raises(KeyError):
        forms.fill_form(blank, {"no_such_field": "x"})
    with pytest.raises(ValueError, match="rows"):
        forms.fill_form(blank, {}, [("a", "b", None)] * 16)
    with pytest.raises(ValueError):
        forms.render_audit_form(FW, ORG, {"overall_grade": "Good"}, {})


def test_stamped_forms_are_valid_zip_archives() -> None:
    data = forms.fill_form(make_form(), ANSWERS, ACTIONS)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        assert "docProps/custom.xml" in zf.namelist()


def test_a_long_answer_makes_its_row_taller_and_a_short_one_does_not() -> None:
    blank = make_form()
    long_text = "The plan was reviewed and the child's views shaped it. " * 30
    filled = forms.fill_form(blank, {"s2_findings": long_text, "s1_findings": "Short and clear findings here."})
    before, after = workbook(blank)[MAIN_SHEET], workbook(filled)[MAIN_SHEET]
    s1, s2 = LAYOUT.fields["s1_findings"].row, LAYOUT.fields["s2_findings"].row
    assert after.row_dimensions[s1].height == before.row_dimensions[s1].height
    assert after.row_dimensions[s2].height > before.row_dimensions[s2].height * 2


def test_every_part_of_a_stamped_form_is_well_formed_xml() -> None:
    from defusedxml import ElementTree

    nasty = {"strengths": 'Ctrl\x01char & <tag> "quotes" ]]> end', "learning": "x" * 40000}
    data = forms.fill_form(make_form(), nasty)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for name in zf.namelist():
            if name.endswith((".xml", ".rels")):
                ElementTree.fromstring(zf.read(name))
    wb = workbook(data)
    assert by_name(wb, "strengths").value == 'Ctrlchar & <tag> "quotes" ]]> end'
    assert len(by_name(wb, "learning").value) == 32767  # Excel's limit for one cell


def test_form_password_comes_from_config(ctx) -> None:
    assert forms.form_password(ctx.config) == ""
