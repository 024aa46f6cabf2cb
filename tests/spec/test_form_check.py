"""A new campaign's form is written by an office: each mistake in it is one Chinese sentence,
at load, naming the table, the entry and the key, never a key ignored (a rule never applied),
a traceback, or every return failing mid-run. A table of mistakes, each made in a copy of the
project's own form in tmp_path."""

from __future__ import annotations

import re
import shutil

import pytest

from pipeline.errors import Fatal
from pipeline.paths import SCHEMAS
from pipeline.spec.form import load_form

FORM = (SCHEMAS / "shuanglian-2016.toml").read_text(encoding="utf-8")
FIRST_RULE = '[[sheets.rules]]\n  id = "visited-exceeds-total"'


def once(old: str, new: str):
    def edit(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)
    return edit


MISTAKES = [
    # A key misspelt: ignored, a declared rule or unit was never applied.
    ("table-name-singular", once("[[sheets.rules]]", "[[sheets.rule]]"),
     '[[sheets]] 第1个（key = "visits"） 中的 rule 不是表式文件的写法，是否应为 rules'),
    ("field-key-misspelt", once('  unit = "个"', '  units = "个"'),
     '[[sheets.fields]] 第2个（key = "villages_total"） 中的 units 不是表式文件的写法，是否应为 unit'),
    ("form-key-unknown", once("[form]\n", "[form]\ntitel = 1\n"), "[form] 中的 titel 不是表式文件的写法"),
    ("coverage-misspelt", once("[[sheets.coverage]]", "[[sheets.coverages]]"), "中的 coverages 不是表式文件的写法"),
    # A choice outside its words.
    ("style-misspelt", once('style = "rectification"', 'style = "rectfication"'),
     'style = "rectfication" 不可用：只能写 share、coverage、rectification'),
    ("chart-kind-misspelt", once('kind = "rate_by_city"', 'kind = "rate_by_cty"'),
     '[[charts]] 第1个（key = "rectification_by_city"）的 kind = "rate_by_cty" 不可用'),
    ("key-kind-misspelt", once('kind = "key"', 'kind = "kye"'), 'kind = "kye" 不可用：只能写 key'),
    # A name of no field or rate: a KeyError in every return, or the run stopped.
    ("rule-names-no-field", once('not_above = "households_total"', 'not_above = "households_totl"'),
     '的 not_above 中的 "households_totl" 不是此处可用的字段或比率，是否应为 households_total'),
    ("chart-names-no-rate", once('rate = "problems_rate"', 'rate = "problem_rate"'),
     '[[charts]] 第1个（key = "rectification_by_city"）的 rate 中的 "problem_rate" 不是此处可用的字段或比率'),
    ("attention-names-no-field", once('base = ["households_total"]', 'base = ["household_total"]'),
     '[attention]的 base 中的 "household_total"'),
    ("rounds-names-no-field", once('count = ["precision_found"', 'count = ["precision_fnd"'), '[rounds]的 count 中的 "precision_fnd"'),
    ("series-names-no-field", once('["排查数", ["precision_found"', '["排查数", ["precision_fnd"'),
     '[[charts]] 第2个（key = "problems_by_category"）的 series 中的 "precision_fnd"'),
    # Kinds of value.
    ("label-a-number", once('label = "行政村总数"', "label = 123"), '（key = "villages_total"）的 label 须写成文字'),
    ("list-written-as-text", once('numerator = ["households_visited"]', 'numerator = "households_visited"'),
     "的 numerator 须写成文字的列表"),
    ("minimum-a-percent", once("minimum = ", 'minimum = "100%" #'), "的 minimum 须写成数字（不加引号）"),
    ("label-missing", once('label = "行政村总数"\n', ""), '（key = "villages_total"） 缺少 label'),
    # Keys twice, or the program's own.
    ("field-key-twice", once('key = "villages_visited"', 'key = "villages_total"'),
     '的 key = "villages_total" 已用于表“visits”的另一个字段'),
    ("field-key-reserved", once('key = "villages_visited"', 'key = "status"'), '的 key = "status" 是程序自用的列名'),
    ("sheet-key-twice", once('key = "problems"', 'key = "visits"'), '[[sheets]] 中 key = "visits" 写了两次'),
    # Wordings.
    ("wording-brace", lambda t: t.replace("[messages]\n", '[messages]\ndate-missing = "请在{place表头填写"\n', 1),
     "[messages] 中的 date-missing 的花括号不成对"),
    ("wording-of-no-rule", lambda t: t.replace("[messages]\n", '[messages]\ndate-mising = "x"\n', 1),
     "[messages] 中的 date-mising 不是任何规则的名称"),
]


@pytest.mark.parametrize("name, edit, said", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_a_mistake_in_the_form_is_one_chinese_sentence_naming_where(tmp_path, name, edit, said):
    shutil.copy(SCHEMAS / "units-gansu-2016.csv", tmp_path / "units-gansu-2016.csv")
    path = tmp_path / "form.toml"
    path.write_text(edit(FORM), encoding="utf-8")
    with pytest.raises(Fatal) as caught:
        load_form(path)
    message = str(caught.value)
    assert message.startswith(f"表式文件 {path} 有误：") and message.endswith("。")
    assert said in message
    assert not re.search(r"[A-Za-z]{3,} [a-z]{3,} [a-z]{3,}", message), message  # no English sentence


def test_the_projects_own_form_passes():
    assert load_form().key == "shuanglian-2016"
