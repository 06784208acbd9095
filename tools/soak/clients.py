"""The soak's clients: each sends its batches one after another and records every result
it is handed, when, and for which job.

Two kinds, each what a user of that path runs:

* :func:`run_command` runs a real ``wordfreq submit --json FILE...`` process per batch
  and reads the lines it prints as they come: the job path (on the embedded stack, or
  ``--api URL``), and on AWS the compatible path too (the seed's ``-bucket``/``-queueUrl``
  flags). Duplicates are lines printed twice for one file.
* :class:`Uploader` drives the compatible path's client class (``service.client.
  Client``: upload under a random key, then read the shared result queue) in a thread:
  on the embedded stack no command takes that path (``submit`` there always creates
  jobs), so this is the seed uploader's behaviour on it, as ``submit`` on AWS runs it.
  Duplicates are results handed to the caller twice for one key.

A job's latency runs from the start of its batch (the ``submit`` process started, or
the first upload) to its result received: what a user waiting on that file sees.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from wordfreq_service.formats.results import JobResult
from wordfreq_service.ports import Backend
from wordfreq_service.service.client import Client, Submission

from tools.soak.plan import Batch, Job, Ring, write_job


@dataclass(frozen=True)
class Received:
    """One result as the client got it."""

    at: float
    key: str
    job_id: str
    status: str
    status_message: str
    total: int | None
    unique: int | None
    skipped: int | None
    words: list[tuple[str, int]]


@dataclass
class Outcome:
    job: Job
    started: float | None = None
    results: list[Received] = field(default_factory=list)

    @property
    def latency(self) -> float | None:
        if self.started is None or not self.results:
            return None
        return self.results[0].at - self.started


class Ledger:
    """Every job's outcome, shared by the client threads."""

    def __init__(self, jobs: Sequence[Job]) -> None:
        self.outcomes = {job.index: Outcome(job) for job in jobs}
        self.notes: list[str] = []
        self._lock = threading.Lock()
        self._answered = 0
        self.answered_event = threading.Condition(self._lock)

    def started(self, jobs: Sequence[Job], at: float) -> None:
        with self._lock:
            for job in jobs:
                self.outcomes[job.index].started = at

    def record(self, job: Job, received: Received) -> None:
        with self._lock:
            outcome = self.outcomes[job.index]
            if not outcome.results:
                self._answered += 1
            outcome.results.append(received)
            self.answered_event.notify_all()

    def note(self, text: str) -> None:
        with self._lock:
            self.notes.append(text)

    @property
    def answered(self) -> int:
        with self._lock:
            return self._answered

    def wait_answered(self, count: int, stop: threading.Event) -> bool:
        """Block until ``count`` jobs have a result (False if ``stop`` is set first)."""
        with self._lock:
            while self._answered < count and not stop.is_set():
                self.answered_event.wait(0.5)
            return not stop.is_set()


class LiveProcesses:
    """PIDs of the client processes running now, for the memory sampler."""

    def __init__(self) -> None:
        self._pids: set[int] = set()
        self._lock = threading.Lock()

    def add(self, pid: int) -> None:
        with self._lock:
            self._pids.add(pid)

    def remove(self, pid: int) -> None:
        with self._lock:
            self._pids.discard(pid)

    def snapshot(self) -> set[int]:
        with self._lock:
            return set(self._pids)


def from_json_line(line: str) -> tuple[str, Received]:
    """The file name and result of one line of ``submit --json``."""
    obj = json.loads(line)
    words = [(w["word"], w["count"]) for w in obj["words"]]
    return obj["file"], Received(
        time.monotonic(),
        obj["key"],
        obj["job_id"],
        obj["status"],
        obj["status_message"],
        obj["total"],
        obj["unique"],
        obj["skipped"],
        words,
    )


def from_result(result: JobResult) -> Received:
    return Received(
        time.monotonic(),
        result.file_key,
        result.job_id,
        result.status,
        result.status_message,
        result.total,
        result.unique,
        result.skipped,
        list(result.words),
    )


@dataclass(frozen=True)
class Workspace:
    """Where a client writes its batch's files (removed once the batch is answered)."""

    ring: Ring
    folder: Path

    def write(self, batch: Batch) -> dict[str, Job]:
        self.folder.mkdir(parents=True, exist_ok=True)
        return {str(write_job(self.ring, job, self.folder)): job for job in batch.jobs}

    def clear(self, paths: Sequence[str]) -> None:
        for path in paths:
            Path(path).unlink(missing_ok=True)


def run_command(
    batch: Batch,
    workspace: Workspace,
    ledger: Ledger,
    live: LiveProcesses,
    *,
    argv: Sequence[str],
    env: dict[str, str],
    timeout: float,
) -> None:
    """The batch through one ``argv --json --mode M --timeout T FILE...`` process."""
    files = workspace.write(batch)
    command = [*argv, "--json", "--mode", batch.mode, "--timeout", f"{timeout:g}", *files]
    with tempfile.TemporaryFile() as err:
        ledger.started(batch.jobs, time.monotonic())
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, env=env)
        live.add(proc.pid)
        try:
            assert proc.stdout is not None
            for raw in proc.stdout:
                name, received = from_json_line(raw.decode())
                ledger.record(files[name], received)
            status = proc.wait()
        finally:
            live.remove(proc.pid)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if status != 0:
            err.seek(0)
            tail = err.read().decode("utf-8", "replace").strip().splitlines()[-3:]
            ledger.note(f"submit exited {status}: {' | '.join(tail)}")
    workspace.clear(list(files))


class Uploader:
    """The compatible path's ``Client``, one per client thread, as ``submit`` runs it:
    upload every file of a batch, then collect from the shared result queue."""

    def __init__(self, backend: Backend) -> None:
        self._client = Client(backend, poll_seconds=20.0)

    def send(self, batch: Batch, workspace: Workspace, ledger: Ledger, timeout: float) -> None:
        files = workspace.write(batch)
        ledger.started(batch.jobs, time.monotonic())

        def arrived(sub: Submission) -> None:
            assert sub.result is not None
            ledger.record(files[sub.path], from_result(sub.result))

        try:
            submissions = self._client.upload(Client.open_inputs(list(files)), batch.request)
            pending = self._client.collect(submissions, timeout, arrived)
            if pending:
                ledger.note(f"uploader: timed out waiting for {len(pending)} result(s)")
        except Exception as exc:  # any failure is a finding to report, not a crash
            ledger.note(f"uploader: {type(exc).__name__}: {exc}")
        workspace.clear(list(files))
