"""The job API's settings, and the environment they are read from on AWS.

The CDK app sets these variables on the API's Lambda function (it imports the names
from here); ``wordfreq api``/``wordfreq up`` take the same settings as flags.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from wordfreq_service.service.jobs import DEFAULT_MAX_UPLOAD_BYTES

#: The bucket uploads go to (and ``results/`` is read from).
BUCKET_ENV: Final = "API_BUCKET"
#: The DynamoDB job table.
JOB_TABLE_ENV: Final = "API_JOB_TABLE"
#: The Secrets Manager secret holding the key ``POST /jobs`` requires.
API_KEY_SECRET_ENV: Final = "API_KEY_SECRET_ARN"
#: The largest upload ``POST /jobs`` accepts, in bytes.
MAX_UPLOAD_BYTES_ENV: Final = "API_MAX_UPLOAD_BYTES"
#: What a client sends as ``X-Api-Key`` (``wordfreq submit --api-key``; ``wordfreq api
#: --api-key`` to require one locally).
API_KEY_ENV: Final = "WORDFREQ_API_KEY"
#: The header carrying the API key.
API_KEY_HEADER: Final = "X-Api-Key"
#: The job table name's environment variable for the worker (``wordfreq worker``).
WORKER_JOB_TABLE_ENV: Final = "WORKER_JOB_TABLE"

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8000


@dataclass(frozen=True)
class ApiSettings:
    #: None: creating jobs needs no key (a local service on loopback). Out of the repr,
    #: so a logged traceback or error never shows it.
    api_key: str | None = field(default=None, repr=False)
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES


#: The deployed stack's outputs naming the API (``wordfreq submit --stack-name`` reads them).
API_URL_OUTPUT: Final = "apiUrl"
API_KEY_SECRET_OUTPUT: Final = "apiKeySecretArn"
