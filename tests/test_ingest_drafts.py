"""Ingest's notices drafted in the worker processes (issue 25): the same messages as those made after the pool.

The workers that check the forms also make each form's shared and feedback notices, before the register gives the
submission ID that the notice's file name, Message-ID and (feedback) attachment name carry; the main process puts
those in, or makes the notice itself when the file's outcome changed after the check (a later version in the same
run superseded it, or a returned file learnt which version stands)."""

from __future__ import annotations

import email
import io
import re
import zipfile
from datetime import date
from email import policy
from pathlib import Path
from typing import Any

import pytest
from formkit import set_sender
from test_ingest import setup_form

from caseaudit_batch import session
from caseaudit_batch.allocation import workspace as setup
from caseaudit_batch.core.notify import Notice, build_eml
from caseaudit_batch.ingest import notices
from caseaudit_batch.ingest import record as ingest
from caseaudit_batch.ingest import stage as ingest_stage

WARNING = {"ps_supervision": "No", "ps_genogram": "Not applicable"}  # accepted with a point to check (V131)


def _messages(folder: Path) -> dict[str, tuple[Any, ...]]:
    """Every shared and feedback message, by its path: its headers (less the moment it was made and its MIME
    boundary) and each part's type, file name and content."""
    found = {}
    for path in sorted((folder / "output").rglob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        headers = tuple((k, str(v)) for k, v in message.items() if k not in ("Date", "X-Caseaudit-Made-At"))
        headers = tuple((k, re.sub(r'boundary="[^"]+"', "", v)) for k, v in headers)
        parts = tuple(
            (part.get_content_type(), part.get_filename(), _content(part.get_payload(decode=True)))
            for part in message.walk()
            if not part.is_multipart()
        )
        found[path.relative_to(folder / "output").as_posix()] = (headers, parts)
    return found


def _content(data: bytes) -> Any:
    """A part's content; a workbook's, part by part, less the moment it was written (docProps/core.xml). An audit
    form (the shared notice's attachment) carries its audit's ID, which differs between workspaces: only its
    parts' names are compared here (that it is the very file sent is tested below)."""
    if not data.startswith(b"PK"):
        return data
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        if "docProps/custom.xml" in book.namelist():
            return sorted(book.namelist())
        return {
            name: re.sub(rb"<dcterms:(created|modified)[^<]*</dcterms:\w+>", b"", book.read(name))
            for name in book.namelist()
        }


def _play(folder: Path, pooled: bool, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Two runs: the first accepts a version that then stands; the second holds an accepted form, a returned one,
    a form accepted with a warning, two versions of one audit (the older, with a warning, is superseded in the
    run) and a returned version of the audit whose version stands."""
    setup.init_workspace(folder, organisation="Testshire Council")
    set_sender(folder)
    ctx = session.open_context(folder / "caseaudit.toml", "2026-09-01")
    try:
        monkeypatch.setattr(ingest, "PARALLEL_FROM", 2 if pooled else 10**6)
        _, stands = setup_form(ctx, "first.xlsx", case_ref="CR4004")
        ingest_stage.ingest_inbox(ctx, "2026-09")
        setup_form(ctx, "a.xlsx", case_ref="CR1001")
        setup_form(ctx, "b.xlsx", case_ref="CR2002", changes={"s1_grade": None})
        setup_form(ctx, "c.xlsx", case_ref="CR5005", changes=WARNING)
        _, twice = setup_form(ctx, "newer.xlsx", case_ref="CR3003", changes={"date_completed": date(2026, 9, 25)})
        setup_form(ctx, "older.xlsx", changes={**WARNING, "date_completed": date(2026, 9, 10)}, alloc=twice)
        setup_form(ctx, "again.xlsx", changes={"s1_grade": None}, alloc=stands)
        made = notices.Notices.draft

        def counted(self: notices.Notices, e: Any) -> dict[str, notices.Draft]:
            got = made(self, e)
            with (folder / "drafted.txt").open("a") as handle:  # called in the worker: told through a file
                handle.write("".join(f"{e.rel}:{kind}\n" for kind in got))
            return got

        monkeypatch.setattr(notices.Notices, "draft", counted)
        result = ingest_stage.ingest_inbox(ctx, "2026-09")
    finally:
        ctx.close()
    outcomes = {e.rel: e.outcome for e in result.data["entries"]}
    assert outcomes == {
        "first.xlsx": "duplicate",  # seen in the first run
        "a.xlsx": "accepted",
        "b.xlsx": "returned",
        "c.xlsx": "accepted",
        "newer.xlsx": "accepted",
        "older.xlsx": "superseded",
        "again.xlsx": "returned",
    }
    # Once staged, the forms' bytes, feedback workbooks and drafts are let go: the result (which the demo keeps for
    # the year) holds each file's outcome and checks, not its attachments.
    held = [e.rel for e in result.data["entries"] if e.data is not None or e.feedback is not None or e.drafted]
    assert held == []
    return _messages(folder)


def test_drafted_notices_are_the_messages_made_after_the_pool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pooled = _play(tmp_path / "pooled", True, monkeypatch)
    alone = _play(tmp_path / "alone", False, monkeypatch)
    drafted = set((tmp_path / "pooled" / "drafted.txt").read_text().split())
    # The workers drafted every accepted or returned form's notices, including those later made again here.
    assert drafted == {
        "a.xlsx:shared",
        "b.xlsx:feedback",
        "c.xlsx:shared",
        "c.xlsx:feedback",
        "newer.xlsx:shared",
        "older.xlsx:shared",
        "older.xlsx:feedback",
        "again.xlsx:feedback",
    }
    assert not (tmp_path / "alone" / "drafted.txt").exists()
    assert sorted(pooled) == sorted(alone)
    assert len([p for p in pooled if "/shared/" in p]) == 4  # first (the earlier run), a, c, newer
    assert len([p for p in pooled if "/feedback/" in p]) == 4  # b, c, older (superseded), again (a version stands)
    for path in pooled:
        assert pooled[path] == alone[path], path
    # A drafted shared notice attaches the very file the auditor sent.
    inbox = tmp_path / "pooled" / "inbox" / "audits"
    sent = {(inbox / name).read_bytes(): name for name in ("a.xlsx", "c.xlsx", "newer.xlsx")}
    attached = set()
    for eml in (tmp_path / "pooled" / "output" / "2026-09" / "shared").glob("*.eml"):
        message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
        attached |= {sent.get(a.get_content(), "?") for a in message.iter_attachments()}
    assert attached == {"a.xlsx", "c.xlsx", "newer.xlsx", "?"}  # "?": the first run's form, shared by that run
    # The finished draft carries the feedback workbook's own name, and the message its own Message-ID.
    [c_feedback] = [p for p in pooled if "CR5005" in p and "/feedback/" in p]
    assert pooled[c_feedback][1][1][1] == Path(c_feedback).with_suffix(".xlsx").name
    again = [p for p in pooled if "CR4004" in p and "/feedback/" in p]
    assert len(again) == 1
    text = pooled[again[0]][1][0][2].decode()
    assert "first.xlsx" in text  # told which version stands: made here, after the pool, not from the draft


def test_a_finished_draft_is_the_message_built_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("caseaudit_batch.core.notify.formatdate", lambda localtime: "Thu, 03 Dec 2026 10:00:00 +0000")
    monkeypatch.setattr("caseaudit_batch.core.notify.uuid.uuid4", lambda: type("U", (), {"hex": "0" * 32})())
    body = f"Found: '{notices.PENDING_MESSAGE_ID}' and filename=\"{notices.PENDING_NAME}\" typed in an answer.\n"
    sender = "QA <qa@example.org>"

    def notice(name: str) -> Notice:
        return Notice("feedback", ["a@example.org"], "Feedback", body, [], [(name, b"PK\x03\x04 workbook")])

    real = "2026-09-0001_CR1_7-feedback.xlsx"
    whole = build_eml(notice(real), sender, "2026-09-01T10:00:00+01:00", "<abc@example.org>")
    draft = build_eml(notice(notices.PENDING_NAME), sender, "2026-09-01T10:00:00+01:00", notices.PENDING_MESSAGE_ID)
    assert notices._finished(draft, "<abc@example.org>", real) == whole
    # A name that would not be written plainly quoted: the notice is made again, whole.
    assert notices._finished(draft, "<abc@example.org>", 'odd"name.xlsx') is None


def test_a_draft_that_fails_in_the_worker_is_made_after_the_pool(
    ctx: session.Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, "PARALLEL_FROM", 2)

    def broken(self: notices.Notices, e: Any) -> dict[str, notices.Draft]:
        raise RuntimeError("no draft")

    monkeypatch.setattr(notices.Notices, "draft", broken)
    setup_form(ctx, "a.xlsx", case_ref="CR1001")
    setup_form(ctx, "b.xlsx", case_ref="CR2002", changes={"s1_grade": None})
    result = ingest_stage.ingest_inbox(ctx, "2026-09")
    assert {e.rel: e.outcome for e in result.data["entries"]} == {"a.xlsx": "accepted", "b.xlsx": "returned"}
    out = ctx.config.output_dir / "2026-09"
    assert len(list((out / "shared").glob("*.eml"))) == 1
    assert len(list((out / "feedback").glob("*.eml"))) == 1


def test_the_listing_process_never_holds_a_files_bytes(tmp_path: Path) -> None:
    """Issue 25: a 5,000-form month's files were 110 MB held by the listing process from the listing to the notices.
    The listing reads each file only to hash it; the worker that checks it reads it again, and what it sends back
    carries no bytes, so the parent's entry holds none whatever the outcome."""
    from types import SimpleNamespace

    from caseaudit_batch.ingest import files as inbox_files

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "form.xlsx").write_bytes(b"the form")
    (entry,) = inbox_files.gather(None, "audits", inbox)
    assert entry.data is None and entry.size == 8 and entry.pending
    book = SimpleNamespace(allocations={})
    for outcome, drafted in [("accepted", {"shared": object()}), ("accepted", {}), ("returned", {})]:
        ingest._apply(entry, (outcome, "", [], "", [], None, None, drafted, entry.sha256, 1.0), book)  # type: ignore[arg-type]
        assert entry.data is None and entry.mtime == 1.0
        assert inbox_files.form_bytes(entry) == b"the form"  # read again: the bytes listed


def test_a_file_read_again_must_be_the_bytes_listed(tmp_path: Path) -> None:
    """The bytes a file is listed (and recorded) with are the bytes checked and attached: a file changed or gone
    since is ``ignored`` (IN009, IN007) with why, never read as it is now; one that cannot be read is IN008."""
    from caseaudit_batch.ingest import files as inbox_files
    from caseaudit_batch.workbook.reader import Refused

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ("same", "changed", "gone", "folder"):
        (inbox / f"{name}.xlsx").write_bytes(b"the form")
    entries = {e.rel: e for e in inbox_files.gather(None, "audits", inbox)}
    (inbox / "changed.xlsx").write_bytes(b"the form, saved again")
    (inbox / "gone.xlsx").unlink()
    (inbox / "folder.xlsx").unlink()
    (inbox / "folder.xlsx").mkdir()
    assert inbox_files.form_bytes(entries["same.xlsx"]) == b"the form"
    for name, code, outcome in [
        ("changed", "IN009", "ignored"),
        ("gone", "IN007", "ignored"),
        ("folder", "IN008", "rejected"),
    ]:
        entry = entries[f"{name}.xlsx"]
        with pytest.raises(Refused) as refused:
            inbox_files.form_bytes(entry)
        assert (refused.value.code, refused.value.outcome) == (code, outcome)
        # A file not read is recorded with no hash or time that a later run could take for its own.
        assert (entry.sha256 == "" and entry.mtime == 0.0) == (outcome == "ignored")


def test_a_shared_notice_made_after_its_file_changed_goes_without_it(
    ctx: session.Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shared notice made in the main process (no worker drafted it) reads the form again; if it changed after
    it was checked, the notice goes without the workbook rather than with bytes nobody checked, and the log says so
    without quoting the form."""
    setup_form(ctx, "a.xlsx", case_ref="CR1001")
    real = ingest.check_audit

    def check_then_change(entry: Any, book: Any, inbox: str = "audits") -> None:
        real(entry, book, inbox)
        entry.data = None  # as after a worker's check: the bytes are read again for the notice
        entry.path.write_bytes(entry.path.read_bytes() + b"\0")

    monkeypatch.setattr(ingest, "check_audit", check_then_change)
    result = ingest_stage.ingest_inbox(ctx, "2026-09")
    assert [e.outcome for e in result.data["entries"]] == ["accepted"]
    (eml,) = (ctx.config.output_dir / "2026-09" / "shared").glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert [part.get_filename() for part in message.iter_attachments()] == []
    # The QA officer is told on screen, by code, with what to do; the line names the file and quotes nothing in it.
    (told,) = [line for line in result.attention if "IN113" in line]
    assert told.startswith("[IN113] The shared notice of a.xlsx went without the form")
    assert "the next run checks the changed file again" in told
    body = " ".join(message.get_body(("plain",)).get_content().split())  # type: ignore[union-attr]
    assert "The audit form is attached" not in body  # it says what is true, and what to do
    assert "The audit form is not attached: its file in the audits inbox changed after it was checked." in body
    assert "It is checked again at the next run, and shared then if it is accepted." in body
    monkeypatch.setattr(ingest, "check_audit", real)
    again = ingest_stage.ingest_inbox(ctx, "2026-09")  # as the notice says: the changed file is checked again
    [entry] = again.data["entries"]
    assert entry.outcome == "accepted"  # a new version of the audit: shared, this time with its form
    attached = [
        [
            part.get_filename()
            for part in email.message_from_bytes(p.read_bytes(), policy=policy.default).iter_attachments()
        ]
        for p in (ctx.config.output_dir / "2026-09" / "shared").glob("*.eml")
    ]
    assert sorted(len(names) for names in attached) == [0, 1]


def test_a_shared_notice_says_its_form_is_attached(ctx: session.Context) -> None:
    setup_form(ctx, "a.xlsx", case_ref="CR1001")
    ingest_stage.ingest_inbox(ctx, "2026-09")
    (eml,) = (ctx.config.output_dir / "2026-09" / "shared").glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    (form,) = message.iter_attachments()
    assert form.get_filename().startswith("2026-09_") and form.get_filename().endswith("_CR1001.xlsx")
    body = " ".join(message.get_body(("plain",)).get_content().split())  # type: ignore[union-attr]
    assert "accepted by the Quality Assurance Team. The audit form is attached." in body
    assert "not attached" not in body


def test_drafts_put_aside_come_back_as_they_were_and_leave_nothing(ctx: session.Context) -> None:
    """Issue 25: each result's drafted messages are put aside in an unnamed temporary file beside the outputs as
    they come back from the pool (a 5,000-form month's were 181 MB held in memory), and read back when staged."""
    out = ctx.config.output_dir
    out.mkdir(parents=True, exist_ok=True)
    before = sorted(p.name for p in out.iterdir())
    with ctx.register.reader() as conn:
        made = notices.Notices(conn, None, None, ctx.clock, out, None, None, "", "", None)  # type: ignore[arg-type]
        shared = Notice("shared", ["a@example.org"], "Shared", "", [])
        messages = {"shared": b"Message-ID: one\r\n\r\n" + bytes(range(256)) * 40, "feedback": b"two"}
        drafted = {kind: notices.Draft(("accepted", None), shared, eml) for kind, eml in messages.items()}
        kept = made.keep(drafted)
        assert all(isinstance(d.eml, tuple) for d in kept.values())  # no message held in memory
        again = made.keep({"again": notices.Draft(("accepted", None), shared, b"three")})
        assert made.keep(again) == again  # put aside once only
        assert made._message(again["again"]) == b"three"
        assert {kind: made._message(d) for kind, d in kept.items()} == messages
        assert sorted(p.name for p in out.iterdir()) == before  # the file has no name
        made.close()
        assert made.keep({}) == {}


def test_a_worker_keeps_none_of_what_it_sends_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 25: a worker's copy of each entry it checked held its check and feedback workbook for the life of the
    pool (each worker grew by about 30 KB a form); what it sends back it lets go, and the result is whole."""
    from types import SimpleNamespace

    from caseaudit_batch.ingest import files as inbox_files

    checked = SimpleNamespace(allocation={"staff_id": "S1"})
    problems = ["a problem"]

    def check(entry: inbox_files.Entry, book: object, inbox: str) -> None:
        entry.outcome, entry.check, entry.problems, entry.feedback = "returned", checked, problems, b"workbook"
        if entry.rel == "1.xlsx":  # as form_bytes leaves a file that changed before it was read
            entry.sha256, entry.mtime = "", 0.0

    monkeypatch.setattr(ingest, "check_audit_safely", check)
    entries = [
        inbox_files.Entry(path=tmp_path / f"{n}.xlsx", rel=f"{n}.xlsx", size=1, mtime=5.0, sha256="abc", data=b"x")
        for n in range(3)
    ]
    monkeypatch.setattr(ingest, "_WORKER_JOB", (object(), "audits", None))
    sent = ingest._check_in_worker(entries)
    assert [(o[0], o[5], o[4], o[6]) for o in sent] == [("returned", checked, problems, b"workbook")] * 3
    assert checked.allocation == {}  # the parent has it: not sent back
    assert [o[8:] for o in sent] == [("abc", 5.0), ("", 0.0), ("abc", 5.0)]  # what the register is to record
    assert [(e.check, e.feedback, e.problems) for e in entries] == [(None, None, [])] * 3
    assert [e.data for e in entries] == [None] * 3  # the bytes it read to check each file: let go
