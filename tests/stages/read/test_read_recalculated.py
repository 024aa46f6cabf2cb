"""Workbooks that ask to be computed when opened (`<calcPr fullCalcOnLoad="1"/>`).

Programs that cannot compute formulas write them so: openpyxl and report systems with no
result, xlsxwriter with 0. The clerk, opening the file in Excel or WPS, sees what the program
computes then; the file carries a placeholder. A township's formula carrying 0 in such a
workbook is an error at its cell, never a 0 added; a result other than 0 may have been worked
out by whoever wrote the file, or left from a template a report system filled in: it is read as
it is, and a warning says so once a sheet. Excel, WPS and LibreOffice drop the request when they
save, and their results are read as they are.
"""

from __future__ import annotations

import re

import pytest

from pipeline.outputs.formbook import Layout, workbook_bytes
from pipeline.stages.read.scans import recalculated_on_load
from tests.builders import clean_rows, expected_numbers, numbers_of, read_one
from tests.habits import OUTCOMES, PARTS, VISITS, built, column, edit_part, rules, write


def as_formula(ref: str, formula: str, result: str | None):
    """A typed count turned into a formula carrying `result` (None: no <v>)."""
    def edit(xml: str) -> str:
        v = "" if result is None else f"<v>{result}</v>"
        new, n = re.subn(rf'<c r="{ref}"([^>]*?)(?: t="n")?>(?:<f>[^<]*</f>)?<v>[^<]*</v></c>',
                         rf'<c r="{ref}"\1><f>{formula}</f>{v}</c>', xml)
        assert n == 1, ref
        return new
    return edit


def saved_by_excel(xml: str) -> str:
    """workbook.xml as Excel saves it: the request to compute on opening is gone."""
    new, n = re.subn(r'\s*fullCalcOnLoad="1"', "", xml)
    assert n == 1
    return new


def township_formula(form, units, result: str | None, excel: bool = False, tmp_path=None):
    """The issued layout with one township's 走访农户数 a formula (=60+48) carrying `result`."""
    rows = clean_rows()
    wb, plans = built(form, units, rows)
    plan = plans["visits"]
    ref = f"{column(plan, 'households_visited')}{plan.first_data + 1}"
    data = edit_part(workbook_bytes(wb), PARTS[VISITS], as_formula(ref, "60+48", result))
    if excel:
        data = edit_part(data, "xl/workbook.xml", saved_by_excel)
    write(tmp_path, data)
    return rows, ref, read_one(tmp_path, form, units)


def test_a_township_formula_carrying_a_placeholder_0_is_an_error_at_its_cell(tmp_path, form, units):
    rows, ref, result = township_formula(form, units, "0", tmp_path=tmp_path)
    assert ("error", "formula-not-recalculated", VISITS, ref) in rules(result)
    [f] = [f for f in result.findings if f.rule == "formula-not-recalculated"]
    assert f.field == "households_visited"
    assert "打开时重新计算" in f.message and "：请在Excel或WPS中打开并保存后重新报送。" in f.message
    assert result.ret.sheets["visits"].values["households_visited"][1] is None  # never the placeholder's 0


def test_a_formula_with_no_result_in_such_a_workbook_is_still_one_without_value(tmp_path, form, units):
    _, ref, result = township_formula(form, units, None, tmp_path=tmp_path)
    assert ("error", "formula-without-value", VISITS, ref) in rules(result)
    assert not any(f.rule == "formula-not-recalculated" for f in result.findings)


@pytest.mark.parametrize("result, excel", [("108", False), ("0", True)], ids=["a-result-worked-out", "saved-by-excel"])
def test_results_worked_out_are_read_as_they_are(tmp_path, form, units, result, excel):
    rows, ref, got = township_formula(form, units, result, excel=excel, tmp_path=tmp_path)
    assert not any(f.rule in ("formula-not-recalculated", "formula-without-value") for f in got.findings)
    assert got.ret.sheets["visits"].values["households_visited"][1] == int(result)
    # A result a program says to compute again may be a template's, left (a reviewer's find: 790
    # carried where Excel shows 797): read, and said.
    said = [(f.severity.value, f.cell) for f in got.findings if f.rule == "formula-result-unverified"]
    assert said == ([] if excel else [("warning", ref)])


def test_results_to_compute_again_are_said_once_a_sheet_with_how_many(tmp_path, form, units):
    rows = clean_rows()
    wb, plans = built(form, units, rows)
    plan = plans["visits"]
    data = workbook_bytes(wb)
    refs = [f"{column(plan, key)}{plan.first_data + i}" for i in (1, 2) for key in ("households_visited", "linking_units")]
    for ref in refs:
        data = edit_part(data, PARTS[VISITS], as_formula(ref, "1+1", "790"))
    write(tmp_path, data)
    result = read_one(tmp_path, form, units)
    [f] = [f for f in result.findings if f.rule == "formula-result-unverified"]
    assert f.cell == min(refs, key=lambda r: (int(r[1:]), r[0]))
    assert "起有4个乡镇数字的单元格是公式，而本文件要求打开时重新计算" in f.message and "（如790）" in f.message


def test_a_total_formula_carrying_a_placeholder_is_recomputed_not_a_mismatch(tmp_path, form, units):
    """xlsxwriter's total row: =SUM(…) carrying 0 over typed townships. What the clerk sees is
    the sum: recomputed (a note), the townships read."""
    rows = clean_rows()
    wb, plans = built(form, units, rows, layout=Layout(total_formulas=True))
    data = workbook_bytes(wb)
    for key, sheet in (("visits", VISITS), ("outcomes", OUTCOMES)):
        plan = plans[key]
        data = edit_part(data, PARTS[sheet], lambda xml, row=plan.total_row: re.sub(
            rf'(<c r="[A-Z]+{row}"[^>]*>\s*<f>[^<]*</f>)\s*(?:<v\s*/>|<v>\s*</v>)?', r"\g<1><v>0</v>", xml))
    write(tmp_path, data)
    result = read_one(tmp_path, form, units)
    assert {r for _, r, *_ in rules(result)} == {"total-recomputed"}
    # no total kept to be compared with the townships: a 0 there would be a total-row-mismatch
    assert [(k, s.total_row, s.total) for k, s in result.ret.sheets.items() if k != "problems"] == [
        ("visits", 0, {}), ("outcomes", 0, {})]
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


@pytest.mark.parametrize("xml, asks", [
    (b'<calcPr calcId="124519" fullCalcOnLoad="1"/>', True),  # openpyxl, xlsxwriter
    (b'<x:calcPr fullCalcOnLoad="true" calcId="191029"/>', True),  # prefixed, a boolean spelled out
    (b'<calcPr calcId="191029"/>', False),  # Excel
    (b'<calcPr iterateCount="100" refMode="A1" iterate="false" iterateDelta="0.0001"/>', False),  # LibreOffice
    (b'<calcPr calcId="144525" fullCalcOnLoad="0"/>', False),
])
def test_the_request_to_compute_on_opening_is_told_from_workbook_xml(xml, asks):
    assert recalculated_on_load(b"<workbook>" + xml + b"</workbook>") is asks


# --- .xls written by a program that computes nothing -----------------------------------------------


def test_an_xls_whose_formulas_xlwt_wrote_without_results_names_each(tmp_path, form, units):
    """xlwt (Python web systems export .xls with it) computes nothing: every formula's result is
    stored as the empty string, and the workbook has no RECALCID (the engine that last computed
    it). The engine reads the cell as blank; the clerk, in Excel or WPS, sees the formula's
    value. Each such count is a formula without value at its cell, never a 0."""
    from tests.builders import to_xls

    rows = clean_rows()
    wb, plans = built(form, units, rows, layout=Layout(total="none"))
    o = plans["outcomes"]
    first, at = o.first_data, o.columns["role_models"]
    letter = column(o, "role_models")
    data = to_xls(workbook_bytes(wb), formulas={(OUTCOMES, first + 1, at): f"{letter}{first}*2",
                                                (OUTCOMES, first + 2, at): "1/0"})
    write(tmp_path, data, name="620102_城关区.xls")
    result = read_one(tmp_path, form, units)
    assert rules(result) == {("error", "formula-without-value", OUTCOMES, f"{letter}{first + 1}"),
                             ("error", "formula-without-value", OUTCOMES, f"{letter}{first + 2}")}
    assert tuple(result.ret.sheets["outcomes"].values["role_models"][1:3]) == (None, None)
