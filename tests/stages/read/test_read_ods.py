"""OpenDocument spreadsheets (.ods), as LibreOffice and WPS on domestic desktops save them:
found by discover, read like .xlsx. The bundled example (every sixth return, a few of every
city's) and the clerks' habits go through LibreOffice in one soffice call and read to the
same figures as the workbooks they came from."""

from __future__ import annotations

import pytest

from pipeline.paths import ROOT
from pipeline.stages.read.sources import read_sources
from pipeline.store.inbox import discover
from tests.builders import expected_numbers, files_in, numbers_of, read_one
from tests.office import convert, habit_returns, write_habit_files

EXAMPLE = sorted((ROOT / "examples" / "gansu-2016").glob("*.xlsx"))[::6]


@pytest.fixture(scope="module")
def as_ods(tmp_path_factory, form, units):
    src = tmp_path_factory.mktemp("written")
    cases = habit_returns(form, units)
    habit_files = write_habit_files(src, cases)
    out = convert([*EXAMPLE, *habit_files], "ods", tmp_path_factory.mktemp("ods"), tmp_path_factory.mktemp("profile"))
    example = tmp_path_factory.mktemp("example_ods")
    for f in EXAMPLE:
        (example / out[f.name].name).write_bytes(out[f.name].read_bytes())
    return example, {name: (out[f.name], cases[name]) for name, f in zip(cases, habit_files)}


def _as_read(result) -> tuple:
    ret = result.ret
    return (ret.county_code, ret.filed_on, ret.filled_by, ret.reviewed_by, ret.phone,
            {k: (s.townships, s.rows, s.values, s.total_row, s.total) for k, s in ret.sheets.items()},
            sorted((f.rule, f.sheet, f.cell) for f in result.findings))


def test_the_example_round_tripped_through_ods_reads_the_same(as_ods, form, units):
    folder, _ = as_ods
    sources = discover(folder)
    assert [s.path for s in sources] == [f.with_suffix(".ods").name for f in EXAMPLE]
    assert all(s.kind == "xlsx" for s in sources)  # a workbook, told by its content
    ods = read_sources(files_in(folder), form, units)
    xlsx = read_sources(files_in(EXAMPLE[0].parent), form, units)
    by_name = {r.source.path.removesuffix(".xlsx"): r for r in xlsx}
    assert len(ods) == len(EXAMPLE) > 10
    for r in ods:
        assert r.ret is not None, r.findings
        assert _as_read(r) == _as_read(by_name[r.source.path.removesuffix(".ods")]), r.source.path


@pytest.mark.parametrize("case", ["zero-hiding", "spare-rows", "notes-汇总-spaced-hidden-chart", "filtered-subtotal",
                                  "blank-template", "error-values", "merged-figure", "percent-typed"])
def test_a_clerks_habits_read_the_same_from_ods(as_ods, case, tmp_path, form, units):
    _, cases = as_ods
    path, (_, rows, expected) = cases[case]
    (tmp_path / path.name).write_bytes(path.read_bytes())
    result = read_one(tmp_path, form, units)
    assert {(f.severity.value, f.rule, f.sheet, f.cell) for f in result.findings} == expected, result.findings
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)


def test_a_damaged_ods_is_an_error_not_a_skip(tmp_path, form, units):
    (tmp_path / "620102_城关区.ods").write_bytes(b"PK\x03\x04 not really")
    [source] = discover(tmp_path)
    assert source.kind == "xlsx"
    (tmp_path / "620103_七里河区.ods").write_bytes(b"plain text")
    kinds = {s.path: s.kind for s in discover(tmp_path)}
    assert kinds["620103_七里河区.ods"] == "broken"
