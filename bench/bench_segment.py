"""`make bench-segment`: words-mode throughput of the core before and after the
segmentation of the scripts written without spaces (README "Every script").

English: ../shared/corpus/*.txt concatenated four times (~18 MB), counted by the core
built from the base commit (`--before`: `make bench-segment` builds it from SEGMENT_BASE,
by default the commit before the segmentation landed, and passes it) and by this core,
the two taking turns run by run; the issue allows the English throughput at most 3 %
below the core before. Chinese: bench/zh.txt's real sentences (see its header) repeated
in a seeded random order to ~16 MB, by this core (and by the core before, which counts
whole clauses as words, for scale).

Each measurement is a fresh process that loads one core, then times `--passes` rounds
(English; Chinese: one) of a new `Counter("words", threads=1)` fed the file in 1 MiB
chunks and `counts()` (start-up left out), so that one English run lasts seconds, not a
tenth of one: one thread, so that the figure is the tokenizer's, not the scheduler's.
Medians of `--runs` runs; the English verdict is the median of the runs' paired
after/before ratios (each pair measured back to back), with their spread.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
from pathlib import Path

from common import DATA, ROOT, build_input, record

AFTER = next((ROOT / "python" / "wordfreq_service").glob("_core*.so"))
ZH_SENTENCES = ROOT / "bench" / "zh.txt"
ALLOWED_DROP = 0.03

# Loads the core at argv[1] as `_core` and prints the seconds counting argv[2] argv[3] times
# takes.
TIMER = """
import importlib.machinery, importlib.util, sys, time
loader = importlib.machinery.ExtensionFileLoader("_core", sys.argv[1])
core = importlib.util.module_from_spec(importlib.util.spec_from_loader("_core", loader))
loader.exec_module(core)
with open(sys.argv[2], "rb") as f:
    data = f.read()
start = time.perf_counter()
for _ in range(int(sys.argv[3])):
    counter = core.Counter("words", threads=1)
    for i in range(0, len(data), 1 << 20):
        counter.feed(data[i : i + (1 << 20)])
    counts = counter.counts()
print(time.perf_counter() - start, len(counts))
"""


def chinese_input(megabytes: int) -> Path:
    lines = [
        line
        for line in ZH_SENTENCES.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    path = DATA / f"zh-{megabytes}mb.txt"
    if not path.exists():
        rng = random.Random(12)
        out, size = [], 0
        while size < megabytes << 20:
            line = rng.choice(lines) + "\n"
            out.append(line)
            size += len(line.encode())
        DATA.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(out), encoding="utf-8")
    return path


def time_once(core: Path, data: Path, passes: int) -> float:
    out = subprocess.run(
        [sys.executable, "-c", TIMER, str(core), str(data), str(passes)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return float(out[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--passes", type=int, default=10, help="English passes per process")
    parser.add_argument("--before", type=Path, required=True, help="the core before (_core.so)")
    args = parser.parse_args()
    if not args.before.exists():
        raise SystemExit(f"{args.before} is missing: `make bench-segment` builds it")
    english = build_input("corpus-x4.txt", 4)
    chinese = chinese_input(16)
    cases = {
        "English, before": (args.before, english, args.passes),
        "English, after": (AFTER, english, args.passes),
        "Chinese, after": (AFTER, chinese, 1),
        "Chinese, before (no segmentation)": (args.before, chinese, 1),
    }
    load = os.getloadavg()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for run in range(args.runs):
        for name, (core, data, passes) in cases.items():
            times[name].append(time_once(core, data, passes))
        print(f"run {run + 1}/{args.runs}", file=sys.stderr)
    load_after = os.getloadavg()
    rows = []
    medians = {}
    for name, (_core, data, passes) in cases.items():
        secs = statistics.median(times[name])
        medians[name] = secs
        mb = data.stat().st_size * passes / 1e6
        spread = f"{min(times[name]):.3f}-{max(times[name]):.3f}"
        rows.append(f"| {name} | {mb:.1f} | {secs:.3f} | {spread} | {mb / secs:.1f} |")
    ratios = [
        a / b - 1 for a, b in zip(times["English, after"], times["English, before"], strict=True)
    ]
    drop = statistics.median(ratios)
    verdict = "within" if drop <= ALLOWED_DROP else "OVER"
    lines = [
        f"Core before: {args.before} (built from the commit of its folder's name); after: "
        f"{AFTER.name}. One thread, `Counter.feed` in 1 MiB chunks + `counts()`, "
        f"{args.passes} passes over the English input a process, in a fresh process "
        f"(start-up excluded); the cases take turns, medians of {args.runs} runs. Load "
        f"average {load[0]:.2f} before, {load_after[0]:.2f} after.",
        "",
        "| input | MB | median s | min-max s | MB/s |",
        "| --- | --- | --- | --- | --- |",
        *rows,
        "",
        f"English time after / before, median of the paired runs: {drop:+.1%} (runs "
        f"{min(ratios):+.1%} to {max(ratios):+.1%}; negative: faster; {verdict} the "
        f"{ALLOWED_DROP:.0%} slow-down allowed).",
    ]
    print("\n".join(lines))
    record("segment: English before/after, Chinese", lines)
    if drop > ALLOWED_DROP:
        sys.exit(1)


if __name__ == "__main__":
    main()
