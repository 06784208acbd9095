"""What the soak submits: jobs of mixed sizes in both modes, grouped into the batches
each client sends, and every job's bytes, rebuilt on demand from the shared corpus.

A job's bytes are a slice of the corpus (read as a ring, so any size fits) at an offset
of its own: each result can be checked against a local count of exactly those bytes, and
a result handed to the wrong client would show as a mismatch.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from wordfreq_service.counting.engine import count_chunks, summarize
from wordfreq_service.formats.job_request import MODES, JobRequest

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
#: The two ways a client reaches its results: a job (``wordfreq submit``'s job path) or
#: the shared result queue (the seed's uploader, the compatible path).
JOB_PATH = "job"
COMPATIBLE_PATH = "compatible"
PATHS = (JOB_PATH, COMPATIBLE_PATH)


@dataclass(frozen=True)
class Job:
    index: int
    path: str
    mode: str
    size: int
    offset: int

    @property
    def name(self) -> str:
        return f"job{self.index:05}.txt"


@dataclass(frozen=True)
class Batch:
    """The files a client sends at once, as one ``wordfreq submit FILE...`` does: one
    path and one mode (a command line has one set of options)."""

    path: str
    mode: str
    jobs: tuple[Job, ...]

    @property
    def request(self) -> JobRequest:
        return JobRequest.make(mode=self.mode)


@dataclass(frozen=True)
class Plan:
    """The batches in the order clients take them (each client takes the next one
    when its last is answered, so every client stays busy to the end)."""

    batches: tuple[Batch, ...]

    @property
    def jobs(self) -> list[Job]:
        return [job for batch in self.batches for job in batch.jobs]


def make_plan(jobs: int, *, seed: int, min_size: int, max_size: int, batch_size: int) -> Plan:
    """``jobs`` jobs in batches of ``batch_size``, the batches alternating between the
    job path and the compatible path, each in a mode drawn at random; sizes log-uniform
    from ``min_size`` to ``max_size`` (as many 1-10 KiB files as 0.5-5 MiB ones)."""
    rng = random.Random(seed)
    period = Ring.load().period
    batches: list[Batch] = []
    for start in range(0, jobs, batch_size):
        path, mode = PATHS[len(batches) % 2], rng.choice(MODES)
        chunk = []
        for index in range(start, min(jobs, start + batch_size)):
            size = round(math.exp(rng.uniform(math.log(min_size), math.log(max_size))))
            chunk.append(Job(index, path, mode, size, rng.randrange(period)))
        batches.append(Batch(path, mode, tuple(chunk)))
    return Plan(tuple(batches))


class Ring:
    """The corpus as an endless ring of text: slices of any size at any offset."""

    def __init__(self, blob: bytes) -> None:
        self.period = len(blob)
        self._blob = blob

    @classmethod
    def load(cls) -> Ring:
        files = sorted(CORPUS.glob("*.txt"))
        if not files:
            raise SystemExit(f"soak: the shared corpus is missing ({CORPUS})")
        return cls(b"".join(f.read_bytes() for f in files))

    @cached_property
    def _doubled(self) -> bytes:
        return self._blob * 2

    def slice(self, offset: int, size: int) -> bytes:
        whole, rest = divmod(size, self.period)
        head = self._blob[offset:] + self._blob[:offset]  # the ring starting at offset
        return head * whole + self._doubled[offset : offset + rest]


def write_job(ring: Ring, job: Job, folder: Path) -> Path:
    path = folder / job.name
    path.write_bytes(ring.slice(job.offset, job.size))
    return path


@dataclass(frozen=True)
class Expected:
    total: int
    unique: int
    skipped: int
    words: list[tuple[str, int]]


def expected(ring: Ring, job: Job) -> Expected:
    """A local count of the job's bytes with the job's options."""
    request = JobRequest.make(mode=job.mode)
    found = summarize(count_chunks([ring.slice(job.offset, job.size)], request), request)
    return Expected(found.total, found.unique, found.skipped, list(found.words))
