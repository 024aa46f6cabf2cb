"""The cache only ever saves time: an entry that does not verify is dropped, whatever its kind
and however it was damaged, and a cache that cannot be written costs one line, not the run."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.paths import ROOT
from pipeline.run.report import build_run
from tests.builders import write_return

OUTPUTS = ("report.docx", "report.html", "consolidated.xlsx", "findings.csv", "totals.csv", "roster.csv")


@pytest.fixture
def inbox(tmp_path, form, units):
    folder = tmp_path / "inbox"
    folder.mkdir()
    for code in ("620102", "620103", "620402"):
        write_return(folder, form, units.by_code(code))
    return folder


def truncated(path: Path) -> bytes:
    return path.read_bytes()[: path.stat().st_size // 2]


def wrong_kind(path: Path) -> bytes:
    """A whole file of the right format holding something else."""
    return pickle.dumps(["not", "a", "cache"])


def wrong_entries(path: Path) -> bytes:
    """The right container, with entries this code never wrote."""
    stored = pickle.loads(path.read_bytes())
    if path.name.startswith("reads-"):
        return pickle.dumps({"reads": {k: pickle.dumps("not a result") for k in stored["reads"]},
                             "checks": {k: pickle.dumps(["not", "findings"]) for k in stored["checks"]}})
    if path.name.startswith("xlsx-"):
        return pickle.dumps({k: "not a block" for k in stored})
    return pickle.dumps({k: (v[0], v[1], "not bytes", 7) for k, v in stored.items()})  # hashes


KINDS = {"reads": "reads-*.pickle", "blocks": "xlsx-*.pickle", "hashes": "hashes.pickle"}  # the Word charts keep no pictures


@pytest.mark.parametrize("damage", [truncated, wrong_kind, wrong_entries], ids=lambda d: d.__name__)
@pytest.mark.parametrize("kind", KINDS)
def test_every_cache_kind_drops_an_entry_that_does_not_verify(tmp_path, settings, inbox, kind, damage):
    cache = tmp_path / "cache"
    first = build_run(inbox, settings, cache_dir=cache)
    damaged = sorted(cache.glob(KINDS[kind]))
    assert damaged, f"no {kind} cache was written"
    for path in damaged:
        path.write_bytes(damage(path))
    again = build_run(inbox, settings, cache_dir=cache)
    for name in OUTPUTS:
        assert again.files[name] == first.files[name], name
    third = build_run(inbox, settings, cache_dir=cache)  # and the cache is whole again
    for path in sorted(cache.glob(KINDS[kind])):
        assert path.read_bytes() != damage(path) or kind == "hashes"
    assert third.files["report.docx"] == first.files["report.docx"]


FULL_DISK = """
import errno, os, sys, tempfile
from pathlib import Path
from pipeline import cli
from pipeline.store import cache
real = tempfile.mkstemp
def full(*args, **kwargs):  # the disk is full for the cache's files only, written last
    if ".cache" in str(kwargs.get("dir")):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    return real(*args, **kwargs)
tempfile.mkstemp = full
if len(sys.argv) > 3:  # the program's own cache empty too: every process compiles its templates
    import pipeline.paths
    pipeline.paths.CACHE = Path(sys.argv[3])
sys.exit(cli.main(["report", "--inbox", sys.argv[1], "--outbox", sys.argv[2]]))
"""


@pytest.mark.parametrize("fresh_program_cache", [False, True])
def test_a_cache_that_cannot_be_written_is_one_line_and_the_report_is_written(tmp_path, inbox, fresh_program_cache):
    """Said once, whichever processes find they cannot write: the Word helper compiling the
    report's templates said it as well, on a machine whose templates were not compiled yet."""
    out = tmp_path / "out"
    program = [str(tmp_path / "program" / ".cache")] if fresh_program_cache else []
    done = subprocess.run([sys.executable, "-c", FULL_DISK, str(inbox), str(out), *program], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    # Said once: the helper processes that write caches too (the workbooks') say nothing more.
    assert done.stderr.splitlines() == ["提示：缓存未能保存（磁盘空间不足），报告不受影响，下次运行会慢一些。"]
    for name in OUTPUTS:
        assert (out / name).stat().st_size > 0
    assert [p for p in (out / ".cache").rglob("*") if p.is_file()] == []  # nothing half-written


def test_cache_files_a_killed_run_was_writing_are_swept(tmp_path, inbox):
    from pipeline import cli

    out = tmp_path / "out"
    debris = [out / ".cache" / ".tmp-reads-62-x1", out / ".cache" / ".reads-62-abc", out / ".cache" / "charts" / ".tmp-ab-c"]
    for path in debris:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half")
    assert cli.main(["report", "--inbox", str(inbox), "--outbox", str(out)]) == 0
    assert [p for p in debris if p.exists()] == []
    assert list((out / ".cache").glob("reads-*.pickle"))  # the cache itself is kept
