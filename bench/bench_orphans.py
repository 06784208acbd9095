"""`make bench-orphans`: the job path against the compatible path with orphaned results.

Starts `wordfreq up --workers 2` on a fresh data directory, then from this process (the
client classes `wordfreq submit` uses, so CLI start-up is not what is measured) submits
rounds of N small files and waits for all their results:
* compatible path (`service.client.Client`: reads the shared result queue) and job path
  (`service.job_client.JobClient`, in-process), before any orphan exists;
* both again once 5,000 orphaned results (what timed-out or interrupted clients leave)
  sit on the result queue.
Seconds per round from the first upload to the last result; medians of the rounds. The
load average is recorded: on a shared machine the other load moves the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench_pipeline import text_of
from common import record, running_stack
from wordfreq_service import logs
from wordfreq_service.adapters.embedded import open_embedded
from wordfreq_service.formats.job_request import JobRequest
from wordfreq_service.ports import Backend
from wordfreq_service.service.client import Client, Submission
from wordfreq_service.service.job_client import InProcessJobs, JobClient, in_process_settings
from wordfreq_service.service.jobs import JobService

REQUEST = JobRequest.make(top=10)
Submitter = Client | JobClient


def write_files(folder: Path, count: int, seed: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"{i}.txt"
        path.write_bytes(text_of(10_000, seed * count + i))
        paths.append(str(path))
    return paths


def one_round(client: Submitter, paths: list[str]) -> float:
    started = time.perf_counter()
    submissions = client.upload(Client.open_inputs(paths), REQUEST)
    done: list[Submission] = []
    pending = client.collect(submissions, 600, done.append)
    elapsed = time.perf_counter() - started
    if pending or not all(s.result is not None and s.result.ok for s in done):
        raise SystemExit(f"{len(pending)} jobs pending, or some failed")
    return elapsed


def leave_orphans(backend: Backend, count: int) -> None:
    for i in range(count):
        body = {"FileKey": f"orphan-{i}", "JobID": f"o{i}", "Words": [], "Duration": 1,
                "Status": "success", "StatusMessage": "Success"}  # fmt: skip
        backend.result_queue.send(json.dumps(body))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=2000, help="files per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--orphans", type=int, default=5000)
    args = parser.parse_args()
    logs.configure(service=False, debug=False, quiet=True)

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        backend = open_embedded(data_dir)
        compatible = Client(backend, poll_seconds=1.0)
        job_path = JobClient(InProcessJobs(JobService(backend, in_process_settings())))
        runs: dict[str, list[float]] = {}

        def measure(label: str, client: Submitter) -> None:
            for r in range(args.rounds):
                paths = write_files(Path(tmp) / f"{label}-{r}", args.jobs, r)
                seconds = one_round(client, paths)
                runs.setdefault(label, []).append(seconds)
                print(f"{label}, round {r + 1}: {seconds:.2f} s", flush=True)

        load_before = os.getloadavg()[0]
        with running_stack(data_dir):
            one_round(job_path, write_files(Path(tmp) / "warm-up", 20, 99))
            measure("compatible path, no orphans", compatible)
            measure("job path, no orphans", job_path)
            leave_orphans(backend, args.orphans)
            measure(f"compatible path, {args.orphans:,} orphans", compatible)
            measure(f"job path, {args.orphans:,} orphans", job_path)
            left = backend.result_queue.approximate_count()
            load_after = os.getloadavg()[0]

    med = statistics.median
    lines = [
        f"Embedded stack, `wordfreq up --workers 2`; rounds of {args.jobs:,} files of 10 KB "
        f"submitted and waited for by the client classes `submit` uses; medians of "
        f"{args.rounds} rounds. Orphans still on the result queue at the end: {left:,}. "
        f"Load average (1 min) {load_before:.1f} before, {load_after:.1f} after.",
        "",
        "| client | seconds per round | jobs/s |",
        "| --- | --- | --- |",
    ]
    for label, seconds in runs.items():
        lines.append(f"| {label} | {med(seconds):.2f} | {args.jobs / med(seconds):.0f} |")
    print("\n".join(lines))
    record("orphaned results: job path vs compatible path", lines)


if __name__ == "__main__":
    main()
