"""Returns in the text shapes web systems and offices export, opened as workbooks: an ".xls" that
is an HTML page (or MHTML, several sheets in one file), Excel 2003 XML (SpreadsheetML), and CSV,
one table a file. Told by content, never by extension; decoded by the charset the file declares,
else UTF-8 (with or without a BOM), else GB18030 (GBK's superset, as Chinese Excel saves CSV).
Each becomes grids of values like any workbook's, read with the same layouts and habits.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re

from .charsets import decode, looks_like_text
from .grid import Book, Grid, Unreadable
from .scans import WINDOW_COLS, WINDOW_ROWS


def open_text_book(data: bytes, name: str = "") -> Book:
    """A workbook from an HTML page, MHTML, SpreadsheetML or CSV file; Unreadable when the
    bytes are none of these. `name`: the file's own name without its extension, which names
    the one sheet of a CSV file (and of a page that names none). A page or XML file holding no
    table is a book of no sheets: the reader says it is no return."""
    if not looks_like_text(data[:4096]):
        raise Unreadable("unreadable", "不是Excel文件")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Excel's "Unicode text" and some pages are UTF-16: as UTF-8 with its mark, the markup
        # is found by its first bytes, and the mark outranks any charset the page declares.
        data = codecs.BOM_UTF8 + decode(data).encode("utf-8")
    head = data[:4096].lstrip(codecs.BOM_UTF8).lstrip().lower()
    from . import markup

    if head.startswith((b"mime-version", b"from:", b"content-type: multipart")) or b"multipart/related" in head[:1024]:
        return markup.open_mhtml(data, name)
    if b"urn:schemas-microsoft-com:office:spreadsheet" in data[:8192] and (
            head.startswith(b"<?xml") or re.match(rb"(?:<\?.*?\?>\s*|<!--.*?-->\s*)*<(?:\w+:)?workbook\b", head, re.S)):
        # Excel 2003 XML, with its <?xml?> line or without it (some writers leave it off)
        return markup.open_spreadsheetml(data)
    if head.startswith(b"<") and re.search(rb"<(?:html|table|body|head|meta|!doctype html)\b", head):
        return markup.open_html(data, name)
    if head.startswith(b"<"):
        return Book([], lambda _: None, kind="xml")  # markup holding no table: no return, as a page without one
    return open_csv(data, name)


def open_csv(data: bytes, name: str = "") -> Book:
    """One table, one sheet named after the file. The delimiter is the one the first lines
    agree on: a comma, a tab (Excel's "Unicode text"), a semicolon or a bar."""
    text = decode(data)
    if sum(ch < " " and ch not in "\t\r\n" for ch in text[:4096]) * 100 > len(text[:4096]):
        raise Unreadable("unreadable", "不是Excel文件，也不是CSV表格")  # bytes that merely decode
    # Lines end only where a CSV's lines end (\r\n, \n, \r): str.splitlines also breaks at
    # U+2028, U+0085, \v and \f, which a quoted field may hold and Excel keeps in one cell;
    # broken there, every row below was numbered one too many.
    lines = list(itertools.islice(io.StringIO(text, newline=""), 30))
    delimiter = max((",", "\t", ";", "|"), key=lambda d: (sum(d in line for line in lines), -",\t;|".index(d)))
    if not any(delimiter in line for line in lines):
        raise Unreadable("unreadable", "不是Excel文件，也不是CSV表格")
    rows: list[list[object]] = []
    formulas: set[tuple[int, int]] = set()
    far = ""
    try:
        for i, row in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)):
            if i >= WINDOW_ROWS:
                far = far or f"第{i + 1}行"
                continue
            rows.append([_csv_value(v) for v in row[:WINDOW_COLS]])
            for c, v in enumerate(rows[-1]):
                if v.startswith("=") and _FORMULA.match(v):
                    # A formula written as text (=SUM(B5:B20)): Excel computes it on opening, the
                    # file holds no result. A 合计 is then recomputed; a township's is said.
                    formulas.add((i, c))
                    rows[-1][c] = ""
    except csv.Error as e:  # a NUL byte past the start, a field beyond csv's limit: no table
        raise Unreadable("unreadable", "不是Excel文件，也不是CSV表格") from e
    if _cut_short(text, rows):
        raise Unreadable("unreadable", CUT_SHORT)
    grid = Grid(name or "CSV", True, _rectangular(rows), formula_without_value=formulas, far_cell=far)
    return Book([(grid.name, True)], lambda _: grid, kind="csv")


_FORMULA = re.compile(r"=\s*[A-Za-z$(+\-\d]")  # =SUM(B5:B20), =B5+C5; not =以下为乡镇=
CUT_SHORT = "文件不完整（在表格中间中断，可能下载、导出或复制时没有完成）"


def _cut_short(text: str, rows: list[list[object]]) -> bool:
    """A CSV cut off in its last line (a download or a copy that stopped): no line end after
    it, and fewer fields than the line above, whose cells it would take the place of. A last
    line as wide as the others, or ended, is whole as far as anyone can tell."""
    if len(rows) < 2 or text.endswith(("\n", "\r")) or not rows[-1]:
        return False
    return len(rows[-1]) < len(rows[-2])


def _csv_value(v: str) -> str:
    # Excel writes a text it must keep as text (a code, a leading zero) as ="0931".
    if v.startswith('="') and v.endswith('"'):
        return v[2:-1]
    return v


def _rectangular(rows: list[list[object]]) -> list[list[object]]:
    width = max(map(len, rows), default=0)
    return [row if len(row) == width else [*row, *[""] * (width - len(row))] for row in rows]
