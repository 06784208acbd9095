"""The job API on AWS Lambda, behind an API Gateway HTTP API: Mangum over the same
FastAPI app ``wordfreq api`` serves.

Configured by the environment the stack sets (``api/settings.py``): the bucket, the job
table, the ARN of the Secrets Manager secret whose string is the API key, and the
upload limit. The app is built on the first invocation (the cold start) and reused by
the warm ones; the key is read once, then.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from mangum import Mangum

from wordfreq_service.adapters.aws.boto_errors import translated
from wordfreq_service.api.app import counts_disposition
from wordfreq_service.api.settings import (
    API_KEY_SECRET_ENV,
    BUCKET_ENV,
    JOB_TABLE_ENV,
    MAX_UPLOAD_BYTES_ENV,
    ApiSettings,
)
from wordfreq_service.errors import ConfigError, NoSuchKey
from wordfreq_service.formats.corpus import stored_counts_key
from wordfreq_service.formats.jobs import COUNTS_MEDIA_TYPE, COUNTS_SIZE_METADATA
from wordfreq_service.service.jobs import DEFAULT_MAX_UPLOAD_BYTES

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from wordfreq_service.ports import ObjectStore

#: Counts whose CSV (uncompressed) is up to this size pass through the function; larger
#: ones, and those whose size is not recorded, go by link. A Lambda response holds 6 MB
#: of JSON, and the runtime client escapes the text body with ``ensure_ascii``: a control
#: byte takes 6 bytes (``\u0001``), a non-ASCII letter 2 to 6 per UTF-8 byte. Six times
#: this, plus headers, stays under the limit.
INLINE_COUNTS_BYTES: Final = 768 << 10
#: What a Lambda function may answer, in bytes of JSON.
LAMBDA_RESPONSE_BYTES: Final = 6 * 1024 * 1024
#: How long a counts link works: it is followed at once.
COUNTS_LINK_EXPIRY_S: Final = 300

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
    from wordfreq_service.adapters.aws.clients import CLIENT_CONFIG, s3_client
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
    return create_app(
        service,
        ApiSettings(api_key=api_key, max_upload_bytes=limit),
        counts_link=counts_links(s3_client(session), backend.store),
    )


def counts_links(s3: S3Client, store: ObjectStore) -> Callable[[str], str | None]:
    """Pre-signed GETs for stored counts too large for a Lambda response (6 MB): S3
    serves them as the same CSV, gzip-encoded (as they are stored), which HTTP clients
    undo. None for smaller ones, which the app streams itself. The size that counts is
    the CSV's as sent (the worker records it in the object's metadata), not the stored
    one: counts compress tenfold or more. Without it recorded, the link is the safe way."""

    def link(owner_id: str) -> str | None:
        key = stored_counts_key(owner_id)
        try:
            if _inline_size(store.head(key).metadata.get(COUNTS_SIZE_METADATA)):
                return None
        except NoSuchKey:
            return None  # the stream answers 404
        with translated(f"signing a download of s3://{store.bucket}/{key}"):
            return s3.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": store.bucket,
                    "Key": key,
                    "ResponseContentType": COUNTS_MEDIA_TYPE,
                    "ResponseContentEncoding": "gzip",
                    "ResponseContentDisposition": counts_disposition(owner_id),
                },
                ExpiresIn=COUNTS_LINK_EXPIRY_S,
            )

    return link


def _inline_size(recorded: str | None) -> bool:
    text = recorded or ""
    return text.isascii() and text.isdigit() and int(text) <= INLINE_COUNTS_BYTES


def _required(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise ConfigError(f"missing configuration: {name}")
    return value
