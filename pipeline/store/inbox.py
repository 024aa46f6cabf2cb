"""Discover: the inbox → the files in it, each with its size, hash, time and kind.

The inbox is only read. A .zip is looked into, never extracted.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import tempfile
import zipfile
from datetime import datetime
from pathlib import Path

from ..model import Source
from ..spec.units import Unit
from ..stages.read.workbook import Unreadable
from .cache import Hashes

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
_HEAD = 8


def discover(inbox: Path, hashes: Hashes | None = None) -> list[Source]:
    """`hashes` remembers each file's hash by its size and times, as git does: a re-run
    then hashes only the files that changed."""
    sources: list[Source] = []
    for parts, abspath in _files(str(inbox)):
        rel, name = "/".join(parts), parts[-1]
        if any(part.startswith(".") for part in parts) and name != ".DS_Store":
            continue  # hidden folders (.git, editor state) are not submissions
        if abspath.endswith(os.sep):  # a report run's own outputs, copied into the inbox
            sources.append(Source(rel, 0, "", os.stat(abspath).st_mtime, "output", abspath=abspath))
            continue
        stat = os.stat(abspath)
        known = hashes.get(abspath, stat) if hashes else None
        data_head, digest = known or _head_and_sha256(abspath)
        if hashes and known is None:
            hashes.put(abspath, stat, data_head, digest)
        kind = classify(name, data_head)
        if kind == "zip":
            sources += _members(Path(abspath), rel, stat.st_mtime)
            continue
        sources.append(Source(rel, stat.st_size, digest, stat.st_mtime, kind, abspath=abspath))
    return sources


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
    return "broken" if os.path.splitext(lower)[1] in WORKBOOK_SUFFIXES else "skip"


def _head_and_sha256(path: str) -> tuple[bytes, str]:
    """The first bytes (to tell the kind) and the hash, in one pass over the file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        first = f.read(1 << 20)
        h.update(first)
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return first[:_HEAD], h.hexdigest()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _members(path: Path, rel: str, mtime: float) -> list[Source]:
    out: list[Source] = []
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return [Source(rel, path.stat().st_size, _sha256(path), mtime, "broken", abspath=str(path))]
    with zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            name = _member_name(info)
            shown = f"{rel}/{name}"
            base = Path(name).name
            if info.file_size > 200 * 1024 * 1024:
                kind = "broken"
                digest = ""
            else:
                with zf.open(info) as f:
                    head = f.read(_HEAD)
                kind = classify(base, head)
                digest = hashlib.sha256(zf.read(info)).hexdigest() if kind != "skip" else ""
            member_time = datetime(*info.date_time).timestamp() if info.date_time[0] > 1980 else mtime
            out.append(
                Source(shown, info.file_size, digest, member_time, kind if kind != "zip" else "archive",
                       archive=str(path), member=info.filename, abspath=str(path))
            )
    return out


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


def load_bytes(source: Source) -> bytes:
    if source.archive:
        with zipfile.ZipFile(source.archive) as zf:
            info = zf.getinfo(source.member)
            if info.file_size > 200 * 1024 * 1024:
                raise Unreadable("unreadable", "压缩包内文件过大")
            return zf.read(info)
    return Path(source.abspath).read_bytes()


def page_explanations(inbox: Path) -> dict[str, str]:
    """上报说明 given with an upload on the submission page (`make serve` keeps them in
    inbox/.versions/explanations.csv, by the file's name in the inbox): file → words."""

    path = inbox / ".versions" / "explanations.csv"
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            return {row["file"]: row["explanation"].strip() for row in csv.DictReader(f)
                    if row.get("file") and (row.get("explanation") or "").strip()}
    except (OSError, UnicodeDecodeError, KeyError, csv.Error):
        return {}  # none, or not readable: the cells under the tables still count


VERSIONS = ".versions"  # hidden: the reader skips it
_STAMP = "%Y%m%d-%H%M%S"


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


_LIVE = re.compile(r"^(\d{6})_.+_\d{8}-\d{6}(?:-\d+)?\.[A-Za-z]+$")


def live_uploads(inbox: Path, unit: Unit) -> list[Path]:
    """The unit's uploads in the inbox (files the page named), not files put there by hand."""
    prefix = f"{unit.code}_{unit.name}_"
    return sorted(p for p in inbox.iterdir()
                  if p.is_file() and p.name.startswith(prefix) and _LIVE.match(p.name))


def inbox_name(inbox: Path, unit: Unit, when: datetime, suffix: str) -> str:
    """The name an upload will have in the inbox, taken before it is checked so that its
    findings name the file the report will read: -2, -3… for another within the same second."""
    name = upload_name(unit, when, suffix)
    target, n = inbox / name, 1
    while target.exists():
        n += 1
        target = inbox / f"{Path(name).stem}-{n}{suffix}"
    return target.name


def store_upload(inbox: Path, unit: Unit, data: bytes, suffix: str, when: datetime, name: str = "") -> Path:
    """Put an accepted return into the inbox: written to a hidden file, flushed to disk, then
    renamed into place, so the inbox never holds half a file even if the power goes. The unit's
    earlier uploads move to .versions/<code>/, never overwritten."""
    target = inbox / (name or inbox_name(inbox, unit, when, suffix))
    earlier = live_uploads(inbox, unit)
    fd, tmp = tempfile.mkstemp(prefix=".upload-", suffix=".tmp", dir=inbox)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if earlier:
        keep = inbox / VERSIONS / unit.code
        keep.mkdir(parents=True, exist_ok=True)
        for old in earlier:
            dest, k = keep / old.name, 1
            while dest.exists():
                k += 1
                dest = keep / f"{old.stem}-v{k}{old.suffix}"
            os.replace(old, dest)
    _sync_folder(inbox)
    return target


def sweep_partial(inbox: Path) -> None:
    """Staging files of an upload cut off by a crash: hidden, so never read, and removed here."""
    for leftover in inbox.glob(".upload-*.tmp"):
        leftover.unlink(missing_ok=True)


def _sync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # Windows cannot open a folder; its renames are durable enough
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


EXPLANATIONS = "explanations.csv"
