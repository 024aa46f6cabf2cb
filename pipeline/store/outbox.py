"""Write: the run's files → the outbox, all or nothing, under a journal.

Files are built in a staging folder inside the outbox. Only when all of them are written does
the switch begin: a journal (`.journal.json`) names every output the run puts in place, the
staging and backup folders, and the history entry; then each old output is moved aside and
each new one moved in. The journal's removal is the moment the new report becomes the
report. A run killed at any point of the switch leaves the journal behind, and the next run,
before anything else, completes the switch (the staging folder is whole by then), so the
outbox's named outputs always come from one run, never half of each.

Anything in the outbox that a run does not produce (templates/, history/, the cache) is left
alone. Folders in `ADDITIVE_FOLDERS` gain the run's files beside the ones already there
(a round's snapshot is kept for later rounds); folders in `RUN_FOLDERS` are replaced whole.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from pathlib import Path

from ..errors import Fatal, reason
from .files import write_atomic

# Folders a report run owns: replaced whole each run, removed when the run has nothing for them.
RUN_FOLDERS = ("returns",)
# Folders a run adds to, file by file, under the same journal; never replaced or removed.
ADDITIVE_FOLDERS = ("rounds",)
# Kept outside the journal: a history entry is moved into place whole, in the switch.
HISTORY = "history"
JOURNAL = ".journal.json"


class WriteFailed(Fatal):
    pass


class _Progress:
    """What an interrupt must respect: the staging folder to remove, and whether the switch is
    under way (an interrupt then waits for it to end, so the outbox holds the old report or
    the new one, never half of each), or over (the report is written whatever happens next)."""

    staging: Path | None = None
    moving = False
    written = False
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


def outputs_written() -> bool:
    """Whether this process has put a report in place (an interrupt now loses nothing)."""
    return _Progress.written


def write_outputs(outbox: Path, files: dict[str, bytes], *, stamp: str | None = None) -> list[Path]:
    """`files` maps a relative path (`report.html`, `returns/620102_城关区.xlsx`) to its bytes.

    A copy of the run also goes to history/<stamp>/, which no later run touches. Any failure
    to write (a full disk, no permission) raises `WriteFailed` with the previous report intact."""
    try:
        outbox.mkdir(parents=True, exist_ok=True)
        recover(outbox)
        staging = Path(tempfile.mkdtemp(prefix=".run-", dir=outbox))
    except OSError as e:
        raise WriteFailed(failure_message(e, outbox)) from e
    _Progress.staging = staging
    made = [staging.name]  # this run's folders in the outbox, removed when it ends
    journal = None
    try:
        _put(staging, files)
        history = None
        if stamp:
            # Copied beside the staging folder, not into history/, so that an entry appears
            # whole or not at all: the switch moves it in.
            history = Path(tempfile.mkdtemp(prefix=".history-", dir=outbox))
            made.append(history.name)
            _put(history / "run", files)
        backup = Path(tempfile.mkdtemp(prefix=".old-", dir=outbox))
        made.append(backup.name)
        tops = sorted({Path(rel).parts[0] for rel in files})
        journal = {
            "staging": staging.name,
            "backup": backup.name,
            "install": [rel for top in tops for rel in _units(staging, top)],
            "remove": [f for f in RUN_FOLDERS if f not in tops and _exists(outbox / f)],
            "history": [history.name, _history_folder(outbox, stamp).relative_to(outbox).as_posix()] if history else None,
        }
        _Progress.moving = True
        # No fsync: the journal guards against a killed run, as the outputs it names (which are
        # not synced either) do; syncing it alone would cost time and guard nothing more.
        write_atomic(outbox / JOURNAL, json.dumps(journal, ensure_ascii=False).encode("utf-8"), prefix=f"{JOURNAL}.")
        _switch(outbox, journal)
        (outbox / JOURNAL).unlink()  # the new report is now the report
        _Progress.written = True
        return [outbox / top for top in tops]
    except OSError as e:
        if journal is not None and _exists(outbox / JOURNAL):
            try:
                _roll_back(outbox, journal)
            except OSError:
                pass  # the journal stays: the next run completes the switch before anything else
        raise WriteFailed(failure_message(e, outbox)) from e
    finally:
        _Progress.moving, _Progress.staging = False, None
        if not _exists(outbox / JOURNAL):
            for name in made:
                shutil.rmtree(outbox / name, ignore_errors=True)


def recover(outbox: Path) -> None:
    """Finish what a killed run left: complete its switch when its staging folder is whole
    (always, as the journal is written only then), else put the old outputs back; then sweep
    the staging, backup and history folders of runs killed before their switch."""
    path = outbox / JOURNAL
    if path.exists():
        try:
            journal = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            journal = None  # written whole or not at all, so this is not ours: nothing to follow
        if isinstance(journal, dict):
            if (outbox / journal["staging"]).is_dir():
                _switch(outbox, journal)
            else:
                _roll_back(outbox, journal)
        path.unlink()
        if isinstance(journal, dict):
            _tidy(outbox, journal)
    for pattern in (".run-*", ".old-*", ".history-*"):
        for leftover in outbox.glob(pattern):
            shutil.rmtree(leftover, ignore_errors=True)
    for leftover in outbox.glob(".journal*"):  # a journal whose own writing was cut short
        leftover.unlink(missing_ok=True)


def _units(staging: Path, top: str) -> list[str]:
    """What the switch moves as one: a top-level output, or each file of an additive folder."""
    if top not in ADDITIVE_FOLDERS:
        return [top]
    return sorted(p.relative_to(staging).as_posix() for p in (staging / top).rglob("*") if not p.is_dir())


def _switch(outbox: Path, journal: dict) -> None:
    """Move each old output aside and each new one in. Every step can be done again: a switch
    cut short at any point is completed by running it once more."""
    staging, backup = outbox / journal["staging"], outbox / journal["backup"]
    for rel in journal["remove"]:
        _set_aside(outbox / rel, backup / rel)
    for rel in journal["install"]:
        new, current = staging / rel, outbox / rel
        if not _exists(new):
            continue  # moved in already
        _set_aside(current, backup / rel)
        if _exists(current):  # not ours to keep (the backup holds the old one): make way
            _remove(current)
        current.parent.mkdir(parents=True, exist_ok=True)
        os.replace(new, current)
    if journal.get("history"):
        entry, target = outbox / journal["history"][0] / "run", outbox / journal["history"][1]
        if entry.is_dir() and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(entry, target)


def _roll_back(outbox: Path, journal: dict) -> None:
    """Put the old outputs back (when the new ones cannot all be put in place)."""
    backup = outbox / journal["backup"]
    for rel in journal["install"]:
        new, current, old = outbox / journal["staging"] / rel, outbox / rel, backup / rel
        if _exists(old):
            if _exists(current):
                _remove(current)
            os.replace(old, current)
        elif _exists(current) and not _exists(new):
            _remove(current)  # this run's, where the previous run had nothing
    for rel in journal["remove"]:
        if _exists(backup / rel) and not _exists(outbox / rel):
            os.replace(backup / rel, outbox / rel)
    (outbox / JOURNAL).unlink(missing_ok=True)


def _tidy(outbox: Path, journal: dict) -> None:
    for name in (journal["staging"], journal["backup"], *(journal.get("history") or ())[:1]):
        shutil.rmtree(outbox / name, ignore_errors=True)


def _set_aside(current: Path, old: Path) -> None:
    if _exists(current) and not _exists(old):
        old.parent.mkdir(parents=True, exist_ok=True)
        os.replace(current, old)


def _exists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def failure_message(error: OSError, outbox: Path) -> str:
    """What the office is told when the outbox cannot be written."""
    if error.errno == errno.ENOSPC:
        return f"磁盘空间不足，报告没有写出，上次的报告保持不变：请清理输出文件夹 {outbox} 所在的磁盘后重新运行。"
    # os.replace names the file it moves first and its new place second: the one held open is
    # whichever of them is there (an output moved aside into history/, or replaced by the new)
    locked = next((Path(name) for name in (error.filename2, error.filename) if name and Path(name).is_file()), None)
    if error.errno in (errno.EACCES, errno.EPERM) and locked is not None and locked.is_file() and _within(outbox, locked):
        # One output held open (report.docx in Word, consolidated.xlsx in Excel, which Windows
        # will not let be replaced): that file is named, not the whole folder blamed.
        return (f"无法替换输出文件 {locked}（可能正在Word、WPS或Excel中打开，或是只读的），报告没有写出，上次的报告保持不变："
                "请关闭这个文件后重新运行。")
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"无法写入输出文件夹 {outbox}（没有写入权限，或是只读的）：请换一个输出文件夹（OUTBOX=…），或请管理员开放权限。"
    return f"写出报告时出错（{reason(error)}：{error.filename or outbox}），报告没有写出，上次的报告保持不变。"


def _within(root: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except (ValueError, OSError):
        return False
    return True


def _history_folder(outbox: Path, stamp: str) -> Path:
    base = outbox / HISTORY
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


def _put(folder: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        target = _inside(folder, rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def write_tree(folder: Path, files: dict[str, bytes]) -> None:
    """Plain writes for generated material that is not a run's report (the example, templates)."""
    for rel, data in files.items():
        target = _inside(folder, rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


class FoldersOverlap(Fatal):
    pass


def _real(path: Path) -> Path:
    # Links resolved and case folded where the system folds it (Windows), so that two names
    # for one folder are seen as one.
    return Path(os.path.normcase(os.path.realpath(path)))


def refuse_overlap(inbox: Path, outbox: Path) -> None:
    """Raise `FoldersOverlap` when the two folders are one, or one lies inside the other."""
    i, o = _real(inbox), _real(outbox)
    if i == o:
        raise FoldersOverlap(f"收件箱和输出文件夹是同一个文件夹（{inbox}）：收件箱只读不写，请另选一个输出文件夹（OUTBOX=…）。")
    if o.is_relative_to(i):
        raise FoldersOverlap(f"输出文件夹 {outbox} 在收件箱 {inbox} 之中：下次汇总会把输出的文件当作报表读入；"
                             "请把输出文件夹放到收件箱之外（OUTBOX=…）。")
    if i.is_relative_to(o):
        raise FoldersOverlap(f"收件箱 {inbox} 在输出文件夹 {outbox} 之中：请把收件箱放到输出文件夹之外（INBOX=…）。")
