"""Reading a 填报日期 out of whatever a clerk typed beside the label, and completing one written
without its year.

Clerks write `2016年12月5日`, `二〇一六年十二月五日` (or with ○ or 零), full-width digits,
`2016.12.5`, `2016/12/05`, `2016-12-05`, `20161205`, `12月5日` (no year), or put a date cell there
(calamine reads a date-formatted cell in either of Excel's date systems; a bare serial number is
read in the workbook's own system, 1900 or 1904).

A date without its year is completed by the run, which knows when it is (`Dating`): the year of
the round's name, else of the report's cutoff in the settings, else of the run, whichever year
puts the date on or before the cutoff (12月28日 in a round named 2017-01 is 2016-12-28).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

_DIGITS = {ch: str(i) for i, ch in enumerate("〇一二三四五六七八九")} | {"○": "0", "零": "0", "Ｏ": "0", "两": "2"}
_CHINESE_NUMBER = re.compile(r"[〇○零Ｏ一二三四五六七八九十两]+")
_FULL = re.compile(r"(\d{4})\s*[年.\-/]\s*(\d{1,2})\s*[月.\-/]\s*(\d{1,2})(?!\d)")
_COMPACT = re.compile(r"(?<!\d)((?:19|20)\d{2})(\d{2})(\d{2})(?!\d)")
_MONTH_DAY = re.compile(r"(?<!\d)(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]")
_SERIAL = re.compile(r"^(\d{5})(?:\.0+)?$")
EXCEL_1900 = date(1899, 12, 30)  # serial 1 is 1900-01-01, counting Lotus's 1900-02-29
EXCEL_1904 = date(1904, 1, 1)


def as_written_day(day: date) -> str:
    """A date as every official document writes it: 2016年12月5日."""
    return f"{day.year}年{day.month}月{day.day}日"


def _chinese(match: re.Match) -> str:
    """二〇一六 → 2016 (digit by digit); 十二 → 12, 二十五 → 25, 三十 → 30, 十 → 10."""
    text = match.group()
    if "十" not in text:
        return "".join(_DIGITS.get(ch, ch) for ch in text)
    tens, _, ones = text.partition("十")
    if len(tens) > 1 or len(ones) > 1:
        return text  # not a number of days or months: left as written
    return str(int(_DIGITS.get(tens, "1")) * 10 + int(_DIGITS.get(ones, "0")))


def normalised(text: str) -> str:
    """Full-width digits and Chinese numerals as ASCII digits."""
    return _CHINESE_NUMBER.sub(_chinese, unicodedata.normalize("NFKC", str(text)))


def parse_filed(text: str, date1904: bool = False) -> tuple[int | None, int, int] | None:
    """(year, month, day) of a 填报日期 as written, the year None when none was written; None
    when the text holds no date (or an impossible one)."""
    s = normalised(text)
    m = _FULL.search(s) or _COMPACT.search(s)
    if m:
        y, mo, d = (int(g) for g in m.groups())
        return (y, mo, d) if _valid(y, mo, d) else None
    m = _SERIAL.match(s.strip())
    if m and 30000 < int(m.group(1)) < 60000:  # an Excel serial date in the cell after the label
        day = (EXCEL_1904 if date1904 else EXCEL_1900) + timedelta(days=int(m.group(1)))
        return day.year, day.month, day.day
    m = _MONTH_DAY.search(s)
    if m:
        mo, d = int(m.group(1)), int(m.group(2))
        return (None, mo, d) if _valid(2016, mo, d) else None  # a leap year: 2月29日 is a date
    return None


def parse_date(text: str, date1904: bool = False) -> date | None:
    """A whole date (with its year) in the text, else None."""
    parts = parse_filed(text, date1904)
    if parts is None or parts[0] is None:
        return None
    return date(*parts)


def _valid(y: int, mo: int, d: int) -> bool:
    try:
        date(y, mo, d)
    except ValueError:
        return False
    return 1900 <= y <= 2999


@dataclass(frozen=True)
class Dating:
    """What a year-less 填报日期 is completed with: the run's date, the report's cutoff (when the
    settings give one that reads as a date) and the year the round's name gives."""

    today: date
    cutoff: date | None = None
    round_year: int | None = None

    def complete(self, month: int, day: int) -> date | None:
        """On or before the cutoff, within a year; or a little after it (LATE_DAYS), never after
        today: 12月8日 against a cutoff of 12月7日 is a return a day late, not last year's (which
        it was made, and set aside as stale, losing the county's correction)."""
        limit = self.cutoff or self.today
        year = self.round_year or (self.cutoff.year if self.cutoff else self.today.year)
        for y in (year, year - 1):
            try:
                d = date(y, month, day)
            except ValueError:  # 2月29日 in a common year
                continue
            if d <= limit or (d <= self.today and (d - limit).days <= LATE_DAYS):
                return d
        return None


LATE_DAYS = 31  # a year-less date this far past the cutoff is this round's late return


def dating(today: date, cutoff: str = "", round_name: str = "") -> Dating:
    m = re.match(r"^\s*((?:19|20)\d{2})", normalised(round_name or ""))
    return Dating(today, parse_date(cutoff or ""), int(m.group(1)) if m else None)
