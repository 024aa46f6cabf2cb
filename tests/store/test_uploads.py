"""The page's writes to the inbox: a stored name claimed in one step, never chosen first and
written later; identical bytes kept once; what only the page needs private."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from pipeline.store.files import place_new
from pipeline.store.uploads import free_name, store_upload, version_counts


def test_a_name_is_claimed_whole_and_only_once(tmp_path):
    staged = []
    for i in range(8):
        p = tmp_path / f".staged-{i}"
        p.write_bytes(f"return {i}".encode())
        staged.append(p)
    target = tmp_path / "620102_城关区_20161205-090000.xlsx"
    with ThreadPoolExecutor(8) as pool:
        won = list(pool.map(lambda p: place_new(p, target), staged))
    assert won.count(True) == 1
    assert target.read_bytes() == staged[won.index(True)].read_bytes()


def test_free_names_skip_the_inbox_the_kept_versions_and_those_being_checked(tmp_path, units):
    unit = units.by_code("620102")
    when = datetime(2016, 12, 5, 9, 0, 0)
    (tmp_path / "620102_城关区_20161205-090000.xlsx").write_bytes(b"a")
    (tmp_path / ".versions" / unit.code).mkdir(parents=True)
    (tmp_path / ".versions" / unit.code / "620102_城关区_20161205-090000-2.xlsx").write_bytes(b"b")
    assert free_name(tmp_path, unit, when, ".xlsx") == "620102_城关区_20161205-090000-3.xlsx"
    assert free_name(tmp_path, unit, when, ".xlsx", {"620102_城关区_20161205-090000-3.xlsx"}) == \
        "620102_城关区_20161205-090000-4.xlsx"


def test_identical_bytes_move_back_rather_than_being_stored_again(tmp_path, units):
    unit = units.by_code("620102")
    a, b = b"PK\x03\x04 first", b"PK\x03\x04 second"
    first = store_upload(tmp_path, unit, a, "620102_城关区_20161205-090000.xlsx")
    second = store_upload(tmp_path, unit, b, "620102_城关区_20161205-090100.xlsx")
    third = store_upload(tmp_path, unit, a, "620102_城关区_20161205-090200.xlsx")
    assert not first.restored and not second.restored and third.restored
    live = [p for p in tmp_path.iterdir() if p.is_file() and not p.name.startswith(".")]
    kept = list((tmp_path / ".versions" / unit.code).iterdir())
    assert [p.name for p in live] == [third.path.name] and third.path.read_bytes() == a
    assert [p.read_bytes() for p in kept] == [b]
    assert version_counts(tmp_path) == {unit.code: 2}
    assert stat.S_IMODE(third.path.stat().st_mode) == 0o644  # the office's report may run as another account
    assert stat.S_IMODE(kept[0].stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / ".versions").stat().st_mode) == 0o700
