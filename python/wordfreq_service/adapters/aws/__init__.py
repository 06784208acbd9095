"""The AWS backend: S3, SQS and DynamoDB through boto3, with STS for an assumed role."""

from wordfreq_service.adapters.aws.backend import open_aws
from wordfreq_service.adapters.aws.clients import CLIENT_CONFIG
from wordfreq_service.adapters.aws.dynamo_jobs import DynamoJobStore
from wordfreq_service.adapters.aws.s3_store import S3ObjectReader, S3Store
from wordfreq_service.adapters.aws.session import make_session, read_secret, stack_outputs
from wordfreq_service.adapters.aws.sqs_queue import SqsQueue
from wordfreq_service.adapters.aws.unconfigured import UnconfiguredQueue, UnconfiguredStore

__all__ = [
    "CLIENT_CONFIG",
    "DynamoJobStore",
    "S3ObjectReader",
    "S3Store",
    "SqsQueue",
    "UnconfiguredQueue",
    "UnconfiguredStore",
    "make_session",
    "open_aws",
    "read_secret",
    "stack_outputs",
]
