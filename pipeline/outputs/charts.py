"""Charts for the report, declared in the form ([[charts]]), made twice from the same records:
inline SVG for the HTML page (no network, no script) and, for Word, native charts: a
DrawingML chart part with its data in an embedded workbook, so that an office edits a chart
( 编辑数据 ) in Word or WPS, and LibreOffice draws it, in the document's own fonts.

A rate chart puts the province (or, in a partial report, the units summed so far, said so in
its label) as the first bar, in its own colour: no line across the bars and their labels.
A rate is stored as the tables round it (0.8974 for 89.74%), so the chart says what the
tables say; its axis shows %, and never passes 100%; an axis that starts above 0 says so in
the caption. A count axis starts at 0 (and takes in a fall below it). A rate chart whose
bars all lie within one point shows nothing a sentence cannot say: it is replaced by one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

from ..spec import wording
from ..spec.form import Form
from ..spec.labels import cn_quotes
from ..stages.consolidate import Totals


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    labels: tuple[str, ...]
    series: tuple[tuple[str, tuple[float, ...]], ...]  # (name, one value per label)
    percent: bool  # values are fractions, shown as 89.74%
    highlight: int | None = None  # the bar drawn apart: the province
    unit: str = ""  # of a count axis: 件
    axis_min: float = 0.0
    replaced_by: str = ""  # the sentence said instead of drawing it: every bar within one point

    @property
    def axis_note(self) -> str:
        """A rate axis that does not start at 0 says where it starts."""
        return f"横轴自{round(self.axis_min * 100)}%起" if self.percent and self.axis_min > 0 else ""

    @property
    def caption(self) -> str:
        """The title, and the axis's start when it is not 0: 各市（州）问题整改率（横轴自60%起）."""
        note = self.axis_note
        if not note:
            return self.title
        return f"{self.title[:-1]}，{note}）" if self.title.endswith("）") else f"{self.title}（{note}）"

    @property
    def axis_unit(self) -> str:
        """What the value axis is labelled with: % for a rate; a count's unit, unless the title
        (the caption) already ends with it, as 各类问题排查和整改情况（件） does: said once."""
        if self.percent:
            return "%"
        return "" if self.unit and self.title.endswith(f"（{self.unit}）") else self.unit


MAX_BARS = 30
FLAT = 0.01  # a rate chart whose bars all lie within this (one point) is said in a sentence instead


def chart_data(form: Form, totals: Totals) -> list[Chart]:
    from ..stages.consolidate import rate_of

    charts = []
    for c in form.charts:
        if c["kind"] == "rate_by_city":
            key = c["rate"]
            rate = next(r for r in form.rates if r.key == key)
            pairs = [(wording.with_share(row["name"], row), wording.rate_value(*rate_of(form, row, key)))
                     for _, row in totals.city_records if int(row["units_included"])]
            pairs = [(name, v) for name, v in pairs if v is not None]
            province = (wording.rate_value(*rate_of(form, totals.province, key))
                        if int(totals.province["units_included"]) else None)
            if not pairs or province is None:
                continue  # nothing included yet: no chart rather than an empty one
            pairs.sort(key=lambda p: p[1], reverse=True)
            title = cn_quotes(c["title"])
            if len(pairs) > MAX_BARS:  # a national form has hundreds of cities: show those that need a look
                pairs = pairs[-MAX_BARS:]
                title += f"（最低的{MAX_BARS}个）"
            values = (province, *(p[1] for p in pairs))
            charts.append(Chart(
                c["key"], title, (wording.with_share(form.region_name, totals.province), *(p[0] for p in pairs)),
                ((cn_quotes(rate.label), values),), True, highlight=0, axis_min=rate_axis_min(min(values)),
                replaced_by=_flat_sentence(title, values) if len(values) > 2 else "",
            ))
        elif c["kind"] == "categories" and int(totals.province["units_included"]):
            labels = tuple(cn_quotes(x) for x in c["categories"])
            series = tuple(
                (name, tuple(float(int(totals.province[k])) for k in keys)) for name, keys in c["series"]
            )
            charts.append(Chart(c["key"], cn_quotes(c["title"]), labels, series, False, unit=c.get("unit", "")))
    return charts


def _flat_sentence(title: str, values: tuple[float, ...]) -> str:
    """What a rate chart whose bars differ by less than a point would show, said instead:
    各市（州）农户走访覆盖率均在99.94%～99.99%之间 . Empty when the bars differ more."""
    low, high = min(values), max(values)
    if round((high - low) * 10000) >= round(FLAT * 10000):
        return ""
    if low == high:
        return f"{title}均为{label(low, True)}"
    return f"{title}均在{label(low, True)}～{label(high, True)}之间"


def rate_axis_min(lowest: float) -> float:
    """Where a rate axis starts: a multiple of 10% at least 5 points below the lowest bar, so
    that differences of a few points show; 0 when a bar is below 40%."""
    return 0.0 if lowest < 0.4 else math.floor(round((lowest - 0.05) * 10, 6)) / 10


def ticks(chart: Chart) -> list[float]:
    """The value axis's ticks: 0.1 apart for rates (0.05 on a short axis); for counts, a
    round step giving at most five ticks past 0."""
    if chart.percent:
        span = 1.0 - chart.axis_min
        step = 0.05 if span <= 0.2 else 0.1 if span <= 0.5 else 0.2
        n = round(span / step)
        return [round(chart.axis_min + i * step, 4) for i in range(n + 1)]
    values = [v for _, vals in chart.series for v in vals]
    peak, trough = max(values + [1]), min(values + [0])  # 0 always on the axis: a fall goes left of it
    raw = (peak - trough) / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    bottom, top = math.floor(trough / step) * step, math.ceil(peak / step) * step
    return [bottom + i * step for i in range(round((top - bottom) / step) + 1)]


def label(value: float, percent: bool) -> str:
    if percent:
        h = round(value * 10000)
        return f"{h // 100}.{h % 100:02d}%"
    return str(int(round(value)))


def _tick_label(value: float, percent: bool) -> str:
    return f"{round(value * 100):d}%" if percent else f"{value:g}"


COLOURS = ("#2f6fb0", "#e08a2e", "#6a9f3f")
HIGHLIGHT = "#c0392b"
# The report's own face first, then the same face under the names other systems give it.
FONT = ("'仿宋_GB2312','FangSong_GB2312','仿宋','FangSong','STFangsong','Noto Serif CJK SC',"
        "'Source Han Serif SC','Noto Sans CJK SC',serif")
SVG_WIDTH = 360  # px, drawn at this size or larger: at 390 px a phone shows it whole, never shrunk
LABEL_PX, VALUE_PX = 12, 11


def svg(chart: Chart) -> str:
    """A horizontal bar chart with its value axis, ticks and unit; its text never smaller
    than 11 px on screen (the page keeps it at least SVG_WIDTH wide, scrolling if need be)."""
    label_w = min(140, max(_text_px(t, LABEL_PX) for t in chart.labels) + 10)
    value_w = 52 if chart.percent else 8 + 7 * max(len(label(v, False)) for _, vals in chart.series for v in vals)
    # a fall's figure stands left of its bar: room for it between the labels and the plot
    plot_left = label_w + (value_w if any(v < 0 for _, vals in chart.series for v in vals) else 0)
    bar_w = SVG_WIDTH - plot_left - value_w - 6
    n_series = len(chart.series)
    row_h = 18
    group_h = row_h * n_series + 6
    top = 8
    plot_h = group_h * len(chart.labels)
    axis_y = top + plot_h
    height = axis_y + 34 + (22 if n_series > 1 else 0)
    marks = ticks(chart)
    lo, hi = (chart.axis_min, 1.0) if chart.percent else (marks[0], marks[-1])

    def x(v: float) -> float:
        return plot_left + (max(lo, min(v, hi)) - lo) / ((hi - lo) or 1) * bar_w

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {SVG_WIDTH} {height}" '
        f'width="{SVG_WIDTH}" height="{height}" style="min-width:{SVG_WIDTH}px" '
        f'aria-label="{escape(chart.title)}" font-family="{FONT}" font-size="{LABEL_PX}">',
    ]
    for m in marks:
        out.append(f'<line x1="{x(m):.1f}" y1="{top}" x2="{x(m):.1f}" y2="{axis_y}" stroke="#dde2e8" stroke-width="1"/>')
        out.append(f'<text x="{x(m):.1f}" y="{axis_y + 14}" text-anchor="middle" font-size="{VALUE_PX}" fill="#444">'
                   f'{_tick_label(m, chart.percent)}</text>')
    out.append(f'<line x1="{x(lo):.1f}" y1="{axis_y}" x2="{x(hi):.1f}" y2="{axis_y}" stroke="#888"/>')
    unit = chart.axis_unit
    if unit:
        out.append(f'<text x="{x(hi):.1f}" y="{axis_y + 28}" text-anchor="end" font-size="{VALUE_PX}" fill="#444">'
                   f'（{escape(unit)}）</text>')
    for i, name in enumerate(chart.labels):
        y0 = top + i * group_h
        weight = ' font-weight="bold"' if i == chart.highlight else ""
        out.append(f'<text x="{label_w - 6}" y="{y0 + group_h / 2 + 4}" text-anchor="end"{weight}>{escape(name)}</text>')
        for s, (series_name, values) in enumerate(chart.series):
            v = values[i]
            y = y0 + 3 + s * row_h
            colour = HIGHLIGHT if i == chart.highlight else COLOURS[s % 3]
            start, end = sorted((x(max(lo, 0.0)), x(v)))
            out.append(f'<rect x="{start:.1f}" y="{y}" width="{end - start:.1f}" height="{row_h - 4}" fill="{colour}">'
                       f'<title>{escape(name)} {escape(series_name)} {label(v, chart.percent)}</title></rect>')
            shown = label(v, chart.percent)
            if v < 0:  # a fall: its figure left of its bar
                out.append(f'<text x="{start - 3:.1f}" y="{y + row_h / 2 + 2}" text-anchor="end" font-size="{VALUE_PX}">'
                           f'{shown}</text>')
            else:
                out.append(f'<text x="{end + 3:.1f}" y="{y + row_h / 2 + 2}" font-size="{VALUE_PX}">{shown}</text>')
    if n_series > 1:
        y = height - 8
        for s, (series_name, _) in enumerate(chart.series):
            lx = label_w + s * 120
            out.append(f'<rect x="{lx}" y="{y - 10}" width="12" height="10" fill="{COLOURS[s % 3]}"/>')
            out.append(f'<text x="{lx + 16}" y="{y}" font-size="{VALUE_PX}">{escape(series_name)}</text>')
    out.append("</svg>")
    return "".join(out)


def _text_px(text: str, size: int) -> int:
    return int(sum(size if ord(ch) > 0x2E7F else size * 0.6 for ch in text))


CHART_CT = "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"
XLSX_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RT_CHART = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/chart"
RT_PACKAGE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/package"
SHEET = "Sheet1"
CHART_FONT = "仿宋_GB2312"
EMU_PER_MM = 36000


def size_mm(chart: Chart) -> tuple[int, int]:
    """Width and height: 150 mm wide; tall enough for each bar and its label. Bars side by side
    as 上期 beside 本期 are thinner: the label is once a group, and a chart of 14 groups of two
    would otherwise take a page to itself."""
    bars = len(chart.labels) * len(chart.series)
    return 150, min(200, 22 + (6 if len(chart.series) == 1 else 4) * bars + (8 if len(chart.series) > 1 else 0))


def workbook(chart: Chart) -> bytes:
    """The chart's data as Word's 编辑数据 opens it: labels in column A, a series a column."""
    from .xlsx_writer import OutSheet, write_xlsx

    header = ["", *(name for name, _ in chart.series)]
    rows = [[lab, *(vals[i] for _, vals in chart.series)] for i, lab in enumerate(chart.labels)]
    return write_xlsx([OutSheet.from_rows(SHEET, header, rows, [24] + [14] * len(chart.series))])


def _col(i: int) -> str:
    from ..stages.read.grid import column_letter

    return column_letter(i)


def _run_props(size: int, bold: bool = False) -> str:
    # lang: a quote mark is Chinese text's, set in its East Asian font, full width
    return (f'<a:defRPr lang="zh-CN" altLang="en-US" sz="{size}" b="{int(bold)}"><a:solidFill><a:srgbClr val="000000"/></a:solidFill>'
            f'<a:latin typeface="{CHART_FONT}"/><a:ea typeface="{CHART_FONT}"/><a:cs typeface="{CHART_FONT}"/></a:defRPr>')


def _txpr(size: int, bold: bool = False) -> str:
    return f'<c:txPr><a:bodyPr/><a:lstStyle/><a:p><a:pPr>{_run_props(size, bold)}</a:pPr><a:endParaRPr lang="zh-CN"/></a:p></c:txPr>'


def chart_xml(chart: Chart, workbook_rid: str) -> bytes:
    """The chart part: a clustered horizontal bar chart whose cached values are the workbook's."""
    n = len(chart.labels)
    fmt = "0.00%" if chart.percent else "0"
    cats = "".join(f'<c:pt idx="{i}"><c:v>{escape(t)}</c:v></c:pt>' for i, t in enumerate(chart.labels))
    series = []
    for s, (name, values) in enumerate(chart.series):
        col = _col(s + 1)  # column_letter counts from 0: the first series is in B
        colour = COLOURS[s % 3].lstrip("#").upper()
        points = "".join(f'<c:pt idx="{i}"><c:v>{v!r}</c:v></c:pt>' for i, v in enumerate(values))
        highlight = ""
        if chart.highlight is not None:
            highlight = (f'<c:dPt><c:idx val="{chart.highlight}"/><c:invertIfNegative val="0"/><c:bubble3D val="0"/>'
                         f'<c:spPr><a:solidFill><a:srgbClr val="{HIGHLIGHT.lstrip("#").upper()}"/></a:solidFill></c:spPr></c:dPt>')
        series.append(
            f'<c:ser><c:idx val="{s}"/><c:order val="{s}"/>'
            f'<c:tx><c:strRef><c:f>{SHEET}!${col}$1</c:f><c:strCache><c:ptCount val="1"/>'
            f'<c:pt idx="0"><c:v>{escape(name)}</c:v></c:pt></c:strCache></c:strRef></c:tx>'
            f'<c:spPr><a:solidFill><a:srgbClr val="{colour}"/></a:solidFill></c:spPr><c:invertIfNegative val="0"/>'
            f'{highlight}'
            f'<c:dLbls><c:numFmt formatCode="{fmt}" sourceLinked="0"/><c:spPr><a:noFill/><a:ln><a:noFill/></a:ln></c:spPr>'
            f'{_txpr(900)}<c:dLblPos val="outEnd"/><c:showLegendKey val="0"/><c:showVal val="1"/><c:showCatName val="0"/>'
            f'<c:showSerName val="0"/><c:showPercent val="0"/><c:showBubbleSize val="0"/></c:dLbls>'
            f'<c:cat><c:strRef><c:f>{SHEET}!$A$2:$A${n + 1}</c:f><c:strCache><c:ptCount val="{n}"/>{cats}'
            f'</c:strCache></c:strRef></c:cat>'
            f'<c:val><c:numRef><c:f>{SHEET}!${col}$2:${col}${n + 1}</c:f><c:numCache><c:formatCode>{fmt}</c:formatCode>'
            f'<c:ptCount val="{n}"/>{points}</c:numCache></c:numRef></c:val></c:ser>'
        )
    marks = ticks(chart)
    lo, hi = (chart.axis_min, 1.0) if chart.percent else (marks[0], marks[-1])
    step = marks[1] - marks[0] if len(marks) > 1 else hi
    unit_title = ""
    if not chart.percent and chart.axis_unit:
        unit_title = (f'<c:title><c:tx><c:rich><a:bodyPr/><a:lstStyle/><a:p><a:pPr>{_run_props(900)}</a:pPr>'
                      f'<a:r><a:rPr lang="zh-CN" sz="900"/><a:t>{escape(chart.axis_unit)}</a:t></a:r></a:p></c:rich></c:tx>'
                      f'<c:overlay val="0"/></c:title>')
    legend = (f'<c:legend><c:legendPos val="b"/><c:overlay val="0"/>{_txpr(1000)}</c:legend>'
              if len(chart.series) > 1 else "")
    xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<c:chartSpace xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" '
        'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<c:date1904 val="0"/><c:lang val="zh-CN"/><c:roundedCorners val="0"/>'
        # The title is said once, by the caption under the chart.
        f'<c:chart><c:autoTitleDeleted val="1"/><c:plotArea>{plot_layout(chart)}'
        '<c:barChart><c:barDir val="bar"/><c:grouping val="clustered"/><c:varyColors val="0"/>'
        + "".join(series) +
        '<c:gapWidth val="50"/><c:axId val="1001"/><c:axId val="1002"/></c:barChart>'
        # Categories top to bottom in the order given, the value axis below them.
        '<c:catAx><c:axId val="1001"/><c:scaling><c:orientation val="maxMin"/></c:scaling><c:delete val="0"/>'
        '<c:axPos val="l"/><c:numFmt formatCode="General" sourceLinked="0"/><c:majorTickMark val="none"/>'
        # the labels at the low end of the value axis: left of the bars, a fall's too
        f'<c:minorTickMark val="none"/><c:tickLblPos val="low"/>{_txpr(1000)}<c:crossAx val="1002"/>'
        '<c:crosses val="autoZero"/><c:auto val="1"/><c:lblAlgn val="ctr"/><c:lblOffset val="100"/>'
        '<c:tickLblSkip val="1"/><c:noMultiLvlLbl val="0"/></c:catAx>'
        f'<c:valAx><c:axId val="1002"/><c:scaling><c:orientation val="minMax"/><c:max val="{hi!r}"/><c:min val="{lo!r}"/>'
        '</c:scaling><c:delete val="0"/><c:axPos val="b"/>'
        '<c:majorGridlines><c:spPr><a:ln w="6350"><a:solidFill><a:srgbClr val="D9D9D9"/></a:solidFill></a:ln></c:spPr></c:majorGridlines>'
        f'{unit_title}<c:numFmt formatCode="{"0%" if chart.percent else "0"}" sourceLinked="0"/>'
        '<c:majorTickMark val="out"/><c:minorTickMark val="none"/><c:tickLblPos val="nextTo"/>'
        f'{_txpr(900)}<c:crossAx val="1001"/><c:crosses val="max"/><c:crossBetween val="between"/>'
        f'<c:majorUnit val="{step!r}"/></c:valAx>'
        '</c:plotArea>' + legend + '<c:plotVisOnly val="1"/><c:dispBlanksAs val="gap"/></c:chart>'
        f'<c:txPr><a:bodyPr/><a:lstStyle/><a:p><a:pPr>{_run_props(1000)}</a:pPr><a:endParaRPr lang="zh-CN"/></a:p></c:txPr>'
        f'<c:externalData r:id="{workbook_rid}"><c:autoUpdate val="0"/></c:externalData>'
        '</c:chartSpace>'
    )
    return xml.encode("utf-8")


PT_PER_MM = 72 / 25.4


def plot_layout(chart: Chart) -> str:
    """Where the bars are drawn inside the chart's frame, as fractions of it: room on the left
    for the longest label (10 pt), on the right for a bar's figure (9 pt), and for a fall's
    figure left of the plot; below for the axis's figures, its unit and the legend. Left to
    itself a chart draws its bars to the frame and a 99.99% bar's figure over it."""
    width_mm, height_mm = size_mm(chart)
    width, height = width_mm * PT_PER_MM, height_mm * PT_PER_MM
    values = [v for _, vals in chart.series for v in vals]
    figure = max(len(label(v, chart.percent)) for v in values) * 0.6 * 9 + 8
    left = max(_text_px(t, 10) for t in chart.labels) + 10 + (figure if min(values) < 0 else 0)
    bottom = 18 + (16 if not chart.percent and chart.axis_unit else 0) + (20 if len(chart.series) > 1 else 0)
    x, y = left / width, 6 / height
    w, h = max(0.2, 1 - x - figure / width), max(0.2, 1 - y - bottom / height)
    return ('<c:layout><c:manualLayout><c:layoutTarget val="inner"/><c:xMode val="edge"/><c:yMode val="edge"/>'
            f'<c:x val="{x:.4f}"/><c:y val="{y:.4f}"/><c:w val="{w:.4f}"/><c:h val="{h:.4f}"/></c:manualLayout></c:layout>')


def inline_xml(rid: str, number: int, chart: Chart) -> str:
    """The run that places chart part `rid` in a paragraph, as wide as the chart is declared."""
    w, h = size_mm(chart)
    return (
        '<w:drawing><wp:inline distT="0" distB="0" distL="0" distR="0" '
        'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
        'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
        'xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f'<wp:extent cx="{w * EMU_PER_MM}" cy="{h * EMU_PER_MM}"/><wp:effectExtent l="0" t="0" r="0" b="0"/>'
        f'<wp:docPr id="{1000 + number}" name="图{number}" descr="{escape(chart.title)}"/><wp:cNvGraphicFramePr/>'
        '<a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/chart">'
        f'<c:chart r:id="{rid}"/></a:graphicData></a:graphic></wp:inline></w:drawing>'
    )


class WordChart:
    """A chart for docxtpl's context: rendering `{{ c.chart }}` adds the chart part (and its
    workbook) to the part being rendered and puts the inline drawing in its place."""

    def __init__(self, tpl, chart: Chart, number: int) -> None:
        self.tpl, self.chart, self.number = tpl, chart, number

    def _insert(self) -> str:
        from docx.opc.packuri import PackURI
        from docx.opc.part import Part

        part = self.tpl.current_rendering_part
        package = part.package
        book = Part(PackURI(f"/word/embeddings/Microsoft_Excel_Worksheet{self.number}.xlsx"), XLSX_CT,
                    workbook(self.chart), package)
        holder = Part(PackURI(f"/word/charts/chart{self.number}.xml"), CHART_CT, b"", package)
        holder._blob = chart_xml(self.chart, holder.relate_to(book, RT_PACKAGE))
        rid = part.relate_to(holder, RT_CHART)
        return f'</w:t></w:r><w:r>{inline_xml(rid, self.number, self.chart)}</w:r><w:r><w:t xml:space="preserve">'

    def __str__(self) -> str:
        return self._insert()

    __html__ = __str__
