"""The returns counties really send: every variant reads to the same numbers as a clean return.

Each case builds a workbook in tmp_path, reads it through discover + read, and compares the
township rows (names and every count) with the figures it was built from. Findings must be
exactly those the spec calls for (a missing 填报日期 is a warning; a 合计 row of uncached
formulas is recomputed, an info).
"""

from __future__ import annotations

import subprocess
import sys
import unicodedata
from dataclasses import replace

import pytest

from pipeline.outputs.formbook import Layout, build_return, workbook_bytes
from pipeline.stages.read.sources import read_source
from pipeline.store.inbox import discover
from tests.builders import (
    clean_rows,
    expected_numbers,
    files_in,
    numbers_of,
    read_one,
    zip_of,
)
from tests.habits import VARIANTS, spelled


@pytest.mark.parametrize("case", VARIANTS, ids=[c[0] for c in VARIANTS])
def test_variant_reads_like_the_clean_return(case, tmp_path, form, units):
    _, layout, spell, post, name, expected_findings = case
    unit = units.by_code("620102")
    rows = clean_rows()
    written = spelled(rows, form, spell) if spell else rows
    data = workbook_bytes(build_return(form, unit, written, layout=layout))
    if post:
        data = post(data)
    (tmp_path / (name or "620102_城关区.xlsx")).write_bytes(data)

    result = read_one(tmp_path, form, units)

    assert {(f.severity.value, f.rule) for f in result.findings} == expected_findings, result.findings
    ret = result.ret
    assert ret.county_code == "620102"
    assert numbers_of(ret, form) == expected_numbers(rows, form)
    if layout.title:
        assert ret.filed_on is not None and (ret.filed_on.month, ret.filed_on.day) == (12, 5)
    assert (ret.filled_by, ret.phone) == ("王丽", "0931-8123456")


def test_blanks_and_dashes_read_as_zero(tmp_path, form, units):
    zero_words = ["—", "-", "/", "无", None, " ", "——"]
    # Only fields that bound no other field, so that a zero breaks no rule.
    bounds = {rule.not_above for spec in form.sheets for rule in spec.rules}
    keys = [k for k in form.field_keys if k not in bounds]
    blanked, expected = [], []
    for i, r in enumerate(clean_rows()):
        b, e = dict(r), dict(r)
        for j, word in enumerate(zero_words):
            key = keys[(i * 5 + j) % len(keys)]
            b[key], e[key] = word, 0
        blanked.append(b)
        expected.append(e)
    (tmp_path / "620102_城关区.xlsx").write_bytes(workbook_bytes(build_return(form, units.by_code("620102"), blanked)))
    result = read_one(tmp_path, form, units)
    assert result.findings == ()
    assert numbers_of(result.ret, form) == expected_numbers(expected, form)


def test_zip_of_returns_is_read_from_the_archive(tmp_path, form, units):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    a = workbook_bytes(build_return(form, units.by_code("620102"), clean_rows()))
    b = workbook_bytes(build_return(form, units.by_code("620103"), clean_rows()))
    (inbox / "兰州市.zip").write_bytes(zip_of({"兰州/620102_城关区.xlsx": a, "兰州/620103_七里河区.xlsx": b, "说明.txt": b"x"}))
    sources = discover(inbox)
    assert [(s.path, s.kind) for s in sources] == [
        ("兰州市.zip/兰州/620102_城关区.xlsx", "xlsx"),
        ("兰州市.zip/兰州/620103_七里河区.xlsx", "xlsx"),
        ("兰州市.zip/说明.txt", "skip"),
    ]
    codes = [read_source(s, data, form, units).ret.county_code for s, data in files_in(inbox)]
    assert codes == ["620102", "620103"]
    assert sorted(p.name for p in inbox.iterdir()) == ["兰州市.zip"]  # nothing extracted


def test_a_cell_that_is_not_a_count_is_an_error_at_that_cell(tmp_path, form, units):
    rows = clean_rows()
    rows[1] = rows[1] | {"households_visited": "约3000", "precision_found": "12.5"}
    (tmp_path / "620102_城关区.xlsx").write_bytes(workbook_bytes(build_return(form, units.by_code("620102"), rows)))
    result = read_one(tmp_path, form, units)
    got = {(f.severity.value, f.rule, f.sheet, f.cell, f.field) for f in result.findings}
    assert got == {
        ("error", "not-a-count", "表一走访情况", "F6", "households_visited"),
        ("error", "not-a-count", "表二问题排查整改", "B6", "precision_found"),
    }
    msg = next(f.message for f in result.findings if f.field == "households_visited")
    assert msg == "表一 第6行 F列的走访农户数为“约3000”，不是非负整数：请填写整数，没有请填0。"


def test_a_township_formula_without_value_is_an_error(tmp_path, form, units):
    wb = build_return(form, units.by_code("620102"), clean_rows())
    wb["表三帮扶成效"]["C5"] = "=B5*2"
    (tmp_path / "620102_城关区.xlsx").write_bytes(workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert [(f.severity.value, f.rule, f.sheet, f.cell) for f in result.findings] == [
        ("error", "formula-without-value", "表三帮扶成效", "C5")]


def test_sheet_names_match_whole_labels(tmp_path, form, units):
    wb = build_return(form, units.by_code("620102"), clean_rows())
    wb["表一走访情况"].title = "表1"
    wb["表二问题排查整改"].title = "表2"
    wb["表三帮扶成效"].title = "表10"  # not 表1, and not 表3 by its name: by its title and header
    (tmp_path / "620102_城关区.xlsx").write_bytes(workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert [(f.rule, f.message) for f in result.findings] == [
        ("sheet-found", f"{form.location('表10', 'A1')}起的表格按其标题和表头认作表三帮扶成效读取。")]
    assert result.ret.sheets["visits"].name == "表1" and result.ret.sheets["outcomes"].name == "表10"
    wb["表10"]["A1"] = None  # no title left, and its header is 表三's alone: still 表三, by its header
    (tmp_path / "620102_城关区.xlsx").write_bytes(workbook_bytes(wb))
    assert [(f.rule, f.cell) for f in read_one(tmp_path, form, units).findings] == [("sheet-found", "A3")]
    for c in ("B", "C", "D"):  # nor with three of its columns gone: missing
        wb["表10"][f"{c}3"] = None
    (tmp_path / "620102_城关区.xlsx").write_bytes(workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert [(f.rule, f.message) for f in result.findings if f.rule != "table-not-read"] == [
        ("missing-sheet", "缺少工作表“帮扶成效”：请按下发的表样填报表三帮扶成效。")]
    # and the sheet that looks like it, which was not read, is named: its figures are in no sum
    assert [(f.rule, f.sheet) for f in result.findings if f.rule == "table-not-read"] == [("table-not-read", "表10")]
    assert set(result.ret.sheets) == {"visits", "problems"}


def test_two_visible_candidates_for_one_sheet_is_an_error(tmp_path, form, units):
    wb = build_return(form, units.by_code("620102"), clean_rows())
    wb.copy_worksheet(wb["表一走访情况"]).title = "走访情况表"
    (tmp_path / "620102_城关区.xlsx").write_bytes(workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert [f.rule for f in result.findings] == ["sheet-ambiguous"]


def _anonymous(form, units, code):
    """The unit's return with nothing inside to say whose: no 填报单位, no code, no title."""
    wb = build_return(form, units.by_code(code), clean_rows())
    name = units.by_code(code).name
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and ("填报单位" in cell.value or "代码" in cell.value or name in cell.value):
                    cell.value = None
    return workbook_bytes(wb)


@pytest.mark.parametrize("path, code", [("七里河.xlsx", "620103"), ("阿克塞/报表.xlsx", "620924")])
def test_a_file_named_by_a_units_short_name_is_taken_as_its_and_said(tmp_path, form, units, path, code):
    """七里河.xlsx, 阿克塞/报表.xlsx with nothing inside to say whose: unit-unknown, the county
    未报送. Taken now, and said, since such a name may be a township's (城关)."""
    (tmp_path / path).parent.mkdir(exist_ok=True)
    (tmp_path / path).write_bytes(_anonymous(form, units, code))
    result = read_one(tmp_path, form, units)
    assert result.ret.county_code == code
    assert [(f.rule, f.severity.value) for f in result.findings if f.rule != "date-missing"] == [
        ("unit-from-short-name", "warning")]


def test_a_short_name_never_overrides_the_content_or_a_folder(tmp_path, form, units):
    """永登县/城关.xlsx, 永登县's return (or a township's with no 填报单位): 城关 is 城关区's short
    name and a 城关镇's too; the content, or the folder, says whose."""
    (tmp_path / "永登县").mkdir()
    (tmp_path / "永登县" / "城关.xlsx").write_bytes(workbook_bytes(build_return(form, units.by_code("620121"),
                                                                                 clean_rows())))
    result = read_one(tmp_path, form, units)
    assert result.ret.county_code == "620121" and result.findings == ()
    (tmp_path / "永登县" / "城关.xlsx").write_bytes(_anonymous(form, units, "620121"))
    result = read_one(tmp_path, form, units)
    assert result.ret.county_code == "620121"
    assert not [f for f in result.findings if f.rule in ("unit-conflict", "unit-from-short-name")]


def test_a_citys_own_table_in_the_county_form_is_said_to_be_the_citys(tmp_path, form, units):
    """兰州市.xlsx, 填报单位 兰州市双联办: it was told to write “填报单位：××县”, no help to a city."""
    wb = build_return(form, units.by_code("620102"), clean_rows())
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and "填报单位" in cell.value:
                    cell.value = "填报单位（盖章）：兰州市双联办"
                elif isinstance(cell.value, str) and ("代码" in cell.value or "城关区" in cell.value):
                    cell.value = None
    (tmp_path / "兰州市.xlsx").write_bytes(workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert [(f.rule, f.county_code) for f in result.findings] == [("unit-is-city", "")]
    assert result.findings[0].message.startswith("填报单位是“兰州市双联办”，这是市（州）一级的报表")


def test_file_name_and_content_disagreeing_is_an_error(tmp_path, form, units):
    data = workbook_bytes(build_return(form, units.by_code("620102"), clean_rows()))
    (tmp_path / "621026_宁县.xlsx").write_bytes(data)
    result = read_one(tmp_path, form, units)
    # The finding is the file-name county's, so it reaches 宁县 even when the file is superseded.
    assert [(f.rule, f.county_code, f.message) for f in result.findings] == [
        ("unit-conflict", "621026", "文件名是宁县，表内填报单位是城关区：请核对填报单位。")]
    assert result.ret.county_code == "620102"


@pytest.mark.parametrize("text, expected", [
    ("2016年12月5日", (2016, 12, 5)), ("2016.12.05", (2016, 12, 5)), ("2016-12-5", (2016, 12, 5)),
    ("2016/12/5", (2016, 12, 5)), ("２０１６年１２月５日", (2016, 12, 5)), ("42709", (2016, 12, 5)),
    ("十二月五日", None), ("2016年13月5日", None),
])
def test_dates(text, expected):
    from pipeline.spec.dates import parse_date

    d = parse_date(unicodedata.normalize("NFKC", text))
    assert (d and (d.year, d.month, d.day)) == expected


def test_tables_dated_differently_are_said_at_the_other_date_and_the_first_is_taken(tmp_path, form, units):
    """The 填报日期 ranks a unit's files (the latest wins): tables dated 12月5日 and 12月6日 took
    the first with no word, and the office could not tell why one file won over another."""
    wb = build_return(form, units.by_code("620102"), clean_rows())
    ws = wb["表三帮扶成效"]
    [cell] = [c for row in ws.iter_rows() for c in row if isinstance(c.value, str) and "填报日期" in c.value]
    first = next(c.value for row in wb["表一走访情况"].iter_rows() for c in row
                 if isinstance(c.value, str) and "填报日期" in c.value)
    cell.value = "填报日期：2016年12月9日"
    (tmp_path / "620102_城关区.xlsx").write_bytes(workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert [(f.rule, f.severity, f.sheet, f.cell) for f in result.findings] == [
        ("date-differs", "warning", "表三帮扶成效", cell.coordinate)]
    day = first.split("：")[1]
    assert f"填报日期为2016年12月9日，与表一走访情况的{day}不一致" in result.findings[0].message
    assert f"{result.ret.filed_on.year}年{result.ret.filed_on.month}月{result.ret.filed_on.day}日" == day


def test_tables_dated_alike_say_nothing_of_it(tmp_path, form, units):
    wb = build_return(form, units.by_code("620102"), clean_rows())
    (tmp_path / "620102_城关区.xlsx").write_bytes(workbook_bytes(wb))
    assert read_one(tmp_path, form, units).findings == ()


HUGE = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1536 * 1024 * 1024,) * 2)
from pipeline.spec.config import load_settings
from pipeline.spec.form import load_form
from pipeline.spec.units import load_units
from pipeline.store.inbox import take_view
from pipeline.stages.read.sources import read_source
form = load_form(); units = load_units(form.units_file)
view = take_view(__import__("pathlib").Path(sys.argv[1]))
[src] = view.sources
r = read_source(src, view.data[src.path], form, units)
print(r.ret.county_code, sorted((f.rule, f.value if hasattr(f, "value") else "") for f in r.findings))
print(sum(len(s.townships) for s in r.ret.sheets.values()))
"""


@pytest.mark.parametrize("far", ["XFD1048576", "A1048576", "XFD1"])
def test_a_stray_far_cell_is_read_in_bounded_memory(tmp_path, form, units, far):
    wb = build_return(form, units.by_code("620102"), clean_rows())
    wb["表一走访情况"][far] = "x"
    (tmp_path / "620102_城关区.xlsx").write_bytes(workbook_bytes(wb))
    # In a child process capped at 1.5 GB: a dense grid of that sheet would need ~500 GB and abort.
    proc = subprocess.run([sys.executable, "-c", HUGE, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    first, second = proc.stdout.splitlines()
    assert first.startswith("620102") and "stray-cells" in first
    assert second == "9"


def test_stray_cells_warning_names_the_far_cell(tmp_path, form, units):
    wb = build_return(form, units.by_code("620102"), clean_rows())
    wb["表二问题排查整改"]["XFD1048576"] = 1
    (tmp_path / "620102_城关区.xlsx").write_bytes(workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    [f] = result.findings
    assert (f.severity.value, f.rule, f.sheet) == ("warning", "stray-cells", "表二问题排查整改")
    assert "XFD1048576" in f.message
    assert numbers_of(result.ret, form) == expected_numbers(clean_rows(), form)


def test_stray_cells_over_several_columns_are_named_where_the_sheet_ends(tmp_path, form, units):
    """Junk in J to Z down to row 60099: named J60099, the first cell of the last row, where the
    clerk's Ctrl+End goes to Z60099."""
    wb = build_return(form, units.by_code("620102"), clean_rows())
    ws = wb["表二问题排查整改"]
    for row in (30, 60099):
        for col in range(10, 27):  # J … Z
            ws.cell(row, col, "x")
    (tmp_path / "620102_城关区.xlsx").write_bytes(workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    [f] = result.findings
    assert f.rule == "stray-cells" and "（至Z60099）" in f.message, f.message


def test_a_far_cell_beside_a_table_with_no_total_costs_a_warning_only(tmp_path, form, units):
    """A value past column ZZ on a short sheet with no 合计 and no footer: the table ends at the
    sheet's last row, which was read whole: no table-cut, and the warning names the far cell."""
    wb = build_return(form, units.by_code("620102"), clean_rows(), layout=Layout(total="none"))
    ws = wb["表二问题排查整改"]
    for r in range(ws.max_row, 0, -1):  # the footer lines go: the townships run to the last row
        if any(isinstance(c.value, str) and ("填表人" in c.value or "审核人" in c.value) for c in ws[r]):
            ws.delete_rows(r)
    ws["XFD3"] = 1
    (tmp_path / "620102_城关区.xlsx").write_bytes(workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert [(f.rule, f.sheet) for f in result.findings if f.severity.value != "info"] == [
        ("stray-cells", "表二问题排查整改")]
    assert "至XFD3" in next(f.message for f in result.findings if f.rule == "stray-cells")


def test_a_sheet_running_past_the_window_is_said_where_it_ends(tmp_path, form, units):
    """Rows of figures to row 6000 under the table: the warning names where they end (it had
    named the second row's last cell, which says nothing)."""
    wb = build_return(form, units.by_code("620102"), clean_rows())
    ws = wb["表三帮扶成效"]
    for r in range(60, 6001):
        ws.cell(r, 2, r)
    (tmp_path / "620102_城关区.xlsx").write_bytes(workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    [f] = [f for f in result.findings if f.rule == "stray-cells"]
    assert "至B6000" in f.message


def test_an_xls_running_past_the_window_is_said_where_it_ends(tmp_path, form, units):
    """An .xls is read whole by the engine and cut to the window: what was cut is said."""
    from tests.builders import to_xls

    wb = build_return(form, units.by_code("620102"), clean_rows())
    ws = wb["表三帮扶成效"]
    for r in range(60, 6001):
        ws.cell(r, 2, r)
    (tmp_path / "620102_城关区.xls").write_bytes(to_xls(workbook_bytes(wb)))
    result = read_one(tmp_path, form, units)
    [f] = [f for f in result.findings if f.rule == "stray-cells"]
    assert "至B6000" in f.message


@pytest.mark.parametrize("zeros", [False, True], ids=["figures", "zeros"])
@pytest.mark.parametrize("as_xls", [False, True], ids=["xlsx", "xls"])
def test_townships_running_past_the_window_are_an_error_not_a_shorter_table(tmp_path, form, units, as_xls, zeros):
    """6,000 township rows (a village-level export pasted in): those past the window were never
    read, so the figures read are not the clerk's. An error at the last row read. Rows of 0
    (every one the sum of any run of the others) are looked at as quickly: they once took the
    subtotal checks minutes, and the run's patience ended the county's reading."""
    from tests.builders import to_xls

    figures = {k: 0 if zeros else v for k, v in clean_rows()[0].items() if k != "township"}
    rows = [{"township": f"乡{i}"} | figures for i in range(6000)]
    wb = build_return(form, units.by_code("620102"), rows)
    data = workbook_bytes(wb)
    name = "620102_城关区.xls" if as_xls else "620102_城关区.xlsx"
    (tmp_path / name).write_bytes(to_xls(data) if as_xls else data)
    result = read_one(tmp_path, form, units)
    cut = [f for f in result.findings if f.rule == "table-cut"]
    assert len(cut) == 3 and all(f.severity.value == "error" and f.cell == "A5000" for f in cut)
    assert "每张表最多读取5000行" in cut[0].message


def test_layout_default_is_what_counties_are_sent():
    assert replace(Layout()) == Layout(title=True, header_rows=2, total="last")
