"""Returned workbooks: the county's own workbook, each offending cell marked, ready to send back.

Pure: the original bytes and the findings in, .xlsx bytes out. Always .xlsx, whatever the
county sent; macros are never carried over (openpyxl drops them unless asked to keep them).
"""

from __future__ import annotations

import io
import unicodedata

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import MergedCell
from openpyxl.comments import Comment
from openpyxl.reader import excel as _excel_reader
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.worksheet._reader import WorksheetReader

from ..model import SEVERITY_LABEL, Finding, Roster, Severity, UnitStatus
from ..spec.form import Form
from ..stages.read.workbook import open_book


class _MergesAsWritten(WorksheetReader):
    """Reads a merged range keeping each covered cell's own style, as the file gives it: Excel
    and WPS write every cell of a range, each with the border it shows. openpyxl (3.1) drops
    those styles and rebuilds the edge borders from the range's top-left cell, one style at a
    time, which took two fifths of the time to open a county's workbook (23 merges in a
    typical header). A range some of whose cells the file leaves out is read openpyxl's way."""

    def bind_merged_cells(self) -> None:
        from openpyxl.worksheet.cell_range import MultiCellRange
        from openpyxl.worksheet.merge import MergedCellRange

        if not self.parser.merged_cells:
            return
        ws, cells, ranges = self.ws, self.ws._cells, []
        for merge in self.parser.merged_cells.mergeCell:
            merged = MergedCellRange(ws, merge.ref)
            covered = list(merged.cells)[1:]
            if all(at in cells for at in covered):
                for row, col in covered:
                    cell = MergedCell(ws, row, col)
                    cell._style = cells[row, col]._style
                    cells[row, col] = cell
            else:
                ws._clean_merge_range(merged)
            ranges.append(merged)
        ws.merged_cells = MultiCellRange(ranges)


# openpyxl's workbook reader makes its sheet readers by this name (openpyxl is pinned).
_excel_reader.WorksheetReader = _MergesAsWritten

ERROR_FILL = PatternFill("solid", fgColor="FFC7CE")
WARNING_FILL = PatternFill("solid", fgColor="FFEB9C")
HEADER_FILL = PatternFill("solid", fgColor="EEF3F8")
RULED = Border(*(Side(style="thin", color="A6B0BA"),) * 4)


MAX_ROW = 1_048_576  # the last row a sheet has


def returned_workbook(form: Form, data: bytes | None, findings: list[Finding], unit_name: str,
                      sheets: tuple[tuple[str, int], ...] = ()) -> bytes:
    """The county's workbook (`data`; None: one that cannot be opened) with each finding's cell
    marked and commented, a 上报说明 line under each form sheet's table (`sheets`: each sheet's
    name and the last row of its table, as the reader found it), and a first sheet listing
    every finding."""
    wb = _open_copy(data)
    label = form.explanation_label
    if label:
        for name, table_end in sheets:
            if name in wb.sheetnames and table_end > 0:
                _explanation_cell(wb[name], label, table_end, form.office_short)
    marked: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        if f.sheet and f.cell and f.sheet in wb.sheetnames:
            marked.setdefault((f.sheet, _top_left(wb[f.sheet], f.cell)), []).append(f)
    for (sheet, ref), group in marked.items():
        cell = wb[sheet][ref]
        worst = min(group, key=lambda f: f.sort_key)
        cell.fill = ERROR_FILL if worst.severity == Severity.ERROR else WARNING_FILL
        text = "\n".join(f"【{SEVERITY_LABEL[f.severity]}】{f.message}" for f in group)
        comment = Comment(text, form.office_short)
        comment.width, comment.height = 320, 40 + 40 * len(group)
        cell.comment = comment
    # A file that could not be opened comes back as openpyxl's blank book: its one empty sheet
    # (named in English) goes, and the list of findings is all the county gets back.
    blank = wb.sheetnames == ["Sheet"] and wb["Sheet"].max_row == 1 and wb["Sheet"]["A1"].value is None
    _findings_sheet(wb, form, findings, unit_name)
    if blank:
        wb.remove(wb["Sheet"])
    wb.active = 0
    for other in wb.worksheets[1:]:
        other.sheet_view.tabSelected = False
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def plain_workbook(form: Form, findings: list[Finding], unit_name: str) -> bytes:
    """The findings alone, as the first sheet of a new workbook: what goes back when the
    county's own workbook cannot be marked up."""
    wb = Workbook()
    wb.remove(wb.active)
    _findings_sheet(wb, form, findings, unit_name)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


WIDTHS = {"A": 9, "B": 30, "C": 78}  # 级别, 位置, 说明: together one landscape A4 page wide
LINE_POINTS = 15  # a line of 11-point text


def _lines(text: str, width: int) -> int:
    """How many lines `text` takes in a column `width` characters wide (a Chinese character
    is two of them), wrapped."""
    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return max(1, -(-used // max(width - 2, 1)))


def _findings_sheet(wb: Workbook, form: Form, findings: list[Finding], unit_name: str) -> None:
    """The first sheet: every finding, as a clerk prints it (landscape A4, the three columns on
    one page's width, 位置 and 说明 wrapped within it, the title whole, the header row on every
    page). Every cell is text, typed as such: a sheet's or a county's words beginning with `=`
    are never a formula."""
    ws = wb.create_sheet("问题清单", 0)
    rows = [[f"{unit_name}报表审核意见：{_verdict(findings, form.explanation_label, form.office_short)}"], ["级别", "位置", "说明"]]
    rows += [[SEVERITY_LABEL[f.severity], form.location(f.sheet, f.cell, f.field) or "整个文件", f.message]
             for f in sorted(findings, key=lambda f: f.sort_key)]
    for r, values in enumerate(rows, start=1):
        for c, value in enumerate(values, start=1):
            cell = ws.cell(r, c, value)
            cell.data_type = "s"  # text, whatever it begins with
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=3)
    ws["A1"].font = Font(bold=True, size=13)
    ws["A1"].alignment = Alignment(wrap_text=True, vertical="center")
    per_line = sum(WIDTHS.values()) // 2  # Chinese characters a line holds: each takes two of Excel's width units
    ws.row_dimensions[1].height = 18 * -(-len(rows[0][0]) // per_line) + 6  # tall enough for the title, wrapped
    for cell in ws[2]:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.border = RULED  # ruled, as a printed list of findings is read
    for letter, width in WIDTHS.items():
        ws.column_dimensions[letter].width = width
    for r, row in enumerate(ws.iter_rows(min_row=3), start=3):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        # Spreadsheet programs do not grow a row for wrapped text they did not type themselves:
        # each row as tall as its longest wrapped text, so that nothing is cut off on paper.
        ws.row_dimensions[r].height = LINE_POINTS * max(_lines(str(c.value or ""), WIDTHS[c.column_letter]) for c in row) + 3
    ws.freeze_panes = "A3"
    ws.print_title_rows = "2:2"
    ws.print_area = f"A1:C{len(rows)}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.print_options.horizontalCentered = True


def _top_left(ws, ref: str) -> str:
    """The cell a comment can go on: a cell inside a merged range is that range's top-left
    (openpyxl refuses a comment on the others, and Excel shows the range as that cell)."""
    for merged in ws.merged_cells.ranges:
        if ref in merged:
            return merged.start_cell.coordinate
    return ref


def _verdict(findings: list[Finding], explanation_label: str, office: str) -> str:
    """What the county is to do: a return with errors is sent again; one with warnings only is
    already in the sums, and is sent again only if a figure proves wrong."""
    if any(f.severity == Severity.ERROR for f in findings):
        return "未通过审核，请按下列说明修改后重新报送（标红的单元格为错误，必须改正；标黄的为需核实）。"
    answer = f"在“{explanation_label}”处简要说明" if explanation_label else f"向{office}说明"
    return (f"已纳入汇总。标黄的数据请核实：确有错误的，改正后重新报送；核实无误的，不要改动数据，{answer}即可。")


def _explanation_cell(ws, label: str, table_end: int, office: str = "") -> None:
    """The form's labelled 上报说明 cell under the table, unless the sheet has one: a county asked
    to confirm a figure that is right answers there, in a few words, instead of changing it.
    Under the table's own last row and the lines right below it (填表人…), never under cells
    a clerk left far away, and never past the sheet's last row."""
    last = max(table_end, 1)
    for r in range(last + 1, min(last + 9, MAX_ROW + 1)):
        texts = [c.value for c in ws[r] if c.value not in (None, "")] if r <= ws.max_row else []
        if any(isinstance(v, str) and v.replace(" ", "").replace("\u3000", "").startswith(label) for v in texts):
            return
        if texts:
            last = r
    r = min(last + 2, MAX_ROW)
    target = ws.cell(r, 1)
    if isinstance(target, MergedCell) or target.value not in (None, ""):
        return  # nowhere free for it: the returned workbook's first sheet says what to do
    target.value = f"{label}："
    target.font = Font(bold=True)
    answer = ws.cell(r, 2)
    if isinstance(answer, MergedCell):
        return
    answer.fill = WARNING_FILL
    answer.comment = Comment("标黄的数据经核实无误的，请不要改动，在此简要说明原因后重新报送。", office)


def _open_copy(data: bytes | None) -> Workbook:
    """The county's workbook as openpyxl sees it; a legacy .xls is rebuilt from its values."""
    if data is None:
        return Workbook()
    try:
        return load_workbook(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - not OOXML: fall back to the values
        pass
    try:
        return _from_values(data)
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException:  # noqa: BLE001 - damaged past reading (the engine's panic included): the findings sheet alone goes back
        return Workbook()


def _from_values(data: bytes) -> Workbook:
    wb = Workbook()
    wb.remove(wb.active)
    book = open_book(data)
    for name, visible in book.sheets:
        grid = book.loader(name)  # type: ignore[operator]
        ws = wb.create_sheet(name[:31])
        for r, row in enumerate(grid.rows, start=1):
            for c, v in enumerate(row, start=1):
                if v not in ("", None):
                    ws.cell(r, c, v)
        for r1, c1, r2, c2 in grid.merged:
            ws.merge_cells(start_row=r1 + 1, start_column=c1 + 1, end_row=r2 + 1, end_column=c2 + 1)
        if not visible:
            ws.sheet_state = "hidden"
    return wb


# A file that could not be opened is not opened again to be marked up: its findings sheet alone goes back.
UNOPENED = ("unreadable", "encrypted", "archive-unsupported", "archive-as-workbook")


def wanted(roster: Roster, findings: list[Finding]) -> list[tuple[UnitStatus, list[Finding]]]:
    """The counties whose standing file has errors or warnings, each with its findings (no
    mere notes): those that get their workbook back."""
    by_file: dict[str, list[Finding]] = {}
    for f in findings:
        by_file.setdefault(f.file, []).append(f)
    return [(u, [f for path in u.source.paths for f in by_file.get(path, []) if f.severity != Severity.INFO])
            for u in roster.units if u.source is not None and (u.errors or u.warnings)]


def returned_path(unit: UnitStatus) -> str:
    return f"returns/{unit.code}_{unit.name}.xlsx"
