"""Compare: this round's totals against the previous round's snapshot → a Comparison.

Pure, between consolidate and render. It takes the consolidated totals and the previous
round as read back from its snapshot (`store.rounds.load_snapshot`), never workbooks, and gives
per unit and field 上期 and 增减 , and the cross-period findings the form declares (the 跨期审核 rules):

- `not-below`: a cumulative count lower than last round's, at each township's cell that fell,
  or at the 合计 cell when the county fell and no township explains it;
- `hb`: a change out of line with the other counties' (Hidiroglou–Berthelot, below);
- a return identical to last round's while most counties changed theirs (same-as-previous);
- townships that came or went (township-added, township-dropped).

Cities and the province compare only the counties included in both rounds, so that a county
missing in either round neither adds nor takes away.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from ..model import Finding, Previous, Return, Roster, Source
from ..spec.form import Form, SheetSpec
from ..spec.wording import round_label
from .consolidate import Totals


@dataclass(frozen=True)
class Comparison:
    round: str  # this round
    previous_round: str
    previous_made: datetime
    comparable: tuple[str, ...]  # codes of the counties included in both rounds
    counties: pd.DataFrame  # index: every county code; <key>_previous, <key>_change; NA where not comparable
    cities: pd.DataFrame  # index: city code; n (comparable counties), <key>, <key>_previous, <key>_change
    province: pd.Series  # the same for the whole region
    previous_status: dict[str, str]  # county code → its status last round ("" when it was not on the list)
    findings: tuple[Finding, ...] = field(default=())
    # counties whose standing file is, byte for byte, the one last round used: not sent again, the
    # old figures summed as this round's (the office left last round's files in the inbox)
    same_file: tuple[str, ...] = field(default=())


def compare(form: Form, totals: Totals, roster: Roster, returns: dict[str, Return], previous: Previous,
            round_name: str, among: Collection[str] | None = None) -> Comparison:
    """`among`: the counties that may be compared (default: every county included); the
    runner leaves out a county whose comparison raises."""
    keys = list(form.field_keys)
    counties = totals.counties
    included = counties.index[counties["status"].eq("included")]
    if among is not None:
        included = included[included.isin(list(among))]
    comparable, current, before = _both_rounds(form, included, counties, previous)

    # Every county's 上期 and 增减 at once, as arrays: NA where it is not comparable.
    at = comparable.get_indexer(counties.index)
    known = at >= 0
    columns = {}
    for k in keys:
        was, now = before[k].to_numpy(), current[k].to_numpy()
        columns[f"{k}_previous"] = pd.array(np.where(known, was[at], 0), dtype="Int64")
        columns[f"{k}_change"] = pd.array(np.where(known, now[at] - was[at], 0), dtype="Int64")
        columns[f"{k}_previous"][~known] = pd.NA
        columns[f"{k}_change"][~known] = pd.NA
    per_county = pd.DataFrame(columns, index=counties.index)

    city_of = counties.loc[comparable, "city_code"].to_numpy()
    now_city = current.groupby(city_of, sort=False).sum().reindex(totals.cities.index).fillna(0).astype("int64")
    then_city = before.groupby(city_of, sort=False).sum().reindex(totals.cities.index).fillna(0).astype("int64")
    cities = {"n": pd.Series(city_of).value_counts().reindex(totals.cities.index).fillna(0).astype(int).to_numpy()}
    none = cities["n"] == 0  # a city none of whose counties is in both rounds: no 上期 (NA), never 0
    for k in keys:
        cities[k] = now_city[k].to_numpy()
        cities[f"{k}_previous"] = pd.array(then_city[k].to_numpy(), dtype="Int64")
        cities[f"{k}_change"] = pd.array(cities[k] - then_city[k].to_numpy(), dtype="Int64")
        cities[f"{k}_previous"][none] = pd.NA
        cities[f"{k}_change"][none] = pd.NA
    province = pd.Series({"n": len(comparable)} | {
        name: int(v) for k in keys
        for name, v in ((k, current[k].sum()), (f"{k}_previous", before[k].sum()),
                        (f"{k}_change", current[k].sum() - before[k].sum()))
    })

    same_file = tuple(u.code for u in roster.units if u.status == "included" and u.source
                      and _sent_before(previous, u.code, u.source))
    again = set(same_file)
    findings = [_same_file(form, u.code, u.source, previous) for u in roster.units if u.code in again]
    findings += [f for f in cross_period_findings(form, totals.townships, returns, previous, comparable, current, before)
                 if not (f.rule == "same-as-previous" and f.county_code in again)]  # said once, the stronger way
    return Comparison(
        round=round_name, previous_round=previous.round, previous_made=previous.made,
        comparable=tuple(comparable), counties=per_county, cities=pd.DataFrame(cities, index=totals.cities.index),
        province=province, previous_status={u.code: previous.status.get(u.code, "") for u in roster.units},
        findings=tuple(findings), same_file=same_file,
    )


def _both_rounds(form: Form, included: pd.Index, sums: pd.DataFrame,
                 previous: Previous) -> tuple[pd.Index, pd.DataFrame, pd.DataFrame]:
    """The counties included in both rounds, and their sums this round and last."""
    keys = list(form.field_keys)
    comparable = included.intersection(previous.sums.index)
    current = sums.loc[comparable, keys].astype("int64")
    before = previous.sums.reindex(index=comparable, columns=keys).fillna(0).astype("int64")
    return comparable, current, before


# The rules a county can be judged by on its own, at upload (the submission page): a count
# below last round's, townships that came or went. The others weigh a county against the rest
# and wait for `make report`, which has every county: the HB edit scores a change against the
# distribution of all counties' changes, and same-as-previous asks whether most counties
# changed theirs, which the first few uploads of a round cannot answer fairly (an early county
# would be told its unchanged figures are suspect, or not told, by who happened to come first).
ALONE = ("not-below",)


def county_findings(form: Form, sums: pd.DataFrame, townships: dict[str, pd.DataFrame], returns: dict[str, Return],
                    previous: Previous) -> list[Finding]:
    """The cross-period findings that concern each county by itself, exactly as `compare`
    gives them: for the submission page, which checks one return at a time. `sums` and
    `townships` are the included counties' (`consolidate.county_sums`): no city, province or
    rate is needed to judge a county alone."""
    comparable, current, before = _both_rounds(form, sums.index, sums, previous)
    again = {code for code, ret in returns.items() if code in sums.index and _sent_before(previous, code, ret.source)}
    return [*(_same_file(form, code, returns[code].source, previous) for code in sorted(again)),
            *(f for f in cross_period_findings(form, townships, returns, previous, comparable, current, before, alone=True)
              if not (f.rule == "same-as-previous" and f.county_code in again))]


def _sent_before(previous: Previous, code: str, source: Source) -> bool:
    """The county's standing file is, byte for byte, the one last round used."""
    return bool(source.sha256) and previous.sha256.get(code) == source.sha256


def _same_file(form: Form, code: str, source: Source, previous: Previous) -> Finding:
    return form.finding("same-file-as-previous", file=source.path, county=code, detail=round_label(previous.round))


@dataclass(frozen=True)
class _Aligned:
    """One sheet's township rows of the comparable counties in both rounds, matched by county
    and township once, for every rule: `at[i]` is the previous round's row of this round's
    row i, or -1 when that township was not there."""

    code: np.ndarray  # this round, per row
    county: np.ndarray  # the row's county's place among the comparable ones
    township: np.ndarray
    row: np.ndarray
    now: dict[str, np.ndarray]  # field → values (float64: NaN for an unreadable cell)
    at: np.ndarray
    then_code: np.ndarray  # the previous round, per row
    then_county: np.ndarray
    then_township: np.ndarray
    then: dict[str, np.ndarray]


def _positions(column: pd.Series, index: pd.Index) -> np.ndarray:
    """`index.get_indexer` of a column's values (-1 where absent): a categorical column (a
    snapshot's) is looked up once per distinct value, not once per row."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy()
        found = index.get_indexer(column.cat.categories)
        return np.where(codes >= 0, found[codes], -1)
    return index.get_indexer(column.to_numpy(dtype=object))


def _name_ids(now: pd.Series, then: pd.Series) -> tuple[np.ndarray, np.ndarray, int]:
    """Township names as numbers shared by both rounds (each distinct name hashed once), and
    how many distinct names there are."""
    if isinstance(then.dtype, pd.CategoricalDtype):
        categories = then.cat.categories.to_numpy(dtype=object)
        ids, distinct = pd.factorize(np.concatenate([now.to_numpy(dtype=object), categories]))
        codes = then.cat.codes.to_numpy()
        return ids[:len(now)], np.where(codes >= 0, ids[len(now):][codes], -1), len(distinct)
    ids, distinct = pd.factorize(np.concatenate([now.to_numpy(dtype=object), then.to_numpy(dtype=object)]))
    return ids[:len(now)], ids[len(now):], len(distinct)


def _align(spec: SheetSpec, townships: dict[str, pd.DataFrame], previous: Previous, comparable: pd.Index) -> _Aligned:
    fields = [f.key for f in spec.count_fields]
    now = townships[spec.key]
    then = previous.townships.get(spec.key, pd.DataFrame({"code": [], "township": []}, dtype=object))
    county = _positions(now["code"], comparable)
    then_county = _positions(then["code"], comparable)
    # County and township as one number: the county's place among the comparable ones, and
    # the township name's among the names of both rounds.
    names, then_names, width = _name_ids(now["township"], then["township"])
    mine, theirs = county >= 0, then_county >= 0

    def kept(values: np.ndarray, keep: np.ndarray) -> np.ndarray:
        # Columns are taken as arrays and cut to the comparable counties' rows, when any are
        # not: usually all are, and nothing is copied.
        return values if keep.all() else values[keep]

    county, names = kept(county, mine), kept(names, mine)
    then_county, then_names = kept(then_county, theirs), kept(then_names, theirs)
    width = max(width, 1)
    keys = county.astype(np.int64) * width + names
    earlier = pd.Index(then_county.astype(np.int64) * width + then_names)
    if earlier.is_unique:
        at = earlier.get_indexer(keys)
    else:  # a township twice in one county is an error, so never in a snapshot; but if it were
        first = ~earlier.duplicated()
        at = earlier[first].get_indexer(keys)
        at = np.where(at >= 0, np.flatnonzero(first)[np.maximum(at, 0)], -1)
    return _Aligned(
        kept(now["code"].to_numpy(dtype=object), mine), county, kept(now["township"].to_numpy(dtype=object), mine),
        kept(now["row"].to_numpy(), mine),
        {k: kept(now[k].to_numpy(dtype="float64", na_value=np.nan), mine) for k in fields}, at,
        kept(then["code"].to_numpy(dtype=object), theirs), then_county, kept(then["township"].to_numpy(dtype=object), theirs),
        {k: kept(then[k].to_numpy(dtype="float64"), theirs) for k in fields if k in then.columns},
    )


def cross_period_findings(form: Form, townships: dict[str, pd.DataFrame], returns: dict[str, Return], previous: Previous,
                          comparable: pd.Index, current: pd.DataFrame, before: pd.DataFrame,
                          alone: bool = False) -> list[Finding]:
    """`alone`: only the rules that judge a county by itself (ALONE, and townships)."""
    if not len(comparable):
        return []
    # A county whose figures came from a city's summary has no townships to align: its sums are
    # compared, its townships are not (the city-summary finding says so).
    detailed = comparable[[returns[c].source.via != "summary" for c in comparable]] if returns else comparable
    aligned = {spec.key: _align(spec, townships, previous, detailed) for spec in form.sheets}
    sums = _Sums(np.asarray(comparable, dtype=object), {k: current[k].to_numpy() for k in current.columns},
                 {k: before[k].to_numpy() for k in before.columns})
    noun = form.unit_noun
    resent: set[str] = set()
    if not alone:
        same = unchanged_returns(form, aligned, comparable)
        share = float((form.rounds or {}).get("same_as_previous", 0.5))
        resent = set(same) if len(comparable) - len(same) >= share * len(comparable) else set()
    out: list[Finding] = []
    for code in sorted(resent):
        ret = returns[code]
        out.append(form.finding("same-as-previous", file=ret.source.path, county=code, detail=round_label(previous.round),
                                unit_noun=noun))
    for spec in form.sheets:
        for rule in spec.across:
            if alone and rule.check not in ALONE:
                continue
            if rule.check == "not-below":
                out += _below_previous(form, spec, rule.id, rule.fields, aligned[spec.key], returns, sums)
            else:
                out += _jumps(form, spec, rule, returns, sums, resent)
    out += _township_changes(form, aligned, returns)
    return out


@dataclass(frozen=True)
class _Sums:
    """The comparable counties' sums this round and last, a plain array per field (the rules
    look at each field a few times: pandas' per-call cost would be most of their time)."""

    codes: np.ndarray
    now: dict[str, np.ndarray]
    then: dict[str, np.ndarray]


def _below_previous(form: Form, spec: SheetSpec, rule: str, fields: tuple[str, ...], a: _Aligned,
                    returns: dict[str, Return], sums: _Sums) -> list[Finding]:
    fields = tuple(k for k in fields if k in sums.now)
    fell_in_township: set[tuple[str, str]] = set()
    out = []
    matched = np.flatnonzero(a.at >= 0)
    for k in fields:
        if k not in a.then:
            continue
        was = a.then[k][a.at[matched]]
        value = a.now[k][matched]
        for j in np.flatnonzero(value < was):
            i = matched[j]
            code, township, row = a.code[i], a.township[i], int(a.row[i])
            sheet = returns[code].sheets[spec.key]
            fell_in_township.add((code, k))
            cell = f"{sheet.columns[k]}{row}"
            out.append(form.finding(rule, file=returns[code].source.path, county=code, sheet=sheet.name, cell=cell,
                                    field=k, township=f"（{township}）", field_label=spec.label_of(k),
                                    unit=form.field(k).unit, previous=int(was[j]), value=int(value[j])))
    for k in fields:
        now, then = sums.now[k], sums.then[k]
        for i in np.flatnonzero(now < then):
            code = sums.codes[i]
            if (code, k) in fell_in_township or spec.key not in returns[code].sheets:
                continue
            sheet = returns[code].sheets[spec.key]
            cell = sheet.total_cell(k) if sheet.total_row else ""
            out.append(form.finding(rule, file=returns[code].source.path, county=code, sheet=sheet.name, cell=cell,
                                    field=k, township="合计" if cell else "", field_label=spec.label_of(k),
                                    unit=form.field(k).unit, previous=int(then[i]), value=int(now[i])))
    return out


def _jumps(form: Form, spec: SheetSpec, rule, returns: dict[str, Return], sums: _Sums,
           resent: set[str]) -> list[Finding]:
    out = []
    for k in rule.fields:
        if k not in sums.now:
            continue
        now, then = sums.now[k], sums.then[k]
        for i in np.flatnonzero(hb_outliers(now, then, rule.u, rule.a, rule.c, rule.few)):
            code = sums.codes[i]
            if code in resent or spec.key not in returns[code].sheets:
                continue  # a resent return is said once, as such
            sheet = returns[code].sheets[spec.key]
            cell = sheet.total_cell(k) if sheet.total_row else ""
            out.append(form.finding(rule.id, file=returns[code].source.path, county=code, sheet=sheet.name, cell=cell,
                                    field=k, field_label=spec.label_of(k), unit=form.field(k).unit,
                                    unit_noun=form.unit_noun, previous=int(then[i]), value=int(now[i])))
    return out


def hb_outliers(current: np.ndarray, previous: np.ndarray, u: float = 0.5, a: float = 0.05,
                c: float = 20.0, few: float = 0.0) -> np.ndarray:
    """The Hidiroglou–Berthelot edit: which units' change from `previous` to `current` is out
    of line with the others', given their size.

    Hidiroglou, M. A. & Berthelot, J.-M. (1986), "Statistical editing and imputation for
    periodic business surveys", Survey Methodology 12(1), 73–83. Parameters as Statistics
    Norway's Kostra `Hb` (pU, pA, pC) and R's HB edit (U, A, C):

    1. units whose value is positive in both periods take part (a previous 0 has no ratio);
       when half of them or more did not change at all, only those that did take part;
    2. r_i = current / previous, r_M their median;
    3. s_i = 1 − r_M / r_i when r_i < r_M, else r_i / r_M − 1 (symmetric about the median);
    4. E_i = s_i · max(current_i, previous_i)^U: the same ratio weighs more in a larger unit;
    5. E_Q1, E_M, E_Q3 the quartiles of E (linear interpolation, as R's default);
       d_Q1 = max(E_M − E_Q1, |A·E_M|), d_Q3 = max(E_Q3 − E_M, |A·E_M|), with A alone in
       place of |A·E_M| when E_M is 0, as Kostra does;
    6. outliers: E_i < E_M − C·d_Q1 or E_i > E_M + C·d_Q3.

    With fewer than three units taking part there is no distribution to be out of line with;
    when the others did not change at all (their ratio 1 is the median), a unit whose ratio is
    `few` or more either way (a zero typed too many or too few: 2941 → 29410) is out of line
    all the same; `few` 0 says nothing of them.

    Returns a boolean per unit, False for those that took no part."""
    x1 = np.asarray(current, dtype="float64")
    x2 = np.asarray(previous, dtype="float64")
    out = np.zeros(len(x1), dtype=bool)
    part = (x1 > 0) & (x2 > 0)
    unchanged = bool(part.sum()) and (x1[part] == x2[part]).sum() * 2 >= part.sum()
    if unchanged:
        part &= x1 != x2
    if part.sum() < 3:
        if unchanged and few > 0:
            ratio = np.ones(len(x1))
            ratio[part] = np.maximum(x1[part] / x2[part], x2[part] / x1[part])
            out[part] = ratio[part] >= few
        return out  # no distribution to be out of line with
    r = x1[part] / x2[part]
    med = float(np.median(r))
    s = np.where(r < med, 1 - med / r, r / med - 1)
    e = s * np.maximum(x1[part], x2[part]) ** u
    q1, em, q3 = np.percentile(e, [25, 50, 75])
    spread = abs(a * em) if em != 0 else a
    low = em - c * max(em - q1, spread)
    high = em + c * max(q3 - em, spread)
    out[np.flatnonzero(part)] = (e < low) | (e > high)
    return out


def unchanged_returns(form: Form, aligned: dict[str, _Aligned], comparable: pd.Index) -> list[str]:
    """Comparable counties whose every township row is last round's, number for number."""
    same = np.ones(len(comparable), dtype=bool)
    for spec in form.sheets:
        a = aligned[spec.key]
        if set(a.now) != set(a.then):
            return []  # not the same fields: nothing can be the same, number for number
        equal = a.at >= 0
        for k, values in a.now.items():
            equal &= values == a.then[k][np.maximum(a.at, 0)]
        n_now = np.bincount(a.county, minlength=len(comparable))
        n_same = np.bincount(a.county[equal], minlength=len(comparable))
        n_then = np.bincount(a.then_county, minlength=len(comparable))
        same &= (n_now == n_then) & (n_same == n_now)
    return comparable[same].tolist()


def _township_changes(form: Form, aligned: dict[str, _Aligned], returns: dict[str, Return]) -> list[Finding]:
    """Townships present last round and missing now, or new now: once per county, by name; a
    new one at its cell in the first sheet that lists it. Only rows that found no partner in
    their own sheet are looked up in the other sheets: in a usual round, hardly any."""
    sheets = [s.key for s in form.sheets]
    unmatched_now = {key: np.flatnonzero(aligned[key].at < 0) for key in sheets}
    unmatched_then = {}
    for key in sheets:
        a = aligned[key]
        hit = np.zeros(len(a.then_code), dtype=bool)
        hit[a.at[a.at >= 0]] = True
        unmatched_then[key] = np.flatnonzero(~hit)
    if not any(len(v) for v in (*unmatched_now.values(), *unmatched_then.values())):
        return []
    now_pairs = [set(zip(aligned[k].code.tolist(), aligned[k].township.tolist())) for k in sheets]
    then_pairs = [set(zip(aligned[k].then_code.tolist(), aligned[k].then_township.tolist())) for k in sheets]
    was = set().union(*then_pairs)
    still = set().union(*now_pairs)
    out = []
    seen: set[tuple[str, str]] = set()
    for key in sheets:
        a = aligned[key]
        for i in unmatched_now[key]:
            pair = (a.code[i], a.township[i])
            if pair in seen or pair in was:
                continue
            seen.add(pair)
            sheet = returns[pair[0]].sheets[key]
            cell = f"{sheet.township_column}{int(a.row[i])}"
            out.append(form.finding("township-added", file=returns[pair[0]].source.path, county=pair[0],
                                    sheet=sheet.name, cell=cell, field="township", value=pair[1]))
    for key in sheets:
        a = aligned[key]
        for j in unmatched_then[key]:
            pair = (a.then_code[j], a.then_township[j])
            if pair in seen or pair in still:
                continue
            seen.add(pair)
            out.append(form.finding("township-dropped", file=returns[pair[0]].source.path, county=pair[0],
                                    field="township", value=pair[1]))
    return out
