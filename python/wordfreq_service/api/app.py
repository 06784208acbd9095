"""The job API: FastAPI over ``JobService``, the same app on ``wordfreq up``/``wordfreq
api`` (uvicorn) and on AWS Lambda (Mangum).

Every error is JSON, ``{"error": "..."}`` (``formats.jobs.error_view``), FastAPI's own
too; a bad request is a 4xx, never a 500. Status codes:

* ``POST /jobs``: 401 without the API key (when one is configured), checked before the
  body is read; 413 for a body over ``MAX_REQUEST_BODY`` (read no further) or a size
  over the upload limit; 422 for a body that is not what the schema describes or
  options the job request refuses (one status for both: the client must change the
  body either way); 400 for a body that is not UTF-8 or JSON Python cannot read (a
  number of thousands of digits, nesting thousands deep), saying which.
* ``POST /corpora``: as ``POST /jobs`` (its body limit is ``MAX_CORPUS_BODY``), and 404
  for a member job that is unknown, expired or not its token.
* ``GET /jobs/{id}``, ``GET /jobs/{id}/counts.csv``, and the same under ``/corpora``
  (``counts.csv`` 404 until the corpus is done): 404 alike for an unknown or expired
  job, a malformed ID, and a missing or wrong token; 422 for a bad ``wait``. Counts too
  large to pass through (on Lambda) are a 307 to the object store.
* ``PUT /uploads/{id}`` (only where the store has no upload URLs of its own, the embedded
  stack): as S3 answers a pre-signed PUT, 403 for a bad or expired signature or
  ``x-amz-meta-*`` headers other than those signed, 411 without ``Content-Length``, 413
  or 400 for a length above or below the job's size, 409 when the job has its upload
  already or one is in progress, 408 when the body stops arriving for
  ``UPLOAD_READ_TIMEOUT_S``; nothing is stored unless every check passes and the body is
  exactly the size.
* Any endpoint: 503 with ``Retry-After`` when the job store or object store does not
  answer (``TransientError``); 500 only for a bug, its traceback logged without locals.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from functools import partial
from importlib import resources
from typing import Annotated, Any, BinaryIO, Final, TypeVar, cast

import anyio
import structlog
from fastapi import FastAPI, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from wordfreq_service.api.bodies import (
    CorpusView,
    ErrorBody,
    Health,
    JobView,
    NewCorpus,
    NewCorpusRequest,
    NewJob,
    NewJobRequest,
    Unhealthy,
)
from wordfreq_service.api.settings import API_KEY_HEADER, ApiSettings
from wordfreq_service.api.uploads import META_PREFIX, UploadSigner, metadata_headers
from wordfreq_service.errors import ConfigError, TransientError
from wordfreq_service.formats.corpus import MAX_CORPUS_BODY, MAX_CORPUS_JOBS
from wordfreq_service.formats.job_request import JobRequest, RequestError
from wordfreq_service.formats.jobs import (
    COUNTS_MEDIA_TYPE,
    detected_stop_words,
    error_view,
    is_job_id,
    job_view,
    new_job_view,
    without_stop_words,
)
from wordfreq_service.formats.results import JobResult
from wordfreq_service.ports import CorpusState, JobState, UploadTarget
from wordfreq_service.service.corpora import CorpusService
from wordfreq_service.service.jobs import (
    MAX_WAIT_S,
    JobNotFound,
    JobService,
    TooLarge,
    UploadRefused,
    upload_metadata,
    wait_pauses,
)

log = structlog.get_logger("wordfreq.api")

PAGE: Final = ("page", "index.html")
UPLOAD_ROUTE: Final = "upload"
#: Uploads stored at once by one process; more wait for a turn.
UPLOAD_THREADS: Final = 32
#: How long an upload may go without a byte arriving before it is abandoned (and the job
#: can take another): a client gone silent must not hold its job and a thread forever.
UPLOAD_READ_TIMEOUT_S: Final = 30.0
#: However its bytes trickle in, an upload must average this rate, or finish within
#: UPLOAD_MIN_SECONDS if that is longer: a byte every 29 s would otherwise hold the job
#: and one of the UPLOAD_THREADS for ever.
UPLOAD_MIN_BYTES_PER_S: Final = 64 << 10
UPLOAD_MIN_SECONDS: Final = 60.0
#: The largest ``POST /jobs`` body read: its options fit in a few KiB (a stop-word list
#: is capped far below this); more is refused unread rather than parsed.
MAX_REQUEST_BODY: Final = 64 << 10
NEEDS_KEY: Final = f"this service needs its API key in the {API_KEY_HEADER} header"
#: What a 503 asks a client to wait before trying again, in seconds.
RETRY_AFTER_S: Final = 5
#: What /healthz tells anyone when something does not answer (the details go to the log).
UNHEALTHY: Final = "the job store or a queue does not answer"
#: Module-level: FastAPI reads them from the endpoints' annotations.
bearer = HTTPBearer(auto_error=False, description="The job's token, from POST /jobs.")
api_key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)
_Scope = MutableMapping[str, Any]
_Message = MutableMapping[str, Any]


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorBody} for status in statuses}


def counts_disposition(job_id: str) -> str:
    """The counts download's Content-Disposition: a browser saves it as a file."""
    return f'attachment; filename="wordfreq-{job_id}.csv"'


def read_page() -> str:
    return resources.files("wordfreq_service.api").joinpath(*PAGE).read_text(encoding="utf-8")


def _wait_query(until: str) -> Any:
    """``?wait=``: seconds (0 to MAX_WAIT_S) to hold a read until ``until``."""
    return Query(
        ge=0,
        le=MAX_WAIT_S,
        allow_inf_nan=False,
        description=f"Seconds to hold the request until {until}.",
    )


#: ``?keep_stop_words=true``: a counts download with ``--stopwords auto`` keeps the
#: detected language's stop words (what an aggregate of several corpora sums and detects
#: on); by default they are dropped, as from the result's words and ``count --csv``.
_KEEP_STOP_WORDS: Final = Query(
    description="With stopwords auto: keep the detected language's stop words (the full "
    "counts, as merges need them); by default they are left out, as from the result."
)


#: What a counts download answers (a job's or a corpus's), for the OpenAPI document.
_COUNTS_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    200: {"content": {COUNTS_MEDIA_TYPE.split(";")[0]: {}}},
    307: {"description": "Large counts: the same CSV from the object store."},
    **_errors(404),
}

T = TypeVar("T")


async def _polled(fetch: Callable[[], T], ended: Callable[[T], bool], wait: float) -> T:
    """``fetch()`` (a store read, on a worker thread) until ``ended`` says so or ``wait``
    seconds pass, pausing as ``wait_pauses`` says between reads: a waiting request holds
    no thread."""
    pauses = wait_pauses(wait)
    value = await anyio.to_thread.run_sync(fetch)
    while not ended(value):
        pause = next(pauses, None)
        if pause is None:
            break
        await anyio.sleep(pause)
        value = await anyio.to_thread.run_sync(fetch)
    return value


def create_app(
    service: JobService,
    settings: ApiSettings,
    *,
    uploads: UploadSigner | None = None,
    counts_link: Callable[[str], str | None] | None = None,
    upload_read_timeout_s: float = UPLOAD_READ_TIMEOUT_S,
    upload_min_seconds: float = UPLOAD_MIN_SECONDS,
) -> FastAPI:
    """The API over ``service``. ``uploads`` signs the service's own upload URLs, for a
    store without URLs of its own (the embedded stack); without it such a store cannot
    take job-path uploads. ``counts_link`` gives a done job's stored counts a URL of
    their own when they are too large to pass through this service (on Lambda, whose
    responses hold 6 MB), or None to stream them as always."""
    if settings.max_upload_bytes != service.settings.max_upload_bytes:
        # The service refuses what is over its limit: two limits would be one too many.
        raise ConfigError(
            f"the API's upload limit ({settings.max_upload_bytes} bytes) differs from its "
            f"job service's ({service.settings.max_upload_bytes} bytes)"
        )
    app = FastAPI(
        title="wordfreq job API",
        version="1",
        description="Create a counting job, upload its file, read its result.",
    )
    _install_error_handlers(app)
    # Added first, so inside the guard: its refusals are logged as requests too.
    app.add_middleware(_JobsGate, api_key=settings.api_key)
    app.add_middleware(_Guard)
    page = read_page()
    uploading: set[str] = set()
    # Uploads hold a thread each while their bytes arrive, as slowly as the client
    # sends them: they get threads of their own, so they cannot starve the other
    # endpoints of the shared pool. Made on first use, inside the event loop.
    upload_threads: list[anyio.CapacityLimiter] = []

    def token_of(credentials: HTTPAuthorizationCredentials | None) -> str:
        return credentials.credentials if credentials is not None else ""

    @app.get("/", response_class=HTMLResponse, summary="The upload page")
    def index() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get("/healthz", response_model=Health, responses={503: {"model": Unhealthy}})
    def healthz() -> Any:
        """200 once the job store and the queues (where the backend has them) answer."""
        try:
            service.jobs.ping()
            for queue in (service.backend.work_queue, service.backend.result_queue):
                try:
                    queue.approximate_count()
                except ConfigError:
                    continue  # a backend opened without this queue (the API on AWS)
        except Exception as exc:
            # The reason names paths and tables: for the log, not for anyone who asks.
            log.warning("health check failed", error=f"{type(exc).__name__}: {exc}")
            return JSONResponse({"status": "unavailable", "error": UNHEALTHY}, status_code=503)
        return {"status": "ok"}

    @app.post(
        "/jobs",
        status_code=201,
        response_model=NewJob,
        responses=_errors(400, 401, 413, 422, 503),
        summary="Create a job; upload its file to the answer's upload_url",
    )
    def create_job(
        body: NewJobRequest,
        request: Request,
        # Checked by _JobsGate before the body is read; named here for the schema.
        _api_key: Annotated[str | None, Security(api_key_header)],
    ) -> Any:
        fields = body.model_dump(exclude_unset=True)
        size = fields.pop("size")
        job = service.create(JobRequest.from_json(fields), size)
        target = service.upload_target(job)
        if target is None:
            if uploads is None:
                raise ConfigError("this service has no way to take uploads for its store")
            expires = int(job.upload_expires_at)
            signature = uploads.sign(job.record.job_id, size, expires, job.metadata)
            url = request.url_for(UPLOAD_ROUTE, job_id=job.record.job_id)
            target = UploadTarget(
                url=str(url.include_query_params(expires=expires, signature=signature)),
                method="PUT",
                headers={"Content-Length": str(size), **metadata_headers(job.metadata)},
            )
        log.info("job created", job_id=job.record.job_id, size=size)
        return new_job_view(job.record, job.token, target, job.upload_expires_at)

    @app.get("/jobs/{job_id}", response_model=JobView, responses=_errors(404, 422))
    async def get_job(
        job_id: str,
        wait: Annotated[float, _wait_query("the job ends")] = 0,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None,
    ) -> Any:
        """The job's state, and its result once ended. Polls asynchronously, so a
        waiting request holds no thread."""
        token = token_of(credentials)
        record = await _polled(lambda: service.find(job_id, token), lambda r: r.state.ended, wait)
        return job_view(record)

    def counts_response(
        name: str,
        done: Callable[[], bool],
        counts: Callable[[], Iterator[bytes]],
        dropped: Callable[[], frozenset[str]] = frozenset,
    ) -> Response:
        """The counts of job or corpus ``name``: a redirect to their link where the
        service hands them out so and they are ``done``, else streamed as CSV; without
        the stop words ``dropped()`` names (the language ``auto`` detected), which the
        stored counts keep for merges, so streamed."""
        stop = dropped()
        if counts_link is not None and done():
            link = counts_link(name)
            # Counts too large for the API's own response (a Lambda's 6 MB) go out whole:
            # their result's `language` says which list to drop (README).
            if link is not None:
                return RedirectResponse(link, status_code=307)
        return StreamingResponse(
            without_stop_words(counts(), stop),
            media_type=COUNTS_MEDIA_TYPE,
            headers={"Content-Disposition": counts_disposition(name)},
        )

    @app.get(
        "/jobs/{job_id}/counts.csv",
        response_class=StreamingResponse,
        responses=_COUNTS_RESPONSES,
    )
    def get_counts(
        job_id: str,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
        keep_stop_words: Annotated[bool, _KEEP_STOP_WORDS] = False,
    ) -> Response:
        """Every word and its count, most frequent first, as CSV (or, where the
        service hands large ones out by link, a redirect to them)."""
        token = token_of(credentials)

        def dropped() -> frozenset[str]:
            record = service.find(job_id, token)
            if keep_stop_words or record.result is None:
                return frozenset()
            return detected_stop_words(JobResult.from_json(record.result).language)

        return counts_response(
            job_id,
            lambda: service.find(job_id, token).state is JobState.DONE,
            lambda: service.counts(job_id, token),
            dropped,
        )

    corpora = CorpusService(service)

    @app.post(
        "/corpora",
        status_code=201,
        response_model=NewCorpus,
        responses=_errors(400, 401, 404, 413, 422, 503),
        summary="Group jobs into a corpus job: one merged result and one CSV",
    )
    def create_corpus(
        body: NewCorpusRequest,
        _api_key: Annotated[str | None, Security(api_key_header)],
    ) -> Any:
        """The jobs' tokens prove the right to read them; every job must have the same
        options (else 422). 404 when a job is unknown, expired or not its token."""
        record, token = corpora.create([(m.job_id, m.token) for m in body.jobs])
        log.info("corpus created", corpus_id=record.corpus_id, jobs=len(record.members))
        return {"corpus_id": record.corpus_id, "token": token}

    @app.get("/corpora/{corpus_id}", response_model=CorpusView, responses=_errors(404, 422))
    async def get_corpus(
        corpus_id: str,
        wait: Annotated[float, _wait_query("every member has ended")] = 0,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None,
    ) -> Any:
        """The corpus's state, and once every member has ended, the merged result (the
        first request to see them all ended merges their counts)."""
        token = token_of(credentials)
        status = await _polled(
            lambda: corpora.status(corpus_id, token), lambda s: s.result is not None, wait
        )
        return status.view()

    @app.get(
        "/corpora/{corpus_id}/counts.csv",
        response_class=StreamingResponse,
        responses=_COUNTS_RESPONSES,
    )
    def get_corpus_counts(
        corpus_id: str,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
        keep_stop_words: Annotated[bool, _KEEP_STOP_WORDS] = False,
    ) -> Response:
        """The merged counts of every member, as a job's counts: 404 until the corpus
        is done."""
        token = token_of(credentials)

        def dropped() -> frozenset[str]:
            result = corpora.status(corpus_id, token).result
            if keep_stop_words or result is None:
                return frozenset()
            return detected_stop_words(result.get("language"))

        return counts_response(
            corpus_id,
            lambda: corpora.find(corpus_id, token).state is CorpusState.DONE,
            lambda: corpora.counts(corpus_id, token),
            dropped,
        )

    if uploads is None:
        return app

    @app.put(
        "/uploads/{job_id}",
        name=UPLOAD_ROUTE,
        response_model=JobView,
        responses=_errors(400, 403, 408, 409, 411, 413, 422, 503),
        summary="Upload a job's file (only where the store has no upload URLs)",
    )
    async def upload(
        job_id: str,
        request: Request,
        expires: Annotated[int, Query(description="From the signed URL.")],
        signature: Annotated[str, Query(description="From the signed URL.")],
    ) -> Any:
        if expires < time.time():
            return _error(403, "this upload URL has expired")
        record = (
            await anyio.to_thread.run_sync(service.jobs.get, job_id) if is_job_id(job_id) else None
        )
        metadata = upload_metadata(JobRequest.from_json(record.options), job_id) if record else {}
        if record is None or not uploads.verify(signature, job_id, record.size, expires, metadata):
            return _error(403, "the upload URL's signature does not match")
        if job_id in uploading:
            return _error(409, "an upload to this job is in progress")
        if record.state.ended:
            # Expired waiting for its upload, too: a late one would never be counted.
            return _error(409, f"this job has ended ({record.state.value}); create a new job")
        if record.state is not JobState.WAITING_FOR_UPLOAD:
            return _error(409, "this job has its upload already")
        refused = _check_upload_headers(request, record.size, metadata_headers(metadata))
        if refused is not None:
            return refused
        if not upload_threads:
            upload_threads.append(anyio.CapacityLimiter(UPLOAD_THREADS))
        if len(uploading) >= UPLOAD_THREADS:
            # Waiting for a turn would hold the client with nothing read, with no bound.
            # Counted here, between awaits, so no two requests can take the last turn.
            return _error(
                503,
                f"{UPLOAD_THREADS} uploads are in progress; try again shortly",
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
        allowed_s = max(upload_min_seconds, record.size / UPLOAD_MIN_BYTES_PER_S)
        uploading.add(job_id)
        try:
            body = cast(
                BinaryIO,
                _BlockingBody(
                    request.stream(), upload_read_timeout_s, time.monotonic() + allowed_s
                ),
            )
            stored = await anyio.to_thread.run_sync(
                partial(service.accept_upload, allowed_s=allowed_s),
                job_id,
                body,
                limiter=upload_threads[0],
            )
        except ClientDisconnect:
            return _error(400, "the upload was cut short; nothing was stored")
        except _Stalled:
            log.warning("upload abandoned", job_id=job_id, idle_s=upload_read_timeout_s)
            return _error(
                408,
                f"no bytes arrived for {upload_read_timeout_s:g} s; nothing was stored, "
                "send the upload again",
                headers={"Connection": "close"},
            )
        except _TooSlow:
            log.warning("upload abandoned as too slow", job_id=job_id, allowed_s=allowed_s)
            return _error(
                408,
                f"the upload took longer than the {allowed_s:g} s it may take "
                f"({UPLOAD_MIN_BYTES_PER_S // 1024} KiB/s on average); nothing was stored, "
                "send the upload again",
                headers={"Connection": "close"},
            )
        finally:
            uploading.discard(job_id)
        log.info("upload stored", job_id=job_id, size=record.size)
        return job_view(stored)

    return app


def _check_upload_headers(
    request: Request, size: int, wanted: dict[str, str]
) -> JSONResponse | None:
    length = request.headers.get("content-length")
    if length is None:
        return _error(411, f"an upload needs a Content-Length header ({size})")
    if not length.isascii() or not length.isdigit():
        return _error(400, f"Content-Length: {length!r} is not a byte count")
    if int(length) > size:
        return _error(413, f"Content-Length {length} is over this job's size ({size} bytes)")
    if int(length) < size:
        return _error(400, f"Content-Length {length} is under this job's size ({size} bytes)")
    given = {k: v for k, v in request.headers.items() if k.startswith(META_PREFIX)}
    if given != wanted:
        differ = sorted(k for k in given.keys() | wanted.keys() if given.get(k) != wanted.get(k))
        return _error(403, f"these headers differ from the signed ones: {', '.join(differ)}")
    return None


class _Stalled(Exception):
    """The client sent nothing for the upload's read timeout."""


class _TooSlow(Exception):
    """The upload did not arrive whole by its deadline."""


class _BlockingBody:
    """The request body as a blocking file, for the thread that stores it: each read
    fetches the next chunk from the event loop, so at most one chunk is in memory
    whatever the upload's size. A chunk that does not come within ``timeout_s`` raises
    ``_Stalled``, and one that does not come by ``deadline`` (``time.monotonic``)
    ``_TooSlow``, in the storing thread, which abandons the upload (stores nothing)."""

    def __init__(self, chunks: AsyncIterator[bytes], timeout_s: float, deadline: float) -> None:
        self._chunks = chunks
        self._timeout_s = timeout_s
        self._deadline = deadline
        self._held = b""
        self._ended = False

    async def _next(self) -> bytes | None:
        left = self._deadline - time.monotonic()
        try:
            with anyio.fail_after(max(0.0, min(self._timeout_s, left))):
                return await self._chunks.__anext__()
        except StopAsyncIteration:
            return None
        except TimeoutError:
            raise (_TooSlow if left <= self._timeout_s else _Stalled) from None

    def read(self, size: int | None = -1) -> bytes:
        while not self._held and not self._ended:
            chunk = anyio.from_thread.run(self._next)
            if chunk is None:
                self._ended = True
            else:
                self._held = chunk
        if size is None or size < 0 or size >= len(self._held):
            data, self._held = self._held, b""
        else:
            data, self._held = self._held[:size], self._held[size:]
        return data


def _same(given: str, expected: str) -> bool:
    # Header values arrive decoded as Latin-1 (lossless), a key is any text sent as UTF-8.
    # Digests of one length are compared: compare_digest takes constant time only for
    # equal lengths, and returns at once on a length mismatch, telling the key's length.
    raw = given.encode("latin-1", "replace")
    return hmac.compare_digest(_digest(raw), _digest(expected.encode("utf-8")))


def _digest(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_view(message), status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        if error.get("type") == "json_invalid":
            reason = (error.get("ctx") or {}).get("error", "")
            parts.append(f"the body is not valid JSON{f' ({reason})' if reason else ''}")
            continue
        where = [str(p) for p in error.get("loc", ()) if p not in ("body",)]
        parts.append(f"{'.'.join(where) or 'body'}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def _install_error_handlers(app: FastAPI) -> None:
    async def http_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        return JSONResponse(error_view(str(exc.detail)), exc.status_code, headers=exc.headers)

    async def invalid(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return _error(422, _validation_message(exc))

    def status_for(status: int) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
        async def handle(_request: Request, exc: Exception) -> JSONResponse:
            return _error(status, str(exc))

        return handle

    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(JobNotFound, status_for(404))
    app.add_exception_handler(TooLarge, status_for(413))
    app.add_exception_handler(UploadRefused, status_for(400))
    app.add_exception_handler(RequestError, status_for(422))

    async def unavailable(_request: Request, exc: Exception) -> JSONResponse:
        # An outage, not a bug: no traceback, and the client is told to come back.
        log.warning("backend unavailable", error=f"{type(exc).__name__}: {exc}")
        return _error(
            503,
            "the service's storage is unavailable right now; try again shortly",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )

    app.add_exception_handler(TransientError, unavailable)


class _Guard:
    """Logs each request as one line, and turns an unexpected exception into a 500
    with a JSON body and no traceback (the traceback goes to the log)."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(
        self,
        scope: _Scope,
        receive: Callable[[], Awaitable[_Message]],
        send: Callable[[_Message], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        answered = False

        async def watch(message: _Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status, answered = message["status"], True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            log.exception("request failed", method=scope["method"], path=scope["path"])
            if answered:
                raise  # cut the response off rather than let it look complete
            body = json.dumps(error_view("internal error")).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
        finally:
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
            )


class _JobsGate:
    """``POST /jobs`` and ``POST /corpora`` before FastAPI reads their bodies: the API key
    first (401), then the body's size (413 over the route's limit, ``_BODY_LIMITS``, by
    ``Content-Length`` or by counting a
    chunked body's bytes, reading no further), then whether it is text and JSON Python
    can read (400, saying what is wrong, where FastAPI would say only that it could not
    parse it). The body read is handed on to the app unchanged."""

    def __init__(self, app: Callable[..., Awaitable[None]], api_key: str | None) -> None:
        self.app = app
        self.api_key = api_key

    async def __call__(
        self,
        scope: _Scope,
        receive: Callable[[], Awaitable[_Message]],
        send: Callable[[_Message], Awaitable[None]],
    ) -> None:
        limit = _BODY_LIMITS.get(scope["path"]) if scope["type"] == "http" else None
        if limit is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope["headers"]}
        refused = self._refusal(headers, limit)
        body = b""
        if refused is None:
            try:
                body, refused = await self._read(receive, limit)
            except ClientDisconnect:
                return  # nobody to answer
        if refused is not None:
            await refused(scope, receive, send)
            return
        replayed = False

        async def replay() -> _Message:
            nonlocal replayed
            if replayed:
                return await receive()  # a disconnect, when the app waits for one
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    def _refusal(self, headers: dict[bytes, bytes], limit: int) -> JSONResponse | None:
        if self.api_key is not None:
            given = headers.get(API_KEY_HEADER.lower().encode(), b"").decode("latin-1")
            if not _same(given, self.api_key):
                # Connection: close, so the server reads no more of the body either.
                return _error(401, NEEDS_KEY, headers={"Connection": "close"})
        length = headers.get(b"content-length", b"").decode("latin-1")
        if length.isascii() and length.isdigit() and int(length) > limit:
            return _too_long(limit)
        return None

    @staticmethod
    async def _read(
        receive: Callable[[], Awaitable[_Message]], limit: int
    ) -> tuple[bytes, JSONResponse | None]:
        parts: list[bytes] = []
        held = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                raise ClientDisconnect()
            chunk = message.get("body", b"")
            held += len(chunk)
            if held > limit:
                return b"", _too_long(limit)
            parts.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(parts)
        try:
            json.loads(body.decode("utf-8"))
        except UnicodeDecodeError as exc:
            return body, _error(400, f"the body is not UTF-8 text (byte {exc.start})")
        except RecursionError:
            return body, _error(400, "the body's JSON is nested too deeply")
        except json.JSONDecodeError:
            pass  # FastAPI's 422 says where
        except ValueError as exc:  # a number too long to convert
            reason = str(exc).split(";")[0]  # not the advice to change Python's limit
            return body, _error(400, f"the body's JSON cannot be read: {reason}")
        return body, None


def _too_long(limit: int) -> JSONResponse:
    what = _BODY_LIMIT_REASONS[limit]
    return _error(
        413, f"the request body is over {limit} bytes: {what}", headers={"Connection": "close"}
    )


#: The routes whose POST bodies the gate reads (after the API key), and their limits.
_BODY_LIMITS: Final = {"/jobs": MAX_REQUEST_BODY, "/corpora": MAX_CORPUS_BODY}
_BODY_LIMIT_REASONS: Final = {
    MAX_REQUEST_BODY: "a job's options fit in far less",
    MAX_CORPUS_BODY: f"a corpus of {MAX_CORPUS_JOBS} jobs fits in less",
}
