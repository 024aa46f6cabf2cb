"""One workbook read table by table: each of the form's tables picked (by its sheet's name, else
by its title or header), its header found, its rows classified and its values converted; then
the return's identity. Findings are collected as it goes."""

from __future__ import annotations

import os
import re
from dataclasses import replace
from datetime import date, datetime
from operator import itemgetter

from ...model import Finding, ReadResult, Return, Severity, SheetData, Source
from ...spec.form import Form, SheetSpec
from ...spec.labels import as_written, normalise_label
from ...spec.numbers import InWan, NotACount, TooLarge, display, display_header, parse_count
from ...spec.units import UnitList
from .grid import Book, Grid, Unreadable, cell_ref, column_letter
from .identity import Identifying, explanation_below
from .layout import (
    MAX_NAME,
    UNIT_ROW_KEYS,
    Header,
    Rows,
    Table,
    field_table,
    find_header,
    is_code_row,
    is_number,
    is_units_row,
    known_units,
    nearly_sums_of_the_others,
    nearly_sums_of_those_above,
    no_entry,
    sums_of_the_others,
    sums_of_those_above,
    sums_of_those_below,
    total_below,
    transposed_at,
    units_over,
    whole_counts,
)
from .parts import check_breakdowns, fold_villages, settle_doubles, village_column, village_kind
from .pick import BY_NAME, HOW, Candidate, SheetPicker
from .redo import redo
from .scans import WINDOW_ROWS, ShownText, hides_text
from .words import SERIAL_STARTS, RowKind, RowWords, blank, clean_str, clean_text, row_words, without_serial

# Web pages and XML files are often no return at all (a notice, a system's error page); a CSV is
# always meant as a table, and one that is none of the form's is read as any workbook is.
PAGES = ("html", "xml")
WORKBOOK_NAMES = (".xls", ".xlsx", ".xlsm", ".et", ".ods", ".xlt", ".xltx")
HIDDEN_NAMED = 5  # hidden townships named in the finding, then 等
# What a system's export writes under each item when it splits it by period (本月 | 累计).
PERIOD_COLUMNS = frozenset({"本月", "累计", "本期", "当月", "本年", "本年累计", "当期", "新增", "累计数", "本月数", "本期数",
                            "当月数", "截至本月", "年初至今", "上月", "上期", "同期", "去年同期"})
STRUCK_THROUGH = "删除线"  # a row's mark when its name or a figure is struck through


class ReturnReader(Identifying):
    def __init__(self, source: Source, form: Form, units: UnitList, book: Book) -> None:
        self.source, self.form, self.units, self.book = source, form, units, book
        self.findings: list[Finding] = []
        self.identity: dict[str, list[tuple[str, str]]] = {"name": [], "code": [], "date": [], "title": []}
        self.people: dict[str, str] = {}

    def finding(self, rule: str, *, sheet: str = "", cell: str = "", field: str = "", county: str = "", **kw) -> None:
        """`county`: the finding belongs to another county than the return's (the one its file
        name names); otherwise it is filled in once the return's county is known."""
        self.findings.append(self.form.finding(rule, file=self.source.path, county=county, sheet=sheet, cell=cell,
                                               field=field, **kw))

    def load(self) -> ReturnReader:
        """Each of the form's tables found in the workbook, its sheet parsed."""
        self.picker = SheetPicker(self.form, self.book)
        self.tables: list[tuple[SheetSpec, Candidate]] = []
        self.spoken_for: set[str] = set()  # sheets a finding names already (two equally good for one table)
        self.undecided: list[Grid] = []  # those sheets, in order
        for spec in self.form.sheets:
            chosen = self._pick(spec)
            if chosen is not None:
                self.tables.append((spec, chosen))
        if len(self.book.sheets) > len({c.grid.name for _, c in self.tables} | self.spoken_for):
            self._unread_tables()
        return self

    def _unread_tables(self) -> None:
        """A shown sheet no table was read from that holds a form table's header and townships'
        figures under it (表一（续）, a Sheet2 carrying on): its figures are in no sum, and the
        clerk is told where they are. A return's spare sheets (empty, notes) cost a look."""
        used = {c.grid.name for _, c in self.tables} | self.spoken_for
        words = row_words(self.form)
        for name, visible in self.book.sheets:
            if name in used or not visible:
                continue
            try:
                grid = self.picker.grid(name)
            except Unreadable:
                continue  # a spare sheet the engine cannot read: passed over, as before anyone looked
            for spec in self.form.sheets:
                header = find_header(spec, grid)
                table = field_table(spec)
                if header.row < 0 or table.key_field not in header.columns:
                    continue
                key_col = header.columns[table.key_field]
                counts = [header.columns[f.key] for f in spec.count_fields if f.key in header.columns]
                if township_with_figures(grid, range(header.row + 1, len(grid.rows)), key_col, counts, words):
                    self.finding("table-not-read", sheet=name, cell=cell_ref(header.row, key_col),
                                 sheet_number=spec.number, sheet_label=spec.label)
                    return
            # No header at all: the rest of a table a page split in two (a paged export's second
            # <table>), townships and figures only, whose 合计 was never read either.
            rows = _township_rows_without_header(grid, words, max(2, min(len(s.count_fields) for s in self.form.sheets) - 1))
            if len(rows) >= 2:
                (r, c, key), more = rows[0], len(rows) - 1
                self.finding("figures-not-read", sheet=name, cell=cell_ref(r, c), value=display(key), count=more + 1)
                return

    def read(self) -> ReadResult:
        if not self.tables and self.book.kind in PAGES:
            return self._no_table()
        # Headers and the lines above them first: the return's unit, whose own name may label
        # its total row, is known before any row is classified.
        located = [(spec, table, self._locate(spec, table)) for spec, table in self.tables]
        if not located:
            # Every table had two sheets equally good (two units' tables in one workbook, say):
            # whose they are, and when, is read from the lines atop them, or "no 填报单位 and no
            # 填报日期" would be said of a file holding both, twice.
            for grid in self.undecided:
                self._collect_identity(grid, range(min(len(grid.rows), 12)))
        code = self._identify()
        own = self._own_names(code)
        sheets: dict[str, SheetData] = {}
        for spec, table, header in located:
            data = self._read_table(spec, table, header, own)
            if data is not None:
                sheets[spec.key] = data
        filed_on, month_day = self._filed_on(tables_chosen=bool(located))
        findings = tuple(
            replace(f, county_code=f.county_code or code)
            for f in self.findings
        )
        ret = Return(
            source=self.source,
            county_code=code,
            filed_on=filed_on,
            sheets=sheets,
            filled_by=self.people.get("填表人", ""),
            reviewed_by=self.people.get("审核人", ""),
            phone=self.people.get("联系电话", ""),
            filed_month_day=month_day,
            tables=tuple(spec.key for spec, _ in self.tables),
        )
        return ReadResult(self.source, ret, findings)

    def _no_table(self) -> ReadResult:
        """A web page or XML file holding none of the form's tables: no return. Sent as a page
        (.htm, .xml) it is skipped, the finding the county's that its lines or its name (or its
        folder's) name; sent as a workbook (a system's error page saved as .xls), it is a file
        that cannot be opened as one."""
        for name, _ in self.book.sheets:
            grid = self.picker.grid(name)
            self._collect_identity(grid, range(min(len(grid.rows), 12)))
        code = self._identify(quiet=True)
        if os.path.splitext(self.source.member or self.source.path)[1].lower() in WORKBOOK_NAMES:
            finding = self.form.finding("unreadable", file=self.source.path, county=code,
                                        detail="内容是网页，其中没有报表" if self.book.kind == "html" else "内容是XML，不是报表")
        else:
            finding = self.form.finding("skipped", file=self.source.path, county=code)
        return ReadResult(self.source, None, (finding,))

    # --- tables -------------------------------------------------------------------------

    def _pick(self, spec: SheetSpec) -> Candidate | None:
        """The best of the table's candidates; none when two are equally good."""
        ranked = self.picker.candidates(spec)
        if not ranked:
            self.finding("missing-sheet", sheet_label=spec.label, sheet_number=spec.number)
            return None
        best = [c for c in ranked if c.rank == ranked[0].rank]
        if len(best) > 1:
            self.spoken_for |= {c.grid.name for c in best}
            self.undecided += [c.grid for c in best]
            names = "、".join(f"“{c.grid.name}”" + (c.cell if c.how != BY_NAME else "") for c in best)
            self.finding("sheet-ambiguous", sheet=best[0].grid.name, sheet_label=spec.label, detail=names)
            return None
        chosen = best[0]
        if chosen.how != BY_NAME:
            self.finding("sheet-found", sheet=chosen.grid.name, cell=chosen.cell, detail=HOW[chosen.how],
                         sheet_number=spec.number, sheet_label=spec.label)
        return chosen

    def _locate(self, spec: SheetSpec, table: Candidate) -> Header:
        """The table's header, and the identity lines above it (with no header, near the top)."""
        grid = table.grid
        if grid.far_cell and not any(f.rule == "stray-cells" and f.sheet == grid.name for f in self.findings):
            self.finding("stray-cells", sheet=grid.name, cell="", value=grid.far_cell)
        header = table.header or find_header(spec, grid, table.start, table.stop)
        top = header.row if header.row >= 0 else min(table.stop, table.start + 8)
        self._collect_identity(grid, range(table.start, top))
        return header

    def _read_table(self, spec: SheetSpec, table: Candidate, header: Header, own: tuple[str, ...]) -> SheetData | None:
        """Three steps: settle each field's column, classify each row under the header
        (township, 合计, 小计, 其中, village, note, footer, nothing), then convert the kept
        rows' values a column at a time, where a column of whole numbers converts at C speed."""
        grid = table.grid
        missing = [f for f in spec.fields if f.key not in header.columns]
        if header.row < 0 or missing:
            turned = transposed_at(spec, grid)
            if turned:
                # Townships across, the form's items down (its first column): every field's
                # column "missing", and the figures of a row listed as headers, were no help.
                self.finding("table-transposed", sheet=grid.name, cell=turned)
                return None
            unread = self._headers_not_read(grid, header) if header.row >= 0 else []
            if len(missing) == len(unread) == 1:
                # The column is there, its header reworded (农户数 for 农户总数): the clerk is shown
                # which header to change, not told to add a column the sheet has.
                (f,), ((cell, text),) = missing, unread
                self.finding("column-unrecognised", sheet=grid.name, cell=cell, field=f.key, field_label=f.full_label,
                             value=display_header(text))
                return None
            also = "、".join(f"“{display(text)}”（{cell}）" for cell, text in unread)
            for f in missing:
                high = _label_above(f, grid, header.row) if header.row >= 0 else None
                if high is not None:
                    # 乡镇 typed over three header rows, not merged down: the header reads two rows,
                    # and the clerk was told to add a column the sheet has.
                    self.finding("column-too-high", sheet=grid.name, cell=cell_ref(*high), field=f.key,
                                 field_label=f.full_label, value=display_header(grid.value(*high)),
                                 count=header.row - high[0], row=header.row + 1)
                    continue
                self.finding("missing-column", sheet=grid.name, field=f.key, field_label=f.full_label,
                             detail=f"（表头中{also}未能识别，如是该列，请改用表样中的名称）" if also else "")
            return None
        columns = settle_doubles(spec, grid, header, self.finding) if header.doubles else header.columns
        for r, c, key, written, rule in units_over(spec, header, columns, self.form.reader, known_units(self.form)):
            self.finding(rule, sheet=grid.name, cell=cell_ref(r, c), field=key, field_label=spec.label_of(key),
                         value=display_header(grid.value(r, c)), detail=written, unit=self.form.field(key).unit)
        layout = Table(spec, columns, self.form.reader)
        layout.header_row = header.row
        if self._columns_by_period(layout, grid, header.row):
            return None
        rows = self._classify_rows(layout, grid, header.row, table.stop, own)
        self._struck_out(layout, grid, rows)
        if grid.merged:
            self._merged_figures(layout, grid, rows)
        self._figures_without_header(layout, grid, rows, header.row)
        self._cut_at_the_window(layout, grid, rows)
        return self._convert(layout, grid, rows)

    def _struck_out(self, table: Table, grid: Grid, found: Rows) -> None:
        """A township row the clerk marked as struck out and left in place: in a cell of its own
        (备注: 作废), in brackets with its name (东岗镇（作废）), or struck through. Its figures would
        be added all the same, which the clerk meant not to: an error at the mark, and the clerk
        deletes the row, or the mark. A row named as no township is (贫困村, 张家村: a breakdown
        written without 其中, a village under its township) is added as one, and the clerk asked:
        a warning. Three looks, each cheap where there is nothing (most sheets): the names, once
        each; the cells outside the fields (序号, 备注), a column at a time; the struck cells."""
        if not found.township_at:
            return
        words = row_words(self.form)
        rows, kept, names, key_col = grid.rows, found.rows, found.names, table.key_col
        marks: dict[int, tuple[int, str]] = {}  # township position → (column, the mark as the clerk wrote it)
        named: dict[int, str] = {}  # township position → why its name is no township's
        in_name, not_township, odd = words.void_in_name, words.not_township, words.odd_name
        for i in [i for i in found.township_at if odd[names[i]]]:  # most names: one lookup, nothing found
            if in_name[names[i]]:
                marks[i] = (key_col, as_written(in_name[names[i]]))
            else:
                named[i] = not_township[names[i]]
        fields = {*table.col_index, key_col}
        townships = [rows[kept[i]] for i in found.township_at]
        void = words.void
        for c in [c for c in range(max(map(len, townships))) if c not in fields]:  # 序号, 备注, a gap: one or two
            values = [row[c] if c < len(row) else "" for row in townships]
            if not any(values) or str not in set(map(type, values)):
                continue  # a column of numbers (序号), or left empty on the townships' rows, as most are
            for i, v in zip(found.township_at, values):
                if v.__class__ is str and v and i not in marks and void[clean_str(v)]:
                    marks[i] = (c, v.strip())
        if grid.struck:  # struck through in the engine's own workbook: its name or a figure
            for i in found.township_at:
                c = next((c for c in (key_col, *table.col_index) if (kept[i], c) in grid.struck), None)
                if c is not None and i not in marks:
                    marks[i] = (c, STRUCK_THROUGH)
        for i in sorted(marks.keys() | named.keys()):
            if i in marks:
                c, mark = marks[i]
                self.finding("township-struck-out", sheet=grid.name, cell=cell_ref(kept[i], c),
                             value=display(as_written(names[i])), detail=display(mark), field=table.key_field)
            else:
                self.finding("township-not-a-township", sheet=grid.name, cell=cell_ref(kept[i], key_col),
                             value=display(as_written(names[i])), detail=named[i], field=table.key_field)

    def _headers_not_read(self, grid: Grid, header: Header) -> list[tuple[str, str]]:
        """(cell, text) of each header the table's fields were not found under: the lowest text
        of its column in the header's rows, right of the first field's column, a note (备注)
        left out, up to the last column holding one."""
        taken = set(header.columns.values()) | {c for cs in header.doubles.values() for c in cs}
        first = min(taken, default=0)
        top = max(0, header.row - 2)
        notes = tuple(clean_str(w) for w in self.form.reader.note_words if w.strip())
        out = []
        for c in range(first + 1, max((len(grid.rows[r]) for r in range(top, header.row + 1)), default=0)):
            if c in taken:
                continue
            at = next((r for r in range(header.row, top - 1, -1) if not blank(grid.value(r, c))), None)
            if at is None:
                continue
            text = clean_text(grid.value(at, c))
            if text and not text.startswith(notes):
                out.append((cell_ref(at, c), text))
        return out

    def _cut_at_the_window(self, table: Table, grid: Grid, found: Rows) -> None:
        """The sheet was read to its window (WINDOW_ROWS) and the townships run to its last row:
        the rest of the table was never read."""
        if len(grid.rows) >= WINDOW_ROWS and found.township_at and found.rows[found.township_at[-1]] >= len(grid.rows) - 1:
            last = found.rows[found.township_at[-1]]
            self.finding("table-cut", sheet=grid.name, cell=cell_ref(last, table.key_col), count=len(grid.rows))

    def _figures_without_header(self, table: Table, grid: Grid, found: Rows, header_row: int) -> None:
        """Figures in a column with no header, beside or among the table's: a row pasted a
        column to the right of its headers leaves its first field blank (read as 0) and its last
        figure under no header. An error when some field's column is blank on every township's
        row, as such a shift leaves it; otherwise a warning (a clerk's check column, perhaps).
        Once a sheet."""
        if not found.township_at:
            return
        rows, last = grid.rows, table.last_col
        width = max(len(rows[found.rows[found.township_at[0]]]), len(rows[found.rows[found.township_at[-1]]]))
        unmapped = [*table.gaps, *range(last + 1, min(width, last + 4))]
        if not unmapped:
            return  # the commonest case: the fields side by side, nothing beyond them
        townships = [found.rows[i] for i in found.township_at]
        top = max(0, header_row - 3)
        for c in unmapped:
            if any(not blank(grid.value(h, c)) for h in range(top, header_row + 1)):
                continue  # a column with a header of its own (序号, 备注)
            at = next((r for r in townships if c < len(rows[r]) and _a_figure(rows[r][c])), None)
            if at is None:
                continue
            # An error when the figures were pushed along: some field's column blank on every
            # township's row, or this column filled on some rows only (a CSV's 1,023 unquoted
            # splits its row in two cells and pushes the rest along, as Excel shows it too).
            shifted = (any(all(blank(grid.value(r, fc)) for r in townships) for fc in table.count_cols)
                       or any(blank(grid.value(r, c)) for r in townships))
            self.finding("figures-without-header", sheet=grid.name, cell=cell_ref(at, c),
                         severity=Severity.ERROR if shifted else Severity.WARNING)
            return

    def _merged_figures(self, table: Table, grid: Grid, found: Rows) -> None:
        """A figure in a merged cell over two count cells (two fields, or two townships' rows):
        the engine gives it to the first cell and reads the others as blank, 0, where the sheet
        shows the figure. Which cell it belongs to is the clerk's to say: an error at the cell."""
        if not found.rows:
            return
        kept, first = set(found.rows), found.rows[0]
        count_cols = set(table.count_cols)
        for r1, c1, r2, c2 in grid.merged:
            if r2 < first or (r1 == r2 and c1 == c2):
                continue  # the header's merges (most of them), or no merge at all
            covered = [(r, c) for r in range(r1, r2 + 1) if r in kept for c in range(c1, c2 + 1) if c in count_cols]
            if not covered or covered == [(r1, c1)] or _none(grid.value(r1, c1)):
                continue  # nothing, a dash or 无 over them all: none in every cell it covers
            self.finding("merged-figure", sheet=grid.name, cell=cell_ref(r1, c1),
                         detail=f"{cell_ref(r1, c1)}:{cell_ref(r2, c2)}", value=display(grid.value(r1, c1)))

    def _own_names(self, code: str) -> tuple[str, ...]:
        """The unit's own full and short names, longest first: a row so labelled is its total row."""
        unit = self.units.by_code(code) if code else None
        names = {clean_str(n) for n in (unit.name, unit.short_name) if n} if unit else set()
        return tuple(sorted(names, key=len, reverse=True))

    def _classify_rows(self, table: Table, grid: Grid, header_row: int, stop: int, own: tuple[str, ...]) -> Rows:
        """Which rows under the header hold a township, a 合计 or a 小计 , and which hold nothing
        to add (empty rows, spare template rows, column numbers, notes, the footer)."""
        words = row_words(self.form)
        kind_of = words.kind
        key_col, count_cols = table.key_col, table.count_cols
        rows = grid.rows
        # Cells holding a formula whose value reads as blank, or an error value: an entry all the same.
        entries = grid.formula_without_value | grid.formula_blank if grid.formula_blank else grid.formula_without_value
        uncached = grid.formula_without_value
        if grid.cell_errors:
            entries = entries | grid.cell_errors.keys()
            uncached = uncached | grid.cell_errors.keys()
        found = Rows()
        kept, names, township_at = found.rows, found.names, found.township_at
        text_only: list[int] = []
        # The kinds as locals: looked up on every row of every return.
        TOWNSHIP, TEXT_ONLY, NOTE, FOOTER, KEYLESS, TITLE, TOTAL = (
            RowKind.TOWNSHIP, RowKind.TEXT_ONLY, RowKind.NOTE, RowKind.FOOTER, RowKind.KEYLESS, RowKind.TITLE,
            RowKind.TOTAL)
        r = self._after_units_row(table, grid, header_row, stop)
        # The header printed again for a second page (乡镇 | 行政村总数 …): its words, not a township.
        header_keys = {clean_str(v) for row in rows[max(0, header_row - 3):header_row + 1] if key_col < len(row)
                       for v in (row[key_col],) if v.__class__ is str and 0 < len(v) <= 12}  # 乡镇, 乡（镇）名称
        header_again = False
        while r < stop:
            raw = rows[r]
            n = len(raw)
            if raw.count("") == n and not (entries and any((r, c) in entries for c in count_cols)):
                r += 1  # an empty row: the commonest row that holds no township
                continue
            key_text = raw[key_col] if key_col < n else ""
            key_text = clean_str(key_text) if key_text.__class__ is str else clean_text(key_text)
            if key_text:
                kind = kind_of[key_text]
                header_again = kind == TOWNSHIP and key_text in header_keys and not any(
                    is_number(raw[c]) for c in count_cols if c < n)
                if header_again:
                    if self._another_tables_header(table, grid, r, stop):
                        break  # another table pasted under this one without its title: this one has ended
                    r += 1
                    continue
                if kind == TOWNSHIP and own and key_text.startswith(own) and self._names_unit(key_text, own, words):
                    kind = TOTAL  # the unit's own name labels its total row, as 全县 does
                elif kind == TOWNSHIP and no_entry(raw, count_cols, r, entries):
                    kind = TEXT_ONLY
                elif kind == TOWNSHIP and self._village_of_the_row_above(table, grid, r, found, key_text):
                    kind = RowKind.VILLAGE  # the township typed again beside each village: not duplicates
                elif kind == NOTE and any(is_number(raw[c]) for c in count_cols if c < n):
                    # A note beside figures: the figures are not added, and the clerk is told where
                    # they are, never left to guess why a total fell short. (A footer's cells hold
                    # names and telephone numbers, which are no figures of the form.)
                    c = next(c for c in count_cols if c < n and is_number(raw[c]))
                    self.finding("note-with-figures", sheet=grid.name, cell=cell_ref(r, c),
                                 value=display(raw[key_col]))  # as written: ①贫困村, never the ※ it reads as
            elif header_again and not any(is_number(raw[c]) for c in count_cols if c < n):
                r += 1  # the repeated header's lower rows (排查数 | 已整改 under a merged 合计)
                continue
            else:
                kind = self._keyless_kind(table, grid, r, uncached, words)
                if kind == KEYLESS:
                    kind = village_kind(table, grid, r, found, text_only, self.form.reader.village_words)
            if kind == TOWNSHIP:  # the commonest kept row, added without a call
                township_at.append(len(kept))
                kept.append(r)
                names.append(key_text)
            elif kind == FOOTER:
                if found.footer < 0:
                    found.footer = r
                if not total_below(rows, r + 1, key_col, kind_of, stop):
                    self._figures_below_footer(table, grid, r + 1, stop, words)
                    break  # the footer ends the table, unless the sheet's 合计 row is still to come
            elif kind == TITLE:
                title = key_text or clean_str(next(v for v in raw if not blank(v)))
                if words.titles.of[title] != table.spec.key:
                    break  # another table's title: this one has ended
                if found.totals or found.footer >= 0:
                    # Its own title again after its 合计 or footer: another copy of the table
                    # (last period's, pasted below for reference), not read, and said.
                    c = next(c for c, v in enumerate(raw) if not blank(v))
                    self.finding("second-table-below", sheet=grid.name, cell=cell_ref(r, c), value=display(raw[c]),
                                 sheet_number=table.spec.number)
                    break
                # its own title again, the table carried onto the next page (表一（续）): read on
            elif kind == TEXT_ONLY:
                text_only.append(r)
                found.texts[r] = key_text
            elif kind <= KEYLESS:
                found.add(r, kind, key_text)
            r += 1
        if len(found.totals) > 1:
            _parts_totals(found, own, words)
        # A row of text with no figure is a note when no township follows it; between townships
        # it is a warning, and never a township: it would add nothing but a name.
        last = found.rows[found.township_at[-1]] if found.township_at else -1
        for t in text_only:
            if t < last and t in found.texts:
                self.finding("text-only-row", sheet=grid.name, cell=cell_ref(t, key_col),
                             value=display(found.texts[t]))
        self._collect_people(grid, found.footer if found.footer >= 0 else r)
        found.explanation = explanation_below(grid, found.footer if found.footer >= 0 else r, self.form.explanation_label)
        return found

    def _columns_by_period(self, table: Table, grid: Grid, header_row: int) -> bool:
        """Each of the form's items split under its header into 本月 and 累计 (a web system's
        export): which of the two is this round's figure the reader cannot tell, and read as
        townships the row of 本月 | 累计 gave dozens of errors naming no such thing. Said once,
        at that row."""
        r = header_row + 1
        if r >= len(grid.rows):
            return False
        raw = grid.rows[r]
        said = [(c, clean_str(v)) for c, v in enumerate(raw) if c != table.key_col and v.__class__ is str]
        periods = [(c, text) for c, text in said if text in PERIOD_COLUMNS]
        if sum(1 for c, _ in periods if c in table.count_cols) < 2:
            return False
        words = "”“".join(dict.fromkeys(text for _, text in periods))
        self.finding("columns-by-period", sheet=grid.name, cell=cell_ref(r, periods[0][0]), value=words)
        return True

    def _another_tables_header(self, table: Table, grid: Grid, r: int, stop: int) -> bool:
        """Row r, a 乡镇 over no figures, starts another of the form's tables' header (all its
        columns, on this row or the next two): not this table's header printed again."""
        for other in self.form.sheets:
            if other is not table.spec:
                found = find_header(other, grid, r, min(r + 3, stop))
                if found.row >= 0 and field_table(other).needed <= found.columns.keys():
                    return True
        return False

    def _village_of_the_row_above(self, table: Table, grid: Grid, r: int, found: Rows, name: str) -> bool:
        """Row r names the same township as the kept row above it, both beside a village's name
        in a 村 column: the township's name repeated on each of its village rows (as a filled-
        down or sorted sheet has it), one township, not the same township twice."""
        if not found.names or found.names[-1] != name:
            return False  # the commonest case, said at once
        head = found.village_head()
        if head < 0 or found.names[head] != name:
            return False
        column = village_column(table, grid, self.form.reader.village_words)
        if column < 0:
            return False
        village, above = grid.value(r, column), grid.value(found.rows[-1], column)
        if blank(village) or blank(above) or _sums_a_township(village) or _sums_a_township(above):
            return False  # a 小计 or 全镇 line is no village: as before, the clerk is told of the row
        # The same village twice is the same row twice: duplicate-township says so.
        return clean_text(village) != clean_text(above)

    def _figures_below_footer(self, table: Table, grid: Grid, start: int, stop: int, words: RowWords) -> None:
        """Under the footer come the clerk's name, telephone and date. A row there with a
        township's kind of name and figures is a township typed below the table: its figures
        are not added, and the clerk is told where they are (once a sheet)."""
        found = township_with_figures(grid, range(start, stop), table.key_col, table.count_cols, words)
        if found:
            r, key = found
            self.finding("figures-below-footer", sheet=grid.name, cell=cell_ref(r, table.key_col), value=display(key))

    def _after_units_row(self, table: Table, grid: Grid, header_row: int, stop: int) -> int:
        """The first row to classify: the one under the header, or under a units row (户 | 名 |
        个) there, which is part of the header (a column-number row may come first)."""
        r, looked = header_row + 1, 0
        while r < stop and looked < 2:
            raw = grid.rows[r]
            if raw.count("") == len(raw):
                r += 1
                continue
            key = raw[table.key_col] if table.key_col < len(raw) else ""
            if key.__class__ is str and key and clean_str(key) not in UNIT_ROW_KEYS:
                break  # a township's row (the common case): no units row
            if is_units_row(raw, table):
                return r + 1
            if not is_code_row([raw[c] if c < len(raw) else "" for c in table.col_index], table.col_index):
                break
            looked += 1
            r += 1
        return header_row + 1

    @staticmethod
    def _names_unit(key_text: str, own: tuple[str, ...], words: RowWords) -> bool:
        """A label starting with the unit's own name is its total row when the name stands
        alone or before a total word (城关区合计), exactly: 古浪镇 is a township of 古浪县."""
        name = next(n for n in own if key_text.startswith(n))
        rest = key_text[len(name):]
        return rest.strip(":") == "" or words.is_total_label(rest)

    def _keyless_kind(self, table: Table, grid: Grid, r: int, uncached, words: RowWords) -> int:
        """A row with nothing in the township column: a footer or note standing alone, a 合计
        labelled in another column, empty but for computed columns' formulas (the issued
        template's spare rows), a column-number row, a table's title, or figures without a name."""
        raw = grid.rows[r]
        n = len(raw)
        count_cols = table.count_cols
        first = next((v for v in raw if not blank(v)), "")
        if first.__class__ is str:
            kind = words.kind[clean_str(first)]
            if kind in (RowKind.NOTE, RowKind.FOOTER, RowKind.TITLE) and not any(is_number(raw[c]) for c in count_cols
                                                                                 if c < n):
                return kind
        values = [raw[c] if c < n else "" for c in count_cols]
        if all(blank(v) for v in values) and not (uncached and any((r, c) in uncached for c in count_cols)):
            return RowKind.EMPTY
        all_values = [raw[c] if c < n else "" for c in table.col_index]
        if is_code_row(all_values, table.col_index):
            return RowKind.EMPTY
        for c in range(table.first_field_col):
            if c != table.key_col:
                kind = words.kind[clean_text(grid.value(r, c))]
                if kind in (RowKind.TOTAL, RowKind.SUBTOTAL):
                    return kind
        return RowKind.KEYLESS

    def _convert(self, table: Table, grid: Grid, found: Rows) -> SheetData:
        spec, keys, letters, unit_of = table.spec, table.keys, table.letters, table.unit_of
        kept, township_at = found.rows, found.township_at
        formulas = grid.formula_without_value
        errors = grid.cell_errors
        shown = grid.shown_otherwise
        totals = found.totals
        total_at = totals[0] if totals else -1
        non_townships = set(totals) | set(found.subtotals)
        if found.breakdowns or found.villages:
            non_townships |= {at for at, _ in found.breakdowns} | {at for at, _ in found.villages}
        township_names = []
        for i in township_at:
            r, key_text = kept[i], found.names[i]
            if not key_text:
                self.finding("township-missing", sheet=grid.name, cell=cell_ref(r, table.key_col),
                             field=table.key_field)
                key_text = f"（第{r + 1}行）"
            elif len(key_text) > MAX_NAME:
                self.finding("township-too-long", sheet=grid.name, cell=cell_ref(r, table.key_col),
                             field=table.key_field, value=display(key_text))
                key_text = key_text[:MAX_NAME] + "…"
            if key_text[0] in SERIAL_STARTS:  # the commonest name starts otherwise: no call for it
                key_text = without_serial(key_text)
            township_names.append(as_written(key_text))
        if grid.results_unverified:
            self._results_unverified(table, grid, kept, township_at)
        if grid.rows_hidden and not grid.subtotal_rows:  # under a SUBTOTAL 合计, total-filtered and the like say it
            self._hidden_townships(table, grid, kept, township_at, township_names)
        if grid.unseen:
            self._unseen_figures(table, grid, kept, township_at)
        if grid.formulas:
            self._results_left_stale(table, grid, kept, township_at)
        if grid.hidden_cols:
            self._hidden_columns(table, grid, kept, township_at)
        total_recomputed = False
        value_columns: list[tuple] = []
        all_values: list[list | tuple] = []
        total_values = {}
        rows = grid.rows
        picked = [rows[k] for k in kept]
        width = max(table.col_index) + 1
        if picked and min(map(len, picked)) < width:
            picked = [row if len(row) >= width else [*row, *[""] * (width - len(row))] for row in picked]
        by_column = list(zip(*picked)) if picked else [()] * width
        townships_only = itemgetter(*township_at) if len(township_at) > 1 else None
        villages = fold_villages(table, grid, found, self.finding) if found.villages else None
        for j, c in enumerate(table.col_index):
            cells = by_column[c]
            unit = unit_of[j]
            formula_at = {i for i, k in enumerate(kept) if (k, c) in formulas} if formulas else ()
            error_at = {i: errors[k, c] for i, k in enumerate(kept) if (k, c) in errors} if errors else {}
            shown_at = {i: shown[k, c] for i, k in enumerate(kept) if (k, c) in shown} if shown and unit is not None else {}
            hidden_at = ({i: grid.hidden_text[k, c] for i, k in enumerate(kept) if (k, c) in grid.hidden_text}
                         if grid.hidden_text and unit is not None else {})
            struck_at = ({i: grid.struck_text[k, c] for i, k in enumerate(kept) if (k, c) in grid.struck_text}
                         if grid.struck_text and unit is not None else {})
            values = (whole_counts(cells) if unit is not None and not formula_at and not error_at and not shown_at
                      and not hidden_at and not struck_at else None)
            if values is None:
                values = []
                for i, v in enumerate(cells):
                    if i in error_at and unit is not None:
                        # calamine reads an error value as a blank, which would be a 0: the clerk's
                        # figure is unknown. A 合计 or 小计 only checks the townships: not compared.
                        township = i not in non_townships
                        self.finding("cell-error" if township else "total-cell-error", sheet=grid.name,
                                     cell=f"{letters[j]}{kept[i] + 1}", field=keys[j],
                                     field_label=spec.label_of(keys[j]), value=error_at[i])
                        values.append(None)
                    elif i in formula_at:
                        if i in non_townships:
                            total_recomputed = total_recomputed or i == total_at
                        elif unit is None:
                            pass  # a computed column (整改率) is worked out from the counts, never read as one
                        else:
                            self.finding("formula-not-recalculated" if (kept[i], c) in grid.placeholders
                                         else "formula-without-value", sheet=grid.name,
                                         cell=f"{letters[j]}{kept[i] + 1}", field=keys[j])
                        values.append(None)
                    elif i in struck_at:
                        self.finding("struck-figure", sheet=grid.name, cell=f"{letters[j]}{kept[i] + 1}", field=keys[j],
                                     field_label=spec.label_of(keys[j]), detail=struck_at[i], value=display(v))
                        values.append(None)
                    elif i in hidden_at:
                        self.finding("hidden-text", sheet=grid.name, cell=f"{letters[j]}{kept[i] + 1}", field=keys[j],
                                     field_label=spec.label_of(keys[j]), detail=hidden_at[i],
                                     value="空白" if blank(v) else f"“{display(v)}”")
                        values.append(None)
                    elif i in shown_at and (is_number(v) or _hides_text(shown_at[i], v)):
                        # 100% typed into a count (held as 1), a 3 shown as 3万: the number the
                        # sheet shows is not the one the cell holds.
                        shown_as = shown_at[i]
                        if isinstance(shown_as, ShownText):  # an .ods says what the cell shows
                            rule, detail = "count-shown-as", f"“{shown_as}”" if shown_as else "空白"
                        else:  # the format's code
                            rule, detail = "count-shown-otherwise", shown_as
                        self.finding(rule, sheet=grid.name, cell=f"{letters[j]}{kept[i] + 1}", field=keys[j],
                                     field_label=spec.label_of(keys[j]), detail=detail, value=display(v))
                        values.append(None)
                    elif unit is None:  # a computed column: its raw value is kept for checking
                        values.append(None if v in ("", None) else v)
                    else:
                        try:
                            values.append(parse_count(v, unit))
                        except NotACount as e:
                            serial = _count_shown_as_a_date(v)
                            if serial is not None:
                                # 3 under the format d shows 3, and the engine gives 1900-01-03:
                                # the clerk is told of the format, not of a date never typed.
                                self.finding("count-shown-otherwise", sheet=grid.name, cell=f"{letters[j]}{kept[i] + 1}",
                                             field=keys[j], field_label=spec.label_of(keys[j]), detail="日期或时间",
                                             value=display(serial))
                                values.append(None)
                                continue
                            rule = "count-too-large" if isinstance(e, TooLarge) else "count-in-wan" if isinstance(
                                e, InWan) else "not-a-count"
                            self.finding(rule, sheet=grid.name, cell=f"{letters[j]}{kept[i] + 1}", field=keys[j],
                                         field_label=spec.label_of(keys[j]), value=display(v))
                            values.append(None)
            if villages is not None:
                values = villages(j, values)
            all_values.append(values)
            if total_at >= 0:
                total_values[keys[j]] = values[total_at]
            if not non_townships:
                value_columns.append(tuple(values))
            else:
                value_columns.append(townships_only(values) if townships_only else tuple(values[i] for i in township_at))
        if villages is not None:
            villages.check_rules()
        if found.subtotals:
            self._check_subtotals(table, grid, found, all_values)
        if found.breakdowns:
            check_breakdowns(table, grid, found, all_values, self.finding, row_words(self.form))
        total_row = kept[total_at] + 1 if total_at >= 0 else 0
        township_column = column_letter(table.key_col)
        for other in totals[1:]:
            # Two 合计 rows: only the first was checked against the townships, and a second one
            # the clerk wrote otherwise was dropped without a word. Alike, nothing to say.
            for j, key in enumerate(keys):
                first, again = all_values[j][total_at], all_values[j][other]
                if unit_of[j] is not None and first.__class__ is int and again.__class__ is int and first != again:
                    self.finding("total-rows-differ", sheet=grid.name, cell=f"{letters[j]}{kept[other] + 1}", field=key,
                                 field_label=spec.label_of(key), value=again, row=total_row, expected=first)
        if total_row and not total_recomputed and grid.hidden_rows and total_row - 1 in grid.subtotal_rows:
            if grid.filtered:
                # SUBTOTAL leaves out the rows a filter hides, whose townships are the county's all the same.
                self.finding("total-filtered", sheet=grid.name, cell=f"{township_column}{total_row}")
                total_row, total_values = 0, {}
            elif grid.subtotal_leaves_out_hidden:
                # Rows hidden by hand, and a 合计 (SUBTOTAL(109,…)) that leaves them out: the clerk's
                # table shows a total without those townships, which are added all the same.
                self.finding("total-hidden-rows", sheet=grid.name, cell=f"{township_column}{total_row}")
                total_row, total_values = 0, {}
            # else SUBTOTAL(9,…) under rows hidden by hand sums them all: checked as any 合计
        counts = [value_columns[j] for j, u in enumerate(unit_of) if u is not None]
        count_keys = [k for k, u in zip(keys, unit_of) if u is not None]  # each of `counts`' field
        as_total = sums_of_the_others(counts)
        for i in as_total:
            # A total row under a label nobody foresaw would double the county: rejected instead.
            self.finding("township-is-total", sheet=grid.name,
                         cell=cell_ref(kept[township_at[i]], table.key_col), field=table.key_field,
                         value=display(township_names[i]))
        if not as_total and total_at < 0:  # a total under a label nobody foresaw: the sheet has no other
            for i, j in nearly_sums_of_the_others(counts):
                self.finding("township-nearly-total", sheet=grid.name,
                             cell=cell_ref(kept[township_at[i]], table.key_col), field=count_keys[j],
                             field_label=spec.label_of(count_keys[j]), value=display(township_names[i]))
        subtotals = sums_of_those_above(counts)
        for i, above in subtotals:
            if i not in as_total:  # a group's subtotal under a name: its townships would count twice
                self.finding("township-is-subtotal", sheet=grid.name,
                             cell=cell_ref(kept[township_at[i]], table.key_col), field=table.key_field,
                             value=display(township_names[i]), count=above)
        exact = {i for i, _ in subtotals} | set(as_total)
        for i, below in sums_of_those_below(counts):
            if i not in exact:  # a group's subtotal above its townships (川区 over its townships, a
                # township over its villages): added, they count twice all the same
                self.finding("township-heads-group", sheet=grid.name,
                             cell=cell_ref(kept[township_at[i]], table.key_col), field=table.key_field,
                             value=display(township_names[i]), count=below)
                exact.add(i)
        for i, above, j in nearly_sums_of_those_above(counts):
            if i not in exact:  # the same, one figure mistyped or left blank: as likely, as costly
                self.finding("township-nearly-subtotal", sheet=grid.name,
                             cell=cell_ref(kept[township_at[i]], table.key_col), field=count_keys[j],
                             field_label=spec.label_of(count_keys[j]), value=display(township_names[i]),
                             count=above)
        if not township_at and not any(v for v in total_values.values() if v.__class__ is int):
            self.finding("sheet-empty", sheet=grid.name, sheet_number=spec.number,
                         sheet_label=spec.label)
            total_recomputed, total_row, total_values = False, 0, {}
        elif not township_at:
            # The county's figures on its total row alone: the form sums townships, so they
            # would count as nothing. Said once, at the row, not once a column.
            self.finding("total-only", sheet=grid.name, cell=f"{township_column}{total_row}",
                         sheet_number=spec.number, sheet_label=spec.label)
            total_recomputed, total_row, total_values = False, 0, {}
        elif township_at and all(v == 0 for column in counts for v in column):
            self.finding("sheet-all-zero", sheet=grid.name)
        if total_recomputed and total_row:
            self.finding("total-recomputed", sheet=grid.name, cell=f"{township_column}{total_row}")
            total_row, total_values = 0, {}
        return SheetData(
            spec.key, grid.name, township_column, dict(zip(keys, letters)), tuple(township_names),
            tuple(kept[i] + 1 for i in township_at),
            dict(zip(keys, value_columns)), total_row, total_values, found.explanation,
        )

    def _results_unverified(self, table: Table, grid: Grid, kept: list[int], township_at: list[int]) -> None:
        """Townships' counts held by formulas whose results the workbook says to compute again on
        opening: the spreadsheet program may show other numbers than those carried (a report
        system's template filled in, its formulas' old results left). Read as carried, and said
        once a sheet, at the first, with how many."""
        cells = [(kept[i], c) for i in township_at for c, unit in zip(table.col_index, table.unit_of)
                 if unit is not None and (kept[i], c) in grid.results_unverified]
        if cells:
            r, c = min(cells)
            self.finding("formula-result-unverified", sheet=grid.name, cell=cell_ref(r, c), count=len(cells),
                         value=display(grid.value(r, c)))

    def _results_left_stale(self, table: Table, grid: Grid, kept: list[int], township_at: list[int]) -> None:
        """A township's count held by a formula of the sheet's own cells whose carried result is
        not what the formula gives (a template filled in by a report system, its old results
        left): the sheet shows the formula's figure, the reader would sum the carried one."""
        for i in township_at:
            r = kept[i]
            for key, c, unit in zip(table.keys, table.col_index, table.unit_of):
                held = grid.formulas.get((r, c)) if unit is not None else None
                if held is None or (r, c) in grid.placeholders or (r, c) in grid.results_unverified:
                    continue  # none, or said already (a workbook computed afresh on opening)
                text, carried = held
                result = redo(text, grid.value)
                if result is not None and abs(result - carried) > 1e-9 * max(1.0, abs(result)):
                    self.finding("formula-result-stale", sheet=grid.name, cell=cell_ref(r, c), field=key,
                                 field_label=table.spec.label_of(key), value=display(carried), detail=display(result),
                                 formula=text if text.startswith("=") else f"={text}")

    def _unseen_figures(self, table: Table, grid: Grid, kept: list[int], township_at: list[int]) -> None:
        """Townships' figures written white on white: summed, as they are in the cells, though
        no one opening the sheet sees them (a figure a clerk "hid", a row whited out). Said
        once a sheet, at the first, with how many and where."""
        cells = sorted((kept[i], c) for i in township_at for c, unit in zip(table.col_index, table.unit_of)
                       if unit is not None and (kept[i], c) in grid.unseen and not blank(grid.value(kept[i], c))
                       and grid.value(kept[i], c) != 0)  # a zero whited out adds nothing to a sum
        if cells:
            listed = "、".join(cell_ref(r, c) for r, c in cells[:HIDDEN_NAMED]) + ("等" if len(cells) > HIDDEN_NAMED else "")
            self.finding("figure-unseen", sheet=grid.name, cell=cell_ref(*cells[0]), count=len(cells), value=listed)

    def _hidden_columns(self, table: Table, grid: Grid, kept: list[int], township_at: list[int]) -> None:
        """A form column the sheet hides (its only one: an old one beside its correction is
        column-hidden-duplicate): its figures are summed, though no one opening the sheet sees
        them. Said at its header, once a column."""
        for key, c, unit in zip(table.keys, table.col_index, table.unit_of):
            if unit is not None and c in grid.hidden_cols and any(not blank(grid.value(kept[i], c)) for i in township_at):
                self.finding("column-hidden", sheet=grid.name, cell=cell_ref(table.header_row, c), field=key,
                             field_label=table.spec.label_of(key))

    def _hidden_townships(self, table: Table, grid: Grid, kept: list[int], township_at: list[int],
                          names: list[str]) -> None:
        """Township rows the sheet hides (by hand, a group collapsed, a filter): added all the
        same, though whoever opens the sheet does not see them. Said once a sheet, at the first."""
        hidden = [i for i, at in enumerate(township_at) if kept[at] in grid.rows_hidden]
        if not hidden:
            return
        listed = "、".join(f"“{names[i]}”" for i in hidden[:HIDDEN_NAMED]) + ("等" if len(hidden) > HIDDEN_NAMED else "")
        self.finding("township-hidden", sheet=grid.name, cell=cell_ref(kept[township_at[hidden[0]]], table.key_col),
                     field=table.key_field, value=listed, count=len(hidden))

    def _check_subtotals(self, table: Table, grid: Grid, found: Rows, all_values: list) -> None:
        """Each 小计 row covers the townships since the header or the previous 小计."""
        townships = set(found.township_at)
        start = 0
        for s in found.subtotals:
            covered = [i for i in range(start, s) if i in townships]
            start = s + 1
            for j, unit in enumerate(table.unit_of):
                if unit is None:
                    continue
                column = all_values[j]
                written = column[s]
                parts = [column[i] for i in covered]
                if written is None or None in parts or written == sum(parts):
                    continue
                self.finding("subtotal-mismatch", sheet=grid.name,
                             cell=f"{table.letters[j]}{found.rows[s] + 1}", field=table.keys[j],
                             field_label=table.spec.label_of(table.keys[j]), value=written, expected=sum(parts))


def _parts_totals(found: Rows, own: tuple[str, ...], words: RowWords) -> None:
    """Of several total rows, one naming the whole unit (合计, 全区合计, 城关区合计) and others a
    part of it (川区合计, 山区合计): the parts' are subtotals, each checked against the townships
    above it, the whole's against them all. Parts' alone, with no whole's: each a subtotal, and
    the unit's total the townships' sum (川区合计 stood as the county's, short of 山区's townships,
    and the county was rejected at the wrong row). Otherwise they are left as they are: the
    first stands as the unit's total, and none of them is added."""
    whole = [at for at in found.totals
             if words.is_whole_total(found.names[at]) or (own and found.names[at].startswith(own))]
    if not whole:
        # A last total with no township since the one before it (川区合计, 山区合计, then 乡镇合计)
        # adds up the parts: the unit's, whatever its label. Made a 小计 of no township, it was
        # said to differ from 0 in every column of a correct return.
        *_, before, last = sorted(found.totals)
        if not any(before < t < last for t in found.township_at):
            whole = [last]
    if len(whole) == 1:
        found.subtotals = sorted([*found.subtotals, *(at for at in found.totals if at != whole[0])])
        found.totals = whole
    elif not whole and all(found.names[at] for at in found.totals):
        found.subtotals = sorted([*found.subtotals, *found.totals])
        found.totals = []


def township_with_figures(grid: Grid, rows: range, key_col: int, count_cols, words: RowWords) -> tuple[int, str] | None:
    """The first of `rows` that looks like a township's: a name of a township's kind (no total,
    note or footer word) and two or more figures in the count columns. (row, its name), or None."""
    for r in rows:
        raw = grid.rows[r]
        key = clean_text(raw[key_col]) if key_col < len(raw) else ""
        # A figure as a page or a CSV holds it, text, as well as a number.
        if key and words.kind[key] == RowKind.TOWNSHIP and sum(
                1 for c in count_cols if c < len(raw) and _a_figure(raw[c])) >= 2:
            return r, key
    return None


def _township_rows_without_header(grid: Grid, words: RowWords, fewest: int) -> list[tuple[int, int, str]]:
    """Rows whose first text names a township (no total, note or footer word) with as many
    figures to its right as a table of the form has counts, less one (`fewest`), under no row
    of headings: (row, its name's column, the name). A contacts sheet (李明 | 电话) or a
    county's own extra table, with its own headings, is none."""
    out = []
    for r, raw in enumerate(grid.rows):
        c = next((i for i, v in enumerate(raw) if not blank(v)), None)
        if c is None or raw[c].__class__ is not str:
            continue
        key = clean_text(raw[c])
        if key and words.kind[key] == RowKind.TOWNSHIP and sum(1 for v in raw[c + 1:] if _a_figure(v)) >= fewest:
            out.append((r, c, key))
        elif not out and sum(1 for v in raw if v.__class__ is str and v.strip() and not _a_figure(v)) >= 3:
            return []  # headings before any such row: a table of its own
    return out


_TOWNSHIP_SUM = re.compile(r"小计|合计|汇总|总计|^(?:全|本)(?:镇|乡|街道|办)")


def _sums_a_township(text: object) -> bool:
    """A 村 column's 小计, 合计 or 全镇: the township's own line, not one of its villages."""
    return _TOWNSHIP_SUM.search(clean_text(text)) is not None


def _hides_text(shown: object, v: object) -> bool:
    """A count typed as text ('797) under a format whose fourth section, the text's, shows
    nothing or something else (;;; hides it): the sheet shows no 797."""
    if v.__class__ is not str or not v.strip() or isinstance(shown, ShownText) or not isinstance(shown, str):
        return False
    return hides_text(shown)  # the format's sections as the scan reads them, quoted ; kept whole


_EXCEL_EPOCH = datetime(1899, 12, 30)


def _count_shown_as_a_date(v: object) -> int | float | None:
    """The number a cell holds when the engine gives it as a date of the spreadsheet's first
    years (1900-01-03 for 3 under a format d, 1902-03-07 under h:mm): a count in a date's or a
    time's format, not a date anyone typed; None for anything else."""
    if isinstance(v, datetime) or isinstance(v, date):
        at = v if isinstance(v, datetime) else datetime(v.year, v.month, v.day)
        if at.year < 1950:
            # Excel counts a 29 February 1900 that never was: its first two months start a day later.
            epoch = _EXCEL_EPOCH if at >= datetime(1900, 3, 1) else datetime(1899, 12, 31)
            serial = (at - epoch).total_seconds() / 86400
            return int(serial) if serial == int(serial) else serial
    return None


def _a_figure(v: object) -> bool:
    """A number, or a text that reads as a count (a CSV's cells are all text)."""
    if is_number(v):
        return True
    if v.__class__ is not str or not v.strip():
        return False
    try:
        parse_count(v)
    except (NotACount, TooLarge, InWan):
        return False
    return True


def _none(value: object) -> bool:
    """The cell says there is none: blank, 0, or a word for none (—, 无)."""
    if blank(value):
        return True
    try:
        return parse_count(value) == 0
    except NotACount:
        return False


def _label_above(field, grid: Grid, header_row: int) -> tuple[int, int] | None:
    """A cell above the two rows a header is read from holding the field's own label (or an
    alias of it), its column's header cells below it blank: (row, column), or None."""
    names = {normalise_label(text) for text in (field.label, *field.aliases)}
    for r in range(max(0, header_row - 4), header_row - 1):
        for c, v in enumerate(grid.rows[r]):
            if v.__class__ is str and normalise_label(v) in names and all(
                    blank(grid.value(below, c)) for below in range(r + 1, header_row + 1)):
                return r, c
    return None
