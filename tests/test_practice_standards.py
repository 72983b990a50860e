"""Practice standards (issue 24): in the framework, asked on the audit form as required drop-downs (``ps_<id>``),
read back from forms made with an earlier list or before the list, and the moderation form's evidence."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from formkit import allocate, good_answers, make_form
from openpyxl import load_workbook

from caseaudit_batch import session
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.framework import DEFAULT_FRAMEWORK_PATH, load_framework
from caseaudit_batch.ingest import stage as ingest_stage
from caseaudit_batch.ingest.record import AuditBook
from caseaudit_batch.workbook import forms, reader
from caseaudit_batch.workbook.layout import Layouts, audit_layout, moderation_layout

FW = load_framework()
SHIPPED = {
    "chronology": 8,
    "genogram": 2,
    "case_summary": 8,
    "supervision": 7,
    "oversight": 7,
    "records_current": 8,
    "seen_in_timescale": 1,
    "seen_alone": 4,
    "wishes_feelings": 4,
    "plan_current": 3,
}
PRACTICE = {"seen_in_timescale", "seen_alone", "wishes_feelings", "plan_current"}


def test_the_framework_ships_the_ten_standards_each_in_its_section() -> None:
    assert {s.id: s.section for s in FW.standards} == SHIPPED
    assert {s.id for s in FW.standards if s.source == "practice"} == PRACTICE
    assert {s.source for s in FW.standards if s.id not in PRACTICE} == {"descriptors"}


def test_the_form_asks_each_standard_as_a_required_drop_down_under_its_sections_grade() -> None:
    layout = audit_layout(FW)
    for standard in FW.standards:
        spec = layout.fields[standard.name]
        grade_row = layout.fields[f"s{standard.section}_grade"].row
        findings_row = layout.fields[f"s{standard.section}_findings"].row
        assert spec.required and spec.choices == ("Yes", "No", "Not applicable")
        assert grade_row < spec.row < findings_row
    wb = load_workbook(__import__("io").BytesIO(forms.audit_template(FW, "Testshire Council")))
    names = wb.defined_names
    for standard in FW.standards:
        assert names[standard.name].attr_text == layout.fields[standard.name].ref
    validated = {str(r) for dv in wb["Audit form"].data_validations.dataValidation for r in dv.sqref.ranges}
    assert layout.fields["ps_chronology"].cell in validated


def _edited_framework(tmp_path: Path) -> Path:
    """A QA team's own copy (another framework version): the genogram and oversight standards dropped, the seen
    alone standard under another ID."""
    text = DEFAULT_FRAMEWORK_PATH.read_text("utf-8")
    for ident in ("genogram", "oversight"):
        text = re.sub(rf'\[\[practice_standard\]\]\nid = "{ident}"\n[^\[]*', "", text)
    text = text.replace('id = "seen_alone"', 'id = "seen_alone_old"')
    path = tmp_path / "framework.toml"
    path.write_text(text, "utf-8")
    return path


def test_a_form_made_from_an_earlier_list_is_read_with_its_own_standards(tmp_path: Path) -> None:
    earlier = load_framework(_edited_framework(tmp_path))
    assert earlier.version != FW.version
    prefilled = {"audit_id": "id-1", "audit_month": "2026-09", "case_ref": "CR1"}
    assert {s.id for s in earlier.standards} == set(SHIPPED) - {"genogram", "oversight", "seen_alone"} | {
        "seen_alone_old"
    }
    answers = {**good_answers(earlier), "ps_seen_alone_old": "No", "s3_findings": "The plan was reviewed."}
    data = make_form(earlier, prefilled, answers)
    package, calamine, meta = reader.identify(data)
    layout = Layouts(audit_layout, FW).for_form(meta, package.names)
    values = reader.read_values(package, calamine, layout, meta).values
    assert values["ps_seen_alone_old"] == "No" and "ps_genogram" not in values and "ps_seen_alone" not in values
    assert values["s3_findings"] == "The plan was reviewed."  # the rows below read where that form has them
    assert values["overall_grade"] == "Good"
    # The control: today's layout reads that form's rows out of place.
    wrong = reader.read_values(package, calamine, audit_layout(FW), meta).values
    assert wrong["s3_findings"] != "The plan was reviewed."


def test_forms_of_one_kind_are_mapped_once_and_each_kind_keeps_its_own_standards(tmp_path: Path) -> None:
    """Issue 25: the forms one version of caseaudit made share their workbook part byte for byte, so its sheets and
    defined names are mapped, and the form's standards read, once per kind: two forms of one kind share the mapping
    and the layout, a form of another kind (an earlier list of standards) gets its own, read from its own names."""
    earlier = load_framework(_edited_framework(tmp_path))
    prefilled = {"audit_id": "id-1", "audit_month": "2026-09", "case_ref": "CR1"}
    today_a = reader.open_package(make_form(FW, prefilled, good_answers(FW)))
    today_b = reader.open_package(make_form(FW, {**prefilled, "audit_id": "id-2"}, good_answers(FW)))
    old = reader.open_package(make_form(earlier, prefilled, good_answers(earlier)))
    assert today_a.layout_key == today_b.layout_key != old.layout_key != 0
    assert today_a.names is today_b.names and today_a.names != old.names
    book = AuditBook(FW, audit_layout(FW), None, {}, {}, set())  # type: ignore[arg-type]
    meta = {"generator_version": "3"}
    for package in (today_a, old, today_b, old):
        remembered = book.layout_for(meta, package.names, package.layout_key)
        assert remembered is book.layout_for(meta, package.names, package.layout_key)  # read once, then reused
        fresh = Layouts(audit_layout, FW).for_form(meta, dict(package.names))  # read from its names, no reuse
        assert remembered.fields.keys() == fresh.fields.keys()
    assert "ps_seen_alone_old" in book.layout_for(meta, old.names, old.layout_key).fields
    assert "ps_seen_alone_old" not in book.layout_for(meta, today_a.names, today_a.layout_key).fields


def _ingest(ctx: session.Context, meta: dict[str, str] | None, answers: dict[str, Any]) -> tuple[str, str]:
    with ctx.register.engine.begin() as conn:
        prefilled = allocate(conn, ctx.framework)
    (ctx.config.inbox("audits") / "form.xlsx").write_bytes(make_form(ctx.framework, prefilled, answers, meta=meta))
    ingest_stage.ingest_inbox(ctx, "2026-09")
    with ctx.register.reader() as conn:
        outcome, codes = conn.execute(sa.select(reg.submissions.c.outcome, reg.submissions.c.codes)).one()
    return outcome, str(codes or "")


def test_a_form_made_before_the_standards_still_ingests(ctx: session.Context) -> None:
    answers = {k: v for k, v in good_answers(ctx.framework).items() if not k.startswith("ps_")}
    assert _ingest(ctx, {"generator_version": "2"}, answers) == ("accepted", "")
    with ctx.register.reader() as conn:
        stored = conn.execute(sa.select(reg.audits.c.answers)).scalar_one()
    assert not any(k.startswith("ps_") for k in stored)


def test_the_answers_are_stored_and_a_blank_standard_returns_the_form(ctx: session.Context) -> None:
    answers = {**good_answers(ctx.framework), "ps_plan_current": None, "ps_supervision": "No"}
    outcome, codes = _ingest(ctx, None, answers)
    assert outcome == "returned" and "V130" in codes.split(";") and "V131" in codes.split(";")


def test_a_standard_answered_no_under_good_is_a_warning_and_is_stored(ctx: session.Context) -> None:
    answers = {**good_answers(ctx.framework), "ps_supervision": "No", "ps_genogram": "Not applicable"}
    assert _ingest(ctx, None, answers) == ("accepted", "V131")
    with ctx.register.reader() as conn:
        stored = conn.execute(sa.select(reg.audits.c.answers)).scalar_one()
    assert stored["ps_supervision"] == "No" and stored["ps_genogram"] == "Not applicable"
    assert stored["ps_chronology"] == "Yes"


# -- the moderation form shows the evidence ------------------------------------------------------------------------


def test_the_moderation_form_shows_each_sections_findings_beside_the_grades() -> None:
    long = "The chronology was updated and the plan reviewed with the family. " * 80  # over one row's worth
    evidence = {"s1_findings": long, "s2_findings": "The assessment drew on the school's views.", "s2_impact": "Safer."}
    data = forms.render_moderation_form(
        FW,
        "Testshire Council",
        {"s1_grade": "Good", "s2_grade": "Outstanding"},
        {"audit_id": "id-1"},
        evidence=evidence,
    )
    layout = moderation_layout(FW)
    ws = load_workbook(__import__("io").BytesIO(data))["Moderation form"]
    shown = {d.name: [ws.cell(row=d.row + i, column=2).value for i in range(d.rows)] for d in layout.displays}
    assert shown["s2_findings"][0] == evidence["s2_findings"]
    assert shown["s2_impact"][0] == "Safer."
    # A long text continues in the rows below, cut at words, and nothing of it is lost.
    parts = [p for p in shown["s1_findings"] if p]
    assert len(parts) > 1
    assert " ".join(p.removesuffix(" …") for p in parts).split() == long.split()
    # Beside the grades: the section's findings sit just below its grade row, the moderator's grade cell in C.
    s2 = next(d for d in layout.displays if d.name == "s2_findings")
    assert s2.row == layout.fields["s2_grade"].row + 1 == layout.fields["m_s2_grade"].row + 1
    assert ws.cell(row=layout.fields["s2_grade"].row, column=2).value == "Outstanding"
    for d in layout.displays:
        assert ws.cell(row=d.row, column=2).protection.locked  # read-only
    assert int(ws.page_setup.paperSize) == 9 and int(ws.page_setup.fitToWidth) == 1  # A4, fit to width
