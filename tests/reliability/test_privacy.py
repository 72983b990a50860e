"""Children's data is minimised: text typed into forms never reaches a log, a manifest, the outbox or the run
log (not even through an internal error's message); ``report --no-quotes`` keeps it out of every report; every
folder and file a real run creates gives other users no access (owner and group only), with the modes taken from
``caseaudit.toml``. (``caseaudit purge`` is proven by ``tests/test_purge.py``.)"""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from formkit import good_answers, set_sender
from prepared import Templates
from relkit import caseaudit, fill, output_dir, real_month

from caseaudit_batch import session
from caseaudit_batch.allocation import workspace as setup
from caseaudit_batch.core import register as reg

MARK = "ZQSECRET"

pytestmark = pytest.mark.slow  # real allocate, ingest and report runs as child processes


def _text_of(path: Path) -> bytes:
    """A file's bytes, with every member of an Office file unpacked (their text is compressed)."""
    data = path.read_bytes()
    if path.suffix in (".xlsx", ".docx"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return b"".join(archive.read(name) for name in archive.namelist())
    return data


def _marked_month(folder: Path) -> None:
    config, forms = real_month(folder, auditors=6)
    ctx = session.open_context(config, "2026-09-01")
    answers: dict[str, object] = {
        name: f"{MARK} {value}" if isinstance(value, str) and len(value) > 20 else value  # every free-text answer
        for name, value in good_answers(ctx.framework).items()
    }
    ctx.close()
    answers["sw_participation_reason"] = f"{MARK} the worker was on leave"
    inbox = config.parent / "inbox" / "audits"
    actions = [(f"{MARK} update the child's chronology", f"{MARK} Sam", "2026-10-30")]
    (inbox / "a.xlsx").write_bytes(fill(forms[0], answers, actions))
    urgent = {**answers, "safeguarding_concern": "Yes", "safeguarding_detail": f"{MARK} told the team manager"}
    (inbox / "b.xlsx").write_bytes(fill(forms[1], urgent, actions))
    (inbox / "c.xlsx").write_bytes(fill(forms[2], {**answers, "s5_grade": f"{MARK} good-ish"}, actions))
    (inbox / "boom.xlsx").write_bytes(fill(forms[3], answers, actions))
    # An internal error whose message carries form text (as library errors can): only its type may be logged.
    ingested = caseaudit(config, "ingest", "--month", "2026-09", hook=f"boom:{MARK} cell text in an error")
    assert ingested.returncode == 65, ingested.stderr


def _month_with_marked_answers(folder: Path, templates: Templates) -> Path:
    """A copy of a month whose forms carry the marker in every free-text answer, ingested by a real child process
    (with an internal error whose message carries form text). Made once per session by ``_marked_month``."""
    templates.copy("marked-month", _marked_month, folder)
    return folder / "caseaudit.toml"


def test_form_text_stays_out_of_logs_manifests_and_quote_free_reports(tmp_path: Path, templates: Templates) -> None:
    config = _month_with_marked_answers(tmp_path / "qa", templates)
    out = output_dir(config)
    reported = caseaudit(config, "report", "--month", "2026-09", "--no-quotes")
    assert reported.returncode == 0, reported.stderr
    assert MARK not in reported.stdout + reported.stderr

    logs = list((out / "logs").glob("*.log"))
    assert logs and all(MARK.encode() not in p.read_bytes() for p in logs)
    assert any(b"internal error" in p.read_bytes() for p in logs), "the internal error was logged (type only)"
    never = [*out.glob("*/manifest-*.csv"), *out.glob("*/outbox.csv")]
    reports = [p for p in out.glob("2026-09/*") if p.name.startswith(("metrics-", "caseaudit-report-"))]
    reports += list(out.glob("2026-09/*.docx"))
    assert len(never) >= 2 and len(reports) >= 4
    for path in never + reports:
        assert MARK.encode() not in _text_of(path), f"form text in {path.name}"
    ctx = session.open_context(config, "2026-09-25")
    with ctx.register.reader() as conn:
        runs = conn.execute(sa.select(reg.run_log)).all()
    ctx.close()
    assert all(MARK not in repr(tuple(row)) for row in runs)
    # Meant to carry it: what goes back to the auditor and the URGENT alert (so the marker really was read).
    meant = [*out.glob("2026-09/feedback/*.xlsx"), *out.glob("2026-09/URGENT-*.xlsx")]
    assert meant and all(MARK.encode() in _text_of(p) for p in meant)

    quoted = caseaudit(config, "report", "--month", "2026-09")  # without --no-quotes, quotations do appear
    assert quoted.returncode == 0
    assert any(MARK.encode() in _text_of(p) for p in out.glob("2026-09/*.docx"))


def _modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode) for p in [root, *root.rglob("*")]}


def test_what_a_run_writes_gives_others_no_access(tmp_path: Path, templates: Templates) -> None:
    # The copy keeps the modes the real allocate and ingest runs gave every file and folder.
    config = _month_with_marked_answers(tmp_path / "qa", templates)
    assert caseaudit(config, "report", "--month", "2026-09").returncode == 0
    folder = config.parent
    made = {**_modes(output_dir(config))}
    made.update({p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.glob("caseaudit.sqlite*")})
    assert len(made) > 20
    open_to_others = {name: oct(mode) for name, mode in made.items() if mode & 0o007}
    assert not open_to_others, open_to_others


def test_modes_come_from_the_configuration(tmp_path: Path) -> None:
    folder = tmp_path / "qa"
    setup.init_workspace(folder, organisation="Reliability Council")
    set_sender(folder)
    config = folder / "caseaudit.toml"
    text = config.read_text("utf-8").replace('folder_mode = "0o770"', 'folder_mode = "0o700"')
    config.write_text(text.replace('file_mode = "0o660"', 'file_mode = "0o600"'), "utf-8")
    from caseaudit_batch.demo import player as demo
    from caseaudit_batch.demo import synthetic

    demo.write_synthetic_authority(folder, synthetic.make_authority(6))
    assert caseaudit(config, "allocate", "--month", "2026-09", today="2026-09-01").returncode in (0, 65)
    assert caseaudit(config, "report", "--month", "2026-09", today="2026-09-01").returncode == 0
    out = output_dir(config)
    # The output folder itself existed before the change of mode (init made it): caseaudit leaves a folder that
    # exists as its owner set it (issue 18), and applies the modes to what it makes.
    written = {k: v for k, v in _modes(out).items() if not k.startswith("logs") and k != "."}
    folders = {k: oct(v) for k, v in written.items() if (out / k).is_dir() and v != 0o700}
    files = {k: oct(v) for k, v in written.items() if (out / k).is_file() and v != 0o600}
    assert not folders and not files, (folders, files)
    assert any(k.startswith("2026-09/notices") for k in written), "nested folders were checked too"
