"""`make bench-threads`: how `wordfreq count` scales with `--threads`, reading a large
regular file itself (`Counter.feed_file`: one range per thread, positional reads) against
streaming the same bytes from standard input (chunks split across the threads).

Input: ../shared/corpus/*.txt repeated to about 1 GB (generated, deleted afterwards), in
the page cache. Every command runs as a whole process; runs of the configurations are
interleaved, so that a burst of load from elsewhere on a shared machine hits them all;
medians are reported, with the peak resident set (VmHWM) of each. Then a hostile file of
the same size with no safe split byte at all (one huge run): it must not be read once per
thread. The outputs of all configurations are checked to be identical.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import DATA, build_input, corpus_files, record, vm_hwm_kib


def run(argv: list[str], stdin_path: Path | None) -> tuple[float, float, int, bytes]:
    """Wall seconds, CPU seconds (user and system, all threads), peak RSS (KiB) and
    standard output of one whole process."""
    source = stdin_path or Path(os.devnull)
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        open(source, "rb") as stdin,
    ):
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=stdin, stdout=out, stderr=err)
        peak = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, vm_hwm_kib(proc.pid) or 0)
            time.sleep(0.005)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {err.read().decode()}")
        out.seek(0)
        return elapsed, usage.ru_utime + usage.ru_stime, peak, out.read()


def measure(
    configs: dict[str, tuple[list[str], Path | None]], runs: int
) -> dict[str, tuple[float, float, int]]:
    """Median wall and CPU seconds, and the largest peak RSS, per configuration; runs
    interleaved."""
    times: dict[str, list[float]] = {name: [] for name in configs}
    cpus: dict[str, list[float]] = {name: [] for name in configs}
    peaks: dict[str, int] = dict.fromkeys(configs, 0)
    outputs: dict[str, bytes] = {}
    for _ in range(runs):
        for name, (argv, stdin) in configs.items():
            secs, cpu, peak, out = run(argv, stdin)
            times[name].append(secs)
            cpus[name].append(cpu)
            peaks[name] = max(peaks[name], peak)
            outputs.setdefault(name, out)
            print(
                f"  {name:32s} {secs:7.3f} s  cpu {cpu:7.3f} s  {peak / 1024:5.0f} MiB  "
                f"load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    if len(set(outputs.values())) != 1:
        raise SystemExit(f"the configurations disagree: {outputs}")
    return {
        name: (statistics.median(times[name]), statistics.median(cpus[name]), peaks[name])
        for name in configs
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--gb", type=float, default=1.0, help="input size")
    args = parser.parse_args()

    wordfreq = str(Path(sys.executable).with_name("wordfreq"))
    corpus = sum(f.stat().st_size for f in corpus_files())
    repeat = max(1, round(args.gb * 1e9 / corpus))
    big = build_input(f"corpus-x{repeat}.txt", repeat)
    hostile = DATA / "one-run.txt"
    size = big.stat().st_size
    with open(hostile, "wb") as out:
        block = b"x" * (8 << 20)
        for _ in range(size // len(block)):
            out.write(block)
    gb = size / 1e9
    load = os.getloadavg()
    print(f"input: {big} ({gb:.2f} GB), {args.runs} runs each; load {load[0]:.1f}")
    try:
        configs: dict[str, tuple[list[str], Path | None]] = {}
        for threads in (1, 2):
            flag = ["--threads", str(threads)]
            configs[f"file (feed_file), {threads} thread(s)"] = (
                [wordfreq, "count", *flag, str(big)],
                None,
            )
            configs[f"stdin (streaming), {threads} thread(s)"] = (
                [wordfreq, "count", *flag, "-"],
                big,
            )
        rows = measure(configs, args.runs)
        print("hostile input: one run, no safe byte")
        hostile_rows = measure(
            {
                f"one run, file, {t} thread(s)": (
                    [wordfreq, "count", "--threads", str(t), str(hostile)],
                    None,
                )
                for t in (1, 2)
            },
            max(1, args.runs // 2),
        )
    finally:
        hostile.unlink()
        big.unlink()
    end_load = os.getloadavg()

    lines = [
        f"Input: corpus repeated to {gb:.2f} GB, in the page cache; whole-process wall time, "
        f"median of {args.runs} interleaved runs; peak RSS the largest of them. Load "
        f"average (1 min) {load[0]:.1f} before, {end_load[0]:.1f} after (the machine is "
        "shared).",
        "",
        "| command | seconds | MB/s | vs 1 thread, same path | CPU seconds | peak RSS |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, (secs, cpu, peak) in rows.items():
        single = rows[name.replace("2 thread(s)", "1 thread(s)")][0]
        lines.append(
            f"| `count` {name} | {secs:.3f} | {gb * 1000 / secs:.0f} | {single / secs:.2f}x "
            f"| {cpu:.3f} | {peak / 1024:.0f} MiB |"
        )
    file1, file2 = (
        rows["file (feed_file), 1 thread(s)"][0],
        rows["file (feed_file), 2 thread(s)"][0],
    )
    stream2 = rows["stdin (streaming), 2 thread(s)"][0]
    lines += [
        "",
        f"2 threads: feed_file {file1 / file2:.2f}x its 1-thread time; feed_file "
        f"{stream2 / file2:.2f}x streaming at 2 threads.",
        "",
        "Hostile input, the same size with no safe byte (one run of `x`, skipped):",
        "",
        "| command | seconds | CPU seconds | peak RSS |",
        "| --- | --- | --- | --- |",
    ]
    for name, (secs, cpu, peak) in hostile_rows.items():
        lines.append(f"| `count` {name} | {secs:.3f} | {cpu:.3f} | {peak / 1024:.0f} MiB |")
    for line in lines:
        print(line)
    record("wordfreq count --threads (feed_file vs streaming)", lines)
    print("recorded in bench/RESULTS.md")


if __name__ == "__main__":
    main()
