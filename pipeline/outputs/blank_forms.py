"""Blank county templates, generated from the form declaration: the right return made easy.

Identity cells filled in, headers locked, every count cell validated as a whole number ≥ 0,
the rules Excel can express (such as 已整改 ≤ 排查数 and 走访 ≤ 总数 ) as custom validations, a 合计 row
of formulas, and a 填报说明 sheet written from the same declaration. Pure: returns bytes.
"""

from __future__ import annotations

import csv
from pathlib import Path

from openpyxl.styles import Alignment, Font, Protection
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from ..spec.form import Form, SheetSpec
from ..spec.labels import cn_quotes
from ..spec.units import Unit
from .formbook import Layout, SheetPlan, build_with_plans, workbook_bytes

DEFAULT_BLOCK = 30
SPARE_ROWS = 3
UNLOCKED = Protection(locked=False)


def blank_form(form: Form, unit: Unit, townships: list[str] | None = None, link: str = "") -> bytes:
    names = list(townships or [])
    rows = [{"township": n} for n in names] + [{} for _ in range(SPARE_ROWS if names else DEFAULT_BLOCK)]
    key_fields = {s.key_field.key for s in form.sheets}
    rows = [{k: r.get("township") for k in key_fields} for r in rows]
    wb, plans = build_with_plans(form, unit, rows, filed_on=None,
                                 layout=Layout(total_formulas=True, identity_rows=2, explanation=True), people=("", "", ""))
    for spec in form.sheets:
        _decorate(wb[f"{spec.number}{spec.label}"], spec, plans[spec.key])
    _instructions(wb.create_sheet("填报说明", 0), form)
    if link:
        _link(wb["填报说明"], link)
    wb.active = 1
    return workbook_bytes(wb)


def _decorate(ws, spec: SheetSpec, plan: SheetPlan) -> None:
    first, last = plan.first_data, plan.last_data
    # The date goes in the cell after its label, as a real date.
    ws.cell(plan.identity_row, plan.date_col, "填报日期：").alignment = Alignment(horizontal="right")
    date_cell = ws.cell(plan.identity_row, plan.date_col + 1)
    date_cell.protection = UNLOCKED
    date_cell.number_format = 'yyyy"年"m"月"d"日"'
    dv = DataValidation(type="date", operator="greaterThan", formula1="36526", allow_blank=True,
                        showErrorMessage=True, errorTitle="日期有误", error="请填写填报日期，例如 2016-12-5。",
                        showInputMessage=True, promptTitle="填报日期", prompt="例如 2016-12-5")
    dv.add(date_cell.coordinate)
    ws.add_data_validation(dv)

    for field in spec.fields:
        col = plan.columns[field.key]
        letter = get_column_letter(col)
        for r in range(first, last + 1):
            cell = ws.cell(r, col)
            cell.protection = UNLOCKED
            if not field.is_key:
                cell.number_format = "0"
        if field.is_key:
            continue
        rng = f"{letter}{first}:{letter}{last}"
        rule = next((r for r in spec.rules if r.field == field.key), None)
        unit = f"（单位：{field.unit}）" if field.unit else ""
        if rule:
            bound = next(f for f in spec.fields if f.key == rule.not_above)
            b = get_column_letter(plan.columns[rule.not_above])
            cell0, bound0 = f"{letter}{first}", f"{b}{first}"
            dv = DataValidation(
                type="custom", formula1=f"AND(ISNUMBER({cell0}),INT({cell0})={cell0},{cell0}>=0,{cell0}<=N({bound0}))",
                allow_blank=True, showErrorMessage=True, errorTitle="输入有误",
                error=f"{field.full_label}须为非负整数，且不得大于{bound.full_label}。",
            )
        else:
            dv = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                                showErrorMessage=True, errorTitle="输入有误", error=f"{field.full_label}须为非负整数，没有请填0。")
        dv.showInputMessage = True
        dv.promptTitle = field.label[:32]
        dv.prompt = f"填写{field.full_label}{unit}，整数，没有请填0。"[:255]
        dv.add(rng)
        ws.add_data_validation(dv)

    if plan.footer_row:
        for c in range(1, plan.width + 1):
            ws.cell(plan.footer_row, c).protection = UNLOCKED
    if plan.explanation_row:
        answer = ws.cell(plan.explanation_row, 2)
        answer.protection = UNLOCKED
        answer.alignment = Alignment(wrap_text=True, vertical="top")
        dv = DataValidation(type="textLength", operator="lessThanOrEqual", formula1="200", allow_blank=True,
                            showInputMessage=True, promptTitle="上报说明",
                            prompt="数据经核实无误而被提示需核实的（如累计数比上期减少），请在此简要说明原因。")
        dv.add(answer.coordinate)
        ws.add_data_validation(dv)
    ws.protection.sheet = True  # no password: it guards against slips, not against the county
    ws.protection.formatColumns = False  # a clerk may still widen a column
    ws.protection.formatRows = False
    _a4_landscape_one_page_wide(ws)
    ws.print_title_rows = f"{plan.header_top}:{plan.header_bottom}"
    ws.page_margins.left = ws.page_margins.right = 0.4
    for key, col in plan.columns.items():
        ws.column_dimensions[get_column_letter(col)].width = 14 if key in {f.key for f in spec.fields if f.is_key} else 11


def _instructions(ws, form: Form) -> None:
    lines: list[tuple[str, str, str]] = [
        (cn_quotes(f"{form.title}统计表 填报说明"), "", ""),
        ("", "", ""),
        ("一、基本要求", "", ""),
        ("1. 请在本表样上直接填写，不要增删、移动表头和列，不要改动工作表名称。", "", ""),
        ("2. 每个乡镇（街道）填一行，乡镇名称不重复；空行可以留着，合计行自动计算。", "", ""),
        ("3. 所有数字填非负整数，不要带单位、小数或文字；没有的填0。", "", ""),
        ("4. 填写填报日期、填表人、审核人和联系电话后，保存为.xlsx报送。", "", ""),
        ("", "", ""),
        ("二、指标说明", "", ""),
        ("表 / 指标", "单位", "要求"),
    ]
    for spec in form.sheets:
        lines.append((f"{spec.number} {spec.label}", "", ""))
        for f in spec.count_fields:
            rule = next((r for r in spec.rules if r.field == f.key), None)
            need = "非负整数"
            if rule:
                bound = next(x for x in spec.fields if x.key == rule.not_above)
                need += f"，不得大于{quoted(bound.full_label)}"
            lines.append((f"  {f.full_label}", f.unit, need))
    lines += [
        ("", "", ""),
        ("三、审核规则", "", ""),
        ("1. 有错误的报表将被退回：数字不是非负整数、违反上表的大小关系、合计行不等于各乡镇之和、乡镇重复。", "", ""),
        ("2. 需核实的情况：各表所列乡镇不一致、未填填报日期。", "", ""),
        *([(f"   需核实的数据经核实无误的，不要改动，请在该表下方的{quoted(form.explanation_label)}栏简要说明原因。", "", "")]
          if form.explanation_label else []),
    ]
    coverage = [c for s in form.sheets for c in s.coverage]
    if coverage:
        goals = "、".join(f"{c.noun}应达到{c.minimum * 100:g}%" for c in coverage)
        lines.append((f"3. {goals}。", "", ""))
    for row in lines:
        ws.append(list(row))
    ws["A1"].font = Font(bold=True, size=14)
    for r, (a, _, _) in enumerate(lines, start=1):
        if a.startswith(("一、", "二、", "三、", "表 / 指标")) or (a and not a.startswith((" ", "1", "2", "3", "4"))):
            ws.cell(r, 1).font = Font(bold=True)
    ws.column_dimensions["A"].width = 70
    ws.column_dimensions["B"].width = 8
    ws.column_dimensions["C"].width = 40
    _a4_landscape_one_page_wide(ws)


def quoted(text: str) -> str:
    """“text”, its own quotation marks turned inner (‘’), as Chinese nests them: never ““六个精准”…”."""
    return "“" + text.replace("“", "‘").replace("”", "’") + "”"


def _a4_landscape_one_page_wide(ws) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def load_township_lists(path: str | Path) -> dict[str, list[str]]:
    """county_code → township names, from a CSV with columns county_code and township."""
    out: dict[str, list[str]] = {}
    with open(path, encoding="utf-8-sig", newline="") as f:
        for row in csv.DictReader(f):
            name = (row.get("township") or row.get("name") or "").strip()
            if name:
                out.setdefault(row["county_code"].strip(), []).append(name)
    return out


def blank_forms(form: Form, units: list[Unit], townships: dict[str, list[str]] | None = None,
                links: dict[str, str] | None = None) -> dict[str, bytes]:
    """`links`: each unit's submission page (links.csv), written on its 填报说明 sheet."""
    return {f"{u.code}_{u.name}.xlsx": blank_form(form, u, (townships or {}).get(u.code), (links or {}).get(u.code, ""))
            for u in units}


def _link(ws, url: str) -> None:
    """The unit's own submission page, under the instructions: upload there, see the result at once."""
    start = ws.max_row + 2
    ws.cell(start, 1, "四、网上报送").font = Font(bold=True)
    ws.cell(start + 1, 1, "填好后，可在本单位专用的报送页上传本表，立即看到审核结果（链接仅限本单位使用，请勿转发）：")
    cell = ws.cell(start + 2, 1, url)
    cell.hyperlink = url
    cell.font = Font(color="0563C1", underline="single")
