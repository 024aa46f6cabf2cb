"""Validate: every return against the form's rules → findings.

The per-row and cross-field rules are pandera checks built from the form declaration and run
once per sheet type over all returns together (a validate() call costs the same ~10 ms for
one row or a hundred thousand); failure cases map back to each file and cell here, in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa

from .form import Form, SheetSpec
from .model import Finding, ReadResult, Return, Row, Severity
from .numbers import display
from .wording import coverage


@dataclass(frozen=True)
class SheetFrame:
    """All township rows of one sheet type, one row per township, across every return."""

    spec: SheetSpec
    frame: pd.DataFrame  # columns: _ret (index into returns), township, count fields
    rows: tuple[tuple[int, Row], ...]  # positional: frame row i came from rows[i]


def sheet_frames(form: Form, returns: list[Return]) -> dict[str, SheetFrame]:
    out = {}
    for spec in form.sheets:
        keys = [f.key for f in spec.count_fields]
        records, locs = [], []
        for i, ret in enumerate(returns):
            sheet = ret.sheets.get(spec.key)
            if sheet is None:
                continue
            for row in sheet.rows:
                rec = {"_ret": i, "township": row.township}
                for k in keys:
                    cv = row.values.get(k)
                    rec[k] = cv.value if cv is not None else None
                records.append(rec)
                locs.append((i, row))
        frame = pd.DataFrame.from_records(records, columns=["_ret", "township", *keys])
        for k in keys:
            frame[k] = frame[k].astype("Int64")
        out[spec.key] = SheetFrame(spec, frame, tuple(locs))
    return out


def build_schema(spec: SheetSpec) -> pa.DataFrameSchema:
    columns = {
        "_ret": pa.Column(int),
        "township": pa.Column(str, nullable=False),
    }
    for f in spec.count_fields:
        columns[f.key] = pa.Column("Int64", pa.Check.ge(0, name=f"not-a-count:{f.key}"), nullable=True)
    checks = [
        pa.Check(
            lambda df: ~df.duplicated(["_ret", "township"], keep="first"),
            name="duplicate-township:township",
        )
    ]
    for rule in spec.rules:
        checks.append(
            pa.Check(
                lambda df, a=rule.field, b=rule.not_above: (df[a].isna() | df[b].isna() | (df[a] <= df[b])).astype(bool),
                name=f"{rule.id}:{rule.field}",
            )
        )
    return pa.DataFrameSchema(columns, checks=checks, name=spec.key)


def validate(form: Form, results: list[ReadResult]) -> list[Finding]:
    """Findings from the rules; the reader's own findings are not repeated here."""
    returns = [r.ret for r in results if r.ret is not None]
    findings: list[Finding] = []
    frames = sheet_frames(form, returns)
    for sf in frames.values():
        findings += _pandera_findings(form, sf, returns)
        findings += _total_row_findings(form, sf.spec, returns)
        findings += _computed_findings(form, sf.spec, returns)
        findings += _coverage_findings(form, sf, returns)
    findings += _township_set_findings(form, returns)
    return findings


def _pandera_findings(form: Form, sf: SheetFrame, returns: list[Return]) -> list[Finding]:
    if sf.frame.empty:
        return []
    try:
        build_schema(sf.spec).validate(sf.frame, lazy=True)
        return []
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
    out = []
    rules = {f"{r.id}:{r.field}": r for r in sf.spec.rules}
    seen = set()
    for case in cases.itertuples(index=False):
        check = str(case.check)
        if case.index is None or pd.isna(case.index) or (check, case.index) in seen:
            continue  # a frame-wide check reports each failing row once per column
        seen.add((check, case.index))
        ret_i, row = sf.rows[int(case.index)]
        ret = returns[ret_i]
        sheet = ret.sheets[sf.spec.key].name
        rule_id, _, field = check.partition(":")
        if check in rules:
            r = rules[check]
            cv, bound = row.values[r.field], row.values[r.not_above]
            out.append(_finding(form, ret, Severity.ERROR, rule_id, sheet, cv.cell, r.field, template=r.message,
                                field_label=sf.spec.label_of(r.field), value=cv.value,
                                bound_label=sf.spec.label_of(r.not_above), bound_value=bound.value))
        elif rule_id == "duplicate-township":
            out.append(_finding(form, ret, Severity.ERROR, rule_id, sheet, row.township_cell, "township", value=row.township))
        elif rule_id == "not-a-count" and field in row.values:
            out.append(_finding(form, ret, Severity.ERROR, rule_id, sheet, row.values[field].cell, field,
                                field_label=sf.spec.label_of(field), value=case.failure_case))
    return out


def _total_row_findings(form: Form, spec: SheetSpec, returns: list[Return]) -> list[Finding]:
    out = []
    for ret in returns:
        sheet = ret.sheets.get(spec.key)
        if sheet is None or sheet.total is None:
            continue
        for f in spec.count_fields:
            declared = sheet.total.values.get(f.key)
            if declared is None or declared.value is None:
                continue
            values = [row.values[f.key].value for row in sheet.rows]
            if any(v is None for v in values):
                continue  # a bad township cell is already an error; a sum would mislead
            expected = sum(values)
            if declared.value != expected:
                out.append(_finding(form, ret, Severity.ERROR, "total-row-mismatch", sheet.name, declared.cell, f.key,
                                    field_label=f.full_label, value=declared.value, expected=expected))
    return out


def _computed_findings(form: Form, spec: SheetSpec, returns: list[Return]) -> list[Finding]:
    if not spec.computed:
        return []
    out = []
    for ret in returns:
        sheet = ret.sheets.get(spec.key)
        if sheet is None:
            continue
        rows = list(sheet.rows) + ([sheet.total] if sheet.total is not None else [])
        for row in rows:
            sums: dict[str, int | None] = {}
            for c in spec.computed:
                if c.sum:
                    parts = [row.values[k].value for k in c.sum if k in row.values]
                    sums[c.key] = None if any(p is None for p in parts) or len(parts) != len(c.sum) else sum(parts)
            for c in spec.computed:
                cv = row.values.get(c.key)
                if cv is None or cv.value is None:
                    continue
                if c.sum:
                    expected = sums.get(c.key)
                    ok = expected is None or _as_number(cv.value) == expected
                    shown = expected
                else:
                    num = sums.get(c.rate[0]) if c.rate[0] in sums else _int(row, c.rate[0])
                    den = sums.get(c.rate[1]) if c.rate[1] in sums else _int(row, c.rate[1])
                    ok = num is None or den is None or rate_agrees(cv.value, num, den)
                    shown = "—" if not den else f"{100 * num / den:.2f}%"
                if not ok:
                    out.append(_finding(form, ret, Severity.ERROR, "computed-mismatch", sheet.name, cv.cell, c.key,
                                        field_label=c.full_label, value=display(cv.value), expected=shown))
    return out


def _coverage_findings(form: Form, sf: SheetFrame, returns: list[Return]) -> list[Finding]:
    if not sf.spec.coverage or sf.frame.empty:
        return []
    sums = sf.frame.groupby("_ret")[[f.key for f in sf.spec.count_fields]].sum(min_count=1)
    out = []
    for cov in sf.spec.coverage:
        for ret_i, row in sums.iterrows():
            num, den = row[cov.numerator], row[cov.denominator]
            if pd.isna(num) or pd.isna(den) or den == 0:
                continue
            if int(num) * 1_000_000 < cov.minimum * 1_000_000 * int(den):
                ret = returns[int(ret_i)]
                out.append(_finding(form, ret, Severity.WARNING, cov.id, ret.sheets[sf.spec.key].name, "", cov.numerator,
                                    noun=cov.noun, value=coverage(int(num), int(den)),
                                    expected=f"{cov.minimum * 100:g}%"))
    return out


def _township_set_findings(form: Form, returns: list[Return]) -> list[Finding]:
    out = []
    for ret in returns:
        sets = {s.name: {r.township for r in s.rows} for s in ret.sheets.values()}
        if len(sets) < 2:
            continue
        union = set().union(*sets.values())
        gaps = [f"“{name}”缺{'、'.join(sorted(union - names))}" for name, names in sets.items() if union - names]
        if gaps:
            out.append(_finding(form, ret, Severity.WARNING, "townships-differ", "", "", "township", detail=";".join(gaps)))
    return out


def rate_agrees(shown: object, num: int, den: int) -> bool:
    """A rate agrees when within half a unit of its last shown digit, ties included."""
    if den == 0:
        return str(shown).strip() in {"—", "-", "", "/", "0", "0%"}
    exact = 100 * num / den
    if isinstance(shown, str):
        text = shown.strip().rstrip("%").strip()
        try:
            value = float(text)
        except ValueError:
            return False
        if not shown.strip().endswith("%") and value <= 1:
            value *= 100
            decimals = max(len(text.partition(".")[2]) - 2, 0)
        else:
            decimals = len(text.partition(".")[2])
    elif isinstance(shown, (int, float)):
        value = float(shown) * 100 if float(shown) <= 1 else float(shown)
        digits = f"{value:.10g}".partition(".")[2]
        decimals = len(digits) if len(digits) <= 4 else 2  # a full-precision cached formula result
    else:
        return False
    return abs(value - exact) <= 0.5 * 10**-decimals + 1e-9


def _as_number(v: object) -> float | None:
    try:
        return float(str(v).replace(",", "").strip())
    except ValueError:
        return None


def _int(row: Row, key: str) -> int | None:
    cv = row.values.get(key)
    return cv.value if cv is not None else None


def _finding(form: Form, ret: Return, severity: Severity, rule: str, sheet: str, cell: str, field: str,
             template: str = "", **kw) -> Finding:
    place = f"{sheet}!{cell}" if sheet and cell else sheet
    return Finding(severity, ret.source.path, ret.county_code, sheet, cell, field, rule,
                   form.message(template or rule, place=place, **kw))
