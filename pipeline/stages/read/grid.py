"""What every opener of a return's bytes makes, whatever the format: a Book of sheets, each
loaded as a Grid of values, or Unreadable; and how a cell is named (B5) for the clerk."""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from functools import lru_cache

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"


class Unreadable(Exception):
    """The bytes cannot be opened as a workbook; `rule` says which finding to raise."""

    def __init__(self, rule: str, detail: str = "") -> None:
        super().__init__(detail or rule)
        self.rule = rule
        self.detail = detail


def the_files_problem(error: BaseException) -> bool:
    """What a broken file raises (the file's finding, never this program's fault): Unreadable,
    a damaged zip or deflate stream, a truncated part, or the spreadsheet engine's panic on a
    malformed record (pyo3's PanicException, which derives from BaseException)."""
    return (isinstance(error, (Unreadable, zipfile.BadZipFile, zlib.error, EOFError))
            or type(error).__name__ == "PanicException")


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
    # Which rows (0-based, in the window) the sheet hides, by hand, grouped and collapsed, or by
    # a filter: a township's row among them is added all the same, unseen by whoever opens it.
    rows_hidden: frozenset[int] = frozenset()
    # A SUBTOTAL 合计 leaves out the rows a filter hides (the sheet has one; assumed where the
    # format does not say), or also those hidden by hand (SUBTOTAL(109,…)).
    filtered: bool = True
    subtotal_leaves_out_hidden: bool = False
    cell_errors: dict[tuple[int, int], str] = field(default_factory=dict)  # cells showing #DIV/0! and the like
    hidden_cols: frozenset[int] = frozenset()  # columns hidden in the sheet's own record (0-based)
    shown_otherwise: dict[tuple[int, int], str] = field(default_factory=dict)  # cells a format shows as another number (0%)
    placeholders: set[tuple[int, int]] = field(default_factory=set)  # formulas carrying 0 in a workbook computed on opening
    results_unverified: frozenset[tuple[int, int]] = frozenset()  # formulas carrying another number there
    hidden_text: dict[tuple[int, int], str] = field(default_factory=dict)  # a page's cells holding text it hides
    struck: frozenset[tuple[int, int]] = frozenset()  # cells whose font strikes them through (a row struck out)
    unseen: frozenset[tuple[int, int]] = frozenset()  # cells written white on white: summed, never seen
    # Cells holding a formula of this sheet's cells alone (=E5, =SUM(B5:D5)), and the result it carries.
    formulas: dict[tuple[int, int], tuple[str, float]] = field(default_factory=dict)
    # Cells whose text is struck through in part (<s>218</s> 118, a run of rich text): the struck
    # part. Read whole, the two numbers ran together as one (218 118 as 218118).
    struck_text: dict[tuple[int, int], str] = field(default_factory=dict)

    def value(self, r: int, c: int) -> object:
        if 0 <= r < len(self.rows) and 0 <= c < len(self.rows[r]):
            return self.rows[r][c]
        return ""


@dataclass
class Book:
    sheets: list[tuple[str, bool]]  # name, visible; workbook order
    loader: object  # callable(name) -> Grid
    data: bytes = b""  # the workbook's bytes, for what is worked out only when asked (date1904)

    kind: str = ""  # "html", "xml" or "csv" for the text formats web systems and offices export

    def date1904(self) -> bool:
        """Whether the workbook counts dates from 1904 (Excel for Mac's system): a bare serial
        number beside 填报日期 is read in the workbook's own system. Asked only of such a number."""
        return uses_1904(self.data)


def uses_1904(data: bytes) -> bool:
    """xlsx: workbookPr date1904; xls: the DATEMODE record of the workbook globals."""
    try:
        if data.startswith(ZIP_MAGIC):
            head = zipfile.ZipFile(io.BytesIO(data)).read("xl/workbook.xml")[:4000]
            return re.search(rb'date1904\s*=\s*["\'](?:1|true)["\']', head) is not None
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
