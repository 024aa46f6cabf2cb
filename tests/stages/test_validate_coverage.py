"""A derived warning (a coverage rate) is not raised when a cell it is computed from is itself
an error: the clerk is sent to fix that cell, not to explain a rate made from it. Decided in
validation, so the page and validation.html say the same."""

from __future__ import annotations

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
