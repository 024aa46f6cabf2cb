"""The submission page's writes to the inbox, its one writer: an accepted return stored under
its unit's name and the time it came, the unit's earlier uploads kept in the hidden
`.versions/<code>/`, the 上报说明 counties give, and the page's note of refused uploads.
A city's own workbook (one that holds several of its counties' returns) is stored under the
city's name, `620100_兰州市_市州报送_<time>.xlsx`, its superseded ones kept in
`.versions/city-<code>/`; the page notes which county returns a city uploaded on a county's
behalf. `make report` never writes here.

The page stores an upload while holding the inbox's lock exclusively (`claim`): a report run,
which lists the inbox under the same lock shared, sees the inbox before the upload or after
it, never the new file beside the old one half moved.

The live returns keep the office's usual modes (0644: `make report` may run under another
account); what only the page needs (kept versions, notes, staging copies) is 0600 in the
0700 folder `.versions/`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..outputs.csvfile import csv_bytes
from ..spec.units import Unit
from .files import PRIVATE, SHARED, place_new, private_folder, stage, sync_folder, write_atomic
from .inbox import EXPLANATIONS, VERSIONS, Note, page_notes
from .kinds import WORKBOOK_SUFFIXES
from .lock import inbox_exclusive

_STAMP = "%Y%m%d-%H%M%S"
STAGING_PREFIX = ".upload-"  # an upload being written: hidden, swept at the next start
REFUSED = "refused.json"  # the page's note that a unit tried and was refused
BY_CITY = "by-city.json"  # the page's note of the returns a city uploaded on a county's behalf
CITY_MARK = "市州报送"  # in the name of a city's own workbook: a unit's upload never has it


@contextmanager
def claim(inbox: Path) -> Iterator[None]:
    """Hold the inbox for one upload: from putting it in place to moving the unit's older file away."""
    with inbox_exclusive(inbox):
        yield


def upload_name(unit: Unit, when: datetime, suffix: str) -> str:
    """The name an accepted upload has in the inbox: the unit, then when it came."""
    return f"{unit.code}_{unit.name}_{when.strftime(_STAMP)}{suffix}"


def upload_suffix(filename: str, head: bytes = b"") -> str:
    """The uploaded file's own extension when it is a workbook's and agrees with its content, so
    the office sees what it is and Excel opens it without a warning; anything else is stored (if
    ever) under the extension its content calls for: .xlsx for a zip, .xls for an OLE file."""
    suffix = os.path.splitext(filename or "")[1].lower()
    zipped, ole = head.startswith(b"PK\x03\x04"), head.startswith(b"\xd0\xcf\x11\xe0")
    if suffix in (WORKBOOK_SUFFIXES | {".ods"}) and not head:
        return suffix
    if zipped:
        return suffix if suffix in {".xlsx", ".xlsm", ".xltx", ".ods"} else ".xlsx"
    if ole:
        return suffix if suffix in {".xls", ".et", ".xlt"} else ".xls"
    return suffix if suffix in WORKBOOK_SUFFIXES | {".ods"} else ".xlsx"


def city_upload_name(code: str, name: str, when: datetime, suffix: str) -> str:
    """The name a city's own workbook has in the inbox: the city, the mark, then when it came.
    The mark keeps it apart from a unit's upload under the same code (嘉峪关市, 620200)."""
    return f"{code}_{name}_{CITY_MARK}_{when.strftime(_STAMP)}{suffix}"


_TIME_AND_SUFFIX = r"_\d{8}-\d{6}(?:-\d+)?\.[A-Za-z]+$"
_CITY_LIVE = re.compile(rf"^(\d{{6}})_.+_{CITY_MARK}{_TIME_AND_SUFFIX}")
_LIVE = re.compile(rf"^(\d{{6}})_(?!.*_{CITY_MARK}{_TIME_AND_SUFFIX}).+{_TIME_AND_SUFFIX}")  # a unit's, not a city's


def live_uploads(inbox: Path, unit: Unit) -> list[Path]:
    """The unit's uploads in the inbox (files the page named), not files put there by hand."""
    prefix = f"{unit.code}_{unit.name}_"
    return sorted(p for p in inbox.iterdir()
                  if p.is_file() and p.name.startswith(prefix) and _LIVE.match(p.name))


def page_upload(name: str) -> bool:
    """Whether an inbox file's name is one the page gave a unit's upload (not a city's workbook,
    not a file put there by hand)."""
    return bool(_LIVE.match(name))


def live_city_uploads(inbox: Path, code: str, name: str) -> list[Path]:
    """The city's own workbooks in the inbox, as the page named them."""
    prefix = f"{code}_{name}_{CITY_MARK}_"
    return sorted(p for p in inbox.iterdir()
                  if p.is_file() and p.name.startswith(prefix) and _CITY_LIVE.match(p.name))


def city_folder(code: str) -> str:
    """The city's folder of kept workbooks under .versions/, apart from the unit with its code."""
    return f"city-{code}"


def versions_folder(inbox: Path) -> Path:
    """The page's own hidden folder in the inbox (0700), made if missing."""
    return private_folder(inbox / VERSIONS)


def free_name(inbox: Path, unit: Unit, when: datetime, suffix: str, taken: Iterable[str] = ()) -> str:
    """A name for an upload that no file has, in the inbox or among the unit's kept versions,
    and none of `taken` (given to other uploads being checked with it): -2, -3… for another
    within the same second. Taken before the upload is checked, so that its findings name the
    file the report will read; `store_upload` claims it, or the next free one."""
    return _free(inbox, upload_name(unit, when, suffix), unit.code, taken)


def free_city_name(inbox: Path, code: str, name: str, when: datetime, suffix: str, taken: Iterable[str] = ()) -> str:
    """free_name for a city's own workbook."""
    return _free(inbox, city_upload_name(code, name, when, suffix), city_folder(code), taken)


def _free(inbox: Path, name: str, folder: str, taken: Iterable[str]) -> str:
    taken = set(taken)
    suffix = Path(name).suffix
    stem, n = Path(name).stem, 1
    kept = inbox / VERSIONS / folder
    while name in taken or (inbox / name).exists() or (kept / name).exists():
        n += 1
        name = f"{stem}-{n}{suffix}"
    return name


@dataclass(frozen=True)
class Stored:
    path: Path  # the file in the inbox: the name on the receipt is this one
    restored: bool  # the bytes of a kept version, moved back rather than stored again
    mtime: float  # its time in the inbox, by which a report run ranks it: the receipt's time


def store_upload(inbox: Path, unit: Unit, data: bytes, name: str) -> Stored:
    """Put an accepted return into the inbox under `name` (or the next free one, should another
    writer have taken it), whole and flushed to the disk; the unit's earlier uploads move to
    .versions/<code>/, never overwritten. Bytes identical to a version kept there are not
    stored again: that version moves back. The caller holds `claim(inbox)`.

    Whatever needs a new entry on the disk (the unit's folder of versions, the staging copy) is
    made before the return is put in place: a full disk refuses the upload whole, never after
    it is stored; moving files within the inbox needs no new space."""
    return _store(inbox, unit.code, live_uploads(inbox, unit), data, name)


def store_city_upload(inbox: Path, code: str, data: bytes, name: str, superseded: Iterable[str]) -> Stored:
    """A city's own workbook into the inbox under `name`, as store_upload stores a unit's. Of
    the city's earlier workbooks only those named in `superseded` (every county they hold is
    in this one) move to .versions/city-<code>/: a city that sends its counties in parts
    keeps each part standing. The caller holds `claim(inbox)`."""
    earlier = [inbox / n for n in superseded if (inbox / n).is_file()]
    return _store(inbox, city_folder(code), earlier, data, name)


def _store(inbox: Path, folder: str, earlier: list[Path], data: bytes, name: str) -> Stored:
    keep = private_folder(versions_folder(inbox) / folder)
    twin = _kept_twin(keep, data)
    if twin is not None:
        target = _restore(inbox, twin, name)
    else:
        staged = stage(inbox / VERSIONS, data, mode=SHARED, prefix=STAGING_PREFIX)
        try:
            target = _claim_name(inbox, staged, name)
        finally:
            staged.unlink(missing_ok=True)
    for old in earlier:
        dest, k = keep / old.name, 1
        while dest.exists():
            k += 1
            dest = keep / f"{old.stem}-v{k}{old.suffix}"
        os.replace(old, dest)
        _chmod(dest, PRIVATE)
    sync_folder(inbox)
    sync_folder(keep)
    return Stored(target, twin is not None, target.stat().st_mtime)


def _claim_name(inbox: Path, staged: Path, name: str) -> Path:
    target, n = inbox / name, 1
    stem, suffix = Path(name).stem, Path(name).suffix
    while not place_new(staged, target):
        n += 1
        target = inbox / f"{stem}-{n}{suffix}"
    return target


def _restore(inbox: Path, twin: Path, name: str) -> Path:
    """A kept version back in the inbox as the unit's upload of now (its time in the inbox is
    now, as a fresh upload's would be), readable again by the office's other accounts."""
    _chmod(twin, SHARED)
    try:
        target = _claim_name(inbox, twin, name)
    except BaseException:
        _chmod(twin, PRIVATE)
        raise
    twin.unlink(missing_ok=True)
    os.utime(target)
    return target


def _kept_twin(keep: Path, data: bytes) -> Path | None:
    """The kept version with these very bytes, if any (same size first, then SHA-256)."""
    digest = None
    for p in sorted(keep.iterdir()):
        if p.name.startswith(".") or not p.is_file() or p.stat().st_size != len(data):
            continue
        digest = digest or hashlib.sha256(data).hexdigest()
        if hashlib.sha256(p.read_bytes()).hexdigest() == digest:
            return p
    return None


def _chmod(path: Path, mode: int) -> None:
    try:
        os.chmod(path, mode)
    except OSError:
        pass  # a file system without modes (a share): nothing to keep private there


def version_counts(inbox: Path) -> dict[str, int]:
    """How many returns each unit has uploaded and the page keeps: its earlier ones in
    .versions/<code>/ and its live one (by code); a city's own workbooks under `city:<code>`."""
    counts: dict[str, int] = {}
    folder = inbox / VERSIONS
    try:
        for entry in os.scandir(folder):
            if entry.is_dir(follow_symlinks=False) and not entry.name.startswith("."):
                key = entry.name.replace("city-", "city:", 1) if entry.name.startswith("city-") else entry.name
                counts[key] = sum(1 for e in os.scandir(entry.path) if e.is_file() and not e.name.startswith("."))
    except OSError:
        pass
    try:
        for entry in os.scandir(inbox):
            unit, city = _LIVE.match(entry.name), _CITY_LIVE.match(entry.name)
            key = unit.group(1) if unit else f"city:{city.group(1)}" if city else ""
            if key and entry.is_file():
                counts[key] = counts.get(key, 0) + 1
    except OSError:
        pass
    return counts


def sweep_partial(inbox: Path) -> None:
    """Staging files of an upload cut off by a crash: hidden, so never read, and removed here
    (in .versions/, where uploads are staged, and beside the returns, where they once were)."""
    for folder in (inbox, inbox / VERSIONS):
        for leftover in folder.glob(f"{STAGING_PREFIX}*"):
            if leftover.is_file():
                leftover.unlink(missing_ok=True)


# --- the page's notes -----------------------------------------------------------------------


def save_notes(inbox: Path, notes: dict[str, Note]) -> None:
    """The 上报说明 of each file (inbox name → words, and the warnings they were written for),
    kept beside the returns in .versions/, as the counties wrote them: this is the page's own
    notes file, not an output, so no formula guard (a report run's outputs guard them)."""
    versions_folder(inbox)
    rows = [[name, note.words, _scope_text(note.warnings)] for name, note in sorted(notes.items())]
    write_atomic(inbox / VERSIONS / EXPLANATIONS, csv_bytes(["file", "explanation", "warnings"], rows, guard=False))


def load_notes(inbox: Path) -> dict[str, Note]:
    return page_notes(inbox)


def _scope_text(warnings: frozenset[tuple[str, str, str, str]] | None) -> str:
    return "" if warnings is None else json.dumps(sorted(warnings), ensure_ascii=False)


def save_refused(inbox: Path, refused: dict[str, tuple[str, int]]) -> None:
    """Each unit's latest refused upload (time, number of errors): a refused file is stored
    nowhere, but the office should see, after a restart too, that the county tried."""
    versions_folder(inbox)
    data = json.dumps({code: list(v) for code, v in sorted(refused.items())}, ensure_ascii=False, indent=1)
    write_atomic(inbox / VERSIONS / REFUSED, data.encode("utf-8"))


def load_refused(inbox: Path) -> dict[str, tuple[str, int]]:
    try:
        raw = json.loads((inbox / VERSIONS / REFUSED).read_text(encoding="utf-8"))
        return {str(code): (str(v[0]), int(v[1])) for code, v in raw.items()}
    except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError):
        return {}  # none yet, or damaged: the office sees the next refusal


def save_by_city(inbox: Path, by_city: dict[str, str]) -> None:
    """Which of the inbox's returns a city uploaded on a county's behalf (file name → city
    code): the county and the office see that the city sent it."""
    versions_folder(inbox)
    data = json.dumps(dict(sorted(by_city.items())), ensure_ascii=False, indent=1)
    write_atomic(inbox / VERSIONS / BY_CITY, data.encode("utf-8"))


def load_by_city(inbox: Path) -> dict[str, str]:
    try:
        raw = json.loads((inbox / VERSIONS / BY_CITY).read_text(encoding="utf-8"))
        return {str(k): str(v) for k, v in raw.items()}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}  # none yet, or damaged: the returns themselves are as they were
