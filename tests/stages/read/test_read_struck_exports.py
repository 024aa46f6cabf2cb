"""What an HTML page or Excel 2003 XML strikes through, hides by the `hidden` attribute or
breaks over two lines in a count: read whole, an old figure struck beside its correction ran
into it (<s>218</s> 118 as 218118), and 1<br>45 was 145, with no finding. Each is said at its
cell; a row struck through is struck out, as in a workbook."""

from __future__ import annotations

import re

import pytest

from pipeline.outputs.formbook import Layout, workbook_bytes
from tests.builders import clean_rows, expected_numbers, numbers_of, to_html, to_spreadsheetml
from tests.habits import OUTCOMES, VISITS, built, column, rules
from tests.stages.read.test_read_exports import read_as


def _page(form, units):
    wb, plans = built(form, units, clean_rows(), layout=Layout(total="none"))
    page = to_html(workbook_bytes(wb), numbers_as_xnum=False).decode("utf-8")
    o = plans["outcomes"]
    return page, f"{column(o, 'policy_sessions')}{o.first_data}", o.first_data


@pytest.mark.parametrize("cell, rule, detail", [
    ("<td><s>218</s> 140</td>", "struck-figure", "218"),
    ("<td><del>210</del><br>140</td>", "struck-figure", "210"),
    ("<td><strike>9</strike>140</td>", "struck-figure", "9"),
    ('<td><span style="text-decoration: line-through">218</span> 140</td>', "struck-figure", "218"),
    ("<td>1<br>40</td>", "not-a-count", None),
    ("<td><span hidden>1</span>140</td>", "hidden-text", "1"),
])
def test_a_count_struck_in_part_broken_over_lines_or_hiding_text_is_said_at_its_cell(tmp_path, form, units, cell,
                                                                                        rule, detail):
    page, at, _ = _page(form, units)
    assert "<td>140</td>" in page
    result = read_as(tmp_path, form, units, page.replace("<td>140</td>", cell, 1).encode("utf-8"))
    assert rules(result) == {("error", rule, OUTCOMES, at)}
    if detail:
        assert f"“{detail}”" in result.findings[0].message


def test_a_line_break_is_said_as_one_in_the_message(tmp_path, form, units):
    page, at, _ = _page(form, units)
    result = read_as(tmp_path, form, units, page.replace("<td>140</td>", "<td>1<br>40</td>", 1).encode("utf-8"))
    assert "“1（换行）40”" in result.findings[0].message


@pytest.mark.parametrize("struck", ['<tr style="text-decoration:line-through">\\1<td>{name}</td>',
                                    "<tr>\\1<td><s>{name}</s></td>"])
def test_a_pages_township_row_struck_through_is_struck_out(tmp_path, form, units, struck):
    page, _, _ = _page(form, units)
    name = clean_rows()[0]["township"]
    first = re.compile(rf"<tr height=19>(\s*)<td>{name}</td>")
    assert first.search(page)
    result = read_as(tmp_path, form, units, first.sub(struck.format(name=name), page, count=1).encode("utf-8"))
    assert {(f.rule, f.sheet) for f in result.findings} == {("township-struck-out", VISITS)}


def test_a_headers_and_names_broken_over_lines_read_as_written(tmp_path, form, units):
    rows = clean_rows()
    page, _, _ = _page(form, units)
    name = rows[0]["township"]
    page = page.replace(f"<td>{name}</td>", f"<td>{name[:2]}<br>{name[2:]}</td>", 1)
    result = read_as(tmp_path, form, units, page.encode("utf-8"))
    assert result.findings == ()
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


def _xml(form, units):
    wb, plans = built(form, units, clean_rows(), layout=Layout(total="none"))
    o = plans["outcomes"]
    return to_spreadsheetml(workbook_bytes(wb)).decode("utf-8"), o


def test_excel_2003_xml_rich_text_struck_in_part_is_said_and_a_struck_style_strikes_the_row(tmp_path, form, units):
    text, o = _xml(form, units)
    cell = '<Data ss:Type="Number">140</Data>'
    assert cell in text
    rich = ('<ss:Data ss:Type="String" xmlns="http://www.w3.org/TR/REC-html40"><S>250</S> 140</ss:Data>')
    result = read_as(tmp_path, form, units, text.replace(cell, rich, 1).encode("utf-8"), name="620102_城关区.xml")
    assert rules(result) == {("error", "struck-figure", OUTCOMES, f"{column(o, 'policy_sessions')}{o.first_data}")}
    styled = text.replace("</Styles>", '<Style ss:ID="x1"><Font ss:StrikeThrough="1"/></Style></Styles>', 1)
    styled = styled.replace(f'<Cell ss:Index="{o.columns["policy_sessions"]}">{cell}',
                            f'<Cell ss:Index="{o.columns["policy_sessions"]}" ss:StyleID="x1">{cell}', 1)
    assert 'ss:StyleID="x1">' in styled
    result = read_as(tmp_path / "b", form, units, styled.encode("utf-8"), name="620102_城关区.xml")
    assert ("error", "township-struck-out", OUTCOMES, f"{column(o, 'policy_sessions')}{o.first_data}") in rules(result)
