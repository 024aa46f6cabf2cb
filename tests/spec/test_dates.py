"""填报日期 as clerks write it, and a date written without its year completed by the run."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.spec.dates import Dating, dating, parse_date, parse_filed

CASES = [
    ("2016年12月5日", (2016, 12, 5)),
    ("2016 年 12 月 5 日", (2016, 12, 5)),
    ("二〇一六年十二月五日", (2016, 12, 5)),
    ("二○一六年十二月二十五日", (2016, 12, 25)),
    ("二零一六年十月三十一日", (2016, 10, 31)),
    ("２０１６年１２月０５日", (2016, 12, 5)),
    ("2016.12.5", (2016, 12, 5)),
    ("2016/12/05", (2016, 12, 5)),
    ("2016-12-05", (2016, 12, 5)),
    ("20161205", (2016, 12, 5)),
    ("12月5日", (None, 12, 5)),
    ("十二月五号", (None, 12, 5)),
    ("2月29日", (None, 2, 29)),
    ("42709", (2016, 12, 5)),  # an Excel serial date (1900 system) in the cell after the label
    ("", None),
    ("2016年13月5日", None),
    ("2016年2月30日", None),
    ("待定", None),
]


@pytest.mark.parametrize("text, expected", CASES)
def test_the_forms_clerks_write(text, expected):
    assert parse_filed(text) == expected


def test_a_serial_number_in_a_1904_workbook():
    assert parse_filed("41247", date1904=True) == (2016, 12, 5)
    assert parse_filed("41247") == (2012, 12, 4)


def _chinese_digits(n: int) -> str:
    return "".join("〇一二三四五六七八九"[int(ch)] for ch in str(n))


def _chinese_number(n: int) -> str:
    """1–31 as 一 … 十 … 二十五 … 三十一."""
    tens, ones = divmod(n, 10)
    digits = "〇一二三四五六七八九"
    if tens == 0:
        return digits[ones]
    return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")


WRITERS = [
    lambda d: f"{d.year}年{d.month}月{d.day}日",
    lambda d: f"{d.year} 年 {d.month} 月 {d.day} 日",
    lambda d: f"{_chinese_digits(d.year)}年{_chinese_number(d.month)}月{_chinese_number(d.day)}日",
    lambda d: f"{_chinese_digits(d.year).replace('〇', '○')}年{_chinese_number(d.month)}月{_chinese_number(d.day)}日",
    lambda d: f"{d.year}年{d.month}月{d.day}日".translate(str.maketrans("0123456789", "０１２３４５６７８９")),
    lambda d: f"{d.year}.{d.month}.{d.day}",
    lambda d: f"{d.year}/{d.month:02d}/{d.day:02d}",
    lambda d: d.isoformat(),
    lambda d: d.strftime("%Y%m%d"),
]


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2099, 12, 31)), st.sampled_from(range(len(WRITERS))))
def test_every_form_of_every_date_reads_as_that_date(day, writer):
    assert parse_date("填报日期：" + WRITERS[writer](day)) == day


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2099, 12, 31)))
def test_a_year_less_date_lands_on_or_before_the_cutoff_within_a_year(cutoff):
    for month, day in ((1, 1), (6, 15), (12, 31), (cutoff.month, cutoff.day)):
        done = Dating(cutoff, cutoff).complete(month, day)
        assert done is not None and done <= cutoff and (cutoff - done).days < 366
        assert (done.month, done.day) == (month, day)


@pytest.mark.parametrize("today, cutoff, round_name, month_day, expected", [
    (date(2026, 12, 6), "2016年12月7日", "", (12, 5), date(2016, 12, 5)),  # the cutoff's year
    (date(2026, 12, 6), "2016年12月7日", "", (12, 8), date(2016, 12, 8)),  # a day late: this round's, not 2015's
    (date(2026, 12, 6), "2016年12月7日", "", (2, 8), date(2016, 2, 8)),  # long before: this year's still
    (date(2026, 12, 6), "2017年1月10日", "", (12, 28), date(2016, 12, 28)),  # on or before the cutoff
    (date(2026, 12, 6), "目前", "2016-12", (12, 5), date(2016, 12, 5)),  # the round's year
    (date(2026, 12, 6), "2017年1月10日", "2017-01", (12, 28), date(2016, 12, 28)),
    (date(2026, 12, 6), "目前", "", (12, 5), date(2026, 12, 5)),  # the run's own year
    (date(2026, 12, 6), "目前", "", (12, 28), date(2025, 12, 28)),  # never after today
    (date(2026, 12, 6), "目前", "2017年第一轮", (3, 1), date(2017, 3, 1)),
    (date(2017, 3, 1), "", "", (2, 29), date(2016, 2, 29)),  # no 2月29日 in 2017
])
def test_a_year_less_date_takes_the_rounds_else_the_cutoffs_else_the_runs_year(today, cutoff, round_name, month_day,
                                                                                expected):
    assert dating(today, cutoff, round_name).complete(*month_day) == expected
