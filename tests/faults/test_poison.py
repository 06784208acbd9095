"""Poison on the work queue, every kind at once, through a real `wordfreq worker`: each
yields a failure result where a client can be identified, lands in the dead-letter queue
otherwise, and never stops the worker, which goes on to count a good job after them.

The worker runs with a 16 MiB input limit and an 8 MiB split threshold, so that bombs
and random bytes of a few megabytes stand for their gigabyte versions (`make
test-big-poison` sends 2 GB of random bytes to a worker with the default settings)."""

from __future__ import annotations

import io
import json
import os
import time
from collections import defaultdict
from pathlib import Path

import pytest
from wordfreq_service.adapters.embedded import open_embedded
from wordfreq_service.formats.s3event import object_created_event
from wordfreq_service.ports import Backend
from wordfreq_service.service.worker.job import EMPTY

from tests.e2e.test_embedded_stack import Service
from tests.faults.bombs import BOMBS
from tests.faults.processes import wait_until

META = {"mode": "words", "top": "3"}
RECORDS = 1000
_LIMIT = "more than 16 MiB after decompression (the input limit)"
_MEMORY = "to decompress (the limit)"
#: How each bomb fails: at the input limit, before a byte is counted as binary data (a
#: compressed stream inside), or at its header, before its window is allocated.
BOMB_FAILURES = {
    "gzip": f"cannot count: bomb/gzip: {_LIMIT}",
    "gzip members": f"cannot count: bomb/gzip members: {_LIMIT}",
    "bzip2 streams": f"cannot count: bomb/bzip2 streams: {_LIMIT}",
    "xz streams": f"cannot count: bomb/xz streams: {_LIMIT}",
    "zstd frames": f"cannot count: bomb/zstd frames: {_LIMIT}",
    "gzip in gzip": "cannot count: bomb/gzip in gzip: binary data, not text (a NUL byte at "
    "offset 3); only text is counted",
    "xz 4 GiB dictionary": "cannot count: bomb/xz 4 GiB dictionary: the xz stream needs "
    f"more than 128 MiB {_MEMORY}",
    "zstd 2 GiB window": "cannot count: bomb/zstd 2 GiB window: the zstd stream needs more "
    f"than 128 MiB {_MEMORY}",
}


def drop_test_event(backend: Backend) -> None:
    for m in backend.work_queue.receive(10, wait_seconds=0.5):
        backend.work_queue.delete(m.receipt_handle)


def put(backend: Backend, key: str, body: bytes) -> None:
    backend.store.put(key, io.BytesIO(body), META)


def many_records(bucket: str) -> str:
    """One message of ``RECORDS`` records (S3 sends one), each naming a key never stored."""
    records = [
        json.loads(object_created_event(bucket, f"many/{i:04d}", 10, "e"))["Records"][0]
        for i in range(RECORDS)
    ]
    return json.dumps({"Records": records})


def test_every_kind_of_poison_is_answered_or_dead_lettered(tmp_path: Path) -> None:
    backend = open_embedded(tmp_path)
    drop_test_event(backend)
    bucket = backend.store.bucket
    unaddressed = [  # no key: nobody to tell
        "not json",
        json.dumps({"hello": "world"}),  # not an S3 event
        json.dumps({"Records": "several"}),  # the wrong shape
        json.dumps({"Records": [{"eventVersion": "2.1", "s3": {}}]}),  # a record with no key
    ]
    for body in unaddressed:
        backend.work_queue.send(body)
    backend.work_queue.send(object_created_event("someone-elses-bucket", "elsewhere", 5, "e"))
    backend.work_queue.send(object_created_event(bucket, "never-stored", 5, "e"))
    backend.work_queue.send(many_records(bucket))
    put(backend, "empty", b"")
    put(backend, "random", os.urandom(12 << 20))  # over the split threshold
    for name, make in BOMBS.items():
        put(backend, f"bomb/{name}", make())
    worker = Service(
        ["worker", "--concurrency", "1", "--max-input-size", "16MiB", "--split-threshold",
         "8MiB", "--visibility-timeout", "5"],
        tmp_path,
    )  # fmt: skip
    try:
        worker.wait_for("workers started")
        put(backend, "good", b"still counting after all that")
        results: dict[str, list[dict[str, object]]] = defaultdict(list)
        expected = 2 + RECORDS + 2 + len(BOMBS) + 1

        def all_in() -> bool:
            for m in backend.result_queue.receive(10, wait_seconds=0.1):
                body = json.loads(m.body)
                results[str(body["FileKey"])].append(body)
                backend.result_queue.delete(m.receipt_handle)
            return sum(map(len, results.values())) >= expected

        started = time.monotonic()
        wait_until(all_in, "a result for every key", 60)
        print(f"every result in {time.monotonic() - started:.1f}s")
        dead_letters = backend.dead_letter_queue
        assert dead_letters is not None
        dead: list[str] = []

        def all_dead() -> bool:
            dead.extend(m.body for m in dead_letters.receive(10, wait_seconds=0.1))
            return len(dead) >= len(unaddressed) + 1

        wait_until(all_dead, "the dead letters", 30)
        print(f"every dead letter in {time.monotonic() - started:.1f}s")
        assert worker.proc.poll() is None  # never stopped
    finally:
        assert worker.stop() == 0
    print(f"stopped in {time.monotonic() - started:.1f}s")
    assert all(len(r) == 1 for r in results.values()), {
        k: r for k, r in results.items() if len(r) > 1
    }
    status = {key: (r[0]["Status"], str(r[0]["StatusMessage"])) for key, r in results.items()}
    good = results["good"][0]
    assert good["Status"] == "success" and good["Total"] == 5
    assert status["empty"] == ("failure", EMPTY)
    assert status["never-stored"] == ("failure", "object not found: never-stored")
    assert [status[f"many/{i:04d}"][0] for i in range(RECORDS)] == ["failure"] * RECORDS
    given_up, why = status["elsewhere"]
    assert given_up == "failure" and "dead-letter" in why and "someone-elses-bucket" in why
    assert status["random"][0] == "failure" and "binary data, not text" in status["random"][1]
    for name in BOMBS:
        assert status[f"bomb/{name}"] == ("failure", BOMB_FAILURES[name]), name
    # Dead-lettered as sent: those naming nobody, and the event of the unreadable bucket.
    assert sorted(b for b in dead if b in unaddressed) == sorted(unaddressed)
    [other] = [json.loads(b) for b in dead if b not in unaddressed]
    assert other["Records"][0]["s3"]["bucket"]["name"] == "someone-elses-bucket"


class _RandomBytes(io.RawIOBase):
    """``size`` random bytes, made as they are read: 2 GB never sits in memory."""

    def __init__(self, size: int) -> None:
        self._left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self._left)
        buffer[:n] = os.urandom(n)
        self._left -= n
        return n


@pytest.mark.skipif(
    not os.environ.get("WORDFREQ_BIG_POISON"),
    reason="2 GB of random bytes through a worker: `make test-big-poison`",
)
def test_two_gigabytes_of_random_bytes_fail_at_once(tmp_path: Path) -> None:
    backend = open_embedded(tmp_path)
    drop_test_event(backend)
    backend.store.put("random", io.BufferedReader(_RandomBytes(2 << 30), 8 << 20), META)
    worker = Service(["worker", "--concurrency", "1"], tmp_path)  # every default
    try:
        started = time.monotonic()
        [message] = backend.result_queue.receive(1, wait_seconds=20)
        print(f"result {time.monotonic() - started:.1f}s after the worker started")
    finally:
        assert worker.stop() == 0
    result = json.loads(message.body)
    assert result["Status"] == "failure" and "binary data, not text" in result["StatusMessage"]
    # Refused whole, not split into 16 ranges first.
    assert not [e for e in worker.events if e.get("event") == "object split"]
