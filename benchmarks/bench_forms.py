"""How fast allocation gets its forms: 1,000 pre-filled audit forms, stamped from the cached template, written to
disk; against the plain approach (openpyxl builds and saves each workbook), timed side by side in the same run.

    python benchmarks/bench_forms.py [--forms 1000] [--plain 100]

The plain approach is timed on ``--plain`` forms (default 100: at ~10 forms a second, 1,000 would take minutes)
and its rate projected to the same count; the ratio compares forms per second. Target (issue 4): 1,000 forms in at
most 5 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from caseaudit_batch.core.framework import load_framework
from caseaudit_batch.workbook import forms
from caseaudit_batch.workbook.layout import META_KEYS, META_SHEET
from caseaudit_batch.workbook.tables import set_text_safe
from caseaudit_batch.workbook.writer import build_form

ORG = "Benchmark Borough Council"
TARGET_SECONDS = 5.0


def allocation(i: int) -> tuple[dict[str, object], dict[str, str]]:
    case_ref = f"CR-{100000 + i}"
    audit_id = str(uuid.UUID(int=i + 1))
    prefilled: dict[str, object] = {
        "audit_id": audit_id,
        "audit_month": "2026-09",
        "due_date": date(2026, 9, 30),
        "case_ref": case_ref,
        "case_type": ("Child in Need", "Child Protection", "Child Looked After")[i % 3],
        "service": f"Service {i % 7}",
        "team": f"Team {i % 31}",
        "social_worker": f"Worker {i % 211}",
        "team_manager": f"Manager {i % 31}",
        "service_manager": f"Senior {i % 7}",
        "cp_iro": f"Reviewer {i % 17}",
        "auditor_name": f"Auditor {i}",
        "auditor_role": "Team Manager",
        "previous_worker": f"Former {i}" if i % 5 == 0 else "",
        "review_period": "March 2026 to August 2026",
    }
    meta = {"audit_id": audit_id, "month": "2026-09", "case_ref": case_ref, "auditor_id": f"S{i:05d}"}
    return prefilled, meta


def stamped(framework, count: int, folder: Path) -> float:
    start = time.perf_counter()
    for i in range(count):
        prefilled, meta = allocation(i)
        data = forms.render_audit_form(framework, ORG, prefilled, meta)
        name = forms.form_filename("2026-09", str(prefilled["case_ref"]), str(prefilled["auditor_name"]))
        (folder / name).write_bytes(data)
    return time.perf_counter() - start


def plain(framework, count: int, folder: Path) -> float:
    """openpyxl builds each workbook in full and saves it (what a writer without a template does)."""
    design = forms._audit_design(framework, ORG, "")
    start = time.perf_counter()
    for i in range(count):
        prefilled, meta = allocation(i)
        wb = build_form(design)
        main = wb[design.layout.fields["case_ref"].sheet]
        for name, value in prefilled.items():
            spec = design.layout.fields[name]
            set_text_safe(main, spec.row, spec.col, value)
        identity = {**meta, "form_kind": "audit", "framework_version": framework.version}
        identity["generator_version"] = forms.GENERATOR_VERSION
        for row, key in enumerate(META_KEYS, start=1):
            set_text_safe(wb[META_SHEET], row, 2, identity.get(key, ""))
        for prop in wb.custom_doc_props.props:  # type: ignore[attr-defined]
            prop.value = identity.get(prop.name.removeprefix("caseaudit."), "") or "-"
        wb.save(folder / f"plain-{i}.xlsx")
    return time.perf_counter() - start


def filled(count: int, form: bytes) -> float:
    answers = {f"s{n}_grade": "Good" for n in range(1, 10)}
    answers.update({f"s{n}_findings": "Findings " * 60 for n in range(1, 10)})
    answers.update({"overall_grade": "Good", "date_completed": date(2026, 9, 20), "strengths": "Direct work " * 40})
    actions = [("Update the chronology", "Worker", date(2026, 10, 15))] * 5
    start = time.perf_counter()
    for _ in range(count):
        forms.fill_form(form, answers, actions)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forms", type=int, default=1000)
    parser.add_argument("--plain", type=int, default=100)
    args = parser.parse_args()
    framework = load_framework()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "stamped").mkdir()
        (folder / "plain").mkdir()
        t_fast = stamped(framework, args.forms, folder / "stamped")  # includes building the template once
        t_plain = plain(framework, args.plain, folder / "plain")
        size = sum(p.stat().st_size for p in (folder / "stamped").iterdir()) / args.forms
        t_fill = filled(
            args.forms, (folder / "stamped" / next(iter(sorted((folder / "stamped").iterdir()))).name).read_bytes()
        )
    fast_rate = args.forms / t_fast
    plain_rate = args.plain / t_plain
    print(
        f"stamped from the template: {args.forms} forms in {t_fast:.2f} s "
        f"({fast_rate:,.0f} forms/s, {size / 1024:.1f} KB each, template built once included)"
    )
    print(
        f"plain openpyxl build+save: {args.plain} forms in {t_plain:.2f} s ({plain_rate:,.1f} forms/s; "
        f"{args.forms} would take {args.forms / plain_rate:.1f} s)"
    )
    print(f"ratio: stamping is {fast_rate / plain_rate:,.0f} times faster")
    print(f"fill_form (answers + 5 actions): {args.forms} forms in {t_fill:.2f} s ({args.forms / t_fill:,.0f} forms/s)")
    verdict = "met" if t_fast <= TARGET_SECONDS * args.forms / 1000 else "NOT met"
    print(f"target 1,000 forms in {TARGET_SECONDS:.0f} s: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
