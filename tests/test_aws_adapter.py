"""The AWS adapter beyond the port contract: sessions and roles, stack outputs, the
translation of boto errors, and backends for a single role."""

from __future__ import annotations

import io
import json
import pickle
from collections.abc import Callable

import boto3
import pytest
from botocore.config import Config
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ReadTimeoutError,
)
from botocore.stub import Stubber
from structlog.testing import capture_logs
from wordfreq_service.adapters.aws import (
    DynamoJobStore,
    S3Store,
    SqsQueue,
    make_session,
    open_aws,
    stack_outputs,
)
from wordfreq_service.adapters.aws import session as session_module
from wordfreq_service.adapters.aws.boto_errors import translate
from wordfreq_service.adapters.aws.clients import dynamodb_client, sqs_client
from wordfreq_service.adapters.aws.sqs_queue import _max_receive_count
from wordfreq_service.config import BackendSpec
from wordfreq_service.errors import (
    BackendError,
    ConfigError,
    NoSuchKey,
    NoSuchQueue,
    ReceiptHandleInvalid,
    TransientError,
)
from wordfreq_service.ports import JobRecord, JobState

from tests.aws_fixtures import AwsStack


def _client_error(code: str, status: int = 400, message: str = "") -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {
                "HTTPStatusCode": status,
                "HTTPHeaders": {},
                "HostId": "",
                "RequestId": "",
                "RetryAttempts": 0,
            },
        },
        "Operation",
    )


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (_client_error("NoSuchKey", 404), NoSuchKey),
        (_client_error("404", 404), NoSuchKey),
        (_client_error("ReceiptHandleIsInvalid"), ReceiptHandleInvalid),
        (
            _client_error("InvalidParameterValue", message="The receipt handle has expired"),
            ReceiptHandleInvalid,
        ),
        (_client_error("AWS.SimpleQueueService.NonExistentQueue"), NoSuchQueue),
        (_client_error("QueueDoesNotExist"), NoSuchQueue),
        (_client_error("ThrottlingException"), TransientError),
        (_client_error("SlowDown", 503), TransientError),
        (_client_error("Whatever", 500), TransientError),
        (_client_error("Whatever", 429), TransientError),
        (_client_error("AccessDenied", 403), BackendError),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), TransientError),
        (ReadTimeoutError(endpoint_url="http://127.0.0.1:1"), TransientError),
        (NoCredentialsError(), ConfigError),
        (NoRegionError(), ConfigError),
    ],
)
def test_boto_errors_are_translated(exc: Exception, expected: type[Exception]) -> None:
    translated = translate(exc, "testing")
    assert type(translated) is expected
    assert "testing" in str(translated)


def test_access_denied_is_not_transient() -> None:
    assert not isinstance(translate(_client_error("AccessDenied", 403), "x"), TransientError)


def test_unreachable_endpoint_is_transient(moto_endpoint: str) -> None:
    client = boto3.Session().client(
        "sqs",
        endpoint_url="http://127.0.0.1:1",
        config=Config(connect_timeout=1, retries={"max_attempts": 1}),
    )
    with pytest.raises(TransientError) as caught:
        SqsQueue(client, "http://127.0.0.1:1/123456789012/nowhere").send("x")
    assert isinstance(caught.value.__cause__, EndpointConnectionError)


def test_missing_queue_is_no_such_queue(aws_session: boto3.Session, moto_endpoint: str) -> None:
    queue = SqsQueue(aws_session.client("sqs"), f"{moto_endpoint}/123456789012/no-such-queue")
    with pytest.raises(NoSuchQueue):
        queue.send("x")


def test_assumed_role_credentials_refresh_through_sts(
    aws_stack: AwsStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # STS's shortest session (15 min) is inside botocore's refresh window, so every
    # use of the credentials renews them: a refresh we can watch without waiting.
    monkeypatch.setattr(session_module, "ROLE_SESSION_SECONDS", 900)
    with capture_logs() as logs:
        session = make_session(role_arn=aws_stack.submit_role_arn)
        backend = open_aws(
            bucket=aws_stack.bucket,
            work_queue_url=None,
            result_queue_url=aws_stack.result_queue_url,
            session=session,
        )
        backend.store.put("as-submitter.txt", io.BytesIO(b"hello"))
        backend.store.put("again.txt", io.BytesIO(b"hello"))

    credentials = session.get_credentials()
    assert isinstance(credentials, RefreshableCredentials)
    assert credentials.get_frozen_credentials().access_key != "testing"
    events = [entry["event"] for entry in logs]
    assert events.count("Creating new role provider for role") == 1
    assert events.count("Requesting config from STS") >= 2
    assert all(e.get("role_arn") == aws_stack.submit_role_arn for e in logs)


def test_session_without_role_uses_standard_configuration(moto_endpoint: str) -> None:
    session = make_session()
    assert session.region_name == "us-east-1"  # from AWS_DEFAULT_REGION
    assert make_session(region="eu-west-1").region_name == "eu-west-1"


def test_stack_outputs(aws_session: boto3.Session, moto_endpoint: str) -> None:
    template = {
        "Resources": {"Bucket": {"Type": "AWS::S3::Bucket"}},
        "Outputs": {
            "bucketName": {"Value": {"Ref": "Bucket"}},
            "resultQueueUrl": {"Value": "https://sqs.example/results"},
            "submitRoleArn": {"Value": "arn:aws:iam::123456789012:role/submit"},
        },
    }
    aws_session.client("cloudformation").create_stack(
        StackName="wordfreq-outputs", TemplateBody=json.dumps(template)
    )
    outputs = stack_outputs(aws_session, "wordfreq-outputs")
    assert outputs["resultQueueUrl"] == "https://sqs.example/results"
    assert outputs["submitRoleArn"] == "arn:aws:iam::123456789012:role/submit"
    assert outputs["bucketName"]


def test_stack_outputs_of_a_missing_stack(aws_session: boto3.Session) -> None:
    with pytest.raises(ConfigError, match="no-such-stack"):
        stack_outputs(aws_session, "no-such-stack")


def test_a_client_backend_refuses_worker_operations(
    aws_stack: AwsStack, aws_session: boto3.Session
) -> None:
    backend = open_aws(
        bucket=aws_stack.bucket,
        work_queue_url=None,
        result_queue_url=aws_stack.result_queue_url,
        session=aws_session,
    )
    with pytest.raises(ConfigError, match="work queue"):
        backend.work_queue.receive()
    assert backend.work_queue.url == ""
    assert backend.result_queue.receive() == []


def test_a_worker_backend_reads_any_notifying_bucket(
    aws_stack: AwsStack, aws_session: boto3.Session
) -> None:
    backend = open_aws(
        bucket=None,
        work_queue_url=aws_stack.work_queue_url,
        result_queue_url=aws_stack.result_queue_url,
        session=aws_session,
    )
    with pytest.raises(ConfigError, match="bucket"):
        backend.store.put("x", io.BytesIO(b""))
    store = backend.store_for(aws_stack.bucket)
    assert isinstance(store, S3Store) and store.bucket == aws_stack.bucket
    with pytest.raises(NoSuchKey):
        store.head("not-there")


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (None, None),
        ("", None),
        ('{"deadLetterTargetArn": "arn:aws:sqs:us-east-1:1:dlq", "maxReceiveCount": "5"}', 5),
        ('{"deadLetterTargetArn": "arn:aws:sqs:us-east-1:1:dlq", "maxReceiveCount": 3}', 3),
    ],
)
def test_redrive_policy_gives_the_max_receive_count(policy: str | None, expected: int) -> None:
    assert _max_receive_count(policy, "https://queue") == expected


@pytest.mark.parametrize("policy", ["not json", "{}", '{"maxReceiveCount": "many"}', "[]"])
def test_unreadable_redrive_policy_is_a_backend_error(policy: str) -> None:
    with pytest.raises(BackendError, match="https://queue: unreadable RedrivePolicy"):
        _max_receive_count(policy, "https://queue")


def test_redrive_policy_is_read_once_per_ttl(
    aws_stack: AwsStack, aws_session: boto3.Session
) -> None:
    client = sqs_client(aws_session)
    queue = SqsQueue(client, aws_stack.work_queue_url)
    calls: list[str] = []
    client.meta.events.register(
        "before-call.sqs.GetQueueAttributes", lambda **_: calls.append("call")
    )
    assert [queue.max_receive_count() for _ in range(3)] == [5, 5, 5]
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ProvisionedThroughputExceededException", 400),
        ("ThrottlingException", 400),
        ("InternalServerError", 500),
        ("ServiceUnavailable", 503),
    ],
)
def test_job_table_throttling_and_server_errors_are_transient(code: str, status: int) -> None:
    # Stubbed responses skip botocore's retries: this is what a caller sees once they
    # have run out.
    session = boto3.Session(
        region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    client = dynamodb_client(session)
    store = DynamoJobStore(client, "jobs")
    calls: list[tuple[str, Callable[[], object]]] = [
        ("get_item", lambda: store.get("f" * 32)),
        ("update_item", lambda: store.advance("f" * 32, JobState.DONE, result="{}")),
        ("put_item", lambda: store.create(_job_record())),
        ("get_item", store.ping),
    ]
    with Stubber(client) as stub:
        for operation, call in calls:
            stub.add_client_error(operation, service_error_code=code, http_status_code=status)
            with pytest.raises(TransientError, match="jobs"):
                call()


def _job_record() -> JobRecord:
    return JobRecord(
        job_id="f" * 32,
        key="jobs/" + "f" * 32,
        options={},
        size=1,
        token_hash="0" * 64,
        state=JobState.WAITING_FOR_UPLOAD,
        created_at=1.0,
        updated_at=1.0,
        expires_at=2.0,
    )


def test_a_missing_job_table_is_a_plain_backend_error(aws_session: boto3.Session) -> None:
    store = DynamoJobStore(dynamodb_client(aws_session), "no-such-table")
    with pytest.raises(BackendError, match="no-such-table") as caught:
        store.get("f" * 32)
    assert not isinstance(caught.value, TransientError)


def test_the_api_backend_has_the_bucket_and_the_job_table(
    aws_stack: AwsStack, aws_session: boto3.Session
) -> None:
    """What the API's role opens: no queues, a job store on the stack's table."""
    backend = open_aws(
        bucket=aws_stack.bucket,
        work_queue_url=None,
        result_queue_url=None,
        session=aws_session,
        job_table=aws_stack.job_table,
    )
    assert isinstance(backend.jobs, DynamoJobStore)
    assert backend.jobs.table == aws_stack.job_table
    backend.jobs.ping()
    assert (
        open_aws(bucket=aws_stack.bucket, work_queue_url=None, result_queue_url=None).jobs is None
    )


def test_a_backend_spec_carries_the_job_table(aws_stack: AwsStack) -> None:
    spec = BackendSpec(
        kind="aws",
        work_queue_url=aws_stack.work_queue_url,
        result_queue_url=aws_stack.result_queue_url,
        job_table=aws_stack.job_table,
    )
    jobs = pickle.loads(pickle.dumps(spec)).open().jobs
    assert isinstance(jobs, DynamoJobStore) and jobs.table == aws_stack.job_table
