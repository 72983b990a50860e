"""The allocation commands: ``allocate`` (and ``--reassign``) and ``remind``."""

from __future__ import annotations

import io
from pathlib import Path

import sqlalchemy as sa

from caseaudit_batch.allocation.allocate import (
    HOW_FILE,
    HOW_RECENT,
    FollowupOffer,
    allocate,
    check_pairs,
    conflict,
    is_auditor,
)
from caseaudit_batch.allocation.issue import Issuer, NoEligibleCase, followup_kept, form_workers
from caseaudit_batch.allocation.notices import (
    empty_people,
    long_date,
    notice_env,
    record_notice,
    sender,
    sender_from_register,
)
from caseaudit_batch.allocation.people import (
    allocation_rules,
    case_from_register,
    check_named_people,
    current_allocations,
    file_sha256,
    load_people,
    people_paths,
    recent_cases,
    save_people,
)
from caseaudit_batch.allocation.reminders import reminder_date
from caseaudit_batch.allocation.roster import (
    InputTableError,
    load_pairs,
)
from caseaudit_batch.allocation.workbook import landscape, write_allocations_workbook
from caseaudit_batch.core import messages
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.clock import Month
from caseaudit_batch.core.errors import EXIT_DATAERR, ConfigError
from caseaudit_batch.core.notify import Outbox, render_notice, stage_notice
from caseaudit_batch.followups.register import due_for_month, previous_audit
from caseaudit_batch.session import Context, Result, writing
from caseaudit_batch.workbook import forms


def allocate_month(
    ctx: Context,
    month: Month | str,
    *,
    roster: str | Path | None = None,
    caseload: str | Path | None = None,
    replace: bool = False,
    from_file: str | Path | None = None,
) -> Result:
    """``caseaudit allocate``: one case for every active auditor, with forms, notices and allocations.xlsx."""
    the_month = Month.coerce(month)
    rules = allocation_rules(ctx.config)
    people, cases = load_people(ctx, roster, caseload)
    pairs = load_pairs(Path(from_file), people, cases) if from_file else []
    roster_path, caseload_path = people_paths(ctx, roster, caseload)
    arguments = {"month": str(the_month), "replace": replace, "from_file": str(from_file) if from_file else None}
    result = Result("allocate")
    expected = sum(1 for person in people.people.values() if is_auditor(person, rules))
    with writing(ctx, "allocate", arguments) as run, form_workers(ctx, expected) as workers:
        conn = run.conn
        run.inputs = {"roster": str(roster_path), "roster_sha256": file_sha256(roster_path)}
        run.inputs.update(caseload=str(caseload_path), caseload_sha256=file_sha256(caseload_path))
        b = reg.allocation_batches
        existing = conn.execute(sa.select(b).where(b.c.month == str(the_month), b.c.status == "current")).first()
        if existing is not None:
            if not replace:
                count = len(current_allocations(conn, str(the_month)))
                raise ConfigError("AL020", month=str(the_month), count=count, made_at=existing.created_at[:16])
            conn.execute(sa.update(b).where(b.c.id == existing.id).values(status="replaced"))
            a = reg.allocations
            # Follow-ups are replaced too: the new allocation offers whatever is due again.
            conn.execute(
                sa.update(a)
                .where(a.c.month == str(the_month), a.c.status == "allocated")
                .values(status="replaced", status_reason=f"replaced by the allocation made on {ctx.clock.today}")
            )
            result.lines.append(messages.text("AL035", month=str(the_month)))
        taken = {row.case_ref for row in current_allocations(conn, str(the_month))}
        if pairs:
            found = check_pairs(pairs, people, cases, rules, file=str(from_file), taken=taken)
            if found:
                raise InputTableError(str(from_file), "allocation pairs", found)
        after_months = ctx.config.allocation.followup_after_months
        due = due_for_month(
            conn, ctx.framework, the_month, {c.case_ref for c in cases.cases}, after_months=after_months
        )
        due_by_audit = {d.audit_id: d for d in due}
        plan = allocate(
            the_month,
            ctx.clock.today,
            people,
            cases,
            rules,
            recent=recent_cases(conn, the_month),
            taken=taken,
            fixed=pairs,
            followups=[FollowupOffer(d.case_ref, d.audit_id, d.staff_id) for d in due],
        )
        inserted = conn.execute(
            sa.insert(b).values(month=str(the_month), status="current", created_at=ctx.clock.now_iso())
        ).inserted_primary_key
        assert inserted is not None
        batch_id = int(inserted[0])
        outbox = Outbox(ctx.config.output_dir)
        qa_id = ctx.config.people.qa_officer
        issuer = Issuer(ctx, run, the_month, people, outbox, notice_env(ctx), sender(ctx, people.email(qa_id)))
        # Every allocation decided first; their forms and notices made together below (on the workers, if any).
        issuer.deferred, issuer.workers = True, workers
        by_ref = cases.by_ref()
        recent_used = 0
        followups_made = 0
        for item in plan.assignments:
            person = people.people[item.staff_id]
            if item.kind == "followup" and item.followup_of:
                first = due_by_audit[item.followup_of]
                reason = first.describe(after_months)
                earlier = previous_audit(conn, ctx.framework, item.followup_of)
                audit_id = issuer.issue(
                    person, by_ref[item.case_ref], batch_id, "allocation", followup=earlier, followup_reason=reason
                )
                followups_made += 1
                issuer.note(
                    batch_id,
                    "followup",
                    person.staff_id,
                    audit_id,
                    f"follow-up of audit {item.followup_of} ({Month.parse(first.month).label}, "
                    f"{first.final_grade}): {reason}",
                )
                continue
            audit_id = issuer.issue(person, by_ref[item.case_ref], batch_id, "allocation")
            if item.how == HOW_FILE:
                issuer.note(batch_id, "override", person.staff_id, audit_id, f"case {item.case_ref} {item.how}")
            elif item.how == HOW_RECENT:
                recent_used += 1
                issuer.note(batch_id, "recent", person.staff_id, audit_id, f"case {item.case_ref} {item.how}")
        for note in plan.exempt:
            issuer.note(batch_id, "exempt", note.staff_id, None, note.reason)
        for note in plan.unallocated:
            issuer.note(batch_id, "unallocated", note.staff_id, None, note.reason)
        for reason, refs in sorted(plan.passed_over.items()):
            issuer.note(batch_id, "passed_over", None, None, f"{len(refs)} case(s): {reason}")
        for waiting in plan.followups_waiting:
            issuer.note(
                batch_id,
                "followup_waiting",
                None,
                None,
                f"case {waiting.case_ref} (follow-up of audit {waiting.followup_of}): {waiting.reason}",
            )
        summary = {
            "allocated": len(plan.assignments),
            "exempt": len(plan.exempt),
            "unallocated": len(plan.unallocated),
            "passed_over": {reason: len(refs) for reason, refs in plan.passed_over.items()},
            "offered": plan.offered,
            "cases": plan.total_cases,
            "from_file": len(pairs),
            "recent_used": recent_used,
            "three_way": issuer.three_way,
            "followups_due": len(due),
            "followups_allocated": followups_made,
            "followups_waiting": len(plan.followups_waiting),
            "seed": plan.seed[:16],
            "allocation_day": ctx.clock.today.isoformat(),
        }

        def register_and_workbook() -> Path:
            # The people and cases as loaded: nothing above reads them from the register, and saved here they are
            # saved while the workers make the forms.
            save_people(conn, people, cases, ctx.clock.now_iso())
            issuer.flush()  # the allocations, notes and notices, before the workbook reads them back
            conn.execute(sa.update(b).where(b.c.id == batch_id).values(summary=summary))
            return write_allocations_workbook(ctx, conn, run, the_month)

        allocations_path = issuer.make_waiting(register_and_workbook)  # done while the forms are made
        outbox.write(run.staging)

    passed = sum(len(r) for r in plan.passed_over.values())
    reasons = "; ".join(f"{len(r)} {reason}" for reason, r in sorted(plan.passed_over.items())) or "none"
    result.lines += [
        messages.text(
            "AL030",
            allocated=len(plan.assignments),
            label=the_month.label,
            due=long_date(the_month.last_day),
            exempt=len(plan.exempt),
            unallocated=len(plan.unallocated),
        ),
        messages.text("AL031", offered=plan.offered, total=plan.total_cases, passed=passed, reasons=reasons),
    ]
    if pairs:
        result.lines.append(messages.text("AL032", file=str(from_file), count=len(pairs)))
    if recent_used:
        result.lines.append(messages.text("AL036", month=str(the_month), count=recent_used))
    result.lines.append(messages.text("AL033", count=issuer.three_way))
    if due:
        share = f"{rules.followup_share:.0%}"
        result.lines.append(
            messages.text("AL060", due=len(due), made=followups_made, waiting=len(plan.followups_waiting), share=share)
        )
    for note in plan.exempt:
        person = people.people[note.staff_id]
        result.lines.append(messages.text("AL034", name=person.name, role=person.role, reason=note.reason))
    result.lines.append(
        messages.text("AL037", folder=str(issuer.folder), forms=issuer.forms_made, notices=issuer.notices_made)
    )
    for note in plan.unallocated:
        person = people.people[note.staff_id]
        result.attention.append(
            messages.render(
                "AL040",
                name=person.name,
                role=person.role,
                staff_id=person.staff_id,
                month=str(the_month),
                reason=note.reason,
            )
        )
    result.attention += check_named_people(ctx.config, people)
    result.attention += empty_people(ctx)  # issue 24
    known = ", ".join(dict.fromkeys(ctx.framework.case_types.values()))
    for typed, row in cases.unknown_case_types.items():
        result.attention.append(messages.render("AL070", found=typed, row=row, known=known))
    result.outputs = [allocations_path, issuer.folder / "outbox.csv"]
    result.data = {"summary": summary, "batch_id": batch_id}
    if plan.unallocated:
        result.exit_code = EXIT_DATAERR
    return result


def reassign(
    ctx: Context,
    month: Month | str,
    audit_id: str,
    *,
    to: str | None = None,
    roster: str | Path | None = None,
    caseload: str | Path | None = None,
) -> Result:
    """``allocate --reassign``: with ``to``, the same case to another auditor; without, a new case for the same
    auditor. The old form is withdrawn, a new audit ID and form are made, everyone concerned is told."""
    the_month = Month.coerce(month)
    rules = allocation_rules(ctx.config)
    people, cases = load_people(ctx, roster, caseload)
    result = Result("allocate")
    arguments = {"month": str(the_month), "reassign": audit_id, "to": to}
    with writing(ctx, "allocate", arguments) as run:
        conn = run.conn
        a = reg.allocations
        audit_id = reg.audit_id_for(conn, audit_id)  # typed as an audit reference or an audit ID
        old = conn.execute(sa.select(a).where(a.c.audit_id == audit_id, a.c.month == str(the_month))).first()
        if old is None:
            if not conn.execute(sa.select(a.c.audit_id).where(a.c.month == str(the_month)).limit(1)).first():
                raise ConfigError("AL027", month=str(the_month))
            raise ConfigError("AL022", audit_id=audit_id, month=str(the_month))
        if old.status != "allocated":
            raise ConfigError("AL023", audit_id=audit_id, status=old.status)
        accepted = conn.execute(
            sa.select(reg.audits.c.id).where(reg.audits.c.audit_id == audit_id, reg.audits.c.current.is_(True))
        ).first()
        if accepted is not None:
            raise ConfigError("AL024", audit_id=audit_id)
        old_case = cases.by_ref().get(old.case_ref) or case_from_register(conn, old.case_ref)
        old_person = people.get(old.staff_id)
        if to:
            person = people.get(to)
            if person is None:
                raise ConfigError("AL028", found=to)
            assert old_case is not None
            first_auditor = None
            if old.kind == "followup" and old.followup_of:
                first_auditor = conn.execute(sa.select(a.c.staff_id).where(a.c.audit_id == old.followup_of)).scalar()
            why = (
                "they already hold this audit"
                if person.staff_id == old.staff_id
                else ("they have left the authority" if not person.with_authority else None)
            ) or ("they did the audit this follows up" if person.staff_id == first_auditor else None)
            why = why or conflict(person, old_case, people, rules)
            if why:
                raise ConfigError(
                    "AL025", name=person.name, staff_id=person.staff_id, case_ref=old_case.case_ref, reason=why
                )
            new_case = old_case
            reason = f"the audit was passed from {old.prefilled.get('auditor_name', old.staff_id)} to {person.name}"
        else:
            if old_person is None:
                raise ConfigError("AL028", found=old.staff_id)
            person = old_person
            taken = {row.case_ref for row in current_allocations(conn, str(the_month))}
            plan = allocate(
                the_month,
                ctx.clock.today,
                people,
                cases,
                rules,
                recent=recent_cases(conn, the_month),
                taken=taken,
                only=[person],
                extra_seed=audit_id,
            )
            if not plan.assignments:
                raise NoEligibleCase("AL026", name=person.name, reason=plan.unallocated[0].reason)
            new_case = cases.by_ref()[plan.assignments[0].case_ref]
            reason = f"case {old.case_ref} was withdrawn from audit (closed or transferred)"
        save_people(conn, people, cases, ctx.clock.now_iso())
        conn.execute(sa.update(a).where(a.c.audit_id == audit_id).values(status="withdrawn", status_reason=reason))
        outbox = Outbox(ctx.config.output_dir)
        issuer = Issuer(ctx, run, the_month, people, outbox, notice_env(ctx), sender_from_register(ctx, conn))
        new_id = issuer.issue(
            person,
            new_case,
            old.batch_id,
            "reassignment",
            {
                "same_auditor": not to,
                "old_case_ref": old.case_ref,
                "old_audit_id": audit_id,
                "old_audit_ref": old.audit_ref or audit_id,
                "reason": reason,
            },
            **followup_kept(ctx, conn, old, bool(to)),
        )
        issuer.note(
            old.batch_id,
            "reassign",
            person.staff_id,
            new_id,
            f"{audit_id} withdrawn: {reason}; new audit {new_id} (case {new_case.case_ref}, {person.name})",
        )
        # Tell the auditor who had it, with the old case's social worker and team manager in copy.
        withdrawal = render_notice(
            issuer.env,
            "withdrawal",
            "withdrawal",
            [old_person.email if old_person else ""],
            [people.email(old_case.social_worker_id), people.email(old_case.team_manager_id)] if old_case else [],
            organisation=ctx.config.organisation,
            auditor_name=old.prefilled.get("auditor_name", ""),
            case_ref=old.case_ref,
            month_label=the_month.label,
            audit_id=audit_id,
            audit_ref=old.audit_ref or audit_id,
            reason=reason,
            new_auditor=person.name if to else "",
        )
        old_name = str(old.prefilled.get("auditor_name") or old.staff_id)
        issuer.send(
            withdrawal,
            audit_id,
            forms.notice_filename(old.audit_ref or audit_id, old.case_ref, f"{old_name}_withdrawal"),
        )
        issuer.flush()
        new_ref = conn.execute(sa.select(a.c.audit_ref).where(a.c.audit_id == new_id)).scalar()
        allocations_path = write_allocations_workbook(ctx, conn, run, the_month)
        outbox.write(run.staging)
    result.lines.append(
        messages.text(
            "AL038",
            old=old.audit_ref or audit_id,
            what=reason + f"; case {new_case.case_ref} to {person.name}",
            new=new_ref or new_id,
        )
    )
    result.outputs = [allocations_path]
    result.data = {
        "old_audit_id": audit_id,
        "new_audit_id": new_id,
        "old_audit_ref": old.audit_ref,
        "new_audit_ref": new_ref,
        "case_ref": new_case.case_ref,
        "staff_id": person.staff_id,
    }
    return result


REMINDER_COLUMNS = (
    "Auditor",
    "Role",
    "Line manager",
    "Case reference",
    "Team",
    "Service",
    "Due date",
    "Status",
    "Reminded on",
    "Audit reference",
    "Audit ID",
)


def remind_month(ctx: Context, month: Month | str, *, force: bool = False) -> Result:
    """``caseaudit remind``: before the reminder date, say when it is; on or after it, one reminder per audit not yet
    accepted (line manager in copy), recorded so a second run makes none unless ``force``."""
    the_month = Month.coerce(month)
    lead_days = ctx.config.reminders.lead_days
    due = reminder_date(the_month, lead_days)
    result = Result("remind", data={"reminder_date": due.isoformat()})
    if ctx.clock.today < due:
        result.lines.append(
            messages.text(
                "AL050",
                label=the_month.label,
                date=long_date(due),
                today=ctx.clock.today.isoformat(),
                month=str(the_month),
            )
        )
        result.data["made"] = 0
        return result
    with writing(ctx, "remind", {"month": str(the_month), "force": force}) as run:
        conn = run.conn
        allocated = current_allocations(conn, str(the_month))
        if not allocated:
            raise ConfigError("AL027", month=str(the_month))
        ids = [row.audit_id for row in allocated]
        accepted: set[str] = set()
        for chunk in reg.chunks(ids):
            accepted |= set(
                conn.execute(
                    sa.select(reg.audits.c.audit_id).where(
                        reg.audits.c.audit_id.in_(chunk), reg.audits.c.current.is_(True)
                    )
                ).scalars()
            )
        nt = reg.notices
        earlier: dict[str, str] = {}
        for row in conn.execute(
            sa.select(nt.c.audit_id, nt.c.made_at).where(nt.c.month == str(the_month), nt.c.kind == "reminder")
        ):
            earlier[row.audit_id] = max(earlier.get(row.audit_id, ""), row.made_at)
        staff = {row.staff_id: row for row in conn.execute(sa.select(reg.staff))}
        outbox = Outbox(ctx.config.output_dir)
        env = notice_env(ctx)
        sender = sender_from_register(ctx, conn)
        folder = ctx.config.output_dir / str(the_month)
        stamp = ctx.clock.timestamp()
        made = already = 0
        table = []
        for row in allocated:
            p = row.prefilled
            auditor = staff.get(row.staff_id)
            manager = staff.get(auditor.line_manager_id) if auditor is not None and auditor.line_manager_id else None
            status, reminded_on = "Not yet accepted", earlier.get(row.audit_id, "")
            if row.audit_id in accepted:
                status = "Accepted"
            elif row.audit_id in earlier and not force:
                already += 1
                status = "Reminded earlier"
            else:
                notice = render_notice(
                    env,
                    "reminder",
                    "reminder",
                    [auditor.email if auditor is not None else ""],
                    [manager.email if manager is not None else ""],
                    **dict(
                        p,
                        organisation=ctx.config.organisation,
                        month_label=the_month.label,
                        due_date=long_date(row.due_date),
                        form_file=row.form_file or "",
                        audit_ref=row.audit_ref or row.audit_id,
                        line_manager=manager.name if manager is not None else "",
                    ),
                )
                made_at = ctx.clock.now_iso()
                name = forms.notice_filename(
                    row.audit_ref or row.audit_id, row.case_ref, f"{p.get('auditor_name', '')}_reminder_{stamp}"
                )
                path = folder / "notices" / name
                stage_notice(run.staging, outbox, str(the_month), path, notice, sender, made_at)
                record_notice(conn, str(the_month), row.audit_id, notice, path, made_at, sender)
                made += 1
                status, reminded_on = "Reminded now", made_at
            table.append(
                [
                    p.get("auditor_name", ""),
                    p.get("auditor_role", ""),
                    manager.name if manager is not None else "",
                    row.case_ref,
                    p.get("team", ""),
                    p.get("service", ""),
                    row.due_date,
                    status,
                    reminded_on[:10],
                    row.audit_ref or "",
                    row.audit_id,
                ]
            )
        from openpyxl import Workbook

        from caseaudit_batch.workbook.tables import add_sheet_table

        wb = Workbook()
        add_sheet_table(
            wb, "Reminders", REMINDER_COLUMNS, sorted(table, key=lambda r: (str(r[7]), str(r[0]))), first=True
        )
        landscape(wb)
        buffer = io.BytesIO()
        wb.save(buffer)
        summary_path = folder / f"reminders-{the_month}.xlsx"
        run.staging.write_bytes(summary_path, buffer.getvalue())
        outbox.write(run.staging)
    result.lines.append(
        messages.text(
            "AL051",
            label=the_month.label,
            date=long_date(due),
            made=made,
            already=already,
            accepted=len(accepted),
            total=len(allocated),
        )
    )
    if already and not force:
        result.lines.append(messages.text("AL053"))
    result.lines.append(messages.text("AL052", file=str(summary_path)))
    result.outputs = [summary_path]
    result.data.update(made=made, already=already, accepted=len(accepted), total=len(allocated))
    return result
