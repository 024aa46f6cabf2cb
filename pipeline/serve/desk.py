"""The submission page's state, apart from HTTP: every inbox file's check, the roster as a report
run would make it, what each upload came to, and the explanations counties gave."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ..model import Finding, Previous, Return, Roster, UnitStatus
from ..run.check import Checked, across_rounds, check, check_upload, staged_source, with_findings
from ..run.runner import Guard
from ..spec.form import Form
from ..spec.units import Unit, UnitList
from ..stages.resolve import with_warning_counts
from ..store.cache import Hashes, ReadCache
from ..store.inbox import DEFAULT_ZIP_DEPTH, take_view, zips_down_to
from ..store.rounds import RoundWatch
from ..store.uploads import claim, inbox_name, load_explanations, save_explanations, store_upload, upload_suffix

SERVE_LOG = "serve-errors.log"  # the submission page's faults, for the maintainers (a report run has its own)

EXPLANATION_LIMIT = 500  # characters: a short note beside a warning, not a document


@dataclass
class Outcome:
    """What one upload came to, for the page and for JSON alike."""

    status: str  # accepted | refused
    code: int  # HTTP status
    checked: Checked | None
    filename: str
    figures: tuple = ()
    changes: tuple = ()
    stored: str = ""  # the name in the inbox
    unchanged: bool = False  # identical to the current return: acknowledged, not stored again
    when: str = ""
    not_standing: str = ""  # another of the unit's files stands in the roster, one with a later 填报日期
    explanation: str = ""


@dataclass
class Desk:
    """The server's state: every inbox file's check, the roster as a report run would make it,
    and the explanations counties gave. Changed only inside `lock` (one thread at a time).

    Files are judged by the report's own path (run/check) over a view of the inbox; what was
    read or validated before is kept in a read cache in memory (the outbox's cache is
    `make report`'s), so a refresh reads only what is new."""

    inbox: Path
    form: Form
    units: UnitList
    passwords: tuple[str, ...] = ()
    outbox: Path | None = None  # where a fault of this program is logged
    checked: dict[str, Checked] = field(default_factory=dict)  # every inbox file's check, by name
    roster: Roster | None = None
    findings: list[Finding] = field(default_factory=list)
    explanations: dict[str, str] = field(default_factory=dict)  # inbox file name → text
    lock: threading.Lock = field(default_factory=threading.Lock)
    cache: ReadCache = field(default_factory=lambda: ReadCache(None, ""))
    hashes: Hashes = field(default_factory=lambda: Hashes(None))  # in memory: the outbox's cache is make report's
    rounds: RoundWatch | None = None  # with ROUND=: each return compared with the previous round
    across: dict[tuple[str, str], tuple[Finding, ...]] = field(default_factory=dict)  # (file, sha256) → findings
    say: Callable[[str], None] | None = None  # where a change of the previous round is told (the server's log)
    # unit code → (time, number of errors) of its latest refused upload since the server started:
    # a refused file is stored nowhere, but the office should see that the county tried.
    refused: dict[str, tuple[str, int]] = field(default_factory=dict)
    zip_depth: int = DEFAULT_ZIP_DEPTH  # how many zips deep returns are looked for (settings)

    def refresh(self) -> None:
        """Pick up files put into the inbox by hand, and files taken out of it."""
        guard = Guard(self.form)
        with zips_down_to(self.zip_depth):
            view = take_view(self.inbox, self.hashes, wanted=lambda digest: not self.cache.knows(digest))
        done = check(view, self.form, self.units, passwords=self.passwords, cache=self.cache, guard=guard)
        self.checked = done.checked()
        extra = self._across_standing(done.roster)
        self.roster, self.findings = with_warning_counts(done.roster, extra), [*done.findings, *extra]
        self._log(guard)

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
                    for u in roster.units if u.status == "included" and u.source and u.source.path in self.checked}
        todo = {key: self.checked[path] for key, path in standing.items() if key not in self.across}
        if todo:
            found = across_rounds(self.form, self.units, list(todo.values()), previous)
            for key, c in todo.items():
                self.across[key] = found.get(c.result.source.path, ())
        for key in [k for k in self.across if k not in standing]:
            del self.across[key]  # a file gone or superseded
        return tuple(f for key in standing for f in self.across[key])

    def status_of(self, code: str) -> UnitStatus:
        assert self.roster is not None
        return next(u for u in self.roster.units if u.code == code)

    def current(self, code: str) -> Checked | None:
        u = self.status_of(code)
        return self.checked.get(u.source.path) if u.source else None

    def standing_findings(self, code: str) -> list[Finding]:
        """What the report says of the unit's standing return, however it came (uploaded, or
        emailed and put into the inbox by hand). A file in this unit's name whose content is
        another county's shows this unit the conflict alone, not the other county's figures."""
        u = self.status_of(code)
        if u.source is None:
            return []
        checked = self.checked.get(u.source.path)
        ret = checked.result.ret if checked else None
        theirs = ret is not None and ret.county_code not in ("", code)
        own = {f for f in self.findings if f.file == u.source.path and not (theirs and f.county_code != code)}
        return sorted(own, key=lambda f: f.sort_key)

    def submit(self, unit: Unit, filename: str, data: bytes, explanation: str) -> Outcome:
        """Check an upload as the report would; store it when it has no error. The inbox is held
        from naming the upload to moving the unit's older file away (a report run lists the
        inbox before or after, never between); a refused file is kept nowhere."""
        guard = Guard(self.form)
        current = self.current(unit.code)
        suffix = upload_suffix(filename, data[:8])
        with claim(self.inbox):
            when = datetime.now()
            shown = inbox_name(self.inbox, unit, when, suffix)
            source = staged_source(shown, data, when.timestamp())
            checked = check_upload(source, data, unit, filename, self.form, self.units, guard, self.passwords,
                                   cache=self.cache)
            stamp = when.strftime("%Y-%m-%d %H:%M:%S")
            stored = None
            unchanged = current is not None and current.source.sha256 == checked.source.sha256
            if not checked.errors and not unchanged:
                stored = store_upload(self.inbox, unit, data, suffix, when, shown)
        self._log(guard)
        if checked.errors:
            self.refused[unit.code] = (stamp, checked.errors)
            return self._receipt(guard, "refused", unit, checked, current, filename, stamp)
        self.refused.pop(unit.code, None)
        previous = self.previous()
        extra: tuple[Finding, ...] = ()
        if previous is not None:
            extra = across_rounds(self.form, self.units, [checked], previous).get(checked.result.source.path, ())
        judged = with_findings(checked, extra)
        if stored is None:  # the same bytes as the unit's current return: acknowledged, not stored again
            if explanation:
                self._explain(current.source.path, explanation)
            return self._receipt(guard, "accepted", unit, judged, current, filename, stamp, current.source.path,
                                 unchanged=True)
        if previous is not None:  # compared once, here: the refresh finds it done
            self.across[(stored.name, checked.source.sha256)] = extra
        if explanation:
            self._explain(stored.name, explanation)
        self.refresh()
        standing = self.status_of(unit.code).source
        other = standing.path if standing and standing.path != stored.name else ""
        return self._receipt(guard, "accepted", unit, judged, current, filename, stamp, stored.name, not_standing=other)

    def _receipt(self, guard: Guard, status: str, unit: Unit, checked: Checked, current: Checked | None,
                 filename: str, stamp: str, stored: str = "", *, unchanged: bool = False,
                 not_standing: str = "") -> Outcome:
        """What the clerk sees of an upload: its figures and what changed, under the runner's
        guard (the upload is judged and stored by now: a fault here costs only the figures)."""
        def make(_) -> tuple:
            new = figures(self.form, checked.result.ret)
            old = figures(self.form, current.result.ret) if current else ()
            return new, (changes(old, new) if current and not unchanged else ())

        def without(_, fault: Finding) -> tuple:
            nonlocal checked
            checked = with_findings(checked, (fault,))
            return (), ()

        [(new, diff)] = guard.each("receipt", [None], make, without, lambda _: (checked.source.path, unit.code))
        self._log(guard)
        return Outcome(status, 200 if status == "accepted" else 422, checked, filename, new, diff, stored, unchanged,
                       stamp, not_standing, self.explanations.get(stored, "") if stored else "")

    def explain(self, code: str, text: str) -> bool:
        current = self.current(code)
        if current is None or not text:
            return False
        self._explain(current.source.path, text)
        return True

    def _explain(self, file: str, text: str) -> None:
        """Kept beside the returns, in the inbox's hidden .versions/ (the reader skips it)."""
        self.explanations[file] = text
        save_explanations(self.inbox, self.explanations)

    def load_explanations(self) -> None:
        self.explanations = load_explanations(self.inbox)

    def _log(self, guard: Guard) -> None:
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


@dataclass(frozen=True)
class SheetFigures:
    key: str
    label: str
    figures: tuple[tuple[str, str, str, int | None], ...]  # (field key, label, unit, sum or None)


def figures(form: Form, ret: Return | None) -> tuple[SheetFigures, ...]:
    """Each sheet's 合计 as the province will read it: the sum over the township rows of every
    count; None where a cell of that column could not be read."""
    if ret is None:
        return ()
    out = []
    for spec in form.sheets:
        sheet = ret.sheets.get(spec.key)
        if sheet is None:
            continue
        row = []
        for f in spec.count_fields:
            values = sheet.values.get(f.key, ())
            total = None if any(v is None for v in values) else sum(values)
            row.append((f.key, f.full_label, f.unit, total))
        out.append(SheetFigures(spec.key, f"{spec.number}{spec.label}", tuple(row)))
    return tuple(out)


@dataclass(frozen=True)
class Change:
    sheet: str
    field: str
    old: int | None
    new: int | None


def changes(old: tuple[SheetFigures, ...], new: tuple[SheetFigures, ...]) -> tuple[Change, ...]:
    """Field by field, the figures that differ between the current return and the new one."""
    before = {(s.key, k): v for s in old for k, _, _, v in s.figures}
    out = []
    for s in new:
        for key, label, _, value in s.figures:
            was = before.get((s.key, key))
            if was != value:
                out.append(Change(s.label, label, was, value))
    return tuple(out)
