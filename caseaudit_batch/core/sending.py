"""Sending the outbox (issue 22): which notices go, in which order, and the register's record of each attempt.

Send state lives in the register's ``notices`` rows (migration step 6); ``outbox.csv``'s ``status`` and ``sent_at``
columns are a view of it, written again after every send. The rules:

- unsent notices (``draft`` or ``deferred``) go oldest first, the URGENT safeguarding alerts before everything else
  (guidance section 3: an alert goes "as a matter of urgency");
- an attempt is recorded, and committed, BEFORE the message is handed to the server; the result clears it. An
  attempt found without a result (the program stopped mid-send) is never sent again blindly: it becomes ``failed``
  with a reply saying so, and is listed for QA to check whether it arrived;
- a temporary refusal is ``deferred`` (tried again next run); a permanent one ``failed`` with the server's reply;
- a server that cannot be reached stops the run (:class:`MailUnreachable`, exit 73) with the unsent alerts listed.

The mail itself goes through :mod:`core.mail`; the messages are the ``.eml`` drafts exactly as made.
"""

from __future__ import annotations

import csv
import email
import io
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from email import policy
from email.utils import getaddresses
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from caseaudit_batch.core import messages
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.clock import Clock
from caseaudit_batch.core.config import Config
from caseaudit_batch.core.errors import EXIT_CANTCREAT, EXIT_DATAERR, EXIT_OK
from caseaudit_batch.core.mail import DEFERRED, FAILED, SENT, Mailer, MailSettings, MailUnreachable
from caseaudit_batch.core.notify import OUTBOX_HEADERS
from caseaudit_batch.core.outputs import csv_text

DRAFT = "draft"
UNSENT = (DRAFT, DEFERRED)
URGENT_KINDS = ("alert",)  # the safeguarding alerts: first in the queue, never held back by the rate limit


@dataclass(frozen=True)
class Queued:
    """One notice waiting to go, as the register holds it."""

    id: int
    kind: str
    month: str
    to: str
    file: str  # relative to the month's folder, as outbox.csv lists it
    path: Path
    made_at: str

    @property
    def urgent(self) -> bool:
        return self.kind in URGENT_KINDS


@dataclass
class Outcome:
    """What one ``send`` did; ``unreachable`` is set when the server could not be reached (the run stopped)."""

    sent: list[Queued] = field(default_factory=list)
    deferred: list[tuple[Queued, str]] = field(default_factory=list)
    failed: list[tuple[Queued, str]] = field(default_factory=list)
    unknown: list[tuple[Queued, str]] = field(default_factory=list)  # attempted, no result: for QA to check
    waiting: list[Queued] = field(default_factory=list)  # not tried this run (dry run, send off, unreachable)
    unreachable: MailUnreachable | None = None


def eml_path(output_dir: Path, month: str, file: str) -> Path:
    """Where a notice's ``.eml`` is: the stages record it relative to the month's folder, to the output folder, or
    in full; all three are read."""
    given = Path(file)
    if given.is_absolute():
        return given
    if given.parts and given.parts[0] == month:
        return output_dir / given
    return output_dir / month / given


def _queued(output_dir: Path, row: sa.Row) -> Queued:
    path = eml_path(output_dir, row.month or "", row.file or "")
    folder = output_dir / (row.month or "")
    relative = path.relative_to(folder).as_posix() if path.is_relative_to(folder) else path.as_posix()
    return Queued(row.id, row.kind, row.month or "", row.to_addr or "", relative, path, row.made_at)


def queue(conn: Connection, output_dir: Path, *, only_urgent: bool = False) -> list[Queued]:
    """The unsent notices in sending order: alerts first, then oldest first (by when made, then as recorded)."""
    n = reg.notices
    query = sa.select(n).where(n.c.status.in_(UNSENT), n.c.attempted_at.is_(None))
    if only_urgent:
        query = query.where(n.c.kind.in_(URGENT_KINDS))
    rows = [_queued(output_dir, row) for row in conn.execute(query)]
    return sorted(rows, key=lambda q: (not q.urgent, q.made_at, q.id))


def _settle_unknown(conn: Connection, output_dir: Path) -> list[tuple[Queued, str]]:
    """Attempts without a result (a crash mid-send): failed, with a reply saying so, never re-sent blindly."""
    n = reg.notices
    found = []
    for row in conn.execute(sa.select(n).where(n.c.attempted_at.is_not(None))):
        reply = messages.text("MAIL013", attempted_at=row.attempted_at)
        conn.execute(sa.update(n).where(n.c.id == row.id).values(status=FAILED, attempted_at=None, reply=reply))
        found.append((_queued(output_dir, row), reply))
    return found


def _recipients(data: bytes) -> tuple[str, list[str], str]:
    """The envelope sender, the recipients (To and Cc) and the Message-ID, read from the draft's own headers (made
    from parsed addresses when the notice was made)."""
    parsed = email.message_from_bytes(data, policy=policy.compat32)
    sender = getaddresses([parsed.get("From", "")])
    recipients = [addr for _name, addr in getaddresses(parsed.get_all("To", []) + parsed.get_all("Cc", [])) if addr]
    return (sender[0][1] if sender else ""), recipients, str(parsed.get("Message-ID", "")).strip()


MailerFactory = Callable[[MailSettings], Mailer]


def send_outbox(
    config: Config,
    register: reg.Register,
    clock: Clock,
    *,
    only_urgent: bool = False,
    dry_run: bool = False,
    mailer: MailerFactory = Mailer,
) -> Outcome:
    """Send what waits (``only_urgent``: the safeguarding alerts only, as ``ingest`` does at once). Holds the register
    lock throughout, so two runs never send the same notice."""
    out = Outcome()
    output_dir = config.output_dir
    settings = config.mail
    with register.lock():
        with register.engine.begin() as conn:
            if not dry_run:
                out.unknown = _settle_unknown(conn, output_dir)
            waiting = queue(conn, output_dir, only_urgent=only_urgent)
        if dry_run or not settings.send or not waiting:
            out.waiting = waiting
            _refresh_views(register, output_dir, {q.month for q, _ in out.unknown})
            return out
        try:
            with mailer(settings) as session:
                for item in waiting:
                    _send_one(register, clock, session, item, out)
        except MailUnreachable as exc:
            out.unreachable = exc
            done = {q.id for q in out.sent} | {q.id for q, _ in out.deferred + out.failed}
            out.waiting = [q for q in waiting if q.id not in done]
        months = {q.month for q in waiting} | {q.month for q, _ in out.unknown}
        _refresh_views(register, output_dir, months)
    return out


def _send_one(register: reg.Register, clock: Clock, session: Mailer, item: Queued, out: Outcome) -> None:
    n = reg.notices
    try:
        data = item.path.read_bytes()
    except OSError:
        reply = messages.text("MAIL012", file=item.file)
        with register.engine.begin() as conn:
            conn.execute(sa.update(n).where(n.c.id == item.id).values(status=FAILED, reply=reply))
        out.failed.append((item, reply))
        return
    sender, recipients, message_id = _recipients(data)
    # The attempt is committed before the server sees the message: if the program stops before the result is
    # recorded, the next run finds the attempt and asks QA to check instead of sending a second copy.
    with register.engine.begin() as conn:
        conn.execute(
            sa.update(n)
            .where(n.c.id == item.id)
            .values(attempts=n.c.attempts + 1, attempted_at=clock.now_iso(), message_id=message_id or None)
        )
    # A connection lost mid-message leaves the attempt standing (the server may have taken it): MailUnreachable
    # propagates and the next run reports this notice for QA to check.
    delivery = session.send(data, sender, recipients, urgent=item.urgent)
    values: dict[str, object] = {"status": delivery.outcome, "attempted_at": None, "reply": delivery.reply or None}
    if delivery.outcome == SENT:
        values["sent_at"] = clock.now_iso()
        out.sent.append(item)
    elif delivery.outcome == DEFERRED:
        out.deferred.append((item, delivery.reply))
    else:
        out.failed.append((item, delivery.reply))
    with register.engine.begin() as conn:
        conn.execute(sa.update(n).where(n.c.id == item.id).values(**values))


def _refresh_views(register: reg.Register, output_dir: Path, months: set[str]) -> None:
    """Write each month's ``outbox.csv`` again with every row's status and sent_at from the register."""
    n = reg.notices
    for month in sorted(m for m in months if m):
        final = output_dir / month / "outbox.csv"
        if not final.is_file():
            continue
        with register.reader() as conn:
            state = {
                _queued(output_dir, row).file: (row.status, row.sent_at or "")
                for row in conn.execute(sa.select(n).where(n.c.month == month))
            }
        write_outbox_view(final, state)


def write_outbox_view(final: Path, state: dict[str, tuple[str, str]]) -> None:
    """``outbox.csv`` with its ``status`` and ``sent_at`` columns as the register has them (rows of an older
    outbox, without those columns, gain them). Written to a temporary file and moved into place."""
    rows = list(csv.reader(io.StringIO(final.read_text("utf-8"))))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(OUTBOX_HEADERS)
    file_at = OUTBOX_HEADERS.index("file")
    for row in rows[1:]:
        row = ([*row, "", ""])[: len(OUTBOX_HEADERS)]
        status, sent_at = state.get(row[file_at], (row[-2] or DRAFT, row[-1]))
        writer.writerow([*row[:-2], csv_text(status), csv_text(sent_at)])
    temporary = final.with_name(f".{final.name}.tmp")
    temporary.write_text(buffer.getvalue(), "utf-8")
    os.replace(temporary, final)


def said(outcome: Outcome, *, sending_on: bool, command: str) -> tuple[list[str], list[str], int]:
    """What a command says of a send (attention lines, loudest first; summary lines) and its exit code: 73 when the
    server could not be reached (the alerts still unsent first), 65 when anything failed, was deferred or has no
    result, else 0. ``send`` and ``ingest`` (its alerts, sent at once) both say it this way."""
    attention: list[str] = []
    lines: list[str] = []
    if outcome.unreachable is not None:
        for q in outcome.waiting:  # each alert still unsent must now go by hand
            if q.urgent:
                attention.append(messages.text("MAIL011", month=q.month, file=q.file, to=q.to, made_at=q.made_at))
        attention.append(outcome.unreachable.message)
    for q, reply in outcome.unknown:
        attention.append(messages.render("MAIL006", file=f"{q.month}/{q.file}", to=q.to, reply=reply))
    for q, reply in outcome.failed:
        attention.append(messages.render("MAIL005", file=f"{q.month}/{q.file}", to=q.to, reply=reply))
    for q, reply in outcome.deferred:
        attention.append(messages.text("MAIL004", file=f"{q.month}/{q.file}", to=q.to, reply=reply))
    if outcome.sent:
        alerts = sum(1 for q in outcome.sent if q.urgent)
        lines.append(messages.text("MAIL003", sent=len(outcome.sent), alerts=alerts))
    if not sending_on and outcome.waiting:
        lines.append(messages.text("MAIL007", count=len(outcome.waiting)))
    elif outcome.unreachable is not None:
        lines.append(messages.text("MAIL015", count=len(outcome.waiting)))
    elif command == "send" and not (outcome.sent or outcome.failed or outcome.deferred or outcome.unknown):
        lines.append(messages.text("MAIL010"))
    code = EXIT_OK
    if outcome.unreachable is not None:
        code = EXIT_CANTCREAT
    elif outcome.failed or outcome.deferred or outcome.unknown:
        code = EXIT_DATAERR
    return attention, lines, code


__all__ = ["Outcome", "Queued", "eml_path", "queue", "said", "send_outbox", "write_outbox_view"]
