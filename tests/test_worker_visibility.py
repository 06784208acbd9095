"""How long the worker keeps a message hidden: the work queue's own visibility timeout
unless told otherwise, and never again once it has handed the message back."""

from __future__ import annotations

import dataclasses
import io
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, cast

import boto3
import pytest
from structlog.testing import capture_logs
from wordfreq_service.adapters.aws import open_aws
from wordfreq_service.adapters.embedded import open_embedded
from wordfreq_service.errors import BackendError, TransientError
from wordfreq_service.formats.s3event import object_created_event
from wordfreq_service.ports import (
    DEFAULT_VISIBILITY_TIMEOUT_S,
    Backend,
    Message,
    MessageQueue,
    ObjectReader,
    ObjectStore,
)
from wordfreq_service.service.worker import VisibilityKeeper, Worker, WorkerSettings

from tests.aws_fixtures import AwsStack, create_aws_stack

#: The stack's queue figure here: short, so a message it hides comes back within a test.
QUEUE_VISIBILITY_S = 2


class _UnavailableStore:
    """A store whose every read fails as if S3 were down: the worker posts nothing and
    leaves the message to reappear when its visibility timeout runs out."""

    def __init__(self, store: ObjectStore, before_failing: Callable[[], None] = lambda: None):
        self.bucket = store.bucket
        self._before_failing = before_failing

        # Writes work: the worker's probe passes, and it receives the message again.
        self.put, self.delete = store.put, store.delete

    def get(self, key: str) -> AbstractContextManager[ObjectReader]:
        self._before_failing()
        raise TransientError(f"{key}: store unavailable (test)")


def _run(worker: Worker) -> threading.Thread:
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    return thread


def _receive_counts(logs: Sequence[Mapping[str, Any]]) -> list[int]:
    return [
        e["receive_count"] for e in logs if e["event"] == "transient failure; message will reappear"
    ]


@pytest.fixture
def short_stack(moto_endpoint: str, aws_session: boto3.Session) -> AwsStack:
    return create_aws_stack(
        moto_endpoint, visibility_timeout=QUEUE_VISIBILITY_S, session=aws_session
    )


def test_a_worker_without_a_setting_hides_messages_for_the_queues_own_timeout(
    short_stack: AwsStack, aws_session: boto3.Session
) -> None:
    """`wordfreq worker --backend aws` run by hand against the stack's queue used to hide
    what it received for 30 s whatever the queue said: here the queue says 2 s, and a
    message whose job failed for want of the store is back after 2 s, not 30."""
    backend = open_aws(
        bucket=short_stack.bucket,
        work_queue_url=short_stack.work_queue_url,
        result_queue_url=short_stack.result_queue_url,
        session=aws_session,
    )
    down = dataclasses.replace(backend, store=cast(ObjectStore, _UnavailableStore(backend.store)))
    boto3.client("sqs").send_message(
        QueueUrl=short_stack.work_queue_url,
        MessageBody=object_created_event(short_stack.bucket, "k.txt", 10, "etag"),
    )
    worker = Worker(down, WorkerSettings(wait_seconds=1))
    with capture_logs() as logs:
        thread = _run(worker)
        deadline = time.monotonic() + 4 * QUEUE_VISIBILITY_S + 5
        while len(_receive_counts(logs)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        worker.request_stop(0)
        thread.join(30)
    assert _receive_counts(logs)[:2] == [1, 2], "the message did not come back in time"
    [read] = [e for e in logs if e["event"] == "visibility timeout read from the work queue"]
    assert read["seconds"] == QUEUE_VISIBILITY_S


def test_a_setting_overrides_the_queues_timeout(tmp_path: Path) -> None:
    backend = open_embedded(tmp_path)
    assert backend.work_queue.visibility_timeout() == 30  # SQS's default, the stack's
    attempts = threading.Event()
    down = dataclasses.replace(
        backend, store=cast(ObjectStore, _UnavailableStore(backend.store, attempts.set))
    )
    backend.store.put("k.txt", io.BytesIO(b"words"), {"mode": "words", "top": "1"})
    worker = Worker(down, WorkerSettings(visibility_timeout=1, wait_seconds=0.2))
    with capture_logs() as logs:
        thread = _run(worker)
        deadline = time.monotonic() + 10
        while len(_receive_counts(logs)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        worker.request_stop(0)
        thread.join(30)
    assert attempts.is_set()
    assert _receive_counts(logs)[:2] == [1, 2]
    assert not [e for e in logs if e["event"] == "visibility timeout read from the work queue"]


# -- the keeper and a message handed back -------------------------------------------------


class _GatedQueue:
    """The work queue, with the keeper's extension held at the door until the loop has
    handed the message back (or a second has passed), and the hand-back then waiting for
    an extension under way to land: the order that used to re-hide a handed-back message
    for a whole timeout, made certain."""

    def __init__(self, queue: MessageQueue) -> None:
        self._queue = queue
        self.extending = threading.Event()
        self.extended = threading.Event()
        self.handed_back = threading.Event()

    def change_visibility(self, receipt_handle: str, timeout: int) -> None:
        if timeout > 0:
            self.extending.set()
            self.handed_back.wait(1.0)
            self._queue.change_visibility(receipt_handle, timeout)
            self.extended.set()
            return
        self._queue.change_visibility(receipt_handle, timeout)
        self.handed_back.set()
        if self.extending.is_set():
            self.extended.wait(1.0)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._queue, name)


class _DeniedOnceExtended:
    """A store that refuses to read (access denied: the message is handed back for the
    dead-letter queue to take), once the keeper is extending the message."""

    def __init__(self, store: ObjectStore, extending: threading.Event) -> None:
        self.bucket = store.bucket
        self._extending = extending

    def get(self, key: str) -> AbstractContextManager[ObjectReader]:
        assert self._extending.wait(10), "the keeper never extended"
        raise BackendError(f"{key}: access denied (test)")


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Backend]:
    b = open_embedded(tmp_path)
    for m in b.work_queue.receive(10, wait_seconds=0.5):  # S3's test event
        b.work_queue.delete(m.receipt_handle)
    yield b


def test_a_message_handed_back_is_not_hidden_again_by_the_keeper(backend: Backend) -> None:
    gate = _GatedQueue(backend.work_queue)
    store = _DeniedOnceExtended(backend.store, gate.extending)
    gated = dataclasses.replace(
        backend, work_queue=cast(MessageQueue, gate), store=cast(ObjectStore, store)
    )
    backend.store.put("k.txt", io.BytesIO(b"words"), {"mode": "words", "top": "1"})
    settings = WorkerSettings(visibility_timeout=2, wait_seconds=0.2)
    worker = Worker(gated, settings)
    keeper = VisibilityKeeper(gated, 2)
    try:
        messages = backend.work_queue.receive(10, wait_seconds=1, visibility_timeout=2)
        worker.process_batch(messages, keeper)
        # Handed back: visible at once, for another worker to try.
        again = backend.work_queue.receive(10)
    finally:
        keeper.close()
    assert [json.loads(m.body)["Records"][0]["s3"]["object"]["key"] for m in again] == ["k.txt"]
    assert gate.handed_back.is_set()


class _ZeroVisibilityQueue:
    """A work queue configured to hide nothing (SQS allows 0)."""

    def __init__(self, queue: MessageQueue) -> None:
        self._queue = queue
        self.receive_timeouts: list[int | None] = []

    def visibility_timeout(self) -> int:
        return 0

    def receive(self, max_messages: int, **kwargs: Any) -> list[Message]:
        self.receive_timeouts.append(kwargs.get("visibility_timeout"))
        return self._queue.receive(max_messages, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._queue, name)


def test_a_queue_that_hides_nothing_does_not_make_every_worker_take_every_job(
    tmp_path: Path,
) -> None:
    backend = open_embedded(tmp_path)
    zero = _ZeroVisibilityQueue(backend.work_queue)
    worker = Worker(
        dataclasses.replace(backend, work_queue=cast(MessageQueue, zero)),
        WorkerSettings(wait_seconds=0.1),
    )
    with capture_logs() as logs:
        thread = _run(worker)
        deadline = time.monotonic() + 10
        while not zero.receive_timeouts and time.monotonic() < deadline:
            time.sleep(0.05)
        worker.request_stop(0)
        thread.join(30)
    assert zero.receive_timeouts and set(zero.receive_timeouts) == {DEFAULT_VISIBILITY_TIMEOUT_S}
    assert any(e["event"].startswith("the work queue hides messages for 0 s") for e in logs)
