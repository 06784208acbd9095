"""Processes and faults for the outage tests: a worker with short back-off settings,
its JSON log, its CPU time, a database held locked by another process, and a small
file system that can be filled or made read-only."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import WORDFREQ

#: The worker's back-off and lock wait in these tests (``wordfreq worker``'s environment):
#: short, so an outage of a second or two is seen, waited out and left behind quickly.
#: No wait for a locked database at all: each write fails at once, so only the back-off
#: keeps the worker from spinning (what the CPU check watches).
FAST_RETRY_ENV = {
    "WORKER_BACKOFF_SECONDS": "0.2",
    "WORKER_MAX_BACKOFF_SECONDS": "0.4",
    "WORKER_LOCK_WAIT_SECONDS": "0",
}
BACKING_OFF = "backing off"
RESUMING = "available again; resuming"


def wait_for(what: str, check: Callable[[], Any], timeout: float = 20.0) -> Any:
    """``check()``'s first true value, polled until ``timeout``; fails naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


class LoggedProcess:
    """A service process whose standard error goes to a file (never an unread pipe)."""

    def __init__(self, args: list[str], log_path: Path, env: dict[str, str]) -> None:
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [WORDFREQ, *args],
                stdout=subprocess.DEVNULL,
                stderr=log,
                env={**os.environ, **env},
                start_new_session=True,  # stopped and continued alone, never the test
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def events(self) -> list[dict[str, Any]]:
        """The JSON log lines written so far (a line still being written is left out)."""
        out = []
        for line in self.log_path.read_text().splitlines(keepends=True):
            if line.endswith("\n"):
                with suppress(ValueError):
                    out.append(json.loads(line))
        return out

    def logged(self, text: str) -> list[dict[str, Any]]:
        return [e for e in self.events() if text in str(e.get("event", ""))]

    def cpu_seconds(self) -> float:
        """User and system CPU time so far (this process, its threads)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def suspend(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def terminate(self, timeout: float = 20.0) -> int:
        self.resume()
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@contextmanager
def worker_process(
    args: list[str], log_path: Path, env: dict[str, str], *, started: str = "worker started"
) -> Iterator[LoggedProcess]:
    """``wordfreq worker ARGS`` (one process) with the fast back-off, once it has logged
    ``started``; killed, with its process group, if the test left it running."""
    worker = LoggedProcess(
        ["worker", "--concurrency", "1", *args], log_path, {**FAST_RETRY_ENV, **env}
    )
    try:
        wait_for(f"the worker to log {started!r}", lambda: worker.logged(started))
        yield worker
    finally:
        worker.kill()


@contextmanager
def database_locked(path: Path) -> Iterator[None]:
    """Another process's exclusive transaction on the database at ``path``, as a backup
    tool or a stuck writer would hold it: writers wait, readers (WAL) go on."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('BEGIN EXCLUSIVE')\n"
            "print('locked', flush=True)\n"
            "sys.stdin.read()\n"
            "c.execute('COMMIT')\n",
            str(path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"locked\n"
        yield
    finally:
        if holder.stdin is not None:
            holder.stdin.close()  # end of input: commit and exit
        try:
            holder.wait(10)
        except subprocess.TimeoutExpired:
            holder.kill()
            holder.wait()


def queued_uploads(data_dir: Path) -> int:
    """Upload events of jobs on the embedded work queue, visible or not (read beside any
    lock, as WAL allows)."""
    conn = sqlite3.connect(data_dir / "queues.sqlite3")
    try:
        [(count,)] = conn.execute(
            "SELECT count(*) FROM messages WHERE queue = 'work' AND body LIKE '%jobs/%'"
        )
    finally:
        conn.close()
    return int(count)


@contextmanager
def small_filesystem(where: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``where`` (needs root, or CAP_SYS_ADMIN); the
    calling test skips, saying why, where mounting is not allowed."""
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(
            f"cannot mount a small tmpfs here (needs root or CAP_SYS_ADMIN): "
            f"{mounted.stderr.strip() or mounted.returncode}"
        )
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def fill(directory: Path) -> Path:
    """Fill the file system of ``directory`` to the last byte; the filler's path."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 16, 1 << 12, 1):
            with suppress(OSError):
                while os.write(fd, b"\0" * size):
                    pass
    finally:
        os.close(fd)
    return filler


@contextmanager
def read_only(mount: Path) -> Iterator[None]:
    """The file system mounted at ``mount`` (``small_filesystem``) remounted read-only
    for the block, as a kernel does after an I/O error (``errors=remount-ro``), then
    read-write again: every write below it fails with EROFS meanwhile, and descriptors
    held open across the fault work again after it, as they do on a real remount."""
    subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True, capture_output=True)
    try:
        yield
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(mount)], check=True, capture_output=True)
