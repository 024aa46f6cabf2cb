"""The one way this program writes a file it means to keep: whole or not at all.

Written to a hidden file beside the target (so a folder listing never takes it for a return
or an output, and a sweep knows it for debris), then moved into place: a run or a server
stopped halfway leaves the old file or none, never half of one.
"""

from __future__ import annotations

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
