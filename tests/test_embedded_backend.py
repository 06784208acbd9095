"""The embedded backend beyond the port contract: creation, files, failures, doorbells."""

from __future__ import annotations

import contextlib
import gc
import io
import multiprocessing
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest
from wordfreq_service.adapters.embedded import (
    FileStore,
    SqliteDatabase,
    SqliteQueue,
    open_embedded,
)
from wordfreq_service.adapters.embedded.doorbell import Doorbells
from wordfreq_service.adapters.embedded.keys import validate_key
from wordfreq_service.errors import (
    BackendError,
    ConfigError,
    InvalidKey,
    NoSuchKey,
    TransientError,
)
from wordfreq_service.formats.jobs import job_key, new_job_id
from wordfreq_service.formats.s3event import TestEvent, parse_message
from wordfreq_service.ports import JobState

from tests.helpers import ROOT

_SendIn = Callable[[SqliteQueue, sqlite3.Connection, str, int], str]


def test_open_creates_everything_once_even_when_raced(tmp_path: Path) -> None:
    data = tmp_path / "deep" / "data"
    backends = []

    def open_one() -> None:
        backends.append(open_embedded(data))

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert (data / "queues.sqlite3").is_file()
    work = backends[0].work_queue
    messages = work.receive(10)
    assert [type(parse_message(m.body)) for m in messages] == [TestEvent]
    assert backends[0].dead_letter_queue is not None
    assert {b.work_queue.url for b in backends} == {work.url}


def test_work_queue_has_the_stack_attributes(tmp_path: Path) -> None:
    backend = open_embedded(tmp_path)
    assert isinstance(backend.work_queue, SqliteQueue)
    config = backend.work_queue.config
    assert (config.dead_letter_queue, config.max_receive_count) == ("dead-letter", 5)
    assert config.retention_s == 4 * 24 * 3600
    assert isinstance(backend.result_queue, SqliteQueue)
    assert backend.result_queue.config.retention_s == 2 * 3600
    assert isinstance(backend.dead_letter_queue, SqliteQueue)
    assert backend.dead_letter_queue.config.retention_s == 14 * 24 * 3600


def test_bad_bucket_name_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        open_embedded(tmp_path, bucket="No_Such/Bucket")


def test_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    open_embedded(tmp_path)
    with sqlite3.connect(tmp_path / "queues.sqlite3") as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(ConfigError, match="schema version 99"):
        open_embedded(tmp_path)


#: The job table as the first release with jobs made it, before leases.
_JOBS_BEFORE_LEASES = """
CREATE TABLE jobs (
    job_id TEXT PRIMARY KEY, key TEXT NOT NULL, options TEXT NOT NULL,
    size INTEGER NOT NULL, token_hash TEXT NOT NULL, state TEXT NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL, expires_at REAL NOT NULL,
    result TEXT
)
"""


def test_a_database_made_before_job_leases_opens_with_its_jobs(tmp_path: Path) -> None:
    job_id = new_job_id()
    expires = time.time() + 3600
    with contextlib.closing(sqlite3.connect(tmp_path / "queues.sqlite3")) as conn, conn:
        conn.execute(_JOBS_BEFORE_LEASES)
        conn.execute(
            "INSERT INTO jobs VALUES (?, ?, '{\"top\": 3}', 5, 'ab', 'running', 1.5, 2.5, ?, NULL)",
            (job_id, job_key(job_id), expires),
        )
        conn.execute("PRAGMA user_version = 1")
    for _ in range(2):  # the column is added once, and found the next time
        jobs = open_embedded(tmp_path).jobs
        assert jobs is not None
        record = jobs.get(job_id)
        assert record is not None and record.state is JobState.RUNNING
        assert (record.options, record.updated_at, record.lease_until) == ({"top": 3}, 2.5, None)
    assert jobs is not None
    leased = jobs.lease(job_id, expires - 1)
    assert leased is not None and leased.lease_until == expires - 1


@pytest.mark.parametrize(
    "key", ["a", "a/b/c.txt", "with space.txt", "ünï/☃", "a//b", "trailing/", "...", ".hidden"]
)
def test_ordinary_keys_are_valid(key: str) -> None:
    assert validate_key(key) == key


def test_overlong_and_unencodable_keys_are_invalid() -> None:
    for key in ("x" * 1025, "é" * 513, "\ud800"):
        with pytest.raises(InvalidKey):
            validate_key(key)


def test_failed_put_leaves_the_old_object_and_no_temporary_file(tmp_path: Path) -> None:
    store = FileStore(tmp_path, "bucket")
    store.put("k", io.BytesIO(b"old"))

    class Broken(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            if self.tell() > 0:
                raise OSError(5, "Input/output error")
            return super().read(3)

    with pytest.raises(TransientError):
        store.put("k", Broken(b"newnewnew"))
    with pytest.raises(RuntimeError):
        store.put("k", io.BytesIO(b"new"), progress=_explode)

    with store.get("k") as reader:
        assert b"".join(reader.iter_chunks()) == b"old"
    leftovers = [p.name for p in tmp_path.rglob("*") if p.is_file()]
    assert len(leftovers) == 1 and not leftovers[0].endswith(".tmp")


def _explode(_: int) -> None:
    raise RuntimeError("progress display failed")


def test_damaged_object_file_is_a_backend_error(tmp_path: Path) -> None:
    store = FileStore(tmp_path, "bucket")
    store.put("k", io.BytesIO(b"some content"))
    [path] = [p for p in tmp_path.rglob("*") if p.is_file()]
    with path.open("r+b") as file:
        file.truncate(path.stat().st_size - 3)
    with pytest.raises(BackendError, match="damaged"):
        store.head("k")


def test_notification_is_sent_after_the_object_is_readable(tmp_path: Path) -> None:
    seen: list[bytes] = []
    store = FileStore(tmp_path, "bucket", notify=lambda _body: seen.append(_read(store, "k")))
    store.put("k", io.BytesIO(b"ready"))
    assert seen == [b"ready"]


def _read(store: FileStore, key: str) -> bytes:
    with store.get(key) as reader:
        return b"".join(reader.iter_chunks())


def test_locked_database_is_transient(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "q.sqlite3", busy_timeout_s=0.2)
    db.initialize()
    queue = SqliteQueue.create(db, "q")
    blocker = sqlite3.connect(tmp_path / "q.sqlite3", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(TransientError) as raised:
            queue.send("blocked")
        # The message names the file, so a user knows which database is locked.
        assert str(raised.value) == f"{tmp_path / 'q.sqlite3'}: database is locked"
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    queue.send("unblocked")
    db.close()


def test_queue_survives_fork(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "q.sqlite3")
    db.initialize()
    queue = SqliteQueue.create(db, "q")
    queue.send("before fork")  # the parent's connection exists now
    context = multiprocessing.get_context("fork")
    child = context.Process(target=queue.send, args=("from the child",))
    child.start()
    child.join(timeout=30)
    assert child.exitcode == 0
    assert sorted(m.body for m in queue.receive(10)) == ["before fork", "from the child"]
    db.close()


def test_ring_removes_bells_of_dead_receivers(tmp_path: Path) -> None:
    bells = Doorbells(tmp_path)
    (tmp_path / "q").mkdir()
    os.mkfifo(tmp_path / "q" / "dead.bell")
    bells.ring("q")
    assert not (tmp_path / "q" / "dead.bell").exists()
    bells.ring("no-such-queue")  # nothing to wake, nothing to fail


def test_listener_hears_a_ring_from_another_thread(tmp_path: Path) -> None:
    bells = Doorbells(tmp_path)
    with bells.listen("q") as bell:
        assert bell.wait(0) is False
        threading.Timer(0.1, bells.ring, args=("q",)).start()
        started = time.monotonic()
        assert bell.wait(10) is True
        assert time.monotonic() - started < 5
        assert bell.wait(0) is False  # the ring was consumed
    assert list((tmp_path / "q").iterdir()) == []


def test_long_poll_works_without_named_pipes(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "q.sqlite3")
    db.initialize()
    db.doorbells = Doorbells(tmp_path / "bells")
    db.doorbells._fifo_supported = False  # as on a file system without FIFOs
    queue = SqliteQueue.create(db, "q")
    threading.Timer(0.2, queue.send, args=("late",)).start()
    assert [m.body for m in queue.receive(wait_seconds=10)] == ["late"]
    db.close()


def test_long_poll_wakes_when_a_hidden_message_reappears(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "q.sqlite3")
    db.initialize()
    queue = SqliteQueue.create(db, "q")
    queue.send("comes back")
    [first] = queue.receive(visibility_timeout=1)
    # No send happens, so no ring: the poll must wake for the visibility expiry itself.
    [again] = queue.receive(wait_seconds=10)
    assert (again.message_id, again.receive_count) == (first.message_id, 2)
    db.close()


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts descriptors in /proc")
def test_thread_churn_does_not_pile_up_connections(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "q.sqlite3")
    db.initialize()
    queue = SqliteQueue.create(db, "q")

    def open_files() -> int:
        count = 0
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                count += os.readlink(f"/proc/self/fd/{fd}").startswith(str(tmp_path))
        return count

    before = open_files()
    for _ in range(20):
        thread = threading.Thread(target=queue.send, args=("from a short-lived thread",))
        thread.start()
        thread.join()
    gc.collect()
    assert open_files() <= before
    assert queue.approximate_count() == 20
    db.close()


def test_oversized_message_is_refused_as_sqs_does(tmp_path: Path) -> None:
    from wordfreq_service.errors import BackendError

    backend = open_embedded(tmp_path)
    with pytest.raises(BackendError, match="1 MiB"):
        backend.result_queue.send("x" * ((1 << 20) + 1))
    backend.result_queue.send("x" * (1 << 20))  # exactly the limit is fine


def test_abandoned_temporary_puts_are_swept(tmp_path: Path) -> None:
    import os
    import time

    backend = open_embedded(tmp_path)
    bucket_dir = tmp_path / "buckets" / backend.store.bucket
    old = bucket_dir / ".put-killed.tmp"
    fresh = bucket_dir / ".put-running.tmp"
    bucket_dir.mkdir(parents=True, exist_ok=True)
    old.write_bytes(b"half an upload")
    fresh.write_bytes(b"an upload in progress")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    open_embedded(tmp_path)
    assert not old.exists() and fresh.exists()


def _hand_back_forever(data_dir: Path, until: float) -> None:
    """A client in another process cycling through results that are not its own."""
    queue = open_embedded(data_dir).result_queue
    while time.time() < until:
        for message in queue.receive(10, wait_seconds=0.1):
            queue.change_visibility(message.receipt_handle, 0)


def test_wal_stays_bounded_through_a_burst_with_readers_active(tmp_path: Path) -> None:
    # Writers and readers that never pause (a burst of sends, clients handing foreign
    # results back, status polls) starve SQLite's own passive checkpoints: without our
    # forced ones the -wal file grew by ~100 MB a second here and never shrank.
    from wordfreq_service.adapters.embedded.database import WAL_BOUND_BYTES

    open_embedded(tmp_path)
    wal = tmp_path / "queues.sqlite3-wal"
    until = time.time() + 3
    stop = threading.Event()
    writes = [0]
    peak = [0]

    def send() -> None:
        queue = open_embedded(tmp_path).result_queue
        while not stop.is_set():
            queue.send("r" * 300)
            writes[0] += 1

    def hand_back() -> None:
        queue = open_embedded(tmp_path).result_queue
        while not stop.is_set():
            for message in queue.receive(10, wait_seconds=0.1):
                queue.change_visibility(message.receipt_handle, 0)
                writes[0] += 1

    def poll() -> None:
        queue = open_embedded(tmp_path).result_queue
        while not stop.is_set():
            queue.approximate_count()

    def watch() -> None:
        while not stop.is_set():
            with contextlib.suppress(FileNotFoundError):
                peak[0] = max(peak[0], wal.stat().st_size)
            time.sleep(0.005)

    other = multiprocessing.get_context("spawn").Process(
        target=_hand_back_forever, args=(tmp_path, until)
    )
    other.start()
    threads = [threading.Thread(target=f) for f in (send, send, hand_back, poll, poll, watch)]
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, until - time.time()))
    stop.set()
    for thread in threads:
        thread.join()
    other.join(timeout=30)
    assert other.exitcode == 0
    print(f"{writes[0]} writes in this process; peak WAL {peak[0] / 1e6:.1f} MB")
    assert writes[0] > 3000, "the burst was too small to say anything"
    assert peak[0] <= WAL_BOUND_BYTES


def _disk_full() -> sqlite3.OperationalError:
    """A genuine SQLITE_FULL, as SQLite raises it when the disk fills up."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute("PRAGMA max_page_count = 1")
        conn.execute("CREATE TABLE t (x)")
        conn.execute("INSERT INTO t VALUES (zeroblob(100000))")
    except sqlite3.OperationalError as exc:
        return exc
    finally:
        conn.close()
    raise AssertionError("SQLite found room after all")


def failing_publish(send_in: _SendIn) -> _SendIn:
    """``SqliteQueue.send_in`` as on a disk that fills up between storing an object
    and publishing its event: S3's test event still goes through."""
    full = _disk_full()

    def publish(
        queue: SqliteQueue, conn: sqlite3.Connection, body: str, delay_seconds: int = 0
    ) -> str:
        if "ObjectCreated" in body:
            raise full
        return send_in(queue, conn, body, delay_seconds)

    return publish


def _fail_to_publish_uploads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SqliteQueue, "send_in", failing_publish(SqliteQueue.send_in))


def test_a_put_whose_event_cannot_be_published_leaves_no_object(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wordfreq_service.errors import NoSuchKey

    backend = open_embedded(tmp_path)
    backend.work_queue.receive(10)  # S3's test event, out of the way
    _fail_to_publish_uploads(monkeypatch)

    with pytest.raises(TransientError) as raised:
        backend.store.put("k", io.BytesIO(b"words nobody would ever count"))

    with pytest.raises(NoSuchKey):
        backend.store.head("k")
    assert [p for p in (tmp_path / "buckets").rglob("*") if p.is_file()] == []
    message = str(raised.value)
    assert f"{tmp_path / 'queues.sqlite3'}: database or disk is full" in message
    assert "could not be published" in message and "\n" not in message
    monkeypatch.undo()
    assert backend.work_queue.receive(10, wait_seconds=0.2) == []


def test_submit_names_the_file_whose_upload_failed(tmp_path: Path) -> None:
    # In a process of its own: the command configures logging for the whole process.
    book = tmp_path / "book.txt"
    book.write_text("some words")
    data_dir = tmp_path / "data"
    script = (
        "import sys\n"
        "from wordfreq_service.adapters.embedded import SqliteQueue\n"
        "from tests.test_embedded_backend import failing_publish\n"
        "SqliteQueue.send_in = failing_publish(SqliteQueue.send_in)\n"
        "from wordfreq_service.cli import main\n"
        "main(sys.argv[1:])\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, "submit", "--data-dir", str(data_dir), str(book)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    error = proc.stderr.splitlines()[-1]
    assert error.startswith(f"wordfreq: error: {book}: ")
    assert error.endswith(f"{data_dir / 'queues.sqlite3'}: database or disk is full")
    assert [p for p in (data_dir / "buckets").rglob("*") if p.is_file()] == []


def test_a_long_running_store_sees_its_bucket_made_again(tmp_path: Path) -> None:
    """An operator clears the bucket; the next process to open the stack makes it again.
    A worker opened before must read and delete what is uploaded there since, not look
    into the directory that was removed."""
    data_dir = tmp_path / "data"
    worker = open_embedded(data_dir).store
    worker.put("before", io.BytesIO(b"x"))
    shutil.rmtree(data_dir / "buckets")
    client = open_embedded(data_dir).store
    client.put("after", io.BytesIO(b"hello"))
    assert worker.head("after").size == 5
    worker.delete("after")
    with pytest.raises(NoSuchKey):
        client.head("after")


def _age_objects(data_dir: Path, seconds: float) -> None:
    """Every object file of the bucket made ``seconds`` older."""
    for path in (data_dir / "buckets").rglob("*"):
        if path.is_file():
            moment = path.stat().st_mtime - seconds
            os.utime(path, (moment, moment))


def test_an_upload_no_message_names_is_swept_after_an_hour(tmp_path: Path) -> None:
    """What a worker killed between delivering a result and deleting the upload leaves:
    an upload whose message is gone. Swept once an hour old; an upload whose event still
    waits or is being handled, and the store's own counts, stay."""
    backend = open_embedded(tmp_path)
    assert backend.sweep_leftover_uploads is not None
    backend.work_queue.receive(1)  # s3:TestEvent
    store = backend.store
    for key in ("left.txt", "waiting.txt", "results/a.csv.gz"):
        store.put(key, io.BytesIO(b"some words\n"))
    [message] = backend.work_queue.receive(1, visibility_timeout=60)
    [record] = cast(list[Any], parse_message(message.body))
    backend.work_queue.delete(message.receipt_handle)  # its result was delivered
    assert backend.sweep_leftover_uploads() == 0  # not an hour old yet
    _age_objects(tmp_path, 2 * 3600)
    store.put("fresh.txt", io.BytesIO(b"x\n"))
    backend.work_queue.receive(1, visibility_timeout=60)  # fresh.txt's: taken, not deleted
    assert backend.sweep_leftover_uploads() == 1
    with pytest.raises(NoSuchKey):
        store.head(record.key)
    for kept in ("waiting.txt", "results/a.csv.gz", "fresh.txt"):
        store.head(kept)


def test_a_stacks_worker_sweeps_leftover_uploads_when_it_starts(tmp_path: Path) -> None:
    from wordfreq_service.service.worker import Worker, WorkerSettings

    backend = open_embedded(tmp_path)
    backend.store.put("left.txt", io.BytesIO(b"some words\n"))
    for message in backend.work_queue.receive(10):
        backend.work_queue.delete(message.receipt_handle)
    _age_objects(tmp_path, 2 * 3600)
    settings = WorkerSettings(job_sweep_seconds=3600, visibility_timeout=30)
    stop = threading.Event()
    stop.set()  # the loop never receives: only what the start does happens
    Worker(backend, settings, stop=stop).run()
    with pytest.raises(NoSuchKey):
        backend.store.head("left.txt")
