"""A small writer for plain data workbooks (consolidated.xlsx): header row styled, frozen,
column widths, A4 landscape one page wide, header repeated on every printed page.

openpyxl builds a Python object per cell and spends ~8 µs on each; the township sheets of a
national form run to millions of cells, so this writes the sheet XML directly. Text goes
to the shared-strings table, as Excel itself writes it: each file or township name is stored
once, not on every row. Text is always text, so county text that starts with = is never a
formula, unless the program writes one (`Formula`, its value cached, as Excel saves it); text
that starts as a formula would (= + - @) carries Excel's quotePrefix, as when a clerk types
'=…, so that editing the cell keeps it text. Pure:
bytes out, with fixed zip times, so equal content gives equal bytes.

A sheet may also come in blocks (`BlockSheet`) made once and kept from one run to the next:
the township rows of each return. A block is finished and compressed on its own, so it must
not depend on anything around it: its text is written in the cell rather than shared, and its
rows and cells carry no `r` attribute, their position being their order (ECMA-376 18.3.1.73
and 18.3.1.4; Excel, LibreOffice, openpyxl and calamine all read them so). Its compressed
bytes end on a zlib full flush, which is how pigz joins streams: one after another they are
the sheet's own deflate stream, and their CRCs combine without the text.
"""

from __future__ import annotations

import math
import numbers
import re
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from html import escape as _escape
from typing import NamedTuple

from ..stages.read.grid import column_letter
from .formulas import Formula, sheet_reference

FIXED_TIME = (2016, 12, 5, 0, 0, 0)
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
MAX_TEXT = 32767  # Excel's limit for one cell


def escape(text: str) -> str:
    """Text made safe for an XML element: & < > as entities. xml.sax.saxutils does the same,
    but importing it loads urllib.request, http.client and email (a fiftieth of a second), which
    the processes making the Word report and the workbooks would pay at the end of every run."""
    return _escape(text, quote=False)


def quoted(text: str) -> str:
    """Text as an XML attribute's value, in double quotes, line breaks and tabs kept as such."""
    value = escape(text).replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    return f'"{value}"'


@dataclass(frozen=True)
class OutSheet:
    """A sheet given by column: every column a sequence of the same length, one value per row
    (str, int, float, bool or None). Columns, because a township sheet's values come out of
    DataFrame columns and repeat a lot down each one."""

    title: str
    header: list[str]
    columns: list[Sequence]
    widths: list[float]

    @classmethod
    def from_rows(cls, title: str, header: list[str], rows: list[list], widths: list[float]) -> OutSheet:
        width = len(header)
        columns = [list(c) for c in zip(*(list(r) + [None] * (width - len(r)) for r in rows))] if rows else []
        return cls(title, header, columns or [[] for _ in header], widths)

    @property
    def n_rows(self) -> int:
        return len(self.columns[0]) if self.columns else 0


class Block(NamedTuple):
    """Some rows of a sheet as finished XML, compressed on their own (see the module's note). A
    named tuple: the outbox's cache keeps its four fields as they are (store.cache.BlockCache)."""

    deflated: bytes
    crc: int  # CRC-32 of the XML
    size: int  # length of the XML
    rows: int


@dataclass(frozen=True)
class BlockSheet:
    """A sheet whose rows come as blocks (`row_blocks`), in order. A township sheet is one
    block per return: a re-run reuses the blocks of the returns it has seen."""

    title: str
    header: list[str]
    blocks: list[Block]
    widths: list[float]


def _text(v: str) -> str:
    if len(v) < 40 and v.isalnum():
        return v  # most text (names, codes) has nothing to escape
    return escape(_ILLEGAL.sub("", v[:MAX_TEXT]))


class _Strings:
    """The shared-strings table: each distinct text once, cells refer to it by index."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def cell(self, text: str) -> str:
        i = self.index.get(text)
        if i is None:
            i = self.index[text] = len(self.index)
        return f'<c{_text_style(text)} t="s"><v>{i}</v></c>'

    def xml(self) -> str:
        items = "".join(f'<si><t xml:space="preserve">{_text(t)}</t></si>' for t in self.index)
        return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                f'uniqueCount="{len(self.index)}">{items}</sst>')


def _text_style(text: str) -> str:
    """The style of text a spreadsheet would take for a formula once its cell is edited."""
    return ' s="3"' if text[:1] in FORMULA_STARTS else ""


FORMULA_STARTS = ("=", "+", "-", "@")


def _inline(text: str) -> str:
    space = ' xml:space="preserve"' if text != text.strip() else ""
    return f'<c{_text_style(text)} t="inlineStr"><is><t{space}>{_text(text)}</t></is></c>'


def _cell(v: object, strings: _Strings | None) -> str:
    # Every cell is written, an empty one as <c/>, so cells need no r attribute: their
    # position is their order (ECMA-376 18.3.1.4), and the XML stays small.
    t = type(v)
    if t is int:
        return f"<c><v>{v}</v></c>"
    if t is Formula:  # before the test for "", which a tuple answers slowly
        return _formula(v)
    if v is None or v == "":
        return "<c/>"
    if t is bool:
        return f'<c t="b"><v>{int(v)}</v></c>'
    if t is float:
        return f"<c><v>{v}</v></c>" if math.isfinite(v) else "<c/>"
    if isinstance(v, numbers.Integral):  # numpy's integers
        return f"<c><v>{int(v)}</v></c>"
    if isinstance(v, numbers.Real):
        return f"<c><v>{float(v)}</v></c>" if math.isfinite(v) else "<c/>"
    return strings.cell(str(v)) if strings is not None else _inline(str(v))


def _formula(v: Formula) -> str:
    # its value cached as Excel caches it: a number, or a text ("" where a rate has nothing to divide)
    style = ' s="2"' if v.percent else ""
    f = v.text
    if "&" in f or "<" in f or ">" in f:  # seldom: a sheet's name with one of them
        f = escape(f)
    if isinstance(v.value, str):
        return f'<c{style} t="str"><f>{f}</f><v>{escape(v.value)}</v></c>'
    return f"<c{style}><f>{f}</f><v>{v.value}</v></c>"


def _column_cells(column: Sequence, strings: _Strings | None) -> list[str]:
    """Each value's cell XML. Values repeat down a column (counts, file and township names),
    so each distinct one is written once. 1, 1.0 and True are equal keys but different
    cells, so a column of mixed types is written value by value."""
    kinds = set(map(type, column)) - {type(None)}
    if kinds == {Formula}:  # each refers to its own row: nothing repeats
        return [_formula(v) if v is not None else "<c/>" for v in column]
    if len(kinds) <= 1:
        memo = {v: _cell(v, strings) for v in dict.fromkeys(column)}  # in order: the same shared strings every run
        return list(map(memo.__getitem__, column))
    return [_cell(v, strings) for v in column]


def row_blocks(lead: list[list], columns: list[Sequence], bounds: list[tuple[int, int]]) -> list[Block]:
    """The rows [start, end) of each bound as one Block, every row of block i starting with
    the values lead[i]. Text is written in the cell (no shared strings), and rows carry no
    number, so a block never depends on the others."""
    cells = [_column_cells(column, None) for column in columns]
    # One compressor serves them all: a full flush leaves it as new, and the bytes between two
    # flushes as a fresh compressor would write them.
    compressor = zlib.compressobj(1, zlib.DEFLATED, -15)
    out = []
    for values, (a, b) in zip(lead, bounds):
        start = "<row>" + "".join([_cell(v, None) for v in values])
        xml = (start + ("</row>" + start).join(map("".join, zip(*(c[a:b] for c in cells)))) + "</row>").encode("utf-8")
        deflated = compressor.compress(xml) + compressor.flush(zlib.Z_FULL_FLUSH)
        out.append(Block(deflated, zlib.crc32(xml), len(xml), b - a))
    return out


class _Deflated:
    """A zip entry's data compressed ahead: deflate stream, CRC-32 and length of the text."""

    def __init__(self, head: bytes, blocks: list[Block] = (), tail: bytes = b"") -> None:
        if not blocks:
            whole = zlib.compressobj(1, zlib.DEFLATED, -15)
            self.data, self.crc, self.size = whole.compress(head + tail) + whole.flush(), zlib.crc32(head + tail), len(head + tail)
            return
        first = zlib.compressobj(1, zlib.DEFLATED, -15)
        last = zlib.compressobj(1, zlib.DEFLATED, -15)
        parts = [first.compress(head) + first.flush(zlib.Z_FULL_FLUSH)]
        crc, size = zlib.crc32(head), len(head)
        zeros = bytes(max((b.size for b in blocks), default=0))
        for block in blocks:
            # CRC-32 is affine: crc(A + B) = crc(zeros, crc(A)) ^ crc(zeros) ^ crc(B), zeros as long as B.
            crc = zlib.crc32(memoryview(zeros)[:block.size], crc) ^ _zeros_crc(block.size) ^ block.crc
            size += block.size
            parts.append(block.deflated)
        parts.append(last.compress(tail) + last.flush())
        self.data, self.crc, self.size = b"".join(parts), zlib.crc32(tail, crc), size + len(tail)


@lru_cache(maxsize=16384)
def _zeros_crc(size: int) -> int:
    """CRC-32 of `size` zero bytes, the same for every block of that length: at 3,000 returns
    the 12,000 blocks have some 1,600 lengths, and the zeros run to 85 MB."""
    return zlib.crc32(bytes(size))


def _sheet_xml(sheet: OutSheet | BlockSheet, strings: _Strings) -> str | _Deflated:
    if isinstance(sheet, BlockSheet):
        n, width = sum(b.rows for b in sheet.blocks), len(sheet.header)
    else:
        n, width = sheet.n_rows, max(len(sheet.header), len(sheet.columns))
    letters = [column_letter(i) for i in range(max(width, 1))]
    out = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
        f'<dimension ref="A1:{letters[-1]}{n + 1}"/>'
        '<sheetViews><sheetView workbookViewId="0"><pane xSplit="1" ySplit="1" topLeftCell="B2" '
        'activePane="bottomRight" state="frozen"/></sheetView></sheetViews>'
        '<sheetFormatPr defaultRowHeight="15"/><cols>'
    ]
    for i, w in enumerate(sheet.widths, start=1):
        out.append(f'<col min="{i}" max="{i}" width="{w:.1f}" customWidth="1"/>')
    out.append('</cols><sheetData><row r="1">')
    for i, name in enumerate(sheet.header):
        out.append(f'<c r="{letters[i]}1" s="1" t="inlineStr"><is><t>{_text(str(name))}</t></is></c>')
    out.append("</row>")
    tail = ('</sheetData><pageMargins left="0.5" right="0.5" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
            '<pageSetup paperSize="9" orientation="landscape" fitToWidth="1" fitToHeight="0"/></worksheet>')
    if isinstance(sheet, BlockSheet):
        return _Deflated("".join(out).encode("utf-8"), sheet.blocks, tail.encode("utf-8"))
    if n:
        starts = [f'<row r="{r}">' for r in range(2, n + 2)]
        cells = [_column_cells(column, strings) for column in sheet.columns]
        out.append("</row>".join(map("".join, zip(starts, *cells))))
        out.append("</row>")
    out.append(tail)
    return "".join(out)


_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<fonts count="2"><font><sz val="11"/><name val="宋体"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="宋体"/><family val="2"/></font></fonts>'
    '<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    '<fill><patternFill patternType="solid"><fgColor rgb="FFDDEBF7"/><bgColor indexed="64"/></patternFill></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1" applyAlignment="1">'
    '<alignment horizontal="center" vertical="center" wrapText="1"/></xf>'
    '<xf numFmtId="10" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" quotePrefix="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)


def write_xlsx(sheets: list[OutSheet | BlockSheet]) -> bytes:
    n = len(sheets)
    content_types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        + "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
                  'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                  for i in range(1, n + 1))
        + "</Types>"
    )
    root_rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>'
    )
    names = [s.title[:31] for s in sheets]
    workbook = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
        + "".join(f'<sheet name={quoted(name)} sheetId="{i}" r:id="rId{i}"/>' for i, name in enumerate(names, start=1))
        + "</sheets><definedNames>"
        + "".join(f'<definedName name="_xlnm.Print_Titles" localSheetId="{i}">{escape(sheet_reference(name))}!$1:$1</definedName>'
                  for i, name in enumerate(names))
        + "</definedNames></workbook>"
    )
    wb_rels = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        + "".join(f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
                  f'Target="worksheets/sheet{i}.xml"/>' for i in range(1, n + 1))
        + f'<Relationship Id="rId{n + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
        'Target="styles.xml"/>'
        f'<Relationship Id="rId{n + 2}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
        'Target="sharedStrings.xml"/></Relationships>'
    )
    parts = [("[Content_Types].xml", content_types), ("_rels/.rels", root_rels), ("xl/workbook.xml", workbook),
             ("xl/_rels/workbook.xml.rels", wb_rels), ("xl/styles.xml", _STYLES)]
    strings = _Strings()
    parts += [(f"xl/worksheets/sheet{i}.xml", _sheet_xml(s, strings)) for i, s in enumerate(sheets, start=1)]
    parts.append(("xl/sharedStrings.xml", strings.xml()))
    return _zip([(name, text if isinstance(text, _Deflated) else _Deflated(text.encode("utf-8"))) for name, text in parts])


def _zip(entries: list[tuple[str, _Deflated]]) -> bytes:
    """A zip of deflated entries (APPNOTE 4.3), all dated FIXED_TIME. Written here rather than by
    zipfile, which cannot take data compressed ahead. Compression level 1: level 6 took longer
    than writing the XML."""
    y, mo, d, h, mi, s = FIXED_TIME
    dos_time, dos_date = h << 11 | mi << 5 | s // 2, (y - 1980) << 9 | mo << 5 | d
    body, directory = [], []
    offset = 0
    for name, entry in entries:
        if max(entry.size, len(entry.data), offset) >= 0xFFFFFFFF:
            raise ValueError("workbook part too large for a zip without ZIP64")
        raw = name.encode("ascii")
        fields = (20, 0, 8, dos_time, dos_date, entry.crc, len(entry.data), entry.size, len(raw), 0)
        header = struct.pack("<IHHHHHIIIHH", 0x04034B50, *fields) + raw
        directory.append(struct.pack("<IH", 0x02014B50, 20) + struct.pack("<HHHHHIIIHH", *fields)
                         + struct.pack("<HHHII", 0, 0, 0, 0, offset) + raw)
        body += [header, entry.data]
        offset += len(header) + len(entry.data)
    central = b"".join(directory)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), offset, 0)
    return b"".join(body) + central + end
