"""The article's number wording, as Jinja filters."""

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.spec import wording


def test_wan_rounds_half_up_to_one_decimal():
    assert wording.wan(408236) == "40.8万"
    assert wording.wan(4918216) == "491.8万"
    assert wording.wan(4918250) == "491.8万"  # 491.825 → 491.8
    assert wording.wan(4918500) == "491.9万"  # 491.85 → 491.9, half up
    assert wording.wan(50) == "0.0万"
    assert wording.wan(99_994_999) == "9999.5万" and wording.wan(100_000_000) == "1.0亿"
    assert wording.wan(987_659_233) == "9.9亿"


def test_floor_percent_never_rounds_up():
    assert wording.floor_percent(109486, 122006) == "89%"  # 89.74%
    assert wording.floor_percent(51040, 59341) == "86%"
    assert wording.floor_percent(38070, 42289) == "90%"
    assert wording.floor_percent(0, 0) == "—"


def test_rectified_wording():
    assert wording.rectified(20376, 20376) == "已全部整改到位"
    assert wording.rectified(51040, 59341) == "整改率达86%以上"
    assert wording.rectified(109486, 122006, "整改率达到了") == "整改率达到了89%以上"
    assert wording.rectified(0, 0) == "未排查出，无需整改"


def test_coverage_rounds_half_up_and_only_full_is_100():
    assert wording.coverage(4918216, 4920676) == "99.95%"
    assert wording.coverage(99996, 100000) == "99.99%"  # 99.996%: short of 100%, never 100.00%
    assert wording.coverage(99994, 100000) == "99.99%"
    assert wording.coverage(999949, 1000000) == "99.99%"
    assert wording.coverage(16035, 16035) == "100%"
    assert wording.coverage(0, 0) == "—"
    assert wording.coverage(1, 3) == "33.33%"


def test_cn_quotes_pairs():
    assert wording.cn_quotes('"六个精准"和"两不愁"') == "“六个精准”和“两不愁”"


@given(st.integers(0, 10**9), st.integers(1, 10**9))
def test_floor_percent_is_at_most_the_exact_rate(num, den):
    shown = int(wording.floor_percent(num, den).rstrip("%"))
    assert shown * den <= 100 * num < (shown + 1) * den


def test_table_rates_round_half_up_as_excel_round():
    assert wording.table_rate(109486, 122006) == "89.74%"  # 89.738%, truncation said 89.73%
    assert wording.table_rate(1, 8) == "12.50%"
    assert wording.table_rate(8975, 100000) == "8.98%"  # 8.975: the half goes up
    assert wording.table_rate(89745, 1000000) == "8.97%"  # 8.9745 is below the half
    assert wording.table_rate(99996, 100000) == "99.99%"
    assert wording.table_rate(3, 3) == "100.00%"
    assert wording.table_rate(5, 0) == "—" and wording.table_rate(None, 3) == "—"
    assert wording.rate_value(109486, 122006) == 0.8974 and wording.rate_value(99996, 100000) == 0.9999


@given(st.integers(1, 10**9), st.integers(1, 10**9))
def test_coverage_is_rounded_half_up_to_hundredths(a, b):
    from decimal import ROUND_HALF_UP, Decimal

    num, den = min(a, b), max(a, b)
    text = wording.coverage(num, den)
    if num == den:
        assert text == "100%"
    else:
        exact = (Decimal(num) * 100 / Decimal(den)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        assert text == (f"{exact}%" if exact < 100 else "99.99%")
        assert text == wording.table_rate(num, den)


@given(st.integers(0, 10**12))
def test_wan_is_within_half_a_tenth(n):
    text = wording.wan(n)
    size = 10**8 if text.endswith("亿") else 10000
    assert text.endswith("亿") == (n >= 10**8)  # 98765.9万 is written 9.9亿
    shown = float(text[:-1])
    assert abs(shown * size - n) <= size // 20


def test_a_long_title_breaks_where_its_words_allow():
    title = "全省双联行动脱贫攻坚“大走访、回头看”活动情况汇总"
    assert wording.title_lines(title, 20) == "全省双联行动脱贫攻坚\n“大走访、回头看”活动情况汇总"
    assert wording.title_lines("关于全省报表汇总情况的报告", 20) == "关于全省报表汇总情况的报告"  # fits
    assert wording.title_lines("甘肃省人民政府办公厅关于进一步做好全省县级报表汇总工作的通知", 20) == \
        "甘肃省人民政府办公厅\n关于进一步做好全省县级报表汇总工作的通知"
    assert wording.title_lines("一" * 30, 20) == "一" * 30  # nowhere to break by meaning: left to Word


@given(st.text(alphabet="全省汇总“”（）关于报告情况", min_size=1, max_size=44))
def test_a_title_is_never_changed_but_for_one_break_and_each_line_fits(title):
    out = wording.title_lines(title, 20)
    assert out.replace("\n", "", 1) == title and out.count("\n") <= title.count("\n") + 1
    if "\n" in out and "\n" not in title:
        assert all(len(line) <= 20 for line in out.split("\n"))


# Column-wise, as the county tables are made: the same text as the cell-by-cell filters.
_maybe = st.one_of(st.none(), st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=10**16))


@settings(deadline=None)  # its first example imports pandas (half a second) when it runs first in its process
@given(st.lists(st.tuples(_maybe, _maybe, st.booleans()), min_size=1, max_size=40))
def test_rate_and_count_columns_say_what_the_cell_filters_say(cells):
    import numpy as np
    import pandas as pd

    from pipeline.outputs.tables import count_texts, rate_texts

    num = pd.Series([c[0] for c in cells], dtype="Int64")
    den = pd.Series([c[1] for c in cells], dtype="Int64")
    shown = np.array([c[2] for c in cells])
    expected_rates = [wording.table_rate(n, d) if ok else "—" for n, d, ok in cells]
    assert rate_texts(num, den, shown) == expected_rates
    if all(v is None or v < 2**53 for c in cells for v in c[:2]):  # what a float column can hold exactly
        assert rate_texts(num.astype("float64"), den.astype("float64"), shown) == expected_rates  # NaN for missing
    assert count_texts(num, shown) == [wording.table_count(n) if ok else "" for n, _, ok in cells]
    assert count_texts(num) == [wording.table_count(n) for n, _, _ in cells]


def test_rate_columns_near_and_at_100_percent():
    import numpy as np
    import pandas as pd

    from pipeline.outputs.tables import rate_texts

    num = pd.Series([99_996, 100_000, 89_738, 1, 0, 5], dtype="Int64")
    den = pd.Series([100_000, 100_000, 100_000, 3, 0, 4], dtype="Int64")
    assert rate_texts(num, den, np.ones(6, dtype=bool)) == ["99.99%", "100.00%", "89.74%", "33.33%", "—", "125.00%"]
    # Sums past what int64 can round (a county of many townships at the reader's cap of 10**12 a cell):
    # the same as the province's rate, worked in Python's integers.
    big_num, big_den = pd.Series([5 * 10**14, 10**15 + 7], dtype="Int64"), pd.Series([6 * 10**14, 10**15 + 8], dtype="Int64")
    assert rate_texts(big_num, big_den, np.ones(2, dtype=bool)) == [wording.table_rate(5 * 10**14, 6 * 10**14),
                                                                      wording.table_rate(10**15 + 7, 10**15 + 8)]
    assert rate_texts(big_num, big_den, np.ones(2, dtype=bool)) == ["83.33%", "99.99%"]
