"""The run's helper processes (readers, the chart drawer) never outlive it.

They are forked, and a forked child holds copies of its siblings' pipe ends, so it would
not see its parent go: without this, a run stopped by Ctrl-C or killed outright could leave
processes waiting forever on the office PC.
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
from collections.abc import Callable
from typing import TypeVar

from ..model import Finding, ReadResult, Source
from ..spec.form import Form
from ..spec.units import UnitList
from ..stages.read.sources import STAGE_FILES, read_sources
from ..stages.tabulate import Tables, tabulate
from ..stages.validate import validate
from ..store.cache import ReadCache

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
    _widen(send)
    process = ctx.Process(target=_run_and_send, args=(send, receive, os.getpid(), fn, args), daemon=True)
    process.start()
    send.close()

    def wait() -> T:
        try:
            kind, value = _receive(receive, process)
        except EOFError:
            kind, value = "lost", None
        finally:
            receive.close()
            # Not waited for: a copy that has just sent a large result takes a few hundredths
            # of a second to end, and nothing here needs it gone. Reaped now if it has ended,
            # else by multiprocessing when it next starts a process (or by the system at exit).
            process.join(timeout=0)
        if kind == "ok":
            return value
        return fn(*args)  # the copy failed or died: do it here, where an error is reported as usual

    return wait


def _widen(conn) -> None:
    """A pipe that holds a megabyte rather than 64 KB (Linux; elsewhere as it is): a copy's
    result of a few megabytes then crosses in a few writes, not in a hundred turns of two
    processes waiting on each other, and a small one is written before it is asked for."""
    try:
        import fcntl

        fcntl.fcntl(conn.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)
    except (ImportError, AttributeError, OSError):
        pass


def _receive(conn, process):
    """The next message from a child, or EOFError once the child is gone without sending it
    (killed by the system, say): the work is then done here rather than waited for forever."""
    while not conn.poll(0.5):
        if process is not None and not process.is_alive() and not conn.poll(0):
            raise EOFError
    return conn.recv()


def _run_and_send(send, receive, parent: int, fn, args) -> None:
    die_with_parent(parent)
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
        self._conn = None
        self._process = None
        self._sent = 0
        self._results: list[tuple[str, object]] = []

    def start(self, prepare: Callable[[], object]) -> None:
        """Fork the helper, which runs prepare() and then waits for jobs."""
        import multiprocessing as mp

        if "fork" not in mp.get_all_start_methods():
            return
        ctx = mp.get_context("fork")
        parent_end, child_end = ctx.Pipe()
        # Not a daemon, so that its jobs may fork copies of it in turn (processes.in_background):
        # it ends when this process closes its pipe, or dies (die_with_parent).
        self._process = ctx.Process(target=_serve, args=(child_end, parent_end, os.getpid(), prepare),
                                    daemon=False)
        self._process.start()
        child_end.close()
        self._conn = parent_end

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
                    self._results.append(_receive(self._conn, self._process))
                except (EOFError, OSError):
                    self._lose()
            kind, value = self._results[index] if index < len(self._results) else ("lost", None)
            return value if kind == "ok" else fn(*args)  # done here, where an error is reported as usual

        return wait

    def _lose(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def close(self) -> None:
        self._lose()  # the helper sees the pipe close and exits
        if self._process is not None:
            self._process.join(timeout=0)  # not waited for (see in_background): reaped later if still ending


def _serve(conn, parent_end, parent: int, prepare) -> None:
    die_with_parent(parent)
    parent_end.close()
    try:
        prepare()
        while True:
            fn, args = conn.recv()
            try:
                result = ("ok", fn(*args))
            except Exception:  # noqa: BLE001 - the parent does the job itself and reports the error
                result = ("error", None)
            conn.send(result)
    except (EOFError, KeyboardInterrupt, BrokenPipeError):
        return


VALIDATE_APART_UP_TO = 500  # new returns; more are validated here, on the tables already built


def start_validation(form: Form, results: list[ReadResult], cache: ReadCache,
                     checker: Helper | None = None) -> Callable[[Tables], list[Finding]]:
    """Validation findings for every return: from the cache for content validated before,
    fresh for the rest (all in one validation per sheet type, as ever).

    A few new returns (one county resent) are validated apart while this process tabulates
    every return: by `checker` when it was started (it has imported pandera, a fifth of a
    second, while the files were read), else by a forked copy."""
    known = [cache.checked(r.source) for r in results]
    todo = [i for i, found in enumerate(known) if found is None]
    apart = None
    if 0 < len(todo) <= VALIDATE_APART_UP_TO:
        send = checker.submit if checker is not None and checker.started else in_background
        apart = send(_validate_returns, form, [results[i].ret for i in todo])

    def finish(tables: Tables) -> list[Finding]:
        if todo:
            fresh = apart() if apart else validate(form, tables if len(todo) == len(results) else
                                                   tabulate(form, [results[i].ret for i in todo]))
            by_file: dict[str, list[Finding]] = {}
            for f in fresh:
                by_file.setdefault(f.file, []).append(f)
            for i in todo:
                source = results[i].source
                known[i] = tuple(by_file.get(source.path, ()))
                cache.put_checked(source, known[i])
        return [f for found in known for f in found]

    return finish


def _validate_returns(form: Form, returns: list) -> list[Finding]:
    return validate(form, tabulate(form, returns))


PARALLEL_FROM = 200  # below this, starting worker processes costs more than it saves


def read_all(readable: list[Source], form: Form, units: UnitList, passwords: tuple[str, ...],
             cache: ReadCache, progress: Callable[[int, int], None] | None = None) -> list[ReadResult]:
    """Read every file not in the cache, across processes when there are many."""
    results: dict[int, ReadResult] = {}
    todo = []
    for i, s in enumerate(readable):
        hit = cache.get(s)
        if hit is not None:
            results[i] = hit
        else:
            todo.append(i)
    done = len(results)
    import multiprocessing as mp

    workers = min(os.cpu_count() or 1, 8)
    if len(todo) >= PARALLEL_FROM and workers > 1 and "fork" in mp.get_all_start_methods():
        from concurrent.futures import ProcessPoolExecutor

        # fork only: the workers inherit the imported modules, the form and the unit list,
        # which pickled with every batch cost more than reading its files (a national list).
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("fork"), initializer=_start_reader,
                                 initargs=(os.getpid(), form, units, passwords)) as pool:
            chunk = max(1, min(STAGE_FILES, len(todo) // (workers * 8)))
            batches = [todo[k:k + chunk] for k in range(0, len(todo), chunk)]
            futures = [pool.submit(_read_batch, [readable[i] for i in b]) for b in batches]
            for batch, fut in zip(batches, futures):
                for i, blob in zip(batch, fut.result()):
                    results[i] = pickle.loads(blob)
                    cache.put(results[i], blob)
                done += len(batch)
                if progress:
                    progress(done, len(readable))
    else:
        for k in range(0, len(todo), STAGE_FILES):
            batch = todo[k:k + STAGE_FILES]
            for i, result in zip(batch, read_sources([readable[i] for i in batch], form, units, passwords)):
                results[i] = result
                cache.put(result)
            done += len(batch)
            if progress:
                progress(done, len(readable))
    return [results[i] for i in range(len(readable))]


_reader_args: tuple = ()


def _start_reader(parent: int, form: Form, units: UnitList, passwords: tuple[str, ...]) -> None:
    global _reader_args
    die_with_parent(parent)
    gc.disable()
    _reader_args = (form, units, passwords)


def _read_batch(sources: list[Source]) -> list[bytes]:
    # Pickled here, once: the same bytes cross to the parent and go into the read cache.
    form, units, passwords = _reader_args
    return [pickle.dumps(r, protocol=pickle.HIGHEST_PROTOCOL) for r in read_sources(sources, form, units, passwords)]
