"""report.docx laid out by a real word processor: LibreOffice turns it into a PDF and
pdftotext reads the lines back. 22 lines of 28 characters on a body page (a digit counts
half), and the example's whole document, annex included, in at most 20 pages; the 落款 never
alone on its page, no body page left half empty by a figure, a landscape page's number where
the portrait pages have theirs once the sheet is turned. Three reports: the example's, a
partial one, and a second round's compared with the first.

Word and WPS are not to be had here: the XML the two follow (a lines-only grid of 579,
character spacing -5, each cell's tcW equal to its gridCol) is checked in
test_official_format.py.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline import cli
from tests.builders import EXAMPLE

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
PDFTOTEXT = shutil.which("pdftotext")
PAGE_NUMBER = re.compile(r"^—\s*\d+\s*—$")

pytestmark = pytest.mark.skipif(not (SOFFICE and PDFTOTEXT) and not os.environ.get("CI"),
                                reason="LibreOffice and poppler-utils are not installed here")


def width(line: str) -> float:
    """Characters on the line: a CJK character or full-width mark one, a digit or Latin letter half."""
    return sum(1 if ord(ch) > 0x2E7F else 0.5 for ch in line if not ch.isspace())


LINE = re.compile(r'<line xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</line>', re.S)
WORD = re.compile(r"<word[^>]*>(.*?)</word>", re.S)
PITCH = 28.95  # points: the line grid, linePitch 579


@dataclass(frozen=True)
class Line:
    text: str
    top: float
    height: float


def pages(pdf: Path) -> list[list[Line]]:
    """Each page's lines as pdftotext places them, the page number left out."""
    xml = subprocess.run([PDFTOTEXT, "-bbox-layout", "-enc", "UTF-8", str(pdf), "-"],
                         capture_output=True, text=True, check=True).stdout
    out = []
    for page in xml.split("<page ")[1:]:
        lines = []
        for _x0, y0, _x1, y1, words in LINE.findall(page):
            text = html.unescape(" ".join(WORD.findall(words)))
            if text.strip() and not PAGE_NUMBER.match(text.strip()):
                lines.append(Line(text, float(y0), float(y1) - float(y0)))
        out.append(lines)
    return out


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory):
    assert SOFFICE and PDFTOTEXT, "CI must have LibreOffice and poppler-utils: .ci/run installs them"
    root = tmp_path_factory.mktemp("layout")
    full, partial = root / "full", root / "partial"
    assert cli.main(["report", "--inbox", str(EXAMPLE), "--outbox", str(full)]) == 0
    inbox = root / "inbox"
    shutil.copytree(EXAMPLE, inbox)
    for name in ("620102_城关区.xlsx", "620121_永登县.xlsx", "623027_夏河县.xlsx"):
        (inbox / name).unlink()
    assert cli.main(["report", "--inbox", str(inbox), "--outbox", str(partial)]) == 0
    rounds = root / "rounds"
    assert cli.main(["report", "--inbox", str(EXAMPLE), "--outbox", str(rounds), "--round", "2016-11"]) == 0
    assert cli.main(["report", "--inbox", str(inbox), "--outbox", str(rounds), "--round", "2016-12"]) == 0
    docs = root / "docs"
    docs.mkdir()
    for name, folder in (("full", full), ("partial", partial), ("rounds", rounds)):
        shutil.copy(folder / "report.docx", docs / f"{name}.docx")
    profile = (root / "profile").as_uri()
    subprocess.run([SOFFICE, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(root / "pdf"), *(str(docs / f"{n}.docx") for n in NAMES)],
                   check=True, capture_output=True, timeout=300)
    return {name: pages(root / "pdf" / f"{name}.pdf") for name in NAMES} | {
        f"{name}-numbers": numbers(root / "pdf" / f"{name}.pdf") for name in NAMES}


NAMES = ("full", "partial", "rounds")
PT_PER_MM = 72 / 25.4


def numbers(pdf: Path) -> list[dict]:
    """Per page: its size and where its page number ( — n — ) stands, in mm from the top left,
    and whether it is turned (its words one above the other)."""
    xml = subprocess.run([PDFTOTEXT, "-bbox-layout", "-enc", "UTF-8", str(pdf), "-"],
                         capture_output=True, text=True, check=True).stdout
    out = []
    for n, page in enumerate(xml.split("<page ")[1:], start=1):
        width, height = (float(v) / PT_PER_MM for v in re.search(r'width="([\d.]+)" height="([\d.]+)"', page).groups())
        found = None
        for x0, y0, x1, y1, words in LINE.findall(page):
            text = "".join(html.unescape(w) for w in WORD.findall(words))
            if text.replace(" ", "") == f"—{n}—":
                found = {"left": float(x0) / PT_PER_MM, "top": float(y0) / PT_PER_MM, "right": float(x1) / PT_PER_MM,
                         "bottom": float(y1) / PT_PER_MM, "turned": float(y1) - float(y0) > float(x1) - float(x0)}
        out.append({"width": width, "height": height, "number": found})
    return out


def annex_start(doc: list[list[Line]], n: int) -> int:
    return next(i for i, page in enumerate(doc) if page and re.fullmatch(rf"附件\s*{n}", page[0].text))


def body_lines(doc: list[list[Line]]) -> list[list[Line]]:
    """Per page before the annex, its lines of 3号 text (no title, no chart labels)."""
    return [[ln for ln in page if 18 < ln.height < 23] for page in doc[:annex_start(doc, 1)]]


@pytest.mark.parametrize("name", NAMES)
def test_body_pages_hold_22_lines_of_28_characters(pdfs, name):
    body = body_lines(pdfs[name])
    # Lines per page: every body line sits on the 28.95 pt grid, counted from the highest
    # line on any page; the lowest is on the 22nd line of the grid, none below.
    top = min(ln.top for page in body for ln in page)
    slots = [(ln.top - top) / PITCH for page in body for ln in page]
    assert all(abs(s - round(s)) < 0.1 for s in slots), slots
    assert max(round(s) for s in slots) + 1 == 22
    lines = [ln.text for page in body for ln in page]
    assert max(width(ln) for ln in lines) <= 28
    # A line of Chinese alone is full at 28. (Digits are set in whatever font stands in for
    # 仿宋_GB2312 here, often wider than half a character: a line with digits holds fewer.)
    chinese = Counter(width(ln) for ln in lines if all(ord(ch) > 0x2E7F for ch in ln.replace(" ", "")))
    assert chinese[28] >= 4, chinese
    assert max(chinese) == 28


def test_the_example_is_at_most_20_pages(pdfs):
    for name in NAMES:
        assert len(pdfs[name]) <= 20, name


def test_annex_rows_stay_on_one_line(pdfs):
    """A county's row in the annex is one line: names and 100.00% do not wrap."""
    doc = pdfs["full"]
    text = [ln.text for page in doc[annex_start(doc, 2):] for ln in page]
    for name in ("积石山保安族东乡族撒拉族自治县", "阿克塞哈萨克族自治县", "甘南藏族自治州"):
        assert any(name in ln.replace(" ", "") for ln in text), name
    assert "100.00%" in {ln.replace(" ", "") for ln in text}
    assert not any(ln.strip() in ("%", "0%", "00%") for ln in text)  # a rate broken over two lines


@pytest.mark.parametrize("name", NAMES)
def test_the_signature_never_stands_alone_on_its_page(pdfs, name):
    """GB/T 9704 7.3.5: the 落款 and the 附件说明 share their page with the last lines of the text."""
    doc = pdfs[name]
    [page] = [page for page in doc[:annex_start(doc, 1)] if any(ln.text == "中共甘肃省委双联行动领导小组办公室" for ln in page)]
    texts = [ln.text.replace(" ", "") for ln in page]
    first_note = next(i for i, t in enumerate(texts) if t.startswith("附件："))
    above = [t for t in texts[:first_note] if 18 < page[texts.index(t)].height < 23]
    assert above, texts  # a line of the body above the 附件说明, on the same page


@pytest.mark.parametrize("name", NAMES)
def test_no_page_before_the_last_is_left_half_empty(pdfs, name):
    """A figure too tall for what is left of a page waits while the text goes on, instead of
    leaving half the page empty: every body page but the last is filled past its middle."""
    doc = pdfs[name]
    body = doc[:annex_start(doc, 1)]
    top, block = 37 * PT_PER_MM, (297 - 37 - 35) * PT_PER_MM
    for n, page in enumerate(body[:-2], start=1):  # the last two: where the text ends, and the 落款's
        lowest = max(ln.top + ln.height for ln in page)
        assert lowest - top > block / 2, (name, n, [ln.text for ln in page][-3:])


@pytest.mark.parametrize("name", NAMES)
def test_a_landscape_pages_number_stands_where_the_portrait_pages_have_theirs(pdfs, name):
    """GB/T 9704 10.1: the annex's landscape pages print on the sheet turned, the table's head at
    its left edge, so their number, turned with them, stands at the landscape page's left edge:
    7 mm below the text block as the sheet reads (28 mm from its foot, the page's left edge),
    one character from the text block's right end on an odd page and its left end on an even
    one (26 and 28 mm margins: 179 and 33 mm from the landscape page's top). Never at the
    landscape page's foot."""
    doc, where = pdfs[name], pdfs[f"{name}-numbers"]
    start = annex_start(doc, 1)
    assert all(p["width"] < p["height"] and p["number"] and not p["number"]["turned"] for p in where[:start])
    for n, page in enumerate(where[start:], start=start + 1):
        assert page["width"] > page["height"]
        number = page["number"]
        assert number and number["turned"], (n, number)
        assert number["right"] < 35 and abs(number["right"] - 28) < 3, (n, number)  # in the left margin
        if n % 2:
            assert abs(number["bottom"] - 179) < 3, (n, number)
        else:
            assert abs(number["top"] - 33) < 3, (n, number)


def test_the_round_report_names_its_rounds_as_a_reader_does(pdfs):
    text = "\n".join(ln.text.replace(" ", "") for page in pdfs["rounds"] for ln in page)
    assert "（2016年12月）" in text and "与上期（2016年11月）相比" in text
    assert "2016-11" not in text and "2016-12" not in text and "生成" not in text
