"""Render: totals, roster and findings → the report's files as bytes. Pure: no disk writes.

The narrative is written once, as text, from the form's narrative template; the HTML page
and the Word document both show those same paragraphs.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2
import markupsafe
import numpy as np
import pandas as pd

from . import wording
from .compare import Comparison
from .consolidate import Totals, _records, rate_of
from .form import Form
from .model import SEVERITY_LABEL, STATUS_LABEL, Finding, Roster, Severity
from .units import UnitList

if TYPE_CHECKING:
    from .xlsx_writer import Block

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
NUMERALS = "一二三四五六七八九十"
# The report's numbered sections, in order; a section with nothing to say is left out and the
# others numbered on. A new section is a key here, a heading in `headings`, and a block in
# each template.
SECTIONS = {"overview": "总体情况", "attention": "需关注的情况", "compare": "与上期对比", "notes": "数据说明"}


@dataclass(frozen=True)
class ReportSettings:
    title: str
    cutoff: str
    office: str
    date: str
    twice_threshold: float = 0.95
    word_annex_limit: int = 300
    lowest_count: int = 3
    burden_ratio: float = 2.0


@dataclass(frozen=True)
class Report:
    """Everything the report says, as plain values, before any format is chosen."""

    title: str
    example: bool
    status_line: str
    narrative: tuple[str, ...]
    tables: tuple[dict, ...]  # per sheet: {title, header, rows}; province first, then cities
    annex: tuple[dict, ...]  # per sheet: the counties
    word_annex: bool  # False past the configured number of units: Word tables of thousands of rows help no one
    notes: dict
    office: str
    date: str
    city_noun: str = "市（州）"
    headings: dict = dataclasses.field(default_factory=dict)  # section key → 一、总体情况 …
    annexes: tuple[dict, ...] = ()  # per annex ( 附件 ): {title, tables (in Word), all (in HTML), note, totals_first}
    annex_lines: tuple[str, ...] = ()  # the 附件说明 , 附件：1．… then 2．… under it
    narrative_html: tuple[str, ...] = ()  # the same paragraphs, each figure linked to its table row
    attention: tuple[dict, ...] = ()
    charts: tuple = ()  # charts.Chart
    charts_svg: tuple[str, ...] = ()
    # the 与上期对比 section: {summary, chart (charts.Chart or None), svg, table (as the annex's
    # tables are), annex (its 附件 number)}; None when this round was not compared
    comparison: dict | None = None


TITLE_CHARS_PER_LINE = 20


class CompiledTemplates(jinja2.BytecodeCache):
    """The templates as Jinja compiles them, kept in a folder (the outbox's .cache/templates/)
    so that a run loads them instead of compiling them again: a fortieth of a second a run.

    Jinja keys them on each template's name and text, not on what else goes into the
    compiled code: the environment's options, filters applied to constants at compile time,
    Jinja's own version. So the folder is named by a fingerprint of this code and Jinja's
    version, and each `kind` of environment (autoescape on or off) has its own files. A
    cache that cannot be read or written only costs the compiling."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def _path(self, bucket: jinja2.bccache.Bucket) -> Path | None:
        return _compiled_in / f"{self.kind}-{bucket.key}.jinja" if _compiled_in is not None else None

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        path = self._path(bucket)
        if path is None:
            return
        try:
            with open(path, "rb") as f:
                bucket.load_bytecode(f)  # one of another Python is refused there, and compiled
        except Exception:  # noqa: BLE001 - damaged in any way: compiled again
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        path = self._path(bucket)
        if path is not None:
            from .cache import _write_whole

            _write_whole(path, bucket.bytecode_to_string())


_compiled_in: Path | None = None  # where compiled templates are kept (keep_compiled_templates)
_ENVS: dict[tuple[bool, Path], jinja2.Environment] = {}


def keep_compiled_templates(folder: Path | None) -> None:
    """Keep compiled templates under `folder` from now on in this process (None: nowhere), in
    a subfolder named by this code's fingerprint; other fingerprints' subfolders go."""
    global _compiled_in
    if folder is None:
        _compiled_in = None
        return
    _compiled_in = folder / _template_fingerprint()
    if not _compiled_in.is_dir() and folder.is_dir():
        import shutil

        for old in folder.iterdir():
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)


@lru_cache(maxsize=1)
def _template_fingerprint() -> str:
    import hashlib

    here = Path(__file__).resolve().parent
    h = hashlib.sha256(jinja2.__version__.encode())
    for name in ("render.py", "wording.py", "form.py"):  # the environment, its filters and theirs
        h.update((here / name).read_bytes())
    return h.hexdigest()[:12]


def _env(autoescape: bool) -> jinja2.Environment:
    # One environment per kind and folder, kept: it holds the templates loaded (each checked
    # against its file before use), so a process that renders many reports compiles each once.
    env = _ENVS.get((autoescape, TEMPLATES_DIR))
    if env is None:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
            autoescape=autoescape,
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            bytecode_cache=CompiledTemplates("html" if autoescape else "text"),
        )
        env.filters.update(wording.FILTERS)
        env.filters["table_rows"] = table_rows
        _ENVS[(autoescape, TEMPLATES_DIR)] = env
    return env


_CELL_SEPARATOR = "\x1f"  # a control character no cell holds: the row is escaped whole, then cut


def table_rows(rows, classes: tuple[str, ...] = ()) -> markupsafe.Markup:
    """<tr><td>…</td>…</tr> per row, each text escaped; `classes`, a class per column ("" for
    none). The annex runs to a row per county: a row of plain text is escaped as one string,
    its cells joined by a character escaping leaves as it is, then cut there, instead of
    40,000 cells escaped one by one. Anything else (a number, markup) is escaped cell by cell."""
    openings: dict[int, list[str]] = {}
    out = []
    for row in rows:
        opening = openings.get(len(row))
        if opening is None:
            opening = openings[len(row)] = ([f'<td class="{c}">' if c else "<td>" for c in classes]
                                            if len(classes) == len(row) else ["<td>"] * len(row))
        line = _CELL_SEPARATOR.join(row) if all(c.__class__ is str for c in row) else None
        if line is not None and line.count(_CELL_SEPARATOR) == len(row) - 1:
            cells = str(markupsafe.escape(line)).split(_CELL_SEPARATOR) if row else []
        else:  # not all plain text, or a cell holds the separator itself
            cells = [str(markupsafe.escape(c)) for c in row]
        if classes:
            out.append("<tr>" + "".join(f"{o}{cell}</td>" for o, cell in zip(opening, cells)) + "</tr>\n")
        else:
            out.append("<tr><td>" + "</td><td>".join(cells) + "</td></tr>\n" if cells else "<tr></tr>\n")
    return markupsafe.Markup("".join(out))


def build_report(
    form: Form, units: UnitList, totals: Totals, roster: Roster, findings: list[Finding],
    settings: ReportSettings, *, example: bool = False, charts: list | None = None,
    comparison: Comparison | None = None, round_note: str = "",
) -> Report:
    p = totals.province
    expected, included = int(p["units_expected"]), int(p["units_included"])
    rejected = roster.with_status("rejected")
    missing = roster.with_status("missing")
    noun = form.unit_noun
    if not totals.partial:
        status = f"截至{settings.cutoff}，{expected}个{noun}已全部报送，数据完整。"
    else:
        # 已报送 is the roster's word for a return included: the report says 已汇总.
        parts = [f"截至{settings.cutoff}，应报送的{expected}个{noun}中，已汇总{included}个"]
        if rejected:
            parts.append(f"因数据有误退回{len(rejected)}个")
        if missing:
            parts.append(f"未报送{len(missing)}个")
        status = "，".join(parts) + f"；以下为已汇总的{included}个{noun}的数据，为部分数据。"
    narrative = render_narrative(form, totals, settings, comparison=comparison)
    narrative_html = render_narrative(form, totals, settings, html=True, comparison=comparison)
    tables, annex = _tables(form, totals)
    from .attention import attention
    from .charts import chart_data, svg

    if charts is None:
        charts = chart_data(form, totals)
    sections = attention(form, totals, settings.lowest_count, settings.burden_ratio, roster)
    word_annex = len(roster.units) <= settings.word_annex_limit
    annexes = [
        {"title": f"各{form.city_noun}汇总表", "tables": tables, "all": tables, "note": "", "totals_first": True},
        {"title": f"各{noun}明细表", "tables": annex if word_annex else (), "all": annex,
         "note": f"单位较多（{expected}个），明细表见汇总工作簿（consolidated.xlsx）和网页版报告（report.html）。",
         "totals_first": False},
    ]
    # The comparison's table is numbered on after the others and is an annex of its own.
    compared = _comparison_section(form, totals, comparison, len(tables) + len(annex) + 1, len(annexes) + 1)
    if compared is not None:
        t = compared["table"]
        annexes.append({"title": f"各{form.city_noun}与上期对比表", "tables": (t,), "all": (t,), "note": "",
                        "totals_first": True})
    return Report(
        title=wording.cn_quotes(settings.title),
        example=example,
        status_line=status,
        narrative=narrative,
        tables=tables,
        annex=annex,
        word_annex=word_annex,
        narrative_html=narrative_html,
        attention=tuple(sec | {"heading": f"（{NUMERALS[i]}）{sec['title']}"} for i, sec in enumerate(sections)),
        charts=tuple(charts),
        charts_svg=tuple(svg(c) for c in charts),
        notes=_notes(form, totals, roster, comparison, round_note),
        comparison=compared,
        office=settings.office,
        date=settings.date,
        city_noun=form.city_noun,
        headings=headings(["overview", *(["attention"] if sections else []), *(["compare"] if compared else []), "notes"]),
        annexes=tuple(annexes),
        annex_lines=tuple(f"{'附件：' if i == 0 else ''}{i + 1}．{a['title']}" for i, a in enumerate(annexes)),
    )


def headings(keys: list[str]) -> dict:
    """一、总体情况 , 二、… for the sections present, in SECTIONS' order."""
    present = [k for k in SECTIONS if k in keys]
    return {k: f"{NUMERALS[i]}、{SECTIONS[k]}" for i, k in enumerate(present)}


def county_rows(counties: pd.DataFrame, fields, rates) -> list[list[str]]:
    """The county table's rows (city, county, 应报 and 已汇总 , counts, rates), made a column at a
    time: cell by cell, 3,000 counties' tables took a tenth of a second of every run. The
    same text as the province's and cities' rows: a county not included is named with its
    status ( 已退回 or 未报送 ) where its figures would be, blank figures and — rates."""
    included = counties["status"].eq("included").to_numpy() & (counties["units_included"].to_numpy() > 0)
    names = [name if ok else f"{name}（{STATUS_LABEL[status]}）"
             for name, status, ok in zip(counties["name"].tolist(), counties["status"].tolist(), included.tolist())]
    columns = [counties["city_name"].tolist(), names, count_texts(counties["units_expected"]),
               count_texts(counties["units_included"])]
    columns += [count_texts(counties[f.key], included) for f in fields]
    for r in rates:
        num = counties[list(r.numerator)].sum(axis=1, min_count=len(r.numerator))
        den = counties[list(r.denominator)].sum(axis=1, min_count=len(r.denominator))
        columns.append(rate_texts(num, den, included))
    return [list(row) for row in zip(*columns)]


def count_texts(values: pd.Series, shown: np.ndarray | None = None) -> list[str]:
    """wording.table_count for a column: whole numbers as digits, nothing where there is no
    figure (or where `shown` is False)."""
    return [str(v) if v.__class__ is int else v for v in count_values(values, shown)]


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
    return [f"{v // 100}.{v % 100:02d}%" if good else "—" for v, good in zip(h, ok)]


def render_narrative(form: Form, totals: Totals, settings: ReportSettings, html: bool = False,
                     comparison: Comparison | None = None) -> tuple[str, ...]:
    """The narrative as plain text; with html=True each figure links to the table row it comes from.

    A form's template may write since(key, …) after a figure: 较上期增加…件 (the change over the
    counties in both rounds), or nothing at all when this round is not compared."""
    if not form.narrative:
        return ()
    p = totals.province
    styles = {f.key: f.narrative for f in form.count_fields}
    sheet_of = {f.key: s.key for s in form.sheets for f in s.count_fields}
    rate_sheet = {r.key: sheet_of[r.numerator[0]] for r in form.rates}

    def link(text: str, sheet: str) -> str:
        if not html:
            return text
        return markupsafe.Markup('<a class="fig" href="#sum-{}">{}</a>').format(sheet, text)

    def n(key: str) -> str:
        return link(wording.count(int(p[key]), styles[key]), sheet_of[key])

    def sum_n(*keys: str) -> str:
        return link(wording.full(sum(int(p[k]) for k in keys)), sheet_of[keys[0]])

    def rect(key: str, lead: str = "整改率达") -> str:
        return link(wording.rectified(*rate_of(form, p, key), lead=lead), rate_sheet[key])

    def cov(key: str) -> str:
        return link(wording.coverage(*rate_of(form, p, key)), rate_sheet[key])

    def since(*keys: str) -> str:
        if comparison is None:
            return ""
        change = sum(int(comparison.province[f"{k}_change"]) for k in keys)
        unit = form.field(keys[0]).unit
        return f"较上期增加{change}{unit}" if change > 0 else f"较上期减少{-change}{unit}" if change < 0 else "与上期持平"

    twice_num, twice_den = rate_of(form, p, "twice_share") if any(r.key == "twice_share" for r in form.rates) else (0, 0)
    partial = totals.partial
    # A partial sum is not the province's: every 占…的 names its base, and no province-wide words.
    included = f"已汇总的{int(p['units_included'])}个{form.unit_noun}"
    text = _env(autoescape=html).get_template(form.narrative).render(
        region=form.region_name,
        scope=included if partial else form.region_name,
        scope_units=included if partial else f"各{form.unit_noun}",
        partial=partial,
        n=n, sum_n=sum_n, rect=rect, cov=cov, since=since,
        twice_general=twice_den > 0 and twice_num * 1000 >= round(settings.twice_threshold * 1000) * twice_den,
    )
    paragraphs = tuple(" ".join(block.split("\n")).strip() for block in text.split("\n\n") if block.strip())
    return tuple(markupsafe.Markup(p) for p in paragraphs) if html else paragraphs


def _tables(form: Form, totals: Totals) -> tuple[tuple[dict, ...], tuple[dict, ...]]:
    """The annex's tables: by city, then by county; numbered 表1, 表2 … across both."""
    by_city, by_county = [], []
    for sheet in form.sheets:
        fields = list(sheet.count_fields)
        keys = {f.key for f in fields}
        rates = [r for r in form.rates if set(r.numerator) <= keys]
        header = ["单位", "应报", "已汇总", *[wording.cn_quotes(f.full_label) for f in fields],
                  *[wording.cn_quotes(r.label) for r in rates]]

        def row(name: str, values, fields=fields, rates=rates) -> list[str]:
            cells = [name, wording.table_count(values["units_expected"]), wording.table_count(values["units_included"])]
            # A city none of whose counties is in the sums has no figures, not figures of 0.
            cells += [wording.table_count(values[f.key]) if values["units_included"] else "" for f in fields]
            for r in rates:
                num = sum(values[k] for k in r.numerator) if values["units_included"] else None
                den = sum(values[k] for k in r.denominator) if values["units_included"] else None
                cells.append(wording.table_rate(num, den))
            return cells

        rows = [row(wording.with_share(form.region_name, totals.province), totals.province)]
        rows += [row(wording.with_share(c["name"], c), c) for _, c in totals.city_records]
        by_city.append({"label": f"各{form.city_noun}{sheet.label}", "unit_line": sheet.unit_line,
                        "header": header, "rows": rows, "key": sheet.key})
        by_county.append({"label": f"各{form.unit_noun}{sheet.label}", "unit_line": sheet.unit_line,
                          "header": [form.city_noun, *header], "rows": county_rows(totals.counties, fields, rates),
                          "key": sheet.key})
    numbered = [t | {"caption": f"表{i}\u3000{t['label']}"}
                for i, t in enumerate(by_city + by_county, start=1)]
    return tuple(numbered[:len(by_city)]), tuple(numbered[len(by_city):])


def _notes(form: Form, totals: Totals, roster: Roster, comparison: Comparison | None = None,
           round_note: str = "") -> dict:
    """The 数据说明 , for readers: who is in the sums and who is not, and why; which round this
    one was compared with; how the rates are worked out; where two figures count different
    things. File names, cells and what a county must do are for validation.html and the
    returned workbooks."""
    noun = form.unit_noun
    included, rejected, missing = (roster.with_status(s) for s in ("included", "rejected", "missing"))
    # A unit missing now that was in last round's sums: the reader asks why it fell away.
    was_included = ({c for c, status in comparison.previous_status.items() if status == "included"}
                    if comparison is not None else set())

    def names(units) -> str:
        return "、".join(wording.place(u.name, u.city_name) + ("（上期已报送）" if u.code in was_included else "")
                        for u in units)

    lines = []
    if rejected or missing:
        lines.append(f"已汇总{len(included)}个{noun}，各{noun}的数据见附件2。")
        if rejected:
            lines.append(f"已退回{len(rejected)}个：{names(rejected)}（数据有误，已退回核实）。")
        if missing:
            lines.append(f"未报送{len(missing)}个：{names(missing)}。")
        lines.append(f"{form.city_noun}名称后括号内为已汇总数与应报数，如“{_example_city(form, totals)}”。")
    else:
        lines.append(f"本报告汇总了{len(included)}个{noun}报送的数据，各{noun}的数据见附件2。")
    if roster.unassigned:
        lines.append(f"另收到{len(roster.unassigned)}个无法识别填报单位的文件，未计入汇总。")
    if comparison is not None or round_note:
        lines.append(_round_line(form, comparison) if comparison is not None else round_note)
    lines.append("各项比率均由汇总后的数字计算，不是各地比率的平均；表中比率保留两位小数，四舍五入，未达100%的不显示为100.00%。")
    p = totals.province
    for note in form.notes:
        more, less = note["more"], note["less"]
        a, b = sum(int(p[k]) for k in more), sum(int(p[k]) for k in less)
        if int(p["units_included"]) and a > b:
            lines.append(wording.cn_quotes(note["text"]).format(more=a, less=b))
    return {
        "expected": len(roster.units),
        "included": len(included),
        "rejected": [{"name": u.name, "city": u.city_name} for u in rejected],
        "missing": [{"name": u.name, "city": u.city_name} for u in missing],
        "lines": lines,
        "unit_noun": noun,
        "roster": roster.units,
        # the page's roster table, a row per unit (made once here: 3,000 rows through the template's loop took 20 ms)
        "roster_rows": [[u.code, u.name, u.city_name, u.status_label, u.filed_on.isoformat() if u.filed_on else "",
                         str(u.errors), str(u.warnings)] for u in roster.units],
    }


def _round_line(form: Form, comparison: Comparison) -> str:
    """Which round was compared, when it was made, how many units are comparable."""
    made = comparison.previous_made
    return (f"本期（{comparison.round}）与上期（{comparison.previous_round}，{made.year}年{made.month}月{made.day}日"
            f"生成）比较：两期均已汇总的{form.unit_noun}共{len(comparison.comparable)}个，"
            f"与上期对比中各{form.city_noun}和{form.region_name}的数据只计这些{form.unit_noun}。")


def comparison_table(form: Form, totals: Totals, comparison: Comparison) -> dict:
    """The 与上期对比 table by city: the form's count as 本期 / 上期 / 增减 / 增幅 , then each of its rates then
    and now and the change in percentage points. Every figure from the counties in both rounds.
    A table as the annex's others are (label, unit line, header, rows), numbered by the caller."""
    from .compare import growth, point_change, points

    spec = form.rounds or {}
    count = list(spec.get("count", []))
    rates = [r for key in spec.get("rates", []) for r in form.rates if r.key == key]
    label = spec.get("count_label", "")
    # A header's \n is where it breaks: twelve columns on a landscape page wrap their headers,
    # and 总体整改率 / 上期 reads where 总体整改率上 / 期 does not.
    header = ["单位", "可比\n单位数"]
    if count:
        header += [f"{label}\n本期", f"{label}\n上期", "增减", "增幅"]
    for r in rates:
        name = wording.cn_quotes(r.label)
        header += [f"{name}\n本期", f"{name}\n上期", "变化\n（百分点）"]  # 本期 first, as the count's

    def row(name: str, values) -> list[str]:
        cells = [name, str(int(values["n"]))]
        if count:
            now = sum(int(values[k]) for k in count)
            before = sum(int(values[f"{k}_previous"]) for k in count)
            cells += [str(now), str(before), f"{now - before:+d}" if now != before else "0", growth(now, before)]
        for r in rates:
            num, den = (sum(int(values[k]) for k in r.numerator), sum(int(values[k]) for k in r.denominator))
            num0, den0 = (sum(int(values[f"{k}_previous"]) for k in r.numerator),
                          sum(int(values[f"{k}_previous"]) for k in r.denominator))
            cells += [wording.table_rate(num, den), wording.table_rate(num0, den0),
                      points(point_change(num, den, num0, den0))]
        return cells

    rows = [row(form.region_name, comparison.province)]
    names = dict(totals.cities["name"])
    rows += [row(names[code], values) for code, values in _records(comparison.cities)]
    # 可比单位数 in 个, the count in its unit, 增幅 and the rates in %; the 百分点 column says its own.
    units = list(dict.fromkeys(["个", *([spec.get("count_unit", "")] if count else []), *(["%"] if count or rates else [])]))
    return {"label": f"各{form.city_noun}与上期（{comparison.previous_round}）对比", "key": "compare",
            "unit_line": "单位：" + "、".join(u for u in units if u), "header": header, "rows": rows}


def _comparison_summary(form: Form, comparison: Comparison, count: list[str], label: str, unit: str, rates) -> str:
    """One sentence of the province's figures then and now, every figure from the comparable units."""
    from .compare import growth, point_change, points_text

    p = comparison.province
    parts = [f"与上期（{comparison.previous_round}）相比，两期均已汇总的{int(p['n'])}个{form.unit_noun}"]
    if count:
        now, before = sum(int(p[k]) for k in count), sum(int(p[f"{k}_previous"]) for k in count)
        change = now - before
        if change:
            moved = "增加" if change > 0 else "减少"
            parts.append(f"{label}由上期的{before}{unit}{moved}到{now}{unit}，{moved}{abs(change)}{unit}"
                         + (f"（增幅{growth(now, before)}）" if before else ""))
        else:
            parts.append(f"{label}为{now}{unit}，与上期持平")
    for r in rates:
        num, den = sum(int(p[k]) for k in r.numerator), sum(int(p[k]) for k in r.denominator)
        num0, den0 = sum(int(p[f"{k}_previous"]) for k in r.numerator), sum(int(p[f"{k}_previous"]) for k in r.denominator)
        change = point_change(num, den, num0, den0)
        if change == 0:  # 由87.40%变为87.40%，持平 says one thing three times
            parts.append(f"{wording.cn_quotes(r.label)}为{wording.table_rate(num, den)}，与上期持平")
        else:
            parts.append(f"{wording.cn_quotes(r.label)}由上期的{wording.table_rate(num0, den0)}变为"
                         f"{wording.table_rate(num, den)}，{points_text(change)}")
    return parts[0] + "，" + "；".join(parts[1:]) + "。" if len(parts) > 1 else parts[0] + "。"


def _comparison_section(form: Form, totals: Totals, comparison: Comparison | None, table: int, annex: int) -> dict | None:
    """The 与上期对比 section: its sentence, its chart (a Chart like the others, native in Word and
    SVG in HTML), and its table, 表`table` in 附件`annex`."""
    if comparison is None:
        return None
    from .charts import svg

    spec = form.rounds or {}
    count = list(spec.get("count", []))
    rates = [r for key in spec.get("rates", []) for r in form.rates if r.key == key]
    chart = comparison_chart(form, totals, comparison)
    t = comparison_table(form, totals, comparison)
    summary = _comparison_summary(form, comparison, count, spec.get("count_label", ""), spec.get("count_unit", ""), rates)
    return {"summary": f"{summary}各{form.city_noun}的情况见附件{annex}。", "chart": chart,
            "svg": svg(chart) if chart else "", "annex": annex,
            "table": t | {"caption": f"表{table}\u3000{t['label']}"}}


def comparison_chart(form: Form, totals: Totals, comparison: Comparison):
    """The 与上期对比 chart: the form's count by city, 上期 beside 本期 (comparable units only)."""
    from .charts import MAX_BARS, Chart

    spec = form.rounds or {}
    count = list(spec.get("count", []))
    if not count:
        return None
    names = dict(totals.cities["name"])
    bars = [(names[code], float(sum(int(v[f"{k}_previous"]) for k in count)), float(sum(int(v[k]) for k in count)))
            for code, v in _records(comparison.cities) if int(v["n"])]
    if not bars:
        return None
    unit = spec.get("count_unit", "")
    title = f"各{form.city_noun}{spec.get('count_label', '')}：本期与上期（{unit}）"
    if len(bars) > MAX_BARS:  # a national form has hundreds of cities: the largest, in their order
        keep = {b[0] for b in sorted(bars, key=lambda b: b[2], reverse=True)[:MAX_BARS]}
        bars = [b for b in bars if b[0] in keep]
        title += f"（最多的{MAX_BARS}个）"
    return Chart("compare_by_city", title, tuple(b[0] for b in bars),
                 (("上期", tuple(b[1] for b in bars)), ("本期", tuple(b[2] for b in bars))), False, unit=unit)


def _example_city(form: Form, totals: Totals) -> str:
    for _, c in totals.city_records:
        if int(c["units_included"]) < int(c["units_expected"]):
            return wording.with_share(c["name"], c)
    return wording.with_share(form.region_name, totals.province)


# --- formats ---------------------------------------------------------------------------


def render_html(report: Report) -> str:
    return _env(autoescape=True).get_template("report.html.j2").render(r=report)


def render_validation(roster: Roster, findings: list[Finding], comparison: Comparison | None = None,
                      explained: dict[tuple[str, str], str] | None = None) -> str:
    """Findings grouped by county (errors first), then files with no county, then skipped files."""
    names = {u.code: u.name for u in roster.units}
    order = {u.code: i for i, u in enumerate(roster.units)}
    by_county: dict[str, list[Finding]] = {}
    for f in findings:
        by_county.setdefault(f.county_code if f.county_code in names else "", []).append(f)

    def group(code: str, title: str, items: list[Finding]) -> dict:
        items = sorted(items, key=lambda f: f.sort_key)
        return {
            "code": code, "title": title, "findings": items,
            "errors": sum(f.severity == Severity.ERROR for f in items),
            "warnings": sum(f.severity == Severity.WARNING for f in items),
            "infos": sum(f.severity == Severity.INFO for f in items),
        }

    groups = [group(c, names[c], fs) for c, fs in by_county.items() if c]
    groups.sort(key=lambda g: (-g["errors"], -g["warnings"], order[g["code"]]))
    if "" in by_county:
        groups.append(group("", "未识别单位或已跳过的文件", by_county[""]))
    chase = [u for u in roster.units if u.status != "included"]
    counts = {
        "included": len(roster.with_status("included")), "rejected": len(roster.with_status("rejected")),
        "missing": len(roster.with_status("missing")),
        "errors": sum(f.severity == Severity.ERROR for f in findings),
        "warnings": sum(f.severity == Severity.WARNING for f in findings),
    }
    return _env(autoescape=True).get_template("validation.html.j2").render(
        roster=roster, groups=groups, chase=chase, counts=counts, verdict=_verdict(counts),
        labels={s.value: label for s, label in SEVERITY_LABEL.items()},
        previous={u.code: previous_label(comparison, u.code) for u in chase} if comparison is not None else None,
        explanation_for=lambda f: explanation_of(f, explained),
    )


def _verdict(counts: dict) -> str:
    """The line that says a clean run is clean, without claiming anything of returns not received."""
    if counts["errors"] or counts["warnings"]:
        return ""
    if not counts["included"]:
        return "尚未收到任何报表。"
    if counts["missing"]:
        return (f"已收到的报表全部通过审核（{counts['included']} 个单位），没有发现错误或需核实的问题；"
                f"尚有 {counts['missing']} 个单位未报送。")
    return f"全部通过：{counts['included']} 个单位的报表均已通过审核，没有发现错误或需核实的问题。"


def prepare_docx() -> None:
    """Import what render_docx needs ahead of being asked for it: docxtpl, a tenth of a second."""
    import docxtpl  # noqa: F401


def for_word(report: Report) -> Report:
    """The report without what only the web page shows (the county tables past the Word limit,
    the roster, the pictures and linked paragraphs of the HTML): what render_docx is given, in
    the Word helper process. At 3,000 units the whole report took 27 ms to send there, on the
    way of everything else, and this part of it 2. Word takes its tables from `annexes` alone."""
    return replace(
        report,
        annex=(), narrative_html=(), charts_svg=(),
        notes={k: v for k, v in report.notes.items() if k not in ("roster", "roster_rows")},
        annexes=tuple({k: v for k, v in a.items() if k != "all"} for a in report.annexes),
        comparison={k: v for k, v in report.comparison.items() if k != "svg"} if report.comparison else None,
    )


# Text in a Word run holding a tab, bell, line or form feed, which docxtpl turns into Word's own.
_LISTING_TEXT = re.compile(r"<w:t(?: [^>]*)?>[^<]*[\t\a\n\f]")
_PARAGRAPH = re.compile(r"<w:p(?: [^>]*)?>.*?</w:p>", flags=re.DOTALL)  # as docxtpl's resolve_listing finds them


def render_docx(report: Report) -> bytes:
    """The Word report, its charts native Word charts (charts.WordChart)."""
    from docxtpl import DocxTemplate

    from .charts import WordChart

    class Template(DocxTemplate):
        def resolve_listing(self, xml: str) -> str:
            # docxtpl rewrites every paragraph, run and text of the rendered part through
            # regular expressions to turn those characters into tabs and breaks: a third of
            # the Word report's time, to change the one paragraph that holds one (the title,
            # broken in two lines). Its pass works paragraph by paragraph, so it is given
            # those paragraphs alone.
            if not _LISTING_TEXT.search(xml):
                return xml
            own = super().resolve_listing
            return _PARAGRAPH.sub(lambda m: own(m.group(0)) if _LISTING_TEXT.search(m.group(0)) else m.group(0), xml)

        def fix_tables(self, xml: str):
            # docxtpl rescales each table's grid to the cells {%tc for%} made; finish_docx sets
            # every grid and cell width from what the cells hold, so only the parse is needed.
            from lxml import etree

            return etree.fromstring(xml, parser=etree.XMLParser(recover=True))

    doc = Template(str(TEMPLATES_DIR / "report.docx"))
    charts = [{"image": WordChart(doc, c, i), "title": c.title} for i, c in enumerate(report.charts, start=1)]
    # The 与上期对比 chart, when there is one, is numbered on after the overview's charts.
    chart = report.comparison["chart"] if report.comparison else None
    compared = ({"image": WordChart(doc, chart, len(charts) + 1), "title": chart.title, "number": len(charts) + 1}
                if chart is not None else None)
    # docxtpl renders with its own environment; autoescape keeps <, & from counties valid XML.
    # The title in 2号 type: 20 characters to the line of the text block (156 mm).
    printed = replace(report, title=wording.title_lines(report.title, TITLE_CHARS_PER_LINE))
    doc.render({"r": printed, "charts": charts, "compared": compared}, jinja_env=_env(autoescape=True), autoescape=True)
    finish_docx(doc.docx, report)
    buf = io.BytesIO()
    doc.save(buf)
    from .formbook import fixed_zip_times

    return fixed_zip_times(buf.getvalue())


# --- what the Word template cannot say by itself ---------------------------------------

BODY_CHAR = 315  # twips: a 3号 character as the body sets it (16 pt less 0.25 pt)
TABLE_CHAR = 180  # twips: a 小五 (9 pt) character in the tables
CELL_MARGIN = 57  # twips, each side of a cell's text (0.1 cm)
CELL_PADDING = 2 * CELL_MARGIN + 40  # and a little air
DIGIT = 0.6  # a digit's width in table characters: the substitute fonts' digits run wider than half
_NUMBER = re.compile(r"[\d.,%—+\-]*")  # + : a change, +12


def text_width(text: str, half: float = 0.5) -> float:
    """In characters: a CJK character or full-width mark is one, a digit or Latin letter `half`."""
    wide = 0 if text.isascii() else sum(1 for ch in text if ord(ch) > 0x2E7F)  # a figure or rate: no wide ones
    return wide + (len(text) - wide) * half


def finish_docx(document, report: Report) -> None:
    """Column widths from what the columns hold, each cell as wide as its column; numbers to
    the right; the 落款 placed by GB/T 9704 7.3.5.2; the document's title and author."""
    from docx.oxml.ns import qn

    sections = document.sections
    annex = sections[-1]
    width = int((annex.page_width - annex.left_margin - annex.right_margin) / 635)  # EMU → twips
    for tbl in document.element.body.iter(qn("w:tbl")):
        fit_table(tbl, width)
    # the body's own paragraphs only (not the tables'), looked up without python-docx's helpers
    style = f'{qn("w:pPr")}/{qn("w:pStyle")}[@{qn("w:val")}="ReportSignature"]'
    signature = [p for p in document.element.body.iterchildren(qn("w:p")) if p.find(style) is not None]
    if len(signature) == 2:
        office, date = (text_width("".join(t.text or "" for t in p.iter(qn("w:t")))) for p in signature)
        # The office 右空二字; the date under it, starting two characters right of the office's
        # first character; a date longer than that keeps 右空二字 and moves the office left.
        office_in = max(2.0, date - office + 4)
        date_in = office_in + office - 2 - date
        for p, chars in zip(signature, (office_in, date_in)):
            p.get_or_add_pPr().get_or_add_ind().right = int(chars * BODY_CHAR * 635)
    props = document.core_properties
    props.title = report.title
    props.author = props.last_modified_by = report.office
    props.subject = report.status_line[:255]


def fit_table(tbl, width: int) -> None:
    """Widths in twips: a text column as wide as its longest text (a county's name never
    wraps), a number column as its widest figure; what is left shared by the number columns,
    by how long their headers are. tblGrid, and every cell's tcW with it (Word follows tcW, LibreOffice tblGrid)."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement

    w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    W_T, W_TC, W_TCPR, W_TCW, W_P, W_PPR, W_PSTYLE = (w + t for t in ("t", "tc", "tcPr", "tcW", "p", "pPr", "pStyle"))
    # Plain lxml, a few thousand cells: python-docx's element helpers would take half a second.
    rows = [[("".join(t.text or "" for t in tc.iter(W_T)), tc) for tc in tr.iterchildren(W_TC)] for tr in tbl.tr_lst]
    if not rows or not rows[0]:
        return
    n = len(rows[0])
    body = rows[1:]
    numeric = [all(_NUMBER.fullmatch(r[c][0]) for r in body if c < len(r)) for c in range(n)]
    need = []
    for c in range(n):
        longest = max([text_width(r[c][0], DIGIT) for r in body if c < len(r)] or [0])
        head = text_width(rows[0][c][0])
        chars = max(longest, min(head, 2)) if numeric[c] else max(longest, min(head, 4))
        need.append(int(chars * TABLE_CHAR) + CELL_PADDING)
    spare = width - sum(need)
    if spare > 0:
        # to the number columns, by how long their headers are: fewer header lines
        weights = [text_width(rows[0][c][0]) if numeric[c] else 0 for c in range(n)]
        total = sum(weights) or 1
        need = [w + int(spare * wt // total) for w, wt in zip(need, weights)]
    else:
        need = [w * width // sum(need) for w in need]
    need[-1] += width - sum(need)

    tblPr = tbl.tblPr
    tblW = tblPr.find(w + "tblW")
    if tblW is None:
        tblW = OxmlElement("w:tblW")
        tblPr.append(tblW)
    tblW.set(w + "w", str(width))
    tblW.set(w + "type", "dxa")
    tblPr.autofit = False  # fixed layout: the widths below, whatever the text
    margins = tblPr.find(w + "tblCellMar")
    if margins is None:
        margins = OxmlElement("w:tblCellMar")
        tblPr.append(margins)
    for side in ("left", "right"):
        el = margins.find(w + side)
        if el is None:
            el = OxmlElement(f"w:{side}")
            margins.append(el)
        el.set(w + "w", str(CELL_MARGIN))
        el.set(w + "type", "dxa")
    grid = tbl.tblGrid
    for col in list(grid):
        grid.remove(col)
    for width_ in need:
        col = OxmlElement("w:gridCol")
        col.set(w + "w", str(width_))
        grid.append(col)
    widths = [str(x) for x in need]
    for r, row in enumerate(rows):
        for c, (_text, tc) in enumerate(row[:n]):
            tcPr = tc.find(W_TCPR)
            if tcPr is None:
                tcPr = tc.get_or_add_tcPr()
            tcW = tcPr.find(W_TCW)
            if tcW is None:
                tcW = tcPr.get_or_add_tcW()
            tcW.set(w + "w", widths[c])
            tcW.set(w + "type", "dxa")
            if r == 0 or not numeric[c]:
                continue
            # numbers to the right: the cell's paragraph takes the right-aligned table style
            for p in tc.iterchildren(W_P):
                ppr = p.find(W_PPR)
                style = ppr.find(W_PSTYLE) if ppr is not None else None
                if style is not None:
                    style.set(w + "val", "ReportTableNumber")
                else:
                    p.get_or_add_pPr().jc_val = WD_ALIGN_PARAGRAPH.RIGHT


def csv_bytes(header: list[str], rows: list[list]) -> bytes:
    """UTF-8 with BOM, so Excel opens it; county text that looks like a formula stays text."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    for row in rows:
        w.writerow([inert(v) if v.__class__ is str else v for v in row])  # only text can be a formula
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def inert(v):
    """Text from a county that a spreadsheet would run as a formula is prefixed with '."""
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + v
    return v


def totals_csv(form: Form, totals: Totals, comparison: Comparison | None = None) -> bytes:
    keys = list(form.field_keys)
    header = ["level", "code", "name", "units_expected", "units_included", *keys]
    rows = [["province", form.region_code, form.region_name, *_unit_values(totals.province, keys)]]
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


FINDING_COLUMNS = ["severity", "file", "county_code", "sheet", "cell", "field", "rule", "message"]


def findings_csv(findings: list[Finding]) -> bytes:
    rows = [[f.severity.value, f.file, f.county_code, f.sheet, f.cell, f.field, f.rule, f.message] for f in findings]
    return csv_bytes(FINDING_COLUMNS, rows)


def roster_csv(roster: Roster, comparison: Comparison | None = None) -> bytes:
    header = ["code", "name", "city", "status", "file", "superseded", "filed_on", "filled_by", "phone", "errors", "warnings"]
    rows = roster_rows(roster)
    if comparison is not None:
        header.append("previous_status")
        rows = [row + [previous_label(comparison, u.code)] for row, u in zip(rows, roster.units)]
    return csv_bytes(header, rows)


def explanation_of(f: Finding, explained: dict[tuple[str, str], str] | None) -> str:
    """The county's 上报说明 for a warning: its sheet's own (the labelled cell under that table),
    else one for the whole file (given on the submission page, sheet ""); empty for anything else."""
    if not explained or f.severity != Severity.WARNING:
        return ""
    return (explained.get((f.file, f.sheet), "") if f.sheet else "") or explained.get((f.file, ""), "")


def previous_label(comparison: Comparison | None, code: str) -> str:
    """已报送 / 已退回 / 未报送 last round; empty with no previous round or off last round's list."""
    if comparison is None:
        return ""
    return STATUS_LABEL.get(comparison.previous_status.get(code, ""), "")


def roster_rows(roster: Roster) -> list[list]:
    return [
        [u.code, u.name, u.city_name, u.status_label, u.source.path if u.source else "",
         ";".join(s.path for s in u.superseded), u.filed_on.isoformat() if u.filed_on else "",
         u.filled_by, u.phone, u.errors, u.warnings]
        for u in roster.units
    ]


def consolidated_xlsx(form: Form, totals: Totals, roster: Roster, findings: list[Finding],
                      blocks: dict[str, dict[tuple, Block]] | None = None,
                      comparison: Comparison | None = None,
                      explained: dict[tuple[str, str], str] | None = None) -> bytes:
    """The office's own workbook: totals by level, every township row with its source, findings, roster.
    `blocks` are the township rows as made by `township_blocks`, made here when not given."""
    from .xlsx_writer import BlockSheet, OutSheet, write_xlsx

    if blocks is None:
        blocks = township_blocks(form, totals, roster)
    sheets: list[OutSheet | BlockSheet] = []

    def widths(header: list[str], columns: list) -> list[float]:
        out = []
        for name, column in zip(header, columns):
            longest = max([len(str(name))] + [len(str(v)) for v in column[:200] if v is not None])
            out.append(max(6, min(40, longest * 1.6 + 2)))
        return out

    def sheet(title: str, header: list[str], rows: list[list]) -> None:
        s = OutSheet.from_rows(title, header, rows, [])
        sheets.append(OutSheet(title, header, s.columns, widths(header, s.columns)))

    keys = list(form.field_keys)
    labels = [wording.cn_quotes(form.field(k).full_label) for k in keys]
    rate_labels = [wording.cn_quotes(r.label) for r in form.rates]

    def numbers(values) -> list:
        # A city none of whose counties is in the sums has no figures, not figures of 0.
        if not int(values["units_included"]):
            return [None] * (len(keys) + len(form.rates))
        out = [_xl(values[k]) for k in keys]
        # The rate as the tables show it, rounded: a number format alone would show 99.996% as 100.00%.
        for r in form.rates:
            out.append(wording.rate_value(sum(int(values[k]) for k in r.numerator), sum(int(values[k]) for k in r.denominator)))
        return out

    level_rows = [["全省", form.region_code, form.region_name, *_unit_values(totals.province, [])[:2], *numbers(totals.province)]]
    level_rows += [["市（州）", code, c["name"], int(c["units_expected"]), int(c["units_included"]), *numbers(c)]
                   for code, c in totals.city_records]
    # The counties a column at a time, as the report's tables (county_rows).
    c = totals.counties
    shown = c["units_included"].to_numpy() > 0
    columns = [c.index.tolist(), c["name"].tolist(), c["city_name"].tolist(),
               [STATUS_LABEL[v] for v in c["status"].tolist()], *(count_values(c[k], shown, None) for k in keys)]
    for r in form.rates:
        columns.append(rate_values(c[list(r.numerator)].sum(axis=1, min_count=len(r.numerator)),
                                   c[list(r.denominator)].sum(axis=1, min_count=len(r.denominator)), shown))
    county_rows = [list(row) for row in zip(*columns)]
    compared: list[str] = []
    if comparison is not None:
        compared = [f"{label}{part}" for label in labels for part in ("（上期）", "（增减）")]
        # whole numbers as int and None for none already: as they are
        for row, more in zip([*level_rows, *county_rows], comparison_columns(form, totals, comparison)):
            row += more
    sheet("全省及市州", ["层级", "代码", "名称", "应报单位数", "已汇总单位数", *labels, *rate_labels, *compared], level_rows)
    sheet("县（市、区）", ["代码", "名称", "市（州）", "状态", *labels, *rate_labels, *compared], county_rows)
    names = {code: c["name"] for code, c in totals.county_records}
    for spec in form.sheets:
        header = ["县代码", "县名称", "文件", "工作表", "行", "乡镇", *[wording.cn_quotes(f.full_label) for f in spec.count_fields]]
        first = _township_columns(spec, totals.townships[spec.key].iloc[:200], names)
        sheets.append(BlockSheet(f"乡镇明细-{spec.label}"[:31], header, list(blocks[spec.key].values()),
                                 widths(header, first)))
    # A warning the county answered in its 上报说明 shows as 已说明, with the county's words.
    words = [explanation_of(f, explained) for f in findings]
    # The 指标 a clerk reads is the form's label; the rule keeps its stable code, to filter by.
    label_of = {f.key: wording.cn_quotes(f.full_label) for s in form.sheets for f in s.fields}
    sheet("问题清单", ["级别", "文件", "县代码", "工作表", "单元格", "指标", "规则代码", "说明", *(["上报说明"] if explained else [])],
          [[f"{SEVERITY_LABEL[f.severity]}（已说明）" if said else SEVERITY_LABEL[f.severity], f.file, f.county_code, f.sheet,
            f.cell, label_of.get(f.field, f.field), f.rule, f.message, *([said] if explained else [])]
           for f, said in zip(findings, words)])
    roster_header = ["代码", "名称", "市（州）", "状态", "采用文件", "被替代文件", "填报日期", "填表人", "联系电话", "错误", "警告"]
    rows = roster_rows(roster)
    if comparison is not None:
        roster_header.append("上期状态")
        rows = [row + [previous_label(comparison, u.code)] for row, u in zip(rows, roster.units)]
    sheet("报送情况", roster_header, rows)
    return write_xlsx(sheets)


def township_blocks(form: Form, totals: Totals, roster: Roster,
                    kept: dict[tuple, Block] | None = None) -> dict[str, dict[tuple, Block]]:
    """Per sheet of the form, the township rows of consolidated.xlsx as XML, one block per
    standing return, in order. A block is keyed by all that decides it (sheet, county code and
    name, the file's name and SHA-256), so a block `kept` from an earlier run is used as it is."""
    from .xlsx_writer import row_blocks

    kept = kept or {}
    names = {code: c["name"] for code, c in totals.county_records}
    digests = {u.source.path: u.source.sha256 for u in roster.units if u.source}
    out: dict[str, dict[tuple, Block]] = {}
    for spec in form.sheets:
        t = totals.townships[spec.key]
        files = t["file"].to_numpy()
        # Rows come return by return: a block starts wherever the file changes.
        starts = [0, *(np.flatnonzero(files[1:] != files[:-1]) + 1).tolist()] if len(files) else []
        bounds = list(zip(starts, [*starts[1:], len(files)]))
        codes = t["code"].to_numpy()[starts].tolist()
        keys = [(spec.key, code, names.get(code, ""), file, digests.get(file, ""))
                for code, file in zip(codes, files[starts].tolist())]
        todo = [i for i, key in enumerate(keys) if key not in kept or not key[-1]]  # no hash: nothing to trust
        made: list[Block] = []
        if todo:
            spans = [bounds[i] for i in todo]
            rows = t.iloc[np.concatenate([np.arange(a, b) for a, b in spans])] if len(todo) < len(bounds) else t
            ends = np.cumsum([b - a for a, b in spans]).tolist()
            columns = _township_columns(spec, rows, names)
            # code, name, file and sheet are the same on every row of a return: written once a block
            lead = [[column[a] for column in columns[:4]] for a in [0, *ends[:-1]]]
            made = row_blocks(lead, columns[4:], list(zip([0, *ends[:-1]], ends)))
        fresh = iter(made)
        todo_keys = {keys[i] for i in todo}
        out[spec.key] = {key: next(fresh) if key in todo_keys else kept[key] for key in keys}
    return out


def _township_columns(spec, t, names: dict[str, str]) -> list[list]:
    codes = t["code"].tolist()
    return [codes, [names.get(c, "") for c in codes], t["file"].tolist(), t["sheet"].tolist(),
            t["row"].tolist(), t["township"].tolist(),
            *[t[f.key].to_numpy(dtype=object, na_value=None).tolist() for f in spec.count_fields]]


def _xl(v):
    if v is None or wording._isna(v):
        return None
    return int(v)
