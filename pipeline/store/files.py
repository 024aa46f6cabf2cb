"""The one way this program writes a file it means to keep: whole or not at all.

Written to a hidden file beside the target (so a folder listing never takes it for a return
or an output, and a sweep knows it for debris), then moved into place: a run or a server
stopped halfway leaves the old file or none, never half of one.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

PRIVATE = 0o600  # the secrets (tokens, links), the page's notes and kept versions
SHARED = 0o644  # what another local account (the office's report run) reads


def write_atomic(path: Path, data: bytes, *, mode: int = PRIVATE, durable: bool = False, prefix: str = "") -> None:
    """`data` into `path`, whole or not at all. `mode` the file's permissions; `durable`: flushed
    to the disk, and the folder with it, before this returns (a return the page has accepted,
    which the power going must not take back). `prefix`: the hidden staging file's name begins
    so (default: `.<name>.`), for whoever sweeps such files after a crash."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix or f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        if mode != PRIVATE:  # mkstemp's own mode is 0600
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if durable:
        sync_folder(path.parent)


def sync_folder(folder: Path) -> None:
    """A rename into `folder` made durable (POSIX); where a folder cannot be opened (Windows),
    its renames are durable enough."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def private_folder(folder: Path) -> Path:
    """A folder only this account can open (0700), made if missing."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        os.chmod(folder, 0o700)
    except OSError:
        pass
    return folder


def write_private(folder: Path, files: dict[str, bytes]) -> list[Path]:
    """Files only this account may read (0600), each whole, in a folder only it may open (0700):
    what carries a secret, such as the templates with each unit's link."""
    private_folder(folder)
    written = []
    for name, data in files.items():
        write_atomic(folder / name, data, mode=PRIVATE)
        written.append(folder / name)
    return written


def stage(folder: Path, data: bytes, *, mode: int, prefix: str) -> Path:
    """`data` written whole and flushed to the disk in a hidden file of `folder` (its name begins
    with `prefix`, for the sweep after a crash), with its final permissions: ready to be put in
    place by `place_new`. Nothing is left behind when writing fails (a full disk)."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=prefix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if mode != PRIVATE:
            os.chmod(tmp, mode)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def place_new(staged: Path, target: Path) -> bool:
    """Put the whole file `staged` at `target` only if no file is there: the name is claimed
    and filled in one step (a hard link), never chosen first and written later, so two writers
    never take one name. False when the name is taken. The caller removes `staged` after
    (it may be gone: moved, below). Where the file system has no hard links, an exclusive create claims the name and the
    staged file replaces it (the caller holds the inbox, so no reader sees the empty claim)."""
    try:
        os.link(staged, target)
        return True
    except FileExistsError:
        return False
    except OSError as e:
        if e.errno not in _NO_LINKS:
            raise
    try:
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return False
    try:
        os.replace(staged, target)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return True


_NO_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK, errno.ENOSYS}
