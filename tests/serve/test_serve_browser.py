"""The submission page in real Chromium (Debian's chromium, driven by Debian's chromedriver).

A clerk opens the county's link, uploads a return with an error, reads the message naming the
cell, uploads the corrected return and gets the receipt; the office's /status then shows the
county as 已报送. The file picker speaks the page's Chinese whatever the browser's language; a
上报说明 is saved with a confirmation in the one note box, and kept for the warnings it was
written for; the office's roster fits a desk's screen and scrolls on a phone's with the unit
held. SCREENSHOTS=<folder> keeps pictures of each page at 1280 and 390 pixels wide.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

from pipeline.outputs.formbook import build_return, workbook_bytes
from tests.builders import clean_rows
from tests.serving import start_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run")


@contextmanager
def chromium(profile: Path, lang: str = ""):
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("CI"):
            pytest.fail("CI must have chromium and chromium-driver: .ci/run installs them")
        pytest.skip("Debian's chromium and chromium-driver are not installed here")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    if lang:  # as a Chinese Windows has it
        options.add_argument(f"--lang={lang}")
        options.add_experimental_option("prefs", {"intl.accept_languages": lang})
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def browser(tmp_path):
    with chromium(tmp_path / "profile") as driver:
        yield driver


def shoot(driver, name: str) -> None:
    folder = os.environ.get("SCREENSHOTS")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    for width in (1280, 390):
        driver.set_window_size(width, 900)
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(width, min(max(height + 140, 600), 6000))
        driver.save_screenshot(str(Path(folder) / f"{name}-{width}.png"))
    driver.set_window_size(1280, 900)


def submit(driver, path: Path | None, button: str = "send") -> str:
    """Choose the file (if any), press the button, and wait for the answer page: its text."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    if path is not None:
        driver.find_element(By.ID, "file").send_keys(str(path))
    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.ID, button).click()
    WebDriverWait(driver, 30).until(lambda _: gone(page))  # the answer, not the page it was sent from
    return WebDriverWait(driver, 30).until(ec.presence_of_element_located((By.TAG_NAME, "main"))).text


def gone(element) -> bool:
    """The element's page has been left. Chromium says so as a stale element, or, caught while
    the new page replaces the old, as a node that no longer belongs to the document."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as e:
        if "does not belong to the document" in str(e):
            return True
        raise
    return False


def returns(tmp_path: Path, form, unit, **variants: list[dict]) -> dict[str, Path]:
    out = {}
    for name, rows in variants.items():
        out[name] = tmp_path / f"{unit.name}-{name}.xlsx"
        out[name].write_bytes(workbook_bytes(build_return(form, unit, rows)))
    return out


def low_coverage(rows: list[dict], *, villages: bool = False) -> list[dict]:
    for r in rows:
        r["households_visited"] = r["households_total"] // 2
        r["households_visited_twice"] = r["households_visited"] // 2
        if villages:
            r["villages_visited"] = r["villages_total"] - 2
    return rows


def test_county_uploads_sees_its_error_fixes_it_and_the_office_sees_it_submitted(browser, tmp_path, form, units):
    from selenium.webdriver.common.by import By

    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    inbox.mkdir()
    server = start_server(inbox, outbox, upload_interval_seconds=0)  # the clerk fixes the file at once
    try:
        unit = units.by_code("620421")  # 靖远县
        rows = clean_rows()
        rows[0]["villages_visited"] = rows[0]["villages_total"] + 3
        files = returns(tmp_path, form, unit, bad=rows, good=clean_rows())
        browser.set_window_size(1280, 900)

        browser.get(server.links()[unit.code])
        assert "靖远县 报表报送" in browser.title
        assert browser.find_element(By.CSS_SELECTOR, "#standing").text.count("未报送") == 1
        shoot(browser, "1-county-page")

        result = submit(browser, files["bad"])
        assert "未通过审核，请修改后重新报送" in result
        assert "表一 第5行 C列（走访行政村数）" in result
        assert not [p for p in inbox.iterdir() if not p.name.startswith(".")]
        shoot(browser, "2-county-error")

        assert "已接收，报送成功" in submit(browser, files["good"])
        receipt = browser.find_element(By.ID, "receipt").text
        assert hashlib.sha256(files["good"].read_bytes()).hexdigest() in receipt and "校验码" in receipt
        assert "SHA-256" not in receipt
        stored = [p for p in inbox.iterdir() if not p.name.startswith(".")]
        assert len(stored) == 1 and stored[0].read_bytes() == files["good"].read_bytes()
        assert stored[0].name in receipt
        shoot(browser, "3-county-receipt")

        browser.get(server.status_url())
        row = browser.find_element(By.CSS_SELECTOR, f'tr[data-code="{unit.code}"]').text
        assert "已报送" in row
        counts = browser.find_element(By.CSS_SELECTOR, ".counts").text
        assert "已报送 1 个" in counts and "未报送 86 个" in counts
        shoot(browser, "4-status")
        # The page asked for nothing from the network but the server itself.
        entries = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        assert all(e.startswith(server.base) for e in entries), entries
        # The page ran its script (its nonce allowed it) and nothing else was refused.
        logs = [e for e in browser.get_log("browser") if "Content Security Policy" in e.get("message", "")]
        assert logs == []
    finally:
        server.stop()


@pytest.mark.parametrize("lang", ["", "zh-CN"], ids=["as-installed", "lang-zh-CN"])
def test_the_file_picker_is_the_pages_own_in_chinese(tmp_path, form, units, lang):
    """Chromium draws its own file input as `Choose File / No file chosen` (its words, from its
    language, English as installed): the page hides it and shows a button and a line of its own."""
    from selenium.webdriver.common.by import By

    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    inbox.mkdir()
    server = start_server(inbox, outbox)
    try:
        unit = units.by_code("620422")
        files = returns(tmp_path, form, unit, good=clean_rows())
        with chromium(tmp_path / "profile", lang) as browser:
            browser.set_window_size(1280, 900)
            browser.get(server.links()[unit.code])
            pick, chosen, native = (browser.find_element(By.ID, i) for i in ("pick", "chosen", "file"))
            assert pick.is_displayed() and pick.text == "选择文件"
            assert chosen.is_displayed() and chosen.text == "未选择文件"
            box = browser.execute_script(
                "var r = arguments[0].getBoundingClientRect(), s = getComputedStyle(arguments[0]);"
                "return [r.width, r.height, s.opacity];", native)
            assert box[0] <= 1 and box[1] <= 1 and float(box[2]) == 0  # the browser's own picker is not seen
            drop = browser.find_element(By.ID, "drop").text
            assert "Choose" not in drop and "No file" not in drop and "未选择任何文件" not in drop
            shoot(browser, f"5-picker{('-' + lang) if lang else ''}")
            # Pressed without a file: told in Chinese, on the page, and nothing is sent.
            browser.find_element(By.ID, "send").click()
            assert chosen.text == "请先选择要报送的报表文件。" and browser.current_url == server.links()[unit.code]
            native.send_keys(str(files["good"]))
            assert chosen.text == f"已选择：{files['good'].name}"
            assert "已接收，报送成功" in submit(browser, None)
    finally:
        server.stop()


def test_a_note_is_saved_with_a_confirmation_in_one_box_and_kept_for_the_warnings_it_answers(browser, tmp_path,
                                                                                              form, units):
    from selenium.webdriver.common.by import By

    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    inbox.mkdir()
    server = start_server(inbox, outbox, upload_interval_seconds=0)
    try:
        unit = units.by_code("620423")  # 景泰县
        files = returns(tmp_path, form, unit, one=low_coverage(clean_rows()),
                        two=low_coverage(clean_rows(), villages=True))
        url = server.links()[unit.code]
        browser.set_window_size(1280, 900)
        browser.get(url)
        assert len(browser.find_elements(By.TAG_NAME, "textarea")) == 1
        browser.find_element(By.ID, "explanation").send_keys("部分农户外出务工，已电话回访。")
        text = submit(browser, files["one"])
        assert "已接收，报送成功" in text and "部分农户外出务工，已电话回访。" in browser.find_element(By.ID, "receipt").text
        assert len(browser.find_elements(By.TAG_NAME, "textarea")) == 1
        # A note written afterwards, on its own: saved, and said so.
        browser.find_element(By.ID, "explanation").send_keys("外出务工农户已逐户电话回访，数据无误。")
        text = submit(browser, None, button="save-note")
        assert "上报说明已保存。" in text and browser.find_element(By.ID, "saved").is_displayed()
        assert browser.find_element(By.ID, "standing-note").text == "外出务工农户已逐户电话回访，数据无误。"
        assert len(browser.find_elements(By.TAG_NAME, "textarea")) == 1
        marks = [td.text for td in browser.find_elements(By.CSS_SELECTOR, "#standing table.findings tbody td:first-child")]
        assert marks == ["已说明"]
        shoot(browser, "6-note-saved")
        # Sent again with the box empty: the note stays, for the warning it answered, not the new one.
        text = submit(browser, files["two"])
        assert "已接收，报送成功" in text
        assert "外出务工农户已逐户电话回访，数据无误。" in browser.find_element(By.ID, "receipt").text
        marks = sorted(td.text for td in browser.find_elements(By.CSS_SELECTOR, "#result table.findings tbody td:first-child"))
        assert marks == ["已说明", "需核实"]
        assert len(browser.find_elements(By.TAG_NAME, "textarea")) == 1
        shoot(browser, "7-note-kept")
    finally:
        server.stop()


def test_the_offices_roster_fits_a_desk_and_scrolls_on_a_phone_with_the_unit_held(browser, tmp_path, form, units):
    from selenium.webdriver.common.by import By

    from tests.serving import upload

    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    inbox.mkdir()
    server = start_server(inbox, outbox, upload_interval_seconds=0)
    try:
        for code in ("620102", "620103", "620200"):  # a few units in, with notes as clerks write them
            unit = units.by_code(code)
            data = workbook_bytes(build_return(form, unit, low_coverage(clean_rows())))
            note = "部分农户常年外出务工，本次以电话回访代替入户走访，名单附后备查。" * 2
            assert upload(server.links()[code], f"{code}.xlsx", data, explanation=note).status == 200
        browser.get(server.status_url())
        box = browser.find_element(By.ID, "roster-box")
        headers = {th.text: th for th in browser.find_elements(By.CSS_SELECTOR, "#roster thead th")}
        browser.set_window_size(1280, 900)
        fits = browser.execute_script("var b = arguments[0]; return [b.scrollWidth, b.clientWidth, innerWidth];", box)
        assert fits[0] <= fits[1] + 1, fits  # the whole roster in its box, nothing hidden
        for name in ("上报说明", "审核结果"):
            right = browser.execute_script("return arguments[0].getBoundingClientRect().right", headers[name])
            assert right <= fits[2], (name, right)
        shoot(browser, "8-roster")
        browser.set_window_size(390, 844)
        narrow = browser.execute_script("var b = arguments[0]; return [b.scrollWidth, b.clientWidth];", box)
        assert narrow[0] > narrow[1]  # it scrolls inside its box, the page itself does not
        assert browser.execute_script("return document.documentElement.scrollWidth <= innerWidth + 1")
        browser.execute_script("arguments[0].scrollLeft = arguments[0].scrollWidth", box)
        unit_cell = browser.find_element(By.CSS_SELECTOR, 'tr[data-code="620102"] td.unit')
        held = browser.execute_script(
            "return [arguments[0].getBoundingClientRect().left, arguments[1].getBoundingClientRect().left]", unit_cell, box)
        assert abs(held[0] - held[1]) <= 2, held  # the unit's name stays at the left as the rest scrolls
        last = browser.execute_script("var r = arguments[0].getBoundingClientRect(); return [r.left, r.right]",
                                      headers["审核结果"])
        assert last[1] <= 390 and last[0] >= 0
        assert unit_cell.text.startswith("城关区")
        if os.environ.get("SCREENSHOTS"):  # the phone's screen as it is, scrolled to the right
            browser.save_screenshot(str(Path(os.environ["SCREENSHOTS"]) / "9-roster-scrolled-390.png"))
    finally:
        server.stop()


def test_a_city_uploads_for_a_county_and_reads_its_counties_on_a_desk_and_a_phone(browser, tmp_path, form, units):
    """兰州市's clerk opens the city's link, picks 安宁区 in 报送的是, uploads its return with a note,
    gets the receipt naming the city as sender, then tries a 陇南市 county's return and is told
    in Chinese it is not the city's to send. The counties' table fits a desk and scrolls on a
    phone inside its box with the county held."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from tests.builders import write_return

    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    inbox.mkdir()
    bad = clean_rows()
    bad[0]["villages_visited"] = bad[0]["villages_total"] + 3
    write_return(inbox, form, units.by_code("620123"), bad, name="榆中县报表.xlsx")  # emailed, with an error
    server = start_server(inbox, outbox, upload_interval_seconds=0)
    try:
        anning, wudu = units.by_code("620105"), units.by_code("621202")
        files = returns(tmp_path, form, anning, good=low_coverage(clean_rows()))
        files |= {"wudu": returns(tmp_path, form, wudu, good=clean_rows())["good"]}
        browser.set_window_size(1280, 900)
        browser.get(server.city_links()["620100"])
        assert "兰州市 报送情况" in browser.title
        shoot(browser, "10-city-page")
        Select(browser.find_element(By.ID, "county")).select_by_value(anning.code)
        browser.find_element(By.ID, "explanation").send_keys("部分农户外出务工，已电话回访。")
        text = submit(browser, files["good"])
        assert "已接收：安宁区的报表已由兰州市代为报送。" in text
        assert browser.find_element(By.ID, "sent-by").text == "兰州市"
        assert "部分农户外出务工，已电话回访。" in browser.find_element(By.ID, "receipt-note").text
        row = browser.find_element(By.CSS_SELECTOR, '#county-table tr[data-code="620105"]').text
        assert "已报送" in row and "兰州市代报" in row and "部分农户外出务工" in row
        shoot(browser, "11-city-receipt")

        browser.get(server.city_links()["620100"])
        text = submit(browser, files["wudu"])  # left to its content: 武都区 is 陇南市's
        assert "这是陇南市武都区的报表，武都区不是兰州市所辖的县（市、区），未予接收" in text
        assert "已退回 1 个" in text and "已报送 1 个" in text
        shoot(browser, "12-city-refused")

        browser.get(server.city_links()["620100"])
        box = browser.find_element(By.CSS_SELECTOR, "#counties .scroll")
        fits = browser.execute_script("var b = arguments[0]; return [b.scrollWidth, b.clientWidth];", box)
        assert fits[0] <= fits[1] + 1, fits  # the whole table in its box on a desk
        browser.set_window_size(390, 844)
        assert browser.execute_script("return document.documentElement.scrollWidth <= innerWidth + 1")
        browser.execute_script("arguments[0].scrollLeft = arguments[0].scrollWidth", box)
        cell = browser.find_element(By.CSS_SELECTOR, '#county-table tr[data-code="620105"] td.unit')
        held = browser.execute_script(
            "return [arguments[0].getBoundingClientRect().left, arguments[1].getBoundingClientRect().left]", cell, box)
        assert abs(held[0] - held[1]) <= 2, held
        browser.set_window_size(1280, 900)

        browser.get(server.status_url())
        line = browser.find_element(By.CSS_SELECTOR, '#cities tr[data-city="620100"]').text
        assert line.split()[:5] == ["兰州市", "8", "1", "1", "6"], line
        shoot(browser, "13-status-by-city")
    finally:
        server.stop()
