"""Render: totals, roster and findings → the report's files as bytes. Pure: no disk writes.

The narrative is written once, as text, from the form's narrative template; the HTML page
and the Word document both show those same paragraphs.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2
import markupsafe
import numpy as np

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
    narrative_html: tuple[str, ...] = ()  # the same paragraphs, each figure linked to its table row
    attention: tuple[dict, ...] = ()
    charts: tuple = ()  # charts.Chart
    charts_svg: tuple[str, ...] = ()
    comparison: dict | None = None  # the 与上期对比 section: {heading, summary, title, header, rows, svg}
    comparison_chart: object = None  # its chart (charts.Chart), drawn for Word after the others


def _env(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters.update(wording.FILTERS)
    env.filters["table_rows"] = table_rows
    return env


def table_rows(rows) -> markupsafe.Markup:
    """<tr><td>…</td>…</tr> per row, each text escaped. The annex runs to a row per county and
    the same figures recur down it, so each distinct text is escaped once."""
    cells: dict[object, str] = {}

    def td(v: object) -> str:
        out = cells.get(v)
        if out is None:
            out = cells[v] = f"<td>{markupsafe.escape(v)}</td>"
        return out

    return markupsafe.Markup("".join(f"<tr>{''.join(map(td, row))}</tr>\n" for row in rows))


def build_report(
    form: Form, units: UnitList, totals: Totals, roster: Roster, findings: list[Finding],
    settings: ReportSettings, *, example: bool = False, charts: list | None = None,
    comparison: Comparison | None = None, round_note: str = "",
) -> Report:
    p = totals.province
    expected, included = int(p["units_expected"]), int(p["units_included"])
    rejected = roster.with_status("rejected")
    missing = roster.with_status("missing")
    submitted = expected - len(missing)
    noun = form.unit_noun
    if not totals.partial:
        status = f"截至{settings.cutoff}，{expected}个{noun}已全部报送，数据完整。"
    else:
        parts = [f"截至{settings.cutoff}，{expected}个{noun}中已有{submitted}个报送"]
        if rejected:
            parts.append(f"其中{len(rejected)}个因数据有误被退回")
        if missing:
            parts.append(f"{len(missing)}个未报送")
        status = "，".join(parts) + f"；以下为已通过审核的{included}个{noun}的数据，为部分数据。"
    narrative = render_narrative(form, totals, settings, comparison=comparison)
    narrative_html = render_narrative(form, totals, settings, html=True, comparison=comparison)
    tables, annex = _tables(form, totals)
    from .attention import attention
    from .charts import chart_data, svg

    if charts is None:
        charts = chart_data(form, totals)
    return Report(
        title=wording.cn_quotes(settings.title),
        example=example,
        status_line=status,
        narrative=narrative,
        tables=tables,
        annex=annex,
        word_annex=len(roster.units) <= settings.word_annex_limit,
        narrative_html=narrative_html,
        attention=tuple(
            sec | {"heading": f"（{NUMERALS[i]}）{sec['title']}"}
            for i, sec in enumerate(attention(form, totals, settings.lowest_count, settings.burden_ratio))
        ),
        charts=tuple(charts),
        charts_svg=tuple(svg(c) for c in charts),
        notes=_notes(form, roster, findings) | _round_notes(form, comparison, round_note),
        comparison=_comparison_section(form, totals, comparison),
        comparison_chart=comparison_chart(form, totals, comparison) if comparison is not None else None,
        office=settings.office,
        date=settings.date,
        city_noun=form.city_noun,
    )


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
    text = _env(autoescape=html).get_template(form.narrative).render(
        region=form.region_name,
        scope="已报送县（市、区）" if partial else form.region_name,
        scope_units=f"已通过审核的{int(p['units_included'])}个{form.unit_noun}" if partial else f"各{form.unit_noun}",
        levels="省市县乡四级",
        n=n, sum_n=sum_n, rect=rect, cov=cov, since=since,
        twice_general=twice_den > 0 and twice_num * 1000 >= round(settings.twice_threshold * 1000) * twice_den,
    )
    paragraphs = tuple(" ".join(block.split("\n")).strip() for block in text.split("\n\n") if block.strip())
    return tuple(markupsafe.Markup(p) for p in paragraphs) if html else paragraphs


def _tables(form: Form, totals: Totals) -> tuple[tuple[dict, ...], tuple[dict, ...]]:
    tables, annex = [], []
    for sheet in form.sheets:
        fields = list(sheet.count_fields)
        keys = {f.key for f in fields}
        rates = [r for r in form.rates if set(r.numerator) <= keys]
        header = ["单位", "应报", "已汇总", *[wording.cn_quotes(f.full_label) for f in fields],
                  *[wording.cn_quotes(r.label) for r in rates]]

        def row(name: str, values, fields=fields, rates=rates) -> list[str]:
            cells = [name, wording.table_count(values["units_expected"]), wording.table_count(values["units_included"])]
            cells += [wording.table_count(values[f.key]) for f in fields]
            for r in rates:
                num = sum(values[k] for k in r.numerator) if values["units_included"] else None
                den = sum(values[k] for k in r.denominator) if values["units_included"] else None
                cells.append(wording.table_rate(num, den))
            return cells

        rows = [row(form.region_name, totals.province)]
        rows += [row(c["name"], c) for _, c in totals.city_records]
        tables.append({"title": f"{sheet.number} {sheet.label}", "header": header, "rows": rows, "key": sheet.key})
        county_rows = []
        for _, c in totals.county_records:
            cells = row(c["name"], c)
            if c["status"] != "included":
                cells = [cells[0], cells[1], cells[2]] + [""] * len(fields) + ["—"] * len(rates)
            county_rows.append([c["city_name"], *cells])
        annex.append({"title": f"{sheet.number} {sheet.label}", "header": ["市（州）", *header], "rows": county_rows})
    return tuple(tables), tuple(annex)


def _notes(form: Form, roster: Roster, findings: list[Finding]) -> dict:
    by_file: dict[str, list[Finding]] = {}
    for f in findings:
        by_file.setdefault(f.file, []).append(f)
    rejected = []
    for u in roster.with_status("rejected"):
        errs = [f for f in by_file.get(u.source.path, []) if f.severity == Severity.ERROR] if u.source else []
        rejected.append({"name": u.name, "file": u.source.path if u.source else "", "reasons": [f.message for f in errs]})
    superseded = [
        {"name": u.name, "file": s.path, "stands": u.source.path if u.source else ""}
        for u in roster.units for s in u.superseded
    ]
    skipped = sorted({f.file for f in findings if f.rule == "skipped"})
    unassigned = [
        {"file": r.source.path, "reasons": [f.message for f in by_file.get(r.source.path, []) if f.severity == Severity.ERROR]}
        for r in roster.unassigned
    ]
    included = roster.with_status("included")
    return {
        "expected": len(roster.units),
        "included": len(included),
        "rejected": rejected,
        # A unit that is its own city (嘉峪关市) is named once.
        "missing": [{"name": u.name, "city": u.city_name if u.city_name != u.name else "", "code": u.code}
                    for u in roster.with_status("missing")],
        "superseded": superseded,
        "skipped": skipped,
        "unassigned": unassigned,
        "warnings": sum(f.severity == Severity.WARNING for f in findings),
        "unit_noun": form.unit_noun,
        "roster": roster.units,
    }


def _round_notes(form: Form, comparison: Comparison | None, round_note: str) -> dict:
    """What the 数据说明 says of the rounds: which round was compared, when it was made, how many
    units are comparable; or why there was no comparison."""
    if comparison is None:
        return {"round": round_note, "was_included": set()}
    made = comparison.previous_made
    text = (f"本期（{comparison.round}）与上期（{comparison.previous_round}，{made.year}年{made.month}月{made.day}日"
            f"生成）比较：两期均已汇总的{form.unit_noun}共{len(comparison.comparable)}个，"
            f"与上期对比中各{form.city_noun}和{form.region_name}的数据只计这些{form.unit_noun}。")
    return {"round": text,
            "was_included": {c for c, status in comparison.previous_status.items() if status == "included"}}


def comparison_table(form: Form, totals: Totals, comparison: Comparison) -> dict:
    """与上期对比, by city: the form's count (本期, 上期, 增减, 增幅), then each of its rates then
    and now and the change in percentage points. Every figure from the counties in both rounds."""
    from .compare import growth, point_change, points

    spec = form.rounds or {}
    count = list(spec.get("count", []))
    rates = [r for key in spec.get("rates", []) for r in form.rates if r.key == key]
    label = spec.get("count_label", "")
    header = ["单位", "可比单位数"]
    if count:
        header += [f"{label}本期", f"{label}上期", "增减", "增幅"]
    for r in rates:
        name = wording.cn_quotes(r.label)
        header += [f"{name}上期", f"{name}本期", "变化（百分点）"]

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
            cells += [wording.table_rate(num0, den0), wording.table_rate(num, den),
                      points(point_change(num, den, num0, den0))]
        return cells

    rows = [row(form.region_name, comparison.province)]
    names = dict(totals.cities["name"])
    rows += [row(names[code], values) for code, values in _records(comparison.cities)]
    return {"heading": "与上期对比", "title": f"各{form.city_noun}与上期（{comparison.previous_round}）对比",
            "header": header, "rows": rows, "unit": spec.get("count_unit", ""),
            "summary": _comparison_summary(form, comparison, count, label, spec.get("count_unit", ""), rates)}


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
        parts.append(f"{wording.cn_quotes(r.label)}由上期的{wording.table_rate(num0, den0)}变为{wording.table_rate(num, den)}，"
                     f"{points_text(point_change(num, den, num0, den0))}")
    return parts[0] + "，" + "；".join(parts[1:]) + "。" if len(parts) > 1 else parts[0] + "。"


def _comparison_section(form: Form, totals: Totals, comparison: Comparison | None) -> dict | None:
    if comparison is None:
        return None
    from .charts import svg

    chart = comparison_chart(form, totals, comparison)
    return comparison_table(form, totals, comparison) | {"svg": svg(chart) if chart else ""}


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
                 (("上期", tuple(b[1] for b in bars)), ("本期", tuple(b[2] for b in bars))), False)


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


def draw_charts(charts: list) -> list[bytes]:
    """The charts as PNG. A copy of this process draws the second half at the same time:
    drawing is most of what stands between the totals and the Word report."""
    from .processes import in_background

    half = (len(charts) + 1) // 2
    rest = in_background(_pngs, charts[half:]) if len(charts) > 1 else list
    return _pngs(charts[:half]) + rest()


def _pngs(charts: list) -> list[bytes]:
    from .charts import png

    return [png(c) for c in charts]


def prepare_docx(with_charts: bool = True) -> None:
    """Import what render_docx needs ahead of being asked for it: docxtpl (a tenth of a
    second), and matplotlib (half a second) unless the charts are likely drawn already."""
    import docxtpl  # noqa: F401

    if with_charts:
        from .charts import _matplotlib

        _matplotlib()


# Text in a Word run holding a tab, bell, line or form feed, which docxtpl turns into Word's own.
_LISTING_TEXT = re.compile(r"<w:t(?: [^>]*)?>[^<]*[\t\a\n\f]")


def render_docx(report: Report, images: list[bytes] | None = None) -> bytes:
    """The Word report; `images` are its charts as PNG when already drawn (see draw_charts)."""
    from docx.shared import Mm
    from docxtpl import DocxTemplate, InlineImage

    class Template(DocxTemplate):
        def resolve_listing(self, xml: str) -> str:
            # docxtpl rewrites every paragraph, run and text of the rendered part through
            # regular expressions to turn those characters into tabs and breaks: a third of
            # the Word report's time, to change nothing when no text holds one.
            return super().resolve_listing(xml) if _LISTING_TEXT.search(xml) else xml

    if images is None:
        images = draw_charts([*report.charts, *([report.comparison_chart] if report.comparison_chart else [])])
    doc = Template(str(TEMPLATES_DIR / "report.docx"))
    charts = [{"image": InlineImage(doc, io.BytesIO(image), width=Mm(150)), "title": c.title}
              for c, image in zip(report.charts, images)]
    # The 与上期对比 chart, when there is one, is drawn last, after the narrative's charts.
    extra = images[len(report.charts):]
    compared = ({"image": InlineImage(doc, io.BytesIO(extra[0]), width=Mm(150)), "title": report.comparison_chart.title}
                if report.comparison_chart is not None and extra else None)
    # docxtpl renders with its own environment; autoescape keeps <, & from counties valid XML.
    doc.render({"r": report, "charts": charts, "compared": compared}, jinja_env=_env(autoescape=True), autoescape=True)
    buf = io.BytesIO()
    doc.save(buf)
    from .formbook import fixed_zip_times

    return fixed_zip_times(buf.getvalue())


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
    for code, c in totals.county_records:
        values = _unit_values(c, keys)
        if c["status"] != "included":
            values = values[:2] + [""] * len(keys)
        rows.append(["county", code, c["name"], *values])
    if comparison is not None:
        header += [f"{k}_{part}" for k in keys for part in ("previous", "change")]
        # Whole numbers as numbers (a fall is -5, never text that looks like a formula), none as empty.
        for row, extra in zip(rows, comparison_columns(form, totals, comparison)):
            row += ["" if v is None else v for v in extra]
    return csv_bytes(header, rows)


def comparison_columns(form: Form, totals: Totals, comparison: Comparison) -> list[list]:
    """Per row of the totals (province, cities, counties, in that order): <key>_previous and
    <key>_change for every field. Cities and the province over the counties included in both
    rounds; a county missing or rejected in either round has none (None, never 0)."""
    names = [f"{k}_{part}" for k in form.field_keys for part in ("previous", "change")]
    out = [[int(comparison.province[n]) for n in names]]
    # The whole block at once, as whole numbers and None: a row at a time through pandas
    # costs fifty times more. Exact: counts stay far below 2**53.
    for frame in (comparison.cities.reindex([code for code, _ in totals.city_records]),
                  comparison.counties.reindex([code for code, _ in totals.county_records])):
        values = frame[names].to_numpy(dtype="float64", na_value=np.nan)
        missing = np.isnan(values)
        block = np.where(missing, 0, values).astype(np.int64).astype(object)
        block[missing] = None
        out += block.tolist()
    return out


def _unit_values(values, keys) -> list:
    return [int(values["units_expected"]), int(values["units_included"]), *[wording.table_count(values[k]) for k in keys]]


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
        out = [_xl(values[k]) for k in keys]
        for r in form.rates:
            v = values[r.key]
            out.append(None if v is None or wording._isna(v) else round(float(v), 6))
        return out

    level_rows = [["全省", form.region_code, form.region_name, *_unit_values(totals.province, [])[:2], *numbers(totals.province)]]
    level_rows += [["市（州）", code, c["name"], int(c["units_expected"]), int(c["units_included"]), *numbers(c)]
                   for code, c in totals.city_records]
    county_rows = [[code, c["name"], c["city_name"], STATUS_LABEL[c["status"]],
                    *numbers(c)] for code, c in totals.county_records]
    compared: list[str] = []
    if comparison is not None:
        compared = [f"{label}{part}" for label in labels for part in ("（上期）", "（增减）")]
        extra = [[_xl(v) for v in row] for row in comparison_columns(form, totals, comparison)]
        for row, more in zip([*level_rows, *county_rows], extra):
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
    sheet("问题清单", ["级别", "文件", "县代码", "工作表", "单元格", "指标", "规则", "说明", *(["上报说明"] if explained else [])],
          [[f"{SEVERITY_LABEL[f.severity]}（已说明）" if said else SEVERITY_LABEL[f.severity], f.file, f.county_code, f.sheet,
            f.cell, f.field, f.rule, f.message, *([said] if explained else [])] for f, said in zip(findings, words)])
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
