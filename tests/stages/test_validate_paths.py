"""Validation's whole-frame fast paths give exactly the findings of the row-by-row rules."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.model import Return, SheetData, Source
from pipeline.stages.tabulate import tabulate
from pipeline.stages.validate import _computed_findings, _computed_row_findings

count = st.one_of(st.none(), st.integers(0, 60))
# What a county may type or its formulas may cache in 合计 and 整改率 cells.
shown = st.one_of(
    st.none(), st.integers(0, 200), st.floats(0, 150, allow_nan=False),
    st.sampled_from(["—", "", "100%", "87.5%", "0.875", "1,234", "abc", "90"]),
    st.fractions(0, 1).map(float),
)


@st.composite
def problem_sheets(draw, form):
    spec = next(s for s in form.sheets if s.computed)
    n = draw(st.integers(1, 4))
    counts = [f.key for f in spec.count_fields]
    cells = count if draw(st.booleans()) else st.integers(0, 60)  # half the sheets have every count readable
    values = {k: tuple(draw(cells) for _ in range(n)) for k in counts}
    for c in spec.computed:
        column = []
        for i in range(n):
            if c.sum:
                parts = [values[k][i] for k in c.sum]
                right = None if None in parts else sum(parts)
            else:  # a rate of two sums, worked out from their parts as validation does
                num, den = (sum_of(form, spec, values, key, i) for key in c.rate)
                right = num / den if num is not None and den else None
            if right is None or draw(st.integers(0, 3)) == 0:
                column.append(draw(shown))
            elif c.sum:  # the right sum, or one just off it
                column.append(right + draw(st.sampled_from([0, 0, 1, -1, 0.5, 1e-12])))
            else:  # the right share as a fraction or a percentage, rounded and nudged as people and Excel do
                as_percent = draw(st.booleans())
                value = round(right * (100 if as_percent else 1), draw(st.integers(0, 6)))
                value += draw(st.sampled_from([0, 0, 1e-12, 0.004, -0.004, 0.0004, 0.01]))
                column.append(f"{value}%" if as_percent and draw(st.booleans()) else value)
        values[c.key] = tuple(column)
    letters = {k: chr(66 + i) for i, k in enumerate(values)}
    return spec, SheetData(spec.key, spec.label, "A", letters, tuple(f"乡{i}" for i in range(n)),
                           tuple(range(5, 5 + n)), values)


def sum_of(form, spec, values, key, i):
    computed = next((c for c in spec.computed if c.key == key and c.sum), None)
    if computed is None:
        return values[key][i]
    parts = [values[k][i] for k in computed.sum]
    return None if None in parts else sum(parts)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_computed_columns_fast_path_matches_row_by_row(form, data):
    sheets = [data.draw(problem_sheets(form)) for _ in range(data.draw(st.integers(1, 3)))]
    spec = sheets[0][0]
    returns = [Return(Source(f"{i}.xlsx", 0, f"{i}", 0.0, "xlsx"), f"62010{i}", None, {spec.key: sheet})
               for i, (_, sheet) in enumerate(sheets)]
    tables = tabulate(form, returns)
    fast = _computed_findings(form, tables.sheets[spec.key], tables.returns)
    slow = []
    for ret in returns:
        sheet = ret.sheets[spec.key]
        for i, row_number in enumerate(sheet.rows):
            row = {k: column[i] for k, column in sheet.values.items()}
            slow += _computed_row_findings(form, spec, ret, sheet, row, row_number)
    assert sorted(fast, key=lambda f: (f.file, f.cell)) == sorted(slow, key=lambda f: (f.file, f.cell))
