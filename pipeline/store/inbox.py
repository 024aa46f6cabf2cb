"""The inbox, as a run sees it: every file listed at one instant, with its size, hash, time and
kind, and the bytes of every file the run will read, read then and never again; the notes the
submission page keeps beside the returns. The only code that reads the inbox.

The inbox is only read here. A .zip is looked into, never extracted. The submission page is the
inbox's one writer (store/uploads.py): while it names and stores an upload it holds the inbox's
lock exclusively, and a view is taken under the same lock shared, so an upload is wholly in a
run or wholly in the next one.
"""

from __future__ import annotations

import csv
import hashlib
import os
import zipfile
from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ..model import Source
from .cache import Hashes
from .lock import inbox_shared

WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".et", ".xltx", ".xlt", ".ods"}
# Archives the reader cannot open: a county that sends one has sent nothing readable, which
# is an error against it (unzip, or send a .zip), never a file skipped.
ARCHIVE_SUFFIXES = {".zip", ".rar", ".7z", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".cab", ".arj", ".lzh", ".zipx"}
_ARCHIVE_MAGIC = (b"Rar!\x1a\x07", b"7z\xbc\xaf\x27\x1c")
# Documents that come with returns (a cover letter, a scan): skipped, whatever container their
# format uses (.docx is a zip like .xlsx, .doc an OLE file like .xls).
DOCUMENT_SUFFIXES = {".docx", ".doc", ".docm", ".dotx", ".wps", ".wpt", ".pdf", ".ofd", ".rtf", ".txt", ".md",
                     ".pptx", ".ppt", ".dps", ".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".heic"}
# What an empty inbox may still hold: files the system or Excel leave behind, never a return.
PLACEHOLDERS = {".gitkeep", ".ds_store", "thumbs.db", "desktop.ini"}
# Names under which other systems and offices send a return as text: an HTML page or Excel 2003
# XML saved as .xls, a CSV file (or a CSV renamed .xlsx), an MHTML page. Told apart by content.
TEXT_SUFFIXES = {".xls", ".xlsx", ".et", ".csv", ".htm", ".html", ".mht", ".mhtml", ".xml"}
READABLE = ("xlsx", "xls", "text")  # the kinds whose bytes a run reads
MAX_RETURN_BYTES = 200 * 1024 * 1024  # no county's return is this large: past it, a file is not read
VERSIONS = ".versions"  # hidden: the page keeps earlier uploads and its notes here; the reader skips it
EXPLANATIONS = "explanations.csv"
_HEAD = 8


@dataclass(frozen=True)
class InboxView:
    """The inbox at one instant: its entries, the bytes of every readable one (by `Source.path`),
    and the 上报说明 the page keeps (by file name). Later steps use these, never the folder."""

    folder: Path
    sources: tuple[Source, ...]
    data: dict[str, bytes] = field(default_factory=dict)
    explanations: dict[str, str] = field(default_factory=dict)

    def readable(self) -> list[Source]:
        return [s for s in self.sources if s.kind in READABLE]

    def bytes_of(self, source: Source) -> bytes | None:
        return self.data.get(source.path)


def take_view(inbox: Path, hashes: Hashes | None = None, wanted: Callable[[str], bool] | None = None) -> InboxView:
    """List the inbox and read what a run needs of it, under the page's lock (shared): every
    readable file's bytes, or, with `wanted`, the bytes of those whose SHA-256 (known without
    reading, from `hashes`) it wants; a file that must be read to be hashed is kept all the same."""
    with inbox_shared(inbox):
        data: dict[str, bytes] = {}
        sources = _list(inbox, hashes, data, wanted)
        notes = page_explanations(inbox)
    return InboxView(inbox, tuple(sources), data, notes)


def discover(inbox: Path, hashes: Hashes | None = None) -> list[Source]:
    """The inbox's entries alone (what a view lists), for whoever needs no bytes."""
    return _list(inbox, hashes, None)


def _list(inbox: Path, hashes: Hashes | None, data: dict[str, bytes] | None,
          wanted: Callable[[str], bool] | None = None) -> list[Source]:
    """`hashes` remembers each file's hash by its size and times, as git does: a re-run then
    hashes only the files that changed. `data`, when given, receives each readable file's bytes."""
    sources: list[Source] = []
    for parts, abspath in _files(str(inbox)):
        rel, name = "/".join(parts), parts[-1]
        if any(part.startswith(".") for part in parts) and name != ".DS_Store":
            continue  # hidden folders (.git, editor state) are not submissions
        if abspath.endswith(os.sep):  # a report run's own outputs, copied into the inbox
            sources.append(Source(rel, 0, "", os.stat(abspath).st_mtime, "output", abspath=abspath))
            continue
        with open(abspath, "rb") as f:
            stat = os.fstat(f.fileno())
            known = hashes.get(abspath, stat) if hashes else None
            needed = data is not None and (known is None or wanted is None or wanted(known[1]))
            first = f.read(1 << 20) if known is None or needed else b""
            head = known[0] if known else first[:_HEAD]
            kind = classify(name, head)
            keep = needed and kind in (*READABLE, "zip") and stat.st_size <= MAX_RETURN_BYTES
            if known:
                digest = known[1]
                if keep:
                    content = first + f.read()
            else:
                content, digest = _hashed(abspath, f, first, keep)
        if hashes and known is None:
            hashes.put(abspath, stat, head, digest)
        if kind == "zip":
            sources += _members(Path(abspath), rel, stat.st_mtime, content if keep else None, data)
            continue
        if kind in READABLE and stat.st_size > MAX_RETURN_BYTES:
            kind = "broken"
        sources.append(Source(rel, stat.st_size, digest, stat.st_mtime, kind, abspath=abspath))
        if keep and kind in READABLE:
            data[rel] = content
    return sources


def _hashed(path: str, f, first: bytes, keep: bool) -> tuple[bytes | None, str]:
    """A file's SHA-256, read on from `first` (its first megabyte, read already), and with
    `keep` its whole content: one pass over the file either way."""
    if keep:
        content = first + f.read()
        return content, hashlib.sha256(content).hexdigest()
    h = hashlib.sha256(first)
    for chunk in iter(lambda: f.read(1 << 20), b""):
        h.update(chunk)
    return None, h.hexdigest()


def holds_nothing(inbox: Path) -> bool:
    """True when the folder holds no file but hidden ones and what the system or Excel leave
    (`.gitkeep`, `.DS_Store`, `Thumbs.db`, `~$` lock files): only then may a run fall back to
    the bundled example. Anything else, even a file the run cannot read, is the office's."""
    for parts, _ in _files(str(inbox)):
        name = parts[-1]
        if any(p.startswith(".") for p in parts) or name.lower() in PLACEHOLDERS or name.startswith("~$"):
            continue
        return False
    return True


# What a report run writes: a folder under the inbox holding two or more of these is an old
# outbox (or a copy of one), whose marked-up returns/ and history/ would otherwise be read as
# the counties' returns and supersede the real ones.
OUTPUT_NAMES = {"roster.csv", "findings.csv", "manifest.csv", "totals.csv", "consolidated.xlsx", "validation.html"}


def _files(inbox: str) -> list[tuple[tuple[str, ...], str]]:
    """Every file under the inbox as (its path's parts, its full path), in the order pathlib
    sorts paths; folders are entered, links to folders are not (as Path.rglob). A folder of a
    report run's outputs is not entered: it comes back once, its full path ending in a separator."""
    found = []
    folders: list[tuple[str, tuple[str, ...]]] = [(inbox, ())]
    while folders:
        folder, parts = folders.pop()
        try:
            with os.scandir(folder) as entries:
                entries = list(entries)
        except PermissionError:
            continue
        if parts and len(OUTPUT_NAMES.intersection(e.name.lower() for e in entries)) >= 2:
            found.append((parts, folder + os.sep))
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                folders.append((entry.path, (*parts, entry.name)))
            elif entry.is_file():
                found.append(((*parts, entry.name), entry.path))
    return sorted(found, key=lambda f: [os.path.normcase(part) for part in f[0]])


def classify(name: str, head: bytes) -> str:
    """What a file is, by its content; the name only tells a broken workbook from other junk."""
    lower = name.lower()
    if name.startswith("~$") or name == ".DS_Store" or name.startswith("._") or lower in PLACEHOLDERS:
        return "skip"
    if os.path.splitext(lower)[1] in DOCUMENT_SUFFIXES:
        return "skip"
    if head.startswith(b"PK\x03\x04"):
        return "zip" if lower.endswith(".zip") else "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    if head.startswith(_ARCHIVE_MAGIC) or os.path.splitext(lower)[1] in ARCHIVE_SUFFIXES:
        return "archive"
    if os.path.splitext(lower)[1] in TEXT_SUFFIXES and _text(head):
        return "text"
    return "broken" if os.path.splitext(lower)[1] in WORKBOOK_SUFFIXES else "skip"


def _text(head: bytes) -> bool:
    """The file's first bytes are text: UTF-16 by its mark, or no NUL byte at all."""
    return head.startswith((b"\xff\xfe", b"\xfe\xff")) or (bool(head) and b"\x00" not in head)


DEFAULT_ZIP_DEPTH = 2
# How many zips deep (a zip in a zip is 2) a listing looks for returns: the settings' zip_depth,
# set around take_view or discover by whoever knows the settings (zips_down_to), read where a
# zip's members are listed.
ZIP_DEPTH: ContextVar[int] = ContextVar("zip_depth", default=DEFAULT_ZIP_DEPTH)


@contextmanager
def zips_down_to(depth: int):
    """Listings made within look into zips `depth` deep (1: a zip's own members only)."""
    token = ZIP_DEPTH.set(max(1, depth))
    try:
        yield
    finally:
        ZIP_DEPTH.reset(token)


def _members(path: Path, rel: str, mtime: float, content: bytes | None, data: dict[str, bytes] | None) -> list[Source]:
    """A zip's members, each a source named `archive.zip/member.xlsx`; with `data`, the readable
    members' bytes, read from the zip's own bytes as listed. A zip inside it (a city's zip of
    its counties' zips) is looked into too, down to the depth the settings allow."""
    import io

    try:
        zf = zipfile.ZipFile(io.BytesIO(content) if content is not None else path)
    except (zipfile.BadZipFile, OSError):
        return [Source(rel, path.stat().st_size, _sha256(content, path), mtime, "broken", abspath=str(path))]
    with zf:
        return _zip_members(zf, path, rel, "", mtime, data, 1)


def _zip_members(zf: zipfile.ZipFile, path: Path, rel: str, inside: str, mtime: float, data: dict[str, bytes] | None,
                 level: int) -> list[Source]:
    """The members of `zf`, itself `level` zips deep in the inbox's zip at `path`; `rel` is how
    it is shown, `inside` its own path within that zip. Each member is named as it is shown:
    a GBK name is found as its clerk wrote it, never as its raw bytes."""
    import io

    out: list[Source] = []
    for info in zf.infolist():
        if info.is_dir():
            continue
        name = _member_name(info)
        shown = f"{rel}/{name}"
        base = Path(name).name
        member = b""
        if info.file_size > MAX_RETURN_BYTES:
            kind = "broken"
            digest = ""
        else:
            with zf.open(info) as f:
                head = f.read(_HEAD)
            kind = classify(base, head)
            if kind != "skip":
                member = zf.read(info)
            digest = hashlib.sha256(member).hexdigest() if kind != "skip" else ""
        member_time = datetime(*info.date_time).timestamp() if info.date_time[0] > 1980 else mtime
        if kind == "zip" and level < ZIP_DEPTH.get():
            try:
                with zipfile.ZipFile(io.BytesIO(member)) as inner:
                    out += _zip_members(inner, path, shown, f"{inside}{name}/", member_time, data, level + 1)
                continue
            except zipfile.BadZipFile:
                kind = "broken"
        kind = kind if kind != "zip" else "archive"
        out.append(Source(shown, info.file_size, digest, member_time, kind, archive=str(path), member=inside + name,
                          abspath=str(path)))
        if data is not None and kind in READABLE:
            data[shown] = member
    return out


def _sha256(content: bytes | None, path: Path) -> str:
    if content is not None:
        return hashlib.sha256(content).hexdigest()
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _member_name(info: zipfile.ZipInfo) -> str:
    """Zips made on Chinese Windows store GBK names without the UTF-8 flag; zip on Linux and
    macOS stores UTF-8 names without it too. Python reads both as cp437. GBK's bytes are seldom
    valid UTF-8, so UTF-8 is tried first, as unzip does."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:
        return info.filename
    for encoding in ("utf-8", "gbk"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return info.filename


def page_explanations(inbox: Path) -> dict[str, str]:
    """上报说明 given with an upload on the submission page (kept in
    inbox/.versions/explanations.csv, by the file's name in the inbox): file → words."""
    path = inbox / VERSIONS / EXPLANATIONS
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            return {row["file"]: row["explanation"].strip() for row in csv.DictReader(f)
                    if row.get("file") and (row.get("explanation") or "").strip()}
    except (OSError, UnicodeDecodeError, KeyError, csv.Error):
        return {}  # none, or not readable: the cells under the tables still count
