"""The job API under hostile or unlucky conditions: secrets kept out of the log, text
that is not text, bodies too large or without the key, uploads that stall, and a
storage outage."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import structlog
from wordfreq_service import logs
from wordfreq_service.api.app import MAX_REQUEST_BODY, RETRY_AFTER_S, create_app
from wordfreq_service.api.settings import API_KEY_HEADER, ApiSettings
from wordfreq_service.api.uploads import UploadSigner
from wordfreq_service.errors import NoSuchKey, TransientError
from wordfreq_service.formats.job_request import JobRequest, RequestError
from wordfreq_service.ports import JobState

from tests.api_fixtures import TEST_LIMIT, ApiStack, auth, open_api_stack

KEY = "the-api-key-4f1e"
TEXT = b"the cat and the hat\n"
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def embedded(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ApiStack]:
    yield from open_api_stack(request, "embedded", tmp_path)


@pytest.fixture
def keyed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ApiStack]:
    settings = ApiSettings(api_key=KEY, max_upload_bytes=TEST_LIMIT)
    yield from open_api_stack(request, "embedded", tmp_path, settings=settings)


@pytest.fixture
def service_log(capfd: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    """The services' JSON log, as ``wordfreq api`` and the Lambda function write it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    logs.configure(service=True)
    yield capfd
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)


def _explode(*_args: Any, **_kwargs: Any) -> Any:
    raise RuntimeError("a bug")


# -- secrets stay out of the log -----------------------------------------------------------


def test_the_log_of_a_500_holds_neither_the_token_nor_the_api_key(
    keyed: ApiStack,
    service_log: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = {API_KEY_HEADER: KEY}
    job = keyed.client.post("/jobs", json={"size": 1}, headers=key).json()
    # Failures deep inside: frames below the endpoints hold the token and the key.
    monkeypatch.setattr(keyed.service.jobs, "get", _explode)
    assert keyed.client.get(f"/jobs/{job['job_id']}", headers=auth(job)).status_code == 500
    monkeypatch.setattr(keyed.service.jobs, "create", _explode)
    assert keyed.client.post("/jobs", json={"size": 1}, headers=key).status_code == 500
    lines = [json.loads(line) for line in service_log.readouterr().err.splitlines()]
    failures = [line for line in lines if line.get("event") == "request failed"]
    assert len(failures) == 2
    # The traceback is there, to find the bug by...
    assert all("RuntimeError" in json.dumps(line["exception"]) for line in failures)
    text = json.dumps(lines)
    # ...and the secrets are not.
    assert job["token"] not in text
    assert KEY not in text


def test_settings_do_not_show_the_api_key() -> None:
    assert KEY not in repr(ApiSettings(api_key=KEY))


# -- text that UTF-8 cannot carry ----------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        rb'{"size":1,"stopwords":["a\ud800"]}',
        rb'{"size":1,"stopwords":["caf\u00e9","\udfff"]}',
        rb'{"size":1,"stopwords":"\ud800"}',
        rb'{"size":1,"mode":"words\ud800"}',
        rb'{"size":1,"encoding":"\ud800"}',
        rb'{"size":1,"\ud800":1}',
    ],
    ids=lambda raw: raw.decode(),
)
def test_a_lone_surrogate_is_422_not_500(embedded: ApiStack, raw: bytes) -> None:
    response = embedded.client.post("/jobs", content=raw, headers=JSON)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert isinstance(error, str) and error and "\n" not in error


@pytest.mark.parametrize(
    "options",
    [{"stopwords": ["a\ud800"]}, {"stopwords": "\ud800"}, {"mode": "\ud800"}],
)
def test_the_job_request_refuses_a_lone_surrogate_on_every_path(options: dict[str, Any]) -> None:
    with pytest.raises(RequestError, match="not valid text"):
        JobRequest.from_json(options)


# -- POST /jobs: the key first, and a small body ----------------------------------------------


class _Counted:
    """A request body of ``chunks`` chunks, counting how many were read."""

    def __init__(self, chunks: int, size: int = 1024) -> None:
        self.chunks, self.size, self.read = chunks, size, 0

    def __iter__(self) -> Iterator[bytes]:
        for _ in range(self.chunks):
            self.read += 1
            yield b" " * self.size


def test_without_the_api_key_the_body_is_not_read(keyed: ApiStack) -> None:
    body = _Counted(10_000)  # 10 MB
    response = keyed.client.post("/jobs", content=body, headers=JSON)
    assert response.status_code == 401
    assert set(response.json()) == {"error"}
    assert body.read <= 1


def test_a_body_over_the_cap_is_413_by_its_length(keyed: ApiStack) -> None:
    padded = b'{"size": 1}' + b" " * MAX_REQUEST_BODY
    response = keyed.client.post("/jobs", content=padded, headers={**JSON, API_KEY_HEADER: KEY})
    assert response.status_code == 413
    assert str(MAX_REQUEST_BODY) in response.json()["error"]
    exact = b'{"size": 1}'.ljust(MAX_REQUEST_BODY)
    response = keyed.client.post("/jobs", content=exact, headers={**JSON, API_KEY_HEADER: KEY})
    assert response.status_code == 201, response.text


def test_a_chunked_body_over_the_cap_is_413_and_read_no_further(keyed: ApiStack) -> None:
    body = _Counted(10_000)  # 10 MB, no Content-Length
    response = keyed.client.post("/jobs", content=body, headers={**JSON, API_KEY_HEADER: KEY})
    assert response.status_code == 413
    assert set(response.json()) == {"error"}
    assert body.read <= MAX_REQUEST_BODY // body.size + 2


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        (b'{"size": 1, "mode": "w\xffords"}', "UTF-8"),
        (b'{"size": 1' + b"0" * 5000 + b"}", "digits"),
        (b"[" * 30_000 + b"]" * 30_000, "nested"),
    ],
    ids=["not-utf8", "5000-digits", "deep"],
)
def test_an_unreadable_body_is_400_saying_why(embedded: ApiStack, raw: bytes, said: str) -> None:
    response = embedded.client.post("/jobs", content=raw, headers=JSON)
    assert response.status_code == 400
    error = response.json()["error"]
    assert said in error and "\n" not in error


# -- uploads that stall --------------------------------------------------------------------------


def test_a_stalled_upload_is_abandoned_and_the_job_can_be_uploaded_again(
    embedded: ApiStack,
) -> None:
    assert embedded.data_dir is not None
    app = create_app(
        embedded.service,
        ApiSettings(max_upload_bytes=TEST_LIMIT),
        uploads=UploadSigner.in_data_dir(embedded.data_dir),
        upload_read_timeout_s=0.5,
    )
    job = embedded.create(len(TEXT))

    async def scenario() -> tuple[httpx.Response, httpx.Response, httpx.Response, Any]:
        gone_quiet = anyio.Event()

        async def stalling() -> AsyncIterator[bytes]:
            yield TEXT[:5]
            await gone_quiet.wait()  # the client never sends the rest
            yield TEXT[5:]

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            put = client.put
            async with anyio.create_task_group() as tasks:
                answers: dict[str, httpx.Response] = {}

                async def stalled() -> None:
                    answers["stalled"] = await put(
                        job["upload_url"], headers=job["upload_headers"], content=stalling()
                    )

                tasks.start_soon(stalled)
                await anyio.sleep(0.2)
                during = await put(job["upload_url"], headers=job["upload_headers"], content=TEXT)
            gone_quiet.set()
            stored_after_stall: Any
            try:
                stored_after_stall = embedded.backend.store.head(job["key"])
            except NoSuchKey:
                stored_after_stall = None
            again = await put(job["upload_url"], headers=job["upload_headers"], content=TEXT)
        return answers["stalled"], during, again, stored_after_stall

    stalled, during, again, stored_after_stall = anyio.run(scenario)
    assert during.status_code == 409
    assert "in progress" in during.json()["error"]
    assert stalled.status_code == 408
    assert "nothing was stored" in stalled.json()["error"]
    assert stored_after_stall is None
    assert again.status_code == 200, again.text
    assert again.json()["state"] == JobState.QUEUED.value
    assert embedded.backend.store.head(job["key"]).size == len(TEXT)


def test_a_trickled_upload_is_abandoned_at_its_deadline(embedded: ApiStack) -> None:
    """A byte every so often never trips the idle timeout; the upload's own deadline
    (a minimum average rate, at least ``upload_min_seconds``) ends it all the same."""
    assert embedded.data_dir is not None
    app = create_app(
        embedded.service,
        ApiSettings(max_upload_bytes=TEST_LIMIT),
        uploads=UploadSigner.in_data_dir(embedded.data_dir),
        upload_read_timeout_s=0.5,
        upload_min_seconds=1.0,
    )
    job = embedded.create(len(TEXT))

    async def trickle() -> AsyncIterator[bytes]:
        for i in range(len(TEXT)):
            yield TEXT[i : i + 1]
            await anyio.sleep(0.3)  # under the idle timeout every time

    async def scenario() -> tuple[httpx.Response, float, httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            started = time.monotonic()
            slow = await client.put(
                job["upload_url"], headers=job["upload_headers"], content=trickle()
            )
            took = time.monotonic() - started
            again = await client.put(job["upload_url"], headers=job["upload_headers"], content=TEXT)
        return slow, took, again

    slow, took, again = anyio.run(scenario)
    assert slow.status_code == 408, slow.text
    assert "nothing was stored" in slow.json()["error"]
    assert took < 0.3 * len(TEXT) / 2  # ended well before the trickle would have
    assert again.status_code == 200, again.text


# -- storage outages ---------------------------------------------------------------------------


def _down(*_args: Any, **_kwargs: Any) -> Any:
    raise TransientError("database is locked: /secret/path/jobs.sqlite3")


def test_a_storage_outage_is_503_with_retry_after(
    embedded: ApiStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = embedded.create(1)
    monkeypatch.setattr(embedded.service.jobs, "get", _down)
    monkeypatch.setattr(embedded.service.jobs, "create", _down)
    for response in (
        embedded.client.get(f"/jobs/{job['job_id']}", headers=auth(job)),
        embedded.client.post("/jobs", json={"size": 1}),
        embedded.client.get(f"/jobs/{job['job_id']}/counts.csv", headers=auth(job)),
        embedded.upload(job, b"x"),
    ):
        assert response.status_code == 503
        assert response.headers["Retry-After"] == str(RETRY_AFTER_S)
        assert set(response.json()) == {"error"}
        assert "/secret/path" not in response.text
