"""Tables clerks rebuild, found by what they say, not where they sit (issue 24): tables pasted into
sheets named Sheet1 or the county's name, stacked on one sheet, a units row under the header,
其中 rows, the total row labelled 全县 or with the unit's own name, village rows under a merged
township, an old column hidden beside its correction, counts written in 万.

Each habit is built in tmp_path from a clean return, and reads to the figures the clerk wrote,
or carries a finding that names the cell.
"""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from pipeline.outputs.blank_forms import blank_form
from pipeline.outputs.formbook import Layout, build_with_plans, workbook_bytes
from pipeline.stages.read.pick import SheetPicker
from pipeline.stages.read.workbook import open_book
from tests.builders import checked_files, clean_rows, expected_numbers, fill, numbers_of, read_one, to_xls
from tests.habits import (
    CODE,
    OUTCOMES,
    PROBLEMS,
    VISITS,
    breakdown_row,
    built,
    column,
    old_column_hidden,
    rules,
    stack_sheets,
    units_row,
    village_rows,
    write,
)

SHEETS = (VISITS, PROBLEMS, OUTCOMES)


def found_as(result) -> set:
    return {(f.sheet, f.cell) for f in result.findings if f.rule == "sheet-found"}


# --- sheets found by their title or header -------------------------------------------------------


@pytest.mark.parametrize("names", [("Sheet1", "Sheet2", "Sheet3"), ("工作表1", "工作表2", "工作表3"),
                                   ("城关区", "城关区 (2)", "城关区 (3)")])
def test_tables_pasted_into_sheets_named_otherwise_are_known_by_their_titles(tmp_path, form, units, names):
    wb, _ = built(form, units)
    for ws, name in zip(wb.worksheets, names):
        ws.title = name
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert rules(result) == {("info", "sheet-found", name, "A1") for name in names}
    assert next(f.message for f in result.findings if f.sheet == names[1]) == (
        f"{form.location(names[1], 'A1')}起的表格按其标题和表头认作表二问题排查整改读取。")
    assert numbers_of(result.ret, form) == expected_numbers(clean_rows(), form)
    assert [result.ret.sheets[s.key].name for s in form.sheets] == list(names)


def test_items_split_into_this_month_and_to_date_columns_are_one_error_at_that_row(tmp_path, form, units):
    """Each item's header over two columns, 本月 and 累计, as web systems export them: the row of
    本月 | 累计 was read as a township's (twenty-odd errors about 本月 not being a count)."""
    from openpyxl import Workbook

    rows = clean_rows()
    wb, _ = built(form, units, rows)
    fields = list(form.sheet("outcomes").count_fields)
    split = Workbook()
    ws = split.active
    ws.title = OUTCOMES
    ws.cell(1, 1, "乡镇")
    ws.merge_cells(start_row=1, start_column=1, end_row=2, end_column=1)
    for i, f in enumerate(fields):
        ws.cell(1, 2 + 2 * i, f.label)
        ws.merge_cells(start_row=1, start_column=2 + 2 * i, end_row=1, end_column=3 + 2 * i)
        ws.cell(2, 2 + 2 * i, "本月")
        ws.cell(2, 3 + 2 * i, "累计")
    for n, row in enumerate(rows, start=3):
        ws.cell(n, 1, row["township"])
        for i, f in enumerate(fields):
            ws.cell(n, 2 + 2 * i, row[f.key] // 2)
            ws.cell(n, 3 + 2 * i, row[f.key])
    for sheet in (VISITS, PROBLEMS):
        copy = split.create_sheet(sheet)
        for r in wb[sheet].iter_rows():
            for c in r:
                if c.value is not None:
                    copy.cell(c.row, c.column, c.value)
        for rng in wb[sheet].merged_cells.ranges:
            copy.merge_cells(str(rng))
    write(tmp_path, workbook_bytes(split))
    result = read_one(tmp_path, form, units)
    said = [f for f in result.findings if f.sheet == OUTCOMES]
    assert [(f.severity.value, f.rule, f.cell) for f in said] == [("error", "columns-by-period", "B2")]
    assert "各项指标下又分“本月”“累计”等列，不知哪一列是本次要汇总的数" in said[0].message


def test_two_tables_on_each_others_sheets_are_each_read_where_it_is(tmp_path, form, units):
    """表一 and 表二 renamed the wrong way round: every column of each was said to be missing,
    and the clerk told to rename headers that were right."""
    rows = clean_rows()
    wb, _ = built(form, units, rows)
    wb[VISITS].title, wb[PROBLEMS].title = "表二", "表一"
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert rules(result) == {("info", "sheet-found", "表二", "A1"), ("info", "sheet-found", "表一", "A1")}
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


def test_without_a_title_a_table_is_known_by_a_header_only_it_fits(tmp_path, form, units):
    wb, plans = built(form, units, layout=Layout(title=False))
    for i, ws in enumerate(wb.worksheets, start=1):
        ws.title = f"Sheet{i}"
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    top = plans["visits"].header_top
    # Each table named where its header starts (表二's has two rows: its first, not its last).
    assert rules(result) == {("info", "sheet-found", f"Sheet{i}", f"A{top}") for i in (1, 2, 3)} | {
        ("warning", "date-missing", "", "")}
    assert "按其表头认作表一走访情况读取" in next(f.message for f in result.findings if f.sheet == "Sheet1")
    assert numbers_of(result.ret, form) == expected_numbers(clean_rows(), form)


def test_the_instructions_sheet_naming_every_table_is_never_taken(tmp_path, form, units):
    """The issued template's 填报说明 names 表一, 表二 and 表三 line by line, with no header under
    them: filled in and its form sheets renamed, the tables are still found where they are."""
    data = fill(blank_form(form, units.by_code(CODE), ["城关镇", "新庄乡", "石岭镇"]), form, clean_rows())
    wb = load_workbook(io.BytesIO(data))
    for i, spec in enumerate(form.sheets, start=1):
        wb[f"{spec.number}{spec.label}"].title = f"Sheet{i}"
    write(tmp_path, _saved(wb))
    result = read_one(tmp_path, form, units)
    assert {f.sheet for f in result.findings if f.rule == "sheet-found"} == {"Sheet1", "Sheet2", "Sheet3"}
    assert not [f for f in result.findings if f.severity.value == "error"], result.findings
    assert numbers_of(result.ret, form) == expected_numbers(clean_rows(), form)


def test_two_equally_good_candidates_are_still_an_error(tmp_path, form, units):
    wb, _ = built(form, units)
    for i, ws in enumerate(wb.worksheets, start=1):
        ws.title = f"Sheet{i}"
    wb.copy_worksheet(wb["Sheet1"]).title = "Sheet4"
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    [f] = [f for f in result.findings if f.rule == "sheet-ambiguous"]
    assert f.severity.value == "error" and "“Sheet1”A1、“Sheet4”A1" in f.message and "走访情况" in f.message
    # the table may be one split in two (表一（1）, 表一（2）): keeping one would drop townships
    assert f.message.endswith("如是同一张表分在几个工作表中，请合并到一个工作表；否则请只保留一个。")
    assert "visits" not in result.ret.sheets


def test_sheet_picking_ranks_its_candidates_with_the_unit_each_names(tmp_path, form, units):
    """A city's workbook holding two counties' 表一: both candidates, each naming its county."""
    wb, _ = built(form, units)
    other, _ = build_with_plans(form, units.by_code("620103"), clean_rows(), filed_on=None)
    copy = wb.create_sheet("Sheet9")
    for row in other.worksheets[0].iter_rows():
        for c in row:
            copy.cell(c.row, c.column, c.value)
    wb.worksheets[0].title = "Sheet8"
    book = open_book(workbook_bytes(wb))
    ranked = SheetPicker(form, book).candidates(form.sheet("visits"))
    assert [(c.grid.name, c.unit(units, form)) for c in ranked] == [("Sheet8", CODE), ("Sheet9", "620103")]
    assert ranked[0].rank == ranked[1].rank  # equally good: the reader says so rather than choose
    assert [c.grid.name for c in SheetPicker(form, book).candidates(form.sheet("problems"))] == [PROBLEMS]


# --- several tables on one sheet ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["Sheet1", VISITS])
def test_three_tables_stacked_on_one_sheet_each_read_as_its_table(tmp_path, form, units, name):
    rows = clean_rows()
    rows[1]["precision_found"] = "十二"  # a finding in the second block names its own cell
    wb, plans = built(form, units, rows)
    stacked, at = stack_sheets(wb, name=name)
    write(tmp_path, workbook_bytes(stacked))
    result = read_one(tmp_path, form, units)
    second = at[PROBLEMS] - 1  # rows of the second block lie this much lower than on its own sheet
    bad = f"{column(plans['problems'], 'precision_found')}{plans['problems'].first_data + 1 + second}"
    expected = {("error", "not-a-count", name, bad)} | {
        ("info", "sheet-found", name, f"A{at[s]}") for s in SHEETS if s != VISITS or name != VISITS}
    assert rules(result) == expected
    rows[1]["precision_found"] = None
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)
    for spec, sheet in zip(form.sheets, SHEETS):
        assert result.ret.sheets[spec.key].total_row == plans[spec.key].total_row + at[sheet] - 1
    assert (result.ret.filled_by, result.ret.phone) == ("王丽", "0931-8123456")


@pytest.mark.parametrize("order", [SHEETS, SHEETS[::-1]])
@pytest.mark.parametrize("gap", [0, 2])
def test_three_tables_stacked_with_no_titles_are_cut_at_their_headers(tmp_path, form, units, order, gap):
    """The tables pasted one under another without their titles: each header has every column
    of its table, and the block held the others' headers too, so none was read (missing-sheet
    three times for a return whose every figure was there)."""
    rows = clean_rows()
    wb, plans = built(form, units, rows, layout=Layout(title=False))
    for sheet in SHEETS:
        wb.move_sheet(sheet, order.index(sheet) - wb.sheetnames.index(sheet))
    stacked, at = stack_sheets(wb, gap=gap)
    write(tmp_path, workbook_bytes(stacked))
    result = read_one(tmp_path, form, units)
    tops = {sheet: at[sheet] - 1 + plans[spec.key].header_top for spec, sheet in zip(form.sheets, SHEETS)}
    assert rules(result) == {("info", "sheet-found", "Sheet1", f"A{tops[s]}") for s in SHEETS} | {
        ("warning", "date-missing", "", "")}
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)
    for spec, sheet in zip(form.sheets, SHEETS):
        assert result.ret.sheets[spec.key].total_row == plans[spec.key].total_row + at[sheet] - 1


def test_a_table_pasted_untitled_under_a_titled_one_ends_the_one_above(tmp_path, form, units):
    """表三 pasted under 表二's footer without its title: 表二, found by its title, ran on past
    its 合计 into 表三's rows (some fifty errors against a return whose figures were right)."""
    rows = clean_rows()
    wb, plans = built(form, units, rows)
    outcomes = wb[OUTCOMES]
    for rng in [m for m in outcomes.merged_cells.ranges if m.max_row < plans["outcomes"].header_top]:
        outcomes.unmerge_cells(str(rng))
    for r in range(1, plans["outcomes"].header_top):
        for c in range(1, outcomes.max_column + 1):
            outcomes.cell(r, c).value = None
    stacked, at = stack_sheets(wb)
    write(tmp_path, workbook_bytes(stacked))
    result = read_one(tmp_path, form, units)
    assert {f.rule for f in result.findings} == {"sheet-found"}
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)
    assert result.ret.sheets["problems"].total_row == plans["problems"].total_row + at[PROBLEMS] - 1


def test_a_table_pasted_untitled_under_one_on_its_named_sheet_ends_it(tmp_path, form, units):
    """表三 pasted under 表二 on the sheet named 表二, without its title: 表三's header was taken
    for 表二's printed again, and its rows for 表二's townships (some fifty errors)."""
    rows = clean_rows()
    wb, plans = built(form, units, rows)
    problems, outcomes, o = wb[PROBLEMS], wb[OUTCOMES], plans["outcomes"]
    below = problems.max_row + 2
    for row in outcomes.iter_rows(min_row=o.header_top):
        for c in row:
            if c.value is not None:
                problems.cell(below + c.row - o.header_top, c.column, c.value)
    for rng in outcomes.merged_cells.ranges:
        if rng.min_row >= o.header_top:
            problems.merge_cells(start_row=below + rng.min_row - o.header_top, start_column=rng.min_col,
                                 end_row=below + rng.max_row - o.header_top, end_column=rng.max_col)
    del wb[OUTCOMES]
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert rules(result) == {("info", "sheet-found", PROBLEMS, f"A{below}")}
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


def test_two_tables_side_by_side_on_one_sheet_are_not_cut(tmp_path, form, units):
    """Two tables' headers on one row: no cut says whose rows are whose; the sheet's second
    乡镇 column is said, as before, and nothing is summed from it."""
    wb, plans = built(form, units, layout=Layout(title=False))
    visits, problems = wb[VISITS], wb[PROBLEMS]
    shift = visits.max_column + 1
    for row in problems.iter_rows():
        for c in row:
            if c.value is not None:
                visits.cell(c.row, c.column + shift, c.value)
    del wb[PROBLEMS]
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert {("error", "column-duplicate", VISITS, cell) for cell in ("K1", "K2")} <= rules(result)


def test_a_header_far_down_the_sheet_is_found(tmp_path, form, units):
    wb, plans = built(form, units, layout=Layout(preamble=tuple(f"第{i}行说明文字" for i in range(40))))
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert result.findings == ()
    assert numbers_of(result.ret, form) == expected_numbers(clean_rows(), form)
    assert result.ret.sheets["visits"].rows[0] == plans["visits"].first_data > 40


# --- a units row -----------------------------------------------------------------------------------


@pytest.mark.parametrize("bracketed", [(), ("villages_total", "households_total", "policy_sessions", "precision_found")])
def test_a_units_row_under_the_header_is_part_of_it(tmp_path, form, units, bracketed):
    wb, plans = built(form, units)
    units_row(wb, form, plans, bracketed)
    wb[VISITS].cell(plans["visits"].first_data, plans["visits"].columns["linking_cadres"], "人")  # 名's synonym
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert result.findings == ()
    assert numbers_of(result.ret, form) == expected_numbers(clean_rows(), form)
    assert result.ret.sheets["visits"].rows[0] == plans["visits"].first_data + 1


@pytest.mark.parametrize("spell", ["单位：{}", "计量单位:{}", "{}/村", "（{}）/村"])
def test_units_written_with_their_label_or_per_what_are_a_units_row(tmp_path, form, units, spell):
    wb, plans = built(form, units)
    units_row(wb, form, plans)
    for spec in form.sheets:
        ws, plan = wb[f"{spec.number}{spec.label}"], plans[spec.key]
        for f in spec.count_fields:
            ws.cell(plan.first_data, plan.columns[f.key], spell.format(f.unit))
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert result.findings == ()
    assert numbers_of(result.ret, form) == expected_numbers(clean_rows(), form)


@pytest.mark.parametrize("suffix", ["/户", "／户", " / 户"])
def test_a_unit_after_a_slash_in_the_header_is_its_unit(tmp_path, form, units, suffix):
    """走访2次以上农户数/户: refused as a column the form does not have (column-unrecognised)."""
    wb, plans = built(form, units)
    plan = plans["visits"]
    header = wb[VISITS].cell(plan.header_top, plan.columns["households_visited_twice"])
    header.value = f"{header.value}{suffix}"
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert result.findings == ()
    assert numbers_of(result.ret, form) == expected_numbers(clean_rows(), form)


def test_a_table_turned_townships_across_is_one_error_at_its_first_item(tmp_path, form, units):
    """表一 with the form's items down column A and a township a column: each field was said to be
    missing, and the figures of a row listed as headers it did not recognise."""
    rows = clean_rows()
    wb, plans = built(form, units, rows, layout=Layout(total="none"))
    plan, ws = plans["visits"], wb[VISITS]
    spec = form.sheet("visits")
    for rng in list(ws.merged_cells.ranges):
        if rng.min_row >= plan.header_top:
            ws.unmerge_cells(str(rng))
    for row in ws.iter_rows(min_row=plan.header_top):
        for cell in row:
            cell.value = None
    top = plan.header_top
    ws.cell(top, 1, "项目")
    for j, r in enumerate(rows):
        ws.cell(top, 2 + j, r["township"])
    for i, f in enumerate(spec.count_fields):
        ws.cell(top + 1 + i, 1, f.label)
        for j, r in enumerate(rows):
            ws.cell(top + 1 + i, 2 + j, r[f.key])
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert {(rule, sheet, cell) for _, rule, sheet, cell in rules(result) if sheet == VISITS} == {
        ("table-transposed", VISITS, f"A{top + 1}")}


def test_a_row_of_other_words_under_the_header_is_not_a_units_row(tmp_path, form, units):
    wb, plans = built(form, units)
    units_row(wb, form, plans)
    plan = plans["visits"]
    wb[VISITS].cell(plan.first_data, plan.columns["households_total"], "个")  # not 户: not its unit
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert ("error", "township-missing", VISITS, f"A{plan.first_data}") in rules(result)


# --- figures under no header ------------------------------------------------------------------------


def test_figures_pasted_a_column_right_of_their_headers_are_an_error(tmp_path, form, units):
    """表三's townships pasted one column right: the first field blank on every row (read as 0),
    the last figure under no header. Each figure would be read as its neighbour's."""
    rows = clean_rows()
    wb, plans = built(form, units, rows, layout=Layout(total="none"))
    plan, ws = plans["outcomes"], wb[OUTCOMES]
    columns = sorted(plan.columns[f.key] for f in form.sheet("outcomes").count_fields)
    for r in range(plan.first_data, plan.first_data + len(rows)):
        for c in reversed(columns):
            ws.cell(r, c + 1, ws.cell(r, c).value)
        ws.cell(r, columns[0]).value = None
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    beyond = f"{get_column_letter(columns[-1] + 1)}{plan.first_data}"
    assert ("error", "figures-without-header", OUTCOMES, beyond) in rules(result)


def test_a_check_column_beside_a_whole_table_is_a_warning(tmp_path, form, units):
    rows = clean_rows()
    wb, plans = built(form, units, rows, layout=Layout(total="none"))
    plan, ws = plans["visits"], wb[VISITS]
    for i, r in enumerate(range(plan.first_data, plan.first_data + len(rows))):
        ws.cell(r, plan.width + 2, i * 7 + 3)  # a clerk's own check, two columns off, no header
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert rules(result) == {("warning", "figures-without-header", VISITS,
                              f"{get_column_letter(plan.width + 2)}{plan.first_data}")}
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


def test_last_periods_table_pasted_below_is_not_read_and_said(tmp_path, form, units):
    """The whole of 表一 (title, header, townships, 合计, footer) copied under itself with older
    figures, for reference: this period's table is read, the copy is named and not added."""
    rows = clean_rows()
    wb, plans = built(form, units, rows)
    ws = wb[VISITS]
    copied = [[c.value for c in row] for row in ws.iter_rows()]
    below = ws.max_row + 3
    for i, values in enumerate(copied):
        for j, v in enumerate(values, start=1):
            if isinstance(v, int):
                v -= 1
            elif i == 0 and isinstance(v, str):
                v = v.replace("表一", "表一（上期）", 1)
            if v is not None:
                ws.cell(below + i, j, v)
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert rules(result) == {("warning", "second-table-below", VISITS, f"A{below}")}
    assert "（上期）" in result.findings[0].message  # as the clerk wrote it
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


@pytest.mark.parametrize("label", ["上年同期", "去年同期数", "同比增减", "上期"])
def test_a_row_of_another_periods_figures_is_never_added(tmp_path, form, units, label):
    """上年同期 under the townships, no 合计 to give it away: never added, and nothing to tell the
    clerk (the row is right where it is)."""
    from tests.habits import breakdown_row

    rows = clean_rows()
    wb, plans = built(form, units, rows, layout=Layout(total="none"))
    plan, spec = plans["outcomes"], form.sheet("outcomes")
    last = plan.first_data + len(rows) - 1
    breakdown_row(wb[OUTCOMES], spec, plan, last, label, {f.key: 7 for f in spec.count_fields})
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert result.findings == ()
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


# --- the header printed again for a second page ----------------------------------------------------


@pytest.mark.parametrize("title", ["", "表一（续）"])
@pytest.mark.parametrize("header_rows", [2, 1])
def test_the_header_repeated_for_a_second_page_is_no_township(tmp_path, form, units, header_rows, title):
    """Clerks copy the header rows (merges and all) above the townships that print on page two,
    the table's title carried over (表一（续）) or not: nothing to say, nothing added."""
    rows = clean_rows()
    wb, plans = built(form, units, rows, layout=Layout(header_rows=header_rows))
    for spec in form.sheets:
        ws, plan = wb[f"{spec.number}{spec.label}"], plans[spec.key]
        at, depth = plan.first_data + 2, plan.header_bottom - plan.header_top + 1
        if title:
            ws.insert_rows(at)
            ws.cell(at, 1, title.replace("表一", spec.number))
            at += 1
        ws.insert_rows(at, depth)
        for i in range(depth):
            for c in range(1, plan.width + 1):
                ws.cell(at + i, c, ws.cell(plan.header_top + i, c).value)
        for merged in list(ws.merged_cells.ranges):
            if merged.min_row >= plan.header_top and merged.max_row <= plan.header_bottom:
                shift = at - plan.header_top
                ws.merge_cells(start_row=merged.min_row + shift, start_column=merged.min_col,
                               end_row=merged.max_row + shift, end_column=merged.max_col)
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert result.findings == ()
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


# --- 其中 rows -----------------------------------------------------------------------------------


def _read_with_breakdowns(tmp_path, form, units, label: str, layout: Layout = Layout()):
    """A return with a row `label` under its first township on every sheet, half its figures."""
    rows = clean_rows()
    wb, plans = built(form, units, rows, layout=layout)
    for spec in form.sheets:
        plan = plans[spec.key]
        part = {f.key: rows[0][f.key] // 2 for f in spec.count_fields}
        breakdown_row(wb[f"{spec.number}{spec.label}"], spec, plan, plan.first_data, label, part)
    write(tmp_path, workbook_bytes(wb))
    return read_one(tmp_path, form, units), rows, plans


@pytest.mark.parametrize("label", ["其中：贫困乡镇", "其中:贫困乡镇", "其中", "其　中：", "其中，贫困村", "内：贫困村"])
def test_a_breakdown_row_is_never_added(tmp_path, form, units, label):
    result, rows, _ = _read_with_breakdowns(tmp_path, form, units, label)
    assert result.findings == ()
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


def test_a_township_whose_name_begins_with_a_breakdown_word_is_a_township(tmp_path, form, units):
    """内官营镇 (定西市安定区) begins with 内: only 内： with its colon breaks a row down."""
    rows = clean_rows()
    rows[1]["township"] = "内官营镇"
    wb, _ = built(form, units, rows)
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert result.findings == ()
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


def test_a_breakdown_larger_than_its_row_is_a_warning_at_its_cell(tmp_path, form, units):
    rows = clean_rows()
    wb, plans = built(form, units, rows)
    spec, plan = form.sheet("visits"), plans["visits"]
    breakdown_row(wb[VISITS], spec, plan, plan.first_data + 1, "其中：贫困村",
                  {"villages_total": rows[1]["villages_total"] + 5, "households_total": 10})
    breakdown_row(wb[VISITS], spec, plan, plan.first_data - 1, "其中", {"villages_total": 1})  # under the header
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    row = plan.first_data + 3  # under 新庄乡, which the row inserted above moved down one
    assert rules(result) == {("warning", "breakdown-exceeds", VISITS, f"B{row}"),
                             ("warning", "breakdown-alone", VISITS, f"A{plan.first_data}")}
    message = next(f.message for f in result.findings if f.rule == "breakdown-exceeds")
    assert message == (f"{form.location(VISITS, f'B{row}')}“其中：贫困村”是上一行的其中数，其行政村总数（{rows[1]['villages_total'] + 5}）"
                       f"大于上一行的{rows[1]['villages_total']}：请核对。其中数不计入汇总。")
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


def test_a_township_whose_name_begins_with_其_stays_a_township(tmp_path, form, units):
    rows = clean_rows()
    rows[1]["township"] = "其乐乡"
    wb, _ = built(form, units, rows)
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert result.findings == ()
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


@pytest.mark.parametrize("label", ["其中贫困乡镇", "其中 贫困村"])
def test_a_breakdown_written_without_its_colon_is_read_as_one_and_said(tmp_path, form, units, label):
    """其中贫困乡镇 under a township: its part, as the clerk most likely meant, never added a
    second time; and a warning at its cell, in case it is a township's name after all."""
    result, rows, plans = _read_with_breakdowns(tmp_path, form, units, label, Layout(total="none"))
    row = plans["visits"].first_data + 1
    assert rules(result) == {("warning", "breakdown-unmarked", f"{s.number}{s.label}", f"A{row}") for s in form.sheets}
    message = next(f.message for f in result.findings if f.sheet == VISITS)
    assert f"“{label}”一行按其中数读取" in message and "如这是一个乡镇" in message
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


# --- the total row by the county's words -------------------------------------------------------------


@pytest.mark.parametrize("label", ["全县", "全 市", "全　区：", "全旗", "城关区", "城关区合计", "城关区："])
@pytest.mark.parametrize("where", ["last", "first"])
def test_the_total_row_labelled_全县_or_with_the_units_own_name_is_the_total(tmp_path, form, units, label, where):
    wb, plans = built(form, units, layout=Layout(total_label=label, total=where))
    plan = plans["visits"]
    wb[VISITS].cell(plan.total_row, plan.columns["villages_total"]).value += 1  # checked like 合计
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert result.findings == ()
    assert numbers_of(result.ret, form) == expected_numbers(clean_rows(), form)
    assert all(s.total_row == plans[k].total_row for k, s in result.ret.sheets.items())
    [checked] = checked_files(tmp_path, form, units)
    assert {(f.rule, f.cell) for f in checked.findings} == {("total-row-mismatch", f"B{plan.total_row}")}


def test_the_short_name_labels_the_total_but_a_stem_is_a_township(tmp_path, form, units):
    """张家川县 is 张家川回族自治县's short name: its total row. 古浪镇 is a township of 古浪县."""
    rows = clean_rows()
    wb, plans = build_with_plans(form, units.by_code("620525"), rows, filed_on=None, layout=Layout(total_label="张家川县"))
    write(tmp_path, workbook_bytes(wb), name="620525_张家川回族自治县.xlsx")
    result = read_one(tmp_path, form, units)
    assert result.ret.county_code == "620525" and result.ret.sheets["visits"].total_row == plans["visits"].total_row
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)
    rows[0]["township"] = "古浪镇"
    wb, _ = build_with_plans(form, units.by_code("620622"), rows, filed_on=None)
    (tmp_path / "620525_张家川回族自治县.xlsx").unlink()
    write(tmp_path, workbook_bytes(wb), name="620622_古浪县.xlsx")
    result = read_one(tmp_path, form, units)
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)  # 古浪镇 is read as the township it is


def test_another_units_name_is_no_total(tmp_path, form, units):
    rows = clean_rows()
    rows[2]["township"] = "七里河区"  # another county's name: a township as far as this return goes
    wb, _ = built(form, units, rows)
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


# --- village rows -------------------------------------------------------------------------------------


def _villages(row: dict, names=("东村", "西村", "南村")) -> list[dict]:
    """The township's figures split over its villages, every part a whole number."""
    out = []
    for i, name in enumerate(names):
        out.append({"village": name} | {k: (v // len(names) + (v % len(names) if i == 0 else 0))
                                        for k, v in row.items() if k != "township"})
    return out


@pytest.mark.parametrize("merged, village_column", [(True, 0), (False, 2), (True, 2)])
def test_village_rows_are_summed_into_their_township(tmp_path, form, units, merged, village_column):
    rows = clean_rows()
    wb, plans = built(form, units, rows)
    for spec in form.sheets:
        plan = plans[spec.key]
        village_rows(wb[f"{spec.number}{spec.label}"], spec, plan, plan.first_data + 1, "新庄乡", _villages(rows[1]),
                     merged=merged, village_column=village_column)
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    shift = 1 if village_column else 0
    at = plans["visits"].first_data + 1
    assert rules(result) == {("info", "villages-summed", s, f"A{at}") for s in SHEETS}
    assert "乡镇“新庄乡”下各村的3行数据已合计为该乡镇的数字" in result.findings[0].message
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)
    sheet = result.ret.sheets["visits"]
    assert sheet.rows == (plans["visits"].first_data, at, at + 3) and sheet.columns["villages_total"] == "BC"[shift]


def test_a_township_typed_again_on_each_village_row_is_one_township(tmp_path, form, units):
    """新庄乡 written beside each of its villages in a 村 column (filled down, or a sorted
    sheet): duplicate-township at every village row, the county sent back for a layout the
    form reads."""
    rows = clean_rows()
    wb, plans = built(form, units, rows)
    for spec in form.sheets:
        plan, ws = plans[spec.key], wb[f"{spec.number}{spec.label}"]
        taken = village_rows(ws, spec, plan, plan.first_data + 1, "新庄乡", _villages(rows[1]), merged=False,
                             village_column=2)
        for r in taken:
            ws.cell(r, plan.columns[spec.key_field.key], "新庄乡")
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    at = plans["visits"].first_data + 1
    assert rules(result) == {("info", "villages-summed", s, f"A{at}") for s in SHEETS}
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


@pytest.mark.parametrize("line", ["小计", "全镇"])
def test_a_townships_subtotal_line_in_the_village_column_is_never_a_village(tmp_path, form, units, line):
    """新庄乡 | 小计 (or 全镇) | its sums, among its villages with the name typed on each: it was
    summed as one more village (the township counted twice, with no word). It stays a row of
    its own, which validation says is the township written twice (duplicate-township)."""
    rows = clean_rows()
    wb, plans = built(form, units, rows, layout=Layout(total="none"))
    spec, plan, ws = form.sheet("visits"), plans["visits"], wb[VISITS]
    villages = _villages(rows[1], ("东村", "西村"))
    taken = village_rows(ws, spec, plan, plan.first_data + 1, "新庄乡", villages, merged=False, village_column=2)
    for r in taken:
        ws.cell(r, plan.columns["township"], "新庄乡")
    ws.insert_rows(taken[-1] + 1)
    ws.cell(taken[-1] + 1, plan.columns["township"], "新庄乡")
    ws.cell(taken[-1] + 1, 2, line)
    for f in spec.count_fields:
        ws.cell(taken[-1] + 1, plan.columns[f.key] + 1, rows[1][f.key])
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    # Read as the township's row again, which validation says is the township written twice.
    assert result.ret.sheets["visits"].townships.count("新庄乡") == 2


def test_a_bad_village_figure_names_the_village_rows_own_cell(tmp_path, form, units):
    rows = clean_rows()
    wb, plans = built(form, units, rows)
    spec, plan = form.sheet("outcomes"), plans["outcomes"]
    villages = _villages(rows[1])
    villages[2]["training_sessions"] = "约3"
    taken = village_rows(wb[OUTCOMES], spec, plan, plan.first_data + 1, "新庄乡", villages)
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    bad = f"{column(plan, 'training_sessions')}{taken[2]}"
    assert ("error", "not-a-count", OUTCOMES, bad) in rules(result)
    assert result.ret.sheets["outcomes"].values["training_sessions"][1] is None  # never a partial sum


def test_a_village_over_the_count_it_may_not_exceed_is_an_error_at_its_own_row(tmp_path, form, units):
    """One village visiting more households than it has, another fewer: the township's sum was
    within, and the rule was never said; one over alone was named at the township's first row,
    whose own figures were within. Each village's row is checked as a township's is."""
    rows = clean_rows()
    wb, plans = built(form, units, rows)
    spec, plan = form.sheet("visits"), plans["visits"]
    villages = _villages(rows[1], ("东村", "西村"))
    villages[0]["households_visited"] -= 5
    villages[1]["households_visited"] = villages[1]["households_total"] + 3
    taken = village_rows(wb[VISITS], spec, plan, plan.first_data + 1, "新庄乡", villages, village_column=2)
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    over = [f for f in result.findings if f.rule == "visited-exceeds-total" and f.field == "households_visited"]
    letter = get_column_letter(plan.columns["households_visited"] + 1)  # the 村 column inserted before it
    assert [(f.sheet, f.cell) for f in over] == [(VISITS, f"{letter}{taken[1]}")]
    assert f"走访农户数（{villages[1]['households_visited']}）大于农户总数（{villages[1]['households_total']}）" in over[0].message


def test_a_township_row_standing_over_its_villages_is_checked_not_added(tmp_path, form, units):
    """The township's own row with its figures, its 村 cell blank, the villages under it: the
    township's figures stand, and each that its villages do not add up to is an error."""
    rows = clean_rows()
    wb, plans = built(form, units, rows)
    spec, plan = form.sheet("visits"), plans["visits"]
    ws = wb[VISITS]
    villages = _villages(rows[1], ("东村", "西村"))
    villages[1]["households_total"] += 7
    ws.insert_rows(plan.first_data + 2, 2)
    for i, v in enumerate(villages):
        for f in spec.count_fields:
            ws.cell(plan.first_data + 2 + i, plan.columns[f.key], v[f.key])
        ws.cell(plan.first_data + 2 + i, plan.width + 1, v["village"])
    ws.cell(plan.header_top, plan.width + 1, "村名")
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert rules(result) == {("error", "villages-differ", VISITS, f"E{plan.first_data + 1}")}
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


def test_a_blank_township_cell_elsewhere_is_still_township_missing(tmp_path, form, units):
    rows = clean_rows()
    rows[1]["township"] = None
    wb, plans = built(form, units, rows)
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    row = plans["visits"].first_data + 1
    assert rules(result) == {("error", "township-missing", s, f"A{row}") for s in SHEETS}


# --- an old column hidden beside its correction --------------------------------------------------------


@pytest.mark.parametrize("fmt", ["xlsx", "xls", "ods"])
def test_the_shown_column_is_read_and_the_hidden_one_named(tmp_path, form, units, fmt):
    rows = clean_rows()
    wb, plans = built(form, units, rows)
    old, new = old_column_hidden(wb[OUTCOMES], plans["outcomes"], "practical_matters", [1, 2, 3])
    data = workbook_bytes(wb)
    if fmt == "xls":
        data = to_xls(data)
    elif fmt == "ods":
        from tests.office import convert

        src = tmp_path / "src"
        src.mkdir()
        (src / "620102_城关区.xlsx").write_bytes(data)
        data = convert([src / "620102_城关区.xlsx"], "ods", tmp_path / "ods", tmp_path / "profile")[
            "620102_城关区.xlsx"].read_bytes()
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write(inbox, data, name=f"620102_城关区.{fmt}")
    result = read_one(inbox, form, units)
    header = plans["outcomes"].header_top
    assert rules(result) == {("warning", "column-hidden-duplicate", OUTCOMES, f"{old}{header}")}
    assert result.findings[0].message == (f"{form.location(OUTCOMES, f'{old}{header}')}帮办实事数有两列：读取了显示的{new}列，隐藏的{old}列没有读取："
                                          "如隐藏的是旧数据，请删除该列。")
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)
    assert result.ret.sheets["outcomes"].columns["practical_matters"] == new


def test_two_shown_columns_for_one_field_are_an_error_naming_both(tmp_path, form, units):
    wb, plans = built(form, units)
    old, new = old_column_hidden(wb[OUTCOMES], plans["outcomes"], "practical_matters", [1, 2, 3], hide=False)
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    header = plans["outcomes"].header_top
    assert rules(result) == {("error", "column-duplicate", OUTCOMES, f"{new}{header}")}
    assert f"帮办实事数有两列（{old}列、{new}列）" in result.findings[0].message


# --- counts in 万 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("written", ["1.2万", "3万", "1.2 万户", "１．２万"])
def test_a_count_in_万_asks_for_the_exact_number(tmp_path, form, units, written):
    rows = clean_rows()
    rows[0]["households_total"] = written
    wb, plans = built(form, units, rows)
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    cell = f"{column(plans['visits'], 'households_total')}{plans['visits'].first_data}"
    assert rules(result) == {("error", "count-in-wan", VISITS, cell)}
    assert result.findings[0].message == (f"{form.location(VISITS, cell)}的农户总数为“{written}”，以“万”为单位不是确切的数："
                                          "请填写确切的整数（例如12345），不要写“万”。")


def _saved(wb) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --- under the footer --------------------------------------------------------------------------


def test_a_township_typed_under_the_footer_is_an_error_at_its_cell(tmp_path, form, units):
    """No 合计 row, and a township added two rows under 填表人: its figures are not added, and
    the return goes back saying where they are, never dropped without a word."""
    rows = clean_rows()
    wb, plans = built(form, units, rows, layout=Layout(total="none"))
    plan, ws = plans["outcomes"], wb[OUTCOMES]
    below = plan.footer_row + 2
    ws.cell(below, 1, "新城乡")
    for f in form.sheet("outcomes").count_fields:
        ws.cell(below, plan.columns[f.key], 3)
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert rules(result) == {("error", "figures-below-footer", OUTCOMES, f"A{below}")}
    assert "“新城乡”一行在填表人等落款之下" in result.findings[0].message
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


def test_the_clerks_telephone_and_date_under_the_footer_are_no_figures(tmp_path, form, units):
    rows = clean_rows()
    wb, plans = built(form, units, rows, layout=Layout(total="none"))
    plan, ws = plans["outcomes"], wb[OUTCOMES]
    ws.cell(plan.footer_row + 1, 1, "联系电话")
    ws.cell(plan.footer_row + 1, plan.columns[form.sheet("outcomes").count_fields[0].key], 13800000000)
    ws.cell(plan.footer_row + 2, 1, "2016年12月5日")
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert not any(f.rule == "figures-below-footer" for f in result.findings)
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


# --- merged cells over figures -----------------------------------------------------------------


@pytest.mark.parametrize("across", [True, False], ids=["two fields", "two townships"])
def test_a_figure_merged_over_two_count_cells_is_an_error_at_its_cell(tmp_path, form, units, across):
    """The sheet shows 5 over both cells; the engine gives it to the first and reads the other
    as blank, 0: which cell it belongs to is the clerk's to say."""
    rows = clean_rows()
    wb, plans = built(form, units, rows, layout=Layout(total="none"))
    plan, ws = plans["outcomes"], wb[OUTCOMES]
    keys = [f.key for f in form.sheet("outcomes").count_fields]
    r, c = plan.first_data, plan.columns[keys[0]]
    end_r, end_c = (r, plan.columns[keys[1]]) if across else (r + 1, c)
    ws.cell(end_r, end_c).value = None
    ws.merge_cells(start_row=r, start_column=c, end_row=end_r, end_column=end_c)
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    first = f"{get_column_letter(c)}{r}"
    assert rules(result) == {("error", "merged-figure", OUTCOMES, first)}
    assert f"（{first}:{get_column_letter(end_c)}{end_r}）" in result.findings[0].message


@pytest.mark.parametrize("far", ["A6001", "ZZZ5"])
def test_a_figure_merged_over_two_counts_is_said_on_a_sheet_read_through_its_window(tmp_path, form, units, far):
    """A stray cell far out has the sheet read through a window, which gives no merged cells: the
    sheet's scan gives them, and the figure merged over two counts is still said at its cell."""
    wb, plans = built(form, units, clean_rows(), layout=Layout(total="none"))
    plan, ws = plans["outcomes"], wb[OUTCOMES]
    keys = [f.key for f in form.sheet("outcomes").count_fields]
    r, c, end = plan.first_data, plan.columns[keys[0]], plan.columns[keys[1]]
    ws.cell(r, end).value = None
    ws.merge_cells(start_row=r, start_column=c, end_row=r, end_column=end)
    ws[far] = "x"
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert ("error", "merged-figure", OUTCOMES, f"{get_column_letter(c)}{r}") in rules(result)
    assert any(f.rule == "stray-cells" and far in f.message for f in result.findings)


@pytest.mark.parametrize("none", [None, "—", "无", 0])
def test_merged_labels_and_a_merged_blank_are_no_figures(tmp_path, form, units, none):
    """The header's merges, a township's name merged with the column beside it, and empty count
    cells merged together lose nothing: no finding. Nor does a "—" or 无 or 0 written once over
    them (a reviewer's find: merged-figure rejected it): none is none in every cell it covers."""
    rows = clean_rows()
    wb, plans = built(form, units, rows, layout=Layout(total="none"))
    plan, ws = plans["outcomes"], wb[OUTCOMES]
    keys = [f.key for f in form.sheet("outcomes").count_fields]
    r = plan.first_data + 1
    for k in keys[:2]:
        ws.cell(r, plan.columns[k]).value = None
    ws.cell(r, plan.columns[keys[0]]).value = none
    ws.merge_cells(start_row=r, start_column=plan.columns[keys[0]], end_row=r, end_column=plan.columns[keys[1]])
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert not any(f.severity.value == "error" for f in result.findings), result.findings
    values = result.ret.sheets["outcomes"].values
    assert (values[keys[0]][1], values[keys[1]][1]) == (0, 0)


# --- a table carried on in another sheet -------------------------------------------------------


def _carried_on(wb, plans, title: str, hidden: bool = False):
    """A copy of 表一 under `title` holding two more townships, as a clerk continues a table."""
    plan = plans["visits"]
    ws = wb.copy_worksheet(wb[VISITS])
    ws.title = title
    ws.cell(plan.first_data, 1, "新城乡")
    ws.cell(plan.first_data + 1, 1, "黄峪乡")
    if hidden:
        ws.sheet_state = "hidden"
    return plan


@pytest.mark.parametrize("title", ["Sheet2", "续表"])
def test_a_table_carried_on_in_another_sheet_is_said(tmp_path, form, units, title):
    wb, plans = built(form, units, clean_rows(), layout=Layout(total="none"))
    plan = _carried_on(wb, plans, title)
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    found = [f for f in result.findings if f.rule == "table-not-read"]
    assert [(f.severity.value, f.sheet) for f in found] == [("warning", title)]
    assert found[0].cell in {f"A{plan.first_data - 2}", f"A{plan.first_data - 1}"}  # the copied header's
    assert "另有表一走访情况的表头和乡镇数字，这张工作表没有汇总" in found[0].message
    assert numbers_of(result.ret, form) == expected_numbers(clean_rows(), form)  # as read: the sheets named 表一…


@pytest.mark.parametrize("title", ["表一（续）", "表一（新）", "表一修改后", "表一最终版", "表一 (2)", "表1(2)"])
def test_a_sheet_named_for_the_table_beside_it_is_ambiguous(tmp_path, form, units, title):
    """A continuation or a corrected copy named after the table (表一（新）, 表一修改后) beside the
    template's 表一走访情况: one of the two was summed with no more than a warning at the other
    (a reviewer's find: the old figures, the new copy's unread), where 表1 (2) was already
    ambiguous. The clerk is asked to merge them or keep one."""
    wb, plans = built(form, units, clean_rows(), layout=Layout(total="none"))
    _carried_on(wb, plans, title)
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert rules(result) == {("error", "sheet-ambiguous", VISITS, "")}
    assert f"“{VISITS}”、“{title}”" in result.findings[0].message


def test_spare_sheets_and_a_hidden_old_copy_are_not_said(tmp_path, form, units):
    wb, plans = built(form, units, clean_rows(), layout=Layout(total="none"))
    _carried_on(wb, plans, "旧表", hidden=True)
    wb.create_sheet("Sheet3")
    wb.create_sheet("说明")["A1"] = "本表数据截至12月5日"
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert not any(f.rule == "table-not-read" for f in result.findings)


# --- number formats that show another number ---------------------------------------------------


@pytest.mark.parametrize("held, number_format", [(1, "0%"), (1, "0.00%"), (3, '0.0"万"'), (12, '#,##0,"千户"'),
                                                  (1, ";;;"),  # ;;; shows nothing at all
                                                  (3000, "#,###,"),  # 3000 shown as 3, no word to say so
                                                  (5, ";-0;0"),  # a positive count shown as nothing
                                                  (5, '"";-0;0'), (5, '"-";-0;0'),  # or as nothing, or a dash
                                                  (1023, "0.00E+00"),  # 1.02E+03
                                                  (1078, '0"0"'), (1078, "0\\0"), (1078, '"1"0'),  # 10780, 11078
                                                  (1223, "0\\.0"), (1223, '0"."0'), (1223, "0-0"),  # 122.3, 122-3
                                                  (1083, '"约"0'), (1083, '0"余"'), (1083, '0"户左右"'),  # a guess
                                                  # a reviewer's finds, each summed with no word:
                                                  (60, '""'), (60, '" "'), (60, '"无"'), (60, '"-"'),  # one section, no digit
                                                  (60, "-0"), (60, "\\-0"), (60, '"-"0'), (60, "(0)"), (60, "[Red](0)"),
                                                  (60, '"负"0'),  # a count shown as negative
                                                  (60, "0 0"), (60, "0*0"),  # 6 0; zeros filling the cell
                                                  (60, "[$-804]aaaa")])  # 星期三
def test_a_count_its_format_shows_as_another_number_is_an_error_at_its_cell(tmp_path, form, units, held,
                                                                             number_format):
    """100% typed into a count is held as 1; a 3 formatted 0.0"万" shows 3.0万: the engine reads
    the number held, never the one the clerk sees."""
    rows = clean_rows()
    wb, plans = built(form, units, rows, layout=Layout(total="none"))
    plan, ws = plans["outcomes"], wb[OUTCOMES]
    key = form.sheet("outcomes").count_fields[0].key
    cell = ws.cell(plan.first_data, plan.columns[key])
    cell.value, cell.number_format = held, number_format
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert rules(result) == {("error", "count-shown-otherwise", OUTCOMES, cell.coordinate)}
    assert f"设了单元格格式“{number_format}”" in result.findings[0].message


@pytest.mark.parametrize("number_format", ['"第"0"名"', '0"户"', "0 000", "#,##0", '[$-804]0', "0.0"])
def test_a_format_that_shows_the_count_with_words_or_spaces_around_it_reads_as_the_count(tmp_path, form, units,
                                                                                         number_format):
    """第1223名, 1223户, 1 223, 1,223: the count as the clerk typed it, with words or spaces around
    its digits (a quoted 0 between two words is no digit of the format's own)."""
    rows = clean_rows()
    wb, plans = built(form, units, rows, layout=Layout(total="none"))
    plan, ws = plans["outcomes"], wb[OUTCOMES]
    key = form.sheet("outcomes").count_fields[0].key
    ws.cell(plan.first_data, plan.columns[key]).number_format = number_format
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert result.findings == ()
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


def test_a_count_with_no_style_of_its_own_shows_as_the_normal_style_does(tmp_path, form, units):
    """A cell with no style attribute takes the workbook's first style (Normal, 常规): when a
    template's Normal shows counts as percentages, a count typed in a plain cell is shown as
    one too, and said."""
    from tests.habits import edit_part

    wb, plans = built(form, units, clean_rows(), layout=Layout(total="none"))
    plan = plans["outcomes"]
    cell = wb[OUTCOMES].cell(plan.first_data, plan.columns[form.sheet("outcomes").count_fields[0].key])
    data = edit_part(workbook_bytes(wb), "xl/styles.xml", lambda xml: re.sub(
        r'(<cellXfs[^>]*><xf numFmtId=")0"', r'\g<1>9"', xml))
    data = edit_part(data, "xl/worksheets/sheet3.xml", lambda xml: re.sub(
        rf'(<c r="{cell.coordinate}") s="\d+"', r"\1", xml))
    write(tmp_path, data)
    result = read_one(tmp_path, form, units)
    assert rules(result) == {("error", "count-shown-otherwise", OUTCOMES, cell.coordinate)}


@pytest.mark.parametrize("styles, shown", [
    # openpyxl writes out no codes (<numFmts count="0"/>): a built-in percent in a cell's style is found
    ('<numFmts count="0"/><cellStyleXfs count="1"><xf numFmtId="0"/></cellStyleXfs>'
     '<cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="9"/></cellXfs>', {1: "0%"}),
    # a percent among the named styles (cellStyleXfs) that no cell uses says nothing
    ('<numFmts count="0"/><cellStyleXfs count="1"><xf numFmtId="9"/></cellStyleXfs>'
     '<cellXfs count="1"><xf numFmtId="0"/></cellXfs>', {}),
    # codes written out, with no attribute on <numFmts>, used by a cell's style or not
    ('<numFmts><numFmt numFmtId="164" formatCode="0.0&quot;万&quot;"/></numFmts>'
     '<cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="164"/></cellXfs>', {1: '0.0"万"'}),
    ('<numFmts count="1"><numFmt numFmtId="164" formatCode="0.0&quot;万&quot;"/></numFmts>'
     '<cellXfs count="1"><xf numFmtId="0"/></cellXfs>', {}),
    # a code that says no 万 or % and still shows another number, whatever the named styles hold
    ('<numFmts count="1"><numFmt numFmtId="176" formatCode="#,###,"/></numFmts><cellStyleXfs count="2">'
     '<xf numFmtId="0"/><xf numFmtId="9"/></cellStyleXfs><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="176"/>'
     '</cellXfs>', {1: "#,###,"}),
    ('<numFmts count="1"><numFmt numFmtId="177" formatCode=";-0;0"/></numFmts>'
     '<cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="177"/></cellXfs>', {1: ";-0;0"}),
    # the code before its id, as Gnumeric writes it; a > inside a code
    ('<numFmts count="2"><numFmt formatCode="0.0&quot;万&quot;" numFmtId="100"/>'
     '<numFmt formatCode="[>100]&quot;多&quot;;0" numFmtId="101"/></numFmts>'
     '<cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="100"/><xf numFmtId="101"/></cellXfs>',
     {1: '0.0"万"', 2: '[>100]"多";0'}),
    # the cells' styles cut short (a damaged part): those there are still looked at
    ('<numFmts count="0"/><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="10"/>', {1: "0.00%"}),
])
def test_the_styles_that_show_a_count_otherwise_are_the_cells_own(styles, shown):
    """Only the cells' own styles (cellXfs), in their order, say how a cell is shown; the quick
    look that passes most workbooks over misses no code that shows a count otherwise."""
    from pipeline.stages.read.scans import styles_shown_otherwise

    assert styles_shown_otherwise(f"<styleSheet>{styles}</styleSheet>".encode()) == shown


@pytest.mark.parametrize("builtin", [58, 31, 57])
def test_a_count_shown_as_a_date_by_a_chinese_built_in_format_is_an_error_at_its_cell(tmp_path, form, units, builtin):
    """1-2 typed into a count in Chinese Excel is held as 42372, its format the built-in 58 (1月2日),
    which the engine does not know for a date: the number it reads is no figure the clerk wrote."""
    from tests.habits import edit_part

    rows = clean_rows()
    wb, plans = built(form, units, rows, layout=Layout(total="none"))
    plan, ws = plans["outcomes"], wb[OUTCOMES]
    cell = ws.cell(plan.first_data, plan.columns[form.sheet("outcomes").count_fields[0].key])
    cell.value, cell.number_format = 42372, 'm"月"d"日"'  # a custom format, renumbered below as Excel writes it
    data = edit_part(workbook_bytes(wb), "xl/styles.xml", lambda xml: re.sub(
        r'<numFmt numFmtId="164"[^>]*/>', "", xml).replace('numFmtId="164"', f'numFmtId="{builtin}"'))
    write(tmp_path, data)
    result = read_one(tmp_path, form, units)
    assert rules(result) == {("error", "count-shown-otherwise", OUTCOMES, cell.coordinate)}
    assert "设了单元格格式“日期”" in result.findings[0].message and "（42372）" in result.findings[0].message


def test_a_units_format_and_a_blank_percent_cell_read_as_they_are(tmp_path, form, units):
    rows = clean_rows()
    wb, plans = built(form, units, rows, layout=Layout(total="none"))
    plan, ws = plans["outcomes"], wb[OUTCOMES]
    keys = [f.key for f in form.sheet("outcomes").count_fields]
    ws.cell(plan.first_data, plan.columns[keys[0]]).number_format = '0"户"'  # shows 12户: the number held
    blank = ws.cell(plan.first_data + 1, plan.columns[keys[1]])
    rows[1][keys[1]], blank.value, blank.number_format = 0, None, "0%"
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert result.findings == ()
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


# Formats a clerk puts on counts to show a 0 as a dash or as nothing: the count itself is shown
# by the section its value falls in, as Excel, WPS and LibreOffice all do.
ZERO_AS_A_DASH = ['[=0]"-";0', '[=0]"-";#,##0', '[=0]"";G/通用格式', '[=0]"—";0"户"', '[<1]"-";#,##0', '[<=0]"";0',
                  '[=0]"";0;@', '_ * #,##0_ ;_ * \\-#,##0_ ;_ * "-"_ ;_ @_ ', '"共;"0']


@pytest.mark.parametrize("number_format", ZERO_AS_A_DASH)
def test_a_count_whose_format_shows_a_zero_as_a_dash_reads_as_written(tmp_path, form, units, number_format):
    rows = clean_rows()
    wb, plans = built(form, units, rows, layout=Layout(total="none"))
    plan, ws = plans["outcomes"], wb[OUTCOMES]
    keys = [f.key for f in form.sheet("outcomes").count_fields]
    for i, key in enumerate(keys[:2]):  # a count, and a 0, each in that format
        cell = ws.cell(plan.first_data + i, plan.columns[key])
        cell.number_format = number_format
    rows[1][keys[1]] = ws.cell(plan.first_data + 1, plan.columns[keys[1]]).value = 0
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert result.findings == ()
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


@pytest.mark.parametrize("code, shows_otherwise", [
    *((code, False) for code in ZERO_AS_A_DASH),
    ("#,##0", False), ('0"户"', False), ("0_ ;[Red]\\-0\\ ", False), ("[$-804]G/通用格式", False), ("@;@", False),
    ("[>=0]0;[<0]-0", False), ('[<>0]0;"-"', False),
    (";;;", True), (";-0;0", True), ('"";-0;0', True), ('"-";-0;0', True), ("\\-;0", True),
    ('[>100]"多";0', True), ('[=5]"五";0', True), ('[>0]"有";"无"', True), ("#,###,", True), ('0.0"万"', True),
])
def test_which_number_formats_show_a_count_as_another_number(code, shows_otherwise):
    """A section a count of 1 or more may be shown by (the conditions followed, as Excel does)
    that shows no digit of it, or a code in 万, thousands or percent, shows it otherwise."""
    from pipeline.stages.read.scans import shown_as

    assert bool(shown_as(200, code)) is shows_otherwise


def test_a_damaged_spare_sheet_costs_the_return_nothing(tmp_path, form, units):
    """The look at the sheets no table was read from never makes the return unreadable: a spare
    sheet the engine chokes on is passed over, as it was before anyone looked."""
    from tests.builders import rewrite_sheet_xml

    rows = clean_rows()
    wb, _ = built(form, units, rows)
    wb.create_sheet("草稿")["A1"] = 987654321
    damaged = rewrite_sheet_xml(workbook_bytes(wb), lambda xml: xml.replace("<v>987654321</v>", "<v>987654321</v><x"))
    write(tmp_path, damaged)
    result = read_one(tmp_path, form, units)
    assert result.ret is not None, result.findings
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


# --- names as written --------------------------------------------------------------------------


def test_a_townships_name_keeps_its_full_width_brackets_whichever_width_a_sheet_typed(tmp_path, form, units):
    """NFKC, which names are compared in, makes （） ASCII: the report and the messages showed
    张乐街道(含原张家乐园社区) where the clerk wrote full-width brackets, as official writing has them."""
    from tests.habits import VISITS

    rows = clean_rows()
    rows[0]["township"] = "城关镇（含原新城社区）"
    rows[2]["township"] = "石岭镇（新）"
    wb, plans = built(form, units, rows)
    ws, plan = wb[VISITS], plans["visits"]
    ws.cell(plan.first_data, plan.columns["township"]).value = "城关镇(含原新城社区)"  # one sheet typed ASCII
    ws.cell(plan.first_data + 2, plan.columns["township"]).value = "石岭镇（旧）"  # and one name differs
    write(tmp_path, workbook_bytes(wb))
    [checked] = checked_files(tmp_path, form, units)
    for sheet in checked.result.ret.sheets.values():
        assert sheet.townships[0] == "城关镇（含原新城社区）"
    [differ] = [f for f in checked.findings if f.rule == "townships-differ"]
    assert "石岭镇（旧）" in differ.message and "石岭镇（新）" in differ.message
    assert "(" not in differ.message and ")" not in differ.message


def test_headers_reworded_are_named_where_they_stand(tmp_path, form, units):
    """农户数 for 农户总数: the column is there, its header not understood. One such header is named
    at its cell; two, each missing column names both, never only "add the column"."""
    from openpyxl.cell.cell import MergedCell

    from tests.habits import VISITS

    wb, plans = built(form, units, clean_rows())
    plan, ws = plans["visits"], wb[VISITS]

    def header(key):  # the cell holding the label: the lower row's, or the top of a merge over both
        return next(c for r in (plan.header_bottom, plan.header_top)
                    if not isinstance(c := ws.cell(r, plan.columns[key]), MergedCell))

    total = header("households_total")
    total.value = "农户数"
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert rules(result) == {("error", "column-unrecognised", VISITS, total.coordinate)}
    assert result.findings[0].message.endswith(
        "的表头“农户数”不是本表的指标名称，本表缺少农户总数列：如这一列就是农户总数，请把表头改为“农户总数”。")

    visited = header("households_visited")
    visited.value = "入户数"
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert rules(result) == {("error", "missing-column", VISITS, "")}
    assert len(result.findings) == 2
    for f in result.findings:
        assert f"（表头中“农户数”（{total.coordinate}）、“入户数”（{visited.coordinate}）未能识别，如是该列，请改用表样中的名称）" in f.message


# --- rows a clerk adds that are no township (a reviewer's finds: summed without a word) --------


@pytest.mark.parametrize("label", ["平均", "平均值", "差额", "核对", "2015年", "备注", "本月新增", "环比"])
def test_a_row_worked_out_from_the_townships_is_never_summed(tmp_path, form, units, label):
    """No 合计 row, and a row 平均 (or 差额, 2015年…) under the townships: it was summed as a
    township, and nothing cross-checked it."""
    rows = clean_rows()
    wb, plans = built(form, units, rows, layout=Layout(total="none", footer=False))
    plan, ws = plans["outcomes"], wb[OUTCOMES]
    r = plan.first_data + len(rows)
    ws.cell(r, plan.columns["township"], label)
    for f in form.sheet("outcomes").count_fields:
        ws.cell(r, plan.columns[f.key], 7)
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)
    if label in ("本月新增", "环比"):  # another period's row: never added, as 上年同期
        assert not result.findings
    else:
        assert rules(result) == {("warning", "note-with-figures", OUTCOMES, f"{column(plan, form.sheet('outcomes').count_fields[0].key)}{r}")}


def test_a_community_row_among_townships_is_asked_about(tmp_path, form, units):
    rows = clean_rows()
    rows[1]["township"] = "东岗社区"
    wb, _ = built(form, units, rows, layout=Layout(total="none"))
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert {f.rule for f in result.findings} == {"township-not-a-township"}


def test_a_second_total_row_that_says_otherwise_is_an_error_at_its_cell(tmp_path, form, units):
    """Two 合计 rows: only the first was checked, and a second the clerk wrote otherwise was dropped."""
    rows = clean_rows()
    wb, plans = built(form, units, rows, layout=Layout(footer=False))
    plan, ws = plans["outcomes"], wb[OUTCOMES]
    key = form.sheet("outcomes").count_fields[0].key
    total = plan.total_row
    again = total + 1
    for c in range(1, ws.max_column + 1):
        ws.cell(again, c, ws.cell(total, c).value)
    ws.cell(again, plan.columns[key]).value += 5
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    cell = f"{column(plan, key)}{again}"
    assert rules(result) == {("error", "total-rows-differ", OUTCOMES, cell)}
    assert f"与第{total}行合计的{sum(r[key] for r in rows)}不同" in result.findings[0].message
    # alike, nothing to say
    ws.cell(again, plan.columns[key]).value -= 5
    write(tmp_path, workbook_bytes(wb))
    assert read_one(tmp_path, form, units).findings == ()


@pytest.mark.parametrize("header", ["乡镇（街道）名称", "街道", "乡镇街道"])
def test_the_township_column_headed_as_an_urban_district_heads_it_is_read(tmp_path, form, units, header):
    """城关区's townships are 街道: 乡镇（街道）名称 or 街道 over them was 缺少乡镇列, with no cell (a reviewer's find)."""
    rows = clean_rows()
    wb, plans = built(form, units, rows)
    for key, plan in plans.items():
        ws = wb[f"{form.sheet(key).number}{form.sheet(key).label}"]
        col = plan.columns["township"]
        top = next(r for r in range(1, plan.first_data) if ws.cell(r, col).value in ("乡镇", "乡（镇）"))
        ws.cell(top, col).value = header
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert result.findings == ()
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


def test_a_township_header_left_above_a_row_added_over_the_header_is_said_at_its_cell(tmp_path, form, units):
    """A row 问题排查整改情况 added over 表二's header, 乡镇 left in the top row, not merged down:
    表二缺少乡镇列, with no cell, for a column the sheet has (a reviewer's find)."""
    wb, plans = built(form, units, clean_rows())
    ws = wb[PROBLEMS]
    plan = plans["problems"]
    col = plan.columns["township"]
    top = next(r for r in range(1, plan.first_data) if ws.cell(r, col).value in ("乡镇", "乡（镇）"))
    for merged in list(ws.merged_cells.ranges):
        if merged.min_row >= top:
            ws.unmerge_cells(str(merged))
    ws.insert_rows(top)
    ws.cell(top, col + 1, "问题排查整改情况")
    ws.cell(top, col, ws.cell(top + 1, col).value)
    ws.cell(top + 1, col).value = None
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    [f] = [f for f in result.findings if f.sheet == PROBLEMS]
    assert (f.severity.value, f.rule, f.cell) == ("error", "column-too-high", f"{get_column_letter(col)}{top}")
    assert "高出2行" in f.message
