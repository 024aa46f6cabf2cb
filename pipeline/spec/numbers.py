"""Reading a count out of whatever a county typed into the cell."""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime, timedelta
from functools import lru_cache

from .labels import INVISIBLE

# Blank, dashes, a slash or 无 (暂无, 不涉及, 无此项) all mean "none": 0; so do 零 and 〇 written for zero.
_ZERO_WORDS = {"", "-", "—", "——", "–", "/", "无", "\\", "－", "―", "零", "〇", "暂无", "不涉及", "无此项"}
# Digits grouped by threes with commas, or with spaces as web pages and other systems group them
# (4 143: a no-break or thin space, which NFKC has made plain); 12 3 is two numbers, not one.
_NUMBER = re.compile(r"^[+]?(\d{1,3}(?:,\d{3})+|\d{1,3}(?: \d{3})+|\d+)(?:\.(\d+))?$")
# Characters that show as nothing (labels.INVISIBLE): around digits they are whitespace (NFKC
# has already made a no-break space a plain one).
_INVISIBLE = dict.fromkeys(map(ord, INVISIBLE), " ")
# A count in 万 (1.2万, 3万户): rounded, so not the exact number the form asks for.
_IN_WAN = re.compile(r"^[+]?[\d,.]+\s*万$")


class NotACount(ValueError):
    """The cell holds something that is not a non-negative whole number."""


class InWan(NotACount):
    """A count written in 万 (`1.2万`): rounded by the clerk, so never read as a number; the
    clerk is asked for the exact figure."""


class TooLarge(NotACount):
    """A whole number, but far beyond any count a county can have: a slip of the keyboard or
    a pasted ID. Refused rather than summed, and kept within what the totals can hold."""


MAX_COUNT = 10**12
FLOAT_NOISE = 1e-9  # relative: arithmetic's rounding is some 1e-16, a fraction anyone typed far more


def parse_count(raw: object, units: tuple[str, ...] = ()) -> int:
    """A non-negative integer, or NotACount. `units` are suffixes the column may carry (`12户`):
    its unit and the synonyms the form declares for it (`48人` in a 名 column)."""
    if raw is None:
        return 0
    if raw.__class__ is str and raw.isascii() and raw.isdigit():
        return _bounded(int(raw))  # plain digits, the commonest text: what every step below would leave them
    if isinstance(raw, bool):
        raise NotACount(raw)
    if isinstance(raw, int):
        if raw < 0:
            raise NotACount(raw)
        return _bounded(raw)
    if isinstance(raw, float):
        if not math.isfinite(raw) or raw < 0:
            raise NotACount(raw)
        if raw != int(raw):
            # A formula's binary rounding (=A1*0.1*10 gives 797.0000000000001), which the sheet
            # shows as 797: a whole number all the same. 12.5, or 12.0001, is none.
            whole = round(raw)
            if abs(raw - whole) > FLOAT_NOISE * max(1.0, raw):
                raise NotACount(raw)
            return _bounded(whole)
        return _bounded(int(raw))
    if isinstance(raw, (date, datetime)):
        raise NotACount(raw)
    raw_text = str(raw)
    if any(unicodedata.category(ch) == "No" for ch in raw_text):
        # A footnote mark (140¹, 2990①): NFKC would make it a digit of the figure (1401).
        raise NotACount(raw)
    # NFKC turns full-width digits, the full-width comma and the ideographic space into ASCII.
    text = unicodedata.normalize("NFKC", raw_text).translate(_INVISIBLE).strip()
    if text in _ZERO_WORDS:
        return 0
    for unit in _longest_first(units):
        if unit and text.endswith(unit):
            text = text[: -len(unit)].rstrip()
            break
    m = _NUMBER.match(text)
    if not m:
        raise (InWan if _IN_WAN.match(text) else NotACount)(raw)
    whole, frac = m.group(1), m.group(2)
    if frac and (frac.strip("0") or (len(frac) == 3 and "," not in whole)):
        # 12.5 is no count; 3.000 may be three or, written the European way, three thousand.
        raise NotACount(raw)
    return _bounded(int(whole.replace(",", "").replace(" ", "")))


@lru_cache(maxsize=64)
def _longest_first(units: tuple[str, ...]) -> tuple[str, ...]:
    """A column's units, the longest first (场次 before 次): a form has a handful of them."""
    return tuple(sorted(units, key=len, reverse=True))


def _bounded(n: int) -> int:
    if n > MAX_COUNT:
        raise TooLarge(n)
    return n


_CN_DIGITS = {**dict.fromkeys("零〇○", 0), "一": 1, "壹": 1, "二": 2, "两": 2, "贰": 2, "三": 3, "叁": 3, "四": 4,
              "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "七": 7, "柒": 7, "八": 8, "捌": 8, "九": 9, "玖": 9}
_CN_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_CN_BIG = (("亿", 10**8), ("万", 10**4))


def chinese_numeral(text: str) -> int | None:
    """A whole number written in Chinese numerals, as Excel's [DBNum1] and [DBNum2] formats show
    one (一千八百七十三, 壹仟捌佰柒拾叁, 一万零五, 十二); None when the text is not one."""
    if not text or any(ch not in _CN_DIGITS and ch not in _CN_UNITS and ch not in "亿万" for ch in text):
        return None
    return _cn_value(text)


def _cn_value(text: str) -> int | None:
    for mark, size in _CN_BIG:
        if mark in text:
            high, low = text.split(mark, 1)
            above, below = _cn_value(high) if high else None, _cn_value(low) if low else 0
            return None if above is None or below is None else above * size + below
    total, digit, pending, last, previous = 0, 0, False, 10_000, ""
    for ch in text:
        if ch in _CN_DIGITS:
            if pending and digit:
                return None  # 一二三: digits one by one, a code or a year, not how a format writes a count
            digit, pending = _CN_DIGITS[ch], True
        else:  # 十, 百, 千 after their digit (十 alone first: 十二 is 12)
            size = _CN_UNITS[ch]
            if size >= last or not (pending and digit or size == 10 and not previous):
                return None  # 十十, 百十, 一百十百: each place once, the larger first, with its digit
            total += (digit if pending else 1) * size
            digit, pending, last = 0, False, size
        previous = ch
    if pending and digit and last > 10 and previous in _CN_DIGITS and text[-2:-1] in _CN_UNITS:
        return None  # 一百二 is how speech shortens 120; a format writes 一百二十, or 一百零二 for 102
    return total + digit if text else None


def display(raw: object) -> str:
    """How a raw cell value is quoted back to a clerk in a message: as a spreadsheet shows it,
    not as Python prints it (1023 days, 0:00:00; nan; a number of 309 digits)."""
    if isinstance(raw, float):
        if math.isnan(raw):
            return "非数字"
        if math.isinf(raw):
            return "无穷大" if raw > 0 else "负无穷大"
        if abs(raw) >= 1e15:
            return f"{raw:.15G}"  # 1E+308, as Excel shows it
        if raw.is_integer():
            return str(int(raw))
    if isinstance(raw, bool):  # a logical value, as Excel shows it (TRUE), not as Python prints it
        return "TRUE" if raw else "FALSE"
    if isinstance(raw, timedelta):  # a count in a duration's format ([h]:mm:ss): hours, as Excel shows them
        seconds = int(raw.total_seconds())
        sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
        return f"{sign}{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    s = str(raw)
    m = _ISO_DURATION.match(s)
    if m:  # an .ods's time value (PT240H00M00S): as the office suite shows it, 240:00:00
        hours, minutes, seconds = int(m.group(2)), int(m.group(3)), int(float(m.group(4)))
        return f"{m.group(1)}{hours}:{minutes:02d}:{seconds:02d}"
    if "\n" in s or "\r" in s:  # a line break in the cell (Alt+Enter, a page's <br>): said, not printed as one
        s = _LINE_BREAK.sub("（换行）", s)
    return s if len(s) <= 40 else s[:40] + "…"


_LINE_BREAK = re.compile(r"\r\n|[\r\n]")


def display_header(raw: object) -> str:
    """A header's text quoted back to a clerk: its lines run on (走访农户数 written over two
    lines is one label), where a figure's line break is said (display)."""
    return display(_LINE_BREAK.sub("", raw) if isinstance(raw, str) else raw)


_ISO_DURATION = re.compile(r"^(-?)PT(\d+)H(\d+)M(\d+(?:\.\d+)?)S$")
