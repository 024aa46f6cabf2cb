"""Rounds, the 回头看 of the campaign's name, as kept in the outbox: finding this round's previous
round, reading its snapshot back (`Previous`), and naming a new snapshot. A problem with a
snapshot comes back as a `SnapshotProblem` with a Chinese message, never a crash."""

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

from ..errors import Fatal
from ..model import Previous
from ..outputs.snapshot import _DTYPES, FORMAT
from ..spec.form import Form
from ..spec.labels import as_written

FILE = "snapshot.json"
FOLDER = "rounds"
STAMP = "%Y%m%d-%H%M%S"
_STAMP = re.compile(r"^\d{8}-\d{6}(?:-\d+)?$")
_BAD_NAME = re.compile(r"[\\/:*?\"<>|\x00-\x1f]")


class SnapshotProblem(Exception):
    """A previous round that cannot be used: the message says why, in Chinese."""


def valid_round_name(name: str) -> bool:
    """A round names a folder: no separators, nothing a file system refuses, not hidden."""
    return bool(name) and name == name.strip() and not name.startswith(".") and not _BAD_NAME.search(name) \
        and len(name) <= 60


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
        places, distinct = pd.factorize(np.asarray([as_written(str(n)) for n in column], dtype=object))
        return pd.Categorical.from_codes(places, distinct)
    places = _unpack(column)
    if len(places) and (places.min() < 0 or places.max() >= len(names)):
        raise ValueError("township names")
    # A round kept before names were read with their full-width brackets matches this round's.
    return pd.Categorical.from_codes(places, names.map(as_written))


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
            sums=sums, townships=townships, scope=dict(doc.get("scope") or {}),
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


def check_round_arguments(name: str, previous: str | None) -> None:
    """ROUND= and PREVIOUS= as `make report` and `make serve` both accept them, else `Fatal`."""

    if previous and not name:
        raise Fatal("指定了上期（PREVIOUS）却没有指定本轮（ROUND）：请同时写明本轮的名称。")
    if name and not valid_round_name(name):
        raise Fatal(f"轮次名称“{name}”不能用作文件夹名：请只用文字、数字和“-”。")
    if name and previous and previous.strip() == name:
        raise Fatal(f"上期（PREVIOUS）与本轮（ROUND）都是“{name}”：一轮不与自身比较。")


def round_plan(name: str, previous: str | None, outbox: Path):
    """This run's round and the previous one read back, with the round's earlier snapshots.
    A round that cannot be named, or a previous round that cannot be found, is `Fatal`; a
    previous snapshot that cannot be used is said in the report, and the run goes on (the
    snapshot is read in `build_run`, beside the returns)."""
    check_round_arguments(name, previous)
    made = datetime.now()
    stamp = new_stamp(outbox, name, made)
    try:
        found = find_previous(outbox, name, stamp, previous)
    except SnapshotProblem as e:
        raise Fatal(str(e)) from None
    return RoundPlan(name, made, stamp, found, _none_before(outbox, name) if found is None else ""), \
        earlier_snapshots(outbox, name)


def _none_before(outbox: Path, name: str) -> str:
    """Why a round with other rounds beside it is compared with none: each was first saved after
    it (rounds made out of order, a clock set wrong). Said, never the first round's silence."""
    base = outbox / FOLDER
    others = sorted(f.name for f in base.iterdir() if f.is_dir() and f.name != name and _snapshots(f)) \
        if base.is_dir() else []
    if not others:
        return ""
    return (f"{FOLDER}/中另有{'、'.join(others)}，但都是在本轮（{name}）之后才第一次保存的，本期不作比较；"
            f"如要与其中一轮比较，请用 PREVIOUS=轮次名称 指定上期。")


@dataclass(frozen=True)
class RoundPlan:
    """This run's round, as the command line found it in the outbox: its name, its snapshot's
    time and folder, and the previous round read back (or why there is none to use)."""

    name: str
    made: datetime
    stamp: str
    previous: Previous | Path | None = None  # a snapshot file is read while the returns are
    problem: str = ""  # the previous round exists but cannot be used: said in the report


def read_previous(path: Path, form: Form, compact: bool = False, scope: dict | None = None) -> tuple[Previous | None, str]:
    """The previous round to compare with, read back from its snapshot file, or None and why it
    cannot be used (damaged, of a newer program, of another form, of another scope: a city's
    round for the province's, or the reverse): decided here alone, for a report run and the
    submission page. compact=True: see load_snapshot."""
    try:
        earlier = load_snapshot(path, compact=compact)
    except SnapshotProblem as e:
        return None, str(e)
    note = same_form(form, earlier) or (same_scope(scope, earlier) if scope else "")
    return (None, note) if note else (earlier, "")


def same_scope(scope: dict, previous: Previous) -> str:
    """Empty when the previous round was the same scope's (the province's, or the same city's);
    else why the two cannot be compared. A snapshot that records none is the province's."""
    theirs = previous.scope or {"level": "province"}
    if theirs.get("level") == scope.get("level") and (scope.get("level") == "province"
                                                       or theirs.get("code") == scope.get("code")):
        return ""

    def said(s: dict) -> str:
        return f"{s.get('name') or s.get('code') or '全省'}的汇总"

    return f"上期（{previous.round}）是{said(theirs)}，本期是{said(scope)}，两者不可比：本期不作比较。"


@dataclass
class RoundWatch:
    """This round's previous round, as `make report ROUND=…` (and PREVIOUS=) would pick it now:
    looked up again at every page view (a listing of rounds/), read again only when another
    snapshot is picked (a round made or re-made since the server started)."""

    outbox: Path
    name: str
    named: str | None = None  # PREVIOUS=
    seen: tuple = ()
    previous: Previous | None = None
    note: str = ""  # why there is no comparison, when there is a previous round that cannot be used

    def check(self, form: Form) -> bool:
        """True when the previous round changed since the last look (or this is the first)."""
        try:
            path = find_previous(self.outbox, self.name, datetime.now().strftime(STAMP), self.named)
            problem = ""
        except SnapshotProblem as e:
            path, problem = None, str(e)
        try:
            identity = (str(path), path.stat().st_mtime_ns, path.stat().st_size) if path else (problem,)
        except OSError:
            identity = (str(path),)
        if identity == self.seen:
            return False
        self.seen, self.previous, self.note = identity, None, problem
        if path is not None:
            self.previous, self.note = read_previous(path, form)
        return True

    def summary(self) -> str:
        if self.previous is not None:
            return (f"本轮：{self.name}；上传的报表即与上期（{self.previous.round}）比较，"
                    "累计数比上期减少的列为需核实。")
        return f"本轮：{self.name}；" + (self.note or "没有更早的一轮，上传时不作比较。")

    def for_counties(self) -> str:
        """The line on a county's page: the comparison, when there is one; why there is none is
        the office's business (and names its folders)."""
        return self.summary() if self.previous is not None else ""


def round_watch(outbox: Path, name: str, previous: str | None) -> RoundWatch | None:
    """With ROUND=, the round the uploads belong to, refused as `make report` refuses it: a name
    that cannot be a folder, PREVIOUS equal to ROUND, or a PREVIOUS that cannot be found."""
    check_round_arguments(name, previous)
    if not name:
        return None
    try:
        find_previous(outbox, name, datetime.now().strftime(STAMP), previous)
    except SnapshotProblem as e:
        raise Fatal(str(e)) from None
    return RoundWatch(outbox, name, previous)
