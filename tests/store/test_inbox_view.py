"""The inbox view takes, at its instant, only the bytes a run needs: a file whose reading the
cache holds is listed from its remembered hash, unopened, and its bytes are read later only if
a step asks, and given only while they are still the content listed."""

from __future__ import annotations

import hashlib
import io
import time
import zipfile

import pytest

from pipeline.store import cache as cache_module
from pipeline.store import inbox as inbox_module
from pipeline.store.cache import Hashes
from pipeline.store.inbox import discover, take_view
from tests.builders import EXAMPLE

NAMES = ("620102_城关区.xlsx", "620103_七里河区.xlsx", "620104_西固区.xlsx")


@pytest.fixture
def inbox(tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    for name in NAMES:
        (folder / name).write_bytes((EXAMPLE / name).read_bytes())
    return folder


def _hashed_long_ago(inbox, store, monkeypatch) -> None:
    """Hash the inbox as if well after its files last changed (else they are racy, hashed again)."""
    later = time.time_ns() + 10 * 10**9
    monkeypatch.setattr(cache_module.time, "time_ns", lambda: later)
    hashes = Hashes(store)
    discover(inbox, hashes)
    hashes.save()


def test_files_not_wanted_are_listed_unopened_and_read_only_when_asked(inbox, tmp_path, monkeypatch):
    store = tmp_path / "hashes.pickle"
    _hashed_long_ago(inbox, store, monkeypatch)
    opened = []
    real = inbox_module._open_regular
    monkeypatch.setattr(inbox_module, "_open_regular", lambda path: opened.append(path) or real(path))
    wanted_digest = hashlib.sha256((inbox / NAMES[1]).read_bytes()).hexdigest()

    view = take_view(inbox, Hashes(store), wanted=lambda path, digest: digest == wanted_digest)

    assert [p.rsplit("/", 1)[-1] for p in opened] == [NAMES[1]]  # only the wanted one was opened
    assert view.sources == tuple(discover(inbox))  # listed the same, hashes and all
    assert dict.keys(view.data) == {NAMES[1]}
    # Another step asks for one that was not taken: read now, as it was listed.
    assert view.data[NAMES[0]] == (inbox / NAMES[0]).read_bytes()
    assert view.data.get(NAMES[2]) == (inbox / NAMES[2]).read_bytes()
    assert view.data.get("nothing-listed.xlsx") is None


def test_a_file_changed_since_the_view_is_never_given_as_if_listed(inbox, tmp_path, monkeypatch):
    store = tmp_path / "hashes.pickle"
    _hashed_long_ago(inbox, store, monkeypatch)
    view = take_view(inbox, Hashes(store), wanted=lambda path, digest: False)
    assert dict.keys(view.data) == set()

    # The clerk's resubmission replaces the file after the run listed it.
    (inbox / NAMES[0]).write_bytes((EXAMPLE / NAMES[1]).read_bytes())
    (inbox / NAMES[2]).unlink()
    with pytest.raises(KeyError):
        view.data[NAMES[0]]
    assert view.data.get(NAMES[0]) is None
    assert view.data.get(NAMES[2]) is None
    assert view.data[NAMES[1]] == (EXAMPLE / NAMES[1]).read_bytes()  # unchanged: given


def test_a_zip_members_bytes_are_read_later_from_the_zip_as_listed(tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name in NAMES[:2]:
            z.writestr(f"兰州市/{name}", (EXAMPLE / name).read_bytes())
    (folder / "兰州市.zip").write_bytes(buffer.getvalue())
    view = take_view(folder)
    members = [s for s in view.sources if s.archive]
    assert len(members) == 2
    later = inbox_module.Contents({}, folder, view.sources)  # as a view that took none of them
    for source, name in zip(members, NAMES):
        assert later[source.path] == (EXAMPLE / name).read_bytes()


@pytest.mark.parametrize("size", [0, 7, 12_345, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 5])
def test_a_file_of_any_size_is_taken_whole_and_hashed_as_it_is(tmp_path, size):
    """Files are read a megabyte at most at first, the rest after: every byte is in the view and
    in the hash, with or without the bytes kept, whatever the size around that megabyte."""
    folder = tmp_path / "inbox"
    folder.mkdir()
    content = (b"PK\x03\x04" + bytes(range(256)) * (size // 256 + 1))[:size]
    (folder / "620102_城关区.xlsx").write_bytes(content)
    view = take_view(folder)
    [source] = view.sources
    assert source.sha256 == hashlib.sha256(content).hexdigest() == discover(folder)[0].sha256
    assert source.size == size
    assert view.data.get(source.path, b"") == (content if size else b"")
