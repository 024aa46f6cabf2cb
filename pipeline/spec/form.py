"""The form, loaded from its declaration in `schemas/`. No form knowledge lives in code."""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

from ..errors import Fatal
from ..model import Finding, Severity
from ..paths import SCHEMAS
from .form_check import FormMistake, check_references, check_shape, reader_keys
from .labels import cn_quotes, normalise_label
from .rules import BUILT_IN, KIND_ALIASES, KINDS, Rule

SCHEMAS_DIR = SCHEMAS


@dataclass(frozen=True)
class FieldSpec:
    key: str
    label: str
    group: str = ""
    aliases: tuple[str, ...] = ()
    unit: str = ""
    narrative: str = "full"  # "wan": the narrative writes it in 万 with one decimal
    is_key: bool = False
    sub_aliases: tuple[str, ...] = ()  # other words for the label under its group (已整改数 for 已整改)

    @property
    def full_label(self) -> str:
        """The label a reader understands out of its table: group and sub-label together."""
        return cn_quotes(f"{self.group}{self.label}" if self.group else self.label)


@dataclass(frozen=True)
class ComputedSpec:
    key: str
    label: str
    group: str = ""
    aliases: tuple[str, ...] = ()
    sum: tuple[str, ...] = ()
    sub_aliases: tuple[str, ...] = ()
    rate: tuple[str, str] | None = None  # (numerator key, denominator key), keys of sums or fields

    @property
    def full_label(self) -> str:
        return cn_quotes(f"{self.group}{self.label}" if self.group else self.label)


@dataclass(frozen=True)
class RuleSpec:
    id: str
    field: str
    not_above: str
    message: str = ""  # the name of its wording under [messages], when not its id


@dataclass(frozen=True)
class CoverageSpec:
    id: str
    numerator: str
    denominator: str
    minimum: float
    noun: str


@dataclass(frozen=True)
class AcrossSpec:
    """A rule across rounds (a 跨期审核 rule) checks this round's figures against the previous round's.

    check = "not-below": a cumulative count never falls (county and township);
    check = "hb": the Hidiroglou–Berthelot ratio edit, parameters u, a, c (see compare.py), and
    `few`: with fewer than three counties changed, the ratio (either way) that is out of line all
    the same (0: none)."""

    id: str
    check: str
    fields: tuple[str, ...]  # every count of the sheet when the declaration names none
    u: float = 0.5
    a: float = 0.05
    c: float = 20.0
    few: float = 10.0


@dataclass(frozen=True)
class SheetSpec:
    key: str
    number: str
    label: str
    aliases: tuple[str, ...]
    fields: tuple[FieldSpec, ...]
    computed: tuple[ComputedSpec, ...] = ()
    rules: tuple[RuleSpec, ...] = ()
    coverage: tuple[CoverageSpec, ...] = ()
    unit_line: str = ""
    across: tuple[AcrossSpec, ...] = ()

    @property
    def key_field(self) -> FieldSpec:
        return next(f for f in self.fields if f.is_key)

    @property
    def count_fields(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if not f.is_key)

    def label_of(self, key: str) -> str:
        """The full label of a field or computed column of this sheet, as messages quote it."""
        for f in (*self.fields, *self.computed):
            if f.key == key:
                return f.full_label
        return key


@dataclass(frozen=True)
class RateSpec:
    key: str
    label: str
    numerator: tuple[str, ...]
    denominator: tuple[str, ...]
    style: str  # coverage | share | rectification


@dataclass(frozen=True)
class ReaderSpec:
    """The words by which the reader tells a table's rows apart, and the sheet-name prefixes
    that make a name something else; declared with the form, since another campaign's clerks
    (or another language's office software) write other words."""

    total_words: tuple[str, ...] = ("合计", "总计", "共计", "汇总", "全县", "全市", "全区", "全旗")
    subtotal_words: tuple[str, ...] = ("小计", "小结")
    note_words: tuple[str, ...] = ("注", "说明", "数据来源", "备注")
    # 填报单位: a table pasted under another with its identity line (填报单位：… 填报日期：…) ends the one above.
    footer_words: tuple[str, ...] = ("填表人", "填报人", "审核人", "联系电话", "单位负责人", "负责人", "主要负责人", "制表人",
                                     "统计人", "汇总人", "经办人", "分管领导", "填报单位")
    not_sheet_prefixes: tuple[str, ...] = ("图", "工作")
    # A row labelled with one of these and a colon (其中：贫困乡镇), or the word alone, breaks
    # down the row above it: never added.
    breakdown_words: tuple[str, ...] = ("其中",)
    # A header cell naming a column of villages, beside the township's: its rows are summed
    # into their township.
    village_words: tuple[str, ...] = ("村", "村名", "行政村", "村（社区）", "行政村名称", "村委会")
    # A row labelled so holds another period's figures or a comparison (上年同期, 同比增减): not a
    # township, never added; said when it holds figures (note-with-figures).
    other_period_words: tuple[str, ...] = ("上年", "去年", "上期", "同期", "同比", "增减", "比上年", "上月", "截至上月", "本月新增",
                                            "本期新增", "较上期", "较上月", "较上年", "环比")
    # A row labelled so holds figures worked out from the townships' or kept to check them (平均,
    # 差额, 核对), or a year's (2015年): not a township, never added, and said when it holds
    # figures (note-with-figures), as a note is.
    derived_words: tuple[str, ...] = ("平均", "均值", "差额", "差异", "核对", "校验", "检查")
    # Words in a file's name that say it is the corrected one (永登县修改后.xlsx): when the file
    # chosen by date and time has none and another has, the county is asked which it meant.
    correction_words: tuple[str, ...] = ("修改", "更正", "改正", "最终", "终稿", "定稿")
    # A township row marked as struck out and left in place, in a cell of its own (备注: 作废) or
    # in brackets after its name (东岗镇（作废）): its figures would be added, which the clerk
    # meant not to. A mark is the whole of what the cell (or the bracket) says once punctuation,
    # bracketed asides and `void_fillers` are set aside: 此行作废, 请删除, 重复（已并入城关镇）.
    # A note that says more (已剔除重复, 不计入贫困村, 上期数据已删除) tells how the row was
    # counted, and marks nothing. `void_of_another`: 与城关镇重复, the row another's again.
    void_words: tuple[str, ...] = ("作废", "删除", "删", "重复", "重复填报", "重复录入", "重复统计", "重复上报", "重复计算",
                                   "撤并", "撤销", "不用", "多余", "无效", "不计入", "不统计", "不汇总", "作廢", "刪除", "重複")
    void_fillers: tuple[str, ...] = ("此行", "本行", "该行", "这一行", "此乡镇", "该乡镇", "数据", "數據", "已", "请", "应", "了")
    void_of_another: tuple[str, ...] = ("重复", "重複")
    # A name in the township column ending so is no township's: a village (张家村) or a kind of
    # them (贫困村, 贫困户), a breakdown of the row above written without 其中. Added as a
    # township it counts twice; the clerk is asked (a warning at the name).
    not_township_endings: tuple[str, ...] = ("村", "户", "村委会", "居委会", "社区")
    # ...and a name holding one of these words is a kind of village or household (贫困村数,
    # 贫困人口), never a township's name.
    not_township_words: tuple[str, ...] = ("贫困",)
    # Other words for a unit a count may carry (48人 in a 名 column): (unit, its synonyms).
    unit_synonyms: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # Units no field of the form counts in that a header may name after its label (联户干部数
    # （人次）): such a column holds other figures. The form's own units are known already; a
    # share (%) or a magnitude (万户) is always another unit.
    other_units: tuple[str, ...] = ("人次", "户次", "人", "人口", "口", "户", "名", "元", "万元", "亩", "吨", "天",
                                    "间", "栋", "幢", "座", "所", "套", "平方米", "㎡", "米", "公里", "千米", "公顷", "头",
                                    "只", "辆", "台", "张", "册", "株", "棵", "斤", "公斤", "千克", "小时", "岁")
    # Measure words for a count of anything (个, 件, 次): a header naming one says nothing of what
    # its column counts, whatever the field's own unit (了解意见建议数（个） for 条).
    generic_units: tuple[str, ...] = ("个", "件", "次", "项", "条", "起", "场", "家", "期", "处")
    # Words in brackets after a count's label that make its column other figures than the
    # form's (走访农户数（去年同期）, （计划）, （未走访）, （比上年增减）): the label matched with them
    # dropped as a unit, last year's or a plan's figures were added as this round's.
    qualifier_words: tuple[str, ...] = ("去年", "上年", "前年", "同期", "上月", "上期", "上季", "上次", "计划", "预计",
                                        "目标", "任务", "增减", "增长", "减少", "增加", "比上", "差额", "未", "不含")
    # A city's table names its counties in a column headed so: beside the township column (its
    # counties' tables in one sheet) or instead of it (a summary with counties as rows).
    county_words: tuple[str, ...] = ("县（市、区）", "县市区", "县（区）", "县（市）", "县区", "县区名称", "县名称",
                                     "县名", "单位名称", "单位")

    def units_for(self, unit: str) -> tuple[str, ...]:
        """A count column's unit and the words the form lets stand for it."""
        if not unit:
            return ()
        return (unit, *next((words for u, words in self.unit_synonyms if u == unit), ()))


@dataclass(frozen=True)
class Form:
    key: str
    version: str
    title: str
    units_file: str
    region_name: str
    region_code: str
    unit_noun: str
    city_noun: str
    narrative: str
    name_noise: tuple[str, ...]
    sheets: tuple[SheetSpec, ...]
    rates: tuple[RateSpec, ...]
    messages: dict[str, str]  # [messages] as the form words them (rules' wording overridden)
    fingerprint: str  # changes whenever the declaration changes: part of cache keys
    charts: tuple[dict, ...] = ()
    attention: dict | None = None
    reader: ReaderSpec = ReaderSpec()
    explanation_label: str = ""  # the footer cell where a county explains a figure it was asked to confirm
    rounds: dict | None = None  # [rounds]: whole-return checks across rounds and the 与上期对比 table
    notes: tuple[dict, ...] = ()  # [[notes]]: a 数据说明 line when one sum exceeds another
    office_short: str = "省双联办"  # the office as a county clerk calls it: whom to ask, who marked a workbook
    header_words: tuple[str, ...] = ()  # [tables]: the words a table's column header may break between
    region_level: str = "province"  # whose report: the province's, or one city's (spec/scope.city narrows the form)
    # What each row of a table is, in the rules' wording (每个乡镇只填一行): another campaign's
    # rows are schools or villages.
    row_noun: str = "乡镇"

    @property
    def identity(self) -> dict:
        """What makes two rounds' forms the same form: key, version and field keys (labels and
        punctuation may change between rounds, the figures they name do not)."""
        return {"key": self.key, "version": self.version, "fields": sorted(self.field_keys)}

    @property
    def count_fields(self) -> tuple[FieldSpec, ...]:
        return tuple(f for s in self.sheets for f in s.count_fields)

    @property
    def field_keys(self) -> tuple[str, ...]:
        return tuple(f.key for f in self.count_fields)

    def field(self, key: str) -> FieldSpec:
        for f in self.count_fields:
            if f.key == key:
                return f
        raise KeyError(key)

    def sheet(self, key: str) -> SheetSpec:
        return next(s for s in self.sheets if s.key == key)

    @cached_property
    def rules(self) -> dict[str, Rule]:
        """Every rule a finding of this form can be raised under: the built-in ones and the
        form's own, each with its wording as the form words it."""
        return rules_of(self.sheets, self.messages, self.row_noun)

    def message(self, rule: str, **values: object) -> str:
        known = self.rules.get(rule)
        template = known.wording if known else self.messages.get(rule, rule + "：{detail}")
        return template.format_map(_Blank(values))

    def finding(self, rule: str, *, file: str, county: str = "", sheet: str = "", cell: str = "", field: str = "",
                severity: Severity | None = None, **values: object) -> Finding:
        """A finding under `rule`, its message in the rule's wording; {place} is filled in from
        `sheet` and `cell`. `severity` only for a rule declared with more than one."""
        declared = self.rules[rule]
        if severity is None:
            severity = declared.severity
        elif severity != declared.severity and severity not in declared.also:
            raise ValueError(f"rule {rule} is never {severity}")
        # A message names the field itself ({field_label}): its place says only where.
        values.setdefault("place", self.location(sheet, cell, field, labelled=False))
        return Finding(severity, file, county, sheet, cell, field, rule, declared.wording.format_map(_Blank(values)))

    def location(self, sheet: str, cell: str = "", field: str = "", *, labelled: bool = True) -> str:
        """Where a finding is, as a clerk reads it, in messages, pages and returned workbooks:
        the one place this is written. `表一 第5行 F列（走访农户数）`: the form's table, the row
        and the column, and (`labelled`) the field's label; where the sheet's own name does not
        name its table, that name too, `表一（工作表“Sheet1”）第5行 F列`, so the clerk finds it;
        a sheet the form cannot place is named alone, `工作表“Sheet9”`. findings.csv keeps
        the cell as `F5`."""
        if not sheet:
            return ""
        spec = self.table_of(sheet, field)
        if spec is None:
            where = f"工作表“{sheet}”"
        elif _names_table(sheet, spec):
            where = spec.number or spec.label
        else:
            where = f"{spec.number or spec.label}（工作表“{sheet}”）"
        column, row = _cell_parts(cell)
        if not row:
            return where
        label = spec.label_of(field) if spec is not None and field and _declares(spec, field) else ""
        gap = "" if where.endswith(("）", "”")) else " "
        return f"{where}{gap}第{row}行 {column}列" + (f"（{label}）" if labelled and label else "")

    def table_of(self, sheet: str, field: str = "") -> SheetSpec | None:
        """Which of the form's tables a county's sheet is: the one declaring `field` (when only
        one does), else the one its name names (number, label or alias); None when neither says."""
        owners = [s for s in self.sheets if field and _declares(s, field)]
        if len(owners) == 1:
            return owners[0]
        named = [s for s in self.sheets if _names_table(sheet, s) or _names_label(sheet, s)]
        return named[0] if len(named) == 1 else None


def _rows_named(wording: str, row_noun: str) -> str:
    return wording if row_noun == "乡镇" else wording.replace("乡镇", row_noun)


def office_word(office_short: str) -> str:
    """The office's name without its level: 省双联办 → 双联办, 自治区教育厅 → 教育厅; a city's or
    a county's office is its own name and this (兰州市双联办, 城关区双联办)."""
    word = re.sub(r"^(?:全?省|自治区|区|市|州|盟|地区)", "", office_short)
    return word or office_short


def _declares(spec: SheetSpec, key: str) -> bool:
    return any(f.key == key for f in (*spec.fields, *spec.computed))


_NUMERALS = "零一二三四五六七八九"
_CHINESE_NUMBER = re.compile(r"[零一二三四五六七八九十]+")


def _table_numbers(spec: SheetSpec) -> tuple[str, ...]:
    """The table's number as clerks write it: 表一, and 表1 for it (表十二, 表12)."""
    if not spec.number:
        return ()

    def arabic(m: re.Match) -> str:
        text = m.group()
        if "十" in text:
            tens, _, ones = text.partition("十")
            return str((_NUMERALS.index(tens) if tens else 1) * 10 + (_NUMERALS.index(ones) if ones else 0))
        return "".join(str(_NUMERALS.index(ch)) for ch in text)

    return tuple({normalise_label(spec.number), normalise_label(_CHINESE_NUMBER.sub(arabic, spec.number))})


def _names_table(sheet: str, spec: SheetSpec) -> bool:
    """The sheet's own name carries its table's number (表一走访情况, 表1)."""
    name = normalise_label(sheet)
    return any(n and n in name and not name[name.index(n) + len(n):][:1].isdigit() for n in _table_numbers(spec))


def _names_label(sheet: str, spec: SheetSpec) -> bool:
    name = normalise_label(sheet)
    return any(w and w in name for w in (normalise_label(spec.label), *(normalise_label(a) for a in spec.aliases)))


def _cell_parts(cell: str) -> tuple[str, str]:
    """"F5" → ("F", "5"); ("", "") for anything else."""
    letters = cell.rstrip("0123456789")
    digits = cell[len(letters):]
    if not letters or not digits or not letters.isalpha() or not letters.isascii():
        return "", ""
    return letters.upper(), digits


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def load_form(path: str | Path | None = None) -> Form:
    path = Path(path) if path else SCHEMAS_DIR / "shuanglian-2016.toml"
    raw_bytes = path.read_bytes()
    raw = _parse_form(path, raw_bytes)
    try:
        check_shape(raw, reader_keys(ReaderSpec))
        check_references(raw)
    except FormMistake as e:
        raise Fatal(f"表式文件 {path} 有误：{e}；请改正后再运行（写法见项目自带的 schemas/shuanglian-2016.toml）。") from None
    try:
        return _form(path, raw, raw_bytes)
    except FormMistake as e:
        raise Fatal(f"表式文件 {path} 有误：{e}；请改正后再运行（写法见项目自带的 schemas/shuanglian-2016.toml）。") from None
    except (KeyError, TypeError, ValueError) as e:
        what = f"“{e.args[0]}”" if isinstance(e, KeyError) else f"（{e}）"
        raise Fatal(f"表式文件 {path} 不完整或写法有误：缺少或写错了 {what}；请对照项目自带的 schemas/shuanglian-2016.toml 改正。") from e


def _parse_form(path: Path, raw_bytes: bytes) -> dict:
    """The form's TOML; a mistake in it is one sentence naming the file and the line, since the
    office, not a programmer, edits a new campaign's form."""
    try:
        text = raw_bytes.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Fatal(f"表式文件 {path} 不是 UTF-8 编码：请以 UTF-8 编码另存后再运行。") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        where = re.search(r"line (\d+), column (\d+)", str(e))
        place = f"第{where.group(1)}行第{where.group(2)}列" if where else "某处"
        raise Fatal(f"表式文件 {path} {place}不合 TOML 写法：请改正后再运行。") from None


def _form(path: Path, raw: dict, raw_bytes: bytes) -> Form:
    head = raw["form"]
    sheets = tuple(_sheet(s, raw.get("messages", {})) for s in raw["sheets"])
    rates = tuple(
        RateSpec(r["key"], r["label"], tuple(r["numerator"]), tuple(r["denominator"]), r.get("style", "share"))
        for r in raw.get("rates", [])
    )
    form = Form(
        key=head["key"],
        version=str(head.get("version", "1")),
        title=head["title"],
        units_file=str((path.parent / head["units"]).resolve()),
        region_name=head.get("region_name", "全省"),
        region_code=str(head.get("region_code", "")),
        unit_noun=head.get("unit_noun", "县（市、区）"),
        city_noun=head.get("city_noun", "市（州）"),
        narrative=head.get("narrative", ""),
        name_noise=tuple(head.get("name_noise", [])),
        sheets=sheets,
        rates=rates,
        messages=dict(raw.get("messages", {})),
        fingerprint=hashlib.sha256(raw_bytes).hexdigest()[:16],
        charts=tuple(raw.get("charts", [])),
        attention=raw.get("attention"),
        explanation_label=head.get("explanation_label", ""),
        rounds=raw.get("rounds"),
        # The explanation cell ends a table like 填表人: the reader takes its label as a footer word.
        reader=_reader(raw.get("reader", {}), head.get("explanation_label", "")),
        notes=tuple(raw.get("notes", [])),
        office_short=head.get("office_short", "省双联办"),
        header_words=tuple(raw.get("tables", {}).get("header_words", [])),
        row_noun=head.get("row_noun", "乡镇"),
    )
    _check(form)
    _check_files(form, path)
    return form


def _reader(r: dict, explanation_label: str = "") -> ReaderSpec:
    default = ReaderSpec()
    spec = ReaderSpec(**{k: tuple(r.get(k, getattr(default, k))) for k in ReaderSpec.__dataclass_fields__
                         if k != "unit_synonyms"},
                      unit_synonyms=tuple((unit, tuple(words)) for unit, words in r.get("unit_synonyms", {}).items()))
    if explanation_label and explanation_label not in spec.footer_words:
        spec = ReaderSpec(**{k: getattr(spec, k) for k in ReaderSpec.__dataclass_fields__}
                          | {"footer_words": (*spec.footer_words, explanation_label)})
    return spec


def _sheet(s: dict, messages: dict) -> SheetSpec:
    fields = tuple(
        FieldSpec(
            key=f["key"],
            label=f["label"],
            group=f.get("group", ""),
            aliases=tuple(f.get("aliases", [])),
            unit=f.get("unit", ""),
            narrative=f.get("narrative", "full"),
            is_key=f.get("kind") == "key",
            sub_aliases=tuple(f.get("sub_aliases", [])),
        )
        for f in s["fields"]
    )
    computed = tuple(
        ComputedSpec(
            key=c["key"],
            label=c["label"],
            group=c.get("group", ""),
            aliases=tuple(c.get("aliases", [])),
            sum=tuple(c.get("sum", [])),
            rate=tuple(c["rate"]) if "rate" in c else None,
            sub_aliases=tuple(c.get("sub_aliases", [])),
        )
        for c in s.get("computed", [])
    )
    return SheetSpec(
        key=s["key"],
        number=s.get("number", ""),
        label=s["label"],
        aliases=tuple(s.get("aliases", [])),
        fields=fields,
        computed=computed,
        rules=tuple(
            RuleSpec(r["id"], r["field"], r["not_above"], r.get("message", ""))
            for r in s.get("rules", [])
        ),
        coverage=tuple(
            CoverageSpec(c["id"], c["numerator"], c["denominator"], float(c["minimum"]), c.get("noun", ""))
            for c in s.get("coverage", [])
        ),
        unit_line=s.get("unit_line", ""),
        across=tuple(
            AcrossSpec(a["id"], a["check"], tuple(a.get("fields") or (f["key"] for f in s["fields"] if f.get("kind") != "key")),
                       float(a.get("u", 0.5)), float(a.get("a", 0.05)), float(a.get("c", 20.0)), float(a.get("few", 10.0)))
            for a in s.get("across_rounds", [])
        ),
    )


def _check_files(form: Form, path: Path) -> None:
    """The files the form names exist: its narrative template (under templates/), else one
    Chinese sentence now rather than a failure when the report is written."""
    from ..paths import TEMPLATES

    if form.narrative and not (TEMPLATES / form.narrative).is_file():
        raise Fatal(f"表式文件 {path} 中 narrative = “{form.narrative}” 指向的叙述模板不存在（应在 {TEMPLATES} 中）："
                    "请改正文件名，或删去这一行（报告将只有表格）。")


def _check(form: Form) -> None:
    """A broken declaration is the developer's mistake: fail loudly at load, not mid-run."""
    rules = form.rules
    named = {r.message for s in form.sheets for r in s.rules if r.message}
    unknown = sorted(set(form.messages) - set(rules) - named - set(KINDS) - set(KIND_ALIASES))
    if unknown:
        raise FormMistake(f"[messages] 中的 {'、'.join(unknown)} 不是任何规则的名称（规则及其名称见 README 的规则表）")
    # The fields, rates and wordings each part names were checked as the file was read
    # (form_check.check_references), where the place of a mistake can still be said.


def rules_of(sheets: tuple[SheetSpec, ...], messages: dict[str, str], row_noun: str = "乡镇") -> dict[str, Rule]:
    """The built-in rules and those the sheets declare, worded as `messages` says: a declared
    rule by its id, else by the name its declaration gives, else by its kind's name. The
    built-in wordings name a table's rows as the form does (`row_noun`: 乡镇, 学校)."""
    rules = {rid: replace(rule, wording=messages.get(rid, _rows_named(rule.wording, row_noun)))
             for rid, rule in BUILT_IN.items()}
    declared = [(r.id, "not-above", r.message) for s in sheets for r in s.rules]
    declared += [(c.id, "coverage", "") for s in sheets for c in s.coverage]
    declared += [(a.id, a.check, "") for s in sheets for a in s.across]
    kinds: dict[str, str] = {}
    for rid, kind, named in declared:
        if kinds.setdefault(rid, kind) != kind or rid in BUILT_IN:
            raise FormMistake(f"规则 {rid} 声明了两次，或与程序自带的规则同名：请另取一个 id")
        base = KINDS[kind]
        by_kind = [name for name, k in KIND_ALIASES.items() if k == kind] + [kind]
        wording = next((messages[m] for m in (rid, named, *by_kind) if m and m in messages), base.wording)
        rules[rid] = Rule(rid, base.severity, wording)
    return rules
