"""Small things staff saw: a unit that is its own city named twice, a report that praised
returns it never received, a clean run's page that never said so, an English warning."""

from __future__ import annotations

import re
import warnings

from pipeline.outputs.charts import Chart, chart_xml, svg, ticks
from pipeline.run.report import build_run
from tests.builders import write_return


def page_text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def test_a_unit_that_is_its_own_city_is_named_once(tmp_path, settings, form, units):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_return(inbox, form, units.by_code("620102"))
    run = build_run(inbox, settings)
    html = run.files["report.html"].decode("utf-8")
    assert "嘉峪关市嘉峪关市" not in html
    assert "、嘉峪关市、" in html  # still listed, between 兰州市… and 金昌市…
    assert "兰州市七里河区" in html  # the others keep their city


def test_with_no_return_the_report_claims_nothing_about_anyone(tmp_path, settings):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    run = build_run(inbox, settings)
    text = page_text(run.files["report.html"].decode("utf-8"))
    for claim in ("均已全部整改", "均已达标"):
        assert claim not in text, claim
    assert "尚无已汇总的单位" in text
    page = run.files["validation.html"].decode("utf-8")
    assert '<p class="verdict">尚未收到任何报表。</p>' in page and "全部通过" not in page


def test_a_clean_partial_run_says_what_passed_and_what_is_missing(tmp_path, settings, form, units):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_return(inbox, form, units.by_code("620102"))
    page = build_run(inbox, settings).files["validation.html"].decode("utf-8")
    assert '<p class="verdict">已收到的报表全部通过审核（1 个单位），没有发现错误或需核实的问题；尚有 86 个单位未报送。</p>' in page


def test_a_run_with_problems_has_no_verdict(tmp_path, settings, form, units):
    from tests.builders import clean_rows

    rows = clean_rows()
    rows[0]["villages_visited"] = rows[0]["villages_total"] + 1
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_return(inbox, form, units.by_code("620102"), rows=rows)
    page = build_run(inbox, settings).files["validation.html"].decode("utf-8")
    assert 'class="verdict"' not in page


def test_a_count_chart_says_its_unit_once():
    """On the value axis, unless the title (the caption) already ends with it."""
    values = (("排查数", (3.0, 5.0)),)
    plain = Chart("k", "各类问题排查情况", ("甲", "乙"), values, False, unit="件")
    titled = Chart("k", "各类问题排查情况（件）", ("甲", "乙"), values, False, unit="件")
    assert (plain.axis_unit, titled.axis_unit) == ("件", "")
    assert "（件）</text>" in svg(plain) and "（件）</text>" not in svg(titled)  # the axis label, not the aria-label
    assert "<a:t>件</a:t>" in chart_xml(plain, "rId1").decode() and "<a:t>件</a:t>" not in chart_xml(titled, "rId1").decode()
    assert Chart("k", "整改率（%）", ("甲",), (("率", (0.5,)),), True).axis_unit == "%"


def test_an_all_zero_chart_draws_without_a_warning():
    """A category nobody reported yet: an axis of 0 to 1, not 0 to 0."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for percent in (False, True):
            chart = Chart("k", "各类问题", ("甲", "乙"), (("排查数", (0.0, 0.0)), ("已整改", (0.0, 0.0))), percent)
            assert ticks(chart)[-1] >= 1 if not percent else ticks(chart)[-1] == 1.0
            assert svg(chart).startswith("<svg") and b'<c:max val="' in chart_xml(chart, "rId1")


def test_a_report_run_in_process_leaves_the_collector_as_it_was(tmp_path):
    """Only `python -m pipeline report`, which ends with the run, keeps the cyclic collector off
    afterwards; cli.main called in a longer-lived process (the tests, a notebook) does not."""
    import gc

    from pipeline import cli
    from tests.builders import EXAMPLE

    assert gc.isenabled()
    assert cli.main(["report", "--inbox", str(EXAMPLE), "--outbox", str(tmp_path / "out")]) == 0
    assert gc.isenabled()


def test_table_rows_escape_every_cell_and_give_each_column_its_class():
    import markupsafe

    from pipeline.outputs.templates import table_rows

    rows = [["620102", "城关区<b>", "兰州市&", 3], ["6\x1f2", "a", "b", ""]]
    assert str(table_rows(rows)) == ("<tr><td>620102</td><td>城关区&lt;b&gt;</td><td>兰州市&amp;</td><td>3</td></tr>\n"
                                     "<tr><td>6\x1f2</td><td>a</td><td>b</td><td></td></tr>\n")  # as written
    assert str(table_rows([[markupsafe.Markup("<b>已</b>"), "<i>", 7]])) == "<tr><td><b>已</b></td><td>&lt;i&gt;</td><td>7</td></tr>\n"
    assert str(table_rows(rows[:1], ("", "name", "name", ""))) == (
        '<tr><td>620102</td><td class="name">城关区&lt;b&gt;</td><td class="name">兰州市&amp;</td><td>3</td></tr>\n')
