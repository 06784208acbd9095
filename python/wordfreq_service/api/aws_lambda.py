"""The job API on AWS Lambda, behind an API Gateway HTTP API: Mangum over the same
FastAPI app ``wordfreq api`` serves.

Configured by the environment the stack sets (``api/settings.py``): the bucket, the job
table, the ARN of the Secrets Manager secret whose string is the API key, and the
upload limit. The app is built on the first invocation (the cold start) and reused by
the warm ones; the key is read once, then.
"""

from __future__ import annotations

import os
from typing import Any

from mangum import Mangum

from wordfreq_service.api.settings import (
    API_KEY_SECRET_ENV,
    BUCKET_ENV,
    JOB_TABLE_ENV,
    MAX_UPLOAD_BYTES_ENV,
    ApiSettings,
)
from wordfreq_service.errors import ConfigError
from wordfreq_service.service.jobs import DEFAULT_MAX_UPLOAD_BYTES

_handler: Mangum | None = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda function's entry point."""
    global _handler
    if _handler is None:
        _handler = Mangum(build_app(), lifespan="off")
    answer: dict[str, Any] = _handler(event, context)
    return answer


def build_app() -> Any:
    from wordfreq_service import logs
    from wordfreq_service.adapters.aws import make_session, open_aws
    from wordfreq_service.adapters.aws.clients import CLIENT_CONFIG
    from wordfreq_service.api.app import create_app
    from wordfreq_service.service.jobs import JobService, JobSettings

    # One JSON object a line on standard error, which Lambda sends to the function's log.
    logs.configure(service=True)
    bucket = _required(BUCKET_ENV)
    table = _required(JOB_TABLE_ENV)
    limit_text = os.environ.get(MAX_UPLOAD_BYTES_ENV, "")
    if limit_text and not (limit_text.isascii() and limit_text.isdigit()):
        raise ConfigError(f"{MAX_UPLOAD_BYTES_ENV}={limit_text!r} is not a byte count")
    limit = int(limit_text) if limit_text else DEFAULT_MAX_UPLOAD_BYTES
    session = make_session()
    secret_arn = os.environ.get(API_KEY_SECRET_ENV) or None
    api_key = None
    if secret_arn is not None:
        secrets = session.client("secretsmanager", config=CLIENT_CONFIG)
        api_key = secrets.get_secret_value(SecretId=secret_arn)["SecretString"]
    backend = open_aws(
        bucket=bucket,
        work_queue_url=None,
        result_queue_url=None,
        job_table=table,
        session=session,
    )
    service = JobService(backend, JobSettings(max_upload_bytes=limit))
    return create_app(service, ApiSettings(api_key=api_key, max_upload_bytes=limit))


def _required(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise ConfigError(f"missing configuration: {name}")
    return value
