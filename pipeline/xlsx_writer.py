"""A small writer for plain data workbooks (consolidated.xlsx): header row styled, frozen,
column widths, A4 landscape one page wide, header repeated on every printed page.

openpyxl builds a Python object per cell and spends ~8 µs on each; the township sheets of a
national form run to millions of cells, so this writes the sheet XML directly. Text goes
to the shared-strings table, as Excel itself writes it: each file or township name is stored
once, not on every row. It is always text, so county text that starts with = is never a
formula. Pure: bytes out, with fixed zip times, so equal content gives equal bytes.
"""

from __future__ import annotations

import io
import math
import numbers
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from .workbook import column_letter

FIXED_TIME = (2016, 12, 5, 0, 0, 0)
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
MAX_TEXT = 32767  # Excel's limit for one cell


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
        return f'<c t="s"><v>{i}</v></c>'

    def xml(self) -> str:
        items = "".join(f'<si><t xml:space="preserve">{_text(t)}</t></si>' for t in self.index)
        return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                f'uniqueCount="{len(self.index)}">{items}</sst>')


def _cell(v: object, strings: _Strings) -> str:
    # Every cell is written, an empty one as <c/>, so cells need no r attribute: their
    # position is their order (ECMA-376 18.3.1.4), and the XML stays small.
    t = type(v)
    if t is int:
        return f"<c><v>{v}</v></c>"
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
    return strings.cell(str(v))


def _column_cells(column: Sequence, strings: _Strings) -> list[str]:
    """Each value's cell XML. Values repeat down a column (counts, file and township names),
    so each distinct one is written once. 1, 1.0 and True are equal keys but different
    cells, so a column of mixed types is written value by value."""
    kinds = set(map(type, column)) - {type(None)}
    if len(kinds) <= 1:
        memo = {v: _cell(v, strings) for v in set(column)}
        return list(map(memo.__getitem__, column))
    return [_cell(v, strings) for v in column]


def _sheet_xml(sheet: OutSheet, strings: _Strings) -> str:
    width = max(len(sheet.header), len(sheet.columns))
    letters = [column_letter(i) for i in range(max(width, 1))]
    n = sheet.n_rows
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
    if n:
        starts = [f'<row r="{r}">' for r in range(2, n + 2)]
        cells = [_column_cells(column, strings) for column in sheet.columns]
        out.append("</row>".join(map("".join, zip(starts, *cells))))
        out.append("</row>")
    out.append(
        '</sheetData><pageMargins left="0.5" right="0.5" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
        '<pageSetup paperSize="9" orientation="landscape" fitToWidth="1" fitToHeight="0"/></worksheet>'
    )
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
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1" applyAlignment="1">'
    '<alignment horizontal="center" vertical="center" wrapText="1"/></xf></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)


def write_xlsx(sheets: list[OutSheet]) -> bytes:
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
        + "".join(f'<sheet name={quoteattr(name)} sheetId="{i}" r:id="rId{i}"/>' for i, name in enumerate(names, start=1))
        + "</sheets><definedNames>"
        + "".join(f'<definedName name="_xlnm.Print_Titles" localSheetId="{i}">{escape(_quoted(name))}!$1:$1</definedName>'
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
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts:
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, text.encode("utf-8"), compresslevel=1)  # level 6 took longer than writing the XML
    return buf.getvalue()


def _quoted(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"
