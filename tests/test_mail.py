"""Sending by SMTP against a real server on loopback (issue 22): STARTTLS with a throwaway certificate (trustme) and
a login; a temporary refusal, a permanent one, an unreachable server, and the rate limit with an injected clock."""

from __future__ import annotations

import email
import ssl
from collections.abc import Iterator
from email import policy
from typing import Any

import pytest

pytest.importorskip("aiosmtpd")  # the test extra
trustme = pytest.importorskip("trustme")
from aiosmtpd.controller import Controller  # noqa: E402
from aiosmtpd.smtp import AuthResult, LoginPassword  # noqa: E402

from caseaudit_batch.core.mail import DEFERRED, FAILED, SENT, Mailer, MailSettings, MailUnreachable  # noqa: E402
from caseaudit_batch.core.notify import Notice, build_eml  # noqa: E402

USER, PASSWORD = "qa-sender", "synthetic-password"


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


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Inbox, MailSettings, ssl.SSLContext]]:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    inbox = Inbox()
    controller = Controller(
        inbox,
        hostname="localhost",
        port=_free_port(),
        tls_context=server_context,
        require_starttls=True,
        authenticator=_authenticate,
        auth_required=True,
        auth_require_tls=True,
    )
    controller.start()
    monkeypatch.setenv("CASEAUDIT_TEST_MAIL_PASSWORD", PASSWORD)
    settings = MailSettings(
        send=True,
        host="localhost",
        port=controller.port,
        security="starttls",
        username=USER,
        password_env="CASEAUDIT_TEST_MAIL_PASSWORD",
    )
    try:
        yield inbox, settings, client_context
    finally:
        controller.stop()


def _message(to: str = "tm@authority.example") -> bytes:
    notice = Notice(kind="allocation", subject="Case file audit", body="Synthetic body.", to=[to], cc=[])
    return build_eml(notice, "qa@authority.example", "2026-09-01T09:00:00+01:00")


def test_a_message_is_sent_over_starttls_with_a_login(server: tuple[Inbox, MailSettings, ssl.SSLContext]) -> None:
    inbox, settings, context = server
    with Mailer(settings, context=context) as mailer:
        done = mailer.send(_message(), "qa@authority.example", ["tm@authority.example"])
    assert done.outcome == SENT
    [(sender, recipients, data)] = inbox.received
    assert (sender, recipients) == ("qa@authority.example", ["tm@authority.example"])
    assert email.message_from_bytes(data, policy=policy.default)["Subject"] == "Case file audit"


def test_a_temporary_refusal_is_deferred_and_a_permanent_one_failed_with_the_reply(
    server: tuple[Inbox, MailSettings, ssl.SSLContext],
) -> None:
    inbox, settings, context = server
    inbox.refuse = {"busy@authority.example": "451 4.3.0 try again later", "gone@authority.example": "550 5.1.1 no"}
    with Mailer(settings, context=context) as mailer:
        deferred = mailer.send(_message(), "qa@authority.example", ["busy@authority.example"])
        failed = mailer.send(_message(), "qa@authority.example", ["gone@authority.example"])
        inbox.refuse = {}
        retried = mailer.send(_message(), "qa@authority.example", ["busy@authority.example"])
    assert deferred.outcome == DEFERRED and "451" in deferred.reply
    assert failed.outcome == FAILED and "550 5.1.1" in failed.reply
    assert retried.outcome == SENT and len(inbox.received) == 1


def test_a_wrong_password_and_an_unreachable_server_are_exit_73_naming_the_host(
    server: tuple[Inbox, MailSettings, ssl.SSLContext], monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, settings, context = server
    monkeypatch.setenv("CASEAUDIT_TEST_MAIL_PASSWORD", "wrong")
    with pytest.raises(MailUnreachable) as refused:
        Mailer(settings, context=context).connect()
    assert refused.value.code == "MAIL002" and refused.value.exit_code == 73 and "localhost" in refused.value.message
    closed = MailSettings(send=True, host="127.0.0.1", port=1, security="none")
    with pytest.raises(MailUnreachable) as unreachable:
        Mailer(closed).connect()
    assert unreachable.value.code == "MAIL001" and "127.0.0.1" in unreachable.value.message
    assert PASSWORD not in refused.value.message and "wrong" not in refused.value.message
    assert not inbox.received


def test_the_rate_limit_waits_but_never_for_an_urgent_alert(
    server: tuple[Inbox, MailSettings, ssl.SSLContext],
) -> None:
    inbox, settings, context = server
    now = [1000.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    limited = MailSettings(**{**settings.__dict__, "max_per_minute": 2})
    with Mailer(limited, context=context, clock=lambda: now[0], sleep=sleep) as mailer:
        for _ in range(2):
            assert mailer.send(_message(), "qa@authority.example", ["tm@authority.example"]).outcome == SENT
        assert mailer.send(_message(), "qa@authority.example", ["sw@authority.example"], urgent=True).outcome == SENT
        assert waits == []  # the alert went at once, over the limit
        now[0] += 10
        assert mailer.send(_message(), "qa@authority.example", ["tm@authority.example"]).outcome == SENT
    assert len(waits) == 1 and 49.0 <= waits[0] <= 50.0  # until the first of the minute's messages is 60 s old
    assert len(inbox.received) == 4
