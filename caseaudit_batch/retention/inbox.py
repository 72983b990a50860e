"""Purge's inbox files: the completed forms of purged months, removed or moved to ``register.purge_archive``.

Which files go is decided from the register before its rows are deleted (:func:`retention.register.inbox_plans`),
in the purge's own transaction; the files go only after it commits, as the output folders do. A file is a purged
month's when the register recorded these same bytes at that path for a purged month, or when it lies in a month
subfolder of a purged month (``inbox/audits/2020-01/...``); never when a kept month recorded that path. A file
changed since it was read, outside a month subfolder, is kept: its new bytes may be a kept month's form.

Every ingest run's manifest lists every file in its inbox, so kept months' manifests name purged months' forms too:
:func:`scrubbed_manifests` gives them again without those rows, staged in the purge's run (they replace the old
ones only once the register has committed, and a crash is finished by the next command, as any staged output).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from caseaudit_batch.core.outputs import csv_text, ensure_dir
from caseaudit_batch.ingest.files import list_files, shown_name
from caseaudit_batch.retention.register import InboxPlan


@dataclass(frozen=True)
class Doomed:
    """One inbox file of a purged month: its inbox, its path inside the inbox, and where it is on disk."""

    inbox: str
    rel: str
    path: Path


def doomed_files(
    inboxes: dict[str, Path], plans: dict[str, InboxPlan], before: str, archive: Path | None = None
) -> list[Doomed]:
    """Every file in the inboxes that belongs to a month before ``before`` (none already in the archive, should
    that lie inside an inbox)."""
    found = []
    for inbox, folder in inboxes.items():
        plan = plans.get(inbox, InboxPlan())
        for path in list_files(folder):
            rel = shown_name(path.relative_to(folder).as_posix())
            if rel in plan.kept or (archive is not None and path.is_relative_to(archive)):
                continue
            digest = _sha256(path) if rel in plan.purged else None
            if plan.belongs(rel, digest, before):
                found.append(Doomed(inbox, rel, path))
    return found


def forgotten_names(plans: dict[str, InboxPlan], files: list[Doomed]) -> dict[str, set[str]]:
    """For each inbox, the names of purged months' files as a manifest writes them (a path a kept month recorded
    is left out: its rows may be the kept form's)."""
    names: dict[str, set[str]] = {}
    for inbox, plan in plans.items():
        names[inbox] = {csv_text(rel) for rel in plan.purged if rel not in plan.kept}
    for item in files:
        names.setdefault(item.inbox, set()).add(csv_text(item.rel))
    return names


def scrubbed_manifests(output_dir: Path, before: str, names: dict[str, set[str]]) -> list[tuple[Path, bytes]]:
    """Kept months' manifests that list a purged month's file, each with those rows left out."""
    changed = []
    for path in sorted(output_dir.glob("[0-9][0-9][0-9][0-9]-[0-9][0-9]/manifest-*.csv")):
        inbox = path.name.split("-")[1]
        gone = names.get(inbox)
        if path.parent.name < before or not gone:
            continue  # a purged month's folder goes whole
        try:
            rows = list(csv.reader(io.StringIO(path.read_text("utf-8"), newline="")))
        except (OSError, UnicodeDecodeError, csv.Error):
            continue
        kept = [row for i, row in enumerate(rows) if i == 0 or not row or row[0] not in gone]
        if len(kept) != len(rows):
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerows(kept)
            changed.append((path, buffer.getvalue().encode("utf-8")))
    return changed


def _sha256(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


def clear(files: list[Doomed], inboxes: dict[str, Path], archive: Path | None, folder_mode: int) -> int:
    """Remove the files, or move each to ``<archive>/<inbox>/<path in the inbox>`` (never over another file);
    then remove the purged months' subfolders they leave empty. Returns how many files went."""
    done = 0
    for item in files:
        try:
            if archive is None:
                item.path.unlink()
            else:
                target = _free(archive / item.inbox / Path(item.path.relative_to(inboxes[item.inbox])))
                ensure_dir(target.parent, folder_mode)
                shutil.move(str(item.path), str(target))
        except FileNotFoundError:
            continue  # gone already (another hand, or a purge interrupted after this file)
        done += 1
        _prune(item.path.parent, inboxes[item.inbox])
    return done


def _free(target: Path) -> Path:
    """``target``, or ``name (2).xlsx``, ``name (3).xlsx``, ... when a file of that name was archived before."""
    candidate, n = target, 1
    while candidate.exists() or candidate.is_symlink():
        n += 1
        candidate = target.with_name(f"{target.stem} ({n}){target.suffix}")
    return candidate


def _prune(folder: Path, inbox: Path) -> None:
    """Remove empty folders from ``folder`` up to (not including) the inbox itself."""
    while folder != inbox and inbox in folder.parents:
        try:
            with os.scandir(folder) as entries:
                if next(entries, None) is not None:
                    return
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent
