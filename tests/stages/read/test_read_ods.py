"""OpenDocument spreadsheets (.ods), as LibreOffice and WPS on domestic desktops save them:
found by discover, read like .xlsx. The bundled example (every sixth return, a few of every
city's) and the clerks' habits go through LibreOffice in one soffice call and read to the
same figures as the workbooks they came from."""

from __future__ import annotations

import pytest

from pipeline.paths import ROOT
from pipeline.stages.read.sources import read_sources
from pipeline.store.inbox import discover
from tests.builders import expected_numbers, files_in, numbers_of, read_one
from tests.office import convert, habit_returns, write_habit_files

EXAMPLE = sorted((ROOT / "examples" / "gansu-2016").glob("*.xlsx"))[::6]


@pytest.fixture(scope="module")
def as_ods(tmp_path_factory, form, units):
    src = tmp_path_factory.mktemp("written")
    cases = habit_returns(form, units) | _shown_cases(form, units) | {"marked-987": _marked_case(form, units),
                                                                       "in-chinese": _chinese_case(form, units)}
    habit_files = write_habit_files(src, cases)
    out = convert([*EXAMPLE, *habit_files], "ods", tmp_path_factory.mktemp("ods"), tmp_path_factory.mktemp("profile"))
    example = tmp_path_factory.mktemp("example_ods")
    for f in EXAMPLE:
        (example / out[f.name].name).write_bytes(out[f.name].read_bytes())
    return example, {name: (out[f.name], cases[name]) for name, f in zip(cases, habit_files)}


SHOWN = {"wan-typed": (3, '0.0"万"', "“3.0万”"), "thousands-typed": (3000, "#,###,", "“3”"),
         "hidden-typed": (5, ";-0;0", "空白"),
         # a reviewer's finds, summed as the number held with no word: a guess, a count shown as
         # negative, its digits parted
         "guess-typed": (60, '"约"0', "“约60”"), "negative-typed": (60, "(0)", "“(60)”"), "split-typed": (60, "0 0", "“6 0”")}


def _shown_cases(form, units) -> dict:
    """A count formatted to show another number than it holds, as a clerk might in LibreOffice or
    WPS: in 万, in thousands (no word says so), or as nothing at all."""
    from pipeline.outputs.formbook import workbook_bytes
    from tests.builders import clean_rows
    from tests.habits import built, column

    out = {}
    for name, (held, number_format, _) in SHOWN.items():
        rows = clean_rows()
        wb, plans = built(form, units, rows)
        o, ws = plans["outcomes"], wb["表三帮扶成效"]
        typed = ws[f"{column(o, 'role_models')}{o.first_data}"]
        typed.value, typed.number_format = held, number_format
        meant = [dict(r) for r in rows]
        meant[0]["role_models"] = None  # no figure: the finding names the cell
        out[name] = (workbook_bytes(wb), meant, {("error", "count-shown-as", "表三帮扶成效", typed.coordinate)})
    return out


def _marked_case(form, units) -> tuple:
    """A clean return whose first 表三 count is 987, which no other cell holds: a test finds
    that cell in the .ods LibreOffice writes, and edits it."""
    from pipeline.outputs.formbook import workbook_bytes
    from tests.builders import clean_rows
    from tests.habits import built

    rows = clean_rows()
    rows[0]["role_models"] = 987
    wb, _ = built(form, units, rows)
    return workbook_bytes(wb), rows, set()


def _chinese_case(form, units) -> tuple:
    """A count in Excel's Chinese-numeral format ([DBNum1]): 1873 shown as 一千八百七十三, the same
    number, as an .xlsx shows it too (read as held, with no finding)."""
    from pipeline.outputs.formbook import workbook_bytes
    from tests.builders import clean_rows
    from tests.habits import built, column

    rows = clean_rows()
    wb, plans = built(form, units, rows)
    o, ws = plans["outcomes"], wb["表三帮扶成效"]
    ws[f"{column(o, 'role_models')}{o.first_data}"].number_format = "[DBNum1][$-804]General"
    return workbook_bytes(wb), rows, set()


def _as_read(result) -> tuple:
    ret = result.ret
    return (ret.county_code, ret.filed_on, ret.filled_by, ret.reviewed_by, ret.phone,
            {k: (s.townships, s.rows, s.values, s.total_row, s.total) for k, s in ret.sheets.items()},
            sorted((f.rule, f.sheet, f.cell) for f in result.findings))


def test_the_example_round_tripped_through_ods_reads_the_same(as_ods, form, units):
    folder, _ = as_ods
    sources = discover(folder)
    assert [s.path for s in sources] == [f.with_suffix(".ods").name for f in EXAMPLE]
    assert all(s.kind == "xlsx" for s in sources)  # a workbook, told by its content
    ods = read_sources(files_in(folder), form, units)
    xlsx = read_sources(files_in(EXAMPLE[0].parent), form, units)
    by_name = {r.source.path.removesuffix(".xlsx"): r for r in xlsx}
    assert len(ods) == len(EXAMPLE) > 10
    for r in ods:
        assert r.ret is not None, r.findings
        assert _as_read(r) == _as_read(by_name[r.source.path.removesuffix(".ods")]), r.source.path


def test_a_count_shown_in_chinese_numerals_is_the_same_number(as_ods, tmp_path, form, units):
    """The .ods was rejected (count-shown-as 一千八百七十三) while the same .xlsx and .xls were read."""
    import re
    import zipfile

    path = as_ods[1]["in-chinese"][0]
    content = zipfile.ZipFile(path).read("content.xml").decode("utf-8")
    assert re.search(r"<text:p>[一二三四五六七八九十百千]+</text:p>", content)  # LibreOffice wrote the numerals
    _read_as_meant(as_ods, "in-chinese", tmp_path, form, units)


def test_an_ods_written_indented_as_gnumeric_writes_it_reads_the_same(as_ods, tmp_path, form, units):
    """Gnumeric's .ods puts each row and cell on a line of its own: the engine refused it
    ("Cannot detect file format"), and the county was told its file was damaged."""
    import io
    import re
    import zipfile

    import python_calamine as pc

    folder, _ = as_ods
    path = sorted(folder.iterdir())[0]
    src = zipfile.ZipFile(path)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "content.xml":
                body = re.sub(rb"(<table:(?:table-row|table-cell|covered-table-cell)\b)", rb"\n          \1", body)
            dst.writestr(info, body)
    with pytest.raises(Exception, match="Cannot detect"):  # as the engine meets Gnumeric's file
        pc.CalamineWorkbook.from_filelike(io.BytesIO(out.getvalue()))
    (tmp_path / path.name).write_bytes(out.getvalue())
    indented = read_one(tmp_path, form, units)
    (tmp_path / path.name).write_bytes(path.read_bytes())
    plain = read_one(tmp_path, form, units)
    assert indented.findings == plain.findings == ()
    assert _as_read(indented) == _as_read(plain)


@pytest.mark.parametrize("case", ["zero-hiding", "spare-rows", "notes-汇总-spaced-hidden-chart", "filtered-subtotal",
                                  "hidden-subtotal", "blank-template", "error-values", "merged-figure", "percent-typed"])
def test_a_clerks_habits_read_the_same_from_ods(as_ods, case, tmp_path, form, units):
    _read_as_meant(as_ods, case, tmp_path, form, units)


def _read_as_meant(as_ods, case, folder, form, units):
    """The case's .ods read alone: its findings those expected, its figures those the clerk meant."""
    _, cases = as_ods
    path, (_, rows, expected) = cases[case]
    (folder / path.name).write_bytes(path.read_bytes())
    result = read_one(folder, form, units)
    assert {(f.severity.value, f.rule, f.sheet, f.cell) for f in result.findings} == expected, result.findings
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)
    return result


def test_a_formula_an_ods_carries_no_result_for_is_named_at_its_cell(as_ods, tmp_path, form, units):
    """odfpy and programs like it write a formula cell with no result at all (no value type):
    the engine reads it as blank, the office suite the clerk opens it in shows its value. Said
    at its cell, as an .xlsx formula without value is; LibreOffice's own formulas carry theirs."""
    import re

    from tests.habits import column, edit_part

    _, cases = as_ods
    path, _ = cases["marked-987"]

    def uncomputed(xml: str) -> str:
        new, n = re.subn(r'<table:table-cell\b[^>]*office:value="987"[^>]*>.*?</table:table-cell>',
                         '<table:table-cell table:formula="of:=[.B5]*2"/>', xml, flags=re.S)
        assert n == 1
        return new

    (tmp_path / path.name).write_bytes(edit_part(path.read_bytes(), "content.xml", uncomputed))
    result = read_one(tmp_path, form, units)
    from tests.habits import built

    _, plans = built(form, units)
    o = plans["outcomes"]
    cell = f"{column(o, 'role_models')}{o.first_data}"
    assert {(f.severity.value, f.rule, f.sheet, f.cell) for f in result.findings} == {
        ("error", "formula-without-value", "表三帮扶成效", cell)}


def test_a_damaged_ods_is_an_error_not_a_skip(tmp_path, form, units):
    (tmp_path / "620102_城关区.ods").write_bytes(b"PK\x03\x04 not really")
    [source] = discover(tmp_path)
    assert source.kind == "xlsx"
    (tmp_path / "620103_七里河区.ods").write_bytes(b"plain text")
    kinds = {s.path: s.kind for s in discover(tmp_path)}
    assert kinds["620103_七里河区.ods"] == "broken"


@pytest.mark.parametrize("case", sorted(SHOWN))
def test_a_count_an_ods_shows_as_another_number_is_an_error_at_its_cell(as_ods, case, tmp_path, form, units):
    """An .ods keeps its number formats as styles, not codes, but each number cell says what it
    shows: 3 held and 3.0万 shown, 3000 held and 3 shown, 5 held and nothing shown are each the
    clerk's to fix, never read as the number held."""
    result = _read_as_meant(as_ods, case, tmp_path, form, units)
    held, _, shown = SHOWN[case]
    assert f"单元格里是{held}，表中却显示为{shown}" in result.findings[0].message


@pytest.mark.parametrize("case, drawn, code", [("wan-typed", "3", '0.0"万"'), ("thousands-typed", "3000", "#,##0,")])
def test_a_count_whose_style_shows_another_number_is_said_whatever_its_text(as_ods, case, drawn, code, tmp_path,
                                                                           form, units):
    """A program that draws nothing (odfpy) writes the number held as the cell's text, whatever
    its style: the office suite the clerk opens it in shows 3 as 3.0万 all the same. The cell's
    data style says so, and is read when the text agrees with the number."""
    import re

    from tests.habits import edit_part

    _, cases = as_ods
    path, (_, rows, expected) = cases[case]
    held, _, shown = SHOWN[case]

    def undrawn(xml: str) -> str:
        new, n = re.subn(rf'(office:value="{held}"[^>]*>)<text:p>{re.escape(shown.strip("“”"))}</text:p>',
                         rf"\1<text:p>{drawn}</text:p>", xml)
        assert n == 1
        return new

    (tmp_path / path.name).write_bytes(edit_part(path.read_bytes(), "content.xml", undrawn))
    result = read_one(tmp_path, form, units)
    [(_, _, sheet, cell)] = expected
    assert {(f.severity.value, f.rule, f.sheet, f.cell) for f in result.findings} == {
        ("error", "count-shown-otherwise", sheet, cell)}
    assert f"设了单元格格式“{code}”" in result.findings[0].message
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


@pytest.mark.parametrize("style, code", [
    ('<number:number-style style:name="N1"><number:number number:decimal-places="1"/><number:text>万</number:text>'
     "</number:number-style>", '0.0"万"'),
    ('<number:number-style style:name="N1"><number:number number:display-factor="1000" number:grouping="true"/>'
     "</number:number-style>", "#,##0,"),
    ('<number:percentage-style style:name="N1"><number:number/><number:text>%</number:text></number:percentage-style>',
     "0%"),
    ('<number:number-style style:name="N1"><number:number/><number:text>户</number:text></number:number-style>', None),
    ('<number:number-style style:name="N1"><number:number number:display-factor="inf"/></number:number-style>', None),
    ('<number:number-style style:name="N1"><number:number/><number:text>万</number:text>'
     '<style:map style:condition="value()&gt;=0" style:apply-style-name="N1P0"/></number:number-style>', None),
])
def test_which_ods_data_styles_show_a_count_as_another_number(style, code):
    """A cell style takes its data style from itself or its parent; only styles that plainly show
    another number count, none with conditions, and a file's nonsense costs nothing."""
    from pipeline.stages.read.ods import _styles_shown_otherwise

    cells = (b'<style:style style:name="Base" style:family="table-cell" style:data-style-name="N1"/>'
             b'<style:style style:name="ce1" style:family="table-cell" style:parent-style-name="Base"/>')
    found = _styles_shown_otherwise([style.encode() + cells])
    assert found == ({} if code is None else {b"Base": code, b"ce1": code})


@pytest.mark.parametrize("cell, shown", [
    ('office:value-type="float" office:value="1234"><text:p>1,234</text:p>', None),  # grouped as in China
    ('office:value-type="float" office:value="1234"><text:p>1.234,00</text:p>', None),  # a decimal comma
    ('office:value-type="float" office:value="20"><text:p>20,00</text:p>', None),
    ('office:value-type="float" office:value="3000"><text:p>3000户</text:p>', None),  # a unit shows it as it is
    ('office:value-type="currency" office:value="3000"><text:p>¥3,000.00</text:p>', None),
    ('office:value-type="float" office:value="0"><text:p/>', None),  # a 0 hidden reads as 0 all the same
    ('office:value-type="float" office:value="0"><text:p>-</text:p>', None),  # an accounting format's dash
    ('office:value-type="float" office:value="2"><office:annotation><text:p>请核实</text:p></office:annotation>'
     '<text:p>2</text:p>', None),  # a comment (批注) on the cell is no part of what it shows
    ('office:value-type="float" office:value="1234"><text:p>1 234</text:p>', None),
    ('office:value-type="float" office:value="3"><text:p>3.00</text:p>', None),
    ('office:value-type="float" office:value="12"><text:p><text:span>12</text:span></text:p>', None),
    ('office:value-type="float" office:value="3"', None),  # no text written: nothing to compare
    ('office:value-type="string"><text:p>3.0万</text:p>', None),  # text typed is the reader's
    ('office:value-type="float" office:value="3"><text:p>3.0万</text:p>', "3.0万"),
    ('office:value-type="float" office:value="3000"><text:p>3</text:p>', "3"),
    ('office:value-type="float" office:value="3.6"><text:p>4</text:p>', "4"),
    ('office:value-type="float" office:value="5"><text:p/>', ""),
    ('office:value-type="float" office:value="1"><text:p>1&lt;万</text:p>', "1<万"),
    ('office:value-type="currency" office:value="3"><text:p>¥3.0万</text:p>', "¥3.0万"),
    ('office:value-type="float" office:value="3000"><text:p>3.000</text:p>', "3.000"),  # 0.000, in thousands
    ('office:value-type="float" office:value="1234"><text:p>1.234</text:p>', "1.234"),  # dot-grouped: said
    ('office:value-type="float" office:value="3000"><text:p>3千户</text:p>', "3千户"),
])
def test_what_an_ods_number_cell_shows_is_compared_with_what_it_holds(cell, shown):
    from pipeline.stages.read.ods import ods_shown_text

    attrs, _, inner = cell.encode("utf-8").partition(b">")
    found = ods_shown_text(attrs, inner or None)
    assert found == shown and (found is None or type(found).__name__ == "ShownText")


def test_a_number_shown_otherwise_in_repeated_cells_is_each_of_them():
    """A cell repeated across columns, in a row repeated down (as some writers compress an
    .ods), is each of the cells it stands for, however many."""
    from pipeline.stages.read.ods import _ods_merges_and_shown

    cell = ('<table:table-cell table:number-columns-repeated="20" office:value-type="float" office:value="3">'
            '<text:p>3.0万</text:p></table:table-cell>')
    xml = ('<table:table table:name="表三"><table:table-row table:number-rows-repeated="3">'
           f'<table:table-cell/>{cell}</table:table-row></table:table>').encode()
    shown = dict(_ods_merges_and_shown(xml)["表三"].shown_otherwise)
    assert set(shown) == {(r, c) for r in range(3) for c in range(1, 21)} and set(shown.values()) == {"3.0万"}
