"""What stands behind every figure of report.html, for the page to open in place when a figure is
clicked: province → cities → counties → townships, each township's figures with the cells they
were read from (file, sheet, the column of each field, the row), rejected counties' rows marked
as such (their findings lead there), and for the 与上期对比 table the counties' figures of the
round before. One JSON the page parses when asked, a list per record (no key repeated 3,000
times). Past the settings' number of units the townships are left out: each county then points
to its rows in consolidated.xlsx's 明细 sheets."""

from __future__ import annotations

import json

from ..model import Return, Roster
from ..spec import wording
from ..spec.form import Form
from ..stages.compare import Comparison
from ..stages.consolidate import Totals
from .formulas import detail_spans, detail_title


def _int(v):
    return None if v is None or wording._isna(v) else int(v)


def breakdown(form: Form, totals: Totals, roster: Roster, returns: dict[str, Return], township_limit: int,
              comparison: Comparison | None = None) -> dict:
    """The page's drill-through data (see the module's note); `returns`: each included or
    rejected county's standing return, by county code."""
    keys = list(form.field_keys)
    sheet_index = {s.key: i for i, s in enumerate(form.sheets)}
    field_sheet = {f.key: s.key for s in form.sheets for f in s.count_fields}
    index = {k: i for i, k in enumerate(keys)}
    fields = [[k, wording.cn_quotes(form.field(k).full_label), form.field(k).unit, sheet_index[field_sheet[k]]]
              for k in keys]
    rates = [[r.key, wording.cn_quotes(r.label), [index[k] for k in r.numerator], [index[k] for k in r.denominator]]
             for r in form.rates]
    sources = {u.code: u.source.path for u in roster.units if u.source}

    def values(row) -> list | None:
        return [_int(row[k]) for k in keys] if int(row["units_included"]) else None

    county_at = {code: i for i, (code, _) in enumerate(totals.county_records)}
    city_at = {code: i for i, (code, _) in enumerate(totals.city_records)}
    cities = [[code, c["name"], wording.with_share(c["name"], c), values(c), []] for code, c in totals.city_records]
    counties = []
    with_towns = len(roster.units) <= township_limit
    towns: dict[int, list] = {}
    for i, (code, c) in enumerate(totals.county_records):
        status = c["status"]
        own = returns.get(code)
        if status == "included":
            figures = values(c)
        elif status == "rejected" and own is not None:  # its own figures, not in any sum
            figures = [_sheet_sum(own, field_sheet[k], k) for k in keys]
        else:
            figures = None
        counties.append([code, c["name"], city_at[c["city_code"]], status, figures, sources.get(code, "")])
        cities[city_at[c["city_code"]]][4].append(i)
        if with_towns and own is not None and status in ("included", "rejected"):
            towns[i] = [_sheet_rows(own, spec) for spec in form.sheets]
    data = {
        "region": form.region_name, "region_code": form.region_code, "city_noun": form.city_noun,
        "unit_noun": form.unit_noun, "fields": fields, "rates": rates,
        "sheets": [[s.key, f"{s.number}{s.label}"] for s in form.sheets],
        "province": [form.region_code, form.region_name, wording.with_share(form.region_name, totals.province),
                     values(totals.province)],
        "cities": cities, "counties": counties,
        "towns": {str(i): rows for i, rows in towns.items()} if with_towns else None,
        "limit": township_limit,
    }
    if not with_towns:  # each county's rows in consolidated.xlsx's 明细 sheets instead
        spans = detail_spans(totals)
        data["detail"] = [[detail_title(form, s.key), {str(county_at[code]): list(span) for code, span in spans[s.key].items()
                                                       if code in county_at}] for s in form.sheets]
    if comparison is not None:
        data["compare"] = _compare_data(form, totals, comparison, keys, county_at)
    return data


def _sheet_sum(ret: Return, sheet_key: str, key: str) -> int | None:
    sheet = ret.sheets.get(sheet_key)
    if sheet is None or key not in sheet.values:
        return None
    got = [v for v in sheet.values[key] if v is not None]
    return int(sum(got)) if got else 0


def _sheet_rows(ret: Return, spec) -> list | None:
    """A return's sheet as the page shows it: its name, each field's column letter (in the form's
    order), and per township its name, row and figures (None where the cell held no count)."""
    sheet = ret.sheets.get(spec.key)
    if sheet is None:
        return None
    keys = [f.key for f in spec.count_fields]
    columns = [sheet.values.get(k, ()) for k in keys]
    rows = [[name, row, *(_int(c[i]) if i < len(c) else None for c in columns)]
            for i, (name, row) in enumerate(zip(sheet.townships, sheet.rows))]
    return [sheet.name, [sheet.columns.get(k, "") for k in keys], rows, sheet.file]


def _compare_data(form: Form, totals: Totals, comparison: Comparison, keys: list[str], county_at: dict) -> dict:
    """What 表7's figures stand on: the form's count and the rates it compares, and each
    comparable county's figures of the round before (this round's are the county's own)."""
    spec = form.rounds or {}
    used = list(dict.fromkeys([*spec.get("count", []),
                               *(k for key in spec.get("rates", []) for r in form.rates if r.key == key
                                 for k in (*r.numerator, *r.denominator))]))
    index = {k: i for i, k in enumerate(keys)}
    frame = comparison.counties
    before = {str(county_at[code]): {str(index[k]): _int(frame.at[code, f"{k}_previous"]) for k in used}
              for code in comparison.comparable if code in county_at}
    return {"count": [index[k] for k in spec.get("count", [])], "count_label": spec.get("count_label", ""),
            "count_unit": spec.get("count_unit", ""),
            "rates": [i for i, r in enumerate(form.rates) if r.key in spec.get("rates", [])],
            "previous": before}


def breakdown_json(data: dict) -> str:
    """The data as the page embeds it: compact, and inert inside <script>: every < > & a county
    wrote (a township named <script>…) escaped as JSON writes it, \\u003c , so that nothing in
    it can end the element or start another."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
