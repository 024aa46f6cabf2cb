"""Blank templates: filled in programmatically, they read back to exactly what was typed."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from openpyxl import load_workbook

from pipeline import cli
from pipeline.outputs.blank_forms import blank_form, blank_forms
from pipeline.run.report import build_run
from tests.conftest import clean_rows


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


def _group_of(ws, cell):
    for rng in ws.merged_cells.ranges:
        if rng.min_row == cell.row - 1 and rng.min_col <= cell.column <= rng.max_col:
            return ws.cell(rng.min_row, rng.min_col).value.replace("“", '"').replace("”", '"')
    return None


def test_every_template_filled_in_reads_back_exactly(tmp_path, form, units, settings):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    templates = blank_forms(form, list(units.units))
    assert len(templates) == 87
    rows = clean_rows()
    for name, data in templates.items():
        (inbox / name).write_bytes(fill(data, form, rows))

    run = build_run(inbox, settings)

    assert {f.severity.value for f in run.findings} <= {"info"}, [f.message for f in run.findings if f.severity.value != "info"]
    assert {f.rule for f in run.findings} == {"total-recomputed"}  # 合计 formulas, saved by openpyxl uncalculated
    assert [u.status for u in run.roster.units] == ["included"] * 87
    one = {k: sum(r[k] for r in rows) for k in form.field_keys}
    assert {k: int(run.totals.province[k]) for k in form.field_keys} == {k: 87 * v for k, v in one.items()}
    assert {u.filled_by for u in run.roster.units} == {"赵敏"}
    assert {u.filed_on.isoformat() for u in run.roster.units} == {"2016-12-06"}


@pytest.fixture(scope="module")
def template(form, units):
    return load_workbook(io.BytesIO(blank_form(form, units.by_code("620525"), ["城关镇", "龙山镇"])))


def test_sheets_and_identity(template):
    assert template.sheetnames == ["填报说明", "表一走访情况", "表二问题排查整改", "表三帮扶成效"]
    ws = template["表一走访情况"]
    assert ws["A2"].value == "填报单位（盖章）：张家川回族自治县双联办"
    assert ws["A3"].value == "行政区划代码：620525"
    assert [ws.cell(r, 1).value for r in range(6, 11)] == ["城关镇", "龙山镇", None, None, None]
    assert ws["A11"].value == "合计" and ws["B11"].value == "=SUM(B6:B10)"
    assert ws.freeze_panes == "B6"
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1


def test_validations_follow_the_form(template, form):
    for spec in form.sheets:
        ws = template[f"{spec.number}{spec.label}"]
        by_col = {}
        for dv in ws.data_validations.dataValidation:
            for rng in dv.sqref.ranges:
                by_col[rng.coord.rstrip("0123456789").split(":")[0]] = dv
        header_row = 5 if spec.key != "problems" else 5
        labels = {ws.cell(header_row, c).value: c for c in range(1, ws.max_column + 1)}
        assert labels  # the sub-label row of the header
        rules = {r.field: r for r in spec.rules}
        count_validations = [dv for dv in ws.data_validations.dataValidation if dv.type in ("whole", "custom")]
        assert len(count_validations) == len(spec.count_fields)
        for dv in count_validations:
            assert dv.showErrorMessage and dv.error and dv.prompt
            assert str(dv.sqref).endswith("10")  # down to the last row of the block
        customs = [dv for dv in count_validations if dv.type == "custom"]
        assert len(customs) == len(rules)
        for dv in customs:
            assert "<=N(" in dv.formula1 and ">=0" in dv.formula1 and "INT(" in dv.formula1
            assert "不得大于" in dv.error
        wholes = [dv for dv in count_validations if dv.type == "whole"]
        assert all(dv.operator == "greaterThanOrEqual" and dv.formula1 == "0" for dv in wholes)


def test_cross_field_validation_points_at_its_bound(template):
    ws = template["表二问题排查整改"]
    dv = next(dv for dv in ws.data_validations.dataValidation if str(dv.sqref) == "C6:C10")
    assert dv.formula1 == "AND(ISNUMBER(C6),INT(C6)=C6,C6>=0,C6<=N(B6))"  # 已整改 ≤ 排查数


def test_protection_locks_headers_not_data(template):
    ws = template["表一走访情况"]
    assert ws.protection.sheet and not ws.protection.password
    assert ws["A1"].protection.locked and ws["B4"].protection.locked and ws["A2"].protection.locked
    assert not ws["B6"].protection.locked and not ws["A7"].protection.locked
    assert ws["B11"].protection.locked  # the 合计 formulas
    date_label = next(c for row in ws.iter_rows(min_row=3, max_row=3) for c in row if c.value == "填报日期：")
    assert not ws.cell(3, date_label.column + 1).protection.locked


def test_cli_templates_with_township_list(tmp_path):
    csv = tmp_path / "townships.csv"
    csv.write_text("county_code,township\n620102,酒泉路街道\n620102,张掖路街道\n", encoding="utf-8")
    assert cli.main(["templates", "--outbox", str(tmp_path / "out"), "--townships", str(csv)]) == 0
    files = sorted((tmp_path / "out" / "templates").iterdir())
    assert len(files) == 87
    wb = load_workbook(files[0])
    assert files[0].name == "620102_城关区.xlsx"
    assert [wb["表三帮扶成效"].cell(r, 1).value for r in (6, 7, 8)] == ["酒泉路街道", "张掖路街道", None]
    assert cli.main(["templates", "--outbox", str(tmp_path / "o2"), "--townships", str(tmp_path / "no.csv")]) == 2
