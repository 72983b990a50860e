"""Issuing one allocation: its audit ID, its pre-filled form, its register row and its notice."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import multiprocessing
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.pool import AsyncResult, Pool
from pathlib import Path
from typing import Any, TypeVar

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
from caseaudit_batch.core import heap, ids, ui
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.clock import Month
from caseaudit_batch.core.errors import EXIT_DATAERR, CaseauditError, OutputError, safe_traceback
from caseaudit_batch.core.framework import Framework
from caseaudit_batch.core.notify import Notice, Outbox, build_eml, notice_message_id, render_notice, stage_notice
from caseaudit_batch.core.outputs import Staging, write_reserved
from caseaudit_batch.followups.register import PreviousAudit, previous_audit
from caseaudit_batch.session import Context, Run
from caseaudit_batch.workbook import forms

log = logging.getLogger("caseaudit")
T = TypeVar("T")
PARALLEL_FROM = 100  # below this many forms, starting worker processes costs more than it saves
CHUNKS_PER_WORKER = 16  # many small chunks: the two workers finish together (the last chunk is short)


@dataclass(frozen=True)
class Maker:
    """What making any form and notice of a run needs besides the form's own values."""

    framework: Framework
    organisation: str
    password: str
    sender: str
    output_dir: Path
    month: Month


@dataclass
class Making:
    """One form and its notice, decided in allocation order (:meth:`Issuer.issue`); only the bytes remain to make."""

    filename: str
    prefilled: dict[str, object]
    meta: dict[str, str]
    followup: tuple[dict[str, object], Sequence[Sequence[object]]] | None  # follow-up values, earlier actions
    notice: Notice  # rendered, without the form attached
    notice_path: Path
    made_at: str


def make(maker: Maker, making: Making) -> tuple[bytes, bytes]:
    """The pre-filled form (stamped into the cached template for this framework version) and its notice's
    ``.eml`` with the form attached."""
    if making.followup is None:
        form = forms.render_audit_form(
            maker.framework, maker.organisation, making.prefilled, making.meta, password=maker.password
        )
    else:
        values, actions = making.followup
        form = forms.render_followup_form(
            maker.framework,
            maker.organisation,
            making.prefilled,
            making.meta,
            values,
            actions,
            password=maker.password,
        )
    notice = dataclasses.replace(making.notice, attachments=[*making.notice.attachments, (making.filename, form)])
    month = str(maker.month)
    message_id = notice_message_id(maker.output_dir, month, making.notice_path, maker.sender)
    return form, build_eml(notice, maker.sender, making.made_at, message_id)


#: What every worker needs and is given by the fork (not pickled): the framework, organisation and password.
_WORKER_SETUP: tuple[Framework, str, str] | None = None


@dataclass
class FormWorkers:
    """The worker processes of :func:`form_workers`, and the audit form's template as the first of them builds it."""

    pool: Pool
    template: AsyncResult[bytes]

    def template_data(self) -> bytes | None:
        """The template's bytes; None if building it failed (each worker then builds its own, and reports why)."""
        try:
            return self.template.get()
        except Exception as exc:  # noqa: BLE001 - the workers build it themselves
            log.error("the form template was not built in a worker\n%s", safe_traceback(exc))
            return None


@contextlib.contextmanager
def form_workers(ctx: Context, expected: int, workers: int | None = None) -> Iterator[FormWorkers | None]:
    """Two worker processes (the machine's two cores) for a month's forms and notices, when ``expected`` (the
    auditors) is large enough to repay starting them; else None, and the forms are made in this process.

    They are forked before the allocation is decided, and the first builds the form template (openpyxl, half a
    second) while this process decides the allocation, which leaves the second core idle; its bytes go to both
    with their jobs (20 kB), so the template is built once. A job is a chunk of forms' values, pickled (a few kB a
    form); the workers write the files themselves (:meth:`Issuer.make_waiting`).
    """
    global _WORKER_SETUP
    workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    if workers < 2 or expected < PARALLEL_FROM or "fork" not in multiprocessing.get_all_start_methods():
        yield None
        return
    _WORKER_SETUP = (ctx.framework, ctx.config.organisation, forms.form_password(ctx.config))
    pool, started = None, None
    # The workers share this process's heap until they write to it (the demo forks them from a year's worth of
    # it): frozen, it is not visited, and so not copied, by the workers' garbage collector.
    with heap.frozen():
        try:
            pool = multiprocessing.get_context("fork").Pool(workers)
            started = FormWorkers(pool, pool.apply_async(_template_in_worker))
        except Exception as exc:  # noqa: BLE001 - no pool: the forms are made here
            log.error("worker pool did not start; making the forms here\n%s", safe_traceback(exc))
        try:
            yield started
        finally:
            if pool is not None:
                pool.terminate()
                pool.join()
            _WORKER_SETUP = None


def _template_in_worker() -> bytes:
    assert _WORKER_SETUP is not None
    framework, organisation, password = _WORKER_SETUP
    return forms.audit_template(framework, organisation, password=password)


#: One form and notice for a worker: what to make, and the staged paths its two files are written to.
Job = tuple[tuple[str, Path, Month, bytes | None], list[tuple["Making", str, str]]]


def _make_in_worker(job: Job) -> list[str | None]:
    """Make each form and notice and write them at their staged paths: for each, None, or why a file could not be
    written (:func:`outputs.write_reserved`)."""
    assert _WORKER_SETUP is not None
    (sender, output_dir, month, template), makings = job
    framework, organisation, password = _WORKER_SETUP
    if template is not None:
        forms.adopt_template(framework, organisation, template, password=password)
    maker = Maker(framework, organisation, password, sender, output_dir, month)
    faults: list[str | None] = []
    for making, form_at, eml_at in makings:
        form, eml = make(maker, making)
        faults.append(write_reserved(form_at, form) or write_reserved(eml_at, eml))
    return faults


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
    # With ``deferred``, :meth:`issue` decides everything and writes the register's rows, but the form and its
    # notice wait for :meth:`make_waiting` (allocate makes a thousand at once, on both cores).
    deferred: bool = False
    workers: FormWorkers | None = None  # form_workers(): where make_waiting() makes the forms, if anywhere
    _waiting: list[Making] = field(default_factory=list)

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
        made_at = self.ctx.clock.now_iso()
        path = self.folder / "notices" / forms.notice_filename(audit_ref, case.case_ref, f"{person.name}_{template}")
        making = Making(
            filename=filename,
            prefilled=prefilled,
            meta=meta,
            followup=None if followup is None else (_followup_values(followup, followup_reason), followup.actions),
            notice=notice,
            notice_path=path,
            made_at=made_at,
        )
        self._notices.append(notice_row(month, audit_id, notice, path, made_at, self.sender))
        self.notices_made += 1
        if self.deferred:
            self._waiting.append(making)  # made by make_waiting(), with the others, in this order
        else:
            self._stage(making, *make(self._maker(), making))
        return audit_id

    def _maker(self) -> Maker:
        config = self.ctx.config
        password = forms.form_password(config)
        return Maker(self.ctx.framework, config.organisation, password, self.sender, self.outbox.output_dir, self.month)

    def _stage(self, making: Making, form: bytes, eml: bytes) -> None:
        """The form and its notice staged and the notice listed in the outbox, as :func:`notify.stage_notice`
        does for a notice made here (the notice's bytes may come from a worker process)."""
        self.run.staging.write_bytes(self.folder / making.filename, form)
        self.run.staging.write_bytes(making.notice_path, eml)
        self._listed(making)

    def _listed(self, making: Making) -> None:
        """The notice listed in the outbox (its file is staged here or written by a worker)."""
        self.outbox.add(str(self.month), making.notice, making.notice_path, making.made_at)

    def make_waiting(self, meanwhile: Callable[[], T]) -> T:
        """Make and stage the forms and notices :meth:`issue` left waiting (``deferred``), in the order issued,
        and call ``meanwhile`` (what the command does next that needs no form: the register's rows, the
        allocations workbook); returns what it returns.

        With :attr:`workers` (:func:`form_workers`), the forms are made there while this process runs
        ``meanwhile``: a form is a copy of the template with its cells stamped in and compressed, and its notice
        carries it in base64, each independent of the others. The workers write both files at the staged paths this
        process reserved for them (sending the bytes back, about 50 kB a form, cost this process a second of
        unpickling and writing for a thousand forms); the outbox and the register are this process's alone, and
        are kept in the order issued. If the pool fails for any reason, the forms it did not finish are made here,
        one by one (an error in a form is then raised here, as it was before); a file a worker could not write (a
        full disk) is the command's fault, as one written here would be."""
        waiting, self._waiting = self._waiting, []
        maker = self._maker()
        shown = iter(ui.progress(range(len(waiting)), "Making forms and notices", total=len(waiting)))
        done = 0
        ran: list[T] = []
        fault: OutputError | None = None
        if self.workers is not None and waiting:
            size = -(-len(waiting) // (2 * CHUNKS_PER_WORKER))
            chunks = [range(start, min(start + size, len(waiting))) for start in range(0, len(waiting), size)]
            common = (maker.sender, maker.output_dir, maker.month, self.workers.template_data())
            staging = self.run.staging
            # Reserved here, before the pool's feeding thread pickles them: the staging is this thread's alone.
            jobs = [(common, [(waiting[i], *self._reserve(staging, waiting[i])) for i in c]) for c in chunks]
            results = self.workers.pool.imap(_make_in_worker, jobs)
            ran.append(meanwhile())  # while the workers make the forms; its errors are the command's
            try:
                for chunk, faults in zip(chunks, results, strict=False):
                    for i, why in zip(chunk, faults, strict=True):
                        making = waiting[i]
                        if why is not None and fault is None:
                            fault = OutputError("OUT001", path=str(self.folder / making.filename), detail=why)
                        self._listed(making)
                        next(shown, None)
                    done += len(chunk)
            except Exception as exc:  # noqa: BLE001 - a failed pool falls back to making the rest here
                log.error("worker pool failed after %d forms; making the rest here\n%s", done, safe_traceback(exc))
        if fault is not None:
            raise fault
        for making in waiting[done:]:
            self._stage(making, *make(maker, making))
            next(shown, None)
        for _ in shown:  # the progress bar's end
            pass
        return ran[0] if ran else meanwhile()

    def _reserve(self, staging: Staging, making: Making) -> tuple[str, str]:
        """The staged paths a worker writes ``making``'s form and notice at."""
        return staging.reserve(self.folder / making.filename), staging.reserve(making.notice_path)

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
