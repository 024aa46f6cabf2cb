"""Rounds, the 回头看 of the campaign's name: each run with a round keeps a snapshot of what it consolidated, and a later
round is compared with it, never by reading old workbooks again.

A snapshot is `rounds/<round>/<time>/snapshot.json` in the outbox: per county its status and
file's SHA-256, and every township row and 合计 of every sheet, with the form's key, version
and field keys. It is written once, with the run's other outputs, and never edited; the newest
snapshot of a round is that round's current one. JSON with a format number, so that later
versions of the tool read it; columns rather than records, so that 3,000 returns cost little:
each county's 合计 as plain numbers, and the township rows' figures, a million at 3,000
returns, each field's column packed (little-endian integers, `"<u2"`, `"<i4"` or `"<i8"` as the
column needs, then zlib, then base64), which writes and reads in a fraction of the time of a
million numbers as JSON text (the file as a whole is not compressed again: its packed columns
would not shrink). A column may also be a plain list of numbers.

Township names (format 2) are written once for the whole file, in `names`, since every sheet
lists the same townships: each sheet's `townships` is then a packed column of places in that
list. A format 1 snapshot, whose sheets list their township names in full, is read as well.

`snapshot_bytes` is pure. Finding and loading a snapshot read the outbox, as `read` reads the
inbox: a problem with it comes back as a `SnapshotProblem` with a message, never a crash.
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from .consolidate import Totals
from .form import Form
from .model import Roster

FORMAT = 2
FILE = "snapshot.json"
FOLDER = "rounds"
STAMP = "%Y%m%d-%H%M%S"
_STAMP = re.compile(r"^\d{8}-\d{6}(?:-\d+)?$")
_BAD_NAME = re.compile(r"[\\/:*?\"<>|\x00-\x1f]")


class SnapshotProblem(Exception):
    """A previous round that cannot be used: the message says why, in Chinese."""


@dataclass(frozen=True)
class Previous:
    """A snapshot read back."""

    round: str
    made: datetime
    path: str
    form: dict  # key, version, fields
    status: dict[str, str]  # county code → included | rejected | missing
    sha256: dict[str, str]
    sums: pd.DataFrame  # index: code of each included county; a column per field key
    townships: dict[str, pd.DataFrame]  # per sheet: code, township, then a column per field


def valid_round_name(name: str) -> bool:
    """A round names a folder: no separators, nothing a file system refuses, not hidden."""
    return bool(name) and name == name.strip() and not name.startswith(".") and not _BAD_NAME.search(name) \
        and len(name) <= 60


def snapshot_bytes(form: Form, round_name: str, made: datetime, totals: Totals, roster: Roster) -> bytes:
    counties = {
        u.code: {"status": u.status, "file": u.source.path if u.source else "",
                 "sha256": u.source.sha256 if u.source else ""}
        for u in roster.units
    }
    sheets = {}
    frames = [totals.townships[spec.key] for spec in form.sheets]
    places, names = pd.factorize(np.concatenate([t["township"].to_numpy(dtype=object) for t in frames]))
    offset = 0
    for spec, t in zip(form.sheets, frames):
        keys = [f.key for f in spec.count_fields]
        codes = t["code"].to_numpy()
        # Rows come county by county (consolidate keeps each return's rows together).
        starts = [0, *(np.flatnonzero(codes[1:] != codes[:-1]) + 1).tolist()] if len(codes) else []
        sheets[spec.key] = {
            "counties": codes[starts].tolist(),
            "sizes": np.diff([*starts, len(codes)]).tolist(),
            "townships": _pack(places[offset:offset + len(t)].astype("<i8")),
            "values": {k: _pack(t[k].to_numpy(dtype="float64", na_value=0).astype("<i8")) for k in keys},
        }
        offset += len(t)
    included = totals.counties[totals.counties["status"] == "included"]
    doc = {
        "format": FORMAT,
        "round": round_name,
        "made": made.isoformat(timespec="seconds"),
        "form": form.identity,
        "names": names.tolist(),
        "counties": counties,
        "sheets": sheets,
        # Each included county's sums (its 合计), so the next round need not add them up again.
        "totals": {"counties": included.index.tolist(),
                   "values": {k: included[k].astype("int64").tolist() for k in form.field_keys}},
    }
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


_DTYPES = ("<u2", "<i4", "<i8")  # the narrowest that holds the column: fewer bytes to compress


def _pack(column: np.ndarray) -> dict:
    top = int(column.max()) if len(column) else 0
    dtype = "<u2" if top < 2**16 and (not len(column) or column.min() >= 0) else "<i4" if top < 2**31 else "<i8"
    data = column.astype(dtype).tobytes()
    return {"dtype": dtype, "zlib_base64": base64.b64encode(zlib.compress(data, 1)).decode("ascii")}


def _unpack(packed, widen: bool = True) -> np.ndarray:
    """A packed column as int64; with widen=False in the dtype it was stored in (see load_snapshot)."""
    if isinstance(packed, list):  # plain numbers: as a person or another tool may write them
        return np.asarray(packed, dtype=np.int64)
    if packed.get("dtype") not in _DTYPES:
        raise ValueError("dtype")
    column = np.frombuffer(zlib.decompress(base64.b64decode(packed["zlib_base64"])), dtype=packed["dtype"])
    return column.astype(np.int64) if widen else column


def _township_column(column, names: pd.Index, version: int) -> pd.Categorical:
    """A sheet's township names: from format 2, places in the file's `names` (packed, or a
    plain list of numbers); from format 1, the names themselves. A place outside the list is
    a damaged snapshot (ValueError)."""
    if version < 2:
        if not isinstance(column, list):
            raise ValueError("townships")
        places, distinct = pd.factorize(np.asarray([str(n) for n in column], dtype=object))
        return pd.Categorical.from_codes(places, distinct)
    places = _unpack(column)
    if len(places) and (places.min() < 0 or places.max() >= len(names)):
        raise ValueError("township names")
    return pd.Categorical.from_codes(places, names)


def snapshot_path(round_name: str, stamp: str) -> str:
    return f"{FOLDER}/{round_name}/{stamp}/{FILE}"


def _snapshots(round_dir: Path) -> list[Path]:
    """A round's snapshot folders, oldest first."""
    if not round_dir.is_dir():
        return []
    return sorted((p for p in round_dir.iterdir() if _STAMP.match(p.name) and (p / FILE).is_file()),
                  key=lambda p: _stamp_key(p.name))


def _stamp_key(name: str) -> tuple[str, int]:
    n = name[16:]
    return (name[:15], int(n) if n else 1)


def earlier_snapshots(outbox: Path, round_name: str) -> list[Path]:
    """Snapshots this round already has: a run that finds some is re-making the round."""
    return _snapshots(outbox / FOLDER / round_name)


def new_stamp(outbox: Path, round_name: str, made: datetime) -> str:
    """The new snapshot's folder name: its time, made unique within the round."""
    stamp, n = made.strftime(STAMP), 1
    taken = {p.name for p in _snapshots(outbox / FOLDER / round_name)}
    name = stamp
    while name in taken or (outbox / FOLDER / round_name / name).exists():
        n += 1
        name = f"{stamp}-{n}"
    return name


def find_previous(outbox: Path, round_name: str, stamp: str, previous: str | None = None) -> Path | None:
    """The snapshot file to compare with, or None for a round with nothing before it.

    By default the latest round whose first snapshot was made before this round's first (the
    new `stamp` when this round has none yet). `previous` names a round under the outbox's
    rounds/, a round folder or a snapshot folder instead. Never this round itself."""
    base = outbox / FOLDER
    if previous:
        path = Path(previous)
        if (path / FILE).is_file():
            found = path / FILE
        elif path.is_file() and path.name == FILE:
            found = path
        elif path.is_dir() and _snapshots(path):
            found = _snapshots(path)[-1] / FILE
        elif valid_round_name(previous) and _snapshots(base / previous):
            found = _snapshots(base / previous)[-1] / FILE
        else:
            raise SnapshotProblem(f"找不到上期“{previous}”的快照：请写轮次名称（{FOLDER}/下的文件夹）或快照所在的文件夹。")
        if _round_of(found) == round_name and found.resolve().parent.parent.parent == base.resolve():
            raise SnapshotProblem(f"上期“{previous}”就是本轮（{round_name}）：一轮不与自身比较。")
        return found
    own = _snapshots(base / round_name)
    # A new round's first snapshot is made after every one on disk; two rounds made within
    # the same second (a stamp's resolution) are told apart by when their files were written.
    first = _made(own[0]) if own else (_stamp_key(stamp), float("inf"))
    best: tuple[tuple, Path] | None = None
    if base.is_dir():
        for folder in base.iterdir():
            if folder.name == round_name or not folder.is_dir():
                continue
            kept = _snapshots(folder)
            if kept and _made(kept[0]) < first and (best is None or _made(kept[0]) > best[0]):
                best = (_made(kept[0]), kept[-1] / FILE)
    return best[1] if best else None


def _made(folder: Path) -> tuple:
    return (_stamp_key(folder.name), (folder / FILE).stat().st_mtime_ns)


def _round_of(snapshot: Path) -> str:
    return snapshot.parent.parent.name


def load_snapshot(path: Path, compact: bool = False) -> Previous:
    """A snapshot read back, or SnapshotProblem when it is damaged or of an unknown format.

    compact=True keeps the township figures in the narrow integers they were stored in, a
    quarter of the bytes, for a snapshot read by another process and sent to this one:
    `widened` then makes them int64, as every other Previous has them."""
    try:
        doc = json.loads(path.read_bytes().decode("utf-8"))
        if not isinstance(doc, dict) or not isinstance(doc.get("format"), int):
            raise ValueError("no format")
        if doc["format"] > FORMAT:
            raise SnapshotProblem(f"上期快照（{path}）由更新版本的程序生成：请升级本程序后再比较。")
        totals = doc["totals"]
        sums = pd.DataFrame({k: np.asarray(v, dtype=np.int64) for k, v in totals["values"].items()},
                            index=pd.Index([str(c) for c in totals["counties"]], name="code"))
        names = pd.Index([str(n) for n in doc.get("names", [])], dtype=object)
        townships = {}
        for key, sheet in doc["sheets"].items():
            sizes = np.asarray(sheet["sizes"], dtype=np.int64)
            counties, distinct = pd.factorize(np.asarray([str(c) for c in sheet["counties"]], dtype=object))
            if len(counties) != len(sizes) or (sizes < 0).any():
                raise ValueError("sizes")
            # Categorical: each name once, so that the snapshot read by another process
            # comes back across the pipe in a fraction of the time of 100,000 strings.
            frame = pd.DataFrame({"code": pd.Categorical.from_codes(np.repeat(counties, sizes), distinct),
                                  "township": _township_column(sheet["townships"], names, doc["format"])}
                                 | {k: _unpack(v, widen=not compact) for k, v in sheet["values"].items()})
            if len(frame) != int(sizes.sum()):
                raise ValueError("sizes")
            townships[key] = frame
        counties = doc["counties"]
        return Previous(
            round=str(doc["round"]), made=datetime.fromisoformat(doc["made"]), path=str(path),
            form={"key": doc["form"]["key"], "version": str(doc["form"]["version"]),
                  "fields": sorted(doc["form"]["fields"])},
            status={str(c): v["status"] for c, v in counties.items()},
            sha256={str(c): v.get("sha256", "") for c, v in counties.items()},
            sums=sums, townships=townships,
        )
    except SnapshotProblem:
        raise
    except (OSError, zlib.error, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise SnapshotProblem(f"上期快照（{path}）已损坏，无法读取（{type(e).__name__}）：本期不作比较。") from e


def widened(previous: Previous) -> Previous:
    """The township figures as int64 (a compact snapshot's, see load_snapshot): arithmetic on
    the narrow integers they were stored in could wrap around."""
    townships = {}
    for key, frame in previous.townships.items():
        narrow = [c for c in frame.columns[2:] if frame[c].dtype != np.int64]
        townships[key] = frame.astype({c: np.int64 for c in narrow}) if narrow else frame
    return replace(previous, townships=townships)


def same_form(form: Form, previous: Previous) -> str:
    """Empty when the two rounds used the same form; else why they cannot be compared."""
    mine = form.identity
    if previous.form == mine:
        return ""
    theirs = previous.form
    if theirs["key"] != mine["key"]:
        why = f"报表“{theirs['key']}”与本期的“{mine['key']}”不是同一张报表"
    elif theirs["version"] != mine["version"]:
        why = f"报表版本由第{theirs['version']}版改为第{mine['version']}版"
    else:
        why = "报表的指标有增减"
    return f"上期（{previous.round}）{why}，两期数据不可比：本期不作比较。"
