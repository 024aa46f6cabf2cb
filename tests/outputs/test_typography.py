"""Chinese prose takes full-width punctuation (GB/T 15834-2011): `，；：（）`, never an ASCII
`,;:()` beside a Chinese character. Scanned in the visible text of every output of a run
that has something to say in every section (missing, rejected, superseded, unassigned and
skipped files), and in the templates and the form the text comes from. Text a county
supplied (file names, sheet names, quoted cell values) is shown as written and exempt.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import zipfile
from datetime import date, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from openpyxl import load_workbook

from pipeline.outputs.blank_forms import blank_forms
from pipeline.paths import ROOT
from pipeline.run.report import build_run
from pipeline.store.rounds import RoundPlan, snapshot_path
from tests.builders import EXAMPLE, clean_rows, write_return

HALF = re.compile(r"[\u4e00-\u9fff][,;:()]|[,;:()][\u4e00-\u9fff]")
QUOTED = re.compile(r"“[^“”]*”")


def half_width(text: str, exempt: set[str] = frozenset()) -> list[str]:
    """The places in `text` where an ASCII mark touches a Chinese character, county text removed."""
    for s in sorted(exempt, key=len, reverse=True):
        text = text.replace(s, "␣")
    text = QUOTED.sub("“␣”", text)
    return [text[max(0, m.start() - 12):m.end() + 12] for m in HALF.finditer(text)]


class _Text(HTMLParser):
    """The text a browser shows: no <style>, no <script>, no attributes."""

    def __init__(self):
        super().__init__()
        self.parts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("style", "script")

    def handle_endtag(self, tag):
        self._skip -= tag in ("style", "script")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def html_text(page: str) -> str:
    p = _Text()
    p.feed(page)
    return "\n".join(p.parts)


def docx_text(data: bytes) -> str:
    """Every w:t of every part (body, footers), a paragraph a line."""
    out = []
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in z.namelist():
            if name.startswith("word/") and name.endswith(".xml"):
                xml = z.read(name).decode("utf-8")
                for para in re.findall(r"<w:p[ >].*?</w:p>", xml, re.S):
                    out.append("".join(re.findall(r"<w:t(?: [^>]*)?>([^<]*)</w:t>", para)))
    return "\n".join(out)


def xlsx_texts(data: bytes) -> list[str]:
    wb = load_workbook(io.BytesIO(data), read_only=True)
    out = []
    for ws in wb.worksheets:
        out.append(ws.title)
        for row in ws.iter_rows(max_row=12, values_only=True):
            out += [v for v in row if isinstance(v, str)]
    return out


@pytest.fixture(scope="module", params=["alone", "compared"])
def messy(request, tmp_path_factory, form, units, settings):
    """The example with two counties missing, one rejected, one superseded, one unknown file
    and one that is no workbook: every section of every output has text. Run alone, and as a
    second round compared with the example as the first (one county's figures and townships
    changed since): the 与上期对比 section, its chart and annex, and the cross-round findings."""
    base = tmp_path_factory.mktemp("typo")
    inbox = base / "inbox"
    shutil.copytree(EXAMPLE, inbox)
    (inbox / "620102_城关区.xlsx").unlink()
    (inbox / "623027_夏河县.xlsx").unlink()
    bad = clean_rows()
    bad[0]["guarantees_fixed"] = bad[0]["guarantees_found"] + 3
    write_return(inbox, form, units.by_code("620103"), bad, name="620103_七里河区(终稿).xlsx")
    write_return(inbox, form, units.by_code("620104"), clean_rows(), name="620104_西固区(初稿).xlsx",
                 filed_on=date(2016, 11, 1))
    (inbox / "说明(请阅).txt").write_text("not a workbook", encoding="utf-8")
    (inbox / "备用.xlsx").write_bytes((inbox / "621102_安定区.xlsx").read_bytes()[:-40])
    plan = None
    if request.param == "compared":
        first = build_run(EXAMPLE, settings, round_plan=RoundPlan("2016-11", datetime(2016, 11, 30, 9), "20161130-090000"))
        previous = base / "snapshot.json"
        previous.write_bytes(first.files[snapshot_path("2016-11", "20161130-090000")])
        write_return(inbox, form, units.by_code("620105"), clean_rows(), name="620105_安宁区.xlsx")
        plan = RoundPlan("2016-12", datetime(2016, 12, 7, 9), "20161207-090000", previous=previous)
    run = build_run(inbox, settings, round_plan=plan)
    assert (run.comparison is not None) == (plan is not None)
    files = {u.source.path for u in run.roster.units if u.source}
    files |= {s.path for u in run.roster.units for s in u.superseded}
    files |= {f.file for f in run.findings} | {p.name for p in inbox.iterdir()}
    sheets = {f.sheet for f in run.findings if f.sheet}
    return run, files | sheets


def test_the_run_has_every_section(messy):
    run, _ = messy
    statuses = {u.status for u in run.roster.units}
    assert statuses == {"included", "rejected", "missing"}
    assert any(u.superseded for u in run.roster.units)
    assert any(f.rule == "skipped" for f in run.findings)
    if run.comparison is not None:  # the scans below cover the comparison's text too
        word = docx_text(run.files["report.docx"])
        assert "与上期对比" in run.report.headings["compare"] and run.report.headings["compare"] in word
        assert run.report.comparison["summary"] in word and run.report.comparison["table"]["caption"] in word
        assert "（上期已报送）" in word and "本期（2016年12月）与上期（2016年11月）" in word
        assert {"below-previous", "township-dropped", "township-added"} <= {f.rule for f in run.findings}
        assert "与上期对比" in html_text(run.files["report.html"].decode("utf-8"))


def test_report_html_and_validation_html(messy):
    run, exempt = messy
    for name in ("report.html", "validation.html"):
        assert half_width(html_text(run.files[name].decode("utf-8")), exempt) == [], name


def test_report_docx(messy):
    run, exempt = messy
    assert half_width(docx_text(run.files["report.docx"]), exempt) == []


def test_xlsx_headers_and_returned_workbooks(messy):
    run, exempt = messy
    books = ["consolidated.xlsx", *[n for n in run.files if n.startswith("returns/")]]
    assert len(books) > 1
    for name in books:
        for text in xlsx_texts(run.files[name]):
            assert half_width(text, exempt) == [], (name, text)


def test_csv_messages(messy):
    run, exempt = messy
    rows = list(csv.DictReader(io.StringIO(run.files["findings.csv"].decode("utf-8-sig"))))
    assert rows
    for r in rows:
        assert half_width(r["message"], exempt) == [], r


def test_blank_templates(form, units):
    made = blank_forms(form, list(units.units[:1]))
    for data in made.values():
        for text in xlsx_texts(data):
            assert half_width(text) == [], text


@pytest.mark.parametrize("path", [*sorted((ROOT / "templates").glob("*.j2")), *sorted((ROOT / "schemas").glob("*.toml"))],
                         ids=lambda p: p.name)
def test_templates_and_form(path: Path):
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if not ln.lstrip().startswith("#")]
    assert half_width("\n".join(lines)) == []


def test_word_template():
    assert half_width(docx_text((ROOT / "templates" / "report.docx").read_bytes())) == []


def test_the_scan_finds_a_half_width_mark():
    assert len(half_width("截至2016年12月7日,87个县(市、区)")) == 3
    assert half_width("文件：620103_七里河区(终稿).xlsx", {"620103_七里河区(终稿).xlsx"}) == []
    assert half_width("单元格为“约3000,见备注”") == []


def nested_brackets(text: str) -> list[str]:
    """Where a （） stands inside another （）: GB/T 15834 takes another kind inside (〔〕)."""
    out, depth = [], 0
    for i, ch in enumerate(text):
        if ch == "\n":
            depth = 0
        elif ch == "（":
            depth += 1
            if depth > 1:
                out.append(text[max(0, i - 16):i + 16])
        elif ch == "）":
            depth = max(0, depth - 1)
    return out


def test_no_bracket_inside_a_bracket_of_its_own_kind(messy):
    run, exempt = messy
    texts = {"report.docx": docx_text(run.files["report.docx"])}
    texts |= {name: html_text(run.files[name].decode("utf-8")) for name in ("report.html", "validation.html")}
    for name, text in texts.items():
        for s in sorted(exempt, key=len, reverse=True):
            text = text.replace(s, "␣")
        assert nested_brackets(text) == [], name


def test_the_bracket_scan_finds_a_nested_bracket():
    assert nested_brackets("报送情况（各县（市、区））") == ["报送情况（各县（市、区））"]
    assert nested_brackets("各县（市、区）报送情况（上期已报送）") == []
