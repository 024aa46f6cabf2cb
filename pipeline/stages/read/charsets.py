"""The text of a file exported as text (an HTML or XML ".xls", CSV): by its byte-order mark,
else by the charset it declares, else UTF-8, else GB18030 (GBK's superset)."""

from __future__ import annotations

import codecs
import re

from .grid import Unreadable

_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
# What the charsets Chinese pages declare are a subset of: GB18030 reads them all.
_WIDER = {"gb2312": "gb18030", "gbk": "gb18030", "gb_2312-80": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030",
          "euc-cn": "gb18030", "utf8": "utf-8", "us-ascii": "utf-8", "ascii": "utf-8", "iso-8859-1": "gb18030",
          # A Western charset a web system declares by default, over Chinese text: as if none were
          # declared (UTF-8, else GB18030). Read as declared, the townships' names were mojibake.
          "windows-1252": "utf-8", "cp1252": "utf-8", "latin1": "utf-8", "latin-1": "utf-8", "iso-8859-15": "utf-8"}
_DECLARED = re.compile(rb"""(?:charset|encoding)\s*=\s*["']?([A-Za-z0-9_\-]+)""", re.I)


def looks_like_text(head: bytes) -> bool:
    """The first bytes of a file are text (no NUL outside UTF-16): what this module may read."""
    return head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or (bool(head) and b"\x00" not in head)


def decode(data: bytes, declared: str = "") -> str:
    """The file's text: by its byte-order mark, else by the charset it declares, else UTF-8,
    else GB18030. Unreadable when none of them reads it whole."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError as e:
                raise Unreadable("unreadable", "文本编码无法识别") from e
    tried = []
    if declared:
        tried.append(_WIDER.get(declared.lower(), declared.lower()))
    tried += ["utf-8", "gb18030"]
    for codec in dict.fromkeys(tried):
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    raise Unreadable("unreadable", "文本编码无法识别")


def declared_charset(data: bytes) -> str:
    """The charset a page or XML file declares in its first bytes ("" when none)."""
    m = _DECLARED.search(data[:4096])
    return m.group(1).decode("ascii") if m else ""
