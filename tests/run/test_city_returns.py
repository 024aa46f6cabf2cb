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
