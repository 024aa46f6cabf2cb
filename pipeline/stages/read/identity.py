"""Who sent a return and when: the 填报单位, 行政区划代码 and 填报日期 lines above a table, the
填表人, 审核人 and 联系电话 of its footer, and the county's 上报说明 under it."""

from __future__ import annotations

import os
import re
from datetime import date
from functools import lru_cache

from ...spec.dates import as_written_day, parse_filed
from ...spec.units import township_office
from .grid import Grid, cell_ref
from .layout import row_text

UNIT_LINE = re.compile(r"填报单位[^::]{0,8}[::]\s*(.*?)(?=\s{2,}|行政区划代码|填报日期|单位[::]|$)")
CODE_LINE = re.compile(r"(?:\s*行政区划\s*)?代码[：:]?\s*(\d{6})(?:\.0)?(?!\d)")
DATE_LINE = re.compile(r"填报日期[::]?\s*(.{1,30}?)(?=\s{2,}|$)")  # 2016 年 12 月 5 日 has single spaces
_PEOPLE = ("填表人", "审核人", "联系电话")
_SERIAL_ONLY = re.compile(r"^\s*\d{5}(?:\.0+)?\s*$")  # a bare serial number beside the label


def _spaced(label: str) -> str:
    """A label as clerks space it out to fill a cell, such as 填 表 人 or 审　核　人 ; NFKC has made
    the ideographic space a plain one."""
    return r"\s*".join(map(re.escape, label))


PEOPLE_LINES = tuple(
    (label, label[0], re.compile(_spaced(label) + r"\s*[::]\s*(.*?)(?=\s{2,}|" + "|".join(map(_spaced, _PEOPLE)) + "|$)"))
    for label in _PEOPLE
)


def _explained(text: str, label: str) -> str | None:
    """The words after the form's explanation label — 上报说明：… or 上 报 说 明 … — or None when
    the text is not one."""
    m = _label_pattern(label).match(text)
    return m.group(1).strip() if m else None


@lru_cache(maxsize=8)
def _label_pattern(label: str) -> re.Pattern:
    # Either width of colon; the words keep the county's own punctuation.
    return re.compile(r"\s*" + r"\s*".join(map(re.escape, label)) + r"\s*(?:[:：]|$)(.*)", re.S)


def explanation_below(grid: Grid, start: int, label: str) -> str:
    """A county's answer to a warning, from the labelled footer cell below the table (the form
    declares the label, which the reader takes as a footer word): the rest of that cell and
    the cells after it on its row."""
    if not label:
        return ""
    for r in range(start, min(len(grid.rows), start + 8)):
        row = grid.rows[r]
        for c, v in enumerate(row):
            if v.__class__ is str and v and (words := _explained(v, label)) is not None:
                rest = [str(x).strip() for x in row[c + 1:] if x not in ("", None)]
                return "，".join(w for w in [words, *rest] if w)
    return ""


TITLE_LENGTH = 60  # a table's title line; longer lines above a table are notes, not looked at for a name


class Identifying:
    """The identity half of a ReturnReader: the 填报单位, 行政区划代码 and 填报日期 lines above
    each table, the footer's people, and from them the return's county and date. Expects
    `source`, `form`, `units`, `book`, `identity`, `people` and `finding` from the reader."""

    def _collect_identity(self, grid: Grid, rows) -> None:
        for r in rows:
            text = row_text(grid, r)
            if not text:
                continue
            m = "填报单位" in text and UNIT_LINE.search(text)
            if m and m.group(1).strip():
                self.identity["name"].append((grid.name, m.group(1).strip()))
            m = "代码" in text and CODE_LINE.search(text)
            if m:
                self.identity["code"].append((grid.name, m.group(1)))
            m = "填报日期" in text and DATE_LINE.search(text)
            if m:
                self.identity["date"].append((grid.name, m.group(1), (grid, r)))
            elif len(text) <= TITLE_LENGTH:
                self.identity["title"].append((grid.name, text))

    def _collect_people(self, grid: Grid, start: int) -> None:
        for r in range(start, min(len(grid.rows), start + 6)):
            text = row_text(grid, r)
            for label, first, pattern in PEOPLE_LINES:
                m = first in text and pattern.search(text)
                if m and m.group(1).strip() and label not in self.people:
                    self.people[label] = m.group(1).strip()

    def _identify(self, quiet: bool = False) -> str:
        """The return's county: its code, else its 填报单位, else a unit its file's name (or,
        failing that, its folder's) names. `quiet`: no finding is made."""
        by_code = {c for _, c in self.identity["code"] if self.units.by_code(c)}
        by_name = set()
        prefixed: dict[str, tuple[str, str]] = {}  # code → (填报单位 text, the prefix that does not fit)
        township = ""  # a 填报单位 that is a township's office: a township's return
        noise = self.form.name_noise
        for text in dict.fromkeys(text for _, text in self.identity["name"]):  # each sheet repeats it
            code = self.units.match_name(text, noise)
            wrong = self.units.wrong_prefix(text, noise, code) if code else ""
            if not code and (after := self.units.match_after_prefix(text, noise)):
                code, wrong = after
            if not code:
                code = self.units.find_in_office(text, noise)
            if not code and not township and township_office(text):
                township = text
            if code:
                by_name.add(code)
                if wrong:
                    prefixed.setdefault(code, (text, wrong))
        content = by_code | by_name
        stem = _stem(self.source.member or self.source.path)
        from_file = self.units.find_in_filename(stem)
        if quiet:
            return (next(iter(content)) if len(content) == 1 else "" if content
                    else from_file or self._from_folder() or self._by_short_name(stem)[0])
        if len(content) > 1:
            # A return copied from a neighbour's keeps the neighbour's code under its own name:
            # neither is taken on trust. The county the file's name gives hears of it, if either.
            county = from_file if from_file in content else ""
            also = ""
            if by_code and by_name and len(by_code) == len(by_name) == 1:
                (code,), (named,) = by_code, by_name
                detail = (f"行政区划代码是{code}（{self._unit_name(code)}），"
                          f"填报单位却是{self._unit_name(named)}")
                also = "和行政区划代码"
            else:
                detail = f"各表填报单位不一致（{'、'.join(self._unit_name(c) for c in sorted(content))}）"
            self.finding("unit-conflict", county=county, detail=detail, also=also)
            return county
        if township and not content:
            # A township's own return, forwarded under the county's name: never the county's
            # figures, nor in the way of the county's own return. The county hears of it.
            county = from_file or self._from_folder() or self.units.find_in_filename(township) or ""
            self.finding("unit-is-township", county=county, value=township, noun=self.form.unit_noun)
            return ""
        if content:
            code = next(iter(content))
            if len(titled := self._titled(code)) == 1 and code not in titled and not self.source.via:
                # A neighbour's return copied, its 填报单位 changed and its title not: whose figures
                # these are, the clerk knows; the title at least is wrong.
                self.finding("unit-title-differs", value=self._unit_name(next(iter(titled))), unit=self._unit_name(code))
            if code in prefixed:
                text, wrong = prefixed[code]
                self.finding("unit-prefix-mismatch", value=text, detail=wrong, unit=self._unit_name(code))
            if from_file and from_file != code:
                # The file-name county's: should this return be superseded by the content
                # county's own, the finding still tells that county its file held another's figures.
                # Inside a city's workbook the county is the one its sheets (or rows) name.
                named_by = "市州报表中的工作表名" if self.source.via else "文件名"
                self.finding("unit-conflict", county=from_file,
                    detail=f"{named_by}是{self._unit_name(from_file)}，表内填报单位是{self._unit_name(code)}",
                )
            return code
        # A table's title (永登县双联行动“大走访、回头看”活动统计表), when it names one unit.
        titled = self._titled()
        if from_file and len(titled) == 1 and from_file not in titled and not self.source.via:
            # 城关区's return sent as 七里河区.xlsx, with no 填报单位 or code inside: taken on the file's
            # name, it replaced 七里河区's own return and 城关区 was counted twice. As when the
            # 填报单位 says another unit: the title's unit, and the file name's hears of it. (A
            # county's part of a city's workbook is the county its rows or sheets name, under
            # the city's title.)
            (code,) = titled
            self.finding("unit-conflict", county=from_file,
                         detail=f"文件名是{self._unit_name(from_file)}，表的标题是{self._unit_name(code)}")
            return code
        if from_file or (from_file := self._from_folder()):
            return from_file
        short, named = self._by_short_name(stem)
        if short:
            # 七里河.xlsx, 阿克塞/报表.xlsx, nothing inside to say whose: taken, and said, since such
            # a name may be a township's (城关).
            self.finding("unit-from-short-name", value=named, unit=self._unit_name(short))
            return short
        if (two := self.units.filename_says_two(stem)) is not None:
            # 620103_城关区.xlsx with nothing inside to say whose it is: the code once won, silently.
            code, named = two
            self.finding("unit-conflict", detail=f"文件名中的代码是{code}（{self._unit_name(code)}），"
                                                 f"名称却是{self._unit_name(named)}")
            return ""
        if len(titled) == 1:
            return titled.pop()
        written = next((text for _, text in self.identity["name"]), "")
        if written and self.units.names_city(written, self.form.name_noise):
            # A city's own table in the county form (a row per county): "write 填报单位：××县" is no help.
            self.finding("unit-is-city", value=written, noun=self.form.unit_noun, city_noun=self.form.city_noun)
            return ""
        self.finding("unit-unknown", detail=f"（“{written}”不在{self.form.unit_noun}名单中）" if written else "")
        return ""

    def _titled(self, own: str = "") -> set[str]:
        """The units the tables' titles name, each naming one; those naming `own` (the unit the
        content gives) are not searched: a title is searched through every unit's names."""
        texts = dict.fromkeys(text for _, text in self.identity["title"])
        return {self.units.find_in_filename(text) for text in texts
                if not (own and self.units.names_unit(text, own))} - {None}

    def _from_folder(self) -> str:
        return unit_of_folder(self.source.path, self.units)

    def _by_short_name(self, stem: str) -> tuple[str, str]:
        """(the unit, the name as written) a file or, failing it, a folder is named for by the
        unit's name without 区 or 县; ("", "") when none is."""
        for name in (stem, *folders_of(self.source.path)):
            code = self.units.find_by_short_name(name)
            if code:
                return code, name
        return "", ""

    def _unit_name(self, code: str) -> str:
        u = self.units.by_code(code)
        return u.name if u else code

    def _filed_on(self, tables_chosen: bool = True) -> tuple[date | None, tuple[int, int] | None]:
        """The 填报日期 (the first table's that has one), and (month, day) when it was written
        without its year. Tables dated differently are said: the date ranks a county's files.
        Not when no table was chosen (two units' tables in one workbook: their dates differ)."""
        year_less = None
        dated: list[tuple[date, str, tuple]] = []  # (date, sheet, (grid, row) of its line)
        parsed: dict[str, tuple | None] = {}  # each sheet repeats the line: each text read once
        for sheet, text, at in self.identity["date"]:
            if text not in parsed:
                parsed[text] = parse_filed(text, self.book.date1904() if _SERIAL_ONLY.match(text) else False)
            parts = parsed[text]
            if parts and parts[0] is not None:
                dated.append((date(*parts), sheet, at))
            elif parts and year_less is None:
                year_less = parts[1:]
        if dated:
            first, sheet, _ = dated[0]
            other = next((d for d in dated if d[0] != first), None)
            if other is not None and tables_chosen:
                self.finding("date-differs", sheet=other[1], cell=_date_cell(*other[2]), value=as_written_day(other[0]),
                              detail=f"{sheet}的{as_written_day(first)}")
            return first, None
        if year_less is None:
            self.finding("date-missing")
        return None, year_less


def _date_cell(grid: Grid, r: int) -> str:
    """The cell of row `r` that holds the 填报日期 label (the date may be in it or beside it)."""
    row = grid.rows[r]
    c = next((c for c, v in enumerate(row) if v.__class__ is str and "填报日期" in v), 0)
    return cell_ref(r, c)



def folders_of(path: str) -> list[str]:
    """The folders a file sits in, by name without suffix, the nearest first (城关区 for
    城关区/表一.csv, or for the zip it came in: 城关区.zip/表一.csv)."""
    return [_stem(part) for part in reversed(path.replace("\\", "/").split("/")[:-1])]


def unit_of_folder(path: str, units) -> str:
    """A unit a folder the file sits in names, the nearest first; "" when none does."""
    return next((code for name in folders_of(path) if (code := units.find_in_filename(name))), "")


def _stem(name: str) -> str:
    return os.path.splitext(os.path.basename(name))[0]
