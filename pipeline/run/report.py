"""The report's stage order: discover → read → validate → resolve → consolidate → compare →
render. `build_run` returns every output as bytes; the CLI hands them to the outbox."""

from __future__ import annotations

import gc
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from ..model import Finding, ReadResult, Roster, Source
from ..outputs.charts import chart_data
from ..outputs.html import render_html, render_validation
from ..outputs.report import Report, ReportSettings, build_report
from ..outputs.returned import returned_workbooks
from ..outputs.snapshot import snapshot_bytes
from ..outputs.tables import findings_csv, manifest_csv, roster_csv, totals_csv
from ..outputs.templates import keep_compiled_templates
from ..outputs.word import for_word, prepare_docx, render_docx
from ..outputs.workbook import consolidated_xlsx, township_blocks
from ..spec.config import Settings
from ..spec.form import Form, load_form
from ..spec.units import UnitList, load_units
from ..stages.compare import Comparison, compare
from ..stages.consolidate import Totals, consolidate
from ..stages.resolve import _with_counts, resolve
from ..stages.tabulate import tabulate
from ..stages.validate import prepare_validation
from ..store.cache import BlockCache, Hashes, ReadCache, ReturnedCache, reader_fingerprint
from ..store.inbox import discover, page_explanations
from ..store.rounds import RoundPlan, _previous_round, same_form, snapshot_path, widened
from .check import file_findings
from .runner import PARALLEL_FROM, VALIDATE_APART_UP_TO, Helper, in_background, read_all, start_validation


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
    cache_key = f"{form.fingerprint}-{units.fingerprint}-{secrets}-{reader_fingerprint()}"
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
