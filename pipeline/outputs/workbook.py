"""consolidated.xlsx: totals by province, city and county, every township row with its source,
the findings and the roster, written by the small xlsx writer (township rows as cached blocks).
The totals are formulas over the rows beneath them (formulas.py), their values cached; each
明细 row says where its figures stand in the county's sheet; 汇总信息 says what the workbook is."""

from __future__ import annotations

import pickle
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..model import SEVERITY_LABEL, STATUS_LABEL, Finding, Roster
from ..spec import wording
from ..spec.consolidated import (  # noqa: F401 (PROVINCE_LEVEL: run.report)
    ABOUT_SHEET,
    CITY_LEVEL,
    COUNTY_SHEET,
    FINDINGS_SHEET,
    PROVINCE_LEVEL,
    ROSTER_SHEET,
)
from ..spec.form import Form
from ..stages.compare import Comparison
from ..stages.consolidate import Totals
from .formulas import cell_range, county_figure_maker, detail_spans, detail_title, level_figures, shown
from .tables import (
    _unit_values,
    comparison_columns,
    explanation_of,
    previous_label,
    roster_rows,
)

if TYPE_CHECKING:  # the writer (and xml.sax, which pulls in http and ssl) loads when a workbook is made
    from .xlsx_writer import Block



def consolidated_xlsx(form: Form, totals: Totals, roster: Roster, findings: list[Finding],
                      blocks: dict[str, dict[tuple, Block]] | None = None,
                      comparison: Comparison | None = None,
                      explained: dict[tuple[str, str], str] | None = None,
                      about: dict[str, str] | None = None) -> bytes:
    """The office's own workbook: totals by level, every township row with its source, findings,
    roster, and what the workbook is (`about`: level, cutoff, round, and for a city's run the
    province above it, parent_code and parent_name). `blocks` are the township rows as made by
    `township_blocks`, made here when not given. In a city's run the form is the city's (its
    region the city, its "cities" the counties), and the rows are labelled so."""
    from .xlsx_writer import BlockSheet, OutSheet, write_xlsx

    if blocks is None:
        blocks = township_blocks(form, totals, roster)
    sheets: list[OutSheet | BlockSheet] = []

    def widths(header: list[str], columns: list) -> list[float]:
        out = []
        for name, column in zip(header, columns):
            longest = max([len(str(name))] + [len(str(shown(v))) for v in column[:200] if v is not None])
            out.append(max(6, min(40, longest * 1.6 + 2)))
        return out

    def sheet(title: str, header: list[str], rows: list[list]) -> None:
        s = OutSheet.from_rows(title, header, rows, [])
        sheets.append(OutSheet(title, header, s.columns, widths(header, s.columns)))

    keys = list(form.field_keys)
    labels = [wording.cn_quotes(form.field(k).full_label) for k in keys]
    rate_labels = [wording.cn_quotes(r.label) for r in form.rates]

    about = about or {}
    city_run = about.get("level") == CITY_LEVEL
    level_rows = [["市（州）" if city_run else "全省", form.region_code, form.region_name,
                   *_unit_values(totals.province, [])[:2]]]
    level_rows += [[form.city_noun, code, c["name"], int(c["units_expected"]), int(c["units_included"])]
                   for code, c in totals.city_records]
    for row, figures in zip(level_rows, level_figures(form, totals, COUNTY_SHEET)):
        row += figures
    compared: list[str] = []
    if comparison is not None:
        compared = [f"{label}{part}" for label in labels for part in ("（上期）", "（增减）")]
        # whole numbers as int and None for none already: as they are
        for row, more in zip(level_rows, comparison_columns(form, totals, comparison)):
            row += more
    sheet("全省及市州", ["层级", "代码", "名称", "应报单位数", "已汇总单位数", *labels, *rate_labels, *compared], level_rows)
    county_header = ["代码", "名称", "市（州）", "状态", *labels, *rate_labels, *compared]
    rows = blocks.get(COUNTY_SHEET)
    if rows is None:
        rows = county_blocks(form, totals, comparison, about)
    first = county_rows(form, totals, comparison, about, range(min(200, len(totals.county_records))))
    sheets.append(BlockSheet(COUNTY_SHEET, county_header, list(rows.values()),
                             widths(county_header, [list(c) for c in zip(*first)] or [[] for _ in county_header])))
    names = {code: c["name"] for code, c in totals.county_records}
    for spec in form.sheets:
        header = ["县代码", "县名称", "文件", "工作表", "行", "乡镇", *[wording.cn_quotes(f.full_label) for f in spec.count_fields],
                  "单元格"]
        first = _township_columns(spec, totals.townships[spec.key].iloc[:200], names)
        sheets.append(BlockSheet(detail_title(form, spec.key), header, list(blocks[spec.key].values()),
                                 widths(header, first) + [14]))
    # A warning the county answered in its 上报说明 shows as 已说明, with the county's words.
    words = [explanation_of(f, explained) for f in findings]
    # The 指标 a clerk reads is the form's label; the rule keeps its stable code, to filter by.
    label_of = {f.key: wording.cn_quotes(f.full_label) for s in form.sheets for f in s.fields}
    sheet(FINDINGS_SHEET, ["级别", "文件", "县代码", "工作表", "单元格", "指标", "规则代码", "说明", *(["上报说明"] if explained else [])],
          [[f"{SEVERITY_LABEL[f.severity]}（已说明）" if said else SEVERITY_LABEL[f.severity], f.file, f.county_code, f.sheet,
            f.cell, label_of.get(f.field, f.field), f.rule, f.message, *([said] if explained else [])]
           for f, said in zip(findings, words)])
    roster_header = ["代码", "名称", "市（州）", "状态", "采用文件", "被替代文件", "填报日期", "填表人", "联系电话", "错误", "需核实",
                     "选用说明", "数据来源"]
    rows = roster_rows(roster)
    if city_run:  # each county its own group in the run, its city the run's, as 县（市、区） says
        rows = [[*row[:2], form.region_name, *row[3:]] for row in rows]
    if comparison is not None:
        roster_header.append("上期状态")
        rows = [row + [previous_label(comparison, u.code)] for row, u in zip(rows, roster.units)]
    sheet(ROSTER_SHEET, roster_header, rows)
    sheet(ABOUT_SHEET, ["项目", "内容"], about_rows(form, totals, about))
    return write_xlsx(sheets)


def about_rows(form: Form, totals: Totals, about: dict[str, str]) -> list[list]:
    """What the workbook is, for a reader and for another run (a city's consolidated workbook
    sent up, or this run's own old output): a key a row in column A, its value in B. A reader
    looks a key up by its name, never by its row."""
    p = totals.province
    level = about.get("level", PROVINCE_LEVEL)
    if level == CITY_LEVEL:
        how = (f"各{form.unit_noun}的数字是其在“乡镇明细”中各行的合计（公式），{form.region_name}的是所辖"
               f"{form.unit_noun}的合计；")
    else:
        how = (f"各{form.unit_noun}的数字是其在“乡镇明细”中各行的合计（公式），各{form.city_noun}的是其所辖"
               f"{form.unit_noun}的合计，{form.region_name}的是各{form.city_noun}的合计；")
    return [
        ["工作簿", WORKBOOK_MARK],
        ["层级", level],
        ["单位代码", form.region_code],
        ["单位名称", form.region_name],
        ["上级单位代码", about.get("parent_code", "")],
        ["上级单位名称", about.get("parent_name", "")],
        ["报表", wording.cn_quotes(form.title)],
        ["报表代码", form.key],
        ["报表版本", form.version],
        ["截至", about.get("cutoff", "")],
        ["轮次", about.get("round", "")],
        ["应报单位数", int(p["units_expected"])],
        ["已汇总单位数", int(p["units_included"])],
        ["说明", how + "乡镇明细的“单元格”是该行各项数字在县级报表中的位置，按本表各列的顺序。"],
    ]


WORKBOOK_MARK = "汇总工作簿（consolidated.xlsx），由县级报表汇总程序生成"


def county_rows(form: Form, totals: Totals, comparison: Comparison | None, about: dict[str, str] | None,
                among) -> list[list]:
    """The rows of 县（市、区） for the counties at positions `among` (of totals.county_records):
    code, name, city, status, figures and rates (formulas), then the comparison's columns."""
    city_run = (about or {}).get("level") == CITY_LEVEL
    records = totals.county_records
    figures = county_figure_maker(form, totals)
    more = comparison_columns(form, totals, comparison)[1 + len(totals.city_records):] if comparison is not None else None
    out = []
    for i in among:
        code, c = records[i]
        # in a city's run each county is its own group: the city it belongs to is the run's
        out.append([code, c["name"], form.region_name if city_run else c["city_name"], STATUS_LABEL[c["status"]],
                    *figures(i, code, c), *(more[i] if more is not None else ())])
    return out


def county_blocks(form: Form, totals: Totals, comparison: Comparison | None = None, about: dict[str, str] | None = None,
                  kept: dict[tuple, Block] | None = None, keys: list[tuple] | None = None) -> dict[tuple, Block]:
    """The rows of 县（市、区） as XML, a block per county, in order, keyed by all that decides one:
    its row, its values as totalled, its rows in each 明细 sheet (which its SUMs name), what the
    comparison adds and whose run it is. A block `kept` from an earlier run is used as it is: a
    re-run writes only the rows of the counties whose figures or place changed (a county's row
    is 31 formulas; 3,000 of them took a third of a second). `keys`: county_keys, worked out
    already."""
    kept = kept or {}
    keys = keys if keys is not None else county_keys(form, totals, comparison, about)
    todo = [i for i, key in enumerate(keys) if key not in kept]
    made = dict(zip([keys[i] for i in todo], _county_made(form, totals, comparison, about, todo)))
    return {key: made[key] if key in made else kept[key] for key in keys}


def county_share(form: Form, totals: Totals, comparison: Comparison | None, about: dict[str, str] | None,
                 kept: dict[tuple, Block], share: tuple[int, int], keys: list[tuple] | None = None) -> dict[tuple, Block]:
    """Share k of n (`share`) of the county rows `kept` lacks, by key: n processes making one
    share each make them all, and county_blocks takes them as kept."""
    keys = keys if keys is not None else county_keys(form, totals, comparison, about)
    todo = [i for i, key in enumerate(keys) if key not in kept]
    k, n = share
    part = todo[k * len(todo) // n:(k + 1) * len(todo) // n]
    return dict(zip([keys[i] for i in part], _county_made(form, totals, comparison, about, part)))


def county_keys(form: Form, totals: Totals, comparison: Comparison | None, about: dict[str, str] | None) -> list[tuple]:
    """Each county row's key: everything that decides the row."""
    spans = detail_spans(totals)
    more = comparison_columns(form, totals, comparison)[1 + len(totals.city_records):] if comparison is not None else None
    place = (about or {}).get("level", ""), form.region_name
    # As bytes (pickled): a rate with nothing to divide is missing (NA, or NaN), which equals
    # nothing, not even itself, where its bytes do; and pickling 3,000 rows took an eighth of the
    # time repr did (2 ms against 19). Equal rows pickled otherwise (a value shared, say) only
    # make a row again.
    return [(COUNTY_SHEET, i, code, _as_key(tuple(c.values())), tuple(spans[s.key].get(code) for s in form.sheets),
             _as_key(more[i]) if more is not None else b"", place)
            for i, (code, c) in enumerate(totals.county_records)]


def _as_key(values) -> bytes:
    return pickle.dumps(values, protocol=5)


def _county_made(form: Form, totals: Totals, comparison: Comparison | None, about: dict[str, str] | None,
                 todo: list[int]) -> list[Block]:
    from .xlsx_writer import row_blocks

    return row_blocks(county_rows(form, totals, comparison, about, todo), [], [(0, 1)] * len(todo)) if todo else []


def township_blocks(form: Form, totals: Totals, roster: Roster,
                    kept: dict[tuple, Block] | None = None,
                    letters: dict[tuple[str, str], dict[str, str]] | None = None,
                    made: dict[tuple, Block] | None = None) -> dict[str, dict[tuple, Block]]:
    """Per sheet of the form, the township rows of consolidated.xlsx as XML, one block per
    standing return, in order; each row ends with where its figures stand in the county's
    sheet (`letters`: per file and sheet key, each field's column as the reader found it).
    A block is keyed by all that decides it (sheet, county code and name, the file's name and
    SHA-256, which fix the columns too), so a block `kept` from an earlier run is used as it
    is; `made`: blocks made elsewhere for this run (return_blocks), taken as they are."""
    kept, made = kept or {}, made or {}
    names = {code: c["name"] for code, c in totals.county_records}
    out: dict[str, dict[tuple, Block]] = {}
    for spec, t, keys, bounds in _township_returns(form, totals.townships, names, _digests(roster)):
        todo = [i for i, key in enumerate(keys) if key not in made and not _trusted(key, kept)]
        fresh = dict(zip([keys[i] for i in todo], _township_made(spec, t, [bounds[i] for i in todo], names, letters)))
        out[spec.key] = {key: fresh.get(key) or made.get(key) or kept[key] for key in keys}
    return out


def _trusted(key: tuple, kept: dict[tuple, Block]) -> bool:
    return key in kept and bool(key[-1])  # a block of a file with no hash: nothing to trust


def return_blocks(form: Form, townships: dict[str, pd.DataFrame], names: dict[str, str], digests: dict[str, str],
                  letters: dict[tuple[str, str], dict[str, str]] | None) -> dict[tuple, Block]:
    """The township blocks of the returns whose rows `townships` holds (per sheet, as
    consolidate.township_rows gives them), by key, before anyone knows which returns will
    stand: made while the returns are validated and chosen, they are used as made for those
    that stand (a block's key says all it depends on), and the others' are not used."""
    out: dict[tuple, Block] = {}
    for spec, t, keys, bounds in _township_returns(form, townships, names, digests):
        out |= zip(keys, _township_made(spec, t, bounds, names, letters))
    return out


def _digests(roster: Roster) -> dict[str, str]:
    return {u.source.path: u.source.sha256 for u in roster.units if u.source}


def _township_returns(form: Form, townships: dict[str, pd.DataFrame], names: dict[str, str], digests: dict[str, str]):
    """Per sheet of the form: its spec, its township rows, and per return (whose rows come
    together) its block's key and its rows [start, end)."""
    for spec in form.sheets:
        t = townships[spec.key]
        files = t["file"].to_numpy()
        # Rows come return by return: a block starts wherever the file changes.
        starts = [0, *(np.flatnonzero(files[1:] != files[:-1]) + 1).tolist()] if len(files) else []
        bounds = list(zip(starts, [*starts[1:], len(files)]))
        codes = t["code"].to_numpy()[starts].tolist()
        keys = [(spec.key, code, names.get(code, ""), file, digests.get(file, ""))
                for code, file in zip(codes, files[starts].tolist())]
        yield spec, t, keys, bounds


def _township_made(spec, t, spans: list[tuple[int, int]], names: dict[str, str],
                   letters: dict[tuple[str, str], dict[str, str]] | None) -> list[Block]:
    """The blocks of the returns whose rows of `t` are `spans`, in order."""
    from .xlsx_writer import row_blocks

    if not spans:
        return []
    rows = t.iloc[np.concatenate([np.arange(a, b) for a, b in spans])] if sum(b - a for a, b in spans) < len(t) else t
    ends = np.cumsum([b - a for a, b in spans]).tolist()
    columns = _township_columns(spec, rows, names)
    fields = [f.key for f in spec.count_fields]
    found = letters or {}
    # a return's columns are the same on every row: its 单元格 worked out once, the row put in after
    patterns = {file: cell_range([found.get((file, spec.key), {}).get(k, "") for k in fields], "{row}")
                for file in dict.fromkeys(columns[2])}
    columns.append([patterns[file].replace("{row}", str(row)) for file, row in zip(columns[2], columns[4])])
    # code, name, file and sheet are the same on every row of a return: written once a block
    lead = [[column[a] for column in columns[:4]] for a in [0, *ends[:-1]]]
    return row_blocks(lead, columns[4:], list(zip([0, *ends[:-1]], ends)))


def _township_columns(spec, t, names: dict[str, str]) -> list[list]:
    codes = t["code"].tolist()
    return [codes, [names.get(c, "") for c in codes], t["file"].tolist(), t["sheet"].tolist(),
            t["row"].tolist(), t["township"].tolist(),
            *[t[f.key].to_numpy(dtype=object, na_value=None).tolist() for f in spec.count_fields]]

