"""What a sheet's own record says that its values do not: formulas that were never computed
or whose result is the empty string, SUBTOTAL rows over a filter, cells showing an error value,
the extent of its cells, and the columns it hides. Each format keeps these its own way: an
.xlsx part's XML (here), an .ods's content.xml (ods.py), an .xls's BIFF records (biff.py).
Each is scanned as bytes, cheaply, and only looked at closely when a quick search says there
is something to find. What they share is here: the scan's record (Formulas), what a number
format shows a count as (shown_as), and what a cell's text shows it as (shown_text)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

from ...spec.numbers import chinese_numeral
from .grid import column_letter

# The form never needs more than this; a county's table is a few dozen rows.
WINDOW_ROWS = 5000
WINDOW_COLS = 702  # ZZ: a dense grid of 5000 × 702 cells stays near 100 MB


def unescape(s: str) -> str:
    return s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'").replace("&amp;", "&")


# --- a part as the scans read it ------------------------------------------------------------
# The scans below look for tags as Excel writes them (<c r="B3">). Other writers are as valid:
# the .NET OpenXML SDK, which report systems use, writes <x:c>, and leaves out a cell's
# reference when the cells come in order; some writers quote attributes with ' (r='B3'). Read
# as written, every formula, error and format in such a sheet would go unseen, its counts read
# with no finding; so the part is put in Excel's spelling first. A quick look at the root tag
# and the first and last row and cell: Excel's own parts pass unchanged.

_MAIN_NAMESPACE = re.compile(
    rb"""\bxmlns:([A-Za-z_][\w.-]*)\s*=\s*["']http://(?:schemas\.openxmlformats\.org/spreadsheetml/2006/main"""
    rb"""|purl\.oclc\.org/ooxml/spreadsheetml/main)["']""")
_SINGLE_QUOTED = re.compile(rb"=\s*'")
_TAG = re.compile(rb"""<[^>?!](?:[^>"']|"[^"]*"|'[^']*')*>""")  # a > may stand in a quoted value
_ATTRIBUTE = re.compile(rb"""([\w:.-]+)\s*=\s*("[^"]*"|'[^']*')""")
_HAS_REFERENCE = re.compile(rb'\br="')
_ROW_OR_CELL = re.compile(rb"<(row|c)\b([^>]*?)(/?)>")
_REFERENCE = re.compile(rb'\br="([A-Z]{0,3})(\d*)"')


def as_scanned(xml: bytes) -> bytes:
    """A sheet's part in the spelling the scans read (excel_spelled), every row and cell with
    its reference."""
    xml = excel_spelled(xml)
    return _with_references(xml) if _references_left_out(xml) else xml


def excel_spelled(xml: bytes) -> bytes:
    """An .xlsx part with its attributes in double quotes and SpreadsheetML's tags without a
    prefix (<x:c r='B3'> as <c r="B3">), as the root tag shows it is written."""
    start, end = _root_tag(xml)
    if end < 0:
        return xml
    if _SINGLE_QUOTED.search(xml, start, end):
        xml = _TAG.sub(_double_quoted, xml)
        start, end = _root_tag(xml)
    colon = xml.find(b":", start, end)
    if colon < 0 or 0 <= xml.find(b" ", start, colon):
        return xml  # the root tag's own name has no prefix: its namespace, SpreadsheetML's, has none
    m = _MAIN_NAMESPACE.search(xml, start, end)
    if m is None:
        return xml
    prefix = m.group(1)
    # Text holds no raw <: every <x: and </x: is a tag.
    return xml.replace(b"<" + prefix + b":", b"<").replace(b"</" + prefix + b":", b"</")


def _root_tag(xml: bytes) -> tuple[int, int]:
    """Where the root tag starts and ends (-1: none): after the XML declaration and comments."""
    start = xml.find(b"<")
    for _ in range(8):
        if start < 0 or not (xml.startswith(b"<?", start) or xml.startswith(b"<!", start)):
            break
        close = xml.find(b">", start)
        start = xml.find(b"<", close) if close >= 0 else -1
    return start, (xml.find(b">", start) if start >= 0 else -1)


def _double_quoted(tag: re.Match) -> bytes:
    def quoted(m: re.Match) -> bytes:
        value = m.group(2)
        if value[:1] == b'"':
            return m.group(0)
        return m.group(1) + b'="' + value[1:-1].replace(b'"', b"&quot;") + b'"'
    return _ATTRIBUTE.sub(quoted, tag.group(0))


def _references_left_out(xml: bytes) -> bool:
    """The sheet's first or last row, or its first or last cell, has no reference: a writer
    that leaves them out leaves out all of them, or those after the first of a row."""
    at = xml.find(b"<sheetData")
    if at < 0:
        return False
    end = xml.rfind(b"</sheetData>", at)
    end = end if end >= 0 else len(xml)
    return (_lacks_reference(xml, xml.find(b"<row", at, end)) or _lacks_reference(xml, xml.find(b"<c", at, end))
            or _lacks_reference(xml, xml.rfind(b"<row", at, end)) or _lacks_reference(xml, xml.rfind(b"<c", at, end)))


def _lacks_reference(xml: bytes, tag: int) -> bool:
    """The tag starting at `tag` (none: -1) has no r attribute."""
    return tag >= 0 and _HAS_REFERENCE.search(xml, tag, xml.find(b">", tag)) is None


def _with_references(xml: bytes) -> bytes:
    """Every row and cell given the reference a spreadsheet program gives it: a row without one
    is the row after the last, a cell without one the cell after the last in its row."""
    at = xml.find(b"<sheetData")
    end = xml.find(b"</sheetData>", at)
    end = end if end >= 0 else len(xml)
    row = col = 0

    def referenced(m: re.Match) -> bytes:
        nonlocal row, col
        kind, attrs, close = m.groups()
        ref = _REFERENCE.search(attrs)
        if kind == b"row":
            row = int(ref.group(2)) if ref and ref.group(2) else row + 1
            col = 0
            return m.group(0) if ref else b'<row r="%d"%s%s>' % (row, attrs, close)
        if ref and ref.group(1):
            col = _col_index(ref.group(1)) + 1
            row = int(ref.group(2)) if ref.group(2) else row
            return m.group(0)
        col += 1
        return b'<c r="%s%d"%s%s>' % (column_letter(col - 1).encode(), row, attrs, close)

    return xml[:at] + _ROW_OR_CELL.sub(referenced, xml[at:end]) + xml[end:]


_VALUE_CELL = re.compile(rb'<c\b[^>]*?\br="([A-Z]{1,3})(\d{1,7})"[^>]*?(?<!/)>')
_FORMULA_NO_VALUE = re.compile(
    rb'<c\b([^>]*?\br="([A-Z]{1,3})(\d{1,7})"[^>]*?)>\s*<f\b[^>]*?(?:/>|>[^<]*</f>)\s*(?:<v\s*/>|<v>\s*</v>)?\s*</c>'
)
_STRING_TYPE = re.compile(rb'\bt="(?:str|inlineStr)"')
_SUBTOTAL = re.compile(rb'<c\b[^>]*?\br="([A-Z]{1,3})(\d{1,7})"[^>]*?>\s*<f\b[^>]*>\s*(?:_xlfn\.)?SUBTOTAL\(\s*(\d*)',
                       re.I)
_HIDDEN_ROW = re.compile(rb'<row\b[^>]*?\bhidden="(?:1|true)"')


def _col_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n - 1


_ANY_FORMULA = re.compile(rb"<f\b")
_WIDE_CELL = re.compile(rb'r="[A-Z]{3}\d')
_LAST_ROW = re.compile(rb'<row\b[^>]*?\br="(\d+)"')


@dataclass(frozen=True)
class Formulas:
    """What the scan learns about a sheet's formulas that calamine's values do not show."""

    uncached: frozenset = frozenset()  # no result at all: never computed
    blank: frozenset = frozenset()  # the empty string as result: a zero-hiding formula
    subtotal: frozenset = frozenset()  # SUBTOTAL(…), which leaves out rows a filter hides
    hidden_rows: bool = False
    # Which rows a SUBTOTAL leaves out: a filter's (the sheet has one), or those hidden by hand
    # too (SUBTOTAL(109,…)); SUBTOTAL(9,…) under rows hidden by hand sums them all.
    filtered: bool = True
    leaves_out_hidden: bool = False
    errors: tuple = ()  # ((row, column), "#DIV/0!"): cells showing an error value
    hidden_cols: frozenset = frozenset()  # columns the sheet hides (an old column beside its correction)
    shown_otherwise: tuple = ()  # ((row, column), "0%"): cells whose number format shows another number
    merged: tuple = ()  # (r1, c1, r2, c2): merged cells the engine does not give (an .ods's)
    # In a workbook recalculated on load (fullCalcOnLoad): the formulas carrying 0, a placeholder
    # (they are in `uncached` too).
    placeholders: frozenset = frozenset()
    any_formula: bool = False  # some cell holds a formula (results carried or not)
    # ((row, column), "23¹"): cells whose text shows otherwise than the engine gives it, raised
    # characters (a footnote mark typed as a superscript) run into the figure: 23 and a raised 1 is "231" there.
    texts: tuple = ()
    struck: frozenset = frozenset()  # (row, column): cells whose font strikes them through
    unseen: frozenset = frozenset()  # (row, column): cells written white on white
    struck_text: tuple = ()  # ((row, column), "218"): cells whose rich text is struck through in part
    rows_hidden: frozenset = frozenset()  # the rows (0-based) the sheet hides, in the window
    # In a workbook recalculated on load: the formulas carrying a result other than 0, which the
    # writer may have worked out or left from a template (a report system filling one in).
    unverified: frozenset = frozenset()
    # ((row, column), "=E5", 700.0): formulas of this sheet's cells alone, and the result each carries.
    simple: tuple = ()

    def __bool__(self) -> bool:
        return bool(self.uncached or self.blank or (self.subtotal and self.hidden_rows) or self.errors
                    or self.hidden_cols or self.shown_otherwise or self.merged or self.texts or self.struck
                    or self.struck_text or self.rows_hidden or self.unverified or self.unseen or self.simple)


NO_FORMULAS = Formulas()
CARRIED_FORMULAS = Formulas(any_formula=True)  # formulas, each carrying its result: nothing to say


def _scan_formulas(xml: bytes) -> Formulas:
    if not _ANY_FORMULA.search(xml):  # quicker than `b"<f" in xml`, which '<' on every tag slows down
        return NO_FORMULAS
    uncached, blank = set(), set()
    for m in _FORMULA_NO_VALUE.finditer(xml):
        cell = (int(m.group(3)) - 1, _col_index(m.group(2)))
        (blank if _STRING_TYPE.search(m.group(1)) else uncached).add(cell)
    subtotal: set = set()
    hidden = leaves_out = False
    if b"SUBTOTAL(" in xml or b"subtotal(" in xml:
        found = [(int(m.group(2)) - 1, _col_index(m.group(1)), m.group(3)) for m in _SUBTOTAL.finditer(xml)]
        subtotal = {(r, c) for r, c, _ in found}
        leaves_out = any(n and int(n) >= 100 for _, _, n in found)
        hidden = _HIDDEN_ROW.search(xml) is not None
    simple = _simple_formulas(xml)
    if not (uncached or blank or subtotal or simple):
        return CARRIED_FORMULAS
    return Formulas(frozenset(uncached), frozenset(blank), frozenset(subtotal), hidden, any_formula=True,
                    # A range formatted as a table (Ctrl+T) keeps its filter in the table's own part:
                    # the sheet names that part.
                    filtered=b"<autoFilter" in xml or b"<tablePart" in xml, leaves_out_hidden=leaves_out,
                    simple=simple)


# A formula cell written out (not a shared formula's follower), with the number it carries.
_FORMULA_WITH_TEXT = re.compile(
    rb'<c\b[^>]*?\br="([A-Z]{1,3})(\d{1,7})"[^>]*?(?<!/)>\s*<f>([^<]{1,200})</f>\s*<v>([^<]*)</v>')
# Arithmetic of this sheet's cells a verifier can redo: =E5, =B5+C5-D5, =SUM(B5:D5), with numbers.
_SIMPLE_FORMULA = re.compile(r"^=?(?:\s*[+-]?\s*(?:SUM\(\$?[A-Z]{1,3}\$?\d+:\$?[A-Z]{1,3}\$?\d+\)|\$?[A-Z]{1,3}\$?\d+|\d+))+\s*$",
                            re.I)


def _simple_formulas(xml: bytes) -> tuple:
    """((row, column), formula, the result carried) for the formulas of the sheet a verifier can
    redo (formulas.redo): a report system filling a template in leaves the template's results,
    which the spreadsheet program computes afresh on opening."""
    out = []
    for m in _FORMULA_WITH_TEXT.finditer(xml):
        text = unescape(m.group(3).decode("utf-8", "replace"))
        if int(m.group(2)) <= WINDOW_ROWS and _SIMPLE_FORMULA.match(text):
            carried = _number(m.group(4))
            if carried is not None:
                out.append(((int(m.group(2)) - 1, _col_index(m.group(1))), text, carried))
    return tuple(out)


# A formula cell and the result it carries (none for `<v/>` or no <v> at all; openpyxl writes `<v></v>`).
_FORMULA_RESULT = re.compile(
    rb'<c\b[^>]*?\br="([A-Z]{1,3})(\d{1,7})"[^>]*?(?<!/)>\s*<f\b[^>]*?(?:/>|>[^<]*</f>)\s*(?:<v>([^<]*)</v>)?')
_FULL_CALC_ON_LOAD = re.compile(rb'<(?:\w+:)?calcPr\b[^>]*?\bfullCalcOnLoad="(?:1|true)"')


def recalculated_on_load(workbook_xml: bytes) -> bool:
    """The workbook asks the spreadsheet program to compute every formula when it opens the file
    (`<calcPr fullCalcOnLoad="1"/>`): written by programs that cannot compute (openpyxl,
    xlsxwriter, report systems), not kept by Excel or LibreOffice when they save. What the
    clerk sees is then the spreadsheet program's result, not the one the file carries."""
    return _FULL_CALC_ON_LOAD.search(workbook_xml) is not None


def untrusted_results(xml: bytes, formulas: Formulas) -> Formulas:
    """The sheet's scan with the placeholder results of a workbook recalculated on load
    (recalculated_on_load) taken as no result at all: a program that cannot compute writes
    none, or 0 (xlsxwriter). A result other than 0 may have been worked out by whoever wrote
    it, or left from the template a report system filled in (the spreadsheet program shows
    another on opening): kept, and listed as `unverified`."""
    if not formulas.any_formula:  # the sheet's scan has looked already
        return formulas
    zeros, others = set(), set()
    for m in _FORMULA_RESULT.finditer(xml):
        if m.group(3) is not None:
            cell = (int(m.group(2)) - 1, _col_index(m.group(1)))
            number = _number(m.group(3))  # an error value or a text is said otherwise
            if number == 0:
                zeros.add(cell)
            elif number is not None:
                others.add(cell)
    if others:
        formulas = replace(formulas, unverified=frozenset(others))
    if not zeros:
        return formulas  # those with no result at all are `uncached` already
    return replace(formulas, uncached=frozenset(zeros | formulas.uncached), placeholders=frozenset(zeros))


def _number(text: bytes) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


_ANY_ERROR = re.compile(rb't="e"')  # as _ANY_FORMULA: twice as quick as `in`, whose skip table '"' defeats
_ERROR_CELL = re.compile(rb'<c\b([^>]*?\bt="e"[^>]*?)(?<!/)>(.*?)</c>', re.S)
_CELL_REF = re.compile(rb'\br="([A-Z]{1,3})(\d{1,7})"')
_CACHED = re.compile(rb"<v>([^<]*)</v>")


def _scan_errors(xml: bytes) -> tuple:
    """Cells of type `e`, each with the error it shows ("" when the writer left none)."""
    out = []
    for m in _ERROR_CELL.finditer(xml):
        ref = _CELL_REF.search(m.group(1))
        if ref:
            v = _CACHED.search(m.group(2))
            text = v.group(1).decode("utf-8", "replace").strip() if v else ""
            out.append(((int(ref.group(2)) - 1, _col_index(ref.group(1))), unescape(text)))
    return tuple(out)


_COL = re.compile(rb"<col\b([^>]*?)/?>")
_ROW_TAG = re.compile(rb"<row\b[^>]*>")
_ROW_NUMBER = re.compile(rb'\br="(\d+)"')
# Hidden by its flag, or drawn no height at all (a program other than Excel writes ht="0" and
# no flag: the row is as hidden).
_ROW_IS_HIDDEN = re.compile(rb'\bhidden="(?:1|true)"|\bht="0(?:\.0*)?"')


def _hidden_rows(xml: bytes) -> frozenset[int]:
    """The rows (0-based) the sheet hides, in the window: by hand, a group collapsed, a filter.
    A row without its number follows the one before it."""
    out, r = set(), -1
    for m in _ROW_TAG.finditer(xml):
        tag = m.group(0)
        at = _ROW_NUMBER.search(tag)
        r = int(at.group(1)) - 1 if at else r + 1
        if r >= WINDOW_ROWS:
            break
        if (b"hidden" in tag or b'ht="0' in tag) and _ROW_IS_HIDDEN.search(tag):
            out.add(r)
    return frozenset(out)


_HIDDEN_COL = re.compile(rb'\bhidden="(?:1|true)"|\bwidth="0(?:\.0*)?"')
_COL_SPAN = re.compile(rb'\bmin="(\d+)"[^>]*?\bmax="(\d+)"|\bmax="(\d+)"[^>]*?\bmin="(\d+)"')


def _hidden_columns(xml: bytes) -> frozenset:
    """The columns `<cols>` hides (hidden, or narrowed to nothing), 0-based. `<cols>` comes
    before the cells: only that part of the sheet is looked at."""
    end = xml.find(b"<sheetData")
    head = xml[:end] if end > 0 else b""
    if b"<col " not in head or (b"hidden=" not in head and b'width="0' not in head):
        return frozenset()
    out: set[int] = set()
    for m in _COL.finditer(head):
        span = _COL_SPAN.search(m.group(1))
        if span and _HIDDEN_COL.search(m.group(1)):
            lo, hi = (int(span.group(1)), int(span.group(2))) if span.group(1) else (int(span.group(4)),
                                                                                        int(span.group(3)))
            out.update(range(lo - 1, min(hi, WINDOW_COLS)))
    return frozenset(out)


# --- number formats that show another number than the cell holds ------------------------------

# Excel's built-in percent formats (0%, 0.00%); any other is written out in styles.xml.
_PERCENT_IDS = frozenset({9, 10})
_SCIENTIFIC_IDS = {11: "0.00E+00", 48: "##0.0E+0"}
_XF = re.compile(rb"<xf\b([^>]*?)/?>")
# A format's id and code, in either order (Gnumeric writes formatCode first), a > in the code or not.
_NUM_FMT = re.compile(rb'<numFmt\b(?=(?:[^>"]|"[^"]*")*?\bnumFmtId="(\d+)")(?=(?:[^>"]|"[^"]*")*?\bformatCode="([^"]*)")')
_FMT_ID = re.compile(rb'\bnumFmtId="(\d+)"')
# 0%, 0.0"万", 0,"千" (a comma at the end of the digits divides by a thousand): a 1 shown as 100%,
# a 3 shown as 3万. A unit of the form's own (0"户") shows the number as it is.
# A percent, 万 千 亿, a thousands scale (0,), or scientific notation (0.00E+00: 1023 as 1.02E+03).
_SHOWS_OTHER = re.compile(r"%|万|千|亿|[0#?],+(?=$|[;\"\\\s_)])|[0#?.][Ee][+-]")
_STYLED_CELL = re.compile(rb'<c\b([^>]*?\bs="(\d+)"[^>]*?)(?<!/)>')
_CELL_AT = re.compile(rb'\br="([A-Z]{1,3})(\d{1,7})"')


# The built-in date formats of Chinese, Japanese and Korean Excel (27–36, 50–58: 2016年1月2日, 1月2日),
# which the engine does not know for dates: 1-2 typed into a count is held as 42372 and shown as 1月2日.
_CJK_DATE_IDS = frozenset(range(27, 37)) | frozenset(range(50, 59))
# A style using a built-in format that shows another number: a percent (9, 10), scientific
# notation (11, 48) or a CJK date.
_BUILT_IN_SHOWN = re.compile(rb'numFmtId="(?:9|10|11|48|2[7-9]|3[0-6]|5[0-8])"')
CJK_DATE = "日期"


def styles_shown_otherwise(styles: bytes) -> dict[int, str]:
    """The cell styles (their index in cellXfs) whose number format shows a count as another
    number: a percent, a count in 万, 千 or 亿, or a date. Most workbooks have none: a quick
    look says so, at the codes written out and the built-in formats the cells' styles use."""
    start = styles.find(b"<cellXfs")  # the cells' styles: a style shows another number only from here
    if start < 0:
        return {}
    end = styles.find(b"</cellXfs>", start)
    end = end if end > 0 else len(styles)
    codes = {int(i): unescape(c.decode("utf-8", "replace")) for i, c in _NUM_FMT.findall(styles)}
    if not any(shown_as(number, code) for number, code in codes.items()) and not _BUILT_IN_SHOWN.search(
            styles, start, end):
        return {}
    out = {}
    for index, m in enumerate(_XF.finditer(styles, start, end)):
        fmt = _FMT_ID.search(m.group(1))
        number = int(fmt.group(1)) if fmt else 0
        shown = shown_as(number, codes.get(number, ""))
        if shown:
            out[index] = shown
    return out


_FONT = re.compile(rb"<font\b[^>]*?(?:/>|>(.*?)</font>)", re.S)
# A font or a run's properties striking the text through (<strike/>, val true or 1).
_STRIKE = re.compile(rb'<(?:\w+:)?strike\b(?![^>]*\bval="(?:0|false)")')
_FONT_ID = re.compile(rb'\bfontId="(\d+)"')


def struck_styles(styles: bytes) -> frozenset[int]:
    """The cell styles (their index in cellXfs) whose font strikes the text through: a row a
    clerk struck out and left in place. Most workbooks have none: a quick look says so."""
    if b"<strike" not in styles:
        return frozenset()
    fonts_at = styles.find(b"<fonts")
    fonts_end = styles.find(b"</fonts>", fonts_at)
    start = styles.find(b"<cellXfs")
    if fonts_at < 0 or fonts_end < 0 or start < 0:
        return frozenset()
    fonts = {i for i, m in enumerate(_FONT.finditer(styles, fonts_at, fonts_end)) if m.group(1) and _STRIKE.search(m.group(1))}
    if not fonts:
        return frozenset()
    end = styles.find(b"</cellXfs>", start)
    out = set()
    for index, m in enumerate(_XF.finditer(styles, start, end if end > 0 else len(styles))):
        font = _FONT_ID.search(m.group(1))
        if font and int(font.group(1)) in fonts:
            out.add(index)
    return frozenset(out)


_FILL = re.compile(rb"<fill\b[^>]*?(?:/>|>(.*?)</fill>)", re.S)
_FILL_ID = re.compile(rb'\bfillId="(\d+)"')
_PATTERN = re.compile(rb'patternType="(\w+)"')
_FG_COLOR = re.compile(rb"<(?:\w+:)?fgColor\b[^>]*>")
# A font's own colour (the first <color> in its properties).
_COLOR_OF_FONT = re.compile(rb"<(?:\w+:)?color\b[^>]*>")
_RGB = re.compile(rb'\brgb="(?:[0-9A-Fa-f]{2})?([0-9A-Fa-f]{6})"')
_THEME = re.compile(rb'\btheme="(\d+)"')
_INDEXED = re.compile(rb'\bindexed="(\d+)"')
_TINT = re.compile(rb'\btint="(-?[\d.Ee+-]+)"')
# The palette's whites (the legacy 56 colours and the first eight) and the theme's Background 1.
_WHITE_INDEXED, _WHITE_THEME, WHITE = {b"1", b"9"}, b"0", "FFFFFF"
_WHITE_MARKS = (b'FFFFFF"', b'ffffff"', b'theme="0"', b'indexed="1"', b'indexed="9"')
# A number format's colour: [White] (Excel in English), [白色] (in Chinese).
_WHITE_FORMAT = re.compile(r"\[(?:white|白色)\]", re.I)


def _colour(tag: bytes | None) -> str:
    """A colour element as "RRGGBB", "theme N" or "indexed N" ("" for none, or a tinted theme
    colour: a tint makes Background 1 a grey one sees)."""
    if not tag:
        return ""
    tint = _TINT.search(tag)
    if tint and tint.group(1).strip(b"0.-+"):
        return ""
    if m := _RGB.search(tag):
        return m.group(1).decode().upper()
    if m := _THEME.search(tag):
        return WHITE if m.group(1) == _WHITE_THEME else f"theme {m.group(1).decode()}"
    if m := _INDEXED.search(tag):
        return WHITE if m.group(1) in _WHITE_INDEXED else f"indexed {m.group(1).decode()}"
    return ""


def unseen_styles(styles: bytes) -> frozenset[int]:
    """The cell styles (their index in cellXfs) that write a figure in the colour of what is
    under it: a white font, or a [White] number format, over no fill or a white one; a font
    the colour of its solid fill (black on black). Such a figure is in the cell and in the
    sums, and nowhere on the sheet the clerk sees. Most workbooks have none: a quick look says so."""
    parts = {}
    for tag in (b"fonts", b"fills", b"cellXfs"):
        at = styles.find(b"<" + tag)
        end = styles.find(b"</" + tag + b">", at)
        if at < 0 or end < 0:
            return frozenset()
        parts[tag] = (at, end)
    fonts_at, fonts_end = parts[b"fonts"]
    # Something white among the fonts, a solid fill, or a colour in a number format (the
    # palette's list of colours, which names white, is no font's).
    if (all(styles.find(w, fonts_at, fonts_end) < 0 for w in _WHITE_MARKS)
            and styles.find(b"solid", *parts[b"fills"]) < 0 and styles.find(b"]", 0, parts[b"fonts"][0]) < 0):
        return frozenset()
    fonts = [_colour(_COLOR_OF_FONT.search(m.group(1) or b"").group(0) if _COLOR_OF_FONT.search(m.group(1) or b"")
                     else b"") for m in _FONT.finditer(styles, *parts[b"fonts"])]
    fills = []
    for m in _FILL.finditer(styles, *parts[b"fills"]):
        body = m.group(1) or b""
        pattern = _PATTERN.search(body)
        if pattern is None or pattern.group(1) == b"none":
            fills.append(WHITE)  # no fill: the sheet's white
        elif pattern.group(1) == b"solid":
            fg = _FG_COLOR.search(body)
            fills.append(_colour(fg.group(0)) if fg else "")
        else:
            fills.append("")  # a pattern: its two colours mix
    # White in the sections a count of 1 or more is shown by (0;-0;[White]0 whites out zeros only).
    white_formats = {int(i) for i, c in _NUM_FMT.findall(styles)
                     if any(_WHITE_FORMAT.search(section) for section in
                            _positive_sections(_sections(unescape(c.decode("utf-8", "replace")))))}
    if not any(fonts) and not white_formats:
        return frozenset()
    out = set()
    for index, m in enumerate(_XF.finditer(styles, *parts[b"cellXfs"])):
        font, fill, fmt = _FONT_ID.search(m.group(1)), _FILL_ID.search(m.group(1)), _FMT_ID.search(m.group(1))
        ground = fills[int(fill.group(1))] if fill and int(fill.group(1)) < len(fills) else WHITE if not fill else ""
        colour = fonts[int(font.group(1))] if font and int(font.group(1)) < len(fonts) else ""
        if fmt and int(fmt.group(1)) in white_formats:
            colour = WHITE
        if ground and colour == ground:
            out.add(index)
    return frozenset(out)


def _cells_styled(xml: bytes, wanted) -> Iterator[tuple[tuple[int, int], int]]:
    """Each cell (row, column) holding something in one of the `wanted` styles (their index in
    cellXfs), in the window, with its style."""
    for m in _STYLED_CELL.finditer(xml):
        style = int(m.group(2))
        if style in wanted:
            at = _CELL_AT.search(m.group(1))
            if at and int(at.group(2)) <= WINDOW_ROWS:
                yield (int(at.group(2)) - 1, _col_index(at.group(1))), style


def inherited(own: dict, parent: dict, name):
    """own[name], else its parent's, and so on up: styles that name a parent (Excel 2003 XML's
    ss:Parent, an .ods's parent-style-name) take what they do not set from it. None when no
    style up the line has one; a line that loops ends where it would come round."""
    seen = set()
    while name not in own and name in parent and name not in seen:
        seen.add(name)
        name = parent[name]
    return own.get(name)


def shown_as(number: int, code: str) -> str:
    """What a number format (its id, and its code when written out) shows a count as, when not
    the count: its code (0%, 0.0"万", ;;;), or 日期 for a CJK built-in date; "" when it shows
    the number held."""
    if number in _PERCENT_IDS:
        return "0%" if number == 9 else "0.00%"
    if code:
        return code if (_SHOWS_OTHER.search(code) or _hides_numbers(code) or _shows_digits_of_its_own(code)
                        or _writes_among_the_digits(code) or _shows_a_guess(code) or _shows_negative(code)) else ""
    if number in _SCIENTIFIC_IDS:
        return _SCIENTIFIC_IDS[number]
    return CJK_DATE if number in _CJK_DATE_IDS else ""


def _shows_digits_of_its_own(code: str) -> bool:
    """A format that writes digits of its own beside the count's: 0"0" shows 1078 as 10780, and
    "1"0 as 11078. Only the sections a count of 1 or more is shown by count ([$-804] is a locale)."""
    if '"' not in code and "\\" not in code and "*" not in code:
        return False  # no literal text at all: the commonest codes (0, #,##0, General)
    return any(any((t[:1] in ('"', "\\") and any(ch.isdigit() for ch in t)) or (t[:1] == "*" and t[1:].isdigit())
                   for t in _FORMAT_TOKEN.findall(section))
               for section in _positive_sections(_sections(code)))


# Words that make a figure a guess: "约"0 shows 1083 as 约1083, 0"余" as 1083余, which typed as
# text would be no count (not-a-count): the same figure seen, said the same way.
_GUESS_WORDS = ("约", "余", "多", "左右", "近", "超过", "以上", "以下", "上下", "大概", "估")


def _shows_a_guess(code: str) -> bool:
    """A format whose literal text, in a section a count of 1 or more is shown by, makes the
    count a guess: "约"0, 0"余", 0"户左右"."""
    if '"' not in code and "\\" not in code:
        return False
    return any(any(t[:1] in ('"', "\\") and any(w in t for w in _GUESS_WORDS) for t in _FORMAT_TOKEN.findall(section))
               for section in _positive_sections(_sections(code)))


# "text", \x, [Red], then _x (a space as wide as x) and *x (x repeated to fill the cell), then one character
_FORMAT_TOKEN = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]|_.|\*.|.', re.S)
_SHOWN_AS_TYPED = frozenset("-+():$")  # what Excel shows as it is, unquoted, between digits


def _writes_among_the_digits(code: str) -> bool:
    """A format that writes a mark between the count's digits: 0\\.0 and 0"."0 show 1223 as
    122.3, 0-0 as 122-3, a number the clerk never wrote. A space (1 223) reads as the count."""
    if '"' not in code and "\\" not in code and " " not in code and not _SHOWN_AS_TYPED.intersection(code):
        return False  # no mark it could write: the commonest codes (0, #,##0, General)
    for section in _positive_sections(_sections(code)):
        tokens = _FORMAT_TOKEN.findall(section)
        digits = [i for i, t in enumerate(tokens) if t in ("0", "#", "?")]
        for i in range(digits[0] + 1, digits[-1]) if len(digits) > 1 else ():
            t = tokens[i]
            text = t[1:-1] if t[:1] == '"' else t[1:] if t[:1] == "\\" else t if t in _SHOWN_AS_TYPED else ""
            if text.strip():
                return True
            if t == " " and _digits_after(tokens, i + 1) != 3:
                return True  # 0 0 shows 60 as 6 0: a space groups thousands only before three digits
    return False


def _digits_after(tokens: list[str], start: int) -> int:
    n = 0
    while start + n < len(tokens) and tokens[start + n] in ("0", "#", "?"):
        n += 1
    return n


_LITERALS = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]')  # "text", \x, [Red] and [>100]: no digit shown by them
_GENERAL = re.compile(r"general|g/通用格式|常规|@", re.I)  # a number shown as it is (@: as text, the same)
_CONDITION = re.compile(r"\s*\[(=|<>|<=|>=|<|>)\s*(-?\d+(?:\.\d*)?)\]")


def _hides_numbers(code: str) -> bool:
    """;;; and the like: a section a positive count is shown by that shows no digit of it
    (empty, "", "-"), so that the count shows as nothing or as a mark. Which sections those
    are follows the conditions, as Excel's: [=0]"-";0 shows 3000 by its second section (and a
    0 as a dash, which reads as 0 all the same); [>100]"多";0 shows 3000 as 多."""
    sections = _sections(code)
    return any(not re.search(r"[0#?]", shown) and not _GENERAL.search(shown)
               and (not _DATE_LETTERS.search(shown) or _WEEKDAY.fullmatch(shown.strip()))
               for shown in (_LITERALS.sub("", section) for section in _positive_sections(sections)))


# A date's or a time's letters: such a code shows a date (the engine gives a date, not-a-count)
_DATE_LETTERS = re.compile(r"[ymdhsegbaYMDHSEGBA]")
_WEEKDAY = re.compile(r"a{3,4}", re.I)  # [$-804]aaaa: the engine gives the count, the sheet shows 星期三


def _shows_negative(code: str) -> bool:
    """A format that shows a count of 1 or more as a negative figure: -0, \\-0, "负"0, (0),
    [Red](0). A clerk reading the sheet sees -60 where 60 is held; typed, -60 is no count."""
    for section in _positive_sections(_sections(code)):
        if _DATE_LETTERS.search(_LITERALS.sub("", section)):
            continue  # a date's dashes (yyyy-mm-dd) are no sign
        for t in _FORMAT_TOKEN.findall(section):
            if t in ("0", "#", "?"):
                break  # marks after the first digit are no sign
            text = t[1:-1] if t[:1] == '"' else t[1:] if t[:1] == "\\" else "" if t[:1] in ("[", "_", "*") else t
            if any(mark in text for mark in ("-", "−", "－", "(", "（", "负")):
                return True
    return False


def _sections(code: str) -> list[str]:
    """The code's sections: split at each ; outside quoted text and \\-escapes."""
    out, current, quoted, i = [], [], False, 0
    while i < len(code):
        ch = code[i]
        if ch == "\\" and not quoted:
            current.append(code[i:i + 2])
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        elif ch == ";" and not quoted:
            out.append("".join(current))
            current = []
            i += 1
            continue
        current.append(ch)
        i += 1
    return [*out, "".join(current)]


def hides_text(code: str) -> bool:
    """A format whose fourth section, the one text is shown by, shows no text (;;; hides it):
    a count typed as text ('797) under it shows nothing of itself."""
    sections = _sections(code)
    return len(sections) >= 4 and "@" not in sections[3]


def _positive_sections(sections: list[str]) -> list[str]:
    """The sections a count of 1 or more may be shown by: the first, unless its condition holds
    for no such count; the next while the conditions so far leave some counts over."""
    reached = []
    for section in sections[:3]:
        condition = _CONDITION.match(section)
        if condition is None:
            reached.append(section)  # unconditioned: it takes every count left
            break
        some, every = _holds_for_counts(condition.group(1), float(condition.group(2)))
        if some:
            reached.append(section)
        if every:
            break
    return reached


def _holds_for_counts(op: str, bound: float) -> tuple[bool, bool]:
    """Whether [op bound] holds for some whole number of 1 or more, and for every one."""
    whole = bound == int(bound)
    some = {"=": whole and bound >= 1, "<>": True, "<": bound > 1, "<=": bound >= 1, ">": True, ">=": True}[op]
    every = {"=": False, "<>": bound < 1 or not whole, "<": False, "<=": False, ">": bound < 1, ">=": bound <= 1}[op]
    return some, every


_CELL_OPENED = re.compile(rb'<c\b([^>]*?)(?<!/)>')
_STYLE_ATTRIBUTE = re.compile(rb'\bs="')


def _shown_otherwise(xml: bytes, styles: dict[int, str]) -> tuple:
    """The cells (row, column) styled with one of `styles`, and the format each shows. A cell
    with no style of its own has the first, the workbook's Normal style: looked at only when
    that one shows a count otherwise."""
    found = [(cell, styles[style]) for cell, style in _cells_styled(xml, styles)]
    normal = styles.get(0)
    if normal is not None:
        for m in _CELL_OPENED.finditer(xml):
            at = _CELL_AT.search(m.group(1)) if _STYLE_ATTRIBUTE.search(m.group(1)) is None else None
            if at and int(at.group(2)) <= WINDOW_ROWS:
                found.append(((int(at.group(2)) - 1, _col_index(at.group(1))), normal))
    return tuple(found)


def scan_sheet_xml(xml: bytes, styles: dict[int, str] | None = None, strings: dict[int, str] | None = None,
                   struck: frozenset[int] = frozenset(), struck_text: dict[int, str] | None = None,
                   unseen: frozenset[int] = frozenset()) -> tuple[int, int, str, Formulas]:
    """Extent of value cells (rows, cols), the farthest cell, what its formulas hide, which
    cells show an error value, which columns are hidden, (with `styles`, the workbook's
    styles_shown_otherwise) which cells a number format shows as another number, and which
    cells' text holds a raised character (`strings`: raised_strings of the shared strings)."""
    formulas = _scan_formulas(xml)
    texts = _raised_cells(xml, strings or {})
    if texts:
        formulas = replace(formulas, texts=texts)
    if styles:
        shown = _shown_otherwise(xml, styles)
        if shown:
            formulas = replace(formulas, shown_otherwise=shown)
    if struck or struck_text or b"strike" in xml:
        whole, part = (_struck_text_cells(xml, struck_text or {}) if struck_text or b"strike" in xml else (set(), {}))
        cells = ({cell for cell, _ in _cells_styled(xml, struck)} if struck else set()) | whole
        if cells:
            formulas = replace(formulas, struck=frozenset(cells))
        if part:
            formulas = replace(formulas, struck_text=tuple(part.items()))
    if unseen:
        cells = frozenset(cell for cell, _ in _cells_styled(xml, unseen))
        if cells:
            formulas = replace(formulas, unseen=cells)
    if _ANY_ERROR.search(xml):
        errors = _scan_errors(xml)
        if errors:
            formulas = replace(formulas, errors=errors)
    hidden = _hidden_columns(xml)
    if hidden:
        formulas = replace(formulas, hidden_cols=hidden)
    if b'hidden="' in xml or b' ht="0' in xml:  # the space: right="0.75" of the page's margins is no row's height
        rows = _hidden_rows(xml)
        if rows:
            formulas = replace(formulas, rows_hidden=rows)
    # Rows come in order: the last <row> bounds them all, and no three-letter column means
    # none past ZZ. Only a sheet that fails either quick test has its every cell looked at.
    last = xml.rfind(b"<row ")
    m = _LAST_ROW.match(xml, last) if last >= 0 else None
    if not _WIDE_CELL.search(xml) and (m is None or int(m.group(1)) <= WINDOW_ROWS):
        return (int(m.group(1)) if m else 0), 702, "", formulas
    max_r = max_c = 0
    farthest = (0, 0)  # of the cells beyond the window, the last row's rightmost: where they end
    for m in _VALUE_CELL.finditer(xml):
        r, c = int(m.group(2)), _col_index(m.group(1)) + 1
        if r > max_r or c > max_c:
            max_r, max_c = max(max_r, r), max(max_c, c)
        if (r > WINDOW_ROWS or c > WINDOW_COLS) and (r, c) > farthest:
            farthest = (r, c)  # J to Z on the last row: Z60099 (the first of them, J60099, was named)
    far = f"{column_letter(farthest[1] - 1)}{farthest[0]}" if farthest[0] else ""
    if max_r > WINDOW_ROWS or max_c > WINDOW_COLS:
        # Such a sheet is read through its window, which gives no merged cells: they are the
        # scan's to give, or a figure merged over two counts would read as itself and a 0.
        formulas = replace(formulas, merged=_merged_cells(xml))
    return max_r, max_c, far, formulas


_MERGE_CELL = re.compile(rb'<mergeCell\b[^>]*?\bref="([A-Z]{1,3})(\d{1,7}):([A-Z]{1,3})(\d{1,7})"')


def _merged_cells(xml: bytes) -> tuple:
    """The sheet's merged cells (r1, c1, r2, c2, 0-based) that start within the window."""
    out = []
    for m in _MERGE_CELL.finditer(xml):
        r1, c1, r2, c2 = int(m.group(2)) - 1, _col_index(m.group(1)), int(m.group(4)) - 1, _col_index(m.group(3))
        if r1 < WINDOW_ROWS and c1 < WINDOW_COLS:
            out.append((r1, c1, min(r2, WINDOW_ROWS - 1), min(c2, WINDOW_COLS - 1)))
    return tuple(out)


# --- what a cell shows, where a file keeps it beside the number ----------------------------------

# What a number's text keeps to be read back: digits, signs, the marks of decimals and of
# thousands, an exponent, and what makes it another number: a percent, or 万 千 亿 as words. The
# rest is a unit such as 户 or 个 and a currency sign or space, which show the number as it is.
_NOT_OF_THE_NUMBER = re.compile(r"[^0-9.,+\-eE%万千亿]")
_NO_FIGURE = ("", "-", "–", "—")  # what a 0 may show as (hidden, or an accounting format's dash)


class ShownText(str):
    """What a cell shows, where that is not the number it holds, in a file that keeps both: an
    .ods (its number formats are elements, no code) or an HTML page Excel exported (x:num
    beside the text). The text stands for the format that shows it so."""


def shown_text(number: float, text: str) -> ShownText | None:
    """`text`, as a ShownText, when it does not read as `number`; None when it does. A unit or
    a currency sign beside the digits shows the number as it is; a 0 may show as nothing or a dash.

    A comma groups thousands (1,234) or, where a locale writes decimals with it, marks them
    (20,00); both readings are tried, as no number a format makes reads as another under the
    other. A dot is a decimal point: 3.000 is 3, so a 3000 shown as 3.000 (a format in thousands
    with three decimals) is said, though a locale that groups with dots (1.234) is then told
    too, loudly rather than silently wrong."""
    plain = _NOT_OF_THE_NUMBER.sub("", text)
    if number == 0 and plain in _NO_FIGURE:
        return None  # a 0 hidden, or shown as a dash: a blank reads as 0 all the same
    if _reads_otherwise(number, text):
        return ShownText(text[:40])
    readings = [plain.replace(",", "")]
    if "," in plain:
        readings.append(plain.replace(".", "").replace(",", "."))
    for reading in readings:
        try:
            if float(reading) == number:
                return None
        except ValueError:
            continue
    if chinese_numeral(text.strip()) == number:
        return None  # [DBNum1]: 1873 shown as 一千八百七十三, the same number
    return ShownText(text[:40])


_SPLIT_DIGITS = re.compile(r"\d(\s+)\d")
_THOUSANDS = re.compile(r"\d{1,3}(?:\s\d{3})+(?!\d)")
_NEGATIVE_MARKS = ("负", "(", "（", "-", "−", "－", "–")


def _reads_otherwise(number: float, text: str) -> bool:
    """Text beside the digits that makes the figure another than the number held, which the
    marks set aside above would let pass: a guess (约60, 60余, 60户左右), a positive count shown
    as negative ((60), 负60, -60 for 60), or its digits parted other than by thousands (6 0)."""
    if any(w in text for w in _GUESS_WORDS):
        return True
    stripped = text.strip()
    if number > 0 and stripped.startswith(_NEGATIVE_MARKS):
        return True
    if _SPLIT_DIGITS.search(stripped):
        digits = re.search(r"\d[\d\s]*\d", stripped)
        return digits is not None and not _THOUSANDS.fullmatch(digits.group())
    return False


# --- raised characters ----------------------------------------------------------------------
# A footnote mark after a figure is often typed as a raised character: 23 and a superscript 1.
# Every engine runs the runs of a cell's text together, "231", which reads as a count; what the
# sheet shows is 23¹, which the reader refuses as it refuses a ¹ typed as such (not-a-count).

_RAISED = str.maketrans("0123456789+-=()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾")
_LOWERED = str.maketrans("0123456789+-=()", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎")


def raised(text: str, how: str) -> str:
    """A run of text as its raised (superscript) or lowered (subscript) characters show it."""
    how = how.lower()
    if how.startswith("sup"):
        return text.translate(_RAISED)
    if how.startswith("sub"):
        return text.translate(_LOWERED)
    return text


_ANY_RAISED = re.compile(rb'<(?:\w+:)?vertAlign\b[^>]*?\bval="(?:superscript|subscript)"')
_STRING_ITEM = re.compile(rb"<(?:\w+:)?si\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?si>)", re.S)
_RUN = re.compile(rb"<(?:\w+:)?r\b[^>]*>(.*?)</(?:\w+:)?r>", re.S)
_RUN_ALIGN = re.compile(rb'<(?:\w+:)?vertAlign\b[^>]*?\bval="(\w+)"')
_RUN_TEXT = re.compile(rb"<(?:\w+:)?t\b[^>]*?(?:/>|>([^<]*)</(?:\w+:)?t>)")


def _run_text(body: bytes) -> str:
    """A rich text's runs (its <r> elements) as shown: each raised or lowered run as such."""
    out = []
    for run in _RUN.finditer(body):
        align = _RUN_ALIGN.search(run.group(1))
        text = "".join(unescape(t.decode("utf-8", "replace")) for t in _RUN_TEXT.findall(run.group(1)))
        out.append(raised(text, align.group(1).decode()) if align else text)
    return "".join(out)


def raised_strings(shared: bytes) -> dict[int, str]:
    """The shared strings (by index) holding a raised or lowered run, as they show."""
    if b"vertAlign" not in shared or not _ANY_RAISED.search(shared):
        return {}
    return {i: _run_text(m.group(1)) for i, m in enumerate(_STRING_ITEM.finditer(shared))
            if m.group(1) and _ANY_RAISED.search(m.group(1))}




def struck_strings(shared: bytes) -> dict[int, str]:
    """The shared strings (by index) some run of which holding text is struck through: "" when
    every such run is (a name struck out as text, its characters selected and struck, where the
    cell's font is not), else the struck text (an old figure struck beside its correction)."""
    if b"strike" not in shared:
        return {}
    out = {}
    for i, m in enumerate(_STRING_ITEM.finditer(shared)):
        part = _struck_part(m.group(1)) if m.group(1) else None
        if part is not None:
            out[i] = part
    return out


def _struck_part(body: bytes) -> str | None:
    """What of a rich text is struck through: None when nothing, "" when every run holding
    text is, else the struck runs' text."""
    if b"strike" not in body:
        return None
    runs = [(run.group(1), "".join(t.decode("utf-8", "replace") for t in _RUN_TEXT.findall(run.group(1))))
            for run in _RUN.finditer(body)]
    runs = [(run, text) for run, text in runs if text.strip()]
    struck = [text.strip() for run, text in runs if _STRIKE.search(run)]
    if not struck:
        return None
    return "" if len(struck) == len(runs) else " ".join(struck)[:40]


def _struck_text_cells(xml: bytes, strings: dict[int, str]) -> tuple[set, dict]:
    """The cells (row, column) in the window holding text struck through as text, one of the
    shared `strings` (struck_strings') or a rich inline string: those struck whole, and those
    struck in part with the struck text."""
    whole, part = set(), {}
    for m in _STRING_CELL.finditer(xml):
        if b'"inlineStr"' in m.group(1):
            struck = _struck_part(m.group(2))
        else:
            v = _CACHED.search(m.group(2))
            struck = strings.get(int(v.group(1))) if v and v.group(1).strip().isdigit() else None
        at = _CELL_AT.search(m.group(1)) if struck is not None else None
        if at and int(at.group(2)) <= WINDOW_ROWS:
            cell = (int(at.group(2)) - 1, _col_index(at.group(1)))
            if struck:
                part[cell] = struck
            else:
                whole.add(cell)
    return whole, part


_STRING_CELL = re.compile(rb'<c\b([^>]*?\bt="(?:s|inlineStr)"[^>]*?)(?<!/)>(.*?)</c>', re.S)


def _raised_cells(xml: bytes, strings: dict[int, str]) -> tuple:
    """The cells (row, column) whose text holds a raised or lowered run, and the text as shown:
    shared strings (`strings`, raised_strings's) and rich inline strings."""
    inline = b"vertAlign" in xml and _ANY_RAISED.search(xml) is not None
    if not strings and not inline:
        return ()
    out = []
    for m in _STRING_CELL.finditer(xml):
        at = _CELL_AT.search(m.group(1))
        if at is None or int(at.group(2)) > WINDOW_ROWS:
            continue
        body = m.group(2)
        if b'"inlineStr"' in m.group(1):
            shown = _run_text(body) if inline and _ANY_RAISED.search(body) else None
        else:
            v = _CACHED.search(body)
            shown = strings.get(int(v.group(1))) if v and v.group(1).strip().isdigit() else None
        if shown is not None:
            out.append(((int(at.group(2)) - 1, _col_index(at.group(1))), shown))
    return tuple(out)
