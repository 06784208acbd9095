"""Symbolic links planted in the embedded stack's data directory: nothing is read or
written outside it. Each case plants a link to a directory (or file) outside, with
something precious in it, drives the stack, and checks the outside is as it was and the
refusal names the link."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from wordfreq_service.adapters.embedded import FileStore, open_embedded
from wordfreq_service.adapters.embedded.backend import DATABASE_NAME
from wordfreq_service.adapters.embedded.doorbell import Doorbells
from wordfreq_service.adapters.embedded.stack_lock import LOCK_NAME, StackLock, is_running
from wordfreq_service.api.uploads import KEY_FILE, UploadSigner
from wordfreq_service.errors import BackendError, ConfigError, NoSuchKey, UnsafePath
from wordfreq_service.formats.jobs import counts_key, new_job_id
from wordfreq_service.ports import ObjectStore

from tests.helpers import run_wordfreq

KEY = "jobs/some-upload.txt"
BODY = b"the cat and the hat\n"
PRECIOUS = b"precious: not to be read, changed or removed\n"


def snapshot(directory: Path) -> dict[str, bytes | str]:
    """Every entry below ``directory``: a file's bytes, a link's target, a FIFO's kind."""
    found: dict[str, bytes | str] = {}
    for path in sorted(directory.rglob("*")):
        name = str(path.relative_to(directory))
        if path.is_symlink():
            found[name] = f"link to {os.readlink(path)}"
        elif path.is_file():
            found[name] = path.read_bytes()
        elif not path.is_dir():
            found[name] = "special file"
    return found


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory beside the data directory, holding a precious file."""
    place = tmp_path / "outside"
    place.mkdir()
    (place / "precious.txt").write_bytes(PRECIOUS)
    return place


def fan_out(data_dir: Path, key: str) -> Path:
    """The directory the embedded store keeps ``key``'s file in."""
    digest = hashlib.sha256(key.encode()).hexdigest()
    return data_dir / "buckets" / "uploads" / "objects" / digest[:2]


def plant(link: Path, target: Path) -> None:
    """Replace whatever is at ``link`` with a symbolic link to ``target``."""
    if link.is_dir() and not link.is_symlink():
        shutil.rmtree(link)
    elif link.exists() or link.is_symlink():
        link.unlink()
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)


def every_store_operation(store: ObjectStore, key: str) -> list[Callable[[], object]]:
    def get() -> bytes:
        with store.get(key) as reader:
            return b"".join(reader.iter_chunks())

    return [
        lambda: store.put(key, io.BytesIO(BODY)),
        get,
        lambda: store.head(key),
        lambda: store.delete(key),
    ]


@pytest.mark.parametrize(
    "planted",
    ["buckets/uploads", "buckets/uploads/objects", "fan-out"],
    ids=["bucket", "objects", "fan-out"],
)
def test_a_link_in_place_of_a_store_directory_is_refused_by_every_operation(
    tmp_path: Path, outside: Path, planted: str
) -> None:
    # Given a stack whose store directory has been replaced by a link outside
    data_dir = tmp_path / "data"
    backend = open_embedded(data_dir)
    backend.store.put(KEY, io.BytesIO(BODY))
    link = fan_out(data_dir, KEY) if planted == "fan-out" else data_dir / planted
    # A copy of the real object outside: following the link would find it.
    shutil.copytree(link, outside / "copy")
    before = snapshot(outside)
    plant(link, outside / "copy")

    # When every operation is tried on the key, by a process opening the store now
    store = FileStore(data_dir / "buckets" / "uploads", "uploads", root=data_dir)
    for operation in every_store_operation(store, KEY):
        # Then each is refused, naming the link
        with pytest.raises(UnsafePath, match="is a symbolic link") as refused:
            operation()
        assert str(link) in str(refused.value)
    # and nothing outside was read into the stack, changed or removed
    assert snapshot(outside) == before


def test_a_link_in_place_of_the_bucket_is_refused_when_the_stack_opens(
    tmp_path: Path, outside: Path
) -> None:
    data_dir = tmp_path / "data"
    open_embedded(data_dir).store.put(KEY, io.BytesIO(BODY))
    stale = outside / "objects" / "ab"
    stale.mkdir(parents=True)
    (stale / ".put-0123.tmp").write_bytes(PRECIOUS)
    os.utime(stale / ".put-0123.tmp", (0, 0))  # as old as the sweep of abandoned puts wants
    before = snapshot(outside)
    plant(data_dir / "buckets" / "uploads", outside)
    with pytest.raises(UnsafePath, match="buckets/uploads is a symbolic link"):
        open_embedded(data_dir)
    assert snapshot(outside) == before


def test_a_link_below_the_bucket_is_neither_swept_nor_followed(
    tmp_path: Path, outside: Path
) -> None:
    data_dir = tmp_path / "data"
    open_embedded(data_dir).store.put(KEY, io.BytesIO(BODY))
    (outside / ".put-0123.tmp").write_bytes(PRECIOUS)
    os.utime(outside / ".put-0123.tmp", (0, 0))
    before = snapshot(outside)
    plant(data_dir / "buckets" / "uploads" / "objects" / "zz", outside)
    backend = open_embedded(data_dir)  # sweeps abandoned puts
    assert backend.store.sweep_abandoned_puts(older_than_s=0) == 0  # type: ignore[attr-defined]
    assert snapshot(outside) == before


def test_a_link_in_place_of_an_object_is_not_read_and_is_replaced_not_written_through(
    tmp_path: Path, outside: Path
) -> None:
    data_dir = tmp_path / "data"
    backend = open_embedded(data_dir)
    backend.store.put(KEY, io.BytesIO(BODY))
    stored = fan_out(data_dir, KEY) / hashlib.sha256(KEY.encode()).hexdigest()
    # A valid object file, outside: following the link would read it as the object.
    shutil.copyfile(stored, outside / "object")
    before = snapshot(outside)
    plant(stored, outside / "object")

    with pytest.raises(UnsafePath, match="is a symbolic link"):
        backend.store.head(KEY)
    with pytest.raises(UnsafePath, match="is a symbolic link"):
        backend.store.get(KEY)
    # A new version replaces the link itself; the file it named is untouched.
    backend.store.put(KEY, io.BytesIO(b"new version"))
    with backend.store.get(KEY) as reader:
        assert b"".join(reader.iter_chunks()) == b"new version"
    assert not stored.is_symlink()
    backend.store.delete(KEY)
    with pytest.raises(NoSuchKey):
        backend.store.head(KEY)
    assert snapshot(outside) == before


def test_a_link_in_place_of_stored_counts_fails_the_download_not_the_outside(
    tmp_path: Path, outside: Path
) -> None:
    """``results/`` is no directory on disk: counts are objects like any other, in their
    fan-out directory. A link there fails the read; nothing outside is served."""
    data_dir = tmp_path / "data"
    backend = open_embedded(data_dir)
    job_id = new_job_id()
    backend.store.put(counts_key(job_id), io.BytesIO(b"gzip"))
    shutil.copytree(fan_out(data_dir, counts_key(job_id)), outside / "copy")
    before = snapshot(outside)
    plant(fan_out(data_dir, counts_key(job_id)), outside / "copy")
    with pytest.raises(UnsafePath):
        backend.store.get(counts_key(job_id))
    # Counts written anew (a worker finishing the job) do not land outside either.
    with pytest.raises(UnsafePath):
        backend.store.put(counts_key(job_id), io.BytesIO(b"other"))
    assert snapshot(outside) == before


@pytest.mark.parametrize("suffix", ["", "-wal", "-shm"])
def test_a_link_in_place_of_the_database_or_its_log_is_refused(
    tmp_path: Path, outside: Path, suffix: str
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    # An empty file is what SQLite would happily make a database of.
    (outside / "empty").write_bytes(b"")
    before = snapshot(outside)
    plant(data_dir / f"{DATABASE_NAME}{suffix}", outside / "empty")
    with pytest.raises(UnsafePath, match=f"{DATABASE_NAME}{suffix} is a symbolic link"):
        open_embedded(data_dir)
    assert snapshot(outside) == before


def test_a_link_in_place_of_the_lock_file_is_refused(tmp_path: Path, outside: Path) -> None:
    data_dir = tmp_path / "data"
    open_embedded(data_dir)
    before = snapshot(outside)
    plant(data_dir / LOCK_NAME, outside / "precious.txt")
    with pytest.raises(ConfigError, match=f"{LOCK_NAME} is a symbolic link"):
        StackLock(data_dir).acquire(workers=1)
    with pytest.raises(ConfigError, match=f"{LOCK_NAME} is a symbolic link"):
        is_running(data_dir)
    assert snapshot(outside) == before


def test_a_link_in_place_of_the_signing_key_is_refused(tmp_path: Path, outside: Path) -> None:
    data_dir = tmp_path / "data"
    open_embedded(data_dir)
    # A key someone else knows would let them sign upload URLs.
    (outside / "known.key").write_bytes(b"k" * 64)
    before = snapshot(outside)
    plant(data_dir / KEY_FILE, outside / "known.key")
    with pytest.raises(ConfigError, match=f"{KEY_FILE} is a symbolic link"):
        UploadSigner.in_data_dir(data_dir)
    assert snapshot(outside) == before


def test_a_link_in_place_of_a_doorbell_directory_makes_no_pipe_outside(
    tmp_path: Path, outside: Path
) -> None:
    data_dir = tmp_path / "data"
    backend = open_embedded(data_dir)
    for m in backend.work_queue.receive(10, wait_seconds=0):
        backend.work_queue.delete(m.receipt_handle)
    before = snapshot(outside)
    plant(data_dir / "doorbells" / "work", outside)
    during: list[dict[str, bytes | str]] = []

    def send_while_waiting() -> None:
        during.append(snapshot(outside))  # where a waiting receiver's pipe would be
        backend.work_queue.send("wake up")

    # A long poll still hears of a message sent while it waits (by polling, not a bell).
    sender = threading.Timer(0.3, send_while_waiting)
    sender.start()
    try:
        got = backend.work_queue.receive(1, wait_seconds=5)
    finally:
        sender.join()
    assert [m.body for m in got] == ["wake up"]
    Doorbells(data_dir / "doorbells", root=data_dir).ring("work")
    assert during == [before]
    assert snapshot(outside) == before


def test_the_data_directory_itself_may_be_a_link_and_a_new_one_is_private(
    tmp_path: Path,
) -> None:
    real = tmp_path / "elsewhere" / "wordfreq"
    link = tmp_path / "data"
    backend = open_embedded(real)
    assert real.stat().st_mode & 0o777 == 0o700
    link.symlink_to(real)
    backend = open_embedded(link)
    backend.store.put(KEY, io.BytesIO(BODY))
    with backend.store.get(KEY) as reader:
        assert b"".join(reader.iter_chunks()) == BODY


def test_submit_names_the_link_in_one_line_and_exits_non_zero(
    tmp_path: Path, outside: Path
) -> None:
    data_dir = tmp_path / "data"
    open_embedded(data_dir)
    before = snapshot(outside)
    plant(data_dir / "buckets" / "uploads", outside)
    book = tmp_path / "book.txt"
    book.write_bytes(BODY)
    done = run_wordfreq(["submit", "--data-dir", str(data_dir), "--timeout", "20", str(book)])
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[-1] == (
        f"wordfreq: error: {data_dir}/buckets/uploads is a symbolic link, and wordfreq "
        "follows none inside its data directory: remove it"
    ), done.stderr
    assert snapshot(outside) == before


def test_a_removed_data_directory_is_not_made_again_open_to_others(tmp_path: Path) -> None:
    """The stack's own opening makes the data directory private; a store still held by a
    running process must not make it again with the default mode, readable by all."""
    data_dir = tmp_path / "data"
    backend = open_embedded(data_dir)
    backend.store.put(KEY, io.BytesIO(BODY))
    shutil.rmtree(data_dir)
    with contextlib.suppress(BackendError):
        backend.store.put(KEY, io.BytesIO(BODY))
    assert not data_dir.exists() or data_dir.stat().st_mode & 0o777 == 0o700


def _within(seconds: float, fifo: Path, call: Callable[[], object]) -> BaseException | None:
    """What ``call`` raised (None if nothing), failing if it blocks past ``seconds``; a
    call blocked on opening ``fifo`` is let go by opening its other end."""
    raised: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:  # handed to the test thread
            raised.append(exc)
        else:
            raised.append(None)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(5)
        pytest.fail(f"blocked over {seconds} s opening the named pipe {fifo}")
    return raised[0]


def test_a_named_pipe_in_place_of_an_object_or_the_key_is_refused_not_waited_on(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    backend = open_embedded(data_dir)
    backend.store.put(KEY, io.BytesIO(BODY))
    stored = fan_out(data_dir, KEY) / hashlib.sha256(KEY.encode()).hexdigest()
    stored.unlink()
    os.mkfifo(stored)

    def get() -> bytes:
        with backend.store.get(KEY) as reader:
            return b"".join(reader.iter_chunks())

    for call in (get, lambda: backend.store.head(KEY)):
        refused = _within(5, stored, call)
        assert isinstance(refused, UnsafePath) and "not a regular file" in str(refused)
    UploadSigner.in_data_dir(data_dir)
    key_file = data_dir / KEY_FILE
    key_file.unlink()
    os.mkfifo(key_file)
    refused = _within(5, key_file, lambda: UploadSigner.in_data_dir(data_dir))
    assert isinstance(refused, ConfigError) and "not a regular file" in str(refused)


def test_a_link_in_place_of_a_doorbell_directory_does_not_make_receivers_poll(
    tmp_path: Path, outside: Path
) -> None:
    """Without a pipe, an idle receiver re-checks the queue at its modest interval rather
    than every few milliseconds (a CPU-bound poller for as long as the link stays)."""
    data_dir = tmp_path / "data"
    open_embedded(data_dir)
    plant(data_dir / "doorbells" / "work", outside)
    bells = Doorbells(data_dir / "doorbells", root=data_dir)
    with bells.listen("work") as bell:
        started = time.monotonic()
        assert bell.wait(0.2) is False
        assert time.monotonic() - started >= 0.2


@pytest.mark.parametrize("concurrency", ["1", "2"])
def test_a_worker_meeting_a_link_stops_with_one_line_instead_of_waiting_forever(
    tmp_path: Path, outside: Path, concurrency: str
) -> None:
    """A link is no outage: waiting does not remove it. The worker (or the pool, rather
    than restart its processes without end) exits non-zero, saying why."""
    data_dir = tmp_path / "data"
    open_embedded(data_dir)
    plant(data_dir / "buckets" / "uploads", outside)
    done = run_wordfreq(
        ["worker", "--data-dir", str(data_dir), "--concurrency", concurrency],
        env={"WORKER_BACKOFF_SECONDS": "0.1", "WORKER_MAX_BACKOFF_SECONDS": "0.1"},
        timeout=30,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "backing off" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("wordfreq: error: ")
    assert f"{data_dir}/buckets/uploads is a symbolic link" in done.stderr
