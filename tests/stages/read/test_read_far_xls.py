"""An .xls whose used area the spreadsheet engine cannot hold: a stray cell at IV65536 (the
engine would make a grid of 16 million cells), or a crafted cell beyond the format's 256
columns (billions: the engine aborts the process reading the file, and with it the run). Such a
file is refused before the engine sees it, naming the cell; ordinary returns are read."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import sys

import olefile
import pytest

from pipeline.outputs.formbook import build_return, workbook_bytes
from pipeline.paths import ROOT
from pipeline.stages.read.biff import XLS_MAX_CELLS, xls_far_cell
from tests.builders import EXAMPLE, clean_rows, read_one, to_xls

CELL_RECORDS = (0x0203, 0x027E, 0x00FD)  # NUMBER, RK, LABELSST: where xlwt writes figures and text


def an_xls_return(form, units) -> bytes:
    return to_xls(workbook_bytes(build_return(form, units.by_code("620102"), clean_rows())))


def moved_last_cell(data: bytes, row: int, column: int) -> bytes:
    """The .xls with its first sheet's last figure or text cell moved to (row, column), from 0:
    the record's own two fields rewritten in place, as a clerk's stray entry (or a crafted file)
    would have them."""
    ole = olefile.OleFileIO(data)
    stream = bytearray(ole.openstream("Workbook").read())
    pos, sheets, last = 0, 0, -1
    while pos + 4 <= len(stream):
        kind, size = struct.unpack_from("<HH", stream, pos)
        if kind == 0x0809:
            sheets += 1
        elif kind in CELL_RECORDS and sheets == 2:  # the globals' BOF, then the first sheet's
            last = pos
        pos += 4 + size
    assert last >= 0
    struct.pack_into("<HH", stream, last + 4, row, column)
    ole.write_stream("Workbook", bytes(stream))  # same length: written in place
    return ole.fp.getvalue() if isinstance(ole.fp, io.BytesIO) else data


@pytest.fixture
def xls(form, units) -> bytes:
    return an_xls_return(form, units)


def test_an_ordinary_xls_return_has_no_far_cell(xls):
    assert xls_far_cell(xls) is None


def test_a_stray_cell_far_down_column_a_is_read_as_ever(xls):
    """Row 6,000 of column A: 6,000 × a dozen columns, nothing the engine cannot hold."""
    assert xls_far_cell(moved_last_cell(xls, 5999, 0)) is None


@pytest.mark.parametrize("row, column, said", [
    (65535, 255, "单元格IV65536远在表格之外，整张工作表大到无法读取"),
    (300, 256, "第301行第257列有单元格，超出.xls格式的范围，文件已损坏"),
])
def test_a_cell_the_engine_cannot_hold_makes_the_file_unreadable_naming_it(tmp_path, form, units, xls, row, column,
                                                                             said):
    """Read here, in the test's process: cells the engine would hold if it had to (the one
    it would abort on is read in a process of its own, below)."""
    data = moved_last_cell(xls, row, column)
    assert xls_far_cell(data) == (row, column)
    (tmp_path / "620102_城关区.xls").write_bytes(data)
    result = read_one(tmp_path, form, units)
    assert result.ret is None
    assert [(f.rule, f.severity.value) for f in result.findings] == [("unreadable", "error")]
    assert said in result.findings[0].message


def test_the_limit_is_the_area_not_the_row(xls):
    """A sheet whose area passes XLS_MAX_CELLS only with its far column: the cell that took it
    past is the one named."""
    rows = XLS_MAX_CELLS // 40 + 1
    assert xls_far_cell(moved_last_cell(xls, rows, 10)) is None
    assert xls_far_cell(moved_last_cell(xls, rows, 60)) == (rows, 60)


def test_a_crafted_xls_among_few_returns_costs_its_county_alone(tmp_path, form, units, xls):
    """The file the engine would abort on, in an inbox read in the run's own process (fewer
    returns than start reader processes): the run ends, its county's return is rejected with
    the cell named, and every other county is read. Run as the office runs it, in a process of
    its own, so that an abort is a failed test, not a lost test run."""
    inbox = tmp_path / "inbox"
    shutil.copytree(EXAMPLE, inbox)
    (inbox / "620102_城关区.xlsx").unlink()
    crafted = moved_last_cell(xls, 65535, 65535)
    assert xls_far_cell(crafted) == (65535, 65535)
    (inbox / "620102_城关区.xls").write_bytes(crafted)
    out = subprocess.run([sys.executable, "-m", "pipeline", "report", "--inbox", str(inbox), "--outbox",
                          str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, (out.returncode, out.stderr[-2000:])
    roster = (tmp_path / "out" / "roster.csv").read_text(encoding="utf-8-sig")
    assert "620102,城关区,兰州市,已退回,620102_城关区.xls" in roster
    assert roster.count(",已汇总,") + roster.count(",已报送,") >= 80
    findings = (tmp_path / "out" / "findings.csv").read_text(encoding="utf-8-sig")
    assert "第65536行第65536列有单元格，超出.xls格式的范围" in findings
