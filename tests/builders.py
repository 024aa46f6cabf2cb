"""The tests' shared builders: the bundled example, clean returns written into tmp_path, variants
of the issued layout as counties send them, and the helpers that read them back. Test modules
import from here (and from habits.py, office.py, serving.py), never from one another."""

from __future__ import annotations

import io
import random
import re
import struct
import subprocess
import sys
import zipfile
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.utils import column_index_from_string

from pipeline.outputs.formbook import Layout, build_return, workbook_bytes
from pipeline.paths import ROOT
from pipeline.stages.read.sources import read_source

TESTS = Path(__file__).resolve().parent
FIXTURES = TESTS / "fixtures"
GOLDEN = TESTS / "golden"


def bit_flipped(data: bytes, seed: str, times: int):
    """`data` with one bit flipped at a random place (a failing disk, a copy gone wrong), `times`
    copies, each on its own: the same places for the same seed."""
    rng = random.Random(seed)
    for _ in range(times):
        damaged = bytearray(data)
        damaged[rng.randrange(len(damaged))] ^= 1 << rng.randrange(8)
        yield bytes(damaged)


def save(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def reload(data: bytes) -> Workbook:
    return load_workbook(io.BytesIO(data))


def rewrite_sheet_xml(data: bytes, edit) -> bytes:
    """Apply `edit(xml_text) -> xml_text` to every worksheet part of an xlsx."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename.startswith("xl/worksheets/sheet"):
                body = edit(body.decode("utf-8")).encode("utf-8")
            dst.writestr(info, body)
    return out.getvalue()


def cache_formula_values(data: bytes) -> bytes:
    """Give every =SUM(X5:X9) a cached value, as Excel does when it saves.

    openpyxl writes formulas without results; this computes each SUM over the sheet's own
    numbers so the file looks like one saved by Excel or WPS."""
    wb = load_workbook(io.BytesIO(data))
    values: dict[str, dict[str, float]] = {}
    for idx, ws in enumerate(wb.worksheets, start=1):
        sheet_vals = {}
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str) and c.value.startswith("=SUM("):
                    a, b = re.match(r"=SUM\(([A-Z]+\d+):([A-Z]+\d+)\)", c.value).groups()
                    total = sum(x.value or 0 for line in ws[a:b] for x in line if isinstance(x.value, (int, float)))
                    sheet_vals[c.coordinate] = total
        values[f"xl/worksheets/sheet{idx}.xml"] = sheet_vals

    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            cells = values.get(info.filename)
            if cells:
                text = body.decode("utf-8")
                for ref, v in cells.items():
                    text = re.sub(
                        rf'(<c r="{ref}"[^>]*>\s*<f>[^<]*</f>)\s*(?:<v\s*/>|<v>\s*</v>)?',
                        lambda m, v=v: f"{m.group(1)}<v>{v}</v>", text,
                    )
                body = text.encode("utf-8")
            dst.writestr(info, body)
    return out.getvalue()


def to_xls(data: bytes, errors: dict | None = None, formulas: dict | None = None) -> bytes:
    """The same values and merges as a legacy .xls (BIFF8), written by xlwt. `errors`:
    {(sheet title, row, column) (1-based): BIFF error code (7 is #DIV/0!, 0x2A #N/A)}, cells
    written as error values (xlwt's own table of error texts is wrong for #VALUE! and lacks #N/A).
    `formulas`: {(sheet, row, column): "G5*2"}, written as xlwt writes a formula: with no result."""
    import xlwt

    wb = load_workbook(io.BytesIO(data))
    book = xlwt.Workbook(encoding="utf-8")
    for ws in wb.worksheets:
        sheet = book.add_sheet(ws.title)
        for letter, dim in ws.column_dimensions.items():
            if dim.hidden:  # a hidden column is hidden in the .xls too (its COLINFO record)
                sheet.col(column_index_from_string(letter) - 1).hidden = True
        merged_cells = set()
        for rng in ws.merged_cells.ranges:
            top = (rng.min_row, rng.min_col)
            sheet.write_merge(rng.min_row - 1, rng.max_row - 1, rng.min_col - 1, rng.max_col - 1,
                              ws.cell(*top).value)
            merged_cells |= {(r, c) for r in range(rng.min_row, rng.max_row + 1) for c in range(rng.min_col, rng.max_col + 1)}
        for row in ws.iter_rows():
            for c in row:
                if (ws.title, c.row, c.column) in (errors or {}):
                    sheet.row(c.row - 1).set_cell_error(c.column - 1, errors[ws.title, c.row, c.column])
                    continue
                if (ws.title, c.row, c.column) in (formulas or {}):
                    sheet.write(c.row - 1, c.column - 1, xlwt.Formula(formulas[ws.title, c.row, c.column]))
                    continue
                if c.value is None or (c.row, c.column) in merged_cells:
                    continue
                sheet.write(c.row - 1, c.column - 1, c.value)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def xls_the_engine_panics_on() -> bytes:
    """An .xls (BIFF8, written by xlwt) whose one formula's tokens are a PtgExp cut short: the
    token stream says one byte, the operand (row, column) that must follow it is not there.
    calamine panics on it as it opens the file, and the panic reaches Python as pyo3's
    PanicException, a BaseException."""
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("表一")
    sheet.write(0, 0, 5)
    sheet.write(0, 1, xlwt.Formula("A1"))
    buf = io.BytesIO()
    book.save(buf)
    data = bytearray(buf.getvalue())
    at = 0
    while (at := data.find(b"\x06\x00", at + 1)) >= 0:  # the FORMULA record of B1
        size, row, column = struct.unpack_from("<HHH", data, at + 2)
        if (row, column) == (0, 1) and 20 < size < 200:
            tokens = at + 4 + 20  # after row, column, style, result, flags and the chain field: cce, then the tokens
            struct.pack_into("<H", data, tokens, 1)
            data[tokens + 2] = 0x01  # PtgExp, with its operand cut off by cce
            return bytes(data)
    raise AssertionError("xlwt wrote no FORMULA record for B1")


def zip_of(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in files.items():
            z.writestr(name, body)
    return out.getvalue()


def subtotal_row(ws, spec, plan, at: int, label: str, rows: list[dict]) -> None:
    """A row inserted at `at` as clerks write a 小计: `label` in column A, each count of the
    sheet the sum of `rows` in its column."""
    ws.insert_rows(at)
    ws.cell(at, 1, label)
    for f in spec.count_fields:
        ws.cell(at, plan.columns[f.key], sum(r[f.key] for r in rows))


def files_in(folder):
    """Each readable file of a folder with its bytes, as a run's view of the inbox holds them."""
    from pipeline.store.inbox import take_view

    view = take_view(folder)
    return [(s, view.data[s.path]) for s in view.readable()]


def with_bytes(source):
    """A source and the bytes its file holds now (a test's own file, never an inbox a run reads)."""
    from pathlib import Path

    return source, Path(source.abspath).read_bytes()


def checked_files(folder, form, units, passwords=()):
    """Every file of a folder read and validated as a run does, each by itself (no unit's file
    chosen): the run's own path, run/check."""
    from pipeline.run.check import check_files
    from pipeline.run.runner import Guard
    from pipeline.store.inbox import take_view

    view = take_view(folder)
    done = check_files(list(view.sources), view.data, form, units, passwords=passwords, guard=Guard(form))
    return list(done.checked().values())


EXAMPLE = ROOT / "examples" / "gansu-2016"


def clean_rows() -> list[dict]:
    """Three townships with figures that satisfy every rule."""
    base = {
        "villages_total": 12, "villages_visited": 12, "villages_newly_linked": 1,
        "households_total": 3000, "households_visited": 2990, "households_visited_twice": 2900,
        "linking_units": 11, "linking_cadres": 320,
        "precision_found": 20, "precision_fixed": 20, "guarantees_found": 53, "guarantees_fixed": 50,
        "disputes_found": 40, "disputes_fixed": 36,
        "policy_sessions": 140, "opinions_collected": 220, "disputes_resolved": 44,
        "infrastructure_projects": 5, "industry_projects": 4, "training_sessions": 10,
        "practical_matters": 36, "grassroots_orgs": 4, "role_models": 2,
    }
    rows = []
    for i, name in enumerate(["城关镇", "新庄乡", "石岭镇"]):
        rows.append({"township": name} | {k: v + i for k, v in base.items()})
    return rows


def neighbours_rows(n: int = 1) -> list[dict]:
    """clean_rows() as the n-th other county would send them: the same figures under its own
    townships' names. Two units' returns with the same townships and figures are one return
    sent twice (same-as-another)."""
    return [dict(r, township=f"{r['township']}{n}") for r in clean_rows()]


def write_return(folder: Path, form, unit, rows=None, name=None, layout=Layout(), **kw) -> Path:
    wb = build_return(form, unit, rows if rows is not None else clean_rows(), layout=layout, **kw)
    path = folder / (name or f"{unit.code}_{unit.name}.xlsx")
    path.write_bytes(workbook_bytes(wb))
    return path


def example_with_errors(folder: Path, form, units, codes: tuple[str, ...] = ("620103", "620104")) -> Path:
    """The bundled example copied to `folder`, each county of `codes` resending a return with
    more fixed than found in its first township (an error): their workbooks go back."""
    import shutil

    shutil.copytree(EXAMPLE, folder)
    fields = ("guarantees_fixed", "disputes_fixed", "precision_fixed")
    for i, code in enumerate(codes):
        bad = clean_rows()
        field = fields[i % len(fields)]
        bad[0][field] = bad[0][field.replace("fixed", "found")] + 3
        write_return(folder, form, units.by_code(code), bad)
    return folder


def numbers_of(ret, form) -> dict:
    """sheet key → [(township, {field: value})] in the order the county listed them."""
    out = {}
    for spec in form.sheets:
        sheet = ret.sheets[spec.key]
        out[spec.key] = [(name, {f.key: sheet.values[f.key][i] for f in spec.count_fields})
                         for i, name in enumerate(sheet.townships)]
    return out


def expected_numbers(rows, form) -> dict:
    return {
        spec.key: [(r["township"], {f.key: None if r[f.key] is None else int(r[f.key]) for f in spec.count_fields})
                   for r in rows]
        for spec in form.sheets
    }


def read_one(folder, form, units):
    items = files_in(folder)
    assert len(items) == 1, items
    return read_source(*items[0], form, units)


def fill(data: bytes, form, rows: list[dict], when=datetime(2016, 12, 6)) -> bytes:
    """What a county clerk does: type townships and numbers into the unlocked cells."""
    wb = load_workbook(io.BytesIO(data))
    for spec in form.sheets:
        ws = wb[f"{spec.number}{spec.label}"]
        header = {}
        for row in ws.iter_rows(min_row=1, max_row=8):
            for c in row:
                if c.value is not None:
                    header[str(c.value)] = c
        top = next(c.row for k, c in header.items() if k == "乡镇")
        first = top + 2  # two-row header
        # The clerk fills the columns under their labels: the sub-label row, or the top row for
        # a label merged down over both.
        cols = {}
        for f in spec.fields:
            for c in range(1, ws.max_column + 1):
                top_text, sub_text = ws.cell(top, c).value, ws.cell(top + 1, c).value
                group = _group_of(ws, ws.cell(top + 1, c))
                if (f.group and sub_text == f.label and group == f.group) or (not f.group and top_text == f.label):
                    cols[f.key] = c
                    break
        assert set(cols) == {f.key for f in spec.fields}
        date_label = next(c for k, c in header.items() if k == "填报日期：")
        ws.cell(date_label.row, date_label.column + 1, when)
        for i, r in enumerate(rows):
            for key, col in cols.items():
                value = r["township"] if key == spec.key_field.key else r[key]
                ws.cell(first + i, col, value)
        footer = next(r for r in range(first, ws.max_row + 1) if str(ws.cell(r, 1).value or "").startswith("填表人"))
        ws.cell(footer, 1, "填表人:赵敏")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


HOLD = """
import sys, time
from pathlib import Path
from pipeline.store.lock import outbox_lock
with outbox_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def hold(outbox: Path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(outbox), str(seconds)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc

def _group_of(ws, cell):
    for rng in ws.merged_cells.ranges:
        if rng.min_row == cell.row - 1 and rng.min_col <= cell.column <= rng.max_col:
            return ws.cell(rng.min_row, rng.min_col).value.replace("“", '"').replace("”", '"')
    return None


def place(table: str, ref: str) -> str:
    """A cell as a clerk reads it in a message (the form's sheet named by its table): 表一 第5行 F列."""
    column = ref.rstrip("0123456789")
    return f"{table} 第{ref[len(column):]}行 {column}列"


def lying_zip(data: bytes, part: str, inflates_to: int) -> bytes:
    """The workbook `data` with `part` replaced by a stream that inflates to `inflates_to` bytes
    (the part's own text, then blanks XML allows) while the zip's directory still declares the
    part's old size and checksum: what a hostile file does to look small. Compressed a
    megabyte at a time, so a gigabyte costs a few seconds and little memory."""
    import struct
    import zlib

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        parts = {i.filename: (i, zf.read(i)) for i in zf.infolist()}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, (info, body) in parts.items():
            if name != part:
                z.writestr(info, body)
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    head = parts[part][1]
    stream = [packer.compress(head)]
    blanks = b" " * (1 << 20)
    left = max(inflates_to - len(head), 0)
    while left > 0:
        stream.append(packer.compress(blanks[:left]))
        left -= len(blanks)
    stream.append(packer.flush())
    packed = b"".join(stream)
    declared = parts[part][0]
    body = out.getvalue()
    end = body.rindex(b"PK\x05\x06")
    entries, directory_size, directory_at = struct.unpack_from("<HII", body, end + 10)
    name = part.encode()
    local = struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, 8, 0, 0, declared.CRC, len(packed), declared.file_size,
                        len(name), 0) + name
    central = struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, declared.CRC, len(packed),
                          declared.file_size, len(name), 0, 0, 0, 0, 0, directory_at) + name
    records = body[:directory_at] + local + packed
    directory = body[directory_at:directory_at + directory_size] + central
    tail = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, entries + 1, entries + 1, len(directory), len(records), 0)
    return records + directory + tail


def with_two_sided_directory(data: bytes, part: str, hidden: bytes, before: bytes) -> bytes:
    """The workbook `data` with `hidden` put into `part` just before `before`, the zip's
    directory telling two stories: its plain fields give the size of the part up to `hidden`
    alone (all that Python's zipfile reads), a zip64 field the whole (which the spreadsheet
    engine's zip reader takes). What a hostile file does to show the checks one part and the
    engine another."""
    import struct
    import zlib

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        parts = [(i.filename, zf.read(i)) for i in zf.infolist()]
    out, directory = io.BytesIO(), []
    for name, body in parts:
        encoded, offset = name.encode(), out.tell()
        packer = zlib.compressobj(9, zlib.DEFLATED, -15)
        if name == part:
            cut = body.index(before)
            shown = packer.compress(body[:cut]) + packer.flush(zlib.Z_FULL_FLUSH)  # inflates alone to the start
            whole = body[:cut] + hidden + body[cut:]
            stream = shown + packer.compress(hidden + body[cut:]) + packer.flush()
            size, crc = len(whole), zlib.crc32(whole)
            extra = struct.pack("<HHQQQ", 1, 24, size, len(stream), offset)
            listed = (len(shown), cut)
        else:
            stream = packer.compress(body) + packer.flush()
            size, crc, extra = len(body), zlib.crc32(body), b""
            listed = (len(stream), size)
        out.write(struct.pack("<4s5H3I2H", b"PK\x03\x04", 45, 0, 8, 0, 0, crc, len(stream), size, len(encoded), 0)
                  + encoded + stream)
        directory.append(struct.pack("<4s6H3I5HII", b"PK\x01\x02", 45, 45, 0, 8, 0, 0, crc, *listed, len(encoded),
                                     len(extra), 0, 0, 0, 0, offset) + encoded + extra)
    at, listing = out.tell(), b"".join(directory)
    out.write(listing + struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, len(directory), len(directory), len(listing), at, 0))
    return out.getvalue()


def with_unicode_name(data: bytes, part: str, name_as: str) -> bytes:
    """The workbook `data` with `part`'s directory entry carrying a Unicode name field that names
    it `name_as`: a name Python's zipfile does not heed and the engine's zip reader does."""
    import struct
    import zlib

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        parts = [(i, zf.read(i)) for i in zf.infolist()]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info, body in parts:
            if info.filename == part:
                name = name_as.encode()
                info.extra = struct.pack("<HHBI", 0x7075, 5 + len(name), 1, zlib.crc32(part.encode())) + name
            z.writestr(info, body)
    return out.getvalue()


def with_far_cells(data: bytes, rows: int, cols: int) -> bytes:
    """The workbook `data` with `rows` × `cols` text cells below its first sheet's table: an
    honest file (its zip declares what it holds) that is slow to read and takes memory, as a
    clerk's sheet with a pasted block of thousands of rows is."""
    from openpyxl.utils import get_column_letter

    letters = [get_column_letter(c) for c in range(1, cols + 1)]
    block = "".join(f'<row r="{r}">' + "".join(f'<c r="{c}{r}" t="inlineStr"><is><t>x{r}</t></is></c>' for c in letters)
                    + "</row>" for r in range(100, 100 + rows)).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as z, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as w:
        for info in z.infolist():
            body = z.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                body = body.replace(b"</sheetData>", block + b"</sheetData>")
            w.writestr(info.filename, body)
    return out.getvalue()


def with_member(data: bytes, name: str, body: bytes) -> bytes:
    """The workbook `data` with one more part in its zip (stored as it is): a picture, say."""
    out = io.BytesIO(data)
    with zipfile.ZipFile(out, "a", zipfile.ZIP_STORED) as z:
        z.writestr(name, body)
    return out.getvalue()


# --- the shapes other systems export (issue 25) ------------------------------------------------


def _sheets_of(data: bytes):
    """Each sheet of an xlsx as (title, rows of values, merged ranges (1-based), hidden columns (1-based))."""
    wb = load_workbook(io.BytesIO(data))
    out = []
    for ws in wb.worksheets:
        rows = [[c.value for c in row] for row in ws.iter_rows()]
        merges = [(r.min_row, r.min_col, r.max_row, r.max_col) for r in ws.merged_cells.ranges]
        hidden = {column_index_from_string(k) for k, d in ws.column_dimensions.items() if d.hidden}
        out.append((ws.title, rows, merges, hidden))
    return out


def _html_table(rows, merges, hidden, numbers_as_xnum=True, shown_as: dict | None = None) -> str:
    """A sheet as Excel's "save as web page" writes its table: spans for merged cells, x:num
    for numbers, display:none on the hidden columns' cells. `shown_as`: {(row, column)
    (1-based): the text a cell's number format shows}, beside the x:num it holds."""
    import html

    covered, spans = set(), {}
    for r1, c1, r2, c2 in merges:
        spans[(r1, c1)] = (r2 - r1 + 1, c2 - c1 + 1)
        covered |= {(r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)} - {(r1, c1)}
    out = ["<table border=0 cellpadding=0 cellspacing=0>"]
    for r, row in enumerate(rows, start=1):
        out.append(" <tr height=19>")
        for c, v in enumerate(row, start=1):
            if (r, c) in covered:
                continue
            attrs = ""
            if (r, c) in spans:
                down, across = spans[(r, c)]
                attrs += (f" rowspan={down}" if down > 1 else "") + (f" colspan={across}" if across > 1 else "")
            if c in hidden:
                attrs += " style='display:none'"
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                shown = f"{v:,}" if numbers_as_xnum else str(v)
                shown = (shown_as or {}).get((r, c), shown)
                attrs += f' x:num="{v}"' if numbers_as_xnum else ""
            elif isinstance(v, datetime):
                shown = f"{v.year}年{v.month}月{v.day}日"
            else:
                shown = html.escape("" if v is None else str(v)).replace("\n", "<br>")
            out.append(f"  <td{attrs}>{shown}</td>")
        out.append(" </tr>")
    out.append("</table>")
    return "\n".join(out)


def to_html(data: bytes, charset: str = "utf-8", declare_names: bool = True, numbers_as_xnum: bool = True,
            shown_as: dict | None = None) -> bytes:
    """The workbook as one HTML page, as web systems export an ".xls": a table per sheet, the
    sheets' names declared as Excel does (x:ExcelWorksheet) when `declare_names`, in `charset`.
    `shown_as`: {(sheet title, row, column) (1-based): the text its number format shows}."""
    sheets = _sheets_of(data)
    names = "".join(f"<x:ExcelWorksheet><x:Name>{t}</x:Name></x:ExcelWorksheet>" for t, *_ in sheets)
    head = (f'<html xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:x="urn:schemas-microsoft-com:office:excel">'
            f'<head><meta http-equiv=Content-Type content="text/html; charset={charset}">'
            + (f"<!--[if gte mso 9]><xml><x:ExcelWorkbook><x:ExcelWorksheets>{names}</x:ExcelWorksheets>"
               "</x:ExcelWorkbook></xml><![endif]-->" if declare_names else "") + "</head><body>")
    body = "<br>".join(_html_table(rows, merges, hidden, numbers_as_xnum,
                                   {(r, c): text for (t, r, c), text in (shown_as or {}).items() if t == title})
                       for title, rows, merges, hidden in sheets)
    return (head + body + "</body></html>").encode(charset)


def to_mhtml(data: bytes, hidden_sheets: tuple[str, ...] = (), encoding: str = "gb2312") -> bytes:
    """The workbook as Excel's "single file web page" (.mht, often sent as .xls): a MIME message
    whose workbook part lists the sheets (x:ExcelWorksheet with x:WorksheetSource) and a page per
    sheet, quoted-printable, in gb2312."""
    import quopri

    sheets = _sheets_of(data)
    boundary = "----=_NextPart_01D2B0C4.5E4B9C30"
    listed = "".join(
        f"<x:ExcelWorksheet><x:Name>{t}</x:Name><x:WorksheetSource HRef=\"book_files/sheet{i:03d}.htm\"/>"
        + ("<x:WorksheetOptions><x:Visible>SheetHidden</x:Visible></x:WorksheetOptions>" if t in hidden_sheets else "")
        + "</x:ExcelWorksheet>" for i, (t, *_) in enumerate(sheets, start=1))
    parts = [("file:///C:/book.htm", f"<html><head><xml><x:ExcelWorkbook><x:ExcelWorksheets>{listed}"
              "</x:ExcelWorksheets></x:ExcelWorkbook></xml></head><frameset rows=\"*,39\"></frameset></html>")]
    for i, (_, rows, merges, hidden) in enumerate(sheets, start=1):
        page = f"<html><head><meta http-equiv=Content-Type content=\"text/html; charset=gb2312\"></head><body>" \
               f"{_html_table(rows, merges, hidden)}</body></html>"
        parts.append((f"file:///C:/book_files/sheet{i:03d}.htm", page))
    parts.append(("file:///C:/book_files/tabstrip.htm", "<html><body><table><tr>" + "".join(
        f"<td>{t}</td>" for t, *_ in sheets) + "</tr></table></body></html>"))
    out = [f"MIME-Version: 1.0\r\nX-Document-Type: Workbook\r\nContent-Type: multipart/related; "
           f"boundary=\"{boundary}\"\r\n\r\nThis document is a Single File Web Page.\r\n"]
    for location, page in parts:
        body = quopri.encodestring(page.encode(encoding)).decode("ascii")  # declared gb2312 whatever it is
        out.append(f"\r\n--{boundary}\r\nContent-Location: {location}\r\nContent-Transfer-Encoding: quoted-printable"
                   f"\r\nContent-Type: text/html; charset=\"gb2312\"\r\n\r\n{body}\r\n")
    out.append(f"\r\n--{boundary}--\r\n")
    return "".join(out).encode("ascii")


def to_spreadsheetml(data: bytes, formulas: dict | None = None, errors: dict | None = None,
                     formats: dict | None = None) -> bytes:
    """The workbook as Excel 2003 XML. `formulas`: {(sheet title, row, column) (1-based): (R1C1
    formula, cached value or None for none)}; `errors`: {(sheet, row, column): "#DIV/0!"};
    `formats`: {(sheet, row, column): a number format, as Excel writes it (0.0"万", Percent)},
    each a style of its own (<Style ss:ID="s62"><NumberFormat ss:Format=…/>) the cell names."""
    from xml.sax.saxutils import escape, quoteattr

    formulas, errors, formats = formulas or {}, errors or {}, formats or {}
    style_of = {code: f"s{62 + i}" for i, code in enumerate(dict.fromkeys(formats.values()))}
    out = ['<?xml version="1.0" encoding="UTF-8"?>', '<?mso-application progid="Excel.Sheet"?>',
           '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
           'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet" xmlns:x="urn:schemas-microsoft-com:office:excel">',
           '<Styles><Style ss:ID="Default" ss:Name="Normal"><Alignment ss:Vertical="Center"/></Style>'
           + "".join(f'<Style ss:ID="{key}"><NumberFormat ss:Format={quoteattr(code)}/></Style>'
                     for code, key in style_of.items()) + "</Styles>"]
    for title, rows, merges, hidden in _sheets_of(data):
        starts = {(r1, c1): (r2 - r1, c2 - c1) for r1, c1, r2, c2 in merges}
        covered = {(r, c) for r1, c1, r2, c2 in merges for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)} - set(starts)
        out.append(f'<Worksheet ss:Name="{escape(title)}"><Table>')
        out += [f'<Column ss:Index="{c}" ss:Hidden="1"/>' for c in sorted(hidden)]
        for r, row in enumerate(rows, start=1):
            cells = []
            for c, v in enumerate(row, start=1):
                if (r, c) in covered:
                    continue
                attrs = f' ss:Index="{c}"'
                if (title, r, c) in formats:
                    attrs += f' ss:StyleID="{style_of[formats[title, r, c]]}"'
                down, across = starts.get((r, c), (0, 0))
                attrs += (f' ss:MergeAcross="{across}"' if across else "") + (f' ss:MergeDown="{down}"' if down else "")
                value = ""
                if (title, r, c) in formulas:
                    formula, cached = formulas[title, r, c]
                    attrs += f' ss:Formula="{escape(formula)}"'
                    value = "" if cached is None else f'<Data ss:Type="Number">{cached}</Data>'
                elif (title, r, c) in errors:
                    value = f'<Data ss:Type="Error">{errors[title, r, c]}</Data>'
                elif isinstance(v, (int, float)) and not isinstance(v, bool):
                    value = f'<Data ss:Type="Number">{v}</Data>'
                elif isinstance(v, datetime):
                    value = f'<Data ss:Type="DateTime">{v.isoformat()}</Data>'
                elif v is not None:
                    value = f'<Data ss:Type="String">{escape(str(v))}</Data>'
                if value or "Merge" in attrs or "Formula" in attrs:
                    cells.append(f"<Cell{attrs}>{value}</Cell>")
            out.append(f'<Row ss:Index="{r}">' + "".join(cells) + "</Row>")
        out.append("</Table></Worksheet>")
    out.append("</Workbook>")
    return "\n".join(out).encode("utf-8")


def to_csvs(data: bytes, encoding: str = "gbk", delimiter: str = ",") -> dict[str, bytes]:
    """Each sheet as its own CSV file, as Excel saves "CSV (逗号分隔)": GBK on Chinese Windows,
    or `utf-8-sig` (UTF-8 with a BOM); merged cells keep their value in the top-left cell."""
    import csv

    out = {}
    for title, rows, _, _ in _sheets_of(data):
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n", delimiter=delimiter)
        for row in rows:
            writer.writerow(["" if v is None else f"{v.year}/{v.month}/{v.day}" if isinstance(v, datetime) else v
                             for v in row])
        out[title] = buf.getvalue().encode(encoding)
    return out


def zip_with_gbk_names(files: dict[str, bytes]) -> bytes:
    """A zip as Chinese Windows makes one: each name stored in GBK, without the UTF-8 flag
    (zipfile itself writes UTF-8 names with the flag, so placeholders are swapped for the bytes)."""
    raw = {f"{i:0{len(name.encode('gbk'))}d}"[-len(name.encode("gbk")):]: name.encode("gbk") for i, name in enumerate(files)}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for placeholder, body in zip(raw, files.values()):
            z.writestr(placeholder, body)
    data = out.getvalue()
    for placeholder, gbk in raw.items():
        data = data.replace(placeholder.encode("ascii"), gbk)
    return data


def city_workbook(returns: dict[str, bytes], sheet_name=lambda county, table: f"{table}（{county}）") -> bytes:
    """What a 市（州）双联办 forwards: each county's tables copied as sheets of one workbook, named
    with the county (`sheet_name(county, 表一)`), values and merged cells as the county had them."""
    out = Workbook()
    out.remove(out.active)
    for county, data in returns.items():
        wb = load_workbook(io.BytesIO(data))
        for ws in wb.worksheets:
            table = re.match(r"表[一二三四五六七八九十]+", ws.title)
            target = out.create_sheet(sheet_name(county, table.group() if table else ws.title))
            for row in ws.iter_rows():
                for c in row:
                    if c.value is not None:
                        target.cell(c.row, c.column, c.value)
            for merged in ws.merged_cells.ranges:
                target.merge_cells(str(merged))
    return save(out)


def county_column_workbook(returns: dict[str, bytes], column_title: str = "县区", city: str = "兰州市") -> bytes:
    """A city's tables one a sheet, every county's townships under one header with a column
    naming the county (written once per county and merged down over its rows)."""
    out = Workbook()
    out.remove(out.active)
    sheets: dict[str, object] = {}
    for county, data in returns.items():
        wb = load_workbook(io.BytesIO(data))
        for ws in wb.worksheets:
            rows = [list(r) for r in ws.iter_rows(values_only=True)]
            top = next(i for i, r in enumerate(rows) if r and r[0] in ("乡镇", "乡(镇)"))
            start = next(i for i in range(top + 1, len(rows)) if isinstance(rows[i][1], (int, float)))
            body = [r for r in rows[start:] if r and r[0] not in (None, "合计") and not str(r[0]).startswith("填表人")]
            target = sheets.get(ws.title)
            if target is None:
                target = sheets[ws.title] = out.create_sheet(ws.title)
                target.append([rows[0][0]])
                target.append([f"填报单位：{city}双联办", None, None, "填报日期：2016年12月6日"])
                for i in range(top, start):
                    target.append([column_title if i == top else None, *rows[i]])
                for merged in ws.merged_cells.ranges:  # the header's merges, one column to the right
                    if merged.min_row > 2:
                        target.merge_cells(start_row=merged.min_row, end_row=merged.max_row,
                                           start_column=merged.min_col + 1, end_column=merged.max_col + 1)
                if start - top > 1:
                    target.merge_cells(start_row=3, start_column=1, end_row=2 + start - top, end_column=1)
            first = target.max_row + 1
            for r in body:
                target.append([None, *r])
            target.cell(first, 1, county)
            if len(body) > 1:
                target.merge_cells(start_row=first, start_column=1, end_row=first + len(body) - 1, end_column=1)
    return save(out)


def city_summary(form, counties: dict[str, dict[str, int]], city: str = "兰州市", county_title: str = "县（市、区）",
                 total: bool = True) -> bytes:
    """A city's summary: one sheet a table of the form, a county a row (its figures as the city
    gives them), no township, a 合计 row under them."""
    out = Workbook()
    out.remove(out.active)
    for spec in form.sheets:
        ws = out.create_sheet(f"{spec.number}{spec.label}")
        ws.append([f"{spec.number}  {city}双联行动“大走访、回头看”活动{spec.label}汇总表"])
        ws.append([f"填报单位：{city}双联办", None, None, "填报日期：2016年12月8日"])
        ws.append([county_title, *[f.full_label for f in spec.count_fields]])
        for name, figures in counties.items():
            ws.append([name, *[figures[f.key] for f in spec.count_fields]])
        if total:
            ws.append(["合计", *[sum(c[f.key] for c in counties.values()) for f in spec.count_fields]])
    return save(out)
