"""The start of a report run: the form, the unit list, the read cache, the inbox seen at one
instant, and its reading under way (run/reading.py).

Taken by the command line before the rest of the program is loaded, so that the returns are
read while it loads; build_run takes it itself when handed a folder. Like reading.py, this
module and what it imports stay clear of pandas, pandera and the report's modules.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

from ..spec.config import Settings
from ..spec.form import Form, load_form
from ..spec.units import UnitList, load_units
from ..store.archives import zips_down_to
from ..store.cache import Hashes, LoadedUnits, ReadCache, reader_fingerprint
from ..store.inbox import InboxView, take_view
from .reading import Reading, start_reading


@dataclass(frozen=True)
class Intake:
    """What a run starts from, its reading started."""

    form: Form
    units: UnitList
    hashes: Hashes
    cache: ReadCache
    cache_key: str  # the read cache's, which the workbooks' block cache shares
    view: InboxView
    reading: Reading
    discover: float  # seconds: the form, the unit list, the view
    loading: float  # seconds: the read cache's loading, counted with the reading
    read_started: float  # perf_counter() when the readers started, less the cache's loading

    @property
    def to_read(self) -> int:
        """The readable files the read cache does not hold: the run's new returns."""
        return len(self.reading.todo)


def take_in(inbox: Path | InboxView, settings: Settings, *, form: Form | None = None, units: UnitList | None = None,
            cache_dir: Path | None = None) -> Intake:
    """The run's start from `inbox` (a folder, viewed now, or a view taken), its readers
    started on the new files."""
    t = time.perf_counter()
    form = form or load_form(settings.form_path)
    # A run with no cache of its own (a test's reference run, say) loads the unit list afresh too.
    units = units or load_units(form.units_file, LoadedUnits() if cache_dir else None)
    hashes = Hashes(cache_dir / "hashes.pickle" if cache_dir else None)
    discover = time.perf_counter() - t

    # The read cache is loaded first, so that the view takes only the bytes it has not read;
    # its loading is counted with the reading.
    t = time.perf_counter()
    secrets = hashlib.sha256("\0".join(settings.passwords).encode()).hexdigest()[:8]
    cache_key = f"{form.fingerprint}-{units.fingerprint}-{secrets}-{reader_fingerprint()}"
    cache = ReadCache(cache_dir, cache_key)
    loading = time.perf_counter() - t

    t = time.perf_counter()
    if isinstance(inbox, InboxView):
        view = inbox
    else:
        # Only the bytes of the files the cache has not read are taken: the others are read
        # later only if a step needs them (a workbook going back to its county).
        with zips_down_to(settings.zip_depth):
            view = take_view(inbox, hashes, wanted=lambda path, digest: not cache.knows(path, digest))
    discover += time.perf_counter() - t
    read_started = time.perf_counter() - loading
    reading = start_reading(list(view.readable()), view.data, form, units, settings.passwords, cache)
    return Intake(form, units, hashes, cache, cache_key, view, reading, discover, loading, read_started)
