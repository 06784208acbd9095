"""Two uploads to one key on the compatible path, the second stored before a worker read
the first (the original's known race): each client gets exactly one result, its own.
The upload whose bytes are there gets their counts; the one they replaced gets a failure
saying so, whichever event a worker takes first."""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path

import pytest
from wordfreq_service.adapters.embedded import FileStore, open_embedded
from wordfreq_service.counting.ranges import MIN_SPLIT_THRESHOLD
from wordfreq_service.formats.results import JobResult
from wordfreq_service.formats.s3event import object_created_event
from wordfreq_service.service.client import Client, Submission
from wordfreq_service.service.worker.job import REPLACED as REPLACED_FORMAT

from tests.e2e.test_embedded_stack import Service

META = {"mode": "words", "top": "1"}
REPLACED = REPLACED_FORMAT.format(key="shared")
#: Over it, an upload is split into range tasks (the smallest threshold allowed).
SPLIT_THRESHOLD = MIN_SPLIT_THRESHOLD


@pytest.mark.parametrize("first", ["earlier", "later"], ids=["events-in-order", "reordered"])
@pytest.mark.parametrize("times", [1, 400_000], ids=["whole", "split"])
def test_two_uploads_to_one_key_each_get_their_own_result(
    tmp_path: Path, first: str, times: int
) -> None:
    backend = open_embedded(tmp_path)
    for m in backend.work_queue.receive(10, wait_seconds=0.5):  # S3's test event
        backend.work_queue.delete(m.receipt_handle)
    bucket = backend.store.bucket
    # Stored one over the other before any event is out; then the events, in the order
    # the test wants (SQS keeps none).
    quiet = FileStore(tmp_path / "buckets" / bucket, bucket, root=tmp_path)
    # ``times`` 400,000: both over the split threshold.
    earlier = quiet.put("shared", io.BytesIO(b"earlier " * 3 * times), META)
    later = quiet.put("shared", io.BytesIO(b"later " * 5 * times), META)
    assert (min(earlier.size, later.size) > SPLIT_THRESHOLD) == (times > 1)
    events = {
        name: object_created_event(bucket, "shared", info.size, info.etag, sequencer=seq)
        for name, info, seq in (("earlier", earlier, "01"), ("later", later, "02"))
    }
    for name in (first, *(n for n in events if n != first)):
        backend.work_queue.send(events[name])
    clients = {
        name: Submission(name, "shared", etag=info.etag)
        for name, info in (("earlier", earlier), ("later", later))
    }
    worker = Service(
        ["worker", "--concurrency", "1", "--split-threshold", str(SPLIT_THRESHOLD)], tmp_path
    )
    try:
        threads = [
            threading.Thread(
                target=Client(backend, poll_seconds=0.5).collect, args=([sub], 30, lambda s: None)
            )
            for sub in clients.values()
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        assert worker.stop() == 0
    got = {name: sub.result for name, sub in clients.items()}
    assert got["later"] is not None and got["later"].ok
    assert got["later"].words == [("later", 5 * times)]
    assert got["earlier"] is not None and not got["earlier"].ok
    # Its bytes were read by nobody: replaced under the worker's eyes, or gone with the
    # later upload's count by the time its own event came.
    assert got["earlier"].status_message in (REPLACED, "object not found: shared")
    if first == "earlier":
        assert got["earlier"].status_message == REPLACED
    # Nothing left over for anyone: one result each.
    left = [json.loads(m.body) for m in backend.result_queue.receive(10, wait_seconds=0.2)]
    assert left == []


def test_a_client_takes_only_its_own_uploads_result(tmp_path: Path) -> None:
    # Two uploads to one key, A's result on the queue first: B's client, collecting
    # only B, passes A's by (another ETag) and leaves it on the queue for A's client.
    backend = open_embedded(tmp_path)
    results = {
        name: JobResult.success(
            "shared", f"job-{name}", words=[(name, 1)], total=1, unique=1, mode="words", skipped=0
        )
        for name in ("a", "b")
    }
    for name, result in results.items():
        result.etag = f"etag-{name}"
        backend.result_queue.send(result.to_json())
    b = Submission("b.txt", "shared", etag="etag-b")
    assert Client(backend, poll_seconds=0.2).collect([b], 5, lambda s: None) == []
    assert b.result is not None and b.result.words == [("b", 1)]
    left = [JobResult.from_json(m.body) for m in backend.result_queue.receive(10, wait_seconds=0.2)]
    assert [(r.etag, r.words) for r in left] == [("etag-a", [("a", 1)])]
