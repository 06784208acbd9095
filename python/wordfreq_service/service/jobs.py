"""The job service: create a job, take (or let the store take) its upload, and hand its
result only to the holder of its token.

Used by the HTTP API (``wordfreq_service.api``) and, on the embedded stack, directly by
``wordfreq submit``. A job's token is random, stored only as a SHA-256 hash and compared
in constant time; an unknown job, an expired one and a wrong token are the same
:class:`JobNotFound`, so a caller cannot probe for other people's jobs.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from typing import BinaryIO, Final, TypeVar

from wordfreq_service.errors import ConfigError, NoSuchKey, TransientError, WordfreqError
from wordfreq_service.formats.corpus import corpus_objects
from wordfreq_service.formats.job_request import JobRequest
from wordfreq_service.formats.jobs import (
    JOB_ID_METADATA,
    counts_csv,
    counts_key,
    is_job_id,
    job_key,
    job_objects,
    new_job_id,
)
from wordfreq_service.formats.results import FAILURE, JobResult
from wordfreq_service.ports import Backend, JobRecord, JobState, JobStore, UploadTarget

#: How long a job and its stored counts are kept: 7 days.
JOB_RETENTION_S: Final = 7 * 24 * 3600
#: How often the embedded stack's workers delete expired jobs and their counts (besides
#: whenever the stack is opened): an hour past their expiry at most.
JOB_SWEEP_S: Final = 3600
#: How long an upload URL works.
UPLOAD_EXPIRY_S: Final = 3600
#: The largest upload ``POST /jobs`` accepts unless configured otherwise: 1 GiB.
DEFAULT_MAX_UPLOAD_BYTES: Final = 1 << 30
#: The longest ``?wait=`` a request may hold, as SQS's long poll.
MAX_WAIT_S: Final = 20
_DUMMY_HASH: Final = hashlib.sha256(b"no such job").hexdigest()


class JobNotFound(WordfreqError):
    """No job with this ID for this token (unknown, expired or wrong token alike)."""


class UploadRefused(WordfreqError):
    """An upload that does not match its job (size, headers, state)."""


class TooLarge(UploadRefused):
    """A job whose size is over the service's limit."""


@dataclass(frozen=True)
class JobSettings:
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    upload_expiry_s: int = UPLOAD_EXPIRY_S
    retention_s: int = JOB_RETENTION_S


@dataclass(frozen=True)
class NewJob:
    record: JobRecord
    token: str
    #: The user metadata the upload carries: the options and the job ID.
    metadata: Mapping[str, str]
    #: When the upload URL stops working (seconds since the epoch).
    upload_expires_at: float


def wait_pauses(
    seconds: float, *, monotonic: Callable[[], float] = time.monotonic
) -> Iterator[float]:
    """The pauses between polls of a wait for a job to end: from 50 ms up to every
    second, until ``seconds`` (at most MAX_WAIT_S; none for a negative or NaN) have
    passed since this call. Shared by ``JobService.wait`` and the API's asynchronous
    wait."""
    # ``not >=`` is true for NaN too, which would otherwise never reach a deadline.
    wait_s = min(seconds, MAX_WAIT_S) if seconds >= 0 else 0.0
    deadline = monotonic() + wait_s

    def pauses() -> Iterator[float]:
        pause = 0.05
        while (left := deadline - monotonic()) > 0:
            yield min(pause, left)
            pause = min(pause * 1.5, 1.0)

    return pauses()


def _checked(record: JobRecord | None, job_id: str, token: str) -> JobRecord:
    """``record`` if ``token`` is its token, else JobNotFound; compared in constant time,
    against a dummy hash when there is no record, so an unknown job takes as long."""
    expected = record.token_hash if record is not None else _DUMMY_HASH
    if not hmac.compare_digest(hash_token(token), expected) or record is None:
        raise JobNotFound(f"no such job: {job_id}")
    return record


T = TypeVar("T")


def polled(
    fetch: Callable[[], T],
    ended: Callable[[T], bool],
    pauses: Iterator[float],
    sleep: Callable[[float], None],
) -> T:
    """``fetch()`` again after each of ``pauses`` until ``ended`` says so or the pauses
    run out; the last value read. Shared by the waits for a job and for a corpus."""
    value = fetch()
    while not ended(value):
        pause = next(pauses, None)
        if pause is None:
            break
        sleep(pause)
        value = fetch()
    return value


def hash_token(token: str) -> str:
    # surrogatepass: any string a caller hands in hashes (to no token's hash) rather
    # than raising UnicodeEncodeError past the API's error handling.
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def upload_metadata(request: JobRequest, job_id: str) -> dict[str, str]:
    return {**request.to_metadata(), JOB_ID_METADATA: job_id}


class JobService:
    def __init__(
        self,
        backend: Backend,
        settings: JobSettings | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if backend.jobs is None:
            raise ConfigError("this backend has no job store")
        self.backend = backend
        self.jobs: JobStore = backend.jobs
        self.settings = settings or JobSettings()
        self._clock = clock

    def now(self) -> float:
        """The service's clock: seconds since the epoch."""
        return self._clock()

    # -- creating ------------------------------------------------------------------

    def create(self, request: JobRequest, size: int) -> NewJob:
        """A new job for an upload of exactly ``size`` bytes. Raises TooLarge over the
        limit and RequestError for options that cannot travel."""
        job = self.new(request, size)
        self.jobs.create(job.record)
        return job

    def new(self, request: JobRequest, size: int) -> NewJob:
        """:meth:`create`'s job, not stored yet: :meth:`store_new` stores it with its
        upload."""
        if size < 0:
            raise UploadRefused(f"size: {size} is negative")
        limit = self.settings.max_upload_bytes
        if size > limit:
            raise TooLarge(f"size: {size} bytes is over this service's limit of {limit} bytes")
        job_id = new_job_id()
        metadata = upload_metadata(request, job_id)  # RequestError before anything is stored
        token = secrets.token_urlsafe(32)
        now = self._clock()
        record = JobRecord(
            job_id=job_id,
            key=job_key(job_id),
            options=request.to_json(),
            size=size,
            token_hash=hash_token(token),
            state=JobState.WAITING_FOR_UPLOAD,
            created_at=now,
            updated_at=now,
            # Whole seconds, as DynamoDB's TTL reads them: the record reads back as made.
            expires_at=float(math.ceil(now + self.settings.retention_s)),
        )
        return NewJob(record, token, metadata, now + self.settings.upload_expiry_s)

    def store_new(self, job: NewJob, body: BinaryIO) -> JobRecord:
        """Store ``job`` (made by :meth:`new`, in this process) with its upload ``body``,
        which must be exactly the job's size. Where the backend can (the embedded
        stack), the upload is stored and fsynced, then the job is written ``queued`` in
        the same transaction as the upload's event: nothing is written of a refused or
        failed upload, and the job exists exactly when its event does. Elsewhere the
        job is created, then takes its upload as :meth:`accept_upload` does."""
        store_job_upload = self.backend.store_job_upload
        if store_job_upload is None:
            self.jobs.create(job.record)
            return self.accept_upload(job.record.job_id, body)
        record = replace(job.record, state=JobState.QUEUED, updated_at=self._clock())
        store_job_upload(record, _ExactSize(body, record.size), job.metadata)  # type: ignore[arg-type]
        return record

    def upload_target(self, job: NewJob) -> UploadTarget | None:
        """The store's own upload URL for the job (an S3 pre-signed PUT), or None when
        the service must take the upload itself (``accept_upload``)."""
        return self.backend.store.upload_url(
            job.record.key, job.record.size, job.metadata, self.settings.upload_expiry_s
        )

    # -- uploading through the service ------------------------------------------------

    def accept_upload(
        self, job_id: str, body: BinaryIO, *, allowed_s: float | None = None
    ) -> JobRecord:
        """Store ``body`` as the job's upload; it must be exactly the job's size and
        start within the upload period, as a pre-signed URL's would. The caller has
        checked the right to upload (a signed URL, or it created the job), and bounds
        how long the bytes may take to arrive: ``allowed_s`` (default: an upload
        period). A refused upload stores nothing and leaves the job waiting for one."""
        now = self._clock()
        record = self.jobs.get(job_id, now=now) if is_job_id(job_id) else None
        if record is None:
            raise JobNotFound(f"no such job: {job_id}")
        if record.state is not JobState.WAITING_FOR_UPLOAD:
            raise UploadRefused("this job has its upload already")
        if now > self.upload_deadline(record):
            raise UploadRefused("this job's upload period has ended: create a new job")
        # While its bytes arrive, possibly past the upload period, the lease keeps a
        # reader (``settled``) from failing the job as one whose upload never came.
        allowed = self.settings.upload_expiry_s if allowed_s is None else allowed_s
        if self.jobs.lease(job_id, now + allowed, now=now) is None:
            raise UploadRefused("this job has ended: create a new job")
        request = JobRequest.from_json(record.options)
        exact = _ExactSize(body, record.size)
        self.backend.store.put(record.key, exact, upload_metadata(request, job_id))  # type: ignore[arg-type]
        # The upload's lease is no attempt's (a queued job whose lease lapses reads as
        # given up): it goes once the upload is stored. A refused one's stays, keeping
        # the job waiting no longer than the upload might have taken.
        self.jobs.lease(job_id, None, now=self._clock())
        queued = self.jobs.advance(job_id, JobState.QUEUED, now=self._clock())
        # None: a worker took the upload already (running, or even done) and moved the
        # job on; read what it is now rather than the record from before the upload.
        return queued or self.jobs.get(job_id, now=self._clock()) or record

    # -- reading -------------------------------------------------------------------------

    def find(self, job_id: str, token: str) -> JobRecord:
        """The job, if ``token`` is its token; else JobNotFound. A job whose last
        attempt's lease has lapsed is stored, and returned, as ``failed``."""
        now = self._clock()
        record = self.jobs.get(job_id, now=now) if is_job_id(job_id) else None
        return self.settled(_checked(record, job_id, token), now)

    def find_all(self, members: Sequence[tuple[str, str]]) -> list[JobRecord]:
        """The jobs ``members`` (``(job_id, token)`` pairs), in order, read in batches
        (``JobStore.get_jobs``) and each checked against its token as :meth:`find` does;
        JobNotFound for the first that fails. As stored: a lapsed lease is not settled
        here (what a corpus needs of its members, their options, never changes)."""
        ids = [job_id for job_id, _ in members if is_job_id(job_id)]
        found = {r.job_id: r for r in self.jobs.get_jobs(ids, now=self._clock())} if ids else {}
        return [_checked(found.get(job_id), job_id, token) for job_id, token in members]

    def settled(self, record: JobRecord, now: float) -> JobRecord:
        """``record`` as a reader should see it at ``now``: ``failed`` (stored so) when
        its last attempt's lease has lapsed, or when its upload period ended with no
        upload stored or arriving."""
        if record.state.ended:
            return record
        if record.state is JobState.WAITING_FOR_UPLOAD:
            if now <= self.upload_deadline(record) or self._upload_arrived(record, now):
                return record
            return self._fail(
                record,
                now,
                f"expired: no upload arrived within its upload period "
                f"({self.settings.upload_expiry_s} s); create a new job",
            )
        if record.lease_until is None or record.lease_until >= now:
            return record
        # The worker stopped during the last attempt: the event has gone to the
        # dead-letter queue, and no worker will receive it again.
        return self._fail(
            record,
            now,
            "given up: the worker stopped during each attempt (killed, or out of memory) "
            "and the event went to the dead-letter queue",
        )

    def _upload_arrived(self, record: JobRecord, now: float) -> bool:
        """Whether the waiting job's upload is arriving (the service's lease on it) or
        stored: on AWS it goes to the store directly, and the job leaves
        ``waiting_for_upload`` only when a worker receives its event."""
        if record.lease_until is not None and record.lease_until >= now:
            return True
        try:
            self.backend.store.head(record.key)
        except NoSuchKey:
            return False
        return True

    def upload_deadline(self, record: JobRecord) -> float:
        """When the job's upload period ends (seconds since the epoch): an upload must
        be stored by then."""
        return record.created_at + self.settings.upload_expiry_s

    def _fail(self, record: JobRecord, now: float, reason: str) -> JobRecord:
        """Store ``record`` as ``failed`` for ``reason``, unless it has ended meanwhile.
        A store that takes no writes now (locked, full) still gets the failed view: a
        read must not fail on a write, and the next read stores it."""
        result = JobResult(record.key, record.job_id, FAILURE, reason)
        result.duration_ns = max(0, int((now - record.created_at) * 1e9))
        try:
            failed = self.jobs.advance(
                record.job_id, JobState.FAILED, result=result.to_json(), now=now
            )
        except TransientError:
            return replace(record, state=JobState.FAILED, result=result.to_json(), updated_at=now)
        if failed is not None:
            return failed
        # Ended meanwhile (a worker finished after all, or another reader marked it).
        return self.jobs.get(record.job_id, now=now) or record

    def wait(
        self,
        job_id: str,
        token: str,
        seconds: float,
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> JobRecord:
        """The job once it has ended, or as it is after ``seconds`` (at most MAX_WAIT_S;
        none for a negative or NaN). Polls the store at ``wait_pauses``."""
        return polled(
            lambda: self.find(job_id, token),
            lambda r: r.state.ended,
            wait_pauses(seconds, monotonic=monotonic),
            sleep,
        )

    def counts(self, job_id: str, token: str) -> Iterator[bytes]:
        """The job's full counts as CSV, streamed. JobNotFound until the job is done
        (and for a failed one, which has none)."""
        return self.counts_of(self.find(job_id, token))

    def counts_of(self, record: JobRecord) -> Iterator[bytes]:
        """:meth:`counts` of ``record``, as :meth:`find` or :meth:`wait` returned it: a
        job seen ``done`` stays done, so the store is not read again for it."""
        job_id = record.job_id
        if record.state is not JobState.DONE:
            raise JobNotFound(f"job {job_id} has no counts ({record.state.value})")
        if record.counts is not None:
            return counts_csv((record.counts,))
        # Opened before the first byte is sent: a missing object is a 404, not a
        # response cut short.
        held = ExitStack()
        try:
            reader = held.enter_context(self.backend.store.get(counts_key(job_id)))
        except NoSuchKey as exc:
            raise JobNotFound(f"job {job_id}'s counts have expired") from exc

        def stream() -> Iterator[bytes]:
            with held:
                yield from counts_csv(reader.iter_chunks())

        return stream()

    def expire(self) -> list[str]:
        """Delete expired jobs, their stored counts and any upload no worker took (and
        expired corpus jobs with their merged counts), where
        the backend does not do it on its own (on AWS, DynamoDB's TTL and the bucket's
        lifecycle do); returns their IDs."""
        expired = self.jobs.purge_expired(now=self._clock())
        for job_id in expired:
            for key in job_objects(job_id):
                self.backend.store.delete(key)
        # Corpus jobs (``service.corpora``) expire alike, with their merged counts.
        for corpus_id in self.jobs.purge_expired_corpora(now=self._clock()):
            for key in corpus_objects(corpus_id):
                self.backend.store.delete(key)
        return expired


class _ExactSize:
    """A body that must be exactly ``size`` bytes: reading past it, or reaching the end
    before it, raises UploadRefused (so the store abandons the put, publishing nothing)."""

    def __init__(self, body: BinaryIO, size: int) -> None:
        self._body = body
        self._left = size
        self._size = size

    def read(self, n: int = -1) -> bytes:
        want = self._left + 1 if n is None or n < 0 else min(n, self._left + 1)
        data = self._body.read(want) if want > 0 else b""
        if len(data) > self._left:
            raise UploadRefused(f"the upload is longer than the job's size ({self._size} bytes)")
        self._left -= len(data)
        if not data and self._left > 0:
            raise UploadRefused(
                f"the upload ended {self._left} bytes short of the job's size ({self._size} bytes)"
            )
        return data
