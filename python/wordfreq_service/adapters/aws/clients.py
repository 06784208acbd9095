"""The botocore client settings every wordfreq AWS client uses.

Endpoints come from boto3's standard configuration only (``AWS_ENDPOINT_URL``,
``AWS_ENDPOINT_URL_S3``, ``AWS_ENDPOINT_URL_SQS``, ``AWS_ENDPOINT_URL_DYNAMODB``,
profiles): nothing here knows
whether it talks to AWS or to an emulator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

from wordfreq_service.adapters.aws.boto_errors import translated

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

#: The read timeout must outlast SQS's 20 s long poll, or every idle poll would fail.
CLIENT_CONFIG = Config(
    connect_timeout=5,
    read_timeout=30,
    retries={"mode": "standard", "max_attempts": 5},
    # Worker pools long-poll from many threads at once through one client.
    max_pool_connections=32,
)


#: SigV4 for every S3 request, pre-signed URLs included: botocore otherwise presigns
#: with SigV2 (in every region, on its global endpoint), whose signature does not cover
#: Content-Length and which puts the ``x-amz-meta-*`` values in the query string: an
#: upload URL would bind neither the size nor the options as headers.
S3_CONFIG = CLIENT_CONFIG.merge(Config(signature_version="s3v4"))


def s3_client(session: boto3.Session) -> S3Client:
    with translated("creating the S3 client"):
        return session.client("s3", config=S3_CONFIG)


def sqs_client(session: boto3.Session) -> SQSClient:
    with translated("creating the SQS client"):
        return session.client("sqs", config=CLIENT_CONFIG)


def dynamodb_client(session: boto3.Session) -> DynamoDBClient:
    with translated("creating the DynamoDB client"):
        return session.client("dynamodb", config=CLIENT_CONFIG)


def cloudformation_client(session: boto3.Session) -> CloudFormationClient:
    with translated("creating the CloudFormation client"):
        return session.client("cloudformation", config=CLIENT_CONFIG)
