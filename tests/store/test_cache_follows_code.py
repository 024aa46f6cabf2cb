"""Caches follow the code: every cache's fingerprint covers every `.py` of the packages that
shape its content, found by glob, so that editing any of them (or adding one) starts afresh."""

from __future__ import annotations

import shutil

import pytest

from pipeline import paths
from pipeline.store import cache


@pytest.fixture
def copy_of_the_code(tmp_path, monkeypatch):
    folder = tmp_path / "pipeline"
    shutil.copytree(paths.PACKAGE, folder, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(paths, "PACKAGE", folder)
    paths.code_fingerprint.cache_clear()
    yield folder
    paths.code_fingerprint.cache_clear()


KEYS = {
    "read": cache.reader_fingerprint,
    "xlsx blocks": cache._writer_fingerprint,
    "returned workbooks": cache._returned_fingerprint,
    "checked settings": lambda: cache.CheckedSettings(paths.ROOT)._path(b"").name,
}


def _all() -> dict[str, str]:
    for f in (cache._writer_fingerprint, cache._returned_fingerprint):
        f.cache_clear()
    paths.code_fingerprint.cache_clear()
    return {name: key() for name, key in KEYS.items()}


@pytest.mark.parametrize("where, shapes", [
    ("model.py", {"read", "xlsx blocks", "returned workbooks"}),
    ("stages/read/layout.py", {"read", "xlsx blocks", "returned workbooks"}),
    ("stages/validate.py", {"read", "xlsx blocks", "returned workbooks"}),
    ("spec/numbers.py", {"read", "xlsx blocks", "returned workbooks", "checked settings"}),
    ("spec/config.py", {"read", "xlsx blocks", "returned workbooks", "checked settings"}),
    ("outputs/xlsx_writer.py", {"xlsx blocks", "returned workbooks"}),
    ("outputs/returned.py", {"xlsx blocks", "returned workbooks"}),
    ("run/report.py", {"returned workbooks"}),
    ("serve/app.py", set()),
])
def test_editing_a_module_changes_the_fingerprints_of_the_caches_it_shapes(copy_of_the_code, where, shapes):
    before = _all()
    path = copy_of_the_code / where
    path.write_text(path.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    after = _all()
    assert {name for name in KEYS if before[name] != after[name]} == shapes


def test_a_new_module_in_a_package_changes_its_fingerprint(copy_of_the_code):
    before = _all()
    (copy_of_the_code / "stages" / "read" / "csvs.py").write_text("X = 1\n", encoding="utf-8")
    assert _all()["read"] != before["read"]


def test_compiled_templates_follow_the_outputs_and_the_spec(copy_of_the_code):
    from pipeline.outputs import templates

    templates.template_fingerprint.cache_clear()
    before = templates.template_fingerprint()
    path = copy_of_the_code / "spec" / "wording.py"
    path.write_text(path.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    paths.code_fingerprint.cache_clear()
    templates.template_fingerprint.cache_clear()
    assert templates.template_fingerprint() != before
    templates.template_fingerprint.cache_clear()
