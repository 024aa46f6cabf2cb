"""Combine: the files read, as the returns the counties meant. Between reading and validation.

One county's tables may come in several files (a CSV a table, a workbook a table, the pages of
one web export): when they are the county's only files and each holds some of the form's tables,
they are one return. So are a whole return and the table sent again alone after it (表一,
corrected): the later table stands beside the earlier file's others. Its 填报日期 is the latest of theirs; every finding still names its own file
(each sheet remembers the file it came from). A table present in two of them is decided as the
resubmission rule decides between files (the later 填报日期, then the file modified later), per
table, and the one set aside is told why.

And no county that sent something is silently 未报送: a file skipped as no return (a scan, a
cover letter, a web page without the form's tables) whose name or content names a county is a
finding against that county, an error when it is all the county sent.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from functools import partial

from ..model import Finding, ReadResult, Return, Source
from ..spec.form import Form
from ..spec.units import UnitList
from .resolve import rank_by, why_it_stands

# What the system and Excel leave beside files: never a county's return, whatever its name.
NOT_SENT = ("~$", "._", ".~")


Group = tuple[str, list[int]]  # a county, and where its files are among the results


def combine(form: Form, units: UnitList, sources: list[Source], results: list[ReadResult],
            findings: list[Finding], today: date | None = None, each: Callable | None = None,
            ) -> tuple[list[ReadResult], list[Finding]]:
    """The results as resolve should see them, and the files' own findings (the skipped ones'
    among them) as they now stand. `results`: every file read, in listing order; `findings`:
    those made of the files before reading (skipped, broken). `each(groups, work, on_fault,
    place)`: the runner's guard, county by county (a county whose files cannot be combined, for
    a fault of this program, keeps them apart, its first file carrying the fault)."""
    today = today or date.today()
    results, findings = _skipped_files(form, units, sources, results, findings)
    by_county: dict[str, list[int]] = {}
    for i, r in enumerate(results):
        code = _county(r, units)
        if code:
            by_county.setdefault(code, []).append(i)
    groups = [(code, at) for code, at in by_county.items() if _combinable(form, [results[i] for i in at], today)]

    def work(group: Group) -> list[ReadResult]:
        code, at = group
        return [_combined(form, code, [results[i] for i in at], today)]

    def apart(group: Group, fault: Finding) -> list[ReadResult]:
        first, *rest = (results[i] for i in group[1])
        return [replace(first, findings=(*first.findings, fault)), *rest]

    def place(group: Group) -> tuple[str, str]:
        return results[group[1][0]].source.path, group[0]

    made = each(groups, work, apart, place) if each else [work(g) for g in groups]
    instead = {at[0]: replacement for (_, at), replacement in zip(groups, made)}
    gone = {i for _, at in groups for i in at[1:]}
    out: list[ReadResult] = []
    for i, r in enumerate(results):
        if i not in gone:
            out += instead.get(i, [r])
    return out, findings


# --- one county's tables in several files ------------------------------------------------------


def _combinable(form: Form, parts: list[ReadResult], today: date) -> bool:
    """Two files or more, every one a return holding some of the form's tables, and between
    them more than one table: none holding all of them (a table a file), or the latest holding
    only some (the corrected 表一 sent alone after the whole return), whose tables then stand
    beside the earlier file's others."""
    if len(parts) < 2 or any(r.ret is None or not r.ret.tables for r in parts):
        return False
    every = {s.key for s in form.sheets}
    held = [set(r.ret.tables) for r in parts]  # type: ignore[union-attr]
    latest = set(max(parts, key=partial(rank_by, today)).ret.tables)  # type: ignore[union-attr]
    return len(set().union(*held)) > 1 and (all(h < every for h in held) or latest < set().union(*held))


def _combined(form: Form, code: str, parts: list[ReadResult], today: date) -> ReadResult:
    """One return of the parts' tables, each table from the file the resubmission rule picks."""
    order = {s.key: i for i, s in enumerate(form.sheets)}
    parts = sorted(parts, key=lambda r: min(order.get(k, len(order)) for k in r.ret.tables))  # type: ignore[union-attr]
    rets = [r.ret for r in parts]
    source = _source(parts)
    sheets, extra, set_aside = {}, [], set()  # set aside: (file, sheet key) of a table not used
    for spec in form.sheets:
        holders = [r for r in parts if spec.key in r.ret.tables]  # type: ignore[union-attr]
        if not holders:
            continue
        ranked = sorted(holders, key=partial(rank_by, today), reverse=True)
        stands = ranked[0]
        for other in ranked[1:]:
            set_aside.add((other.source.path, spec.key))
            own = other.ret.sheets.get(spec.key)  # type: ignore[union-attr]
            extra.append(form.finding("table-superseded", file=other.source.path, county=code,
                                      sheet=own.name if own else "", sheet_number=spec.number, sheet_label=spec.label,
                                      detail=stands.source.path, reason=why_it_stands(stands, other, today)))
        if spec.key in stands.ret.sheets:  # type: ignore[union-attr]
            sheets[spec.key] = replace(stands.ret.sheets[spec.key], file=stands.source.path)  # type: ignore[union-attr]
    dates = [r.filed_on for r in rets if r.filed_on and r.filed_on <= today]  # type: ignore[union-attr]
    filed_on = max(dates, default=None) or next((r.filed_on for r in rets if r.filed_on), None)  # type: ignore[union-attr]
    # None of them with its year (12月5日): the latest, for the run to complete as it completes any.
    month_day = None if filed_on else max((r.filed_month_day for r in rets if r.filed_month_day), default=None)  # type: ignore[union-attr]
    held = {k for r in rets for k in r.tables}  # type: ignore[union-attr]
    kept = [f for r in parts for f in r.findings if _still_stands(form, f, r, held, bool(filed_on or month_day), set_aside)]
    # A table none of them holds is missing from the return once, not once a file.
    missing = [f for f in kept if f.rule == "missing-sheet"]
    kept = [f for f in kept if f.rule != "missing-sheet" or f is next(m for m in missing if m.message == f.message)]
    note = form.finding("tables-combined", file=source.path, county=code, count=len(parts),
                        detail="、".join(f"“{p}”" for p in source.parts))
    person = next((r for r in rets if r.filled_by or r.phone), rets[0])  # type: ignore[union-attr]
    ret = Return(source, code, filed_on, sheets, filled_by=person.filled_by, reviewed_by=person.reviewed_by,  # type: ignore[union-attr]
                 phone=person.phone, filed_month_day=month_day,  # type: ignore[union-attr]
                 tables=tuple(s.key for s in form.sheets if s.key in held))
    return ReadResult(source, ret, (note, *kept, *extra))


def _still_stands(form: Form, f: Finding, part: ReadResult, held: set[str], dated: bool,
                  set_aside: set[tuple[str, str]]) -> bool:
    """A part's finding, once the parts are one return: a table missing from it but present in
    another file is not missing; a date another file gives is not missing; a table set aside
    for another file's takes its findings with it."""
    if f.rule == "missing-sheet":
        return not any(f == form.finding("missing-sheet", file=f.file, county=f.county_code, sheet_label=s.label,
                                          sheet_number=s.number) for s in form.sheets if s.key in held)
    if f.rule == "date-missing":
        return not dated
    if f.sheet and part.ret is not None:
        for key in (k for path, k in set_aside if path == part.source.path):
            own = part.ret.sheets.get(key)
            fields = {x.key for x in form.sheet(key).fields}
            if own is not None and f.sheet == own.name and (not f.field or f.field in fields):
                return False
            # A table set aside that could not be read (a column missing): the file holds it alone,
            # or the finding is about one of its own columns.
            if own is None and (part.ret.tables == (key,) or f.field in fields - {form.sheet(key).key_field.key}):
                return False
    return True


def _source(parts: list[ReadResult]) -> Source:
    """The combined return's source: its parts named together under the folder they share."""
    paths = [r.source.path for r in parts]
    folders = [p.split("/")[:-1] for p in paths]
    shared = os.path.commonprefix(folders)
    names = ["/".join(p.split("/")[len(shared):]) for p in paths]
    shown = "/".join([*shared, "、".join(names)])
    # No digest: the combined return is never cached as one file's content would be (the cache
    # would file its findings under the combined name, not each under its own file).
    return Source(shown, sum(r.source.size for r in parts), "", max(r.source.mtime for r in parts), "combined",
                  parts=tuple(paths), added=max(r.source.added for r in parts))


def _county(r: ReadResult, units: UnitList) -> str:
    """The county a result is for, as resolve will file it."""
    if r.ret is not None:
        return r.ret.county_code if units.by_code(r.ret.county_code) else ""
    return units.find_in_filename(_stem(r.source.member or r.source.path)) or ""


# --- files skipped as no return ----------------------------------------------------------------


def _skipped_files(form: Form, units: UnitList, sources: list[Source], results: list[ReadResult],
                   findings: list[Finding]) -> tuple[list[ReadResult], list[Finding]]:
    """Files skipped as no return (never read, or read and found to hold none of the form's
    tables): each naming a county by its name, its folder's or its content is that county's
    finding; the only thing a county sent, it stands for the county as an error (已退回, and the
    clerk told why), never 未报送 in silence."""
    skipped: list[tuple[Source, str]] = []  # (file, the county it names)
    for s in sources:
        if s.kind == "skip":
            skipped.append((s, "" if os.path.basename(s.path).startswith(NOT_SENT) else _named(s, units)))
    kept_results = []
    for r in results:
        note = next((f for f in r.findings if f.rule == "skipped"), None) if r.ret is None else None
        if note is not None:
            skipped.append((r.source, note.county_code or _named(r.source, units)))
        else:
            kept_results.append(r)
    sent = {_county(r, units) for r in kept_results}
    named = [(s, code) for s, code in skipped if code]
    alone: dict[str, Source] = {}
    for s, code in named:
        if code not in sent:
            alone.setdefault(code, s)  # the first such file stands for the county; the others are noted
    out = [f for f in findings if f.rule != "skipped"]
    for s in sources:
        # Excel's lock file (~$永靖县.xlsx) beside no return of the county's: the workbook was open
        # when the folder was copied, and the return itself did not come. Said to the county, which
        # stays 未报送; beside the return it is nothing.
        name = os.path.basename(s.path)
        if s.kind == "skip" and name.startswith("~$"):
            code = units.find_in_filename(_stem(name[2:]))
            if code and code not in sent:
                out.append(form.finding("lock-file-alone", file=s.path, county=code, detail=name[2:]))
    for s, code in skipped:
        if code and alone.get(code) is s:
            ret = Return(s, code, None, {})
            fault = form.finding("skipped-return", file=s.path, county=code, detail=os.path.basename(s.path))
            kept_results.append(ReadResult(s, ret, (fault,)))
        else:
            out.append(form.finding("skipped", file=s.path, county=code))
    return kept_results, out


def _named(source: Source, units: UnitList) -> str:
    """The county a file's name names, else the nearest folder's (城关区/扫描件.pdf)."""
    parts = source.path.split("/")
    for part in reversed(parts):
        code = units.find_in_filename(_stem(part))
        if code:
            return code
    return ""


def _stem(name: str) -> str:
    return os.path.splitext(os.path.basename(name))[0]
