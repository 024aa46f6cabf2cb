"""HTML pages, MHTML files and Excel 2003 XML (SpreadsheetML) as grids of values.

An HTML page's sheets are its tables (those holding no other table: a layout table around the
data is not one), named as Excel's export names its worksheets (x:Name), else by the table's
caption, else by the page's title when it has one table, else 表格1, 表格2…. rowspan and colspan
are merged cells; a column shown `display:none` is hidden. An MHTML file is a page per sheet,
named as its workbook part lists them. SpreadsheetML keeps each cell's type, its formula and its
cached value, merges (MergeAcross, MergeDown) and hidden columns and rows: read as an xlsx is.
"""

from __future__ import annotations

import email
import email.policy
import re
from datetime import datetime

from .charsets import declared_charset, decode
from .grid import Book, Grid, Unreadable, cell_ref
from .scans import CJK_DATE, WINDOW_COLS, WINDOW_ROWS, inherited, raised, shown_as, shown_text

_SHEET_NAMES = re.compile(r"<x:ExcelWorksheet>(.*?)</x:ExcelWorksheet>", re.S | re.I)
_X_NAME = re.compile(r"<x:Name>([^<]*)</x:Name>", re.I)
_X_SOURCE = re.compile(r"""<x:WorksheetSource\s+HRef=["']?([^"'\s>]+)""", re.I)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none", re.I)
# What hides an element's box and keeps its place: a table's or a row's figures nobody sees.
_INVISIBLE = re.compile(r"visibility\s*:\s*(?:hidden|collapse)", re.I)
_STRUCK_STYLE = re.compile(r"text-decoration(?:-line)?\s*:[^;]*line-through", re.I)
_STRUCK_TAGS = frozenset({"s", "strike", "del"})
# Where a page breaks a line (<br>) while its text is gathered: a line break once the source's
# own line breaks, which are spaces, have been made spaces.
_BREAK = "\ue000"
# Elements a browser starts on a line of their own, inside a cell too.
_BLOCKS = frozenset({"div", "p", "li", "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "pre",
                     "blockquote", "address", "section", "article", "header", "footer", "table", "tr", "hr"})
_OVERFLOW = re.compile(r"mso-ignore\s*:\s*colspan", re.I)
_VERTICAL_ALIGN = re.compile(r"vertical-align\s*:\s*(super|sub)", re.I)
_CSS_RULE = re.compile(r"([^{}]*)\{([^{}]*)\}")
_CLASS_SELECTOR = re.compile(r"^[a-z0-9]*\.([\w-]+)$", re.I)
# Ancestors every cell of a table has: `td span.k` hides every span.k in a cell.
_EVERY_CELLS_ANCESTORS = frozenset({"html", "body", "div", "table", "thead", "tbody", "tfoot", "tr", "td", "th"})


class PageStyles:
    """What a page's style sheet does by class (`.k {display:none}`, `.fn {vertical-align:super}`):
    a browser hides or raises such an element as it would one styled inline."""

    def __init__(self, raised: dict[str, str] | None = None, hidden: frozenset[str] = frozenset(),
                 struck: frozenset[str] = frozenset()) -> None:
        self.raised = raised or {}
        self.hidden = hidden
        self.struck = struck

    @classmethod
    def of_page(cls, root) -> PageStyles:
        raised: dict[str, str] = {}
        hidden: set[str] = set()
        struck: set[str] = set()
        for style in root.iter("style"):
            for selectors, body in _CSS_RULE.findall(style.text_content() if hasattr(style, "text_content")
                                                     else style.text or ""):
                how = _VERTICAL_ALIGN.search(body)
                hides = _HIDDEN_STYLE.search(body)
                strikes = _STRUCK_STYLE.search(body)
                if not how and not hides and not strikes:
                    continue
                for selector in selectors.replace("<!--", " ").replace("-->", " ").split(","):
                    m = _class_of_every(selector)
                    if m and how:
                        raised[m.group(1)] = how.group(1).lower()
                    if m and hides:
                        hidden.add(m.group(1))
                    if m and strikes:
                        struck.add(m.group(1))
        return cls(raised, frozenset(hidden), frozenset(struck))

    def hides(self, element) -> bool:
        """A browser does not show the element: display:none inline or by its class, or HTML's
        own `hidden` attribute."""
        if _HIDDEN_STYLE.search(element.get("style") or "") or element.get("hidden") is not None:
            return True
        return bool(self.hidden) and any(c in self.hidden for c in (element.get("class") or "").split())

    def strikes(self, element) -> bool:
        """The element's text is struck through: <s>, <strike>, <del> (an HTML page's, or Excel
        2003 XML's rich text <S>), text-decoration inline or by its class, html:StrikeThrough."""
        tag = element.tag.rsplit("}", 1)[-1].lower() if isinstance(element.tag, str) else ""
        if tag in _STRUCK_TAGS or _STRUCK_STYLE.search(element.get("style") or ""):
            return True
        if any(name.rsplit("}", 1)[-1].lower() == "strikethrough" and value not in ("0", "false")
               for name, value in element.attrib.items()):
            return True
        return bool(self.struck) and any(c in self.struck for c in (element.get("class") or "").split())

    def raised_by_class(self, element) -> str:
        if not self.raised:
            return ""
        return next((self.raised[c] for c in (element.get("class") or "").split() if c in self.raised), "")


INLINE_ONLY = PageStyles()


def _class_of_every(selector: str) -> re.Match | None:
    """The class a selector styles in every cell it stands in: `.fn`, `span.fn`, `td span.fn`.
    A rule for a descendant of another class or for a state (`.note .fn`, `a.fn:hover`) does not
    say what every element of the class looks like: None."""
    *ancestors, subject = selector.replace(">", " ").split() or [""]
    if any(a.lower() not in _EVERY_CELLS_ANCESTORS for a in ancestors):
        return None
    return _CLASS_SELECTOR.match(subject)


# --- HTML ------------------------------------------------------------------------------------


def open_html(data: bytes, name: str = "") -> Book:
    text = decode(data, declared_charset(data))
    if _tables_left_open(text):
        raise Unreadable("unreadable", CUT_SHORT)
    return _book(html_grids(text, name), "html")


CUT_SHORT = "文件不完整（网页中的表格没有结束，可能下载、导出或复制时中断）"
_TABLE_OPENS = re.compile(r"<table\b", re.I)
_TABLE_CLOSES = re.compile(r"</table\s*>", re.I)


def _tables_left_open(text: str) -> bool:
    """A page cut off in a table (a download or a copy that stopped): more tables opened than
    closed. A browser, and the parser, draws what is there as if it were whole: its last
    township's figures cut short, the rows below it gone."""
    opens = len(_TABLE_OPENS.findall(text))
    return opens > 0 and opens > len(_TABLE_CLOSES.findall(text))


def html_grids(text: str, name: str = "", names: list[str] | None = None) -> list[Grid]:
    """The page's data tables as grids, named as the module says."""
    import lxml.html
    from lxml.etree import LxmlError

    try:
        # An XHTML page's <?xml … encoding="UTF-8"?>: lxml refuses a str that declares its
        # bytes' encoding, and the page was said to hold no table.
        root = lxml.html.document_fromstring(_XML_DECLARATION.sub("", text, count=1))
    except (ValueError, TypeError, LxmlError):  # an empty page, or one past parsing: no table in it
        return []
    tables = [t for t in root.iter("table") if not any(True for _ in t.iter("table") if _ is not t)]
    if not tables:
        return []
    declared = names or [unescape_html(n) for block in _SHEET_NAMES.findall(text) for n in _X_NAME.findall(block)]
    title = (root.findtext(".//title") or "").strip()
    styles = PageStyles.of_page(root)
    out = []
    for i, table in enumerate(tables):
        caption = (table.findtext("caption") or "").strip()
        if len(declared) == len(tables):
            sheet = declared[i]
        elif caption:
            sheet = caption
        elif len(tables) == 1 and (title or name):
            sheet = title or name
        else:
            sheet = f"表格{i + 1}"
        grid = _table_grid(table, _unique(sheet, [g.name for g in out]), styles)
        # A table the page hides (in a display:none <div>, an old copy kept under the shown
        # one) is no shown table: it never beats one the clerk sees.
        grid.visible = not any(styles.hides(e) or _INVISIBLE.search(e.get("style") or "")
                               for e in table.iterancestors() if isinstance(e.tag, str)) and not (
            styles.hides(table) or _INVISIBLE.search(table.get("style") or ""))
        out.append(grid)
    return out


def _table_grid(table, name: str, styles: PageStyles = INLINE_ONLY) -> Grid:
    """One table's rows and cells, rowspan and colspan as merged cells."""
    rows: list[list[object]] = []
    merged: list[tuple[int, int, int, int]] = []
    below: dict[int, int] = {}  # column → how many more rows a cell spanning down from above covers
    hidden_cols: set[int] = set()
    shown_otherwise: dict[tuple[int, int], str] = {}
    hidden_text: dict[tuple[int, int], str] = {}
    struck_cells: set[tuple[int, int]] = set()
    struck_text: dict[tuple[int, int], str] = {}
    hidden_rows: set[int] = set()
    far = ""
    c = 0
    for col in table.iter("col"):
        span = min(_int(col.get("span"), 1), WINDOW_COLS)
        if styles.hides(col) or col.get("width") == "0":
            hidden_cols.update(range(c, min(c + span, WINDOW_COLS)))
        c += span
    for r, tr in enumerate(_rows_as_drawn(table)):
        if r >= WINDOW_ROWS:
            far = far or f"第{r + 1}行"
            break
        if styles.hides(tr) or _INVISIBLE.search(tr.get("style") or "") or _in_hidden_group(tr, table, styles):
            hidden_rows.add(r)
        row_struck = styles.strikes(tr)
        row: list[object] = []
        spans: dict[int, int] = {}
        c = 0
        for td in tr:
            if td.tag not in ("td", "th"):
                continue
            while below.get(c, 0) > 0:  # a cell of a row above reaches down here
                c += 1
            across, down = min(_int(td.get("colspan"), 1), WINDOW_COLS), min(_int(td.get("rowspan"), 1), WINDOW_ROWS)
            if c >= WINDOW_COLS:
                break
            while len(row) < c:
                row.append("")
            hidden: list[str] = []
            struck: list[str] = []
            text = _text(td, hidden, styles, struck)
            value = _cell_value(td, text)
            row.append(value)
            if text and (row_struck or styles.strikes(td)):
                struck_cells.add((r, c))
            elif struck:
                _place_struck(r, c, text, struck, struck_cells, struck_text)
            if any(h.strip() for h in hidden):
                # Text the page hides in the cell (a sort key in a display:none span) or a form's
                # field: a browser shows one number and Excel, opening the page, may show another.
                hidden_text[(r, c)] = " ".join(h.strip() for h in hidden if h.strip())[:40]
            if value.__class__ is float:
                # Excel's export gives the number held (x:num; LibreOffice's, sdval) beside the text
                # its format shows: 3000 shown as 3 (#,###,), 0.3 as 30%. The reader takes the number;
                # when the page shows another, the clerk is told, as for a workbook's format.
                shown = shown_text(value, text)
                if shown is not None:
                    shown_otherwise[(r, c)] = shown
            if styles.hides(td):
                hidden_cols.add(c)
            # Excel's export of a text running over into the empty cells beside it (colspan with
            # mso-ignore:colspan): those cells are there, empty, and merged with nothing; read as
            # a merge, a township's name over a blank count was a figure merged over two fields.
            wide = 1 if across > 1 and _OVERFLOW.search(td.get("style") or "") else across
            if wide > 1 or down > 1:
                merged.append((r, c, r + down - 1, min(c + wide, WINDOW_COLS) - 1))
                spans.update(dict.fromkeys(range(c, min(c + wide, WINDOW_COLS)), down - 1))
            c += across
        below = {col: left - 1 for col, left in below.items() if left > 1} | {k: v for k, v in spans.items() if v}
        rows.append(row)
    width = max([len(r) for r in rows] + [c2 + 1 for _, _, _, c2 in merged] or [0])
    rows = [row + [""] * (width - len(row)) for row in rows]
    while len(rows) < max([r2 + 1 for _, _, r2, _ in merged] or [0]):
        rows.append([""] * width)
    grid = Grid(name, True, rows, merged, far_cell=far)
    grid.hidden_rows, grid.rows_hidden = bool(hidden_rows), frozenset(hidden_rows)
    grid.hidden_cols = frozenset(hidden_cols)
    grid.shown_otherwise = shown_otherwise
    grid.hidden_text = hidden_text
    grid.struck, grid.struck_text = frozenset(struck_cells), struck_text
    return grid


def _place_struck(r: int, c: int, text: str, struck: list[str], cells: set, parts: dict) -> None:
    """A cell some of whose text is struck through: struck whole (every character it shows), the
    cell is struck as a font would strike it; struck in part, the struck part is kept, to be said
    (its numbers ran together with the others: 218 118)."""
    struck_chars = "".join("".join(s.split()) for s in struck)
    if not struck_chars:
        return
    if len(struck_chars) >= len("".join(text.split())):
        cells.add((r, c))
    else:
        parts[(r, c)] = " ".join(" ".join(s.split()) for s in struck if s.strip())[:40]


def _rows_as_drawn(table):
    """The table's rows in the order a browser draws them: a <tfoot> written before its <tbody>
    (HTML 4's order) comes last. Read where it stands, the 合计 and 填表人 rows came first, the
    townships below them were figures below the footer, and the county was rejected."""
    rows = list(table.iter("tr"))
    feet = [tr for tr in rows if tr.getparent() is not None and tr.getparent().tag == "tfoot"]
    if not feet or feet[-1] is rows[-1]:
        return rows
    kept = set(map(id, feet))
    return [tr for tr in rows if id(tr) not in kept] + feet


def _cell_value(td, text: str) -> object:
    """A cell's number as Excel's export states it (x:num), or LibreOffice's (sdval), else its
    text as shown (`text`)."""
    number = td.get("x:num")
    if number in (None, ""):
        number = td.get("sdval")
    if number not in (None, ""):
        try:
            return float(number)
        except ValueError:
            pass
    return text


def _text(td, hidden: list[str] | None = None, styles: PageStyles = INLINE_ONLY, struck: list[str] | None = None) -> str:
    """A cell's text as a browser shows it: the source's runs of spaces and line breaks one
    space, a <br> a line break (1<br>45 is two numbers, not 145)."""
    text = _SPACES.sub(" ", _shown(td, hidden, styles, struck)).strip()
    if _BREAK in text:
        text = _AROUND_BREAK.sub("\n", text).strip("\n ")
    return text


_SPACES = re.compile(r"[ \t\r\n]+")
_AROUND_BREAK = re.compile("(?: ?" + _BREAK + " ?)+")


def _shown(element, hidden: list[str] | None = None, styles: PageStyles = INLINE_ONLY,
           struck: list[str] | None = None) -> str:
    """An element's text as it shows: a raised (superscript) or lowered run as such, 23¹ where
    the characters run together as 231, a figure it is not (scans.raised). What a page hides
    (display:none, inline or by its class, the hidden attribute) or holds in a form's field
    (<input value>) is left out, and put in `hidden`; what it strikes through is kept, and put
    in `struck` as well."""
    out = [element.text or ""]
    for child in element:
        if isinstance(child.tag, str):  # not a comment
            if hidden is not None and styles.hides(child):
                hidden.append("".join(child.itertext()))
            elif hidden is not None and child.tag.lower() in ("input", "textarea", "select"):
                hidden.append(child.get("value") or "".join(child.itertext()))
            elif child.tag.rsplit("}", 1)[-1].lower() == "br":
                out.append(_BREAK)
            else:
                inner = _shown(child, hidden, styles, None if struck is None or styles.strikes(child) else struck)
                if struck is not None and styles.strikes(child):
                    struck.append(inner.replace(_BREAK, " "))
                how = _raised_how(child) or styles.raised_by_class(child)
                inner = raised(inner, how) if how else inner
                if child.tag.rsplit("}", 1)[-1].lower() in _BLOCKS:
                    # <div>23</div><div>5</div> shows two lines, as 23<br>5 does: not 235.
                    inner = f"{_BREAK}{inner}{_BREAK}"
                out.append(inner)
        out.append(child.tail or "")
    return "".join(out)


def _raised_how(element) -> str:
    """"sup" or "sub" when the element raises or lowers its text: <sup>, <sub> (an HTML page's,
    and Excel 2003 XML's rich text), html:VerticalAlign (Excel 2003 XML's <Font>), CSS."""
    tag = element.tag.rsplit("}", 1)[-1].lower()
    if tag in ("sup", "sub"):
        return tag
    for name, value in element.attrib.items():
        if name.rsplit("}", 1)[-1].lower() == "verticalalign":
            return value
    m = _VERTICAL_ALIGN.search(element.get("style") or "")
    return m.group(1) if m else ""


def _int(v: str | None, default: int) -> int:
    """A span or a 1-based index as the file writes it; `default` when it writes none (or nonsense)."""
    try:
        return max(1, int(v)) if v else default
    except ValueError:
        return default


def _span(v: str | None) -> int:
    """How many more columns or rows an Excel 2003 XML ss:Span covers: 0 when none (or nonsense)."""
    try:
        return max(0, int(v)) if v else 0
    except ValueError:
        return 0


def _unique(name: str, taken: list[str]) -> str:
    name = name[:31] or "表格"
    n, out = 2, name
    while out in taken:
        out, n = f"{name}({n})", n + 1
    return out


def unescape_html(s: str) -> str:
    import html

    return html.unescape(s).strip()


def _in_hidden_group(tr, table, styles: PageStyles) -> bool:
    """The row's <tbody> (or <thead>, <tfoot>) is hidden: its rows are, every one."""
    parent = tr.getparent()
    return parent is not None and parent is not table and isinstance(parent.tag, str) and (
        styles.hides(parent) or bool(_INVISIBLE.search(parent.get("style") or "")))


def _book(grids: list[Grid], kind: str, visible: dict[str, bool] | None = None) -> Book:
    by_name = {g.name: g for g in grids}
    for g in grids:
        g.visible = (visible or {}).get(g.name, g.visible)
    return Book([(g.name, g.visible) for g in grids], by_name.__getitem__, kind=kind)


# --- MHTML -----------------------------------------------------------------------------------


def open_mhtml(data: bytes, name: str = "") -> Book:
    """A page per sheet, as Excel's "single file web page" saves a workbook: the sheets' names
    and which part holds each come from the workbook's own part (x:ExcelWorksheet)."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    pages: list[tuple[str, str]] = []  # (Content-Location, text)
    for part in message.walk():
        if part.get_content_type() != "text/html":
            continue
        # Decoded as a plain page is (gb2312 widened to GB18030): the mail library replaced
        # GBK's own characters (张堃) with �, without a word.
        raw = part.get_payload(decode=True) or b""
        text = decode(raw, part.get_content_charset() or declared_charset(raw))
        pages.append((part.get("Content-Location", "") or part.get("Content-ID", ""), text))
    listed: list[tuple[str, str, bool]] = []  # (sheet name, part it is in, visible)
    for _, text in pages:
        for block in _SHEET_NAMES.findall(text):
            sheet = _X_NAME.search(block)
            source = _X_SOURCE.search(block)
            if sheet:
                listed.append((unescape_html(sheet.group(1)), source.group(1) if source else "",
                               "SheetHidden" not in block and "SheetVeryHidden" not in block))
    grids: list[Grid] = []
    visible: dict[str, bool] = {}
    for location, text in pages:
        if location.lower().endswith("tabstrip.htm"):
            continue  # the row of sheet tabs under the frames: no sheet of its own
        sheet = next(((n, v) for n, href, v in listed if href and location.endswith(href.split("/")[-1])), None)
        for grid in html_grids(text, sheet[0] if sheet else name):
            grid.name = _unique(grid.name if not sheet else sheet[0], [g.name for g in grids])
            visible[grid.name] = sheet[1] if sheet else True
            grids.append(grid)
    return _book(grids, "html", visible)


# --- SpreadsheetML (Excel 2003 XML) ----------------------------------------------------------

SS = "{urn:schemas-microsoft-com:office:spreadsheet}"
X = "{urn:schemas-microsoft-com:office:excel}"


def open_spreadsheetml(data: bytes) -> Book:
    from lxml import etree

    # No entities resolved, nothing fetched: a file is data, never instructions.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as e:
        root = _declared_wrongly(data, parser)
        if root is None:
            raise Unreadable("unreadable", "XML文件已损坏") from e
    grids, visible = [], {}
    formats, struck = _formats_shown_otherwise(root), _styles_struck(root)
    for ws in root.iter(f"{SS}Worksheet"):
        grid = _worksheet_grid(ws, _unique(ws.get(f"{SS}Name") or f"Sheet{len(grids) + 1}", [g.name for g in grids]),
                               formats, struck)
        options = ws.find(f"{X}WorksheetOptions")
        shown = options is None or (options.findtext(f"{X}Visible") or "").strip() not in ("SheetHidden",
                                                                                            "SheetVeryHidden")
        visible[grid.name] = shown
        grids.append(grid)
    return _book(grids, "xml", visible)


def _declared_wrongly(data: bytes, parser):
    """An Excel 2003 XML file whose first line declares another encoding than its bytes are in
    (encoding="utf-16" over UTF-8, as .NET writers do): parsed as the text it is, when its bytes
    read as such (UTF-8, else GB18030) and as XML. None when it is damaged after all."""
    from lxml import etree

    if b"\x00" in data[:200]:
        return None
    try:
        text = decode(data)
        return etree.fromstring(_XML_DECLARATION.sub("", text, count=1).encode("utf-8"), parser)
    except (Unreadable, etree.XMLSyntaxError, ValueError):
        return None


_XML_DECLARATION = re.compile(r"^\ufeff?\s*<\?xml[^>]*\?>")


# Excel 2003 XML names some formats: those that show a count as another number, as codes.
_NAMED_FORMATS = {"percent": "0.00%", "scientific": "0.00E+00", "yes/no": "Yes/No", "true/false": "True/False", "on/off": "On/Off",
                  "general date": CJK_DATE, "long date": CJK_DATE, "medium date": CJK_DATE, "short date": CJK_DATE,
                  "long time": CJK_DATE, "medium time": CJK_DATE, "short time": CJK_DATE}


def _formats_shown_otherwise(root) -> dict[str, str]:
    """Each style (ss:ID) whose number format, its own or its parent's, shows a count as
    another number: the format (0.0"万", 0.00%…), as shown_as says of a workbook's."""
    return {key: code for key, code in _style_property(root, _format_shown).items() if code}


def _styles_struck(root) -> frozenset[str]:
    """The styles (ss:ID) whose font strikes text through (<Font ss:StrikeThrough="1"/>), their
    own or their parent's: a row struck out, as a workbook's font strikes it."""
    return frozenset(key for key, struck in _style_property(root, _font_strikes).items() if struck)


def _style_property(root, own_of) -> dict[str, object]:
    """Each style's (ss:ID) value of one property, its own or else its parent's (ss:Parent) and
    so on up: `own_of(style)` gives a style's own, None when it sets none."""
    own, parents = {}, {}
    styles = root.find(f"{SS}Styles")
    for style in styles.iter(f"{SS}Style") if styles is not None else ():
        key = style.get(f"{SS}ID") or ""
        parents[key] = style.get(f"{SS}Parent") or ""
        value = own_of(style)
        if value is not None:
            own[key] = value
    return {key: inherited(own, parents, key) for key in parents}


def _format_shown(style) -> str | None:
    number = style.find(f"{SS}NumberFormat")
    if number is None:
        return None
    code = number.get(f"{SS}Format") or ""
    return _NAMED_FORMATS.get(code.lower()) or shown_as(0, code)


def _font_strikes(style) -> bool | None:
    font = style.find(f"{SS}Font")
    if font is None or font.get(f"{SS}StrikeThrough") is None:
        return None
    return font.get(f"{SS}StrikeThrough") not in ("0", "false")


def _worksheet_grid(ws, name: str, formats: dict[str, str] | None = None,
                    struck_styles: frozenset[str] = frozenset()) -> Grid:
    """A worksheet's cells at their places (ss:Index skips ahead), with what its formulas and
    error values say that a value alone does not, the numbers a style shows otherwise (a
    cell's style, else its row's, else its column's, else Default), and the text struck through
    by its style or in part as rich text."""
    formats = formats or {}
    struck_cells: set[tuple[int, int]] = set()
    struck_text: dict[tuple[int, int], str] = {}
    shown_otherwise: dict[tuple[int, int], str] = {}
    column_styles: dict[int, str] = {}
    rows: dict[int, dict[int, object]] = {}
    merged: list[tuple[int, int, int, int]] = []
    uncached, blank, errors, subtotals = set(), set(), {}, set()
    hidden_cols: set[int] = set()
    hidden_rows: set[int] = set()
    far = ""
    table = ws.find(f"{SS}Table")
    if table is None:
        return Grid(name, True, [])
    c = 0
    for col in table.iter(f"{SS}Column"):
        c = _int(col.get(f"{SS}Index"), c + 1) - 1
        span = min(_span(col.get(f"{SS}Span")), WINDOW_COLS) + 1
        if col.get(f"{SS}Hidden") == "1" or col.get(f"{SS}Width") in ("0", "0.0"):
            hidden_cols.update(range(c, min(c + span, WINDOW_COLS)))
        if col.get(f"{SS}StyleID"):
            column_styles.update(dict.fromkeys(range(c, min(c + span, WINDOW_COLS)), col.get(f"{SS}StyleID")))
        c += span
    r = -1
    for row in table.iter(f"{SS}Row"):
        r = _int(row.get(f"{SS}Index"), r + 2) - 1
        if r >= WINDOW_ROWS:
            far = far or f"第{r + 1}行"
            continue
        if row.get(f"{SS}Hidden") == "1":
            hidden_rows.add(r)
        row_style = row.get(f"{SS}StyleID")
        c = -1
        for cell in row.iter(f"{SS}Cell"):
            c = _int(cell.get(f"{SS}Index"), c + 2) - 1
            # How many more cells the merge covers: 0 is none (exporters that write span - 1
            # write it), where a count of at least one shifted every figure a column over.
            across = min(_span(cell.get(f"{SS}MergeAcross")), WINDOW_COLS)
            down = min(_span(cell.get(f"{SS}MergeDown")), WINDOW_ROWS)
            if c < WINDOW_COLS:
                struck: list[str] = []
                value, kind, shown = _data(cell.find(f"{SS}Data"), struck)
                if shown.strip() and (struck or struck_styles):
                    style = cell.get(f"{SS}StyleID") or row_style or column_styles.get(c) or "Default"
                    if style in struck_styles:
                        struck_cells.add((r, c))
                    elif struck:
                        _place_struck(r, c, shown, struck, struck_cells, struck_text)
                formula = cell.get(f"{SS}Formula")
                if formula and "SUBTOTAL(" in formula.upper():
                    subtotals.add(r)
                if kind == "Error":
                    errors[(r, c)] = shown
                elif formula and kind is None:
                    uncached.add((r, c))
                elif formula and value == "":
                    blank.add((r, c))
                if value != "":
                    rows.setdefault(r, {})[c] = value
                if kind == "Number" and formats:
                    style = cell.get(f"{SS}StyleID") or row_style or column_styles.get(c) or "Default"
                    if style in formats:
                        shown_otherwise[(r, c)] = formats[style]
                if across or down:
                    merged.append((r, c, r + down, min(c + across, WINDOW_COLS - 1)))
            elif not far:
                far = cell_ref(r, c)
            c += across
        # ss:Span: as many more rows alike (empty rows written once): the next row comes after them.
        r += min(_span(row.get(f"{SS}Span")), WINDOW_ROWS)
    height = max([*rows, *(r2 for _, _, r2, _ in merged)], default=-1) + 1
    width = max([c for cells in rows.values() for c in cells] + [c2 for _, _, _, c2 in merged], default=-1) + 1
    grid = Grid(name, True, [[rows.get(i, {}).get(j, "") for j in range(width)] for i in range(height)], merged,
                set(uncached), far)
    grid.formula_blank, grid.cell_errors = set(blank), errors
    grid.hidden_rows, grid.hidden_cols, grid.subtotal_rows = bool(hidden_rows), frozenset(hidden_cols), subtotals
    grid.rows_hidden = frozenset(hidden_rows)
    grid.shown_otherwise = shown_otherwise
    grid.struck, grid.struck_text = frozenset(struck_cells), struck_text
    return grid


def _data(data, struck: list[str] | None = None) -> tuple[object, str | None, str]:
    """A cell's value, its type (None: no Data, never computed) and its text as shown; the
    runs of its rich text struck through go in `struck`."""
    if data is None:
        return "", None, ""
    kind = data.get(f"{SS}Type") or "String"
    text = _shown(data, struck=struck).replace(_BREAK, "\n")
    if kind == "Number":
        try:
            return float(text), kind, text
        except ValueError:
            return text, kind, text
    if kind == "DateTime":
        try:
            return datetime.fromisoformat(text.strip()[:19]), kind, text
        except ValueError:
            return text, kind, text
    if kind == "Boolean":
        return text.strip() == "1", kind, text
    if kind == "Error":
        return "", kind, text.strip()
    return text, kind, text
