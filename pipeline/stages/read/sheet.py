"""One workbook read sheet by sheet: each of the form's sheets picked, its table found, its rows
classified and its values converted; then the return's identity. Findings are collected as it goes."""

from __future__ import annotations

import os
import re
from dataclasses import replace
from datetime import date
from operator import itemgetter

from ...model import Finding, ReadResult, Return, SheetData, Source
from ...spec.dates import parse_filed
from ...spec.form import Form, SheetSpec
from ...spec.numbers import NotACount, TooLarge, display, parse_count
from ...spec.units import UnitList
from .identity import CODE_LINE, DATE_LINE, PEOPLE_LINES, UNIT_LINE, explanation_below
from .layout import (
    MAX_NAME,
    RowKind,
    Rows,
    RowWords,
    Table,
    blank,
    clean_str,
    clean_text,
    field_table,
    find_header,
    is_code_row,
    is_number,
    no_entry,
    row_text,
    row_words,
    sums_of_the_others,
    total_below,
    whole_counts,
)
from .workbook import Book, Grid, cell_ref, column_letter

_SERIAL_ONLY = re.compile(r"^\s*\d{5}(?:\.0+)?\s*$")  # a bare serial number beside the label


class ReturnReader:
    def __init__(self, source: Source, form: Form, units: UnitList, book: Book) -> None:
        self.source, self.form, self.units, self.book = source, form, units, book
        self.findings: list[Finding] = []
        self.identity: dict[str, list[tuple[str, str]]] = {"name": [], "code": [], "date": []}
        self.people: dict[str, str] = {}

    def finding(self, rule: str, *, sheet: str = "", cell: str = "", field: str = "", county: str = "", **kw) -> None:
        """`county`: the finding belongs to another county than the return's (the one its file
        name names); otherwise it is filled in once the return's county is known."""
        self.findings.append(self.form.finding(rule, file=self.source.path, county=county, sheet=sheet, cell=cell,
                                               field=field, **kw))

    def load(self) -> ReturnReader:
        """Each of the form's sheets found in the workbook and parsed."""
        self.grids: list[tuple[SheetSpec, Grid]] = []
        for spec in self.form.sheets:
            grid = self._pick_sheet(spec)
            if grid is not None:
                self.grids.append((spec, grid))
        return self

    def read(self) -> ReadResult:
        sheets: dict[str, SheetData] = {}
        for spec, grid in self.grids:
            data = self._read_sheet(spec, grid)
            if data is not None:
                sheets[spec.key] = data
        code = self._identify()
        filed_on, month_day = self._filed_on()
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
        )
        return ReadResult(self.source, ret, findings)

    # --- sheets -------------------------------------------------------------------------

    def _pick_sheet(self, spec: SheetSpec) -> Grid | None:
        names_this = field_table(spec).names_this_sheet
        prefixes = self.form.reader.not_sheet_prefixes
        matches = [(name, visible) for name, visible in self.book.sheets if names_this[(name, prefixes)]]
        grids: dict[str, Grid] = {}
        if len(matches) > 1:
            # A sheet with no cells (a leftover copy, a sheet kept for a picture) is no candidate.
            grids = {name: self.book.loader(name) for name, _ in matches}  # type: ignore[operator]
            matches = [m for m in matches if any(any(v not in ("", None) for v in row) for row in grids[m[0]].rows)]
        visible = [m for m in matches if m[1]]
        pool = visible or matches
        if not pool:
            self.finding("missing-sheet", sheet_label=spec.label, sheet_number=spec.number)
            return None
        if len(pool) > 1:
            names = "、".join(f"“{n}”" for n, _ in pool)
            self.finding("sheet-ambiguous", sheet=pool[0][0], sheet_label=spec.label, detail=names)
            return None
        name = pool[0][0]
        return grids.get(name) or self.book.loader(name)  # type: ignore[operator]

    def _read_sheet(self, spec: SheetSpec, grid: Grid) -> SheetData | None:
        """Three steps: find the table (its header and columns), classify each row under it
        (township, 合计 , 小计 , note, footer, nothing), then convert the kept rows' values a
        column at a time, where a column of whole numbers converts at C speed."""
        if grid.far_cell:
            self.finding("stray-cells", sheet=grid.name, cell="", value=grid.far_cell)
        header_row, columns = find_header(spec, grid)
        # 填报单位, 行政区划代码 and 填报日期 sit above the header (or, with no header found, near the top).
        self._collect_identity(grid, range(header_row if header_row >= 0 else min(len(grid.rows), 8)))
        missing = [f for f in spec.fields if f.key not in columns]
        if header_row < 0 or missing:
            for f in missing:
                self.finding("missing-column", sheet=grid.name, field=f.key, field_label=f.full_label)
            return None
        table = Table(spec, columns)
        rows = self._classify_rows(table, grid, header_row)
        return self._convert(table, grid, rows)

    def _classify_rows(self, table: Table, grid: Grid, header_row: int) -> Rows:
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
        TOWNSHIP, TEXT_ONLY, NOTE, FOOTER, KEYLESS = (RowKind.TOWNSHIP, RowKind.TEXT_ONLY, RowKind.NOTE, RowKind.FOOTER,
                                                      RowKind.KEYLESS)
        r = header_row + 1
        while r < len(rows):
            raw = rows[r]
            n = len(raw)
            if raw.count("") == n and not (entries and any((r, c) in entries for c in count_cols)):
                r += 1  # an empty row: the commonest row that holds no township
                continue
            key_text = raw[key_col] if key_col < n else ""
            key_text = clean_str(key_text) if key_text.__class__ is str else clean_text(key_text)
            if key_text:
                kind = kind_of[key_text]
                if kind == TOWNSHIP and no_entry(raw, count_cols, r, entries):
                    kind = TEXT_ONLY
                elif kind == NOTE and any(is_number(raw[c]) for c in count_cols if c < n):
                    # A note beside figures: the figures are not added, and the clerk is told where
                    # they are, never left to guess why a total fell short. (A footer's cells hold
                    # names and telephone numbers, which are no figures of the form.)
                    c = next(c for c in count_cols if c < n and is_number(raw[c]))
                    self.finding("note-with-figures", sheet=grid.name, cell=cell_ref(r, c),
                                 value=display(key_text))
            else:
                kind = self._keyless_kind(table, grid, r, uncached, words)
            if kind == TOWNSHIP:  # the commonest kept row, added without a call
                township_at.append(len(kept))
                kept.append(r)
                names.append(key_text)
            elif kind == FOOTER:
                if found.footer < 0:
                    found.footer = r
                if not total_below(rows, r + 1, key_col, kind_of):
                    break  # the footer ends the table, unless the sheet's 合计 row is still to come
            elif kind == TEXT_ONLY:
                text_only.append(r)
                found.texts[r] = key_text
            elif kind <= KEYLESS:
                found.add(r, kind, key_text)
            r += 1
        # A row of text with no figure is a note when no township follows it; between townships
        # it is a warning, and never a township: it would add nothing but a name.
        last = found.rows[found.township_at[-1]] if found.township_at else -1
        for t in text_only:
            if t < last:
                self.finding("text-only-row", sheet=grid.name, cell=cell_ref(t, key_col),
                             value=display(found.texts[t]))
        self._collect_people(grid, found.footer if found.footer >= 0 else r)
        found.explanation = explanation_below(grid, found.footer if found.footer >= 0 else r, self.form.explanation_label)
        return found

    def _keyless_kind(self, table: Table, grid: Grid, r: int, uncached, words: RowWords) -> int:
        """A row with nothing in the township column: a footer or note standing alone, a 合计
        labelled in another column, empty but for computed columns' formulas (the issued
        template's spare rows), a column-number row, or figures without a name."""
        raw = grid.rows[r]
        n = len(raw)
        count_cols = table.count_cols
        first = next((v for v in raw if not blank(v)), "")
        if first.__class__ is str:
            kind = words.kind[clean_str(first)]
            if kind in (RowKind.NOTE, RowKind.FOOTER) and not any(is_number(raw[c]) for c in count_cols if c < n):
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
        totals = found.totals
        total_at = totals[0] if totals else -1
        non_townships = set(totals) | set(found.subtotals)
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
            township_names.append(key_text)
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
        for j, c in enumerate(table.col_index):
            cells = by_column[c]
            unit = unit_of[j]
            formula_at = {i for i, k in enumerate(kept) if (k, c) in formulas} if formulas else ()
            error_at = {i: errors[k, c] for i, k in enumerate(kept) if (k, c) in errors} if errors else {}
            values = whole_counts(cells) if unit is not None and not formula_at and not error_at else None
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
                        else:
                            self.finding("formula-without-value", sheet=grid.name,
                                         cell=f"{letters[j]}{kept[i] + 1}", field=keys[j])
                        values.append(None)
                    elif unit is None:  # a computed column: its raw value is kept for checking
                        values.append(None if v in ("", None) else v)
                    else:
                        try:
                            values.append(parse_count(v, unit))
                        except NotACount as e:
                            self.finding("count-too-large" if isinstance(e, TooLarge) else "not-a-count",
                                         sheet=grid.name, cell=f"{letters[j]}{kept[i] + 1}", field=keys[j],
                                         field_label=spec.label_of(keys[j]), value=display(v))
                            values.append(None)
            all_values.append(values)
            if total_at >= 0:
                total_values[keys[j]] = values[total_at]
            if not non_townships:
                value_columns.append(tuple(values))
            else:
                value_columns.append(townships_only(values) if townships_only else tuple(values[i] for i in township_at))
        if found.subtotals:
            self._check_subtotals(table, grid, found, all_values)
        total_row = kept[total_at] + 1 if total_at >= 0 else 0
        township_column = column_letter(table.key_col)
        if total_row and not total_recomputed and grid.hidden_rows and total_row - 1 in grid.subtotal_rows:
            # SUBTOTAL leaves out the rows a filter hides, whose townships are the county's all the same.
            self.finding("total-filtered", sheet=grid.name, cell=f"{township_column}{total_row}")
            total_row, total_values = 0, {}
        counts = [value_columns[j] for j, u in enumerate(unit_of) if u is not None]
        for i in sums_of_the_others(counts):
            # A total row under a label nobody foresaw would double the county: rejected instead.
            self.finding("township-is-total", sheet=grid.name,
                         cell=cell_ref(kept[township_at[i]], table.key_col), field=table.key_field,
                         value=display(township_names[i]))
        if not township_at and not any(v for v in total_values.values() if v.__class__ is int):
            self.finding("sheet-empty", sheet=grid.name, sheet_number=spec.number,
                         sheet_label=spec.label)
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

    # --- identity -----------------------------------------------------------------------

    def _collect_identity(self, grid: Grid, rows) -> None:
        for r in rows:
            text = row_text(grid, r)
            if not text:
                continue
            m = "填报单位" in text and UNIT_LINE.search(text)
            if m and m.group(1).strip():
                self.identity["name"].append((grid.name, m.group(1).strip()))
            m = "代码" in text and CODE_LINE.search(text)
            if m:
                self.identity["code"].append((grid.name, m.group(1)))
            m = "填报日期" in text and DATE_LINE.search(text)
            if m:
                self.identity["date"].append((grid.name, m.group(1)))

    def _collect_people(self, grid: Grid, start: int) -> None:
        for r in range(start, min(len(grid.rows), start + 6)):
            text = row_text(grid, r)
            for label, first, pattern in PEOPLE_LINES:
                m = first in text and pattern.search(text)
                if m and m.group(1).strip() and label not in self.people:
                    self.people[label] = m.group(1).strip()

    def _identify(self) -> str:
        by_code = {c for _, c in self.identity["code"] if self.units.by_code(c)}
        by_name = set()
        unknown_names = []
        for _, text in self.identity["name"]:
            code = self.units.match_name(text, self.form.name_noise)
            if code:
                by_name.add(code)
            else:
                unknown_names.append(text)
        content = by_code or by_name
        from_file = self.units.find_in_filename(os.path.splitext(os.path.basename(self.source.member or self.source.path))[0])
        if len(content) > 1:
            names = "、".join(self._unit_name(c) for c in sorted(content))
            self.finding("unit-conflict", detail=f"各表填报单位不一致（{names}）")
            return ""
        if content:
            code = next(iter(content))
            if from_file and from_file != code:
                # The file-name county's: should this return be superseded by the content
                # county's own, the finding still tells that county its file held another's figures.
                # Inside a city's workbook the county is the one its sheets (or rows) name.
                named_by = "市州报表中的工作表名" if self.source.via else "文件名"
                self.finding("unit-conflict", county=from_file,
                    detail=f"{named_by}是{self._unit_name(from_file)}，表内填报单位是{self._unit_name(code)}",
                )
                return code
            return code
        if from_file:
            return from_file
        self.finding("unit-unknown")
        return ""

    def _unit_name(self, code: str) -> str:
        u = self.units.by_code(code)
        return u.name if u else code

    def _filed_on(self) -> tuple[date | None, tuple[int, int] | None]:
        """The 填报日期, and (month, day) when it was written without its year."""
        year_less = None
        for _, text in self.identity["date"]:
            parts = parse_filed(text, self.book.date1904() if _SERIAL_ONLY.match(text) else False)
            if parts and parts[0] is not None:
                return date(*parts), None
            if parts and year_less is None:
                year_less = parts[1:]
        if year_less is None:
            self.finding("date-missing")
        return None, year_less
