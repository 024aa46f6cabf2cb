"""A unit written after a count's label in the header is read, not dropped: 走访2次以上农户数（%）
heads a column of percentages and 联户干部数（人次） one of visits, which added up as households or
cadres would be silently wrong. Such a header is an error at its cell (`column-unit`); the
field's own unit, a synonym the form declares, or words that are no unit read as before."""

from __future__ import annotations

import hashlib
import io

import pytest
from openpyxl import load_workbook

from pipeline.model import Source
from pipeline.outputs.formbook import Layout, workbook_bytes
from pipeline.stages.read.layout import known_units, unit_differs
from pipeline.stages.read.sources import read_source
from tests.builders import clean_rows, expected_numbers, numbers_of, place, read_one, save, to_html, to_xls
from tests.habits import OUTCOMES, PROBLEMS, VISITS, built, column, rules, write

SHEET_OF = {"visits": VISITS, "problems": PROBLEMS, "outcomes": OUTCOMES}

# (sheet, field, its header as the clerk wrote it, the unit the finding names; "" when none is due)
CASES = [
    ("visits", "households_visited_twice", "走访2次以上农户数（%）", "%"),
    ("visits", "households_visited_twice", "走访2次以上农户数(％)", "%"),
    ("visits", "households_total", "农户总数%", "%"),
    ("visits", "villages_visited", "走访行政村数（占比）", "占比"),
    ("visits", "linking_cadres", "联户干部数（人次）", "人次"),
    ("visits", "households_total", "农户总数（人）", "人"),
    ("visits", "households_total", "农户总数/人", "人"),
    ("visits", "households_total", "农户总数（人数）", "人数"),
    ("visits", "households_total", "农户总数（万户）", "万户"),
    ("visits", "households_total", "农户总数（千户）", "千户"),
    ("visits", "households_total", "农户总数\n（万）", "万"),
    ("problems", "precision_found", "排查数（%）", "%"),
    ("outcomes", "policy_sessions", "宣传政策场次（人次）", "人次"),
    ("visits", "linking_cadres", "联户干部数（人次，含县乡）", "人次"),
    ("visits", "households_total", "农户总数（万 户）", "万户"),
    ("visits", "households_total", "农户总数（人口）", "人口"),
    # units of things no count of this form is in (a reviewer's find: 栋数（平方米） was summed)
    ("visits", "households_total", "农户总数（间）", "间"),
    ("visits", "households_total", "农户总数（平方米）", "平方米"),
    ("outcomes", "infrastructure_projects", "协调基础设施项目数（公里）", "公里"),
    # the field's own unit, with or without 数, a synonym, or no unit at all: read as before
    ("visits", "households_total", "农户总数（户）", ""),
    ("visits", "households_total", "农户总数（户数）", ""),
    ("visits", "households_total", "农户总数/户", ""),
    ("visits", "linking_cadres", "联户干部数（人）", ""),
    ("visits", "linking_cadres", "联户干部数（名）", ""),
    ("visits", "villages_total", "行政村总数（含社区）", ""),
    ("visits", "villages_total", "行政村总数（个）", ""),
    ("outcomes", "policy_sessions", "宣传政策（场次）", ""),
    ("outcomes", "policy_sessions", "宣传政策场次（场）", ""),
    ("problems", "precision_found", "排查数（件）", ""),
    ("problems", "precision_found", "排查数（个）", ""),
    ("outcomes", "opinions_collected", "了解意见建议和诉求数（个）", ""),
    ("visits", "linking_cadres", "联户干部数（人，含县乡）", ""),
    # a note of what the count takes in, however long: the field's column all the same
    ("visits", "linking_cadres", "联户干部数（含省市县乡四级）", ""),
    ("visits", "villages_total", "行政村总数（含社区、居委会）", ""),
    ("visits", "villages_visited", "走访行政村数（包括易地搬迁安置点）", ""),
]


# Figures other than this round's whole count (a reviewer's find: read as the field, silently).
QUALIFIED = [
    ("visits", "households_visited", "走访农户数(去年同期)", "去年同期"),
    ("visits", "households_visited", "走访农户数（上年）", "上年"),
    ("visits", "households_visited", "走访农户数（上月）", "上月"),
    ("visits", "households_visited", "走访农户数（计划）", "计划"),
    ("visits", "households_visited", "走访农户数（预计）", "预计"),
    ("visits", "households_visited", "走访农户数（未走访）", "未走访"),
    ("visits", "households_visited", "走访农户数（比上年）", "比上年"),
    ("problems", "precision_found", "排查数（增减）", "增减"),
    ("outcomes", "policy_sessions", "宣传政策场次（任务数）", "任务数"),
]
# ...and what says nothing against it: read as before
NOT_QUALIFIED = [
    ("visits", "households_visited", "走访农户数（本期）"),
    ("visits", "households_visited", "走访农户数（累计）"),
    ("visits", "households_visited", "走访农户数（户）"),
]


@pytest.mark.parametrize("sheet, key, header, written", QUALIFIED, ids=[c[2] for c in QUALIFIED])
def test_a_header_qualifying_its_label_is_an_error_at_that_header(tmp_path, form, units, sheet, key, header, written):
    wb, plans = built(form, units, clean_rows())
    spec = form.sheet(sheet)
    cell = _label_cell(plans[sheet], spec, key)
    wb[SHEET_OF[sheet]][cell] = header
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert rules(result) == {("error", "column-qualified", SHEET_OF[sheet], cell)}
    assert f"表头“{header}”注明了“{written}”，这一列的数字不是表样所要的{spec.label_of(key)}" in result.findings[0].message


@pytest.mark.parametrize("sheet, key, header", NOT_QUALIFIED, ids=[c[2] for c in NOT_QUALIFIED])
def test_a_header_naming_this_rounds_count_reads_as_written(tmp_path, form, units, sheet, key, header):
    rows = clean_rows()
    wb, plans = built(form, units, rows)
    wb[SHEET_OF[sheet]][_label_cell(plans[sheet], form.sheet(sheet), key)] = header
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert result.findings == ()
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


def _label_cell(plan, spec, key: str) -> str:
    """Where the builder writes a field's label: a grouped field's under its group, any other
    in the header's top row (merged down over both)."""
    field = next(f for f in spec.fields if f.key == key)
    return f"{column(plan, key)}{plan.header_bottom if field.group else plan.header_top}"


@pytest.mark.parametrize("sheet, key, header, unit", CASES, ids=[c[2].replace("\n", "") for c in CASES])
def test_a_header_naming_another_unit_is_an_error_at_that_header(tmp_path, form, units, sheet, key, header, unit):
    rows = clean_rows()
    wb, plans = built(form, units, rows)
    spec = form.sheet(sheet)
    cell = _label_cell(plans[sheet], spec, key)
    wb[SHEET_OF[sheet]][cell] = header
    write(tmp_path, workbook_bytes(wb))

    result = read_one(tmp_path, form, units)

    if unit:
        assert rules(result) == {("error", "column-unit", SHEET_OF[sheet], cell)}
        [f] = result.findings
        assert f.field == key
        label, field_unit = spec.label_of(key), form.field(key).unit
        shown = header.replace("\n", "")  # a header's lines run on when it is quoted
        assert f.message == (f"{place(spec.number, cell)}的表头“{shown}”注明的单位是“{unit}”，而{label}以“{field_unit}”计："
                             f"这一列的数字不能作为{label}汇总，请按表样以“{field_unit}”为单位填写后重新报送。")
    else:
        assert result.findings == ()
        assert numbers_of(result.ret, form) == expected_numbers(rows, form)


@pytest.mark.parametrize("kind", ["xlsx", "xls", "html"])
def test_a_one_row_header_says_the_same_in_every_format(tmp_path, form, units, kind):
    """The label and its unit in one cell of a one-row header, as a workbook, a legacy .xls and
    a web system's page saved as .xls: the same finding, at the same cell."""
    wb, plans = built(form, units, layout=Layout(header_rows=1))
    plan = plans["visits"]
    cell = f"{column(plan, 'linking_cadres')}{plan.header_bottom}"
    wb[VISITS][cell] = "联户干部数（人次）"
    data = workbook_bytes(wb)
    made = {"xlsx": lambda: data, "xls": lambda: to_xls(data), "html": lambda: to_html(data)}[kind]()
    write(tmp_path, made, name=f"620102_城关区.{'xlsx' if kind == 'xlsx' else 'xls'}")
    assert ("error", "column-unit", VISITS, cell) in rules(read_one(tmp_path, form, units))


def test_a_line_over_the_table_naming_units_is_no_header(tmp_path, form, units):
    """单位：个、户、名 over the last column, or a 万户 in the title, is the table's unit line,
    not a field's header: only the label's own cell is read."""
    wb, plans = built(form, units)
    plan = plans["visits"]
    ws = wb[VISITS]
    ws[f"{column(plan, 'linking_cadres')}{plan.header_top - 1}"] = "单位：个、户、人次"
    ws[f"{column(plan, 'households_total')}{plan.header_top - 1}"] = "（万户）"
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert not [f for f in result.findings if f.rule == "column-unit"]


def test_a_city_summary_naming_another_unit_tells_each_county(form, units):
    from tests.builders import city_summary

    counties = {"城关区": dict.fromkeys(form.field_keys, 10), "七里河区": dict.fromkeys(form.field_keys, 20)}
    wb = load_workbook(io.BytesIO(city_summary(form, counties)))
    ws = wb.worksheets[0]
    spec = form.sheets[0]
    at = next(c for c in ws[3] if c.value == spec.label_of("households_total"))
    at.value = "农户总数（万户）"
    data = save(wb)
    result = read_source(Source("兰州市汇总.xlsx", len(data), hashlib.sha256(data).hexdigest(), 0.0, "xlsx"),
                         data, form, units)
    for part in result.parts:
        [f] = [f for f in part.findings if f.rule == "column-unit"]
        assert (f.file, f.county_code, f.sheet, f.cell, f.severity.value) == (
            part.source.path, part.ret.county_code, ws.title, at.coordinate, "error")


@pytest.mark.parametrize("written, unit, differs", [
    ("%", "户", True), ("百分比", "户", True), ("比例", "个", True), ("覆盖率", "户", True),
    ("万户", "户", True), ("千", "户", True), ("万人", "名", True), ("亿元", "件", True),
    ("人次", "名", True), ("人", "户", True), ("人数", "户", True), ("人口", "户", True), ("口", "户", True),
    ("户次", "户", True), ("万个", "个", True),
    ("户", "户", False), ("户数", "户", False), ("人", "名", False), ("次", "场次", False), ("场", "场次", False),
    # a measure word for any count says nothing of what the column counts
    ("件", "个", False), ("个", "件", False), ("个", "户", False), ("次", "件", False), ("条", "个", False),
    ("含社区", "个", False), ("累计", "户", False), ("单位：户", "户", False), ("单位:人次", "名", True),
])
def test_which_written_units_differ_from_a_fields(form, written, unit, differs):
    generic = frozenset(form.reader.generic_units)
    assert unit_differs(written, form.reader.units_for(unit), known_units(form), generic) is differs


def test_characters_that_show_as_nothing_are_no_part_of_a_header_or_a_name(tmp_path, form, units):
    """A zero-width space, a word joiner, a byte-order mark or a soft hyphen pasted into a header
    (from a web page, a chat) or a township's name: the clerk sees the form's words, and so
    does the reader. They were once a header 未能识别 and the return rejected."""
    rows = clean_rows()
    wb, plans = built(form, units, rows)
    plan, spec = plans["visits"], form.sheet("visits")
    ws = wb[VISITS]
    for key, mark in (("households_total", "\u200b"), ("households_visited", "\u2060"), ("linking_cadres", "\u00ad")):
        cell = _label_cell(plan, spec, key)
        label = ws[cell].value
        ws[cell] = label[:2] + mark + label[2:] + " "
    ws[f"{column(plan, 'township')}{plan.header_top}"] = "乡镇\ufeff"
    ws[f"{column(plan, 'township')}{plan.first_data}"] = "\u200b" + rows[0]["township"]
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert result.findings == ()
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


def test_a_part_named_in_brackets_is_no_note_on_the_label():
    """走访农户数（其中贫困户） heads a part of the count (the poor households visited): its
    brackets are never dropped to find 走访农户数, as a unit's or an inclusion note's are."""
    from pipeline.spec.labels import label_variants, normalise_label

    assert normalise_label("走访农户数") not in label_variants("走访农户数（其中贫困户）")
    assert normalise_label("走访农户数") in label_variants("走访农户数（含重复走访）")
    assert normalise_label("走访农户数") in label_variants("走访农户数（户）")


# Headers clerks retype in their own words, read as the form's (a reviewer's find: each rejected
# the return as a missing column).
REWORDED = [
    ("visits", "township", "乡镇名"),
    ("visits", "villages_total", "村总数"),
    ("visits", "villages_visited", "已走访村"),
    ("visits", "villages_newly_linked", "新增联系村"),
    ("visits", "households_total", "总户数"),
    ("visits", "households_visited", "已走访户数"),
    ("visits", "households_visited_twice", "走访两次及以上户数"),
    ("problems", "precision_found", "排查"),
    ("problems", "precision_fixed", "已整改数"),
    ("problems", "guarantees_fixed", "整改"),
    ("problems", "disputes_fixed", "已化解数"),
]


@pytest.mark.parametrize("sheet, key, header", REWORDED, ids=[c[2] for c in REWORDED])
def test_a_header_in_the_clerks_own_words_reads_as_the_forms(tmp_path, form, units, sheet, key, header):
    rows = clean_rows()
    wb, plans = built(form, units, rows)
    spec = form.sheet(sheet)
    field = next(f for f in spec.fields if f.key == key)
    cell = (_label_cell(plans[sheet], spec, key) if key != "township"
            else f"{column(plans[sheet], key)}{plans[sheet].header_top}")
    assert field.group or wb[SHEET_OF[sheet]][cell].value not in (None, "")
    wb[SHEET_OF[sheet]][cell] = header
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert result.findings == ()
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)
