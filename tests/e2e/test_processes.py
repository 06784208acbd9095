"""The worker processes of `up` and `worker --concurrency N`: they end with their parent,
their log lines reach standard error whole, and the parent owns ECS task protection."""

from __future__ import annotations

import gzip
import io
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from wordfreq_service.adapters.embedded import open_embedded
from wordfreq_service.ports import Backend
from wordfreq_service.service.shutdown import STOP_POLL_S, kill_after

from tests.e2e.test_embedded_stack import Service
from tests.fake_ecs_agent import FakeAgent
from tests.helpers import WORDFREQ


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a live process, or None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may itself hold spaces or parentheses.
    fields = text.rsplit(")", 1)[1].split()
    return fields[0], int(fields[1])


def descendants(root: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            parents[int(entry.name)] = stat[1]
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def slow_upload(tmp_path: Path) -> Path:
    """Many gzip members of one compressed block: seconds of counting, made in a moment."""
    slow = tmp_path / "slow.gz"
    member = gzip.compress(b"alpha beta gamma delta epsilon " * (1 << 21), compresslevel=1)
    slow.write_bytes(member * 40)
    return slow


def drop_test_event(backend: Backend) -> None:
    for m in backend.work_queue.receive(10, wait_seconds=0.5):
        backend.work_queue.delete(m.receipt_handle)


def alive(pid: int) -> bool:
    stat = _stat(pid)
    # A zombie has ended; only its exit status waits for a reaper.
    return stat is not None and stat[0] != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to find children")
@pytest.mark.parametrize(
    "args",
    [["up", "--workers", "2", "--port", "0"], ["worker", "--concurrency", "2"]],
    ids=["up", "worker"],
)
def test_workers_end_when_their_parent_is_killed(tmp_path: Path, args: list[str]) -> None:
    service = Service(args, tmp_path)
    children: set[int] = set()
    try:
        for _ in range(2):
            service.wait_for("worker started")
        children = descendants(service.proc.pid)
        assert len(children) >= 2
        service.proc.kill()  # SIGKILL: the parent gets no chance to stop anyone
        service.proc.wait()
        deadline = time.monotonic() + 10
        while any(map(alive, children)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in children if alive(pid)], "orphaned workers still running"
        # They stopped on their own, as on SIGTERM, and said so on the console.
        service.wait_for("(exited)", timeout=5)
        stopped = [e for e in service.events if e.get("event") == "worker stopped"]
        assert len(stopped) == 2, service.events
    finally:
        for pid in children:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to find children")
def test_an_orphaned_worker_hands_its_message_back(tmp_path: Path) -> None:
    backend = open_embedded(tmp_path)
    drop_test_event(backend)
    service = Service(["worker", "--concurrency", "2", "--drain-seconds", "0.5"], tmp_path)
    children: set[int] = set()
    try:
        for _ in range(2):
            service.wait_for("worker started")
        children = descendants(service.proc.pid)
        with open(slow_upload(tmp_path), "rb") as fh:
            backend.store.put("slow", fh, {"mode": "words", "top": "1"})
        service.wait_for("job started")
        service.proc.kill()
        service.proc.wait()
        service.wait_for("(exited)", timeout=10)  # every worker has let go of stderr
        wait_until(lambda: not any(map(alive, children)), "exit of every worker", 5)
        # Abandoned at the drain deadline and made visible at once, not after the
        # 30 s visibility timeout; no result.
        back = backend.work_queue.receive(10, wait_seconds=1)
        assert [json.loads(m.body)["Records"][0]["s3"]["object"]["key"] for m in back] == ["slow"]
        assert backend.result_queue.receive(10, wait_seconds=0.2) == []
    finally:
        for pid in children:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_every_line_on_standard_error_is_one_json_object(tmp_path: Path) -> None:
    backend = open_embedded(tmp_path)
    assert backend.dead_letter_queue is not None
    uploads, poison = 60, 30
    # Control characters are escaped six bytes apiece in JSON, so these keys make log
    # lines of about 6 KB, past the 4 KiB a pipe writes in one piece.
    for i in range(uploads):
        key = f"{i:03d}" + "\x01" * 1000
        backend.store.put(key, io.BytesIO(b"a few words here"), {"mode": "words", "top": "1"})
    # Rejected events whose error quotes a 20 KB field: log lines past 8 KiB too.
    for i in range(poison):
        record = {"eventVersion": "2.1", "eventSource": "aws:s3", "eventTime": f"{i}" + "x" * 20000}
        backend.work_queue.send(json.dumps({"Records": [record]}))
    env = {**os.environ, "WORDFREQ_DATA_DIR": str(tmp_path)}
    proc = subprocess.Popen(
        [WORDFREQ, "up", "--workers", "3", "--port", "0"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    chunks: list[bytes] = []

    def read_slowly() -> None:
        # A log collector slower than the writers keeps the pipe full, which is when
        # writes from several processes split and interleave.
        assert proc.stderr is not None
        while chunk := os.read(proc.stderr.fileno(), 4096):
            chunks.append(chunk)
            time.sleep(0.001)

    reader = threading.Thread(target=read_slowly, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (
            backend.result_queue.approximate_count() == uploads
            and backend.dead_letter_queue.approximate_count() == poison
        ):
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    reader.join(10)
    lines = b"".join(chunks).decode().splitlines()
    broken = []
    for line in lines:
        try:
            assert isinstance(json.loads(line), dict)
        except (ValueError, AssertionError):
            broken.append(line)
    assert not broken, f"{len(broken)} of {len(lines)} lines are not one JSON object"
    events = [json.loads(line).get("event") for line in lines]
    assert events.count("job done") == uploads


def wait_until(condition: Callable[[], object], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"no {what} within {timeout}s"
        time.sleep(0.05)


def done(service: Service, key: str) -> bool:
    return any(e.get("event") == "job done" and e.get("key") == key for e in service.events)


@pytest.mark.parametrize("agent_status", [200, 500])
def test_task_protection_is_on_while_any_worker_process_is_busy(
    tmp_path: Path,
    fake_agent: tuple[str, type[FakeAgent]],
    agent_status: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    uri, agent = fake_agent
    agent.status = agent_status
    backend = open_embedded(tmp_path)
    drop_test_event(backend)
    slow = slow_upload(tmp_path)
    monkeypatch.setenv("ECS_AGENT_URI", uri)
    service = Service(["worker", "--concurrency", "2", "--poll-seconds", "0.2"], tmp_path)
    try:
        for _ in range(2):
            service.wait_for("worker started")
        with open(slow, "rb") as fh:
            backend.store.put("slow", fh, {"mode": "words", "top": "1"})
        service.wait_for("job started")
        # The other process takes this one, finishes it and goes idle while the first
        # is still counting: protection must stay on.
        backend.store.put("quick", io.BytesIO(b"a quick job"), {"mode": "words", "top": "1"})
        wait_until(lambda: done(service, "quick"), "quick job")
        time.sleep(1.0)  # several empty receives: that process is idle
        assert not done(service, "slow"), "the slow job was too quick to test anything"
        while_busy = agent.states()
        wait_until(lambda: done(service, "slow"), "slow job")
        if agent_status == 200:
            assert while_busy == [True]
            wait_until(lambda: len(agent.calls) > 1, "protection off")
            time.sleep(0.5)
            assert agent.states() == [True, False]  # off once, only when both are idle
            assert agent.calls[0][1]["ExpiresInMinutes"] == 60
    finally:
        assert service.stop() == 0
    if agent_status != 200:
        # The agent failing is logged and survived: both jobs were done.
        assert while_busy[:1] == [True]
        assert any(e.get("event") == "task protection call failed" for e in service.events)
        assert agent.states()[-1] is False  # the state is unknown: off once more at the end


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to stop a child")
def test_a_worker_process_that_does_not_stop_is_killed_after_its_drain_or_receive(
    tmp_path: Path,
) -> None:
    """A stopping worker process finishes its receive or drains its job, never both: the
    parent kills one that is still running a margin after the longer of the two, not
    after their sum (which, on ECS, outran the stop timeout)."""
    drain = poll = 2.5
    service = Service(
        [
            "worker",
            "--concurrency",
            "2",
            "--drain-seconds",
            f"{drain}",
            "--poll-seconds",
            f"{poll}",
        ],
        tmp_path,
    )
    started: list[int] = []
    try:
        wait_until(
            lambda: len([e for e in service.events if e.get("event") == "worker started"]) == 2,
            "two workers started",
        )
        started = [int(str(e["pid"])) for e in service.events if e.get("event") == "worker started"]
        os.kill(started[0], signal.SIGSTOP)  # it can neither drain nor exit
        asked = time.monotonic()
        assert service.stop() == 0
        took = time.monotonic() - asked
    finally:
        for pid in started:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
    assert any(e.get("event") == "worker did not drain in time; killing it" for e in service.events)
    assert kill_after(drain, poll) - 0.5 <= took <= kill_after(drain, poll) + STOP_POLL_S + 1.0
