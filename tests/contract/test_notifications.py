"""The bucket → work queue notification contract, for every backend: the store announces
each created object on the work queue as S3 does, after the s3:TestEvent."""

from __future__ import annotations

import io

import pytest
from wordfreq_service.formats.s3event import S3Record, TestEvent, parse_message
from wordfreq_service.ports import Backend, Message

WAIT_S = 5


def next_message(backend: Backend) -> Message:
    messages = backend.work_queue.receive(wait_seconds=WAIT_S)
    assert len(messages) == 1, "expected a notification on the work queue"
    backend.work_queue.delete(messages[0].receipt_handle)
    return messages[0]


def test_the_test_event_comes_first(backend: Backend) -> None:
    backend.store.put("after-the-test-event.txt", io.BytesIO(b"x"))

    first = parse_message(next_message(backend).body)
    second = parse_message(next_message(backend).body)

    assert isinstance(first, TestEvent) and first.bucket == backend.store.bucket
    assert isinstance(second, list) and second[0].key == "after-the-test-event.txt"


@pytest.mark.parametrize(
    "key",
    [
        "plain.txt",
        "with spaces and+plus.txt",
        "dir/sub/file.txt",
        "ünï cødé/日本語 ☃.txt",
        "100% sure?&=#.txt",
    ],
)
def test_put_publishes_exactly_one_object_created_event(backend: Backend, key: str) -> None:
    assert isinstance(parse_message(next_message(backend).body), TestEvent)

    info = backend.store.put(key, io.BytesIO(b"counted words"))
    records = parse_message(next_message(backend).body)

    assert isinstance(records, list)
    assert records == [
        S3Record(
            bucket=backend.store.bucket,
            key=key,
            size=info.size,
            etag=info.etag,
            event_time=records[0].event_time,
            event_name="ObjectCreated:Put",
            event_version=records[0].event_version,
            region=records[0].region,
            sequencer=records[0].sequencer,
        )
    ]
    assert records[0].is_object_created
    assert backend.work_queue.receive(wait_seconds=0) == []


def test_the_work_queue_dead_letters_after_five_receives(backend: Backend) -> None:
    # As the stack deploys it; the worker reads this to tell clients before the move.
    assert backend.work_queue.max_receive_count() == 5
    assert backend.result_queue.max_receive_count() is None
