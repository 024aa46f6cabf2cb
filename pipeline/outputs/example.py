"""The bundled example: 87 returns whose province totals are exactly the article's figures.

Deterministic (a fixed seed), so `make example` always writes the same workbooks. Township
counts per county follow the 2016 statistical codes; the names are made up.
"""

from __future__ import annotations

import csv
import random
from datetime import date
from pathlib import Path

from ..spec.form import Form
from ..spec.units import UnitList

# Province totals as the seed article states them (shared/spec/article-figures.md).
ARTICLE_TOTALS: dict[str, int] = {
    "villages_total": 16035,
    "villages_visited": 16035,
    "villages_newly_linked": 477,
    "households_total": 4920676,
    "households_visited": 4918216,
    "households_visited_twice": 4801357,
    "linking_units": 14427,
    "linking_cadres": 408236,
    "precision_found": 20376,
    "precision_fixed": 20376,
    "guarantees_found": 59341,
    "guarantees_fixed": 51040,
    "disputes_found": 42289,
    "disputes_fixed": 38070,
    "policy_sessions": 139596,
    "opinions_collected": 223179,
    "disputes_resolved": 44231,
    "infrastructure_projects": 5597,
    "industry_projects": 4861,
    "training_sessions": 10686,
    "practical_matters": 36539,
    "grassroots_orgs": 4541,
    "role_models": 2585,
}

# (field, the field it may not exceed): the bounded field is split as a shortfall below its bound.
_BOUNDED = {
    "villages_visited": "villages_total",
    "villages_newly_linked": "villages_total",
    "households_visited": "households_total",
    "households_visited_twice": "households_visited",
    "precision_fixed": "precision_found",
    "guarantees_fixed": "guarantees_found",
    "disputes_fixed": "disputes_found",
}
# A county's household coverage must stay at or above 99% so the example raises no warning.
_MAX_SHORTFALL_SHARE = {"households_visited": 0.009}

_SYLLABLES = (
    "东 西 南 北 新 石 柳 杨 马 高 白 黄 红 青 金 龙 凤 河 川 山 峡 湾 坪 庄 堡 寨 沟 岭 泉 滩 "
    "安 宁 平 和 永 兴 丰 盛 清 水 云 台 城 关 阳 李 王 张 刘 陈 武 文 德 福 康 乐 吉 祥 花 园"
).split()


def split(total: int, weights: list[float]) -> list[int]:
    """Integer parts of `total` in proportion to `weights`, summing exactly (largest remainder)."""
    s = sum(weights)
    if total == 0 or s == 0:
        return [0] * len(weights)
    raw = [total * w / s for w in weights]
    parts = [int(x) for x in raw]
    order = sorted(range(len(raw)), key=lambda i: (raw[i] - parts[i], -i), reverse=True)
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def split_capped(total: int, weights: list[float], caps: list[int]) -> list[int]:
    """Like split, but no part exceeds its cap; raises if the caps cannot hold the total."""
    if total > sum(caps):
        raise ValueError("caps too small")
    parts = [0] * len(weights)
    remaining = total
    open_ = [i for i in range(len(weights)) if caps[i] > 0]
    while remaining > 0:
        shares = split(remaining, [weights[i] if weights[i] > 0 else 1e-9 for i in open_])
        for i, add in zip(open_, shares):
            take = min(add, caps[i] - parts[i])
            parts[i] += take
            remaining -= take
        open_ = [i for i in open_ if parts[i] < caps[i]]
        if remaining and all(s == 0 for s in shares):  # tiny remainders: one at a time
            for i in open_[:remaining]:
                parts[i] += 1
                remaining -= 1
    return parts


def township_names(rng: random.Random, counts: tuple[int, int, int]) -> list[str]:
    jiedao, zhen, xiang = counts
    names: list[str] = []
    seen: set[str] = set()
    for suffix, n in (("街道", jiedao), ("镇", zhen), ("乡", xiang)):
        for _ in range(n):
            while True:
                name = rng.choice(_SYLLABLES) + rng.choice(_SYLLABLES) + suffix
                if name[0] != name[1] and name[:2] not in seen:
                    seen.add(name[:2])
                    names.append(name)
                    break
    return names


def example_returns(form: Form, units: UnitList, counts_csv: str | Path, seed: int = 2016):
    """Yield (unit, township rows, filed_on) for every unit; province totals = ARTICLE_TOTALS."""
    rng = random.Random(seed)
    with open(counts_csv, encoding="utf-8-sig", newline="") as f:
        counts = {r["county_code"]: r for r in csv.DictReader(f)}
    plan: list[tuple] = []  # (unit, township name)
    for unit in units.units:
        c = counts[unit.code]
        names = township_names(rng, (int(c["jiedao"]), int(c["zhen"]), int(c["xiang"])))
        plan += [(unit, n) for n in names]
    # Rural townships carry the villages; a county's weight varies around its size.
    county_factor = {u.code: rng.uniform(0.6, 1.6) for u in units.units}
    base = [county_factor[u.code] * (0.35 if n.endswith("街道") else 1.0) * rng.uniform(0.7, 1.3) for u, n in plan]

    values: dict[str, list[int]] = {}
    for key in form.field_keys:
        if key in _BOUNDED:
            continue
        values[key] = split(ARTICLE_TOTALS[key], [w * rng.uniform(0.8, 1.2) for w in base])
    for key, bound in _BOUNDED.items():  # dict order puts every bound before the field it bounds
        caps = list(values[bound])
        if key == "villages_newly_linked":
            values[key] = split_capped(ARTICLE_TOTALS[key], [rng.random() for _ in plan], caps)
            continue
        shortfall = sum(values[bound]) - ARTICLE_TOTALS[key]
        share = _MAX_SHORTFALL_SHARE.get(key)
        short_caps = [int(c * share) if share else c for c in caps]
        shorts = split_capped(shortfall, [rng.random() ** 2 for _ in plan], short_caps)
        values[key] = [c - s for c, s in zip(caps, shorts)]

    by_unit: dict[str, list[dict]] = {}
    for i, (unit, name) in enumerate(plan):
        row = {"township": name} | {k: values[k][i] for k in form.field_keys}
        by_unit.setdefault(unit.code, []).append(row)
    for unit in units.units:
        filed = date(2016, 12, rng.randint(1, 6))
        yield unit, by_unit[unit.code], filed
