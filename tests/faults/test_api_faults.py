"""The job API under faults: the job store locked by another process (503 with
``Retry-After``, reads served meanwhile), an upload that never comes (the job expires
and says so when asked), and a duplicate ``PUT`` of an upload (refused, counted once)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from anyio.from_thread import start_blocking_portal
from wordfreq_service.adapters.embedded import open_embedded
from wordfreq_service.adapters.embedded.backend import DATABASE_NAME
from wordfreq_service.api.app import RETRY_AFTER_S, create_app
from wordfreq_service.api.settings import ApiSettings
from wordfreq_service.api.uploads import UploadSigner
from wordfreq_service.ports import Backend, JobState
from wordfreq_service.service.jobs import JobService, JobSettings

from tests.api_fixtures import AsgiClient, auth
from tests.faults.outage_helpers import database_locked, queued_uploads

TEXT = b"the cat and the hat\n"
#: The API's wait for a locked database here: a 503 comes this fast.
LOCK_WAIT_S = 0.2


@dataclass
class Api:
    client: AsgiClient
    backend: Backend
    data_dir: Path
    #: The service's clock (seconds since the epoch), moved by the test.
    now: list[float]
    settings: JobSettings

    def create(self) -> dict[str, Any]:
        response = self.client.post("/jobs", json={"size": len(TEXT)})
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def upload(self, job: dict[str, Any]) -> Any:
        return self.client.request(
            job["upload_method"], job["upload_url"], headers=job["upload_headers"], content=TEXT
        )


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    """The job API in-process over a fresh embedded stack, with a clock of its own."""
    import time

    data_dir = tmp_path / "data"
    backend = open_embedded(data_dir, lock_wait_s=LOCK_WAIT_S)
    now = [time.time()]
    settings = JobSettings()
    service = JobService(backend, settings, clock=lambda: now[0])
    app = create_app(service, ApiSettings(), uploads=UploadSigner.in_data_dir(data_dir))
    with ExitStack() as stack:
        client = AsgiClient(app, stack.enter_context(start_blocking_portal()))
        stack.callback(client.close)
        yield Api(client, backend, data_dir, now, settings)


def test_a_locked_job_store_is_503_with_retry_after_and_reads_go_on(api: Api) -> None:
    job = api.create()
    with database_locked(api.data_dir / DATABASE_NAME):
        created = api.client.post("/jobs", json={"size": 1})
        uploaded = api.upload(job)
        read = api.client.get(f"/jobs/{job['job_id']}", headers=auth(job))
    for refused in (created, uploaded):
        assert refused.status_code == 503, refused.text
        assert refused.headers["Retry-After"] == str(RETRY_AFTER_S)
        assert set(refused.json()) == {"error"}
        assert DATABASE_NAME not in refused.text and "Traceback" not in refused.text
    # A writer's lock leaves readers alone (WAL): the job is still there to ask about.
    assert read.status_code == 200
    assert read.json()["state"] == JobState.WAITING_FOR_UPLOAD
    # Nothing half-stored: the upload goes through once the lock is gone.
    assert queued_uploads(api.data_dir) == 0
    assert api.upload(job).status_code == 200
    assert queued_uploads(api.data_dir) == 1


def test_a_job_whose_upload_never_comes_expires_and_says_so(api: Api) -> None:
    job = api.create()
    api.now[0] += api.settings.upload_expiry_s - 1
    assert api.client.get(f"/jobs/{job['job_id']}", headers=auth(job)).json()["state"] == (
        JobState.WAITING_FOR_UPLOAD
    )
    api.now[0] += 2  # the upload period is over
    asked = api.client.get(f"/jobs/{job['job_id']}", headers=auth(job))
    assert asked.status_code == 200
    view = asked.json()
    assert view["state"] == JobState.FAILED
    assert "expired: no upload arrived" in view["result"]["status_message"]
    # An upload that comes after all is refused, and nothing is stored or counted.
    late = api.upload(job)
    assert late.status_code == 409, late.text
    assert late.json() == {"error": "this job has ended (failed); create a new job"}
    assert queued_uploads(api.data_dir) == 0
    again = api.client.get(f"/jobs/{job['job_id']}", headers=auth(job)).json()
    assert again["state"] == JobState.FAILED


def test_an_expired_job_reads_failed_while_the_job_store_is_locked(api: Api) -> None:
    """Failing the job is a write: under another process's lock the read still answers,
    with the failed view, and the next read after the lock stores it."""
    job = api.create()
    api.now[0] += api.settings.upload_expiry_s + 1
    with database_locked(api.data_dir / DATABASE_NAME):
        asked = api.client.get(f"/jobs/{job['job_id']}", headers=auth(job))
    assert asked.status_code == 200, asked.text
    view = asked.json()
    assert view["state"] == JobState.FAILED
    assert "expired: no upload arrived" in view["result"]["status_message"]
    assert _stored_state(api, job) is JobState.WAITING_FOR_UPLOAD
    again = api.client.get(f"/jobs/{job['job_id']}", headers=auth(job)).json()
    assert again["state"] == JobState.FAILED
    assert _stored_state(api, job) is JobState.FAILED


def _stored_state(api: Api, job: dict[str, Any]) -> JobState:
    assert api.backend.jobs is not None
    record = api.backend.jobs.get(job["job_id"])
    assert record is not None
    return record.state


def test_a_duplicate_put_is_refused_and_the_job_counted_once(api: Api) -> None:
    job = api.create()
    first = api.upload(job)
    assert first.status_code == 200, first.text
    assert first.json()["state"] == JobState.QUEUED
    second = api.upload(job)
    assert second.status_code == 409
    assert second.json() == {"error": "this job has its upload already"}
    assert queued_uploads(api.data_dir) == 1
    assert api.client.get(f"/jobs/{job['job_id']}", headers=auth(job)).json()["state"] == (
        JobState.QUEUED
    )
