"""``wordfreq submit``: resolve the backend, bring workers if needed, print results."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

import click

from wordfreq_service.api.settings import API_KEY_ENV, API_KEY_SECRET_OUTPUT, API_URL_OUTPUT
from wordfreq_service.cli import output
from wordfreq_service.cli.aggregate import aggregate_options, refuse_without_aggregate
from wordfreq_service.cli.options import (
    WORKER_COUNT,
    Seconds,
    backend_options,
    cores,
    counting_options,
    split_threshold_option,
    threads_option,
    threads_per_worker,
)
from wordfreq_service.cli.unanswered import EXIT_FAILURE, GRACE_S, Unanswered, Watchdog
from wordfreq_service.config import BackendSpec, env_first, resolve_data_dir
from wordfreq_service.errors import ConfigError
from wordfreq_service.formats.job_request import JobRequest
from wordfreq_service.formats.results import JobResult
from wordfreq_service.ports import Backend
from wordfreq_service.service.client import (
    PROGRESS_MIN_BYTES,
    Client,
    ProgressFactory,
    Submission,
)

if TYPE_CHECKING:
    from wordfreq_service.counting.corpus import Corpus
    from wordfreq_service.service.corpus_client import Merger
    from wordfreq_service.service.job_client import JobTransport


@dataclass(frozen=True)
class SubmitRequest:
    files: list[str]
    request: JobRequest
    as_json: bool
    timeout: float
    workers: int
    backend: str
    data_dir: str | None
    region: str | None
    bucket: str | None
    queue_url: str | None
    submitter_role: str | None
    stack_name: str | None
    api_url: str | None = None
    api_key: str | None = field(default=None, repr=False)  # a secret: out of logs
    #: The in-process workers' (``--split-threshold``); None: the environment's or default.
    split_threshold: int | None = None
    #: Each in-process worker's counting threads (``--threads``; None: the cores divided).
    threads: int | None = None
    aggregate: bool = False
    globs: tuple[str, ...] = ()
    allow_failures: bool = False


@dataclass(frozen=True)
class ApiRoute:
    """The job path through a job API over HTTP."""

    url: str
    api_key: str | None = field(repr=False)  # a secret: out of logs


def resolve_route(req: SubmitRequest) -> ApiRoute | BackendSpec:
    """Where the files go. The job path wherever a job service exists: ``--api URL``;
    a stack (``--stack-name``) with an ``apiUrl`` output, its key read from
    ``apiKeySecretArn`` unless given; the embedded stack (in-process). The seed's flags
    (``-bucket``, ``-queueUrl``, ``-submitterRole``) keep selecting the compatible path."""
    api_key = env_first(req.api_key, API_KEY_ENV)
    if req.api_url:
        return ApiRoute(req.api_url, api_key)
    outputs: dict[str, str] = {}
    seed_flags = (req.bucket, req.queue_url, req.submitter_role)
    if req.stack_name:
        from wordfreq_service.adapters.aws import make_session, read_secret, stack_outputs

        session = make_session(region=env_first(req.region, "AWS_REGION", "AWS_DEFAULT_REGION"))
        outputs = stack_outputs(session, req.stack_name)
        api_url = outputs.get(API_URL_OUTPUT)
        if api_url and not any(seed_flags):
            secret = outputs.get(API_KEY_SECRET_OUTPUT)
            if api_key is None and secret:
                api_key = read_secret(session, secret)
            return ApiRoute(api_url, api_key)
    return resolve_spec(req, outputs)


def resolve_spec(req: SubmitRequest, outputs: dict[str, str] | None = None) -> BackendSpec:
    """The backend of the compatible path (and the embedded stack's); ``outputs`` are
    the stack's, when ``--stack-name`` was read already."""
    # The AWS-only flags imply the AWS backend: `submit --stack-name WordfreqStack FILE`.
    aws_flags = (req.stack_name, req.bucket, req.queue_url, req.submitter_role)
    if req.backend == "embedded" and not any(aws_flags):
        from wordfreq_service.adapters.embedded.database import DEFAULT_LOCK_WAIT_S

        # A database locked by another process is waited for, but never past --timeout.
        return BackendSpec(
            kind="embedded",
            data_dir=resolve_data_dir(req.data_dir),
            lock_wait_s=min(DEFAULT_LOCK_WAIT_S, req.timeout),
        )
    region = env_first(req.region, "AWS_REGION", "AWS_DEFAULT_REGION")
    bucket = env_first(req.bucket, "UPLOAD_BUCKET_NAME")
    queue_url = env_first(req.queue_url, "RESULT_QUEUE_URL")
    role = env_first(req.submitter_role, "SUBMITTER_ROLE")
    if req.stack_name:
        from wordfreq_service.adapters.aws import make_session, stack_outputs

        if not outputs:
            outputs = stack_outputs(make_session(region=region), req.stack_name)
        bucket = bucket or outputs.get("bucketName")
        queue_url = queue_url or outputs.get("resultQueueUrl")
        role = role or outputs.get("submitRoleArn")
    missing = [
        n
        for n, v in (
            ("bucket (--bucket, UPLOAD_BUCKET_NAME)", bucket),
            ("result queue (--queue-url, RESULT_QUEUE_URL)", queue_url),
        )
        if not v
    ]
    if missing:
        raise ConfigError(f"missing configuration: {'; '.join(missing)}")
    return BackendSpec(
        kind="aws", bucket=bucket, result_queue_url=queue_url, region=region, role_arn=role
    )


def _watched(
    progress: ProgressFactory | None, watchdog: Watchdog, seconds: float
) -> ProgressFactory:
    """``progress``, re-arming ``watchdog`` for ``seconds`` as each upload starts and
    whenever its bytes move."""

    def factory(path: str, size: int | None) -> Callable[[int], None] | None:
        doing = f"uploading {path}"
        watchdog.rearm(seconds, doing)
        shown = progress(path, size) if progress is not None else None

        def advance(nbytes: int) -> None:
            watchdog.rearm(seconds, doing)
            if shown is not None:
                shown(nbytes)

        return advance

    return factory


def _progress_factory() -> Callable[[str, int | None], Callable[[int], None] | None] | None:
    if not sys.stderr.isatty():
        return None
    from rich.progress import Progress

    def factory(path: str, size: int | None) -> Callable[[int], None] | None:
        if size is None or size < PROGRESS_MIN_BYTES:
            return None
        progress = Progress(transient=True)
        progress.start()
        task = progress.add_task(f"uploading {Path(path).name}", total=size)
        sent = 0

        def advance(nbytes: int) -> None:
            nonlocal sent
            sent += nbytes
            progress.update(task, advance=nbytes)
            if sent >= size:
                progress.stop()

        return advance

    return factory


def options_ignored(result: JobResult, requested_mode: str) -> bool:
    """A worker that honoured the options names the mode it counted in; the original Go
    worker sends no ``Mode`` and counts by its own rules whatever was asked."""
    return result.ok and result.mode != requested_mode


def result_json(sub: Submission, requested_mode: str) -> Iterator[str]:
    result = sub.result
    assert result is not None
    fields: dict[str, object] = {
        "file": sub.path,
        "key": sub.key,
        "job_id": result.job_id,
        "status": result.status,
        "status_message": result.status_message,
        "duration_ms": round(result.duration_ns / 1e6, 3),
        "total": result.total,
        "unique": result.unique,
        "skipped": result.skipped,
        "options_ignored": options_ignored(result, requested_mode),
    }
    if result.language is not None:
        fields["language"] = result.language
    return output.json_object(fields, result.words)


def warnings_for(sub: Submission, requested_mode: str) -> list[str]:
    result = sub.result
    assert result is not None
    notes = []
    if options_ignored(result, requested_mode):
        how = f"it counted in {result.mode} mode" if result.mode else "its result has no Mode"
        notes.append(
            f"wordfreq: warning: {sub.path}: the worker ignored the counting options "
            f"({how}; an original Go worker?): these are its own top words\n"
        )
    if result.truncated:
        notes.append(f"wordfreq: note: {sub.path}: {result.status_message}\n")
    return notes


def language_notes(sub: Submission, as_json: bool) -> list[str]:
    """What ``--stopwords auto`` found, said on standard error beside the text output
    (JSON carries it as a field)."""
    result = sub.result
    if as_json or result is None or result.language is None:
        return []
    return [output.language_note(result.language, f"{sub.path}: ")]


class ResultPrinter:
    """Prints results in argument order: one that arrives early waits until every file
    before it is printed. With several files each block is headed by the file's name;
    a single file prints exactly what the original Go uploader printed."""

    def __init__(self, submissions: list[Submission], requested_mode: str, as_json: bool) -> None:
        self._order = submissions
        self._mode = requested_mode
        self._as_json = as_json
        self._next = 0
        self._printed = 0

    def __call__(self, _arrived: Submission) -> None:
        while self._next < len(self._order) and self._order[self._next].result is not None:
            self._print(self._order[self._next])
            self._next += 1

    def finish(self) -> None:
        """After the wait: print the results that were held behind a missing one."""
        for sub in self._order[self._next :]:
            if sub.result is not None:
                self._print(sub)
        self._next = len(self._order)

    def _print(self, sub: Submission) -> None:
        assert sub.result is not None
        for note in warnings_for(sub, self._mode) + language_notes(sub, self._as_json):
            sys.stderr.write(note)
        sys.stderr.flush()
        if self._as_json:
            output.write_pieces(result_json(sub, self._mode))
        else:
            header = [output.file_header(sub.path, self._printed == 0)]
            many = len(self._order) > 1
            output.write_pieces(chain(header if many else [], output.job_text(sub.result)))
        self._printed += 1


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C's KeyboardInterrupt, so it unwinds
    through the same cleanup: an upload in progress removes its temporary file."""


@contextmanager
def sigterm_raises() -> Iterator[None]:
    """Turn the first SIGTERM into :class:`Terminated` for the duration of the block.

    Only the first: a second one must not interrupt the cleanup the first started.
    The handler only raises (no logging: see ``service.worker.loop``)."""
    received = False

    def _raise(signum: int, _frame: object) -> None:
        nonlocal received
        if not received:
            received = True
            raise Terminated(signum)

    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class Submitter(Protocol):
    """Uploads files and collects their results: ``Client`` (the compatible path) or
    ``JobClient`` (the job path)."""

    #: Why results could not be read, when the store or queue stopped answering.
    unavailable: str | None

    def upload(
        self,
        handles: list[tuple[str, BinaryIO]],
        request: JobRequest,
        progress: ProgressFactory | None = None,
    ) -> list[Submission]: ...

    def collect(
        self,
        submissions: list[Submission],
        timeout: float,
        on_result: Callable[[Submission], None],
    ) -> list[Submission]: ...


def _client(kind: str, backend: Backend) -> Submitter:
    """The job path wherever a job service runs in this process (the embedded stack);
    the compatible path, through the shared result queue, elsewhere."""
    if kind == "embedded":
        from wordfreq_service.service.job_client import (
            InProcessJobs,
            JobClient,
            in_process_settings,
        )
        from wordfreq_service.service.jobs import JobService

        return JobClient(InProcessJobs(JobService(backend, in_process_settings())))
    return Client(backend, poll_seconds=20.0)


def run_submit(req: SubmitRequest) -> int:
    with sigterm_raises():
        return _run_submit(req)


def _run_submit(req: SubmitRequest) -> int:
    # A stack's outputs and secret come from AWS: as bounded as the rest.
    with Watchdog() as watchdog:
        watchdog.rearm(req.timeout, "finding the service")
        route = resolve_route(req)
    if req.aggregate:
        return _run_aggregate(req, route)
    handles = Client.open_inputs(req.files)
    if isinstance(route, ApiRoute):
        from wordfreq_service.service.api_client import ApiClient, HttpJobs
        from wordfreq_service.service.job_client import JobClient

        api = ApiClient(route.url, api_key=route.api_key)
        try:
            with Watchdog() as watchdog:
                return _submit_with(JobClient(HttpJobs(api)), handles, req, watchdog)
        finally:
            api.close()
    spec = route
    if spec.kind != "embedded":
        with Watchdog() as watchdog:
            watchdog.rearm(req.timeout, "opening the stack")
            backend = spec.open()
            return _submit_with(_client(spec.kind, backend), handles, req, watchdog)
    backend = spec.open()
    with _workers_unless_running(spec, req):
        return _submit_with(_client(spec.kind, backend), handles, req)


def _run_aggregate(req: SubmitRequest, route: ApiRoute | BackendSpec) -> int:
    """``--aggregate``: every file a job, their full counts summed (in-process on the
    embedded stack, by corpus jobs through a job API)."""
    if isinstance(route, BackendSpec) and route.kind != "embedded":
        raise click.UsageError(
            "--aggregate needs the job path (the embedded stack, --api URL, or a stack "
            "with a job API): the compatible path keeps no counts to merge"
        )
    from wordfreq_service.counting.corpus import find_corpus

    corpus = find_corpus(req.files, req.globs)
    if isinstance(route, ApiRoute):
        from wordfreq_service.service.api_client import ApiClient, HttpJobs
        from wordfreq_service.service.corpus_client import ApiMerger

        api = ApiClient(route.url, api_key=route.api_key)
        try:
            # Uploads and the wait overlap, and both end by --timeout (``collect``);
            # the watchdog bounds what would not (a request the server never answers).
            with Watchdog() as watchdog:
                watchdog.rearm(req.timeout + GRACE_S, "counting the corpus")
                return _aggregate_with(HttpJobs(api), ApiMerger(api, req.request), corpus, req)
        finally:
            api.close()
    from wordfreq_service.service.corpus_client import LocalMerger
    from wordfreq_service.service.job_client import InProcessJobs, in_process_settings
    from wordfreq_service.service.jobs import JobService

    backend = route.open()
    service = JobService(backend, in_process_settings())
    jobs = InProcessJobs(service, keep_done=True)
    merger = LocalMerger(req.request, jobs.counts)
    with _workers_unless_running(route, req):
        return _aggregate_with(jobs, merger, corpus, req)


@contextmanager
def _workers_unless_running(spec: BackendSpec, req: SubmitRequest) -> Iterator[None]:
    """In-process workers for the duration when no stack runs on the data directory."""
    from wordfreq_service.adapters.embedded.stack_lock import is_running

    assert spec.data_dir is not None
    if is_running(spec.data_dir):
        yield
        return
    from wordfreq_service.service.pool import ThreadPool
    from wordfreq_service.service.worker import WorkerSettings

    sys.stderr.write(
        f"wordfreq: no stack running on {spec.data_dir}; "
        f"starting {req.workers} in-process workers for this submit\n"
    )
    from wordfreq_service.cli.services import split_threshold_setting

    settings = WorkerSettings(
        wait_seconds=0.5,
        threads=threads_per_worker(req.threads, req.workers),
        split_threshold=split_threshold_setting(req.split_threshold),
    )
    pool = ThreadPool(spec, settings, req.workers).__enter__()
    try:
        yield
    finally:
        pool.close()


def _aggregate_with(
    transport: JobTransport, merger: Merger, corpus: Corpus, req: SubmitRequest
) -> int:
    from wordfreq_service.cli.aggregate import Progress, report
    from wordfreq_service.service.corpus_client import collect, upload_corpus

    progress = Progress(len(corpus.entries), uploads=True)
    with progress.shown():
        for _ in range(len(corpus.entries) - len(corpus.files)):
            progress.uploaded()  # nothing to upload for an unreadable entry
        entries, pool = upload_corpus(transport, corpus, req.request, on_uploaded=progress.uploaded)
        try:
            summed, files = collect(
                transport, entries, merger, req.timeout, on_counted=progress.counted
            )
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    return report(
        summed.total,
        summed.unique,
        summed.words,
        files,
        as_json=req.as_json,
        allow_failures=req.allow_failures,
        skipped=summed.skipped,
        language=summed.language,
    )


def _submit_with(
    client: Submitter,
    handles: list[tuple[str, BinaryIO]],
    req: SubmitRequest,
    watchdog: Watchdog | None = None,
) -> int:
    """Upload, print the results as they come, and report what failed or timed out.
    With a ``watchdog`` (a remote service), an upload that makes no progress for
    ``--timeout``, or a wait that outlasts it, ends the command (``Unanswered``)."""
    progress = _progress_factory()
    if watchdog is not None:
        # Creating the jobs comes before any upload starts (and re-arms it).
        watchdog.rearm(req.timeout, "creating jobs")
        progress = _watched(progress, watchdog, req.timeout)
    submissions = client.upload(handles, req.request, progress)
    printer = ResultPrinter(submissions, req.request.mode, req.as_json)
    if watchdog is not None:
        # The wait ends at the timeout on its own; the margin is for its last request.
        watchdog.rearm(req.timeout + GRACE_S, "waiting for results")
    pending = client.collect(submissions, req.timeout, printer)
    printer.finish()
    failed = [s for s in submissions if s.result is not None and not s.result.ok]
    if failed:
        names = ", ".join(s.path for s in failed)
        sys.stderr.write(f"wordfreq: error: {len(failed)} job(s) failed: {names}\n")
    if pending:
        names = ", ".join(s.path for s in pending)
        why = f" (unavailable: {client.unavailable})" if client.unavailable else ""
        sys.stderr.write(
            f"wordfreq: error: timed out after {req.timeout:g}s waiting for "
            f"{len(pending)} result(s): {names}{why}\n"
        )
    return 1 if pending or failed else 0


@click.command()
@counting_options
@backend_options
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON object per file, a line each (with --aggregate: one object in all).",
)
@click.option(
    "--timeout",
    type=Seconds(min=0),
    default=300.0,
    show_default=True,
    help="Seconds to wait for all results.",
)
@click.option(
    "--workers",
    type=WORKER_COUNT,
    default=None,
    help="In-process workers when no stack is running [default: cores].",
)
@split_threshold_option
@threads_option
@click.option(
    "--bucket",
    "-bucket",
    "bucket",
    default=None,
    help="Upload bucket (aws) [env UPLOAD_BUCKET_NAME].",
)
@click.option(
    "--queue-url",
    "-queueUrl",
    "queue_url",
    default=None,
    help="Result queue URL (aws) [env RESULT_QUEUE_URL].",
)
@click.option(
    "--submitter-role",
    "-submitterRole",
    "submitter_role",
    default=None,
    help="Role to assume for the upload (aws) [env SUBMITTER_ROLE].",
)
@click.option(
    "--stack-name",
    default=None,
    help="Use this CloudFormation stack: its job API (apiUrl, key from apiKeySecretArn) "
    "if it has one, else its bucket, result queue and role.",
)
@click.option(
    "--api",
    "api_url",
    default=None,
    metavar="URL",
    help="Submit through the job API at URL (e.g. http://127.0.0.1:8000 of `wordfreq up`).",
)
@click.option(
    "--api-key",
    default=None,
    help=f"The job API's key, where it needs one [env {API_KEY_ENV}].",
)
@aggregate_options
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
def submit(
    request: JobRequest,
    backend: str,
    data_dir: str | None,
    region: str | None,
    debug: bool,
    as_json: bool,
    timeout: float,
    workers: int | None,
    split_threshold: int | None,
    threads: int | None,
    bucket: str | None,
    queue_url: str | None,
    submitter_role: str | None,
    stack_name: str | None,
    api_url: str | None,
    api_key: str | None,
    aggregate: bool,
    globs: tuple[str, ...],
    allow_failures: bool,
    files: tuple[str, ...],
) -> None:
    """Upload FILE... and print each file's top words when its job is done.

    With --aggregate, FILE... are files and directories (walked as `count --aggregate`
    walks them): every file a job of its own, their full counts summed into one
    result, each file's status reported (exit 1 when any failed, unless
    --allow-failures). Needs the job path: the embedded stack or a job API."""
    from wordfreq_service import logs

    refuse_without_aggregate(aggregate, globs, allow_failures)
    logs.configure(service=False, debug=debug, quiet=True)
    # Refused here, before any store, queue or worker is touched, if it cannot travel.
    request.to_metadata()
    submission = SubmitRequest(
        files=list(files),
        request=request,
        as_json=as_json,
        timeout=timeout,
        workers=workers or cores(),
        backend=backend,
        data_dir=data_dir,
        region=region,
        bucket=bucket,
        queue_url=queue_url,
        submitter_role=submitter_role,
        stack_name=stack_name,
        api_url=api_url,
        api_key=api_key,
        split_threshold=split_threshold,
        threads=threads,
        aggregate=aggregate,
        globs=globs,
        allow_failures=allow_failures,
    )
    try:
        status = run_submit(submission)
    except Terminated:
        sys.stderr.write("wordfreq: terminated\n")
        status = 128 + signal.SIGTERM
    except Unanswered as exc:
        sys.stderr.write(f"{exc}\n")
        status = EXIT_FAILURE
    sys.exit(status)
