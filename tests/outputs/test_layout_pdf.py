"""report.docx laid out by a real word processor: LibreOffice turns it into a PDF and
pdftotext reads the lines back. 22 lines of 28 characters on a body page (a digit counts
half), and the example's whole document, annex included, in at most 20 pages.

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
    docs = root / "docs"
    docs.mkdir()
    shutil.copy(full / "report.docx", docs / "full.docx")
    shutil.copy(partial / "report.docx", docs / "partial.docx")
    profile = (root / "profile").as_uri()
    subprocess.run([SOFFICE, f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(root / "pdf"), str(docs / "full.docx"), str(docs / "partial.docx")],
                   check=True, capture_output=True, timeout=240)
    return {name: pages(root / "pdf" / f"{name}.pdf") for name in ("full", "partial")}


def annex_start(doc: list[list[Line]], n: int) -> int:
    return next(i for i, page in enumerate(doc) if page and re.fullmatch(rf"附件\s*{n}", page[0].text))


def body_lines(doc: list[list[Line]]) -> list[list[Line]]:
    """Per page before the annex, its lines of 3号 text (no title, no chart labels)."""
    return [[ln for ln in page if 18 < ln.height < 23] for page in doc[:annex_start(doc, 1)]]


@pytest.mark.parametrize("name", ["full", "partial"])
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
    assert len(pdfs["full"]) <= 20
    assert len(pdfs["partial"]) <= 20


def test_annex_rows_stay_on_one_line(pdfs):
    """A county's row in the annex is one line: names and 100.00% do not wrap."""
    doc = pdfs["full"]
    text = [ln.text for page in doc[annex_start(doc, 2):] for ln in page]
    for name in ("积石山保安族东乡族撒拉族自治县", "阿克塞哈萨克族自治县", "甘南藏族自治州"):
        assert any(name in ln.replace(" ", "") for ln in text), name
    assert "100.00%" in {ln.replace(" ", "") for ln in text}
    assert not any(ln.strip() in ("%", "0%", "00%") for ln in text)  # a rate broken over two lines
