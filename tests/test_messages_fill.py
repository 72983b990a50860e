"""Issue 25: messages are filled by ``str.format_map``; every template in the catalogue gives what
``string.Formatter`` gave, with every name given and with none (a name not given shows as "?")."""

from __future__ import annotations

import base64
import hashlib
import random
import string

from caseaudit_batch.actions import ids
from caseaudit_batch.core import messages


class _Blank(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "?"


def _names(template: str) -> set[str]:
    return {field.split(".")[0].split("[")[0] for _, field, _, _ in string.Formatter().parse(template) if field}


def test_every_template_fills_as_string_formatter_did() -> None:
    rng = random.Random(25)
    templates = [t for d in messages.CATALOGUE.values() for t in (d.text, d.fix) if t]
    assert len(templates) > 100
    for template in templates:
        given = {name: rng.choice(["x", 3, 0.25, "a {b}", ""]) for name in _names(template)}
        for params in (given, {}):
            old = string.Formatter().vformat(template, (), _Blank(params))
            assert messages._fill(template, params) == old, template


def test_an_action_id_is_the_whole_digests_first_characters() -> None:
    rng = random.Random(7)
    for n in range(2000):
        scope, text = (
            f"2026-09-{n:04d}",
            " ".join(rng.choice(["plan", "update", "the", "child's", "é"]) for _ in range(5)),
        )
        occurrence = rng.randrange(3)
        key = f"audit|{scope}|{text}|{occurrence}"
        whole = base64.b32encode(hashlib.sha256(key.encode("utf-8")).digest()).decode("ascii")
        assert ids.action_id_for("audit", scope, text, occurrence) == ids.ID_PREFIX + whole[:10]
