"""The run's helper processes (readers, the chart drawer) never outlive it.

They are forked, and a forked child holds copies of its siblings' pipe ends, so it would
not see its parent go: without this, a run stopped by Ctrl-C or killed outright could leave
processes waiting forever on the office PC.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def die_with_parent(parent: int) -> None:
    """In a child: be killed when the parent dies, however it dies (Linux; elsewhere the
    parent's own stop handler ends its children)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)


def stop_children() -> None:
    """In the parent, stopping: end every helper process now."""
    import multiprocessing

    for child in multiprocessing.active_children():
        child.kill()


def in_background(fn: Callable[..., T], *args) -> Callable[[], T]:
    """Start fn(*args) in a forked copy of this process; the function returned waits for its
    result. The copy shares this process's memory as it was, so handing it the run's tables
    costs nothing. Where processes cannot be forked, fn runs when its result is asked for."""
    import multiprocessing as mp

    if "fork" not in mp.get_all_start_methods():
        return lambda: fn(*args)
    ctx = mp.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_run_and_send, args=(send, receive, os.getpid(), fn, args), daemon=True)
    process.start()
    send.close()

    def wait() -> T:
        try:
            kind, value = receive.recv()
        except EOFError:
            kind, value = "lost", None
        finally:
            receive.close()
            process.join(timeout=5)
        if kind == "ok":
            return value
        return fn(*args)  # the copy failed or died: do it here, where an error is reported as usual

    return wait


def _run_and_send(send, receive, parent: int, fn, args) -> None:
    die_with_parent(parent)
    receive.close()
    try:
        result = ("ok", fn(*args))
    except Exception:  # noqa: BLE001 - the parent does the work itself and reports the error
        result = ("error", None)
    send.send(result)


class Helper:
    """A forked process started ahead of its one job, so that it imports what the job needs
    while this process does other work; the job is sent to it when its inputs exist.

    The Word report is made this way: matplotlib and docxtpl take most of a second to import,
    which a helper started after reading spends while this process validates and totals.
    Where processes cannot be forked, the job runs here when its result is asked for.
    """

    def __init__(self, prepare: Callable[[], object]) -> None:
        self._prepare = prepare
        self._conn = None
        self._process = None

    def start(self) -> None:
        import multiprocessing as mp

        if "fork" not in mp.get_all_start_methods():
            return
        ctx = mp.get_context("fork")
        parent_end, child_end = ctx.Pipe()
        self._process = ctx.Process(target=_serve, args=(child_end, parent_end, os.getpid(), self._prepare),
                                    daemon=True)
        self._process.start()
        child_end.close()
        self._conn = parent_end

    def submit(self, fn: Callable[..., T], *args) -> Callable[[], T]:
        """Start fn(*args) in the helper; the function returned waits for its result."""
        conn, self._conn = self._conn, None
        if conn is None:
            return lambda: fn(*args)
        try:
            conn.send((fn, args))
        except (OSError, ValueError):  # the helper is gone
            conn.close()
            return lambda: fn(*args)

        def wait() -> T:
            try:
                kind, value = conn.recv()
            except EOFError:
                kind, value = "lost", None
            finally:
                conn.close()
                if self._process is not None:
                    self._process.join(timeout=5)
            return value if kind == "ok" else fn(*args)  # done here, where an error is reported as usual

        return wait

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()  # the helper sees the pipe close and exits
            self._conn = None
        if self._process is not None:
            self._process.join(timeout=5)


def _serve(conn, parent_end, parent: int, prepare) -> None:
    die_with_parent(parent)
    parent_end.close()
    try:
        prepare()
        fn, args = conn.recv()
    except (EOFError, KeyboardInterrupt):
        return
    try:
        result = ("ok", fn(*args))
    except Exception:  # noqa: BLE001 - the parent does the job itself and reports the error
        result = ("error", None)
    conn.send(result)
