"""The project's own promises: pinned dependencies agree, every Makefile target says what it does."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pins(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;#]+)", line.strip())
        if m:
            out[m.group(1).lower().replace("_", "-")] = m.group(2)
    return out


def test_pyproject_pins_match_the_lock_files():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    locked = pins(ROOT / "requirements.lock") | pins(ROOT / "requirements-dev.lock")
    declared = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    for spec in declared:
        name, version = spec.split("==")
        assert locked.get(name.lower().replace("_", "-")) == version, spec


def test_every_make_target_is_documented():
    text = (ROOT / "Makefile").read_text()
    targets = re.findall(r"^([a-z][a-z-]*):", text, re.M)
    documented = re.findall(r"^([a-z][a-z-]*):.*## ", text, re.M)
    assert targets and set(targets) == set(documented)
