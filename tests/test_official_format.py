"""report.docx in the official document format (GB/T 9704-2012), read back with python-docx,
and report.html in a real browser with the network off."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from pipeline import cli
from tests.conftest import EXAMPLE


@pytest.fixture(scope="module")
def outbox(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    assert cli.main(["report", "--inbox", str(EXAMPLE), "--outbox", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def doc(outbox):
    return Document(str(outbox / "report.docx"))


def east_asian(style) -> str:
    return style.element.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia"))


def test_page_and_margins(doc):
    body = doc.sections[0]
    def mm(length):  # Word keeps twentieths of a point: compare in whole millimetres
        return round(length.mm)

    assert (mm(body.page_width), mm(body.page_height)) == (210, 297)
    assert tuple(mm(x) for x in (body.top_margin, body.bottom_margin, body.left_margin, body.right_margin)) == (37, 35, 28, 26)
    grid = body._sectPr.find(qn("w:docGrid"))
    assert grid.get(qn("w:type")) == "linesAndChars" and grid.get(qn("w:linePitch")) == "579"
    # 28 characters of 16 pt in the 156 mm text width: a pitch of 16 pt + charSpace/4096
    pitch = 16 + int(grid.get(qn("w:charSpace"))) / 4096
    assert int(Mm(156).pt // pitch) == 28
    assert int(Mm(297 - 37 - 35).pt // 28.95) == 22
    annex = doc.sections[1]
    assert annex.page_width > annex.page_height  # the wide tables, landscape


def test_styles_and_fonts(doc):
    normal = doc.styles["Normal"]
    assert east_asian(normal) == "仿宋_GB2312" and normal.font.size == Pt(16)
    assert normal.paragraph_format.line_spacing_rule == WD_LINE_SPACING.EXACTLY
    assert normal.paragraph_format.line_spacing == Pt(28.95)
    title = doc.styles["Title"]
    assert east_asian(title) == "方正小标宋简体" and title.font.size == Pt(22)
    assert title.paragraph_format.alignment == WD_ALIGN_PARAGRAPH.CENTER
    assert east_asian(doc.styles["Heading 1"]) == "黑体"
    assert east_asian(doc.styles["Heading 2"]) == "楷体_GB2312"
    for name in ("Normal", "Title", "Heading 1", "Heading 2"):
        fonts = doc.styles[name].element.rPr.find(qn("w:rFonts"))
        assert fonts.get(qn("w:eastAsiaTheme")) is None  # a theme font would override the named one


def test_body_paragraphs_are_indented_two_characters(doc):
    body = [p for p in doc.paragraphs if p.text.startswith(("一是", "二是", "三是"))]
    assert len(body) == 3
    assert all(p.paragraph_format.first_line_indent == Pt(32) for p in body)
    headings = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    assert headings[:3] == ["一、总体情况", "二、需关注的情况", "三、数据说明"]
    assert [p.text for p in doc.paragraphs if p.style.name == "Heading 2"][0].startswith("（一）")


def test_page_numbers_odd_right_even_left(doc):
    assert doc.settings.odd_and_even_pages_header_footer
    section = doc.sections[0]
    odd, even = section.footer.paragraphs[0], section.even_page_footer.paragraphs[0]
    for p, align in ((odd, WD_ALIGN_PARAGRAPH.RIGHT), (even, WD_ALIGN_PARAGRAPH.LEFT)):
        assert p.alignment == align
        assert re.sub(r"\s+", " ", p.text) == "— 1 —"  # the PAGE field's placeholder between the dashes
        assert "PAGE" in "".join(t.text for t in p._p.iter(qn("w:instrText")))
        run = p.runs[0]
        assert run.font.size == Pt(14)
        assert run.element.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia")) == "宋体"


def test_every_chart_image_is_present(doc, outbox):
    blips = doc.element.body.findall(".//" + qn("a:blip"))
    assert len(blips) == 3
    images = [p for p in doc.part.package.parts if p.partname.startswith("/word/media/")]
    assert len(images) == 3 and all(img.blob[:8] == b"\x89PNG\r\n\x1a\n" for img in images)
    captions = [p.text for p in doc.paragraphs if p.text.startswith("图")]
    assert captions == ["图1  各市（州）问题整改率", "图2  各类问题排查和整改情况（件）", "图3  各市（州）农户走访覆盖率"]


def test_table_header_rows_repeat(doc):
    for table in doc.tables:
        assert table.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None


def test_attention_section_is_computed(doc):
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "“两不愁、三保障”整改率最低的3个：城关区40.27%（已整改89件，排查221件）" in text
    assert "各单位走访覆盖率均已达标。" in text


# --- the page in a browser -----------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(not CHROMIUM and not os.environ.get("CI"), reason="Debian's chromium is not installed here")
def test_report_page_in_headless_chromium_offline(outbox, tmp_path):
    assert CHROMIUM, "CI must have chromium: .ci/run installs it"
    from playwright.sync_api import sync_playwright

    page_path = Path(outbox) / "report.html"
    requests, failed, errors = [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"],
        )
        context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.on("request", lambda r: requests.append(r.url))
        page.on("requestfailed", lambda r: failed.append(r.url))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(page_path.as_uri())
        page.wait_for_load_state("load")
        assert failed == [] and errors == []
        assert all(u.startswith("file://") for u in requests), requests  # nothing from the network
        assert page.locator("svg.chart").count() == 3
        assert page.locator("svg.chart rect").count() > 30
        narrative = page.locator("p.narrative").first
        assert narrative.is_visible() and "14427" in page.locator("p.narrative").nth(1).inner_text()
        # a figure in the narrative links to the province row of its table
        page.locator("p.narrative a.fig").first.click()
        assert page.evaluate("location.hash") == "#sum-visits"
        assert page.locator("#sum-visits").is_visible()
        # sorting a table by a column
        header = page.locator("table.sortable").nth(1).locator("th").nth(3)
        header.click()
        assert header.get_attribute("aria-sort") == "ascending"
        shot = tmp_path / "report.png"
        page.screenshot(path=str(shot), full_page=False)
        assert shot.stat().st_size > 10_000
        phone = browser.new_context(offline=True, viewport={"width": 390, "height": 844}).new_page()
        phone.goto(page_path.as_uri())
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
        browser.close()


def test_word_text_with_breaks_and_tabs_becomes_word_breaks_and_tabs_as_docxtpl_makes_them(settings, monkeypatch):
    """render_docx skips docxtpl's pass over every paragraph when no text needs it: with or
    without the skip, the same document."""
    import dataclasses
    import io
    import re
    import zipfile

    from pipeline import render
    from pipeline.run import build_run

    report = build_run(EXAMPLE, settings).report
    broken = dataclasses.replace(report, narrative=(report.narrative[0] + "\n第二行\t制表后", *report.narrative[1:]))
    images = render.draw_charts(list(report.charts))
    for r, special in ((report, False), (broken, True)):
        quick = render.render_docx(r, images)
        with monkeypatch.context() as m:
            m.setattr(render, "_LISTING_TEXT", re.compile(""))  # always the whole pass
            full = render.render_docx(r, images)
        assert quick == full
        body = zipfile.ZipFile(io.BytesIO(quick)).read("word/document.xml").decode("utf-8")
        assert ("<w:br/>" in body and "<w:tab/>" in body) == special
