"""Opening a workbook's bytes as plain grids of values, whatever the format.

python-calamine reads values fast (xlsx, xlsm, xls); it builds a dense grid from the
extent of the cells it finds, so a stray value at XFD1048576 would make it allocate
hundreds of gigabytes and abort the process. The sheet XML is therefore scanned first
(cheaply, as bytes) for the extent of its value cells and for formulas without cached
values, which calamine cannot tell from empty cells. A sheet too large for a dense grid
is read through openpyxl's streaming reader, clipped to the form's window.

A formula's empty cached result comes in two kinds that calamine reads alike (""): a string
cell (`<c t="str"><f>IF(x=0,"",x)</f><v/></c>`, as Excel, WPS and LibreOffice save a
zero-hiding formula) holds the empty string, a value; a cell with no type or `t="n"` and no
value was never computed (openpyxl, which does not calculate, writes it). The scan tells them
apart by the cell's type. OpenDocument spreadsheets (.ods) are read by calamine directly:
their formulas always carry their results.

A cell showing an error value (#DIV/0!, #N/A, #REF!…: `<c t="e"><f>…</f><v>#DIV/0!</v></c>`,
or typed without a formula) comes back from calamine as "", the same as a blank cell, which
the form reads as 0. The same scan notes where each is, and which error it shows.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field, replace
from functools import lru_cache

# The form never needs more than this; a county's table is a few dozen rows.
WINDOW_ROWS = 5000
WINDOW_COLS = 702  # ZZ: a dense grid of 5000 × 702 cells stays near 100 MB
MAX_UNCOMPRESSED = 200 * 1024 * 1024
MAX_RATIO = 200  # no honest xlsx part compresses better than this
MAX_SHEETS = 255

OVERSIZED = "压缩包中的内容比它声明的大，疑似恶意文件"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"


class Unreadable(Exception):
    """The bytes cannot be opened as a workbook; `rule` says which finding to raise."""

    def __init__(self, rule: str, detail: str = "") -> None:
        super().__init__(detail or rule)
        self.rule = rule
        self.detail = detail


@dataclass
class Grid:
    name: str
    visible: bool
    rows: list[list[object]]
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)  # r1, c1, r2, c2, 0-based inclusive
    formula_without_value: set[tuple[int, int]] = field(default_factory=set)
    far_cell: str = ""  # the farthest value cell, when the sheet reaches beyond the window
    formula_blank: set[tuple[int, int]] = field(default_factory=set)  # formulas whose result is ""
    subtotal_rows: set[int] = field(default_factory=set)  # rows holding =SUBTOTAL(…): filtered sums
    hidden_rows: bool = False  # some row is hidden (a filter, or by hand)
    cell_errors: dict[tuple[int, int], str] = field(default_factory=dict)  # cells showing #DIV/0! and the like

    def value(self, r: int, c: int) -> object:
        if 0 <= r < len(self.rows) and 0 <= c < len(self.rows[r]):
            return self.rows[r][c]
        return ""


@dataclass
class Book:
    sheets: list[tuple[str, bool]]  # name, visible; workbook order
    loader: object  # callable(name) -> Grid
    data: bytes = b""  # the workbook's bytes, for what is worked out only when asked (date1904)

    def date1904(self) -> bool:
        """Whether the workbook counts dates from 1904 (Excel for Mac's system): a bare serial
        number beside 填报日期 is read in the workbook's own system. Asked only of such a number."""
        return uses_1904(self.data)


def uses_1904(data: bytes) -> bool:
    """xlsx: workbookPr date1904; xls: the DATEMODE record of the workbook globals."""
    try:
        if data.startswith(ZIP_MAGIC):
            head = zipfile.ZipFile(io.BytesIO(data)).read("xl/workbook.xml")[:4000]
            return re.search(rb'date1904="(?:1|true)"', head) is not None
        if data.startswith(OLE_MAGIC):
            import olefile

            with olefile.OleFileIO(data) as ole:
                stream = ole.openstream("Workbook" if ole.exists("Workbook") else "Book").read()
            pos = 0
            while pos + 4 <= len(stream):
                kind, size = struct.unpack_from("<HH", stream, pos)
                if kind == 0x0022 and size == 2:  # DATEMODE
                    return struct.unpack_from("<H", stream, pos + 4)[0] == 1
                if kind == 0x000A:  # the end of the workbook globals
                    break
                pos += 4 + size
    except (KeyError, OSError, ValueError, zipfile.BadZipFile, struct.error):
        pass
    return False


ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"


def sniff(data: bytes) -> str:
    """xlsx (OOXML zip, or an OpenDocument spreadsheet, read alike), xls (OLE2 compound file),
    zip (an archive of other files) or ''."""
    if data.startswith(ZIP_MAGIC):
        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except zipfile.BadZipFile:
            return "xlsx"  # a damaged workbook: let the reader say so
        if "xl/workbook.xml" in names or "[Content_Types].xml" in names or _is_ods(data, names):
            return "xlsx"
        return "zip"
    if data.startswith(OLE_MAGIC):
        return "xls"
    return ""


def open_book(data: bytes) -> Book:
    kind = "xlsx" if data.startswith(ZIP_MAGIC) else sniff(data)
    if kind == "xlsx":
        return _open_xlsx(data)
    if kind == "xls":
        if "EncryptedPackage".encode("utf-16-le") in data:
            raise Unreadable("encrypted")
        return _open_calamine(data, xml_parts=None, by_sheet=_scan_xls(data))
    raise Unreadable("unreadable", "不是Excel文件")


def _open_xlsx(data: bytes) -> Book:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, EOFError, ValueError) as e:
        raise Unreadable("unreadable", "文件已损坏") from e
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if total > MAX_UNCOMPRESSED or (total > 10 * 1024 * 1024 and total / packed > MAX_RATIO):
        raise Unreadable("unreadable", "压缩包解压后过大，疑似恶意文件")
    worksheets = [i for i in infos if i.filename.startswith("xl/worksheets/") and i.filename.endswith(".xml")]
    _inflates_as_declared(data, [i for i in infos if i not in worksheets])  # the sheets are, as they are scanned
    names = {i.filename for i in infos}
    if "xl/workbook.xml" not in names and _is_ods(data, names):
        return _open_calamine(data, xml_parts=None, by_sheet=_scan_ods(zf))
    if "xl/workbook.xml" not in names:
        if not names:
            raise Unreadable("unreadable", "文件已损坏")
        raise Unreadable("archive-as-workbook")  # a .zip of returns named or sent as a workbook
    if len(worksheets) > MAX_SHEETS:
        raise Unreadable("unreadable", f"工作表多达{len(worksheets)}个")
    # Every sheet is scanned first. Only when one needs care (a cell far out, a formula
    # with no value) is it worth working out which sheet name is which part.
    try:
        scans = {i.filename: _scan_sheet_xml(_inflate(data, zf, i)) for i in worksheets}
        careful = any(r > WINDOW_ROWS or c > WINDOW_COLS or formulas for r, c, _, formulas in scans.values())
    except (zipfile.BadZipFile, EOFError, ValueError, zlib.error, struct.error):
        _inflates_as_declared(data, worksheets)  # damaged maybe, but none larger than it says
        scans, careful = {}, True  # a damaged part: each sheet is looked at as it is loaded
    parts = None
    if careful:
        try:
            parts = _sheet_parts(zf)
        except (KeyError, zipfile.BadZipFile, EOFError, ValueError, zlib.error) as e:
            raise Unreadable("unreadable", "文件已损坏") from e
    return _open_calamine(data, xml_parts=(zf, parts, scans))


def _inflates_as_declared(data: bytes, infos: list[zipfile.ZipInfo]) -> None:
    """Every part inflates to no more than the size the zip's directory declares for it, which
    the check above bounds: a part whose directory lies (3 MB declaring little, inflating to
    3 GB) is refused here, inflated only as far as its declaration plus one byte, before the
    spreadsheet engine (which believes the stream, not the directory) sees it. Only stored and
    deflated parts are accepted: no spreadsheet program writes others."""
    for info in infos:
        if info.compress_type == zipfile.ZIP_STORED or info.is_dir():
            continue
        if info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & 0x1:
            raise Unreadable("unreadable", "文件中有不是Excel所用压缩方式的部分")
        try:
            produced = len(_deflated(data, info, info.file_size + 1))
        except (zipfile.BadZipFile, zlib.error, struct.error):
            continue  # damaged, not oversized: the engine says so when it reads the part
        if produced > info.file_size:
            raise Unreadable("unreadable", OVERSIZED)


def _deflated(data: bytes, info: zipfile.ZipInfo, limit: int) -> bytes:
    """A deflated part's bytes, straight from the workbook's buffer, never more than `limit`."""
    start = info.header_offset
    if data[start:start + 4] != ZIP_MAGIC:
        raise zipfile.BadZipFile(info.filename)
    name_len, extra_len = struct.unpack_from("<HH", data, start + 26)
    start += 30 + name_len + extra_len
    return zlib.decompressobj(-zlib.MAX_WBITS).decompress(data[start:start + info.compress_size], limit)


def _is_ods(data: bytes, names) -> bool:
    """An OpenDocument spreadsheet: its first member is `mimetype`, stored, naming the type;
    some writers (WPS among them) only put content.xml and the manifest."""
    if "content.xml" not in names:
        return False
    return ODS_MIMETYPE in data[:200] or "META-INF/manifest.xml" in names


def _inflate(data: bytes, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A part's bytes, inflated straight from the workbook's buffer. zipfile's reader object and
    its CRC pass cost half as much again as inflating these small parts, and calamine reads the
    same part afterwards and says so if it is damaged. Never more than the size the zip declares."""
    if info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & 0x1:
        return zf.read(info)  # stored, encrypted or exotic: zipfile knows them all
    out = _deflated(data, info, info.file_size + 1)
    if len(out) > info.file_size:
        raise Unreadable("unreadable", OVERSIZED)
    if len(out) != info.file_size:
        raise zipfile.BadZipFile(info.filename)
    return out


def _sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> its XML part, from workbook.xml and its relationships."""
    wb = zf.read("xl/workbook.xml").decode("utf-8", "replace")
    rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
    targets = {}
    for m in re.finditer(r"<Relationship\b([^>]*)/?>", rels):
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        if "Id" in attrs and "Target" in attrs:
            t = attrs["Target"]
            t = t.lstrip("/") if t.startswith("/") else "xl/" + t
            targets[attrs["Id"]] = t
    out = {}
    for m in re.finditer(r"<(?:\w+:)?sheet\b([^>]*)/?>", wb):
        attrs = dict(re.findall(r'([\w:]+)="([^"]*)"', m.group(1)))
        rid = next((v for k, v in attrs.items() if k.endswith(":id")), None)
        if "name" in attrs and rid in targets:
            out[_unescape(attrs["name"])] = targets[rid]
    return out


def _unescape(s: str) -> str:
    return s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'").replace("&amp;", "&")


_VALUE_CELL = re.compile(rb'<c\b[^>]*?\br="([A-Z]{1,3})(\d{1,7})"[^>]*?(?<!/)>')
_FORMULA_NO_VALUE = re.compile(
    rb'<c\b([^>]*?\br="([A-Z]{1,3})(\d{1,7})"[^>]*?)>\s*<f\b[^>]*?(?:/>|>[^<]*</f>)\s*(?:<v\s*/>|<v>\s*</v>)?\s*</c>'
)
_STRING_TYPE = re.compile(rb'\bt="(?:str|inlineStr)"')
_SUBTOTAL = re.compile(rb'<c\b[^>]*?\br="([A-Z]{1,3})(\d{1,7})"[^>]*?>\s*<f\b[^>]*>\s*(?:_xlfn\.)?SUBTOTAL\(', re.I)
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
class _Formulas:
    """What the scan learns about a sheet's formulas that calamine's values do not show."""

    uncached: frozenset = frozenset()  # no result at all: never computed
    blank: frozenset = frozenset()  # the empty string as result: a zero-hiding formula
    subtotal: frozenset = frozenset()  # SUBTOTAL(…), which leaves out rows a filter hides
    hidden_rows: bool = False
    errors: tuple = ()  # ((row, column), "#DIV/0!"): cells showing an error value

    def __bool__(self) -> bool:
        return bool(self.uncached or self.blank or (self.subtotal and self.hidden_rows) or self.errors)


_NO_FORMULAS = _Formulas()


def _scan_formulas(xml: bytes) -> _Formulas:
    if not _ANY_FORMULA.search(xml):  # quicker than `b"<f" in xml`, which '<' on every tag slows down
        return _NO_FORMULAS
    uncached, blank = set(), set()
    for m in _FORMULA_NO_VALUE.finditer(xml):
        cell = (int(m.group(3)) - 1, _col_index(m.group(2)))
        (blank if _STRING_TYPE.search(m.group(1)) else uncached).add(cell)
    subtotal: set = set()
    hidden = False
    if b"SUBTOTAL(" in xml or b"subtotal(" in xml:
        subtotal = {(int(m.group(2)) - 1, _col_index(m.group(1))) for m in _SUBTOTAL.finditer(xml)}
        hidden = _HIDDEN_ROW.search(xml) is not None
    if not (uncached or blank or subtotal):
        return _NO_FORMULAS
    return _Formulas(frozenset(uncached), frozenset(blank), frozenset(subtotal), hidden)


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
            out.append(((int(ref.group(2)) - 1, _col_index(ref.group(1))), _unescape(text)))
    return tuple(out)


def _scan_sheet_xml(xml: bytes) -> tuple[int, int, str, _Formulas]:
    """Extent of value cells (rows, cols), the farthest cell, what its formulas hide, and
    which cells show an error value."""
    formulas = _scan_formulas(xml)
    if _ANY_ERROR.search(xml):
        errors = _scan_errors(xml)
        if errors:
            formulas = replace(formulas, errors=errors)
    # Rows come in order: the last <row> bounds them all, and no three-letter column means
    # none past ZZ. Only a sheet that fails either quick test has its every cell looked at.
    last = xml.rfind(b"<row ")
    m = _LAST_ROW.match(xml, last) if last >= 0 else None
    if not _WIDE_CELL.search(xml) and (m is None or int(m.group(1)) <= WINDOW_ROWS):
        return (int(m.group(1)) if m else 0), 702, "", formulas
    max_r = max_c = 0
    far = ""
    for m in _VALUE_CELL.finditer(xml):
        r, c = int(m.group(2)), _col_index(m.group(1)) + 1
        if r > max_r or c > max_c:
            if r * c > max_r * max_c:
                far = (m.group(1) + m.group(2)).decode()
            max_r, max_c = max(max_r, r), max(max_c, c)
    return max_r, max_c, far, formulas


_ODS_TABLE = re.compile(rb'<table:table\b[^>]*?\btable:name="([^"]*)"[^>]*>(.*?)</table:table>', re.S)
_ODS_ROW = re.compile(rb"<table:table-row\b([^>]*?)(?:/>|>(.*?)</table:table-row>)", re.S)
_ODS_REPEAT = re.compile(rb'table:number-rows-repeated="(\d+)"')
_ODS_HIDDEN = re.compile(rb'table:visibility="(?:collapse|filter)"')


_ODS_CELL = re.compile(rb"<table:(?:covered-)?table-cell\b([^>]*?)(?:/>|>(.*?)</table:(?:covered-)?table-cell>)", re.S)
_ODS_COLUMNS = re.compile(rb'table:number-columns-repeated="(\d+)"')
_ODS_TEXT = re.compile(rb"<text:p>([^<]*)</text:p>")
# LibreOffice marks a formula's error result; a writer that does not (WPS) still shows its text.
_ODS_ERROR = b'calcext:value-type="error"'
EXCEL_ERRORS = (b"#DIV/0!", b"#N/A", b"#VALUE!", b"#REF!", b"#NAME?", b"#NUM!", b"#NULL!")


def _ods_has_error(xml: bytes) -> bool:
    return _ODS_ERROR in xml or any(b">" + e + b"</text:p>" in xml for e in EXCEL_ERRORS)


def _scan_ods(zf: zipfile.ZipFile) -> dict[str, _Formulas]:
    """An .ods's formulas all carry results; what calamine cannot show is a SUBTOTAL over rows
    a filter hides, and an error value, which it reads as a blank. Per sheet: the rows holding
    SUBTOTAL (as cells in column 0), whether any row is hidden, and the cells showing an error.
    Looked at only when some formula says SUBTOTAL or some cell shows an error."""
    xml = zf.read("content.xml")
    subtotals = b"SUBTOTAL(" in xml.upper()
    errors = _ods_has_error(xml)
    if not (subtotals or errors):
        return {}
    out = {}
    for t in _ODS_TABLE.finditer(xml):
        body = t.group(2)
        sub = subtotals and b"SUBTOTAL(" in body.upper()
        err = errors and _ods_has_error(body)
        if not (sub or err):
            continue
        rows, hidden, r, cells = set(), False, 0, []
        for m in _ODS_ROW.finditer(body):
            repeat = _ODS_REPEAT.search(m.group(1))
            times = int(repeat.group(1)) if repeat else 1
            hidden = hidden or _ODS_HIDDEN.search(m.group(1)) is not None
            content = m.group(2)
            if sub and content and b"SUBTOTAL(" in content.upper():
                rows.add((r, 0))
            if err and content and _ods_has_error(content) and r < WINDOW_ROWS:
                cells += [((r + k, c), text) for c, text in _ods_error_cells(content)
                          for k in range(min(times, WINDOW_ROWS - r))]
            r += times
        out[_unescape(t.group(1).decode("utf-8", "replace"))] = _Formulas(
            subtotal=frozenset(rows), hidden_rows=hidden, errors=tuple(cells))
    return out


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
            out += [(c + k, _unescape(shown.decode("utf-8", "replace"))) for k in range(min(span, WINDOW_COLS))]
        c += span
    return out


# Legacy .xls (BIFF8): an error value is a BOOLERR record with its error flag set, or a FORMULA
# record whose cached result is marked as an error (first byte 2, last two 0xFFFF).
_XLS_BOOLERR = b"\x05\x02\x08\x00"  # record type 0x0205, eight bytes long
_XLS_ERROR_RESULT = re.compile(rb"\x02\x00[\x00\x07\x0f\x17\x1d\x24\x2a]\x00\x00\x00\xff\xff")
_XLS_ERRORS = {0x00: "#NULL!", 0x07: "#DIV/0!", 0x0F: "#VALUE!", 0x17: "#REF!", 0x1D: "#NAME?", 0x24: "#NUM!",
               0x2A: "#N/A"}


def _scan_xls(data: bytes) -> dict[str, _Formulas]:
    """Per sheet of an .xls, the cells showing an error value. The file's bytes are searched
    first for anything that could be one; only then are its records walked."""
    if _XLS_BOOLERR not in data and not _XLS_ERROR_RESULT.search(data):
        return {}
    import olefile

    try:
        with olefile.OleFileIO(data) as ole:
            stream = ole.openstream("Workbook" if ole.exists("Workbook") else "Book").read()
        return {name: _Formulas(errors=cells) for name, cells in _xls_error_cells(stream).items() if cells}
    except (OSError, ValueError, struct.error, IndexError, UnicodeDecodeError):
        return {}  # damaged: calamine says so when it opens the file


def _xls_error_cells(stream: bytes) -> dict[str, tuple]:
    sheets = []
    pos = 0
    while pos + 4 <= len(stream):  # the workbook globals: where each sheet's records start
        kind, size = struct.unpack_from("<HH", stream, pos)
        if kind == 0x0085:  # BOUNDSHEET: offset, state, type, name (compressed or UTF-16)
            offset = struct.unpack_from("<I", stream, pos + 4)[0]
            length, wide = stream[pos + 10], stream[pos + 11] & 1
            raw = stream[pos + 12:pos + 12 + length * (2 if wide else 1)]
            sheets.append((offset, raw.decode("utf-16-le") if wide else raw.decode("latin-1")))
        elif kind == 0x000A:  # EOF
            break
        pos += 4 + size
    out = {}
    for offset, name in sheets:
        cells, depth, pos = [], 0, offset
        while pos + 4 <= len(stream):
            kind, size = struct.unpack_from("<HH", stream, pos)
            if kind == 0x0809:  # BOF: the sheet's, or a chart's inside it
                depth += 1
            elif kind == 0x000A:
                depth -= 1
                if depth <= 0:
                    break
            elif kind == 0x0205 and size >= 8 and stream[pos + 11]:
                r, c = struct.unpack_from("<HH", stream, pos + 4)
                cells.append(((r, c), _XLS_ERRORS.get(stream[pos + 10], "")))
            elif kind == 0x0006 and size >= 14 and stream[pos + 10] == 2 and stream[pos + 16:pos + 18] == b"\xff\xff":
                r, c = struct.unpack_from("<HH", stream, pos + 4)
                cells.append(((r, c), _XLS_ERRORS.get(stream[pos + 12], "")))
            pos += 4 + size
        out[name] = tuple(cells)
    return out


def _open_calamine(data: bytes, xml_parts, by_sheet: dict[str, _Formulas] | None = None) -> Book:
    import python_calamine as pc

    try:
        wb = pc.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except pc.PasswordError as e:
        raise Unreadable("encrypted") from e
    except Exception as e:  # calamine raises its own errors and plain ones for damaged files
        if "password" in str(e).lower() or "encrypt" in str(e).lower():
            raise Unreadable("encrypted") from e
        raise Unreadable("unreadable", "文件已损坏或格式不对") from e
    # Chart sheets, dialog and macro sheets hold no cells: they never stand for a form sheet
    # (a chart sheet named 图表1 is not 表1).
    sheets = [(m.name, m.visible == pc.SheetVisibleEnum.Visible) for m in wb.sheets_metadata
              if m.typ == pc.SheetTypeEnum.WorkSheet]

    def load(name: str) -> Grid:
        visible = dict(sheets)[name]
        formulas = _NO_FORMULAS
        far = ""
        zf, parts, scans = xml_parts if xml_parts is not None else (None, None, {})
        if by_sheet:
            formulas = by_sheet.get(name, _NO_FORMULAS)
        if parts is not None:
            part = parts.get(name)
            if part:
                scan = scans.get(part)
                if scan is None:
                    info = zf.getinfo(part)
                    if info.file_size > MAX_UNCOMPRESSED:
                        raise Unreadable("unreadable", "工作表过大")
                    scan = _scan_sheet_xml(zf.read(part))
                rows, cols, far_cell, formulas = scan
                if rows > WINDOW_ROWS or cols > WINDOW_COLS:
                    grid = _load_windowed(data, name, visible)
                    _apply(grid, formulas)
                    grid.far_cell = far_cell
                    return grid
        try:
            sheet = wb.get_sheet_by_name(name)
            rows = sheet.to_python(skip_empty_area=False)
        except (pc.CalamineError, pc.XmlError, pc.ZipError, ValueError) as e:
            raise Unreadable("unreadable", "文件已损坏") from e
        if len(rows) > WINDOW_ROWS:  # xls: bounded by its format, but no need to keep it all
            rows = rows[:WINDOW_ROWS]
        merged = [(a[0], a[1], b[0], b[1]) for a, b in (sheet.merged_cell_ranges or [])]
        return _apply(Grid(name, visible, rows, merged, set(), far), formulas)

    return Book(sheets, load, data)


def _apply(grid: Grid, formulas: _Formulas) -> Grid:
    if formulas:
        grid.formula_without_value = set(formulas.uncached)
        grid.formula_blank = set(formulas.blank)
        grid.subtotal_rows = {r for r, _ in formulas.subtotal}
        grid.hidden_rows = formulas.hidden_rows
        grid.cell_errors = dict(formulas.errors)
    return grid


def _load_windowed(data: bytes, name: str, visible: bool) -> Grid:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        ws = wb[name]
        rows: list[list[object]] = []
        for row in ws.iter_rows(min_row=1, max_row=WINDOW_ROWS, max_col=WINDOW_COLS, values_only=True):
            rows.append(["" if v is None else v for v in row])
        # Read-only sheets do not expose merges; the header reader copes without them.
        return Grid(name, visible, rows, [], set(), "")
    finally:
        wb.close()


def cell_ref(r: int, c: int) -> str:
    return f"{column_letter(c)}{r + 1}"


@lru_cache(maxsize=1024)
def column_letter(c: int) -> str:
    """0 → A, 25 → Z, 26 → AA: as openpyxl's get_column_letter, without importing openpyxl
    (a tenth of a second) into every run."""
    letters = ""
    c += 1
    while c:
        c, rem = divmod(c - 1, 26)
        letters = chr(65 + rem) + letters
    return letters
