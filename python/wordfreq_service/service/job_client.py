"""The job path's client: each file becomes a job of the job service, and its result is
read from the job store by its token; the shared result queue is never read, so other
clients' results (orphans included) cost it nothing.

How jobs are created, uploaded and waited for is a :class:`JobTransport`: in-process on
the embedded stack (:class:`InProcessJobs`, straight to ``JobService``); another
transport (the HTTP API) plugs in beside it. :class:`JobClient` has ``Client``'s
``upload``/``collect`` shape, so ``wordfreq submit`` prints the same either way.

A job is created for an exact size, so an input whose size is not known beforehand
(standard input, a pipe, a ``/proc`` file) is first copied to an anonymous temporary
file: memory stays bounded, and nothing is left behind however the client ends.
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO, Protocol, cast

import structlog

from wordfreq_service.errors import BackendError, InputError, TransientError
from wordfreq_service.formats.job_request import JobRequest
from wordfreq_service.formats.jobs import stored_result
from wordfreq_service.formats.results import FAILURE, JobResult
from wordfreq_service.ports import JobRecord, JobState
from wordfreq_service.service.client import NamedSource, ProgressFactory, Submission
from wordfreq_service.service.jobs import (
    MAX_WAIT_S,
    JobService,
    JobSettings,
    NewJob,
    UploadRefused,
)

log = structlog.get_logger("wordfreq.client")


@dataclass(frozen=True)
class JobTicket:
    """What the client keeps of a job it created: enough to upload and to ask for it.
    A transport that needs more per job (over HTTP, the upload URL and headers of
    ``POST /jobs``'s answer) hands out a subclass."""

    job_id: str
    key: str
    token: str


class JobTransport(Protocol):
    """How a client reaches the job service."""

    def create(self, request: JobRequest, size: int) -> JobTicket:
        """A new job for an upload of exactly ``size`` bytes."""
        ...

    def upload(
        self, ticket: JobTicket, body: BinaryIO, progress: Callable[[int], None] | None
    ) -> None:
        """Send the job's bytes; ``progress`` gets byte counts as they go."""
        ...

    def wait(self, ticket: JobTicket, seconds: float) -> JobResult | None:
        """The job's result once it has ended, waiting up to ``seconds`` for that; None
        if it has not ended by then."""
        ...


class InProcessJobs:
    """The job service in this process (the embedded stack): no HTTP, no token sent
    anywhere."""

    def __init__(self, service: JobService, *, keep_done: bool = False) -> None:
        """``keep_done``: the caller reads the counts of every job it waits for and sees
        done (a corpus), so ``wait`` keeps those jobs until ``counts`` takes them, which
        then opens their counts without reading the job store again."""
        self.service = service
        self._keep_done = keep_done
        self._done: dict[str, JobRecord] = {}
        #: Jobs made and not yet stored: each is stored with its upload
        #: (``JobService.store_new``), so no one sees a job here before its upload.
        self._new: dict[str, NewJob] = {}

    def create(self, request: JobRequest, size: int) -> JobTicket:
        job = self.service.new(request, size)
        self._new[job.record.job_id] = job
        return JobTicket(job.record.job_id, job.record.key, job.token)

    def upload(
        self, ticket: JobTicket, body: BinaryIO, progress: Callable[[int], None] | None
    ) -> None:
        job = self._new.pop(ticket.job_id)
        self.service.store_new(job, cast(BinaryIO, _Reported(body, progress)))

    def wait(self, ticket: JobTicket, seconds: float) -> JobResult | None:
        record = self.service.wait(ticket.job_id, ticket.token, seconds)
        if not record.state.ended:
            return None
        if self._keep_done and record.state is JobState.DONE:
            self._done[ticket.job_id] = record
        # Not written by a worker of ours without one; say so rather than wait on forever.
        return stored_result(record) or ended_without_result(ticket)

    def counts(self, ticket: JobTicket) -> Iterator[bytes]:
        """The job's full counts as CSV chunks (``JobService.counts``)."""
        record = self._done.pop(ticket.job_id, None)
        if record is None:
            return self.service.counts(ticket.job_id, ticket.token)
        return self.service.counts_of(record)


def ended_without_result(ticket: JobTicket) -> JobResult:
    """What a job that ended with no readable result reports."""
    return JobResult(ticket.key, ticket.job_id, FAILURE, "the job ended without a result")


def in_process_settings() -> JobSettings:
    """The job service's settings for a client on its own machine: no upload limit
    beyond the compatible path's (the limit guards a shared service)."""
    return JobSettings(max_upload_bytes=sys.maxsize)


class JobClient:
    def __init__(self, transport: JobTransport) -> None:
        self.transport = transport
        self._tickets: dict[str, JobTicket] = {}
        #: The last error of a job store that did not answer while waiting (None: it did).
        self.unavailable: str | None = None

    def upload(
        self,
        handles: list[tuple[str, BinaryIO]],
        request: JobRequest,
        progress: ProgressFactory | None = None,
    ) -> list[Submission]:
        """Create a job for each opened file and upload it; closes the files. Errors
        name the file, as ``Client.upload``'s do."""
        submissions = []
        try:
            request.to_metadata()  # RequestError before any job is created
            for path, fh in handles:
                with sized(path, fh) as (body, size):
                    ticket = self._create(path, request, size)
                    callback = progress(path, size) if progress else None
                    try:
                        self.transport.upload(ticket, body, callback)
                    except (BackendError, UploadRefused) as exc:
                        raise type(exc)(f"{path}: {exc}") from exc
                log.debug("uploaded", file=path, key=ticket.key, bytes=size)
                self._tickets[ticket.key] = ticket
                submissions.append(Submission(path, ticket.key))
        finally:
            for path, fh in handles:
                if path != "-":
                    fh.close()
        return submissions

    def _create(self, path: str, request: JobRequest, size: int) -> JobTicket:
        try:
            return self.transport.create(request, size)
        except (BackendError, UploadRefused) as exc:
            raise type(exc)(f"{path}: {exc}") from exc

    def collect(
        self,
        submissions: list[Submission],
        timeout: float,
        on_result: Callable[[Submission], None],
    ) -> list[Submission]:
        """Wait for each submission's result, in order; returns those still pending at
        timeout (after one last look at each, so that every result that is in by then
        is reported)."""
        deadline = time.monotonic() + timeout
        for sub in submissions:
            while sub.result is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                sub.result = self._wait(sub, min(left, MAX_WAIT_S))
            if sub.result is None:
                break
            on_result(sub)
        for sub in submissions:
            if sub.result is None:
                sub.result = self._wait(sub, 0)
                if sub.result is not None:
                    on_result(sub)
        return [s for s in submissions if s.result is None]

    def _wait(self, sub: Submission, seconds: float) -> JobResult | None:
        started = time.monotonic()
        try:
            return self.transport.wait(self._tickets[sub.key], seconds)
        except TransientError as exc:
            if self.unavailable is None:  # once: the timeout's line repeats it
                log.warning("job store unavailable; retrying", error=str(exc))
            self.unavailable = str(exc)
            time.sleep(max(0.0, min(1.0, seconds - (time.monotonic() - started))))
            return None


class _Reported(io.RawIOBase):
    """A body whose reads are reported to a progress callback."""

    def __init__(self, body: BinaryIO, progress: Callable[[int], None] | None) -> None:
        self._body = body
        self._progress = progress

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        data = self._body.read(n)
        if data and self._progress is not None:
            self._progress(len(data))
        return data


@contextmanager
def sized(path: str, fh: BinaryIO) -> Iterator[tuple[BinaryIO, int]]:
    """The file's bytes and their count: a regular file as it is; anything else (its
    size unknown or, as for ``/proc`` files, reported as 0) copied to an anonymous
    temporary file first. Read errors name the file."""
    source = io.BufferedReader(NamedSource(path, fh))
    size = _regular_size(fh) if path != "-" else None
    if size is not None:
        yield source, size
        return
    with tempfile.TemporaryFile() as spool:
        try:
            shutil.copyfileobj(source, spool, 1 << 20)
        except OSError as exc:
            raise InputError(f"cannot copy {path} to a temporary file: {exc}") from exc
        size = spool.tell()
        spool.seek(0)
        yield spool, size


def _regular_size(fh: BinaryIO) -> int | None:
    """The size of a regular file with content; None when it must be spooled."""
    try:
        st = os.fstat(fh.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        return None
    return st.st_size if stat.S_ISREG(st.st_mode) and st.st_size > 0 else None
