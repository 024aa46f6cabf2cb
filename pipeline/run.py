"""The stages in order: discover → read → validate → resolve → consolidate → render.

`build_run` returns every output as bytes; the CLI hands them to `write`.
"""

from __future__ import annotations

import gc
import hashlib
import os
import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from pathlib import Path

from .cache import BlockCache, Hashes, ReadCache, ReturnedCache, code_fingerprint
from .charts import chart_data
from .compare import Comparison, compare
from .config import Settings
from .consolidate import Totals, consolidate
from .discover import discover
from .form import Form, load_form
from .model import Finding, ReadResult, Roster, Severity, Source
from .processes import Helper, die_with_parent, in_background
from .read import STAGE_FILES, load_bytes, page_explanations, read_sources
from .render import (
    Report,
    ReportSettings,
    build_report,
    consolidated_xlsx,
    csv_bytes,
    findings_csv,
    for_word,
    keep_compiled_templates,
    prepare_docx,
    render_docx,
    render_html,
    render_validation,
    roster_csv,
    totals_csv,
    township_blocks,
)
from .resolve import resolve
from .rounds import Previous, SnapshotProblem, load_snapshot, same_form, snapshot_bytes, snapshot_path, widened
from .tabulate import Tables, tabulate
from .units import UnitList, load_units
from .validate import prepare_validation, validate
from .workbook import Unreadable


@dataclass(frozen=True)
class Run:
    form: Form
    sources: tuple[Source, ...]
    results: tuple[ReadResult, ...]
    findings: tuple[Finding, ...]
    roster: Roster
    totals: Totals
    report: Report
    files: dict[str, bytes]
    timings: dict[str, float] = field(default_factory=dict)
    comparison: Comparison | None = None
    round_note: str = ""  # why this round was not compared, when it has a previous round it cannot use


@dataclass(frozen=True)
class RoundPlan:
    """This run's round, as the command line found it in the outbox: its name, its snapshot's
    time and folder, and the previous round read back (or why there is none to use)."""

    name: str
    made: datetime
    stamp: str
    previous: Previous | Path | None = None  # a snapshot file is read while the returns are
    problem: str = ""  # the previous round exists but cannot be used: said in the report


def file_findings(form: Form, sources: list[Source]) -> list[Finding]:
    """Files that are not workbooks are listed, never read; a broken 'workbook' is an error."""
    out = []
    for s in sources:
        if s.kind == "skip":
            out.append(Finding(Severity.INFO, s.path, "", "", "", "", "skipped", form.message("skipped")))
        elif s.kind == "broken":
            out.append(Finding(Severity.ERROR, s.path, "", "", "", "", "unreadable",
                               form.message("unreadable", detail="不是有效的Excel文件")))
        elif s.kind == "archive":
            out.append(Finding(Severity.ERROR, s.path, "", "", "", "", "archive-unsupported",
                               form.message("archive-unsupported")))
        elif s.kind == "output":
            out.append(Finding(Severity.WARNING, s.path, "", "", "", "", "old-outputs", form.message("old-outputs")))
    return out


def build_run(
    inbox: Path,
    settings: Settings,
    *,
    example: bool = False,
    progress: Callable[[int, int], None] | None = None,
    form: Form | None = None,
    units: UnitList | None = None,
    cache_dir: Path | None = None,
    round_plan: RoundPlan | None = None,
) -> Run:
    # A run makes hundreds of thousands of small objects and no reference cycles worth
    # collecting; the cyclic collector would otherwise rescan them over and over (it more
    # than quintupled the time to take results back from the worker processes).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    word, checker = Helper(), Helper()
    try:
        return _build_run(inbox, settings, example, progress, form, units, cache_dir, word, checker, round_plan)
    finally:
        word.close()
        checker.close()
        keep_compiled_templates(None)  # this outbox's cache is this run's, under its lock
        if gc_was_enabled:
            gc.enable()


def _build_run(inbox, settings, example, progress, form, units, cache_dir, word: Helper, checker: Helper,
               plan: RoundPlan | None = None) -> Run:
    timings: dict[str, float] = {}
    t = time.perf_counter()
    # The previous round's snapshot is read by a copy of this process while this one reads the
    # returns: a quarter of a second at 3,000 returns, off the way.
    previous = in_background(_previous_round, plan.previous) if plan and isinstance(plan.previous, Path) else None
    form = form or load_form(settings.form_path)
    units = units or load_units(form.units_file)
    keep_compiled_templates(cache_dir / "templates" if cache_dir else None)
    hashes = Hashes(cache_dir / "hashes.pickle" if cache_dir else None)
    sources = discover(inbox, hashes)
    timings["discover"] = time.perf_counter() - t

    t = time.perf_counter()
    findings = file_findings(form, sources)
    readable = [s for s in sources if s.kind in ("xlsx", "xls")]
    secrets = hashlib.sha256("\0".join(settings.passwords).encode()).hexdigest()[:8]
    cache_key = f"{form.fingerprint}-{units.fingerprint}-{secrets}-{code_fingerprint()}"
    cache = ReadCache(cache_dir, cache_key)
    # The helpers import what they need on the core this process leaves free: the checker
    # (pandera) first when a few returns are new, since this process waits for its findings
    # before it can total; the Word helper (docxtpl) now when nothing is to be checked, after
    # the checker's findings when something is, and after the reader processes when many files
    # are read. Two importing at once beside this process took half as long again each.
    to_read = sum(1 for s in readable if not cache.has(s))
    if 0 < to_read <= VALIDATE_APART_UP_TO:
        checker.start(prepare_validation)
    start_word = partial(word.start, prepare_docx)
    if not checker.started and to_read < PARALLEL_FROM:
        start_word()
    results = read_all(readable, form, units, settings.passwords, cache, progress)
    if to_read >= PARALLEL_FROM and not checker.started:
        start_word()
    # Broken files are kept as results with no return, so the roster can count them.
    results += [ReadResult(s, None, ()) for s in sources if s.kind in ("broken", "archive")]
    for r in results:
        findings += r.findings
    timings["read"] = time.perf_counter() - t

    t = time.perf_counter()
    with_return = [r for r in results if r.ret is not None]
    checks = start_validation(form, with_return, cache, checker)
    tables = tabulate(form, [r.ret for r in with_return])
    findings += checks(tables)
    if not word.started:
        start_word()
    roster, findings = resolve(form, units, results, findings)
    timings["validate"] = time.perf_counter() - t

    t = time.perf_counter()
    totals = consolidate(form, units, roster, tables)
    timings["consolidate"] = time.perf_counter() - t

    # This round's snapshot is made by a copy of this process while this one compares: it
    # needs only the totals and who was included, and a core is free until the report starts.
    snapshot = in_background(snapshot_bytes, form, plan.name, plan.made, totals, roster) if plan else None

    t = time.perf_counter()
    comparison, round_note = None, plan.problem if plan else ""
    earlier = plan.previous if plan else None
    if previous is not None:
        earlier, problem = previous()
        earlier = widened(earlier) if earlier is not None else None
        round_note = round_note or problem
    if earlier is not None:
        round_note = same_form(form, earlier)
        if not round_note:
            used = {u.source.path: u.code for u in roster.units if u.status == "included" and u.source}
            standing = {used[r.source.path]: r.ret for r in with_return if r.source.path in used}
            comparison = compare(form, totals, roster, standing, earlier, plan.name)
            findings += comparison.findings
            roster = _with_counts(roster, comparison.findings)
    timings["compare"] = time.perf_counter() - t

    t = time.perf_counter()
    charts = chart_data(form, totals)
    timings["consolidate"] += time.perf_counter() - t

    t = time.perf_counter()
    findings = sorted(findings, key=lambda f: f.sort_key)
    # The two slowest outputs are made by other processes while this one makes the rest;
    # the workbooks need no report, so they start first.
    sheet_names = {r.source.path: tuple(s.name for s in r.ret.sheets.values()) for r in with_return}
    explained = {(r.source.path, s.name): s.explanation for r in with_return for s in r.ret.sheets.values()
                 if s.explanation}
    explained |= {(path, ""): words for path, words in page_explanations(inbox).items()}
    workbooks = in_background(_workbooks, form, totals, roster, findings, BlockCache(cache_dir, cache_key), comparison,
                              sheet_names, explained)
    report = build_report(
        form, units, totals, roster, findings,
        ReportSettings(settings.title, settings.cutoff, settings.office, settings.date, settings.twice_threshold,
                       settings.word_annex_limit, settings.lowest_count, settings.burden_ratio),
        example=example, charts=charts, comparison=comparison, round_note=round_note,
    )
    docx = word.submit(render_docx, for_word(report))
    files = {
        "report.html": render_html(report).encode("utf-8"),
        "totals.csv": totals_csv(form, totals, comparison),
        "findings.csv": findings_csv(findings),
        "roster.csv": roster_csv(roster, comparison),
        "validation.html": render_validation(roster, findings, comparison, explained).encode("utf-8"),
        "manifest.csv": manifest_csv(sources, roster, findings),
    }
    if snapshot is not None:
        files[snapshot_path(plan.name, plan.stamp)] = snapshot()
    # The caches are written while the helpers finish the Word report and the workbooks:
    # 10 MB at 3,000 returns, off the way of everything else.
    hashes.save()
    cache.save({s.sha256 for s in readable})
    files["report.docx"] = docx()
    files |= workbooks()
    timings["render"] = time.perf_counter() - t
    return Run(form, tuple(sources), tuple(results), tuple(findings), roster, totals, report, files, timings,
               comparison, round_note)


def _previous_round(path: Path) -> tuple[Previous | None, str]:
    """The snapshot read back, or why it cannot be used."""
    try:
        return load_snapshot(path, compact=True), ""  # sent back compact, widened on arrival
    except SnapshotProblem as e:
        return None, str(e)


def _with_counts(roster: Roster, extra: tuple[Finding, ...]) -> Roster:
    """The roster's warning counts with the cross-period warnings added: such a county gets
    its workbook back, marked, to confirm or explain the figures."""
    warned: dict[str, int] = {}
    for f in extra:
        if f.severity == Severity.WARNING:
            warned[f.file] = warned.get(f.file, 0) + 1
    if not warned:
        return roster
    return replace(roster, units=tuple(
        replace(u, warnings=u.warnings + warned[u.source.path]) if u.source and u.source.path in warned else u
        for u in roster.units))


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


def _workbooks(form: Form, totals: Totals, roster: Roster, findings: list[Finding],
               cache: BlockCache, comparison: Comparison | None = None,
               sheet_names: dict[str, tuple[str, ...]] | None = None,
               explained: dict[tuple[str, str], str] | None = None) -> dict[str, bytes]:
    kept = cache.load()
    blocks = township_blocks(form, totals, roster, kept)
    cache.save(kept, blocks)
    returned = ReturnedCache(cache.folder)
    out = ({"consolidated.xlsx": consolidated_xlsx(form, totals, roster, findings, blocks, comparison, explained)}
           | returned_workbooks(roster, findings, form.explanation_label, sheet_names, returned))
    returned.save()
    return out


UNOPENED = ("unreadable", "encrypted", "read-failed", "archive-unsupported", "archive-as-workbook")


def returned_workbooks(roster: Roster, findings: list[Finding], explanation_label: str = "",
                       sheet_names: dict[str, tuple[str, ...]] | None = None,
                       cache: ReturnedCache | None = None) -> dict[str, bytes]:
    """returns/<code>_<name>.xlsx for every county whose standing file has errors or warnings;
    one made before from the same file, findings and words is taken from `cache`."""
    by_file: dict[str, list[Finding]] = {}
    for f in findings:
        by_file.setdefault(f.file, []).append(f)
    out = {}
    for u in roster.units:
        if u.source is None or not (u.errors or u.warnings):
            continue
        own = [f for f in by_file.get(u.source.path, []) if f.severity != Severity.INFO]
        try:
            # A file that could not be opened is not opened again to be marked up: its
            # findings sheet alone goes back.
            data = None if any(f.rule in UNOPENED for f in own) else load_bytes(u.source)
        except (OSError, Unreadable, KeyError):
            data = None
        sheets = (sheet_names or {}).get(u.source.path, ())
        key = ReturnedCache.key(data, u.name, explanation_label, sheets, own)
        made = cache.get(key) if cache else None
        if made is None:
            from .returned import returned_workbook  # openpyxl, a twentieth of a second: only when one is made

            made = returned_workbook(data, own, u.name, explanation_label, sheets)
            if cache:
                cache.put(key, made)
        out[f"returns/{u.code}_{u.name}.xlsx"] = made
    return out


def manifest_csv(sources: list[Source], roster: Roster, findings: list[Finding]) -> bytes:
    """Every input file: name, size, SHA-256, and what became of it in this run."""
    status: dict[str, str] = {}
    for u in roster.units:
        if u.source:
            status[u.source.path] = u.status_label
        for s in u.superseded:
            status[s.path] = "已被替代"
    for r in roster.unassigned:
        status[r.source.path] = "无法识别单位"
    rows = []
    for s in sources:
        state = status.get(s.path) or {"skip": "已跳过", "output": "以前的汇总输出，已跳过"}.get(s.kind, "无法打开")
        rows.append([s.path, s.size, s.sha256, state])
    return csv_bytes(["file", "size", "sha256", "status"], rows)


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
