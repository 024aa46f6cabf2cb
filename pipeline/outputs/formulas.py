"""consolidated.xlsx's figures as formulas, their values cached: a county's figure the SUM of its
own rows in its 乡镇明细 sheet (a return's rows come together), a city's the SUM of its counties'
cells, the province's the SUM of the cities'; a rate a formula of its row's sums. Excel's
追踪引用单元格 (trace precedents) and a click on a total then show where it comes from. Never
SUMIFS over a whole sheet: at 3,000 returns that is ~10¹⁰ comparisons a recalculation.

Only the program writes a formula (`Formula`, which xlsx_writer writes): a county's text is
always text."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..spec import wording
from ..spec.consolidated import DETAIL_PREFIX
from ..spec.form import Form
from ..stages.consolidate import Totals
from ..stages.read.grid import column_letter

DETAIL_FIRST_FIGURE = 6  # 明细 columns: 县代码 县名称 文件 工作表 行 乡镇, then the sheet's figures
COUNTY_FIRST_FIGURE = 4  # 县（市、区） columns: 代码 名称 市（州） 状态, then every figure, then the rates
LEVEL_FIRST_FIGURE = 5  # 全省及市州 columns: 层级 代码 名称 应报单位数 已汇总单位数, then the same


class Formula(NamedTuple):
    """A cell the program computes: `text` without its =, and `value`, what it gives, cached as
    Excel caches it (a number, or "" for an empty text). `percent`: shown as 89.74%. A named
    tuple: a county sheet holds one per figure per county (93,000 at 3,000 returns), and a
    tuple is made and compared in C, a frozen dataclass field by field in Python."""

    text: str
    value: int | float | str
    percent: bool = False


def sheet_reference(name: str) -> str:
    """A sheet's name as a formula or a defined name refers to it: '县（市、区）'!E2."""
    return "'" + name.replace("'", "''") + "'"


def detail_title(form: Form, sheet_key: str) -> str:
    return f"{DETAIL_PREFIX}-{form.sheet(sheet_key).label}"[:31]


def detail_spans(totals: Totals) -> dict[str, dict[str, tuple[int, int]]]:
    """Per sheet of the form, each county's rows in its 明细 sheet (first, last; header row 1):
    a county's standing return's rows, which come together."""
    out: dict[str, dict[str, tuple[int, int]]] = {}
    for key, t in totals.townships.items():
        codes = t["code"].to_numpy()
        if not len(codes):
            out[key] = {}
            continue
        starts = [0, *(np.flatnonzero(codes[1:] != codes[:-1]) + 1).tolist()]
        ends = [*starts[1:], len(codes)]
        out[key] = {codes[a]: (a + 2, b + 1) for a, b in zip(starts, ends)}
    return out


ROW = "\0"  # where a row number goes in a formula written once for every row


def rate_formula(num: list[str], den: list[str], value: float | None) -> Formula:
    """The rate of a row's sums as the tables print it, never 100.00% below 100%: "" with
    nothing to divide. `num`, `den`: the cells summed."""
    n, d = "+".join(num), "+".join(den)
    n, d = (f"({x})" if "+" in x else x for x in (n, d))
    return Formula(f'IF({d}=0,"",IF({n}<{d},MIN(0.9999,ROUND({n}/{d},4)),ROUND({n}/{d},4)))',
                   "" if value is None else value, percent=True)


def county_figures(form: Form, totals: Totals) -> list[list]:
    """Per county (in totals' order), its figures then its rates: a SUM of its 明细 rows for a
    county in the sums (0 where its return has no row in a sheet), nothing for one that is not."""
    figures = county_figure_maker(form, totals)
    return [figures(i, code, c) for i, (code, c) in enumerate(totals.county_records)]


def county_figure_maker(form: Form, totals: Totals, spans: dict[str, dict[str, tuple[int, int]]] | None = None):
    """The function that gives one county's figures and rates, as county_figures lists them:
    f(i, code, values), the county being the i-th of totals.county_records. For a caller that
    needs only some counties' (the rows a re-run has not kept)."""
    spans = spans if spans is not None else detail_spans(totals)
    keys = list(form.field_keys)
    # Per figure, what its SUM says before and between a county's first and last row, and the
    # counties' rows in its sheet: a county's formula is then one f-string.
    sums: dict[str, tuple[str, str, dict]] = {}
    for s in form.sheets:
        title = sheet_reference(detail_title(form, s.key))
        for i, f in enumerate(s.count_fields):
            col = column_letter(DETAIL_FIRST_FIGURE + i)
            sums[f.key] = (f"SUM({title}!{col}", f":{col}", spans[s.key])
    figures = [(k, *sums[k]) for k in keys]
    mine = {k: column_letter(COUNTY_FIRST_FIGURE + i) for i, k in enumerate(keys)}
    # A rate's formula differs from county to county only by its row: written once with a mark
    # where the row goes.
    rates = [(r.numerator, r.denominator, rate_formula([f"{mine[k]}{ROW}" for k in r.numerator],
                                                       [f"{mine[k]}{ROW}" for k in r.denominator], None).text)
             for r in form.rates]
    width = len(keys) + len(form.rates)

    def county(i: int, code: str, c: dict) -> list:
        if c["status"] != "included" or not int(c["units_included"]):
            return [None] * width
        row = str(i + 2)
        cells: list = []
        for k, head, between, rows in figures:
            value = int(c[k])
            span = rows.get(code)
            # no township row in that sheet: a 0 of its own, not a SUM of nothing
            cells.append(value if span is None else Formula(f"{head}{span[0]}{between}{span[1]})", value))
        for numerator, denominator, text in rates:
            value = wording.rate_value(sum(int(c[k]) for k in numerator), sum(int(c[k]) for k in denominator))
            cells.append(Formula(text.replace(ROW, row), "" if value is None else value, True))
        return cells

    return county


def shown(v: object) -> object:
    """What a cell shows: a formula its value (a rate as 89.74%), anything else itself."""
    if type(v) is not Formula:
        return v
    if v.percent and not isinstance(v.value, str):
        return f"{v.value * 100:.2f}%"
    return v.value


def _runs(rows: list[int]) -> list[tuple[int, int]]:
    """Row numbers as runs of consecutive rows: 2, 3, 4, 7 → (2, 4), (7, 7)."""
    out: list[tuple[int, int]] = []
    for r in rows:
        if out and r == out[-1][1] + 1:
            out[-1] = (out[-1][0], r)
        else:
            out.append((r, r))
    return out


def level_figures(form: Form, totals: Totals, county_sheet: str) -> list[list]:
    """The province's row, then each city's (全省及市州): a city's figures the SUM of its
    counties' cells in 县（市、区）, the province's the SUM of the cities' rows; nothing for a
    city none of whose counties is in the sums."""
    keys = list(form.field_keys)
    county_col = {k: column_letter(COUNTY_FIRST_FIGURE + i) for i, k in enumerate(keys)}
    mine = {k: column_letter(LEVEL_FIRST_FIGURE + i) for i, k in enumerate(keys)}
    rows_of: dict[str, list[int]] = {}
    for i, (_, c) in enumerate(totals.county_records):
        rows_of.setdefault(c["city_code"], []).append(i + 2)
    sheet = sheet_reference(county_sheet)

    def rates(values, row: int) -> list:
        return [rate_formula([f"{mine[k]}{row}" for k in r.numerator], [f"{mine[k]}{row}" for k in r.denominator],
                             wording.rate_value(sum(int(values[k]) for k in r.numerator),
                                                sum(int(values[k]) for k in r.denominator)))
                for r in form.rates]

    cities = []
    for i, (code, c) in enumerate(totals.city_records):
        row = i + 3
        if not int(c["units_included"]):
            cities.append([None] * (len(keys) + len(form.rates)))
            continue
        runs = _runs(rows_of.get(code, []))
        cells: list = []
        for k in keys:
            col = county_col[k]
            parts = ",".join(f"{sheet}!{col}{a}" if a == b else f"{sheet}!{col}{a}:{col}{b}" for a, b in runs)
            cells.append(Formula(f"SUM({parts})", int(c[k])))
        cities.append(cells + rates(c, row))
    p = totals.province
    if not int(p["units_included"]):
        return [[None] * (len(keys) + len(form.rates)), *cities]
    last = len(totals.city_records) + 2
    province = [Formula(f"SUM({mine[k]}3:{mine[k]}{last})", int(p[k])) for k in keys] + rates(p, 2)
    return [province, *cities]


def cell_range(letters: list[str], row: int | str) -> str:
    """Where a township's figures stand in the county's sheet, as the clerk sees them, in the
    order of the 明细 sheet's columns: B5:I5 when they stand side by side in that order, else
    each cell (C5,B5,D5…), — for a field whose column was not found."""
    if not letters:
        return ""
    if not all(letters):
        return ",".join(f"{x}{row}" if x else "—" for x in letters)
    numbers = [_column_number(x) for x in letters]
    if numbers == list(range(numbers[0], numbers[0] + len(numbers))):
        return f"{letters[0]}{row}:{letters[-1]}{row}" if len(letters) > 1 else f"{letters[0]}{row}"
    return ",".join(f"{x}{row}" for x in letters)


def _column_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n
