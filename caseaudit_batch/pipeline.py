"""The only module that chains stages. Each command is a function returning a result object; the CLI is a thin
shell over these (sqlite-utils is the model)."""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import io
import logging
import shutil
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import actions as action_register
from . import (
    feedback,
    forms,
    ingest,
    ingest_notices,
    messages,
    moderation,
    moderation_form,
    moderation_ingest,
    moderation_register,
    ui,
)
from . import register as reg
from .allocation import (
    HOW_FILE,
    HOW_RANDOM,
    HOW_RECENT,
    FollowupOffer,
    Rules,
    allocate,
    check_pairs,
    conflict,
    recent_window,
    review_period,
    three_way_meeting,
)
from .clock import Clock, Month
from .config import DEFAULT_CONFIG_NAME, Config, config_template_text, load_config
from .errors import EXIT_DATAERR, EXIT_OK, CaseauditError, ConfigError
from .followup_register import PreviousAudit, due_for_month, previous_audit
from .framework import Framework, load_framework
from .moderation_register import ModerationError
from .notify import Notice, Outbox, render_notice, stage_notice, template_env
from .outputs import Staging, ensure_dir, recover
from .register import Register
from .reminders import reminder_date
from .retention import purge_register
from .roster import (
    ALL_ROLES,
    AUDIT_STATUSES,
    CASE_TYPES,
    CASELOAD_HEADERS,
    ROSTER_HEADERS,
    Case,
    Caseload,
    InputTableError,
    Person,
    Roster,
    load_caseload,
    load_pairs,
    load_roster,
)

if TYPE_CHECKING:
    from openpyxl import Workbook

    from .metrics import Targets

log = logging.getLogger("caseaudit")

INBOXES = ("audits", "moderation", "actions")


@dataclass
class Result:
    """What a command did: lines for the summary, files written, what needs attention, and its exit code."""

    command: str
    exit_code: int = EXIT_OK
    lines: list[str] = field(default_factory=list)
    outputs: list[Path] = field(default_factory=list)
    attention: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    config: Config
    clock: Clock
    framework: Framework
    _register: Register | None = None

    @property
    def register(self) -> Register:
        if self._register is None:
            self._register = Register.open(self.config.database_url)
        return self._register

    def close(self) -> None:
        if self._register is not None:
            self._register.close()


def open_context(config_path: str | Path | None, today: str | None) -> Context:
    """Load the config and framework; the register opens on first use."""
    clock = Clock.from_option(today)
    config = load_config(config_path)
    framework = load_framework(config.template("framework", "framework.toml"))
    return Context(config=config, clock=clock, framework=framework)


def require_inboxes(config: Config) -> None:
    """A missing or moved inbox folder is a configuration error (exit 2), never an empty month."""
    for kind in INBOXES:
        folder = config.inbox(kind)
        if not folder.is_dir():
            raise ConfigError(
                "CFG004", what=f"{kind} inbox", folder=str(folder), key=f"folders.{kind}_inbox", path=str(config.path)
            )


@dataclass
class Run:
    """A writing command in progress: its connection, its staging area and its run-log row."""

    conn: Connection
    staging: Staging
    run_id: int
    outputs: list[str] = field(default_factory=list)
    inputs: dict[str, Any] = field(default_factory=dict)


@contextlib.contextmanager
def writing(ctx: Context, command: str, arguments: dict[str, Any]) -> Iterator[Run]:
    """Lock the register, finish any interrupted output moves, then run the block as one transaction.

    Output files are staged and only moved into place after the transaction commits.
    """
    register = ctx.register
    folder_mode = ctx.config.mode("folder_mode")
    file_mode = ctx.config.mode("file_mode")
    with register.lock():
        ensure_dir(ctx.config.output_dir, folder_mode)
        with register.reader() as conn:
            committed = {
                row[0]
                for row in conn.execute(sa.select(reg.run_log.c.staging).where(reg.run_log.c.staging.is_not(None)))
            }
        moved, _ = recover(ctx.config.output_dir, committed, folder_mode=folder_mode, file_mode=file_mode)
        if moved:
            log.info("finished moving %d output files from an interrupted run", len(moved))
        staging = Staging(ctx.config.output_dir, folder_mode=folder_mode, file_mode=file_mode)
        try:
            with register.engine.begin() as conn:
                run_id = conn.execute(
                    sa.insert(reg.run_log).values(
                        command=command,
                        arguments=arguments,
                        user=_user(),
                        today=ctx.clock.today,
                        started_at=ctx.clock.now_iso(),
                        staging=staging.token,
                    )
                ).inserted_primary_key
                assert run_id is not None
                run = Run(conn=conn, staging=staging, run_id=int(run_id[0]))
                with staging.batch():  # the staging journal written once, the files by background threads
                    yield run
                conn.execute(
                    sa.update(reg.run_log)
                    .where(reg.run_log.c.id == run.run_id)
                    .values(
                        finished_at=ctx.clock.now_iso(),
                        inputs=run.inputs,
                        outputs=[str(p) for p in staging.files] + run.outputs,
                    )
                )
        except BaseException:
            staging.discard()
            raise
        staging.publish()


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


# ---------------------------------------------------------------------------------------------------------------
# init
# ---------------------------------------------------------------------------------------------------------------
def init_workspace(folder: Path, organisation: str | None = None) -> Result:
    """Create a working folder: config with commented defaults, inboxes, output, blank roster and caseload."""
    folder = Path(folder)
    config_path = folder / DEFAULT_CONFIG_NAME
    if config_path.exists():
        raise ConfigError("CFG030", folder=str(folder), path=str(config_path))
    ensure_dir(folder)
    config_path.write_text(config_template_text(organisation), "utf-8")
    config = load_config(config_path)
    made = [config_path]
    for kind in INBOXES:
        made.append(ensure_dir(config.inbox(kind), config.mode("folder_mode")))
    made.append(ensure_dir(config.output_dir, config.mode("folder_mode")))
    roster_path = config.resolve(config.data["people"]["roster"])
    caseload_path = config.resolve(config.data["people"]["caseload"])
    from .workbook.tables import write_blank_table  # openpyxl: loaded only by the commands that write with it

    write_blank_table(roster_path, "Roster", ROSTER_HEADERS, lists={"Role": ALL_ROLES, "Audit status": AUDIT_STATUSES})
    write_blank_table(caseload_path, "Caseload", CASELOAD_HEADERS, lists={"Case type": CASE_TYPES})
    made += [roster_path, caseload_path]
    Register.open(config.database_url).close()
    result = Result("init", outputs=made)
    result.lines = [
        f"Created a caseaudit working folder in {folder}.",
        f"Next: fill in {roster_path.name} and {caseload_path.name}, check {config_path.name}, "
        "then run 'caseaudit allocate --month YYYY-MM' in this folder.",
    ]
    return result


# ---------------------------------------------------------------------------------------------------------------
# allocate and remind
# ---------------------------------------------------------------------------------------------------------------
def _make_form(ctx: Context, prefilled: Mapping[str, object], meta: Mapping[str, str]) -> bytes:
    """The pre-filled audit form as bytes (stamped into the cached template for this framework version)."""
    return forms.render_audit_form(
        ctx.framework, ctx.config.organisation, prefilled, meta, password=forms.form_password(ctx.config)
    )


class NoEligibleCase(CaseauditError):
    """A reassignment found no other case for the auditor: exit 65."""

    exit_code = EXIT_DATAERR


def _rules(config: Config) -> Rules:
    section = config.section("allocation")
    for role in section["auditing_roles"]:
        if role not in ALL_ROLES:
            raise ConfigError(
                "CFG003",
                path=str(config.path),
                key="allocation.auditing_roles",
                found=repr(role),
                what="it is not a role caseaudit knows",
                expected="a list of roles from: " + ", ".join(ALL_ROLES),
            )
    return Rules(
        auditing_roles=tuple(section["auditing_roles"]),
        senior_conflict=str(section["senior_conflict"]),
        followup_share=float(section["followup_share"]),
    )


def _check_named_people(config: Config, roster: Roster) -> list[str]:
    """Staff IDs the configuration names (QA's people) that the roster does not hold: warnings, not errors."""
    people = config.section("people")
    named = [
        ("people.hos_quality_assurance", "the Head of Service for Quality Assurance", people["hos_quality_assurance"]),
        ("people.qa_officer", "the QA officer", people["qa_officer"]),
    ] + [("people.moderators", "a moderator", staff_id) for staff_id in people["moderators"]]
    return [
        messages.render("AL043", found=staff_id, what=what, key=key)
        for key, what, staff_id in named
        if staff_id and roster.get(str(staff_id)) is None
    ]


def _people_paths(ctx: Context, roster: str | Path | None, caseload: str | Path | None) -> tuple[Path, Path]:
    people = ctx.config.section("people")
    return (
        Path(roster) if roster else ctx.config.resolve(people["roster"]),
        Path(caseload) if caseload else ctx.config.resolve(people["caseload"]),
    )


def load_people(
    ctx: Context, roster: str | Path | None = None, caseload: str | Path | None = None
) -> tuple[Roster, Caseload]:
    """The roster and caseload named on the command line or in the configuration, fully checked."""
    roster_path, caseload_path = _people_paths(ctx, roster, caseload)
    loaded = load_roster(roster_path)
    return loaded, load_caseload(caseload_path, loaded)


def _sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _save_people(conn: Connection, roster: Roster, caseload: Caseload, now: str) -> None:
    """Keep the register's people and cases as last loaded; people and cases no longer listed stay (IDs resolve)."""
    staff_rows = [
        {
            "staff_id": p.staff_id,
            "name": p.name,
            "email": p.email,
            "role": p.role,
            "team": p.team,
            "service": p.service,
            "line_manager_id": p.line_manager_id,
            "audit_status": p.audit_status,
            "paused_until": p.paused_until,
            "pause_reason": p.pause_reason,
            "loaded_at": now,
        }
        for p in roster.people.values()
    ]
    for chunk in reg.chunks(list(roster.people)):
        conn.execute(sa.delete(reg.staff).where(reg.staff.c.staff_id.in_(chunk)))
    if staff_rows:
        conn.execute(sa.insert(reg.staff), staff_rows)
    conn.execute(sa.update(reg.cases).values(open=False))
    refs = [c.case_ref for c in caseload.cases]
    for chunk in reg.chunks(refs):
        conn.execute(sa.delete(reg.cases).where(reg.cases.c.case_ref.in_(chunk)))
    case_rows = [
        {
            "case_ref": c.case_ref,
            "case_type": c.case_type,
            "service": c.service,
            "team": c.team,
            "social_worker_id": c.social_worker_id,
            "team_manager_id": c.team_manager_id,
            "allocated_on": c.allocated_on,
            "previous_worker_id": c.previous_worker_id,
            "cp_iro_id": c.cp_iro_id,
            "opened_on": c.opened_on,
            "open": True,
            "loaded_at": now,
        }
        for c in caseload.cases
    ]
    if case_rows:
        conn.execute(sa.insert(reg.cases), case_rows)


def _recent_cases(conn: Connection, month: Month) -> set[str]:
    """Cases audited (allocated and not withdrawn or replaced) in the 12 months before ``month``."""
    a = reg.allocations
    rows = conn.execute(
        sa.select(a.c.case_ref).where(a.c.month.in_(recent_window(month)), a.c.status == "allocated")
    ).scalars()
    return set(rows)


def _current(conn: Connection, month: str) -> list[Any]:
    a = reg.allocations
    return list(
        conn.execute(sa.select(a).where(a.c.month == month, a.c.status == "allocated").order_by(a.c.created_at))
    )


def _long_date(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def _sender(ctx: Context, roster_email: str) -> str:
    configured = str(ctx.config.section("notices")["sender"])
    return configured or roster_email or "quality.assurance@localhost"


def _sender_from_register(ctx: Context, conn: Connection) -> str:
    qa_id = str(ctx.config.section("people")["qa_officer"])
    email = conn.execute(sa.select(reg.staff.c.email).where(reg.staff.c.staff_id == qa_id)).scalar() if qa_id else None
    return _sender(ctx, email or "")


def _notice_env(ctx: Context) -> jinja2.Environment:
    given = str(ctx.config.data["templates"]["notices"])
    return template_env(ctx.config.resolve(given) if given else None)


def _record_notice(conn: Connection, month: str, audit_id: str, notice: Notice, path: Path, made_at: str) -> None:
    conn.execute(
        sa.insert(reg.notices).values(
            kind=notice.kind,
            month=month,
            audit_id=audit_id,
            to_addr="; ".join(notice.to),
            cc_addr="; ".join(notice.cc),
            subject=notice.subject,
            file=path.relative_to(path.parents[1]).as_posix(),
            made_at=made_at,
        )
    )


@dataclass
class _Issuer:
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

    @property
    def folder(self) -> Path:
        return self.ctx.config.output_dir / str(self.month)

    def prefilled(self, audit_id: str, person: Person, case: Case) -> dict[str, object]:
        """The 15 pre-filled contract fields; people by name (issue 3)."""
        service_manager = self.roster.service_manager_for(case)
        return {
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
        audit_id = str(uuid.uuid4())
        prefilled = self.prefilled(audit_id, person, case)
        meta = {
            "form_kind": "audit",
            "audit_id": audit_id,
            "framework_version": self.ctx.framework.version,
            "generator_version": forms.GENERATOR_VERSION,
            "month": month,
            "case_ref": case.case_ref,
            "auditor_id": person.staff_id,
        }
        filename = forms.form_filename(month, case.case_ref, person.name)
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
        conn.execute(
            sa.insert(reg.allocations).values(
                audit_id=audit_id,
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
            due_date=_long_date(self.month.last_day),
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
        stem = Path(filename).stem
        self.send(notice, audit_id, f"{stem}_{template}.eml")
        return audit_id

    def send(self, notice: Notice, audit_id: str, name: str) -> None:
        made_at = self.ctx.clock.now_iso()
        path = self.folder / "notices" / name
        stage_notice(self.run.staging, self.outbox, str(self.month), path, notice, self.sender, made_at)
        _record_notice(self.run.conn, str(self.month), audit_id, notice, path, made_at)
        self.notices_made += 1

    def note(self, batch_id: int | None, kind: str, staff_id: str | None, audit_id: str | None, detail: str) -> None:
        self.run.conn.execute(
            sa.insert(reg.allocation_notes).values(
                batch_id=batch_id,
                month=str(self.month),
                kind=kind,
                staff_id=staff_id,
                audit_id=audit_id,
                detail=detail,
                created_at=self.ctx.clock.now_iso(),
            )
        )


def _followup_kept(ctx: Context, conn: Connection, old: Any, same_case: bool) -> dict[str, Any]:
    """A follow-up passed to another auditor stays a follow-up of the same audit (a new case does not)."""
    if not same_case or old.kind != "followup" or not old.followup_of:
        return {}
    earlier = previous_audit(conn, ctx.framework, old.followup_of)
    after_months = int(ctx.config.section("allocation")["followup_after_months"])
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


def allocate_month(
    ctx: Context,
    month: str,
    *,
    roster: str | Path | None = None,
    caseload: str | Path | None = None,
    replace: bool = False,
    from_file: str | Path | None = None,
) -> Result:
    """``caseaudit allocate``: one case for every active auditor, with forms, notices and allocations.xlsx."""
    the_month = Month.parse(month)
    rules = _rules(ctx.config)
    people, cases = load_people(ctx, roster, caseload)
    pairs = load_pairs(Path(from_file), people, cases) if from_file else []
    roster_path, caseload_path = _people_paths(ctx, roster, caseload)
    arguments = {"month": str(the_month), "replace": replace, "from_file": str(from_file) if from_file else None}
    result = Result("allocate")
    with writing(ctx, "allocate", arguments) as run:
        conn = run.conn
        run.inputs = {"roster": str(roster_path), "roster_sha256": _sha256(roster_path)}
        run.inputs.update(caseload=str(caseload_path), caseload_sha256=_sha256(caseload_path))
        b = reg.allocation_batches
        existing = conn.execute(sa.select(b).where(b.c.month == str(the_month), b.c.status == "current")).first()
        if existing is not None:
            if not replace:
                count = len(_current(conn, str(the_month)))
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
        taken = {row.case_ref for row in _current(conn, str(the_month))}
        if pairs:
            found = check_pairs(pairs, people, cases, rules, file=str(from_file), taken=taken)
            if found:
                raise InputTableError(str(from_file), "allocation pairs", found)
        _save_people(conn, people, cases, ctx.clock.now_iso())
        after_months = int(ctx.config.section("allocation")["followup_after_months"])
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
            recent=_recent_cases(conn, the_month),
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
        qa_id = str(ctx.config.section("people")["qa_officer"])
        issuer = _Issuer(ctx, run, the_month, people, outbox, _notice_env(ctx), _sender(ctx, people.email(qa_id)))
        by_ref = cases.by_ref()
        recent_used = 0
        followups_made = 0
        for item in ui.progress(plan.assignments, "Making forms and notices", total=len(plan.assignments)):
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
        conn.execute(sa.update(b).where(b.c.id == batch_id).values(summary=summary))
        allocations_path = write_allocations_workbook(ctx, conn, run, the_month)
        outbox.write(run.staging)

    passed = sum(len(r) for r in plan.passed_over.values())
    reasons = "; ".join(f"{len(r)} {reason}" for reason, r in sorted(plan.passed_over.items())) or "none"
    result.lines += [
        messages.text(
            "AL030",
            allocated=len(plan.assignments),
            label=the_month.label,
            due=_long_date(the_month.last_day),
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
    result.attention += _check_named_people(ctx.config, people)
    result.outputs = [allocations_path, issuer.folder / "outbox.csv"]
    result.data = {"summary": summary, "batch_id": batch_id}
    if plan.unallocated:
        result.exit_code = EXIT_DATAERR
    return result


def _case_from_register(conn: Connection, case_ref: str) -> Case | None:
    row = conn.execute(sa.select(reg.cases).where(reg.cases.c.case_ref == case_ref)).first()
    if row is None:
        return None
    return Case(
        case_ref=row.case_ref,
        case_type=row.case_type or "",
        service=row.service or "",
        team=row.team or "",
        social_worker_id=row.social_worker_id or "",
        team_manager_id=row.team_manager_id or "",
        allocated_on=row.allocated_on,
        previous_worker_id=row.previous_worker_id or "",
        cp_iro_id=row.cp_iro_id or "",
        opened_on=row.opened_on,
    )


def reassign(
    ctx: Context,
    month: str,
    audit_id: str,
    *,
    to: str | None = None,
    roster: str | Path | None = None,
    caseload: str | Path | None = None,
) -> Result:
    """``allocate --reassign``: with ``to``, the same case to another auditor; without, a new case for the same
    auditor. The old form is withdrawn, a new audit ID and form are made, everyone concerned is told."""
    the_month = Month.parse(month)
    rules = _rules(ctx.config)
    people, cases = load_people(ctx, roster, caseload)
    result = Result("allocate")
    arguments = {"month": str(the_month), "reassign": audit_id, "to": to}
    with writing(ctx, "allocate", arguments) as run:
        conn = run.conn
        a = reg.allocations
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
        old_case = cases.by_ref().get(old.case_ref) or _case_from_register(conn, old.case_ref)
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
            taken = {row.case_ref for row in _current(conn, str(the_month))}
            plan = allocate(
                the_month,
                ctx.clock.today,
                people,
                cases,
                rules,
                recent=_recent_cases(conn, the_month),
                taken=taken,
                only=[person],
                extra_seed=audit_id,
            )
            if not plan.assignments:
                raise NoEligibleCase("AL026", name=person.name, reason=plan.unallocated[0].reason)
            new_case = cases.by_ref()[plan.assignments[0].case_ref]
            reason = f"case {old.case_ref} was withdrawn from audit (closed or transferred)"
        _save_people(conn, people, cases, ctx.clock.now_iso())
        conn.execute(sa.update(a).where(a.c.audit_id == audit_id).values(status="withdrawn", status_reason=reason))
        outbox = Outbox(ctx.config.output_dir)
        issuer = _Issuer(ctx, run, the_month, people, outbox, _notice_env(ctx), _sender_from_register(ctx, conn))
        new_id = issuer.issue(
            person,
            new_case,
            old.batch_id,
            "reassignment",
            {"same_auditor": not to, "old_case_ref": old.case_ref, "old_audit_id": audit_id, "reason": reason},
            **_followup_kept(ctx, conn, old, bool(to)),
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
            reason=reason,
            new_auditor=person.name if to else "",
        )
        stem = Path(old.form_file or forms.form_filename(str(the_month), old.case_ref, old.staff_id)).stem
        issuer.send(withdrawal, audit_id, f"{stem}_withdrawal.eml")
        allocations_path = write_allocations_workbook(ctx, conn, run, the_month)
        outbox.write(run.staging)
    result.lines.append(
        messages.text("AL038", old=audit_id, what=reason + f"; case {new_case.case_ref} to {person.name}", new=new_id)
    )
    result.outputs = [allocations_path]
    result.data = {
        "old_audit_id": audit_id,
        "new_audit_id": new_id,
        "case_ref": new_case.case_ref,
        "staff_id": person.staff_id,
    }
    return result


ALLOCATION_COLUMNS = (
    "Auditor",
    "Staff ID",
    "Role",
    "Case reference",
    "Case type",
    "Team",
    "Service",
    "Social worker",
    "Team manager",
    "Service manager",
    "CP coordinator / IRO",
    "Due date",
    "Three-way meeting",
    "How chosen",
    "Form",
    "Audit ID",
)


def _landscape(wb: Workbook) -> None:
    """Printed on landscape pages with the header row repeated (wide tables; fit-to-width shrank them unreadably)."""
    for ws in wb.worksheets:
        ws.page_setup.orientation = "landscape"
        ws.print_title_rows = "1:1"


def write_allocations_workbook(ctx: Context, conn: Connection, run: Run, month: Month) -> Path:
    """``allocations.xlsx`` for QA, rebuilt from the register: current allocations, exemptions with reasons,
    auditors without a case, cases passed over, and every override (kept and shown)."""
    from openpyxl import Workbook

    from .workbook.tables import add_sheet_table

    n, s = reg.allocation_notes, reg.staff
    staff = {row.staff_id: row for row in conn.execute(sa.select(s))}
    notes = list(conn.execute(sa.select(n).where(n.c.month == str(month)).order_by(n.c.id)))
    batch = conn.execute(
        sa.select(reg.allocation_batches.c.id).where(
            reg.allocation_batches.c.month == str(month), reg.allocation_batches.c.status == "current"
        )
    ).scalar()
    current_notes = [x for x in notes if x.batch_id == batch]
    how = {x.audit_id: x.detail for x in current_notes if x.kind in ("override", "recent", "followup")}
    three_way = {x.audit_id for x in current_notes if x.kind == "three_way"}
    rows = []
    for row in _current(conn, str(month)):
        p = row.prefilled
        rows.append(
            [
                p.get("auditor_name", ""),
                row.staff_id,
                p.get("auditor_role", ""),
                row.case_ref,
                p.get("case_type", ""),
                p.get("team", ""),
                p.get("service", ""),
                p.get("social_worker", ""),
                p.get("team_manager", ""),
                p.get("service_manager", ""),
                p.get("cp_iro", ""),
                row.due_date,
                "Advised" if row.audit_id in three_way else "",
                how.get(row.audit_id, HOW_RANDOM if row.kind == "audit" else row.kind),
                row.form_file or "",
                row.audit_id,
            ]
        )
    rows.sort(key=lambda r: (str(r[6]), str(r[5]), str(r[0])))

    def person_cells(staff_id: str | None) -> list[object]:
        person = staff.get(staff_id or "")
        return [staff_id or "", person.name if person else "", person.role if person else ""]

    wb = Workbook()
    add_sheet_table(wb, "Allocations", ALLOCATION_COLUMNS, rows, first=True)
    add_sheet_table(
        wb,
        "Exemptions",
        ("Staff ID", "Name", "Role", "Reason"),
        [[*person_cells(x.staff_id), x.detail] for x in current_notes if x.kind == "exempt"],
    )
    add_sheet_table(
        wb,
        "No case",
        ("Staff ID", "Name", "Role", "Reason"),
        [[*person_cells(x.staff_id), x.detail] for x in current_notes if x.kind == "unallocated"],
    )
    add_sheet_table(
        wb,
        "Passed over",
        ("Cases not offered for audit",),
        [[x.detail] for x in current_notes if x.kind == "passed_over"],
    )
    add_sheet_table(
        wb,
        "Follow-ups waiting",
        ("Follow-ups due but not allocated this month (they stay due)",),
        [[x.detail] for x in current_notes if x.kind == "followup_waiting"],
    )
    add_sheet_table(
        wb,
        "Overrides",
        ("Made at", "Kind", "Staff ID", "Name", "Role", "Audit ID", "Detail"),
        [
            [x.created_at, x.kind, *person_cells(x.staff_id), x.audit_id or "", x.detail]
            for x in notes
            if x.kind in ("override", "reassign")
        ],
    )
    _landscape(wb)
    buffer = io.BytesIO()
    wb.save(buffer)
    path = ctx.config.output_dir / str(month) / "allocations.xlsx"
    run.staging.write_bytes(path, buffer.getvalue())
    return path


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
    "Audit ID",
)


def remind_month(ctx: Context, month: str, *, force: bool = False) -> Result:
    """``caseaudit remind``: before the reminder date, say when it is; on or after it, one reminder per audit not yet
    accepted (line manager in copy), recorded so a second run makes none unless ``force``."""
    the_month = Month.parse(month)
    lead_days = int(ctx.config.section("reminders")["lead_days"])
    due = reminder_date(the_month, lead_days)
    result = Result("remind", data={"reminder_date": due.isoformat()})
    if ctx.clock.today < due:
        result.lines.append(
            messages.text(
                "AL050",
                label=the_month.label,
                date=_long_date(due),
                today=ctx.clock.today.isoformat(),
                month=str(the_month),
            )
        )
        result.data["made"] = 0
        return result
    with writing(ctx, "remind", {"month": str(the_month), "force": force}) as run:
        conn = run.conn
        allocated = _current(conn, str(the_month))
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
        env = _notice_env(ctx)
        sender = _sender_from_register(ctx, conn)
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
                        due_date=_long_date(row.due_date),
                        form_file=row.form_file or "",
                        line_manager=manager.name if manager is not None else "",
                    ),
                )
                made_at = ctx.clock.now_iso()
                path = folder / "notices" / f"{Path(row.form_file or row.audit_id).stem}_reminder_{stamp}.eml"
                stage_notice(run.staging, outbox, str(the_month), path, notice, sender, made_at)
                _record_notice(conn, str(the_month), row.audit_id, notice, path, made_at)
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
                    row.audit_id,
                ]
            )
        from openpyxl import Workbook

        from .workbook.tables import add_sheet_table

        wb = Workbook()
        add_sheet_table(
            wb, "Reminders", REMINDER_COLUMNS, sorted(table, key=lambda r: (str(r[7]), str(r[0]))), first=True
        )
        _landscape(wb)
        buffer = io.BytesIO()
        wb.save(buffer)
        summary_path = folder / f"reminders-{the_month}.xlsx"
        run.staging.write_bytes(summary_path, buffer.getvalue())
        outbox.write(run.staging)
    result.lines.append(
        messages.text(
            "AL051",
            label=the_month.label,
            date=_long_date(due),
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


# ---------------------------------------------------------------------------------------------------------------
# ingest and check
# ---------------------------------------------------------------------------------------------------------------
def _audit_book(ctx: Context, conn: Connection) -> ingest.AuditBook:
    return ingest.AuditBook.load(conn, ctx.framework, ctx.config.data.get("validation", {}))


def ingest_inbox(ctx: Context, month: str | None = None) -> Result:
    """``caseaudit ingest``: read every file in the audits inbox, give each one outcome, raise safeguarding alerts at
    once, share accepted audits, feed back on returned and flagged ones, and write the manifest and QA workbook."""
    require_inboxes(ctx.config)
    filed = str(Month.parse(month)) if month else str(Month.of(ctx.clock.today))
    folder = ctx.config.inbox("audits")
    result = Result("ingest")
    with writing(ctx, "ingest", {"month": filed}) as run:
        conn = run.conn
        book = _audit_book(ctx, conn)
        entries = ingest.gather(conn, "audits", folder)
        ingest.check_audits(entries, book)
        standing = ingest.standing_versions(
            conn, [e.audit_id for e in entries if e.outcome in ("accepted", "returned")]
        )
        displaced = ingest.settle_versions(entries, standing)
        seen_at = ctx.clock.now_iso()
        ingest.record_submissions(conn, run.run_id, "audits", filed, entries, seen_at)
        ingest.record_audits(conn, entries, displaced, seen_at)
        # Guidance section 2: actions are tracked from the moment an audit is received, so the action register
        # follows every newly accepted version in the same transaction (a report straight after sees them).
        action_catch_up = action_register.sync_from_register(conn, ctx.clock)
        timestamp = ctx.clock.timestamp()
        out = ctx.config.output_dir
        outbox = Outbox(out)
        notices = ingest_notices.Notices(
            conn=conn,
            staging=run.staging,
            outbox=outbox,
            clock=ctx.clock,
            output_dir=out,
            people=feedback.People.load(conn),
            env=_notice_env(ctx),
            sender=_sender_from_register(ctx, conn),
            organisation=str(ctx.config.data["organisation"]["name"]),
            qa_officer=ctx.config.data["people"].get("qa_officer"),
        )
        alerts = notices.alerts(entries, timestamp)
        shared = notices.share(entries)
        fed_back = notices.give_feedback(entries)
        manifest = ingest.manifest_path(out, filed, "audits", timestamp)
        run.staging.write_bytes(manifest, ingest.manifest_bytes(entries))
        validation = ingest_notices.validation_path(out, filed)
        run.staging.write_bytes(validation, ingest_notices.validation_bytes(conn, filed))
        outbox.write(run.staging)
        notices.flush()
        tally = ingest.counts(entries)
        run.inputs = {"audits_inbox": {k: v for k, v in tally.items() if v}, "files": len(entries)}
        new_problems = [e for e in entries if not e.known and e.outcome in ingest.NEW_FILE_PROBLEMS]
    result.attention = alerts
    result.lines = _summary_lines(entries, tally)
    result.lines.append(
        f"Shared {shared} accepted audit(s); feedback for {fed_back} audit(s); manifest {manifest.name}; "
        f"QA workbook {validation.name}."
    )
    if action_catch_up.created or action_catch_up.replaced:
        result.lines.append(
            f"Action register: {action_catch_up.created} new action(s), {action_catch_up.replaced} replaced."
        )
    result.outputs = [manifest, validation]
    result.data = {"counts": tally, "entries": entries, "alerts": len(alerts)}
    if new_problems:
        result.exit_code = EXIT_DATAERR
    return result


def _summary_lines(entries: Sequence[ingest.Entry], tally: dict[str, int]) -> list[str]:
    parts = ", ".join(f"{n} {name}" for name, n in tally.items())
    lines = [f"Files seen: {len(entries)} ({parts})."]
    for e in entries:
        if not e.known and e.outcome in ("returned", "rejected"):
            lines.append(f"  {e.outcome}: {e.rel}: [{';'.join(e.codes[:3])}] {e.message} {_first_fix(e)}".rstrip())
    return lines


def _first_fix(entry: ingest.Entry) -> str:
    if entry.problems:
        return entry.problems[0].fix
    return messages.fix(entry.codes[0]) if entry.codes and entry.codes[0] in messages.CATALOGUE else ""


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
        paths = ingest.list_files(folder)
    with ctx.register.reader() as conn:
        book = _audit_book(ctx, conn)
        entries = ingest.gather(None, "audits", folder, paths)
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
                    "IN112", audit_id=e.audit_id, case_ref=e.check.case_ref, date=str(raised[e.audit_id])[:10]
                )
            else:
                line = messages.render("IN110", audit_id=e.audit_id, case_ref=e.check.case_ref)
            result.attention.append(f"{line} File: {e.rel}.")
    for e in entries:
        result.lines.append(f"{e.rel}: {e.outcome.upper()}" + (f" [{';'.join(e.codes)}]" if e.codes else ""))
        if e.problems:
            for p in e.problems:
                result.lines.append(f"  - {p.severity}: {p.where}")
                result.lines.append(f"    What we found: {feedback.shown(p.found, 120) if p.found else '(blank)'}")
                result.lines.append(f"    What is wrong: {p.message}")
                result.lines.append(f"    How to fix: {p.fix}")
        elif e.outcome in ("rejected", "ignored", "duplicate"):
            result.lines.append(f"  {e.message} {_first_fix(e)}".rstrip())
    tally = ingest.counts(entries)
    result.lines.append(
        f"Checked {len(entries)} file(s): " + ", ".join(f"{n} {k}" for k, n in tally.items() if n) + "."
    )
    result.data = {"entries": entries, "counts": tally}
    if any(e.outcome in ("rejected", "returned") for e in entries):
        result.exit_code = EXIT_DATAERR
    return result


# ---------------------------------------------------------------------------------------------------------------
# moderate
# ---------------------------------------------------------------------------------------------------------------
def moderation_policy(config: Config, framework: Framework) -> moderation.SamplingPolicy:
    """``[moderation]`` checked: every grade in ``always`` must be one of the framework's grades."""
    policy = moderation.SamplingPolicy.from_settings(config.section("moderation"))
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
    month: str,
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
    the_month = str(Month.parse(month))
    if (note is not None or grade is not None) and not resolve:
        raise ModerationError("MOD016")
    if add and remove and add.strip() == remove.strip():
        raise ModerationError("MOD005", audit_id=add)
    policy = moderation_policy(ctx.config, ctx.framework)
    settings = ctx.config.section("moderation")
    people_settings = ctx.config.section("people")
    moderators = [str(m) for m in people_settings.get("moderators", [])]
    due = moderation.moderation_due_date(ctx.clock.today, int(settings["due_days"]))
    now = ctx.clock.now_iso()
    user = _user()
    arguments = {"month": the_month, "add": add, "remove": remove, "resolve": resolve, "grade": grade}
    result = Result("moderate")
    if resolve:
        with writing(ctx, "moderate", arguments) as run:
            done = moderation_register.resolve_escalation(run.conn, ctx.framework, resolve, note or "", grade, now=now)
            _resolution_notice(ctx, run, done, note or "")
        result.data["resolved"] = done
        final = f"; the final grade of audit {done['audit_id']} is now {done['grade']}" if done["grade"] else ""
        result.lines.append(f"Escalation {done['escalation_id']} ({done['kind']}) recorded as resolved{final}.")
        return result
    require_inboxes(ctx.config)
    with writing(ctx, "moderate", arguments) as run:
        kit = _ModerationKit.open(ctx, run)
        entries = _ingest_moderation_forms(ctx, run, kit, the_month, result)
        if remove:
            moderation_register.remove_audit(run.conn, the_month, remove.strip(), now=now, user=user, run_id=run.run_id)
            result.lines.append(f"Audit {remove.strip()} removed from the moderation sample for {the_month}.")
        if add:
            added = moderation_register.add_audit(
                run.conn, the_month, add.strip(), moderators, due, now=now, user=user, run_id=run.run_id
            )
            result.lines.append(
                f"Audit {add.strip()} added to the moderation sample for {the_month}."
                if added.added
                else f"Audit {add.strip()} was already in the moderation sample for {the_month}."
            )
        moderation_register.assign_missing(run.conn, the_month, moderators, due)
        drawn = moderation_register.draw_sample(
            run.conn, the_month, policy, moderators, due, now=now, user=user, run_id=run.run_id
        )
        made = _make_moderation_forms(ctx, run, kit, the_month, result)
        reminded = _remind_moderators(ctx, run, kit, the_month, int(settings["reminder_days_before"]))
        kit.outbox.write(run.staging)
        sample = moderation_register.load_sample(run.conn, the_month)
        moderated = {
            r[0]
            for r in run.conn.execute(sa.select(reg.moderations.c.audit_id).where(reg.moderations.c.current.is_(True)))
        }
        e = reg.escalations
        open_escalations = list(
            run.conn.execute(
                sa.select(e.c.escalation_id, e.c.audit_id, e.c.kind, e.c.to_staff_id)
                .join(reg.allocations, reg.allocations.c.audit_id == e.c.audit_id)
                .where(e.c.status == "Open", reg.allocations.c.month == the_month)
                .order_by(e.c.escalation_id)
            )
        )
        run.inputs = {"moderation_inbox": ingest.counts(entries) if entries else {}, "sampled": len(sample)}
    sampled = [r for r in sample if r.status == moderation.SAMPLED]
    result.data.update(
        {
            "month": the_month,
            "drawn": drawn.added,
            "forms": made,
            "reminders": reminded,
            "entries": entries,
            "open_escalations": [esc.escalation_id for esc in open_escalations],
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
        f"Moderation sample for {the_month}: {len(sampled)} audits ({len(drawn.added)} drawn on this run, "
        f"{sum(1 for r in sampled if r.audit_id in moderated)} moderated); {len(made)} moderation form(s) made, "
        f"{len(reminded)} reminder(s)."
    )
    for row in sampled:
        state = "moderated" if row.audit_id in moderated else f"due {row.due_date}"
        result.lines.append(f"  {row.audit_id}  {row.reason:<8} moderator {row.moderator_id or '(none)'}  {state}")
    for audit_id in sorted({r.audit_id for r in sampled if not r.moderator_id}):
        result.attention.append(messages.render("MOD020", audit_id=audit_id, month=the_month))
    for esc in open_escalations:
        result.lines.append(
            f"  Open escalation {esc.escalation_id}: {esc.kind}, audit {esc.audit_id}, "
            f"with {esc.to_staff_id or '(nobody)'} (record the outcome with --resolve {esc.escalation_id} --note TEXT)."
        )
    result.attention += kit.attention
    if any(not e.known and e.outcome in ingest.NEW_FILE_PROBLEMS for e in entries):
        result.exit_code = EXIT_DATAERR
    return result


@dataclass
class _ModerationKit:
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

    @classmethod
    def open(cls, ctx: Context, run: Run) -> _ModerationKit:
        people = feedback.People.load(run.conn)
        data = ctx.config.data
        return cls(
            people=people,
            outbox=Outbox(ctx.config.output_dir),
            env=template_env(ctx.config.template("notices", "notices")),
            sender=_sender_from_register(ctx, run.conn),
            organisation=str(data["organisation"]["name"]),
            password=forms.form_password(ctx.config),
            hos_quality_assurance=str(data["people"].get("hos_quality_assurance") or "") or None,
            qa_officer=people.get(data["people"].get("qa_officer")),
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
        run.conn.execute(
            sa.insert(reg.notices).values(
                kind=notice.kind,
                month=month,
                audit_id=audit_id,
                to_addr="; ".join(notice.to),
                cc_addr="; ".join(notice.cc),
                subject=notice.subject,
                file=eml.relative_to(ctx.config.output_dir).as_posix(),
                made_at=made_at,
            )
        )


def _resolution_notice(ctx: Context, run: Run, done: dict[str, Any], note: str) -> None:
    """The Head of Service's decision goes to the auditor and the case's team manager, as the moderation outcome
    did (guidance section 2: the outcome is shared with them)."""
    kit = _ModerationKit.open(ctx, run)
    facts = moderation_register.audit_facts(run.conn, audit_ids=[done["audit_id"]])
    if not facts:
        return
    audit = facts[0]
    who = kit.people.case_people(audit.case_ref)
    recipients = [p for p in (kit.people.get(audit.auditor_id), who["team_manager"]) if p]
    eml = _moderation_folder(ctx, audit.month) / "notices" / f"{done['escalation_id']}-resolved.eml"
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
    kit.outbox.write(run.staging)


def _moderation_context(facts: moderation_register.AuditFacts) -> dict[str, object]:
    pre = facts.prefilled
    return {
        "audit_id": facts.audit_id,
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


def _ingest_moderation_forms(
    ctx: Context, run: Run, kit: _ModerationKit, filed: str, result: Result
) -> list[ingest.Entry]:
    """Every file in the moderation inbox gets one outcome (the ingest stage's accounting, safety checks and
    manifest); accepted forms are merged into the register, with outcome and escalation notices."""
    conn = run.conn
    folder = ctx.config.inbox("moderation")
    book = moderation_ingest.ModerationBook.load(conn, ctx.framework, ctx.config.data.get("validation", {}))
    entries = ingest.gather(conn, "moderation", folder)
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
    ingest.record_submissions(conn, run.run_id, "moderation", filed, entries, seen_at)
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
        )
        if previous is not None:
            conn.execute(
                sa.update(reg.submissions)
                .where(reg.submissions.c.id == previous)
                .values(outcome="superseded", message=messages.text("MOD031", audit_id=e.audit_id, other=e.rel))
            )
        if e.outcome == "accepted":
            _moderation_outcome_notices(ctx, run, kit, e, recorded)
    # Additional actions join the action register, marked as from moderation (guidance section 2).
    action_register.sync_from_register(conn, ctx.clock)
    _moderation_feedback(ctx, run, kit, entries)
    manifest = ingest.manifest_path(ctx.config.output_dir, filed, "moderation", ctx.clock.timestamp())
    run.staging.write_bytes(manifest, ingest.manifest_bytes(entries))
    result.outputs.append(manifest)
    tally = ingest.counts(entries)
    result.lines += [line.replace("Files seen", "Moderation files seen", 1) for line in _summary_lines(entries, tally)]
    result.lines.append(f"Moderation manifest: {manifest.name}.")
    return entries


def _moderation_outcome_notices(
    ctx: Context, run: Run, kit: _ModerationKit, entry: ingest.Entry, recorded: moderation_register.RecordedModeration
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
    stem = f"{facts.month}_{feedback.safe_name(facts.case_ref)}_{entry.submission_id}"
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
            folder / f"{escalation['escalation_id']}-escalation.eml",
            form,
            {
                **context,
                "head_of_service": head.name,
                "escalation_id": escalation["escalation_id"],
                "escalation_kind": escalation["kind"],
            },
        )


def _moderation_feedback(ctx: Context, run: Run, kit: _ModerationKit, entries: Sequence[ingest.Entry]) -> None:
    """A feedback workbook and notice to the moderator for each returned form and each accepted one with warnings."""
    for e in entries:
        check = e.check
        if e.known or not isinstance(check, moderation_ingest.ModerationCheck) or not e.problems:
            continue
        facts = check.audit
        stem = f"{facts.month}_{feedback.safe_name(facts.case_ref)}_{e.submission_id}"
        book = feedback.feedback_workbook(e.rel, e.audit_id, facts.case_ref, e.outcome, e.problems)
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


def _make_moderation_forms(ctx: Context, run: Run, kit: _ModerationKit, month: str, result: Result) -> list[str]:
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
        )
        path = _moderation_folder(ctx, month) / forms.moderation_filename(month, audit.case_ref)
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


def _remind_moderators(ctx: Context, run: Run, kit: _ModerationKit, month: str, days_before: int) -> list[str]:
    """A reminder once the due date is near (or passed) for each form not yet returned; once per audit."""
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


# ---------------------------------------------------------------------------------------------------------------
# actions
# ---------------------------------------------------------------------------------------------------------------
def actions_month(ctx: Context, month: str) -> Result:
    """``caseaudit actions --month``: bring the action register up to date (accepted audits and moderations, then
    returned trackers from the actions inbox), then make one tracker per service manager for the month."""
    require_inboxes(ctx.config)
    target = Month.parse(month)
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

    done = action_register.sync_from_register(run.conn, ctx.clock)
    result = Result("actions")
    if done.synced:
        result.lines.append(
            f"Action register: {len(done.synced)} audit or moderation version(s) read; "
            f"{done.created} new action(s), {done.replaced} no longer required (replaced)."
        )
    result.data = {"versions": len(done.synced), "created": done.created, "replaced": done.replaced}
    return result


def ingest_action_trackers(ctx: Context, run: Run, filed: str) -> Result:
    """Read every returned tracker in the actions inbox with the ingest layer's file accounting and safety checks:
    one outcome per file, the manifest ``manifest-actions-YYYYMMDD-HHMMSS.csv``, every change recorded."""
    from . import trackers

    result = Result("actions")
    conn = run.conn
    folder = ctx.config.inbox("actions")
    book = trackers.TrackerBook.load(conn)
    entries = ingest.gather(conn, "actions", folder)
    pending = [e for e in entries if e.pending]
    checked: dict[str, trackers.ReturnedTracker] = {}
    for entry in ui.progress(pending, "Reading action trackers", total=len(pending)):
        try:
            found = trackers.check_tracker_file(entry, book, ctx.clock.today)
        except Exception as exc:  # noqa: BLE001 - one unreadable file must not stop the others
            log.error("tracker %s could not be read:\n%s", entry.rel, ingest.safe_traceback(exc))
            entry.settle("rejected", "IN015", found=f"it cannot be read ({type(exc).__name__})")
            found = None
        if found is not None:
            checked[entry.rel] = found
    seen_at = ctx.clock.now_iso()
    ingest.record_submissions(conn, run.run_id, "actions", filed, entries, seen_at)
    updated = created = 0
    # Older files first, so that in the usual case each update builds on the one before.
    for entry in sorted((e for e in entries if e.rel in checked), key=lambda e: (e.mtime, e.rel)):
        returned = checked[entry.rel]
        applied = action_register.apply_tracker_entries(
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
    manifest = ingest.manifest_path(ctx.config.output_dir, filed, "actions", timestamp)
    run.staging.write_bytes(manifest, ingest.manifest_bytes(entries))
    tally = ingest.counts(entries)
    result.lines = [
        f"Action trackers returned: {len(entries)} file(s) ("
        + ", ".join(f"{n} {name}" for name, n in tally.items() if n)
        + ")."
        if entries
        else "Action trackers returned: none in the actions inbox."
    ]
    for e in entries:
        if not e.known and e.outcome in ("returned", "rejected"):
            fix = e.problems[0].fix if e.problems else (messages.fix(e.codes[0]) if e.codes else "")
            result.lines.append(f"  {e.outcome}: {e.rel}: [{';'.join(e.codes[:3])}] {e.message} {fix}".rstrip())
    if updated or created:
        result.lines.append(f"  {updated} action update(s) recorded; {created} new action(s) set in supervision.")
    result.outputs = [manifest]
    result.data = {"counts": tally, "updated": updated, "created": created, "manifest": str(manifest)}
    if any(not e.known and e.outcome in ingest.NEW_FILE_PROBLEMS for e in entries):
        result.exit_code = EXIT_DATAERR
    return result


def make_action_trackers(ctx: Context, run: Run, month: Month) -> Result:
    """One tracker per service manager: ``output/YYYY-MM/actions/YYYY-MM_actions_<service manager name>.xlsx``."""
    from . import forms, messages, trackers

    result = Result("actions")
    today = ctx.clock.today
    action_register.refresh_open_actions(run.conn)
    plans, orphans = trackers.tracker_plan(run.conn, month, today)
    organisation = str(ctx.config.data["organisation"]["name"])
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
            f"Made {len(plans)} action tracker(s) for {month.label} in {folder}: "
            f"{sum(p.open_count for p in plans)} open action(s), {sum(p.overdue_count for p in plans)} overdue."
        )
    else:
        result.lines.append(messages.render("ACT021", month=month.label))
    if orphans:
        result.attention.append(messages.render("ACT020", count=orphans))
    result.data = {"trackers": made, "without_service_manager": orphans}
    return result


# ---------------------------------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------------------------------
def report_targets(config: Config) -> Targets:
    """The configured targets and action RAG thresholds, each a share from 0 to 1."""
    from .metrics import Targets  # pandas loads only for the commands that need it

    targets = config.section("targets")
    thresholds = config.section("actions")
    for key, value in targets.items():
        if not 0 <= value <= 1:
            raise ConfigError("REP004", path=str(config.path), key=key, found=repr(value))
    return Targets(
        good_or_better=float(targets["good_or_better"]),
        ri_or_better=float(targets["ri_or_better"]),
        inadequate_at_most=float(targets["inadequate_at_most"]),
        green_at_least=float(thresholds["green_at_least"]),
        amber_at_least=float(thresholds["amber_at_least"]),
    )


def report_month(ctx: Context, month: Month, as_of: date | None = None, no_quotes: bool = False) -> Result:
    """``caseaudit report``: the metrics JSON, the Excel report, the Word report and service packs, and the
    learning themes for ``month``, all from one set of figures, judged at the report date D."""
    from .reports import build, data, themes

    report_date = ctx.clock.report_date(month, as_of)
    targets = report_targets(ctx.config)
    taxonomy = themes.load_taxonomy(ctx.config.template("themes", "themes.toml"))
    template = ctx.config.template("word_report", "report_template.docx")
    folder = ctx.config.output_dir / str(month)
    arguments = {"month": str(month), "as_of": as_of.isoformat() if as_of else None, "no_quotes": no_quotes}
    with writing(ctx, "report", arguments) as run:
        register_data = data.load_month_data(run.conn, month)
        made = build.build_month_reports(
            register_data,
            report_date=report_date,
            targets=targets,
            framework=ctx.framework,
            taxonomy=taxonomy,
            template=template,
            organisation=ctx.config.organisation,
            generated_on=ctx.clock.today,
            no_quotes=no_quotes,
        )
        for name, blob in made.files.items():
            run.staging.write_bytes(folder / name, blob)
    v = made.metrics.values
    result = Result("report", data={"metrics": v, "services": made.services})
    result.outputs = [folder / name for name in made.files]
    if not v["audits_allocated"]:
        result.attention.append(messages.render("REP003", month=str(month)))
    gob = v["overall_grade_counts"]["Outstanding"] + v["overall_grade_counts"]["Good"]
    result.lines = [
        messages.text(
            "REP011",
            completed=v["audits_completed"],
            allocated=v["audits_allocated"],
            completion=_share(v["completion_rate"]),
            graded=v["audits_graded"],
            gob=gob,
            gob_rate=_share(v["good_or_better_rate"]),
            alerts=v["safeguarding_alerts"],
            overdue=v["actions_overdue"],
        ),
        messages.text("REP010", month=str(month), report_date=report_date.isoformat(), folder=str(folder)),
        *(messages.text("REP012", file=name) for name in made.files),
    ]
    return result


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


# ---------------------------------------------------------------------------------------------------------------
# run (the month-end batch)
# ---------------------------------------------------------------------------------------------------------------
# The steps of the month-end batch, in order: what the summary calls each, and the stage function it calls with
# (ctx, month). A stage not yet in this version is skipped and the summary says so.
RUN_STEPS: tuple[tuple[str, str], ...] = (
    ("Audits inbox", "ingest_inbox"),
    ("Moderation returns", "ingest_moderation_returns"),
    ("Action tracker updates", "ingest_action_updates"),
)

# Where several exit codes apply, the first of these wins (docs/reference/commands.md, "Exit codes").
EXIT_PRECEDENCE = (1, 75, 73, 65)
EXIT_MEANINGS = {
    0: "all well.",
    65: "finished, but some of this run's new inputs were rejected or returned (see above).",
    73: "an output could not be written (see above); run again once it is fixed.",
    75: "another caseaudit run holds the register.",
    1: "internal error.",
}


def combined_exit_code(codes: Sequence[int]) -> int:
    """The run's exit code: the first of 1, 75, 73, 65 that any step gave, else 0."""
    for code in EXIT_PRECEDENCE:
        if code in codes:
            return code
    return next((c for c in codes if c), EXIT_OK)


def run_step_function(name: str) -> Any:
    """The stage function ``name`` of this module, or None while that stage is not in this version."""
    return globals().get(name)


def ingest_moderation_returns(ctx: Context, month: str) -> Result:
    """The month-end run's moderation step: the returned moderation forms in the moderation inbox read and merged,
    exactly as ``moderate`` reads them, without drawing a sample or making forms (``moderate`` does those)."""
    require_inboxes(ctx.config)
    result = Result("run")
    with writing(ctx, "run", {"month": month, "step": "moderation returns"}) as run:
        kit = _ModerationKit.open(ctx, run)
        entries = _ingest_moderation_forms(ctx, run, kit, month, result)
        kit.outbox.write(run.staging)
        run.inputs = {"moderation_inbox": ingest.counts(entries) if entries else {}}
    if not entries:
        result.lines.append(messages.text("RUN007", inbox="moderation"))
    result.attention += kit.attention
    result.data = {"counts": ingest.counts(entries) if entries else {}}
    if any(not e.known and e.outcome in ingest.NEW_FILE_PROBLEMS for e in entries):
        result.exit_code = EXIT_DATAERR
    return result


def ingest_action_updates(ctx: Context, month: str) -> Result:
    """The month-end run's actions step: the action register brought up to date with accepted audits and
    moderations, then the returned trackers in the actions inbox (``actions`` does the same, then makes trackers)."""
    require_inboxes(ctx.config)
    with writing(ctx, "run", {"month": month, "step": "action tracker updates"}) as run:
        updated = update_actions(ctx, run, month)
        run.inputs = {"actions_inbox": {k: v for k, v in updated.data["counts"].items() if v}}
    return updated


def _alerts_raised(ctx: Context) -> int:
    with ctx.register.reader() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(reg.alerts)).scalar_one())


def run_month(ctx: Context, month: str) -> Result:
    """``caseaudit run --month``: the month-end batch. Ingest the audits inbox, the moderation returns and the
    action tracker updates, then write all the month's reports; one summary, safeguarding alerts first.

    Each step is its own transaction under the register's lock, so a failed step leaves the earlier ones done and a
    re-run repeats nothing (inboxes are read idempotently). An output that cannot be written stops that step only
    (exit 73, the reports still attempted); another run holding the register stops the batch (exit 75)."""
    from .errors import OutputError

    the_month = Month.parse(month)
    require_inboxes(ctx.config)  # a missing inbox is a configuration error (exit 2), never an empty month
    result = Result("run", data={"month": str(the_month), "steps": {}})
    codes: list[int] = []
    alerts: list[str] = []
    attention: list[str] = []
    result.lines.append(messages.text("RUN001", label=the_month.label, today=ctx.clock.today.isoformat()))

    seconds: dict[str, float] = {}
    result.data["seconds"] = seconds  # how long each step took (the demo's benchmark reports them)

    def record(step: str, done: Result) -> None:
        codes.append(done.exit_code)
        result.data["steps"][step] = done.data
        result.outputs += done.outputs
        result.lines.append(messages.text("RUN004", step=step))
        result.lines += ["  " + line for line in done.lines]
        # What the audits inbox puts forward is its safeguarding alerts (guidance section 3): they go first.
        (alerts if step == RUN_STEPS[0][0] else attention).extend(done.attention)

    alerts_before = _alerts_raised(ctx)
    for step, name in RUN_STEPS:
        function = run_step_function(name)
        if function is None:
            result.lines.append(messages.text("RUN002", step=step))
            continue
        started = time.perf_counter()
        try:
            record(step, function(ctx, str(the_month)))
        except OutputError as exc:
            codes.append(exc.exit_code)
            attention.append(messages.render("RUN003", step=step, detail=exc.message, month=str(the_month)))
        seconds[step] = time.perf_counter() - started
    started = time.perf_counter()
    try:
        reported = report_month(ctx, the_month)
        record("Reports", reported)
        result.data["metrics"] = reported.data.get("metrics")
    except OutputError as exc:
        codes.append(exc.exit_code)
        attention.append(messages.render("RUN003", step="Reports", detail=exc.message, month=str(the_month)))
    seconds["Reports"] = time.perf_counter() - started
    alert_count = _alerts_raised(ctx) - alerts_before
    if alert_count:
        alerts.insert(
            0,
            messages.render("RUN006", count=alert_count, folder=str(ctx.config.output_dir / str(the_month))),
        )
    result.attention = alerts + attention
    result.exit_code = combined_exit_code(codes)
    result.data["alerts"] = alert_count
    result.lines.append(
        messages.text("RUN005", label=the_month.label, folder=str(ctx.config.output_dir / str(the_month)))
    )
    result.lines.append(messages.text("RUN010", exit=result.exit_code, meaning=EXIT_MEANINGS.get(result.exit_code, "")))
    return result


# ---------------------------------------------------------------------------------------------------------------
# purge
# ---------------------------------------------------------------------------------------------------------------
def purge(ctx: Context, before: str | None = None) -> Result:
    """Remove register data and output folders for months before ``before`` (default: the retention period)."""
    current = Month.of(ctx.clock.today)
    cutoff = Month.parse(before) if before else current.shift(-int(ctx.config.data["register"]["retention_months"]))
    if cutoff > current:
        raise ConfigError("CFG031", found=str(cutoff), current=str(current))
    output_dir = ctx.config.output_dir
    old_folders = sorted(
        p for p in output_dir.glob("[0-9][0-9][0-9][0-9]-[0-9][0-9]") if p.is_dir() and p.name < str(cutoff)
    )
    with writing(ctx, "purge", {"before": str(cutoff)}) as run:
        removed = purge_register(run.conn, str(cutoff))
        run.inputs = {"removed_rows": removed, "removed_folders": [p.name for p in old_folders]}
    # Folders go only after the register committed, so a crash never leaves records whose files are gone.
    for folder in old_folders:
        shutil.rmtree(folder)
    log.info("purge before %s removed rows %s and folders %s", cutoff, removed, [p.name for p in old_folders])
    result = Result("purge")
    total = sum(removed.values())
    result.lines.append(
        f"Removed {total} register records and {len(old_folders)} output folders for months before {cutoff.label}."
    )
    result.lines += [f"  {table}: {count}" for table, count in sorted(removed.items())]
    result.data = {"removed": removed, "folders": [p.name for p in old_folders], "before": str(cutoff)}
    return result
