"""Report distribution (issue 22): after ``report``, one notice per person named in ``[reports] distribution``,
with the documents they get attached: by default each Head of Service their service pack and the main report, the
Principal Social Worker the learning themes, the QA officer the Excel report.

A person is named by a roster role (every person with that role) or a Staff ID; ``qa_officer`` and
``hos_quality_assurance`` stand for the Staff IDs in ``[people]``. A service pack goes only to a person of that
service. The notices are made with the month's first report; a report made again refreshes a notice not yet sent
(same file, same Message-ID) and never makes a second one for a notice already sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from caseaudit_batch.allocation.notices import long_date, notice_env, record_notice, sender_from_register
from caseaudit_batch.core import messages
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.clock import Month
from caseaudit_batch.core.config import DISTRIBUTION_KINDS
from caseaudit_batch.core.notify import Outbox, build_eml, notice_message_id, render_notice, stage_notice
from caseaudit_batch.reports.build import committee_name, excel_name, themes_name, word_name
from caseaudit_batch.session import Context, Run

KIND = "report_distribution"
TITLES = {
    "service_pack": "the service pack for {service}",
    "main_report": "the monthly case file audit report",
    "learning_themes": "the learning themes",
    "excel_report": "the Excel report (every table)",
    "committee": "the committee version of the report",
}


@dataclass
class Recipient:
    staff_id: str
    name: str
    email: str
    service: str
    documents: list[tuple[str, str]] = field(default_factory=list)  # (title, file name)


def _people(run: Run, ctx: Context, who: Sequence[str]) -> tuple[list[sa.Row], list[str]]:
    """The roster rows ``who`` names, and the names that matched nobody."""
    staff = list(run.conn.execute(sa.select(reg.staff)))
    people = ctx.config.people
    aliases = {"qa_officer": people.qa_officer, "hos_quality_assurance": people.hos_quality_assurance}
    found: list[sa.Row] = []
    missing = []
    for name in who:
        wanted = aliases.get(name, name).strip()
        matched = [s for s in staff if s.staff_id == wanted] or [
            s for s in staff if (s.role or "").casefold() == wanted.casefold()
        ]
        if not matched:
            missing.append(name)
        found += [s for s in matched if s not in found]
    return found, missing


def distribute(
    ctx: Context, run: Run, month: Month, files: Mapping[str, bytes], services: Sequence[str], report_date: date
) -> tuple[dict[str, int], list[str]]:
    """Make the month's report notices; returns the count by document kind and the warnings (nobody matched)."""
    plan: dict[str, Recipient] = {}
    warnings = []
    counts = dict.fromkeys(DISTRIBUTION_KINDS, 0)
    for kind, who in ctx.config.reports.distribution.items():
        people, missing = _people(run, ctx, who)
        warnings += [messages.render("REP041", who=name, kind=kind) for name in missing]
        for person in people:
            if kind == "service_pack":
                service = str(person.service or "")
                name = word_name(month, service) if service in services else ""
                title = TITLES[kind].format(service=service)
            else:
                name = {
                    "main_report": word_name(month),
                    "learning_themes": themes_name(month),
                    "excel_report": excel_name(month),
                    "committee": committee_name(word_name(month)),
                }[kind]
                title = TITLES[kind]
            if not name or name not in files or not person.email:
                continue
            who_gets = plan.setdefault(
                person.staff_id, Recipient(person.staff_id, person.name, person.email, str(person.service or ""))
            )
            if (title, name) not in who_gets.documents:
                who_gets.documents.append((title, name))
                counts[kind] += 1
    _make_notices(ctx, run, month, files, list(plan.values()), long_date(report_date))
    return counts, warnings


def _make_notices(
    ctx: Context, run: Run, month: Month, files: Mapping[str, bytes], plan: list[Recipient], report_date: str
) -> None:
    n = reg.notices
    folder = ctx.config.output_dir / str(month) / "notices"
    earlier = {
        row.file: row.status
        for row in run.conn.execute(sa.select(n.c.file, n.c.status).where(n.c.kind == KIND, n.c.month == str(month)))
    }
    env = notice_env(ctx)
    sender = sender_from_register(ctx, run.conn)
    outbox = Outbox(ctx.config.output_dir)
    for person in plan:
        path = folder / f"reports-{month}-{person.staff_id}.eml"
        relative = path.relative_to(path.parents[1]).as_posix()
        status = earlier.get(relative)
        if status is not None and status not in ("draft", "deferred"):
            continue  # already sent (or failed and listed): a report made again is not mailed again
        notice = render_notice(
            env,
            "report_distribution",
            KIND,
            [person.email],
            name=person.name,
            month_label=month.label,
            documents=[title for title, _ in person.documents],
            report_date=report_date,
            organisation=ctx.config.organisation,
        )
        notice.attachments.extend((name, bytes(files[name])) for _title, name in person.documents)
        made_at = ctx.clock.now_iso()
        if status is None:
            stage_notice(run.staging, outbox, str(month), path, notice, sender, made_at)
            record_notice(run.conn, str(month), "", notice, path, made_at, sender)
        else:  # the unsent draft refreshed in place: same file, same Message-ID, no second row
            message_id = notice_message_id(ctx.config.output_dir, str(month), path, sender)
            run.staging.write_bytes(path, build_eml(notice, sender, made_at, message_id))
    outbox.write(run.staging)


__all__ = ["KIND", "distribute"]
