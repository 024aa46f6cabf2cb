"""A formula of a sheet's own cells worked out again: =E5, =B5+C5-D5, =SUM(B5:D5).

A report system that fills a template in (POI, EasyExcel) leaves each formula the result the
template carried; the spreadsheet program computes it afresh when the clerk opens the file and
shows another figure than the one the file holds, which the reader would have summed. Only
arithmetic of the sheet's cells and whole numbers is redone; anything else is left as carried.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_TERM = re.compile(r"\s*([+-]?)\s*(?:SUM\(\$?([A-Z]{1,3})\$?(\d+):\$?([A-Z]{1,3})\$?(\d+)\)|\$?([A-Z]{1,3})\$?(\d+)|(\d+))",
                   re.I)
MAX_CELLS = 400


def column_index(letters: str) -> int:
    """A column's letters as its index from 0: A → 0, AA → 26."""
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1  # a SUM over more is no township's count: left as carried


def redo(formula: str, value_at: Callable[[int, int], object]) -> float | None:
    """The formula's result from the cells' values (`value_at(row, column)`, 0-based; blank is
    0); None when a cell it reads holds no number, or the formula is none of these shapes."""
    text = formula.strip().removeprefix("=")
    total, at = 0.0, 0
    while at < len(text):
        m = _TERM.match(text, at)
        if m is None or m.end() == at:
            return None if text[at:].strip() else total
        sign = -1.0 if m.group(1) == "-" else 1.0
        if m.group(2):
            r1, r2 = sorted((int(m.group(3)) - 1, int(m.group(5)) - 1))
            c1, c2 = sorted((column_index(m.group(2).upper()), column_index(m.group(4).upper())))
            if (r2 - r1 + 1) * (c2 - c1 + 1) > MAX_CELLS:
                return None
            cells = [(r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)]
        elif m.group(6):
            cells = [(int(m.group(7)) - 1, column_index(m.group(6).upper()))]
        else:
            total += sign * int(m.group(8))
            at = m.end()
            continue
        for r, c in cells:
            v = value_at(r, c)
            if v is None or v == "":
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                return None
            total += sign * v
        at = m.end()
    return total
