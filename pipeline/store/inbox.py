"""The inbox, as a run sees it: every file listed at one instant, with its size, hash, time and
kind, and the bytes of every file the run will read, read then and never again; the notes the
submission page keeps beside the returns. The only code that reads the inbox.

The inbox is only read here (a .zip's members: archives.py; what a file is: kinds.py). The submission page is the
inbox's one writer (store/uploads.py): while it names and stores an upload it holds the inbox's
lock exclusively, and a view is taken under the same lock shared, so an upload is wholly in a
run or wholly in the next one.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import os
import stat as stat_module
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import Fatal, reason
from ..model import Source
from .archives import members
from .cache import Hashes
from .kinds import ARCHIVE_SUFFIXES, HEAD, MAX_RETURN_BYTES, PLACEHOLDERS, READABLE, WORKBOOK_SUFFIXES, classify
from .lock import inbox_shared

VERSIONS = ".versions"  # hidden: the page keeps earlier uploads and its notes here; the reader skips it
EXPLANATIONS = "explanations.csv"


@dataclass(frozen=True)
class Note:
    """A 上报说明 given on the submission page for one file, and the warnings it was written
    for, each as (rule, sheet, cell, field): it answers those, never a warning found later. None: a
    note from before the page kept that, which answers every warning of its file."""

    words: str
    warnings: frozenset[tuple[str, str, str, str]] | None = None


class Contents(dict):
    """The bytes of a view's readable files, by `Source.path`: those read when the view was
    taken, and, looked up, any other listed file's, read then under the page's lock and given
    only when it is still the content listed (its SHA-256); else it is missing (KeyError, or
    get's default). A run takes the bytes of the files it must read at the instant it lists the
    inbox; one whose reading its cache holds goes unread unless a later step asks (the
    workbook sent back to its county, a cache entry found damaged)."""

    def __init__(self, read: dict[str, bytes] | None = None, folder: Path | None = None,
                 sources: tuple[Source, ...] = ()) -> None:
        super().__init__(read or {})
        self.folder = folder
        self.listed = {s.path: s for s in sources if s.kind in READABLE and s.sha256}

    def __missing__(self, path: str) -> bytes:
        source = self.listed.get(path)
        content = _read_again(self.folder, source) if source is not None and self.folder is not None else None
        if content is None or hashlib.sha256(content).hexdigest() != source.sha256:
            raise KeyError(path)
        self[path] = content
        return content

    def get(self, path: str, default=None):
        try:
            return self[path]
        except KeyError:
            return default


def _read_again(inbox: Path, source: Source) -> bytes | None:
    """A listed file's bytes, read now under the page's lock (shared); None when it cannot be."""
    with inbox_shared(inbox):
        if source.archive:
            member_of = {}
            rel = source.path[:-len(source.member) - 1]
            members(Path(source.archive), rel, source.mtime, None, member_of)
            return member_of.get(source.path)
        try:
            opened = _open_regular(source.abspath or str(inbox / source.path))
            if opened is None:
                return None  # no longer a regular file
            fd, _ = opened
            try:
                return _read_up_to(fd, MAX_RETURN_BYTES + 1)
            finally:
                os.close(fd)
        except OSError:  # gone, or unreadable
            return None


@dataclass(frozen=True)
class InboxView:
    """The inbox at one instant: its entries, the bytes of every readable one the run needs (by
    `Source.path`; any other's on demand, as it was listed: `Contents`), and the 上报说明 the page
    keeps (by file name; `explained_for`: the warnings each answers, where the page recorded
    them). Later steps use these, never the folder."""

    folder: Path
    sources: tuple[Source, ...]
    data: dict[str, bytes] = field(default_factory=dict)
    explanations: dict[str, str] = field(default_factory=dict)
    explained_for: dict[str, frozenset[tuple[str, str, str, str]]] = field(default_factory=dict)

    def explained(self) -> dict[tuple[str, str], str]:
        """The page's notes as a report run looks them up (outputs.tables.explanation_of): for
        the warnings each was written for, or for the whole file when the page did not say."""
        from ..outputs.tables import answered_key

        out = {(path, ""): words for path, words in self.explanations.items() if path not in self.explained_for}
        for path, warnings in self.explained_for.items():
            out |= {(path, answered_key(*w)): self.explanations[path] for w in warnings}
        return out

    def readable(self) -> list[Source]:
        return [s for s in self.sources if s.kind in READABLE]

    def bytes_of(self, source: Source) -> bytes | None:
        return self.data.get(source.path)


def take_view(inbox: Path, hashes: Hashes | None = None, wanted: Callable[[str, str], bool] | None = None) -> InboxView:
    """List the inbox and read what a run needs of it, under the page's lock (shared): every
    readable file's bytes, or, with `wanted`, the bytes of those whose path and SHA-256 (known
    without reading, from `hashes`) it wants; a file that must be read to be hashed is kept all the same.
    Any other's bytes are read when asked for, and given only while they are still as listed."""
    with inbox_shared(inbox):
        data: dict[str, bytes] = {}
        sources = tuple(_list(inbox, hashes, data, wanted))
        notes = page_notes(inbox)
    return InboxView(inbox, sources, Contents(data, inbox, sources), {name: n.words for name, n in notes.items()},
                     {name: n.warnings for name, n in notes.items() if n.warnings is not None})


def discover(inbox: Path, hashes: Hashes | None = None) -> list[Source]:
    """The inbox's entries alone (what a view lists), for whoever needs no bytes."""
    return _list(inbox, hashes, None)


def _list(inbox: Path, hashes: Hashes | None, data: dict[str, bytes] | None,
          wanted: Callable[[str, str], bool] | None = None) -> list[Source]:
    """`hashes` remembers each file's hash by its size and times, as git does: a re-run then
    hashes only the files that changed. `data`, when given, receives each readable file's bytes.
    An entry that cannot be read (no permission, a disk error, a link to nowhere) is listed
    with why, for its finding: one file never stops the listing."""
    sources: list[Source] = []
    for entry in _entries(inbox):
        rel, name = "/".join(entry.parts), entry.parts[-1]
        if any(part.startswith(".") for part in entry.parts) and name != ".DS_Store":
            continue  # hidden folders (.git, editor state, the page's .versions) are not submissions
        if entry.what != "file":
            # Something that is no file to read, named as a return (a pipe, a link to nothing):
            # a return that cannot be opened, so that its county hears of it.
            kind = "broken" if entry.what == "special" and _workbook_named(name) else entry.what
            sources.append(Source(rel, 0, "", entry.mtime, kind, abspath=entry.path, problem=entry.detail))
            continue
        known = hashes.get(entry.path, entry.stat) if hashes and entry.stat else None
        if known and (data is None or (wanted is not None and not wanted(rel, known[1]))):
            # Unchanged since it was hashed, and its bytes not wanted: listed without opening it.
            kind = classify(name, known[0])
            if kind != "zip":
                sources.append(_listed(rel, entry.stat, known[1], kind, entry.path))
                continue
        try:
            opened = _open_regular(entry.path)
        except OSError as e:
            sources.append(_unreadable(rel, entry, name, reason(e, "读取")))
            continue
        if opened is None:  # replaced by something else since it was listed
            sources.append(Source(rel, 0, "", entry.mtime, "special", abspath=entry.path, problem="不是普通文件"))
            continue
        fd, stat = opened
        try:
            known = hashes.get(entry.path, stat) if hashes else None
            needed = data is not None and (known is None or wanted is None or wanted(rel, known[1]))
            # As much as the file holds (a megabyte at most at once): a read of 1 MB for a 12 KB
            # file maps and unmaps a megabyte each time, half of listing 3,000 returns.
            asked = min(1 << 20, stat.st_size + 1)
            first = _read_up_to(fd, asked) if known is None or needed else b""
            at_end = len(first) < asked  # the whole file is read: nothing more to ask for
            head = known[0] if known else first[:HEAD]
            kind = classify(name, head)
            keep = needed and kind in (*READABLE, "zip") and stat.st_size <= MAX_RETURN_BYTES
            if known:
                digest = known[1]
                if keep:
                    content = _whole(fd, first, at_end)
            else:
                content, digest = _hashed(fd, first, keep, at_end)
        except OSError as e:  # a disk error while reading it
            sources.append(_unreadable(rel, entry, name, reason(e, "读取")))
            continue
        finally:
            os.close(fd)
        if hashes and known is None:
            hashes.put(entry.path, stat, head, digest)
        if kind == "zip":
            sources += [replace(s, added=added_time(stat))
                        for s in members(Path(entry.path), rel, stat.st_mtime, content if keep else None, data)]
            continue
        sources.append(_listed(rel, stat, digest, kind, entry.path))
        if keep and kind in READABLE:
            data[rel] = content
    return sources


def _listed(rel: str, stat: os.stat_result, digest: str, kind: str, path: str) -> Source:
    problem = ""
    if kind in READABLE and stat.st_size > MAX_RETURN_BYTES:
        kind, problem = "broken", f"文件过大（{stat.st_size // (1024 * 1024)} MB）"
    return Source(rel, stat.st_size, digest, stat.st_mtime, kind, abspath=path, problem=problem, added=added_time(stat))


def added_time(stat: os.stat_result) -> float:
    """When a file came into the inbox, as near as the system tells: its creation on Windows; on
    Linux and macOS its inode's last change, which copying it in sets (`cp -p`, a USB stick or an
    unzip keep the modification time the county gave it, never this one)."""
    if os.name == "nt":
        return getattr(stat, "st_birthtime", stat.st_ctime)
    return stat.st_ctime


NOT_READ_HERE = "无法读取："  # this machine could not read the file (its permissions, the disk): the office's to mend


def _unreadable(rel: str, entry, name: str, why: str) -> Source:
    """A file that cannot be read: a return that cannot be opened when its name says workbook
    (or names nothing else), so that its county hears of it; otherwise a file skipped."""
    kind = "broken" if classify(name, b"") in ("broken", "skip") and _workbook_named(name) else "special"
    return Source(rel, 0, "", entry.mtime, kind, abspath=entry.path, problem=f"{NOT_READ_HERE}{why}")


def _workbook_named(name: str) -> bool:
    return os.path.splitext(name.lower())[1] in WORKBOOK_SUFFIXES | ARCHIVE_SUFFIXES


def _open_regular(path: str) -> tuple[int, os.stat_result] | None:
    """The file opened for reading (a descriptor, the caller's to close) and its status, or
    None when it is not a regular file (a pipe put there since it was listed): opened without
    waiting, so that a pipe never blocks the run. A bare descriptor, not a file object: the
    buffered reader Python puts over it cost more than reading a return (3,000: 0.09 s against
    0.03 s)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        stat = os.fstat(fd)
    except OSError:
        os.close(fd)
        raise
    if not stat_module.S_ISREG(stat.st_mode):
        os.close(fd)
        return None
    return fd, stat


def _read_up_to(fd: int, limit: int) -> bytes:
    """Up to `limit` bytes from the descriptor, fewer only at the file's end (a read may give
    less than asked)."""
    first = os.read(fd, limit)
    if len(first) == limit or not first:
        return first
    parts, got = [first], len(first)
    while got < limit and (chunk := os.read(fd, min(limit - got, 1 << 20))):
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _chunks(fd: int):
    """The file from the descriptor's position to its end, a megabyte at a time."""
    return iter(lambda: os.read(fd, 1 << 20), b"")


def _whole(fd: int, first: bytes, at_end: bool) -> bytes:
    """A file's content: `first`, read already, then the rest unless `at_end` (that was all)."""
    return first if at_end else first + b"".join(_chunks(fd))


def _hashed(fd: int, first: bytes, keep: bool, at_end: bool) -> tuple[bytes | None, str]:
    """A file's SHA-256, read on from `first` (its first megabyte, read already; `at_end`: that
    was all of it), and with `keep` its whole content: one pass over the file either way."""
    if keep:
        content = _whole(fd, first, at_end)
        return content, hashlib.sha256(content).hexdigest()
    h = hashlib.sha256(first)
    for chunk in () if at_end else _chunks(fd):
        h.update(chunk)
    return None, h.hexdigest()


def holds_nothing(inbox: Path) -> bool:
    """True when the folder holds no file but hidden ones and what the system or Excel leave
    (`.gitkeep`, `.DS_Store`, `Thumbs.db`, `~$` lock files): only then may a run fall back to
    the bundled example. Anything else, even a file or folder the run cannot read, is the
    office's. A folder that cannot be listed at all is `InboxUnreadable`."""
    for entry in _entries(inbox):
        name = entry.parts[-1]
        if any(p.startswith(".") for p in entry.parts) or name.lower() in PLACEHOLDERS or name.startswith("~$"):
            continue
        return False
    return True


class InboxUnreadable(Fatal):
    pass


# What a report run writes: a folder under the inbox holding two or more of these is an old
# outbox (or a copy of one), whose marked-up returns/ and history/ would otherwise be read as
# the counties' returns and supersede the real ones.
OUTPUT_NAMES = {"roster.csv", "findings.csv", "manifest.csv", "totals.csv", "consolidated.xlsx", "validation.html"}


@dataclass(frozen=True)
class _Entry:
    parts: tuple[str, ...]  # the path's parts under the inbox, as shown (names decoded)
    path: str  # as the system names it
    what: str  # file | output | folder (cannot be opened) | special (no regular file)
    mtime: float = 0.0
    detail: str = ""  # why a folder or special entry is not read
    stat: os.stat_result | None = None  # a regular file's own, as listed (not a link's target)


def _entries(inbox: Path) -> list[_Entry]:
    """Everything under the inbox, each looked at without following it first (lstat), in the
    order of its shown path: regular files (and links to them) to read; folders entered; a
    folder that cannot be opened, a link to a folder, to nothing or to itself, a pipe or a
    socket, each an entry of its own, never opened (a pipe would block the run). A folder of a
    report run's outputs is one entry. The inbox itself must open: else `InboxUnreadable`."""
    root = os.fspath(inbox)
    found: list[_Entry] = []
    folders: list[tuple[str, tuple[str, ...]]] = [(root, ())]
    shown: set[str] = set()
    entered = {os.path.realpath(root)}  # a folder linked twice, or a link up the tree, is entered once
    while folders:
        folder, parts = folders.pop()
        try:
            with os.scandir(folder) as listing:
                listing = list(listing)
        except OSError as e:
            if not parts:
                raise InboxUnreadable(f"无法读取收件箱 {inbox}（{reason(e, '读取')}）：请检查这个文件夹的权限，"
                                      "或把 INBOX= 指向本账户能读取的文件夹。") from e
            found.append(_Entry(parts, folder, "folder", detail=reason(e, "读取")))
            continue
        if parts and len(OUTPUT_NAMES.intersection(e.name.lower() for e in listing)) >= 2:
            found.append(_Entry(parts, folder + os.sep, "output", _mtime(folder)))
            continue
        for item in listing:
            name = _unique(display_name(item.name), parts, shown)
            here = (*parts, name)
            try:
                st = item.stat(follow_symlinks=False)
            except OSError as e:
                found.append(_Entry(here, item.path, "special", detail=f"无法读取：{reason(e, '读取')}"))
                continue
            if stat_module.S_ISDIR(st.st_mode):
                entered.add(os.path.realpath(item.path))
                folders.append((item.path, here))
            elif stat_module.S_ISREG(st.st_mode):
                found.append(_Entry(here, item.path, "file", st.st_mtime, stat=st))
            elif stat_module.S_ISLNK(st.st_mode):
                linked = _linked(here, item.path, st.st_mtime)
                if linked.what == "folder-link":
                    # A shortcut to a folder (补报 → the county's folder elsewhere): its returns are
                    # read as if it stood here; left unread, a correction in it was not used.
                    real = os.path.realpath(item.path)
                    if real not in entered and not _within(root, real):
                        entered.add(real)
                        folders.append((item.path, here))
                        continue
                    linked = _Entry(here, item.path, "special", st.st_mtime, "链接到收件箱中已读取的文件夹，未重复读取")
                found.append(linked)
            else:
                found.append(_Entry(here, item.path, "special", st.st_mtime, _special_kind(st.st_mode)))
    return sorted(found, key=lambda e: [os.path.normcase(part) for part in e.parts])


def _linked(parts: tuple[str, ...], path: str, mtime: float) -> _Entry:
    """A link, by what it points at: a regular file is read as any; anything else is listed."""
    try:
        st = os.stat(path)
    except OSError as e:
        # A link on this machine that leads nowhere is the office's to mend, not the county's
        # to export again: its workbook-named file is not-read-here, never unreadable.
        if e.errno == errno.ELOOP:
            return _Entry(parts, path, "special", mtime, f"{NOT_READ_HERE}链接指向自身（循环链接）")
        if e.errno == errno.ENOENT:
            return _Entry(parts, path, "special", mtime, f"{NOT_READ_HERE}链接指向的文件不存在")
        return _Entry(parts, path, "special", mtime, f"{NOT_READ_HERE}{reason(e, '读取')}")
    if stat_module.S_ISREG(st.st_mode):
        return _Entry(parts, path, "file", st.st_mtime)
    if stat_module.S_ISDIR(st.st_mode):
        return _Entry(parts, path, "folder-link", mtime)
    return _Entry(parts, path, "special", mtime, _special_kind(st.st_mode))


def _within(root: str, real: str) -> bool:
    """`real` is the inbox or a folder inside it: reached by its own path already."""
    inbox = os.path.realpath(root)
    return real == inbox or real.startswith(inbox.rstrip(os.sep) + os.sep)


def _special_kind(mode: int) -> str:
    if stat_module.S_ISFIFO(mode):
        return "管道文件，不是普通文件"
    if stat_module.S_ISSOCK(mode):
        return "套接字，不是普通文件"
    return "设备文件，不是普通文件"


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0


def display_name(name: str) -> str:
    """A file name as people read it: its bytes as UTF-8, else as GBK (a Windows share, an old
    zip), else with replacement marks. The system's own name stays the file's path."""
    raw = os.fsencode(name)
    for encoding in ("utf-8", "gbk", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", "replace")


def _unique(name: str, parts: tuple[str, ...], shown: set[str]) -> str:
    """Two names that read the same once decoded stay two entries: the second is numbered."""
    stem, suffix = os.path.splitext(name)
    candidate, n = name, 1
    while "/".join((*parts, candidate)) in shown:
        n += 1
        candidate = f"{stem}（{n}）{suffix}"
    shown.add("/".join((*parts, candidate)))
    return candidate


def page_notes(inbox: Path) -> dict[str, Note]:
    """上报说明 given with an upload on the submission page (kept in
    inbox/.versions/explanations.csv, by the file's name in the inbox): file → its note."""
    path = inbox / VERSIONS / EXPLANATIONS
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error):
        return {}  # none, or not readable (the page's own, 0600): the cells under the tables still count
    notes = {}
    for row in rows:
        words = (row.get("explanation") or "").strip()
        if row.get("file") and words:
            notes[row["file"]] = Note(words, _scope(row.get("warnings")))
    return notes


def _scope(text: str | None) -> frozenset[tuple[str, str, str, str]] | None:
    """The warnings a note answers, as the notes file lists them (JSON); None when it does not."""
    if not text:
        return None
    import json

    try:
        return frozenset((str(r), str(s), str(c), str(f)) for r, s, c, f in json.loads(text))
    except (ValueError, TypeError):
        return None
