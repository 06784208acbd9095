"""The embedded stack's store unavailable for a while: the database locked by another
process, the disk full, the bucket's directory turned read-only (as a kernel turns a file
system after an I/O error). The worker backs off without spinning, resumes once the fault
clears, counts the job and exits only on SIGTERM; the client reports the fault and exits
non-zero within its ``--timeout`` instead of hanging."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path

import pytest
from wordfreq_service.adapters.embedded import open_embedded
from wordfreq_service.adapters.embedded.backend import DATABASE_NAME
from wordfreq_service.adapters.embedded.stack_lock import StackLock
from wordfreq_service.formats.jobs import INLINE_COUNTS_MAX_CSV_BYTES

from tests.faults.outage_helpers import (
    BACKING_OFF,
    FAST_RETRY_ENV,
    RESUMING,
    LoggedProcess,
    database_locked,
    fill,
    queued_uploads,
    read_only,
    small_filesystem,
    wait_for,
    worker_process,
)
from tests.helpers import WORDFREQ, run_wordfreq


def _spelled(n: int) -> str:
    """``n`` as letters (a word of its own: digits would split it)."""
    letters = "zq"
    while True:
        n, digit = divmod(n, 26)
        letters += chr(ord("a") + digit)
        if not n:
            return letters


# Enough distinct words that the job's counts are stored in the bucket, not held in its
# record, so that a fault of the bucket is one the worker meets.
TEXT = "the cat and the hat and the bat\n" * 50 + " ".join(
    _spelled(n) for n in range(2 * INLINE_COUNTS_MAX_CSV_BYTES // 8)
)
#: How long each fault lasts once the worker has met it.
OUTAGE_S = 1.0
FAULTS = ["database locked", "disk full", "bucket read-only"]
#: What the client's error line names, by fault.
SAID = {
    "database locked": "database is locked",
    "disk full": "full",
    "bucket read-only": "Read-only file system",
}


class Fault:
    """One way the store becomes unavailable, on a data directory: ``start`` makes it
    happen, ``end`` (called once, after ``start``) repairs it."""

    def __init__(self, kind: str, data_dir: Path, mount: Path | None) -> None:
        self.kind, self.data_dir, self.mount = kind, data_dir, mount
        self._held = ExitStack()
        self._filler: Path | None = None

    def start(self) -> None:
        if self.kind == "database locked":
            self._held.enter_context(database_locked(self.data_dir / DATABASE_NAME))
        elif self.kind == "disk full":
            assert self.mount is not None
            self._filler = fill(self.mount)
        else:
            assert self.mount is not None
            self._held.enter_context(read_only(self.mount))

    def end(self) -> None:
        if self.kind == "database locked":
            self._held.close()
        elif self.kind == "disk full":
            assert self._filler is not None
            self._filler.unlink()
        else:
            self._held.close()


@pytest.fixture(params=FAULTS)
def fault(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Fault]:
    """A fault of each kind over a fresh stack; a full disk on a small tmpfs of its own."""
    kind: str = request.param
    with ExitStack() as stack:
        mount = None
        data_dir = tmp_path / "data"
        if kind == "disk full":
            mount = stack.enter_context(small_filesystem(tmp_path / "mnt", "4m"))
            data_dir = mount / "data"
        elif kind == "bucket read-only":
            # The buckets on a file system of their own, which the fault remounts
            # read-only (the database's files, open for writing, would forbid that).
            mount = stack.enter_context(small_filesystem(data_dir / "buckets", "16m"))
        open_embedded(data_dir)  # the stack exists before any fault
        yield Fault(kind, data_dir, mount)


def _stack_running(data_dir: Path) -> AbstractContextManager[StackLock]:
    """Claim the stack, as `wordfreq up` does: `submit` then brings no workers of its own
    and relies on the worker under test."""
    lock = StackLock(data_dir)
    lock.acquire(1)
    return lock


def _write_lock_free(database: Path) -> bool:
    """Whether nobody holds the database's write lock (asked without waiting)."""
    conn = sqlite3.connect(database, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        conn.close()


def _suspend_outside_a_write(
    suspend: Callable[[], None], resume: Callable[[], None], database: Path
) -> None:
    """Stop the worker where it holds no write lock: stopped inside a write (a receive
    is one), it would keep the lock, and an upload would wait for it and fail."""
    for _ in range(200):
        suspend()
        if _write_lock_free(database):
            return
        resume()
        time.sleep(0.01)
    raise AssertionError(f"the worker held {database}'s write lock at each of 200 tries")


def test_the_worker_waits_out_the_fault_and_counts_the_job(fault: Fault, tmp_path: Path) -> None:
    sample = tmp_path / "sample.txt"
    sample.write_text(TEXT)
    worker_args = ["--data-dir", str(fault.data_dir), "--poll-seconds", "0.2"]
    with (
        _stack_running(fault.data_dir),
        worker_process([*worker_args, "--visibility-timeout", "2"], tmp_path / "w.log", {}) as w,
    ):
        wait_for("the worker to drop S3's test event", lambda: w.logged("test event dropped"))
        # Given a job uploaded while the worker is stopped, and the fault once it is in
        _suspend_outside_a_write(w.suspend, w.resume, fault.data_dir / DATABASE_NAME)
        client = subprocess.Popen(
            [
                WORDFREQ,
                "submit",
                "--data-dir",
                str(fault.data_dir),
                "--json",
                "--timeout",
                "60",
                str(sample),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            wait_for("the upload", lambda: queued_uploads(fault.data_dir) == 1)
            fault.start()
            try:
                # When the worker meets it
                w.resume()
                cpu_before, started = w.cpu_seconds(), time.monotonic()
                wait_for("the worker to back off", lambda: w.logged(BACKING_OFF))
                time.sleep(OUTAGE_S)
                cpu = w.cpu_seconds() - cpu_before
                wall = time.monotonic() - started
                tries = len(w.logged(BACKING_OFF))
            finally:
                fault.end()
            out, err = client.communicate(timeout=60)
        finally:
            if client.poll() is None:
                client.kill()
                client.communicate()
        # Then it backed off without spinning, resumed, and counted the job once
        assert cpu < 0.5 * wall, f"worker used {cpu:.2f} s of CPU in {wall:.2f} s of outage"
        # A try at most every back-off (the first, the shortest), give or take one.
        assert tries <= wall / float(FAST_RETRY_ENV["WORKER_BACKOFF_SECONDS"]) + 2, tries
        assert client.returncode == 0, err.decode()
        result = json.loads(out)
        assert result["status"] == "success"
        assert {w_["word"]: w_["count"] for w_ in result["words"]}["the"] == 150
        assert w.logged(RESUMING)
        assert len(w.logged("job done")) == 1
        assert w.proc.poll() is None, "the worker exited on its own"
        # And only SIGTERM stops it
        assert w.terminate() == 0
        [stopped] = w.logged("worker stopped")
        assert stopped["jobs"] == 1 and stopped["signal"] == "SIGTERM"


def test_submit_reports_the_fault_within_its_timeout(fault: Fault, tmp_path: Path) -> None:
    sample = tmp_path / "sample.txt"
    sample.write_text(TEXT)
    timeout = 2.0
    with _stack_running(fault.data_dir):
        fault.start()
        try:
            started = time.monotonic()
            done = run_wordfreq(
                [
                    "submit",
                    "--data-dir",
                    str(fault.data_dir),
                    "--timeout",
                    f"{timeout:g}",
                    str(sample),
                ],
                timeout=60,
            )
            elapsed = time.monotonic() - started
        finally:
            fault.end()
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith("wordfreq: error: ")
    assert SAID[fault.kind] in line
    # Its own start-up aside (a second, several on a loaded machine), nothing waits past
    # the timeout; the database's own wait is 10 s.
    assert elapsed < timeout + 5, f"{elapsed:.1f} s for a {timeout:g} s timeout"


# One fault is enough: every one that fails a write to the database fails the opening
# the same way (a TransientError), and the bucket is not written while opening.
@pytest.mark.parametrize("fault", ["database locked"], indirect=True)
def test_a_worker_started_during_the_fault_waits_for_the_stack(
    fault: Fault, tmp_path: Path
) -> None:
    """Opening the stack writes to the database (its queues, the sweep of expired jobs):
    a worker that starts while it cannot must wait, not exit."""
    fault.start()
    ended = False
    try:
        args = ["--data-dir", str(fault.data_dir)]
        with worker_process(args, tmp_path / "w.log", {}, started="cannot open the stack") as w:
            assert w.proc.poll() is None
            fault.end()
            ended = True
            wait_for("the worker to resume", lambda: w.logged(RESUMING))
            assert w.terminate() == 0
    finally:
        if not ended:
            fault.end()


@pytest.mark.parametrize("fault", ["bucket read-only"], indirect=True)
def test_an_outage_longer_than_every_receive_dead_letters_no_job(
    fault: Fault, tmp_path: Path
) -> None:
    """A message comes back each visibility timeout; were the worker to receive it again
    to learn whether the store is back, five receives would send the job to the
    dead-letter queue. It probes the store instead, and receives once the probe passes."""
    visibility_s = 1
    sample = tmp_path / "sample.txt"
    sample.write_text(TEXT)
    args = ["--data-dir", str(fault.data_dir), "--poll-seconds", "0.2"]
    with (
        _stack_running(fault.data_dir),
        worker_process(
            [*args, "--visibility-timeout", str(visibility_s)], tmp_path / "w.log", {}
        ) as w,
    ):
        w.suspend()
        client = subprocess.Popen(
            [WORDFREQ, "submit", *args[:2], "--json", "--timeout", "60", str(sample)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            wait_for("the upload", lambda: queued_uploads(fault.data_dir) == 1)
            fault.start()
            try:
                w.resume()
                wait_for("the worker to back off", lambda: w.logged(BACKING_OFF))
                # Longer than five receives of the message would take.
                time.sleep(6 * visibility_s + 1)
            finally:
                fault.end()
            out, err = client.communicate(timeout=60)
        finally:
            if client.poll() is None:
                client.kill()
                client.communicate()
    assert client.returncode == 0, err.decode()
    assert json.loads(out)["status"] == "success"
    assert len(w.logged("job done")) == 1
    assert not w.logged("dead-letter")


@pytest.mark.parametrize("fault", ["database locked"], indirect=True)
def test_a_pool_waiting_for_the_stack_stops_quietly_on_ctrl_c(fault: Fault, tmp_path: Path) -> None:
    """Ctrl-C reaches every process of the pool: one still waiting to open the stack
    stops as on SIGTERM, with no KeyboardInterrupt traceback in the log."""
    fault.start()
    try:
        args = ["--data-dir", str(fault.data_dir)]
        log_path = tmp_path / "w.log"
        worker = LoggedProcess(
            ["worker", "--concurrency", "2", *args], log_path, dict(FAST_RETRY_ENV)
        )
        try:
            wait_for(
                "both processes to wait for the stack",
                lambda: len({e.get("pid") for e in worker.logged("cannot open the stack")}) >= 2,
            )
            os.killpg(worker.pid, signal.SIGINT)  # as the terminal does on Ctrl-C
            assert worker.proc.wait(20) == 0
        finally:
            worker.kill()
    finally:
        fault.end()
    assert not worker.logged("worker output"), worker.logged("worker output")
    assert worker.logged("workers stopped")
