"""Object keys on the embedded store, and through every entry that hands it one: a key
is refused with a clear error or kept inside the store's directory, and what is
accepted round-trips. Traversal (``../``, encoded, backslashes), absolute paths, NUL,
keys over S3's 1,024 bytes or a file name's 255, and Unicode that looks like something
else; then the same keys in S3 events and range tasks on the work queue."""

from __future__ import annotations

import io
import json
import os
import re
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from wordfreq_service.adapters.embedded import FileStore, open_embedded
from wordfreq_service.adapters.embedded.keys import MAX_KEY_BYTES
from wordfreq_service.errors import InvalidKey, NoSuchKey
from wordfreq_service.formats.job_request import JobRequest
from wordfreq_service.formats.ranges import RangeTask
from wordfreq_service.formats.results import JobResult
from wordfreq_service.formats.s3event import object_created_event
from wordfreq_service.ports import Backend, Message
from wordfreq_service.service.worker import Worker, WorkerSettings, loop

from tests.helpers import run_wordfreq
from tests.security.test_data_dir_links import PRECIOUS, snapshot

#: Pieces of hostile keys; hypothesis joins them with arbitrary text.
FRAGMENTS = [
    "../", "..", "./", ".", "/", "//", "\\", "..\\", "%2e%2e/", "%2E%2E%2F", "%00", "\x00",
    "C:", "c:\\", "~", "$HOME", "\u2024\u2024/", "\uff0e\uff0e/", "\u202e", "\u200d", "e\u0301",
    "\ud800", "\udfff", "\n", " ", "+", "?", "#", "*", "a" * 300,
]  # fmt: skip
KEYS = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=20), min_size=1, max_size=12).map(
    "".join
)
WORDS = b"alpha beta gamma\n"
SETTINGS = WorkerSettings(visibility_timeout=5, wait_seconds=0)


@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, FileStore, Path]]:
    """The data directory, a store in it, and a directory beside it with something
    precious in it (one store for every example: a fresh one each costs more)."""
    base = tmp_path_factory.mktemp("keys")
    outside = base / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_bytes(PRECIOUS)
    data_dir = base / "data"
    data_dir.mkdir()  # as the stack's opening makes it
    store = FileStore(data_dir / "buckets" / "uploads", "uploads", root=data_dir)
    yield data_dir, store, outside


def files_in(directory: Path) -> set[Path]:
    return {p for p in directory.rglob("*") if not p.is_dir()}


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(key=KEYS)
@example(key="%2e%2e/%2e%2e/outside/precious.txt")
@example(key="a" * 255 + "/" + "b" * 256)  # components over NAME_MAX, 512 bytes in all
@example(key="é" * (MAX_KEY_BYTES // 2))  # 1,024 bytes of two-byte characters
def test_a_key_is_refused_clearly_or_stays_inside_and_round_trips(
    places: tuple[Path, FileStore, Path], key: str
) -> None:
    data_dir, store, outside = places
    before_outside = snapshot(outside)
    before = files_in(data_dir.parent)
    body = key.encode("utf-8", "surrogatepass") + b"\n" + WORDS
    try:
        info = store.put(key, io.BytesIO(body), {"origin": "test"})
    except InvalidKey as exc:
        # Refused: one line saying why, and every other operation refuses it too.
        message = str(exc)
        assert message and "\n" not in message.replace(repr(key), "")
        for refused in (store.head, store.get, store.delete):
            with pytest.raises(InvalidKey):
                refused(key)
        assert files_in(data_dir.parent) == before
        return
    try:
        # Accepted: exactly one new file, inside the store's own directory
        new = files_in(data_dir.parent) - before
        assert len(new) == 1
        [path] = new
        assert path.is_relative_to(data_dir / "buckets" / "uploads" / "objects")
        assert len(path.name) == 64  # the key's hash, never the key
        # and the object reads back as stored, under its exact key
        assert info.key == key and info.size == len(body)
        with store.get(key) as reader:
            assert b"".join(reader.iter_chunks()) == body
            assert reader.info == info
        assert store.head(key) == info
    finally:
        store.delete(key)
    with pytest.raises(NoSuchKey):
        store.head(key)
    assert files_in(data_dir.parent) == before
    assert snapshot(outside) == before_outside


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("../precious.txt", "'.' or '..' segment"),
        ("jobs/../../outside/precious.txt", "'.' or '..' segment"),
        ("jobs/./x", "'.' or '..' segment"),
        ("..", "'.' or '..' segment"),
        ("/etc/passwd", "absolute path"),
        ("C:/Windows/win.ini", "absolute path"),
        ("..\\..\\outside", "backslash"),
        ("jobs\\x", "backslash"),
        ("jobs/x\x00.txt", "NUL"),
        ("x" * (MAX_KEY_BYTES + 1), f"the limit is {MAX_KEY_BYTES}"),
        ("é" * (MAX_KEY_BYTES // 2) + "x", f"the limit is {MAX_KEY_BYTES}"),
        ("jobs/\ud800", "not valid Unicode"),
        ("", "empty"),
    ],
    ids=lambda v: repr(v)[:40],
)
def test_keys_that_mean_something_to_a_path_are_refused_saying_why(
    places: tuple[Path, FileStore, Path], key: str, why: str
) -> None:
    _, store, _ = places
    with pytest.raises(InvalidKey, match=re.escape(why)):
        store.put(key, io.BytesIO(WORDS))


@pytest.mark.parametrize(
    "key",
    [
        "%2e%2e/%2e%2e/outside/precious.txt",  # literal percent signs, as S3 keeps them
        "\uff0e\uff0e/outside",  # fullwidth full stops: not dots to a file system
        "\u2024\u2024/outside",  # one dot leaders
        "a" * MAX_KEY_BYTES,  # one component far over NAME_MAX
        "...",
        "a//b/",
        "file\u202etxt.exe",  # right-to-left override
    ],
    ids=lambda v: repr(v)[:40],
)
def test_lookalike_keys_are_opaque_names_not_paths(
    places: tuple[Path, FileStore, Path], key: str
) -> None:
    data_dir, store, outside = places
    before = snapshot(outside)
    store.put(key, io.BytesIO(WORDS))
    try:
        with store.get(key) as reader:
            assert b"".join(reader.iter_chunks()) == WORDS
    finally:
        store.delete(key)
    assert snapshot(outside) == before
    assert not (data_dir / "outside").exists()


def test_keys_differing_only_by_normalization_or_case_are_different_objects(
    places: tuple[Path, FileStore, Path],
) -> None:
    """As on S3: keys are compared byte for byte, on any file system (even one that
    folds case or normalizes names, since file names are the keys' hashes)."""
    _, store, _ = places
    composed = "caf\u00e9.txt"
    decomposed = unicodedata.normalize("NFD", composed)
    keys = [composed, decomposed, "CAFÉ.txt", "Café.txt"]
    assert len(set(keys)) == 4
    for i, key in enumerate(keys):
        store.put(key, io.BytesIO(str(i).encode()))
    try:
        for i, key in enumerate(keys):
            with store.get(key) as reader:
                assert b"".join(reader.iter_chunks()) == str(i).encode()
    finally:
        for key in keys:
            store.delete(key)


# -- keys from the work queue -------------------------------------------------------------


@pytest.fixture
def backend(tmp_path: Path) -> Backend:
    opened = open_embedded(tmp_path / "data")
    for message in opened.work_queue.receive(10, wait_seconds=0):  # S3's test event
        opened.work_queue.delete(message.receipt_handle)
    return opened


def last_receive(body: str) -> Message:
    """``body`` as received for the last time before the dead-letter queue: a failure
    is then reported at once rather than after four more receives."""
    return Message("m-1", "handle-1", body, receive_count=5, sent_timestamp=0.0)


def results_of(backend: Backend) -> list[JobResult]:
    messages = backend.result_queue.receive(10, wait_seconds=0)
    return [JobResult.from_json(m.body) for m in messages]


def test_an_event_naming_a_path_outside_never_counts_it(
    backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A key that is valid but not there fails late on a redelivery (an earlier attempt
    # may have delivered it): no wait for that here.
    monkeypatch.setattr(loop, "GONE_ON_REDELIVERY_DELAY_S", 0)
    # Given a file outside with words of its own, and events naming it every way
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_bytes(b"classified " * 50)
    absolute = str(secret)
    keys = [
        "../outside/secret.txt",
        "../../outside/secret.txt",
        absolute,
        absolute.replace("/", "\\"),
        "jobs/" + absolute,
        f"jobs/{'../' * 12}{absolute.lstrip('/')}",
    ]
    worker = Worker(backend, SETTINGS)
    for key in keys:
        # When a worker handles the event on its last receive
        event = object_created_event(backend.store.bucket, key, 550, "etag")
        worker.handle(last_receive(event))
    # Then each key gets a failure result saying why, and no word of the file is counted
    results = results_of(backend)
    assert sorted(r.file_key for r in results) == sorted(keys)
    for result in results:
        assert not result.ok
        assert not result.words and "classified" not in json.dumps(result.to_json())
    assert worker.stop.is_set() is False  # it carries on


def test_encoded_keys_in_events_are_decoded_once(backend: Backend) -> None:
    """S3 form-encodes the key in its event; the worker decodes it exactly once, so a
    key holding ``%2e%2e/`` literally is that key, never ``../``."""
    literal = "%2e%2e/%2E%2E%2Fwords+and spaces.txt"
    backend.store.put(literal, io.BytesIO(WORDS), JobRequest.make(top=3).to_metadata())
    [event] = backend.work_queue.receive(1, wait_seconds=0)
    Worker(backend, SETTINGS).handle(event)
    [result] = results_of(backend)
    assert result.ok, result.status_message
    assert result.file_key == literal
    assert sorted(w for w, _ in result.words) == ["alpha", "beta", "gamma"]


def _range_task(key: str, **changed: object) -> RangeTask:
    fields: dict[str, object] = {
        "bucket": "uploads",
        "key": key,
        "etag": "etag",
        "size": 100,
        "split_id": "0" * 32,
        "part": 0,
        "parts": 1,
        "start": 0,
        "end": 100,
        "event_time": datetime.now(UTC),
        "options": {},
        "job_id": None,
        **changed,
    }
    return RangeTask(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "changed",
    [
        {"key": "../outside/secret.txt"},
        {"key": "ABSOLUTE"},
        {"split_id": "../../../outside"},
        {"split_id": "/" + "0" * 31},
        {"job_id": "../../outside"},
    ],
    ids=["key-traversal", "key-absolute", "split-traversal", "split-absolute", "job-traversal"],
)
def test_a_range_task_naming_paths_outside_writes_and_reads_nothing_there(
    backend: Backend, tmp_path: Path, changed: dict[str, str]
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_bytes(b"classified " * 50)
    if changed.get("key") == "ABSOLUTE":
        changed = {"key": str(secret)}
    before = snapshot(outside)
    task = _range_task(**{"key": "jobs/" + "1" * 32, **changed})
    worker = Worker(backend, SETTINGS)
    worker.handle(last_receive(task.to_json()))
    assert snapshot(outside) == before
    for result in results_of(backend):
        assert not result.ok and "classified" not in json.dumps(result.to_json())
    outside_files = {p for p in tmp_path.rglob("*") if p.is_file()}
    assert outside_files <= {secret} | {p for p in (tmp_path / "data").rglob("*") if p.is_file()}
    assert not os.path.exists(tmp_path / "data" / "buckets" / "uploads" / "results")


def test_submit_never_makes_a_key_or_a_path_of_a_file_name(tmp_path: Path) -> None:
    # Given files whose names look like traversal, encodings and other keys
    folder = tmp_path / "in"
    folder.mkdir()
    names = ["..%2e%2e\\..\\evil name.txt", "%00 ünï ☃ \u202etxt.exe", "jobs:x"]
    for name in names:
        (folder / name).write_bytes(WORDS)
    data_dir = tmp_path / "data"
    # When they are submitted, named by relative paths through ".."
    done = run_wordfreq(
        ["submit", "--json", "--data-dir", str(data_dir), "--timeout", "60"]
        + [f"in/../in/{name}" for name in names],
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    # Then each is counted under its job's key, and named back as given
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["file"] for r in results] == [f"in/../in/{name}" for name in names]
    for result in results:
        assert result["key"] == f"jobs/{result['job_id']}"
        assert sorted(w["word"] for w in result["words"]) == ["alpha", "beta", "gamma"]
    # and nothing was written anywhere but the data directory
    assert {p.name for p in tmp_path.iterdir()} == {"in", "data"}
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)
