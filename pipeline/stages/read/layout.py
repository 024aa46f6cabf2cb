"""Where a form's table stands on a sheet: its header (each field's column), and what each row
under it is (a township, a 合计, a 小计, a note, the footer, nothing). Worked out once per form
and remembered per text, since every county's return repeats the same header and names."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from enum import IntEnum
from functools import lru_cache

from ...spec.form import Form, ReaderSpec, SheetSpec, label_variants, normalise_label
from ...spec.numbers import MAX_COUNT, NotACount, parse_count
from .workbook import Grid, column_letter

HEADER_SEARCH_ROWS = 30  # the header is near the top; a table starting lower is not the form
MAX_NAME = 60  # no township's name is longer; a longer one is pasted text, not a name
_COLUMN_CODES = {"甲", "乙", "丙", "丁"}


class _Memo(dict):
    """Answers kept per key, worked out on first asking. Bounded, since county text (names,
    dates) is asked about too."""

    def __init__(self, compute) -> None:
        super().__init__()
        self.compute = compute

    def __missing__(self, key):
        value = self.compute(key)
        if len(self) < 50_000:
            self[key] = value
        return value


def _whole(word: str, text: str, not_after: tuple[str, ...] = ()) -> bool:
    """`表1` is in `表1走访情况` and `附表1` but not in `表10`, nor, when `not_after` holds 图 ,
    in `图表1`."""
    if not word:
        return False
    start = text.find(word)
    while start >= 0:
        end = start + len(word)
        before = text[start - 1] if start > 0 else ""
        after = text[end] if end < len(text) else ""
        if (not (before.isdigit() and word[0].isdigit()) and not (after.isdigit() and word[-1].isdigit())
                and not (not_after and text[:start].endswith(not_after))):
            return True
        start = text.find(word, start + 1)
    return False


def clean_text(v: object) -> str:
    if v is None or v == "":
        return ""
    if type(v) is str:
        return clean_str(v)
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return clean_str(str(v))


@lru_cache(maxsize=16384)
def clean_str(s: str) -> str:
    # A township's name comes back on every sheet of its return: each text is cleaned once.
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", s))


def whole_counts(cells: tuple) -> tuple[int, ...] | None:
    """A column's cells as counts when every one is a whole number within bounds, as calamine
    gives them (floats): the common case, converted without a Python step per cell. None
    when any cell needs parse_count's closer look (and perhaps a finding)."""
    if set(map(type, cells)) != _JUST_FLOATS:
        return None if cells else ()
    try:
        counts = tuple(map(int, cells))
    except (ValueError, OverflowError):  # NaN, infinity
        return None
    if counts != cells or min(counts) < 0 or max(counts) > MAX_COUNT:
        return None
    return counts


_JUST_FLOATS = {float}


def blank(v: object) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


class RowKind(IntEnum):
    """What a row under the header is. The order matters: the kept kinds come first (townships,
    合计, 小计, and figures without a township's name, kept to be named in a finding), so that
    `kind <= KEYLESS` tells a kept row in the hot loop."""

    TOWNSHIP = 0
    TOTAL = 1
    SUBTOTAL = 2
    KEYLESS = 3
    TEXT_ONLY = 4
    NOTE = 5
    FOOTER = 6
    EMPTY = 7


class RowWords:
    """The form's words for rows that are not townships, and each key text's kind, worked
    out once: a township's name comes back in every return."""

    def __init__(self, reader: ReaderSpec) -> None:
        # Casefolded: Total, TOTAL and total are one word.
        self.total = tuple(clean_str(w).casefold() for w in reader.total_words if w.strip())
        self.subtotal = tuple(clean_str(w).casefold() for w in reader.subtotal_words if w.strip())
        notes = "|".join(re.escape(clean_str(w)) for w in sorted(reader.note_words, key=len, reverse=True) if w.strip())
        footers = "|".join(re.escape(clean_str(w)) for w in sorted(reader.footer_words, key=len, reverse=True)
                           if w.strip())
        # NFKC has made the full-width colon an ASCII one; 注1: and 注：both start a note.
        self.note = re.compile(rf"^(?:{notes})[\d.、]*:") if notes else None
        self.footer = re.compile(rf"^(?:{footers})") if footers else None
        self.kind = _Memo(self._kind)

    def _kind(self, text: str) -> int:
        if not text:
            return RowKind.EMPTY
        if text in _COLUMN_CODES:
            return RowKind.EMPTY
        # 合计, 全县合计, 汇总: a short label ending in a total word. A subtotal is checked first,
        # so that 小计 never counts as the county's 合计 whatever the words declared.
        label = _bare_label(text)
        if self.subtotal and (label in self.subtotal or (len(label) <= 12 and label.endswith(self.subtotal))):
            return RowKind.SUBTOTAL
        if self.total and (label in self.total or (len(label) <= 6 and label.endswith(self.total))):
            return RowKind.TOTAL
        if self.note and self.note.match(text):
            return RowKind.NOTE
        if self.footer and self.footer.match(text):
            return RowKind.FOOTER
        return RowKind.TOWNSHIP


# What clerks put after a total word: a colon (合计：), a unit in brackets (合计（万户）), or both.
# NFKC has already made the full-width forms ASCII.
_LABEL_TAIL = re.compile(r"(?:[:]|\([^()]*\))+$")


def _bare_label(text: str) -> str:
    """A row label as a total word would be written alone: 合计（户）： → 合计 and TOTAL → total."""
    return _LABEL_TAIL.sub("", text).casefold()


_WORDS: dict[int, tuple[ReaderSpec, RowWords]] = {}


def row_words(form: Form) -> RowWords:
    entry = _WORDS.get(id(form.reader))
    if entry is None or entry[0] is not form.reader:
        if len(_WORDS) > 64:
            _WORDS.clear()
        entry = _WORDS[id(form.reader)] = (form.reader, RowWords(form.reader))
    return entry[1]


class Table:
    """Where a sheet's fields stand in the county's layout."""

    def __init__(self, spec: SheetSpec, columns: dict[str, int]) -> None:
        self.spec = spec
        self.key_field = spec.key_field.key
        self.key_col = columns[self.key_field]
        items = [(k, c) for k, c in columns.items() if k != self.key_field]
        self.keys = [k for k, _ in items]
        self.col_index = [c for _, c in items]
        self.letters = [column_letter(c) for c in self.col_index]
        units = field_table(spec).count_units
        self.unit_of = [units.get(k) for k in self.keys]  # None: a computed column
        self.count_cols = [c for c, u in zip(self.col_index, self.unit_of) if u is not None]
        self.first_field_col = min(self.col_index)


class Rows:
    """The rows kept from a table, in order: each one's row index, name and kind."""

    def __init__(self) -> None:
        self.rows: list[int] = []
        self.names: list[str] = []
        self.township_at: list[int] = []  # positions in `rows`
        self.totals: list[int] = []
        self.subtotals: list[int] = []
        self.texts: dict[int, str] = {}  # rows of text alone, by row index
        self.footer = -1
        self.explanation = ""  # the county's 上报说明 under the table

    def add(self, r: int, kind: int, name: str) -> None:
        at = len(self.rows)
        if kind == RowKind.TOTAL:
            self.totals.append(at)
        elif kind == RowKind.SUBTOTAL:
            self.subtotals.append(at)
        else:
            self.township_at.append(at)
        self.rows.append(r)
        self.names.append(name)


def no_entry(raw: list, count_cols: list[int], r: int, entries) -> bool:
    """No count cell of the row holds anything: no value, no formula. `0`, `—`, `/`, `无` are
    entries (they say 0)."""
    n = len(raw)
    for c in count_cols:
        v = raw[c] if c < n else ""
        if v is not None and (v.__class__ is not str or v.strip()):
            return False
        if entries and (r, c) in entries:
            return False
    return True


def sums_of_the_others(counts: list[tuple]) -> list[int]:
    """The first or last of three or more township rows when it holds, in every count column,
    exactly the sum of the other township rows, and some of those sums is not 0: almost surely
    the sheet's total row under a label the form does not know. `counts`: one tuple a count
    column, one value a township (None where the cell is no count: then nothing is known)."""
    n = len(counts[0]) if counts else 0
    if n < 3:
        return []
    candidates, some = (0, n - 1), False
    for column in counts:  # most sheets are done with at the first column
        if None in column:
            return []
        total = sum(column)
        candidates = tuple(i for i in candidates if column[i] * 2 == total)
        if not candidates:
            return []
        some = some or total != 0
    return list(candidates) if some else []


def is_number(v: object) -> bool:
    return v.__class__ is float or v.__class__ is int


def total_below(rows: list, start: int, key_col: int, kind_of) -> bool:
    for r in range(start, len(rows)):
        raw = rows[r]
        if key_col < len(raw) and raw[key_col].__class__ is str and raw[key_col]:
            if kind_of[clean_str(raw[key_col])] == RowKind.TOTAL:
                return True
    return False


def is_code_row(values: list, cols: list[int]) -> bool:
    """A column-number row (1 2 3 …) under the header, as statistical forms often have."""
    ordered = [v for _, v in sorted(zip(cols, values), key=lambda cv: cv[0])]
    try:
        nums = [parse_count(v) for v in ordered]
    except NotACount:
        return False
    return len(nums) > 2 and all(b - a == 1 for a, b in zip(nums, nums[1:]))


def row_text(grid: Grid, r: int) -> str:
    if r >= len(grid.rows):
        return ""
    parts = []
    for v in grid.rows[r]:
        if v.__class__ is str:
            if v:
                parts.append(_stripped(v))
        elif v is not None:
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            if isinstance(v, (datetime, date)):
                v = v.strftime("%Y-%m-%d")
            parts.append(unicodedata.normalize("NFKC", str(v)).strip())
    return "  ".join(parts)


@lru_cache(maxsize=16384)
def _stripped(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


class FieldTable(list):
    """What the reader works out once per sheet of the form: per field (key, one-row keys,
    two-row keys), each count field's unit, and the answers so far for sheet names and header
    texts, which come back in every return."""

    def __init__(self, spec: SheetSpec) -> None:
        super().__init__()
        for f in (*spec.fields, *spec.computed):
            one: set[str] = set()
            for text in (f.full_label, *f.aliases):
                one |= label_variants(text)
            if not f.group:
                one |= label_variants(f.label)
            two = {(normalise_label(f.group), v) for v in label_variants(f.label)} if f.group else set()
            self.append((f.key, one, two))
        self.key_field = spec.key_field.key
        self.count_units = {f.key: (f.unit,) if f.unit else () for f in spec.count_fields}
        self.one_keys = frozenset().union(*(one for _, one, _ in self))
        self.groups = frozenset(g for _, _, two in self for g, _ in two)
        self.subs = frozenset(b for _, _, two in self for _, b in two)
        self.vocabulary = self.one_keys | self.groups | self.subs
        self.prefixes = frozenset(k[:i] for k in self.one_keys for i in range(1, len(k) + 1))
        self.suffixes = frozenset(k[i:] for k in self.one_keys for i in range(len(k)))
        self.hits = _Memo(lambda text: not label_variants(text).isdisjoint(self.vocabulary))
        sheet_names = [normalise_label(x) for x in (spec.label, *spec.aliases)]
        # By (sheet name, the form's prefixes that make a name something else).
        self.names_this_sheet = _Memo(lambda key: any(_whole(w, normalise_label(key[0]), key[1]) for w in sheet_names))
        self.tops = _Memo(self._top_stand_in)
        self.bottoms = _Memo(self._bottom_stand_in)
        self.cell_matches = _Memo(self._cell_matches)

    def row_hits(self, row: list) -> bool:
        """Does any cell of the row hold one of the sheet's labels?"""
        hits = self.hits
        for v in row:
            if v.__class__ is str and v and hits[v]:
                return True
        return False

    # A header cell's text above (top) or in the row (bottom) that can take part in no label
    # at all, such as the 填报单位 line over a one-row header or a township's name under it,
    # acts exactly as any other such text would: it is replaced by a stand-in, so the cells
    # of every county's header share their answers.

    def _top_stand_in(self, top: object) -> object:
        norm = normalise_label(top)
        relevant = (not norm or norm in self.groups or not label_variants(top).isdisjoint(self.one_keys)
                    or norm in self.prefixes)
        return top if relevant else _NO_LABEL_ABOVE

    def _bottom_stand_in(self, bottom: object) -> object:
        variants = label_variants(bottom)
        relevant = not variants or not variants.isdisjoint(self.vocabulary) or not variants.isdisjoint(self.suffixes)
        return bottom if relevant else _NO_LABEL_HERE

    def _cell_matches(self, cell: tuple) -> tuple[tuple[int, ...], object]:
        """For one header cell (its text, the text above it, whether the two are one merged
        cell, the group label passed on from the left): the fields it could be, in the
        form's order, and the group label it passes on to the next cell."""
        top, bottom, same_merge, prev_top = cell
        if blank(top) and not blank(bottom) and prev_top:
            top = prev_top  # a group label typed once over its sub-columns, not merged
        bottom_variants = label_variants(bottom) if not blank(bottom) and not same_merge else set()
        top_norm = normalise_label(top)
        candidates_one = set(bottom_variants)
        if top_norm and bottom_variants:
            candidates_one |= {top_norm + b for b in bottom_variants}
        if (blank(bottom) or same_merge) and not blank(top):
            candidates_one |= label_variants(top)
        pairs = {(top_norm, b) for b in bottom_variants} if top_norm else set()
        matches = tuple(i for i, (_, one, two) in enumerate(self) if candidates_one & one or pairs & two)
        return matches, top if bottom_variants and top_norm else ""


_NO_LABEL_ABOVE = "\x01"
_NO_LABEL_HERE = "\x02"
_TABLES: dict[int, tuple[SheetSpec, FieldTable]] = {}


def field_table(spec: SheetSpec) -> FieldTable:
    # By identity: hashing a SheetSpec (nested tuples) on every sheet cost more than the lookup.
    entry = _TABLES.get(id(spec))
    if entry is None or entry[0] is not spec:
        if len(_TABLES) > 256:
            _TABLES.clear()
        entry = _TABLES[id(spec)] = (spec, FieldTable(spec))
    return entry[1]


def find_header(spec: SheetSpec, grid: Grid) -> tuple[int, dict[str, int]]:
    """The header's last row and each field's column; (-1, {}) when no row looks like a header."""
    keys = field_table(spec)
    merged = tuple(grid.merged)
    best = (-1, {})
    best_score = 0
    key_field = keys.key_field
    # No later row can beat a header that has every field: the rows under it are not looked at.
    perfect = len(keys) + 0.5
    rows = grid.rows
    # Only a row holding some label (or the row under one) can end the header.
    above_hits = False
    for h in range(min(len(rows), HEADER_SEARCH_ROWS + 1)):
        hits = h < HEADER_SEARCH_ROWS and keys.row_hits(rows[h])
        if hits or above_hits:
            cols = _match_row(grid, h, keys, merged)
            score = len(cols) + (0.5 if key_field in cols else 0)
            if score > best_score:
                best, best_score = (h, cols), score
                if score == perfect:
                    break
        above_hits = hits
    return best


@lru_cache(maxsize=1024)
def _row_merges(merged: tuple[tuple[int, int, int, int], ...], h: int) -> tuple[dict, frozenset]:
    """For header row h: the merged cell (its top-left) each column sees above it, and the
    columns whose cell is one merged cell with the cell above. Returns of one layout share
    their merges: worked out once."""
    sources = {}
    for r1, c1, r2, c2 in merged:
        if (r2 - r1 + 1) * (c2 - c1 + 1) > 400 or r2 < h - 1 or r1 > h:
            continue
        for r in range(max(r1, h - 1), min(r2, h) + 1):
            for c in range(c1, c2 + 1):
                sources[(r, c)] = (r1, c1)
    above = {c: src for (r, c), src in sources.items() if r == h - 1}
    same = frozenset(c for (r, c), src in sources.items() if r == h and above.get(c) == src)
    return above, same


_NO_MERGES: tuple[dict, frozenset] = ({}, frozenset())


def _match_row(grid: Grid, h: int, keys: FieldTable, merged: tuple) -> dict[str, int]:
    rows = grid.rows
    bottoms = rows[h]
    above = rows[h - 1] if h > 0 else []
    if len(above) < len(bottoms):
        above = [*above, *[""] * (len(bottoms) - len(above))]
    merged_above, same_merge = _row_merges(merged, h) if merged else _NO_MERGES
    found: dict[str, int] = {}
    taken: set[int] = set()
    tops, canonical_bottoms, cell_matches = keys.tops, keys.bottoms, keys.cell_matches
    prev_top: object = ""
    for c, bottom in enumerate(bottoms):
        if bottom.__class__ is int or bottom.__class__ is float:
            bottom = ""
        top = above[c]
        if merged_above:
            src = merged_above.get(c)
            if src:
                top = grid.value(*src)
        # Blank texts are their own stand-ins, so every cell goes through the memo.
        matches, keep_top = cell_matches[(tops[top], canonical_bottoms[bottom], c in same_merge, prev_top)]
        for i in matches:
            if i not in taken:
                taken.add(i)
                found[keys[i][0]] = c
                break
        prev_top = keep_top
    return found
