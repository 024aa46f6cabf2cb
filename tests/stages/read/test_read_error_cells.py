"""A count cell showing an Excel error value (#DIV/0!, #N/A, …) is no 0: calamine reads it as a
blank, which the form reads as 0, so the reader finds such cells in the sheet's XML and names
each one. In a township row it rejects the return; in a 合计 row it is not compared, the
total being the townships' sum. Written here by editing the zip as Excel and WPS save it;
the same computed by LibreOffice and saved as .xlsx and .ods is the `error-values` case of
tests/office.py, read in test_read_libreoffice.py and test_read_ods.py."""

from __future__ import annotations

import re

import pytest

from pipeline.outputs.formbook import Layout, workbook_bytes
from tests.builders import clean_rows, expected_numbers, numbers_of, place, read_one, to_xls
from tests.habits import OUTCOMES, PARTS, PROBLEMS, VISITS, built, column, edit_part, rules, write
from tests.office import convert, habit_returns

ERRORS = ["#DIV/0!", "#N/A", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!"]


def as_error(ref: str, error: str, formula: str | None = "1/0"):
    """A number cell as Excel saves a cell showing an error: `t="e"`, the error as its value,
    the formula that gave it (or none: typed, or pasted as values)."""
    def edit(xml: str) -> str:
        f = f"<f>{formula}</f>" if formula else ""
        new, n = re.subn(rf'<c r="{ref}"([^>]*?)(?: t="n")?>(?:<f>[^<]*</f>)?<v>[^<]*</v></c>',
                         rf'<c r="{ref}"\1 t="e">{f}<v>{error}</v></c>', xml)
        assert n == 1, ref
        return new
    return edit


@pytest.mark.parametrize("formula", ["1/0", None])
@pytest.mark.parametrize("error", ERRORS)
def test_an_error_value_in_a_township_count_is_an_error_at_its_cell(tmp_path, form, units, error, formula):
    rows = clean_rows()
    wb, plans = built(form, units, rows)
    plan = plans["outcomes"]
    ref = f"{column(plan, 'disputes_resolved')}{plan.first_data + 1}"
    write(tmp_path, edit_part(workbook_bytes(wb), PARTS[OUTCOMES], as_error(ref, error, formula)))
    result = read_one(tmp_path, form, units)
    assert rules(result) == {("error", "cell-error", OUTCOMES, ref)}
    [f] = result.findings
    assert f.field == "disputes_resolved"
    assert f.message == (f"{place('表三', ref)}的化解矛盾纠纷和不稳定因素数显示错误值{error}，读不出数字："
                         "请改正该单元格的公式，或直接填写数字（没有请填0）。")
    assert result.ret.sheets["outcomes"].values["disputes_resolved"][1] is None  # never a 0


def test_a_township_of_error_values_is_a_township_not_a_text_row(tmp_path, form, units):
    wb, plans = built(form, units)
    plan = plans["visits"]
    data = workbook_bytes(wb)
    refs = [f"{column(plan, f.key)}{plan.first_data + 2}" for f in form.sheet("visits").count_fields]
    for ref in refs:
        data = edit_part(data, PARTS[VISITS], as_error(ref, "#REF!", "#REF!+1"))
    write(tmp_path, data)
    result = read_one(tmp_path, form, units)
    assert rules(result) == {("error", "cell-error", VISITS, ref) for ref in refs}
    assert result.ret.sheets["visits"].townships == ("城关镇", "新庄乡", "石岭镇")


@pytest.mark.parametrize("where", ["last", "first"])
def test_an_error_value_in_the_total_row_is_not_compared(tmp_path, form, units, where):
    rows = clean_rows()
    wb, plans = built(form, units, rows, layout=Layout(total=where))
    plan = plans["problems"]
    ref = f"{column(plan, 'guarantees_fixed')}{plan.total_row}"
    write(tmp_path, edit_part(workbook_bytes(wb), PARTS[PROBLEMS], as_error(ref, "#VALUE!", "SUM(E5:E7)")))
    result = read_one(tmp_path, form, units)
    assert rules(result) == {("warning", "total-cell-error", PROBLEMS, ref)}
    assert "显示错误值#VALUE!" in result.findings[0].message
    sheet = result.ret.sheets["problems"]
    assert sheet.total["guarantees_fixed"] is None  # not a 0 to compare with the townships' sum
    assert sheet.total["guarantees_found"] == sum(r["guarantees_found"] for r in rows)  # the rest still checked
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


def test_an_error_in_the_total_row_is_not_a_mismatch_end_to_end(tmp_path, form, units, settings):
    from pipeline.run.report import build_run

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    rows = clean_rows()
    wb, plans = built(form, units, rows)
    plan = plans["problems"]
    ref = f"{column(plan, 'guarantees_fixed')}{plan.total_row}"
    wrong = f"{column(plan, 'guarantees_found')}{plan.total_row}"
    wb[PROBLEMS][wrong] = wb[PROBLEMS][wrong].value + 1  # another total cell, wrong: still caught
    data = edit_part(workbook_bytes(wb), PARTS[PROBLEMS], as_error(ref, "#DIV/0!"))
    (inbox / "620102_城关区.xlsx").write_bytes(data)
    run = build_run(inbox, settings)
    got = {(f.severity.value, f.rule, f.cell) for f in run.findings if f.county_code == "620102"}
    assert got == {("warning", "total-cell-error", ref), ("error", "total-row-mismatch", wrong)}


def test_a_rate_showing_div0_in_a_computed_column_is_no_error(tmp_path, form, units):
    """整改率 over no problem found is #DIV/0! in many returns: a computed column is a check,
    never a figure of the county, so its error value is left alone."""
    rows = clean_rows()
    wb, plans = built(form, units, rows)
    plan = plans["problems"]
    ws = wb[PROBLEMS]
    rate = plan.width + 1
    ws.cell(plan.header_top, rate, "整改率")
    ws.merge_cells(start_row=plan.header_top, start_column=rate, end_row=plan.header_bottom, end_column=rate)
    ws.cell(plan.first_data, rate, "#DIV/0!")  # openpyxl writes an error code as a cell of type e
    write(tmp_path, workbook_bytes(wb))
    result = read_one(tmp_path, form, units)
    assert result.findings == ()
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


# --- legacy .xls --------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "error"), [(0x07, "#DIV/0!"), (0x2A, "#N/A"), (0x0F, "#VALUE!"), (0x17, "#REF!")])
def test_an_error_value_in_an_xls_is_found_too(tmp_path, form, units, code, error):
    """BIFF8 as xlwt writes an error typed into a cell (a BOOLERR record)."""
    rows = clean_rows()
    wb, plans = built(form, units, rows)
    plan = plans["visits"]
    row, col = plan.first_data + 2, plan.columns["households_total"]
    ref = f"{column(plan, 'households_total')}{row}"
    total = f"{column(plan, 'households_total')}{plan.total_row}"
    data = to_xls(workbook_bytes(wb), {(VISITS, row, col): code, (VISITS, plan.total_row, col): code})
    write(tmp_path, data, name="620102_城关区.xls")
    result = read_one(tmp_path, form, units)
    assert rules(result) == {("error", "cell-error", VISITS, ref), ("warning", "total-cell-error", VISITS, total)}
    assert all(error in f.message for f in result.findings)


def test_libreoffice_xls_error_results_are_found(tmp_path, form, units):
    """BIFF8 as LibreOffice writes formulas computed to errors (FORMULA records whose cached
    result is an error): the `error-values` case of tests/office.py, saved as .xls in one call."""
    data, shown, expected = habit_returns(form, units)["error-values"]
    src = tmp_path / "src"
    src.mkdir()
    (src / "620102_城关区.xlsx").write_bytes(data)
    out = convert([src / "620102_城关区.xlsx"], "xls", tmp_path / "xls", tmp_path / "profile")
    assert out["620102_城关区.xlsx"].read_bytes().startswith(b"\xd0\xcf\x11\xe0")
    result = read_one(tmp_path / "xls", form, units)
    assert rules(result) == expected
    assert numbers_of(result.ret, form) == expected_numbers(shown, form)
