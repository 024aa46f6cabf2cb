"""How the form's words are compared with what counties write (whatever the width, spacing,
quotes and brackets), and how its straight quotes print in Chinese."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache


def cn_quotes(text: str) -> str:
    """Straight quotes from the declaration → “”, as printed Chinese uses."""
    out, opening = [], True
    for ch in text:
        if ch == '"':
            out.append("“" if opening else "”")
            opening = not opening
        else:
            out.append(ch)
    return "".join(out)


_FULL_WIDTH_BRACKETS = str.maketrans({"(": "（", ")": "）"})


def as_written(name: str) -> str:
    """A name read from a county's sheet, its brackets as official writing has them: NFKC, which
    the reader compares names in, makes 张乐街道（含原张家乐园社区） ASCII, and the report and
    the messages would show 张乐街道(含原张家乐园社区). Both widths read alike, as before."""
    return name.translate(_FULL_WIDTH_BRACKETS) if "(" in name or ")" in name else name


# Characters that show as nothing, pasted in from web pages and chat: zero-width spaces and
# joiners, direction marks, the word joiner, a byte-order mark, a soft hyphen. A header or a
# name holding one reads as the same words without it.
INVISIBLE = "\u00ad\u200b\u200c\u200d\u200e\u200f\u2060\ufeff"
UNSEEN = re.compile(f"[{INVISIBLE}]+")  # a pattern, which finds none in a few tenths of a microsecond: str.translate takes more

_DROP = re.compile(r"[\s\"'“”‘’「」『』《》〈〉()\[\]【】{}<>:;,.、,。;:!?!?·•\-—_/\\|*#%" + INVISIBLE + "]+")
_UNIT_SUFFIX = re.compile(r"[((]\s*(?!其中)([^()()]{1,6})\s*[))]\s*$")  # （其中贫困户） names a part: kept
# 联户干部数（含省市县乡四级）: a note of what the count takes in, however long, after the label;
# the column is the label's all the same. (其中… in brackets names a part: never dropped.)
_INCLUDES_NOTE = re.compile(r"[((]\s*(?:含|包含|包括|均含|均包括)[^()()]{1,40}[))]\s*$")
# 走访农户数/户, 宣传政策/场次: a unit after a slash. Only a measure word: 已整改/化解 is a label.
_SLASH_UNIT = re.compile(r"\s*[/／]\s*(?:户|个|名|件|人|次|条|项|场次|场|村|所)\s*$")


def _seen(text: str) -> str:
    """A header's text as NFKC has it, without what shows as nothing, stripped."""
    return UNSEEN.sub("", unicodedata.normalize("NFKC", text)).strip()


@lru_cache(maxsize=8192)
def _normalise(s: str) -> str:
    return _DROP.sub("", unicodedata.normalize("NFKC", s)).lower()


def normalise_label(text: object) -> str:
    """Labels compare equal whatever the width, spacing, quotes and brackets the county used."""
    return _normalise(str(text or ""))


@lru_cache(maxsize=8192)
def written_unit(text: str) -> str:
    """The unit a header's label names after it, as written: 走访农户数（户） → 户, 走访农户数/户
    → 户, 占比（%） → %, 走访农户数% → %; "" when it names none. What is in the brackets may be
    no unit at all (行政村数（含社区）): whether it is one is the caller's to say."""
    s = _seen(text)
    m = _UNIT_SUFFIX.search(s)
    if m:
        # 人次，含县乡: the unit comes first, a note may follow; 万 户 is 万户
        return re.sub(r"\s+", "", re.split(r"[,;、]", m.group(1), maxsplit=1)[0])
    m = _SLASH_UNIT.search(s)
    if m:
        return s[m.start():].strip().lstrip("/").strip()
    return "%" if "%" in s or "‰" in s else ""


def label_variants(text: object) -> frozenset[str]:
    """The label as written, and without a trailing unit in brackets: `走访农户数\n（户）`."""
    return _variants(str(text or ""))


@lru_cache(maxsize=8192)
def _variants(text: str) -> frozenset[str]:
    # Header texts repeat across every return, so each distinct one is worked out once.
    s = _seen(text)
    out = {_normalise(s)}
    stripped = _SLASH_UNIT.sub("", _UNIT_SUFFIX.sub("", _INCLUDES_NOTE.sub("", s)))
    if stripped != s:
        out.add(_normalise(stripped))
    out.discard("")
    return frozenset(out)
