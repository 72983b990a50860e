"""``caseaudit send [--dry-run]``: every unsent notice in the outbox by mail, URGENT safeguarding alerts first
(guidance section 3), then oldest first; the rules of each attempt are in :mod:`core.sending`.

Exit codes: 0 when all went (or nothing waited, or sending is off); 65 when any message failed or was deferred, or
an attempt has no result (each listed); 73 when the server cannot be reached (the host named, unsent alerts first).
"""

from __future__ import annotations

import sqlalchemy as sa

from caseaudit_batch.core import messages
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.mail import Mailer
from caseaudit_batch.core.sending import MailerFactory, Queued, said, send_outbox
from caseaudit_batch.session import Context, Result, current_user


def send_command(ctx: Context, *, dry_run: bool = False, mailer: MailerFactory = Mailer) -> Result:
    """``caseaudit send``. Each attempt commits on its own (see :mod:`core.sending`), so the command is not one
    transaction; its run log line is written first and its exit code recorded when it ends, as for every command."""
    log = reg.run_log
    with ctx.register.engine.begin() as conn:
        started = conn.execute(
            sa.insert(log).values(
                command="send",
                arguments={"dry_run": dry_run},
                user=current_user(),
                today=ctx.clock.today,
                started_at=ctx.clock.now_iso(),
            )
        ).inserted_primary_key
    assert started is not None
    ctx.run_ids.append(int(started[0]))
    outcome = send_outbox(ctx.config, ctx.register, ctx.clock, dry_run=dry_run, mailer=mailer)
    with ctx.register.engine.begin() as conn:
        conn.execute(sa.update(log).where(log.c.id == int(started[0])).values(finished_at=ctx.clock.now_iso()))
    result = Result("send")
    result.data = {"outcome": outcome}
    if dry_run:
        result.lines.append(messages.text("MAIL008", count=len(outcome.waiting)))
        result.lines += [_listed(n, q) for n, q in enumerate(outcome.waiting, 1)]
        return result
    result.attention, result.lines, result.exit_code = said(outcome, sending_on=ctx.config.mail.send, command="send")
    return result


def _listed(n: int, q: Queued) -> str:
    kind = messages.text("MAIL016") if q.urgent else q.kind
    return messages.text("MAIL009", n=n, kind=kind, month=q.month, file=q.file, to=q.to, made_at=q.made_at)
