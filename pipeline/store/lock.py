"""One run at a time on an outbox: an exclusive lock held for the whole of a run.

Two runs on one outbox (a double-click, two colleagues) would delete each other's staging
folders and interleave their outputs. The lock is the operating system's (fcntl on POSIX,
msvcrt on Windows), so it goes away with the process that held it, however that process
ended: a killed run never leaves a stale lock behind. The lock file also says who holds it,
so the run that waits in vain can name the holder.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from ..errors import Fatal, reason

LOCK_NAME = ".outbox.lock"
# On Windows a locked byte range cannot be read by anyone else, so the byte locked lies far
# past the holder's details, which the waiting process reads.
_WINDOWS_LOCKED_BYTE = 1 << 20


class LockHeld(Fatal):
    def __init__(self, outbox: Path, pid: int | None, host: str, started: str) -> None:
        self.outbox, self.pid, self.host, self.started = outbox, pid, host, started
        who = "、".join(part for part in (
            f"进程 {pid}" if pid else "",
            f"计算机 {host}" if host else "",
            f"开始于 {started}" if started else "",
        ) if part) or "未能读出是哪一次"
        super().__init__(f"另一次汇总正在进行（{who}），正在使用输出文件夹 {outbox}；请等它结束后再运行。")


@contextmanager
def outbox_lock(outbox: Path, wait: float = 5.0) -> Iterator[None]:
    """Hold the outbox for the duration of the `with` block; raise `LockHeld` when another
    process holds it for longer than `wait` seconds."""
    try:
        outbox.mkdir(parents=True, exist_ok=True)
        fd = os.open(outbox / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise Fatal(f"无法使用输出文件夹 {outbox}（{reason(e)}）：请换一个输出文件夹（OUTBOX=…），或检查它的权限。") from e
    try:
        deadline = time.monotonic() + wait
        while not _try_lock(fd):
            if time.monotonic() >= deadline:
                raise LockHeld(outbox, *_holder(fd))
            time.sleep(0.1)
        _write_holder(fd)
        try:
            yield
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


def _try_lock(fd: int) -> bool:
    if os.name == "nt":
        import msvcrt

        os.lseek(fd, _WINDOWS_LOCKED_BYTE, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # BlockingIOError, or EACCES on some systems
        return False
    return True


def _unlock(fd: int) -> None:
    if os.name == "nt":
        import msvcrt

        os.lseek(fd, _WINDOWS_LOCKED_BYTE, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_UN)


def _write_holder(fd: int, **more) -> None:
    info = {"pid": os.getpid(), "host": socket.gethostname(), "started": datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
            **more}
    data = json.dumps(info, ensure_ascii=False).encode("utf-8")
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, data)


def _holder(fd: int) -> tuple[int | None, str, str]:
    """Who holds the lock, as far as its file says (it may be mid-write: then unknown)."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        info = json.loads(os.read(fd, 4096).decode("utf-8"))
        return int(info["pid"]), str(info["host"]), str(info["started"])
    except (OSError, ValueError, KeyError, TypeError):
        return None, "", ""


# --- the inbox: the page writes it, a report run reads it --------------------------------

INBOX_LOCK = ".submission.lock"  # hidden, so no run takes it for a return
INBOX_WAIT = 30.0  # seconds a run waits for an upload being stored (a few hundredths, as a rule)


@contextmanager
def inbox_shared(inbox: Path, wait: float = INBOX_WAIT) -> Iterator[None]:
    """Held by a run while it lists the inbox and reads what it needs: no upload is stored
    meanwhile. Only where the submission page has made the lock file (the run never writes
    into the inbox); opened read-only, since the run may be another account's. An upload that
    holds the inbox for longer than `wait` is not waited for (the page checks one at a time:
    something is amiss), and the run says so."""
    try:
        fd = os.open(inbox / INBOX_LOCK, os.O_RDONLY)
    except OSError:
        yield  # no page has run on this inbox, or the lock is not ours to open
        return
    try:
        if not _wait_for(fd, shared=True, wait=wait):
            import sys

            sys.stderr.write("提示：报送页长时间占用收件箱，本次汇总未等它存完正在接收的报表。\n")
            yield
            return
        try:
            yield
        finally:
            _unlock_posix(fd)
    finally:
        os.close(fd)


@contextmanager
def inbox_exclusive(inbox: Path) -> Iterator[None]:
    """Held by the page while it stores an upload (waits for a run's listing). On an inbox that
    has become read-only the lock file is opened to read: the store then fails, and says so."""
    try:
        fd = os.open(inbox / INBOX_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        fd = os.open(inbox / INBOX_LOCK, os.O_RDONLY)
    try:
        _wait_for(fd, shared=False, wait=None)
        try:
            yield
        finally:
            _unlock_posix(fd)
    finally:
        os.close(fd)


def _wait_for(fd: int, *, shared: bool, wait: float | None) -> bool:
    """flock, shared or exclusive; False when not had within `wait` seconds (None: as long as
    it takes). Where flock is missing (Windows), the page and a run are not kept apart."""
    try:
        import fcntl
    except ImportError:
        return True
    how = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    if wait is None:
        fcntl.flock(fd, how)
        return True
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, how | fcntl.LOCK_NB)
            return True
        except OSError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)


def _unlock_posix(fd: int) -> None:
    try:
        import fcntl
    except ImportError:
        return
    fcntl.flock(fd, fcntl.LOCK_UN)


# --- one submission page per inbox -----------------------------------------------------------

SERVER_LOCK = ".server.lock"  # hidden: held for as long as a page serves this inbox


class ServerRunning(Fatal):
    def __init__(self, inbox: Path, info: dict) -> None:
        who = "、".join(part for part in (
            f"进程 {info['pid']}" if info.get("pid") else "",
            f"端口 {info['port']}" if info.get("port") else "",
            f"计算机 {info['host']}" if info.get("host") else "",
            f"启动于 {info['started']}" if info.get("started") else "",
        ) if part) or "未能读出是哪一个"
        super().__init__(f"另一个报送页正在使用收件箱 {inbox}（{who}）：一个收件箱只能由一个报送页接收。"
                         "请先停止它（在它的窗口按 Ctrl-C），或用 INBOX= 换一个收件箱。")


@contextmanager
def server_lock(inbox: Path, port: int) -> Iterator[None]:
    """Held by `make serve` for as long as it runs: a second page on the same inbox would pick
    the names the first picks and lose acknowledged returns, so it refuses to start, naming
    the first (its process, port and start time, which the lock file says). The system lets
    the lock go however the page ends."""
    try:
        fd = os.open(inbox / SERVER_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise Fatal(f"无法在收件箱 {inbox} 中写入（{reason(e)}）：报送页要把接收的报表存入收件箱，请检查它的权限。") from e
    try:
        if not _try_lock(fd):
            raise ServerRunning(inbox, _server_holder(fd))
        _write_holder(fd, port=port)
        try:
            yield
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


def _server_holder(fd: int) -> dict:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        info = json.loads(os.read(fd, 4096).decode("utf-8"))
        return info if isinstance(info, dict) else {}
    except (OSError, ValueError):
        return {}
