"""What ROUND= costs an upload on the submission page: two real servers side by side, one
without a round (A) and one comparing with a previous round of the bundled example's 87
returns (B), the same county's return uploaded to each in turn (two versions alternating, so
each upload is checked, compared and written); then 87 units uploading at once to a fresh
server of each kind in turn, until the last answer. Prints the medians; writes nothing.

Usage: python benchmarks/serve_rounds_ab.py [--n 21] [--rounds 2]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_serve import returns, timed  # noqa: E402
from serving import start_server  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=21)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    n = args.n
    work = Path(tempfile.mkdtemp(prefix="serve-rounds-ab-"))
    subprocess.run([sys.executable, "-m", "pipeline", "report", "--inbox", str(ROOT / "examples" / "gansu-2016"),
                    "--outbox", str(work / "b-out"), "--round", "2016-11"], cwd=ROOT, check=True, capture_output=True)
    for side in ("a", "b"):
        (work / f"{side}-in").mkdir()
    a = start_server(work / "a-in", work / "a-out")
    b = start_server(work / "b-in", work / "b-out", "--round", "2016-12")
    try:
        code = "620102"
        good, changed, _ = returns()[code]
        times: dict[str, list[float]] = {"a": [], "b": []}
        for i in range(n):
            data = changed if i % 2 else good
            order = (("a", a), ("b", b)) if i % 2 else (("b", b), ("a", a))
            for side, server in order:
                times[side].append(timed(server.links()[code], f"{code}.xlsx", data, 200))
        ma, mb = (statistics.median(times[s]) * 1000 for s in ("a", "b"))
        print(f"one upload, median of {n}: without a round {ma:.0f} ms, with ROUND= {mb:.0f} ms ({mb - ma:+.0f} ms)")
    finally:
        a.stop()
        b.stop()
    files = returns()
    at_once: dict[str, list[float]] = {"a": [], "b": []}
    for i in range(args.rounds):
        for side in ("ab" if i % 2 else "ba"):
            at_once[side].append(all_at_once(work, side, i, files))
    ma, mb = (statistics.median(at_once[s]) for s in ("a", "b"))
    print(f"87 at once, until the last answer, median of {args.rounds}: without a round {ma:.2f} s, "
          f"with ROUND= {mb:.2f} s ({mb - ma:+.2f} s)")


def all_at_once(work: Path, side: str, i: int, files) -> float:
    inbox = work / f"{side}-in-{i}"
    inbox.mkdir()
    extra = ("--round", "2016-12") if side == "b" else ()
    server = start_server(inbox, work / f"{side}-out", *extra)
    try:
        links = server.links()
        started = time.perf_counter()
        with ThreadPoolExecutor(len(files)) as pool:
            list(pool.map(lambda code: timed(links[code], f"{code}.xlsx", files[code][1], 200), files))
        return time.perf_counter() - started
    finally:
        server.stop()


if __name__ == "__main__":
    main()
