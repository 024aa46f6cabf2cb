"""Returned workbooks: whatever the county's workbook holds, its copy goes back marked.

A finding on a cell inside a merged range (a township's name merged down over its rows, a header
merged over two rows) is marked on the range's top-left cell, which is the cell Excel shows; the
上报说明 line goes under the table's last rows, never under a stray cell a clerk left far below,
and never past the sheet's last row.
"""

from __future__ import annotations

import io

from openpyxl import load_workbook

from pipeline.model import Finding, Severity
from pipeline.outputs.formbook import build_return, workbook_bytes
from pipeline.outputs.returned import MAX_ROW, returned_workbook
from pipeline.run.report import build_run
from tests.builders import clean_rows

CODE = "620102"


def _return(form, units, edit) -> bytes:
    wb = build_return(form, units.by_code(CODE), clean_rows())
    edit(wb)
    return workbook_bytes(wb)


def _finding(sheet: str, cell: str, severity=Severity.ERROR) -> Finding:
    return Finding(severity, "a.xlsx", CODE, sheet, cell, "township", "township-missing", f"{cell}的问题")


def test_a_finding_inside_a_merged_range_is_marked_on_its_top_left_cell(form, units):
    def merge(wb):
        wb.worksheets[0].merge_cells("A5:A7")

    data = _return(form, units, merge)
    sheet = load_workbook(io.BytesIO(data)).sheetnames[0]
    out = load_workbook(io.BytesIO(returned_workbook(form, data, [_finding(sheet, "A6"), _finding(sheet, "C6")],
                                                     "城关区", ((sheet, 8),))))
    ws = out[sheet]
    assert ws["A5"].comment is not None and "A6的问题" in ws["A5"].comment.text
    assert ws["C6"].comment is not None  # a cell of its own keeps its own mark
    assert ws["A5"].fill.fgColor.rgb.endswith("FFC7CE")


def test_the_上报说明_line_goes_under_the_table_not_under_a_far_stray_cell(form, units):
    def stray(wb):
        wb.worksheets[0].cell(MAX_ROW, 1, "旧表的备注")

    data = _return(form, units, stray)
    sheet = load_workbook(io.BytesIO(data)).sheetnames[0]
    out = load_workbook(io.BytesIO(returned_workbook(form, data, [_finding(sheet, "B6", Severity.WARNING)], "城关区",
                                                     ((sheet, 8),))))
    ws = out[sheet]
    labels = [c.row for row in ws.iter_rows(min_row=1, max_row=40) for c in row
              if isinstance(c.value, str) and c.value.startswith(form.explanation_label)]
    assert len(labels) == 1 and 8 < labels[0] <= 20  # under the table and its footer
    assert ws.cell(MAX_ROW, 1).value == "旧表的备注"  # the clerk's cell stays where it was


def test_a_table_that_ends_on_the_sheets_last_row_gets_no_line_past_it(form, units):
    data = _return(form, units, lambda wb: None)
    sheet = load_workbook(io.BytesIO(data)).sheetnames[0]
    out = load_workbook(io.BytesIO(returned_workbook(form, data, [_finding(sheet, "B6", Severity.WARNING)], "城关区",
                                                     ((sheet, MAX_ROW),))))
    assert out[sheet].max_row <= MAX_ROW


def test_a_run_on_such_a_return_writes_every_output(tmp_path, form, units, settings):
    """End to end: a township's name merged down over the next row and a stray note at the sheet's
    last row; the run completes, and every error's and warning's cell is marked where Excel
    shows it."""
    def habits(wb):
        ws = wb.worksheets[0]
        ws.merge_cells("A6:A7")
        ws.cell(MAX_ROW, 1, "旧表的备注")

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / f"{CODE}_城关区.xlsx").write_bytes(_return(form, units, habits))
    run = build_run(inbox, settings)
    assert {"report.docx", "report.html", "consolidated.xlsx", f"returns/{CODE}_城关区.xlsx"} <= set(run.files)
    out = load_workbook(io.BytesIO(run.files[f"returns/{CODE}_城关区.xlsx"]))
    # The merged name stands over its village rows, summed (an info, which goes back unmarked):
    # the sheet's far note has it read through a window, whose merges the scan gives.
    assert ("info", "villages-summed", "A6") in {(f.severity.value, f.rule, f.cell) for f in run.findings}
    for f in run.findings:
        if f.severity != Severity.INFO and f.sheet and f.cell and f.sheet in out.sheetnames:
            ws = out[f.sheet]
            target = next((m.start_cell.coordinate for m in ws.merged_cells.ranges if f.cell in m), f.cell)
            assert ws[target].comment is not None and f.message in ws[target].comment.text, f


def _boxed_merge(right: str):
    """X1:Z2 (beside the table) merged and boxed thin as Excel writes it, every covered cell
    with the border it shows: the right edge medium above, `right` below."""
    from openpyxl.styles import Border, Side

    thin = Side(style="thin")

    def edit(wb):
        ws = wb.worksheets[0]
        ws["X1"] = "标题"
        ws.merge_cells("X1:Z2")
        ws["X1"].border = Border(left=thin, top=thin)
        ws["X2"].border = Border(left=thin, bottom=thin)
        ws["Y1"].border, ws["Y2"].border = Border(top=thin), Border(bottom=thin)
        ws["Z1"].border = Border(right=Side(style="medium"), top=thin)  # not what the range's corner says
        ws["Z2"].border = Border(right=Side(style=right), bottom=thin)
    return edit


def _borders(ws) -> dict[str, tuple]:
    return {ref: tuple(getattr(getattr(ws[ref].border, side), "style", None) for side in ("left", "top", "right", "bottom"))
            for ref in ("X1", "Y1", "Z1", "X2", "Y2", "Z2")}


def test_the_cells_a_merged_range_covers_keep_the_borders_the_file_gives_them(form, units):
    """Excel writes every cell of a merged range with the border it shows: the copy that goes
    back shows the same (openpyxl alone would rebuild them from the top-left cell)."""
    data = _return(form, units, _boxed_merge("thick"))
    sheet = load_workbook(io.BytesIO(data)).sheetnames[0]
    out = load_workbook(io.BytesIO(returned_workbook(form, data, [_finding(sheet, "Y1")], "城关区")))[sheet]
    assert "X1:Z2" in {str(r) for r in out.merged_cells.ranges}
    # the covered cells as written (openpyxl keeps a range's outer border in its top-left cell too)
    covered = _borders(out)
    del covered["X1"]
    assert covered == {"Y1": (None, "thin", None, None), "Z1": (None, "thin", "medium", None),
                       "X2": ("thin", None, None, "thin"), "Y2": (None, None, None, "thin"),
                       "Z2": (None, None, "thick", "thin")}
    assert out["X1"].comment is not None  # the finding on Y1, inside the range, marked where Excel shows it


def test_a_merged_range_whose_covered_cells_the_file_leaves_out_is_read_as_openpyxl_reads_it(form, units,
                                                                                           monkeypatch):
    import re
    import zipfile

    from openpyxl.reader import excel
    from openpyxl.worksheet._reader import WorksheetReader

    from tests.builders import rewrite_sheet_xml

    data = _return(form, units, _boxed_merge("thin"))
    left_out = rewrite_sheet_xml(data, lambda xml: re.sub(r'<c r="[YZ][12]"[^>]*?(/>|>.*?</c>)', "", xml))
    assert b'r="Z1"' not in zipfile.ZipFile(io.BytesIO(left_out)).read("xl/worksheets/sheet1.xml")
    sheet = load_workbook(io.BytesIO(data)).sheetnames[0]
    out = load_workbook(io.BytesIO(returned_workbook(form, left_out, [], "城关区")))[sheet]
    assert "X1:Z2" in {str(r) for r in out.merged_cells.ranges}
    monkeypatch.setattr(excel, "WorksheetReader", WorksheetReader)
    assert _borders(out) == _borders(load_workbook(io.BytesIO(left_out))[sheet])
