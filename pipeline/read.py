"""Read: one source file's bytes → a Return (county, date, township rows with their cells).

Whatever layout the county used: title rows or none, one- or two-row headers, columns in any
order, extra columns, the 合计 row first, last or absent, numbers as text. Every value keeps
the cell it came from. Problems come back as findings; nothing here raises past `read_source`.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
import unicodedata
import zipfile
import zlib
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from functools import lru_cache
from operator import itemgetter
from pathlib import Path

from .form import Form, ReaderSpec, SheetSpec, label_variants, normalise_label
from .model import Finding, ReadResult, Return, Severity, SheetData, Source
from .numbers import MAX_COUNT, NotACount, TooLarge, display, parse_count
from .units import UnitList
from .workbook import Book, Grid, Unreadable, cell_ref, column_letter, open_book

HEADER_SEARCH_ROWS = 30  # the header is near the top; a table starting lower is not the form
MAX_NAME = 60  # no township's name is longer; a longer one is pasted text, not a name
_COLUMN_CODES = {"甲", "乙", "丙", "丁"}
_UNIT_LINE = re.compile(r"填报单位[^::]{0,8}[::]\s*(.*?)(?=\s{2,}|行政区划代码|填报日期|单位[::]|$)")
_CODE_LINE = re.compile(r"(?:\s*行政区划\s*)?代码[：:]?\s*(\d{6})(?:\.0)?(?!\d)")
_DATE_LINE = re.compile(r"填报日期[::]?\s*(\S+(?:\s\S+)?)")
_PEOPLE = ("填表人", "审核人", "联系电话")


def _spaced(label: str) -> str:
    """A label as clerks space it out to fill a cell, such as 填 表 人 or 审　核　人 ; NFKC has made
    the ideographic space a plain one."""
    return r"\s*".join(map(re.escape, label))


_PEOPLE_LINES = tuple(
    (label, label[0], re.compile(_spaced(label) + r"\s*[::]\s*(.*?)(?=\s{2,}|" + "|".join(map(_spaced, _PEOPLE)) + "|$)"))
    for label in _PEOPLE
)


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


def load_bytes(source: Source) -> bytes:
    if source.archive:
        with zipfile.ZipFile(source.archive) as zf:
            info = zf.getinfo(source.member)
            if info.file_size > 200 * 1024 * 1024:
                raise Unreadable("unreadable", "压缩包内文件过大")
            return zf.read(info)
    return Path(source.abspath).read_bytes()


def read_source(source: Source, form: Form, units: UnitList, passwords: tuple[str, ...] = ()) -> ReadResult:
    return read_sources([source], form, units, passwords)[0]


STAGE_FILES = 64  # files taken through each stage together
STAGE_BYTES = 16 * 1024 * 1024  # and no more than this much of them held open at once


def read_sources(sources: list[Source], form: Form, units: UnitList,
                 passwords: tuple[str, ...] = ()) -> list[ReadResult]:
    """Each file read as read_source would, but a few dozen at a time, stage by stage: every
    file opened and scanned, then every sheet parsed by calamine, then every sheet read.
    Keeping to one kind of work at a time keeps its code and tables in the processor's
    caches: a tenth less time a file on the benchmark's returns. Each file keeps its own guard."""
    out: list[ReadResult] = []
    group: list[Source] = []
    held = 0
    for source in sources:
        if group and (len(group) == STAGE_FILES or held + source.size > STAGE_BYTES):
            out += _read_group(group, form, units, passwords)
            group, held = [], 0
        group.append(source)
        held += source.size
    return out + _read_group(group, form, units, passwords) if group else out


def _read_group(sources: list[Source], form: Form, units: UnitList, passwords: tuple[str, ...]) -> list[ReadResult]:
    with engine_reports_held_back():
        staged: list[_SourceReader | ReadResult] = [
            _guarded(s, form, lambda s=s: _SourceReader(s, form, units, _open(load_bytes(s), passwords)))
            for s in sources
        ]
        staged = [_guarded(r.source, form, r.load) if isinstance(r, _SourceReader) else r for r in staged]
        return [_guarded(r.source, form, r.read) if isinstance(r, _SourceReader) else r for r in staged]


@contextmanager
def engine_reports_held_back():
    """The spreadsheet engine (calamine, in Rust) writes a panic's report, and with
    RUST_BACKTRACE set a page of backtrace, straight to the process's standard error before
    Python sees the panic, which `_guarded` makes that file's finding. Staff would read it as
    the program crashing. So while a group of files is read, standard error goes to a
    temporary file; afterwards what was written there is passed on, less the engine's reports.
    Standard error belongs to the whole process: one thread at a time holds it (the submission
    page checks in a worker thread while its server logs)."""
    with _HOLDING:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
            held = tempfile.TemporaryFile()
        except (OSError, ValueError, AttributeError):  # no standard error to hold (a service, a closed stream)
            yield
            return
        os.dup2(held.fileno(), 2)
        _HELD.append(saved)
        try:
            yield
        finally:
            _HELD.pop()
            try:
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            rest = without_engine_reports(held.read().decode("utf-8", "replace"))
            held.close()
            if rest:
                sys.stderr.write(rest)


_HOLDING = threading.RLock()
_HELD: list[int] = []  # the console's standard error while a group's is held back


def release_stderr() -> None:
    """Standard error back to the console at once: for a run being stopped (Ctrl-C), which
    says so there and ends before the group it was reading is done."""
    if _HELD:
        try:
            os.dup2(_HELD[0], 2)
        except OSError:
            pass


_PANIC = re.compile(r"^thread '.*' (?:\(\d+\) )?panicked at ")


def without_engine_reports(text: str) -> str:
    """The text less each Rust panic report: its first line (thread '…' panicked at …), the
    message under it, and the backtrace and notes that follow."""
    out: list[str] = []
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        if not _PANIC.match(lines[i]):
            out.append(lines[i])
            i += 1
            continue
        # the report's line, and its message on the next line when the line ends with a colon
        # (an older Rust puts the message on the report's line itself)
        i += 2 if lines[i].rstrip().endswith(":") else 1
        while i < len(lines) and (lines[i].startswith((" ", "\t", "stack backtrace:", "note: "))):
            i += 1
    return "".join(out)


def _guarded(source: Source, form: Form, step):
    """The one guard around a file: whatever goes wrong becomes a finding for this file alone."""
    try:
        return step()
    except Unreadable as e:
        rule = e.rule
        msg = form.message(rule, detail=e.detail)
        return ReadResult(source, None, (Finding(Severity.ERROR, source.path, "", "", "", "", rule, msg),))
    except (zipfile.BadZipFile, zlib.error, EOFError) as e:
        msg = form.message("unreadable", detail=f"文件已损坏：{type(e).__name__}")
        return ReadResult(source, None, (Finding(Severity.ERROR, source.path, "", "", "", "", "unreadable", msg),))
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise  # these mean stop, not a broken file
    except BaseException as e:  # noqa: BLE001 - the run must go on with the other counties
        # BaseException, not Exception: the spreadsheet engine's panic (pyo3's PanicException,
        # on a malformed record) derives from BaseException and is one county's broken file.
        if type(e).__name__ == "PanicException":
            msg = form.message("unreadable", detail="文件内部结构有损坏")
            return ReadResult(source, None, (Finding(Severity.ERROR, source.path, "", "", "", "", "unreadable", msg),))
        msg = form.message("read-failed", detail=type(e).__name__)
        return ReadResult(source, None, (Finding(Severity.ERROR, source.path, "", "", "", "", "read-failed", msg),))


def _open(data: bytes, passwords: tuple[str, ...]) -> Book:
    try:
        return open_book(data)
    except Unreadable as e:
        if e.rule == "encrypted" and passwords:
            return open_book(_decrypt(data, passwords))
        raise


def _decrypt(data: bytes, passwords: tuple[str, ...]) -> bytes:
    """Encrypted returns open with a password from the configuration, when one fits."""
    import io

    try:
        import msoffcrypto
    except ImportError as e:
        raise Unreadable("encrypted") from e
    for pw in passwords:
        try:
            office = msoffcrypto.OfficeFile(io.BytesIO(data))
            office.load_key(password=pw)
            out = io.BytesIO()
            office.decrypt(out)
            return out.getvalue()
        except Exception:  # noqa: BLE001 - a wrong password: try the next
            continue
    raise Unreadable("encrypted")


class _SourceReader:
    def __init__(self, source: Source, form: Form, units: UnitList, book: Book) -> None:
        self.source, self.form, self.units, self.book = source, form, units, book
        self.findings: list[Finding] = []
        self.identity: dict[str, list[tuple[str, str]]] = {"name": [], "code": [], "date": []}
        self.people: dict[str, str] = {}

    def finding(self, severity: Severity, rule: str, *, sheet: str = "", cell: str = "", field: str = "",
                county: str = "", **kw) -> None:
        """`county`: the finding belongs to another county than the return's (the one its file
        name names); otherwise it is filled in once the return's county is known."""
        place = f"{sheet}!{cell}" if sheet and cell else sheet
        msg = self.form.message(rule, place=place, **kw)
        self.findings.append(Finding(severity, self.source.path, county, sheet, cell, field, rule, msg))

    def load(self) -> _SourceReader:
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
        filed_on = self._filed_on()
        findings = tuple(
            Finding(f.severity, f.file, f.county_code or code, f.sheet, f.cell, f.field, f.rule, f.message)
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
        )
        return ReadResult(self.source, ret, findings)

    # --- sheets -------------------------------------------------------------------------

    def _pick_sheet(self, spec: SheetSpec) -> Grid | None:
        names_this = _field_keys(spec).names_this_sheet
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
            self.finding(Severity.ERROR, "missing-sheet", sheet_label=spec.label, sheet_number=spec.number)
            return None
        if len(pool) > 1:
            names = "、".join(f"“{n}”" for n, _ in pool)
            self.finding(Severity.ERROR, "sheet-ambiguous", sheet=pool[0][0], sheet_label=spec.label, detail=names)
            return None
        name = pool[0][0]
        return grids.get(name) or self.book.loader(name)  # type: ignore[operator]

    def _read_sheet(self, spec: SheetSpec, grid: Grid) -> SheetData | None:
        """Three steps: find the table (its header and columns), classify each row under it
        (township, 合计 , 小计 , note, footer, nothing), then convert the kept rows' values a
        column at a time, where a column of whole numbers converts at C speed."""
        if grid.far_cell:
            self.finding(Severity.WARNING, "stray-cells", sheet=grid.name, cell="", value=grid.far_cell)
        header_row, columns = _find_header(spec, grid)
        # 填报单位, 行政区划代码 and 填报日期 sit above the header (or, with no header found, near the top).
        self._collect_identity(grid, range(header_row if header_row >= 0 else min(len(grid.rows), 8)))
        missing = [f for f in spec.fields if f.key not in columns]
        if header_row < 0 or missing:
            for f in missing:
                self.finding(Severity.ERROR, "missing-column", sheet=grid.name, field=f.key, field_label=f.full_label)
            return None
        table = _Table(spec, columns)
        rows = self._classify_rows(table, grid, header_row)
        return self._convert(table, grid, rows)

    def _classify_rows(self, table: _Table, grid: Grid, header_row: int) -> _Rows:
        """Which rows under the header hold a township, a 合计 or a 小计 , and which hold nothing
        to add (empty rows, spare template rows, column numbers, notes, the footer)."""
        words = _row_words(self.form)
        kind_of = words.kind
        key_col, count_cols = table.key_col, table.count_cols
        rows = grid.rows
        # Cells holding a formula whose value reads as blank, or an error value: an entry all the same.
        entries = grid.formula_without_value | grid.formula_blank if grid.formula_blank else grid.formula_without_value
        uncached = grid.formula_without_value
        if grid.cell_errors:
            entries = entries | grid.cell_errors.keys()
            uncached = uncached | grid.cell_errors.keys()
        found = _Rows()
        kept, names, township_at = found.rows, found.names, found.township_at
        text_only: list[int] = []
        r = header_row + 1
        while r < len(rows):
            raw = rows[r]
            n = len(raw)
            if raw.count("") == n and not (entries and any((r, c) in entries for c in count_cols)):
                r += 1  # an empty row: the commonest row that holds no township
                continue
            key_text = raw[key_col] if key_col < n else ""
            key_text = _clean_str(key_text) if key_text.__class__ is str else _clean_text(key_text)
            if key_text:
                kind = kind_of[key_text]
                if kind == _TOWNSHIP and _no_entry(raw, count_cols, r, entries):
                    kind = _TEXT_ONLY
                elif kind == _NOTE and any(_is_number(raw[c]) for c in count_cols if c < n):
                    # A note beside figures: the figures are not added, and the clerk is told where
                    # they are, never left to guess why a total fell short. (A footer's cells hold
                    # names and telephone numbers, which are no figures of the form.)
                    c = next(c for c in count_cols if c < n and _is_number(raw[c]))
                    self.finding(Severity.WARNING, "note-with-figures", sheet=grid.name, cell=cell_ref(r, c),
                                 value=display(key_text))
            else:
                kind = self._keyless_kind(table, grid, r, uncached, words)
            if kind == _TOWNSHIP:  # the commonest kept row, added without a call
                township_at.append(len(kept))
                kept.append(r)
                names.append(key_text)
            elif kind == _FOOTER:
                if found.footer < 0:
                    found.footer = r
                if not _total_below(rows, r + 1, key_col, kind_of):
                    break  # the footer ends the table, unless the sheet's 合计 row is still to come
            elif kind == _TEXT_ONLY:
                text_only.append(r)
                found.texts[r] = key_text
            elif kind <= _KEYLESS:
                found.add(r, kind, key_text)
            r += 1
        # A row of text with no figure is a note when no township follows it; between townships
        # it is a warning, and never a township: it would add nothing but a name.
        last = found.rows[found.township_at[-1]] if found.township_at else -1
        for t in text_only:
            if t < last:
                self.finding(Severity.WARNING, "text-only-row", sheet=grid.name, cell=cell_ref(t, key_col),
                             value=display(found.texts[t]))
        self._collect_people(grid, found.footer if found.footer >= 0 else r)
        found.explanation = _explanation(grid, found.footer if found.footer >= 0 else r, self.form.explanation_label)
        return found

    def _keyless_kind(self, table: _Table, grid: Grid, r: int, uncached, words: _RowWords) -> int:
        """A row with nothing in the township column: a footer or note standing alone, a 合计
        labelled in another column, empty but for computed columns' formulas (the issued
        template's spare rows), a column-number row, or figures without a name."""
        raw = grid.rows[r]
        n = len(raw)
        count_cols = table.count_cols
        first = next((v for v in raw if not _blank(v)), "")
        if first.__class__ is str:
            kind = words.kind[_clean_str(first)]
            if kind in (_NOTE, _FOOTER) and not any(_is_number(raw[c]) for c in count_cols if c < n):
                return kind
        values = [raw[c] if c < n else "" for c in count_cols]
        if all(_blank(v) for v in values) and not (uncached and any((r, c) in uncached for c in count_cols)):
            return _EMPTY
        all_values = [raw[c] if c < n else "" for c in table.col_index]
        if _is_code_row(all_values, table.col_index):
            return _EMPTY
        for c in range(table.first_field_col):
            if c != table.key_col:
                kind = words.kind[_clean_text(grid.value(r, c))]
                if kind in (_TOTAL, _SUBTOTAL):
                    return kind
        return _KEYLESS

    def _convert(self, table: _Table, grid: Grid, found: _Rows) -> SheetData:
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
                self.finding(Severity.ERROR, "township-missing", sheet=grid.name, cell=cell_ref(r, table.key_col),
                             field=table.key_field)
                key_text = f"（第{r + 1}行）"
            elif len(key_text) > MAX_NAME:
                self.finding(Severity.ERROR, "township-too-long", sheet=grid.name, cell=cell_ref(r, table.key_col),
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
            values = _whole_counts(cells) if unit is not None and not formula_at and not error_at else None
            if values is None:
                values = []
                for i, v in enumerate(cells):
                    if i in error_at and unit is not None:
                        # calamine reads an error value as a blank, which would be a 0: the clerk's
                        # figure is unknown. A 合计 or 小计 only checks the townships: not compared.
                        township = i not in non_townships
                        self.finding(Severity.ERROR if township else Severity.WARNING,
                                     "cell-error" if township else "total-cell-error", sheet=grid.name,
                                     cell=f"{letters[j]}{kept[i] + 1}", field=keys[j],
                                     field_label=spec.label_of(keys[j]), value=error_at[i])
                        values.append(None)
                    elif i in formula_at:
                        if i in non_townships:
                            total_recomputed = total_recomputed or i == total_at
                        else:
                            self.finding(Severity.ERROR, "formula-without-value", sheet=grid.name,
                                         cell=f"{letters[j]}{kept[i] + 1}", field=keys[j])
                        values.append(None)
                    elif unit is None:  # a computed column: its raw value is kept for checking
                        values.append(None if v in ("", None) else v)
                    else:
                        try:
                            values.append(parse_count(v, unit))
                        except NotACount as e:
                            self.finding(
                                Severity.ERROR, "count-too-large" if isinstance(e, TooLarge) else "not-a-count",
                                sheet=grid.name, cell=f"{letters[j]}{kept[i] + 1}",
                                field=keys[j], field_label=spec.label_of(keys[j]), value=display(v),
                            )
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
            self.finding(Severity.INFO, "total-filtered", sheet=grid.name, cell=f"{township_column}{total_row}")
            total_row, total_values = 0, {}
        counts = [value_columns[j] for j, u in enumerate(unit_of) if u is not None]
        for i in _sums_of_the_others(counts):
            # A total row under a label nobody foresaw would double the county: rejected instead.
            self.finding(Severity.ERROR, "township-is-total", sheet=grid.name,
                         cell=cell_ref(kept[township_at[i]], table.key_col), field=table.key_field,
                         value=display(township_names[i]))
        if not township_at and not any(v for v in total_values.values() if v.__class__ is int):
            self.finding(Severity.ERROR, "sheet-empty", sheet=grid.name, sheet_number=spec.number,
                         sheet_label=spec.label)
            total_recomputed, total_row, total_values = False, 0, {}
        elif township_at and all(v == 0 for column in counts for v in column):
            self.finding(Severity.WARNING, "sheet-all-zero", sheet=grid.name)
        if total_recomputed and total_row:
            self.finding(Severity.INFO, "total-recomputed", sheet=grid.name, cell=f"{township_column}{total_row}")
            total_row, total_values = 0, {}
        return SheetData(
            spec.key, grid.name, township_column, dict(zip(keys, letters)), tuple(township_names),
            tuple(kept[i] + 1 for i in township_at),
            dict(zip(keys, value_columns)), total_row, total_values, found.explanation,
        )

    def _check_subtotals(self, table: _Table, grid: Grid, found: _Rows, all_values: list) -> None:
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
                self.finding(Severity.WARNING, "subtotal-mismatch", sheet=grid.name,
                             cell=f"{table.letters[j]}{found.rows[s] + 1}", field=table.keys[j],
                             field_label=table.spec.label_of(table.keys[j]), value=written, expected=sum(parts))

    # --- identity -----------------------------------------------------------------------

    def _collect_identity(self, grid: Grid, rows) -> None:
        for r in rows:
            text = _row_text(grid, r)
            if not text:
                continue
            m = "填报单位" in text and _UNIT_LINE.search(text)
            if m and m.group(1).strip():
                self.identity["name"].append((grid.name, m.group(1).strip()))
            m = "代码" in text and _CODE_LINE.search(text)
            if m:
                self.identity["code"].append((grid.name, m.group(1)))
            m = "填报日期" in text and _DATE_LINE.search(text)
            if m:
                self.identity["date"].append((grid.name, m.group(1)))

    def _collect_people(self, grid: Grid, start: int) -> None:
        for r in range(start, min(len(grid.rows), start + 6)):
            text = _row_text(grid, r)
            for label, first, pattern in _PEOPLE_LINES:
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
            self.finding(Severity.ERROR, "unit-conflict", detail=f"各表填报单位不一致（{names}）")
            return ""
        if content:
            code = next(iter(content))
            if from_file and from_file != code:
                # The file-name county's: should this return be superseded by the content
                # county's own, the finding still tells that county its file held another's figures.
                self.finding(
                    Severity.ERROR, "unit-conflict", county=from_file,
                    detail=f"文件名是{self._unit_name(from_file)}，表内填报单位是{self._unit_name(code)}",
                )
                return code
            return code
        if from_file:
            return from_file
        self.finding(Severity.ERROR, "unit-unknown")
        return ""

    def _unit_name(self, code: str) -> str:
        u = self.units.by_code(code)
        return u.name if u else code

    def _filed_on(self) -> date | None:
        for _, text in self.identity["date"]:
            d = parse_date(text)
            if d:
                return d
        self.finding(Severity.WARNING, "date-missing")
        return None


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


def _clean_text(v: object) -> str:
    if v is None or v == "":
        return ""
    if type(v) is str:
        return _clean_str(v)
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return _clean_str(str(v))


@lru_cache(maxsize=16384)
def _clean_str(s: str) -> str:
    # A township's name comes back on every sheet of its return: each text is cleaned once.
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", s))


def _whole_counts(cells: tuple) -> tuple[int, ...] | None:
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


def _blank(v: object) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


# What a row under the header is. The kept kinds come first: townships, 合计, 小计, and
# figures without a township's name (kept, to be named in a finding).
_TOWNSHIP, _TOTAL, _SUBTOTAL, _KEYLESS, _TEXT_ONLY, _NOTE, _FOOTER, _EMPTY = range(8)


class _RowWords:
    """The form's words for rows that are not townships, and each key text's kind, worked
    out once: a township's name comes back in every return."""

    def __init__(self, reader: ReaderSpec) -> None:
        # Casefolded: Total, TOTAL and total are one word.
        self.total = tuple(_clean_str(w).casefold() for w in reader.total_words if w.strip())
        self.subtotal = tuple(_clean_str(w).casefold() for w in reader.subtotal_words if w.strip())
        notes = "|".join(re.escape(_clean_str(w)) for w in sorted(reader.note_words, key=len, reverse=True) if w.strip())
        footers = "|".join(re.escape(_clean_str(w)) for w in sorted(reader.footer_words, key=len, reverse=True)
                           if w.strip())
        # NFKC has made the full-width colon an ASCII one; 注1: and 注：both start a note.
        self.note = re.compile(rf"^(?:{notes})[\d.、]*:") if notes else None
        self.footer = re.compile(rf"^(?:{footers})") if footers else None
        self.kind = _Memo(self._kind)

    def _kind(self, text: str) -> int:
        if not text:
            return _EMPTY
        if text in _COLUMN_CODES:
            return _EMPTY
        # 合计, 全县合计, 汇总: a short label ending in a total word. A subtotal is checked first,
        # so that 小计 never counts as the county's 合计 whatever the words declared.
        label = _bare_label(text)
        if self.subtotal and (label in self.subtotal or (len(label) <= 12 and label.endswith(self.subtotal))):
            return _SUBTOTAL
        if self.total and (label in self.total or (len(label) <= 6 and label.endswith(self.total))):
            return _TOTAL
        if self.note and self.note.match(text):
            return _NOTE
        if self.footer and self.footer.match(text):
            return _FOOTER
        return _TOWNSHIP


# What clerks put after a total word: a colon (合计：), a unit in brackets (合计（万户）), or both.
# NFKC has already made the full-width forms ASCII.
_LABEL_TAIL = re.compile(r"(?:[:]|\([^()]*\))+$")


def _bare_label(text: str) -> str:
    """A row label as a total word would be written alone: 合计（户）： → 合计 and TOTAL → total."""
    return _LABEL_TAIL.sub("", text).casefold()


_WORDS: dict[int, tuple[ReaderSpec, _RowWords]] = {}


def _row_words(form: Form) -> _RowWords:
    entry = _WORDS.get(id(form.reader))
    if entry is None or entry[0] is not form.reader:
        if len(_WORDS) > 64:
            _WORDS.clear()
        entry = _WORDS[id(form.reader)] = (form.reader, _RowWords(form.reader))
    return entry[1]


class _Table:
    """Where a sheet's fields stand in the county's layout."""

    def __init__(self, spec: SheetSpec, columns: dict[str, int]) -> None:
        self.spec = spec
        self.key_field = spec.key_field.key
        self.key_col = columns[self.key_field]
        items = [(k, c) for k, c in columns.items() if k != self.key_field]
        self.keys = [k for k, _ in items]
        self.col_index = [c for _, c in items]
        self.letters = [column_letter(c) for c in self.col_index]
        units = _field_keys(spec).count_units
        self.unit_of = [units.get(k) for k in self.keys]  # None: a computed column
        self.count_cols = [c for c, u in zip(self.col_index, self.unit_of) if u is not None]
        self.first_field_col = min(self.col_index)


class _Rows:
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
        if kind == _TOTAL:
            self.totals.append(at)
        elif kind == _SUBTOTAL:
            self.subtotals.append(at)
        else:
            self.township_at.append(at)
        self.rows.append(r)
        self.names.append(name)


def _no_entry(raw: list, count_cols: list[int], r: int, entries) -> bool:
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


def _sums_of_the_others(counts: list[tuple]) -> list[int]:
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


def _is_number(v: object) -> bool:
    return v.__class__ is float or v.__class__ is int


def _total_below(rows: list, start: int, key_col: int, kind_of) -> bool:
    for r in range(start, len(rows)):
        raw = rows[r]
        if key_col < len(raw) and raw[key_col].__class__ is str and raw[key_col]:
            if kind_of[_clean_str(raw[key_col])] == _TOTAL:
                return True
    return False


def _is_code_row(values: list, cols: list[int]) -> bool:
    """A column-number row (1 2 3 …) under the header, as statistical forms often have."""
    ordered = [v for _, v in sorted(zip(cols, values), key=lambda cv: cv[0])]
    try:
        nums = [parse_count(v) for v in ordered]
    except NotACount:
        return False
    return len(nums) > 2 and all(b - a == 1 for a, b in zip(nums, nums[1:]))


def _row_text(grid: Grid, r: int) -> str:
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


def page_explanations(inbox: Path) -> dict[str, str]:
    """上报说明 given with an upload on the submission page (`make serve` keeps them in
    inbox/.versions/explanations.csv, by the file's name in the inbox): file → words."""
    import csv

    path = inbox / ".versions" / "explanations.csv"
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            return {row["file"]: row["explanation"].strip() for row in csv.DictReader(f)
                    if row.get("file") and (row.get("explanation") or "").strip()}
    except (OSError, UnicodeDecodeError, KeyError, csv.Error):
        return {}  # none, or not readable: the cells under the tables still count


def _explained(text: str, label: str) -> str | None:
    """The words after the form's explanation label — 上报说明：… or 上 报 说 明 … — or None when
    the text is not one."""
    m = _label_pattern(label).match(text)
    return m.group(1).strip() if m else None


@lru_cache(maxsize=8)
def _label_pattern(label: str) -> re.Pattern:
    # Either width of colon; the words keep the county's own punctuation.
    return re.compile(r"\s*" + r"\s*".join(map(re.escape, label)) + r"\s*(?:[:：]|$)(.*)", re.S)


def _explanation(grid: Grid, start: int, label: str) -> str:
    """A county's answer to a warning, from the labelled footer cell below the table (the form
    declares the label, which the reader takes as a footer word): the rest of that cell and
    the cells after it on its row."""
    if not label:
        return ""
    for r in range(start, min(len(grid.rows), start + 8)):
        row = grid.rows[r]
        for c, v in enumerate(row):
            if v.__class__ is str and v and (words := _explained(v, label)) is not None:
                rest = [str(x).strip() for x in row[c + 1:] if x not in ("", None)]
                return "，".join(w for w in [words, *rest] if w)
    return ""


@lru_cache(maxsize=16384)
def _stripped(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def parse_date(text: str) -> date | None:
    text = unicodedata.normalize("NFKC", text)
    m = re.search(r"(\d{4})\s*[年.\-/]\s*(\d{1,2})\s*[月.\-/]\s*(\d{1,2})", text)
    if m:
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
    m = re.match(r"^(\d{5})(?:\.0+)?$", text.strip())
    if m and 30000 < int(m.group(1)) < 60000:  # an Excel serial date in the cell after the label
        return date(1899, 12, 30) + timedelta(days=int(m.group(1)))
    return None


# --- header detection ------------------------------------------------------------------


class _FieldTable(list):
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
        if _blank(top) and not _blank(bottom) and prev_top:
            top = prev_top  # a group label typed once over its sub-columns, not merged
        bottom_variants = label_variants(bottom) if not _blank(bottom) and not same_merge else set()
        top_norm = normalise_label(top)
        candidates_one = set(bottom_variants)
        if top_norm and bottom_variants:
            candidates_one |= {top_norm + b for b in bottom_variants}
        if (_blank(bottom) or same_merge) and not _blank(top):
            candidates_one |= label_variants(top)
        pairs = {(top_norm, b) for b in bottom_variants} if top_norm else set()
        matches = tuple(i for i, (_, one, two) in enumerate(self) if candidates_one & one or pairs & two)
        return matches, top if bottom_variants and top_norm else ""


_NO_LABEL_ABOVE = "\x01"
_NO_LABEL_HERE = "\x02"
_TABLES: dict[int, tuple[SheetSpec, _FieldTable]] = {}


def _field_keys(spec: SheetSpec) -> _FieldTable:
    # By identity: hashing a SheetSpec (nested tuples) on every sheet cost more than the lookup.
    entry = _TABLES.get(id(spec))
    if entry is None or entry[0] is not spec:
        if len(_TABLES) > 256:
            _TABLES.clear()
        entry = _TABLES[id(spec)] = (spec, _FieldTable(spec))
    return entry[1]


def _find_header(spec: SheetSpec, grid: Grid) -> tuple[int, dict[str, int]]:
    """The header's last row and each field's column; (-1, {}) when no row looks like a header."""
    keys = _field_keys(spec)
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


def _match_row(grid: Grid, h: int, keys: _FieldTable, merged: tuple) -> dict[str, int]:
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
