"""Processes for the fault tests: the product's own services, a worker that kills itself
at a chosen point (``killable_worker``), and what is left running after a kill."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.e2e.test_processes import alive
from tests.helpers import ROOT


def trials(default_count: int) -> list[int | None]:
    """The seeds of randomised trials, as test parameters: ``WORDFREQ_FAULT_SEEDS``
    (comma-separated) replays given ones; else ``WORDFREQ_FAULT_TRIALS`` (or
    ``default_count``) trials whose seeds are drawn when they run (``seed_of``): drawn at
    collection, they would differ between the test processes of pytest-xdist."""
    given = os.environ.get("WORDFREQ_FAULT_SEEDS")
    if given:
        return [int(s) for s in given.split(",") if s.strip()]
    return [None] * int(os.environ.get("WORDFREQ_FAULT_TRIALS", default_count))


def seed_of(given: int | None) -> int:
    """The trial's seed, printed (pytest shows it for a failing test) for a replay."""
    seed = random.randrange(1 << 32) if given is None else given
    print(f"seed {seed} (replay: WORDFREQ_FAULT_SEEDS={seed})")
    return seed


def start_killable(
    data_dir: Path, point: str, nth: int, visibility_s: int
) -> subprocess.Popen[bytes]:
    """A worker process that SIGKILLs itself at ``point`` (``killable_worker``)."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.faults.killable_worker", str(data_dir), point, str(nth),
         str(visibility_s)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip


def process_group(pgid: int) -> set[int]:
    """Live processes of the process group ``pgid``: a service started in a session of
    its own (``start_new_session``) and every process it spawned, orphans included."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        # After the parenthesised command name: state, parent, process group.
        fields = text.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.add(int(entry.name))
    return found


def wait_until(check: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"no {what} within {timeout}s"
        time.sleep(0.05)


def kill_all(pids: set[int]) -> None:
    """End what a test started, even when it fails half-way."""
    for pid in pids:
        if alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
