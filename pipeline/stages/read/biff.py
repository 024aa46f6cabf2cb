"""A legacy .xls's (BIFF8) records, walked as bytes for what calamine's values do not show:
error values, hidden columns, number formats that show another number, formulas no program
computed, and a cell so far out that the sheet could not be held. Walked only when a quick
search of the bytes finds something to look at (scans.py holds the .xlsx side)."""

from __future__ import annotations

import re
import struct

from .scans import WINDOW_COLS, WINDOW_ROWS, Formulas, shown_as

# Legacy .xls (BIFF8): an error value is a BOOLERR record with its error flag set, or a FORMULA
# record whose cached result is marked as an error (first byte 2, last two 0xFFFF).
_XLS_BOOLERR = b"\x05\x02\x08\x00"  # record type 0x0205, eight bytes long
_XLS_ERROR_RESULT = re.compile(rb"\x02\x00[\x00\x07\x0f\x17\x1d\x24\x2a]\x00\x00\x00\xff\xff")
_XLS_ERRORS = {0x00: "#NULL!", 0x07: "#DIV/0!", 0x0F: "#VALUE!", 0x17: "#REF!", 0x1D: "#NAME?", 0x24: "#NUM!",
               0x2A: "#N/A"}
# A FORMULA record's result marked as the empty string (first byte 3, last two 0xFFFF): what a
# spreadsheet program stores for =IF(x=0,"",x) over a 0, and what xlwt, which computes nothing,
# stores for every formula. A workbook no program has computed carries no RECALCID record
# (0x01C1, the engine that last computed it), and no other result.
_XLS_EMPTY_RESULT = b"\x03\x00\x00\x00\x00\x00\xff\xff"
_XLS_RECALC_ID = 0x01C1


# SUBTOTAL in a formula's parsed expression: a variable-argument function token (0x22, 0x42 or
# 0x62), its argument count, and the function's number, 344.
_XLS_SUBTOTAL = re.compile(rb"[\x22\x42\x62][\x01-\x1e]\x58\x01")
_XLS_ROW, _XLS_ROW_HIDDEN = 0x0208, 0x20  # a ROW record, and its options' "hidden" bit
_XLS_FILTER = frozenset({0x009B, 0x009D})  # FILTERMODE, AUTOFILTERINFO: the sheet has a filter


# A COLINFO record (0x007D, twelve bytes) whose options have the hidden bit set.
_XLS_HIDDEN_COLINFO = re.compile(rb"\x7d\x00\x0c\x00.{8}[" + b"".join(re.escape(bytes([b])) for b in range(1, 256, 2))
                                 + rb"]", re.S)


# A ROW record (0x0208, sixteen bytes) whose options have the hidden bit (0x20) set.
_XLS_HIDDEN_ROW = re.compile(rb"\x08\x02\x10\x00.{12}[" + b"".join(re.escape(bytes([b])) for b in range(256) if b & 0x20)
                             + rb"]", re.S)


# A FONT record (0x0031) whose options have the strikethrough bit (0x08) set.
_XLS_STRUCK_FONT = re.compile(rb"\x31\x00.\x00.." + b"[" + b"".join(re.escape(bytes([b])) for b in range(256) if b & 0x08)
                              + b"]", re.S)


def scan_xls(data: bytes) -> dict[str, Formulas]:
    """Per sheet of an .xls, the cells showing an error value and the hidden columns. The
    file's bytes are searched first for anything that could be either; only then are its
    records walked."""
    if (_XLS_BOOLERR not in data and not _XLS_ERROR_RESULT.search(data) and not _XLS_HIDDEN_COLINFO.search(data)
            and not _xls_may_show_otherwise(data) and _XLS_EMPTY_RESULT not in data and not _XLS_SUBTOTAL.search(data)
            and not _XLS_STRUCK_FONT.search(data) and not _XLS_HIDDEN_ROW.search(data)):
        return {}
    import olefile

    try:
        with olefile.OleFileIO(data) as ole:
            stream = ole.openstream("Workbook" if ole.exists("Workbook") else "Book").read()
        return {name: found for name, found in _xls_sheet_records(stream).items() if found}
    except (OSError, ValueError, struct.error, IndexError, UnicodeDecodeError):
        return {}  # damaged: calamine says so when it opens the file


# The spreadsheet engine holds an .xls sheet as one dense grid from its first used cell to its
# last: a cell far out (IV65536) beside A1 is 16 million cells, gigabytes once given to Python,
# and a crafted cell beyond the format's 256 columns is billions, which the engine tries to
# allocate and aborts the process reading the file. Such a sheet is refused before the engine
# sees it, naming the far cell.
XLS_MAX_CELLS = 2_000_000  # a grid of 5,000 × 400, far beyond any return
XLS_COLUMNS = 256  # the format's columns, A to IV
_XLS_CELL_RECORDS = frozenset({0x0006, 0x00D6, 0x00FD, 0x0201, 0x0203, 0x0204, 0x0205, 0x027E})
_XLS_ROW_OF_CELLS = frozenset({0x00BD, 0x00BE})  # MULRK, MULBLANK: a row's run of cells


def xls_far_cell(data: bytes) -> tuple[int, int] | None:
    """The cell (row, column, from 0) of an .xls sheet that takes its used area past what the
    engine can hold (XLS_MAX_CELLS), or lies beyond the format's columns (no program saves
    such a file); None when there is none. Every cell record of every sheet is looked at: a
    quarter of a millisecond a return."""
    import olefile

    try:
        with olefile.OleFileIO(data) as ole:
            stream = ole.openstream("Workbook" if ole.exists("Workbook") else "Book").read()
    except (OSError, ValueError, struct.error, IndexError, UnicodeDecodeError):
        return None  # damaged: the engine says so when it opens the file
    top = left = 1 << 32
    bottom = right = -1
    pos = 0
    while pos + 8 <= len(stream):
        kind, size = struct.unpack_from("<HH", stream, pos)
        if kind == 0x0809:  # BOF: a sheet (or the globals) begins; its grid is its own
            top = left = 1 << 32
            bottom = right = -1
        elif kind in _XLS_CELL_RECORDS or (kind in _XLS_ROW_OF_CELLS and size >= 6):
            r, c = struct.unpack_from("<HH", stream, pos + 4)
            last = struct.unpack_from("<H", stream, pos + 2 + size)[0] if kind in _XLS_ROW_OF_CELLS else c
            top, bottom, left, right = min(top, r), max(bottom, r), min(left, c), max(right, last)
            if max(c, last) >= XLS_COLUMNS or (bottom - top + 1) * (right - left + 1) > XLS_MAX_CELLS:
                return r, max(c, last)  # the cell that took the area past what can be held
        pos += 4 + size
    return None


# An XF record (0x00E0, twenty bytes) whose number format is a built-in percent (9: 0%, 10: 0.00%).
# An XF record (0x00E0, 20 bytes) whose number format is a built-in percent (9, 10) or CJK date.
_XLS_PERCENT_XF = re.compile(rb"\xe0\x00\x14\x00..[\x09\x0a\x1b-\x24\x32-\x3a]\x00", re.S)
_SCALE_WORDS = tuple(ch.encode(enc) for ch in "万千亿" for enc in ("utf-16-le", "utf-8"))


def _xls_may_show_otherwise(data: bytes) -> bool:
    """Whether some cell style of the .xls may show a count as another number: a percent
    format, built in or written out, or one in 万, 千 or 亿. A quick search, then the records."""
    return (_XLS_PERCENT_XF.search(data) is not None or b"%" in data or any(w in data for w in _SCALE_WORDS)
            or b";;" in data or b";\x00;\x00" in data)


def _xls_styles_shown_otherwise(stream: bytes) -> tuple[dict[int, str], frozenset[int]]:
    """The workbook globals' XF records (by index) whose number format shows another number,
    and that format; and those whose font strikes the text through."""
    formats: dict[int, str] = {9: "0%", 10: "0.00%"}
    odd: dict[int, str] = {}
    struck_fonts: set[int] = set()
    struck: set[int] = set()
    fonts = 0
    index, pos = 0, 0
    while pos + 4 <= len(stream):
        kind, size = struct.unpack_from("<HH", stream, pos)
        if kind == 0x0031 and size >= 4:  # FONT: its height, then its options (0x08: struck through)
            if stream[pos + 6] & 0x08:
                struck_fonts.add(fonts if fonts < 4 else fonts + 1)  # BIFF numbers no font 4
            fonts += 1
        elif kind == 0x041E and size >= 5:  # FORMAT: its number, then the format string
            number, length = struct.unpack_from("<HH", stream, pos + 4)
            wide = stream[pos + 8] & 1
            raw = stream[pos + 9:pos + 9 + length * (2 if wide else 1)]
            formats[number] = raw.decode("utf-16-le" if wide else "latin-1", "replace")
        elif kind == 0x00E0 and size >= 4:  # XF: its font, then its number format
            font, number = struct.unpack_from("<HH", stream, pos + 4)
            shown = shown_as(number, formats.get(number, ""))
            if shown:
                odd[index] = shown
            if font in struck_fonts:
                struck.add(index)
            index += 1
        elif kind == 0x000A:  # EOF of the globals
            break
        pos += 4 + size
    return odd, frozenset(struck)


def _xls_sheet_records(stream: bytes) -> dict[str, Formulas]:
    """Per sheet: its cells showing an error value, its hidden columns (COLINFO), its cells
    whose number format shows another number than they hold, its SUBTOTAL formulas with its
    hidden rows and whether a filter hides them, and, in a workbook no program has computed
    (_XLS_EMPTY_RESULT), its formulas, none of which has a result."""
    sheets = []
    recalculated = False
    pos = 0
    while pos + 4 <= len(stream):  # the workbook globals: where each sheet's records start
        kind, size = struct.unpack_from("<HH", stream, pos)
        if kind == 0x0085:  # BOUNDSHEET: offset, state, type, name (compressed or UTF-16)
            offset = struct.unpack_from("<I", stream, pos + 4)[0]
            length, wide = stream[pos + 10], stream[pos + 11] & 1
            raw = stream[pos + 12:pos + 12 + length * (2 if wide else 1)]
            sheets.append((offset, raw.decode("utf-16-le") if wide else raw.decode("latin-1")))
        elif kind == _XLS_RECALC_ID:
            recalculated = True
        elif kind == 0x000A:  # EOF
            break
        pos += 4 + size
    odd, struck_xfs = _xls_styles_shown_otherwise(stream)
    out = {}
    empty: dict[str, list] = {}  # per sheet, its formulas whose result is the empty string
    computed = False  # some formula has a result of its own
    subtotals: dict[str, tuple] = {}  # per sheet: (SUBTOTAL cells, rows hidden, filtered, leaves out hidden)
    struck_cells: dict[str, frozenset] = {}  # per sheet: the cells in a struck-through font
    for offset, name in sheets:
        cells, hidden, depth, pos = [], set(), 0, offset
        shown: list = []
        struck: set = set()
        empty[name] = []
        subtotal: set = set()
        rows_hidden = filtered = leaves_out = False
        hidden_rows: set = set()
        while pos + 4 <= len(stream):
            kind, size = struct.unpack_from("<HH", stream, pos)
            if kind == 0x0809:  # BOF: the sheet's, or a chart's inside it
                depth += 1
            elif kind == 0x000A:
                depth -= 1
                if depth <= 0:
                    break
            elif kind == 0x007D and size >= 10 and depth == 1 and stream[pos + 12] & 1:
                first, last = struct.unpack_from("<HH", stream, pos + 4)
                hidden.update(range(first, min(last, WINDOW_COLS - 1) + 1))
            elif kind == 0x0205 and size >= 8 and stream[pos + 11]:
                r, c = struct.unpack_from("<HH", stream, pos + 4)
                cells.append(((r, c), _XLS_ERRORS.get(stream[pos + 10], "")))
            elif kind == _XLS_ROW and size >= 16 and depth == 1:
                if stream[pos + 16] & _XLS_ROW_HIDDEN:
                    rows_hidden = True
                    r = struct.unpack_from("<H", stream, pos + 4)[0]
                    if r < WINDOW_ROWS:
                        hidden_rows.add(r)
            elif kind in _XLS_FILTER and depth == 1:
                filtered = True
            elif kind == 0x0006 and size >= 14:
                r, c = struct.unpack_from("<HH", stream, pos + 4)
                if size >= 22 and depth == 1:
                    number = _subtotal_function(stream[pos + 26:pos + 26 + struct.unpack_from("<H", stream, pos + 24)[0]])
                    if number is not None and r < WINDOW_ROWS:
                        subtotal.add((r, c))
                        leaves_out = leaves_out or number >= 100
                if stream[pos + 10] == 2 and stream[pos + 16:pos + 18] == b"\xff\xff":
                    cells.append(((r, c), _XLS_ERRORS.get(stream[pos + 12], "")))
                if stream[pos + 10:pos + 18] != _XLS_EMPTY_RESULT:
                    computed = True
                elif r < WINDOW_ROWS:
                    empty[name].append((r, c))
            if odd and depth == 1:
                shown += _xls_styled(stream, pos, kind, size, odd)
            if struck_xfs and depth == 1 and kind in _XLS_STRUCK_CELLS and size >= 6:
                r, c, xf = struct.unpack_from("<HHH", stream, pos + 4)
                if xf in struck_xfs and r < WINDOW_ROWS:
                    struck.add((r, c))
            pos += 4 + size
        out[name] = (tuple(cells), frozenset(hidden), tuple(shown))
        struck_cells[name] = frozenset(struck)
        subtotals[name] = (frozenset(subtotal), rows_hidden, filtered, leaves_out, frozenset(hidden_rows))
    never_computed = not recalculated and not computed
    return {name: Formulas(errors=cells, hidden_cols=hidden, shown_otherwise=shown,
                           uncached=frozenset(empty[name]) if never_computed else frozenset(),
                           subtotal=subtotals[name][0], hidden_rows=subtotals[name][1], filtered=subtotals[name][2],
                           leaves_out_hidden=subtotals[name][3], struck=struck_cells[name],
                           rows_hidden=subtotals[name][4])
            for name, (cells, hidden, shown) in out.items()}


# The records of a cell holding text or a number (all cells' but BLANK's and BOOLERR's), each
# starting with its row, column and XF: LABELSST, LABEL, RSTRING, NUMBER, RK, FORMULA.
_XLS_STRUCK_CELLS = _XLS_CELL_RECORDS - {0x0201, 0x0205}


def _subtotal_function(rgce: bytes) -> int | None:
    """The function number of a formula that is SUBTOTAL(n, …) (its parsed expression begins
    with n as an integer token, 0x1E), else None."""
    if len(rgce) < 3 or rgce[0] != 0x1E or not _XLS_SUBTOTAL.search(rgce):
        return None
    return struct.unpack_from("<H", rgce, 1)[0]


def _xls_styled(stream: bytes, pos: int, kind: int, size: int, odd: dict[int, str]) -> list:
    """The number cells of one record (NUMBER, RK, MULRK, FORMULA) styled with an `odd` XF."""
    if kind in (0x0203, 0x027E, 0x0006) and size >= 6:
        r, c, xf = struct.unpack_from("<HHH", stream, pos + 4)
        return [((r, c), odd[xf])] if xf in odd and r < WINDOW_ROWS else []
    if kind == 0x00BD and size >= 6:  # MULRK: a row's run of (XF, RK) pairs
        r, first = struct.unpack_from("<HH", stream, pos + 4)
        count = (size - 6) // 6
        xfs = [struct.unpack_from("<H", stream, pos + 8 + 6 * k)[0] for k in range(count)]
        return [((r, first + k), odd[xf]) for k, xf in enumerate(xfs) if xf in odd and r < WINDOW_ROWS]
    return []
