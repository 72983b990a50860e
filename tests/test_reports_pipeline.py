"""``caseaudit report`` end to end on a real register: the loader, staging, the files in place, the CLI."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from caseaudit_batch import cli, session
from caseaudit_batch.core import register as reg
from caseaudit_batch.core.clock import Month
from caseaudit_batch.reports import stage as reports_stage
from caseaudit_batch.reports.data import AUDIT_COLUMNS, AUDIT_FIELDS, load_month_data

NOW = "2026-09-20T10:00:00+01:00"
SEP = Month(2026, 9)


def _prefilled(case_type: str, service: str, team: str, auditor: str) -> dict[str, str]:
    return {
        "case_type": case_type,
        "service": service,
        "team": team,
        "social_worker": "Sam Worker",
        "team_manager": "Tia Manager",
        "service_manager": "Sue Senior",
        "auditor_name": auditor,
        "auditor_role": "Team Manager",
        "previous_worker": "",
        "review_period": "March to September 2026",
    }


def _fill(ctx: session.Context) -> None:
    with ctx.register.writer() as conn:
        conn.execute(
            sa.insert(reg.staff),
            [
                {"staff_id": "A1", "name": "Ann Able", "role": "Team Manager", "team": "North A", "service": "North"},
                {"staff_id": "A2", "name": "Ben Brook", "role": "Team Manager", "team": "South A", "service": "South"},
            ],
        )
        rows = [
            ("AUD-1", "A1", "C001", "allocated", _prefilled("CP", "South", "South A", "Ann Able")),
            ("AUD-2", "A2", "C002", "allocated", _prefilled("CIN", "North", "North A", "Ben Brook")),
            ("AUD-3", "A2", "C003", "withdrawn", _prefilled("CLA", "North", "North A", "Ben Brook")),
        ]
        conn.execute(
            sa.insert(reg.allocations),
            [
                {
                    "audit_id": audit_id,
                    "month": "2026-09",
                    "staff_id": staff_id,
                    "case_ref": case_ref,
                    "due_date": date(2026, 9, 30),
                    "kind": "audit",
                    "status": status,
                    "framework_version": "test",
                    "prefilled": prefilled,
                    "created_at": NOW,
                }
                for audit_id, staff_id, case_ref, status, prefilled in rows
            ],
        )
        answers = {
            "date_completed": "2026-09-18",
            "sw_participation": "In person",
            "three_way_meeting": "Not applicable",
            "strengths": "Lovely direct work; the child's voice is clear.",
            "learning": "Chronology needs updating.",
            "recommendations": "Update the plan for the child.",
            "org_learning": "",
            **{f"s{n}_grade": "Good" for n in range(1, 10)},
        }
        old = conn.execute(
            sa.insert(reg.audits).values(
                audit_id="AUD-1",
                submission_id=1,
                month="2026-09",
                date_completed=date(2026, 9, 10),
                overall_grade="Inadequate",
                answers={**answers, "overall_grade": "Inadequate"},
                current=False,
                accepted_at=NOW,
            )
        ).inserted_primary_key
        current = conn.execute(
            sa.insert(reg.audits).values(
                audit_id="AUD-1",
                submission_id=2,
                month="2026-09",
                date_completed=date(2026, 9, 18),
                overall_grade="Good",
                answers={**answers, "overall_grade": "Good"},
                current=True,
                accepted_at=NOW,
            )
        ).inserted_primary_key
        assert old and current
        conn.execute(
            sa.insert(reg.section_grades),
            [{"audit_row_id": current[0], "section": n, "grade": "Good"} for n in range(1, 10)],
        )
        conn.execute(
            sa.insert(reg.submissions),
            [
                {
                    "run_id": 1,
                    "inbox": "audits",
                    "filed_month": "2026-09",
                    "path": name,
                    "sha256": sha,
                    "size": 100,
                    "outcome": outcome,
                    "audit_id": "AUD-1",
                    "seen_at": NOW,
                }
                for name, sha, outcome in (("a.xlsx", "s1", "superseded"), ("b.xlsx", "s2", "accepted"))
            ],
        )
        conn.execute(
            sa.insert(reg.moderations).values(
                audit_id="AUD-1",
                submission_id=3,
                moderation_date=date(2026, 9, 25),
                grade_agreed=True,
                actions_agreed=True,
                overall_grade="Good",
                answers={"m_s1_grade": ""},
                current=True,
                accepted_at=NOW,
            )
        )
        conn.execute(
            sa.insert(reg.actions).values(
                action_id="ACT-1",
                audit_id="AUD-1",
                source="audit",
                text="Update the chronology",
                norm_text="update the chronology",
                owner="Sam Worker",
                due_date=date(2026, 9, 28),
                case_ref="C001",
                service="South",
                team="South A",
                status="Completed",
                completed_on=date(2026, 9, 27),
                signed_off=True,
                created_at=NOW,
            )
        )


@pytest.fixture
def filled(workspace: Path) -> session.Context:
    context = session.open_context(workspace / "caseaudit.toml", "2026-10-05")
    _fill(context)
    yield context
    context.close()


def test_loader_reads_the_contract(filled: session.Context) -> None:
    with filled.register.reader() as conn:
        data = load_month_data(conn, SEP)
    assert sorted(data.allocations["audit_id"]) == ["AUD-1", "AUD-2"]  # withdrawn does not count
    assert data.allocations.set_index("audit_id").loc["AUD-1", "service"] == "South"
    assert data.audits["overall_grade"].tolist() == ["Good"]  # only the current version
    assert len(data.section_grades) == 9 and len(data.months) == 12
    assert data.submissions["outcome"].tolist() == ["superseded", "accepted"]


def test_the_loader_gives_each_answer_its_own_column(filled: session.Context) -> None:
    """Every answer the reports read lands in the column of its name, the practice standards' too. (A merge once
    listed the standards among the findings: each standard read an impact answer, so none applied, and the
    learning themes read the standards' answers as findings.)"""
    standards = [s.name for s in filled.framework.standards]
    assert standards  # the shipped framework has practice standards (issue 24)
    keys = [c for c in (*AUDIT_COLUMNS, *standards) if c not in AUDIT_FIELDS]
    answers = {key: f"the {key} answer" for key in keys}
    with filled.register.writer() as conn:
        audits = reg.audits
        conn.execute(sa.update(audits).where(audits.c.current == sa.true()).values(answers=answers))
    with filled.register.reader() as conn:
        data = load_month_data(conn, SEP, standards=standards)
    row = data.audits.iloc[0]
    assert {key: row[key] for key in keys} == answers
    assert list(data.audits.columns) == [*AUDIT_COLUMNS, *standards]


def test_report_month_writes_every_file_through_staging(filled: session.Context, workspace: Path) -> None:
    result = reports_stage.report_month(filled, SEP)
    folder = workspace / "output" / "2026-09"
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(
        [
            "metrics-2026-09.json",
            "caseaudit-report-2026-09.xlsx",
            "Monthly-Case-File-Audit-Report-2026-09.docx",
            "Monthly-Case-File-Audit-Report-2026-09-North.docx",
            "Monthly-Case-File-Audit-Report-2026-09-South.docx",
            "Learning-Themes-2026-09.docx",
        ]
    )
    assert sorted(p.name for p in result.outputs) == names
    staging = workspace / "output" / ".staging"
    assert not staging.exists() or not any(staging.iterdir())
    values = json.loads((folder / "metrics-2026-09.json").read_text("utf-8"))
    assert values["report_date"] == "2026-09-30"  # October's today: D is September's last day
    assert (values["audits_allocated"], values["audits_completed"], values["audits_outstanding"]) == (2, 1, 1)
    assert values["overall_grade_counts"]["Good"] == 1 and values["overall_grade_counts"]["Inadequate"] == 0
    assert (values["audits_moderated"], values["moderation_agreement_rate"]) == (1, 1.0)
    assert (values["actions_due"], values["action_completion_rate"], values["sm_oversight_rate"]) == (1, 1.0, 1.0)
    assert (values["files_accepted"], values["files_superseded"]) == (1, 1)
    assert result.exit_code == 0 and any("1 of 2 audits completed on time" in line for line in result.lines)
    with filled.register.reader() as conn:
        commands = [r[0] for r in conn.execute(sa.select(reg.run_log.c.command))]
    assert commands == ["report"]


def test_as_of_and_a_crash_leaves_no_partial_report(
    filled: session.Context, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from caseaudit_batch.reports import build

    def boom(*args: object, **kwargs: object) -> bytes:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(build.word, "write_learning_themes", boom)
    with pytest.raises(RuntimeError):
        reports_stage.report_month(filled, SEP, as_of=date(2026, 9, 15))
    folder = workspace / "output" / "2026-09"
    assert not folder.exists() or not any(folder.iterdir())


@pytest.mark.slow
def test_cli_report(filled: session.Context, workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = str(workspace / "caseaudit.toml")
    code = cli.main(["report", "--month", "2026-09", "--config", config, "--today", "2026-10-05", "--no-quotes"])
    assert code == 0
    out = capsys.readouterr().out
    assert "metrics-2026-09.json" in out and "report date 2026-09-30" in out
    # The committee version alone (issue 19): its three files, the internal ones left as they were.
    code = cli.main(
        ["report", "--month", "2026-09", "--config", config, "--as-of", "2026-09-15", "--tier", "committee"]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "metrics-2026-09-committee.json" in out and "  metrics-2026-09.json" not in out
    folder = workspace / "output" / "2026-09"
    values = json.loads((folder / "metrics-2026-09-committee.json").read_text("utf-8"))
    assert values["report_date"] == "2026-09-15" and values["audits_allocated"] == "c"  # 2 allocated
    assert json.loads((folder / "metrics-2026-09.json").read_text("utf-8"))["report_date"] == "2026-09-30"
    assert (folder / "caseaudit-report-2026-09-committee.xlsx").is_file()
    assert (folder / "Monthly-Case-File-Audit-Report-2026-09-committee.docx").is_file()
    with pytest.raises(SystemExit) as usage:  # argparse names the two tiers
        cli.main(["report", "--month", "2026-09", "--config", config, "--tier", "public"])
    assert usage.value.code == 2
    assert cli.main(["report", "--month", "2026-13", "--config", config]) == 2


def _parts(folder: Path) -> dict[str, bytes]:
    """Every file of a report folder, a document by its parts (its creation stamps, docProps, left out)."""
    import zipfile

    parts: dict[str, bytes] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix in (".docx", ".xlsx"):
            with zipfile.ZipFile(path) as z:
                parts.update({f"{path.name}/{n}": z.read(n) for n in z.namelist() if not n.startswith("docProps/")})
        else:
            parts[path.name] = path.read_bytes()
    return parts


def test_the_answers_are_read_and_tagged_apart_and_the_report_is_the_same(
    filled: session.Context, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 25: the register's data is read and its answers tagged in a short-lived child process, which hands back
    only the data without the answers' text and the tagged points; the report is the same, file for file, as when
    that is done in this process (where fork is missing, or the child fails)."""
    from caseaudit_batch.core import apart
    from caseaudit_batch.reports import build

    with filled.register.writer() as conn:  # a practice standard answered, and a name in a quoted answer
        audits = reg.audits
        answers = conn.execute(sa.select(audits.c.answers).where(audits.c.current == sa.true())).scalar_one()
        more = {"ps_seen_alone": "No", "learning": "Ann Able should update the chronology.", "s8_findings": "Late."}
        conn.execute(sa.update(audits).where(audits.c.current == sa.true()).values(answers={**answers, **more}))
    came_back: list[object] = []

    def spy(work: object, folder: Path) -> object:
        assert folder == workspace / "output"  # the pickle is spooled beside the outputs
        came_back.append(apart.in_child(work, folder=folder))  # type: ignore[arg-type]
        return came_back[-1]

    folder = workspace / "output" / "2026-09"
    with monkeypatch.context() as m:
        m.setattr(reports_stage, "in_child", spy)
        reports_stage.report_month(filled, SEP)
    [prepared] = came_back
    assert isinstance(prepared, build.Prepared)  # done in the child
    assert not {"strengths", "learning"} & (set(prepared.frame.columns) | set(prepared.data.audits.columns))
    assert "Lovely direct work; the child's voice is clear." in prepared.points.distinct
    assert "[name] should update the chronology." in prepared.points.distinct  # redacted in the child
    assert prepared.data.audits["ps_seen_alone"].tolist() == ["No"]
    apart_made = _parts(folder)
    with monkeypatch.context() as m:
        m.setattr(reports_stage, "in_child", lambda work, folder: None)  # as where the child fails: done here
        reports_stage.report_month(filled, SEP)
    here_made = _parts(folder)
    assert sorted(here_made) == sorted(apart_made)
    assert [name for name in here_made if here_made[name] != apart_made[name]] == []


def test_an_in_memory_register_is_not_read_apart() -> None:
    """A second connection to an in-memory SQLite database opens a new, empty one: that register is read here."""
    from types import SimpleNamespace

    memory = sa.create_engine("sqlite://")
    file = sa.create_engine("sqlite:////tmp/caseaudit.sqlite")
    server = SimpleNamespace(dialect=SimpleNamespace(name="postgresql"))
    assert not reports_stage.apart_ok(SimpleNamespace(register=SimpleNamespace(url="sqlite://", engine=memory)))
    assert reports_stage.apart_ok(SimpleNamespace(register=SimpleNamespace(url=str(file.url), engine=file)))
    assert reports_stage.apart_ok(
        SimpleNamespace(register=SimpleNamespace(url="postgresql+psycopg://qa@db/caseaudit", engine=server))
    )
