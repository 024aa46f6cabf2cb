"""Resubmissions: the latest readable 填报日期 stands, then the later modification time; an
undated file, and one dated after today, ranks oldest; a rejected latest return is never replaced
by an older one. When the choice is not clear, the county is told which file stands and why;
a superseded file is told the reason that actually decided; its own findings are kept apart."""

from __future__ import annotations

import csv
import io
import os
from datetime import date

import pytest
from openpyxl import load_workbook

from pipeline.outputs.formbook import Layout
from pipeline.run.report import build_run
from tests.builders import clean_rows, write_return

CODE, NAME = "620102", "城关区"


def _file(inbox, form, units, name, *, date_text="", mtime=0, rows=None, damaged=False):
    """A return of the county's, named `name` (the county's own name is in front of it, as
    clerks name their files, so that a file that cannot be read is still the county's)."""
    path = write_return(inbox, form, units.by_code(CODE), rows or clean_rows(), name=f"{CODE}_{NAME}_{name}",
                        layout=Layout(date_text=date_text) if date_text else Layout(),
                        filed_on=None if date_text else date(2016, 12, 5))
    if damaged:
        path.write_bytes(b"PK\x03\x04 cut short")
    if mtime:
        os.utime(path, (mtime, mtime))
    return path


def _run(inbox, settings):
    run = build_run(inbox, settings)
    unit = next(u for u in run.roster.units if u.code == CODE)
    mine = [f for f in run.findings if f.county_code == CODE]
    return run, unit, mine


T0 = 1_480_000_000  # 2016-11-24


# (case, files: name → (date text, mtime offset, damaged), the file that stands, the superseded file's reason,
#  what the county is told is unclear, or "" when the choice is clear)
CASES = [
    ("later date", {"a.xlsx": ("2016年12月1日", 0, False), "b.xlsx": ("2016年12月5日", 100, False)},
     "b.xlsx", "填报日期较晚", ""),
    ("same date, later copy", {"a.xlsx": ("2016年12月5日", 0, False), "b.xlsx": ("2016年12月5日", 100, False)},
     "b.xlsx", "填报日期相同，修改时间较晚", ""),
    ("a correction in Chinese numerals", {"草稿.xlsx": ("2016年12月1日", 100, False),
                                          "更正.xlsx": ("二〇一六年十二月六日", 0, False)},
     "更正.xlsx", "填报日期较晚", "“草稿.xlsx”的填报日期（2016年12月1日）较早，修改时间却较晚"),
    ("a year-less correction", {"a.xlsx": ("2016年12月1日", 0, False), "b.xlsx": ("12月6日", 0, False)},
     "b.xlsx", "填报日期较晚", ""),
    ("one unreadable", {"a.xlsx": ("2016年12月1日", 0, False), "b.xlsx": ("2016年12月5日", 100, True)},
     "a.xlsx", "本文件无法读取", "“b.xlsx”无法读取"),
    ("one undated", {"a.xlsx": ("2016年12月1日", 0, False), "b.xlsx": ("（未填）", 100, False)},
     "a.xlsx", "本文件没有可用的填报日期", "“b.xlsx”没有填报日期"),
    ("a typo 2030", {"a.xlsx": ("2016年12月1日", 0, False), "b.xlsx": ("2030年12月5日", 100, False)},
     "a.xlsx", "本文件没有可用的填报日期", "“b.xlsx”的填报日期（2030年12月5日）晚于今天"),
    ("older date, later copy", {"a.xlsx": ("2016年12月1日", 100, False), "b.xlsx": ("2016年12月5日", 0, False)},
     "b.xlsx", "填报日期较晚", "“a.xlsx”的填报日期（2016年12月1日）较早，修改时间却较晚"),
]


@pytest.mark.parametrize("case, files, stands, reason, unclear", CASES, ids=[c[0] for c in CASES])
def test_which_file_stands_and_what_the_county_is_told(tmp_path, form, units, settings, case, files, stands, reason,
                                                       unclear):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name, (text, offset, damaged) in files.items():
        _file(inbox, form, units, name, date_text=text, mtime=T0 + offset, damaged=damaged)
    run, unit, mine = _run(inbox, settings)
    stands = f"{CODE}_{NAME}_{stands}"
    assert unit.source.path == stands
    [old] = [f"{CODE}_{NAME}_{name}" for name in files if f"{CODE}_{NAME}_{name}" != stands]
    [superseded] = [f for f in mine if f.rule == "superseded"]
    assert superseded.file == old and f"“{stands}”（{reason}）" in superseded.message
    assert "更新" not in superseded.message  # never calls an older-dated file newer
    told = [f for f in mine if f.rule == "resubmission-unclear"]
    if not unclear:
        assert told == [] and unit.unclear == ""
        return
    [f] = told
    assert (f.severity.value, f.file) == ("warning", stands)
    unclear = unclear.replace("“", f"“{CODE}_{NAME}_")
    assert unclear in f.message and f"按规则仍用“{stands}”" in f.message and unit.unclear == f.message.split("，按规则")[0]
    # Said everywhere the county and the office look: roster.csv, validation.html, the returned workbook.
    roster = {r["code"]: r for r in csv.DictReader(io.StringIO(run.files["roster.csv"].decode("utf-8-sig")))}
    assert unclear in roster[CODE]["resubmission"]
    assert f.message in run.files["validation.html"].decode("utf-8")
    wb = load_workbook(io.BytesIO(run.files[f"returns/{CODE}_{NAME}.xlsx"]))
    assert any(f.message == row[2] for row in wb["问题清单"].iter_rows(min_row=3, values_only=True))


def test_a_rejected_latest_return_is_never_replaced_by_an_older_one(tmp_path, form, units, settings):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _file(inbox, form, units, "old.xlsx", date_text="2016年12月1日", mtime=T0)
    bad = clean_rows()
    bad[0]["villages_visited"] = bad[0]["villages_total"] + 1
    _file(inbox, form, units, "new.xlsx", date_text="2016年12月5日", mtime=T0, rows=bad)
    _, unit, _ = _run(inbox, settings)
    assert (unit.status, unit.source.path) == ("rejected", f"{CODE}_{NAME}_new.xlsx")


def test_a_superseded_files_own_findings_are_kept_apart_and_count_for_no_one(tmp_path, form, units, settings):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    bad = clean_rows()
    bad[0]["villages_visited"] = bad[0]["villages_total"] + 1  # an error, in the file that no longer counts
    _file(inbox, form, units, "old.xlsx", date_text="2016年12月1日", mtime=T0, rows=bad)
    _file(inbox, form, units, "new.xlsx", date_text="2016年12月5日", mtime=T0)
    run, unit, mine = _run(inbox, settings)
    assert (unit.status, unit.errors, unit.warnings) == ("included", 0, 0)
    old = f"{CODE}_{NAME}_old.xlsx"
    assert sorted(f.rule for f in mine if f.file == old) == ["superseded", "visited-exceeds-total"]
    listed = run.files["findings.csv"].decode("utf-8-sig")
    assert "visited-exceeds-total" in listed  # kept in findings.csv
    page = run.files["validation.html"].decode("utf-8")
    folded = page.split('<details class="superseded">')[1]
    assert old in folded and "已被替代的文件" in folded
    counts = page.split("<h1>")[1].split("</p>")[0]
    assert "错误 0 条" in counts  # in no count
    assert f"returns/{CODE}_{NAME}.xlsx" not in run.files  # no workbook goes back for it
    assert run.roster.with_status("rejected") == []


def test_the_countys_page_says_what_is_unclear(tmp_path, form, units, settings):
    """The submission page judges the inbox by the same path: the county sees on its own page
    which file stands and why the choice was not clear."""
    from pipeline.serve.desk import Desk

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _file(inbox, form, units, "a.xlsx", date_text="2016年12月1日", mtime=T0)
    _file(inbox, form, units, "b.xlsx", date_text="2030年12月5日", mtime=T0 + 100)
    desk = Desk(inbox, form, units)
    desk.refresh()
    told = [f for f in desk.standing_findings(CODE) if f.rule == "resubmission-unclear"]
    assert [f.file for f in told] == [f"{CODE}_{NAME}_a.xlsx"]
    assert "晚于今天" in told[0].message


def test_a_return_sent_under_another_units_name_is_explained_to_both_units(tmp_path, form, units, settings):
    """城关区's return named 七里河区.xlsx: the title's unit is taken and the conflict filed under the
    name's unit, which is chased for it. 城关区 was listed as rejected with no word of why on its
    own part of validation.html: the finding is shown under both, and counted once."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_return(inbox, form, units.by_code(CODE), clean_rows(), name="七里河区.xlsx")
    run = build_run(inbox, settings)
    [conflict] = [f for f in run.findings if f.rule == "unit-conflict"]
    assert (conflict.county_code, conflict.file) == ("620103", "七里河区.xlsx")
    assert next(u for u in run.roster.units if u.code == CODE).status == "rejected"
    page = run.files["validation.html"].decode("utf-8")
    sections = {s.split("：")[0]: s for s in page.split("<h2>")[1:]}
    for name in (NAME, "七里河区"):
        assert sections[name].startswith(f"{name}：错误 1 条") and conflict.message in sections[name]
    assert "错误 1 条" in page.split("<h1>")[1].split("</p>")[0]  # one problem, counted once


def test_a_return_named_for_a_unit_that_sent_its_own_is_the_content_units_and_the_named_unit_told(
        tmp_path, form, units, settings):
    """岷县's return, named 漳县（新）.xlsx, beside 漳县's own: 漳县 (included) was shown an error its
    return does not have, and 岷县, rejected for it, none. The conflict is 岷县's; 漳县 is told
    the file was not taken as its correction."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_return(inbox, form, units.by_code("621125"), clean_rows(), name="621125_漳县.xlsx")
    write_return(inbox, form, units.by_code("621126"), clean_rows(), name="漳县（新）.xlsx")
    run = build_run(inbox, settings)
    status = {u.code: (u.status, u.source.path if u.source else "", u.errors) for u in run.roster.units}
    assert status["621125"] == ("included", "621125_漳县.xlsx", 0)
    assert status["621126"] == ("rejected", "漳县（新）.xlsx", 1)
    about = sorted((f.rule, f.severity.value, f.county_code, f.file) for f in run.findings
                   if f.file == "漳县（新）.xlsx")
    assert about == [("misnamed-file", "warning", "621125", "漳县（新）.xlsx"),
                     ("unit-conflict", "error", "621126", "漳县（新）.xlsx")]
    page = run.files["validation.html"].decode("utf-8")
    sections = {s.split("：")[0]: s for s in page.split("<h2>")[1:]}
    assert sections["岷县"].startswith("岷县：错误 1 条") and sections["漳县"].startswith("漳县：错误 0 条，需核实 1 条")
    assert "这份以本单位命名的文件是岷县的报表" in sections["漳县"]


def test_copies_alike_but_for_a_total_row_one_lacks_are_the_same_figures(tmp_path, form, units, settings):
    """A city's workbook carries its counties' townships without their 合计: beside the county's
    own return, saved at the same moment, it was said to hold other figures (数字却不同)."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name, layout in (("a.xlsx", Layout()), ("b.xlsx", Layout(total="none"))):
        path = write_return(inbox, form, units.by_code(CODE), clean_rows(), name=f"{CODE}_{NAME}_{name}",
                            layout=layout, filed_on=date(2016, 12, 5))
        os.utime(path, (T0, T0))
    run, unit, mine = _run(inbox, settings)
    assert unit.status == "included" and unit.unclear == ""
    assert not [f for f in mine if f.rule == "resubmission-unclear"]
