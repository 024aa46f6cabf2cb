"""A city's (市州's) page, against the real server on a free local port: its own link, its
counties' status, findings and 上报说明, returns uploaded on a county's behalf (checked as that
county's) or as the city's workbook, the city's totals (rates from summed counts), and the
office's roster grouped by city. 嘉峪关市 is a city and a reporting unit under one code, 620200:
its two links never open each other's page, and their files never take each other's place."""

from __future__ import annotations

import csv
import html
import io
import re
from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.outputs.formbook import build_return, workbook_bytes
from pipeline.run.report import build_run
from pipeline.spec.scope import city
from pipeline.spec.wording import table_rate
from pipeline.store.uploads import CITY_MARK
from tests.builders import clean_rows, write_return
from tests.serving import multipart, page_showing, request, start_server, upload

ASCII_BESIDE_CHINESE = re.compile(r"[\u4e00-\u9fff][,;:()!?]|[,;:()!?][\u4e00-\u9fff]")


def workbook(form, unit, rows=None) -> bytes:
    return workbook_bytes(build_return(form, unit, rows if rows is not None else clean_rows()))


def inbox_files(inbox: Path) -> list[str]:
    return sorted(p.name for p in inbox.iterdir() if not p.name.startswith("."))


def send(url: str, filename: str, data: bytes, county: str = "", **kw):
    return upload(url, filename, data, fields={"county": county}, **kw)


def text_of(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def row_of(page: str, code: str) -> str:
    """A county's row of the city's table (or of the office's roster), as its cells' text."""
    m = re.search(rf'<tr data-code="{code}">(.*?)</tr>', page)
    assert m, code
    return " | ".join(text_of(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", m.group(1)))


def small_and_large(big: bool) -> list[dict]:
    """A county of few households all visited, or of many half visited: the average of their
    coverage rates is not the rate of their sums."""
    rows = clean_rows()
    for r in rows:
        if big:
            r["households_total"], r["households_visited"], r["households_visited_twice"] = 3000, 1500, 1400
        else:
            r["households_total"], r["households_visited"], r["households_visited_twice"] = 100, 100, 90
    return rows


@pytest.fixture
def served(tmp_path):
    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    inbox.mkdir()
    server = start_server(inbox, outbox, upload_interval_seconds=0)
    yield server, inbox
    server.stop()


def test_a_city_uploads_for_its_counties_and_reads_their_status_findings_notes_and_its_totals(served, form, units,
                                                                                            settings):
    server, inbox = served
    lanzhou = server.city_links()["620100"]
    first = request("GET", lanzhou).text
    assert "兰州市 报送情况" in first and "应报送 8 个" in first and "未报送 8 个" in first and "还没有已报送的" in first

    # On 安宁区's behalf, with a 上报说明: checked and stored as 安宁区's own upload would be.
    anning, qilihe, yuzhong = units.by_code("620105"), units.by_code("620103"), units.by_code("620123")
    data = workbook(form, anning, small_and_large(big=False))
    a = send(lanzhou, "安宁区.xlsx", data, anning.code, explanation="个别乡镇农户外出务工，已核实。")
    assert a.status == 200 and a.json["as"] == "county" and a.json["county"] == anning.code, a.body[:400]
    assert a.json["file"].startswith("620105_安宁区_") and (inbox / a.json["file"]).read_bytes() == data
    # 七里河区's return, left to its content to say whose it is.
    b = send(lanzhou, "报表.xlsx", workbook(form, qilihe, small_and_large(big=True)))
    assert b.status == 200 and b.json["county"] == qilihe.code and b.json["file"].startswith("620103_七里河区_")
    # 榆中县 emailed a return with an error: the office put it in the inbox by hand.
    bad = clean_rows()
    bad[0]["villages_visited"] = bad[0]["villages_total"] + 3
    write_return(inbox, form, yuzhong, bad, name="榆中县报表.xlsx")

    page = page_showing(lanzhou, "榆中县报表.xlsx")
    assert "已报送 2 个" in page and "已退回 1 个" in page and "未报送 5 个" in page
    assert row_of(page, anning.code).startswith("安宁区 | 已报送 | 兰州市代报")
    assert "个别乡镇农户外出务工，已核实。" in row_of(page, anning.code)
    assert row_of(page, yuzhong.code).startswith("榆中县 | 已退回 | 放入收件箱")
    assert row_of(page, "620102").startswith("城关区 | 未报送")
    rejected = re.search(r'<details class="county-findings" data-code="620123" open>(.*?)</details>', page, re.S)
    assert rejected and "表一" in text_of(rejected.group(1)) and "错误" in text_of(rejected.group(1))

    # The city's totals: the sums of its included counties, each rate from the summed counts.
    a_rows, b_rows = small_and_large(big=False), small_and_large(big=True)
    total = sum(r["households_total"] for r in a_rows + b_rows)
    visited = sum(r["households_visited"] for r in a_rows + b_rows)
    assert a.json["figures"]["visits"]["households_total"] + b.json["figures"]["visits"]["households_total"] == total
    totals = re.search(r'<section id="totals">(.*?)</section>', page, re.S).group(1)
    assert "已汇总 2 个" in text_of(totals) and f"{total:,}" in totals
    rate = re.search(r"<td>农户走访覆盖率</td><td class=\"num\">([^<]+)</td>", totals).group(1)
    assert rate == table_rate(visited, total)
    averaged = (sum(r["households_visited"] for r in a_rows) / sum(r["households_total"] for r in a_rows)
                + sum(r["households_visited"] for r in b_rows) / sum(r["households_total"] for r in b_rows)) / 2
    assert rate != f"{averaged * 100:.2f}%"
    # Every sum is the one `make report CITY=兰州市` makes of the same inbox.
    run = build_run(inbox, settings, scope=city(form, units, "兰州市"))
    top = next(csv.DictReader(io.StringIO(run.files["totals.csv"].decode("utf-8-sig"))))
    assert (top["code"], top["units_included"]) == ("620100", "2")
    shown = re.findall(r'<tr><td>([^<]+)</td><td class="num">([^<]+)</td><td>', totals)
    assert shown == [(f.full_label, f"{int(top[f.key]):,}") for spec in form.sheets for f in spec.count_fields]

    # One county's page, from the city's; and the county's own page says who sent its return.
    county_page = request("GET", lanzhou + "/" + anning.code).text
    assert "兰州市代报" in county_page and "个别乡镇农户外出务工，已核实。" in county_page
    assert "返回本市（州）报送情况" in county_page
    own = request("GET", server.links()[anning.code]).text
    assert "由兰州市代为报送" in own
    assert request("GET", lanzhou + "/621202").status == 404  # another city's county: not on this page

    # The office: every city with its counts, and the roster grouped by city.
    office = request("GET", server.status_url()).text
    line = text_of(re.search(r'<tr data-city="620100">(.*?)</tr>', office).group(1))
    assert re.fullmatch(r"兰州市\s*8\s*2\s*1\s*5\s*查看", line.strip()), line
    group = re.search(r'<tbody data-city="620100">(.*?)</tbody>', office, re.S).group(1)
    assert "已报送 2" in text_of(group) and "已退回 1" in text_of(group) and "未报送 5" in text_of(group)
    assert set(re.findall(r'<tr data-code="(\d+)">', group)) == {u.code for u in units.units if u.city_code == "620100"}
    assert "兰州市代报" in row_of(office, anning.code)
    as_office = request("GET", server.status_url() + "/city/620100").text
    assert "兰州市 报送情况" in as_office and 'id="upload-form"' not in as_office and "已报送 2 个" in as_office

    for text in (first, page, county_page, office, as_office):
        words = text_of(re.sub(r"<(script|style)[^>]*>.*?</\1>", "", text, flags=re.S))
        assert not ASCII_BESIDE_CHINESE.search(words), ASCII_BESIDE_CHINESE.search(words).group(0)


def test_a_return_the_city_does_not_govern_is_refused_in_chinese_and_stored_nowhere(served, form, units):
    server, inbox = served
    lanzhou = server.city_links()["620100"]
    wudu = units.by_code("621202")  # 陇南市
    data = workbook(form, wudu)
    for county in ("", "620102"):  # left to its content, or sent as 城关区's
        a = send(lanzhou, "武都区.xlsx", data, county)
        assert a.status == 422 and a.json["status"] == "refused", a.body[:300]
        assert "这是陇南市武都区的报表，武都区不是兰州市所辖的县（市、区），未予接收" in a.json["note"]
        assert any(f["rule"] == "other-unit" for f in a.json["findings"])
        assert not ASCII_BESIDE_CHINESE.search(a.json["note"])
    page = send(lanzhou, "武都区.xlsx", data, as_json=False)
    assert page.status == 422 and "这是陇南市武都区的报表" in page.text and "未予接收" in page.text
    # Another of the city's own counties, sent as 城关区's: choose again.
    wrong = send(lanzhou, "七里河区.xlsx", workbook(form, units.by_code("620103")), "620102")
    assert wrong.status == 422 and "不是所选的城关区的报表" in wrong.json["note"]
    # A county code that is not the city's, forged into the form.
    forged = send(lanzhou, "武都区.xlsx", data, wudu.code)
    assert forged.status == 400 and "不是兰州市所辖的县（市、区）" in forged.json["message"]
    # A POST from another site is refused before it is read, as on a county's page.
    body, content_type = multipart({"county": "620105"}, {"file": ("a.xlsx", workbook(form, units.by_code("620105")))})
    foreign = request("POST", lanzhou, body, {"Content-Type": content_type, "Origin": "https://evil.example"})
    assert foreign.status == 403 and "这次提交不是从本报送页发出的" in foreign.text
    # A return naming no unit, under a name that names none either: which county, the clerk must say.
    nobody = replace(units.by_code("620102"), code="629999", name="某某县")
    unknown = send(lanzhou, "报表.xlsx", workbook(form, nobody))
    assert unknown.status == 422 and "文件中没有读到本市（州）所辖的县（市、区）" in unknown.json["note"]
    assert inbox_files(inbox) == []


def test_the_citys_own_workbook_is_stored_under_its_name_and_its_counties_stand_by_it(served, form, units):
    server, inbox = served
    lanzhou = server.city_links()["620100"]
    chengguan = units.by_code("620102")
    data = workbook(form, chengguan)
    a = send(lanzhou, "兰州市汇总.xlsx", data, "city", explanation="城关区由市里汇总报送。")
    assert a.status == 200 and a.json["as"] == "city", a.body[:400]
    assert a.json["file"].startswith(f"620100_兰州市_{CITY_MARK}_") and list(a.json["counties"]) == [chengguan.code]
    assert (inbox / a.json["file"]).read_bytes() == data
    again = send(lanzhou, "兰州市汇总.xlsx", data, "city")
    assert again.status == 200 and again.json["unchanged"] and again.json["file"] == a.json["file"]
    assert inbox_files(inbox) == [a.json["file"]]
    page = request("GET", lanzhou).text
    assert row_of(page, chengguan.code).startswith("城关区 | 已报送 | 随兰州市工作簿报送")
    assert "城关区由市里汇总报送。" in row_of(page, chengguan.code)
    books = text_of(re.search(r'<section id="workbooks">(.*?)</section>', page, re.S).group(1))
    assert a.json["file"] in books and "城关区" in books
    # A workbook holding another city's county is refused, whole.
    other = send(lanzhou, "汇总.xlsx", workbook(form, units.by_code("621202")), "city")
    assert other.status == 422 and "武都区" in " ".join(f["message"] for f in other.json["findings"])
    assert inbox_files(inbox) == [a.json["file"]]


def test_a_workbook_of_several_counties_sent_as_the_file_says_goes_as_the_citys(served, form, units):
    """A sheet per county (表一（金川区）…): what the page's hint says goes as the city's workbook
    when 报送的是 is left at 按文件内容判断. It was refused: no county of the city read in it."""
    from tests.builders import city_workbook

    server, inbox = served
    jinchang = server.city_links()["620300"]
    data = city_workbook({u.name: workbook(form, u) for u in (units.by_code("620302"), units.by_code("620321"))})
    sent = send(jinchang, "金昌市汇总.xlsx", data)  # the default choice: as the file says
    assert sent.status == 200 and sent.json["as"] == "city", sent.body[:400]
    assert sorted(sent.json["counties"]) == ["620302", "620321"]
    assert (inbox / sent.json["file"]).read_bytes() == data


def test_a_workbook_refused_for_one_countys_errors_says_which_counties_were_fine(served, form, units):
    """永昌县's 表二 with 已整改 above 排查数: the whole workbook is refused (what the city sends is
    one file), and the clerk is told 金川区's part was fine, as `make report` would count it."""
    from tests.builders import city_workbook

    server, inbox = served
    jinchang = server.city_links()["620300"]
    rows = clean_rows()
    rows[0]["precision_fixed"] = rows[0]["precision_found"] + 1
    data = city_workbook({"金川区": workbook(form, units.by_code("620302")),
                          "永昌县": workbook(form, units.by_code("620321"), rows)})
    sent = send(jinchang, "金昌市汇总.xlsx", data, "city")
    assert sent.status == 422 and inbox_files(inbox) == []
    assert sent.json["note"].startswith("金川区的部分没有错误，因永昌县的报表有错误，整个工作簿未予接收")


def test_a_file_not_read_at_all_is_told_why_once(served, form, units):
    """A zip on the city's page: its finding says to unzip it, and the note beside it said to
    choose the county in 报送的是, two things at once."""
    import io
    import zipfile

    server, _ = served
    jinchang = server.city_links()["620300"]
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as z:
        z.writestr("金川区.xlsx", workbook(form, units.by_code("620302")))
    sent = send(jinchang, "两个县.zip", packed.getvalue())
    assert sent.status == 422 and "note" not in sent.json, sent.json
    assert any("压缩包" in f["message"] for f in sent.json["findings"])


def test_jiayuguan_the_city_and_jiayuguan_the_unit_keep_apart(served, form, units):
    """One code, 620200, two links, two kinds of file: neither opens nor replaces the other."""
    server, inbox = served
    unit_link, city_link = server.links()["620200"], server.city_links()["620200"]
    unit_token, city_token = unit_link.rsplit("/", 1)[1], city_link.rsplit("/", 1)[1]
    assert unit_token != city_token
    base = unit_link.rsplit("/u/", 1)[0]
    assert request("GET", f"{base}/city/{unit_token}").status == 404
    assert request("GET", f"{base}/u/{city_token}").status == 404
    assert request("GET", f"{base}/status/{city_token}").status == 404
    assert "嘉峪关市 报送情况" in request("GET", city_link).text
    jiayuguan = units.by_code("620200")
    rows = clean_rows()
    as_city = send(city_link, "市里的.xlsx", workbook(form, jiayuguan, rows), "city")
    assert as_city.status == 200 and CITY_MARK in as_city.json["file"]
    rows[0]["role_models"] += 1  # the unit's own, another return
    as_unit = upload(unit_link, "自己的.xlsx", workbook(form, jiayuguan, rows))
    assert as_unit.status == 200 and CITY_MARK not in as_unit.json["file"]
    # Both stay in the inbox: the unit's upload never moves the city's workbook away, nor the reverse.
    assert inbox_files(inbox) == sorted([as_city.json["file"], as_unit.json["file"]])
    rows[0]["role_models"] += 1
    again = send(city_link, "市里的.xlsx", workbook(form, jiayuguan, rows), "city")
    assert again.status == 200 and as_unit.json["file"] in inbox_files(inbox)
    assert as_city.json["file"] not in inbox_files(inbox)  # the city's earlier workbook, kept in .versions/
    assert (inbox / ".versions" / "city-620200" / as_city.json["file"]).is_file()
    assert not (inbox / ".versions" / "620200").exists() or not list((inbox / ".versions" / "620200").iterdir())
    office = page_showing(server.status_url(), again.json["file"])
    assert row_of(office, "620200").startswith("嘉峪关市")


def test_who_sent_a_countys_return_is_still_said_after_a_restart(tmp_path, form, units):
    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    inbox.mkdir()
    server = start_server(inbox, outbox, upload_interval_seconds=0)
    try:
        sent = send(server.city_links()["620100"], "安宁区.xlsx", workbook(form, units.by_code("620105")), "620105")
        assert sent.status == 200
    finally:
        server.stop()
    server = start_server(inbox, outbox, upload_interval_seconds=0)
    try:
        assert row_of(request("GET", server.city_links()["620100"]).text, "620105").startswith("安宁区 | 已报送 | 兰州市代报")
        assert "由兰州市代为报送" in request("GET", server.links()["620105"]).text
    finally:
        server.stop()
