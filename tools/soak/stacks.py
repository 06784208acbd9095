"""The services a soak runs against, as processes: the embedded stack (``wordfreq up``),
or moto's server with ``wordfreq worker --backend aws`` and ``wordfreq api --backend
aws``. Each names its processes for the memory sampler, finds its worker processes (to
kill one), and reports what it holds at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from wordfreq_service.ports import DEFAULT_VISIBILITY_TIMEOUT_S

from tools.local_aws import FAKE_ENV, REGION, AwsStack, client_env, create_aws_stack
from tools.soak.memory import children, cmdline

WORDFREQ = str(Path(sys.executable).with_name("wordfreq"))
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 60
#: Long poll of the AWS worker: a stopping worker finishes the receive it is in first.
AWS_POLL_S = 1
MOTO_LABEL = "moto server (the stand-in)"


def wait_for_log(proc: subprocess.Popen[bytes], log: Path, event: str) -> dict[str, object]:
    """The first JSON log line of ``proc`` whose event is ``event``."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        for line in log.read_text(errors="replace").splitlines(keepends=True):
            if f'"{event}"' in line and line.endswith("\n"):
                entry: dict[str, object] = json.loads(line)
                if entry.get("event") == event:
                    return entry
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{proc.args!r} did not log {event!r}: {log.read_text()[-2000:]}")
        time.sleep(0.05)


@contextmanager
def service(argv: list[str], log: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """A service process logging to a file (an unread pipe would stall it), stopped with
    SIGTERM on the way out, killed if it does not stop."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=out, env=env)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def worker_processes(parent: int) -> list[int]:
    """The worker processes a pool parent (``up``, ``worker``) runs: its spawned
    children (not multiprocessing's resource tracker)."""
    return [pid for pid in children(parent) if "spawn_main" in cmdline(pid)]


def cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def busiest(pids: list[int], window_s: float = 0.3) -> int:
    """The PID that used the most CPU over a short window: a worker in the middle of a
    job, if any is."""
    before = {pid: cpu_ticks(pid) for pid in pids}
    time.sleep(window_s)
    return max(pids, key=lambda pid: cpu_ticks(pid) - before[pid])


@dataclass
class Stack:
    """What the soak needs of a running stack."""

    #: The process whose worker processes are killed and restarted.
    pool: subprocess.Popen[bytes]
    #: Labelled long-lived processes (besides the workers, found as they come).
    named: dict[str, int]
    #: ``wordfreq submit`` arguments routing to each path (after ``submit``).
    routes: dict[str, list[str]]
    env: dict[str, str]
    logs: list[Path] = field(default_factory=list)
    #: The embedded stack's data directory.
    data_dir: Path | None = None
    #: The resources on moto.
    aws: AwsStack | None = None
    #: Labels of processes that are not the product's (moto's server): reported, not judged.
    stand_ins: set[str] = field(default_factory=set)

    def processes(self) -> dict[int, str]:
        found = {pid: label for label, pid in self.named.items()}
        for pid in worker_processes(self.pool.pid):
            found[pid] = f"worker (pid {pid})"
        return found

    def workers(self) -> list[int]:
        return worker_processes(self.pool.pid)


@contextmanager
def embedded_stack(
    data_dir: Path, workers: int, logs: Path, visibility_timeout: int | None
) -> Iterator[Stack]:
    """``wordfreq up --workers N`` on ``data_dir``; ``submit`` routes to it by the data
    directory (the job path in-process, the stack's workers counting)."""
    env = {**os.environ, "WORDFREQ_DATA_DIR": str(data_dir)}
    log = logs / "up.log"
    argv = [WORDFREQ, "up", "--workers", str(workers), "--port", "0"]
    if visibility_timeout is not None:
        argv += ["--visibility-timeout", str(visibility_timeout)]
    with service(argv, log, env) as up:
        wait_for_log(up, log, "workers started")
        routes = {"job": [WORDFREQ, "submit"]}
        yield Stack(up, {"up": up.pid}, routes, env, [log], data_dir=data_dir)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def moto_process(logs: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """moto's server as a process of its own on a free loopback port (its memory then
    apart from the clients')."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with service(argv, logs / "moto.log", dict(os.environ)) as proc:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto's server did not start") from None
                time.sleep(0.1)
        yield endpoint, proc


@contextmanager
def aws_stack(
    endpoint: str | None, workers: int, logs: Path, visibility_timeout: int | None
) -> Iterator[Stack]:
    """A fresh stack on moto (``endpoint``, or a moto process of our own), one
    ``wordfreq worker --backend aws --concurrency N`` and one ``wordfreq api --backend
    aws``: the job path through ``submit --api URL``, the compatible path through the
    seed's ``submit -bucket B -queueUrl Q``."""
    with ExitStack() as stack:
        named: dict[str, int] = {}
        if endpoint is None:
            endpoint, moto = stack.enter_context(moto_process(logs))
            named[MOTO_LABEL] = moto.pid
        env = {**os.environ, **client_env(endpoint)}
        resources = create_aws_stack(
            endpoint,
            session=fake_session(),
            visibility_timeout=visibility_timeout or DEFAULT_VISIBILITY_TIMEOUT_S,
        )
        worker_env = {
            **env,
            "WORKER_QUEUE_URL": resources.work_queue_url,
            "WORKER_RESULT_QUEUE_URL": resources.result_queue_url,
            "WORKER_JOB_TABLE": resources.job_table,
        }
        worker_argv = [WORDFREQ, "worker", "--backend", "aws", "--concurrency", str(workers)]
        worker_argv += ["--poll-seconds", str(AWS_POLL_S)]
        worker = stack.enter_context(service(worker_argv, logs / "worker.log", worker_env))
        api_argv = [WORDFREQ, "api", "--backend", "aws", "--bucket", resources.bucket]
        api_argv += ["--job-table", resources.job_table, "--port", "0"]
        api = stack.enter_context(service(api_argv, logs / "api.log", env))
        url = str(wait_for_log(api, logs / "api.log", "serving the job API and page")["url"])
        wait_for_log(worker, logs / "worker.log", "workers started")
        named["worker (parent)"] = worker.pid
        named["api"] = api.pid
        routes = {
            "job": [WORDFREQ, "submit", "--api", url.rstrip("/")],
            "compatible": [
                *(WORDFREQ, "submit", "-bucket", resources.bucket),
                *("-queueUrl", resources.result_queue_url),
            ],
        }
        stack_logs = [logs / "worker.log", logs / "api.log"]
        stand_ins = {MOTO_LABEL} & set(named)
        yield Stack(worker, named, routes, env, stack_logs, aws=resources, stand_ins=stand_ins)


def jobs_started_again(logs: list[Path]) -> int:
    """How many keys the workers logged ``job started`` for more than once: a job held
    by the killed worker, received again after its visibility timeout."""
    starts: Counter[str] = Counter()
    for log in logs:
        for line in log.read_text(errors="replace").splitlines():
            if '"job started"' in line:
                with contextlib.suppress(ValueError):
                    entry = json.loads(line)
                    if entry.get("event") == "job started":
                        starts[str(entry.get("key"))] += 1
    return sum(1 for n in starts.values() if n > 1)


def fake_session() -> boto3.Session:
    """A session with the stand-in account's credentials, whatever this process's
    environment holds."""
    return boto3.Session(
        aws_access_key_id=FAKE_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_ENV["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=FAKE_ENV["AWS_SESSION_TOKEN"],
        region_name=REGION,
    )


def aws_leftovers(resources: AwsStack) -> dict[str, int]:
    """What the stack holds at the end: objects by kind, messages by queue."""
    session = fake_session()
    s3 = session.client("s3", endpoint_url=resources.endpoint)
    sqs = session.client("sqs", endpoint_url=resources.endpoint)
    found = {"result objects": 0, "result bytes": 0, "other objects": 0}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=resources.bucket):
        for obj in page.get("Contents", []):
            if obj["Key"].startswith("results/"):
                found["result objects"] += 1
                found["result bytes"] += obj["Size"]
            else:
                found["other objects"] += 1
    for name, url in (
        ("work queue", resources.work_queue_url),
        ("dead-letter queue", resources.dead_letter_queue_url),
        ("result queue", resources.result_queue_url),
    ):
        attrs = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        found[f"{name} messages"] = int(attrs["ApproximateNumberOfMessages"]) + int(
            attrs["ApproximateNumberOfMessagesNotVisible"]
        )
    return found
