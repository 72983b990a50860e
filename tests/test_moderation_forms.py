"""The moderation cycle end to end: forms made and sent, returned forms read with ingest's layers, merged,
escalated, fed back, reminded."""

from __future__ import annotations

import csv
import email
import io
import json
import shutil
import subprocess
from datetime import date
from email import policy
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from moderation_kit import MONTH, configure, seed
from moderation_kit import email as email_of
from openpyxl import load_workbook

from caseaudit_batch import session
from caseaudit_batch.core import framework as framework_module
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.clock import Month
from caseaudit_batch.core.errors import EXIT_DATAERR, EXIT_OK
from caseaudit_batch.moderation import measures as mm
from caseaudit_batch.moderation import stage as moderation_stage
from caseaudit_batch.reports import stage as reports_stage
from caseaudit_batch.workbook import forms, reader
from caseaudit_batch.workbook.layout import moderation_layout

AGREE = {
    "moderator_name": "Mina Okafor",
    "moderation_date": date(2026, 10, 8),
    "grade_agreed": "Yes",
    "actions_agreed": "Yes",
    "m_rationale": "The evidence on the file supports the auditor's grades.",
}


@pytest.fixture
def qa(workspace: Path) -> Path:
    configure(workspace, qa_officer="M1")
    context = session.open_context(workspace / "caseaudit.toml", "2026-10-01")
    seed(context)
    context.close()
    return workspace


def run(workspace: Path, today: str = "2026-10-01", **options: str) -> session.Result:
    context = session.open_context(workspace / "caseaudit.toml", today)
    try:
        return moderation_stage.moderate(context, MONTH, **options)
    finally:
        context.close()


def table(workspace: Path, t: sa.Table) -> list[sa.Row]:
    context = session.open_context(workspace / "caseaudit.toml", "2026-10-01")
    try:
        with context.register.reader() as conn:
            return list(conn.execute(sa.select(t)))
    finally:
        context.close()


def outbox(workspace: Path) -> list[dict[str, str]]:
    with open(workspace / "output" / MONTH / "outbox.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def returned_form(workspace: Path, audit_id: str, answers: dict[str, object], actions=(), name: str = "") -> Path:
    row = next(r for r in table(workspace, reg.moderation_sample) if r.audit_id == audit_id)
    blank = (workspace / "output" / row.form_file).read_bytes()
    filled = forms.fill_form(blank, answers, list(actions), table="m_actions")
    target = workspace / "inbox" / "moderation" / (name or Path(row.form_file).name)
    target.write_bytes(filled)
    return target


def test_forms_are_made_for_the_sample_and_sent_to_moderators(qa: Path) -> None:
    result = run(qa)
    assert result.exit_code == EXIT_OK
    sample = [r for r in table(qa, reg.moderation_sample) if r.status == "sampled"]
    assert len(result.data["forms"]) == len(sample) > 0
    row = next(r for r in sample if r.audit_id == "2026-09-003")
    ref = next(a.audit_ref for a in table(qa, reg.allocations) if a.audit_id == row.audit_id)
    assert ref == f"{MONTH}-0003"  # the third audit the kit allocated
    assert row.form_file == f"{MONTH}/moderation/{ref}_CR-1003_moderation.xlsx"
    data = (qa / "output" / row.form_file).read_bytes()
    read = reader.read_form(data, moderation_layout(framework_module.load_framework()))
    assert read.meta["form_kind"] == "moderation"
    assert read.meta["audit_id"] == "2026-09-003" and read.meta["auditor_id"] == row.moderator_id
    assert read.values["case_ref"] == "CR-1003"
    assert read.values["s5_grade"] == "Inadequate" and read.values["overall_grade"] == "Inadequate"
    assert read.values["m_s5_grade"] is None and read.values["grade_agreed"] is None
    assert read.tables["actions"][0][:2] == ("Update the chronology", "Sky Walker")
    wb = load_workbook(io.BytesIO(data))
    assert {"moderator_name", "grade_agreed", "m_overall_grade", "m_actions", "m_s9_grade"} <= set(wb.defined_names)
    requests = [r for r in outbox(qa) if r["subject"].startswith("Moderation request")]
    assert len(requests) == len(sample)
    eml = email.message_from_bytes((qa / "output" / MONTH / requests[0]["file"]).read_bytes(), policy=policy.default)
    assert next(a.get_filename() for a in eml.iter_attachments()).endswith("_moderation.xlsx")
    # A second run makes nothing again.
    again = run(qa)
    assert again.data["forms"] == [] and len(outbox(qa)) == len(sample)


def test_an_agreeing_moderation_is_accepted_and_shared(qa: Path) -> None:
    run(qa)
    returned_form(qa, "2026-09-003", AGREE)
    result = run(qa, "2026-10-09")
    assert result.exit_code == EXIT_OK
    (entry,) = result.data["entries"]
    assert entry.outcome == "accepted"
    (moderation,) = table(qa, reg.moderations)
    assert moderation.audit_id == "2026-09-003" and moderation.grade_agreed and moderation.overall_grade == "Inadequate"
    assert moderation.answers["grade_agreed"] == "Yes" and moderation.answers["m_s1_grade"] is None
    assert moderation.moderation_date == date(2026, 10, 8)
    assert table(qa, reg.escalations) == []
    outcome = next(r for r in outbox(qa) if r["subject"].startswith("Moderation outcome"))
    # The auditor (TM1) and the case's team manager (TM2).
    assert set(outcome["to"].split("; ")) == {email_of("TM1"), email_of("TM2")}
    manifests = list((qa / "output" / MONTH).glob("manifest-moderation-*.csv"))
    assert len(manifests) == 1
    rows = list(csv.DictReader(manifests[0].open(encoding="utf-8")))
    assert [(r["outcome"], r["audit_id"]) for r in rows] == [("accepted", "2026-09-003")]
    # Unchanged on a re-run: a duplicate, nothing recorded twice.
    again = run(qa, "2026-10-10")
    assert [e.outcome for e in again.data["entries"]] == ["duplicate"]
    assert len(table(qa, reg.moderations)) == 1


def test_a_lowering_moderation_escalates_to_hos_qa_with_the_form(qa: Path) -> None:
    run(qa)
    answers = {
        **AGREE,
        "grade_agreed": "No",
        "m_s9_grade": "Inadequate",
        "m_overall_grade": "Inadequate",
        "m_rationale": "Drift and delay: the plan has not progressed in six months.",
    }
    returned_form(
        qa, "2026-09-004", answers, [("Review the plan at a legal gateway meeting", "Tess Moor", date(2026, 11, 1))]
    )
    result = run(qa, "2026-10-09")
    assert result.exit_code == EXIT_OK
    (moderation,) = table(qa, reg.moderations)
    assert moderation.overall_grade == "Inadequate" and moderation.grade_agreed is False
    (escalation,) = table(qa, reg.escalations)
    assert (escalation.kind, escalation.to_staff_id, escalation.status) == ("grade", "HQA", "Open")
    notice = next(r for r in outbox(qa) if r["subject"].startswith(f"Escalation {escalation.escalation_id}"))
    assert notice["to"] == email_of("HQA")
    eml = email.message_from_bytes((qa / "output" / MONTH / notice["file"]).read_bytes(), policy=policy.default)
    assert len(list(eml.iter_attachments())) == 1
    outcome = next(r for r in outbox(qa) if r["subject"].startswith("Moderation outcome"))
    assert "lowered" in outcome["subject"]
    body = email.message_from_bytes((qa / "output" / MONTH / outcome["file"]).read_bytes(), policy=policy.default)
    text = body.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "Review the plan at a legal gateway meeting" in text and escalation.escalation_id in text
    # The additional action joined the action register, marked as from moderation.
    (action,) = [a for a in table(qa, reg.actions) if a.source == "moderation"]
    assert (action.audit_id, action.text, action.owner) == (
        "2026-09-004",
        "Review the plan at a legal gateway meeting",
        "Tess Moor",
    )
    assert action.due_date == date(2026, 11, 1) and action.status == "Open" and action.case_ref == "CR-1004"


def test_an_actions_disagreement_goes_to_the_area_head_of_service(qa: Path) -> None:
    run(qa)
    answers = {**AGREE, "actions_agreed": "No", "m_actions_comment": "The actions do not address the drift."}
    returned_form(qa, "2026-09-003", answers)
    result = run(qa, "2026-10-09")
    (escalation,) = table(qa, reg.escalations)
    assert (escalation.kind, escalation.to_staff_id) == ("actions", "HOS2")  # CR-1003: TM2 -> SM2 -> HOS2
    assert result.data["open_escalations"] == [escalation.escalation_id]
    assert any(f"Open escalation {escalation.escalation_id}" in line for line in result.lines)
    assert any(r["to"] == email_of("HOS2") for r in outbox(qa) if r["subject"].startswith("Escalation"))


def test_an_invalid_moderated_grade_returns_the_form(qa: Path) -> None:
    run(qa)
    returned_form(qa, "2026-09-003", {**AGREE, "grade_agreed": "No", "m_s2_grade": "Brilliant", "m_rationale": "x"})
    result = run(qa, "2026-10-09")
    assert result.exit_code == EXIT_DATAERR
    (entry,) = result.data["entries"]
    assert entry.outcome == "returned" and "MOD101" in entry.codes
    assert table(qa, reg.moderations) == []
    feedback = next(r for r in outbox(qa) if r["subject"].startswith("Please correct your moderation form"))
    row = next(r for r in table(qa, reg.moderation_sample) if r.audit_id == "2026-09-003")
    assert feedback["to"] == email_of(row.moderator_id)
    assert list((qa / "output" / MONTH / "moderation" / "feedback").glob("*-feedback.xlsx"))


def test_wrong_kind_of_form_is_rejected(qa: Path) -> None:
    run(qa)
    audit_form = forms.render_audit_form(
        framework_module.load_framework(), "Testshire Council", {"case_ref": "CR-1003"}, {"audit_id": "2026-09-003"}
    )
    (qa / "inbox" / "moderation" / "audit.xlsx").write_bytes(audit_form)
    result = run(qa, "2026-10-09")
    (entry,) = result.data["entries"]
    assert entry.outcome == "rejected" and entry.codes == ["IN021"]
    assert result.exit_code == EXIT_DATAERR


def test_a_newer_moderation_supersedes_and_the_history_is_kept(qa: Path) -> None:
    run(qa)
    ri = "Requires Improvement"
    first = {**AGREE, "grade_agreed": "No", "m_overall_grade": ri, "m_s1_grade": ri, "m_rationale": "Weak."}
    returned_form(qa, "2026-09-003", first, name="first.xlsx")
    run(qa, "2026-10-09")
    returned_form(qa, "2026-09-003", {**AGREE, "moderation_date": date(2026, 10, 12)}, name="second.xlsx")
    run(qa, "2026-10-13")
    versions = sorted(table(qa, reg.moderations), key=lambda r: r.id)
    assert [(v.current, v.overall_grade) for v in versions] == [(False, "Requires Improvement"), (True, "Inadequate")]
    outcomes = {r.path: r.outcome for r in table(qa, reg.submissions) if r.inbox == "moderation"}
    assert outcomes == {"first.xlsx": "superseded", "second.xlsx": "accepted"}


def test_reminder_once_when_the_due_date_is_near(qa: Path) -> None:
    run(qa)  # forms made 1 October, due 15 October; reminders 3 days before
    assert run(qa, "2026-10-05").data["reminders"] == []
    reminded = run(qa, "2026-10-12").data["reminders"]
    assert reminded and set(reminded) == {r.audit_id for r in table(qa, reg.moderation_sample) if r.status == "sampled"}
    assert run(qa, "2026-10-13").data["reminders"] == []
    assert sum(1 for r in outbox(qa) if r["subject"].startswith("Reminder: moderation")) == len(reminded)


@pytest.mark.libreoffice
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_a_form_saved_by_libreoffice_is_accepted(qa: Path, tmp_path: Path) -> None:
    """A moderator working in LibreOffice: the form comes back with '_meta' merely hidden, and is still accepted."""
    run(qa)
    lowered = {**AGREE, "grade_agreed": "No", "m_s9_grade": "Good", "m_overall_grade": "Good", "m_rationale": "x"}
    made = returned_form(qa, "2026-09-004", lowered, [("Legal gateway", "Tess Moor", date(2026, 11, 1))])
    outdir = tmp_path / "lo"
    outdir.mkdir()
    done = subprocess.run(
        ["soffice", f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless", "--convert-to", "xlsx",
         "--outdir", str(outdir), str(made)],
        capture_output=True, timeout=240, check=False,
    )  # fmt: skip
    assert done.returncode == 0
    made.write_bytes((outdir / made.name).read_bytes())
    result = run(qa, "2026-10-09")
    (entry,) = result.data["entries"]
    assert entry.outcome == "accepted", entry.message
    (moderation,) = table(qa, reg.moderations)
    assert moderation.overall_grade == "Good" and moderation.answers["m_actions"][0][2] == "2026-11-01"


def test_the_reports_read_what_moderation_recorded(qa: Path) -> None:
    """The register contract: the reports' metrics and moderation_measures agree on the same register."""
    run(qa)
    returned_form(qa, "2026-09-003", AGREE)
    returned_form(qa, "2026-09-004", {**AGREE, "grade_agreed": "No", "m_overall_grade": "Good"})
    run(qa, "2026-10-09")
    context = session.open_context(qa / "caseaudit.toml", "2026-10-09")
    try:
        reports_stage.report_month(context, Month.parse(MONTH), as_of=date(2026, 10, 9))  # D: as the measures'
        with context.register.reader() as conn:
            frames = {
                t: pd.read_sql_table(t, conn)
                for t in ("audits", "moderations", "section_grades", "moderation_sample", "escalations")
            }
    finally:
        context.close()
    metrics = json.loads((qa / "output" / MONTH / f"metrics-{MONTH}.json").read_text("utf-8"))
    ours = mm.moderation_metrics(
        frames["audits"],
        frames["moderations"],
        frames["section_grades"],
        frames["moderation_sample"],
        frames["escalations"],
        month=MONTH,
        as_of=date(2026, 10, 9),
    )
    assert metrics["audits_moderated"] == ours["audits_moderated"] == 2
    assert metrics["moderation_agreement_rate"] == ours["moderation_agreement_rate"] == 0.5
    assert metrics["grades_lowered"] == ours["grades_lowered"] == 1
    assert metrics["escalations_open"] == ours["escalations_open"] == 1
    # The final grade of the Outstanding audit is the moderated Good.
    assert metrics["overall_grade_counts"]["Outstanding"] == 0


def test_a_resolution_is_shared_with_the_auditor_and_team_manager(qa: Path) -> None:
    run(qa)
    lowered = {**AGREE, "grade_agreed": "No", "m_overall_grade": "Good", "m_rationale": "Not the best outcome."}
    returned_form(qa, "2026-09-004", lowered)
    run(qa, "2026-10-09")
    (escalation,) = table(qa, reg.escalations)
    result = run(qa, "2026-10-20", resolve=escalation.escalation_id, note="Reviewed the file: Good.", grade="Good")
    assert result.data["resolved"]["grade"] == "Good"
    notice = next(r for r in outbox(qa) if r["subject"].startswith(f"Escalation {escalation.escalation_id} resolved"))
    assert set(notice["to"].split("; ")) == {email_of("SM1"), email_of("TM2")}  # the auditor and the case's TM
    body = email.message_from_bytes((qa / "output" / MONTH / notice["file"]).read_bytes(), policy=policy.default)
    text = body.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "Reviewed the file: Good." in text and "final overall grade is Good" in text
