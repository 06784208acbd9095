"""The job API's corpus jobs (``/corpora``) on both backends, in-process over ASGI: the
members' counts merged once every member has ended, the result's exact shape, the CSV,
and every refusal. Members' results are written as a worker writes them
(``ApiStack.finish``)."""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import json
import threading
from collections import Counter as Tally
from collections.abc import Iterator
from pathlib import Path
from string import ascii_lowercase
from typing import Any

import pytest
from wordfreq_service.api.settings import API_KEY_HEADER, ApiSettings
from wordfreq_service.errors import NoSuchKey
from wordfreq_service.formats.corpus import MAX_CORPUS_BODY, MAX_CORPUS_JOBS, corpus_objects
from wordfreq_service.formats.jobs import INLINE_COUNTS_MAX_CSV_BYTES, counts_key, is_result_key
from wordfreq_service.formats.results import JobResult
from wordfreq_service.ports import JobState
from wordfreq_service.service.corpora import CorpusService

from tests.api_fixtures import BACKENDS, TEST_LIMIT, ApiStack, auth, open_api_stack
from tests.test_worker import drain_once

CORPUS_VIEW_KEYS = ["corpus_id", "state", "result"]
RESULT_KEYS = ["total", "unique", "words", "files"]
FILE_KEYS = ["job_id", "status", "status_message"]


@pytest.fixture(params=BACKENDS)
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ApiStack]:
    yield from open_api_stack(request, request.param, tmp_path)


def new_corpus(api: ApiStack, jobs: list[dict[str, Any]]) -> dict[str, Any]:
    body = {"jobs": [{"job_id": j["job_id"], "token": j["token"]} for j in jobs]}
    response = api.client.post("/corpora", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    assert sorted(created) == ["corpus_id", "token"]
    return created


def get_corpus(api: ApiStack, corpus: dict[str, Any], **params: Any) -> dict[str, Any]:
    response = api.client.get(
        f"/corpora/{corpus['corpus_id']}", params=params, headers=auth(corpus)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def csv_rows(text: str) -> list[tuple[str, int]]:
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["word", "count"]
    return [(w, int(c)) for w, c in rows[1:]]


COUNTS = [
    [("the", 5), ("whale", 3), ("ship", 1)],
    [("the", 2), ("sea", 2), ("whale", 1)],
    [("zebra", 7)],
]


def test_a_corpus_merges_its_members_counts_once_all_have_ended(api: ApiStack) -> None:
    jobs = [api.create(10, top=2) for _ in COUNTS]
    corpus = new_corpus(api, jobs)
    for job, counts in zip(jobs[:-1], COUNTS[:-1], strict=True):
        api.finish(job["job_id"], counts[:1], counts=counts)
    waiting = get_corpus(api, corpus)
    assert list(waiting) == CORPUS_VIEW_KEYS
    assert waiting == {"corpus_id": corpus["corpus_id"], "state": "running", "result": None}
    assert (
        api.client.get(
            f"/corpora/{corpus['corpus_id']}/counts.csv", headers=auth(corpus)
        ).status_code
        == 404
    )

    api.finish(jobs[-1]["job_id"], COUNTS[-1], counts=COUNTS[-1])
    done = get_corpus(api, corpus, wait=5)
    assert done["state"] == "done"
    result = done["result"]
    assert list(result) == RESULT_KEYS
    summed: Tally[str] = Tally()
    for counts in COUNTS:
        summed.update(dict(counts))
    assert result["total"] == sum(summed.values()) and result["unique"] == len(summed)
    assert result["words"] == [{"word": "the", "count": 7}, {"word": "zebra", "count": 7}]
    assert [list(f) for f in result["files"]] == [FILE_KEYS] * 3
    assert [f["job_id"] for f in result["files"]] == [j["job_id"] for j in jobs]
    assert {f["status"] for f in result["files"]} == {"success"}

    csv_response = api.client.get(
        f"/corpora/{corpus['corpus_id']}/counts.csv", headers=auth(corpus)
    )
    assert csv_response.status_code == 200
    assert csv_response.headers["content-type"].startswith("text/csv")
    ordered = sorted(summed.items(), key=lambda wc: (-wc[1], wc[0]))
    assert csv_rows(csv_response.text) == ordered
    # Read again: the stored result, the same.
    assert get_corpus(api, corpus) == done
    # Stored where the API's role may write (results/corpora/ only, never over a job's
    # counts), and under results/, where workers take no events.
    for key in corpus_objects(corpus["corpus_id"]):
        assert key.startswith("results/corpora/") and is_result_key(key)
        api.backend.store.head(key)


def test_a_failed_member_is_reported_and_the_rest_merged(api: ApiStack) -> None:
    good, bad, gone = api.create(10), api.create(10), api.create(10)
    corpus = new_corpus(api, [good, bad, gone])
    api.finish(good["job_id"], [("word", 4)])
    assert api.backend.jobs is not None
    failure = JobResult(f"jobs/{bad['job_id']}", bad["job_id"], "failure", "corrupt gzip stream")
    api.backend.jobs.advance(bad["job_id"], JobState.FAILED, result=failure.to_json())
    # A worker's message names the stored object, which the corpus's owner never saw.
    key = f"jobs/{gone['job_id']}"
    missing = JobResult(key, gone["job_id"], "failure", f"object not found: {key}")
    api.backend.jobs.advance(gone["job_id"], JobState.FAILED, result=missing.to_json())
    result = get_corpus(api, corpus, wait=5)["result"]
    assert result["total"] == 4 and result["words"] == [{"word": "word", "count": 4}]
    assert result["files"] == [
        {"job_id": good["job_id"], "status": "success", "status_message": "Success"},
        {"job_id": bad["job_id"], "status": "failure", "status_message": "corrupt gzip stream"},
        {
            "job_id": gone["job_id"],
            "status": "failure",
            "status_message": "object not found: the file",
        },
    ]


def test_a_member_whose_counts_cannot_be_read_is_a_failure_not_an_error(
    api: ApiStack,
) -> None:
    # Counts the merge refuses (malformed, or cut short) fail their member; the corpus
    # still ends, with the rest merged, instead of answering 500 to every reader.
    good, malformed, truncated = api.create(10), api.create(10), api.create(10)
    corpus = new_corpus(api, [good, malformed, truncated])
    for job in (good, malformed, truncated):
        api.finish(job["job_id"], [("word", 4)])
    packed = gzip.compress(b"word,count\nword\n")
    api.backend.store.put(counts_key(malformed["job_id"]), io.BytesIO(packed))
    api.backend.store.put(counts_key(truncated["job_id"]), io.BytesIO(packed[:-9]))
    done = get_corpus(api, corpus, wait=5)
    assert done["state"] == "done"
    result = done["result"]
    assert result["total"] == 4 and result["words"] == [{"word": "word", "count": 4}]
    assert [f["status"] for f in result["files"]] == ["success", "failure", "failure"]
    assert result["files"][1]["status_message"] == (
        "its counts could not be merged: malformed counts CSV at line 2: "
        "expected two fields (word,count)"
    )
    assert result["files"][2]["status_message"] == (
        "its counts could not be merged: the stored counts are truncated"
    )


def test_racing_readers_merge_to_one_result(api: ApiStack) -> None:
    jobs = [api.create(10) for _ in range(4)]
    corpus = new_corpus(api, jobs)
    for i, job in enumerate(jobs):
        api.finish(job["job_id"], [("w", i + 1), (f"only{i}", 1)])
    service = CorpusService(api.service)
    start = threading.Barrier(4)
    results: list[Any] = []

    def read() -> None:
        start.wait(timeout=10)
        results.append(service.status(corpus["corpus_id"], corpus["token"]).result)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 4 and all(r == results[0] for r in results)
    assert results[0]["total"] == 1 + 2 + 3 + 4 + 4
    assert get_corpus(api, corpus)["result"] == results[0]


def test_members_are_read_in_batches_not_one_by_one(
    api: ApiStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``POST /corpora`` reads its members with the store's batched read (one
    BatchGetItem per hundred on DynamoDB), not one GetItem each in turn."""
    jobs = [api.create(10) for _ in range(5)]
    store = api.service.jobs
    calls: list[str] = []
    get, get_jobs = store.get, store.get_jobs

    def one(*args: Any, **kwargs: Any) -> Any:
        calls.append("get")
        return get(*args, **kwargs)

    def batch(*args: Any, **kwargs: Any) -> Any:
        calls.append("get_jobs")
        return get_jobs(*args, **kwargs)

    monkeypatch.setattr(store, "get", one)
    monkeypatch.setattr(store, "get_jobs", batch)
    new_corpus(api, jobs)
    assert calls == ["get_jobs"]


def test_members_must_be_readable_by_their_tokens_and_alike(api: ApiStack) -> None:
    a, b = api.create(10, top=3), api.create(10, top=3)
    other = api.create(10, top=4)

    def post(jobs: list[dict[str, Any]]) -> Any:
        body = {"jobs": [{"job_id": j["job_id"], "token": j["token"]} for j in jobs]}
        return api.client.post("/corpora", json=body)

    wrong_token = post([a, {**b, "token": a["token"]}])
    assert wrong_token.status_code == 404 and b["job_id"] in wrong_token.json()["error"]
    unknown = post([a, {"job_id": "f" * 32, "token": "x"}])
    assert unknown.status_code == 404
    mixed = post([a, other])
    assert mixed.status_code == 422 and "options" in mixed.json()["error"]
    # Stop words are alike when they name the same lists, however spelled.
    for one, two in (("en", "English"), ("fr,de", "de, FR,fr")):
        new_corpus(api, [api.create(10, stopwords=one), api.create(10, stopwords=two)])
    unlike = post([api.create(10, stopwords="fr"), api.create(10, stopwords="fr,de")])
    assert unlike.status_code == 422 and "options" in unlike.json()["error"]
    twice = post([a, a])
    assert twice.status_code == 422 and "twice" in twice.json()["error"]
    assert api.client.post("/corpora", json={"jobs": []}).status_code == 422
    assert api.client.post("/corpora", json={"jobs": [{"job_id": a["job_id"]}]}).status_code == 422
    too_many = {"jobs": [{"job_id": "0" * 32, "token": "t"}] * (MAX_CORPUS_JOBS + 1)}
    assert api.client.post("/corpora", json=too_many).status_code == 422


def test_a_corpus_is_404_alike_for_unknown_ids_and_wrong_tokens(api: ApiStack) -> None:
    corpus = new_corpus(api, [api.create(10)])
    cid = corpus["corpus_id"]
    for path in (f"/corpora/{cid}", f"/corpora/{cid}/counts.csv"):
        assert api.client.get(path).status_code == 404
        assert api.client.get(path, headers={"Authorization": "Bearer nope"}).status_code == 404
    for other in ("c" + "0" * 32, "0" * 32, "c" + "0" * 31 + "G"):
        response = api.client.get(f"/corpora/{other}", headers=auth(corpus))
        assert response.status_code == 404
        assert response.json() == {"error": f"no such corpus: {other}"}
    assert (
        api.client.get(f"/corpora/{cid}", params={"wait": 21}, headers=auth(corpus)).status_code
        == 422
    )


@pytest.fixture
def keyed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ApiStack]:
    """The embedded API requiring an API key."""
    settings = ApiSettings(api_key="k3y", max_upload_bytes=TEST_LIMIT)
    yield from open_api_stack(request, "embedded", tmp_path, settings=settings)


def test_the_body_limit_and_the_api_key_guard_post_corpora(keyed: ApiStack) -> None:
    stack = keyed
    assert stack.client.post("/corpora", json={"jobs": []}).status_code == 401
    huge = b'{"jobs": [' + b" " * MAX_CORPUS_BODY + b"]}"
    refused = stack.client.post(
        "/corpora",
        content=huge,
        headers={API_KEY_HEADER: "k3y", "content-type": "application/json"},
    )
    assert refused.status_code == 413
    assert f"{MAX_CORPUS_JOBS} jobs" in refused.json()["error"]
    # A corpus at the cap fits the limit with room to spare.
    job = stack.client.post("/jobs", json={"size": 1}, headers={API_KEY_HEADER: "k3y"}).json()
    at_cap = {"jobs": [{"job_id": job["job_id"], "token": job["token"]}] * MAX_CORPUS_JOBS}
    assert len(json.dumps(at_cap)) < MAX_CORPUS_BODY
    accepted = stack.client.post(
        "/corpora", json={"jobs": at_cap["jobs"][:1]}, headers={API_KEY_HEADER: "k3y"}
    )
    assert accepted.status_code == 201, accepted.text


def test_openapi_documents_the_corpus_routes(api: ApiStack) -> None:
    schema = api.client.get("/openapi.json").json()
    paths = schema["paths"]
    assert set(paths["/corpora"]) == {"post"}
    assert (
        "get" in paths["/corpora/{corpus_id}"] and "get" in paths["/corpora/{corpus_id}/counts.csv"]
    )
    view = schema["components"]["schemas"]["CorpusView"]
    assert set(view["properties"]) == set(CORPUS_VIEW_KEYS)
    result = schema["components"]["schemas"]["CorpusResultView"]
    # "language" is there only with stopwords auto (tests/test_language_detection.py).
    assert [k for k in result["properties"] if k != "language"] == RESULT_KEYS
    assert "language" not in result["required"]


def test_an_expired_corpus_goes_with_its_merged_counts(api: ApiStack) -> None:
    if api.kind != "embedded":
        pytest.skip("on AWS, DynamoDB's TTL and the bucket's lifecycle rule expire corpora")
    job = api.create(10)
    corpus = new_corpus(api, [job])
    api.finish(job["job_id"], [("w", 1)])
    assert get_corpus(api, corpus)["state"] == "done"
    late = api.service.__class__(api.backend, api.service.settings, clock=lambda: 4e9)
    late.expire()
    assert (
        api.client.get(f"/corpora/{corpus['corpus_id']}", headers=auth(corpus)).status_code == 404
    )
    for key in corpus_objects(corpus["corpus_id"]):
        with pytest.raises(NoSuchKey):
            api.backend.store.head(key)


def test_members_counted_by_a_worker_merge_from_their_records_or_stored_counts(
    api: ApiStack,
) -> None:
    # Two members small enough for their counts to be held in their job records, one
    # whose counts are stored apart: the merge reads both kinds.
    many = [
        "".join(w)
        for w in itertools.islice(
            itertools.product(ascii_lowercase, repeat=4), INLINE_COUNTS_MAX_CSV_BYTES // 7 + 1
        )
    ]
    texts = ["the whale the sea", "the sea one ship", " ".join(many)]
    jobs = []
    for text in texts:
        job = api.create(len(text))
        assert api.upload(job, text.encode()).status_code == 200
        jobs.append(job)
    corpus = new_corpus(api, jobs)
    assert api.backend.jobs is not None
    for _ in range(20):
        records = [api.backend.jobs.get(job["job_id"]) for job in jobs]
        if all(r is not None and r.state.ended for r in records):
            break
        drain_once(api.backend)
    held = [r is not None and r.counts is not None for r in records]
    assert held == [True, True, False]
    result = get_corpus(api, corpus, wait=5)["result"]
    assert result is not None
    assert [f["status"] for f in result["files"]] == ["success"] * 3
    expected = Tally(word for text in texts for word in text.split())
    response = api.client.get(f"/corpora/{corpus['corpus_id']}/counts.csv", headers=auth(corpus))
    assert response.status_code == 200
    assert csv_rows(response.text) == sorted(expected.items(), key=lambda wc: (-wc[1], wc[0]))
