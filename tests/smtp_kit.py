"""A real SMTP server on loopback for the mail tests (issue 22): aiosmtpd with STARTTLS required (a throwaway
certificate from trustme) and a login required; it accepts, or refuses chosen recipients with a chosen reply."""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import Iterator
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from caseaudit_batch.core.mail import MailSettings

USER, PASSWORD = "qa-sender", "synthetic-password"
PASSWORD_ENV = "CASEAUDIT_TEST_MAIL_PASSWORD"


class Inbox:
    """The server's behaviour: accepts, or answers each recipient with a chosen refusal."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []
        self.refuse: dict[str, str] = {}  # recipient -> SMTP reply

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)  # a failure answers 535 (the default would say nothing)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def smtp_server() -> Iterator[tuple[Inbox, MailSettings, ssl.SSLContext]]:
    """The running server, the settings that reach it (password in ``PASSWORD_ENV``, which the caller sets) and
    the client TLS context that trusts its certificate."""
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    inbox = Inbox()
    controller = Controller(
        inbox,
        hostname="localhost",
        port=free_port(),
        tls_context=server_context,
        require_starttls=True,
        authenticator=_authenticate,
        auth_required=True,
        auth_require_tls=True,
    )
    controller.start()
    settings = MailSettings(
        send=True, host="localhost", port=controller.port, security="starttls", username=USER, password_env=PASSWORD_ENV
    )
    try:
        yield inbox, settings, client_context
    finally:
        controller.stop()
