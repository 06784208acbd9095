"""The subjects of the contract suite: each fixture yields one per backend.

Every test here runs once per backend ("embedded": files and SQLite in a temporary
directory; "aws": S3, SQS and DynamoDB in an in-process moto server). A case that cannot hold for
a backend skips with the reason, never silently.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from wordfreq_service.adapters.aws import DynamoJobStore, SqsQueue
from wordfreq_service.adapters.aws.clients import dynamodb_client, sqs_client
from wordfreq_service.adapters.embedded import SqliteDatabase, SqliteQueue, open_embedded
from wordfreq_service.adapters.embedded.jobs import SqliteJobStore
from wordfreq_service.ports import Backend, JobStore, MessageQueue

from tests.aws_fixtures import (
    create_aws_stack,
    create_job_table,
    create_queue_with_dead_letter,
    open_stack,
)

BACKENDS = ["embedded", "aws"]
#: Queue tests hide messages for this long when they do not mean to see them again.
LONG_VISIBILITY_S = 30


@dataclass
class Queues:
    """A queue redriving to a dead-letter queue after 5 receives."""

    kind: str
    queue: MessageQueue
    dead_letter: MessageQueue
    #: Where the embedded queues live, for tests that open them in other processes.
    database: Path | None = None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "only_backend(kind, reason): run this contract case on one backend only"
    )


def _skip_unless_applicable(request: pytest.FixtureRequest) -> None:
    # Before any setup: an inapplicable case should not pay for a moto stack.
    marker = request.node.get_closest_marker("only_backend")
    if marker is not None and marker.args[0] != request.param:
        pytest.skip(f"{marker.args[0]} only: {marker.kwargs['reason']}")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    _skip_unless_applicable(request)
    if request.param == "embedded":
        yield open_embedded(tmp_path / "data")
        return
    session: boto3.Session = request.getfixturevalue("aws_session")
    stack = create_aws_stack(request.getfixturevalue("moto_endpoint"), session=session)
    yield open_stack(stack, session)


@pytest.fixture(params=BACKENDS)
def job_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JobStore]:
    """An empty job store: a table in a fresh SQLite database, or a fresh DynamoDB
    table (keyed and with TTL as the stack's)."""
    _skip_unless_applicable(request)
    if request.param == "embedded":
        db = SqliteDatabase(tmp_path / "jobs.sqlite3")
        db.initialize()
        yield SqliteJobStore(db)
        db.close()
        return
    client = dynamodb_client(request.getfixturevalue("aws_session"))
    yield DynamoJobStore(client, create_job_table(client, f"jobs-{uuid.uuid4().hex[:12]}"))


@pytest.fixture(params=BACKENDS)
def queues(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Queues]:
    _skip_unless_applicable(request)
    if request.param == "embedded":
        path = tmp_path / "queues.sqlite3"
        db = SqliteDatabase(path)
        db.initialize()
        dead_letter = SqliteQueue.create(db, "jobs-dead-letter")
        queue = SqliteQueue.create(
            db, "jobs", dead_letter_queue="jobs-dead-letter", visibility_timeout=LONG_VISIBILITY_S
        )
        yield Queues("embedded", queue, dead_letter, database=path)
        db.close()
        return
    session = request.getfixturevalue("aws_session")
    url, dead_letter_url = create_queue_with_dead_letter(
        request.getfixturevalue("moto_endpoint"),
        visibility_timeout=LONG_VISIBILITY_S,
        session=session,
    )
    client = sqs_client(session)
    yield Queues("aws", SqsQueue(client, url), SqsQueue(client, dead_letter_url))


#: The visibility timeout of ``short_queue``: a message received without a timeout of its
#: own comes back this soon.
SHORT_VISIBILITY_S = 1


@pytest.fixture(params=BACKENDS)
def short_queue(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MessageQueue]:
    """A queue whose own visibility timeout is ``SHORT_VISIBILITY_S``."""
    _skip_unless_applicable(request)
    if request.param == "embedded":
        db = SqliteDatabase(tmp_path / "queues.sqlite3")
        db.initialize()
        yield SqliteQueue.create(db, "short", visibility_timeout=SHORT_VISIBILITY_S)
        db.close()
        return
    session = request.getfixturevalue("aws_session")
    url, _ = create_queue_with_dead_letter(
        request.getfixturevalue("moto_endpoint"),
        visibility_timeout=SHORT_VISIBILITY_S,
        session=session,
    )
    yield SqsQueue(sqs_client(session), url)
