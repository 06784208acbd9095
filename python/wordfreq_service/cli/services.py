"""``wordfreq worker`` and ``wordfreq up``: the long-running services."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any, TypeVar

import click

from wordfreq_service.api.settings import WORKER_JOB_TABLE_ENV
from wordfreq_service.cli.api import serve_options
from wordfreq_service.cli.options import (
    WORKER_COUNT,
    Seconds,
    backend_options,
    cores,
    input_limit_option,
    split_threshold_option,
    split_threshold_type,
    threads_option,
    threads_per_worker,
)
from wordfreq_service.errors import ConfigError
from wordfreq_service.formats.job_request import DEFAULT_MODE, MODES
from wordfreq_service.ports import MAX_LONG_POLL_S, MAX_VISIBILITY_TIMEOUT_S
from wordfreq_service.service.jobs import JOB_SWEEP_S
from wordfreq_service.service.worker.settings import SPLIT_THRESHOLD_ENV, WorkerSettings

T = TypeVar("T")

VISIBILITY_TIMEOUT_ENV = "WORKER_VISIBILITY_TIMEOUT"
DRAIN_SECONDS_ENV = "WORKER_DRAIN_SECONDS"
#: The back-off while the store or a queue is unavailable (``WorkerSettings``).
BACKOFF_SECONDS_ENV = "WORKER_BACKOFF_SECONDS"
MAX_BACKOFF_SECONDS_ENV = "WORKER_MAX_BACKOFF_SECONDS"
#: Embedded: how long a worker's write waits for a database locked by another process.
LOCK_WAIT_SECONDS_ENV = "WORKER_LOCK_WAIT_SECONDS"
_DEFAULT = WorkerSettings()

#: The embedded stack's long poll: short, since a receive is a local SQLite query, and a
#: stop request waits for the current one.
EMBEDDED_POLL_S = 1.0

VISIBILITY_TIMEOUT = click.IntRange(min=1, max=MAX_VISIBILITY_TIMEOUT_S)
DRAIN_SECONDS = Seconds(min=0)


def setting(flag: T | None, env: str, kind: Any, default: T) -> T:
    """The flag if given, else the environment variable if set and non-empty, checked by
    the flag's click type ``kind`` (whose annotations do not admit the strings it takes),
    else the default."""
    if flag is not None:
        return flag
    text = os.environ.get(env, "")
    if not text:
        return default
    try:
        value: T = kind.convert(text, None, None)
    except click.BadParameter as exc:
        raise ConfigError(f"{env}={text!r}: {exc.message}") from None
    return value


def with_backoff(settings: WorkerSettings) -> WorkerSettings:
    """``settings`` with the back-off of ``WORKER_BACKOFF_SECONDS`` and
    ``WORKER_MAX_BACKOFF_SECONDS`` where set."""
    kind = Seconds(min=0.01)
    return replace(
        settings,
        backoff_seconds=setting(None, BACKOFF_SECONDS_ENV, kind, settings.backoff_seconds),
        max_backoff_seconds=setting(
            None, MAX_BACKOFF_SECONDS_ENV, kind, settings.max_backoff_seconds
        ),
    )


def lock_wait_setting() -> float | None:
    """``WORKER_LOCK_WAIT_SECONDS`` where set; None: the database's default."""
    return setting(None, LOCK_WAIT_SECONDS_ENV, Seconds(min=0), None)


visibility_timeout_option = click.option(
    "--visibility-timeout",
    type=VISIBILITY_TIMEOUT,
    default=None,
    help="Seconds a received message stays hidden; extended while its job runs "
    f"[env {VISIBILITY_TIMEOUT_ENV}; default: the work queue's own].",
)


def visibility_timeout_setting(flag: int | None) -> int | None:
    """``--visibility-timeout``, else ``WORKER_VISIBILITY_TIMEOUT``, else the queue's own."""
    return setting(flag, VISIBILITY_TIMEOUT_ENV, VISIBILITY_TIMEOUT, _DEFAULT.visibility_timeout)


def split_threshold_setting(flag: int | None) -> int:
    """``--split-threshold``, else ``WORKER_SPLIT_THRESHOLD``, else the default."""
    return setting(flag, SPLIT_THRESHOLD_ENV, split_threshold_type(), _DEFAULT.split_threshold)


@click.command()
@backend_options
@click.option(
    "--concurrency",
    type=WORKER_COUNT,
    default=None,
    help="Worker processes [default: the number of cores].",
)
@click.option("--queue-url", default=None, help="Work queue URL (aws) [env WORKER_QUEUE_URL].")
@click.option(
    "--result-queue-url", default=None, help="Result queue URL (aws) [env WORKER_RESULT_QUEUE_URL]."
)
@click.option(
    "--job-table",
    default=None,
    help="DynamoDB job table (aws), where job-path uploads' results go "
    f"[env {WORKER_JOB_TABLE_ENV}].",
)
@click.option(
    "--drain-seconds",
    type=DRAIN_SECONDS,
    default=None,
    help="On SIGTERM/SIGINT, how long in-flight jobs may take to finish "
    f"[env {DRAIN_SECONDS_ENV}; default {_DEFAULT.drain_seconds:g}].",
)
@visibility_timeout_option
@click.option(
    "--poll-seconds",
    type=Seconds(min=0, max=MAX_LONG_POLL_S),
    default=None,
    help=f"Long-poll wait per receive [default: {MAX_LONG_POLL_S} on aws, "
    f"{EMBEDDED_POLL_S:g} embedded]; also bounds how long a stop request waits for the "
    "current receive.",
)
@click.option(
    "--default-mode",
    type=click.Choice(MODES, case_sensitive=False),
    default=DEFAULT_MODE,
    show_default=True,
    help="Mode for objects uploaded without wordfreq metadata (the seed's Go uploader sets none).",
)
@input_limit_option
@split_threshold_option
@threads_option
def worker(
    backend: str,
    data_dir: str | None,
    region: str | None,
    debug: bool,
    concurrency: int | None,
    queue_url: str | None,
    result_queue_url: str | None,
    job_table: str | None,
    drain_seconds: float | None,
    visibility_timeout: int | None,
    poll_seconds: float | None,
    default_mode: str,
    max_input_bytes: int,
    split_threshold: int | None,
    threads: int | None,
) -> None:
    """Take jobs off the work queue and post results until SIGTERM/SIGINT."""
    from wordfreq_service import logs
    from wordfreq_service.adapters.aws.task_protection import TaskProtection
    from wordfreq_service.config import BackendSpec, env_first, resolve_data_dir
    from wordfreq_service.service.pool import run_processes

    logs.configure(service=True, debug=debug)
    visibility = visibility_timeout_setting(visibility_timeout)
    drain = setting(drain_seconds, DRAIN_SECONDS_ENV, DRAIN_SECONDS, _DEFAULT.drain_seconds)
    if backend == "aws":
        work = env_first(queue_url, "WORKER_QUEUE_URL")
        result = env_first(result_queue_url, "WORKER_RESULT_QUEUE_URL")
        missing = [
            n for n, v in (("WORKER_QUEUE_URL", work), ("WORKER_RESULT_QUEUE_URL", result)) if not v
        ]
        if missing:
            raise ConfigError(
                f"missing configuration: {', '.join(missing)} "
                "(environment or --queue-url/--result-queue-url)"
            )
        spec = BackendSpec(
            kind="aws",
            work_queue_url=work,
            result_queue_url=result,
            region=env_first(region, "AWS_REGION", "AWS_DEFAULT_REGION"),
            job_table=env_first(job_table, WORKER_JOB_TABLE_ENV),
        )
        wait = float(MAX_LONG_POLL_S)
    else:
        spec = BackendSpec(
            kind="embedded", data_dir=resolve_data_dir(data_dir), lock_wait_s=lock_wait_setting()
        )
        wait = EMBEDDED_POLL_S
    processes = concurrency or cores()
    settings = WorkerSettings(
        visibility_timeout=visibility,
        wait_seconds=wait if poll_seconds is None else poll_seconds,
        drain_seconds=drain,
        default_mode=default_mode,
        max_input_bytes=max_input_bytes,
        split_threshold=split_threshold_setting(split_threshold),
        threads=threads_per_worker(threads, processes),
        # AWS expires jobs itself (DynamoDB's TTL, the bucket's lifecycle rule).
        job_sweep_seconds=JOB_SWEEP_S if spec.kind == "embedded" else None,
    )
    run_processes(
        spec, with_backoff(settings), processes, debug=debug, protection=TaskProtection.from_env()
    )


@click.command()
@backend_options
@click.option(
    "--workers",
    type=WORKER_COUNT,
    default=None,
    help="Worker processes [default: the number of cores].",
)
@visibility_timeout_option
@input_limit_option
@split_threshold_option
@threads_option
@serve_options
def up(
    backend: str,
    data_dir: str | None,
    region: str | None,
    debug: bool,
    workers: int | None,
    visibility_timeout: int | None,
    max_input_bytes: int,
    split_threshold: int | None,
    threads: int | None,
    host: str,
    port: int,
    api_key: str | None,
    max_upload_bytes: int,
) -> None:
    """Run the embedded stack in the foreground until SIGTERM/SIGINT: its workers, and
    the job API with its page on --host/--port."""
    from wordfreq_service import logs
    from wordfreq_service.adapters.embedded.stack_lock import StackLock
    from wordfreq_service.cli.api import start_api
    from wordfreq_service.config import BackendSpec, resolve_data_dir
    from wordfreq_service.service.pool import run_processes

    del region
    if backend != "embedded":
        raise ConfigError("`wordfreq up` runs the embedded stack; on AWS the stack is deployed")
    logs.configure(service=True, debug=debug)
    visibility = visibility_timeout_setting(visibility_timeout)
    directory = resolve_data_dir(data_dir)
    spec = BackendSpec(kind="embedded", data_dir=directory, lock_wait_s=lock_wait_setting())
    # Create the data directory, queues and notification before announcing anything.
    stack = spec.open()
    count = workers or cores()
    with StackLock(directory) as lock:
        lock.acquire(count)
        server = start_api(
            stack,
            host=host,
            port=port,
            api_key=api_key,
            max_upload_bytes=max_upload_bytes,
            data_dir=directory,
        )
        try:
            # The workers own SIGTERM/SIGINT; the API stops once they have drained.
            run_processes(
                spec,
                with_backoff(
                    WorkerSettings(
                        visibility_timeout=visibility,
                        wait_seconds=EMBEDDED_POLL_S,
                        max_input_bytes=max_input_bytes,
                        threads=threads_per_worker(threads, count),
                        job_sweep_seconds=JOB_SWEEP_S,
                        split_threshold=split_threshold_setting(split_threshold),
                    )
                ),
                count,
                debug=debug,
            )
        finally:
            server.stop()
