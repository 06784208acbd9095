"""Worker processes SIGKILLed at chosen points of a job, with random seeds: every job
still gets exactly one result for its client, and a retry after the object is gone never
turns a delivered success into a failure.

The job path's client is the real ``wordfreq submit`` (no in-process workers: the test
holds the stack's lock, as ``wordfreq up`` would); the compatible path's is the product's
``Client`` on uploads with random keys, as the seed's flags make them. The workers that
die are ``killable_worker`` processes (the product's ``Worker``, killing itself exactly
at the point drawn); the one that finishes is ``wordfreq worker``."""

from __future__ import annotations

import collections
import json
import random
import signal
import sqlite3
import subprocess
from functools import partial
from pathlib import Path

import pytest
from wordfreq_service.adapters.embedded import open_embedded
from wordfreq_service.adapters.embedded.backend import DATABASE_NAME, RESULT_QUEUE
from wordfreq_service.adapters.embedded.stack_lock import StackLock
from wordfreq_service.formats.job_request import JobRequest
from wordfreq_service.ports import MessageQueue
from wordfreq_service.service.client import Client, Submission

from tests.e2e.test_embedded_stack import Service
from tests.faults.killable_worker import POINTS
from tests.faults.processes import kill_all, seed_of, start_killable, trials, wait_until
from tests.helpers import WORDFREQ

#: Kills per trial: each costs every message of the killed worker's batch a receive, and
#: the fifth receive is the last before the dead-letter queue; four leave it to succeed.
KILLS = len(POINTS)
VISIBILITY_S = 1
FILES_PER_PATH = 3


def make_file(path: Path, rng: random.Random, marker: str) -> tuple[int, int]:
    """A file of ~100 KiB (several of the killable worker's chunks) with ``marker`` a
    random number of times; (that number, the total of words)."""
    times = 4000 + rng.randint(1, 500)  # above every filler word
    filler = "lorem ipsum dolor sit amet " * 4000  # 20,000 words
    path.write_text(f"{marker} " * times + filler)
    return times, times + 20_000


def peek(queue: MessageQueue) -> list[dict[str, object]]:
    """Every message on ``queue``, left there (visible again at once)."""
    bodies, handles = [], []
    while messages := queue.receive(10, wait_seconds=0.2, visibility_timeout=30):
        bodies += [json.loads(m.body) for m in messages]
        handles += [m.receipt_handle for m in messages]
    for handle in handles:
        queue.change_visibility(handle, 0)
    return bodies


def hurry_delayed(data_dir: Path) -> None:
    """Make every delayed result visible now, as the delay's end would (a test cannot
    wait out ``GONE_ON_REDELIVERY_DELAY_S``)."""
    with sqlite3.connect(data_dir / DATABASE_NAME) as db:
        db.execute("UPDATE messages SET visible_at = 0 WHERE queue = ?", (RESULT_QUEUE,))


def dead_or_done(worker: subprocess.Popen[bytes], data_dir: Path) -> bool:
    return worker.poll() is not None or work_left(data_dir) == 0


def work_left(data_dir: Path) -> int:
    """Messages on the work queue, held by a worker or not."""
    with sqlite3.connect(data_dir / DATABASE_NAME) as db:
        [(count,)] = db.execute("SELECT count(*) FROM messages WHERE queue = 'work'")
    return int(count)


@pytest.mark.parametrize("given", trials(2))
def test_jobs_survive_workers_killed_at_random_points(tmp_path: Path, given: int | None) -> None:
    seed = seed_of(given)
    rng = random.Random(seed)
    data_dir = tmp_path / "data"
    backend = open_embedded(data_dir)
    lock = StackLock(data_dir)
    lock.acquire(1)  # `submit` then brings no workers of its own
    expected: dict[str, tuple[str, int, int]] = {}  # file or key: (marker, count, total)
    job_files = []
    for i in range(FILES_PER_PATH):
        path = tmp_path / f"job{i}.txt"
        marker = f"jobmarker{'abcdefghij'[i]}"
        expected[str(path)] = (marker, *make_file(path, rng, marker))
        job_files.append(str(path))
    out = (tmp_path / "submit.out").open("wb")
    # Its log to a file: a pipe nobody reads until the end would stall it once full.
    err = (tmp_path / "submit.err").open("wb")
    submit = subprocess.Popen(
        [WORDFREQ, "submit", "--data-dir", str(data_dir), "--json", "--top", "1",
         "--timeout", "120", *job_files],
        stdout=out, stderr=err,
    )  # fmt: skip
    client = Client(backend, poll_seconds=0.5)
    compat_files = []
    for i in range(FILES_PER_PATH):
        path = tmp_path / f"compat{i}.txt"
        marker = f"compatmarker{'abcdefghij'[i]}"
        expected[str(path)] = (marker, *make_file(path, rng, marker))
        compat_files.append(str(path))
    request = JobRequest(mode="words", top=1)
    submissions = client.upload(Client.open_inputs(compat_files), request)
    killed: list[subprocess.Popen[bytes]] = []
    kills: list[tuple[str, int]] = []  # the points reached
    final: Service | None = None
    try:
        # Every point once a trial (as many as there are kills), in a random order.
        plan = [(point, rng.randint(1, 3)) for point in rng.sample(POINTS, KILLS)]
        print(f"seed {seed}: kills at {plan}")
        for point, nth in plan:
            worker = start_killable(data_dir, point, nth, VISIBILITY_S)
            killed.append(worker)
            # It dies at its point, or finishes every job first (fewer were left than
            # ``nth``): then the kill is ours, at no point in particular, and the last.
            wait_until(partial(dead_or_done, worker, data_dir), "kill or end of the work", 30)
            if worker.poll() is None:
                worker.kill()
                print(f"seed {seed}: every job done before {point} #{nth}")
                break
            assert worker.returncode == -signal.SIGKILL
            kills.append((point, nth))
        final = Service(["worker", "--concurrency", "1", "--visibility-timeout", "1"], data_dir)
        final.wait_for("workers started")
        submit.wait(timeout=60)
        logged = (tmp_path / "submit.err").read_text(errors="replace")
        assert submit.returncode == 0, f"seed {seed}: {logged}"
        wait_until(lambda: work_left(data_dir) == 0, "empty work queue", 30)
        # Every result message is in. Whichever of them a client reads first (SQS keeps no
        # order), it must be the success: a retry may repeat it, never fail it.
        posted = peek(backend.result_queue)
        assert all(r["Status"] == "success" for r in posted), (seed, posted)
        results: list[Submission] = []
        pending = client.collect(submissions, 10, results.append)
        assert not pending, f"seed {seed}: no result for {[s.path for s in pending]}"
        # A retry that found the object gone (a kill after its deletion) posted its
        # failure late: it comes after the success, for a key the client has finished.
        hurry_delayed(data_dir)
        late = peek(backend.result_queue)
        assert all(r["Status"] == "failure" for r in late), (seed, late)
        assert {r["FileKey"] for r in late} <= {s.key for s in results}, (seed, late)
        print(f"seed {seed}: {len(late)} late failure(s) after a success")
    finally:
        try:
            kill_all({p.pid for p in killed})
            if submit.poll() is None:
                submit.kill()
            submit.wait(timeout=10)
            out.close()
            err.close()
            if final is not None:
                assert final.stop() == 0
        finally:
            lock.release()
    printed = [json.loads(line) for line in (tmp_path / "submit.out").read_text().splitlines()]
    # Exactly one line per file, each the file's own counts.
    assert sorted(line["file"] for line in printed) == sorted(job_files), f"seed {seed}"
    got = {line["file"]: (line["status"], line["words"], line["total"]) for line in printed}
    got |= {
        s.path: (s.result.status, [{"word": w, "count": c} for w, c in s.result.words],
                 s.result.total)
        for s in results if s.result is not None
    }  # fmt: skip
    for name, (marker, count, total) in expected.items():
        want = ("success", [{"word": marker, "count": count}], total)
        assert got[name] == want, f"seed {seed}: {name}"
    # A kill between a result and its object's deletion has the job counted again (the
    # result queue is at least once); the client printed it once, and deleted the copy.
    # Objects are deleted in the background after their results, so a kill at any point
    # (not only ``unremoved``) may land before the deletes of its batch's finished jobs.
    per_key = collections.Counter(r["FileKey"] for r in posted)
    assert set(per_key) == {s.key for s in submissions}, seed
    repeats = sum(per_key.values()) - len(per_key)
    assert repeats <= len(kills) * FILES_PER_PATH, (seed, posted)
    assert backend.dead_letter_queue is not None
    assert backend.dead_letter_queue.approximate_count() == 0
