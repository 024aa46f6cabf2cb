"""An .ods's content.xml, scanned as bytes for what calamine's values do not show: merged
cells, numbers shown as others, percentages, SUBTOTAL over hidden rows, error values, hidden
columns, formulas left without a result. Looked at closely only when a quick search finds
something to look at (scans.py holds the .xlsx side and what both share)."""

from __future__ import annotations

import re
import zipfile
from dataclasses import replace

from .scans import NO_FORMULAS, WINDOW_COLS, WINDOW_ROWS, Formulas, ShownText, inherited, shown_text, unescape

_ODS_TABLE = re.compile(rb'<table:table\b[^>]*?\btable:name="([^"]*)"[^>]*>(.*?)</table:table>', re.S)
# The row element itself: \b alone took <table:table-row-group> for a row (and the first row in it).
_ODS_ROW = re.compile(rb"<table:table-row(?=[\s/>])([^>]*?)(?:/>|>(.*?)</table:table-row>)", re.S)
_ODS_REPEAT = re.compile(rb'table:number-rows-repeated="(\d+)"')
_ODS_HIDDEN = re.compile(rb'table:visibility="(?:collapse|filter)"')
_ODS_SUBTOTAL_FUNCTION = re.compile(rb"SUBTOTAL\(\s*(\d+)", re.I)


_ODS_CELL = re.compile(rb"<table:(?:covered-)?table-cell\b([^>]*?)(?:/>|>(.*?)</table:(?:covered-)?table-cell>)", re.S)
_ODS_COLUMNS = re.compile(rb'table:number-columns-repeated="(\d+)"')
_ODS_TEXT = re.compile(rb"<text:p>([^<]*)</text:p>")
# LibreOffice marks a formula's error result; a writer that does not (WPS) still shows its text.
_ODS_ERROR = b'calcext:value-type="error"'
EXCEL_ERRORS = (b"#DIV/0!", b"#N/A", b"#VALUE!", b"#REF!", b"#NAME?", b"#NUM!", b"#NULL!")


def _ods_has_error(xml: bytes) -> bool:
    return _ODS_ERROR in xml or any(b">" + e + b"</text:p>" in xml for e in EXCEL_ERRORS)


def scan_ods(zf: zipfile.ZipFile) -> dict[str, Formulas]:
    """An .ods saved by an office suite carries every formula's result; what calamine cannot
    show is a SUBTOTAL over rows a filter hides, and an error value, which it reads as a blank.
    Per sheet: the rows holding SUBTOTAL (as cells in column 0), whether any row is hidden, the
    cells showing an error, the formulas a program that computes nothing left without result;
    and, which calamine does not give for an .ods, its merged cells, its percentage cells and
    the numbers it shows as others (3 shown as 3.0万 or 3000 as 3). Each looked at only when a quick
    search of the content finds what it looks for."""
    xml = zf.read("content.xml")
    more = _ods_merges_and_shown(xml, _styles_shown_otherwise([xml, _part(zf, "styles.xml")]))
    for name, struck in _ods_struck(xml).items():
        more[name] = replace(more.get(name, NO_FORMULAS), struck=struck)
    subtotals = b"SUBTOTAL(" in xml.upper()
    errors = _ods_has_error(xml)
    hidden_columns = _ODS_HIDDEN_COLUMN.search(xml) is not None
    uncomputed = b"table:formula=" in xml and _ODS_FORMULA_NO_VALUE.search(xml) is not None
    rows_hidden = _ODS_HIDDEN.search(xml) is not None
    if not (subtotals or errors or hidden_columns or uncomputed or rows_hidden):
        return more
    out = _ods_scan_tables(xml, subtotals, errors, hidden_columns, uncomputed, rows_hidden)
    for name, extra in more.items():
        out[name] = replace(out.get(name, NO_FORMULAS), merged=extra.merged, shown_otherwise=extra.shown_otherwise,
                            struck=extra.struck)
    return out


# A cell style whose text is struck through (style:text-line-through-style other than none).
_ODS_CELL_STYLE = re.compile(rb'<style:style\b([^>]*?\bstyle:family="table-cell"[^>]*?)(?:/>|>(.*?)</style:style>)', re.S)
_ODS_LINE_THROUGH = re.compile(rb'style:text-line-through-style="(?!none")')


def _ods_struck(xml: bytes) -> dict[str, frozenset]:
    """Per table: the cells (row, column) holding something in a struck-through cell style (a
    row a clerk struck out and left in place). Looked at only when some style strikes."""
    if b"text-line-through-style" not in xml:
        return {}
    styles = {name.group(1) for m in _ODS_CELL_STYLE.finditer(xml) if m.group(2) and _ODS_LINE_THROUGH.search(m.group(2))
              for name in [_STYLE_NAME.search(m.group(1))] if name}
    if not styles:
        return {}
    out = {}
    for t in _ODS_TABLE.finditer(xml):
        cells, r = set(), 0
        for m in _ODS_ROW.finditer(t.group(2)):
            repeat = _ODS_REPEAT.search(m.group(1))
            times = int(repeat.group(1)) if repeat else 1
            content = m.group(2) or b""
            if r < WINDOW_ROWS and b"style-name=" in content:
                c = 0
                for cell in _ODS_CELL.finditer(content):
                    span = _ODS_COLUMNS.search(cell.group(1))
                    width = int(span.group(1)) if span else 1
                    style = _CELL_STYLE_OF.search(cell.group(1))
                    if style and style.group(1) in styles and cell.group(2) and c < WINDOW_COLS:
                        cells |= {(r + k, c + j) for k in range(min(times, WINDOW_ROWS - r))
                                  for j in range(min(width, WINDOW_COLS - c))}
                    c += width
            r += times
        if cells:
            out[unescape(t.group(1).decode("utf-8", "replace"))] = frozenset(cells)
    return out


# A formula cell with no result: no value type (office:value-type) and no text. LibreOffice and
# WPS store every formula's result (an empty string as an empty <text:p/>, with no type); a
# program that computes nothing (odfpy) stores none, and the office suite the clerk opens it
# in shows the formula's value. This finds the candidates; _ods_formulas_without_value decides.
_ODS_FORMULA_NO_VALUE = re.compile(rb"<table:table-cell\b(?![^>]*\boffice:value-type=)[^>]*\btable:formula=")


_ODS_SPANS = re.compile(rb'table:number-(columns|rows)-spanned="(\d+)"')
_ODS_PERCENT = re.compile(rb'value-type="percentage"')
_ODS_NUMBERS = (b'office:value-type="float"', b'office:value-type="currency"')  # a currency's value is its number too
_ODS_VALUE = re.compile(rb'office:value="([^"]*)"')
_ODS_PARAGRAPH = re.compile(rb"<text:p\b[^>]*?(?:/>|>(.*?)</text:p>)", re.S)
_ODS_ANNOTATION = re.compile(rb"<office:annotation\b.*?</office:annotation>", re.S)
_MARKUP = re.compile(rb"<[^>]*>")
def ods_shown_text(attrs: bytes, inner: bytes | None) -> ShownText | None:
    """A number cell's text (text:p, as the office suite that saved it showed the number) when
    it is not the number the cell holds: 3 held and 3.0万 shown, 3000 held and 3 shown (a
    format in thousands), 5 held and nothing shown. None when they agree, or when the file
    gives no text to compare (a program that writes only the value). How the text is read:
    scans.shown_text."""
    if inner is None or not any(kind in attrs for kind in _ODS_NUMBERS):
        return None
    held = _ODS_VALUE.search(attrs)
    paragraphs = _ODS_PARAGRAPH.findall(_ODS_ANNOTATION.sub(b"", inner))  # a comment has paragraphs of its own
    if held is None or not paragraphs:
        return None
    text = unescape(_MARKUP.sub(b"", b"\n".join(paragraphs)).decode("utf-8", "replace")).strip()
    try:
        number = float(held.group(1))
    except ValueError:
        return None
    return shown_text(number, text)


def _part(zf: zipfile.ZipFile, name: str) -> bytes:
    try:
        return zf.read(name)
    except KeyError:
        return b""


# --- what a cell's data style shows ---------------------------------------------------------------
# A cell's text (text:p) says what it shows, as the office suite that saved it drew it. A program
# that draws nothing (odfpy) writes the number held there, or no text, whatever the cell's style:
# the office suite the clerk opens it in shows the number as the style says. So a number cell whose
# text agrees with it is still said when its data style plainly shows another number: a percent,
# a number divided by a thousand or more, or 万 千 亿 among its words. A style with conditions
# (style:map) is left to the text: which branch a count takes is the suite's to say.

_DATA_STYLE = re.compile(rb'<number:(number|percentage|currency)-style\b[^>]*?\bstyle:name="([^"]*)"[^>]*>(.*?)'
                         rb"</number:\1-style>", re.S)
_CELL_STYLE = re.compile(rb'<style:style\b([^>]*?\bstyle:family="table-cell"[^>]*?)/?>')
_STYLE_NAME = re.compile(rb'\bstyle:name="([^"]*)"')
_DATA_STYLE_NAME = re.compile(rb'\bstyle:data-style-name="([^"]*)"')
_PARENT_STYLE = re.compile(rb'\bstyle:parent-style-name="([^"]*)"')
_DISPLAY_FACTOR = re.compile(rb'\bnumber:display-factor="([^"]*)"')
_DECIMALS = re.compile(rb'<number:number\b[^>]*?\bnumber:decimal-places="(\d+)"')
_STYLE_WORDS = re.compile(rb"<number:text>([^<]*)</number:text>")
_CELL_STYLE_OF = re.compile(rb'\btable:style-name="([^"]*)"')


def _styles_shown_otherwise(parts: list[bytes]) -> dict[bytes, str]:
    """The cell styles (by name, content.xml's and styles.xml's) whose data style plainly shows
    a count as another number, each with a code for it as a clerk knows codes (0.0"万", 0%)."""
    codes = {m.group(2): _code(m.group(1), m.group(3)) for part in parts for m in _DATA_STYLE.finditer(part)
             if b"<style:map" not in m.group(3)}
    codes = {name: code for name, code in codes.items() if code}
    if not codes:
        return {}
    data, parent = {}, {}
    for part in parts:
        for m in _CELL_STYLE.finditer(part):
            name = _STYLE_NAME.search(m.group(1))
            if name is None:
                continue
            own, up = _DATA_STYLE_NAME.search(m.group(1)), _PARENT_STYLE.search(m.group(1))
            if own:
                data[name.group(1)] = own.group(1)
            if up:
                parent[name.group(1)] = up.group(1)
    shown = {name: codes.get(inherited(data, parent, name)) for name in {*data, *parent}}
    return {name: code for name, code in shown.items() if code}


def _code(kind: bytes, body: bytes) -> str:
    if kind == b"percentage":
        return "0%"
    words = "".join(unescape(w.decode("utf-8", "replace")) for w in _STYLE_WORDS.findall(body))
    factor = _DISPLAY_FACTOR.search(body)
    try:
        divisor = float(factor.group(1)) if factor else 1.0
    except ValueError:
        divisor = 1.0
    divided = 1 < divisor < 1e300  # a file's nonsense (inf, nan) divides nothing
    if not divided and not any(ch in words for ch in "万千亿%"):
        return ""
    decimals = _DECIMALS.search(body)
    places = int(decimals.group(1)) if decimals else 0
    # Divided by 1000: one comma after the digits, as the code that does it is written (#,##0,).
    number = "#,##0" + "," * max(1, len(str(int(divisor))) // 3) if divided else "0"
    return number + ("." + "0" * places if places else "") + (f'"{words}"' if words else "")


def _ods_merges_and_shown(xml: bytes, styled: dict[bytes, str] | None = None) -> dict[str, Formulas]:
    """Per table: its merged cells (calamine gives none for an .ods), its cells typed as a
    percentage (100% held as 1), and its number cells whose text shows another number
    (ods_shown_text), or whose text agrees and whose style (`styled`) shows another. Looked at
    only when the content has any of them to look for."""
    if b"-spanned=" not in xml and b'value-type="percentage"' not in xml and not any(k in xml for k in _ODS_NUMBERS):
        return {}
    out = {}
    for t in _ODS_TABLE.finditer(xml):
        merged, shown_cells, r = [], [], 0
        for m in _ODS_ROW.finditer(t.group(2)):
            repeat = _ODS_REPEAT.search(m.group(1))
            times = int(repeat.group(1)) if repeat else 1
            content = m.group(2) or b""
            if r < WINDOW_ROWS and (b"-spanned=" in content or b"percentage" in content
                                    or any(kind in content for kind in _ODS_NUMBERS)):
                c = 0
                in_row: list[tuple[int, str]] = []  # (column, what it shows) in each of the row's copies
                for cell in _ODS_CELL.finditer(content):
                    attrs = cell.group(1)
                    span = _ODS_COLUMNS.search(attrs)
                    width = int(span.group(1)) if span else 1
                    spans = dict(_ODS_SPANS.findall(attrs))
                    if spans and c < WINDOW_COLS:
                        down, across = int(spans.get(b"rows", 1)), int(spans.get(b"columns", 1))
                        if down > 1 or across > 1:
                            merged.append((r, c, r + down - 1, c + across - 1))
                    if c < WINDOW_COLS:
                        shown = "0%" if _ODS_PERCENT.search(attrs) else ods_shown_text(attrs, cell.group(2))
                        if shown is None and styled:
                            shown = _styled_otherwise(attrs, styled)
                        if shown is not None:  # a cell repeated across columns is each of them
                            in_row += [(c + k, shown) for k in range(min(width, WINDOW_COLS - c))]
                    c += width
                # a row repeated (table:number-rows-repeated) is each of its copies
                shown_cells += [((r + k, col), shown) for k in range(min(times, WINDOW_ROWS - r)) for col, shown in in_row]
            r += times
        if merged or shown_cells:
            out[unescape(t.group(1).decode("utf-8", "replace"))] = Formulas(shown_otherwise=tuple(shown_cells),
                                                                             merged=tuple(merged))
    return out


def _styled_otherwise(attrs: bytes, styled: dict[bytes, str]) -> str | None:
    """The code of a number cell's style that shows it as another number, when its number is no 0
    (a 0 is shown as 0 however it is divided)."""
    style = _CELL_STYLE_OF.search(attrs)
    if style is None or style.group(1) not in styled or not any(kind in attrs for kind in _ODS_NUMBERS):
        return None
    held = _ODS_VALUE.search(attrs)
    try:
        if held is None or float(held.group(1)) == 0:
            return None
    except ValueError:
        return None
    return styled[style.group(1)]


def _ods_scan_tables(xml: bytes, subtotals: bool, errors: bool, hidden_columns: bool,
                     uncomputed: bool = False, rows_hidden: bool = False) -> dict[str, Formulas]:
    out = {}
    for t in _ODS_TABLE.finditer(xml):
        body = t.group(2)
        sub = subtotals and b"SUBTOTAL(" in body.upper()
        err = errors and _ods_has_error(body)
        unc = uncomputed and _ODS_FORMULA_NO_VALUE.search(body) is not None
        hidden = _ods_hidden_columns(body) if hidden_columns else frozenset()
        hid = rows_hidden and _ODS_HIDDEN.search(body) is not None
        if not (sub or err or unc or hid):
            if hidden:
                out[unescape(t.group(1).decode("utf-8", "replace"))] = Formulas(hidden_cols=hidden)
            continue
        rows, hidden_rows, r, cells, uncached, which_hidden = set(), False, 0, [], set(), set()
        leaves_out = False
        for m in _ODS_ROW.finditer(body):
            repeat = _ODS_REPEAT.search(m.group(1))
            times = int(repeat.group(1)) if repeat else 1
            if _ODS_HIDDEN.search(m.group(1)) is not None:
                hidden_rows = True
                which_hidden.update(range(r, min(r + times, WINDOW_ROWS)))
            content = m.group(2)
            if sub and content and b"SUBTOTAL(" in content.upper():
                rows.add((r, 0))
                leaves_out = leaves_out or any(int(n) >= 100 for n in _ODS_SUBTOTAL_FUNCTION.findall(content))
            if err and content and _ods_has_error(content) and r < WINDOW_ROWS:
                cells += [((r + k, c), text) for c, text in _ods_error_cells(content)
                          for k in range(min(times, WINDOW_ROWS - r))]
            if unc and content and r < WINDOW_ROWS and _ODS_FORMULA_NO_VALUE.search(content):
                uncached |= {(r + k, c) for c in _ods_formulas_without_value(content)
                             for k in range(min(times, WINDOW_ROWS - r))}
            r += times
        out[unescape(t.group(1).decode("utf-8", "replace"))] = Formulas(
            subtotal=frozenset(rows), hidden_rows=hidden_rows, errors=tuple(cells), hidden_cols=hidden,
            rows_hidden=frozenset(which_hidden),
            uncached=frozenset(uncached), any_formula=bool(uncached),
            # A row a filter hides is marked so (visibility="filter"); one hidden by hand, "collapse".
            filtered=b'table:visibility="filter"' in body, leaves_out_hidden=leaves_out)
    return out


def _ods_formulas_without_value(row: bytes) -> list[int]:
    """The columns of a row's formula cells that carry no result (_ODS_FORMULA_NO_VALUE)."""
    out, c = [], 0
    for cell in _ODS_CELL.finditer(row):
        attrs = cell.group(1)
        span = _ODS_COLUMNS.search(attrs)
        width = int(span.group(1)) if span else 1
        inner = cell.group(2)
        if (b"table:formula=" in attrs and b"office:value-type=" not in attrs and (inner is None or b"<text:p" not in inner)
                and c < WINDOW_COLS):
            out += range(c, min(c + width, WINDOW_COLS))
        c += width
    return out


_ODS_HIDDEN_COLUMN = re.compile(rb'<table:table-column\b[^>]*?table:visibility="collapse"')
_ODS_COLUMN = re.compile(rb"<table:table-column(?=[\s/>])([^>]*?)/?>")  # not a <table:table-column-group>


def _ods_hidden_columns(body: bytes) -> frozenset:
    """The columns a table's column records hide (visibility collapse), 0-based."""
    out: set[int] = set()
    c = 0
    for m in _ODS_COLUMN.finditer(body):
        span = _ODS_COLUMNS.search(m.group(1))
        span = int(span.group(1)) if span else 1
        if b'table:visibility="collapse"' in m.group(1):
            out.update(range(c, min(c + span, WINDOW_COLS)))
        c += span
        if c >= WINDOW_COLS:
            break
    return frozenset(out)


def _ods_error_cells(row: bytes) -> list[tuple[int, str]]:
    """(column, error shown) for each cell of an .ods row that holds an error value."""
    out, c = [], 0
    for m in _ODS_CELL.finditer(row):
        attrs, inner = m.group(1), m.group(2) or b""
        span = _ODS_COLUMNS.search(attrs)
        span = int(span.group(1)) if span else 1
        text = _ODS_TEXT.search(inner)
        shown = text.group(1).strip() if text else b""
        if _ODS_ERROR in attrs or (b"table:formula=" in attrs and shown in EXCEL_ERRORS):
            out += [(c + k, unescape(shown.decode("utf-8", "replace"))) for k in range(min(span, WINDOW_COLS))]
        c += span
    return out
