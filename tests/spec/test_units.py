"""Which county a workbook names: whole names, short names, older names, codes."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st


@pytest.mark.parametrize("text, code", [
    ("填报单位(盖章):张家川回族自治县双联办", "620525"),
    ("张家川县", "620525"),
    ("天水市张家川县双联办", "620525"),
    ("张家川县委双联办", "620525"),
    ("宁县", "621026"),
    ("正宁县", "621025"),
    ("临夏市", "622901"),
    ("临夏县", "622921"),
    ("临夏州临夏县", "622921"),
    ("甘肃省白银市白银区", "620402"),
    ("嘉峪关市双联办", "620200"),
    ("安西县", "620922"),  # the older name of 瓜州县
    ("城  关  区", "620102"),
])
def test_names_match_whole(units, form, text, code):
    assert units.match_name(text, form.name_noise) == code


@pytest.mark.parametrize("text", ["白银市", "临夏州", "城关镇", "天水市双联办", "正宁", ""])
def test_no_unit_is_guessed(units, form, text):
    assert units.match_name(text, form.name_noise) is None


@pytest.mark.parametrize("stem, code", [
    ("621025_正宁县", "621025"),
    ("正宁县大走访统计表", "621025"),
    ("宁县大走访统计表", "621026"),
    ("临夏县报表(终稿)", "622921"),
    ("620525", "620525"),
])
def test_file_names(units, stem, code):
    assert units.find_in_filename(stem) == code


@pytest.mark.parametrize("stem, code", [
    ("七里河", "620103"), ("张家川", "620525"), ("阿克塞", "620924"), ("嘉峪关", "620200"),  # 区, 县, 市 left off
    ("临夏", ""),  # 临夏县 and 临夏市
    ("酒泉", ""),  # a city's name (its file, perhaps), no county's
    ("城关镇", ""), ("七里河报表", ""),  # the whole name, or no answer
])
def test_a_file_or_folder_named_by_the_units_name_without_区_or_县(units, stem, code):
    """兰州市/七里河.xlsx, 酒泉市/阿克塞/报表.xlsx: the unit was unknown and 未报送, the file unread.
    Found apart from find_in_filename, which a short name never answers (城关 is a township's too)."""
    assert units.find_by_short_name(stem) == code
    assert units.find_in_filename(stem) is None


def test_file_name_naming_two_units_is_no_answer(units):
    assert units.find_in_filename("宁县和正宁县合并") is None


def _named_in(units, stem: str) -> str | None:
    """What find_in_filename promises, said the slow way: every unit name found in the text,
    less those inside a longer name found there; one unit, or no answer."""
    from pipeline.spec.units import _clean

    text = _clean(stem)
    spans = [(i, i + len(n), u.code) for u in units.units for n in u.names
             if len([v for v in units.units if n in v.names]) == 1
             for i in range(len(text)) if text.startswith(n, i)]
    kept = {c for (a, b, c) in spans if not any(a2 <= a and b <= b2 and b2 - a2 > b - a for (a2, b2, _) in spans)}
    return kept.pop() if len(kept) == 1 else None


def test_file_names_where_many_units_begin_alike():
    """A list where thousands of names share their first characters (a national list has many
    新…, 东…; a synthetic one 合成…) is looked up as exactly as Gansu's."""
    from pipeline.spec.units import Unit, UnitList

    units = UnitList(tuple(Unit(f"{800001 + i}", f"合成{i + 1}县", "700000", "合成市", f"合成{i + 1}县", ())
                           for i in range(3000)))
    assert units.find_in_filename("合成12县2016年12月报表") == "800012"
    assert units.find_in_filename("合成市合成123县“大走访、回头看”活动统计表") == "800123"
    assert units.find_in_filename("合成1县和合成2县") is None
    assert units.find_in_filename("合成市汇总") is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["宁县", "正宁县", "临夏", "县", "临夏县", "临夏市", "620525", "报表", "城关区", "白银",
                                 "白银区", "张家川县", "（终稿）", "2016", "_"]), max_size=6))
def test_file_names_found_as_the_slow_way_says(units, words):
    stem = "".join(words)
    code, named = _code_in(units, stem), _named_in(units, stem)
    if code and any(n in stem for n in units.by_code(code).names):
        named = code  # its own name beside its code: another's inside it (宁县 in 正宁县) is not looked for
    # A code and a name of two units (620525城关区): neither is taken on trust.
    assert units.find_in_filename(stem) == (None if code and named and code != named else code or named)
    assert units.filename_says_two(stem) == ((code, named) if code and named and code != named else None)


def _code_in(units, stem: str) -> str | None:
    import re

    return next((c for c in re.findall(r"(?<!\d)(\d{6})(?!\d)", stem) if units.by_code(c)), None)


@pytest.mark.parametrize("text, code, prefix", [
    ("甘肃省临夏市东乡县", "622926", "临夏市"),  # a county-level city of the same prefecture
    ("临夏市东乡族自治县双联办", "622926", "临夏市"),
    ("西峰区宁县", "621026", "西峰区"),  # never 正宁县: the longest whole name first
])
def test_a_wrong_prefix_before_a_units_whole_name_finds_that_unit(units, form, text, code, prefix):
    assert units.match_name(text, form.name_noise) is None
    assert units.match_after_prefix(text, form.name_noise) == (code, prefix)


@pytest.mark.parametrize("text, code, prefix", [
    ("兰州市正宁县", "621025", "兰州市"),  # another city: matched, and the prefix named
    ("庆阳市正宁县", "621025", ""),  # its own city
    ("临夏州东乡县", "622926", ""),
    ("张家川县委双联办", "620525", ""),
])
def test_the_prefix_before_a_matched_name_is_checked_against_its_city(units, form, text, code, prefix):
    assert units.match_name(text, form.name_noise) == code
    assert units.wrong_prefix(text, form.name_noise, code) == prefix


@pytest.mark.parametrize("text", ["古浪镇", "城关镇", "白银市", "临夏州", "某某县"])
def test_no_stem_and_no_unknown_prefix_is_taken(units, form, text):
    assert units.match_after_prefix(text, form.name_noise) is None
