"""Writes templates/report.docx, the Word template docxtpl fills in.

The layout follows the official document format (GB/T 9704-2012): A4; margins 37 mm top,
35 mm bottom, 28 mm left, 26 mm right; title 2号 方正小标宋简体 ; body 3号 仿宋_GB2312 with a
two-character first-line indent and exactly 28.95 pt between lines (22 lines of 28
characters, the document grid says so too); 一、 headings in 黑体 , （一） in 楷体_GB2312; page
numbers — 1 — in 4号 宋体 , right on odd pages and left on even ones. The fonts are named,
not embedded: office PCs have them, and elsewhere Word or LibreOffice substitutes.

Run `make docx-template` to recreate it; after that, office staff may restyle the file in
Word (letterhead, spacing) as long as the {{ … }} and {% … %} tags stay in place.
"""

from __future__ import annotations

import sys
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

ROOT = Path(__file__).resolve().parent.parent
LINE = Pt(28.95)  # 22 lines in the 223 mm text height
BODY_PT = 16  # 3号
TITLE_PT = 22  # 2号
PAGE_NUMBER_PT = 14  # 4号


def set_fonts(target, name: str, size: float | None = None, bold: bool | None = None) -> None:
    """Name the font for every script, East Asian included, and drop theme fonts that would win."""
    font = target.font
    font.name = name
    if size:
        font.size = Pt(size)
    if bold is not None:
        font.bold = bold
    rpr = target.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        if fonts.get(qn(attr)) is not None:
            del fonts.attrib[qn(attr)]
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), name)


def para(doc, text: str, *, style: str | None = None, align=None, indent: bool = False):
    p = doc.add_paragraph(text, style=style)
    if align is not None:
        p.alignment = align
    if indent:
        p.paragraph_format.first_line_indent = Pt(BODY_PT * 2)
    return p


def tag(doc, text: str) -> None:
    """A paragraph holding only a docxtpl block tag; docxtpl removes the paragraph itself."""
    doc.add_paragraph(text)


def page_number(paragraph, align) -> None:
    paragraph.alignment = align
    paragraph.paragraph_format.line_spacing = 1.0
    paragraph.paragraph_format.first_line_indent = Pt(0)

    def run(text: str | None = None, field: str | None = None):
        r = paragraph.add_run(text or "")
        set_fonts(r, "宋体", PAGE_NUMBER_PT)
        if field:
            for kind, instr in (("begin", None), (None, field), ("separate", None), (None, None), ("end", None)):
                if kind:
                    el = OxmlElement("w:fldChar")
                    el.set(qn("w:fldCharType"), kind)
                    r._r.append(el)
                elif instr:
                    el = OxmlElement("w:instrText")
                    el.set(qn("xml:space"), "preserve")
                    el.text = instr
                    r._r.append(el)
                else:
                    t = OxmlElement("w:t")
                    t.text = "1"
                    r._r.append(t)
        return r

    run("— ")
    run(field=" PAGE ")
    run(" —")


def doc_grid(section, line_pitch: int, char_space: int | None) -> None:
    sect = section._sectPr
    grid = sect.find(qn("w:docGrid"))
    if grid is None:
        grid = OxmlElement("w:docGrid")
        sect.append(grid)
    grid.set(qn("w:type"), "linesAndChars" if char_space is not None else "lines")
    grid.set(qn("w:linePitch"), str(line_pitch))
    if char_space is not None:
        grid.set(qn("w:charSpace"), str(char_space))
    elif grid.get(qn("w:charSpace")) is not None:
        del grid.attrib[qn("w:charSpace")]


def table_block(doc, items: str) -> None:
    """A table repeated per item of `items`, with columns and rows from t.header / t.rows."""
    tag(doc, "{%p for t in " + items + " %}")
    h = para(doc, "{{ t.title }}", style="Heading 2")
    h.paragraph_format.keep_with_next = True
    table = doc.add_table(rows=4, cols=3)
    table.style = "Table Grid"
    cells = [
        ["{%tc for h in t.header %}", "{{ h }}", "{%tc endfor %}"],
        ["{%tr for row in t.rows %}", "", ""],
        ["{%tc for v in row %}", "{{ v }}", "{%tc endfor %}"],
        ["{%tr endfor %}", "", ""],
    ]
    for r, row in enumerate(cells):
        for c, text in enumerate(row):
            cell = table.cell(r, c)
            cell.text = text
            for p in cell.paragraphs:
                # Table text is compact: the body's fixed 28.95 pt lines would make rows tall.
                p.paragraph_format.line_spacing = 1.0
                p.paragraph_format.space_before = p.paragraph_format.space_after = Pt(0)
                p.paragraph_format.first_line_indent = Pt(0)
                for run in p.runs:
                    set_fonts(run, "宋体", 9, bold=(r == 0))
    # The header row repeats on every page the table runs over.
    tr_pr = table.rows[0]._tr.get_or_add_trPr()
    tr_pr.append(OxmlElement("w:tblHeader"))
    tag(doc, "{%p endfor %}")


def styles(doc) -> None:
    # The document defaults too: the character grid is measured against them, and a reader
    # that honours them (LibreOffice) would otherwise lay 3号 text on an 11 pt grid.
    rpr = doc.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    fonts = rpr.find(qn("w:rFonts"))
    for attr in list(fonts.attrib):
        del fonts.attrib[attr]
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), "仿宋_GB2312")
    for tag_name in ("w:sz", "w:szCs"):
        rpr.find(qn(tag_name)).set(qn("w:val"), str(BODY_PT * 2))
    rpr.find(qn("w:lang")).set(qn("w:eastAsia"), "zh-CN")
    normal = doc.styles["Normal"]
    set_fonts(normal, "仿宋_GB2312", BODY_PT)
    pf = normal.paragraph_format
    pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    pf.line_spacing = LINE
    pf.space_before = pf.space_after = Pt(0)
    for name, font, size, align in (("Title", "方正小标宋简体", TITLE_PT, WD_ALIGN_PARAGRAPH.CENTER),
                                    ("Heading 1", "黑体", BODY_PT, None), ("Heading 2", "楷体_GB2312", BODY_PT, None)):
        style = doc.styles[name]
        set_fonts(style, font, size, bold=False)
        style.font.color.rgb = RGBColor(0, 0, 0)
        spf = style.paragraph_format
        spf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        spf.line_spacing = LINE if name != "Title" else Pt(36)
        spf.space_before = spf.space_after = Pt(0)
        spf.first_line_indent = None if name == "Title" else Pt(BODY_PT * 2)
        if align is not None:
            spf.alignment = align
        # The title style of the default template draws a rule under itself; 公文 titles have none.
        ppr = style.element.get_or_add_pPr()
        for border in ppr.findall(qn("w:pBdr")):
            ppr.remove(border)
    if "Report Caption" not in [s.name for s in doc.styles]:
        cap = doc.styles.add_style("Report Caption", WD_STYLE_TYPE.PARAGRAPH)
        cap.base_style = doc.styles["Normal"]
        cap.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
        cap.paragraph_format.first_line_indent = Pt(0)
        cap.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
        set_fonts(cap, "仿宋_GB2312", 12)


def build(path: Path) -> None:
    doc = Document()
    styles(doc)
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    section.footer_distance = Mm(28) - Mm(7)  # the page number sits 7 mm below the text block
    doc_grid(section, line_pitch=579, char_space=-848)  # 28.95 pt lines; 28 characters of 3号 in 156 mm
    doc.settings.odd_and_even_pages_header_footer = True
    page_number(section.footer.paragraphs[0], WD_ALIGN_PARAGRAPH.RIGHT)
    page_number(section.even_page_footer.paragraphs[0], WD_ALIGN_PARAGRAPH.LEFT)

    tag(doc, "{%p if r.example %}")
    para(doc, "示例数据：收件箱（inbox/）中没有报表，本报告由内置示例数据生成，仅供演示。")
    tag(doc, "{%p endif %}")
    para(doc, "{{ r.title }}", style="Title")
    para(doc, "")
    para(doc, "{{ r.status_line }}", indent=True)
    para(doc, "一、总体情况", style="Heading 1")
    tag(doc, "{%p for para in r.narrative %}")
    para(doc, "{{ para }}", indent=True)
    tag(doc, "{%p endfor %}")
    tag(doc, "{%p for c in charts %}")
    para(doc, "{{ c.image }}", style="Report Caption")
    para(doc, "图{{ loop.index }}  {{ c.title }}", style="Report Caption")
    tag(doc, "{%p endfor %}")

    tag(doc, "{%p if r.attention %}")
    para(doc, "二、需关注的情况", style="Heading 1")
    tag(doc, "{%p for sec in r.attention %}")
    para(doc, "{{ sec.heading }}", style="Heading 2")
    tag(doc, "{%p for line in sec.lines %}")
    para(doc, "{{ line }}", indent=True)
    tag(doc, "{%p endfor %}")
    tag(doc, "{%p endfor %}")
    tag(doc, "{%p endif %}")

    para(doc, "{{ '三' if r.attention else '二' }}、数据说明", style="Heading 1")
    para(doc, "应报送{{ r.notes.expected }}个{{ r.notes.unit_noun }}，已汇总{{ r.notes.included }}个；"
              "退回{{ r.notes.rejected|length }}个，未报送{{ r.notes.missing|length }}个。", indent=True)
    tag(doc, "{%p if r.notes.missing %}")
    para(doc, "未报送：{% for m in r.notes.missing %}{{ m.city }}{{ m.name }}{% if not loop.last %}、{% endif %}{% endfor %}。",
         indent=True)
    tag(doc, "{%p endif %}")
    tag(doc, "{%p for x in r.notes.rejected %}")
    para(doc, "已退回：{{ x.name }}（文件：{{ x.file }}）：{{ x.reasons|join('；') }}", indent=True)
    tag(doc, "{%p endfor %}")
    tag(doc, "{%p for s in r.notes.superseded %}")
    para(doc, "被替代的文件：{{ s.name }} {{ s.file }}（以 {{ s.stands }} 为准，未计入汇总）", indent=True)
    tag(doc, "{%p endfor %}")
    tag(doc, "{%p for x in r.notes.unassigned %}")
    para(doc, "无法识别单位的文件：{{ x.file }}：{{ x.reasons|join('；') }}", indent=True)
    tag(doc, "{%p endfor %}")
    para(doc, "")
    para(doc, "")
    para(doc, "{{ r.office }}", align=WD_ALIGN_PARAGRAPH.RIGHT)
    para(doc, "{{ r.date }}", align=WD_ALIGN_PARAGRAPH.RIGHT)

    # The tables are wide: they go in a landscape section of their own after the 落款.
    annex = doc.add_section(WD_SECTION.NEW_PAGE)
    annex.orientation = WD_ORIENT.LANDSCAPE
    annex.page_width, annex.page_height = Mm(297), Mm(210)
    annex.top_margin, annex.bottom_margin = Mm(20), Mm(20)
    annex.left_margin, annex.right_margin = Mm(20), Mm(20)
    annex.footer_distance = Mm(10)
    doc_grid(annex, line_pitch=579, char_space=None)
    para(doc, "附表1  各{{ r.city_noun }}汇总表", style="Heading 1")
    table_block(doc, "r.tables")
    para(doc, "附表2  各{{ r.notes.unit_noun }}明细表", style="Heading 1")
    tag(doc, "{%p if r.word_annex %}")
    table_block(doc, "r.annex")
    tag(doc, "{%p else %}")
    para(doc, "单位较多（{{ r.notes.expected }}个），明细表见 consolidated.xlsx 的“县（市、区）”工作表和 report.html。", indent=True)
    tag(doc, "{%p endif %}")
    doc.core_properties.title = "汇总报告"
    doc.core_properties.author = "county-returns"
    doc.save(path)


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "templates" / "report.docx")
