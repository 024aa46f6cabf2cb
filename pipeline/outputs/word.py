"""The Word report: the report model rendered through templates/report.docx (docxtpl), then what
the template cannot say by itself: column widths, numbers to the right, the 落款, the properties."""

from __future__ import annotations

import io
import re
from dataclasses import replace

from ..spec import wording
from .report import TITLE_CHARS_PER_LINE, Report
from .templates import TEMPLATES_DIR, environment


def prepare_docx() -> None:
    """Import what render_docx needs ahead of being asked for it: docxtpl, a tenth of a second."""
    import docxtpl  # noqa: F401


def for_word(report: Report) -> Report:
    """The report without what only the web page shows (the county tables past the Word limit,
    the roster, the pictures and linked paragraphs of the HTML): what render_docx is given, in
    the Word helper process. At 3,000 units the whole report took 27 ms to send there, on the
    way of everything else, and this part of it 2. Word takes its tables from `annexes` alone."""
    return replace(
        report,
        annex=(), narrative_html=(), charts_svg=(),
        notes={k: v for k, v in report.notes.items() if k not in ("roster", "roster_rows")},
        annexes=tuple({k: v for k, v in a.items() if k != "all"} for a in report.annexes),
        comparison={k: v for k, v in report.comparison.items() if k != "svg"} if report.comparison else None,
    )


# Text in a Word run holding a tab, bell, line or form feed, which docxtpl turns into Word's own.
_LISTING_TEXT = re.compile(r"<w:t(?: [^>]*)?>[^<]*[\t\a\n\f]")
_PARAGRAPH = re.compile(r"<w:p(?: [^>]*)?>.*?</w:p>", flags=re.DOTALL)  # as docxtpl's resolve_listing finds them


def render_docx(report: Report) -> bytes:
    """The Word report, its charts native Word charts (charts.WordChart)."""
    from docxtpl import DocxTemplate

    from .charts import WordChart

    class Template(DocxTemplate):
        def resolve_listing(self, xml: str) -> str:
            # docxtpl rewrites every paragraph, run and text of the rendered part through
            # regular expressions to turn those characters into tabs and breaks: a third of
            # the Word report's time, to change the one paragraph that holds one (the title,
            # broken in two lines). Its pass works paragraph by paragraph, so it is given
            # those paragraphs alone.
            if not _LISTING_TEXT.search(xml):
                return xml
            own = super().resolve_listing
            return _PARAGRAPH.sub(lambda m: own(m.group(0)) if _LISTING_TEXT.search(m.group(0)) else m.group(0), xml)

        def fix_tables(self, xml: str):
            # docxtpl rescales each table's grid to the cells {%tc for%} made; finish_docx sets
            # every grid and cell width from what the cells hold, so only the parse is needed.
            from lxml import etree

            return etree.fromstring(xml, parser=etree.XMLParser(recover=True))

    doc = Template(str(TEMPLATES_DIR / "report.docx"))
    charts = [{"image": WordChart(doc, c, i), "title": c.title} for i, c in enumerate(report.charts, start=1)]
    # The 与上期对比 chart, when there is one, is numbered on after the overview's charts.
    chart = report.comparison["chart"] if report.comparison else None
    compared = ({"image": WordChart(doc, chart, len(charts) + 1), "title": chart.title, "number": len(charts) + 1}
                if chart is not None else None)
    # docxtpl renders with its own environment; autoescape keeps <, & from counties valid XML.
    # The title in 2号 type: 20 characters to the line of the text block (156 mm).
    printed = replace(report, title=wording.title_lines(report.title, TITLE_CHARS_PER_LINE))
    doc.render({"r": printed, "charts": charts, "compared": compared}, jinja_env=environment(autoescape=True), autoescape=True)
    finish_docx(doc.docx, report)
    buf = io.BytesIO()
    doc.save(buf)
    from .formbook import fixed_zip_times

    return fixed_zip_times(buf.getvalue())


BODY_CHAR = 315  # twips: a 3号 character as the body sets it (16 pt less 0.25 pt)
TABLE_CHAR = 180  # twips: a 小五 (9 pt) character in the tables
CELL_MARGIN = 57  # twips, each side of a cell's text (0.1 cm)
CELL_PADDING = 2 * CELL_MARGIN + 40  # and a little air
DIGIT = 0.6  # a digit's width in table characters: the substitute fonts' digits run wider than half
_NUMBER = re.compile(r"[\d.,%—+\-]*")  # + : a change, +12


def text_width(text: str, half: float = 0.5) -> float:
    """In characters: a CJK character or full-width mark is one, a digit or Latin letter `half`."""
    wide = 0 if text.isascii() else sum(1 for ch in text if ord(ch) > 0x2E7F)  # a figure or rate: no wide ones
    return wide + (len(text) - wide) * half


def finish_docx(document, report: Report) -> None:
    """Column widths from what the columns hold, each cell as wide as its column; numbers to
    the right; the 落款 placed by GB/T 9704 7.3.5.2; the document's title and author."""
    from docx.oxml.ns import qn

    sections = document.sections
    annex = sections[-1]
    width = int((annex.page_width - annex.left_margin - annex.right_margin) / 635)  # EMU → twips
    for tbl in document.element.body.iter(qn("w:tbl")):
        fit_table(tbl, width)
    # the body's own paragraphs only (not the tables'), looked up without python-docx's helpers
    style = f'{qn("w:pPr")}/{qn("w:pStyle")}[@{qn("w:val")}="ReportSignature"]'
    signature = [p for p in document.element.body.iterchildren(qn("w:p")) if p.find(style) is not None]
    if len(signature) == 2:
        office, date = (text_width("".join(t.text or "" for t in p.iter(qn("w:t")))) for p in signature)
        # The office 右空二字; the date under it, starting two characters right of the office's
        # first character; a date longer than that keeps 右空二字 and moves the office left.
        office_in = max(2.0, date - office + 4)
        date_in = office_in + office - 2 - date
        for p, chars in zip(signature, (office_in, date_in)):
            p.get_or_add_pPr().get_or_add_ind().right = int(chars * BODY_CHAR * 635)
    props = document.core_properties
    props.title = report.title
    props.author = props.last_modified_by = report.office
    props.subject = report.status_line[:255]


def fit_table(tbl, width: int) -> None:
    """Widths in twips: a text column as wide as its longest text (a county's name never
    wraps), a number column as its widest figure; what is left shared by the number columns,
    by how long their headers are. tblGrid, and every cell's tcW with it (Word follows tcW, LibreOffice tblGrid)."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement

    w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    W_T, W_TC, W_TCPR, W_TCW, W_P, W_PPR, W_PSTYLE = (w + t for t in ("t", "tc", "tcPr", "tcW", "p", "pPr", "pStyle"))
    # Plain lxml, a few thousand cells: python-docx's element helpers would take half a second.
    rows = [[("".join(t.text or "" for t in tc.iter(W_T)), tc) for tc in tr.iterchildren(W_TC)] for tr in tbl.tr_lst]
    if not rows or not rows[0]:
        return
    n = len(rows[0])
    body = rows[1:]
    numeric = [all(_NUMBER.fullmatch(r[c][0]) for r in body if c < len(r)) for c in range(n)]
    need = []
    for c in range(n):
        longest = max([text_width(r[c][0], DIGIT) for r in body if c < len(r)] or [0])
        head = text_width(rows[0][c][0])
        chars = max(longest, min(head, 2)) if numeric[c] else max(longest, min(head, 4))
        need.append(int(chars * TABLE_CHAR) + CELL_PADDING)
    spare = width - sum(need)
    if spare > 0:
        # to the number columns, by how long their headers are: fewer header lines
        weights = [text_width(rows[0][c][0]) if numeric[c] else 0 for c in range(n)]
        total = sum(weights) or 1
        need = [w + int(spare * wt // total) for w, wt in zip(need, weights)]
    else:
        need = [w * width // sum(need) for w in need]
    need[-1] += width - sum(need)

    tblPr = tbl.tblPr
    tblW = tblPr.find(w + "tblW")
    if tblW is None:
        tblW = OxmlElement("w:tblW")
        tblPr.append(tblW)
    tblW.set(w + "w", str(width))
    tblW.set(w + "type", "dxa")
    tblPr.autofit = False  # fixed layout: the widths below, whatever the text
    margins = tblPr.find(w + "tblCellMar")
    if margins is None:
        margins = OxmlElement("w:tblCellMar")
        tblPr.append(margins)
    for side in ("left", "right"):
        el = margins.find(w + side)
        if el is None:
            el = OxmlElement(f"w:{side}")
            margins.append(el)
        el.set(w + "w", str(CELL_MARGIN))
        el.set(w + "type", "dxa")
    grid = tbl.tblGrid
    for col in list(grid):
        grid.remove(col)
    for width_ in need:
        col = OxmlElement("w:gridCol")
        col.set(w + "w", str(width_))
        grid.append(col)
    widths = [str(x) for x in need]
    for r, row in enumerate(rows):
        for c, (_text, tc) in enumerate(row[:n]):
            tcPr = tc.find(W_TCPR)
            if tcPr is None:
                tcPr = tc.get_or_add_tcPr()
            tcW = tcPr.find(W_TCW)
            if tcW is None:
                tcW = tcPr.get_or_add_tcW()
            tcW.set(w + "w", widths[c])
            tcW.set(w + "type", "dxa")
            if r == 0 or not numeric[c]:
                continue
            # numbers to the right: the cell's paragraph takes the right-aligned table style
            for p in tc.iterchildren(W_P):
                ppr = p.find(W_PPR)
                style = ppr.find(W_PSTYLE) if ppr is not None else None
                if style is not None:
                    style.set(w + "val", "ReportTableNumber")
                else:
                    p.get_or_add_pPr().jc_val = WD_ALIGN_PARAGRAPH.RIGHT
