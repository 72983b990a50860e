"""``caseaudit allocate`` through the real pipeline: register rows, forms, notices, allocations.xlsx, overrides."""

from __future__ import annotations

import csv
import email
import uuid
from datetime import date
from email import policy
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from alloc_tables import ACTIVE_AUDITORS, CASELOAD, ROSTER, drop, write

from caseaudit_batch import cli, session
from caseaudit_batch.allocation import stage as allocation_stage
from caseaudit_batch.allocation.roster import InputTableError
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.errors import ConfigError
from caseaudit_batch.workbook import forms as workbook_forms

PREFILLED_KEYS = {
    "audit_ref",
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
}


class FormSpy:
    """Records what the real form generator (forms.py) was given, and lets it make the real form."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, Any], dict[str, str]]] = []


@pytest.fixture
def forms(monkeypatch: pytest.MonkeyPatch) -> FormSpy:
    spy = FormSpy()
    real = workbook_forms.render_audit_form

    def recording(framework: Any, organisation: str, prefilled: Any, meta: Any, **kwargs: Any) -> bytes:
        spy.calls.append((dict(prefilled), dict(meta)))
        return real(framework, organisation, prefilled, meta, **kwargs)

    monkeypatch.setattr(workbook_forms, "render_audit_form", recording)
    return spy


@pytest.fixture
def people(workspace: Path) -> Path:
    write(workspace / "roster.xlsx", ROSTER)
    write(workspace / "caseload.xlsx", CASELOAD)
    return workspace


def rows(ctx: session.Context, table: sa.Table, *where: Any) -> list[Any]:
    with ctx.register.reader() as conn:
        return list(conn.execute(sa.select(table).where(*where)))


def test_allocate_makes_forms_notices_and_the_register_truth(
    people: Path, ctx: session.Context, forms: FormSpy
) -> None:
    result = allocation_stage.allocate_month(ctx, "2026-09")
    assert result.exit_code == 0
    allocated = rows(ctx, reg.allocations, reg.allocations.c.month == "2026-09")
    assert {a.staff_id for a in allocated} == ACTIVE_AUDITORS
    month_dir = people / "output" / "2026-09"
    for a in allocated:
        assert str(uuid.UUID(a.audit_id, version=4)) == a.audit_id
        assert a.status == "allocated" and a.due_date == date(2026, 9, 30)
        assert a.framework_version == ctx.framework.version
        assert set(a.prefilled) == PREFILLED_KEYS and a.prefilled["due_date"] == "2026-09-30"
        assert (month_dir / a.form_file).read_bytes()[:2] == b"PK"  # a real workbook
    # The stored prefilled dict is exactly what the form generator was given (the due date as a date there).
    given = {p["audit_id"]: (p, m) for p, m in forms.calls}
    tara = next(a for a in allocated if a.staff_id == "T1")
    prefilled, meta = given[tara.audit_id]
    assert prefilled == dict(tara.prefilled, due_date=date(2026, 9, 30))
    assert meta == {
        "form_kind": "audit",
        "audit_id": tara.audit_id,
        "framework_version": ctx.framework.version,
        "generator_version": workbook_forms.GENERATOR_VERSION,
        "month": "2026-09",
        "case_ref": tara.case_ref,
        "auditor_id": "T1",
    }
    assert prefilled["auditor_name"] == "Tara Teamone" and prefilled["review_period"] == "March 2026 to August 2026"
    # People by name: the service manager is the team manager's line manager.
    by_case = {a.case_ref: a.prefilled for a in allocated}
    for p in by_case.values():
        assert p["service_manager"] == {"North": "Mia North", "South": "Max South"}[p["service"]]

    # One notice per auditor, social worker and team manager in copy, the form attached; listed in outbox.csv.
    with open(month_dir / "outbox.csv", newline="", encoding="utf-8") as handle:
        outbox = list(csv.DictReader(handle))
    assert len(outbox) == 13
    tara_row = next(r for r in outbox if r["to"] == "tara@council.example")
    message = email.message_from_bytes((month_dir / tara_row["file"]).read_bytes(), policy=policy.default)
    case = tara.prefilled
    assert tara.case_ref in message["Subject"]
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert "Wednesday 30 September 2026" in text and "contact " + case["social_worker"] + " early" in text
    assert [a.get_filename() for a in message.iter_attachments()] == [tara.form_file]
    workers = {"N1": "wes", "N2": "wyn", "S1": "will", "S2": "win"}
    managers = {"N1": "tara", "N2": "theo", "S1": "tess", "S2": "tom"}
    assert tara_row["cc"] == f"{workers[case['team']]}@council.example; {managers[case['team']]}@council.example"
    assert len(rows(ctx, reg.notices, reg.notices.c.kind == "allocation")) == 13

    # allocations.xlsx for QA: every allocation, the exemption with its reason, the case passed over.
    wb = openpyxl.load_workbook(month_dir / "allocations.xlsx")
    sheet = list(wb["Allocations"].iter_rows(values_only=True))
    assert sheet[0][:6] == ("Audit reference", "Auditor", "Staff ID", "Role", "Case reference", "Case type")
    assert len(sheet) == 14
    # Each audit's readable reference: the month and its place in the month's allocations.
    assert sorted(row[0] for row in sheet[1:]) == [f"2026-09-{n:04d}" for n in range(1, 14)]
    assert list(wb["Exemptions"].iter_rows(values_only=True))[1] == (
        "P2",
        "Pip Onleave",
        "Practice Supervisor",
        "paused until 15/10/2026 (Parental leave)",
    )
    assert list(wb["Passed over"].iter_rows(values_only=True))[1] == ("1 case(s): no allocated social worker",)
    assert any("1 passed over (1 no allocated social worker)" in line for line in result.lines)


def test_three_way_meeting_advice_in_the_notice(people: Path, ctx: session.Context, forms: FormSpy) -> None:
    allocation_stage.allocate_month(ctx, "2026-09")
    month_dir = people / "output" / "2026-09"
    allocated = {a.case_ref: a for a in rows(ctx, reg.allocations)}
    for case_ref, a in allocated.items():
        notice = next((month_dir / "notices").glob(f"{a.audit_ref}_{case_ref}_*_allocation.eml"))
        text = notice.read_text("utf-8", errors="replace").replace("=\n", "")
        # N1-02 was re-allocated on 20 August from Wyn Workertwo, who is still here.
        assert ("three-way meeting" in text) == (case_ref == "N1-02"), case_ref
        if case_ref == "N1-02":
            assert "Wyn Workertwo" in text and a.prefilled["previous_worker"] == "Wyn Workertwo"


def test_a_second_allocation_is_refused_unless_replace(people: Path, ctx: session.Context, forms: FormSpy) -> None:
    first = allocation_stage.allocate_month(ctx, "2026-09")
    with pytest.raises(ConfigError) as info:
        allocation_stage.allocate_month(ctx, "2026-09")
    assert info.value.code == "AL020" and "--replace" in info.value.message
    again = allocation_stage.allocate_month(ctx, "2026-09", replace=True)
    batches = rows(ctx, reg.allocation_batches)
    assert [b.status for b in batches] == ["replaced", "current"]
    assert again.data["batch_id"] != first.data["batch_id"]
    statuses = [a.status for a in rows(ctx, reg.allocations)]
    assert statuses.count("replaced") == 13 and statuses.count("allocated") == 13
    # The same inputs give the same pairs.
    by_batch: dict[int, set[tuple[str, str]]] = {}
    for a in rows(ctx, reg.allocations):
        by_batch.setdefault(a.batch_id, set()).add((a.staff_id, a.case_ref))
    assert len({frozenset(v) for v in by_batch.values()}) == 1


def test_the_12_month_rule_across_months(people: Path, workspace: Path, forms: FormSpy) -> None:
    used: list[set[str]] = []
    for month in ("2026-07", "2026-08"):
        ctx = session.open_context(workspace / "caseaudit.toml", f"{month}-01")
        try:
            allocation_stage.allocate_month(ctx, month)
            used.append({a.case_ref for a in rows(ctx, reg.allocations, reg.allocations.c.month == month)})
        finally:
            ctx.close()
    # 16 offered cases; 12 auditors in July and August (Poppy is paused until 20 August). August uses the 4 cases
    # not audited in July, then has to reuse 8, each noted as such.
    assert len(used[0]) == 12 and len(used[1] - used[0]) == 4
    ctx = session.open_context(workspace / "caseaudit.toml", "2026-08-01")
    try:
        recent = rows(ctx, reg.allocation_notes, reg.allocation_notes.c.kind == "recent")
        assert len(recent) == 8 and all(n.month == "2026-08" for n in recent)
    finally:
        ctx.close()


def test_auditors_left_without_a_case_exit_65_and_are_named(
    people: Path, forms: FormSpy, capsys: pytest.CaptureFixture[str]
) -> None:
    small = drop(CASELOAD, "N1-03", "N1-04", "N2-03", "N2-04", "S1-03", "S1-04", "S2-03", "S2-04")
    write(people / "caseload.xlsx", small)
    config = str(people / "caseaudit.toml")
    code = cli.main(["allocate", "--config", config, "--month", "2026-09", "--today", "2026-09-01"])
    assert code == 65
    captured = capsys.readouterr()
    assert captured.err.count("[AL040]") == 5 and "too small for the number of auditors" in captured.err
    assert "Allocated 8 audits for September 2026" in captured.out
    wb = openpyxl.load_workbook(people / "output" / "2026-09" / "allocations.xlsx")
    assert len(list(wb["No case"].iter_rows(values_only=True))) == 6


def test_from_file_pairs_are_used_and_shown(people: Path, ctx: session.Context, forms: FormSpy) -> None:
    pairs = write(people / "pairs.xlsx", "Staff ID | Case reference\nT1 | S1-01\nM1 | S2-02", title="Allocations")
    result = allocation_stage.allocate_month(ctx, "2026-09", from_file=pairs)
    chosen = {a.staff_id: a.case_ref for a in rows(ctx, reg.allocations)}
    assert chosen["T1"] == "S1-01" and chosen["M1"] == "S2-02" and len(chosen) == 13
    notes = rows(ctx, reg.allocation_notes, reg.allocation_notes.c.kind == "override")
    assert {n.staff_id for n in notes} == {"T1", "M1"}
    wb = openpyxl.load_workbook(people / "output" / "2026-09" / "allocations.xlsx")
    assert len(list(wb["Overrides"].iter_rows(values_only=True))) == 3
    assert any("Chosen by hand" in line for line in result.lines)
    bad = write(people / "bad.csv", "Staff ID | Case reference\nT1 | N1-01")
    with pytest.raises(InputTableError) as info:
        allocation_stage.allocate_month(ctx, "2026-10", from_file=bad)
    assert info.value.problems[0].code == "AL014" and "row 2" in info.value.message


def test_reassign_to_another_auditor_and_to_a_new_case(people: Path, ctx: session.Context, forms: FormSpy) -> None:
    allocation_stage.allocate_month(ctx, "2026-09")
    before = {a.staff_id: a for a in rows(ctx, reg.allocations)}
    theo = before["T2"]
    # Sickness: the same case to a practice supervisor from another team.
    target = "P1" if before["T2"].prefilled["team"] != "N1" else "P3"
    moved = allocation_stage.reassign(ctx, "2026-09", theo.audit_id, to=target)
    after = {a.audit_id: a for a in rows(ctx, reg.allocations)}
    assert after[theo.audit_id].status == "withdrawn"
    new = after[moved.data["new_audit_id"]]
    assert (new.staff_id, new.case_ref, new.status) == (target, theo.case_ref, "allocated")
    assert new.batch_id == theo.batch_id and new.audit_id != theo.audit_id
    kinds = {(n.kind, n.audit_id) for n in rows(ctx, reg.notices)}
    assert ("reassignment", new.audit_id) in kinds and ("withdrawal", theo.audit_id) in kinds
    # The same auditor, a new case (the old one closed or was transferred).
    tess = before["T3"]
    renewed = allocation_stage.reassign(ctx, "2026-09", tess.audit_id)
    fresh = {a.audit_id: a for a in rows(ctx, reg.allocations)}[renewed.data["new_audit_id"]]
    current_refs = [a.case_ref for a in rows(ctx, reg.allocations, reg.allocations.c.status == "allocated")]
    assert fresh.staff_id == "T3" and fresh.case_ref != tess.case_ref and fresh.prefilled["team"] != "S1"
    assert len(current_refs) == len(set(current_refs)) == 13
    overrides = rows(ctx, reg.allocation_notes, reg.allocation_notes.c.kind == "reassign")
    assert len(overrides) == 2
    wb = openpyxl.load_workbook(people / "output" / "2026-09" / "allocations.xlsx")
    assert len(list(wb["Overrides"].iter_rows(values_only=True))) == 3
    # A withdrawn audit cannot be reassigned again; a conflicting auditor is refused with the reason.
    with pytest.raises(ConfigError) as info:
        allocation_stage.reassign(ctx, "2026-09", theo.audit_id, to="P3")
    assert info.value.code == "AL023"
    own_team = {"N1": "T1", "N2": "T2", "S1": "T3", "S2": "T4"}[fresh.prefilled["team"]]
    with pytest.raises(ConfigError) as info:
        allocation_stage.reassign(ctx, "2026-09", fresh.audit_id, to=own_team)
    assert info.value.code == "AL025" and "own team" in info.value.message


def test_reassign_refuses_an_accepted_audit(people: Path, ctx: session.Context, forms: FormSpy) -> None:
    allocation_stage.allocate_month(ctx, "2026-09")
    done = rows(ctx, reg.allocations)[0]
    with ctx.register.writer() as conn:
        conn.execute(
            sa.insert(reg.audits).values(
                audit_id=done.audit_id, submission_id=1, month="2026-09", answers={}, current=True, accepted_at="x"
            )
        )
    with pytest.raises(ConfigError) as info:
        allocation_stage.reassign(ctx, "2026-09", done.audit_id)
    assert info.value.code == "AL024"


def test_real_forms_are_made(people: Path, ctx: session.Context) -> None:
    allocation_stage.allocate_month(ctx, "2026-09")
    for a in rows(ctx, reg.allocations):
        assert (people / "output" / "2026-09" / a.form_file).stat().st_size > 1000


def test_cli_options(people: Path, capsys: pytest.CaptureFixture[str], forms: FormSpy) -> None:
    config = str(people / "caseaudit.toml")
    assert cli.main(["allocate", "--config", config, "--month", "2026-09", "--to", "T1"]) == 2
    assert "--to can only be used together with --reassign" in capsys.readouterr().err
    other = people / "elsewhere"
    other.mkdir()
    write(other / "r.csv", ROSTER)
    write(other / "c.csv", CASELOAD)
    args = ["allocate", "--config", config, "--month", "2026-09", "--today", "2026-09-01"]
    assert cli.main([*args, "--roster", str(other / "r.csv"), "--caseload", str(other / "c.csv")]) == 0
    assert "Allocated 13 audits" in capsys.readouterr().out
    assert cli.main(args) == 2
    assert cli.main([*args, "--replace"]) == 0


def test_configured_roles_and_people_are_checked(people: Path, forms: FormSpy) -> None:
    config = people / "caseaudit.toml"
    text = config.read_text("utf-8")
    config.write_text(text.replace('qa_officer = ""', 'qa_officer = "Q9"'), "utf-8")
    ctx = session.open_context(config, "2026-09-01")
    try:
        result = allocation_stage.allocate_month(ctx, "2026-09")
    finally:
        ctx.close()
    assert any("[AL043]" in line and "'Q9'" in line and "people.qa_officer" in line for line in result.attention)
    config.write_text(text.replace('"Team Manager", "Practice', '"Team Leader", "Practice', 1), "utf-8")
    ctx = session.open_context(config, "2026-09-01")
    try:
        with pytest.raises(ConfigError) as info:
            allocation_stage.allocate_month(ctx, "2026-10")
    finally:
        ctx.close()
    assert "allocation.auditing_roles" in info.value.message and "'Team Leader'" in info.value.message
