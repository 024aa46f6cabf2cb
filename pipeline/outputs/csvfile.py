"""The one CSV writer: UTF-8 with a BOM, so that Excel (and WPS) open it as Chinese text, and rows
ending in CRLF, as Excel writes them.

Text a county wrote that a spreadsheet would run as a formula (`=…`, `+…`, `-…`, `@…`) is kept
text in every output (`guard`, on by default): prefixed with an apostrophe, which Excel shows as
nothing. The submission page's own notes file is not an output: it keeps the words as written.
"""

from __future__ import annotations

import csv
import io

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_bytes(header: list[str], rows: list[list], *, guard: bool = True) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    if guard:
        for row in rows:
            w.writerow([inert(v) if v.__class__ is str else v for v in row])  # only text can be a formula
    else:
        w.writerows(rows)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def inert(v):
    """Text that a spreadsheet would run as a formula, prefixed with '."""
    if isinstance(v, str) and v[:1] in FORMULA_STARTS:
        return "'" + v
    return v
