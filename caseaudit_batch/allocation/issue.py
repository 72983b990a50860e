"""Issuing one allocation: its audit ID, its pre-filled form, its register row and its notice."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from caseaudit_batch.allocation.allocate import (
    review_period,
    three_way_meeting,
)
from caseaudit_batch.allocation.notices import long_date, notice_row
from caseaudit_batch.allocation.roster import (
    Case,
    Person,
    Roster,
)
from caseaudit_batch.core import ids
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.clock import Month
from caseaudit_batch.core.errors import EXIT_DATAERR, CaseauditError
from caseaudit_batch.core.notify import Notice, Outbox, render_notice, stage_notice
from caseaudit_batch.followups.register import PreviousAudit, previous_audit
from caseaudit_batch.session import Context, Run
from caseaudit_batch.workbook import forms


def _make_form(ctx: Context, prefilled: Mapping[str, object], meta: Mapping[str, str]) -> bytes:
    """The pre-filled audit form as bytes (stamped into the cached template for this framework version)."""
    return forms.render_audit_form(
        ctx.framework, ctx.config.organisation, prefilled, meta, password=forms.form_password(ctx.config)
    )


class NoEligibleCase(CaseauditError):
    """A reassignment found no other case for the auditor: exit 65."""

    exit_code = EXIT_DATAERR


@dataclass
class Issuer:
    """Makes one allocation: audit ID, pre-filled values, form, register row and its notice (all staged)."""

    ctx: Context
    run: Run
    month: Month
    roster: Roster
    outbox: Outbox
    env: jinja2.Environment
    sender: str
    forms_made: int = 0
    notices_made: int = 0
    three_way: int = 0
    next_number: int = 0  # the month's next audit reference number (0: not read from the register yet)
    # Rows waiting for :meth:`flush`, each table's in the order made: a month's allocation is a thousand audits,
    # and a statement each for the allocation, its notice and its notes was most of the register's time.
    _allocations: list[dict[str, Any]] = field(default_factory=list)
    _notes: list[dict[str, Any]] = field(default_factory=list)
    _notices: list[dict[str, Any]] = field(default_factory=list)
    _issued: set[str] = field(default_factory=set)
    _taken: set[str] | None = None

    @property
    def folder(self) -> Path:
        return self.ctx.config.output_dir / str(self.month)

    def prefilled(self, audit_id: str, audit_ref: str, person: Person, case: Case) -> dict[str, object]:
        """The 16 pre-filled contract fields; people by name (issue 3)."""
        service_manager = self.roster.service_manager_for(case)
        return {
            "audit_ref": audit_ref,
            "audit_id": audit_id,
            "audit_month": str(self.month),
            "due_date": self.month.last_day,
            "case_ref": case.case_ref,
            "case_type": case.case_type,
            "service": case.service,
            "team": case.team,
            "social_worker": self.roster.name(case.social_worker_id),
            "team_manager": self.roster.name(case.team_manager_id),
            "service_manager": service_manager.name if service_manager else "",
            "cp_iro": self.roster.name(case.cp_iro_id),
            "auditor_name": person.name,
            "auditor_role": person.role,
            "previous_worker": self.roster.name(case.previous_worker_id),
            "review_period": review_period(self.month),
        }

    def issue(
        self,
        person: Person,
        case: Case,
        batch_id: int,
        template: str,
        extra: Mapping[str, object] | None = None,
        followup: PreviousAudit | None = None,
        followup_reason: str = "",
    ) -> str:
        """One allocation; with ``followup``, a follow-up audit of that earlier audit (issue 11)."""
        conn, month = self.run.conn, str(self.month)
        allocations = reg.allocations

        def exists(candidate: str) -> bool:
            if self._taken is None:  # the register's audit IDs, read once (seeded IDs ask for every new audit)
                self._taken = set(conn.execute(sa.select(allocations.c.audit_id)).scalars())
            return candidate in self._issued or candidate in self._taken  # or issued in this run, not yet written

        audit_id = self.ctx.ids.audit_id(month, case.case_ref, person.staff_id, batch_id, exists=exists)
        audit_ref = self.audit_ref()
        prefilled = self.prefilled(audit_id, audit_ref, person, case)
        meta = {
            "form_kind": "audit",
            "audit_id": audit_id,
            "framework_version": self.ctx.framework.version,
            "generator_version": forms.GENERATOR_VERSION,
            "month": month,
            "case_ref": case.case_ref,
            "auditor_id": person.staff_id,
        }
        filename = forms.form_filename(month, audit_ref, case.case_ref, person.name)
        if followup is None:
            form = _make_form(self.ctx, prefilled, meta)
        else:
            form = forms.render_followup_form(
                self.ctx.framework,
                self.ctx.config.organisation,
                prefilled,
                meta,
                _followup_values(followup, followup_reason),
                followup.actions,
                password=forms.form_password(self.ctx.config),
            )
        self.run.staging.write_bytes(self.folder / filename, form)
        form_file = filename
        self.forms_made += 1
        stored = dict(prefilled, due_date=self.month.last_day.isoformat())
        now = self.ctx.clock.now_iso()
        self._issued.add(audit_id)
        self._allocations.append(
            dict(
                audit_id=audit_id,
                audit_ref=audit_ref,
                month=month,
                staff_id=person.staff_id,
                case_ref=case.case_ref,
                due_date=self.month.last_day,
                kind="audit" if followup is None else "followup",
                followup_of=None if followup is None else followup.audit_id,
                status="allocated",
                framework_version=self.ctx.framework.version,
                prefilled=stored,
                form_file=form_file,
                batch_id=batch_id,
                created_at=now,
            )
        )
        three_way = three_way_meeting(case, self.roster, self.ctx.clock.today)
        if three_way:
            self.three_way += 1
            self.note(
                batch_id,
                "three_way",
                person.staff_id,
                audit_id,
                f"case {case.case_ref} re-allocated on "
                f"{case.allocated_on:%d/%m/%Y}; previous worker {self.roster.name(case.previous_worker_id)}",
            )
        context = dict(prefilled)
        context.update(
            organisation=self.ctx.config.organisation,
            month_label=self.month.label,
            due_date=long_date(self.month.last_day),
            form_file=form_file or "",
            three_way=three_way,
            allocated_on=f"{case.allocated_on:%d/%m/%Y}" if case.allocated_on else "",
            followup=followup is not None,
            previous_month_label=Month.parse(followup.month).label if followup and followup.month else "",
            previous_grade=followup.overall_grade if followup else "",
        )
        context.update(extra or {})
        notice = render_notice(
            self.env,
            template,
            template,
            [person.email],
            [self.roster.email(case.social_worker_id), self.roster.email(case.team_manager_id)],
            **context,
        )
        if form is not None:
            notice.attachments.append((filename, form))
        self.send(notice, audit_id, forms.notice_filename(audit_ref, case.case_ref, f"{person.name}_{template}"))
        return audit_id

    def audit_ref(self) -> str:
        """The next readable reference of the month (``YYYY-MM-NNNN``), in allocation order."""
        if not self.next_number:
            self.next_number = reg.next_audit_number(self.run.conn, str(self.month))
        self.next_number += 1
        return ids.audit_reference(str(self.month), self.next_number - 1)

    def send(self, notice: Notice, audit_id: str, name: str) -> None:
        made_at = self.ctx.clock.now_iso()
        path = self.folder / "notices" / name
        stage_notice(self.run.staging, self.outbox, str(self.month), path, notice, self.sender, made_at)
        self._notices.append(notice_row(str(self.month), audit_id, notice, path, made_at, self.sender))
        self.notices_made += 1

    def note(self, batch_id: int | None, kind: str, staff_id: str | None, audit_id: str | None, detail: str) -> None:
        self._notes.append(
            dict(
                batch_id=batch_id,
                month=str(self.month),
                kind=kind,
                staff_id=staff_id,
                audit_id=audit_id,
                detail=detail,
                created_at=self.ctx.clock.now_iso(),
            )
        )

    def flush(self) -> None:
        """Write the waiting rows: allocations first (notes and notices name them), one statement per table.
        Call before anything reads them back."""
        conn = self.run.conn
        for table, rows in ((reg.allocations, self._allocations), (reg.allocation_notes, self._notes)):
            if rows:
                conn.execute(sa.insert(table), rows)
        if self._notices:
            conn.execute(sa.insert(reg.notices), self._notices)
        self._allocations, self._notes, self._notices = [], [], []


def followup_kept(ctx: Context, conn: Connection, old: Any, same_case: bool) -> dict[str, Any]:
    """A follow-up passed to another auditor stays a follow-up of the same audit (a new case does not)."""
    if not same_case or old.kind != "followup" or not old.followup_of:
        return {}
    earlier = previous_audit(conn, ctx.framework, old.followup_of)
    after_months = ctx.config.allocation.followup_after_months
    return {"followup": earlier, "followup_reason": earlier.reason(after_months)}


def _followup_values(previous: PreviousAudit, reason: str) -> dict[str, object]:
    """The follow-up form's pre-filled names (docs/reference/files.md: "The follow-up form")."""
    values: dict[str, object] = {
        "followup_of": previous.audit_id,
        "previous_audit_month": Month.parse(previous.month).label if previous.month else "",
        "previous_auditor": previous.auditor_name,
        "previous_date_completed": previous.date_completed,
        "followup_reason": reason,
        "previous_grades_from": previous.grades_from,
        "previous_overall_grade": previous.overall_grade or "",
        "previous_actions_summary": previous.actions_summary,
    }
    for number in range(1, 10):
        values[f"previous_s{number}_grade"] = previous.section_grades.get(number) or ""
    return values
