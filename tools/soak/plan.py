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
    """The files one client sends at once, as one ``wordfreq submit FILE...`` does: one
    path and one mode (a command line has one set of options)."""

    client: int
    path: str
    mode: str
    jobs: tuple[Job, ...]

    @property
    def request(self) -> JobRequest:
        return JobRequest.make(mode=self.mode)


@dataclass(frozen=True)
class Plan:
    batches: tuple[Batch, ...]
    clients: int

    @property
    def jobs(self) -> list[Job]:
        return [job for batch in self.batches for job in batch.jobs]

    def for_client(self, client: int) -> list[Batch]:
        return [b for b in self.batches if b.client == client]


def make_plan(
    jobs: int, clients: int, *, seed: int, min_size: int, max_size: int, batch_size: int
) -> Plan:
    """``jobs`` jobs shared among ``clients`` clients, half of them on each path (clients
    alternate: even ones the job path, odd ones the compatible path), sizes log-uniform
    from ``min_size`` to ``max_size`` (as many 1-10 KB files as 100 KB-1 MB ones), each
    batch of up to ``batch_size`` files in a mode drawn at random."""
    rng = random.Random(seed)
    ring = Ring.load()
    per_client: list[list[Job]] = [[] for _ in range(clients)]
    for index in range(jobs):
        client = index % clients
        size = round(math.exp(rng.uniform(math.log(min_size), math.log(max_size))))
        job = Job(index, PATHS[client % 2], "", size, rng.randrange(ring.period))
        per_client[client].append(job)
    batches = []
    for client, queue in enumerate(per_client):
        for start in range(0, len(queue), batch_size):
            mode = rng.choice(MODES)
            chunk = tuple(
                Job(j.index, j.path, mode, j.size, j.offset)
                for j in queue[start : start + batch_size]
            )
            batches.append(Batch(client, chunk[0].path, mode, chunk))
    return Plan(tuple(batches), clients)


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
