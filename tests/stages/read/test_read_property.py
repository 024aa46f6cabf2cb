"""The reader's promise, as a property: whatever combination of a clerk's habits decorates a
return (notes under the table, remarks, spaced labels, the 汇总 label, spare template rows,
zero-hiding formulas, hidden and chart sheets; and as clerks rebuild tables: sheets renamed
Sheet1 or after the county, the tables stacked on one sheet, a units row, a 其中 row, the total
labelled 全县 or with the county's own name, footnote marks, an old column hidden beside its
correction; and as other systems export them: counts written 零, with zero-width spaces or a
unit word's synonym), the figures read equal the figures written, or the return carries a
finding that names the cell."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.utils import get_column_letter

from pipeline.outputs.formbook import Layout, workbook_bytes
from tests.builders import numbers_of, read_one
from tests.habits import (
    OUTCOMES,
    PARTS,
    PROBLEMS,
    _chart_sheet,
    _computed_columns,
    as_string_result,
    breakdown_row,
    built,
    column,
    edit_part,
    stack_sheets,
    units_row,
)

NAMES = ["城关镇", "新庄乡", "石岭镇", "东湾镇", "马坞乡", "柳林镇", "金川街道", "河西堡镇"]
NOTE_WORDS = ["注", "说明", "数据来源", "备注", "注1"]
TOTALS = ["合计", "合  计", "合　　计", "汇总", "总计", "全县合计", "合计：", "合计（户）", "累计", "Total",
          "全县", "全 区", "城关区", "城关区合计", "合计※", "合计①", "全县（注1）"]
SHEET_NAMES = [None, ("Sheet1", "Sheet2", "Sheet3"), ("工作表1", "工作表2", "工作表3"), ("城关区", "城关区(2)", "城关区(3)"),
               ("Sheet3", "Sheet1", "Sheet2")]

note = st.builds(lambda w, colon, body: f"{w}{colon}{body}", st.sampled_from(NOTE_WORDS), st.sampled_from([":", "："]),
                 st.text(alphabet="本表数据截至年月日各乡镇填报县双联办审核1234567890。，；", min_size=0, max_size=120))
remark = st.one_of(st.just(""), st.sampled_from(["注:已核实", "注：含新并入村", "说明：见附件", "数据来源：统计站", "已核对"]))


@st.composite
def returns(draw, form):
    n = draw(st.integers(1, len(NAMES)))
    fields = [f.key for f in form.count_fields]
    rows = [{"township": NAMES[i]} | {k: draw(st.integers(0, 10**6)) for k in fields} for i in range(n)]
    stacked = draw(st.booleans())
    habits = {
        "total_label": draw(st.sampled_from(TOTALS)),
        "remarks": [draw(remark) for _ in range(n)],
        "notes": draw(st.lists(note, max_size=3)),
        "spaced_footer": draw(st.booleans()),
        # A stacked sheet is a new workbook's: no template's part of the sheet XML to edit.
        "spare": 0 if stacked else draw(st.integers(0, 3)),
        "zero_hiding": set() if stacked else draw(st.sets(st.tuples(st.integers(0, n - 1), st.sampled_from(fields)),
                                                            max_size=6)),
        "hidden_sheet": draw(st.booleans()),
        "chart_sheet": draw(st.booleans()),
        "sheet_names": draw(st.sampled_from(SHEET_NAMES)),
        "stacked": stacked,
        "units_row": draw(st.booleans()),
        "breakdown": draw(st.booleans()),
        "old_column": draw(st.booleans()),
        "footnote": draw(st.sets(st.integers(0, n - 1), max_size=2)),
        "spelled": draw(st.sets(st.tuples(st.integers(0, n - 1), st.sampled_from(fields),
                                          st.sampled_from(["零", "〇", "zero-width", "synonym"])), max_size=6)),
    }
    return rows, habits


def decorated(form, units, rows, h) -> tuple[bytes, list[dict]]:
    """The workbook as the clerk sent it, and the township figures it shows."""
    written = [dict(r, township=r["township"] + ("①" if i in h["footnote"] else "")) for i, r in enumerate(rows)]
    shown = [dict(r) for r in rows]
    spelled = {(i, key): style for i, key, style in sorted(h["spelled"])}  # one spelling a cell
    for (i, key), style in spelled.items():
        unit = form.field(key).unit
        if style in ("零", "〇"):
            written[i][key], shown[i][key] = style, 0
        elif style == "synonym" and form.reader.units_for(unit)[1:]:
            written[i][key] = f"{rows[i][key]}{form.reader.units_for(unit)[1]}"
        else:
            written[i][key] = f"\u200b{rows[i][key]}\ufeff"
    wb, plans = built(form, units, written, layout=Layout(extra_columns=("备注",), total_label=h["total_label"]))
    edits: dict[str, list] = {}
    plans = rebuilt(wb, form, plans, shown, h)
    for spec in form.sheets:
        plan = plans[spec.key]
        name = f"{spec.number}{spec.label}"
        ws = wb[name]
        for i, text in enumerate(h["remarks"]):
            if text:
                ws.cell(plan.first_data + i, plan.width, text)
        if h["spaced_footer"]:
            for c in range(1, plan.width + 1):
                v = ws.cell(plan.footer_row, c).value
                if isinstance(v, str):
                    ws.cell(plan.footer_row, c, v.replace("填表人", "填 表 人").replace("审核人", "审　核　人"))
        for i, key in h["zero_hiding"]:
            if key in plan.columns:
                ref = f"{column(plan, key)}{plan.first_data + i}"
                ws[ref] = f'=IF({ref}>0,1,"")'
                edits.setdefault(PARTS[name], []).append(as_string_result(ref))
                shown[i][key] = 0
    if h["spare"]:
        edits.setdefault(PARTS[PROBLEMS], []).extend(_computed_columns(wb, plans, rows, h["spare"]))
    for spec in form.sheets:
        ws = wb[f"{spec.number}{spec.label}"]
        for text in h["notes"]:
            ws.cell(ws.max_row + 1, 1, text)
    if h["footnote"]:
        for spec in form.sheets:
            ws = wb[f"{spec.number}{spec.label}"]
            ws.cell(ws.max_row + 1, 1, "①含新并入的村")
    if h["stacked"]:
        wb, _ = stack_sheets(wb)
    elif h["sheet_names"]:
        for ws, name in zip(list(wb.worksheets), h["sheet_names"]):
            ws.title = name
    if h["hidden_sheet"]:
        old = wb.create_sheet("表1(旧)")
        old["A1"], old.sheet_state = "乡镇", "hidden"
    if h["chart_sheet"]:
        _chart_sheet(wb, "图表1")
    data = workbook_bytes(wb)
    for part, part_edits in edits.items():
        for edit in part_edits:
            data = edit_part(data, part, edit)
    return data, shown


def rebuilt(wb, form, plans, rows, h) -> dict:
    """The structural habits, made first (the plans moved to match): a units row under each
    header, a 其中 row under the last township, and an old column of 帮办实事数 hidden at the
    right of 表三 under the same header."""
    if h["units_row"]:
        units_row(wb, form, plans)
        plans = {k: replace(p, first_data=p.first_data + 1, last_data=p.last_data + 1, total_row=p.total_row + 1,
                            footer_row=p.footer_row + 1) for k, p in plans.items()}
    if h["breakdown"]:
        hidden = {k for i, k in h["zero_hiding"] if i == len(rows) - 1}  # shown as blank: 0
        for spec in form.sheets:
            p = plans[spec.key]
            breakdown_row(wb[f"{spec.number}{spec.label}"], spec, p, p.last_data, "其中：贫困乡镇",
                          {f.key: 0 if f.key in hidden else rows[-1][f.key] // 3 for f in spec.count_fields})
        plans = {k: replace(p, total_row=p.total_row + (p.total_row > p.last_data), footer_row=p.footer_row + 1)
                 for k, p in plans.items()}
    if h["old_column"]:
        p = plans["outcomes"]
        ws = wb[OUTCOMES]
        at = p.width + 1
        ws.cell(p.header_top, at, "帮办实事数")
        ws.merge_cells(start_row=p.header_top, start_column=at, end_row=p.header_bottom, end_column=at)
        for i in range(len(rows)):
            ws.cell(p.first_data + i, at, i + 1000)
        ws.column_dimensions[get_column_letter(at)].hidden = True
    return plans


def test_figures_read_are_figures_written_or_a_finding_names_the_cell(form, units):
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(returns(form))
    def check(case):
        rows, habits = case
        data, shown = decorated(form, units, rows, habits)
        with tempfile.TemporaryDirectory() as folder:
            (Path(folder) / "620102_城关区.xlsx").write_bytes(data)
            result = read_one(Path(folder), form, units)
        named = {(f.sheet, f.cell) for f in result.findings}
        got = numbers_of(result.ret, form)
        for spec in form.sheets:
            sheet = result.ret.sheets[spec.key]
            read = dict(got[spec.key])
            assert sorted(read) == sorted(r["township"] for r in shown), result.findings  # no township lost or made up
            at = {name: k for k, name in enumerate(sheet.townships)}
            for r in shown:
                for f in spec.count_fields:
                    if read[r["township"]][f.key] != r[f.key]:
                        assert (sheet.name, sheet.cell(f.key, at[r["township"]])) in named, (spec.key, r, f.key)
        # None of these habits is a mistake: nothing to fix, nothing rejected; the hidden old
        # column is a warning that names it, a table known by its title or header an info.
        assert not [f for f in result.findings if f.severity.value == "error"], result.findings
        warned = {f.rule for f in result.findings if f.severity.value == "warning"} - {"sheet-all-zero"}
        assert warned <= ({"column-hidden-duplicate"} if habits["old_column"] else set()), result.findings
        assert ("column-hidden-duplicate" in warned) == habits["old_column"]
        assert (result.ret.filled_by, result.ret.reviewed_by) == ("王丽", "陈强")

    check()
