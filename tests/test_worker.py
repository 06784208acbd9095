"""The worker's handling of every kind of message, on the embedded backend."""

from __future__ import annotations

import collections
import dataclasses
import io
import json
import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from structlog.testing import capture_logs
from wordfreq_service.adapters.embedded import open_embedded
from wordfreq_service.counting import reference
from wordfreq_service.errors import BackendError, TransientError
from wordfreq_service.formats.s3event import object_created_event, parse_message, test_event
from wordfreq_service.ports import Backend, ObjectInfo, ObjectReader, ObjectStore
from wordfreq_service.service.snowflake import Snowflake, base36, timestamp_ms
from wordfreq_service.service.worker import Worker, WorkerSettings, loop

SETTINGS = WorkerSettings(visibility_timeout=2, wait_seconds=0.2)


@pytest.fixture
def backend(tmp_path: Path) -> Backend:
    b = open_embedded(tmp_path)
    # open_embedded configured the notification: S3's test event comes first. Drain it.
    first = b.work_queue.receive(10, wait_seconds=0.5)
    assert [json.loads(m.body).get("Event") for m in first] == ["s3:TestEvent"]
    for m in first:
        b.work_queue.delete(m.receipt_handle)
    return b


def drain_once(backend: Backend, settings: WorkerSettings = SETTINGS) -> Worker:
    """One receive-and-process pass of a worker."""
    worker = Worker(backend, settings)
    from wordfreq_service.service.worker import VisibilityKeeper

    keeper = VisibilityKeeper(
        backend, settings.visibility_timeout or backend.work_queue.visibility_timeout()
    )
    try:
        messages = backend.work_queue.receive(10, wait_seconds=0.5)
        worker.process_batch(messages, keeper)
    finally:
        keeper.close()
    return worker


def results(backend: Backend) -> list[dict[str, object]]:
    out = []
    for m in backend.result_queue.receive(10, wait_seconds=0.5):
        out.append(json.loads(m.body))
        backend.result_queue.delete(m.receipt_handle)
    return out


def put(backend: Backend, key: str, body: bytes, **meta: str) -> None:
    backend.store.put(key, io.BytesIO(body), meta or {"mode": "words", "top": "2"})


def test_counts_an_upload_and_cleans_up(backend: Backend) -> None:
    put(backend, "book one.txt", b"b a b c b a")
    drain_once(backend)
    [r] = results(backend)
    assert r["FileKey"] == "book one.txt" and r["Status"] == "success"
    assert r["Words"] == [{"Word": "b", "Count": 3}, {"Word": "a", "Count": 2}]
    assert (r["Total"], r["Unique"], r["Mode"]) == (6, 3, "words")
    assert (r["StatusMessage"], r["Skipped"]) == ("Success", 0)  # as the Go worker said
    assert isinstance(r["Duration"], int) and r["Duration"] > 0
    assert isinstance(r["JobID"], str) and r["JobID"].isalnum()
    assert backend.work_queue.approximate_count() == 0
    from wordfreq_service.errors import NoSuchKey

    with pytest.raises(NoSuchKey):
        backend.store.head("book one.txt")


def test_skipped_long_words_reach_the_result(backend: Backend) -> None:
    put(backend, "k", b"some words " + b"x" * 40 + b" " + b"y" * 30, **{"max-word-length": "25"})
    drain_once(backend)
    [r] = results(backend)
    assert r["Skipped"] == 2 and r["Total"] == 2


def test_metadata_selects_seed_mode_and_top(backend: Backend) -> None:
    put(backend, "k", b"Hello, hello! world... 'quoted' It's", mode="seed", top="5")
    drain_once(backend)
    [r] = results(backend)
    assert r["Mode"] == "seed"
    assert r["Words"] == [
        {"Word": "hello", "Count": 2},
        {"Word": "quoted", "Count": 1},
        {"Word": "world", "Count": 1},
    ]


def test_accepts_newer_event_versions_and_several_records(backend: Backend) -> None:
    # Objects put directly on disk through the store, events written by hand: S3 has
    # sent 2.1, 2.2 and 2.4 and may send 2.10; one message can carry several records.
    for key in ("x y+z.txt", "ünï/code.txt"):
        put(backend, key, b"same words same")
    bucket = backend.store.bucket
    body = json.loads(object_created_event(bucket, "x y+z.txt", 15, "e"))
    second = json.loads(object_created_event(bucket, "ünï/code.txt", 15, "e"))["Records"][0]
    body["Records"][0]["eventVersion"] = "2.4"
    second["eventVersion"] = "2.10"
    body["Records"].append(second)
    # Drop the automatic events; send our combined one.
    for m in backend.work_queue.receive(10, wait_seconds=0.5):
        backend.work_queue.delete(m.receipt_handle)
    backend.work_queue.send(json.dumps(body))
    drain_once(backend)
    assert sorted(str(r["FileKey"]) for r in results(backend)) == ["x y+z.txt", "ünï/code.txt"]
    assert backend.work_queue.approximate_count() == 0


def test_test_event_is_dropped(backend: Backend) -> None:
    backend.work_queue.send(test_event(backend.store.bucket))
    drain_once(backend)
    assert results(backend) == []
    assert backend.work_queue.approximate_count() == 0


def test_missing_object_is_a_failure_result(backend: Backend) -> None:
    backend.work_queue.send(object_created_event(backend.store.bucket, "gone.txt", 1, "e"))
    drain_once(backend)
    [r] = results(backend)
    assert r["Status"] == "failure" and "not found" in str(r["StatusMessage"])
    assert backend.work_queue.approximate_count() == 0


def test_undecodable_stream_is_a_failure_result(backend: Backend) -> None:
    put(backend, "bad.gz", b"\x1f\x8b\x08\x00garbage that is not deflate")
    drain_once(backend)
    [r] = results(backend)
    assert r["Status"] == "failure" and "gzip" in str(r["StatusMessage"])


def test_bad_options_are_a_failure_result(backend: Backend) -> None:
    put(backend, "k", b"words", mode="words", top="lots")
    drain_once(backend)
    [r] = results(backend)
    assert r["Status"] == "failure" and "top" in str(r["StatusMessage"])


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        json.dumps({"Records": [{"eventVersion": "3.0"}]}),
        json.dumps({"hello": "world"}),
    ],
)
def test_poison_messages_are_dead_lettered_and_never_crash(backend: Backend, body: str) -> None:
    backend.work_queue.send(body)
    put(backend, "fine.txt", b"still served")
    for _ in range(7):
        drain_once(backend)
    assert [r["FileKey"] for r in results(backend)] == ["fine.txt"]
    assert backend.dead_letter_queue is not None
    dead = backend.dead_letter_queue.receive(10, wait_seconds=0.5)
    assert [m.body for m in dead] == [body]


def test_event_for_another_bucket_is_dead_lettered(backend: Backend) -> None:
    backend.work_queue.send(object_created_event("someone-elses-bucket", "k", 1, "e"))
    for _ in range(7):
        drain_once(backend)
    assert backend.dead_letter_queue is not None
    assert len(backend.dead_letter_queue.receive(10, wait_seconds=0.5)) == 1
    # Told once, on the last receive, not on each of the five.
    [r] = results(backend)
    assert (r["FileKey"], r["Status"]) == ("k", "failure")
    assert "someone-elses-bucket" in str(r["StatusMessage"])


def test_duration_runs_from_the_event_time(backend: Backend) -> None:
    put(backend, "k", b"x")
    for m in backend.work_queue.receive(10, wait_seconds=0.5):
        backend.work_queue.delete(m.receipt_handle)
    then = datetime.now(UTC) - timedelta(seconds=3)
    backend.work_queue.send(
        object_created_event(backend.store.bucket, "k", 1, "e", event_time=then)
    )
    drain_once(backend)
    [r] = results(backend)
    assert 3e9 <= int(r["Duration"]) < 60e9  # type: ignore[call-overload]


def test_duplicate_delivery_is_counted_once(backend: Backend) -> None:
    put(backend, "dup.txt", b"one two")
    [event] = backend.work_queue.receive(10, wait_seconds=0.5)
    backend.work_queue.send(event.body)  # the queue delivers it twice
    backend.work_queue.change_visibility(event.receipt_handle, 0)
    worker = drain_once(backend)
    assert worker.jobs_done == 1
    assert [r["Status"] for r in results(backend)] == ["success"]


def test_a_redelivery_after_the_object_is_gone_posts_its_failure_late(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The event comes back (a second receive) with nothing to count: either a worker
    # posted the result, deleted the object and died before deleting the message, or the
    # object is really gone. The client must hear either way, but after any success.
    monkeypatch.setattr(loop, "GONE_ON_REDELIVERY_DELAY_S", 2)
    put(backend, "gone.txt", b"one two")
    [event] = backend.work_queue.receive(10, wait_seconds=0.5)
    backend.work_queue.change_visibility(event.receipt_handle, 0)
    backend.store.delete("gone.txt")
    handled_at = time.monotonic()
    drain_once(backend)
    assert results(backend) == []  # a success sent before would be received first
    assert backend.work_queue.receive(10, wait_seconds=0.2) == []  # and the event is done
    deadline = time.monotonic() + 10
    late: list[dict[str, object]] = []
    while not late and time.monotonic() < deadline:
        late = results(backend)
    assert [(r["FileKey"], r["Status"]) for r in late] == [("gone.txt", "failure")]
    assert time.monotonic() >= handled_at + 2


class _TrickleReader:
    """An object read slowly: a job takes as long as the test wants, on any machine."""

    def __init__(self, reader: ObjectReader, pause_s: float, started: threading.Event) -> None:
        self._reader = reader
        self._pause_s = pause_s
        self._started = started

    @property
    def info(self) -> ObjectInfo:
        return self._reader.info

    def iter_chunks(self, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        for chunk in self._reader.iter_chunks(chunk_size):
            for start in range(0, len(chunk), 10):
                self._started.set()
                time.sleep(self._pause_s)
                yield chunk[start : start + 10]


class _TrickleStore:
    """The backend's store, with every object read through :class:`_TrickleReader`."""

    def __init__(self, store: ObjectStore, pause_s: float) -> None:
        self._store = store
        self._pause_s = pause_s
        self.started = threading.Event()
        self.bucket = store.bucket
        self.put = store.put
        self.head = store.head
        self.delete = store.delete

    @contextmanager
    def get(self, key: str) -> Iterator[ObjectReader]:
        with self._store.get(key) as reader:
            yield _TrickleReader(reader, self._pause_s, self.started)


def test_long_job_keeps_its_message_hidden_from_a_waiting_worker(backend: Backend) -> None:
    # A job of ~4 s against a visibility timeout of 1 s: only the keeper's extensions
    # keep the second worker, polling all along, from taking the message too.
    store = _TrickleStore(backend.store, pause_s=0.1)
    slow = dataclasses.replace(backend, store=cast(ObjectStore, store))
    put(backend, "slow.txt", b"word " * 80)  # 40 chunks of 10 bytes
    settings = WorkerSettings(visibility_timeout=1, wait_seconds=0.2)
    stop = threading.Event()
    first, second = Worker(slow, settings, stop=stop), Worker(slow, settings, stop=stop)
    threads = [threading.Thread(target=w.run) for w in (first, second)]
    with capture_logs() as logs:
        threads[0].start()
        assert store.started.wait(10)
        threads[1].start()
        deadline = time.monotonic() + 30
        while first.jobs_done + second.jobs_done == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.5)  # room for a second copy of the job to finish, were it running
        stop.set()
        for thread in threads:
            thread.join()
    assert (first.jobs_done, second.jobs_done) == (1, 0)
    assert [e["key"] for e in logs if e["event"] == "job started"] == ["slow.txt"]
    [r] = results(backend)
    assert r["Status"] == "success" and r["Words"] == [{"Word": "word", "Count": 80}]


def test_snowflake_ids_are_time_ordered_base36() -> None:
    gen = Snowflake()
    ids = [gen.next_id() for _ in range(10000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert abs(timestamp_ms(ids[0]) - time.time() * 1000) < 5000
    assert ids[0] < 1 << 63
    assert int(base36(ids[0]), 36) == ids[0]
    assert len({Snowflake().node for _ in range(50)}) > 1  # random per process


def test_results_stay_under_the_sqs_limit() -> None:
    from wordfreq_service.formats.results import MAX_RESULT_BYTES, JobResult

    words = [(f"word{'x' * 40}{i}", i) for i in range(100_000)]
    text = JobResult("k", "j", "success", words=words).to_json()
    assert len(text.encode()) <= MAX_RESULT_BYTES
    parsed = JobResult.from_json(text)
    assert parsed.words == words[: len(parsed.words)] and "truncated" in parsed.status_message


def test_a_go_worker_result_still_reads() -> None:
    from wordfreq_service.formats.results import JobResult

    go = (
        '{"FileKey":"k","JobID":"abc","Words":[{"Word":"which","Count":324}],'
        '"Duration":1500000,"Status":"success","StatusMessage":""}'
    )
    r = JobResult.from_json(go)
    assert r.ok and r.words == [("which", 324)] and r.total is None and r.duration_ns == 1500000
    assert r.mode is None and r.skipped is None and not r.truncated


def test_a_cut_word_list_says_so_in_place_of_success() -> None:
    from wordfreq_service.formats.results import JobResult

    words = [(f"word{'x' * 40}{i}", i) for i in range(100_000)]
    full = JobResult.success("k", "j", words=words, total=1, unique=1, mode="words", skipped=0)
    assert full.status_message == "Success" and not full.truncated
    parsed = JobResult.from_json(full.to_json())
    assert parsed.truncated and parsed.status_message.startswith("word list truncated to ")
    small = JobResult.success("k", "j", words=words[:3], total=1, unique=1, mode="seed", skipped=4)
    back = JobResult.from_json(small.to_json())
    assert (back.status_message, back.skipped, back.mode) == ("Success", 4, "seed")
    assert not back.truncated


def _damage(backend: Backend, data_dir: Path, key: str) -> None:
    """Cut the tail off the object's file, as a failing disk might."""
    [path] = [p for p in (data_dir / "buckets").rglob("*") if p.is_file()]
    with path.open("r+b") as file:
        file.truncate(path.stat().st_size - 3)
    with pytest.raises(BackendError, match="damaged"):
        backend.store.head(key)


def test_damaged_object_tells_its_client_on_the_last_receive(
    backend: Backend, tmp_path: Path
) -> None:
    put(backend, "damaged.txt", b"words that will not be read")
    _damage(backend, tmp_path, "damaged.txt")
    limit = backend.work_queue.max_receive_count()
    assert limit == 5
    for _ in range(limit - 1):
        drain_once(backend)
    assert results(backend) == []  # retries are not the client's business yet
    drain_once(backend)  # the last receive
    [r] = results(backend)
    assert (r["FileKey"], r["Status"]) == ("damaged.txt", "failure")
    message = str(r["StatusMessage"])
    assert "dead-letter" in message and "damaged" in message and f"after {limit}" in message
    drain_once(backend)
    assert results(backend) == []
    assert backend.dead_letter_queue is not None
    [dead] = backend.dead_letter_queue.receive(10, wait_seconds=0.5)
    upload = json.loads(dead.body)["Records"][0]["s3"]["object"]
    assert upload["key"] == "damaged.txt"
    # Whose upload it was: another client's to the same key must not take it.
    assert r["ETag"] == upload["eTag"]


def test_a_message_naming_no_key_is_dead_lettered_with_a_log_line(backend: Backend) -> None:
    backend.work_queue.send("not json")
    with capture_logs() as logs:
        for _ in range(6):
            drain_once(backend)
    assert results(backend) == []
    told = [e for e in logs if "naming no key" in e["event"]]
    assert len(told) == 1 and told[0]["receive_count"] == 5


def _removal_record(bucket: str, key: str) -> dict[str, object]:
    # As S3 sends it: no size, no ETag.
    record: dict[str, Any] = json.loads(object_created_event(bucket, key, 1, "e"))["Records"][0]
    del record["s3"]["object"]["size"], record["s3"]["object"]["eTag"]
    record["eventName"] = "ObjectRemoved:Delete"
    return record


@pytest.mark.parametrize("with_created", [False, True])
def test_events_other_than_object_created_are_ignored(
    backend: Backend, tmp_path: Path, with_created: bool
) -> None:
    bucket = backend.store.bucket
    put(backend, "kept.txt", b"not to be touched")
    put(backend, "new.txt", b"counted once")
    for m in backend.work_queue.receive(10, wait_seconds=0.5):  # the puts' own events
        backend.work_queue.delete(m.receipt_handle)
    records = [_removal_record(bucket, "kept.txt")]
    if with_created:
        records += json.loads(object_created_event(bucket, "new.txt", 12, "e"))["Records"]
    backend.work_queue.send(json.dumps({"Records": records}))
    with capture_logs() as logs:
        drain_once(backend)
    assert [r["FileKey"] for r in results(backend)] == (["new.txt"] if with_created else [])
    ignored = [e for e in logs if e["event"] == "event ignored"]
    assert [(e["event_name"], e["key"], e["log_level"]) for e in ignored] == [
        ("ObjectRemoved:Delete", "kept.txt", "info")
    ]
    backend.store.head("kept.txt")  # neither counted nor deleted
    # Deleted, not left to come back and be dead-lettered.
    with sqlite3.connect(tmp_path / "queues.sqlite3") as conn:
        [(left,)] = conn.execute("SELECT count(*) FROM messages WHERE queue = 'work'")
    assert left == 0


def test_a_message_whose_records_are_done_tells_nobody_more(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The result is out; only deleting the message fails, on its last receive.
    put(backend, "done.txt", b"counted fine")
    for _ in range(4):
        [m] = backend.work_queue.receive(wait_seconds=0.5)
        backend.work_queue.change_visibility(m.receipt_handle, 0)

    def unavailable(receipt_handle: str) -> None:
        raise TransientError("work queue unavailable")

    monkeypatch.setattr(backend.work_queue, "delete", unavailable)
    with capture_logs() as logs:
        drain_once(backend)
    assert [(r["FileKey"], r["Status"]) for r in results(backend)] == [("done.txt", "success")]
    assert not [e for e in logs if e["log_level"] == "error"], logs


@pytest.mark.parametrize(
    "body",
    [b"Alpha\0beta alpha\0beta gamma\0", "\ufeffHello hello world".encode("utf-16-le")],
    ids=["nul-bytes", "utf-16-with-bom"],
)
def test_seed_mode_counts_nul_bytes_as_the_go_worker_did(backend: Backend, body: bytes) -> None:
    # Seed mode reproduces the original byte for byte: it never refused binary data.
    put(backend, "k", body, mode="seed", top="10")
    drain_once(backend)
    [r] = results(backend)
    counted = collections.Counter(w for w in reference.seed_mode(body) if w is not None)
    assert r["Status"] == "success", r["StatusMessage"]
    assert r["Words"] == [{"Word": w, "Count": c} for w, c in reference.rank(counted)]


def test_utf16_without_a_bom_is_refused_suggesting_its_encoding(backend: Backend) -> None:
    put(backend, "le", "plain ascii text ".encode("utf-16-le") * 20)
    put(backend, "be", "plain ascii text ".encode("utf-16-be") * 20)
    put(backend, "random", random.Random(7).randbytes(4096))
    drain_once(backend)
    messages = {r["FileKey"]: str(r["StatusMessage"]) for r in results(backend)}
    assert all("binary data, not text" in m for m in messages.values()), messages
    hint = "count it with --encoding utf-16"
    assert hint in messages["le"] and hint in messages["be"], messages
    assert hint not in messages["random"], messages


def test_two_uploads_of_the_same_bytes_without_a_sequencer_are_both_counted(
    backend: Backend,
) -> None:
    # Events from a producer that sets no sequencer: the same key, ETag and empty
    # sequencer twice, told apart by their times. Each is an upload with its client.
    put(backend, "again.txt", b"one two")
    info = backend.store.head("again.txt")
    for event in backend.work_queue.receive(10, wait_seconds=0.5):
        backend.work_queue.delete(event.receipt_handle)
    bucket = backend.store.bucket
    moments = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC))
    worker = Worker(backend, SETTINGS)
    for moment in moments:
        backend.store.put("again.txt", io.BytesIO(b"one two"), {"mode": "words"})
        event = json.loads(
            object_created_event(bucket, "again.txt", 7, info.etag, event_time=moment)
        )
        del event["Records"][0]["s3"]["object"]["sequencer"]
        records = parse_message(json.dumps(event))
        assert isinstance(records, list) and records[0].sequencer == ""
        worker.handle_record(records[0])
    assert [r["Status"] for r in results(backend)] == ["success", "success"]
