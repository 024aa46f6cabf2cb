"""What a file in the inbox is: told by its content (its first bytes); its name only tells a
broken workbook from other junk, and a document or an archive sent beside the returns."""

from __future__ import annotations

import os

WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".et", ".xltx", ".xlt", ".ods"}
# Archives the reader cannot open: a county that sends one has sent nothing readable, which
# is an error against it (unzip, or send a .zip), never a file skipped.
ARCHIVE_SUFFIXES = {".zip", ".rar", ".7z", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".cab", ".arj", ".lzh", ".zipx"}
_ARCHIVE_MAGIC = (b"Rar!\x1a\x07", b"7z\xbc\xaf\x27\x1c")
# Documents that come with returns (a cover letter, a scan): skipped, whatever container their
# format uses (.docx is a zip like .xlsx, .doc an OLE file like .xls).
DOCUMENT_SUFFIXES = {".docx", ".doc", ".docm", ".dotx", ".wps", ".wpt", ".pdf", ".ofd", ".rtf", ".txt", ".md",
                     ".pptx", ".ppt", ".dps", ".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".heic"}
# What Excel, WPS and the system leave beside a workbook while saving it (9F3A21B0.tmp holds a
# whole workbook, perhaps an earlier state of it, and was read as a later return): never sent.
LEFT_BEHIND_SUFFIXES = {".tmp", ".bak", ".wbk", ".~tmp", ".crdownload", ".part", ".download"}
# What an empty inbox may still hold: files the system or Excel leave behind, never a return.
PLACEHOLDERS = {".gitkeep", ".ds_store", "thumbs.db", "desktop.ini"}
# Names under which other systems and offices send a return as text: an HTML page or Excel 2003
# XML saved as .xls, a CSV file (or a CSV renamed .xlsx), an MHTML page. Told apart by content.
TEXT_SUFFIXES = {".xls", ".xlsx", ".et", ".csv", ".htm", ".html", ".mht", ".mhtml", ".xml"}
READABLE = ("xlsx", "xls", "text")  # the kinds whose bytes a run reads
MAX_RETURN_BYTES = 200 * 1024 * 1024  # no county's return is this large: past it, a file is not read
HEAD = 8  # the bytes that tell a file's kind


def classify(name: str, head: bytes) -> str:
    """What a file is, by its content; the name only tells a broken workbook from other junk."""
    lower = name.lower()
    if name.startswith("~$") or name == ".DS_Store" or name.startswith("._") or lower in PLACEHOLDERS:
        return "skip"
    if lower.endswith(".txt") and head.startswith(b"\xff\xfe"):
        # Excel's "Unicode 文本" (UTF-16 with its mark, a tab between cells), a table as a CSV
        # file is: skipped as a letter, the county's figures were lost with a note. A letter is
        # written in the system's code page or UTF-8, without the mark.
        return "text"
    if os.path.splitext(lower)[1] in DOCUMENT_SUFFIXES | LEFT_BEHIND_SUFFIXES:
        return "skip"
    if head.startswith(b"PK\x03\x04"):
        return "zip" if lower.endswith(".zip") else "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    if head.startswith(_ARCHIVE_MAGIC) or os.path.splitext(lower)[1] in ARCHIVE_SUFFIXES:
        return "archive"
    if os.path.splitext(lower)[1] in TEXT_SUFFIXES and _text(head):
        return "text"
    return "broken" if os.path.splitext(lower)[1] in WORKBOOK_SUFFIXES else "skip"


def _text(head: bytes) -> bool:
    """The file's first bytes are text: UTF-16 by its mark, or no NUL byte at all."""
    return head.startswith((b"\xff\xfe", b"\xfe\xff")) or (bool(head) and b"\x00" not in head)
