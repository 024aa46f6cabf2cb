"""The report model: totals, roster and findings → everything the report says, as plain values,
before any format is chosen. The narrative is written once, as text, from the form's narrative
template; the HTML page and the Word document both show those same paragraphs."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import markupsafe

from ..model import Finding, Roster
from ..spec import wording
from ..spec.form import Form
from ..spec.units import UnitList
from ..stages.compare import Comparison
from ..stages.consolidate import Totals, _records, rate_of
from .tables import county_rows
from .templates import environment

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
    from ..stages.attention import attention
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
    text = environment(autoescape=html).get_template(form.narrative).render(
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
    from ..spec.wording import growth, point_change, points

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
    from ..spec.wording import growth, point_change, points_text

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
