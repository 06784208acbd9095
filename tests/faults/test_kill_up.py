"""`wordfreq up` killed outright, or stopped with SIGTERM, in the middle of a burst of
submits: nothing is lost, and no worker process outlives the stack it belonged to."""

from __future__ import annotations

import gzip
import json
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from wordfreq_service.adapters.embedded.backend import DATABASE_NAME
from wordfreq_service.adapters.embedded.stack_lock import StackLock

from tests.faults.processes import kill_all, process_group, wait_until
from tests.helpers import WORDFREQ

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="needs /proc to find a stack's processes"
)

CLIENTS = 3
FILES_PER_CLIENT = 4


class Stack:
    """`wordfreq up` (or ``args``) in a session of its own: its process group is every process it
    started, so what outlives it can be found. Its log goes to a file (never a pipe
    nobody reads)."""

    def __init__(self, data_dir: Path, log: Path, args: list[str] | None = None) -> None:
        self.log = log
        self._log = log.open("ab")
        args = args or ["up", "--workers", "2", "--port", "0"]
        self.proc = subprocess.Popen(
            [WORDFREQ, *args, "--data-dir", str(data_dir)],
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            start_new_session=True,
        )

    def events(self) -> list[dict[str, object]]:
        out = []
        for line in self.log.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({"event": "(not json)", "line": line})
        return out

    def count(self, event: str) -> int:
        return sum(1 for e in self.events() if e.get("event") == event)

    def close(self) -> None:
        kill_all(process_group(self.proc.pid))
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._log.close()


def job_states(data_dir: Path) -> list[str]:
    """The state of every job (none before the first client made the database)."""
    try:
        with sqlite3.connect(data_dir / DATABASE_NAME) as db:
            return [state for (state,) in db.execute("SELECT state FROM jobs")]
    except sqlite3.OperationalError:
        return []


def hidden_work(data_dir: Path) -> int:
    """Messages on the work queue that some worker holds hidden."""
    with sqlite3.connect(data_dir / DATABASE_NAME) as db:
        [(count,)] = db.execute(
            "SELECT count(*) FROM messages WHERE queue = 'work' AND visible_at > ?",
            (time.time(),),
        )
    return int(count)


def client_files(tmp_path: Path, client: int, gzipped_words: int = 0) -> dict[str, int]:
    """A client's files, each naming its own marker a known number of times (and, when
    asked, gzipped with that many more words, too short to be reported, to take a while
    to count)."""
    files = {}
    for i in range(FILES_PER_CLIENT):
        times = 10 * client + i + 1
        text = f"marker{'abcd'[client]}{'abcd'[i]} " * times
        path = tmp_path / f"c{client}f{i}.txt"
        if gzipped_words:
            path = path.with_suffix(".gz")
            path.write_bytes(gzip.compress((text + "xy " * gzipped_words).encode(), 1))
        else:
            path.write_text(text + "the end")
        files[str(path)] = times
    return files


@dataclass
class Submitter:
    """One `wordfreq submit` of the burst; its output and log go to files (a pipe nobody
    reads until the end would stall it once full)."""

    proc: subprocess.Popen[bytes]
    files: dict[str, int]
    out: Path
    err: Path


@contextmanager
def burst(tmp_path: Path, data_dir: Path, gzipped_words: int = 0) -> Iterator[list[Submitter]]:
    """``CLIENTS`` concurrent `wordfreq submit`s, each of ``FILES_PER_CLIENT`` files."""
    clients: list[Submitter] = []
    try:
        for c in range(CLIENTS):
            files = client_files(tmp_path, c, gzipped_words)
            args = ["submit", "--data-dir", str(data_dir), "--json", "--top", "1",
                    "--min-length", "3", "--timeout", "90", *files]  # fmt: skip
            out, err = tmp_path / f"submit{c}.out", tmp_path / f"submit{c}.err"
            with out.open("wb") as stdout, err.open("wb") as stderr:
                proc = subprocess.Popen([WORDFREQ, *args], stdout=stdout, stderr=stderr)
            clients.append(Submitter(proc, files, out, err))
        yield clients
    finally:
        for client in clients:
            if client.proc.poll() is None:
                client.proc.kill()
            client.proc.wait()


def assert_every_file_counted_once(clients: list[Submitter]) -> None:
    for client in clients:
        client.proc.wait(timeout=90)
        err = client.err.read_text(errors="replace")
        assert client.proc.returncode == 0, err
        # Submitted while a stack ran: no in-process workers, whatever happened to it.
        assert "in-process" not in err
        lines = [json.loads(line) for line in client.out.read_text().splitlines()]
        assert [line["file"] for line in lines] == list(client.files)  # one each, in order
        for line in lines:
            assert line["status"] == "success", line
            assert line["words"][0]["count"] == client.files[line["file"]]


def test_up_killed_and_restarted_mid_burst_loses_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = Stack(data_dir, tmp_path / "first.log")
    second: Stack | None = None
    try:
        wait_until(lambda: first.count("workers started") == 1, "stack", 30)
        # Each file a few hundred milliseconds of counting: seconds of work for the stack.
        with burst(tmp_path, data_dir, gzipped_words=3_000_000) as clients:
            # Every client waiting on its jobs (none brought workers of its own), the
            # workers busy: the kill lands in the middle of the burst.
            every = CLIENTS * FILES_PER_CLIENT
            wait_until(lambda: len(job_states(data_dir)) == every, "every job", 30)
            group = process_group(first.proc.pid)
            assert len(group) >= 3  # `up` and its two workers
            first.proc.kill()  # SIGKILL: `up` stops nobody
            first.proc.wait()
            # Its workers see it gone and stop on their own: no orphan beside the next.
            wait_until(lambda: not process_group(first.proc.pid), "end of every worker", 20)
            second = Stack(data_dir, tmp_path / "second.log")
            assert_every_file_counted_once(clients)
        assert second.count("job done") >= 1, "the kill came after the burst"
        second.proc.send_signal(signal.SIGTERM)
        assert second.proc.wait(timeout=60) == 0
        wait_until(lambda: not process_group(second.proc.pid), "end of the stack", 10)
    finally:
        first.close()
        if second is not None:
            second.close()


def test_sigterm_mid_burst_finishes_or_releases_every_job(tmp_path: Path) -> None:
    # `wordfreq worker`, quicker to start than `up` (no API); the test holds the stack's
    # lock meanwhile, as `up` would, so the clients bring no workers of their own.
    data_dir = tmp_path / "data"
    lock = StackLock(data_dir)
    lock.acquire(2)
    first = Stack(data_dir, tmp_path / "first.log", ["worker", "--concurrency", "2"])
    second: Stack | None = None
    try:
        # Each file a few hundred milliseconds of counting: both workers busy at the signal.
        with burst(tmp_path, data_dir, gzipped_words=3_000_000) as clients:
            every = CLIENTS * FILES_PER_CLIENT
            wait_until(lambda: len(job_states(data_dir)) == every, "every job", 30)
            wait_until(lambda: first.count("job started") >= 2, "a busy stack", 30)
            started = time.monotonic()
            first.proc.send_signal(signal.SIGTERM)
            assert first.proc.wait(timeout=60) == 0
            print(f"SIGTERM to exit: {time.monotonic() - started:.1f}s")
            wait_until(lambda: not process_group(first.proc.pid), "end of every worker", 10)
            events = first.events()
            assert sum(1 for e in events if e.get("event") == "worker stopped") == 2, events
            # What they had started, they finished; what they had not, they handed back.
            assert first.count("job started") == first.count("job done"), events
            # What was not finished was handed back: visible at once, not after the
            # visibility timeout, to whoever comes next.
            assert hidden_work(data_dir) == 0
            second = Stack(data_dir, tmp_path / "second.log", ["worker", "--concurrency", "2"])
            assert_every_file_counted_once(clients)
        assert second.count("job done") >= 1
        second.proc.send_signal(signal.SIGTERM)
        assert second.proc.wait(timeout=60) == 0
    finally:
        try:
            first.close()
            if second is not None:
                second.close()
        finally:
            lock.release()
