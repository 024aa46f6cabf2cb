"""How the report writes numbers, as the article does. Registered as Jinja filters.

- people and household counts in 万 with one decimal, rounded half up: 40.8万 (from 1亿 on, 2.1亿) ;
  item and event counts in full digits however large: 122006件 ;
- a rate before 以上 is floored to a whole percent: 89.74% → 89%以上 , never 90% ;
- a rate with two decimals, in the narrative or a table, is rounded half up as Excel's ROUND:
  89.738% is 89.74% ; but a rate below 100% never shows as 100.00%: 99.996% is 99.99% ;
- a 100% rectification rate is 已全部整改到位 ; 0 of 0 is —.
All arithmetic is on integers: no float ever decides a digit.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from .labels import cn_quotes


def wan(n: int) -> str:
    """408236 → 40.8万; from 1亿 on, in 亿 (987659233 → 9.9亿, not 98765.9万), as official
    writing does."""
    if int(n) >= 10**8:
        value = (Decimal(int(n)) / Decimal(10**8)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        return f"{value}亿"
    value = (Decimal(int(n)) / Decimal(10000)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{value}万"


def full(n: int) -> str:
    return str(int(n))


def count(n: int, style: str = "full") -> str:
    return wan(n) if style == "wan" else full(n)


def floor_percent(num: int, den: int) -> str:
    """89.74% → 89%; for sentences that say 以上."""
    if den == 0:
        return "—"
    return f"{int(num) * 100 // int(den)}%"


def hundredths(num: int, den: int) -> int:
    """The rate in hundredths of a percent, rounded half up; 9999 at most while num < den."""
    num, den = int(num), int(den)
    out = (num * 20000 + den) // (2 * den)
    return min(out, 9999) if num < den else out


def percent(num: int, den: int) -> str:
    """89.74%: two decimals, rounded half up, never 100.00% short of 100%."""
    h = hundredths(num, den)
    return f"{h // 100}.{h % 100:02d}%"


def coverage(num: int, den: int) -> str:
    """99.95%; 100% only when every one was reached."""
    num, den = int(num), int(den)
    if den == 0:
        return "—"
    if num == den:
        return "100%"
    return percent(num, den)


def rectified(num: int, den: int, lead: str = "整改率达") -> str:
    """已全部整改到位 , or 整改率达86%以上 , or, when nothing was found, 未排查出，无需整改 (a
    sentence of the text: the tables' — is no word)."""
    num, den = int(num), int(den)
    if den == 0:
        return "未排查出，无需整改"
    if num >= den:
        return "已全部整改到位"
    return f"{lead}{floor_percent(num, den)}以上"


def table_rate(num, den) -> str:
    """Rates in tables: two decimals, rounded half up (see `percent`); — with nothing to divide."""
    if num is None or den is None or _isna(num) or _isna(den) or int(den) == 0:
        return "—"
    return percent(num, den)


def rate_value(num, den) -> float | None:
    """The rate as a fraction, rounded as the tables show it: what a workbook or a chart stores."""
    if num is None or den is None or _isna(num) or _isna(den) or int(den) == 0:
        return None
    return hundredths(num, den) / 10000


def place(name: str, city: str) -> str:
    """兰州市城关区 , as a reader outside the city needs it; 嘉峪关市 once, being its own city."""
    return name if name == city else f"{city}{name}"


def with_share(name: str, values) -> str:
    """A city or province some of whose units are not in its sums: 兰州市（3/8）. A group of one
    unit (嘉峪关市; a county in its city's report) says why, as the counties' annex does:
    嘉峪关市（未报送）, 西固区（已退回）."""
    expected, included = int(values["units_expected"]), int(values["units_included"])
    if included >= expected:
        return name
    if expected == 1:
        return f"{name}（{'已退回' if int(values.get('units_rejected', 0)) else '未报送'}）"
    return f"{name}（{included}/{expected}）"


def table_count(n) -> str:
    if n is None or _isna(n):
        return ""
    return str(int(n))


def _isna(v) -> bool:
    try:
        return bool(v != v)  # NaN; pandas NA refuses bool() and lands below
    except TypeError:
        return True


def title_lines(title: str, per_line: int) -> str:
    """A title too long for one line breaks where its words allow, as GB/T 9704 7.3.3 asks for
    词意完整 : before an opening quote or bracket, after a closing one, or before 关于 . Of those, the break
    that leaves the lines most even. Left to the word processor, 汇总 of a 25-character title
    was cut as 活 / 动. No such break, or a title that fits: as it is."""
    if len(title) <= per_line:
        return title
    places = [i for i in range(1, len(title))
              if title[i] in "“（《" or title[i - 1] in "”）》" or title.startswith("关于", i)]
    fitting = [i for i in places if i <= per_line and len(title) - i <= per_line]
    if not fitting:
        return title
    best = min(fitting, key=lambda i: abs(len(title) - 2 * i))
    return f"{title[:best]}\n{title[best:]}"


FILTERS = {
    "wan": wan,
    "full": full,
    "floor_percent": floor_percent,
    "coverage": coverage,
    "rectified": rectified,
    "table_rate": table_rate,
    "table_count": table_count,
    "cn_quotes": cn_quotes,
}


def _half_up(value: Fraction, places: int = 2) -> Decimal:
    scaled = Decimal(value.numerator) / Decimal(value.denominator)
    return scaled.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def growth(now: int, before: int) -> str:
    """增幅 is the change over the previous value, rounded half up; — when the previous value is 0."""
    if before == 0:
        return "—"
    return f"{_half_up(Fraction(100 * (int(now) - int(before)), int(before)))}%"


def point_change(num: int, den: int, num_before: int, den_before: int) -> Decimal | None:
    """The change of a rate in percentage points: the exact difference of the two rates, each
    computed from sums, rounded half up to hundredths. None when either rate has nothing to divide."""
    if not den or not den_before:
        return None
    return _half_up(Fraction(100 * int(num), int(den)) - Fraction(100 * int(num_before), int(den_before)))


def points(change: Decimal | None) -> str:
    """+2.35 / -1.20 / 0.00 in a table; — without a rate."""
    if change is None:
        return "—"
    # A fall of less than half a hundredth rounds to -0.00: the table says 0.00, as the sentence says 持平.
    return f"+{change}" if change > 0 else f"{change}" if change < 0 else f"{abs(change)}"


def points_text(change: Decimal | None) -> str:
    """For sentences: 提高2.35个百分点 / 降低1.20个百分点 / 持平 ."""
    if change is None:
        return "—"
    if change == 0:
        return "持平"
    return f"{'提高' if change > 0 else '降低'}{abs(change)}个百分点"


_YEAR_MONTH = re.compile(r"^(\d{4})[-./年]?(\d{1,2})月?$")


def round_label(name: str) -> str:
    """A round as a reader writes it: 2016-11, 2016.11, 201611 and 2016年11月 are 2016年11月;
    any other name (2017年第一轮) as the office named it."""
    m = _YEAR_MONTH.match(name.strip())
    if m and 1 <= int(m.group(2)) <= 12:
        return f"{m.group(1)}年{int(m.group(2))}月"
    return name
