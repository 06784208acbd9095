"""The job service (``service.jobs.JobService``) on both backends: creating jobs, taking
uploads of exactly the promised size, handing a job only to its token's holder, waiting
for it to end, streaming its counts and forgetting it when it expires.

"embedded": SQLite and files in a temporary directory; "aws": S3, SQS and DynamoDB on
moto's server (the service takes uploads itself here too: the API on AWS hands out
pre-signed URLs instead, tested in ``test_upload_url.py``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wordfreq_service.adapters.aws import open_aws
from wordfreq_service.adapters.embedded import open_embedded
from wordfreq_service.errors import JobExists, NoSuchKey
from wordfreq_service.formats.job_request import JobRequest
from wordfreq_service.formats.jobs import (
    COUNTS_HEADER,
    JOB_ID_METADATA,
    counts_key,
    job_key,
    stored_result,
    write_counts,
)
from wordfreq_service.formats.results import FAILURE
from wordfreq_service.formats.s3event import parse_message
from wordfreq_service.ports import Backend, JobState, ObjectInfo
from wordfreq_service.service.jobs import (
    JOB_RETENTION_S,
    MAX_WAIT_S,
    UPLOAD_EXPIRY_S,
    JobNotFound,
    JobService,
    JobSettings,
    NewJob,
    TooLarge,
    UploadRefused,
)

from tests.aws_fixtures import create_aws_stack

START = 1_800_000_000.5
BODY = b"the silver plate and the copper plate\n"
REQUEST = JobRequest.make(mode="words", top=5, stopwords="english")


class Clock:
    """The service's wall clock, moved by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["embedded", "aws"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "embedded":
        return open_embedded(tmp_path / "data")
    session: boto3.Session = request.getfixturevalue("aws_session")
    stack = create_aws_stack(request.getfixturevalue("moto_endpoint"), session=session)
    return open_aws(
        bucket=stack.bucket,
        work_queue_url=stack.work_queue_url,
        result_queue_url=stack.result_queue_url,
        session=session,
        job_table=stack.job_table,
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(backend: Backend, clock: Clock) -> JobService:
    return JobService(backend, JobSettings(max_upload_bytes=1000), clock=clock)


def _uploaded_keys(backend: Backend) -> list[str]:
    """The keys of the ObjectCreated events waiting on the work queue (taken off it)."""
    keys = []
    while batch := backend.work_queue.receive(max_messages=10, visibility_timeout=60):
        for message in batch:
            parsed = parse_message(message.body)
            if isinstance(parsed, list):
                keys += [record.key for record in parsed if record.is_object_created]
    return keys


def _done(service: JobService, job: NewJob, words: list[tuple[str, int]]) -> None:
    """What a worker does for a finished job: store its counts, then end it."""
    packed = io.BytesIO()
    write_counts(words, packed)
    packed.seek(0)
    service.backend.store.put(counts_key(job.record.job_id), packed)
    assert service.jobs.advance(job.record.job_id, JobState.DONE, result="{}") is not None


# -- creating ---------------------------------------------------------------------------


def test_a_new_job_is_recorded_with_a_hash_of_its_token(service: JobService, clock: Clock) -> None:
    job = service.create(REQUEST, len(BODY))
    record = job.record
    assert service.jobs.get(record.job_id) == record
    assert record.key == job_key(record.job_id)
    assert JobRequest.from_json(record.options) == REQUEST
    assert record.size == len(BODY)
    assert record.state is JobState.WAITING_FOR_UPLOAD
    assert record.created_at == record.updated_at == START
    assert START + JOB_RETENTION_S <= record.expires_at < START + JOB_RETENTION_S + 1
    assert job.upload_expires_at == START + UPLOAD_EXPIRY_S
    assert record.token_hash == hashlib.sha256(job.token.encode()).hexdigest()
    assert len(job.token) >= 32
    assert job.token not in repr(asdict(record))
    assert job.metadata[JOB_ID_METADATA] == record.job_id
    assert JobRequest.from_metadata(job.metadata, default_mode="seed") == REQUEST
    other = service.create(REQUEST, len(BODY))
    assert other.record.job_id != record.job_id and other.token != job.token


def test_the_size_limit_is_inclusive(service: JobService) -> None:
    assert service.create(REQUEST, 1000).record.size == 1000
    with pytest.raises(TooLarge, match="1001 bytes is over this service's limit of 1000"):
        service.create(REQUEST, 1001)


def test_a_negative_size_is_refused_but_not_as_too_large(service: JobService) -> None:
    with pytest.raises(UploadRefused, match="negative") as caught:
        service.create(REQUEST, -1)
    assert not isinstance(caught.value, TooLarge)


# -- finding ------------------------------------------------------------------------------


def test_only_the_token_finds_the_job(service: JobService, clock: Clock) -> None:
    job = service.create(REQUEST, len(BODY))
    other = service.create(REQUEST, len(BODY))
    job_id = job.record.job_id
    assert service.find(job_id, job.token) == job.record
    refused = [
        (job_id, other.token),  # another job's token
        (job_id, job.token[:-1]),
        (job_id, ""),
        (job_id, job.record.token_hash),  # the stored hash is not the token
        (job_id, "\ud800"),  # not encodable: still only "not found"
        ("0" * 32, job.token),  # unknown
        (job_id.upper(), job.token),  # malformed IDs
        ("../" + job_id, job.token),
        ("", job.token),
        (job_id * 100, job.token),
    ]
    for candidate, token in refused:
        with pytest.raises(JobNotFound):
            service.find(candidate, token)


def test_an_expired_job_is_not_found(service: JobService, clock: Clock) -> None:
    job = service.create(REQUEST, len(BODY))
    clock.now = job.record.expires_at - 1
    assert service.find(job.record.job_id, job.token).job_id == job.record.job_id
    clock.now = job.record.expires_at
    with pytest.raises(JobNotFound):
        service.find(job.record.job_id, job.token)


@pytest.mark.parametrize("state", [JobState.QUEUED, JobState.RUNNING])
def test_a_job_whose_last_attempts_lease_lapsed_reads_and_stays_failed(
    service: JobService, clock: Clock, state: JobState
) -> None:
    job = service.create(REQUEST, len(BODY))
    job_id = job.record.job_id
    assert service.jobs.advance(job_id, state, now=START) is not None
    assert service.jobs.lease(job_id, START + 30, now=START) is not None
    clock.now = START + 30  # the lease's last moment: the worker may still renew it
    assert service.find(job_id, job.token).state is state
    clock.now = START + 30.001
    found = service.find(job_id, job.token)
    assert found.state is JobState.FAILED and found.updated_at == clock.now
    result = stored_result(found)
    assert result is not None and result.status == FAILURE
    assert (result.file_key, result.job_id) == (job.record.key, job_id)
    assert "worker stopped during each attempt" in result.status_message
    assert "dead-letter queue" in result.status_message
    assert result.duration_ns == pytest.approx(30.001e9)
    # Stored, not only shown: every later reader, and a late worker, find it failed.
    assert service.jobs.get(job_id, now=clock.now) == found
    assert service.jobs.advance(job_id, JobState.DONE, result="late", now=clock.now) is None
    clock.now += 100
    assert service.find(job_id, job.token) == found


def test_a_lapsed_lease_does_not_touch_an_ended_job(service: JobService, clock: Clock) -> None:
    job = service.create(REQUEST, len(BODY))
    job_id = job.record.job_id
    service.jobs.lease(job_id, START + 1, now=START)
    done = service.jobs.advance(job_id, JobState.DONE, result='{"status": "ok"}', now=START)
    assert done is not None and done.lease_until == START + 1
    clock.now = START + 1000
    assert service.find(job_id, job.token) == done


def test_a_job_without_a_lease_stays_running(service: JobService, clock: Clock) -> None:
    # Earlier attempts hold no lease: the event will be received again.
    job = service.create(REQUEST, len(BODY))
    running = service.jobs.advance(job.record.job_id, JobState.RUNNING, now=START)
    clock.now = job.record.expires_at - 1
    assert service.find(job.record.job_id, job.token) == running


# -- uploading through the service ------------------------------------------------------------


def test_an_upload_of_exactly_the_size_is_stored_and_announced(service: JobService) -> None:
    job = service.create(REQUEST, len(BODY))
    _uploaded_keys(service.backend)  # s3:TestEvent from the bucket's notification
    record = service.accept_upload(job.record.job_id, io.BytesIO(BODY))
    assert record.state is JobState.QUEUED
    assert service.find(job.record.job_id, job.token).state is JobState.QUEUED
    with service.backend.store.get(job.record.key) as reader:
        assert b"".join(reader.iter_chunks()) == BODY
        assert dict(reader.info.metadata) == job.metadata
    assert _uploaded_keys(service.backend) == [job.record.key]


@pytest.mark.parametrize("body", [BODY[:-1], BODY + b"!", b""], ids=["short", "long", "empty"])
def test_an_upload_of_another_size_stores_nothing(service: JobService, body: bytes) -> None:
    job = service.create(REQUEST, len(BODY))
    _uploaded_keys(service.backend)
    with pytest.raises(UploadRefused, match=f"{len(BODY)} bytes"):
        service.accept_upload(job.record.job_id, io.BytesIO(body))
    with pytest.raises(NoSuchKey):
        service.backend.store.head(job.record.key)
    assert _uploaded_keys(service.backend) == []
    # The job still waits: a right upload is taken.
    assert service.find(job.record.job_id, job.token).state is JobState.WAITING_FOR_UPLOAD
    assert service.accept_upload(job.record.job_id, io.BytesIO(BODY)).state is JobState.QUEUED


def test_an_empty_job_takes_an_empty_upload(service: JobService) -> None:
    job = service.create(REQUEST, 0)
    assert service.accept_upload(job.record.job_id, io.BytesIO(b"")).state is JobState.QUEUED
    with pytest.raises(UploadRefused):
        service.accept_upload(service.create(REQUEST, 0).record.job_id, io.BytesIO(b"x"))


def test_a_second_upload_is_refused_and_the_first_kept(service: JobService) -> None:
    job = service.create(REQUEST, len(BODY))
    service.accept_upload(job.record.job_id, io.BytesIO(BODY))
    _uploaded_keys(service.backend)
    other = BODY.upper()
    with pytest.raises(UploadRefused, match="already"):
        service.accept_upload(job.record.job_id, io.BytesIO(other))
    with service.backend.store.get(job.record.key) as reader:
        assert b"".join(reader.iter_chunks()) == BODY
    assert _uploaded_keys(service.backend) == []


def test_an_upload_after_the_upload_period_is_refused(service: JobService, clock: Clock) -> None:
    job = service.create(REQUEST, len(BODY))
    clock.now = job.upload_expires_at + 1
    with pytest.raises(UploadRefused, match="upload period"):
        service.accept_upload(job.record.job_id, io.BytesIO(BODY))
    with pytest.raises(NoSuchKey):
        service.backend.store.head(job.record.key)


class _HeldBody(io.RawIOBase):
    """An upload body whose bytes arrive only once ``arrive`` is set."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.arrive = threading.Event()
        self.reading = threading.Event()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self.reading.set()
        assert self.arrive.wait(30), "the test never let the bytes arrive"
        chunk, self.data = self.data[: len(buffer)], self.data[len(buffer) :]
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_an_upload_arriving_as_the_upload_period_ends_is_counted_not_expired(
    service: JobService, clock: Clock
) -> None:
    job = service.create(REQUEST, len(BODY))
    job_id = job.record.job_id
    body = _HeldBody(BODY)
    clock.now = job.upload_expires_at - 10  # the upload starts inside its period
    stored: list[Any] = []
    uploader = threading.Thread(
        target=lambda: stored.append(
            service.accept_upload(job_id, body, allowed_s=60)  # type: ignore[arg-type]
        )
    )
    uploader.start()
    try:
        assert body.reading.wait(30)
        clock.now = job.upload_expires_at + 20  # a reader looks while the bytes arrive
        assert service.find(job_id, job.token).state is JobState.WAITING_FOR_UPLOAD
    finally:
        body.arrive.set()
        uploader.join(30)
    assert stored[0].state is JobState.QUEUED
    # The upload's lease is no attempt's: it is gone, and long after it the job still
    # waits its turn rather than reading as given up.
    assert stored[0].lease_until is None
    clock.now += 10 * UPLOAD_EXPIRY_S
    assert service.find(job_id, job.token).state is JobState.QUEUED


def test_a_job_whose_upload_is_stored_but_not_yet_received_is_not_expired(
    service: JobService, clock: Clock
) -> None:
    """On AWS the upload goes to the store directly; the job leaves waiting_for_upload
    only when a worker receives the event, which a backlog may hold past the period."""
    job = service.create(REQUEST, len(BODY))
    service.backend.store.put(job.record.key, io.BytesIO(BODY), job.metadata)
    clock.now = job.upload_expires_at + 600
    assert service.find(job.record.job_id, job.token).state is JobState.WAITING_FOR_UPLOAD
    # A job with nothing stored does expire, saying so.
    empty = service.create(REQUEST, len(BODY))
    clock.now = empty.upload_expires_at + 1
    failed = service.find(empty.record.job_id, empty.token)
    assert failed.state is JobState.FAILED
    result = stored_result(failed)
    assert result is not None and "expired: no upload arrived" in result.status_message


@pytest.mark.parametrize("job_id", ["0" * 32, "", "../" + "0" * 32, "x" * 5000])
def test_an_upload_for_no_job_is_refused(service: JobService, job_id: str) -> None:
    with pytest.raises(JobNotFound):
        service.accept_upload(job_id, io.BytesIO(BODY))


# -- waiting ------------------------------------------------------------------------------


def test_wait_returns_as_soon_as_the_job_ends(service: JobService) -> None:
    job = service.create(REQUEST, len(BODY))
    service.accept_upload(job.record.job_id, io.BytesIO(BODY))

    def finish() -> None:
        time.sleep(0.3)
        service.jobs.advance(job.record.job_id, JobState.FAILED, result='{"status": "x"}')

    worker = threading.Thread(target=finish)
    started = time.monotonic()
    worker.start()
    record = service.wait(job.record.job_id, job.token, MAX_WAIT_S)
    elapsed = time.monotonic() - started
    worker.join()
    assert record.state is JobState.FAILED and record.result == '{"status": "x"}'
    assert 0.3 <= elapsed < MAX_WAIT_S / 2


class FakeTime:
    """A monotonic clock that only sleeps move."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("asked", "waited"),
    [(3.0, 3.0), (0.0, 0.0), (-5.0, 0.0), (float("nan"), 0.0), (1e9, MAX_WAIT_S)],
)
def test_wait_gives_up_after_the_seconds_asked(
    service: JobService, asked: float, waited: float
) -> None:
    job = service.create(REQUEST, len(BODY))
    fake = FakeTime()
    record = service.wait(
        job.record.job_id, job.token, asked, sleep=fake.sleep, monotonic=fake.monotonic
    )
    assert record.state is JobState.WAITING_FOR_UPLOAD
    assert fake.now == pytest.approx(waited)
    # Polls back off to one a second: a 20 s wait is a few dozen reads, not thousands.
    assert len(fake.sleeps) <= 15 + waited
    assert max(fake.sleeps, default=0) <= 1.0


def test_wait_needs_the_token(service: JobService) -> None:
    job = service.create(REQUEST, len(BODY))
    other = service.create(REQUEST, len(BODY))
    with pytest.raises(JobNotFound):
        service.wait(job.record.job_id, other.token, 1.0)


# -- counts ---------------------------------------------------------------------------------


def _csv_text(words: list[tuple[str, int]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COUNTS_HEADER)
    writer.writerows(words)
    return out.getvalue()


#: Words as the counting modes make them: never whitespace or control characters (which
#: split words), but commas, quotes and any script.
_word = st.text(
    st.characters(exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1, max_size=30
)
_words = st.lists(
    st.tuples(_word | st.sampled_from(['"quoted"', "a,b", "l'eau", "ΟΔΟΣ"]), st.integers(1, 2**40)),
    max_size=50,
    unique_by=lambda pair: pair[0],
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(words=_words)
def test_counts_stream_every_word_as_csv(service: JobService, words: list[tuple[str, int]]) -> None:
    job = service.create(REQUEST, len(BODY))
    _done(service, job, words)
    text = b"".join(service.counts(job.record.job_id, job.token)).decode()
    assert text == _csv_text(words)
    assert [tuple(row) for row in csv.reader(io.StringIO(text, newline=""))][1:] == [
        (word, str(count)) for word, count in words
    ]


def test_large_counts_arrive_whole_in_pieces(service: JobService) -> None:
    words = [(f"word{i:07d}", 200_000 - i) for i in range(200_000)]
    job = service.create(REQUEST, len(BODY))
    _done(service, job, words)
    chunks = list(service.counts(job.record.job_id, job.token))
    assert len(chunks) > 1
    assert b"".join(chunks).decode() == _csv_text(words)


@pytest.mark.parametrize("state", [s for s in JobState if s is not JobState.DONE])
def test_a_job_not_done_has_no_counts(service: JobService, state: JobState) -> None:
    job = service.create(REQUEST, len(BODY))
    packed = io.BytesIO()
    write_counts([("plate", 2)], packed)
    packed.seek(0)
    # Counts in the store: only the state can be the reason they are refused.
    service.backend.store.put(counts_key(job.record.job_id), packed)
    if state is not JobState.WAITING_FOR_UPLOAD:
        assert service.jobs.advance(job.record.job_id, state) is not None
    with pytest.raises(JobNotFound):
        service.counts(job.record.job_id, job.token)


def test_counts_need_the_token(service: JobService) -> None:
    job = service.create(REQUEST, len(BODY))
    _done(service, job, [("plate", 2)])
    with pytest.raises(JobNotFound):
        service.counts(job.record.job_id, service.create(REQUEST, 1).token)


def test_counts_gone_from_the_store_are_not_found(service: JobService) -> None:
    job = service.create(REQUEST, len(BODY))
    _done(service, job, [("plate", 2)])
    service.backend.store.delete(counts_key(job.record.job_id))
    with pytest.raises(JobNotFound, match="expired"):
        service.counts(job.record.job_id, job.token)


# -- expiry -----------------------------------------------------------------------------------


def test_expire_deletes_records_counts_and_uploads(
    service: JobService, clock: Clock, backend: Backend
) -> None:
    if backend.name == "aws":
        pytest.skip("aws: DynamoDB's TTL and the bucket's lifecycle rule expire jobs")
    old = service.create(REQUEST, len(BODY))
    service.accept_upload(old.record.job_id, io.BytesIO(BODY))
    _done(service, old, [("plate", 2)])
    clock.now += 3600
    young = service.create(REQUEST, len(BODY))
    _done(service, young, [("plate", 3)])
    clock.now = old.record.expires_at
    assert service.expire() == [old.record.job_id]
    for key in (counts_key(old.record.job_id), old.record.key):
        with pytest.raises(NoSuchKey):
            backend.store.head(key)
    # Deleted, not merely past its expiry.
    assert service.jobs.get(old.record.job_id, now=START) is None
    assert b"".join(service.counts(young.record.job_id, young.token)).endswith(b"plate,3\n")
    assert service.expire() == []


def test_expire_leaves_aws_jobs_to_their_ttl(
    service: JobService, clock: Clock, backend: Backend
) -> None:
    if backend.name != "aws":
        pytest.skip("embedded: the service deletes expired jobs itself")
    job = service.create(REQUEST, len(BODY))
    _done(service, job, [("plate", 2)])
    clock.now = job.record.expires_at
    assert service.expire() == []
    with pytest.raises(JobNotFound):
        service.find(job.record.job_id, job.token)


def test_an_upload_a_worker_took_at_once_reports_the_job_as_it_is(
    service: JobService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker may take the upload and move the job on before the service marks it
    ``queued``; the upload's answer then says what the job is now, not what it was."""
    job = service.create(REQUEST, len(BODY))
    store = service.backend.store
    real_put = store.put

    def put_then_worker_starts(*args: Any, **kwargs: Any) -> ObjectInfo:
        info = real_put(*args, **kwargs)
        service.jobs.advance(job.record.job_id, JobState.RUNNING)
        return info

    monkeypatch.setattr(store, "put", put_then_worker_starts)
    record = service.accept_upload(job.record.job_id, io.BytesIO(BODY))
    assert record.state is JobState.RUNNING


def test_opening_the_embedded_stack_deletes_expired_jobs_and_all_they_own(
    tmp_path: Path,
) -> None:
    """An upload no worker took (dead-lettered, say) goes with its expired job, as its
    counts do: once the record is gone nothing could find it again."""
    backend = open_embedded(tmp_path / "data")
    # A job created so long ago that it has a few seconds left.
    service = JobService(backend, clock=lambda: time.time() - JOB_RETENTION_S + 5)
    job = service.create(REQUEST, len(BODY))
    backend.store.put(job.record.key, io.BytesIO(BODY))
    _done(service, job, [("plate", 2)])
    time.sleep(max(0.0, job.record.expires_at - time.time()) + 0.1)
    open_embedded(tmp_path / "data")
    for key in (job.record.key, counts_key(job.record.job_id)):
        with pytest.raises(NoSuchKey):
            backend.store.head(key)
    assert backend.jobs is not None and backend.jobs.get(job.record.job_id, now=START) is None


# -- a job stored with its upload (the in-process client on the embedded stack) ---------


def _messages(backend: Backend) -> int:
    return backend.work_queue.approximate_count()


def test_a_job_stored_with_its_upload_exists_exactly_when_its_event_does(tmp_path: Path) -> None:
    service = JobService(open_embedded(tmp_path), JobSettings(max_upload_bytes=1000))
    _uploaded_keys(service.backend)  # s3:TestEvent
    job = service.new(REQUEST, len(BODY))
    with pytest.raises(JobNotFound):  # made, not stored: nobody sees it yet
        service.find(job.record.job_id, job.token)
    record = service.store_new(job, io.BytesIO(BODY))
    assert record.state is JobState.QUEUED
    assert service.find(job.record.job_id, job.token).state is JobState.QUEUED
    with service.backend.store.get(job.record.key) as reader:
        assert b"".join(reader.iter_chunks()) == BODY
        assert dict(reader.info.metadata) == job.metadata
    assert _uploaded_keys(service.backend) == [job.record.key]


@pytest.mark.parametrize("body", [BODY[:-1], BODY + b"!"], ids=["short", "long"])
def test_a_refused_upload_leaves_no_job_object_or_event(tmp_path: Path, body: bytes) -> None:
    service = JobService(open_embedded(tmp_path), JobSettings(max_upload_bytes=1000))
    _uploaded_keys(service.backend)
    job = service.new(REQUEST, len(BODY))
    with pytest.raises(UploadRefused, match=f"{len(BODY)} bytes"):
        service.store_new(job, io.BytesIO(body))
    with pytest.raises(NoSuchKey):
        service.backend.store.head(job.record.key)
    with pytest.raises(JobNotFound):
        service.find(job.record.job_id, job.token)
    assert _messages(service.backend) == 0


def test_a_job_that_cannot_be_written_takes_its_upload_and_event_with_it(tmp_path: Path) -> None:
    """The job's record and the event are one transaction: when it fails (here the ID is
    taken), the stored upload is removed again and nothing is announced."""
    service = JobService(open_embedded(tmp_path), JobSettings(max_upload_bytes=1000))
    _uploaded_keys(service.backend)
    job = service.new(REQUEST, len(BODY))
    service.jobs.create(job.record)  # the ID taken, waiting for an upload
    with pytest.raises(JobExists):
        service.store_new(job, io.BytesIO(BODY))
    with pytest.raises(NoSuchKey):
        service.backend.store.head(job.record.key)
    assert _messages(service.backend) == 0
    assert service.find(job.record.job_id, job.token).state is JobState.WAITING_FOR_UPLOAD
