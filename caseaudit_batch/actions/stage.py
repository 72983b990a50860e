"""The actions command: ``actions`` (the register brought up to date, returned trackers read, new trackers
made), and the month-end run's actions step."""

from __future__ import annotations

import logging

import sqlalchemy as sa

from caseaudit_batch.actions import people as action_people
from caseaudit_batch.actions import sync as action_sync
from caseaudit_batch.actions import updates as action_updates
from caseaudit_batch.core import messages, ui
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.clock import Month
from caseaudit_batch.core.errors import EXIT_DATAERR, safe_traceback
from caseaudit_batch.ingest import files as inbox_files
from caseaudit_batch.ingest.summary import problem_line
from caseaudit_batch.session import Context, Result, Run, require_inboxes, writing
from caseaudit_batch.workbook import forms

log = logging.getLogger("caseaudit")


def actions_month(ctx: Context, month: Month | str) -> Result:
    """``caseaudit actions --month``: bring the action register up to date (accepted audits and moderations, then
    returned trackers from the actions inbox), then make one tracker per service manager for the month."""
    require_inboxes(ctx.config)
    target = Month.coerce(month)
    result = Result("actions")
    with writing(ctx, "actions", {"month": str(target)}) as run:
        updated = update_actions(ctx, run, str(target))
        made = make_action_trackers(ctx, run, target)
        run.inputs = {"actions_inbox": {k: v for k, v in updated.data["counts"].items() if v}}
    result.lines = updated.lines + made.lines
    result.attention = updated.attention + made.attention
    result.outputs = updated.outputs + made.outputs
    result.data = {"trackers": made.data, "returned": updated.data}
    result.exit_code = updated.exit_code
    return result


def update_actions(ctx: Context, run: Run, filed: str) -> Result:
    """The action register brought up to date inside a writing run, without making trackers (``run`` uses this):
    every current accepted audit and moderation, then the returned trackers in the actions inbox."""
    caught_up = catch_up_actions(ctx, run)
    returned = ingest_action_trackers(ctx, run, filed)
    returned.lines = caught_up.lines + returned.lines
    returned.data["caught_up"] = caught_up.data
    return returned


def catch_up_actions(ctx: Context, run: Run) -> Result:
    """The action register brought in line with every current accepted audit and moderation (idempotent)."""

    done = action_sync.sync_from_register(run.conn, ctx.clock)
    result = Result("actions")
    if done.synced:
        result.lines.append(
            messages.text("SUM020", versions=len(done.synced), created=done.created, replaced=done.replaced)
        )
    result.data = {"versions": len(done.synced), "created": done.created, "replaced": done.replaced}
    return result


def ingest_action_trackers(ctx: Context, run: Run, filed: str) -> Result:
    """Read every returned tracker in the actions inbox with the ingest layer's file accounting and safety checks:
    one outcome per file, the manifest ``manifest-actions-YYYYMMDD-HHMMSS.csv``, every change recorded."""
    from caseaudit_batch.actions import trackers

    result = Result("actions")
    conn = run.conn
    folder = ctx.config.inbox("actions")
    book = trackers.TrackerBook.load(conn)
    entries = inbox_files.gather(conn, "actions", folder)
    pending = [e for e in entries if e.pending]
    checked: dict[str, trackers.ReturnedTracker] = {}
    for entry in ui.progress(pending, "Reading action trackers", total=len(pending)):
        try:
            found = trackers.check_tracker_file(entry, book, ctx.clock.today)
        except Exception as exc:  # noqa: BLE001 - one unreadable file must not stop the others
            log.error("tracker %s could not be read:\n%s", entry.rel, safe_traceback(exc))
            entry.settle("rejected", "IN015", found=f"it cannot be read ({type(exc).__name__})")
            found = None
        if found is not None:
            checked[entry.rel] = found
    seen_at = ctx.clock.now_iso()
    inbox_files.record_submissions(conn, run.run_id, "actions", filed, entries, seen_at)
    updated = created = 0
    # Older files first, so that in the usual case each update builds on the one before.
    for entry in sorted((e for e in entries if e.rel in checked), key=lambda e: (e.mtime, e.rel)):
        returned = checked[entry.rel]
        applied = action_updates.apply_tracker_entries(
            conn,
            returned.entries,
            baseline=returned.record.baseline,
            file_date=returned.file_date,
            clock=ctx.clock,
            month=returned.record.month,
            submission_id=entry.submission_id,
            source_file=entry.rel,
        )
        updated += len(applied.updated) + len(applied.noted)
        created += len(applied.created)
        for disagreement in applied.conflicts:
            found_problem = messages.problem("ACT010", file=entry.rel, **disagreement.params())
            entry.problems.append(found_problem)
            if "ACT010" not in entry.codes:
                entry.codes.append("ACT010")
            result.attention.append(found_problem.message)
            conn.execute(
                sa.insert(reg.problems).values(
                    submission_id=entry.submission_id,
                    code="ACT010",
                    severity="warning",
                    field="tracker",
                    label=disagreement.action_id,
                    message=found_problem.message,
                    fix=found_problem.fix,
                )
            )
        entry.message = (
            entry.message
            + " "
            + messages.text("ACT014", count=len(applied.updated) + len(applied.noted), created=len(applied.created))
        ).strip()
        conn.execute(
            sa.update(reg.submissions)
            .where(reg.submissions.c.id == entry.submission_id)
            .values(codes=";".join(entry.codes), message=entry.message)
        )
    timestamp = ctx.clock.timestamp()
    manifest = inbox_files.manifest_path(ctx.config.output_dir, filed, "actions", timestamp)
    run.staging.write_bytes(manifest, inbox_files.manifest_bytes(entries))
    tally = inbox_files.counts(entries)
    result.lines = [
        messages.text("SUM021", count=len(entries), parts=messages.counted(tally))
        if entries
        else messages.text("SUM022")
    ]
    result.lines += [problem_line(e) for e in entries if not e.known and e.outcome in ("returned", "rejected")]
    if updated or created:
        result.lines.append(messages.text("SUM023", updated=updated, created=created))
    result.outputs = [manifest]
    result.data = {"counts": tally, "updated": updated, "created": created, "manifest": str(manifest)}
    if any(not e.known and e.outcome in inbox_files.NEW_FILE_PROBLEMS for e in entries):
        result.exit_code = EXIT_DATAERR
    return result


def make_action_trackers(ctx: Context, run: Run, month: Month) -> Result:
    """One tracker per service manager: ``output/YYYY-MM/actions/YYYY-MM_actions_<service manager name>.xlsx``."""
    from caseaudit_batch.actions import trackers
    from caseaudit_batch.core import messages

    result = Result("actions")
    today = ctx.clock.today
    action_people.refresh_open_actions(run.conn)
    plans, orphans = trackers.tracker_plan(run.conn, month, today)
    organisation = ctx.config.organisation
    password = forms.form_password(ctx.config)
    folder = ctx.config.output_dir / str(month) / "actions"
    used: set[str] = set()
    made: list[dict[str, object]] = []
    created_at = ctx.clock.now_iso()
    for plan in plans:
        name = forms.tracker_filename(str(month), plan.name)
        if name.casefold() in used:  # two service managers with one name: the Staff ID tells them apart
            name = forms.tracker_filename(str(month), f"{plan.name} {plan.service_manager_id}")
        used.add(name.casefold())
        data = forms.render_tracker(
            ctx.framework,
            organisation,
            plan.rows,
            {"auditor_id": plan.service_manager_id, "month": str(month)},
            manager_name=plan.name,
            blank_rows=trackers.BLANK_ROWS,
            password=password,
        )
        path = folder / name
        run.staging.write_bytes(path, data)
        run.conn.execute(
            sa.insert(reg.action_trackers).values(
                month=str(month),
                service_manager_id=plan.service_manager_id,
                file=str(path.relative_to(ctx.config.output_dir)),
                made_on=today,
                baseline=plan.baseline,
                rows=len(plan.rows) + trackers.BLANK_ROWS,
                run_id=run.run_id,
                created_at=created_at,
            )
        )
        result.outputs.append(path)
        made.append(
            {
                "file": str(path),
                "service_manager_id": plan.service_manager_id,
                "rows": len(plan.rows),
                "open": plan.open_count,
                "overdue": plan.overdue_count,
            }
        )
    if plans:
        result.lines.append(
            messages.text(
                "SUM024",
                count=len(plans),
                label=month.label,
                folder=folder,
                open=sum(p.open_count for p in plans),
                overdue=sum(p.overdue_count for p in plans),
            )
        )
    else:
        result.lines.append(messages.render("ACT021", month=month.label))
    if orphans:
        result.attention.append(messages.render("ACT020", count=orphans))
    result.data = {"trackers": made, "without_service_manager": orphans}
    return result


def ingest_action_updates(ctx: Context, month: Month | str) -> Result:
    """The month-end run's actions step: the action register brought up to date with accepted audits and
    moderations, then the returned trackers in the actions inbox (``actions`` does the same, then makes trackers)."""
    require_inboxes(ctx.config)
    filed = str(Month.coerce(month))
    with writing(ctx, "run", {"month": filed, "step": "action tracker updates"}) as run:
        updated = update_actions(ctx, run, filed)
        run.inputs = {"actions_inbox": {k: v for k, v in updated.data["counts"].items() if v}}
    return updated
