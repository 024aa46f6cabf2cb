"""A 合计 row is never read as a township: not under the labels clerks write (合计：, 合计（万户）,
累计, Total), and not under a label nobody foresaw, which the sheet's own figures give away (a
row holding the sum of the other townships) and which rejects the return rather than
doubling the county."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.outputs.formbook import Layout, workbook_bytes
from pipeline.stages.read.layout import sums_of_the_others
from tests.builders import clean_rows, expected_numbers, numbers_of, place, read_one, subtotal_row
from tests.habits import OUTCOMES, PROBLEMS, VISITS, built, rules, write

SHEETS = (VISITS, PROBLEMS, OUTCOMES)
LABELS = ["合计：", "合计:", "合 计：", "合计（万户）", "合计(户)", "合计（户）：", "累计", "Total", "TOTAL", "total:",
          "全县合计：", "总计（件）", "共计", "全县共计", "全县乡镇合计数", "总计数", "全县总数",
          # longer, or the total word first, or a traditional character: as clerks write them too
          "全区24个街道(乡镇)合计", "全县各乡镇（街道）合计", "合计：24个街道", "全区24个街道", "合 计 24 个", "总和", "合計",
          "全区24个街道办事处合计"]


@pytest.mark.parametrize("label", LABELS)
@pytest.mark.parametrize("where", ["last", "first"])
def test_total_labels_clerks_write_are_the_total(tmp_path, form, units, label, where):
    wb, plans = built(form, units, layout=Layout(total_label=label, total=where))
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert result.findings == ()
    assert numbers_of(result.ret, form) == expected_numbers(clean_rows(), form)
    assert all(s.total_row == plans[k].total_row for k, s in result.ret.sheets.items())


@pytest.mark.parametrize("label", ["合计（户）：", "共计", "全县乡镇合计数", "全区24个街道(乡镇)合计", "合计：24个街道", "合計"])
def test_a_wrong_figure_under_such_a_label_is_still_checked_as_the_total(tmp_path, form, units, label):
    """A SUM whose range misses a township: the row is the total all the same, compared with the
    townships by validation (total-row-mismatch), never added as one more township."""
    wb, plans = built(form, units, layout=Layout(total_label=label))
    plan = plans["visits"]
    wb[VISITS].cell(plan.total_row, plan.columns["villages_total"]).value += 1
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert result.findings == ()  # the reader keeps the row as the 合计; validate compares it
    assert result.ret.sheets["visits"].total["villages_total"] == sum(r["villages_total"] for r in clean_rows()) + 1


def test_a_subtotal_with_a_colon_is_still_a_subtotal(tmp_path, form, units):
    rows = clean_rows()
    wb, plans = built(form, units, rows)
    for spec in form.sheets:
        plan = plans[spec.key]
        subtotal_row(wb[f"{spec.number}{spec.label}"], spec, plan, plan.first_data + 2, "小计（户）：", rows[:2])
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert result.findings == ()
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


@pytest.mark.parametrize("where", ["last", "first"])
def test_a_total_row_under_an_unforeseen_label_rejects_the_return(tmp_path, form, units, where):
    wb, plans = built(form, units, layout=Layout(total_label="本县各乡镇", total=where))
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    row = plans["visits"].total_row
    assert rules(result) == {("error", "township-is-total", s, f"A{row}") for s in SHEETS}
    msg = next(f.message for f in result.findings if f.sheet == VISITS)
    assert msg.startswith(f"{place('表一', f'A{row}')}的“本县各乡镇”一行") and "请把该行名称改为“合计”" in msg
    assert all(f.field == "township" for f in result.findings)


@pytest.mark.parametrize("where", ["last", "first"])
@pytest.mark.parametrize("blank", [False, True], ids=["mistyped", "left-blank"])
def test_a_total_under_an_unforeseen_label_with_one_figure_wrong_rejects_the_return(tmp_path, form, units, where,
                                                                                      blank):
    """The same row, one figure of it mistyped or left blank: not the sum in that column alone.
    Added, it would nearly double the county: an error at the row, naming the column."""
    rows = five_townships()
    wb, plans = built(form, units, rows, layout=Layout(total_label="本县各乡镇", total=where))
    plan = plans["visits"]
    cell = wb[VISITS].cell(plan.total_row, plan.columns["villages_total"])
    cell.value = None if blank else cell.value + 1
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    row = plan.total_row
    assert rules(result) == {("error", "township-nearly-total", VISITS, f"A{row}"),
                             *{("error", "township-is-total", s, f"A{row}") for s in SHEETS[1:]}}
    [f] = [f for f in result.findings if f.rule == "township-nearly-total"]
    assert f.field == "villages_total"
    assert f.message == (f"{place('表一', f'A{row}')}的“本县各乡镇”一行除行政村总数外，各项数字都恰好等于其他各乡镇之和，"
                         "应是合计行：如是合计行，请把该行名称改为“合计”并核对其行政村总数；如确是乡镇，请核对该行数字。")


def five_townships() -> list[dict]:
    """Five townships (the near-total net needs five rows: with fewer, chance may do it)."""
    rows = clean_rows()
    return rows + [r | {"township": r["township"] + "二"} for r in rows[:2]]


def test_a_township_like_any_other_is_no_near_total(tmp_path, form, units):
    """Two columns off the others' sum: a township (the net needs all but one column)."""
    rows = five_townships()
    first = {k: sum(r[k] for r in rows) if k != "township" else "石岭镇" for k in rows[0]}
    first["villages_total"] += 1
    first["villages_visited"] += 1
    wb, _ = built(form, units, [first, *rows], layout=Layout(total="none"))
    write(tmp_path, workbook_bytes(wb))
    assert not {r for _, r, sheet, _ in rules(read_one(tmp_path, form, units)) if sheet == VISITS} & {
        "township-nearly-total", "township-is-total"}


def test_three_townships_one_equal_to_the_others_in_most_columns_is_no_near_total(tmp_path, form, units):
    """嘉峪关市 has three towns: one may equal the other two in most columns by chance."""
    rows = clean_rows()[:3]
    rows[2] = rows[2] | {k: rows[0][k] + rows[1][k] for k in rows[0] if k != "township"}
    rows[2]["villages_total"] += 1
    wb, _ = built(form, units, rows, layout=Layout(total="none"))
    write(tmp_path, workbook_bytes(wb))
    assert not {r for _, r, sheet, _ in rules(read_one(tmp_path, form, units)) if sheet == VISITS} & {
        "township-nearly-total", "township-is-total"}


def test_totals_of_parts_are_their_subtotals_and_the_whole_is_the_units(tmp_path, form, units):
    """川区合计 and 山区合计 after their townships, 全区合计 at the end: each part's total is
    checked against its own townships (a subtotal), the whole's against them all; none is added."""
    rows = clean_rows()
    wb, plans = built(form, units, rows, layout=Layout(total_label="全区合计"))
    for spec in form.sheets:
        plan = plans[spec.key]
        ws = wb[f"{spec.number}{spec.label}"]
        subtotal_row(ws, spec, plan, plan.first_data + 1, "川区合计", rows[:1])
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert result.findings == ()
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)
    assert all(s.total_row == plans[k].total_row + 1 for k, s in result.ret.sheets.items())  # the 全区合计


def test_totals_of_parts_alone_are_their_subtotals_and_the_townships_the_units(tmp_path, form, units):
    """川区合计 and 山区合计 under their townships, no 全区合计: 川区合计 stood as the county's
    total, short of 山区's townships, and the county was rejected at the wrong row."""
    rows = clean_rows()
    wb, plans = built(form, units, rows, layout=Layout(total="none"))
    for spec in form.sheets:
        plan = plans[spec.key]
        ws = wb[f"{spec.number}{spec.label}"]
        subtotal_row(ws, spec, plan, plan.last_data + 1, "山区合计", rows[1:])
        subtotal_row(ws, spec, plan, plan.first_data + 1, "川区合计", rows[:1])
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert result.findings == ()
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)
    # the parts' totals added up on a last row not labelled as the whole's (乡镇合计): the unit's
    for spec in form.sheets:
        plan = plans[spec.key]
        ws = wb[f"{spec.number}{spec.label}"]
        end = plan.last_data + 3  # under 山区合计
        ws.insert_rows(end)
        ws.cell(end, 1, "乡镇合计")
        for f in spec.count_fields:
            ws.cell(end, plan.columns[f.key], sum(r[f.key] for r in rows))
    write(tmp_path, workbook_bytes(wb))
    summed = read_one(tmp_path, form, units)
    assert summed.findings == ()
    assert all(s.total_row == plans[k].last_data + 3 for k, s in summed.ret.sheets.items())
    for spec in form.sheets:  # as it was
        wb[f"{spec.number}{spec.label}"].delete_rows(plans[spec.key].last_data + 3)
    # and a part's total that is wrong is said at its own row, as a 小计
    ws = wb[VISITS]
    plan = plans["visits"]
    bad = ws.cell(plan.last_data + 2, plan.columns["villages_total"])
    bad.value += 1
    write(tmp_path, workbook_bytes(wb))
    assert {(r, c) for _, r, sheet, c in rules(read_one(tmp_path, form, units)) if sheet == VISITS} == {
        ("subtotal-mismatch", bad.coordinate)}


@pytest.mark.parametrize("footer", ["制表人：王丽", "汇总人：王丽", "统计人：王丽", "主要负责人：陈强"])
def test_footer_lines_clerks_write_end_the_table(tmp_path, form, units, footer):
    """汇总人 starts with a total word: a footer all the same, never a row of figures."""
    wb, plans = built(form, units)
    for spec in form.sheets:
        plan = plans[spec.key]
        ws = wb[f"{spec.number}{spec.label}"]
        ws.cell(plan.footer_row, 1, footer)
        ws.cell(plan.footer_row, 3, "审核人：陈强")
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert result.findings == ()
    assert numbers_of(result.ret, form) == expected_numbers(clean_rows(), form)


def test_a_table_of_its_total_row_alone_is_one_error_at_the_row(tmp_path, form, units):
    """The county's figures on its 合计 row, no township: one error a table, not one a column."""
    wb, plans = built(form, units)
    for spec in form.sheets:
        plan = plans[spec.key]
        wb[f"{spec.number}{spec.label}"].delete_rows(plan.first_data, plan.total_row - plan.first_data)
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    row = plans["visits"].first_data
    assert rules(result) == {("error", "total-only", s, f"A{row}") for s in SHEETS}
    assert result.findings[0].message == (f"{place('表一', f'A{row}')}是合计行，而表中没有分乡镇的数字："
                                          "本表按乡镇汇总，请逐乡镇填写各项数字后重新报送。")
    assert all(s.total_row == 0 for s in result.ret.sheets.values())  # nothing left to compare


def test_a_total_row_of_zeros_is_no_total(tmp_path, form, units):
    """Three townships of zeros: every row is the sum of the others, and none is a total."""
    rows = clean_rows()
    for r in rows:
        for f in form.sheet("outcomes").count_fields:
            r[f.key] = 0
    wb, _ = built(form, units, rows, layout=Layout(total="none"))
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert rules(result) == {("warning", "sheet-all-zero", OUTCOMES, "")}


def test_the_net_needs_two_other_townships(tmp_path, form, units):
    rows = clean_rows()[:2]
    rows.append({"township": "石岭镇"} | {k: rows[0][k] + rows[1][k] for k in rows[0] if k != "township"})
    wb, plans = built(form, units, rows, layout=Layout(total="none"))
    write(tmp_path, workbook_bytes(wb))
    assert rules(read_one(tmp_path, form, units)) == {
        ("error", "township-is-total", s, f"A{plans['visits'].first_data + 2}") for s in SHEETS}  # two others
    wb, _ = built(form, units, rows[1:], layout=Layout(total="none"))
    write(tmp_path, workbook_bytes(wb))
    assert read_one(tmp_path, form, units).findings == ()  # one other: a township like any


# --- the net as a property ----------------------------------------------------------------


def _oracle(rows: list[list[int]]) -> set[int]:
    """Row by row, as the brief states it: the first or last of three or more rows, equal in
    every column to the sum of all the other rows, some of those sums not 0."""
    out = set()
    if len(rows) < 3:
        return out
    for i in (0, len(rows) - 1):
        others = [r for j, r in enumerate(rows) if j != i]
        sums = [sum(col) for col in zip(*others)]
        if list(rows[i]) == sums and any(sums):
            out.add(i)
    return out


@st.composite
def figures(draw, width=None, high=3):
    width = width or draw(st.integers(1, 6))
    rows = draw(st.lists(st.lists(st.integers(0, high), min_size=width, max_size=width), min_size=1, max_size=7))
    where = draw(st.sampled_from(["none", "first", "last"]))
    if where != "none" and len(rows) >= 2:  # a total row added, as a clerk would under any label
        total = [sum(col) for col in zip(*rows)]
        rows = [total, *rows] if where == "first" else [*rows, total]
    return rows


@settings(max_examples=2000, deadline=None)
@given(figures())
def test_the_net_fires_exactly_when_a_row_is_the_sum_of_the_others(rows):
    columns = [tuple(col) for col in zip(*rows)]
    assert set(sums_of_the_others(columns)) == _oracle(rows)


@settings(max_examples=300, deadline=None)
@given(figures(high=10**6))
def test_the_net_finds_every_added_total_row_of_real_sized_figures(rows):
    columns = [tuple(col) for col in zip(*rows)]
    assert set(sums_of_the_others(columns)) == _oracle(rows)


def test_a_cell_that_is_no_count_leaves_the_net_silent():
    assert sums_of_the_others([(1, 2, 3), (1, 1, 2)]) == [2]
    assert sums_of_the_others([(1, 2, 3), (1, None, 2)]) == []


NAMES = ["城关镇", "新庄乡", "石岭镇", "东湾镇", "马坞乡", "柳林镇"]


def test_normal_returns_never_trip_the_net_and_unforeseen_totals_always_do(form, units):
    """Read end to end: random township figures, small enough that a row may equal the sum of
    the others by chance, sometimes with a total row under a label no form declares. The
    finding appears exactly at the rows that equal the sum of the others."""
    fields = [f.key for f in form.count_fields]

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.integers(3, len(NAMES)), st.data())
    def check(n, data):
        rows = [{"township": NAMES[i]} | {k: data.draw(st.integers(0, 2)) for k in fields} for i in range(n)]
        if data.draw(st.booleans()):
            rows.append({"township": "本县各乡镇"} | {k: sum(r[k] for r in rows) for k in fields})
        wb, plans = built(form, units, rows, layout=Layout(total="none"))
        with tempfile.TemporaryDirectory() as folder:
            (Path(folder) / "620102_城关区.xlsx").write_bytes(workbook_bytes(wb))
            result = read_one(Path(folder), form, units)
        got = {(f.sheet, f.cell) for f in result.findings if f.rule == "township-is-total"}
        want = set()
        for spec in form.sheets:
            keys = [f.key for f in spec.count_fields]
            for i in _oracle([[r[k] for k in keys] for r in rows]):
                want.add((f"{spec.number}{spec.label}", f"A{plans[spec.key].first_data + i}"))
        assert got == want
        assert numbers_of(result.ret, form) == expected_numbers(rows, form)  # read as written, or rejected

    check()


# --- a group's subtotal under a name ------------------------------------------------------------


def _oracle_above(rows: list[list[int]]) -> set[int]:
    """Rows equal, column by column, to the sum of the two or more rows just above them, with
    three or more figures not 0: by brute force."""
    found = set()
    for i in range(2, len(rows)):
        if sum(1 for v in rows[i] if v) < 3:
            continue
        for k in range(2, i + 1):
            if all(sum(r[j] for r in rows[i - k:i]) == rows[i][j] for j in range(len(rows[i]))):
                found.add(i)
                break
    return found


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.integers(0, 3), min_size=4, max_size=4), min_size=0, max_size=9))
def test_the_subtotal_net_finds_what_brute_force_finds(rows):
    from pipeline.stages.read.layout import sums_of_those_above

    columns = [tuple(col) for col in zip(*rows)] if rows else []
    assert {i for i, _ in sums_of_those_above(columns)} == _oracle_above(rows)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.integers(1, 10**6), min_size=5, max_size=5), min_size=2, max_size=8), st.data())
def test_a_group_sum_under_its_townships_is_found(rows, data):
    from pipeline.stages.read.layout import sums_of_those_above

    k = data.draw(st.integers(2, len(rows)))
    group = [sum(r[j] for r in rows[-k:]) for j in range(5)]
    table = [*rows, group]
    assert len(table) - 1 in {i for i, _ in sums_of_those_above([tuple(c) for c in zip(*table)])}


def test_a_groups_subtotal_named_without_小计_rejects_the_return(tmp_path, form, units):
    """川区乡镇 under its two townships, holding their sums: added, the county would count them
    twice."""
    rows = clean_rows()
    group = {"township": "川区乡镇"} | {k: rows[0][k] + rows[1][k] for k in rows[0] if k != "township"}
    written = [rows[0], rows[1], group, *rows[2:]]
    wb, plans = built(form, units, written, layout=Layout(total="none"))
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    row = plans["visits"].first_data + 2
    assert rules(result) == {("error", "township-is-subtotal", s, f"A{row}") for s in SHEETS}
    assert "“川区乡镇”一行的每个数都等于它上面2个乡镇之和" in next(f.message for f in result.findings if f.sheet == VISITS)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.integers(0, 3), min_size=4, max_size=4), min_size=0, max_size=9))
def test_the_net_for_a_group_above_its_townships_finds_what_brute_force_finds(rows):
    from pipeline.stages.read.layout import sums_of_those_below

    columns = [tuple(col) for col in zip(*rows)] if rows else []
    upside_down = _oracle_above(rows[::-1])
    assert {i for i, _ in sums_of_those_below(columns)} == {len(rows) - 1 - i for i in upside_down}


@pytest.mark.parametrize("groups", [
    ("川区", "山区"),  # each 片区's sum above its townships, no 合计: every figure counted twice
    ("川区片区", None),  # one group only, the other townships after it
])
def test_a_groups_sum_above_its_townships_rejects_the_return(tmp_path, form, units, groups):
    rows = clean_rows()
    extra = {"township": "新城镇"} | {k: v + 7 for k, v in rows[0].items() if k != "township"}
    rows = [*rows, extra]

    def group(name, members):
        return {"township": name} | {k: sum(r[k] for r in members) for k in rows[0] if k != "township"}

    first, second = groups
    written = [group(first, rows[:2]), *rows[:2]]
    written += [group(second, rows[2:]), *rows[2:]] if second else rows[2:]
    wb, plans = built(form, units, written, layout=Layout(total="none"))
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    top = plans["visits"].first_data
    heads = [top] + ([top + 3] if second else [])
    assert rules(result) == {("error", "township-heads-group", s, f"A{row}") for s in SHEETS for row in heads}
    assert f"“{first}”一行的每个数都等于它下面2行之和" in next(f.message for f in result.findings if f.sheet == VISITS)


def test_a_township_over_its_villages_rejects_the_return(tmp_path, form, units):
    """A township's row kept with its figures and its villages' rows under it (grouped and
    collapsed, or not): the villages were added on top of the township, warned of only as names
    no township has."""
    rows = clean_rows()
    village = [{"township": f"{rows[0]['township'][:2]}{n}村"} | {k: v // 2 for k, v in rows[0].items() if k != "township"}
               for n in ("一", "二")]
    head = {"township": rows[0]["township"]} | {k: village[0][k] + village[1][k] for k in village[0] if k != "township"}
    written = [head, *village, *rows[1:]]
    wb, plans = built(form, units, written, layout=Layout(total="none"))
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    at = f"A{plans['visits'].first_data}"
    assert {(f.rule, f.sheet, f.cell) for f in result.findings if f.severity.value == "error"} == {
        ("township-heads-group", s, at) for s in SHEETS}


def _oracle_nearly_above(rows: list[list[int]]) -> set[int]:
    """Rows equal to the sum of the three or more rows just above them in every column but one,
    three or more of the agreeing figures not 0, four or more columns; never the last row over
    the whole table (the total's business): by brute force."""
    found = set()
    width = len(rows[0]) if rows else 0
    if width < 4:
        return found
    for i in range(3, len(rows)):
        for k in range(3, i + 1):
            if k == i and i == len(rows) - 1:
                continue
            sums = [sum(r[j] for r in rows[i - k:i]) for j in range(width)]
            differ = [j for j in range(width) if sums[j] != rows[i][j]]
            agree = sum(1 for j in range(width) if sums[j] == rows[i][j] and rows[i][j])
            if len(differ) == 1 and agree >= 3:
                found.add(i)
                break
    return found


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(st.integers(0, 3), min_size=5, max_size=5), min_size=0, max_size=9), st.data())
def test_the_near_subtotal_net_finds_what_brute_force_finds(rows, data):
    from pipeline.stages.read.layout import nearly_sums_of_those_above

    if len(rows) >= 4 and data.draw(st.booleans()):  # a group's sum, one figure off, planted
        k = data.draw(st.integers(3, len(rows) - 1))
        group = [sum(r[j] for r in rows[-k:]) for j in range(5)]
        group[data.draw(st.integers(0, 4))] += data.draw(st.integers(1, 3))
        rows = [*rows, group, [1, 1, 1, 1, 1]]
    columns = [tuple(col) for col in zip(*rows)] if rows else []
    assert {i for i, _, _ in nearly_sums_of_those_above(columns)} == _oracle_nearly_above(rows)


class _Counted:
    """A count column that tallies every figure looked at (a slice, each of its figures)."""

    looked = 0

    def __init__(self, values):
        self.values = tuple(values)

    def __len__(self):
        return len(self.values)

    def __iter__(self):
        _Counted.looked += len(self.values)
        return iter(self.values)

    def __contains__(self, item):
        _Counted.looked += len(self.values)
        return item in self.values

    def count(self, item):
        _Counted.looked += len(self.values)
        return self.values.count(item)

    def __getitem__(self, at):
        got = self.values[at]
        _Counted.looked += len(got) if isinstance(at, slice) else 1
        return got


@pytest.mark.parametrize("find", ["sums_of_those_above", "nearly_sums_of_those_above"])
def test_thousands_of_rows_of_0_cost_a_look_each_not_one_another(find):
    """A sheet pasted down to its 5,000th row with 0s (a village list, a template filled down),
    a subtotal planted among them: every row of 0 is the sum of any run of the others, and
    looking at each against each took minutes for one county's file. Each figure is looked at
    a bounded number of times, and the subtotal is still found."""
    from pipeline.stages.read import layout

    width, n = 6, 4000
    rows = [[0] * width for _ in range(n)]
    rows[1000:1003] = [[1, 2, 3, 4, 5, 6], [2, 3, 4, 5, 6, 7], [3, 4, 5, 6, 7, 8]]
    rows.insert(1003, [6, 9, 12, 15, 18 if find == "sums_of_those_above" else 99, 21])
    _Counted.looked = 0
    found = getattr(layout, find)([_Counted(column) for column in zip(*rows)])
    assert [f[0] for f in found] == [1003]
    assert _Counted.looked <= 20 * width * len(rows), _Counted.looked


def test_a_groups_subtotal_with_one_figure_left_blank_rejects_the_return(tmp_path, form, units):
    """城区街道 under the townships it sums, its last figure left blank: no 小计 in its name and not
    every column agreeing, it was added as a township and the county counted them twice."""
    rows = [dict(r, township=name) for r, name in zip(clean_rows() * 2, ["城关镇", "新庄乡", "石岭镇", "东岗镇",
                                                                            "西湖乡", "北山镇"])]
    group = {"township": "城区街道"} | {k: sum(r[k] for r in rows[:4]) for k in rows[0] if k != "township"}
    last = {s.key: s.count_fields[-1].key for s in form.sheets}
    for key in last.values():
        group[key] = None  # left blank
    written = [*rows[:4], group, *rows[4:]]
    wb, plans = built(form, units, written, layout=Layout(total="none"))
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    row = plans["visits"].first_data + 4
    got = {(f.severity.value, f.rule, f.sheet, f.cell) for f in result.findings if f.rule.startswith("township-")}
    assert got == {("error", "township-nearly-subtotal", s, f"A{row}") for s in SHEETS}
    [said] = [f for f in result.findings if f.sheet == VISITS and f.rule == "township-nearly-subtotal"]
    assert "“城区街道”一行除" in said.message and "各项数字都恰好等于它上面4个乡镇之和" in said.message


@pytest.mark.parametrize("written, name", [
    ("1、城关镇", "城关镇"), ("3.红岭街道", "红岭街道"), ("(2)新庄乡", "新庄乡"), ("（2）新庄乡", "新庄乡"),
    ("一、石岭镇", "石岭镇"), ("1 城关镇", "城关镇"), ("10.城关镇", "城关镇"), ("1-城关镇", "城关镇"),
    # names that begin so, and no 序号
    ("二十里铺镇", "二十里铺镇"), ("三岔镇", "三岔镇"), ("十里店乡", "十里店乡"), ("七一镇", "七一镇"),
    ("5·12社区", "5·12社区"), ("12", "12"), ("1.5", "1.5"),
])
def test_a_serial_number_before_a_townships_name_is_no_part_of_it(written, name):
    from pipeline.stages.read.words import clean_str, without_serial

    assert without_serial(clean_str(written)) == clean_str(name)
