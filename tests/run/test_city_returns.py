"""A province's inbox holding what cities send up: a mixed inbox (a city's workbook of each shape,
some counties direct, one county both in its city's summary and direct, with a different figure)
gives the roster a clerk expects and one mismatch warning; the roster and the report say how
each county's figures came."""

from __future__ import annotations

import csv
import io
import os
import shutil

import pytest
from openpyxl import load_workbook

from pipeline.model import Source
from pipeline.run.report import build_run
from pipeline.stages.read.sources import read_source
from tests.builders import EXAMPLE, city_summary, city_workbook, county_column_workbook

CITIES = {"兰州市": "6201", "白银市": "6204", "天水市": "6205"}
DIRECT = ("620200_嘉峪关市.xlsx", "620302_金川区.xlsx", "620321_永昌县.xlsx")


def _returns(prefix: str) -> dict[str, bytes]:
    return {p.stem.split("_")[1]: p.read_bytes() for p in sorted(EXAMPLE.glob(f"{prefix}*.xlsx"))}


def _sums(data: bytes, form, units) -> dict[str, int]:
    ret = read_source(Source("x.xlsx", len(data), "", 0.0, "xlsx"), data, form, units).ret
    return {k: sum(v) for s in ret.sheets.values() for k, v in s.values.items() if k in form.field_keys}


@pytest.fixture(scope="module")
def mixed(tmp_path_factory, settings, form, units):
    inbox = tmp_path_factory.mktemp("mixed")
    (inbox / "兰州市各县报表.xlsx").write_bytes(city_workbook(_returns(CITIES["兰州市"])))
    (inbox / "白银市.xlsx").write_bytes(county_column_workbook(_returns(CITIES["白银市"]), city="白银市"))
    tianshui = {name: _sums(data, form, units) for name, data in _returns(CITIES["天水市"]).items()}
    tianshui["秦州区"]["households_visited"] += 5  # the city's figure differs from the county's own
    (inbox / "天水市汇总表.xlsx").write_bytes(city_summary(form, tianshui, "天水市"))
    for name in DIRECT:
        shutil.copy(EXAMPLE / name, inbox / name)
    own = inbox / "620502_秦州区.xlsx"  # 秦州区 sent its own return too, before the city's summary (dated later)
    shutil.copy(EXAMPLE / "620502_秦州区.xlsx", own)
    os.utime(own, (1_480_000_000, 1_480_000_000))
    return build_run(inbox, settings)


@pytest.fixture(scope="module")
def everyone(settings):
    return build_run(EXAMPLE, settings)


def _totals(run) -> dict[str, dict]:
    return {r["code"]: r for r in csv.DictReader(io.StringIO(run.files["totals.csv"].decode("utf-8-sig")))
            if r["level"] == "county"}


def test_the_roster_is_what_the_cities_and_counties_sent(mixed, units):
    status = {u.code: u for u in mixed.roster.units}
    for city, prefix in CITIES.items():
        for unit in (u for u in units.units if u.code.startswith(prefix)):
            u = status[unit.code]
            assert u.status == "included", unit.name
            assert u.source.city == city
            assert u.source.via == ("summary" if city == "天水市" else "workbook")
    for name in DIRECT:
        u = status[name[:6]]
        assert (u.status, u.source.path, u.source.via) == ("included", name, "")
    assert status["620502"].source.path == "天水市汇总表.xlsx/秦州区"
    assert [s.path for s in status["620502"].superseded] == ["620502_秦州区.xlsx"]
    counted = {*(u.code for u in units.units if u.code[:4] in CITIES.values()), *(n[:6] for n in DIRECT)}
    assert {u.code for u in mixed.roster.units if u.status == "missing"} == {u.code for u in units.units} - counted
    assert mixed.roster.unassigned == ()


def test_one_mismatch_warning_names_the_field_and_both_files(mixed):
    [warning] = [f for f in mixed.findings if f.rule == "city-county-mismatch"]
    assert (warning.severity.value, warning.county_code, warning.file) == ("warning", "620502", "天水市汇总表.xlsx/秦州区")
    assert "走访农户数" in warning.message and "620502_秦州区.xlsx" in warning.message
    assert "天水市汇总表.xlsx/秦州区" in warning.message
    assert "行政村" not in warning.message  # the fields that agree are not named
    # the county's workbook back is the city's summary, the county's findings marked in it
    back = load_workbook(io.BytesIO(mixed.files["returns/620502_秦州区.xlsx"]))
    assert {"表一走访情况", "表二问题排查整改", "表三帮扶成效"} <= set(back.sheetnames)


def test_figures_are_the_counties_own_or_the_citys(mixed, everyone, form):
    now, before = _totals(mixed), _totals(everyone)
    for code, row in now.items():
        if row["units_included"] != "1":
            continue
        for key in form.field_keys:
            expected = int(before[code][key]) + (5 if (code, key) == ("620502", "households_visited") else 0)
            assert int(row[key]) == expected, (code, key)


def test_summary_counties_have_no_township_findings_and_say_so(mixed):
    summary = {u.code for u in mixed.roster.units if u.source and u.source.via == "summary"}
    said = {f.county_code for f in mixed.findings if f.rule == "city-summary"}
    assert said == summary and len(summary) == 7
    assert not [f for f in mixed.findings if f.county_code in summary and f.rule in ("townships-differ", "township-added", "township-dropped")]


def test_the_roster_and_report_say_how_the_figures_came(mixed):
    roster = list(csv.DictReader(io.StringIO(mixed.files["roster.csv"].decode("utf-8-sig"))))
    came = {r["code"]: r["received_as"] for r in roster}
    assert came["620102"] == "经兰州市汇总工作簿"
    assert came["620402"] == "经白银市汇总工作簿"
    assert came["620502"] == "天水市汇总数"
    assert came["620200"] == "本单位报表"
    assert came["620921"] == ""  # missing
    wb = load_workbook(io.BytesIO(mixed.files["consolidated.xlsx"]), read_only=True)
    rows = list(wb["报送情况"].iter_rows(values_only=True))
    assert rows[0][12] == "数据来源" and {r[0]: r[12] for r in rows[1:]}["620502"] == "天水市汇总数"
    detail = list(wb[next(n for n in wb.sheetnames if n.startswith("乡镇明细"))].iter_rows(values_only=True))
    assert [r[5] for r in detail if r[0] == "620502"] == ["市州汇总"]
    html = mixed.files["report.html"].decode("utf-8")
    assert "秦州区（市州汇总数）" in html and "城关区（市州汇总数）" not in html
    assert '<td class="name">经兰州市汇总工作簿</td>' in html and '<td class="name">天水市汇总数</td>' in html
    notes = " ".join(mixed.report.notes["lines"])
    assert "经兰州市汇总工作簿转报" in notes and "天水市7个" in notes
    manifest = mixed.files["manifest.csv"].decode("utf-8-sig")
    line = next(x for x in manifest.splitlines() if x.startswith("天水市汇总表.xlsx,"))
    assert line.endswith("天水市的报表，按所辖各县分别读取")


# --- a city's summary, as cities write them (a reviewer's finds: figures left out without a word) ---


def _read_summary(tmp_path, form, units, counties: dict[str, dict[str, int]], total: bool = True, edit=None):
    data = city_summary(form, counties, "天水市", total=total)
    if edit is not None:
        wb = load_workbook(io.BytesIO(data))
        for ws in wb.worksheets:
            edit(ws)
        buf = io.BytesIO()
        wb.save(buf)
        data = buf.getvalue()
    result = read_source(Source("天水市汇总表.xlsx", len(data), "", 0.0, "xlsx"), data, form, units)
    found = {(f.rule, f.county_code, f.cell) for p in (result, *result.parts) for f in p.findings}
    return result, found


@pytest.fixture(scope="module")
def tianshui(form, units):
    return {name: _sums(data, form, units) for name, data in _returns(CITIES["天水市"]).items()}


def test_a_county_written_by_its_short_name_is_read_and_said(tmp_path, form, units, tianshui):
    counties = {("甘谷" if name == "甘谷县" else name): figures for name, figures in tianshui.items()}
    result, found = _read_summary(tmp_path, form, units, counties)
    gangu = next(p for p in result.parts if p.ret.county_code == "620523")
    assert {k: v[0] for s in gangu.ret.sheets.values() for k, v in s.values.items()} == tianshui["甘谷县"]
    assert ("county-short-name", "620523", "A8") in found
    assert not any(rule == "summary-total-mismatch" for rule, _, _ in found)


def test_a_row_whose_name_is_no_countys_is_an_error_and_the_total_says_it_is_missing(tmp_path, form, units, tianshui):
    """成关区 for 城关区, or a 新区 that is no county: its figures were left out without a word."""
    counties = {("清水乡" if name == "清水县" else name): figures for name, figures in tianshui.items()}
    result, found = _read_summary(tmp_path, form, units, counties)
    assert {p.ret.county_code for p in result.parts} == {u.code for u in units.units if u.city_name == "天水市"} - {"620521"}
    assert {(rule, cell) for rule, county, cell in found if county == ""} >= {
        ("county-row-unknown", "A6"), ("summary-total-mismatch", "B11")}
    [said] = [f for f in result.findings if f.rule == "county-row-unknown" and f.sheet.startswith("表一")]
    assert said.file == "天水市汇总表.xlsx" and "“清水乡”认不出是哪个县（市、区），这一行的数字没有汇总" in said.message


def test_a_county_written_twice_is_an_error_on_both_rows_and_neither_is_summed(tmp_path, form, units, tianshui):
    """七里河区's row labelled 城关区: the later row replaced the earlier without a word, and the
    other county went missing."""
    def relabel(ws):
        ws["A5"] = ws["A4"].value

    result, found = _read_summary(tmp_path, form, units, tianshui, edit=relabel)
    first = next(p for p in result.parts if p.ret.county_code == "620502")
    assert {f.rule for f in first.findings} >= {"county-row-repeated"}
    assert any(f.severity.value == "error" and f.cell == "A5" and "与第4行是同一县（市、区）" in f.message
               for f in first.findings)
    assert "620503" not in {p.ret.county_code for p in result.parts}  # 麦积区's row now says 秦州区


def test_a_summary_total_that_disagrees_with_its_rows_is_said(tmp_path, form, units, tianshui):
    key = form.sheet("visits").count_fields[0].key

    def mistyped(ws):
        if ws.title.startswith("表一"):
            ws["B5"] = ws["B5"].value - 100

    result, found = _read_summary(tmp_path, form, units, tianshui, edit=mistyped)
    [f] = [f for f in result.findings if f.rule == "summary-total-mismatch"]
    assert (f.cell, f.field, f.severity.value) == ("B11", key, "warning")
    assert f"为{sum(c[key] for c in tianshui.values())}，读取的各县（市、区）之和为{sum(c[key] for c in tianshui.values()) - 100}" in f.message


def test_a_county_column_naming_no_county_is_an_error(tmp_path, form, units):
    returns = _returns(CITIES["白银市"])
    renamed = {("白银新区" if name == "会宁县" else name): data for name, data in returns.items()}
    data = county_column_workbook(renamed, city="白银市")
    result = read_source(Source("白银市.xlsx", len(data), "", 0.0, "xlsx"), data, form, units)
    assert "620422" not in {p.ret.county_code for p in result.parts if p.ret}
    said = [f for f in result.findings if f.rule == "county-row-unknown"]
    assert said and all(f.file == "白银市.xlsx" and "“白银新区”" in f.message for f in said)


def test_sheets_named_with_a_short_or_unknown_county_are_read_or_said(form, units):
    """表一（榆中） and 表一（成关区）: left out without a word while the other counties were read."""
    returns = _returns(CITIES["兰州市"])
    names = {"榆中县": "榆中", "城关区": "成关区"}
    sheets = {**{k: v for k, v in returns.items()}}
    data = city_workbook(sheets, sheet_name=lambda county, table: f"{table}（{names.get(county, county)}）")
    (wb := load_workbook(io.BytesIO(data))).create_sheet("表一（全市汇总）")  # the city's own total: no county's
    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    result = read_source(Source("兰州市各县报表.xlsx", len(data), "", 0.0, "xlsx"), data, form, units)
    read = {p.ret.county_code for p in result.parts if p.ret}
    assert "620123" in read and "620102" not in read
    yuzhong = next(p for p in result.parts if p.ret and p.ret.county_code == "620123")
    assert _sums(returns["榆中县"], form, units) == {k: sum(v) for s in yuzhong.ret.sheets.values() for k, v in s.values.items()
                                                   if k in form.field_keys}
    said = {(f.rule, f.sheet) for f in result.findings}
    assert {("county-short-name", f"{t}（榆中）") for t in ("表一", "表二", "表三")} <= said
    assert {("county-sheet-unknown", f"{t}（成关区）") for t in ("表一", "表二", "表三")} <= said
    assert not any("全市汇总" in sheet for _, sheet in said)


def test_a_county_in_another_citys_workbook_is_said_and_differing_copies_too(tmp_path, settings, form, units):
    """白银市's workbook carried 城关区 too, one figure changed, and came later: it stood, and
    兰州市's copy was only superseded; nothing said 白银市 had forwarded another city's county."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    lanzhou, baiyin = _returns(CITIES["兰州市"]), _returns(CITIES["白银市"])
    wb = load_workbook(io.BytesIO(lanzhou["城关区"]))
    plan_cell = max((c for row in wb.worksheets[0].iter_rows(min_row=5, max_row=5) for c in row if isinstance(c.value, int)),
                    key=lambda c: c.value)  # a township's households: 7 fewer is still a count
    plan_cell.value -= 7
    total = next(c for row in wb.worksheets[0].iter_rows() for c in row[:1] if c.value == "合计")
    wb.worksheets[0].cell(total.row, plan_cell.column).value -= 7
    buf = io.BytesIO()
    wb.save(buf)
    (inbox / "兰州市各县报表.xlsx").write_bytes(city_workbook(lanzhou))
    (inbox / "白银市各县报表.xlsx").write_bytes(city_workbook({**baiyin, "城关区": buf.getvalue()}))
    os.utime(inbox / "兰州市各县报表.xlsx", (1_480_000_000, 1_480_000_000))
    run = build_run(inbox, settings)
    stands = next(u for u in run.roster.units if u.code == "620102")
    assert stands.source.path == "白银市各县报表.xlsx/城关区" and stands.source.city == "白银市"
    said = {f.rule: f for f in run.findings if f.county_code == "620102"}
    assert "白银市报来的“白银市各县报表.xlsx”中有本单位的报表，而本单位属兰州市" in said["county-outside-city"].message
    differs = said["city-copies-differ"].message
    assert "白银市报来的“白银市各县报表.xlsx/城关区”" in differs and "兰州市报来的“兰州市各县报表.xlsx/城关区”" in differs
    assert {u.source.city for u in run.roster.units if u.city_name == "白银市"} == {"白银市"}


def test_a_one_sheet_summary_with_every_figure_across_is_read(form, units, tianshui):
    """A city's most natural summary: one sheet, a county a row, every figure of the form across
    it (the shape of a consolidated workbook's 县（市、区） sheet). It was missing-sheet three times,
    and the city's seven counties 未报送 (a reviewer's find)."""
    from openpyxl import Workbook

    fields = [f for spec in form.sheets for f in spec.count_fields]
    wb = Workbook()
    ws = wb.active
    ws.title = "汇总"
    ws.append(["天水市双联行动“大走访、回头看”活动情况汇总表"])
    ws.append(["填报单位：天水市双联办", None, "填报日期：2016年12月8日"])
    ws.append(["县（市、区）", *[f.full_label for f in fields]])
    for name, figures in tianshui.items():
        ws.append([name, *[figures[f.key] for f in fields]])
    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    result = read_source(Source("天水市汇总表.xlsx", len(data), "", 0.0, "xlsx"), data, form, units)
    read = {p.ret.county_code: p for p in result.parts}
    assert len(read) == len(tianshui) == 7
    for name, figures in tianshui.items():
        part = read[units.match_name(name)]
        assert {k: v[0] for s in part.ret.sheets.values() for k, v in s.values.items()} == figures
        assert {f.rule for f in part.findings} == {"city-summary"}  # no missing-sheet, no date-missing
        assert part.ret.filed_on.isoformat() == "2016-12-08"
