"""``wordfreq api``: the job API alone; and the options ``wordfreq up`` shares with it."""

from __future__ import annotations

import ipaddress
import signal
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from wordfreq_service.api.settings import (
    API_KEY_ENV,
    BUCKET_ENV,
    DEFAULT_HOST,
    DEFAULT_PORT,
    JOB_TABLE_ENV,
    MAX_UPLOAD_BYTES_ENV,
)
from wordfreq_service.cli.options import ByteSize, backend_options
from wordfreq_service.errors import ConfigError, WordfreqError
from wordfreq_service.service.jobs import DEFAULT_MAX_UPLOAD_BYTES

if TYPE_CHECKING:
    from wordfreq_service.api.server import ServerThread
    from wordfreq_service.ports import Backend

F = TypeVar("F", bound=Callable[..., Any])

#: How often ``wordfreq api`` looks whether its server thread is still serving.
_WATCH_S = 0.5


def serve_options(func: F) -> F:
    """Where the API listens, its key and its upload limit: ``api`` and ``up``."""
    from wordfreq_service.counting.inputs import human_size

    decorators = [
        click.option(
            "--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on."
        ),
        click.option(
            "--port",
            type=click.IntRange(0, 65535),
            default=DEFAULT_PORT,
            show_default=True,
            help="Port to listen on (0: any free one).",
        ),
        click.option(
            "--api-key",
            envvar=API_KEY_ENV,
            default=None,
            help=f"Require this key (header X-Api-Key) to create jobs [env {API_KEY_ENV}].",
        ),
        click.option(
            "--max-upload-size",
            "max_upload_bytes",
            type=ByteSize(),
            envvar=MAX_UPLOAD_BYTES_ENV,
            default=DEFAULT_MAX_UPLOAD_BYTES,
            show_default=human_size(DEFAULT_MAX_UPLOAD_BYTES),
            help=f"Largest upload a job may have [env {MAX_UPLOAD_BYTES_ENV}].",
        ),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def start_api(
    backend: Backend,
    *,
    host: str,
    port: int,
    api_key: str | None,
    max_upload_bytes: int,
    data_dir: Path | None,
) -> ServerThread:
    """Bind, then serve the API on ``backend`` in a thread; logs where it serves.
    ``data_dir`` holds the key that signs the service's own upload URLs (embedded)."""
    import structlog

    from wordfreq_service.api.app import create_app
    from wordfreq_service.api.server import ServerThread, bind, url_of
    from wordfreq_service.api.settings import ApiSettings
    from wordfreq_service.api.uploads import UploadSigner
    from wordfreq_service.service.jobs import JobService, JobSettings

    service = JobService(backend, JobSettings(max_upload_bytes=max_upload_bytes))
    signer = UploadSigner.in_data_dir(data_dir) if data_dir is not None else None
    settings = ApiSettings(api_key=api_key or None, max_upload_bytes=max_upload_bytes)
    sock = bind(host, port)
    server = ServerThread(create_app(service, settings, uploads=signer), sock).start()
    log = structlog.get_logger("wordfreq.api")
    log.info("serving the job API and page", url=url_of(sock))
    if not api_key and not _loopback(sock):
        log.warning(
            "no API key: anyone who can reach this address can create jobs "
            f"(--api-key or {API_KEY_ENV})",
            url=url_of(sock),
        )
    return server


def _loopback(sock: socket.socket) -> bool:
    return ipaddress.ip_address(sock.getsockname()[0]).is_loopback


@click.command()
@backend_options
@click.option("--bucket", envvar=BUCKET_ENV, default=None, help=f"Bucket (aws) [env {BUCKET_ENV}].")
@click.option(
    "--job-table",
    envvar=JOB_TABLE_ENV,
    default=None,
    help=f"Job table (aws) [env {JOB_TABLE_ENV}].",
)
@serve_options
def api(
    backend: str,
    data_dir: str | None,
    region: str | None,
    debug: bool,
    bucket: str | None,
    job_table: str | None,
    host: str,
    port: int,
    api_key: str | None,
    max_upload_bytes: int,
) -> None:
    """Serve the job API and its page until SIGTERM/SIGINT (no workers: `wordfreq worker`
    or `wordfreq up` runs them)."""
    from wordfreq_service import logs
    from wordfreq_service.config import BackendSpec, env_first, resolve_data_dir

    logs.configure(service=True, debug=debug)
    directory: Path | None = None
    if backend == "aws":
        missing = [n for n, v in ((BUCKET_ENV, bucket), (JOB_TABLE_ENV, job_table)) if not v]
        if missing:
            raise ConfigError(
                f"missing configuration: {', '.join(missing)} (environment or --bucket/--job-table)"
            )
        spec = BackendSpec(
            kind="aws",
            bucket=bucket,
            job_table=job_table,
            region=env_first(region, "AWS_REGION", "AWS_DEFAULT_REGION"),
        )
    else:
        directory = resolve_data_dir(data_dir)
        spec = BackendSpec(kind="embedded", data_dir=directory)
    server = start_api(
        spec.open(),
        host=host,
        port=port,
        api_key=api_key,
        max_upload_bytes=max_upload_bytes,
        data_dir=directory,
    )
    stopping = threading.Event()

    def _stop(_signum: int, _frame: Any) -> None:
        stopping.set()  # only a flag: logging here could deadlock on the logger's lock

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    while server.is_alive() and not stopping.wait(_WATCH_S):
        pass
    server.stop()
    if not stopping.is_set():
        raise WordfreqError("the API server stopped on its own (see the log above)")
