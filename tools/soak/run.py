"""One soak: a stack, ten clients sending their batches, one worker process killed and
restarted part-way, memory sampled throughout; then every result checked and the
figures and musts gathered in a :class:`Report`."""

from __future__ import annotations

import contextlib
import os
import queue
import random
import signal
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from wordfreq_service.adapters.embedded import open_embedded
from wordfreq_service.ports import DEFAULT_VISIBILITY_TIMEOUT_S, MAX_BATCH

from tools.soak.clients import Ledger, LiveProcesses, Outcome, Uploader, Workspace, run_command
from tools.soak.memory import SAMPLE_S, Sampler, Series
from tools.soak.plan import JOB_PATH, Batch, Plan, Ring, expected, make_plan
from tools.soak.stacks import (
    Stack,
    aws_leftovers,
    aws_stack,
    busiest,
    embedded_stack,
    jobs_started_again,
)
from tools.soak.storage import DataDirState, WalWatch, data_dir_state

#: How long the killed worker process may take to be replaced by its parent.
RESTART_TIMEOUT_S = 60
#: After the last answer, how long past the killed worker's messages' visibility timeout
#: the stack keeps running: a message it held after posting the result (answered, not yet
#: deleted) comes back only then, and a worker must take it and end it as a repeat before
#: the queues are judged empty.
SETTLE_S = 3.0
PROGRESS_S = 30.0


@dataclass(frozen=True)
class Config:
    backend: str  # "embedded" or "aws"
    jobs: int
    clients: int = 10
    workers: int = 2
    min_size: int = 1 << 10
    max_size: int = 5 << 20
    batch_size: int = 4
    seed: int = 0
    #: The worker is killed once this fraction of the jobs has its result.
    kill_at: float = 0.4
    #: Each client's ``--timeout`` per batch.
    timeout: float = 600.0
    #: The fraction of results checked against a local count (1.0: every one).
    check: float = 1.0
    #: The work queue's visibility timeout (None: the stack's default, 30 s): how long a
    #: job held by the killed worker waits before another worker receives it.
    visibility_timeout: int | None = None
    #: Seconds between memory samples (shorter for a run of seconds, so that it has
    #: enough samples to be judged).
    sample_s: float = SAMPLE_S


@dataclass
class Kill:
    pid: int | None = None
    at: float | None = None
    replaced_by: int | None = None
    restart_s: float | None = None
    #: Jobs the workers started more than once (the killed worker's, received again).
    jobs_started_again: int = 0


@dataclass
class Report:
    config: Config
    seconds: float
    outcomes: list[Outcome]
    notes: list[str]
    kill: Kill
    memory: list[Series]
    checked: int
    mismatches: list[str]
    data_dir: DataDirState | None = None
    aws: dict[str, int] | None = None
    #: The machine's load average (1 min) before, during (sampled with memory) and after.
    load: tuple[float, float] = (0.0, 0.0)
    loads: list[float] = field(default_factory=list)
    #: Series that are not the product's (moto's server) are reported, never judged.
    unjudged: set[str] = field(default_factory=set)

    @property
    def lost(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.results]

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.results and o.results[0].status != "success"]

    @property
    def duplicates(self) -> int:
        return sum(len(o.results) - 1 for o in self.outcomes if len(o.results) > 1)

    def latencies(self, path: str | None = None) -> list[float]:
        return sorted(
            lat
            for o in self.outcomes
            if (path is None or o.job.path == path) and (lat := o.latency) is not None
        )

    def failures(self) -> list[str]:
        """Every must that failed, one line each (empty: the soak passed)."""
        found = []
        if self.lost:
            found.append(f"{len(self.lost)} job(s) lost (no result)")
        if self.failed:
            first = self.failed[0].results[0].status_message
            found.append(f"{len(self.failed)} job(s) failed (first: {first})")
        if self.duplicates:
            found.append(f"{self.duplicates} duplicate result(s) printed")
        if self.mismatches:
            found.append(f"{len(self.mismatches)} result(s) differ from a local count")
        if self.kill.pid is None:
            found.append("no worker process was killed")
        elif self.kill.replaced_by is None:
            found.append("the killed worker process was not replaced")
        for series in self.memory:
            if series.label not in self.unjudged and not series.flat():
                q = series.quarters()
                assert q is not None
                found.append(
                    f"{series.label}: memory grew from {q[0] / 1024:.0f} MiB (first quarter) "
                    f"to {q[1] / 1024:.0f} MiB (last quarter), over its bound of "
                    f"{(series.bound() or 0) / 1024:.0f} MiB"
                )
        if self.data_dir is not None:
            found += self.data_dir.failures()
        if self.aws is not None:
            # A SIGKILLed worker leaves the uploads its batch had yet to delete.
            allowed = {"other objects": MAX_BATCH if self.kill.pid is not None else 0}
            for what in ("other objects", "work queue messages", "dead-letter queue messages"):
                if self.aws[what] > allowed.get(what, 0):
                    found.append(f"{self.aws[what]} {what} left on the stack")
        return found


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def run_soak(config: Config, workdir: Path, *, endpoint: str | None = None) -> Report:
    """Run the soak in ``workdir`` (data directory, client files, service logs)."""
    plan = make_plan(
        config.jobs,
        seed=config.seed,
        min_size=config.min_size,
        max_size=config.max_size,
        batch_size=config.batch_size,
    )
    ring = Ring.load()
    logs = workdir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    ledger = Ledger(plan.jobs)
    live = LiveProcesses()
    kill = Kill()
    load_before = os.getloadavg()[0]
    loads: list[float] = []
    data_dir = workdir / "data"
    watch = WalWatch(data_dir / "queues.sqlite3")
    with _stack(config, data_dir, logs, endpoint) as stack:

        def discover() -> dict[int, str]:
            loads.append(os.getloadavg()[0])
            if stack.data_dir is not None:
                watch.sample()
            found = stack.processes()
            found[os.getpid()] = "soak driver (its uploader clients)"
            for pid in live.snapshot():
                found[pid] = "wordfreq submit (each, pooled)"
            return found

        stop = threading.Event()
        with Sampler(discover, config.sample_s) as sampler:
            started = time.monotonic()
            helpers = [
                threading.Thread(target=_kill_one_worker, args=(stack, ledger, config, kill, stop)),
                threading.Thread(target=_progress, args=(ledger, config.jobs, started, stop)),
            ]
            for helper in helpers:
                helper.start()
            try:
                _run_clients(plan, stack, ring, workdir, ledger, live, config, stop)
            finally:
                stop.set()
                for pid in live.snapshot():  # interrupted: no client outlives the soak
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                for helper in helpers:
                    helper.join()
            seconds = _last_result(ledger) - started
            if kill.at is not None:
                _settle(kill.at, config.visibility_timeout)
        load_after = os.getloadavg()[0]
        aws = aws_leftovers(stack.aws) if stack.aws is not None else None
    kill.jobs_started_again = jobs_started_again(stack.logs)
    state = None
    if stack.data_dir is not None:
        answered = [
            (o.results[0].key, o.results[0].job_id if o.job.path == JOB_PATH else None)
            for o in ledger.outcomes.values()
            if o.results
        ]
        job_path_bytes = sum(o.job.size for o in ledger.outcomes.values() if o.job.path == JOB_PATH)
        killed = 0 if kill.pid is None else 1
        state = data_dir_state(data_dir, watch, answered, job_path_bytes, killed)
    checked, mismatches = _check(ring, list(ledger.outcomes.values()), config)
    return Report(
        config=config,
        seconds=seconds,
        outcomes=list(ledger.outcomes.values()),
        notes=ledger.notes,
        kill=kill,
        memory=list(sampler.series.values()),
        checked=checked,
        mismatches=mismatches,
        data_dir=state,
        aws=aws,
        load=(load_before, load_after),
        loads=loads,
        unjudged=stack.stand_ins,
    )


@contextmanager
def _stack(config: Config, data_dir: Path, logs: Path, endpoint: str | None) -> Iterator[Stack]:
    if config.backend == "embedded":
        with embedded_stack(data_dir, config.workers, logs, config.visibility_timeout) as stack:
            yield stack
    else:
        with aws_stack(endpoint, config.workers, logs, config.visibility_timeout) as stack:
            yield stack


def _run_clients(
    plan: Plan,
    stack: Stack,
    ring: Ring,
    workdir: Path,
    ledger: Ledger,
    live: LiveProcesses,
    config: Config,
    stop: threading.Event,
) -> None:
    """``config.clients`` threads, each taking the next batch as soon as its last one is
    answered, until none is left (or ``stop`` is set)."""
    batches: queue.SimpleQueue[Batch] = queue.SimpleQueue()
    for batch in plan.batches:
        batches.put(batch)

    def client(number: int) -> None:
        workspace = Workspace(ring, workdir / "clients" / str(number))
        uploader: Uploader | None = None
        while not stop.is_set():
            try:
                batch = batches.get_nowait()
            except queue.Empty:
                return
            if batch.path in stack.routes:
                argv = stack.routes[batch.path]
                run_command(
                    batch, workspace, ledger, live, argv=argv, env=stack.env, timeout=config.timeout
                )
                continue
            # No command takes the compatible path on the embedded stack: its client class.
            if uploader is None:
                assert stack.data_dir is not None
                uploader = Uploader(open_embedded(stack.data_dir))
            uploader.send(batch, workspace, ledger, config.timeout)

    threads = [
        threading.Thread(target=_guarded(ledger, partial(client, n)), name=f"client-{n}")
        for n in range(config.clients)
    ]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        stop.set()  # an interrupted join: the clients take no further batch


def _guarded(ledger: Ledger, work: Callable[[], None]) -> Callable[[], None]:
    def target() -> None:
        try:
            work()
        except Exception as exc:  # reported: a client that dies leaves its jobs lost
            ledger.note(f"client crashed: {type(exc).__name__}: {exc}")

    return target


def _settle(killed_at: float, visibility_timeout: int | None) -> None:
    """Wait until the messages the killed worker held have come back and been taken."""
    timeout = DEFAULT_VISIBILITY_TIMEOUT_S if visibility_timeout is None else visibility_timeout
    remaining = killed_at + timeout + SETTLE_S - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)


def _kill_one_worker(
    stack: Stack, ledger: Ledger, config: Config, kill: Kill, stop: threading.Event
) -> None:
    """SIGKILL the busiest worker process once ``kill_at`` of the jobs are answered,
    then wait for its parent to start a replacement."""
    if not ledger.wait_answered(max(1, round(config.kill_at * config.jobs)), stop):
        return
    workers = stack.workers()
    if not workers:
        ledger.note("no worker process found to kill")
        return
    victim = busiest(workers)
    os.kill(victim, signal.SIGKILL)
    kill.pid, kill.at = victim, time.monotonic()
    deadline = kill.at + RESTART_TIMEOUT_S
    while time.monotonic() < deadline:
        fresh = [pid for pid in stack.workers() if pid not in workers]
        if fresh and len(stack.workers()) >= config.workers:
            kill.replaced_by, kill.restart_s = fresh[0], time.monotonic() - kill.at
            return
        time.sleep(0.1)


def _progress(ledger: Ledger, jobs: int, started: float, stop: threading.Event) -> None:
    """A line on standard error every ``PROGRESS_S``: a long soak is not silent."""
    while not stop.wait(PROGRESS_S):
        answered = ledger.answered
        rate = answered / (time.monotonic() - started)
        print(f"soak: {answered:,}/{jobs:,} answered, {rate:.1f} jobs/s", file=sys.stderr)


def _last_result(ledger: Ledger) -> float:
    times = [o.results[0].at for o in ledger.outcomes.values() if o.results]
    return max(times, default=time.monotonic())


def _check(ring: Ring, outcomes: list[Outcome], config: Config) -> tuple[int, list[str]]:
    """Compare a sample of the results (every one with ``check`` 1.0) with a local count
    of the same bytes: total, distinct words, skipped runs and the top words in order."""
    rng = random.Random(config.seed + 1)
    checked, mismatches = 0, []
    for outcome in outcomes:
        if not outcome.results or outcome.results[0].status != "success":
            continue
        if rng.random() >= config.check:
            continue
        want = expected(ring, outcome.job)
        for got in outcome.results:
            seen = (got.total, got.unique, got.skipped, got.words)
            if seen != (want.total, want.unique, want.skipped, want.words):
                mismatches.append(
                    f"{outcome.job.name} ({outcome.job.path} path, {outcome.job.mode}, "
                    f"{outcome.job.size} bytes): got total {got.total}, unique {got.unique}, "
                    f"expected {want.total}, {want.unique}"
                )
        checked += 1
    return checked, mismatches
