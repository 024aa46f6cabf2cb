"""The fixtures every test may ask for: the form, its units and the settings, loaded once."""

from __future__ import annotations

import pytest

from pipeline.spec.config import load_settings
from pipeline.spec.form import load_form
from pipeline.spec.units import load_units


@pytest.fixture(scope="session")
def form():
    return load_form()


@pytest.fixture(scope="session")
def units(form):
    return load_units(form.units_file)


@pytest.fixture(scope="session")
def settings():
    return load_settings()




