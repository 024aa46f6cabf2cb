"""One fixture per rule of the spec, with the exact findings expected, and the totals
excluding the rejected county. Each inbox holds the case's files for 城关区 (620102) and a
clean return from 七里河区 (620103)."""

from __future__ import annotations

import io
import os
from datetime import date

import pytest
from openpyxl import load_workbook

from pipeline.outputs.formbook import Layout, build_return, workbook_bytes
from pipeline.run.report import build_run
from tests.builders import clean_rows, neighbours_rows, reload, save

CODE, NAME = "620102", "城关区"
OTHER = "620103"
VISITS, PROBLEMS, OUTCOMES = "表一走访情况", "表二问题排查整改", "表三帮扶成效"


def wb_with(form, units, rows=None, layout=Layout(), **kw):
    return build_return(form, units.by_code(CODE), rows or clean_rows(), layout=layout, **kw)


def one(form, units, rows=None, layout=Layout(), edit=None, name=f"{CODE}_{NAME}.xlsx", **kw):
    wb = wb_with(form, units, rows, layout, **kw)
    if edit:
        edit(wb)
    return {name: workbook_bytes(wb)}


def rows_with(**changes):
    rows = clean_rows()
    rows[1] = rows[1] | changes  # the second township: row 6 in the issued layout
    return rows


def set_cell(sheet, ref, value):
    def edit(wb):
        wb[sheet][ref] = value
    return edit


def add_computed_columns(wb):
    """合计/排查数, 合计/已整改, 整改率 after the six entered columns of 表二; one value wrong."""
    ws = wb[PROBLEMS]
    ws["H3"], ws["J3"] = "合计", "整改率"
    ws.merge_cells("H3:I3")
    ws.merge_cells("J3:J4")
    ws["H4"], ws["I4"] = "排查数", "已整改"
    for r in range(5, 9):
        found = sum(ws.cell(r, c).value for c in (2, 4, 6))
        fixed = sum(ws.cell(r, c).value for c in (3, 5, 7))
        ws.cell(r, 8, found)
        ws.cell(r, 9, fixed)
        ws.cell(r, 10, f"{100 * fixed / found:.1f}%")
    ws["I6"] = ws["I6"].value + 1  # 已整改 total off by one on the second township
    ws["J7"] = "99.9%"  # a rate that does not agree at its shown precision


def encrypted(form, units):
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(workbook_bytes(wb_with(form, units)))).encrypt("secret", out)
    return {f"{CODE}_{NAME}.xlsx": out.getvalue()}


def two_versions(form, units):
    older = rows_with(villages_visited=99)  # broken, but superseded: its errors do not count
    return {
        f"{CODE}_{NAME}(初稿).xlsx": workbook_bytes(wb_with(form, units, older, filed_on=date(2016, 12, 2))),
        f"{CODE}_{NAME}(终稿).xlsx": workbook_bytes(wb_with(form, units, filed_on=date(2016, 12, 6))),
    }


def latest_rejected(form, units):
    return {
        f"{CODE}_{NAME}(初稿).xlsx": workbook_bytes(wb_with(form, units, filed_on=date(2016, 12, 2))),
        f"{CODE}_{NAME}(终稿).xlsx": workbook_bytes(wb_with(form, units, rows_with(precision_fixed=999),
                                                         filed_on=date(2016, 12, 6))),
    }


def junk(form, units):
    return one(form, units) | {"~$620102_城关区.xlsx": b"\x00lock", ".DS_Store": b"\x00\x00", "说明.txt": "请查收".encode()}


# id, files builder, expected {(severity, rule, sheet, cell)}, status of 城关区
CASES = [
    ("missing-sheet", lambda f, u: one(f, u, edit=lambda wb: wb.remove(wb[OUTCOMES])),
     {("error", "missing-sheet", "", "")}, "rejected"),
    ("missing-column", lambda f, u: one(f, u, edit=lambda wb: wb[VISITS].delete_cols(6)),
     {("error", "missing-column", VISITS, "")}, "rejected"),
    ("column-unrecognised", lambda f, u: one(f, u, edit=set_cell(VISITS, "F3", "入户数")),
     {("error", "column-unrecognised", VISITS, "F3")}, "rejected"),
    ("not-a-count", lambda f, u: one(f, u, edit=set_cell(OUTCOMES, "D7", "十二")),
     {("error", "not-a-count", OUTCOMES, "D7")}, "rejected"),
    ("count-too-large", lambda f, u: one(f, u, edit=set_cell(OUTCOMES, "D7", 1e20)),
     {("error", "count-too-large", OUTCOMES, "D7")}, "rejected"),
    ("count-too-large-as-text", lambda f, u: one(f, u, edit=set_cell(VISITS, "E6", "362230199001011234")),
     {("error", "count-too-large", VISITS, "E6")}, "rejected"),
    ("formula-without-value", lambda f, u: one(f, u, edit=set_cell(OUTCOMES, "C5", "=B5*2")),
     {("error", "formula-without-value", OUTCOMES, "C5")}, "rejected"),
    ("villages-visited-exceed-total", lambda f, u: one(f, u, rows_with(villages_visited=14)),
     {("error", "visited-exceeds-total", VISITS, "C6")}, "rejected"),
    ("newly-linked-exceed-total", lambda f, u: one(f, u, rows_with(villages_newly_linked=14)),
     {("error", "newly-linked-exceeds-total", VISITS, "D6")}, "rejected"),
    ("households-visited-exceed-total", lambda f, u: one(f, u, rows_with(households_visited=3002)),
     {("error", "visited-exceeds-total", VISITS, "F6")}, "rejected"),
    ("twice-exceeds-visited", lambda f, u: one(f, u, rows_with(households_visited_twice=2992)),
     {("error", "twice-exceeds-visited", VISITS, "G6")}, "rejected"),
    ("fixed-exceeds-found", lambda f, u: one(f, u, rows_with(precision_fixed=22, guarantees_fixed=55, disputes_fixed=42)),
     {("error", "fixed-exceeds-found", PROBLEMS, "C6"), ("error", "fixed-exceeds-found", PROBLEMS, "E6"),
      ("error", "fixed-exceeds-found", PROBLEMS, "G6")}, "rejected"),
    ("total-row-mismatch", lambda f, u: one(f, u, edit=set_cell(OUTCOMES, "B8", 1)),
     {("error", "total-row-mismatch", OUTCOMES, "B8")}, "rejected"),
    ("computed-columns", lambda f, u: one(f, u, edit=add_computed_columns),
     {("error", "computed-mismatch", PROBLEMS, "I6"), ("error", "computed-mismatch", PROBLEMS, "J7")}, "rejected"),
    ("duplicate-township", lambda f, u: one(f, u, edit=set_cell(OUTCOMES, "A7", "城关镇")),
     {("error", "duplicate-township", OUTCOMES, "A7"), ("warning", "townships-differ", "", "")}, "rejected"),
    # the same, the second written with its 序号 (3.城关镇): no part of the name, so no second township
    ("duplicate-township-numbered", lambda f, u: one(f, u, edit=set_cell(OUTCOMES, "A7", "3.城关镇")),
     {("error", "duplicate-township", OUTCOMES, "A7"), ("warning", "townships-differ", "", "")}, "rejected"),
    ("numbered-townships", lambda f, u: one(f, u, edit=set_cell(OUTCOMES, "A5", "1、城关镇")), set(), "included"),
    ("townships-differ", lambda f, u: one(f, u, edit=set_cell(OUTCOMES, "A7", "石岭乡")),
     {("warning", "townships-differ", "", "")}, "included"),
    ("date-missing", lambda f, u: one(f, u, filed_on=None),
     {("warning", "date-missing", "", "")}, "included"),
    ("date-stale", lambda f, u: one(f, u, filed_on=date(2015, 12, 3)),  # last year's file, sent again
     {("warning", "date-stale", "", "")}, "included"),
    ("coverage-below-threshold", lambda f, u: one(f, u, rows_with(households_visited=2000, households_visited_twice=1900)),
     {("warning", "coverage-below-threshold", VISITS, "F8")}, "included"),  # the 合计 of 走访农户数
    # 城关区's return named for 七里河区, which sent its own: the conflict is 城关区's, 七里河区 is told
    ("unit-conflict", lambda f, u: one(f, u, name="620103_七里河区(2).xlsx"),
     {("error", "unit-conflict", "", ""), ("warning", "misnamed-file", "", "")}, "rejected"),
    ("unreadable", lambda f, u: {f"{CODE}_{NAME}.xlsx": b"PK\x03\x04 this is not a workbook"},
     {("error", "unreadable", "", "")}, "rejected"),
    ("renamed-non-workbook", lambda f, u: {f"{CODE}_{NAME}.xls": "这不是Excel文件".encode()},
     {("error", "unreadable", "", "")}, "rejected"),
    ("encrypted", encrypted, {("error", "encrypted", "", "")}, "rejected"),
    # The superseded file's own error is kept (findings.csv, folded apart on validation.html) but
    # counts against no one: the county stands included.
    ("superseded", two_versions, {("warning", "superseded", "", ""), ("error", "visited-exceeds-total", VISITS, "C6")},
     "included"),
    ("latest-stands-even-when-rejected", latest_rejected,
     {("warning", "superseded", "", ""), ("error", "fixed-exceeds-found", PROBLEMS, "C6")}, "rejected"),
    ("junk-files-skipped", junk, {("info", "skipped", "", "")}, "included"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_each_rule_gives_exactly_its_findings(case, tmp_path, form, units, settings):
    _, build, expected, status = case
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name, data in build(form, units).items():
        (inbox / name).write_bytes(data)
    (inbox / f"{OTHER}_七里河区.xlsx").write_bytes(workbook_bytes(build_return(form, units.by_code(OTHER),
                                                                             neighbours_rows())))

    run = build_run(inbox, settings)

    got = {(f.severity.value, f.rule, f.sheet, f.cell) for f in run.findings}
    assert got == expected, [(f.rule, f.message) for f in run.findings]
    assert all(f.message and f.file for f in run.findings)
    unit = next(u for u in run.roster.units if u.code == CODE)
    assert unit.status == status
    one_county = {k: sum(r[k] for r in clean_rows()) for k in form.field_keys}
    p = run.totals.province
    factor = 2 if status == "included" and case[0] != "coverage-below-threshold" else 1
    if case[0] == "coverage-below-threshold":
        assert int(p["households_visited"]) == 2 * one_county["households_visited"] - (2991 - 2000)
    else:
        assert {k: int(p[k]) for k in form.field_keys} == {k: factor * v for k, v in one_county.items()}


def test_messages_say_what_to_fix(tmp_path, form, units, settings):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name, data in one(form, units, rows_with(guarantees_fixed=56, guarantees_found=53)).items():
        (inbox / name).write_bytes(data)
    run = build_run(inbox, settings)
    msg = next(f.message for f in run.findings if f.rule == "fixed-exceeds-found")
    assert msg == "表二 第6行 E列的“两不愁、三保障”方面问题已整改（56）大于“两不愁、三保障”方面问题排查数（53）：请核对后修改。"
    assert next(f for f in run.findings if f.rule == "fixed-exceeds-found").county_code == CODE


def test_returned_workbook_marks_the_cell_and_lists_the_findings(tmp_path, form, units, settings):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name, data in one(form, units, rows_with(guarantees_fixed=56, guarantees_found=53)).items():
        (inbox / name).write_bytes(data)
    before = {p.name: p.read_bytes() for p in inbox.iterdir()}
    run = build_run(inbox, settings)
    data = run.files[f"returns/{CODE}_{NAME}.xlsx"]
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames[0] == "问题清单"
    listed = [[c.value for c in row] for row in wb["问题清单"].iter_rows(min_row=3)]
    assert listed[0][:2] == ["错误", "表二 第6行 E列（“两不愁、三保障”方面问题已整改）"] and "大于" in listed[0][2]
    cell = wb[PROBLEMS]["E6"]
    assert cell.fill.fgColor.rgb.endswith("FFC7CE")
    assert "已整改（56）大于" in cell.comment.text
    assert {p.name: p.read_bytes() for p in inbox.iterdir()} == before  # the inbox is never modified
    assert "未通过审核" in wb["问题清单"]["A1"].value


def test_a_return_with_warnings_only_is_told_it_is_in_and_to_confirm_not_to_resend(tmp_path, form, units, settings):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name, data in one(form, units, rows_with(households_visited=2905)).items():  # coverage under 99%
        (inbox / name).write_bytes(data)
    run = build_run(inbox, settings)
    assert {f.severity.value for f in run.findings if f.county_code == CODE} == {"warning"}
    heading = load_workbook(io.BytesIO(run.files[f"returns/{CODE}_{NAME}.xlsx"]))["问题清单"]["A1"].value
    assert "已纳入汇总" in heading and "不要改动数据" in heading and "上报说明" in heading
    assert "修改后重新报送" not in heading


def test_an_unopenable_return_goes_back_as_its_list_of_findings_alone(tmp_path, form, units, settings):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / f"{CODE}_{NAME}.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    run = build_run(inbox, settings)
    assert load_workbook(io.BytesIO(run.files[f"returns/{CODE}_{NAME}.xlsx"])).sheetnames == ["问题清单"]


def test_legacy_xls_is_returned_as_xlsx(tmp_path, form, units, settings):
    from tests.builders import to_xls

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    data = to_xls(workbook_bytes(wb_with(form, units, rows_with(precision_fixed=40))))
    (inbox / f"{CODE}_{NAME}.xls").write_bytes(data)
    run = build_run(inbox, settings)
    wb = load_workbook(io.BytesIO(run.files[f"returns/{CODE}_{NAME}.xlsx"]))
    assert wb[PROBLEMS]["C6"].comment is not None and wb[PROBLEMS]["C6"].value == 40


def test_roster_and_validation_page(tmp_path, form, units, settings):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name, data in one(form, units, rows_with(precision_fixed=40)).items():
        (inbox / name).write_bytes(data)
    run = build_run(inbox, settings)
    roster = run.files["roster.csv"].decode("utf-8-sig").splitlines()
    assert roster[0].startswith("code,name,city,status,file")
    assert len(roster) == 88
    assert any(line.startswith(f"{CODE},{NAME},兰州市,已退回,{CODE}_{NAME}.xlsx") for line in roster)
    assert sum(",未报送," in line for line in roster) == 86
    page = run.files["validation.html"].decode("utf-8")
    assert "催报名单（87个）" in page
    assert page.index("城关区：错误 1 条") > page.index("催报名单")
    report = run.files["report.html"].decode("utf-8")
    assert f"<td>{CODE}</td><td class=\"name\">{NAME}</td><td class=\"name\">兰州市</td><td class=\"name\">已退回</td>" in report


def test_strict_exit_status(tmp_path, form, units):
    from pipeline import cli

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name, data in one(form, units).items():
        (inbox / name).write_bytes(data)
    args = ["report", "--inbox", str(inbox), "--outbox", str(tmp_path / "out")]
    assert cli.main(args) == 0
    assert cli.main([*args, "--strict"]) == 1


def test_unknown_county_is_listed_but_not_returned(tmp_path, form, units, settings):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    wb = wb_with(form, units, layout=Layout(title=False))
    (inbox / "报表.xlsx").write_bytes(workbook_bytes(wb))
    run = build_run(inbox, settings)
    assert [(f.rule, f.file) for f in run.findings if f.severity.value == "error"] == [("unit-unknown", "报表.xlsx")]
    assert [r.source.path for r in run.roster.unassigned] == ["报表.xlsx"]
    assert not any(k.startswith("returns/") for k in run.files)
    assert "报表.xlsx" in run.files["validation.html"].decode("utf-8")
    # the report says how many, for its readers; which file is for validation.html
    report = run.files["report.html"].decode("utf-8")
    assert "另收到1个无法识别填报单位的文件，未计入汇总。" in report and "报表.xlsx" not in report


def test_reload_helper_round_trips(form, units):
    data = workbook_bytes(wb_with(form, units))
    assert reload(save(reload(data))).sheetnames == [VISITS, PROBLEMS, OUTCOMES]


def test_an_encrypted_return_opens_with_a_configured_password(tmp_path, form, units, settings):
    from dataclasses import replace

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name, data in encrypted(form, units).items():
        (inbox / name).write_bytes(data)
    locked = build_run(inbox, replace(settings, passwords=("wrong",)))
    assert [f.rule for f in locked.findings] == ["encrypted"]
    opened = build_run(inbox, replace(settings, passwords=("wrong", "secret")))
    assert opened.findings == ()
    assert next(u for u in opened.roster.units if u.code == CODE).status == "included"


def test_a_filing_date_in_the_future_is_said_and_never_outranks_the_corrected_return(tmp_path, settings, form, units):
    """2061 for 2016: the old file with the slip must not stand over the county's corrected one."""
    from datetime import date

    from pipeline.run.report import build_run
    from tests.builders import write_return

    unit = units.by_code("620104")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    old = write_return(inbox, form, unit, name="西固区_旧.xlsx", filed_on=date(2061, 12, 1))
    new = write_return(inbox, form, unit, name="西固区_改.xlsx", filed_on=date(2016, 12, 7))
    os.utime(old, (2_000_000_000, 2_000_000_000))  # and the old one even looks newer on disk
    run = build_run(inbox, settings, form=form, units=units)
    status = next(u for u in run.roster.units if u.code == unit.code)
    assert status.source.path == new.name and [s.path for s in status.superseded] == [old.name]
    # Said of the file that stands only when it stands: here the slip's file is superseded.
    alone = tmp_path / "alone"
    alone.mkdir()
    write_return(alone, form, unit, filed_on=date(2061, 12, 1))
    run = build_run(alone, settings, form=form, units=units)
    [f] = [f for f in run.findings if f.rule == "date-in-future"]
    assert f.severity.value == "warning" and "2061年12月1日" in f.message and f.county_code == unit.code


def test_findings_follow_the_forms_sheet_order_not_code_points():
    """二 sorts after 三 by code point; a clerk reads 表一, 表二, 表三 (and 表十 after 表九)."""
    from pipeline.model import Finding, Severity

    sheets = ["表三帮扶成效", "表十", "表二问题排查整改", "表九", "表一走访情况"]
    found = [Finding(Severity.ERROR, "a.xlsx", CODE, s, "C5", "", "rule", "") for s in sheets]
    assert [f.sheet for f in sorted(found, key=lambda f: f.sort_key)] == [
        "表一走访情况", "表二问题排查整改", "表三帮扶成效", "表九", "表十"]
