"""A stand-in AWS account on loopback, for `make demo-aws` and the AWS tests.

``moto_server`` starts moto's S3/SQS/DynamoDB/STS/IAM server on 127.0.0.1;
``create_aws_stack`` builds in it what the CDK stack builds: a bucket notifying a work
queue (S3 -> SQS), the work queue's dead-letter queue (redrive after 5 receives), a
result queue, the job table (DynamoDB, TTL on ``expires_at``) and a submitter role.
moto is a test double: this lives in tools/, never in the product.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from wordfreq_service.adapters.aws.dynamo_jobs import KEY_ATTRIBUTE, TTL_ATTRIBUTE
from wordfreq_service.ports import (
    DEAD_LETTER_RETENTION_S,
    DEFAULT_MAX_RECEIVE_COUNT,
    DEFAULT_VISIBILITY_TIMEOUT_S,
    RESULT_QUEUE_RETENTION_S,
    WORK_QUEUE_RETENTION_S,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

REGION = "us-east-1"
FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    # Never read the developer's own profiles or credentials.
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}
CLEARED_ENV = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL_SQS",
    "AWS_ENDPOINT_URL_DYNAMODB",
)


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's server on a free loopback port; yields its endpoint URL."""
    import logging

    from moto.server import ThreadedMotoServer

    # The emulator's per-request access log would drown everything else.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def client_env(endpoint: str) -> dict[str, str]:
    """What a process needs to reach the stand-in account through boto3 alone."""
    return {**FAKE_ENV, "AWS_ENDPOINT_URL": endpoint}


@dataclass(frozen=True)
class AwsStack:
    """Names and addresses of one stack's resources."""

    endpoint: str
    region: str
    bucket: str
    work_queue_url: str
    work_queue_arn: str
    result_queue_url: str
    dead_letter_queue_url: str
    submit_role_arn: str
    #: The S3 notification's configuration ID, as it appears in event records.
    notification_id: str
    #: The DynamoDB job table.
    job_table: str


def create_aws_stack(
    endpoint: str,
    *,
    prefix: str = "wordfreq",
    visibility_timeout: int = DEFAULT_VISIBILITY_TIMEOUT_S,
    max_receive_count: int = DEFAULT_MAX_RECEIVE_COUNT,
    session: boto3.Session | None = None,
) -> AwsStack:
    """Create a fresh, uniquely named stack in the moto server at ``endpoint``."""
    session = session or boto3.Session(region_name=REGION)
    sqs = session.client("sqs", endpoint_url=endpoint)
    s3 = session.client("s3", endpoint_url=endpoint)
    dynamodb = session.client("dynamodb", endpoint_url=endpoint)
    # No type stubs for IAM are installed; this helper only makes two calls.
    iam: Any = session.client("iam", endpoint_url=endpoint)
    name = f"{prefix}-{uuid.uuid4().hex[:12]}"

    work_url, dead_letter_url = create_queue_with_dead_letter(
        endpoint,
        prefix=f"{name}-work",
        visibility_timeout=visibility_timeout,
        max_receive_count=max_receive_count,
        session=session,
    )
    result_url = _queue(sqs, f"{name}-results", RESULT_QUEUE_RETENTION_S)

    s3.create_bucket(Bucket=name)
    notification_id = "wordfreq-uploads"
    # moto, like S3, sends s3:TestEvent to the queue as soon as this is set.
    s3.put_bucket_notification_configuration(
        Bucket=name,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "Id": notification_id,
                    "QueueArn": _arn(sqs, work_url),
                    "Events": ["s3:ObjectCreated:*"],
                }
            ]
        },
    )

    job_table = create_job_table(dynamodb, f"{name}-jobs")

    role = iam.create_role(
        RoleName=f"{name}-submit",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )
    iam.put_role_policy(
        RoleName=f"{name}-submit",
        PolicyName="submit",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "s3:PutObject",
                        "Resource": f"arn:aws:s3:::{name}/*",
                    },
                    {
                        "Effect": "Allow",
                        "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage"],
                        "Resource": _arn(sqs, result_url),
                    },
                ],
            }
        ),
    )
    return AwsStack(
        endpoint=endpoint,
        region=REGION,
        bucket=name,
        work_queue_url=work_url,
        work_queue_arn=_arn(sqs, work_url),
        result_queue_url=result_url,
        dead_letter_queue_url=dead_letter_url,
        submit_role_arn=str(role["Role"]["Arn"]),
        notification_id=notification_id,
        job_table=job_table,
    )


def create_job_table(dynamodb: DynamoDBClient, name: str) -> str:
    """The job table as the stack has it: on-demand, keyed by job ID, TTL on the
    expiry; returns its name."""
    dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": KEY_ATTRIBUTE, "AttributeType": "S"}],
        KeySchema=[{"AttributeName": KEY_ATTRIBUTE, "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.get_waiter("table_exists").wait(
        TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    dynamodb.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    )
    return name


def _queue(sqs: SQSClient, name: str, retention_s: int, **attributes: str) -> str:
    # Any: the stubs type attribute names as literals, which **attributes cannot carry.
    merged: Any = {"MessageRetentionPeriod": str(retention_s), **attributes}
    return sqs.create_queue(QueueName=name, Attributes=merged)["QueueUrl"]


def _arn(sqs: SQSClient, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]


def create_queue_with_dead_letter(
    endpoint: str,
    *,
    prefix: str = "wordfreq",
    visibility_timeout: int = DEFAULT_VISIBILITY_TIMEOUT_S,
    max_receive_count: int = DEFAULT_MAX_RECEIVE_COUNT,
    retention_s: int = WORK_QUEUE_RETENTION_S,
    session: boto3.Session | None = None,
) -> tuple[str, str]:
    """A queue redriving to a fresh dead-letter queue, without any bucket: the URLs of
    (queue, dead-letter queue)."""
    sqs = (session or boto3.Session(region_name=REGION)).client("sqs", endpoint_url=endpoint)
    name = f"{prefix}-{uuid.uuid4().hex[:12]}"
    dead_letter_url = _queue(sqs, f"{name}-dead-letter", DEAD_LETTER_RETENTION_S)
    url = _queue(
        sqs,
        name,
        retention_s,
        VisibilityTimeout=str(visibility_timeout),
        RedrivePolicy=json.dumps(
            {
                "deadLetterTargetArn": _arn(sqs, dead_letter_url),
                "maxReceiveCount": max_receive_count,
            }
        ),
    )
    return url, dead_letter_url
