"""Settings files checked before are taken from the project's cache by their bytes: the same
settings as a fresh check, never those of another file, and a file that fails is never kept."""

from __future__ import annotations

import pytest

from pipeline.paths import ROOT
from pipeline.spec import config
from pipeline.spec.config import SettingsError, load_settings
from pipeline.store.cache import CheckedSettings

FORM = (ROOT / "schemas" / "shuanglian-2016.toml").as_posix()
SHIPPED = (ROOT / "settings.toml").read_text(encoding="utf-8").replace(
    'form = "schemas/shuanglian-2016.toml"', f'form = "{FORM}"')
TABLES = ('passwords = ["123456"]', '[rounds."2017-06"]\ntitle = "二〇一七年上半年"\n',
          '[cities."620100"]\noffice = "兰州市双联办"\n')


def _file(tmp_path, text: str):
    path = tmp_path / "settings.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_file_checked_before_gives_the_settings_a_fresh_check_gives_without_checking(tmp_path, monkeypatch):
    text = SHIPPED.replace("passwords = []", TABLES[0]) + "\n" + TABLES[1] + "\n" + TABLES[2]
    path, kept = _file(tmp_path, text), CheckedSettings(tmp_path / "cache")
    fresh = load_settings(path)
    assert fresh.passwords == ("123456",) and fresh.rounds and fresh.cities
    assert load_settings(path, kept) == fresh  # checked, and kept
    assert len(list((tmp_path / "cache").glob("*.json"))) == 1

    def no_check(raw, path):
        raise AssertionError("checked again")

    monkeypatch.setattr(config, "_check", no_check)
    assert load_settings(path, kept) == fresh  # taken as kept
    path.write_text(text.replace("二〇一七年上半年", "二〇一七年全年"), encoding="utf-8")
    with pytest.raises(AssertionError, match="checked again"):
        load_settings(path, kept)  # other bytes: checked


def test_a_damaged_entry_is_checked_again_and_a_file_that_fails_is_never_kept(tmp_path):
    path, folder = _file(tmp_path, SHIPPED), tmp_path / "cache"
    kept = CheckedSettings(folder)
    fresh = load_settings(path, kept)
    [entry] = folder.glob("*.json")
    good = entry.read_bytes()
    # still JSON, one setting other than the file's: only the checksum tells
    changed = good.replace(b'"upload_limit_mb": 20', b'"upload_limit_mb": 21')
    assert changed != good
    entry.write_bytes(changed)
    assert kept.get(path.read_bytes()) is None
    assert load_settings(path, kept) == fresh

    bad = _file(tmp_path, SHIPPED.replace("twice_threshold = 0.95", 'twice_threshold = "95%"'))
    for _ in range(2):
        with pytest.raises(SettingsError, match="95%"):
            load_settings(bad, kept)
    assert kept.get(bad.read_bytes()) is None


def test_a_cache_that_cannot_be_written_costs_only_the_check(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    path = _file(tmp_path, SHIPPED)
    assert load_settings(path, CheckedSettings(blocked / "settings")) == load_settings(path)
