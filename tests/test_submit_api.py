"""`wordfreq submit` over the job API: `--api URL`, its key, and a stack whose outputs
name an API. The output is what the in-process job path prints."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import httpx
import pytest
from wordfreq_service.api.settings import API_KEY_ENV, API_KEY_SECRET_OUTPUT, API_URL_OUTPUT
from wordfreq_service.formats.job_request import JobRequest
from wordfreq_service.service.api_client import ApiClient, HttpJobs

from tests.api_processes import serving, stop
from tests.helpers import run_wordfreq

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "snelling-photography.txt"


def words_only(text: str) -> list[str]:
    """The printed results without the per-job line (its duration and job ID vary)."""
    return [line for line in text.splitlines() if not line.startswith("Job Results completed")]


@pytest.fixture
def second_file(tmp_path: Path) -> Path:
    path = tmp_path / "second.txt"
    path.write_text("Der Wal, der Wal! Moby-Dick: the whale, the WHALE.\n" * 40)
    return path


def test_submit_through_the_api_prints_what_the_local_job_path_prints(
    tmp_path: Path, second_file: Path
) -> None:
    files = [str(SAMPLE), str(second_file)]
    local = run_wordfreq(
        ["submit", "--stopwords", "english", "--data-dir", str(tmp_path / "local"), *files]
    )
    assert local.returncode == 0, local.stderr
    unused = tmp_path / "unused"
    with serving(["up", "--workers", "2"], tmp_path) as (proc, url, log_path):
        remote = run_wordfreq(
            ["submit", "--api", url, "--stopwords", "english", *files],
            env={"WORDFREQ_DATA_DIR": str(unused)},
        )
        assert remote.returncode == 0, remote.stderr + log_path.read_text()
        assert words_only(remote.stdout) == words_only(local.stdout)
        assert "==> " in remote.stdout  # two files: headed blocks, in argument order
        as_json = run_wordfreq(["submit", "--api", url, "--json", "--top", "3", str(SAMPLE)])
        assert as_json.returncode == 0, as_json.stderr
        assert stop(proc) == 0
    assert not unused.exists()  # the API path opened no local stack
    body = json.loads(as_json.stdout)
    assert body["key"].startswith("jobs/") and body["key"].endswith(body["job_id"])
    assert body["status"] == "success" and len(body["words"]) == 3
    assert body["options_ignored"] is False and body["skipped"] == 0


def test_an_api_that_needs_a_key(tmp_path: Path) -> None:
    with serving(["up", "--workers", "1", "--api-key", "sesame"], tmp_path) as (proc, url, _):
        refused = run_wordfreq(["submit", "--api", url, str(SAMPLE)], env={API_KEY_ENV: ""})
        by_flag = run_wordfreq(["submit", "--api", url, "--api-key", "sesame", str(SAMPLE)])
        by_env = run_wordfreq(["submit", "--api", url, str(SAMPLE)], env={API_KEY_ENV: "sesame"})
        assert stop(proc) == 0
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1 and "--api-key" in refused.stderr, refused.stderr
    assert by_flag.returncode == 0, by_flag.stderr
    assert words_only(by_env.stdout) == words_only(by_flag.stdout)
    assert "the\t" in by_flag.stdout


def test_a_file_over_the_api_limit_is_refused_naming_it(tmp_path: Path) -> None:
    with serving(["up", "--workers", "1", "--max-upload-size", "1K"], tmp_path) as (proc, url, _):
        refused = run_wordfreq(["submit", "--api", url, str(SAMPLE)])
        assert stop(proc) == 0
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1, refused.stderr
    assert str(SAMPLE) in refused.stderr and "limit" in refused.stderr


def test_an_unreachable_api_is_one_line(tmp_path: Path) -> None:
    proc = run_wordfreq(["submit", "--api", "http://127.0.0.1:9", str(SAMPLE)], timeout=60)
    assert proc.returncode != 0
    assert proc.stderr.count("\n") == 1 and "http://127.0.0.1:9" in proc.stderr, proc.stderr


def test_a_stack_with_an_api_is_used_with_the_key_from_its_secret(
    tmp_path: Path, aws_session: boto3.Session, moto_endpoint: str
) -> None:
    secrets = aws_session.client("secretsmanager")
    secret_arn = secrets.create_secret(Name=f"key-{tmp_path.name}", SecretString="sesame")["ARN"]
    expected = run_wordfreq(["count", "--top", "5", str(SAMPLE)])
    with serving(["up", "--workers", "1", "--api-key", "sesame"], tmp_path) as (proc, url, log):
        template = {
            "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
            "Outputs": {
                API_URL_OUTPUT: {"Value": url},
                API_KEY_SECRET_OUTPUT: {"Value": secret_arn},
                # The compatible path's outputs too: the API must win over them.
                "bucketName": {"Value": "not-a-bucket-here"},
                "resultQueueUrl": {"Value": f"{moto_endpoint}/123456789012/none"},
            },
        }
        stack = f"api-{tmp_path.name}".replace("_", "-")
        aws_session.client("cloudformation").create_stack(
            StackName=stack, TemplateBody=json.dumps(template)
        )
        submitted = run_wordfreq(
            ["submit", "--stack-name", stack, "--top", "5", str(SAMPLE)], env={API_KEY_ENV: ""}
        )
        assert stop(proc) == 0
    assert submitted.returncode == 0, submitted.stderr + log.read_text()
    assert submitted.stdout.splitlines()[-5:] == expected.stdout.splitlines()[-5:]


def test_a_job_that_ended_without_a_result_is_a_failure_not_a_busy_loop() -> None:
    """An API whose job ended with no result (not written by a worker of ours) must not
    be asked again and again until the timeout."""
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        if request.method == "POST":
            created = {
                "job_id": "a" * 32,
                "key": "jobs/" + "a" * 32,
                "upload_url": "http://127.0.0.1:9/up",
                "upload_method": "PUT",
                "upload_headers": {},
                "expires_at": "2030-01-01T00:00:00Z",
                "token": "t",
            }
            return httpx.Response(201, json=created)
        return httpx.Response(200, json={"job_id": "a" * 32, "state": "done", "result": None})

    api = ApiClient(
        "http://api.invalid", client=httpx.Client(transport=httpx.MockTransport(answer))
    )
    jobs = HttpJobs(api)
    ticket = jobs.create(JobRequest.make(), 3)
    result = jobs.wait(ticket, 20)
    assert result is not None and not result.ok
    assert "without a result" in result.status_message
    assert asked == ["/jobs", f"/jobs/{'a' * 32}"]
