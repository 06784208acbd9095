"""The job API in-process, on either backend, for the API tests.

``api_stack`` yields the app over a fresh backend ("embedded": a temporary data
directory, the service taking uploads itself; "aws": S3, SQS and DynamoDB on moto's
server, uploads going to S3 by pre-signed URL) with a blocking client that talks to the
app through ASGI, as a browser would through uvicorn. Job results are written as the
worker writes them (``finish``), so result, wait and CSV tests need no worker.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fastapi import FastAPI
from wordfreq_service.api.app import create_app
from wordfreq_service.api.settings import ApiSettings
from wordfreq_service.api.uploads import UploadSigner
from wordfreq_service.formats.jobs import COUNTS_SIZE_METADATA, counts_key, write_counts
from wordfreq_service.formats.results import JobResult
from wordfreq_service.ports import Backend, JobState
from wordfreq_service.service.jobs import JobService, JobSettings

BACKENDS = ["embedded", "aws"]
#: The upload limit the API tests configure (small, so "over the limit" is cheap).
TEST_LIMIT = 1 << 20
BASE_URL = "http://testserver"


class AsgiClient:
    """A blocking HTTP client calling an ASGI app in-process (request bodies streamed)."""

    def __init__(self, app: FastAPI, portal: BlockingPortal) -> None:
        self._portal = portal
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=BASE_URL, timeout=60
        )

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        content = kwargs.get("content")
        if content is not None and not isinstance(content, bytes | str):
            kwargs["content"] = _streamed(content)

        async def call() -> httpx.Response:
            return await self._client.request(method, url, **kwargs)

        return self._portal.call(call)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def close(self) -> None:
        self._portal.call(self._client.aclose)


async def _streamed(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


@dataclass
class ApiStack:
    kind: str
    backend: Backend
    service: JobService
    app: FastAPI
    client: AsgiClient
    data_dir: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def create(self, size: int, **options: Any) -> dict[str, Any]:
        response = self.client.post("/jobs", json={"size": size, **options})
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def upload(self, job: dict[str, Any], data: bytes, **headers: str) -> httpx.Response:
        """Send ``data`` as the job's answer says: to the app (embedded) or to S3."""
        sent = {**job["upload_headers"], **headers}
        if job["upload_url"].startswith(BASE_URL):
            return self.client.request(
                job["upload_method"], job["upload_url"], headers=sent, content=data
            )
        return httpx.request(
            job["upload_method"], job["upload_url"], headers=sent, content=data, timeout=30
        )

    def get_job(self, job: dict[str, Any], **params: Any) -> httpx.Response:
        return self.client.get(f"/jobs/{job['job_id']}", params=params, headers=auth(job))

    def finish(
        self,
        job_id: str,
        words: list[tuple[str, int]],
        *,
        total: int | None = None,
        counts: list[tuple[str, int]] | None = None,
    ) -> None:
        finish(self.backend, job_id, words, total=total, counts=counts)


def finish(
    backend: Backend,
    job_id: str,
    words: list[tuple[str, int]],
    *,
    total: int | None = None,
    counts: list[tuple[str, int]] | None = None,
    record_size: bool = True,
) -> None:
    """What the worker does for a done job: store the full counts (with the CSV's size
    in their metadata unless ``record_size`` is false, as an older worker stored them),
    then the record."""
    assert backend.jobs is not None
    full = counts if counts is not None else words
    packed = io.BytesIO()
    write_counts(full, packed)
    csv_bytes = len(gzip.decompress(packed.getvalue()))
    packed.seek(0)
    metadata = {COUNTS_SIZE_METADATA: str(csv_bytes)} if record_size else {}
    backend.store.put(counts_key(job_id), packed, metadata)
    backend.jobs.advance(job_id, JobState.RUNNING)
    result = JobResult.success(
        f"jobs/{job_id}",
        job_id,
        words=words,
        total=sum(c for _, c in full) if total is None else total,
        unique=len(full),
        mode="words",
        skipped=0,
    )
    assert backend.jobs.advance(job_id, JobState.DONE, result=result.to_json())


def auth(job: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {job['token']}"}


def open_api_stack(
    request: pytest.FixtureRequest,
    kind: str,
    tmp_path: Path,
    *,
    settings: ApiSettings | None = None,
    wrap: Callable[[Backend], Backend] | None = None,
) -> Iterator[ApiStack]:
    """Yield an ``ApiStack`` of ``kind``; closed when the test ends."""
    settings = settings or ApiSettings(max_upload_bytes=TEST_LIMIT)
    data_dir: Path | None = None
    if kind == "embedded":
        from wordfreq_service.adapters.embedded import open_embedded

        data_dir = tmp_path / "data"
        backend = open_embedded(data_dir)
        signer: UploadSigner | None = UploadSigner.in_data_dir(data_dir)
    else:
        from wordfreq_service.adapters.aws import open_aws

        from tests.aws_fixtures import create_aws_stack

        stack = create_aws_stack(
            request.getfixturevalue("moto_endpoint"),
            session=request.getfixturevalue("aws_session"),
        )
        backend = open_aws(
            bucket=stack.bucket,
            work_queue_url=stack.work_queue_url,
            result_queue_url=stack.result_queue_url,
            job_table=stack.job_table,
            session=request.getfixturevalue("aws_session"),
        )
        signer = None
    if wrap is not None:
        backend = wrap(backend)
    service = JobService(backend, JobSettings(max_upload_bytes=settings.max_upload_bytes))
    app = create_app(service, settings, uploads=signer)
    with ExitStack() as stack_:
        portal = stack_.enter_context(start_blocking_portal())
        client = AsgiClient(app, portal)
        stack_.callback(client.close)
        yield ApiStack(kind, backend, service, app, client, data_dir)
