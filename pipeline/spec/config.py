"""The one file of user settings (settings.toml at the project root), checked against a schema.

The schema is `Settings` itself: each setting is one line, `name: type = key(section, default,
example, limits)`, which says where it lives in the file, what it holds, an example of the
right form, and its limits. `load_settings` checks the file against it with pydantic, in strict
mode (nothing is coerced: `"95%"` is no number, `"123456"` is no list of passwords), and
turns every mistake into a Chinese line naming the key, the value and the form expected.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any, get_type_hints

from ..errors import Fatal
from ..paths import ROOT


class SettingsError(Fatal):
    pass


def key(section: str | None, default: Any, example: str, *, name: str | None = None, kind: Any = None,
        ge: float | None = None, le: float | None = None, gt: float | None = None) -> Any:
    """One setting: `section` is its [table] in the file (None: at the top), `example` a line
    of the right form; `name` its key in the file when not the field's, `kind` the type the
    file holds when not the field's."""
    return field(default=default, metadata={"section": section, "example": example, "name": name, "kind": kind,
                                            "limits": {"ge": ge, "le": le, "gt": gt}})


@dataclass(frozen=True)
class Settings:
    form_path: Path = key(None, Path("schemas/shuanglian-2016.toml"), 'form = "schemas/shuanglian-2016.toml"',
                          name="form", kind=str)
    # A later round of the same campaign (回头看): which round this run is. None: the only one.
    round: str | None = key(None, None, 'round = "2017年第一轮"')
    # The submission page: largest upload, and the address its links use ("": http://HOST:PORT).
    upload_limit_mb: int = key(None, 20, "upload_limit_mb = 20", gt=0)
    base_url: str = key(None, "", 'base_url = "http://192.168.1.10:8000"')
    # The submission page: the least time between two uploads of one unit, and the limits of
    # the process that reads an upload (seconds, and memory beyond what it has loaded).
    upload_interval_seconds: float = key(None, 10.0, "upload_interval_seconds = 10", ge=0)
    check_seconds: float = key(None, 20.0, "check_seconds = 20", gt=0)
    check_memory_mb: int = key(None, 1024, "check_memory_mb = 1024", ge=64)
    # How many zips deep returns are looked for: 2 reads a city's zip of its counties' zips.
    zip_depth: int = key(None, 2, "zip_depth = 2", ge=1, le=8)
    title: str = key("report", "汇总报告", 'title = "全省双联行动汇总"')
    # "": the latest 填报日期 among the returns in the sums; the date (成文日期) then the cutoff's
    cutoff: str = key("report", "", 'cutoff = "2016年12月7日"')
    office: str = key("report", "", 'office = "中共甘肃省委双联行动领导小组办公室"')
    date: str = key("report", "", 'date = "2016年12月7日"')
    twice_threshold: float = key("report", 0.95, "twice_threshold = 0.95", ge=0, le=1)
    word_annex_limit: int = key("report", 300, "word_annex_limit = 300", ge=0)
    # 与上期对比 and 需关注 name each cumulative figure that fell, up to this many, then 等N个
    falls_named: int = key("report", 5, "falls_named = 5", ge=1)
    # report.html opens every figure down to the townships up to this many units; past it, to the counties
    breakdown_township_limit: int = key("report", 300, "breakdown_township_limit = 300", ge=0)
    lowest_count: int = key("attention", 3, "lowest_count = 3", ge=0)
    burden_ratio: float = key("attention", 2.0, "burden_ratio = 2.0", gt=0)
    passwords: tuple[str, ...] = key("security", (), 'passwords = ["123456"]', kind=list[str])
    # A round's own report: [rounds."2016-12"] with title, subtitle, cutoff, date (each may be left out).
    rounds: tuple[tuple[str, RoundReport], ...] = key(
        None, (), '[rounds."2016-12"] 下每行一项：title、subtitle、cutoff、date', kind="rounds")
    # A city's own report (make report CITY=…): [cities."620100"] with title, office, cutoff, date.
    cities: tuple[tuple[str, CityReport], ...] = key(
        None, (), '[cities."620100"] 下每行一项：title、office、cutoff、date', kind="cities")

    def round_report(self, name: str) -> RoundReport:
        """What [rounds."<name>"] says; all "" for a round the file does not name."""
        return dict(self.rounds).get(name, RoundReport())

    def city_report(self, code: str) -> CityReport:
        """What [cities."<code>"] says; all "" for a city the file does not name."""
        return dict(self.cities).get(code, CityReport())


@dataclass(frozen=True)
class RoundReport:
    """What a round's report says of itself, where it differs from [report]: "" for not set."""

    title: str = ""
    subtitle: str = ""
    cutoff: str = ""
    date: str = ""


@dataclass(frozen=True)
class CityReport:
    """What a city's own report (make report CITY=…) says of itself: "" for not set (the
    province's title and office, worded for the city; the dates from the city's returns)."""

    title: str = ""
    office: str = ""
    cutoff: str = ""
    date: str = ""


# The settings kept as a table per name: what each table may hold, and how the file heads one.
NAMED_TABLES = {"rounds": (RoundReport, '[rounds."2016-12"]', "轮次", "一轮", "每轮"),
                "cities": (CityReport, '[cities."620100"]', "市（州）", "一个市（州）", "每个市（州）")}


def load_settings(path: Path | None = None, checked_before=None) -> Settings:
    """The settings in `path` (default settings.toml), or `SettingsError` saying what to fix.
    `checked_before`: files checked before, by their bytes (store.cache.CheckedSettings: get,
    put): building the schema and importing pydantic take a fifth of a second, every run."""
    path = path or ROOT / "settings.toml"
    data = _read(path)
    raw = _parse(data, path)
    checked = checked_before.get(data) if checked_before is not None else None
    if checked is None:
        checked = _check(raw, path)
        if checked_before is not None:
            checked_before.put(data, checked)
    values: dict[str, Any] = {}
    for f in fields(Settings):
        section, name = f.metadata["section"], f.metadata["name"] or f.name
        table = checked if section is None else checked[section]
        values[f.name] = table[name]
    form = Path(values["form_path"])
    # A form the file names is found beside the file; the default one is the project's.
    values["form_path"] = form if form.is_absolute() else (path.parent if "form" in raw else ROOT) / form
    values["passwords"] = tuple(values["passwords"])
    for kind, (table_type, *_) in NAMED_TABLES.items():
        values[kind] = tuple((name, table_type(**table)) for name, table in values[kind].items())
    if not values["form_path"].is_file():
        raise SettingsError(f"设置文件 {path} 中 form = {_shown(str(form))} 指向的表式文件不存在（{values['form_path']}）："
                            "请改正路径（相对于设置文件所在的文件夹）。")
    return Settings(**values)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise SettingsError(f"找不到设置文件 {path}：请检查 --config（或 CONFIG=）给出的路径；默认是项目根目录下的 settings.toml。") from None
    except OSError as e:
        raise SettingsError(f"无法读取设置文件 {path}（{e.strerror}）：请检查文件的权限。") from None


def _parse(data: bytes, path: Path) -> dict:
    if data.startswith(b"\xef\xbb\xbf"):  # Notepad's UTF-8 with BOM: the same text
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SettingsError(f"设置文件 {path} 不是 UTF-8 编码（{_encoding_guess(data)}）：请用记事本打开，"
                            "“另存为”时把编码选为 UTF-8，保存后再运行。") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        where = re.search(r"line (\d+), column (\d+)", str(e))
        if not where:
            raise SettingsError(f"设置文件 {path} 不合 TOML 格式：请对照原来的 settings.toml 改正。") from None
        line, column = int(where.group(1)), int(where.group(2))
        lines = text.splitlines()
        shown = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        raise SettingsError(f"设置文件 {path} 第{line}行第{column}列写法有误（{shown}）：每项设置写成 名称 = 值，"
                            "文字加英文双引号，小节名写成 [report]；请对照原来的 settings.toml 改正。") from None


def _encoding_guess(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "看来是 UTF-16 编码，即记事本的“Unicode”"
    try:
        data.decode("gb18030")
    except UnicodeDecodeError:
        return "也不是 GBK 编码的文字"
    return "看来是 GBK 编码，即记事本的“ANSI”"


@lru_cache(maxsize=1)
def _schema():
    """The pydantic model of the file, built from `Settings`: one table model per section."""
    from pydantic import ConfigDict, Field, create_model

    config = ConfigDict(extra="forbid", strict=True)
    hints = get_type_hints(Settings)
    # [rounds."<name>"], [cities."<code>"]: a table per name, each with its type's keys, all text
    named = {kind: dict[str, create_model(f"Settings_{kind}", __config__=config,  # type: ignore[valid-type]
                                          **{f.name: (str, Field(f.default)) for f in fields(table_type)})]
             for kind, (table_type, *_) in NAMED_TABLES.items()}
    tables: dict[str | None, dict[str, Any]] = {}
    for f in fields(Settings):
        m = f.metadata
        limits = {k: v for k, v in m["limits"].items() if v is not None}
        default = f.default.as_posix() if isinstance(f.default, Path) else f.default
        default = {} if m["kind"] in named else list(default) if isinstance(default, tuple) else default
        kind = named[m["kind"]] if m["kind"] in named else m["kind"] or hints[f.name]
        tables.setdefault(m["section"], {})[m["name"] or f.name] = (kind, Field(default, **limits))
    top = tables.pop(None)
    for section, table in tables.items():
        model = create_model(f"Settings_{section}", __config__=config, **table)
        top[section] = (model, Field(default_factory=model))
    return create_model("SettingsFile", __config__=config, **top)


def _check(raw: dict, path: Path) -> dict:
    from pydantic import ValidationError

    try:
        return _schema().model_validate(raw).model_dump()
    except ValidationError as e:
        raise SettingsError("\n".join(_mistake(err, path, raw) for err in e.errors())) from None


def _table_mistake(err: dict, loc: list[str], path: Path, raw: dict) -> str:
    """A mistake under [rounds."<name>"] or [cities."<code>"]: the table named as the file writes it."""
    kind = loc[0]
    table_type, heading, by, one, each = NAMED_TABLES[kind]
    known = "、".join(f.name for f in fields(table_type))
    if len(loc) == 2 and isinstance(raw.get(kind), dict):
        return (f"设置文件 {path} 中 [{kind}] 下的 {loc[1]} = {_shown(raw[kind].get(loc[1]))} 不是{one}的设置："
                f"{each}写成单独一行 {heading}，下面每行一项（{known}）。")
    if len(loc) < 3:
        return (f"设置文件 {path} 中 {kind} 应是按{by}分节的设置，{each}写成单独一行 "
                f"{heading}，下面每行一项（{known}），不能写成 {kind} = {_shown(raw.get(kind))}。")
    table = raw.get(kind, {}).get(loc[1], {})
    where = f"[{kind}.{_shown(loc[1])}] {loc[2]}"
    value = _shown(table.get(loc[2])) if isinstance(table, dict) else _shown(table)
    if err["type"] == "extra_forbidden":
        return f"设置文件 {path} 中有未知的设置项 {where} = {value}：请检查拼写，{each}可用的设置项有 {known}。"
    return f"设置文件 {path} 中 {where} = {value} 不可用：应为文字，加英文双引号，例如 cutoff = \"2016年12月7日\"。"


def _spec(section: str | None, name: str):
    for f in fields(Settings):
        if f.metadata["section"] == section and (f.metadata["name"] or f.name) == name:
            return f
    return None


def _mistake(err: dict, path: Path, raw: dict) -> str:
    loc = [str(part) for part in err["loc"]]
    if loc[0] in NAMED_TABLES:
        return _table_mistake(err, loc, path, raw)
    sections = {f.metadata["section"] for f in fields(Settings)} - {None}
    section = loc[0] if len(loc) > 1 and loc[0] in sections else None
    name = loc[1] if section else loc[0]
    where = f"[{section}] {name}" if section else name
    value = raw.get(section, {}).get(name) if section else raw.get(name)  # the whole value, not a part of it
    if err["type"] == "extra_forbidden":
        home = next((f.metadata["section"] for f in fields(Settings) if (f.metadata["name"] or f.name) == name), None)
        if section is None and home:
            return f"设置文件 {path} 中 {name} = {_shown(value)} 应写在 [{home}] 一节之下（那一行的下面），而不是文件开头。"
        known = [f.metadata["name"] or f.name for f in fields(Settings) if f.metadata["section"] == section]
        if section is None:
            known += [f"[{s}]" for s in sorted(sections)]
        return (f"设置文件 {path} 中有未知的设置项 {where} = {_shown(value)}：请检查拼写，"
                f"{f'[{section}] 下' if section else '文件开头'}可用的设置项有 {'、'.join(known)}。")
    if section is None and name in sections:
        return f"设置文件 {path} 中 {name} 应是一节设置，写成单独一行 [{name}]，下面每行一项，不能写成 {name} = {_shown(value)}。"
    spec = _spec(section, name)
    expected, example = (_expected(spec), spec.metadata["example"]) if spec else ("", "")
    return (f"设置文件 {path} 中 {where} = {_shown(value)} 不可用：应为{expected}，例如 {example}。" if spec
            else f"设置文件 {path} 中 {'.'.join(loc)} 不可用。")


def _expected(spec) -> str:
    kind = spec.metadata["kind"] or get_type_hints(Settings)[spec.name]
    forms = {str: "文字，加英文双引号", int: "整数，不加引号", float: "数字，不加引号", list[str]: "方括号中的一组文字，每项加英文双引号"}
    text = next((v for k, v in forms.items() if k == kind), "文字，加英文双引号")
    limits = spec.metadata["limits"]
    if limits["ge"] is not None and limits["le"] is not None:
        text = f" {limits['ge']} 到 {limits['le']} 之间的{text}"
    elif limits["ge"] is not None:
        text = f"不小于 {limits['ge']} 的{text}"
    elif limits["gt"] is not None:
        text = f"大于 {limits['gt']} 的{text}"
    return text


def _shown(value: Any) -> str:
    """A value as the file writes it."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{…}"
    return str(value)
