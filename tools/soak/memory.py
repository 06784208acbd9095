"""Resident memory of every process of a soak, sampled once a second, and whether it
stayed flat.

Each process is a series of (time, VmRSS) samples under a label: the stack's processes
by PID (a restarted worker is a new series), short-lived client processes pooled under
one label (each lives a second or two; what must not grow is what the later ones take).
Flat means the peak of the last quarter of a series is at most the peak of its first
quarter plus ``GROWTH_ALLOWED`` (a quarter more) and ``GROWTH_SLACK_KIB``: both quarters
see jobs of every size, so their peaks are set by the same largest vocabularies, and a
leak of a few kilobytes a job over thousands of jobs shows beyond that slack.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

SAMPLE_S = 1.0
GROWTH_ALLOWED = 0.25
GROWTH_SLACK_KIB = 32 << 10
#: A series shorter than this says nothing about growth (a process killed early).
MIN_SAMPLES = 8


def vm_rss_kib(pid: int) -> int | None:
    """The process's resident set now, or None once it has gone (or is a zombie)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (every thread's, via /proc's children lists)."""
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                found += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
    except OSError:
        return []
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@dataclass
class Series:
    label: str
    samples: list[tuple[float, int]] = field(default_factory=list)

    @property
    def peak(self) -> int:
        return max((kib for _, kib in self.samples), default=0)

    def quarters(self) -> tuple[int, int] | None:
        """Peaks of the first and the last quarter of the samples (None: too few)."""
        if len(self.samples) < MIN_SAMPLES:
            return None
        q = len(self.samples) // 4
        first = max(kib for _, kib in self.samples[:q])
        last = max(kib for _, kib in self.samples[-q:])
        return first, last

    def bound(self) -> int | None:
        q = self.quarters()
        return None if q is None else round(q[0] * (1 + GROWTH_ALLOWED)) + GROWTH_SLACK_KIB

    def flat(self) -> bool:
        q, bound = self.quarters(), self.bound()
        return q is None or bound is None or q[1] <= bound


class Sampler:
    """Samples, every ``interval`` seconds on a thread, each process ``discover`` names
    (PID -> label; labels shared by several PIDs are pooled into one series)."""

    def __init__(self, discover: Callable[[], dict[int, str]], interval: float = SAMPLE_S) -> None:
        self._discover = discover
        self._interval = interval
        self.series: dict[str, Series] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            pooled: dict[str, int] = {}
            for pid, label in self._discover().items():
                kib = vm_rss_kib(pid)
                if kib is not None:
                    pooled[label] = max(pooled.get(label, 0), kib)
            for label, kib in pooled.items():
                self.series.setdefault(label, Series(label)).samples.append((now, kib))
            self._stop.wait(self._interval)
