"""Every input file is accounted for: files seen = accepted + returned + superseded + duplicate + rejected +
ignored, in every run; the manifest lists each file once, the register records each new one once, and files that
vanish or appear while a run is going are recorded, not missed."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from formkit import allocate, good_answers, make_form
from prepared import Templates
from relkit import ACTIONS, TODAY, build, caseaudit, fill, hostile_corpus, manifest, manifests, real_month

from caseaudit_batch import session
from caseaudit_batch.core import register as reg
from caseaudit_batch.ingest import files as inbox_files


def _inbox_files(config: Path) -> list[str]:
    inbox = config.parent / "inbox" / "audits"
    return sorted(p.relative_to(inbox).as_posix() for p in inbox.rglob("*") if p.is_file())


def _check_sums(config: Path, stdout: str) -> list[dict[str, str]]:
    rows = manifest(manifests(config)[-1])
    assert sorted(r["file"] for r in rows) == _inbox_files(config), "every file in the inbox, each once"
    tally = {outcome: sum(r["outcome"] == outcome for r in rows) for outcome in inbox_files.OUTCOMES}
    assert sum(tally.values()) == len(rows), "every file has exactly one of the six outcomes"
    seen = re.search(r"Files seen: (\d+) \(([^)]*)\)", stdout)
    assert seen is not None and int(seen.group(1)) == len(rows)
    assert seen.group(2) == ", ".join(f"{n} {name}" for name, n in tally.items())
    return rows


@pytest.mark.slow
def test_a_mixed_month_is_fully_accounted_for(tmp_path: Path) -> None:
    config = build(tmp_path / "qa", forms=10)
    inbox = config.parent / "inbox" / "audits"
    ctx = session.open_context(config, "2026-09-01")
    answers = good_answers(ctx.framework)
    with ctx.register.engine.begin() as conn:
        versioned = allocate(conn, ctx.framework, case_ref="CR5000")
        broken = allocate(conn, ctx.framework, case_ref="CR5001")
    early = make_form(ctx.framework, versioned, {**answers, "date_completed": date(2026, 9, 10)}, ACTIONS)
    late = make_form(ctx.framework, versioned, {**answers, "date_completed": date(2026, 9, 20)}, ACTIONS)
    (inbox / "v1.xlsx").write_bytes(early)
    (inbox / "v2.xlsx").write_bytes(late)
    (inbox / "returned.xlsx").write_bytes(make_form(ctx.framework, broken, {**answers, "s4_grade": None}, ACTIONS))
    (inbox / "sub").mkdir()
    (inbox / "sub" / "copy.xlsx").write_bytes((inbox / "form0001.xlsx").read_bytes())
    corpus = hostile_corpus((inbox / "form0002.xlsx").read_bytes())
    for name, (data, _, _) in corpus.items():
        (inbox / name).write_bytes(data)
    ctx.close()

    first = caseaudit(config, "ingest", "--month", "2026-09")
    assert first.returncode == 65, first.stderr  # new files were rejected or returned
    rows = {r["file"]: r for r in _check_sums(config, first.stdout)}
    for name, (_, outcome, code) in corpus.items():
        assert (rows[name]["outcome"], rows[name]["codes"].split(";")[0]) == (outcome, code), name
    assert rows["v1.xlsx"]["outcome"] == "superseded" and rows["v2.xlsx"]["outcome"] == "accepted"
    assert rows["returned.xlsx"]["outcome"] == "returned"
    assert rows["sub/copy.xlsx"]["outcome"] == "duplicate"
    assert {r["outcome"] for r in rows.values()} == set(inbox_files.OUTCOMES), "all six outcomes occur"
    ctx = session.open_context(config, TODAY)
    with ctx.register.reader() as conn:
        recorded = conn.execute(sa.select(reg.submissions.c.path)).scalars().all()
    ctx.close()
    assert sorted(recorded) == sorted(rows), "the register records each new file once"

    second = caseaudit(config, "ingest", "--month", "2026-09")
    assert second.returncode == 0, second.stderr  # nothing new
    again = _check_sums(config, second.stdout)
    assert len(again) == len(rows)


@pytest.mark.slow
def test_files_that_vanish_or_appear_during_a_run_are_recorded(tmp_path: Path) -> None:
    config = build(tmp_path / "qa", forms=3)
    # After the inbox is listed, form0001.xlsx is moved to late.xlsx (a user tidying the folder mid-run).
    during = caseaudit(config, "ingest", "--month", "2026-09", hook="vanish:form0001.xlsx:late.xlsx")
    assert during.returncode == 0, during.stderr
    rows = {r["file"]: r for r in manifest(manifests(config)[-1])}
    assert sorted(rows) == ["form0000.xlsx", "form0001.xlsx", "form0002.xlsx"], "listed files, each with an outcome"
    assert (rows["form0001.xlsx"]["outcome"], rows["form0001.xlsx"]["codes"]) == ("ignored", "IN007")
    assert "Files seen: 3" in during.stdout

    after = caseaudit(config, "ingest", "--month", "2026-09")
    assert after.returncode == 0, after.stderr
    rows = {r["file"]: r for r in manifest(manifests(config)[-1])}
    assert rows["late.xlsx"]["outcome"] == "accepted", "the file that appeared is read on the next run"
    assert sorted(rows) == _inbox_files(config)


@pytest.mark.slow
@pytest.mark.parametrize(("how", "code"), [("changed", "IN009"), ("deleted", "IN007")])
def test_a_file_that_changes_or_goes_after_it_is_listed_is_ignored_not_read(
    tmp_path: Path, how: str, code: str
) -> None:
    """The bytes listed (and hashed) are the bytes checked: the worker that reads a form again to check it finds a
    changed or deleted file, and the file is ignored, with why; the others are read as usual. The next run reads
    the file, even when it is back exactly as it was listed (nothing recorded for it may pass it over)."""
    config = build(tmp_path / "qa", forms=3)
    inbox = config.parent / "inbox" / "audits"
    listed = (inbox / "form0001.xlsx").read_bytes()
    during = caseaudit(config, "ingest", "--month", "2026-09", hook=f"read:form0001.xlsx:{how}")
    assert during.returncode == 0, during.stderr
    rows = {r["file"]: r for r in manifest(manifests(config)[-1])}
    assert (rows["form0001.xlsx"]["outcome"], rows["form0001.xlsx"]["codes"]) == ("ignored", code)
    assert rows["form0000.xlsx"]["outcome"] == rows["form0002.xlsx"]["outcome"] == "accepted"
    assert "Traceback" not in during.stdout + during.stderr
    (inbox / "form0001.xlsx").write_bytes(listed)  # back as it was when it was listed
    after = caseaudit(config, "ingest", "--month", "2026-09")
    again = {r["file"]: r for r in manifest(manifests(config)[-1])}
    assert again["form0001.xlsx"]["outcome"] == "accepted", after.stdout


def test_a_file_gone_or_unreadable_when_read_gets_an_outcome(tmp_path: Path) -> None:
    config = build(tmp_path / "qa", forms=2)
    inbox = config.parent / "inbox" / "audits"
    entries = inbox_files.gather(None, "audits", inbox, [inbox / "form0000.xlsx", inbox / "gone.xlsx", inbox])
    outcomes = [(e.rel, e.outcome, e.codes) for e in entries]
    assert outcomes[1] == ("gone.xlsx", "ignored", ["IN007"])
    assert outcomes[2][1:] == ("rejected", ["IN008"])  # a folder where a file was listed: cannot be read


@pytest.mark.slow
def test_returned_action_trackers_are_fully_accounted_for(tmp_path: Path, templates: Templates) -> None:
    config, forms = real_month(tmp_path / "qa", auditors=6, templates=templates)
    ctx = session.open_context(config, "2026-09-01")
    answers = good_answers(ctx.framework)
    ctx.close()
    inbox = config.parent / "inbox"
    for i, form in enumerate(forms[:3]):
        (inbox / "audits" / f"f{i}.xlsx").write_bytes(fill(form, answers))
    assert caseaudit(config, "ingest", "--month", "2026-09").returncode == 0
    made = caseaudit(config, "actions", "--month", "2026-09")
    assert made.returncode == 0, made.stderr
    trackers = sorted((config.parent / "output" / "2026-09" / "actions").glob("*.xlsx"))
    assert trackers, made.stdout
    returned = inbox / "actions"
    tracker = trackers[0].read_bytes()
    (returned / "tracker.xlsx").write_bytes(tracker)
    (returned / "again").mkdir()
    (returned / "again" / "tracker-copy.xlsx").write_bytes(tracker)
    (returned / "audit-form.xlsx").write_bytes((inbox / "audits" / "f0.xlsx").read_bytes())  # wrong inbox
    corpus = hostile_corpus(tracker)
    for name, (data, _, _) in corpus.items():
        (returned / name).write_bytes(data)

    result = caseaudit(config, "actions", "--month", "2026-09")
    assert result.returncode == 65, result.stderr
    rows = {r["file"]: r for r in manifest(manifests(config, "actions")[-1])}
    on_disk = sorted(p.relative_to(returned).as_posix() for p in returned.rglob("*") if p.is_file())
    assert sorted(rows) == on_disk, "every returned tracker file listed once"
    tally = {outcome: sum(r["outcome"] == outcome for r in rows.values()) for outcome in inbox_files.OUTCOMES}
    assert sum(tally.values()) == len(on_disk)
    assert f"Action trackers returned: {len(on_disk)} file(s)" in result.stdout
    for name, (_, outcome, code) in corpus.items():
        assert (rows[name]["outcome"], rows[name]["codes"].split(";")[0]) == (outcome, code), name
    # The first of two identical files (in listing order) is read; the other is its duplicate.
    assert (rows["again/tracker-copy.xlsx"]["outcome"], rows["tracker.xlsx"]["outcome"]) == ("accepted", "duplicate")
    assert rows["audit-form.xlsx"]["outcome"] == "rejected"


@pytest.mark.slow
def test_returned_moderation_forms_are_fully_accounted_for(tmp_path: Path, templates: Templates) -> None:
    config, forms = real_month(tmp_path / "qa", auditors=8, templates=templates)
    ctx = session.open_context(config, "2026-09-01")
    answers = {**good_answers(ctx.framework), **{f"s{n}_grade": "Outstanding" for n in range(1, 10)}}
    answers["overall_grade"] = "Outstanding"  # always moderated
    ctx.close()
    inbox = config.parent / "inbox"
    for i, form in enumerate(forms[:3]):
        (inbox / "audits" / f"f{i}.xlsx").write_bytes(fill(form, answers))
    assert caseaudit(config, "ingest", "--month", "2026-09").returncode == 0
    made = caseaudit(config, "moderate", "--month", "2026-09")
    assert made.returncode == 0, made.stderr
    blank = sorted((config.parent / "output" / "2026-09" / "moderation").glob("*_moderation.xlsx"))
    assert blank, made.stdout
    returned = inbox / "moderation"
    filled = fill(blank[0], {"moderator_name": "A Moderator", "moderation_date": "2026-09-20"})
    (returned / "moderated.xlsx").write_bytes(filled)
    (returned / "zz-copy.xlsx").write_bytes(filled)  # listed after the original
    (returned / "audit-form.xlsx").write_bytes((inbox / "audits" / "f0.xlsx").read_bytes())  # wrong inbox
    corpus = hostile_corpus(blank[0].read_bytes())
    for name, (data, _, _) in corpus.items():
        (returned / name).write_bytes(data)

    result = caseaudit(config, "moderate", "--month", "2026-09")
    assert result.returncode == 65, result.stderr
    rows = {r["file"]: r for r in manifest(manifests(config, "moderation")[-1])}
    on_disk = sorted(p.relative_to(returned).as_posix() for p in returned.rglob("*") if p.is_file())
    assert sorted(rows) == on_disk, "every returned moderation file listed once"
    tally = {outcome: sum(r["outcome"] == outcome for r in rows.values()) for outcome in inbox_files.OUTCOMES}
    assert sum(tally.values()) == len(on_disk)
    for name, (_, outcome, code) in corpus.items():
        assert (rows[name]["outcome"], rows[name]["codes"].split(";")[0]) == (outcome, code), name
    assert rows["zz-copy.xlsx"]["outcome"] == "duplicate" and rows["audit-form.xlsx"]["codes"] == "IN021"
    assert rows["moderated.xlsx"]["outcome"] in ("accepted", "returned")
