"""Open the AWS backend: S3 for objects, SQS for the queues, DynamoDB for the jobs."""

from __future__ import annotations

import boto3

from wordfreq_service.adapters.aws.clients import dynamodb_client, s3_client, sqs_client
from wordfreq_service.adapters.aws.dynamo_jobs import DynamoJobStore
from wordfreq_service.adapters.aws.s3_store import S3Store
from wordfreq_service.adapters.aws.session import make_session
from wordfreq_service.adapters.aws.sqs_queue import SqsQueue
from wordfreq_service.adapters.aws.unconfigured import UnconfiguredQueue, UnconfiguredStore
from wordfreq_service.ports import Backend, MessageQueue, ObjectStore


def open_aws(
    *,
    bucket: str | None,
    work_queue_url: str | None,
    result_queue_url: str | None,
    dead_letter_queue_url: str | None = None,
    session: boto3.Session | None = None,
    region: str | None = None,
    job_table: str | None = None,
) -> Backend:
    """The AWS backend. Each role configures what it uses: a client the bucket and the
    result queue, a worker the work and result queues (it reads whichever bucket an
    event names). What is None is a stand-in raising ConfigError when used, except
    ``job_table``: without it the backend has no job store (``Backend.jobs`` is None:
    the compatible path only). ``region`` only matters without ``session``."""
    session = session or make_session(region=region)
    s3 = s3_client(session)
    sqs = sqs_client(session)

    def queue(url: str | None, role: str) -> MessageQueue:
        return SqsQueue(sqs, url) if url else UnconfiguredQueue(role)

    def open_store(name: str) -> ObjectStore:
        return S3Store(s3, name)

    return Backend(
        store=S3Store(s3, bucket) if bucket else UnconfiguredStore(),
        work_queue=queue(work_queue_url, "work"),
        result_queue=queue(result_queue_url, "result"),
        dead_letter_queue=SqsQueue(sqs, dead_letter_queue_url) if dead_letter_queue_url else None,
        name="aws",
        open_store=open_store,
        jobs=DynamoJobStore(dynamodb_client(session), job_table) if job_table else None,
    )
