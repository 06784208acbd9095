"""`make bench`: `wordfreq count` against `wc -w` and a Counter baseline, same input, same run.

Input: ../shared/corpus/*.txt concatenated eight times (~36 MB). Every command runs as a
whole process (start-up included) several times; medians are reported, since the
machines are shared and noisy. Then peak RSS of `wordfreq count` on a ~1 GB input.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from common import build_input, median_time, record, run_child

BASELINE = (
    "import collections, sys\n"
    "text = open(sys.argv[1], encoding='utf-8', errors='replace').read()\n"
    "counts = collections.Counter(text.lower().split())\n"
    "print(counts.most_common(10))\n"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--big-gb", type=float, default=1.0, help="size of the RSS input")
    args = parser.parse_args()

    wordfreq = str(Path(sys.executable).with_name("wordfreq"))
    wc = shutil.which("wc") or "wc"
    data = build_input("corpus-x8.txt", 8)
    mb = data.stat().st_size / 1e6
    print(f"input: {data} ({mb:.1f} MB), {args.runs} runs each, medians")

    rows = {
        "wordfreq count": median_time([wordfreq, "count", str(data)], args.runs),
        "wordfreq count --mode seed": median_time(
            [wordfreq, "count", "--mode", "seed", str(data)], args.runs
        ),
        "wc -w": median_time([wc, "-w", str(data)], args.runs),
        "python Counter baseline": median_time(
            [sys.executable, "-c", BASELINE, str(data)], args.runs
        ),
    }
    base = rows["python Counter baseline"]
    wcw = rows["wc -w"]
    lines = [
        f"Input: corpus x8, {mb:.1f} MB; whole-process wall time, median of {args.runs} runs.",
        "",
        "| command | seconds | MB/s | vs Counter baseline | vs wc -w |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, secs in rows.items():
        line = f"| {name} | {secs:.3f} | {mb / secs:.0f} | {base / secs:.1f}x | {wcw / secs:.2f}x |"
        lines.append(line)
        print(
            f"{name:28s} {secs:7.3f} s {mb / secs:8.0f} MB/s  "
            f"{base / secs:6.1f}x Counter  {wcw / secs:5.2f}x wc -w"
        )

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
    record("wordfreq count", lines)
    print("recorded in bench/RESULTS.md")


if __name__ == "__main__":
    main()
