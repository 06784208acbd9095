"""The AWS backend: S3 and SQS through boto3, with STS for an assumed role."""

from wordfreq.adapters.aws.backend import open_aws
from wordfreq.adapters.aws.clients import CLIENT_CONFIG
from wordfreq.adapters.aws.s3_store import S3ObjectReader, S3Store
from wordfreq.adapters.aws.session import make_session, stack_outputs
from wordfreq.adapters.aws.sqs_queue import SqsQueue
from wordfreq.adapters.aws.unconfigured import UnconfiguredQueue, UnconfiguredStore

__all__ = [
    "CLIENT_CONFIG",
    "S3ObjectReader",
    "S3Store",
    "SqsQueue",
    "UnconfiguredQueue",
    "UnconfiguredStore",
    "make_session",
    "open_aws",
    "stack_outputs",
]
