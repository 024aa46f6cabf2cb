"""A report run's stage order: the inbox seen at one instant and read (run/intake), checked
(run/check), consolidated, compared with the previous round, and every output made as bytes.

`build_run()` is the stage order alone, from an inbox to the outputs as bytes, which tests call
too; the command line's `report()` (run/command) writes them to the outbox, all or nothing.
Scheduling (helper processes, reading across processes) is the runner's and the reading's;
each per-unit step here runs under its guard. The returned workbooks and consolidated.xlsx
are the workbooks' process's (run/workbooks).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path

from ..model import Finding, ReadResult, Return, Roster, Severity, Source
from ..outputs.charts import chart_data
from ..outputs.compared import round_label
from ..outputs.html import render_html, render_validation
from ..outputs.report import Report, build_report, dates, report_settings
from ..outputs.snapshot import snapshot_bytes
from ..outputs.tables import findings_csv, manifest_csv, roster_csv, totals_csv
from ..outputs.templates import keep_compiled_templates, template_fingerprint
from ..outputs.word import for_word, prepare_docx, render_docx
from ..outputs.workbook import CITY_LEVEL, PROVINCE_LEVEL
from ..paths import CACHE
from ..spec.config import Settings
from ..spec.dates import dating
from ..spec.form import Form, office_word
from ..spec.scope import PROVINCE, Scope, province
from ..spec.units import UnitList
from ..stages.compare import Comparison, compare
from ..stages.consolidate import Totals, consolidate
from ..stages.resolve import with_warning_counts
from ..stages.validate import prepare_validation
from ..store.cache import BlockCache, compiled_templates
from ..store.inbox import InboxView
from ..store.rounds import RoundPlan, read_previous, same_form, same_scope, snapshot_path, widened
from .check import check
from .intake import Intake, take_in
from .processes import Helper, in_background
from .runner import Guard, Incident, start_checker
from .workbooks import fresh_blocks, made_by_the_workbooks_process

LOG = "internal-errors.log"
BLOCKS_APART_FROM = 1000  # new returns; fewer blocks are made in the workbooks' process, when it starts


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
    incidents: tuple[Incident, ...] = ()

    @property
    def complete(self) -> bool:
        """Every unit in the sums and nothing in the inbox left unread (a folder that could not
        be opened may hold returns): what `make check` asks."""
        return not self.totals.partial and not any(f.rule == "folder-unreadable" for f in self.findings)


def build_run(
    inbox: Path | InboxView | Intake,
    settings: Settings,
    *,
    example: bool = False,
    progress: Callable[[int, int], None] | None = None,
    form: Form | None = None,
    units: UnitList | None = None,
    cache_dir: Path | None = None,
    round_plan: RoundPlan | None = None,
    scope: Scope | None = None,
    made: datetime | None = None,
    remade: int = 0,
    checker: Helper | None = None,
) -> Run:
    """Every output of a run, as bytes, from the inbox (a folder, viewed now, or a view taken),
    or from the start a caller took of it (run/intake: its reading already under way).
    `scope`: one city's run (spec/scope.city); default the province's. `made`: when the run was
    made, for the Word report's properties (default: the round's time; none without a round, so
    that equal inputs give equal bytes); `remade`: how many times this round was made before
    (validation.html says it was made again). `checker`: the helper that validates a few new
    returns, started by the caller (runner.start_checker), which the run then ends."""
    # A run makes hundreds of thousands of small objects and no reference cycles worth
    # collecting; the cyclic collector would otherwise rescan them over and over (it more
    # than quintupled the time to take results back from the worker processes).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    word, checker = Helper(), checker or Helper()
    intake = inbox if isinstance(inbox, Intake) else take_in(inbox, settings, form=form, units=units,
                                                             cache_dir=cache_dir)
    try:
        return _build_run(intake, settings, example, progress, cache_dir, word, checker, round_plan, scope, made,
                          remade)
    finally:
        intake.reading.close()  # its readers ended, however the run ended
        word.close()
        checker.close()
        keep_compiled_templates(None)  # lent for this run only
        if gc_was_enabled:
            gc.enable()


def _build_run(intake: Intake, settings: Settings, example: bool, progress,
               cache_dir: Path | None, word: Helper, checker: Helper, plan: RoundPlan | None = None,
               scope: Scope | None = None, made: datetime | None = None, remade: int = 0) -> Run:
    timings: dict[str, float] = {}
    form, units, hashes, cache, view = intake.form, intake.units, intake.hashes, intake.cache, intake.view
    t = time.perf_counter()
    # The previous round's snapshot is read by a copy of this process while this one reads the
    # returns (a quarter of a second at 3,000 returns, off the way), and sent back compact
    # (narrow integers), widened on arrival.
    scope = scope or province(form, units)
    previous = (in_background(read_previous, plan.previous, form, True, scope.identity)
                if plan and isinstance(plan.previous, Path) else None)
    guard = Guard(form)
    # The templates as compiled are the program's, not the outbox's: kept in the project's cache,
    # a fresh outbox does not compile them again (a sixteenth of a second).
    keep_compiled_templates(compiled_templates(CACHE / "templates", template_fingerprint()) if cache_dir else None)
    timings["discover"] = intake.discover + time.perf_counter() - t
    # The reading's clock: from the readers' start when they read while this process loaded
    # the rest of the program; from now when the files are read here (the loading is not theirs).
    t = intake.read_started if intake.reading.apart else time.perf_counter() - intake.loading
    # The helpers import what they need on the core this process leaves free: the checker
    # (pandera) first when a few returns are new, since this process waits for its findings
    # before it can total (and meanwhile takes the reader's results and builds the tables);
    # the Word helper (docxtpl) now when nothing is to be checked, after the checker's findings
    # when something is, and after the readers when many read. Two importing at once beside
    # this process took half as long again each. While a reader per core reads, this process,
    # which would only wait for them, loads pandera itself: a checker would load pandas a
    # second time.
    to_read = intake.to_read
    many = intake.reading.many
    if many:
        prepare_validation()
    start_checker(checker, to_read, many)  # started already when the command line has
    word_asked = False

    def start_word() -> None:
        # A checker, its returns sent to be validated, is the Word helper too: docxtpl loads
        # there as soon as the findings are sent (its jobs run in order), where a helper forked
        # after the tables would have started later, and copied this process at its largest.
        nonlocal word, word_asked
        if word_asked:
            return
        word_asked = True
        if checker.started:
            word = checker
            word.submit(prepare_docx)
        else:
            word.start(prepare_docx)

    if not checker.started and not many:
        start_word()

    read_at: list[float] = []  # when this process had the results: validating (and choosing) starts there

    def after_reading(fresh: int) -> None:
        read_at.append(time.perf_counter())
        timings["read"] = (intake.reading.ended or read_at[0]) - t
        if many and not checker.started:
            start_word()

    # Many new returns (a first run): their township rows of consolidated.xlsx are made by a copy
    # of this process while this one validates, chooses and totals; the workbooks' process uses
    # those of the returns that stand.
    early: list[Callable[[], dict | None]] = []
    new_files = {intake.reading.readable[i].path for i in intake.reading.todo}

    def after_tabulating(tables, findings: list[Finding]) -> None:
        if checker.started:
            start_word()
        if checker.started and any(f.severity != Severity.INFO and f.file in new_files for f in findings):
            # A new file with a problem: its workbook will most likely go back. openpyxl is
            # imported while the checker validates (this process would only wait), and the
            # workbooks' process, forked later, has it.
            from ..outputs import returned  # noqa: F401 - loaded for that process to inherit
        if to_read < BLOCKS_APART_FROM:
            return
        fresh = [i for i, r in enumerate(tables.returns) if r.source.path in new_files]
        names = {u.code: u.name for u in units.units}
        digests = {s.path: s.sha256 for s in view.sources}
        letters = {(s.file or r.source.path, key): s.columns for r in tables.returns for key, s in r.sheets.items()}
        early.append(in_background(fresh_blocks, form, tables, fresh, names, digests, letters, here_if_lost=False))

    when = dating(date.today(), settings.cutoff, plan.name if plan else (settings.round or ""))
    checked = check(view, form, units, passwords=settings.passwords, cache=cache, guard=guard, dating=when,
                    scope=scope if scope.level != PROVINCE else None, checker=checker, progress=progress,
                    after_reading=after_reading, after_tabulating=after_tabulating, reading=intake.reading)
    # From here on the run is its scope's: a city's report names the city where the province's
    # says 全省, and shows its counties where the province's shows cities.
    whole, form, units = form, scope.form, scope.units
    t = read_at[0] if read_at else time.perf_counter()
    start_word()  # when not started yet
    files_checked, roster, findings = checked.files, checked.roster, list(checked.findings)
    results, tables = list(files_checked.results), files_checked.tables
    timings["validate"] = time.perf_counter() - t

    t = time.perf_counter()
    totals = consolidate(form, units, roster, tables)
    timings["consolidate"] = time.perf_counter() - t

    # This round's snapshot is made by a copy of this process while this one compares: it
    # needs only the totals and who was included, and a core is free until the report starts.
    snapshot = in_background(_snapshot, form, plan, totals, roster, guard.stamp, scope.identity) if plan else None

    t = time.perf_counter()
    comparison, round_note = None, plan.problem if plan else ""
    earlier = plan.previous if plan else None
    if previous is not None:
        earlier, problem = previous()
        earlier = widened(earlier) if earlier is not None else None
        round_note = round_note or problem
    elif earlier is not None:  # a Previous given as it is (tests)
        round_note = same_form(form, earlier) or same_scope(scope.identity, earlier)
        earlier = None if round_note else earlier
    if earlier is not None:
        used = {u.source.path: u.code for u in roster.units if u.status == "included" and u.source}
        standing = {used[r.source.path]: r.ret for r in results if r.ret is not None and r.source.path in used}
        comparison, faults = _compare(form, totals, roster, standing, earlier, plan.name, guard)
        if comparison is None:
            round_note = "与上期比较时程序出错，本期不作比较；详见 internal-errors.log。"
        new = [*(comparison.findings if comparison else ()), *faults]
        findings += new
        roster = with_warning_counts(roster, new)
    timings["compare"] = time.perf_counter() - t

    t = time.perf_counter()
    charts = chart_data(form, totals)
    # The totals as plain records, which the report and the workbooks' process both read: made
    # once, here, before that process is forked (a tenth of a second at 3,000 counties).
    _ = totals.county_records, totals.city_records
    timings["consolidate"] += time.perf_counter() - t

    t = time.perf_counter()
    findings = sorted(findings, key=lambda f: f.sort_key)
    # Each return's form sheets, and where its table ends, for the 上报说明 line of its returned workbook.
    sheets = {r.source.path: tuple((s.name, _table_end(s)) for s in r.ret.sheets.values()) for r in results if r.ret}
    explained = {(s.file or r.source.path, s.name): s.explanation for r in results if r.ret
                 for s in r.ret.sheets.values() if s.explanation}
    explained |= view.explained()  # the page's notes, for the warnings they answer
    # The two slowest outputs are made by other processes while this one makes the rest;
    # the workbooks need no report, so they start first.
    blocks = BlockCache(cache_dir, intake.cache_key)
    made = made or (plan.made if plan else None)
    said = report_settings(settings, plan.name if plan else "", made, province_name=whole.region_name,
                           office=office_word(whole.office_short),
                           city=(scope.code, scope.name) if scope.level != PROVINCE else None)
    # Where each return's figures stand (a column per field): the 明细 rows' 单元格 and the page's breakdown.
    letters = {(s.file or r.source.path, key): s.columns for r in results if r.ret for key, s in r.ret.sheets.items()}
    # What consolidated.xlsx says it is (汇总信息): another run tells a city's workbook from its own by it.
    about = {"cutoff": dates(said, roster)[0], "round": round_label(plan.name) if plan else "",
             "level": PROVINCE_LEVEL if scope.level == PROVINCE else CITY_LEVEL,
             "parent_code": "" if scope.level == PROVINCE else whole.region_code,
             "parent_name": "" if scope.level == PROVINCE else whole.region_name}
    workbooks = in_background(made_by_the_workbooks_process, form, totals, roster, findings, blocks, comparison,
                              sheets, explained, view, guard.stamp, letters, about, early[0] if early else None,
                              may_fork=True)
    standing = {u.source.path: u.code for u in roster.units if u.status in ("included", "rejected") and u.source}
    returns = {standing[r.source.path]: r.ret for r in results if r.ret is not None and r.source.path in standing}

    def reports(findings: list[Finding], roster: Roster) -> tuple[Report, Callable[[], bytes], dict[str, bytes]]:
        """The report, its Word version (made by the Word helper while this process writes the
        rest: the function returned waits for it), and the other pages and tables."""
        report = build_report(form, units, totals, roster, findings, said, example=example, charts=charts,
                              comparison=comparison, round_note=round_note, returns=returns)
        docx = word.submit(render_docx, for_word(report))
        listed = _in_its_city(roster, scope)
        return report, docx, {
            "report.html": render_html(report).encode("utf-8"),
            "findings.csv": findings_csv(findings),
            "roster.csv": roster_csv(listed, comparison),
            "validation.html": render_validation(form, listed, findings, comparison, explained,
                                                 round_name=plan.name if plan else "", remade=remade,
                                                 round_note=round_note, breakdown=report.breakdown).encode("utf-8"),
            "manifest.csv": manifest_csv(list(view.sources), roster, findings),
        }

    report, docx, files = reports(findings, roster)
    files["totals.csv"] = totals_csv(form, totals, comparison)
    if snapshot is not None:
        kept, incidents, faults = snapshot()
        files[snapshot_path(plan.name, plan.stamp)] = kept
        guard.adopt(incidents)
        if faults:
            findings = sorted([*findings, *faults], key=lambda f: f.sort_key)
            roster = with_warning_counts(roster, faults)
            report, docx, more = reports(findings, roster)
            files |= more
    # The caches are written while the helpers finish the Word report and the workbooks:
    # 10 MB at 3,000 returns, off the way of everything else.
    hashes.save()
    cache.save(view.readable())
    files["report.docx"] = docx()
    made, incidents, faults = workbooks()
    files |= made
    guard.adopt(incidents)
    if faults:  # a returned workbook made plain: its county is told, and the pages say so too
        findings = sorted([*findings, *faults], key=lambda f: f.sort_key)
        roster = with_warning_counts(roster, faults)
        report, docx, more = reports(findings, roster)
        files |= more
        files["report.docx"] = docx()
    if guard.incidents:
        files[LOG] = guard.log()
    timings["render"] = time.perf_counter() - t
    return Run(form, view.sources, tuple(results), tuple(findings), roster, totals, report, files, timings,
               comparison, round_note, tuple(guard.incidents))


def _in_its_city(roster: Roster, scope: Scope) -> Roster:
    """The roster as the office's lists show it: in a city's run each county stands for itself
    in the report (its own group, where the province's shows cities), but roster.csv and the
    催报名单 name its city, as the province's do."""
    if scope.level == PROVINCE:
        return roster
    return replace(roster, units=tuple(replace(u, city_code=scope.code, city_name=scope.name) for u in roster.units))


def _table_end(sheet) -> int:
    """The last row of a sheet's table as the reader found it (townships and 合计)."""
    return max([*sheet.rows[-1:], sheet.total_row, 0])


def _compare(form: Form, totals: Totals, roster: Roster, standing: dict[str, Return], earlier, round_name: str,
             guard: Guard) -> tuple[Comparison | None, list[Finding]]:
    """compare, guarded: when it raises, the counties that fail alone are found (half by half)
    and left out of the comparison, each with its warning; the rest are compared."""
    try:
        return compare(form, totals, roster, standing, earlier, round_name), []
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException:  # noqa: BLE001 - found below, county by county
        pass
    codes = sorted(standing)
    faults: dict[str, Finding] = {}

    def alone(part: list[str]) -> list[None]:
        compare(form, totals, roster, standing, earlier, round_name, among=part)
        return [None] * len(part)

    guard.halves("compare", codes, alone, lambda code, fault: faults.setdefault(code, fault),
                 lambda code: (standing[code].source.path, code))
    try:
        rest = [c for c in codes if c not in faults]
        return compare(form, totals, roster, standing, earlier, round_name, among=rest), list(faults.values())
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as error:  # noqa: BLE001 - no county alone, yet all together: no comparison
        guard.fault("compare", error, file="")
        return None, list(faults.values())


def _snapshot(form: Form, plan: RoundPlan, totals: Totals, roster: Roster, stamp: str,
              scope: dict | None = None) -> tuple[bytes, list[Incident], list[Finding]]:
    """This round's snapshot, guarded as compare is: a county whose rows raise is kept as
    excluded (no later round compares with it), with its warning."""
    guard = Guard(form, f"{stamp}-S")
    try:
        return snapshot_bytes(form, plan.name, plan.made, totals, roster, scope=scope), [], []
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException:  # noqa: BLE001
        pass
    included = [u for u in roster.units if u.status == "included"]
    faults: dict[str, Finding] = {}

    def alone(part: list) -> list[None]:
        snapshot_bytes(form, plan.name, plan.made, totals, roster, among=[u.code for u in part], scope=scope)
        return [None] * len(part)

    guard.halves("snapshot", included, alone, lambda u, fault: faults.setdefault(u.code, fault),
                 lambda u: (u.source.path if u.source else "", u.code))
    among = [u.code for u in included if u.code not in faults]
    return (snapshot_bytes(form, plan.name, plan.made, totals, roster, among=among, scope=scope), guard.incidents,
            list(faults.values()))
