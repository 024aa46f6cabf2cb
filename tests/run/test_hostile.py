"""Bad input never crashes the run, loses a county, or reaches a reader of the report.

Every case puts one hostile file for 城关区 (620102) beside a clean return from 七里河区
(620103): the run completes, 七里河区's figures are unchanged, and the bad file has exactly
one clear error (or, where the damage leaves it readable, reads exactly like the original).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import random
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from openpyxl import load_workbook

from pipeline.model import Source
from pipeline.outputs.formbook import build_return, workbook_bytes
from pipeline.paths import ROOT
from pipeline.run.report import build_run
from pipeline.stages.read import sources as read_module
from pipeline.stages.read.sources import read_source, read_sources
from tests.builders import (
    EXAMPLE,
    clean_rows,
    neighbours_rows,
    rewrite_sheet_xml,
    with_bytes,
    with_two_sided_directory,
    with_unicode_name,
    zip_of,
)

CODE, OTHER = "620102", "620103"


def good(form, units, code=CODE, rows=None) -> bytes:
    return workbook_bytes(build_return(form, units.by_code(code), rows or clean_rows()))


def run_with(tmp_path, settings, form, units, name: str, data: bytes):
    inbox = tmp_path / "inbox"
    inbox.mkdir(exist_ok=True)
    (inbox / name).write_bytes(data)
    (inbox / f"{OTHER}_七里河区.xlsx").write_bytes(good(form, units, OTHER, neighbours_rows()))
    return build_run(inbox, settings)


def assert_other_county_intact(run, form):
    other = run.totals.counties.loc[OTHER]
    assert {k: int(other[k]) for k in form.field_keys} == {k: sum(r[k] for r in clean_rows()) for k in form.field_keys}
    assert next(u for u in run.roster.units if u.code == OTHER).status == "included"


def assert_one_error_or_intact(run, form, name):
    own = [f for f in run.findings if f.file == name]
    errors = [f for f in own if f.severity.value == "error"]
    unit = next(u for u in run.roster.units if u.code == CODE)
    if unit.status == "included":  # the damage missed everything that matters
        assert own == []
        mine = run.totals.counties.loc[CODE]
        assert {k: int(mine[k]) for k in form.field_keys} == {k: sum(r[k] for r in clean_rows()) for k in form.field_keys}
    else:
        # Rejected: said once per thing that is wrong (a flipped header byte may cost three
        # columns their label), never a pile of echoes of one fault.
        assert errors, [(f.rule, f.message) for f in own]
        assert all(f.message for f in errors)
        assert len({(f.rule, f.sheet, f.cell, f.field) for f in errors}) == len(errors)


A6 = '<c r="A6" s="3" t="inlineStr"><is><t>&#26032;&#24196;&#20065;</t></is></c>'  # 新庄乡, as openpyxl writes it


def billion_laughs(data: bytes) -> bytes:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))

    def edit(xml: str) -> str:
        assert A6 in xml or "sheet" not in xml[:0]
        xml = xml.replace("<worksheet", f"<!DOCTYPE worksheet [{entities}]><worksheet", 1)
        return xml.replace(A6, A6.replace("&#26032;&#24196;&#20065;", "&lol9;"))

    return rewrite_sheet_xml(data, edit)


def with_member(data: bytes, name: str, body: bytes) -> bytes:
    """The workbook with one more part in its zip."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info.filename))
        dst.writestr(name, body)
    return out.getvalue()


def zip_bomb(data: bytes) -> bytes:
    return with_member(data, "xl/media/padding.bin", b"\0" * (210 * 1024 * 1024))


def many_sheets(data: bytes) -> bytes:
    wb = load_workbook(io.BytesIO(data))
    for i in range(3000):
        wb.create_sheet(f"S{i}")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def long_string(data: bytes) -> bytes:
    return rewrite_sheet_xml(data, lambda xml: xml.replace(A6, A6.replace("&#26032;&#24196;&#20065;", "新庄乡" * 400_000)))


def with_macro(data: bytes) -> bytes:
    return with_member(data, "xl/vbaProject.bin", b'Attribute VB_Name = "Module1"\nSub AutoOpen()\nShell "calc"\nEnd Sub')


def two_sided_styles(data: bytes) -> bytes:
    """Python's zipfile is told the styles part ends where it begins to hide 64 MB of blanks;
    the engine's zip reader is told (zip64) it holds them."""
    return with_two_sided_directory(data, "xl/styles.xml", b" " * (64 * 1024 * 1024), b"</styleSheet>")


HOSTILE = [
    ("entity-expansion", billion_laughs, "620102_城关区.xlsx"),
    ("zip-directory-two-sided", two_sided_styles, "620102_城关区.xlsx"),
    ("zip-unicode-name", lambda d: with_unicode_name(d, "xl/worksheets/sheet1.xml", "xl/worksheets/sheet9.xml"),
     "620102_城关区.xlsx"),
    ("zip-bomb", zip_bomb, "620102_城关区.xlsx"),
    ("thousands-of-sheets", many_sheets, "620102_城关区.xlsx"),
    ("megabyte-township-name", long_string, "620102_城关区.xlsx"),
    ("not-a-zip-at-all", lambda d: os.urandom(5000), "620102_城关区.xlsx"),
    ("empty-file", lambda d: b"", "620102_城关区.xlsx"),
    ("ole-garbage", lambda d: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 4000, "620102_城关区.xls"),
]


@pytest.mark.parametrize("case", HOSTILE, ids=[c[0] for c in HOSTILE])
def test_hostile_file_costs_one_error_and_nothing_else(case, tmp_path, settings, form, units):
    _, make, name = case
    run = run_with(tmp_path, settings, form, units, name, make(good(form, units)))
    assert_other_county_intact(run, form)
    own = [f for f in run.findings if f.file == name]
    assert [f.severity.value for f in own] == ["error"], [(f.rule, f.message[:80]) for f in own]
    assert len(own[0].message) < 300


def test_macros_are_never_copied_into_outputs(tmp_path, settings, form, units):
    rows = clean_rows()
    rows[1]["precision_fixed"] = 999  # an error, so a returned workbook is written
    data = with_macro(good(form, units, rows=rows))
    run = run_with(tmp_path, settings, form, units, "620102_城关区.xlsm", data)
    returned = zipfile.ZipFile(io.BytesIO(run.files["returns/620102_城关区.xlsx"]))
    assert not any("vba" in n.lower() for n in returned.namelist())


@pytest.mark.parametrize("cut", [1, 30, 100, 1000, 4000, -2000, -200, -22, -1])
def test_truncated_files(cut, tmp_path, settings, form, units):
    data = good(form, units)
    run = run_with(tmp_path, settings, form, units, "620102_城关区.xlsx", data[:cut])
    assert_other_county_intact(run, form)
    assert_one_error_or_intact(run, form, "620102_城关区.xlsx")
    # Filed under the county its name gives, as the roster counts it (it was filed under none).
    assert all(f.county_code == CODE for f in run.findings if f.rule == "unreadable")


@pytest.mark.parametrize("seed", range(12))
def test_random_byte_flips(seed, tmp_path, settings, form, units):
    data = bytearray(good(form, units))
    rng = random.Random(seed)
    for _ in range(3):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    run = run_with(tmp_path, settings, form, units, "620102_城关区.xlsx", bytes(data))
    assert_other_county_intact(run, form)
    assert_one_error_or_intact(run, form, "620102_城关区.xlsx")


def test_files_read_together_read_as_each_alone(tmp_path, form, units, monkeypatch):
    """Reading goes stage by stage over a group of files: a file that fails at any stage
    (opening, parsing a sheet, reading it) costs only its own result, and each file reads
    exactly as it does alone, however the files are grouped."""
    data = good(form, units)
    bodies = {"620102_城关区.xlsx": data, "620103_七里河区.xlsx": good(form, units, OTHER),
              "laughs.xlsx": billion_laughs(data), "noise.xlsx": os.urandom(5000), "empty.xlsx": b"",
              "garbage.xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 4000}
    bodies |= {f"cut{cut}.xlsx": data[:cut] for cut in (30, 1000, -200, -22)}
    for seed in range(4):
        flipped = bytearray(data)
        rng = random.Random(seed)
        for _ in range(3):
            flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
        bodies[f"flip{seed}.xlsx"] = bytes(flipped)
    sources = []
    for name, body in bodies.items():
        (tmp_path / name).write_bytes(body)
        kind = "xls" if name.endswith(".xls") else "xlsx"
        sources.append(Source(name, len(body), "", 0.0, kind, abspath=str(tmp_path / name)))
    items = [with_bytes(s) for s in sources]
    alone = [read_source(s, data, form, units) for s, data in items]
    assert read_sources(items, form, units) == alone
    monkeypatch.setattr(read_module, "STAGE_FILES", 3)
    assert read_sources(items, form, units) == alone
    monkeypatch.setattr(read_module, "STAGE_BYTES", 1)  # one file a group, whatever STAGE_FILES says
    assert read_sources(items, form, units) == alone
    assert alone[0].ret is not None and alone[0].ret.county_code == CODE and not alone[0].findings
    assert sum(r.ret is None for r in alone) >= 5  # the broken ones failed, each on its own


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=3000), st.sampled_from([b"", b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"]))
def test_reader_fuzz_never_raises(tmp_path, form, units, body, head):
    path = tmp_path / "fuzz.xlsx"
    path.write_bytes(head + body)
    src = Source("fuzz.xlsx", path.stat().st_size, "", 0.0, "xlsx", abspath=str(path))
    result = read_source(src, head + body, form, units)
    if result.ret is None:
        assert len(result.findings) == 1 and result.findings[0].severity.value == "error"


def test_report_outputs_are_inert(tmp_path, settings, form, units):
    rows = clean_rows()
    rows[0]["township"] = "<script>alert(1)</script>"
    rows[1]["township"] = '=HYPERLINK("http://evil.example","点我")'
    wb = build_return(form, units.by_code(CODE), rows, people=("=cmd|' /C calc'!A0", "李", "@SUM(1)"))
    for ws in wb.worksheets:  # typed as text by the county, not as a formula
        for cell in (ws["A6"], ws.cell(ws.max_row, 1)):
            if str(cell.value).startswith("="):
                cell.data_type = "s"
    run = run_with(tmp_path, settings, form, units, "=HYPERLINK(1).xlsx", workbook_bytes(wb))
    for page in ("report.html", "validation.html"):
        html = run.files[page].decode("utf-8")
        assert "<script>alert" not in html
    html = run.files["report.html"].decode("utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" not in html or "<script>" not in html
    roster = list(csv.reader(io.StringIO(run.files["roster.csv"].decode("utf-8-sig"))))
    row = next(r for r in roster if r[0] == CODE)
    assert row[4] == "'=HYPERLINK(1).xlsx" and row[7] == "'=cmd|' /C calc'!A0" and row[8] == "'@SUM(1)"
    for cells in csv.reader(io.StringIO(run.files["findings.csv"].decode("utf-8-sig"))):
        assert not any(c[:1] in "=+-@" and c for c in cells)
    wb = load_workbook(io.BytesIO(run.files["consolidated.xlsx"]))
    ws = wb["乡镇明细-走访情况"]
    names = {ws.cell(r, 6).value: ws.cell(r, 6).data_type for r in range(2, ws.max_row + 1)}
    assert names['=HYPERLINK（"http://evil.example","点我"）'] == "s"  # a name's brackets as official writing has them
    assert names["<script>alert（1）</script>"] == "s"


def test_same_inbox_same_bytes(tmp_path, settings):
    a, b = build_run(EXAMPLE, settings), build_run(EXAMPLE, settings)
    for name in ("totals.csv", "findings.csv", "roster.csv", "report.html", "report.docx", "consolidated.xlsx"):
        assert a.files[name] == b.files[name], name


def _children(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []


def _processes_of(inbox: Path) -> list[str]:
    """Processes whose command line names this inbox: the run and the helpers it forked."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if str(inbox).encode() in cmdline.read_bytes():
                found.append(cmdline.parent.name)
        except OSError:
            continue
    return found


def _digest(folder: Path) -> dict[str, str]:
    # The outbox's lock file names whichever run last held it: not an output.
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".outbox.lock"}


def test_inbox_is_byte_identical_after_a_run(tmp_path):
    import shutil

    from pipeline import cli

    inbox = tmp_path / "inbox"
    shutil.copytree(EXAMPLE, inbox)
    (inbox / "兰州.zip").write_bytes(zip_of({"x/620102_城关区.xlsx": (EXAMPLE / "620102_城关区.xlsx").read_bytes()}))
    before = _digest(inbox)
    mtimes = {p: p.stat().st_mtime_ns for p in inbox.iterdir()}
    assert cli.main(["report", "--inbox", str(inbox), "--outbox", str(tmp_path / "out")]) == 0
    assert _digest(inbox) == before
    assert {p: p.stat().st_mtime_ns for p in inbox.iterdir()} == mtimes


def test_history_keeps_each_run_with_its_manifest(tmp_path):
    from pipeline import cli

    out = tmp_path / "out"
    for _ in range(2):
        assert cli.main(["report", "--inbox", str(EXAMPLE), "--outbox", str(out)]) == 0
    runs = sorted((out / "history").iterdir())
    assert len(runs) == 2
    manifest = list(csv.DictReader(io.StringIO((runs[1] / "manifest.csv").read_text(encoding="utf-8-sig"))))
    assert len(manifest) == 87 and {m["status"] for m in manifest} == {"已报送"}
    first = manifest[0]
    assert first["sha256"] == hashlib.sha256((EXAMPLE / first["file"]).read_bytes()).hexdigest()
    assert _without_time(runs[0] / "report.docx") == _without_time(out / "report.docx")


def _without_time(path: Path) -> dict[str, bytes]:
    """A Word report's parts, less docProps/core.xml: it carries the time of the run that made it."""
    import zipfile

    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="watches the run's processes through /proc (Linux)")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL, signal.SIGINT])
def test_a_killed_run_leaves_the_previous_report_intact(tmp_path, sig):
    import shutil

    from pipeline.paths import ROOT as root
    out = tmp_path / "out"
    first = subprocess.run([sys.executable, "-m", "pipeline", "report", "--inbox", str(EXAMPLE), "--outbox", str(out)],
                           cwd=root, capture_output=True, timeout=300)
    assert first.returncode == 0
    (out / "templates").mkdir()
    (out / "templates" / "keep.xlsx").write_bytes(b"mine")
    before = _digest(out)
    big = tmp_path / "big"
    for i in range(10):  # 870 files the read cache has never seen: a comment makes each copy new bytes
        for src in sorted(EXAMPLE.glob("*.xlsx")):
            target = big / f"batch{i}" / src.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, target)
            with zipfile.ZipFile(target, "a") as z:
                z.comment = f"copy {i}".encode()
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "report", "--inbox", str(big), "--outbox", str(out)],
                            cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    # Signal once the run is reading (its reader processes are up), not after a guessed time.
    deadline = time.monotonic() + 60
    while len(_children(proc.pid)) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert proc.poll() is None, "the run finished before it could be interrupted"
    if sig == signal.SIGINT:
        os.killpg(proc.pid, sig)  # Ctrl-C at a terminal reaches every process of the run
    else:
        proc.send_signal(sig)
    proc.wait(timeout=60)
    deadline = time.monotonic() + 10
    while _processes_of(big) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_of(big) == [], "a reader or chart process outlived the run"
    err = proc.stderr.read()
    assert proc.returncode != 0
    assert _digest(out) == before
    if sig != signal.SIGKILL:
        assert not list(out.glob(".run-*"))  # it cleaned up after itself
        assert err.decode().count("已中断") == 1, err.decode()


def test_a_part_whose_size_lies_is_refused_when_the_lie_could_cost_memory(tmp_path, settings, form, units):
    """The size check is against memory: no deflate stream inflates past 1,032 times its length,
    so a part too small to make more than a few megabytes, whatever its directory says, is not
    inflated before the engine reads it. Its content is the file's (here the styles, then
    blanks): the return reads as written. A lie that could make more is refused before the
    engine sees it, as suspicious."""
    from tests.builders import lying_zip

    data = good(form, units)
    for inflates_to, suspicious in ((2 * 1024 * 1024, False), (100 * 1024 * 1024, True)):
        bad = lying_zip(data, "xl/styles.xml", inflates_to)
        (tmp_path / str(inflates_to)).mkdir()
        run = run_with(tmp_path / str(inflates_to), settings, form, units, "620102_城关区.xlsx", bad)
        assert_other_county_intact(run, form)
        own = [f for f in run.findings if f.file == "620102_城关区.xlsx"]
        if suspicious:
            assert [(f.rule, f.severity.value) for f in own] == [("unreadable", "error")], [f.message for f in own]
            assert "比它声明的大" in own[0].message
            assert next(u for u in run.roster.units if u.code == CODE).status != "included"
        else:
            assert own == []
            mine = run.totals.counties.loc[CODE]
            assert {k: int(mine[k]) for k in form.field_keys} == {k: sum(r[k] for r in clean_rows()) for k in form.field_keys}


@pytest.mark.parametrize("make", ["two-sided", "unicode-name"])
def test_a_zip_directory_that_tells_two_stories_is_refused_before_the_engine_reads_it(tmp_path, form, units, make):
    """A directory whose zip64 field or Unicode name says other than its plain fields shows the
    checks one part and the engine another: here a far cell (XFD1048576) hidden from the scan,
    for which the engine would ask for half a terabyte and end the process. Refused, in its own
    words. Read in a process of its own, so that a regression fails this test, not the run."""
    data = good(form, units)
    bad = (with_two_sided_directory(data, "xl/worksheets/sheet1.xml",
                                    b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>', b"</sheetData>")
           if make == "two-sided" else with_unicode_name(data, "xl/worksheets/sheet1.xml", "xl/worksheets/sheet9.xml"))
    path = tmp_path / "bad.xlsx"
    path.write_bytes(bad)
    code = ("import sys; from pipeline.stages.read.grid import Unreadable; from pipeline.stages.read.workbook import open_book\n"
            f"try:\n    book = open_book(open({str(path)!r}, 'rb').read())\n    [book.load(n) for n, _ in book.sheets]\n"
            "    print('read')\nexcept Unreadable as e:\n    print('refused', *e.args)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-500:]
    assert done.stdout.split() == ["refused", "压缩包的目录前后矛盾，疑似恶意文件"]
