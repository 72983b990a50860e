"""Returned moderation forms: checked with the ingest stage's own layers.

The file accounting (``ingest.files.gather``, ``record_submissions``, the manifest), the safety layer
(``ingest.files.open_form``: sniffing, zip and XML checks, identity) and the reader are the ingest stage's; here are
only what is particular to moderation: the form must belong to an audit in a moderation sample, its pre-filled values
must match the register, the moderation rules (``rules/moderation.py``) decide accepted or returned, and the answers
are stored under the contract names.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from caseaudit_batch.core import messages
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.config import PrivacySettings, ValidationSettings
from caseaudit_batch.core.errors import safe_traceback
from caseaudit_batch.core.framework import Framework, GradeParseError
from caseaudit_batch.ingest import files as inbox_files
from caseaudit_batch.ingest import record as ingest
from caseaudit_batch.ingest import rules
from caseaudit_batch.moderation import policy as mod
from caseaudit_batch.moderation.form import prefilled_values
from caseaudit_batch.moderation.register import AuditFacts, audit_facts
from caseaudit_batch.retention.register import Purges
from caseaudit_batch.workbook import reader
from caseaudit_batch.workbook.layout import GENERATOR_VERSION, FormLayout, Layouts, moderation_layout

log = logging.getLogger("caseaudit")

INBOX = "moderation"


def moderation_rules() -> list[rules.Rule]:
    """The moderation form's rules (the audit form's rules do not apply to it)."""
    return [r for code, r in rules.discover().items() if code.startswith("MOD")]


@dataclass
class ModerationBook:
    """What the check needs, read once per run: the sampled audits and their accepted versions."""

    framework: Framework
    layout: FormLayout
    settings: rules.Settings
    sample: dict[str, Any]
    audits: dict[str, AuditFacts]
    known_versions: set[str]
    purges: Purges = field(default_factory=Purges)
    layouts: Layouts | None = None  # by the version that made the form

    def layout_for(self, meta: Mapping[str, str]) -> FormLayout:
        if self.layouts is None:
            self.layouts = Layouts(moderation_layout, self.framework, {GENERATOR_VERSION: self.layout})
        return self.layouts.for_form(meta)

    @classmethod
    def load(
        cls,
        conn: Connection,
        framework: Framework,
        validation: Mapping[str, Any] | ValidationSettings,
        privacy: PrivacySettings | None = None,
    ) -> ModerationBook:
        t = reg.moderation_sample
        sample = {r.audit_id: r for r in conn.execute(sa.select(t).where(t.c.status == mod.SAMPLED))}
        audits = {f.audit_id: f for f in audit_facts(conn, audit_ids=sorted(sample))}
        versions = {framework.version} | {f.framework_version for f in audits.values()}
        return cls(
            framework=framework,
            layout=moderation_layout(framework),
            settings=rules.Settings.from_config(validation).with_privacy(privacy, reg.staff_names(conn)),
            sample=sample,
            audits=audits,
            known_versions=versions,
            purges=Purges.load(conn),
        )


@dataclass
class ModerationCheck:
    """One moderation form after checking: the audit, the answers as stored, and the moderator's details."""

    audit: AuditFacts
    answers: dict[str, Any]
    moderator_id: str | None
    moderation_date: date | None
    errors: int
    warnings: int


def truth(book: ModerationBook, audit: AuditFacts) -> dict[str, Any]:
    """The pre-filled values as the register has them (the form's copies are compared with these)."""
    return prefilled_values(book.framework, audit.prefilled, audit.answers)


def check_moderation(entry: inbox_files.Entry, book: ModerationBook) -> None:
    """Settle one pending moderation file: rejected (not a safe, known form), returned (errors) or accepted."""
    try:
        package, calamine, meta = inbox_files.open_form(entry, "moderation", INBOX)
        if inbox_files.ignored_as_purged(entry, meta.get("month", ""), book.purges):
            return  # the moderation of an audit of a purged month
        version = meta.get("framework_version", "")
        if version not in book.known_versions:
            raise reader.Refused("IN022", found=version or "none")
        audit = book.audits.get(entry.audit_id)
        if audit is None or entry.audit_id not in book.sample:
            raise reader.Refused("MOD030", found=entry.audit_id or "none")
        layout = book.layout_for(meta)
        form = reader.read_values(package, calamine, layout, meta)
    except reader.Refused as refused:
        entry.settle(refused.outcome, refused.code, note=messages.text(refused.code, **refused.params))
        entry.data = None
        return
    expected = truth(book, audit)
    entry.problems = ingest._prefilled_changes(form.values, {"prefilled": expected}, layout, entry.rel)
    values = dict(form.values)
    values.update(expected)  # the register's pre-filled values are the truth
    view = rules.FormView(
        values=values,
        actions_table=form.tables["m_actions"],
        layout=layout,
        framework=book.framework,
        settings=book.settings,
        file=entry.rel,
        first_rows=form.first_rows,
        strays=form.strays,
    )
    entry.problems += rules.validate(view, moderation_rules())
    errors = [p for p in entry.problems if p.severity == "error"]
    entry.codes = list(dict.fromkeys(p.code for p in entry.problems))
    entry.check = ModerationCheck(  # type: ignore[assignment]
        audit=audit,
        answers=answers_of(view),
        moderator_id=book.sample[entry.audit_id].moderator_id,
        moderation_date=rules.safe_date(view.raw("moderation_date")),
        errors=len(errors),
        warnings=len(entry.problems) - len(errors),
    )
    if errors:
        entry.settle("returned", note=messages.text("MOD116", count=len(errors), message=errors[0].message))
        entry.data = None
    else:
        warnings = len(entry.problems)
        entry.settle("accepted", note=messages.text("IN107", count=warnings) if warnings else messages.text("IN108"))


def check_moderation_safely(entry: inbox_files.Entry, book: ModerationBook) -> None:
    """One bad file never stops the batch: an unexpected failure is this file's 'rejected: internal error'."""
    try:
        check_moderation(entry, book)
    except Exception as exc:  # noqa: BLE001 - any failure in one file is recorded against that file only
        log.error("internal error reading %s\n%s", entry.rel, safe_traceback(exc))
        entry.problems = []
        entry.check = None
        entry.data = None
        entry.codes = []
        entry.settle("rejected", "IN090", note="rejected: internal error. " + messages.text("IN090"))


def answers_of(view: rules.FormView) -> dict[str, Any]:
    """The moderator's answers under the contract names: grades canonical (blank = agreed), dates ISO, Yes/No."""
    answers: dict[str, Any] = {
        "moderator_name": view.text("moderator_name") or None,
        "moderation_date": _iso(view.raw("moderation_date")),
    }
    for name in ("grade_agreed", "actions_agreed"):
        try:
            agreed = mod.parse_yes_no(view.raw(name))
        except ValueError:
            agreed = None
        answers[name] = None if agreed is None else ("Yes" if agreed else "No")
    for section in view.framework.sections:
        answers[mod.m_grade_name(section.number)] = _grade(view, mod.m_grade_name(section.number))
    answers["m_overall_grade"] = _grade(view, "m_overall_grade")
    for name in ("m_rationale", "m_actions_comment"):
        raw = view.raw(name)
        answers[name] = raw if isinstance(raw, str) and raw.strip() else (rules.to_text(raw) or None)
    answers["m_actions"] = [
        [rules.to_text(cells[0]), rules.to_text(cells[1]) or None, _iso(cells[2])]
        for cells in ([*list(row), None, None, None][:3] for row in view.actions_table)
        if rules.to_text(cells[0])
    ]
    return answers


def _grade(view: rules.FormView, name: str) -> str | None:
    try:
        grade = view.grade(name)
    except GradeParseError:
        return None
    return grade.name if grade else None


def _iso(value: Any) -> str | None:
    parsed = rules.safe_date(value)
    return parsed.isoformat() if parsed else (rules.to_text(value) or None)


def in_order(entries: Sequence[inbox_files.Entry]) -> list[inbox_files.Entry]:
    """Accepted moderation files, oldest first (moderation date, then file time, then name): each later one
    supersedes the one before it for the same audit."""
    accepted = [e for e in entries if e.outcome == "accepted" and isinstance(e.check, ModerationCheck)]
    return sorted(
        accepted,
        key=lambda e: (e.check.moderation_date or date.min, e.mtime, e.rel),  # type: ignore[union-attr]
    )
