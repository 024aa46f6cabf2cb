"""The compare stage on small hand-made rounds, and the Hidiroglou–Berthelot edit on a
hand-made distribution whose outliers are known."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.outputs.formbook import Layout
from pipeline.run.report import build_run
from pipeline.spec.wording import growth, point_change, points, points_text
from pipeline.stages.compare import hb_outliers
from pipeline.store.rounds import RoundPlan, load_snapshot, snapshot_path
from tests.builders import clean_rows, write_return

# Sixteen units grew by 5–15% around a median of 10%; then, by hand (U = 0.5, A = 0.05):
# E = s·max(x)^0.5 has quartiles −0.48, 0, 1.00, so E_M = 0 and the band is
# [−C·0.48, +C·1.00]. The large unit that tripled (E = 299) and the large one that halved
# (E = −114) are out at C = 20; the tiny one that tripled (4 → 12, E = 5.98) is not: a
# small unit's ratio says little. At C = 4 (band [−1.93, 4.0]) the tiny one is out too, and
# so is 2500 → 3250 (E = 10.4). A unit with nothing last round has no ratio and takes no part.
PREVIOUS = [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1100, 1200, 1300, 1400, 1500, 1600,
            10000, 4, 9000, 0, 2500]
CURRENT = [110, 210, 345, 440, 540, 672, 770, 840, 1035, 1100, 1188, 1344, 1430, 1484, 1710, 1760,
           30000, 12, 4500, 50, 3250]
BIG_TRIPLED, TINY_TRIPLED, BIG_HALVED, WAS_ZERO, GREW_30 = 16, 17, 18, 19, 20


def test_hb_names_the_outliers_of_a_hand_made_distribution():
    flagged = hb_outliers(CURRENT, PREVIOUS, u=0.5, a=0.05, c=20)
    assert set(flagged.nonzero()[0]) == {BIG_TRIPLED, BIG_HALVED}
    flagged = hb_outliers(CURRENT, PREVIOUS, u=0.5, a=0.05, c=4)
    assert set(flagged.nonzero()[0]) == {BIG_TRIPLED, TINY_TRIPLED, BIG_HALVED, GREW_30}
    assert not flagged[WAS_ZERO]


def test_hb_with_an_even_count_whose_median_score_is_not_zero():
    """Ten units, none at the median ratio (an even count: r_M = (1.09 + 1.10) / 2 = 1.095), so
    E_M is not 0 and the band is taken about it. By hand (U = 0.5, A = 0.05): E quartiles
    −0.169, −0.022, 0.399; at C = 20 the band is [−0.022 − 20·0.147, −0.022 + 20·0.421] =
    [−2.96, 8.40]: only 800 → 2400 (E = 85.2) is out. At C = 10, [−1.49, 4.19]: so is the
    large unit that grew 1% while the others grew 8–12% (1000 → 1010, E = −2.68)."""
    import numpy as np

    before = [100, 120, 150, 200, 250, 300, 400, 500, 800, 1000]
    now = [108, 132, 162, 224, 270, 336, 436, 560, 2400, 1010]
    r = np.array(now) / np.array(before)
    median = np.median(r)
    assert abs(median - 1.095) < 1e-12
    e = np.where(r < median, 1 - median / r, r / median - 1) * np.maximum(now, before) ** 0.5
    q1, em, q3 = np.percentile(e, [25, 50, 75])
    assert abs(em) > 0.02 and abs(q1 - -0.169) < 0.001 and abs(q3 - 0.399) < 0.001
    assert abs(e[8] - 85.23) < 0.01 and abs(e[9] - -2.675) < 0.001
    assert hb_outliers(now, before, u=0.5, a=0.05, c=20).nonzero()[0].tolist() == [8]
    assert hb_outliers(now, before, u=0.5, a=0.05, c=10).nonzero()[0].tolist() == [8, 9]


def test_hb_weighs_size_with_u():
    # U = 0: size counts for nothing, and the tiny unit's tripling is as far out as the big one's.
    flagged = hb_outliers(CURRENT, PREVIOUS, u=0.0, a=0.05, c=20)
    assert flagged[TINY_TRIPLED] and flagged[BIG_TRIPLED]


def test_hb_when_most_units_did_not_change_looks_only_at_those_that_did():
    # Eleven of fourteen unchanged: the three that changed are the distribution (as Kostra does),
    # and none of them is out of line with the other two.
    before = [100] * 11 + [100, 200, 300]
    now = [100] * 11 + [110, 220, 330]
    assert not hb_outliers(now, before).any()


def test_hb_with_too_few_changed_names_an_order_of_magnitude():
    """Eleven units unchanged and one typed a zero too many (or too few): no distribution of
    changes to be out of line with, but the unchanged say what is usual, and a tenfold change
    is out of line all the same (`few`); a change short of it, or `few` 0, says nothing."""
    before = [100] * 11 + [2941]
    assert hb_outliers([100] * 11 + [29410], before, few=10).nonzero()[0].tolist() == [11]
    assert hb_outliers([100] * 11 + [294], before, few=10).nonzero()[0].tolist() == [11]
    assert not hb_outliers([100] * 11 + [26000], before, few=10).any()
    assert not hb_outliers([100] * 11 + [29410], before, few=0).any()
    # two changed, both tenfold: each is named; a third changed makes a distribution again
    assert hb_outliers([1000, 1000, *[100] * 10], [100] * 12, few=10).nonzero()[0].tolist() == [0, 1]


@given(st.integers(0, 10**7), st.integers(1, 10**7), st.integers(0, 10**7), st.integers(1, 10**7))
def test_a_rate_changes_by_the_exact_difference_rounded_half_up(n1, d1, n0, d0):
    change = point_change(n1, d1, n0, d0)
    exact = Fraction(100 * n1, d1) - Fraction(100 * n0, d0)
    assert abs(Fraction(str(change)) - exact) <= Fraction(1, 200)
    assert point_change(n0, d0, n1, d1) == -change  # half up is away from zero either way
    if (exact * 100).denominator == 1:
        assert Fraction(str(change)) == exact


def test_how_changes_are_written():
    assert point_change(89, 100, 8665, 10000) == Decimal("2.35")
    assert points_text(point_change(89, 100, 8665, 10000)) == "提高2.35个百分点"
    assert points_text(point_change(1, 3, 2, 3)) == "降低33.33个百分点"
    assert points_text(point_change(1, 2, 2, 4)) == "持平"
    assert points(point_change(1, 8, 0, 1)) == "+12.50"  # 12.5 exactly
    assert points(point_change(1, 1, 0, 0)) == "—"
    assert point_change(9995, 10000, 99951, 100000) == 0 and points(point_change(9995, 10000, 99951, 100000)) == "0.00"
    assert growth(95, 120) == "-20.83%" and growth(150, 120) == "25.00%" and growth(5, 0) == "—"
    assert growth(1, 8) == "-87.50%"


# --- the stage on two small rounds -------------------------------------------------------------


def _round(form, units, settings, folder, returns, name, previous=None):
    folder.mkdir(parents=True)
    for code, rows, layout in returns:
        write_return(folder, form, units.by_code(code), rows, layout=layout)
    plan = RoundPlan(name, datetime(2016, 12, 1), "20161201-000000", previous)
    return build_run(folder, settings, form=form, units=units, round_plan=plan)


def _previous(tmp_path, run, name):
    path = tmp_path / snapshot_path(name, "20161201-000000")
    path.parent.mkdir(parents=True)
    path.write_bytes(run.files[snapshot_path(name, "20161201-000000")])
    return load_snapshot(path)


def _grown(rows, by=1):
    return [r | {k: v + by for k, v in r.items() if k != "township"} for r in rows]


@pytest.fixture(scope="module")
def small_rounds(tmp_path_factory, form, units, settings):
    tmp = tmp_path_factory.mktemp("small")
    codes = ["620102", "620103", "620104", "620105"]
    first = _round(form, units, settings, tmp / "in1",
                   [(c, clean_rows(), Layout(total="none") if c == "620103" else Layout()) for c in codes], "r1")
    previous = _previous(tmp, first, "r1")
    # 620102: its third township renamed and with fewer 脱贫致富典型: the county's figure fell,
    # and no township in both rounds explains it (→ the 合计 cell). 620103: the same, with no
    # 合计 row (→ no cell). 620104: one township's 宣传政策场次 fell (→ that cell, not the 合计).
    # 620105: unchanged, while three of four changed (→ same-as-previous).
    renamed = _grown(clean_rows())
    renamed[2] = renamed[2] | {"township": "石岭街道", "role_models": 0}
    fell = _grown(clean_rows())
    fell[1] = fell[1] | {"policy_sessions": 100}
    second = _round(form, units, settings, tmp / "in2",
                    [("620102", renamed, Layout()), ("620103", renamed, Layout(total="none")),
                     ("620104", fell, Layout()), ("620105", clean_rows(), Layout())], "r2", previous)
    return first, second


def test_a_fall_is_found_at_the_township_or_else_the_total(small_rounds, form):
    _, run = small_rounds
    below = {(f.county_code, f.sheet, f.cell, f.field) for f in run.findings if f.rule == "below-previous"}
    outcomes = form.sheet("outcomes")
    name = f"{outcomes.number}{outcomes.label}"
    ret = {r.ret.county_code: r.ret for r in run.results}
    sheet = ret["620102"].sheets["outcomes"]
    fell = ret["620104"].sheets["outcomes"]
    assert below == {
        ("620102", name, sheet.total_cell("role_models"), "role_models"),
        ("620103", name, "", "role_models"),
        ("620104", name, fell.cell("policy_sessions", 1), "policy_sessions"),
    }
    total = next(f for f in run.findings if f.rule == "below-previous" and f.county_code == "620102")
    before, now = sum(r["role_models"] for r in clean_rows()), sum(r["role_models"] for r in _grown(clean_rows())[:2])
    assert "合计的脱贫致富典型数" in total.message
    assert f"由上期的{before}人降为{now}人" in total.message


def test_a_resent_return_is_a_warning_only_when_most_others_changed(small_rounds, form):
    first, second = small_rounds
    # 620105's file is byte for byte last round's (built alike): said as the very same file, once
    assert [(f.county_code, f.rule) for f in second.findings if f.rule in ("same-as-previous", "same-file-as-previous")] == [
        ("620105", "same-file-as-previous")]
    assert second.comparison is not None and len(second.comparison.comparable) == 4
    assert not any(f.rule == "jump-since-previous" and f.county_code == "620105" for f in second.findings)
    assert all(u.status == "included" for u in second.roster.units if u.code in {"620102", "620103", "620104", "620105"})


def test_townships_that_came_and_went(small_rounds):
    _, run = small_rounds
    changes = sorted((f.county_code, f.rule, f.cell != "") for f in run.findings if f.rule in ("township-added", "township-dropped"))
    assert changes == [("620102", "township-added", True), ("620102", "township-dropped", False),
                       ("620103", "township-added", True), ("620103", "township-dropped", False)]
    assert all("石岭" in f.message for f in run.findings if f.rule in ("township-added", "township-dropped"))


def test_labels_and_punctuation_do_not_make_another_form(tmp_path, form):
    from pipeline.spec.form import SCHEMAS_DIR, load_form

    text = (SCHEMAS_DIR / "shuanglian-2016.toml").read_text(encoding="utf-8")
    units = (SCHEMAS_DIR / "units-gansu-2016.csv").read_text(encoding="utf-8")
    (tmp_path / "units-gansu-2016.csv").write_text(units, encoding="utf-8")
    relabelled = tmp_path / "relabelled.toml"
    relabelled.write_text(text.replace('label = "行政村总数"', 'label = "行政村总数（个）"')
                          .replace("（州）", "(州)"), encoding="utf-8")
    assert load_form(relabelled).identity == form.identity
    versioned = tmp_path / "versioned.toml"
    versioned.write_text(text.replace('version = "1"', 'version = "2"'), encoding="utf-8")
    assert load_form(versioned).identity != form.identity
    fewer = tmp_path / "fewer.toml"
    fewer.write_text(text.replace('key = "role_models"', 'key = "role_models_2017"'), encoding="utf-8")
    assert load_form(fewer).identity != form.identity


def test_a_snapshot_written_by_hand_with_plain_numbers_reads(tmp_path, form):
    import json

    doc = {
        "format": 1, "round": "2016-10", "made": "2016-10-31T09:00:00",
        "form": {"key": form.key, "version": form.version, "fields": list(form.field_keys)},
        "counties": {"620102": {"status": "included", "file": "a.xlsx", "sha256": ""},
                     "620103": {"status": "missing", "file": "", "sha256": ""}},
        "sheets": {s.key: {"counties": ["620102"], "sizes": [2], "townships": ["城关镇", "新庄乡"],
                           "values": {f.key: [1, 2] for f in s.count_fields}} for s in form.sheets},
        "totals": {"counties": ["620102"], "values": {k: [3] for k in form.field_keys}},
    }
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    previous = load_snapshot(path)
    assert previous.round == "2016-10" and previous.status == {"620102": "included", "620103": "missing"}
    assert previous.townships["visits"]["villages_total"].tolist() == [1, 2]
    assert previous.sums.loc["620102", "role_models"] == 3
    doc["format"] = 3  # newer than this program reads
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(Exception, match="更新版本"):
        load_snapshot(path)


def test_the_narrative_says_since_last_round_only_where_its_template_asks(small_rounds, form, settings, tmp_path,
                                                                         monkeypatch):
    from dataclasses import replace

    from pipeline.outputs import report as render
    from pipeline.outputs import templates

    first, second = small_rounds
    (tmp_path / "n.txt.j2").write_text("共排查出问题{{ sum_n('precision_found') }}件，{{ since('precision_found') }}。",
                                       encoding="utf-8")
    monkeypatch.setattr(templates, "TEMPLATES_DIR", tmp_path)
    asking = replace(form, narrative="n.txt.j2")
    change = sum(r["precision_found"] for r in _grown(clean_rows())) * 3 - sum(r["precision_found"] for r in clean_rows()) * 3
    now = int(second.totals.province["precision_found"])
    assert render.render_narrative(asking, second.totals, settings, comparison=second.comparison) == (
        f"共排查出问题{now}件，较上期增加{change}件。",)
    assert render.render_narrative(asking, second.totals, settings) == (f"共排查出问题{now}件，。",)


def test_a_fall_is_a_negative_number_in_totals_csv(small_rounds):
    import csv
    import io

    _, run = small_rounds
    rows = {r["code"]: r for r in csv.DictReader(io.StringIO(run.files["totals.csv"].decode("utf-8-sig")))}
    before = sum(r["role_models"] for r in clean_rows())
    now = sum(r["role_models"] for r in _grown(clean_rows())[:2])
    assert rows["620102"]["role_models_previous"] == str(before)
    assert rows["620102"]["role_models_change"] == str(now - before) and now < before  # -N, never '-N
    assert rows["620111"]["role_models_change"] == ""  # sent nothing in either round


def test_the_submission_page_judges_each_county_by_itself_as_the_report_does(small_rounds, form, units, tmp_path):
    """At upload a county is compared alone (intake.across_rounds → compare.county_findings):
    exactly the report's findings for it, but for the rules that weigh it against the others;
    and the same whether its return is compared alone or with the others'."""
    from pipeline.run.check import Checked, across_rounds
    from pipeline.stages.compare import ALONE

    first, second = small_rounds
    previous = _previous(tmp_path, first, "r1")
    among_all = {a.id for s in form.sheets for a in s.across if a.check not in ALONE} | {"same-as-previous"}
    # 620105 resent, byte for byte: same-file-as-previous judges it by itself, on the page as in the report
    assert any(f.rule == "same-file-as-previous" for f in second.comparison.findings)
    across = {f.rule for f in second.comparison.findings}
    report = {f for f in second.findings if f.rule in across - among_all}
    returns = [Checked(r.source, r, ()) for r in second.results]
    together = across_rounds(form, units, returns, previous)
    assert {f for found in together.values() for f in found} == report
    for c in returns:
        assert across_rounds(form, units, [c], previous).get(c.source.path, ()) == together[c.source.path]
