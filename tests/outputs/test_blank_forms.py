"""Blank templates: filled in programmatically, they read back to exactly what was typed."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from pipeline import cli
from pipeline.outputs.blank_forms import blank_form, blank_forms
from pipeline.run.report import build_run
from tests.builders import clean_rows, fill, neighbours_rows


def test_every_template_filled_in_reads_back_exactly(tmp_path, form, units, settings):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    templates = blank_forms(form, list(units.units))
    assert len(templates) == 87
    rows = clean_rows()
    for n, (name, data) in enumerate(templates.items()):
        (inbox / name).write_bytes(fill(data, form, neighbours_rows(n)))  # each county its own townships

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


def test_the_instructions_nest_quotation_marks_as_chinese_does(template):
    texts = [str(c.value) for row in template["填报说明"].iter_rows() for c in row if c.value]
    assert not any("““" in t or "””" in t for t in texts), [t for t in texts if "““" in t or "””" in t]
    assert any("不得大于“‘六个精准’方面问题排查数”" in t for t in texts)
