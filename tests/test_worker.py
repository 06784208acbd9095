"""The worker's handling of every kind of message, on the embedded backend."""

from __future__ import annotations

import io
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from wordfreq_service.adapters.embedded import open_embedded
from wordfreq_service.formats.s3event import object_created_event, test_event
from wordfreq_service.ports import Backend
from wordfreq_service.service.snowflake import Snowflake, base36, timestamp_ms
from wordfreq_service.service.worker import Worker, WorkerSettings

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

    keeper = VisibilityKeeper(backend, settings.visibility_timeout)
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
    assert results(backend) == []


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


def test_long_job_keeps_its_message_hidden(backend: Backend, tmp_path: Path) -> None:
    # A job slower than the visibility timeout must not be handed to a second worker.
    import gzip

    blob = gzip.compress(b"alpha beta gamma delta " * (1 << 22))  # ~100 MB of text
    put(backend, "slow.gz", blob)
    stop = threading.Event()
    settings = WorkerSettings(visibility_timeout=1, wait_seconds=0.2)
    first = Worker(backend, settings, stop=stop)
    thread = threading.Thread(target=first.run)
    thread.start()
    time.sleep(0.3)
    seen_by_second: list[object] = []
    deadline = time.monotonic() + 60
    while first.jobs_done == 0 and time.monotonic() < deadline:
        seen_by_second += backend.work_queue.receive(10, wait_seconds=0.2)
    stop.set()
    thread.join()
    assert first.jobs_done == 1
    assert seen_by_second == []


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
