"""botocore's and boto3's exceptions, translated to wordfreq's at the adapter boundary.

Callers see only :mod:`wordfreq_service.errors`: a missing object or queue, a stale receipt
handle, "try again later" (connection failures, throttling, 5xx), or a plain
:class:`BackendError` for the rest (AccessDenied among them: retrying will not help).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from boto3.exceptions import Boto3Error
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    CredentialRetrievalError,
    HTTPClientError,
    IncompleteReadError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ResponseStreamingError,
)

from wordfreq_service.errors import (
    BackendError,
    ConfigError,
    NoSuchKey,
    NoSuchQueue,
    ReceiptHandleInvalid,
    TransientError,
    WordfreqError,
)

_NO_SUCH_KEY = {"NoSuchKey", "404", "NotFound"}
_NO_SUCH_QUEUE = {
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "NonExistentQueue",
}
_STALE_RECEIPT = {"ReceiptHandleIsInvalid", "InvalidReceiptHandle", "MessageNotInflight"}
# The codes botocore's standard retry mode treats as throttling or transient; seeing one
# here means its retries ran out.
_TRY_LATER = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "RequestThrottled",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "SlowDown",
    "PriorRequestNotComplete",
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalError",
    "ServiceUnavailable",
    "AWS.SimpleQueueService.ServiceUnavailable",
    "KMS.ThrottlingException",
}
_NOT_CONFIGURED = (NoCredentialsError, PartialCredentialsError, NoRegionError, ProfileNotFound)
_NETWORK = (ConnectionError, HTTPClientError, IncompleteReadError, ResponseStreamingError)


def translate(exc: Exception, doing: str) -> WordfreqError:
    """The wordfreq error for a boto exception raised while ``doing`` something."""
    if isinstance(exc, ClientError):
        return _client_error(exc, doing)
    if isinstance(exc, _NOT_CONFIGURED):
        return ConfigError(f"{doing}: {exc}")
    if isinstance(exc, _NETWORK):
        return TransientError(f"{doing}: {exc}")
    if isinstance(exc, CredentialRetrievalError):
        return BackendError(f"{doing}: {exc}")
    # boto3's transfer errors wrap the ClientError that caused them.
    cause = exc.__cause__ or exc.__context__
    if isinstance(exc, Boto3Error) and isinstance(cause, (ClientError, BotoCoreError)):
        return translate(cause, doing)
    return BackendError(f"{doing}: {exc}")


@contextmanager
def translated(doing: str) -> Iterator[None]:
    """Re-raise boto exceptions from the block as wordfreq errors (``from`` the original)."""
    try:
        yield
    except (ClientError, BotoCoreError, Boto3Error) as exc:
        raise translate(exc, doing) from exc


def _client_error(exc: ClientError, doing: str) -> BackendError:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = f"{doing}: {code or 'error'}: {error.get('Message', '') or exc}"
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    if code in _NO_SUCH_KEY:
        return NoSuchKey(message)
    if code in _NO_SUCH_QUEUE:
        return NoSuchQueue(message)
    if code in _STALE_RECEIPT or (
        code == "InvalidParameterValue" and "receipt" in str(error.get("Message", "")).lower()
    ):
        return ReceiptHandleInvalid(message)
    if code in _TRY_LATER or status == 429 or status >= 500:
        return TransientError(message)
    return BackendError(message)
