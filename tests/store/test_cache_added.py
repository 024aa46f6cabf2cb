"""The read cache and consolidated.xlsx's blocks are kept whole and added to: a re-run after a
county resent its return writes the entries it added, not the whole again (10 MB and 12 MB at
3,000 returns), and gives the outputs of a run without any cache; once the added and the gone
outweigh an eighth of the whole, the whole is written again."""

from __future__ import annotations

import random
import shutil

import pytest

from pipeline.run.intake import take_in
from pipeline.run.report import build_run
from pipeline.store.cache import _WholeAndAdded
from tests.builders import EXAMPLE, clean_rows, neighbours_rows, write_return

COMPARED = ("totals.csv", "findings.csv", "roster.csv", "report.html", "validation.html", "manifest.csv",
            "consolidated.xlsx")
CODES = ("620102", "620104", "620105", "620111")


@pytest.fixture
def inbox(tmp_path, form, units):
    folder = tmp_path / "inbox"
    folder.mkdir()
    for code in CODES[:3]:
        shutil.copy(EXAMPLE / f"{code}_{units.by_code(code).name}.xlsx", folder)
    write_return(folder, form, units.by_code("620103"))
    write_return(folder, form, units.by_code(CODES[3]), rows=neighbours_rows())
    return folder


def _resent(inbox, form, units, code: str, n: int) -> None:
    rows = clean_rows()
    rows[0]["policy_sessions"] += n  # a 表三 figure and, written by build_return, its 合计
    write_return(inbox, form, units.by_code(code), rows=rows)


def _same_as_without_cache(run, inbox, settings) -> None:
    expected = build_run(inbox, settings)
    for name in COMPARED:
        assert run.files[name] == expected.files[name], name


def _wholes(cache) -> dict:
    return {p.name: p.read_bytes() for p in cache.glob("*.pickle") if p.name.startswith(("reads-", "xlsx-"))
            and "-added-" not in p.name}


def _added(cache) -> list[str]:
    return sorted(p.name.split("-")[0] for p in cache.glob("*-added-*.pickle"))


def test_a_rerun_writes_only_what_it_added_and_gives_the_outputs_of_a_run_without_cache(
        inbox, tmp_path, settings, form, units, monkeypatch):
    # Five returns stand for thousands: one changed return is under the eighth here only when
    # the whole is rewritten past all of it.
    monkeypatch.setattr(_WholeAndAdded, "REWRITE_PAST", 1)
    cache = tmp_path / ".cache"
    build_run(inbox, settings, cache_dir=cache)
    wholes = _wholes(cache)
    assert sorted(n.split("-")[0] for n in wholes) == ["reads", "xlsx"] and _added(cache) == []

    _resent(inbox, form, units, "620103", 1)
    _same_as_without_cache(build_run(inbox, settings, cache_dir=cache), inbox, settings)
    assert _wholes(cache) == wholes  # not written again
    assert _added(cache) == ["reads", "xlsx"]

    # The next run takes the added entries: nothing is read again, the outputs are the same.
    intake = take_in(inbox, settings, cache_dir=cache)
    intake.reading.close()
    assert intake.to_read == 0
    _same_as_without_cache(build_run(inbox, settings, cache_dir=cache), inbox, settings)

    # Resent again: the added file holds that return's latest entries; the earlier one's are gone from it.
    _resent(inbox, form, units, "620103", 2)
    _same_as_without_cache(build_run(inbox, settings, cache_dir=cache), inbox, settings)
    assert _wholes(cache) == wholes

    # Past the share (here any change): the whole is written again and the added files go.
    monkeypatch.setattr(_WholeAndAdded, "REWRITE_PAST", 10**6)
    _resent(inbox, form, units, "620103", 3)
    _same_as_without_cache(build_run(inbox, settings, cache_dir=cache), inbox, settings)
    assert _wholes(cache) != wholes and _added(cache) == []
    intake = take_in(inbox, settings, cache_dir=cache)
    intake.reading.close()
    assert intake.to_read == 0


@pytest.mark.parametrize("kind", ["reads", "xlsx"])
def test_a_flipped_bit_in_an_added_file_never_changes_a_figure(inbox, tmp_path, settings, form, units, monkeypatch,
                                                               kind):
    monkeypatch.setattr(_WholeAndAdded, "REWRITE_PAST", 1)
    cache = tmp_path / ".cache"
    build_run(inbox, settings, cache_dir=cache)
    _resent(inbox, form, units, "620103", 1)
    build_run(inbox, settings, cache_dir=cache)
    [path] = cache.glob(f"{kind}-added-*.pickle")
    good = path.read_bytes()
    rng = random.Random(kind)
    for _ in range(6):
        damaged = bytearray(good)
        at = rng.randrange(len(damaged))
        damaged[at] ^= 1 << rng.randrange(8)
        path.write_bytes(bytes(damaged))
        _same_as_without_cache(build_run(inbox, settings, cache_dir=cache), inbox, settings)
        path.write_bytes(good)


def test_an_added_file_whose_whole_is_gone_is_not_believed_alone(inbox, tmp_path, settings, form, units, monkeypatch):
    monkeypatch.setattr(_WholeAndAdded, "REWRITE_PAST", 1)
    cache = tmp_path / ".cache"
    build_run(inbox, settings, cache_dir=cache)
    _resent(inbox, form, units, "620103", 1)
    build_run(inbox, settings, cache_dir=cache)
    for whole in cache.glob("reads-*.pickle"):
        if "-added-" not in whole.name:
            whole.unlink()
    intake = take_in(inbox, settings, cache_dir=cache)
    intake.reading.close()
    assert intake.to_read == len(CODES) + 1  # every return read again
    _same_as_without_cache(build_run(inbox, settings, cache_dir=cache), inbox, settings)
    assert _added(cache) == ["xlsx"]  # the read cache written whole again, its added file gone
