"""Where audit IDs come from: random UUIDs in production, derived from a seed in the demo and the tests.

An audit ID (``audit_id``) is the machine identity of one allocation. Production makes it with ``uuid4`` so that no
two registers, or two runs, can ever share one. The demo (and the tests) must play the same year twice and get the
same figures, and several seeded choices depend on the ID (the moderation sample's order, action IDs), so there
the ID is derived from the seed and the allocation's own facts. A derived ID is still a valid version-4 UUID.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable
from typing import Protocol

#: Whether an ID is already in the register (a derived source steps past it).
Exists = Callable[[str], bool]


class IdSource(Protocol):
    """Makes a new audit ID from the allocation's facts (month, case, auditor, batch); ``exists`` says whether an
    ID is already in the register, so that a derived source can step past it."""

    def audit_id(self, *facts: object, exists: Exists | None = None) -> str: ...


class RandomIds:
    """Production: a random UUID4 per audit; the facts are not used."""

    def audit_id(self, *facts: object, exists: Exists | None = None) -> str:
        return str(uuid.uuid4())


class SeededIds:
    """The demo and tests: the same seed and facts give the same ID in any process.

    Facts are the month, case reference, auditor's Staff ID and allocation batch. A repeated allocation of the
    same facts (a reassignment back to the first auditor) takes the next occurrence, never an ID that ``exists``.
    """

    def __init__(self, seed: object) -> None:
        self.seed = str(seed)

    def audit_id(self, *facts: object, exists: Exists | None = None) -> str:
        occurrence = 0
        while True:
            text = "\x1f".join([self.seed, *map(str, facts), str(occurrence)])
            digest = hashlib.sha256(text.encode("utf-8")).digest()
            candidate = str(uuid.UUID(bytes=digest[:16], version=4))
            if exists is None or not exists(candidate):
                return candidate
            occurrence += 1


# ---------------------------------------------------------------------------------------------------------------
# The readable audit reference (hardening issue, item 5): ``YYYY-MM-NNNN``, the month and the audit's place in that
# month's allocations, shown wherever a person reads an audit's identity and carried by every per-audit file name.
# ---------------------------------------------------------------------------------------------------------------
AUDIT_REF = re.compile(r"^(\d{4}-\d{2})-(\d{4,})$")


def audit_reference(month: str, number: int) -> str:
    """``YYYY-MM-NNNN``: 4 digits, 5 past 9,999 (``2026-09-0014``)."""
    return f"{month}-{number:04d}"


def reference_number(ref: str | None) -> int:
    """The sequence number of a reference (0 for anything else)."""
    match = AUDIT_REF.match(ref or "")
    return int(match.group(2)) if match else 0


def is_audit_reference(text: str) -> bool:
    """Whether ``text`` is written as an audit reference (rather than an audit ID)."""
    return AUDIT_REF.match(text.strip()) is not None
