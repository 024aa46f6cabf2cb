"""Resolve: returns and findings → one status per reporting unit (the roster).

Two files for one county are never added up: the latest 填报日期 stands, then the file
modified last; an undated file ranks oldest. The others are superseded, even when the one
that stands is rejected.

Three steps, so that the runner can guard the one that works on a unit: `gather` sorts the
files by county (all at once), `decide` chooses one unit's standing file, `settle` makes the
roster and the findings as they now stand. `resolve` is the three in a row.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import partial
from pathlib import Path

from ..model import Finding, ReadResult, Return, Roster, Severity, UnitStatus
from ..spec.consolidated import REJECTED_THERE
from ..spec.dates import Dating, as_written_day
from ..spec.form import Form
from ..spec.rules import UNOPENED
from ..spec.units import Unit, UnitList


def county_of(result: ReadResult, units: UnitList) -> str:
    if result.ret is not None:
        return result.ret.county_code
    # An unreadable file still counts against the county its name gives, so the roster
    # says 已退回 rather than 未报送 for it.
    return units.find_in_filename(Path(result.source.member or result.source.path).stem) or ""


@dataclass(frozen=True)
class Gathered:
    """The files sorted by the unit they are for, before any unit's standing file is chosen."""

    today: date
    by_county: dict[str, list[ReadResult]]
    unassigned: tuple[ReadResult, ...]
    per_file: dict[str, list[Finding]]
    # files whose name names one county and whose content another: the file-name county's news
    claimed: dict[str, list[ReadResult]]
    findings: tuple[Finding, ...]  # every finding so far, the dates in the future said
    # every file named for another unit than its content's: it never outranks the content unit's own
    misnamed: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Decision:
    """One unit's status, and what choosing its file said of the others."""

    status: UnitStatus
    extra: tuple[Finding, ...] = ()
    superseded: tuple[str, ...] = ()
    unopened: tuple[tuple[str, str], ...] = ()  # the unit's files this machine could not read (Roster.unopened)


def gather(form: Form, units: UnitList, results: list[ReadResult], findings: list[Finding],
           today: date | None = None, dating: Dating | None = None, latest: date | None = None) -> Gathered:
    """A 填报日期 written without its year is completed (`dating`: the run's date, the report's
    cutoff, the round's year). One after `today` (the run's date) is a slip of the keyboard
    (2061 for 2016): it is said, and ranks as no date, so that it never outranks the county's
    corrected return. `latest`: the latest 填报日期 of the rest of the inbox, when `results`
    are only part of it (an upload), which a stale date is measured against as in a run."""
    today = today or date.today()
    dating = dating or Dating(today)
    results = [_completed(r, dating) for r in results]
    findings = [*findings, *(
        form.finding("date-in-future", file=r.source.path, county=r.ret.county_code,
                     value=as_written_day(r.ret.filed_on))
        for r in results if r.ret is not None and r.ret.filed_on and r.ret.filed_on > today
    ), *(
        form.finding("date-missing", file=r.source.path, county=r.ret.county_code)
        for r in results if r.ret is not None and r.ret.filed_on is None and r.ret.filed_month_day
    ), *_stale(form, results, dating.cutoff, today, latest)]
    by_county: dict[str, list[ReadResult]] = {}
    unassigned = []
    for r in results:
        code = county_of(r, units)
        if code and units.by_code(code):
            by_county.setdefault(code, []).append(r)
        else:
            unassigned.append(r)
    per_file: dict[str, list[Finding]] = {}
    claimed: dict[str, list[ReadResult]] = {}
    by_path = {path: r for r in results for path in r.source.paths}
    told: list[Finding] = []
    misnamed: set[str] = set()
    for i, f in enumerate(findings):
        if _claims_other(f, by_path, units):
            misnamed.add(f.file)
            content = units.by_code(county_of(by_path[f.file], units))
            if f.county_code in by_county and content is not None:
                # The name's unit sent its own return: this file is the content unit's (岷县's
                # return named 漳县（新）.xlsx), and its conflict that unit's to fix. Left under 漳县,
                # 漳县 showed an error its return does not have, and 岷县 none. 漳县 is told the
                # file was not taken for its own, in case it meant a correction.
                named = f.county_code
                f = findings[i] = replace(f, county_code=content.code)
                told.append(form.finding("misnamed-file", file=f.file, county=named, unit=content.name))
            else:
                claimed.setdefault(f.county_code, []).append(by_path[f.file])
        per_file.setdefault(f.file, []).append(f)
    return Gathered(today, by_county, tuple(unassigned), per_file, claimed, (*findings, *told), frozenset(misnamed))


SAME_TIME = 2.0  # seconds: FAT and zip keep modification times to two seconds
STALE_DAYS = 180  # a return filed this long before the round's date is an earlier round's


def _stale(form: Form, results: list[ReadResult], cutoff: date | None, today: date,
           latest: date | None = None) -> list[Finding]:
    """Returns filed half a year or more before the round's date (its cutoff, or else the latest
    填报日期 of the inbox, `latest` standing for the files not among `results`): last year's
    file sent again, whose figures would stand for this round's. Said, so that the county
    checks; its figures are summed as they are."""
    dated = [r for r in results if r.ret is not None and r.ret.filed_on and r.ret.filed_on <= today]
    reference = cutoff or max([*(r.ret.filed_on for r in dated), *([latest] if latest else [])], default=None)
    if reference is None:
        return []
    before = reference - timedelta(days=STALE_DAYS)
    than = f"本期截止日期（{as_written_day(cutoff)}）" if cutoff else f"本期其他报表的填报日期（最晚为{as_written_day(reference)}）"
    return [form.finding("date-stale", file=r.source.path, county=r.ret.county_code, value=as_written_day(r.ret.filed_on),
                         detail=than)
            for r in dated if r.ret.filed_on < before]


def _completed(r: ReadResult, dating: Dating) -> ReadResult:
    """The result with its year-less 填报日期 completed (left without one when no year fits)."""
    if r.ret is None or r.ret.filed_on is not None or not r.ret.filed_month_day:
        return r
    filed = dating.complete(*r.ret.filed_month_day)
    return replace(r, ret=replace(r.ret, filed_on=filed, filed_month_day=None if filed else r.ret.filed_month_day))


def decide(form: Form, unit: Unit, gathered: Gathered) -> Decision:
    """The unit's standing file and status: the latest 填报日期, then the file modified last; an
    undated, unreadable or future-dated file ranks oldest; missing when it sent nothing. Where
    the choice is not clear, the county is told which file stands and why."""
    misnamed = gathered.misnamed

    def rank(r: ReadResult) -> tuple:
        # A blank form sent after the return never stands for it, nor does a copy of the return
        # under another county's name (a wrong attachment forwarded) of the same date.
        filed, *rest = rank_by(gathered.today, r)
        return (_has_figures(r), filed, r.source.path not in misnamed, *rest)

    candidates = gathered.by_county.get(unit.code, [])
    if not candidates and unit.code in gathered.claimed:
        wrong = max(gathered.claimed[unit.code], key=rank)
        return Decision(_status(unit, "rejected", wrong.source, errors=1))
    if not candidates:
        return Decision(_status(unit, "missing"))
    if all(_not_read_here(r, gathered) for r in candidates):
        # This machine could not read the county's file (its permissions, the disk): nothing the
        # county did, so it is never 因数据有误退回 with a workbook to fix. It stands as not yet
        # received, and the file is named beside it as a place the run could not open.
        return Decision(_status(unit, "missing"), unopened=tuple((r.source.path, UNOPENED["not-read-here"])
                                                                 for r in candidates))
    ranked = sorted(candidates, key=rank, reverse=True)
    stands, rest = ranked[0], ranked[1:]
    extra = [form.finding("superseded", file=old.source.path, county=unit.code, detail=stands.source.path,
                          reason=why_it_stands(stands, old, gathered.today, old.source.path in misnamed))
             for old in rest]
    unclear = _unclear(stands, rest, gathered.today, form.reader.correction_words)
    extra += _city_mismatches(form, unit, stands, ranked)
    if unclear:
        extra.append(form.finding("resubmission-unclear", file=stands.source.path, county=unit.code, detail=unclear,
                                  stands=stands.source.path))
    own = [*(f for path in stands.source.paths for f in gathered.per_file.get(path, [])),
           *(f for f in extra if f.file == stands.source.path)]
    errors = sum(f.severity == Severity.ERROR for f in own)
    warnings = sum(f.severity == Severity.WARNING for f in own)
    ret = stands.ret
    status = UnitStatus(
        unit.code, unit.name, unit.city_code, unit.city_name,
        "rejected" if errors or ret is None else "included",
        stands.source, tuple(r.source for r in rest),
        ret.filed_on if ret else None,
        ret.filled_by if ret else "", ret.phone if ret else "",
        errors, warnings, unclear, unreadable=ret is None,
    )
    return Decision(status, tuple(extra), tuple(path for r in rest for path in r.source.paths))


def _city_mismatches(form: Form, unit: Unit, stands: ReadResult, ranked: list[ReadResult]) -> list[Finding]:
    """Where a city's file carried this county's figures and the county sent its own return
    too, each field whose sum differs, filed under the county's standing file (a parent that
    is not its child, whichever stands): one warning a city file, naming both files."""
    out = [form.finding("county-outside-city", file=r.source.path, county=unit.code, city=r.source.city,
                        file_name=r.source.path.rsplit("/", 1)[0], own_city=unit.city_name)
           for r in ranked if r.source.via and r.source.city and r.source.city != unit.city_name]
    own = next((r for r in ranked if r.ret is not None and not r.source.via), None)
    if own is None:
        # Two cities' files carry the county (one forwarded it by mistake), or one city's twice:
        # whichever stands, a copy whose figures differ is said beside it, not only superseded.
        copies = [r for r in ranked if r.ret is not None and r.source.via]
        if len(copies) > 1 and copies[0] is stands:
            for other in copies[1:]:
                differ = [f"{form.field(k).full_label}为{theirs}（后者为{mine}）"
                          for k, theirs, mine in _field_sums(form, stands.ret, other.ret) if theirs != mine]
                if differ:
                    out.append(form.finding("city-copies-differ", file=stands.source.path, county=unit.code,
                                            detail="、".join(differ), city_file=f"{stands.source.city}报来的“{stands.source.path}”",
                                            other_file=f"{other.source.city}报来的“{other.source.path}”"))
        return out
    for city in (r for r in ranked if r.ret is not None and r.source.via):
        differ = [f"{form.field(k).full_label}为{theirs}（本单位报表为{mine}）"
                  for k, theirs, mine in _field_sums(form, city.ret, own.ret) if theirs != mine]
        if differ:
            out.append(form.finding("city-county-mismatch", file=stands.source.path, county=unit.code,
                                    detail="、".join(differ), city_file=f"{city.source.city}报来的“{city.source.path}”",
                                    own_file=own.source.path))
    return out


def _field_sums(form: Form, a, b):
    """Each count both returns hold in full: its key and the two sums."""
    for spec in form.sheets:
        if spec.key not in a.sheets or spec.key not in b.sheets:
            continue
        for f in spec.count_fields:
            x, y = a.sheets[spec.key].values.get(f.key), b.sheets[spec.key].values.get(f.key)
            if x is None or y is None or None in x or None in y:
                continue
            yield f.key, sum(x), sum(y)


def _usable_date(r: ReadResult, today: date) -> date | None:
    return r.ret.filed_on if r.ret is not None and r.ret.filed_on and r.ret.filed_on <= today else None


def why_it_stands(stands: ReadResult, old: ReadResult, today: date, misnamed: bool = False) -> str:
    """What the rule went by, as the superseded file's message says it: never an older-dated
    file called newer. `misnamed`: the old file's name names another county."""
    if old.ret is None:
        return f"本文件已被{old.source.city}退回" if old.source.problem == REJECTED_THERE else "本文件无法读取"
    if _has_figures(stands) and not _has_figures(old):
        return "本文件没有填写数字"
    mine, theirs = _usable_date(old, today), _usable_date(stands, today)
    if misnamed and mine == theirs:
        return "本文件的文件名是另一单位的"
    if theirs and not mine:
        return "本文件没有可用的填报日期"
    if theirs and mine and theirs > mine:
        return "填报日期较晚"
    if stands.source.mtime >= old.source.mtime + SAME_TIME:
        return "填报日期相同，修改时间较晚" if theirs else "两者都没有可用的填报日期，它的修改时间较晚"
    if stands.source.mtime > old.source.mtime:
        return "填报日期相同，修改时间晚了不到两秒" if theirs else "两者都没有可用的填报日期，它的修改时间晚了不到两秒"
    return "填报日期与修改时间都相同，按文件名排在后面"


def _unclear(stands: ReadResult, rest: list[ReadResult], today: date, corrected: tuple[str, ...] = ()) -> str:
    """Why the rule's choice may not be what the county meant: a file that could not be read, or
    has no usable date (undated, or dated after today), or an older date with a later
    modification time (a correction copied in half, a typo in the year), or a file set aside
    whose name says it is the corrected one (`corrected`: such words) where the chosen one's
    does not. Empty when it is clear."""
    why = []
    for r in (stands, *rest):
        name = f"“{r.source.path}”"
        if r.ret is None:
            why.append(f"{name}已被{r.source.city}退回" if r.source.problem == REJECTED_THERE else f"{name}无法读取")
        elif r.ret.filed_on is None:
            why.append(f"{name}没有填报日期")
        elif r.ret.filed_on > today:
            why.append(f"{name}的填报日期（{as_written_day(r.ret.filed_on)}）晚于今天")
    stood = _usable_date(stands, today)
    for r in rest:
        older = _usable_date(r, today)
        if stood and older and older < stood and r.source.mtime > stands.source.mtime:
            why.append(f"“{r.source.path}”的填报日期（{as_written_day(older)}）较早，修改时间却较晚")
        elif (r.ret is not None and older == stood and abs(r.source.mtime - stands.source.mtime) < SAME_TIME
              and not _same_figures(r, stands)):
            # Copies saved together (微信 downloads: 永登县.xlsx, 永登县(1).xlsx), their figures not the
            # same: only the file names' order chose between them.
            why.append(f"“{r.source.path}”的填报日期与之相同、修改时间相差不到两秒，数字却不同")
        elif (r.ret is not None and older == stood and _says(r, corrected) and not _says(stands, corrected)
              and not _same_figures(r, stands)):
            # The dates did not decide, the times did: the county may have saved its correction first.
            why.append(f"“{r.source.path}”的文件名像是改过的一份，却因修改时间较早没有采用")
        elif r.ret is not None and older == stood and _named_later(r, stands) and not _same_figures(r, stands):
            # 红古区v2 beside 红古区v1, 西固区-12月8日 beside 西固区-12月5日: the names say which came later.
            why.append(f"“{r.source.path}”的文件名像是较新的一份，却因修改时间较早没有采用")
        elif r.ret is not None and older == stood and _came_later(r, stands) and not _same_figures(r, stands):
            # The correction copied in with its old modification time kept (cp -p, a USB stick, an
            # unzip) after the first return had been saved into the inbox afresh: the office takes
            # the one put in later, the rule the one modified later.
            why.append(f"“{r.source.path}”放入收件箱较晚，修改时间却较早，数字也不同，没有采用")
    return "；".join(why) if rest else ""


def _came_later(r: ReadResult, stands: ReadResult) -> bool:
    """`r` came into the inbox clearly later than the standing file, though modified earlier.
    Copies made together (one unzip, one folder copied) come in within SAME_TIME of each other."""
    came, stood = r.source.added, stands.source.added
    return bool(came and stood) and came >= stood + SAME_TIME and r.source.mtime < stands.source.mtime


def _same_figures(a: ReadResult, b: ReadResult) -> bool:
    """The two returns hold the same tables, townships and figures (the same return saved twice,
    or as .xlsx and .xls). A 合计 row one of them lacks is no difference: a city's workbook
    carries its counties' townships without their 合计, whose figures are the townships' sums."""
    if a.ret is None or b.ret is None or a.ret.sheets.keys() != b.ret.sheets.keys():
        return False
    return all((s.townships, s.values) == (t.townships, t.values) and (s.total == t.total or not s.total or not t.total)
               for s, t in ((a.ret.sheets[k], b.ret.sheets[k]) for k in a.ret.sheets))


_VERSION = re.compile(r"(?:(?<![A-Za-z])[vV]|第)\s*(\d{1,3})(?!\d)")  # v2, V3, 第2版, 第3稿
_NAMED_DAY = re.compile(r"(?<!\d)(\d{1,2})月(\d{1,2})(?!\d)")  # 12月8日


def _named_later(r: ReadResult, stands: ReadResult) -> bool:
    """`r`'s file name says a later version or day than the standing file's, both saying one."""
    mine, theirs = (Path(x.source.member or x.source.path).stem for x in (r, stands))
    for pattern in (_VERSION, _NAMED_DAY):
        a, b = pattern.search(mine), pattern.search(theirs)
        if a and b and tuple(map(int, a.groups())) != tuple(map(int, b.groups())):
            return tuple(map(int, a.groups())) > tuple(map(int, b.groups()))
    return False


def _says(r: ReadResult, words: tuple[str, ...]) -> bool:
    """The file's name, or the zip or folder it came in (城关区（修改）.zip/620102_城关区.xlsx), says it."""
    name = str(Path(r.source.path).with_suffix(""))
    return any(w in name for w in words)



def undecided(unit: Unit, gathered: Gathered, fault: Finding) -> Decision:
    """A unit whose file could not be chosen, for a fault of this program: rejected, its files
    named, its figures in no sum (the fault is its one finding)."""
    candidates = gathered.by_county.get(unit.code, []) or gathered.claimed.get(unit.code, [])
    source = candidates[0].source if candidates else None
    return Decision(_status(unit, "rejected", source, errors=1), (fault,))


def settle(units: UnitList, gathered: Gathered, decisions: list[Decision]) -> tuple[Roster, list[Finding]]:
    """The roster, and the findings as they now stand. A superseded file's own findings are
    kept (findings.csv lists them, validation.html folds them apart) but count against no
    unit: the roster counts the standing file's alone."""
    extra = [f for d in decisions for f in d.extra]
    unopened = (*_unopened(gathered), *(place for d in decisions for place in d.unopened))
    return (Roster(tuple(d.status for d in decisions), gathered.unassigned, unopened=unopened),
            [*gathered.findings, *extra])


def _not_read_here(r: ReadResult, gathered: Gathered) -> bool:
    return r.ret is None and any(f.rule == "not-read-here" for f in gathered.per_file.get(r.source.path, []))


def _unopened(gathered: Gathered) -> tuple[tuple[str, str], ...]:
    """Each place of no known county the run could not open (a damaged zip, a folder it may not
    enter), with why in a few words."""
    out = []
    for r in gathered.unassigned:
        rule = next((f.rule for f in gathered.per_file.get(r.source.path, []) if f.rule in UNOPENED), None)
        if rule:
            out.append((r.source.path, UNOPENED[rule]))
    return tuple(out)


def same_as_another(form: Form, roster: Roster, results: list[ReadResult]) -> list[Finding]:
    """A warning for each included unit whose standing return has another included unit's
    townships and every one of its figures: a neighbour's return sent on with its 填报单位
    changed (or the wrong file sent), which would count the neighbour's figures twice. Which of
    the two is the copy the office finds out: each hears of the other."""
    standing = {u.source.path: u for u in roster.units if u.status == "included" and u.source}
    fields = {spec.key: tuple(f.key for f in spec.fields) for spec in form.sheets}
    # By one table's townships and one column's figures first (alike in two units' returns only
    # by a copy), and only then by every table's townships and figures.
    by_first: dict[tuple, list] = {}
    for r in results:
        unit = standing.get(r.source.path)
        if unit is None or r.ret is None:
            continue
        first = next((s for s in r.ret.sheets.values() if s.townships), None)
        if first is not None:
            by_first.setdefault((first.townships, first.values.get(fields.get(first.key, ("",))[-1])), []).append(
                (unit, r.ret))
    out = []
    for group in by_first.values():
        alike: dict[tuple, list] = {}
        for unit, ret in group if len(group) > 1 else ():
            every = tuple((key, s.townships, tuple(map(s.values.get, fields.get(key, ())))) for key, s in ret.sheets.items())
            alike.setdefault(every, []).append(unit)
        for same in alike.values():
            for unit in same if len(same) > 1 else ():
                out.append(form.finding("same-as-another", file=unit.source.path, county=unit.code,
                                        other="、".join(o.name for o in same if o is not unit)))
    return out


def township_from_another(form: Form, roster: Roster, results: list[ReadResult], tables=None) -> list[Finding]:
    """A warning at each township of an included unit's return whose name and figures, in every
    table listing it, are another included unit's township's, figure for figure, five or more
    not 0: a row copied from a neighbour's return, which counts its figures twice in the
    province. Each of the two hears of the other. Rows are first matched by the first table's
    names and figures (in the run's frame, else a dict of the rows as tuples), and only those
    alike across units compared in every table. Two returns alike in every township are same-as-another's."""
    import numpy as np
    import pandas as pd

    from .tabulate import ALIKE_FIGURES, alike_rows

    standing = {u.source.path: u for u in roster.units if u.status == "included" and u.source}
    first = form.sheets[0].key
    if tables is not None and first in tables.sheets:
        # The run's one frame of the first table's rows says at C speed which returns share a
        # row with another's (a few, or none): only those are looked at row by row.
        frame = tables.sheets[first].frame
        alike = alike_rows(frame["_ret"].to_numpy(), [
            pd.util.hash_array(frame["township"].to_numpy(dtype=object)).astype(np.int64),
            *(frame[f.key].to_numpy(dtype="int64", na_value=-1) for f in form.sheets[0].count_fields)],
            same_owner=False) if not frame.empty else set()
        sharing = {tables.returns[i].source.path for i in alike}
        standing = {path: u for path, u in standing.items() if path in sharing}
    entries: list[tuple[Unit, Return]] = []
    by_row: dict[tuple, list[int]] = {}  # a row of the first table → the entries listing it
    for r in results:
        unit = standing.get(r.source.path)
        sheet = r.ret.sheets.get(first) if r.ret is not None else None
        if unit is None or sheet is None or not sheet.townships:
            continue
        entries.append((unit, r.ret))
        for row in set(zip(*sheet.values.values())):
            by_row.setdefault(row, []).append(len(entries) - 1)
    pairs = {(a, b) for group in by_row.values() if len(group) > 1
             for a in group for b in group if entries[a][0].code < entries[b][0].code}
    out = []
    for (unit_a, ret_a), (unit_b, ret_b) in sorted(((entries[a], entries[b]) for a, b in pairs),
                                                   key=lambda p: (p[0][0].code, p[1][0].code)):
        listed_a, listed_b = ret_a.township_figures(), ret_b.township_figures()
        alike = [name for name, figures in listed_a.items() if listed_b.get(name) == figures
                 and sum(1 for _, row in figures for v in row if v) >= ALIKE_FIGURES]
        if not alike or len(alike) == len(listed_a) == len(listed_b):
            continue
        for name in alike:
            out.append(_copied(form, unit_a, ret_a, name, f"{unit_b.name}的“{name}”"))
            out.append(_copied(form, unit_b, ret_b, name, f"{unit_a.name}的“{name}”"))
    return out


def _copied(form: Form, unit: Unit, ret: Return, township: str, other: str) -> Finding:
    sheet = next(s for s in ret.sheets.values() if township in s.townships)
    return form.finding("township-copied", file=sheet.file or ret.source.path, county=unit.code, sheet=sheet.name,
                        cell=sheet.township_cell(sheet.townships.index(township)), field="township",
                        value=township, other=other)


def resolve(form: Form, units: UnitList, results: list[ReadResult], findings: list[Finding],
            today: date | None = None,
            each: Callable[[list[Unit], Callable[[Unit], Decision]], list[Decision]] | None = None,
            ) -> tuple[Roster, list[Finding]]:
    """gather, decide for every unit (through `each`, the runner's guard, when given), settle."""
    gathered = gather(form, units, results, findings, today)
    decide_one = partial(decide, form, gathered=gathered)
    decisions = each(list(units.units), decide_one) if each else [decide_one(u) for u in units.units]
    return settle(units, gathered, decisions)


def _status(unit: Unit, status: str, source=None, *, errors: int = 0) -> UnitStatus:
    return UnitStatus(unit.code, unit.name, unit.city_code, unit.city_name, status, source, (), None, "", "", errors, 0)


CONFLICT = "unit-conflict"


def _claims_other(f: Finding, by_path: dict[str, ReadResult], units: UnitList) -> bool:
    """A file-name/content conflict filed under the file-name county, not the content's."""
    return (f.rule == CONFLICT and bool(f.county_code) and f.file in by_path and units.by_code(f.county_code) is not None
            and county_of(by_path[f.file], units) != f.county_code)


def _has_figures(r: ReadResult) -> bool:
    """A return with a township or a total in some table: not the blank form sent back."""
    return r.ret is not None and any(s.townships or any(s.total.values()) for s in r.ret.sheets.values())


def rank_by(today: date, r: ReadResult) -> tuple:
    filed = r.ret.filed_on if r.ret is not None and r.ret.filed_on and r.ret.filed_on <= today else date.min
    return (filed, r.source.mtime, r.source.path)


def with_warning_counts(roster: Roster, extra: tuple[Finding, ...] | list[Finding]) -> Roster:
    """The roster's warning counts with warnings found after it was made (across rounds, or a
    fault at a later step): such a county gets its workbook back, marked, to confirm or
    explain the figures."""
    warned: dict[str, int] = {}
    for f in extra:
        if f.severity == Severity.WARNING:
            warned[f.file] = warned.get(f.file, 0) + 1
    if not warned:
        return roster
    return replace(roster, units=tuple(
        replace(u, warnings=u.warnings + warned[u.source.path]) if u.source and u.source.path in warned else u
        for u in roster.units))
