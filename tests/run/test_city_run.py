"""The same tool at the city level: `make report CITY=兰州市` makes the city's own report from its
counties' returns, the city named where the province's report says 全省 and its counties shown
where the province's shows cities, into outbox/city-<code>/; its rounds are its own."""

from __future__ import annotations

import csv
import io
import shutil
from datetime import datetime

import pytest

from pipeline import cli
from pipeline.errors import Fatal
from pipeline.run.report import build_run
from pipeline.spec.labels import cn_quotes
from pipeline.spec.scope import city
from pipeline.store.rounds import RoundPlan, load_snapshot, snapshot_path
from tests.builders import EXAMPLE
from tests.outputs.test_report import docx_text_of


def _totals(run) -> list[dict]:
    return list(csv.DictReader(io.StringIO(run.files["totals.csv"].decode("utf-8-sig"))))


@pytest.fixture(scope="module")
def province_run(settings):
    return build_run(EXAMPLE, settings)


@pytest.fixture(scope="module")
def lanzhou_run(settings, form, units):
    return build_run(EXAMPLE, settings, scope=city(form, units, "兰州市"))


def test_a_citys_run_is_its_counties_and_adds_up_to_its_row_in_the_provinces(province_run, lanzhou_run, form):
    assert [u.code for u in lanzhou_run.roster.units] == [u.code for u in province_run.roster.units
                                                         if u.city_code == "620100"]
    top = _totals(lanzhou_run)[0]
    row = next(r for r in _totals(province_run) if r["level"] == "city" and r["code"] == "620100")
    assert (top["code"], top["name"]) == ("620100", "兰州市")
    for key in form.field_keys:
        assert top[key] == row[key], key
    counties = {r["code"]: r for r in _totals(province_run) if r["level"] == "county"}
    for r in _totals(lanzhou_run)[1:]:
        assert {k: r[k] for k in form.field_keys} == {k: counties[r["code"]][k] for k in form.field_keys}


def test_the_citys_report_names_the_city_where_the_provinces_says_全省(lanzhou_run):
    html = lanzhou_run.files["report.html"].decode("utf-8")
    assert "兰州市" in lanzhou_run.report.narrative[0]
    assert "全省" not in "".join(lanzhou_run.report.narrative)
    assert "城关区" in html and "酒泉市" not in html
    assert lanzhou_run.form.office_short == "兰州市双联办"


def test_a_return_from_another_city_is_known_and_left_out(tmp_path, settings, form, units):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ("620102_城关区.xlsx", "620921_金塔县.xlsx"):
        shutil.copy(EXAMPLE / name, inbox / name)
    run = build_run(inbox, settings, scope=city(form, units, "620100"))
    [outside] = [f for f in run.findings if f.rule == "outside-scope"]
    assert (outside.severity.value, outside.file, outside.county_code) == ("info", "620921_金塔县.xlsx", "620921")
    assert "金塔县不在兰州市的汇总范围内" in outside.message
    assert [r.source.path for r in run.roster.outside] == ["620921_金塔县.xlsx"]
    assert {u.code: u.status for u in run.roster.units}["620102"] == "included"
    manifest = run.files["manifest.csv"].decode("utf-8-sig")
    assert "620921_金塔县.xlsx" in manifest and "不在本次汇总范围内" in manifest


def test_what_is_wrong_in_another_citys_return_is_not_the_citys(tmp_path, settings, form, units):
    """A province's inbox run for one city: another city's rejected return was counted among the
    city's errors and listed in its validation.html (a reviewer's find). Only its being outside
    is said."""
    from openpyxl import load_workbook

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(EXAMPLE / "620102_城关区.xlsx", inbox / "620102_城关区.xlsx")
    wb = load_workbook(EXAMPLE / "620921_金塔县.xlsx")
    wb.worksheets[0]["C5"] = 99999  # 走访行政村数 above 行政村总数, and off its 合计
    wb.save(inbox / "620921_金塔县.xlsx")
    province = build_run(inbox, settings)
    assert any(f.county_code == "620921" and f.severity.value == "error" for f in province.findings)
    run = build_run(inbox, settings, scope=city(form, units, "620100"))
    assert [(f.rule, f.county_code) for f in run.findings if f.county_code == "620921"] == [("outside-scope", "620921")]
    page = run.files["validation.html"].decode("utf-8")
    assert "错误 0 条" in page and "金塔县不在兰州市的汇总范围内" in page


@pytest.mark.parametrize("asked, code", [("兰州市", "620100"), ("兰州", "620100"), ("620100", "620100"),
                                         ("临夏州", "622900"), ("临夏回族自治州", "622900"), ("嘉峪关市", "620200")])
def test_a_city_is_named_by_its_name_short_name_or_code(form, units, asked, code):
    assert city(form, units, asked).code == code


def test_an_unknown_city_is_one_chinese_line(tmp_path, capsys, monkeypatch):
    assert cli.main(["report", "--inbox", str(EXAMPLE), "--city", "北京市", "--outbox", str(tmp_path / "o")]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("错误：没有名为“北京市”的市（州）") and "兰州市" in line


def test_its_outputs_go_to_the_outboxs_city_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli, "DEFAULT_OUTBOX", tmp_path / "outbox")
    assert cli.main(["report", "--inbox", str(EXAMPLE), "--city", "兰州市"]) == 0
    assert (tmp_path / "outbox" / "city-620100" / "report.docx").is_file()
    assert not (tmp_path / "outbox" / "report.docx").exists()
    assert f"输出已写入 {tmp_path / 'outbox' / 'city-620100'}" in capsys.readouterr().out


def test_a_provinces_round_is_never_compared_with_a_citys(tmp_path, settings, form, units):
    made = datetime(2016, 11, 30)
    province = build_run(EXAMPLE, settings, round_plan=RoundPlan("2016-11", made, "20161130-000000"))
    path = tmp_path / snapshot_path("2016-11", "20161130-000000")
    path.parent.mkdir(parents=True)
    path.write_bytes(province.files[snapshot_path("2016-11", "20161130-000000")])
    earlier = load_snapshot(path)
    assert earlier.scope == {"level": "province", "code": "620000", "name": "全省"}
    lanzhou = build_run(EXAMPLE, settings, scope=city(form, units, "兰州市"),
                        round_plan=RoundPlan("2016-12", datetime(2016, 12, 30), "20161230-000000", earlier))
    assert lanzhou.comparison is None and "全省的汇总" in lanzhou.round_note and "兰州市的汇总" in lanzhou.round_note
    snapshot = lanzhou.files[snapshot_path("2016-12", "20161230-000000")].decode("utf-8")
    assert '"scope":{"level":"city","code":"620100","name":"兰州市"}' in snapshot
    # and a city's round compared with the same city's
    path2 = tmp_path / snapshot_path("2016-12", "20161230-000000")
    path2.parent.mkdir(parents=True)
    path2.write_bytes(snapshot.encode("utf-8"))
    again = build_run(EXAMPLE, settings, scope=city(form, units, "620100"),
                      round_plan=RoundPlan("2017-01", datetime(2017, 1, 30), "20170130-000000", load_snapshot(path2)))
    assert again.comparison is not None and len(again.comparison.comparable) == 8


def test_fatal_for_an_empty_city_name(form, units):
    with pytest.raises(Fatal, match="CITY="):
        city(form, units, " ")


def test_a_citys_templates_are_its_counties(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli, "DEFAULT_OUTBOX", tmp_path / "outbox")
    assert cli.main(["templates", "--city", "兰州市"]) == 0
    made = sorted(p.name for p in (tmp_path / "outbox" / "city-620100" / "templates").iterdir())
    assert len(made) == 8 and all(name.startswith("6201") for name in made)


def test_the_citys_title_office_and_dates_are_its_own(lanzhou_run, settings):
    """Where [cities."620100"] is silent: the province's title and office worded for the city,
    and the 截至 of the city's own returns, never the province's fixed date."""
    report = lanzhou_run.report
    assert report.title == cn_quotes(settings.title.replace("全省", "兰州市")) and "全省" not in report.title
    assert report.office == "中共兰州市委双联行动领导小组办公室"
    latest = max(u.filed_on for u in lanzhou_run.roster.with_status("included"))
    assert report.date == f"{latest.year}年{latest.month}月{latest.day}日"
    html = lanzhou_run.files["report.html"].decode("utf-8")
    assert "中共兰州市委双联行动领导小组办公室" in html and "中共甘肃省委" not in html


def test_the_citys_own_settings_come_first(tmp_path, settings, form, units):
    from dataclasses import replace

    from pipeline.spec.config import CityReport

    own = CityReport(title="兰州市“大走访、回头看”情况通报", office="兰州市双联办", cutoff="2016年12月6日", date="2016年12月9日")
    said = replace(settings, cities=(("620100", own),))
    run = build_run(EXAMPLE, said, scope=city(form, units, "兰州"))
    assert (run.report.title, run.report.office, run.report.date) == (own.title, own.office, own.date)
    assert run.report.status_line.startswith("截至2016年12月6日，")
    # Another city's run keeps its own defaults: a city's settings are that city's.
    other = build_run(EXAMPLE, said, scope=city(form, units, "临夏州"))
    assert other.report.office == "中共临夏州委双联行动领导小组办公室"
    assert other.report.title == cn_quotes(settings.title.replace("全省", "临夏回族自治州"))


def test_a_citys_outputs_list_each_county_once(lanzhou_run):
    """The city's counties stand where the province's cities stand: the middle level is the
    counties themselves, which totals.csv and the annexes do not list a second time."""
    rows = _totals(lanzhou_run)
    assert [r["level"] for r in rows] == ["city"] + ["county"] * 8
    assert rows[0]["code"] == "620100"
    assert len({r["code"] for r in rows[1:]}) == 8
    assert [a["title"] for a in lanzhou_run.report.annexes] == ["各县（市、区）汇总表"]


def test_the_citys_report_speaks_of_its_counties_and_its_own_annex(lanzhou_run, form):
    """A city's report shows its counties where the province's shows cities: its charts and their
    sentence say 各县（市、区）, its 数据说明 points to its one annex, and its roster.csv and
    催报名单 name the city, not each county over again."""
    html = lanzhou_run.files["report.html"].decode("utf-8")
    text = "".join(lanzhou_run.report.narrative)
    assert f"各{form.city_noun}" not in html and f"各{form.city_noun}" not in text
    assert "各县（市、区）问题整改率" in html
    notes = "".join(lanzhou_run.report.notes["lines"])
    assert "见附件1" in notes and "附件2" not in notes
    roster = list(csv.DictReader(io.StringIO(lanzhou_run.files["roster.csv"].decode("utf-8-sig"))))
    assert {r["city"] for r in roster} == {"兰州市"}
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(lanzhou_run.files["consolidated.xlsx"]))["报送情况"]
    assert {row[2] for row in sheet.iter_rows(min_row=2, values_only=True)} == {"兰州市"}  # it said 城关区, 七里河区…


def test_the_citys_report_says_why_a_county_is_not_in_its_sums(tmp_path, settings, form, units):
    """A county stands for itself in its city's report: it said 七里河区（0/1）, where the
    province's annex says 七里河区（未报送）. It now says why, and 数据说明 says what the brackets mean."""
    inbox = tmp_path / "inbox"
    shutil.copytree(EXAMPLE, inbox)
    next(inbox.glob("620103_*")).unlink()
    next(inbox.glob("620104_*")).write_bytes(b"PK\x03\x04 damaged")
    run = build_run(inbox, settings, scope=city(form, units, "兰州市"))
    html = run.files["report.html"].decode("utf-8")
    assert "七里河区（未报送）" in html and "西固区（已退回）" in html and "（0/1）" not in html
    text = docx_text_of(run.files["report.docx"])
    assert "七里河区（未报送）" in text and "西固区（已退回）" in text and "（0/1）" not in text
    assert ("兰州市名称后括号内为已汇总数与应报数，如“兰州市（6/8）”；"
            "县（市、区）名称后括号内为其未纳入汇总的原因（已退回或未报送）。") in run.report.notes["lines"]


def test_a_city_with_nothing_summed_writes_no_figures_of_zero(tmp_path, settings, form, units):
    """Both of 金昌市's returns missing: the narrative said 0个联村单位全面动员 and 占…的— , as if
    the city had reported zeros."""
    inbox = tmp_path / "inbox"
    shutil.copytree(EXAMPLE, inbox)
    for code in ("620302", "620321"):
        next(inbox.glob(f"{code}_*")).unlink()
    run = build_run(inbox, settings, scope=city(form, units, "金昌市"))
    assert run.report.status_line.endswith("未报送2个；尚无可汇总的数据。")
    assert run.report.narrative == ("尚无已汇总的县（市、区）报表，暂无汇总数据；报送情况见下文。",)
    notes = "".join(run.report.notes["lines"])
    assert notes.startswith("尚无已汇总的县（市、区）；未报送2个") and "见附件" not in notes
    text = run.files["report.html"].decode("utf-8")
    assert "0个联村单位" not in text and "0.0万" not in text


# --- a city's own consolidated workbook, edited by hand before it is sent up (a reviewer's finds) ---


def _sent_up(lanzhou_run, form, units, edit):
    from openpyxl import load_workbook

    from pipeline.model import Source
    from pipeline.stages.read.sources import read_source

    wb = load_workbook(io.BytesIO(lanzhou_run.files["consolidated.xlsx"]))
    edit(wb)
    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    result = read_source(Source("兰州市.xlsx", len(data), "", 0.0, "xlsx"), data, form, units)
    return result, [f for p in (result, *result.parts) for f in p.findings]


def test_a_countys_figure_typed_over_its_sum_is_an_error_at_that_cell(lanzhou_run, form, units):
    """The workbook showed 城关区 18000 走访农户数; the province summed its 明细 rows, 18468, with no word."""
    def typed(wb):
        ws = wb["县（市、区）"]
        col = next(c.column_letter for c in ws[1] if c.value == form.field("households_visited").full_label)
        ws[f"{col}2"] = 18000

    result, found = _sent_up(lanzhou_run, form, units, typed)
    [f] = [f for f in found if f.rule == "city-figure-differs"]
    assert (f.county_code, f.sheet, f.severity.value) == ("620102", "县（市、区）", "error")
    assert f.message.startswith("工作表“县（市、区）”第2行") and "为18000，而乡镇明细中本单位各乡镇之和为18468" in f.message
    assert not [g for g in found if g.rule == "city-figure-differs" and g.county_code != "620102"]


def test_detail_rows_no_county_block_takes_are_said(lanzhou_run, form, units):
    """榆中县's row deleted from 报送情况, and a township row added with its 县代码 left blank: both
    sets of figures were left out with no word."""
    def edited(wb):
        roster = wb["报送情况"]
        roster.delete_rows(next(r for r in range(2, roster.max_row + 1) if str(roster.cell(r, 1).value) == "620123"))
        detail = next(ws for ws in wb.worksheets if ws.title.startswith("乡镇明细-走访"))
        last = [c.value for c in detail[detail.max_row]]
        detail.append([None, *last[1:]])

    result, found = _sent_up(lanzhou_run, form, units, edited)
    unread = {(f.county_code, f.sheet.split("-")[1]) for f in found if f.rule == "city-detail-unread"}
    assert {("620123", "走访情况"), ("620123", "问题排查整改"), ("620123", "帮扶成效"), ("", "走访情况")} == unread
    assert "620123" not in {p.ret.county_code for p in result.parts if p.ret}
    blank = next(f for f in found if f.rule == "city-detail-unread" and not f.county_code)
    assert "起有1行乡镇明细没有县代码，这些行的数字没有汇总" in blank.message
