"""Returned workbooks: the county's own workbook, each offending cell marked, ready to send back.

Pure: the original bytes and the findings in, .xlsx bytes out. Always .xlsx, whatever the
county sent; macros are never carried over (openpyxl drops them unless asked to keep them).
"""

from __future__ import annotations

import io

from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill

from ..model import SEVERITY_LABEL, Finding, Roster, Severity
from ..stages.read.workbook import Unreadable, open_book
from ..store.cache import ReturnedCache
from ..store.inbox import load_bytes

ERROR_FILL = PatternFill("solid", fgColor="FFC7CE")
WARNING_FILL = PatternFill("solid", fgColor="FFEB9C")
AUTHOR = "省双联办"


def returned_workbook(data: bytes | None, findings: list[Finding], unit_name: str,
                      explanation_label: str = "", sheets: tuple[str, ...] = ()) -> bytes:
    wb = _open_copy(data)
    if explanation_label:
        for name in sheets:
            if name in wb.sheetnames:
                _explanation_cell(wb[name], explanation_label)
    marked: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        if f.sheet and f.cell and f.sheet in wb.sheetnames:
            marked.setdefault((f.sheet, f.cell), []).append(f)
    for (sheet, ref), group in marked.items():
        cell = wb[sheet][ref]
        worst = min(group, key=lambda f: f.sort_key)
        cell.fill = ERROR_FILL if worst.severity == Severity.ERROR else WARNING_FILL
        text = "\n".join(f"【{SEVERITY_LABEL[f.severity]}】{f.message}" for f in group)
        comment = Comment(text, AUTHOR)
        comment.width, comment.height = 320, 40 + 40 * len(group)
        cell.comment = comment

    # A file that could not be opened comes back as openpyxl's blank book: its one empty sheet
    # (named in English) goes, and the list of findings is all the county gets back.
    blank = wb.sheetnames == ["Sheet"] and wb["Sheet"].max_row == 1 and wb["Sheet"]["A1"].value is None
    ws = wb.create_sheet("问题清单", 0)
    if blank:
        wb.remove(wb["Sheet"])
    ws.append([f"{unit_name}报表审核意见：{_verdict(findings, explanation_label)}"])
    ws.append(["级别", "位置", "说明"])
    for f in sorted(findings, key=lambda f: f.sort_key):
        place = f"{f.sheet}!{f.cell}" if f.sheet and f.cell else (f.sheet or "整个文件")
        ws.append([SEVERITY_LABEL[f.severity], place, f.message])
    ws["A1"].font = Font(bold=True, size=13)
    for cell in ws[2]:
        cell.font = Font(bold=True)
    ws.column_dimensions["A"].width = 8
    ws.column_dimensions["B"].width = 26
    ws.column_dimensions["C"].width = 90
    for row in ws.iter_rows(min_row=3):
        row[2].alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A3"
    wb.active = 0
    for other in wb.worksheets[1:]:
        other.sheet_view.tabSelected = False
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _verdict(findings: list[Finding], explanation_label: str) -> str:
    """What the county is to do: a return with errors is sent again; one with warnings only is
    already in the sums, and is sent again only if a figure proves wrong."""
    if any(f.severity == Severity.ERROR for f in findings):
        return "未通过审核，请按下列说明修改后重新报送（标红的单元格为错误，必须改正；标黄的为需核实）。"
    answer = f"在“{explanation_label}”处简要说明" if explanation_label else "向省双联办说明"
    return (f"已纳入汇总。标黄的数据请核实：确有错误的，改正后重新报送；核实无误的，不要改动数据，{answer}即可。")


def _explanation_cell(ws, label: str) -> None:
    """The form's labelled 上报说明 cell under the table, unless the sheet has one: a county asked
    to confirm a figure that is right answers there, in a few words, instead of changing it."""
    for row in ws.iter_rows(min_row=max(1, ws.max_row - 12)):
        for cell in row:
            if isinstance(cell.value, str) and cell.value.replace(" ", "").replace("\u3000", "").startswith(label):
                return
    r = ws.max_row + 2
    ws.cell(r, 1, f"{label}：").font = Font(bold=True)
    answer = ws.cell(r, 2)
    answer.fill = WARNING_FILL
    answer.comment = Comment("标黄的数据经核实无误的，请不要改动，在此简要说明原因后重新报送。", AUTHOR)


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


UNOPENED = ("unreadable", "encrypted", "read-failed", "archive-unsupported", "archive-as-workbook")


def returned_workbooks(roster: Roster, findings: list[Finding], explanation_label: str = "",
                       sheet_names: dict[str, tuple[str, ...]] | None = None,
                       cache: ReturnedCache | None = None) -> dict[str, bytes]:
    """returns/<code>_<name>.xlsx for every county whose standing file has errors or warnings;
    one made before from the same file, findings and words is taken from `cache`."""
    by_file: dict[str, list[Finding]] = {}
    for f in findings:
        by_file.setdefault(f.file, []).append(f)
    out = {}
    for u in roster.units:
        if u.source is None or not (u.errors or u.warnings):
            continue
        own = [f for f in by_file.get(u.source.path, []) if f.severity != Severity.INFO]
        try:
            # A file that could not be opened is not opened again to be marked up: its
            # findings sheet alone goes back.
            data = None if any(f.rule in UNOPENED for f in own) else load_bytes(u.source)
        except (OSError, Unreadable, KeyError):
            data = None
        sheets = (sheet_names or {}).get(u.source.path, ())
        key = ReturnedCache.key(data, u.name, explanation_label, sheets, own)
        made = cache.get(key) if cache else None
        if made is None:
            pass

            made = returned_workbook(data, own, u.name, explanation_label, sheets)
            if cache:
                cache.put(key, made)
        out[f"returns/{u.code}_{u.name}.xlsx"] = made
    return out
