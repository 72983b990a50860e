"""How long a month's moderation takes: draw the sample from N accepted audits and make its forms and notices,
then read every returned form back (the ingest stage's checks plus the moderation rules) and merge it.

    python benchmarks/bench_moderation.py [--audits 400]

No figure is named in the moderation issue; this shows the command stays quick at a large authority's volume
(400 audits a month gives about 150 moderation forms with the default policy).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import benchfolder
import sqlalchemy as sa
from moderation_kit import STAFF, add_audit, configure, seed

from caseaudit_batch import session
from caseaudit_batch.core import register as reg
from caseaudit_batch.moderation import stage as moderation_stage
from caseaudit_batch.workbook import forms

GRADES = ["Outstanding", "Good", "Good", "Good", "Requires Improvement", "Requires Improvement", "Inadequate"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--audits", type=int, default=400)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "qa"
        benchfolder.init_folder(folder, "Benchmark Borough Council")
        configure(folder, moderators=["M1", "M2"], qa_officer="M1")
        ctx = session.open_context(folder / "caseaudit.toml", "2026-10-01")
        seed(ctx, [])
        auditors = [s[0] for s in STAFF if s[2] in ("Team Manager", "Service Manager", "Head of Service")]
        with ctx.register.writer() as conn:
            for i in range(args.audits):
                grade = GRADES[i % len(GRADES)]
                add_audit(
                    conn,
                    f"2026-09-{i + 1:04d}",
                    auditors[i % len(auditors)],
                    f"CR-{100000 + i}",
                    "TM1" if i % 2 else "TM2",
                    grade,
                    [grade] * 9,
                )
        ctx.close()

        start = time.perf_counter()
        ctx = session.open_context(folder / "caseaudit.toml", "2026-10-01")
        drawn = moderation_stage.moderate(ctx, "2026-09")
        ctx.close()
        draw_seconds = time.perf_counter() - start
        made = drawn.data["forms"]

        inbox = folder / "inbox" / "moderation"
        answers = {
            "moderator_name": "Mina Okafor",
            "moderation_date": date(2026, 10, 8),
            "grade_agreed": "Yes",
            "actions_agreed": "Yes",
            "m_rationale": "The evidence on the case file supports the auditor's grades.",
        }
        for relative in made:
            blank = (folder / "output" / relative).read_bytes()
            (inbox / Path(relative).name).write_bytes(forms.fill_form(blank, answers))

        start = time.perf_counter()
        ctx = session.open_context(folder / "caseaudit.toml", "2026-10-09")
        read = moderation_stage.moderate(ctx, "2026-09")
        with ctx.register.reader() as conn:
            merged = conn.execute(sa.select(sa.func.count()).select_from(reg.moderations)).scalar()
        ctx.close()
        read_seconds = time.perf_counter() - start
        outcomes = read.data["entries"]

    accepted = sum(1 for e in outcomes if e.outcome == "accepted")
    print(f"accepted audits: {args.audits}")
    print(f"sample drawn and forms made: {len(made)} forms in {draw_seconds:.2f} s ({len(made) / draw_seconds:.0f}/s)")
    print(
        f"returned forms read, checked and merged: {len(outcomes)} files in {read_seconds:.2f} s "
        f"({len(outcomes) / read_seconds:.0f}/s); accepted {accepted}, merged {merged}"
    )
    assert merged == accepted == len(made)


if __name__ == "__main__":
    main()
