"""A township row the clerk struck out and left in place (东岗镇（作废）, 备注: 作废 or 重复) would
be added all the same, which the clerk meant not to: an error at the mark (`township-struck-out`).
Words that only mention such things (重复走访 in a 备注) mark nothing."""

from __future__ import annotations

import pytest

from pipeline.outputs.formbook import Layout, workbook_bytes
from tests.builders import clean_rows, expected_numbers, numbers_of, place, read_one
from tests.habits import OUTCOMES, PROBLEMS, VISITS, built, column, rules, write

SHEETS = {"visits": VISITS, "problems": PROBLEMS, "outcomes": OUTCOMES}


def _note_column(ws, plan) -> str:
    return next(c.column_letter for c in ws[plan.header_top] if c.value == "备注")


@pytest.mark.parametrize("where, written, mark", [
    ("name", "新庄乡（作废）", "作废"),
    ("name", "新庄乡（重复）", "重复"),
    ("name", "新庄乡【已撤并】", "已撤并"),
    ("name", "【作废】新庄乡", "作废"),
    ("name", "新庄乡-重复", "重复"),
    ("name", "新庄乡（含原新庄镇，不重复统计）", ""),
    ("name", "新庄乡（新并入，上年数据已删除）", ""),
    ("note", "作废", "作废"),
    ("note", "此行作废", "此行作废"),
    ("note", "【作废】", "【作废】"),
    ("note", "请删除", "请删除"),
    ("note", "与城关镇重复", "与城关镇重复"),
    ("note", "重复（已并入城关镇）", "重复（已并入城关镇）"),
    ("note", "重复了。", "重复了。"),
    ("note", "重复填报，不计入", "重复填报，不计入"),
    ("note", "此乡镇已撤并", "此乡镇已撤并"),
    ("note", "數據重複", "數據重複"),
    ("note", " 不 计 入 ", "不 计 入"),
    # notes on how the row was counted, which strike nothing out
    ("note", "重复走访较多", ""),
    ("note", "已剔除重复", ""),
    ("note", "不重复统计", ""),
    ("note", "易地搬迁户不计入", ""),
    ("note", "不计入贫困村", ""),
    ("note", "上期数据已删除", ""),
    ("note", "第二轮走访，不计入第一轮", ""),
    ("note", "含2个社区", ""),
    ("note", "与上年同期相比无重复", ""),
    ("note", "", ""),
])
def test_a_struck_out_row_is_an_error_at_its_mark(tmp_path, form, units, where, written, mark):
    rows = clean_rows()
    wb, plans = built(form, units, rows, layout=Layout(total="none", extra_columns=("序号", "备注")))
    cells = {}
    for key, title in SHEETS.items():
        plan, ws = plans[key], wb[title]
        r = plan.first_data + 1  # the second township, 新庄乡
        at = f"{column(plan, 'township')}{r}" if where == "name" else f"{_note_column(ws, plan)}{r}"
        ws[at] = written or None
        cells[title] = at
    write(tmp_path, workbook_bytes(wb))

    result = read_one(tmp_path, form, units)

    if mark:
        assert rules(result) == {("error", "township-struck-out", title, at) for title, at in cells.items()}
        f = next(f for f in result.findings if f.sheet == VISITS)
        name = written if where == "name" else "新庄乡"
        assert f.message == (f"{place('表一', cells[VISITS])}标有“{mark}”，乡镇“{name}”这一行却仍在表中，其数字会计入汇总："
                             f"如这一行不应计入，请删除这一行；如应计入，请去掉“{mark}”后重新报送。")
    else:
        assert result.findings == ()
        assert _figures(numbers_of(result.ret, form)) == _figures(expected_numbers(rows, form))


def _figures(numbers: dict) -> dict:
    """Each table's township rows' figures, their names left aside (a name may carry a note)."""
    return {key: [figures for _, figures in listed] for key, listed in numbers.items()}


def test_a_form_declares_its_own_marks(tmp_path, form, units):
    """Another campaign's clerks write other words: the form's reader declares them."""
    from dataclasses import replace

    reader = replace(form.reader, void_words=("勿计",), void_of_another=())
    other = replace(form, reader=reader)
    wb, plans = built(other, units, layout=Layout(total="none", extra_columns=("序号", "备注")))
    plan, ws = plans["visits"], wb[VISITS]
    ws[f"{_note_column(ws, plan)}{plan.first_data}"] = "勿计"
    ws[f"{_note_column(ws, plan)}{plan.first_data + 1}"] = "作废"  # not this form's word
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, other, units)
    assert [(f.rule, f.cell) for f in result.findings] == [
        ("township-struck-out", f"{_note_column(ws, plan)}{plan.first_data}")]


@pytest.mark.parametrize("written, ending", [
    ("贫困村", "含“贫困”"), ("贫困村（12个）", "含“贫困”"), ("贫困村：", "含“贫困”"), ("贫困户数", "含“贫困”"),
    ("张家村", "以“村”结尾"), ("张家村委会", "以“村委会”结尾"), ("建档立卡户", "以“户”结尾"),
    ("城关镇", ""), ("张家川街道", ""), ("村庄镇", ""), ("五户乡", ""),
])
def test_a_name_no_township_has_is_added_and_asked_about(tmp_path, form, units, written, ending):
    """贫困村 under a township (its breakdown, written without 其中), or 张家村 (a village listed
    under its township): added as a township all the same, so the clerk is asked, at the name."""
    rows = clean_rows()
    extra = {"township": written} | {k: 1 for k in rows[0] if k != "township"}
    written_rows = [*rows, extra]
    wb, plans = built(form, units, written_rows, layout=Layout(total="none"))
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    cells = {(title, f"{column(plans[key], 'township')}{plans[key].first_data + len(rows)}") for key, title in SHEETS.items()}
    if ending:
        assert rules(result) == {("warning", "township-not-a-township", title, at) for title, at in cells}
        f = next(f for f in result.findings if f.sheet == VISITS)
        assert f"{ending}，不像乡镇的名称，已作为一个乡镇计入汇总" in f.message
    else:
        assert result.findings == ()
    assert _figures(numbers_of(result.ret, form)) == _figures(expected_numbers(written_rows, form))  # added, as written


@pytest.mark.parametrize("struck", ["name", "figure", "header"])
def test_a_row_struck_through_is_an_error_at_the_struck_cell(tmp_path, form, units, struck):
    """Strikethrough on a township's name or one of its figures (Ctrl+5 on the row, as a clerk
    strikes a row out on paper): the engine gives the cell as any other, so the workbook's
    styles say it. A struck header is no row's."""
    from openpyxl.styles import Font

    rows = clean_rows()
    wb, plans = built(form, units, rows, layout=Layout(total="none"))
    plan, ws = plans["visits"], wb[VISITS]
    r = plan.first_data + 1
    at = {"name": f"{column(plan, 'township')}{r}", "figure": f"{column(plan, 'households_total')}{r}",
          "header": f"{column(plan, 'households_total')}{plan.header_top}"}[struck]
    ws[at].font = Font(strike=True)
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    if struck == "header":
        assert result.findings == ()
    else:
        assert rules(result) == {("error", "township-struck-out", VISITS, at)}
        assert "标有“删除线”，乡镇“新庄乡”这一行却仍在表中" in result.findings[0].message


@pytest.mark.parametrize("struck", ["all", "part"])
def test_a_name_struck_through_as_text_is_an_error_at_it(tmp_path, form, units, struck):
    """The name's characters selected and struck (rich text, the cell's font plain): struck
    whole, the row is struck out; a part struck (a footnote's mark, say) strikes nothing."""
    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont

    rows = clean_rows()
    wb, plans = built(form, units, rows, layout=Layout(total="none"))
    plan, ws = plans["visits"], wb[VISITS]
    at = f"{column(plan, 'township')}{plan.first_data + 1}"
    plain, strike = InlineFont(), InlineFont(strike=True)
    ws[at] = (CellRichText([TextBlock(strike, "新庄乡")]) if struck == "all"
              else CellRichText([TextBlock(plain, "新庄"), TextBlock(strike, "乡")]))
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    if struck == "all":
        assert rules(result) == {("error", "township-struck-out", VISITS, at)}
    else:
        assert result.findings == ()


@pytest.mark.parametrize("kind", ["xls", "ods"])
def test_a_row_struck_through_in_an_xls_or_ods_is_an_error_too(tmp_path, form, units, kind):
    """The same struck name saved by LibreOffice as .xls (as by Excel 2003: the font's
    strikethrough is in the workbook's FONT records) or .ods (a cell style's text properties)."""
    from openpyxl.styles import Font

    from tests.office import read_resaved

    rows = clean_rows()
    wb, plans = built(form, units, rows, layout=Layout(total="none"))
    plan, ws = plans["visits"], wb[VISITS]
    at = f"{column(plan, 'township')}{plan.first_data + 1}"
    ws[at].font = Font(strike=True)
    result = read_resaved(tmp_path, wb, kind, form, units)
    assert ("error", "township-struck-out", VISITS, at) in rules(result)
    assert [f.cell for f in result.findings if f.rule == "township-struck-out"] == [at]


def test_which_fonts_strike_through():
    from pipeline.stages.read.scans import struck_styles

    styles = (b'<styleSheet><fonts count="4"><font><sz val="11"/></font><font><strike/></font>'
              b'<font><strike val="false"/><b/></font><font><strike val="true"/></font></fonts>'
              b'<cellXfs count="5"><xf numFmtId="0" fontId="0"/><xf fontId="1" numFmtId="0"/>'
              b'<xf numFmtId="0" fontId="2"/><xf numFmtId="0" fontId="3" applyFont="1"></xf><xf numFmtId="0"/></cellXfs>'
              b'<dxfs><dxf><font><strike/></font></dxf></dxfs></styleSheet>')
    assert struck_styles(styles) == frozenset({1, 3})
    assert struck_styles(styles.replace(b"<strike", b"<u")) == frozenset()


@pytest.mark.parametrize("shared", [True, False])
def test_a_count_struck_in_part_as_text_is_an_error_at_it(tmp_path, form, units, shared):
    """An old figure struck through beside its correction, in one cell as rich text (218 struck,
    then 118): read whole, the two ran together as 218118 (a space groups thousands), with no
    finding. A shared string (Excel's way) or an inline one (other writers')."""
    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont

    rows = clean_rows()
    wb, plans = built(form, units, rows, layout=Layout(total="none"))
    plan, ws = plans["visits"], wb[VISITS]
    at = f"{column(plan, 'households_total')}{plan.first_data}"
    ws[at] = CellRichText([TextBlock(InlineFont(strike=True), "2980"), TextBlock(InlineFont(), " 3000")])
    data = workbook_bytes(wb)  # its strings inline
    if shared:
        data = _shared(data, at)
    write(tmp_path, data)
    result = read_one(tmp_path, form, units)
    assert rules(result) == {("error", "struck-figure", VISITS, at)}
    assert "写作“2980 3000”，其中“2980”划了删除线" in result.findings[0].message




def _shared(data: bytes, at: str) -> bytes:
    """The workbook with the first sheet's cell `at` holding its rich text as a shared string,
    as Excel keeps it."""
    import io
    import re
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(data))
    cell = re.compile(rb'<c r="' + at.encode() + rb'"([^>]*?) t="inlineStr"([^>]*)><is>(.*?)</is></c>', re.S)
    m = cell.search(src.read("xl/worksheets/sheet1.xml"))
    assert m
    strings = (b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
               b'main" count="1" uniqueCount="1"><si>' + m.group(3) + b"</si></sst>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                body = cell.sub(lambda m: b'<c r="' + at.encode() + b'"' + m.group(1) + b' t="s"' + m.group(2) + b"><v>0</v></c>",
                                body)
            elif info.filename == "[Content_Types].xml":
                body = body.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                                    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
            elif info.filename == "xl/_rels/workbook.xml.rels":
                body = body.replace(b"</Relationships>", b'<Relationship Id="rIdS" Type="http://schemas.openxmlformats.'
                                    b'org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
                                    b"</Relationships>")
            dst.writestr(info, body)
        dst.writestr("xl/sharedStrings.xml", strings)
    return out.getvalue()
