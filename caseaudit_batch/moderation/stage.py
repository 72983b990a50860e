"""The moderation command: ``moderate`` (the sample, its forms, the returns, and escalations), and the
month-end run's moderation step."""

from __future__ import annotations

import sqlalchemy as sa

from caseaudit_batch.actions import sync as action_sync
from caseaudit_batch.allocation.notices import empty_people
from caseaudit_batch.core import messages, ui
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.clock import Month
from caseaudit_batch.core.config import Config
from caseaudit_batch.core.errors import EXIT_DATAERR, ConfigError
from caseaudit_batch.core.framework import Framework
from caseaudit_batch.ingest import files as inbox_files
from caseaudit_batch.ingest.summary import summary_lines
from caseaudit_batch.moderation import escalations
from caseaudit_batch.moderation import ingest as moderation_ingest
from caseaudit_batch.moderation import policy as moderation
from caseaudit_batch.moderation import register as moderation_register
from caseaudit_batch.moderation.notices import (
    ModerationKit,
    make_moderation_forms,
    moderation_feedback,
    outcome_notices,
    remind_moderators,
    resolution_notice,
)
from caseaudit_batch.moderation.register import ModerationError
from caseaudit_batch.session import Context, Result, Run, current_user, require_inboxes, writing


def moderation_policy(config: Config, framework: Framework) -> moderation.SamplingPolicy:
    """``[moderation]`` checked: every grade in ``always`` must be one of the framework's grades."""
    policy = moderation.SamplingPolicy.from_settings(config.moderation)
    for name in policy.always:
        if name not in framework.grade_names:
            raise ConfigError(
                "CFG003",
                path=str(config.path),
                key="moderation.always",
                found=repr(name),
                what="it is not one of the four grades",
                expected='a list of grades, e.g. ["Outstanding", "Inadequate"]',
            )
    return policy


def moderate(
    ctx: Context,
    month: Month | str,
    *,
    add: str | None = None,
    remove: str | None = None,
    resolve: str | None = None,
    note: str | None = None,
    grade: str | None = None,
) -> Result:
    """``caseaudit moderate``: read returned moderation forms, apply --add/--remove, draw (or top up) the month's
    sample, make moderation forms and notices, remind moderators; or, with --resolve, record an escalation's outcome.
    Each run considers audits accepted since the last one."""
    the_month = str(Month.coerce(month))
    if (note is not None or grade is not None) and not resolve:
        raise ModerationError("MOD016")
    if add and remove and add.strip() == remove.strip():
        raise ModerationError("MOD005", audit_id=add)
    policy = moderation_policy(ctx.config, ctx.framework)
    settings = ctx.config.moderation
    moderators = list(ctx.config.people.moderators)
    due = moderation.moderation_due_date(ctx.clock.today, settings.due_days)
    now = ctx.clock.now_iso()
    user = current_user()
    arguments = {"month": the_month, "add": add, "remove": remove, "resolve": resolve, "grade": grade}
    result = Result("moderate")
    if resolve:
        with writing(ctx, "moderate", arguments) as run:
            done = moderation_register.resolve_escalation(run.conn, ctx.framework, resolve, note or "", grade, now=now)
            resolution_notice(ctx, run, done, note or "")
        result.data["resolved"] = done
        final = messages.text("SUM031", audit_id=done["audit_id"], grade=done["grade"]) if done["grade"] else ""
        result.lines.append(
            messages.text("SUM030", escalation_id=done["escalation_id"], kind=done["kind"], final=final)
        )
        return result
    require_inboxes(ctx.config)
    with writing(ctx, "moderate", arguments) as run:
        kit = ModerationKit.open(ctx, run)
        entries = _ingest_moderation_forms(ctx, run, kit, the_month, result)
        # Either may be typed as an audit reference (2026-09-0014) or an audit ID; messages show what was typed.
        if remove:
            removing = reg.audit_id_for(run.conn, remove)
            moderation_register.remove_audit(run.conn, the_month, removing, now=now, user=user, run_id=run.run_id)
            result.lines.append(messages.text("SUM032", audit_id=remove.strip(), month=the_month))
        if add:
            adding = reg.audit_id_for(run.conn, add)
            added = moderation_register.add_audit(
                run.conn, the_month, adding, moderators, due, now=now, user=user, run_id=run.run_id
            )
            result.lines.append(
                messages.text("SUM033" if added.added else "SUM034", audit_id=add.strip(), month=the_month)
            )
        moderation_register.assign_missing(run.conn, the_month, moderators, due)
        drawn = moderation_register.draw_sample(
            run.conn, the_month, policy, moderators, due, now=now, user=user, run_id=run.run_id
        )
        made = make_moderation_forms(ctx, run, kit, the_month, result)
        reminded = remind_moderators(ctx, run, kit, the_month, settings.reminder_days_before)
        chased = escalations.remind_heads_of_service(ctx, run, kit, settings.escalation_working_days)
        kit.finish(run)
        sample = moderation_register.load_sample(run.conn, the_month)
        moderated = {
            r[0]
            for r in run.conn.execute(sa.select(reg.moderations.c.audit_id).where(reg.moderations.c.current.is_(True)))
        }
        open_escalations = escalations.open_escalations(run.conn, settings.escalation_working_days)
        listed = escalations.listing(run.conn, the_month, ctx.clock.today, settings.escalation_working_days)
        run.inputs = {"moderation_inbox": inbox_files.counts(entries) if entries else {}, "sampled": len(sample)}
    sampled = [r for r in sample if r.status == moderation.SAMPLED]
    result.data.update(
        {
            "month": the_month,
            "drawn": drawn.added,
            "forms": made,
            "reminders": reminded,
            "entries": entries,
            "open_escalations": [esc.escalation_id for esc in open_escalations],
            "escalation_reminders": chased,
            "sample": [
                {
                    "audit_id": r.audit_id,
                    "reason": r.reason,
                    "moderator_id": r.moderator_id,
                    "due_date": r.due_date.isoformat() if r.due_date else None,
                    "status": r.status,
                    "form_file": r.form_file,
                    "moderated": r.audit_id in moderated,
                }
                for r in sample
            ],
        }
    )
    result.lines.append(
        messages.text(
            "SUM035",
            month=the_month,
            sampled=len(sampled),
            drawn=len(drawn.added),
            moderated=sum(1 for r in sampled if r.audit_id in moderated),
            forms=len(made),
            reminders=len(reminded),
        )
    )
    for row in sampled:
        state = messages.text("SUM037") if row.audit_id in moderated else messages.text("SUM038", date=row.due_date)
        moderator = row.moderator_id or messages.text("SUM039")
        result.lines.append(
            messages.text("SUM036", audit_id=row.audit_id, reason=row.reason, moderator=moderator, state=state)
        )
    unmoderated = sorted({r.audit_id for r in sampled if not r.moderator_id})
    for audit_id in unmoderated:
        result.attention.append(messages.render("MOD020", audit_id=audit_id, month=the_month))
    # Issue 24: set-up that cannot be half done. An empty key is said at once; sampled audits that no moderator
    # can take leave the month's moderation undone, which is not "all well" (exit 65).
    result.attention += empty_people(ctx)
    if unmoderated:
        result.exit_code = EXIT_DATAERR
    result.lines += listed
    if chased:
        result.lines.append(messages.text("MOD043", count=len(chased)))
    result.attention += kit.attention
    if any(not e.known and e.outcome in inbox_files.NEW_FILE_PROBLEMS for e in entries):
        result.exit_code = EXIT_DATAERR
    return result


def _ingest_moderation_forms(
    ctx: Context, run: Run, kit: ModerationKit, filed: str, result: Result
) -> list[inbox_files.Entry]:
    """Every file in the moderation inbox gets one outcome (the ingest stage's accounting, safety checks and
    manifest); accepted forms are merged into the register, with outcome and escalation notices."""
    conn = run.conn
    folder = ctx.config.inbox("moderation")
    book = moderation_ingest.ModerationBook.load(conn, ctx.framework, ctx.config.validation, ctx.config.privacy)
    entries = inbox_files.gather(conn, "moderation", folder)
    if not entries:
        return entries
    pending = [e for e in entries if e.pending]
    for entry in ui.progress(pending, "Reading moderation forms", total=len(pending)):
        moderation_ingest.check_moderation_safely(entry, book)
    ordered = moderation_ingest.in_order(entries)
    latest = {e.audit_id: e for e in ordered}
    for e in ordered:
        if latest[e.audit_id] is not e:
            e.outcome = "superseded"
            e.codes.append("MOD031")
            e.message = messages.text("MOD031", audit_id=e.audit_id, other=latest[e.audit_id].rel)
    seen_at = ctx.clock.now_iso()
    inbox_files.record_submissions(conn, run.run_id, "moderation", filed, entries, seen_at)
    m = reg.moderations
    managers = moderation_register.line_managers(conn)  # read once for every moderation in this run
    for e in ordered:
        check = e.check
        assert isinstance(check, moderation_ingest.ModerationCheck) and e.submission_id is not None
        previous = conn.execute(
            sa.select(m.c.submission_id).where(m.c.audit_id == e.audit_id, m.c.current.is_(True))
        ).scalar_one_or_none()
        recorded = moderation_register.record_moderation(
            conn,
            ctx.framework,
            e.audit_id,
            check.answers,
            submission_id=e.submission_id,
            hos_quality_assurance=kit.hos_quality_assurance,
            now=seen_at,
            moderator_id=check.moderator_id,
            moderation_date=check.moderation_date,
            managers=managers,
            audit=check.audit,  # read by ModerationBook.load in this transaction; audits are not written here
        )
        if previous is not None:
            conn.execute(
                sa.update(reg.submissions)
                .where(reg.submissions.c.id == previous)
                .values(outcome="superseded", message=messages.text("MOD031", audit_id=e.audit_id, other=e.rel))
            )
        if e.outcome == "accepted":
            outcome_notices(ctx, run, kit, e, recorded)
    # Additional actions join the action register, marked as from moderation (guidance section 2).
    action_sync.sync_from_register(conn, ctx.clock)
    moderation_feedback(ctx, run, kit, entries)
    manifest = inbox_files.manifest_path(ctx.config.output_dir, filed, "moderation", ctx.clock.timestamp())
    run.staging.write_bytes(manifest, inbox_files.manifest_bytes(entries))
    result.outputs.append(manifest)
    tally = inbox_files.counts(entries)
    result.lines += summary_lines(entries, tally, first="SUM042")
    result.lines.append(messages.text("SUM043", manifest=manifest.name))
    return entries


def ingest_moderation_returns(ctx: Context, month: Month | str) -> Result:
    """The month-end run's moderation step: the returned moderation forms in the moderation inbox read and merged,
    exactly as ``moderate`` reads them, without drawing a sample or making forms (``moderate`` does those)."""
    require_inboxes(ctx.config)
    result = Result("run")
    month = str(Month.coerce(month))
    with writing(ctx, "run", {"month": month, "step": "moderation returns"}) as run:
        kit = ModerationKit.open(ctx, run)
        entries = _ingest_moderation_forms(ctx, run, kit, month, result)
        working_days = ctx.config.moderation.escalation_working_days
        chased = escalations.remind_heads_of_service(ctx, run, kit, working_days)
        kit.finish(run)
        run.inputs = {"moderation_inbox": inbox_files.counts(entries) if entries else {}}
    if not entries:
        result.lines.append(messages.text("RUN007", inbox="moderation"))
    if chased:
        result.lines.append(messages.text("MOD043", count=len(chased)))
    result.attention += kit.attention
    result.data = {"counts": inbox_files.counts(entries) if entries else {}, "escalation_reminders": chased}
    if any(not e.known and e.outcome in inbox_files.NEW_FILE_PROBLEMS for e in entries):
        result.exit_code = EXIT_DATAERR
    return result
