"""Returns as an office suite saves them: the reader's fixtures re-saved by LibreOffice.

Each test module makes its files in tmp_path with the project's builders, then converts them
all in ONE `soffice` call with a profile of its own (LibreOffice starts in seconds, converts
in a fraction of one). Without LibreOffice the tests skip, except under CI, which installs it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from pipeline.outputs.blank_forms import blank_form
from pipeline.outputs.formbook import Layout, workbook_bytes
from tests.builders import clean_rows
from tests.habits import CODE, NOTES, _chart_sheet, _computed_columns, built, column

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


def convert(files: list[Path], fmt: str, outdir: Path, profile: Path) -> dict[str, Path]:
    """Every file converted to `fmt` in one call: {input name: output path}."""
    if SOFFICE is None:
        assert not os.environ.get("CI"), "CI must have LibreOffice: .ci/run installs libreoffice-calc"
        pytest.skip("LibreOffice is not installed here")
    proc = subprocess.run(
        [SOFFICE, "--headless", "--norestore", f"-env:UserInstallation={profile.as_uri()}", "--convert-to", fmt,
         "--outdir", str(outdir), *map(str, files)],
        capture_output=True, text=True, timeout=900,
    )
    out = {f.name: outdir / f"{f.stem}.{fmt.split(':')[0]}" for f in files}
    missing = [n for n, p in out.items() if not p.exists()]
    assert not missing, (missing, proc.stdout[-2000:], proc.stderr[-2000:])
    return out


def read_resaved(tmp_path: Path, wb, kind: str, form, units, name: str = "620102_城关区"):
    """One return built in openpyxl, saved by LibreOffice as `kind` (xls, ods) and read."""
    from tests.builders import read_one
    from tests.habits import write

    (tmp_path / "made").mkdir()
    (tmp_path / "made" / f"{name}.xlsx").write_bytes(workbook_bytes(wb))
    made = convert([tmp_path / "made" / f"{name}.xlsx"], kind, tmp_path / "out", tmp_path / "profile")
    (tmp_path / "in").mkdir()
    write(tmp_path / "in", made[f"{name}.xlsx"].read_bytes(), name=f"{name}.{kind}")
    return read_one(tmp_path / "in", form, units)


def write_habit_files(folder: Path, cases: dict) -> list[Path]:
    """Each habit return as 620102_城关区_<habit>.xlsx in `folder`, ready for one soffice call."""
    files = []
    for name, (data, _, _) in cases.items():
        path = folder / f"620102_城关区_{name}.xlsx"
        path.write_bytes(data)
        files.append(path)
    return files


def habit_returns(form, units) -> dict[str, tuple[bytes, list[dict], set]]:
    """name → (xlsx bytes as openpyxl writes them, the township figures the clerk meant, the
    findings expected once an office suite has computed and saved the file). Formulas are
    left uncomputed: LibreOffice computes them on loading, as Excel and WPS do."""
    out = {}
    rows = clean_rows()

    wb, plans = built(form, units, rows, layout=Layout(total_formulas=True))
    plan = plans["outcomes"]
    zero = [dict(r) for r in rows]
    for i in (0, 1):  # =IF(x=0,"",x) over a zero: the empty string
        wb["表三帮扶成效"][f"{column(plan, 'role_models')}{plan.first_data + i}"] = (
            f'=IF({column(plan, "grassroots_orgs")}{plan.first_data + i}>99,1,"")')
        zero[i]["role_models"] = 0
    out["zero-hiding"] = (workbook_bytes(wb), zero, set())

    wb, plans = built(form, units, rows, layout=Layout(total_formulas=True))
    _computed_columns(wb, plans, rows, spare=3)  # LibreOffice computes 0 and "" itself
    out["spare-rows"] = (workbook_bytes(wb), rows, set())

    wb, plans = built(form, units, rows, layout=Layout(extra_columns=("序号", "备注"), total_label="汇总"))
    for spec in form.sheets:
        p = plans[spec.key]
        ws = wb[f"{spec.number}{spec.label}"]
        ws.cell(p.first_data, p.width, "注:已与统计局核对")
        ws.cell(p.total_row + 1, 2, NOTES[0])
        for i, note in enumerate(NOTES[1:]):
            ws.cell(p.footer_row + 1 + i, 1, note)
        for c in range(1, p.width + 1):
            v = ws.cell(p.footer_row, c).value
            if isinstance(v, str):
                ws.cell(p.footer_row, c, v.replace("填表人", "填 表 人").replace("审核人", "审　核　人"))
    scratch = wb.create_sheet("表1草稿")
    scratch["A1"], scratch.sheet_state = "乡镇", "hidden"
    _chart_sheet(wb, "图表1")
    out["notes-汇总-spaced-hidden-chart"] = (workbook_bytes(wb), rows, set())

    wb, plans = built(form, units, rows, layout=Layout(total_label="汇总"))
    for spec in form.sheets:
        p = plans[spec.key]
        ws = wb[f"{spec.number}{spec.label}"]
        ws.auto_filter.ref = f"A{p.header_bottom}:{column(p, spec.count_fields[-1].key)}{p.last_data}"
        ws.row_dimensions[p.first_data + 1].hidden = True
        for f in spec.count_fields:
            letter = column(p, f.key)
            ws[f"{letter}{p.total_row}"] = f"=SUBTOTAL(109,{letter}{p.first_data}:{letter}{p.last_data})"
    total_row = plans["visits"].total_row
    out["filtered-subtotal"] = (workbook_bytes(wb), rows, {
        ("info", "total-filtered", f"{s.number}{s.label}", f"A{total_row}") for s in form.sheets})

    # The same township hidden by hand, no filter, under SUBTOTAL(109): the clerk's 合计 leaves it out.
    wb, plans = built(form, units, rows, layout=Layout(total_label="汇总"))
    for spec in form.sheets:
        p = plans[spec.key]
        ws = wb[f"{spec.number}{spec.label}"]
        ws.row_dimensions[p.first_data + 1].hidden = True
        for f in spec.count_fields:
            letter = column(p, f.key)
            ws[f"{letter}{p.total_row}"] = f"=SUBTOTAL(109,{letter}{p.first_data}:{letter}{p.last_data})"
    out["hidden-subtotal"] = (workbook_bytes(wb), rows, {
        ("warning", "total-hidden-rows", f"{s.number}{s.label}", f"A{total_row}") for s in form.sheets})

    wb, plans = built(form, units, rows, layout=Layout(total_formulas=True))
    v, o = plans["visits"], plans["outcomes"]
    wb["表一走访情况"][f"{column(v, 'linking_units')}{v.first_data + 1}"] = "=1/0"  # computed to #DIV/0!
    wb["表三帮扶成效"][f"{column(o, 'role_models')}{o.first_data}"] = "=NA()"  # and to #N/A
    shown = [dict(r) for r in rows]
    shown[1]["linking_units"] = shown[0]["role_models"] = None  # no figure: named in a finding, never a 0
    out["error-values"] = (workbook_bytes(wb), shown, {
        ("error", "cell-error", "表一走访情况", f"{column(v, 'linking_units')}{v.first_data + 1}"),
        ("error", "cell-error", "表三帮扶成效", f"{column(o, 'role_models')}{o.first_data}"),
        # The =SUM() over an error shows the error too: that 合计 is not compared.
        ("warning", "total-cell-error", "表一走访情况", f"{column(v, 'linking_units')}{v.total_row}"),
        ("warning", "total-cell-error", "表三帮扶成效", f"{column(o, 'role_models')}{o.total_row}")})

    wb, plans = built(form, units, rows)
    o, ws = plans["outcomes"], wb["表三帮扶成效"]
    a, b = column(o, "infrastructure_projects"), column(o, "industry_projects")
    ws[f"{b}{o.first_data}"] = None
    ws.merge_cells(f"{a}{o.first_data}:{b}{o.first_data}")  # one figure shown over two fields
    merged = [dict(r) for r in rows]
    merged[0]["industry_projects"] = 0  # what the covered cell reads as: the finding says so
    out["merged-figure"] = (workbook_bytes(wb), merged, {("error", "merged-figure", "表三帮扶成效", f"{a}{o.first_data}")})

    wb, plans = built(form, units, rows)
    o, ws = plans["outcomes"], wb["表三帮扶成效"]
    typed = ws[f"{column(o, 'role_models')}{o.first_data}"]
    typed.value, typed.number_format = 1, "0%"  # 100% typed into a count: held as 1
    percent = [dict(r) for r in rows]
    percent[0]["role_models"] = None
    out["percent-typed"] = (workbook_bytes(wb), percent,
                            {("error", "count-shown-otherwise", "表三帮扶成效", typed.coordinate)})

    out["blank-template"] = (blank_form(form, units.by_code(CODE), ["城关镇", "新庄乡"]), [], {
        ("error", "sheet-empty", f"{s.number}{s.label}", "") for s in form.sheets} | {("warning", "date-missing", "", "")})
    return out


FILED_ON = date(2016, 12, 5)
