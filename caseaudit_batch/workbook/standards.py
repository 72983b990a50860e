"""Which practice standards a version-3 audit form asks, from the form's own defined names (issue 24).

Where the standards sit on the audit form depends on the framework's list, and QA may edit the list; a form made
before the edit is read with the standards it was made with, found from its ``ps_<id>`` defined names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

from caseaudit_batch.core.framework import Framework, PracticeStandard


def with_standards(framework: Framework, standards: tuple[PracticeStandard, ...]) -> Framework:
    return replace(framework, standards=standards)


_CELL_REF = re.compile(r"^'?(?:[^!]+?)'?!\$?[A-Z]{1,3}\$?([0-9]{1,7})$")


def standards_on_form(framework: Framework, names: Mapping[str, str]) -> tuple[PracticeStandard, ...] | None:
    """The practice standards a version-3 audit form asks, from its ``ps_<id>`` defined names: each standard sits
    on the rows just below its section's grade, so its section is the one whose grade row precedes it. ``None``
    when the form names none of the sections' grades (not an audit form)."""
    rows: dict[str, int] = {}
    for name, ref in names.items():
        # Only the grades' rows and the standards' are used below: the form's other defined names (most of its
        # hundred-odd) are passed over before the regular expression (issue 25: this ran for every form read).
        if not (name.startswith("ps_") or name.endswith("_grade")):
            continue
        match = _CELL_REF.match(ref)
        if match:
            rows[name] = int(match.group(1))
    grade_rows = sorted((rows[s.key + "_grade"], s.number) for s in framework.sections if s.key + "_grade" in rows)
    if len(grade_rows) != len(framework.sections):
        return None
    known = {s.id: s for s in framework.standards}
    found: list[tuple[int, PracticeStandard]] = []
    for name, row in rows.items():
        if not name.startswith("ps_"):
            continue
        section = max((n for r, n in grade_rows if r < row), default=None)
        if section is None:
            continue
        ident = name[3:]
        question = known[ident].question if ident in known else ident.replace("_", " ").capitalize()
        source = known[ident].source if ident in known else ""
        found.append((row, PracticeStandard(ident, question, section, source)))
    return tuple(s for _, s in sorted(found, key=lambda pair: pair[0]))
