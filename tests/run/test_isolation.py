"""One county's file never stops the run for the others, at any step.

A fault is injected into each per-unit step in turn, for one county: that county gets exactly
one `internal-error` finding beside the findings it had (an error while its figures are read,
checked or chosen, so it is 已退回; a warning at a later step, when its figures stand), the
traceback goes to internal-errors.log under the finding's reference, and every other county's
findings and figures are exactly those of a run without the fault.
"""

from __future__ import annotations

import shutil
import time
from datetime import datetime

import pytest

from pipeline.outputs import returned as returned_module
from pipeline.run import check as check_module
from pipeline.run import reading as reading_module
from pipeline.run import report as report_module
from pipeline.run import runner as runner_module
from pipeline.run.report import build_run
from pipeline.store.rounds import RoundPlan, load_snapshot, snapshot_path
from tests.builders import EXAMPLE, city_workbook, clean_rows, write_return

TARGET = "620103"  # 七里河区: its return carries a warning, so it gets its workbook back
TARGET_FILE = "620103_七里河区.xlsx"


class Injected(RuntimeError):
    """The fault: raised only for the target county."""


# The bundled example's 87 returns are a few files, read by one reader; with PARALLEL_FROM
# lowered they stand for many, read by a reader per core.
READERS = pytest.mark.parametrize("parallel_from", [reading_module.PARALLEL_FROM, 2],
                                  ids=["one reader", "a reader per core"])


def warned_rows() -> list[dict]:
    """A return with a warning only (household visits below 99%): included, workbook sent back."""
    rows = clean_rows()
    for r in rows:
        r["households_visited"] = r["households_total"] * 9 // 10
        r["households_visited_twice"] = r["households_visited"] // 2
    return rows


@pytest.fixture(scope="module")
def inbox(tmp_path_factory, form, units):
    folder = tmp_path_factory.mktemp("isolation") / "inbox"
    shutil.copytree(EXAMPLE, folder)
    write_return(folder, form, units.by_code(TARGET), warned_rows())
    return folder


@pytest.fixture(scope="module")
def previous_round(tmp_path_factory, inbox, settings, form, units):
    """The same inbox as last round's snapshot, every figure a little lower: a comparison to make."""
    folder = tmp_path_factory.mktemp("earlier")
    run = build_run(inbox, settings, round_plan=RoundPlan("2016-11", datetime(2016, 11, 30), "20161130-000000"))
    path = folder / snapshot_path("2016-11", "20161130-000000")
    path.parent.mkdir(parents=True)
    path.write_bytes(run.files[snapshot_path("2016-11", "20161130-000000")])
    earlier = load_snapshot(path)
    lower = earlier.sums - 1
    return earlier.__class__(**{**earlier.__dict__, "sums": lower.clip(lower=0)})


def plan(previous_round) -> RoundPlan:
    return RoundPlan("2016-12", datetime(2016, 12, 30), "20161230-000000", previous_round)


def by_county(run) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {}
    for f in run.findings:
        out.setdefault(f.county_code, []).append((f.severity.value, f.file, f.sheet, f.cell, f.rule, f.message))
    return out


def figures(run, code) -> dict:
    return {k: v for k, v in run.totals.counties.loc[code].items() if k not in ("status",)}


def fail_for_target(real, pick):
    """`real`, raising Injected when `pick(*args, **kwargs)` says the call concerns the target."""
    def wrapped(*args, **kwargs):
        if pick(*args, **kwargs):
            raise Injected("deliberately broken for one county")
        return real(*args, **kwargs)
    return wrapped


def _reads_target(items, *a, **k):
    return any(s.path == TARGET_FILE for s, _ in items)


def _validates_target(form, tables, *a, **k):
    return any(r.county_code == TARGET for r in tables.returns)


def _decides_target(form, unit, *a, **k):
    return unit.code == TARGET


def _compares_target(*args, among=None, **k):
    return among is None or TARGET in among


def _snapshots_target(*args, among=None, **k):
    return among is None or TARGET in among


def _marks_target(form, data, findings, unit_name, *a, **k):
    return unit_name == "七里河区"


# (step, module, name patched there, which calls concern the target, severity, the target's status, with a round)
STEPS = [
    ("read", reading_module, "read_sources", _reads_target, "error", "rejected", False),
    ("validate", runner_module, "validate", _validates_target, "error", "rejected", False),
    ("resolve", check_module, "decide", _decides_target, "error", "rejected", False),
    ("compare", report_module, "compare", _compares_target, "warning", "included", True),
    ("snapshot", report_module, "snapshot_bytes", _snapshots_target, "warning", "included", True),
    ("returned", returned_module, "returned_workbook", _marks_target, "warning", "included", False),
]


@pytest.mark.parametrize("step, module, name, pick, severity, status, with_round", STEPS, ids=[s[0] for s in STEPS])
def test_a_fault_in_one_countys_step_costs_that_county_one_finding(inbox, previous_round, settings, monkeypatch,
                                                                   step, module, name, pick, severity, status,
                                                                   with_round):
    round_plan = plan(previous_round) if with_round else None
    clean = build_run(inbox, settings, round_plan=round_plan)
    monkeypatch.setattr(module, name, fail_for_target(getattr(module, name), pick))
    faulty = build_run(inbox, settings, round_plan=round_plan)

    faults = [f for f in faulty.findings if f.rule == "internal-error"]
    assert [(f.county_code, f.severity.value) for f in faults] == [(TARGET, severity)]
    [incident] = faulty.incidents
    assert incident.reference in faults[0].message and "Injected" not in faults[0].message
    log = faulty.files["internal-errors.log"].decode("utf-8")
    assert incident.reference in log and "Injected" in log and "deliberately broken" in log
    assert faulty.roster.units[[u.code for u in faulty.roster.units].index(TARGET)].status == status
    # Everyone else exactly as without the fault: findings, figures, status.
    before, after = by_county(clean), by_county(faulty)
    for code in {u.code for u in clean.roster.units} - {TARGET}:
        assert after.get(code) == before.get(code), code
        assert figures(faulty, code) == figures(clean, code), code
    if severity == "warning":  # the figures stand: the county is in the sums as before
        assert figures(faulty, TARGET) == figures(clean, TARGET)
        assert [f for f in after[TARGET] if f[4] != "internal-error"] == before[TARGET]
    if step == "returned":  # sent back plain: the findings listed, with the one that says why
        assert "returns/620103_七里河区.xlsx" in faulty.files
    if step == "snapshot":  # kept out of the snapshot, so that no later round compares with it
        snapshot = faulty.files[snapshot_path("2016-12", "20161230-000000")].decode("utf-8")
        assert f'"{TARGET}":{{"status":"excluded"' in snapshot


def test_a_fault_in_the_returned_workbooks_上报说明_line_sends_the_workbook_back_plain(inbox, settings, monkeypatch):
    from openpyxl import load_workbook

    from pipeline.outputs import returned

    real = returned._explanation_cell

    def broken(ws, label, table_end, office=""):
        raise Injected("the 上报说明 line")

    monkeypatch.setattr(returned, "_explanation_cell", broken)
    run = build_run(inbox, settings)
    faults = [f for f in run.findings if f.rule == "internal-error"]
    assert [(f.county_code, f.severity.value) for f in faults] == [(TARGET, "warning")]
    import io

    wb = load_workbook(io.BytesIO(run.files["returns/620103_七里河区.xlsx"]))
    assert wb.sheetnames == ["问题清单"]
    listed = [row[2] for row in wb["问题清单"].iter_rows(min_row=3, values_only=True)]
    assert any(faults[0].message == text for text in listed)
    monkeypatch.setattr(returned, "_explanation_cell", real)


@READERS
@pytest.mark.parametrize("dies", ["its reader", "every reader"])
def test_a_reader_process_that_dies_costs_only_its_batch(tmp_path, settings, monkeypatch, dies, parallel_from):
    """Files read by reader processes: a reader killed while it reads one file costs that file
    alone. Its batch is read again one file at a time, each in a process of its own; the
    batches no reader took, when every reader has died (the system killed them all), go to new
    readers. So with one reader, reading a few files, as with a reader per core."""
    import os
    import signal

    inbox = tmp_path / "inbox"
    shutil.copytree(EXAMPLE, inbox)
    monkeypatch.setattr(reading_module, "PARALLEL_FROM", parallel_from)
    real = reading_module.read_sources
    died = tmp_path / "died"

    def killer(items, *a, **k):
        if os.getpid() != main:
            if any(s.path == TARGET_FILE for s, _ in items):
                died.touch()
                os.kill(os.getpid(), signal.SIGKILL)
            if dies == "every reader" and died.exists() and len(items) > 1:  # a batch, not a file read alone
                os.kill(os.getpid(), signal.SIGKILL)
        return real(items, *a, **k)

    main = os.getpid()
    monkeypatch.setattr(reading_module, "read_sources", killer)
    clean = build_run(EXAMPLE, settings)
    run = build_run(inbox, settings)
    faults = [f for f in run.findings if f.rule == "internal-error"]
    assert [(f.county_code, f.severity.value, f.file) for f in faults] == [(TARGET, "error", TARGET_FILE)]
    assert "进程意外终止" in run.files["internal-errors.log"].decode("utf-8")
    for code in {u.code for u in clean.roster.units} - {TARGET}:
        assert figures(run, code) == figures(clean, code), code


def deadly_in_readers(monkeypatch, deadly: set[str]) -> None:
    """Files that kill whatever process reads them; the run's own process must never read one."""
    import os
    import signal

    real = reading_module.read_sources
    main = os.getpid()

    def reading(items, *a, **k):
        if any(s.path in deadly for s, _ in items):
            if os.getpid() == main:
                raise AssertionError("the run's own process read a file that kills its reader")
            os.kill(os.getpid(), signal.SIGKILL)
        return real(items, *a, **k)

    monkeypatch.setattr(reading_module, "read_sources", reading)


def refuse_forks(monkeypatch, refused) -> list:
    """Process starts for which `refused(process)` holds fail as the system fails them when
    out of processes; the targets of the processes started are listed (a process forgets its
    target once started)."""
    import multiprocessing.process

    real_start = multiprocessing.process.BaseProcess.start
    started = []

    def start(self):
        if refused(self):
            raise BlockingIOError(11, "Resource temporarily unavailable")
        started.append(getattr(self, "_target", None))
        return real_start(self)

    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", start)
    return started


FILES = sorted(p.name for p in EXAMPLE.iterdir() if p.suffix == ".xlsx")


@READERS
def test_more_files_that_kill_their_reader_than_readers_never_reach_the_runs_process(tmp_path, settings, monkeypatch,
                                                                                     parallel_from):
    """Three files that kill whatever process reads them (the engine aborting on a crafted
    .xls), against one reader (a few files) or two: each reader dies on one, and the batches
    none took go to new readers, never to the run's process, which such a file would kill
    with the run. Each of the three is its own file's internal-error; every other county is
    read."""
    monkeypatch.setattr(reading_module, "PARALLEL_FROM", parallel_from)
    monkeypatch.setattr(reading_module.os, "cpu_count", lambda: 2)
    deadly = {FILES[5], FILES[40], FILES[80]}
    deadly_in_readers(monkeypatch, deadly)
    clean = build_run(EXAMPLE, settings)
    run = build_run(EXAMPLE, settings)
    faults = sorted((f.file, f.severity.value) for f in run.findings if f.rule == "internal-error")
    assert faults == sorted((name, "error") for name in deadly)
    assert run.files["internal-errors.log"].decode("utf-8").count("进程意外终止") == 3
    lost = {f.county_code for f in run.findings if f.rule == "internal-error"}
    for code in {u.code for u in clean.roster.units} - lost:
        assert figures(run, code) == figures(clean, code), code


def test_readers_the_system_refuses_after_one_died_never_leave_a_file_to_the_runs_process(settings, monkeypatch):
    """One reader dies on a deadly file; the next round's readers are refused (out of
    processes), try after try: the files they would have read, another deadly one among them,
    are each their county's internal-error, saying the system would start no process; none is
    read by the run's own process, which such a file would kill with the run."""
    monkeypatch.setattr(reading_module, "FORK_WAITS", (0.0, 0.0))
    deadly_in_readers(monkeypatch, {FILES[5], FILES[80]})
    readers = []

    def refused(process) -> bool:
        if getattr(process, "_target", None) is not reading_module._reader:
            return False
        readers.append(process)
        return len(readers) > 1

    refuse_forks(monkeypatch, refused)
    run = build_run(EXAMPLE, settings)
    faults = {f.file: f for f in run.findings if f.rule == "internal-error"}
    assert FILES[5] in faults and FILES[80] in faults and all(f.severity.value == "error" for f in faults.values())
    log = run.files["internal-errors.log"].decode("utf-8")
    assert "进程意外终止" in log and reading_module.REFUSED in log
    assert "the run's own process read" not in log
    assert len(readers) == 3  # the first, then the two tries of FORK_WAITS


def test_a_file_whose_own_process_the_system_refuses_is_its_county_internal_error(settings, monkeypatch):
    """A reader dies on a deadly file; the process to read that file alone is refused: that
    file is its county's internal-error (REFUSED), the run goes on for every other county."""
    monkeypatch.setattr(reading_module, "FORK_WAITS", (0.0, 0.0))
    deadly_in_readers(monkeypatch, {FILES[5]})
    clean = build_run(EXAMPLE, settings)

    def refused(process) -> bool:
        """The process to read the deadly file alone (_read_alone's `read`, which holds it)."""
        target = getattr(process, "_target", None)
        if getattr(target, "__name__", "") != "_run_and_send" or process._args[3].__name__ != "read":
            return False
        read = process._args[3]
        held = dict(zip(read.__code__.co_freevars, (c.cell_contents for c in read.__closure__)))
        return held["source"].path == FILES[5]

    refuse_forks(monkeypatch, refused)
    run = build_run(EXAMPLE, settings)
    faults = [f for f in run.findings if f.rule == "internal-error"]
    assert [(f.file, f.severity.value) for f in faults] == [(FILES[5], "error")]
    assert reading_module.REFUSED in run.files["internal-errors.log"].decode("utf-8")
    lost = faults[0].county_code
    for code in {u.code for u in clean.roster.units} - {lost}:
        assert figures(run, code) == figures(clean, code), code


def test_readers_killed_as_they_start_end_in_a_few_rounds(tmp_path, settings, monkeypatch):
    """The first reader dies on a deadly file; every later one is killed as it starts, before it
    takes a batch: after FRUITLESS_ROUNDS such rounds the files left are each REFUSED, where
    rounds of readers had gone on for ever."""
    import os

    monkeypatch.setattr(reading_module, "FORK_WAITS", (0.0,))
    deadly_in_readers(monkeypatch, {FILES[5]})
    first = tmp_path / "first"
    real_reader = reading_module._reader

    def killed_at_start(k, pipes, parent, queue, job):
        if first.exists():
            os._exit(1)
        first.touch()
        return real_reader(k, pipes, parent, queue, job)

    monkeypatch.setattr(reading_module, "_reader", killed_at_start)
    started = refuse_forks(monkeypatch, lambda process: False)
    run = build_run(EXAMPLE, settings)
    assert started.count(killed_at_start) == 1 + reading_module.FRUITLESS_ROUNDS
    faults = {f.file for f in run.findings if f.rule == "internal-error"}
    assert FILES[5] in faults and len(faults) > 1
    assert reading_module.REFUSED in run.files["internal-errors.log"].decode("utf-8")


@READERS
def test_a_file_whose_reading_never_ends_costs_its_county_alone(settings, monkeypatch, parallel_from):
    """A file that loops for ever in its reader (the engine, or a pattern meeting crafted
    text): the reader, silent past PATIENCE, is stopped; the file, read alone, is stopped
    again past PATIENCE, and is its county's internal-error; every other county is read."""
    import os

    monkeypatch.setattr(reading_module, "PARALLEL_FROM", parallel_from)
    monkeypatch.setattr(reading_module, "PATIENCE", 1.0)
    real = reading_module.read_sources
    main = os.getpid()

    def endless(items, *a, **k):
        if os.getpid() != main and any(s.path == TARGET_FILE for s, _ in items):
            time.sleep(600)
        return real(items, *a, **k)

    monkeypatch.setattr(reading_module, "read_sources", endless)
    clean = build_run(EXAMPLE, settings)
    started = time.monotonic()
    run = build_run(EXAMPLE, settings)
    assert time.monotonic() - started < 60
    faults = [f for f in run.findings if f.rule == "internal-error"]
    assert [(f.county_code, f.severity.value, f.file) for f in faults] == [(TARGET, "error", TARGET_FILE)]
    assert "读取本文件超过1秒仍未完成" in run.files["internal-errors.log"].decode("utf-8")
    for code in {u.code for u in clean.roster.units} - {TARGET}:
        assert figures(run, code) == figures(clean, code), code


def test_a_run_that_fails_before_its_results_leaves_no_reader_behind(settings, monkeypatch):
    """A long-lived process (the page, the tests) whose run raises after its readers started:
    they are ended and their pipes closed, not left waiting on a pipe nobody reads."""
    import multiprocessing
    import os

    monkeypatch.setattr(reading_module, "PARALLEL_FROM", 2)

    def broken():
        raise Injected("pandera could not be loaded")

    monkeypatch.setattr(report_module, "prepare_validation", broken)
    children, fds = set(multiprocessing.active_children()), len(os.listdir("/proc/self/fd"))
    with pytest.raises(Injected):
        build_run(EXAMPLE, settings)
    assert set(multiprocessing.active_children()) - children == set()
    assert len(os.listdir("/proc/self/fd")) == fds


def test_readers_the_system_will_not_start_leave_the_reading_to_this_process(settings, monkeypatch):
    """Out of processes (a second reader refused): the reader already started is ended, and
    the files are read here, with the same outputs."""
    import multiprocessing.process

    clean = build_run(EXAMPLE, settings)
    monkeypatch.setattr(reading_module, "PARALLEL_FROM", 2)
    monkeypatch.setattr(reading_module.os, "cpu_count", lambda: 2)
    real_start = multiprocessing.process.BaseProcess.start
    started = []

    def refusing(self):
        if getattr(self, "_target", None) is reading_module._reader and started:
            raise BlockingIOError(11, "Resource temporarily unavailable")
        started.append(self)
        return real_start(self)

    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", refusing)
    run = build_run(EXAMPLE, settings)
    assert len(started) >= 1 and not started[0].is_alive()
    assert not [f for f in run.findings if f.rule == "internal-error"]
    assert run.files["totals.csv"] == clean.files["totals.csv"]


def test_a_fault_while_answering_an_upload_costs_only_its_figures(tmp_path, form, units, monkeypatch):
    """The receipt: the upload is judged and stored; making its figures raises; the clerk sees
    the page with a finding that says so, and the office's log has the traceback."""
    from pipeline.outputs.formbook import build_return, workbook_bytes
    from pipeline.serve import desk as desk_module

    inbox, outbox = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    outbox.mkdir()
    desk = desk_module.Desk(inbox, form, units, outbox=outbox)
    desk.refresh()
    monkeypatch.setattr(desk_module, "figures", fail_for_target(desk_module.figures, lambda form, ret: ret is not None))
    unit = units.by_code(TARGET)
    outcome = desk.submit(unit, "a.xlsx", workbook_bytes(build_return(form, unit, clean_rows())), "")
    assert outcome.status == "accepted" and outcome.stored and (inbox / outcome.stored).is_file()
    assert [(f.rule, f.severity.value) for f in outcome.checked.findings] == [("internal-error", "warning")]
    assert outcome.figures == ()
    log = (outbox / desk_module.SERVE_LOG).read_text(encoding="utf-8")
    assert "Injected" in log and outcome.checked.findings[0].message.split("编号 ")[1].split("）")[0] in log
    assert desk.status_of(TARGET).status == "included"


@pytest.mark.parametrize("step", ["load", "read"])
def test_a_fault_in_one_county_block_of_a_citys_workbook_costs_that_county_alone(tmp_path, settings, units,
                                                                                 monkeypatch, step):
    """A city's workbook holds its counties' tables: a fault of this program in one county's
    block is that county's one `internal-error`, and the city's other counties stand as read."""
    from pipeline.stages.read import city as city_module

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    lanzhou = {p.stem.split("_")[1]: p.read_bytes() for p in sorted(EXAMPLE.glob("6201*.xlsx"))}
    (inbox / "兰州市各县报表.xlsx").write_bytes(city_workbook(lanzhou))
    clean = build_run(inbox, settings)
    real = getattr(city_module.BlockReader, step)
    monkeypatch.setattr(city_module.BlockReader, step,
                        fail_for_target(real, lambda reader: reader.source.member == "七里河区"))
    faulty = build_run(inbox, settings, cache_dir=tmp_path / "cache")

    faults = [f for f in faulty.findings if f.rule == "internal-error"]
    assert [(f.county_code, f.severity.value, f.file) for f in faults] == [(TARGET, "error", "兰州市各县报表.xlsx/七里河区")]
    [incident] = faulty.incidents
    assert incident.reference in faults[0].message and "deliberately broken" in faulty.files["internal-errors.log"].decode()
    status = {u.code: u.status for u in faulty.roster.units}
    assert status[TARGET] == "rejected"
    others = [u.code for u in units.units if u.code.startswith("6201") and u.code != TARGET]
    assert others and all(status[code] == "included" for code in others)
    before, after = by_county(clean), by_county(faulty)
    for code in others:
        assert after.get(code) == before.get(code), code
        assert figures(faulty, code) == figures(clean, code), code
    # The fault is this program's: the workbook is read again next time, not taken from the cache.
    monkeypatch.undo()
    again = build_run(inbox, settings, cache_dir=tmp_path / "cache")
    assert {u.code: u.status for u in again.roster.units}[TARGET] == "included"


def test_a_stop_while_multiprocessing_loads_stops_no_child_and_raises_nothing(monkeypatch):
    """Ctrl-C or SIGTERM while the readers' start imports multiprocessing: the handler finds
    the module half made (no active_children yet) and no child to stop, and says 已中断 rather
    than 程序内部出错 (an AttributeError from the half-made module, before)."""
    import sys
    import types

    from pipeline.run import processes

    monkeypatch.setitem(sys.modules, "multiprocessing", types.ModuleType("multiprocessing"))
    processes.stop_children()


@READERS
@pytest.mark.parametrize("broken", ["pipeline.stages.read.sources", "python_calamine"])
def test_a_reader_that_cannot_be_loaded_stops_the_run(tmp_path, settings, monkeypatch, parallel_from, broken):
    """The reader and its engine are loaded by the reader processes, not before them: an install
    gone wrong, whose reader or engine cannot be loaded, stops the run with its error, never a
    report in which every county is an internal error."""
    import sys

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for path in sorted(EXAMPLE.iterdir())[:3]:
        shutil.copy(path, inbox / path.name)
    monkeypatch.setattr(reading_module, "PARALLEL_FROM", parallel_from)
    monkeypatch.setitem(sys.modules, broken, None)  # import → ImportError
    with pytest.raises(ImportError):
        build_run(inbox, settings)
