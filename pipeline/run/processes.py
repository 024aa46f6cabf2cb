"""The run's helper processes (readers, the chart drawer) never outlive it.

They are forked, and a forked child holds copies of its siblings' pipe ends, so it would
not see its parent go: without this, a run stopped by Ctrl-C or killed outright could leave
processes waiting forever on the office PC.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import time
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
    """In the parent, stopping: end every helper process now. Nothing is imported: a stop can
    come while multiprocessing itself is loading (the readers' start), half made, and then no
    process has been started by it yet."""
    active_children = getattr(sys.modules.get("multiprocessing"), "active_children", None)
    if active_children is None:
        return
    for child in active_children():
        child.kill()


def in_background(fn: Callable[..., T], *args, here_if_lost: bool = True, may_fork: bool = False,
                  patience: float | None = None) -> Callable[[], T | None]:
    """Start fn(*args) in a forked copy of this process; the function returned waits for its
    result. The copy shares this process's memory as it was, so handing it the run's tables
    costs nothing. Where processes cannot be forked, fn runs when its result is asked for.
    When the copy fails or dies, fn runs here (where an error is reported as usual), unless
    `here_if_lost` is False: then the answer is None (what killed the copy would kill this).
    `may_fork`: fn may start copies of its own (a daemon process may not): the copy is then no
    daemon, and ends with this process all the same (die_with_parent). The function returned
    may be handed to a later copy of this process, which then waits for the result instead (once:
    the result is read from the pipe by whoever asks first). `patience`: seconds the copy has,
    from its start, before it is killed and counted lost (a file that loops for ever). A copy
    the system will not start (out of processes) is as where processes cannot be forked: fn runs
    here when asked; with `here_if_lost` False, a `Refused` is given instead, which answers None."""
    import multiprocessing as mp

    if "fork" not in mp.get_all_start_methods():
        return lambda: fn(*args)
    ctx = mp.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    widen(send)
    process = ctx.Process(target=_run_and_send, args=(send, receive, os.getpid(), fn, args), daemon=not may_fork)
    try:
        process.start()
    except OSError:
        receive.close()
        send.close()
        return (lambda: fn(*args)) if here_if_lost else Refused()
    send.close()
    starter = os.getpid()
    deadline = time.monotonic() + patience if patience is not None else None

    def wait() -> T:
        # Asked in a later copy of this process (a sibling of the copy), the pipe alone tells
        # whether the copy is still there: it closes when the copy ends.
        mine = os.getpid() == starter
        try:
            kind, value = _receive(receive, process if mine else None, deadline if mine else None)
        except EOFError:
            kind, value = "lost", None
        finally:
            receive.close()
            # Not waited for: a copy that has just sent a large result takes a few hundredths
            # of a second to end, and nothing here needs it gone. Reaped now if it has ended,
            # else by multiprocessing when it next starts a process (or by the system at exit).
            if mine:
                process.join(timeout=0)
        if kind == "ok":
            return value
        return fn(*args) if here_if_lost else None

    return wait


class Refused:
    """in_background's answer when the system would not start the copy and fn may not run
    here: asked, it gives None, as for a copy lost; the caller may tell the two apart."""

    def __call__(self) -> None:
        return None


def widen(conn) -> None:
    """A pipe that holds a megabyte rather than 64 KB (Linux; elsewhere as it is): a copy's
    result of a few megabytes then crosses in a few writes, not in a hundred turns of two
    processes waiting on each other, and a small one is written before it is asked for."""
    try:
        import fcntl

        fcntl.fcntl(conn.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)
    except (ImportError, AttributeError, OSError):
        pass


def _receive(conn, process, deadline: float | None = None):
    """The next message from a child, or EOFError once the child is gone without sending it
    (killed by the system, say): the work is then done here rather than waited for forever.
    Past `deadline` (time.monotonic()) the child is killed, and gone."""
    while not conn.poll(0.5):
        if process is not None and not process.is_alive() and not conn.poll(0):
            raise EOFError
        if deadline is not None and time.monotonic() > deadline and process is not None:
            process.kill()
            process.join(timeout=1)
            raise EOFError
    return conn.recv()


def _as_a_helper(parent: int) -> None:
    """In a helper process: ends with the run, and leaves a cache it cannot write for the run's
    own process to say (the same full disk, said by the Word helper and the workbooks' process
    as well, read as three problems)."""
    from ..store.cache import said_by_the_run

    die_with_parent(parent)
    said_by_the_run()


def _run_and_send(send, receive, parent: int, fn, args) -> None:
    _as_a_helper(parent)
    receive.close()
    try:
        result = ("ok", fn(*args))
    except Exception:  # noqa: BLE001 - the parent does the work itself and reports the error
        result = ("error", None)
    send.send(result)


class Helper:
    """A forked process started ahead of its jobs, so that it imports what they need while
    this process does other work; each job is sent to it when its inputs exist, and they
    run one after another in the order sent.

    The Word report is made this way: docxtpl takes a tenth of a second to import, which a
    helper started after reading spends while this process validates and totals.
    Where processes cannot be forked, or the helper is lost, a job runs here when its result
    is asked for.
    """

    def __init__(self) -> None:
        self._conn = None  # jobs go out on this end
        self._answers = None  # and their results come back on this one
        self._process = None
        self._sent = 0
        self._results: list[tuple[str, object]] = []

    def start(self, prepare: Callable[[], object]) -> None:
        """Fork the helper, which runs prepare() and then waits for jobs."""
        import multiprocessing as mp

        if "fork" not in mp.get_all_start_methods():
            return
        ctx = mp.get_context("fork")
        # A pipe each way, each holding a megabyte: a job is sent while the helper still
        # imports, and 87 returns to validate (300 KB) would otherwise hold this process until
        # the helper had loaded pandera and taken them.
        jobs_in, jobs_out = ctx.Pipe(duplex=False)
        answers_in, answers_out = ctx.Pipe(duplex=False)
        widen(jobs_out)
        widen(answers_out)
        # Not a daemon, so that its jobs may fork copies of it in turn (in_background):
        # it ends when this process closes its pipe, or dies (die_with_parent).
        self._process = ctx.Process(target=_serve, args=(jobs_in, answers_out, (jobs_out, answers_in), os.getpid(),
                                                         prepare), daemon=False)
        self._process.start()
        jobs_in.close()
        answers_out.close()
        self._conn, self._answers = jobs_out, answers_in

    @property
    def started(self) -> bool:
        return self._conn is not None

    def submit(self, fn: Callable[..., T], *args) -> Callable[[], T]:
        """Start fn(*args) in the helper; the function returned waits for its result."""
        if self._conn is None:
            return lambda: fn(*args)
        try:
            self._conn.send((fn, args))
        except (OSError, ValueError):  # the helper is gone
            self._lose()
            return lambda: fn(*args)
        except (TypeError, AttributeError, pickle.PicklingError):  # a job that cannot travel: nothing was sent
            return lambda: fn(*args)
        index, self._sent = self._sent, self._sent + 1

        def wait() -> T:
            while len(self._results) <= index and self._conn is not None:
                try:
                    self._results.append(_receive(self._answers, self._process))
                except (EOFError, OSError):
                    self._lose()
            kind, value = self._results[index] if index < len(self._results) else ("lost", None)
            return value if kind == "ok" else fn(*args)  # done here, where an error is reported as usual

        return wait

    def _lose(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._answers.close()
            self._conn = self._answers = None

    def close(self) -> None:
        self._lose()  # the helper sees the pipe close and exits
        if self._process is not None:
            self._process.join(timeout=0)  # not waited for (see in_background): reaped later if still ending


def _serve(jobs, answers, parent_ends, parent: int, prepare) -> None:
    _as_a_helper(parent)
    for end in parent_ends:
        end.close()
    try:
        prepare()
        while True:
            fn, args = jobs.recv()
            try:
                result = ("ok", fn(*args))
            except Exception:  # noqa: BLE001 - the parent does the job itself and reports the error
                result = ("error", None)
            answers.send(result)
    except (EOFError, KeyboardInterrupt, BrokenPipeError):
        return
