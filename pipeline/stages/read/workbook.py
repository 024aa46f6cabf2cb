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
the form reads as 0. The same scan notes where each is, and which error it shows, and which
columns the sheet hides (an old column hidden beside its correction). The scans, one per
format, are in scans.py (.xlsx), ods.py and biff.py (.xls).
"""

from __future__ import annotations

import io
import posixpath
import re
import struct
import zipfile
import zlib

from .biff import XLS_COLUMNS, scan_xls, xls_far_cell
from .grid import OLE_MAGIC, ZIP_MAGIC, Book, Grid, Unreadable, cell_ref
from .ods import scan_ods
from .scans import (
    NO_FORMULAS,
    WINDOW_COLS,
    WINDOW_ROWS,
    Formulas,
    as_scanned,
    excel_spelled,
    raised_strings,
    recalculated_on_load,
    scan_sheet_xml,
    struck_strings,
    struck_styles,
    styles_shown_otherwise,
    unescape,
    unseen_styles,
    untrusted_results,
)

XLSB = "是Excel二进制工作簿格式，即.xlsb"
# The workbook globals' BOF record of Excel 5.0/95 (BIFF5, version 0x0500) and of Excel 97-2003
# (BIFF8). The engine reads a BIFF5 file, but its sheet names and formats are records of another
# shape, which the checks do not read: its formats showing another number would go unseen.
_BIFF5_GLOBALS = b"\x09\x08\x08\x00\x00\x05\x05\x00"
_BIFF8_GLOBALS = b"\x09\x08\x10\x00\x00\x06\x05\x00"
EXCEL_95 = "是Excel 5.0/95格式的旧文件"
MAX_UNCOMPRESSED = 200 * 1024 * 1024
MAX_RATIO = 200  # no honest xlsx part compresses better than this
MAX_SHEETS = 255
DEFLATE_MAX_RATIO = 1032  # deflate's limit: a 258-byte match in under two bits (zlib's technical notes)
HARMLESS_INFLATION = 64 * 1024 * 1024  # what parts may inflate to together, lying or not, unchecked

STYLES_READ = 16 * 1024 * 1024  # of xl/styles.xml, for the number formats: a workbook's are some kilobytes

OVERSIZED = "压缩包中的内容比它声明的大，疑似恶意文件"
DISAGREES = "压缩包的目录前后矛盾，疑似恶意文件"
ZIP64_FIELD, UNICODE_NAME_FIELD = 0x0001, 0x7075


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


def open_book(data: bytes, name: str = "") -> Book:
    """The workbook the bytes hold, told by their content: xlsx, xlsm and ods; xls; or the text
    shapes other systems export (HTML, MHTML, SpreadsheetML, CSV). `name`: the file's name
    without its extension, for a CSV's one sheet."""
    kind = "xlsx" if data.startswith(ZIP_MAGIC) else sniff(data)
    if kind == "xlsx":
        return _open_xlsx(data)
    if kind == "xls":
        if "EncryptedPackage".encode("utf-16-le") in data:
            raise Unreadable("encrypted")
        if _WORD_STREAM in data and _XLS_STREAM not in data and _XLS_STREAM_OLD not in data:
            raise Unreadable("unreadable", WORD_DOCUMENT)  # a .doc named .xls
        if _BIFF5_GLOBALS in data and _BIFF8_GLOBALS not in data:
            raise Unreadable("unreadable", EXCEL_95)
        far = xls_far_cell(data)
        if far is not None:
            row, column = far
            raise Unreadable("unreadable", f"第{row + 1}行第{column + 1}列有单元格，超出.xls格式的范围，文件已损坏"
                             if column >= XLS_COLUMNS else f"单元格{cell_ref(row, column)}远在表格之外，整张工作表大到无法读取")
        return _open_calamine(data, xml_parts=None, by_sheet=scan_xls(data))
    from .textbooks import open_text_book

    return open_text_book(data, name)


WORD_DOCUMENT = "内容是Word文档，不是Excel报表"
# Other Office files are zips of parts too: named or sent as a workbook, each is said as what it is.
_OTHER_DOCUMENTS = (("word/document.xml", WORD_DOCUMENT), ("ppt/presentation.xml", "内容是PowerPoint演示文稿，不是Excel报表"))
# The streams an old binary Office file's directory names (UTF-16, ended by a 0): Word's, and
# a workbook's (Book in Excel 5/95), which a Word document's text may hold without its 0.
_WORD_STREAM = "WordDocument\0".encode("utf-16-le")
_XLS_STREAM, _XLS_STREAM_OLD = "Workbook\0".encode("utf-16-le"), "Book\0".encode("utf-16-le")


def _open_xlsx(data: bytes) -> Book:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, EOFError, ValueError) as e:
        raise Unreadable("unreadable", "文件已损坏") from e
    if _directory_disagrees(infos):
        raise Unreadable("unreadable", DISAGREES)
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if total > MAX_UNCOMPRESSED or (total > 10 * 1024 * 1024 and total / packed > MAX_RATIO):
        raise Unreadable("unreadable", "压缩包解压后过大，疑似恶意文件")
    worksheets = [i for i in infos if i.filename.startswith("xl/worksheets/") and i.filename.endswith(".xml")]
    _inflates_as_declared(data, [i for i in infos if i not in worksheets])  # the sheets are, as they are scanned
    names = {i.filename for i in infos}
    if "xl/workbook.xml" not in names and _is_ods(data, names):
        formulas = scan_ods(zf)
        try:
            return _open_calamine(data, xml_parts=None, by_sheet=formulas)
        except Unreadable as e:
            if e.rule != "unreadable":
                raise
            # Gnumeric writes its .ods indented, a line per cell, which the engine refuses
            # ("Cannot detect file format") and LibreOffice opens: read without the indent.
            return _open_calamine(_without_indent(zf, "content.xml"), xml_parts=None, by_sheet=formulas)
    if "xl/workbook.xml" not in names and "xl/workbook.bin" in names:
        raise Unreadable("unreadable", XLSB)  # its cells are records, which none of the checks read
    if "xl/workbook.xml" not in names:
        if not names:
            raise Unreadable("unreadable", "文件已损坏")
        other = next((what for part, what in _OTHER_DOCUMENTS if part in names), None)
        if other:
            raise Unreadable("unreadable", other)  # a Word file sent for the return: no zip to undo
        raise Unreadable("archive-as-workbook")  # a .zip of returns named or sent as a workbook
    if len(worksheets) > MAX_SHEETS:
        raise Unreadable("unreadable", f"工作表多达{len(worksheets)}个")
    # Every sheet is scanned first. Only when one needs care (a cell far out, a formula
    # with no value) is it worth working out which sheet name is which part.
    found = _Parts(zf, data)
    try:
        found.styles, found.struck, found.unseen = _cell_styles(data, zf)
        found.strings, found.struck_text = _shared_strings(data, zf)
        xmls = {i.filename: as_scanned(_inflate(data, zf, i)) for i in worksheets}
        found.scans = {name: scan_sheet_xml(xml, found.styles, found.strings, found.struck, found.struck_text, found.unseen)
                       for name, xml in xmls.items()}
        if any(scan[3].any_formula for scan in found.scans.values()) and found.recalculated():
            found.scans = {name: (*scan[:3], untrusted_results(xmls[name], scan[3]))
                           for name, scan in found.scans.items()}
        careful = any(r > WINDOW_ROWS or c > WINDOW_COLS or formulas for r, c, _, formulas in found.scans.values())
    except (zipfile.BadZipFile, EOFError, ValueError, zlib.error, struct.error):
        _inflates_as_declared(data, worksheets)  # damaged maybe, but none larger than it says
        found.scans, careful = {}, True  # a damaged part: each sheet is looked at as it is loaded
    if careful:
        found.name_parts()
    return _open_calamine(data, xml_parts=found)


class _Parts:
    """What _open_xlsx has learnt of the workbook's parts, for its sheets as they are loaded:
    each sheet part's scan, the styles that show a count otherwise, and (once asked) which
    sheet is which part and whether the workbook is recalculated on load."""

    def __init__(self, zf: zipfile.ZipFile, data: bytes) -> None:
        self.zf, self.data = zf, data
        self.styles: dict[int, str] = {}
        self.strings: dict[int, str] = {}  # shared strings holding a raised character, as shown
        self.struck: frozenset[int] = frozenset()  # the styles striking their text through
        self.unseen: frozenset[int] = frozenset()  # the styles writing white on white
        self.struck_text: dict[int, str] = {}  # the shared strings struck through as text, whole ("") or in part
        self.scans: dict[str, tuple] = {}
        self.parts: dict[str, str] | None = None  # sheet name -> part, once worked out
        self._recalculated: bool | None = None

    def name_parts(self) -> None:
        if self.parts is None:
            try:
                self.parts = _sheet_parts(self.zf)
            except (KeyError, zipfile.BadZipFile, EOFError, ValueError, zlib.error) as e:
                raise Unreadable("unreadable", "文件已损坏") from e

    def recalculated(self) -> bool:
        if self._recalculated is None:
            self._recalculated = _recalculated_on_load(self.data, self.zf)
        return self._recalculated

    def _info(self, part: str) -> zipfile.ZipInfo:
        """The zip's entry for `part`, its case as the relationships spell it or not (a package's
        part names are case-insensitive); a part named and not there is a damaged workbook."""
        try:
            return self.zf.getinfo(part)
        except KeyError:
            pass
        for info in self.zf.infolist():
            if info.filename.lower() == part.lower():
                return info
        raise Unreadable("unreadable", "文件已损坏")

    def scan_of(self, name: str) -> tuple | None:
        """The scan of sheet `name`'s part: made now for a part not scanned with the others (a
        damaged one, or one kept outside xl/worksheets/); None when no part is named for it."""
        part = self.parts.get(name) if self.parts is not None else None
        if not part:
            return None
        scan = self.scans.get(part)
        if scan is None:
            info = self._info(part)
            if info.file_size > MAX_UNCOMPRESSED:
                raise Unreadable("unreadable", "工作表过大")
            xml = as_scanned(self.zf.read(info))
            scan = self.scans[part] = scan_sheet_xml(xml, self.styles, self.strings, self.struck, self.struck_text,
                                                     self.unseen)
            if scan[3].any_formula and self.recalculated():
                scan = self.scans[part] = (*scan[:3], untrusted_results(xml, scan[3]))
        return scan


def _recalculated_on_load(data: bytes, zf: zipfile.ZipFile) -> bool:
    """workbook.xml asks for every formula to be computed on opening (scans.recalculated_on_load).
    A damaged workbook.xml is the engine's to report."""
    try:
        info = zf.getinfo("xl/workbook.xml")
        return recalculated_on_load(excel_spelled(_inflate(data, zf, info)))
    except (KeyError, zipfile.BadZipFile, EOFError, ValueError, zlib.error, struct.error, Unreadable,
            NotImplementedError, RuntimeError):
        return False


def _shared_strings(data: bytes, zf: zipfile.ZipFile) -> tuple[dict[int, str], dict[int, str]]:
    """The shared strings holding a raised or lowered character (23 and a superscript 1), as
    they show (scans.raised_strings), and those struck through as text (scans.struck_strings);
    a damaged part is the engine's to report."""
    info = next((i for i in zf.infolist() if i.filename.lower() == "xl/sharedstrings.xml"), None)
    if info is None:
        return {}, {}
    try:
        shared = excel_spelled(_inflate(data, zf, info))
        return raised_strings(shared), struck_strings(shared)
    except (zipfile.BadZipFile, zlib.error, struct.error, EOFError, ValueError, NotImplementedError, RuntimeError,
            Unreadable):
        return {}, {}


def _cell_styles(data: bytes, zf: zipfile.ZipFile) -> tuple[dict[int, str], frozenset[int], frozenset[int]]:
    """The workbook's cell styles that show a count as another number (a percent, 万): the
    engine gives the number held, 1 where the sheet shows 100%; and those that strike their
    text through (a row struck out), which the engine does not give at all; and those writing
    white on white, which no one opening the sheet sees."""
    try:
        info = zf.getinfo("xl/styles.xml")
    except KeyError:
        return {}, frozenset(), frozenset()
    try:
        # As much as the part holds, within reason: its size was checked as a lie's could cost
        # memory (_inflates_as_declared); a damaged part is the engine's to report.
        styles = (_deflated(data, info, STYLES_READ) if info.compress_type == zipfile.ZIP_DEFLATED
                  and not info.flag_bits & 0x1 else zf.read(info)[:STYLES_READ])
    except (zipfile.BadZipFile, zlib.error, struct.error, EOFError, ValueError, NotImplementedError, RuntimeError):
        return {}, frozenset(), frozenset()
    spelled = excel_spelled(styles)
    return styles_shown_otherwise(spelled), struck_styles(spelled), unseen_styles(spelled)


def _directory_disagrees(infos: list[zipfile.ZipInfo]) -> bool:
    """An entry of the zip's directory whose extra fields say other than what zipfile read: a
    zip64 field whose sizes or offset differ from the entry's (zipfile heeds one only where the
    plain field says 0xFFFFFFFF), or a Unicode name that is not the entry's name (zipfile does
    not heed it). The spreadsheet engine's zip reader heeds both more readily, so such a file
    would show every check here one part and the engine another: a harmless sheet to the
    scan, and to the engine a far cell or a part inflating to gigabytes. No writer of
    spreadsheets makes one: it is refused."""
    for info in infos:
        extra, at = info.extra, 0
        while at + 4 <= len(extra):
            kind, size = struct.unpack_from("<HH", extra, at)
            body = extra[at + 4:at + 4 + size]
            at += 4 + size
            if kind == ZIP64_FIELD:
                said = [v for (v,) in struct.iter_unpack("<Q", body[:len(body) // 8 * 8])][:3]
                if said != [info.file_size, info.compress_size, info.header_offset][:len(said)]:
                    return True
            elif kind == UNICODE_NAME_FIELD and body[5:].decode("utf-8", "replace") != info.filename:
                return True  # version (1 byte), the plain name's CRC (4), then the name
    return False


def _inflates_as_declared(data: bytes, infos: list[zipfile.ZipInfo]) -> None:
    """No part can inflate to much more than the zip's directory declares for it, which the
    check above bounds: a part whose directory lies (3 MB declaring little, inflating to 3 GB)
    is refused here, inflated only as far as its declaration plus one byte, before the
    spreadsheet engine (which believes the stream, not the directory) sees it. Only stored and
    deflated parts are accepted: no spreadsheet program writes others.

    Parts too small to make much of, whatever they say, are not inflated to find out: no
    deflate stream inflates past DEFLATE_MAX_RATIO times its length, and the engine reads no
    more of a part than its compressed length (the directory's, which _directory_disagrees has
    made sure it reads as zipfile does). A return's other parts are a few kilobytes, so a lie
    there makes at most HARMLESS_INFLATION beyond what the directory declares; inflating them
    all took a thirtieth of reading the return."""
    deflated = []
    for info in infos:
        if info.compress_type == zipfile.ZIP_STORED or info.is_dir():
            continue
        if info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & 0x1:
            raise Unreadable("unreadable", "文件中有不是Excel所用压缩方式的部分")
        deflated.append(info)
    if sum(i.compress_size for i in deflated) * DEFLATE_MAX_RATIO <= HARMLESS_INFLATION:
        return
    for info in deflated:
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


_INDENT = re.compile(rb">[ \t\r\n]+<")


def _without_indent(zf: zipfile.ZipFile, part: str) -> bytes:
    """The package again with `part`'s indentation between tags taken out: whitespace there is
    layout, never a cell's text (an .ods writes a cell's spaces as <text:s/>)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as copy:
        for info in zf.infolist():
            body = zf.read(info.filename)
            copy.writestr(info, _INDENT.sub(b"><", body) if info.filename == part else body)
    return out.getvalue()


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
    wb = excel_spelled(zf.read("xl/workbook.xml")).decode("utf-8", "replace")
    rels = excel_spelled(zf.read("xl/_rels/workbook.xml.rels")).decode("utf-8", "replace")
    targets = {}
    for m in re.finditer(r"<(?:\w+:)?Relationship\b([^>]*)/?>", rels):
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        if "Id" in attrs and "Target" in attrs:
            t = attrs["Target"]
            targets[attrs["Id"]] = posixpath.normpath(t.lstrip("/") if t.startswith("/") else "xl/" + t)
    out = {}
    for m in re.finditer(r"<(?:\w+:)?sheet\b([^>]*)/?>", wb):
        attrs = dict(re.findall(r'([\w:]+)="([^"]*)"', m.group(1)))
        rid = next((v for k, v in attrs.items() if k.endswith(":id")), None)
        if "name" in attrs and rid in targets:
            out[unescape(attrs["name"])] = targets[rid]
    return out


def _open_calamine(data: bytes, xml_parts: _Parts | None, by_sheet: dict[str, Formulas] | None = None) -> Book:
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

    if xml_parts is not None and xml_parts.parts is None and len(xml_parts.scans) < len(sheets):
        xml_parts.name_parts()  # a sheet kept outside xl/worksheets/, as the relationships may put it

    def load(name: str) -> Grid:
        visible = dict(sheets)[name]
        formulas = NO_FORMULAS
        far = ""
        if by_sheet:
            formulas = by_sheet.get(name, NO_FORMULAS)
        scan = xml_parts.scan_of(name) if xml_parts is not None else None
        if scan is not None:
            rows, cols, far_cell, formulas = scan
            if rows > WINDOW_ROWS or cols > WINDOW_COLS:
                grid = _load_windowed(data, name, visible)
                _apply(grid, formulas)
                grid.merged = list(formulas.merged)
                grid.far_cell = far_cell
                return grid
        try:
            sheet = wb.get_sheet_by_name(name)
            rows = sheet.to_python(skip_empty_area=False)
        except (pc.CalamineError, pc.XmlError, pc.ZipError, ValueError) as e:
            raise Unreadable("unreadable", "文件已损坏") from e
        if len(rows) > WINDOW_ROWS:  # xls: bounded by its format, but no need to keep it all
            far = far or _last_cell(rows, WINDOW_ROWS)  # said (stray-cells) when anything is cut
            rows = rows[:WINDOW_ROWS]
        merged = [(a[0], a[1], b[0], b[1]) for a, b in (sheet.merged_cell_ranges or [])] or list(formulas.merged)
        return _apply(Grid(name, visible, rows, merged, set(), far), formulas)

    return Book(sheets, load, data)


def _last_cell(rows: list[list], start: int) -> str:
    """The last cell holding anything at or below row `start` (0-based), as A1; "" when none."""
    for r in range(len(rows) - 1, start - 1, -1):
        filled = [c for c, v in enumerate(rows[r]) if v not in ("", None)]
        if filled:
            return cell_ref(r, filled[-1])
    return ""


def _apply(grid: Grid, formulas: Formulas) -> Grid:
    if formulas:
        grid.formula_without_value = set(formulas.uncached)
        grid.formula_blank = set(formulas.blank)
        grid.subtotal_rows = {r for r, _ in formulas.subtotal}
        grid.hidden_rows = formulas.hidden_rows or bool(formulas.rows_hidden)
        grid.rows_hidden = formulas.rows_hidden
        grid.filtered, grid.subtotal_leaves_out_hidden = formulas.filtered, formulas.leaves_out_hidden
        grid.cell_errors = dict(formulas.errors)
        grid.hidden_cols = formulas.hidden_cols
        grid.shown_otherwise = dict(formulas.shown_otherwise)
        grid.placeholders = set(formulas.placeholders)
        grid.results_unverified = formulas.unverified
        grid.struck = formulas.struck
        grid.unseen = formulas.unseen
        grid.formulas = {cell: (text, carried) for cell, text, carried in formulas.simple}
        grid.struck_text = dict(formulas.struck_text)
        for (r, c), shown in formulas.texts:
            if r < len(grid.rows) and c < len(grid.rows[r]):
                grid.rows[r][c] = shown
    return grid


def _load_windowed(data: bytes, name: str, visible: bool) -> Grid:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        ws = wb[name]
        rows: list[list[object]] = []
        for row in ws.iter_rows(min_row=1, max_row=WINDOW_ROWS, max_col=WINDOW_COLS, values_only=True):
            rows.append(["" if v is None else v for v in row])
        # Read-only sheets do not expose merges: the sheet's scan gives them (load).
        return Grid(name, visible, rows, [], set(), "")
    finally:
        wb.close()
