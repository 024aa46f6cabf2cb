"""Which of a county's files stands, when the newest is not its return: the blank form sent
back after the return, or a copy of the return forwarded under another county's name. The
return stands; the other file is said to be superseded, and why."""

from __future__ import annotations

import os
import time
from datetime import date

import pytest

from pipeline.outputs.formbook import build_return, workbook_bytes
from pipeline.run.report import build_run
from tests.builders import clean_rows, neighbours_rows, to_xls, write_return

CODE, NAME, OTHER, OTHER_NAME = "620102", "城关区", "620103", "七里河区"


def put(inbox, name: str, data: bytes, mtime: int) -> None:
    (inbox / name).write_bytes(data)
    os.utime(inbox / name, (mtime, mtime))


def status(run, code: str):
    return next(u for u in run.roster.units if u.code == code)


def test_the_blank_form_sent_after_the_return_never_stands_for_it(tmp_path, form, units, settings):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    put(inbox, f"{CODE}_{NAME}.xlsx", workbook_bytes(build_return(form, units.by_code(CODE), clean_rows(),
                                                                  filed_on=date(2016, 12, 5))), 1_480_900_000)
    put(inbox, f"{NAME}空表.xlsx", workbook_bytes(build_return(form, units.by_code(CODE), [],
                                                              filed_on=date(2016, 12, 6))), 1_481_000_000)
    run = build_run(inbox, settings)
    u = status(run, CODE)
    assert (u.status, u.source.path) == ("included", f"{CODE}_{NAME}.xlsx")
    [f] = [f for f in run.findings if f.rule == "superseded"]
    assert f.file == f"{NAME}空表.xlsx" and "（本文件没有填写数字）" in f.message


def test_a_copy_of_the_return_under_another_countys_name_never_stands_for_it(tmp_path, form, units, settings):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    own = workbook_bytes(build_return(form, units.by_code(CODE), clean_rows(), filed_on=date(2016, 12, 5)))
    put(inbox, f"{CODE}_{NAME}.xlsx", own, 1_480_900_000)
    put(inbox, f"{OTHER}_{OTHER_NAME}.xlsx", workbook_bytes(build_return(
        form, units.by_code(OTHER), clean_rows(), filed_on=date(2016, 12, 5))), 1_480_900_000)
    put(inbox, f"{OTHER_NAME}(转发).xlsx", own, 1_481_000_000)  # the wrong attachment, forwarded later
    run = build_run(inbox, settings)
    assert [(u.code, u.status, u.source.path) for u in run.roster.units if u.code in (CODE, OTHER)] == [
        (CODE, "included", f"{CODE}_{NAME}.xlsx"), (OTHER, "included", f"{OTHER}_{OTHER_NAME}.xlsx")]
    said = {(f.rule, f.file, f.county_code) for f in run.findings}
    assert ("misnamed-file", f"{OTHER_NAME}(转发).xlsx", OTHER) in said  # 七里河区 hears of the file named for it
    assert ("unit-conflict", f"{OTHER_NAME}(转发).xlsx", CODE) in said  # whose return it is: set aside, superseded
    [f] = [f for f in run.findings if f.rule == "superseded"]
    assert "（本文件的文件名是另一单位的）" in f.message


def test_a_table_sent_again_alone_stands_beside_the_returns_other_tables(tmp_path, form, units, settings):
    """The whole return, then 表一 corrected and sent alone: 表一 from the later file, 表二 and 表三
    from the first. Neither the county rejected for tables it did send, nor its correction lost."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    unit = units.by_code(CODE)
    put(inbox, f"{CODE}_{NAME}.xlsx", workbook_bytes(build_return(form, unit, clean_rows(), filed_on=date(2016, 12, 5))),
        1_480_900_000)
    corrected = clean_rows()
    corrected[0]["households_visited"] -= 10
    alone = build_return(form, unit, corrected, filed_on=date(2016, 12, 6))
    for ws in alone.worksheets[1:]:
        alone.remove(ws)
    put(inbox, f"{NAME}表一（修改）.xlsx", workbook_bytes(alone), 1_481_000_000)
    run = build_run(inbox, settings)
    u = status(run, CODE)
    assert u.status == "included" and u.errors == 0
    assert run.totals.counties.loc[CODE, "households_visited"] == sum(r["households_visited"] for r in corrected)
    assert run.totals.counties.loc[CODE, "policy_sessions"] == sum(r["policy_sessions"] for r in clean_rows())
    said = {(f.rule, f.file) for f in run.findings}
    assert ("table-superseded", f"{CODE}_{NAME}.xlsx") in said


def _two(tmp_path, form, units, settings, older: tuple, newer: tuple):
    """Two returns of one county: (name, a figure, modification time[, 填报日期, default 12月5日])."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name, visited, mtime, *filed in (older, newer):
        rows = clean_rows()
        rows[0]["households_visited"] = visited
        data = workbook_bytes(build_return(form, units.by_code(CODE), rows, filed_on=(filed or [date(2016, 12, 5)])[0]))
        put(inbox, name, to_xls(data) if name.endswith(".xls") else data, mtime)
    return status(build_run(inbox, settings), CODE)


def test_copies_saved_together_with_other_figures_are_asked_about(tmp_path, form, units, settings):
    """微信 saves a second download as 永登县(1).xlsx: same date, same time, other figures. Only
    the names' order chose: the county is asked."""
    u = _two(tmp_path, form, units, settings, (f"{NAME}.xlsx", 100, 1_481_000_000), (f"{NAME}(1).xlsx", 90, 1_481_000_000))
    assert "的填报日期与之相同、修改时间相差不到两秒，数字却不同" in u.unclear


def test_a_file_named_as_the_corrected_one_set_aside_is_asked_about(tmp_path, form, units, settings):
    u = _two(tmp_path, form, units, settings, (f"{NAME}修改后.xlsx", 90, 1_480_900_000), (f"{NAME}原表.xlsx", 100, 1_481_000_000))
    assert u.source.path == f"{NAME}原表.xlsx"  # the rule's choice, by time
    assert f"“{NAME}修改后.xlsx”的文件名像是改过的一份，却因修改时间较早没有采用" in u.unclear


def test_a_correction_in_a_zip_named_so_set_aside_is_asked_about(tmp_path, form, units, settings):
    """城关区（修改）.zip holding 620102_城关区.xlsx, its member dated by the county's own save, earlier
    than the plain file the office saved: the zip's name says it is the correction, and was not read."""
    import io
    import zipfile

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    rows = clean_rows()
    rows[0]["households_visited"] = 90
    corrected = workbook_bytes(build_return(form, units.by_code(CODE), rows, filed_on=date(2016, 12, 5)))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo(f"{CODE}_{NAME}.xlsx", date_time=(2016, 12, 5, 9, 0, 0)), corrected)
    put(inbox, f"{NAME}（修改）.zip", buf.getvalue(), 1_481_000_000)
    put(inbox, f"{CODE}_{NAME}.xlsx", workbook_bytes(build_return(form, units.by_code(CODE), clean_rows(),
                                                                  filed_on=date(2016, 12, 5))), 1_481_000_000)
    u = status(build_run(inbox, settings), CODE)
    assert u.source.path == f"{CODE}_{NAME}.xlsx"  # the rule's choice, by time
    assert f"“{NAME}（修改）.zip/{CODE}_{NAME}.xlsx”的文件名像是改过的一份，却因修改时间较早没有采用" in u.unclear


@pytest.mark.parametrize("later, earlier", [("v2", "v1"), ("V3", "v2"), ("第2版", "第1版"), ("-12月8日", "-12月5日")])
def test_a_file_named_as_a_later_version_set_aside_is_asked_about(tmp_path, form, units, settings, later, earlier):
    """红古区v2.xlsx copied in before 红古区v1.xlsx, the same 填报日期: v1 stood by its time, with no word."""
    u = _two(tmp_path, form, units, settings, (f"{NAME}{later}.xlsx", 90, 1_480_900_000),
             (f"{NAME}{earlier}.xlsx", 100, 1_481_000_000))
    assert u.source.path == f"{NAME}{earlier}.xlsx"  # the rule's choice, by time
    assert f"“{NAME}{later}.xlsx”的文件名像是较新的一份，却因修改时间较早没有采用" in u.unclear
    # the later version saved later: no question
    (tmp_path / "again").mkdir()
    again = _two(tmp_path / "again", form, units, settings, (f"{NAME}{earlier}.xlsx", 100, 1_480_900_000),
                 (f"{NAME}{later}.xlsx", 90, 1_481_000_000))
    assert (again.source.path, again.unclear) == (f"{NAME}{later}.xlsx", "")


def test_a_correction_copied_in_later_with_its_old_time_is_asked_about(tmp_path, form, units, settings):
    """The first return saved into the inbox afresh (an e-mail attachment: modified now), the
    correction copied in two seconds later keeping its own older time (cp -p, a USB stick): the
    rule took the first by its time, the office would take the later. The county is asked."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name, visited, mtime in ((f"{NAME}.xlsx", 100, 1_481_000_000), (f"{NAME}报表.xls", 90, 1_480_900_000)):
        rows = clean_rows()
        rows[0]["households_visited"] = visited
        data = workbook_bytes(build_return(form, units.by_code(CODE), rows, filed_on=date(2016, 12, 5)))
        put(inbox, name, to_xls(data) if name.endswith(".xls") else data, mtime)
        time.sleep(2.1)  # the inode's change time, which putting the file in sets, is the system's own
    u = status(build_run(inbox, settings), CODE)
    assert u.source.path == f"{NAME}.xlsx"  # the rule's choice, by modification time, unchanged
    assert u.unclear == f"“{NAME}报表.xls”放入收件箱较晚，修改时间却较早，数字也不同，没有采用"


def test_a_correction_saved_later_is_no_question(tmp_path, form, units, settings):
    u = _two(tmp_path, form, units, settings, (f"{NAME}原表.xlsx", 100, 1_480_900_000), (f"{NAME}修改后.xlsx", 90, 1_481_000_000))
    assert (u.source.path, u.unclear) == (f"{NAME}修改后.xlsx", "")


def test_the_same_return_as_xlsx_and_xls_saved_together_is_no_question(tmp_path, form, units, settings):
    """The same figures attached twice, as .xlsx and as .xls, a second apart: nothing to ask."""
    u = _two(tmp_path, form, units, settings, (f"{NAME}.xls", 100, 1_481_000_000), (f"{NAME}.xlsx", 100, 1_481_000_001))
    assert u.unclear == ""


def test_a_correction_named_so_but_dated_earlier_is_no_question_when_the_date_decided(tmp_path, form, units, settings):
    u = _two(tmp_path, form, units, settings, (f"{NAME}（修改稿）.xlsx", 90, 1_480_900_000, date(2016, 12, 3)),
             (f"{NAME}.xlsx", 100, 1_481_000_000, date(2016, 12, 5)))
    assert (u.source.path, u.unclear) == (f"{NAME}.xlsx", "")


def test_the_forms_own_words_in_a_name_are_no_correction(tmp_path, form, units, settings):
    """问题整改后情况统计表: 整改后 is what the form asks about, not a corrected file."""
    u = _two(tmp_path, form, units, settings, (f"{NAME}问题整改后情况统计表.xlsx", 90, 1_480_900_000),
             (f"{NAME}.xlsx", 100, 1_481_000_000))
    assert u.unclear == ""


def test_a_neighbours_return_sent_on_under_another_units_name_is_said_to_both(tmp_path, form, units, settings):
    """七里河区 sent 城关区's return with only its 填报单位 and code changed: the same townships and
    every figure the same. Both were counted, 城关区's figures twice, with no word. Which is the
    copy the office finds out: each hears of the other, its workbook marked to confirm."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for code, name in (("620102", "城关区"), ("620103", "七里河区")):
        data = workbook_bytes(build_return(form, units.by_code(code), clean_rows()))
        (inbox / f"{code}_{name}.xlsx").write_bytes(data)
    (inbox / "620104_西固区.xlsx").write_bytes(workbook_bytes(build_return(form, units.by_code("620104"),
                                                                          neighbours_rows())))  # its own townships
    run = build_run(inbox, settings)
    said = {(f.severity.value, f.county_code, f.message) for f in run.findings if f.rule == "same-as-another"}
    assert said == {("warning", "620102", "本单位报表各乡镇的名称和数字与七里河区的报表完全相同：请核对是否报错了文件，或是否照抄了其他单位的报表。"),
                    ("warning", "620103", "本单位报表各乡镇的名称和数字与城关区的报表完全相同：请核对是否报错了文件，或是否照抄了其他单位的报表。")}
    warned = {u.code: u.warnings for u in run.roster.units if u.code in ("620102", "620103", "620104")}
    assert warned == {"620102": 1, "620103": 1, "620104": 0}
    assert {f"returns/{c}" for c in ("620102_城关区.xlsx", "620103_七里河区.xlsx")} <= set(run.files)


def test_a_township_row_copied_from_a_neighbours_return_is_said_to_both(tmp_path, form, units, settings):
    """城关区's return with one of 七里河区's townships copied in, its name and every figure (a
    reviewer's find): the province counted it twice with no word. Each hears of the other's
    township; a return of other townships with other figures hears nothing."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    theirs = [dict(r, township=f"{r['township']}七", households_total=r["households_total"] + 11 * i)
              for i, r in enumerate(clean_rows(), start=1)]
    ours = [*clean_rows(), theirs[1]]
    others = [dict(r, linking_cadres=r["linking_cadres"] + 5) for r in neighbours_rows(4)]
    for code, rows in (("620102", ours), ("620103", theirs), ("620104", others)):
        write_return(inbox, form, units.by_code(code), rows=rows)
    run = build_run(inbox, settings)
    said = sorted((f.severity.value, f.county_code, f.cell, f.message) for f in run.findings
                  if f.rule == "township-copied")
    name = theirs[1]["township"]
    assert [(s, c) for s, c, _, _ in said] == [("warning", "620102"), ("warning", "620103")]
    assert f"的乡镇“{name}”在各表中的数字与七里河区的“{name}”逐项相同" in said[0][3]
    assert f"的乡镇“{name}”在各表中的数字与城关区的“{name}”逐项相同" in said[1][3]
    assert {u.code: u.status for u in run.roster.units if u.code in ("620102", "620103")} == {
        "620102": "included", "620103": "included"}
