"""What a run over the audits inbox tells people, and QA's view of it.

- Safeguarding alerts (guidance section 3: "notified as a matter of urgency"): one URGENT workbook per audit month
  and a notice to the social worker, team manager and service manager, once per audit.
- Each accepted audit shared (Appendix 1, "Sharing the audit"): one notice with the workbook attached.
- Feedback to the auditor on each returned audit, and on each accepted one with points to check: a workbook and a
  notice listing each problem as Where | What we found | What is wrong | How to fix.
- ``validation-YYYY-MM.xlsx``: the month's audits inbox for QA, one row per problem.

Every file is staged (written into place only after the register commits) and every notice is listed in the
month's outbox and the register's ``notices``. ``ingest.stage.ingest_inbox`` chains these after the register is updated.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from caseaudit_batch.core import messages
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.clock import Clock, Month
from caseaudit_batch.core.notify import Notice, Outbox, build_eml, notice_message_id, render_notice
from caseaudit_batch.core.outputs import Staging, scratch_file
from caseaudit_batch.ingest import feedback
from caseaudit_batch.ingest import files as inbox_files
from caseaudit_batch.workbook import forms
from caseaudit_batch.workbook.reader import Refused

log = logging.getLogger("caseaudit")

#: Stand-ins in a drafted message for what only the register's submission ID fixes; plain ASCII, and neither can be
#: made by the base64 that follows the last attachment's header.
PENDING_MESSAGE_ID = "<pending.draft@caseaudit.local>"
PENDING_HEADER = f"Message-ID: {PENDING_MESSAGE_ID}".encode("ascii")
PENDING_NAME = "pending-draft-feedback.xlsx"


@dataclass(frozen=True)
class Draft:
    """A notice made by the worker that checked its form (:meth:`Notices.draft`): the outcome and standing version
    it was made for, the notice as the outbox and register list it (no attachments), and its message (or, once
    :meth:`Notices.keep` has put it aside, where in the drafts' file it is)."""

    made_for: tuple[str, str | None]
    notice: Notice
    eml: bytes | tuple[int, int]


@functools.lru_cache(maxsize=1024)
def _day(day: date | None) -> str:
    # A month's notices name the same few dozen dates (due, completed) thousands of times; strftime costs ~20 µs.
    return f"{day.day} {day:%B %Y}" if day else ""


def _audit_context(check: inbox_files.AuditCheck, organisation: str) -> dict[str, object]:
    pre = check.allocation["prefilled"] or {}
    return {
        "audit_ref": check.audit_ref,
        **{k: pre.get(k, "") for k in ("case_ref", "team", "service", "social_worker", "team_manager")},
        **{k: pre.get(k, "") for k in ("service_manager", "auditor_name")},
        "due_date": _day(check.allocation["due_date"]),
        "audit_month_label": Month.parse(check.month).label,
        "organisation": organisation,
    }


@dataclass
class Notices:
    """Writes one run's alerts, shared audits and feedback; :meth:`flush` records the notices in the register."""

    conn: Connection
    staging: Staging
    outbox: Outbox
    clock: Clock
    output_dir: Path
    people: feedback.People
    env: Any
    sender: str
    organisation: str
    qa_officer: str | None
    _rows: list[dict[str, Any]] = field(default_factory=list)
    workbook_lines: list[str] = field(default_factory=list)  # the URGENT workbooks' lines (IN111)
    unattached: list[str] = field(default_factory=list)  # files whose shared notice went without them (IN113)
    return_instructions: str = ""  # [notices] return_instructions: the last line of every feedback notice
    made_at: str = ""  # when the run's notices were made (ISO 8601): set when the run starts making them
    _spool: Any = None  # the drafted messages put aside (:meth:`keep`): an unnamed temporary file

    def __post_init__(self) -> None:
        self.made_at = self.made_at or self.clock.now_iso()

    def alerts(self, entries: Sequence[inbox_files.Entry], timestamp: str) -> list[str]:
        """Guidance section 3: a safeguarding concern marked Yes raises an alert at once, whatever else is wrong
        with the form, once per audit: the URGENT workbook of its audit month and a notice to SW, TM and SM."""
        candidates = [e for e in entries if e.check is not None and e.check.safeguarding and not e.known]
        if not candidates:
            return []
        raised = {
            row[0]
            for row in self.conn.execute(
                sa.select(reg.alerts.c.audit_id).where(reg.alerts.c.audit_id.in_({e.audit_id for e in candidates}))
            )
        }
        lines: list[str] = []
        by_month: dict[str, list[tuple[object, ...]]] = {}
        made_at = self.made_at
        for e in candidates:
            if e.audit_id in raised or e.check is None:
                continue
            raised.add(e.audit_id)
            check = e.check
            pre = check.allocation["prefilled"] or {}
            detail = check.answers.get("safeguarding_detail") or ""
            self.conn.execute(
                sa.insert(reg.alerts).values(
                    audit_id=e.audit_id, submission_id=e.submission_id, month=check.month, file=e.rel, raised_at=made_at
                )
            )
            by_month.setdefault(check.month, []).append(
                (
                    check.audit_ref,
                    e.audit_id,
                    check.case_ref,
                    pre.get("team", ""),
                    pre.get("service", ""),
                    pre.get("social_worker", ""),
                    pre.get("team_manager", ""),
                    pre.get("service_manager", ""),
                    pre.get("auditor_name", ""),
                    check.answers.get("date_completed") or "",
                    e.rel,
                    detail or "(nothing recorded on the form: contact the auditor now)",
                )
            )
            who = self.people.case_people(check.case_ref)
            qa = self.people.get(self.qa_officer)
            notice = render_notice(
                self.env,
                "alert_safeguarding",
                "alert",
                feedback.addresses(who["social_worker"], who["team_manager"], who["service_manager"]),
                feedback.addresses(qa),
                detail=detail,
                **_audit_context(check, self.organisation),
            )
            name = forms.notice_filename(check.audit_ref, check.case_ref, f"URGENT-safeguarding_{timestamp}")
            eml = self.output_dir / check.month / "alerts" / name
            self._send(check.month, e.audit_id, eml, notice)
            alert = messages.text("IN110", audit=check.audit_ref, case_ref=check.case_ref)
            lines.append(messages.text("SUM012", alert=alert, file=e.rel))
        for month, rows in sorted(by_month.items()):
            final = self.output_dir / month / f"URGENT-safeguarding-{timestamp}.xlsx"
            self.staging.write_bytes(final, feedback.urgent_workbook(month, rows))
            lines.append(messages.text("IN111", count=len(rows), file=final))
            self.workbook_lines.append(lines[-1])
        return lines

    def share(self, entries: Sequence[inbox_files.Entry]) -> int:
        """Appendix 1, "Sharing the audit": one notice with the workbook attached per accepted version."""
        count = 0
        for e in entries:
            if e.outcome != "accepted" or e.check is None or e.known:
                continue
            check = e.check
            stem = forms.audit_stem(check.audit_ref, check.case_ref, str(e.submission_id))
            eml = self.output_dir / check.month / "shared" / f"{stem}-shared.eml"
            self._send_drafted(e, "shared", eml, functools.partial(self._shared_notice, e))
            count += 1
        return count

    def _shared_notice(self, e: inbox_files.Entry) -> Notice:
        check = e.check
        assert check is not None
        who = self.people.case_people(check.case_ref)
        took_part = str(check.answers.get("sw_participation") or "") in ("In person", "Phone or video")
        previous_tm = who["previous_team_manager"] if check.reallocated else None
        to = feedback.addresses(
            who["team_manager"], who["service_manager"], who["cp_iro"], self.people.get(self.qa_officer)
        )
        cc = feedback.addresses(who["social_worker"] if took_part else None, previous_tm)
        try:
            attached: bytes | None = inbox_files.form_bytes(e)
        except Refused as refused:
            # Checked and accepted a moment ago, then changed or gone before its notice was made here (a notice
            # drafted by the worker that checked it has its bytes already): the notice goes without the workbook,
            # and says so, rather than with bytes nobody checked. The run log says so too; it names the file, never
            # its content.
            log.warning("the shared notice of %s goes without its workbook (%s)", e.rel, refused.code)
            attached = None
            self.unattached.append(e.rel)
        notice = render_notice(
            self.env,
            "ingest_shared",
            "shared",
            to,
            cc,
            overall_grade=check.overall_grade or "",
            date_completed=_day(check.date_completed),
            late=check.late,
            action_count=len(check.answers.get("actions", [])),
            previous_team_manager=previous_tm.name if previous_tm else "",
            recipients="; ".join(to + cc),
            attached=attached is not None,
            **_audit_context(check, self.organisation),
        )
        if attached is None:
            return notice
        notice.attachments.append((f"{check.month}_{forms.audit_stem(check.audit_ref, check.case_ref)}.xlsx", attached))
        return notice

    def give_feedback(self, entries: Sequence[inbox_files.Entry]) -> int:
        """A feedback workbook and notice to the auditor for each returned audit and each accepted one with
        warnings."""
        count = 0
        for e in entries:
            if e.known or e.check is None or not e.problems or e.outcome not in ("returned", "accepted", "superseded"):
                continue
            check = e.check
            stem = forms.audit_stem(check.audit_ref, check.case_ref, str(e.submission_id))
            book = self._feedback_book(e)
            final = self.output_dir / check.month / "feedback" / f"{stem}-feedback.xlsx"
            self.staging.write_bytes(final, book)
            self._send_drafted(
                e,
                "feedback",
                final.with_suffix(".eml"),
                functools.partial(self._feedback_notice, e, book, final.name),
            )
            count += 1
        return count

    def _feedback_book(self, e: inbox_files.Entry) -> bytes:
        check = e.check
        assert check is not None
        # Else made already, by the worker that checked the form, when it drafted: the workbook says only whether
        # the file was returned, and settling the versions never changes that (it turns accepted to superseded).
        if e.feedback is None:
            e.feedback = feedback.feedback_workbook(
                e.rel, check.audit_ref, check.case_ref, e.outcome, e.problems, self.return_instructions
            )
        return e.feedback

    def _feedback_notice(self, e: inbox_files.Entry, book: bytes, name: str = PENDING_NAME) -> Notice:
        check = e.check
        assert check is not None
        notice = render_notice(
            self.env,
            "ingest_feedback",
            "feedback",
            feedback.addresses(self.people.get(check.allocation["staff_id"])),
            (),
            returned=e.outcome == "returned",
            file=e.rel,
            standing=e.standing,
            problems=[
                {
                    "severity": p.severity,
                    "where": feedback.where_in_form(p),
                    "found": feedback.shown(p.found),
                    "message": p.message,
                    "fix": p.fix,
                }
                for p in e.problems
            ],
            return_instructions=self.return_instructions,
            **_audit_context(check, self.organisation),
        )
        notice.attachments.append((name, book))  # the workbook's own name (a draft's stands in: see _send_drafted)
        return notice

    def draft(self, e: inbox_files.Entry) -> dict[str, Draft]:
        """``e``'s shared and feedback notices, made by the worker process that checked the form (both cores work
        on them, rather than this process alone after the pool): each as its finished message, with a stand-in
        Message-ID until the register gives the submission ID the notice's file name and Message-ID carry, and
        with the outcome it was made for. :meth:`share` and :meth:`give_feedback` use a draft only if the file's
        outcome is still that one once every file is settled (a later version in the same run can supersede it,
        and a returned file may learn which version stands); otherwise they make the notice as they do for files
        checked without a pool."""
        drafts: dict[str, Draft] = {}
        check = e.check
        if check is None or e.known:
            return drafts
        made_for = (e.outcome, e.standing)
        if e.outcome == "accepted":
            drafts["shared"] = self._draft(self._shared_notice(e), made_for)
        if e.problems and e.outcome in ("returned", "accepted"):
            drafts["feedback"] = self._draft(self._feedback_notice(e, self._feedback_book(e)), made_for)
        return drafts

    def _draft(self, notice: Notice, made_for: tuple[str, str | None]) -> Draft:
        eml = build_eml(notice, self.sender, self.made_at, PENDING_MESSAGE_ID)
        # The attachments are in the message; the draft keeps only what the outbox and register list.
        return Draft(made_for, Notice(notice.kind, notice.to, notice.subject, "", notice.cc), eml)

    def keep(self, drafted: dict[str, Draft]) -> dict[str, Draft]:
        """``drafted`` with each message put aside in a scratch file in the output folder
        (:func:`~caseaudit_batch.core.outputs.scratch_file`), to be read back when it is staged. The drafts of a month's
        forms, their attachments included, were about 36 KB a form held in memory from the pool to the notices (issue
        25: 181 MB of a 5,000-form month)."""
        if not drafted:
            return drafted
        if self._spool is None:
            self._spool = scratch_file(self.output_dir)
        kept = {}
        for kind, draft in drafted.items():
            if isinstance(draft.eml, bytes):
                offset = self._spool.seek(0, os.SEEK_END)
                self._spool.write(draft.eml)
                draft = Draft(draft.made_for, draft.notice, (offset, len(draft.eml)))
            kept[kind] = draft
        return kept

    def _message(self, draft: Draft) -> bytes:
        if isinstance(draft.eml, bytes):
            return draft.eml
        offset, length = draft.eml
        self._spool.seek(offset)
        return bytes(self._spool.read(length))

    def close(self) -> None:
        """Let go of the drafts' file (it goes with its last handle)."""
        if self._spool is not None:
            self._spool.close()
            self._spool = None

    def _send_drafted(self, e: inbox_files.Entry, kind: str, eml: Path, make: Callable[[], Notice]) -> None:
        """Stage ``e``'s notice of ``kind``: its worker's draft, finished, when the draft was made for the outcome
        the file has now; else the notice ``make`` gives, made here."""
        check = e.check
        assert check is not None
        message_id = notice_message_id(self.output_dir, check.month, eml, self.sender)
        draft: Draft | None = e.drafted.pop(kind, None)  # the finished message replaces it (memory: issue 25)
        if draft is not None and draft.made_for == (e.outcome, e.standing):
            notice = draft.notice
            name = eml.with_suffix(".xlsx").name if kind == "feedback" else None
            data = _finished(self._message(draft), message_id, name)
        else:
            data = None
        if data is None:
            notice = make()
            data = build_eml(notice, self.sender, self.made_at, message_id)
        self._send_made(check.month, e.audit_id, eml, notice, data, message_id)

    def _send(self, month: str, audit_id: str, eml: Path, notice: Notice) -> None:
        """Stage the ``.eml`` (the one message builder, ``notify.build_eml``), list it in the outbox, and queue
        its ``notices`` row (:meth:`flush` writes the queue in one statement)."""
        message_id = notice_message_id(self.output_dir, month, eml, self.sender)
        data = build_eml(notice, self.sender, self.made_at, message_id)
        self._send_made(month, audit_id, eml, notice, data, message_id)

    def _send_made(self, month: str, audit_id: str, eml: Path, notice: Notice, data: bytes, message_id: str) -> None:
        made_at = self.made_at
        self.staging.write_bytes(eml, data)
        self.outbox.add(month, notice, eml, made_at)
        self._rows.append(
            {
                "kind": notice.kind,
                "month": month,
                "audit_id": audit_id,
                "to_addr": "; ".join(notice.to),
                "cc_addr": "; ".join(notice.cc),
                "subject": notice.subject,
                "file": str(eml),
                "made_at": made_at,
                "message_id": message_id,
            }
        )

    def flush(self) -> None:
        rows, self._rows = self._rows, []
        if rows:
            self.conn.execute(sa.insert(reg.notices), rows)


def _finished(draft: bytes, message_id: str, attachment: str | None) -> bytes | None:
    """A drafted message with its own Message-ID and (``attachment``) the feedback workbook's own file name; None
    when that name would be written otherwise than plainly quoted (the notice is then made again, whole)."""
    # The first header named Message-ID is the message's own: headers come before any text from the form.
    data = draft.replace(PENDING_HEADER, f"Message-ID: {message_id}".encode("ascii"), 1)
    if attachment is None:
        return data
    if not attachment.isascii() or any(c in attachment for c in '"\\\r\n'):
        return None
    # The last attachment header is after all the text, and only base64 and the closing boundary follow it.
    pending = f'filename="{PENDING_NAME}"'.encode("ascii")
    at = data.rfind(pending)
    if at < 0:
        return None
    return data[:at] + f'filename="{attachment}"'.encode("ascii") + data[at + len(pending) :]


def validation_path(output_dir: Path, filed: str) -> Path:
    """``output/YYYY-MM/validation-YYYY-MM.xlsx``."""
    return output_dir / filed / f"validation-{filed}.xlsx"


def validation_content(conn: Connection, filed: str) -> tuple[str, dict[str, int], list[tuple[object, ...]]]:
    """QA's view of the month's audits inbox, read from the register: a summary sentence, outcome counts, one row
    per problem, for :func:`caseaudit_batch.ingest.feedback.validation_workbook` to write (which needs no
    connection, so ingest has it written apart: ``core.apart.started``)."""
    subs = conn.execute(
        sa.select(
            reg.submissions.c.id,
            reg.submissions.c.path,
            reg.submissions.c.outcome,
            reg.submissions.c.audit_id,
            reg.submissions.c.codes,
            reg.submissions.c.message,
        ).where(reg.submissions.c.inbox == "audits", reg.submissions.c.filed_month == filed)
    ).all()
    tally = dict.fromkeys(inbox_files.OUTCOMES, 0)
    for s in subs:
        tally[s.outcome] = tally.get(s.outcome, 0) + 1
    read = {s.audit_id for s in subs if s.audit_id and s.outcome in ("accepted", "superseded", "returned")}
    accepted = {s.audit_id for s in subs if s.audit_id and s.outcome in ("accepted", "superseded")}
    summary = feedback.summary_sentence(len(read), len(accepted), len(read - accepted), tally["rejected"])
    wanted = sorted({s.audit_id for s in subs if s.audit_id})
    cases: dict[str, str] = {}
    for chunk in reg.chunks(wanted):  # the month's audits only
        cases.update(
            conn.execute(
                sa.select(reg.allocations.c.audit_id, reg.allocations.c.case_ref).where(
                    reg.allocations.c.audit_id.in_(chunk)
                )
            )
            .tuples()
            .all()
        )
    by_sub = {s.id: s for s in subs}
    rows: list[tuple[object, ...]] = []
    problem_rows = conn.execute(
        sa.select(reg.problems).where(reg.problems.c.submission_id.in_(list(by_sub))).order_by(reg.problems.c.id)
    ).all()
    with_problems = set()
    for p in problem_rows:
        s = by_sub[p.submission_id]
        with_problems.add(s.id)
        rows.append(
            (
                s.path,
                s.outcome,
                s.audit_id or "",
                cases.get(s.audit_id, ""),
                p.code,
                p.severity,
                p.sheet,
                p.cell,
                p.field,
                p.found or "",
                p.message,
                p.fix,
            )
        )
    for s in subs:
        if s.id not in with_problems and s.outcome in ("rejected", "ignored", "duplicate"):
            code = (s.codes or "").split(";")[0]
            severity = messages.CATALOGUE[code].severity if code in messages.CATALOGUE else ""
            fix = messages.fix(code) if code in messages.CATALOGUE else ""
            rows.append(
                (
                    s.path,
                    s.outcome,
                    s.audit_id or "",
                    cases.get(s.audit_id, ""),
                    code,
                    severity,
                    "",
                    "",
                    "",
                    "",
                    s.message,
                    fix,
                )
            )
    return summary, tally, rows
