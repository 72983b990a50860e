"""Make ``report_template.docx``, the Word template of the monthly reports (run: python make_report_template.py).

The template is docxtpl (jinja2 inside Word). QA can open the .docx in Word and restyle it: change the styles (Normal,
Title, Heading 1-3, List Bullet, Table Grid), the title page, headers and footers, and the wording around the ``{{ …
}}`` fields. ``glance`` is page one of the monthly report (the month at a glance, issue 20). Keep every ``{{ … }}``
and ``{%p … %}`` field: the program fills them. ``kind`` is "report" for the Monthly Case File Audit Report (and each
service pack) and "themes" for the Learning Themes document; ``privacy_note`` says what the document holds of children
and staff (the committee version, for publication, says what it leaves out and what "c" means) and ``marking`` is the
header's security marking.
Accessibility (UK public sector): real heading styles in order, a sans-serif body of at least 11 pt.
"""

from __future__ import annotations

import sys
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

HERE = Path(__file__).resolve().parent
FONT = "Arial"
DARK_BLUE = RGBColor(0x1F, 0x4E, 0x79)


def _font(style, size: float, *, bold: bool = False, colour: RGBColor | None = None) -> None:
    style.font.name = FONT
    style.font.size = Pt(size)
    style.font.bold = bold
    if colour is not None:
        style.font.color.rgb = colour
    rpr = style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.append(fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), FONT)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:cstheme", "w:eastAsiaTheme"):
        fonts.attrib.pop(qn(attr), None)


def _language(doc) -> None:
    rpr = doc.styles["Normal"].element.get_or_add_rPr()
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "en-GB")
    rpr.append(lang)


def _page_number(paragraph) -> None:
    run = paragraph.add_run()
    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = " PAGE "
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    run._r.append(begin)
    run._r.append(instr)
    run._r.append(end)


def build(path: Path) -> Path:
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)  # A4
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Cm(2.0))
    section.top_margin, section.bottom_margin = Cm(2.0), Cm(2.0)

    styles = doc.styles
    _font(styles["Normal"], 11)
    styles["Normal"].paragraph_format.space_after = Pt(6)
    _font(styles["Title"], 22, bold=True, colour=DARK_BLUE)
    _font(styles["Subtitle"], 14, colour=DARK_BLUE)
    styles["Title"].paragraph_format.space_after = Pt(2)
    styles["Heading 2"].paragraph_format.space_before = Pt(8)
    _font(styles["Heading 1"], 16, bold=True, colour=DARK_BLUE)
    _font(styles["Heading 2"], 13, bold=True, colour=DARK_BLUE)
    _font(styles["Heading 3"], 12, bold=True, colour=DARK_BLUE)
    _font(styles["List Bullet"], 11)
    _font(styles["Caption"], 11, colour=RGBColor(0x40, 0x40, 0x40))
    styles["Heading 1"].paragraph_format.page_break_before = False
    styles["Heading 1"].paragraph_format.space_before = Pt(18)
    _language(doc)
    doc.core_properties.title = "Monthly Case File Audit Report"
    doc.core_properties.language = "en-GB"

    header = section.header.paragraphs[0]
    header.text = "{{ marking }}: {{ organisation }}"  # OFFICIAL-SENSITIVE; OFFICIAL on the committee version
    footer = section.footer.paragraphs[0]
    footer.text = "{{ title }}, {{ month_label }}{% if service %} ({{ service }}){% endif %}. Page "
    _page_number(footer)

    # Page one: the title, the report date and (in the monthly report) the month at a glance (issue 20).
    doc.add_paragraph("{{ title }}", style="Title")
    doc.add_paragraph(
        "{{ organisation }}, {{ month_label }}{% if service %}: {{ service }} service pack{% endif %}", style="Subtitle"
    )
    doc.add_paragraph(
        "Report date: {{ report_date }} (due, overdue and late are judged at this date). The figures use everything "
        "recorded in the register when the report was made, on {{ generated_on }}."
    )
    doc.add_paragraph("{{p glance }}")  # the month at a glance: one page (empty in the other documents)
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    doc.add_paragraph("{{ audience }}")
    doc.add_paragraph("{{ privacy_note }}")  # what the document holds of children and staff, and what it leaves out

    doc.add_paragraph('{%p if kind == "report" %}')
    doc.add_heading("Summary", level=1)
    doc.add_paragraph("{{p at_a_glance }}")
    doc.add_paragraph("{%p for sentence in summary %}")
    doc.add_paragraph("{{ sentence }}", style="List Bullet")
    doc.add_paragraph("{%p endfor %}")
    for title, field in (
        ("Audit compliance", "compliance"),
        ("Grades", "grades"),
        ("{{ services_heading }}", "services"),
        ("Cases graded Inadequate or Requires Improvement", "concern"),
        ("Moderation", "moderation"),
        ("Actions", "actions"),
        ("Follow-up audits", "followups"),
        ("Safeguarding alerts", "safeguarding"),
        ("Coverage", "coverage"),
        ("Strengths and learning themes", "themes"),
        ("Organisational learning points", "org_learning"),
        ("Glossary", "glossary"),
    ):
        optional = field in ("concern", "coverage")  # internal only: the committee version has no case rows
        if optional:
            doc.add_paragraph("{%p if " + field + " %}")
        doc.add_heading(title, level=1)
        doc.add_paragraph("{{p " + field + " }}")
        if optional:
            doc.add_paragraph("{%p endif %}")
    doc.add_paragraph("{%p else %}")
    doc.add_heading("About this document", level=1)
    doc.add_paragraph(
        "Auditors record strengths, learning points, recommendations and organisational learning points on every "
        "audit. caseaudit tags each with the themes of the taxonomy the Principal Social Worker keeps in "
        "themes.toml (a theme's key phrases appear in the text). Counts are audits mentioning the theme."
    )
    doc.add_heading("Themes at a glance", level=1)
    doc.add_paragraph("{{p themes_overview }}")
    doc.add_heading("Themes in detail", level=1)
    doc.add_paragraph("{{p themes_detail }}")
    doc.add_heading("Organisational learning points", level=1)
    doc.add_paragraph("{{p org_learning }}")
    doc.add_heading("Text matching no theme", level=1)
    doc.add_paragraph("{{p untagged }}")
    doc.add_paragraph("{%p endif %}")
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "report_template.docx"
    print(build(target))
