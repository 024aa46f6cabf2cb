"""The form's words for the rows of a table, and what each row's label makes it: a township, a
合计 or 小计, a 其中 breakdown, a note, the footer, a table's title. Worked out once per text and
form, since every county's return repeats the same labels and names."""

from __future__ import annotations

import re
import unicodedata
from enum import IntEnum
from functools import lru_cache

from ...spec.form import Form, ReaderSpec, SheetSpec
from ...spec.labels import INVISIBLE, normalise_label

COLUMN_CODES = frozenset({"甲", "乙", "丙", "丁"})


class Memo(dict):
    """Answers kept per key, worked out on first asking. Bounded, since county text (names,
    dates) is asked about too."""

    def __init__(self, compute) -> None:
        super().__init__()
        self.compute = compute

    def __missing__(self, key):
        value = self.compute(key)
        if len(self) < 50_000:
            self[key] = value
        return value


def clean_text(v: object) -> str:
    if v is None or v == "":
        return ""
    if type(v) is str:
        return clean_str(v)
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return clean_str(str(v))


@lru_cache(maxsize=16384)
def clean_str(s: str) -> str:
    # A township's name comes back on every sheet of its return: each text is cleaned once.
    # A footnote mark after a name or a total label (草滩街道①, 合计※, 城关镇（注1）) is no part
    # of it, and goes before NFKC would make ① a digit of the name; one that starts a row
    # marks the note explaining it, and becomes ※ , which the row words know as a note.
    if s and (s[-1] in _MARK_ENDS or s[0] in _MARKS):
        s = _FOOTNOTE_AFTER.sub("", s)
        s = _FOOTNOTE_BEFORE.sub("※", s, count=1)
    return _SPACE_OR_UNSEEN.sub("", unicodedata.normalize("NFKC", s))


_SPACE_OR_UNSEEN = re.compile(rf"[\s{INVISIBLE}]+")  # a name read without spaces, nor what shows as nothing
_NEGATIONS = "无不没未非"
_BRACKETED_END = re.compile(r"\([^()]*\)$")  # after NFKC, every bracket is ASCII
_BRACKETED = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|【[^【】]*】")
_BRACKETED_MARKS = re.compile(r"[()\[\]【】]")
_DASHED_END = re.compile(r"[-—_~]+[^-—_~]{1,8}$")
_PUNCTUATION = re.compile(r"[\s,.;:!?、。，；：！？…·'\"“”‘’()\[\]【】<>《》\-—_~]+")  # what parts a note's clauses

# Footnote marks: *, ※, ①…⑳, ❶…❿ and superscript digits (NFKC makes ① and ¹ plain digits).
_MARKS = "*＊※" + "".join(map(chr, range(0x2460, 0x2474))) + "".join(map(chr, range(0x2776, 0x2780))) + "¹²³⁴⁵⁶⁷⁸⁹"
_MARK_ENDS = _MARKS + ")）]】 \u3000"
_MARK_CLASS = "[" + re.escape(_MARKS) + "]"
_FOOTNOTE_AFTER = re.compile(rf"(?:\s*(?:{_MARK_CLASS}|[(（\[【]\s*注\s*\d*\s*[)）\]】]))+\s*$")
_FOOTNOTE_BEFORE = re.compile(rf"^\s*{_MARK_CLASS}+")


# A 序号 typed before a township's name in its own cell (1、城关镇, 3.红岭街道, (2)新庄乡, 一、石岭镇,
# 1 城关镇 with its space gone): no part of the name. Left on, the township listed twice (once
# numbered) was two townships and counted twice, and a round numbered its townships anew
# matched none of the last round's. A name never starts with a digit; 二十里铺镇 has no 、.
_SERIAL = re.compile(r"^(?:\d{1,3}[、.,)\]】:\-]?|\(\d{1,3}\)|[一二三四五六七八九十]{1,3}[、.])(?=[\u4e00-\u9fff])")
SERIAL_STARTS = frozenset("0123456789(一二三四五六七八九十")


def without_serial(name: str) -> str:
    """A township's name without the 序号 a clerk typed before it (cleaned text: clean_str)."""
    if not name or name[0] not in SERIAL_STARTS:
        return name
    stripped = _SERIAL.sub("", name, count=1)
    return stripped or name


def blank(v: object) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


MAX_TOTAL_LABEL = 30  # 全区24个街道（乡镇）合计; a longer line is a sentence, not a row's label


class RowKind(IntEnum):
    """What a row under the header is. The order matters: the kept kinds come first (townships,
    合计, 小计, 其中 breakdowns, a township's village rows, and figures without a township's
    name, kept to be named in a finding), so that `kind <= KEYLESS` tells a kept row in the
    hot loop."""

    TOWNSHIP = 0
    TOTAL = 1
    SUBTOTAL = 2
    BREAKDOWN = 3
    VILLAGE = 4
    KEYLESS = 5
    TEXT_ONLY = 6
    TITLE = 7  # a table's title (表二 …统计表): another table's ends this one
    NOTE = 8
    FOOTER = 9
    EMPTY = 10


class RowWords:
    """The form's words for rows that are not townships, and each key text's kind, worked
    out once: a township's name comes back in every return."""

    def __init__(self, reader: ReaderSpec, sheets: tuple[SheetSpec, ...] = ()) -> None:
        # Casefolded: Total, TOTAL and total are one word.
        self.total = tuple(clean_str(w).casefold() for w in reader.total_words if w.strip())
        self.subtotal = tuple(clean_str(w).casefold() for w in reader.subtotal_words if w.strip())
        notes = "|".join(re.escape(clean_str(w)) for w in sorted(reader.note_words, key=len, reverse=True) if w.strip())
        footers = "|".join(re.escape(clean_str(w)) for w in sorted(reader.footer_words, key=len, reverse=True)
                           if w.strip())
        colon = "|".join(re.escape(clean_str(w)) for w in reader.breakdown_words if clean_str(w).endswith(":")) or "(?!)"
        parts = "|".join(re.escape(clean_str(w)) for w in sorted(reader.breakdown_words, key=len, reverse=True)
                         if w.strip())
        # NFKC has made the full-width colon an ASCII one; 注1: and 注：both start a note.
        # 备注 or 说明 alone labels a row of notes as well
        self.note = re.compile(rf"^(?:{notes})(?:[\d.、]*:|$)") if notes else None
        self.footer = re.compile(rf"^(?:{footers})") if footers else None
        periods = "|".join(re.escape(clean_str(w)) for w in sorted(reader.other_period_words, key=len, reverse=True)
                           if w.strip())
        self.other_period = re.compile(rf"^(?:{periods})") if periods else None
        derived = "|".join(re.escape(clean_str(w)) for w in sorted(reader.derived_words, key=len, reverse=True) if w.strip())
        self.derived = re.compile(rf"^(?:{derived})") if derived else None
        # 其中：贫困乡镇, 其中 alone, and 其中贫困乡镇 or 其中，贫困村 as clerks also write it: no
        # township's name starts with 其中, and added as one the row would count its part twice.
        # A name that merely starts with 其 is a name.
        self.breakdown = re.compile(rf"^(?:{parts})") if parts else None
        # ...and written as the form writes it: the word alone, or a colon (a comma) after it.
        # A word declared with its colon (内：, which without one begins township names: 内官营镇)
        # is marked by being there.
        self.breakdown_marked = re.compile(rf"^(?:(?:{parts})(?:[:,、]|$)|{colon})") if parts else None
        self.titles = TableTitles(sheets, reader.not_sheet_prefixes)
        self.kind = Memo(self._kind)
        units = {u for spec in sheets for f in spec.count_fields if f.unit for u in reader.units_for(f.unit)}
        self.known_units = frozenset(units | set(reader.other_units))  # layout.known_units
        self._void_words = frozenset(clean_str(w) for w in reader.void_words if w.strip())
        fillers = sorted((clean_str(w) for w in reader.void_fillers if w.strip()), key=len, reverse=True)
        self._void_fillers = re.compile("|".join(map(re.escape, fillers))) if fillers else None
        self._of_another = tuple(clean_str(w) for w in reader.void_of_another if w.strip()) or ("\0",)
        self.void = Memo(self._void)
        self.void_in_name = Memo(self._void_in_name)
        self._not_township = tuple(clean_str(w) for w in reader.not_township_endings if w.strip())
        self._not_township_words = tuple(clean_str(w) for w in reader.not_township_words if w.strip())
        self.not_township = Memo(self._ending_not_a_townships)
        # A name with a struck-out mark or named as no township's: "" for most, asked once each
        self.odd_name = Memo(lambda name: bool(name) and bool(self.void_in_name[name] or self.not_township[name]))

    def _ending_not_a_townships(self, name: str) -> str:
        """The ending (村, 户) or word (贫困) that says a name in the township column is no
        township's, or "". Brackets, punctuation and a count's 数 after the name are no part of
        it: 贫困村（12个）, 贫困村：, 贫困户数."""
        bare = _PUNCTUATION.sub("", _BRACKETED_END.sub("", name)).removesuffix("数")
        word = next((w for w in self._not_township_words if w in bare), "")
        if word:
            return f"含“{word}”"
        ending = next((w for w in self._not_township if bare.endswith(w)), "")
        return f"以“{ending}”结尾" if ending else ""

    def _void(self, text: str) -> str:
        """A cleaned cell's text when it marks its row struck out, else "": the whole of it, each
        of its clauses, is a mark once bracketed asides and fillers are set aside (此行作废,
        重复填报，不计入, 重复（已并入城关镇）); 已剔除重复 and 第二轮走访，不计入第一轮, notes on how
        the row was counted, mark nothing; 与城关镇重复 says the row is another's again."""
        clauses = [c for c in _PUNCTUATION.split(_BRACKETED.sub("", text) or _BRACKETED_MARKS.sub("", text)) if c]
        if not clauses:
            return ""
        if self._void_fillers is not None:
            clauses = [self._void_fillers.sub("", c) or c for c in clauses]
        if all(c in self._void_words for c in clauses):
            return text
        plain = "".join(clauses)
        if (plain.startswith("与") and 2 < len(plain) <= 24 and plain.endswith(self._of_another)
                and not any(no in plain for no in _NEGATIONS)):  # 与上年相比无重复 says the opposite
            return text
        return ""

    def _void_in_name(self, name: str) -> str:
        """The mark in brackets after (or before) a township's name, or after a dash: 东岗镇（作废）,
        【作废】东岗镇, 东岗镇-重复; "" for a name with none, or with a note there (（含原泉祥乡）)."""
        for part in (*_BRACKETED.findall(name), *_DASHED_END.findall(name)):
            mark = self._void(part.strip("()[]【】-—_~ "))
            if mark:
                return mark
        return ""

    def _kind(self, text: str) -> int:
        if not text:
            return RowKind.EMPTY
        if text in COLUMN_CODES:
            return RowKind.EMPTY
        if self.breakdown and self.breakdown.match(text):
            return RowKind.BREAKDOWN
        # A note first: 注：以上为各乡镇合计 ends in a total word.
        if self.note and self.note.match(text) or text[0] == "※":  # ※ : a footnote mark (clean_str)
            return RowKind.NOTE
        if self.footer and self.footer.match(text):  # 汇总人：… starts with a total word
            return RowKind.FOOTER
        if self.other_period and self.other_period.match(text):
            return RowKind.EMPTY  # 上年同期: another period's figures, never the county's, nothing to say
        # 合计, 全县合计, 全区24个街道（乡镇）合计, 合计：24个街道, 全区24个街道: a label that is, starts
        # with or ends in a total word (a label with none, whose figures are the others' sum, is
        # still found: township-is-total). A subtotal is checked first, so that 小计 never counts as
        # the county's 合计 whatever the words declared.
        label = _bare_label(text)
        if self.subtotal and (label in self.subtotal or (len(label) <= 12 and label.endswith(self.subtotal))):
            return RowKind.SUBTOTAL
        if self.total and (label in self.total or (len(label) <= MAX_TOTAL_LABEL and (
                label.endswith(self.total) or label.startswith(self.total)))):
            return RowKind.TOTAL
        if self.titles.of[text]:
            return RowKind.TITLE
        if self.derived and self.derived.match(text) or _A_YEAR.match(label):
            return RowKind.NOTE  # 平均, 核对, 2015年: not the county's townships; said when it holds figures
        return RowKind.TOWNSHIP

    def is_total_label(self, label: str) -> bool:
        """A label that is a total word, or ends in one after a name (城关区合计)."""
        label = _bare_label(label)
        return label in self.total or label.endswith(self.total)

    def is_whole_total(self, label: str) -> bool:
        """A total label that names no part of the unit: a total word alone or first (合计,
        全县乡镇合计, 合计：24个街道), not a part's name before one (川区合计)."""
        label = _bare_label(label)
        return label in self.total or label.startswith(self.total)


_A_YEAR = re.compile(r"^(?:19|20)\d{2}年")  # 2015年: a year's row, whatever follows (a total was found first)


# What ends a table's title: 走访情况统计表, …情况表, …汇总表.
_TITLE_ENDS = ("统计表", "情况表", "汇总表", "一览表", "报表", "登记表")
_NUMERALS = frozenset("0123456789〇零一二三四五六七八九十")


class TableTitles:
    """Which of the form's tables a text is the title of (表一 城关区…走访情况统计表): the sheet
    key, or "" when it names none or more than one. A title names its table's number (表一, or
    an alias such as 表1) with its label or at its start, or its label with a title's ending."""

    def __init__(self, sheets: tuple[SheetSpec, ...], not_after: tuple[str, ...]) -> None:
        self.marks = []
        for spec in sheets:
            names = [normalise_label(x) for x in (spec.number, spec.label, *spec.aliases) if x]
            numbers = tuple(n for n in names if re.fullmatch(r"(?:附?表)[0-9〇零一二三四五六七八九十]+", n))
            labels = tuple(n for n in names if n not in numbers)
            self.marks.append((spec.key, numbers, labels))
        self.not_after = tuple(normalise_label(p) for p in not_after if p)
        self.of = Memo(self._title_of)

    def _title_of(self, text: str) -> str:
        norm = normalise_label(text)
        if not 2 <= len(norm) <= 80:
            return ""
        found, by_number = [], []
        for key, numbers, labels in self.marks:
            numbered = any(self._numbered(n, norm) for n in numbers)
            labelled = any(label in norm for label in labels)
            if (numbered and (labelled or norm.startswith(numbers))) or (labelled and norm.endswith(_TITLE_ENDS)):
                found.append(key)
                if numbered:
                    by_number.append(key)
        if len(found) == 1:
            return found[0]
        # 附表2 …校舍安全排查经费投入统计表: 附表1's alias (校舍安全排查) is in it too; the number says.
        return by_number[0] if len(by_number) == 1 else ""

    def _numbered(self, number: str, text: str) -> bool:
        """表一 in the text, not as part of 表十一 or 表12, nor after 图 (图表1 is a chart)."""
        start = text.find(number)
        while start >= 0:
            end = start + len(number)
            if (end >= len(text) or text[end] not in _NUMERALS) and not (self.not_after and
                                                                         text[:start].endswith(self.not_after)):
                return True
            start = text.find(number, start + 1)
        return False


# What clerks put after a total word: a colon (合计：), a unit in brackets (合计（万户）), or both.
# NFKC has already made the full-width forms ASCII.
_LABEL_TAIL = re.compile(r"(?:[:]|\([^()]*\))+$")


def _bare_label(text: str) -> str:
    """A row label as a total word would be written alone: 合计（户）： → 合计 and TOTAL → total."""
    return _LABEL_TAIL.sub("", text).casefold()


_WORDS: dict[int, tuple[Form, RowWords]] = {}


def row_words(form: Form) -> RowWords:
    entry = _WORDS.get(id(form))
    if entry is None or entry[0] is not form:
        if len(_WORDS) > 64:
            _WORDS.clear()
        entry = _WORDS[id(form)] = (form, RowWords(form.reader, form.sheets))
    return entry[1]
