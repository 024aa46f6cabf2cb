"""Where a finding is, as a clerk reads it, written in one place (Form.location): the form's
table, row and column, the field's label, and the sheet's own name where it does not say
which table it is; findings.csv keeps the cell as F5."""

from __future__ import annotations

import pytest

from pipeline.model import Finding, Severity

CASES = [
    # (sheet as the county named it, cell, field) → as pages and returned workbooks show it
    (("表一走访情况", "F5", "households_visited"), "表一 第5行 F列（走访农户数）"),
    (("表1", "C5", "villages_visited"), "表一 第5行 C列（走访行政村数）"),
    (("表二问题排查整改", "E6", "guarantees_fixed"), "表二 第6行 E列（“两不愁、三保障”方面问题已整改）"),
    (("Sheet1", "F5", "households_visited"), "表一（工作表“Sheet1”）第5行 F列（走访农户数）"),
    (("走访情况", "A7", "township"), "表一（工作表“走访情况”）第7行 A列（乡镇）"),
    (("Sheet9", "A7", "township"), "工作表“Sheet9”第7行 A列"),  # a sheet no table owns: its name alone
    (("表三帮扶成效", "", "role_models"), "表三"),
    (("Sheet2", "", "policy_sessions"), "表三（工作表“Sheet2”）"),
    (("表二问题排查整改", "J7", "problems_fixed_rate"), "表二 第7行 J列（整改率）"),  # a computed column
    (("", "", ""), ""),
]


@pytest.mark.parametrize("where, shown", CASES, ids=[c[1] or "nowhere" for c in CASES])
def test_a_place_is_written_as_a_clerk_reads_it(form, where, shown):
    assert form.location(*where) == shown


def test_messages_say_the_place_without_repeating_the_field_and_findings_csv_keeps_the_cell(form):
    f = form.finding("not-a-count", file="a.xlsx", county="620102", sheet="Sheet1", cell="F5", field="households_visited",
                     field_label="走访农户数", value="约3000")
    assert f.message.startswith("表一（工作表“Sheet1”）第5行 F列的走访农户数为“约3000”")
    assert f.row()[3:5] == ["Sheet1", "F5"]
    assert isinstance(f, Finding) and f.severity == Severity.ERROR


def test_one_vocabulary_of_severity():
    from pipeline.model import SEVERITY_LABEL

    assert SEVERITY_LABEL == {Severity.ERROR: "错误", Severity.WARNING: "需核实", Severity.INFO: "提示"}
