"""A city's (市州's) part of the submission page, apart from HTTP: its counties' standing and its
totals, and what it uploads.

A city uploads a county's return on the county's behalf, judged exactly as the county's own
upload would be (the desk's own path: the same rules, the other-unit rule against the county
chosen) and stored under the county's name; or its own workbook (one file holding several of
its counties' returns, a city run's consolidated.xlsx, a summary with counties as rows),
judged by run/check as any inbox file is and stored under the city's name. Whatever the
reader finds in such a workbook is shown county by county: today the reader finds one
county's return in a file; when it finds several (each a part below the file's path,
`620100_兰州市_市州报送_….xlsx/安定区`), each is its county's result here, as it is in the roster.

The city's totals are the report's own: stages/consolidate over its included counties'
standing returns, each rate from the summed counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from ..model import Finding, ReadResult, Roster, Severity, UnitStatus
from ..run.check import OTHER_UNIT, Checked, Counted, check_files, file_findings, staged_source
from ..run.reading import read_all
from ..run.runner import Guard
from ..spec.form import Form
from ..spec.units import Unit, UnitList
from ..spec.wording import table_rate
from ..stages.consolidate import consolidate, rate_of
from ..stages.read.city import flattened
from ..stages.resolve import gather
from ..stages.tabulate import tabulate
from ..store.cache import ReadCache
from ..store.inbox import Note
from ..store.kinds import READABLE
from ..store.links import city_key
from ..store.uploads import CITY_MARK, claim, free_city_name, page_upload, store_city_upload, upload_suffix
from .desk import STAMP, Desk, renamed, store_failure, warning_keys, why_standing
from .figures import SheetFigures, figures
from .outcomes import Incoming, Outcome, Standing

CONTENT = ""  # the clerk leaves it to the file's content to say whose return it is
WHOLE = "city"  # the city's own workbook, holding several counties' returns


@dataclass(frozen=True)
class City:
    code: str
    name: str
    counties: tuple[Unit, ...]

    @property
    def key(self) -> str:
        """Its key among the page's records (tokens, refusals, versions): apart from a unit's code."""
        return city_key(self.code)

    def county(self, code: str) -> Unit | None:
        return next((u for u in self.counties if u.code == code), None)


def cities_of(units: UnitList) -> dict[str, City]:
    """Every city of the units list, by code, in the list's order; its counties are the units
    whose city_code is its code."""
    return {code: City(code, name, tuple(u for u in units.units if u.city_code == code)) for code, name in units.cities}


# --- what a city sends ------------------------------------------------------------------------


@dataclass(frozen=True)
class CountyPart(Counted):
    """One county's return in a city's workbook, as the check and the roster see it."""

    unit: Unit
    findings: tuple[Finding, ...]
    figures: tuple[SheetFigures, ...]
    standing: str = ""  # the file (or part) that stands for the county now, when it is another
    why_not: str = ""  # and why, by the report's rule


@dataclass
class CityOutcome:
    """What a city's own workbook came to, for the page and for JSON alike."""

    status: str  # accepted | refused | failed
    code: int  # HTTP status
    checked: Checked | None
    filename: str
    counties: tuple[CountyPart, ...] = ()
    file_findings: tuple[Finding, ...] = ()  # the file's own, no county of this city's
    stored: str = ""
    unchanged: bool = False
    when: str = ""
    superseded: tuple[str, ...] = ()  # the city's earlier workbooks this one replaces (kept in .versions/)
    explanation: str = ""
    note_failed: str = ""
    failure: str = ""


@dataclass
class CitySent:
    """One upload from a city's page: a county's return (`outcome`, the county's own receipt), or
    the city's workbook (`workbook`); `note`: what the clerk should do when the file could not
    be told as one of the city's counties' returns."""

    county: Unit | None = None
    outcome: Outcome | None = None
    workbook: CityOutcome | None = None
    note: str = ""

    @property
    def code(self) -> int:
        return self.outcome.code if self.outcome else self.workbook.code if self.workbook else 400


def submit(desk: Desk, city: City, choice: str, filename: str, data: bytes, explanation: str = "") -> CitySent:
    """The city's upload, as the clerk said it: a county's code (its return, on its behalf),
    WHOLE (the city's workbook), or CONTENT (whose it is, the file says: one county's return
    goes as that county's, several counties' as the city's workbook)."""
    unit = city.county(choice)
    if unit is not None:
        outcome = _for_county(desk, city, unit, filename, data, explanation)
        other = outcome.checked is not None and any(f.rule in OTHER_UNIT for f in outcome.checked.findings)
        note = _wrong_county(desk, city, unit, outcome.checked, filename) if outcome.status == "refused" and other else ""
        return CitySent(unit, outcome, note=note)
    if choice == WHOLE:
        return _as_workbook(desk, city, filename, data, explanation)
    codes, checked = identify(desk, filename, data)
    ours = [c for c in codes if city.county(c)]
    if len(codes) == 1 and ours:
        unit = city.county(ours[0])
        return CitySent(unit, _for_county(desk, city, unit, filename, data, explanation))
    if len(codes) > 1:
        return _as_workbook(desk, city, filename, data, explanation)
    # Nobody, or another city's county: refused as it was read, and the clerk told what to do.
    strangers = [c for c in codes if not city.county(c)]
    extra = tuple(_not_ours(desk.form, desk.units, city, checked.source.path, c) for c in strangers)
    checked = replace(checked, findings=_sorted((*extra, *checked.findings)))
    when = datetime.now().strftime(STAMP)
    refused = CityOutcome("refused", 422, checked, filename, file_findings=checked.findings, when=when)
    noun, city_noun = desk.form.unit_noun, desk.form.city_noun
    read = checked.result.ret is not None or bool(checked.parts)
    # A file not read at all (a zip, a damaged file) is told why by its findings: "choose the
    # county" beside "unzip it first" said two things at once.
    note = (_elsewhere(desk, city, strangers[0]) if strangers else
            f"文件中没有读到本{city_noun}所辖的{noun}：请在“报送的是”中选定是哪个{noun}的报表，"
            "或在表头写明填报单位后重新上传。" if read else "")
    return CitySent(workbook=refused, note=note)


def _as_workbook(desk: Desk, city: City, filename: str, data: bytes, explanation: str) -> CitySent:
    """The city's workbook, and when it is refused for some counties' errors, which counties'
    parts were fine: `make report` counts those, and the clerk may send them apart."""
    outcome = submit_workbook(desk, city, filename, data, explanation)
    if outcome.status != "refused" or outcome.checked is None:
        return CitySent(workbook=outcome)
    wrong = {f.county_code for f in outcome.checked.findings if f.severity == Severity.ERROR}
    fine = [desk.units.by_code(c).name for c in _counties_in(desk.units, outcome.checked)
            if c not in wrong and city.county(c) is not None]
    if not fine or "" in wrong:
        return CitySent(workbook=outcome)
    bad = "、".join(desk.units.by_code(c).name for c in _counties_in(desk.units, outcome.checked) if c in wrong)
    note = (f"{'、'.join(fine)}的部分没有错误，因{bad}的报表有错误，整个工作簿未予接收：请改正后重新上传，"
            f"或在“报送的是”中选定{fine[0]}等单位，逐个上传它们的报表。")
    return CitySent(workbook=outcome, note=note)


def _wrong_county(desk: Desk, city: City, chosen: Unit, checked: Checked | None, filename: str) -> str:
    """What the clerk should do when the file chosen as one county's is another's: choose that
    county, when it is the city's own; else it is not the city's to send."""
    ret = checked.result.ret if checked is not None else None
    whose = (ret.county_code if ret is not None else "") or desk.units.find_in_filename(Path(filename or "").stem) or ""
    if whose and city.county(whose) is None:
        return _elsewhere(desk, city, whose)
    return f"文件内容不是所选的{chosen.name}的报表：请在“报送的是”中重新选择，或选“按文件内容判断”。"


def _elsewhere(desk: Desk, city: City, code: str) -> str:
    """A return of a county another city governs: not this city's to send, and whose it is."""
    unit = desk.units.by_code(code)
    if unit is None:
        return f"文件不是本{desk.form.city_noun}所辖{desk.form.unit_noun}的报表，未予接收。"
    return (f"这是{unit.city_name}{unit.name}的报表，{unit.name}不是{city.name}所辖的{desk.form.unit_noun}，"
            f"未予接收：{city.name}只能报送本{desk.form.city_noun}所辖{desk.form.unit_noun}的报表。"
            f"请由{unit.name}用自己的链接报送，或交{unit.city_name}报送。")


def _for_county(desk: Desk, city: City, unit: Unit, filename: str, data: bytes, explanation: str) -> Outcome:
    """The county's own path, as if its clerk had uploaded it; the page notes that the city sent it."""
    return desk.submit_many([Incoming(unit, filename, data, explanation, by_city=city.code)])[0]


def identify(desk: Desk, filename: str, data: bytes) -> tuple[list[str], Checked]:
    """Whose return(s) the file holds, read as `make report` would read it under the clerk's own
    file name (its content first; the name when the content names nobody): the counties' codes,
    in the units list's order, and what reading found. Only read, in the page's worker, never
    validated: the county's own path then checks the file whole under its inbox name, so one
    upload is validated once. Read apart from the page's cache, which keeps only what was read
    under the names files have in the inbox."""
    guard = Guard(desk.form)
    name = Path(filename or "").stem + upload_suffix(filename, data[:8])
    source = staged_source(name or "上传的报表.xlsx", data, datetime.now().timestamp())
    readable = [source] if source.kind in READABLE else []
    read = read_all(readable, {source.path: data}, desk.form, desk.units, desk.passwords, ReadCache(None, ""), guard,
                    reader=desk.scheduling.get("reader"))
    desk.log_faults(guard)
    # A city's workbook (a sheet per county) is read as one result holding its counties' parts,
    # as `make report` reads it: taken apart here too, or it named no county and was refused.
    results, own = flattened(read)
    whole = next((r for r in read if r.source.path == source.path), ReadResult(source, None, ()))
    parts = tuple(results) if [r.source.path for r in results] not in ([], [source.path]) else ()
    found = (*file_findings(desk.form, [source], desk.units), *own, *(f for r in results for f in r.findings))
    checked = Checked(source, whole, _sorted(found), parts)
    return _counties_in(desk.units, checked), checked


def _counties_in(units: UnitList, checked: Checked) -> list[str]:
    found = {r.ret.county_code for r in checked.results if r.ret is not None and r.ret.county_code}
    return [u.code for u in units.units if u.code in found]


def _not_ours(form: Form, units: UnitList, city: City, file: str, code: str) -> Finding:
    """A return of a county that is not the city's: refused, as a county's link refuses another's."""
    return form.finding("other-unit", file=file, detail=_name(units, code), unit=f"{city.name}所辖{form.unit_noun}")


def judge_workbook(desk: Desk, city: City, name: str, data: bytes, when: datetime) -> Checked:
    """The city's workbook under the name it will have in the inbox, judged by run/check as any
    inbox file (one validation, what resolve says of a file by itself), and refused for any
    return in it that is not one of the city's counties'."""
    guard = Guard(desk.form)
    source = staged_source(name, data, when.timestamp())
    files = check_files([source], {source.path: data}, desk.form, desk.units, passwords=desk.passwords,
                        cache=desk.cache, guard=guard, **desk.scheduling)
    desk.log_faults(guard)
    checked = files.checked()[source.path]
    judged = gather(desk.form, desk.units, list(files.results), list(files.findings)).findings
    own = [f for f in judged if _within(f.file, source.path)]
    strangers = [c for c in _counties_in(desk.units, checked) if city.county(c) is None]
    extra = [_not_ours(desk.form, desk.units, city, source.path, c) for c in strangers]
    return replace(checked, findings=_sorted((*extra, *own)))


def submit_workbook(desk: Desk, city: City, filename: str, data: bytes, explanation: str = "") -> CityOutcome:
    """The city's own workbook: judged (judge_workbook), refused on any error, else stored under
    the city's name; the city's earlier workbooks whose every county this one holds move to
    .versions/city-<code>/. An upload identical to one of the city's workbooks in the inbox is
    acknowledged, not stored again."""
    when = datetime.now()
    name = free_city_name(desk.inbox, city.code, city.name, when, upload_suffix(filename, data[:8]))
    checked = judge_workbook(desk, city, name, data, when)
    checked_at = datetime.now().strftime(STAMP)
    if checked.errors:
        desk.save_refused(desk.refused | {city.key: (checked_at, checked.errors)})
        return _told(desk, city, CityOutcome("refused", 422, checked, filename, when=checked_at))
    state = desk.state
    assert state is not None
    mine = own_workbooks(city, state)
    twin = next((c for c in mine if c.source.sha256 == checked.source.sha256), None)
    if twin is not None:
        outcome = CityOutcome("accepted", 200, twin, filename, stored=twin.source.path, unchanged=True,
                              when=datetime.fromtimestamp(twin.source.mtime).strftime(STAMP))
        return _noted(desk, _told(desk, city, outcome), explanation, twin)
    covered = set(_counties_in(desk.units, checked))
    superseded = tuple(c.source.path for c in mine if set(_counties_in(desk.units, c)) <= covered)
    try:
        with claim(desk.inbox):
            stored = store_city_upload(desk.inbox, city.code, data, checked.source.path, superseded)
    except OSError as e:
        return CityOutcome("failed", 503, None, filename, when=checked_at, failure=store_failure(e))
    checked = renamed(checked, stored.path.name, stored.mtime)
    if city.key in desk.refused:
        desk.save_refused({k: v for k, v in desk.refused.items() if k != city.key})
    desk.refresh_after_storing()
    outcome = CityOutcome("accepted", 200, checked, filename, stored=stored.path.name,
                          when=datetime.fromtimestamp(stored.mtime).strftime(STAMP), superseded=superseded)
    return _noted(desk, _told(desk, city, outcome), explanation, checked)


def _noted(desk: Desk, outcome: CityOutcome, explanation: str, checked: Checked) -> CityOutcome:
    """The 上报说明 given with the workbook, kept for the warnings it has now."""
    if explanation:
        outcome.note_failed = desk.keep_note(checked.source.path, Note(explanation, warning_keys(checked.findings)))
    note = desk.notes.get(checked.source.path)
    outcome.explanation = note.words if note else ""
    return outcome


def _told(desk: Desk, city: City, outcome: CityOutcome) -> CityOutcome:
    """The outcome county by county: each return the workbook holds, its findings and figures,
    and, once stored, whether it stands for its county (another of the county's files may, by
    the report's rule); what concerns no county of the city is the file's own."""
    checked = outcome.checked
    if checked is None:
        return outcome
    parts = []
    by_code = {r.ret.county_code: r for r in checked.results if r.ret is not None and r.ret.county_code}
    for code in _counties_in(desk.units, checked):
        unit = city.county(code)
        if unit is None:
            continue
        result = by_code[code]
        findings = tuple(f for f in checked.findings if f.county_code == code)
        standing, why = "", ""
        if outcome.status == "accepted":
            status = desk.status_of(code)
            now = status.source.path if status.source else ""
            if now == result.source.path:
                findings = tuple(desk.standing_findings(code)) or findings  # with what the round adds
            else:
                standing = now
                why = why_standing(status, Checked(result.source, result, findings)) if now else ""
        parts.append(CountyPart(unit, _sorted(findings), figures(desk.form, result.ret), standing, why))
    told = {p.unit.code for p in parts}
    outcome.counties = tuple(parts)
    outcome.file_findings = _sorted(f for f in checked.findings if f.county_code not in told)
    return outcome


def own_workbooks(city: City, state: Standing) -> list[Checked]:
    """The city's own workbooks in the inbox (named by its page), as last judged."""
    prefix = f"{city.code}_{city.name}_{CITY_MARK}_"
    return [c for name, c in sorted(state.checked.items()) if name.startswith(prefix)]


def _within(path: str, file: str) -> bool:
    return path == file or path.startswith(file + "/")


def _sorted(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    return tuple(sorted(set(findings), key=lambda f: f.sort_key))


# --- what a city sees -------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """A city's units on the office's roster, and how many are in each status."""

    city: City
    units: tuple[UnitStatus, ...]
    counts: dict[str, int]


def city_groups(roster: Roster, cities: dict[str, City]) -> list[Group]:
    """The roster city by city, in the units list's order of cities."""
    by_city: dict[str, list[UnitStatus]] = {}
    for u in roster.units:
        by_city.setdefault(u.city_code, []).append(u)
    return [Group(city, tuple(by_city.get(code, ())),
                  {s: sum(1 for u in by_city.get(code, ()) if u.status == s) for s in ("included", "rejected", "missing")})
            for code, city in cities.items()]


@dataclass(frozen=True)
class CountyRow:
    status: UnitStatus
    how: str  # how its standing return came: 本单位网上报送, 兰州市代报, 随兰州市工作簿报送, 收件箱
    explanation: str
    findings: tuple[Finding, ...]
    refused: tuple[str, int] | None  # its latest refused upload (time, errors)
    versions: int


@dataclass(frozen=True)
class Totals:
    """The city's sums over its included counties, each rate from the sums."""

    included: int
    expected: int
    sheets: tuple[SheetFigures, ...]
    rates: tuple[tuple[str, str], ...]  # (label, rate as the report's tables write it)


@dataclass(frozen=True)
class Workbook:
    name: str
    when: float
    counties: tuple[str, ...]  # the names of the counties it holds
    standing: tuple[str, ...]  # of which it stands for these


@dataclass(frozen=True)
class CityView:
    city: City
    rows: tuple[CountyRow, ...]
    counts: dict[str, int]
    totals: Totals
    workbooks: tuple[Workbook, ...]
    refused: tuple[str, int] | None  # the city's latest refused workbook (time, errors)


@dataclass
class CityBoard:
    """What each city's page shows, from the desk's state; the totals worked out once for each
    set of standing returns."""

    desk: Desk
    cities: dict[str, City] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.cities = self.cities or cities_of(self.desk.units)
        self._totals: dict[tuple, Totals] = {}

    def view(self, city: City, state: Standing) -> CityView:
        desk = self.desk
        rows = []
        for unit in city.counties:
            status = desk.status_of(unit.code, state)
            path = status.source.path if status.source else ""
            rows.append(CountyRow(status, self.how(status, state), self.explanation(status, state),
                                  tuple(desk.standing_findings(unit.code, state)), desk.refused.get(unit.code),
                                  state.versions.get(unit.code, 0) if path else 0))
        counts = {s: sum(1 for r in rows if r.status.status == s) for s in ("included", "rejected", "missing")}
        books = []
        for c in own_workbooks(city, state):
            held = _counties_in(desk.units, c)
            stands = [code for code in held if _within(_standing_path(desk, code, state), c.source.path)]
            books.append(Workbook(c.source.path, c.source.mtime, tuple(_name(desk.units, x) for x in held),
                                  tuple(_name(desk.units, x) for x in stands)))
        return CityView(city, tuple(rows), counts, self.totals(city, state), tuple(books), desk.refused.get(city.key))

    def how(self, status: UnitStatus, state: Standing) -> str:
        """How the county's standing return came, in the clerk's words."""
        if status.source is None:
            return ""
        path = status.source.path
        via = self.via_city(status, state)
        if via:
            return via
        if path.startswith(f"{status.code}_{status.name}_") and page_upload(path):
            return "本单位网上报送"
        return "放入收件箱"

    def via_city(self, status: UnitStatus, state: Standing) -> str:
        """兰州市代报 or 随兰州市工作簿报送 when the standing return came through a city's page; else ""."""
        if status.source is None:
            return ""
        path = status.source.path
        sent_by = self.desk.by_city.get(path)
        if sent_by:
            return f"{self._city_name(sent_by)}代报"
        for city in self.cities.values():
            if path.startswith(f"{city.code}_{city.name}_{CITY_MARK}_"):
                return f"随{city.name}工作簿报送"
        return ""

    def explanation(self, status: UnitStatus, state: Standing) -> str:
        """The 上报说明 of the county's standing return: its file's, or the city workbook's it is part of."""
        if status.source is None:
            return ""
        path = status.source.path
        if path not in state.checked:
            while "/" in path and path not in state.checked:
                path = path.rsplit("/", 1)[0]
        return self.desk.explanation_of(path)

    def totals(self, city: City, state: Standing) -> Totals:
        desk = self.desk
        statuses = tuple(desk.status_of(u.code, state) for u in city.counties)
        key = (city.code, tuple((s.code, s.status, s.source.path if s.source else "", s.source.sha256 if s.source else "")
                                for s in statuses))
        if key not in self._totals:
            if len(self._totals) > 256:
                self._totals.clear()
            self._totals[key] = city_totals(desk.form, city, statuses,
                                            [desk.current(s.code, state) for s in statuses if s.status == "included"])
        return self._totals[key]

    def _city_name(self, code: str) -> str:
        city = self.cities.get(code)
        return city.name if city else code


def city_totals(form: Form, city: City, statuses: tuple[UnitStatus, ...], standing: list[Checked | None]) -> Totals:
    """The city's totals as the report sums them (stages/consolidate over the city's counties),
    each rate from the summed counts, never an average of the counties' rates."""
    returns = [c.result.ret for c in standing if c is not None and c.result.ret is not None]
    sums = consolidate(form, UnitList(city.counties), Roster(statuses), tabulate(form, returns)).province
    sheets = tuple(SheetFigures(spec.key, f"{spec.number}{spec.label}",
                                tuple((f.key, f.full_label, f.unit, int(sums[f.key])) for f in spec.count_fields))
                   for spec in form.sheets)
    rates = tuple((r.label, table_rate(*rate_of(form, sums, r.key))) for r in form.rates)
    return Totals(int(sums["units_included"]), int(sums["units_expected"]), sheets, rates)


def _standing_path(desk: Desk, code: str, state: Standing) -> str:
    source = desk.status_of(code, state).source
    return source.path if source else ""


def _name(units: UnitList, code: str) -> str:
    unit = units.by_code(code)
    return unit.name if unit else code
