"""Consolidate: included returns → county, city and province totals.

Counts are summed; rates are computed afterwards from the summed counts at each level,
never averaged or summed themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from ..model import Roster
from ..spec.form import Form
from ..spec.units import UnitList
from .tabulate import Tables


@dataclass(frozen=True)
class Totals:
    province: pd.Series  # field keys and rates, plus units_expected / units_included
    cities: pd.DataFrame  # index: city_code
    counties: pd.DataFrame  # index: county code; every unit, NaN fields when not included
    townships: dict[str, pd.DataFrame]  # per sheet: every township row of the included returns, with its source
    rates: tuple[str, ...]

    @cached_property
    def county_records(self) -> list[tuple[str, dict]]:
        """(code, values) per county: plain dicts, ~50× cheaper to read than DataFrame rows."""
        return _records(self.counties)

    @cached_property
    def city_records(self) -> list[tuple[str, dict]]:
        return _records(self.cities)

    @property
    def partial(self) -> bool:
        return int(self.province["units_included"]) < int(self.province["units_expected"])


def _records(frame: pd.DataFrame) -> list[tuple[str, dict]]:
    # Column by column: DataFrame.to_dict("index") boxes every value on its own, 10× slower.
    names = list(frame.columns)
    columns = [frame[c].tolist() for c in names]
    return [(code, dict(zip(names, values))) for code, values in zip(frame.index, zip(*columns))]


def consolidate(form: Form, units: UnitList, roster: Roster, tables: Tables) -> Totals:
    keys = list(form.field_keys)
    per_county, detail = county_sums(form, roster, tables)
    meta = pd.DataFrame(
        [(u.code, u.name, u.city_code, u.city_name) for u in units.units],
        columns=["code", "name", "city_code", "city_name"],
    ).set_index("code")
    status = {u.code: u.status for u in roster.units}
    counties = meta.join(per_county, how="left")
    counties["status"] = [status[c] for c in counties.index]
    # How an included county's figures came: its own return, a city's workbook, a city's summary.
    via = {u.code: u.source.via for u in roster.units if u.status == "included" and u.source}
    counties["via"] = [via.get(c, "") for c in counties.index]
    counties["units_expected"] = 1
    counties["units_included"] = counties["status"].eq("included").astype(int)
    counties["units_rejected"] = counties["status"].eq("rejected").astype(int)
    for k in keys:
        counties[k] = counties[k].astype("Int64")

    city_counts = counties.groupby("city_code", sort=False)[keys].sum(min_count=0)
    city_units = counties.groupby("city_code", sort=False)[["units_expected", "units_included", "units_rejected"]].sum()
    city_names = counties.groupby("city_code", sort=False)["city_name"].first()
    cities = pd.concat([city_names.rename("name"), city_units, city_counts], axis=1)

    province = pd.Series(
        {"name": form.region_name, "units_expected": len(counties), "units_included": int(counties["units_included"].sum()),
         "units_rejected": int(counties["units_rejected"].sum())}
        | {k: int(counties[k].sum()) for k in keys}
    )
    counties = _with_rates(form, counties)
    cities = _with_rates(form, cities)
    province = _with_rates(form, province.to_frame().T).iloc[0]
    return Totals(province, cities, counties, detail, tuple(r.key for r in form.rates))


def county_sums(form: Form, roster: Roster, tables: Tables) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Each included county's sums (index: code, int64) and, per sheet, every township row of
    its standing return with its source: what the cross-period rules need of a county, without
    the cities, the province and the rates (the submission page compares one return at a time)."""
    standing = {u.code: u.source.path for u in roster.units if u.status == "included" and u.source}
    returns = tables.returns
    chosen = [i for i, r in enumerate(returns) if standing.get(r.county_code) == r.source.path]
    keys = list(form.field_keys)
    code_of = np.array([r.county_code for r in returns] or [""], dtype=object)
    per_county = pd.DataFrame(index=pd.Index([returns[i].county_code for i in chosen], name="code"))
    for sf in tables.sheets.values():
        fields = [f.key for f in sf.spec.count_fields]
        frame = sf.frame[sf.frame["_ret"].isin(chosen)]
        summed = frame.groupby("_ret")[fields].sum()
        summed.index = code_of[summed.index.to_numpy()]
        per_county = per_county.join(summed, how="left")
    # A county with no township rows in a sheet still counts: zero, not missing.
    per_county = per_county.reindex(columns=keys).fillna(0).astype("int64")
    return per_county, township_rows(tables, chosen)


def township_rows(tables: Tables, chosen: list[int]) -> dict[str, pd.DataFrame]:
    """Per sheet, every township row of the returns at positions `chosen` (of tables.returns),
    in order, with its source: code, file, sheet, row, township, then the figures."""
    returns = tables.returns
    code_of = np.array([r.county_code for r in returns] or [""], dtype=object)
    detail: dict[str, pd.DataFrame] = {}
    for sheet_key, sf in tables.sheets.items():
        fields = [f.key for f in sf.spec.count_fields]
        frame = sf.frame[sf.frame["_ret"].isin(chosen)]
        at = frame["_ret"].to_numpy()
        sheet_of = np.array([r.sheets[sheet_key].name if sheet_key in r.sheets else "" for r in returns] or [""],
                            dtype=object)
        # Each table's own file: a return combined from several files names them all, and the
        # cell was looked for in the first, an older one maybe.
        file_of = np.array([(r.sheets[sheet_key].file if sheet_key in r.sheets else "") or r.source.path
                            for r in returns] or [""], dtype=object)
        detail[sheet_key] = pd.DataFrame(
            {"code": code_of[at], "file": file_of[at], "sheet": sheet_of[at], "row": frame["row"].to_numpy(),
             "township": frame["township"].to_numpy()}
            | {k: frame[k].array for k in fields}
        )
    return detail


def _with_rates(form: Form, frame: pd.DataFrame) -> pd.DataFrame:
    """Each rate from the row's summed counts; missing (NA) with nothing to divide."""
    out = frame.copy()
    for rate in form.rates:
        num, den = _row_sums(out, rate.numerator), _row_sums(out, rate.denominator)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.where(den > 0, num / den, np.nan)
        out[rate.key] = pd.array(value, dtype="Float64")  # NaN becomes NA
    return out


def _row_sums(frame: pd.DataFrame, keys: tuple[str, ...]) -> np.ndarray:
    """Each row's sum of the columns in float64 (exact: counts stay far below 2**53); NaN where
    all of them are missing. As plain arrays: pandas' nullable sums, one rate at a time, were
    most of consolidate's time."""
    values = frame[list(keys)].to_numpy(dtype="float64", na_value=np.nan)
    return np.where(np.isnan(values).all(axis=1), np.nan, np.nansum(values, axis=1))


def rate_of(form: Form, values: pd.Series, key: str) -> tuple[int, int]:
    """(numerator, denominator) of a rate as summed counts: what the wording filters need."""
    rate = next(r for r in form.rates if r.key == key)
    return int(sum(values[k] for k in rate.numerator)), int(sum(values[k] for k in rate.denominator))
