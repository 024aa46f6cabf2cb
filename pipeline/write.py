"""Write: the run's files → the outbox, all or nothing.

Files are built in a temporary folder inside the outbox and moved into place only when all
of them are written, so an interrupted run leaves the previous report whole. Anything in the
outbox that this run does not produce (templates/, history/, a cache) is left alone.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

# Folders a report run owns: replaced whole each run, removed when the run has nothing for them.
RUN_FOLDERS = ("returns",)
# Folders a run adds to and never replaces: each round's snapshots are kept for good.
ADDITIVE_FOLDERS = ("rounds",)


class _Progress:
    """What an interrupt must respect: the staging folder to remove, and whether outputs are
    being moved into place (an interrupt then waits for the last move, so the outbox holds
    the old report or the new one, never half of each)."""

    staging: Path | None = None
    moving = False
    interrupted: int | None = None


def interrupt(signum: int) -> bool:
    """Called from a signal handler. True: stop now (the staging folder is gone). False: the
    outputs are being moved into place; `write_outputs` stops once they all are."""
    if _Progress.moving:
        _Progress.interrupted = signum
        return False
    if _Progress.staging is not None:
        shutil.rmtree(_Progress.staging, ignore_errors=True)
    return True


def interrupted_while_moving() -> bool:
    return _Progress.interrupted is not None


def write_outputs(outbox: Path, files: dict[str, bytes], *, stamp: str | None = None) -> list[Path]:
    """`files` maps a relative path (`report.html`, `returns/620102_城关区.xlsx`) to its bytes.

    A copy of the run also goes to history/<stamp>/, which no later run touches."""
    outbox.mkdir(parents=True, exist_ok=True)
    _sweep_leftovers(outbox)
    staging = Path(tempfile.mkdtemp(prefix=".run-", dir=outbox))
    _Progress.staging = staging
    try:
        for rel, data in files.items():
            target = _inside(staging, rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        if stamp:  # a round's snapshot is kept in rounds/ for good: history/ need not hold it twice
            shutil.copytree(staging, _history_folder(outbox, stamp),
                            ignore=lambda folder, names: ADDITIVE_FOLDERS if Path(folder) == staging else ())
        # Folders the run owns are replaced whole, so a county fixed since the last run
        # does not keep its stale returned workbook.
        written = []
        _Progress.moving = True
        for top in sorted({Path(rel).parts[0] for rel in files}):
            src, dst = staging / top, outbox / top
            if top in ADDITIVE_FOLDERS:
                for f in sorted(p for p in src.rglob("*") if p.is_file()):
                    target = dst / f.relative_to(src)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(f, target)
            elif src.is_dir() and dst.is_dir():
                old = Path(tempfile.mkdtemp(prefix=".old-", dir=outbox))
                os.replace(dst, old / top)
                os.replace(src, dst)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(src, dst)
            written.append(dst)
        for folder in RUN_FOLDERS:
            stale = outbox / folder
            if folder not in {Path(rel).parts[0] for rel in files} and stale.is_dir():
                shutil.rmtree(stale)  # every county it held has since been fixed
        return written
    finally:
        _Progress.moving, _Progress.staging = False, None
        shutil.rmtree(staging, ignore_errors=True)


def _sweep_leftovers(outbox: Path) -> None:
    """Staging folders of a run that was killed before it could clean up after itself."""
    for leftover in outbox.glob(".run-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    for leftover in outbox.glob(".old-*"):
        shutil.rmtree(leftover, ignore_errors=True)


def _history_folder(outbox: Path, stamp: str) -> Path:
    base = outbox / "history"
    base.mkdir(exist_ok=True)
    folder, n = base / stamp, 1
    while folder.exists():
        n += 1
        folder = base / f"{stamp}-{n}"
    return folder


def _inside(root: Path, rel: str) -> Path:
    """A relative path that cannot climb out of `root`, whatever a county named its file."""
    target = (root / rel).resolve()
    if root.resolve() not in target.parents:
        raise ValueError(f"refusing to write outside the outbox: {rel!r}")
    return target


def write_tree(folder: Path, files: dict[str, bytes]) -> None:
    """Plain writes for generated material that is not a run's report (the example, templates)."""
    for rel, data in files.items():
        target = _inside(folder, rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
