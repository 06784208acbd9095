"""The job API, every endpoint and error, on both backends (in-process over ASGI).

Results are written as the worker writes them (``ApiStack.finish``); the end-to-end run
with real workers is in ``test_cli_api.py``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wordfreq_service.api.app import UNHEALTHY, UPLOAD_THREADS, read_page
from wordfreq_service.api.settings import API_KEY_HEADER, ApiSettings
from wordfreq_service.api.uploads import KEY_FILE, UploadSigner
from wordfreq_service.errors import NoSuchKey, TransientError
from wordfreq_service.formats.job_request import OPTIONS
from wordfreq_service.formats.jobs import JOB_ID_METADATA, counts_key, new_job_id
from wordfreq_service.formats.results import JobResult
from wordfreq_service.ports import Backend, JobState
from wordfreq_service.service.jobs import MAX_WAIT_S, UPLOAD_EXPIRY_S

from tests.api_fixtures import BACKENDS, TEST_LIMIT, ApiStack, auth, open_api_stack

NEW_JOB_FIELDS = {
    "job_id",
    "key",
    "upload_url",
    "upload_method",
    "upload_headers",
    "expires_at",
    "token",
}
TEXT = b"the cat and the hat and the bat\n"


@pytest.fixture(params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ApiStack]:
    yield from open_api_stack(request, request.param, tmp_path)


@pytest.fixture
def embedded(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ApiStack]:
    yield from open_api_stack(request, "embedded", tmp_path)


def uploaded(api: ApiStack, data: bytes = TEXT, **options: Any) -> dict[str, Any]:
    job = api.create(len(data), **options)
    response = api.upload(job, data)
    assert response.status_code == 200, response.text
    return job


# -- POST /jobs ------------------------------------------------------------------------


def test_create_answers_every_field_and_stores_a_waiting_job(api: ApiStack) -> None:
    before = time.time()
    job = api.create(len(TEXT), top=3, stopwords="english")
    assert set(job) == NEW_JOB_FIELDS
    assert job["key"] == f"jobs/{job['job_id']}"
    assert job["upload_method"] == "PUT"
    headers = {k.lower(): v for k, v in job["upload_headers"].items()}
    assert headers["content-length"] == str(len(TEXT))
    assert headers[f"x-amz-meta-{JOB_ID_METADATA}"] == job["job_id"]
    assert headers["x-amz-meta-top"] == "3"
    assert headers["x-amz-meta-stopwords"] == "english"
    expires = datetime.fromisoformat(job["expires_at"].replace("Z", "+00:00"))
    assert expires.tzinfo == UTC
    assert before + UPLOAD_EXPIRY_S - 5 < expires.timestamp() < time.time() + UPLOAD_EXPIRY_S + 5
    record = api.service.find(job["job_id"], job["token"])
    assert record.state is JobState.WAITING_FOR_UPLOAD
    assert record.size == len(TEXT)
    assert record.options["top"] == 3
    # The token is not stored, only its hash.
    assert job["token"] not in json.dumps(record.options) + record.token_hash


def test_each_job_gets_its_own_key_and_token(api: ApiStack) -> None:
    jobs = [api.create(1) for _ in range(3)]
    assert len({j["key"] for j in jobs}) == len({j["token"] for j in jobs}) == 3


def test_size_over_the_limit_is_refused_at_post(api: ApiStack) -> None:
    response = api.client.post("/jobs", json={"size": TEST_LIMIT + 1})
    assert response.status_code == 413
    assert str(TEST_LIMIT) in response.json()["error"]
    assert api.client.post("/jobs", json={"size": TEST_LIMIT}).status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"size": -1},
        {"size": "5"},
        {"size": 1.5},
        {"size": True},
        {"size": None},
        {"size": 5, "colour": "red"},
        {"size": 5, "mode": "poetry"},
        {"size": 5, "mode": None},
        {"size": 5, "top": -1},
        {"size": 5, "top": 100_001},
        {"size": 5, "top": "3"},
        {"size": 5, "mode": "seed", "min_length": 2},
        {"size": 5, "min_length": 9, "max_word_length": 4},
        {"size": 5, "encoding": "ebcdic"},
        {"size": 5, "stopwords": 7},
        {"size": 5, "stopwords": "klingon"},
        [5],
        "size",
    ],
    ids=json.dumps,
)
def test_bad_bodies_are_422_with_a_one_line_error(embedded: ApiStack, body: Any) -> None:
    response = embedded.client.post("/jobs", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert isinstance(error, str) and error and "\n" not in error


@pytest.mark.parametrize(
    "content", [b"", b"{", b"not json", b'{"size": 5', b"\xff\xfe", b'{"size": 1e400}']
)
def test_unreadable_bodies_are_4xx_json(embedded: ApiStack, content: bytes) -> None:
    response = embedded.client.post(
        "/jobs", content=content, headers={"Content-Type": "application/json"}
    )
    assert 400 <= response.status_code < 500
    assert set(response.json()) == {"error"}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.dictionaries(
        st.sampled_from(["size", *(o.json for o in OPTIONS.values()), "other"]),
        st.none()
        | st.booleans()
        | st.integers(-(2**70), 2**70)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=12)
        | st.lists(st.text(max_size=5), max_size=3),
    )
)
def test_any_body_gets_201_413_or_422(embedded: ApiStack, body: dict[str, Any]) -> None:
    response = embedded.client.post("/jobs", json=body)
    assert response.status_code in (201, 413, 422), response.text
    if response.status_code != 201:
        assert set(response.json()) == {"error"}


def test_the_api_key_guards_creating_jobs_only(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    settings_ = ApiSettings(api_key="k3y-✓", max_upload_bytes=TEST_LIMIT)
    for api in open_api_stack(request, "embedded", tmp_path, settings=settings_):
        for headers in ({}, {API_KEY_HEADER: "wrong"}, {API_KEY_HEADER: ""}):
            refused = api.client.post("/jobs", json={"size": 1}, headers=headers)
            assert refused.status_code == 401
            assert API_KEY_HEADER in refused.json()["error"]
        job_ok = api.client.post(
            "/jobs", json={"size": len(TEXT)}, headers={API_KEY_HEADER: "k3y-✓".encode()}
        )
        assert job_ok.status_code == 201
        job = job_ok.json()
        # Uploading and reading need only what the job's answer gave.
        assert api.upload(job, TEXT).status_code == 200
        assert api.get_job(job).status_code == 200
        assert api.client.get("/healthz").status_code == 200


# -- the upload ------------------------------------------------------------------------


def test_the_upload_stores_the_file_with_its_metadata(api: ApiStack) -> None:
    job = uploaded(api, TEXT, top=4)
    with api.backend.store.get(job["key"]) as reader:
        assert b"".join(reader.iter_chunks()) == TEXT
        meta = {k.lower(): v for k, v in reader.info.metadata.items()}
    assert meta[JOB_ID_METADATA] == job["job_id"]
    assert meta["top"] == "4"


def test_the_presigned_url_binds_length_and_metadata(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    for api in open_api_stack(request, "aws", tmp_path):
        job = api.create(len(TEXT), mode="words", top=2)
        query = parse_qs(urlsplit(job["upload_url"]).query)
        signed = set(query["X-Amz-SignedHeaders"][0].split(";"))
        wanted = {k.lower() for k in job["upload_headers"]}
        assert "content-length" in wanted and f"x-amz-meta-{JOB_ID_METADATA}" in wanted
        assert wanted <= signed
        assert int(query["X-Amz-Expires"][0]) == UPLOAD_EXPIRY_S


def test_upload_checks_on_the_embedded_stack(embedded: ApiStack) -> None:
    """Each refusal is a 4xx JSON error and stores nothing; the good upload then works."""
    api = embedded
    job = api.create(len(TEXT), top=3)
    url = job["upload_url"]
    other = api.create(len(TEXT), top=3)
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    other_signature = parse_qs(urlsplit(other["upload_url"]).query)["signature"][0]
    base = f"{parts.path}?expires={query['expires'][0]}"
    headers = job["upload_headers"]
    plain = {k: v for k, v in headers.items() if k != "Content-Length"}
    messages_before = api.backend.work_queue.approximate_count()

    def put(target: str, body: bytes | Iterator[bytes], sent: dict[str, str]) -> int:
        response = api.client.put(target, content=body, headers=sent)
        assert set(response.json()) == {"error"}, response.text
        return response.status_code

    later = int(query["expires"][0]) + 60
    cases: dict[str, tuple[str, bytes | Iterator[bytes], dict[str, str], int]] = {
        "signature of another job": (f"{base}&signature={other_signature}", TEXT, headers, 403),
        "no signature": (base, TEXT, headers, 422),
        "expiry moved": (
            f"{parts.path}?expires={later}&signature={query['signature'][0]}",
            TEXT,
            headers,
            403,
        ),
        "metadata changed": (url, TEXT, {**headers, "x-amz-meta-top": "99"}, 403),
        "metadata missing": (
            url,
            TEXT,
            {k: v for k, v in headers.items() if k != "x-amz-meta-top"},
            403,
        ),
        "metadata added": (url, TEXT, {**headers, "x-amz-meta-colour": "red"}, 403),
        "no Content-Length": (url, iter([TEXT]), plain, 411),
        "longer Content-Length": (url, TEXT + b"!", {**plain}, 413),
        "shorter Content-Length": (url, TEXT[:-1], {**plain}, 400),
        "body shorter than its length": (url, iter([TEXT[:-1]]), headers, 400),
        "body longer than its length": (url, iter([TEXT, b"more"]), headers, 400),
    }
    for name, (target, body, sent, status) in cases.items():
        assert put(target, body, sent) == status, name
        with pytest.raises(NoSuchKey):
            api.backend.store.head(job["key"])
        assert api.service.find(job["job_id"], job["token"]).state is JobState.WAITING_FOR_UPLOAD
    assert api.backend.work_queue.approximate_count() == messages_before
    assert api.upload(job, TEXT).status_code == 200
    assert api.service.find(job["job_id"], job["token"]).state is JobState.QUEUED
    assert api.backend.work_queue.approximate_count() == messages_before + 1
    # A second upload, even the same, is refused: the job has its file.
    assert put(url, TEXT, headers) == 409


def test_an_expired_upload_url_is_refused(embedded: ApiStack) -> None:
    clock_behind = replace(embedded.service.settings, upload_expiry_s=-1)
    embedded.service.settings = clock_behind
    job = embedded.create(len(TEXT))
    response = embedded.upload(job, TEXT)
    assert response.status_code == 403
    assert "expired" in response.json()["error"]
    with pytest.raises(NoSuchKey):
        embedded.backend.store.head(job["key"])


def test_the_embedded_upload_is_streamed_not_held_in_memory(embedded: ApiStack) -> None:
    import tracemalloc

    size = 48 << 20
    embedded.service.settings = replace(embedded.service.settings, max_upload_bytes=size)
    job = embedded.create(size)
    chunk = b"word " * (1 << 14)

    def body() -> Iterator[bytes]:
        sent = 0
        while sent < size:
            piece = chunk[: size - sent]
            sent += len(piece)
            yield piece

    tracemalloc.start()
    try:
        response = embedded.upload(job, body())  # type: ignore[arg-type]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 200, response.text
    assert embedded.backend.store.head(job["key"]).size == size
    assert peak < 8 << 20, f"peak {peak / 2**20:.1f} MiB for a {size >> 20} MiB upload"


def test_slow_uploads_do_not_hold_up_others(embedded: ApiStack) -> None:
    """More uploads in progress than the service stores at once (UPLOAD_THREADS), each
    waiting for its client's next bytes: the service still answers at once, the uploads
    with a turn are stored, and those without one are told at once to retry (503)
    rather than held with nothing read."""
    jobs = [embedded.create(len(TEXT)) for _ in range(45)]
    app = embedded.app

    async def scenario() -> tuple[float, list[int]]:
        transport = httpx.ASGITransport(app=app)
        release = anyio.Event()
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            statuses: list[int] = []

            async def slow_body() -> AsyncIterator[bytes]:
                yield TEXT[:5]
                await release.wait()
                yield TEXT[5:]

            async def send(job: dict[str, Any]) -> None:
                response = await client.put(
                    job["upload_url"], headers=job["upload_headers"], content=slow_body()
                )
                statuses.append(response.status_code)

            async with anyio.create_task_group() as tasks:
                for job in jobs:
                    tasks.start_soon(send, job)
                await anyio.sleep(0.5)
                started = time.monotonic()
                try:
                    with anyio.fail_after(5):
                        health = await client.get("/healthz")
                        created = await client.post("/jobs", json={"size": 1})
                finally:
                    release.set()
                took = time.monotonic() - started
                assert (health.status_code, created.status_code) == (200, 201)
            return took, statuses

    took, statuses = anyio.run(scenario)
    assert took < 1.0, f"/healthz and POST /jobs took {took:.2f} s beside 45 uploads"
    assert sorted(statuses) == [200] * UPLOAD_THREADS + [503] * (45 - UPLOAD_THREADS)


# -- GET /jobs/{id} --------------------------------------------------------------------


def test_the_job_view_follows_the_job_to_its_result(api: ApiStack) -> None:
    job = uploaded(api)
    view = api.get_job(job).json()
    assert set(view) == {"job_id", "state", "result"}
    assert view["job_id"] == job["job_id"] and view["result"] is None
    api.service.jobs.advance(job["job_id"], JobState.RUNNING)
    assert api.get_job(job).json()["state"] == "running"
    api.finish(job["job_id"], [("the", 3), ("and", 2)], counts=[("the", 3), ("and", 2), ("cat", 1)])
    view = api.get_job(job).json()
    assert view["state"] == "done"
    result = view["result"]
    assert {"status", "status_message", "total", "unique", "words", "duration_ms"} <= set(result)
    assert result["status"] == "success"
    assert result["words"] == [{"word": "the", "count": 3}, {"word": "and", "count": 2}]
    assert (result["total"], result["unique"]) == (6, 3)


def test_a_failed_job_shows_its_reason(api: ApiStack) -> None:
    job = uploaded(api)
    failure = JobResult(job["key"], job["job_id"], "failure", "not a text file")
    api.service.jobs.advance(job["job_id"], JobState.FAILED, result=failure.to_json())
    view = api.get_job(job).json()
    assert view["state"] == "failed"
    assert view["result"]["status"] == "failure"
    assert view["result"]["status_message"] == "not a text file"
    assert api.client.get(f"/jobs/{job['job_id']}/counts.csv", headers=auth(job)).status_code == 404


def test_without_the_right_token_a_job_is_not_there(api: ApiStack) -> None:
    job = api.create(1)
    other = api.create(1)
    unknown = new_job_id()
    path = f"/jobs/{job['job_id']}"
    missing = api.client.get(f"/jobs/{unknown}", headers=auth(job))
    assert missing.status_code == 404
    expected = json.loads(missing.text.replace(unknown, job["job_id"]))
    for headers in (
        {},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {job['token']}"},
        {"Authorization": job["token"]},
        auth(other),
    ):
        for suffix in ("", "/counts.csv"):
            response = api.client.get(path + suffix, headers=headers)
            assert response.status_code == 404, (headers, suffix)
            assert response.json() == expected
    for bad_id in ("x", job["job_id"].upper(), job["job_id"] + "0", "%00", "a%2Fb"):
        response = api.client.get(f"/jobs/{bad_id}", headers=auth(job))
        assert response.status_code == 404
        assert set(response.json()) == {"error"}
    assert api.client.get(path, headers=auth(job)).status_code == 200


def test_wait_returns_when_the_job_ends(api: ApiStack) -> None:
    job = uploaded(api)
    timer = threading.Timer(0.5, api.finish, args=(job["job_id"], [("the", 3)]))
    started = time.monotonic()
    timer.start()
    try:
        view = api.get_job(job, wait=10).json()
    finally:
        timer.join()
    assert view["state"] == "done"
    assert 0.4 < time.monotonic() - started < 3


def test_wait_gives_up_after_its_seconds(embedded: ApiStack) -> None:
    job = uploaded(embedded)
    started = time.monotonic()
    view = embedded.get_job(job, wait=1.2).json()
    assert view["state"] == "queued"
    assert 1.1 < time.monotonic() - started < 2.5


@pytest.mark.parametrize("wait", ["-1", str(MAX_WAIT_S + 0.5), "nan", "inf", "soon", ""])
def test_a_bad_wait_is_422(embedded: ApiStack, wait: str) -> None:
    job = embedded.create(1)
    response = embedded.client.get(f"/jobs/{job['job_id']}?wait={wait}", headers=auth(job))
    assert response.status_code == 422
    assert "wait" in response.json()["error"]


def test_waiting_requests_do_not_hold_up_others(embedded: ApiStack) -> None:
    """More held requests than the thread pool has threads (40), and the service still
    answers at once: a wait polls without holding a thread."""
    job = embedded.create(1)
    app = embedded.app

    async def scenario() -> tuple[float, list[int]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            statuses: list[int] = []

            async def hold() -> None:
                path = f"/jobs/{job['job_id']}?wait=3"
                statuses.append((await client.get(path, headers=auth(job))).status_code)

            async with anyio.create_task_group() as tasks:
                for _ in range(60):
                    tasks.start_soon(hold)
                await anyio.sleep(0.5)
                started = time.monotonic()
                health = await client.get("/healthz")
                took = time.monotonic() - started
                assert health.status_code == 200
            return took, statuses

    took, statuses = anyio.run(scenario)
    assert took < 1.0, f"/healthz took {took:.2f} s beside 60 waiting requests"
    assert statuses == [200] * 60


# -- GET /jobs/{id}/counts.csv ----------------------------------------------------------


def test_the_counts_download_streams_every_word(api: ApiStack) -> None:
    job = uploaded(api)
    counts = [(f"w{i:05d}", 100_000 - i) for i in range(20_000)] + [('quote"d,word', 1)]
    path = f"/jobs/{job['job_id']}/counts.csv"
    assert api.client.get(path, headers=auth(job)).status_code == 404  # not done yet
    api.finish(job["job_id"], counts[:3], counts=counts)
    response = api.client.get(path, headers=auth(job))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;") and f"{job['job_id']}.csv" in disposition
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["word", "count"]
    assert [(w, int(c)) for w, c in rows[1:]] == counts


def test_counts_gone_from_the_store_are_404(api: ApiStack) -> None:
    job = uploaded(api)
    api.finish(job["job_id"], [("a", 1)])
    api.backend.store.delete(counts_key(job["job_id"]))
    response = api.client.get(f"/jobs/{job['job_id']}/counts.csv", headers=auth(job))
    assert response.status_code == 404
    assert set(response.json()) == {"error"}


# -- the rest ----------------------------------------------------------------------------


def test_healthz_answers_ok(api: ApiStack) -> None:
    response = api.client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


class _DownJobs:
    """A job store that does not answer (as a database that is locked or gone)."""

    def __getattr__(self, name: str) -> Any:
        raise TransientError("the job store is unavailable")


class _DownQueue:
    def __init__(self, queue: Any) -> None:
        self._queue = queue

    def approximate_count(self) -> int:
        raise TransientError("the work queue is unavailable")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._queue, name)


@pytest.mark.parametrize("down", ["jobs", "queue"])
def test_healthz_is_503_when_the_store_or_a_queue_is_down(
    request: pytest.FixtureRequest, tmp_path: Path, down: str
) -> None:
    def broken(backend: Backend) -> Backend:
        if down == "jobs":
            return replace(backend, jobs=_DownJobs())
        return replace(backend, work_queue=_DownQueue(backend.work_queue))

    for api in open_api_stack(request, "embedded", tmp_path, wrap=broken):
        response = api.client.get("/healthz")
        assert response.status_code == 503
        # The reason ("... is unavailable", with paths or table names) is for the log.
        assert response.json() == {"status": "unavailable", "error": UNHEALTHY}


def test_the_page_is_served_at_the_root(embedded: ApiStack) -> None:
    response = embedded.client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.text == read_page()
    page = Path(__file__).parent.parent / "python/wordfreq_service/api/page/index.html"
    assert hashlib.sha256(response.content).digest() == hashlib.sha256(page.read_bytes()).digest()


def test_unknown_routes_and_methods_are_json_4xx(embedded: ApiStack) -> None:
    for method, path, status in (
        ("GET", "/nothing", 404),
        ("DELETE", "/jobs", 405),
        ("POST", "/healthz", 405),
        ("GET", "/jobs", 405),
    ):
        response = embedded.client.request(method, path)
        assert response.status_code == status
        assert set(response.json()) == {"error"}


def test_the_schema_lists_exactly_the_api(api: ApiStack) -> None:
    schema = api.client.get("/openapi.json").json()
    paths = {"/", "/healthz", "/jobs", "/jobs/{job_id}", "/jobs/{job_id}/counts.csv"}
    paths |= {"/corpora", "/corpora/{corpus_id}", "/corpora/{corpus_id}/counts.csv"}
    if api.kind == "embedded":
        paths.add("/uploads/{job_id}")
    assert set(schema["paths"]) == paths
    body = schema["components"]["schemas"]["NewJobRequest"]
    assert set(body["properties"]) == {"size", *(o.json for o in OPTIONS.values())}
    assert body["required"] == ["size"]


def test_an_unexpected_failure_is_a_500_without_a_traceback(embedded: ApiStack) -> None:
    job = embedded.create(1)

    def explode(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("secret internals")

    embedded.service.find = explode  # type: ignore[method-assign]
    response = embedded.client.get(f"/jobs/{job['job_id']}", headers=auth(job))
    assert response.status_code == 500
    assert response.json() == {"error": "internal error"}
    assert "secret" not in response.text and "Traceback" not in response.text


def test_the_signing_key_is_made_once_and_private(embedded: ApiStack) -> None:
    assert embedded.data_dir is not None
    key_file = embedded.data_dir / KEY_FILE
    assert key_file.stat().st_mode & 0o777 == 0o600
    # Another process on the data directory signs alike: URLs outlive a restart.
    job = embedded.create(len(TEXT))
    again = UploadSigner.in_data_dir(embedded.data_dir)
    query = parse_qs(urlsplit(job["upload_url"]).query)
    record = embedded.service.find(job["job_id"], job["token"])
    metadata = {
        k[len("x-amz-meta-") :]: v
        for k, v in job["upload_headers"].items()
        if k != "Content-Length"
    }
    assert again.verify(
        query["signature"][0], job["job_id"], record.size, int(query["expires"][0]), metadata
    )
