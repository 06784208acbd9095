"""`make bench-ngrams`: `wordfreq count --ngrams 2` and `3` against single words on the
37 MB input of `make bench` (../shared/corpus/*.txt concatenated eight times), whole
processes, the cases taking turns run by run, medians.

``--before DIR``: also run single words with the package in DIR (the ``python/``
directory of another checkout, its native core built), to compare N = 1 before and after
the n-gram change in the same run. Every case then runs through the same launcher
(``python -c`` with ``PYTHONPATH``), so that both sides pay the same start-up.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import ROOT, build_input, record

LAUNCH = "from wordfreq_service.cli import main; main()"


def run_once(argv: list[str], package: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(package)}
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, check=True, env=env)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--before", type=Path, default=None)
    args = parser.parse_args()

    data = build_input("corpus-x8.txt", 8)
    mb = data.stat().st_size / 1e6
    here = ROOT / "python"
    count = [sys.executable, "-c", LAUNCH, "count", str(data)]
    cases: dict[str, tuple[list[str], Path]] = {}
    if args.before is not None:
        cases["single words, before (--before)"] = (count, args.before.resolve())
    cases["single words"] = (count, here)
    cases["--ngrams 2"] = ([*count, "--ngrams", "2"], here)
    cases["--ngrams 3"] = ([*count, "--ngrams", "3"], here)
    load = os.getloadavg()[0]
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.runs):
        for name, (argv, package) in cases.items():
            times[name].append(run_once(argv, package))
    end_load = os.getloadavg()[0]
    words = statistics.median(times["single words"])
    lines = [
        f"Input: corpus x8, {mb:.1f} MB; whole-process wall time, median of {args.runs} runs "
        f"(the cases take turns); {len(os.sched_getaffinity(0))} cores; load average "
        f"{load:.1f} at the start, {end_load:.1f} at the end (the machine is shared).",
        "",
        "| command | seconds (median) | min - max | MB/s | vs single words |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, secs in times.items():
        median = statistics.median(secs)
        lines.append(
            f"| `wordfreq count` {name} | {median:.3f} | {min(secs):.3f} - {max(secs):.3f} | "
            f"{mb / median:.0f} | {median / words:.2f}x the time |"
        )
        print(f"{name:36s} {median:7.3f} s {mb / median:6.0f} MB/s {median / words:5.2f}x")
    record("n-grams (`wordfreq count --ngrams N`)", lines)
    print("recorded in bench/RESULTS.md")


if __name__ == "__main__":
    main()
