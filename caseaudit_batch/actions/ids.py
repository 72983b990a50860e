"""What an action is and how it is known: its statuses, a form's action row, text normalised for matching, dates
as forms give them, and the stable action IDs (``ACT-…``) made from them.

Shared by the sync (:mod:`caseaudit_batch.actions.sync`), returned trackers (:mod:`caseaudit_batch.actions.updates`)
and the tracker rules.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from caseaudit_batch.core import register as reg

OPEN = "Open"
COMPLETED = "Completed"
NO_LONGER_REQUIRED = "No longer required"
#: The statuses an action can have (the tracker's ``Status`` choices): a published contract.
STATUSES = (OPEN, COMPLETED, NO_LONGER_REQUIRED)
#: ``status_reason`` of an action a resubmitted audit (or moderation) dropped.
REPLACED = "replaced"

SOURCES = ("audit", "moderation", "supervision")
ID_PREFIX = "ACT-"
_ID_LENGTH = 10  # base32 characters: 50 bits, so a clash is vanishingly rare; a clash is still handled (see _new_id)
_ID_BYTES = 10  # the digest's bytes those characters come from: whole 5-byte groups of base32


@dataclass(frozen=True)
class ActionRow:
    """One action as written on a form: its text, owner and due date."""

    text: str
    owner: str | None
    due_date: date | None

    @functools.cached_property
    def norm_text(self) -> str:
        # Asked five times for each action of a sync (a thousand forms' actions: 11,000 normalisations, issue 25).
        return normalise_text(self.text)


# ---------------------------------------------------------------------------------------------------------------
# Text, dates and identifiers
# ---------------------------------------------------------------------------------------------------------------
def normalise_text(text: str) -> str:
    """The form of an action's text used to match it across versions: case, spacing and end punctuation ignored."""
    folded = " ".join(str(text).casefold().replace("\u2019", "'").split())
    return folded.strip(" .;:,-")


def to_date(value: object) -> date | None:
    """A date from a form value: a date, a datetime, an ISO string or (England) dd/mm/yyyy; otherwise None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    pd = sys.modules.get("pandas")  # pandas is imported only where frames are used; without it, no NaT can arrive
    if pd is not None and (value is pd.NaT or isinstance(value, pd.Timestamp)):
        return None if pd.isna(value) else value.date()
    text = str(value).strip()
    for parse in (date.fromisoformat, _parse_english):
        try:
            return parse(text[:10] if parse is date.fromisoformat else text)
        except ValueError:
            continue
    return None


def _parse_english(text: str) -> date:
    # A date typed as text ("03/04/2024") means 3 April in England (field notes).
    for fmt in ("%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


def parse_rows(rows: Iterable[Sequence[object] | Mapping[str, object]]) -> list[ActionRow]:
    """Form rows (``[action, owner, due_date_iso]`` lists, or mappings with those keys) as :class:`ActionRow`.

    Rows without action text are left out: a blank row of the table is not an action.
    """
    parsed: list[ActionRow] = []
    for row in rows or ():
        if isinstance(row, Mapping):
            text, owner, due = row.get("action"), row.get("owner"), row.get("due_date")
        else:
            cells = [*list(row), None, None, None]
            text, owner, due = cells[0], cells[1], cells[2]
        text_str = "" if text is None else " ".join(str(text).split())
        if not normalise_text(text_str):
            continue
        owner_str = None if owner is None or str(owner).strip() == "" else " ".join(str(owner).split())
        parsed.append(ActionRow(text_str, owner_str, to_date(due)))
    return parsed


def action_id_for(source: str, scope: str, norm_text: str, occurrence: int = 0, salt: int = 0) -> str:
    """A stable action ID: the same audit (or case), source and text always give the same ID, run after run."""
    key = f"{source}|{scope}|{norm_text}|{occurrence}" + (f"|{salt}" if salt else "")
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    # Base32 turns each 5 bytes into 8 characters on their own, so the first 10 bytes give the first 16 characters:
    # the same ID as encoding the whole digest, for a third of the work (issue 25).
    return ID_PREFIX + base64.b32encode(digest[:_ID_BYTES]).decode("ascii")[:_ID_LENGTH]


class _IdBook:
    """Which action IDs are taken: the register's (asked in bulk where the caller knows the candidates) and the ones
    made since, which may not be written yet (a sync buffers its inserts)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._known: dict[str, str | None] = {}  # action ID -> its norm_text, or None when free

    def prefetch(self, candidates: Iterable[str]) -> None:
        wanted = [c for c in dict.fromkeys(candidates) if c not in self._known]
        for chunk in reg.chunks(wanted):
            found: dict[str, str] = dict(
                self.conn.execute(
                    sa.select(reg.actions.c.action_id, reg.actions.c.norm_text).where(
                        reg.actions.c.action_id.in_(chunk)
                    )
                )
                .tuples()
                .all()
            )
            self._known.update({c: found.get(c) for c in chunk})

    def taken_by(self, candidate: str) -> str | None:
        """The norm_text of the action holding this ID, or None when the ID is free."""
        if candidate not in self._known:
            self.prefetch([candidate])
        return self._known[candidate]

    def take(self, action_id: str, norm_text: str) -> None:
        self._known[action_id] = norm_text


def _new_id(ids: _IdBook, source: str, scope: str, norm_text: str) -> str:
    """The first free ID for this text: a repeated text in one audit takes the next occurrence number.

    Every step is deterministic, so replaying the same history gives the same IDs.
    """
    occurrence = 0
    while True:
        candidate = action_id_for(source, scope, norm_text, occurrence)
        holder = ids.taken_by(candidate)
        if holder is None:
            break
        if holder == norm_text:  # the same text already has an action here: try the next occurrence
            occurrence += 1
            continue
        # A hash clash with an unrelated action: extend the key until it is free.
        salt = 1
        while ids.taken_by(action_id_for(source, scope, norm_text, occurrence, salt)) is not None:
            salt += 1
        candidate = action_id_for(source, scope, norm_text, occurrence, salt)
        break
    ids.take(candidate, norm_text)
    return candidate


def _show(day: date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else "(none)"
