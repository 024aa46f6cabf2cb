"""Workbook builders for the reader's fixtures: variants of the issued layout as counties send them."""

from __future__ import annotations

import io
import re
import zipfile

from openpyxl import Workbook, load_workbook


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


def to_xls(data: bytes, errors: dict | None = None) -> bytes:
    """The same values and merges as a legacy .xls (BIFF8), written by xlwt. `errors`:
    {(sheet title, row, column) (1-based): BIFF error code (7 is #DIV/0!, 0x2A #N/A)}, cells
    written as error values (xlwt's own table of error texts is wrong for #VALUE! and lacks #N/A)."""
    import xlwt

    wb = load_workbook(io.BytesIO(data))
    book = xlwt.Workbook(encoding="utf-8")
    for ws in wb.worksheets:
        sheet = book.add_sheet(ws.title)
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
                if c.value is None or (c.row, c.column) in merged_cells:
                    continue
                sheet.write(c.row - 1, c.column - 1, c.value)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


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
