"""Issue 25: the reports read for names only the typed text they can show (the report month's answers and the
actions), and no typed text reaches a report file unredacted, with quotations or without."""

from __future__ import annotations

import io
import zipfile

import pandas as pd
import pytest
from test_metrics import month_data, report_settings

from caseaudit_batch.reports import build
from caseaudit_batch.reports.data import TYPED_TEXT, RegisterData
from caseaudit_batch.reports.tiers import COMMITTEE, INTERNAL

NOW = "Kayden's chronology is out of date and the plan is not smart."
BEFORE = "Zebedee's chronology is out of date and the plan is not smart."


def _planted() -> RegisterData:
    """The test month's data with a name planted in every typed answer: "Kayden" in the report month's audits,
    "Zebedee" in the earlier month's, and both in the moderators' rationale and the actions' text."""
    data = month_data()
    audits = data.audits.copy()
    this_month = audits["month"] == str(data.month)
    for column in TYPED_TEXT:
        if column in audits.columns:
            planted = [f"{NOW if now else BEFORE} {v or ''}" for v, now in zip(audits[column], this_month, strict=True)]
            audits[column] = pd.Series(planted, index=audits.index, dtype=object)
    moderations = data.moderations.assign(m_rationale=f"{NOW} {BEFORE}")
    actions = data.actions.assign(text=f"Ask Kayden and Zebedee about contact. {NOW}")
    return RegisterData(**{**vars(data), "audits": audits, "moderations": moderations, "actions": actions})


class _Redactor:
    def __init__(self) -> None:
        self.read: list[str] = []

    def __call__(self, text: str) -> str:
        self.read.append(text)
        return text.replace("Kayden", "[name]").replace("Zebedee", "[name]")


def _files(no_quotes: bool) -> tuple[dict[str, bytes], _Redactor]:
    redactor = _Redactor()
    made = build.build_month_reports(
        _planted().redacted(redactor), **report_settings(no_quotes=no_quotes, tiers=(INTERNAL, COMMITTEE))
    )
    return made.files, redactor


def _text(name: str, blob: bytes) -> str:
    if name.endswith(".json"):
        return blob.decode("utf-8")
    with zipfile.ZipFile(io.BytesIO(blob)) as package:
        return "\n".join(package.read(n).decode("utf-8", "replace") for n in package.namelist() if n.endswith(".xml"))


@pytest.mark.parametrize("no_quotes", [False, True])
def test_no_report_file_holds_a_planted_name(no_quotes: bool) -> None:
    files, _ = _files(no_quotes)
    assert len(files) >= 6
    for name, blob in files.items():
        text = _text(name, blob)
        assert "Kayden" not in text and "Zebedee" not in text, name
    shown = "\n".join(_text(name, blob) for name, blob in files.items())
    assert "[name]" in shown  # the overdue actions' text, redacted, in both versions
    if not no_quotes:
        name = build.themes_name(month_data().month)
        assert "[name]" in _text(name, files[name])  # the month's quotations were shown, redacted


def test_only_the_text_a_report_can_show_is_read_for_names() -> None:
    _, redactor = _files(False)
    read = "\n".join(redactor.read)
    assert "Kayden" in read  # the report month's answers and the actions
    # The earlier month's answers are counted in the 12-month figures but never shown: not read for names (the
    # moderation rationale and actions that carry both names are the month's, and read whole).
    assert not any(text.startswith(BEFORE) for text in redactor.read)
