"""One township listed twice (under its old name and its new, or a row copied) adds its figures
twice: two townships whose figures agree in every table listing both, five or more of them not
0, are a warning at the later row's name (`township-repeated`)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.model import Return, SheetData, Source
from pipeline.stages.tabulate import ALIKE_FIGURES as REPEATED_FIGURES
from pipeline.stages.tabulate import tabulate
from pipeline.stages.validate import validate


def _return(form, tables: dict[str, list[tuple[str, tuple]]], code="620102") -> Return:
    """A return whose sheet `key` lists (township, its figures in the form's order)."""
    sheets = {}
    for spec in form.sheets:
        listed = tables.get(spec.key)
        if listed is None:
            continue
        keys = [f.key for f in spec.count_fields]
        letters = {k: chr(66 + i) for i, k in enumerate(keys)}
        sheets[spec.key] = SheetData(spec.key, f"{spec.number}{spec.label}", "A", letters,
                                     tuple(name for name, _ in listed), tuple(range(5, 5 + len(listed))),
                                     {k: tuple(figures[j] for _, figures in listed) for j, k in enumerate(keys)})
    return Return(Source(f"{code}.xlsx", 1, "x", 0.0, "xlsx"), code, None, sheets)


def _repeated(form, returns):
    return [(f.county_code, f.sheet, f.cell) for f in validate(form, tabulate(form, returns)) if f.rule == "township-repeated"]


def _widths(form):
    return {spec.key: len(spec.count_fields) for spec in form.sheets}


def test_a_township_listed_twice_in_every_table_is_a_warning_at_the_later_row(form):
    w = _widths(form)
    rows = {key: [("张乐街道", tuple(range(10, 10 + n))), ("城关镇", tuple(range(20, 20 + n))),
                  ("张乐乡", tuple(range(10, 10 + n)))] for key, n in w.items()}
    [f] = [f for f in validate(form, tabulate(form, [_return(form, rows)])) if f.rule == "township-repeated"]
    assert (f.severity.value, f.sheet, f.cell, f.field) == ("warning", "表一走访情况", "A7", "township")
    assert f.message == ("表一 第7行 A列的乡镇“张乐乡”在各表中的数字与“张乐街道”逐项相同：请核实是否把同一乡镇填了两次"
                         "（如一个是改名前的名称），如是请删除其中一行后重新报送。")


def test_alike_in_one_table_and_not_in_another_is_two_townships(form):
    w = _widths(form)
    rows = {key: [("甲乡", tuple(range(10, 10 + n))), ("乙乡", tuple(range(10, 10 + n)))] for key, n in w.items()}
    rows["outcomes"][1] = ("乙乡", tuple(range(11, 11 + w["outcomes"])))
    assert _repeated(form, [_return(form, rows)]) == []


def test_townships_of_0_or_with_few_figures_are_not_said_to_repeat(form):
    w = _widths(form)
    zeros = {key: [("甲乡", (0,) * n), ("乙乡", (0,) * n)] for key, n in w.items()}
    few = {"problems": [("甲乡", (1, 1, 0, 0) + (0,) * (w["problems"] - 4)),
                        ("乙乡", (1, 1, 0, 0) + (0,) * (w["problems"] - 4))]}
    assert _repeated(form, [_return(form, zeros), _return(form, few, code="620103")]) == []


def test_the_same_figures_in_two_counties_are_no_repeat(form):
    w = _widths(form)
    rows = {key: [("甲乡", tuple(range(10, 10 + n)))] for key, n in w.items()}
    assert _repeated(form, [_return(form, rows), _return(form, rows, code="620103")]) == []


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_what_is_said_is_what_brute_force_says(form, data):
    """Any small return: a pair is said exactly when brute force over every pair says it."""
    w = _widths(form)
    n = data.draw(st.integers(1, 5))
    names = [f"乡{i}" for i in range(n)]
    palette = [tuple(data.draw(st.integers(0, 2)) for _ in range(max(w.values()))) for _ in range(3)]
    rows = {}
    for key, width in w.items():
        if data.draw(st.integers(0, 4)) == 0:
            continue  # a table the county left out
        rows[key] = [(name, data.draw(st.sampled_from(palette))[:width]) for name in names]
    ret = _return(form, rows)
    want = set()
    for b in range(n):
        for a in range(b):
            both = [rows[s.key] for s in form.sheets if s.key in rows]
            if both and all(t[a][1] == t[b][1] for t in both) and sum(
                    1 for t in both for v in t[a][1] if v) >= REPEATED_FIGURES:
                if not any((names[b], names[c]) for c in range(a) if all(t[c][1] == t[b][1] for t in both)):
                    first = next(s for s in form.sheets if s.key in rows)
                    want.add(("620102", f"{first.number}{first.label}", f"A{5 + b}"))
    assert set(_repeated(form, [ret])) == want
