"""consolidated.xlsx: totals by province, city and county, every township row with its source,
the findings and the roster, written by the small xlsx writer (township rows as cached blocks)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..model import SEVERITY_LABEL, STATUS_LABEL, Finding, Roster
from ..spec import wording
from ..spec.form import Form
from ..stages.compare import Comparison
from ..stages.consolidate import Totals
from .tables import (
    _unit_values,
    comparison_columns,
    count_values,
    explanation_of,
    previous_label,
    rate_values,
    roster_rows,
)

if TYPE_CHECKING:  # the writer (and xml.sax, which pulls in http and ssl) loads when a workbook is made
    from .xlsx_writer import Block


def consolidated_xlsx(form: Form, totals: Totals, roster: Roster, findings: list[Finding],
                      blocks: dict[str, dict[tuple, Block]] | None = None,
                      comparison: Comparison | None = None,
                      explained: dict[tuple[str, str], str] | None = None) -> bytes:
    """The office's own workbook: totals by level, every township row with its source, findings, roster.
    `blocks` are the township rows as made by `township_blocks`, made here when not given."""
    from .xlsx_writer import BlockSheet, OutSheet, write_xlsx

    if blocks is None:
        blocks = township_blocks(form, totals, roster)
    sheets: list[OutSheet | BlockSheet] = []

    def widths(header: list[str], columns: list) -> list[float]:
        out = []
        for name, column in zip(header, columns):
            longest = max([len(str(name))] + [len(str(v)) for v in column[:200] if v is not None])
            out.append(max(6, min(40, longest * 1.6 + 2)))
        return out

    def sheet(title: str, header: list[str], rows: list[list]) -> None:
        s = OutSheet.from_rows(title, header, rows, [])
        sheets.append(OutSheet(title, header, s.columns, widths(header, s.columns)))

    keys = list(form.field_keys)
    labels = [wording.cn_quotes(form.field(k).full_label) for k in keys]
    rate_labels = [wording.cn_quotes(r.label) for r in form.rates]

    def numbers(values) -> list:
        # A city none of whose counties is in the sums has no figures, not figures of 0.
        if not int(values["units_included"]):
            return [None] * (len(keys) + len(form.rates))
        out = [_xl(values[k]) for k in keys]
        # The rate as the tables show it, rounded: a number format alone would show 99.996% as 100.00%.
        for r in form.rates:
            out.append(wording.rate_value(sum(int(values[k]) for k in r.numerator), sum(int(values[k]) for k in r.denominator)))
        return out

    level_rows = [["全省", form.region_code, form.region_name, *_unit_values(totals.province, [])[:2], *numbers(totals.province)]]
    level_rows += [["市（州）", code, c["name"], int(c["units_expected"]), int(c["units_included"]), *numbers(c)]
                   for code, c in totals.city_records]
    # The counties a column at a time, as the report's tables (county_rows).
    c = totals.counties
    shown = c["units_included"].to_numpy() > 0
    columns = [c.index.tolist(), c["name"].tolist(), c["city_name"].tolist(),
               [STATUS_LABEL[v] for v in c["status"].tolist()], *(count_values(c[k], shown, None) for k in keys)]
    for r in form.rates:
        columns.append(rate_values(c[list(r.numerator)].sum(axis=1, min_count=len(r.numerator)),
                                   c[list(r.denominator)].sum(axis=1, min_count=len(r.denominator)), shown))
    county_rows = [list(row) for row in zip(*columns)]
    compared: list[str] = []
    if comparison is not None:
        compared = [f"{label}{part}" for label in labels for part in ("（上期）", "（增减）")]
        # whole numbers as int and None for none already: as they are
        for row, more in zip([*level_rows, *county_rows], comparison_columns(form, totals, comparison)):
            row += more
    sheet("全省及市州", ["层级", "代码", "名称", "应报单位数", "已汇总单位数", *labels, *rate_labels, *compared], level_rows)
    sheet("县（市、区）", ["代码", "名称", "市（州）", "状态", *labels, *rate_labels, *compared], county_rows)
    names = {code: c["name"] for code, c in totals.county_records}
    for spec in form.sheets:
        header = ["县代码", "县名称", "文件", "工作表", "行", "乡镇", *[wording.cn_quotes(f.full_label) for f in spec.count_fields]]
        first = _township_columns(spec, totals.townships[spec.key].iloc[:200], names)
        sheets.append(BlockSheet(f"乡镇明细-{spec.label}"[:31], header, list(blocks[spec.key].values()),
                                 widths(header, first)))
    # A warning the county answered in its 上报说明 shows as 已说明, with the county's words.
    words = [explanation_of(f, explained) for f in findings]
    # The 指标 a clerk reads is the form's label; the rule keeps its stable code, to filter by.
    label_of = {f.key: wording.cn_quotes(f.full_label) for s in form.sheets for f in s.fields}
    sheet("问题清单", ["级别", "文件", "县代码", "工作表", "单元格", "指标", "规则代码", "说明", *(["上报说明"] if explained else [])],
          [[f"{SEVERITY_LABEL[f.severity]}（已说明）" if said else SEVERITY_LABEL[f.severity], f.file, f.county_code, f.sheet,
            f.cell, label_of.get(f.field, f.field), f.rule, f.message, *([said] if explained else [])]
           for f, said in zip(findings, words)])
    roster_header = ["代码", "名称", "市（州）", "状态", "采用文件", "被替代文件", "填报日期", "填表人", "联系电话", "错误", "需核实",
                     "选用说明", "数据来源"]
    rows = roster_rows(roster)
    if comparison is not None:
        roster_header.append("上期状态")
        rows = [row + [previous_label(comparison, u.code)] for row, u in zip(rows, roster.units)]
    sheet("报送情况", roster_header, rows)
    return write_xlsx(sheets)


def township_blocks(form: Form, totals: Totals, roster: Roster,
                    kept: dict[tuple, Block] | None = None) -> dict[str, dict[tuple, Block]]:
    """Per sheet of the form, the township rows of consolidated.xlsx as XML, one block per
    standing return, in order. A block is keyed by all that decides it (sheet, county code and
    name, the file's name and SHA-256), so a block `kept` from an earlier run is used as it is."""
    from .xlsx_writer import row_blocks

    kept = kept or {}
    names = {code: c["name"] for code, c in totals.county_records}
    digests = {u.source.path: u.source.sha256 for u in roster.units if u.source}
    out: dict[str, dict[tuple, Block]] = {}
    for spec in form.sheets:
        t = totals.townships[spec.key]
        files = t["file"].to_numpy()
        # Rows come return by return: a block starts wherever the file changes.
        starts = [0, *(np.flatnonzero(files[1:] != files[:-1]) + 1).tolist()] if len(files) else []
        bounds = list(zip(starts, [*starts[1:], len(files)]))
        codes = t["code"].to_numpy()[starts].tolist()
        keys = [(spec.key, code, names.get(code, ""), file, digests.get(file, ""))
                for code, file in zip(codes, files[starts].tolist())]
        todo = [i for i, key in enumerate(keys) if key not in kept or not key[-1]]  # no hash: nothing to trust
        made: list[Block] = []
        if todo:
            spans = [bounds[i] for i in todo]
            rows = t.iloc[np.concatenate([np.arange(a, b) for a, b in spans])] if len(todo) < len(bounds) else t
            ends = np.cumsum([b - a for a, b in spans]).tolist()
            columns = _township_columns(spec, rows, names)
            # code, name, file and sheet are the same on every row of a return: written once a block
            lead = [[column[a] for column in columns[:4]] for a in [0, *ends[:-1]]]
            made = row_blocks(lead, columns[4:], list(zip([0, *ends[:-1]], ends)))
        fresh = iter(made)
        todo_keys = {keys[i] for i in todo}
        out[spec.key] = {key: next(fresh) if key in todo_keys else kept[key] for key in keys}
    return out


def _township_columns(spec, t, names: dict[str, str]) -> list[list]:
    codes = t["code"].tolist()
    return [codes, [names.get(c, "") for c in codes], t["file"].tolist(), t["sheet"].tolist(),
            t["row"].tolist(), t["township"].tolist(),
            *[t[f.key].to_numpy(dtype=object, na_value=None).tolist() for f in spec.count_fields]]


def _xl(v):
    if v is None or wording._isna(v):
        return None
    return int(v)
