"""The submission page's own arithmetic: a return's figures (合计 per sheet) and what changed."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pipeline.model import Return, SheetData, Source
from pipeline.serve.figures import Change, SheetFigures, changes, figures
from pipeline.store.uploads import upload_suffix


def sheet(key: str, values: dict[str, tuple]) -> SheetData:
    n = len(next(iter(values.values())))
    return SheetData(key, key, "A", {k: "B" for k in values}, tuple(f"镇{i}" for i in range(n)), tuple(range(5, 5 + n)),
                     values)


counts = st.lists(st.integers(0, 10**9), min_size=1, max_size=8)


@given(st.data())
def test_figures_are_the_sums_of_the_township_rows_or_none_where_a_cell_is_unreadable(form, data):
    sheets, expected = {}, {}
    for spec in form.sheets:
        values = {}
        for f in spec.count_fields:
            column = data.draw(counts)
            if data.draw(st.booleans()) and len(column) > 1:
                column[data.draw(st.integers(0, len(column) - 1))] = None  # an unreadable cell
            values[f.key] = tuple(column)
            expected[(spec.key, f.key)] = None if None in column else sum(column)
        n = min(len(v) for v in values.values())
        sheets[spec.key] = sheet(spec.key, {k: v[:n] for k, v in values.items()})
        for k, v in values.items():
            cut = v[:n]
            expected[(spec.key, k)] = None if None in cut else sum(cut)
    ret = Return(Source("a.xlsx", 1, "", 0.0, "xlsx"), "620102", None, sheets)
    got = {(s.key, k): v for s in figures(form, ret) for k, _, _, v in s.figures}
    assert got == expected
    assert figures(form, None) == ()


def figs(values: dict[str, int | None]) -> tuple[SheetFigures, ...]:
    return (SheetFigures("visits", "表一", tuple((k, f"标签{k}", "个", v) for k, v in values.items())),)


@given(st.dictionaries(st.sampled_from("abcdef"), st.one_of(st.none(), st.integers(0, 100)), min_size=1),
       st.dictionaries(st.sampled_from("abcdef"), st.one_of(st.none(), st.integers(0, 100)), min_size=1))
def test_changes_list_exactly_the_fields_that_differ(old, new):
    assert changes(figs(old), figs(old)) == ()
    got = changes(figs(old), figs(new))
    assert got == tuple(Change("表一", f"标签{k}", old.get(k), v) for k, v in new.items() if old.get(k) != v)


def test_upload_keeps_a_workbooks_extension_and_nothing_else():
    assert upload_suffix("报表.XLS") == ".xls"
    assert upload_suffix("a.xlsm") == ".xlsm"
    assert upload_suffix("a.ods") == ".ods"
    assert upload_suffix("evil.html") == ".xlsx"
    assert upload_suffix("../../etc/passwd") == ".xlsx"
    assert upload_suffix("") == ".xlsx"
    # the content decides when the name disagrees with it: Excel warns of a mismatch otherwise
    zipped, ole = b"PK\x03\x04\x14\x00\x06\x00", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    assert upload_suffix("报表.xls", zipped) == ".xlsx" and upload_suffix("报表.xlsm", zipped) == ".xlsm"
    assert upload_suffix("报表.xlsx", ole) == ".xls" and upload_suffix("报表.et", ole) == ".et"
    assert upload_suffix("报表.xlsx", zipped) == ".xlsx" and upload_suffix("报表", ole) == ".xls"
