"""A township row the sheet hides (by hand, a group of village rows collapsed, a filter; a page's
display:none, Excel 2003 XML's ss:Hidden) is added all the same, though whoever opens the file
does not see it: a reviewer's find, silent in every format. A warning names the rows, once a
sheet, at the first (`township-hidden`); the figures stay the county's."""

from __future__ import annotations

import re

import pytest

from pipeline.outputs.formbook import Layout, workbook_bytes
from tests.builders import clean_rows, expected_numbers, numbers_of, read_one, to_html, to_spreadsheetml
from tests.habits import OUTCOMES, PROBLEMS, VISITS, built, rules, write

SHEETS = (VISITS, PROBLEMS, OUTCOMES)


def _hidden(form, units, how: str = "hand"):
    rows = clean_rows()
    wb, plans = built(form, units, rows, layout=Layout(total="none"))
    for spec in form.sheets:
        ws, plan = wb[f"{spec.number}{spec.label}"], plans[spec.key]
        if how == "group":
            ws.row_dimensions.group(plan.first_data + 1, plan.first_data + 1, outline_level=1, hidden=True)
        else:
            ws.row_dimensions[plan.first_data + 1].hidden = True
    return rows, wb, plans


@pytest.mark.parametrize("how", ["hand", "group"])
def test_a_hidden_township_row_in_a_workbook_is_a_warning_at_it(tmp_path, form, units, how):
    rows, wb, plans = _hidden(form, units, how)
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    row = plans["visits"].first_data + 1
    assert rules(result) == {("warning", "township-hidden", s, f"A{row}") for s in SHEETS}
    assert f"起有1个乡镇的行被隐藏（“{rows[1]['township']}”），打开表格时看不到，其数字已计入汇总" in result.findings[0].message
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


@pytest.mark.parametrize("kind", ["xls", "ods"])
def test_a_hidden_township_row_saved_by_an_office_suite_is_said_too(tmp_path, form, units, kind):
    from tests.office import read_resaved

    rows, wb, plans = _hidden(form, units)
    result = read_resaved(tmp_path, wb, kind, form, units)
    row = plans["visits"].first_data + 1
    assert {f for f in rules(result) if f[1] == "township-hidden"} == {
        ("warning", "township-hidden", s, f"A{row}") for s in SHEETS}


def test_a_hidden_row_in_a_page_or_excel_2003_xml_is_said(tmp_path, form, units):
    rows, wb, plans = _hidden(form, units)
    shown, _ = built(form, units, rows, layout=Layout(total="none"))
    name = rows[1]["township"]
    page = to_html(workbook_bytes(shown)).decode("utf-8")
    page = re.sub(rf"<tr height=19>(\s*<td>{name}</td>)", r'<tr height=19 style="display:none">\1', page)
    assert page.count("display:none") == 3
    result = read_one_of(tmp_path / "html", form, units, page.encode("utf-8"), "620102_城关区.xls")
    row = plans["visits"].first_data + 1
    assert rules(result) == {("warning", "township-hidden", s, f"A{row}") for s in SHEETS}
    xml = to_spreadsheetml(workbook_bytes(shown)).decode("utf-8")
    xml = re.sub(rf'<Row( ss:Index="\d+")>(<Cell ss:Index="1"><Data ss:Type="String">{name}</Data>)',
                 r'<Row\1 ss:Hidden="1">\2', xml)
    assert xml.count('ss:Hidden="1"') == 3
    result = read_one_of(tmp_path / "xml", form, units, xml.encode("utf-8"), "620102_城关区.xml")
    assert rules(result) == {("warning", "township-hidden", s, f"A{row}") for s in SHEETS}


def read_one_of(folder, form, units, data: bytes, name: str):
    folder.mkdir()
    write(folder, data, name=name)
    return read_one(folder, form, units)


def test_many_hidden_rows_are_one_warning_naming_the_first_five(tmp_path, form, units):
    rows = clean_rows()
    more = [{**rows[0], "township": f"第{n}乡"} for n in "一二三四五六"]
    rows = [rows[0], *more, *rows[1:]]
    wb, plans = built(form, units, rows, layout=Layout(total="none"))
    plan = plans["visits"]
    for r in range(plan.first_data + 1, plan.first_data + 7):
        wb[VISITS].row_dimensions[r].hidden = True
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    [found] = [f for f in result.findings if f.rule == "township-hidden"]
    assert found.cell == f"A{plan.first_data + 1}"
    assert "起有6个乡镇的行被隐藏（“第一乡”、“第二乡”、“第三乡”、“第四乡”、“第五乡”等）" in found.message
