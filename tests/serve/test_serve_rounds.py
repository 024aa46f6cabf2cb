"""The submission page with ROUND=: each upload compared at once with the previous round that
`make report ROUND=…` would pick, by the same compare functions, against the real server.

Round 2016-11 is made by `python -m pipeline report --round 2016-11` from four counties'
clean returns. Then the server runs with `--round 2016-12` on a new inbox: 城关区 uploads a
return whose 宣传政策场次 fell in one township and whose third township has a new name; 七里河区
uploads figures all higher; 安宁区's return, whose figure fell too, is emailed and put into
the inbox by hand.
"""

from __future__ import annotations

import html
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from pipeline.outputs.formbook import build_return, build_with_plans, workbook_bytes
from pipeline.paths import ROOT
from pipeline.run.report import build_run
from pipeline.stages.compare import ALONE
from pipeline.store.rounds import STAMP, RoundPlan, find_previous
from tests.builders import clean_rows
from tests.serving import request, start_server, upload

ROUND1, ROUND2 = "2016-11", "2016-12"
FELL = "policy_sessions"
NEW_NAME = "新名乡"
FALLEN, HIGHER, BY_HAND, IDLE = "620102", "620103", "620105", "620104"


def workbook(form, unit, rows) -> bytes:
    return workbook_bytes(build_return(form, unit, rows))


def fallen_rows(i: int = 0) -> list[dict]:
    rows = clean_rows()
    rows[i][FELL] -= 40
    return rows


def higher_rows(by: int = 10) -> list[dict]:
    return [r | {k: v + by for k, v in r.items() if k != "township"} for r in clean_rows()]


def make_round(inbox: Path, outbox: Path, name: str) -> None:
    r = subprocess.run([sys.executable, "-m", "pipeline", "report", "--inbox", str(inbox), "--outbox", str(outbox),
                        "--round", name], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


def first_round(base: Path, form, units, bumped: dict[str, list[dict]] | None = None) -> Path:
    folder = base / f"round1-{len(list(base.iterdir()))}"
    folder.mkdir()
    for code in (FALLEN, HIGHER, BY_HAND, IDLE):
        unit = units.by_code(code)
        rows = (bumped or {}).get(code, clean_rows())
        (folder / f"{code}_{unit.name}.xlsx").write_bytes(workbook(form, unit, rows))
    return folder


def sheet_of(form, key: str):
    return next(s for s in form.sheets if key in [f.key for f in s.count_fields])


def cell(form, unit, rows, sheet_key: str, field: str, i: int) -> str:
    from openpyxl.utils import get_column_letter

    plan = build_with_plans(form, unit, rows, filed_on=None)[1][sheet_key]
    return f"{get_column_letter(plan.columns[field])}{plan.first_data + i}"


def cross_period(findings: list[dict]) -> set[tuple]:
    return {(f["severity"], f["rule"], f["sheet"], f["cell"], f["field"]) for f in findings}


@pytest.fixture(scope="module")
def second_round(tmp_path_factory, form, units):
    base = tmp_path_factory.mktemp("serve-rounds")
    outbox, inbox = base / "outbox", base / "inbox"
    make_round(first_round(base, form, units), outbox, ROUND1)
    inbox.mkdir()
    by_hand = units.by_code(BY_HAND)
    (inbox / f"{by_hand.code}_{by_hand.name}_邮件.xlsx").write_bytes(workbook(form, by_hand, fallen_rows(1)))
    server = start_server(inbox, outbox, "--round", ROUND2, upload_interval_seconds=0)
    yield server, inbox, outbox
    server.stop()


def test_an_upload_whose_figure_fell_is_warned_at_its_cells_and_accepted(second_round, form, units):
    server, inbox, _ = second_round
    unit = units.by_code(FALLEN)
    rows = fallen_rows(0)
    rows[2]["township"] = NEW_NAME
    answer = upload(server.links()[unit.code], "城关区.xlsx", workbook(form, unit, rows),
                    explanation="该乡镇按新口径重新统计。")
    assert answer.status == 200, answer.body[:500]
    body = answer.json
    assert body["status"] == "accepted" and (inbox / body["file"]).is_file()
    outcomes, visits = sheet_of(form, FELL), form.sheets[0]
    assert cross_period(body["findings"]) == {
        ("warning", "below-previous", f"{outcomes.number}{outcomes.label}", cell(form, unit, rows, outcomes.key, FELL, 0),
         FELL),
        ("info", "township-added", f"{visits.number}{visits.label}",
         cell(form, unit, rows, visits.key, "township", 2), "township"),
        ("info", "township-dropped", "", "", "township"),
    }
    below = next(f for f in body["findings"] if f["rule"] == "below-previous")
    was = clean_rows()[0][FELL]
    assert f"由上期的{was}场次降为{was - 40}场次，累计数一般不应减少，请核实" in below["message"]
    dropped = next(f for f in body["findings"] if f["rule"] == "township-dropped")
    assert clean_rows()[2]["township"] in dropped["message"]
    # The page a person sees: the warning at its cell, the return taken, the 上报说明 kept.
    page = request("GET", server.links()[unit.code]).text
    assert form.location(below["sheet"], below["cell"], below["field"]) in page
    assert html.escape(below["message"], quote=False) in page
    assert "与上期（2016-11）比较" in page
    office = request("GET", server.status_url()).text
    assert "该乡镇按新口径重新统计。" in office


def test_an_upload_that_did_not_fall_gets_no_warning(second_round, form, units):
    server, _, _ = second_round
    unit = units.by_code(HIGHER)
    answer = upload(server.links()[unit.code], "七里河区.xlsx", workbook(form, unit, higher_rows()))
    assert answer.status == 200
    assert answer.json["findings"] == []


def test_an_emailed_return_put_in_by_hand_is_compared_too(second_round, form, units):
    server, inbox, _ = second_round
    unit = units.by_code(BY_HAND)
    section = request("GET", server.links()[unit.code]).text.split('id="standing"')[1].split("</section>")[0]
    outcomes = sheet_of(form, FELL)
    ref = cell(form, unit, fallen_rows(1), outcomes.key, FELL, 1)
    assert f"{outcomes.number} 第{ref[1:]}行 {ref[0]}列（{form.field(FELL).full_label}）" in section
    assert "累计数一般不应减少" in section and "已报送" in section
    detail = request("GET", f"{server.status_url()}/{unit.code}").text
    assert "累计数一般不应减少" in detail


def test_the_page_says_what_make_report_says_of_the_same_files(second_round, form, units, settings):
    """One code path: for each upload, the page's findings are the report's for that file, but
    for the rules that weigh a county against all the others (they wait for make report)."""
    server, inbox, outbox = second_round
    unit = units.by_code(FALLEN)
    rows = fallen_rows(0)
    rows[1][FELL] += 1  # another return than the first test's: stored anew, compared anew
    page = upload(server.links()[unit.code], "城关区.xlsx", workbook(form, unit, rows)).json
    assert page["status"] == "accepted"
    stamp = datetime.now().strftime(STAMP)
    run = build_run(inbox, settings, form=form, units=units,
                    round_plan=RoundPlan(ROUND2, datetime.now(), stamp, find_previous(outbox, ROUND2, stamp)))
    assert run.comparison is not None and run.comparison.previous_round == ROUND1
    among_all = {a.id for s in form.sheets for a in s.across if a.check not in ALONE} | {"same-as-previous", "same-as-another", "township-copied"}
    report = [(f.severity.value, f.file, f.county_code, f.sheet, f.cell, f.field, f.rule, f.message)
              for f in run.findings if f.file == page["file"] and f.rule not in among_all]
    assert [tuple(f.values()) for f in page["findings"]] == report
    assert any(f["rule"] == "below-previous" for f in page["findings"])


def test_the_server_reads_the_previous_round_again_when_it_is_remade(tmp_path, form, units):
    """A round re-made while the server runs: the next page view compares with its newest snapshot."""
    outbox, inbox = tmp_path / "outbox", tmp_path / "inbox"
    make_round(first_round(tmp_path, form, units), outbox, ROUND1)
    inbox.mkdir()
    server = start_server(inbox, outbox, "--round", ROUND2, upload_interval_seconds=0)
    try:
        assert "本轮：2016-12；上传的报表即与上期（2016-11）比较" in server.said("本轮：")
        unit = units.by_code(IDLE)
        data = workbook(form, unit, clean_rows())
        # the very file of last round again: said on the page at once, as make report says it
        first = upload(server.links()[unit.code], "a.xlsx", data).json["findings"]
        assert [(f["rule"], f["severity"]) for f in first] == [("same-file-as-previous", "warning")]
        assert "与上期（2016年11月）汇总时用的文件完全相同" in first[0]["message"]
        # The office re-makes round 2016-11 with 安宁区's figures higher than its upload's.
        make_round(first_round(tmp_path, form, units, {IDLE: higher_rows(5)}), outbox, ROUND1)
        page = request("GET", server.links()[unit.code]).text
        watched = sum(len(a.fields) for s in form.sheets for a in s.across if a.check == "not-below")
        assert page.count("累计数一般不应减少") == watched * len(clean_rows())  # every count fell, in every township
        again = upload(server.links()[unit.code], "a.xlsx", data).json
        assert again["unchanged"] and {f["rule"] for f in again["findings"]} == {"below-previous"}
        assert "上期（2016-11）" in server.output().split("报送页已启动")[1].split("本轮：")[-1]
    finally:
        server.stop()


def test_serve_refuses_a_round_as_make_report_does(tmp_path):
    (tmp_path / "in").mkdir()
    for args, words in ((["--round", "a/b"], "不能用作文件夹名"), (["--previous", "2016-11"], "没有指定本轮"),
                        (["--round", "x", "--previous", "x"], "一轮不与自身比较"),
                        (["--round", "x", "--previous", "nowhere"], "找不到上期")):
        r = subprocess.run([sys.executable, "-m", "pipeline", "serve", "--inbox", str(tmp_path / "in"),
                            "--outbox", str(tmp_path / "out"), "--port", "0", *args],
                           cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert r.returncode == 2 and words in r.stderr, (args, r.stderr)


def test_a_damaged_previous_round_is_said_and_uploads_go_on_without_a_comparison(tmp_path, form, units):
    outbox, inbox = tmp_path / "outbox", tmp_path / "inbox"
    kept = outbox / "rounds" / ROUND1 / "20161130-090000"
    kept.mkdir(parents=True)
    (kept / "snapshot.json").write_bytes(b'{"format": 1, "round": "2016-11", "tot')
    inbox.mkdir()
    server = start_server(inbox, outbox, "--round", ROUND2, upload_interval_seconds=0)
    try:
        assert "上期快照" in server.said("已损坏") and "已损坏" in server.output()
        unit = units.by_code(FALLEN)
        answer = upload(server.links()[unit.code], "a.xlsx", workbook(form, unit, fallen_rows(0)))
        assert answer.status == 200 and answer.json["findings"] == []
        page = request("GET", server.links()[unit.code]).text
        assert "已损坏" not in page and str(outbox) not in page  # the office's trouble, and its folders
        assert "已损坏" in request("GET", server.status_url()).text  # the office sees it on its page too
    finally:
        server.stop()
