"""Which sheet, and where on it, holds each of the form's tables: by the sheet's name, else by
what the table says: its title row (表一 …走访情况统计表) with its header below, or, lacking a
title, a header in which exactly this table has all its columns. Several tables may stand on
one sheet, each under its own title: another table's title ends a block.

The common return names its sheets after its tables and never gets here past the name; a
workbook of Sheet1, Sheet2… is surveyed once, each sheet's rows looked at for titles once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...spec.form import Form, SheetSpec
from ...spec.units import UnitList
from .grid import Book, Grid, cell_ref
from .identity import CODE_LINE, UNIT_LINE
from .layout import Header, field_table, find_header, row_text
from .words import blank, clean_str, row_words

# How a candidate was found, best first.
BY_NAME, BY_TITLE, BY_HEADER = 3, 2, 1
HOW = {BY_TITLE: "标题和表头", BY_HEADER: "表头"}


@dataclass
class Candidate:
    """A block of a sheet that may be one of the form's tables: rows `start` to `end` (the row
    after it), found by its name, its title or its header."""

    grid: Grid
    how: int
    start: int = 0
    end: int = -1  # -1: to the end of the sheet
    header: Header | None = None
    title: str = ""
    title_row: int = -1
    header_top: int = -1  # a header of two rows found with no title: its first row, which a finding names
    _unit: str | None = field(default=None, repr=False)

    @property
    def rank(self) -> tuple[bool, int]:
        """Visible, then better found: two candidates of one rank are equally good. A hidden
        sheet named 表1 (an old copy, a scratch sheet) never beats a shown one that says it is 表一."""
        return self.grid.visible, self.how

    @property
    def stop(self) -> int:
        return len(self.grid.rows) if self.end < 0 else self.end

    @property
    def cell(self) -> str:
        """Where the table starts, as a finding names it: its title's cell, else its header's."""
        if self.title_row >= 0:
            return cell_ref(self.title_row, _first_filled(self.grid.rows[self.title_row]))
        if self.header is not None and self.header.row >= 0:
            row = self.header_top if self.header_top >= 0 else self.header.row
            return cell_ref(row, min(self.header.columns.values()))
        return ""

    def unit(self, units: UnitList, form: Form) -> str:
        """The unit this block names: its 行政区划代码 or 填报单位 line above the header, else a
        unit named in its title, else in its sheet's name; "" when none."""
        if self._unit is None:
            self._unit = self._named_unit(units, form)
        return self._unit

    def _named_unit(self, units: UnitList, form: Form) -> str:
        top = self.header.row if self.header is not None and self.header.row >= 0 else min(self.stop, self.start + 8)
        for r in range(self.start, top):
            text = row_text(self.grid, r)
            code = "代码" in text and CODE_LINE.search(text)
            if code and units.by_code(code.group(1)):
                return code.group(1)
            name = "填报单位" in text and UNIT_LINE.search(text)
            if name and (found := units.match_name(name.group(1).strip(), form.name_noise)):
                return found
        return units.find_in_filename(self.title) or units.find_in_filename(self.grid.name) or ""


class SheetPicker:
    """Every table's candidates in one workbook, best first. Sheets are loaded once, and only
    surveyed for titles when some table's sheet is not known by its name."""

    def __init__(self, form: Form, book: Book) -> None:
        self.form, self.book = form, book
        self.grids: dict[str, Grid] = {}
        self.blocks: list[tuple[Grid, int, int, str, int]] | None = None  # (grid, start, end, title key, title row)

    def grid(self, name: str) -> Grid:
        if name not in self.grids:
            self.grids[name] = self.book.loader(name)  # type: ignore[operator]
        return self.grids[name]

    def candidates(self, spec: SheetSpec) -> list[Candidate]:
        """The sheets and blocks that may hold `spec`'s table, best first."""
        named = self._by_name(spec)
        shown = [c for c in named if c.grid.visible]
        if shown and not all(self._holds_another(spec, c) for c in shown):
            return named
        if shown:
            # 表一 and 表二 on each other's sheets (renamed the wrong way round): each table is
            # where its header is, not where a name says; every column was said to be missing.
            found = self._by_content(spec)
            if found:
                return sorted(found, key=lambda c: c.rank, reverse=True)
            return named
        return sorted([*named, *self._by_content(spec)], key=lambda c: c.rank, reverse=True)

    def _holds_another(self, spec: SheetSpec, candidate: Candidate) -> bool:
        """The sheet named for `spec` lacks its columns and has all of another table's. Its
        header is looked for once, here, and kept for the reader (as it would look for it)."""
        if candidate.header is None:
            candidate.header = find_header(spec, candidate.grid, candidate.start, candidate.stop)
        if field_table(spec).needed <= candidate.header.columns.keys():
            return False
        return any(other is not spec and field_table(other).needed <= find_header(other, candidate.grid).columns.keys()
                   for other in self.form.sheets)

    def _by_name(self, spec: SheetSpec) -> list[Candidate]:
        names_this = field_table(spec).names_this_sheet
        prefixes = self.form.reader.not_sheet_prefixes
        matches = [name for name, _ in self.book.sheets if names_this[(name, prefixes)]]
        found = [Candidate(self.grid(name), BY_NAME) for name in matches]
        if len(found) > 1:
            # A sheet with no cells (a leftover copy, a sheet kept for a picture) is no candidate.
            found = [c for c in found if any(any(v not in ("", None) for v in row) for row in c.grid.rows)]
        return sorted(found, key=lambda c: c.rank, reverse=True)

    def _by_content(self, spec: SheetSpec) -> list[Candidate]:
        """Blocks whose title names this table with a header of it below, or whose header has
        every column of this table (and then of no other)."""
        keys = field_table(spec)
        counts = [f.key for f in spec.count_fields]
        out = []
        for grid, start, end, title_key, title_row in self._survey():
            header = find_header(spec, grid, start, end)
            if header.row < 0 or keys.key_field not in header.columns:
                continue
            found = sum(k in header.columns for k in counts)
            if title_key == spec.key and found * 2 >= len(counts):
                title = row_text(grid, title_row)
                # Another table pasted under this one without its title: this one ends there,
                # not past its own 合计 into the other's rows.
                below = [t for t in self._tops(spec, grid, header.row + 1, end) or () if t > header.row]
                out.append(Candidate(grid, BY_TITLE, start, min(below, default=end), header, title, title_row))
            elif keys.needed <= header.columns.keys():
                top = _header_top(spec, grid, header.row, start)
                if self._only(spec, grid, start, end):
                    out.append(Candidate(grid, BY_HEADER, start, end, header, header_top=top))
                elif (cut := self._between_headers(spec, grid, start, end, header)) is not None:
                    out.append(Candidate(grid, BY_HEADER, *cut, header, header_top=top))
        return out

    def _between_headers(self, spec: SheetSpec, grid: Grid, start: int, end: int,
                         header: Header) -> tuple[int, int] | None:
        """The tables pasted one under another with no title between them (a clerk's new
        workbook of one sheet): this table's rows, from the top of its header to the top of the
        next table's. None when two tables' headers share a row (side by side: no cut says
        which rows are whose)."""
        tops = self._tops(spec, grid, start, end, header)
        if tops is None:
            return None
        mine = _header_top(spec, grid, header.row, start)
        later = [t for t in tops if t > mine]
        return (mine if any(t < mine for t in tops) else start), (min(later) if later else end)

    def _tops(self, spec: SheetSpec, grid: Grid, start: int, end: int, header: Header | None = None) -> list[int] | None:
        """Where each other table's header (with all its columns) starts between rows `start`
        and `end`; None when one shares a row with this table's `header`."""
        tops = []
        for other in self.form.sheets:
            if other is spec:
                continue
            found = find_header(other, grid, start, end)
            if found.row < 0 or not field_table(other).needed <= found.columns.keys():
                continue
            if header is not None and found.row == header.row:
                return None
            tops.append(_header_top(other, grid, found.row, start))
        return tops

    def _only(self, spec: SheetSpec, grid: Grid, start: int, end: int) -> bool:
        """No other table of the form has all its columns in this block's header too."""
        for other in self.form.sheets:
            if other is not spec:
                header = find_header(other, grid, start, end)
                if header.row >= 0 and field_table(other).needed <= header.columns.keys():
                    return False
        return True

    def _survey(self) -> list[tuple[Grid, int, int, str, int]]:
        """Every worksheet cut into blocks at the rows that are some table's title: (grid, first
        row, row after, the key of the table its title names or "", the title's row or -1)."""
        if self.blocks is None:
            titles = row_words(self.form).titles.of
            self.blocks = []
            for name, _ in self.book.sheets:
                grid = self.grid(name)
                starts: list[tuple[int, str]] = [(0, "")]
                for r, row in enumerate(grid.rows):
                    first = next((v for v in row if not blank(v)), None)
                    if first.__class__ is str and (key := titles[clean_str(first)]):
                        starts.append((r, key))
                if len(starts) > 1 and starts[1][0] == 0:
                    starts.pop(0)
                for i, (start, key) in enumerate(starts):
                    end = starts[i + 1][0] if i + 1 < len(starts) else len(grid.rows)
                    self.blocks.append((grid, start, end, key, start if key else -1))
        return self.blocks


def _header_top(spec: SheetSpec, grid: Grid, last: int, start: int) -> int:
    """The first row of a header that ends at row `last`: the rows just above it that hold
    some of its labels (二级表头: “六个精准”方面问题 over 排查数、已整改)."""
    hits = field_table(spec).row_hits
    top = last
    while top - 1 >= start and hits(grid.rows[top - 1]):
        top -= 1
    return top


def _first_filled(row: list) -> int:
    return next((c for c, v in enumerate(row) if not blank(v)), 0)
