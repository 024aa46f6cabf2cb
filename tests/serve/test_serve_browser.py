"""The submission page in real Chromium (Debian's chromium, driven by Debian's chromedriver).

A clerk opens the county's link, uploads a return with an error, reads the message naming the
cell, uploads the corrected return and gets the receipt; the office's /status then shows the
county as 已报送. SCREENSHOTS=<folder> keeps pictures of each page at 1280 and 390 pixels wide.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from pipeline.outputs.formbook import build_return, workbook_bytes
from tests.builders import clean_rows
from tests.serving import start_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run")


@pytest.fixture
def browser(tmp_path):
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
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


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


def submit(driver, path: Path) -> str:
    """Choose the file, press the button, and wait for the answer page: its result's text."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver.find_element(By.ID, "file").send_keys(str(path))
    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.ID, "send").click()
    WebDriverWait(driver, 30).until(ec.staleness_of(page))  # the answer, not the page it was sent from
    return WebDriverWait(driver, 30).until(ec.presence_of_element_located((By.ID, "result"))).text


def test_county_uploads_sees_its_error_fixes_it_and_the_office_sees_it_submitted(browser, tmp_path, form, units):
    from selenium.webdriver.common.by import By

    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    inbox.mkdir()
    server = start_server(inbox, outbox, upload_interval_seconds=0)  # the clerk fixes the file at once
    try:
        unit = units.by_code("620421")  # 靖远县
        rows = clean_rows()
        rows[0]["villages_visited"] = rows[0]["villages_total"] + 3
        bad, good = tmp_path / "靖远县-有误.xlsx", tmp_path / "靖远县.xlsx"
        bad.write_bytes(workbook_bytes(build_return(form, unit, rows)))
        good.write_bytes(workbook_bytes(build_return(form, unit, clean_rows())))
        browser.set_window_size(1280, 900)

        browser.get(server.links()[unit.code])
        assert "靖远县 报表报送" in browser.title
        assert browser.find_element(By.CSS_SELECTOR, "#standing").text.count("未报送") == 1
        shoot(browser, "1-county-page")

        result = submit(browser, bad)
        assert "未通过审核，请修改后重新报送" in result
        assert "表一 第5行 C列（走访行政村数）" in result
        assert not [p for p in inbox.iterdir() if not p.name.startswith(".")]
        shoot(browser, "2-county-error")

        assert "已接收，报送成功" in submit(browser, good)
        receipt = browser.find_element(By.ID, "receipt").text
        assert hashlib.sha256(good.read_bytes()).hexdigest() in receipt
        stored = [p for p in inbox.iterdir() if not p.name.startswith(".")]
        assert len(stored) == 1 and stored[0].read_bytes() == good.read_bytes()
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
    finally:
        server.stop()
