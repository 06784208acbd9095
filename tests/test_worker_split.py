"""Big objects split into ranges by the worker, on both backends: whatever order and
whichever workers count the parts, however often a range task arrives, and whether or
not the merging worker dies, the client sees one result identical to the object's count
in one piece; a part that fails fails the object; what cannot be cut is counted whole."""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import random
import threading
import time
from collections.abc import Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs
from wordfreq_service.adapters.embedded import open_embedded
from wordfreq_service.counting import ranges
from wordfreq_service.counting.engine import summarize
from wordfreq_service.counting.ranges import MIN_SPLIT_THRESHOLD
from wordfreq_service.errors import TransientError
from wordfreq_service.formats.job_request import JobRequest
from wordfreq_service.formats.jobs import (
    INLINE_COUNTS_MAX_CSV_BYTES,
    counts_key,
    write_counter_counts,
)
from wordfreq_service.formats.ranges import parse_range_task, part_key
from wordfreq_service.ports import Backend, JobState, Message, ObjectStore
from wordfreq_service.service.jobs import JOB_RETENTION_S
from wordfreq_service.service.worker import VisibilityKeeper, Worker, WorkerSettings
from wordfreq_service.service.worker.jobpath import JobPath
from wordfreq_service.service.worker.split import Splitter

from tests.aws_fixtures import open_stack
from tests.helpers import run_wordfreq
from tests.test_worker_jobs import (
    gone,
    record_of,
    result_of,
    service_of,
    submit,
)

#: Small, so a few kilobytes make many ranges (each about half of it).
THRESHOLD = 4096
SETTINGS = WorkerSettings(visibility_timeout=1, wait_seconds=0.2, split_threshold=THRESHOLD)


@pytest.fixture(autouse=True, scope="module")
def _small_parts() -> Iterator[None]:
    """Parts as small as the threshold makes them: in service a part is at least
    ``ranges.MIN_PART_BYTES`` (1 MiB), which would leave these objects in one piece."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ranges, "MIN_PART_BYTES", 1)
        yield


#: Words with apostrophes, multi-byte letters, Windows-1252 quotes, a BOM-like sequence
#: mid-stream, digits and runs past a short word-length limit; separators of every kind.
TOKENS = [
    b"don't",
    b"o'clock",
    b"rock'n'roll",
    b"caf\xc3\xa9",
    b"cafe\xcc\x81",
    b"\xe6\x97\xa5\xe6\x9c\xac",
    b"\xce\x9f\xce\x94\xce\x9f\xce\xa3",
    b"don\x92t",
    b"dogs'",
    b"'tis",
    b"abc123def",
    b"\xef\xbb\xbfword",
    b"\xf0\x9f\x98\x80",
    b"x" * 40,
    b"Hello,",
    b"the",
    b"The",
    b"light",
]
SEPARATORS = [b" ", b"\n", b"\t", b"  ", b"\r\n", b"\xc2\xa0", b", ", b"."]


@pytest.fixture
def either(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """The embedded stack, or the AWS one on moto (S3 ranged GETs, DynamoDB progress)."""
    if request.param == "embedded":
        return _embedded(tmp_path)
    stack = request.getfixturevalue("aws_stack")
    opened = open_stack(stack, request.getfixturevalue("aws_session"))
    for m in opened.work_queue.receive(10, wait_seconds=0.5):  # S3's test event
        opened.work_queue.delete(m.receipt_handle)
    return opened


def text(seed: int, size: int) -> bytes:
    rng = random.Random(seed)
    out = bytearray()
    while len(out) < size:
        out += rng.choice(TOKENS) + rng.choice(SEPARATORS)
    return bytes(out)


def expected(body: bytes, request: JobRequest) -> tuple[Any, bytes]:
    """The object's count in one piece: its summary and every word's counts CSV."""
    counter = request.new_counter()
    counter.feed(body)
    counter.finish()
    out = io.BytesIO()
    write_counter_counts(counter, out, request.report_min_length, request.stop_words())
    return summarize(counter, request), gzip.decompress(out.getvalue())


def drain(
    backend: Backend,
    *,
    workers: int = 1,
    order: Callable[[list[Message]], list[Message]] | None = None,
) -> int:
    """Receive and handle messages until the work queue is empty, handing them to
    ``workers`` workers in turn, in ``order``; how many messages were handled."""
    pool = [Worker(backend, SETTINGS) for _ in range(workers)]
    keeper = VisibilityKeeper(backend, SETTINGS.visibility_timeout or 1)
    handled = 0
    try:
        while True:
            batch = backend.work_queue.receive(
                10, wait_seconds=0.3, visibility_timeout=SETTINGS.visibility_timeout
            )
            if not batch:
                return handled
            keeper.hold(m.receipt_handle for m in batch)
            for message in order(batch) if order else batch:
                pool[handled % workers].handle(message, keeper)
                handled += 1
    finally:
        keeper.close()


def results(backend: Backend) -> list[dict[str, Any]]:
    out = []
    while batch := backend.result_queue.receive(10, wait_seconds=0.3):
        for m in batch:
            out.append(json.loads(m.body))
            backend.result_queue.delete(m.receipt_handle)
    return out


def leftover_parts(backend: Backend, split_logs: list[MutableMapping[str, Any]]) -> list[str]:
    [split] = split_logs
    keys = [part_key(split["split_id"], p) for p in range(split["parts"])]
    return [k for k in keys if not gone(backend.store, k)]


def split_events(logs: list[MutableMapping[str, Any]]) -> list[MutableMapping[str, Any]]:
    return [e for e in logs if e["event"] == "object split"]


# Both modes on the embedded stack; one on moto, which is slow (its S3 ranged GETs and
# DynamoDB progress are what it adds).
@pytest.mark.parametrize(
    ("either", "mode"),
    [("embedded", "words"), ("embedded", "seed"), ("aws", "seed")],
    indirect=["either"],
)
def test_a_split_upload_gets_its_unsplit_count_compatible_path(either: Backend, mode: str) -> None:
    backend = either
    # Given an upload of many ranges' size, with options the merge must apply once
    request = JobRequest.make(mode=mode, top=20, max_word_length=20)
    body = text(1, 24_000)
    backend.store.put("big.txt", io.BytesIO(body), request.to_metadata())

    # When workers take its event and every range task it leads to
    with capture_logs() as logs:
        drain(backend, workers=2)

    # Then it was split, and the client has one result, that of the whole object
    [split] = split_events(logs)
    assert split["parts"] >= 10 and split["threshold"] == THRESHOLD
    summary, _ = expected(body, request)
    [result] = results(backend)
    assert result["FileKey"] == "big.txt" and result["Status"] == "success"
    assert [(w["Word"], w["Count"]) for w in result["Words"]] == summary.words
    assert (result["Total"], result["Unique"], result["Skipped"], result["Mode"]) == (
        summary.total,
        summary.unique,
        summary.skipped,
        mode,
    )
    assert summary.skipped > 0  # the long runs were cut by ranges and still skipped once
    # and nothing is left: not the parts, not the upload
    assert leftover_parts(backend, [split]) == []
    assert gone(backend.store, "big.txt")
    assert backend.work_queue.approximate_count() == 0


@pytest.mark.parametrize(
    ("either", "mode"),
    [("embedded", "words"), ("embedded", "seed"), ("aws", "words")],
    indirect=["either"],
)
def test_a_split_job_gets_its_unsplit_count_and_every_word(either: Backend, mode: str) -> None:
    backend = either
    request = JobRequest.make(mode=mode, top=15, stopwords="english" if mode == "words" else None)
    body = text(2, 20_000)
    service = service_of(backend)
    job = submit(service, body, request)

    with capture_logs() as logs:
        drain(backend, workers=3)

    assert len(split_events(logs)) == 1
    record = record_of(service, job)
    assert record.state is JobState.DONE
    summary, every_word = expected(body, request)
    result = result_of(service, job)
    assert (result.words, result.total, result.unique, result.skipped) == (
        summary.words,
        summary.total,
        summary.unique,
        summary.skipped,
    )
    assert result.job_id == job.record.job_id and result.file_key == job.record.key
    stored = b"".join(service.counts(record.job_id, job.token))
    assert stored.decode() == every_word.decode()
    assert results(backend) == []
    assert leftover_parts(backend, split_events(logs)) == []
    assert gone(backend.store, job.record.key)
    # The merged counts: in the record when small, else stored apart.
    inline = len(every_word) <= INLINE_COUNTS_MAX_CSV_BYTES
    assert (record.counts is not None) == inline
    assert gone(backend.store, counts_key(record.job_id)) == inline


def _range_tasks_first_reversed(batch: list[Message]) -> list[Message]:
    tasks = [m for m in batch if parse_range_task(m.body) is not None]
    return [m for m in batch if m not in tasks] + tasks[::-1]


def test_parts_counted_out_of_order_by_different_workers(tmp_path: Path) -> None:
    backend = _embedded(tmp_path)
    request = JobRequest.make(top=10)
    body = text(3, 40_000)
    backend.store.put("k.txt", io.BytesIO(body), request.to_metadata())
    with capture_logs() as logs:
        drain(backend, workers=3, order=_range_tasks_first_reversed)
    counted = [e for e in logs if e["event"] == "range counted"]
    assert [e["part"] for e in counted][:3] != [0, 1, 2]  # out of order indeed
    [result] = results(backend)
    assert [(w["Word"], w["Count"]) for w in result["Words"]] == expected(body, request)[0].words


def test_a_duplicate_range_task_changes_nothing(tmp_path: Path) -> None:
    backend = _embedded(tmp_path)
    request = JobRequest.make(top=10)
    body = text(4, 16_000)
    backend.store.put("dup.txt", io.BytesIO(body), request.to_metadata())
    # The event, split: its range tasks wait on the queue
    _handle_first(backend)
    tasks = backend.work_queue.receive(10, wait_seconds=0.3)
    assert tasks and all(parse_range_task(m.body) is not None for m in tasks)
    # A standard queue's duplicates: one task sent again before, one after the merge
    backend.work_queue.send(tasks[1].body)
    for m in tasks:
        backend.work_queue.change_visibility(m.receipt_handle, 0)
    drain(backend)
    backend.work_queue.send(tasks[0].body)
    with capture_logs() as logs:
        drain(backend)
    assert [e["event"] for e in logs if "range" in e["event"]] == ["duplicate range task"]
    [result] = results(backend)
    assert result["Total"] == expected(body, request)[0].total


def test_a_merger_killed_before_marking_merged_is_merged_on_redelivery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = _embedded(tmp_path)
    service = service_of(backend)
    request = JobRequest.make(top=10)
    body = text(5, 20_000)
    job = submit(service, body, request)
    assert backend.jobs is not None
    store_type = type(backend.jobs)
    real = store_type.mark_merged

    class Killed(BaseException):
        """A worker killed mid-merge: nothing of its own cleanup runs."""

    def killed(self: Any, split_id: str, **kwargs: Any) -> None:
        raise Killed

    # When the worker that completes the set dies after delivering, before marking
    monkeypatch.setattr(store_type, "mark_merged", killed)
    with capture_logs() as logs, pytest.raises(Killed):
        drain(backend)
    assert record_of(service, job).state is JobState.DONE  # delivered already
    split = split_events(logs)
    assert leftover_parts(backend, split) != []  # its cleanup never ran
    # Then its range task comes back (its hold lapses), and whoever receives it merges
    # again and cleans up; the job keeps its one result
    monkeypatch.setattr(store_type, "mark_merged", real)
    first = record_of(service, job)
    with capture_logs() as again:
        _wait_and_drain(backend)
    assert "split merged" in [e["event"] for e in again]
    assert record_of(service, job) == first
    assert leftover_parts(backend, split) == []
    assert gone(backend.store, job.record.key)
    progress = backend.jobs.split_progress(split[0]["split_id"])
    assert progress is not None and progress.merged


def test_an_object_replaced_mid_split_fails_as_a_whole(tmp_path: Path) -> None:
    backend = _embedded(tmp_path)
    request = JobRequest.make(top=10)
    backend.store.put("v.txt", io.BytesIO(text(6, 16_000)), request.to_metadata())
    _handle_first(backend)
    # Some ranges counted from the first version...
    tasks = backend.work_queue.receive(10, wait_seconds=0.3)
    worker = Worker(backend, SETTINGS)
    worker.handle(tasks[0])
    # ... then the object is replaced under the same key (its own event follows)
    replacement = b"a new version\n"
    backend.store.put("v.txt", io.BytesIO(replacement), request.to_metadata())
    with capture_logs() as logs:
        for m in tasks[1:]:
            worker.handle(m)
    [failure] = results(backend)
    assert failure["FileKey"] == "v.txt" and failure["Status"] == "failure"
    assert "changed while it was counted in parts" in failure["StatusMessage"]
    assert any(e["event"] == "range failed" for e in logs)
    # The replacement is not the split object: it stays for its own event, which counts it
    with backend.store.get("v.txt") as obj:
        assert b"".join(obj.iter_chunks()) == replacement
    drain(backend)
    [second] = results(backend)
    assert second["Status"] == "success" and second["Total"] == 3


@pytest.mark.parametrize(
    ("why", "body", "options"),
    [
        # Random text, not random bytes (binary data is refused): stored, not compressed.
        ("gzip", gzip.compress(bytes(random.Random(7).choices(b"abcdef \n", k=12_000)), 0), {}),
        ("UTF-16 by its BOM", "\ufeffwords in utf-16 ".encode("utf-16-le") * 400, {}),
        ("UTF-16 asked for", "words in utf-16 ".encode("utf-16-le") * 400, {"encoding": "utf-16"}),
    ],
)
def test_what_cannot_be_cut_is_counted_whole(
    tmp_path: Path, why: str, body: bytes, options: dict[str, Any]
) -> None:
    backend = _embedded(tmp_path)
    request = JobRequest.make(top=5, **options)
    assert len(body) > THRESHOLD
    backend.store.put("whole", io.BytesIO(body), request.to_metadata())
    with capture_logs() as logs:
        assert drain(backend) == 1  # its event only: no range task
    [note] = [e for e in logs if e["event"] == "big object not split; counted in one piece"]
    assert note["key"] == "whole" and note["reason"]
    [result] = results(backend)
    assert result["Status"] == "success", result
    # and its result says why it was not split
    assert result["StatusMessage"] == f"counted in one piece: {note['reason']}"
    assert "cannot be split" in result["StatusMessage"]
    if why != "gzip":
        assert [(w["Word"], w["Count"]) for w in result["Words"]] == expected(body, request)[
            0
        ].words
        assert result["Total"] == 1200


def test_without_a_job_store_a_big_object_is_counted_whole(tmp_path: Path) -> None:
    backend = dataclasses.replace(_embedded(tmp_path), jobs=None)
    body = text(8, 20_000)
    backend.store.put("plain.txt", io.BytesIO(body), JobRequest.make().to_metadata())
    with capture_logs() as logs:
        assert drain(backend) == 1
    assert split_events(logs) == []
    [result] = results(backend)
    assert result["Total"] == expected(body, JobRequest.make())[0].total


@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 2**32),
    size=st.integers(THRESHOLD + 1, 3 * THRESHOLD),
    # Ranges of half a kilobyte and up: a few dozen parts at most.
    threshold=st.integers(1024, THRESHOLD),
    mode=st.sampled_from(["words", "seed"]),
)
def test_any_threshold_gives_the_unsplit_count(
    tmp_path_factory: pytest.TempPathFactory, seed: int, size: int, threshold: int, mode: str
) -> None:
    backend = _embedded(tmp_path_factory.mktemp("stack"))
    request = JobRequest.make(mode=mode, top=100_000, max_word_length=20)
    body = text(seed, size)
    backend.store.put("any.txt", io.BytesIO(body), request.to_metadata())
    worker = Worker(backend, dataclasses.replace(SETTINGS, split_threshold=threshold))
    with capture_logs() as logs:
        while batch := backend.work_queue.receive(10, wait_seconds=0):
            for m in batch:
                worker.handle(m)
    [result] = results(backend)
    summary = expected(body, request)[0]
    assert [(w["Word"], w["Count"]) for w in result["Words"]] == summary.words
    assert (result["Total"], result["Skipped"]) == (summary.total, summary.skipped)
    assert leftover_parts(backend, split_events(logs)) == []


# -- helpers ---------------------------------------------------------------------------


def _embedded(directory: Path) -> Backend:
    opened = open_embedded(directory)
    for m in opened.work_queue.receive(10, wait_seconds=0):  # S3's test event
        opened.work_queue.delete(m.receipt_handle)
    return opened


def _handle_first(backend: Backend) -> None:
    [event] = backend.work_queue.receive(1, wait_seconds=0.3)
    Worker(backend, SETTINGS).handle(event)


def _wait_and_drain(backend: Backend) -> None:
    time.sleep((SETTINGS.visibility_timeout or 1) + 0.2)
    drain(backend)


@pytest.mark.parametrize("mode", ["words", "seed"])
def test_submit_with_a_small_threshold_prints_what_count_prints(tmp_path: Path, mode: str) -> None:
    # The command line end to end: `submit`'s in-process workers split the sample.
    book = tmp_path / "book.txt"
    # Past the lowest threshold a worker takes, in a few ranges.
    book.write_bytes(text(9, 40_000) * (2 * MIN_SPLIT_THRESHOLD // 40_000))
    options = ["--mode", mode, "--top", "25"]
    data = ["--data-dir", str(tmp_path / "data"), "--workers", "2"]
    threshold = str(MIN_SPLIT_THRESHOLD)
    submitted = run_wordfreq(
        ["submit", *data, "--split-threshold", threshold, "--json", *options, str(book)]
    )
    assert submitted.returncode == 0, submitted.stderr
    counted = run_wordfreq(["count", "--json", *options, str(book)])
    got, want = json.loads(submitted.stdout), json.loads(counted.stdout)
    assert [got[k] for k in ("words", "total", "unique")] == [
        want[k] for k in ("words", "total", "unique")
    ]


def test_a_worker_keeps_one_range_of_a_batch_and_hands_the_others_on(tmp_path: Path) -> None:
    # Given an object split into several ranges, all received by one worker at once
    backend = _embedded(tmp_path)
    backend.store.put("spread.txt", io.BytesIO(text(10, 10_000)), JobRequest.make().to_metadata())
    _handle_first(backend)
    batch = backend.work_queue.receive(10, wait_seconds=0.3, visibility_timeout=30)
    assert len(batch) >= 4 and all(parse_range_task(m.body) for m in batch)
    worker = Worker(backend, SETTINGS)
    keeper = VisibilityKeeper(backend, 30)
    try:
        with capture_logs() as logs:
            worker.process_batch(batch, keeper)
    finally:
        keeper.close()
    # Then it counted one, and the others wait, fresh, for any worker: not hidden behind
    # it, and not a step nearer the dead-letter queue
    assert [e["event"] for e in logs].count("range counted") == 1
    waiting = backend.work_queue.receive(10, wait_seconds=0.3)
    tasks = [m for m in waiting if parse_range_task(m.body) is not None]
    assert len(tasks) == len(batch) - 1 and all(m.receive_count == 1 for m in tasks)
    # and the object still counts as a whole
    for m in waiting:
        backend.work_queue.change_visibility(m.receipt_handle, 0)
    drain(backend)
    [result] = results(backend)
    assert result["Total"] == expected(text(10, 10_000), JobRequest.make())[0].total


class _Unavailable:
    """The store, but every ranged read fails as an outage would."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store
        self.bucket = store.bucket
        self.put, self.head, self.delete = store.put, store.head, store.delete

    def get(self, key: str, *, start: int = 0, end: int | None = None) -> Any:
        if start > 0:
            raise TransientError(f"{key}: store unavailable (test)")
        return self._store.get(key, start=start, end=end)


def test_a_range_task_given_up_fails_its_object_before_the_dead_letter_queue(
    tmp_path: Path,
) -> None:
    # Given a split object whose later ranges cannot be read, whatever the attempt
    healthy = _embedded(tmp_path)
    backend = dataclasses.replace(healthy, store=cast(ObjectStore, _Unavailable(healthy.store)))
    stored = backend.store.put(
        "down.txt", io.BytesIO(text(11, 8_000)), JobRequest.make().to_metadata()
    )
    _handle_first(backend)
    tasks = backend.work_queue.receive(10, wait_seconds=0.3)
    limit = backend.work_queue.max_receive_count()
    assert limit is not None and len(tasks) >= 3
    worker = Worker(backend, SETTINGS)
    # When each is received for the last time before the dead-letter queue
    for m in tasks:
        worker.handle(dataclasses.replace(m, receive_count=limit))
    # Then the client hears now: one failure for the object, naming why
    [result] = results(backend)
    assert result["FileKey"] == "down.txt" and result["Status"] == "failure"
    assert f"given up after {limit} attempts at part" in result["StatusMessage"]
    assert "store unavailable" in result["StatusMessage"]
    # Whose upload it was: another client's to the same key must not take it.
    assert result["ETag"] == stored.etag


def test_a_job_split_on_its_events_last_receive_is_not_failed_by_its_lease(
    tmp_path: Path,
) -> None:
    # Given a job whose event reaches its last receive before the dead-letter queue
    backend = _embedded(tmp_path)
    service = service_of(backend)
    body = text(12, 12_000)
    job = submit(service, body, JobRequest.make(top=10))
    limit = backend.work_queue.max_receive_count()
    assert limit is not None
    [event] = backend.work_queue.receive(1, wait_seconds=0.3, visibility_timeout=1)
    worker = Worker(backend, SETTINGS)
    keeper = VisibilityKeeper(backend, 1)
    try:
        # When a worker splits it (leasing the job for its last attempt first)
        worker.process_batch([dataclasses.replace(event, receive_count=limit)], keeper)
    finally:
        keeper.close()
    # Then, once the event is gone, the lease does not lapse under the counting ranges:
    # a reader a minute on (the event's lease was a second) sees it running
    assert service.settled(record_of(service, job), time.time() + 60).state is JobState.RUNNING
    drain(backend)
    assert record_of(service, job).state is JobState.DONE
    assert result_of(service, job).total == expected(body, JobRequest.make(top=10))[0].total


def test_the_same_bytes_uploaded_again_get_a_result_again(tmp_path: Path) -> None:
    # Given a big object split, counted and merged (compatible path)
    backend = _embedded(tmp_path)
    request = JobRequest.make(top=5)
    body = text(13, 12_000)
    backend.store.put("again.txt", io.BytesIO(body), request.to_metadata())
    drain(backend, workers=2)
    [first] = results(backend)
    # When the same bytes are uploaded to the same key again (same ETag and size)
    backend.store.put("again.txt", io.BytesIO(body), request.to_metadata())
    drain(backend, workers=2)
    # Then that upload is a split of its own, not a duplicate of the merged one
    [second] = results(backend)
    assert first["Total"] == second["Total"] == expected(body, request)[0].total
    assert first["JobID"] != second["JobID"]
    assert gone(backend.store, "again.txt")


def test_workers_with_different_thresholds_never_mix_their_plans(tmp_path: Path) -> None:
    # Given an event redelivered to a worker with another threshold (a rolling change)
    backend = _embedded(tmp_path)
    request = JobRequest.make(top=5)
    body = text(14, 24_000)
    backend.store.put("mixed.txt", io.BytesIO(body), request.to_metadata())
    [event] = backend.work_queue.receive(1, wait_seconds=0.3)
    backend.work_queue.send(event.body)  # its duplicate
    small, large = (
        Worker(backend, dataclasses.replace(SETTINGS, split_threshold=t)) for t in (4096, 10_000)
    )
    small.handle(event)
    tasks = []
    while batch := backend.work_queue.receive(10, wait_seconds=0.3, visibility_timeout=30):
        tasks += batch
    [again] = [m for m in tasks if parse_range_task(m.body) is None]
    tasks.remove(again)
    large.handle(again)
    while batch := backend.work_queue.receive(10, wait_seconds=0.3, visibility_timeout=30):
        tasks += batch
    plans = {parse_range_task(m.body).parts for m in tasks}  # type: ignore[union-attr]
    assert len(plans) == 2
    # When their ranges are counted interleaved, the larger plan's first
    tasks.sort(key=lambda m: parse_range_task(m.body).parts)  # type: ignore[union-attr]
    for i, m in enumerate(tasks):
        (small if i % 2 else large).handle(m)
    # Then each plan is a split of its own, merged on its own: the first to finish has the
    # right count, and the other (its object deleted by then) no other count; the client
    # keeps the first result per key
    first, *rest = results(backend)
    assert first["Status"] == "success" and first["Total"] == expected(body, request)[0].total
    assert len(rest) == 1 and rest[0]["Status"] == "failure", rest


def test_a_range_task_released_on_its_last_receive_fails_its_part(tmp_path: Path) -> None:
    backend = _embedded(tmp_path)
    backend.store.put("rel.txt", io.BytesIO(text(15, 12_000)), JobRequest.make().to_metadata())
    _handle_first(backend)
    [task, *_] = backend.work_queue.receive(10, wait_seconds=0.3, visibility_timeout=30)
    limit = backend.work_queue.max_receive_count()
    assert limit is not None
    # When a stopping worker hands a range task back on its last receive
    worker = Worker(backend, SETTINGS)
    worker.stop.set()
    keeper = VisibilityKeeper(backend, 30)
    try:
        worker.process_batch([dataclasses.replace(task, receive_count=limit)], keeper)
    finally:
        keeper.close()
    # Then its part is recorded failed (the object fails once the others are in)
    parsed = parse_range_task(task.body)
    assert parsed is not None and backend.jobs is not None
    progress = backend.jobs.split_progress(parsed.split_id)
    assert progress is not None and parsed.part in progress.done
    assert progress.failure is not None and "worker stopping" in progress.failure


def test_a_part_that_cannot_even_be_given_up_leaves_the_worker_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = _embedded(tmp_path)
    backend.store.put("odd.txt", io.BytesIO(text(16, 8_000)), JobRequest.make().to_metadata())
    _handle_first(backend)
    [task, *_] = backend.work_queue.receive(10, wait_seconds=0.3, visibility_timeout=30)
    limit = backend.work_queue.max_receive_count()
    assert limit is not None and backend.jobs is not None

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OverflowError("Python int too large to convert to SQLite INTEGER")

    # When recording a part fails with an error no store should raise, on the last receive
    monkeypatch.setattr(type(backend.jobs), "add_part", broken)
    worker = Worker(backend, SETTINGS)
    with capture_logs() as logs:
        worker.handle(dataclasses.replace(task, receive_count=limit))
    # Then the message is left for the dead-letter queue and the worker goes on
    events = [e["event"] for e in logs]
    assert "could not record the part as failed" in events
    assert "unexpected error; left for the dead-letter queue" in events


def test_a_repeat_merge_sends_the_same_job_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = _embedded(tmp_path)
    request = JobRequest.make(top=5)
    body = text(17, 12_000)
    backend.store.put("twice.txt", io.BytesIO(body), request.to_metadata())
    _handle_first(backend)
    assert backend.jobs is not None
    store_type = type(backend.jobs)
    real = store_type.mark_merged

    class Killed(BaseException):
        """A worker killed between delivering the merge and marking it merged."""

    def killed(self: Any, split_id: str, **kwargs: Any) -> None:
        raise Killed

    monkeypatch.setattr(store_type, "mark_merged", killed)
    worker = Worker(backend, SETTINGS)
    last = None
    while batch := backend.work_queue.receive(10, wait_seconds=0.3, visibility_timeout=30):
        for m in batch:
            try:
                worker.handle(m)
            except Killed:
                last = m
    assert last is not None
    # When its range task comes back and is merged again
    monkeypatch.setattr(store_type, "mark_merged", real)
    worker.handle(last)
    # Then the client gets the same result twice, under one job ID
    first, second = results(backend)
    assert first["JobID"] == second["JobID"]
    assert first["Words"] == second["Words"]
    assert first["Total"] == second["Total"] == expected(body, request)[0].total


def test_submit_shows_why_a_big_compressed_file_was_not_split(tmp_path: Path) -> None:
    # A gzip file over the threshold (random bytes: they do not compress; none is NUL,
    # which would make them binary data, refused)
    book = tmp_path / "big.bin.gz"
    noise = random.Random(18).randbytes(MIN_SPLIT_THRESHOLD + 4096).replace(b"\0", b"\1")
    book.write_bytes(gzip.compress(noise, 1))
    assert book.stat().st_size > MIN_SPLIT_THRESHOLD
    data = ["--data-dir", str(tmp_path / "data"), "--workers", "1"]
    flags = ["--split-threshold", str(MIN_SPLIT_THRESHOLD), "--top", "5"]
    as_json = run_wordfreq(["submit", *data, *flags, "--json", str(book)])
    assert as_json.returncode == 0, as_json.stderr
    got = json.loads(as_json.stdout)
    assert got["status"] == "success"
    assert got["status_message"] == "counted in one piece: gzip-compressed input cannot be split"
    # The text output is what it always was: the words, no note
    as_text = run_wordfreq(["submit", *data, *flags, str(book)])
    counted = run_wordfreq(["count", "--top", "5", str(book)])
    assert as_text.returncode == 0, as_text.stderr
    assert as_text.stdout.splitlines()[1:] == counted.stdout.splitlines()
    assert "one piece" not in as_text.stdout + as_text.stderr


def test_a_renewal_landing_late_never_shortens_a_split_jobs_lease(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a job split on its event's last receive, slowly enough that the keeper's
    # renewal of the event's short lease is under way when the split takes the job over
    backend = _embedded(tmp_path)
    service = service_of(backend)
    job = submit(service, text(19, 12_000), JobRequest.make(top=10))
    limit = backend.work_queue.max_receive_count()
    assert limit is not None
    real_lease, real_split = JobPath.lease, Splitter.split
    handed = threading.Event()

    def lease(self: JobPath, job_ids: Any, seconds: float) -> None:
        if threading.current_thread() is not threading.main_thread():
            handed.wait(0.6)  # a renewal slow to land: begun before the hand-over
        real_lease(self, job_ids, seconds)
        if seconds >= JOB_RETENTION_S:
            handed.set()

    def split(self: Splitter, *args: Any) -> Any:
        time.sleep(0.5)  # past the keeper's first renewal (a third of its second)
        return real_split(self, *args)

    monkeypatch.setattr(JobPath, "lease", lease)
    monkeypatch.setattr(Splitter, "split", split)
    [event] = backend.work_queue.receive(1, wait_seconds=0.3, visibility_timeout=1)
    keeper = VisibilityKeeper(backend, 1)
    try:
        Worker(backend, SETTINGS).process_batch(
            [dataclasses.replace(event, receive_count=limit)], keeper
        )
    finally:
        keeper.close()
    # Then the split's lease stands: a reader a minute on sees the job running
    assert service.settled(record_of(service, job), time.time() + 60).state is JobState.RUNNING
