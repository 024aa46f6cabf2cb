"""Read: one source file's bytes → a Return (county, date, township rows with their cells).

Whatever layout the county used: title rows or none, one- or two-row headers, columns in any
order, extra columns, the 合计 row first, last or absent, numbers as text. Every value keeps
the cell it came from. Problems come back as findings; nothing here raises past `read_source`.
"""

from __future__ import annotations

import os
import re
import unicodedata
import zipfile
import zlib
from datetime import date, datetime, timedelta
from functools import lru_cache
from operator import itemgetter
from pathlib import Path

from .form import Form, SheetSpec, label_variants, normalise_label
from .model import Finding, ReadResult, Return, Severity, SheetData, Source
from .numbers import MAX_COUNT, NotACount, TooLarge, display, parse_count
from .units import UnitList
from .workbook import Book, Grid, Unreadable, cell_ref, column_letter, open_book

HEADER_SEARCH_ROWS = 30  # the header is near the top; a table starting lower is not the form
MAX_NAME = 60  # no township's name is longer; a longer one is pasted text, not a name
_TOTAL_WORDS = {"合计", "总计", "小计", "全县合计", "全区合计", "全市合计", "合计数", "总合计"}
# The words that start the lines under a table; both widths of colon.
_FOOTER_WORDS = ("填表人", "填报人", "审核人", "联系电话", "单位负责人", "负责人", "注[：:]", "说明[：:]", "备注[：:]")
_FOOTER = re.compile(r"^\s*(?:" + "|".join(_FOOTER_WORDS) + ")")
_COLUMN_CODES = {"甲", "乙", "丙", "丁"}
_UNIT_LINE = re.compile(r"填报单位[^::]{0,8}[::]\s*(.*?)(?=\s{2,}|行政区划代码|填报日期|单位[::]|$)")
_CODE_LINE = re.compile(r"(?:\s*行政区划\s*)?代码[：:]?\s*(\d{6})(?:\.0)?(?!\d)")
_DATE_LINE = re.compile(r"填报日期[::]?\s*(\S+(?:\s\S+)?)")
_PEOPLE_LINES = tuple(
    (label, re.compile(label + r"[::]\s*(.*?)(?=\s{2,}|填表人|审核人|联系电话|$)")) for label in ("填表人", "审核人", "联系电话")
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
    staged: list[_SourceReader | ReadResult] = [
        _guarded(s, form, lambda s=s: _SourceReader(s, form, units, _open(load_bytes(s), passwords)))
        for s in sources
    ]
    staged = [_guarded(r.source, form, r.load) if isinstance(r, _SourceReader) else r for r in staged]
    return [_guarded(r.source, form, r.read) if isinstance(r, _SourceReader) else r for r in staged]


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

    def finding(self, severity: Severity, rule: str, *, sheet: str = "", cell: str = "", field: str = "", **kw) -> None:
        place = f"{sheet}!{cell}" if sheet and cell else sheet
        msg = self.form.message(rule, place=place, **kw)
        self.findings.append(Finding(severity, self.source.path, "", sheet, cell, field, rule, msg))

    def load(self) -> _SourceReader:
        """Each of the form's sheets found in the workbook and parsed."""
        self.grids: list[tuple[SheetSpec, Grid]] = []
        for spec in self.form.sheets:
            name = self._pick_sheet(spec)
            if name is not None:
                self.grids.append((spec, self.book.loader(name)))  # type: ignore[operator]
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
            Finding(f.severity, f.file, code, f.sheet, f.cell, f.field, f.rule, f.message) for f in self.findings
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

    def _pick_sheet(self, spec: SheetSpec) -> str | None:
        names_this = _field_keys(spec).names_this_sheet
        matches = [(name, visible) for name, visible in self.book.sheets if names_this[name]]
        visible = [m for m in matches if m[1]]
        pool = visible or matches
        if not pool:
            self.finding(Severity.ERROR, "missing-sheet", sheet_label=spec.label, sheet_number=spec.number)
            return None
        if len(pool) > 1:
            names = "、".join(f"“{n}”" for n, _ in pool)
            self.finding(Severity.ERROR, "sheet-ambiguous", sheet=pool[0][0], sheet_label=spec.label, detail=names)
            return None
        return pool[0][0]

    def _read_sheet(self, spec: SheetSpec, grid: Grid) -> SheetData | None:
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
        key_field = spec.key_field.key
        key_col = columns[key_field]
        field_items = [(k, c) for k, c in columns.items() if k != key_field]
        keys = [k for k, _ in field_items]
        col_index = [c for _, c in field_items]
        letters = [column_letter(c) for c in col_index]
        count_units = _field_keys(spec).count_units
        unit_of = [count_units.get(k) for k in keys]  # None: a computed column
        first_field_col = min(col_index)
        rows = grid.rows
        formulas = grid.formula_without_value
        # First the rows: which hold a township, which a 合计, which nothing to read. Then the
        # values, a column at a time: a column of whole numbers converts at C speed.
        kept: list[int] = []  # the rows whose values are read, townships and 合计 alike
        totals: set[int] = set()  # their positions in `kept` that are 合计 rows
        township_at: list[int] = []
        townships: list[str] = []
        r = header_row + 1
        while r < len(rows):
            raw = rows[r]
            n = len(raw)
            has_formula = bool(formulas) and any((r, c) in formulas for c in col_index)
            if raw.count("") == n and not has_formula:
                r += 1  # an empty row: the commonest row that holds no township
                continue
            if _has_footer(raw):
                break
            key_text = raw[key_col] if key_col < n else ""
            key_text = _clean_str(key_text) if key_text.__class__ is str else _clean_text(key_text)
            if key_text:
                if key_text in _COLUMN_CODES:
                    r += 1
                    continue
                is_total = _is_total(key_text)
            else:
                values_raw = [raw[c] if c < n else "" for c in col_index]
                if (not has_formula and all(_blank(v) for v in values_raw)) or _is_code_row(values_raw, col_index):
                    r += 1
                    continue
                is_total = any(_is_total(_clean_text(grid.value(r, c))) for c in range(first_field_col) if c != key_col)
            if is_total:
                totals.add(len(kept))
            else:
                if not key_text:
                    self.finding(Severity.ERROR, "township-missing", sheet=grid.name, cell=cell_ref(r, key_col),
                                 field=key_field)
                    key_text = f"（第{r + 1}行）"
                elif len(key_text) > MAX_NAME:
                    self.finding(Severity.ERROR, "township-too-long", sheet=grid.name, cell=cell_ref(r, key_col),
                                 field=key_field, value=display(key_text))
                    key_text = key_text[:MAX_NAME] + "…"
                township_at.append(len(kept))
                townships.append(key_text)
            kept.append(r)
            r += 1
        self._collect_people(grid, r)  # a footer may sit anywhere below the table
        total_at = min(totals) if totals else -1
        total_recomputed = False
        value_columns: list[tuple] = []
        total_values = {}
        picked = [rows[k] for k in kept]
        width = max(col_index) + 1
        if picked and min(map(len, picked)) < width:
            picked = [row if len(row) >= width else [*row, *[""] * (width - len(row))] for row in picked]
        by_column = list(zip(*picked)) if picked else [()] * width
        townships_only = itemgetter(*township_at) if len(township_at) > 1 else None
        for j, c in enumerate(col_index):
            cells = by_column[c]
            unit = unit_of[j]
            formula_at = {i for i, k in enumerate(kept) if (k, c) in formulas} if formulas else ()
            values = _whole_counts(cells) if unit is not None and not formula_at else None
            if values is None:
                values = []
                for i, v in enumerate(cells):
                    if i in formula_at:
                        if i in totals:
                            total_recomputed = True
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
            if total_at >= 0:
                total_values[keys[j]] = values[total_at]
            if not totals:
                value_columns.append(tuple(values))
            else:
                value_columns.append(townships_only(values) if townships_only else tuple(values[i] for i in township_at))
        total_row = kept[total_at] + 1 if total_at >= 0 else 0
        township_column = column_letter(key_col)
        if total_recomputed and total_row:
            self.finding(Severity.INFO, "total-recomputed", sheet=grid.name, cell=f"{township_column}{total_row}")
            total_row, total_values = 0, {}
        return SheetData(
            spec.key, grid.name, township_column, dict(zip(keys, letters)), tuple(townships),
            tuple(kept[i] + 1 for i in township_at),
            dict(zip(keys, value_columns)), total_row, total_values,
        )

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
            for label, pattern in _PEOPLE_LINES:
                m = label in text and pattern.search(text)
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
                self.finding(
                    Severity.ERROR, "unit-conflict",
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


def _has_footer(raw: list) -> bool:
    for v in raw:
        if v.__class__ is str and v and _is_footer_text(v):
            return True
    return False


@lru_cache(maxsize=16384)
def _is_footer_text(text: str) -> bool:
    # A township's name comes back in every return: each cell text is asked about once.
    return _FOOTER.match(text) is not None


def _whole(word: str, text: str) -> bool:
    """`表1` is in `表1走访情况` but not in `表10`."""
    if not word:
        return False
    start = text.find(word)
    while start >= 0:
        end = start + len(word)
        before = text[start - 1] if start > 0 else ""
        after = text[end] if end < len(text) else ""
        if not (before.isdigit() and word[0].isdigit()) and not (after.isdigit() and word[-1].isdigit()):
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


@lru_cache(maxsize=16384)
def _is_total(text: str) -> bool:  # asked of every township's name
    return text in _TOTAL_WORDS or (len(text) <= 6 and (text.endswith("合计") or text.endswith("总计")))


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
        self.names_this_sheet = _Memo(lambda name: any(_whole(w, normalise_label(name)) for w in sheet_names))
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
