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
