"""A cache never hands back figures other than the file's: every entry carries a checksum of its
content, checked on load; a flipped bit (a failing disk, a bad copy) drops the entry and the file
is read again. For every kind of cache, bits flipped at random give the same outputs as a run
without any cache."""

from __future__ import annotations

import pickle
import shutil

import pytest

from pipeline.run.report import build_run
from pipeline.store.cache import _seal
from tests.builders import EXAMPLE, bit_flipped, clean_rows, write_return

COMPARED = ("totals.csv", "findings.csv", "roster.csv", "report.html", "validation.html", "manifest.csv")
KINDS = {
    "read and validation": "reads-*.pickle",
    "township rows of consolidated.xlsx": "xlsx-*.pickle",
    "returned workbooks": "returned-*.pickle",
    "file hashes": "hashes.pickle",
    "compiled templates": "templates/*/*.jinja",
}


@pytest.fixture(scope="module")
def inbox(tmp_path_factory, form, units):
    folder = tmp_path_factory.mktemp("bits") / "inbox"
    folder.mkdir()
    for code in ("620102", "620104", "620105"):
        shutil.copy(EXAMPLE / f"{code}_{units.by_code(code).name}.xlsx", folder)
    rows = clean_rows()
    rows[0]["households_visited"] = rows[0]["households_total"] // 2  # a warning: a workbook goes back
    rows[0]["households_visited_twice"] = rows[0]["households_visited"] // 2
    write_return(folder, form, units.by_code("620103"), rows)
    return folder


@pytest.fixture(scope="module")
def without_cache(inbox, settings):
    return build_run(inbox, settings)


def _same(run, expected) -> None:
    for name in COMPARED:
        assert run.files[name] == expected.files[name], name
    assert run.files.keys() == expected.files.keys()


@pytest.mark.parametrize("kind", KINDS)
def test_a_flipped_bit_in_any_cache_never_changes_a_figure(tmp_path, inbox, settings, without_cache, kind, monkeypatch):
    from pipeline.outputs import templates
    from pipeline.run import report as run_report

    monkeypatch.setattr(templates, "_ENVS", {})
    monkeypatch.setattr(run_report, "CACHE", tmp_path / ".cache")  # the project's cache (templates) beside the outbox's

    def fresh_run():
        templates._ENVS.clear()  # each run as a fresh process: templates compiled here are not loaded again
        return build_run(inbox, settings, cache_dir=cache)

    cache = tmp_path / ".cache"
    _same(fresh_run(), without_cache)
    [path] = sorted(cache.glob(KINDS[kind]))[:1] or [None]
    assert path is not None, f"no {kind} cache was kept"
    good = path.read_bytes()
    for damaged in bit_flipped(good, kind, 8):
        path.write_bytes(damaged)
        _same(fresh_run(), without_cache)
        path.write_bytes(good)


def test_a_read_entry_changed_under_its_old_checksum_is_read_again(tmp_path, inbox, settings, without_cache):
    """The case a checksum is for: an entry whose pickle still loads, with one figure changed."""
    cache = tmp_path / ".cache"
    build_run(inbox, settings, cache_dir=cache)
    [path] = cache.glob("reads-*.pickle")
    stored = pickle.loads(path.read_bytes())
    for sha, sealed in stored["reads"].items():
        result = pickle.loads(sealed[4:])
        sheet = next(iter(result.ret.sheets.values()))
        key = next(iter(sheet.values))
        wrong = sheet.values | {key: (sheet.values[key][0] + 1, *sheet.values[key][1:])}
        changed = result.__class__(result.source, result.ret.__class__(**{
            **result.ret.__dict__, "sheets": result.ret.sheets | {sheet.key: sheet.__class__(**{**sheet.__dict__,
                                                                                                "values": wrong})}}),
            result.findings)
        stored["reads"][sha] = sealed[:4] + pickle.dumps(changed)  # the old checksum kept
    path.write_bytes(pickle.dumps(stored))
    _same(build_run(inbox, settings, cache_dir=cache), without_cache)
    # and an entry sealed as this program seals it is believed (the check is not always failing)
    stored = pickle.loads(path.read_bytes())
    assert all(_seal(v[4:]) == v for v in stored["reads"].values())
