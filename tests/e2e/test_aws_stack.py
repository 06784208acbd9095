"""The AWS path end to end against moto's S3/SQS/STS server on loopback.

The worker runs as a subprocess configured only through the seed's environment
variables; the uploader runs as a subprocess with the seed's flag spellings and an
assumed submitter role. Nothing in the product knows moto is there: boto3 reaches it
through the standard AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from wordfreq_service.formats.s3event import object_created_event

from tests.aws_fixtures import AwsStack
from tests.fake_ecs_agent import FakeAgent
from tests.helpers import CORPUS, WORDFREQ, parse_top_words, run_wordfreq


def start_worker(
    stack: AwsStack, extra_env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "WORKER_QUEUE_URL": stack.work_queue_url,
        "WORKER_RESULT_QUEUE_URL": stack.result_queue_url,
        "AWS_REGION": stack.region,
        **(extra_env or {}),
    }
    return subprocess.Popen(
        [WORDFREQ, "worker", "--backend", "aws", "--concurrency", "1", "--poll-seconds", "1",
         "--visibility-timeout", "5"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.fixture
def worker(aws_stack: AwsStack) -> Iterator[subprocess.Popen[bytes]]:
    proc = start_worker(aws_stack)
    yield proc
    stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=60)


def objects_in(bucket: str) -> list[str]:
    listing = boto3.client("s3").list_objects_v2(Bucket=bucket)
    return [o["Key"] for o in listing.get("Contents", [])]


def test_seed_compatible_worker_and_uploader(
    aws_stack: AwsStack, worker: subprocess.Popen[bytes]
) -> None:
    book = CORPUS / "pg2701.txt"
    proc = run_wordfreq(
        [
            "submit", "-bucket", aws_stack.bucket, "-queueUrl", aws_stack.result_queue_url,
            "-submitterRole", aws_stack.submit_role_arn, "--timeout", "60", str(book),
        ],
        env={"WORKER_DEBUG": "1"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Job Results completed in ")
    assert parse_top_words(proc.stdout) == parse_top_words(
        run_wordfreq(["count", str(book)]).stdout
    )
    # The role was assumed through STS, and said so in structured log lines.
    assert "Requesting config from STS" in proc.stderr
    assert aws_stack.submit_role_arn in proc.stderr
    assert objects_in(aws_stack.bucket) == []


def test_uploader_reads_the_seed_environment(
    aws_stack: AwsStack, worker: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    f = tmp_path / "t.txt"
    f.write_text("seed seed environment")
    proc = run_wordfreq(
        ["submit", "--backend", "aws", "--json", str(f)],
        env={
            "UPLOAD_BUCKET_NAME": aws_stack.bucket,
            "RESULT_QUEUE_URL": aws_stack.result_queue_url,
            "SUBMITTER_ROLE": aws_stack.submit_role_arn,
        },
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["words"][0] == {"word": "seed", "count": 2}


def test_unreadable_event_is_dead_lettered_while_work_goes_on(
    aws_stack: AwsStack, worker: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    sqs = boto3.client("sqs")
    poison = object_created_event("a-bucket-nobody-can-read", "k.txt", 10, "etag")
    sqs.send_message(QueueUrl=aws_stack.work_queue_url, MessageBody=poison)
    f = tmp_path / "fine.txt"
    f.write_text("still served")
    served = run_wordfreq(
        ["submit", "--bucket", aws_stack.bucket, "--queue-url", aws_stack.result_queue_url,
         "--timeout", "60", str(f)]
    )  # fmt: skip
    assert served.returncode == 0, served.stderr
    deadline = time.monotonic() + 90
    dead: list[dict[str, Any]] = []
    while not dead and time.monotonic() < deadline:
        dead = sqs.receive_message(
            QueueUrl=aws_stack.dead_letter_queue_url, WaitTimeSeconds=1,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        ).get("Messages", [])  # type: ignore[assignment]  # fmt: skip
    assert [m["Body"] for m in dead] == [poison]
    # Before the move, on the last of its receives (the redrive policy's
    # maxReceiveCount, read from SQS), the worker told the key's client.
    told = sqs.receive_message(QueueUrl=aws_stack.result_queue_url, WaitTimeSeconds=1)
    results = [json.loads(m["Body"]) for m in told.get("Messages", [])]
    assert [(r["FileKey"], r["Status"]) for r in results] == [("k.txt", "failure")]
    assert "dead-letter" in results[0]["StatusMessage"]
    assert worker.poll() is None  # the worker is still up


def test_large_upload_goes_multipart_and_the_worker_streams_it(
    aws_stack: AwsStack, tmp_path: Path
) -> None:
    from wordfreq_service.adapters.aws import make_session, open_aws

    blob = b"".join(f.read_bytes() for f in sorted(CORPUS.glob("*.txt")))
    big = tmp_path / "big.txt"
    with open(big, "wb") as out:
        while out.tell() < 50_000_000:
            out.write(blob)
    backend = open_aws(
        bucket=aws_stack.bucket, work_queue_url=None, result_queue_url=aws_stack.result_queue_url,
        session=make_session(),
    )  # fmt: skip
    with open(big, "rb") as fh:
        info = backend.store.put("big.txt", fh, {"mode": "words", "top": "5"})
    # A multipart upload's ETag is the digest of the part digests plus "-<parts>".
    assert "-" in info.etag.strip('"')
    proc = start_worker(aws_stack)
    try:
        deadline = time.monotonic() + 120
        messages: list[Any] = []
        while not messages and time.monotonic() < deadline:
            messages = backend.result_queue.receive(1, wait_seconds=1)
        result = json.loads(messages[0].body)
        want = json.loads(run_wordfreq(["count", "--json", "--top", "5", str(big)]).stdout)
        assert result["Status"] == "success"
        assert result["Total"] == want["total"]
        assert [(w["Word"], w["Count"]) for w in result["Words"]] == [
            (w["word"], w["count"]) for w in want["words"]
        ]
        # VmHWM, not wait4's ru_maxrss: the latter folds in the RSS of the forked test
        # process from before exec (this one holds moto's copy of the object).
        status = Path(f"/proc/{proc.pid}/status").read_text()
        peak_kib = int(status.split("VmHWM:")[1].split()[0])
    finally:
        assert stop(proc) == 0
    # Streamed in 1 MiB chunks: well under the object's 50 MB on top of the interpreter,
    # boto3 and the counting core's vocabulary (about 85 MiB measured).
    assert peak_kib < 130 * 1024, f"peak RSS {peak_kib / 1024:.0f} MiB"


@pytest.mark.parametrize("agent_status", [200, 500])
def test_task_protection_follows_idle_busy_transitions(
    aws_stack: AwsStack, tmp_path: Path, fake_agent: tuple[str, type[FakeAgent]],
    agent_status: int,
) -> None:  # fmt: skip
    uri, agent = fake_agent
    agent.status = agent_status
    proc = start_worker(aws_stack, {"ECS_AGENT_URI": uri})
    try:
        files = []
        for i in range(3):
            f = tmp_path / f"{i}.txt"
            f.write_text(f"job number {i}")
            files.append(str(f))
        for batch in (files[:2], files[2:]):
            served = run_wordfreq(
                ["submit", "--bucket", aws_stack.bucket, "--queue-url",
                 aws_stack.result_queue_url, "--timeout", "60", *batch]
            )  # fmt: skip
            # A failing agent is logged and survived: the jobs are still done.
            assert served.returncode == 0, served.stderr
            time.sleep(2.5)  # long enough for an empty receive: the worker goes idle
    finally:
        assert stop(proc) == 0
    states = agent.states()
    assert {path for path, _ in agent.calls} == {"/task-protection/v1/state"}
    assert states[0] is True and states[-1] is False
    if agent_status == 200:
        # Only transitions: on when work arrives, off when the queue runs dry, never twice.
        assert all(a != b for a, b in itertools.pairwise(states))
        assert 2 <= states.count(True) <= 3
    # A failed call leaves the agent's state unknown: switched off again at the end.


def test_missing_worker_configuration_is_one_line_exit_2() -> None:
    env = {k: "" for k in ("WORKER_QUEUE_URL", "WORKER_RESULT_QUEUE_URL")}
    proc = run_wordfreq(["worker", "--backend", "aws"], env=env)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "WORKER_QUEUE_URL" in proc.stderr and "Traceback" not in proc.stderr


def test_uploader_without_bucket_is_one_line_exit_2(tmp_path: Path) -> None:
    f = tmp_path / "t.txt"
    f.write_text("x")
    env = {"UPLOAD_BUCKET_NAME": "", "RESULT_QUEUE_URL": ""}
    proc = run_wordfreq(["submit", "--backend", "aws", str(f)], env=env)
    assert proc.returncode == 2 and "bucket" in proc.stderr
    assert proc.stderr.strip().count("\n") == 0


def test_a_go_worker_result_prints(capsys: pytest.CaptureFixture[str]) -> None:
    from wordfreq_service.cli.submit import ResultPrinter
    from wordfreq_service.formats.results import JobResult
    from wordfreq_service.service.client import Submission

    go = JobResult.from_json(
        '{"FileKey":"k","JobID":"g5abc","Words":[{"Word":"which","Count":324}],'
        '"Duration":1234000000,"Status":"success","StatusMessage":"Success"}'
    )
    sub = Submission("f.txt", "k", result=go)
    ResultPrinter([sub], "words", as_json=False)(sub)
    out, err = capsys.readouterr()
    assert out == "Job Results completed in 1.234s for g5abc\nTop Words:\n- which\t\t324\n"
    assert "f.txt: the worker ignored the counting options" in err
