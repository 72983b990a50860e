"""The moderation form and the action tracker: the same machine, their own layouts and contract names."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import load_workbook
from test_forms import FW, ORG, by_name, prefilled_for

from caseaudit_batch.workbook import forms
from caseaudit_batch.workbook.layout import (
    ADDITIONAL_ACTIONS_SHEET,
    AUDITOR_ACTIONS_SHEET,
    META_SHEET,
    MODERATION_SHEET,
    TRACKER_HEADERS,
    TRACKER_SHEET,
    moderation_layout,
)

MODERATION_ANSWERS = [
    "moderator_name",
    "moderation_date",
    "grade_agreed",
    *[f"m_s{i}_grade" for i in range(1, 10)],
    "m_overall_grade",
    "m_rationale",
    "actions_agreed",
    "m_actions_comment",
]
AUDITOR_ACTIONS = [("Update the chronology", "Sam Worker", date(2026, 10, 15))]


def moderation_form() -> bytes:
    prefilled = prefilled_for("CR-1001", "Alex Auditor", "")
    prefilled.update({f"s{i}_grade": "Good" for i in range(1, 10)})
    prefilled.update(overall_grade="Good", strengths="Purposeful direct work.", learning="Chronology.")
    prefilled["recommendations"] = "Update the chronology."
    meta = {"audit_id": "id-CR-1001", "month": "2026-09", "case_ref": "CR-1001", "auditor_id": "S001"}
    return forms.render_moderation_form(FW, ORG, prefilled, meta, AUDITOR_ACTIONS)


def test_file_names() -> None:
    assert forms.moderation_filename("2026-09", "CR 1001") == "2026-09_CR_1001_moderation.xlsx"
    assert forms.tracker_filename("2026-09", "Sue Senior") == "2026-09_actions_Sue_Senior.xlsx"


def test_moderation_form_names_locks_and_identity() -> None:
    wb = load_workbook(io.BytesIO(moderation_form()))
    layout = moderation_layout(FW)
    for name in MODERATION_ANSWERS:
        spec = layout.fields[name]
        assert wb.defined_names[name].attr_text == spec.ref, name
        assert not wb[MODERATION_SHEET][spec.cell].protection.locked, name
    # The auditor's grades and reasons, under the audit's own names, pre-filled and locked.
    for name in ("s1_grade", "s9_grade", "overall_grade", "strengths", "case_ref"):
        assert wb[MODERATION_SHEET][layout.fields[name].cell].protection.locked
    assert by_name(wb, "s1_grade").value == "Good"
    assert by_name(wb, "case_ref").value == "CR-1001"
    actions = wb[AUDITOR_ACTIONS_SHEET]
    assert actions["A4"].value == "Update the chronology" and actions["A4"].protection.locked
    assert wb.defined_names["m_actions"].attr_text == f"'{ADDITIONAL_ACTIONS_SHEET}'!$A$4:$C$18"
    assert not wb[ADDITIONAL_ACTIONS_SHEET]["A4"].protection.locked
    assert wb[META_SHEET].sheet_state == "veryHidden"
    props = {p.name: p.value for p in wb.custom_doc_props.props}
    assert props["caseaudit.form_kind"] == "moderation"
    assert props["caseaudit.audit_id"] == "id-CR-1001"
    dv = {str(r): d for d in wb[MODERATION_SHEET].data_validations.dataValidation for r in d.sqref.ranges}
    assert dv[layout.fields["m_s3_grade"].cell].formula1 == "=list_grades"
    assert dv[layout.fields["grade_agreed"].cell].formula1 == "=list_yes_no"


def test_moderation_form_fills_the_additional_actions_by_default() -> None:
    answers = {"moderator_name": "Mo Derator", "grade_agreed": "No", "m_s3_grade": "Requires Improvement"}
    extra = [("Complete the genogram", "Tina Manager", date(2026, 10, 31))]
    for filled in (
        forms.fill_form(moderation_form(), answers, extra),
        forms.fill_form_openpyxl(moderation_form(), answers, extra),
    ):
        wb = load_workbook(io.BytesIO(filled))
        assert by_name(wb, "m_s3_grade").value == "Requires Improvement"
        assert wb[ADDITIONAL_ACTIONS_SHEET]["A4"].value == "Complete the genogram"
        assert wb[AUDITOR_ACTIONS_SHEET]["A4"].value == "Update the chronology"


def tracker(rows: list[tuple[object, ...]]) -> bytes:
    meta = {"month": "2026-09", "auditor_id": "S100"}
    return forms.render_tracker(FW, ORG, rows, meta, manager_name="Sue Senior", blank_rows=10)


def test_tracker_headers_body_and_identity() -> None:
    rows: list[tuple[object, ...]] = [
        ("ACT-1", "CR-1", "North 1", "Tina Manager", "Update the chronology", "Sam Worker", date(2026, 9, 1), 12),
        ("ACT-2", "CR-2", "North 1", "Tina Manager", "=SUM(1) stays text", "Sam Worker", date(2026, 10, 1), 0),
    ]
    wb = load_workbook(io.BytesIO(tracker(rows)))
    ws = wb[TRACKER_SHEET]
    assert wb.sheetnames[0] == TRACKER_SHEET
    sheet, ref = next(iter(wb.defined_names["tracker"].destinations))
    assert sheet == TRACKER_SHEET
    body = ws[ref.replace("$", "")]
    assert len(body) == 12 and len(body[0]) == len(TRACKER_HEADERS)
    header_row = body[0][0].row - 1
    assert [c.value for c in ws[header_row]][: len(TRACKER_HEADERS)] == list(TRACKER_HEADERS)
    assert body[0][0].value == "ACT-1" and body[0][6].value.date() == date(2026, 9, 1) and body[0][7].value == 12
    assert body[1][4].value == "=SUM(1) stays text" and body[1][4].data_type == "s"
    # Listed actions: pre-filled columns locked, answer columns open; blank rows: all open except the Action ID.
    assert body[0][4].protection.locked and not body[0][8].protection.locked
    assert body[2][0].protection.locked and not any(c.protection.locked for c in body[2][1:])
    props = {p.name: p.value for p in wb.custom_doc_props.props}
    assert props["caseaudit.form_kind"] == "tracker"
    assert props["caseaudit.auditor_id"] == "S100"
    assert not props["caseaudit.audit_id"] and not props["caseaudit.case_ref"]
    status = [d for d in ws.data_validations.dataValidation if "I5" in str(d.sqref)]
    assert status and status[0].formula1 == "=list_status"
    lists_sheet, lists_ref = next(iter(wb.defined_names["list_status"].destinations))
    listed = [row[0].value for row in wb[lists_sheet][lists_ref.replace("$", "")]]
    assert listed == ["Open", "Completed", "No longer required"]


def test_trackers_of_one_size_share_a_build_but_each_names_its_own_manager() -> None:
    """A tracker is a kept workbook of its size with the rows, title, footer and identity stamped in: two managers'
    trackers of the same size must each show their own name, and an '&' prints as itself (Excel's footer codes)."""
    rows: list[tuple[object, ...]] = [
        ("ACT-1", "CR-1", "North 1", "Tina Manager", "Update the chronology", "Sam Worker", date(2026, 9, 1), 12),
    ]
    made = [
        forms.render_tracker(
            FW, "Children & Families", rows, {"auditor_id": sid, "month": "2026-09"}, manager_name=name
        )
        for sid, name in (("S1", "Sue <Service> & Co"), ("S2", "Bob Boss"))
    ]
    seen = []
    for data in made:
        ws = load_workbook(io.BytesIO(data))[TRACKER_SHEET]
        seen.append((ws["A1"].value, ws.oddFooter.left.text, ws["A1"].font.b, ws["E5"].value))
    assert seen == [
        ("Children & Families: Actions tracker: Sue <Service> & Co",
         "Children && Families: Actions tracker: Sue <Service> && Co", True, "Update the chronology"),
        ("Children & Families: Actions tracker: Bob Boss",
         "Children && Families: Actions tracker: Bob Boss", True, "Update the chronology"),
    ]  # fmt: skip


def test_tracker_filled_through_its_table() -> None:
    rows: list[tuple[object, ...]] = [
        ("ACT-1", "CR-1", "North 1", "Tina Manager", "Update the chronology", "Sam Worker", date(2026, 9, 1), 12),
    ]
    update = [(*rows[0], "Completed", date(2026, 9, 20), "Done in supervision", date(2026, 9, 18), "Yes")]
    update.append((None, "CR-7", None, None, "New action from supervision", "Sam Worker", date(2026, 11, 1)))
    for filled in (
        forms.fill_form(tracker(rows), {}, update, table="tracker"),
        forms.fill_form_openpyxl(tracker(rows), {}, update, table="tracker"),
    ):
        ws = load_workbook(io.BytesIO(filled))[TRACKER_SHEET]
        assert ws["I5"].value == "Completed" and ws["J5"].value.date() == date(2026, 9, 20)
        assert ws["M5"].value == "Yes"
        assert ws["A6"].value is None and ws["E6"].value == "New action from supervision"
