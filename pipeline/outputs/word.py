"""The Word report: the report model rendered through templates/report.docx (docxtpl), then what
the template cannot say by itself: where each figure sits, column widths and header lines,
numbers to the right, the 落款 and what is kept with it, the properties."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from datetime import UTC
from functools import lru_cache

from ..spec import wording
from .report import TITLE_CHARS_PER_LINE, Report
from .tables import SOFT_BREAK
from .templates import TEMPLATES_DIR, environment


def prepare_docx() -> None:
    """Import what render_docx needs ahead of being asked for it (docxtpl, a tenth of a second),
    while the run's own process still reads and totals."""
    import docx.enum.text  # noqa: F401
    import docx.oxml.ns  # noqa: F401
    import docxtpl  # noqa: F401

    from . import charts, xlsx_writer, zips  # noqa: F401  (xlsx_writer: the charts' own workbooks)


def for_word(report: Report) -> Report:
    """The report without what only the web page shows (the county tables past the Word limit,
    the roster, the pictures and linked paragraphs of the HTML): what render_docx is given, in
    the Word helper process. At 3,000 units the whole report took 27 ms to send there, on the
    way of everything else, and this part of it 2. Word takes its tables from `annexes` alone."""
    return replace(
        report,
        annex=(), narrative_html=(), charts_svg=(), breakdown=None,
        notes={k: v for k, v in report.notes.items() if k not in ("roster", "roster_rows")},
        annexes=tuple({k: v for k, v in a.items() if k != "all"} for a in report.annexes),
        comparison={k: v for k, v in report.comparison.items() if k != "svg"} if report.comparison else None,
    )


# Text in a Word run holding a tab, bell, line or form feed, which docxtpl turns into Word's own.
_LISTING_TEXT = re.compile(r"<w:t(?: [^>]*)?>[^<]*[\t\a\n\f]")


def listing_paragraphs_resolved(xml: str, resolve) -> str:
    """`resolve` applied to each paragraph (`<w:p>` or `<w:p …>` to its `</w:p>`, as docxtpl's
    resolve_listing finds them) that holds such a character, the rest of the part as it is. The
    paragraphs are found from those characters: going through all 4,000 of the Word report's
    to find the few took a tenth of its rendering. A part with paragraphs inside others (a text
    box's) is gone through whole, as docxtpl does: its paragraph there runs from the outer
    opening to the inner closing."""
    if "txbxContent" in xml:
        return resolve(xml)
    out, done = [], 0
    for m in _LISTING_TEXT.finditer(xml):
        at = m.start()
        if at < done:
            continue  # in the paragraph just resolved
        start = max(xml.rfind("<w:p>", done, at), xml.rfind("<w:p ", done, at))
        end = xml.find("</w:p>", at)
        if start < 0 or end < 0:
            continue  # text outside a paragraph: docxtpl's pass leaves it too
        end += len("</w:p>")
        out += [xml[done:start], resolve(xml[start:end])]
        done = end
    return "".join(out) + xml[done:] if out else xml


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
            return listing_paragraphs_resolved(xml, super().resolve_listing)

        def fix_tables(self, xml: str):
            # docxtpl rescales each table's grid to the cells {%tc for%} made; finish_docx sets
            # every grid and cell width from what the cells hold, so only the parse is needed.
            from lxml import etree

            return etree.fromstring(xml, parser=etree.XMLParser(recover=True))

    doc = Template(str(TEMPLATES_DIR / "report.docx"))
    figures = [(WordChart(doc, c, i), c, anchor) for i, (c, anchor) in
               enumerate(zip(report.charts, report.chart_anchors or (-1,) * len(report.charts)), start=1)]
    # docxtpl renders with its own environment; autoescape keeps <, & from counties valid XML.
    # The title in 2号 type: 20 characters to the line of the text block (156 mm).
    printed = replace(report, title=wording.title_lines(report.title, TITLE_CHARS_PER_LINE))
    body = body_blocks(printed, figures, doc)
    doc.render({"r": printed, "body": body}, jinja_env=environment(autoescape=True), autoescape=True)
    finish_docx(doc.docx, report)
    from .zips import docx_with_fixed_times

    # Saved from the rendered document itself: docxtpl's save() adds only the pictures and
    # media it was asked to replace (replace_pic, replace_media), which this report never asks.
    return docx_with_fixed_times(doc.docx, modified=report.made is None)


# --- where the figures sit --------------------------------------------------------------------

LINES_PER_PAGE = 22  # the body's grid: 22 lines of 28 characters
CHARS_PER_LINE = 28
PITCH_MM = 28.95 * 25.4 / 72  # one line of the grid
DIGIT_IN_BODY = 0.6  # a digit's width in body characters, as wide as the substitute fonts set it


def lines_of(text: str, indent: int = 2) -> int:
    """How many lines of the body a paragraph takes: 28 characters a line, its first indented."""
    return max(1, math.ceil((text_width(text, DIGIT_IN_BODY) + indent) / CHARS_PER_LINE))


def figure_lines(chart) -> int:
    """A figure's lines on the grid: its chart (a paragraph snapped to whole lines) and caption."""
    from .charts import size_mm

    return math.ceil(size_mm(chart)[1] / PITCH_MM - 0.01) + 1


def body_blocks(report: Report, figures: list, doc) -> list[dict]:
    """The body from 一、总体情况 to the last 数据说明 line as blocks for the template: h1, h2,
    paragraphs, and each figure where it fits. A figure follows the paragraph that first
    mentions it, or the first place after where the page still holds it whole (never
    between a heading and its text), so that a figure too tall for what is left of a page
    does not push to the next one and leave half of this one empty: the text goes on around
    it, as a typesetter floats a figure. It floats within its part only: before the next
    part's heading (二、) it takes the next page. Lines are counted as the grid sets them."""
    from .charts import WordChart

    text: list[dict] = [{"kind": "h1", "text": report.headings["overview"], "figures": []}]
    anchors: dict[int, list] = {}
    for number, (word, chart, anchor) in enumerate(figures, start=1):
        anchors.setdefault(anchor if 0 <= anchor < len(report.narrative) else -1, []).append((word, chart, number))
    for i, para in enumerate(report.narrative):
        text.append({"kind": "p", "text": para, "figures": anchors.pop(i, [])})
    text[-1]["figures"] += anchors.pop(-1, [])  # a figure no paragraph mentions: after the narrative
    if report.attention:
        text.append({"kind": "h1", "text": report.headings["attention"]})
        for sec in report.attention:
            text.append({"kind": "h2", "text": sec["heading"]})
            text += [{"kind": "p", "text": line} for line in sec["lines"]]
    c = report.comparison
    if c:
        text.append({"kind": "h1", "text": report.headings["compare"]})
        chart = c.get("chart")
        compared = [(WordChart(doc, chart, c["number"]), chart, c["number"])] if chart is not None else []
        text.append({"kind": "p", "text": c["summary"], "figures": compared})
        if c.get("falls"):
            text.append({"kind": "p", "text": c["falls"]})
    text.append({"kind": "h1", "text": report.headings["notes"]})
    text += [{"kind": "p", "text": line} for line in report.notes["lines"]]

    used = _opening_lines(report)
    out: list[dict] = []
    waiting: list = []
    after_heading = False

    def room() -> int:
        return LINES_PER_PAGE - used % LINES_PER_PAGE

    def place_waiting(before_part: bool = False) -> None:
        """`before_part`: the next block opens another part (二、): a figure never floats
        into it, away from the text that mentions it, but takes the next page first."""
        nonlocal used
        while waiting and not after_heading:
            word, chart, number = waiting[0]
            need = figure_lines(chart)
            # one line to spare: the count of a paragraph's lines may be one short
            if need + 1 > room() and room() < LINES_PER_PAGE:
                if not before_part:
                    return
                used += room()
            if need > room():  # at the top of a page and still too tall: it takes the page
                used += room()
            waiting.pop(0)
            out.append({"kind": "figure", "image": word, "caption": f"图{number}\u3000{chart.caption}"})
            used += need

    for block in text:
        place_waiting(before_part=block["kind"] == "h1")
        if block["kind"] in ("h1", "h2"):
            if room() == 1:  # a heading is kept with its text: it goes to the next page
                used += 1
            used += 1
            after_heading = True
        else:
            used += lines_of(block["text"])
            after_heading = False
        out.append({k: v for k, v in block.items() if k != "figures"})
        waiting += block.get("figures", [])
    place_waiting()
    return out


def _opening_lines(report: Report) -> int:
    """The lines above 一、 : the example's line, the title (two grid lines a line of 2号), the
    subtitle, a blank line, the status line."""
    lines = (lines_of("示例数据：收件箱（inbox/）中没有报表，本报告由内置示例数据生成，仅供演示。", 0) if report.example else 0)
    lines += 2 * len(report.title.split("\n")) + (1 if report.subtitle else 0) + 1
    return lines + lines_of(report.status_line)


BODY_CHAR = 315  # twips: a 3号 character as the body sets it (16 pt less 0.25 pt)
TABLE_CHAR = 180  # twips: a 小五 (9 pt) character in the tables
CELL_MARGIN = 57  # twips, each side of a cell's text (0.1 cm)
CELL_PADDING = 2 * CELL_MARGIN + 40  # and a little air
DIGIT = 0.6  # a digit's width in table characters: the substitute fonts' digits run wider than half
_NUMBER = re.compile(r"[\d.,%—+\-]*")  # + : a change, +12


_WIDE_QUOTES = frozenset("“”‘’")  # full width in a Chinese face


def text_width(text: str, half: float = 0.5) -> float:
    """In characters: a CJK character or full-width mark (quotes included) is one, a digit or
    Latin letter `half`."""
    if text.isascii():  # a figure or rate: no wide ones
        return len(text) * half
    wide = sum(1 for ch in text if ord(ch) > 0x2E7F or ch in _WIDE_QUOTES)
    return wide + (len(text) - wide) * half


W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def finish_docx(document, report: Report) -> None:
    """Column widths from what the columns hold, each cell as wide as its column, header lines
    broken between words; numbers to the right; the 落款 placed by GB/T 9704 7.3.5.2 and kept
    on one page with the text above it; the document's properties."""
    from docx.oxml.ns import qn

    sections = document.sections
    annex = sections[-1]
    width = int((annex.page_width - annex.left_margin - annex.right_margin) / 635)  # EMU → twips
    for tbl in document.element.body.iter(qn("w:tbl")):
        fit_table(tbl, width)
    # the body's own paragraphs only (not the tables'), looked up without python-docx's helpers
    body = list(document.element.body.iterchildren(qn("w:p")))
    style = f'{qn("w:pPr")}/{qn("w:pStyle")}[@{qn("w:val")}="ReportSignature"]'
    signature = [p for p in body if p.find(style) is not None]
    if len(signature) == 2:
        place_signature(*signature)
        keep_with_signature(body, signature[0])
    properties(document, report)


def place_signature(office_p, date_p) -> None:
    """The 落款 (GB/T 9704 7.3.5.2): the office 右空二字, the date under it, its first character
    two to the right of the office's first; a date longer than that 右空二字 instead, the
    office moved left to keep the two characters. Each line indented from the left, so that
    the date's start is exact whatever width its digits are set in."""
    office, date = (text_width("".join(t.text or "" for t in p.iter(W + "t"))) for p in (office_p, date_p))
    office_left = min(CHARS_PER_LINE - 2 - office, CHARS_PER_LINE - 2 - date - 2)
    for p, chars in ((office_p, office_left), (date_p, office_left + 2)):
        p.get_or_add_pPr().get_or_add_ind().left = int(max(0.0, chars) * BODY_CHAR * 635)


def keep_with_signature(body: list, office_p) -> None:
    """The 落款 never stands alone on a page (GB/T 9704 7.3.5: no 此页无正文): the last
    paragraph of text, the 附件说明 and the blank lines between are kept with the office's
    line, so that a page break before them takes the last lines of text along."""
    from docx.oxml.ns import qn

    at = body.index(office_p)
    chain = []
    for p in reversed(body[:at]):
        chain.append(p)
        text = "".join(t.text or "" for t in p.iter(W + "t"))
        style = p.find(f"{qn('w:pPr')}/{qn('w:pStyle')}")
        if text and (style is None or not style.get(qn("w:val"), "").startswith("ReportAnnexNote")):
            break  # the last paragraph of the text itself: kept, and the chain ends there
    for p in chain:
        p.get_or_add_pPr().keepNext_val = True


@lru_cache(maxsize=1)
def _row_paths():
    """XPath over one table row: each cell's width element; each cell's paragraph style; whether
    every cell holds exactly one paragraph, styled (the template's cells do). A cell has at
    most one tcPr and that at most one tcW, so as many widths as cells is one for each."""
    from lxml import etree

    ns = {"w": W[1:-1]}
    return (etree.XPath("w:tc/w:tcPr/w:tcW", namespaces=ns), etree.XPath("w:tc/w:p/w:pPr/w:pStyle", namespaces=ns),
            etree.XPath("not(w:tc[count(w:p) != 1 or not(w:p/w:pPr/w:pStyle)])", namespaces=ns))


def _fit_cell(tc, width: str, number: bool) -> None:
    """One cell's width, and its paragraphs right-aligned when it holds a number: for a cell not
    as the template makes them."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    tcPr = tc.find(W + "tcPr")
    if tcPr is None:
        tcPr = tc.get_or_add_tcPr()
    tcW = tcPr.find(W + "tcW")
    if tcW is None:
        tcW = tcPr.get_or_add_tcW()
    tcW.set(W + "w", width)
    tcW.set(W + "type", "dxa")
    if not number:
        return
    for p in tc.iterchildren(W + "p"):
        ppr = p.find(W + "pPr")
        style = ppr.find(W + "pStyle") if ppr is not None else None
        if style is not None:
            style.set(W + "val", "ReportTableNumber")
        else:
            p.get_or_add_pPr().jc_val = WD_ALIGN_PARAGRAPH.RIGHT


def set_header_lines(tc, lines: list[str]) -> None:
    """The header cell's text as `lines`, a line break between each: its first run's look kept."""
    from copy import deepcopy

    p = tc.find(W + "p")
    runs = list(p.iterfind(W + "r"))
    if not runs:
        return
    rpr = runs[0].find(W + "rPr")
    for r in runs:
        p.remove(r)
    for i, line in enumerate(lines):
        r = p.makeelement(W + "r", {})
        if rpr is not None:
            r.append(deepcopy(rpr))
        if i:
            r.append(r.makeelement(W + "br", {}))
        t = r.makeelement(W + "t", {"{http://www.w3.org/XML/1998/namespace}space": "preserve"})
        t.text = line
        r.append(t)
        p.append(r)


PROGRAM = "县级报表汇总"


def properties(document, report: Report) -> None:
    """What the file says it is: the report's title, the issuing office as its author, the time
    of the run that made it, this program; not the template's leftovers."""
    props = document.core_properties
    props.title = report.title + (report.subtitle or "")
    props.author = props.last_modified_by = report.office
    props.subject = report.status_line[:255]
    props.category = "汇总报告"
    props.comments = f"由{PROGRAM}程序根据各{report.notes.get('unit_noun', '')}报送的报表生成。"
    props.revision = 1
    if report.made is not None:
        made = report.made if report.made.tzinfo else report.made.astimezone()
        props.created = props.modified = made.astimezone(UTC).replace(tzinfo=None)
    app = next(p for p in document.part.package.iter_parts() if p.partname == "/docProps/app.xml")
    from .xlsx_writer import escape

    app._blob = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                 '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" '
                 'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
                 f'<Application>{PROGRAM}</Application><DocSecurity>0</DocSecurity>'
                 f'<Company>{escape(report.office)}</Company></Properties>').encode()


def header_text(tc) -> str:
    """A header cell's text, \n where it holds a line break."""
    return "".join(("\n" if el.tag == W + "br" else el.text or "") for el in tc.iter(W + "t", W + "br"))


def header_lines(text: str, chars: float) -> list[str]:
    """The header's lines in a column `chars` wide: its pieces (SOFT_BREAK between them) filled
    in line by line, each forced line (\n) apart; a piece is never cut."""
    lines: list[str] = []
    for forced in text.split("\n"):
        line = ""
        for piece in forced.split(SOFT_BREAK):
            if line and text_width(line + piece) > chars + 1e-9:
                lines.append(line)
                line = piece
            else:
                line += piece
        lines.append(line)
    return lines


def balanced(need: list[int], heads: list[str], spare: int) -> list[int]:
    """`need` (twips) widened by `spare`: first where a header has the most lines, each time by
    as little as takes one line off it, so that the header row is as short as the width
    allows; what is left then to the columns with headers ("" for none), by their length."""
    need = list(need)

    def lines(c: int, width: int) -> int:
        return len(header_lines(heads[c], (width - CELL_PADDING) / TABLE_CHAR))

    def widths_taking_a_line_off(c: int) -> int | None:
        now = lines(c, need[c])
        pieces = [p for line in heads[c].split("\n") for p in line.split(SOFT_BREAK)]
        runs = sorted({math.ceil(text_width("".join(pieces[a:b])) * TABLE_CHAR) + CELL_PADDING
                       for a in range(len(pieces)) for b in range(a + 1, len(pieces) + 1)})
        return next((w_ for w_ in runs if w_ > need[c] and lines(c, w_) < now), None)

    while spare > 0:
        tallest = max((lines(c, need[c]), text_width(heads[c])) for c in range(len(need)) if heads[c])
        if tallest[0] <= 1:
            break
        wanted = [(w_ - need[c], c) for c in range(len(need)) if heads[c] and lines(c, need[c]) == tallest[0]
                  for w_ in [widths_taking_a_line_off(c)] if w_ is not None]
        if not wanted or sum(extra for extra, _ in wanted) > spare:
            break  # the tallest headers cannot all lose a line: widening some of them would not shorten the row
        for extra, c in wanted:
            need[c] += extra
            spare -= extra
    weights = [text_width(h.replace(SOFT_BREAK, "")) for h in heads]
    total = sum(weights) or 1
    return [w_ + int(spare * wt // total) for w_, wt in zip(need, weights)]


def fit_table(tbl, width: int) -> None:
    """Widths in twips: a text column as wide as its longest text (a county's name never
    wraps, the unit column no wider than its longest name), a number column as its widest
    figure or its header's longest word, whichever is more; what is left shared by the number
    columns, by how long their headers are; the headers then broken into lines between their
    words (explicitly: left to itself a word processor cuts 两不/愁). tblGrid, and every cell's
    tcW with it (Word follows tcW, LibreOffice tblGrid)."""
    from docx.oxml import OxmlElement

    w = W
    W_T, W_TC = w + "t", w + "tc"
    # Plain lxml, a few thousand cells: python-docx's element helpers would take half a second.
    trs = tbl.findall(w + "tr")
    rows = [[("".join(tc.itertext(W_T, with_tail=False)), tc) for tc in tr.iterchildren(W_TC)] for tr in trs]
    if not rows or not rows[0]:
        return
    n = len(rows[0])
    body = rows[1:]
    heads = [header_text(tc) for _, tc in rows[0]]
    numeric = [all(_NUMBER.fullmatch(r[c][0]) for r in body if c < len(r)) for c in range(n)]
    need = []
    for c in range(n):
        longest = max([text_width(r[c][0], DIGIT) for r in body if c < len(r)] or [0])
        word = max(text_width(piece) for line in heads[c].split("\n") for piece in line.split(SOFT_BREAK))
        chars = max(longest, word) if numeric[c] else max(longest, min(text_width(heads[c]), 4))
        need.append(math.ceil(chars * TABLE_CHAR) + CELL_PADDING)
    spare = width - sum(need)
    if spare > 0:
        need = balanced(need, [heads[c] if numeric[c] else "" for c in range(n)], spare)
    else:
        need = [w_ * width // sum(need) for w_ in need]
    need[-1] += width - sum(need)
    for c, (_, tc) in enumerate(rows[0]):
        set_header_lines(tc, header_lines(heads[c], (need[c] - CELL_PADDING) / TABLE_CHAR))

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
    right = [c for c in range(n) if numeric[c]]
    row_widths, row_styles, one_styled_paragraph_each = _row_paths()
    W_W, W_TYPE, W_VAL = w + "w", w + "type", w + "val"
    for r, (tr, row) in enumerate(zip(trs, rows)):
        # The template gives every cell its width and its paragraph a style: found for the whole
        # row in one XPath pass each (a cell at a time, 3,800 cells took a tenth of a second).
        tcWs = row_widths(tr)
        styled = r > 0 and bool(right)
        if len(tcWs) != len(row) or (styled and not one_styled_paragraph_each(tr)):
            for c, (_text, tc) in enumerate(row[:n]):
                _fit_cell(tc, widths[c], r > 0 and numeric[c])
            continue
        styles = row_styles(tr) if styled else ()
        for c, tcW in enumerate(tcWs[:n]):
            tcW.set(W_W, widths[c])
            tcW.set(W_TYPE, "dxa")
        for c in right:  # numbers to the right: the cell's paragraph takes the right-aligned style
            if c < len(styles):
                styles[c].set(W_VAL, "ReportTableNumber")
