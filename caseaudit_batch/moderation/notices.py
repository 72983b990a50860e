"""What a moderation run makes: its moderation forms, the outcome and feedback notices, and the
moderators' reminders (the kit they share)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from caseaudit_batch.allocation.notices import sender_from_register
from caseaudit_batch.core import messages
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.clock import Month
from caseaudit_batch.core.notify import Outbox, notice_message_id, render_notice, stage_notice, template_env
from caseaudit_batch.ingest import feedback
from caseaudit_batch.ingest import files as inbox_files
from caseaudit_batch.moderation import form as moderation_form
from caseaudit_batch.moderation import ingest as moderation_ingest
from caseaudit_batch.moderation import policy as moderation
from caseaudit_batch.moderation import register as moderation_register
from caseaudit_batch.session import Context, Result, Run
from caseaudit_batch.workbook import forms


@dataclass
class ModerationKit:
    """What the moderation steps of one run share: people, the outbox, notice templates, the sender."""

    people: feedback.People
    outbox: Outbox
    env: Any
    sender: str
    organisation: str
    password: str
    hos_quality_assurance: str | None
    qa_officer: Any
    attention: list[str] = field(default_factory=list)
    #: ``notices`` rows made and not yet written: written together by :meth:`flush` (in the order made, so their
    #: IDs are as they were one by one), before anything reads the table and when the run's notices are done.
    rows: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def open(cls, ctx: Context, run: Run) -> ModerationKit:
        people = feedback.People.load(run.conn)
        return cls(
            people=people,
            outbox=Outbox(ctx.config.output_dir),
            env=template_env(ctx.config.template("notices", "notices")),
            sender=sender_from_register(ctx, run.conn),
            organisation=ctx.config.organisation,
            password=forms.form_password(ctx.config),
            hos_quality_assurance=ctx.config.people.hos_quality_assurance or None,
            qa_officer=people.get(ctx.config.people.qa_officer),
        )

    def notice(
        self,
        ctx: Context,
        run: Run,
        template: str,
        kind: str,
        to: list[str],
        cc: list[str],
        month: str,
        audit_id: str,
        eml: Path,
        attachments: Sequence[tuple[str, bytes]],
        context: dict[str, object],
    ) -> None:
        notice = render_notice(self.env, template, kind, to, cc, organisation=self.organisation, **context)
        notice.attachments.extend(attachments)
        made_at = ctx.clock.now_iso()
        stage_notice(run.staging, self.outbox, month, eml, notice, self.sender, made_at)
        self.rows.append(
            dict(
                kind=notice.kind,
                month=month,
                audit_id=audit_id,
                to_addr="; ".join(notice.to),
                cc_addr="; ".join(notice.cc),
                subject=notice.subject,
                file=eml.relative_to(ctx.config.output_dir).as_posix(),
                made_at=made_at,
                message_id=notice_message_id(ctx.config.output_dir, month, eml, self.sender),
            )
        )

    def flush(self, run: Run) -> None:
        """Write the ``notices`` rows made so far, in one statement (a moderation run makes hundreds)."""
        if self.rows:
            run.conn.execute(sa.insert(reg.notices), self.rows)
            self.rows = []

    def finish(self, run: Run) -> None:
        """The run's notices done: their register rows written, and the outbox listing staged."""
        self.flush(run)
        self.outbox.write(run.staging)


def resolution_notice(ctx: Context, run: Run, done: dict[str, Any], note: str) -> None:
    """The Head of Service's decision goes to the auditor and the case's team manager, as the moderation outcome
    did (guidance section 2: the outcome is shared with them)."""
    kit = ModerationKit.open(ctx, run)
    facts = moderation_register.audit_facts(run.conn, audit_ids=[done["audit_id"]])
    if not facts:
        return
    audit = facts[0]
    who = kit.people.case_people(audit.case_ref)
    recipients = [p for p in (kit.people.get(audit.auditor_id), who["team_manager"]) if p]
    eml = (
        _moderation_folder(ctx, audit.month)
        / "notices"
        / forms.notice_filename(audit.audit_ref, audit.case_ref, f"{done['escalation_id']}-resolved")
    )
    kit.notice(
        ctx,
        run,
        "moderation_resolved",
        "escalation_resolved",
        feedback.addresses(*recipients),
        feedback.addresses(kit.qa_officer),
        audit.month,
        audit.audit_id,
        eml,
        [],
        {
            **_moderation_context(audit),
            "recipients_names": " and ".join(p.name for p in recipients) or "colleague",
            "escalation_id": done["escalation_id"],
            "escalation_kind": done["kind"],
            "final_grade": done["grade"] or "",
            "note": note.strip(),
        },
    )
    kit.finish(run)


def _moderation_context(facts: moderation_register.AuditFacts) -> dict[str, object]:
    pre = facts.prefilled
    return {
        "audit_id": facts.audit_id,
        "audit_ref": facts.audit_ref,
        "case_ref": facts.case_ref,
        "team": pre.get("team", ""),
        "service": pre.get("service", ""),
        "auditor_name": facts.auditor_name,
        "team_manager": pre.get("team_manager", ""),
        "audit_month_label": Month.parse(facts.month).label,
    }


def _shown_date(value: object) -> str:
    """A date as people in England read it (31/10/2026); other text as it is."""
    if isinstance(value, str) and len(value) >= 10:
        try:
            return f"{date.fromisoformat(value[:10]):%d/%m/%Y}"
        except ValueError:
            return value
    return "" if value is None else str(value)


def _moderation_folder(ctx: Context, month: str) -> Path:
    return ctx.config.output_dir / month / "moderation"


def outcome_notices(
    ctx: Context,
    run: Run,
    kit: ModerationKit,
    entry: inbox_files.Entry,
    recorded: moderation_register.RecordedModeration,
) -> None:
    """Guidance section 2: the outcome goes to the auditor and the case's team manager; guidance section 3: each
    escalation goes to its Head of Service with the form."""
    facts, outcome = recorded.audit, recorded.outcome
    check = entry.check
    assert isinstance(check, moderation_ingest.ModerationCheck)
    answers = check.answers
    who = kit.people.case_people(facts.case_ref)
    auditor = kit.people.get(facts.auditor_id)
    moderator = kit.people.get(check.moderator_id)
    titles = {s.number: s.short for s in ctx.framework.sections}
    changed = [
        {
            "number": n,
            "title": titles[n],
            "auditor": a.name if a else "(none)",
            "moderated": b.name if b else "(none)",
        }
        for n, (a, b) in sorted(outcome.changed_sections.items())
    ]
    escalations = {e["kind"]: e for e in recorded.escalations}
    context: dict[str, object] = {
        **_moderation_context(facts),
        "moderator_name": answers.get("moderator_name") or (moderator.name if moderator else ""),
        "auditor_grade": outcome.auditor_overall.name if outcome.auditor_overall else "(none)",
        "moderated_grade": outcome.moderated_overall.name if outcome.moderated_overall else "(none)",
        "direction": outcome.direction,
        "changed_sections": changed,
        "rationale": answers.get("m_rationale") or "",
        "actions_comment": answers.get("m_actions_comment") or "",
        "grade_agreed": outcome.grade_agreed,
        "actions_agreed": outcome.actions_agreed,
        "grade_escalation": escalations.get("grade", {}).get("escalation_id", "see the report"),
        "actions_escalation": escalations.get("actions", {}).get("escalation_id", "see the report"),
        "additional_actions": [
            {"action": a.action, "owner": a.owner, "due": _shown_date(a.due_date)} for a in outcome.additional_actions
        ],
    }
    folder = _moderation_folder(ctx, facts.month) / "notices"
    stem = forms.audit_stem(facts.audit_ref, facts.case_ref, str(entry.submission_id))
    recipients = [p for p in (auditor, who["team_manager"]) if p]
    kit.notice(
        ctx,
        run,
        "moderation_outcome",
        "moderation_outcome",
        feedback.addresses(*recipients),
        feedback.addresses(kit.qa_officer),
        facts.month,
        facts.audit_id,
        folder / f"{stem}-outcome.eml",
        [],
        {**context, "recipients_names": " and ".join(p.name for p in recipients) or "colleague"},
    )
    form = [(entry.path.name, entry.data)] if entry.data else []
    for escalation in recorded.escalations:
        head = kit.people.get(escalation["to_staff_id"])
        if head is None or not head.email:
            code = "MOD021" if escalation["kind"] == moderation.ESCALATION_GRADE else "MOD022"
            kit.attention.append(
                messages.render(
                    code, escalation_id=escalation["escalation_id"], audit_id=facts.audit_id, case_ref=facts.case_ref
                )
            )
            continue
        kit.notice(
            ctx,
            run,
            "moderation_escalation",
            "escalation",
            [head.email],
            feedback.addresses(kit.qa_officer),
            facts.month,
            facts.audit_id,
            folder
            / forms.notice_filename(facts.audit_ref, facts.case_ref, f"{escalation['escalation_id']}-escalation"),
            form,
            {
                **context,
                "head_of_service": head.name,
                "escalation_id": escalation["escalation_id"],
                "escalation_kind": escalation["kind"],
            },
        )


def moderation_feedback(ctx: Context, run: Run, kit: ModerationKit, entries: Sequence[inbox_files.Entry]) -> None:
    """A feedback workbook and notice to the moderator for each returned form and each accepted one with warnings."""
    for e in entries:
        check = e.check
        if e.known or not isinstance(check, moderation_ingest.ModerationCheck) or not e.problems:
            continue
        facts = check.audit
        stem = forms.audit_stem(facts.audit_ref, facts.case_ref, str(e.submission_id))
        book = feedback.feedback_workbook(e.rel, facts.audit_ref, facts.case_ref, e.outcome, e.problems)
        final = _moderation_folder(ctx, facts.month) / "feedback" / f"{stem}-feedback.xlsx"
        run.staging.write_bytes(final, book)
        moderator = kit.people.get(check.moderator_id)
        kit.notice(
            ctx,
            run,
            "moderation_feedback",
            "moderation_feedback",
            feedback.addresses(moderator),
            [],
            facts.month,
            facts.audit_id,
            final.with_suffix(".eml"),
            [(final.name, book)],
            {
                **_moderation_context(facts),
                "moderator_name": check.answers.get("moderator_name") or (moderator.name if moderator else "colleague"),
                "returned": e.outcome == "returned",
                "file": e.rel,
                "problems": [
                    {
                        "severity": p.severity,
                        "where": p.where,
                        "found": feedback.shown(p.found),
                        "message": p.message,
                        "fix": p.fix,
                    }
                    for p in e.problems
                ],
            },
        )


def make_moderation_forms(ctx: Context, run: Run, kit: ModerationKit, month: str, result: Result) -> list[str]:
    """One moderation form per sampled audit with a moderator and no form yet, and the request to the moderator."""
    t = reg.moderation_sample
    rows = [
        r
        for r in moderation_register.load_sample(run.conn, month)
        if r.status == moderation.SAMPLED and r.moderator_id and not r.form_file
    ]
    if not rows:
        return []
    facts = {f.audit_id: f for f in moderation_register.audit_facts(run.conn, audit_ids=[r.audit_id for r in rows])}
    made: list[str] = []
    for row in rows:
        audit = facts.get(row.audit_id)
        if audit is None:
            continue
        prefilled = moderation_form.prefilled_values(ctx.framework, audit.prefilled, audit.answers)
        data = forms.render_moderation_form(
            ctx.framework,
            kit.organisation,
            {name: value for name, value in prefilled.items() if value is not None},
            {
                "audit_id": audit.audit_id,
                "month": audit.month,
                "case_ref": audit.case_ref,
                "auditor_id": row.moderator_id,
            },
            moderation_form.auditor_actions(audit.answers),
            password=kit.password,
            evidence=audit.answers,
        )
        path = _moderation_folder(ctx, month) / forms.moderation_filename(audit.audit_ref, audit.case_ref)
        run.staging.write_bytes(path, data)
        relative = path.relative_to(ctx.config.output_dir).as_posix()
        run.conn.execute(sa.update(t).where(t.c.id == row.id).values(form_file=relative))
        made.append(relative)
        result.outputs.append(path)
        moderator = kit.people.get(row.moderator_id)
        if moderator is None or not moderator.email:
            kit.attention.append(messages.render("MOD023", staff_id=row.moderator_id, audit_id=row.audit_id))
            continue
        kit.notice(
            ctx,
            run,
            "moderation_request",
            "moderation_request",
            [moderator.email],
            feedback.addresses(kit.qa_officer),
            month,
            audit.audit_id,
            path.with_name(path.stem + "-request.eml"),
            [(path.name, data)],
            {
                **_moderation_context(audit),
                "moderator_name": moderator.name,
                "due_date": f"{row.due_date:%d/%m/%Y}" if row.due_date else "",
                "form_file": path.name,
            },
        )
    return made


def remind_moderators(ctx: Context, run: Run, kit: ModerationKit, month: str, days_before: int) -> list[str]:
    """A reminder once the due date is near (or passed) for each form not yet returned; once per audit."""
    kit.flush(run)  # the notices table is read below
    moderated = {r[0] for r in run.conn.execute(sa.select(reg.moderations.c.audit_id))}
    reminded = {
        r[0]
        for r in run.conn.execute(sa.select(reg.notices.c.audit_id).where(reg.notices.c.kind == "moderation_reminder"))
    }
    sent: list[str] = []
    for row in moderation_register.load_sample(run.conn, month):
        if row.status != moderation.SAMPLED or not row.form_file or not row.due_date or not row.moderator_id:
            continue
        if row.audit_id in moderated or row.audit_id in reminded:
            continue
        if not moderation.reminder_due(ctx.clock.today, row.due_date, days_before):
            continue
        moderator = kit.people.get(row.moderator_id)
        facts = moderation_register.audit_facts(run.conn, audit_ids=[row.audit_id])
        if moderator is None or not moderator.email or not facts:
            continue
        path = ctx.config.output_dir / row.form_file
        kit.notice(
            ctx,
            run,
            "moderation_reminder",
            "moderation_reminder",
            [moderator.email],
            feedback.addresses(kit.qa_officer),
            month,
            row.audit_id,
            path.with_name(path.stem + "-reminder.eml"),
            [],
            {
                **_moderation_context(facts[0]),
                "moderator_name": moderator.name,
                "due_date": f"{row.due_date:%d/%m/%Y}",
                "overdue": ctx.clock.today > row.due_date,
                "form_file": path.name,
            },
        )
        sent.append(row.audit_id)
    return sent
