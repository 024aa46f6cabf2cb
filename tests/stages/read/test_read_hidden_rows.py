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


# --- figures written in the colour of what is under them ----------------------------------------


def _coloured(form, units, style):
    """表一's first township's 走访农户数 and 表三's second township's whole row styled by `style(cell)`."""
    from openpyxl.utils import get_column_letter

    rows = clean_rows()
    wb, plans = built(form, units, rows, layout=Layout(total="none"))
    v, o = plans["visits"], plans["outcomes"]
    style(wb[VISITS].cell(v.first_data, v.columns["households_visited"]))
    for c in o.columns.values():
        if c != o.columns["township"]:
            style(wb[OUTCOMES].cell(o.first_data + 1, c))
    one = f"{get_column_letter(v.columns['households_visited'])}{v.first_data}"
    first = min(c for c in o.columns.values() if c != o.columns["township"])
    return rows, wb, one, f"{get_column_letter(first)}{o.first_data + 1}"


def _white_font(cell):
    from openpyxl.styles import Font

    cell.font = Font(color="FFFFFF")


def _theme_white(cell):
    from openpyxl.styles import Font
    from openpyxl.styles.colors import Color

    cell.font = Font(color=Color(theme=0))


def _black_on_black(cell):
    from openpyxl.styles import Font, PatternFill

    cell.font, cell.fill = Font(color="FF000000"), PatternFill("solid", fgColor="FF000000")


def _white_format(cell):
    cell.number_format = "[White]0"


@pytest.mark.parametrize("style", [_white_font, _theme_white, _black_on_black, _white_format])
def test_a_figure_in_the_colour_under_it_is_a_warning_naming_its_cells(tmp_path, form, units, style):
    """White on white (a font, the theme's Background 1, a [White] format) or black on black: in
    the cell and in the sums, nowhere on the sheet a clerk opens. Summed as written, as a hidden
    row is, and said once a sheet at the first such cell with how many."""
    rows, wb, one, first = _coloured(form, units, style)
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert rules(result) == {("warning", "figure-unseen", VISITS, one), ("warning", "figure-unseen", OUTCOMES, first)}
    assert f"起有1个数字的字体与单元格底色同色（{one}，如白底白字），在表中看不见，其数字已计入汇总" in result.findings[0].message
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


def _white_on_dark(cell):
    from openpyxl.styles import Font, PatternFill

    cell.font, cell.fill = Font(color="FFFFFF"), PatternFill("solid", fgColor="FF1F4E79")


def _tinted_background(cell):
    from openpyxl.styles import Font
    from openpyxl.styles.colors import Color

    cell.font = Font(color=Color(theme=0, tint=-0.499984740745262))  # Background 1, darker 50%: a grey


@pytest.mark.parametrize("style", [_white_on_dark, _tinted_background])
def test_a_white_font_on_a_dark_fill_or_a_grey_is_seen_and_not_said(tmp_path, form, units, style):
    rows, wb, _, _ = _coloured(form, units, style)
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert result.findings == ()
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


def test_a_row_drawn_no_height_is_a_hidden_row(tmp_path, form, units):
    """ht="0" and no hidden flag, as programs other than Excel write a row folded away."""
    from tests.builders import rewrite_sheet_xml

    rows = clean_rows()
    wb, plans = built(form, units, rows, layout=Layout(total="none"))
    row = plans["visits"].first_data + 1
    data = rewrite_sheet_xml(workbook_bytes(wb), lambda xml: re.sub(rf'<row r="{row}"', f'<row r="{row}" ht="0" customHeight="1"', xml))
    write(tmp_path, data)
    result = read_one(tmp_path, form, units)
    assert rules(result) == {("warning", "township-hidden", s, f"A{row}") for s in SHEETS}
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


def test_a_form_column_the_sheet_hides_is_a_warning_at_its_header(tmp_path, form, units):
    """Its only column hidden (no corrected copy beside it): summed, and never seen."""
    from openpyxl.utils import get_column_letter

    rows = clean_rows()
    wb, plans = built(form, units, rows, layout=Layout(total="none"))
    o = plans["outcomes"]
    letter = get_column_letter(o.columns["role_models"])
    wb[OUTCOMES].column_dimensions[letter].hidden = True
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert rules(result) == {("warning", "column-hidden", OUTCOMES, f"{letter}{o.header_top}")}
    assert "脱贫致富典型数列被隐藏，打开表格时看不到，其数字已计入汇总" in result.findings[0].message
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


@pytest.mark.parametrize("how", ["tbody", "visibility"])
def test_a_pages_rows_hidden_by_their_group_or_their_visibility_are_said(tmp_path, form, units, how):
    rows = clean_rows()
    shown, plans = built(form, units, rows, layout=Layout(total="none"))
    name = rows[1]["township"]
    page = to_html(workbook_bytes(shown)).decode("utf-8")
    if how == "tbody":
        page = re.sub(rf"(<tr height=19>\s*<td>{name}</td>.*?</tr>)", r'<tbody style="display:none">\1</tbody>', page, flags=re.S)
    else:
        page = re.sub(rf"<tr height=19>(\s*<td>{name}</td>)", r'<tr height=19 style="visibility: collapse">\1', page)
    result = read_one_of(tmp_path / "html", form, units, page.encode("utf-8"), "620102_城关区.xls")
    row = plans["visits"].first_data + 1
    assert rules(result) == {("warning", "township-hidden", s, f"A{row}") for s in SHEETS}
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


def test_a_pages_hidden_old_copy_of_a_table_never_beats_the_shown_one(tmp_path, form, units):
    """An old copy kept under the shown table in a display:none <div>, its title in its own
    rows (the shown table's title an <h3> above it): found by its title, it won, and its
    figures were summed."""
    rows = clean_rows()
    old = [dict(r, households_total=r["households_total"] * 2) for r in rows]
    shown, _ = built(form, units, rows, layout=Layout(title=False))
    stale, _ = built(form, units, old)
    page = to_html(workbook_bytes(shown)).decode("utf-8")
    first_old = re.search(r"<table.*?</table>", to_html(workbook_bytes(stale)).decode("utf-8"), re.S).group(0)
    page = page.replace("</body>", f'<div style="display:none">{first_old}</div></body>')
    result = read_one_of(tmp_path / "html", form, units, page.encode("utf-8"), "620102_城关区.xls")
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


@pytest.mark.parametrize("fmt", ["0;-0;[White]0", "#,##0;[White]-#,##0", "General;-General;[White]General"])
def test_a_format_whiting_out_zeros_or_negatives_only_is_no_unseen_figure(tmp_path, form, units, fmt):
    """A zero-hiding format in white: every count of 1 or more shows in black (192 figures were
    said unseen), and a zero whited out adds nothing to a sum."""
    rows = clean_rows()
    rows[0]["villages_newly_linked"] = 0
    wb, plans = built(form, units, rows)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, int):
                    c.number_format = fmt
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert result.findings == ()
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


def test_a_spare_sheet_of_names_and_a_few_numbers_is_no_table_left_unread(tmp_path, form, units):
    """A 联系人 sheet (李明 | 0931… | 139…) or the county's own extra table under its own headings:
    figures-not-read named it, and told the clerk to delete it."""
    rows = clean_rows()
    wb, _ = built(form, units, rows)
    contacts = wb.create_sheet("联系人")
    for r, line in enumerate([("李明", 9318123456, 13909311234), ("王芳", 9318123457, 13909311235)], start=2):
        for c, v in enumerate(line, start=1):
            contacts.cell(r, c, v)
    extra = wb.create_sheet("附表驻村工作队")
    for c, v in enumerate(["乡镇", "驻村工作队数", "队员数", "第一书记数", "其中省派", "其中市派"], start=1):
        extra.cell(1, c, v)
    for r, name in enumerate(["城关镇", "新庄乡"], start=2):
        for c, v in enumerate([name, 3, 9, 3, 1, 1], start=1):
            extra.cell(r, c, v)
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert result.findings == ()


def test_an_ods_column_hidden_in_an_outline_group_is_the_column_it_is(tmp_path, form, units):
    """LibreOffice writes a grouped column inside <table:table-column-group>, which was taken
    for a column itself: every column after it one over, the hidden one never said."""
    from openpyxl.utils import get_column_letter

    from tests.office import read_resaved

    rows = clean_rows()
    wb, plans = built(form, units, rows)
    v = plans["visits"]
    letter = get_column_letter(v.columns["linking_cadres"])
    wb[VISITS].column_dimensions.group(letter, letter, hidden=True, outline_level=1)
    result = read_resaved(tmp_path, wb, "ods", form, units)
    assert ("warning", "column-hidden", VISITS, f"{letter}{v.header_top}") in rules(result)
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)
