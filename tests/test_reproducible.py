"""Reproducible runs (issue 15): the same seed plays the same year, in any process, and matches the saved snapshot.

The demo's audit IDs come from its seed (``ids.SeededIds``); production keeps random UUIDs (``ids.RandomIds``).
The forms and input tables carry no wall-clock time, so their bytes (and their hashes in the register) repeat too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from caseaudit_batch.core.config import TEMPLATES_DIR
from caseaudit_batch.core.framework import load_framework
from caseaudit_batch.core.ids import RandomIds, SeededIds
from caseaudit_batch.workbook import forms
from caseaudit_batch.workbook.stamp import CORE_PART, Package

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import make_demo_snapshot as snapshots  # noqa: E402 - the script beside the tests

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def first_play(short_demo: tuple[Path, dict]) -> dict:
    return short_demo[1]


def _play_in_another_process(folder: Path, hash_seed: str) -> dict:
    """The same short demo in a new Python process with another string-hash seed (set order differs)."""
    script = (
        "import json, sys; sys.path.insert(0, sys.argv[2]); import make_demo_snapshot as s; "
        "from pathlib import Path; print(json.dumps(s.play(Path(sys.argv[1]), '2months'), default=str))"
    )
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    done = subprocess.run(
        [sys.executable, "-c", script, str(folder), str(HERE)], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.splitlines()[-1])


def test_two_plays_give_the_same_metrics_and_register_rows(first_play: dict, tmp_path: Path) -> None:
    second = _play_in_another_process(tmp_path / "demo", hash_seed="12345")
    first = json.loads(json.dumps(first_play, default=str))
    assert sorted(first["metrics"]) == ["2026-09", "2026-10"]
    assert first["metrics"] == second["metrics"]
    for table, rows in first["register"].items():
        assert rows == second["register"][table], f"register table {table} differs between two plays"
    # The play did real work: allocations, accepted audits, moderation and actions all have rows.
    for table in ("allocations", "audits", "moderations", "actions", "submissions"):
        assert first["register"][table], table


def test_the_play_matches_the_saved_snapshot(first_play: dict) -> None:
    """The snapshot the layout change must keep (issue 16). If a change is meant to move the demo's figures,
    rewrite it with ``python tests/make_demo_snapshot.py`` and say so in the commit."""
    expected = snapshots.saved("2months")
    got = snapshots.as_saved("2months", first_play)
    assert got["play"] == expected["play"]
    for month, values in expected["metrics"].items():
        assert got["metrics"][month] == values, f"metrics for {month} changed"
    assert got["register"] == expected["register"]


def test_seeded_ids_repeat_and_are_uuid4() -> None:
    a, b = SeededIds(7), SeededIds(7)
    first = a.audit_id("2026-09", "CR1", "S1", 1)
    assert first == b.audit_id("2026-09", "CR1", "S1", 1)
    assert uuid.UUID(first).version == 4
    assert first != SeededIds(8).audit_id("2026-09", "CR1", "S1", 1)
    assert first != a.audit_id("2026-09", "CR1", "S2", 1)


def test_seeded_ids_step_past_an_id_already_in_the_register() -> None:
    ids = SeededIds(7)
    taken = {ids.audit_id("2026-09", "CR1", "S1", 1)}
    again = ids.audit_id("2026-09", "CR1", "S1", 1, exists=taken.__contains__)
    assert again not in taken and uuid.UUID(again).version == 4


def test_production_ids_are_random() -> None:
    ids = RandomIds()
    assert ids.audit_id("2026-09", "CR1", "S1", 1) != ids.audit_id("2026-09", "CR1", "S1", 1)


def test_forms_carry_no_wall_clock_time() -> None:
    framework = load_framework(TEMPLATES_DIR / "framework.toml")
    blank = forms.audit_template(framework, "Testshire Council")
    core = Package(blank).text(CORE_PART)
    assert "dcterms:created" not in core and "dcterms:modified" not in core
    assert "<dc:creator" in core  # the rest of the core properties are kept
