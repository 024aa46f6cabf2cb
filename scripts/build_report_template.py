"""Writes templates/report.docx, the Word template docxtpl fills in.

Run once to (re)create it; after that, office staff may restyle the file in Word (fonts,
spacing, letterhead) as long as the {{ … }} and {% … %} tags stay in place.
"""

from __future__ import annotations

import sys
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

ROOT = Path(__file__).resolve().parent.parent


def _font(run_or_style, name: str, size: float | None = None, bold: bool = False) -> None:
    font = run_or_style.font
    font.name = name
    if size:
        font.size = Pt(size)
    font.bold = bold
    rpr = run_or_style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), name)


def para(doc, text: str, *, style: str | None = None, align=None, indent: bool = False):
    p = doc.add_paragraph(text, style=style)
    if align is not None:
        p.alignment = align
    if indent:
        p.paragraph_format.first_line_indent = Pt(32)
    return p


def table_block(doc, items: str) -> None:
    """A table repeated per item of `items`, with columns and rows from t.header / t.rows."""
    para(doc, "{%p for t in " + items + " %}")
    h = para(doc, "{{ t.title }}", style="Heading 3")
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
                    _font(run, "宋体", 9, bold=(r == 0))
    # The header row repeats on every page the table runs over.
    tr_pr = table.rows[0]._tr.get_or_add_trPr()
    tr_pr.append(tr_pr.makeelement(qn("w:tblHeader"), {}))
    para(doc, "{%p endfor %}")


def build(path: Path) -> None:
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)

    normal = doc.styles["Normal"]
    _font(normal, "仿宋_GB2312", 16)
    normal.paragraph_format.line_spacing = Pt(28.95)
    for name, font, size in (("Title", "方正小标宋简体", 22), ("Heading 1", "黑体", 16),
                             ("Heading 2", "楷体_GB2312", 16), ("Heading 3", "楷体_GB2312", 14)):
        style = doc.styles[name]
        _font(style, font, size)
        style.font.color.rgb = None
        style.paragraph_format.space_before = Pt(6)
        style.paragraph_format.space_after = Pt(6)

    para(doc, "{%p if r.example %}")
    para(doc, "示例数据:收件箱(inbox/)中没有报表,本报告由内置示例数据生成,仅供演示。")
    para(doc, "{%p endif %}")
    para(doc, "{{ r.title }}", style="Title", align=WD_ALIGN_PARAGRAPH.CENTER)
    para(doc, "{{ r.status_line }}", indent=True)
    para(doc, "一、总体情况", style="Heading 1")
    para(doc, "{%p for para in r.narrative %}")
    para(doc, "{{ para }}", indent=True)
    para(doc, "{%p endfor %}")
    para(doc, "二、数据说明", style="Heading 1")
    para(doc, "应报送{{ r.notes.expected }}个{{ r.notes.unit_noun }},已汇总{{ r.notes.included }}个;"
              "退回{{ r.notes.rejected|length }}个,未报送{{ r.notes.missing|length }}个。", indent=True)
    para(doc, "{%p if r.notes.missing %}")
    para(doc, "未报送:{% for m in r.notes.missing %}{{ m.city }}{{ m.name }}{% if not loop.last %}、{% endif %}{% endfor %}。",
         indent=True)
    para(doc, "{%p endif %}")
    para(doc, "{%p for x in r.notes.rejected %}")
    para(doc, "已退回:{{ x.name }}(文件:{{ x.file }}):{{ x.reasons|join(';') }}", indent=True)
    para(doc, "{%p endfor %}")
    para(doc, "{%p for s in r.notes.superseded %}")
    para(doc, "被替代的文件:{{ s.name }} {{ s.file }}(以 {{ s.stands }} 为准,未计入汇总)", indent=True)
    para(doc, "{%p endfor %}")
    para(doc, "{%p for x in r.notes.unassigned %}")
    para(doc, "无法识别单位的文件:{{ x.file }}:{{ x.reasons|join(';') }}", indent=True)
    para(doc, "{%p endfor %}")
    para(doc, "")
    para(doc, "{{ r.office }}", align=WD_ALIGN_PARAGRAPH.RIGHT)
    para(doc, "{{ r.date }}", align=WD_ALIGN_PARAGRAPH.RIGHT)

    # The tables are wide: they go in a landscape section of their own after the 落款.
    annex = doc.add_section(WD_SECTION.NEW_PAGE)
    annex.orientation = WD_ORIENT.LANDSCAPE
    annex.page_width, annex.page_height = Mm(297), Mm(210)
    annex.top_margin, annex.bottom_margin = Mm(20), Mm(20)
    annex.left_margin, annex.right_margin = Mm(20), Mm(20)
    para(doc, "附表1  各{{ r.city_noun }}汇总表", style="Heading 1")
    table_block(doc, "r.tables")
    para(doc, "附表2  各{{ r.notes.unit_noun }}明细表", style="Heading 1")
    table_block(doc, "r.annex")
    doc.core_properties.title = "汇总报告"
    doc.save(path)


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "templates" / "report.docx")
