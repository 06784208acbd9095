"""The embedded stack end to end, through the real command line and real processes."""

from __future__ import annotations

import gzip
import io
import json
import os
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from wordfreq_service.adapters.embedded import FileStore, open_embedded
from wordfreq_service.formats.s3event import object_created_event
from wordfreq_service.service.client import Client, Submission

from tests.helpers import CORPUS, WORDFREQ, parse_top_words, run_wordfreq


class Service:
    """A wordfreq service process whose JSON log lines are read as they come, so a full
    pipe never blocks it and tests can wait for an event."""

    def __init__(self, args: list[str], data_dir: Path) -> None:
        env = {**os.environ, "WORDFREQ_DATA_DIR": str(data_dir)}
        self.proc = subprocess.Popen(
            [WORDFREQ, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self.events: list[dict[str, object]] = []
        self._changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            try:
                record = json.loads(line)
            except ValueError:
                record = {"event": "(not json)", "line": line.decode(errors="replace")}
            with self._changed:
                self.events.append(record)
                self._changed.notify_all()
        with self._changed:
            self.events.append({"event": "(exited)"})
            self._changed.notify_all()

    def wait_for(self, event: str, timeout: float = 60) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for record in self.events:
                    if record.get("event") == event:
                        return record
                    if record.get("event") == "(exited)":
                        raise AssertionError(f"exited before logging {event!r}: {self.events}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {event!r} within {timeout}s: {self.events}")
                self._changed.wait(left)

    def stop(self, timeout: float = 60) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Service]:
    service = Service(["up", "--workers", "2", "--port", "0"], tmp_path)
    service.wait_for("workers started")
    yield service
    assert service.stop() == 0


def slow_job(tmp_path: Path, megabytes: int = 400) -> Path:
    """A small upload that takes seconds to count: highly repetitive text, gzipped."""
    path = tmp_path / "slow.txt.gz"
    block = b"alpha beta gamma delta epsilon " * 32768  # ~1 MB
    with gzip.open(path, "wb", compresslevel=6) as out:
        for _ in range(megabytes):
            out.write(block)
    return path


def test_submit_on_a_fresh_data_dir_without_a_stack(tmp_path: Path) -> None:
    book = CORPUS / "pg1342.txt"
    data_dir = tmp_path / "fresh"
    assert not data_dir.exists()
    proc = run_wordfreq(["submit", "--data-dir", str(data_dir), str(book)])
    assert proc.returncode == 0, proc.stderr
    assert "in-process workers" in proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("Job Results completed in ") and " for " in lines[0]
    direct = run_wordfreq(["count", str(book)])
    assert parse_top_words(proc.stdout) == parse_top_words(direct.stdout)
    # The job is done and acknowledged: no work left on the queue.
    assert open_embedded(data_dir).work_queue.approximate_count() == 0


def test_submit_json_and_seed_mode(tmp_path: Path) -> None:
    from tests.helpers import SEED_SAMPLE, SEED_TOP_TEN

    proc = run_wordfreq(
        ["submit", "--data-dir", str(tmp_path), "--json", "--mode", "seed", str(SEED_SAMPLE)]
    )
    assert proc.returncode == 0, proc.stderr
    line = json.loads(proc.stdout)
    assert set(line) == {
        "file", "key", "job_id", "status", "status_message", "duration_ms", "total",
        "unique", "skipped", "options_ignored", "words",
    }  # fmt: skip
    assert line["status"] == "success" and line["file"] == str(SEED_SAMPLE)
    assert (line["status_message"], line["skipped"], line["options_ignored"]) == (
        "Success",
        0,
        False,
    )
    assert [(w["word"], w["count"]) for w in line["words"]] == SEED_TOP_TEN


def test_failed_job_exits_non_zero(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gz"
    bad.write_bytes(gzip.compress(b"words " * 5000)[:-30] + b"\x00\x01broken")
    proc = run_wordfreq(["submit", "--data-dir", str(tmp_path / "d"), str(bad)])
    assert proc.returncode == 1
    # As the Go uploader: the job's header, then `Failed: <why>`; the file on stderr.
    header, failed = proc.stdout.splitlines()
    assert header.startswith("Job Results completed in ")
    assert failed.startswith("Failed: ") and "gzip" in failed
    assert proc.stderr.splitlines()[-1] == f"wordfreq: error: 1 job(s) failed: {bad}"
    assert "Traceback" not in proc.stderr


def test_missing_file_uploads_nothing(tmp_path: Path) -> None:
    good = tmp_path / "good.txt"
    good.write_text("hello")
    proc = run_wordfreq(["submit", "--data-dir", str(tmp_path / "d"), str(good), "/nope.txt"])
    assert proc.returncode == 1 and "/nope.txt" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    # Only S3's test event from setting up the notification; no upload event.
    messages = open_embedded(tmp_path / "d").work_queue.receive(10, wait_seconds=0.2)
    assert [json.loads(m.body).get("Event") for m in messages] in ([], ["s3:TestEvent"])


def test_two_clients_each_get_exactly_their_own_results(tmp_path: Path, stack: Service) -> None:
    files: dict[str, list[Path]] = {"a": [], "b": []}
    for client in files:
        folder = tmp_path / client
        folder.mkdir()
        for i in range(100):
            f = folder / f"{i}.txt"
            marker = "marker" + client + "".join("abcdefghij"[int(d)] for d in f"{i:03d}")
            f.write_text(f"{marker} " * (i + 1) + "common words here\n")
            files[client].append(f)

    def run(client: str) -> subprocess.CompletedProcess[str]:
        args = ["submit", "--json", "--top", "1", *map(str, files[client])]
        return run_wordfreq(args, env={"WORDFREQ_DATA_DIR": str(tmp_path)}, timeout=240)

    with ThreadPoolExecutor(2) as pool:
        procs = dict(zip(files, pool.map(run, files), strict=True))
    for client, proc in procs.items():
        assert proc.returncode == 0, proc.stderr
        assert "in-process" not in proc.stderr  # the running stack did the work
        results = [json.loads(line) for line in proc.stdout.splitlines()]
        assert sorted(r["file"] for r in results) == sorted(map(str, files[client]))
        assert len({r["key"] for r in results}) == 100
        for r in results:
            i = int(Path(r["file"]).stem)
            assert r["status"] == "success"
            assert r["words"][0]["count"] == max(i + 1, 1)
    assert open_embedded(tmp_path).result_queue.approximate_count() == 0


def test_worker_killed_mid_job_does_not_lose_it(tmp_path: Path) -> None:
    backend = open_embedded(tmp_path)
    first = Service(["worker", "--concurrency", "1", "--visibility-timeout", "2"], tmp_path)
    with open(slow_job(tmp_path), "rb") as fh:
        info = backend.store.put("slow-job", fh, {"mode": "words", "top": "3"})
    started = first.wait_for("job started")
    assert started["key"] == info.key
    first.proc.kill()  # SIGKILL: no chance to clean up
    first.proc.wait()
    second = Service(["worker", "--concurrency", "1", "--visibility-timeout", "2"], tmp_path)
    try:
        results: list[Submission] = []
        client = Client(backend, poll_seconds=1)

        pending = client.collect([Submission("slow", "slow-job")], 120, results.append)
        assert not pending
        result = results[0].result
        assert result is not None and result.ok and result.words[0] == ("alpha", 400 * 32768)
        # Exactly once: no second result shows up.
        time.sleep(3)
        assert backend.result_queue.receive(10, wait_seconds=0.5) == []
    finally:
        assert second.stop() == 0


def test_sigterm_drains_the_running_job(tmp_path: Path) -> None:
    backend = open_embedded(tmp_path)
    worker = Service(["worker", "--concurrency", "2"], tmp_path)
    worker.wait_for("workers started")
    with open(slow_job(tmp_path, 250), "rb") as fh:
        backend.store.put("drain-me", fh, {"mode": "words", "top": "1"})
    worker.wait_for("job started")
    assert worker.stop(timeout=40) == 0
    messages = backend.result_queue.receive(10, wait_seconds=1)
    assert len(messages) == 1
    body = json.loads(messages[0].body)
    assert body["FileKey"] == "drain-me" and body["Status"] == "success"
    assert body["Words"] == [{"Word": "alpha", "Count": 250 * 32768}]


def test_drain_deadline_hands_unfinished_messages_back(tmp_path: Path) -> None:
    backend = open_embedded(tmp_path)
    for m in backend.work_queue.receive(10, wait_seconds=0.5):  # S3's test event
        backend.work_queue.delete(m.receipt_handle)
    slow = slow_job(tmp_path, 600)
    for key in ("first", "second"):
        with open(slow, "rb") as fh:
            backend.store.put(key, fh, {"mode": "words", "top": "1"})
    worker = Service(["worker", "--concurrency", "1", "--drain-seconds", "0.5"], tmp_path)
    started = worker.wait_for("job started")
    assert worker.stop(timeout=20) == 0
    # Neither job finished: no result, both messages back on the queue at once (the
    # running one abandoned at the deadline, the waiting one handed back unstarted).
    assert backend.result_queue.receive(10, wait_seconds=0.2) == []
    back = backend.work_queue.receive(10, wait_seconds=1)
    keys = sorted(json.loads(m.body)["Records"][0]["s3"]["object"]["key"] for m in back)
    assert keys == ["first", "second"]
    assert started["key"] in keys
    released = [e for e in worker.events if e.get("event") == "messages released"]
    assert released, worker.events


def _open_files_under(pid: int, folder: Path) -> list[str]:
    """What the process holds open under ``folder`` (an unlinked file reads as
    ``<folder>/<name> (deleted)``)."""
    held = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(f"{folder}/"):
            held.append(target)
    return held


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs Linux's /proc/<pid>/fd")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_mid_upload_leaves_no_temporary_file(tmp_path: Path, signum: int) -> None:
    # Standard input fed slowly: its size is not known until it ends, so `submit` copies
    # it to a temporary file first, and is mid-copy for as long as the test wants.
    data_dir, spool_dir = tmp_path / "data", tmp_path / "spool"
    spool_dir.mkdir()
    proc = subprocess.Popen(
        [WORDFREQ, "submit", "--data-dir", str(data_dir), "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "TMPDIR": str(spool_dir)},
        # A shell may start background jobs with SIGINT ignored; a terminal never does.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stdin is not None
    proc.stdin.write(b"some words to upload " * 50_000)
    proc.stdin.flush()
    deadline = time.monotonic() + 30
    while not _open_files_under(proc.pid, spool_dir):
        assert proc.poll() is None and time.monotonic() < deadline, "no copy started"
        time.sleep(0.02)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=30)
    leftovers = [p for p in (data_dir / "buckets").rglob("*") if p.is_file()]
    assert leftovers == [] and list(spool_dir.iterdir()) == []
    stderr = err.decode()
    assert proc.returncode == 128 + signum, stderr
    assert "Traceback" not in stderr
    assert stderr.splitlines()[-1] in ("wordfreq: terminated", "wordfreq: interrupted")
    # Nothing was submitted: no job waits for an upload that will never come.
    with sqlite3.connect(data_dir / "queues.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM jobs").fetchone() == (0,)


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="needs Linux's /proc/self/mem")
def test_submit_names_the_file_it_cannot_read(tmp_path: Path) -> None:
    # /proc/self/mem opens, then every read at offset 0 fails with EIO.
    proc = run_wordfreq(["submit", "--data-dir", str(tmp_path), "/proc/self/mem"])
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines()[-1] == "wordfreq: error: /proc/self/mem: Input/output error"


def test_submit_names_the_database_it_cannot_open(tmp_path: Path) -> None:
    book = tmp_path / "book.txt"
    book.write_text("some words")
    (tmp_path / "data" / "queues.sqlite3").mkdir(parents=True)  # in the database's way
    proc = run_wordfreq(["submit", "--data-dir", str(tmp_path / "data"), str(book)])
    assert proc.returncode == 1
    database = tmp_path / "data" / "queues.sqlite3"
    assert proc.stderr == f"wordfreq: error: {database}: unable to open database file\n"


def test_damaged_object_fails_its_client_before_dead_lettering(tmp_path: Path) -> None:
    backend = open_embedded(tmp_path)
    # Stored without its event, damaged, then announced: as a failing disk would have it.
    quiet = FileStore(
        tmp_path / "buckets" / backend.store.bucket, backend.store.bucket, root=tmp_path
    )
    info = quiet.put("damaged-job", io.BytesIO(b"words " * 1000), {"mode": "words"})
    [path] = [p for p in (tmp_path / "buckets").rglob("*") if p.is_file()]
    with path.open("r+b") as file:
        file.truncate(path.stat().st_size - 3)
    backend.work_queue.send(
        object_created_event(backend.store.bucket, info.key, info.size, info.etag)
    )
    worker = Service(["worker", "--concurrency", "1"], tmp_path)
    try:
        results: list[Submission] = []
        started = time.monotonic()
        pending = Client(backend, poll_seconds=1).collect(
            [Submission("damaged", "damaged-job")], 60, results.append
        )
        assert not pending and time.monotonic() - started < 30  # not the whole timeout
        result = results[0].result
        assert result is not None and not result.ok
        assert "dead-letter" in result.status_message and "damaged" in result.status_message
        # The worker's next receive moves the message, as the result said it would.
        assert backend.dead_letter_queue is not None
        assert len(backend.dead_letter_queue.receive(10, wait_seconds=10)) == 1
    finally:
        assert worker.stop() == 0
