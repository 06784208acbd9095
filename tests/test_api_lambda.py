"""The Lambda entry point on moto: API Gateway HTTP API (payload 2.0) events in, the
app's answers out, configured from the environment the stack sets, with the API key read
from Secrets Manager at the cold start."""

from __future__ import annotations

import base64
import csv
import io
import json
from dataclasses import dataclass
from typing import Any

import boto3
import httpx
import pytest
from wordfreq_service.adapters.aws import open_aws
from wordfreq_service.api import aws_lambda
from wordfreq_service.api.settings import (
    API_KEY_SECRET_ENV,
    BUCKET_ENV,
    JOB_TABLE_ENV,
    MAX_UPLOAD_BYTES_ENV,
)
from wordfreq_service.formats.jobs import JOB_ID_METADATA, counts_key
from wordfreq_service.ports import Backend

from tests.api_fixtures import finish
from tests.aws_fixtures import AwsStack, create_aws_stack

KEY = "lambda-key"
LIMIT = 1000
TEXT = b"to be or not to be\n"


@dataclass
class _Context:
    function_name: str = "wordfreq-api"
    aws_request_id: str = "test"


def event(
    method: str, path: str, *, body: Any = None, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """An API Gateway HTTP API event, payload format 2.0."""
    path_only, _, query = path.partition("?")
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path_only,
        "rawQueryString": query,
        "headers": {
            "host": "abc123.execute-api.us-east-1.amazonaws.com",
            "content-type": "application/json",
            **(headers or {}),
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": path_only,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "test",
            },
            "requestId": "request",
            "routeKey": "$default",
            "stage": "$default",
            "time": "27/Nov/2026:12:00:00 +0000",
            "timeEpoch": 1795780800000,
        },
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


def call(request: dict[str, Any]) -> tuple[int, dict[str, str], str]:
    answer = aws_lambda.handler(request, _Context())
    body = answer.get("body") or ""
    if answer.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return answer["statusCode"], answer.get("headers", {}), body


def test_the_lambda_handler_serves_the_api(
    monkeypatch: pytest.MonkeyPatch, moto_endpoint: str, aws_session: boto3.Session
) -> None:
    stack = create_aws_stack(moto_endpoint, session=aws_session)
    secret = aws_session.client("secretsmanager").create_secret(
        Name=f"{stack.bucket}-api-key", SecretString=KEY
    )
    monkeypatch.setenv(BUCKET_ENV, stack.bucket)
    monkeypatch.setenv(JOB_TABLE_ENV, stack.job_table)
    monkeypatch.setenv(API_KEY_SECRET_ENV, secret["ARN"])
    monkeypatch.setenv(MAX_UPLOAD_BYTES_ENV, str(LIMIT))
    monkeypatch.setattr(aws_lambda, "_handler", None)

    status, _, body = call(event("GET", "/healthz"))
    assert (status, json.loads(body)) == (200, {"status": "ok"})

    status, _, body = call(event("POST", "/jobs", body={"size": len(TEXT)}))
    assert status == 401 and "X-Api-Key" in json.loads(body)["error"]
    key = {"x-api-key": KEY}
    status, _, body = call(event("POST", "/jobs", body={"size": LIMIT + 1}, headers=key))
    assert status == 413
    status, _, body = call(event("POST", "/jobs", body={"size": "x"}, headers=key))
    assert status == 422 and set(json.loads(body)) == {"error"}

    status, _, body = call(event("POST", "/jobs", body={"size": len(TEXT), "top": 2}, headers=key))
    assert status == 201, body
    job = json.loads(body)
    assert job["upload_url"].startswith(moto_endpoint)
    sent = httpx.put(job["upload_url"], headers=job["upload_headers"], content=TEXT)
    assert sent.status_code == 200, sent.text
    head = aws_session.client("s3").head_object(Bucket=stack.bucket, Key=job["key"])
    assert head["Metadata"][JOB_ID_METADATA] == job["job_id"]

    auth = {"authorization": f"Bearer {job['token']}"}
    status, _, body = call(event("GET", f"/jobs/{job['job_id']}", headers=auth))
    assert status == 200 and json.loads(body)["job_id"] == job["job_id"]
    status, _, body = call(event("GET", f"/jobs/{job['job_id']}"))
    assert status == 404


@dataclass(frozen=True)
class KeylessLambda:
    """The function's environment on a fresh stack, with no API key; and the stack's
    backend, to play the worker."""

    stack: AwsStack
    backend: Backend


@pytest.fixture
def keyless_lambda(
    monkeypatch: pytest.MonkeyPatch, moto_endpoint: str, aws_session: boto3.Session
) -> KeylessLambda:
    stack = create_aws_stack(moto_endpoint, session=aws_session)
    monkeypatch.setenv(BUCKET_ENV, stack.bucket)
    monkeypatch.setenv(JOB_TABLE_ENV, stack.job_table)
    monkeypatch.delenv(API_KEY_SECRET_ENV, raising=False)
    monkeypatch.setattr(aws_lambda, "_handler", None)
    backend = open_aws(
        bucket=stack.bucket,
        work_queue_url=None,
        result_queue_url=None,
        job_table=stack.job_table,
        session=aws_session,
    )
    return KeylessLambda(stack, backend)


def test_large_counts_go_by_link_small_ones_inline(
    keyless_lambda: KeylessLambda, moto_endpoint: str
) -> None:
    """A Lambda response holds 6 MB: counts whose CSV is over INLINE_COUNTS_BYTES, as
    sent (the size the worker records), are a 307 to a pre-signed GET serving the same
    CSV, however well they compress; so are counts whose size is not recorded."""
    small = [("to", 2), ("be", 2), ("or", 1)]
    # Long words that differ only at the end: the CSV is past the inline size, and
    # compressed it is a small fraction of that (as real counts compress well).
    rows = aws_lambda.INLINE_COUNTS_BYTES // 200 + 1
    large = [("x" * 200 + f"{i:07d}", rows - i) for i in range(rows)]
    for counts, recorded, inline in (
        (small, True, True),
        (small, False, False),
        (large, True, False),
    ):
        status, _, body = call(event("POST", "/jobs", body={"size": 1}))
        job = json.loads(body)
        finish(
            keyless_lambda.backend, job["job_id"], counts[:3], counts=counts, record_size=recorded
        )
        if counts is large:
            stored = keyless_lambda.backend.store.head(counts_key(job["job_id"])).size
            assert stored < aws_lambda.INLINE_COUNTS_BYTES // 8, "the large counts compress"
        auth = {"authorization": f"Bearer {job['token']}"}
        path = f"/jobs/{job['job_id']}/counts.csv"
        status, headers, body = call(event("GET", path, headers=auth))
        if inline:
            assert status == 200 and headers["content-type"].startswith("text/csv")
            text = body
        else:
            assert status == 307
            assert headers["location"].startswith(
                f"{moto_endpoint}/{keyless_lambda.stack.bucket}/results/"
            )
            download = httpx.get(headers["location"])
            assert download.status_code == 200
            assert download.headers["content-encoding"] == "gzip"
            assert job["job_id"] in download.headers["content-disposition"]
            text = download.text  # httpx undoes the gzip encoding, as browsers and curl do
        rows_read = list(csv.reader(io.StringIO(text)))
        assert rows_read[0] == ["word", "count"]
        assert [(w, int(c)) for w, c in rows_read[1:]] == counts
        assert call(event("GET", path))[0] == 404


def test_the_largest_inline_counts_fit_a_lambda_response_however_they_escape(
    keyless_lambda: KeylessLambda,
) -> None:
    """The runtime client sends the response as JSON with ``ensure_ascii``: counts
    just under INLINE_COUNTS_BYTES made of the characters that escape worst (control
    bytes, six bytes each; Cyrillic, three) must still fit the 6 MB a Lambda answers."""
    for letter in ("\x01", "ж"):
        stem = letter * (100 // len(letter.encode()) - 6)
        per_row = len(stem.encode()) + len("000000,1\n")
        rows = aws_lambda.INLINE_COUNTS_BYTES // per_row - 1
        counts = [(f"{stem}{i:06d}", 1) for i in range(rows)]
        created, _, body = call(event("POST", "/jobs", body={"size": 1}))
        assert created == 201, body
        job = json.loads(body)
        finish(keyless_lambda.backend, job["job_id"], counts[:3], counts=counts)
        auth = {"authorization": f"Bearer {job['token']}"}
        answer = aws_lambda.handler(
            event("GET", f"/jobs/{job['job_id']}/counts.csv", headers=auth), _Context()
        )
        assert answer["statusCode"] == 200, "sent inline"
        marshalled = json.dumps(answer, ensure_ascii=True)
        assert len(marshalled) > aws_lambda.INLINE_COUNTS_BYTES * 2, "the worst escapes"
        assert len(marshalled) < aws_lambda.LAMBDA_RESPONSE_BYTES


def test_a_corpus_merges_on_lambda_and_large_merged_counts_go_by_link(
    keyless_lambda: KeylessLambda, moto_endpoint: str
) -> None:
    """The function merges a corpus (storing its counts under results/corpora/, the only
    prefix under results/ its role may write) and hands large merged counts out as a
    job's: a 307 to the stored object."""
    rows = aws_lambda.INLINE_COUNTS_BYTES // 200 + 1
    halves = [
        [("x" * 200 + f"{i:07d}", 2) for i in range(0, rows, 2)],
        [("x" * 200 + f"{i:07d}", 1) for i in range(1, rows, 2)] + [("shared", 5)],
    ]
    jobs = []
    for counts in halves:
        _, _, body = call(event("POST", "/jobs", body={"size": 1}))
        jobs.append(json.loads(body))
        finish(keyless_lambda.backend, jobs[-1]["job_id"], counts[:3], counts=counts)
    members = [{"job_id": j["job_id"], "token": j["token"]} for j in jobs]
    status, _, body = call(event("POST", "/corpora", body={"jobs": members}))
    assert status == 201, body
    corpus = json.loads(body)
    auth = {"authorization": f"Bearer {corpus['token']}"}
    status, _, body = call(event("GET", f"/corpora/{corpus['corpus_id']}", headers=auth))
    result = json.loads(body)["result"]
    assert status == 200 and result["total"] == 2 * len(halves[0]) + len(halves[1]) + 4
    assert result["words"][0] == {"word": "shared", "count": 5}
    status, headers, _ = call(
        event("GET", f"/corpora/{corpus['corpus_id']}/counts.csv", headers=auth)
    )
    assert status == 307
    assert headers["location"].startswith(
        f"{moto_endpoint}/{keyless_lambda.stack.bucket}/results/corpora/{corpus['corpus_id']}.csv.gz"
    )
    rows_read = list(csv.reader(io.StringIO(httpx.get(headers["location"]).text)))
    assert len(rows_read) == 1 + rows + 1 and rows_read[1] == ["shared", "5"]
