"""Number normalisation: every spelling counties use round-trips; anything else is refused."""

import math
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.spec.numbers import MAX_COUNT, NotACount, TooLarge, parse_count

FULLWIDTH = str.maketrans("0123456789,", "０１２３４５６７８９，")


def spellings(n: int) -> list[object]:
    grouped = f"{n:,}"
    return [
        n, float(n), str(n), f" {n} ", f"{n}.0", f"{n}.00", grouped, grouped.replace(",", "，"),
        str(n).translate(FULLWIDTH), grouped.translate(FULLWIDTH), f"{n}户", f"{grouped} 户", f"\u3000{n}\u3000",
        # grouped with spaces, as web pages and other systems export them: no-break, thin, narrow no-break
        grouped.replace(",", "\u00a0"), grouped.replace(",", "\u2009"), grouped.replace(",", "\u202f"),
    ]


@given(st.integers(0, 10**12))
def test_every_spelling_round_trips(n):
    for s in spellings(n):
        assert parse_count(s, ("户",)) == n, s


@pytest.mark.parametrize("blank", [None, "", " ", "-", "—", "/", "无", "——", "暂无", "不涉及", "无此项"])
def test_blank_and_dashes_are_zero(blank):
    assert parse_count(blank) == 0


@pytest.mark.parametrize("bad", ["-3", -3, 1.5, "1.5", "十二", "12个人", "1,23", "12,3456", "1 23", "12 3456", "abc", "1e3",
                                 True,
                                 float("nan"), "12户", "12 3", "140¹", "2990①", "3000²", "⑴5", "12½", "3.000", "140.000"])
def test_anything_else_is_refused(bad):
    with pytest.raises(NotACount):
        parse_count(bad, ("个",))


@given(st.text(max_size=12))
def test_text_either_parses_to_a_count_or_is_refused(text):
    try:
        value = parse_count(text, ("户",))
    except NotACount:
        return
    assert isinstance(value, int) and value >= 0


@given(st.integers(0, 10**6), st.characters(categories=["No"]))
def test_a_footnote_mark_beside_a_figure_is_no_count(n, mark):
    """¹ ② ⑶ and the like after a figure mark a note; read as digits they would change it."""
    for text in (f"{n}{mark}", f"{mark}{n}"):
        with pytest.raises(NotACount):
            parse_count(text, ("户",))


@given(st.integers(MAX_COUNT + 1, 10**40))
def test_counts_beyond_any_county_are_refused_as_too_large(n):
    for s in (n, float(n), str(n), f"{n:,}"):
        with pytest.raises(TooLarge):
            parse_count(s)


@given(st.integers(0, 10**9), st.integers(-4, 4))
def test_a_formulas_binary_rounding_is_the_whole_number_the_sheet_shows(n, ulps):
    """797.0000000000001 (=A1*0.1*10), which Excel shows as 797: the count, not a fraction."""
    noisy = float(n)
    for _ in range(abs(ulps)):
        noisy = math.nextafter(noisy, math.inf if ulps > 0 else -math.inf)
    if noisy >= 0:
        assert parse_count(noisy) == n
    assert parse_count(797.0000000000001) == 797 and parse_count(0.1 * 3 * 10) == 3


@pytest.mark.parametrize("typed", [12.0001, 797.001, 0.5, 1000000.01, 2.000001])
def test_a_fraction_anyone_could_see_is_still_no_count(typed):
    with pytest.raises(NotACount):
        parse_count(typed)


FLOAT_CELL = st.one_of(
    st.integers(-5, 10**13).map(float),  # whole numbers as calamine gives them, some out of bounds
    st.integers(0, 10**6).map(lambda n: n + 0.5),
    st.floats(allow_nan=True, allow_infinity=True),
)
CELL = st.one_of(FLOAT_CELL, st.integers(-5, 10**13), st.sampled_from(["", " ", "-", "12", "十二", None, True]))


@given(st.one_of(st.lists(FLOAT_CELL, max_size=20), st.lists(CELL, max_size=20)))
def test_a_column_read_at_c_speed_reads_as_cell_by_cell(cells):
    """The reader's shortcut for a column of whole numbers gives what parse_count gives for
    each cell, or steps aside (None) so that each cell gets parse_count and its findings."""
    from pipeline.stages.read.layout import whole_counts

    fast = whole_counts(tuple(cells))
    if fast is not None:
        assert fast == tuple(parse_count(v) for v in cells)


@given(st.lists(st.integers(0, MAX_COUNT), max_size=20))
def test_a_column_of_whole_numbers_takes_the_shortcut(counts):
    from pipeline.stages.read.layout import whole_counts

    assert whole_counts(tuple(float(n) for n in counts)) == tuple(counts)


@given(st.lists(st.one_of(st.integers(0, MAX_COUNT).map(float), st.just("")), max_size=20))
def test_a_column_of_whole_numbers_and_blanks_takes_the_shortcut(cells):
    """A zero left blank, or a whole column left empty: still the shortcut, each blank a 0."""
    from pipeline.stages.read.layout import whole_counts

    assert whole_counts(tuple(cells)) == tuple(0 if c == "" else int(c) for c in cells)


@given(st.text(alphabet="0123456789", min_size=1, max_size=16))
def test_plain_digits_read_as_their_number(digits):
    """Figures typed as text (a cell formatted as 文本), leading zeros and all."""
    if int(digits) > MAX_COUNT:
        with pytest.raises(TooLarge):
            parse_count(digits, ("户",))
    else:
        assert parse_count(digits, ("户",)) == int(digits)


INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00a0"]


@given(st.integers(0, 10**9), st.sampled_from(INVISIBLE), st.sampled_from(INVISIBLE))
def test_invisible_marks_around_digits_are_whitespace(n, before, after):
    """Pasted from a web page or a chat: the cell looks like “6” to the clerk, and is 6."""
    assert parse_count(f"{before}{n}{after}") == n
    assert parse_count(f"{before}{n:,}户{after}", ("户",)) == n


@pytest.mark.parametrize("zero", ["零", "〇", " 零 ", "\u200b〇"])
def test_零_and_〇_are_zero(zero):
    assert parse_count(zero) == 0


@pytest.mark.parametrize("written, units, value", [
    ("48人", ("名", "人"), 48), ("15场", ("场次", "场", "次"), 15), ("15场次", ("场次", "场", "次"), 15),
    ("3项", ("个", "项"), 3), ("2起", ("件", "起", "项"), 2),
])
def test_a_synonym_of_the_columns_unit_is_its_unit(written, units, value):
    assert parse_count(written, units) == value


@pytest.mark.parametrize("written", ["1.2万", "3万", "12,000万", "1.2 万", "１．５万"])
def test_a_count_in_万_is_refused_as_such(written):
    from pipeline.spec.numbers import InWan

    with pytest.raises(InWan):
        parse_count(written)


def test_other_refusals_are_not_taken_for_万():
    from pipeline.spec.numbers import InWan

    for bad in ("万", "约1万", "1.2万人", "十二"):  # 人 is no unit of this column: no number in 万 either
        with pytest.raises(NotACount) as caught:
            parse_count(bad)
        assert not isinstance(caught.value, InWan), bad


@pytest.mark.parametrize("raw, shown", [
    (1023.0, "1023"), (float("nan"), "非数字"), (float("inf"), "无穷大"), (-float("inf"), "负无穷大"),
    (1e308, "1E+308"), (1.5e15, "1.5E+15"), (2.5, "2.5"),
    (timedelta(days=1023), "24552:00:00"), (timedelta(hours=1, minutes=2, seconds=3), "1:02:03"),
    ("PT240H00M00S", "240:00:00"),  # an .ods's time value, as LibreOffice shows a 10 formatted [h]:mm:ss
    ("x" * 50, "x" * 40 + "…"),
    (True, "TRUE"), (False, "FALSE"),  # a logical value, as Excel shows it
    ("3\n0", "3（换行）0"), ("3\r\n0", "3（换行）0"),  # a line break in the cell, said
])
def test_a_value_is_quoted_back_as_a_spreadsheet_shows_it_not_as_python_prints_it(raw, shown):
    from pipeline.spec.numbers import display

    assert display(raw) == shown


def _in_chinese(n: int, digits: str = "零一二三四五六七八九", units: str = "十百千") -> str:
    """n as Excel's [DBNum1] writes it (一千八百七十三, 一万零五, 十二): the slow way, for the test."""
    if n == 0:
        return digits[0]

    def below_10000(k: int, leading: bool) -> str:
        out, zero = "", False
        for size, unit in ((1000, units[2]), (100, units[1]), (10, units[0]), (1, "")):
            d, k = divmod(k, size)
            if d:
                out += (digits[0] if zero else "") + ("" if (unit == units[0] and d == 1 and leading and not out)
                                                      else digits[d]) + unit
                zero = False
            elif out:
                zero = True
        return out

    parts = []
    for size, mark in ((10**8, "亿"), (10**4, "万"), (1, "")):
        d, n = divmod(n, size)
        if d:
            text = below_10000(d, not parts)
            if parts and d < 1000:
                text = digits[0] + text
            parts.append(text + mark)
        elif parts and n:
            parts.append("")
    return "".join(parts).replace(digits[0] * 2, digits[0])


@given(st.integers(min_value=0, max_value=10**12 - 1))
def test_a_count_in_chinese_numerals_reads_as_its_number(n):
    from pipeline.spec.numbers import chinese_numeral

    assert chinese_numeral(_in_chinese(n)) == n
    assert chinese_numeral(_in_chinese(n, "零壹贰叁肆伍陆柒捌玖", "拾佰仟")) == n


@pytest.mark.parametrize("text", ["", "万", "一二三x", "一二三", "12", "百分之十", "十十", "百十", "一百二", "一百十百"])
def test_what_is_no_chinese_numeral(text):
    from pipeline.spec.numbers import chinese_numeral

    assert chinese_numeral(text) is None
