"""Follow-up audits (issue 11): when a case falls due, who may do it, and allocation end to end."""

from __future__ import annotations

import email
import io
from datetime import date
from email import policy
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from alloc_tables import CASELOAD, ROSTER, write

from caseaudit_batch import session
from caseaudit_batch.allocation import stage as allocation_stage
from caseaudit_batch.allocation.allocate import FollowupOffer, Rules, allocate
from caseaudit_batch.allocation.roster import AUDITING_ROLES, load_caseload, load_roster
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.clock import Month
from caseaudit_batch.core.errors import ConfigError
from caseaudit_batch.followups.due import (
    BY_ACTIONS,
    BY_MONTHS,
    ActionRecord,
    AllocationRecord,
    AuditRecord,
    due_followups,
    final_grade,
    followup_cap,
)

SEPT = Month.parse("2026-09")


def audit(audit_id: str, case_ref: str, month: str, grade: str | None, staff_id: str = "T1") -> AuditRecord:
    return AuditRecord(audit_id, case_ref, month, staff_id, grade)


def due_ids(
    audits: list[AuditRecord],
    actions: list[ActionRecord] = (),  # type: ignore[assignment]
    *,
    later: list[AllocationRecord] = (),  # type: ignore[assignment]
    open_cases: set[str] | None = None,
    month: Month = SEPT,
) -> dict[str, str]:
    allocations = [AllocationRecord(a.audit_id, a.case_ref, a.month) for a in audits] + list(later)
    found = due_followups(
        audits,
        allocations,
        actions,
        month=month,
        open_cases={a.case_ref for a in audits} if open_cases is None else open_cases,
        after_months=6,
    )
    return {d.audit_id: d.reason for d in found}


# ---------------------------------------------------------------------------------------------------------------
# When a case falls due
# ---------------------------------------------------------------------------------------------------------------
def test_due_by_closed_actions_before_the_months_pass() -> None:
    audits = [audit("a1", "C1", "2026-07", "Inadequate"), audit("a2", "C2", "2026-07", "Requires Improvement")]
    actions = [
        ActionRecord("a1", "Completed", date(2026, 8, 1)),
        ActionRecord("a1", "No longer required"),
        ActionRecord("a2", "Completed", date(2026, 8, 1)),
        ActionRecord("a2", "Open"),
    ]
    # a1: every action closed after two months; a2 still has one open action and only two months have passed.
    assert due_ids(audits, actions) == {"a1": BY_ACTIONS}
    # Once a2's last action is closed, it is due too.
    actions[-1] = ActionRecord("a2", "Completed", date(2026, 8, 20))
    assert due_ids(audits, actions) == {"a1": BY_ACTIONS, "a2": BY_ACTIONS}


def test_due_by_elapsed_months_whatever_the_actions() -> None:
    audits = [
        audit("m", "C1", "2026-03", "Requires Improvement"),  # exactly 6 months before September
        audit("n", "C2", "2026-04", "Requires Improvement"),  # 5 months: not yet
        audit("o", "C3", "2026-02", "Inadequate"),  # 7 months, with an open action
        audit("p", "C4", "2026-04", "Inadequate"),  # no actions at all: waits for the months
    ]
    actions = [ActionRecord("o", "Open"), ActionRecord("n", "Open")]
    assert due_ids(audits, actions) == {"m": BY_MONTHS, "o": BY_MONTHS}
    october = due_ids(audits, actions, month=Month.parse("2026-10"))
    assert october == {"m": BY_MONTHS, "o": BY_MONTHS, "n": BY_MONTHS, "p": BY_MONTHS}


def test_only_ri_or_inadequate_open_cases_not_yet_followed_up() -> None:
    audits = [
        audit("good", "C1", "2026-01", "Good"),
        audit("outstanding", "C2", "2026-01", "Outstanding"),
        audit("ungraded", "C3", "2026-01", None),
        audit("closed", "C4", "2026-01", "Inadequate"),
        audit("followed", "C5", "2026-01", "Inadequate"),
        audit("due", "C6", "2026-01", "Inadequate"),
        audit("this-month", "C7", "2026-09", "Inadequate"),
    ]
    actions = [ActionRecord("this-month", "Completed", date(2026, 9, 20))]
    later = [AllocationRecord("f1", "C5", "2026-08", "followup", "followed")]
    found = due_ids(audits, actions, later=later, open_cases={"C1", "C2", "C3", "C5", "C6", "C7"})
    assert found == {"due": BY_MONTHS}


def test_a_case_audited_again_is_judged_from_its_latest_audit() -> None:
    audits = [audit("first", "C1", "2026-01", "Inadequate"), audit("again", "C1", "2026-02", "Requires Improvement")]
    assert due_ids(audits) == {"again": BY_MONTHS}
    # The follow-up (itself an audit) graded Requires Improvement again falls due in its turn.
    chain = [audit("first", "C1", "2026-01", "Inadequate"), audit("fu", "C1", "2026-03", "Requires Improvement")]
    assert due_ids(chain) == {"fu": BY_MONTHS}


def test_longest_waiting_first_and_inadequate_before_ri() -> None:
    audits = [
        audit("ri-old", "C1", "2026-01", "Requires Improvement"),
        audit("inad-new", "C2", "2026-02", "Inadequate"),
        audit("ri-new", "C3", "2026-02", "Requires Improvement"),
        audit("inad-old", "C4", "2026-01", "Inadequate"),
    ]
    order = list(due_ids(audits))
    assert order == ["inad-old", "ri-old", "inad-new", "ri-new"]


def test_final_grade_and_share_cap() -> None:
    assert final_grade("Good") == "Good"
    assert final_grade("Good", "Requires Improvement") == "Requires Improvement"
    assert final_grade("Requires Improvement", "Requires Improvement", "Good") == "Good"
    assert final_grade(None, " ", None) is None
    assert followup_cap(0.2, 13) == 2 and followup_cap(0.2, 10) == 2 and followup_cap(0.2, 4) == 0
    assert followup_cap(0.0, 100) == 0


# ---------------------------------------------------------------------------------------------------------------
# Who may do a follow-up (allocation, pure)
# ---------------------------------------------------------------------------------------------------------------
@pytest.fixture
def small(tmp_path: Path) -> tuple[Any, Any]:
    roster = load_roster(write(tmp_path / "roster.xlsx", ROSTER))
    return roster, load_caseload(write(tmp_path / "caseload.xlsx", CASELOAD), roster)


RULES = Rules(auditing_roles=AUDITING_ROLES, followup_share=0.5)


def test_a_followup_is_never_given_to_the_first_auditor(small: tuple[Any, Any]) -> None:
    roster, caseload = small
    # Every auditor did the first audit in turn: over many months (seeds), the first auditor never gets it.
    first_auditors = ["D1", "A1", "H1", "H2", "M1", "M2", "T2", "T3", "T4", "P1", "P3", "R1"]
    for month_number, first in enumerate(first_auditors, start=1):
        month = Month(2027, month_number)
        offer = FollowupOffer("N1-01", "first-audit", first)
        plan = allocate(month, month.first_day, roster, caseload, RULES, followups=[offer], recent={"N1-01"})
        followed = [a for a in plan.assignments if a.kind == "followup"]
        assert len(followed) == 1, plan.followups_waiting
        got = followed[0]
        assert got.case_ref == "N1-01" and got.followup_of == "first-audit"
        assert got.staff_id != first
        # The usual conflict rules hold: not from N1's own team manager or supervisor, nor North's service manager
        # or Head of Service (the 12-month rule does not block it: N1-01 was "recent").
        assert got.staff_id not in {"T1", "P1", "M1", "H1"}
        # Everyone still gets exactly one case, and no case is given twice.
        assert len({a.staff_id for a in plan.assignments}) == len(plan.assignments)
        assert len({a.case_ref for a in plan.assignments}) == len(plan.assignments)


def test_the_share_caps_followups_and_the_rest_wait(small: tuple[Any, Any]) -> None:
    roster, caseload = small
    offers = [FollowupOffer(ref, f"a-{ref}", "T1") for ref in ("S1-01", "S1-02", "S2-01", "S2-02", "N2-01")]
    rules = Rules(auditing_roles=AUDITING_ROLES, followup_share=0.2)  # 13 auditors: at most 2
    plan = allocate(SEPT, date(2026, 9, 1), roster, caseload, rules, followups=offers)
    followed = [a for a in plan.assignments if a.kind == "followup"]
    assert [a.case_ref for a in followed] == ["S1-01", "S1-02"]  # the first offered first
    assert [w.case_ref for w in plan.followups_waiting] == ["S2-01", "S2-02", "N2-01"]
    assert all("share" in w.reason for w in plan.followups_waiting)
    assert len(plan.assignments) == 13 and not plan.unallocated
    # A case with no allocated social worker is not offered; it waits with the reason.
    plan = allocate(SEPT, date(2026, 9, 1), roster, caseload, RULES, followups=[FollowupOffer("S2-05", "x", "T1")])
    assert not [a for a in plan.assignments if a.kind == "followup"]
    assert "not offered" in plan.followups_waiting[0].reason


# ---------------------------------------------------------------------------------------------------------------
# End to end through allocation_stage.allocate_month, with the earlier audits and actions put into the register
# ---------------------------------------------------------------------------------------------------------------
def _allocate(workspace: Path, month: str, *, replace: bool = False) -> session.Result:
    ctx = session.open_context(workspace / "caseaudit.toml", f"{month}-01")
    try:
        return allocation_stage.allocate_month(ctx, month, replace=replace)
    finally:
        ctx.close()


def _accept(conn: Any, allocation: Any, overall: str, sections: dict[int, str], done: date) -> None:
    """An accepted audit as ingest records it (answers keyed by contract names)."""
    answers = {f"s{n}_grade": sections.get(n, overall) for n in range(1, 10)}
    answers["overall_grade"] = overall
    row = conn.execute(
        sa.insert(reg.audits).values(
            audit_id=allocation.audit_id,
            submission_id=1,
            month=allocation.month,
            date_completed=done,
            overall_grade=overall,
            answers=answers,
            current=True,
            accepted_at=f"{done.isoformat()}T12:00:00+00:00",
        )
    ).inserted_primary_key
    for n in range(1, 10):
        conn.execute(sa.insert(reg.section_grades).values(audit_row_id=row[0], section=n, grade=answers[f"s{n}_grade"]))


def _action(conn: Any, allocation: Any, number: int, status: str, completed: date | None = None) -> None:
    conn.execute(
        sa.insert(reg.actions).values(
            action_id=f"{allocation.audit_id[:8]}-{number}",
            audit_id=allocation.audit_id,
            source="audit",
            text=f"Action {number} for the child's plan",
            norm_text=f"action {number}",
            owner="Wes Workerone",
            due_date=date(2026, 8, 31),
            case_ref=allocation.case_ref,
            status=status,
            completed_on=completed,
            created_at="2026-07-31T12:00:00+00:00",
        )
    )


def test_followups_allocated_end_to_end(workspace: Path) -> None:
    config = workspace / "caseaudit.toml"
    config.write_text(config.read_text("utf-8").replace("followup_share = 0.2", "followup_share = 0.4"), "utf-8")
    write(workspace / "roster.xlsx", ROSTER)
    # Enough cases that July needs none of March's (a case allocated again is judged from its latest audit).
    extra = [
        f"X{team}-{n:02d} | CIN | {service} | {team} | {worker} | {manager} | 01/02/2026 | | | 01/01/2026"
        for team, service, worker, manager in (
            ("N1", "North", "W1", "T1"),
            ("N2", "North", "W2", "T2"),
            ("S1", "South", "W3", "T3"),
            ("S2", "South", "W4", "T4"),
        )
        for n in range(1, 7)
    ]
    write(workspace / "caseload.xlsx", CASELOAD.strip() + "\n" + "\n".join(extra))
    _allocate(workspace, "2026-03")
    _allocate(workspace, "2026-07")
    ctx = session.open_context(config, "2026-09-01")
    a = reg.allocations
    with ctx.register.engine.begin() as conn:
        march = {r.staff_id: r for r in conn.execute(sa.select(a).where(a.c.month == "2026-03"))}
        july = {r.staff_id: r for r in conn.execute(sa.select(a).where(a.c.month == "2026-07"))}
        # March, Dana: Requires Improvement, one action still open -> due by the six months.
        by_months = march["D1"]
        _accept(conn, by_months, "Requires Improvement", {1: "Good", 4: "Inadequate"}, date(2026, 3, 20))
        _action(conn, by_months, 1, "Open")
        # March, Ash: Good by the auditor, Requires Improvement at moderation -> due (the final grade counts).
        moderated = march["A1"]
        _accept(conn, moderated, "Good", {}, date(2026, 3, 21))
        conn.execute(
            sa.insert(reg.moderations).values(
                audit_id=moderated.audit_id,
                submission_id=2,
                overall_grade="Requires Improvement",
                answers={"m_overall_grade": "Requires Improvement", "m_s3_grade": "Inadequate"},
                current=True,
                accepted_at="2026-04-02T12:00:00+00:00",
            )
        )
        # March, Hana: Requires Improvement, but the Head of Service for QA resolved it as Good -> not due.
        resolved = march["H1"]
        _accept(conn, resolved, "Requires Improvement", {}, date(2026, 3, 22))
        conn.execute(
            sa.insert(reg.escalations).values(
                escalation_id="E-1",
                audit_id=resolved.audit_id,
                kind="grade",
                status="Resolved",
                grade="Good",
                created_at="2026-04-03T12:00:00+00:00",
                resolved_at="2026-04-10T12:00:00+00:00",
            )
        )
        # July, Tara: Inadequate, both actions closed in August -> due by the actions, after two months.
        by_actions = july["T1"]
        _accept(conn, by_actions, "Inadequate", {9: "Requires Improvement"}, date(2026, 7, 15))
        _action(conn, by_actions, 1, "Completed", date(2026, 8, 10))
        _action(conn, by_actions, 2, "No longer required")
        # July, Theo: Inadequate with an action still open -> not yet due.
        waiting = july["T2"]
        _accept(conn, waiting, "Inadequate", {}, date(2026, 7, 16))
        _action(conn, waiting, 1, "Open")
    try:
        result = allocation_stage.allocate_month(ctx, "2026-09")
    finally:
        ctx.close()
    assert result.exit_code == 0, result.attention
    assert result.data["summary"]["followups_due"] == 3
    assert result.data["summary"]["followups_allocated"] == 3
    assert any("Follow-up audits: 3 case(s) due, 3 allocated" in line for line in result.lines)

    with ctx.register.reader() as conn:
        sept = list(conn.execute(sa.select(a).where(a.c.month == "2026-09", a.c.status == "allocated")))
    followups = {r.followup_of: r for r in sept if r.kind == "followup"}
    assert set(followups) == {by_months.audit_id, moderated.audit_id, by_actions.audit_id}
    assert len(sept) == 13 and len({r.staff_id for r in sept}) == 13
    for first in (by_months, moderated, by_actions):
        fu = followups[first.audit_id]
        assert fu.case_ref == first.case_ref
        assert fu.staff_id != first.staff_id  # never the first auditor

    # The form: an audit form (same names, form kind "audit") with the earlier grades and actions, locked.
    fu = followups[by_actions.audit_id]
    wb = openpyxl.load_workbook(io.BytesIO((workspace / "output" / "2026-09" / fu.form_file).read_bytes()))
    assert wb.sheetnames[:4] == ["Audit form", "Follow-up", "Actions", "Earlier actions"]

    def value(name: str) -> Any:
        sheet, ref = next(iter(wb.defined_names[name].destinations))
        return wb[sheet][ref.replace("$", "")].value

    assert value("audit_id") == fu.audit_id and value("case_ref") == fu.case_ref
    assert value("followup_of") == by_actions.audit_id
    assert value("previous_overall_grade") == "Inadequate"
    assert value("previous_s9_grade") == "Requires Improvement" and value("previous_s1_grade") == "Inadequate"
    assert value("previous_audit_month") == "July 2026"
    assert "all 2 action(s)" in value("followup_reason")
    assert wb["_meta"]["B1"].value == "audit"
    earlier = wb["Earlier actions"]
    assert [earlier.cell(row=r, column=4).value for r in (4, 5)] == ["Completed", "No longer required"]
    assert earlier["A4"].protection.locked and earlier.protection.sheet
    # The moderated audit shows the moderator's grades (blank = agreed with the auditor).
    fu = followups[moderated.audit_id]
    wb = openpyxl.load_workbook(io.BytesIO((workspace / "output" / "2026-09" / fu.form_file).read_bytes()))
    assert value("previous_overall_grade") == "Requires Improvement"
    assert value("previous_s3_grade") == "Inadequate" and value("previous_s2_grade") == "Good"
    assert value("previous_grades_from") == "moderation"

    # The notice tells the auditor it is a follow-up, of which audit.
    notice = next((workspace / "output" / "2026-09" / "notices").glob(f"{fu.audit_ref}_*_allocation.eml"))
    message = email.message_from_bytes(notice.read_bytes(), policy=policy.default)
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = " ".join(body.get_content().split())
    assert "This is a follow-up audit" in text and "graded Requires Improvement at its audit in March 2026" in text

    # allocations.xlsx says how each follow-up was chosen.
    book = openpyxl.load_workbook(workspace / "output" / "2026-09" / "allocations.xlsx")
    rows = list(book["Allocations"].iter_rows(values_only=True))
    how = [row[rows[0].index("How chosen")] for row in rows[1:]]
    assert sum(1 for h in how if str(h).startswith("follow-up of audit")) == 3

    # Passed to another auditor (--reassign --to), a follow-up stays a follow-up of the same audit; never to the
    # auditor who did the first audit.
    fu = followups[by_actions.audit_id]
    ctx = session.open_context(config, "2026-09-10")
    try:
        with pytest.raises(ConfigError) as refused:
            allocation_stage.reassign(ctx, "2026-09", fu.audit_id, to=by_actions.staff_id)
        assert "they did the audit this follows up" in str(refused.value.params)
        moved = allocation_stage.reassign(ctx, "2026-09", fu.audit_id, to="D1" if fu.staff_id != "D1" else "A1")
    finally:
        ctx.close()
    with ctx.register.reader() as conn:
        new = conn.execute(sa.select(a).where(a.c.audit_id == moved.data["new_audit_id"])).one()
    assert (new.kind, new.followup_of, new.case_ref) == ("followup", by_actions.audit_id, fu.case_ref)
    assert "Follow-up" in openpyxl.load_workbook(workspace / "output" / "2026-09" / new.form_file).sheetnames
    notice = next((workspace / "output" / "2026-09" / "notices").glob(f"{new.audit_ref}_*_reassignment.eml"))
    message = email.message_from_bytes(notice.read_bytes(), policy=policy.default)
    body = message.get_body(preferencelist=("plain",))
    assert body is not None and "This is a follow-up audit" in body.get_content()

    # Allocated again with --replace: the same follow-ups are offered again (the replaced ones do not count).
    # With the share at 20% (13 auditors: at most 2), the longest-waiting two go and the third waits, listed.
    config.write_text(config.read_text("utf-8").replace("followup_share = 0.4", "followup_share = 0.2"), "utf-8")
    again = _allocate(workspace, "2026-09", replace=True)
    assert again.data["summary"]["followups_due"] == 3
    assert again.data["summary"]["followups_allocated"] == 2 and again.data["summary"]["followups_waiting"] == 1
    book = openpyxl.load_workbook(workspace / "output" / "2026-09" / "allocations.xlsx")
    waiting = [r[0] for r in book["Follow-ups waiting"].iter_rows(min_row=2, values_only=True)]
    assert len(waiting) == 1 and by_actions.case_ref in waiting[0] and "share" in waiting[0]
    # A month later only the one that waited is due: the others have had their follow-up allocated.
    october = _allocate(workspace, "2026-10")
    assert october.data["summary"]["followups_due"] == 1
    assert october.data["summary"]["followups_allocated"] == 1


def test_the_followup_form_keeps_every_audit_form_name_in_place() -> None:
    """Ingest reads a follow-up as any audit: the audit form's sheets, cells and defined names are unchanged."""
    from caseaudit_batch.core.framework import load_framework
    from caseaudit_batch.workbook import forms

    framework = load_framework()
    audit_wb = openpyxl.load_workbook(io.BytesIO(forms.audit_template(framework, "Testshire")))
    followup_wb = openpyxl.load_workbook(io.BytesIO(forms.followup_template(framework, "Testshire")))

    def places(wb: Any) -> dict[str, list[tuple[str, str]]]:
        return {name: list(wb.defined_names[name].destinations) for name in wb.defined_names}

    audit_names, followup_names = places(audit_wb), places(followup_wb)
    for name, where in audit_names.items():
        assert followup_names.get(name) == where, name
    added = set(followup_names) - set(audit_names)
    assert {"followup_of", "previous_overall_grade", "previous_s1_grade", "previous_s9_grade"} <= added
    assert {"previous_actions", "followup_reason", "previous_actions_summary"} <= added
    assert all(followup_names[n][0][0] in ("Follow-up", "Earlier actions") for n in added)
    # The added sheets are protected and their cells locked: the earlier audit is there to read, not to change.
    for sheet in ("Follow-up", "Earlier actions"):
        ws = followup_wb[sheet]
        assert ws.protection.sheet
        assert all(c.protection.locked for row in ws.iter_rows() for c in row)
    assert followup_wb.sheetnames[:2] == ["Audit form", "Follow-up"]
