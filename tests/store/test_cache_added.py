"""The read cache and consolidated.xlsx's blocks are kept whole and added to: a re-run after a
county resent its return writes the entries it added, not the whole again (10 MB and 12 MB at
3,000 returns), and gives the outputs of a run without any cache; once the added and the gone
outweigh an eighth of the whole, the whole is written again."""

from __future__ import annotations

import pickle
import shutil

import pytest

from pipeline.outputs.xlsx_writer import Block
from pipeline.run.intake import take_in
from pipeline.run.report import build_run
from pipeline.store.cache import BlockCache, ReadCache, _seal, _WholeAndAdded
from tests.builders import EXAMPLE, bit_flipped, clean_rows, neighbours_rows, write_return

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
    expected = build_run(inbox, settings)  # no cache at all, the unit list's neither
    assert run.files.keys() == expected.files.keys()
    for name in expected.files:  # every output: the report, Word's, the workbooks going back
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
    for damaged in bit_flipped(good, kind, 6):
        path.write_bytes(damaged)
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


def test_an_entry_the_whole_holds_but_cannot_give_is_made_again_and_kept(inbox, tmp_path, settings, form, units,
                                                                         monkeypatch):
    """An entry whose check holds but which is not what this code reads back (another version's
    record, say) is read again; that reading is kept, not dropped because the whole has its key."""
    monkeypatch.setattr(_WholeAndAdded, "REWRITE_PAST", 1)
    cache = tmp_path / ".cache"
    build_run(inbox, settings, cache_dir=cache)
    [whole] = [p for p in cache.glob("reads-*.pickle") if "-added-" not in p.name]
    stored = pickle.loads(whole.read_bytes())
    key = sorted(stored["reads"])[0]
    stored["reads"][key] = _seal(pickle.dumps("not a read result"))
    whole.write_bytes(pickle.dumps(stored))
    _same_as_without_cache(build_run(inbox, settings, cache_dir=cache), inbox, settings)  # read again
    kept = ReadCache(cache, whole.name[len("reads-"):-len(".pickle")].rsplit("-v", 1)[0])
    assert type(pickle.loads(kept.entries[key][4:])).__name__ == "ReadResult"  # and kept, in the added file
    assert whole.read_bytes() == pickle.dumps(stored)  # the whole as it was
    _same_as_without_cache(build_run(inbox, settings, cache_dir=cache), inbox, settings)


def test_a_block_made_now_is_never_saved_as_a_kept_blocks_bytes(tmp_path):
    """The block cache finds a kept block's stored bytes by the block: a block made in this run
    (even one at the address a kept block had, once that block is gone) is sealed from its own bytes."""
    cache = BlockCache(tmp_path, "k")
    cache.save({}, {"s": {("s", i): Block(f"<row>OLD {i}</row>".encode(), i, 10, 1) for i in range(50)}})
    loaded = BlockCache(tmp_path, "k")
    kept = loaded.load(Block._make)
    assert len(kept) == 50
    kept = dict(list(kept.items())[:1])  # the others let go: their addresses free for new blocks
    made = {("s", i): Block(f"<row>NEW {i}</row>".encode(), i, 10, 1) for i in range(200)}
    loaded.save(kept, {"s": made})
    again = BlockCache(tmp_path, "k").load(Block._make)
    assert {key: bytes(block.deflated) for key, block in again.items()} == {key: block.deflated for key, block in made.items()}
