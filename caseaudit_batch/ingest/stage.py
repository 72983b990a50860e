"""The ingest commands: ``ingest`` (the audits inbox) and ``check`` (files checked, nothing recorded)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from caseaudit_batch.actions import sync as action_sync
from caseaudit_batch.allocation.notices import QA_ONLY, empty_people, notice_env, sender_from_register
from caseaudit_batch.core import apart, messages, sending
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.clock import Month
from caseaudit_batch.core.errors import EXIT_DATAERR, ConfigError
from caseaudit_batch.core.notify import Outbox
from caseaudit_batch.ingest import alerts, feedback
from caseaudit_batch.ingest import files as inbox_files
from caseaudit_batch.ingest import notices as ingest_notices
from caseaudit_batch.ingest import record as ingest
from caseaudit_batch.ingest.summary import first_fix, summary_lines
from caseaudit_batch.session import Context, Result, current_user, require_inboxes, writing

#: Problem rows from which the QA workbook is written in a child process (below, about 20 ms of writing: a child's
#: start and hand-back cost a few).
VALIDATION_APART_FROM = 200


def _audit_book(ctx: Context, conn: Connection) -> ingest.AuditBook:
    return ingest.AuditBook.load(conn, ctx.framework, ctx.config.validation, ctx.config.privacy)


def ingest_inbox(ctx: Context, month: Month | str | None = None) -> Result:
    """``caseaudit ingest``: read every file in the audits inbox, give each one outcome, raise safeguarding alerts at
    once, share accepted audits, feed back on returned and flagged ones, and write the manifest and QA workbook."""
    require_inboxes(ctx.config)
    filed = str(Month.coerce(month)) if month else str(Month.of(ctx.clock.today))
    folder = ctx.config.inbox("audits")
    result = Result("ingest")
    with writing(ctx, "ingest", {"month": filed}) as run:
        conn = run.conn
        book = _audit_book(ctx, conn)
        out = ctx.config.output_dir
        outbox = Outbox(out)
        notices = ingest_notices.Notices(
            conn=conn,
            staging=run.staging,
            outbox=outbox,
            clock=ctx.clock,
            output_dir=out,
            people=feedback.People.load(conn),
            env=notice_env(ctx),
            sender=sender_from_register(ctx, conn),
            organisation=ctx.config.organisation,
            qa_officer=ctx.config.people.qa_officer,
            return_instructions=ctx.config.notices.return_instructions,
        )
        # The workers that check the forms also make their feedback workbooks and notices (on both cores), and
        # begin on the first forms while the rest are still being listed.
        listing = inbox_files.gather_each(conn, "audits", folder)
        entries = ingest.check_audits(listing, book, drafter=notices.draft, keep=notices.keep)
        standing = ingest.standing_versions(
            conn, [e.audit_id for e in entries if e.outcome in ("accepted", "returned")]
        )
        displaced = ingest.settle_versions(entries, standing)
        seen_at = ctx.clock.now_iso()
        inbox_files.record_submissions(conn, run.run_id, "audits", filed, entries, seen_at)
        ingest.record_audits(conn, entries, displaced, seen_at)
        # The QA workbook shows what is now recorded. A large month's is written apart, on the other core, while
        # this process stages the notices and brings the action register up to date (issue 25: each took a few
        # tenths of a second of a 1,000-form month, one after the other, on one core).
        content = ingest_notices.validation_content(conn, filed)
        write_apart = len(content[2]) >= VALIDATION_APART_FROM

        def validation_workbook() -> bytes:
            return feedback.validation_workbook(filed, *content)

        with apart.started(validation_workbook, folder=out) if write_apart else nullcontext() as writing_apart:
            timestamp = ctx.clock.timestamp()
            alerts = notices.alerts(entries, timestamp)
            shared = notices.share(entries)
            fed_back = notices.give_feedback(entries)
            for e in entries:  # all staged by now: the result (the demo keeps a year of them) holds no attachments
                e.data, e.feedback, e.drafted = None, None, {}
            # Guidance section 2: actions are tracked from the moment an audit is received, so the action register
            # follows every newly accepted version in the same transaction (a report straight after sees them).
            # After the notices, which do not depend on it: the staging threads write their files meanwhile, where
            # before the command waited for them at its end (issue 25).
            action_catch_up = action_sync.sync_from_register(conn, ctx.clock)
            manifest = inbox_files.manifest_path(out, filed, "audits", timestamp)
            run.staging.write_bytes(manifest, inbox_files.manifest_bytes(entries))
            validation = ingest_notices.validation_path(out, filed)
            written = writing_apart.result() if writing_apart is not None else None
            run.staging.write_bytes(validation, written if written is not None else validation_workbook())
        outbox.write(run.staging)
        notices.flush()
        notices.close()
        tally = inbox_files.counts(entries)
        run.inputs = {"audits_inbox": {k: v for k, v in tally.items() if v}, "files": len(entries)}
        new_problems = [e for e in entries if not e.known and e.outcome in inbox_files.NEW_FILE_PROBLEMS]
    # Warnings, said with the alerts (a scheduled run's quiet summary still shows them), not only in the log: the QA
    # officer may be asked why an auditor's notice had no form.
    result.attention = alerts + [messages.render("IN113", file=rel) for rel in notices.unattached]
    result.lines = empty_people(ctx, *QA_ONLY) + summary_lines(entries, tally)  # issue 24: said first
    result.lines.append(
        messages.text("SUM003", shared=shared, fed_back=fed_back, manifest=manifest.name, validation=validation.name)
    )
    if action_catch_up.created or action_catch_up.replaced:
        result.lines.append(messages.text("SUM004", created=action_catch_up.created, replaced=action_catch_up.replaced))
    result.outputs = [manifest, validation]
    result.data = {
        "counts": tally,
        "entries": entries,
        "alerts": len(alerts),
        "alert_workbook_lines": list(notices.workbook_lines),
    }
    if new_problems:
        result.exit_code = EXIT_DATAERR
    if alerts and ctx.config.mail.send:  # guidance section 3: an alert goes at once, not at the next 'send'
        sent = sending.send_outbox(ctx.config, ctx.register, ctx.clock, only_urgent=True)
        attention, lines, code = sending.said(sent, sending_on=True, command="ingest")
        result.attention += attention
        result.lines += lines
        result.exit_code = max(result.exit_code, code)
    return result


def check_files(ctx: Context, files: Sequence[str | Path] = ()) -> Result:
    """``caseaudit check``: validate forms and print the feedback. Reads the register without writing to it or
    taking the lock (so it works while a run is in progress); sends no alerts; exit 65 when a form has errors."""
    folder = ctx.config.inbox("audits")
    if files:
        paths = [Path(f) for f in files]
        missing = [p for p in paths if not p.is_file()]
        if missing:
            raise ConfigError("IN120", path=str(missing[0]))
    else:
        require_inboxes(ctx.config)
        paths = inbox_files.list_files(folder)
    with ctx.register.reader() as conn:
        book = _audit_book(ctx, conn)
        entries = inbox_files.gather(None, "audits", folder, paths)
        for entry in entries:
            if entry.pending:
                ingest.check_audit_safely(entry, book)
        concerns = {e.audit_id for e in entries if e.check is not None and e.check.safeguarding}
        alerts = reg.alerts
        raised: dict[str, str] = {
            row.audit_id: row.raised_at
            for row in conn.execute(
                sa.select(alerts.c.audit_id, alerts.c.raised_at).where(alerts.c.audit_id.in_(concerns))
            )
        }
    result = Result("check")
    for e in entries:
        if e.check is not None and e.check.safeguarding:
            if e.audit_id in raised:
                line = messages.render(
                    "IN112", audit=e.check.audit_ref, case_ref=e.check.case_ref, date=str(raised[e.audit_id])[:10]
                )
            else:
                line = messages.render("IN110", audit=e.check.audit_ref, case_ref=e.check.case_ref)
            result.attention.append(messages.text("SUM012", alert=line, file=e.rel))
    for e in entries:
        codes = f" [{';'.join(e.codes)}]" if e.codes else ""
        result.lines.append(messages.text("SUM005", file=e.rel, outcome=e.outcome.upper(), codes=codes))
        if e.problems:
            for p in e.problems:
                found = feedback.shown(p.found, 120) if p.found else messages.text("SUM013")
                result.lines.append(messages.text("SUM006", severity=p.severity, where=p.where))
                result.lines.append(messages.text("SUM007", found=found))
                result.lines.append(messages.text("SUM008", message=p.message))
                result.lines.append(messages.text("SUM009", fix=p.fix))
        elif e.outcome in ("rejected", "ignored", "duplicate"):
            result.lines.append(messages.text("SUM010", message=e.message, fix=first_fix(e)).rstrip())
    tally = inbox_files.counts(entries)
    result.lines.append(messages.text("SUM011", count=len(entries), parts=messages.counted(tally)))
    result.data = {"entries": entries, "counts": tally}
    if any(e.outcome in ("rejected", "returned") for e in entries):
        result.exit_code = EXIT_DATAERR
    return result


def alerts_raised(ctx: Context) -> int:
    with ctx.register.reader() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(reg.alerts)).scalar_one())


def alerts_command(ctx: Context, ack: int | None = None, note: str | None = None) -> Result:
    """``caseaudit alerts``: the safeguarding alerts QA has not yet acknowledged (read only, no lock); with
    ``--ack N --note TEXT``, record who dealt with alert N, when, and what was done (the note is kept in the register,
    never in a log or the run log's arguments)."""
    result = Result("alerts")
    if ack is None:
        if note is not None:
            raise ConfigError("ALR013")
        with ctx.register.reader() as conn:
            waiting = alerts.unacknowledged(conn)
        result.lines = alerts.summary_lines(waiting) or [messages.text("ALR003")]
        if waiting:
            result.lines.append(messages.text("ALR006"))
        result.data = {"unacknowledged": [a.number for a in waiting]}
        return result
    user, now = current_user(), ctx.clock.now_iso()
    with writing(ctx, "alerts", {"ack": ack}) as run:
        done = alerts.acknowledge(run.conn, ack, note or "", user=user, now=now)
    result.lines.append(messages.text("ALR004", number=done.number, case_ref=done.case_ref, user=user, date=now[:10]))
    result.data = {"acknowledged": done.number}
    return result
