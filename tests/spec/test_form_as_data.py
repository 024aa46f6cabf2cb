"""A new campaign's form is data: a second, small form consolidates with no code change."""

from __future__ import annotations

import csv
import io
from dataclasses import replace

import pytest

from pipeline.outputs.formbook import build_return, workbook_bytes
from pipeline.run.report import build_run
from pipeline.spec.form import load_form
from pipeline.spec.units import load_units

FORM = '''
[form]
key = "training-2017"
version = "1"
title = "技能培训"
units = "units.csv"
region_name = "全市"
region_code = "999900"
unit_noun = "区县"

[[sheets]]
key = "training"
number = "表A"
label = "培训情况"
aliases = ["培训表"]

  [[sheets.fields]]
  key = "village"
  label = "村名"
  kind = "key"

  [[sheets.fields]]
  key = "courses"
  label = "培训班次"
  unit = "期"

  [[sheets.fields]]
  key = "trainees"
  label = "参训人数"
  aliases = ["培训人数"]
  unit = "人"

  [[sheets.fields]]
  key = "certified"
  label = "取得证书人数"
  unit = "人"

  [[sheets.rules]]
  id = "certified-exceeds-trainees"
  field = "certified"
  not_above = "trainees"

[[rates]]
key = "certified_share"
label = "取证率"
numerator = ["certified"]
denominator = ["trainees"]

[messages]
certified-exceeds-trainees = "{place}取得证书人数({value})大于参训人数({bound_value})。"
'''

UNITS = """county_code,county_name,city_code,city_name,short_name,other_names
999901,东区,999910,甲市,东区,
999902,西区,999910,甲市,西区,
999903,北县,999920,乙市,北县,
"""


def test_second_form_consolidates_without_code_change(tmp_path, settings):
    (tmp_path / "form.toml").write_text(FORM, encoding="utf-8")
    (tmp_path / "units.csv").write_text(UNITS, encoding="utf-8")
    form = load_form(tmp_path / "form.toml")
    units = load_units(form.units_file)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    figures = {
        "999901": [("一村", 2, 40, 30), ("二村", 1, 25, 25)],
        "999902": [("三村", 3, 60, 45)],
        "999903": [("四村", 1, 10, 12)],  # more certified than trained: rejected
    }
    for unit in units.units:
        rows = [{"village": v, "courses": c, "trainees": t, "certified": x} for v, c, t, x in figures[unit.code]]
        (inbox / f"{unit.code}.xlsx").write_bytes(workbook_bytes(build_return(form, unit, rows)))

    run = build_run(inbox, replace(settings, form_path=tmp_path / "form.toml"))

    assert [u.status for u in run.roster.units] == ["included", "included", "rejected"]
    errors = [f for f in run.findings if f.severity.value == "error"]
    assert [(f.rule, f.cell, f.county_code) for f in errors] == [("certified-exceeds-trainees", "D5", "999903")]
    rows = list(csv.DictReader(io.StringIO(run.files["totals.csv"].decode("utf-8-sig"))))
    assert list(rows[0]) == ["level", "code", "name", "units_expected", "units_included", "courses", "trainees", "certified"]
    region = rows[0]
    assert (region["code"], region["name"], region["units_included"]) == ("999900", "全市", "2")
    assert (region["courses"], region["trainees"], region["certified"]) == ("6", "125", "100")
    city = next(r for r in rows if r["code"] == "999910")
    assert city["trainees"] == "125"
    assert run.totals.province["certified_share"] == 100 / 125
    assert run.report.narrative == ()  # no narrative template declared: tables only
    html = run.files["report.html"].decode("utf-8")
    assert "取证率" in html and "80.00%" in html


def test_unit_synonyms_and_reader_words_are_the_forms_own(form, tmp_path):
    """The default form declares 人 for 名; a form that declares none accepts 名 alone."""
    from pipeline.spec.numbers import NotACount, parse_count

    assert form.reader.units_for("名") == ("名", "人") and "全县" in form.reader.total_words
    assert form.reader.breakdown_words == ("其中", "内：") and "村" in form.reader.village_words
    (tmp_path / "form.toml").write_text(FORM, encoding="utf-8")
    (tmp_path / "units.csv").write_text(UNITS, encoding="utf-8")
    plain = load_form(tmp_path / "form.toml")
    assert plain.reader.units_for("人") == ("人",)
    assert parse_count("48人", form.reader.units_for("名")) == 48
    with pytest.raises(NotACount):
        parse_count("48名", plain.reader.units_for("人"))  # 名 is no unit of this form's 人 columns


def test_a_second_forms_attention_lines_speak_its_words(tmp_path, settings):
    """整改率较低 listed each unit as （已整改n件，排查d件） and the coverage section was 走访覆盖情况,
    whatever the form: a form of trainees says 人 and its own labels."""
    text = FORM.replace('''[[rates]]
key = "certified_share"''', '''[[rates]]
key = "certified_rate"
label = "取证率（整改式）"
numerator = ["certified"]
denominator = ["trainees"]
style = "rectification"

[[rates]]
key = "certified_share"''')
    (tmp_path / "form.toml").write_text(text, encoding="utf-8")
    (tmp_path / "units.csv").write_text(UNITS, encoding="utf-8")
    form = load_form(tmp_path / "form.toml")
    units = load_units(form.units_file)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for unit, (t, x) in zip(units.units, [(40, 30), (60, 45), (10, 9)]):
        rows = [{"village": "一村", "courses": 1, "trainees": t, "certified": x}]
        (inbox / f"{unit.code}.xlsx").write_bytes(workbook_bytes(build_return(form, unit, rows)))
    run = build_run(inbox, replace(settings, form_path=tmp_path / "form.toml"))
    lines = [line for section in run.report.attention for line in section["lines"]]
    low = next(line for line in lines if "取证率" in line)
    assert "（取得证书人数30人，参训人数40人）" in low and "件" not in low and "排查" not in low
    assert not any(section["title"] == "走访覆盖情况" for section in run.report.attention)


def test_a_title_naming_one_tables_number_and_anothers_alias_is_the_numbered_ones(form):
    """附表2 …校舍安全排查经费投入统计表, 附表1's alias 校舍安全排查 in it: neither was taken, and the
    second table was read into the first (a reviewer's find)."""
    from pipeline.stages.read.words import TableTitles

    visits, problems, outcomes = form.sheets
    sheets = (replace(visits, aliases=(*visits.aliases, "问题排查")), problems, outcomes)
    titles = TableTitles(sheets, ())
    assert titles.of["表二城关区问题排查整改情况统计表"] == "problems"
    assert titles.of["城关区问题排查整改情况统计表"] == ""  # no number: still neither


@pytest.mark.parametrize("office, word", [("省双联办", "双联办"), ("自治区教育厅", "教育厅"), ("全省双联办", "双联办"),
                                          ("教育厅", "教育厅"), ("市", "市")])
def test_an_offices_name_without_its_level(office, word):
    from pipeline.spec.form import office_word

    assert office_word(office) == word


def test_a_city_and_a_county_of_another_campaign_are_its_own_offices(form, units):
    """A city's run signed 兰州市双联办 and a blank form's 填报单位 said 城关区双联办 whatever the
    campaign: the form's office, at the city's and the county's level."""
    from pipeline.outputs.formbook import build_return
    from pipeline.outputs.report import city_office
    from pipeline.spec.scope import city

    other = replace(form, office_short="省教育厅")
    assert city(other, units, "兰州市").form.office_short == "兰州市教育厅"
    assert city_office("甘肃省教育厅", "兰州市", "教育厅") == "兰州市教育厅"
    assert city_office("中共甘肃省委双联行动领导小组办公室", "兰州市", "双联办") == "中共兰州市委双联行动领导小组办公室"
    wb = build_return(other, units.by_code("620102"), [])
    assert any(c.value == "填报单位（盖章）：城关区教育厅" for ws in wb.worksheets for row in ws.iter_rows() for c in row)


def test_a_forms_rows_are_named_as_it_names_them_in_every_message(tmp_path):
    """每个乡镇只填一行 said of a form of villages: [form] row_noun names them (村), and the
    program's wordings follow; a form that says nothing keeps 乡镇."""
    (tmp_path / "form.toml").write_text(FORM.replace('unit_noun = "区县"', 'unit_noun = "区县"\nrow_noun = "村"'),
                                        encoding="utf-8")
    (tmp_path / "units.csv").write_text(UNITS, encoding="utf-8")
    form = load_form(tmp_path / "form.toml")
    said = form.finding("duplicate-township", file="a.xlsx", sheet="培训表", cell="A6", value="一村").message
    assert "村“一村”重复出现" in said and "乡镇" not in said
    assert "乡镇" in load_form().finding("duplicate-township", file="a.xlsx", value="城关镇").message
