"""The fast paths give the same answers as the plain ones: the read cache, the worker
processes, and commands that never import what they do not need. (Speed itself is measured
by `make bench`, not here.)"""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
import time

import pytest

from pipeline.outputs.formbook import Layout, build_return, workbook_bytes
from pipeline.paths import ROOT  # noqa: E402
from pipeline.run import reading as reading_module
from pipeline.run import runner as run_module
from pipeline.run.report import build_run
from tests.builders import EXAMPLE, clean_rows


def test_cache_gives_the_same_run_and_reads_only_what_changed(tmp_path, settings, form, units, monkeypatch):
    inbox = tmp_path / "inbox"
    shutil.copytree(EXAMPLE, inbox)
    cache = tmp_path / "out" / ".cache"
    plain = build_run(inbox, settings)
    first = build_run(inbox, settings, cache_dir=cache)
    assert list(cache.glob("reads-*.pickle"))

    # The files are read in a reader process: each read is noted in a file, which this one reads.
    log = tmp_path / "reads.log"
    real = reading_module.read_sources

    def noted(items, *rest, **options):
        with open(log, "a", encoding="utf-8") as f:
            f.writelines(f"{s.path}\n" for s, _ in items)
        return real(items, *rest, **options)

    def reads() -> list[str]:
        return log.read_text(encoding="utf-8").splitlines() if log.exists() else []

    monkeypatch.setattr(reading_module, "read_sources", noted)
    again = build_run(inbox, settings, cache_dir=cache)
    assert reads() == []  # every file served from the cache
    for name in ("totals.csv", "findings.csv", "roster.csv", "report.html", "consolidated.xlsx"):
        assert plain.files[name] == first.files[name] == again.files[name], name

    rows = clean_rows()
    (inbox / "620102_城关区.xlsx").write_bytes(workbook_bytes(build_return(form, units.by_code("620102"), rows)))
    changed = build_run(inbox, settings, cache_dir=cache)
    assert reads() == ["620102_城关区.xlsx"]
    lanzhou = changed.totals.counties.loc["620102"]
    assert int(lanzhou["villages_total"]) == sum(r["villages_total"] for r in rows)

    shutil.rmtree(cache)  # safe to delete: the same answers, only slower
    fresh = build_run(inbox, settings, cache_dir=cache)
    for name in ("totals.csv", "findings.csv", "consolidated.xlsx", "report.docx"):
        assert fresh.files[name] == changed.files[name], name


def test_same_content_under_another_name_follows_the_new_name(tmp_path, settings):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    cache = tmp_path / ".cache"
    (inbox / "620102_城关区.xlsx").write_bytes((EXAMPLE / "620102_城关区.xlsx").read_bytes())
    build_run(inbox, settings, cache_dir=cache)
    (inbox / "620102_城关区.xlsx").rename(inbox / "城关区(终稿).xlsx")
    run = build_run(inbox, settings, cache_dir=cache)
    assert run.roster.units[0].source.path == "城关区(终稿).xlsx"


def test_a_file_renamed_after_a_run_is_read_again_for_the_unit_its_new_name_gives(tmp_path, settings, form, units):
    """A return that names no unit inside, sent as 报表.xlsx, is unit-unknown; the office renames it
    城关区.xlsx, as the finding asks, and runs again into the same outbox: the cache must not
    hand back the old name's reading (it did: still unknown, 城关区 still missing)."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    cache = tmp_path / ".cache"
    anonymous = Layout(title=False, show_code=False, unit_text="（盖章）")
    (inbox / "报表.xlsx").write_bytes(workbook_bytes(build_return(form, units.by_code("620102"), clean_rows(),
                                                                 layout=anonymous)))
    def unit(run, code):
        return next(u for u in run.roster.units if u.code == code)

    first = build_run(inbox, settings, cache_dir=cache)
    assert [f.rule for f in first.findings if f.rule == "unit-unknown"] == ["unit-unknown"]
    assert unit(first, "620102").status == "missing"

    (inbox / "报表.xlsx").rename(inbox / "城关区.xlsx")
    again = build_run(inbox, settings, cache_dir=cache)
    assert not [f for f in again.findings if f.rule == "unit-unknown"]
    assert unit(again, "620102").status == "included"
    assert unit(again, "620102").source.path == "城关区.xlsx"

    (inbox / "城关区.xlsx").rename(inbox / "安宁区.xlsx")  # and named for another unit: that one's now
    third = build_run(inbox, settings, cache_dir=cache)
    assert unit(third, "620102").status == "missing"
    assert unit(third, "620105").source.path == "安宁区.xlsx"


def test_reader_processes_read_exactly_what_this_process_reads(settings, form, units, monkeypatch):
    """Read here (as where processes cannot be forked, or by the page's worker), by one reader
    (a few files), by a reader per core (many): the same results, findings and all."""
    from pipeline.run.runner import Guard
    from pipeline.stages.read.sources import read_sources
    from pipeline.store.cache import ReadCache
    from pipeline.store.inbox import take_view

    view = take_view(EXAMPLE)

    def read(reader=None):
        return reading_module.read_all(view.readable(), view.data, form, units, (), ReadCache(None, ""), Guard(form),
                                       reader=reader)

    here = read(lambda items: read_sources(items, form, units, ()))
    one, few = read(), build_run(EXAMPLE, settings)
    monkeypatch.setattr(reading_module, "PARALLEL_FROM", 2)
    many, spread = read(), build_run(EXAMPLE, settings)
    assert [(r.ret, r.findings) for r in here] == [(r.ret, r.findings) for r in one] == [(r.ret, r.findings) for r in many]
    assert all(r.ret is not None for r in here)
    assert few.files["totals.csv"] == spread.files["totals.csv"]


def test_readers_take_the_next_batch_until_none_is_left(tmp_path, settings, monkeypatch):
    """Batches are taken, not dealt: a reader held up by one batch leaves the rest to the
    others; every batch is read once, and the results come back in the inbox's order."""
    from pipeline.run.intake import take_in
    from pipeline.run.runner import Guard

    monkeypatch.setattr(reading_module, "PARALLEL_FROM", 2)
    monkeypatch.setattr(reading_module.os, "cpu_count", lambda: 3)
    real = reading_module.read_sources
    log = tmp_path / "batches"

    def uneven(items, *a, **k):
        slow = any(s.path == "620102_城关区.xlsx" for s, _ in items)
        with open(log, "a") as f:
            f.write(f"{os.getpid()} {int(slow)}\n")
        if slow:
            time.sleep(2)  # far longer than the other readers take for all the rest, even on a loaded machine
        return real(items, *a, **k)

    monkeypatch.setattr(reading_module, "read_sources", uneven)
    intake = take_in(EXAMPLE, settings)
    readers = intake.reading.readers
    assert len(readers.processes) == 3 and len(readers.batches) > 9
    results = intake.reading.results(Guard(intake.form))
    assert readers.lost() == ([], [])
    assert [r.source.path for r in results] == [s.path for s in intake.view.readable()]
    assert all(r.ret is not None for r in results)
    taken = [line.split() for line in log.read_text().splitlines()]
    assert len(taken) == len(readers.batches)
    per_reader = {pid: sum(1 for p, _ in taken if p == pid) for pid, _ in taken}
    held_up = next(pid for pid, slow in taken if slow == "1")
    assert all(per_reader[held_up] < n for pid, n in per_reader.items() if pid != held_up), per_reader


LOADED = "sorted(m for m in ('pandas', 'pandera', 'jinja2', 'pipeline.run.report') if m in sys.modules)"


def command_with(tmp_path, spies: str, shown: str) -> str:
    """`make report` on the bundled example in a fresh interpreter, after `spies` (code that
    wraps the functions watched): the line it prints last, `shown` and the exit code."""
    code = ("import sys\nfrom pipeline import cli\n" + spies
            + f"code = cli.main(['report', '--inbox', {str(EXAMPLE)!r}, '--outbox', {str(tmp_path / 'out')!r}])\n"
            + f"print({shown}, code)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "out" / "report.html").exists()
    return out.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("parallel_from", [reading_module.PARALLEL_FROM, 2], ids=["one reader", "a reader per core"])
def test_the_command_starts_its_readers_before_loading_pandas(tmp_path, parallel_from):
    """`make report` reads the returns while the rest of the program loads: the readers are
    started before pandas, pandera or the report's modules are imported (half a second), and a
    heavy import added to the way there would show here. The bundled example's 87 returns are
    a few files, read by one reader; with PARALLEL_FROM lowered they stand for many."""
    spies = (
        "from pipeline.run import intake, reading\n"
        f"reading.PARALLEL_FROM = {parallel_from}\n"
        "real, seen = intake.start_reading, []\n"
        "def spy(*a, **k):\n"
        f"    loaded = {LOADED}\n"
        "    started = real(*a, **k)\n"
        "    seen.append((loaded, started.apart))\n"
        "    return started\n"
        "intake.start_reading = spy\n"
    )
    assert command_with(tmp_path, spies, "seen") == "[([], True)] 0"


def test_the_command_starts_the_checker_once_pandas_is_loaded_before_the_reports_modules(tmp_path):
    """A few new returns are validated by a checker that loads pandera (a fifth of a second),
    on the way to the totals: the command forks it as soon as pandas is loaded, not after
    jinja2 and the report's modules, and hands it to build_run, which starts no second one.
    Nor a Word helper: the checker, its returns sent, loads docxtpl and makes the Word report."""
    spies = (
        "from pipeline.run import processes, runner\n"
        "real, seen, forks = runner.start_checker, [], []\n"
        "def spy(checker, new, many):\n"
        f"    loaded = {LOADED}\n"
        "    real(checker, new, many)\n"
        "    seen.append((loaded, new, many, checker.started))\n"
        "runner.start_checker = spy\n"
        "real_start = processes.Helper.start\n"
        "def counted(self, prepare):\n"
        "    forks.append(prepare.__name__)\n"
        "    return real_start(self, prepare)\n"
        "processes.Helper.start = counted\n"
    )
    assert command_with(tmp_path, spies, "seen[0], forks") == "(['pandas'], 87, False, True) ['prepare_validation'] 0"
    assert (tmp_path / "out" / "report.docx").stat().st_size > 10_000


def test_the_checker_makes_the_word_report_when_a_few_returns_are_new(tmp_path):
    """The helper that validated the new returns renders the Word report, in its own process:
    not this one (which would mean its job failed there and was done over here)."""
    marks, checked = tmp_path / "docx-made-in", tmp_path / "validated-in"
    spies = (
        "import functools, os\n"
        "from pipeline.outputs import word\n"
        "from pipeline.run import runner\n"
        "def marking(real, path):\n"
        "    @functools.wraps(real)\n"
        "    def marked(*a, **k):\n"
        "        open(path, 'a').write(str(os.getpid()) + '\\n')\n"
        "        return real(*a, **k)\n"
        "    return marked\n"
        f"word.render_docx = marking(word.render_docx, {str(marks)!r})\n"
        f"runner._validate_returns = marking(runner._validate_returns, {str(checked)!r})\n"
    )
    shown = command_with(tmp_path, spies, "os.getpid()")
    here = int(shown.split()[0])
    made_in, validated_in = ([int(pid) for pid in path.read_text().split()] for path in (marks, checked))
    assert len(made_in) == 1 and made_in[0] != here and made_in == validated_in
    assert (tmp_path / "out" / "report.docx").stat().st_size > 10_000


def test_returned_workbooks_are_freed_as_they_are_made_though_the_run_keeps_the_collector_off():
    """openpyxl's workbooks are webs of references: with the collector off, as the run keeps it,
    each one marked stayed in memory until the process ended (3.5 GB in each of the two
    processes making 30,000). collecting_cycles turns it on while they are made, and back off."""
    code = (
        "import gc, weakref\n"
        "from pathlib import Path\n"
        "from pipeline.spec.config import load_settings\n"
        "from pipeline.spec.form import load_form\n"
        "from pipeline.model import Finding, Severity\n"
        "from pipeline.outputs import returned\n"
        "from pipeline.run.workbooks import collecting_cycles\n"
        "form = load_form(load_settings().form_path)\n"
        f"data = next(Path({str(EXAMPLE)!r}).glob('*.xlsx')).read_bytes()\n"
        "found = Finding(Severity.WARNING, 'x.xlsx', '620102', '表一走访情况', 'D7', 'households_visited', 'r', 'm')\n"
        "books, real = [], returned.load_workbook\n"
        "def load(*a, **k):\n"
        "    book = real(*a, **k)\n"
        "    books.append(weakref.ref(book))\n"
        "    return book\n"
        "returned.load_workbook = load\n"
        "def make(n):\n"
        "    for _ in range(n):\n"
        "        returned.returned_workbook(form, data, (found,), '城关区', ())\n"
        "gc.disable()\n"
        "make(20)\n"
        "off = sum(b() is None for b in books)\n"
        "books.clear()\n"
        "with collecting_cycles():\n"
        "    on_inside = gc.isenabled()\n"
        "    make(40)\n"
        "print(off, sum(b() is None for b in books), on_inside, gc.isenabled(), gc.get_freeze_count())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    off, freed, on_inside, on_after, frozen = out.stdout.split()
    assert int(off) == 0  # the collector off: not one freed
    assert int(freed) >= 20 and on_inside == "True"  # on: most freed as they are made (the last ones may wait)
    assert on_after == "False" and frozen == "0"  # and off again, nothing left frozen


def test_help_and_templates_do_not_import_the_heavy_stack(tmp_path):
    code = (
        "import sys\n"
        "from pipeline import cli\n"
        f"cli.main(['templates', '--outbox', {str(tmp_path)!r}])\n"
        "heavy = sorted(m for m in ('pandas', 'pandera', 'docxtpl', 'matplotlib') if m in sys.modules)\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
    help_out = subprocess.run([sys.executable, "-c", "import sys\nfrom pipeline import cli\n"
                               "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
                               "print(sorted(m for m in ('pandas', 'pandera', 'openpyxl') if m in sys.modules))"],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert help_out.stdout.strip().splitlines()[-1] == "[]"


def test_openpyxl_is_loaded_while_the_checker_validates_only_when_a_new_file_has_a_problem(tmp_path, form, units):
    """A few new returns are validated by the checker while the run would only wait: when one of
    them has a problem its workbook will go back, and openpyxl (a tenth of a second) is loaded
    then, for the workbooks' process to inherit; a clean inbox never loads it in the run's process."""
    from tests.builders import neighbours_rows, write_return

    clean = tmp_path / "clean"
    clean.mkdir()
    write_return(clean, form, units.by_code("620102"))
    write_return(clean, form, units.by_code("620103"), rows=neighbours_rows())
    warned = tmp_path / "warned"
    warned.mkdir()
    write_return(warned, form, units.by_code("620102"))
    # no 填报日期: a warning, found as it is read
    write_return(warned, form, units.by_code("620103"), rows=neighbours_rows(), filed_on=None)

    def loaded(inbox) -> str:
        code = ("import sys\n"
                "from pipeline.spec.config import load_settings\n"
                "from pipeline.run.report import build_run\n"
                f"run = build_run(__import__('pathlib').Path({str(inbox)!r}), load_settings())\n"
                "print(len([k for k in run.files if k.startswith('returns/')]), 'openpyxl' in sys.modules)\n")
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip().splitlines()[-1]

    assert loaded(clean) == "0 False"
    assert loaded(warned) == "1 True"


def test_validation_findings_are_cached_with_the_read_and_follow_a_rename(tmp_path, settings, form, units, monkeypatch):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    rows = clean_rows()
    bad = [dict(r) for r in rows]
    bad[1]["villages_visited"] = bad[1]["villages_total"] + 5  # 走访村数 above 行政村总数: a pandera rule
    (inbox / "620102_城关区.xlsx").write_bytes(workbook_bytes(build_return(form, units.by_code("620102"), bad)))
    (inbox / "620103_七里河区.xlsx").write_bytes(workbook_bytes(build_return(form, units.by_code("620103"), rows)))
    cache = tmp_path / ".cache"
    first = build_run(inbox, settings, cache_dir=cache)
    broken = [(f.file, f.cell) for f in first.findings if f.rule == "visited-exceeds-total"]
    assert broken == [("620102_城关区.xlsx", "C6")]

    validated = []
    monkeypatch.setattr(run_module, "VALIDATE_APART_UP_TO", 0)  # validated in this process, to be watched
    real = run_module.validate
    monkeypatch.setattr(run_module, "validate",
                        lambda form, tables: validated.append([r.source.path for r in tables.returns]) or real(form, tables))
    again = build_run(inbox, settings, cache_dir=cache)
    assert validated == []  # nothing new: every finding came from the cache
    assert again.files["findings.csv"] == first.files["findings.csv"]
    assert again.roster.units == first.roster.units

    (inbox / "620102_城关区.xlsx").rename(inbox / "城关区(改).xlsx")
    (inbox / "620103_七里河区.xlsx").write_bytes(workbook_bytes(build_return(form, units.by_code("620103"), bad)))
    third = build_run(inbox, settings, cache_dir=cache)
    # The changed content, and the renamed file (its name may say whose it is), are validated again.
    assert validated == [["620103_七里河区.xlsx", "城关区(改).xlsx"]]
    assert sorted((f.file, f.cell) for f in third.findings if f.rule == "visited-exceeds-total") == [
        ("620103_七里河区.xlsx", "C6"), ("城关区(改).xlsx", "C6")]


def test_the_word_report_is_the_same_bytes_run_after_run(tmp_path, settings, form, units):
    """Its charts are made from the figures each run (no images kept): the same figures give
    the same document, other figures another."""
    inbox = tmp_path / "inbox"
    shutil.copytree(EXAMPLE, inbox)
    cache = tmp_path / ".cache"
    first = build_run(inbox, settings, cache_dir=cache)
    assert build_run(inbox, settings, cache_dir=cache).files["report.docx"] == first.files["report.docx"]
    (inbox / "620102_城关区.xlsx").write_bytes(workbook_bytes(build_return(form, units.by_code("620102"), clean_rows())))
    changed = build_run(inbox, settings, cache_dir=cache)
    assert changed.files["report.docx"] != first.files["report.docx"]
    assert not (cache / "charts").exists()


def test_without_fork_everything_runs_in_one_process_with_the_same_outputs(settings, monkeypatch):
    """Windows has no fork: readers, helpers and forked copies all fall back to running here."""
    import multiprocessing

    forked = build_run(EXAMPLE, settings)
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    monkeypatch.setattr(reading_module, "PARALLEL_FROM", 2)
    started = []
    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", lambda self: started.append(self))
    alone = build_run(EXAMPLE, settings)
    assert started == []
    for name in forked.files:
        assert alone.files[name] == forked.files[name], name


def test_a_helper_killed_mid_job_is_done_over_here():
    """The system may kill a helper (memory pressure): the run does the work itself."""
    import os
    import signal

    from pipeline.run.runner import Helper, in_background

    helper = Helper()
    helper.start(lambda: None)
    wait = helper.submit(_slow_away_from, os.getpid(), "drawn")
    os.kill(helper._process.pid, signal.SIGKILL)
    started = time.monotonic()
    assert wait() == "drawn"
    assert time.monotonic() - started < 10  # done here, not waited on
    helper.close()

    import multiprocessing

    before = set(multiprocessing.active_children())
    wait = in_background(_slow_away_from, os.getpid(), "written")
    [copy] = set(multiprocessing.active_children()) - before
    os.kill(copy.pid, signal.SIGKILL)
    started = time.monotonic()
    assert wait() == "written"
    assert time.monotonic() - started < 10


def _slow_away_from(parent: int, value: str) -> str:
    """Takes a minute in a child process, no time in the parent."""
    import os

    if os.getpid() != parent:
        time.sleep(60)
    return value


def test_township_blocks_kept_from_a_run_are_used_and_the_rest_made(settings):
    from pipeline.outputs.report import dates, report_settings
    from pipeline.outputs.workbook import consolidated_xlsx, township_blocks

    run = build_run(EXAMPLE, settings)
    form, totals, roster = run.form, run.totals, run.roster
    made = township_blocks(form, totals, roster)
    assert [len(b) for b in made.values()] == [len(roster.with_status("included"))] * len(form.sheets)
    everything = {key: block for blocks in made.values() for key, block in blocks.items()}
    some = dict(list(everything.items())[::2])
    assert township_blocks(form, totals, roster, some) == made  # half kept, half made: the same blocks
    key, other = list(some)[:2]
    marked = some | {key: some[other]}
    again = township_blocks(form, totals, roster, marked)
    assert again[key[0]][key] is some[other]  # a kept block is used as it is: its key says all it depends on
    letters = {(r.source.path, k): s.columns for r in run.results if r.ret for k, s in r.ret.sheets.items()}
    made = township_blocks(form, totals, roster, letters=letters)
    about = {"cutoff": dates(report_settings(settings), roster)[0], "round": ""}
    assert consolidated_xlsx(form, totals, roster, list(run.findings), made, about=about) == run.files["consolidated.xlsx"]


def test_a_county_rows_key_is_the_same_from_run_to_run_though_its_rates_are_nan(tmp_path, settings, form, units):
    """A rate with nothing to divide (no problems found: 0 of 0) is missing (pandas' NA, or NaN),
    equal to nothing, not even itself, and a county that sent nothing has no figures at all: their
    rows' keys, made from their values, must still be the same in the next run, or every such row
    would be made again each time."""
    import math

    import pandas as pd

    from pipeline.outputs.workbook import county_keys
    from tests.builders import clean_rows, write_return

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(EXAMPLE / f"620102_{units.by_code('620102').name}.xlsx", inbox)
    rows = [dict(r, precision_found=0, precision_fixed=0) for r in clean_rows()]
    write_return(inbox, form, units.by_code("620103"), rows=rows)
    first, second = build_run(inbox, settings), build_run(inbox, settings)
    records = dict(first.totals.county_records)
    rate = records["620103"]["precision_rate"]
    assert (rate is pd.NA or math.isnan(rate)) and records["620104"]["status"] == "missing"
    assert county_keys(first.form, first.totals, None, None) == county_keys(second.form, second.totals, None, None)


def test_county_rows_kept_from_a_run_are_used_and_only_a_changed_countys_row_is_made_again(tmp_path, settings,
                                                                                          monkeypatch):
    """县（市、区）'s rows are blocks too: a re-run after one county resends makes that county's
    row alone, and the workbook is the one a fresh run makes; figure columns are as wide as
    their figures, not as a formula's text."""
    import io

    from openpyxl import load_workbook

    from pipeline.outputs import workbook
    from pipeline.outputs.workbook import COUNTY_SHEET, county_blocks
    inbox = tmp_path / "inbox"
    shutil.copytree(EXAMPLE, inbox)
    cache = tmp_path / ".cache"
    first = build_run(inbox, settings, cache_dir=cache)
    kept = county_blocks(first.form, first.totals)
    assert len(kept) == len(first.totals.county_records)
    assert county_blocks(first.form, first.totals, kept=dict(list(kept.items())[::2])) == kept

    # 七里河区 corrects one township's figure (and its 合计): its rows stay where they were
    path = inbox / "620103_七里河区.xlsx"
    book = load_workbook(path)
    sheet = book.worksheets[0]
    column = next(c.column_letter for row in sheet.iter_rows(max_row=6) for c in row if c.value == "农户总数")
    rows = [r for r in range(1, sheet.max_row + 1) if isinstance(sheet[f"{column}{r}"].value, int)]
    for r in (rows[0], rows[-1]):  # the first township and 合计
        sheet[f"{column}{r}"] = sheet[f"{column}{r}"].value + 1
    book.save(path)
    again = build_run(inbox, settings, cache_dir=cache)  # the workbooks' process keeps and uses the blocks
    fresh = build_run(inbox, settings)
    assert again.files["consolidated.xlsx"] == fresh.files["consolidated.xlsx"]

    remade = []
    real = workbook.county_rows
    monkeypatch.setattr(workbook, "county_rows", lambda *a: remade.extend(a[4]) or real(*a))
    assert county_blocks(fresh.form, fresh.totals, kept=kept) == county_blocks(fresh.form, fresh.totals)
    codes = [code for code, _ in fresh.totals.county_records]
    assert [codes[i] for i in remade[:1]] == ["620103"] and len(remade) == 1 + len(codes)  # then all, fresh

    sheet = load_workbook(io.BytesIO(fresh.files["consolidated.xlsx"]))[COUNTY_SHEET]
    assert all(sheet.column_dimensions[letter].width < 20 for letter in "EFGH")


def test_township_blocks_made_before_the_returns_are_chosen_are_those_made_after(tmp_path, settings, monkeypatch):
    """A first run over many returns has a copy of the process make every fresh return's township
    blocks while the returns are validated and chosen: those of the returns that stand are the
    blocks made from the totals, the workbooks' process makes none itself (and half the county
    rows, a copy of it the rest), and consolidated.xlsx is the same bytes."""
    import json
    import os

    from pipeline.outputs import workbook
    from pipeline.outputs.workbook import return_blocks, township_blocks
    from pipeline.run import report as report_module
    from pipeline.run import workbooks as workbooks_module
    from pipeline.stages.consolidate import township_rows
    from pipeline.stages.tabulate import tabulate

    run = build_run(EXAMPLE, settings)
    form, totals, roster = run.form, run.totals, run.roster
    letters = {(r.source.path, k): s.columns for r in run.results if r.ret for k, s in r.ret.sheets.items()}
    tables = tabulate(form, [r.ret for r in run.results if r.ret])
    names = {code: c["name"] for code, c in totals.county_records}
    digests = {r.source.path: r.source.sha256 for r in run.results}
    early = return_blocks(form, township_rows(tables, list(range(len(tables.returns)))), names, digests, letters)
    whole = township_blocks(form, totals, roster, letters=letters)
    for blocks in whole.values():
        assert all(early[key] == block for key, block in blocks.items())
    monkeypatch.setattr(workbook, "_township_made", lambda spec, t, spans, *a: [] if not spans else 1 / 0)
    assert township_blocks(form, totals, roster, letters=letters, made=early) == whole  # none made again
    monkeypatch.undo()
    counties = workbook.county_blocks(form, totals)
    kept = dict(list(counties.items())[::3])
    halves = [workbook.county_share(form, totals, None, None, kept, (k, 2)) for k in (0, 1)]
    assert not halves[0].keys() & halves[1].keys() and abs(len(halves[0]) - len(halves[1])) <= 1
    assert halves[0] | halves[1] == {key: block for key, block in counties.items() if key not in kept}
    keys = workbook.county_keys(form, totals, None, None)  # worked out once, given to each
    assert [workbook.county_share(form, totals, None, None, kept, (k, 2), keys) for k in (0, 1)] == halves
    assert workbook.county_blocks(form, totals, None, None, kept | halves[0] | halves[1], keys) == counties

    calls = tmp_path / "calls"
    real_made, real_early = workbook._township_made, workbooks_module.return_blocks

    def noted(name, real):
        def call(*args):
            if name == "early" or args[2]:
                with open(calls, "a") as f:
                    f.write(json.dumps([os.getpid(), name]) + "\n")
            return real(*args)
        return call

    def shared(*args):
        with open(calls, "a") as f:
            f.write(json.dumps([os.getpid(), list(args[5])]) + "\n")  # the share
        return real_share(*args)

    real_share = workbooks_module.county_share
    monkeypatch.setattr(workbook, "_township_made", noted("made", real_made))
    monkeypatch.setattr(workbooks_module, "return_blocks", noted("early", real_early))
    monkeypatch.setattr(workbooks_module, "county_share", shared)
    monkeypatch.setattr(report_module, "BLOCKS_APART_FROM", 1)
    apart = build_run(EXAMPLE, settings)
    noted_calls = [json.loads(line) for line in calls.read_text().splitlines()]
    [early_pid] = [pid for pid, name in noted_calls if name == "early"]
    made_at = {pid for pid, name in noted_calls if name in ("early", "made")}
    assert early_pid != os.getpid() and made_at == {early_pid}  # no township block made elsewhere
    # the county rows in two shares, by two processes
    shares = {pid: share for pid, share in noted_calls if isinstance(share, list)}
    assert sorted(shares.values()) == [[0, 2], [1, 2]] and os.getpid() not in shares
    assert apart.files["consolidated.xlsx"] == run.files["consolidated.xlsx"]


@pytest.mark.parametrize("fork", [True, False], ids=["forked", "one process"])
def test_township_blocks_that_fail_to_be_made_early_are_made_from_the_totals(settings, monkeypatch, fork):
    """The early blocks are a head start only: when making them fails (with a return among them
    that will not stand, say), the workbooks' process makes the blocks of the returns that stand,
    and consolidated.xlsx is the same bytes."""
    import multiprocessing

    from pipeline.run import report as report_module
    from pipeline.run import workbooks as workbooks_module

    expected = build_run(EXAMPLE, settings).files["consolidated.xlsx"]
    monkeypatch.setattr(report_module, "BLOCKS_APART_FROM", 1)
    monkeypatch.setattr(workbooks_module, "return_blocks", lambda *a: 1 / 0)
    if not fork:
        monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    assert build_run(EXAMPLE, settings).files["consolidated.xlsx"] == expected


def test_a_copy_asked_for_by_a_later_copy_is_waited_for_there_and_done_there_when_lost(tmp_path):
    """The workbooks' process waits for the blocks its sibling makes: when the sibling is
    killed, the work is done where it was asked for."""
    import multiprocessing
    import os
    import signal

    from pipeline.run.processes import in_background

    flag = str(tmp_path / "first")
    before = set(multiprocessing.active_children())  # another test's copies, not yet reaped, may be there
    wait = in_background(_slow_the_first_time, flag, "made")
    [copy] = set(multiprocessing.active_children()) - before
    asked = in_background(lambda: (wait(), os.getpid()))
    while not os.path.exists(flag):
        time.sleep(0.01)
    time.sleep(1.2)  # the asker has looked for the copy, which is not its child, more than once
    os.kill(copy.pid, signal.SIGKILL)
    started = time.monotonic()
    value, where = asked()
    assert value == "made" and where != os.getpid()
    assert time.monotonic() - started < 10
    assert in_background(lambda: wait())() == "made"  # asked again, the copy long gone: done there too


def _slow_the_first_time(flag: str, value: str) -> str:
    """A minute the first time (in the copy), at once after (where it is done instead)."""
    import os

    try:
        os.close(os.open(flag, os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return value
    time.sleep(60)
    return value


def test_a_damaged_or_stale_xlsx_block_cache_changes_nothing(tmp_path, settings, monkeypatch):
    from pipeline.store.cache import BlockCache, _WholeAndAdded

    inbox = tmp_path / "inbox"
    shutil.copytree(EXAMPLE, inbox)
    cache = tmp_path / ".cache"
    first = build_run(inbox, settings, cache_dir=cache)
    [kept] = cache.glob("xlsx-v*.pickle")  # the whole (no added file yet)
    blocks = pickle.loads(kept.read_bytes())["blocks"]
    for damaged in (b"not a pickle", pickle.dumps({"blocks": {key: b"<row>" for key in blocks}})):
        kept.write_bytes(damaged)
        assert build_run(inbox, settings, cache_dir=cache).files["consolidated.xlsx"] == first.files["consolidated.xlsx"]
    assert BlockCache(cache, "x").load() == {}  # another form's key: nothing
    # A return gone: its blocks are not used, whether they stay in the whole for now (the last
    # county's: a few rows against the whole) or the whole is written again without them.
    last = sorted(inbox.glob("*.xlsx"))[-1]
    last.unlink()
    fewer = build_run(inbox, settings, cache_dir=cache)
    assert fewer.files["consolidated.xlsx"] == build_run(inbox, settings).files["consolidated.xlsx"]
    monkeypatch.setattr(_WholeAndAdded, "REWRITE_PAST", 10**6)  # any change past the share: written whole
    (inbox / "620102_城关区.xlsx").unlink()
    fewer = build_run(inbox, settings, cache_dir=cache)
    assert fewer.files["consolidated.xlsx"] == build_run(inbox, settings).files["consolidated.xlsx"]
    [kept] = cache.glob("xlsx-*.pickle")  # the whole alone, the added file gone into it
    stored = pickle.loads(kept.read_bytes())["blocks"]
    assert not any(key[1] in ("620102", last.name[:6]) for key in stored)  # stale blocks dropped


def test_known_hashes_are_believed_only_for_files_unchanged_since_well_before_hashing(tmp_path, monkeypatch):
    import os

    from pipeline.store import cache as cache_module
    from pipeline.store import inbox as discover_module
    from pipeline.store.cache import Hashes
    from pipeline.store.inbox import discover

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    a, b = inbox / "620102_城关区.xlsx", inbox / "sub" / "620103_七里河区.xlsx"
    b.parent.mkdir()
    a.write_bytes((EXAMPLE / "620102_城关区.xlsx").read_bytes())
    b.write_bytes((EXAMPLE / "620103_七里河区.xlsx").read_bytes())
    store = tmp_path / "hashes.pickle"
    hashed, named = [], {}  # the files hashed; each descriptor's file, as opened
    real_open, real_hashed = discover_module._open_regular, discover_module._hashed

    def opened(path):
        fd, stat = real_open(path)
        named[fd] = os.path.basename(path)
        return fd, stat

    monkeypatch.setattr(discover_module, "_open_regular", opened)
    monkeypatch.setattr(discover_module, "_hashed", lambda fd, *a: hashed.append(named[fd]) or real_hashed(fd, *a))

    plain = discover(inbox)
    hashes = Hashes(store)
    assert discover(inbox, hashes) == plain
    hashes.save()
    hashed.clear()
    assert discover(inbox, Hashes(store)) == plain
    assert sorted(hashed) == sorted([a.name, b.name])  # just written: racy, so hashed again

    later = time_ns = __import__("time").time_ns() + 10 * 10**9  # as if hashed well after the files changed
    monkeypatch.setattr(cache_module.time, "time_ns", lambda: later)
    hashes = Hashes(store)
    discover(inbox, hashes)
    hashes.save()
    hashed.clear()
    assert discover(inbox, Hashes(store)) == plain
    assert hashed == []  # nothing changed: nothing hashed

    # The same size and the same modification time, other content (a copy that kept its time):
    # the change time still tells.
    stat = a.stat()
    content = bytearray(a.read_bytes())
    content[-30] ^= 1
    a.write_bytes(bytes(content))
    os.utime(a, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert a.stat().st_size == stat.st_size and a.stat().st_mtime_ns == stat.st_mtime_ns
    monkeypatch.setattr(cache_module.time, "time_ns", lambda: time_ns + 20 * 10**9)
    now = discover(inbox, Hashes(store))
    assert hashed == [a.name]
    assert now[0].sha256 == discover(inbox)[0].sha256 != plain[0].sha256

    store.write_bytes(b"damaged")
    assert discover(inbox, Hashes(store)) == discover(inbox)


def test_returned_workbooks_made_before_are_sent_again_and_only_changed_ones_made(tmp_path, settings, form, units,
                                                                                    monkeypatch):
    import zipfile
    from dataclasses import replace

    from pipeline.run import workbooks as run_workbooks
    from pipeline.run.runner import Guard
    from pipeline.store.cache import ReturnedCache
    from pipeline.store.inbox import take_view
    from tests.builders import example_with_errors

    inbox = example_with_errors(tmp_path / "inbox", form, units)
    run = build_run(inbox, settings, cache_dir=tmp_path / "run-cache")
    roster, findings = run.roster, list(run.findings)
    view = take_view(inbox)
    folder = tmp_path / ".cache"

    def returned_workbooks(findings, cache):
        made, faults = run_workbooks.returned_workbooks(form, roster, findings, {}, view, cache, Guard(form))
        assert faults == []
        return made

    cache = ReturnedCache(folder)
    first = returned_workbooks(findings, cache)
    cache.save()
    assert len(first) >= 2 and set(first) == {k for k in run.files if k.startswith("returns/")}
    again_run = build_run(inbox, settings, cache_dir=tmp_path / "run-cache")  # the run's own cache at work
    assert {k for k in again_run.files if k.startswith("returns/")} == set(first)

    made = []
    from pipeline.outputs import returned

    real = returned.returned_workbook
    monkeypatch.setattr(returned, "returned_workbook", lambda *a, **k: made.append(a[3]) or real(*a, **k))
    assert returned_workbooks(findings, ReturnedCache(folder)) == first
    assert made == []  # every one taken as it was made

    # One county's finding says something else now: its workbook alone is made again.
    target = next(f for f in findings if f.severity.value == "error")
    changed = [replace(f, message=f.message + "（改）") if f == target else f for f in findings]
    again = returned_workbooks(changed, ReturnedCache(folder))
    unit = next(u for u in roster.units if u.source and u.source.path == target.file)
    assert made == [unit.name]
    name = f"returns/{unit.code}_{unit.name}.xlsx"
    assert again.keys() == first.keys() and again[name] != first[name]
    assert all(again[k] == first[k] for k in first if k != name)

    def content(data: bytes) -> dict[str, bytes]:  # docProps carry the time it was made
        with zipfile.ZipFile(__import__("io").BytesIO(data)) as z:
            return {n: z.read(n) for n in z.namelist() if not n.startswith("docProps/")}

    # A damaged cache only means every workbook is made again, the same.
    [kept] = folder.glob("returned-*.pickle")
    kept.write_bytes(b"not a pickle")
    made.clear()
    remade = returned_workbooks(findings, ReturnedCache(folder))
    assert sorted(made) == sorted(u.name for u in roster.units if f"returns/{u.code}_{u.name}.xlsx" in first)
    assert {k: content(v) for k, v in remade.items()} == {k: content(v) for k, v in first.items()}


def test_a_returned_workbook_whose_file_changed_after_the_listing_lists_its_findings_and_is_not_kept(
        tmp_path, settings, form, units):
    """The run takes the bytes of a file the cache has read only when a workbook goes back: a
    file replaced since the run listed it is not marked up as if it were the one read (its
    findings are the old file's); its findings alone go back, and nothing is kept for it."""
    from openpyxl import load_workbook

    from pipeline.run import workbooks as run_workbooks
    from pipeline.run.runner import Guard
    from pipeline.store.cache import ReturnedCache
    from pipeline.store.inbox import Contents, InboxView, take_view
    from tests.builders import example_with_errors

    inbox = example_with_errors(tmp_path / "inbox", form, units)
    run = build_run(inbox, settings)
    listed = take_view(inbox)
    view = InboxView(inbox, listed.sources, Contents({}, inbox, listed.sources))  # bytes taken when asked
    changed = next(u for u in run.roster.units if u.code == "620103").source.path
    (inbox / changed).write_bytes((EXAMPLE / "620111_红古区.xlsx").read_bytes())

    cache = ReturnedCache(tmp_path / ".cache")
    made, faults = run_workbooks.returned_workbooks(form, run.roster, list(run.findings), {}, view, cache, Guard(form))
    assert faults == []
    sheets = {name: load_workbook(__import__("io").BytesIO(book)).sheetnames for name, book in made.items()}
    [mine] = [name for name in sheets if "620103" in name]
    [other] = [name for name in sheets if "620104" in name]
    assert len(sheets[mine]) == 1  # the findings alone
    assert len(sheets[other]) > 1  # its own sheets, marked, after the findings
    assert sorted(cache.used.values()) == [made[other]]


def test_returned_workbooks_made_in_two_processes_are_those_made_in_one_and_each_fault_is_its_countys(
        tmp_path, settings, form, units, monkeypatch):
    """Six workbooks to make: a copy of the process makes half. The workbooks, the cache's
    entries and the faults are what one process gives; a fault on either side costs its
    county alone, under a reference number of its own."""
    import io
    import json
    import os
    import zipfile

    from pipeline.outputs import returned
    from pipeline.run import workbooks as run_workbooks
    from pipeline.run.runner import Guard
    from pipeline.store.cache import ReturnedCache
    from pipeline.store.inbox import take_view
    from tests.builders import example_with_errors

    codes = ("620102", "620103", "620104", "620105", "620111", "620121")
    inbox = example_with_errors(tmp_path / "inbox", form, units, codes)
    run = build_run(inbox, settings)
    roster, findings, view = run.roster, list(run.findings), take_view(inbox)

    def content(data: bytes) -> dict[str, bytes]:  # docProps carry the time it was made
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return {n: z.read(n) for n in z.namelist() if not n.startswith("docProps/")}

    monkeypatch.setattr(run_workbooks, "RETURNED_APART_FROM", 10**6)
    alone_cache = ReturnedCache(None)
    alone, no_faults = run_workbooks.returned_workbooks(form, roster, findings, {}, view, alone_cache, Guard(form))
    assert len(alone) == len(codes) and no_faults == []

    makers = tmp_path / "makers"
    real = returned.returned_workbook

    def noted(form, data, own, unit_name, *rest):
        with open(makers, "a") as f:
            f.write(json.dumps([os.getpid(), unit_name]) + "\n")
        if unit_name in ("城关区", "红古区"):  # one in each half
            raise RuntimeError("marking failed")
        return real(form, data, own, unit_name, *rest)

    monkeypatch.setattr(run_workbooks, "RETURNED_APART_FROM", 4)
    monkeypatch.setattr(returned, "returned_workbook", noted)
    cache, guard = ReturnedCache(None), Guard(form, "S")
    apart, faults = run_workbooks.returned_workbooks(form, roster, findings, {}, view, cache, guard)
    calls = [json.loads(line) for line in makers.read_text().splitlines()]
    assert len({pid for pid, _ in calls}) == 2 and len(calls) == len(codes)
    assert sorted(f.county_code for f in faults) == ["620102", "620111"]
    assert all(f.rule == "internal-error" for f in faults)
    assert len({i.reference for i in guard.incidents}) == 2 and {i.county for i in guard.incidents} == {"620102", "620111"}
    assert apart.keys() == alone.keys()
    for name in apart:
        if "620102" in name or "620111" in name:
            assert len(returned_sheets(apart[name])) == 1  # plain: the findings alone
        else:
            assert content(apart[name]) == content(alone[name])
    assert sorted(cache.used.values()) == sorted(apart[n] for n in apart if "620102" not in n and "620111" not in n)


def returned_sheets(data: bytes) -> list[str]:
    from openpyxl import load_workbook

    return load_workbook(__import__("io").BytesIO(data)).sheetnames


def test_compiled_templates_are_kept_per_kind_and_a_damaged_one_only_costs_compiling(tmp_path, settings, monkeypatch):
    """A run keeps the templates as compiled in the project's .cache/templates/ (a fresh outbox
    need not compile them again), apart for escaped (HTML) and plain text, since the same
    template compiles differently for each; the next process loads them; what comes out is the
    same, and a damaged file is compiled again."""
    from pipeline.outputs import templates as render
    from pipeline.run import report as run_report

    project = tmp_path / "project-cache"
    monkeypatch.setattr(run_report, "CACHE", project)
    monkeypatch.setattr(render, "_ENVS", {})  # as a fresh process
    first = build_run(EXAMPLE, settings, cache_dir=tmp_path / "outbox-cache")
    kept = sorted(p.name for p in (project / "templates").glob("*/*.jinja"))
    kinds = {name.split("-", 1)[0] for name in kept}
    assert kinds == {"html", "text"} and len(kept) >= 4  # report, validation, the narrative twice
    compiled = []
    real = render.jinja2.Environment.compile
    monkeypatch.setattr(render.jinja2.Environment, "compile",
                        lambda self, *a, **k: compiled.append(a[1] if len(a) > 1 else k.get("name")) or real(self, *a, **k))
    monkeypatch.setattr(render, "_ENVS", {})
    again = build_run(EXAMPLE, settings, cache_dir=tmp_path / "another-outbox-cache")
    assert not [n for n in compiled if n]  # every named template loaded as compiled before
    for name in ("report.html", "validation.html", "totals.csv"):
        assert again.files[name] == first.files[name], name
    for path in (project / "templates").glob("*/*.jinja"):
        path.write_bytes(path.read_bytes()[:40] + b"\x00damaged")
    monkeypatch.setattr(render, "_ENVS", {})
    compiled.clear()
    damaged = build_run(EXAMPLE, settings, cache_dir=tmp_path / "outbox-cache")
    assert len([n for n in compiled if n]) >= 4
    assert damaged.files["report.html"] == first.files["report.html"]
    # Another version of this code (or of Jinja) compiles afresh, into a folder of its own;
    # the old one goes.
    [old] = (project / "templates").iterdir()

    monkeypatch.setattr(run_report, "template_fingerprint", lambda: "another")
    monkeypatch.setattr(render, "_ENVS", {})
    compiled.clear()
    build_run(EXAMPLE, settings, cache_dir=tmp_path / "outbox-cache")
    assert len([n for n in compiled if n]) >= 4
    assert [p.name for p in (project / "templates").iterdir()] == ["another"] and not old.exists()


def test_the_word_templates_parts_are_kept_compiled_too(tmp_path, settings, monkeypatch):
    """docxtpl compiles the Word template's parts from strings: with a place lent, they are kept
    and loaded as the named templates are, and the document is the same bytes."""
    from pipeline.outputs import templates as render
    from pipeline.outputs.word import for_word, render_docx
    from pipeline.store.cache import compiled_templates

    report = for_word(build_run(EXAMPLE, settings).report)
    monkeypatch.setattr(render, "_ENVS", {})
    plain = render_docx(report)
    compiled = []
    real = render.jinja2.Environment.compile
    monkeypatch.setattr(render.jinja2.Environment, "compile", lambda self, *a, **k: compiled.append(1) or real(self, *a, **k))
    try:
        render.keep_compiled_templates(compiled_templates(tmp_path / "templates", "f"))
        first = render_docx(report)
        made = len(compiled)
        assert made >= 5 and len(list((tmp_path / "templates" / "f").glob("html-*.jinja"))) >= 5
        monkeypatch.setattr(render, "_ENVS", {})  # as the next process
        again = render_docx(report)
    finally:
        render.keep_compiled_templates(None)
    assert len(compiled) == made  # nothing compiled the second time
    assert plain == first == again


def test_the_read_stage_ends_when_the_last_file_is_read_not_when_its_results_are_taken(settings):
    """A reader reads while this process loads the program (half a second): the read stage
    is the reading's own time, not the loading's. Here the results are taken five seconds
    after the reading started; the 87 returns take a fraction of that."""
    from pipeline.run.intake import take_in

    intake = take_in(EXAMPLE, settings)
    assert intake.reading.apart
    time.sleep(5)
    run = build_run(intake, settings)
    assert 0 < run.timings["read"] < 4
    assert run.timings["read"] == pytest.approx(intake.reading.ended - intake.read_started)
