"""The submission page's writes to the inbox, its one writer: an accepted return stored under
its unit's name and the time it came, the unit's earlier uploads kept in the hidden
`.versions/<code>/`, and the 上报说明 counties give with an upload. `make report` never writes here.

The page names an upload, checks it and stores it while holding the inbox's lock exclusively
(`claim`): a report run, which lists the inbox under the same lock shared, sees the inbox
before the upload or after it, never the new file beside the old one half moved.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from ..outputs.csvfile import csv_bytes
from ..spec.units import Unit
from .files import SHARED, write_atomic
from .inbox import EXPLANATIONS, VERSIONS, WORKBOOK_SUFFIXES
from .lock import inbox_exclusive

_STAMP = "%Y%m%d-%H%M%S"
_STAGING_PREFIX = ".upload-"


@contextmanager
def claim(inbox: Path) -> Iterator[None]:
    """Hold the inbox for one upload: from naming it to moving the unit's older file away."""
    with inbox_exclusive(inbox):
        yield


def upload_name(unit: Unit, when: datetime, suffix: str) -> str:
    """The name an accepted upload has in the inbox: the unit, then when it came."""
    return f"{unit.code}_{unit.name}_{when.strftime(_STAMP)}{suffix}"


def upload_suffix(filename: str, head: bytes = b"") -> str:
    """The uploaded file's own extension when it is a workbook's and agrees with its content, so
    the office sees what it is and Excel opens it without a warning; anything else is stored (if
    ever) under the extension its content calls for: .xlsx for a zip, .xls for an OLE file."""
    suffix = os.path.splitext(filename or "")[1].lower()
    zipped, ole = head.startswith(b"PK\x03\x04"), head.startswith(b"\xd0\xcf\x11\xe0")
    if suffix in (WORKBOOK_SUFFIXES | {".ods"}) and not head:
        return suffix
    if zipped:
        return suffix if suffix in {".xlsx", ".xlsm", ".xltx", ".ods"} else ".xlsx"
    if ole:
        return suffix if suffix in {".xls", ".et", ".xlt"} else ".xls"
    return suffix if suffix in WORKBOOK_SUFFIXES | {".ods"} else ".xlsx"


_LIVE = re.compile(r"^(\d{6})_.+_\d{8}-\d{6}(?:-\d+)?\.[A-Za-z]+$")


def live_uploads(inbox: Path, unit: Unit) -> list[Path]:
    """The unit's uploads in the inbox (files the page named), not files put there by hand."""
    prefix = f"{unit.code}_{unit.name}_"
    return sorted(p for p in inbox.iterdir()
                  if p.is_file() and p.name.startswith(prefix) and _LIVE.match(p.name))


def inbox_name(inbox: Path, unit: Unit, when: datetime, suffix: str) -> str:
    """The name an upload will have in the inbox, taken before it is checked so that its
    findings name the file the report will read: -2, -3… for another within the same second."""
    name = upload_name(unit, when, suffix)
    target, n = inbox / name, 1
    while target.exists():
        n += 1
        target = inbox / f"{Path(name).stem}-{n}{suffix}"
    return target.name


def store_upload(inbox: Path, unit: Unit, data: bytes, suffix: str, when: datetime, name: str = "") -> Path:
    """Put an accepted return into the inbox, durably and whole (write_atomic), readable by the
    office's other accounts; the unit's earlier uploads move to .versions/<code>/, never
    overwritten. The caller holds `claim(inbox)`."""
    target = inbox / (name or inbox_name(inbox, unit, when, suffix))
    earlier = live_uploads(inbox, unit)
    write_atomic(target, data, mode=SHARED, durable=True, prefix=_STAGING_PREFIX)
    if earlier:
        keep = inbox / VERSIONS / unit.code
        keep.mkdir(parents=True, exist_ok=True)
        for old in earlier:
            dest, k = keep / old.name, 1
            while dest.exists():
                k += 1
                dest = keep / f"{old.stem}-v{k}{old.suffix}"
            os.replace(old, dest)
    return target


def sweep_partial(inbox: Path) -> None:
    """Staging files of an upload cut off by a crash: hidden, so never read, and removed here."""
    for leftover in inbox.glob(f"{_STAGING_PREFIX}*"):
        if leftover.is_file():
            leftover.unlink(missing_ok=True)


def save_explanations(inbox: Path, explanations: dict[str, str]) -> None:
    """The 上报说明 of each file (inbox name → words), kept beside the returns in .versions/, as
    the counties wrote them: this is the page's own notes file, not an output, so no formula
    guard (a report run's outputs guard them)."""
    folder = inbox / VERSIONS
    folder.mkdir(exist_ok=True)
    rows = [[name, note] for name, note in sorted(explanations.items())]
    write_atomic(folder / EXPLANATIONS, csv_bytes(["file", "explanation"], rows, guard=False))


def load_explanations(inbox: Path) -> dict[str, str]:
    path = inbox / VERSIONS / EXPLANATIONS
    if not path.is_file():
        return {}
    with open(path, encoding="utf-8-sig", newline="") as f:
        return {row["file"]: row["explanation"] for row in csv.DictReader(f)}
