"""cdk-nag (AwsSolutions) findings this stack accepts, each with the reason it is accepted.

Everything else the checks report is an error that fails `cdk synth`.
"""

from __future__ import annotations

from aws_cdk import CfnElement, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import IConstruct
from wordfreq_service.formats.corpus import CORPORA_PREFIX
from wordfreq_service.formats.jobs import JOB_KEY_PREFIX, RESULTS_PREFIX

from wordfreq_infra.api import JobApi
from wordfreq_infra.workers import Workers


def suppress_accepted_findings(
    stack: Stack,
    *,
    bucket: s3.Bucket,
    results: sqs.Queue,
    workers: Workers,
    submitter: iam.Role,
    api: JobApi,
) -> None:
    bucket_arn = f"<{_logical_id(bucket)}.Arn>"
    objects = f"Resource::{bucket_arn}/*"
    job_uploads = f"Resource::{bucket_arn}/{JOB_KEY_PREFIX}*"
    job_counts = f"Resource::{bucket_arn}/{RESULTS_PREFIX}*"
    corpus_objects = f"Resource::{bucket_arn}/{CORPORA_PREFIX}*"
    _suppress(
        bucket,
        "AwsSolutions-S1",
        "Uploads are transient inputs: each object is deleted once counted and expires after"
        " 14 days. Requests are auditable with CloudTrail (S3 data events) where an account"
        " needs it; a second bucket only for access logs would outlive the data it describes.",
    )
    _suppress(
        results,
        "AwsSolutions-SQS3",
        "The result queue is read by the submitting client, which deletes what it reads;"
        " unread results expire after 2 hours by design. Nothing would consume a DLQ of it.",
    )
    _suppress(
        workers.vpc,
        "AwsSolutions-VPC7",
        "The VPC only hosts the workers: their security group has no inbound rule and they"
        " call AWS APIs only. Flow logs would add a log group and ingestion cost for no signal.",
    )
    _suppress(
        workers.task_definition,
        "AwsSolutions-ECS2",
        "The environment holds no secret: two queue URLs, the region, the debug flag and the"
        " drain timing, all from this stack's own resources and settings.",
    )
    _suppress(
        workers.task_definition.task_role,
        "AwsSolutions-IAM5",
        "Object-level S3 actions apply to keys chosen at upload time: the resource is every"
        " object of this stack's bucket only (and, to store a job's counts, every key under"
        " results/, named by job IDs made at run time). ecs:UpdateTaskProtection is scoped to"
        " the tasks of this stack's cluster; a task cannot know its own ARN at deploy time.",
        applies_to=[
            objects,
            job_counts,
            "Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/"
            f"<{_logical_id(workers.cluster)}>/*",
        ],
    )
    _suppress(
        submitter,
        "AwsSolutions-IAM5",
        "s3:PutObject applies to keys chosen by the uploader: every object of this stack's"
        " bucket only.",
        applies_to=[objects],
    )
    _suppress(
        api.role,
        "AwsSolutions-IAM5",
        "Job keys are made at run time (jobs/<job id>, results/<job id>.csv.gz,"
        " results/corpora/<corpus id>.*): the API may sign uploads under jobs/, read counts"
        " under results/ and store corpus jobs' merged counts under results/corpora/ of this"
        " stack's bucket, and no other object.",
        applies_to=[job_uploads, job_counts, corpus_objects],
    )
    _suppress(
        api.http_api,
        "AwsSolutions-APIG4",
        "The app authorizes every request itself: creating a job needs the stack's API key"
        " (X-Api-Key, from Secrets Manager), reading one needs that job's own random token,"
        " and GET / (the page) and /healthz are public by design. A gateway authorizer could"
        " check neither per-job tokens nor answer 404 for a wrong one.",
    )
    _suppress(
        api.api_key,
        "AwsSolutions-SMG4",
        "The API key is handed to people and scripts, not to a database that a rotation"
        " function could update in step; rotating it means redistributing it. Replace it on"
        " demand with `aws secretsmanager put-secret-value`.",
    )
    execution_role = workers.task_definition.execution_role
    assert execution_role is not None
    _suppress(
        execution_role,
        "AwsSolutions-IAM5",
        "ecr:GetAuthorizationToken supports no resource-level permission (Resource must be"
        " '*'); the image pull actions are scoped to the CDK assets repository.",
        applies_to=["Resource::*"],
    )
    for handler in _bucket_notification_handlers(stack):
        _suppress(
            handler,
            "AwsSolutions-IAM4",
            "CDK's own deploy-time handler that writes the bucket's notification configuration;"
            " the managed policy only lets it write its own CloudWatch logs.",
            applies_to=[
                "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AWSLambdaBasicExecutionRole"
            ],
        )


def _suppress(
    construct: IConstruct, rule: str, reason: str, *, applies_to: list[str] | None = None
) -> None:
    NagSuppressions.add_resource_suppressions(
        construct,
        [NagPackSuppression(id=rule, reason=reason, applies_to=applies_to)],
        apply_to_children=True,
    )


def _logical_id(construct: IConstruct) -> str:
    """The final logical ID of an L2's CloudFormation resource, as cdk-nag prints it."""
    resource = construct.node.default_child
    assert isinstance(resource, CfnElement)
    stack = Stack.of(construct)
    return str(stack.resolve(stack.get_logical_id(resource)))


def _bucket_notification_handlers(stack: Stack) -> list[IConstruct]:
    # A stack-wide singleton that s3.Bucket.add_event_notification creates.
    return [
        child
        for child in stack.node.children
        if child.node.id.startswith("BucketNotificationsHandler")
    ]
