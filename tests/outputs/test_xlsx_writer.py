"""consolidated.xlsx's own writer: sheets given in blocks, compressed ahead and kept between
runs, read back in Excel's readers exactly as sheets given by column."""

from __future__ import annotations

import io
import zipfile
import zlib

from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from pipeline.outputs.xlsx_writer import BlockSheet, OutSheet, _Deflated, row_blocks, write_xlsx

HEADER = ["县代码", "县名称", "文件", "行", "乡镇", "户数"]
TEXTS = ["城关区", " 前后有空格 ", "<b>&amp;", "=SUM(A1)", "两行\n之间", "控制\x00\x07字符", "x" * 50, "0620"]


def township_rows(n_returns: int) -> tuple[list[list], list[tuple[int, int]]]:
    rows, bounds = [], []
    for i in range(n_returns):
        start = len(rows)
        for j in range(1 + i % 4):
            rows.append([f"6201{i:02d}", TEXTS[i % len(TEXTS)], f"{i}.xlsx", 5 + j, TEXTS[(i + j) % len(TEXTS)],
                         None if j == 2 else i * 100 + j])
        bounds.append((start, len(rows)))
    return rows, bounds


def as_blocks(rows: list[list], bounds: list[tuple[int, int]]):
    columns = [list(c) for c in zip(*rows)]
    return row_blocks([rows[a][:3] for a, _ in bounds], columns[3:], bounds)


def read_back(data: bytes) -> dict[str, tuple[list, list]]:
    """Each sheet as openpyxl and as calamine see it, empty cells as None."""
    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None  # every entry's CRC holds
    wb = load_workbook(io.BytesIO(data))
    cw = CalamineWorkbook.from_filelike(io.BytesIO(data))
    out = {}
    for name in wb.sheetnames:
        by_openpyxl = [list(r) for r in wb[name].iter_rows(values_only=True)]
        by_calamine = [[None if v == "" else int(v) if isinstance(v, float) and v.is_integer() else v for v in r]
                       for r in cw.get_sheet_by_name(name).to_python(skip_empty_area=False)]
        out[name] = (by_openpyxl, by_calamine)
    return out


def test_a_sheet_in_blocks_reads_back_as_the_same_sheet_by_column():
    rows, bounds = township_rows(12)
    by_column = OutSheet.from_rows("列", HEADER, rows, [10] * len(HEADER))
    in_blocks = BlockSheet("块", HEADER, as_blocks(rows, bounds), [10] * len(HEADER))
    sheets = read_back(write_xlsx([by_column, in_blocks]))
    (plain, plain_c), (blocks, blocks_c) = sheets["列"], sheets["块"]
    assert blocks == plain and blocks_c == plain_c
    expected = [[v.replace("\x00", "").replace("\x07", "") if isinstance(v, str) else v for v in r] for r in rows]
    assert blocks[1:] == expected
    assert blocks[0] == HEADER


def test_blocks_made_one_by_one_are_the_blocks_made_together():
    """A kept block and a fresh one are interchangeable: the same bytes either way."""
    rows, bounds = township_rows(9)
    together = as_blocks(rows, bounds)
    apart = [as_blocks(rows[a:b], [(0, b - a)])[0] for a, b in bounds]
    assert together == apart
    mixed = [apart[i] if i % 2 else together[i] for i in range(len(bounds))]
    sheet = lambda blocks: BlockSheet("块", HEADER, blocks, [10] * len(HEADER))  # noqa: E731
    assert write_xlsx([sheet(mixed)]) == write_xlsx([sheet(together)])


def test_an_empty_sheet_in_blocks_is_only_its_header():
    [(rows, rows_c)] = read_back(write_xlsx([BlockSheet("空", HEADER, [], [10] * len(HEADER))])).values()
    assert rows == [HEADER] and rows_c == [HEADER]


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300), st.lists(st.binary(min_size=0, max_size=3000), max_size=8), st.binary(max_size=300))
def test_a_stream_compressed_in_pieces_is_the_whole_text_with_its_crc(head, pieces, tail):
    from pipeline.outputs.xlsx_writer import Block

    compressor = zlib.compressobj(1, zlib.DEFLATED, -15)
    blocks = [Block(compressor.compress(p) + compressor.flush(zlib.Z_FULL_FLUSH), zlib.crc32(p), len(p), 1)
              for p in pieces]
    entry = _Deflated(head, blocks, tail)
    whole = head + b"".join(pieces) + tail
    assert zlib.decompress(entry.data, -15) == whole
    assert (entry.crc, entry.size) == (zlib.crc32(whole), len(whole))


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
@settings(max_examples=200, deadline=None)
def test_xml_text_and_attributes_read_back_as_written(text):
    """The writer's own escaping (xml.sax.saxutils, which loads urllib and email, is not
    imported): element text as saxutils escapes it; an attribute, parsed back, is the text."""
    from xml.etree import ElementTree
    from xml.sax.saxutils import escape as sax_escape

    from pipeline.outputs.xlsx_writer import escape, quoted

    assert escape(text) == sax_escape(text)
    legal = "".join(c for c in text if c in "\t\n\r" or (c >= " " and c not in "\ufffe\uffff"))
    assert ElementTree.fromstring(f"<s name={quoted(legal)}/>").get("name") == legal


def test_the_writers_load_no_network_modules():
    """Loading xml.sax.saxutils for two escapes cost the Word helper and the workbooks' process
    a fiftieth of a second each, at the end of every run."""
    import subprocess
    import sys

    from pipeline.paths import ROOT

    code = ("import sys\n"
            "from pipeline.outputs import word, xlsx_writer\n"
            "word.prepare_docx()\n"
            "print(sorted(m for m in ('urllib.request', 'http.client', 'email', 'xml.sax') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
