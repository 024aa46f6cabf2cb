"""Files → checked returns and a roster: the one path from an inbox's bytes to what is wrong with
each return and which file stands for each unit, for `make report` and the submission page
alike (a clerk sees at upload what validation.html will list).

Every per-file and per-unit step runs under the runner's guard: read (across processes when
there are many), validate (one pandera pass, split on a fault), resolve (unit by unit).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from functools import partial
from pathlib import Path

from ..model import Finding, Previous, ReadResult, Roster, Severity, Source
from ..spec.dates import Dating
from ..spec.form import Form
from ..spec.scope import Scope
from ..spec.units import Unit, UnitList
from ..stages.combine import combine
from ..stages.compare import county_findings
from ..stages.consolidate import county_sums
from ..stages.read.city import flattened
from ..stages.resolve import (
    Decision,
    county_of,
    decide,
    gather,
    same_as_another,
    settle,
    township_from_another,
    undecided,
    with_warning_counts,
)
from ..stages.tabulate import Tables, tabulate
from ..store.archives import ARCHIVE_DAMAGED
from ..store.cache import ReadCache
from ..store.inbox import NOT_READ_HERE, InboxView
from ..store.kinds import READABLE, classify
from .processes import Helper
from .reading import Reading, read_all
from .runner import Guard, start_validation

NOTED = frozenset({"skip", "broken", "archive", "output", "folder", "special"})  # the kinds file_findings speaks of


def file_findings(form: Form, sources: list[Source], units: UnitList | None = None) -> list[Finding]:
    """Files that are not workbooks are listed, never read; a broken 'workbook' is an error.
    Each is filed under the county its name gives (none for a folder), so that a county whose
    file could not be read, or was skipped, hears of it."""
    out = []
    for s in sources:
        if s.kind not in NOTED:
            continue  # a workbook: its reading says what it holds
        county = (units.find_in_filename(Path(s.member or s.path).stem) or "") if units and s.kind != "folder" else ""
        if s.kind == "skip":
            out.append(form.finding("skipped", file=s.path, county=county))
        elif s.kind == "broken" and s.problem == ARCHIVE_DAMAGED:
            out.append(form.finding("archive-damaged", file=s.path, county=county))
        elif s.kind == "broken" and s.problem.startswith(NOT_READ_HERE):
            # The file is there and this machine may not read it: the office's to mend, not
            # the county's to export again.
            out.append(form.finding("not-read-here", file=s.path, county=county,
                                    detail=s.problem.removeprefix(NOT_READ_HERE)))
        elif s.kind == "broken":
            empty = s.size == 0 and s.sha256 and not s.problem  # read whole, and nothing in it
            out.append(form.finding("unreadable", file=s.path, county=county,
                                    detail=s.problem or ("文件是空的，没有任何内容" if empty else "不是有效的Excel文件")))
        elif s.kind == "archive":
            out.append(form.finding("archive-unsupported", file=s.path, county=county))
        elif s.kind == "output":
            out.append(form.finding("old-outputs", file=s.path))
        elif s.kind == "folder":
            out.append(form.finding("folder-unreadable", file=s.path, detail=s.problem))
        elif s.kind == "special":
            out.append(form.finding("not-a-file", file=s.path, county=county, detail=s.problem.removeprefix(NOT_READ_HERE)))
    return out


class Counted:
    """Its findings' errors and warnings, counted: a file's, a county's part of a city's file."""

    findings: tuple[Finding, ...]

    @property
    def errors(self) -> int:
        return sum(f.severity == Severity.ERROR for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.severity == Severity.WARNING for f in self.findings)


@dataclass(frozen=True)
class Checked(Counted):
    """One file as a report run would judge it."""

    source: Source
    result: ReadResult
    findings: tuple[Finding, ...]  # errors first, as validation.html lists them
    # A file the reader read as several returns (a city's workbook: `兰州市.xlsx/安定区`, each
    # its own source below the file's path): every result it gave. Empty: `result` alone.
    parts: tuple[ReadResult, ...] = ()

    @property
    def results(self) -> tuple[ReadResult, ...]:
        """Every result the file gave, in the order check_files gave them."""
        return self.parts or (self.result,)



@dataclass(frozen=True)
class FilesChecked:
    """Files read and validated, each by itself: no unit's file chosen yet."""

    sources: tuple[Source, ...]
    results: tuple[ReadResult, ...]  # every readable or broken file's, in listing order
    findings: tuple[Finding, ...]  # the files' own and validation's, in listing order
    tables: Tables  # the township rows of every return read
    to_read: int  # how many files were read afresh (not from the cache)

    def checked(self) -> dict[str, Checked]:
        listed = {s.path for s in self.sources}
        own: dict[str, list[Finding]] = {s.path: [] for s in self.sources}
        results = {path: r for r in self.results for path in r.source.paths}  # a combined return's files: its own
        # What is said of a combined return as a whole goes with its first file.
        first = {r.source.path: r.source.parts[0] for r in self.results if r.source.parts}
        for f in self.findings:
            own.setdefault(_file_of(first.get(f.file, f.file), listed), []).append(f)
        given: dict[str, list[ReadResult]] = {}
        for r in self.results:
            for path in r.source.paths:  # a combined return: each of its files; a part: the file it is in
                given.setdefault(_file_of(path, listed), []).append(r)
        out = {}
        for s in self.sources:
            results = given.get(s.path, [])
            exact = next((r for r in results if r.source.path == s.path or s.path in r.source.parts), None)
            parts = tuple(results) if results and results != [exact] else ()
            out[s.path] = Checked(s, exact or ReadResult(s, None, ()), tuple(sorted(own[s.path], key=lambda f: f.sort_key)),
                                  parts)
        return out


def _file_of(path: str, listed: set[str]) -> str:
    """The listed file a result or finding belongs to: its own path, or the file it is a part
    of (`兰州市.xlsx/安定区` → `兰州市.xlsx`, when the inbox listed the workbook, not the part)."""
    head = path
    while head not in listed and "/" in head:
        head = head.rsplit("/", 1)[0]
    return head if head in listed else path


@dataclass(frozen=True)
class InboxChecked:
    """The inbox judged as a report run judges it: every file's check, the roster, and the
    findings as they stand once each unit's file is chosen."""

    files: FilesChecked
    roster: Roster
    findings: tuple[Finding, ...]
    incidents: tuple = field(default=())

    def checked(self) -> dict[str, Checked]:
        return self.files.checked()


def check_files(sources: list[Source], data: dict[str, bytes], form: Form, units: UnitList, *,
                passwords: tuple[str, ...] = (), cache: ReadCache | None = None, guard: Guard,
                checker: Helper | None = None, progress: Callable[[int, int], None] | None = None,
                after_reading: Callable[[int], None] | None = None,
                after_tabulating: Callable[[Tables, list[Finding]], None] | None = None,
                reader: Callable[[list[tuple[Source, bytes]]], list[ReadResult]] | None = None,
                reading: Reading | None = None) -> FilesChecked:
    """Read and validate `sources` (their bytes in `data`) exactly as `make report` does: one
    validation over all of them. `cache` serves content read or validated before.
    `after_reading(n)` is told, once the files are read, how many were read afresh (the report
    starts its Word helper then); `after_tabulating(tables, findings)` is handed every return's
    rows and the findings so far before the returns are validated (the report starts making
    consolidated.xlsx's rows then). `reader`: who reads (run.read_all). `reading`: the reading of
    `sources`' readable files, already started (run/intake)."""
    cache = cache if cache is not None else ReadCache(None, "")
    findings = file_findings(form, sources, units)
    readable = [s for s in sources if s.kind in READABLE]
    to_read = sum(1 for s in readable if not cache.has(s))
    if reading is not None:
        results = reading.results(guard, progress)
    else:
        results = read_all(readable, data, form, units, passwords, cache, guard, progress, reader)
    results, findings_of_cities = flattened(results)  # a city's workbook: its counties' returns
    results = [_fault_filed(r, guard, units) if r.fault else r for r in results]
    findings += findings_of_cities
    if after_reading:
        after_reading(to_read)
    # Broken files are kept as results with no return, so the roster can count them.
    results += [ReadResult(s, None, ()) for s in sources if s.kind in ("broken", "archive")]
    # One county's tables in several files become its one return; a skipped file naming a county is its finding.
    results, findings = combine(form, units, sources, results, findings, each=partial(guard.each, "read"))
    for r in results:
        findings += r.findings
    with_return = [r for r in results if r.ret is not None]
    checks = start_validation(form, with_return, cache, guard, units, checker)
    tables = tabulate(form, [r.ret for r in with_return])
    if after_tabulating:
        after_tabulating(tables, findings)
    findings += checks(tables)
    return FilesChecked(tuple(sources), tuple(results), tuple(findings), tables, to_read)


def _fault_filed(result: ReadResult, guard: Guard, units: UnitList) -> ReadResult:
    """A county's block of a city's workbook whose reading met a fault: that county's one
    `internal-error`, under the guard's reference (its traceback in the log)."""
    county = units.find_in_filename(Path(result.source.member or result.source.path).stem) or ""
    return ReadResult(result.source, None, (guard.fault("read", result.fault, file=result.source.path, county=county),))


def choose(files: FilesChecked, form: Form, units: UnitList, guard: Guard,
           dating: Dating | None = None, scope: Scope | None = None) -> tuple[Roster, list[Finding]]:
    """Each unit's standing file, unit by unit under the guard: the roster, and the findings as
    they now stand. `dating` completes a 填报日期 written without its year. `scope`: the units
    this run reports on (a city's counties), when not every unit: a return of another unit is
    known for what it is (`units`), said to be outside, and left out."""
    gathered = gather(form, units, list(files.results), list(files.findings), dating.today if dating else None, dating)
    within = scope.units if scope else units

    def place(unit: Unit) -> tuple[str, str]:
        candidates = gathered.by_county.get(unit.code, [])
        return (candidates[0].source.path if candidates else ""), unit.code

    decisions: list[Decision] = guard.each("resolve", list(within.units), lambda u: decide(form, u, gathered),
                                           lambda u, fault: undecided(u, gathered, fault), place)
    roster, findings = settle(within, gathered, decisions)
    copies = (same_as_another(form, roster, list(files.results))
              + township_from_another(form, roster, list(files.results), files.tables if files.tables.returns else None))
    if copies:
        findings += copies
        roster = with_warning_counts(roster, copies)
    if scope is None:
        return roster, findings
    outside = [r for code, rs in gathered.by_county.items() if within.by_code(code) is None for r in rs]
    region = scope.name
    # What was found in another unit's return is that unit's business, not this region's: its
    # findings were counted and listed in the city's validation.html as if its own.
    away = {r.source.path for r in outside}
    findings = [f for f in findings if f.file not in away]
    findings += [form.finding("outside-scope", file=r.source.path, county=county_of(r, units), region=region,
                              unit=units.by_code(county_of(r, units)).name) for r in outside]
    return replace(roster, outside=tuple(outside)), findings


def assembled(sources: list[Source], checked: dict[str, Checked]) -> FilesChecked:
    """Files checked at different times, as check_files would have judged them together:
    validation judges each return by itself, so the checks of files judged apart add up to
    the check of all (the page checks only what is new, and keeps the rest)."""
    results: dict[str, ReadResult] = {}  # by the result's own path: a combined return's files share it
    for s in sorted(sources, key=lambda s: s.kind not in READABLE):
        for r in checked[s.path].results:  # a file read as several returns: each of them
            if s.kind in READABLE or s.kind in ("broken", "archive") or r.ret is not None:  # a skipped file standing for its county
                results.setdefault(r.source.path, r)
    findings = tuple(f for s in sources for f in checked[s.path].findings)
    return FilesChecked(tuple(sources), tuple(results.values()), findings, Tables((), {}), 0)


def check(view: InboxView, form: Form, units: UnitList, *, passwords: tuple[str, ...] = (),
          cache: ReadCache | None = None, guard: Guard, dating: Dating | None = None, scope: Scope | None = None,
          **scheduling) -> InboxChecked:
    """The inbox view judged as a report run judges it (check_files, then choose)."""
    files = check_files(list(view.sources), view.data, form, units, passwords=passwords, cache=cache, guard=guard,
                        **scheduling)
    roster, findings = choose(files, form, units, guard, dating, scope)
    return InboxChecked(files, roster, tuple(findings), tuple(guard.incidents))


# --- one upload -----------------------------------------------------------------------------


def staged_source(shown: str, data: bytes, mtime: float) -> Source:
    """An upload as the inbox would list it under the name it will have there."""
    kind = classify(shown, data[:8])
    return Source(shown, len(data), hashlib.sha256(data).hexdigest(), mtime, "xlsx" if kind == "zip" else kind)


@dataclass(frozen=True)
class Upload:
    """A file sent on the submission page, named as it will be in the inbox (`source`)."""

    source: Source
    data: bytes
    unit: Unit  # whose link it came by
    filename: str  # as the clerk's computer named it


def check_upload(source: Source, data: bytes, unit: Unit, filename: str, form: Form, units: UnitList, guard: Guard,
                 passwords: tuple[str, ...] = (), cache: ReadCache | None = None, **scheduling) -> Checked:
    """One upload's check (check_uploads)."""
    return check_uploads([Upload(source, data, unit, filename)], form, units, guard, passwords, cache, **scheduling)[0]


def check_uploads(uploads: list[Upload], form: Form, units: UnitList, guard: Guard, passwords: tuple[str, ...] = (),
                  cache: ReadCache | None = None, *, dating: Dating | None = None, latest: date | None = None,
                  **scheduling) -> list[Checked]:
    """Each upload's findings under its inbox name, with one more when the return is another
    unit's: its content names another county, or its own file name does and its content names
    nobody (read under the name the clerk gave it, it would count for that county). Such a
    file is refused whatever else it holds: the link it came by is this unit's alone.
    Uploads that arrive together are read and validated together (one validation costs about
    as much for many returns as for one); each is judged by itself. `dating` and `latest` (the
    latest 填报日期 of the rest of the inbox) date the uploads as the report run will."""
    files = check_files([u.source for u in uploads], {u.source.path: u.data for u in uploads}, form, units,
                        passwords=passwords, cache=cache, guard=guard, **scheduling)
    # What resolve says of a file by itself (a 填报日期 in the future, or half a year before the
    # round's), as the report will say it.
    judged: dict[str, list[Finding]] = {}
    for f in gather(form, units, list(files.results), list(files.findings), dating=dating, latest=latest).findings:
        judged.setdefault(f.file, []).append(f)
    results = files.checked()
    return [_as_theirs(Checked(u.source, results[u.source.path].result,
                               tuple(sorted(judged.get(u.source.path, ()), key=lambda f: f.sort_key))),
                       u, form, units, guard, passwords, scheduling) for u in uploads]


OTHER_UNIT = ("other-unit", "other-unit-by-name")  # another unit's return, sent by this unit's link


def _as_theirs(checked: Checked, upload: Upload, form: Form, units: UnitList, guard: Guard,
               passwords: tuple[str, ...], scheduling: dict) -> Checked:
    """The check, refused when the return is another unit's (check_uploads)."""
    unit, filename, data, source = upload.unit, upload.filename, upload.data, upload.source
    ret = checked.result.ret
    other = ret.county_code if ret is not None and ret.county_code not in ("", unit.code) else ""
    named = units.find_in_filename(Path(filename or "").stem)
    rule = "other-unit"
    if not other and ret is not None and named and named != unit.code:
        as_sent = replace(source, path=Path(filename).name)
        again = check_files([as_sent], {as_sent.path: data}, form, units, passwords=passwords, guard=guard,
                            **scheduling)
        ret_as_sent = again.results[0].ret if again.results else None
        if ret_as_sent is not None and ret_as_sent.county_code != unit.code:
            # Under its inbox name the file is this unit's, under the clerk's another's: its content
            # names nobody, and only its file name says whose it is. The clerk is told that, not
            # "this is 皋兰县's return".
            other, rule = ret_as_sent.county_code or named, "other-unit-by-name"
    if not other:
        return checked
    who = units.by_code(other)
    extra = form.finding(rule, file=checked.source.path, county=unit.code, detail=who.name if who else other,
                         unit=unit.name)
    # The reader compared the content with the name this page gives the file in the inbox, a
    # name the clerk never wrote: its unit-conflict would only repeat `extra`, confusingly.
    own = tuple(f for f in checked.findings if not (f.rule == "unit-conflict" and f.county_code == unit.code))
    return Checked(checked.source, checked.result, (extra, *own))


def across_rounds(form: Form, units: UnitList, batch: list[Checked], previous: Previous) -> dict[str, tuple[Finding, ...]]:
    """The cross-period findings `make report ROUND=…` would give each of these returns (file →
    findings), from the same stages: summed as consolidate sums and compared with the previous
    round as a report run does, by the rules that judge a county by itself (`county_findings`).

    Each return must be a different county's and have no error: a report run compares only the
    returns it includes, so a refused upload or a rejected file is not compared either."""
    results = [c.result for c in batch if c.result.ret is not None and not c.errors]
    if not results:
        return {}
    gathered = gather(form, units, results, [])
    roster, _ = settle(units, gathered, [decide(form, u, gathered) for u in units.units])
    sums, townships = county_sums(form, roster, tabulate(form, [r.ret for r in results]))
    found: dict[str, list[Finding]] = {r.source.path: [] for r in results}
    for f in county_findings(form, sums, townships, {r.ret.county_code: r.ret for r in results}, previous):
        found.setdefault(f.file, []).append(f)
    return {path: tuple(fs) for path, fs in found.items()}


def with_findings(checked: Checked, extra: tuple[Finding, ...]) -> Checked:
    """The check with more findings, in the order validation.html lists them."""
    if not extra:
        return checked
    return replace(checked, findings=tuple(sorted((*checked.findings, *extra), key=lambda f: f.sort_key)))
