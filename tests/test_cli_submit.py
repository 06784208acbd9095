"""`wordfreq submit`'s output against a stand-in for the original Go worker: the Go
uploader's text byte for byte, files in argument order and named, a warning when the
worker ignored the options, the truncation note, failures."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from wordfreq_service.adapters.embedded import open_embedded
from wordfreq_service.adapters.embedded.stack_lock import StackLock
from wordfreq_service.formats.jobs import job_id_of_key
from wordfreq_service.formats.results import JobResult
from wordfreq_service.ports import JobState

from tests.helpers import run_wordfreq

#: Given the uploaded keys in upload order, the result messages to send, in sending order.
Responder = Callable[[list[str]], list[str]]


def go_result(key: str, job_id: str, words: list[tuple[str, int]], ns: int) -> str:
    """A result exactly as the Go worker sent it: no Total, Unique, Mode or Skipped."""
    body = {
        "FileKey": key,
        "JobID": job_id,
        "Words": [{"Word": w, "Count": c} for w, c in words],
        "Duration": ns,
        "Status": "success",
        "StatusMessage": "Success",
    }
    return json.dumps(body)


def our_result(key: str, job_id: str, words: list[tuple[str, int]]) -> JobResult:
    """A result as wordfreq's own worker sends it, in words mode."""
    total = sum(c for _, c in words)
    return JobResult.success(
        key, job_id, words=words, total=total, unique=len(words), mode="words", skipped=0
    )


class FakeWorker:
    """Answers uploads on an embedded data directory once `expect` of them have arrived,
    while holding the stack lock so `submit` brings no workers of its own. `submit` takes
    the job path on the embedded stack: an answer for a job's upload is stored as the
    job's result, as a worker stores it; any other goes to the result queue."""

    def __init__(self, data_dir: Path, expect: int, respond: Responder) -> None:
        self.backend = open_embedded(data_dir)
        self.expect, self.respond = expect, respond
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        keys: list[str] = []
        queue = self.backend.work_queue
        while len(keys) < self.expect and not self.stop.is_set():
            for m in queue.receive(10, wait_seconds=0.2):
                body = json.loads(m.body)
                keys += [r["s3"]["object"]["key"] for r in body.get("Records", [])]
                queue.delete(m.receipt_handle)
        for message in self.respond(keys):
            self._answer(message)

    def _answer(self, message: str) -> None:
        jobs = self.backend.jobs
        job_id = job_id_of_key(JobResult.from_json(message).file_key)
        if jobs is None or job_id is None or jobs.get(job_id) is None:
            self.backend.result_queue.send(message)
            return
        ok = JobResult.from_json(message).ok
        jobs.advance(job_id, JobState.DONE if ok else JobState.FAILED, result=message)


@pytest.fixture
def go_stack(tmp_path: Path) -> Iterator[Callable[[int, Responder], Path]]:
    data_dir = tmp_path / "data"
    workers: list[FakeWorker] = []
    with StackLock(data_dir) as lock:
        lock.acquire(1)

        def start(expect: int, respond: Responder) -> Path:
            workers.append(FakeWorker(data_dir, expect, respond))
            return data_dir

        yield start
        for w in workers:
            w.stop.set()
            w.thread.join(10)


def text_file(tmp_path: Path, name: str) -> Path:
    f = tmp_path / name
    f.write_text("the words do not matter to the stand-in worker")
    return f


SEED_WORDS = [("which", 324), ("paper", 234), ("silver", 117)]


def test_one_file_prints_what_the_go_uploader_printed(
    tmp_path: Path, go_stack: Callable[[int, Responder], Path]
) -> None:
    data = go_stack(1, lambda keys: [go_result(keys[0], "g5abc", SEED_WORDS, 19_569_804)])
    f = text_file(tmp_path, "book.txt")
    proc = run_wordfreq(["submit", "--data-dir", str(data), "--mode", "seed", str(f)])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (
        "Job Results completed in 19.569804ms for g5abc\n"
        "Top Words:\n- which\t\t324\n- paper\t\t234\n- silver\t117\n"
    )
    # Asked for seed mode, but the result does not say it counted in seed mode.
    [warning] = proc.stderr.splitlines()
    assert "warning" in warning and str(f) in warning and "ignored" in warning


def test_options_a_go_worker_ignored_are_flagged(
    tmp_path: Path, go_stack: Callable[[int, Responder], Path]
) -> None:
    data = go_stack(1, lambda keys: [go_result(keys[0], "g5abc", SEED_WORDS, 1_500_000_000)])
    f = text_file(tmp_path, "book.txt")
    args = ["submit", "--data-dir", str(data), "--json", "--top", "3", "--stopwords", "english"]
    proc = run_wordfreq([*args, str(f)])
    assert proc.returncode == 0, proc.stderr
    line = json.loads(proc.stdout)
    assert line["options_ignored"] is True
    assert (line["status_message"], line["skipped"], line["total"]) == ("Success", None, None)
    assert line["duration_ms"] == 1500.0
    assert str(f) in proc.stderr and "ignored the counting options" in proc.stderr
    assert len(proc.stderr.splitlines()) == 1


def test_several_files_print_named_and_in_argument_order(
    tmp_path: Path, go_stack: Callable[[int, Responder], Path]
) -> None:
    def reversed_answers(keys: list[str]) -> list[str]:
        # The last upload finishes first: output must still follow the arguments.
        results = [our_result(key, f"job{i}", [(f"w{i}", i + 1)]) for i, key in enumerate(keys)]
        for r in results:
            r.duration_ns = 1_000
        return [r.to_json() for r in reversed(results)]

    data = go_stack(3, reversed_answers)
    files = [text_file(tmp_path, f"{name}.txt") for name in ("one", "two", "three")]
    proc = run_wordfreq(["submit", "--data-dir", str(data), *map(str, files)])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "\n".join(
        f"==> {f} <==\nJob Results completed in 1µs for job{i}\nTop Words:\n- w{i}\t\t{i + 1}\n"
        for i, f in enumerate(files)
    )
    assert proc.stderr == ""  # our own worker's results: nothing to warn about

    go_stack(3, reversed_answers)  # JSON lines follow the arguments too
    proc = run_wordfreq(["submit", "--data-dir", str(data), "--json", *map(str, files)])
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [line["file"] for line in lines] == list(map(str, files))
    assert {line["options_ignored"] for line in lines} == {False}


def test_a_cut_word_list_is_noted_on_stderr(
    tmp_path: Path, go_stack: Callable[[int, Responder], Path]
) -> None:
    words = [(f"word{'x' * 40}{i}", 1) for i in range(20_000)]

    def big(keys: list[str]) -> list[str]:
        return [our_result(keys[0], "j", words).to_json()]

    data = go_stack(1, big)
    f = text_file(tmp_path, "book.txt")
    proc = run_wordfreq(["submit", "--data-dir", str(data), "--top", "20000", str(f)])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Job Results completed in 0s for j\nTop Words:\n")
    [note] = proc.stderr.splitlines()
    assert note.startswith(f"wordfreq: note: {f}: word list truncated to ")


def test_a_failed_job_prints_failed_and_exits_1(
    tmp_path: Path, go_stack: Callable[[int, Responder], Path]
) -> None:
    def fail(keys: list[str]) -> list[str]:
        body = {"FileKey": keys[0], "JobID": "j9", "Words": None, "Duration": 2_500_000,
                "Status": "failure", "StatusMessage": "NoSuchKey: gone"}  # fmt: skip
        return [json.dumps(body)]

    data = go_stack(1, fail)
    f = text_file(tmp_path, "book.txt")
    proc = run_wordfreq(["submit", "--data-dir", str(data), str(f)])
    assert proc.returncode == 1
    assert proc.stdout == "Job Results completed in 2.5ms for j9\nFailed: NoSuchKey: gone\n"
    [error] = proc.stderr.splitlines()
    assert error == f"wordfreq: error: 1 job(s) failed: {f}"


def test_results_behind_a_missing_one_still_print_at_the_timeout(
    tmp_path: Path, go_stack: Callable[[int, Responder], Path]
) -> None:
    # Only the second file gets a result: it waits for the first, then prints when the
    # wait ends; the first is reported as timed out.
    data = go_stack(2, lambda keys: [our_result(keys[1], "j2", [("word", 1)]).to_json()])
    first, second = text_file(tmp_path, "first.txt"), text_file(tmp_path, "second.txt")
    args = ["submit", "--data-dir", str(data), "--timeout", "1.5", str(first), str(second)]
    proc = run_wordfreq(args)
    assert proc.returncode == 1
    assert (
        proc.stdout
        == f"==> {second} <==\nJob Results completed in 0s for j2\nTop Words:\n- word\t\t1\n"
    )
    [error] = proc.stderr.splitlines()
    assert "timed out" in error and str(first) in error and str(second) not in error
