"""What clerks do to a return when they finish it, each built in tmp_path from a clean return.

Every case reads to the figures the clerk wrote, or carries a finding that names the cell:
remarks and notes, 汇总 and 小计 rows, a filtered SUBTOTAL total, spaced labels, zero-hiding
formulas, the issued template's spare rows, chart sheets, empty and all-zero sheets, a file
whose name and content name two counties, OpenDocument files.
"""

from __future__ import annotations

from datetime import date

import pytest

from pipeline.outputs.blank_forms import blank_form
from pipeline.outputs.formbook import Layout, build_with_plans, workbook_bytes
from pipeline.run.report import build_run
from tests.builders import clean_rows, expected_numbers, numbers_of, place, read_one, subtotal_row
from tests.habits import (
    CODE,
    NOTES,
    OUTCOMES,
    PARTS,
    PROBLEMS,
    VISITS,
    _chart_sheet,
    _computed_columns,
    as_string_result,
    built,
    cached,
    column,
    edit_part,
    rules,
    write,
)

# --- silently wrong before --------------------------------------------------------------


def test_a_remark_starting_with_a_note_word_does_not_end_the_table(tmp_path, form, units):
    wb, plans = built(form, units, layout=Layout(extra_columns=("序号", "备注")))
    for spec in form.sheets:
        plan = plans[spec.key]
        ws = wb[f"{spec.number}{spec.label}"]
        ws.cell(plan.first_data, plan.width, "注:该镇数据已与统计局核对")
        ws.cell(plan.first_data + 1, plan.width, "注：含新并入的两个村")
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert result.findings == ()
    assert numbers_of(result.ret, form) == expected_numbers(clean_rows(), form)
    assert all(s.total_row == plans[k].total_row for k, s in result.ret.sheets.items())  # the 合计 row is read




@pytest.mark.parametrize("where", ["under-the-table", "under-the-footer"])
def test_notes_under_the_table_are_not_townships(tmp_path, form, units, where):
    wb, plans = built(form, units)
    for spec in form.sheets:
        plan = plans[spec.key]
        ws = wb[f"{spec.number}{spec.label}"]
        start = plan.total_row + 1 if where == "under-the-table" else plan.footer_row + 1
        if where == "under-the-table":
            ws.insert_rows(start, len(NOTES))
        for i, note in enumerate(NOTES):
            ws.cell(start + i, 1, note)
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert result.findings == ()
    assert numbers_of(result.ret, form) == expected_numbers(clean_rows(), form)
    assert (result.ret.filled_by, result.ret.reviewed_by, result.ret.phone) == ("王丽", "陈强", "0931-8123456")


def test_a_note_between_townships_is_a_note_and_a_bare_text_row_a_warning(tmp_path, form, units):
    wb, plans = built(form, units)
    plan = plans["visits"]
    ws = wb[VISITS]
    ws.insert_rows(plan.first_data + 1, 2)
    ws.cell(plan.first_data + 1, 1, "注：以下为川区乡镇")
    ws.cell(plan.first_data + 2, 1, "川区乡镇")  # a text with no figure, above townships
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert rules(result) == {("warning", "text-only-row", VISITS, f"A{plan.first_data + 2}")}
    [f] = result.findings
    assert "川区乡镇" in f.message and "未作为乡镇计入" in f.message
    assert numbers_of(result.ret, form) == expected_numbers(clean_rows(), form)


def _note_beside_figures(tmp_path, form, units, label: str):
    """The return read with a row labelled `label` and a figure (7, in C) under its first township."""
    wb, plans = built(form, units)
    plan = plans["visits"]
    ws = wb[VISITS]
    ws.insert_rows(plan.first_data + 1)
    ws.cell(plan.first_data + 1, 1, label)
    ws.cell(plan.first_data + 1, 3, 7)
    write(tmp_path, workbook_bytes(wb))
    return read_one(tmp_path, form, units), f"C{plan.first_data + 1}"


def test_figures_beside_a_note_are_named_not_dropped_silently(tmp_path, form, units):
    """A note is never a township; should its row hold figures, they are not added, and the
    clerk learns the cell: the sum read is short of what was written only with a finding."""
    result, cell = _note_beside_figures(tmp_path, form, units, "注：新并入乡镇")
    assert ("warning", "note-with-figures", VISITS, cell) in rules(result)
    assert numbers_of(result.ret, form) == expected_numbers(clean_rows(), form)


def test_a_note_marked_with_a_footnote_sign_is_quoted_as_written(tmp_path, form, units):
    """①贫困村 beside figures starts a note (a footnote mark); the clerk is shown ①, as written,
    not the ※ the reader takes it for."""
    result, _ = _note_beside_figures(tmp_path, form, units, "①贫困村")
    [f] = [f for f in result.findings if f.rule == "note-with-figures"]
    assert "所在行以“①贫困村”开头" in f.message


def test_the_reader_never_stops_above_the_sheets_total_row(tmp_path, form, units):
    wb, plans = built(form, units)
    for spec in form.sheets:
        plan = plans[spec.key]
        ws = wb[f"{spec.number}{spec.label}"]
        ws.insert_rows(plan.total_row)
        ws.cell(plan.total_row, 1, "负责人：张伟")  # a signature line typed above the 合计
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert result.findings == ()
    assert numbers_of(result.ret, form) == expected_numbers(clean_rows(), form)
    assert result.ret.sheets["visits"].total_row == plans["visits"].total_row + 1


def test_an_excel_table_totals_row_labelled_汇总_is_the_total(tmp_path, form, units):
    wb, plans = built(form, units, layout=Layout(total_label="汇总"))
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert result.findings == ()
    assert numbers_of(result.ret, form) == expected_numbers(clean_rows(), form)
    assert result.ret.sheets["visits"].total_row == plans["visits"].total_row


def _with_subtotals(form, units, off_by: int = 0):
    """Townships 1-2 then 小计, township 3 then 小计, then 合计; the first 小计's first count off by `off_by`."""
    rows = clean_rows()
    wb, plans = built(form, units, rows)
    for spec in form.sheets:
        plan = plans[spec.key]
        ws = wb[f"{spec.number}{spec.label}"]
        subtotal_row(ws, spec, plan, plan.first_data + 2, "川区小计", rows[:2])
        subtotal_row(ws, spec, plan, plan.first_data + 4, "小  计", rows[2:])
        first = spec.count_fields[0]
        ws.cell(plan.first_data + 2, plan.columns[first.key]).value += off_by
    return wb, plans


def test_subtotal_rows_are_not_added_to_the_county(tmp_path, form, units):
    wb, _ = _with_subtotals(form, units)
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert result.findings == ()
    assert numbers_of(result.ret, form) == expected_numbers(clean_rows(), form)


def test_a_subtotal_that_does_not_add_up_is_a_warning_at_its_cell(tmp_path, form, units):
    wb, plans = _with_subtotals(form, units, off_by=3)
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    row = plans["visits"].first_data + 2
    assert rules(result) == {("warning", "subtotal-mismatch", s, f"B{row}") for s in (VISITS, PROBLEMS, OUTCOMES)}
    msg = next(f.message for f in result.findings if f.sheet == VISITS)
    assert msg == f"{place('表一', f'B{row}')}小计行的行政村总数为{12 + 13 + 3}，其上各乡镇之和为{12 + 13}：请核对。小计不计入汇总。"
    assert numbers_of(result.ret, form) == expected_numbers(clean_rows(), form)


# (a filter on the sheet, the SUBTOTAL's function, the finding on each sheet's 合计 or none)
HIDDEN_UNDER_SUBTOTAL = [
    (True, 109, ("info", "total-filtered")),  # the filter hides 新庄乡
    (True, 9, ("info", "total-filtered")),
    # 新庄乡 hidden by hand, left out by SUBTOTAL(109): the clerk's table shows a total without it
    (False, 109, ("warning", "total-hidden-rows")),
    (False, 9, None),  # SUBTOTAL(9) sums a row hidden by hand: a 合计 like any, checked
]


@pytest.mark.parametrize("filtered, function, said", HIDDEN_UNDER_SUBTOTAL)
def test_a_subtotal_total_over_hidden_rows_is_recomputed_from_every_township(tmp_path, form, units, filtered,
                                                                            function, said):
    rows = clean_rows()
    wb, plans = built(form, units, rows, layout=Layout(total_label="汇总"))
    edits = {}
    leaves_out = filtered or function >= 100
    for spec in form.sheets:
        plan = plans[spec.key]
        ws = wb[f"{spec.number}{spec.label}"]
        if filtered:
            ws.auto_filter.ref = f"A{plan.header_bottom}:{column(plan, spec.count_fields[-1].key)}{plan.last_data}"
        ws.row_dimensions[plan.first_data + 1].hidden = True
        cells = []
        for f in spec.count_fields:
            letter = column(plan, f.key)
            ws[f"{letter}{plan.total_row}"] = (f"=SUBTOTAL({function},{letter}{plan.first_data}:"
                                               f"{letter}{plan.last_data})")
            shown = rows[0][f.key] + rows[2][f.key] + (0 if leaves_out else rows[1][f.key])
            cells.append((f"{letter}{plan.total_row}", shown))
        edits[PARTS[f"{spec.number}{spec.label}"]] = cells
    data = workbook_bytes(wb)
    for part, cells in edits.items():
        for ref, value in cells:
            data = edit_part(data, part, cached(ref, value))
    write(tmp_path, data)
    result = read_one(tmp_path, form, units)
    assert rules(result) == ({(*said, s, f"A{plans['visits'].total_row}") for s in (VISITS, PROBLEMS, OUTCOMES)}
                             if said else set())
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)  # 新庄乡 is still the county's


def test_spaced_labels_are_matched_like_unspaced_ones(tmp_path, form, units):
    wb, plans = built(form, units, layout=Layout(total_label="合　　计"))
    for spec in form.sheets:
        plan = plans[spec.key]
        ws = wb[f"{spec.number}{spec.label}"]
        for c in range(1, plan.width + 1):
            v = ws.cell(plan.footer_row, c).value
            if isinstance(v, str):
                ws.cell(plan.footer_row, c, v.replace("填表人", "填 表 人").replace("审核人", "审　核　人").replace(":", "："))
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert result.findings == ()
    assert (result.ret.filled_by, result.ret.reviewed_by, result.ret.phone) == ("王丽", "陈强", "0931-8123456")
    assert numbers_of(result.ret, form) == expected_numbers(clean_rows(), form)


# --- rejected before, though right --------------------------------------------------------


@pytest.mark.parametrize("empty", ["<v/>", "<v></v>"])
def test_a_zero_hiding_formula_is_a_blank_count(tmp_path, form, units, empty):
    rows = clean_rows()
    wb, plans = built(form, units, rows)
    plan = plans["outcomes"]
    ref = f"{column(plan, 'role_models')}{plan.first_data + 1}"
    wb[OUTCOMES][ref] = f'=IF({column(plan, "grassroots_orgs")}{plan.first_data + 1}>99,1,"")'
    data = edit_part(workbook_bytes(wb), PARTS[OUTCOMES], as_string_result(ref, empty))
    write(tmp_path, data)
    result = read_one(tmp_path, form, units)
    expected = [dict(r) for r in rows]
    expected[1]["role_models"] = 0
    assert result.findings == ()
    assert numbers_of(result.ret, form) == expected_numbers(expected, form)


@pytest.mark.parametrize("typed", ["", ' t="n"'])
def test_a_formula_never_computed_stays_without_value(tmp_path, form, units, typed):
    wb, plans = built(form, units)
    plan = plans["outcomes"]
    ref = f"{column(plan, 'role_models')}{plan.first_data + 1}"
    wb[OUTCOMES][ref] = "=B6*0"
    data = edit_part(workbook_bytes(wb), PARTS[OUTCOMES], lambda xml: xml.replace(f'<c r="{ref}"', f'<c r="{ref}"{typed}'))
    write(tmp_path, data)
    result = read_one(tmp_path, form, units)
    assert rules(result) == {("error", "formula-without-value", OUTCOMES, ref)}




def test_the_issued_templates_spare_rows_are_empty_rows(tmp_path, form, units):
    rows = clean_rows()
    wb, plans = built(form, units, rows)
    edits = _computed_columns(wb, plans, rows, spare=3)
    data = workbook_bytes(wb)
    for edit in edits:
        data = edit_part(data, PARTS[PROBLEMS], edit)
    write(tmp_path, data)
    result = read_one(tmp_path, form, units)
    assert result.findings == ()
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)




def test_computed_columns_as_formulas_with_no_results_reject_nothing(tmp_path, form, units):
    """表二's 合计 and 整改率 columns filled down as formulas a program left uncomputed (openpyxl,
    a report system): each township's was formula-without-value, an error, and the county went
    back for columns the form works out itself from the counts."""
    rows = clean_rows()
    wb, plans = built(form, units, rows)
    _computed_columns(wb, plans, rows, spare=0)
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert result.findings == ()
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


def test_a_chart_sheet_named_图表1_is_not_表1(tmp_path, form, units):
    wb, _ = built(form, units)
    wb[VISITS].title = "表1"
    _chart_sheet(wb, "图表1")
    data_sheet = wb.create_sheet("图表2")  # a worksheet feeding a chart: its name is not 表2 either
    data_sheet["A1"] = "乡镇"
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert result.findings == ()
    assert result.ret.sheets["visits"].name == "表1" and result.ret.sheets["problems"].name == PROBLEMS
    assert numbers_of(result.ret, form) == expected_numbers(clean_rows(), form)


def test_附表1_is_still_表1_and_a_sheet_without_cells_is_no_candidate(tmp_path, form, units):
    wb, _ = built(form, units)
    wb[VISITS].title = "附表1"
    wb.create_sheet("表1")  # left empty
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert result.findings == ()
    assert result.ret.sheets["visits"].name == "附表1"


def test_the_form_declares_the_prefixes(tmp_path, form, units):
    from dataclasses import replace

    wb, _ = built(form, units)
    wb[VISITS].title = "图表1"  # a worksheet, but its name says chart: not 表1 by its name
    write(tmp_path, workbook_bytes(wb))
    # Its title and header say what it is, as they would to a person: taken, and said so.
    assert rules(read_one(tmp_path, form, units)) == {("info", "sheet-found", "图表1", "A1")}
    without = replace(form, reader=replace(form.reader, not_sheet_prefixes=()))
    assert read_one(tmp_path, without, units).findings == ()


def test_file_name_county_learns_its_file_held_another_countys_figures(tmp_path, form, units, settings):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    wrong, _ = built(form, units, filed_on=date(2016, 12, 5))  # 城关区's figures, saved under 宁县's name
    own, _ = built(form, units, filed_on=date(2016, 12, 6))
    (inbox / "621026_宁县.xlsx").write_bytes(workbook_bytes(wrong))
    (inbox / f"{CODE}_城关区.xlsx").write_bytes(workbook_bytes(own))
    run = build_run(inbox, settings)
    status = {u.code: u for u in run.roster.units}
    assert status[CODE].status == "included" and status[CODE].source.path == f"{CODE}_城关区.xlsx"
    assert status["621026"].status == "rejected" and status["621026"].source.path == "621026_宁县.xlsx"
    [conflict] = [f for f in run.findings if f.rule == "unit-conflict"]
    assert (conflict.severity.value, conflict.county_code, conflict.file) == ("error", "621026", "621026_宁县.xlsx")
    assert "宁县" in conflict.message and "城关区" in conflict.message
    # 城关区 counted once.
    assert int(run.totals.province["villages_total"]) == sum(r["villages_total"] for r in clean_rows())


def test_file_name_county_with_its_own_return_keeps_its_status(tmp_path, form, units, settings):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    wrong, _ = built(form, units, filed_on=date(2016, 12, 5))
    (inbox / "621026_宁县.xlsx").write_bytes(workbook_bytes(wrong))
    nx = build_with_plans(form, units.by_code("621026"), clean_rows(), filed_on=date(2016, 12, 6))[0]
    (inbox / "宁县报表.xlsx").write_bytes(workbook_bytes(nx))
    run = build_run(inbox, settings)
    status = {u.code: u for u in run.roster.units}
    assert status["621026"].status == "included" and status["621026"].source.path == "宁县报表.xlsx"
    assert status[CODE].status == "rejected"  # its only file is the mislabelled one
    # The conflict is the return's, 城关区's; 宁县, which sent its own, is told of the file named for it.
    assert {f.county_code for f in run.findings if f.rule == "unit-conflict"} == {CODE}
    assert {f.county_code for f in run.findings if f.rule == "misnamed-file"} == {"621026"}


# --- empty and all-zero sheets ------------------------------------------------------------


@pytest.mark.parametrize("townships", [None, ["城关镇", "新庄乡", "石岭镇"]])
def test_the_blank_template_is_rejected_one_finding_a_sheet(tmp_path, form, units, townships):
    write(tmp_path, blank_form(form, units.by_code(CODE), townships))
    result = read_one(tmp_path, form, units)
    got = {(f.severity.value, f.rule, f.sheet, f.cell) for f in result.findings if f.rule != "date-missing"}
    assert got == {("error", "sheet-empty", s, "") for s in (VISITS, PROBLEMS, OUTCOMES)}
    msg = next(f.message for f in result.findings if f.sheet == VISITS)
    assert msg.startswith("表一未填报数据：")


def test_a_sheet_of_zeros_is_a_warning(tmp_path, form, units):
    rows = clean_rows()
    for r in rows:
        for f in form.sheet("outcomes").count_fields:
            r[f.key] = 0
    wb, _ = built(form, units, rows)
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert rules(result) == {("warning", "sheet-all-zero", OUTCOMES, "")}


def test_a_township_of_zero_hiding_formulas_is_a_township_of_zeros(tmp_path, form, units):
    """Every count of 新庄乡 hidden by its formula: an entry in each cell, so a township, not a
    text row."""
    rows = clean_rows()
    wb, plans = built(form, units, rows)
    plan = plans["outcomes"]
    r = plan.first_data + 1
    edits = []
    for f in form.sheet("outcomes").count_fields:
        ref = f"{column(plan, f.key)}{r}"
        wb[OUTCOMES][ref] = '=IF(1>2,1,"")'
        edits.append(as_string_result(ref))
        wb[OUTCOMES][f"{column(plan, f.key)}{plan.total_row}"] = rows[0][f.key] + rows[2][f.key]
        rows[1][f.key] = 0
    data = workbook_bytes(wb)
    for e in edits:
        data = edit_part(data, PARTS[OUTCOMES], e)
    write(tmp_path, data)
    result = read_one(tmp_path, form, units)
    assert result.findings == ()
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


@pytest.mark.parametrize("carried, said", [(700, True), (None, False)])
def test_a_formula_carrying_a_stale_result_is_an_error_at_its_cell(tmp_path, form, units, carried, said):
    """=E5 carrying 700 where E5 holds 797, in a workbook that does not ask to be computed on
    opening (a report system filling a template in, POI's way): Excel shows 797, the reader
    summed 700, and the 合计's SUM, as stale, agreed."""
    import re

    rows = clean_rows()
    wb, plans = built(form, units, rows, layout=Layout(total="none"))
    v = plans["visits"]
    total, visited = column(v, "households_total"), column(v, "households_visited")
    ref = f"{visited}{v.first_data}"
    wb[VISITS][ref] = f"={total}{v.first_data}"
    rows[0]["households_visited"] = rows[0]["households_total"]
    result_held = rows[0]["households_total"] if carried is None else carried
    data = edit_part(workbook_bytes(wb), PARTS[VISITS], cached(ref, result_held))
    data = edit_part(data, "xl/workbook.xml", lambda xml: re.sub(r"<calcPr[^>]*/>", "", xml))
    write(tmp_path, data)
    result = read_one(tmp_path, form, units)
    if said:
        assert rules(result) == {("error", "formula-result-stale", VISITS, ref)}
        assert f"是公式“={total}{v.first_data}”，按表中数字算得{rows[0]['households_total']}，文件里保存的结果却是700" in (
            result.findings[0].message)
    else:
        assert result.findings == ()
        assert numbers_of(result.ret, form) == expected_numbers(rows, form)


@pytest.mark.parametrize("value, fmt, rule, said", [
    (3, "d", "count-shown-otherwise", "设了单元格格式“日期或时间”，表中显示的不是单元格里的数（3）"),
    (797, "yyyy/m/d", "count-shown-otherwise", "设了单元格格式“日期或时间”，表中显示的不是单元格里的数（797）"),
    ("2016-12-05", None, "not-a-count", "2016-12-05"),  # a date typed into the count: said as typed
])
def test_a_count_in_a_dates_format_is_said_as_the_number_it_holds(tmp_path, form, units, value, fmt, rule, said):
    """3 under the format d: the engine gives 1900-01-03, and the clerk was told the cell held
    “1900-01-03”, a date no one typed."""
    from datetime import datetime

    rows = clean_rows()
    wb, plans = built(form, units, rows)
    v = plans["visits"]
    ref = f"{column(v, 'villages_total')}{v.first_data}"
    cell = wb[VISITS][ref]
    cell.value = datetime(2016, 12, 5) if fmt is None else value
    if fmt:
        cell.number_format = fmt
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    [f] = [f for f in result.findings if f.cell == ref]
    assert (f.rule, f.sheet) == (rule, VISITS) and said in f.message


@pytest.mark.parametrize("fmt, said", [(";;;", True), ("0;-0;0;@", False), ("@", False)])
def test_a_count_typed_as_text_under_a_format_hiding_text_is_said(tmp_path, form, units, fmt, said):
    """'797 typed as text under ;;; shows nothing: the number under the same format was said,
    the text was summed. (A format writing the text out shows it.)"""
    rows = clean_rows()
    wb, plans = built(form, units, rows)
    v = plans["visits"]
    ref = f"{column(v, 'households_visited')}{v.first_data}"
    wb[VISITS][ref] = str(rows[0]["households_visited"])
    wb[VISITS][ref].number_format = fmt
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    if said:
        assert rules(result) == {("error", "count-shown-otherwise", VISITS, ref)}
    else:
        assert not [f for f in result.findings if f.cell == ref and f.severity.value == "error"]
