"""A stand-in AWS account on loopback, for `make demo-aws` and the AWS tests.

Starts moto's S3/SQS/STS/IAM server on 127.0.0.1 and creates what the CDK stack would:
the upload bucket, the work queue with its dead-letter queue (redrive after 5 receives),
the result queue, the bucket's ObjectCreated notification to the work queue, and a
submitter role. moto is a test double: this lives in tools/, never in the product.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3

FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


@dataclass(frozen=True)
class LocalStack:
    endpoint: str
    bucket: str
    work_queue_url: str
    result_queue_url: str
    dead_letter_queue_url: str
    submitter_role_arn: str

    def env(self) -> dict[str, str]:
        """What a process needs to reach this stand-in account through boto3 alone."""
        return {**FAKE_ENV, "AWS_ENDPOINT_URL": self.endpoint}


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's server on a free loopback port; yields its endpoint URL."""
    import logging

    from moto.server import ThreadedMotoServer

    # The emulator's per-request access log would drown the demo's output.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def provision(endpoint: str, name: str = "wordfreq") -> LocalStack:
    """Create the stack's resources under ``name`` in the account behind ``endpoint``."""
    kw: dict[str, Any] = {
        "endpoint_url": endpoint,
        "region_name": FAKE_ENV["AWS_DEFAULT_REGION"],
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    sqs = boto3.client("sqs", **kw)
    s3 = boto3.client("s3", **kw)
    iam = boto3.client("iam", **kw)
    dlq = sqs.create_queue(
        QueueName=f"{name}-dead-letter", Attributes={"MessageRetentionPeriod": "1209600"}
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    work = sqs.create_queue(
        QueueName=f"{name}-work",
        Attributes={
            "MessageRetentionPeriod": "345600",
            "VisibilityTimeout": "30",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}),
        },
    )["QueueUrl"]
    work_arn = sqs.get_queue_attributes(QueueUrl=work, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    result = sqs.create_queue(
        QueueName=f"{name}-results", Attributes={"MessageRetentionPeriod": "7200"}
    )["QueueUrl"]
    bucket = f"{name}-uploads"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": work_arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = iam.create_role(RoleName=f"{name}-submitter", AssumeRolePolicyDocument=json.dumps(trust))
    return LocalStack(endpoint, bucket, work, result, dlq, role["Role"]["Arn"])


def apply_env(stack: LocalStack) -> None:
    os.environ.update(stack.env())
