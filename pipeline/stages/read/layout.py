"""Where a form's table stands on a sheet: its header (each field's column, searched for
anywhere on the sheet), the rows kept under it (townships, 合计, 小计, 其中 rows, village rows),
and the tests a row is put to (a units row, a column-number row, no entry). Worked out once per
form and remembered per text, since every county's return repeats the same header and names;
the words that tell rows apart are in words.py."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from functools import lru_cache
from itertools import accumulate
from typing import NamedTuple

from ...spec.form import Form, ReaderSpec, SheetSpec
from ...spec.labels import label_variants, normalise_label, written_unit
from ...spec.numbers import MAX_COUNT, NotACount, chinese_numeral, parse_count
from .grid import Grid, cell_ref, column_letter
from .words import COLUMN_CODES, Memo, RowKind, blank, clean_str, row_words

MAX_NAME = 60  # no township's name is longer; a longer one is pasted text, not a name


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


_TABLE_NUMBER = re.compile(r"表([一二三四五六七八九十]{1,3})")


_COPY_MARK = re.compile(r"\s*[(（]\d{1,3}[)）]\s*$")  # Excel's name for a sheet's copy: 表一 (2)


def _as_sheet_name(name: str) -> str:
    """A sheet's name as matched against a table's: a copy's mark left off (表一 (2) is a copy of
    表一, not 表12), its table number in digits."""
    return _table_number_in_digits(normalise_label(_COPY_MARK.sub("", name)))


def _table_number_in_digits(name: str) -> str:
    """表一 as 表1 in a sheet's name: a clerk's copy named 表一（新） or 表一修改后 beside the
    template's 表一走访情况 is a sheet of this table as much as 表1 (2) is, not a table unread."""
    if "表" not in name:
        return name
    return _TABLE_NUMBER.sub(lambda m: f"表{n}" if (n := chinese_numeral(m.group(1))) else m.group(0), name)


def whole_counts(cells: tuple) -> tuple[int, ...] | None:
    """A column's cells as counts when every one is a whole number within bounds, as calamine
    gives them (floats), or blank: the common case, converted without a Python step per cell.
    None when any cell needs parse_count's closer look (and perhaps a finding)."""
    kinds = set(map(type, cells))
    if kinds != _JUST_FLOATS:
        if not cells:
            return ()
        if str not in kinds or not kinds <= _FLOATS_OR_TEXT or {c for c in set(cells) if c.__class__ is str} != _BLANK:
            return None
        # Blank cells among the figures (a zero left empty), or a column left empty: 0, as
        # parse_count reads a blank; any other text has its closer look.
        cells = tuple(0.0 if c == "" else c for c in cells)
        if kinds == {str}:
            return (0,) * len(cells)
    try:
        counts = tuple(map(int, cells))
    except (ValueError, OverflowError):  # NaN, infinity
        return None
    if counts != cells or min(counts) < 0 or max(counts) > MAX_COUNT:
        return None
    return counts


_JUST_FLOATS = {float}
_FLOATS_OR_TEXT = {float, str}
_BLANK = {""}


class Table:
    """Where a sheet's fields stand in the county's layout."""

    def __init__(self, spec: SheetSpec, columns: dict[str, int], reader: ReaderSpec | None = None) -> None:
        self.spec = spec
        self.key_field = spec.key_field.key
        self.key_col = columns[self.key_field]
        items = [(k, c) for k, c in columns.items() if k != self.key_field]
        self.keys = [k for k, _ in items]
        self.col_index = [c for _, c in items]
        self.letters = [column_letter(c) for c in self.col_index]
        units = field_table(spec).units_with(reader)
        self.unit_of = [units.get(k) for k in self.keys]  # None: a computed column
        self.count_cols = [c for c, u in zip(self.col_index, self.unit_of) if u is not None]
        self.count_units = [u for u in self.unit_of if u is not None]
        self.first_field_col = min(self.col_index)
        self.last_col = max(self.col_index)
        # Columns between the township's and the last field's that no field has (序号, 备注, a gap)
        taken = set(self.col_index)
        self.gaps = [c for c in range(self.key_col + 1, self.last_col) if c not in taken]
        self.header_row = -1
        self.village_col = -2  # the column of village names beside the township's; -2 until looked for
        self.key_merges: dict[int, int] | None = None  # row → top row of a merged cell over its township cell


class Rows:
    """The rows kept from a table, in order: each one's row index, name and kind."""

    def __init__(self) -> None:
        self.rows: list[int] = []
        self.names: list[str] = []
        self.township_at: list[int] = []  # positions in `rows`
        self.totals: list[int] = []
        self.subtotals: list[int] = []
        self.breakdowns: list[tuple[int, int]] = []  # (position, position of the row it breaks down, or -1)
        self.villages: list[tuple[int, int]] = []  # (position, position of its township's row)
        self.texts: dict[int, str] = {}  # rows of text alone, by row index
        self.footer = -1
        self.explanation = ""  # the county's 上报说明 under the table

    def add(self, r: int, kind: int, name: str) -> None:
        at = len(self.rows)
        if kind == RowKind.TOTAL:
            self.totals.append(at)
        elif kind == RowKind.SUBTOTAL:
            self.subtotals.append(at)
        elif kind == RowKind.BREAKDOWN:
            self.breakdowns.append((at, self.parent_of_breakdown()))
        elif kind == RowKind.VILLAGE:
            self.villages.append((at, self.village_head()))
        else:
            self.township_at.append(at)
        self.rows.append(r)
        self.names.append(name)

    def parent_of_breakdown(self) -> int:
        """The nearest kept row above that is not itself a breakdown; -1 when there is none."""
        below = {at for at, _ in self.breakdowns}
        at = len(self.rows) - 1
        while at in below:
            at -= 1
        return at

    def village_head(self) -> int:
        """The township whose village rows continue at the next row: the last kept row, when it
        is a township or one of its villages; -1 otherwise."""
        at = len(self.rows) - 1
        if at < 0:
            return -1
        if self.villages and self.villages[-1][0] == at:
            return self.villages[-1][1]
        return at if self.township_at and self.township_at[-1] == at and self.names[at] else -1

    def promote(self, r: int) -> None:
        """A row of text alone that turns out to head village rows: the township they sum into."""
        self.township_at.append(len(self.rows))
        self.rows.append(r)
        self.names.append(self.texts.pop(r))




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


NEAR_TOTAL_TOWNSHIPS = 5  # with three or four, one township may equal the others in most columns by chance


def nearly_sums_of_the_others(counts: list[tuple]) -> list[tuple[int, int]]:
    """(row, column) for the first or last of five or more township rows holding exactly the
    sum of the other township rows in every count column but `column`, at least three of those
    figures not 0, in four or more columns: the sheet's total row under a label the form does
    not know, with one figure mistyped or left blank. Added, it would nearly double the county.
    A column with a cell that is no count (None) says nothing either way."""
    n = len(counts[0]) if counts else 0
    if n < NEAR_TOTAL_TOWNSHIPS or len(counts) < 4:
        return []
    sums: dict[int, int] = {}  # a column's sum, worked out when first asked: most sheets ask two
    found = []
    for i in (0, n - 1):
        differ, agree = -1, 0
        for j, column in enumerate(counts):
            if None in column:
                continue
            total = sums.get(j)
            if total is None:
                total = sums[j] = sum(column)
            if column[i] * 2 != total:
                if differ >= 0:
                    break  # a second column differs: a township like any
                differ = j
            elif column[i]:
                agree += 1
        else:
            if differ >= 0 and agree >= 3:
                found.append((i, differ))
    return found


def sums_of_those_above(counts: list[tuple]) -> list[tuple[int, int]]:
    """(row, how many) for each township row holding, in every count column, exactly the sum of
    the two or more township rows just above it, three or more of its figures not 0: a group's
    subtotal (川区乡镇) under a label with no 小计 in it, which added would count its townships
    twice. `counts` as for sums_of_the_others. Prefix sums on the first column find the few
    rows worth a look; every column's prefix sums, made only then (most sheets have no such
    row), give where such a group would start: the first place all of them stand where the
    row's figures, taken from its own prefix sums, leave them. Linear however many rows are
    alike (thousands of rows of 0 pasted down a sheet)."""
    n = len(counts[0]) if counts else 0
    if n < 3 or any(None in column for column in counts):
        return []
    first = list(accumulate(counts[0], initial=0))
    ends: dict[int, int] = {}
    for m, p in enumerate(first):
        ends.setdefault(p, m)  # the first place the first column's sum stands so
    prefixes: list[list[int]] = []
    starts: dict[tuple, int] = {}
    found = []
    for i in range(2, n):
        m = ends.get(first[i] - counts[0][i])
        if m is None or m > i - 2:
            continue
        if not prefixes:
            prefixes = [first, *(list(accumulate(column, initial=0)) for column in counts[1:])]
            for at, sums in enumerate(zip(*prefixes)):
                starts.setdefault(sums, at)
        m = starts.get(tuple([p[i] - column[i] for p, column in zip(prefixes, counts)]))
        if m is not None and m <= i - 2 and sum(1 for column in counts if column[i]) >= 3:
            found.append((i, i - m))
    return found


def sums_of_those_below(counts: list[tuple]) -> list[tuple[int, int]]:
    """(row, how many) for each township row holding, in every count column, exactly the sum of
    the two or more township rows just below it, three or more of its figures not 0: a group's
    subtotal written above its townships (川区 over the townships of the plain), or a township
    over the villages it is made of. sums_of_those_above, the rows read upwards."""
    n = len(counts[0]) if counts else 0
    return [(n - 1 - i, k) for i, k in reversed(sums_of_those_above([column[::-1] for column in counts]))]


NEAR_SUBTOTAL_ROWS = 3  # with two, a township may equal the two above it in most columns by chance
INDEXED_ROWS = 64  # past so many township rows, where a group may start is looked up, not searched for


def nearly_sums_of_those_above(counts: list[tuple]) -> list[tuple[int, int, int]]:
    """(row, how many, column) for each township row holding exactly the sum of the three or more
    township rows just above it in every count column but `column`, at least three of those
    figures not 0, in four or more columns: a group's subtotal (城区街道) under a label with no
    小计 in it, with one figure mistyped or left blank. Added, its townships count twice. A
    column with a cell that is no count (None) says nothing either way; the rows above reaching
    the first township and this one the last are the whole table, the total's business
    (nearly_sums_of_the_others).

    Two guide columns find the rows worth a look (only one column may differ, so one guide
    agrees): counts are never negative, so such a row's guide figure is at least the three just
    above it, which few rows' are, and it has three figures not 0; for those, two guides' prefix
    sums give where a group may start, nearest first, and every column's prefix sums then say
    whether it is one. Starts that no column's sums tell apart (rows of 0 between them) are one
    start: looked at once."""
    n = len(counts[0]) if counts else 0
    if n < NEAR_SUBTOTAL_ROWS + 1 or len(counts) < 4:
        return []
    guides = []
    for column in counts:
        if None not in column:
            guides.append(column)
            if len(guides) == 2:
                break
    if len(guides) < 2:
        return []
    looked = sorted({i + NEAR_SUBTOTAL_ROWS for g in guides
                     for i, (a, b, c, v) in enumerate(zip(g, g[1:], g[2:], g[3:])) if v >= a + b + c})
    if not looked:
        return []  # most sheets: no row outweighs the three above it
    usable = [j for j, column in enumerate(counts) if None not in column]
    if len(usable) < 4:
        return []
    looked = [i for i in looked if sum(1 for j in usable if counts[j][i]) >= 3]
    if not looked:
        return []
    # Any two guides find every such row; where a group may start is asked of the two columns
    # with the fewest 0s, whose sums stand still least (rows of 0 down a column).
    if 0 in guides[0] or 0 in guides[1]:
        guides = [counts[j] for j in sorted(usable, key=lambda j: counts[j].count(0))[:2]]
    prefixes = [list(accumulate(g, initial=0)) for g in guides]
    places: list[dict[int, list[int]]] = []
    if n > INDEXED_ROWS:  # where each guide's sums stand: else each look at a row is a pass over all above it
        for p in prefixes:
            at: dict[int, list[int]] = {}
            for m, total in enumerate(p):
                at.setdefault(total, []).append(m)
            places.append(at)
    sums: list[list[int]] = []
    found = []
    for i in looked:
        if places:
            starts = {m for g, p, at in zip(guides, prefixes, places) for m in at.get(p[i] - g[i], ())
                      if m <= i - NEAR_SUBTOTAL_ROWS}
        else:
            starts = {m for g, p in zip(guides, prefixes) for m in range(i - NEAR_SUBTOTAL_ROWS, -1, -1)
                      if p[i] - p[m] == g[i]}
        if not starts:
            continue
        if not sums:
            sums = [list(accumulate(counts[j], initial=0)) for j in usable]
        tried: set[tuple] = set()
        for m in sorted(starts, reverse=True):  # the nearest group first
            if m == 0 and i == n - 1:
                continue
            before = tuple(s[m] for s in sums)
            if before in tried:
                continue  # only rows of 0 between the two: the same group's sums
            tried.add(before)
            differ, agree = -1, 0
            for k, j in enumerate(usable):
                figure = counts[j][i]
                if sums[k][i] - before[k] != figure:
                    if differ >= 0:
                        break
                    differ = j
                elif figure:
                    agree += 1
            else:
                if differ >= 0 and agree >= 3:
                    found.append((i, i - m, differ))
                    break
    return found


def is_number(v: object) -> bool:
    return v.__class__ is float or v.__class__ is int


def total_below(rows: list, start: int, key_col: int, kind_of, stop: int | None = None) -> bool:
    for r in range(start, len(rows) if stop is None else stop):
        raw = rows[r]
        if key_col < len(raw) and raw[key_col].__class__ is str and raw[key_col]:
            if kind_of[clean_str(raw[key_col])] == RowKind.TOTAL:
                return True
    return False


_BRACKETS = "()[]【】"
UNIT_LABELS = frozenset({"单位", "计量单位"})
UNIT_ROW_KEYS = UNIT_LABELS | COLUMN_CODES  # what a units row's (or a column-number row's) township cell may say


def is_units_row(raw: list, table: Table) -> bool:
    """A row under the header in which each count cell holding anything holds its own
    column's unit (户, （个）) or a synonym the form declares, and the township cell nothing but
    the word 单位: part of the header, read as no township."""
    n = len(raw)
    key = raw[table.key_col] if table.key_col < n else ""
    if not blank(key) and not (key.__class__ is str and clean_str(key) in UNIT_LABELS):
        return False
    seen = False
    for c, units in zip(table.count_cols, table.count_units):
        v = raw[c] if c < n else ""
        if blank(v):
            continue
        if v.__class__ is not str or _unit_written(v) not in units:
            return False
        seen = True
    return seen


_UNIT_PREFIX = re.compile(r"^(?:计量)?单位:?")


def _unit_written(text: str) -> str:
    """A units row's cell as the unit alone: （户） → 户, 单位：户 → 户, 个/村 (a count per village) → 个."""
    unit = _UNIT_PREFIX.sub("", clean_str(text)).strip(_BRACKETS)
    return unit.split("/", 1)[0].strip(_BRACKETS)


# A header's unit that says its column holds no count of the field's unit, whatever that is:
# a share (走访农户数（%）, 占比), or a count in tens or thousands of them (农户总数（万户）).
_MAGNITUDES = "十百千万亿"
_SHARE_WORDS = ("%", "‰", "百分", "比例", "占比", "比重", "比率")


def unit_differs(written: str, allowed: tuple[str, ...], known: frozenset[str], generic: frozenset[str] = frozenset()) -> bool:
    """Whether the unit a header names (written_unit) is not its field's: a share, a magnitude
    (万户, 千), or another unit the form knows (人 over a count of households, 人次 over one of
    cadres). Its field's unit or a synonym, with or without 数 (户数), is the field's; words
    that are no unit (含社区, 累计) say nothing."""
    unit = _UNIT_PREFIX.sub("", written).strip()
    base = unit[:-1] if unit.endswith("数") else unit
    if not unit or unit in allowed or base in allowed:
        return False
    if any(word in unit for word in _SHARE_WORDS) or unit.endswith("率"):
        return True
    if unit[0] in _MAGNITUDES and (len(unit) == 1 or unit[1:] in known or unit[1:-1] in known):
        return True
    if unit in generic or base in generic:
        return False  # 个, 件, 次: a measure word for any count, which says nothing of what is counted
    return unit in known or base in known


def known_units(form: Form) -> frozenset[str]:
    """Every unit the form counts in, the synonyms its reader declares, and the other units
    its reader knows a header may name (人次, 元): what a header's brackets are taken for.
    Worked out once per form, with the form's other row words."""
    return row_words(form).known_units


def units_over(spec: SheetSpec, header: Header, columns: dict[str, int], reader: ReaderSpec | None,
               known: frozenset[str]) -> list[tuple[int, int, str, str, str]]:
    """(row, column, field, what is written, rule) for each count field whose label in the
    header names, in brackets after it, a unit that is not the field's (走访2次以上农户数（%）,
    联户干部数（人次）: column-unit) or figures other than this round's whole count (走访农户数
    （去年同期）, （计划）, （未走访）: column-qualified): its column holds other figures, which added as
    the field's would be silently wrong. The units are those find_header saw after the labels
    it matched (most headers: none), in the label's own cell, never a line over the table; for
    the column each field is read from."""
    if not header.units:
        return []
    units = field_table(spec).units_with(reader)
    generic = frozenset(reader.generic_units) if reader is not None else frozenset()
    qualifiers = reader.qualifier_words if reader is not None else ()
    out: list[tuple[int, int, str, str, str]] = []
    for key, r, c, written in header.units:
        allowed = units.get(key)  # none: the township's column, or a computed one (覆盖率（%）)
        read_from = columns.get(key)
        if not allowed or read_from is None or not (c == read_from or r < header.row) or any(f == key for _, _, f, _, _ in out):
            continue
        if any(w in written for w in qualifiers):
            out.append((r, c, key, written, "column-qualified"))
        elif unit_differs(written, allowed, known, generic):
            out.append((r, c, key, written, "column-unit"))
    return out


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
            subs = (f.label, *f.sub_aliases)
            for text in (f.full_label, *f.aliases, *(f"{f.group}{sub}" for sub in f.sub_aliases if f.group)):
                one |= label_variants(text)
            if not f.group:
                one |= label_variants(f.label)
            two = {(normalise_label(f.group), v) for sub in subs for v in label_variants(sub)} if f.group else set()
            self.append((f.key, one, two))
        self.key_field = spec.key_field.key
        # Each field's label as a cell may hold it: alone, or under its group
        self.names_of = {key: frozenset(one | {b for _, b in two}) for key, one, two in self}
        self.needed = frozenset(f.key for f in spec.fields)  # a header holding these is the one
        self.count_units = {f.key: (f.unit,) if f.unit else () for f in spec.count_fields}
        self._with_synonyms: tuple[ReaderSpec | None, dict] = (None, self.count_units)

        self.one_keys = frozenset().union(*(one for _, one, _ in self))
        self.groups = frozenset(g for _, _, two in self for g, _ in two)
        self.subs = frozenset(b for _, _, two in self for _, b in two)
        self.vocabulary = self.one_keys | self.groups | self.subs
        self.prefixes = frozenset(k[:i] for k in self.one_keys for i in range(1, len(k) + 1))
        self.suffixes = frozenset(k[i:] for k in self.one_keys for i in range(len(k)))
        self.hits = Memo(lambda text: not label_variants(text).isdisjoint(self.vocabulary))
        sheet_names = [_table_number_in_digits(normalise_label(x)) for x in (spec.label, *spec.aliases)]
        # By (sheet name, the form's prefixes that make a name something else).
        self.names_this_sheet = Memo(lambda key: any(_whole(w, _as_sheet_name(key[0]), key[1]) for w in sheet_names))
        self.tops = Memo(self._top_stand_in)
        self.bottoms = Memo(self._bottom_stand_in)
        self.cell_matches = Memo(self._cell_matches)

    def units_with(self, reader: ReaderSpec | None) -> dict[str, tuple[str, ...]]:
        """Each count field's unit with the synonyms the form declares for it."""
        if reader is None or not reader.unit_synonyms:
            return self.count_units
        if self._with_synonyms[0] is not reader:
            self._with_synonyms = (reader, {k: reader.units_for(u[0]) if u else u for k, u in self.count_units.items()})
        return self._with_synonyms[1]

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

    def _cell_matches(self, cell: tuple) -> tuple[tuple[int, ...], object, tuple[str, str] | None]:
        """For one header cell (its text, the text above it, whether the two are one merged
        cell, the group label passed on from the left): the fields it could be, in the
        form's order, the group label it passes on to the next cell, and the unit written
        after the label matched, with which of the two texts holds it."""
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
        # The unit written after the label (走访农户数（%）), by the cell it is in: the label's own
        unit = None
        if matches:
            if bottom_variants:
                unit = ("bottom", written_unit(bottom)) if bottom.__class__ is str else None
            elif top.__class__ is str:
                unit = ("top", written_unit(top))
            unit = unit if unit and unit[1] else None
        return matches, top if bottom_variants and top_norm else "", unit


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


def transposed_at(spec: SheetSpec, grid: Grid, least: int = 3) -> str:
    """The cell of the first of the form's item labels written down one of the sheet's first
    columns, when `least` or more are (the table turned, a township a column): "" otherwise."""
    table = field_table(spec)
    counted = {f.key for f in spec.count_fields}
    for c in range(min(3, max((len(r) for r in grid.rows), default=0))):
        seen: dict[str, str] = {}
        for r in range(min(len(grid.rows), 80)):
            v = grid.value(r, c)
            if v.__class__ is not str or not v.strip():
                continue
            variants = label_variants(v)
            for key, one, _ in table:
                if key in counted and key not in seen and not variants.isdisjoint(one):
                    seen[key] = cell_ref(r, c)
        if len(seen) >= least:
            return min(seen.values(), key=lambda ref: int("".join(ch for ch in ref if ch.isdigit())))
    return ""


class Header(NamedTuple):
    """Where a table's header ends, each field's column, the further columns found under a
    field's header (an old column hidden beside the corrected one), by field key, and the
    units written after a field's label: (field, row, column of the label's cell, unit)."""

    row: int
    columns: dict[str, int]
    doubles: dict[str, list[int]]
    units: tuple = ()


NO_HEADER = Header(-1, {}, {})


def find_header(spec: SheetSpec, grid: Grid, start: int = 0, end: int | None = None) -> Header:
    """The header's last row and each field's column, searched for anywhere from row `start`
    to `end`; NO_HEADER when no row looks like a header."""
    keys = field_table(spec)
    merged = tuple(grid.merged)
    best, best_row = {}, -1
    best_score = 0.0
    key_field, needed = keys.key_field, keys.needed
    rows = grid.rows
    end = len(rows) if end is None else min(end, len(rows))
    # Only a row holding some label (or the row under one) can end the header.
    above_hits = False
    best_doubles: dict[str, list[int]] = {}
    best_units: list = []
    for h in range(start, end):
        hits = keys.row_hits(rows[h])
        if hits or above_hits:
            doubles: dict[str, list[int]] = {}
            units: list = []
            cols = _match_row(grid, h, keys, merged, doubles, units)
            score = len(cols) + (0.5 if key_field in cols else 0)
            if score > best_score:
                best, best_row, best_score, best_doubles, best_units = cols, h, score, doubles, units
                # No later row can beat a header that has every field: the rows under it are not looked at.
                if needed <= cols.keys():
                    break
        above_hits = hits
    return Header(best_row, best, best_doubles, tuple(best_units)) if best_row >= 0 else NO_HEADER


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


def _match_row(grid: Grid, h: int, keys: FieldTable, merged: tuple, doubles: dict | None = None,
               units: list | None = None) -> dict[str, int]:
    """Each field's column in header row h. With `doubles`, a cell that could only be a field
    already found is put there under that field's key; with `units`, each unit written after
    a field's label, (field, row, column, unit), the label's own cell named."""
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
        matches, keep_top, unit = cell_matches[(tops[top], canonical_bottoms[bottom], c in same_merge, prev_top)]
        for i in matches:
            if i not in taken:
                taken.add(i)
                found[keys[i][0]] = c
                break
        else:
            i = matches[0] if matches else -1
            if matches and doubles is not None:
                doubles.setdefault(keys[matches[0]][0], []).append(c)
        if unit is not None and units is not None and i >= 0:
            src = merged_above.get(c) if merged_above and unit[0] == "top" else None
            r, col = (h, c) if unit[0] == "bottom" else src or (h - 1, c)
            units.append((keys[i][0], r, col, unit[1]))
        prev_top = keep_top
    return found
