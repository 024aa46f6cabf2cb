"""What a clerk reads of a return on the page: each sheet's 合计 as the province will read it,
and what changed since the unit's current return."""

from __future__ import annotations

from dataclasses import dataclass

from ..model import Return
from ..spec.form import Form


@dataclass(frozen=True)
class SheetFigures:
    key: str
    label: str
    figures: tuple[tuple[str, str, str, int | None], ...]  # (field key, label, unit, sum or None)


def figures(form: Form, ret: Return | None) -> tuple[SheetFigures, ...]:
    """Each sheet's 合计 as the province will read it: the sum over the township rows of every
    count; None where a cell of that column could not be read."""
    if ret is None:
        return ()
    out = []
    for spec in form.sheets:
        sheet = ret.sheets.get(spec.key)
        if sheet is None:
            continue
        row = []
        for f in spec.count_fields:
            values = sheet.values.get(f.key, ())
            total = None if any(v is None for v in values) else sum(values)
            row.append((f.key, f.full_label, f.unit, total))
        out.append(SheetFigures(spec.key, f"{spec.number}{spec.label}", tuple(row)))
    return tuple(out)


@dataclass(frozen=True)
class Change:
    sheet: str
    field: str
    old: int | None
    new: int | None


def changes(old: tuple[SheetFigures, ...], new: tuple[SheetFigures, ...]) -> tuple[Change, ...]:
    """Field by field, the figures that differ between the current return and the new one."""
    before = {(s.key, k): v for s in old for k, _, _, v in s.figures}
    out = []
    for s in new:
        for key, label, _, value in s.figures:
            was = before.get((s.key, key))
            if was != value:
                out.append(Change(s.label, label, was, value))
    return tuple(out)
