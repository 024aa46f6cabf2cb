"""The workbooks' process: a copy of the run's process, forked once the totals exist, that makes
the returned workbooks (county by county under the guard) and consolidated.xlsx while the run
makes the report. Its blocks of rows come from the outbox's cache, from a copy forked earlier
(fresh_blocks: a first run's township rows, made while the returns were validated), and from
itself and a copy of itself (the county rows, a half each; returned workbooks, when several)."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ..model import Finding, Roster
from ..outputs.workbook import (
    COUNTY_SHEET,
    consolidated_xlsx,
    county_blocks,
    county_keys,
    county_share,
    return_blocks,
    township_blocks,
)
from ..spec.form import Form
from ..stages.compare import Comparison
from ..stages.consolidate import Totals, township_rows
from ..stages.resolve import with_warning_counts
from ..store.cache import BlockCache, ReturnedCache
from ..store.inbox import InboxView
from .processes import in_background
from .runner import Guard, Incident


def fresh_blocks(form: Form, tables, fresh: list[int], names: dict[str, str], digests: dict[str, str],
                  letters: dict) -> dict[tuple, object]:
    """The township blocks of the returns at positions `fresh` (made in a copy of the run's
    process: their rows are gathered there too, not held by the run)."""
    return return_blocks(form, township_rows(tables, fresh), names, digests, letters)


def made_by_the_workbooks_process(
        form: Form, totals: Totals, roster: Roster, findings: list[Finding], cache: BlockCache,
        comparison: Comparison | None, sheets: dict[str, tuple[tuple[str, int], ...]],
        explained: dict[tuple[str, str], str], view: InboxView, stamp: str, letters: dict | None = None,
        about: dict | None = None, early: Callable[[], dict | None] | None = None,
) -> tuple[dict[str, bytes], list[Incident], list[Finding]]:
    """The returned workbooks, county by county under the guard (one that cannot be marked up
    goes back plain, listing its findings, with one more that says so), then consolidated.xlsx
    with every finding. Made by a copy of the run's process; `early`: waits for the township
    blocks another copy has made of the returns read afresh (asked last: it had a head start).
    With those, a first run: this process makes half the county rows, a copy of it the rest."""
    from ..outputs.xlsx_writer import Block

    guard = Guard(form, f"{stamp}-W")
    kept = cache.load(Block._make)
    keys = county_keys(form, totals, comparison, about)  # once, for both shares and the sheet
    # A first run: half the county rows are made by a copy of this process meanwhile.
    other = in_background(county_share, form, totals, comparison, about, kept, (1, 2), keys) if early is not None else None
    returned = ReturnedCache(cache.folder)
    out, faults = returned_workbooks(form, roster, findings, sheets, view, returned, guard)
    returned.save()
    if faults:
        findings = sorted([*findings, *faults], key=lambda f: f.sort_key)
        roster = with_warning_counts(roster, faults)
    shared = kept
    if other is not None:
        shared = kept | county_share(form, totals, comparison, about, kept, (0, 2), keys) | (other() or {})
    counties = county_blocks(form, totals, comparison, about, shared, keys)
    made = _head_start(early)
    blocks = township_blocks(form, totals, roster, kept, letters, made)
    blocks[COUNTY_SHEET] = counties
    cache.save(kept, blocks)
    out["consolidated.xlsx"] = consolidated_xlsx(form, totals, roster, findings, blocks, comparison, explained, about)
    return out, guard.incidents, faults


def _head_start(early: Callable[[], dict | None] | None) -> dict:
    """The township blocks made early, or none: they only save time. Whatever went wrong making
    them (a return that will not stand among them, say), the blocks are made here instead, from
    the totals, for the returns that stand."""
    if early is None:
        return {}
    try:
        return early() or {}
    except Exception:  # noqa: BLE001 - a head start lost, never a figure
        return {}


def returned_workbooks(form: Form, roster: Roster, findings: list[Finding], sheets: dict[str, tuple[tuple[str, int], ...]],
                       view: InboxView, cache: ReturnedCache, guard: Guard) -> tuple[dict[str, bytes], list[Finding]]:
    """returns/<code>_<name>.xlsx for every county whose standing file has errors or warnings,
    county by county under the guard; one made before from the same file (by its SHA-256),
    findings and words is taken from `cache`, its bytes unread. A workbook that cannot be marked
    up goes back plain, listing its findings and one more that says so (returned with the others
    made plain); so does one whose file has changed since the run listed it (not kept). When
    several are to be made, a copy of this process makes half of them (each takes openpyxl a
    tenth of a second or so, a copy a hundredth to start)."""
    out: dict[str, bytes] = {}
    if not any(u.source is not None and (u.errors or u.warnings) for u in roster.units):
        return out, []
    from ..outputs import returned  # openpyxl, a twentieth of a second: only when a workbook goes back

    digests = {s.path: s.sha256 for s in view.sources}
    items = returned.wanted(roster, findings)

    def source_path(unit) -> str:
        # A county block of a city's workbook goes back as the city's workbook, its cells marked.
        return unit.source.path.rsplit("/", 1)[0] if unit.source.via else unit.source.path

    def opened(own: list[Finding]) -> bool:
        return not any(f.rule in returned.UNOPENED for f in own)

    def key(item) -> str:
        unit, own = item
        digest = digests.get(source_path(unit), "") if opened(own) else None
        return ReturnedCache.key(digest, unit.name, form.explanation_label, sheets.get(unit.source.path, ()), own)

    def marked(item) -> bytes:
        unit, own = item
        found = key(item)
        made = cache.get(found)
        if made is None:
            content = view.data.get(source_path(unit)) if opened(own) else None
            made = returned.returned_workbook(form, content, own, unit.name, sheets.get(unit.source.path, ()))
            if content is not None or not opened(own):
                cache.put(found, made)
        return made

    def made(part: list[int], guard: Guard) -> tuple[list[bytes], list[Finding], list[Incident], dict[str, bytes]]:
        """The workbooks of items `part` under `guard`, the faults met, and the cache's entries."""
        faults: list[Finding] = []

        def plain(item, fault: Finding) -> bytes:
            unit, own = item
            faults.append(fault)
            return returned.plain_workbook(form, [*own, fault], unit.name)

        def place(item) -> tuple[str, str]:
            return item[0].source.path, item[0].code

        with collecting_cycles():
            workbooks = guard.each("returned", [items[i] for i in part], marked, plain, place)
        return workbooks, faults, guard.incidents, cache.used

    theirs = _half_of_the_new(items, key, cache)
    # its own guard: its reference numbers must not repeat this one's
    other = in_background(made, theirs, Guard(form, f"{guard.stamp}2")) if theirs else None
    ours = [i for i in range(len(items)) if i not in set(theirs)]
    workbooks, faults, _, _ = made(ours, guard)
    by_item = dict(zip(ours, workbooks))
    if other is not None:
        workbooks, more, incidents, used = other()
        by_item |= zip(theirs, workbooks)
        faults += more
        guard.adopt(incidents)
        cache.used |= used
    for i, (unit, _) in enumerate(items):
        out[returned.returned_path(unit)] = by_item[i]
    return out, faults


RETURNED_APART_FROM = 4  # workbooks to make; fewer are made by one process


@contextmanager
def collecting_cycles() -> Iterator[None]:
    """The cyclic collector on while workbooks are marked, where the run keeps it off: openpyxl's
    workbooks are webs of references (each cell its sheet's, each sheet its book's), and with
    the collector off every one made stayed in memory until the process ended (3.5 GB each in
    the two processes making 30,000). What the process held before is frozen, so that a pass
    scans only the workbooks made since, never the run's records."""
    if gc.isenabled():
        yield
        return
    gc.freeze()
    gc.enable()
    try:
        yield
    finally:
        gc.disable()
        gc.unfreeze()


def _half_of_the_new(items: list, key: Callable, cache: ReturnedCache) -> list[int]:
    """The items a second process makes: half of those the cache does not hold, when there are
    enough. A key that cannot be worked out counts as new (its fault is met, under the guard,
    when the item is made)."""
    def new(item) -> bool:
        try:
            return not cache.holds(key(item))
        except Exception:  # noqa: BLE001 - met again under the guard
            return True

    todo = [i for i, item in enumerate(items) if new(item)]
    return todo[len(todo) // 2:] if len(todo) >= RETURNED_APART_FROM else []
