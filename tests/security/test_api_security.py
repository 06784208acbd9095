"""The job API against someone probing it: a job or corpus read with a wrong token
looks exactly like one that does not exist (status, body, the store reads made, a
constant-time compare); the API key is compared in constant time and its refusal says
nothing of what was sent; no CORS unless configured; no stack trace or file path in any
answer to any request, however malformed; an upload is read no further than its size.

Timing is not measured here (the machine is shared, and a figure nobody asserts cannot
fail): the tests check the code paths that make it even."""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wordfreq_service.api.settings import API_KEY_HEADER, ApiSettings
from wordfreq_service.formats.corpus import new_corpus_id
from wordfreq_service.formats.jobs import new_job_id
from wordfreq_service.ports import JobState

from tests.api_fixtures import (
    BASE_URL,
    TEST_LIMIT,
    ApiStack,
    AsgiClient,
    auth,
    open_api_stack,
)
from tests.helpers import ROOT

KEY = "s3cret-api-key-9f2c"
TEXT = b"the cat and the hat\n"


@pytest.fixture
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ApiStack]:
    settings_ = ApiSettings(api_key=KEY, max_upload_bytes=TEST_LIMIT)
    yield from open_api_stack(request, "embedded", tmp_path, settings=settings_)


def create(api: ApiStack, size: int = len(TEXT)) -> dict[str, Any]:
    response = api.client.post("/jobs", json={"size": size}, headers={API_KEY_HEADER: KEY})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


class Recorder:
    """The store reads a request makes, and the digests it compares, in order."""

    def __init__(self, api: ApiStack, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[str] = []
        jobs, store = api.service.jobs, api.backend.store
        for owner, names in ((jobs, ("get", "get_jobs", "get_corpus")), (store, ("get", "head"))):
            for name in names:
                monkeypatch.setattr(owner, name, self._recording(name, getattr(owner, name)))
        compare = hmac.compare_digest

        def compare_digest(a: Any, b: Any) -> bool:
            self.calls.append(f"compare_digest({len(a)}, {len(b)})")
            return compare(a, b)

        monkeypatch.setattr(hmac, "compare_digest", compare_digest)

    def _recording(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def recorded(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return method(*args, **kwargs)

        return recorded

    def during(
        self, client: AsgiClient, method: str, url: str, **kwargs: Any
    ) -> tuple[httpx.Response, list[str]]:
        """The response to a request, and the reads and compares it made."""
        self.calls.clear()
        response = client.request(method, url, **kwargs)
        return response, list(self.calls)


def test_a_wrong_token_and_an_unknown_job_are_indistinguishable(
    api: ApiStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a done job, and someone else's job and token
    job, other = create(api), create(api)
    api.finish(job["job_id"], [("cat", 1)])
    corpus = api.client.post(
        "/corpora",
        json={"jobs": [{"job_id": job["job_id"], "token": job["token"]}]},
        headers={API_KEY_HEADER: KEY},
    ).json()
    recorder = Recorder(api, monkeypatch)
    unknown_job, unknown_corpus = new_job_id(), new_corpus_id()
    for path, known, unknown in (
        ("/jobs/{}", job["job_id"], unknown_job),
        ("/jobs/{}/counts.csv", job["job_id"], unknown_job),
        ("/jobs/{}?wait=0", job["job_id"], unknown_job),
        ("/corpora/{}", corpus["corpus_id"], unknown_corpus),
        ("/corpora/{}/counts.csv", corpus["corpus_id"], unknown_corpus),
    ):
        answers = {}
        for case, target, headers in (
            ("unknown", unknown, auth(other)),
            ("wrong token", known, auth(other)),
            ("no token", known, {}),
            ("token of a longer length", known, {"Authorization": "Bearer " + "x" * 500}),
        ):
            response, calls = recorder.during(
                api.client, "GET", path.format(target), headers=headers
            )
            answers[case] = (
                response.status_code,
                response.text.replace(target, "ID"),
                calls,
            )
        # Then every answer is the same 404, with the same body, after the same store
        # reads and one compare of two SHA-256 digests (fixed length: constant time)
        assert len(set(map(repr, answers.values()))) == 1, (path, answers)
        status, body, calls = answers["unknown"]
        assert status == 404 and json.loads(body) == {"error": json.loads(body)["error"]}
        assert calls.count("compare_digest(64, 64)") == 1, calls
        # and the owner reads it
        owner = job if path.startswith("/jobs") else corpus
        assert api.client.get(path.format(known), headers=auth(owner)).status_code == 200


@pytest.mark.parametrize(
    "sent",
    [None, "", "wrong", KEY[:-1], KEY + "x", KEY.upper(), "x" * 10_000, "ключ", " " + KEY],
    ids=["missing", "empty", "wrong", "prefix", "longer", "case", "10k", "non-ascii", "space"],
)
def test_the_api_key_is_refused_alike_and_compared_in_constant_time(
    api: ApiStack, monkeypatch: pytest.MonkeyPatch, sent: str | None
) -> None:
    recorder = Recorder(api, monkeypatch)
    headers = {} if sent is None else {API_KEY_HEADER: sent.encode()}
    expected = None
    for path, body in (("/jobs", {"size": 1}), ("/corpora", {"jobs": []})):
        response, calls = recorder.during(api.client, "POST", path, json=body, headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/json"
        # The same answer whatever was sent, and nothing of it echoed
        expected = expected or response.json()
        assert response.json() == expected == {"error": expected["error"]}
        if sent:
            assert sent not in response.text
        # compared as digests of one length, so the time says nothing of the key's length
        compares = [c for c in calls if c.startswith("compare_digest")]
        assert compares == ["compare_digest(32, 32)"], calls
    assert API_KEY_HEADER in str(expected)


ROUTES = [
    ("GET", "/"), ("GET", "/healthz"), ("GET", "/openapi.json"), ("POST", "/jobs"),
    ("GET", "/jobs/{id}"), ("GET", "/jobs/{id}/counts.csv"), ("PUT", "/uploads/{id}"),
    ("POST", "/corpora"), ("GET", "/corpora/{id}"), ("GET", "/corpora/{id}/counts.csv"),
]  # fmt: skip


def test_cors_is_off_by_default(api: ApiStack) -> None:
    job = create(api)
    origin = {"Origin": "https://evil.example"}
    for method, route in ROUTES:
        path = route.format(id=job["job_id"])
        preflight = api.client.request(
            "OPTIONS",
            path,
            headers={
                **origin,
                "Access-Control-Request-Method": method,
                "Access-Control-Request-Headers": "authorization, x-api-key",
            },
        )
        actual = api.client.request(method, path, headers={**origin, **auth(job)})
        for response in (preflight, actual):
            allowed = [h for h in response.headers if h.lower().startswith("access-control-")]
            assert allowed == [], (method, path, response.headers)
        # A preflight is not answered as if the route allowed it.
        assert preflight.status_code == 405, (path, preflight.status_code)


# -- no stack trace, however malformed the request --------------------------------------

#: What would betray the code: a traceback, a source file, where the code lives.
LEAKS = ["Traceback", 'File "', ".py", str(ROOT), "site-packages", "wordfreq_service"]
SEGMENTS = st.sampled_from(
    [
        "jobs", "uploads", "corpora", "counts.csv", "healthz", "..", ".", "%2e%2e", "%00",
        "%ff", "%", "%zz", "\u00e9", "\U0001f600", "a" * 300, "0" * 32, "{id}", "",
    ]
) | st.text(alphabet=st.characters(codec="utf-8"), max_size=10)  # fmt: skip
HEADER_NAMES = [
    "Authorization", API_KEY_HEADER, "Content-Type", "x-amz-meta-top", "Accept", "Origin",
    "Range", "Expect",
]  # fmt: skip
HEADER_VALUES = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=40)


@st.composite
def malformed(draw: st.DrawFn, job_id: str) -> list[dict[str, Any]]:
    """Requests to every route with one hostile ID, query, headers and body, and one to
    any path with any method."""

    def encoded(segment: str) -> str:
        # As a client must send it; a bare % stays (an invalid escape).
        return quote(segment.replace("{id}", job_id), safe="%")

    hostile = encoded(draw(SEGMENTS))
    anywhere = "/" + "/".join(map(encoded, draw(st.lists(SEGMENTS, min_size=1, max_size=4))))
    query = draw(
        st.sampled_from(["", "?wait=", "?wait=nan", "?wait=1e999", "?wait=-1", "?expires=x"])
        | st.text(max_size=12).map(lambda q: "?" + quote(q, safe="=&%"))
    )
    headers: dict[str, bytes] = {}
    for name in draw(st.lists(st.sampled_from(HEADER_NAMES), unique=True, max_size=4)):
        headers[name] = draw(HEADER_VALUES).encode("latin-1")  # as HTTP carries them
    body = draw(
        st.none()
        | st.binary(max_size=64)
        | st.sampled_from([b"{", b'{"size": -1}', b'{"size": 1e999}', b"[]", b"null"])
        | st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=5),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
            max_leaves=6,
        ).map(lambda v: json.dumps(v).encode())
    )
    method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]))
    targets = [(m, route.format(id=hostile)) for m, route in ROUTES] + [(method, anywhere)]
    return [
        # Absolute: a relative URL may not start "//", which a server must still take.
        {"method": m, "url": BASE_URL + path + query, "headers": headers, "content": body}
        for m, path in targets
    ]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_answer_to_a_malformed_request_is_a_500_or_shows_code(
    api: ApiStack, data: st.DataObject
) -> None:
    job_id = api.extra.setdefault("job_id", create(api)["job_id"])
    keys: list[str] = api.extra.setdefault("keys", [])
    if not keys:  # once: every key the routes hand the object store
        store = api.backend.store
        for name in ("put", "get", "head", "delete"):
            method = getattr(store, name)
            setattr(store, name, _logging_keys(method, keys))
        keys.append(f"jobs/{job_id}")
    for sent in data.draw(malformed(job_id)):
        response = api.client.request(**sent)
        assert response.status_code < 500, (sent, response.status_code, response.text)
        shown = response.text + json.dumps(dict(response.headers))
        for leak in LEAKS:
            assert leak not in shown, (sent, leak, response.text)
        if response.status_code >= 400 and sent["method"] != "HEAD":
            assert response.headers["content-type"] == "application/json", sent
            error = response.json()
            assert list(error) == ["error"] and isinstance(error["error"], str), sent
    # Whatever the ID, the store was only ever asked for a job's upload or its counts.
    assert all(STORED_KEY.fullmatch(key) for key in keys), keys


STORED_KEY = re.compile(r"jobs/[0-9a-f]{32}|results/c?[0-9a-f]{32}\.csv\.gz")


def _logging_keys(method: Callable[..., Any], keys: list[str]) -> Callable[..., Any]:
    def logged(key: str, *args: Any, **kwargs: Any) -> Any:
        keys.append(key)
        return method(key, *args, **kwargs)

    return logged


# -- upload size --------------------------------------------------------------------------


class Counted:
    """``chunks`` chunks of ``size`` bytes, counting how many were taken."""

    def __init__(self, chunks: int, size: int = 1 << 16) -> None:
        self.chunks, self.size, self.taken = chunks, size, 0

    def __iter__(self) -> Iterator[bytes]:
        for _ in range(self.chunks):
            self.taken += 1
            yield b"x" * self.size


def test_an_upload_longer_than_its_job_is_read_no_further_than_its_size(api: ApiStack) -> None:
    # Given a job for 64 KiB, and a body claiming that length that goes on for 64 MiB
    body = Counted(1024)
    job = create(api, size=body.size)
    response = api.upload(job, body)  # type: ignore[arg-type]
    # Then it is refused having read about its size, and nothing is stored
    assert response.status_code == 400, response.text
    assert "longer than the job's size" in response.json()["error"]
    assert body.taken <= 3
    assert api.service.find(job["job_id"], job["token"]).state is JobState.WAITING_FOR_UPLOAD
