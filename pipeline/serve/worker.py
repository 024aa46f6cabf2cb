"""The page's checks in a worker process: warm, started once, kept within limits, and started
again when it is killed.

An upload is a stranger's bytes. Reading them (the spreadsheet engine, inflating zips) happens
in this worker, never in the server: a file that needs more memory than `memory_mb` or more
time than `seconds` costs the worker, not the page, and the county is told its file cannot be
read. The worker is a copy of a process that has loaded the reader, pandas and pandera
already (preload.py, through multiprocessing's fork server), so a check starts at once: it is
never a cold process per check. It inherits none of the server's sockets, so a connection the
server closes is closed.

The server calls it one job at a time (the desk's lock): `read` for the reader (run.read_all's
`reader`), `submit` for validation (run.start_validation's `checker`).
"""

from __future__ import annotations

import os
import signal
import traceback
from collections.abc import Callable
from typing import TypeVar

from ..model import ReadResult, Source
from ..spec.form import Form
from ..spec.units import UnitList

T = TypeVar("T")

DEFAULT_SECONDS = 20.0
DEFAULT_MEMORY_MB = 1024


class WorkerLost(RuntimeError):
    """The worker could not finish a job: killed at its limit, or a fault of this program."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind, self.detail = kind, detail


class CheckWorker:
    def __init__(self, form: Form, units: UnitList, passwords: tuple[str, ...] = (), *,
                 seconds: float = DEFAULT_SECONDS, memory_mb: int = DEFAULT_MEMORY_MB,
                 say: Callable[[str], None] | None = None) -> None:
        self.form, self.units, self.passwords = form, units, passwords
        self.seconds, self.memory_mb = seconds, memory_mb
        self.say = say
        self.started = False  # as run.start_validation asks of a checker
        self.restarts = 0
        self._process = None
        self._conn = None
        self._ctx = None

    # --- the process --------------------------------------------------------------------

    def start(self) -> None:
        import multiprocessing as mp

        if self._ctx is None:
            methods = mp.get_all_start_methods()
            if "forkserver" in methods:
                # One BLAS thread: a worker's memory limit is not spent on thread arenas.
                for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
                    os.environ.setdefault(name, "1")
                self._ctx = mp.get_context("forkserver")
                self._ctx.set_forkserver_preload(["pipeline.serve.preload"])
            else:
                self._ctx = mp.get_context("spawn")
        here, there = self._ctx.Pipe()
        self._process = self._ctx.Process(target=_serve, args=(there, self.form, self.units, self.passwords,
                                                               self.memory_mb), daemon=True, name="page-checks")
        self._process.start()
        there.close()
        self._conn = here
        self.started = True

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._process is not None:
            self._process.join(timeout=2)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(timeout=2)
            self._process = None
        self.started = False

    def _restart(self, why: str) -> None:
        if self._process is not None and self._process.is_alive():
            self._process.kill()
        if self._process is not None:
            self._process.join(timeout=5)
        if self._conn is not None:
            self._conn.close()
        self._process = self._conn = None
        self.restarts += 1
        if self.say:
            self.say(f"审核进程{why}，已重新启动。")
        self.start()

    # --- jobs ---------------------------------------------------------------------------

    def call(self, fn: Callable[..., T], *args) -> T:
        """fn(*args) in the worker; WorkerLost when it runs out of time or memory, dies, or
        raises (its traceback then is the detail)."""
        return self.send(fn, *args)()

    def send(self, fn: Callable[..., T], *args) -> Callable[[], T]:
        """Start fn(*args) in the worker; the function returned waits for its result, for at
        most `seconds` from now."""
        import time

        if self._conn is None:
            self.start()
        deadline = time.monotonic() + self.seconds
        try:
            self._conn.send((fn, args))
        except (OSError, ValueError):  # the worker is gone: once more, in a new one
            self._restart("意外终止")
            self._conn.send((fn, args))

        def wait() -> T:
            kind, value = self._receive(deadline)
            if kind == "ok":
                return value
            raise WorkerLost(kind, value)

        return wait

    def submit(self, fn: Callable[..., T], *args) -> Callable[[], T]:
        """As processes.Helper.submit: validation runs here while the server tabulates."""
        return self.send(fn, *args)

    def _receive(self, deadline: float) -> tuple[str, object]:
        import time

        conn, process = self._conn, self._process
        while True:
            left = deadline - time.monotonic()
            try:
                if conn.poll(max(0.0, min(left, 0.5))):
                    kind, value = conn.recv()
                    if kind == "memory":
                        self._restart("所需内存超过限制")
                    return kind, value
            except (EOFError, OSError):
                self._restart("意外终止")
                return "died", ""
            if not process.is_alive() and not conn.poll(0):
                code = process.exitcode
                # Killed by the system (out of memory) or aborted by the engine (an allocation refused).
                memory = code in (-signal.SIGKILL, -signal.SIGABRT)
                self._restart("所需内存超过限制" if memory else "意外终止")
                return ("memory" if memory else "died"), f"exit {code}"
            if left <= 0:
                self._restart(f"超过{self.seconds:g}秒未完成")
                return "time", ""

    def read(self, items: list[tuple[Source, bytes]]) -> list[ReadResult]:
        """Each file read in the worker (run.read_all's `reader`), one job a file, so that a
        file that exceeds a limit is known and costs only itself: it is unreadable, said in the
        clerk's words. A fault of this program is raised, for the runner's guard."""
        out = []
        for source, data in items:
            for attempt in (1, 2):
                try:
                    out.append(self.call(read_one, source, data))
                    break
                except WorkerLost as lost:
                    if lost.kind == "fault":
                        raise
                    if lost.kind == "died" and attempt == 1:
                        continue  # killed by something else than the file: once more, in the new worker
                    out.append(beyond_limits(self.form, source, lost.kind, self.seconds))
                    break
        return out


def beyond_limits(form: Form, source: Source, kind: str, seconds: float) -> ReadResult:
    """A file the worker could not read within its limits: unreadable, for its size or make."""
    why = {"time": f"读取超过{seconds:g}秒仍未完成", "memory": "读取它所需的内存超过了限制"}.get(kind, "读取时审核进程意外终止")
    finding = form.finding("unreadable", file=source.path, detail=f"文件过大或结构异常，{why}")
    return ReadResult(source, None, (finding,))


# --- in the worker ----------------------------------------------------------------------------

_FORM: Form | None = None
_UNITS: UnitList | None = None
_PASSWORDS: tuple[str, ...] = ()


def read_one(source: Source, data: bytes) -> ReadResult:
    from ..stages.read.sources import read_sources

    return read_sources([(source, data)], _FORM, _UNITS, _PASSWORDS)[0]


def _serve(conn, form: Form, units: UnitList, passwords: tuple[str, ...], memory_mb: int) -> None:
    global _FORM, _UNITS, _PASSWORDS
    from ..run.processes import die_with_parent

    die_with_parent(os.getppid())  # the fork server, which ends with the page
    _FORM, _UNITS, _PASSWORDS = form, units, passwords
    _limit_memory(memory_mb)
    try:
        warm_up(form)
    except Exception:  # noqa: BLE001 - a slower first check, nothing worse
        pass
    while True:
        try:
            fn, args = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return  # the page has stopped
        try:
            answer = ("ok", fn(*args))
        except MemoryError:
            answer = ("memory", "")
        except Exception:  # noqa: BLE001 - the server's guard files it under the file, with this traceback
            answer = ("fault", traceback.format_exc())
        try:
            conn.send(answer)
        except MemoryError:
            conn.send(("memory", ""))
        except (OSError, ValueError):
            return
        except Exception:  # noqa: BLE001 - a result that cannot travel
            conn.send(("fault", traceback.format_exc()))
        if answer[0] == "memory":
            return  # a process that ran out of memory is not trusted again: the server starts another


def warm_up(form: Form) -> None:
    """Build each sheet's schema and validate once before the first county arrives: the first
    validation of a process costs a third of a second more than the next."""
    import pandas as pd

    from ..stages.validate import build_schema

    for spec in form.sheets:
        columns = {"_ret": pd.Series([0], dtype="int64"), "township": pd.Series(["甲"], dtype=object)}
        columns |= {f.key: pd.array([0], dtype="Int64") for f in spec.count_fields}
        build_schema(spec).validate(pd.DataFrame(columns), lazy=True)


def _limit_memory(memory_mb: int) -> None:
    """The worker's address space: what it has now (the libraries it shares with its siblings)
    and `memory_mb` more. Past it, an allocation fails (MemoryError, or the engine aborts):
    the job is lost, never the machine's memory."""
    try:
        import resource

        with open("/proc/self/status", encoding="ascii") as f:
            now = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
        limit = now + memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, OSError, ValueError, StopIteration):
        pass  # no such limit on this system: the time limit still holds
