"""Ingest's audit check and its record: each pending audit form read through the safe reader, its pre-filled values
compared with the register's and the validation rules run (:func:`check_audits`); then which accepted version of an
audit stands (:func:`settle_versions`), and the accepted versions recorded in the register (:func:`record_audits`).

The files themselves are listed and accounted for in :mod:`caseaudit_batch.ingest.files`.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import logging
import multiprocessing
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from multiprocessing.pool import AsyncResult, Pool
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from caseaudit_batch.core import heap, messages
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.config import PrivacySettings, ValidationSettings
from caseaudit_batch.core.errors import safe_traceback
from caseaudit_batch.core.framework import Framework, GradeParseError
from caseaudit_batch.core.messages import Problem
from caseaudit_batch.ingest import rules
from caseaudit_batch.ingest.files import AuditCheck, Entry, ignored_as_purged, open_form
from caseaudit_batch.retention.register import Purges
from caseaudit_batch.workbook import reader
from caseaudit_batch.workbook.layout import GENERATOR_VERSION, FormLayout, Layouts, audit_layout

log = logging.getLogger("caseaudit")


# ---------------------------------------------------------------------------------------------------------------
# Audit forms
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class AuditBook:
    """What the audit check needs from the register and the configuration, read once per run."""

    framework: Framework
    layout: FormLayout
    settings: rules.Settings
    allocations: dict[str, Mapping[str, Any]]
    reallocated: dict[str, bool]
    known_versions: set[str]
    purges: Purges = field(default_factory=Purges)
    layouts: Layouts | None = None  # by the version that made the form

    by_kind: dict[tuple[str, int], FormLayout] = field(default_factory=dict)

    def layout_for(self, meta: Mapping[str, str], names: Mapping[str, str] | None = None, kind: int = 0) -> FormLayout:
        """The layout a form was made with (its version, and the standards its defined ``names`` show); ``kind``,
        if not 0, is the same for the same names (``reader.Package.layout_key``): each kind's names are read once."""
        if self.layouts is None:
            self.layouts = Layouts(audit_layout, self.framework, {GENERATOR_VERSION: self.layout})
        if not kind:
            return self.layouts.for_form(meta, names)
        key = (meta.get("generator_version", ""), kind)
        if key not in self.by_kind:
            self.by_kind[key] = self.layouts.for_form(meta, names)
        return self.by_kind[key]

    @classmethod
    def load(
        cls,
        conn: Connection,
        framework: Framework,
        validation: Mapping[str, Any] | ValidationSettings,
        privacy: PrivacySettings | None = None,
    ) -> AuditBook:
        allocations: dict[str, Mapping[str, Any]] = {
            row.audit_id: dict(row._mapping)
            for row in conn.execute(
                sa.select(
                    reg.allocations.c.audit_id,
                    reg.allocations.c.audit_ref,
                    reg.allocations.c.month,
                    reg.allocations.c.staff_id,
                    reg.allocations.c.case_ref,
                    reg.allocations.c.due_date,
                    reg.allocations.c.status,
                    reg.allocations.c.framework_version,
                    reg.allocations.c.prefilled,
                )
            )
        }
        versions = {framework.version} | {str(a["framework_version"]) for a in allocations.values()}
        # Allocation notes each audit whose case was re-allocated within a month, the previous worker still with
        # the authority (guidance section 2: a three-way meeting is advised).
        notes = reg.allocation_notes
        three_way = {
            row[0] for row in conn.execute(sa.select(notes.c.audit_id).where(notes.c.kind == "three_way")) if row[0]
        }
        reallocated = {k: k in three_way for k in allocations}
        return cls(
            framework=framework,
            layout=audit_layout(framework),
            settings=rules.Settings.from_config(validation).with_privacy(privacy, reg.staff_names(conn)),
            allocations=allocations,
            reallocated=reallocated,
            known_versions=versions,
            purges=Purges.load(conn),
        )


def check_audit(entry: Entry, book: AuditBook, inbox: str = "audits") -> None:
    """Settle one pending audit file: rejected (not a safe, known form), returned (errors) or accepted."""
    try:
        package, calamine, meta = open_form(entry, "audit", inbox)
        if ignored_as_purged(entry, meta.get("month", ""), book.purges):
            return  # a form for a month purged from the register (judged by the form's own month)
        version = meta.get("framework_version", "")
        if version not in book.known_versions:
            raise reader.Refused("IN022", found=version or "none")
        allocation = book.allocations.get(entry.audit_id)
        if allocation is None:
            raise reader.Refused("IN023", found=entry.audit_id or "none")
        if allocation["status"] != "allocated":
            raise reader.Refused("IN024", found=entry.audit_id, status=allocation["status"])
        # Its own practice standards (workbook/standards.py), read once for each kind of workbook in the run.
        layout = book.layout_for(meta, package.names, package.layout_key)
        form = reader.read_values(package, calamine, layout, meta)
    except reader.Refused as refused:
        entry.settle(refused.outcome, refused.code, note=messages.text(refused.code, **refused.params))
        entry.data = None
        return
    entry.problems = _prefilled_changes(form.values, allocation, layout, entry.rel)
    values = dict(form.values)
    values.update(allocation["prefilled"] or {})  # the register's pre-filled values are the truth
    view = rules.FormView(
        values=values,
        actions_table=form.tables["actions"],
        layout=layout,
        framework=book.framework,
        settings=book.settings,
        due_date=allocation["due_date"],
        reallocated=book.reallocated.get(entry.audit_id, False),
        file=entry.rel,
        first_rows=form.first_rows,
        strays=form.strays,
    )
    entry.problems += rules.validate(view)
    entry.check = _summarise(view, allocation, entry.problems)
    entry.check.reallocated = view.reallocated
    errors = [p for p in entry.problems if p.severity == "error"]
    entry.codes = list(dict.fromkeys(p.code for p in entry.problems))
    if errors:
        # The note goes to the manifest: it names where the first error is, never what the form says there (the
        # problem's own message may quote the answer; the feedback and the QA workbook carry that).
        first = errors[0]
        place = first.label or first.field or first.cell or "the form"
        entry.settle("returned", note=messages.text("IN106", count=len(errors), place=place, first=first.code))
        entry.data = None
    else:
        warnings = len(entry.problems)
        entry.settle("accepted", note=messages.text("IN107", count=warnings) if warnings else messages.text("IN108"))


def check_audit_safely(entry: Entry, book: AuditBook, inbox: str = "audits") -> None:
    """One bad file never stops the batch: an unexpected failure is this file's 'rejected: internal error'."""
    try:
        check_audit(entry, book, inbox)
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - any failure in one file (even a Rust panic) is that file's only
        log.error("internal error reading %s\n%s", entry.rel, safe_traceback(exc))
        entry.problems = []
        entry.check = None
        entry.data = None
        entry.codes = []
        entry.settle("rejected", "IN090", note="rejected: internal error. " + messages.text("IN090"))


PARALLEL_FROM = 100  # below this many files, starting worker processes costs more than it saves
# Many small chunks: an uneven share (large files, a slow form) still evens out, and the last chunk, which one
# worker checks while the other has none left, is short (about a tenth of a second of work); a chunk's result is
# one message, so many cost nothing to send. Fixed, because the files are sent as they are listed, before their
# number is known.
CHUNK = 32
#: Makes a checked entry's notices where it was checked (``ingest.notices.Notices.draft``), keyed by kind.
Drafter = Callable[[Entry], dict[str, Any]]
_WORKER_JOB: tuple[AuditBook, str, Drafter | None] | None = None


def check_audits(
    entries: Iterable[Entry],
    book: AuditBook,
    inbox: str = "audits",
    workers: int | None = None,
    drafter: Drafter | None = None,
    keep: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> list[Entry]:
    """Check every pending audit file of ``entries``; with many files, on two worker processes (the machine's two
    cores). Returns every entry, in the order given.

    ``entries`` may be :func:`~caseaudit_batch.ingest.files.gather_each`, still listing and hashing the inbox: the
    workers begin once the first hundred pending files are known, and are sent the rest in chunks as they are
    listed, so that the listing (a fifth of a second of a 1,000-form month, on one core) no longer holds them up.
    The archive pre-checks make python-calamine safe in-process (field notes), so the workers are for speed only.
    Workers are forked after ``book`` is loaded, so they share it without copying; each is sent its files' entries
    (names and hashes, never their bytes), reads each file itself, and returns only its results (without the
    allocation, which this process has already). If the pool fails for any reason, the files it did not finish are
    checked here, one by one. With ``drafter``, a worker also makes each form's notices (``Entry.drafted``) and the
    feedback workbook of each form it returns or accepts with warnings (``Entry.feedback``): they depend only on the
    check, and made there they are made on both cores, where the main process would otherwise make them alone, after
    the pool, while a core sits idle. ``keep`` puts each result's drafts aside as it comes back
    (``ingest.notices.Notices.keep``), so that a month's drafts are not all held in memory at once.
    """
    workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    checking = _Checking(book, inbox, drafter, keep, workers)
    listed: list[Entry] = []
    try:
        for entry in entries:
            listed.append(entry)
            if entry.pending:
                checking.add(entry)
        checking.finish()
    finally:
        checking.close()
    return listed


class _Checking:
    """The pending entries of :func:`check_audits` as they come, and the pool they are sent to in chunks."""

    def __init__(
        self,
        book: AuditBook,
        inbox: str,
        drafter: Drafter | None,
        keep: Callable[[dict[str, Any]], dict[str, Any]] | None,
        workers: int,
    ) -> None:
        self.book, self.inbox, self.drafter, self.keep = book, inbox, drafter, keep
        self.workers = workers if "fork" in multiprocessing.get_all_start_methods() else 1
        self.pending: list[Entry] = []
        self.sent = 0  # pending[:sent] are with the pool
        self.applied = 0  # pending[:applied] have their outcomes
        self.jobs: collections.deque[tuple[range, AsyncResult[list[tuple[Any, ...]]]]] = collections.deque()
        self.pool: Pool | None = None
        self.failed = False
        self._stack = contextlib.ExitStack()

    def add(self, entry: Entry) -> None:
        self.pending.append(entry)
        if self.workers < 2 or self.failed:
            return
        try:
            if self.pool is None:
                if len(self.pending) < PARALLEL_FROM:
                    return
                self._start()
            if len(self.pending) - self.sent >= CHUNK:
                self._send(whole=True)
            self._collect(wait=False)  # results taken as they come: a month's drafts are never all held at once
        except Exception as exc:  # noqa: BLE001 - a failed pool falls back to checking here
            self._fail(exc)

    def finish(self) -> None:
        """Send what is left, take every result; check here whatever the pool did not."""
        if self.pool is not None and not self.failed:
            try:
                self._send()
                self._collect(wait=True)
            except Exception as exc:  # noqa: BLE001 - a failed pool falls back to checking here
                self._fail(exc)
        self.close()
        for entry in self.pending[self.applied :]:
            check_audit_safely(entry, self.book, self.inbox)
        self.applied = len(self.pending)

    def close(self) -> None:
        global _WORKER_JOB
        self._stack.close()
        self.pool = None
        _WORKER_JOB = None

    def _start(self) -> None:
        global _WORKER_JOB
        _WORKER_JOB = (self.book, self.inbox, self.drafter)
        # The workers share this process's heap until they write to it: with its objects frozen, a worker's garbage
        # collector does not visit (and so copy) every page of it.
        self._stack.enter_context(heap.frozen())
        self.pool = self._stack.enter_context(multiprocessing.get_context("fork").Pool(self.workers))

    def _send(self, *, whole: bool = False) -> None:
        """Send the pending entries not yet sent, in chunks; with ``whole``, only whole chunks (more are coming)."""
        assert self.pool is not None
        for start in range(self.sent, len(self.pending), CHUNK):
            chunk = range(start, min(start + CHUNK, len(self.pending)))
            if whole and len(chunk) < CHUNK:
                break
            job = self.pool.apply_async(_check_in_worker, ([self.pending[i] for i in chunk],))
            self.jobs.append((chunk, job))
            self.sent = chunk.stop

    def _collect(self, *, wait: bool) -> None:
        while self.jobs and (wait or self.jobs[0][1].ready()):
            chunk, job = self.jobs[0]
            outcomes = job.get()
            for i, outcome in zip(chunk, outcomes, strict=True):
                _apply(self.pending[i], outcome, self.book, self.keep)
            self.applied = chunk.stop
            self.jobs.popleft()

    def _fail(self, exc: Exception) -> None:
        log.error("worker pool failed after %d files; checking the rest here\n%s", self.applied, safe_traceback(exc))
        self.failed = True
        self.jobs.clear()
        self.close()


def _check_in_worker(chunk: list[Entry]) -> list[tuple[Any, ...]]:
    assert _WORKER_JOB is not None
    book, inbox, drafter = _WORKER_JOB
    outcomes = []
    for entry in chunk:  # this process's own copies (sent): checking them changes nothing in the parent
        check_audit_safely(entry, book, inbox)
        check = entry.check
        drafted = _drafts(drafter, entry) if drafter is not None and check is not None else {}
        if check is not None:
            check.allocation = {}  # the parent has it (book.allocations): not sent back
        outcomes.append(
            (
                entry.outcome,
                entry.audit_id,
                entry.codes,
                entry.message,
                entry.problems,
                check,
                entry.feedback,  # made by the drafter with the feedback notice
                drafted,
                entry.sha256,  # emptied, with the time, when the file went or changed before it was read (Gone)
                entry.mtime,
            )
        )
        # Sent back, so not kept: this process's copy of the entry would otherwise hold its check, feedback
        # workbook and the file's bytes (read here) until the chunk is done.
        entry.check, entry.feedback, entry.problems, entry.data = None, None, [], None
    return outcomes


def _drafts(drafter: Drafter, entry: Entry) -> dict[str, Any]:
    """The entry's notices as the worker made them; none when making them failed (the main process then makes
    them itself, as it does for every file checked outside the pool, and a failure there is reported there)."""
    try:
        return drafter(entry)
    except Exception as exc:  # noqa: BLE001 - a draft is only a head start: never a reason to lose the check
        log.error("notices for %s not drafted in the worker\n%s", entry.rel, safe_traceback(exc))
        return {}


def _apply(
    entry: Entry,
    outcome: tuple[Any, ...],
    book: AuditBook,
    keep: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> None:
    (
        entry.outcome,
        entry.audit_id,
        entry.codes,
        entry.message,
        entry.problems,
        entry.check,
        made,
        drafted,
        entry.sha256,
        entry.mtime,
    ) = outcome
    entry.feedback = made
    entry.drafted = keep(drafted) if keep is not None else drafted
    if entry.check is not None:
        entry.check.allocation = book.allocations[entry.audit_id]
    # This process never holds the file's bytes: the worker read them, and a shared notice drafted there attaches
    # them; a notice made here after all reads the file again (inbox_files.form_bytes, which checks they are the
    # same bytes).


def _prefilled_changes(
    values: Mapping[str, Any], allocation: Mapping[str, Any], layout: FormLayout, file: str
) -> list[Problem]:
    problems = []
    truth = allocation["prefilled"] or {}
    for name, spec in layout.fields.items():
        if not spec.prefilled or name not in truth:
            continue
        found = rules.to_text(values.get(name))
        expected = rules.to_text(truth.get(name))
        if spec.kind == "date":
            found_date = rules.safe_date(values.get(name))
            found = found_date.isoformat() if found_date else found
        if found != expected:
            problems.append(
                messages.problem(
                    "IN030",
                    found=found,
                    file=file,
                    sheet=spec.sheet,
                    cell=spec.cell,
                    field=name,
                    label=spec.label,
                    expected=expected,
                )
            )
    return problems


def _summarise(view: rules.FormView, allocation: Mapping[str, Any], problems: Sequence[Problem]) -> AuditCheck:
    """The answers in the register's contract: grades canonical, dates ISO, actions as [action, owner, due]."""
    layout = view.layout
    answers: dict[str, Any] = {}
    for name, spec in layout.fields.items():
        raw = view.raw(name)
        if spec.kind == "grade":
            answers[name] = _grade_name(view, name)
        elif spec.kind == "date":
            parsed = rules.safe_date(raw)
            answers[name] = parsed.isoformat() if parsed else (rules.to_text(raw) or None)
        elif spec.kind == "choice":
            text = rules.to_text(raw)
            answers[name] = next((c for c in spec.choices if c.casefold() == text.casefold()), text) or None
        else:
            answers[name] = raw if isinstance(raw, str) else (rules.to_text(raw) or None)
    answers["actions"] = [
        [rules.to_text(a.action), rules.to_text(a.owner), _iso(a.due)]
        for a in view.actions()
        if rules.to_text(a.action)
    ]
    completed = rules.safe_date(view.raw("date_completed"))
    due = allocation["due_date"]
    sections = [(s.number, answers.get(f"{s.key}_grade")) for s in view.framework.sections]
    return AuditCheck(
        allocation=allocation,
        answers=answers,
        section_grades=sections,
        overall_grade=answers.get("overall_grade"),
        date_completed=completed,
        late=bool(completed and due and completed > due),
        safeguarding=view.text("safeguarding_concern").casefold() == "yes",
        errors=sum(1 for p in problems if p.severity == "error"),
        warnings=sum(1 for p in problems if p.severity == "warning"),
    )


def _grade_name(view: rules.FormView, name: str) -> str | None:
    try:
        grade = view.grade(name)
    except GradeParseError:
        return None
    return grade.name if grade else None


def _iso(value: Any) -> str | None:
    parsed = rules.safe_date(value)
    return parsed.isoformat() if parsed else (rules.to_text(value) or None)


# ---------------------------------------------------------------------------------------------------------------
# Versions: which accepted submission of an audit stands
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class Standing:
    """The accepted version of one audit currently in the register."""

    audit_row_id: int
    submission_id: int
    path: str
    date_completed: date | None
    mtime: float
    replaced_by: str = ""  # set when a newer accepted version supersedes it


def standing_versions(conn: Connection, audit_ids: Iterable[str]) -> dict[str, Standing]:
    ids = sorted(set(audit_ids))
    found: dict[str, Standing] = {}
    for chunk in reg.chunks(ids):
        rows = conn.execute(
            sa.select(
                reg.audits.c.id,
                reg.audits.c.audit_id,
                reg.audits.c.submission_id,
                reg.audits.c.date_completed,
                reg.submissions.c.path,
                reg.submissions.c.mtime,
            )
            .join(reg.submissions, reg.submissions.c.id == reg.audits.c.submission_id)
            .where(reg.audits.c.current.is_(True), reg.audits.c.audit_id.in_(chunk))
        ).all()
        for row in rows:
            found[row.audit_id] = Standing(row.id, row.submission_id, row.path, row.date_completed, row.mtime or 0.0)
    return found


def _order_key(completed: date | None, mtime: float, name: str) -> tuple[date, float, str]:
    # Oldest first: earlier date completed, then earlier file modification time, then file name.
    return (completed or date.min, mtime, name)


def settle_versions(entries: Sequence[Entry], standing: Mapping[str, Standing]) -> list[Standing]:
    """Decide superseding among this run's accepted files and the register's standing versions.

    Each accepted version supersedes the one accepted before it (oldest first, in one run or across runs); a returned
    file supersedes nothing and is told which version stands. Returns the standing versions now superseded.
    """
    by_audit: dict[str, list[Entry]] = {}
    for e in entries:
        if e.outcome == "accepted" and e.check is not None:
            by_audit.setdefault(e.audit_id, []).append(e)
    displaced: list[Standing] = []
    for audit_id, group in by_audit.items():
        old = standing.get(audit_id)
        versions: list[tuple[tuple[date, float, str], Entry | Standing]] = [
            (_order_key(e.check.date_completed if e.check else None, e.mtime, e.rel), e) for e in group
        ]
        if old is not None:
            versions.append((_order_key(old.date_completed, old.mtime, old.path), old))
        versions.sort(key=lambda item: item[0])
        for (_, earlier), (_, later) in itertools.pairwise(versions):
            later_name = later.rel if isinstance(later, Entry) else later.path
            earlier_name = earlier.rel if isinstance(earlier, Entry) else earlier.path
            if isinstance(earlier, Entry):
                earlier.outcome = "superseded"
                earlier.codes.append("IN103")
                earlier.message = messages.text("IN103", other=later_name)
            else:
                earlier.replaced_by = later_name
                displaced.append(earlier)
            if isinstance(later, Entry):
                later.codes.append("IN102")
                later.message = (later.message + " " + messages.text("IN102", other=earlier_name)).strip()
    for e in entries:
        if e.outcome == "returned" and e.audit_id in standing:
            e.codes.append("IN104")
            e.standing = standing[e.audit_id].path
            e.message += " " + messages.text("IN104", other=e.standing)
    return displaced


def record_audits(
    conn: Connection, entries: Sequence[Entry], displaced: Sequence[Standing], accepted_at: str
) -> dict[int, int]:
    """Append ``audits`` rows (and ``section_grades``) for every accepted or superseded new version; mark displaced
    standing versions not current. Returns submission ID -> audit row ID."""
    if displaced:
        conn.execute(
            sa.update(reg.audits).where(reg.audits.c.id.in_([d.audit_row_id for d in displaced])).values(current=False)
        )
        for d in displaced:
            conn.execute(
                sa.update(reg.submissions)
                .where(reg.submissions.c.id == d.submission_id)
                .values(outcome="superseded", message=messages.text("IN103", other=d.replaced_by or "a newer version"))
            )
    versions = [e for e in entries if e.outcome in ("accepted", "superseded") and e.check and not e.known]
    if not versions:
        return {}
    conn.execute(
        sa.insert(reg.audits),
        [
            dict(
                audit_id=e.audit_id,
                submission_id=e.submission_id,
                month=e.check.month,
                date_completed=e.check.date_completed,
                late=e.check.late,
                overall_grade=e.check.overall_grade,
                answers=e.check.answers,
                current=e.outcome == "accepted",
                accepted_at=accepted_at,
            )
            for e in versions
            if e.check is not None
        ],
    )
    submission_ids = [e.submission_id for e in versions]
    rows = conn.execute(
        sa.select(reg.audits.c.id, reg.audits.c.submission_id).where(reg.audits.c.submission_id.in_(submission_ids))
    ).all()
    row_ids = {r.submission_id: r.id for r in rows}
    grade_rows = [
        dict(audit_row_id=row_ids[e.submission_id], section=n, grade=g, source="auditor")
        for e in versions
        if e.check is not None and e.submission_id is not None
        for n, g in e.check.section_grades
    ]
    if grade_rows:
        conn.execute(sa.insert(reg.section_grades), grade_rows)
    return row_ids


__all__ = [
    "AuditBook",
    "check_audit",
    "check_audit_safely",
    "check_audits",
    "record_audits",
    "settle_versions",
    "standing_versions",
]
