"""Whose report a run makes: the province's (every unit, by city), or one city's (`CITY=`): its
counties, shown where the province's report shows cities, under the city's own name.

The same tool at either level, with no code or form change per city: a city's scope is the
province's form and units, narrowed. Returns are still identified against every unit (a clerk
may write 兰州市城关区, and a file from another city's county must be known for what it is); only
the roster, the sums and the report are the city's.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace

from ..errors import Fatal
from .form import Form, office_word
from .units import Unit, UnitList

PROVINCE, CITY = "province", "city"


@dataclass(frozen=True)
class Scope:
    level: str  # province | city
    code: str  # the region's code: the province's (form.region_code) or the city's
    name: str  # 全省, or the city's name
    form: Form  # the form as this scope's report words it (the city's name where 全省 was)
    units: UnitList  # the units whose statuses, sums and report this run makes

    @property
    def identity(self) -> dict:
        """What a round's snapshot records, so that a province's round is never compared with a
        city's, nor one city's with another's."""
        return {"level": self.level, "code": self.code, "name": self.name}

    @property
    def outbox_name(self) -> str:
        """The outbox's subfolder for this scope's outputs (the province's are the outbox's own)."""
        return "" if self.level == PROVINCE else f"city-{self.code}"


def province(form: Form, units: UnitList) -> Scope:
    return Scope(PROVINCE, form.region_code, form.region_name, form, units)


def city(form: Form, units: UnitList, asked: str) -> Scope:
    """The scope of one city, named by its code or its name (兰州市, 临夏回族自治州, 临夏州, 兰州):
    its counties, each standing in the report where a city stands in the province's. `Fatal`,
    in one Chinese line, when no city, or more than one, answers to the name."""
    code, name = find_city(units, asked)
    counties = tuple(u for u in units.units if u.city_code == code)
    # Each county is its own group: the report's middle level, where the province's shows cities.
    narrowed = UnitList(tuple(replace(u, city_code=u.code, city_name=u.name) for u in counties))
    # A chart of a bar per city (各市（州）问题整改率) draws a bar per county here, and says so.
    charts = tuple(c | {"title": c["title"].replace(form.city_noun, form.unit_noun)} if "title" in c else c
                   for c in form.charts)
    scoped = replace(form, region_name=name, region_code=code, city_noun=form.unit_noun,
                     office_short=f"{short_name(name)}{office_word(form.office_short)}", region_level=CITY, charts=charts)
    return Scope(CITY, code, name, scoped, narrowed)


def find_city(units: UnitList, asked: str) -> tuple[str, str]:
    key = _clean(asked)
    if not key:
        raise Fatal("CITY= 没有写市（州）的名称或代码：例如 make report CITY=兰州市，或 CITY=620100。")
    cities = units.cities
    exact = [(c, n) for c, n in cities if key in (c, _clean(n))]
    near = exact or [(c, n) for c, n in cities if key in _names_of(n)]
    if len(near) == 1:
        return near[0]
    known = "、".join(n for _, n in cities)
    if not near:
        raise Fatal(f"没有名为“{asked}”的市（州）：请写单位名单中的市（州）名称或代码，即 {known} 之一。")
    raise Fatal(f"“{asked}”可以指{'、'.join(n for _, n in near)}：请写全称或代码。")


def _names_of(city_name: str) -> set[str]:
    """兰州市 → {兰州市, 兰州}; 临夏回族自治州 → {临夏回族自治州, 临夏州, 临夏}."""
    name = _clean(city_name)
    out = {name}
    m = re.match(r"^(.{2,3}?)(?:[\u4e00-\u9fff]{1,3}族)?自治州$", name)
    if m:
        out |= {m.group(1) + "州", m.group(1)}
    elif name.endswith(("市", "州", "盟", "地区")):
        out.add(re.sub(r"(市|州|盟|地区)$", "", name))
    return out


def short_name(city_name: str) -> str:
    """兰州市 → 兰州市; 临夏回族自治州 → 临夏州: how a city names its own office."""
    m = re.match(r"^(.{2,3}?)(?:[\u4e00-\u9fff]{1,3}族)?自治州$", city_name)
    return m.group(1) + "州" if m else city_name


def _clean(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text or "")))


def counties_of(units: UnitList, city_code: str) -> list[Unit]:
    return [u for u in units.units if u.city_code == city_code]
