"""The reporting units (from the form's reference CSV) and how a county names itself."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..errors import Fatal, reason


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    city_code: str
    city_name: str
    short_name: str
    other_names: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.name, self.short_name, *self.other_names)))


@dataclass(frozen=True)
class UnitList:
    units: tuple[Unit, ...]

    @property
    def fingerprint(self) -> str:
        """Changes when any unit's code or names change: part of the read cache's key."""
        import hashlib

        text = "\n".join(f"{u.code}|{u.city_code}|{'|'.join(u.names)}" for u in self.units)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def cities(self) -> list[tuple[str, str]]:
        return list(dict.fromkeys((u.city_code, u.city_name) for u in self.units))

    def by_code(self, code: str) -> Unit | None:
        return self._codes.get(code)

    def __post_init__(self) -> None:
        codes = {u.code: u for u in self.units}
        names: dict[str, set[str]] = {}
        for u in self.units:
            for n in u.names:
                names.setdefault(n, set()).add(u.code)
        object.__setattr__(self, "_codes", codes)
        object.__setattr__(self, "_names", names)
        # The names that name one unit, by their length: a file name is looked up at each of its
        # places, once per length a name has (a handful), instead of searched for every unit's
        # names, which at 3,000 units took 29 ms a file; indexing by first characters instead
        # slowed to 4 ms a file where many names begin alike (新…, 东…, a synthetic 合成…).
        by_length: dict[int, dict[str, str]] = {}
        for name, named in names.items():
            if len(named) == 1 and name:
                by_length.setdefault(len(name), {})[name] = next(iter(named))
        object.__setattr__(self, "_by_length", sorted(by_length.items()))
        object.__setattr__(self, "_bare", _bare_names(self.units, names))
        object.__setattr__(self, "_found", {})
        object.__setattr__(self, "_matched", {})
        city_names = set()
        forms: dict[str, frozenset[str]] = {}
        for _, city in self.cities:
            names_of_city = {city}
            # 临夏回族自治州 is also written 临夏州; 甘南藏族自治州 甘南州
            m = re.match(r"^(.{2,3}?)(?:" + "|".join(("回族", "藏族", "蒙古族")) + ")?自治州$", city)
            if m:
                names_of_city.add(m.group(1) + "州")
            forms[city] = frozenset(names_of_city)
            city_names |= names_of_city
        object.__setattr__(self, "_city_names", frozenset(city_names))
        object.__setattr__(self, "_city_forms", forms)
        object.__setattr__(self, "_city_name_lengths", sorted({len(c) for c in city_names}, reverse=True))

    def match_name(self, text: str, noise: tuple[str, ...] = ()) -> str | None:
        """The unit a 填报单位 text names, matched whole after stripping what surrounds it."""
        # Each sheet of a return repeats its 填报单位 line: the answer is worked out once.
        known = self._matched  # type: ignore[attr-defined]
        key = (text, noise)
        if key not in known:
            if len(known) > 10_000:
                known.clear()
            known[key] = self._match_name(text, noise)
        return known[key]

    def _match_name(self, text: str, noise: tuple[str, ...]) -> str | None:
        s = self._stripped(text, noise)
        candidates = [s, s.removesuffix("委")]  # 张家川县委双联办
        cities = self._city_names  # type: ignore[attr-defined]
        for length in self._city_name_lengths:  # type: ignore[attr-defined]  # longest first
            if len(s) > length and s[:length] in cities:
                candidates.append(s[length:])
        for c in candidates:
            codes = self._names.get(c)  # type: ignore[attr-defined]
            if codes and len(codes) == 1:
                return next(iter(codes))
        return None

    def wrong_prefix(self, text: str, noise: tuple[str, ...], code: str) -> str:
        """What stands before the unit's own name in a 填报单位 text that names it, when that is
        not the unit's own city (兰州市正宁县: 兰州市); "" when it is, or nothing stands there."""
        key = ("prefix", text, noise, code)  # each sheet of a return repeats its 填报单位 line
        known = self._matched  # type: ignore[attr-defined]
        if key not in known:
            known[key] = self._wrong_prefix(text, noise, code)
        return known[key]

    def _wrong_prefix(self, text: str, noise: tuple[str, ...], code: str) -> str:
        unit = self.by_code(code)
        if unit is None:
            return ""
        s = self._stripped(text, noise).removesuffix("委")
        name = next((n for n in sorted(unit.names, key=len, reverse=True) if s.endswith(n)), "")
        prefix = s[:len(s) - len(name)] if name else ""
        own = self._city_forms.get(unit.city_name, frozenset())  # type: ignore[attr-defined]
        return "" if not prefix or prefix in own else prefix

    def match_after_prefix(self, text: str, noise: tuple[str, ...] = ()) -> tuple[str, str] | None:
        """A 填报单位 text match_name does not know, whose end is a unit's whole name after other
        places' names (临夏市东乡县: a county-level city where 临夏州 belongs): (code, prefix)."""
        s = self._stripped(text, noise).removesuffix("委")
        for i in range(1, len(s)):  # the longest name first: 正宁县 before 宁县
            codes = self._names.get(s[i:])  # type: ignore[attr-defined]
            if codes and len(codes) == 1 and self._places(s[:i]):
                return next(iter(codes)), s[:i]
        return None

    def find_in_office(self, text: str, noise: tuple[str, ...] = ()) -> str | None:
        """The unit named inside a 填报单位 text that names an office of it (中共永登县委双联办,
        皋兰县扶贫办, 七里河区委组织部), as a file name is searched: one unit's name, not inside
        a longer one's. None when a township's office follows the name (永登县云河镇人民政府):
        that is the township's (township_office)."""
        s = self._stripped(text, noise)
        code = self.find_in_filename(s)
        return None if code is None or township_office(s) else code

    def names_city(self, text: str, noise: tuple[str, ...] = ()) -> bool:
        """The 填报单位 text is a city's own (兰州市双联办, 临夏州委双联办): a city's return."""
        s = self._stripped(text, noise).removesuffix("委")
        return s in self._city_names  # type: ignore[attr-defined]

    def _places(self, text: str) -> bool:
        """The text is one or more known places' names, one after another (临夏州临夏市)."""
        if not text:
            return True
        known = self._city_names | self._names.keys()  # type: ignore[attr-defined]
        return any(text.startswith(p) and self._places(text[len(p):]) for p in known if p)

    def _stripped(self, text: str, noise: tuple[str, ...]) -> str:
        s = _clean(text)
        for word in sorted(noise, key=len, reverse=True):
            s = s.replace(word, "")
        return re.sub(r"^[:\s]+|[:\s]+$", "", s)

    def find_in_filename(self, stem: str) -> str | None:
        """A unit named anywhere in a file name; a name inside a longer matched name does not count."""
        # The file name is asked about by several steps (reading, choosing, the guard): once.
        found = self._found  # type: ignore[attr-defined]
        if stem not in found:
            if len(found) > 100_000:
                found.clear()
            found[stem] = self._find_in_filename(stem)
        return found[stem]

    def _find_in_filename(self, stem: str) -> str | None:
        by_code, by_name = self._code_and_name(stem)
        if by_code and by_name and by_code != by_name:
            return None  # 620103_城关区: the name says one unit, its code another; neither is taken on trust
        return by_code or by_name

    def find_by_short_name(self, stem: str) -> str:
        """The unit a file or folder is named for by its name without 区 or 县 (七里河.xlsx, 阿克塞/),
        that whole name and nothing else; "" when none is. Weaker than find_in_filename: 城关 is
        城关区's and a 城关镇 in many counties, so a reader takes it last, and says so."""
        return self._bare.get(_clean(stem), "")  # type: ignore[attr-defined]

    def filename_says_two(self, stem: str) -> tuple[str, str] | None:
        """(the unit its code names, the unit its words name) when a file name's code and name
        are two units' (620103_城关区.xlsx); None when they agree or it gives one or none."""
        by_code, by_name = self._code_and_name(stem)
        return (by_code, by_name) if by_code and by_name and by_code != by_name else None

    def _code_and_name(self, stem: str) -> tuple[str | None, str | None]:
        """The unit a file name's code names, and the one its words name (a name inside a longer
        matched name does not count)."""
        text = _clean(stem)
        by_code = next((code for code in re.findall(r"(?<!\d)(\d{6})(?!\d)", text)
                        if code in self._codes), None)  # type: ignore[attr-defined]
        if by_code is not None and self._named_in(by_code, text):
            return by_code, by_code  # 620102_城关区, the commonest: its own name beside its code
        spans: list[tuple[int, int, str]] = []
        for length, named in self._by_length:  # type: ignore[attr-defined]
            for i in range(len(text) - length + 1):
                code = named.get(text[i:i + length])
                if code is not None:
                    spans.append((i, i + length, code))
        kept = {
            code
            for (a, b, code) in spans
            if not any((a2 <= a and b <= b2) and (b2 - a2) > (b - a) for (a2, b2, _) in spans)
        }
        return by_code, kept.pop() if len(kept) == 1 else None


    def names_unit(self, text: str, code: str) -> bool:
        """Whether `text` holds one of the unit's own names (城关区 in 兰州市城关区…统计表): as
        written, mostly; else as names are compared (widths, spaces)."""
        unit = self.by_code(code)
        return unit is not None and (any(n in text for n in unit.names if n) or self._named_in(code, _clean(text)))

    def _named_in(self, code: str, cleaned: str) -> bool:
        unit = self.by_code(code)
        return unit is not None and any(_clean(n) in cleaned for n in unit.names if n)


# A township's own office at the end of a 填报单位 (云河镇人民政府, 柳泉乡, 东岗街道办事处): a
# township's return forwarded in the county's name.
_TOWNSHIP_OFFICE = re.compile(r"[\u4e00-\u9fff]{1,6}?(?:镇|乡|街道)(?:人民政府|政府|党委|办事处)?$")


def township_office(text: str) -> str:
    """The end of a 填报单位 text that is a township's office (云河镇人民政府, 永登县柳泉乡), or ""."""
    m = _TOWNSHIP_OFFICE.search(_clean(text))
    return m.group(0) if m else ""


def _bare_names(units: tuple[Unit, ...], names: dict[str, set[str]]) -> dict[str, str]:
    """Each unit's names without their last 区, 县 or 市 (七里河, 张家川, 阿克塞), where that names
    one unit only and is no unit's or city's own name (临夏 is 临夏县's and 临夏市's)."""
    found: dict[str, set[str]] = {}
    for u in units:
        for n in u.names:
            if n and len(n) >= 3 and n[-1] in "区县市":
                found.setdefault(_clean(n[:-1]), set()).add(u.code)
    # A city's name without 市 (酒泉) may be the city's file; not where the city is the unit (嘉峪关).
    taken = {_clean(n) for n in names} | {_clean(u.city_name) for u in units}
    taken |= {_clean(u.city_name[:-1]) for u in units if u.city_name.endswith("市") and u.city_name != u.name}
    return {bare: next(iter(codes)) for bare, codes in found.items() if len(codes) == 1 and bare not in taken}


def _clean(text: str) -> str:
    s = unicodedata.normalize("NFKC", str(text))
    s = re.sub(r"[\s\u3000]+", "", s)
    return s.replace("(", "").replace(")", "")


REQUIRED = ("county_code", "county_name", "city_code", "city_name")


def load_units(path: str | Path, loaded_before=None) -> UnitList:
    """The reporting units from the form's CSV, or one Chinese sentence (`Fatal`) naming the
    file and what is wrong with it: the office edits this list for a new campaign.
    `loaded_before`: lists loaded before, by their bytes (store.cache.LoadedUnits: get, put):
    a national list of 30,000 units takes a third of a second to parse and index, every run."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise Fatal(f"表式文件指定的单位名单 {path} 不存在：{_UNITS_FIX}") from None
    except OSError as e:
        raise Fatal(f"无法读取单位名单 {path}（{reason(e, '读取')}）：请检查文件的权限。") from None
    kept = loaded_before.get(data) if loaded_before is not None else None
    if kept is not None:
        return kept
    units = _parsed_units(data, path)
    if loaded_before is not None:
        loaded_before.put(data, units)
    return units


_UNITS_FIX = (f"请对照项目自带的 schemas/units-gansu-2016.csv 改正（UTF-8 编码，列：{'、'.join(REQUIRED)}，"
              "可选 short_name、other_names）。")


def _parsed_units(data: bytes, path: Path) -> UnitList:
    fix = _UNITS_FIX
    try:
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    except UnicodeDecodeError:
        raise Fatal(f"单位名单 {path} 不是 UTF-8 编码：请以 UTF-8 编码另存后再运行。") from None
    except csv.Error as e:
        raise Fatal(f"单位名单 {path} 不合 CSV 格式（{e}）：{fix}") from None
    header = list(rows[0]) if rows else []
    missing = [c for c in REQUIRED if c not in header]
    if not rows or missing:
        what = f"缺少列 {'、'.join(missing)}" if rows else "没有任何单位"
        raise Fatal(f"单位名单 {path} {what}：{fix}")
    units = []
    for line, r in enumerate(rows, start=2):
        values = {c: (r.get(c) or "").strip() for c in REQUIRED}
        empty = [c for c, v in values.items() if not v]
        if empty:
            raise Fatal(f"单位名单 {path} 第{line}行的 {'、'.join(empty)} 是空的：{fix}")
        units.append(Unit(
            code=values["county_code"],
            name=values["county_name"],
            city_code=values["city_code"],
            city_name=values["city_name"],
            short_name=(r.get("short_name") or values["county_name"]).strip(),
            other_names=tuple(n.strip() for n in re.split(r"[;;|]", r.get("other_names") or "") if n.strip()),
        ))
    twice = sorted(code for code, n in Counter(u.code for u in units).items() if n > 1)
    if twice:
        raise Fatal(f"单位名单 {path} 中代码 {'、'.join(twice)} 出现了不止一次：每个单位只写一行。")
    return UnitList(tuple(units))
