"""Charts for the report, declared in the form ([[charts]]), drawn twice from the same data:
inline SVG for the HTML page (no network, no script) and PNG for Word (matplotlib, with a CJK
font the project installs itself, so Chinese labels render on a fresh machine)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from html import escape

from .consolidate import Totals
from .form import Form, cn_quotes


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    labels: tuple[str, ...]
    series: tuple[tuple[str, tuple[float, ...]], ...]  # (name, one value per label)
    percent: bool
    reference: tuple[str, float] | None = None  # (label, value): the province line


MAX_BARS = 30


def chart_data(form: Form, totals: Totals) -> list[Chart]:
    charts = []
    for c in form.charts:
        if c["kind"] == "rate_by_city":
            rate = c["rate"]
            pairs = [(row["name"], float(row[rate])) for _, row in totals.cities.iterrows() if _num(row[rate])]
            if not pairs:
                continue  # nothing included yet: no chart rather than an empty one
            pairs.sort(key=lambda p: p[1], reverse=True)
            title = cn_quotes(c["title"])
            if len(pairs) > MAX_BARS:  # a national form has hundreds of cities: show those that need a look
                pairs = pairs[-MAX_BARS:]
                title += f"（最低的{MAX_BARS}个）"
            province = totals.province[rate]
            charts.append(Chart(
                c["key"], title, tuple(p[0] for p in pairs),
                (("", tuple(100 * p[1] for p in pairs)),), True,
                (f"{form.region_name} {_fmt(100 * float(province), True)}", 100 * float(province)) if _num(province) else None,
            ))
        elif c["kind"] == "categories" and int(totals.province["units_included"]):
            labels = tuple(cn_quotes(x) for x in c["categories"])
            series = tuple(
                (name, tuple(float(totals.province[k]) for k in keys)) for name, keys in c["series"]
            )
            charts.append(Chart(c["key"], cn_quotes(c["title"]), labels, series, False))
    return charts


def _num(v) -> bool:
    try:
        return v == v and v is not None and float(v) == float(v)
    except (TypeError, ValueError):
        return False


# --- SVG --------------------------------------------------------------------------------

COLOURS = ("#2f6fb0", "#e08a2e", "#6a9f3f")
FONT = "'Microsoft YaHei','PingFang SC','Noto Sans CJK SC','Source Han Sans SC',sans-serif"


def svg(chart: Chart) -> str:
    """A horizontal bar chart; sized by its viewBox so it scales on a phone or a desktop."""
    row_h, label_w, bar_w, pad = 26, 150, 420, 12
    n_series = len(chart.series)
    group_h = row_h * n_series + 8
    height = pad * 2 + 30 + group_h * len(chart.labels) + (24 if n_series > 1 else 0)
    width = label_w + bar_w + 110
    top = pad + 30
    peak = max([v for _, vals in chart.series for v in vals] + [chart.reference[1] if chart.reference else 0, 1])
    scale = bar_w / (100 if chart.percent and peak <= 100 else peak)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'aria-label="{escape(chart.title)}" font-family="{FONT}" font-size="13">',
        f'<text x="{width / 2}" y="{pad + 14}" text-anchor="middle" font-size="15" font-weight="bold">{escape(chart.title)}</text>',
    ]
    for i, label in enumerate(chart.labels):
        y0 = top + i * group_h
        out.append(f'<text x="{label_w - 8}" y="{y0 + group_h / 2 + 4}" text-anchor="end">{escape(label)}</text>')
        for s, (name, values) in enumerate(chart.series):
            v = values[i]
            y = y0 + s * row_h
            w = max(v * scale, 0)
            out.append(f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" fill="{COLOURS[s % 3]}">'
                       f'<title>{escape(label)} {escape(name)} {_fmt(v, chart.percent)}</title></rect>')
            out.append(f'<text x="{label_w + w + 4:.1f}" y="{y + row_h / 2 + 4}">{_fmt(v, chart.percent)}</text>')
    if chart.reference:
        name, v = chart.reference
        x = label_w + v * scale
        out.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{top + group_h * len(chart.labels)}" '
                   'stroke="#c0392b" stroke-dasharray="4 3" stroke-width="1.5"/>')
        out.append(f'<text x="{x:.1f}" y="{top - 8}" text-anchor="middle" fill="#c0392b">{escape(name)}</text>')
    if n_series > 1:
        y = height - pad - 6
        for s, (name, _) in enumerate(chart.series):
            x = label_w + s * 110
            out.append(f'<rect x="{x}" y="{y - 10}" width="14" height="12" fill="{COLOURS[s % 3]}"/>')
            out.append(f'<text x="{x + 18}" y="{y}">{escape(name)}</text>')
    out.append("</svg>")
    return "".join(out)


def _fmt(v: float, percent: bool) -> str:
    if percent:
        hundredths = int(v * 100 + 1e-9)  # truncated, like every rate in the report
        return f"{hundredths // 100}.{hundredths % 100:02d}%"
    return f"{int(round(v))}"


# --- PNG (Word) -------------------------------------------------------------------------


def _cjk_font():
    """The Noto Sans CJK font shipped in the mplfonts package, registered with matplotlib."""
    from pathlib import Path

    import mplfonts
    from matplotlib import font_manager

    path = Path(mplfonts.__file__).parent / "fonts" / "NotoSansCJKsc-Regular.otf"
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path)).get_name()


def png(chart: Chart, dpi: int = 200) -> bytes:
    Figure = _matplotlib()
    n = len(chart.labels)
    fig = Figure(figsize=(6.3, 0.9 + 0.24 * n * len(chart.series) + (0.3 if len(chart.series) > 1 else 0)))
    ax = fig.subplots()
    ys = list(range(n))[::-1]
    height = 0.8 / len(chart.series)
    for s, (name, values) in enumerate(chart.series):
        offs = [y + 0.4 - height * (s + 0.5) for y in ys]
        bars = ax.barh(offs, values, height=height * 0.9, color=COLOURS[s % 3], label=name or None)
        for bar, v in zip(bars, values):
            ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, " " + _fmt(v, chart.percent),
                    va="center", fontsize=8)
    ax.set_yticks(ys)
    ax.set_yticklabels(chart.labels, fontsize=9)
    if chart.reference:
        name, v = chart.reference
        ax.axvline(v, color="#c0392b", linestyle="--", linewidth=1)
        ax.text(v, n - 0.35, name, color="#c0392b", fontsize=8, ha="center", va="bottom")
    if chart.percent:
        low = min(v for _, vals in chart.series for v in vals)
        ax.set_xlim(max(0, low - (100 - low) * 0.6 - 1), 100.5)
    else:
        # All zero (a category nobody reported yet): an axis of 0 to 1, not 0 to 0, which
        # matplotlib would widen itself with an English warning on the console.
        ax.set_xlim(0, max(max(v for _, vals in chart.series for v in vals) * 1.18, 1))
    if len(chart.series) > 1:
        ax.legend(fontsize=8, loc="lower right", frameon=False)
    ax.set_title(chart.title, fontsize=11)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="x", labelsize=8)
    # Margins from the labels' length rather than tight_layout, which draws the whole figure
    # once more just to measure it. A CJK character is about as wide as the font is high.
    width, height = fig.get_size_inches()
    label_inches = max((_display_width(t) for t in chart.labels), default=2) * 9 / 72 / 2 + 0.25
    fig.subplots_adjust(left=min(0.45, label_inches / width), right=0.97,
                        bottom=0.45 / height, top=1 - 0.6 / height)  # room for the province label
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def _display_width(text: str) -> int:
    """In half-width units: a CJK character counts two."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


@lru_cache(maxsize=1)
def _matplotlib():
    """matplotlib's Figure on the Agg canvas, with the CJK font; pyplot is never imported (it
    costs more than a third of a second, for a state machine a report does not need)."""
    import matplotlib
    from matplotlib.figure import Figure

    matplotlib.rcParams.update({"font.family": _cjk_font(), "axes.unicode_minus": False, "path.simplify": True})
    return Figure
