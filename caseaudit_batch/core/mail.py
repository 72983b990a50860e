"""Sending notices by SMTP (issue 22): one connection per batch, STARTTLS or SSL, a login whose password comes from
an environment variable, a rate limit that never delays an URGENT safeguarding alert, and each reply classified.

This module only talks to the mail server; what is sent, in which order, and the record of each attempt (so that a
crash never sends a message twice) belong to the caller. Every outcome is a :class:`Delivery`:
``sent``; ``deferred`` (a temporary refusal, 4xx: tried again on the next run); ``failed`` (a permanent one, 5xx:
the server's reply is kept). A server that cannot be reached at all is :class:`MailUnreachable` (exit 73).
"""

from __future__ import annotations

import collections
import contextlib
import os
import smtplib
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType

from caseaudit_batch.core.errors import EXIT_CANTCREAT, CaseauditError

SENT, DEFERRED, FAILED = "sent", "deferred", "failed"
SECURITY = ("starttls", "ssl", "none")
TIMEOUT_SECONDS = 30.0
WINDOW_SECONDS = 60.0


class MailUnreachable(CaseauditError):
    """The mail server could not be reached, or refused the login: exit 73, nothing more is tried this run."""

    exit_code = EXIT_CANTCREAT


@dataclass(frozen=True)
class MailSettings:
    """``[mail]``: where and how to send (the From address stays ``[notices] sender``)."""

    send: bool = False
    host: str = ""
    port: int = 587
    security: str = "starttls"  # starttls | ssl | none
    username: str = ""
    password_env: str = ""  # the name of an environment variable holding the password, never the password
    max_per_minute: int = 60

    def password(self) -> str:
        return os.environ.get(self.password_env, "") if self.password_env else ""


@dataclass(frozen=True)
class Delivery:
    outcome: str  # sent | deferred | failed
    reply: str = ""  # the server's reply to a refusal ("550 5.1.1 no such user")


class Mailer:
    """One SMTP session for a batch of messages: ``with Mailer(settings) as mailer: mailer.send(...)``.

    ``clock`` and ``sleep`` are injectable so the rate limit can be tested without waiting; ``context`` is the TLS
    context (default: the system's trusted certificates, hostname checked)."""

    def __init__(
        self,
        settings: MailSettings,
        *,
        context: ssl.SSLContext | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if settings.security not in SECURITY:
            raise ValueError(f"unknown [mail] security {settings.security!r}")  # the config check names the key
        self.settings = settings
        self.context = context or ssl.create_default_context()
        self.clock = clock
        self.sleep = sleep
        self.sent_at: collections.deque[float] = collections.deque()
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Mailer:
        self.connect()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def connect(self) -> None:
        s = self.settings
        try:
            if s.security == "ssl":
                self.smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=TIMEOUT_SECONDS, context=self.context)
            else:
                self.smtp = smtplib.SMTP(s.host, s.port, timeout=TIMEOUT_SECONDS)
                if s.security == "starttls":
                    self.smtp.starttls(context=self.context)
            if s.username:
                self.smtp.login(s.username, s.password())
        except smtplib.SMTPAuthenticationError as exc:
            self.close()
            raise MailUnreachable("MAIL002", host=s.host, port=s.port, reply=_reply(exc)) from None
        except (OSError, smtplib.SMTPException) as exc:  # refused, unknown host, TLS failure, timeout
            self.close()
            raise MailUnreachable("MAIL001", host=s.host, port=s.port, detail=type(exc).__name__) from None

    def close(self) -> None:
        if self.smtp is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):  # the session is over either way
                self.smtp.quit()
            self.smtp = None

    def send(self, message: bytes, sender: str, recipients: Sequence[str], *, urgent: bool = False) -> Delivery:
        """Send one message; ``urgent`` (a safeguarding alert) is never held back by the rate limit."""
        if self.smtp is None:
            self.connect()
        assert self.smtp is not None
        if not urgent:
            self._wait_for_a_slot()
        self.sent_at.append(self.clock())
        try:
            refused = self.smtp.sendmail(sender, list(recipients), message)
        except smtplib.SMTPRecipientsRefused as exc:
            return _refused(exc.recipients)
        except smtplib.SMTPResponseException as exc:
            return Delivery(DEFERRED if 400 <= exc.smtp_code < 500 else FAILED, _reply(exc))
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self.close()
            s = self.settings
            raise MailUnreachable("MAIL001", host=s.host, port=s.port, detail=type(exc).__name__) from None
        if refused:  # some recipients refused, the others accepted: it went, and the refusals are kept
            return Delivery(SENT, "; ".join(f"{who}: {code} {_text(text)}" for who, (code, text) in refused.items()))
        return Delivery(SENT)

    def _wait_for_a_slot(self) -> None:
        """At most ``max_per_minute`` messages in any 60 seconds (urgent ones count, but never wait)."""
        limit = max(1, self.settings.max_per_minute)
        while True:
            now = self.clock()
            while self.sent_at and now - self.sent_at[0] >= WINDOW_SECONDS:
                self.sent_at.popleft()
            if len(self.sent_at) < limit:
                return
            self.sleep(WINDOW_SECONDS - (now - self.sent_at[0]))


def _refused(recipients: dict[str, tuple[int, bytes]]) -> Delivery:
    """Every recipient refused: permanent only if every refusal was (a 4xx for anyone is worth another try)."""
    codes = [code for code, _text in recipients.values()]
    reply = "; ".join(f"{who}: {code} {_text(text)}" for who, (code, text) in recipients.items())
    return Delivery(FAILED if all(code >= 500 for code in codes) else DEFERRED, reply)


def _reply(exc: smtplib.SMTPResponseException) -> str:
    return f"{exc.smtp_code} {_text(exc.smtp_error)}"


def _text(raw: bytes | str) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return " ".join(text.split())[:300]


__all__ = ["DEFERRED", "FAILED", "SENT", "Delivery", "MailSettings", "MailUnreachable", "Mailer"]
