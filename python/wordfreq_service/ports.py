"""The ports every backend implements: an object store, an SQS-like queue, a job store.

Nothing outside ``wordfreq_service.adapters`` knows which backend runs; services receive a
:class:`Backend` and talk only to these protocols. The semantics are S3's and SQS's:

* Object metadata keys are lower-case ASCII (S3 lower-cases ``x-amz-meta-*`` names).
* ``receive`` returns at most ``max_messages`` (1..10) messages, waits up to
  ``wait_seconds`` for the first one (long polling), and hides each returned message for
  the visibility timeout it is given, or the queue's own when it is given none; a message
  that is not deleted reappears when it expires.
* Each receive increments the message's receive count; once a message has been received
  ``max_receive_count`` times and comes back again, it moves to the dead-letter queue
  instead (SQS's redrive policy).
* Messages older than the queue's retention period are dropped.

The job store keeps the job path's records (``JobRecord``): a job only ever moves
forward through ``JobState``'s order, by conditional writes, so two workers finishing
the same job (a duplicate delivery) cannot both write its result, and a late ``running``
cannot undo ``done``. A record past its ``expires_at`` is gone, whether or not the
backend has deleted it yet (DynamoDB's TTL deletes lazily).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, BinaryIO, Protocol, runtime_checkable

#: Retention periods, as in the seed's stack.
WORK_QUEUE_RETENTION_S = 4 * 24 * 3600
DEAD_LETTER_RETENTION_S = 14 * 24 * 3600
RESULT_QUEUE_RETENTION_S = 2 * 3600
DEFAULT_MAX_RECEIVE_COUNT = 5
#: SQS's visibility timeout for a queue created without one.
DEFAULT_VISIBILITY_TIMEOUT_S = 30
#: SQS's longest visibility timeout: 12 hours.
MAX_VISIBILITY_TIMEOUT_S = 12 * 3600
MAX_LONG_POLL_S = 20
MAX_BATCH = 10
#: SQS's longest DelaySeconds for a message sent: 15 minutes.
MAX_DELAY_S = 15 * 60


def check_delay(delay_seconds: int) -> None:
    """Refuse a send delay SQS would refuse, on every backend alike."""
    if not 0 <= delay_seconds <= MAX_DELAY_S:
        raise ValueError(f"delay_seconds must be 0..{MAX_DELAY_S}, not {delay_seconds}")


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str
    metadata: Mapping[str, str] = field(default_factory=dict)


class ObjectReader(Protocol):
    """An open object: its info and a streamed body."""

    @property
    def info(self) -> ObjectInfo: ...

    def iter_chunks(self, chunk_size: int = 1 << 20) -> Iterator[bytes]: ...


@runtime_checkable
class ObjectStore(Protocol):
    @property
    def bucket(self) -> str: ...

    def put(
        self,
        key: str,
        body: BinaryIO,
        metadata: Mapping[str, str] | None = None,
        *,
        progress: Callable[[int], None] | None = None,
    ) -> ObjectInfo:
        """Store ``body`` (read in chunks until EOF) under ``key``; ``progress`` gets byte
        counts as they are sent. Publishes the ObjectCreated event when notifications
        are configured."""
        ...

    def get(
        self, key: str, *, start: int = 0, end: int | None = None
    ) -> AbstractContextManager[ObjectReader]:
        """Open the object for streaming: its body is the bytes ``[start, end)`` (``end``
        None: to the object's end; a range past the end is empty, not an error), its
        ``info`` the whole object's (size, ETag, metadata) whatever the range. Raises
        NoSuchKey."""
        ...

    def head(self, key: str) -> ObjectInfo:
        """Raises NoSuchKey."""
        ...

    def delete(self, key: str) -> None:
        """Idempotent, as in S3: deleting a missing key is not an error."""
        ...

    def upload_url(
        self, key: str, size: int, metadata: Mapping[str, str], expires_in: int
    ) -> UploadTarget | None:
        """A URL through which anyone holding it may store exactly ``size`` bytes under
        ``key`` with ``metadata`` (an S3 pre-signed PUT, which binds all three), valid
        for ``expires_in`` seconds; None when the store has no URL of its own, and the
        job service takes the upload itself."""
        ...


@dataclass(frozen=True)
class UploadTarget:
    """Where and how a client sends a job's bytes."""

    url: str
    method: str
    #: Headers the upload must carry exactly (the signature covers them).
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Message:
    message_id: str
    receipt_handle: str
    body: str
    #: ApproximateReceiveCount, including this receive.
    receive_count: int
    #: SentTimestamp, seconds since the epoch.
    sent_timestamp: float


@runtime_checkable
class MessageQueue(Protocol):
    @property
    def url(self) -> str: ...

    def send(self, body: str, delay_seconds: int = 0) -> str:
        """Enqueue; returns the message ID. ``delay_seconds`` (0..900, as SQS's
        DelaySeconds) keeps the message invisible that long after it is sent."""
        ...

    def receive(
        self,
        max_messages: int = 1,
        wait_seconds: float = 0,
        visibility_timeout: int | None = None,
    ) -> list[Message]: ...

    def delete(self, receipt_handle: str) -> None:
        """Raises ReceiptHandleInvalid for an unknown handle."""
        ...

    def delete_batch(self, receipt_handles: Sequence[str]) -> list[str]:
        """Delete up to 10; returns the handles that failed (checked per entry)."""
        ...

    def change_visibility(self, receipt_handle: str, timeout: int) -> None: ...

    def visibility_timeout(self) -> int:
        """The queue's own visibility timeout, in seconds: how long a receive that names
        none hides a message."""
        ...

    def approximate_count(self) -> int:
        """ApproximateNumberOfMessages: visible messages waiting."""
        ...

    def max_receive_count(self) -> int | None:
        """The redrive policy's maxReceiveCount: a message received this many times
        moves to the dead-letter queue when it comes back once more, so the receive
        whose count reaches it is the last. None when the queue has no redrive policy."""
        ...


class JobState(StrEnum):
    """A job's states, in the only order it moves through them."""

    WAITING_FOR_UPLOAD = "waiting_for_upload"
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

    @property
    def rank(self) -> int:
        """Position in the order; ``done`` and ``failed`` share the last."""
        # Looked up, not recomputed: a worker asks it dozens of times a job.
        return _JOB_STATE_RANKS[self]

    @property
    def ended(self) -> bool:
        return self.rank == 3


_JOB_STATE_RANKS = {state: min(index, 3) for index, state in enumerate(JobState)}


@dataclass(frozen=True)
class JobRecord:
    job_id: str
    #: The object key the upload goes to, chosen by the service.
    key: str
    #: The job request in its API JSON form (``JobRequest.to_json``).
    options: Mapping[str, Any]
    #: The exact byte count the upload must have.
    size: int
    #: SHA-256 (hex) of the job's token; the token itself is never stored.
    token_hash: str
    state: JobState
    #: Seconds since the epoch.
    created_at: float
    updated_at: float
    #: Seconds since the epoch, whole: DynamoDB's TTL reads whole seconds, and its store
    #: rounds a fraction up.
    expires_at: float
    #: When ended: the result message (``formats.results.JobResult.to_json``).
    result: str | None = None
    #: Seconds since the epoch: set while a worker holds the job's event on its last
    #: receive before the dead-letter queue, and renewed while that worker lives. A job
    #: not ended by then never will be (``JobStore.lease``).
    lease_until: float | None = None
    #: A ``done`` job's full counts held in the record itself (the gzip-compressed CSV
    #: of ``results/<job_id>.csv.gz``), when small (``formats.jobs.INLINE_COUNTS_MAX_CSV_BYTES``);
    #: None: they are that object, or the job has none.
    counts: bytes | None = None


@runtime_checkable
class JobStore(Protocol):
    def create(self, record: JobRecord) -> None:
        """Store a new record; raises JobExists if its ID is taken."""
        ...

    def get(self, job_id: str, *, now: float | None = None) -> JobRecord | None:
        """The record, or None for an unknown job or one expired at ``now``."""
        ...

    def advance(
        self,
        job_id: str,
        state: JobState,
        *,
        result: str | None = None,
        counts: bytes | None = None,
        now: float | None = None,
    ) -> JobRecord | None:
        """Move the job to ``state`` (stamping ``updated_at`` and, given, ``result`` and
        ``counts``) if its current state comes strictly earlier in the order; returns the
        new record, or None when the job is unknown, expired, or already that far.
        Atomic: the counts land with the state or not at all."""
        ...

    def lease(
        self, job_id: str, until: float | None, *, now: float | None = None
    ) -> JobRecord | None:
        """Set the job's ``lease_until`` to ``until`` (None: no lease) if it has not ended;
        returns the new record, or None when the job is unknown, expired or ended.
        Atomic, as ``advance``: a lease never lands on an ended job."""
        ...

    def ping(self) -> None:
        """Raise TransientError unless the store answers."""
        ...

    def purge_expired(self, *, now: float | None = None) -> list[str]:
        """Delete expired records now, where the backend does not do it on its own
        (DynamoDB's TTL does); returns the IDs of the jobs deleted, so their stored
        counts can go too."""
        ...

    # -- the splits of big objects (``service/worker/split.py``) ------------------------

    def add_part(
        self,
        split_id: str,
        part: int,
        parts: int,
        *,
        failure: str | None = None,
        expires_at: float,
        now: float | None = None,
    ) -> SplitProgress:
        """Record that part ``part`` of ``parts`` is done (failed, with ``failure``);
        creates the split's record, to last until ``expires_at``, on its first part.
        Atomic and idempotent per part: a part recorded already changes nothing (its
        first failure or success stands). Returns the progress after it.
        ``SplitPlanMismatch`` (and nothing recorded) when the split's record holds
        another ``parts``: one split, one plan."""
        ...

    def split_progress(self, split_id: str, *, now: float | None = None) -> SplitProgress | None:
        """The split's progress, or None for an unknown or expired split."""
        ...

    def mark_merged(self, split_id: str, *, now: float | None = None) -> None:
        """Record that the split's merged result has been delivered. Idempotent; an
        unknown or expired split is left alone."""
        ...

    def purge_expired_splits(self, *, now: float | None = None) -> list[SplitProgress]:
        """Delete expired split records now, where the backend does not do it on its own
        (DynamoDB's TTL does); returns them, so their parts' counts can go too."""
        ...

    # -- corpus jobs (``POST /corpora``): the same expiry rules as jobs ------------------

    def create_corpus(self, record: CorpusRecord) -> None:
        """Store a new corpus record; raises JobExists if its ID is taken."""
        ...

    def get_corpus(self, corpus_id: str, *, now: float | None = None) -> CorpusRecord | None:
        """The corpus record, or None for an unknown or expired one."""
        ...

    def finish_corpus(self, corpus_id: str, *, now: float | None = None) -> CorpusRecord | None:
        """Move the corpus from ``running`` to ``done`` (stamping ``updated_at``); the new
        record, or None when it is unknown, expired or done already. Atomic: of two
        merges that race, one finishes it."""
        ...

    def get_jobs(self, job_ids: Sequence[str], *, now: float | None = None) -> list[JobRecord]:
        """The live records among ``job_ids`` (unknown and expired ones left out), in
        batches: what a corpus reads to see whether its members have ended."""
        ...

    def purge_expired_corpora(self, *, now: float | None = None) -> list[str]:
        """As ``purge_expired``, for corpus records: the IDs deleted."""
        ...


@dataclass(frozen=True)
class SplitProgress:
    """How far the parts of one split object have got (``JobStore.add_part``)."""

    split_id: str
    #: How many parts the object was split into.
    parts: int
    #: The parts recorded, counted or failed.
    done: frozenset[int]
    #: The first failure a part recorded (its result's status message); None: none failed.
    failure: str | None = None
    #: Whether a worker has delivered the merged result.
    merged: bool = False

    @property
    def complete(self) -> bool:
        return len(self.done) >= self.parts


class CorpusState(StrEnum):
    """A corpus job's states: ``running`` until every member has ended and the merged
    counts are stored, then ``done``."""

    RUNNING = "running"
    DONE = "done"


@dataclass(frozen=True)
class CorpusRecord:
    """A corpus job: jobs of the job service counted as one (``POST /corpora``)."""

    corpus_id: str
    #: SHA-256 (hex) of the corpus's token, as a job's.
    token_hash: str
    #: The members' job request, the same for all (``JobRequest.to_json``).
    options: Mapping[str, Any]
    #: The members' job IDs, in the order given.
    members: tuple[str, ...]
    state: CorpusState
    created_at: float
    updated_at: float
    #: Whole seconds since the epoch, as a job's.
    expires_at: float


@dataclass(frozen=True)
class Backend:
    """What a service needs: the upload store and the queues around it."""

    store: ObjectStore
    work_queue: MessageQueue
    result_queue: MessageQueue
    dead_letter_queue: MessageQueue | None = None
    name: str = "embedded"
    #: Opens the store of another bucket named by an event (the AWS worker reads
    #: whichever bucket notifies it, as the seed's did); None: only ``store``'s bucket.
    open_store: Callable[[str], ObjectStore] | None = None
    #: The job path's records; None where no job service exists (the compatible path).
    jobs: JobStore | None = None
    #: Every job upload reaches ``store`` through the job service, which marks the job
    #: ``queued`` as it stores it (no pre-signed URLs: the embedded stack); workers
    #: then skip marking the jobs of a batch they receive, a write per job.
    service_marks_queued: bool = False
    #: Stores a job's upload and announces it with the job's record written in the same
    #: transaction as its event (``JobService.store_new``); None where the record
    #: must be written on its own first (the job store is not the queue's database).
    store_job_upload: Callable[[JobRecord, BinaryIO, Mapping[str, str]], ObjectInfo] | None = None
    #: Removes uploads no message names any more, left by a worker killed between
    #: delivering a result and deleting the upload; returns how many. None where the
    #: bucket expires them itself (S3's lifecycle rule).
    sweep_leftover_uploads: Callable[[], int] | None = None

    def store_for(self, bucket: str) -> ObjectStore | None:
        """The store holding ``bucket``'s objects, or None when this backend has none."""
        if bucket == self.store.bucket:
            return self.store
        return self.open_store(bucket) if self.open_store is not None else None
