"""Safe reading: every hostile or broken file is named for what it is, before any parser touches it."""

from __future__ import annotations

import io
import time
import zipfile
from datetime import date

import pytest
from formkit import good_answers, make_form, prefilled_for

from caseaudit_batch.core.framework import load_framework
from caseaudit_batch.workbook import reader
from caseaudit_batch.workbook.layout import audit_layout

FW = load_framework()
LAYOUT = audit_layout(FW)


def valid_form(**kw: object) -> bytes:
    return make_form(
        FW, prefilled_for("id-1"), good_answers(FW), [("Update chronology", "Sam Worker", date(2026, 10, 30))], **kw
    )  # type: ignore[arg-type]


def rezip(data: bytes, change: dict[str, bytes | None], add: dict[str, bytes] | None = None) -> bytes:
    """A copy of an xlsx with some members replaced (None: removed) or added."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename in change:
                if change[info.filename] is not None:
                    dst.writestr(info.filename, change[info.filename])  # type: ignore[arg-type]
            else:
                dst.writestr(info.filename, src.read(info.filename))
        for name, body in (add or {}).items():
            dst.writestr(name, body)
    return out.getvalue()


def code_of(data: bytes) -> str:
    with pytest.raises(reader.Refused) as caught:
        reader.read_form(data, LAYOUT)
    return caught.value.code


def test_valid_form_reads_values_at_layout_positions() -> None:
    form = reader.read_form(valid_form(), LAYOUT)
    assert form.kind == "audit"
    assert form.audit_id == "id-1"
    assert form.meta["framework_version"] == FW.version
    assert form.values["s3_grade"] == "Good"
    assert form.values["date_completed"] == date(2026, 9, 20)
    assert form.values["case_ref"] == "CR1001"
    assert form.tables["actions"][0] == ("Update chronology", "Sam Worker", date(2026, 10, 30))
    assert form.tables["actions"][1] == (None, None, None)
    assert len(form.tables["actions"]) == LAYOUT.tables["actions"].rows


def test_meta_merely_hidden_or_visible_is_accepted() -> None:
    for state in ("hidden", "visible"):
        assert reader.read_form(valid_form(meta_state=state), LAYOUT).audit_id == "id-1"


def test_identity_from_properties_alone_and_from_meta_alone() -> None:
    assert reader.read_form(valid_form(properties=False), LAYOUT).audit_id == "id-1"


def test_formula_text_stays_text() -> None:
    answers = good_answers(FW) | {"strengths": '=HYPERLINK("http://x","y")'}
    form = reader.read_form(make_form(FW, prefilled_for("id-1"), answers), LAYOUT)
    assert form.values["strengths"] == '=HYPERLINK("http://x","y")'


@pytest.mark.parametrize(
    ("name", "code"),
    [("~$form.xlsx", "IN001"), (".~lock.form.xlsx#", "IN002"), ("Thumbs.db", "IN002"), ("form.xlsx", None)],
)
def test_ignorable_names(name: str, code: str | None) -> None:
    assert reader.ignorable(name) == code


@pytest.mark.parametrize(
    ("data", "code", "found"),
    [
        (b"", "IN005", ""),
        (reader.OLE_MAGIC + b"\0" * 600, "IN003", ""),
        (b"Case reference,Name,Team\nCR1,x,y\n", "IN004", "CSV"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "IN004", "PNG"),
        (b"Dear QA, here is my audit", "IN004", "text"),
        (b"PK\x03\x04" + b"\0" * 40, "IN005", ""),
    ],
)
def test_sniffing_names_the_real_cause(data: bytes, code: str, found: str) -> None:
    with pytest.raises(reader.Refused) as caught:
        reader.read_form(data, LAYOUT)
    assert caught.value.code == code
    assert found in str(caught.value.params.get("found", ""))


def test_truncated_zip_is_refused() -> None:
    data = valid_form()
    assert code_of(data[: len(data) // 2]) == "IN005"


def test_not_a_caseaudit_form() -> None:
    from openpyxl import Workbook

    wb = Workbook()
    buffer = io.BytesIO()
    wb.save(buffer)
    assert code_of(buffer.getvalue()) == "IN020"


def test_word_document_is_not_a_workbook() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w/>")
    assert code_of(out.getvalue()) == "IN004"


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&lol3;</t></si></sst>'
)
XXE = (
    b'<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheets/>&xxe;</workbook>'
)


@pytest.mark.parametrize("part", ["xl/sharedStrings.xml", "xl/worksheets/sheet1.xml", "docProps/custom.xml"])
def test_billion_laughs_is_refused_in_any_part(part: str) -> None:
    data = valid_form()
    if part in zipfile.ZipFile(io.BytesIO(data)).namelist():
        data = rezip(data, {part: BILLION_LAUGHS})
    else:
        data = rezip(data, {}, {part: BILLION_LAUGHS})
    assert code_of(data) == "IN014"


def test_xxe_in_workbook_is_refused() -> None:
    assert code_of(rezip(valid_form(), {"xl/workbook.xml": XXE})) == "IN014"


def test_zip_bomb_is_refused_quickly() -> None:
    # ~40 MB of one repeated byte compresses to ~40 KB: the declared size and ratio give it away.
    bomb = b"<c>" + b"0" * (40 * 1024 * 1024) + b"</c>"
    data = rezip(valid_form(), {"xl/worksheets/sheet1.xml": bomb})
    assert len(data) < 200_000
    started = time.perf_counter()
    assert code_of(data) == "IN010"
    assert time.perf_counter() - started < 1.0


def test_too_many_members_is_refused() -> None:
    data = rezip(valid_form(), {}, {f"xl/media/x{i}.bin": b"x" for i in range(reader.MAX_MEMBERS + 1)})
    assert code_of(data) == "IN010"


def test_forged_declared_size_is_caught() -> None:
    data = bytearray(valid_form())
    name = b"xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        size = zf.getinfo(name.decode()).file_size
    # The central directory entry for the sheet: signature, 42 bytes, then the name.
    offset = bytes(data).find(b"PK\x01\x02", bytes(data).rfind(name) - 46 - 1)
    assert data[offset + 46 : offset + 46 + len(name)] == name
    data[offset + 24 : offset + 28] = (size // 4).to_bytes(4, "little")  # declare a quarter of the real size
    with pytest.raises(reader.Refused) as caught:
        reader.read_form(bytes(data), LAYOUT)
    assert caught.value.code == "IN015"


def test_a_sheet_lying_about_its_extent_is_refused() -> None:
    sheet = (
        b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<dimension ref="A1:B2"/><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>'
        b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>y</t></is></c></row></sheetData></worksheet>'
    )
    assert code_of(rezip(valid_form(), {"xl/worksheets/sheet1.xml": sheet})) == "IN011"


def test_too_many_cells_is_refused() -> None:
    cells = b"".join(b'<row r="%d"><c r="A%d"><v>1</v></c></row>' % (i, i) for i in range(1, reader.MAX_CELLS + 2))
    sheet = (
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        + cells
        + b"</sheetData></worksheet>"
    )
    assert code_of(rezip(valid_form(), {"xl/worksheets/sheet1.xml": sheet})) == "IN011"


def test_macro_project_is_refused() -> None:
    assert code_of(rezip(valid_form(), {}, {"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0"})) == "IN012"


def test_macro_enabled_content_type_is_refused() -> None:
    data = valid_form()
    types = zipfile.ZipFile(io.BytesIO(data)).read("[Content_Types].xml")
    types = types.replace(b"sheet.main+xml", b"sheet.macroEnabled.main+xml")
    assert code_of(rezip(data, {"[Content_Types].xml": types})) == "IN012"


def test_external_links_are_refused() -> None:
    link = b'<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>'
    assert code_of(rezip(valid_form(), {}, {"xl/externalLinks/externalLink1.xml": link})) == "IN013"


def test_inconsistent_identity_is_refused() -> None:
    data = valid_form()
    custom = zipfile.ZipFile(io.BytesIO(data)).read("docProps/custom.xml").replace(b"id-1", b"id-2")
    assert code_of(rezip(data, {"docProps/custom.xml": custom})) == "IN025"


def test_doctype_after_a_long_comment_is_still_found() -> None:
    part = b'<?xml version="1.0"?><!--' + b"x" * 10_000 + b'--><!DOCTYPE a [<!ENTITY a "a">]><a>&a;</a>'
    assert code_of(rezip(valid_form(), {}, {"docProps/extra.xml": part})) == "IN014"


def test_doctype_words_inside_text_are_harmless() -> None:
    answers = good_answers(FW) | {"learning": "<!DOCTYPE html> was pasted by mistake"}
    form = reader.read_form(make_form(FW, prefilled_for("id-1"), answers), LAYOUT)
    assert form.values["learning"].startswith("<!DOCTYPE")


def test_utf16_part_with_doctype_is_refused() -> None:
    part = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a [<!ENTITY a "a">]><a/>'.encode("utf-16")
    assert code_of(rezip(valid_form(), {}, {"docProps/extra.xml": part})) == "IN014"


def test_a_number_far_outside_any_date_is_refused_before_calamine_panics() -> None:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(valid_form()))
    cell = wb["Actions"]["C5"]
    cell.value = -5e11
    cell.number_format = "dd/mm/yyyy"
    buffer = io.BytesIO()
    wb.save(buffer)
    with pytest.raises(reader.Refused) as caught:
        reader.read_form(buffer.getvalue(), LAYOUT)
    assert caught.value.code == "IN016" and caught.value.params["sheet"] == "Actions"


def test_cells_written_with_a_namespace_prefix_are_counted_too() -> None:
    sheet = (
        b'<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>'
        b'<x:row r="1"><x:c r="A1"><x:v>1</x:v></x:c></x:row>'
        b'<x:row r="900000"><x:c r="XFD900000"><x:v>1</x:v></x:c></x:row></x:sheetData></x:worksheet>'
    )
    assert code_of(rezip(valid_form(), {"xl/worksheets/sheet1.xml": sheet})) == "IN011"
