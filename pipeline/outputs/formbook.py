"""A county return workbook in the form's issued layout, built from the form declaration.

Used for the bundled example, the test fixtures and the benchmark; the blank templates sent
to counties come from the same layout. Pure: it returns a workbook or bytes, never a file.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from ..spec.dates import as_written_day
from ..spec.form import Form, SheetSpec, office_word
from ..spec.labels import cn_quotes
from ..spec.numbers import NotACount, parse_count
from ..spec.units import Unit
from .zips import FIXED_ZIP_TIME, fixed_zip_times


@dataclass(frozen=True)
class Layout:
    """Knobs for the variants counties really send; the defaults are the issued layout."""

    title: bool = True
    header_rows: int = 2  # 1: group and sub-label joined in one cell
    total: str = "last"  # last | first | none
    total_label: str = "合计"
    total_formulas: bool = False  # True: =SUM() with no cached value, as a program that does not calculate saves
    blank_row_after_header: bool = False
    extra_columns: tuple[str, ...] = ()  # e.g. ("序号",) placed first; 备注 goes last
    reverse_columns: bool = False
    footer: bool = True
    preamble: tuple[str, ...] = ()  # lines above the title (a line such as 附件2 , a file number)
    code_row: bool = False  # a 甲 1 2 3 … column-number row under the header
    unit_text: str = ""  # what 填报单位 says; default: the unit's full name + 双联办
    date_text: str = ""  # what follows 填报日期 and its colon; default: 2016年12月5日
    show_code: bool = True  # the 行政区划代码 cell
    identity_rows: int = 1  # 2: 填报单位 on a row of its own, code and date below (long names fit)
    explanation: bool = False  # the form's 上报说明 cell under the footer, where a county answers a warning


@dataclass(frozen=True)
class SheetPlan:
    """Where things landed on a sheet (1-based), for whoever decorates it afterwards."""

    identity_row: int  # 0 when there are no title rows
    date_col: int
    header_top: int
    header_bottom: int
    first_data: int
    last_data: int
    total_row: int  # 0 when there is none
    footer_row: int  # 0 when there is none
    columns: dict[str, int]  # field key -> column
    width: int
    explanation_row: int = 0  # the 上报说明 row; its answer goes in column 2, merged to the last


def build_return(
    form: Form,
    unit: Unit,
    townships: list[dict],
    *,
    filed_on: date | None = date(2016, 12, 5),
    layout: Layout = Layout(),
    people: tuple[str, str, str] = ("王丽", "陈强", "0931-8123456"),
) -> Workbook:
    wb, _ = build_with_plans(form, unit, townships, filed_on=filed_on, layout=layout, people=people)
    return wb


def build_with_plans(form, unit, townships, *, filed_on, layout=Layout(), people=("", "", "")):
    wb = Workbook()
    wb.remove(wb.active)
    plans = {}
    for spec in form.sheets:
        ws = wb.create_sheet(f"{spec.number}{spec.label}")
        plans[spec.key] = _fill_sheet(ws, form, spec, unit, townships, filed_on, layout, people)
    return wb, plans


def _fill_sheet(ws, form: Form, spec: SheetSpec, unit: Unit, townships, filed_on, layout: Layout, people) -> SheetPlan:
    fields = list(spec.fields)
    if layout.reverse_columns:
        fields = [fields[0], *reversed(fields[1:])]
    columns: list[tuple[str, object]] = []  # (kind, field or extra label)
    for extra in layout.extra_columns:
        if extra != "备注":
            columns.append(("extra", extra))
    columns += [("field", f) for f in fields]
    if "备注" in layout.extra_columns:
        columns.append(("extra", "备注"))
    width = len(columns)
    bold = Font(bold=True)
    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    centre = Alignment(horizontal="center", vertical="center", wrap_text=True)

    r = 1
    identity_row = 0
    for line in layout.preamble:
        ws.cell(r, 1, line)
        r += 1
    if layout.title:
        ws.cell(r, 1, cn_quotes(f"{spec.number}  {unit.name}{form.title}{spec.label}统计表")).font = Font(bold=True, size=14)
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=width)
        ws.cell(r, 1).alignment = centre
        r += 1
        ws.cell(r, 1, f"填报单位（盖章）：{layout.unit_text or unit.name + office_word(form.office_short)}")
        code_col = max(2, width // 2 - 1)
        if layout.identity_rows == 2:
            ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=width)
            r += 1
            code_col = 1
        identity_row = r
        if layout.show_code:
            ws.cell(r, code_col, f"行政区划代码：{unit.code}")
        if filed_on or layout.date_text:
            text = layout.date_text or as_written_day(filed_on)
            ws.cell(r, max(3, width // 2 + 1), f"填报日期：{text}")
        ws.cell(r, width, spec.unit_line)
        r += 1

    header_top = r
    two = layout.header_rows == 2
    for c, (kind, item) in enumerate(columns, start=1):
        if kind == "extra":
            text = item
        elif two:
            text = item.group or item.label
        else:
            text = item.full_label
        ws.cell(header_top, c, cn_quotes(text))
        if two:
            if kind == "field" and item.group:
                ws.cell(header_top + 1, c, item.label)
            else:
                ws.merge_cells(start_row=header_top, start_column=c, end_row=header_top + 1, end_column=c)
    if two:
        # Merge each group label across its sub-columns.
        c = 1
        while c <= width:
            kind, item = columns[c - 1]
            end = c
            if kind == "field" and item.group:
                while end < width and columns[end][0] == "field" and columns[end][1].group == item.group:
                    end += 1
                if end > c:
                    ws.merge_cells(start_row=header_top, start_column=c, end_row=header_top, end_column=end)
            c = end + 1
    header_bottom = header_top + (1 if two else 0)
    for rr in range(header_top, header_bottom + 1):
        for c in range(1, width + 1):
            ws.cell(rr, c).font = bold
            ws.cell(rr, c).alignment = centre
            ws.cell(rr, c).border = box
    r = header_bottom + 1
    if layout.code_row:
        number = 0
        for c, (kind, item) in enumerate(columns, start=1):
            if kind == "field" and item.is_key:
                ws.cell(r, c, "甲")
            elif kind == "field":
                number += 1
                ws.cell(r, c, number)
        r += 1
    if layout.blank_row_after_header:
        r += 1

    total_row = None
    if layout.total == "first":
        total_row = r
        r += 1
    first_data = r
    for i, t in enumerate(townships, start=1):
        for c, (kind, item) in enumerate(columns, start=1):
            if kind == "extra":
                value = i if item == "序号" else None
            elif item.is_key:
                value = t[item.key]
            else:
                value = t.get(item.key)
            ws.cell(r, c, value).border = box
        r += 1
    last_data = r - 1
    if layout.total == "last":
        total_row = r
        r += 1
    if total_row is not None:
        for c, (kind, item) in enumerate(columns, start=1):
            if kind == "field" and item.is_key:
                value = layout.total_label
            elif kind == "field":
                letter = get_column_letter(c)
                if layout.total_formulas:
                    value = f"=SUM({letter}{first_data}:{letter}{last_data})"
                else:
                    value = sum(_as_int(t.get(item.key, 0), item.unit) for t in townships)
            else:
                value = None
            cell = ws.cell(total_row, c, value)
            cell.border = box
            cell.font = bold
    footer_row = 0
    if layout.footer:
        r += 1
        footer_row = r
        ws.cell(r, 1, f"填表人：{people[0]}")
        ws.cell(r, max(2, width // 2 - 1), f"审核人：{people[1]}")
        ws.cell(r, max(3, width // 2 + 1), f"联系电话：{people[2]}")
    explanation_row = 0
    if layout.explanation and form.explanation_label:
        r += 1
        explanation_row = r
        ws.cell(r, 1, f"{form.explanation_label}：").font = bold
        ws.merge_cells(start_row=r, start_column=2, end_row=r, end_column=width)
    for c, (kind, item) in enumerate(columns, start=1):
        label = item if kind == "extra" else item.label
        ws.column_dimensions[get_column_letter(c)].width = max(8, min(18, len(str(label)) * 2 + 2))
    ws.freeze_panes = ws.cell(header_bottom + 1, 2)
    return SheetPlan(
        identity_row=identity_row, date_col=max(3, width // 2 + 1), header_top=header_top,
        header_bottom=header_bottom, first_data=first_data, last_data=last_data, total_row=total_row or 0,
        footer_row=footer_row, explanation_row=explanation_row,
        columns={item.key: c for c, (kind, item) in enumerate(columns, start=1) if kind == "field"}, width=width,
    )


def _as_int(v: object, unit: str) -> int:
    """A township's figure as the clerk's own 合计 counts it: `1,234`, `１２`, `48户` are figures
    too; a dash or a word is none."""
    try:
        return parse_count(v, (unit,) if unit else ())
    except NotACount:
        return 0


def workbook_bytes(wb: Workbook) -> bytes:
    """The workbook as .xlsx bytes that do not depend on when they were made."""
    from datetime import datetime

    stamp = datetime(*FIXED_ZIP_TIME)
    wb.properties.created = stamp
    wb.properties.modified = stamp
    wb.properties.creator = "pipeline"
    buf = io.BytesIO()
    wb.save(buf)
    return fixed_zip_times(buf.getvalue())
