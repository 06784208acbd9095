"""The worker's job path, on both backends: an upload made for a job of the job service
gets its result in the job store, with every word's count stored beside it, and nothing
on the shared result queue; anything that is not a live job's upload takes the
compatible path, as before."""

from __future__ import annotations

import dataclasses
import gzip
import io
import itertools
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from string import ascii_lowercase
from typing import Any, cast

import httpx
import pytest
from structlog.testing import capture_logs
from wordfreq_service.adapters.embedded import open_embedded
from wordfreq_service.errors import BackendError, NoSuchKey, TransientError
from wordfreq_service.formats.job_request import JobRequest
from wordfreq_service.formats.jobs import (
    COUNTS_SIZE_METADATA,
    INLINE_COUNTS_MAX_CSV_BYTES,
    counts_key,
    new_job_id,
    stored_result,
)
from wordfreq_service.formats.results import JobResult
from wordfreq_service.formats.s3event import object_created_event
from wordfreq_service.ports import (
    Backend,
    JobRecord,
    JobState,
    JobStore,
    Message,
    ObjectInfo,
    ObjectReader,
    ObjectStore,
)
from wordfreq_service.service.jobs import JOB_RETENTION_S, JobNotFound, JobService, NewJob
from wordfreq_service.service.worker import VisibilityKeeper, Worker, WorkerSettings

from tests.aws_fixtures import open_stack
from tests.helpers import ROOT, run_wordfreq
from tests.test_worker import SETTINGS, drain_once

BOOK = ROOT / "samples" / "snelling-photography.txt"
BACKENDS = ["embedded", "aws"]
OPTIONS = ["--top", "5", "--stopwords", "english", "--min-length", "3"]
REQUEST = JobRequest.make(top=5, stopwords="english", min_length=3)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "embedded":
        opened = open_embedded(tmp_path)
    else:
        stack = request.getfixturevalue("aws_stack")
        opened = open_stack(stack, request.getfixturevalue("aws_session"))
    for m in opened.work_queue.receive(10, wait_seconds=0.5):  # S3's test event, if any
        opened.work_queue.delete(m.receipt_handle)
    return opened


def service_of(backend: Backend, **kwargs: Any) -> JobService:
    return JobService(backend, **kwargs)


def submit(service: JobService, body: bytes, request: JobRequest = REQUEST) -> NewJob:
    """Create a job and upload ``body`` as a client does: to the store's pre-signed URL
    where it has one (S3), else through the service."""
    job = service.create(request, len(body))
    target = service.upload_target(job)
    if target is None:
        service.accept_upload(job.record.job_id, io.BytesIO(body))
    else:
        headers = dict(target.headers)
        answer = httpx.request(target.method, target.url, headers=headers, content=body)
        assert answer.status_code == 200, answer.text
    return job


def upload_as_s3_would(backend: Backend, job: NewJob, body: bytes, **meta: str) -> ObjectInfo:
    """The object a pre-signed PUT leaves, without the service seeing it arrive."""
    return backend.store.put(job.record.key, io.BytesIO(body), {**job.metadata, **meta})


def record_of(service: JobService, job: NewJob) -> JobRecord:
    return service.find(job.record.job_id, job.token)


def result_of(service: JobService, job: NewJob) -> JobResult:
    result = stored_result(record_of(service, job))
    assert result is not None
    return result


def result_messages(backend: Backend) -> list[dict[str, Any]]:
    out = []
    for m in backend.result_queue.receive(10, wait_seconds=0.5):
        out.append(json.loads(m.body))
        backend.result_queue.delete(m.receipt_handle)
    return out


def gone(store: ObjectStore, key: str) -> bool:
    try:
        store.head(key)
    except NoSuchKey:
        return True
    return False


def test_a_done_job_has_its_result_and_every_words_count(backend: Backend) -> None:
    service = service_of(backend)
    job = submit(service, BOOK.read_bytes())
    worker = drain_once(backend)
    assert worker.jobs_done == 1
    record = record_of(service, job)
    assert record.state is JobState.DONE
    result = result_of(service, job)
    direct = json.loads(run_wordfreq(["count", "--json", *OPTIONS, str(BOOK)]).stdout)
    assert [{"word": w, "count": c} for w, c in result.words] == direct["words"]
    assert (result.total, result.unique, result.skipped) == (
        direct["total"],
        direct["unique"],
        direct["skipped"],
    )
    assert (result.file_key, result.job_id, result.mode) == (job.record.key, record.job_id, "words")
    # Every word, as `count --csv` lists them with the same options and no --top.
    csv = b"".join(service.counts(record.job_id, job.token)).decode()
    every = run_wordfreq(["count", "--csv", *OPTIONS[2:], str(BOOK)]).stdout
    assert csv == every and csv.count("\n") - 1 == result.unique
    assert csv.splitlines()[1:6] == [f"{w},{c}" for w, c in result.words]
    # Nothing for the shared queue; the upload is gone. The book's counts are under the
    # limit a record holds: there, and no object.
    assert result_messages(backend) == []
    assert gone(backend.store, job.record.key)
    assert len(csv.encode()) <= INLINE_COUNTS_MAX_CSV_BYTES and record.counts is not None
    assert gone(backend.store, counts_key(record.job_id))


def _distinct_words() -> list[str]:
    """Four-letter words, each once, in order: their counts CSV (a row of 7 bytes each)
    is just over the limit a job record holds."""
    wanted = INLINE_COUNTS_MAX_CSV_BYTES // 7 + 1
    return [
        "".join(w) for w in itertools.islice(itertools.product(ascii_lowercase, repeat=4), wanted)
    ]


def test_a_small_jobs_counts_are_held_in_its_record_and_no_object_stored(
    backend: Backend,
) -> None:
    service = service_of(backend)
    job = submit(service, b"Two one two; three two three", JobRequest.make(top=1))
    drain_once(backend)
    record = record_of(service, job)
    assert record.state is JobState.DONE and record.counts is not None
    assert gone(backend.store, counts_key(job.record.job_id))
    csv = b"".join(service.counts(job.record.job_id, job.token)).decode()
    assert csv == "word,count\ntwo,3\nthree,2\none,1\n"
    # Every word, though the result keeps the top one only.
    assert [w for w, _ in result_of(service, job).words] == ["two"]


def test_counts_over_the_record_limit_are_stored_apart(backend: Backend) -> None:
    service = service_of(backend)
    words = _distinct_words()
    job = submit(service, " ".join(words).encode(), JobRequest.make(top=1))
    drain_once(backend)
    record = record_of(service, job)
    assert record.state is JobState.DONE and record.counts is None
    # Stored with the size a download sends, uncompressed (the API inlines or redirects
    # by it).
    stored = backend.store.head(counts_key(job.record.job_id))
    csv = b"".join(service.counts(job.record.job_id, job.token))
    assert stored.metadata[COUNTS_SIZE_METADATA] == str(len(csv))
    assert csv.decode().splitlines()[1:] == [f"{w},1" for w in words]
    # S3 announces the counts object too (a notification cannot leave a prefix out);
    # that event is not a job. The embedded bucket does not announce it at all.
    announced = ["debug"] if backend.name != "embedded" else []
    with capture_logs() as logs:
        assert drain_once(backend).jobs_done == 0
    assert result_messages(backend) == [] and backend.work_queue.approximate_count() == 0
    ignored = [e["log_level"] for e in logs if e["event"] == "event for stored counts ignored"]
    assert ignored == announced


def test_an_upload_that_cannot_be_counted_fails_its_job(backend: Backend) -> None:
    service = service_of(backend)
    broken = gzip.compress(b"words " * 5000)[:-30] + b"\x00\x01broken"
    job = submit(service, broken)
    drain_once(backend)
    assert record_of(service, job).state is JobState.FAILED
    result = result_of(service, job)
    assert not result.ok and "gzip" in result.status_message
    with pytest.raises(JobNotFound):
        service.counts(job.record.job_id, job.token)
    assert gone(backend.store, counts_key(job.record.job_id))
    assert result_messages(backend) == []


class _HeldDeletes:
    """A store whose deletes wait until ``release`` is set."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store
        self.release = threading.Event()
        self.waiting = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def delete(self, key: str) -> None:
        self.waiting.set()
        self.release.wait(10)
        self._store.delete(key)


def test_a_slow_delete_of_a_counted_upload_holds_up_no_job_and_ends_with_the_batch(
    tmp_path: Path,
) -> None:
    backend = open_embedded(tmp_path)
    held = _HeldDeletes(backend.store)
    slow = dataclasses.replace(backend, store=cast(ObjectStore, held))
    service = service_of(slow)
    first, second = submit(service, b"one two two"), submit(service, b"three")
    batch = threading.Thread(target=drain_once, args=(slow,))
    batch.start()
    try:
        # The second job is counted while the first one's upload waits to be deleted.
        deadline = time.monotonic() + 10
        while record_of(service, second).state is not JobState.DONE:
            assert time.monotonic() < deadline, "the second job waited for a delete"
            time.sleep(0.02)
        assert held.waiting.wait(10) and not gone(backend.store, first.record.key)
        assert batch.is_alive(), "the batch returned before its uploads were deleted"
    finally:
        held.release.set()
        batch.join(10)
    assert gone(backend.store, first.record.key) and gone(backend.store, second.record.key)


def test_a_duplicate_delivery_of_an_ended_job_is_not_counted_again(backend: Backend) -> None:
    service = service_of(backend)
    body = b"one two two"
    job = submit(service, body)
    drain_once(backend)
    before = record_of(service, job)
    assert before.state is JobState.DONE
    # The upload back, as if the first worker had died before deleting it, and the
    # event delivered again: a fresh worker, which has not seen the key.
    info = upload_as_s3_would(backend, job, body)
    backend.work_queue.send(
        object_created_event(backend.store.bucket, info.key, info.size, info.etag)
    )
    with capture_logs() as logs:
        for _ in range(2):
            assert drain_once(backend).jobs_done == 0
    assert record_of(service, job) == before
    assert gone(backend.store, job.record.key)
    assert result_messages(backend) == []
    events = [e["event"] for e in logs]
    assert "duplicate delivery of an ended job ignored" in events and "job started" not in events


@pytest.mark.parametrize("case", ["no such job", "another job's id", "another key", "expired"])
def test_uploads_that_are_no_live_jobs_take_the_compatible_path(
    backend: Backend, case: str
) -> None:
    service = service_of(backend)
    job = service.create(REQUEST, 11)
    key, meta = job.record.key, dict(job.metadata)
    if case == "no such job":
        unknown = new_job_id()
        key, meta["job-id"] = f"jobs/{unknown}", unknown
    elif case == "another job's id":
        meta["job-id"] = new_job_id()
    elif case == "another key":
        key = "somewhere-else.txt"
    else:
        ago = time.time() - JOB_RETENTION_S - 60
        job = service_of(backend, clock=lambda: ago).create(REQUEST, 11)
        key, meta = job.record.key, dict(job.metadata)
    backend.store.put(key, io.BytesIO(b"one two two"), meta)
    with capture_logs() as logs:
        drain_once(backend)
    [message] = result_messages(backend)
    assert (message["FileKey"], message["Status"]) == (key, "success")
    assert message["Words"] == [{"Word": "two", "Count": 2}, {"Word": "one", "Count": 1}]
    assert message["JobID"] != job.record.job_id
    if case != "expired":
        # The job it named is still waiting for its own upload (or at most queued).
        state = record_of(service, job).state
        assert state in (JobState.WAITING_FOR_UPLOAD, JobState.QUEUED)
    assert any("compatible path" in e["event"] for e in logs), logs


class _Unreadable:
    """The backend's store, with every read refused as S3 refuses one without access."""

    def __init__(self, store: ObjectStore) -> None:
        self.bucket = store.bucket
        self.put, self.head, self.delete = store.put, store.head, store.delete

    def get(self, key: str) -> AbstractContextManager[ObjectReader]:
        raise BackendError(f"access denied: {key}")


def test_the_last_receive_before_the_dead_letter_queue_fails_the_job(backend: Backend) -> None:
    service = service_of(backend)
    job = submit(service, b"never read")
    before = record_of(service, job)
    unreadable = dataclasses.replace(backend, store=cast(ObjectStore, _Unreadable(backend.store)))
    limit = backend.work_queue.max_receive_count()
    assert limit is not None
    for _ in range(limit - 1):
        drain_once(unreadable)
    # Retries: not over yet (queued at most, when a batch held the event twice).
    assert record_of(service, job).state in (before.state, JobState.QUEUED)
    drain_once(unreadable)  # the last receive
    assert record_of(service, job).state is JobState.FAILED
    result = result_of(service, job)
    assert "dead-letter" in result.status_message and "access denied" in result.status_message
    assert (result.file_key, result.job_id) == (job.record.key, job.record.job_id)
    assert result_messages(backend) == []
    drain_once(unreadable)
    assert backend.dead_letter_queue is not None
    assert len(backend.dead_letter_queue.receive(10, wait_seconds=0.5)) == 1


class _Unavailable:
    """A job store that does not answer."""

    def get(self, job_id: str, *, now: float | None = None) -> JobRecord | None:
        raise TransientError("job store unavailable")

    def advance(self, job_id: str, state: JobState, **kwargs: Any) -> JobRecord | None:
        raise TransientError("job store unavailable")


def test_a_job_store_that_does_not_answer_leaves_the_job_for_later(backend: Backend) -> None:
    service = service_of(backend)
    job = submit(service, b"one two two")
    before = record_of(service, job)  # queued where the service took the upload itself
    down = dataclasses.replace(backend, jobs=cast(JobStore, _Unavailable()))
    settings = dataclasses.replace(SETTINGS, visibility_timeout=1)
    keeper = VisibilityKeeper(down, 1)
    try:
        messages = down.work_queue.receive(10, wait_seconds=0.5, visibility_timeout=1)
        Worker(down, settings).process_batch(messages, keeper)
    finally:
        keeper.close()
    assert record_of(service, job) == before
    assert result_messages(backend) == [] and not gone(backend.store, job.record.key)
    # The message reappears once its visibility timeout (as the keeper last extended
    # it) runs out, and the job is done then.
    deadline = time.monotonic() + 10
    while drain_once(backend, settings).jobs_done == 0:
        assert time.monotonic() < deadline, "the message did not come back"
    assert result_of(service, job).words == [("two", 2), ("one", 1)]


class _WatchedReader:
    def __init__(self, reader: ObjectReader, seen: Any) -> None:
        self._reader, self._seen = reader, seen

    @property
    def info(self) -> ObjectInfo:
        return self._reader.info

    def iter_chunks(self, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        self._seen()
        return self._reader.iter_chunks(chunk_size)


class _Watched:
    """The backend's store; when ``key``'s bytes are first read, ``seen`` is called."""

    def __init__(self, store: ObjectStore, key: str, seen: Any) -> None:
        self._store, self._key, self._seen = store, key, seen
        self.bucket = store.bucket
        self.put, self.head, self.delete = store.put, store.head, store.delete

    @contextmanager
    def get(self, key: str) -> Iterator[ObjectReader]:
        with self._store.get(key) as reader:
            yield _WatchedReader(reader, self._seen) if key == self._key else reader


def test_jobs_in_a_received_batch_read_queued_while_the_first_runs(backend: Backend) -> None:
    # Uploaded straight to the store (as to S3): no service sees them arrive.
    service = service_of(backend)
    first, second = (service.create(REQUEST, 11) for _ in range(2))
    for job in (first, second):
        upload_as_s3_would(backend, job, b"one two two")
        assert record_of(service, job).state is JobState.WAITING_FOR_UPLOAD
    states: list[JobState] = []

    def seen() -> None:
        states.extend(record_of(service, j).state for j in (first, second))

    # Uploads that bypass the service, as on AWS: the embedded stack's workers leave
    # the mark to the service, which has none to make here.
    watched = dataclasses.replace(
        backend,
        store=cast(ObjectStore, _Watched(backend.store, first.record.key, seen)),
        service_marks_queued=False,
    )
    assert drain_once(watched).jobs_done == 2
    assert states == [JobState.RUNNING, JobState.QUEUED]
    assert [record_of(service, j).state for j in (first, second)] == [JobState.DONE] * 2


def _expire_all(data_dir: Path) -> None:
    with sqlite3.connect(data_dir / "queues.sqlite3") as db:
        db.execute("UPDATE jobs SET expires_at = ?", (time.time() - 1,))


def _job_rows(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "queues.sqlite3") as db:
        return int(db.execute("SELECT count(*) FROM jobs").fetchone()[0])


#: An upload whose counts are too large for its record: stored apart, under ``results/``.
_MANY_WORDS = " ".join(_distinct_words()).encode()


def test_expired_jobs_go_with_their_counts_when_the_stack_opens(tmp_path: Path) -> None:
    backend = open_embedded(tmp_path)
    job = submit(service_of(backend), _MANY_WORDS)
    drain_once(backend)
    assert not gone(backend.store, counts_key(job.record.job_id))
    _expire_all(tmp_path)
    open_embedded(tmp_path)
    assert _job_rows(tmp_path) == 0
    assert gone(backend.store, counts_key(job.record.job_id))


def test_a_long_running_worker_deletes_expired_jobs_and_their_counts(tmp_path: Path) -> None:
    backend = open_embedded(tmp_path)
    job = submit(service_of(backend), _MANY_WORDS)
    drain_once(backend)
    assert not gone(backend.store, counts_key(job.record.job_id))
    _expire_all(tmp_path)
    stop = threading.Event()
    worker = Worker(backend, WorkerSettings(wait_seconds=0.1, job_sweep_seconds=0.2), stop=stop)
    thread = threading.Thread(target=worker.run)
    thread.start()
    deadline = time.monotonic() + 10
    while _job_rows(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join()
    assert _job_rows(tmp_path) == 0
    assert gone(backend.store, counts_key(job.record.job_id))


class _Killed(BaseException):
    """The worker's process ending mid-job (an OOM kill, a task stopped): nothing in the
    worker catches it, and nothing it holds is renewed again."""

    messages: list[Message]


#: How long the lease tests' workers hold a message (and lease its job) for.
HOLD_S = 1


def _attempt(backend: Backend, jobs: list[NewJob], while_counting: Any) -> None:
    """One receive of the jobs' events, in one batch, by a worker that runs
    ``while_counting`` once any of them has started, then lets its keeper go (as a
    process's death would). ``_Killed`` carries the messages received."""
    store = backend.store
    for job in jobs:
        store = cast(ObjectStore, _Watched(store, job.record.key, while_counting))
    watched = dataclasses.replace(backend, store=store)
    keeper = VisibilityKeeper(watched, HOLD_S)
    messages = watched.work_queue.receive(10, wait_seconds=0.5, visibility_timeout=HOLD_S)
    assert len(messages) == len(jobs)
    try:
        settings = dataclasses.replace(SETTINGS, visibility_timeout=HOLD_S)
        Worker(watched, settings).process_batch(messages, keeper)
    except _Killed as killed:
        killed.messages = messages
        raise
    finally:
        keeper.close()


def _kill() -> None:
    raise _Killed


def _killed_attempts(backend: Backend, service: JobService, jobs: list[NewJob]) -> None:
    """Every receive of the jobs' events short of the last, each by a worker killed
    mid-job."""
    limit = backend.work_queue.max_receive_count()
    assert limit is not None
    for _ in range(limit - 1):
        with pytest.raises(_Killed) as killed:
            _attempt(backend, jobs, _kill)
        # Not the last receive: no job holds a lease, as their events come back.
        assert all(record_of(service, job).lease_until is None for job in jobs)
        for message in killed.value.messages:
            # Visible again now rather than once the hold runs out: a shorter test.
            backend.work_queue.change_visibility(message.receipt_handle, 0)


def _read_once_lapsed(service: JobService, job: NewJob) -> JobRecord:
    """The job as read once its lease has lapsed."""
    leased = record_of(service, job)
    assert leased.lease_until is not None and leased.lease_until <= time.time() + HOLD_S
    time.sleep(max(0.0, leased.lease_until - time.time()) + 0.1)
    return record_of(service, job)


def _assert_failed_by_the_lease(backend: Backend, service: JobService, jobs: list[NewJob]) -> None:
    for job in jobs:
        assert _read_once_lapsed(service, job).state is JobState.FAILED
        result = result_of(service, job)
        assert "worker stopped during each attempt" in result.status_message
        assert "dead-letter" in result.status_message
    assert result_messages(backend) == []
    # The events are where the results say.
    assert backend.dead_letter_queue is not None
    assert backend.work_queue.receive(10, wait_seconds=0.5) == []
    assert len(backend.dead_letter_queue.receive(10, wait_seconds=0.5)) == len(jobs)


def test_a_worker_killed_on_every_receive_leaves_a_failed_job(backend: Backend) -> None:
    service = service_of(backend)
    job = submit(service, b"one two two")
    _killed_attempts(backend, service, [job])
    assert record_of(service, job).state is JobState.RUNNING
    with pytest.raises(_Killed):
        _attempt(backend, [job], _kill)  # the last receive
    # Until the lease lapses, the worker may yet be alive.
    assert record_of(service, job).state is JobState.RUNNING
    _assert_failed_by_the_lease(backend, service, [job])


def test_a_job_behind_a_killed_one_in_its_batch_fails_too(backend: Backend) -> None:
    # The worker dies on whichever job it starts first: the other is not started on the
    # last attempt (it may read queued throughout), and holds a lease all the same.
    service = service_of(backend)
    jobs = [submit(service, b"one two two") for _ in range(2)]
    _killed_attempts(backend, service, jobs)
    states = [record_of(service, job).state for job in jobs]
    assert JobState.RUNNING in states and set(states) <= {JobState.QUEUED, JobState.RUNNING}
    with pytest.raises(_Killed):
        _attempt(backend, jobs, _kill)
    _assert_failed_by_the_lease(backend, service, jobs)


def test_a_long_last_attempt_renews_its_lease_and_ends_done(backend: Backend) -> None:
    service = service_of(backend)
    job = submit(service, b"one two two")
    _killed_attempts(backend, service, [job])
    seen: list[tuple[JobState, float | None]] = []

    def count_slowly() -> None:
        # Two holds long: the first lease would have lapsed halfway.
        for _ in range(4):
            time.sleep(HOLD_S / 2)
            record = record_of(service, job)
            seen.append((record.state, record.lease_until))

    _attempt(backend, [job], count_slowly)
    assert [state for state, _ in seen] == [JobState.RUNNING] * 4
    leases = [lease for _, lease in seen if lease is not None]
    assert len(leases) == len(seen) and leases == sorted(leases)
    assert result_of(service, job).words == [("two", 2), ("one", 1)]
