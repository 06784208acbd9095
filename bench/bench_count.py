"""`make bench`: `wordfreq count` against countwords' `optimized.c`, `wc -w` and a Counter
baseline, same input, same run; then start-up against `python -c pass`.

Input: ../shared/corpus/*.txt concatenated eight times (~37 MB). Every command runs as a
whole process (start-up included) several times; medians are reported, since the
machines are shared and noisy. `optimized.c` (../shared/baselines/) is the single-threaded
C word counter of benhoyt/countwords; `make bench` builds it into bench/data/ with `cc`
when there is one (the row is left out otherwise). Start-up: `wordfreq count` on an empty
file and on /dev/null against the interpreter doing nothing, with the package's bytecode
compiled first (as it is from the second run on; this environment may set
PYTHONDONTWRITEBYTECODE). Then peak RSS of `wordfreq count` on a ~1 GB input.

Targets (issue 10): an empty file counted in under 35 ms; the 37 MB file at least 1.8x
faster than `optimized.c` on 2 cores.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from common import DATA, ROOT, build_input, record, run_child

BASELINE = (
    "import collections, sys\n"
    "text = open(sys.argv[1], encoding='utf-8', errors='replace').read()\n"
    "counts = collections.Counter(text.lower().split())\n"
    "print(counts.most_common(10))\n"
)
#: Built by `make bench` from ../shared/baselines/countwords-optimized.c.
OPTIMIZED = DATA / "optimized"
START_UP_TARGET_MS = 35.0
OPTIMIZED_TARGET = 1.8


def run_once(argv: Sequence[str], stdin: Path | None) -> float:
    """Wall seconds of one whole process, its output discarded."""
    with open(stdin if stdin is not None else os.devnull, "rb") as source:
        start = time.perf_counter()
        subprocess.run(argv, stdin=source, stdout=subprocess.DEVNULL, check=True)
        return time.perf_counter() - start


def interleaved(cases: dict[str, tuple[list[str], Path | None]], runs: int) -> dict[str, float]:
    """Median wall seconds of each case (argv, standard input), the cases taking turns run
    by run, so that a burst of load on the shared machine hits every case alike."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, (argv, stdin) in cases.items():
            times[name].append(run_once(argv, stdin))
    return {name: statistics.median(secs) for name, secs in times.items()}


def start_up(wordfreq: str, runs: int) -> dict[str, float]:
    """Median wall milliseconds of starting a count, against the interpreter alone."""
    compileall.compile_dir(ROOT / "python" / "wordfreq_service", quiet=1)
    empty = DATA / "empty.txt"
    empty.write_bytes(b"")
    cases: dict[str, tuple[list[str], Path | None]] = {
        "`wordfreq count` on an empty file": ([wordfreq, "count", str(empty)], None),
        "`wordfreq count /dev/null`": ([wordfreq, "count", os.devnull], None),
        "`wordfreq count --json` on an empty file (parsed by click)": (
            [wordfreq, "count", "--json", str(empty)],
            None,
        ),
        "`python -c pass`": ([sys.executable, "-c", "pass"], None),
        "`python -S -c pass` (no site)": ([sys.executable, "-S", "-c", "pass"], None),
    }
    return {name: secs * 1000 for name, secs in interleaved(cases, runs).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--start-up-runs", type=int, default=31)
    parser.add_argument("--big-gb", type=float, default=1.0, help="size of the RSS input")
    args = parser.parse_args()

    wordfreq = str(Path(sys.executable).with_name("wordfreq"))
    wc = shutil.which("wc") or "wc"
    data = build_input("corpus-x8.txt", 8)
    mb = data.stat().st_size / 1e6
    cores = len(os.sched_getaffinity(0))
    print(f"input: {data} ({mb:.1f} MB), {args.runs} runs each, medians, {cores} cores")

    cases: dict[str, tuple[list[str], Path | None]] = {
        "wordfreq count": ([wordfreq, "count", str(data)], None),
        "wordfreq count --mode seed": ([wordfreq, "count", "--mode", "seed", str(data)], None),
        # Standard input streams in chunks read ahead on a thread: how every file was
        # counted before Counter.feed_file (one positional-read range per thread).
        "wordfreq count - < FILE (streamed)": ([wordfreq, "count", "-"], data),
        "wc -w": ([wc, "-w", str(data)], None),
    }
    if OPTIMIZED.exists():
        cases["countwords optimized.c"] = ([str(OPTIMIZED)], data)
    else:
        print(f"note: {OPTIMIZED} is missing (no cc?): no optimized.c row")
    cases["python Counter baseline"] = ([sys.executable, "-c", BASELINE, str(data)], None)
    load = os.getloadavg()[0]
    rows = interleaved(cases, args.runs)
    base = rows["python Counter baseline"]
    wcw = rows["wc -w"]
    c_secs = rows.get("countwords optimized.c")
    lines = [
        f"Input: corpus x8, {mb:.1f} MB; whole-process wall time, median of {args.runs} runs "
        "(the commands take turns); "
        f"{cores} cores; load average {load:.1f} when it started (the machine is shared).",
        "",
        "| command | seconds | MB/s | vs Counter baseline | vs wc -w | vs optimized.c |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, secs in rows.items():
        vs_c = f"{c_secs / secs:.2f}x" if c_secs else "-"
        lines.append(
            f"| {name} | {secs:.3f} | {mb / secs:.0f} | {base / secs:.1f}x | "
            f"{wcw / secs:.2f}x | {vs_c} |"
        )
        print(f"{name:36s} {secs:7.3f} s {mb / secs:8.0f} MB/s  vs optimized.c {vs_c}")
    if c_secs:
        ratio = c_secs / rows["wordfreq count"]
        verdict = "met" if ratio >= OPTIMIZED_TARGET else "NOT met"
        lines += [
            "",
            f"`wordfreq count` vs `optimized.c`: {ratio:.2f}x faster (target "
            f">= {OPTIMIZED_TARGET}x on 2 cores: {verdict}).",
        ]

    startup = start_up(wordfreq, args.start_up_runs)
    lines += [
        "",
        f"Start-up: whole-process wall time, median of {args.start_up_runs} runs each; "
        "bytecode compiled.",
        "",
        "| command | ms |",
        "| --- | --- |",
    ]
    for name, ms in startup.items():
        lines.append(f"| {name} | {ms:.1f} |")
        print(f"{name:60s} {ms:6.1f} ms")
    empty_ms = startup["`wordfreq count` on an empty file"]
    verdict = "met" if empty_ms < START_UP_TARGET_MS else "NOT met"
    target = f"target < {START_UP_TARGET_MS:.0f} ms: {verdict}"
    lines += ["", f"Empty file: {empty_ms:.1f} ms ({target})."]

    repeat = max(1, round(args.big_gb * 1e9 / (mb * 1e6 / 8)))
    big = build_input(f"corpus-x{repeat}.txt", repeat)
    secs, rss_kib = run_child([wordfreq, "count", str(big)])
    big_gb = big.stat().st_size / 1e9
    print(f"{big_gb:.2f} GB input: {secs:.2f} s, peak RSS {rss_kib / 1024:.0f} MiB")
    lines += [
        "",
        f"Peak RSS, `wordfreq count` on {big_gb:.2f} GB: {rss_kib / 1024:.0f} MiB "
        f"({secs:.2f} s, {big_gb * 1000 / secs:.0f} MB/s).",
    ]
    big.unlink()
    record("wordfreq count and start-up", lines)
    print("recorded in bench/RESULTS.md")


if __name__ == "__main__":
    main()
