"""A city run's own consolidated.xlsx sent up to the province: its 乡镇明细 rows are its counties'
returns, traced to the city's file. A province run fed only by the 14 cities' consolidated
workbooks, each made by the city-level run on its counties' returns, equals the run on the 87
returns, figure for figure; a county the city rejected stays 已退回 with the city's findings; the
province's own old consolidated.xlsx is set aside."""

from __future__ import annotations

import csv
import io
import shutil

import pytest
from openpyxl import load_workbook

from pipeline.run.report import build_run
from pipeline.spec.scope import city
from tests.builders import EXAMPLE, clean_rows, save, write_return


def _consolidated(run) -> bytes:
    data = run.files["consolidated.xlsx"]
    assert "汇总信息" in load_workbook(io.BytesIO(data), read_only=True).sheetnames
    return data


def _totals(run) -> dict[tuple[str, str], dict]:
    return {(r["level"], r["code"]): r for r in csv.DictReader(io.StringIO(run.files["totals.csv"].decode("utf-8-sig")))}


@pytest.fixture(scope="module")
def everyone(settings):
    return build_run(EXAMPLE, settings)


@pytest.fixture(scope="module")
def through_cities(tmp_path_factory, settings, form, units):
    inbox = tmp_path_factory.mktemp("cities")
    for code, name in units.cities:
        (inbox / f"{name}汇总.xlsx").write_bytes(_consolidated(build_run(EXAMPLE, settings, scope=city(form, units, code))))
    return build_run(inbox, settings)


def test_fourteen_cities_workbooks_equal_the_87_returns_figure_for_figure(through_cities, everyone, form, units):
    assert len(units.cities) == 14
    now, before = _totals(through_cities), _totals(everyone)
    assert now.keys() == before.keys()
    for key, row in before.items():
        for column in ("units_expected", "units_included", *form.field_keys):
            assert now[key][column] == row[column], (key, column)
    assert [(u.code, u.status) for u in through_cities.roster.units] == [(u.code, u.status) for u in everyone.roster.units]
    assert through_cities.roster.unassigned == ()
    for u in through_cities.roster.units:
        if u.source is not None:
            assert u.source.path == f"{u.city_name}汇总.xlsx/{u.name}" and u.source.via == "workbook"
    # the report's rates and figures, made from the same sums
    assert through_cities.report.narrative == everyone.report.narrative


def test_a_county_the_city_rejected_stays_rejected_with_the_citys_findings(tmp_path, settings, form, units):
    counties = tmp_path / "lanzhou"
    counties.mkdir()
    shutil.copy(EXAMPLE / "620102_城关区.xlsx", counties)
    rows = clean_rows()
    rows[0]["villages_visited"] = rows[0]["villages_total"] + 3  # more visited than there are
    write_return(counties, form, units.by_code("620103"), rows)
    city_run = build_run(counties, settings, scope=city(form, units, "兰州市"))
    assert {u.code: u.status for u in city_run.roster.units}["620103"] == "rejected"
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "兰州市.xlsx").write_bytes(_consolidated(city_run))
    run = build_run(inbox, settings)
    status = {u.code: u for u in run.roster.units}
    assert status["620102"].status == "included" and status["620104"].status == "missing"
    rejected = status["620103"]
    assert (rejected.status, rejected.source.path) == ("rejected", "兰州市.xlsx/七里河区")
    theirs = [f for f in city_run.findings if f.county_code == "620103" and f.severity.value == "error"]
    mine = [f for f in run.findings if f.file == "兰州市.xlsx/七里河区" and f.severity.value == "error"]
    assert [(f.rule, f.cell) for f in mine] == [(f.rule, f.cell) for f in theirs] and theirs
    assert all(f.message.startswith(t.message) and "兰州市汇总时的文件" in f.message for f, t in zip(mine, theirs))


def test_the_citys_rejected_copy_set_aside_is_said_rejected_not_unreadable(tmp_path, settings, form, units):
    """七里河区, rejected by 兰州市, sends its corrected return to the province: the city's copy,
    set aside, was said to be 无法读取 (a reviewer's find); it was read, and rejected there."""
    counties = tmp_path / "lanzhou"
    counties.mkdir()
    rows = clean_rows()
    rows[0]["villages_visited"] = rows[0]["villages_total"] + 3
    write_return(counties, form, units.by_code("620103"), rows)
    city_run = build_run(counties, settings, scope=city(form, units, "兰州市"))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "兰州市.xlsx").write_bytes(_consolidated(city_run))
    write_return(inbox, form, units.by_code("620103"), clean_rows())
    run = build_run(inbox, settings)
    assert {u.code: u.status for u in run.roster.units}["620103"] == "included"
    [aside] = [f for f in run.findings if f.rule == "superseded" and f.county_code == "620103"]
    assert aside.file == "兰州市.xlsx/七里河区" and "（本文件已被兰州市退回）" in aside.message and "无法读取" not in aside.message
    said = [f.message for f in run.findings if f.rule == "resubmission-unclear" and f.county_code == "620103"]
    assert all("无法读取" not in m for m in said)


def test_the_provinces_own_old_consolidated_workbook_is_set_aside(tmp_path, settings, everyone):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(EXAMPLE / "620102_城关区.xlsx", inbox)
    (inbox / "consolidated.xlsx").write_bytes(_consolidated(everyone))
    run = build_run(inbox, settings)
    [aside] = [f for f in run.findings if f.rule == "old-output-file"]
    assert aside.file == "consolidated.xlsx" and "全省的汇总工作簿" in aside.message
    assert run.roster.unassigned == ()
    assert [u.code for u in run.roster.units if u.status != "missing"] == ["620102"]


def test_a_citys_workbook_rows_are_read_as_values_traced_to_its_cells(tmp_path, settings, form, units):
    counties = tmp_path / "lanzhou"
    counties.mkdir()
    shutil.copy(EXAMPLE / "620102_城关区.xlsx", counties)
    data = _consolidated(build_run(counties, settings, scope=city(form, units, "兰州市")))
    wb = load_workbook(io.BytesIO(data))
    detail = wb[next(n for n in wb.sheetnames if n.startswith("乡镇明细") and "走访" in n)]
    header = [c.value for c in detail[1]]
    column = header.index("走访农户数") + 1
    detail.cell(3, column).value = "三百"  # a figure the province cannot read: its cell is named
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "兰州市.xlsx").write_bytes(save(wb))
    run = build_run(inbox, settings)
    [bad] = [f for f in run.findings if f.rule == "not-a-count"]
    assert (bad.file, bad.county_code, bad.sheet) == ("兰州市.xlsx/城关区", "620102", detail.title)
    assert bad.cell == f"{detail.cell(3, column).column_letter}3"
