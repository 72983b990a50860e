"""No child's name in what is typed (guidance section 3: "do not write the names of children or family members"; the
privacy issue): every free-text answer is checked for likely personal names, so that the auditor can change them
before anything is published. ``[privacy] names`` decides whether a hit is a warning (V120) or returns the form
(V121). Reports redact what is left whatever the setting (``reports``), so an accepted warning never leaks."""

from __future__ import annotations

from collections.abc import Iterator

from caseaudit_batch.core.messages import Problem
from caseaudit_batch.ingest.rules import ActionRow, FormView, rule


def _names(form: FormView) -> Iterator[tuple[str, str, str]]:
    """``(field, word, reason)`` for each likely name in a free-text answer, each word once per field."""
    detector = form.settings.name_detector
    if detector is None:
        return
    for name, spec in form.layout.fields.items():
        if spec.kind != "text" or spec.prefilled or name.endswith("_name"):
            continue  # the moderator's own name is asked for; it is not what the check is about
        text = form.raw(name)
        if not isinstance(text, str) or not text.strip():
            continue
        seen: set[str] = set()
        for hit in detector.find(text):
            if hit.word not in seen:
                seen.add(hit.word)
                yield name, hit.word, hit.reason


def _action_names(form: FormView) -> Iterator[tuple[ActionRow, str, str]]:
    """The same for the text of each action (its owner is a worker's name or role, so it is not checked)."""
    detector = form.settings.name_detector
    if detector is None or "actions" not in form.layout.tables:
        return
    for action in form.actions():
        if isinstance(action.action, str):
            for hit in detector.find(action.action):
                yield action, hit.word, hit.reason


@rule(code="V120", severity="warning", fields=("*",))
def likely_name_warned(form: FormView) -> Iterator[Problem]:
    """A likely personal name in typed text ([privacy] names = "warn")."""
    if form.settings.names != "warn":
        return
    yield from _problems(form, "V120")


@rule(code="V121", severity="error", fields=("*",))
def likely_name_returned(form: FormView) -> Iterator[Problem]:
    """A likely personal name in typed text ([privacy] names = "return"): the form goes back."""
    if form.settings.names != "return":
        return
    yield from _problems(form, "V121")


def _problems(form: FormView, code: str) -> Iterator[Problem]:
    for name, word, reason in _names(form):
        yield form.problem(code, name, found=word, reason=reason)
    for action, word, reason in _action_names(form):
        yield form.action_problem(code, action, 0, found=word, reason=reason)
