"""The ``wordfreq`` command line.

Every command turns wordfreq's own errors into one line on standard error and a
non-zero exit (2 for usage and configuration errors, 1 otherwise): never a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from wordfreq_service.errors import ConfigError, InputError, WordfreqError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_FAILURE = 1
EXIT_USAGE = 2


def counting_options(func: F) -> F:
    """Options shared by every command that counts words."""
    decorators = [
        click.option(
            "--mode",
            type=click.Choice(["words", "seed"]),
            default="words",
            show_default=True,
            help="words: Unicode words; seed: the original Go worker's exact behaviour.",
        ),
        click.option(
            "--top",
            type=click.IntRange(min=0),
            default=10,
            show_default=True,
            help="How many of the most frequent words to show.",
        ),
        click.option(
            "--min-length",
            type=click.IntRange(min=1),
            default=None,
            help="Drop words shorter than this many characters (words mode; default 1).",
        ),
        click.option(
            "--stopwords",
            metavar="english|FILE",
            default=None,
            help="Drop stop words: the built-in English list or a file, one word a line.",
        ),
        click.option(
            "--encoding",
            type=click.Choice(["utf-8", "cp1252", "latin-1", "utf-16"]),
            default=None,
            help="Force a decoding (words mode). Default: BOM, else UTF-8 with "
            "per-byte Windows-1252 fallback.",
        ),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def build_options(
    mode: str,
    top: int | None,
    min_length: int | None,
    stopwords: str | None,
    encoding: str | None,
) -> Any:
    from wordfreq_service.counting.engine import CountOptions
    from wordfreq_service.counting.stopwords import load

    if mode == "seed" and min_length is not None:
        raise ConfigError("--min-length applies to words mode only")
    if mode == "seed" and encoding is not None:
        raise ConfigError("--encoding applies to words mode only (seed mode reads raw bytes)")
    stop = load(stopwords) if stopwords else frozenset()
    return CountOptions(
        mode=mode, top=top, min_length=min_length or 1, stopwords=stop, encoding=encoding
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="wordfreq-service")
def cli() -> None:
    """Count word frequencies: directly, or through the upload -> queue -> worker service."""


@cli.command()
@counting_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--csv", "as_csv", is_flag=True, help="Print every word and its count as CSV.")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
def count(
    mode: str,
    top: int,
    min_length: int | None,
    stopwords: str | None,
    encoding: str | None,
    as_json: bool,
    as_csv: bool,
    files: tuple[str, ...],
) -> None:
    """Count the words of FILE... together (``-`` reads standard input)."""
    from wordfreq_service.cli import output
    from wordfreq_service.counting.engine import count_files, summarize

    if as_json and as_csv:
        raise ConfigError("--json and --csv are exclusive")
    options = build_options(mode, None if as_csv else top, min_length, stopwords, encoding)
    result = summarize(count_files(files, options), options)
    if as_json:
        text = output.count_json(result.total, result.unique, result.words)
    elif as_csv:
        text = output.words_csv(result.words)
    else:
        text = output.top_words_text(result.words)
    sys.stdout.write(text)


def backend_options(func: F) -> F:
    decorators = [
        click.option(
            "--backend",
            type=click.Choice(["embedded", "aws"]),
            default="embedded",
            show_default=True,
            help="embedded: files + SQLite on this machine; aws: S3 + SQS.",
        ),
        click.option(
            "--data-dir",
            type=click.Path(file_okay=False),
            default=None,
            help="Embedded stack's data directory [env WORDFREQ_DATA_DIR; default: the "
            "per-user data directory].",
        ),
        click.option("--region", default=None, help="AWS region [env AWS_REGION, AWS config]."),
        click.option("--debug", is_flag=True, help="Debug logs [env WORKER_DEBUG=1]."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@cli.command()
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
    type=click.FloatRange(min=0),
    default=25.0,
    show_default=True,
    help="On SIGTERM/SIGINT, how long in-flight jobs may take to finish.",
)
@click.option(
    "--visibility-timeout",
    type=click.IntRange(min=1, max=43200),
    default=30,
    show_default=True,
    help="Seconds a received message stays hidden; extended while its job runs.",
)
@click.option(
    "--poll-seconds",
    type=click.FloatRange(min=0, max=20),
    default=None,
    help="Long-poll wait per receive [default: 20 on aws, 1 embedded]; also bounds how "
    "long a stop request waits for the current receive.",
)
@click.option(
    "--default-mode",
    type=click.Choice(["words", "seed"]),
    default="words",
    show_default=True,
    help="Mode for objects uploaded without wordfreq metadata (the seed's Go uploader sets none).",
)
def worker(
    backend: str,
    data_dir: str | None,
    region: str | None,
    debug: bool,
    concurrency: int | None,
    queue_url: str | None,
    result_queue_url: str | None,
    drain_seconds: float,
    visibility_timeout: int,
    poll_seconds: float | None,
    default_mode: str,
) -> None:
    """Take jobs off the work queue and post results until SIGTERM/SIGINT."""
    from wordfreq_service import logs
    from wordfreq_service.config import BackendSpec, env_first, resolve_data_dir
    from wordfreq_service.service.pool import run_processes
    from wordfreq_service.adapters.aws.task_protection import hook_from_env
    from wordfreq_service.service.worker import WorkerSettings

    logs.configure(service=True, debug=debug)
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
        visibility_timeout=visibility_timeout,
        wait_seconds=wait if poll_seconds is None else poll_seconds,
        drain_seconds=drain_seconds,
        default_mode=default_mode,
    )
    run_processes(spec, settings, concurrency or _cores(), debug=debug, hook=hook_from_env)


@cli.command()
@backend_options
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes [default: the number of cores].",
)
def up(
    backend: str, data_dir: str | None, region: str | None, debug: bool, workers: int | None
) -> None:
    """Run the embedded stack in the foreground until SIGTERM/SIGINT."""
    from wordfreq_service import logs
    from wordfreq_service.config import BackendSpec, resolve_data_dir
    from wordfreq_service.service.pool import run_processes
    from wordfreq_service.adapters.embedded.stack_lock import StackLock
    from wordfreq_service.service.worker import WorkerSettings

    del region
    if backend != "embedded":
        raise ConfigError("`wordfreq up` runs the embedded stack; on AWS the stack is deployed")
    logs.configure(service=True, debug=debug)
    directory = resolve_data_dir(data_dir)
    spec = BackendSpec(kind="embedded", data_dir=directory)
    spec.open()  # create the data directory, queues and notification before announcing
    count = workers or _cores()
    with StackLock(directory) as lock:
        lock.acquire(count)
        run_processes(spec, WorkerSettings(wait_seconds=1.0), count, debug=debug)


@cli.command()
@counting_options
@backend_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file, a line each.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=300.0,
    show_default=True,
    help="Seconds to wait for all results.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="In-process workers when no stack is running [default: cores].",
)
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
    help="Read bucket, result queue and role from this CloudFormation stack.",
)
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
def submit(
    mode: str,
    top: int,
    min_length: int | None,
    stopwords: str | None,
    encoding: str | None,
    backend: str,
    data_dir: str | None,
    region: str | None,
    debug: bool,
    as_json: bool,
    timeout: float,
    workers: int | None,
    bucket: str | None,
    queue_url: str | None,
    submitter_role: str | None,
    stack_name: str | None,
    files: tuple[str, ...],
) -> None:
    """Upload FILE... and print each file's top words when its job is done."""
    from wordfreq_service import logs
    from wordfreq_service.cli.submit import SubmitRequest, run_submit

    logs.configure(service=False, debug=debug, quiet=True)
    options = build_options(mode, top, min_length, stopwords, encoding)
    request = SubmitRequest(
        files=list(files),
        options=options,
        stopwords_spec=stopwords,
        as_json=as_json,
        timeout=timeout,
        workers=workers or _cores(),
        backend=backend,
        data_dir=data_dir,
        region=region,
        bucket=bucket,
        queue_url=queue_url,
        submitter_role=submitter_role,
        stack_name=stack_name,
    )
    sys.exit(run_submit(request))


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    try:
        rv = cli.main(args=argv, prog_name="wordfreq", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("wordfreq: interrupted", err=True)
        sys.exit(130)
    except ConfigError as exc:
        click.echo(f"wordfreq: error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except (InputError, WordfreqError) as exc:
        click.echo(f"wordfreq: error: {exc}", err=True)
        sys.exit(EXIT_FAILURE)
    except BrokenPipeError:
        # A closed pipe (`wordfreq count big.txt | head`) is not an error of ours.
        sys.stderr.close()
        sys.exit(EXIT_FAILURE)
    except Exception as exc:
        # A bug of ours still gets one line; WORDFREQ_TRACEBACK=1 shows the whole story.
        if os.environ.get("WORDFREQ_TRACEBACK") == "1":
            raise
        click.echo(f"wordfreq: internal error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(EXIT_FAILURE)
    sys.exit(rv if isinstance(rv, int) else 0)
