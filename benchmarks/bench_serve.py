"""make bench-serve: the submission page as counties feel it, against the real server.

(1) One county uploading: the time from sending its return to the whole answer, median of
many uploads, each a real change (two versions in turn, so each is checked and written into
the inbox), and the same for a return refused for an error. (2) All 87 units uploading at
once, each its own return: the time until the last answer, and the slowest single answer;
a fresh server and inbox each round. The returns are the bundled example's (15 townships or
so each). Writes its own section of benchmarks/results.md, which `make bench` keeps.

Usage: python benchmarks/bench_serve.py [--single 21] [--rounds 3]
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench import reference_ms  # noqa: E402
from serving import start_server, upload  # noqa: E402

from pipeline.outputs.example import example_returns  # noqa: E402
from pipeline.outputs.formbook import build_return, workbook_bytes  # noqa: E402
from pipeline.spec.form import load_form  # noqa: E402
from pipeline.spec.units import load_units  # noqa: E402

SECTION = "## The submission page (make bench-serve)"
RESULTS = ROOT / "benchmarks" / "results.md"


def returns() -> dict[str, tuple[bytes, bytes, bytes]]:
    """Per unit: its example return, the same with one figure changed, and one with an error."""
    form = load_form()
    units = load_units(form.units_file)
    out = {}
    for unit, rows, filed in example_returns(form, units, ROOT / "scripts" / "township-counts-gansu-2016.csv"):
        changed = [dict(r) for r in rows]
        changed[0]["policy_sessions"] += 1
        wrong = [dict(r) for r in rows]
        wrong[0]["villages_visited"] = wrong[0]["villages_total"] + 1
        out[unit.code] = tuple(workbook_bytes(build_return(form, unit, r, filed_on=filed)) for r in (rows, changed, wrong))
    return out


def timed(url: str, name: str, data: bytes, expect: int) -> float:
    t = time.perf_counter()
    answer = upload(url, name, data, timeout=120)
    elapsed = time.perf_counter() - t
    if answer.status != expect:
        raise SystemExit(f"{name}: expected {expect}, got {answer.status}: {answer.body[:300]!r}")
    return elapsed


def single(files, n: int) -> tuple[list[float], list[float]]:
    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    (work / "inbox").mkdir()
    # One unit uploads again and again here: the page's pause between a unit's uploads is off.
    server = start_server(work / "inbox", work / "outbox", upload_interval_seconds=0)
    try:
        code = "620102"
        url = server.links()[code]
        good, changed, wrong = files[code]
        accepted, refused = [], []
        for i in range(n):  # accepted and refused in turn, so both see the same machine
            accepted.append(timed(url, f"{code}.xlsx", changed if i % 2 else good, 200))
            refused.append(timed(url, f"{code}.xlsx", wrong, 422))
        return accepted, refused
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


def together(files) -> tuple[float, float]:
    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    (work / "inbox").mkdir()
    server = start_server(work / "inbox", work / "outbox")
    try:
        links = server.links()
        start = threading.Barrier(len(files) + 1)

        def send(code: str) -> float:
            start.wait()
            return timed(links[code], f"{code}.xlsx", files[code][0], 200)

        with ThreadPoolExecutor(len(files)) as pool:
            futures = [pool.submit(send, code) for code in files]
            start.wait()
            t = time.perf_counter()
            each = [f.result() for f in futures]
            total = time.perf_counter() - t
        stored = [p for p in (work / "inbox").iterdir() if not p.name.startswith(".")]
        if len(stored) != len(files):
            raise SystemExit(f"{len(stored)} returns in the inbox, not {len(files)}")
        return total, max(each)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


def section(accepted, refused, rounds, references) -> str:
    med = statistics.median
    lines = [
        SECTION,
        "",
        f"`make bench-serve` on {platform.node()}: 2 cores, Python {platform.python_version()}, "
        f"{datetime.now():%Y-%m-%d %H:%M}. The real server (`python -m pipeline serve`) on 127.0.0.1; "
        "the bundled example's returns; time from sending a return to the whole answer (JSON), as a county waits.",
        "",
        "| what | median (s) | min–max (s) | runs |",
        "|---|---|---|---|",
        f"| one upload, accepted and written into the inbox | {med(accepted):.3f} | "
        f"{min(accepted):.3f}–{max(accepted):.3f} | {len(accepted)} |",
        f"| one upload, refused with its finding | {med(refused):.3f} | {min(refused):.3f}–{max(refused):.3f} | {len(refused)} |",
        f"| 87 units at once: until the last answer | {med([r[0] for r in rounds]):.2f} | "
        f"{min(r[0] for r in rounds):.2f}–{max(r[0] for r in rounds):.2f} | {len(rounds)} |",
        f"| 87 units at once: the slowest single answer | {med([r[1] for r in rounds]):.2f} | "
        f"{min(r[1] for r in rounds):.2f}–{max(r[1] for r in rounds):.2f} | {len(rounds)} |",
        "",
        f"Targets: one upload within 0.2 s (median); 87 at once all answered within 5 s. Reference loop (ms): "
        f"median {med(references):.0f} [{min(references):.0f}–{max(references):.0f}] (see above: higher is a busier machine). "
        "Checks run in the page's warm worker process, one batch at a time: uploads that arrive while one is "
        "checked are read and validated together next, while the event loop keeps taking them.",
    ]
    return "\n".join(lines) + "\n"


def write_section(text: str) -> None:
    old = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    head = old.split("\n" + SECTION, 1)[0].rstrip("\n")
    RESULTS.write_text(head + "\n\n" + text, encoding="utf-8")


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--single", type=int, default=21)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args()
    files = returns()
    references = [reference_ms()]
    accepted, refused = single(files, args.single)
    references.append(reference_ms())
    rounds = []
    for _ in range(args.rounds):
        rounds.append(together(files))
        references.append(reference_ms())
        print(f"87 at once: {rounds[-1][0]:.2f} s, slowest answer {rounds[-1][1]:.2f} s", flush=True)
    text = section(accepted, refused, rounds, references)
    print(text)
    if not args.no_write:
        write_section(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
