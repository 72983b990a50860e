"""Purge leaves no forms behind (issue 18, item 7): the completed forms of a purged month leave the inboxes (or go
to ``register.purge_archive``), the run log and later manifests forget their names, and a form that comes back for
a purged month is ignored (``IN040``), not rejected as never allocated.

Real processes throughout: the month is allocated, ingested and purged by the ``caseaudit`` command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from formkit import good_answers
from prepared import Templates
from relkit import caseaudit, fill, manifest, manifests, real_month

from caseaudit_batch import session
from caseaudit_batch.core import register as reg
from caseaudit_batch.retention.register import InboxPlan, Purges


def _september(tmp_path: Path, templates: Templates) -> tuple[Path, dict[str, bytes], dict[str, bytes]]:
    """September allocated and ingested (two forms in ``inbox/audits/2026-09/``, one at the top), October allocated
    and ingested too (one form in ``2026-10/``, one at the top). Returns the config, September's and October's
    files (path in the audits inbox -> bytes)."""
    config, forms = real_month(tmp_path / "qa", auditors=4, templates=templates)
    ctx = session.open_context(config, "2026-09-01")
    answers = good_answers(ctx.framework)
    ctx.close()
    inbox = config.parent / "inbox" / "audits"
    (inbox / "2026-09").mkdir()
    september = {}
    for i, form in enumerate(forms[:3]):
        rel = f"2026-09/{form.name}" if i < 2 else form.name
        september[rel] = fill(form, answers)
        (inbox / rel).write_bytes(september[rel])
    first = caseaudit(config, "ingest", "--month", "2026-09")
    assert first.returncode == 0, first.stdout + first.stderr

    allocated = caseaudit(config, "allocate", "--month", "2026-10", today="2026-10-01")
    assert allocated.returncode in (0, 65), allocated.stderr
    october_forms = sorted((config.parent / "output" / "2026-10").glob("2026-10_*.xlsx"))
    assert len(october_forms) >= 2, allocated.stdout
    (inbox / "2026-10").mkdir()
    october = {}
    for i, form in enumerate(october_forms[:2]):
        rel = f"2026-10/{form.name}" if i == 0 else form.name
        october[rel] = fill(form, answers, [("Update the plan", "Sam Worker", "2026-11-30")])
        (inbox / rel).write_bytes(october[rel])
    second = caseaudit(config, "ingest", "--month", "2026-10", today="2026-10-20")
    assert second.returncode == 0, second.stdout + second.stderr
    return config, september, october


def _inbox(config: Path) -> dict[str, bytes]:
    folder = config.parent / "inbox" / "audits"
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _run_log_text(config: Path) -> str:
    ctx = session.open_context(config, "2026-10-25")
    try:
        with ctx.register.reader() as conn:
            rows = conn.execute(sa.select(reg.run_log.c.arguments, reg.run_log.c.inputs, reg.run_log.c.outputs)).all()
    finally:
        ctx.close()
    return json.dumps([list(row) for row in rows])


def _submission_paths(config: Path) -> set[str]:
    ctx = session.open_context(config, "2026-10-25")
    try:
        with ctx.register.reader() as conn:
            return {row[0] for row in conn.execute(sa.select(reg.submissions.c.path))}
    finally:
        ctx.close()


@pytest.mark.slow
def test_purge_removes_the_forms_of_the_purged_month_and_forgets_their_names(
    tmp_path: Path, templates: Templates
) -> None:
    config, september, october = _september(tmp_path, templates)
    names = [Path(rel).name for rel in september]
    assert all(name in _run_log_text(config) for name in names)  # allocate's outputs named them

    purged = caseaudit(config, "purge", "--before", "2026-10", today="2026-10-25")
    assert purged.returncode == 0, purged.stdout + purged.stderr
    assert "Removed 3 completed form(s) of months before October 2026 from the inboxes." in purged.stdout

    left = _inbox(config)
    assert not set(september) & set(left), "every September form is gone"
    assert not (config.parent / "inbox" / "audits" / "2026-09").exists(), "its emptied month folder too"
    assert {rel: left[rel] for rel in october} == october, "October's forms are untouched"
    log_text = _run_log_text(config)
    assert not [name for name in names if name in log_text], "the run log keeps no purged file name"
    assert not set(september) & _submission_paths(config)
    assert set(october) <= _submission_paths(config)
    assert "Left those forms out of 1 manifest(s) of later months" in purged.stdout
    kept_manifests = manifests(config)
    assert kept_manifests and all(p.parent.name == "2026-10" for p in kept_manifests)
    for path in kept_manifests:  # October's manifest listed September's forms (still in the inbox then)
        assert sorted(r["file"] for r in manifest(path)) == sorted(october)

    again = caseaudit(config, "ingest", "--month", "2026-10", today="2026-10-26")
    assert again.returncode == 0, again.stdout + again.stderr
    later = manifest(manifests(config)[-1])
    assert sorted(r["file"] for r in later) == sorted(october)
    assert not [name for name in names if any(name in r["file"] for r in later)]

    # A purged form put back in the inbox: ignored for its own month, not rejected as never allocated.
    back = next(iter(september))
    inbox = config.parent / "inbox" / "audits"
    (inbox / "returned-again.xlsx").write_bytes(september[back])
    returned = caseaudit(config, "ingest", "--month", "2026-10", today="2026-10-27")
    assert returned.returncode == 0, returned.stdout + returned.stderr
    rows = {r["file"]: r for r in manifest(manifests(config)[-1])}
    row = rows["returned-again.xlsx"]
    assert (row["outcome"], row["codes"], row["audit_id"]) == ("ignored", "IN040", "")
    assert "a month purged from the register on 2026-10-25" in row["message"]
    assert "IN023" not in returned.stdout
    # Still ignored on the next run (unchanged, not read again) ...
    rerun = caseaudit(config, "ingest", "--month", "2026-10", today="2026-10-28")
    assert rerun.returncode == 0
    assert {r["file"]: r["outcome"] for r in manifest(manifests(config)[-1])}["returned-again.xlsx"] == "ignored"
    # ... and the next purge removes it, leaving October alone.
    second = caseaudit(config, "purge", "--before", "2026-10", today="2026-10-29")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Removed 1 completed form(s)" in second.stdout
    assert _inbox(config) == october


@pytest.mark.slow
def test_purge_moves_the_forms_to_the_archive_when_one_is_set(tmp_path: Path, templates: Templates) -> None:
    config, september, october = _september(tmp_path, templates)
    text = config.read_text("utf-8")
    assert 'purge_archive = ""' in text
    config.write_text(text.replace('purge_archive = ""', 'purge_archive = "archive/purged"'), "utf-8")

    purged = caseaudit(config, "purge", "--before", "2026-10", today="2026-10-25")
    assert purged.returncode == 0, purged.stdout + purged.stderr
    archive = config.parent / "archive" / "purged"
    assert f"Moved 3 completed form(s) of months before October 2026 from the inboxes to {archive}." in purged.stdout
    moved = {p.relative_to(archive / "audits").as_posix(): p.read_bytes() for p in archive.rglob("*") if p.is_file()}
    assert moved == september, "the same bytes, under <archive>/audits/<path in the inbox>"
    for folder in (config.parent / "archive", archive, archive / "audits", archive / "audits" / "2026-09"):
        assert folder.stat().st_mode & 0o777 == 0o770, folder
    left = _inbox(config)
    assert left == october


@pytest.mark.slow
def test_a_kept_month_is_untouched_by_an_earlier_cutoff(tmp_path: Path, templates: Templates) -> None:
    config, september, october = _september(tmp_path, templates)
    before = _inbox(config)
    purged = caseaudit(config, "purge", "--before", "2026-09", today="2026-10-25")
    assert purged.returncode == 0, purged.stdout + purged.stderr
    assert "Removed 0 completed form(s)" in purged.stdout
    assert _inbox(config) == before == {**september, **october}
    assert set(september) | set(october) <= _submission_paths(config)


def test_purges_are_read_from_the_run_log_arguments() -> None:
    purges = Purges((("2026-10", "2026-10-25"), ("2027-01", "2027-01-05")))
    assert purges.purged_on("2026-09") == "2026-10-25"
    assert purges.purged_on("2026-11") == "2027-01-05"
    assert purges.purged_on("2027-01") is None
    assert purges.purged_on("") is None
    assert purges.purged_on("September") is None


def test_a_path_a_kept_month_recorded_is_never_purged() -> None:
    plan = InboxPlan()
    plan.purged["2026-09/a.xlsx"].add("h1")
    plan.purged["b.xlsx"].add("h2")
    plan.purged["c.xlsx"].add("h3")
    plan.kept.add("c.xlsx")
    assert plan.belongs("2026-09/a.xlsx", None, "2026-10")  # in a purged month's folder
    assert plan.belongs("2026-09/new.xlsx", None, "2026-10")
    assert not plan.belongs("2026-10/new.xlsx", None, "2026-10")
    assert plan.belongs("b.xlsx", "h2", "2026-10")
    assert not plan.belongs("b.xlsx", "changed", "2026-10"), "new bytes at a purged path may be a kept form"
    assert not plan.belongs("c.xlsx", "h3", "2026-10"), "a kept month recorded this path"
    assert not plan.belongs("2026-09", None, "2026-10"), "a file named like a month at the top is no folder"


@pytest.mark.slow
def test_moderation_forms_and_trackers_of_a_purged_month_go_and_are_ignored_if_they_come_back(
    tmp_path: Path, templates: Templates
) -> None:
    config, forms = real_month(tmp_path / "qa", auditors=8, templates=templates)
    ctx = session.open_context(config, "2026-09-01")
    answers = {**good_answers(ctx.framework), **{f"s{n}_grade": "Outstanding" for n in range(1, 10)}}
    answers["overall_grade"] = "Outstanding"  # always moderated
    ctx.close()
    inbox = config.parent / "inbox"
    for i, form in enumerate(forms[:2]):
        (inbox / "audits" / f"f{i}.xlsx").write_bytes(fill(form, answers))
    assert caseaudit(config, "ingest", "--month", "2026-09").returncode == 0
    made = caseaudit(config, "moderate", "--month", "2026-09")
    assert made.returncode == 0, made.stderr
    blank = sorted((config.parent / "output" / "2026-09" / "moderation").glob("*_moderation.xlsx"))
    assert blank, made.stdout
    moderated = fill(blank[0], {"moderator_name": "A Moderator", "moderation_date": "2026-09-20"})
    (inbox / "moderation" / "moderated.xlsx").write_bytes(moderated)
    assert caseaudit(config, "moderate", "--month", "2026-09").returncode in (0, 65)
    trackers_made = caseaudit(config, "actions", "--month", "2026-09")
    assert trackers_made.returncode == 0, trackers_made.stderr
    trackers = sorted((config.parent / "output" / "2026-09" / "actions").glob("*.xlsx"))
    assert trackers, trackers_made.stdout
    tracker = trackers[0].read_bytes()
    (inbox / "actions" / "tracker.xlsx").write_bytes(tracker)
    assert caseaudit(config, "actions", "--month", "2026-09").returncode in (0, 65)

    purged = caseaudit(config, "purge", "--before", "2026-10", today="2026-10-25")
    assert purged.returncode == 0, purged.stdout + purged.stderr
    assert "Removed 4 completed form(s)" in purged.stdout
    assert not [p for p in inbox.rglob("*") if p.is_file()], "every inbox is empty"

    (inbox / "moderation" / "back.xlsx").write_bytes(moderated)
    (inbox / "actions" / "back.xlsx").write_bytes(tracker)
    again = caseaudit(config, "moderate", "--month", "2026-10", today="2026-10-26")
    assert again.returncode == 0, again.stdout + again.stderr
    row = manifest(manifests(config, "moderation")[-1])[0]
    assert (row["file"], row["outcome"], row["codes"]) == ("back.xlsx", "ignored", "IN040")
    actions = caseaudit(config, "actions", "--month", "2026-10", today="2026-10-26")
    assert actions.returncode == 0, actions.stdout + actions.stderr
    row = manifest(manifests(config, "actions")[-1])[0]
    assert (row["file"], row["outcome"], row["codes"]) == ("back.xlsx", "ignored", "IN040")
