"""The form file as the office writes it, checked before anything is built from it.

A new campaign's form is written by an office, not a programmer: a key misspelt
(`[[sheets.rule]]` for `[[sheets.rules]]`, `units =` for `unit =`) was ignored, so a declared
rule was never applied, and a rule naming a field the sheet lacks failed every return, or
the run, far from the line at fault. Every key a form may hold is declared here with what it
holds; each mistake is one Chinese sentence naming the table, the entry and the key.
"""

from __future__ import annotations

import difflib
import string
from dataclasses import fields as dataclass_fields

TEXT, TEXTS, NUMBER, TABLE, TABLES, ANY = "文字", "文字列表", "数字", "表", "表的列表", "任意"

# Each table of the form file: its keys, what each holds, and which must be there (!).
SHAPES: dict[str, dict[str, str]] = {
    "": {"form!": TABLE, "sheets!": TABLES, "rates": TABLES, "messages": TABLE, "charts": TABLES,
         "attention": TABLE, "rounds": TABLE, "reader": TABLE, "notes": TABLES, "tables": TABLE},
    "form": {"key!": TEXT, "version": ANY, "title!": TEXT, "units!": TEXT, "region_name": TEXT, "region_code": ANY,
             "unit_noun": TEXT, "city_noun": TEXT, "office_short": TEXT, "narrative": TEXT, "name_noise": TEXTS,
             "explanation_label": TEXT, "row_noun": TEXT},
    "sheets": {"key!": TEXT, "number": TEXT, "label!": TEXT, "aliases": TEXTS, "fields!": TABLES, "computed": TABLES,
               "rules": TABLES, "coverage": TABLES, "unit_line": TEXT, "across_rounds": TABLES},
    "sheets.fields": {"key!": TEXT, "label!": TEXT, "group": TEXT, "aliases": TEXTS, "unit": TEXT, "narrative": TEXT,
                      "kind": TEXT, "sub_aliases": TEXTS},
    "sheets.computed": {"key!": TEXT, "label!": TEXT, "group": TEXT, "aliases": TEXTS, "sum": TEXTS, "rate": TEXTS,
                        "sub_aliases": TEXTS},
    "sheets.rules": {"id!": TEXT, "field!": TEXT, "not_above!": TEXT, "message": TEXT},
    "sheets.coverage": {"id!": TEXT, "numerator!": TEXT, "denominator!": TEXT, "minimum!": NUMBER, "noun": TEXT},
    "sheets.across_rounds": {"id!": TEXT, "check!": TEXT, "fields": TEXTS, "u": NUMBER, "a": NUMBER, "c": NUMBER,
                             "few": NUMBER},
    "rates": {"key!": TEXT, "label!": TEXT, "numerator!": TEXTS, "denominator!": TEXTS, "style": TEXT},
    "charts": {"key!": TEXT, "kind!": TEXT, "title!": TEXT, "rate": TEXT, "unit": TEXT, "categories": TEXTS,
               "series": ANY},
    "attention": {"burden_label": TEXT, "burden": TEXTS, "base_label": TEXT, "base": TEXTS, "coverage_title": TEXT},
    "rounds": {"same_as_previous": NUMBER, "count_label": TEXT, "count": TEXTS, "count_unit": TEXT, "rates": TEXTS},
    "notes": {"more!": TEXTS, "less!": TEXTS, "text!": TEXT},
    "tables": {"header_words": TEXTS},
}
# What a few keys may say.
CHOICES = {
    ("sheets.fields", "kind"): ("key",),
    ("sheets.fields", "narrative"): ("full", "wan"),
    ("sheets.across_rounds", "check"): ("not-below", "hb"),
    ("rates", "style"): ("share", "coverage", "rectification"),
    ("charts", "kind"): ("rate_by_city", "categories"),
}
# Names the program's own tables give their columns beside the fields': a field keyed so would
# be taken for them (a county's status, a township's row), silently.
RESERVED = frozenset({"township", "row", "code", "name", "city_code", "city_name", "county_code", "status", "file",
                      "sheet", "via", "index", "left", "included", "rejected", "units_expected", "units_included",
                      "units_rejected", "_ret"})


class FormMistake(ValueError):
    """A mistake in the form file, said as one Chinese sentence (without the file's name)."""


def check_shape(raw: dict, reader_keys: frozenset[str]) -> None:
    """Every key known and of its kind, every required key there, every choice one of its words."""
    shapes = dict(SHAPES, reader={k: TEXTS for k in reader_keys} | {"unit_synonyms": TABLE})
    _table(raw, "", "", shapes)
    for i, sheet in enumerate(raw["sheets"], start=1):
        where = _entry("sheets", i, sheet)
        for part in ("fields", "computed", "rules", "coverage", "across_rounds"):
            for j, item in enumerate(sheet.get(part, []), start=1):
                _table(item, f"sheets.{part}", f"{where}的 {_entry(f'sheets.{part}', j, item)}", shapes)
        _table(sheet, "sheets", where, shapes)
    for part in ("rates", "charts", "notes"):
        for i, item in enumerate(raw.get(part, []), start=1):
            _table(item, part, _entry(part, i, item), shapes)
    for part in ("form", "attention", "rounds", "reader", "tables"):
        if part in raw:
            _table(raw[part], part, f"[{part}]", shapes)
    for unit, words in raw.get("reader", {}).get("unit_synonyms", {}).items():
        _holds(words, TEXTS, f"[reader.unit_synonyms] 中的 {unit}")


def check_references(raw: dict) -> None:
    """Every field, rate and wording the form's parts name is one it declares."""
    counts: dict[str, str] = {}  # field key → its sheet's key
    for i, sheet in enumerate(raw["sheets"], start=1):
        where = _entry("sheets", i, sheet)
        keys = [f["key"] for f in sheet["fields"] if f.get("kind") == "key"]
        if len(keys) != 1:
            raise FormMistake(f"{where} 中须有且只有一个字段写 kind = \"key\"（每行的名称列，如乡镇），现有{len(keys)}个")
        own = {f["key"] for f in sheet["fields"] if f.get("kind") != "key"}
        for j, f in enumerate(sheet["fields"], start=1):
            if f.get("kind") != "key":
                _a_new_key(f["key"], f"{where}的 {_entry('sheets.fields', j, f)}", counts)
                counts[f["key"]] = sheet["key"]
        computed = set()
        for j, c in enumerate(sheet.get("computed", []), start=1):
            place = f"{where}的 {_entry('sheets.computed', j, c)}"
            _a_new_key(c["key"], place, counts)
            _names(c.get("sum", []), own, place, "sum")
            _names(c.get("rate", []), own | computed, place, "rate")
            computed.add(c["key"])
        for part, names in (("rules", ("field", "not_above")), ("coverage", ("numerator", "denominator"))):
            for j, r in enumerate(sheet.get(part, []), start=1):
                for name in names:
                    _names([r[name]], own | computed, f"{where}的 {_entry(f'sheets.{part}', j, r)}", name)
        for j, a in enumerate(sheet.get("across_rounds", []), start=1):
            _names(a.get("fields", []), own | computed, f"{where}的 {_entry('sheets.across_rounds', j, a)}", "fields")
    keys = [s["key"] for s in raw["sheets"]]
    if twice := next((k for k in keys if keys.count(k) > 1), None):
        raise FormMistake(f"[[sheets]] 中 key = \"{twice}\" 写了两次：每张表的 key 须各不相同")
    rates = set()
    for i, r in enumerate(raw.get("rates", []), start=1):
        place = _entry("rates", i, r)
        for name in ("numerator", "denominator"):
            _names(r[name], set(counts), place, name)
        if r["key"] in counts or r["key"] in rates:
            raise FormMistake(f"{place}的 key = \"{r['key']}\" 与另一个字段或比率同名：请另取一个")
        rates.add(r["key"])
    for i, c in enumerate(raw.get("charts", []), start=1):
        place = _entry("charts", i, c)
        if c["kind"] == "rate_by_city":
            _names([c.get("rate", "")], rates, place, "rate")
        else:
            if not c.get("categories") or not c.get("series"):
                raise FormMistake(f"{place}（kind = \"categories\"）须写 categories 和 series")
            for series in c["series"]:
                if (not isinstance(series, list) or len(series) != 2 or not isinstance(series[0], str)
                        or not _texts(series[1]) or len(series[1]) != len(c["categories"])):
                    raise FormMistake(f"{place}的 series 每项须写成 [\"名称\", [与 categories 一样多的字段]]")
                _names(series[1], set(counts), place, "series")
    attention = raw.get("attention", {})
    for name in ("burden", "base"):
        _names(attention.get(name, []), set(counts), "[attention]", name)
    rounds = raw.get("rounds", {})
    _names(rounds.get("count", []), set(counts), "[rounds]", "count")
    _names(rounds.get("rates", []), rates, "[rounds]", "rates")
    for i, note in enumerate(raw.get("notes", []), start=1):
        for name in ("more", "less"):
            _names(note[name], set(counts), _entry("notes", i, note), name)
    wordings = [(f"[messages] 中的 {k}", v) for k, v in raw.get("messages", {}).items()]
    wordings += [(f"{_entry('notes', i, n)}的 text", n["text"]) for i, n in enumerate(raw.get("notes", []), start=1)]
    for place, text in wordings:
        if not isinstance(text, str):
            raise FormMistake(f"{place}须写成文字（用引号括起）")
        try:
            list(string.Formatter().parse(text))
        except ValueError:
            raise FormMistake(f"{place} 的花括号不成对：要填入的内容写成 {{名称}}，文字本身的花括号写成 {{{{ 和 }}}}") from None


def _table(table: object, shape: str, where: str, shapes: dict) -> None:
    if not isinstance(table, dict):
        raise FormMistake(f"{where}须写成一节（[名称] 下的若干行）")
    declared = shapes[shape]
    known = {k.rstrip("!"): kind for k, kind in declared.items()}
    for key, value in table.items():
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            hint = f"，是否应为 {close[0]}" if close else f"；可写的有：{'、'.join(known)}"
            what = f"[{key}] 这一节的名称" if not shape else f"{where} 中的 {key} "
            raise FormMistake(f"{what}不是表式文件的写法{hint}（写错的一行会被忽略，所以不能放过）")
        _holds(value, known[key], f"{where}的 {key}")
        allowed = CHOICES.get((shape, key))
        if allowed and value not in allowed:
            raise FormMistake(f"{where}的 {key} = \"{value}\" 不可用：只能写 {'、'.join(allowed)}")
    for key in (k[:-1] for k in declared if k.endswith("!")):
        if key not in table:
            raise FormMistake(f"{where} 缺少 {key}")


def _holds(value: object, kind: str, where: str) -> None:
    ok = {TEXT: isinstance(value, str), TEXTS: _texts(value),
          NUMBER: isinstance(value, (int, float)) and not isinstance(value, bool),
          TABLE: isinstance(value, dict), TABLES: isinstance(value, list) and all(isinstance(v, dict) for v in value),
          ANY: True}[kind]
    if not ok:
        shown = {TEXT: "文字（用引号括起）", TEXTS: "文字的列表，如 [\"甲\", \"乙\"]", NUMBER: "数字（不加引号）",
                 TABLE: "一节", TABLES: "若干节（[[名称]]）"}[kind]
        raise FormMistake(f"{where} 须写成{shown}")


def _texts(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _entry(part: str, i: int, item: object) -> str:
    name = item.get("key") or item.get("id") if isinstance(item, dict) else None
    return f"[[{part}]] 第{i}个" + (f"（{'key' if item.get('key') else 'id'} = \"{name}\"）" if isinstance(name, str) else "")


def _a_new_key(key: str, place: str, seen: dict[str, str]) -> None:
    if key in RESERVED:
        raise FormMistake(f"{place}的 key = \"{key}\" 是程序自用的列名：请另取一个（如加上前缀）")
    if key in seen:
        raise FormMistake(f"{place}的 key = \"{key}\" 已用于表“{seen[key]}”的另一个字段：每个字段的 key 须各不相同")


def _names(keys: list[str], known: set[str], place: str, name: str) -> None:
    for key in keys:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            hint = f"，是否应为 {close[0]}" if close else ""
            raise FormMistake(f"{place}的 {name} 中的 \"{key}\" 不是此处可用的字段或比率{hint}")


def reader_keys(spec_class: type) -> frozenset[str]:
    return frozenset(f.name for f in dataclass_fields(spec_class) if f.name != "unit_synonyms")
