"""``wordfreq worker`` and ``wordfreq up``: the long-running services."""

from __future__ import annotations

import math
import os
from typing import Any, TypeVar

import click

from wordfreq_service.cli.options import backend_options, cores, input_limit_option
from wordfreq_service.errors import ConfigError
from wordfreq_service.formats.job_request import DEFAULT_MODE, MODES
from wordfreq_service.service.worker.settings import MAX_VISIBILITY_TIMEOUT, WorkerSettings

T = TypeVar("T")

VISIBILITY_TIMEOUT_ENV = "WORKER_VISIBILITY_TIMEOUT"
DRAIN_SECONDS_ENV = "WORKER_DRAIN_SECONDS"
_DEFAULT = WorkerSettings()


class _Seconds(click.FloatRange):
    """A FloatRange that also refuses NaN (inside any range, by comparison) and infinity."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        seconds = super().convert(value, param, ctx)
        if not math.isfinite(seconds):
            self.fail(f"{value!r} is not a finite number of seconds", param, ctx)
        return seconds


VISIBILITY_TIMEOUT = click.IntRange(min=1, max=MAX_VISIBILITY_TIMEOUT)
DRAIN_SECONDS = _Seconds(min=0)


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


@click.command()
@backend_options
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes [default: the number of cores].",
)
@click.option("--queue-url", default=None, help="Work queue URL (aws) [env WORKER_QUEUE_URL].")
@click.option(
    "--result-queue-url", default=None, help="Result queue URL (aws) [env WORKER_RESULT_QUEUE_URL]."
)
@click.option(
    "--drain-seconds",
    type=DRAIN_SECONDS,
    default=None,
    help="On SIGTERM/SIGINT, how long in-flight jobs may take to finish "
    f"[env {DRAIN_SECONDS_ENV}; default {_DEFAULT.drain_seconds:g}].",
)
@click.option(
    "--visibility-timeout",
    type=VISIBILITY_TIMEOUT,
    default=None,
    help="Seconds a received message stays hidden; extended while its job runs "
    f"[env {VISIBILITY_TIMEOUT_ENV}; default {_DEFAULT.visibility_timeout}].",
)
@click.option(
    "--poll-seconds",
    type=_Seconds(min=0, max=20),
    default=None,
    help="Long-poll wait per receive [default: 20 on aws, 1 embedded]; also bounds how "
    "long a stop request waits for the current receive.",
)
@click.option(
    "--default-mode",
    type=click.Choice(MODES, case_sensitive=False),
    default=DEFAULT_MODE,
    show_default=True,
    help="Mode for objects uploaded without wordfreq metadata (the seed's Go uploader sets none).",
)
@input_limit_option
def worker(
    backend: str,
    data_dir: str | None,
    region: str | None,
    debug: bool,
    concurrency: int | None,
    queue_url: str | None,
    result_queue_url: str | None,
    drain_seconds: float | None,
    visibility_timeout: int | None,
    poll_seconds: float | None,
    default_mode: str,
    max_input_bytes: int,
) -> None:
    """Take jobs off the work queue and post results until SIGTERM/SIGINT."""
    from wordfreq_service import logs
    from wordfreq_service.adapters.aws.task_protection import TaskProtection
    from wordfreq_service.config import BackendSpec, env_first, resolve_data_dir
    from wordfreq_service.service.pool import run_processes

    logs.configure(service=True, debug=debug)
    visibility = setting(
        visibility_timeout, VISIBILITY_TIMEOUT_ENV, VISIBILITY_TIMEOUT, _DEFAULT.visibility_timeout
    )
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
        )
        wait = 20.0
    else:
        spec = BackendSpec(kind="embedded", data_dir=resolve_data_dir(data_dir))
        wait = 1.0
    settings = WorkerSettings(
        visibility_timeout=visibility,
        wait_seconds=wait if poll_seconds is None else poll_seconds,
        drain_seconds=drain,
        default_mode=default_mode,
        max_input_bytes=max_input_bytes,
    )
    run_processes(
        spec, settings, concurrency or cores(), debug=debug, protection=TaskProtection.from_env()
    )


@click.command()
@backend_options
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes [default: the number of cores].",
)
@input_limit_option
def up(
    backend: str,
    data_dir: str | None,
    region: str | None,
    debug: bool,
    workers: int | None,
    max_input_bytes: int,
) -> None:
    """Run the embedded stack in the foreground until SIGTERM/SIGINT."""
    from wordfreq_service import logs
    from wordfreq_service.adapters.embedded.stack_lock import StackLock
    from wordfreq_service.config import BackendSpec, resolve_data_dir
    from wordfreq_service.service.pool import run_processes

    del region
    if backend != "embedded":
        raise ConfigError("`wordfreq up` runs the embedded stack; on AWS the stack is deployed")
    logs.configure(service=True, debug=debug)
    directory = resolve_data_dir(data_dir)
    spec = BackendSpec(kind="embedded", data_dir=directory)
    spec.open()  # create the data directory, queues and notification before announcing
    count = workers or cores()
    with StackLock(directory) as lock:
        lock.acquire(count)
        run_processes(
            spec,
            WorkerSettings(wait_seconds=1.0, max_input_bytes=max_input_bytes),
            count,
            debug=debug,
        )
