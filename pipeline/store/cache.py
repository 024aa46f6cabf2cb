"""The caches in the outbox's `.cache/`: each file's read result and its validation findings,
keyed by its SHA-256 and the form's fingerprint; each file's SHA-256 by its size and times;
consolidated.xlsx's township rows; the returned workbooks.

A re-run after one county resends its return reads and validates only that file. Deleting the cache
changes nothing but the time a run takes. It lives in the outbox (`.cache/`), never in the
inbox, and is the pipeline's own: it is not meant to be shared or edited. The project's own
`.cache/` keeps what the program makes of its own files, for every outbox: the settings file
as checked (read before an outbox is known) and the compiled templates (templates/).
"""

from __future__ import annotations

import os
import pickle
import struct
import time
import zlib
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from ..model import Finding, ReadResult, Source
from ..paths import CACHE, ROOT, code_fingerprint
from .files import write_atomic

VERSION = 6  # bump when the records between read and validate change shape (5: sealed entries; 6: keyed by name too)


def reader_fingerprint() -> str:
    """The reader's and the rules' own source (the records, the form, the stages): an upgraded
    reader never trusts an older reader's results."""
    return code_fingerprint("", "spec", "stages")


def entry_key(path: str, digest: str) -> str:
    """A file's entry: its content and its path in the inbox. A return's county may come from its
    file's name or folder (城关区.xlsx, 城关区/表一.csv), so the same bytes under another name
    are another return to read: a file renamed after a run (报表.xlsx to 城关区.xlsx, as the
    office does when told its unit was not recognised) is read again, never taken as the unit
    its old name gave."""
    return f"{digest}\0{path}"


def _key(source: Source) -> str:
    return entry_key(source.path, source.sha256) if source.sha256 else ""


class ReadCache:
    """Each file's read result and validation findings, by its content and name (entry_key),
    kept whole and added to (see _WholeAndAdded): a re-run after one county resent its return
    writes that return's entry, not the other 2,999 again (10 MB at 3,000 returns)."""

    def __init__(self, folder: Path | None, key: str) -> None:
        self.folder = folder
        # Each entry is kept pickled and sealed, as it is saved: results from worker processes
        # arrive pickled already, and the entries loaded are saved as they were (checked once, at load).
        self.entries: dict[str, bytes] = {}
        self.checks: dict[str, bytes] = {}  # validation findings, pickled
        self.put_now: dict[str, set[str]] = {"reads": set(), "checks": set()}  # the keys put in this run
        self.store = _WholeAndAdded(folder, "reads", f"{key}-v{VERSION}", ("reads", "checks")) if folder else None
        self.path = self.store.whole if self.store else None
        if self.store:
            stored = self.store.load()
            self.entries, self.checks = stored["reads"], stored["checks"]

    def has(self, source: Source) -> bool:
        return bool(source.sha256) and _key(source) in self.entries

    def knows(self, path: str, digest: str) -> bool:
        """Whether this content under this name was read and validated before: its bytes are not needed."""
        key = entry_key(path, digest)
        return key in self.entries and key in self.checks

    def get(self, source: Source) -> ReadResult | None:
        blob = self.entries.get(_key(source)) if source.sha256 else None
        if blob is None:
            return None
        try:
            result = pickle.loads(_content(blob))
            if type(result) is not ReadResult or not isinstance(result.findings, tuple):
                return None  # not a read result: read the file again
            return rebind(result, source)
        except Exception:  # noqa: BLE001 - a damaged entry is only a file to read again
            return None

    def put(self, result: ReadResult, blob: bytes | None = None) -> None:
        if result.source.sha256:
            key = _key(result.source)
            self.entries[key] = _seal(blob or pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
            self.put_now["reads"].add(key)

    def checked(self, source: Source) -> tuple[Finding, ...] | None:
        """The validation findings of this file's content, when it was validated before."""
        blob = self.checks.get(_key(source)) if source.sha256 else None
        if blob is None:
            return None
        try:
            findings = pickle.loads(_content(blob))
        except Exception:  # noqa: BLE001 - a damaged entry is only a file to validate again
            return None
        if not isinstance(findings, tuple) or any(type(f) is not Finding for f in findings):
            return None
        return tuple(f if f.file == source.path else replace(f, file=source.path) for f in findings)

    def put_checked(self, source: Source, findings: tuple[Finding, ...]) -> None:
        if source.sha256:
            key = _key(source)
            self.checks[key] = _seal(pickle.dumps(findings, protocol=pickle.HIGHEST_PROTOCOL))
            self.put_now["checks"].add(key)

    def save(self, sources) -> None:
        """Keep entries for the files still in the inbox (`sources`)."""
        if not self.store:
            return
        keep = {_key(s) for s in sources}
        if not (any(self.put_now.values()) or self.entries.keys() - keep or self.checks.keys() - keep):
            return
        self.store.save({"reads": {k: v for k, v in self.entries.items() if k in keep},
                         "checks": {k: v for k, v in self.checks.items() if k in keep}}, self.put_now)


class _WholeAndAdded:
    """Sealed entries, in parts ({part: {key: sealed}}), kept in two files: the whole, as last
    written in full, and the entries added since. A run that adds a few entries writes those
    alone; once the added entries and those gone from the whole outweigh an eighth of it, the
    whole is written again and the added file goes. An entry in either is believed only when
    its check holds (_verified); a file missing or damaged is only a slower run."""

    REWRITE_PAST = 8  # added and gone entries past one in this many of the whole: written whole

    def __init__(self, folder: Path, kind: str, name: str, parts: tuple[str, ...]) -> None:
        # <kind>-<name>.pickle and <kind>-added-<name>.pickle; other names' files are another
        # key's (another form's, version's or code's), and go when these are written.
        self.kind, self.parts = kind, parts
        self.whole, self.added = folder / f"{kind}-{name}.pickle", folder / f"{kind}-added-{name}.pickle"
        self.in_whole: dict[str, set] = {part: set() for part in parts}

    def load(self) -> dict[str, dict]:
        kept = self._read(self.whole)
        self.in_whole = {part: set(entries) for part, entries in kept.items()}
        if any(kept.values()):  # added to a whole that is gone: not believed alone
            for part, entries in self._read(self.added).items():
                kept[part] |= entries
        return kept

    def save(self, parts: dict[str, dict], put: dict[str, set]) -> None:
        """Keep `parts`, each part's every entry (sealed); `put`: the keys of each part made in
        this run (one the whole holds too is made again when its entry there could not be used)."""
        added = {part: {k: v for k, v in parts[part].items() if k not in self.in_whole[part] or k in put[part]}
                 for part in self.parts}
        # the whole's entries not kept now, or kept anew (every entry kept is in the whole or added)
        gone = sum(len(self.in_whole[part]) - (len(parts[part]) - len(added[part])) for part in self.parts)
        size = sum(map(len, self.in_whole.values()))
        if size and sum(map(len, added.values())) + gone <= size // self.REWRITE_PAST:
            if any(added.values()) or self.added.exists():  # none added, none before: nothing to write
                _write_whole(self.added, _pickled(added), stale=f"{self.kind}-added-*.pickle")
            return
        # every other file of this kind goes: other keys', and this one's added file, now in the whole
        _write_whole(self.whole, _pickled({part: parts[part] for part in self.parts}), stale=f"{self.kind}-*.pickle")
        self.in_whole = {part: set(parts[part]) for part in self.parts}

    def _read(self, path: Path) -> dict[str, dict]:
        try:
            with open(path, "rb") as f:
                stored = pickle.load(f)
            return {part: _verified(stored[part]) for part in self.parts}
        except Exception:  # noqa: BLE001 - missing or damaged
            return {part: {} for part in self.parts}


def rebind(result: ReadResult, source: Source) -> ReadResult:
    """The same content under another name or time: findings and return follow the file."""
    if result.source == source:
        return result
    findings = tuple(replace(f, file=source.path) for f in result.findings)
    ret = replace(result.ret, source=source) if result.ret is not None else None
    return ReadResult(source, ret, findings)


class BlockCache:
    """consolidated.xlsx's rows as finished XML, a block per return and sheet, and per county
    (see outputs.workbook.township_blocks and county_blocks), so that a re-run writes XML only
    for what changed. Keyed by the read cache's key (which returns' content means what) and the
    writer's own code; only the blocks of the latest run are kept.

    A block is four fields (its deflated XML, CRC-32, length and rows), kept as they are: a
    header and the bytes, sealed, never a pickle per block (12,000 of those took half a second
    to load at 3,000 returns). load's `make` turns the fields back into the writer's own record."""

    FORMAT = "v3"  # a header of CRC, length and rows, then the deflated XML; kept whole and added to
    _HEAD = struct.Struct("<IQI")

    def __init__(self, folder: Path | None, key: str) -> None:
        self.folder = folder
        self.store = (_WholeAndAdded(folder, "xlsx", f"{self.FORMAT}-{key}-{_writer_fingerprint()}", ("blocks",))
                      if folder else None)
        self.path = self.store.whole if self.store else None
        self._as_stored: dict[int, tuple[object, bytes]] = {}  # see load

    def load(self, make=tuple) -> dict[tuple, object]:
        if not self.store:
            return {}
        stored = self.store.load()["blocks"]
        head, unpack = self._HEAD.size, self._HEAD.unpack_from
        kept: dict[tuple, object] = {}
        # Each block kept is saved again as it was stored, found by the block itself (by its id,
        # the block held beside its bytes, so that no other block can take its id): a county's
        # key is a tuple of its row's values, hashed anew at every look, and 12,000 keys looked
        # up twice more took a fortieth of a second.
        self._as_stored = {}
        for key, sealed in stored.items():
            if len(sealed) >= 4 + head:
                # the deflated XML copied once, out of the sealed entry (its check and header before it)
                block = kept[key] = make((sealed[4 + head:], *unpack(sealed, 4)))
                self._as_stored[id(block)] = (block, sealed)
        return kept

    def save(self, kept: dict[tuple, object], blocks: dict[str, dict[tuple, object]]) -> None:
        """`kept`: what load gave (its blocks held until now); `blocks`: every block of this run, per sheet."""
        if not self.store:
            return
        pack, stored = self._HEAD.pack, self._as_stored
        entries, made = {}, set()
        for per_sheet in blocks.values():
            for key, block in per_sheet.items():
                held, sealed = stored.get(id(block), (None, None))
                if held is not block:  # made in this run
                    deflated, crc, size, rows = block
                    sealed = _seal(pack(crc, size, rows) + deflated)
                    made.add(key)
                entries[key] = sealed
        if not made and len(entries) == len(kept) and self.path.exists():
            return  # every block kept, and none gone
        self.store.save({"blocks": entries}, {"blocks": made})


@lru_cache(maxsize=1)
def _writer_fingerprint() -> str:
    return code_fingerprint("", "spec", "stages", "outputs")  # the township rows, and how they are written


class ReturnedCache:
    """The returned workbooks of the latest run, each under a digest of everything it is made
    from (the county's file as read now, its name, its findings, the 上报说明 label and sheets):
    a re-run sends the same workbook back without opening the file with openpyxl again, which
    costs a twentieth of a second to import and as much again per workbook. Keyed by the
    marking code's own source; only the latest run's workbooks are kept."""

    def __init__(self, folder: Path | None) -> None:
        self.path = folder / f"returned-{_returned_fingerprint()}.pickle" if folder else None
        self.kept: dict[str, bytes] = {}
        if self.path:
            try:
                with open(self.path, "rb") as f:
                    self.kept = _unsealed(pickle.load(f))
            except Exception:  # noqa: BLE001 - none kept, or damaged: only a slower run
                self.kept = {}
        self.used: dict[str, bytes] = {}

    @staticmethod
    def key(digest: str | None, *parts: object) -> str:
        """The file's content by its SHA-256 (None: not opened), and the rest by value (repr; a
        pickle would also tell apart equal strings that are distinct objects)."""
        import hashlib

        h = hashlib.sha256(b"-" if digest is None else b"+" + digest.encode("ascii"))
        h.update(repr(parts).encode("utf-8"))
        return h.hexdigest()

    def get(self, key: str) -> bytes | None:
        found = self.kept.get(key)
        if found is not None:
            self.used[key] = found
        return found

    def put(self, key: str, workbook: bytes) -> None:
        self.used[key] = workbook

    def holds(self, key: str) -> bool:
        return key in self.kept or key in self.used

    def save(self) -> None:
        if self.path and (self.used.keys() != self.kept.keys() or not self.path.exists()):
            _write_whole(self.path, _pickled({k: _seal(v) for k, v in self.used.items()}), stale="returned-*.pickle")


@lru_cache(maxsize=1)
def _returned_fingerprint() -> str:
    return code_fingerprint("", "spec", "stages", "outputs", "run")  # how a workbook is marked, and what goes in


class CompiledTemplates:
    """The templates as Jinja compiles them, kept in the project's .cache/templates/<fingerprint>/
    (one kind of environment's each: outputs/templates lends it). A cache that cannot be read
    or written only costs the compiling."""

    def __init__(self, folder: Path, kind: str) -> None:
        self.folder, self.kind = folder, kind

    def _path(self, bucket) -> Path:
        return self.folder / f"{self.kind}-{bucket.key}.jinja"

    def load_bytecode(self, bucket) -> None:
        try:
            kept = _opened(self._path(bucket).read_bytes())
            if kept is None:
                return  # damaged: compiled again
            bucket.bytecode_from_string(kept)  # one of another Python is refused there, and compiled
        except FileNotFoundError:
            return
        except Exception:  # noqa: BLE001 - damaged in any way: compiled again
            bucket.reset()

    def dump_bytecode(self, bucket) -> None:
        _write_whole(self._path(bucket), _seal(bucket.bytecode_to_string()))


def compiled_templates(folder: Path, fingerprint: str):
    """Where each kind of compiled template is kept: under folder/fingerprint; other
    fingerprints' folders (another version of this code, or of Jinja) go."""
    import shutil

    kept = folder / fingerprint
    if not kept.is_dir() and folder.is_dir():
        for old in folder.iterdir():
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
    return lambda kind: CompiledTemplates(kept, kind)


class CheckedSettings:
    """Settings files checked before, by their bytes: the checked values as JSON in the
    project's .cache/settings/, keyed by the file's SHA-256, the settings code and the pinned
    packages (pydantic's version among them). Only a file that passed is kept; one that does
    not verify, or cannot be read or written, costs the check (a fifth of a second), never a
    wrong setting. Not the outbox's: the settings are read before an outbox is known."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder if folder is not None else CACHE / "settings"

    def _path(self, data: bytes) -> Path:
        import hashlib

        h = hashlib.sha256(data)
        h.update(code_fingerprint("spec").encode())
        try:
            h.update((ROOT / "requirements.lock").read_bytes())
        except OSError:
            h.update(b"-")
        return self.folder / f"{h.hexdigest()[:32]}.json"

    def get(self, data: bytes) -> dict | None:
        import json

        try:
            kept = _opened(self._path(data).read_bytes())
            value = json.loads(kept) if kept is not None else None
        except (OSError, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def put(self, data: bytes, checked: dict) -> None:
        import json

        path = self._path(data)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            for old in path.parent.glob("*.json"):  # the latest file's only
                if old != path:
                    old.unlink(missing_ok=True)
            write_atomic(path, _seal(json.dumps(checked, ensure_ascii=False).encode("utf-8")),
                         prefix=TEMPORARY + "settings-")
        except (OSError, TypeError, ValueError):
            pass  # a project folder the office cannot write to: the check is made every run, as before


class LoadedUnits:
    """Unit lists loaded before, by their bytes: each as load_units made it (its names indexed)
    pickled in the project's .cache/units/, keyed by the file's SHA-256 and the code that
    reads and indexes it. A file that does not verify, or cannot be read or written, costs
    the loading, never another list. Lists not asked for in a week go (another campaign's)."""

    KEPT_SECONDS = 7 * 24 * 3600

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder if folder is not None else CACHE / "units"

    def _path(self, data: bytes) -> Path:
        import hashlib
        import sys
        import unicodedata

        h = hashlib.sha256(data)
        # the code that indexes the names, and what it stands on (NFKC's tables, the pickle's Python)
        h.update(f"{code_fingerprint('spec')} {sys.version_info[:2]} {unicodedata.unidata_version}".encode())
        return self.folder / f"{h.hexdigest()[:32]}.pickle"

    def get(self, data: bytes):
        from ..spec.units import UnitList

        path = self._path(data)
        try:
            kept = _opened(path.read_bytes())
            units = pickle.loads(kept) if kept is not None else None
        except Exception:  # noqa: BLE001 - none kept, or damaged: loaded again
            return None
        if type(units) is not UnitList:
            return None
        try:
            os.utime(path)  # asked for: kept another week
        except OSError:
            pass
        return units

    def put(self, data: bytes, units) -> None:
        path = self._path(data)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            stale = time.time() - self.KEPT_SECONDS
            for old in [*path.parent.glob("*.pickle"), *path.parent.glob(TEMPORARY + "*")]:  # and a killed write's
                if old != path and old.stat().st_mtime < stale:
                    old.unlink(missing_ok=True)
            write_atomic(path, _seal(_pickled(units)), prefix=TEMPORARY + "units-")
        except (OSError, pickle.PicklingError):
            pass  # a project folder the office cannot write to: the list is loaded every run, as before


class Hashes:
    """Each file's first bytes and SHA-256, remembered by its path, size, times, inode and
    device (kept in the outbox's .cache/, never the inbox). An entry is believed only when all
    of these are unchanged and the file was last changed well before it was hashed: a file
    rewritten within the same clock tick as its hashing, to the same size, is hashed again
    (git's "racy" rule). Deleting the file only makes the next run hash everything."""

    RACY_NS = 2_000_000_000  # FAT keeps times to 2 s

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: dict[str, tuple] = {}
        self._as_stored: dict[str, bytes] = {}  # each entry sealed as loaded: saved again as it is
        self.seen: set[str] = set()
        self.changed = False
        if path:
            try:
                with open(path, "rb") as f:
                    sealed = _verified(pickle.load(f))
                self.entries = {}
                for key, blob in sealed.items():
                    try:
                        self.entries[key] = pickle.loads(_content(blob))
                    except Exception:  # noqa: BLE001 - that file is hashed again
                        continue
                    self._as_stored[key] = blob
            except Exception:  # noqa: BLE001 - none yet, or damaged: every file is hashed
                self.entries, self._as_stored = {}, {}

    @staticmethod
    def _stamp(stat: os.stat_result) -> tuple:
        return stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, stat.st_dev

    def get(self, path: str, stat: os.stat_result) -> tuple[bytes, str] | None:
        key = path
        self.seen.add(key)
        entry = self.entries.get(key)
        if not isinstance(entry, tuple) or len(entry) != 4:
            return None
        stamp, hashed_at, head, digest = entry
        if not (isinstance(head, bytes) and isinstance(digest, str) and len(digest) == 64 and isinstance(hashed_at, int)):
            return None  # not an entry this code wrote: hash the file again
        if stamp != self._stamp(stat) or max(stat.st_mtime_ns, stat.st_ctime_ns) + self.RACY_NS > hashed_at:
            return None
        return head, digest

    def put(self, path: str, stat: os.stat_result, head: bytes, digest: str) -> None:
        # The time is taken after hashing: a change during the hashing makes the entry racy.
        self.entries[path] = (self._stamp(stat), time.time_ns(), head, digest)
        self._as_stored.pop(path, None)
        self.seen.add(path)
        self.changed = True

    def save(self) -> None:
        """Keep the entries of the files seen in this run; written whole, then moved into place."""
        if not self.path or not (self.changed or self.entries.keys() - self.seen):
            return
        stored = self._as_stored
        _write_whole(self.path, _pickled({k: stored.get(k) or _seal(_pickled(v))
                                          for k, v in self.entries.items() if k in self.seen}))


def _seal(blob: bytes) -> bytes:
    """An entry as kept: its CRC-32, then its bytes. A flipped bit anywhere in it (a failing disk,
    a copy gone wrong) fails the check on load, and the entry is made again: a cache must never
    hand back a county's figures other than the file's (CRC-32 catches every error of up to 32
    bits in a row, and is quicker than reading the entry)."""
    return zlib.crc32(blob).to_bytes(4, "big") + blob


def _opened(sealed: bytes) -> bytes | None:
    """The entry's bytes, or None when they are not what was kept."""
    return sealed[4:] if _intact(sealed) else None


def _intact(sealed: object) -> bool:
    """Whether a sealed entry's bytes still match the CRC-32 kept before them."""
    return (isinstance(sealed, bytes) and len(sealed) >= 4
            and zlib.crc32(memoryview(sealed)[4:]) == int.from_bytes(sealed[:4], "big"))


def _verified(value: object) -> dict[str, bytes]:
    """A kept dict of sealed entries, those that pass their check, still sealed (see _content)."""
    if not isinstance(value, dict):
        raise TypeError("not a cache of sealed entries")
    return {key: sealed for key, sealed in value.items() if _intact(sealed)}


def _content(sealed: bytes) -> memoryview:
    """A sealed entry's bytes, checked already (_verified), without copying them."""
    return memoryview(sealed)[4:]


def _unsealed(value: object) -> dict[str, bytes]:
    """A kept dict of sealed entries, each checked: those that fail are left out, the others' bytes given."""
    return {key: sealed[4:] for key, sealed in _verified(value).items()}


def _pickled(value: object) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def _write_whole(path: Path, data: bytes, stale: str = "") -> None:
    """Written beside `path`, then moved into place: a run stopped halfway leaves the old file
    or none, never half of one. Files in its folder matching `stale` (another key's) go.

    The cache only saves time: a write that fails (a full disk, a read-only outbox) is said in
    one line and the run goes on; nothing half-written is left behind."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if stale:
            for old in path.parent.glob(stale):
                if old != path:
                    old.unlink(missing_ok=True)
        write_atomic(path, data, prefix=TEMPORARY + path.stem[:8] + "-")
    except OSError as e:
        _not_kept(e)


TEMPORARY = ".tmp-"  # a cache file being written; one found before a run starts is debris


_told = False


def said_by_the_run() -> None:
    """In a process the run forks (the Word helper, the workbooks', a copy making blocks): a
    cache it cannot write is not said there. The run's own process writes its caches too and
    says it, once; the same full disk said twice would read as two problems."""
    global _told
    _told = True


def _not_kept(error: OSError) -> None:
    global _told
    import errno
    import sys

    if _told:
        return  # said once
    _told = True
    why = "磁盘空间不足" if error.errno == errno.ENOSPC else (error.strerror or type(error).__name__)
    sys.stderr.write(f"提示：缓存未能保存（{why}），报告不受影响，下次运行会慢一些。\n")


def sweep(folder: Path) -> None:
    """Remove what runs killed while writing the cache left behind. Only under the outbox's
    lock: another run's file being written would look the same."""
    for pattern in (".*", "charts/.*", "templates/*/.*"):  # every cache file has a plain name; a hidden one is being written
        for debris in folder.glob(pattern):
            if debris.is_file():
                debris.unlink(missing_ok=True)
