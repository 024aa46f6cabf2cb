"""Builders of the habits clerks add when they finish a return: each edits a clean return built
with the form's own template builder, for the reader's tests (stages/read) and the office ones."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date

from openpyxl.chart import BarChart, Reference
from openpyxl.utils import get_column_letter

from pipeline.outputs.formbook import Layout, build_with_plans
from tests.builders import cache_formula_values, clean_rows, reload, rewrite_sheet_xml, save, to_xls

CODE = "620102"


VISITS, PROBLEMS, OUTCOMES = "表一走访情况", "表二问题排查整改", "表三帮扶成效"


PARTS = {VISITS: "xl/worksheets/sheet1.xml", PROBLEMS: "xl/worksheets/sheet2.xml", OUTCOMES: "xl/worksheets/sheet3.xml"}


def built(form, units, rows=None, layout=Layout(), **kw):
    return build_with_plans(form, units.by_code(CODE), rows or clean_rows(), filed_on=kw.pop("filed_on", date(2016, 12, 5)),
                            layout=layout, people=("王丽", "陈强", "0931-8123456"), **kw)


def edit_part(data: bytes, part: str, edit) -> bytes:
    """Apply `edit(xml) -> xml` to one part of the zip, as a program other than openpyxl would
    have written it."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == part:
                body = edit(body.decode("utf-8")).encode("utf-8")
            dst.writestr(info, body)
    return out.getvalue()


SPREADSHEETML = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def as_openxml_sdk(data: bytes, references: str = "none", quote: str = '"') -> bytes:
    """The workbook as the .NET OpenXML SDK writes it (report systems build their exports with
    it): SpreadsheetML's tags under the prefix x: (<x:c>). `references`: "none", every row and
    cell written in order (a blank one as <x:c/>) with no reference, as code that sets no
    CellReference writes them; "kept", each with its own, as before. `quote`: ' quotes every
    attribute of every part as some writers do (r='B3')."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename.endswith(".xml") and f'xmlns="{SPREADSHEETML}"'.encode() in body:
                text = body.decode("utf-8")
                if info.filename.startswith("xl/worksheets/") and references == "none":
                    text = _in_order_without_references(text)
                text = text.replace(f'xmlns="{SPREADSHEETML}"', f'xmlns:x="{SPREADSHEETML}"')
                body = re.sub(r"<(/?)([A-Za-z_][\w.-]*)(?=[\s/>])", r"<\1x:\2", text).encode("utf-8")
            if quote == "'" and info.filename.endswith((".xml", ".rels")):
                body = re.sub(rb"<[^>?!][^>]*>", _single_quoted, body)
            dst.writestr(info, body)
    return out.getvalue()


def with_sheets_elsewhere(data: bytes) -> bytes:
    """The workbook with its sheet parts kept at xl/sheets/dataN.xml, where its relationships
    and content types say: as valid as xl/worksheets/, and what some writers do."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename.endswith((".xml", ".rels")):
                body = body.replace(b"worksheets/sheet", b"sheets/data")
            dst.writestr(info.filename.replace("worksheets/sheet", "sheets/data"), body)
    assert not any(n.startswith("xl/worksheets/") for n in zipfile.ZipFile(io.BytesIO(out.getvalue())).namelist())
    return out.getvalue()


def with_targets_spelled_otherwise(data: bytes) -> bytes:
    """The workbook's relationships naming its sheets relative to xl/ and in another case
    (worksheets/Sheet1.xml for xl/worksheets/sheet1.xml): a package's part names are
    case-insensitive, and the engine reads it."""
    return edit_part(data, "xl/_rels/workbook.xml.rels",
                     lambda xml: re.sub(r'Target="/xl/worksheets/sheet', 'Target="worksheets/Sheet', xml))


def _single_quoted(tag: re.Match) -> bytes:
    return re.sub(rb'="([^"]*)"', lambda m: b"='" + m.group(1).replace(b"&quot;", b'"') + b"'", tag.group(0))


def _without_reference(attrs: str) -> str:
    return re.sub(r'\sr="[^"]*"', "", attrs)


def _in_order_without_references(xml: str) -> str:
    def row_cells(m: re.Match) -> str:
        return "<sheetData>" + "".join(_rows(m.group(1))) + "</sheetData>"
    return re.sub(r"<sheetData>(.*?)</sheetData>", row_cells, xml, flags=re.S)


def _rows(body: str):
    expected = 1
    for m in re.finditer(r"<row\b([^>]*?)(?:/>|>(.*?)</row>)", body, re.S):
        number = int(re.search(r'\br="(\d+)"', m.group(1)).group(1))
        while expected < number:
            yield "<row/>"
            expected += 1
        cells, column = [], 1
        for c in re.finditer(r"<c\b([^>]*?)(?:/>|>(.*?)</c>)", m.group(2) or "", re.S):
            letters = re.search(r'\br="([A-Z]+)\d+"', c.group(1)).group(1)
            at = sum((ord(ch) - 64) * 26 ** i for i, ch in enumerate(reversed(letters)))
            cells += ["<c/>"] * (at - column)
            attrs = _without_reference(c.group(1))
            cells.append(f"<c{attrs}/>" if c.group(2) is None else f"<c{attrs}>{c.group(2)}</c>")
            column = at + 1
        yield f"<row{_without_reference(m.group(1))}>{''.join(cells)}</row>"
        expected = number + 1


def as_string_result(ref: str, empty: str = "<v/>"):
    """openpyxl's uncomputed `<c r=.."><f>…</f><v></v></c>` → Excel's, WPS's and LibreOffice's
    zero-hiding formula: a string cell whose cached result is the empty string."""
    def edit(xml: str) -> str:
        new, n = re.subn(rf'<c r="{ref}"([^>]*)>\s*(<f>[^<]*</f>)\s*(?:<v\s*/>|<v>\s*</v>)?\s*</c>',
                         rf'<c r="{ref}"\1 t="str">\2{empty}</c>', xml)
        assert n == 1, ref
        return new
    return edit


def cached(ref: str, value: int):
    """A formula cell given the cached numeric result Excel would save."""
    def edit(xml: str) -> str:
        new, n = re.subn(rf'(<c r="{ref}"[^>]*>\s*<f>[^<]*</f>)\s*(?:<v\s*/>|<v>\s*</v>)?', rf"\g<1><v>{value}</v>", xml)
        assert n == 1, ref
        return new
    return edit


def write(tmp_path, data: bytes, name=f"{CODE}_城关区.xlsx"):
    (tmp_path / name).write_bytes(data)


def rules(result) -> set:
    return {(f.severity.value, f.rule, f.sheet, f.cell) for f in result.findings}


def column(plan, key) -> str:
    return get_column_letter(plan.columns[key])


NOTES = [
    "注：本表数据截至2016年12月5日，由各乡镇填报、县双联办汇总审核，走访农户数含重复走访的农户，"
    "联户干部数含省市县乡四级干部。",
    "数据来源:各乡镇双联工作站",
    "说明：1.行政村总数以民政部门统计为准；2.新增联系村指本次活动中新建立联系的村。",
    "本表一式三份，报县委办、县政府办各一份",  # no note word: a note because no township follows it
    "各乡镇要高度重视此次大走访、回头看活动的统计工作，确保数据真实准确，不得虚报、瞒报、漏报，县双联办将组织抽查核实。",
]


def _computed_columns(wb, plans, rows, spare: int):
    """表二 with 合计/排查数, 合计/已整改 and 整改率 filled down as formulas over the townships and
    `spare` empty rows below them (cached results: 0, and "" for the rate), as the issued
    template carries them."""
    plan = plans["problems"]
    ws = wb[PROBLEMS]
    ws.insert_rows(plan.last_data + 1, spare)
    h, i, j = plan.width + 1, plan.width + 2, plan.width + 3
    ws.cell(plan.header_top, h, "合计")
    ws.merge_cells(start_row=plan.header_top, start_column=h, end_row=plan.header_top, end_column=i)
    ws.cell(plan.header_bottom, h, "排查数")
    ws.cell(plan.header_bottom, i, "已整改")
    ws.cell(plan.header_top, j, "整改率")
    ws.merge_cells(start_row=plan.header_top, start_column=j, end_row=plan.header_bottom, end_column=j)
    found = [column(plan, k) for k in ("precision_found", "guarantees_found", "disputes_found")]
    fixed = [column(plan, k) for k in ("precision_fixed", "guarantees_fixed", "disputes_fixed")]
    lh, li, lj = (get_column_letter(c) for c in (h, i, j))
    edits = []
    for n, r in enumerate(range(plan.first_data, plan.last_data + 1 + spare)):
        ws.cell(r, h, "=" + "+".join(f"{c}{r}" for c in found))
        ws.cell(r, i, "=" + "+".join(f"{c}{r}" for c in fixed))
        ws.cell(r, j, f'=IF({lh}{r}=0,"",{li}{r}/{lh}{r})')
        if n < len(rows):
            f_sum = sum(rows[n][k] for k in ("precision_found", "guarantees_found", "disputes_found"))
            x_sum = sum(rows[n][k] for k in ("precision_fixed", "guarantees_fixed", "disputes_fixed"))
            rate = cached(f"{lj}{r}", x_sum / f_sum) if f_sum else as_string_result(f"{lj}{r}")
            edits += [cached(f"{lh}{r}", f_sum), cached(f"{li}{r}", x_sum), rate]
        else:
            edits += [cached(f"{lh}{r}", 0), cached(f"{li}{r}", 0), as_string_result(f"{lj}{r}")]
    return edits


def _chart_sheet(wb, name):
    cs = wb.create_chartsheet(name)
    chart = BarChart()
    chart.add_data(Reference(wb.worksheets[0], min_col=2, min_row=5, max_row=7))
    cs.add_chart(chart)


FULLWIDTH = str.maketrans("0123456789,", "０１２３４５６７８９，")


def spelled(rows, form, spell) -> list[dict]:
    """The same figures, each count written the way `spell(value, field, i)` says."""
    out = []
    for i, r in enumerate(rows):
        out.append({"township": r["township"]} | {f.key: spell(r[f.key], f, i) for f in form.count_fields})
    return out


def text_number(v: int, field, i: int) -> object:
    styles = [
        lambda: f"{v:,}", lambda: f"{v:,}".replace(",", "，"), lambda: str(v).translate(FULLWIDTH),
        lambda: f" {v} ", lambda: f"{v}{field.unit}", lambda: f"{v}.0", lambda: float(v), lambda: str(v),
    ]
    return styles[(i + len(field.key)) % len(styles)]()


def edit_headers(data: bytes, replacements: dict[str, str]) -> bytes:
    wb = reload(data)
    for ws in wb.worksheets:
        for row in ws.iter_rows(min_row=1, max_row=6):
            for c in row:
                if isinstance(c.value, str) and c.value in replacements:
                    c.value = replacements[c.value]
    return save(wb)


def add_sheets(data: bytes, visible=("封面", "填报说明"), hidden=("表1(旧)",)) -> bytes:
    wb = reload(data)
    for name in visible:
        wb.create_sheet(name, 0)["A1"] = "说明:本表由各县(市、区)双联办填报。"
    for name in hidden:
        ws = wb.create_sheet(name)
        ws["A1"] = "乡镇"
        ws.sheet_state = "hidden"
    return save(wb)


def far_formatting(xml: str) -> str:
    return xml.replace("</sheetData>", '<row r="100000"><c r="A100000" s="1"/><c r="H100000" s="1"/></row></sheetData>')


# The layouts and habits a county's return really comes in, each read by the tests
# (stages/read/test_read_variants.py) and mixed into the bench's messy inbox: (id, layout, how
# counts are spelled, post-processing of the bytes, file name, expected findings).
VARIANTS = [
    ("issued-layout", Layout(), None, None, None, set()),
    ("no-title-rows", Layout(title=False), None, None, None, {("warning", "date-missing")}),
    ("more-rows-above", Layout(preamble=("附件2", "甘双联办发〔2016〕18号")), None, None, None, set()),
    ("blank-row-after-header", Layout(blank_row_after_header=True), None, None, None, set()),
    ("one-row-header", Layout(header_rows=1), None, None, None, set()),
    ("column-number-row", Layout(code_row=True), None, None, None, set()),
    ("columns-reordered", Layout(reverse_columns=True), None, None, None, set()),
    ("extra-columns", Layout(extra_columns=("序号", "备注")), None, None, None, set()),
    ("total-first", Layout(total="first"), None, None, None, set()),
    ("total-absent", Layout(total="none"), None, None, None, set()),
    ("total-spelled-总计", Layout(total_label="总计"), None, None, None, set()),
    ("total-spelled-合  计", Layout(total_label="合  计"), None, None, None, set()),
    ("numbers-as-text", Layout(), text_number, None, None, set()),
    ("formulas-with-cached-values", Layout(total_formulas=True), None, cache_formula_values, None, set()),
    ("total-formulas-without-values", Layout(total_formulas=True), None, None, None,
     {("info", "total-recomputed")}),
    ("header-text-noise", Layout(), None, lambda d: edit_headers(d, {
        "乡镇": "乡（镇）", "走访农户数": "走访农户数\n（户）", "行政村总数": "行政村 总数",
        '"六个精准"方面问题': "“六个精准”方面问题", "宣传政策场次": "宣传政策\n(场次)", "联户干部数": "联户干部数(名)",
    }), None, set()),
    ("one-row-header-aliases", Layout(header_rows=1), None, lambda d: edit_headers(d, {
        '"六个精准"方面问题排查数': "六个精准问题排查数", '"两不愁、三保障"方面问题已整改': "两不愁三保障问题已整改数",
        "走访2次以上农户数": "走访两次以上农户数", "新增联系村数": "其中:新增联系村",
    }), None, set()),
    ("cover-and-hidden-sheets", Layout(), None, add_sheets, None, set()),
    ("rows-formatted-far-below", Layout(), None, lambda d: rewrite_sheet_xml(d, far_formatting), None, set()),
    ("xlsm", Layout(), None, None, "620102_城关区.xlsm", set()),
    ("legacy-xls", Layout(), None, to_xls, "620102_城关区.xls", set()),
    ("xls-saved-as-xlsx", Layout(), None, to_xls, "620102_城关区.xlsx", set()),
    ("xlsx-saved-as-et", Layout(), None, None, "620102_城关区.et", set()),
    ("short-unit-name-no-code", Layout(unit_text="城关区", show_code=False), None, None, "return.xlsx", set()),
    ("date-with-dots", Layout(date_text="2016.12.5"), None, None, None, set()),
    ("combination", Layout(header_rows=1, total="first", extra_columns=("序号", "备注"), blank_row_after_header=True,
                           reverse_columns=True, preamble=("附件",)), text_number, None, None, set()),
    ("combination-two-row-xls", Layout(total="first", code_row=True), text_number, to_xls, "城关区.xls", set()),
]


# --- tables clerks rebuild (issue 24) ----------------------------------------------------


def stack_sheets(wb, name="Sheet1", gap=2):
    """The workbook's sheets copied one under another onto one sheet `name`, `gap` blank rows
    between, as a clerk pastes the three tables into a new workbook: (workbook, the first row
    of each former sheet on the new one, by title)."""
    from openpyxl import Workbook

    out = Workbook()
    ws = out.active
    ws.title = name
    offsets, at = {}, 0
    for src in wb.worksheets:
        offsets[src.title] = at + 1
        for row in src.iter_rows():
            for c in row:
                if c.value is not None:
                    ws.cell(c.row + at, c.column, c.value)
        for rng in src.merged_cells.ranges:
            ws.merge_cells(start_row=rng.min_row + at, start_column=rng.min_col, end_row=rng.max_row + at,
                           end_column=rng.max_col)
        for letter, dim in src.column_dimensions.items():
            if dim.hidden:
                ws.column_dimensions[letter].hidden = True
        at += src.max_row + gap
    return out, offsets


def units_row(wb, form, plans, bracketed=()):
    """A row under each sheet's header naming each count column's unit (户, or （户） for the
    fields in `bracketed`), as statistical forms print them; the rows below move down one."""
    for spec in form.sheets:
        ws = wb[f"{spec.number}{spec.label}"]
        plan = plans[spec.key]
        ws.insert_rows(plan.first_data)
        for f in spec.count_fields:
            ws.cell(plan.first_data, plan.columns[f.key], f"（{f.unit}）" if f.key in bracketed else f.unit)


def breakdown_row(ws, spec, plan, below: int, label: str, figures: dict):
    """A row inserted under row `below` labelled `label` (其中：贫困乡镇), holding `figures` by field key."""
    ws.insert_rows(below + 1)
    ws.cell(below + 1, plan.columns[spec.key_field.key], label)
    for key, value in figures.items():
        ws.cell(below + 1, plan.columns[key], value)


def village_rows(ws, spec, plan, at: int, township: str, villages: list[dict], merged=True, village_column=0):
    """A township's rows replaced by its villages' from row `at`: its name typed once and
    merged down over them (`merged`), or typed once beside a 村 column (`village_column`, the
    column number it is inserted at; 0: none). Returns the rows the villages took."""
    ws.insert_rows(at + 1, len(villages) - 1)
    key = plan.columns[spec.key_field.key]
    for i, v in enumerate(villages):
        for f in spec.count_fields:
            ws.cell(at + i, plan.columns[f.key], v[f.key])
        if i:
            ws.cell(at + i, key, None)
    ws.cell(at, key, township)
    if merged:
        ws.merge_cells(start_row=at, start_column=key, end_row=at + len(villages) - 1, end_column=key)
    if village_column:
        insert_column(ws, village_column)
        ws.cell(plan.header_top, village_column, "村")
        if plan.header_bottom > plan.header_top:
            ws.merge_cells(start_row=plan.header_top, start_column=village_column, end_row=plan.header_bottom,
                           end_column=village_column)
        for i, v in enumerate(villages):
            ws.cell(at + i, village_column, v["village"])
    return list(range(at, at + len(villages)))


def old_column_hidden(ws, plan, key, old_values: list, hide=True):
    """The clerk's correction: the field's column copied to the left as the old one, which keeps
    `old_values` for the townships and is hidden (`hide`), the corrected one beside it."""
    col = plan.columns[key]
    insert_column(ws, col)
    for r in range(1, ws.max_row + 1):
        ws.cell(r, col, ws.cell(r, col + 1).value)
    for i, v in enumerate(old_values):
        ws.cell(plan.first_data + i, col, v)
    if hide:
        ws.column_dimensions[get_column_letter(col)].hidden = True
    return get_column_letter(col), get_column_letter(col + 1)


def insert_column(ws, col: int) -> None:
    """A column inserted at `col`, merged cells moved with the cells (openpyxl leaves them)."""
    ranges = [(r.min_row, r.min_col, r.max_row, r.max_col) for r in ws.merged_cells.ranges]
    for r1, c1, r2, c2 in ranges:
        ws.unmerge_cells(start_row=r1, start_column=c1, end_row=r2, end_column=c2)
    ws.insert_cols(col)
    for r1, c1, r2, c2 in ranges:
        shift = 1 if c1 >= col else 0
        ws.merge_cells(start_row=r1, start_column=c1 + shift, end_row=r2, end_column=c2 + (1 if c2 >= col else 0))
