"""The office's machine as it really behaves: permissions, shares, odd entries, disk errors, paths
with shell characters, a form's files gone. Each case: the run goes on and says what it could not
read (a finding naming the entry), or, when nothing can be done, one Chinese line and status 2.

Permissions are tested as an account without root's override would meet them: the run is started
under `setpriv --bounding-set -dac_override,-dac_read_search` (root's power to read any file is
dropped), so a file made unreadable is unreadable here too.
"""

from __future__ import annotations

import csv
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.paths import ROOT
from pipeline.run.report import build_run
from tests.builders import EXAMPLE

SETPRIV = shutil.which("setpriv")
UNPRIVILEGED = [SETPRIV, "--bounding-set", "-dac_override,-dac_read_search", "--inh-caps", "-all"] if SETPRIV else []
needs_setpriv = pytest.mark.skipif(not SETPRIV and not os.environ.get("CI"), reason="setpriv (util-linux) is missing")


def _inbox(tmp_path: Path, codes=("620102", "620103", "620104")) -> Path:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for path in EXAMPLE.iterdir():
        if path.name[:6] in codes:
            shutil.copy(path, inbox / path.name)
    return inbox


def _report(inbox: Path, outbox: Path, *extra: str, unprivileged: bool = False, env=None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "pipeline", "report", "--inbox", str(inbox), "--outbox", str(outbox), *extra]
    return subprocess.run([*(UNPRIVILEGED if unprivileged else []), *command], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env=env)


def _rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def _findings(outbox: Path) -> list[tuple[str, str, str, str]]:
    return [(r["severity"], r["file"], r["county_code"], r["rule"]) for r in _rows(outbox / "findings.csv")]


def _status(outbox: Path) -> dict[str, str]:
    return {r["code"]: r["status"] for r in _rows(outbox / "roster.csv")}


@needs_setpriv
def test_one_return_the_account_cannot_read_is_that_files_finding(tmp_path):
    inbox = _inbox(tmp_path)
    (inbox / "620103_七里河区.xlsx").chmod(0)
    done = _report(inbox, tmp_path / "out", unprivileged=True)
    assert done.returncode == 0, done.stderr
    assert ("error", "620103_七里河区.xlsx", "620103", "not-read-here") in _findings(tmp_path / "out")
    message = next(r["message"] for r in _rows(tmp_path / "out" / "findings.csv") if r["rule"] == "not-read-here")
    # The office's machine, not the county's file: never "export it again as .xlsx".
    assert "没有读取权限" in message and "不是报表本身的问题" in message and "重新导出" not in message
    # Nothing the county did: never 因数据有误退回 with a workbook to fix (a reviewer's find). It is
    # not yet received, and the file is named beside it, in the console and in the report.
    status = _status(tmp_path / "out")
    assert status["620103"] == "未报送" and status["620102"] == status["620104"] == "已报送"
    assert not (tmp_path / "out" / "returns").exists() or not list((tmp_path / "out" / "returns").glob("620103*"))
    said = "收件箱中另有1处未能打开：“620103_七里河区.xlsx”（本机无法读取），其中的报表都没有读取"
    assert f"注意：{said}" in done.stdout
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert said in page and "因数据有误退回" not in page


@needs_setpriv
def test_a_folder_the_account_cannot_open_is_an_error_and_make_check_fails(tmp_path):
    inbox = _inbox(tmp_path, codes=())
    shutil.copytree(EXAMPLE, inbox / "all")  # every unit, so nothing is missing
    locked = inbox / "兰州市"
    locked.mkdir()
    for path in EXAMPLE.iterdir():
        if path.name.startswith("6201"):
            shutil.copy(path, locked / path.name)
    locked.chmod(0)
    try:
        done = _report(inbox, tmp_path / "out", unprivileged=True)
        assert done.returncode == 0, done.stderr
        assert ("error", "兰州市", "", "folder-unreadable") in _findings(tmp_path / "out")
        assert set(_status(tmp_path / "out").values()) == {"已报送"}
        strict = _report(inbox, tmp_path / "out2", "--strict", unprivileged=True)
        assert strict.returncode == 1, "every unit is included, yet returns were left unread"
    finally:
        locked.chmod(0o755)


@needs_setpriv
def test_the_whole_default_inbox_unreadable_is_one_line_never_the_example(tmp_path, monkeypatch, capsys):
    inbox = _inbox(tmp_path)
    inbox.chmod(0)
    try:
        code = ("import sys; from pathlib import Path; from pipeline import cli; cli.DEFAULT_INBOX = Path(sys.argv[1]);"
                "sys.exit(cli.main(['report', '--outbox', sys.argv[2]]))")
        done = subprocess.run([*UNPRIVILEGED, sys.executable, "-c", code, str(inbox), str(tmp_path / "out")], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
    finally:
        inbox.chmod(0o755)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"错误：无法读取收件箱 {inbox}（没有读取权限）：请检查这个文件夹的权限，或把 INBOX= 指向本账户能读取的文件夹。"]
    assert "示例数据" not in done.stdout and not (tmp_path / "out" / "report.html").exists()


def test_a_file_named_in_gbk_bytes_is_read_and_shown_decoded(tmp_path):
    inbox = _inbox(tmp_path, codes=("620102",))
    raw = "620103_七里河区.xlsx".encode("gbk")
    with open(os.path.join(os.fsencode(inbox), raw), "wb") as f:
        f.write((EXAMPLE / "620103_七里河区.xlsx").read_bytes())
    done = _report(inbox, tmp_path / "out")
    assert done.returncode == 0, done.stderr
    status = _status(tmp_path / "out")
    assert status["620102"] == status["620103"] == "已报送"
    files = [r["file"] for r in _rows(tmp_path / "out" / "manifest.csv")]
    assert "620103_七里河区.xlsx" in files  # shown as people read it


def test_a_name_neither_utf8_nor_gbk_is_shown_with_replacement_marks(tmp_path):
    inbox = _inbox(tmp_path, codes=("620102",))
    with open(os.path.join(os.fsencode(inbox), b"\xff\xfe\xfd.txt"), "wb") as f:
        f.write(b"x")
    done = _report(inbox, tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert any("\ufffd" in r["file"] for r in _rows(tmp_path / "out" / "manifest.csv"))


def test_links_pipes_and_sockets_are_listed_and_never_opened(tmp_path):
    inbox = _inbox(tmp_path, codes=("620102",))
    (inbox / "循环.xlsx").symlink_to(inbox / "循环.xlsx")
    (inbox / "620104_西固区.xlsx").symlink_to(tmp_path / "nowhere.xlsx")  # dangling, named as a return
    elsewhere = tmp_path / "补报"
    elsewhere.mkdir()
    shutil.copy(EXAMPLE / "620111_红古区.xlsx", elsewhere / "620111_红古区.xlsx")
    (inbox / "别处").symlink_to(elsewhere, target_is_directory=True)  # a linked folder: entered, as if here
    (inbox / "上级").symlink_to(inbox, target_is_directory=True)  # a link up the tree: not read twice
    (inbox / "620105_安宁区.xlsx").symlink_to(EXAMPLE / "620105_安宁区.xlsx")  # a link to a return: read
    os.mkfifo(inbox / "620103_七里河区.xlsx")  # a pipe: opening it would wait for ever
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(inbox / "服务.sock"))
    try:
        done = _report(inbox, tmp_path / "out")
    finally:
        listener.close()
    assert done.returncode == 0, done.stderr
    found = {(f, rule) for _, f, _, rule in _findings(tmp_path / "out")}
    # A link that leads nowhere is this machine's to mend, never the county's to export again (a
    # reviewer's find: told 请重新导出为.xlsx后报送); a pipe named as a return cannot be opened.
    assert ("循环.xlsx", "not-read-here") in found
    assert ("620104_西固区.xlsx", "not-read-here") in found
    assert ("620103_七里河区.xlsx", "unreadable") in found
    assert ("上级", "not-a-file") in found and ("服务.sock", "not-a-file") in found
    manifest = {r["file"]: r["status"] for r in _rows(tmp_path / "out" / "manifest.csv")}
    assert {"循环.xlsx", "620104_西固区.xlsx", "上级", "620103_七里河区.xlsx", "服务.sock",
            "别处/620111_红古区.xlsx"} <= set(manifest)
    status = _status(tmp_path / "out")
    assert status["620105"] == "已报送" and status["620104"] == "未报送" and status["620103"] == "已退回"
    assert status["620111"] == "已报送"  # a correction in a linked folder was left unread, with only a note


def test_a_disk_error_on_one_file_is_that_files_finding(tmp_path, settings, monkeypatch):
    import errno

    from pipeline.store import inbox as inbox_module

    inbox = _inbox(tmp_path)
    real = inbox_module._open_regular

    def failing(path):
        if path.endswith("620103_七里河区.xlsx"):
            raise OSError(errno.EIO, os.strerror(errno.EIO), path)
        return real(path)

    monkeypatch.setattr(inbox_module, "_open_regular", failing)
    run = build_run(inbox, settings)
    [f] = [f for f in run.findings if f.file == "620103_七里河区.xlsx"]
    assert (f.rule, f.county_code, f.severity.value) == ("not-read-here", "620103", "error") and "磁盘读写出错" in f.message
    assert {u.code: u.status for u in run.roster.units if u.code in ("620102", "620103", "620104")} == {
        "620102": "included", "620103": "missing", "620104": "included"}
    assert run.roster.unopened == (("620103_七里河区.xlsx", "本机无法读取"),)


def test_sigterm_while_the_program_starts_is_always_已中断_and_130(tmp_path):
    """From the moment this program's code runs, a SIGTERM or Ctrl-C at any instant of the first
    0.3 s (while it is still loading its modules) ends it with 已中断 and status 130, never a
    program error. (Before the interpreter runs any of it, no program can answer a signal.)"""
    inbox = _inbox(tmp_path)
    for i in range(12):
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "pipeline", "report", "--inbox", str(inbox),
                                 "--outbox", str(tmp_path / f"out{i}")], cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        while not _catches_sigterm(proc.pid) and proc.poll() is None:
            time.sleep(0.0005)
        time.sleep(max(0.0, (i / 12) * 0.3 - (time.monotonic() - started)))
        proc.send_signal(signal.SIGTERM if i % 2 else signal.SIGINT)
        out, err = proc.communicate(timeout=120)
        if proc.returncode == 0:
            continue  # it finished first
        assert proc.returncode == 130, err.decode()
        assert err.decode().count("已中断") == 1 and "程序内部出错" not in err.decode(), err.decode()


def _catches_sigterm(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            caught = next(int(line.split()[1], 16) for line in f if line.startswith("SigCgt:"))
    except (OSError, StopIteration):
        return False
    return bool(caught & (1 << (signal.SIGTERM - 1)))


@pytest.mark.parametrize("name", ['a$b', 'in"box', "in`touch PWNED`box", "o'ne $(touch PWNED) two", "空 格"])
def test_paths_given_to_make_pass_intact_and_are_never_run(tmp_path, name):
    inbox = tmp_path / f"收件{name}"
    inbox.mkdir()
    shutil.copy(EXAMPLE / "620102_城关区.xlsx", inbox)
    outbox = tmp_path / f"输出{name}"
    done = subprocess.run(["make", "-s", "report", f"INBOX={inbox}", f"OUTBOX={outbox}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (outbox / "report.html").is_file()
    assert not list(tmp_path.rglob("PWNED")) and not (ROOT / "PWNED").exists()


@pytest.mark.parametrize("case, units_text, says", [
    ("missing", None, "不存在"),
    ("columns", "code,name\n620102,城关区\n", "缺少列 county_code、county_name、city_code、city_name"),
    ("empty cell", "county_code,county_name,city_code,city_name\n620102,,620100,兰州市\n", "第2行的 county_name 是空的"),
    ("twice", "county_code,county_name,city_code,city_name\n620102,城关区,620100,兰州市\n620102,城关区,620100,兰州市\n",
     "620102 出现了不止一次"),
    ("encoding", "county_code,county_name,city_code,city_name\n620102,城关区,620100,兰州市\n".encode("gbk"), "不是 UTF-8"),
])
def test_a_forms_units_list_missing_or_malformed_is_one_chinese_line(tmp_path, case, units_text, says):
    form = (ROOT / "schemas" / "shuanglian-2016.toml").read_text(encoding="utf-8")
    (tmp_path / "form.toml").write_text(form, encoding="utf-8")
    if units_text is not None:
        data = units_text if isinstance(units_text, bytes) else units_text.encode("utf-8")
        (tmp_path / "units-gansu-2016.csv").write_bytes(data)
    (tmp_path / "settings.toml").write_text('form = "form.toml"\n', encoding="utf-8")
    done = _report(_inbox(tmp_path), tmp_path / "out", "--config", str(tmp_path / "settings.toml"))
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("错误：") and "units-gansu-2016.csv" in line and says in line, line


def test_a_narrative_template_that_is_missing_is_one_chinese_line(tmp_path):
    form = (ROOT / "schemas" / "shuanglian-2016.toml").read_text(encoding="utf-8")
    form = form.replace('narrative = "narrative-shuanglian-2016.txt.j2"', 'narrative = "叙述.txt.j2"')
    (tmp_path / "form.toml").write_text(form, encoding="utf-8")
    shutil.copy(ROOT / "schemas" / "units-gansu-2016.csv", tmp_path)
    (tmp_path / "settings.toml").write_text('form = "form.toml"\n', encoding="utf-8")
    done = _report(_inbox(tmp_path), tmp_path / "out", "--config", str(tmp_path / "settings.toml"))
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("错误：") and "叙述.txt.j2" in line and "不存在" in line, line
