"""`wordfreq api` and the API of `wordfreq up`, as processes: serving, flags, stopping,
and a port in use; and one job end to end through `up` with its workers."""

from __future__ import annotations

import csv
import io
import json
import signal
import socket
import time
from pathlib import Path

import httpx
import pytest
from wordfreq_service.api.settings import API_KEY_ENV, API_KEY_HEADER, BUCKET_ENV, JOB_TABLE_ENV

from tests.api_processes import assert_json_lines, serving, stop
from tests.aws_fixtures import AwsStack
from tests.helpers import run_wordfreq

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "snelling-photography.txt"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_up_serves_the_api_and_page_and_stops_cleanly(tmp_path: Path, signum: int) -> None:
    with serving(["up", "--workers", "2"], tmp_path) as (proc, url, log_path):
        assert url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
        assert httpx.get(f"{url}/").headers["content-type"].startswith("text/html")
        assert httpx.post(f"{url}/jobs", json={"size": 3}).status_code == 201
        started = time.monotonic()
        assert stop(proc, signum) == 0, log_path.read_text()
        assert time.monotonic() - started < 15
    assert_json_lines(log_path)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/healthz")


def test_up_with_one_worker_stops_cleanly(tmp_path: Path) -> None:
    # One worker runs in the parent itself, with its own signal handlers.
    with serving(["up", "--workers", "1"], tmp_path) as (proc, url, log_path):
        assert httpx.get(f"{url}/healthz").status_code == 200
        assert stop(proc) == 0, log_path.read_text()


def test_api_alone_takes_its_key_and_limit(tmp_path: Path) -> None:
    args = ["api", "--max-upload-size", "1K"]
    with serving(args, tmp_path, env={API_KEY_ENV: "sesame"}) as (proc, url, log_path):
        assert httpx.post(f"{url}/jobs", json={"size": 5}).status_code == 401
        key = {API_KEY_HEADER: "sesame"}
        assert httpx.post(f"{url}/jobs", json={"size": 1025}, headers=key).status_code == 413
        created = httpx.post(f"{url}/jobs", json={"size": 5}, headers=key)
        assert created.status_code == 201
        job = created.json()
        assert job["upload_url"].startswith(f"{url}/uploads/")
        sent = httpx.put(job["upload_url"], headers=job["upload_headers"], content=b"a b c")
        assert sent.status_code == 200, sent.text
        assert sent.json()["state"] == "queued"
        assert stop(proc) == 0, log_path.read_text()
    assert_json_lines(log_path)


def test_api_alone_on_aws(tmp_path: Path, aws_stack: AwsStack) -> None:
    """On AWS the upload goes to S3 by pre-signed URL, and the job record to DynamoDB."""
    args = ["api", "--backend", "aws", "--bucket", aws_stack.bucket]
    env = {JOB_TABLE_ENV: aws_stack.job_table}
    with serving(args, tmp_path, env=env) as (proc, url, log_path):
        assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
        job = httpx.post(f"{url}/jobs", json={"size": 5}).json()
        assert job["upload_url"].startswith(f"{aws_stack.endpoint}/{aws_stack.bucket}/jobs/")
        sent = httpx.put(job["upload_url"], headers=job["upload_headers"], content=b"a b c")
        assert sent.status_code == 200, sent.text
        auth = {"Authorization": f"Bearer {job['token']}"}
        view = httpx.get(f"{url}/jobs/{job['job_id']}", headers=auth).json()
        assert view["state"] == "waiting_for_upload"  # until a worker takes it
        assert "/uploads/" not in httpx.get(f"{url}/openapi.json").text
        assert stop(proc) == 0, log_path.read_text()


@pytest.mark.parametrize("command", ["api", "up"])
def test_a_port_in_use_is_one_line_and_a_failure(tmp_path: Path, command: str) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        proc = run_wordfreq(
            [command, "--port", str(port), "--data-dir", str(tmp_path / "data")], timeout=60
        )
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"cannot listen on 127.0.0.1:{port}" in lines[0], proc.stderr


def test_api_on_aws_needs_its_bucket_and_table(tmp_path: Path) -> None:
    env = {BUCKET_ENV: "", JOB_TABLE_ENV: ""}
    proc = run_wordfreq(["api", "--backend", "aws"], env=env, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert BUCKET_ENV in proc.stderr and JOB_TABLE_ENV in proc.stderr


def test_a_job_end_to_end_through_up(tmp_path: Path) -> None:
    """What the README's curl commands do: create, upload, wait for the result, download
    every count; the words are those `wordfreq count` finds."""
    data = SAMPLE.read_bytes()
    expected = run_wordfreq(["count", "--json", "--top", "5", str(SAMPLE)])
    assert expected.returncode == 0, expected.stderr
    top = [(w["word"], w["count"]) for w in json.loads(expected.stdout)["words"]]
    with serving(["up", "--workers", "1"], tmp_path) as (proc, url, log_path):
        job = httpx.post(f"{url}/jobs", json={"size": len(data), "top": 5}).json()
        sent = httpx.put(job["upload_url"], headers=job["upload_headers"], content=data)
        assert sent.status_code == 200, sent.text
        auth = {"Authorization": f"Bearer {job['token']}"}
        view = httpx.get(f"{url}/jobs/{job['job_id']}?wait=20", headers=auth, timeout=30).json()
        assert view["state"] == "done", log_path.read_text()
        assert [(w["word"], w["count"]) for w in view["result"]["words"]] == top
        counts = httpx.get(f"{url}/jobs/{job['job_id']}/counts.csv", headers=auth)
        rows = list(csv.reader(io.StringIO(counts.text)))
        assert rows[0] == ["word", "count"]
        assert [(w, int(c)) for w, c in rows[1:6]] == top
        assert sum(int(c) for _, c in rows[1:]) == view["result"]["total"]
        assert stop(proc) == 0
