"""The CSV outputs (totals, findings, roster, manifest), and the table columns the reports share:
figures and rates a column at a time, as the tables round them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..model import FINDING_COLUMNS, STATUS_LABEL, Finding, Roster, Severity, Source
from ..spec import wording
from ..spec.form import Form
from ..stages.compare import Comparison
from ..stages.consolidate import Totals
from .csvfile import csv_bytes

MISSING = "—"  # a figure the tables have not got: a unit not in the sums, a rate with nothing to divide


SUMMARY_MARK = "市州汇总数"


def county_rows(counties: pd.DataFrame, fields, rates) -> list[list[str]]:
    """The county table's rows (county, city, counts, rates), made a column at a time: cell by
    cell, 3,000 counties' tables took a tenth of a second of every run. The same text as the
    province's and cities' rows: a county not included is named with its status ( 已退回 or
    未报送 ) where its figures would be, and every figure of it is —. No 应报 / 已汇总 columns:
    a county's are 1 and 1 or 0, which its name already says."""
    included = counties["status"].eq("included").to_numpy() & (counties["units_included"].to_numpy() > 0)
    vias = counties["via"].tolist() if "via" in counties else [""] * len(counties)
    # A county whose figures are a city's summary's is marked: they are no township's sum.
    names = [(f"{name}（{SUMMARY_MARK}）" if via == "summary" else name) if ok else f"{name}（{STATUS_LABEL[status]}）"
             for name, status, ok, via in zip(counties["name"].tolist(), counties["status"].tolist(), included.tolist(),
                                              vias)]
    columns = [names, counties["city_name"].tolist()]
    columns += [count_texts(counties[f.key], included, MISSING) for f in fields]
    for r in rates:
        num = counties[list(r.numerator)].sum(axis=1, min_count=len(r.numerator))
        den = counties[list(r.denominator)].sum(axis=1, min_count=len(r.denominator))
        columns.append(rate_texts(num, den, included))
    return [list(row) for row in zip(*columns)]


# A line of a column header may end after these (a closing quote or bracket, an enumeration
# comma, 和), and never before a closing mark or after an opening one.
_BREAK_AFTER = frozenset("”’）》」』、，和")
_OPENING = frozenset("“‘（《「『")
SOFT_BREAK = "\u200b"  # where a header may break, in the header's text; a forced break is \n


def header_pieces(text: str, words: tuple[str, ...]) -> list[str]:
    """A column header cut where a line of it may end: between two of the form's header words
    (longest first), after a closing quote, 、 or 和; a character that is no word stays with
    the word before it (行政村|数 is 行政村数), an opening quote with the word after it. Never
    inside a word: 两不/愁 cannot happen."""
    by_length = sorted(set(words), key=len, reverse=True)
    tokens: list[str] = []
    i = 0
    while i < len(text):
        word = next((w for w in by_length if text.startswith(w, i)), None)
        if word is None:
            tokens.append(text[i])
            i += 1
        else:
            tokens.append(word)
            i += len(word)
    pieces: list[str] = []
    for token in tokens:
        lone = len(token) == 1 and token not in words
        # A lone character (行政村|数, a closing quote, 、) stays with what comes before it, an
        # opening mark with what comes after it; words are where a line may end.
        if pieces and (pieces[-1][-1] in _OPENING or (lone and token not in _OPENING)):
            pieces[-1] += token
        else:
            pieces.append(token)
    return pieces


def soft_header(text: str, words: tuple[str, ...]) -> str:
    """The header with SOFT_BREAK where a line of it may end (each \n-separated line apart)."""
    return "\n".join(SOFT_BREAK.join(header_pieces(line, words)) for line in text.split("\n"))


def count_texts(values: pd.Series, shown: np.ndarray | None = None, empty: str = "") -> list[str]:
    """wording.table_count for a column: whole numbers as digits, `empty` where there is no
    figure (or where `shown` is False)."""
    return [str(v) if v.__class__ is int else v for v in count_values(values, shown, empty)]


def count_values(values: pd.Series, shown: np.ndarray | None = None, empty: object = "") -> list:
    """A column's whole numbers as int, `empty` where there is no figure (or `shown` is False)."""
    known = values.notna().to_numpy()
    if shown is not None:
        known = known & shown
    return [v if ok else empty for v, ok in zip(_whole(values), known.tolist())]


def _whole(values: pd.Series) -> list[int]:
    """A column's figures as Python integers, 0 where missing: exact, as the counts are (the
    reader keeps every cell within 10**12, and pandas sums them in int64)."""
    if values.dtype.kind == "f":  # a float column (NaN for missing) holds whole numbers below 2**53
        return values.fillna(0).astype(np.int64).tolist()
    if values.dtype == object:
        return [int(v) for v in values.to_numpy(dtype=object, na_value=0)]
    return values.to_numpy(dtype="int64", na_value=0).tolist()


_HALF_UP_SAFE = (2**63 - 1) // 20000  # below this, num * 20000 cannot overflow int64


def _hundredths(num: pd.Series, den: pd.Series, shown: np.ndarray) -> tuple[list[int], list[bool]]:
    """wording.hundredths for columns of sums, and where there is a rate at all."""
    ok = shown & num.notna().to_numpy() & den.notna().to_numpy()
    n_list, d_list = _whole(num), _whole(den)
    n, d = np.asarray(n_list, dtype=np.int64), np.asarray(d_list, dtype=np.int64)
    ok &= d != 0
    if len(n) and max(int(np.abs(n).max()), int(np.abs(d).max())) > _HALF_UP_SAFE:
        # sums past what int64 can round: in Python's integers, a row at a time, as wording does
        return [wording.hundredths(a, b) if good else 0 for a, b, good in zip(n_list, d_list, ok.tolist())], ok.tolist()
    safe = np.where(ok, d, 1)
    h = (n * 20000 + safe) // (2 * safe)
    h = np.where(n < d, np.minimum(h, 9999), h)
    return h.tolist(), ok.tolist()


def rate_values(num: pd.Series, den: pd.Series, shown: np.ndarray) -> list[float | None]:
    """wording.rate_value for columns of sums: the rate as the tables round it, as a fraction."""
    h, ok = _hundredths(num, den, shown)
    return [v / 10000 if good else None for v, good in zip(h, ok)]


def rate_texts(num: pd.Series, den: pd.Series, shown: np.ndarray) -> list[str]:
    """wording.table_rate for columns of sums: rounded half up to hundredths, never 100.00%
    short of 100%; — where a sum is missing, there is nothing to divide, or not `shown`. In
    integers, as wording.hundredths."""
    h, ok = _hundredths(num, den, shown)
    return [f"{v // 100}.{v % 100:02d}%" if good else MISSING for v, good in zip(h, ok)]


def totals_csv(form: Form, totals: Totals, comparison: Comparison | None = None) -> bytes:
    keys = list(form.field_keys)
    header = ["level", "code", "name", "units_expected", "units_included", *keys]
    # A city's run: the city on top, then its counties; its middle level (each county a group of
    # its own, as the report's tables show them) would list every county twice.
    city_run = form.region_level == "city"
    rows = [["city" if city_run else "province", form.region_code, form.region_name, *_unit_values(totals.province, keys)]]
    for code, c in totals.city_records:
        rows.append(["city", code, c["name"], *_unit_values(c, keys)])
    # The counties a column at a time (see county_rows): the figures of one not included are empty.
    c = totals.counties
    included = c["status"].eq("included").to_numpy() & (c["units_included"].to_numpy() > 0)
    columns = [c.index.tolist(), c["name"].tolist(), c["units_expected"].astype(int).tolist(),
               c["units_included"].astype(int).tolist(), *(count_values(c[k], included) for k in keys)]
    rows += [["county", *row] for row in zip(*columns)]
    if comparison is not None:
        header += [f"{k}_{part}" for k in keys for part in ("previous", "change")]
        # Whole numbers as numbers (a fall is -5, never text that looks like a formula), none as empty.
        for row, extra in zip(rows, comparison_columns(form, totals, comparison, empty="")):
            row += extra
    if city_run:
        rows = rows[:1] + rows[1 + len(totals.city_records):]
    return csv_bytes(header, rows)


def comparison_columns(form: Form, totals: Totals, comparison: Comparison, empty: object = None) -> list[list]:
    """Per row of the totals (province, cities, counties, in that order): <key>_previous and
    <key>_change for every field. Cities and the province over the counties included in both
    rounds; a county missing or rejected in either round has none (`empty`, never 0)."""
    names = [f"{k}_{part}" for k in form.field_keys for part in ("previous", "change")]
    out = [[int(comparison.province[n]) for n in names]]
    # The whole block at once, as whole numbers and None: a row at a time through pandas
    # costs fifty times more. Exact: counts stay far below 2**53.
    for frame in (comparison.cities.reindex([code for code, _ in totals.city_records]),
                  comparison.counties.reindex([code for code, _ in totals.county_records])):
        values = frame[names].to_numpy(dtype="float64", na_value=np.nan)
        missing = np.isnan(values)
        block = np.where(missing, 0, values).astype(np.int64).astype(object)
        block[missing] = empty
        out += block.tolist()
    return out


def _unit_values(values, keys) -> list:
    """A unit's row in totals.csv: empty figures where none of its counties is in the sums (a
    missing county's are empty; so are a city's whose counties are all missing or rejected)."""
    included = int(values["units_included"])
    return [int(values["units_expected"]), included, *[wording.table_count(values[k]) if included else "" for k in keys]]


def findings_csv(findings: list[Finding]) -> bytes:
    return csv_bytes(list(FINDING_COLUMNS), [f.row() for f in findings])


def roster_csv(roster: Roster, comparison: Comparison | None = None) -> bytes:
    header = ["code", "name", "city", "status", "file", "superseded", "filed_on", "filled_by", "phone", "errors", "warnings",
              "resubmission", "received_as"]
    rows = roster_rows(roster)
    if comparison is not None:
        header.append("previous_status")
        rows = [row + [previous_label(comparison, u.code)] for row, u in zip(rows, roster.units)]
    return csv_bytes(header, rows)


def explanation_of(f: Finding, explained: dict[tuple[str, str], str] | None) -> str:
    """The county's 上报说明 for a warning: its sheet's own (the labelled cell under that table),
    else one given on the submission page for this very warning (`answered_key`), else one for
    the whole file (sheet ""); empty for anything else."""
    if not explained or f.severity != Severity.WARNING:
        return ""
    return ((explained.get((f.file, f.sheet), "") if f.sheet else "")
            or explained.get((f.file, answered_key(f.rule, f.sheet, f.cell, f.field)), "") or explained.get((f.file, ""), ""))


def answered_key(rule: str, sheet: str, cell: str, field: str) -> str:
    """Where a note written for one warning is kept among a file's explanations, beside its
    sheets' names: NUL is in no sheet's name."""
    return "\0".join(("", rule, sheet, cell, field))


def previous_label(comparison: Comparison | None, code: str) -> str:
    """已报送 / 已退回 / 未报送 last round; empty with no previous round or off last round's list."""
    if comparison is None:
        return ""
    return STATUS_LABEL.get(comparison.previous_status.get(code, ""), "")


def roster_rows(roster: Roster) -> list[list]:
    return [
        [u.code, u.name, u.city_name, u.status_label, u.source.path if u.source else "",
         ";".join(s.path for s in u.superseded), u.filed_on.isoformat() if u.filed_on else "",
         u.filled_by, u.phone, u.errors, u.warnings, u.unclear, u.source.came if u.source else ""]
        for u in roster.units
    ]


def manifest_csv(sources: list[Source], roster: Roster, findings: list[Finding]) -> bytes:
    """Every input file: name, size, SHA-256, and what became of it in this run."""
    status: dict[str, str] = {}
    for u in roster.units:
        if u.source:
            status |= dict.fromkeys(u.source.paths, u.status_label)
            if u.source.via:  # the city's file itself: read county by county
                status.setdefault(u.source.path.rsplit("/", 1)[0], f"{u.source.city}的报表，按所辖各县分别读取")
        for s in u.superseded:
            status[s.path] = "已被替代"
    for r in roster.unassigned:
        status[r.source.path] = "无法识别单位"
    for r in roster.outside:
        status[r.source.path] = "不在本次汇总范围内"
    rows = []
    for s in sources:
        state = status.get(s.path) or {"skip": "已跳过", "output": "以前的汇总输出，已跳过",
                                       "folder": "文件夹无法打开，其中的文件未读取",
                                       "special": f"未读取（{s.problem}）"}.get(s.kind, "无法打开")
        rows.append([s.path, s.size, s.sha256, state])
    return csv_bytes(["file", "size", "sha256", "status"], rows)
