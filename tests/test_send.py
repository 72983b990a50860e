"""``caseaudit send`` against a real SMTP server on loopback (issue 22), STARTTLS and a login: sending; a temporary
failure, then retry; a permanent failure; a crash between attempt and result; the rate limit with an injected clock;
the alert-first order; an unreachable server (exit 73, unsent alerts first); ``--dry-run``; and ``ingest`` sending a
safeguarding alert at once."""

from __future__ import annotations

import csv
import email
import re
import ssl
from collections.abc import Iterator
from email import policy
from pathlib import Path

import pytest

pytest.importorskip("aiosmtpd")  # the test extra
pytest.importorskip("trustme")
import sqlalchemy as sa
from smtp_kit import PASSWORD, PASSWORD_ENV, Inbox, free_port, smtp_server

from caseaudit_batch import session
from caseaudit_batch.allocation.notices import record_notice
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.mail import Mailer, MailSettings
from caseaudit_batch.core.notify import Notice, Outbox, stage_notice
from caseaudit_batch.send.stage import send_command

SENDER = "qa@authority.example"
MONTH = "2026-09"
Server = tuple[Inbox, MailSettings, ssl.SSLContext]


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    with smtp_server() as running:
        yield running


def with_mail(workspace: Path, settings: MailSettings, today: str = "2026-09-10") -> session.Context:
    """The working folder's config with its [mail] section pointed at ``settings``; a context that reads it."""
    path = workspace / "caseaudit.toml"
    text = path.read_text("utf-8")
    values = {
        "send": "true" if settings.send else "false",
        "host": f'"{settings.host}"',
        "port": str(settings.port),
        "security": f'"{settings.security}"',
        "username": f'"{settings.username}"',
        "password_env": f'"{settings.password_env}"',
        "max_per_minute": str(settings.max_per_minute),
    }
    head, _, rest = text.partition("[mail]\n")
    section, _, tail = rest.partition("\n[")
    for key, value in values.items():
        section = re.sub(rf"(?m)^{key} = .*$", f"{key} = {value}", section)
    text = f"{head}[mail]\n{section}\n[{tail}".replace('sender = ""', f'sender = "{SENDER}"', 1)
    path.write_text(text, "utf-8")
    return session.open_context(path, today)


def make_notices(ctx: session.Context, made: list[tuple[str, str, str]]) -> None:
    """Notices as the stages make them (draft .eml, outbox.csv row, register row): (kind, to, made_at) each."""
    with session.writing(ctx, "test", {}) as run:
        outbox = Outbox(ctx.config.output_dir)
        for n, (kind, to, made_at) in enumerate(made):
            notice = Notice(kind=kind, to=[to], subject=f"{kind} {n}", body="Synthetic body.")
            path = ctx.config.output_dir / MONTH / "notices" / f"{n:02d}-{kind}.eml"
            stage_notice(run.staging, outbox, MONTH, path, notice, SENDER, made_at)
            record_notice(run.conn, MONTH, f"audit-{n}", notice, path, made_at, SENDER)
        outbox.write(run.staging)


def states(ctx: session.Context) -> dict[str, tuple[str, int, bool, str | None]]:
    """Each notice's subject -> (status, attempts, sent_at given, reply)."""
    n = reg.notices
    with ctx.register.reader() as conn:
        rows = conn.execute(sa.select(n.c.subject, n.c.status, n.c.attempts, n.c.sent_at, n.c.reply)).all()
    return {r.subject: (r.status, r.attempts, r.sent_at is not None, r.reply) for r in rows}


def subjects(inbox: Inbox) -> list[str]:
    return [str(email.message_from_bytes(data, policy=policy.default)["Subject"]) for _f, _t, data in inbox.received]


def trusting(context: ssl.SSLContext, **kw: object) -> object:
    return lambda settings: Mailer(settings, context=context, **kw)  # type: ignore[arg-type]


def test_send_sends_each_draft_once_with_its_message_id_and_the_outbox_shows_it(
    workspace: Path, server: Server
) -> None:
    inbox, settings, context = server
    ctx = with_mail(workspace, settings)
    make_notices(ctx, [("allocation", "tm1@authority.example", "2026-09-01T09:00:00+01:00")] * 2)
    result = send_command(ctx, mailer=trusting(context))  # type: ignore[arg-type]
    assert result.exit_code == 0 and "Sent 2 notice(s)" in result.lines[0]
    assert sorted(subjects(inbox)) == ["allocation 0", "allocation 1"]
    assert all(to == ["tm1@authority.example"] and frm == SENDER for frm, to, _d in inbox.received)
    assert {s[:3] for s in states(ctx).values()} == {("sent", 1, True)}
    # The Message-ID that went is the one fixed when the notice was made (and kept in the register).
    with ctx.register.reader() as conn:
        kept = set(conn.execute(sa.select(reg.notices.c.message_id)).scalars())
    went = {str(email.message_from_bytes(d, policy=policy.default)["Message-ID"]) for _f, _t, d in inbox.received}
    assert went == kept and len(kept) == 2
    with (ctx.config.output_dir / MONTH / "outbox.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["status"] for r in rows] == ["sent", "sent"] and all(r["sent_at"] for r in rows)
    again = send_command(ctx, mailer=trusting(context))  # type: ignore[arg-type]
    assert again.exit_code == 0 and len(inbox.received) == 2 and "Nothing to send" in again.lines[0]
    ctx.close()


def test_a_temporary_refusal_is_deferred_then_sent_on_the_next_run(workspace: Path, server: Server) -> None:
    inbox, settings, context = server
    ctx = with_mail(workspace, settings)
    make_notices(ctx, [("reminder", "busy@authority.example", "2026-09-20T09:00:00+01:00")])
    inbox.refuse = {"busy@authority.example": "451 4.3.0 mailbox busy, try later"}
    first = send_command(ctx, mailer=trusting(context))  # type: ignore[arg-type]
    assert first.exit_code == 65 and "Deferred" in first.attention[0] and "451" in first.attention[0]
    assert states(ctx)["reminder 0"][:3] == ("deferred", 1, False)
    inbox.refuse = {}
    second = send_command(ctx, mailer=trusting(context))  # type: ignore[arg-type]
    assert second.exit_code == 0 and states(ctx)["reminder 0"][:3] == ("sent", 2, True)
    assert subjects(inbox) == ["reminder 0"]
    ctx.close()


def test_a_permanent_refusal_fails_with_the_servers_reply_and_is_not_tried_again(
    workspace: Path, server: Server
) -> None:
    inbox, settings, context = server
    ctx = with_mail(workspace, settings)
    make_notices(ctx, [("allocation", "gone@authority.example", "2026-09-01T09:00:00+01:00")])
    inbox.refuse = {"gone@authority.example": "550 5.1.1 no such user"}
    first = send_command(ctx, mailer=trusting(context))  # type: ignore[arg-type]
    assert (
        first.exit_code == 65 and "[MAIL005]" in first.attention[0] and "gone@authority.example" in first.attention[0]
    )
    status, attempts, sent, reply = states(ctx)["allocation 0"]
    assert (status, attempts, sent) == ("failed", 1, False) and reply is not None and "550 5.1.1" in reply
    inbox.refuse = {}
    assert send_command(ctx, mailer=trusting(context)).exit_code == 0  # type: ignore[arg-type]
    assert inbox.received == [] and states(ctx)["allocation 0"][1] == 1


class PowerCut(Exception):
    """The program stopping after the server took a message, before the result was recorded."""


def test_a_crash_between_attempt_and_result_is_reported_for_qa_never_sent_twice(
    workspace: Path, server: Server
) -> None:
    inbox, settings, context = server
    ctx = with_mail(workspace, settings)
    make_notices(
        ctx,
        [
            ("allocation", "a@authority.example", "2026-09-01T09:00:00+01:00"),
            ("allocation", "b@authority.example", "2026-09-01T09:00:01+01:00"),
        ],
    )

    class Stops(Mailer):
        def send(self, message: bytes, sender: str, recipients: object, *, urgent: bool = False) -> object:  # type: ignore[override]
            done = super().send(message, sender, recipients, urgent=urgent)  # type: ignore[arg-type]
            if recipients == ["b@authority.example"]:
                raise PowerCut
            return done

    with pytest.raises(PowerCut):
        send_command(ctx, mailer=lambda s: Stops(s, context=context))
    assert len(inbox.received) == 2  # the server took both; the register knows only of the first
    assert states(ctx)["allocation 1"][:3] == ("draft", 1, False)
    after = send_command(ctx, mailer=trusting(context))  # type: ignore[arg-type]
    assert len(inbox.received) == 2  # not sent again
    assert after.exit_code == 65 and "[MAIL006]" in after.attention[0] and "b@authority.example" in after.attention[0]
    status, attempts, _sent, reply = states(ctx)["allocation 1"]
    assert (status, attempts) == ("failed", 1) and reply is not None and "stopped" in reply
    assert states(ctx)["allocation 0"][:3] == ("sent", 1, True)
    ctx.close()


def test_alerts_go_first_then_oldest_first_and_the_rate_limit_never_delays_an_alert(
    workspace: Path, server: Server
) -> None:
    inbox, settings, context = server
    ctx = with_mail(workspace, MailSettings(**{**vars(settings), "max_per_minute": 2}))
    make_notices(
        ctx,
        [
            ("reminder", "r@authority.example", "2026-09-20T09:00:00+01:00"),
            ("allocation", "a@authority.example", "2026-09-01T09:00:00+01:00"),
            ("feedback", "f@authority.example", "2026-09-21T09:00:00+01:00"),
            ("alert", "hos@authority.example", "2026-09-22T09:00:00+01:00"),  # the newest, but urgent
        ],
    )
    now = [0.0]
    slept: list[tuple[float, int]] = []  # (seconds, messages already received when the wait began)

    def sleep(seconds: float) -> None:
        slept.append((seconds, len(inbox.received)))
        now[0] += seconds

    result = send_command(ctx, mailer=trusting(context, clock=lambda: now[0], sleep=sleep))  # type: ignore[arg-type]
    assert result.exit_code == 0
    assert subjects(inbox) == ["alert 3", "allocation 1", "reminder 0", "feedback 2"]
    # Two a minute: the alert and the allocation go at once, the third waits out the minute, the fourth does not.
    assert slept == [(60.0, 2)]
    dry = send_command(ctx, dry_run=True)
    assert dry.lines == [dry.lines[0]] and "Would send 0" in dry.lines[0]
    ctx.close()


def test_dry_run_lists_in_order_and_sends_nothing(workspace: Path, server: Server) -> None:
    inbox, settings, _context = server
    ctx = with_mail(workspace, settings)
    make_notices(
        ctx,
        [
            ("allocation", "a@authority.example", "2026-09-01T09:00:00+01:00"),
            ("alert", "hos@authority.example", "2026-09-22T09:00:00+01:00"),
        ],
    )
    result = send_command(ctx, dry_run=True)
    assert result.exit_code == 0 and inbox.received == []
    assert "Would send 2" in result.lines[0]
    assert "URGENT" in result.lines[1] and "01-alert.eml" in result.lines[1] and "00-allocation" in result.lines[2]
    assert {s[0] for s in states(ctx).values()} == {"draft"}
    ctx.close()


def test_an_unreachable_server_is_exit_73_naming_the_host_with_unsent_alerts_first(workspace: Path) -> None:
    closed = MailSettings(send=True, host="127.0.0.1", port=free_port(), security="none")
    ctx = with_mail(workspace, closed)
    make_notices(
        ctx,
        [
            ("allocation", "a@authority.example", "2026-09-01T09:00:00+01:00"),
            ("alert", "hos@authority.example", "2026-09-22T09:00:00+01:00"),
        ],
    )
    result = send_command(ctx)
    assert result.exit_code == 73
    assert "SAFEGUARDING ALERT NOT SENT" in result.attention[0] and "01-alert.eml" in result.attention[0]
    assert "[MAIL001]" in result.attention[1] and "127.0.0.1" in result.attention[1]
    assert {s[:2] for s in states(ctx).values()} == {("draft", 0)}  # nothing was tried, both still wait
    assert (ctx.config.output_dir / MONTH / "notices" / "01-alert.eml").is_file()  # drafts stay on disk
    ctx.close()


def test_sending_off_sends_nothing_and_says_how_many_wait(
    workspace: Path, ctx: session.Context, capsys: pytest.CaptureFixture[str]
) -> None:
    from caseaudit_batch import cli

    make_notices(ctx, [("allocation", "a@authority.example", "2026-09-01T09:00:00+01:00")])
    result = send_command(ctx)
    assert result.exit_code == 0 and "send = false" in result.lines[0] and "1 notice(s)" in result.lines[0]
    assert {s[0] for s in states(ctx).values()} == {"draft"}
    config = str(workspace / "caseaudit.toml")
    assert cli.main(["send", "--dry-run", "--config", config, "--today", "2026-09-10"]) == 0
    assert "Would send 1 notice(s)" in capsys.readouterr().out
    with ctx.register.reader() as conn:
        logged = conn.execute(sa.select(reg.run_log.c.command, reg.run_log.c.exit_code)).all()
    assert ("send", 0) in [tuple(r) for r in logged]  # the run log keeps send's exit code, as for every command


def test_ingest_sends_a_safeguarding_alert_at_once_and_leaves_the_rest_for_send(
    workspace: Path, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import date

    from formkit import allocate, good_answers, make_form

    from caseaudit_batch.core import mail
    from caseaudit_batch.ingest import stage as ingest_stage

    inbox, settings, context = server
    monkeypatch.setattr(mail.ssl, "create_default_context", lambda *a, **k: context)  # trust the test's CA
    ctx = with_mail(workspace, settings, today="2026-09-21")
    for case_ref, concern in (("CR1001", "No"), ("CR2002", "Yes")):
        with ctx.register.engine.begin() as conn:
            alloc = allocate(conn, ctx.framework, case_ref=case_ref)
        answers = {**good_answers(ctx.framework), "safeguarding_concern": concern}
        actions = [("Update the chronology", "Sam Worker", date(2026, 10, 30))]
        (ctx.config.inbox("audits") / f"{case_ref}.xlsx").write_bytes(make_form(ctx.framework, alloc, answers, actions))
    result = ingest_stage.ingest_inbox(ctx)
    assert sum("CR2002" in line for line in result.attention) == 1 and not any("CR1001" in a for a in result.attention)
    assert len(inbox.received) == 1 and "CR2002" in subjects(inbox)[0]  # the alert went at once, alone
    assert any("Sent 1 notice(s) (1 safeguarding alert(s)" in line for line in result.lines)
    n = reg.notices
    with ctx.register.reader() as conn:
        by_kind = {(r.kind, r.status) for r in conn.execute(sa.select(n.c.kind, n.c.status))}
    assert ("alert", "sent") in by_kind and ("shared", "draft") in by_kind  # the rest wait for 'caseaudit send'
    ctx.close()


def test_report_distribution_one_notice_per_person_with_their_documents(workspace: Path) -> None:
    from test_reports_pipeline import SEP, _fill

    from caseaudit_batch.reports import stage as reports_stage

    path = workspace / "caseaudit.toml"
    path.write_text(path.read_text("utf-8").replace('qa_officer = ""', 'qa_officer = "Q1"', 1), "utf-8")
    ctx = session.open_context(path, "2026-10-05")
    _fill(ctx)
    with ctx.register.writer() as conn:
        conn.execute(
            sa.insert(reg.staff),
            [
                {"staff_id": "H1", "name": "Hal North", "role": "Head of Service", "service": "North"},
                {"staff_id": "H2", "name": "Hana South", "role": "Head of Service", "service": "South"},
                {"staff_id": "P1", "name": "Pat Practice", "role": "Principal Social Worker", "service": "QA"},
                {"staff_id": "Q1", "name": "Quin Officer", "role": "QA Officer", "service": "QA"},
            ],
        )
        conn.execute(sa.update(reg.staff).values(email=sa.func.lower(reg.staff.c.staff_id) + "@authority.example"))
    result = reports_stage.report_month(ctx, SEP)
    assert any("2 service_pack, 2 main_report, 1 learning_themes, 1 excel_report" in line for line in result.lines)
    folder = workspace / "output" / "2026-09" / "notices"

    def attached(staff_id: str) -> list[str]:
        message = email.message_from_bytes(
            (folder / f"reports-2026-09-{staff_id}.eml").read_bytes(), policy=policy.default
        )
        assert message["To"] == f"{staff_id.lower()}@authority.example"
        return sorted(str(part.get_filename()) for part in message.iter_attachments())

    assert attached("H1") == [
        "Monthly-Case-File-Audit-Report-2026-09-North.docx",
        "Monthly-Case-File-Audit-Report-2026-09.docx",
    ]
    assert attached("H2") == [
        "Monthly-Case-File-Audit-Report-2026-09-South.docx",
        "Monthly-Case-File-Audit-Report-2026-09.docx",
    ]
    assert attached("P1") == ["Learning-Themes-2026-09.docx"]
    assert attached("Q1") == ["caseaudit-report-2026-09.xlsx"]
    message = email.message_from_bytes((folder / "reports-2026-09-H1.eml").read_bytes(), policy=policy.default)
    docx = next(message.iter_attachments())
    assert docx.get_content_type().endswith("wordprocessingml.document") and docx.get_content()[:2] == b"PK"

    def rows() -> list[tuple[str, str, str | None]]:
        n = reg.notices
        with ctx.register.reader() as conn:
            query = sa.select(n.c.file, n.c.status, n.c.message_id).where(n.c.kind == "report_distribution")
            return sorted(tuple(r) for r in conn.execute(query))

    first = rows()
    assert len(first) == 4 and {r[1] for r in first} == {"draft"}
    with ctx.register.writer() as conn:
        conn.execute(sa.update(reg.notices).where(reg.notices.c.file.like("%H1.eml")).values(status="sent"))
    before = (folder / "reports-2026-09-H1.eml").read_bytes()
    reports_stage.report_month(ctx, SEP)  # made again: H1's (sent) is not mailed again; the drafts are refreshed
    assert rows() == [(f, "sent" if f.endswith("H1.eml") else s, m) for f, s, m in first]
    assert (folder / "reports-2026-09-H1.eml").read_bytes() == before
    ctx.close()
