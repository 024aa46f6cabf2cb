"""The 需关注 section: computed from the totals, never written by hand.

- the units with the lowest rate in each category of rectification;
- units whose visit coverage is below the form's minimum (or that every unit meets it);
- units whose share of the province's problems is far above their share of its households;
- in a partial report, the units whose figures are not in the sums.
A subsection with nothing to report is left out.
"""

from __future__ import annotations

from ..model import Roster
from ..spec.form import Form
from ..spec.labels import cn_quotes
from ..spec.wording import place, table_rate
from .consolidate import Totals


def attention(form: Form, totals: Totals, lowest_count: int, burden_ratio: float,
              roster: Roster | None = None, was_included: frozenset[str] = frozenset()) -> list[dict]:
    """Sections of {title, lines: [text]}, in the order the report shows them. A unit left out
    now that was in last round's sums (`was_included`) says so: the reader asks why it fell away."""
    counties = totals.counties[totals.counties["status"] == "included"]
    records = [c for _, c in totals.county_records if c["status"] == "included"]
    noun = form.unit_noun
    sections = []
    nothing = not records  # nothing to say of anyone: no claim that all is well

    def named(c) -> str:
        return place(c["name"], c["city_name"])

    items = []
    for rate in (r for r in form.rates if r.style == "rectification"):
        num = counties[list(rate.numerator)].sum(axis=1)
        den = counties[list(rate.denominator)].sum(axis=1)
        rows = [(int(n) / int(d), code, int(n), int(d)) for code, n, d in zip(counties.index, num, den) if int(d) > 0]
        rows = [r for r in rows if r[0] < 1]
        rows.sort()
        done = form.field(rate.numerator[0]).label if len(rate.numerator) == 1 else "已整改"
        # The form's words: its denominator's label (排查数 → 排查) and its fields' unit (件, 栋).
        units = {form.field(k).unit for k in (*rate.numerator, *rate.denominator)}
        unit = units.pop() if len(units) == 1 else ""
        bases = {form.field(k).label for k in rate.denominator}
        base = bases.pop() if len(bases) == 1 else "总数"
        if base.endswith("数") and not base.endswith(f"{unit}数"):
            base = base[:-1]  # 排查数12件 reads 排查12件; 参训人数12人 stays
        if rows:
            listed = "；".join(f"{named(counties.loc[code])}{table_rate(n, d)}（{done}{n}{unit}，{base}{d}{unit}）"
                              for _, code, n, d in rows[:lowest_count])
            items.append(f"{cn_quotes(rate.label)}最低的{min(lowest_count, len(rows))}个{noun}：{listed}。")
    if items:
        sections.append({"title": "整改率较低的单位", "lines": items})

    items, met = [], []
    for sheet in form.sheets:
        for cov in sheet.coverage:
            low, none = [], []
            for row in records:
                n, d = int(row[cov.numerator]), int(row[cov.denominator])
                if d and n < cov.minimum * d:
                    low.append(f"{named(row)}{table_rate(n, d)}")
                elif not d:
                    none.append(named(row))  # no base to rate: neither low nor at the standard
            standard = f"{cov.minimum * 100:g}%"
            if low:
                items.append(f"{cov.noun}低于{standard}的{len(low)}个{noun}：{'；'.join(low)}。")
            elif len(none) < len(records):
                said = f"{cov.noun}{'均达到' + standard if cov.minimum >= 1 else '均在' + standard + '以上'}"
                # A county whose base is 0 has no rate: "all at 99% or above" would include it.
                base = form.field(cov.denominator).label
                met.append(f"{said}（{'、'.join(none)}{base}为0，未计入）" if none else said)
    if met:
        items.append(f"已汇总的各{noun}" + "，".join(met) + "。")
    spec = form.attention or {}
    if items:
        sections.append({"title": spec.get("coverage_title", "覆盖情况"), "lines": items})

    if spec.get("burden") and spec.get("base"):
        burden = [sum(int(c[k]) for k in spec["burden"]) for c in records]
        base = [sum(int(c[k]) for k in spec["base"]) for c in records]
        total_burden, total_base = sum(burden), sum(base)
        flagged = []
        for c, b, h in zip(records, burden, base):
            if total_burden and total_base and h and b * total_base >= burden_ratio * h * total_burden:
                ratio = (b / total_burden) / (h / total_base)
                flagged.append((ratio, f"{named(c)}（{spec['burden_label']}占{table_rate(b, total_burden)}，"
                                       f"{spec['base_label']}占{table_rate(h, total_base)}，{ratio:.1f}倍）"))
        flagged.sort(reverse=True)
        if flagged:
            sections.append({"title": f"{spec['burden_label']}相对较多的单位", "lines": [
                f"{spec['burden_label']}占比达到{spec['base_label']}占比{burden_ratio:g}倍以上的{len(flagged)}个{noun}："
                + "；".join(t for _, t in flagged) + "。"]})

    if nothing:
        sections.append({"title": "数据未纳入汇总的单位", "lines": ["尚无已汇总的单位。"]})
    if roster is not None:
        out = [(label, units) for label, units in (*rejected_groups(roster), ("未报送", roster.with_status("missing")))
               if units]
        if out:
            lines = [f"{label}{len(units)}个：{'、'.join(place(u.name, u.city_name) + ('（上期已报送）' if u.code in was_included else '') for u in units)}。"
                     for label, units in out]
            lines[-1] = lines[-1][:-1] + "；以上单位的数据未纳入本次汇总。"
            if roster.unopened:
                lines.append(unopened_line(roster, noun))
            if nothing:
                sections[-1]["lines"] += lines
            else:
                sections.append({"title": "数据未纳入汇总的单位", "lines": lines})
    return sections


def unopened_line(roster: Roster, noun: str) -> str:
    """The places in the inbox the run could not open, each with why, and what that may mean for
    the units listed as 未报送 (a city's zip of its counties' returns, damaged in the copying):
    "" when there are none. Said once: among the units left out when there are any, else in
    数据说明."""
    if not roster.unopened:
        return ""
    named = "；".join(f"“{path}”（{why}）" for path, why in roster.unopened[:MAX_NAMED])
    more = "等" if len(roster.unopened) > MAX_NAMED else ""
    text = f"收件箱中另有{len(roster.unopened)}处未能打开：{named}{more}，其中的报表都没有读取"
    if roster.with_status("missing"):
        text += f"，列为未报送的{noun}的报表可能就在其中"
    return text + "。"


MAX_NAMED = 5  # places named in the sentence; validation.html lists them all


def rejected_groups(roster: Roster) -> tuple[tuple[str, list], tuple[str, list]]:
    """The rejected units by why, as the report names them: a return with errors, and a file that
    could not be opened at all (a reader told 因数据有误 of a file of random bytes looks for the error)."""
    rejected = roster.with_status("rejected")
    return (("因数据有误退回", [u for u in rejected if not u.unreadable]),
            ("因文件无法打开退回", [u for u in rejected if u.unreadable]))
