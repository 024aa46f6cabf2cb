"""Reading the returns: in forked reader processes that each take the next batch of files as
they finish one; here only where processes cannot be forked, or when the caller reads within
a process of its own already (the submission page's worker).

A report run started from the command line starts its readers before the rest of the program
is loaded (run/command.py): pandas, pandera and the report's modules then load in this process,
half a second, while the readers read. So this module, and everything it imports, stays clear
of them. Many new files get a reader per core; a few (one county resent, or the 87 of a
province) get one: it reads them while this process loads pandas, on the core this process
leaves free, so it costs the run nothing, and a file that kills its reader or never ends costs
that file alone however few the files are.

A reader that dies (the system killed it, the spreadsheet engine crashed) costs only the
batch it was reading: those files are read again one at a time, each in a process of its own,
so that a file that kills its process is that file's `internal-error` alone. Batches no reader
took, when every reader has died, go to new readers: once readers read, a file that kills the
process reading it never reaches this one. Should the system then refuse new processes for
some seconds (FORK_WAITS), or kill each reader as it starts (FRUITLESS_ROUNDS), the files left
are each their county's `internal-error` saying so (REFUSED): the office runs again later.
"""

from __future__ import annotations

import gc
import os
import pickle
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import STOP
from ..model import Finding, ReadResult, Source
from ..spec.form import Form
from ..spec.units import UnitList
from ..stages.read import STAGE_FILES
from ..store.cache import ReadCache
from .processes import Refused, die_with_parent, in_background, widen

if TYPE_CHECKING:
    from .runner import Guard

PARALLEL_FROM = 200  # new files; from this many, a reader per core (fewer are read by one)
# The batches' numbers, four bytes each, must fit in a pipe of one page (4 KB), the least the
# system gives: they are written before any reader could take one.
MAX_BATCHES = 1024
# Seconds a reader may go without answering (a batch of files takes a second or two), and a
# file read alone may take, before its process is stopped: a file that loops for ever (the
# engine, or a pattern meeting crafted text) costs its own file, not the run.
PATIENCE = 120.0
LOST = "读取本文件的进程意外终止（被系统终止，或读表引擎崩溃）。"
REFUSED = "系统无法再启动读取本文件的进程（进程数或内存已用尽），本文件未能读取，请稍后重新运行。"
# Seconds waited before each try to start readers, or a file's own process, once a reader has
# died: the system may be short of processes or memory for a moment. Past the last, the files
# left are each their county's internal-error (REFUSED), never read in the run's process.
FORK_WAITS = (0.0, 0.5, 2.0)
# Rounds of readers in a row that all die before answering for any batch (the system killing
# each as it starts): past this many, the files left are REFUSED as well.
FRUITLESS_ROUNDS = 3
TOO_LONG = "读取本文件超过{seconds:.0f}秒仍未完成，读取它的进程已被停止。"

Reader = Callable[[list[tuple[Source, bytes]]], list[ReadResult]]


class Reading:
    """The readable files of a run being read: those the cache holds are taken from it when
    results() is asked; the rest are read by forked readers under way, or (`workers` 0) here
    then."""

    def __init__(self, readable: list[Source], data: dict[str, bytes], form: Form, units: UnitList,
                 passwords: tuple[str, ...], cache: ReadCache, reader: Reader | None, workers: int) -> None:
        self.readable, self.data, self.form, self.units, self.passwords = readable, data, form, units, passwords
        self.cache, self.reader = cache, reader
        self.cached: list[int] = []
        self.todo: list[int] = []
        for i, s in enumerate(readable):
            (self.cached if cache.has(s) else self.todo).append(i)
        self.workers = workers  # readers to start for many new files; 0: read here
        # perf_counter() when the last new file was read, here or by a reader (the clock is the
        # system's, the same in every process): the read stage's end, though this process may
        # take the results later, once it has loaded the program. None until then, or if none.
        self.ended: float | None = None
        self.readers = _Readers.start(self, self.todo) if workers and self.todo else None
        self.many = self.readers is not None and self.readers.count > 1

    @property
    def apart(self) -> bool:
        """Read by reader processes: this process never reads a file."""
        return self.readers is not None

    def readers_for(self, todo: list[int]) -> int:
        """A reader per core for many files; one for a few, which it reads while this process
        loads the rest of the program: two would take that core from the loading."""
        return self.workers if len(todo) >= PARALLEL_FROM else 1

    def close(self) -> None:
        """End the readers and free their pipes, results asked for or not: a run that fails
        before asking (in a process that lives on: the page, the tests) leaves nothing behind."""
        if self.readers is not None:
            self.readers.close()

    def results(self, guard: Guard, progress: Callable[[int, int], None] | None = None) -> list[ReadResult]:
        """Every readable file's result, in order; each file newly read goes into the cache,
        unless its reading met a fault of this program (it is read again next time)."""
        readable, units = self.readable, self.units
        # The reader and its spreadsheet engine, which this process has not needed so far (its
        # readers load them): a reader or an engine that cannot be loaded (an install gone wrong,
        # a compiled package broken) stops the run here, rather than making every file its
        # county's internal error in a report that would replace the last good one.
        import python_calamine  # noqa: F401

        from ..stages.read.sources import read_sources as _  # noqa: F401
        # The cache's results are unpickled now, not when the reading started: a re-run's 3,000
        # took a seventh of a second, which the readers' start and the loading of pandas no
        # longer wait for. One that cannot be read back is read again.
        results: dict[int, ReadResult] = {}
        again: list[int] = []
        for i in self.cached:
            hit = self.cache.get(readable[i])
            if hit is None:
                again.append(i)
            else:
                results[i] = hit
        done = len(results)

        def faulty(i: int, finding: Finding) -> ReadResult:
            return ReadResult(readable[i], None, (finding,))

        def place(i: int) -> tuple[str, str]:
            source = readable[i]
            return source.path, units.find_in_filename(Path(source.member or source.path).stem) or ""

        def keep(i: int, result: ReadResult, blob: bytes | None = None, read_at: float | None = None) -> None:
            self.ended = max(self.ended or 0.0, read_at or time.perf_counter())
            results[i] = result
            if not any(f.rule == "internal-error" for f in result.findings) and not any(p.fault for p in result.parts):
                self.cache.put(result, blob)

        def fault(i: int, detail: str, read_at: float | None = None) -> None:
            self.ended = max(self.ended or 0.0, read_at or time.perf_counter())
            results[i] = faulty(i, guard.fault("read", detail, file=place(i)[0], county=place(i)[1]))

        def told(batch: list[int]) -> None:
            nonlocal done
            done += len(batch)
            if progress:
                progress(done, len(readable))

        read_these = self.reader or (lambda items: read_sources(items, self.form, units, self.passwords))

        def read_here(batch: list[int]) -> None:
            read = guard.halves("read", batch,
                                lambda part: read_these([(readable[i], self.data[readable[i].path]) for i in part]),
                                faulty, place)
            for i, result in zip(batch, read):
                keep(i, result)
            told(batch)

        later = again  # for the readers' next round
        if self.readers is None and self.workers and again:
            self.readers = _Readers.start(self, self.todo + again)  # refused at the start, perhaps not now
            later = []
        if self.readers is None:
            here = self.todo + again
            for k in range(0, len(here), STAGE_FILES):
                read_here(here[k:k + STAGE_FILES])
            return [results[i] for i in range(len(readable))]
        # Never here, once readers read: a file that kills the process reading it (the engine
        # aborting on it) would kill the run. Batches no reader took, every reader having died,
        # go to new readers; a round that answers for nothing (its readers killed as they
        # start) counts against FRUITLESS_ROUNDS, so the rounds end.
        fruitless = 0
        try:
            while self.readers is not None:
                answered = 0
                for batch, answers, read_at in self.readers.answers():
                    answered += 1
                    for i, (kind, value) in zip(batch, answers):
                        if kind == "ok":
                            keep(i, pickle.loads(value), value, read_at)
                        else:
                            fault(i, value, read_at)
                    told(batch)
                in_flight, untaken = self.readers.lost()
                self.readers.close()
                for batch in in_flight:  # a reader died reading it: one file at a time, each in a process of its own
                    for i in batch:
                        kind, value = _read_alone(readable[i], self.form, units, self.passwords, self.data)
                        if kind == "ok":
                            keep(i, value)
                        else:
                            fault(i, value)
                    told(batch)
                rest, later = [i for batch in untaken for i in batch] + later, []
                fruitless = 0 if answered or in_flight else fruitless + 1
                self.readers = (_Readers.start(self, rest, FORK_WAITS)
                                if rest and fruitless < FRUITLESS_ROUNDS else None)
                if rest and self.readers is None:  # the system will not keep readers going
                    for i in rest:
                        fault(i, REFUSED)
                    told(rest)
        finally:
            self.close()  # ended already, unless this process is stopping short
        return [results[i] for i in range(len(readable))]


def start_reading(readable: list[Source], data: dict[str, bytes], form: Form, units: UnitList,
                  passwords: tuple[str, ...], cache: ReadCache, *, reader: Reader | None = None) -> Reading:
    """Start reading `readable` (their bytes in `data`, as the inbox view holds them) by reader
    processes started now: one per core for many new files, one for a few. `reader`, when
    given, reads here, when the results are asked for, instead of read_sources (the submission
    page's worker process, which keeps reading within limits and is a process apart itself)."""
    import multiprocessing as mp

    workers = min(os.cpu_count() or 1, 8)
    can_fork = reader is None and "fork" in mp.get_all_start_methods()
    return Reading(readable, data, form, units, passwords, cache, reader, workers if can_fork else 0)


def read_all(readable: list[Source], data: dict[str, bytes], form: Form, units: UnitList, passwords: tuple[str, ...],
             cache: ReadCache, guard: Guard, progress: Callable[[int, int], None] | None = None,
             reader: Reader | None = None) -> list[ReadResult]:
    """Every readable file's result (start_reading, then its results)."""
    return start_reading(readable, data, form, units, passwords, cache, reader=reader).results(guard, progress)


class _Readers:
    """Forked reader processes sharing one list of batches: each takes the next batch not yet
    taken, so a reader slowed by a large file leaves the rest to the others. The batches are
    taken from a pipe holding their numbers, four bytes each, written before the readers
    start: a read that small from a pipe is whole and never shared, so no reader ever holds a
    lock another waits for, even one killed while taking its batch. No thread of this process
    takes part either, so later forks (the run's helpers) copy no lock held. The readers
    inherit the imported modules, the form, the unit list and the files' bytes, which pickled
    with every batch would cost more than reading them."""

    @classmethod
    def start(cls, reading: Reading, todo: list[int], waits: tuple[float, ...] = (0.0,)) -> _Readers | None:
        """Readers for the files at `todo`, tried after each of `waits` (seconds); None when the
        system would not start them (out of processes)."""
        for wait in waits:
            time.sleep(wait)
            readers = cls(reading, todo, reading.readers_for(todo))
            try:
                readers.fork(reading)
                return readers
            except OSError:
                readers.close()
        return None

    def __init__(self, reading: Reading, todo: list[int], count: int) -> None:
        self.count = count
        chunk = max(1, min(STAGE_FILES, len(todo) // (count * 8)), -(-len(todo) // MAX_BATCHES))
        self.batches = [todo[k:k + chunk] for k in range(0, len(todo), chunk)]
        self.received: set[int] = set()
        self.queue, queued = os.pipe()
        self.untaken: set[int] | None = None  # known once every reader has ended
        for b in range(len(self.batches)):
            os.write(queued, b.to_bytes(4, "little"))
        os.close(queued)  # the readers meet the end of the queue once it is empty
        self.processes: list = []
        self.pipes: list = []
        self.closed = False

    def fork(self, reading: Reading) -> None:
        import multiprocessing as mp

        ctx = mp.get_context("fork")
        pipes = [ctx.Pipe(duplex=False) for _ in range(self.count)]
        self.pipes = [receive for receive, _ in pipes]
        for _, send in pipes:
            # A reader answers while this process is still loading the program: a pipe of a
            # megabyte holds some three hundred returns' answers, where the usual 64 KB would
            # stop the reader within twenty.
            widen(send)
        try:
            for k in range(len(pipes)):
                job = (reading.readable, reading.data, reading.form, reading.units, reading.passwords, self.batches)
                p = ctx.Process(target=_reader, args=(k, pipes, os.getpid(), self.queue, job), daemon=True)
                p.start()
                self.processes.append(p)
        finally:
            for _, send in pipes:
                send.close()  # a reader's pipe then ends (EOF) exactly when that reader does

    def answers(self):
        """(batch, its answers, when they were read) as the readers send them, until every
        reader has ended."""
        from multiprocessing.connection import wait

        open_pipes = list(self.pipes)
        heard = dict.fromkeys(open_pipes, time.monotonic())
        while open_pipes:
            for conn in wait(open_pipes, timeout=min(PATIENCE, 5.0)):
                try:
                    b, answers, read_at = conn.recv()
                except (EOFError, OSError):
                    open_pipes.remove(conn)
                    conn.close()
                    continue
                if b is None:
                    raise answers  # what means stop (errors.STOP), met in a reader, stops the run
                heard[conn] = time.monotonic()
                self.received.add(b)
                yield self.batches[b], answers, read_at
            for conn in open_pipes:  # a reader silent too long: stopped, its batch read alone
                if time.monotonic() - heard[conn] > PATIENCE:
                    self.processes[self.pipes.index(conn)].kill()
        for p in self.processes:
            p.join(timeout=1)

    def lost(self) -> tuple[list[list[int]], list[list[int]]]:
        """Once every reader has ended, the batches none answered for: those taken by a reader
        that died reading them, and those never taken (still queued), left when all had died."""
        if self.untaken is None:
            queued = b""
            while chunk := os.read(self.queue, 65536):
                queued += chunk
            os.close(self.queue)
            self.untaken = {int.from_bytes(queued[k:k + 4], "little") for k in range(0, len(queued), 4)}
        untaken = self.untaken
        return ([batch for b, batch in enumerate(self.batches) if b not in self.received and b not in untaken],
                [self.batches[b] for b in sorted(untaken)])

    def close(self) -> None:
        """End the readers still running (their results are no longer wanted) and close the
        pipes; once only."""
        if self.closed:
            return
        self.closed = True
        for p in self.processes:
            if p.is_alive():
                p.kill()
            p.join(timeout=1)
        for conn in self.pipes:
            conn.close()
        if self.untaken is None:
            os.close(self.queue)


def _reader(k: int, pipes: list, parent: int, queue: int, job: tuple) -> None:
    """A reader process: batches taken in turn until none is left, each answered on its pipe."""
    die_with_parent(parent)
    gc.disable()
    for j, (receive, send) in enumerate(pipes):
        receive.close()
        if j != k:
            send.close()
    send = pipes[k][1]
    readable, data, form, units, passwords, batches = job
    try:
        while len(taken := os.read(queue, 4)) == 4:
            b = int.from_bytes(taken, "little")
            answers = _read_batch([readable[i] for i in batches[b]], data, form, units, passwords)
            send.send((b, answers, time.perf_counter()))
    except STOP as stop:
        send.send((None, stop, 0.0))  # never taken for a file's fault: the run stops, as it would here
    send.close()


def _read_batch(sources: list[Source], data: dict[str, bytes], form: Form, units: UnitList,
                passwords: tuple[str, ...]) -> list[tuple[str, bytes | str]]:
    """In a reader process: each file's result, pickled here once (the same bytes cross to the
    parent and go into the read cache), or the traceback of its fault."""
    try:
        read = read_sources([(s, data[s.path]) for s in sources], form, units, passwords)
        return [("ok", pickle.dumps(r, protocol=pickle.HIGHEST_PROTOCOL)) for r in read]
    except STOP:
        raise
    except BaseException:  # noqa: BLE001 - the batch again, one file at a time
        out: list[tuple[str, bytes | str]] = []
        for s in sources:
            try:
                r = read_sources([(s, data[s.path])], form, units, passwords)[0]
                out.append(("ok", pickle.dumps(r, protocol=pickle.HIGHEST_PROTOCOL)))
            except STOP:
                raise
            except BaseException as error:  # noqa: BLE001
                out.append(("fault", fault_text(error)))
        return out


def _read_alone(source: Source, form: Form, units: UnitList, passwords: tuple[str, ...],
                data: dict[str, bytes]) -> tuple[str, ReadResult | str]:
    """One file read in a forked process of its own: if it kills that process, it is this
    file's fault alone."""
    def read() -> tuple[str, ReadResult | str | BaseException]:
        try:
            return "ok", read_sources([(source, data[source.path])], form, units, passwords)[0]
        except STOP as stop:
            return "stop", stop
        except BaseException as error:  # noqa: BLE001
            return "fault", fault_text(error)

    for wait in FORK_WAITS:
        time.sleep(wait)
        started = time.monotonic()
        waiting = in_background(read, here_if_lost=False, patience=PATIENCE)
        if not isinstance(waiting, Refused):
            break
    else:
        return "fault", REFUSED
    answer = waiting()
    if answer is None:
        return "fault", TOO_LONG.format(seconds=PATIENCE) if time.monotonic() - started >= PATIENCE else LOST
    if answer[0] == "stop":
        raise answer[1]
    return answer


def read_sources(items: list[tuple[Source, bytes]], form: Form, units: UnitList,
                 passwords: tuple[str, ...] = ()) -> list[ReadResult]:
    """The reader (stages/read/sources), loaded where files are read: a reader process loads it
    once forked, so that the run's own process starts its readers, and then pandas, a
    hundredth of a second sooner."""
    from ..stages.read.sources import read_sources as read

    return read(items, form, units, passwords)


def fault_text(error: BaseException) -> str:
    import traceback

    return "".join(traceback.format_exception(error))
