"""`wordfreq submit` on the embedded stack takes the job path: it waits on its own jobs
in the job store and never reads the shared result queue, so results nobody collects
(orphans of timeouts and Ctrl-C) cannot slow it down."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path
from typing import Any, cast

import pytest
from wordfreq_service.adapters.embedded import RESULT_QUEUE, open_embedded
from wordfreq_service.config import BackendSpec
from wordfreq_service.formats.job_request import JobRequest
from wordfreq_service.ports import Backend, MessageQueue
from wordfreq_service.service.client import Client, Submission
from wordfreq_service.service.job_client import InProcessJobs, JobClient
from wordfreq_service.service.jobs import JobService
from wordfreq_service.service.pool import ThreadPool
from wordfreq_service.service.worker import WorkerSettings

from tests.helpers import CORPUS, ROOT, run_wordfreq

ORPHANS = 5000
FILES = [ROOT / "samples" / "snelling-photography.txt", CORPUS / "pg1342.txt"]


def leave_orphans(backend: Backend, count: int = ORPHANS) -> None:
    """Results nobody will collect, as timed-out and interrupted clients leave them."""
    for i in range(count):
        body = {"FileKey": f"orphan-{i}", "JobID": f"o{i}", "Words": [], "Duration": 1,
                "Status": "success", "StatusMessage": "Success"}  # fmt: skip
        backend.result_queue.send(json.dumps(body))


def result_queue_receives(data_dir: Path) -> tuple[int, int]:
    """(messages on the result queue, how many of them were ever received)."""
    with sqlite3.connect(data_dir / "queues.sqlite3") as db:
        row = db.execute(
            "SELECT count(*), count(*) FILTER (WHERE receive_count > 0) FROM messages"
            " WHERE queue = ?",
            (RESULT_QUEUE,),
        ).fetchone()
    return int(row[0]), int(row[1])


def test_submit_is_not_held_up_by_orphaned_results(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    leave_orphans(open_embedded(data_dir))
    proc = run_wordfreq(["submit", "--data-dir", str(data_dir), "--json", *map(str, FILES)])
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [line["file"] for line in lines] == list(map(str, FILES))
    for line, path in zip(lines, FILES, strict=True):
        direct = json.loads(run_wordfreq(["count", "--json", str(path)]).stdout)
        assert (line["words"], line["total"]) == (direct["words"], direct["total"])
        assert line["key"] == f"jobs/{line['job_id']}" and line["status"] == "success"
    # The orphans are all there, and not one was ever received.
    assert result_queue_receives(data_dir) == (ORPHANS, 0)


class _Untouchable:
    """A result queue that fails the test if anyone touches it."""

    def __getattr__(self, name: str) -> Any:
        pytest.fail(f"the job-path client used the result queue ({name})")


def test_the_job_client_never_touches_the_result_queue(tmp_path: Path) -> None:
    backend = open_embedded(tmp_path)
    leave_orphans(backend, 100)
    sealed = dataclasses.replace(backend, result_queue=cast(MessageQueue, _Untouchable()))
    client = JobClient(InProcessJobs(JobService(sealed)))
    arrived: list[Submission] = []
    spec = BackendSpec(kind="embedded", data_dir=tmp_path)
    with ThreadPool(spec, WorkerSettings(wait_seconds=0.2), 2):
        handles = Client.open_inputs(list(map(str, FILES)))
        submissions = client.upload(handles, JobRequest.make(top=3))
        pending = client.collect(submissions, 60, arrived.append)
    assert pending == [] and [s.path for s in arrived] == list(map(str, FILES))
    assert all(s.result is not None and s.result.ok for s in arrived)
    assert result_queue_receives(tmp_path) == (100, 0)


def test_standard_input_is_submitted_whole(tmp_path: Path) -> None:
    book = FILES[1]
    proc = run_wordfreq(
        ["submit", "--data-dir", str(tmp_path), "--json", "-"], input=book.read_bytes()
    )
    assert proc.returncode == 0, proc.stderr
    line = json.loads(proc.stdout)
    direct = json.loads(run_wordfreq(["count", "--json", str(book)]).stdout)
    assert line["file"] == "-" and (line["words"], line["total"]) == (
        direct["words"],
        direct["total"],
    )
