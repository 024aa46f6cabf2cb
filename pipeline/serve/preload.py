"""Imported once by the process that starts the page's check workers (multiprocessing's fork
server): each worker is a copy of it, so it begins with the reader, pandas and pandera loaded
and pandera's first validation done (a third of a second in a fresh process), rather than
spending a second on them at its first check. Nothing else imports this module."""

from __future__ import annotations

import pandas as pd
import python_calamine  # noqa: F401 - the engine each worker reads with

from ..run import runner  # noqa: F401 - read_sources, validation
from ..stages.read import sources  # noqa: F401
from ..stages.validate import pandera


def _first_validation() -> None:
    """A validation of the kinds the form's schemas make (counts ≥ 0, a check across columns,
    lazily), so that what pandera builds on its first use is there in every copy."""
    pa = pandera()
    schema = pa.DataFrameSchema(
        {"_ret": pa.Column(int), "township": pa.Column(str, nullable=False),
         "n": pa.Column("Int64", pa.Check.ge(0, name="not-a-count:n"), nullable=True)},
        checks=[pa.Check(lambda df: ~df.duplicated(["_ret", "township"], keep="first"), name="duplicate-township:township")],
    )
    frame = pd.DataFrame({"_ret": pd.Series([0, 0], dtype="int64"), "township": pd.Series(["甲", "甲"], dtype=object),
                          "n": pd.array([1, -1], dtype="Int64")})
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as err:
        err.failure_cases.itertuples(index=False)


_first_validation()
