"""The submission page's state, apart from HTTP: every inbox file's check, the roster as a report
run would make it, what each upload came to, and the explanations counties gave."""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ..model import Finding, Previous, Return, Roster, UnitStatus
from ..run.check import Checked, across_rounds, check_upload, staged_source, survey, with_findings
from ..spec.form import Form
from ..spec.units import Unit, UnitList
from ..stages.resolve import _with_counts
from ..store.cache import Hashes
from ..store.inbox import EXPLANATIONS, VERSIONS, inbox_name, store_upload, upload_suffix
from ..store.rounds import RoundWatch

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
    and the explanations counties gave. Changed only inside `locked` (one thread at a time)."""

    inbox: Path
    form: Form
    units: UnitList
    passwords: tuple[str, ...] = ()
    known: dict[str, Checked] = field(default_factory=dict)
    roster: Roster | None = None
    findings: list[Finding] = field(default_factory=list)
    explanations: dict[str, str] = field(default_factory=dict)  # inbox file name → text
    lock: threading.Lock = field(default_factory=threading.Lock)
    staging: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="submission-")))
    hashes: Hashes = field(default_factory=lambda: Hashes(None))  # in memory: the outbox's cache is make report's
    rounds: RoundWatch | None = None  # with ROUND=: each return compared with the previous round
    across: dict[tuple[str, str], tuple[Finding, ...]] = field(default_factory=dict)  # (file, sha256) → findings
    say: Callable[[str], None] | None = None  # where a change of the previous round is told (the server's log)
    # unit code → (time, number of errors) of its latest refused upload since the server started:
    # a refused file is stored nowhere, but the office should see that the county tried.
    refused: dict[str, tuple[str, int]] = field(default_factory=dict)

    def refresh(self) -> None:
        """Pick up files put into the inbox by hand, and files taken out of it."""
        self.known, roster, findings = survey(self.inbox, self.form, self.units, self.known, self.passwords,
                                              self.hashes)
        extra = self._across_standing(roster)
        self.roster, self.findings = _with_counts(roster, extra), findings + list(extra)

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
                    for u in roster.units if u.status == "included" and u.source and u.source.path in self.known}
        todo = {key: self.known[path] for key, path in standing.items() if key not in self.across}
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
        return self.known.get(u.source.path) if u.source else None

    def standing_findings(self, code: str) -> list[Finding]:
        """What the report says of the unit's standing return, however it came (uploaded, or
        emailed and put into the inbox by hand). A file in this unit's name whose content is
        another county's shows this unit the conflict alone, not the other county's figures."""
        u = self.status_of(code)
        if u.source is None:
            return []
        checked = self.known.get(u.source.path)
        ret = checked.result.ret if checked else None
        theirs = ret is not None and ret.county_code not in ("", code)
        own = {f for f in self.findings if f.file == u.source.path and not (theirs and f.county_code != code)}
        return sorted(own, key=lambda f: f.sort_key)

    def submit(self, unit: Unit, filename: str, data: bytes, explanation: str) -> Outcome:
        when = datetime.now()
        suffix = upload_suffix(filename, data[:8])
        shown = inbox_name(self.inbox, unit, when, suffix)
        folder = Path(tempfile.mkdtemp(dir=self.staging))
        try:
            staged = folder / shown
            staged.write_bytes(data)
            source = staged_source(staged, shown, data)
            checked = check_upload(source, unit, filename, self.form, self.units, self.passwords)
        finally:
            shutil.rmtree(folder, ignore_errors=True)  # a refused file is kept nowhere
        current = self.current(unit.code)
        new_figures = figures(self.form, checked.result.ret)
        old_figures = figures(self.form, current.result.ret) if current else ()
        diff = changes(old_figures, new_figures) if current else ()
        stamp = when.strftime("%Y-%m-%d %H:%M:%S")
        if checked.errors:
            self.refused[unit.code] = (stamp, checked.errors)
            return Outcome("refused", 422, checked, filename, new_figures, diff, when=stamp)
        self.refused.pop(unit.code, None)
        previous = self.previous()
        extra: tuple[Finding, ...] = ()
        if previous is not None:
            extra = across_rounds(self.form, self.units, [checked], previous).get(checked.result.source.path, ())
        judged = with_findings(checked, extra)
        if current is not None and current.source.sha256 == checked.source.sha256:
            if explanation:
                self._explain(current.source.path, explanation)
            return Outcome("accepted", 200, judged, filename, new_figures, (), current.source.path, True, stamp,
                           explanation=self.explanations.get(current.source.path, ""))
        stored = store_upload(self.inbox, unit, data, suffix, when, shown)
        self.known[stored.name] = checked  # as read and validated: the refresh adds the comparison,
        if previous is not None:  # done once, here
            self.across[(stored.name, checked.source.sha256)] = extra
        if explanation:
            self._explain(stored.name, explanation)
        self.refresh()
        standing = self.status_of(unit.code).source
        other = standing.path if standing and standing.path != stored.name else ""
        return Outcome("accepted", 200, judged, filename, new_figures, diff, stored.name, False, stamp, other,
                       self.explanations.get(stored.name, ""))

    def explain(self, code: str, text: str) -> bool:
        current = self.current(code)
        if current is None or not text:
            return False
        self._explain(current.source.path, text)
        return True

    def _explain(self, file: str, text: str) -> None:
        """Kept beside the returns, in the inbox's hidden .versions/ (the reader skips it)."""
        self.explanations[file] = text
        folder = self.inbox / VERSIONS
        folder.mkdir(exist_ok=True)
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\r\n")
        w.writerow(["file", "explanation"])
        for name, note in sorted(self.explanations.items()):
            w.writerow([name, note])
        tmp = folder / f".{EXPLANATIONS}.tmp"
        tmp.write_bytes(("\ufeff" + out.getvalue()).encode("utf-8"))
        tmp.replace(folder / EXPLANATIONS)

    def load_explanations(self) -> None:
        path = self.inbox / VERSIONS / EXPLANATIONS
        if path.is_file():
            with open(path, encoding="utf-8-sig", newline="") as f:
                self.explanations = {row["file"]: row["explanation"] for row in csv.DictReader(f)}


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
