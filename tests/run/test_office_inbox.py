"""What offices put in the inbox besides clean returns: archives the reader cannot open, cover
letters, a county's file that makes the spreadsheet engine panic. Each costs one finding for
its own file; no file of the office's ever switches the run to the bundled example."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest

from pipeline import cli
from pipeline.outputs.formbook import Layout
from pipeline.paths import EXAMPLE_INBOX
from pipeline.run.report import build_run
from pipeline.stages.read import sheet as sheet_module
from pipeline.stages.read import sources as read_module
from tests.builders import FIXTURES, clean_rows, write_return, xls_the_engine_panics_on

CODE, OTHER = "620102", "620103"


def inbox_with(tmp_path, form, units, files: dict[str, bytes]) -> Path:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_return(inbox, form, units.by_code(OTHER))
    for name, data in files.items():
        (inbox / name).write_bytes(data)
    return inbox


def own_findings(run, name):
    return [(f.severity.value, f.rule) for f in run.findings if f.file == name]


def status_of(run, code):
    return next(u.status for u in run.roster.units if u.code == code)


def assert_other_intact(run, form):
    other = run.totals.counties.loc[OTHER]
    assert {k: int(other[k]) for k in form.field_keys} == {k: sum(r[k] for r in clean_rows()) for k in form.field_keys}
    assert status_of(run, OTHER) == "included"


def zipped(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


RAR = b"Rar!\x1a\x07\x01\x00" + bytes(64)
SEVEN_Z = b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(64)

# (file name, its bytes, the finding it must cost, the county's status)
CASES = [
    (f"{CODE}_城关区.rar", RAR, [("error", "archive-unsupported")], "rejected"),
    (f"{CODE}_城关区.7z", SEVEN_Z, [("error", "archive-unsupported")], "rejected"),
    (f"{CODE}_城关区报表.dat", RAR, [("error", "archive-unsupported")], "rejected"),  # told by content
    ("城关区.tar.gz", b"\x1f\x8b\x08\x00" + bytes(64), [("error", "archive-unsupported")], "rejected"),
    # A county's only file, skipped as no return, is never silently 未报送: it is refused, and said so.
    ("城关区说明.docx", zipped({"word/document.xml": b"<w:document/>"}), [("error", "skipped-return")], "rejected"),
    ("城关区说明.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64), [("error", "skipped-return")], "rejected"),
    ("城关区说明.pdf", b"%PDF-1.4\n", [("error", "skipped-return")], "rejected"),
    ("城关区/扫描件.jpg", b"\xff\xd8\xff\xe0" + bytes(64), [("error", "skipped-return")], "rejected"),  # by its folder
    ("说明.pdf", b"%PDF-1.4\n", [("info", "skipped")], "missing"),  # naming no county: listed, no more
]


@pytest.mark.parametrize("name, data, findings, status", CASES, ids=[c[0] for c in CASES])
def test_an_archive_is_an_error_against_its_county_and_a_cover_letter_is_skipped(tmp_path, settings, form, units,
                                                                                 name, data, findings, status):
    inbox = inbox_with(tmp_path, form, units, {})
    (inbox / name).parent.mkdir(exist_ok=True)
    (inbox / name).write_bytes(data)
    run = build_run(inbox, settings)
    assert own_findings(run, name) == findings
    assert status_of(run, CODE) == status
    if findings and findings[0][1] == "archive-unsupported":
        message = next(f.message for f in run.findings if f.file == name)
        assert "请解压后报送，或改用 .zip" in message
    if findings[0][1] == "skipped-return":
        [f] = [f for f in run.findings if f.file == name]
        assert f.county_code == CODE and f"收到本单位的“{Path(name).name}”，但它不是Excel工作簿" in f.message
    assert_other_intact(run, form)


def test_a_cover_letter_beside_the_countys_return_is_its_note(tmp_path, settings, form, units):
    inbox = inbox_with(tmp_path, form, units, {"城关区说明.pdf": b"%PDF-1.4\n"})
    write_return(inbox, form, units.by_code(CODE))
    run = build_run(inbox, settings)
    [f] = [f for f in run.findings if f.file == "城关区说明.pdf"]
    assert (f.severity.value, f.rule, f.county_code) == ("info", "skipped", CODE)
    assert status_of(run, CODE) == "included"


@pytest.mark.parametrize("name", ["9F3A21B0.tmp", "城关区.xlsx.tmp", "城关区.xlsx.crdownload"])
def test_what_excel_or_a_browser_leaves_while_saving_is_never_a_return(tmp_path, settings, form, units, name):
    """Excel saves through a temporary file (9F3A21B0.tmp) holding a whole workbook, perhaps an
    earlier state of it: read, dated later, it replaced the county's return with no word."""
    inbox = inbox_with(tmp_path, form, units, {})
    write_return(inbox, form, units.by_code(CODE))
    rows = clean_rows()
    rows[0]["villages_visited"] -= 1
    later = write_return(tmp_path, form, units.by_code(CODE), rows, layout=Layout(date_text="2016年12月9日"))
    (inbox / name).write_bytes(later.read_bytes())
    run = build_run(inbox, settings)
    assert next(u.source.path for u in run.roster.units if u.code == CODE) == f"{CODE}_城关区.xlsx"
    assert [f.rule for f in run.findings if f.file == name] == ["skipped"]
    assert status_of(run, CODE) == "included"


def test_an_empty_file_is_said_to_be_empty(tmp_path, settings, form, units):
    """A 0-byte 城关区.xlsx (a copy that failed, a download never finished) was 'not a valid Excel
    file', as if the county had sent something else."""
    run = build_run(inbox_with(tmp_path, form, units, {f"{CODE}_城关区.xlsx": b""}), settings)
    [f] = [f for f in run.findings if f.file == f"{CODE}_城关区.xlsx"]
    assert (f.rule, f.county_code) == ("unreadable", CODE) and "文件是空的，没有任何内容" in f.message
    assert status_of(run, CODE) == "rejected"


def test_a_zip_inside_a_zip_is_read_and_one_deeper_than_the_settings_allow_is_an_error(tmp_path, settings, form,
                                                                                        units):
    from dataclasses import replace

    good = (write_return(tmp_path, form, units.by_code(CODE))).read_bytes()
    other = (write_return(tmp_path, form, units.by_code("620104"))).read_bytes()
    city = zipped({"兰州/城关区.zip": zipped({f"{CODE}_城关区.xlsx": good}),
                   "兰州/更深/inner.zip": zipped({"deeper.zip": zipped({"620104_西固区.xlsx": other})})})
    run = build_run(inbox_with(tmp_path, form, units, {"兰州.zip": city}), settings)
    assert status_of(run, CODE) == "included"
    assert next(u.source.path for u in run.roster.units if u.code == CODE) == f"兰州.zip/兰州/城关区.zip/{CODE}_城关区.xlsx"
    assert own_findings(run, "兰州.zip/兰州/更深/inner.zip/deeper.zip") == [("error", "archive-unsupported")]
    (tmp_path / "again").mkdir()
    shallow = build_run(inbox_with(tmp_path / "again", form, units, {"兰州.zip": city}), replace(settings, zip_depth=1))
    assert own_findings(shallow, "兰州.zip/兰州/城关区.zip") == [("error", "archive-unsupported")]
    assert status_of(shallow, CODE) == "rejected"  # its only file, unread: the county is told


@pytest.mark.parametrize("kept", [0.7, 0.97])
@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_a_zip_cut_short_is_said_damaged_and_never_taken_for_a_return_inside_it(tmp_path, settings, form, units, kept,
                                                                                 method):
    """A zip still being copied. Stored, not deflated, its last directory left is an .xlsx
    member's own: the archive was taken for that workbook, its parts listed as skipped files,
    and both counties' returns lost with no error."""
    good = (write_return(tmp_path, form, units.by_code(CODE))).read_bytes()
    other = (write_return(tmp_path, form, units.by_code("620104"))).read_bytes()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=method) as z:
        z.writestr(f"{CODE}_城关区.xlsx", good)
        z.writestr("620104_西固区.xlsx", other)
    whole = buf.getvalue()
    run = build_run(inbox_with(tmp_path, form, units, {"兰州.zip": whole[:int(len(whole) * kept)]}), settings)
    assert own_findings(run, "兰州.zip") == [("error", "archive-damaged")]
    assert not [f for f in run.findings if f.file.startswith("兰州.zip/")]
    assert "没有复制或下载完" in next(f.message for f in run.findings if f.rule == "archive-damaged")
    assert_other_intact(run, form)


def _cut_short_zip(tmp_path, form, units, codes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as z:
        for code in codes:
            z.writestr(f"{code}_{units.by_code(code).name}.xlsx", write_return(tmp_path, form, units.by_code(code)).read_bytes())
    return buf.getvalue()[:-200]


def test_a_zip_that_cannot_be_opened_is_said_beside_the_counties_left_out(tmp_path, monkeypatch, capsys, form, units):
    """A city's zip of its counties' returns, cut short in the copying: its counties stood as
    未报送 in the report the office circulates, and the console and the report said only
    "无法识别单位的文件 1 个". Both now name the zip and why, next to the units left out."""
    inbox = inbox_with(tmp_path, form, units, {"兰州市.zip": _cut_short_zip(tmp_path, form, units, (CODE, "620104"))})
    monkeypatch.setattr(cli, "DEFAULT_INBOX", inbox)
    out = tmp_path / "out"
    assert cli.main(["report", "--outbox", str(out)]) == 0
    said = capsys.readouterr().out
    assert "无法识别单位的文件 0 个；未能打开 1 处" in said
    line = "收件箱中另有1处未能打开：“兰州市.zip”（压缩包已损坏或不完整），其中的报表都没有读取，列为未报送的县（市、区）的报表可能就在其中"
    assert f"注意：{line}：请处理后重新运行（详见 validation.html）。" in said
    page = (out / "report.html").read_text(encoding="utf-8")
    left_out = page[page.index("数据未纳入汇总的单位"):page.index("数据说明")]
    assert "未报送86个" in left_out and f"{line}。" in left_out
    notes = page[page.index("数据说明"):]
    assert "无法识别填报单位" not in notes and "兰州市.zip" not in notes  # said once, with the units left out


def test_a_zip_that_cannot_be_opened_is_said_in_the_notes_when_no_unit_is_left_out(tmp_path, settings, form, units):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for path in EXAMPLE_INBOX.iterdir():
        (inbox / path.name).write_bytes(path.read_bytes())
    (inbox / "补报.zip").write_bytes(_cut_short_zip(tmp_path, form, units, (CODE,)))
    run = build_run(inbox, settings)
    assert run.roster.unopened == (("补报.zip", "压缩包已损坏或不完整"),)
    assert not run.report.attention or all(a["title"] != "数据未纳入汇总的单位" for a in run.report.attention)
    notes = run.report.notes["lines"]
    assert "收件箱中另有1处未能打开：“补报.zip”（压缩包已损坏或不完整），其中的报表都没有读取。" in notes
    assert "无法识别填报单位" not in "".join(notes)  # the zip is said for what it is


@pytest.mark.parametrize("extra", [f"{CODE}_城关区.rar", "说明.docx", "报表.7z", "notes.txt"])
def test_any_file_of_the_offices_keeps_the_run_on_the_inbox(tmp_path, monkeypatch, capsys, extra):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / ".gitkeep").write_bytes(b"")
    (inbox / extra).write_bytes(RAR if extra.endswith((".rar", ".7z")) else b"x")
    monkeypatch.setattr(cli, "DEFAULT_INBOX", inbox)
    out = tmp_path / "out"
    assert cli.main(["report", "--outbox", str(out)]) == 0
    assert "示例数据" not in capsys.readouterr().out
    assert "示例数据" not in (out / "report.html").read_text(encoding="utf-8")
    assert extra in (out / "manifest.csv").read_text(encoding="utf-8-sig")


def test_the_engines_panic_on_a_malformed_xls_costs_one_finding(tmp_path, settings, form, units):
    data = xls_the_engine_panics_on()
    name = f"{CODE}_城关区.xls"
    run = build_run(inbox_with(tmp_path, form, units, {name: data}), settings)
    assert own_findings(run, name) == [("error", "unreadable")]
    assert "文件内部结构有损坏" in next(f.message for f in run.findings if f.file == name)
    assert status_of(run, CODE) == "rejected"
    assert_other_intact(run, form)
    assert f"returns/{CODE}_城关区.xlsx" in run.files  # its findings sheet goes back to the county


def test_the_panic_on_the_command_line_is_no_traceback(tmp_path, form, units):
    import subprocess
    import sys

    from pipeline.paths import ROOT

    inbox = inbox_with(tmp_path, form, units, {f"{CODE}_城关区.xls": xls_the_engine_panics_on()})
    # RUST_BACKTRACE as a developer's machine may have it: the engine would add a page of backtrace.
    env = dict(__import__("os").environ, RUST_BACKTRACE="1")
    done = subprocess.run([sys.executable, "-m", "pipeline", "report", "--inbox", str(inbox), "--outbox", str(tmp_path / "o")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "panicked" not in done.stderr and "backtrace" not in done.stderr, done.stderr  # the engine's report held back
    assert re.search(r"已退回[(（]有错误[)）] 1 个", done.stdout), done.stdout


class EnginePanic(BaseException):
    """What a native engine's panic looks like from Python: not an Exception."""


@pytest.mark.parametrize("stage", ["open", "load"])
def test_any_base_exception_from_the_engine_is_one_finding(tmp_path, settings, form, units, monkeypatch, stage):
    inbox = inbox_with(tmp_path, form, units, {})
    write_return(inbox, form, units.by_code(CODE))
    name = f"{CODE}_城关区.xlsx"
    if stage == "open":
        real_open = read_module.open_book

        def panicking(data):
            real_open(data)
            raise EnginePanic("index out of range")

        monkeypatch.setattr(read_module, "open_book", panicking)
        run = build_run(inbox, settings)
        for code in (CODE, OTHER):
            assert own_findings(run, f"{code}_{units.by_code(code).name}.xlsx") == [("error", "internal-error")]
        return
    real_load = sheet_module.ReturnReader.load

    def load(self):
        if self.source.path == name:
            raise EnginePanic("index out of range")
        return real_load(self)

    monkeypatch.setattr(sheet_module.ReturnReader, "load", load)
    run = build_run(inbox, settings)
    assert own_findings(run, name) == [("error", "internal-error")]
    # The clerk reads a number to quote; the exception itself is for the maintainers' log.
    message = next(f.message for f in run.findings if f.file == name)
    [incident] = run.incidents
    assert incident.reference in message and "EnginePanic" not in message
    assert "EnginePanic" in run.files["internal-errors.log"].decode() and incident.reference in run.files["internal-errors.log"].decode()
    assert_other_intact(run, form)


@pytest.mark.parametrize("stop", [KeyboardInterrupt, SystemExit, GeneratorExit])
def test_what_means_stop_is_never_taken_for_a_broken_file(tmp_path, settings, form, units, monkeypatch, stop):
    inbox = inbox_with(tmp_path, form, units, {})

    def load(self):
        raise stop()

    monkeypatch.setattr(sheet_module.ReturnReader, "load", load)
    with pytest.raises(stop):
        build_run(inbox, settings)


def test_the_file_the_engine_panics_on_does_panic_it():
    """The builder's file still makes the engine panic (a newer engine may not): else the two
    tests above would pass without a panic to hold back."""
    import python_calamine as pc

    with pytest.raises(BaseException) as caught:
        pc.CalamineWorkbook.from_filelike(io.BytesIO(xls_the_engine_panics_on()))
    assert type(caught.value).__name__ == "PanicException"


def test_fixture_origin_is_noted():
    # each fixture is the project's own copy (a clone has no ../shared), and says where it is from
    listed = (FIXTURES / "README.md").read_text(encoding="utf-8")
    assert all(f"`{f.name}`" in listed for f in FIXTURES.iterdir() if f.name != "README.md")


def zipped_without_utf8_flag(members: dict[str, bytes], encoding: str) -> bytes:
    """A zip as Linux's and macOS's zip (UTF-8) or Chinese Windows (GBK) write it: the names'
    own bytes, with no flag saying which encoding they are in."""
    buf = io.BytesIO()
    names = {}
    with zipfile.ZipFile(buf, "w") as z:
        for i, (name, data) in enumerate(members.items()):
            raw = name.encode(encoding)
            stand_in = f"{i:0{len(raw)}d}"  # ASCII, so zipfile sets no flag; then the real bytes
            names[stand_in.encode()] = raw
            z.writestr(zipfile.ZipInfo(stand_in, (2016, 12, 5, 9, 0, 0)), data)
    data = buf.getvalue()
    for stand_in, raw in names.items():
        data = data.replace(stand_in, raw)
    assert not zipfile.ZipFile(io.BytesIO(data)).infolist()[0].flag_bits & 0x800
    return data


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_zip_member_names_read_right_whichever_system_made_the_zip(tmp_path, settings, form, units, encoding):
    one = tmp_path / "one"
    one.mkdir()
    book = write_return(one, form, units.by_code(CODE)).read_bytes()
    inbox = inbox_with(tmp_path, form, units, {"一批.zip": zipped_without_utf8_flag({f"{CODE}_城关区.xlsx": book}, encoding)})
    run = build_run(inbox, settings, form=form, units=units)
    assert f"一批.zip/{CODE}_城关区.xlsx" in {s.path for s in run.sources}
    assert status_of(run, CODE) == "included"


def test_an_old_outbox_copied_into_the_inbox_is_set_aside_whole(tmp_path, settings, form, units):
    """Its marked-up returns/ would otherwise be read as the counties' own, and the newer file
    time would make them supersede the real returns."""
    inbox = inbox_with(tmp_path, form, units, {})
    first = build_run(inbox, settings, form=form, units=units)
    old = inbox / "上次结果"
    for rel, data in first.files.items():
        (old / rel).parent.mkdir(parents=True, exist_ok=True)
        (old / rel).write_bytes(data)
    returned = old / "returns" / f"{OTHER}_七里河区.xlsx"
    returned.parent.mkdir(exist_ok=True)
    returned.write_bytes(next(inbox.glob("*.xlsx")).read_bytes())  # a county's workbook among the outputs
    run = build_run(inbox, settings, form=form, units=units)
    assert own_findings(run, "上次结果") == [("warning", "old-outputs")]
    assert not [s for s in run.sources if s.path.startswith("上次结果/")]
    assert_other_intact(run, form)
    assert [u.superseded for u in run.roster.units if u.code == OTHER] == [()]


def test_a_zip_sent_as_a_workbook_is_told_to_be_unpacked(tmp_path, settings, form, units):
    """A .zip renamed .xlsx (or uploaded on the page): not 不是Excel文件（压缩包）, but what to do."""
    one = tmp_path / "one"
    one.mkdir()
    book = write_return(one, form, units.by_code(CODE)).read_bytes()
    inbox = inbox_with(tmp_path, form, units, {f"{CODE}_城关区.xlsx": zipped({f"{CODE}_城关区.xlsx": book})})
    run = build_run(inbox, settings, form=form, units=units)
    [f] = [f for f in run.findings if f.file == f"{CODE}_城关区.xlsx"]
    assert (f.severity.value, f.rule) == ("error", "archive-as-workbook") and "请解压后" in f.message
    assert status_of(run, CODE) == "rejected"
    assert_other_intact(run, form)


@pytest.mark.parametrize("kind", ["docx", "doc"])
def test_a_word_file_sent_as_a_workbook_is_said_to_be_one(tmp_path, settings, form, units, kind):
    """A Word file named .xlsx or .xls (the covering letter sent for the return): said to be a
    Word document, not a zip to unpack (.docx) nor a damaged file (.doc)."""
    import io

    from docx import Document

    from tests.office import convert

    letter = Document()
    letter.add_paragraph("关于报送双联行动“大走访、回头看”活动统计表的函")
    buf = io.BytesIO()
    letter.save(buf)
    data = buf.getvalue()
    if kind == "doc":
        (tmp_path / "letter.docx").write_bytes(data)
        made = convert([tmp_path / "letter.docx"], "doc", tmp_path / "made", tmp_path / "profile")
        data = made["letter.docx"].read_bytes()
    name = f"{CODE}_城关区.{'xlsx' if kind == 'docx' else 'xls'}"
    inbox = inbox_with(tmp_path, form, units, {name: data})
    run = build_run(inbox, settings, form=form, units=units)
    [f] = [f for f in run.findings if f.file == name]
    assert (f.severity.value, f.rule) == ("error", "unreadable") and "内容是Word文档，不是Excel报表" in f.message
    assert status_of(run, CODE) == "rejected"
    assert_other_intact(run, form)


def test_a_presentation_sent_as_a_workbook_is_said_to_be_one(tmp_path, settings, form, units):
    slides = zipped({"[Content_Types].xml": b"<Types/>", "ppt/presentation.xml": b"<p:presentation/>"})
    inbox = inbox_with(tmp_path, form, units, {f"{CODE}_城关区.xlsx": slides})
    run = build_run(inbox, settings, form=form, units=units)
    [f] = [f for f in run.findings if f.file == f"{CODE}_城关区.xlsx"]
    assert f.rule == "unreadable" and "内容是PowerPoint演示文稿，不是Excel报表" in f.message


def test_engine_reports_are_held_back_and_anything_else_passed_on(capfd):
    import os

    from pipeline.stages.read.engine import engine_reports_held_back

    report = ("thread '<unnamed>' (2105) panicked at /root/.cargo/registry/src/calamine-0.36.1/src/xls.rs:1515:29:\n"
              "range start index 4 out of range for slice of length 2\n"
              "stack backtrace:\n   0: __rustc::rust_begin_unwind\n             at /rustc/library/std/src/panicking.rs:697:5\n"
              "note: Some details are omitted, run with `RUST_BACKTRACE=full` for a verbose backtrace.\n")
    with engine_reports_held_back():
        os.write(2, "提示：读表前的一行\n".encode())
        os.write(2, report.encode())
        os.write(2, (b"thread '<unnamed>' panicked at src/xls.rs:9:1:\nindex out of bounds\nnote: run with "
                     b"`RUST_BACKTRACE=1` environment variable to display a backtrace\n"))
        os.write(2, "提示：读表后的一行\n".encode())
    assert capfd.readouterr().err == "提示：读表前的一行\n提示：读表后的一行\n"


def test_an_older_one_line_panic_report_takes_no_other_line_with_it():
    from pipeline.stages.read.engine import without_engine_reports

    text = ("thread 'main' panicked at 'index out of bounds', src/xls.rs:9:1\n"
            "提示：读表后的一行\n")
    assert without_engine_reports(text) == "提示：读表后的一行\n"


def test_a_run_stopped_while_reading_says_so_on_the_console(capfd):
    """Ctrl-C while a group of files is read: cli._terminate gives standard error back to the
    console before it says the run was stopped, and ends the process there."""
    import os

    from pipeline.stages.read.engine import engine_reports_held_back, release_stderr

    with engine_reports_held_back():
        os.write(2, b"thread '<unnamed>' panicked at src/xls.rs:9:1:\nindex out of bounds\n")
        release_stderr()
        os.write(2, "已中断。\n".encode())
        assert capfd.readouterr().err == "已中断。\n"


def test_an_excel_lock_file_alone_tells_its_county_the_return_did_not_come(tmp_path, settings, form, units):
    """~$永靖县.xlsx with no 永靖县 return: the workbook was open when the folder was copied. It was
    a skipped file naming no county, and 永靖县 未报送 with no word of it."""
    inbox = inbox_with(tmp_path, form, units, {"~$永靖县.xlsx": b"\x06lizhang" + bytes(150)})
    write_return(inbox, form, units.by_code(CODE))
    (inbox / "~$620102_城关区.xlsx").write_bytes(b"\x06lizhang" + bytes(150))  # beside its return: nothing
    run = build_run(inbox, settings)
    told = [f for f in run.findings if f.rule == "lock-file-alone"]
    assert [(f.county_code, f.severity.value) for f in told] == [("622923", "warning")]
    assert "永靖县.xlsx" in told[0].message and status_of(run, "622923") == "missing"
    assert status_of(run, CODE) == "included"
