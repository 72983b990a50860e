"""``caseaudit init``: a working folder with the configuration, inboxes, output folder and blank roster and
caseload workbooks."""

from __future__ import annotations

from pathlib import Path

from caseaudit_batch.allocation.roster import (
    ALL_ROLES,
    AUDIT_STATUSES,
    CASE_TYPES,
    CASELOAD_HEADERS,
    ROSTER_HEADERS,
)
from caseaudit_batch.core import messages
from caseaudit_batch.core.config import DEFAULT_CONFIG_NAME, config_template_text, load_config
from caseaudit_batch.core.errors import ConfigError
from caseaudit_batch.core.outputs import ensure_dir
from caseaudit_batch.core.register import Register, server_url
from caseaudit_batch.session import INBOXES, Result


def init_workspace(
    folder: Path, organisation: str | None = None, *, database: str | None = None, password_env: str = ""
) -> Result:
    """Create a working folder: config with commented defaults, inboxes, output, blank roster and caseload.

    ``database`` (``init --database URL``): the register is there instead of the folder's SQLite file. The URL is
    written into the config (never a password: that comes from the environment variable ``password_env`` names),
    and the server is connected to and the schema made there before anything is written, so a wrong URL leaves no
    half-made folder. A database that already holds a caseaudit register is joined (a team shares one)."""
    folder = Path(folder)
    config_path = folder / DEFAULT_CONFIG_NAME
    if config_path.exists():
        raise ConfigError("CFG030", folder=str(folder), path=str(config_path))
    if database:
        Register.open(server_url(database, password_env, config_path), create=True).close()
    ensure_dir(folder)
    config_path.write_text(config_template_text(organisation, database=database, password_env=password_env), "utf-8")
    config = load_config(config_path)
    made = [config_path]
    for kind in INBOXES:
        made.append(ensure_dir(config.inbox(kind), config.mode("folder_mode")))
    made.append(ensure_dir(config.output_dir, config.mode("folder_mode")))
    roster_path = config.resolve(config.people.roster)
    caseload_path = config.resolve(config.people.caseload)
    from caseaudit_batch.workbook.tables import (
        write_blank_table,  # openpyxl: loaded only by the commands that write with it
    )

    write_blank_table(roster_path, "Roster", ROSTER_HEADERS, lists={"Role": ALL_ROLES, "Audit status": AUDIT_STATUSES})
    write_blank_table(caseload_path, "Caseload", CASELOAD_HEADERS, lists={"Case type": CASE_TYPES})
    made += [roster_path, caseload_path]
    if not database:
        Register.open(config.database_url, create=True).close()  # only init makes a register
    result = Result("init", outputs=made)
    result.lines = [
        messages.text("SUM060", folder=folder),
        messages.text("SUM061", roster=roster_path.name, caseload=caseload_path.name, config=config_path.name),
    ]
    return result
