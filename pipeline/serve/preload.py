"""Imported once by the process that starts the page's check workers (multiprocessing's fork
server): each worker is a copy of it, so it begins with the reader, pandas and pandera loaded
rather than spending a second importing them. Nothing else imports this module."""

from __future__ import annotations

import python_calamine  # noqa: F401 - the engine each worker reads with

from ..run import runner  # noqa: F401 - read_sources, validation
from ..stages import tabulate, validate
from ..stages.read import sources  # noqa: F401

validate.pandera()  # pandera, and the modules its first validation loads
tabulate.pd.DataFrame()
