"""Intake: one uploaded workbook → the findings `make report` would give it, its figures, and
what changed against the unit's current return; and, once accepted, its place in the inbox.

A thin shell around the stages: the file is read by `read_sources` and checked by `validate`
and `resolve`, the very functions a report run uses, so a clerk sees at upload what
validation.html would list for that file. Nothing here has rules of its own but two that only
an upload can break: a unit's link takes that unit's return only, and a refused file is kept
nowhere. Writing the inbox is this module's alone (`store_upload`): `make report` never does.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from .cache import Hashes
from .compare import county_findings
from .consolidate import county_sums
from .discover import WORKBOOK_SUFFIXES, classify, discover
from .form import Form
from .model import Finding, ReadResult, Return, Roster, Severity, Source
from .read import read_sources
from .resolve import resolve
from .rounds import Previous
from .run import file_findings
from .tabulate import tabulate
from .units import Unit, UnitList
from .validate import validate

VERSIONS = ".versions"  # hidden: the reader skips it
_STAMP = "%Y%m%d-%H%M%S"


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


def upload_name(unit: Unit, when: datetime, suffix: str) -> str:
    """The name an accepted upload has in the inbox: the unit, then when it came."""
    return f"{unit.code}_{unit.name}_{when.strftime(_STAMP)}{suffix}"


def upload_suffix(filename: str, head: bytes = b"") -> str:
    """The uploaded file's own extension when it is a workbook's and agrees with its content, so
    the office sees what it is and Excel opens it without a warning; anything else is stored (if
    ever) under the extension its content calls for: .xlsx for a zip, .xls for an OLE file."""
    suffix = os.path.splitext(filename or "")[1].lower()
    zipped, ole = head.startswith(b"PK\x03\x04"), head.startswith(b"\xd0\xcf\x11\xe0")
    if suffix in (WORKBOOK_SUFFIXES | {".ods"}) and not head:
        return suffix
    if zipped:
        return suffix if suffix in {".xlsx", ".xlsm", ".xltx", ".ods"} else ".xlsx"
    if ole:
        return suffix if suffix in {".xls", ".et", ".xlt"} else ".xls"
    return suffix if suffix in WORKBOOK_SUFFIXES | {".ods"} else ".xlsx"


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


# --- the inbox's one writer -------------------------------------------------------------

_LIVE = re.compile(r"^(\d{6})_.+_\d{8}-\d{6}(?:-\d+)?\.[A-Za-z]+$")


def live_uploads(inbox: Path, unit: Unit) -> list[Path]:
    """The unit's uploads in the inbox (files the page named), not files put there by hand."""
    prefix = f"{unit.code}_{unit.name}_"
    return sorted(p for p in inbox.iterdir()
                  if p.is_file() and p.name.startswith(prefix) and _LIVE.match(p.name))


def inbox_name(inbox: Path, unit: Unit, when: datetime, suffix: str) -> str:
    """The name an upload will have in the inbox, taken before it is checked so that its
    findings name the file the report will read: -2, -3… for another within the same second."""
    name = upload_name(unit, when, suffix)
    target, n = inbox / name, 1
    while target.exists():
        n += 1
        target = inbox / f"{Path(name).stem}-{n}{suffix}"
    return target.name


def store_upload(inbox: Path, unit: Unit, data: bytes, suffix: str, when: datetime, name: str = "") -> Path:
    """Put an accepted return into the inbox: written to a hidden file, flushed to disk, then
    renamed into place, so the inbox never holds half a file even if the power goes. The unit's
    earlier uploads move to .versions/<code>/, never overwritten."""
    target = inbox / (name or inbox_name(inbox, unit, when, suffix))
    earlier = live_uploads(inbox, unit)
    fd, tmp = tempfile.mkstemp(prefix=".upload-", suffix=".tmp", dir=inbox)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if earlier:
        keep = inbox / VERSIONS / unit.code
        keep.mkdir(parents=True, exist_ok=True)
        for old in earlier:
            dest, k = keep / old.name, 1
            while dest.exists():
                k += 1
                dest = keep / f"{old.stem}-v{k}{old.suffix}"
            os.replace(old, dest)
    _sync_folder(inbox)
    return target


def sweep_partial(inbox: Path) -> None:
    """Staging files of an upload cut off by a crash: hidden, so never read, and removed here."""
    for leftover in inbox.glob(".upload-*.tmp"):
        leftover.unlink(missing_ok=True)


def _sync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # Windows cannot open a folder; its renames are durable enough
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
