"""What a careful reader of a partial report expects: it says which units are in its sums
and which are not and why, never 已报送 for a return it did not include, names the base of
every share, and keeps file names, cells and instructions for validation.html."""

from __future__ import annotations

import io
import os
import shutil

import pytest
from docx import Document
from openpyxl import load_workbook

from pipeline.run.report import build_run
from tests.builders import EXAMPLE, clean_rows, write_return


@pytest.fixture(scope="module")
def partial(tmp_path_factory, form, units, settings):
    """The example less two returns, and one (七里河区) whose figures break a rule."""
    inbox = tmp_path_factory.mktemp("wording") / "inbox"
    shutil.copytree(EXAMPLE, inbox)
    (inbox / "620102_城关区.xlsx").unlink()
    (inbox / "623027_夏河县.xlsx").unlink()
    (inbox / "620103_七里河区.xlsx").unlink()
    bad = clean_rows()
    bad[0]["guarantees_fixed"] = bad[0]["guarantees_found"] + 3
    write_return(inbox, form, units.by_code("620103"), bad, name="七里河区报表.xlsx")
    return build_run(inbox, settings)


def docx_paragraphs(data: bytes) -> list[str]:
    return [p.text for p in Document(io.BytesIO(data)).paragraphs]


def section(paragraphs: list[str], heading: str, until: str) -> list[str]:
    start = next(i for i, p in enumerate(paragraphs) if p.endswith(heading))
    end = next(i for i, p in enumerate(paragraphs) if i > start and p.startswith(until))
    return paragraphs[start + 1:end]


def test_the_opening_says_what_is_in_the_sums(partial):
    assert partial.report.status_line == (
        "截至2016年12月7日，应报送的87个县（市、区）中，已汇总84个，因数据有误退回1个，未报送2个；"
        "以下为已汇总的84个县（市、区）的数据，为部分数据。")


def test_data_notes_are_for_readers(partial):
    paragraphs = docx_paragraphs(partial.files["report.docx"])
    notes = section(paragraphs, "、数据说明", "附件：")
    # the units left out are named once, in 需关注: here only how many, and where
    [heading] = [p for p in paragraphs if p.endswith("数据未纳入汇总的单位")]
    assert notes[0] == ("已汇总84个县（市、区），各县（市、区）的数据见附件2；因数据有误退回1个、未报送2个，"
                        f"其数据未计入汇总，名单见本报告第二部分第{heading.split('）')[0]}）项。")
    text = "".join(notes)
    assert "七里河区" not in text and "城关区" not in text
    assert ".xlsx" not in text and "!" not in text and "请" not in text  # no files, cells or instructions
    assert "应报送的87个" not in text  # the opening said it
    assert "兰州市（6/8）" in text  # how the marked cities read
    # 化解 (附件1表3) is above 已化解 (附件1表2): the reader is told they count different things, and
    # which of the report's own tables show them, never the county form's 表二 / 表三
    [note] = [line for line in notes if "口径不同" in line]
    assert note.startswith("“化解各类矛盾纠纷和不稳定因素”") and "（见附件1表3）" in note and "（见附件1表2）" in note
    assert "表二" not in text and "表三" not in text


def test_attention_names_the_units_left_out(partial):
    paragraphs = docx_paragraphs(partial.files["report.docx"])
    attention = section(paragraphs, "、需关注的情况", "三、数据说明")
    assert "（四）数据未纳入汇总的单位" in attention or "（三）数据未纳入汇总的单位" in attention
    assert ("因数据有误退回1个：兰州市七里河区。" in attention
            and "未报送2个：兰州市城关区、甘南藏族自治州夏河县；以上单位的数据未纳入本次汇总。" in attention)
    lowest = next(p for p in attention if p.startswith("“两不愁、三保障”整改率最低的3个县（市、区）："))
    assert lowest.count("；") == 2 and lowest.startswith("“两不愁、三保障”整改率最低的3个县（市、区）：兰州市安宁区")


def test_partial_cities_are_marked_in_tables_and_charts(partial):
    doc = Document(io.BytesIO(partial.files["report.docx"]))
    names = [row.cells[0].text for row in doc.tables[0].rows[1:]]
    assert names[:3] == ["全省（84/87）", "兰州市（6/8）", "嘉峪关市"]
    assert "甘南藏族自治州（7/8）" in names
    charts = {c.key: c for c in partial.report.charts}
    assert "兰州市（6/8）" in charts["rectification_by_city"].labels
    assert "全省（84/87）" in charts["rectification_by_city"].labels  # the partial province, said so


def test_the_html_roster_is_folded(partial):
    html = partial.files["report.html"].decode("utf-8")
    assert "<details><summary>各县（市、区）报送情况" in html  # closed until opened


def test_consolidated_stores_rates_as_the_tables_round_them(tmp_path_factory, settings):
    run = build_run(EXAMPLE, settings)
    wb = load_workbook(io.BytesIO(run.files["consolidated.xlsx"]), read_only=True, data_only=True)  # the cached values
    rows = list(wb["全省及市州"].iter_rows(values_only=True))
    header = rows[0]
    province = dict(zip(header, rows[1]))
    assert province["总体整改率"] == 0.8974  # 109486/122006 = 89.738%, as ROUND gives it


def test_all_at_the_standard_leaves_out_by_name_a_county_with_no_base(tmp_path, settings, form, units):
    """城关区's households left at 0 (its villages filled in): it has no coverage rate, and
    “农户走访覆盖率均在99%以上” said it of every county, 城关区 included."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    empty = clean_rows()
    for row in empty:
        row["households_total"] = row["households_visited"] = row["households_visited_twice"] = 0
    write_return(inbox, form, units.by_code("620102"), empty)
    write_return(inbox, form, units.by_code("620103"), clean_rows())
    run = build_run(inbox, settings)
    said = next(line for sec in run.report.attention for line in sec["lines"] if "覆盖率" in line and "均" in line)
    assert said.endswith("农户走访覆盖率均在99%以上（兰州市城关区农户总数为0，未计入）。"), said


def test_a_file_that_cannot_be_opened_is_not_said_to_hold_wrong_figures(tmp_path, form, units, settings):
    """因数据有误退回2个 named a county whose file was random bytes: a reader looks in vain for the
    error. The two are now said apart, in the opening, 需关注 and 数据说明."""
    inbox = tmp_path / "inbox"
    shutil.copytree(EXAMPLE, inbox)
    (inbox / "620421_靖远县.xlsx").write_bytes(os.urandom(5000))
    bad = clean_rows()
    bad[0]["guarantees_fixed"] = bad[0]["guarantees_found"] + 3
    (inbox / "620103_七里河区.xlsx").unlink()
    write_return(inbox, form, units.by_code("620103"), bad, name="七里河区报表.xlsx")
    run = build_run(inbox, settings)
    assert run.report.status_line == ("截至2016年12月7日，应报送的87个县（市、区）中，已汇总85个，因数据有误退回1个，"
                                      "因文件无法打开退回1个；以下为已汇总的85个县（市、区）的数据，为部分数据。")
    attention = next(a for a in run.report.attention if a["title"] == "数据未纳入汇总的单位")["lines"]
    assert attention == ["因数据有误退回1个：兰州市七里河区。", "因文件无法打开退回1个：白银市靖远县；以上单位的数据未纳入本次汇总。"]
    assert run.report.notes["lines"][0].startswith("已汇总85个县（市、区），各县（市、区）的数据见附件2；因数据有误退回1个、因文件无法打开退回1个，")
