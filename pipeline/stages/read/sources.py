"""Read: each source file's bytes → a Return (county, date, township rows with their cells).

Whatever layout the county used: title rows or none, one- or two-row headers, columns in any
order, extra columns, the 合计 row first, last or absent, numbers as text. Every value keeps
the cell it came from. Problems come back as findings; nothing here raises past `read_sources`.
"""

from __future__ import annotations

import os

from ...model import ReadResult, Source
from ...spec.form import Form
from ...spec.units import UnitList
from . import STAGE_BYTES, STAGE_FILES, city
from .engine import engine_reports_held_back
from .grid import Book, Unreadable, the_files_problem
from .identity import unit_of_folder
from .workbook import open_book


def read_source(source: Source, data: bytes, form: Form, units: UnitList, passwords: tuple[str, ...] = ()) -> ReadResult:
    return read_sources([(source, data)], form, units, passwords)[0]


def read_sources(items: list[tuple[Source, bytes]], form: Form, units: UnitList,
                 passwords: tuple[str, ...] = ()) -> list[ReadResult]:
    """Each file (its source and its bytes, as the inbox gave them) read as read_source would,
    but a few dozen at a time, stage by stage: every file opened and scanned, then every sheet
    parsed by calamine, then every sheet read. Keeping to one kind of work at a time keeps its
    code and tables in the processor's caches: a tenth less time a file on the benchmark's
    returns. A broken file is its own finding; an exception that is no file's fault leaves
    here, for the runner, which reads the group again one file at a time."""
    out: list[ReadResult] = []
    group: list[tuple[Source, bytes]] = []
    held = 0
    for item in items:
        if group and (len(group) == STAGE_FILES or held + len(item[1]) > STAGE_BYTES):
            out += _read_group(group, form, units, passwords)
            group, held = [], 0
        group.append(item)
        held += len(item[1])
    return out + _read_group(group, form, units, passwords) if group else out


def _read_group(items: list[tuple[Source, bytes]], form: Form, units: UnitList,
                passwords: tuple[str, ...]) -> list[ReadResult]:
    # A city's workbook is read as its counties' returns (city.py): one result, its counties' parts.
    with engine_reports_held_back():
        staged: list = [
            _guarded(s, form, units, lambda s=s, data=data: city.reader_for(s, form, units, _open(data, passwords, _stem(s))))
            for s, data in items
        ]
        staged = [r if isinstance(r, ReadResult) else _guarded(r.source, form, units, r.load) for r in staged]
        return [r if isinstance(r, ReadResult) else _guarded(r.source, form, units, lambda r=r: city.read(r)) for r in staged]


def _guarded(source: Source, form: Form, units: UnitList, step):
    """A file the spreadsheet engine cannot open, or opens and chokes on, is that file's finding;
    anything else is a fault of this program, which the runner's guard turns into that file's
    `internal-error` (reading a group again one file at a time)."""
    try:
        return step()
    except BaseException as e:
        if not the_files_problem(e):
            raise
        if isinstance(e, Unreadable):
            return _unreadable(source, form, units, e.rule, e.detail)
        if type(e).__name__ == "PanicException":
            return _unreadable(source, form, units, "unreadable", "文件内部结构有损坏")
        return _unreadable(source, form, units, "unreadable", "文件已损坏")  # the clerk's words, never the exception's name


def _unreadable(source: Source, form: Form, units: UnitList, rule: str, detail: str) -> ReadResult:
    # Filed under the unit the file's name (or folder) gives, as the roster counts it: findings.csv
    # and validation.html then say under that unit why its return was refused.
    return ReadResult(source, None, (form.finding(rule, file=source.path, county=_unit_named(source, units),
                                                  detail=detail),))


def _unit_named(source: Source, units: UnitList) -> str:
    """The unit the file's name gives, else the nearest folder's (城关区/表一.xlsx, 城关区.zip/…)."""
    return units.find_in_filename(_stem(source)) or unit_of_folder(source.path, units)


def _open(data: bytes, passwords: tuple[str, ...], name: str = "") -> Book:
    try:
        return open_book(data, name)
    except Unreadable as e:
        if e.rule == "encrypted" and passwords:
            return open_book(_decrypt(data, passwords))
        raise


def _stem(source: Source) -> str:
    """The file's own name without its extension: a CSV's one sheet is named after it."""
    return os.path.splitext(os.path.basename(source.member or source.path))[0]


def _decrypt(data: bytes, passwords: tuple[str, ...]) -> bytes:
    """Encrypted returns open with a password from the configuration, when one fits."""
    import io

    try:
        import msoffcrypto
    except ImportError as e:
        raise Unreadable("encrypted") from e
    for pw in passwords:
        try:
            office = msoffcrypto.OfficeFile(io.BytesIO(data))
            office.load_key(password=pw)
            out = io.BytesIO()
            office.decrypt(out)
            return out.getvalue()
        except Exception:  # noqa: BLE001 - a wrong password: try the next
            continue
    raise Unreadable("encrypted")
