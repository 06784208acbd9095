"""What a job's pre-signed upload URL binds (``S3Store.upload_url``), on moto's S3.

S3 refuses a pre-signed PUT unless the request's own values of every header the URL
names in ``X-Amz-SignedHeaders`` reproduce the signature. The URL must therefore name
``content-length`` (the job's size), ``host`` and every ``x-amz-meta-*`` header (the
options and the job ID). botocore presigns with SigV2 unless told otherwise, which
binds none of these as headers: the S3 client is configured for SigV4
(``adapters.aws.clients.S3_CONFIG``).

moto checks no pre-signed signature at all (nor the expiry, the length, or the key the
signature was made for): it stores whatever body and ``x-amz-meta-*`` headers a PUT
to the URL's path carries. So the refusal of a tampered upload is shown here by
recomputing the SigV4 signature as S3 does (checked first against the genuine upload,
whose recomputed signature must match the URL's), and on moto only what it does do:
the genuine upload lands under the job's key with its metadata.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import parse_qsl, quote, urlsplit

import boto3
import httpx
import pytest
from wordfreq_service.adapters.aws import open_aws
from wordfreq_service.formats.job_request import JobRequest
from wordfreq_service.formats.jobs import JOB_ID_METADATA
from wordfreq_service.ports import Backend, UploadTarget
from wordfreq_service.service.jobs import JobService

from tests.aws_fixtures import AwsStack
from tools.local_aws import FAKE_ENV

BODY = b"Plates of silver, plates of copper: the silver plate wins.\n"
REQUEST = JobRequest.make(mode="words", top=7, min_length=2, stopwords="english")


@pytest.fixture
def api_backend(aws_stack: AwsStack, aws_session: boto3.Session) -> Backend:
    """What the API's role opens: the bucket and the job table."""
    return open_aws(
        bucket=aws_stack.bucket,
        work_queue_url=None,
        result_queue_url=None,
        session=aws_session,
        job_table=aws_stack.job_table,
    )


def _new_upload(backend: Backend) -> tuple[str, UploadTarget]:
    service = JobService(backend)
    job = service.create(REQUEST, len(BODY))
    target = service.upload_target(job)
    assert target is not None
    return job.record.key, target


def _sigv4(url: str, method: str, headers: Mapping[str, str]) -> str:
    """The signature S3 computes for a pre-signed request to ``url`` carrying
    ``headers`` (the values of the headers the URL names as signed)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    params = dict(query)
    sent = {name.lower(): value.strip() for name, value in headers.items()}
    sent.setdefault("host", parts.netloc)
    signed = params["X-Amz-SignedHeaders"].split(";")
    canonical = "\n".join(
        [
            method,
            parts.path,
            "&".join(
                f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
                for k, v in sorted(query)
                if k != "X-Amz-Signature"
            ),
            "".join(f"{name}:{sent.get(name, '')}\n" for name in signed),
            ";".join(signed),
            "UNSIGNED-PAYLOAD",
        ]
    )
    scope = params["X-Amz-Credential"].split("/", 1)[1]
    to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            params["X-Amz-Date"],
            scope,
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )
    key = ("AWS4" + FAKE_ENV["AWS_SECRET_ACCESS_KEY"]).encode()
    for part in scope.split("/"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def test_the_url_signs_the_length_the_host_and_every_metadata_header(
    api_backend: Backend,
) -> None:
    _, target = _new_upload(api_backend)
    params = dict(parse_qsl(urlsplit(target.url).query))
    assert params["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    signed = set(params["X-Amz-SignedHeaders"].split(";"))
    metadata = {name.lower() for name in target.headers if name.lower().startswith("x-amz-meta-")}
    assert {f"x-amz-meta-{name}" for name in ("mode", "top", JOB_ID_METADATA)} <= metadata
    assert {"content-length", "host", *metadata} <= signed
    assert target.method == "PUT"
    assert target.headers["Content-Length"] == str(len(BODY))


def test_the_genuine_upload_arrives_with_its_metadata(
    api_backend: Backend, aws_session: boto3.Session
) -> None:
    key, target = _new_upload(api_backend)
    params = dict(parse_qsl(urlsplit(target.url).query))
    assert _sigv4(target.url, target.method, target.headers) == params["X-Amz-Signature"]
    response = httpx.request(target.method, target.url, content=BODY, headers=target.headers)
    assert response.status_code == 200, response.text
    info = api_backend.store.head(key)
    assert info.size == len(BODY)
    sent = {
        n[len("x-amz-meta-") :]: v for n, v in target.headers.items() if n.startswith("x-amz-meta-")
    }
    assert dict(info.metadata) == sent
    assert JobRequest.from_metadata(info.metadata, default_mode="seed") == REQUEST


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("x-amz-meta-mode", "lines"),
        ("x-amz-meta-top", "1000"),
        (f"x-amz-meta-{JOB_ID_METADATA}", "0" * 32),
        ("Content-Length", str(len(BODY) + 1)),
    ],
)
def test_a_tampered_upload_does_not_match_the_signature(
    api_backend: Backend, header: str, value: str
) -> None:
    _, target = _new_upload(api_backend)
    params = dict(parse_qsl(urlsplit(target.url).query))
    tampered = {**target.headers, header: value}
    assert _sigv4(target.url, target.method, tampered) != params["X-Amz-Signature"]
    missing = {name: v for name, v in target.headers.items() if name != header}
    assert _sigv4(target.url, target.method, missing) != params["X-Amz-Signature"]
