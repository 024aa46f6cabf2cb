"""Validate: every return against the form's rules → findings.

The per-row and cross-field rules are pandera checks built from the form declaration and run
once per sheet type over all returns together (a validate() call costs the same ~10 ms for
one row or a hundred thousand); failure cases map back to each file and cell here, in one place.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..model import Finding, Return, SheetData
from ..spec.form import Form, SheetSpec
from ..spec.numbers import display
from ..spec.wording import coverage
from .tabulate import ALIKE_FIGURES, SheetFrame, Tables, alike_rows


def prepare_validation() -> None:
    """Import pandera ahead, in a helper that will validate (see run.start_validation)."""
    pandera()


def pandera():
    """pandera.pandas, with its checks' modules loaded: a tenth of a second, paid only by
    runs with something to validate.

    pandera's checks import hypothesis, when it is installed, only to offer synthetic data,
    which this program never asks for. Where the test tools are installed beside it, that
    import and hypothesis's plugins (trio's) took a third of a second on the first
    validation, longer than pandera itself; so hypothesis is kept out while pandera loads,
    unless it is loaded already (the tests), when pandera uses it as ever."""
    import sys

    keep_out = "hypothesis" not in sys.modules
    if keep_out:
        sys.modules["hypothesis"] = None  # type: ignore[assignment]  # import hypothesis → ImportError
    try:
        import pandera.pandas as pa
        import pandera.strategies.pandas_strategies  # noqa: F401  # loaded by the first validate()
    finally:
        if keep_out and sys.modules.get("hypothesis", 0) is None:
            del sys.modules["hypothesis"]
    return pa


def build_schema(spec: SheetSpec):
    pa = pandera()

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


def validate(form: Form, tables: Tables) -> list[Finding]:
    """Findings from the rules; the reader's own findings are not repeated here."""
    returns = tables.returns
    findings: list[Finding] = []
    for sf in tables.sheets.values():
        findings += _pandera_findings(form, sf, returns)
        findings += _total_row_findings(form, sf, returns)
        findings += _computed_findings(form, sf, returns)
        findings += _coverage_findings(form, sf, returns)
    findings += _township_set_findings(form, returns)
    findings += _repeated_township_findings(form, tables)
    return findings


def _pandera_findings(form: Form, sf: SheetFrame, returns: tuple[Return, ...]) -> list[Finding]:
    if sf.frame.empty:
        return []
    from pandera.errors import SchemaErrors

    frame = sf.frame[["_ret", "township", *(f.key for f in sf.spec.count_fields)]]
    try:
        build_schema(sf.spec).validate(frame, lazy=True)
        return []
    except SchemaErrors as err:
        cases = err.failure_cases
    out = []
    rules = {f"{r.id}:{r.field}": r for r in sf.spec.rules}
    seen = set()
    ret_of, row_of = sf.frame["_ret"].to_numpy(), sf.frame["row"].to_numpy()
    for case in cases.itertuples(index=False):
        check = str(case.check)
        if case.index is None or pd.isna(case.index) or (check, case.index) in seen:
            continue  # a frame-wide check reports each failing row once per column
        seen.add((check, case.index))
        i = int(case.index)
        ret = returns[int(ret_of[i])]
        sheet = ret.sheets[sf.spec.key]
        row = int(row_of[i])
        rule_id, _, field = check.partition(":")
        if check in rules:
            r = rules[check]
            out.append(_finding(form, ret, rule_id, sheet, f"{sheet.columns[r.field]}{row}", r.field,
                                field_label=sf.spec.label_of(r.field),
                                value=_plain(sf.frame.at[i, r.field]), bound_label=sf.spec.label_of(r.not_above),
                                bound_value=_plain(sf.frame.at[i, r.not_above])))
        elif rule_id == "duplicate-township":
            out.append(_finding(form, ret, rule_id, sheet, f"{sheet.township_column}{row}",
                                "township", value=sf.frame.at[i, "township"]))
        elif rule_id == "not-a-count" and field in sheet.columns:
            out.append(_finding(form, ret, rule_id, sheet, f"{sheet.columns[field]}{row}", field,
                                field_label=sf.spec.label_of(field), value=case.failure_case))
    return out


def _plain(v: object) -> object:
    return None if v is None or v is pd.NA else int(v)  # type: ignore[arg-type]


def _per_return(sf: SheetFrame, n_returns: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray]:
    """Per return (indexed like Tables.returns): each count field's sum over its townships,
    how many of those cells were readable, and how many township rows it has."""
    ret = sf.frame["_ret"].to_numpy()
    sums, readable = {}, {}
    for f in sf.spec.count_fields:
        column = sf.frame[f.key]
        values = column.to_numpy(dtype="float64", na_value=0.0)  # exact: counts stay far below 2**53
        sums[f.key] = np.bincount(ret, weights=values, minlength=n_returns)
        readable[f.key] = np.bincount(ret, weights=column.notna().to_numpy(), minlength=n_returns)
    return sums, readable, np.bincount(ret, minlength=n_returns)


def _total_row_findings(form: Form, sf: SheetFrame, returns: tuple[Return, ...]) -> list[Finding]:
    spec = sf.spec
    with_total = [(i, ret) for i, ret in enumerate(returns) if spec.key in ret.sheets and ret.sheets[spec.key].total_row]
    if not with_total:
        return []
    sums, readable, rows = _per_return(sf, len(returns))
    # As lists: an element of a list is read many times faster than one of an array.
    sums = {k: v.tolist() for k, v in sums.items()}
    readable = {k: v.tolist() for k, v in readable.items()}
    rows = rows.tolist()
    out = []
    for i, ret in with_total:
        sheet = ret.sheets[spec.key]
        for f in spec.count_fields:
            declared = sheet.total.get(f.key)
            if declared is None or readable[f.key][i] < rows[i]:
                continue  # a bad township cell is already an error; a sum would mislead
            expected = int(sums[f.key][i])
            if declared != expected:
                out.append(_finding(form, ret, "total-row-mismatch", sheet, sheet.total_cell(f.key),
                                    f.key, field_label=f.full_label, value=declared, expected=expected))
    return out


def _computed_findings(form: Form, sf: SheetFrame, returns: tuple[Return, ...]) -> list[Finding]:
    """Computed columns a county filled in such as 合计 and 整改率 against what they should be.

    Township rows are checked all at once: a value that agrees exactly is passed without
    looking further, and only the others go through the row-by-row rule below. 合计 rows
    are few and go row by row."""
    spec = sf.spec
    if not spec.computed:
        return []
    count_keys = {f.key for f in spec.count_fields}
    frame = sf.frame
    suspect = np.zeros(len(frame), dtype=bool)
    sums: dict[str, np.ndarray] = {}
    for c in spec.computed:
        if c.sum and set(c.sum) <= count_keys:
            parts = frame[list(c.sum)]
            sums[c.key] = parts.sum(axis=1, min_count=len(c.sum)).to_numpy(dtype="float64", na_value=np.nan)
    for c in spec.computed:
        if c.key not in frame or (c.sum and c.key not in sums):
            suspect[:] = True  # an unusual declaration: every row the slow way
            break
        shown = _as_floats(frame[c.key])
        present = frame[c.key].notna().to_numpy()
        if c.sum:
            expected = sums[c.key]
            exact = np.isnan(expected) | (shown == expected)
        else:
            num = sums[c.rate[0]] if c.rate[0] in sums else _floats(frame, c.rate[0])
            den = sums[c.rate[1]] if c.rate[1] in sums else _floats(frame, c.rate[1])
            with np.errstate(divide="ignore", invalid="ignore"):
                share = 100 * num / den
                value = np.where(shown <= 1, shown * 100, shown)
                exact = np.isnan(num) | np.isnan(den) | ((den > 0) & (np.abs(value - share) <= 1e-9))
        suspect |= present & ~exact
    out = []
    ret_of, row_of = frame["_ret"].to_numpy(), frame["row"].to_numpy()
    keys = [k for k in frame.columns if k not in ("_ret", "township", "row")]
    for i in np.flatnonzero(suspect):
        ret = returns[int(ret_of[i])]
        values = {k: _plain_value(frame.at[i, k]) for k in keys}
        out += _computed_row_findings(form, spec, ret, ret.sheets[spec.key], values, int(row_of[i]))
    for ret in returns:
        sheet = ret.sheets.get(spec.key)
        if sheet is not None and sheet.total_row:
            out += _computed_row_findings(form, spec, ret, sheet, sheet.total, sheet.total_row)
    return out


def _as_floats(column: pd.Series) -> np.ndarray:
    """Numbers as they are, anything else (text, empty) as NaN: those are checked row by row."""
    return np.array([v if type(v) in (int, float) else np.nan for v in column.to_numpy(dtype=object)], dtype="float64")


def _floats(frame: pd.DataFrame, key: str) -> np.ndarray:
    column = frame[key]
    if column.dtype == object:
        return _as_floats(column)
    return column.to_numpy(dtype="float64", na_value=np.nan)


def _plain_value(v: object) -> object:
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return None
    return int(v) if isinstance(v, np.integer) else v


def _computed_row_findings(form: Form, spec: SheetSpec, ret: Return, sheet, row: dict, row_number: int) -> list[Finding]:
    out = []
    sums: dict[str, int | None] = {}
    for c in spec.computed:
        if c.sum:
            parts = [row.get(k) for k in c.sum if k in sheet.columns]
            sums[c.key] = None if any(p is None for p in parts) or len(parts) != len(c.sum) else sum(parts)
    for c in spec.computed:
        shown_value = row.get(c.key)
        if shown_value is None:
            continue
        if c.sum:
            expected = sums.get(c.key)
            ok = expected is None or _as_number(shown_value) == expected
            shown = expected
        else:
            num = sums[c.rate[0]] if c.rate[0] in sums else row.get(c.rate[0])
            den = sums[c.rate[1]] if c.rate[1] in sums else row.get(c.rate[1])
            ok = num is None or den is None or rate_agrees(shown_value, num, den)
            shown = "" if ok else "—" if not den else f"{100 * num / den:.2f}%"
        if not ok:
            out.append(_finding(form, ret, "computed-mismatch", sheet,
                                f"{sheet.columns[c.key]}{row_number}", c.key, field_label=c.full_label,
                                value=display(shown_value), expected=shown))
    return out


def _coverage_findings(form: Form, sf: SheetFrame, returns: tuple[Return, ...]) -> list[Finding]:
    if not sf.spec.coverage or sf.frame.empty:
        return []
    sums, readable, _ = _per_return(sf, len(returns))
    out = []
    for cov in sf.spec.coverage:
        # A sum over townships is missing only when every one of its cells is unreadable.
        num, den = sums[cov.numerator].astype(np.int64), sums[cov.denominator].astype(np.int64)
        known = (readable[cov.numerator] > 0) & (readable[cov.denominator] > 0)
        # Exact integer comparison: minimum is a share such as 0.95, scaled to millionths.
        low = known & (den > 0) & (num * 1_000_000 < round(cov.minimum * 1_000_000) * den)
        low &= ~_depends_on_an_error(sf, cov, len(returns))
        for ret_i in np.flatnonzero(low):
            ret = returns[int(ret_i)]
            sheet = ret.sheets[sf.spec.key]
            # Where the rate comes from, so the clerk knows which figures to check: the 合计 row's
            # cell of what was reached, when the sheet has one, and both columns' sums.
            cell = sheet.total_cell(cov.numerator) if sheet.total_row and cov.numerator in sheet.columns else ""
            parts = "，".join(f"{sheet.columns.get(key, '')}{'列' if key in sheet.columns else ''}"
                             f"{form.field(key).full_label}合计{int(total)}"
                             for key, total in ((cov.numerator, num[ret_i]), (cov.denominator, den[ret_i])))
            out.append(_finding(form, ret, cov.id, sheet, cell, cov.numerator,
                                noun=cov.noun, value=coverage(int(num[ret_i]), int(den[ret_i])),
                                expected=f"{cov.minimum * 100:g}%", detail=parts))
    return out


def _depends_on_an_error(sf: SheetFrame, cov, n_returns: int) -> np.ndarray:
    """Per return: whether a cell the coverage is computed from is itself an error (unreadable,
    negative, or above the count it may not exceed). A rate from such cells would be a second
    finding about the same mistake, and a false one: the clerk fixes the cell, not the rate."""
    frame, parts = sf.frame, (cov.numerator, cov.denominator)
    bad = np.zeros(len(frame), dtype=bool)
    for key in parts:
        column = frame[key]
        bad |= column.isna().to_numpy() | (column < 0).fillna(False).to_numpy(dtype=bool)
    for rule in sf.spec.rules:
        if rule.field in parts and rule.field in frame and rule.not_above in frame:
            over = frame[rule.field] > frame[rule.not_above]
            bad |= over.fillna(False).to_numpy(dtype=bool)
    return np.bincount(frame["_ret"].to_numpy(), weights=bad, minlength=n_returns) > 0


def _township_set_findings(form: Form, returns: tuple[Return, ...]) -> list[Finding]:
    out = []
    for ret in returns:
        if len(ret.sheets) < 2:
            continue
        sets = {s.name: set(s.townships) for s in ret.sheets.values()}
        union = set().union(*sets.values())
        gaps = [f"“{name}”缺{'、'.join(sorted(union - names))}" for name, names in sets.items() if union - names]
        if gaps:
            out.append(_finding(form, ret, "townships-differ", "", "", "township", detail="；".join(gaps)))
    return out


def _repeated_township_findings(form: Form, tables: Tables) -> list[Finding]:
    """Two townships of a return listed in the same tables with the same figures, figure for
    figure, five or more of them not 0: one township listed twice (under its old name and its
    new, or a row copied), whose figures are added twice. A warning at each later row's name,
    naming the first. Every sheet's rows are sorted out at once (the few returns with two rows
    alike in some table); those returns' townships are then grouped by all their figures."""
    returns = tables.returns
    suspects: set[int] = set()
    for sf in tables.sheets.values():
        counts = [f.key for f in sf.spec.count_fields]
        frame = sf.frame
        if frame.empty or not counts:
            continue
        suspects |= alike_rows(frame["_ret"].to_numpy(), [frame[k].to_numpy(dtype="int64", na_value=-1) for k in counts],
                               same_owner=True)
    out = []
    for i in sorted(suspects):
        ret = returns[i]
        rows: dict[tuple, list[str]] = {}  # all of a township's figures, table by table → the townships with them
        for name, figures in ret.township_figures().items():
            if sum(1 for _, row in figures for v in row if v) >= ALIKE_FIGURES:
                rows.setdefault(figures, []).append(name)
        sheets = [s for s in (ret.sheets.get(spec.key) for spec in form.sheets) if s is not None]
        for names in rows.values():
            first, *later = names
            for name in later:
                s = next(s for s in sheets if name in s.townships)
                out.append(_finding(form, ret, "township-repeated", s, s.township_cell(s.townships.index(name)), "township",
                                    value=name, detail=first))
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


def _finding(form: Form, ret: Return, rule: str, sheet: SheetData | str, cell: str, field: str, **kw) -> Finding:
    """A finding about `sheet`, filed under the file the sheet was read from (a return may
    combine several files' tables), else under the return's file."""
    if isinstance(sheet, SheetData):
        return form.finding(rule, file=sheet.file or ret.source.path, county=ret.county_code, sheet=sheet.name,
                            cell=cell, field=field, **kw)
    return form.finding(rule, file=ret.source.path, county=ret.county_code, sheet=sheet, cell=cell, field=field, **kw)
