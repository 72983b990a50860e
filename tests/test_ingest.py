"""``caseaudit ingest`` and ``check``: every file one outcome, the register, the manifest, alerts, sharing, feedback."""

from __future__ import annotations

import csv
import email
import io
import os
import zipfile
from datetime import date
from email import policy
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from formkit import allocate, good_answers, make_form
from openpyxl import load_workbook

from caseaudit_batch import cli, session
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.errors import EXIT_DATAERR, ConfigError
from caseaudit_batch.ingest import stage as ingest_stage
from caseaudit_batch.workbook import reader

ACTIONS = [("Update the chronology", "Sam Worker", date(2026, 10, 30))]


def setup_form(
    ctx: session.Context,
    name: str = "form.xlsx",
    changes: dict[str, Any] | None = None,
    actions: list[tuple[Any, ...]] | None = None,
    *,
    alloc: dict[str, Any] | None = None,
    prefilled_changes: dict[str, Any] | None = None,
    mtime: float | None = None,
    **alloc_kw: Any,
) -> tuple[Path, dict[str, Any]]:
    """Allocate an audit (unless ``alloc`` is given) and drop its completed form into the inbox."""
    if alloc is None:
        with ctx.register.engine.begin() as conn:
            alloc = allocate(conn, ctx.framework, **alloc_kw)
    answers = {**good_answers(ctx.framework), **(changes or {})}
    data = make_form(
        ctx.framework, {**alloc, **(prefilled_changes or {})}, answers, ACTIONS if actions is None else actions
    )
    path = ctx.config.inbox("audits") / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path, alloc


def manifest_rows(result: session.Result) -> list[dict[str, str]]:
    manifest = result.outputs[0]
    with manifest.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def outcome_of(result: session.Result) -> dict[str, tuple[str, str]]:
    return {row["file"]: (row["outcome"], row["codes"]) for row in manifest_rows(result)}


def query(ctx: session.Context, statement: Any) -> list[Any]:
    with ctx.register.reader() as conn:
        return list(conn.execute(statement).all())


def test_accepted_form_is_recorded_shared_and_manifested(ctx: session.Context) -> None:
    _, alloc = setup_form(ctx)
    result = ingest_stage.ingest_inbox(ctx, "2026-09")
    assert result.exit_code == 0
    manifest = result.outputs[0]
    assert manifest.name.startswith("manifest-audits-2026") and manifest.parent.name == "2026-09"
    assert manifest.read_text("utf-8").splitlines()[0] == "file,sha256,size,outcome,audit_id,codes,message"
    assert outcome_of(result) == {"form.xlsx": ("accepted", "")}
    [audit] = query(ctx, sa.select(reg.audits))
    assert audit.audit_id == alloc["audit_id"] and audit.current and audit.month == "2026-09" and not audit.late
    assert audit.overall_grade == "Good"
    assert audit.answers["s1_grade"] == "Good"
    assert audit.answers["date_completed"] == "2026-09-20"
    assert audit.answers["actions"] == [["Update the chronology", "Sam Worker", "2026-10-30"]]
    assert audit.answers["case_ref"] == "CR1001"
    grades = query(
        ctx, sa.select(reg.section_grades.c.section, reg.section_grades.c.grade, reg.section_grades.c.source)
    )
    assert sorted(grades) == [(n, "Good", "auditor") for n in range(1, 10)]
    shared = list((ctx.config.output_dir / "2026-09" / "shared").glob("*.eml"))
    assert len(shared) == 1
    message = email.message_from_bytes(shared[0].read_bytes(), policy=policy.default)
    assert "terry.manager@example.org" in message["To"] and "sue.service@example.org" in message["To"]
    assert "ira.reviewer@example.org" in message["To"]
    assert "sam.worker@example.org" in message["Cc"]  # took part in person
    assert [a.get_filename() for a in message.iter_attachments()] == ["2026-09_2026-09-0001_CR1001.xlsx"]
    body = message.get_body(preferencelist=("plain",))
    assert body is not None and "supervision" in body.get_content()
    assert (ctx.config.output_dir / "2026-09" / "validation-2026-09.xlsx").exists()
    assert (ctx.config.output_dir / "2026-09" / "outbox.csv").exists()


def test_rerun_changes_nothing_and_lists_duplicates(ctx: session.Context) -> None:
    setup_form(ctx)
    (ctx.config.inbox("audits") / "~$form.xlsx").write_bytes(b"lock")
    first = ingest_stage.ingest_inbox(ctx, "2026-09")
    before = query(ctx, sa.select(reg.submissions.c.id, reg.submissions.c.outcome))
    audits_before = query(ctx, sa.select(reg.audits))
    second = ingest_stage.ingest_inbox(ctx, "2026-09")
    assert second.exit_code == 0
    rows = {r["file"]: r for r in manifest_rows(second)}
    assert rows["form.xlsx"]["outcome"] == "duplicate"
    assert rows["form.xlsx"]["message"] == "Already ingested on 2026-09-01 as accepted."
    assert rows["~$form.xlsx"]["outcome"] == "ignored"
    assert query(ctx, sa.select(reg.submissions.c.id, reg.submissions.c.outcome)) == before
    assert query(ctx, sa.select(reg.audits)) == audits_before
    assert len(list((ctx.config.output_dir / "2026-09" / "shared").glob("*.eml"))) == 1
    assert first.outputs[0] != second.outputs[0] or first.outputs[0].exists()


def test_a_file_untouched_since_it_was_read_is_not_read_again_but_a_changed_one_is(
    ctx: session.Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every daily run lists the whole inbox; a file with the same path, size and modification time as one already
    read keeps its recorded bytes (hash) without being read, and any change to it is read as new bytes."""
    path, alloc = setup_form(ctx, mtime=1_790_000_000.25)
    first = ingest_stage.ingest_inbox(ctx, "2026-09")
    reads: list[str] = []
    real_read = Path.read_bytes

    def counting(self: Path) -> bytes:
        reads.append(self.name)
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", counting)
    again = ingest_stage.ingest_inbox(ctx, "2026-09")
    assert "form.xlsx" not in reads
    assert manifest_rows(again)[0]["sha256"] == manifest_rows(first)[0]["sha256"]
    assert outcome_of(again)["form.xlsx"] == ("duplicate", "IN100")
    # Resubmitted under the same name (new bytes, so a new modification time): read, and the new version accepted.
    setup_form(ctx, changes={"strengths": "The worker knows the child well and it shows in the plan."}, alloc=alloc,
               mtime=1_790_000_100.5)  # fmt: skip
    third = ingest_stage.ingest_inbox(ctx, "2026-09")
    assert "form.xlsx" in reads
    assert outcome_of(third)["form.xlsx"] == ("accepted", "IN102")  # replaces the earlier accepted version
    assert path.exists()


def test_identical_copy_elsewhere_is_a_duplicate(ctx: session.Context) -> None:
    path, _ = setup_form(ctx)
    copy = ctx.config.inbox("audits") / "sub" / "copy.xlsx"
    copy.parent.mkdir()
    copy.write_bytes(path.read_bytes())
    result = ingest_stage.ingest_inbox(ctx, "2026-09")
    assert outcome_of(result) == {"form.xlsx": ("accepted", ""), "sub/copy.xlsx": ("duplicate", "IN101")}


def test_returned_form_gets_feedback_and_exit_65(ctx: session.Context) -> None:
    setup_form(ctx, changes={"s3_grade": None, "strengths": "fine"})
    result = ingest_stage.ingest_inbox(ctx, "2026-09")
    assert result.exit_code == EXIT_DATAERR
    outcome, codes = outcome_of(result)["form.xlsx"]
    assert outcome == "returned" and "V001" in codes.split(";") and "V101" not in codes
    assert query(ctx, sa.select(reg.audits)) == []
    problems = query(ctx, sa.select(reg.problems.c.code, reg.problems.c.cell))
    assert ("V001", "B35") in problems or any(code == "V001" for code, _ in problems)
    feedback = list((ctx.config.output_dir / "2026-09" / "feedback").glob("*.xlsx"))
    assert len(feedback) == 1
    ws = load_workbook(feedback[0]).active
    assert ws is not None
    headers = [c.value for c in next(r for r in ws.iter_rows() if r[0].value == "Severity")]
    assert headers[2:] == ["Where", "What we found", "What is wrong", "How to fix"]
    eml = email.message_from_bytes(feedback[0].with_suffix(".eml").read_bytes(), policy=policy.default)
    assert eml["To"] == "alex.auditor@example.org"
    body = eml.get_body(preferencelist=("plain",))
    assert body is not None and "How to fix" in body.get_content() and "What we found" in body.get_content()
    # Auditors do not have caseaudit: the notice and the workbook say how to send the form back, in QA's words.
    assert "caseaudit check" not in body.get_content()
    assert "send it back to the QA team the way you sent it" in " ".join(body.get_content().split())
    assert any("the way you sent it" in str(c.value) for row in ws.iter_rows() for c in row if c.value)
    assert not any("caseaudit check" in str(c.value) for row in ws.iter_rows() for c in row if c.value)


def test_prefilled_change_is_returned_and_register_value_used(ctx: session.Context) -> None:
    setup_form(ctx, prefilled_changes={"team": "Team Elsewhere"})
    result = ingest_stage.ingest_inbox(ctx, "2026-09")
    assert outcome_of(result)["form.xlsx"] == ("returned", "IN030")
    [problem] = query(ctx, sa.select(reg.problems.c.field, reg.problems.c.message))
    assert problem.field == "team" and "Team South" in problem.message


@pytest.mark.parametrize(("status", "code"), [("withdrawn", "IN024"), ("replaced", "IN024")])
def test_withdrawn_allocation_is_rejected(ctx: session.Context, status: str, code: str) -> None:
    setup_form(ctx, status=status)
    assert outcome_of(ingest_stage.ingest_inbox(ctx, "2026-09"))["form.xlsx"] == ("rejected", code)


def test_unknown_audit_and_unknown_framework(ctx: session.Context) -> None:
    from formkit import prefilled_for

    data = make_form(ctx.framework, prefilled_for("never-allocated"), good_answers(ctx.framework), ACTIONS)
    (ctx.config.inbox("audits") / "stranger.xlsx").write_bytes(data)
    data = make_form(
        ctx.framework, prefilled_for("x"), good_answers(ctx.framework), ACTIONS, meta={"framework_version": "abc"}
    )
    (ctx.config.inbox("audits") / "old.xlsx").write_bytes(data)
    result = ingest_stage.ingest_inbox(ctx, "2026-09")
    assert outcome_of(result) == {"old.xlsx": ("rejected", "IN022"), "stranger.xlsx": ("rejected", "IN023")}
    assert result.exit_code == EXIT_DATAERR


def test_wrong_kind_of_form(ctx: session.Context) -> None:
    setup_form(ctx)
    path = ctx.config.inbox("audits") / "form.xlsx"
    with ctx.register.reader() as conn:
        prefilled = conn.execute(sa.select(reg.allocations.c.prefilled)).scalar_one()
    path.write_bytes(make_form(ctx.framework, prefilled, {}, form_kind="moderation"))
    assert outcome_of(ingest_stage.ingest_inbox(ctx, "2026-09"))["form.xlsx"] == ("rejected", "IN021")


def test_late_form_counts_for_its_allocation_month(ctx: session.Context) -> None:
    setup_form(ctx, changes={"date_completed": date(2026, 10, 3)})
    ctx2 = session.open_context(ctx.config.path, "2026-10-05")
    try:
        result = ingest_stage.ingest_inbox(ctx2)
    finally:
        ctx2.close()
    assert result.outputs[0].parent.name == "2026-10"
    assert outcome_of(result)["form.xlsx"] == ("accepted", "V113")
    [audit] = query(ctx, sa.select(reg.audits))
    assert audit.month == "2026-09" and audit.late


def test_superseding_in_one_run_oldest_first(ctx: session.Context) -> None:
    _, alloc = setup_form(ctx, "v1.xlsx", changes={"date_completed": date(2026, 9, 20)}, mtime=1_000)
    setup_form(ctx, "v2.xlsx", changes={"date_completed": date(2026, 9, 22)}, alloc=alloc, mtime=500)
    setup_form(ctx, "v3.xlsx", changes={"s1_grade": None}, alloc=alloc, mtime=2_000)  # returned
    result = ingest_stage.ingest_inbox(ctx, "2026-09")
    outcomes = outcome_of(result)
    assert outcomes["v1.xlsx"][0] == "superseded"
    assert outcomes["v2.xlsx"][0] == "accepted"
    assert outcomes["v3.xlsx"][0] == "returned"
    rows = {r["file"]: r for r in manifest_rows(result)}
    assert "v1.xlsx" in rows["v2.xlsx"]["message"]
    current = query(ctx, sa.select(reg.audits.c.current, reg.audits.c.date_completed).order_by(reg.audits.c.id))
    assert sorted(current) == [(False, date(2026, 9, 20)), (True, date(2026, 9, 22))]


def test_superseding_across_runs(ctx: session.Context) -> None:
    _, alloc = setup_form(ctx, "v1.xlsx")
    ingest_stage.ingest_inbox(ctx, "2026-09")
    setup_form(
        ctx,
        "v2.xlsx",
        changes={
            "date_completed": date(2026, 9, 25),
            "overall_grade": "Outstanding",
            **{f"s{n}_grade": "Outstanding" for n in range(1, 10)},
        },
        alloc=alloc,
    )
    result = ingest_stage.ingest_inbox(ctx, "2026-09")
    assert outcome_of(result)["v2.xlsx"] == ("accepted", "IN102")
    subs = dict(query(ctx, sa.select(reg.submissions.c.path, reg.submissions.c.outcome)))
    assert subs == {"v1.xlsx": "superseded", "v2.xlsx": "accepted"}
    messages_by_path = dict(query(ctx, sa.select(reg.submissions.c.path, reg.submissions.c.message)))
    assert messages_by_path["v1.xlsx"] == "Superseded by the newer accepted version v2.xlsx."
    [current] = query(ctx, sa.select(reg.audits).where(reg.audits.c.current.is_(True)))
    assert current.overall_grade == "Outstanding"
    # a returned correction never supersedes the accepted version
    setup_form(ctx, "v3.xlsx", changes={"overall_grade": None}, alloc=alloc)
    result = ingest_stage.ingest_inbox(ctx, "2026-09")
    assert outcome_of(result)["v3.xlsx"][0] == "returned"
    assert "IN104" in outcome_of(result)["v3.xlsx"][1]
    assert len(query(ctx, sa.select(reg.audits).where(reg.audits.c.current.is_(True)))) == 1


def test_safeguarding_alert_raised_once_and_printed_first(ctx: session.Context) -> None:
    _, alloc = setup_form(
        ctx, changes={"safeguarding_concern": "Yes", "safeguarding_detail": "", "s1_grade": None}
    )  # returned, still alerts
    result = ingest_stage.ingest_inbox(ctx, "2026-09")
    assert result.attention and result.attention[0].startswith("SAFEGUARDING")
    urgent = list((ctx.config.output_dir / "2026-09").glob("URGENT-safeguarding-*.xlsx"))
    assert len(urgent) == 1
    emls = list((ctx.config.output_dir / "2026-09" / "alerts").glob("*.eml"))
    message = email.message_from_bytes(emls[0].read_bytes(), policy=policy.default)
    for who in ("sam.worker", "terry.manager", "sue.service"):
        assert who in message["To"]
    assert len(query(ctx, sa.select(reg.alerts))) == 1
    setup_form(
        ctx, "fixed.xlsx", changes={"safeguarding_concern": "Yes", "safeguarding_detail": "TM told 20/09"}, alloc=alloc
    )
    again = ingest_stage.ingest_inbox(ctx, "2026-09")
    assert not again.attention
    assert len(query(ctx, sa.select(reg.alerts))) == 1


def test_hostile_corpus_each_gets_its_outcome(ctx: session.Context) -> None:
    path, _ = setup_form(ctx, "good.xlsx", changes={"strengths": '=HYPERLINK("http://x","y") and the child did well'})
    good = path.read_bytes()
    inbox = ctx.config.inbox("audits")

    def rezip(change: dict[str, bytes], add: dict[str, bytes] | None = None) -> bytes:
        src = zipfile.ZipFile(io.BytesIO(good))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                dst.writestr(info.filename, change.get(info.filename, src.read(info.filename)))
            for name, body in (add or {}).items():
                dst.writestr(name, body)
        return out.getvalue()

    corpus = {
        "~$good.xlsx": b"\x00lock",
        "ole.xlsx": reader.OLE_MAGIC + b"\x00" * 512,
        "renamed.xlsx": b"Case reference,Team,Worker\nCR1,a,b\n",
        "empty.xlsx": b"",
        "truncated.xlsx": good[: len(good) // 3],
        "bomb.xlsx": rezip({"xl/worksheets/sheet1.xml": b"<a>" + b"A" * (30 * 1024 * 1024) + b"</a>"}),
        "laughs.xlsx": rezip({"xl/worksheets/sheet1.xml": b'<!DOCTYPE a [<!ENTITY a "aaaa">]><a>&a;</a>'}),
        "macro.xlsx": rezip({}, {"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0"}),
        "links.xlsx": rezip({}, {"xl/externalLinks/externalLink1.xml": b"<externalLink/>"}),
    }
    for name, data in corpus.items():
        (inbox / name).write_bytes(data)
    result = ingest_stage.ingest_inbox(ctx, "2026-09")
    assert outcome_of(result) == {
        "good.xlsx": ("accepted", ""),
        "~$good.xlsx": ("ignored", "IN001"),
        "ole.xlsx": ("rejected", "IN003"),
        "renamed.xlsx": ("rejected", "IN004"),
        "empty.xlsx": ("rejected", "IN005"),
        "truncated.xlsx": ("rejected", "IN005"),
        "bomb.xlsx": ("rejected", "IN010"),
        "laughs.xlsx": ("rejected", "IN014"),
        "macro.xlsx": ("rejected", "IN012"),
        "links.xlsx": ("rejected", "IN013"),
    }
    assert sum(result.data["counts"].values()) == len(corpus) + 1
    [audit] = query(ctx, sa.select(reg.audits))
    assert audit.answers["strengths"].startswith("=HYPERLINK")
    # formula text stays text in the workbooks written
    book = load_workbook(ctx.config.output_dir / "2026-09" / "validation-2026-09.xlsx")
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f"


def test_internal_error_in_one_file_does_not_stop_the_batch(
    ctx: session.Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup_form(ctx, "a.xlsx")
    setup_form(ctx, "b.xlsx", case_ref="CR2002")
    from caseaudit_batch.ingest import files as inbox_files
    from caseaudit_batch.ingest import record as ingest

    real = ingest.check_audit

    def flaky(entry: inbox_files.Entry, book: ingest.AuditBook, inbox: str = "audits") -> None:
        if entry.rel == "a.xlsx":
            raise RuntimeError("secret case text")
        real(entry, book, inbox)

    monkeypatch.setattr(ingest, "check_audit", flaky)
    result = ingest_stage.ingest_inbox(ctx, "2026-09")
    rows = {r["file"]: r for r in manifest_rows(result)}
    assert rows["a.xlsx"]["outcome"] == "rejected" and rows["a.xlsx"]["codes"] == "IN090"
    assert rows["a.xlsx"]["message"].startswith("rejected: internal error")
    assert rows["b.xlsx"]["outcome"] == "accepted"


def test_missing_inbox_is_a_config_error(ctx: session.Context) -> None:
    ctx.config.inbox("audits").rmdir()
    with pytest.raises(ConfigError):
        ingest_stage.ingest_inbox(ctx, "2026-09")


def test_check_reads_without_writing(ctx: session.Context) -> None:
    path, _ = setup_form(ctx, changes={"safeguarding_concern": "Yes", "safeguarding_detail": "", "s2_grade": "Great"})
    result = ingest_stage.check_files(ctx, [path])
    assert result.exit_code == EXIT_DATAERR
    assert result.attention[0].startswith("[IN110] SAFEGUARDING")
    text = "\n".join(result.lines)
    assert "RETURNED" in text and "What we found: Great" in text and "How to fix" in text
    assert query(ctx, sa.select(reg.submissions)) == []
    assert query(ctx, sa.select(reg.alerts)) == []
    assert not (ctx.config.output_dir / "2026-09").exists()


def test_check_works_while_a_run_holds_the_lock(ctx: session.Context) -> None:
    setup_form(ctx)
    with ctx.register.lock():
        result = ingest_stage.check_files(ctx)
    assert result.exit_code == 0 and "form.xlsx: ACCEPTED" in result.lines[0]


def test_cli_ingest_and_check(workspace: Path, ctx: session.Context, capsys: pytest.CaptureFixture[str]) -> None:
    setup_form(ctx, changes={"overall_grade": "Outstanding", "s1_grade": "Requires Improvement"})  # V003
    config = str(workspace / "caseaudit.toml")
    assert cli.main(["check", "--config", config, "--today", "2026-09-21"]) == EXIT_DATAERR
    assert "V003" in capsys.readouterr().out
    assert cli.main(["ingest", "--config", config, "--today", "2026-09-21"]) == EXIT_DATAERR
    out = capsys.readouterr().out
    assert "Files seen: 1" in out and "returned" in out


def test_check_names_a_missing_file(ctx: session.Context) -> None:
    with pytest.raises(ConfigError) as caught:
        ingest_stage.check_files(ctx, ["nowhere.xlsx"])
    assert caught.value.code == "IN120"


def test_accounting_layer_serves_other_inboxes(ctx: session.Context) -> None:
    """The moderation and actions stages reuse gather / open_form / record_submissions / manifest."""
    from caseaudit_batch.ingest import files as inbox_files

    with ctx.register.engine.begin() as conn:
        prefilled = allocate(conn, ctx.framework)
    inbox = ctx.config.inbox("moderation")
    (inbox / "m.xlsx").write_bytes(make_form(ctx.framework, prefilled, {}, form_kind="moderation"))
    (inbox / "a.xlsx").write_bytes(make_form(ctx.framework, prefilled, {}))  # an audit form in the wrong inbox
    (inbox / "~$m.xlsx").write_bytes(b"x")
    with ctx.register.engine.begin() as conn:
        entries = inbox_files.gather(conn, "moderation", inbox)
        for entry in entries:
            if entry.pending:
                try:
                    _, _, meta = inbox_files.open_form(entry, "moderation", "moderation")
                    entry.settle("accepted", note=f"moderation of {meta['audit_id']}")
                except reader.Refused as refused:
                    entry.settle("rejected", refused.code, **refused.params)
        inbox_files.record_submissions(conn, 1, "moderation", "2026-09", entries, "2026-09-01T10:00:00+01:00")
    rows = list(csv.DictReader(io.StringIO(inbox_files.manifest_bytes(entries).decode())))
    assert {r["file"]: (r["outcome"], r["codes"]) for r in rows} == {
        "m.xlsx": ("accepted", ""),
        "a.xlsx": ("rejected", "IN021"),
        "~$m.xlsx": ("ignored", "IN001"),
    }
    path = inbox_files.manifest_path(ctx.config.output_dir, "2026-09", "moderation", "20260901-100000")
    assert path.name == "manifest-moderation-20260901-100000.csv"
    with ctx.register.engine.begin() as conn:
        again = inbox_files.gather(conn, "moderation", inbox)
    assert [(e.rel, e.outcome, e.known) for e in again if e.rel == "m.xlsx"] == [("m.xlsx", "duplicate", True)]


def test_a_large_form_is_read_again_rather_than_held(ctx: session.Context) -> None:
    path, _ = setup_form(ctx)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
        dst.writestr("xl/media/image1.png", os.urandom(1_500_000))  # a pasted picture
    path.write_bytes(out.getvalue())
    result = ingest_stage.ingest_inbox(ctx, "2026-09")
    assert outcome_of(result)["form.xlsx"] == ("accepted", "")
    [shared] = list((ctx.config.output_dir / "2026-09" / "shared").glob("*.eml"))
    message = email.message_from_bytes(shared.read_bytes(), policy=policy.default)
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content() == out.getvalue()


def test_reallocated_case_shares_with_previous_team_manager_and_asks_for_three_way(ctx: session.Context) -> None:
    setup_form(ctx, changes={"three_way_meeting": "Not applicable"}, previous_worker=True)
    result = ingest_stage.ingest_inbox(ctx, "2026-09")
    assert outcome_of(result)["form.xlsx"] == ("accepted", "V108")
    [shared] = list((ctx.config.output_dir / "2026-09" / "shared").glob("*.eml"))
    message = email.message_from_bytes(shared.read_bytes(), policy=policy.default)
    assert "tina.east@example.org" in message["Cc"]  # the previous worker's team manager


def test_previous_worker_alone_is_not_a_reallocation(ctx: session.Context) -> None:
    # The form names a previous worker, but allocation did not note a re-allocation within the month.
    _, alloc = setup_form(ctx, changes={"three_way_meeting": None}, previous_name="Pat Previous")
    assert alloc["previous_worker"] == "Pat Previous"
    assert outcome_of(ingest_stage.ingest_inbox(ctx, "2026-09"))["form.xlsx"] == ("accepted", "")


def test_worker_processes_give_the_same_outcomes(ctx: session.Context, monkeypatch: pytest.MonkeyPatch) -> None:
    from caseaudit_batch.ingest import record as ingest

    monkeypatch.setattr(ingest, "PARALLEL_FROM", 2)
    setup_form(ctx, "a.xlsx")
    setup_form(ctx, "b.xlsx", case_ref="CR2002", changes={"s1_grade": None})
    setup_form(
        ctx, "c.xlsx", case_ref="CR3003", changes={"safeguarding_concern": "Yes", "safeguarding_detail": "TM told"}
    )
    (ctx.config.inbox("audits") / "d.xlsx").write_bytes(b"not,a,form\n")
    result = ingest_stage.ingest_inbox(ctx, "2026-09")
    assert outcome_of(result) == {
        "a.xlsx": ("accepted", ""),
        "b.xlsx": ("returned", "V001"),
        "c.xlsx": ("accepted", ""),
        "d.xlsx": ("rejected", "IN004"),
    }
    assert result.attention and "CR3003" in result.attention[0]
    assert len(query(ctx, sa.select(reg.audits))) == 2


def test_check_says_when_the_alert_was_already_raised(ctx: session.Context) -> None:
    path, _ = setup_form(ctx, changes={"safeguarding_concern": "Yes", "safeguarding_detail": "TM told"})
    ingest_stage.ingest_inbox(ctx, "2026-09")
    result = ingest_stage.check_files(ctx, [path])
    assert result.attention[0].startswith("[IN112] SAFEGUARDING") and "raised on 2026-09-01" in result.attention[0]


def test_an_older_version_arriving_later_is_superseded_at_once(ctx: session.Context) -> None:
    _, alloc = setup_form(ctx, "newer.xlsx", changes={"date_completed": date(2026, 9, 25)})
    ingest_stage.ingest_inbox(ctx, "2026-09")
    setup_form(ctx, "older.xlsx", changes={"date_completed": date(2026, 9, 10)}, alloc=alloc)
    result = ingest_stage.ingest_inbox(ctx, "2026-09")
    rows = {r["file"]: r for r in manifest_rows(result)}
    assert rows["older.xlsx"]["outcome"] == "superseded" and "newer.xlsx" in rows["older.xlsx"]["message"]
    [current] = query(ctx, sa.select(reg.audits).where(reg.audits.c.current.is_(True)))
    assert current.date_completed == date(2026, 9, 25)
    subs = dict(query(ctx, sa.select(reg.submissions.c.path, reg.submissions.c.message)))
    assert subs["newer.xlsx"] == "Accepted."


def test_two_runs_in_one_second_keep_both_manifests(ctx: session.Context, monkeypatch: pytest.MonkeyPatch) -> None:
    """The manifest's name holds the run's time to the second; a second run within that second takes the next
    free second rather than replacing the first run's manifest (every run keeps its accounting)."""
    setup_form(ctx)
    monkeypatch.setattr(type(ctx.clock), "timestamp", lambda self: "20260901-120000")  # both runs in one second
    first = ingest_stage.ingest_inbox(ctx, "2026-09")
    second = ingest_stage.ingest_inbox(ctx, "2026-09")
    names = sorted(p.name for p in (ctx.config.output_dir / "2026-09").glob("manifest-audits-*.csv"))
    assert len(names) == 2 and first.outputs[0].name != second.outputs[0].name
    assert names == ["manifest-audits-20260901-120000.csv", "manifest-audits-20260901-120001.csv"]


def test_listing_the_inbox_takes_files_in_subfolders_in_order_and_never_follows_links(tmp_path: Path) -> None:
    from caseaudit_batch.ingest import files as inbox_files

    inbox = tmp_path / "inbox"
    (inbox / "b" / "deeper").mkdir(parents=True)
    for name in ("Zed.xlsx", "a.xlsx", "b/deeper/c.xlsx", "b/B.xlsx"):
        (inbox / name).write_bytes(b"x")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.xlsx").write_bytes(b"x")
    (inbox / "link.xlsx").symlink_to(outside / "secret.xlsx")
    (inbox / "linked-folder").symlink_to(outside, target_is_directory=True)
    listed = [p.relative_to(inbox).as_posix() for p in inbox_files.list_files(inbox)]
    assert listed == ["a.xlsx", "b/B.xlsx", "b/deeper/c.xlsx", "Zed.xlsx"]
    entries = inbox_files.gather(None, "audits", inbox)
    assert [e.rel for e in entries if e.outcome != "ignored"] == listed
    # Links are never followed (nothing outside the inbox is read) but each has its manifest row (issue 18).
    links = {e.rel: (e.outcome, e.codes, e.data) for e in entries if e.outcome == "ignored"}
    assert links == {"link.xlsx": ("ignored", ["IN017"], None), "linked-folder": ("ignored", ["IN017"], None)}


def test_ingest_quiet_says_nothing_when_all_went_well_and_the_alerts_and_problems_otherwise(
    workspace: Path, ctx: session.Context, capsys: pytest.CaptureFixture[str]
) -> None:
    """``ingest --quiet`` for a scheduled run (issue 22): silence when all is well; alerts and problems always."""
    config = str(workspace / "caseaudit.toml")
    setup_form(ctx, name="good.xlsx")
    assert cli.main(["ingest", "--quiet", "--config", config, "--today", "2026-09-21"]) == 0
    said = capsys.readouterr()
    assert said.out == "" and said.err == ""
    assert cli.main(["ingest", "--quiet", "--config", config, "--today", "2026-09-21"]) == 0  # nothing new
    assert capsys.readouterr().out == ""
    setup_form(ctx, name="concern.xlsx", case_ref="CR2002", changes={"safeguarding_concern": "Yes"})
    setup_form(ctx, name="wrong.xlsx", case_ref="CR3003", changes={"s4_grade": None})
    assert cli.main(["ingest", "--quiet", "--config", config, "--today", "2026-09-22"]) == EXIT_DATAERR
    said = capsys.readouterr()
    assert "SAFEGUARDING" in said.err and "CR2002" in said.err  # the alert, on its own line, first
    assert "returned" in said.out  # the problem: the summary, because something needs doing


def test_a_file_name_that_is_not_valid_text_is_shown_with_its_bytes_escaped() -> None:
    from caseaudit_batch.ingest.files import shown_name

    assert shown_name("2026-09/Audit – Résumé ✓.xlsx") == "2026-09/Audit – Résumé ✓.xlsx"  # valid text: as it is
    windows = os.fsdecode(b"R\x82sum\x82.xlsx")  # a zip made on Windows, unpacked here: lone surrogates
    assert shown_name(windows) == "R\\x82sum\\x82.xlsx"
    assert shown_name("") == ""
