"""What every stage's notices share: the sender, the templates, the long date, and the notice's row in the
register."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import jinja2
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from caseaudit_batch.core import messages
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.errors import ConfigError
from caseaudit_batch.core.notify import Notice, notice_message_id, template_env
from caseaudit_batch.session import Context


def long_date(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def sender(ctx: Context, roster_email: str) -> str:
    """The From address of every notice: ``[notices] sender``, else the QA officer's e-mail on the roster. Never a
    made-up address (issue 24: notices from a localhost address reached nobody): without one, no command
    that makes notices starts."""
    found = ctx.config.notices.sender or roster_email
    if not found:
        raise ConfigError("CFG050", found=ctx.config.people.qa_officer or "empty")
    return found


#: The people keys a command needs (issue 24: init leaves them empty), with what goes wrong while one is empty.
PEOPLE_NEEDED = {
    "qa_officer": "the QA officer (copied into safeguarding alerts, feedback and shared audits; the sender's address)",
    "hos_quality_assurance": "the Head of Service for Quality Assurance (who settles grades moderators do not agree)",
    "moderators": "the moderators (who are given the month's moderation sample)",
}


QA_ONLY = ("qa_officer",)  # what ingest needs: the QA officer, copied into alerts and feedback


def empty_people(ctx: Context, *keys: str) -> list[str]:
    """A warning for each of these ``[people]`` keys (default: all three) left empty, as ``caseaudit init`` leaves
    them."""
    people = ctx.config.people
    keys = keys or tuple(PEOPLE_NEEDED)
    return [
        messages.render("CFG051", key=f"people.{key}", what=PEOPLE_NEEDED[key])
        for key in keys
        if not getattr(people, key)
    ]


def sender_from_register(ctx: Context, conn: Connection) -> str:
    qa_id = ctx.config.people.qa_officer
    email = conn.execute(sa.select(reg.staff.c.email).where(reg.staff.c.staff_id == qa_id)).scalar() if qa_id else None
    return sender(ctx, email or "")


def notice_env(ctx: Context) -> jinja2.Environment:
    given = ctx.config.templates.notices
    return template_env(ctx.config.resolve(given) if given else None)


def record_notice(
    conn: Connection, month: str, audit_id: str, notice: Notice, path: Path, made_at: str, sender: str = ""
) -> None:
    """The notice's row; ``sender`` fixes its Message-ID as :func:`notify.stage_notice` wrote it in the draft."""
    conn.execute(sa.insert(reg.notices).values(**notice_row(month, audit_id, notice, path, made_at, sender)))


def notice_row(
    month: str, audit_id: str, notice: Notice, path: Path, made_at: str, sender: str = ""
) -> dict[str, object]:
    """A ``notices`` row (see :func:`record_notice`), for a caller that writes many in one statement."""
    return dict(
        kind=notice.kind,
        month=month,
        audit_id=audit_id,
        to_addr="; ".join(notice.to),
        cc_addr="; ".join(notice.cc),
        subject=notice.subject,
        file=path.relative_to(path.parents[1]).as_posix(),
        made_at=made_at,
        message_id=notice_message_id(path.parents[2], month, path, sender) if sender else None,
    )
