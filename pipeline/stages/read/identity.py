"""Who sent a return and when: the 填报单位, 行政区划代码 and 填报日期 lines above a table, the
填表人, 审核人 and 联系电话 of its footer, and the county's 上报说明 under it."""

from __future__ import annotations

import re
from functools import lru_cache

from .workbook import Grid

UNIT_LINE = re.compile(r"填报单位[^::]{0,8}[::]\s*(.*?)(?=\s{2,}|行政区划代码|填报日期|单位[::]|$)")
CODE_LINE = re.compile(r"(?:\s*行政区划\s*)?代码[：:]?\s*(\d{6})(?:\.0)?(?!\d)")
DATE_LINE = re.compile(r"填报日期[::]?\s*(.{1,30}?)(?=\s{2,}|$)")  # 2016 年 12 月 5 日 has single spaces
_PEOPLE = ("填表人", "审核人", "联系电话")


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
