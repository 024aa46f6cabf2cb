"""End to end: the bundled example reproduces the article; partial inboxes say so."""

from __future__ import annotations

import csv
import io
import re
import shutil

import pytest
from docx import Document

from pipeline import cli
from pipeline.run.report import build_run
from tests.builders import EXAMPLE

# shared/spec/article-figures.md, copied: the example must add up to exactly these.
ARTICLE = {
    "villages_total": 16035, "villages_visited": 16035, "villages_newly_linked": 477,
    "households_total": 4920676, "households_visited": 4918216, "households_visited_twice": 4801357,
    "linking_units": 14427, "linking_cadres": 408236,
    "precision_found": 20376, "precision_fixed": 20376, "guarantees_found": 59341, "guarantees_fixed": 51040,
    "disputes_found": 42289, "disputes_fixed": 38070,
    "policy_sessions": 139596, "opinions_collected": 223179, "disputes_resolved": 44231,
    "infrastructure_projects": 5597, "industry_projects": 4861, "training_sessions": 10686,
    "practical_matters": 36539, "grassroots_orgs": 4541, "role_models": 2585,
}

# The article's sentences, as the report must state them.
ARTICLE_PHRASES = [
    "14427个联村单位全面动员、40.8万名联户干部积极参与",
    "走访了16035个行政村，占全省行政村总数的100%",
    "新增联系村477个",
    "走访了农户491.8万户，占全省农户总数的99.95%",
    "普遍做到了对所有农户走访2次以上",
    "共排查出各类问题和矛盾纠纷122006件，其中，“六个精准”方面的问题20376件，“两不愁、三保障”方面的问题59341件，矛盾纠纷和不稳定因素42289件",
    "整改率达到了89%以上，其中，“六个精准”方面的问题已全部整改到位，“两不愁、三保障”方面的问题整改率达86%以上，矛盾纠纷和不稳定因素整改率达90%以上",
    "共宣传政策139596场次",
    "了解意见建议和诉求223179条",
    "了解意见建议和诉求223179条，化解各类矛盾纠纷和不稳定因素44231件",  # one 共 in the sentence is enough
    "明确了整改责任，确定了整改时限，进行了认真整改，整改率达到了89%以上",
    "协调基础设施项目5597个，产业发展项目4861个，开展致富技能培训10686场次，帮办各类实事36539件",
    "指导加强基层组织4541个",
    "培养发现、总结推广脱贫致富典型2585人",
]


def read_csv(path) -> list[dict]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


@pytest.fixture(scope="module")
def example_outbox(tmp_path_factory):
    outbox = tmp_path_factory.mktemp("outbox")
    assert cli.main(["report", "--inbox", str(EXAMPLE), "--outbox", str(outbox)]) == 0
    return outbox


def docx_text(path) -> str:
    doc = Document(str(path))
    parts = [p.text for p in doc.paragraphs]
    for t in doc.tables:
        for row in t.rows:
            parts += [c.text for c in row.cells]
    return "\n".join(parts)


def test_example_writes_every_output(example_outbox):
    for name in ("report.docx", "report.html", "consolidated.xlsx", "totals.csv", "findings.csv", "roster.csv"):
        assert (example_outbox / name).stat().st_size > 0, name


def test_example_province_totals_are_the_articles(example_outbox):
    rows = read_csv(example_outbox / "totals.csv")
    province = rows[0]
    assert (province["level"], province["code"], province["name"]) == ("province", "620000", "全省")
    assert (province["units_expected"], province["units_included"]) == ("87", "87")
    assert {k: int(province[k]) for k in ARTICLE} == ARTICLE
    assert sum(r["level"] == "city" for r in rows) == 14
    assert sum(r["level"] == "county" for r in rows) == 87


def test_city_and_county_rows_add_up_to_the_province(example_outbox):
    rows = read_csv(example_outbox / "totals.csv")
    for key in ARTICLE:
        assert sum(int(r[key]) for r in rows if r["level"] == "city") == ARTICLE[key]
        assert sum(int(r[key]) for r in rows if r["level"] == "county") == ARTICLE[key]


def test_example_has_no_findings(example_outbox):
    assert read_csv(example_outbox / "findings.csv") == []
    page = (example_outbox / "validation.html").read_text(encoding="utf-8")
    assert '<p class="verdict">全部通过：87 个单位的报表均已通过审核，没有发现错误或需核实的问题。</p>' in page


@pytest.mark.parametrize("name", ["report.html", "report.docx"])
def test_report_states_the_articles_figures_in_its_words(example_outbox, name):
    path = example_outbox / name
    # In the page each figure is a link to its table row: read the text as a person sees it.
    text = re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")) if name.endswith(".html") else docx_text(path)
    for phrase in ARTICLE_PHRASES:
        assert phrase in text, phrase
    assert "截至2016年12月7日，87个县（市、区）已全部报送" in text
    assert "中共甘肃省委双联行动领导小组办公室" in text
    assert "示例数据" not in text  # named explicitly: not the default-inbox fallback


def test_report_has_city_table_and_county_annex(example_outbox):
    doc = Document(str(example_outbox / "report.docx"))
    sizes = [len(t.rows) for t in doc.tables]
    # three city tables (province + 14 cities, header) and three county annexes (87 + header)
    assert sizes == [16, 16, 16, 88, 88, 88]
    header = [c.text.replace("\n", "") for c in doc.tables[0].rows[0].cells]  # headers break between words
    assert header[:4] == ["单位", "应报", "已汇总", "行政村总数"]
    assert [c.text for c in doc.tables[1].rows[1].cells][-1] == "89.74%"  # 109486/122006 = 89.738%, rounded half up


def test_empty_default_inbox_falls_back_to_the_example(tmp_path, monkeypatch, capsys):
    empty = tmp_path / "inbox"
    empty.mkdir()
    # what the system and Excel leave behind is no file of the office's
    for name in (".gitkeep", ".DS_Store", "Thumbs.db", "~$620102_城关区.xlsx", ".hidden.xlsx"):
        (empty / name).write_bytes(b"\xd0\xcf\x11\xe0 not a return")
    monkeypatch.setattr(cli, "DEFAULT_INBOX", empty)
    outbox = tmp_path / "outbox"
    assert cli.main(["report", "--outbox", str(outbox)]) == 0
    assert "示例数据" in capsys.readouterr().out
    html = (outbox / "report.html").read_text(encoding="utf-8")
    body = html.split("<body>", 1)[1].lstrip()
    assert body.startswith('<p class="example">示例数据')
    assert docx_text(outbox / "report.docx").startswith("示例数据")


def test_a_named_inbox_that_does_not_exist_is_exit_2(tmp_path, capsys):
    assert cli.main(["report", "--inbox", str(tmp_path / "nope"), "--outbox", str(tmp_path / "o")]) == 2
    assert "不存在" in capsys.readouterr().err


def test_two_missing_counties_make_partial_totals(tmp_path, settings, example_outbox):
    inbox = tmp_path / "inbox"
    shutil.copytree(EXAMPLE, inbox)
    (inbox / "620102_城关区.xlsx").unlink()
    (inbox / "623027_夏河县.xlsx").unlink()
    run = build_run(inbox, settings)
    counties = {r["code"]: r for r in read_csv(example_outbox / "totals.csv") if r["level"] == "county"}
    p = run.totals.province
    for key, value in ARTICLE.items():
        assert int(p[key]) == value - int(counties["620102"][key]) - int(counties["623027"][key]), key
    assert (int(p["units_expected"]), int(p["units_included"])) == (87, 85)
    assert [u.name for u in run.roster.with_status("missing")] == ["城关区", "夏河县"]
    assert run.report.status_line == ("截至2016年12月7日，应报送的87个县（市、区）中，已汇总85个，未报送2个；"
                                      "以下为已汇总的85个县（市、区）的数据，为部分数据。")
    assert "已报送" not in run.report.status_line  # the roster's word for a return included
    # every 占…的 names its base, and a partial sum is not the province's
    assert "占已汇总的85个县（市、区）行政村总数的100%" in run.report.narrative[1]
    assert "占已汇总的85个县（市、区）农户总数的" in run.report.narrative[1]
    assert "省市县乡四级" not in "".join(run.report.narrative)
    assert "根据已汇总的85个县（市、区）报送的统计表" in run.report.narrative[0]
    rows = list(csv.DictReader(io.StringIO(run.files["totals.csv"].decode("utf-8-sig"))))
    missing = next(r for r in rows if r["code"] == "620102" and r["level"] == "county")
    assert missing["units_included"] == "0" and missing["villages_total"] == ""
    lanzhou = next(r for r in rows if r["code"] == "620100")
    assert (lanzhou["units_expected"], lanzhou["units_included"]) == ("8", "7")
    html = run.files["report.html"].decode("utf-8")
    assert "未报送2个：兰州市城关区、甘南藏族自治州夏河县；以上单位的数据未纳入本次汇总。" in html
    # a city with units missing shows how many are in its sums; totals.csv keeps the plain name
    assert all(f'<td class="name">{name}</td>' in html for name in ("兰州市（7/8）", "甘南藏族自治州（7/8）", "全省（85/87）"))
    assert '<td class="name">白银市</td>' in html
    assert lanzhou["name"] == "兰州市"


def test_bundled_example_is_what_the_script_makes(tmp_path):
    assert cli.main(["example", "--out", str(tmp_path)]) == 0
    made = sorted(p.name for p in tmp_path.iterdir())
    assert made == sorted(p.name for p in EXAMPLE.iterdir())
    for name in made:
        assert (tmp_path / name).read_bytes() == (EXAMPLE / name).read_bytes(), name


def test_the_command_line_says_what_it_did_and_exits_with_its_code(tmp_path):
    """`python -m pipeline` leaves without the interpreter's teardown: its summary must still
    reach the terminal, every output be in place, and --strict still exit 1 on partial totals."""
    import os
    import subprocess
    import sys

    from pipeline.paths import ROOT as root
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # a pipe's buffering, as staff's scripts get it
    inbox = tmp_path / "inbox"
    shutil.copytree(EXAMPLE, inbox)
    (inbox / "620102_城关区.xlsx").unlink()
    for strict, code in (([], 0), (["--strict"], 1)):
        out = tmp_path / f"out{code}"
        done = subprocess.run([sys.executable, "-m", "pipeline", "report", "--inbox", str(inbox), "--outbox", str(out),
                               *strict], cwd=root, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == code, done.stderr
        assert "应报送单位 87 个" in done.stdout and re.search(r"未报送\s+1 个", done.stdout), done.stdout
        assert done.stdout.rstrip().splitlines()[-1].startswith("输出已写入")  # the whole summary, to its last line
        for name in ("report.docx", "report.html", "consolidated.xlsx", "totals.csv", "findings.csv", "roster.csv"):
            assert (out / name).stat().st_size > 0, name
        assert not list(out.glob(".run-*"))


def test_a_city_with_no_county_in_the_sums_has_empty_figures_not_zeros(tmp_path, settings):
    """嘉峪关市 reports as one unit: without its return the city has no figures at all, as a
    missing county has none, in totals.csv, consolidated.xlsx and the report's city table."""
    from openpyxl import load_workbook

    inbox = tmp_path / "inbox"
    shutil.copytree(EXAMPLE, inbox)
    (inbox / "620200_嘉峪关市.xlsx").unlink()
    run = build_run(inbox, settings)
    rows = list(csv.DictReader(io.StringIO(run.files["totals.csv"].decode("utf-8-sig"))))
    city = next(r for r in rows if r["level"] == "city" and r["code"] == "620200")
    assert (city["units_expected"], city["units_included"], city["villages_total"], city["role_models"]) == ("1", "0", "", "")
    sheet = load_workbook(io.BytesIO(run.files["consolidated.xlsx"])).worksheets[0]
    [xl] = [[c.value for c in r] for r in sheet.iter_rows() if "620200" in [str(c.value) for c in r]]
    assert xl[5:] == [None] * (len(xl) - 5)
    html = run.files["report.html"].decode("utf-8")
    # a city of one unit says why, as the counties' annex does, not 嘉峪关市（0/1）
    cells = re.search(r'<td class="name">嘉峪关市（未报送）</td>(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r"<td[^>]*>([^<]*)</td>", cells)[2:5] == ["—", "—", "—"]  # a missing value shown one way
    # 数据说明 says what each kind of bracket the report shows means (a reviewer's find: the
    # counties' （未报送） was explained nowhere)
    assert "全省名称后括号内为已汇总数与应报数，如“全省（86/87）”；县（市、区）名称后括号内为其未纳入汇总的原因（未报送）。" in run.report.notes["lines"]
    (inbox / "620103_七里河区.xlsx").unlink()
    notes = build_run(inbox, settings).report.notes["lines"]
    assert ("市（州）和全省名称后括号内为已汇总数与应报数，如“兰州市（7/8）”；"
            "县（市、区）名称后括号内为其未纳入汇总的原因（未报送）。") in notes


def test_the_annex_says_which_counties_are_rejected_or_missing_and_the_roster_keeps_contacts_private(tmp_path, settings):
    inbox = tmp_path / "inbox"
    shutil.copytree(EXAMPLE, inbox)
    (inbox / "620200_嘉峪关市.xlsx").unlink()
    (inbox / "620702_甘州区.xlsx").write_bytes(b"PK\x03\x04 damaged")
    run = build_run(inbox, settings)
    html = run.files["report.html"].decode("utf-8")
    assert '<td class="name">嘉峪关市（未报送）</td>' in html and '<td class="name">甘州区（已退回）</td>' in html
    text = docx_text_of(run.files["report.docx"])
    assert "嘉峪关市（未报送）" in text and "甘州区（已退回）" in text
    # the circulated page names no clerk or telephone (the office's: validation.html); a file
    # appears only where a figure is opened down to its township's cells (the breakdown's data)
    shown = re.sub(r"<script[^>]*>.*?</script>", "", html, flags=re.S)
    assert "联系电话" not in html and "0931-8123456" not in html and "王丽" not in html
    assert "620102_城关区.xlsx" not in shown and "620102_城关区.xlsx" in html


def docx_text_of(data: bytes) -> str:
    doc = Document(io.BytesIO(data))
    return "\n".join(cell.text for table in doc.tables for row in table.rows for cell in row.cells)


def test_county_table_rows_are_what_the_cell_by_cell_rules_give(tmp_path, settings, form, units):
    """The annex's county rows are made a column at a time; each equals the row the province
    and cities are given cell by cell, and a county not included is named with its status."""
    import shutil

    from pipeline.model import STATUS_LABEL
    from pipeline.run.report import build_run
    from pipeline.spec import wording
    from tests.builders import EXAMPLE, clean_rows, write_return

    inbox = tmp_path / "inbox"
    shutil.copytree(EXAMPLE, inbox)
    (inbox / "620102_城关区.xlsx").unlink()
    bad = clean_rows()
    bad[0]["guarantees_fixed"] = bad[0]["guarantees_found"] + 3
    write_return(inbox, form, units.by_code("620103"), bad)
    run = build_run(inbox, settings)
    statuses = {c["status"] for _, c in run.totals.county_records}
    assert {"included", "rejected", "missing"} <= statuses
    for sheet, table in zip(form.sheets, run.report.annex):
        fields = list(sheet.count_fields)
        rates = [r for r in form.rates if set(r.numerator) <= {f.key for f in fields}]
        expected = []
        for _, c in run.totals.county_records:
            shown = c["status"] == "included"
            name = c["name"] if shown else f"{c['name']}（{STATUS_LABEL[c['status']]}）"
            cells = [name, c["city_name"]]  # no 应报 / 已汇总: a county's are 1 and 1 or 0
            cells += [wording.table_count(c[f.key]) if shown else "—" for f in fields]
            cells += [wording.table_rate(sum(c[k] for k in r.numerator), sum(c[k] for k in r.denominator))
                      if shown else "—" for r in rates]
            expected.append(cells)
        assert table["rows"] == expected
