"""What `make report` prints, exactly (as sqlite-utils tests its CLI's output): the office reads
these lines, and a change to them is a decision, not an accident."""

from __future__ import annotations

import shutil

from pipeline import cli
from tests.builders import EXAMPLE, clean_rows, write_return


def run(capsys, *args) -> tuple[int, str, str]:
    code = cli.main(["report", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_whole_inbox(tmp_path, capsys):
    code, out, err = run(capsys, "--inbox", EXAMPLE, "--outbox", tmp_path / "out")
    assert (code, err) == (0, "")
    assert out == (
        "收到报表文件 87 个；应报送单位 87 个：\n"
        "  已报送（已汇总） 87 个\n"
        "  已退回（有错误） 0 个\n"
        "  未报送         0 个\n"
        "  被替代的文件   0 个；无法识别单位的文件 0 个\n"
        f"输出已写入 {tmp_path / 'out'}：consolidated.xlsx、findings.csv、manifest.csv、report.docx、report.html、"
        "roster.csv、totals.csv、validation.html\n"
    )


def test_a_partial_inbox_and_strict(tmp_path, capsys, form, units):
    inbox = tmp_path / "inbox"
    shutil.copytree(EXAMPLE, inbox)
    (inbox / "620103_七里河区.xlsx").unlink()  # missing
    bad = clean_rows()
    bad[0]["villages_visited"] = bad[0]["villages_total"] + 1  # an error: rejected
    write_return(inbox, form, units.by_code("620104"), bad)
    write_return(inbox, form, units.by_code("620105"), clean_rows(), name="620105_安宁区_旧.xlsx", filed_on=None)
    (inbox / "说明.txt").write_text("附件说明", encoding="utf-8")
    code, out, err = run(capsys, "--inbox", inbox, "--outbox", tmp_path / "out", "--strict")
    assert (code, err) == (1, "")
    assert out == (
        "收到报表文件 87 个；应报送单位 87 个：\n"
        "  已报送（已汇总） 85 个\n"
        "  已退回（有错误） 1 个\n"
        "  未报送         1 个\n"
        "  被替代的文件   1 个；无法识别单位的文件 0 个\n"
        "注意：汇总数为部分数据（有单位未报送或被退回），详见报告“数据说明”。\n"
        f"输出已写入 {tmp_path / 'out'}：consolidated.xlsx、findings.csv、manifest.csv、report.docx、report.html、"
        "returns、roster.csv、totals.csv、validation.html\n"
    )


def test_a_round_says_where_it_was_kept(tmp_path, capsys):
    out_dir = tmp_path / "out"
    inbox = tmp_path / "inbox"
    shutil.copytree(EXAMPLE, inbox)
    code, out, _ = run(capsys, "--inbox", inbox, "--outbox", out_dir, "--round", "2016-11")
    assert code == 0
    [stamp] = [p.name for p in (out_dir / "rounds" / "2016-11").iterdir()]
    assert out.splitlines()[-2:] == [f"本轮（2016-11）的快照已保存：rounds/2016-11/{stamp}/。", "没有更早的一轮：本期不作比较。"]
    code, out, _ = run(capsys, "--inbox", inbox, "--outbox", out_dir, "--round", "2016-12")
    assert code == 0
    assert out.splitlines()[-1] == "已与上期（2016-11）比较：可比单位 87 个。"


def test_a_refusal_is_one_chinese_line_and_status_2(tmp_path, capsys):
    code, out, err = run(capsys, "--inbox", tmp_path / "nowhere", "--outbox", tmp_path / "out")
    assert (code, out) == (2, "")
    assert err == f"错误：收件箱文件夹不存在：{tmp_path / 'nowhere'}；请检查 INBOX=（或 --inbox）给出的路径。\n"
