"""A derived warning (a coverage rate) is not raised when a cell it is computed from is itself
an error: the clerk is sent to fix that cell, not to explain a rate made from it. Decided in
validation, so the page and validation.html say the same."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pipeline.model import Return, SheetData, Source
from pipeline.stages.tabulate import tabulate
from pipeline.stages.validate import validate
from tests.builders import clean_rows


def visits(form, rows: list[dict]) -> Return:
    spec = form.sheet("visits")
    keys = [f.key for f in spec.count_fields]
    sheet = SheetData("visits", "表一走访情况", "A", {k: "BCDEFGHI"[i] for i, k in enumerate(keys)},
                      tuple(r["township"] for r in rows), tuple(range(5, 5 + len(rows))),
                      {k: tuple(r[k] for r in rows) for k in keys})
    return Return(Source("a.xlsx", 1, "x", 0.0, "xlsx"), "620102", None, {"visits": sheet})


def low(rows: list[dict]) -> list[dict]:
    for r in rows:
        r["households_visited"] = r["households_total"] // 2
        r["households_visited_twice"] = r["households_visited"] // 2
    return rows


def edit(rows: list[dict], **cell) -> list[dict]:
    rows[1] |= cell
    return rows


# What else is wrong in the return → whether the households' coverage is still questioned.
CASES = {
    "nothing else": (low(clean_rows()), True),
    "a visited count unreadable": (edit(low(clean_rows()), households_visited=None), False),
    "a total unreadable": (edit(low(clean_rows()), households_total=None), False),
    "a visited count negative": (edit(low(clean_rows()), households_visited=-5), False),
    "more visited than there are": (edit(low(clean_rows()), households_visited=99999), False),
    "an error in another column": (edit(low(clean_rows()), linking_cadres=None), True),
    "twice-visited above visited (not a part of the rate)": (edit(low(clean_rows()), households_visited_twice=99999), True),
}


@pytest.mark.parametrize("case", list(CASES))
def test_coverage_is_questioned_only_when_the_cells_it_comes_from_are_sound(form, case):
    rows, questioned = CASES[case]
    findings = validate(form, tabulate(form, [visits(form, rows)]))
    coverage = [f for f in findings if f.rule == "coverage-below-threshold" and f.field == "households_visited"]
    assert bool(coverage) == questioned, [f.message for f in findings]


def test_the_warning_names_the_columns_and_their_sums_and_the_total_cell(form):
    """It named no cell: the clerk was told a rate was low, not which figures made it."""
    rows = low(clean_rows())
    ret = visits(form, rows)
    [f] = [f for f in validate(form, tabulate(form, [ret])) if f.field == "households_visited"]
    visited, total = (sum(r[k] for r in rows) for k in ("households_visited", "households_total"))
    assert f.cell == ""  # no 合计 row: the columns are named
    assert f"（F列走访农户数合计{visited}，E列农户总数合计{total}）" in f.message
    sheet = ret.sheets["visits"]
    with_total = replace(ret, sheets={"visits": replace(sheet, total_row=5 + len(rows))})
    [f] = [f for f in validate(form, tabulate(form, [with_total])) if f.field == "households_visited"]
    assert f.cell == f"F{5 + len(rows)}"
