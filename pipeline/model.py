"""The records that travel between stages. All frozen: a stage never edits its input."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a record names its frames; the records themselves need no pandas to load
    import pandas as pd


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
SEVERITY_LABEL = {Severity.ERROR: "错误", Severity.WARNING: "需核实", Severity.INFO: "提示"}  # the one vocabulary, everywhere
STATUS_LABEL = {"included": "已报送", "rejected": "已退回", "missing": "未报送"}
FINDING_COLUMNS = ("severity", "file", "county_code", "sheet", "cell", "field", "rule", "message")


@dataclass(frozen=True)
class Finding:
    """One problem, wherever it was found. The only way a problem travels."""

    severity: Severity
    file: str
    county_code: str
    sheet: str
    cell: str
    field: str
    rule: str
    message: str

    def row(self) -> list[str]:
        """The finding as findings.csv and every other table of findings lists it (FINDING_COLUMNS)."""
        return [self.severity.value, self.file, self.county_code, self.sheet, self.cell, self.field, self.rule,
                self.message]

    def as_dict(self) -> dict[str, str]:
        return dict(zip(FINDING_COLUMNS, self.row()))

    @property
    def sort_key(self) -> tuple:
        return (SEVERITY_ORDER[self.severity], self.county_code, self.file, _sheet_key(self.sheet), _cell_key(self.cell),
                self.rule)


_NUMERALS = {ch: i for i, ch in enumerate("零一二三四五六七八九")}


@lru_cache(maxsize=4096)
def _sheet_key(name: str) -> str:
    """Sheets in the form's order, 表一 then 表二 then 表三 (by code point 二 comes after 三 ) and
    表十 after 表九 : the first number in the name, Chinese or not, compared as a number."""
    m = re.search(r"[零一二三四五六七八九十]+|\d+", name)
    if not m:
        return name
    text = m.group()
    if text.isdigit():
        n = int(text)
    elif "十" in text:
        tens, _, ones = text.partition("十")
        n = _NUMERALS.get(tens, 1) * 10 + _NUMERALS.get(ones, 0)
    else:
        n = int("".join(str(_NUMERALS[ch]) for ch in text))
    return f"{name[:m.start()]}{n:06d}{name[m.end():]}"


def _cell_key(cell: str) -> tuple[int, int]:
    letters = "".join(ch for ch in cell if ch.isalpha())
    digits = "".join(ch for ch in cell if ch.isdigit())
    col = 0
    for ch in letters:
        col = col * 26 + ord(ch.upper()) - 64
    return (int(digits) if digits else 0, col)


@dataclass(frozen=True)
class Source:
    """A file found in the inbox (or a member of a zip in it)."""

    path: str  # as shown to users: relative to the inbox, `archive.zip/member.xlsx` for members
    size: int
    sha256: str
    mtime: float
    # xlsx | xls | text (read); skip (not a return); broken (a return that cannot be opened:
    # `problem` says why); archive; output (an earlier run's outputs); folder (a folder that
    # cannot be opened); special (no regular file: a pipe, a socket, a link to a folder or to
    # nothing); combined (several files read as one return: `parts`)
    kind: str
    archive: str = ""  # the zip's absolute path when the file is an archive member
    member: str = ""
    abspath: str = ""  # the path as the system names it (a name in GBK bytes stays as it was)
    problem: str = ""  # why a broken, folder or special entry was not read, for its finding
    parts: tuple[str, ...] = ()  # several files read as one return: their paths (`path` names them together)
    # How a county's figures came, when a city's file carried them: "workbook" (the county's
    # own tables, forwarded in the city's workbook) or "summary" (the city's figures for the
    # county, no township detail); `city` names that city. Empty for a county's own file.
    via: str = ""
    city: str = ""
    # When the file came into the inbox, as the system tells it (store.inbox.added_time); 0 when
    # unknown. A zip's members share the zip's. The choice between a county's files never goes
    # by it, but where it disagrees with `mtime` the county is asked (resubmission-unclear).
    added: float = 0.0

    @property
    def paths(self) -> tuple[str, ...]:
        """Every path a finding about this source's return may name: its own, and its parts'."""
        return (self.path, *self.parts)

    @property
    def came(self) -> str:
        """How the figures came, as the roster and the report say it."""
        if self.via == "summary":
            return f"{self.city}汇总数"
        if self.via == "workbook":
            return f"经{self.city}汇总工作簿"
        return "本单位报表"


@dataclass(frozen=True)
class SheetData:
    """One sheet of a return, held by column: position i of every tuple is the i-th township
    row. Columns rather than a record per cell: a national form has millions of cells, which
    cross process boundaries and the read cache, and go straight into DataFrames from here.
    A cell's address is never stored, it is the field's column letter and the row number."""

    key: str  # the form's sheet key
    name: str  # the sheet's name as the county wrote it
    township_column: str  # its letter in the county's layout
    columns: dict[str, str]  # field key -> column letter, for every field in `values`
    townships: tuple[str, ...]
    rows: tuple[int, ...]  # 1-based row number of each township in the county's sheet
    values: dict[str, tuple]  # field key -> one value per township; None where the cell is not a count
    total_row: int = 0  # 1-based row of the 合计 row as entered (cached values); 0 when there is none
    total: dict[str, object] = field(default_factory=dict)  # that row's values, by field key
    explanation: str = ""  # the county's 上报说明 below the table: its answer to a warning
    file: str = ""  # the file it was read from, when its return combines several files' tables

    def cell(self, key: str, i: int) -> str:
        """The county's cell for field `key` of township row i ("D7")."""
        return f"{self.columns[key]}{self.rows[i]}"

    def township_cell(self, i: int) -> str:
        return f"{self.township_column}{self.rows[i]}"

    def total_cell(self, key: str) -> str:
        return f"{self.columns[key]}{self.total_row}"


@dataclass(frozen=True)
class Return:
    """One workbook as read: the county it claims to be and its sheets."""

    source: Source
    county_code: str  # "" when it could not be identified
    filed_on: date | None
    sheets: dict[str, SheetData]
    filled_by: str = ""
    reviewed_by: str = ""
    phone: str = ""
    # a 填报日期 written without its year (12月5日): completed by the run, which knows when it is
    filed_month_day: tuple[int, int] | None = None
    tables: tuple[str, ...] = ()  # the form's tables found in the file (sheet keys), read or not

    def township_figures(self) -> dict[str, tuple]:
        """Each township's figures, table by table, as ((table, its row), …), to be compared
        whole with another's; a township with a figure that is no count (None) is left out: a bad
        cell is said already."""
        listed: dict[str, list] = {}
        for _, s in sorted(self.sheets.items()):  # in one order, whatever order the file had them in
            for n, name in enumerate(s.townships):
                listed.setdefault(name, []).append((s.key, tuple(column[n] for column in s.values.values())))
        return {name: tuple(rows) for name, rows in listed.items() if not any(None in row for _, row in rows)}


@dataclass(frozen=True)
class ReadResult:
    source: Source
    ret: Return | None
    findings: tuple[Finding, ...]
    # A city's workbook: each county block read as that county's return (its own source, named
    # like a zip member, `兰州市.xlsx/安定区`); the workbook itself then stands for none.
    parts: tuple[ReadResult, ...] = ()
    # A part whose reading met a fault of this program: its traceback, which the runner files
    # as that county's one `internal-error`; the workbook's other counties stand as read.
    fault: str = ""


@dataclass(frozen=True)
class UnitStatus:
    code: str
    name: str
    city_code: str
    city_name: str
    status: str  # included | rejected | missing
    source: Source | None
    superseded: tuple[Source, ...]
    filed_on: date | None
    filled_by: str
    phone: str
    errors: int
    warnings: int
    unclear: str = ""  # why the choice between the unit's files was not clear (resubmission-unclear)
    unreadable: bool = False  # rejected for a standing file that could not be read at all (no figures)

    @property
    def status_label(self) -> str:
        return STATUS_LABEL[self.status]


@dataclass(frozen=True)
class Roster:
    units: tuple[UnitStatus, ...]
    unassigned: tuple[ReadResult, ...] = field(default=())  # files whose county is unknown
    outside: tuple[ReadResult, ...] = field(default=())  # another scope's units' files (a city's run)
    # Places in the inbox the run could not open (a damaged zip, a folder it may not enter), each
    # with why (rules.UNOPENED): a county whose return is inside stands as missing, and the
    # report and the console say so beside it.
    unopened: tuple[tuple[str, str], ...] = field(default=())

    def with_status(self, status: str) -> list[UnitStatus]:
        return [u for u in self.units if u.status == status]


@dataclass(frozen=True)
class Previous:
    """A snapshot read back."""

    round: str
    made: datetime
    path: str
    form: dict  # key, version, fields
    status: dict[str, str]  # county code → included | rejected | missing
    sha256: dict[str, str]
    sums: pd.DataFrame  # index: code of each included county; a column per field key
    townships: dict[str, pd.DataFrame]  # per sheet: code, township, then a column per field
    # whose round it was: {level: province | city, code, name}; empty in a snapshot made before
    # scopes were recorded (a province's)
    scope: dict = field(default_factory=dict)
