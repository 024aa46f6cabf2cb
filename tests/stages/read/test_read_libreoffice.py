"""The clerks' habits in files LibreOffice has computed and saved as .xlsx: real office XML
(string-typed empty formula results, `hidden="true"` rows, its own shared strings and styles),
not openpyxl's. One soffice call for the module."""

from __future__ import annotations

import pytest

from tests.builders import expected_numbers, numbers_of, read_one
from tests.office import convert, habit_returns, write_habit_files


@pytest.fixture(scope="module")
def resaved(tmp_path_factory, form, units):
    src = tmp_path_factory.mktemp("written")
    cases = habit_returns(form, units)
    files = write_habit_files(src, cases)
    out = convert(files, "xlsx:Calc MS Excel 2007 XML", tmp_path_factory.mktemp("resaved"), tmp_path_factory.mktemp("profile"))
    return {name: (out[f.name], cases[name]) for name, f in zip(cases, files)}


@pytest.mark.parametrize("case", ["zero-hiding", "spare-rows", "notes-汇总-spaced-hidden-chart", "filtered-subtotal",
                                  "hidden-subtotal", "blank-template", "error-values", "merged-figure", "percent-typed"])
def test_a_return_resaved_by_libreoffice_reads_as_written(resaved, case, tmp_path, form, units):
    path, (_, rows, expected) = resaved[case]
    (tmp_path / path.name).write_bytes(path.read_bytes())
    result = read_one(tmp_path, form, units)
    assert {(f.severity.value, f.rule, f.sheet, f.cell) for f in result.findings} == expected, result.findings
    assert result.ret.county_code == "620102"
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)
    if rows:
        assert (result.ret.filled_by, result.ret.reviewed_by) == ("王丽", "陈强")


def test_libreoffice_wrote_what_the_cases_are_about(resaved):
    """The fixtures hold the XML they are meant to: LibreOffice's empty string results and hidden rows."""
    import zipfile

    with zipfile.ZipFile(resaved["zero-hiding"][0]) as z:
        xml = z.read("xl/worksheets/sheet3.xml").decode()
    assert 't="str"' in xml and "<v></v>" in xml
    with zipfile.ZipFile(resaved["filtered-subtotal"][0]) as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert 'hidden="true"' in xml and "SUBTOTAL(109" in xml


@pytest.fixture(scope="module")
def as_xls(tmp_path_factory, form, units):
    src = tmp_path_factory.mktemp("written_xls")
    cases = {k: v for k, v in habit_returns(form, units).items()
             if k in ("merged-figure", "percent-typed", "zero-hiding", "filtered-subtotal", "hidden-subtotal")}
    files = write_habit_files(src, cases)
    out = convert(files, "xls", tmp_path_factory.mktemp("xls"), tmp_path_factory.mktemp("profile_xls"))
    return {name: (out[f.name], cases[name]) for name, f in zip(cases, files)}


def test_libreoffice_wrote_empty_results_and_its_recalc_id_in_the_xls(as_xls):
    """The zero-hiding .xls holds what its case is about: formulas whose computed result is the
    empty string, in a workbook that names the engine that computed it (RECALCID)."""
    import olefile

    from pipeline.stages.read.biff import _XLS_EMPTY_RESULT

    data = as_xls["zero-hiding"][0].read_bytes()
    assert _XLS_EMPTY_RESULT in data
    with olefile.OleFileIO(data) as ole:
        stream = ole.openstream("Workbook").read()
    assert b"\xc1\x01\x08\x00" in stream  # RECALCID, eight bytes long


@pytest.mark.parametrize("case", ["merged-figure", "percent-typed", "zero-hiding", "filtered-subtotal", "hidden-subtotal"])
def test_a_figure_shown_otherwise_in_an_xls_is_found_there_too(as_xls, case, tmp_path, form, units):
    """The engine gives an .xls's merged cells; its number formats are read from its records. A
    zero-hiding formula's empty result, computed and saved by LibreOffice, is no formula left
    uncomputed (as xlwt's are, test_read_recalculated). A SUBTOTAL 合计 over hidden rows is read
    from its records as from an .xlsx's: the .xls was rejected for a total short of its townships."""
    path, (_, rows, expected) = as_xls[case]
    (tmp_path / path.name).write_bytes(path.read_bytes())
    result = read_one(tmp_path, form, units)
    assert {(f.severity.value, f.rule, f.sheet, f.cell) for f in result.findings} == expected, result.findings
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)
