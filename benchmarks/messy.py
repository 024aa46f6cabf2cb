"""Inboxes as offices really fill them, for `make bench`: every return in one of the layouts and
habits the reader's tests build (tests/habits.py VARIANTS: title rows missing, one-row headers,
columns reordered, numbers typed as text, formulas, cover sheets, legacy .xls, .et, …), figures
drawn with a fixed seed so that every return is valid, and files named as clerks name them
(`城关区2016年12月报表.xlsx`, no code), so that finding the unit in a file name is measured as it
is met.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date
from pathlib import Path

from pipeline.outputs.formbook import build_return, workbook_bytes
from pipeline.spec.form import Form
from pipeline.spec.units import Unit

TOWNSHIPS = 15


def valid_figures(form: Form, rng: random.Random, townships: int = TOWNSHIPS) -> list[dict]:
    """Township rows whose every rule holds and every coverage is full, so that no return in a
    bench is rejected or warned about its figures: a bench of the rejection path would mislead."""
    rows = []
    for t in range(townships):
        base = {k: rng.randint(20, 400) for k in form.field_keys}
        for spec in form.sheets:
            for rule in spec.rules:
                base[rule.not_above] = max(base[rule.not_above], base[rule.field])
        for spec in form.sheets:
            for cov in spec.coverage:
                base[cov.numerator] = base[cov.denominator]
        for spec in form.sheets:
            for rule in spec.rules:
                base[rule.field] = min(base[rule.field], base[rule.not_above])
        rows.append({"township": f"第{t + 1}乡"} | base)
    return rows


def clerk_file_name(unit: Unit, rng: random.Random, extension: str) -> str:
    """A name as a clerk gives the file: the unit's name somewhere in it, never its code."""
    name = rng.choice((unit.name, unit.short_name or unit.name))
    pattern = rng.choice((
        "{name}.{ext}",
        "{name}2016年12月报表.{ext}",
        "{city}{name}“大走访、回头看”活动统计表.{ext}",
        "附件2：{name}双联行动统计表（12月{day}日）.{ext}",
        "{name}双联办报送（修改后）.{ext}",
    ))
    return pattern.format(name=name, city=unit.city_name, day=rng.randint(1, 9), ext=extension)


def messy_return(form: Form, unit: Unit, rng: random.Random) -> tuple[str, bytes, list[dict]]:
    """One unit's return in a layout and habit drawn from the tests' table, its file name, and the
    figures it was written from."""
    from tests.habits import VARIANTS, spelled

    _, layout, spell, post, name, _expected = rng.choice(VARIANTS)
    if layout.unit_text:  # the variant names its unit in words: this unit's, as its clerk would
        layout = replace(layout, unit_text=unit.short_name or unit.name)
    rows = valid_figures(form, rng)
    written = spelled(rows, form, spell) if spell else rows
    data = workbook_bytes(build_return(form, unit, written, layout=layout, filed_on=date(2016, 12, rng.randint(1, 6))))
    if post:
        data = post(data)
    extension = (name or "return.xlsx").rsplit(".", 1)[1]
    return clerk_file_name(unit, rng, extension), data, rows


def write_messy_inbox(folder: Path, form: Form, units: list[Unit], seed: int = 7) -> dict[str, int]:
    """Every unit's messy return into `folder`, the same files for the same seed; the sums of
    every count over all of them, which the run's province total must equal."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    sums = dict.fromkeys((f.key for f in form.count_fields), 0)
    for unit in units:
        name, data, rows = messy_return(form, unit, rng)
        for row in rows:
            for key in sums:
                sums[key] += row[key]
        while name in taken:  # two clerks may pick the same words; a folder holds one of each
            name = f"{Path(name).stem}（{unit.city_name}）{Path(name).suffix}"
        taken.add(name)
        (folder / name).write_bytes(data)
    return sums
