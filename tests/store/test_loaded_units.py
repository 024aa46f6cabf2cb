"""Unit lists loaded before are taken from the project's cache by their bytes: the same units,
names and lookups as a fresh load, never another file's list, and a list that fails is never kept."""

from __future__ import annotations

import os
import time

import pytest

from pipeline.errors import Fatal
from pipeline.paths import ROOT
from pipeline.spec import units as units_module
from pipeline.spec.units import load_units
from pipeline.store.cache import LoadedUnits

SHIPPED = (ROOT / "schemas" / "units-gansu-2016.csv").read_bytes()
# How clerks name their files: each must find the same unit through a list taken from the cache.
FILE_NAMES = ("620102_城关区", "七里河区2016年12月报表", "阿克塞", "临夏州永靖县", "张家川回族自治县（修改后）", "报表")


def _file(tmp_path, data: bytes):
    path = tmp_path / "units.csv"
    path.write_bytes(data)
    return path


def _lookups(units) -> list:
    return [units.find_in_filename(name) for name in FILE_NAMES] + [units.find_by_short_name(n) for n in ("七里河", "城关")]


def test_a_list_loaded_before_gives_the_units_and_lookups_of_a_fresh_load_without_parsing(tmp_path, monkeypatch):
    path, kept = _file(tmp_path, SHIPPED), LoadedUnits(tmp_path / "cache")
    fresh = load_units(path)
    assert load_units(path, kept) == fresh  # loaded, and kept
    assert len(list((tmp_path / "cache").glob("*.pickle"))) == 1

    def no_parsing(data, path):
        raise AssertionError("parsed again")

    monkeypatch.setattr(units_module, "_parsed_units", no_parsing)
    taken = load_units(path, kept)
    assert taken == fresh and taken.fingerprint == fresh.fingerprint
    assert _lookups(taken) == _lookups(fresh) and _lookups(fresh)[0] == "620102"
    assert taken.cities == fresh.cities and [taken.by_code(u.code) for u in fresh.units] == list(fresh.units)
    # one unit renamed: other bytes, parsed
    path.write_bytes(SHIPPED.replace("七里河区".encode(), "七里河新区".encode()))
    with pytest.raises(AssertionError, match="parsed again"):
        load_units(path, kept)


def test_a_damaged_entry_is_loaded_again_and_a_list_that_fails_is_never_kept(tmp_path):
    path, folder = _file(tmp_path, SHIPPED), tmp_path / "cache"
    kept = LoadedUnits(folder)
    fresh = load_units(path, kept)
    [entry] = folder.glob("*.pickle")
    good = entry.read_bytes()
    # still a pickle of the list, one unit's name other than the file's: only the checksum tells
    changed = good.replace("七里河区".encode(), "七里河县".encode())
    assert changed != good and len(changed) == len(good)
    entry.write_bytes(changed)
    assert kept.get(SHIPPED) is None
    assert load_units(path, kept) == fresh
    assert kept.get(SHIPPED) == fresh  # put back whole

    twice = _file(tmp_path, SHIPPED + SHIPPED.splitlines(keepends=True)[1])  # a unit's row written twice
    for _ in range(2):
        with pytest.raises(Fatal, match="出现了不止一次"):
            load_units(twice, kept)
    assert kept.get(twice.read_bytes()) is None


def test_a_cache_that_cannot_be_written_costs_only_the_loading(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    path = _file(tmp_path, SHIPPED)
    assert load_units(path, LoadedUnits(blocked / "units")) == load_units(path)


def test_lists_not_asked_for_in_a_week_go_and_those_asked_for_stay(tmp_path):
    folder = tmp_path / "cache"
    kept = LoadedUnits(folder)
    old, used = _file(tmp_path, SHIPPED), tmp_path / "other.csv"
    used.write_bytes(SHIPPED.replace("七里河区".encode(), "七里河新区".encode()))
    load_units(old, kept)
    load_units(used, kept)
    long_ago = time.time() - 8 * 24 * 3600
    for entry in folder.glob("*.pickle"):
        os.utime(entry, (long_ago, long_ago))
    load_units(used, kept)  # asked for: kept another week
    third = _file(tmp_path, SHIPPED.replace("城关区".encode(), "城关新区".encode()))
    load_units(third, kept)  # a new list kept: the one not asked for in a week goes
    assert kept.get(used.read_bytes()) is not None and kept.get(third.read_bytes()) is not None
    assert kept.get(SHIPPED) is None and len(list(folder.glob("*.pickle"))) == 2


def test_a_list_kept_by_other_code_or_another_python_is_loaded_again(tmp_path, monkeypatch):
    """The names are indexed by spec/'s code, on NFKC's tables and pickled by this Python: a list
    kept by any other is loaded afresh."""
    import sys

    from pipeline.store import cache as cache_module

    path, kept = _file(tmp_path, SHIPPED), LoadedUnits(tmp_path / "cache")
    load_units(path, kept)

    def parsed_again(data, path):
        raise AssertionError("parsed again")

    real = cache_module.code_fingerprint
    monkeypatch.setattr(cache_module, "code_fingerprint", lambda *packages: real(*packages) + "changed")
    monkeypatch.setattr(units_module, "_parsed_units", parsed_again)
    with pytest.raises(AssertionError, match="parsed again"):
        load_units(path, kept)
    monkeypatch.setattr(cache_module, "code_fingerprint", real)
    assert load_units(path, kept) is not None  # the same code again: taken as kept
    monkeypatch.setattr(sys, "version_info", (3, 99, 0))
    with pytest.raises(AssertionError, match="parsed again"):
        load_units(path, kept)
