"""The 与上期对比 section of the report: its sentence, its chart, its table, and the cumulative
figures that fell; every figure from the counties included in both rounds. A round is named
as a reader says it (2016年11月), never by when its snapshot was made."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..spec import wording
from ..spec.form import Form
from ..spec.wording import round_label
from ..stages.compare import Comparison
from ..stages.consolidate import Totals, _records
from .charts import MAX_BARS, Chart


def rounded_points(num: int, den: int, num_before: int, den_before: int) -> Decimal | None:
    """The change of a rate in percentage points as the tables print it: the difference of the
    two rates each rounded as printed (87.65% − 87.62% is +0.03), so that a reader's check
    holds. None when either rate has nothing to divide."""
    if not den or not den_before:
        return None
    return (Decimal(wording.hundredths(num, den) - wording.hundredths(num_before, den_before)) / 100).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class Fall:
    """A cumulative figure of a county lower than last round's."""

    place: str  # 兰州市城关区
    label: str  # the field's full label
    unit: str
    before: int
    now: int


def falls(form: Form, totals: Totals, comparison: Comparison) -> list[Fall]:
    """Every county's cumulative figure (a field a not-below rule covers) that fell since last
    round, county by county in the report's order, then field by field in the form's."""
    cumulative = [f for s in form.sheets for f in s.count_fields
                  if any(a.check == "not-below" and f.key in a.fields for a in s.across)]
    out = []
    changes = comparison.counties
    for code, county in totals.county_records:
        if code not in changes.index:
            continue
        for f in cumulative:
            change = changes.at[code, f"{f.key}_change"]
            if wording._isna(change) or int(change) >= 0:
                continue
            before = int(changes.at[code, f"{f.key}_previous"])
            out.append(Fall(wording.place(county["name"], county["city_name"]), wording.cn_quotes(f.full_label),
                            f.unit, before, before + int(change)))
    return out


def falls_sentence(items: list[Fall], named: int) -> str:
    """累计数比上期减少的数字有2个：兰州市城关区“…”减少5条（由873条减少到868条）；…。 Past
    `named` falls, the first ones and 等N个 ; empty with none."""
    if not items:
        return ""
    said = "；".join(f"{x.place}{x.label}减少{x.before - x.now}{x.unit}（由{x.before}{x.unit}减少到{x.now}{x.unit}）"
                    for x in items[:named])
    more = f"等{len(items)}个" if len(items) > named else ""
    return f"累计数比上期减少的数字有{len(items)}个：{said}{more}。"


def comparison_table(form: Form, totals: Totals, comparison: Comparison) -> dict:
    """The 与上期对比 table by city: the form's count as 本期 / 上期 / 增减 / 增幅 , then each of its rates then
    and now and the change in percentage points. Every figure from the counties in both rounds.
    A table as the annex's others are (label, unit line, header, rows), numbered by the caller."""
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
        if int(values["n"]) == 0:  # no county of it in both rounds: nothing to compare, never 0
            return cells + ["—"] * (len(header) - len(cells))
        if count:
            now = sum(int(values[k]) for k in count)
            before = sum(int(values[f"{k}_previous"]) for k in count)
            cells += [str(now), str(before), f"{now - before:+d}" if now != before else "0", wording.growth(now, before)]
        for r in rates:
            num, den = (sum(int(values[k]) for k in r.numerator), sum(int(values[k]) for k in r.denominator))
            num0, den0 = (sum(int(values[f"{k}_previous"]) for k in r.numerator),
                          sum(int(values[f"{k}_previous"]) for k in r.denominator))
            cells += [wording.table_rate(num, den), wording.table_rate(num0, den0),
                      wording.points(rounded_points(num, den, num0, den0))]
        return cells

    rows = [row(form.region_name, comparison.province)]
    names = dict(totals.cities["name"])
    rows += [row(names[code], values) for code, values in _records(comparison.cities)]
    # 可比单位数 in 个, the count in its unit, 增幅 and the rates in %; the 百分点 column says its own.
    units = list(dict.fromkeys(["个", *([spec.get("count_unit", "")] if count else []), *(["%"] if count or rates else [])]))
    return {"label": f"各{form.city_noun}与上期（{round_label(comparison.previous_round)}）对比", "key": "compare",
            "unit_line": "单位：" + "、".join(u for u in units if u), "header": header, "rows": rows}


def comparison_summary(form: Form, comparison: Comparison) -> str:
    """One sentence of the province's figures then and now, every figure from the comparable units."""
    spec = form.rounds or {}
    count = list(spec.get("count", []))
    label, unit = spec.get("count_label", ""), spec.get("count_unit", "")
    rates = [r for key in spec.get("rates", []) for r in form.rates if r.key == key]
    p = comparison.province
    parts = [f"与上期（{round_label(comparison.previous_round)}）相比，两期均已汇总的{int(p['n'])}个{form.unit_noun}"]
    if count:
        now, before = sum(int(p[k]) for k in count), sum(int(p[f"{k}_previous"]) for k in count)
        change = now - before
        if change:
            moved = "增加" if change > 0 else "减少"
            parts.append(f"{label}由上期的{before}{unit}{moved}到{now}{unit}，{moved}{abs(change)}{unit}"
                         + (f"（{'增长' if change > 0 else '下降'}{wording.growth(abs(change) + before, before)}）"
                            if before else ""))
        else:
            parts.append(f"{label}为{now}{unit}，与上期持平")
    for r in rates:
        num, den = sum(int(p[k]) for k in r.numerator), sum(int(p[k]) for k in r.denominator)
        num0, den0 = sum(int(p[f"{k}_previous"]) for k in r.numerator), sum(int(p[f"{k}_previous"]) for k in r.denominator)
        change = rounded_points(num, den, num0, den0)
        if change == 0:  # 由87.40%变为87.40%，持平 says one thing three times
            parts.append(f"{wording.cn_quotes(r.label)}为{wording.table_rate(num, den)}，与上期持平")
        else:
            parts.append(f"{wording.cn_quotes(r.label)}由上期的{wording.table_rate(num0, den0)}变为"
                         f"{wording.table_rate(num, den)}，{wording.points_text(change)}")
    return parts[0] + "，" + "；".join(parts[1:]) + "。" if len(parts) > 1 else parts[0] + "。"


def comparison_chart(form: Form, totals: Totals, comparison: Comparison) -> Chart | None:
    """What changed since last round: the form's count's 增减 by city, from 0 (a fall left of
    it); every city unchanged is said in a sentence instead of drawn."""
    spec = form.rounds or {}
    count = list(spec.get("count", []))
    if not count:
        return None
    names = dict(totals.cities["name"])
    bars = [(names[code], float(sum(int(v[k]) - int(v[f"{k}_previous"]) for k in count)))
            for code, v in _records(comparison.cities) if int(v["n"])]
    if not bars:
        return None
    unit, label = spec.get("count_unit", ""), spec.get("count_label", "")
    title = f"各{form.city_noun}{label}比上期增减（{unit}）"
    if len(bars) > MAX_BARS:  # a national form has hundreds of cities: those that changed most
        keep = {b[0] for b in sorted(bars, key=lambda b: abs(b[1]), reverse=True)[:MAX_BARS]}
        bars = [b for b in bars if b[0] in keep]
        title = f"各{form.city_noun}{label}比上期增减（变化最大的{MAX_BARS}个，{unit}）"
    unchanged = all(b[1] == 0 for b in bars)
    return Chart("compare_by_city", title, tuple(b[0] for b in bars), (("增减", tuple(b[1] for b in bars)),), False,
                 unit=unit, replaced_by=f"各{form.city_noun}{label}均与上期持平" if unchanged else "")
