"""Tabulate: every return's township rows → one DataFrame per sheet type.

Built once per run and shared: validation runs one pandera check per sheet type over it, and
consolidation sums the standing returns from it. A `_ret` column keeps each row's return and
`row` its row number, so every finding still names the county's own cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..model import Return
from ..spec.form import Form, SheetSpec


@dataclass(frozen=True)
class SheetFrame:
    """All township rows of one sheet type, across every return that has the sheet."""

    spec: SheetSpec
    frame: pd.DataFrame  # _ret (index into Tables.returns), township, row, count fields (Int64), computed (object)


@dataclass(frozen=True)
class Tables:
    returns: tuple[Return, ...]
    sheets: dict[str, SheetFrame]


ALIKE_FIGURES = 5  # figures not 0 two townships must share to be one: fewer, small ones may agree by chance


def alike_rows(owners: np.ndarray, columns: list[np.ndarray], *, same_owner: bool) -> set[int]:
    """The owners (returns' places) with a row whose values in `columns` another row has too,
    of the same owner (`same_owner`: one township listed twice) or of another (a township copied
    from another return), rows of 0 aside: each row hashed (with its owner, when the same
    owner's), the hashes sorted, neighbours compared. Rows may hash alike by chance: the owners
    named are then compared figure by figure."""
    key = owners.astype(np.int64) if same_owner else np.zeros(len(owners), dtype=np.int64)
    some = np.zeros(len(key), dtype=bool)
    with np.errstate(over="ignore"):
        for column in columns:
            key = key * np.int64(1_000_003) ^ column
            some |= column > 0  # rows of 0 are alike everywhere: a township repeated has figures somewhere
    key, owner = key[some], owners[some]
    order = np.argsort(key, kind="stable")
    key, owner = key[order], owner[order]
    twin = key[1:] == key[:-1]
    if not same_owner:
        twin &= owner[1:] != owner[:-1]
    return set(owner[1:][twin].tolist()) | set(owner[:-1][twin].tolist())


def tabulate(form: Form, returns: list[Return]) -> Tables:
    sheets = {}
    for spec in form.sheets:
        counts = [f.key for f in spec.count_fields]
        computed = [c.key for c in spec.computed]
        ret_index: list[int] = []
        sizes: list[int] = []
        townships: list[str] = []
        rows: list[int] = []
        columns: dict[str, list] = {k: [] for k in (*counts, *computed)}
        for i, ret in enumerate(returns):
            sheet = ret.sheets.get(spec.key)
            if sheet is None or not sheet.townships:
                continue
            n = len(sheet.townships)
            ret_index.append(i)
            sizes.append(n)
            townships += sheet.townships
            rows += sheet.rows
            for k, column in columns.items():
                column += sheet.values.get(k) or (None,) * n  # a computed column the county left out
        data: dict[str, object] = {
            "_ret": np.repeat(np.asarray(ret_index, dtype=np.int64), sizes),
            "township": pd.array(townships, dtype=object),
            "row": np.asarray(rows, dtype=np.int64),
        }
        for k in counts:
            # Through float64 (None → NaN): four times quicker than from the list, and exact,
            # as the reader refuses any count above 10**12.
            data[k] = pd.array(np.array(columns[k], dtype="float64"), dtype="Int64")
        for k in computed:
            data[k] = pd.array(columns[k], dtype=object)
        sheets[spec.key] = SheetFrame(spec, pd.DataFrame(data))
    return Tables(tuple(returns), sheets)
