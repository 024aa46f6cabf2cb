"""One county's tables in several files, combined into its one return (issue 25): a CSV a table
(GBK, or UTF-8 with a BOM), a workbook a table. Its 填报日期 the latest of theirs, every finding
naming its own file, a table sent twice decided per table with the reason said; combined only
when they are the county's only files. Read and checked as a run does (run/check), each case
built in tmp_path."""

from __future__ import annotations

from datetime import date

from pipeline.outputs.formbook import Layout, workbook_bytes
from pipeline.run.check import check_files
from pipeline.run.report import build_run
from pipeline.run.runner import Guard
from pipeline.stages.combine import combine
from pipeline.store.inbox import take_view
from tests.builders import clean_rows, expected_numbers, neighbours_rows, numbers_of, reload, save, to_csvs, write_return
from tests.habits import CODE, OUTCOMES, PROBLEMS, VISITS, built, column

SHEETS = (VISITS, PROBLEMS, OUTCOMES)


def checked(folder, form, units):
    view = take_view(folder)
    return check_files(list(view.sources), view.data, form, units, guard=Guard(form))


def redated(data: bytes, day: int) -> bytes:
    """The workbook with its 填报日期 changed to 2016-12-`day`."""
    wb = reload(data)
    for ws in wb.worksheets:
        for row in ws.iter_rows(max_row=3):
            for c in row:
                if isinstance(c.value, str) and c.value.startswith("填报日期"):
                    c.value = f"填报日期：2016年12月{day}日"
    return save(wb)


def one_table_each(data: bytes) -> dict[str, bytes]:
    """The workbook split into a workbook per table, as a county sends them."""
    out = {}
    for keep in SHEETS:
        wb = reload(data)
        for name in SHEETS:
            if name != keep:
                wb.remove(wb[name])
        out[keep] = save(wb)
    return out


def test_three_csvs_in_a_countys_folder_are_its_one_return(tmp_path, form, units, settings):
    inbox = tmp_path / "inbox"
    (inbox / "城关区").mkdir(parents=True)
    rows = clean_rows()
    wb, _ = built(form, units, rows, layout=Layout(title=False))  # no 填报单位: the folder names the county
    for title, body in to_csvs(workbook_bytes(wb), "gbk").items():
        (inbox / "城关区" / f"{title[:2]}.csv").write_bytes(body)
    write_return(inbox, form, units.by_code("620103"), rows=neighbours_rows())
    run = build_run(inbox, settings)
    unit = next(u for u in run.roster.units if u.code == CODE)
    assert unit.status == "included" and unit.source.path == "城关区/表一.csv、表二.csv、表三.csv"
    assert unit.source.parts == ("城关区/表一.csv", "城关区/表二.csv", "城关区/表三.csv")
    assert {int(run.totals.counties.loc[CODE][k]) for k in ("villages_total",)} == {sum(r["villages_total"] for r in rows)}
    own = {(f.severity.value, f.rule, f.file) for f in run.findings if f.county_code == CODE}
    assert own == {("info", "tables-combined", unit.source.path),  # each file's name names its table: 表一…
                   *(("warning", "date-missing", f"城关区/{t[:2]}.csv") for t in SHEETS)}
    manifest = run.files["manifest.csv"].decode("utf-8-sig")
    assert all(f"城关区/{t[:2]}.csv," in manifest and manifest.count("已报送") >= 3 for t in SHEETS)


def test_a_workbook_a_table_is_one_return_with_the_latest_date(tmp_path, form, units):
    rows = clean_rows()
    parts = {}
    for i, (sheet, body) in enumerate(one_table_each(workbook_bytes(built(form, units, rows)[0])).items()):
        parts[sheet] = redated(body, 5 + i)
        (tmp_path / f"城关区{sheet[:2]}.xlsx").write_bytes(parts[sheet])
    done = checked(tmp_path, form, units)
    [result] = done.results
    assert result.ret.filed_on == date(2016, 12, 7)
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)
    assert {f.rule for f in done.findings} == {"tables-combined"}
    assert {s.file for s in result.ret.sheets.values()} == {f"城关区{s[:2]}.xlsx" for s in SHEETS}


def test_every_finding_names_its_own_file(tmp_path, form, units):
    rows = clean_rows()
    rows[1]["precision_fixed"] = rows[1]["precision_found"] + 4  # validation: more fixed than found
    rows[2]["policy_sessions"] = "十二"  # reading: not a count
    wb, plans = built(form, units, rows)
    for title, body in to_csvs(workbook_bytes(wb), "utf-8-sig").items():
        (tmp_path / f"{CODE}_{title[:2]}.csv").write_bytes(body)
    done = checked(tmp_path, form, units)
    p, o = plans["problems"], plans["outcomes"]
    got = {(f.rule, f.file, f.sheet, f.cell) for f in done.findings if f.severity.value == "error"}
    assert got == {("fixed-exceeds-found", f"{CODE}_表二.csv", f"{CODE}_表二", f"{column(p, 'precision_fixed')}{p.first_data + 1}"),
                   ("not-a-count", f"{CODE}_表三.csv", f"{CODE}_表三", f"{column(o, 'policy_sessions')}{o.first_data + 2}")}
    by_file = done.checked()
    assert [f.rule for f in by_file[f"{CODE}_表二.csv"].findings if f.severity.value == "error"] == ["fixed-exceeds-found"]


def test_a_table_sent_twice_is_decided_per_table_with_the_reason_said(tmp_path, form, units):
    rows = clean_rows()
    split = one_table_each(workbook_bytes(built(form, units, rows)[0]))
    older_rows = [dict(r, villages_total="约12") for r in rows]  # the older 表一: its problems go with it
    older = one_table_each(workbook_bytes(built(form, units, older_rows, filed_on=date(2016, 12, 3))[0]))
    (tmp_path / "城关区表一（旧）.xlsx").write_bytes(older[VISITS])
    (tmp_path / "城关区表一.xlsx").write_bytes(redated(split[VISITS], 8))
    (tmp_path / "城关区表二.xlsx").write_bytes(split[PROBLEMS])
    (tmp_path / "城关区表三.xlsx").write_bytes(split[OUTCOMES])
    done = checked(tmp_path, form, units)
    [result] = done.results
    assert numbers_of(result.ret, form) == expected_numbers(rows, form)
    assert result.ret.sheets["visits"].file == "城关区表一.xlsx" and result.ret.filed_on == date(2016, 12, 8)
    assert {(f.severity.value, f.rule, f.file) for f in done.findings} == {
        ("info", "tables-combined", result.source.path),
        ("warning", "table-superseded", "城关区表一（旧）.xlsx")}
    [f] = [f for f in done.findings if f.rule == "table-superseded"]
    assert f.message == ("本文件的表一走访情况另有“城关区表一.xlsx”中的同一张表（填报日期较晚），按规则采用那一张，"
                         "本文件的这张表未计入汇总。")


def test_a_county_that_also_sent_a_whole_return_is_left_to_the_resubmission_rule(tmp_path, form, units):
    rows = clean_rows()
    split = one_table_each(workbook_bytes(built(form, units, rows)[0]))
    (tmp_path / "城关区表二.xlsx").write_bytes(split[PROBLEMS])
    (tmp_path / "城关区表三.xlsx").write_bytes(split[OUTCOMES])
    write_return(tmp_path, form, units.by_code(CODE))
    done = checked(tmp_path, form, units)
    assert len(done.results) == 3 and not any(r.source.parts for r in done.results)


def test_the_stage_keeps_a_single_file_and_other_counties_as_they_are(form, units, tmp_path):
    write_return(tmp_path, form, units.by_code(CODE))
    write_return(tmp_path, form, units.by_code("620103"))
    view = take_view(tmp_path)
    from pipeline.stages.read.sources import read_sources

    results = read_sources([(s, view.data[s.path]) for s in view.readable()], form, units)
    assert combine(form, units, list(view.sources), results, []) == (results, [])


def test_a_skipped_text_file_whose_content_names_a_county_is_its_finding(tmp_path, form, units):
    page = "<html><body><table><tr><td>填报单位：城关区双联办</td></tr><tr><td>报送说明</td></tr></table></body></html>"
    (tmp_path / "说明.htm").write_bytes(page.encode("gbk"))
    done = checked(tmp_path, form, units)
    [result] = done.results
    assert result.ret.county_code == CODE and result.ret.sheets == {}
    assert [(f.severity.value, f.rule, f.county_code) for f in done.findings] == [("error", "skipped-return", CODE)]


def test_a_fault_while_combining_is_that_countys_alone(tmp_path, form, units, monkeypatch):
    import pipeline.stages.combine as combine_module

    wb, _ = built(form, units, clean_rows())
    for title, body in to_csvs(workbook_bytes(wb)).items():
        (tmp_path / f"{CODE}_{title[:2]}.csv").write_bytes(body)
    write_return(tmp_path, form, units.by_code("620103"))

    def broken(*args):
        raise RuntimeError("deliberately broken")

    monkeypatch.setattr(combine_module, "_combined", broken)
    done = checked(tmp_path, form, units)
    faults = [f for f in done.findings if f.rule == "internal-error"]
    assert [(f.file, f.county_code, f.severity.value) for f in faults] == [(f"{CODE}_表一.csv", CODE, "error")]
    assert len(done.results) == 4  # its three files apart, and the other county's return as it was
    assert not [f for f in done.findings if f.county_code == "620103"]


def test_the_page_combines_a_countys_tables_as_they_come_one_file_at_a_time(tmp_path, form, units):
    """The submission page looks at the inbox again and again, checking only what is new: a
    county's tables that arrive one file at a time are still one return, as make report sees
    them, and one file taken away makes the return whole again from the others."""
    from pipeline.serve.desk import Desk

    rows = clean_rows()
    csvs = {title[:2]: body for title, body in to_csvs(workbook_bytes(built(form, units, rows)[0]), "gbk").items()}
    (tmp_path / f"{CODE}_表一.csv").write_bytes(csvs["表一"])
    desk = Desk(tmp_path, form, units)
    desk.refresh()
    unit = next(u for u in desk.roster.units if u.code == CODE)
    assert unit.status == "rejected" and not unit.source.parts  # two tables missing
    for name in ("表二", "表三"):
        (tmp_path / f"{CODE}_{name}.csv").write_bytes(csvs[name])
    desk.refresh()
    unit = next(u for u in desk.roster.units if u.code == CODE)
    assert (unit.status, unit.superseded) == ("included", ())
    assert unit.source.parts == tuple(f"{CODE}_{t}.csv" for t in ("表一", "表二", "表三"))
    assert not [f for f in desk.state.findings if f.severity.value != "info"]
    (tmp_path / f"{CODE}_表二.csv").unlink()
    desk.refresh()
    unit = next(u for u in desk.roster.units if u.code == CODE)
    assert unit.status == "rejected" and unit.source.parts == (f"{CODE}_表一.csv", f"{CODE}_表三.csv")
    assert [f.rule for f in desk.state.findings if f.severity.value == "error"] == ["missing-sheet"]


def test_each_tables_rows_name_its_own_file_in_detail_drill_through_and_links(tmp_path, form, units, settings):
    """A return combined from a workbook a table: 明细 and report.html's breakdown named the
    county's files all together (the first of them, an older one maybe, held the cell named),
    their 单元格 blank; and a finding in one part had no link in validation.html."""
    import json
    import re
    from io import BytesIO

    from openpyxl import load_workbook

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    rows = clean_rows()
    wb, plans = built(form, units, rows)
    wb[PROBLEMS].row_dimensions[plans["problems"].first_data + 1].hidden = True  # a warning at a cell of 表二's file
    for sheet, body in one_table_each(workbook_bytes(wb)).items():
        (inbox / f"城关区{sheet[:2]}.xlsx").write_bytes(body)
    write_return(inbox, form, units.by_code("620103"), rows=neighbours_rows())
    run = build_run(inbox, settings)
    detail = load_workbook(BytesIO(run.files["consolidated.xlsx"]))
    for sheet in SHEETS:
        ws = next(ws for ws in detail.worksheets if ws.title.startswith("乡镇明细") and sheet[3:] in ws.title)
        head = [c.value for c in ws[1]]
        mine = [r for r in ws.iter_rows(min_row=2, values_only=True) if r[0] == CODE]
        assert mine and {r[head.index("文件")] for r in mine} == {f"城关区{sheet[:2]}.xlsx"}
        assert all(r[-1] and not r[-1].startswith("—") for r in mine)  # each row's cells named
    page = run.files["report.html"].decode("utf-8")
    data = json.loads(re.search(r'<script type="application/json" id="drill-data">(.*?)</script>', page, re.S).group(1))
    at = next(i for i, c in enumerate(data["counties"]) if c[0] == CODE)
    assert [t[3] for t in data["towns"][str(at)]] == [f"城关区{s[:2]}.xlsx" for s in SHEETS]
    assert "report.html#cell=620102:" in run.files["validation.html"].decode("utf-8")
