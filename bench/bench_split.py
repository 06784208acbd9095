"""`make bench-split`: one big file through the embedded stack with 1 and with 2 worker
processes, each counting with one thread, so the split into ranges is what spreads it.
The configurations take turns, round by round.

For each configuration: a fresh data directory, `wordfreq worker --concurrency N
--threads 1` on it, then from this process the file is stored (the upload is not
timed) and its result awaited. Throughput is the file's size over the time from the
stored object's event to its result (the result's own Duration), and the peak resident
memory (VmHWM) of each worker process is sampled throughout. Also a reference: one
worker with splitting off (`--split-threshold` above the size), counting in one piece.
Medians of the rounds are reported.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from common import build_input, corpus_files, descendants, record, vm_hwm_kib
from wordfreq_service.adapters.embedded import open_embedded
from wordfreq_service.formats.results import JobResult
from wordfreq_service.service.worker.settings import DEFAULT_SPLIT_THRESHOLD

MB = 1_000_000
WORDFREQ = str(Path(sys.executable).with_name("wordfreq"))


@dataclass(frozen=True)
class Run:
    seconds: float
    peaks_kib: list[int]


def one_thread_flag(wordfreq: str) -> list[str]:
    """``--threads 1`` where the worker has the flag."""
    usage = subprocess.run([wordfreq, "worker", "--help"], capture_output=True, text=True).stdout
    return ["--threads", "1"] if "--threads" in usage else []


def run_once(path: Path, workers: int, threshold: int, scratch: Path) -> Run:
    data_dir = scratch / f"stack-{workers}-{threshold}"
    shutil.rmtree(data_dir, ignore_errors=True)
    backend = open_embedded(data_dir)
    for m in backend.work_queue.receive(10, wait_seconds=0):  # S3's test event
        backend.work_queue.delete(m.receipt_handle)
    argv = [
        WORDFREQ, "worker", "--backend", "embedded", "--data-dir", str(data_dir),
        "--concurrency", str(workers), *one_thread_flag(WORDFREQ),
        "--split-threshold", str(threshold), "--poll-seconds", "0.2",
    ]  # fmt: skip
    log_path = scratch / f"worker-{workers}-{threshold}.log"
    peaks: dict[int, int] = {}
    stop = threading.Event()
    with open(log_path, "wb") as log:
        # The log to a file: an unread pipe would fill up and stall the workers.
        # One thread per counter also where `--threads` is missing: the core's pool is
        # rayon's global one, which reads RAYON_NUM_THREADS.
        env = {**os.environ, "RAYON_NUM_THREADS": "1"}
        parent = subprocess.Popen(argv, stderr=log, env=env)
    try:
        while b'"workers started"' not in log_path.read_bytes():
            if parent.poll() is not None:
                raise SystemExit(f"worker exited: {log_path.read_text()}")
            time.sleep(0.05)

        def sample() -> None:
            while not stop.is_set():
                for pid in descendants(parent.pid) | {parent.pid}:
                    peak = vm_hwm_kib(pid)
                    if peak is not None:
                        peaks[pid] = max(peaks.get(pid, 0), peak)
                stop.wait(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        with open(path, "rb") as body:
            backend.store.put("big.txt", body, {"mode": "words", "top": "10"})
        while True:
            batch = backend.result_queue.receive(1, wait_seconds=1)
            if batch:
                result = JobResult.from_json(batch[0].body)
                if not result.ok:
                    raise SystemExit(f"the count failed: {result.status_message}")
                break
        stop.set()
        sampler.join()
    finally:
        parent.send_signal(signal.SIGTERM)
        parent.wait(60)
        shutil.rmtree(data_dir, ignore_errors=True)
    # The worker processes: one worker runs in the parent itself, more in its children
    # (the parent then only supervises them).
    if workers == 1:
        return Run(result.duration_ns / 1e9, [peaks[parent.pid]])
    children = sorted((peak for pid, peak in peaks.items() if pid != parent.pid), reverse=True)
    return Run(result.duration_ns / 1e9, children[:workers])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=2000, help="input size, MB (default 2000)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scratch", type=Path, default=None, help="where stacks go (a temp dir)")
    args = parser.parse_args()
    corpus = sum(f.stat().st_size for f in corpus_files())
    path = build_input(f"split-{args.size_mb}mb.txt", max(1, round(args.size_mb * MB / corpus)))
    size = path.stat().st_size
    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="bench-split-", dir=path.parent))
    configs = [
        ("1 worker, not split", 1, size + 1),
        ("1 worker, split", 1, DEFAULT_SPLIT_THRESHOLD),
        ("2 workers, split", 2, DEFAULT_SPLIT_THRESHOLD),
    ]
    figures: dict[str, tuple[float, list[int]]] = {}
    load_before = os.getloadavg()[0]
    try:
        # Configurations take turns round by round: the machine's other load then
        # weighs on each alike.
        runs: dict[str, list[Run]] = {name: [] for name, _, _ in configs}
        for _ in range(args.rounds):
            for name, workers, threshold in configs:
                run = run_once(path, workers, threshold, scratch)
                runs[name].append(run)
                print(f"{name}: {size / MB / run.seconds:.0f} MB/s", flush=True)
        for name, workers, _ in configs:
            seconds = statistics.median(r.seconds for r in runs[name])
            peaks = [max(r.peaks_kib[i] for r in runs[name]) for i in range(workers)]
            figures[name] = (seconds, peaks)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    load_after = os.getloadavg()[0]
    one = figures["1 worker, split"][0]
    lines = [
        f"`make bench-split`: a {size / MB:,.0f} MB file ({path.name}: the corpus repeated) "
        f"through the embedded stack, `wordfreq worker --concurrency N` counting on one "
        f"thread ({' '.join(one_thread_flag(WORDFREQ)) or 'RAYON_NUM_THREADS=1'}), split "
        f"at {DEFAULT_SPLIT_THRESHOLD >> 20} MiB (ranges of about half); from the stored "
        f"object's event to its result, median of {args.rounds} rounds; peak RSS (VmHWM) of "
        f"each worker process, the largest over the rounds. {os.cpu_count()} cores; load "
        f"average {load_before:.1f} before, {load_after:.1f} after (the machine is shared).",
        "",
        "| configuration | seconds | MB/s | vs 1 worker split | peak RSS per process |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for name, (seconds, peaks) in figures.items():
        rss = ", ".join(f"{p / 1024:.0f} MiB" for p in peaks)
        lines.append(
            f"| {name} | {seconds:.2f} | {size / MB / seconds:.0f} | {one / seconds:.2f}x | {rss} |"
        )
    record("Split (bench_split.py)", lines)


if __name__ == "__main__":
    main()
