"""The purge command: ``purge``, register rows, output folders and inbox forms of months past the retention period."""

from __future__ import annotations

import logging
import shutil

from caseaudit_batch.core import messages
from caseaudit_batch.core.clock import Month
from caseaudit_batch.core.errors import ConfigError
from caseaudit_batch.retention import inbox as inbox_files
from caseaudit_batch.retention.register import forget_run_files, inbox_plans, purge_register
from caseaudit_batch.session import INBOXES, Context, Result, writing

log = logging.getLogger("caseaudit")


def purge(ctx: Context, before: Month | str | None = None) -> Result:
    """Remove register data, output folders and inbox forms for months before ``before`` (default: the retention
    period). The forms are moved to ``register.purge_archive`` instead when that is set."""
    current = Month.of(ctx.clock.today)
    cutoff = Month.coerce(before) if before else current.shift(-ctx.config.register.retention_months)
    if cutoff > current:
        raise ConfigError("CFG031", found=str(cutoff), current=str(current))
    output_dir = ctx.config.output_dir
    old_folders = sorted(
        p for p in output_dir.glob("[0-9][0-9][0-9][0-9]-[0-9][0-9]") if p.is_dir() and p.name < str(cutoff)
    )
    setting = ctx.config.register.purge_archive.strip()
    archive = ctx.config.resolve(setting) if setting else None
    inboxes = {kind: ctx.config.inbox(kind) for kind in INBOXES if ctx.config.inbox(kind).is_dir()}
    with writing(ctx, "purge", {"before": str(cutoff)}) as run:
        # Which forms go is read from the register before its rows are deleted, in the same transaction.
        plans = inbox_plans(run.conn, str(cutoff))
        doomed = inbox_files.doomed_files(inboxes, plans, str(cutoff), archive)
        names = inbox_files.forgotten_names(plans, doomed)
        scrubbed = inbox_files.scrubbed_manifests(output_dir, str(cutoff), names)
        for manifest, data in scrubbed:
            run.staging.write_bytes(manifest, data)  # kept months' manifests, without purged months' files
        removed = purge_register(run.conn, str(cutoff))
        forget_run_files(run.conn, str(cutoff), old_folders)
        run.inputs = {
            "removed_rows": removed,
            "removed_folders": [p.name for p in old_folders],
            "inbox_files": len(doomed),  # a count: the names are what is being forgotten
            "manifests_rewritten": len(scrubbed),
            "archived": archive is not None,
        }
    # Folders and forms go only after the register committed, so a crash never leaves records whose files are gone
    # (a form left behind by a crash is ignored by ingest as a purged month's, and removed by the next purge).
    for folder in old_folders:
        shutil.rmtree(folder)
    moved = inbox_files.clear(doomed, inboxes, archive, ctx.config.mode("folder_mode"))
    log.info(
        "purge before %s removed rows %s, folders %s and %d inbox files%s",
        cutoff,
        removed,
        [p.name for p in old_folders],
        moved,
        " (moved to the archive)" if archive is not None else "",
    )
    result = Result("purge")
    total = sum(removed.values())
    result.lines.append(messages.text("SUM050", total=total, folders=len(old_folders), label=cutoff.label))
    result.lines += [messages.text("SUM051", table=table, count=count) for table, count in sorted(removed.items())]
    if archive is None:
        result.lines.append(messages.text("SUM052", count=moved, label=cutoff.label))
    else:
        result.lines.append(messages.text("SUM053", count=moved, label=cutoff.label, archive=str(archive)))
    if scrubbed:
        result.lines.append(messages.text("SUM054", count=len(scrubbed)))
    result.data = {
        "removed": removed,
        "folders": [p.name for p in old_folders],
        "before": str(cutoff),
        "inbox_files": moved,
        "manifests": len(scrubbed),
        "archive": str(archive) if archive is not None else "",
    }
    return result
