"""What a previous round costs: the same N synthetic returns (bench.py's), run with no round
(A) and with a round compared with a previous round (B), alternating, each a fresh process,
the read cache warm for both (so that the difference is not lost in reading's noise).

B's previous round is the same counties with every figure a tenth lower (each county grew
since), except that one county in a thousand had one township's figures higher (each fell),
kept as a snapshot: the comparison finds what a real one would, a few falls and jumps.

Usage: python benchmarks/rounds_ab.py [--n 3000] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def child(inbox: str, outbox: str, form_path: str, previous: str) -> None:
    t0 = time.perf_counter()
    import gc
    from dataclasses import replace
    from datetime import datetime

    from pipeline.run.report import build_run
    from pipeline.spec.config import load_settings
    from pipeline.store.outbox import write_outputs
    from pipeline.store.rounds import RoundPlan

    gc.disable()  # as `python -m pipeline report` does: the process ends with the run (cli.report)
    settings = replace(load_settings(), form_path=Path(form_path))
    plan = None
    if previous:  # as the command line makes it: the snapshot is read inside build_run
        plan = RoundPlan("B", datetime.now(), datetime.now().strftime("%Y%m%d-%H%M%S"), Path(previous))
    run = build_run(Path(inbox), settings, cache_dir=Path(outbox) / ".cache", round_plan=plan)
    write_outputs(Path(outbox), run.files, stamp=None)
    print(json.dumps({"total": time.perf_counter() - t0, "compare": run.timings.get("compare", 0.0),
                      "findings": sum(1 for f in run.findings if f.rule.endswith("previous"))}))


def run_child(inbox: Path, outbox: Path, form_path: Path, previous: str) -> dict:
    """One run in a fresh process: its own time, and the processor time it and its helpers
    used (less swayed than wall time by a machine that others are using)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([sys.executable, __file__, "--child", str(inbox), str(outbox), str(form_path), previous],
                         capture_output=True, text=True, cwd=ROOT, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result


def previous_snapshot(inbox: Path, form_path: Path, folder: Path) -> Path:
    """A previous round of the same counties: a tenth lower, one county in a thousand higher."""
    from dataclasses import replace
    from datetime import datetime

    import pandas as pd

    from pipeline.outputs.snapshot import snapshot_bytes
    from pipeline.run.report import build_run
    from pipeline.spec.config import load_settings
    from pipeline.stages.consolidate import Totals

    settings = replace(load_settings(), form_path=Path(form_path))
    run = build_run(inbox, settings, cache_dir=folder / ".cache")
    t = run.totals
    lower = {}
    for key, frame in t.townships.items():
        frame = frame.copy()
        first_of = ~frame["code"].duplicated().to_numpy()
        fell = first_of & frame["code"].map(lambda c: int(c) % 1000 == 7).to_numpy()
        for k in frame.columns[5:]:
            frame[k] = (frame[k] * 9 // 10).astype("Int64")
            frame.loc[fell, k] = frame.loc[fell, k] * 2
        lower[key] = frame
    counties = t.counties.copy()
    for k in run.form.field_keys:
        sums = pd.concat([f.groupby("code")[k].sum() for f in lower.values() if k in f.columns])
        counties[k] = sums.groupby(level=0).sum().reindex(counties.index).astype("Int64")
    previous = Totals(t.province, t.cities, counties, lower, t.rates)
    path = folder / "previous" / "snapshot.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(snapshot_bytes(run.form, "A", datetime.now(), previous, run.roster))
    return path


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:6])
        return 0
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=3000)
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args()
    from bench import WORK, make_inbox

    inbox, form_path = make_inbox(args.n)
    base = WORK / f"rounds-n{args.n}"
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    snapshot = previous_snapshot(inbox, form_path, base)
    out_a, out_b = base / "out-a", base / "out-b"
    run_child(inbox, out_a, form_path, "")  # warm each outbox's read cache
    run_child(inbox, out_b, form_path, str(snapshot))
    from bench import reference_ms

    a, b = [], []
    for _ in range(args.runs):
        reference = reference_ms()  # the machine as it was for this pair (see bench.py)
        a.append(run_child(inbox, out_a, form_path, ""))
        b.append(run_child(inbox, out_b, form_path, str(snapshot)))
        a[-1]["reference"] = b[-1]["reference"] = (reference + reference_ms()) / 2
    ma, mb = statistics.median(r["total"] for r in a), statistics.median(r["total"] for r in b)
    print(f"N={args.n}, medians of {args.runs}, alternating, warm read cache:")
    print(f"  A, no round:                      {ma:.2f} s  {[round(r['total'], 2) for r in a]}")
    print(f"  B, compared with a previous round: {mb:.2f} s  {[round(r['total'], 2) for r in b]}")
    ca, cb = statistics.median(r["cpu"] for r in a), statistics.median(r["cpu"] for r in b)
    print(f"  B - A: {mb - ma:+.2f} s; compare stage alone {statistics.median(r['compare'] for r in b):.3f} s; "
          f"cross-period findings {b[0]['findings']}")
    print(f"  processor time, all processes of a run: A {ca:.2f} s, B {cb:.2f} s, B - A {cb - ca:+.2f} s")
    print(f"  B - A pair by pair: median {statistics.median(pairs(a, b)):+.2f} s {[round(d, 2) for d in pairs(a, b)]}")
    write_section(args.n, args.runs, a, b)
    return 0


def pairs(a: list[dict], b: list[dict]) -> list[float]:
    """Each B run less the A run just before it: the two ran on the same machine, as it was."""
    return [rb["total"] - ra["total"] for ra, rb in zip(a, b)]


def write_section(n: int, runs: int, a: list[dict], b: list[dict]) -> None:
    """This measurement as the section of benchmarks/results.md that `make bench` keeps."""
    import platform
    from datetime import datetime

    from bench import ROUNDS_SECTION

    med = statistics.median
    ma, mb = med(r["total"] for r in a), med(r["total"] for r in b)
    ca, cb = med(r["cpu"] for r in a), med(r["cpu"] for r in b)
    text = "\n".join([
        ROUNDS_SECTION,
        "",
        f"`python benchmarks/rounds_ab.py --n {n} --runs {runs}` on {platform.node() or 'this machine'}, "
        f"{datetime.now():%Y-%m-%d %H:%M}: the same {n:,} synthetic returns run with no round (A) and with a round "
        "compared with a previous round (B), alternating A and B, each a fresh process, read cache warm for both. "
        "The previous round: every figure a tenth lower, one county in a thousand higher (so the comparison "
        f"finds {b[0]['findings']} falls and jumps and sends those counties' workbooks back; unchanged since the "
        "warm-up run, those come from the outbox's cache, as in any re-run).",
        "",
        "| | A, no round | B, with a previous round | B − A |",
        "|---|---|---|---|",
        f"| pipeline, medians of {runs} (s) | {ma:.2f} | {mb:.2f} | {mb - ma:+.2f} |",
        f"| pipeline, B − A pair by pair, median (s) | | | {med(pairs(a, b)):+.2f} |",
        f"| processor time, the run's every process (s) | {ca:.2f} | {cb:.2f} | {cb - ca:+.2f} |",
        f"| compare stage alone (s) | | {med(r['compare'] for r in b):.3f} | |",
        "",
        f"A: {[round(r['total'], 2) for r in a]}; B: {[round(r['total'], 2) for r in b]}; reference loop beside "
        f"each pair (ms): {[round(r['reference'], 1) for r in a]}. Target (#17): B − A at most +0.2 s.",
        "",
    ])
    # Only this section is replaced, and it stays ahead of the submission page's, which
    # bench_serve.py rewrites to the end of the file.
    path = ROOT / "benchmarks" / "results.md"
    old = path.read_text(encoding="utf-8")
    if ROUNDS_SECTION in old:
        start = old.index(ROUNDS_SECTION)
        end = old.find("\n## ", start + 1)
        end = len(old) if end < 0 else end + 1
    else:
        start = end = old.index("## The submission page") if "## The submission page" in old else len(old)
    before, after = old[:start].rstrip("\n"), old[end:].lstrip("\n")
    path.write_text(before + "\n\n" + text + ("\n" + after if after else ""), encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
