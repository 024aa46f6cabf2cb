"""The report model: totals, roster and findings → everything the report says, as plain values,
before any format is chosen. The narrative is written once, as text, from the form's narrative
template; the HTML page and the Word document both show those same paragraphs."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import datetime

import markupsafe

from ..model import STATUS_LABEL, Finding, Roster
from ..spec import wording
from ..spec.config import Settings
from ..spec.dates import as_written_day
from ..spec.form import Form
from ..spec.scope import short_name
from ..spec.units import UnitList
from ..stages.attention import rejected_groups, unopened_line
from ..stages.compare import Comparison
from ..stages.consolidate import Totals, rate_of
from .compared import comparison_chart, comparison_summary, comparison_table, falls, falls_sentence, round_label
from .tables import MISSING, SUMMARY_MARK, county_rows, soft_header
from .templates import environment

NUMERALS = "一二三四五六七八九十"
# The report's numbered sections, in order; a section with nothing to say is left out and the
# others numbered on. A new section is a key here, a heading in `headings`, and a block in
# each template.
SECTIONS = {"overview": "总体情况", "attention": "需关注的情况", "compare": "与上期对比", "notes": "数据说明"}


@dataclass(frozen=True)
class ReportSettings:
    title: str
    cutoff: str  # 截至 : "" for the latest 填报日期 among the returns in the sums
    office: str
    date: str  # 成文日期 : "" for the cutoff
    twice_threshold: float = 0.95
    word_annex_limit: int = 300
    lowest_count: int = 3
    burden_ratio: float = 2.0
    subtitle: str = ""
    round: str = ""  # this round's name as the office gave it; "" for a run without rounds
    falls_named: int = 5
    made: datetime | None = None  # when the run was made: the document's properties say it, never its text
    breakdown_township_limit: int = 300


def report_settings(settings: Settings, round_name: str = "", made: datetime | None = None,
                    city: tuple[str, str] | None = None, province_name: str = "全省",
                    office: str = "双联办") -> ReportSettings:
    """[report], and for a round its own [rounds."<name>"] over it: the two rounds' reports
    differ in their subtitle (the round, by default), their 截至 and their 成文日期 (from each
    round's returns, by default; [report]'s fixed dates are for a run without rounds).
    `city` (code, name): a city's own run, whose [cities."<code>"] comes first; where it is
    silent the province's title and office are worded for the city, and its dates come from
    the city's returns (the province's fixed dates are the province's)."""
    title, subtitle, cutoff, date = settings.title, "", settings.cutoff, settings.date
    office_name, office = office, settings.office
    if round_name:
        own = settings.round_report(round_name)
        title = own.title or settings.title
        subtitle = own.subtitle or f"（{round_label(round_name)}）"
        cutoff, date = own.cutoff, own.date
    if city is not None:
        code, name = city
        mine = settings.city_report(code)
        title = mine.title or title.replace(province_name, name)
        office = mine.office or city_office(settings.office, name, office_name)
        cutoff, date = mine.cutoff or (cutoff if round_name else ""), mine.date or (date if round_name else "")
    return ReportSettings(title, cutoff, office, date, settings.twice_threshold, settings.word_annex_limit,
                          settings.lowest_count, settings.burden_ratio, subtitle=subtitle, round=round_name,
                          falls_named=settings.falls_named, made=made,
                          breakdown_township_limit=settings.breakdown_township_limit)


def city_office(province_office: str, city_name: str, office: str = "双联办") -> str:
    """The city's office as the province's is named: 中共甘肃省委双联行动领导小组办公室 →
    中共兰州市委…, 中共临夏州委… (an autonomous prefecture's committee goes by its short name);
    an office named otherwise, the city's own of the form's office (兰州市双联办, 银川市教育厅)."""
    short = short_name(city_name)
    worded, n = re.subn(r"^中共.{2,8}?[省区市]委", f"中共{short}委", province_office)
    return worded if n else f"{short}{office}"


def dates(settings: ReportSettings, roster: Roster) -> tuple[str, str]:
    """截至 and 成文日期: as set, else the latest 填报日期 among the returns in the sums (one dated
    after the run is a clerk's slip, not a cutoff) and the cutoff; with no dated return at all,
    目前 and the day of the run."""
    made = settings.made.date() if settings.made else None
    filed = [u.filed_on for u in roster.with_status("included") if u.filed_on and (made is None or u.filed_on <= made)]
    cutoff = settings.cutoff or (as_written_day(max(filed)) if filed else "目前")
    date = settings.date or (cutoff if settings.cutoff or filed else as_written_day(made) if made else "")
    return cutoff, date


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
    charts: tuple = ()  # charts.Chart, in the order of their numbers ( 图1 first)
    charts_svg: tuple[str, ...] = ()
    # the 与上期对比 section: {summary, falls, chart (charts.Chart or None), number (its 图n), svg, table (as the
    # annex's tables are), annex (its 附件 number)}; None when this round was not compared
    comparison: dict | None = None
    subtitle: str = ""
    made: datetime | None = None  # when the run was made: for the document's properties, never its text
    # per chart (in Report.charts' order): the narrative paragraph that first mentions it, -1 for none
    chart_anchors: tuple[int, ...] = ()
    breakdown: dict | None = None  # what stands behind each figure: breakdown.breakdown, for the page


TITLE_CHARS_PER_LINE = 20


def build_report(
    form: Form, units: UnitList, totals: Totals, roster: Roster, findings: list[Finding],
    settings: ReportSettings, *, example: bool = False, charts: list | None = None,
    comparison: Comparison | None = None, round_note: str = "", returns: dict | None = None,
) -> Report:
    """`returns`: each included or rejected county's standing return, by code: the townships and
    cells report.html opens a figure down to."""
    p = totals.province
    expected, included = int(p["units_expected"]), int(p["units_included"])
    missing = roster.with_status("missing")
    noun = form.unit_noun
    cutoff, date = dates(settings, roster)
    again = len(comparison.same_file) if comparison is not None else 0
    if not totals.partial and not again:
        status = f"截至{cutoff}，{expected}个{noun}已全部报送，数据完整。"
    elif not totals.partial:
        # Last round's files left in the inbox are no returns of this round: never 数据完整.
        status = (f"截至{cutoff}，{expected}个{noun}均有报表，其中{again}个沿用上期（{round_label(comparison.previous_round)}）"
                  f"的报表，未重新报送，其数字是上期的。")
    else:
        # 已报送 is the roster's word for a return included: the report says 已汇总.
        parts = [f"截至{cutoff}，应报送的{expected}个{noun}中，已汇总{included}个"]
        parts += [f"{label}{len(units)}个" for label, units in rejected_groups(roster) if units]
        if missing:
            parts.append(f"未报送{len(missing)}个")
        status = "，".join(parts) + (f"；以下为已汇总的{included}个{noun}的数据，为部分数据。" if included
                                    else "；尚无可汇总的数据。")
    from ..stages.attention import attention
    from .breakdown import breakdown
    from .charts import chart_data, svg

    if charts is None:
        charts = chart_data(form, totals)
    compare_chart = comparison_chart(form, totals, comparison) if comparison is not None else None
    figures = Figures(charts, compare_chart)
    narrative = render_narrative(form, totals, settings, comparison=comparison, figures=figures)
    narrative_html = render_narrative(form, totals, settings, html=True, comparison=comparison, figures=figures)
    drawn = figures.drawn
    tables, annex = _tables(form, totals)
    was_included = frozenset(c for c, status in comparison.previous_status.items()
                             if status == "included") if comparison is not None else frozenset()
    sections = attention(form, totals, settings.lowest_count, settings.burden_ratio, roster, was_included)
    fell = falls(form, totals, comparison) if comparison is not None else []
    said_falls = falls_sentence(fell, settings.falls_named)
    # The comparison's sections go before the units left out, which stays the last.
    left_out = next((i for i, sec in enumerate(sections) if sec["title"] == "数据未纳入汇总的单位"), len(sections))
    compared_sections = [
        *([{"title": "累计数比上期减少的单位", "lines": [said_falls]}] if said_falls else []),
        *([{"title": SAME_FILE_TITLE, "lines": [same_file_line(form, roster, comparison)]}]
          if comparison is not None and comparison.same_file else []),
    ]
    sections[left_out:left_out] = compared_sections
    attention_items = tuple(sec | {"heading": f"（{NUMERALS[i]}）{sec['title']}"} for i, sec in enumerate(sections))
    word_annex = len(roster.units) <= settings.word_annex_limit
    annexes = [
        {"title": f"各{form.city_noun}汇总表", "tables": tables, "all": tables, "note": "", "totals_first": True},
        {"title": f"各{noun}明细表", "tables": annex if word_annex else (), "all": annex,
         "note": f"单位较多（{expected}个），明细表见汇总工作簿（consolidated.xlsx）和网页版报告（report.html）。",
         "totals_first": False},
    ]
    if form.region_level == "city":
        # A city's report shows its counties where the province's shows cities: the first annex
        # already lists every county, and a second would list them again.
        annexes, annex = annexes[:1], ()
    # The comparison's table is numbered on after the others and is an annex of its own.
    compared = None
    if comparison is not None:
        t = comparison_table(form, totals, comparison)
        t = t | {"caption": f"表{len(tables) + len(annex) + 1}\u3000{t['label']}", "text_columns": 1,
                 "header": [soft_header(h, form.header_words) for h in t["header"]],
                 "drill": compare_drill(form), "codes": "cities"}
        annexes.append({"title": f"各{form.city_noun}与上期对比表", "tables": (t,), "all": (t,), "note": "",
                        "totals_first": True})
        chart = compare_chart if compare_chart is not None and not compare_chart.replaced_by else None
        summary = comparison_summary(form, comparison)
        if compare_chart is not None and compare_chart.replaced_by:
            summary += compare_chart.replaced_by + "。"
        number = figures.number("compare_by_city")
        # The falls are said once, among what needs attention (二); here the reader is sent there.
        where = next((f"本报告第二部分第{sec['heading'][:sec['heading'].index('）') + 1]}项"
                      for sec in attention_items if sec["title"] == "累计数比上期减少的单位"), "")
        compared = {"summary": f"{summary}各{form.city_noun}的情况见附件{len(annexes)}{f'和图{number}' if chart else ''}。",
                    "falls": f"累计数比上期减少的数字见{where}。" if where else "", "chart": chart, "number": number,
                    "svg": svg(chart) if chart else "", "annex": len(annexes), "table": t}
    keys = ["overview", *(["attention"] if sections else []), *(["compare"] if compared else []), "notes"]
    heads = headings(keys)
    return Report(
        title=wording.cn_quotes(settings.title),
        subtitle=wording.cn_quotes(settings.subtitle),
        example=example,
        status_line=status,
        narrative=narrative,
        tables=tables,
        annex=annex,
        word_annex=word_annex,
        narrative_html=narrative_html,
        attention=attention_items,
        charts=tuple(drawn),
        charts_svg=tuple(svg(c) for c in drawn),
        chart_anchors=tuple(figures.anchor(c.key, narrative) for c in drawn),
        notes=_notes(form, totals, roster, comparison, round_note, tables, heads, attention_items),
        comparison=compared,
        office=settings.office,
        date=date,
        made=settings.made,
        city_noun=form.city_noun,
        headings=heads,
        annexes=tuple(annexes),
        annex_lines=tuple(f"{'附件：' if i == 0 else ''}{i + 1}．{a['title']}" for i, a in enumerate(annexes)),
        breakdown=breakdown(form, totals, roster, returns or {}, settings.breakdown_township_limit, comparison),
    )


def headings(keys: list[str]) -> dict:
    """一、总体情况 , 二、… for the sections present, in SECTIONS' order."""
    present = [k for k in SECTIONS if k in keys]
    return {k: f"{NUMERALS[i]}、{SECTIONS[k]}" for i, k in enumerate(present)}


_MENTION = re.compile("\x00([^\x00]*)\x00")


class Figures:
    """The report's figures ( 图n ) and the words that mention them. A figure is numbered in the
    order the text first mentions it (the narrative, then the comparison's), those never
    mentioned after; a chart with nothing to show (every bar within a point, every city
    unchanged) is said in its sentence where it is mentioned, and numbers no figure."""

    def __init__(self, charts: list, compare_chart=None) -> None:
        self.charts = {c.key: c for c in [*charts, *([compare_chart] if compare_chart is not None else [])]}
        self.order: list[str] = []

    def placeholder(self, keys: tuple[str, ...]) -> str:
        """What the narrative template's fig(…) writes, resolved once every mention is known."""
        return "\x00" + ",".join(keys) + "\x00"

    def note(self, text: str) -> None:
        """Mentions in `text` (the narrative as first written) number their figures."""
        for m in _MENTION.finditer(text):
            for key in m.group(1).split(","):
                if key in self.charts and not self.charts[key].replaced_by and key not in self.order:
                    self.order.append(key)

    @property
    def drawn(self) -> list:
        """The overview's charts in the order of their numbers (the comparison's is its section's)."""
        rest = [k for k, c in self.charts.items() if k not in self.order and not c.replaced_by and k != "compare_by_city"]
        return [self.charts[k] for k in [*self.order, *rest] if k != "compare_by_city"]

    def number(self, key: str) -> int:
        keys = [c.key for c in self.drawn]
        if key in keys:
            return keys.index(key) + 1
        chart = self.charts.get(key)
        return len(keys) + 1 if chart is not None and not chart.replaced_by else 0

    def mention(self, keys: tuple[str, ...], html: bool = False) -> str:
        """，<a chart's sentence> for a chart not drawn; （见图1、图2） for those drawn."""
        clauses = [f"，{self.charts[k].replaced_by}" for k in keys if k in self.charts and self.charts[k].replaced_by]
        numbers = sorted(n for n in (self.number(k) for k in keys) if n)
        if html:
            named = "、".join(f'<a class="figref" href="#fig-{n}">图{n}</a>' for n in numbers)
        else:
            named = "、".join(f"图{n}" for n in numbers)
        return "".join(clauses) + (f"（见{named}）" if numbers else "")

    def resolve(self, text: str, html: bool = False) -> str:
        return _MENTION.sub(lambda m: self.mention(tuple(m.group(1).split(",")), html), text)

    def anchor(self, key: str, narrative: tuple[str, ...]) -> int:
        """The narrative paragraph that first mentions chart `key`: Word sets the figure after it."""
        number = self.number(key)
        return next((i for i, para in enumerate(narrative) if f"图{number}" in re.findall(r"图\d+", para)), -1)


def render_narrative(form: Form, totals: Totals, settings: ReportSettings, html: bool = False,
                     comparison: Comparison | None = None, figures: Figures | None = None) -> tuple[str, ...]:
    """The narrative as plain text; with html=True each figure links to the table row it comes from.

    A form's template may write since(key, …) after a figure: 较上期增加…件 (the change over the
    counties in both rounds), or nothing at all when this round is not compared; and fig(chart
    key, …) where the text speaks of a chart: （见图2） , or the chart's sentence when it is
    not drawn. The figures are numbered by the plain text's mentions, rendered first."""
    if not form.narrative:
        return ()
    p = totals.province
    if not int(p["units_included"]):
        # Nothing summed: a narrative of zeros (0个联村单位全面动员) would say every unit reported none.
        return (f"尚无已汇总的{form.unit_noun}报表，暂无汇总数据；报送情况见下文。",)
    styles = {f.key: f.narrative for f in form.count_fields}
    sheet_of = {f.key: s.key for s in form.sheets for f in s.count_fields}
    rate_sheet = {r.key: sheet_of[r.numerator[0]] for r in form.rates}

    field_at = {k: i for i, k in enumerate(form.field_keys)}
    rate_at = {r.key: i for i, r in enumerate(form.rates)}

    def link(text: str, sheet: str, what: str) -> str:
        # a figure opens what stands behind it (data-d: fields f:1+2, or a rate r:3); without
        # the page's script, it goes to its table's province row
        if not html:
            return text
        return markupsafe.Markup('<a class="fig" href="#sum-{}" data-d="{}">{}</a>').format(sheet, what, text)

    def n(key: str) -> str:
        return link(wording.count(int(p[key]), styles[key]), sheet_of[key], f"f:{field_at[key]}")

    def sum_n(*keys: str) -> str:
        return link(wording.full(sum(int(p[k]) for k in keys)), sheet_of[keys[0]],
                    "f:" + "+".join(str(field_at[k]) for k in keys))

    def rect(key: str, lead: str = "整改率达") -> str:
        return link(wording.rectified(*rate_of(form, p, key), lead=lead), rate_sheet[key], f"r:{rate_at[key]}")

    def cov(key: str) -> str:
        return link(wording.coverage(*rate_of(form, p, key)), rate_sheet[key], f"r:{rate_at[key]}")

    def since(*keys: str) -> str:
        if comparison is None:
            return ""
        change = sum(int(comparison.province[f"{k}_change"]) for k in keys)
        unit = form.field(keys[0]).unit
        return f"较上期增加{change}{unit}" if change > 0 else f"较上期减少{-change}{unit}" if change < 0 else "与上期持平"

    def fig(*keys: str) -> str:
        if figures is None:
            return ""
        return markupsafe.Markup(figures.placeholder(keys)) if html else figures.placeholder(keys)

    twice_num, twice_den = rate_of(form, p, "twice_share") if any(r.key == "twice_share" for r in form.rates) else (0, 0)
    partial = totals.partial
    # A partial sum is not the province's: every 占…的 names its base, and no province-wide words.
    included = f"已汇总的{int(p['units_included'])}个{form.unit_noun}"
    text = environment(autoescape=html).get_template(form.narrative).render(
        region=form.region_name,
        scope=included if partial else form.region_name,
        scope_units=included if partial else f"各{form.unit_noun}",
        partial=partial,
        n=n, sum_n=sum_n, rect=rect, cov=cov, since=since, fig=fig,
        twice_general=twice_den > 0 and twice_num * 1000 >= round(settings.twice_threshold * 1000) * twice_den,
    )
    if figures is not None:
        if not html:
            figures.note(text)
        text = figures.resolve(text, html)
    paragraphs = tuple(" ".join(block.split("\n")).strip() for block in text.split("\n\n") if block.strip())
    return tuple(markupsafe.Markup(p) for p in paragraphs) if html else paragraphs


def _tables(form: Form, totals: Totals) -> tuple[tuple[dict, ...], tuple[dict, ...]]:
    """The annex's tables: by city, then by county; numbered 表1, 表2 … across both. A header
    carries SOFT_BREAK where a line of it may end (tables.header_pieces); `text_columns` is
    how many columns on the left hold names, the rest figures; `drill`, per column, what a
    click on its figures opens ("" for none); `codes`, whose rows these are, in order."""
    by_city, by_county = [], []
    keys_all = list(form.field_keys)
    for sheet in form.sheets:
        fields = list(sheet.count_fields)
        keys = {f.key for f in fields}
        rates = [r for r in form.rates if set(r.numerator) <= keys]
        figures = [soft_header(wording.cn_quotes(f.full_label), form.header_words) for f in fields]
        figures += [soft_header(wording.cn_quotes(r.label), form.header_words) for r in rates]
        # what each figure column opens to (report.html): a field (f:n) or a rate (r:n) of the breakdown's
        drill = [f"f:{keys_all.index(f.key)}" for f in fields] + [f"r:{form.rates.index(r)}" for r in rates]

        def row(name: str, values, fields=fields, rates=rates) -> list[str]:
            cells = [name, wording.table_count(values["units_expected"]), wording.table_count(values["units_included"])]
            # A city none of whose counties is in the sums has no figures, not figures of 0: —.
            cells += [wording.table_count(values[f.key]) if values["units_included"] else MISSING for f in fields]
            for r in rates:
                num = sum(values[k] for k in r.numerator) if values["units_included"] else None
                den = sum(values[k] for k in r.denominator) if values["units_included"] else None
                cells.append(wording.table_rate(num, den))
            return cells

        rows = [row(wording.with_share(form.region_name, totals.province), totals.province)]
        rows += [row(wording.with_share(c["name"], c), c) for _, c in totals.city_records]
        by_city.append({"label": f"各{form.city_noun}{sheet.label}", "unit_line": sheet.unit_line,
                        "header": ["单位", "应报", "已汇总", *figures], "rows": rows, "key": sheet.key,
                        "text_columns": 1, "drill": ["", "", "", *drill], "codes": "cities"})
        # A county's 应报 and 已汇总 are 1 and 1 or 0: its name says which, and they are left out.
        by_county.append({"label": f"各{form.unit_noun}{sheet.label}", "unit_line": sheet.unit_line,
                          "header": ["单位", form.city_noun, *figures], "rows": county_rows(totals.counties, fields, rates),
                          "key": sheet.key, "text_columns": 2, "drill": ["", "", *drill], "codes": "counties"})
    numbered = [t | {"caption": f"表{i}\u3000{t['label']}", "number": i}
                for i, t in enumerate(by_city + by_county, start=1)]
    return tuple(numbered[:len(by_city)]), tuple(numbered[len(by_city):])


def compare_drill(form: Form) -> list[str]:
    """What each column of the 与上期对比 table opens to: the count now, before, its change (c:…);
    a rate's (q:<rate>:…)."""
    spec = form.rounds or {}
    out = ["", ""]
    if spec.get("count"):
        out += ["c:now", "c:before", "c:change", ""]
    for key in spec.get("rates", []):
        i = next(n for n, r in enumerate(form.rates) if r.key == key)
        out += [f"q:{i}:now", f"q:{i}:before", f"q:{i}:change"]
    return out


def _notes(form: Form, totals: Totals, roster: Roster, comparison: Comparison | None = None,
           round_note: str = "", tables: tuple[dict, ...] = (), heads: dict | None = None,
           attention_items: tuple[dict, ...] = ()) -> dict:
    """The 数据说明 , for readers: who is in the sums and who is not (named once, in 需关注); which
    round this one was compared with; how the rates are worked out; where two figures count
    different things, with the report's own tables that show them. File names, cells and what
    a county must do are for validation.html and the returned workbooks."""
    noun = form.unit_noun
    included, rejected, missing = (roster.with_status(s) for s in ("included", "rejected", "missing"))
    lines = []
    # Where each unit's figures are: the second annex, or the first in a city's report, whose
    # first annex lists its counties already.
    annex = 1 if form.region_level == "city" else 2
    if rejected or missing:
        out = "、".join([*(f"{label}{len(units)}个" for label, units in rejected_groups(roster) if units),
                         *([f"未报送{len(missing)}个"] if missing else [])])
        where = next((f"第{(heads or {}).get('attention', '').split('、')[0]}部分第{item['heading'].split('）')[0]}）项"
                      for item in attention_items if item["title"] == "数据未纳入汇总的单位"), "")
        summed = f"已汇总{len(included)}个{noun}，各{noun}的数据见附件{annex}；" if included else f"尚无已汇总的{noun}；"
        lines.append(f"{summed}{out}，其数据未计入汇总"
                     + (f"，名单见本报告{where}" if where else "") + "。")
        lines.append(_brackets_line(form, totals, roster))
    else:
        lines.append(f"本报告汇总了{len(included)}个{noun}报送的数据，各{noun}的数据见附件{annex}。")
    lines += _came_lines(form, included, annex)
    if roster.unopened and not (rejected or missing):  # else said among the units left out
        lines.append(unopened_line(roster, noun))
    if len(roster.unassigned) > len(roster.unopened):
        lines.append(f"另收到{len(roster.unassigned) - len(roster.unopened)}个无法识别填报单位的文件，未计入汇总。")
    if comparison is not None or round_note:
        lines.append(_round_line(form, comparison) if comparison is not None else round_note)
    lines.append("各项比率均由汇总后的数字计算，不是各地比率的平均；表中比率保留两位小数，四舍五入，未达100%的不显示为100.00%。")
    p = totals.province
    table_of = {f.key: f"见附件1表{t['number']}" for t in tables for f in form.sheet(t["key"]).count_fields}
    for note in form.notes:
        more, less = note["more"], note["less"]
        a, b = sum(int(p[k]) for k in more), sum(int(p[k]) for k in less)
        if int(p["units_included"]) and a > b:
            lines.append(wording.cn_quotes(note["text"]).format(
                more=a, less=b, more_table=table_of.get(more[0], ""), less_table=table_of.get(less[0], "")))
    return {
        "expected": len(roster.units),
        "included": len(included),
        "rejected": [{"name": u.name, "city": u.city_name} for u in rejected],
        "missing": [{"name": u.name, "city": u.city_name} for u in missing],
        "lines": lines,
        "unit_noun": noun,
        "roster": roster.units,
        # the page's roster table, a row per unit (made once here: 3,000 rows through the template's loop took 20 ms)
        "roster_rows": [[u.code, u.name, u.city_name, u.status_label, as_written_day(u.filed_on) if u.filed_on else "",
                         str(u.errors), str(u.warnings), u.source.came if u.source else ""] for u in roster.units],
    }


def _came_lines(form: Form, included, annex: int = 2) -> list[str]:
    """How the included units' figures came, where a city's file carried some: through a city's
    workbook (the counties' own tables), or from a city's summary (its figures for the county,
    no township), which the annex marks."""
    noun = form.unit_noun
    by: dict[tuple[str, str], int] = {}
    for u in included:
        if u.source is not None and u.source.via:
            by[u.source.via, u.source.city] = by.get((u.source.via, u.source.city), 0) + 1
    if not by:
        return []
    own = sum(1 for u in included if u.source is not None and not u.source.via)
    parts = [f"{own}个{noun}直接报送"] if own else []
    parts += [f"{n}个{noun}的报表经{city}汇总工作簿转报" for (via, city), n in by.items() if via == "workbook"]
    summed = [f"{city}{n}个" for (via, city), n in by.items() if via == "summary"]
    if summed:
        parts.append(f"{'、'.join(summed)}{noun}的数据来自市（州）汇总表中的合计数，没有乡镇明细，"
                     f"附件{annex}中其名称后注“{SUMMARY_MARK}”")
    return [f"已汇总的{noun}中，{'；'.join(parts)}。"]


def _round_line(form: Form, comparison: Comparison) -> str:
    """Which round was compared with which, as a reader names them, and how many units both have."""
    return (f"本期（{round_label(comparison.round)}）与上期（{round_label(comparison.previous_round)}）比较："
            f"两期均已汇总的{form.unit_noun}共{len(comparison.comparable)}个，"
            f"与上期对比中各{form.city_noun}和{form.region_name}的数据只计这些{form.unit_noun}。")


SAME_FILE_TITLE = "沿用上期报表的单位"


def same_file_line(form: Form, roster: Roster, comparison: Comparison) -> str:
    """The units whose standing file is last round's own, named: their figures in this round's
    sums are last round's."""
    again = set(comparison.same_file)
    names = "、".join(wording.place(u.name, u.city_name) for u in roster.units if u.code in again)
    return (f"{len(again)}个{form.unit_noun}本期采用的仍是上期（{round_label(comparison.previous_round)}）汇总时的同一文件，"
            f"没有重新报送：{names}；其上期的数字已计入本期汇总。")


def _brackets_line(form: Form, totals: Totals, roster: Roster) -> str:
    """What each kind of bracket after a name says, with an example of each the report shows:
    the share of a group's units in its sums (兰州市（7/8）, 全省（82/87）), and why a unit is not
    in them (（未报送）, in the counties' annex; 嘉峪关市, a city of one unit, and every county of
    a city's report, the same way), naming no unit: those left out are named in 需关注."""
    shares = [c for _, c in totals.city_records if int(c["units_included"]) < int(c["units_expected"]) > 1]
    example = shares[0] if shares else totals.province
    whose = f"{form.city_noun}和{form.region_name}" if shares else form.region_name
    line = f"{whose}名称后括号内为已汇总数与应报数，如“{wording.with_share(example['name'], example)}”"
    # Which units are left out is said once, in 需关注: here only what their bracket says.
    how = [STATUS_LABEL[status] for status in ("rejected", "missing") if roster.with_status(status)]
    if how:
        line += f"；{form.unit_noun}名称后括号内为其未纳入汇总的原因（{'或'.join(how)}）"
    return line + "。"
