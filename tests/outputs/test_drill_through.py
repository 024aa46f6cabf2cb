"""From any figure to the cells behind it (issue 28): report.html opens every figure in place,
province → cities → counties → townships with their file, sheet and cells (a rate with its
numerator and denominator at every level), one offline file at 1280 and 390 px; a finding in
validation.html opens its township's row; consolidated.xlsx's totals are formulas over the
rows beneath them, each recomputed by LibreOffice to the value cached; past the settings'
number of units the breakdown stops at the counties and points to 明细."""

from __future__ import annotations

import dataclasses
import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook

from pipeline import cli
from pipeline.run.report import build_run
from tests.builders import EXAMPLE

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def outboxes(tmp_path_factory):
    """The example's outputs, and a partial run's: 城关区 missing, 七里河区's 表二 E6 made wrong."""
    base = tmp_path_factory.mktemp("drill")
    full = base / "full"
    assert cli.main(["report", "--inbox", str(EXAMPLE), "--outbox", str(full)]) == 0
    inbox = base / "inbox"
    shutil.copytree(EXAMPLE, inbox)
    (inbox / "620102_城关区.xlsx").unlink()
    wb = load_workbook(inbox / "620103_七里河区.xlsx")
    ws = wb.worksheets[1]
    ws["E6"] = ws["D6"].value + 5  # 已整改 above 排查数
    wb.save(inbox / "620103_七里河区.xlsx")
    partial = base / "partial"
    assert cli.main(["report", "--inbox", str(inbox), "--outbox", str(partial)]) == 0
    return full, partial


def figure(text: str) -> int:
    return int(re.search(r"(\d+)件", text).group(1))


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM:
        assert not os.environ.get("CI"), "CI must have chromium"
        pytest.skip("Debian's chromium is not installed here")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


def open_page(browser, path: Path, width: int):
    context = browser.new_context(offline=True, viewport={"width": width, "height": 900})
    page = context.new_page()
    requests, errors = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(path.as_uri())
    return page, requests, errors


@pytest.mark.parametrize("width", [1280, 390])
def test_122006_opens_to_the_cities_the_counties_the_townships_and_their_cells(outboxes, browser, width):
    full, _ = outboxes
    page, requests, errors = open_page(browser, full / "report.html", width)
    page.locator("p.narrative a.fig", has_text="122006").click()
    box = page.locator("div.drill")
    top = box.locator("li.unit").first
    assert top.locator(":scope > .v").inner_text() == "122006件"
    cities = box.locator(":scope > ul > li > ul > li.unit")  # the province's lines
    assert cities.count() == 14
    # 嘉峪关市 is its own county: it opens straight to its townships, never to itself again
    assert cities.evaluate_all("ls => ls.filter(l => l.dataset.u.startsWith('k:')).map(l => l.querySelector('.name').textContent)") == ["嘉峪关市"]
    assert sum(figure(cities.nth(i).locator(":scope > .v").inner_text()) for i in range(14)) == 122006
    lanzhou = box.locator('li[data-u="c:0"]')
    assert lanzhou.locator(":scope > .name").inner_text() == "兰州市"
    lanzhou.locator(":scope > button.drill-open").click()
    counties = lanzhou.locator('li.unit[data-u^="k:"]')
    assert counties.count() == 8
    assert sum(figure(counties.nth(i).locator(":scope > .v").inner_text()) for i in range(8)) == \
        figure(lanzhou.locator(":scope > .v").inner_text())
    chengguan = lanzhou.locator('li[data-u="k:0"]')
    assert chengguan.locator(":scope > .name").inner_text().startswith("城关区")
    chengguan.locator(":scope > button.drill-open").click()
    towns = chengguan.locator("li.town")
    sheet = load_workbook(EXAMPLE / "620102_城关区.xlsx", data_only=True)["表二问题排查整改"]
    assert towns.count() == sum(1 for r in range(5, sheet.max_row + 1) if str(sheet.cell(r, 1).value or "").endswith(("街道", "镇", "乡")))
    total = 0
    for i in range(towns.count()):
        town = towns.nth(i)
        value, source = town.locator(".v").inner_text(), town.locator(".src").inner_text()
        # 620102_城关区.xlsx　表二问题排查整改　第5行 B列＋D列＋F列: the cells, read back from the county's own file
        m = re.fullmatch(r"620102_城关区\.xlsx　表二问题排查整改　第(\d+)行 ([A-Z]+)列＋([A-Z]+)列＋([A-Z]+)列", source)
        assert m, source
        row, cells = int(m.group(1)), [f"{m.group(k)}{m.group(1)}" for k in (2, 3, 4)]
        assert sheet.cell(row, 1).value == town.locator(".name").inner_text()
        parts = [sheet[c].value for c in cells]
        assert value == f"{sum(parts)}件（{'＋'.join(map(str, parts))}）"
        total += sum(parts)
    assert total == figure(chengguan.locator(":scope > .v").inner_text())
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    panel = box.bounding_box()
    assert panel["x"] >= 0 and panel["x"] + panel["width"] <= width
    assert errors == [] and all(u.startswith("file://") for u in requests)  # one file, nothing from the network
    page.context.close()


def test_a_citys_report_opens_from_the_city_to_its_counties_and_their_townships(settings, form, units, tmp_path, browser):
    """In a city's run each county is its own group: the city opens to its counties, and a
    county straight to its townships, never to itself again."""
    from pipeline.spec.scope import city

    run = build_run(EXAMPLE, settings, scope=city(form, units, "兰州市"))
    (tmp_path / "report.html").write_bytes(run.files["report.html"])
    page, _, errors = open_page(browser, tmp_path / "report.html", 390)
    figure_link = page.locator('p.narrative a.fig[data-d^="f:"]').first
    figure_link.click()
    box = page.locator("div.drill")
    top = box.locator("li.unit").first
    assert top.locator(":scope > .name").inner_text() == "兰州市"
    lines = box.locator(":scope > ul > li > ul > li.unit")
    assert lines.count() == 8 and all(u.startswith("k:") for u in lines.evaluate_all("ls => ls.map(l => l.dataset.u)"))
    assert box.locator("li.unit").count() == 9  # the city and its counties: no county under itself
    lines.first.locator(":scope > button.drill-open").click()
    towns = lines.first.locator(":scope > ul > li.town")
    assert towns.count() > 5 and "620102_城关区.xlsx" in towns.first.locator(".src").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert errors == []
    page.context.close()


def test_a_rate_shows_its_numerator_and_denominator_at_every_level(outboxes, browser):
    full, _ = outboxes
    page, _, errors = open_page(browser, full / "report.html", 1280)
    table = page.locator("table.drillable").nth(1)  # 表2 各市（州）问题排查整改
    row = table.locator("tbody tr").nth(1)
    assert row.locator("td").first.inner_text() == "兰州市"
    row.locator("td").last.click()  # 总体整改率
    box = page.locator("div.drill")
    assert "总体整改率" in box.locator(".drill-head").inner_text()
    box.locator('li[data-u="k:0"] > button.drill-open').click()
    lines = [t for t in box.locator("li .v").all_inner_texts()]
    assert len(lines) == 1 + 8 + 24
    for text in lines:
        n, d = (int(x) for x in re.search(r"（(\d+)÷(\d+)）", text).groups())
        h = min((n * 20000 + d) // (2 * d), 9999 if n < d else 10**9)
        assert text.startswith(f"{h // 100}.{h % 100:02d}%")
    assert lines[0] == "87.62%（7032÷8026）" and row.locator("td").last.inner_text() == "87.62%"
    assert errors == []
    page.context.close()


def _first_finding_opened(browser, validation: Path):
    """validation.html at 390 px, its first finding's link followed to report.html: the page once
    its township's row is marked, and the page's errors. 七里河区's 表二 E6 is the finding."""
    page, _, errors = open_page(browser, validation, 390)
    link = page.locator('td[data-label="位置"] a').first
    assert link.get_attribute("href").startswith("report.html#cell=620103:")
    link.click()
    page.wait_for_selector("li.town.hit")
    hit = page.locator("li.town.hit")
    assert hit.count() == 1 and "第6行 E列" in hit.inner_text() and "已退回" in hit.inner_text()
    return page, errors


def test_a_finding_opens_its_township_row_and_a_rejected_countys_rows_are_marked(outboxes, browser):
    _, partial = outboxes
    page, errors = _first_finding_opened(browser, partial / "validation.html")
    assert page.locator("div.drill .drill-head").inner_text().startswith("七里河区（兰州市）（已退回，未计入合计）")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert errors == []
    page.context.close()


def test_in_a_citys_own_report_a_finding_opens_its_township_row_too(outboxes, browser, tmp_path):
    """A city's report lists its counties in its one table set (no table of counties apart): the
    link from its validation.html opened nothing."""
    _, partial = outboxes
    inbox = tmp_path / "inbox"
    shutil.copytree(EXAMPLE, inbox)
    (inbox / "620102_城关区.xlsx").unlink()
    shutil.copy(partial.parent / "inbox" / "620103_七里河区.xlsx", inbox / "620103_七里河区.xlsx")
    out = tmp_path / "out"
    assert cli.main(["report", "--inbox", str(inbox), "--outbox", str(out), "--city", "兰州市"]) == 0
    page, errors = _first_finding_opened(browser, out / "validation.html")
    assert page.locator("div.drill .drill-head").inner_text().startswith("七里河区")
    assert errors == []
    page.context.close()


def test_past_the_unit_limit_the_breakdown_stops_at_the_counties_and_points_to_the_detail(settings, tmp_path, browser):
    run = build_run(EXAMPLE, dataclasses.replace(settings, breakdown_township_limit=10))
    data = run.report.breakdown
    assert data["towns"] is None
    title, spans = data["detail"][0]
    assert title == "乡镇明细-走访情况"
    first, last = spans["0"]  # 城关区's rows in that sheet
    sheet = load_workbook(io.BytesIO(run.files["consolidated.xlsx"]), read_only=True)[title]
    codes = [row[0] for row in sheet.iter_rows(min_row=1, max_row=last + 1, values_only=True)]
    assert set(codes[first - 1:last]) == {"620102"} and codes[last] != "620102" and codes[first - 2] != "620102"
    (tmp_path / "report.html").write_bytes(run.files["report.html"])
    page, _, errors = open_page(browser, tmp_path / "report.html", 1280)
    page.locator("table.drillable").nth(3).locator("tbody tr").first.locator("td:not(.name)").first.click()
    note = page.locator("div.drill li.note").inner_text()
    assert note == f"乡镇明细见汇总工作簿 consolidated.xlsx 的“{title}”第{first}–{last}行。"
    assert errors == []
    page.context.close()
    small = build_run(EXAMPLE, settings).files["report.html"]
    assert len(run.files["report.html"]) * 2 < len(small)  # the townships are most of the page's weight


def test_consolidated_figures_are_formulas_over_the_rows_beneath_them(outboxes):
    """A county's figure the SUM of its own rows in 明细, a city's of its counties' cells, the
    province's of the cities'; rates a formula of their row's sums; never SUMIFS. Each 明细
    row says where its figures stand; 汇总信息 says what the workbook is."""
    full, _ = outboxes
    wb = load_workbook(full / "consolidated.xlsx")
    levels, counties, detail = wb["全省及市州"], wb["县（市、区）"], wb["乡镇明细-走访情况"]
    assert levels["F2"].value == "=SUM(F3:F16)"
    assert levels["F3"].value == "=SUM('县（市、区）'!E2:E9)"  # 兰州市: its eight counties
    codes = [detail.cell(r, 1).value for r in range(2, detail.max_row + 1)]
    rows = [r for r, c in enumerate(codes, start=2) if c == "620102"]
    assert counties["E2"].value == f"=SUM('乡镇明细-走访情况'!G{rows[0]}:G{rows[-1]})"
    assert rows == list(range(rows[0], rows[-1] + 1))  # a county's rows come together
    assert counties["AE2"].value.startswith('=IF(') and "MIN(0.9999,ROUND(" in counties["AE2"].value
    everything = [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert not any("SUMIF" in v for v in everything)
    header = [c.value for c in detail[1]]
    assert header[-1] == "单元格" and detail.cell(2, len(header)).value == "B5:I5"
    own = load_workbook(EXAMPLE / "620102_城关区.xlsx", data_only=True)["表一走访情况"]
    assert [own[f"{col}5"].value for col in "BCDEFGHI"] == [detail.cell(2, c).value for c in range(7, 15)]
    about = {row[0]: row[1] for row in wb["汇总信息"].iter_rows(min_row=2, values_only=True)}
    assert (about["层级"], about["单位代码"], about["单位名称"], about["截至"]) == ("省", "620000", "全省", "2016年12月7日")
    assert (about["上级单位代码"], about["报表代码"], about["应报单位数"], about["已汇总单位数"]) == (None, "shuanglian-2016", 87, 87)
    assert about["工作簿"].startswith("汇总工作簿（consolidated.xlsx）")
    cached = load_workbook(full / "consolidated.xlsx", data_only=True)
    assert cached["全省及市州"]["F2"].value == 16035 and cached["全省及市州"]["AI2"].value == 0.8974


def test_a_citys_workbook_says_it_is_the_citys(settings, form, units):
    """A city's run (make report CITY=兰州市): 汇总信息 says 市州 with the city's code and name and
    the province above it, so that the province's run can tell it from its own old output; the
    city's row sums its counties, each county's its 明细 rows."""
    from pipeline.spec.scope import city

    run = build_run(EXAMPLE, settings, scope=city(form, units, "兰州市"))
    wb = load_workbook(io.BytesIO(run.files["consolidated.xlsx"]))
    about = {row[0]: row[1] for row in wb["汇总信息"].iter_rows(min_row=2, values_only=True)}
    assert (about["层级"], about["单位代码"], about["单位名称"]) == ("市州", "620100", "兰州市")
    assert (about["上级单位代码"], about["上级单位名称"]) == ("620000", "全省")
    latest = max(u.filed_on for u in run.roster.with_status("included"))  # the city's own 截至, not the province's
    assert (about["应报单位数"], about["已汇总单位数"], about["截至"]) == (8, 8, f"{latest.year}年{latest.month}月{latest.day}日")
    assert "兰州市的是所辖县（市、区）的合计" in about["说明"] and "全省" not in about["说明"]
    levels, counties = wb["全省及市州"], wb["县（市、区）"]
    assert [levels.cell(r, 1).value for r in range(2, 11)] == ["市（州）"] + ["县（市、区）"] * 8
    assert (levels["B2"].value, levels["C2"].value, levels["F2"].value) == ("620100", "兰州市", "=SUM(F3:F10)")
    assert {counties.cell(r, 3).value for r in range(2, 10)} == {"兰州市"}
    assert counties["E2"].value.startswith("=SUM('乡镇明细-走访情况'!G2:G")


def test_every_formula_recomputes_in_libreoffice_to_its_cached_value(outboxes, tmp_path, settings, form, units):
    """LibreOffice, told to recalculate on load, computes every formula of the example's
    consolidated.xlsx (and a partial run's, with counties and a city's county missing, and a
    city's run's) to the value cached; a cached value made wrong on purpose comes back right,
    so the check is real."""
    from pipeline.spec.scope import city

    if not SOFFICE:
        assert not os.environ.get("CI"), "CI must have LibreOffice"
        pytest.skip("LibreOffice is not installed here")
    full, partial = outboxes
    books = tmp_path / "books"
    books.mkdir()
    shutil.copy(full / "consolidated.xlsx", books / "full.xlsx")
    shutil.copy(partial / "consolidated.xlsx", books / "partial.xlsx")
    wrong = _with_a_wrong_cache(full / "consolidated.xlsx")
    (books / "control.xlsx").write_bytes(wrong)
    (books / "text.xlsx").write_bytes(_formula_like_text())
    (books / "city.xlsx").write_bytes(build_run(EXAMPLE, settings, scope=city(form, units, "兰州市")).files["consolidated.xlsx"])
    profile = tmp_path / "profile"
    (profile / "user").mkdir(parents=True)
    (profile / "user" / "registrymodifications.xcu").write_text(RECALCULATE, encoding="utf-8")
    out = tmp_path / "out"
    subprocess.run([SOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", "xlsx",
                    "--outdir", str(out), *(str(books / n) for n in ("full.xlsx", "partial.xlsx", "control.xlsx", "text.xlsx", "city.xlsx"))],
                   check=True, capture_output=True, timeout=300)
    for name, least in (("full", 87 * 30 - 60), ("partial", 85 * 30 - 60), ("city", 8 * 30)):
        formulas = load_workbook(books / f"{name}.xlsx")
        ours = load_workbook(books / f"{name}.xlsx", data_only=True)
        theirs = load_workbook(out / f"{name}.xlsx", data_only=True)
        checked = 0
        for ws in formulas.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    if isinstance(cell.value, str) and cell.value.startswith("="):
                        mine, lo = ours[ws.title][cell.coordinate].value, theirs[ws.title][cell.coordinate].value
                        assert _same(mine, lo), (name, ws.title, cell.coordinate, cell.value, mine, lo)
                        checked += 1
        assert checked >= least, (name, checked)  # every figure and rate of every county in the sums, and above
    control = load_workbook(out / "control.xlsx", data_only=True)["全省及市州"]["F2"].value
    assert control == 16035  # our wrong cache (1) was recomputed
    # a county's text that looks like a formula is still that text once LibreOffice has loaded it
    text = load_workbook(out / "text.xlsx")
    for ws in text.worksheets:
        got = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
        assert [row[0] for row in got] == list(FORMULA_LIKE), ws.title
        assert all(c.data_type == "s" for row in ws.iter_rows(min_row=2, max_col=1) for c in row)


FORMULA_LIKE = ("=1+2", "+1", "-1", "@SUM(1,2)", "=cmd|' /C calc'!A0", "=HYPERLINK(\"http://x\")")


def _formula_like_text() -> bytes:
    """A sheet of the writer's own rows and one of its blocks, each of whose first cells is a
    text a clerk might type that a spreadsheet would otherwise take for a formula."""
    from pipeline.outputs.xlsx_writer import BlockSheet, OutSheet, row_blocks, write_xlsx

    rows = [[t, 1] for t in FORMULA_LIKE]
    blocks = row_blocks([[t] for t in FORMULA_LIKE], [[1] * len(FORMULA_LIKE)], [(i, i + 1) for i in range(len(FORMULA_LIKE))])
    return write_xlsx([OutSheet.from_rows("行", ["乡镇", "数"], rows, [8, 8]), BlockSheet("块", ["乡镇", "数"], blocks, [8, 8])])


RECALCULATE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def _same(mine, theirs) -> bool:
    if mine in (None, "") or theirs in (None, ""):
        return mine in (None, "") and theirs in (None, "")
    return abs(float(mine) - float(theirs)) < 1e-9


def _with_a_wrong_cache(path: Path) -> bytes:
    """The workbook with the province's 行政村总数 cached as 1."""
    import zipfile

    src = zipfile.ZipFile(path)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                body = body.replace(b"<f>SUM(F3:F16)</f><v>16035</v>", b"<f>SUM(F3:F16)</f><v>1</v>", 1)
                assert b"<v>1</v>" in body
            dst.writestr(info, body)
    return out.getvalue()


def test_text_is_never_a_formula_unless_the_program_writes_one():
    from pipeline.outputs.xlsx_writer import Formula, OutSheet, row_blocks, write_xlsx

    data = write_xlsx([OutSheet.from_rows("表", ["乡镇", "数"], [["=SUM(A1:A9)", Formula("SUM(B3:B4)", 3)], ["x", 1]], [8, 8])])
    import zipfile

    sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode("utf-8")
    assert sheet.count("<f>") == 1 and "<f>SUM(B3:B4)</f><v>3</v>" in sheet
    [block] = row_blocks([["=cmd|' /C calc'!A0"]], [[1]], [(0, 1)])
    import zlib

    xml = zlib.decompressobj(-15).decompress(block.deflated)
    assert b"<f>" not in xml and b'<c s="3" t="inlineStr">' in xml
    # = + - @: what a spreadsheet takes for a formula once the cell is edited keeps Excel's quotePrefix
    styles = zipfile.ZipFile(io.BytesIO(data)).read("xl/styles.xml").decode("utf-8")
    assert re.findall(r"<xf [^>]*>", styles.split("<cellXfs")[1])[3].count('quotePrefix="1"') == 1
    cells = re.findall(r"<c(?: [^>]*)?/?>", sheet.split("<sheetData>")[1])
    assert cells[2].startswith('<c s="3" t="s"') and cells[4] == '<c t="s">'  # "=SUM…" quoted, "x" not


def test_the_embedded_data_is_inert_whatever_a_county_wrote():
    import json

    from pipeline.outputs.breakdown import breakdown_json

    named = {"towns": [["</script><script>alert(1)</script>", "<!--", "a & b"]]}
    text = breakdown_json(named)
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == named


def test_a_finding_in_tables_stacked_on_one_sheet_opens_its_own_table(browser, tmp_path):
    """七里河区's three tables pasted onto one sheet, Sheet1: the link named the sheet and the
    cell, and the page opened the last table of that name (表三), its column F another field."""
    from tests.habits import stack_sheets

    inbox = tmp_path / "inbox"
    shutil.copytree(EXAMPLE, inbox)
    wb = load_workbook(inbox / "620103_七里河区.xlsx")
    visits = wb.worksheets[0]
    visits["F7"] = visits["E7"].value + 50  # 走访农户数 over 农户总数
    stacked, _ = stack_sheets(wb)
    stacked.save(inbox / "620103_七里河区.xlsx")
    out = tmp_path / "out"
    assert cli.main(["report", "--inbox", str(inbox), "--outbox", str(out)]) == 0
    page, _, errors = open_page(browser, out / "validation.html", 1280)
    link = page.locator('td[data-label="位置"] a[href*="620103"][href*="F7"]').first
    assert link.get_attribute("href").endswith(":F7:households_visited")
    link.click()
    page.wait_for_selector("li.town.hit")
    assert "走访农户数" in page.locator("div.drill .drill-head").inner_text()
    assert "第7行 F列" in page.locator("li.town.hit").inner_text()
    assert errors == []
    page.context.close()
