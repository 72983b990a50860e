"""Notices as ``.eml`` files (RFC 5322, UTF-8, standard library ``email``) from jinja2 templates QA can edit.

Each notice is listed in ``output/YYYY-MM/outbox.csv`` (``to,cc,subject,file,made_at``; several addresses separated by
``;``; ``made_at`` ISO 8601), so any mail system can send them and QA can see what was made.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import jinja2

from .config import TEMPLATES_DIR
from .outputs import Staging

OUTBOX_HEADERS = ("to", "cc", "subject", "file", "made_at")
XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


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
    )


def render_notice(
    env: jinja2.Environment, template: str, kind: str, to: Sequence[str], cc: Sequence[str] = (), **context: object
) -> Notice:
    text = env.get_template(f"{template}.txt.j2").render(**context)
    first, _, body = text.partition("\n")
    subject = first.removeprefix("Subject:").strip()
    return Notice(kind=kind, to=[a for a in to if a], cc=[a for a in cc if a], subject=subject, body=body.lstrip("\n"))


def build_eml(notice: Notice, sender: str, made_at: str) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(notice.to)
    if notice.cc:
        message["Cc"] = ", ".join(notice.cc)
    message["Subject"] = notice.subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain="caseaudit.local")
    message["X-Caseaudit-Made-At"] = made_at
    message.set_content(notice.body, charset="utf-8")
    for filename, data in notice.attachments:
        message.add_attachment(data, maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1], filename=filename)
    return bytes(message)


class Outbox:
    """Collects the notices a command makes and writes each month's ``outbox.csv`` (existing rows kept)."""

    def __init__(self, output_dir: Path) -> None:
        self.output_dir = output_dir
        self._rows: dict[str, list[tuple[str, ...]]] = {}

    def add(self, month: str, notice: Notice, eml_path: Path, made_at: str) -> None:
        folder = self.output_dir / month
        if ".." not in eml_path.parts and eml_path.is_relative_to(folder):
            relative = eml_path.relative_to(folder)  # plainly inside: no need to ask the file system
        else:
            relative = eml_path.resolve().relative_to(folder.resolve())
        self._rows.setdefault(month, []).append(
            ("; ".join(notice.to), "; ".join(notice.cc), notice.subject, relative.as_posix(), made_at)
        )

    def write(self, staging: Staging) -> list[Path]:
        written = []
        for month, rows in sorted(self._rows.items()):
            final = self.output_dir / month / "outbox.csv"
            existing = final.read_text("utf-8") if final.exists() else ""
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            if not existing:
                writer.writerow(OUTBOX_HEADERS)
            writer.writerows(rows)
            staging.write_bytes(final, (existing + buffer.getvalue()).encode("utf-8"))
            written.append(final)
        return written


def stage_notice(
    staging: Staging, outbox: Outbox, month: str, eml_path: Path, notice: Notice, sender: str, made_at: str
) -> Path:
    """Write one ``.eml`` (staged until the register commits) and list it in the month's outbox."""
    staging.write_bytes(eml_path, build_eml(notice, sender, made_at))
    outbox.add(month, notice, eml_path, made_at)
    return eml_path
