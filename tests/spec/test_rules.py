"""Every rule a finding is raised under is declared once (pipeline/spec/rules.py, or the form's own
rules by their kind), with its severity and wording; a form rewords any of them; the README
lists them all."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from pipeline.errors import Fatal
from pipeline.model import Severity
from pipeline.paths import PACKAGE, ROOT
from pipeline.spec.form import load_form
from pipeline.spec.rules import BUILT_IN, KINDS

# A rule named where a finding is made: form.finding("x", …), self.finding("x", …), the
# validation's _finding(form, ret, "x", …), and the rule ids a check picks between.
_NAMED = re.compile(r"""(?:\.finding|_finding\(form, ret,)\(?\s*["']([a-z][a-z-]+)["']""")
_PICKED = re.compile(r"""["']([a-z]+(?:-[a-z]+)+)["'] if .+? else ["']([a-z]+(?:-[a-z]+)+)["']""")


def _named_in_code() -> set[str]:
    found = set()
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        found |= set(_NAMED.findall(text))
        for a, b in _PICKED.findall(text):
            found |= {a, b}
    return found


def test_every_rule_the_code_raises_is_declared(form):
    named = _named_in_code()
    assert len(named) > 30
    assert named <= set(form.rules), sorted(named - set(form.rules))


def test_every_declared_rule_is_raised_somewhere(form):
    """No wording left behind for a rule nothing raises (a rule the runner raises is named in
    its guard, and the form's declared rules are raised by their checks)."""
    code = "\n".join(p.read_text(encoding="utf-8") for p in PACKAGE.rglob("*.py"))
    for rule_id in BUILT_IN:
        assert f'"{rule_id}"' in code.replace(f'Rule("{rule_id}"', ""), rule_id


def test_severities_are_the_rules_own(form):
    assert form.rules["not-a-count"].severity == Severity.ERROR
    assert form.rules["date-missing"].severity == Severity.WARNING
    assert form.rules["skipped"].severity == Severity.INFO
    # the form's own rules take their kind's
    assert form.rules["visited-exceeds-total"].severity == Severity.ERROR
    assert form.rules["coverage-below-threshold"].severity == Severity.WARNING
    assert form.rules["below-previous"].severity == Severity.WARNING
    assert form.rules["jump-since-previous"].severity == Severity.INFO
    f = form.finding("not-a-count", file="a.xlsx", county="620102", sheet="表一", cell="D7", field="villages_total",
                     field_label="行政村总数", value="abc")
    assert (f.severity, f.rule, f.cell, f.county_code) == (Severity.ERROR, "not-a-count", "D7", "620102")
    assert "行政村总数" in f.message and "abc" in f.message and "表一" in f.message
    with pytest.raises(ValueError):
        form.finding("not-a-count", file="a.xlsx", severity=Severity.WARNING)
    # the one rule a step chooses the severity of: a fault costs the figures while they are read, not after
    assert form.finding("internal-error", file="a.xlsx", severity=Severity.WARNING, step="x", reference="1",
                        consequence="").severity == Severity.WARNING


def test_a_form_rewords_a_rule_by_its_id_or_its_kind(tmp_path):
    text = (ROOT / "schemas" / "shuanglian-2016.toml").read_text(encoding="utf-8")
    units = (ROOT / "schemas" / "units-gansu-2016.csv").read_bytes()
    (tmp_path / "units-gansu-2016.csv").write_bytes(units)
    reworded = text.replace("[messages]\n", '[messages]\ndate-missing = "请写上填报日期。"\n'
                                             'not-above = "{place}：{field_label}不能大于{bound_label}。"\n')
    (tmp_path / "form.toml").write_text(reworded, encoding="utf-8")
    form = load_form(tmp_path / "form.toml")
    assert form.finding("date-missing", file="a.xlsx").message == "请写上填报日期。"
    assert form.finding("visited-exceeds-total", file="a.xlsx", sheet="表一", cell="C5", field_label="走访行政村数",
                        bound_label="行政村总数").message == f"{form.location('表一', 'C5')}：走访行政村数不能大于行政村总数。"
    assert form.rules["date-missing"].severity == Severity.WARNING  # reworded, never re-graded


def test_a_message_for_no_rule_is_refused_in_chinese(tmp_path):
    text = (ROOT / "schemas" / "shuanglian-2016.toml").read_text(encoding="utf-8")
    (tmp_path / "units-gansu-2016.csv").write_bytes((ROOT / "schemas" / "units-gansu-2016.csv").read_bytes())
    (tmp_path / "form.toml").write_text(text.replace("[messages]\n", '[messages]\ndate-mising = "拼错了"\n'),
                                        encoding="utf-8")
    with pytest.raises(Fatal, match="表式文件.*date-mising"):
        load_form(tmp_path / "form.toml")


def test_a_rule_declared_twice_as_different_kinds_is_refused(form):
    from pipeline.spec.form import rules_of

    sheet = form.sheets[0]
    clash = replace(sheet, coverage=(replace(sheet.coverage[0], id=sheet.rules[0].id),))
    with pytest.raises(ValueError, match="声明了两次"):
        rules_of((clash,), {})


def test_the_readme_lists_every_rule():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    form = load_form()
    missing = [rule_id for rule_id in form.rules if f"`{rule_id}`" not in readme]
    assert missing == []
    assert set(KINDS) <= {m for m in re.findall(r"`([a-z-]+)`", readme)}
