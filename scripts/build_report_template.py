"""Writes templates/report.docx, the Word template docxtpl fills in.

The layout follows the official document format (GB/T 9704-2012): A4; margins 37 mm top,
35 mm bottom, 28 mm left, 26 mm right; title 2号 方正小标宋简体 ; body 3号 仿宋_GB2312 with a
two-character first-line indent, justified, 22 lines of 28 characters a page. The grid
that gives the 22 lines is a lines-only grid of 28.95 pt (linePitch 579): a grid of
characters as well would make LibreOffice set 14 characters a line, since it never
compresses a 16 pt glyph into the 15.79 pt cell 28 characters need. The 28 characters come
from the body's character spacing instead, -0.25 pt: 28 x 15.75 pt = 441 pt, inside the
442.2 pt line in Word, WPS and LibreOffice alike. 一、 headings in 黑体 , （一） in 楷体_GB2312;
page numbers — 1 — in 4号 宋体 , one character in from the right edge on odd pages and from
the left on even ones. The annex (附件1, 附件2) is landscape, its tables off the line grid
in 小五 宋体 , rows never split; printed on the same A4 sheets turned, so its page numbers
stand where the other pages have theirs (GB/T 9704 10.1): in a box turned with the text, at
the sheet's foot, which is the landscape page's left edge, the table's head toward the
binding on odd pages and the cut edge on even ones. No style spaces Chinese from digits and
Latin letters (autoSpaceDE, autoSpaceDN off: 截至2016年12月7日, never 截至 2016 年). The
body is a run of blocks the report lays out (headings, paragraphs, figures where they fit).
The fonts are named in fontTable (仿宋_GB2312 with 仿宋 as its alternative), not embedded:
office PCs have them, and elsewhere Word or LibreOffice substitutes.

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
TABLE_PT = 9  # 小五: a county's row of 15 columns on one line of a landscape page
CHAR_SPACING = -5  # twentieths of a point: 16 pt glyphs set 15.75 pt apart, 28 to the line
CHAR = Pt(BODY_PT + CHAR_SPACING / 20)  # one character of body text, as set

# The fonts the document names, for fontTable: a reader without one substitutes the
# alternative (Word) or the nearest of the same family and character set (GB2312: 86).
FONTS = (
    ("仿宋_GB2312", "仿宋", "modern"),
    ("仿宋", "", "modern"),
    ("黑体", "SimHei", "modern"),
    ("楷体_GB2312", "楷体", "modern"),
    ("方正小标宋简体", "", "script"),
    ("宋体", "SimSun", "auto"),
    ("Times New Roman", "", "roman"),
)


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
    """— 1 — in 4号 宋体, one character in from the page's outer edge (GB/T 9704 7.5)."""
    paragraph.alignment = align
    pf = paragraph.paragraph_format
    pf.line_spacing = 1.0
    pf.first_line_indent = Pt(0)
    if align == WD_ALIGN_PARAGRAPH.RIGHT:
        pf.right_indent = Pt(PAGE_NUMBER_PT)
    else:
        pf.left_indent = Pt(PAGE_NUMBER_PT)
    snap_off(paragraph._p.get_or_add_pPr())

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


# The order of a paragraph's properties (ECMA-376 17.3.1.26): Word refuses them out of order.
PPR_ORDER = ("w:pStyle w:keepNext w:keepLines w:pageBreakBefore w:framePr w:widowControl w:numPr "
             "w:suppressLineNumbers w:pBdr w:shd w:tabs w:suppressAutoHyphens w:kinsoku w:wordWrap "
             "w:overflowPunct w:topLinePunct w:autoSpaceDE w:autoSpaceDN w:bidi w:adjustRightInd "
             "w:snapToGrid w:spacing w:ind w:contextualSpacing w:mirrorIndents w:suppressOverlap w:jc "
             "w:textDirection w:textAlignment w:textboxTightWrap w:outlineLvl w:divId w:cnfStyle w:rPr "
             "w:sectPr w:pPrChange").split()


def ppr_child(ppr, tag: str):
    """The child `tag` of a paragraph's properties, added in its place in the schema's order."""
    found = ppr.find(qn(tag))
    if found is not None:
        return found
    el = OxmlElement(tag)
    later = PPR_ORDER[PPR_ORDER.index(tag) + 1:]
    for child in ppr:
        name = child.tag.replace("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}", "w:")
        if name in later:
            child.addprevious(el)
            return el
    ppr.append(el)
    return el


def no_autospace(doc) -> None:
    """No space put between Chinese and digits or Latin letters (Word's default puts a quarter
    em there, as LibreOffice does from autoSpaceDE/DN): in the defaults and every paragraph
    and table style, so that nothing inherits it back."""
    styles = doc.styles.element
    defaults = styles.find(qn("w:docDefaults"))
    ppr_default = defaults.find(qn("w:pPrDefault"))
    if ppr_default is None:
        ppr_default = OxmlElement("w:pPrDefault")
        defaults.append(ppr_default)
    places = [ppr_default]
    places += [st for st in styles.iterfind(qn("w:style")) if st.get(qn("w:type")) in ("paragraph", "table")]
    for place in places:
        ppr = place.find(qn("w:pPr"))
        if ppr is None:
            ppr = OxmlElement("w:pPr")
            rpr = place.find(qn("w:rPr"))  # w:pPr comes before w:rPr in a style
            if rpr is not None:
                rpr.addprevious(ppr)
            else:
                place.append(ppr)
        for tag in ("w:autoSpaceDE", "w:autoSpaceDN"):
            ppr_child(ppr, tag).set(qn("w:val"), "0")


def doc_grid(section, line_pitch: int | None) -> None:
    """A lines-only grid (never linesAndChars, see the module's note), or none at all."""
    sect = section._sectPr
    grid = sect.find(qn("w:docGrid"))
    if grid is None:
        grid = OxmlElement("w:docGrid")
        sect.append(grid)
    for attr in list(grid.attrib):
        del grid.attrib[attr]
    if line_pitch is not None:
        grid.set(qn("w:type"), "lines")
        grid.set(qn("w:linePitch"), str(line_pitch))


def snap_off(ppr) -> None:
    """This paragraph keeps its own line height instead of a whole number of grid lines."""
    ppr_child(ppr, "w:snapToGrid").set(qn("w:val"), "0")


def char_spacing(style, twentieths: int) -> None:
    rpr = style.element.get_or_add_rPr()
    el = rpr.find(qn("w:spacing"))
    if el is None:
        el = OxmlElement("w:spacing")
        rpr.append(el)
    el.set(qn("w:val"), str(twentieths))


def table_block(doc, items: str) -> None:
    """Per item of `items`: its caption (表1　…), its unit line, and a table with columns and rows
    from t.header / t.rows. Column widths, each cell's width and alignment are set when the
    report is rendered (render.py), from what the columns hold."""
    tag(doc, "{%p for t in " + items + " %}")
    para(doc, "{{ t.caption }}", style="Report Table Caption")
    para(doc, "{{ t.unit_line }}", style="Report Table Unit")
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
                p.style = doc.styles["Report Table Head" if r == 0 else "Report Table"]
    for r in (0, 2):
        tr_pr = table.rows[r]._tr.get_or_add_trPr()
        tr_pr.append(OxmlElement("w:cantSplit"))  # a row is never split across pages
    # The header row repeats on every page the table runs over.
    table.rows[0]._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
    tag(doc, "{%p endfor %}")


def paragraph_style(doc, name: str, font: str, size: float, *, align=None, spacing: int = 0, snap: bool = False):
    """A compact style off the line grid: tables, captions, unit lines."""
    if name in [s.name for s in doc.styles]:
        return doc.styles[name]
    style = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = doc.styles["Normal"]
    set_fonts(style, font, size, bold=False)
    char_spacing(style, spacing)
    pf = style.paragraph_format
    pf.first_line_indent = Pt(0)
    pf.line_spacing_rule = WD_LINE_SPACING.SINGLE
    pf.space_before = pf.space_after = Pt(0)
    if align is not None:
        pf.alignment = align
    if not snap:
        snap_off(style.element.get_or_add_pPr())
    return style


def styles(doc) -> None:
    # The document defaults too: a reader that honours them (LibreOffice) would otherwise lay
    # 3号 text out against an 11 pt default.
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
    char_spacing(normal, CHAR_SPACING)
    pf = normal.paragraph_format
    pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    pf.line_spacing = LINE
    pf.space_before = pf.space_after = Pt(0)
    pf.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    for name, font, size, align in (("Title", "方正小标宋简体", TITLE_PT, WD_ALIGN_PARAGRAPH.CENTER),
                                    ("Heading 1", "黑体", BODY_PT, None), ("Heading 2", "楷体_GB2312", BODY_PT, None)):
        style = doc.styles[name]
        set_fonts(style, font, size, bold=False)
        style.font.color.rgb = RGBColor(0, 0, 0)
        char_spacing(style, 0 if name == "Title" else CHAR_SPACING)
        spf = style.paragraph_format
        spf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        spf.line_spacing = LINE if name != "Title" else Pt(36)
        spf.space_before = spf.space_after = Pt(0)
        spf.first_line_indent = None if name == "Title" else Pt(BODY_PT * 2)
        spf.keep_with_next = True
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
        set_fonts(cap, "仿宋_GB2312", 14)
        char_spacing(cap, 0)
    # A subtitle under the title (the round: （2016年12月）): 3号楷体, centred, on the grid.
    subtitle = paragraph_style(doc, "Report Subtitle", "楷体_GB2312", BODY_PT, align=WD_ALIGN_PARAGRAPH.CENTER,
                               spacing=CHAR_SPACING, snap=True)
    subtitle.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    subtitle.paragraph_format.line_spacing = LINE
    subtitle.paragraph_format.keep_with_next = True
    # 附件1: 3号黑体, flush left (顶格)
    label = paragraph_style(doc, "Annex Label", "黑体", BODY_PT, align=WD_ALIGN_PARAGRAPH.LEFT, snap=True)
    label.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    label.paragraph_format.line_spacing = LINE
    label.paragraph_format.keep_with_next = True
    label.paragraph_format.page_break_before = True  # each 附件 on a page of its own
    title = paragraph_style(doc, "Annex Title", "方正小标宋简体", TITLE_PT, align=WD_ALIGN_PARAGRAPH.CENTER)
    title.paragraph_format.space_after = Pt(12)
    title.paragraph_format.keep_with_next = True
    caption = paragraph_style(doc, "Report Table Caption", "黑体", 12, align=WD_ALIGN_PARAGRAPH.CENTER)
    caption.paragraph_format.space_before = Pt(6)
    caption.paragraph_format.keep_with_next = True
    unit = paragraph_style(doc, "Report Table Unit", "宋体", TABLE_PT, align=WD_ALIGN_PARAGRAPH.RIGHT)
    unit.paragraph_format.keep_with_next = True
    paragraph_style(doc, "Report Table", "宋体", TABLE_PT, align=WD_ALIGN_PARAGRAPH.LEFT)
    paragraph_style(doc, "Report Table Number", "宋体", TABLE_PT, align=WD_ALIGN_PARAGRAPH.RIGHT)  # set when rendered
    paragraph_style(doc, "Report Table Head", "黑体", TABLE_PT, align=WD_ALIGN_PARAGRAPH.CENTER)
    # 附件：1．… under the text, 左空二字; the later items, one a line, under the first item's title
    for name, first in (("Report Annex Note", -CHAR * 3), ("Report Annex Note More", 0)):
        note = paragraph_style(doc, name, "仿宋_GB2312", BODY_PT, spacing=CHAR_SPACING, snap=True)
        note.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        note.paragraph_format.line_spacing = LINE
        note.paragraph_format.left_indent = CHAR * 5
        note.paragraph_format.first_line_indent = first
    # The 落款: each line indented from the left by as much as the office's and the date's lengths
    # give (GB/T 9704 7.3.5.2), worked out when the report is rendered: the date's first
    # character then falls two characters right of the office's, whatever its digits' width.
    paragraph_style(doc, "Report Signature", "仿宋_GB2312", BODY_PT, align=WD_ALIGN_PARAGRAPH.LEFT,
                    spacing=CHAR_SPACING, snap=True).paragraph_format.line_spacing = LINE
    doc.styles["Report Signature"].paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    doc.styles["Report Signature"].paragraph_format.keep_with_next = True


def font_table(doc) -> None:
    """fontTable.xml naming the document's fonts, with their alternatives and character set."""
    ns = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    items = []
    for name, alt, family in FONTS:
        alt_el = f'<w:altName w:val="{alt}"/>' if alt else ""
        charset = "00" if name == "Times New Roman" else "86"
        items.append(f'<w:font w:name="{name}">{alt_el}<w:charset w:val="{charset}"/>'
                     f'<w:family w:val="{family}"/><w:pitch w:val="variable"/></w:font>')
    xml = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:fonts xmlns:w="{ns}">'
           + "".join(items) + "</w:fonts>").encode("utf-8")
    part = next(p for p in doc.part.package.iter_parts() if p.partname == "/word/fontTable.xml")
    part._blob = xml


def theme_font_lang(doc) -> None:
    el = doc.settings.element.find(qn("w:themeFontLang"))
    if el is None:
        el = OxmlElement("w:themeFontLang")
        doc.settings.element.append(el)
    el.set(qn("w:val"), "zh-CN")
    el.set(qn("w:eastAsia"), "zh-CN")


def footers(section) -> None:
    page_number(section.footer.paragraphs[0], WD_ALIGN_PARAGRAPH.RIGHT)
    page_number(section.even_page_footer.paragraphs[0], WD_ALIGN_PARAGRAPH.LEFT)


# Where a portrait page's number stands, in mm on the sheet: its line 7 mm below the text
# block (which ends 35 mm above the sheet's foot), one character (4号, 14 pt) in from the
# text block's right edge (26 mm margin) on odd pages and from its left edge (28 mm) on even.
PORTRAIT = {"width": 210, "height": 297, "bottom": 35, "left": 28, "right": 26, "below": 7}
NUMBER_BOX = (7, 40)  # mm: the box's depth (a line of 4号 and a little) and its length along the line


def turned_page_number(paragraph, odd: bool, shape_id: int) -> None:
    """A landscape page's number where the portrait pages have theirs once the sheet is turned
    (GB/T 9704 10.1): A4 landscape prints on the sheet turned a quarter to the left, the
    table's head at the sheet's left edge (the binding on an odd page, the cut edge on an
    even one), so the sheet's foot is the landscape page's left edge. The number is in a text
    box there, its text turned with the sheet (vert: top to bottom on the landscape page),
    ending one character from the text block's edge on odd pages, starting one character in
    on even ones."""
    mm = 36000  # EMU
    char = PAGE_NUMBER_PT * 25.4 / 72
    depth, length = NUMBER_BOX
    line_top = PORTRAIT["height"] - PORTRAIT["bottom"] + PORTRAIT["below"]  # from the sheet's top
    # the sheet's foot is x = 0 on the landscape page: its distance from the foot is x
    x = PORTRAIT["height"] - line_top - depth + (depth - char) / 2
    # along the sheet's width, left to right, is the landscape page's top to bottom
    if odd:
        end = PORTRAIT["width"] - PORTRAIT["right"] - char
        y, align = end - length, "right"
    else:
        y, align = PORTRAIT["left"] + char, "left"
    runs = ('<w:r><w:rPr><w:rFonts w:ascii="宋体" w:hAnsi="宋体" w:eastAsia="宋体" w:cs="宋体"/><w:sz w:val="28"/>'
            '<w:szCs w:val="28"/></w:rPr>{}</w:r>')
    field = ('<w:fldChar w:fldCharType="begin"/></w:r>' + runs.format('<w:instrText xml:space="preserve"> PAGE </w:instrText>')
             + runs.format('<w:fldChar w:fldCharType="separate"/>') + runs.format("<w:t>1</w:t>")
             + runs.format('<w:fldChar w:fldCharType="end"/>'))
    number = (runs.format('<w:t xml:space="preserve">— </w:t>') + runs.format(field)[:-len("</w:r>")]
              + runs.format('<w:t xml:space="preserve"> —</w:t>'))
    xml = (
        '<w:r xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
        'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
        'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
        'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape"><w:drawing>'
        '<wp:anchor distT="0" distB="0" distL="0" distR="0" simplePos="0" relativeHeight="251659264" behindDoc="0" '
        'locked="1" layoutInCell="1" allowOverlap="1"><wp:simplePos x="0" y="0"/>'
        f'<wp:positionH relativeFrom="page"><wp:posOffset>{round(x * mm)}</wp:posOffset></wp:positionH>'
        f'<wp:positionV relativeFrom="page"><wp:posOffset>{round(y * mm)}</wp:posOffset></wp:positionV>'
        f'<wp:extent cx="{depth * mm}" cy="{length * mm}"/><wp:effectExtent l="0" t="0" r="0" b="0"/><wp:wrapNone/>'
        f'<wp:docPr id="{shape_id}" name="页码{shape_id}"/><wp:cNvGraphicFramePr/>'
        '<a:graphic><a:graphicData uri="http://schemas.microsoft.com/office/word/2010/wordprocessingShape">'
        '<wps:wsp><wps:cNvSpPr txBox="1"/><wps:spPr>'
        f'<a:xfrm><a:off x="0" y="0"/><a:ext cx="{depth * mm}" cy="{length * mm}"/></a:xfrm>'
        '<a:prstGeom prst="rect"><a:avLst/></a:prstGeom><a:noFill/><a:ln><a:noFill/></a:ln></wps:spPr>'
        '<wps:txbx><w:txbxContent><w:p><w:pPr><w:snapToGrid w:val="0"/><w:spacing w:line="240" w:lineRule="auto"/>'
        f'<w:ind w:left="0" w:right="0" w:firstLine="0"/><w:jc w:val="{align}"/></w:pPr>{number}</w:p></w:txbxContent></wps:txbx>'
        '<wps:bodyPr rot="0" vert="vert" wrap="square" lIns="0" tIns="0" rIns="0" bIns="0" anchor="ctr" anchorCtr="0">'
        '<a:noAutofit/></wps:bodyPr></wps:wsp></a:graphicData></a:graphic></wp:anchor></w:drawing></w:r>'
    )
    from lxml import etree

    paragraph._p.append(etree.fromstring(xml))


def landscape_footers(section) -> None:
    """The landscape section's own footers (odd and even), each holding its turned page number
    and nothing at the landscape page's foot."""
    for footer, odd, shape_id in ((section.footer, True, 9001), (section.even_page_footer, False, 9002)):
        footer.is_linked_to_previous = False
        paragraph = footer.paragraphs[0]
        for run in list(paragraph._p.iterfind(qn("w:r"))):
            paragraph._p.remove(run)
        turned_page_number(paragraph, odd, shape_id)


def clean_properties(doc) -> None:
    """The template's properties say nothing of the program that made the empty document it
    started from (python-docx's, dated 2013, from Microsoft Macintosh Word): the report's
    are set when it is rendered."""
    props = doc.core_properties
    props.title = "汇总报告"
    props.author = props.last_modified_by = ""
    props.comments = props.subject = props.keywords = props.category = ""
    props.revision = 1
    root = props._element
    for name in ("created", "modified"):
        for el in root.findall("{http://purl.org/dc/terms/}" + name):
            root.remove(el)
    app = next(p for p in doc.part.package.iter_parts() if p.partname == "/docProps/app.xml")
    app._blob = APP_XML.encode("utf-8")
    rels = doc.part.package.rels  # and no picture of python-docx's blank first page
    for rid, rel in list(rels.items()):
        if rel.reltype.endswith("/metadata/thumbnail"):
            rels.pop(rid)


APP_XML = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
           '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" '
           'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
           '<Application>县级报表汇总</Application><DocSecurity>0</DocSecurity></Properties>')


def build(path: Path) -> None:
    doc = Document()
    styles(doc)
    font_table(doc)
    theme_font_lang(doc)
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    section.footer_distance = Mm(28) - Mm(7)  # the page number sits 7 mm below the text block
    doc_grid(section, line_pitch=579)  # 28.95 pt: 22 lines in the 225 mm text height
    doc.settings.odd_and_even_pages_header_footer = True
    footers(section)

    tag(doc, "{%p if r.example %}")
    para(doc, "示例数据：收件箱（inbox/）中没有报表，本报告由内置示例数据生成，仅供演示。")
    tag(doc, "{%p endif %}")
    para(doc, "{{ r.title }}", style="Title")
    tag(doc, "{%p if r.subtitle %}")
    para(doc, "{{ r.subtitle }}", style="Report Subtitle")
    tag(doc, "{%p endif %}")
    para(doc, "")
    para(doc, "{{ r.status_line }}", indent=True)
    # The body as the report lays it out (word.body_blocks): headings, paragraphs and each
    # figure (a chart and its caption) where it fits, so that no page is left half empty.
    tag(doc, "{%p for b in body %}")
    tag(doc, '{%p if b.kind == "h1" %}')
    para(doc, "{{ b.text }}", style="Heading 1")
    tag(doc, '{%p elif b.kind == "h2" %}')
    para(doc, "{{ b.text }}", style="Heading 2")
    tag(doc, '{%p elif b.kind == "figure" %}')
    para(doc, "{{ b.image }}", style="Report Caption").paragraph_format.keep_with_next = True
    para(doc, "{{ b.caption }}", style="Report Caption")
    tag(doc, "{%p else %}")
    para(doc, "{{ b.text }}", indent=True)
    tag(doc, "{%p endif %}")
    tag(doc, "{%p endfor %}")
    # 附件说明: a blank line under the text, then 附件：1．… with the later items under the first
    para(doc, "")
    para(doc, "{{ r.annex_lines[0] }}", style="Report Annex Note")
    tag(doc, "{%p for line in r.annex_lines[1:] %}")
    para(doc, "{{ line }}", style="Report Annex Note More")
    tag(doc, "{%p endfor %}")
    # 落款: a blank line under the 附件说明, the office, the date under it
    para(doc, "")
    para(doc, "{{ r.office }}", style="Report Signature")
    para(doc, "{{ r.date }}", style="Report Signature")

    # The tables are wide: they go in a landscape section of their own after the 落款.
    annex = doc.add_section(WD_SECTION.NEW_PAGE)
    annex.orientation = WD_ORIENT.LANDSCAPE
    annex.page_width, annex.page_height = Mm(297), Mm(210)
    # The sheet's foot is the landscape page's left edge: its margin is the portrait pages'
    # bottom one, and the turned page number stands in it as theirs does.
    annex.top_margin, annex.bottom_margin = Mm(20), Mm(20)
    annex.left_margin, annex.right_margin = Mm(PORTRAIT["bottom"]), Mm(20)
    annex.footer_distance = Mm(10)
    doc_grid(annex, line_pitch=None)
    landscape_footers(annex)
    tag(doc, "{%p for a in r.annexes %}")
    para(doc, "附件{{ loop.index }}", style="Annex Label")
    para(doc, "{{ a.title }}", style="Annex Title")
    tag(doc, "{%p if a.tables %}")
    table_block(doc, "a.tables")
    tag(doc, "{%p else %}")
    para(doc, "{{ a.note }}", indent=True)
    tag(doc, "{%p endif %}")
    tag(doc, "{%p endfor %}")
    no_autospace(doc)
    clean_properties(doc)  # the report's own are set when it is rendered
    doc.save(path)


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "templates" / "report.docx")
