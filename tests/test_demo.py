"""The demo, shortened (2 months, 20 auditors): every output exists, and the metrics JSON agrees with figures
computed here, independently, from the synthetic answers the demo filled in and the days its files were dropped."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from caseaudit_batch import cli, session
from caseaudit_batch.core.clock import Month
from caseaudit_batch.core.errors import EXIT_DATAERR, EXIT_OK
from caseaudit_batch.demo import player as demo
from caseaudit_batch.ingest import stage as ingest_stage
from caseaudit_batch.moderation import stage as moderation_stage
from caseaudit_batch.reports.build import excel_name, json_name, themes_name, word_name

pytestmark = pytest.mark.slow  # demo plays (the short demo, and a one-month play by the command)

HAS_INGEST = getattr(ingest_stage, "ingest_inbox", None) is not None
HAS_MODERATION = getattr(moderation_stage, "ingest_moderation_returns", None) is not None
GRADES = ("Outstanding", "Good", "Requires Improvement", "Inadequate")


@pytest.fixture(scope="module")
def played(short_demo_played: tuple[Path, session.Result, dict]) -> tuple[Path, session.Result]:
    """The session's short demo: ``demo.run_demo(folder, today="2026-11-26", months=2, auditors=20)``."""
    folder, result, _snapshot = short_demo_played
    return folder, result


def _expected(plays: list[demo.MonthPlay], index: int) -> dict[str, object]:
    """The figures the month's metrics JSON should hold, from the synthetic truth alone."""
    play = plays[index]
    run_day = play.run_day
    since = plays[index - 1].run_day if index else date.min
    arrived: dict[str, date] = {}  # audit ID -> the day its accepted version reached the inbox
    for audit_id, drops in play.dropped.items():
        for kind, day in drops:
            if kind == "final":
                arrived[audit_id] = day
    accepted = [a for a in play.audits if a.audit_id in arrived and arrived[a.audit_id] <= run_day]
    files: Counter[str] = Counter()
    for month_play in plays[: index + 1]:
        for drops in month_play.dropped.values():
            for kind, day in drops:
                if since < day <= run_day:
                    files["files_accepted" if kind == "final" else "files_returned"] += 1
    for outcome, count in play.strays.items():
        files[f"files_{outcome}"] += count
    grades = Counter(a.overall for a in accepted)
    moderated = {}  # audit ID -> the moderator's overall grade, for the moderation forms back by the run
    if play.moderation_returned_on is not None and play.moderation_returned_on <= run_day:
        moderated = {k: str(v.get("m_overall_grade") or "") for k, v in play.moderated.items()}
    final = Counter(moderated.get(a.audit_id) or a.overall for a in accepted)
    rank = {g: 4 - i for i, g in enumerate(GRADES)}
    by_id = {a.audit_id: a for a in accepted}
    changed = [(rank[by_id[k].overall], rank[g]) for k, g in moderated.items() if g and k in by_id]
    first_seen = {audit_id: min(day for _kind, day in drops) for audit_id, drops in play.dropped.items()}
    if HAS_MODERATION:
        moderation = {
            "overall_grade_counts": {g: final.get(g, 0) for g in GRADES},
            "audits_moderated": len(moderated),
            "grades_lowered": sum(1 for before, after in changed if after < before),
            "grades_raised": sum(1 for before, after in changed if after > before),
        }
    else:
        moderation = {}
    return {
        **moderation,
        "audits_allocated": len(play.audits),
        "audits_accepted": len(accepted),
        "audits_completed": sum(1 for a in accepted if not a.late),
        "audits_completed_late": sum(1 for a in accepted if a.late),
        "overall_grade_counts_as_audited": {g: grades.get(g, 0) for g in GRADES},
        "safeguarding_alerts": sum(
            1 for a in play.audits if a.safeguarding and a.audit_id in first_seen and first_seen[a.audit_id] <= run_day
        ),
        **{
            key: files.get(key, 0)
            for key in ("files_accepted", "files_returned", "files_rejected", "files_duplicate", "files_ignored")
        },
    }


def _standards(plays: list[demo.MonthPlay], index: int) -> dict[str, tuple[int, int]]:
    """Each practice standard's (met, applicable) over the month's accepted audits, from the synthetic answers."""
    play = plays[index]
    final = {k for k, drops in play.dropped.items() for kind, day in drops if kind == "final" and day <= play.run_day}
    answers = [{**a.answers, **a.correction} for a in play.audits if a.audit_id in final]
    names = sorted({k for a in answers for k in a if k.startswith("ps_")})
    assert names  # the demo answers the shipped framework's standards
    counts = {name.removeprefix("ps_"): Counter(str(a.get(name)) for a in answers) for name in names}
    return {key: (c["Yes"], c["Yes"] + c["No"]) for key, c in counts.items()}


def test_every_output_exists(played: tuple[Path, session.Result]) -> None:
    folder, result = played
    plays: list[demo.MonthPlay] = result.data["months"]
    assert [p.month for p in plays] == ["2026-09", "2026-10"]
    for play in plays:
        month = Month.parse(play.month)
        out = folder / "output" / play.month
        for name in (json_name(month), excel_name(month), word_name(month), themes_name(month), "allocations.xlsx"):
            assert (out / name).stat().st_size > 0, name
        assert (out / f"reminders-{play.month}.xlsx").is_file()
        assert len(play.audits) >= 15
        for audit in play.audits:  # every generated form is there
            assert list(out.glob(f"{play.month}_{play.month}-*_{audit.case_ref}_*.xlsx")), audit.case_ref
        if HAS_INGEST:
            assert (out / f"validation-{play.month}.xlsx").is_file()
            assert list(out.glob("manifest-audits-*.csv"))
    inbox = folder / "inbox" / "audits"
    assert len(list(inbox.rglob("*.xlsx"))) >= 30
    assert any(p.name.startswith("~$") for p in inbox.rglob("*"))
    text = "\n".join(result.lines)
    last = folder / "output" / "2026-10"
    assert str(last / word_name(Month(2026, 10))) in text and "Headline:" in text
    # Each month's line says the run's outcome in words, with nothing pointing "above" at lines the demo never prints.
    assert "month-end run:" in text and "see above" not in text and "worst step" not in text
    for stage in result.data["skipped"]:
        assert stage in text  # a stage not yet built is named as not played


def test_a_played_month_keeps_only_what_its_lines_read(played: tuple[Path, session.Result]) -> None:
    """Issue 25: a year of each step's per-file detail was most of the demo process's growth in memory. A played
    month keeps each step's exit code, the allocation's summary and the month-end metrics, and no more."""
    folder, result = played
    for play in result.data["months"]:
        assert "allocate" in play.results and "run" in play.results
        for name, made in play.results.items():
            assert set(made.data) <= set(demo.KEPT_DATA), name
            assert not (made.lines or made.outputs or made.attention), name
        assert play.results["allocate"].data["summary"]["allocated"] == len(play.audits)
        metrics = json.loads((folder / "output" / play.month / json_name(Month.parse(play.month))).read_text("utf-8"))
        assert play.results["run"].data["metrics"]["audits_completed"] == metrics["audits_completed"]
        assert play.results["run"].exit_code in (EXIT_OK, EXIT_DATAERR)  # returned forms: a data error


@pytest.mark.skipif(not HAS_INGEST, reason="ingest is not in this version yet: no audit is read, so no figures")
def test_metrics_agree_with_the_synthetic_answers(played: tuple[Path, session.Result]) -> None:
    folder, result = played
    plays: list[demo.MonthPlay] = result.data["months"]
    for index, play in enumerate(plays):
        metrics = json.loads((folder / "output" / play.month / json_name(Month.parse(play.month))).read_text("utf-8"))
        expected = _expected(plays, index)
        assert {key: metrics[key] for key in expected} == expected, play.month
        # Each practice standard from the accepted audits' own answers (issue 24): met is Yes, applicable Yes or No.
        standards = {key: (n["met"], n["applicable"]) for key, n in metrics["practice_standards"].items()}
        assert standards == _standards(plays, index), play.month
    # The synthetic spread has something in it: several grades, some actions, and some returned forms overall.
    audits = [a for p in plays for a in p.audits]
    assert len({a.overall for a in audits}) >= 3
    assert all(any(a.returned for a in p.audits) for p in plays) and any(a.actions for a in audits)
    if HAS_MODERATION:
        assert all(p.moderated for p in plays)


def test_demo_command_prints_where_the_outputs_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    full = demo.run_demo
    monkeypatch.setattr(demo, "run_demo", lambda folder, **kw: full(folder, months=1, auditors=12, **kw))
    assert cli.main(["demo", "--dir", str(tmp_path / "d"), "--today", "2026-10-05"]) == 0
    out = capsys.readouterr().out
    assert "September 2026" in out and "Excel report:" in out and "Learning themes:" in out
    # issue 25: wall and CPU seconds, the CPU counted (the year's forms are read by child processes too)
    played = re.search(r"played in (\d+) s, (\d+) s of CPU", out)
    assert played is not None, out
    # --keep continues: the month already played is not played again.
    assert cli.main(["demo", "--keep", "--dir", str(tmp_path / "d"), "--today", "2026-10-05"]) == 0
    assert "already played" in capsys.readouterr().out


def test_the_played_report_shows_the_metrics_layers_tables(played: tuple[Path, session.Result]) -> None:
    """Page one and the new sections render from the real figures, not only from hand-built ones (the two halves of
    issue 20 were built apart: a renamed column would silently drop a section)."""
    import zipfile

    folder, _result = played
    docx = folder / "output" / "2026-10" / word_name(Month(2026, 10))
    with zipfile.ZipFile(docx) as package:
        text = package.read("word/document.xml").decode("utf-8")
    assert "The month at a glance" in text and "What needs you now" in text
    assert "Good or better by section and team" in text
    assert "outside the limits" in text.lower()  # the funnel plot's sentence under the chart
    assert "Team good-or-better rates against" in text  # the funnel chart's alt text
