"""Shared builders: the form, the units, and returns written into tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.outputs.formbook import Layout, build_return, workbook_bytes
from pipeline.spec.config import ROOT, load_settings
from pipeline.spec.form import load_form
from pipeline.spec.units import load_units

EXAMPLE = ROOT / "examples" / "gansu-2016"


@pytest.fixture(scope="session")
def form():
    return load_form()


@pytest.fixture(scope="session")
def units(form):
    return load_units(form.units_file)


@pytest.fixture(scope="session")
def settings():
    return load_settings()


def clean_rows() -> list[dict]:
    """Three townships with figures that satisfy every rule."""
    base = {
        "villages_total": 12, "villages_visited": 12, "villages_newly_linked": 1,
        "households_total": 3000, "households_visited": 2990, "households_visited_twice": 2900,
        "linking_units": 11, "linking_cadres": 320,
        "precision_found": 20, "precision_fixed": 20, "guarantees_found": 53, "guarantees_fixed": 50,
        "disputes_found": 40, "disputes_fixed": 36,
        "policy_sessions": 140, "opinions_collected": 220, "disputes_resolved": 44,
        "infrastructure_projects": 5, "industry_projects": 4, "training_sessions": 10,
        "practical_matters": 36, "grassroots_orgs": 4, "role_models": 2,
    }
    rows = []
    for i, name in enumerate(["城关镇", "新庄乡", "石岭镇"]):
        rows.append({"township": name} | {k: v + i for k, v in base.items()})
    return rows


def write_return(folder: Path, form, unit, rows=None, name=None, layout=Layout(), **kw) -> Path:
    wb = build_return(form, unit, rows if rows is not None else clean_rows(), layout=layout, **kw)
    path = folder / (name or f"{unit.code}_{unit.name}.xlsx")
    path.write_bytes(workbook_bytes(wb))
    return path
