"""`make bench-pipeline`: small files through the embedded stack with 2 worker processes.

Starts `wordfreq up --workers 2` on a fresh data directory, then from this process (the
client library, so CLI start-up is not what is measured):
* throughput: N files of 10 KB uploaded back to back, results collected as they come;
  jobs/s from the first upload to the last result, and each job's submit-to-result
  latency (p50/p99);
* latency: one 100 KB file at a time on the warm stack, submit-to-result p50/p99.
Several rounds; medians of the rounds are reported.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from common import CORPUS, record, running_stack
from wordfreq_service.adapters.embedded import open_embedded
from wordfreq_service.formats.results import JobResult
from wordfreq_service.ports import Backend


def text_of(size: int, seed: int) -> bytes:
    blob = (CORPUS / "pg1342.txt").read_bytes()
    start = (seed * 7919) % (len(blob) - size)
    return blob[start : start + size]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_jobs(backend: Backend, bodies: list[bytes]) -> tuple[float, list[float]]:
    """Upload all, collect all; (elapsed seconds, per-job latencies in ms)."""
    meta = {"mode": "words", "top": "10"}
    sent: dict[str, float] = {}
    latencies: list[float] = []
    t0 = time.perf_counter()
    for body in bodies:
        key = str(uuid.uuid4())
        sent[key] = time.perf_counter()
        backend.store.put(key, io.BytesIO(body), meta)
    while sent:
        for message in backend.result_queue.receive(10, wait_seconds=1):
            now = time.perf_counter()
            result = JobResult.from_json(message.body)
            if result.file_key in sent:
                latencies.append((now - sent.pop(result.file_key)) * 1000)
                backend.result_queue.delete(message.receipt_handle)
                if not result.ok:
                    raise SystemExit(f"job failed: {result.status_message}")
    return time.perf_counter() - t0, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency-jobs", type=int, default=50)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        backend = open_embedded(Path(tmp) / "data")
        with running_stack(Path(tmp) / "data"):
            run_jobs(backend, [text_of(10_000, i) for i in range(20)])  # warm-up
            rates, t_p50, t_p99, l_p50, l_p99 = [], [], [], [], []
            for r in range(args.rounds):
                bodies = [text_of(10_000, r * args.files + i) for i in range(args.files)]
                elapsed, lat = run_jobs(backend, bodies)
                rates.append(len(bodies) / elapsed)
                t_p50.append(percentile(lat, 0.5))
                t_p99.append(percentile(lat, 0.99))
                single = []
                for i in range(args.latency_jobs):
                    single += run_jobs(backend, [text_of(100_000, i)])[1]
                l_p50.append(percentile(single, 0.5))
                l_p99.append(percentile(single, 0.99))
                print(
                    f"round {r + 1}: {rates[-1]:.0f} jobs/s (10 KB, p50 {t_p50[-1]:.0f} ms, "
                    f"p99 {t_p99[-1]:.0f} ms); one 100 KB file: p50 {l_p50[-1]:.1f} ms, "
                    f"p99 {l_p99[-1]:.1f} ms"
                )

    med = statistics.median
    lines = [
        f"Embedded stack, `wordfreq up --workers 2`; {args.files} files of 10 KB per round, "
        f"{args.latency_jobs} single 100 KB jobs per round; medians of {args.rounds} rounds.",
        "",
        "| measure | value | target |",
        "| --- | --- | --- |",
        f"| throughput, 10 KB files | {med(rates):.0f} jobs/s | >= 300 jobs/s |",
        f"| submit-to-result under that load, p50 / p99 | {med(t_p50):.0f} / {med(t_p99):.0f} ms"
        " | |",
        f"| one 100 KB file on a warm stack, p50 / p99 | {med(l_p50):.1f} / {med(l_p99):.1f} ms"
        " | p50 < 50 ms |",
    ]
    print("\n".join(lines))
    record("embedded pipeline", lines)


if __name__ == "__main__":
    main()
