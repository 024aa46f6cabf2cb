"""The office's mistakes, told in one Chinese line each, with exit status 2 and no traceback;
and the run's refusals that come before anything is read or written."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import cli
from pipeline.spec.config import ROOT, SettingsError, load_settings
from pipeline.store.outbox import FoldersOverlap, refuse_overlap
from tests.builders import EXAMPLE, write_return

SETTINGS = (ROOT / "settings.toml").read_text(encoding="utf-8")
FORM = (ROOT / "schemas" / "shuanglian-2016.toml").as_posix()


def settings_file(tmp_path: Path, text: str, encoding: str = "utf-8", bom: bytes = b"") -> Path:
    path = tmp_path / "settings.toml"
    text = text.replace('form = "schemas/shuanglian-2016.toml"', f'form = "{FORM}"')
    path.write_bytes(bom + text.encode(encoding))
    return path


# (what the office wrote, instead of what, fragments the one line must hold)
BAD_SETTINGS = [
    ("passwords = []", 'passwords = "123456"', ['[security] passwords = "123456"', 'passwords = ["123456"]']),
    ("twice_threshold = 0.95", 'twice_threshold = "95%"', ['[report] twice_threshold = "95%"', "0 到 1 之间", "twice_threshold = 0.95"]),
    ("twice_threshold = 0.95", "twice_threshold = 95", ["twice_threshold = 95 ", "twice_threshold = 0.95"]),
    ("word_annex_limit = 300", 'word_annex_limit = "300"', ['word_annex_limit = "300"', "整数", "word_annex_limit = 300"]),
    ("word_annex_limit = 300", "word_annex_limit = 2.5", ["word_annex_limit = 2.5", "整数"]),
    ("lowest_count = 3", "lowest_count = true", ["lowest_count = true", "整数"]),
    ("burden_ratio = 2.0", "burden_ratio = 0", ["burden_ratio = 0", "大于 0", "burden_ratio = 2.0"]),
    ("title = ", "titel = ", ["未知的设置项 [report] titel", "title、cutoff"]),
    ("[attention]", "[attension]", ["未知的设置项 attension", "[attention]"]),
    ('form = "schemas/shuanglian-2016.toml"', 'form = "schemas/no-such-form.toml"', ["no-such-form.toml", "不存在"]),
    ("twice_threshold = 0.95", "twice_threshold 0.95", ["第", "行", "twice_threshold 0.95", "名称 = 值"]),
    ('cutoff = "2016年12月7日"', "cutoff = 2016年12月7日", ["第", "cutoff = 2016年12月7日"]),
    ("# [cities.\"620100\"]\n", "[cities.\"620100\"]\nofice = \"兰州市双联办\"\n",
     ['未知的设置项 [cities."620100"] ofice', "每个市（州）可用的设置项有 title、office、cutoff、date"]),
    ("# [cities.\"620100\"]\n", "[cities]\n\"620100\" = \"兰州市\"\n",
     ['[cities] 下的 620100 = "兰州市" 不是一个市（州）的设置', '[cities."620100"]']),
]


@pytest.mark.parametrize("right, wrong, said", BAD_SETTINGS, ids=[b[1] for b in BAD_SETTINGS])
def test_each_settings_mistake_is_one_line_naming_key_value_and_form(tmp_path, capsys, right, wrong, said):
    assert right in SETTINGS
    path = settings_file(tmp_path, SETTINGS.replace(right, wrong, 1))
    with pytest.raises(SettingsError) as caught:
        load_settings(path)
    assert len(str(caught.value).splitlines()) == 1, str(caught.value)
    for fragment in said:
        assert fragment in str(caught.value), (fragment, str(caught.value))
    assert cli.main(["report", "--config", str(path), "--inbox", str(EXAMPLE), "--outbox", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == ["错误：" + str(caught.value)]
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_the_settings_as_shipped_are_the_defaults_and_need_no_coercion():
    s = load_settings()
    assert (s.twice_threshold, s.word_annex_limit, s.lowest_count, s.burden_ratio, s.passwords) == (0.95, 300, 3, 2.0, ())
    assert (s.round, s.upload_limit_mb, s.base_url) == (None, 20, "")


def test_the_keys_others_use_are_declared_and_checked(tmp_path):
    ok = load_settings(settings_file(tmp_path, 'round = "2017年第一轮"\nupload_limit_mb = 5\nbase_url = "http://x:1"\n' + SETTINGS
                                     .replace("upload_limit_mb = 20\n", "").replace('base_url = ""\n', "")))
    assert (ok.round, ok.upload_limit_mb, ok.base_url) == ("2017年第一轮", 5, "http://x:1")
    with pytest.raises(SettingsError, match="upload_limit_mb = \"20MB\""):
        load_settings(settings_file(tmp_path, SETTINGS.replace("upload_limit_mb = 20", 'upload_limit_mb = "20MB"')))


def test_a_bom_is_accepted_and_another_encoding_is_named(tmp_path):
    assert load_settings(settings_file(tmp_path, SETTINGS, bom=b"\xef\xbb\xbf")).title == load_settings().title
    with pytest.raises(SettingsError, match="不是 UTF-8 编码（看来是 GBK 编码"):
        load_settings(settings_file(tmp_path, SETTINGS, encoding="gbk"))


def test_missing_settings_file_is_one_line(tmp_path, capsys):
    assert cli.main(["report", "--config", str(tmp_path / "nope.toml"), "--inbox", str(EXAMPLE),
                     "--outbox", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("错误：找不到设置文件") and len(err.splitlines()) == 1


FORM_TEXT = (ROOT / "schemas" / "shuanglian-2016.toml").read_text(encoding="utf-8")
# (what the office's form says instead of what, fragments of the one line)
BAD_FORMS = [
    ('key = "shuanglian-2016"', 'key = shuanglian-2016', ["第", "行", "TOML"]),
    ('[form]', '[from]', ["[from] 这一节的名称不是表式文件的写法，是否应为 form"]),
]


@pytest.mark.parametrize("right, wrong, said", BAD_FORMS, ids=[b[1] for b in BAD_FORMS])
def test_a_mistake_in_the_form_file_is_one_line_naming_it(tmp_path, capsys, right, wrong, said):
    assert right in FORM_TEXT
    form = tmp_path / "form.toml"
    form.write_text(FORM_TEXT.replace(right, wrong, 1), encoding="utf-8")
    (tmp_path / "units-gansu-2016.csv").write_bytes((ROOT / "schemas" / "units-gansu-2016.csv").read_bytes())
    path = settings_file(tmp_path, SETTINGS.replace(f'form = "{FORM}"', "").replace(
        'form = "schemas/shuanglian-2016.toml"', f'form = "{form.as_posix()}"'))
    assert cli.main(["report", "--config", str(path), "--inbox", str(EXAMPLE), "--outbox", str(tmp_path / "out")]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("错误：表式文件") and "form.toml" in line, line
    for fragment in said:
        assert fragment in line, (fragment, line)


def small_inbox(tmp_path, form, units) -> Path:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_return(inbox, form, units.by_code("620102"))
    return inbox


@pytest.mark.parametrize("where", ["same", "outbox-inside", "inbox-inside", "link"])
def test_overlapping_inbox_and_outbox_are_refused_before_anything(tmp_path, capsys, form, units, where):
    inbox = small_inbox(tmp_path, form, units)
    before = sorted(p.name for p in inbox.rglob("*"))
    if where == "same":
        outbox = inbox
    elif where == "outbox-inside":
        outbox = inbox / "out"
    elif where == "inbox-inside":
        shutil.move(inbox, tmp_path / "out")
        outbox, inbox = tmp_path / "out", tmp_path / "out" / "inbox"
        inbox.mkdir(exist_ok=True)
        before = sorted(p.name for p in inbox.rglob("*"))
    else:  # a link to the inbox, named as the outbox
        (tmp_path / "link").symlink_to(inbox, target_is_directory=True)
        outbox = tmp_path / "link" / "out"
    with pytest.raises(FoldersOverlap):
        refuse_overlap(inbox, outbox)
    assert cli.main(["report", "--inbox", str(inbox), "--outbox", str(outbox)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and ("同一个文件夹" in err or "之中" in err), err
    assert sorted(p.name for p in inbox.rglob("*")) == before  # nothing written, no lock, no cache


def test_separate_folders_are_allowed_even_side_by_side(tmp_path):
    (tmp_path / "inbox").mkdir()
    refuse_overlap(tmp_path / "inbox", tmp_path / "inbox-out")  # a shared prefix is not nesting
    refuse_overlap(tmp_path / "inbox", tmp_path / "outbox")


def test_an_outbox_inside_the_default_inbox_is_refused_even_when_the_example_is_used(tmp_path, monkeypatch, capsys):
    empty = tmp_path / "inbox"
    empty.mkdir()
    monkeypatch.setattr(cli, "DEFAULT_INBOX", empty)
    assert cli.main(["report", "--outbox", str(empty / "out")]) == 2
    assert "之中" in capsys.readouterr().err


def test_a_full_disk_is_one_line_and_the_previous_report_stays(tmp_path, capsys, monkeypatch, form, units):
    inbox, out = small_inbox(tmp_path, form, units), tmp_path / "out"
    assert cli.main(["report", "--inbox", str(inbox), "--outbox", str(out)]) == 0
    before = {p: p.read_bytes() for p in out.glob("*.*") if p.is_file() and p.name != ".outbox.lock"}
    real = Path.write_bytes

    def full(self, data):
        if self.name == "report.docx":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)
    capsys.readouterr()
    assert cli.main(["report", "--inbox", str(inbox), "--outbox", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("错误：磁盘空间不足") and len(err.splitlines()) == 1, err
    assert {p: p.read_bytes() for p in out.glob("*.*") if p.is_file() and p.name != ".outbox.lock"} == before
    assert len(list((out / "history").iterdir())) == 1


def test_an_unexpected_error_is_one_line_and_debug_shows_the_traceback(tmp_path, capsys, monkeypatch, form, units):
    import pipeline.run.report

    inbox = small_inbox(tmp_path, form, units)

    def broken(*args, **kwargs):
        raise RuntimeError("deliberately broken")

    monkeypatch.setattr(pipeline.run.report, "build_run", broken)
    args = ["report", "--inbox", str(inbox), "--outbox", str(tmp_path / "out")]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == ["错误：程序内部出错（RuntimeError）。请加 --debug 重新运行，把显示的全部内容发给维护人员。"]
    assert cli.main([*args, "--debug"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "deliberately broken" in err and err.splitlines()[-1].startswith("错误：")


def test_a_held_outbox_is_exit_2_naming_the_holder(tmp_path, form, units):
    from tests.builders import hold

    inbox, out = small_inbox(tmp_path, form, units), tmp_path / "out"
    holder = hold(out, 60)
    try:
        done = subprocess.run([sys.executable, "-m", "pipeline", "report", "--inbox", str(inbox), "--outbox", str(out)],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 2
    assert done.stderr.splitlines() == [done.stderr.strip()]
    assert done.stderr.startswith(f"错误：另一次汇总正在进行（进程 {holder.pid}、计算机 ")
    assert not (out / "report.html").exists()


def test_two_runs_started_together_on_one_outbox_both_end_well(tmp_path, form, units):
    inbox, out = small_inbox(tmp_path, form, units), tmp_path / "out"
    cmd = [sys.executable, "-m", "pipeline", "report", "--inbox", str(inbox), "--outbox", str(out)]
    runs = [subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    done = [(p.wait(timeout=300), p.stderr.read()) for p in runs]
    for code, err in done:
        # each one wrote the report, or waited in vain and said who held the outbox
        assert code == 0 or (code == 2 and err.startswith("错误：另一次汇总正在进行")), (code, err)
        assert "Traceback" not in err
    assert 0 in [code for code, _ in done]
    entries = list((out / "history").iterdir())
    assert len(entries) == [code for code, _ in done].count(0)
    for entry in entries:
        assert sorted(p.name for p in entry.iterdir()) == sorted(p.name for p in out.iterdir()
                                                                  if not p.name.startswith(".") and p.name != "history")
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == [".cache", ".outbox.lock"]


def test_help_is_chinese(capsys):
    for argv in (["--help"], ["report", "--help"], ["templates", "--help"]):
        with pytest.raises(SystemExit) as stop:
            cli.main(argv)
        assert stop.value.code == 0
        text = capsys.readouterr().out
        assert text.startswith("用法：") and "选项：" in text and "显示本说明并退出" in text
        for english in ("usage:", "options:", "show this help", "positional arguments"):
            assert english not in text
    with pytest.raises(SystemExit) as stop:
        cli.main(["report", "--inbx", "x"])
    assert stop.value.code == 2
    assert "错误：无法识别的参数：--inbx x" in capsys.readouterr().err


@pytest.mark.parametrize("how, said", [("a-file", "已有一个同名的文件"), ("under-a-file", "路径中有一个同名的文件"),
                                       ("no-permission", "没有写入权限")])
def test_an_outbox_that_cannot_be_used_is_one_line(tmp_path, capsys, monkeypatch, form, units, how, said):
    inbox = small_inbox(tmp_path, form, units)
    (tmp_path / "afile").write_text("x")
    outbox = {"a-file": tmp_path / "afile", "under-a-file": tmp_path / "afile" / "out",
              "no-permission": tmp_path / "locked" / "out"}[how]
    if how == "no-permission":  # the tests run as root, whom file modes do not stop
        real = Path.mkdir

        def refused(self, *args, **kwargs):
            if "locked" in self.parts:
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
            return real(self, *args, **kwargs)

        monkeypatch.setattr(Path, "mkdir", refused)
    assert cli.main(["report", "--inbox", str(inbox), "--outbox", str(outbox)]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [f"错误：无法使用输出文件夹 {outbox}（{said}" + err.split(said, 1)[1].rstrip("\n")]
    assert "Traceback" not in err and "Errno" not in err


def test_an_inbox_that_is_a_file_is_said_to_be_a_file(tmp_path, capsys, form, units):
    inbox = small_inbox(tmp_path, form, units)
    one = next(inbox.glob("*.xlsx"))
    assert cli.main(["report", "--inbox", str(one), "--outbox", str(tmp_path / "out")]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert "是一个文件" in line and "不存在" not in line


def test_a_summary_piped_into_head_is_no_error(tmp_path, form, units):
    """`make report | head -3`: the reader of the summary goes away; the report is written."""
    import subprocess
    import sys

    inbox, out = small_inbox(tmp_path, form, units), tmp_path / "out"
    shell = (f"{sys.executable} -m pipeline report --inbox '{inbox}' --outbox '{out}' 2>'{tmp_path / 'err'}'"
             "; echo $? > " + f"'{tmp_path / 'status'}'")
    subprocess.run(f"({shell}) | true", shell=True, cwd=ROOT, check=True, timeout=300)  # the reader is gone at once
    assert (tmp_path / "status").read_text().strip() == "0"
    assert "错误" not in (tmp_path / "err").read_text(encoding="utf-8")
    assert (out / "report.docx").is_file()


def test_a_round_on_the_bundled_example_says_it_keeps_no_snapshot(tmp_path, monkeypatch, capsys):
    empty = tmp_path / "inbox"
    empty.mkdir()
    monkeypatch.setattr(cli, "DEFAULT_INBOX", empty)
    assert cli.main(["report", "--outbox", str(tmp_path / "out"), "--round", "2016-11"]) == 0
    assert "不保存轮次“2016-11”的快照" in capsys.readouterr().out
    assert not (tmp_path / "out" / "rounds").exists()


def test_an_output_held_open_is_named_not_the_whole_folder(tmp_path):
    """report.docx open in Word (Windows will not let it be replaced): the office was told the
    whole outbox had no write permission (a reviewer's find)."""
    from pipeline.store.outbox import failure_message

    held = tmp_path / "report.docx"
    held.write_bytes(b"x")
    said = failure_message(PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(held)), tmp_path)
    assert said.startswith(f"无法替换输出文件 {held}（可能正在Word、WPS或Excel中打开") and "上次的报告保持不变" in said
    fresh = tmp_path / ".new-report.docx"
    fresh.write_bytes(b"y")
    replacing = PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(fresh), None, str(held))
    assert failure_message(replacing, tmp_path).startswith(f"无法替换输出文件 {held}")  # the one held, not the new
    folder = failure_message(PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(tmp_path)), tmp_path)
    assert "没有写入权限" in folder  # the folder itself: as before
