"""Notices as ``.eml`` files (RFC 5322, UTF-8 text, attachments in base64) from jinja2 templates QA can edit.

Each notice is listed in ``output/YYYY-MM/outbox.csv`` (``to,cc,subject,file,made_at,status,sent_at``; several
addresses separated by ``;``; ``made_at`` ISO 8601), so any mail system can send them and QA can see what was made.
``status`` (draft, sent, deferred, failed) and ``sent_at`` are a view of the register's send state (issue 22).
"""

from __future__ import annotations

import base64
import csv
import functools
import io
import logging
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email import quoprimime
from email.header import Header
from email.headerregistry import Address
from email.utils import encode_rfc2231, formataddr, formatdate, make_msgid
from pathlib import Path

import jinja2

from caseaudit_batch.core.addresses import AddressError, parse_mailbox
from caseaudit_batch.core.config import TEMPLATES_DIR
from caseaudit_batch.core.outputs import Staging, csv_text

log = logging.getLogger("caseaudit")

OUTBOX_HEADERS = ("to", "cc", "subject", "file", "made_at", "status", "sent_at")
XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
#: Attachment types by file suffix (the report distribution attaches Word documents; everything else is a workbook).
ATTACHMENT_TYPES = {".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


def message_id_for(sender: str, month: str, relative_file: str) -> str:
    """A notice's Message-ID, fixed by what the notice is (its sender, month and file): a notice made again (e.g.
    after an output failure) has the same one, so a recipient's mail program sees one message, never two."""
    domain = sender.rpartition("@")[2].strip(" >") or "caseaudit.local"
    token = uuid.uuid5(uuid.NAMESPACE_URL, f"caseaudit:{sender}:{month}:{relative_file}")
    return f"<{token.hex}@{domain if domain.replace('.', '').replace('-', '').isalnum() else 'caseaudit.local'}>"


@dataclass
class Notice:
    kind: str
    to: list[str]
    subject: str
    body: str
    cc: list[str] = field(default_factory=list)
    attachments: list[tuple[str, bytes]] = field(default_factory=list)


def template_env(folder: Path | None = None) -> jinja2.Environment:
    """Notice templates: ``<name>.txt.j2``; the first line is ``Subject: ...``, the rest is the body."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder or TEMPLATES_DIR / "notices")),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # plain-text mail bodies; nothing here is rendered as HTML
        keep_trailing_newline=True,
        # A template is read once per command: asking the file system whether it changed before each of the
        # hundreds of notices a run makes (jinja2's default) cost more than rendering them.
        auto_reload=False,
    )


def render_notice(
    env: jinja2.Environment, template: str, kind: str, to: Sequence[str], cc: Sequence[str] = (), **context: object
) -> Notice:
    text = env.get_template(f"{template}.txt.j2").render(**context)
    first, _, body = text.partition("\n")
    subject = first.removeprefix("Subject:").strip()
    return Notice(kind=kind, to=[a for a in to if a], cc=[a for a in cc if a], subject=subject, body=body.lstrip("\n"))


def _header_addresses(values: Sequence[str], parse: Callable[[str], Address] = parse_mailbox) -> str:
    """A header's address list from parsed addresses only; anything that is not one address is left out (and
    logged, without the value: it came from the roster)."""
    parsed = []
    for value in values:
        try:
            parsed.append(parse(value))
        except AddressError:
            log.warning("a notice address was left out: it is not exactly one e-mail address")
    # A display name may need encoding; the address itself never is (RFC 2047 words cannot hold one).
    return ", ".join(formataddr((a.display_name, a.addr_spec), "utf-8") for a in parsed)


@functools.lru_cache(maxsize=8)
def _sender_header(sender: str) -> str:
    """The From header's address: one sender (the configured QA mailbox) signs every notice a command makes, and
    parsing it with the standard library's header parser cost a quarter of each message."""
    return _header_addresses([sender])


def build_eml(notice: Notice, sender: str, made_at: str, message_id: str = "") -> bytes:
    """One notice as an RFC 5322 message: UTF-8 text (7-bit or quoted-printable, readable as it stands), each
    attachment as an xlsx part (base64). The one MIME builder for every notice (allocation, reminders, moderation,
    and ingest's alerts, shared audits and feedback); its headers are made only from parsed addresses.

    Assembled directly rather than through ``email.message.EmailMessage``, which spends ~9 ms a message parsing its
    own headers (allocation makes one notice per auditor every month); ``tests/test_notify.py`` parses the result
    back with the standard library to prove it is well-formed.
    """

    def header(value: str) -> str:
        # No line break in a header's text: a subject can never start a header of its own.
        value = " ".join(value.split())
        return value if value.isascii() else Header(value, "utf-8").encode()

    def b64(data: bytes) -> bytes:
        # Lines of 76 characters, ending CRLF. Made as bytes and kept out of the line-ending pass over the rest
        # of the message: ingest attaches a form or workbook to each of hundreds of notices.
        encoded = base64.b64encode(data)
        return b"\r\n".join([encoded[i : i + 76] for i in range(0, len(encoded), 76)])

    def disposition(filename: str) -> str:
        if filename.isascii() and not any(c in filename for c in '"\\\r\n'):
            return f'attachment; filename="{filename}"'
        return f"attachment; filename*={encode_rfc2231(filename, 'utf-8')}"

    lines = [f"From: {_sender_header(sender)}", f"To: {_header_addresses(notice.to)}"]
    if notice.cc:
        lines.append(f"Cc: {_header_addresses(notice.cc)}")
    lines += [
        f"Subject: {header(notice.subject)}",
        f"Date: {formatdate(localtime=True)}",
        f"Message-ID: {message_id or make_msgid(domain='caseaudit.local')}",
        f"X-Caseaudit-Made-At: {made_at}",
        "MIME-Version: 1.0",
    ]
    text_part = ['Content-Type: text/plain; charset="utf-8"', *_readable_body(notice.body)]
    if not notice.attachments:
        return _crlf("\r\n".join([*lines, *text_part, ""]))
    boundary = f"=caseaudit-{uuid.uuid4().hex}"
    lines += [f'Content-Type: multipart/mixed; boundary="{boundary}"', "", f"--{boundary}", *text_part]
    parts: list[bytes] = []
    for filename, data in notice.attachments:
        lines += [
            f"--{boundary}",
            f"Content-Type: {ATTACHMENT_TYPES.get(Path(filename).suffix.lower(), '/'.join(XLSX_TYPE))}",
            "Content-Transfer-Encoding: base64",
            f"Content-Disposition: {disposition(filename)}",
            "",
        ]
        parts += [_crlf("\r\n".join(lines) + "\r\n"), b64(data)]
        lines = [""]  # the next line starts after the attachment's last line
    lines += [f"--{boundary}--", ""]
    return b"".join([*parts, _crlf("\r\n".join(lines))])


def _readable_body(body: str) -> list[str]:
    """The text part's transfer encoding and body, readable in a text editor as the standard library makes it:
    plain 7-bit text when it can be, else quoted-printable of the UTF-8 bytes."""
    if body.isascii() and all(len(line) <= 998 for line in body.splitlines()):
        return ["Content-Transfer-Encoding: 7bit", "", body]
    encoded = quoprimime.body_encode(body.encode("utf-8").decode("latin-1"), 76)
    return ["Content-Transfer-Encoding: quoted-printable", "", encoded]


def _crlf(text: str) -> bytes:
    """Every line ending CRLF (RFC 5322)."""
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("ascii")


class Outbox:
    """Collects the notices a command makes and writes each month's ``outbox.csv`` (existing rows kept)."""

    def __init__(self, output_dir: Path) -> None:
        self.output_dir = output_dir
        self._rows: dict[str, list[tuple[str, ...]]] = {}

    def add(self, month: str, notice: Notice, eml_path: Path, made_at: str) -> None:
        text, prefix = str(eml_path), os.path.join(str(self.output_dir), month, "")
        if text.startswith(prefix) and ".." not in text.split(os.sep):
            name = text[len(prefix) :].replace(os.sep, "/")  # plainly inside: string operations, no file system
        else:
            folder = self.output_dir / month
            if ".." not in eml_path.parts and eml_path.is_relative_to(folder):
                name = eml_path.relative_to(folder).as_posix()
            else:
                name = eml_path.resolve().relative_to(folder.resolve()).as_posix()
        row = ("; ".join(notice.to), "; ".join(notice.cc), notice.subject, name, made_at, "draft", "")
        # Text that a spreadsheet would run as a formula is kept text (a case reference or name can start with =).
        self._rows.setdefault(month, []).append(tuple(csv_text(value) for value in row))

    def write(self, staging: Staging) -> list[Path]:
        written = []
        for month, rows in sorted(self._rows.items()):
            final = self.output_dir / month / "outbox.csv"
            existing = final.read_text("utf-8") if final.exists() else ""
            if existing and not existing.startswith(",".join(OUTBOX_HEADERS)):
                existing = _with_send_columns(existing)  # an outbox made before sending existed (issue 22)
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            if not existing:
                writer.writerow(OUTBOX_HEADERS)
            writer.writerows(rows)
            staging.write_bytes(final, (existing + buffer.getvalue()).encode("utf-8"))
            written.append(final)
        return written


def _with_send_columns(text: str) -> str:
    """An older outbox's rows with ``status`` (draft) and ``sent_at`` (empty) added."""
    rows = list(csv.reader(io.StringIO(text)))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(OUTBOX_HEADERS)
    writer.writerows(([*row, "draft", ""])[: len(OUTBOX_HEADERS)] for row in rows[1:])
    return buffer.getvalue()


def notice_message_id(output_dir: Path, month: str, eml_path: Path, sender: str) -> str:
    """The Message-ID of the notice at ``eml_path`` (see :func:`message_id_for`)."""
    text, prefix = str(eml_path), os.path.join(str(output_dir), month, "")
    if text.startswith(prefix):  # as relative_to below, in string operations (one notice in hundreds)
        return message_id_for(sender, month, text[len(prefix) :].replace(os.sep, "/"))
    folder = output_dir / month
    relative = eml_path.relative_to(folder).as_posix() if eml_path.is_relative_to(folder) else eml_path.name
    return message_id_for(sender, month, relative)


def stage_notice(
    staging: Staging, outbox: Outbox, month: str, eml_path: Path, notice: Notice, sender: str, made_at: str
) -> Path:
    """Write one ``.eml`` (staged until the register commits) and list it in the month's outbox."""
    message_id = notice_message_id(outbox.output_dir, month, eml_path, sender)
    staging.write_bytes(eml_path, build_eml(notice, sender, made_at, message_id))
    outbox.add(month, notice, eml_path, made_at)
    return eml_path
