"""A .zip in the inbox, looked into, never extracted: its members listed as sources
(`archive.zip/member.xlsx`), and the bytes of the readable ones read from the zip's own, within
a budget of bytes actually inflated, down to the depth the settings allow."""

from __future__ import annotations

import hashlib
import io
import zipfile
import zlib
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from pathlib import Path

from ..model import Source
from .kinds import HEAD, MAX_RETURN_BYTES, READABLE, classify

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


def members(path: Path, rel: str, mtime: float, content: bytes | None, data: dict[str, bytes] | None) -> list[Source]:
    """A zip's members, each a source named `archive.zip/member.xlsx`; with `data`, the readable
    members' bytes, read from the zip's own bytes as listed. A zip inside it (a city's zip of
    its counties' zips) is looked into too, down to the depth the settings allow."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(content) if content is not None else path)
        if not _starts_at_its_start(zf):
            zf.close()
            raise zipfile.BadZipFile("a zip within")
    except (zipfile.BadZipFile, OSError):
        return [Source(rel, path.stat().st_size, _sha256(content, path), mtime, "broken", abspath=str(path),
                       problem=ARCHIVE_DAMAGED)]
    budget = [MAX_RETURN_BYTES]  # for the whole archive, inner zips' members too, in bytes actually inflated
    with zf:
        return _zip_members(zf, path, rel, "", mtime, data, 1, budget)


ARCHIVE_DAMAGED = "压缩包已损坏或不完整"  # its finding says so (archive-damaged), not "export it again as .xlsx"


def _starts_at_its_start(zf: zipfile.ZipFile) -> bool:
    """The zip's members start where the file does. A zip cut short (still being copied, a
    download broken off) loses its directory at the end; when its members are stored, not
    deflated, the last directory left in it is a member's own (an .xlsx is a zip), and zipfile
    took the archive for that member, listing its parts (xl/workbook.xml…) as skipped files and
    losing the counties' returns without a word. That directory's first member starts where
    the member does, past the file's start."""
    infos = zf.infolist()
    return not infos or min(info.header_offset for info in infos) == 0


def _zip_members(zf: zipfile.ZipFile, path: Path, rel: str, inside: str, mtime: float, data: dict[str, bytes] | None,
                 level: int, budget: list[int]) -> list[Source]:
    """The members of `zf`, itself `level` zips deep in the inbox's zip at `path`; `rel` is how
    it is shown, `inside` its own path within that zip; `budget`, the bytes the whole archive
    may still inflate. Each member is named as it is shown: a GBK name is found as its clerk
    wrote it, never as its raw bytes."""
    out: list[Source] = []
    for info in zf.infolist():
        if info.is_dir():
            continue
        name = _member_name(info)
        shown = f"{rel}/{name}"
        base = Path(name).name
        member: bytes | None = b""
        kind, digest = "broken", ""
        if info.file_size <= budget[0]:
            head = _member_bytes(zf, info, HEAD, head=True)
            kind = classify(base, head) if head is not None else "broken"
            if kind != "skip":
                member = _member_bytes(zf, info, budget[0])
                if member is None:
                    kind, member = "broken", b""
                budget[0] -= len(member)
                digest = hashlib.sha256(member).hexdigest()
        member_time = datetime(*info.date_time).timestamp() if info.date_time[0] > 1980 else mtime
        if kind == "zip" and level < ZIP_DEPTH.get():
            try:
                with zipfile.ZipFile(io.BytesIO(member)) as inner:
                    if not _starts_at_its_start(inner):
                        raise zipfile.BadZipFile("a zip within")
                    out += _zip_members(inner, path, shown, f"{inside}{name}/", member_time, data, level + 1, budget)
                continue
            except zipfile.BadZipFile:
                kind = "broken"
        damaged = ARCHIVE_DAMAGED if kind == "broken" and base.lower().endswith(".zip") else ""
        kind = kind if kind != "zip" else "archive"
        out.append(Source(shown, info.file_size, digest, member_time, kind, archive=str(path), member=inside + name,
                          abspath=str(path), problem=damaged))
        if data is not None and kind in READABLE:
            data[shown] = member
    return out


def _member_bytes(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, *, head: bool = False) -> bytes | None:
    """A member's bytes, inflated a megabyte at a time and never past `limit` bytes actually
    produced (whatever the zip declares): None when it would exceed that, or cannot be
    inflated whole (damaged, encrypted, a compression zipfile lacks, a size that lies and so
    fails its checksum). `head`: only its first `limit` bytes."""
    out = bytearray()
    try:
        with zf.open(info) as f:
            if head:
                return f.read(limit)
            while chunk := f.read(1 << 20):
                out += chunk
                if len(out) > limit:
                    return None
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError, ValueError):
        return None
    return bytes(out)


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
