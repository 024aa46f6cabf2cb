"""Files → checked returns: read, validated and judged by themselves, exactly as a report run
judges them. The one path from bytes to findings, for `make report` and the submission page."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

from ..model import Finding, Previous, ReadResult, Roster, Severity, Source
from ..spec.form import Form
from ..spec.units import Unit, UnitList
from ..stages.compare import county_findings
from ..stages.consolidate import county_sums
from ..stages.read.sources import read_sources
from ..stages.resolve import resolve
from ..stages.tabulate import tabulate
from ..stages.validate import validate
from ..store.cache import Hashes
from ..store.inbox import classify, discover


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


@dataclass(frozen=True)
class Checked:
    """One file as a report run would judge it."""

    source: Source
    result: ReadResult
    findings: tuple[Finding, ...]  # errors first, as validation.html lists them

    @property
    def errors(self) -> int:
        return sum(f.severity == Severity.ERROR for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.severity == Severity.WARNING for f in self.findings)


def check_sources(sources: list[Source], form: Form, units: UnitList, passwords: tuple[str, ...] = ()) -> list[Checked]:
    """Read and validate files exactly as `make report` does (one validation over all of them)."""
    readable = [s for s in sources if s.kind in ("xlsx", "xls")]
    results = {r.source.path: r for r in read_sources(readable, form, units, passwords)}
    own: dict[str, list[Finding]] = {s.path: [] for s in sources}
    for f in file_findings(form, sources):
        own[f.file].append(f)
    returns = [r.ret for r in results.values() if r.ret is not None]
    for r in results.values():
        own[r.source.path] += r.findings
    if returns:
        for f in validate(form, tabulate(form, returns)):
            own[f.file].append(f)
    return [
        Checked(s, results.get(s.path) or ReadResult(s, None, ()), tuple(sorted(own[s.path], key=lambda f: f.sort_key)))
        for s in sources
    ]


def staged_source(path: Path, shown: str, data: bytes) -> Source:
    """The upload, saved to a staging file, as discover would describe it under its inbox name."""
    return Source(shown, len(data), hashlib.sha256(data).hexdigest(), path.stat().st_mtime,
                  classify(shown, data[:8]), abspath=str(path))


def check_upload(source: Source, unit: Unit, filename: str, form: Form, units: UnitList,
                 passwords: tuple[str, ...] = ()) -> Checked:
    """The upload's findings under its inbox name, with one more when the return is another
    unit's: its content names another county, or its own file name does and its content names
    nobody (read under the name the clerk gave it, it would count for that county). Such a
    file is refused whatever else it holds: the link it came by is this unit's alone."""
    checked = check_sources([source], form, units, passwords)[0]
    # What resolve says of a file by itself (a 填报日期 in the future), as the report will say it.
    _, judged = resolve(form, units, [checked.result], list(checked.findings))
    checked = Checked(checked.source, checked.result, tuple(sorted(judged, key=lambda f: f.sort_key)))
    ret = checked.result.ret
    other = ret.county_code if ret is not None and ret.county_code not in ("", unit.code) else ""
    named = units.find_in_filename(Path(filename or "").stem)
    if not other and ret is not None and named and named != unit.code:
        as_sent = read_sources([replace(source, path=Path(filename).name)], form, units, passwords)[0]
        if as_sent.ret is not None and as_sent.ret.county_code != unit.code:
            other = as_sent.ret.county_code or named
    if not other:
        return checked
    who = units.by_code(other)
    extra = Finding(Severity.ERROR, checked.source.path, unit.code, "", "", "", "other-unit",
                    form.message("other-unit", detail=who.name if who else other, unit=unit.name))
    # The reader compared the content with the name this page gives the file in the inbox, a
    # name the clerk never wrote: its unit-conflict would only repeat `extra`, confusingly.
    own = tuple(f for f in checked.findings if not (f.rule == "unit-conflict" and f.county_code == unit.code))
    return Checked(checked.source, checked.result, (extra, *own))


def across_rounds(form: Form, units: UnitList, batch: list[Checked], previous: Previous) -> dict[str, tuple[Finding, ...]]:
    """The cross-period findings `make report ROUND=…` would give each of these returns (file →
    findings), from the same stages: resolved, summed as consolidate sums and compared with the previous
    round as a report run does, by the rules that judge a county by itself (`county_findings`).

    Each return must be a different county's and have no error: a report run compares only the
    returns it includes, so a refused upload or a rejected file is not compared either."""
    results = [c.result for c in batch if c.result.ret is not None and not c.errors]
    if not results:
        return {}
    roster, _ = resolve(form, units, results, [])
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


def survey(inbox: Path, form: Form, units: UnitList, known: dict[str, Checked],
           passwords: tuple[str, ...] = (), hashes: Hashes | None = None) -> tuple[dict[str, Checked], Roster, list[Finding]]:
    """The inbox as `make report` would see it now: files checked before (same path and hash)
    are not read again, nor hashed again when `hashes` remembers them. Returns every file's
    check, the roster and the findings as they stand."""
    sources = discover(inbox, hashes)
    fresh = [s for s in sources if not (s.path in known and known[s.path].source.sha256 == s.sha256)]
    fresh_paths = {s.path for s in fresh}
    checked = {s.path: known[s.path] for s in sources if s.path not in fresh_paths}
    for c in check_sources(fresh, form, units, passwords):
        checked[c.source.path] = c
    ordered = [checked[s.path] for s in sources]
    # The times a file's check saw may be older than the file's (a copy kept by mtime):
    # the roster ranks by the source as discovered now.
    results = [ReadResult(s, c.result.ret, c.result.findings) for s, c in zip(sources, ordered)]
    findings = [f for c in ordered for f in c.findings]
    roster, findings = resolve(form, units, results, findings)
    return checked, roster, findings
