"""A client of the job API over HTTP (``wordfreq submit --api URL``), and the job
transport over it (:class:`HttpJobs`, beside ``job_client.InProcessJobs``).

Three calls per file, as the README's ``curl`` commands: ``POST /jobs`` with the size and
options, the upload as the answer says (a pre-signed S3 PUT on AWS, the service's own
PUT on the embedded stack), then ``GET /jobs/{id}?wait=20`` until the job has ended.
The API's one-line ``{"error": ...}`` bodies become the errors raised here, so the
command line shows what the service said.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Final

import httpx

from wordfreq_service.api.settings import API_KEY_HEADER
from wordfreq_service.errors import BackendError, ConfigError, TransientError
from wordfreq_service.formats.job_request import JobRequest, RequestError
from wordfreq_service.formats.results import JobResult
from wordfreq_service.ports import JobState
from wordfreq_service.service.job_client import JobTicket, ended_without_result
from wordfreq_service.service.jobs import MAX_WAIT_S, UploadRefused

#: Upload chunk size; also how often the progress callback hears.
CHUNK_BYTES: Final = 1 << 20
#: Connect and per-read timeouts. A held ``?wait=`` answers within MAX_WAIT_S.
_TIMEOUT: Final = httpx.Timeout(30.0, read=MAX_WAIT_S + 30.0)


@dataclass(frozen=True)
class CreatedJob(JobTicket):
    """``POST /jobs``'s answer: the ticket, and where and how the bytes go."""

    upload_url: str
    upload_method: str
    upload_headers: Mapping[str, str]


@dataclass(frozen=True)
class CorpusTicket:
    """``POST /corpora``'s answer."""

    corpus_id: str
    token: str = field(repr=False)


@dataclass(frozen=True)
class JobStatus:
    state: str
    #: Once the job has ended.
    result: JobResult | None


class ApiClient:
    def __init__(
        self, base_url: str, *, api_key: str | None = None, client: httpx.Client | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {API_KEY_HEADER: api_key} if api_key else {}
        self._http = client or httpx.Client(timeout=_TIMEOUT, headers=headers)
        if client is not None and api_key:
            self._http.headers[API_KEY_HEADER] = api_key

    def close(self) -> None:
        self._http.close()

    def create_job(self, request: JobRequest, size: int) -> CreatedJob:
        body = {"size": size, **request.to_json()}
        answer = self._call("POST", f"{self.base_url}/jobs", json=body)
        try:
            return CreatedJob(
                job_id=str(answer["job_id"]),
                key=str(answer["key"]),
                token=str(answer["token"]),
                upload_url=str(answer["upload_url"]),
                upload_method=str(answer["upload_method"]),
                upload_headers={str(k): str(v) for k, v in answer["upload_headers"].items()},
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise BackendError(f"{self.base_url}: unexpected answer to POST /jobs") from exc

    def upload(
        self,
        job: CreatedJob,
        body: BinaryIO,
        *,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        """Send the file's bytes as the job's answer said: its method, URL and headers
        (which include the exact Content-Length, so nothing is sent chunked)."""

        def chunks() -> Iterator[bytes]:
            while chunk := body.read(CHUNK_BYTES):
                yield chunk
                if progress is not None:
                    progress(len(chunk))

        # The upload URL may be another origin (S3): it gets no API key.
        try:
            response = httpx.request(
                job.upload_method,
                job.upload_url,
                headers=dict(job.upload_headers),
                content=chunks(),
                timeout=_TIMEOUT,
            )
        except httpx.TransportError as exc:
            raise TransientError(f"uploading to {_origin(job.upload_url)}: {exc}") from exc
        if response.status_code >= 300:
            raise BackendError(
                f"the upload was refused ({response.status_code}): {_reason(response)}"
            )

    def status(self, job: JobTicket, wait: float = MAX_WAIT_S) -> JobStatus:
        answer = self._call(
            "GET",
            f"{self.base_url}/jobs/{job.job_id}",
            params={"wait": f"{min(max(wait, 0), MAX_WAIT_S):g}"},
            headers={"Authorization": f"Bearer {job.token}"},
        )
        state = str(answer.get("state", ""))
        view = answer.get("result")
        return JobStatus(state, _result(job, view) if isinstance(view, dict) else None)

    # -- corpus jobs ------------------------------------------------------------------

    def create_corpus(self, jobs: Sequence[JobTicket]) -> CorpusTicket:
        body = {"jobs": [{"job_id": j.job_id, "token": j.token} for j in jobs]}
        answer = self._call("POST", f"{self.base_url}/corpora", json=body)
        try:
            return CorpusTicket(str(answer["corpus_id"]), str(answer["token"]))
        except (KeyError, TypeError) as exc:
            raise BackendError(f"{self.base_url}: unexpected answer to POST /corpora") from exc

    def corpus_result(
        self, corpus: CorpusTicket, wait: float = MAX_WAIT_S
    ) -> dict[str, Any] | None:
        """The corpus's merged result once every member has ended, else None."""
        answer = self._call(
            "GET",
            f"{self.base_url}/corpora/{corpus.corpus_id}",
            params={"wait": f"{min(max(wait, 0), MAX_WAIT_S):g}"},
            headers={"Authorization": f"Bearer {corpus.token}"},
        )
        result = answer.get("result")
        return result if isinstance(result, dict) else None

    def corpus_counts(self, corpus: CorpusTicket) -> Iterator[bytes]:
        """The corpus's merged counts as CSV chunks (following a redirect to the store,
        whose gzip encoding httpx undoes)."""
        # Every word, the detected language's stop words too: the sum detects anew.
        url = f"{self.base_url}/corpora/{corpus.corpus_id}/counts.csv?keep_stop_words=true"
        headers = {"Authorization": f"Bearer {corpus.token}"}
        try:
            with self._http.stream("GET", url, headers=headers, follow_redirects=False) as first:
                if first.status_code == 307:
                    target = first.headers["location"]
                else:
                    target = None
                    if first.status_code >= 300:
                        first.read()
                        raise BackendError(
                            f"the job API answered {first.status_code}: {_reason(first)}"
                        )
                    yield from first.iter_bytes()
            if target is not None:
                # Another origin (S3): no API key, no token.
                with httpx.stream("GET", target, timeout=_TIMEOUT) as response:
                    if response.status_code >= 300:
                        response.read()
                        raise BackendError(
                            f"the counts download answered {response.status_code}: "
                            f"{_reason(response)}"
                        )
                    yield from response.iter_bytes()
        except httpx.TransportError as exc:
            raise TransientError(f"reading corpus {corpus.corpus_id}'s counts: {exc}") from exc

    def _call(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._http.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            raise TransientError(f"cannot reach the job API at {self.base_url}: {exc}") from exc
        if response.status_code in (401, 403):
            raise ConfigError(
                f"the job API refused the request ({response.status_code}): {_reason(response)}"
                " (give the key with --api-key or WORDFREQ_API_KEY)"
            )
        if response.status_code == 413:
            raise UploadRefused(f"the job API refused the job: {_reason(response)}")
        if response.status_code in (400, 422):
            raise RequestError(f"the job API refused the job: {_reason(response)}")
        answered = f"the job API answered {response.status_code}: {_reason(response)}"
        if response.status_code >= 500 or response.status_code == 429:
            raise TransientError(answered)
        if response.status_code >= 300:
            raise BackendError(answered)
        try:
            answer = response.json()
        except ValueError as exc:
            raise BackendError(f"{url}: the answer is not JSON") from exc
        if not isinstance(answer, dict):
            raise BackendError(f"{url}: the answer is not a JSON object")
        return answer


class HttpJobs:
    """The job transport over the HTTP API: ``job_client.JobTransport``."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api

    def create(self, request: JobRequest, size: int) -> JobTicket:
        return self.api.create_job(request, size)

    def upload(
        self, ticket: JobTicket, body: BinaryIO, progress: Callable[[int], None] | None
    ) -> None:
        assert isinstance(ticket, CreatedJob), "a ticket from HttpJobs.create"
        self.api.upload(ticket, body, progress=progress)

    def wait(self, ticket: JobTicket, seconds: float) -> JobResult | None:
        status = self.api.status(ticket, wait=seconds)
        if status.state not in _ENDED:
            return None
        # Ended without a result (not written by a worker of ours): say so rather than
        # ask again and again until the timeout.
        return status.result or ended_without_result(ticket)


_ENDED: Final = frozenset(s.value for s in JobState if s.ended)


def _result(job: JobTicket, view: Mapping[str, Any]) -> JobResult:
    """The API's result as the command line's printers know it: a result message."""
    try:
        return JobResult(
            file_key=job.key,
            job_id=job.job_id,
            status=str(view["status"]),
            status_message=str(view.get("status_message") or ""),
            words=[(str(w["word"]), int(w["count"])) for w in view.get("words") or []],
            duration_ns=int(float(view.get("duration_ms") or 0) * 1e6),
            total=_opt_int(view.get("total")),
            unique=_opt_int(view.get("unique")),
            mode=_opt_str(view.get("mode")),
            skipped=_opt_int(view.get("skipped")),
            language=_opt_str(view.get("language")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BackendError(f"job {job.job_id}: the job API's result is malformed") from exc


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _reason(response: httpx.Response) -> str:
    """The API's ``error`` line, or S3's XML ``Message``, or the status phrase."""
    try:
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            return str(body["error"])
    except ValueError:
        pass
    text = response.text
    start, end = text.find("<Message>"), text.find("</Message>")
    if 0 <= start < end:
        return text[start + len("<Message>") : end]
    return response.reason_phrase or "no reason given"


def _origin(url: str) -> str:
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.host}"
