"""A 市（州）'s file in the province's inbox: its counties' returns, each read as that county's.

Cities forward their counties' figures in four shapes, each told by what the file holds:
- each county's tables as sheets named with the county (`表一（安定区）`, `安定区表一`): the sheet
  names name two or more counties;
- a city run's own consolidated.xlsx, known by its 汇总信息 sheet (level 市州): its 乡镇明细 rows
  are its counties' returns, its roster and findings say which it rejected and why;
- one table a sheet with a county column beside the township column;
- a summary with counties as rows instead of townships: the counties' figures as the city
  gives them, with no township detail (`via = "summary"`).
Each county block becomes a source of its own, named like a zip member (`兰州市.xlsx/安定区`), so
every finding names the city's file; its "file name" is the county the city's file gives it,
so the file's own name is neither a fallback nor a conflict, and a 填报单位 naming the city
(no county) agrees with each county. Rows of a county's block keep their row numbers in the
city's sheet: the other counties' rows are left out as empty rows, never renumbered.

An ordinary county's workbook costs nothing here but a look at its sheet names: the content
shapes are tried only on a workbook that, read as one return, names no county or lacks a
township column.
"""

from __future__ import annotations

import re
import traceback
from collections import Counter
from dataclasses import replace
from datetime import date
from functools import partial

from ...model import Finding, ReadResult, Return, Severity, SheetData, Source
from ...spec.consolidated import (
    ABOUT_SHEET,
    CITY_LEVEL,
    COUNTY_SHEET,
    DETAIL_PREFIX,
    FINDINGS_SHEET,
    REJECTED_THERE,
    ROSTER_SHEET,
)
from ...spec.form import Form, SheetSpec
from ...spec.labels import cn_quotes, normalise_label
from ...spec.numbers import NotACount, TooLarge, display, display_header, parse_count
from ...spec.units import Unit, UnitList
from .grid import Book, Grid, cell_ref, column_letter, the_files_problem
from .layout import _whole, field_table, find_header, known_units, units_over
from .pick import BY_NAME, Candidate, SheetPicker
from .sheet import ReturnReader
from .words import RowKind, clean_text, row_words

SUMMARY_ROW = "市州汇总"  # a summary's county row, where a township's name would be
WORKBOOK, SUMMARY = "workbook", "summary"


class CityBook:
    """A city's workbook read county block by county block; `read` gives the workbook's own
    result with each county's as a part. Loads and reads as ReturnReader does (sources.py)."""

    def __init__(self, source: Source, readers: list[ReturnReader], own: tuple[Finding, ...] = (),
                 finish=None, ready: tuple[ReadResult, ...] = ()) -> None:
        self.source, self.readers, self.own, self.finish, self.ready = source, readers, own, finish, ready
        self.faults: dict[int, str] = {}  # a county block's loading that met a fault: its traceback

    def load(self) -> CityBook:
        self.faults = {i: fault for i, r in enumerate(self.readers) if (fault := _alone(r.load)[1])}
        return self

    def read(self) -> ReadResult:
        """Each county's block read by itself: a fault of this program in one block is that
        county's (its part carries the traceback), never the other counties'. A broken file is
        every block's, and the file's finding, as for any workbook."""
        parts = []
        for i, r in enumerate(self.readers):
            part, fault = (None, self.faults[i]) if i in self.faults else _alone(partial(self._part, r))
            parts.append(part if part is not None else ReadResult(r.source, None, (), fault=fault))
        return ReadResult(self.source, None, self.own, (*parts, *self.ready))

    def _part(self, reader: ReturnReader) -> ReadResult:
        return self.finish(reader.read()) if self.finish else reader.read()


def _alone(step):
    """step()'s result and "", or None and the traceback of what it raised, unless that is the
    file's own problem, or a stop, which go on up."""
    try:
        return step(), ""
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as error:  # noqa: BLE001 - one county's block, never its city's others
        if the_files_problem(error):
            raise
        return None, "".join(traceback.format_exception(error))


def reader_for(source: Source, form: Form, units: UnitList, book: Book) -> ReturnReader | CityBook | ReadResult:
    """The reader for a workbook: a county's (ReturnReader), a city's by its sheets (CityBook),
    or an earlier run's output set aside (a ReadResult with its finding)."""
    names = [n for n, _ in book.sheets]
    if any(normalise_label(n) == ABOUT_SHEET for n in names):
        return _consolidated(source, form, units, book)
    blocks, noted = _county_sheets(form, units, book)
    if len(blocks) > 1:
        city = _city_of(units, blocks, source)
        readers: list[ReturnReader] = [
            BlockReader(part_source(source, units.by_code(code), WORKBOOK, city), form, units, book, named)
            for code, named in blocks.items()]
        # A county's sheets whose names name no county (表一（成关区）): left out without a word,
        # its figures lost while the other counties' were read.
        said = tuple(form.finding("county-sheet-unknown", file=source.path, sheet=name, sheet_name=name, value=rest,
                                  unit_noun=form.unit_noun) if not code else
                     form.finding("county-short-name", file=source.path, county=code, sheet=name, value=rest,
                                  unit=units.by_code(code).name)
                     for name, rest, code in noted)
        return CityBook(source, readers, said)
    return ReturnReader(source, form, units, book)


def read(reader: ReturnReader | CityBook) -> ReadResult:
    """The reader's result; a workbook that, read as one return, is no county's is tried as a
    city's table of its counties (a county column) or summary (counties as rows)."""
    result = reader.read()
    if isinstance(reader, CityBook) or result.ret is None or reader.source.via:
        return result
    keys = {spec.key_field.key for spec in reader.form.sheets}
    key_missing = any(f.rule == "missing-column" and f.field in keys for f in result.findings)
    if result.ret.county_code and not key_missing and not _names_a_city(reader):
        return result
    return _by_county_column(reader) or _summary(reader) or result


def _names_a_city(reader: ReturnReader) -> bool:
    """A 填报单位 naming a city and no county: a city's table, whatever its file is called."""
    units = reader.units
    noise = reader.form.name_noise
    unnamed = [text for _, text in reader.identity["name"]
               if units.match_name(text, noise) is None and units.find_in_office(text, noise) is None]
    return any(city in text for text in unnamed for _, city in units.cities)  # a county's own return: nothing to look at


def flattened(results: list[ReadResult]) -> tuple[list[ReadResult], list[Finding]]:
    """Each city workbook's county blocks in its place, the workbook's own findings apart (a
    workbook whose counties were read stands for no county itself); an earlier run's output
    set aside leaves its finding alone."""
    out: list[ReadResult] = []
    own: list[Finding] = []
    for r in results:
        if r.parts or (r.ret is None and any(f.rule == "old-output-file" for f in r.findings)):
            out += r.parts
            own += r.findings
        else:
            out.append(r)
    return out, own


def part_source(source: Source, unit: Unit, via: str, city: str) -> Source:
    return replace(source, path=f"{source.path}/{unit.name}", member=unit.name, via=via, city=city)


def _city_of(units: UnitList, codes, source: Source) -> str:
    """The city whose file it is: its counties' city, or most of them (白银市's file carrying one
    of 兰州市's counties by mistake is still 白银市's); the file's name when no city has most."""
    counted = Counter(units.by_code(c).city_name for c in codes).most_common(2)
    if len(counted) == 1 or (counted and counted[0][1] > counted[1][1]):
        return counted[0][0]
    return source.path.rsplit("/", 1)[-1].rsplit(".", 1)[0]


# --- each county's tables as sheets named with the county -------------------------------


def _county_sheets(form: Form, units: UnitList, book: Book) -> tuple[dict[str, dict[str, list[tuple[str, bool]]]],
                                                                   list[tuple[str, str, str]]]:
    """Per county its sheets by the form's table they name (`表一（安定区）` names 表一 by its
    number, `安定区-走访情况` by its label), when more sheets name a table of the form than the
    form has tables (a county's workbook holds each once, or a spare copy). A county named by its
    short name (表一（榆中）) is found by it; each sheet named with what names no county (表一（成关区）)
    or by a short name is noted, to be said; the city's own total (表一（全市汇总）) is neither."""
    if len(book.sheets) <= len(form.sheets):
        return {}, []  # no more sheets than tables, so none to spare for a second county
    prefixes = form.reader.not_sheet_prefixes
    tables = [(spec.key, field_table(spec).names_this_sheet, normalise_label(spec.number)) for spec in form.sheets]

    def table_of(name: str) -> str:
        text = normalise_label(name)
        return next((key for key, names, number in tables
                     if names[(name, prefixes)] or (number and _whole(number, text, prefixes))), "")

    named = [(n, v, key) for n, v in book.sheets if (key := table_of(n))]
    if len(named) <= len(form.sheets):
        return {}, []
    out: dict[str, dict[str, list[tuple[str, bool]]]] = {}
    # (sheet, what it names besides the table, the county by that short name or ""): said
    noted: list[tuple[str, str, str]] = []
    for name, visible, key in named:
        code = units.find_in_filename(name)
        rest = "" if code else _besides_the_table(form.sheet(key), name)
        if rest and not _the_citys_own(form, units, rest):
            code = units.find_by_short_name(rest)
            noted.append((name, rest, code or ""))
        if code:
            out.setdefault(code, {}).setdefault(key, []).append((name, visible))
    return out, noted


def _the_citys_own(form: Form, units: UnitList, text: str) -> bool:
    """A sheet beside its counties' that names the city's own total (表一（全市汇总）, 表一（兰州市）)."""
    return row_words(form).kind[clean_text(text)] in (RowKind.TOTAL, RowKind.SUBTOTAL) or units.names_city(text)


_NAME_MARKS = re.compile(r"[（）()【】\[\]{}<>《》\-_—–·、，,.。:：\s]+")


def _besides_the_table(spec: SheetSpec, name: str) -> str:
    """What a sheet's name says besides the form's table: 榆中 in 表一（榆中）, 榆中-走访情况."""
    text = normalise_label(name)
    for word in sorted({normalise_label(w) for w in (spec.number, spec.label, f"{spec.number}{spec.label}") if w},
                       key=len, reverse=True):
        text = text.replace(word, " ")
    text = re.sub(r"表\s*\d+", " ", text)
    return _NAME_MARKS.sub("", text)


class BlockReader(ReturnReader):
    """One county's block of a city's workbook: its sheets already told apart by their names."""

    def __init__(self, source: Source, form: Form, units: UnitList, book: Book,
                 named: dict[str, list[tuple[str, bool]]]) -> None:
        super().__init__(source, form, units, book)
        self.named = named

    def load(self) -> BlockReader:
        self.picker = SheetPicker(self.form, self.book)
        self.tables = []
        for spec in self.form.sheets:
            pool = self.named.get(spec.key, [])
            pool = [p for p in pool if p[1]] or pool  # a visible sheet beats a hidden one
            if not pool:
                self.finding("missing-sheet", sheet_label=spec.label, sheet_number=spec.number)
            elif len(pool) > 1:
                self.finding("sheet-ambiguous", sheet=pool[0][0], sheet_label=spec.label,
                             detail="、".join(f"“{n}”" for n, _ in pool))
            else:
                self.tables.append((spec, Candidate(self.picker.grid(pool[0][0]), BY_NAME)))
        return self


# --- a city run's consolidated workbook ---------------------------------------------------


def _consolidated(source: Source, form: Form, units: UnitList, book: Book) -> CityBook | ReadResult:
    about = _label_values(book.loader(next(n for n, _ in book.sheets if normalise_label(n) == ABOUT_SHEET)))
    level, code = str(about.get("层级", "")), str(about.get("单位代码", "")).removesuffix(".0")
    counties = {u.code: u for u in units.units if u.city_code == code}
    if level != CITY_LEVEL or not counties:
        what = f"{about.get('单位名称', '')}的汇总工作簿" if about.get("单位名称") else "汇总工作簿"
        return ReadResult(source, None, (form.finding("old-output-file", file=source.path, detail=what),))
    city = next(iter(counties.values())).city_name
    roster = _table(book, ROSTER_SHEET)
    listed = _table(book, FINDINGS_SHEET)
    details = _detail_grids(form, book)
    rows_of: dict[str, set[int]] = {}
    for name, (grid, header, code_col) in details.items():
        for r in range(header + 1, len(grid.rows)):
            rows_of.setdefault(f"{name}\0{_code_text(grid.value(r, code_col))}", set()).add(r)
    readers: list[ReturnReader] = []
    ready: list[ReadResult] = []
    people: dict[str, dict] = {}
    read: set[str] = set()
    for row in roster:
        unit = counties.get(_code_text(row.get("代码")))
        if unit is None:
            continue
        part = part_source(source, unit, WORKBOOK, city)
        status = str(row.get("状态", ""))
        if status == "已退回":
            ready.append(ReadResult(replace(part, problem=REJECTED_THERE), None,
                                    tuple(_their_findings(form, part, unit, listed, city))))
        elif status == "已报送":
            people[part.path] = row
            read.add(unit.code)
            sheets = [(name, True) for name in details]
            loader = _county_loader(details, rows_of, unit.code)
            readers.append(ReturnReader(part, form, units, Book(sheets, loader, book.data)))
    said = tuple(_unread_details(form, units, source, details, read, counties))
    shown = _county_figures(form, book)

    def finish(r: ReadResult) -> ReadResult:
        r = _as_roster_says(r, people.get(r.source.path, {}))
        return _against_its_row(form, r, shown, city)

    return CityBook(source, readers, said, finish=finish, ready=tuple(ready))


def _unread_details(form: Form, units: UnitList, source: Source, details: dict[str, tuple[Grid, int, int]],
                    read: set[str], counties: dict[str, Unit]):
    """乡镇明细 rows with figures that no county block takes: a 县代码 left blank or naming no
    county of the city's (a row the city added), or a county its 报送情况 does not list as
    已报送 (its row deleted, its 状态 changed). Their figures were left out without a word."""
    for name, (grid, header, code_col) in details.items():
        spec = next(s for s in form.sheets if field_table(s).names_this_sheet[(name, form.reader.not_sheet_prefixes)])
        found = find_header(spec, grid)
        counts = [found.columns[f.key] for f in spec.count_fields if f.key in found.columns]
        left: dict[str, list[int]] = {}
        for r in range(header + 1, len(grid.rows)):
            code = _code_text(grid.value(r, code_col))
            if code not in read and _figures_in(grid, r, counts):
                left.setdefault(code, []).append(r)
        for code, rows in left.items():
            unit = counties.get(code)
            if unit is not None:
                detail, county = f"是{unit.name}的，而“{ROSTER_SHEET}”没有把{unit.name}列为已报送", code
            elif code:
                detail, county = f"的县代码{code}不是本{form.city_noun}所辖{form.unit_noun}的", ""
            else:
                detail, county = "没有县代码", ""
            yield form.finding("city-detail-unread", file=source.path, county=county, sheet=name,
                               cell=cell_ref(rows[0], code_col), count=len(rows), detail=detail)


def _county_figures(form: Form, book: Book) -> dict[str, dict[str, tuple[object, str]]]:
    """The 县（市、区） sheet's figures as the city's workbook shows them (a formula's cached
    result, or a figure typed over it), with their cells, by county code and field."""
    name = next((n for n, _ in book.sheets if normalise_label(n) == normalise_label(COUNTY_SHEET)), None)
    if name is None:
        return {}
    grid = book.loader(name)
    if not grid.rows:
        return {}
    header = [clean_text(v) for v in grid.rows[0]]
    columns = {key: header.index(label) for key in form.field_keys
               if (label := clean_text(cn_quotes(form.field(key).full_label))) in header}
    out = {}
    for r in range(1, len(grid.rows)):
        code = _code_text(grid.value(r, 0))
        if code:
            out[code] = {key: (grid.value(r, c), cell_ref(r, c)) for key, c in columns.items()}
    return out


def _against_its_row(form: Form, result: ReadResult, shown: dict, city: str) -> ReadResult:
    """A county block whose 乡镇明细 rows do not add up to its row in 县（市、区）: a figure typed
    over the row's SUM, the workbook then showing what the tool would not have summed."""
    ret = result.ret
    row = shown.get(ret.county_code) if ret is not None else None
    if not row:
        return result
    differ = []
    for key, (value, cell) in row.items():
        if value is None or value == "":
            continue  # no cached result (a workbook written without one): nothing to compare
        sheet = next((s for s in ret.sheets.values() if key in s.values), None)
        if sheet is None or None in sheet.values[key]:
            continue
        try:
            written = parse_count(value)
        except NotACount:
            written = None
        if written != sum(sheet.values[key]):
            differ.append(form.finding("city-figure-differs", file=result.source.path, county=ret.county_code,
                                       sheet=COUNTY_SHEET, cell=cell, field=key, field_label=form.field(key).full_label,
                                       value=display(value), expected=sum(sheet.values[key]), city=city,
                                       place=form.location(COUNTY_SHEET, cell)))  # the workbook's sheet, no table
    return replace(result, findings=(*result.findings, *differ)) if differ else result


def _label_values(grid: Grid) -> dict[str, object]:
    return {clean_text(row[0]): row[1] for row in grid.rows if len(row) > 1 and clean_text(row[0])}


def _table(book: Book, title: str) -> list[dict[str, object]]:
    """A sheet of the consolidated workbook as records by its header (none when it is absent)."""
    name = next((n for n, _ in book.sheets if normalise_label(n) == title), None)
    if name is None:
        return []
    rows = book.loader(name).rows
    if not rows:
        return []
    header = [clean_text(v) for v in rows[0]]
    return [dict(zip(header, row)) for row in rows[1:]]


def _detail_grids(form: Form, book: Book) -> dict[str, tuple[Grid, int, int]]:
    """Each 乡镇明细 sheet: its grid, its header row and its 县代码 column."""
    prefixes = form.reader.not_sheet_prefixes
    out = {}
    for name, _ in book.sheets:
        if not normalise_label(name).startswith(DETAIL_PREFIX):
            continue
        spec = next((s for s in form.sheets if field_table(s).names_this_sheet[(name, prefixes)]), None)
        if spec is None:
            continue
        grid = book.loader(name)
        header = find_header(spec, grid).row
        code_col = next((c for c, v in enumerate(grid.rows[header] if header >= 0 else [])
                         if clean_text(v) == "县代码"), -1)
        if header >= 0 and code_col >= 0:
            out[name] = (grid, header, code_col)
    return out


def _code_text(v: object) -> str:
    return clean_text(v).removesuffix(".0")


def _county_loader(details: dict[str, tuple[Grid, int, int]], rows_of: dict[str, set[int]], code: str):
    def load(name: str) -> Grid:
        grid, header, _ = details[name]
        return _only_rows(grid, header, rows_of.get(f"{name}\0{code}", set()))
    return load


def _only_rows(grid: Grid, header: int, keep: set[int]) -> Grid:
    """The grid with its rows under the header other than `keep` left empty (row numbers kept)."""
    rows = [row if r <= header or r in keep else [] for r, row in enumerate(grid.rows)]
    return replace(grid, rows=rows)  # all else the sheet's own record says, as it says it


def _as_roster_says(result: ReadResult, row: dict) -> ReadResult:
    """A county block of a consolidated workbook: its 填报日期 and people as the city's roster
    lists them (the 明细 rows carry none)."""
    ret = result.ret
    if ret is None:
        return result
    try:
        filed = date.fromisoformat(clean_text(row.get("填报日期")))
    except ValueError:
        filed = None
    if filed is None:
        return result
    ret = replace(ret, filed_on=filed, filed_month_day=None, filled_by=clean_text(row.get("填表人")),
                  phone=clean_text(row.get("联系电话")))
    return replace(result, ret=ret, findings=tuple(f for f in result.findings if f.rule != "date-missing"))


_SEVERITY = {"错误": Severity.ERROR, "需核实": Severity.WARNING, "提示": Severity.INFO}


def _their_findings(form: Form, part: Source, unit: Unit, listed: list[dict], city: str) -> list[Finding]:
    """A county the city rejected: the city's findings of it, under the county block, each
    naming the county's own file as the city had it."""
    out = []
    for row in listed:
        if _code_text(row.get("县代码")) != unit.code:
            continue
        label = clean_text(row.get("级别")).split("（")[0]
        severity = _SEVERITY.get(label)
        if severity is None:
            continue
        original = clean_text(row.get("文件"))
        message = str(row.get("说明", "") or "")
        if original:
            message += f"（{city}汇总时的文件“{original}”）"
        out.append(Finding(severity, part.path, unit.code, clean_text(row.get("工作表")), clean_text(row.get("单元格")),
                           "", clean_text(row.get("规则代码")), message))
    if not any(f.severity == Severity.ERROR for f in out):
        out.append(form.finding("city-rejected", file=part.path, county=unit.code, city=city))
    return out


# --- one table a sheet, with a county column ----------------------------------------------


def _county_words(form: Form) -> frozenset[str]:
    return frozenset(normalise_label(w) for w in form.reader.county_words)


def _county_column(form: Form, grid: Grid, header: int, taken) -> int:
    words = _county_words(form)
    for r in (header, header - 1):
        if r < 0:
            continue
        for c, v in enumerate(grid.rows[r]):
            if c not in taken and v.__class__ is str and normalise_label(v) in words:
                return c
    return -1


def _county_in(units: UnitList, form: Form, v: object) -> str:
    text = clean_text(v)
    return (units.match_name(text, form.name_noise) or "") if text else ""


def _county_or_short(units: UnitList, form: Form, v: object) -> tuple[str, bool]:
    """The county a city's row names, by its name or, as cities often write it, its name
    without 区 or 县 (榆中 for 榆中县): (code, by the short name); ("", False) for none."""
    code = _county_in(units, form, v)
    if code:
        return code, False
    short = units.find_by_short_name(clean_text(v))
    return short, bool(short)


def _figures_in(grid: Grid, r: int, cols) -> bool:
    """The row holds a figure in one of the count columns: a number, or text other than a none."""
    for c in cols:
        v = grid.value(r, c)
        if v is None or v == "" or isinstance(v, bool):
            continue
        try:
            if parse_count(v) != 0:
                return True
        except NotACount:
            return True
    return False


def _unread_row(form: Form, grid: Grid, r: int, c: int, cols) -> Finding | None:
    """A row a city's table gives figures for under a name that is no county's (兰州新区, 成关区,
    榆中 when two counties share it): its figures would be left out without a word. A 合计 or
    小计 row, a note, a title, or a row without figures is none."""
    text = clean_text(grid.value(r, c))
    if not text or row_words(form).kind[text] != RowKind.TOWNSHIP or not _figures_in(grid, r, cols):
        return None
    return form.finding("county-row-unknown", file="", sheet=grid.name, cell=cell_ref(r, c),
                        value=display(grid.value(r, c)), unit_noun=form.unit_noun)


def _by_county_column(reader: ReturnReader) -> ReadResult | None:
    """Every table of the form in one sheet each, its rows carrying their county in a column of
    their own (written on each row, or once and merged down over the county's townships)."""
    form, units = reader.form, reader.units
    owners: dict[str, tuple[Grid, int, dict[str, set[int]]]] = {}
    said: list[Finding] = []  # the city file's own: rows under names that are no county's
    for spec, grid in ((spec, table.grid) for spec, table in reader.tables):
        header, columns, *_ = find_header(spec, grid)
        if header < 0 or spec.key_field.key not in columns:
            return None
        col = _county_column(form, grid, header, set(columns.values()))
        if col < 0:
            return None
        rows: dict[str, set[int]] = {}
        current = ""
        counts = [columns[f.key] for f in spec.count_fields if f.key in columns]
        for r in range(header + 1, len(grid.rows)):
            v = grid.value(r, col)
            if clean_text(v):
                current, short = _county_or_short(units, form, v)
                if short:
                    said.append(form.finding("county-short-name", file="", sheet=grid.name, cell=cell_ref(r, col),
                                             value=display(v), unit=units.by_code(current).name))
                elif not current and (unread := _unread_row(form, grid, r, col, counts)):
                    said.append(unread)
            if current:
                rows.setdefault(current, set()).add(r)
        owners[spec.key] = (grid, header, rows)
    codes = list(dict.fromkeys(c for _, _, rows in owners.values() for c in rows))
    if not codes:
        return None
    city = _city_of(units, codes, reader.source)
    parts = []
    for code in codes:
        grids = {g.name: _only_rows(g, h, rows.get(code, set())) for g, h, rows in owners.values()}
        book = Book([(g.name, g.visible) for g, _, _ in owners.values()], grids.__getitem__, reader.book.data)
        county = ReturnReader(part_source(reader.source, units.by_code(code), WORKBOOK, city), form, units, book)
        parts.append(county.load().read())
    return ReadResult(reader.source, None, tuple(replace(f, file=reader.source.path) for f in said), tuple(parts))


# --- a summary with counties as rows ------------------------------------------------------


_SUMMARY_SPECS: dict[int, tuple[SheetSpec, SheetSpec]] = {}


def _summary_spec(form: Form, spec: SheetSpec) -> SheetSpec:
    """The sheet with its key column headed by a county word instead of 乡镇, made once."""
    entry = _SUMMARY_SPECS.get(id(spec))
    if entry is None or entry[0] is not spec:
        key = spec.key_field
        by_county = replace(key, label=form.reader.county_words[0], aliases=form.reader.county_words[1:])
        entry = _SUMMARY_SPECS[id(spec)] = (spec, replace(spec, fields=tuple(
            by_county if f.key == key.key else f for f in spec.fields)))
    return entry[1]


def _summary_tables(reader: ReturnReader):
    """Each table of the form in the city's summary, with its sheet and header: the sheet the
    reader chose for it, else any sheet whose header has the county column and all the table's
    counts. A city often writes one sheet, a county a row and every figure of the form across it
    (as the 县（市、区） sheet of a consolidated workbook does): no sheet then names a table, and
    each table is found in it by its columns."""
    chosen = dict(reader.tables)
    others = None
    looked = {table.grid.name for table in chosen.values()}  # their 填报单位 and 填报日期 lines, read already
    for spec in reader.form.sheets:
        wide = _summary_spec(reader.form, spec)
        if spec in chosen:
            grids = [chosen[spec].grid]
        else:
            if others is None:
                others = [reader.picker.grid(name) for name, _ in reader.book.sheets]
            grids = others
        for grid in grids:
            located = find_header(wide, grid)
            if located.row >= 0 and spec.key_field.key in located.columns and all(
                    f.key in located.columns for f in spec.count_fields):
                if grid.name not in looked:
                    looked.add(grid.name)
                    reader._collect_identity(grid, range(located.row))
                yield spec, grid, located
                break


def _summary(reader: ReturnReader) -> ReadResult | None:
    """Counties as rows, no township: each county's figures as the city gives them, one row a
    sheet (its 明细 row says 市州汇总), marked so that township rules pass it by."""
    form, units = reader.form, reader.units
    found: dict[str, dict[str, SheetData]] = {}
    said: list[Finding] = []  # the city file's own: unknown names, its 合计 row (a county's short name is its own)
    repeated: list[Finding] = []
    cells: list[Finding] = []
    headers: list[Finding] = []  # every county's: a header naming another unit (万户) holds for its whole column
    for spec, grid, located in _summary_tables(reader):
        wide = _summary_spec(form, spec)
        header, columns = located.row, located.columns
        key = spec.key_field.key
        for r, c, field, written, rule in units_over(wide, located, columns, form.reader, known_units(form)):
            headers.append(form.finding(rule, file="", sheet=grid.name, cell=cell_ref(r, c), field=field,
                                        field_label=spec.label_of(field), value=display_header(grid.value(r, c)),
                                        detail=written, unit=form.field(field).unit))
        counts = [columns[f.key] for f in spec.count_fields]
        first_row: dict[str, int] = {}
        total_row = -1
        for r in range(header + 1, len(grid.rows)):
            label = grid.value(r, columns[key])
            code, short = _county_or_short(units, form, label)
            if not code:
                text = clean_text(label)
                if text and row_words(form).kind[text] == RowKind.TOTAL and total_row < 0:
                    total_row = r
                elif unread := _unread_row(form, grid, r, columns[key], counts):
                    said.append(unread)
                continue
            if short:
                said.append(form.finding("county-short-name", file="", county=code, sheet=grid.name,
                                         cell=cell_ref(r, columns[key]), value=display(label), unit=units.by_code(code).name))
            if code in first_row:
                # Two rows for one county (another county's row mislabelled, or a row pasted twice):
                # the later replaced the earlier without a word, and the other county went missing.
                repeated.append(form.finding("county-row-repeated", file="", county=code, sheet=grid.name,
                                             cell=cell_ref(r, columns[key]), value=display(label), row=first_row[code] + 1,
                                             unit_noun=form.unit_noun, unit=units.by_code(code).name))
                continue
            first_row[code] = r
            values = {}
            for f in spec.count_fields:
                c = columns[f.key]
                try:
                    values[f.key] = (parse_count(grid.value(r, c), f.unit),)
                except NotACount as e:
                    cells.append(form.finding("count-too-large" if isinstance(e, TooLarge) else "not-a-count",
                                              file="", county=code, sheet=grid.name, cell=cell_ref(r, c), field=f.key,
                                              field_label=spec.label_of(f.key), value=display(grid.value(r, c))))
                    values[f.key] = (None,)
            found.setdefault(code, {})[spec.key] = SheetData(
                spec.key, grid.name, column_letter(columns[key]),
                {f.key: column_letter(columns[f.key]) for f in spec.count_fields}, (SUMMARY_ROW,), (r + 1,), values)
        if total_row >= 0:
            said += _summary_total(form, spec, grid, total_row, columns, [found[c][spec.key] for c in first_row])
    if not found:
        return None
    city = _city_of(units, found, reader.source)
    filed_on, _ = reader._filed_on()
    parts = []
    for code, sheets in found.items():
        source = part_source(reader.source, units.by_code(code), SUMMARY, city)
        own = [replace(f, file=source.path) for f in (*cells, *repeated) if f.county_code == code]
        own += [replace(f, file=source.path) for f in said if f.county_code == code]
        own += [replace(f, file=source.path, county_code=code) for f in headers]
        own.append(form.finding("city-summary", file=source.path, county=code, city=city))
        own += [form.finding("missing-sheet", file=source.path, county=code, sheet_label=s.label, sheet_number=s.number)
                for s in form.sheets if s.key not in sheets]
        if filed_on is None:
            own.append(form.finding("date-missing", file=source.path, county=code))
        ret = Return(source, code, filed_on, sheets, reader.people.get("填表人", ""), reader.people.get("审核人", ""),
                     reader.people.get("联系电话", ""))
        parts.append(ReadResult(source, ret, tuple(own)))
    return ReadResult(reader.source, None, tuple(replace(f, file=reader.source.path) for f in said if not f.county_code),
                      tuple(parts))


def _summary_total(form: Form, spec: SheetSpec, grid: Grid, r: int, columns: dict[str, int],
                   sheets: list[SheetData]) -> list[Finding]:
    """A city summary's 合计 row against the sum of the county rows read: a county row dropped or
    mistyped shows here, as a township's does against a county's 合计."""
    out = []
    for f in spec.count_fields:
        try:
            written = parse_count(grid.value(r, columns[f.key]), f.unit)
        except NotACount:
            continue
        values = [s.values[f.key][0] for s in sheets]
        if None in values or written == sum(values):
            continue
        out.append(form.finding("summary-total-mismatch", file="", sheet=grid.name, cell=cell_ref(r, columns[f.key]),
                                field=f.key, field_label=spec.label_of(f.key), value=written, expected=sum(values),
                                unit_noun=form.unit_noun))
    return out
