from __future__ import annotations

import csv
import email
from email import policy
from pathlib import Path

from caseaudit_batch.core.notify import Notice, Outbox, build_eml, render_notice, stage_notice, template_env
from caseaudit_batch.core.outputs import Staging


def test_eml_is_utf8_rfc5322_with_attachment() -> None:
    notice = Notice(
        "allocation",
        ["a@example.org"],
        "Audit – case CR-1",
        "Body with é and <tags> & more",
        cc=["b@example.org", "c@example.org"],
        attachments=[("form.xlsx", b"PK\x03\x04data")],
    )
    raw = build_eml(notice, "qa@example.org", "2026-09-01T09:00:00+01:00")
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert parsed["To"] == "a@example.org"
    assert parsed["Cc"] == "b@example.org, c@example.org"
    assert parsed["Subject"] == "Audit – case CR-1"
    body = parsed.get_body(preferencelist=("plain",))
    assert body is not None and "é and <tags> & more" in body.get_content()
    attachments = list(parsed.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["form.xlsx"]
    assert attachments[0].get_content() == b"PK\x03\x04data"


def test_templates_render_subject_and_body(tmp_path: Path) -> None:
    (tmp_path / "hello.txt.j2").write_text("Subject: Hello {{ name }}\n\nDear {{ name }},\nBye\n", "utf-8")
    notice = render_notice(template_env(tmp_path), "hello", "test", ["x@example.org"], [""], name="Alex")
    assert notice.subject == "Hello Alex"
    assert notice.body.startswith("Dear Alex,")
    assert notice.cc == []


def test_outbox_lists_every_notice_and_keeps_earlier_rows(tmp_path: Path) -> None:
    out = tmp_path / "output"
    for subject in ("first", "second"):
        staging = Staging(out)
        outbox = Outbox(out)
        notice = Notice("t", ["a@example.org", "b@example.org"], subject, "body", cc=["c@example.org"])
        stage_notice(
            staging,
            outbox,
            "2026-09",
            out / "2026-09" / "notices" / f"{subject}.eml",
            notice,
            "qa@example.org",
            "2026-09-01T09:00:00+01:00",
        )
        outbox.write(staging)
        staging.publish()
    with open(out / "2026-09" / "outbox.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["subject"] for r in rows] == ["first", "second"]
    assert rows[0]["to"] == "a@example.org; b@example.org"
    assert rows[0]["file"] == "notices/first.eml"
    assert list(rows[0]) == ["to", "cc", "subject", "file", "made_at", "status", "sent_at"]
    assert (out / "2026-09" / "notices" / "second.eml").exists()


def test_an_older_outbox_gains_status_and_sent_at_and_a_notice_made_again_keeps_its_message_id(tmp_path: Path) -> None:
    """Issue 22: rows written before sending existed become drafts; the Message-ID is fixed by what the notice is."""
    out = tmp_path / "output"
    (out / "2026-09").mkdir(parents=True)
    (out / "2026-09" / "outbox.csv").write_text(
        "to,cc,subject,file,made_at\nold@example.org,,earlier,notices/old.eml,2026-09-01T09:00:00+01:00\n", "utf-8"
    )
    ids = []
    for _again in range(2):  # the same notice made twice (e.g. after an output failure)
        staging = Staging(out)
        outbox = Outbox(out)
        notice = Notice("t", ["a@example.org"], "new", "body")
        eml = out / "2026-09" / "notices" / "new.eml"
        stage_notice(staging, outbox, "2026-09", eml, notice, "qa@example.org", "2026-09-02T09:00:00+01:00")
        outbox.write(staging)
        staging.publish()
        ids.append(email.message_from_bytes(eml.read_bytes(), policy=policy.default)["Message-ID"])
    with open(out / "2026-09" / "outbox.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["subject"], r["status"], r["sent_at"]) for r in rows] == [
        ("earlier", "draft", ""),
        ("new", "draft", ""),
        ("new", "draft", ""),
    ]
    assert ids[0] == ids[1] and ids[0].endswith("@example.org>")
    other = Notice("t", ["a@example.org"], "new", "body")
    staging = Staging(out)
    elsewhere = out / "2026-09" / "notices" / "other.eml"
    stage_notice(staging, Outbox(out), "2026-09", elsewhere, other, "qa@example.org", "2026-09-02T09:00:00+01:00")
    staging.publish()
    assert email.message_from_bytes(elsewhere.read_bytes(), policy=policy.default)["Message-ID"] != ids[0]


def test_eml_without_attachment_and_with_awkward_names_parses_back() -> None:
    notice = Notice(
        "reminder",
        ["Zoë <z@example.org>"],
        "Reminder: audit of CR-2 due Friday",
        "Line one\nLine two — with a dash\n" + "x" * 200,
    )
    parsed = email.message_from_bytes(build_eml(notice, "QA Team <qa@example.org>", "t"), policy=policy.default)
    assert parsed["To"] == "Zoë <z@example.org>" and parsed["X-Caseaudit-Made-At"] == "t"
    assert parsed.get_content().replace("\r\n", "\n").rstrip("\n") == notice.body
    named = Notice("allocation", ["a@example.org"], "s", "b", attachments=[('Audit "Zoë".xlsx', b"PK")])
    parsed = email.message_from_bytes(build_eml(named, "qa@example.org", "t"), policy=policy.default)
    assert [a.get_filename() for a in parsed.iter_attachments()] == ['Audit "Zoë".xlsx']


def test_text_the_mail_parser_trips_on_is_refused_not_a_crash() -> None:
    """``.:`` made the standard library's header parser raise AttributeError (found by the config property test):
    it must be a refused address (a configuration error for the sender), never a traceback."""
    import pytest

    from caseaudit_batch.core.addresses import AddressError, is_one_address, parse_mailbox

    for text in (".:", "a:", ":"):
        with pytest.raises(AddressError):
            parse_mailbox(text)
        assert not is_one_address(text)
