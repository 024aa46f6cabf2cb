"""The project's own promises: pinned dependencies agree, every Makefile target says what it does."""

import os
import re
import tomllib
from pathlib import Path

from pipeline.paths import ROOT  # noqa: E402


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


def test_make_help_is_chinese_and_make_passes_config_on():
    import subprocess

    shown = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    lines = shown.strip().splitlines()
    assert lines[0].startswith("用法：make") and "CONFIG=" in lines[0]
    for line in lines[1:]:
        assert re.search(r"[\u4e00-\u9fff]", line.split(None, 2)[2]), line  # what each target does, in Chinese
    for target in ("report", "check", "templates", "example"):
        done = subprocess.run(["make", "-s", target, "CONFIG=/somewhere/设置.toml"], cwd=ROOT, capture_output=True,
                              text=True)
        assert done.returncode != 0 and "找不到设置文件 /somewhere/设置.toml" in done.stderr, (target, done.stderr)


def test_make_has_no_built_in_rules_to_try_on_every_source_file():
    """make report starts the program at once: with its built-in rules make would first look for
    a way to remake each of the hundred source files .compiled depends on (RCS, SCCS, %.o),
    a hundredth of a second on every command."""
    import subprocess

    # as from a shell: under `make test` the flags of the make running the tests (its -r now)
    # would reach this one and hide a Makefile that lost the line
    clean = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    database = subprocess.run(["make", "-p", "-n", "help"], cwd=ROOT, capture_output=True, text=True, env=clean).stdout
    assert "# Implicit Rules" in database
    assert not re.search(r"^%[^:\n]*:.*%", database, re.M), "built-in pattern rules are still in make's database"


def test_readme_says_the_exit_status_make_check_really_has():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "`make check`" in readme and "exits 2" in readme and "`python -m pipeline report --strict` exits 1" in readme


def test_make_bench_keeps_the_sections_measured_apart():
    """make bench writes its own tables and keeps, as they were, what other scripts or a change's
    pairs wrote: the submission page's, a previous round's, and a change's before and after."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench", ROOT / "benchmarks" / "bench.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    text = ("# Benchmark results\n\nold tables\n\n## 87 messy returns, as counties send them\n\nold\n\n"
            "## Before and after a change\n\npairs\n\n## A previous round\n\nrounds\n\n"
            "## The submission page (make bench-serve)\n\npage\n")
    assert bench.kept_sections(text) == ["## Before and after a change\n\npairs", "## A previous round\n\nrounds",
                                         "## The submission page (make bench-serve)\n\npage"]


def test_make_bench_goes_on_without_a_browser(tmp_path, monkeypatch):
    """On a machine without Chromium, make bench still measures and writes the rest: report.html's
    size is given, its load time said not measured, instead of a traceback after minutes of work."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench", ROOT / "benchmarks" / "bench.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    page = tmp_path / "report.html"
    page.write_text("<html></html>", encoding="utf-8")
    monkeypatch.setattr(bench, "chromium", lambda: "")
    measured = bench.html_load(page)
    assert measured["html_load_ms"] is None and measured["html_mb"] > 0
    run = {"reference": 40.0, "wall": 1.0, "total": 1.0, "included": 87}
    result = {"n": 87, "runs": 1, "stage": dict.fromkeys((*bench.STAGES, "import"), 0.1), "total": 1.0, "wall": 1.1,
              "peak_mb": 90, "reader_peak_mb": 60, "included": 87, "pandas_loop": 2.0, "unzip": 0.04,
              "read_vs_floor": 5.0, "engine": 0.02, "rerun": 1.0, "rerun_charted": 1.1, "reference": (40.0, 40.0, 40.0),
              "cold_runs": [run], "reruns": {"not_charted": [run], "charted": [run]}, **measured}
    written = bench.report([result])
    assert "| 87 | 0.00 | — (no Chromium) | — (no Chromium) |" in written
    assert "| 87 | 2.00 | 0.04 | 0.02 | 2.0× faster | 5.0× |" in written  # the engine's own time beside the floor
