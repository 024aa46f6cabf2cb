"""What a city sends up is read exactly: each county block of a city's workbook is that county's
return, its figures the county's own, every finding naming the city's file and the sheet; a
summary's county rows are the city's figures for its counties, marked as such."""

from __future__ import annotations

import hashlib
import io

import pytest
from openpyxl import load_workbook

from pipeline.model import Source
from pipeline.stages.read.sources import read_source
from tests.builders import (
    EXAMPLE,
    city_summary,
    city_workbook,
    clean_rows,
    county_column_workbook,
    save,
    write_return,
)

LANZHOU = {p.stem.split("_")[1]: p.read_bytes() for p in sorted(EXAMPLE.glob("6201*.xlsx"))}


def _read(data: bytes, form, units, name="兰州市.xlsx"):
    return read_source(Source(name, len(data), hashlib.sha256(data).hexdigest(), 0.0, "xlsx"), data, form, units)


def _own(county: str, form, units):
    return _read(LANZHOU[county], form, units, f"{county}.xlsx")


def _assert_parts_are_the_counties_own(result, form, units, via="workbook"):
    assert result.ret is None
    assert [p.source.path for p in result.parts] == [f"兰州市.xlsx/{n}" for n in LANZHOU]
    for part in result.parts:
        county = part.source.member
        own = _own(county, form, units)
        assert (part.ret.county_code, part.source.via, part.source.city) == (own.ret.county_code, via, "兰州市")
        for key, sheet in own.ret.sheets.items():
            assert part.ret.sheets[key].townships == sheet.townships
            assert part.ret.sheets[key].values == sheet.values
        assert part.findings == (), county


@pytest.mark.parametrize("naming", [
    lambda county, table: f"{table}（{county}）",
    lambda county, table: f"{county}{table}",
    lambda county, table: f"{county}-{ {'表一': '走访情况', '表二': '问题排查整改', '表三': '帮扶成效'}[table]}",
], ids=["表一（安定区）", "安定区表一", "安定区-走访情况"])
def test_sheets_named_with_the_county_are_each_countys_return(form, units, naming):
    result = _read(city_workbook(LANZHOU, naming), form, units)
    _assert_parts_are_the_counties_own(result, form, units)
    # each county's own 填报日期, as its tables say
    assert [p.ret.filed_on for p in result.parts] == [_own(c, form, units).ret.filed_on for c in LANZHOU]


def test_a_county_column_splits_each_table_by_county(form, units):
    result = _read(county_column_workbook(LANZHOU), form, units)
    _assert_parts_are_the_counties_own(result, form, units)


def test_a_finding_in_a_city_workbook_names_the_citys_file_and_the_countys_sheet(tmp_path, form, units):
    rows = clean_rows()
    rows[1]["households_visited"] = "二千"
    bad = write_return(tmp_path, form, units.by_code("620102"), rows).read_bytes()
    result = _read(city_workbook({"城关区": bad, "七里河区": LANZHOU["七里河区"]}), form, units)
    [finding] = [f for p in result.parts for f in p.findings]
    assert (finding.rule, finding.file, finding.county_code, finding.sheet) == (
        "not-a-count", "兰州市.xlsx/城关区", "620102", "表一（城关区）")
    own = _read(bad, form, units, "城关区.xlsx")
    [theirs] = own.findings
    assert finding.cell == theirs.cell  # the same cell: the sheet was copied as it was


def test_the_file_name_is_neither_a_fallback_nor_a_conflict_and_the_city_agrees_with_its_counties(form, units):
    """A city's file named after one of its counties still gives each county its own block; a
    填报单位 naming the city is no conflict; one naming another county is, under that block."""
    wb = load_workbook(io.BytesIO(city_workbook(LANZHOU)))
    for ws in wb.worksheets:
        for cell in ws[2]:
            if "代码" in str(cell.value or "") and ("七里河区" in ws.title or "西固区" in ws.title):
                cell.value = None  # a code beats a name: the name alone is tried here
        if "七里河区" in ws.title:
            ws["A2"] = "填报单位（盖章）：兰州市双联办"
        if "西固区" in ws.title:
            ws["A2"] = "填报单位（盖章）：榆中县双联办"
    result = _read(save(wb), form, units, "城关区报来的全市报表.xlsx")
    by = {p.source.member: p for p in result.parts}
    assert by["城关区"].ret.county_code == "620102" and not by["城关区"].findings
    assert by["七里河区"].ret.county_code == "620103" and not by["七里河区"].findings
    conflicts = [f for f in by["西固区"].findings if f.rule == "unit-conflict"]
    assert conflicts and "工作表名是西固区" in conflicts[0].message and "榆中县" in conflicts[0].message


def test_one_county_in_a_workbook_is_an_ordinary_return(form, units):
    result = _read(city_workbook({"城关区": LANZHOU["城关区"]}), form, units, "城关区.xlsx")
    assert result.parts == () and result.ret.county_code == "620102"


def _sums(county, form, units):
    ret = _own(county, form, units).ret
    return {k: sum(v) for s in ret.sheets.values() for k, v in s.values.items() if k in form.field_keys}


@pytest.mark.parametrize("title", ["县（市、区）", "县区", "单位"])
def test_a_summary_gives_each_countys_figures_as_the_city_gives_them(form, units, title):
    sums = {c: _sums(c, form, units) for c in LANZHOU}
    result = _read(city_summary(form, sums, county_title=title), form, units, "兰州市汇总.xlsx")
    assert [p.source.path for p in result.parts] == [f"兰州市汇总.xlsx/{c}" for c in LANZHOU]
    for part in result.parts:
        assert part.source.via == "summary"
        assert [f.rule for f in part.findings] == ["city-summary"]
        for key, sheet in part.ret.sheets.items():
            assert sheet.townships == ("市州汇总",)
            assert {k: v[0] for k, v in sheet.values.items()} == {
                f.key: sums[part.source.member][f.key] for f in form.sheet(key).count_fields}
        assert part.ret.filed_on.isoformat() == "2016-12-08"


def test_a_bad_figure_in_a_summary_names_its_cell(form, units):
    sums = {c: _sums(c, form, units) for c in list(LANZHOU)[:2]}
    wb = load_workbook(io.BytesIO(city_summary(form, sums)))
    wb.worksheets[0]["C5"] = "约200"
    result = _read(save(wb), form, units, "兰州市汇总.xlsx")
    second = result.parts[1]
    [bad] = [f for f in second.findings if f.rule == "not-a-count"]
    assert (bad.file, bad.county_code, bad.sheet, bad.cell) == ("兰州市汇总.xlsx/七里河区", "620103",
                                                                wb.worksheets[0].title, "C5")
    assert not [f for f in result.parts[0].findings if f.rule == "not-a-count"]


def test_a_city_table_named_after_one_of_its_counties_is_still_the_citys(form, units):
    """A file name naming one county never makes a city's table (its 填报单位 the city's) that
    county's return: each county's rows are its own."""
    result = _read(county_column_workbook(LANZHOU), form, units, "城关区等8县区.xlsx")
    assert [p.source.member for p in result.parts] == list(LANZHOU)
