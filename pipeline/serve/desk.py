"""The submission page's state, apart from HTTP: every inbox file's check, the roster as a report
run would make it, what each upload came to, the 上报说明 counties gave, the units that
tried and were refused, and the returns cities uploaded on their counties' behalf."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path

from ..errors import reason
from ..model import Finding, Previous, ReadResult, Roster, Severity, Source, UnitStatus
from ..run.check import (
    OTHER_UNIT,
    Checked,
    FilesChecked,
    Upload,
    across_rounds,
    assembled,
    check_files,
    check_uploads,
    choose,
    staged_source,
    with_findings,
)
from ..run.runner import Guard
from ..spec.dates import Dating, as_written_day, dating
from ..spec.form import Form
from ..spec.units import Unit, UnitList
from ..stages.resolve import county_of, with_warning_counts
from ..store.archives import DEFAULT_ZIP_DEPTH, zips_down_to
from ..store.cache import Hashes, ReadCache
from ..store.inbox import Note, take_view
from ..store.rounds import RoundWatch
from ..store.uploads import (
    claim,
    free_name,
    load_by_city,
    load_notes,
    load_refused,
    save_by_city,
    save_notes,
    save_refused,
    store_upload,
    upload_suffix,
    version_counts,
)
from .figures import changes, figures
from .outcomes import Incoming, Outcome, Standing, Taken
from .worker import CheckWorker

SERVE_LOG = "serve-errors.log"  # the submission page's faults, for the maintainers (a report run has its own)

EXPLANATION_LIMIT = 500  # characters: a short note beside a warning, not a document


def note_text(value: object) -> str:
    """A 上报说明 as the page's box counts it: a line break one character (a browser sends it as
    two, CRLF, and a note the box took was refused as too long)."""
    return str(value or "").replace("\r\n", "\n").replace("\r", "\n").strip()
STAMP = "%Y-%m-%d %H:%M:%S"


@dataclass
class Desk:
    """The server's state: every inbox file's check, the roster as a report run would make it,
    and the notes counties gave. Changed only inside `lock` (one thread at a time).

    Files are judged by the report's own path (run/check) over a view of the inbox; a file is
    checked once, and again only when it changes; what was read or validated before is kept
    in a read cache in memory (the outbox's cache is `make report`'s). Reading happens in the
    `worker` process, within its limits (none: here, as the tests' desks do)."""

    inbox: Path
    form: Form
    units: UnitList
    passwords: tuple[str, ...] = ()
    outbox: Path | None = None  # where a fault of this program is logged
    worker: CheckWorker | None = None
    cutoff: str = ""  # the report's 截至 in the settings: completes a 填报日期 written without its year
    rounds: RoundWatch | None = None  # with ROUND=: each return compared with the previous round
    state: Standing | None = None
    notes: dict[str, Note] = field(default_factory=dict)  # inbox file name → its 上报说明
    # unit code → (time, number of errors) of its latest refused upload: a refused file is
    # stored nowhere, but the office should see that the county tried (kept in .versions/).
    refused: dict[str, tuple[str, int]] = field(default_factory=dict)
    by_city: dict[str, str] = field(default_factory=dict)  # inbox file name → the city that sent it for its county
    lock: threading.Lock = field(default_factory=threading.Lock)
    cache: ReadCache = field(default_factory=lambda: ReadCache(None, ""))
    hashes: Hashes = field(default_factory=lambda: Hashes(None))  # in memory: the outbox's cache is make report's
    across: dict[tuple[str, str], tuple[Finding, ...]] = field(default_factory=dict)  # (file, sha256) → findings
    say: Callable[[str], None] | None = None  # where a change of the previous round is told (the server's log)
    zip_depth: int = DEFAULT_ZIP_DEPTH  # how many zips deep returns are looked for (settings)

    def __post_init__(self) -> None:
        self.files: dict[str, Checked] = {}  # every file checked, by name, while it is unchanged

    def load(self) -> None:
        """The notes and refusals the page keeps on disk, from before a restart."""
        self.notes = load_notes(self.inbox)
        self.refused = load_refused(self.inbox)
        self.by_city = load_by_city(self.inbox)

    @property
    def scheduling(self) -> dict:
        """How run/check reads and validates for the page: in the worker, when there is one."""
        if self.worker is None:
            return {}
        return {"reader": self.worker.read, "checker": self.worker}

    # --- the inbox --------------------------------------------------------------------------

    def refresh(self) -> None:
        """Pick up files put into the inbox by hand, and files taken out of it: the files new
        or changed since the last look are checked, the rest kept, and each unit's standing
        file chosen again, as a report run would."""
        guard = Guard(self.form)
        with zips_down_to(self.zip_depth):
            view = take_view(self.inbox, self.hashes, wanted=lambda path, digest: not self.cache.knows(path, digest))
        new = self._to_check(list(view.sources))
        if new:
            fresh = check_files(new, view.data, self.form, self.units, passwords=self.passwords, cache=self.cache,
                                guard=guard, **self.scheduling)
            mates = self._county_mates(list(view.sources), new, fresh)
            if mates:  # checked again with them: a county's tables in several files are one return
                fresh = check_files([*new, *mates], view.data, self.form, self.units, passwords=self.passwords,
                                    cache=self.cache, guard=guard, **self.scheduling)
            self.files |= fresh.checked()
        self.files = {s.path: self.files[s.path] for s in view.sources}
        roster, findings = choose(assembled(list(view.sources), self.files), self.form, self.units, guard,
                                  self.dating())
        extra = self._across_standing(roster)
        self.state = Standing(dict(self.files), with_warning_counts(roster, extra), (*findings, *extra),
                              version_counts(self.inbox), _parts(self.files))
        self.log_faults(guard)

    def dating(self) -> Dating:
        """How a 填报日期 is dated here, as the report run dates it: today, the settings' cutoff,
        the round's year."""
        return dating(date.today(), self.cutoff, self.rounds.name if self.rounds else "")

    def latest_filed(self) -> date | None:
        """The latest 填报日期 of the inbox's returns as last judged (an upload's stale date is
        measured against it when the settings give no cutoff, as the report run measures it)."""
        today = date.today()
        dates = [c.result.ret.filed_on for c in (self.state.checked.values() if self.state else ())
                 if c.result.ret is not None and c.result.ret.filed_on and c.result.ret.filed_on <= today]
        return max(dates, default=None)

    def _to_check(self, sources: list[Source]) -> list[Source]:
        """The files new or changed since the last look; and the other files of a return
        combined from several, when one of them changed or went: it is checked again, whole."""
        new = [s for s in sources if s.path not in self.files or self.files[s.path].source != s]
        changed = {s.path for s in new} | (self.files.keys() - {s.path for s in sources})
        again = [s for s in sources if s not in new and changed & set(self.files[s.path].result.source.parts)]
        return [*new, *again]

    def _county_mates(self, sources: list[Source], new: list[Source], fresh: FilesChecked) -> list[Source]:
        """Files checked before for the counties the new ones are for: a county's tables may
        come one file at a time, and are one return when they are its only files."""
        counties = {county_of(r, self.units) for r in fresh.results} - {""}
        taken = {s.path for s in new}
        return [s for s in sources if s.path not in taken and s.path in self.files
                and county_of(self.files[s.path].result, self.units) in counties]

    @property
    def roster(self) -> Roster:
        assert self.state is not None
        return self.state.roster

    def previous(self) -> Previous | None:
        """The previous round to compare with now, read again when rounds/ picks another."""
        if self.rounds is None:
            return None
        if self.rounds.check(self.form):
            self.across.clear()
            if self.say:
                self.say(self.rounds.summary())
        return self.rounds.previous

    def _across_standing(self, roster: Roster) -> tuple[Finding, ...]:
        """The cross-period findings of every included county's standing return, as a report
        run with this round would add them; each file compared once, until the previous round
        changes."""
        previous = self.previous()
        if previous is None:
            return ()
        standing = {(u.source.path, u.source.sha256): u.source.path
                    for u in roster.units if u.status == "included" and u.source and u.source.path in self.files}
        todo = {key: self.files[path] for key, path in standing.items() if key not in self.across}
        if todo:
            found = across_rounds(self.form, self.units, list(todo.values()), previous)
            for key, c in todo.items():
                self.across[key] = found.get(c.result.source.path, ())
        for key in [k for k in self.across if k not in standing]:
            del self.across[key]  # a file gone or superseded
        return tuple(f for key in standing for f in self.across[key])

    def status_of(self, code: str, state: Standing | None = None) -> UnitStatus:
        state = state or self.state
        assert state is not None
        return next(u for u in state.roster.units if u.code == code)

    def current(self, code: str, state: Standing | None = None) -> Checked | None:
        """The check of the unit's standing return: its file's, or its part's of a city's workbook."""
        state = state or self.state
        u = self.status_of(code, state)
        if u.source is None:
            return None
        return state.checked.get(u.source.path) or state.parts.get(u.source.path)

    def standing_findings(self, code: str, state: Standing | None = None) -> list[Finding]:
        """What the report says of the unit's standing return, however it came (uploaded, or
        emailed and put into the inbox by hand). A file in this unit's name whose content is
        another county's shows this unit the conflict alone, not the other county's figures."""
        state = state or self.state
        u = self.status_of(code, state)
        if u.source is None:
            return []
        checked = self.current(code, state)
        ret = checked.result.ret if checked else None
        theirs = ret is not None and ret.county_code not in ("", code)
        if u.source.path in state.parts:  # a part of a city's workbook: what concerns this county in it
            whole = _whole_file(u.source.path, state)
            own = {f for f in state.findings if f.file == u.source.path or (f.file == whole and f.county_code == code)}
        else:
            own = {f for f in state.findings if f.file == u.source.path and not (theirs and f.county_code != code)}
        return sorted(own, key=lambda f: f.sort_key)

    # --- uploads ----------------------------------------------------------------------------

    def submit(self, unit: Unit, filename: str, data: bytes, explanation: str = "") -> Outcome:
        return self.submit_many([Incoming(unit, filename, data, explanation)])[0]

    def submit_many(self, incoming: list[Incoming]) -> list[Outcome]:
        """Uploads that came together, checked together as the report would check them, each
        named first as it will be in the inbox (so its findings name the file the report will
        read); each stored when it has no error, under the inbox's lock (which a report run's
        listing waits for), in the order they came. A refused file is kept nowhere."""
        guard = Guard(self.form)
        taken: set[str] = set()
        plans = []
        for item in incoming:
            when = datetime.now()
            name = free_name(self.inbox, item.unit, when, upload_suffix(item.filename, item.data[:8]), taken)
            taken.add(name)
            plans.append(Upload(staged_source(name, item.data, when.timestamp()), item.data, item.unit, item.filename))
        checks = check_uploads(plans, self.form, self.units, guard, self.passwords, self.cache, dating=self.dating(),
                               latest=self.latest_filed(), **self.scheduling)
        checked_at = datetime.now().strftime(STAMP)
        outcomes: dict[int, Outcome] = {}
        taken_in: list[Taken] = []
        refused = dict(self.refused)  # a new dict: a page rendered meanwhile reads the old one whole
        latest: dict[str, Checked | None] = {}  # each unit's current return as this batch goes on
        for i, (item, checked) in enumerate(zip(incoming, checks)):
            code = item.unit.code
            current = latest[code] if code in latest else self.current(code)
            if checked.errors:
                refused[code] = (checked_at, checked.errors)
                outcomes[i] = self._receipt(guard, "refused", item, checked, current, checked_at)
                continue
            if current is not None and current.source.sha256 == checked.source.sha256:
                taken_in.append(Taken(i, item, checked, current, stored=False))
                continue
            try:
                with claim(self.inbox):
                    stored = store_upload(self.inbox, item.unit, item.data, checked.source.path)
            except OSError as e:
                outcomes[i] = Outcome("failed", 503, None, item.filename, when=checked_at, failure=store_failure(e))
                continue
            checked = renamed(checked, stored.path.name, stored.mtime)  # the name and time it has on the disk
            if item.by_city:
                self.record_by_city(stored.path.name, item.by_city)
            refused.pop(code, None)
            latest[code] = checked
            taken_in.append(Taken(i, item, checked, current, stored=True))
        if refused != self.refused:
            self.save_refused(refused)
        extra = self._compare([t.checked for t in taken_in])
        for t in taken_in:
            if t.stored and extra:  # compared once, here: the refresh finds it done
                self.across[(t.checked.source.path, t.checked.source.sha256)] = extra.get(id(t.checked), ())
        if taken_in:
            self.refresh_after_storing()
        for t in taken_in:
            judged = with_findings(t.checked, extra.get(id(t.checked), ()))
            outcomes[t.index] = self._accepted(guard, t.item, judged, t.current, unchanged=not t.stored)
        self.log_faults(guard)
        return [outcomes[i] for i in range(len(incoming))]

    def refresh_after_storing(self) -> None:
        """The inbox looked at again, with the returns just stored in it. They are stored and
        will be answered as such: a fault of this program here costs the page's view of the
        inbox until the next look, never a county's receipt."""
        try:
            self.refresh()
        except Exception:  # noqa: BLE001 - logged for the maintainers; the receipts go out
            import traceback

            if self.outbox is not None:
                try:
                    with open(self.outbox / SERVE_LOG, "ab") as f:
                        f.write(f"=== 存入报表后查看收件箱时出错 {datetime.now():%Y-%m-%d %H:%M:%S}\n".encode())
                        f.write(traceback.format_exc().encode())
                except OSError:
                    pass

    def _compare(self, taken: list[Checked]) -> dict[int, tuple[Finding, ...]]:
        """The cross-period findings of each return taken (id of its check → findings), as
        `make report ROUND=…` would add them; a unit twice in one batch is compared twice."""
        previous = self.previous()
        if previous is None or not taken:
            return {}
        out: dict[int, tuple[Finding, ...]] = {}
        groups: list[list[Checked]] = []  # each a set of different units' returns (across_rounds asks it)
        for checked in taken:
            code = checked.result.ret.county_code if checked.result.ret else ""
            home = next((g for g in groups if all(c.result.ret.county_code != code for c in g if c.result.ret)), None)
            if home is None:
                home = []
                groups.append(home)
            home.append(checked)
        for group in groups:
            found = across_rounds(self.form, self.units, group, previous)
            for c in group:
                out[id(c)] = found.get(c.source.path, ())
        return out

    def _accepted(self, guard: Guard, item: Incoming, checked: Checked, current: Checked | None, *,
                  unchanged: bool) -> Outcome:
        """The receipt of a return taken: the name and time it has in the inbox, its 上报说明
        (given now, or the unit's earlier one carried over for the warnings it was written for),
        and, when another of the unit's files stands, which and why."""
        code = item.unit.code
        stored = current if unchanged and current is not None else checked
        path = stored.source.path
        warnings = warning_keys(checked.findings)
        note_failed = ""
        if item.explanation:
            note_failed = self.keep_note(path, Note(item.explanation, warnings))
        elif not unchanged and current is not None and current.source.path in self.notes:
            note_failed = self.keep_note(path, self.notes[current.source.path])  # kept, for what it answered
        standing = self.status_of(code).source
        other = standing.path if standing and standing.path != path else ""
        why = why_standing(self.status_of(code), checked) if other else ""
        when = datetime.fromtimestamp(stored.source.mtime).strftime(STAMP)
        outcome = self._receipt(guard, "accepted", item, checked, None if unchanged else current, when, path,
                                unchanged=unchanged, not_standing=other, why_not=why)
        outcome.note_failed = note_failed
        return outcome

    def _receipt(self, guard: Guard, status: str, item: Incoming, checked: Checked, current: Checked | None,
                 when: str, stored: str = "", *, unchanged: bool = False, not_standing: str = "",
                 why_not: str = "") -> Outcome:
        """What the clerk sees of an upload: its figures and what changed, under the runner's
        guard (the upload is judged and stored by now: a fault here costs only the figures)."""
        def make(_) -> tuple:
            if any(f.rule in OTHER_UNIT for f in checked.findings):
                # Another unit's return: its figures are not this unit's, nor changes of them
                # (西峰区's 行政村总数 94→153 was 七里河区's figure, shown as a change).
                return (), ()
            new = figures(self.form, checked.result.ret)
            old = figures(self.form, current.result.ret) if current else ()
            return new, (changes(old, new) if current and not unchanged else ())

        def without(_, fault: Finding) -> tuple:
            nonlocal checked
            checked = with_findings(checked, (fault,))
            return (), ()

        [(new, diff)] = guard.each("receipt", [None], make, without, lambda _: (checked.source.path, item.unit.code))
        note = self.notes.get(stored)
        return Outcome(status, 200 if status == "accepted" else 422, checked, item.filename, new, diff, stored, unchanged,
                       when, not_standing, why_not, note.words if note else "")

    # --- notes ------------------------------------------------------------------------------

    def explain(self, code: str, text: str) -> str | None:
        """A 上报说明 for the unit's standing return, for the warnings it has now: None when
        there is none to explain; else "" when kept, or why it could not be."""
        current = self.current(code)
        if current is None or not text:
            return None
        warnings = warning_keys(self.standing_findings(code))
        return self.keep_note(current.source.path, Note(text, warnings))

    def keep_note(self, file: str, note: Note) -> str:
        """Kept beside the returns, in the inbox's hidden .versions/ (the reader skips it): ""
        when kept, else why not (the inbox full: the return itself is stored all the same)."""
        notes = self.notes | {file: note}  # a new dict: a page rendered meanwhile reads the old one whole
        try:
            save_notes(self.inbox, notes)
        except OSError as e:
            return f"上报说明未能保存（{reason(e)}），请稍后在本页重新填写保存"
        self.notes = notes
        return ""

    def explanation_of(self, file: str) -> str:
        note = self.notes.get(file)
        return note.words if note else ""

    def answered(self, file: str) -> frozenset[tuple[str, str, str, str]] | None:
        """The warnings the file's note was written for (None: all of them, an older note)."""
        note = self.notes.get(file)
        return note.warnings if note else frozenset()

    def save_refused(self, refused: dict[str, tuple[str, int]]) -> None:
        self.refused = refused
        try:
            save_refused(self.inbox, self.refused)
        except OSError:
            pass  # the office sees it until the next restart all the same

    def record_by_city(self, file: str, city_code: str) -> None:
        self.by_city = self.by_city | {file: city_code}  # a new dict: a page rendered meanwhile reads the old one whole
        try:
            save_by_city(self.inbox, self.by_city)
        except OSError:
            pass  # the return is stored all the same; the page forgets who sent it at its next start

    def log_faults(self, guard: Guard) -> None:
        """A fault of this program, logged where the maintainers look (the outbox), once."""
        if not guard.incidents or self.outbox is None:
            return
        text = guard.log()
        guard.incidents.clear()
        try:
            with open(self.outbox / SERVE_LOG, "ab") as f:
                f.write(text)
        except OSError:
            pass  # the clerk's finding still carries the reference


def warning_keys(findings) -> frozenset[tuple[str, str, str, str]]:
    """The warnings a note is written for, each as its rule, sheet, cell and field: a note
    answers these, never a warning found later (another cell, another rate of the sheet)."""
    return frozenset((f.rule, f.sheet, f.cell, f.field) for f in findings if f.severity == Severity.WARNING)


def renamed(checked: Checked, name: str, mtime: float) -> Checked:
    """The check of a return as it is stored: its name (another than it was checked under when
    another writer took that one meanwhile) and its time in the inbox; a part of the file
    (`old.xlsx/安定区`) follows it (`name/安定区`)."""
    old = checked.source.path

    def moved(path: str) -> str:
        return name + path[len(old):] if path == old or path.startswith(old + "/") else path

    def result_moved(result: ReadResult) -> ReadResult:
        source = replace(result.source, path=moved(result.source.path), mtime=mtime)
        ret = replace(result.ret, source=source) if result.ret is not None else None
        return replace(result, source=source, ret=ret, findings=tuple(replace(f, file=moved(f.file)) for f in result.findings))

    source = replace(checked.source, path=name, mtime=mtime)
    findings = tuple(replace(f, file=moved(f.file)) for f in checked.findings)
    return Checked(source, result_moved(checked.result), findings, tuple(result_moved(r) for r in checked.parts))


def _parts(files: dict[str, Checked]) -> dict[str, Checked]:
    """Each part of a file read as several returns, as a check of its own (its findings are
    those filed under its path, or under the file's with its county)."""
    out = {}
    for c in files.values():
        for r in c.parts:
            if r.source.path != c.source.path:
                code = r.ret.county_code if r.ret is not None else ""
                own = tuple(f for f in c.findings
                            if f.file == r.source.path or (f.file == c.source.path and code and f.county_code == code))
                out[r.source.path] = Checked(r.source, r, own)
    return out


def _whole_file(part: str, state: Standing) -> str:
    head = part
    while head not in state.checked and "/" in head:
        head = head.rsplit("/", 1)[0]
    return head


def store_failure(error: OSError) -> str:
    """Why the inbox could not take a return, in the clerk's words."""
    return (f"报送页暂时无法保存报表（收件箱{reason(error)}）。本次报表没有保存，本单位原来的报送情况不变。"
            "请稍后重新报送；如仍不行，请与负责汇总的部门联系。")


def why_standing(standing: UnitStatus, mine: Checked) -> str:
    """Why another of the unit's files stands rather than the one just stored, by the rule the
    report chooses by (resolve): the later 填报日期 (one in the future, or none, ranks oldest),
    then the later time in the inbox."""
    today = date.today()
    theirs = standing.filed_on if standing.filed_on and standing.filed_on <= today else None
    ret = mine.result.ret
    own = ret.filed_on if ret is not None and ret.filed_on and ret.filed_on <= today else None
    if theirs and (own is None or theirs > own):
        if own is None:
            return f"它的填报日期为{as_written_day(theirs)}，而本次报表没有读到有效的填报日期（未填，或晚于今天）"
        return f"它的填报日期（{as_written_day(theirs)}）比本次报表的（{as_written_day(own)}）更晚"
    if theirs == own:
        same = f"两份报表的填报日期相同（{as_written_day(own)}）" if own else "两份报表都没有有效的填报日期"
        return f"{same}，而它在收件箱中的时间更晚"
    return "按填报日期和收件箱中的时间，它排在前面"

