"""The purge command: ``purge``, register rows and output folders of months past the retention period."""

from __future__ import annotations

import logging
import shutil

from caseaudit_batch.core import messages
from caseaudit_batch.core.clock import Month
from caseaudit_batch.core.errors import ConfigError
from caseaudit_batch.retention.register import purge_register
from caseaudit_batch.session import Context, Result, writing

log = logging.getLogger("caseaudit")


def purge(ctx: Context, before: Month | str | None = None) -> Result:
    """Remove register data and output folders for months before ``before`` (default: the retention period)."""
    current = Month.of(ctx.clock.today)
    cutoff = Month.coerce(before) if before else current.shift(-ctx.config.register.retention_months)
    if cutoff > current:
        raise ConfigError("CFG031", found=str(cutoff), current=str(current))
    output_dir = ctx.config.output_dir
    old_folders = sorted(
        p for p in output_dir.glob("[0-9][0-9][0-9][0-9]-[0-9][0-9]") if p.is_dir() and p.name < str(cutoff)
    )
    with writing(ctx, "purge", {"before": str(cutoff)}) as run:
        removed = purge_register(run.conn, str(cutoff))
        run.inputs = {"removed_rows": removed, "removed_folders": [p.name for p in old_folders]}
    # Folders go only after the register committed, so a crash never leaves records whose files are gone.
    for folder in old_folders:
        shutil.rmtree(folder)
    log.info("purge before %s removed rows %s and folders %s", cutoff, removed, [p.name for p in old_folders])
    result = Result("purge")
    total = sum(removed.values())
    result.lines.append(messages.text("SUM050", total=total, folders=len(old_folders), label=cutoff.label))
    result.lines += [messages.text("SUM051", table=table, count=count) for table, count in sorted(removed.items())]
    result.data = {"removed": removed, "folders": [p.name for p in old_folders], "before": str(cutoff)}
    return result
