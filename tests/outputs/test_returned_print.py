"""The returned workbook's 问题清单 prints as a clerk prints it (issue 26, item 21): landscape
A4, its three columns on one page's width, 位置 and 说明 wrapped within it, the header row on
every page, the title whole. Printed by LibreOffice to PDF and read back with pdftotext."""

from __future__ import annotations

import io
import re
import shutil
import subprocess

from openpyxl import load_workbook

from pipeline.model import Finding, Severity
from pipeline.outputs.formbook import build_return, workbook_bytes
from pipeline.outputs.returned import returned_workbook
from tests.builders import clean_rows
from tests.office import convert

LONG = ("表二 第{row}行 E列的“两不愁、三保障”方面问题已整改（56）大于“两不愁、三保障”方面问题排查数（53）：请核对后修改。"
        "如排查数填错了，请一并改正排查数，并在上报说明中写明原因，以免汇总时被当作整改不实。")


def findings(n: int) -> list[Finding]:
    out = [Finding(Severity.ERROR, "a.xlsx", "620102", "表二问题排查整改", f"E{6 + i}", "guarantees_fixed",
                   "fixed-exceeds-found", LONG.format(row=6 + i)) for i in range(n)]
    out.append(Finding(Severity.WARNING, "a.xlsx", "620102", "Sheet1", "", "households_visited",
                       "coverage-below-threshold", "=农户走访覆盖率为49.99%，低于99%：请核实是否漏报或漏访。"))
    return out


def test_the_findings_sheet_is_set_up_to_print_whole(form, units):
    data = workbook_bytes(build_return(form, units.by_code("620102"), clean_rows()))
    wb = load_workbook(io.BytesIO(returned_workbook(form, data, findings(3), "城关区")))
    ws = wb["问题清单"]
    assert wb.sheetnames[0] == "问题清单"
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4)
    assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0 and ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.print_title_rows == "$2:$2" and str(ws.print_area[0] if isinstance(ws.print_area, list) else ws.print_area).endswith("$C$6")
    assert "A1:C1" in {str(r) for r in ws.merged_cells.ranges} and ws["A1"].alignment.wrap_text
    assert all(ws.cell(r, c).alignment.wrap_text for r in range(3, 7) for c in (2, 3))
    # Every cell is text: a message that begins with = is never a formula.
    [starts] = [c for row in ws.iter_rows(min_row=3) for c in row if str(c.value).startswith("=")]
    assert starts.data_type == "s"
    assert ws["B6"].value == "表一（工作表“Sheet1”）"  # a sheet whose name does not name its table


def test_the_findings_sheet_prints_landscape_with_its_header_on_every_page(tmp_path, form, units):
    pdftotext, pdfinfo = shutil.which("pdftotext"), shutil.which("pdfinfo")
    assert pdftotext and pdfinfo, "poppler-utils (pdftotext, pdfinfo) are part of the machine"
    data = workbook_bytes(build_return(form, units.by_code("620102"), clean_rows()))
    book = returned_workbook(form, data, findings(40), "城关区")
    # Only the findings sheet, as a clerk prints it (the county's own sheets print as they were).
    wb = load_workbook(io.BytesIO(book))
    for name in wb.sheetnames[1:]:
        del wb[name]
    path = tmp_path / "620102_城关区.xlsx"
    wb.save(path)
    pdf = convert([path], "pdf", tmp_path, tmp_path / "profile")[path.name]
    info = subprocess.run([pdfinfo, str(pdf)], capture_output=True, text=True, check=True).stdout
    width, height = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info).groups())
    assert width > height  # landscape
    n = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert n >= 2  # 40 long findings: more than a page, so the header must repeat
    for page in range(1, n + 1):
        text = subprocess.run([pdftotext, "-f", str(page), "-l", str(page), "-layout", str(pdf), "-"],
                              capture_output=True, text=True, check=True).stdout
        assert re.search(r"级别\s+位置\s+说明", text), page  # the header row, all three columns, on every page
    # In the order the cells were printed: each cell's wrapped lines together.
    whole = subprocess.run([pdftotext, "-raw", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    flat = re.sub(r"\s+", "", whole)
    assert "城关区报表审核意见：未通过审核，请按下列说明修改后重新报送（标红的单元格为错误，必须改正；标黄的为需核实）。" in flat
    for i in range(40):  # every message whole, none run off the page's edge
        assert re.sub(r"\s+", "", LONG.format(row=6 + i)) in flat, i
