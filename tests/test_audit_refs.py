"""Audit references in the register, on the forms and in what ingest reads (hardening issue, item 5): forms made
before references (form layout 1) still ingest; a form from a newer caseaudit is refused with its own code."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from formkit import allocate, good_answers, make_form

from caseaudit_batch import session
from caseaudit_batch.core import ids
from caseaudit_batch.core import register as reg
from caseaudit_batch.ingest import stage as ingest_stage
from caseaudit_batch.workbook import forms, reader
from caseaudit_batch.workbook.layout import GENERATOR_VERSION, audit_layout, moderation_layout


def _ingest(ctx: session.Context, meta: dict[str, str] | None, **answers: Any) -> tuple[str, str, dict[str, Any]]:
    with ctx.register.engine.begin() as conn:
        prefilled = allocate(conn, ctx.framework)
    data = make_form(ctx.framework, prefilled, {**good_answers(ctx.framework), **answers}, meta=meta)
    (ctx.config.inbox("audits") / "form.xlsx").write_bytes(data)
    result = ingest_stage.ingest_inbox(ctx, "2026-09")
    with ctx.register.reader() as conn:
        outcome, codes = conn.execute(sa.select(reg.submissions.c.outcome, reg.submissions.c.codes)).one()
    return outcome, str(codes or ""), result.data


def test_the_reference_is_the_first_case_detail_and_moves_the_rows_below_it() -> None:
    from caseaudit_batch.core.framework import load_framework

    framework = load_framework()
    now, before = audit_layout(framework, "2"), audit_layout(framework, "1")
    assert "audit_ref" not in before.fields
    assert now.fields["audit_ref"].row == before.fields["audit_id"].row
    for name, spec in before.fields.items():
        assert now.fields[name].row == spec.row + 1, name  # every row of the main sheet moved down one
    assert moderation_layout(framework).fields["audit_ref"].prefilled


def test_a_form_made_before_references_still_ingests(ctx: session.Context) -> None:
    outcome, codes, _data = _ingest(ctx, {"generator_version": "1"})
    assert (outcome, codes) == ("accepted", "")
    with ctx.register.reader() as conn:
        answers = conn.execute(sa.select(reg.audits.c.answers)).scalar_one()
    assert answers["strengths"] == good_answers(ctx.framework)["strengths"]  # read from its own rows


def test_a_version_1_form_read_with_todays_layout_would_be_read_one_row_out(ctx: session.Context) -> None:
    """The control for the test above: reading by the form's own version is what makes it work."""
    with ctx.register.engine.begin() as conn:
        prefilled = allocate(conn, ctx.framework, case_ref="CR2002")
    data = make_form(ctx.framework, prefilled, good_answers(ctx.framework), meta={"generator_version": "1"})
    layout_now = audit_layout(ctx.framework)
    read = reader.read_form(data, layout_now)
    assert read.values["audit_id"] != prefilled["audit_id"]  # the audit ID sits one row up on a version-1 form


def test_a_form_from_a_newer_caseaudit_is_refused_with_its_code(ctx: session.Context) -> None:
    outcome, codes, _data = _ingest(ctx, {"generator_version": str(int(GENERATOR_VERSION) + 1)})
    assert (outcome, codes) == ("rejected", "IN027")


def test_references_number_each_month_on_and_resolve_either_way(ctx: session.Context) -> None:
    with ctx.register.engine.begin() as conn:
        first = allocate(conn, ctx.framework, case_ref="CR1")
        second = allocate(conn, ctx.framework, case_ref="CR2")
        october = allocate(conn, ctx.framework, case_ref="CR3", month="2026-10")
        assert [first["audit_ref"], second["audit_ref"], october["audit_ref"]] == [
            "2026-09-0001",
            "2026-09-0002",
            "2026-10-0001",
        ]
        assert reg.audit_id_for(conn, " 2026-09-0002 ") == second["audit_id"]
        assert reg.audit_id_for(conn, second["audit_id"]) == second["audit_id"]
        assert reg.audit_id_for(conn, "2026-09-0099") == "2026-09-0099"  # unknown: as typed, for the message
    assert ids.audit_reference("2026-09", 10_000) == "2026-09-10000"  # five digits past 9,999
    assert ids.reference_number("2026-09-10000") == 10_000 and ids.reference_number("CR1") == 0


@pytest.mark.parametrize(("a", "b"), [("CR 1", "CR/1"), ("CR:1", "CR?1")])
def test_file_names_of_references_that_sanitise_alike_differ(a: str, b: str) -> None:
    assert forms.safe_name_part(a) == forms.safe_name_part(b)  # the collision the reference removes
    names = {
        forms.form_filename("2026-09", "2026-09-0001", a, "Sam Smith"),
        forms.form_filename("2026-09", "2026-09-0002", b, "Sam Smith"),
        forms.moderation_filename("2026-09-0001", a),
        forms.moderation_filename("2026-09-0002", b),
        forms.notice_filename("2026-09-0001", a, "Sam Smith_allocation"),
        forms.notice_filename("2026-09-0002", b, "Sam Smith_allocation"),
    }
    assert len(names) == 6
