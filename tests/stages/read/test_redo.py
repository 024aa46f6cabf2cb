"""The verifier of simple formulas (stages/read/redo.py): the arithmetic it redoes equals the
arithmetic written, and anything else is left alone (None)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.stages.read.redo import redo

GRID = {(4, 1): 3, (4, 2): 4, (4, 4): 797, (5, 1): 10, (4, 3): "约5", (6, 1): 2.5}


def value_at(r, c):
    return GRID.get((r, c))


@pytest.mark.parametrize("formula, result", [
    ("E5", 797), ("=E5", 797), ("=$E$5", 797), ("=B5+C5-E5", 3 + 4 - 797), ("=SUM(B5:C5)", 7), ("=SUM(B5:B6)", 13),
    ("=B5+10", 13), ("=Z99", 0), ("=sum(b5:c5)", 7), ("=B7*2", None), ("=D5", None), ("=Sheet2!B5", None),
    ("=ROUND(B5,0)", None), ("=SUM(A1:Z100)", None), ("=B5/C5", None),
])
def test_what_is_redone_and_what_is_left(formula, result):
    assert redo(formula, value_at) == result


cell = st.tuples(st.integers(0, 30), st.integers(0, 25))


@given(st.dictionaries(cell, st.integers(0, 10**6), max_size=20), st.lists(st.tuples(st.booleans(), cell), min_size=1,
                                                                        max_size=8))
def test_a_sum_of_cells_is_redone_exactly(values, terms):
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    formula = "=" + "".join(("-" if minus else "+") + f"{letters[c]}{r + 1}" for minus, (r, c) in terms).lstrip("+")
    expected = sum((-1 if minus else 1) * values.get((r, c), 0) for minus, (r, c) in terms)
    assert redo(formula, lambda r, c: values.get((r, c))) == expected
