"""A round's snapshot (rounds/<round>/<time>/snapshot.json): what a run consolidated, as bytes.

Per county its status and file's SHA-256, every township row and 合计 of every sheet, the form's
key, version and field keys; columns packed (little-endian integers, zlib, base64) so that
3,000 returns cost little. Read back by store/rounds.py.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Collection
from datetime import datetime

import numpy as np
import pandas as pd

from ..model import Roster
from ..spec.form import Form
from ..stages.consolidate import Totals

FORMAT = 2


EXCLUDED = "excluded"  # an included county whose rows could not be kept: no later round compares with it


def snapshot_bytes(form: Form, round_name: str, made: datetime, totals: Totals, roster: Roster,
                   among: Collection[str] | None = None, scope: dict | None = None) -> bytes:
    """`among`: the included counties whose rows are kept (default: all); any other included
    county is kept as `excluded` (the runner leaves out a county whose rows raise)."""
    keep = None if among is None else set(among)

    def status(u) -> str:
        return EXCLUDED if keep is not None and u.status == "included" and u.code not in keep else u.status

    counties = {
        u.code: {"status": status(u), "file": u.source.path if u.source else "",
                 "sha256": u.source.sha256 if u.source else ""}
        for u in roster.units
    }
    sheets = {}
    frames = [totals.townships[spec.key] for spec in form.sheets]
    if keep is not None:
        frames = [t[t["code"].isin(list(keep))] for t in frames]
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
    if keep is not None:
        included = included[included.index.isin(list(keep))]
    doc = {
        "format": FORMAT,
        "round": round_name,
        "made": made.isoformat(timespec="seconds"),
        "form": form.identity,
        # whose round it is: the province's, or one city's (a round is compared only with its own kind)
        "scope": scope or {"level": "province", "code": form.region_code, "name": form.region_name},
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
