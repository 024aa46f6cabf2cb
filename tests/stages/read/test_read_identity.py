"""Whose return it is, as clerks write it: the 填报单位 as their office's name, a neighbour's
return copied with its code left in, a township's return forwarded, nothing but the title.
A return is counted for a county only when what it says agrees; otherwise an error names
what disagrees, and the county the file's name gives hears of it."""

from __future__ import annotations

import pytest

from pipeline.outputs.formbook import Layout, workbook_bytes
from pipeline.stages.read.sources import read_source
from tests.builders import clean_rows, files_in
from tests.habits import built

CODE = "620102"  # 城关区, which tests.habits builds


def read_as(tmp_path, form, units, name: str, layout=Layout(), edit=None):
    wb, _ = built(form, units, clean_rows(), layout=layout)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if edit and isinstance(cell.value, str):
                    cell.value = edit(cell.value)
    (tmp_path / name).write_bytes(workbook_bytes(wb))
    [(source, data)] = files_in(tmp_path)
    return read_source(source, data, form, units)


def unit_findings(result) -> set:
    return {(f.severity.value, f.rule, f.county_code) for f in result.findings if f.rule.startswith("unit-")}


@pytest.mark.parametrize("office", ["中共城关区委双联办", "城关区扶贫办", "城关区人民政府", "兰州市城关区委组织部",
                                    "城关区双联行动协调推进领导小组办公室"])
def test_a_填报单位_naming_an_office_of_the_county_is_the_county(tmp_path, form, units, office):
    result = read_as(tmp_path, form, units, "附件2：统计表(1).xlsx", Layout(unit_text=office, show_code=False))
    assert result.ret.county_code == CODE
    assert unit_findings(result) == set()


def test_with_no_填报单位_and_no_code_the_tables_title_names_the_county(tmp_path, form, units):
    result = read_as(tmp_path, form, units, "附件2：统计表.xlsx", Layout(unit_text=" ", show_code=False))
    assert result.ret.county_code == CODE
    assert unit_findings(result) == set()


def test_a_title_naming_another_unit_than_the_files_name_is_never_taken_on_the_name(tmp_path, form, units):
    """城关区's return, with no 填报单位 or code, sent as 七里河区.xlsx: taken on the name, it replaced
    七里河区's own return and 城关区 was counted twice, with no finding."""
    result = read_as(tmp_path, form, units, "七里河区.xlsx", Layout(unit_text=" ", show_code=False))
    assert result.ret.county_code == CODE  # the title's: 七里河区's own return is not superseded by it
    assert unit_findings(result) == {("error", "unit-conflict", "620103")}  # the name's county hears of it
    [f] = [f for f in result.findings if f.rule == "unit-conflict"]
    assert f.message == "文件名是七里河区，表的标题是城关区：请核对填报单位。"


def test_a_file_name_whose_code_and_name_are_two_units_is_neither(tmp_path, form, units):
    """620103_城关区.xlsx with nothing inside to say whose it is: the code once won, silently."""
    result = read_as(tmp_path, form, units, "620103_城关区.xlsx", Layout(title=False, unit_text=" ", show_code=False))
    assert result.ret.county_code == ""
    assert unit_findings(result) == {("error", "unit-conflict", "")}
    [f] = [f for f in result.findings if f.rule == "unit-conflict"]
    assert f.message == "文件名中的代码是620103（七里河区），名称却是城关区：请核对填报单位。"


@pytest.mark.parametrize("name", ["620102_城关区.xlsx", "620102.xlsx", "城关区.xlsx", "620102城关区报表(终稿).xlsx"])
def test_a_file_name_agreeing_with_itself_and_the_title_names_the_unit(tmp_path, form, units, name):
    result = read_as(tmp_path, form, units, name, Layout(unit_text=" ", show_code=False))
    assert result.ret.county_code == CODE
    assert unit_findings(result) == set()


def test_a_title_naming_another_unit_than_the_填报单位_is_a_warning(tmp_path, form, units):
    """七里河区 copied 城关区's return and changed its 填报单位, not its title: read as 七里河区's,
    with no word that the title says otherwise."""
    result = read_as(tmp_path, form, units, "报表.xlsx", Layout(unit_text="七里河区双联办", show_code=False))
    assert result.ret.county_code == "620103"
    assert unit_findings(result) == {("warning", "unit-title-differs", "620103")}
    [f] = [f for f in result.findings if f.rule == "unit-title-differs"]
    assert f.message == "表的标题写的是城关区，填报单位却是七里河区：请核对表中数字是否是本单位的，并改正标题。"


def test_two_units_tables_in_one_workbook_are_said_to_be_two_units(tmp_path, form, units):
    """城关区's three sheets and 七里河区's in one workbook: no sheet could be chosen for any table,
    and the file was said to name no unit and no date, though it names two units and their dates."""
    from openpyxl import load_workbook

    from tests.builders import EXAMPLE

    book = load_workbook(EXAMPLE / "620102_城关区.xlsx")
    other = load_workbook(EXAMPLE / "620103_七里河区.xlsx")
    for ws in book.worksheets:
        ws.title += "1"
    for source in other.worksheets:
        ws = book.create_sheet(source.title + "2")
        for row in source.iter_rows():
            for cell in row:
                ws.cell(cell.row, cell.column, cell.value)
    (tmp_path / "报表.xlsx").write_bytes(workbook_bytes(book))
    [(source, data)] = files_in(tmp_path)
    result = read_source(source, data, form, units)
    assert {f.rule for f in result.findings} == {"sheet-ambiguous", "unit-conflict"}
    [f] = [f for f in result.findings if f.rule == "unit-conflict"]
    assert f.message == "各表填报单位不一致（城关区、七里河区）：请核对填报单位。"


def neighbours_code(text: str) -> str:
    """七里河区's return copied, its code left in: the 填报单位 retyped as 城关区's."""
    return text.replace(f"行政区划代码：{CODE}", "行政区划代码：620103")


@pytest.mark.parametrize("name, county", [("附件2：统计表.xlsx", ""), (f"{CODE}_城关区.xlsx", CODE)])
def test_a_code_that_is_another_countys_is_never_taken_on_trust(tmp_path, form, units, name, county):
    result = read_as(tmp_path, form, units, name, edit=neighbours_code)
    assert result.ret.county_code == county  # never 七里河区's: its own return would be superseded
    assert unit_findings(result) == {("error", "unit-conflict", county)}
    [f] = [f for f in result.findings if f.rule == "unit-conflict"]
    assert f.message == "行政区划代码是620103（七里河区），填报单位却是城关区：请核对填报单位和行政区划代码。"


@pytest.mark.parametrize("office, name, told", [
    ("东岗街道办事处", f"{CODE}_城关区.xlsx", CODE),  # forwarded under the county's file name
    ("城关区东岗镇人民政府", "东岗镇报表.xlsx", CODE),  # the township's own file
    ("东岗乡", "报表.xlsx", ""),
])
def test_a_townships_return_is_never_the_countys(tmp_path, form, units, office, name, told):
    result = read_as(tmp_path, form, units, name, Layout(unit_text=office, show_code=False))
    assert result.ret.county_code == ""  # the county's own return stands, if it sent one
    assert unit_findings(result) == {("error", "unit-is-township", told)}
    [f] = [f for f in result.findings if f.rule == "unit-is-township"]
    assert f.message == (f"填报单位是“{office}”，这是乡镇一级的报表，不能作为本县（市、区）的数字汇总："
                         "请报送本县（市、区）的汇总报表。")


def test_a_填报单位_not_in_the_list_is_named_in_the_finding(tmp_path, form, units):
    result = read_as(tmp_path, form, units, "兰州新区.xlsx", Layout(unit_text="兰州新区双联办", show_code=False, title=True),
                     edit=lambda t: t.replace("城关区", "兰州新区"))
    [f] = [f for f in result.findings if f.rule == "unit-unknown"]
    assert f.message == "无法识别填报单位（“兰州新区双联办”不在县（市、区）名单中）：请在表头填写“填报单位：××县”或行政区划代码。"
