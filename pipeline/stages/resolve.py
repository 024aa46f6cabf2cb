"""Resolve: returns and findings → one status per reporting unit (the roster).

Two files for one county are never added up: the latest 填报日期 stands, then the file
modified last; an undated file ranks oldest. The others are superseded, even when the one
that stands is rejected.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from functools import partial
from pathlib import Path

from ..model import Finding, ReadResult, Roster, Severity, UnitStatus
from ..spec.form import Form
from ..spec.units import UnitList


def county_of(result: ReadResult, units: UnitList) -> str:
    if result.ret is not None:
        return result.ret.county_code
    # An unreadable file still counts against the county its name gives, so the roster
    # says 已退回 rather than 未报送 for it.
    return units.find_in_filename(Path(result.source.member or result.source.path).stem) or ""


def resolve(form: Form, units: UnitList, results: list[ReadResult], findings: list[Finding],
            today: date | None = None) -> tuple[Roster, list[Finding]]:
    """The roster, and the findings as they now stand: a superseded file's own problems no
    longer need fixing, so they give way to one finding that says it was superseded.

    A 填报日期 after `today` (the run's date) is a slip of the keyboard (2061 for 2016): it is
    said, and ranks as no date, so that it never outranks the county's corrected return."""
    today = today or date.today()
    _rank = partial(_rank_by, today)
    findings = [*findings, *(
        Finding(Severity.WARNING, r.source.path, r.ret.county_code, "", "", "", "date-in-future",
                form.message("date-in-future", value=f"{r.ret.filed_on.year}年{r.ret.filed_on.month}月{r.ret.filed_on.day}日"))
        for r in results if r.ret is not None and r.ret.filed_on and r.ret.filed_on > today
    )]
    by_county: dict[str, list[ReadResult]] = {}
    unassigned = []
    for r in results:
        code = county_of(r, units)
        if code and units.by_code(code):
            by_county.setdefault(code, []).append(r)
        else:
            unassigned.append(r)
    per_file: dict[str, list[Finding]] = {}
    # A file whose name names one county and whose content another: the file-name county has
    # sent something, and is told so (已退回) unless a return of its own stands.
    claimed: dict[str, list[ReadResult]] = {}
    by_path = {r.source.path: r for r in results}
    for f in findings:
        per_file.setdefault(f.file, []).append(f)
        if _claims_other(f, by_path, units):
            claimed.setdefault(f.county_code, []).append(by_path[f.file])

    extra: list[Finding] = []
    superseded_files: set[str] = set()
    statuses = []
    for unit in units.units:
        candidates = by_county.get(unit.code, [])
        if not candidates and unit.code in claimed:
            wrong = max(claimed[unit.code], key=_rank)
            statuses.append(UnitStatus(unit.code, unit.name, unit.city_code, unit.city_name, "rejected", wrong.source,
                                       (), None, "", "", 1, 0))
            continue
        if not candidates:
            statuses.append(UnitStatus(unit.code, unit.name, unit.city_code, unit.city_name, "missing", None, (),
                                       None, "", "", 0, 0))
            continue
        ranked = sorted(candidates, key=_rank, reverse=True)
        stands, rest = ranked[0], ranked[1:]
        for old in rest:
            superseded_files.add(old.source.path)
            extra.append(Finding(Severity.WARNING, old.source.path, unit.code, "", "", "", "superseded",
                                 form.message("superseded", detail=stands.source.path)))
        own = per_file.get(stands.source.path, [])
        errors = sum(f.severity == Severity.ERROR for f in own)
        warnings = sum(f.severity == Severity.WARNING for f in own)
        ret = stands.ret
        statuses.append(UnitStatus(
            unit.code, unit.name, unit.city_code, unit.city_name,
            "rejected" if errors or ret is None else "included",
            stands.source, tuple(r.source for r in rest),
            ret.filed_on if ret else None,
            ret.filled_by if ret else "", ret.phone if ret else "",
            errors, warnings,
        ))
    # The conflict outlives its file's supersession: it is the file-name county's news.
    kept = [f for f in findings if f.file not in superseded_files or _claims_other(f, by_path, units)]
    return Roster(tuple(statuses), tuple(unassigned)), kept + extra


CONFLICT = "unit-conflict"


def _claims_other(f: Finding, by_path: dict[str, ReadResult], units: UnitList) -> bool:
    """A file-name/content conflict filed under the file-name county, not the content's."""
    return (f.rule == CONFLICT and bool(f.county_code) and f.file in by_path and units.by_code(f.county_code) is not None
            and county_of(by_path[f.file], units) != f.county_code)


def _rank_by(today: date, r: ReadResult) -> tuple:
    filed = r.ret.filed_on if r.ret is not None and r.ret.filed_on and r.ret.filed_on <= today else date.min
    return (filed, r.source.mtime, r.source.path)


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
