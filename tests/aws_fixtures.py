"""Pytest fixtures over the stand-in AWS account of ``tools/local_aws.py``.

``moto_endpoint`` starts moto once per test session on 127.0.0.1 and points boto3 at it
through the standard environment (fake credentials, ``AWS_ENDPOINT_URL``), so the code
under test runs unchanged; ``aws_stack`` builds a fresh set of the stack's resources
(bucket notifying a work queue, dead-letter queue, result queue, job table,
submitter role).
"""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from wordfreq_service.adapters.aws import open_aws
from wordfreq_service.ports import Backend

from tools.local_aws import (
    CLEARED_ENV,
    REGION,
    AwsStack,
    client_env,
    create_aws_stack,
    create_job_table,
    create_queue_with_dead_letter,
    moto_server,
)

__all__ = [
    "AwsStack",
    "create_aws_stack",
    "create_job_table",
    "create_queue_with_dead_letter",
    "open_stack",
]


def open_stack(stack: AwsStack, session: boto3.Session) -> Backend:
    """The AWS backend over every resource of ``stack``, as a worker on it opens it."""
    return open_aws(
        bucket=stack.bucket,
        work_queue_url=stack.work_queue_url,
        result_queue_url=stack.result_queue_url,
        dead_letter_queue_url=stack.dead_letter_queue_url,
        session=session,
        job_table=stack.job_table,
    )


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """The URL of a moto server for this session; boto3 is configured to use it."""
    with moto_server() as endpoint, pytest.MonkeyPatch.context() as env:
        for name in CLEARED_ENV:
            env.delenv(name, raising=False)
        for name, value in client_env(endpoint).items():
            env.setenv(name, value)
        yield endpoint


@pytest.fixture(scope="session")
def aws_session(moto_endpoint: str) -> boto3.Session:
    """One session for the test session: clients from a shared session skip reloading
    the service models (~0.1 s each)."""
    return boto3.Session(region_name=REGION)


@pytest.fixture
def aws_stack(moto_endpoint: str, aws_session: boto3.Session) -> AwsStack:
    """A fresh stack per test."""
    return create_aws_stack(moto_endpoint, session=aws_session)
