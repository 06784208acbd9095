"""Least-privilege permissions of the workers, the job API and the submitter role.

Explicit statements rather than the `grant_*` helpers, which add wildcard actions such as
`s3:GetObject*`, `s3:List*` or `s3:Abort*`.
"""

from __future__ import annotations

import re

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from wordfreq_service.formats.corpus import CORPORA_PREFIX
from wordfreq_service.formats.jobs import JOB_KEY_PREFIX, RESULTS_PREFIX

# Consuming a queue: the submitter collects results with these.
CONSUME_ACTIONS = [
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
]
# What the worker does with a job's record: read it, then move it along (running, done).
WORKER_TABLE_ACTIONS = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
# What the API does with a job's record: create it, read it, mark its upload as accepted;
# and with a corpus job's: create it, read its members in batches, mark it merged.
API_TABLE_ACTIONS = [
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:BatchGetItem",
]
_ACCOUNT_ID = re.compile(r"^\d{12}$")


def grant_worker(
    role: iam.IRole,
    *,
    bucket: s3.IBucket,
    work_queue: sqs.IQueue,
    result_queue: sqs.IQueue,
    job_table: dynamodb.ITable,
    cluster: ecs.ICluster,
) -> None:
    """What the worker needs beyond consuming the work queue (granted with the queue).

    It reads and then deletes each uploaded object, sends a compatible-path upload's counts
    to the result queue, records a job-path upload's in the job table and its full counts
    under `results/`, and protects its own task from scale-in while it holds a job.
    A big object is split into range tasks sent to the work queue; each range is a
    ranged `s3:GetObject`, its counts go under `results/parts/` (put, then read and
    deleted by the merge: the reading and deleting grants cover every object), and the
    parts' progress is an item of the job table (`UpdateItem`, `GetItem`).
    """
    tasks_of_cluster = Stack.of(cluster).format_arn(
        service="ecs",
        resource="task",
        resource_name=f"{cluster.cluster_name}/*",
        arn_format=ArnFormat.SLASH_RESOURCE_NAME,
    )
    for statement in (
        iam.PolicyStatement(
            sid="ReadAndDeleteUploads",
            actions=["s3:GetObject", "s3:DeleteObject"],
            resources=[bucket.arn_for_objects("*")],
        ),
        iam.PolicyStatement(
            sid="SendResults", actions=["sqs:SendMessage"], resources=[result_queue.queue_arn]
        ),
        iam.PolicyStatement(
            sid="SendRangeTasks", actions=["sqs:SendMessage"], resources=[work_queue.queue_arn]
        ),
        iam.PolicyStatement(
            sid="RecordJobs", actions=WORKER_TABLE_ACTIONS, resources=[job_table.table_arn]
        ),
        # Counts over the multipart threshold go up in parts; a failed upload aborts
        # its own parts rather than leave them to the bucket's one-day rule.
        iam.PolicyStatement(
            sid="StoreJobCounts",
            actions=["s3:PutObject", "s3:AbortMultipartUpload"],
            resources=[bucket.arn_for_objects(f"{RESULTS_PREFIX}*")],
        ),
        iam.PolicyStatement(
            sid="ProtectOwnTask",
            actions=["ecs:UpdateTaskProtection"],
            resources=[tasks_of_cluster],
        ),
    ):
        role.add_to_principal_policy(statement)


class ApiRole(Construct):
    """The job API function's role: sign uploads, keep job records, read results and its key,
    store corpus jobs' merged counts.

    Nothing else: no queue, no listing, no reading of uploads. A pre-signed URL acts with its
    signer's permissions, so `s3:PutObject` on `jobs/*` is what lets clients upload there.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        job_table: dynamodb.ITable,
        api_key: secretsmanager.ISecret,
        log_group: logs.ILogGroup,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            description="The wordfreq job API: signs uploads, keeps job records, reads results",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        )
        for statement in (
            iam.PolicyStatement(
                sid="SignUploads",
                actions=["s3:PutObject"],
                resources=[bucket.arn_for_objects(f"{JOB_KEY_PREFIX}*")],
            ),
            iam.PolicyStatement(
                sid="ReadJobCounts",
                actions=["s3:GetObject"],
                resources=[bucket.arn_for_objects(f"{RESULTS_PREFIX}*")],
            ),
            # A corpus job's merged counts and result, stored once its members have
            # ended; large counts go up in parts, and a failed upload aborts its own.
            # Only under results/corpora/: the API must not overwrite a job's counts.
            iam.PolicyStatement(
                sid="StoreCorpusCounts",
                actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                resources=[bucket.arn_for_objects(f"{CORPORA_PREFIX}*")],
            ),
            iam.PolicyStatement(
                sid="KeepJobs", actions=API_TABLE_ACTIONS, resources=[job_table.table_arn]
            ),
            iam.PolicyStatement(
                sid="ReadApiKey",
                actions=["secretsmanager:GetSecretValue"],
                resources=[api_key.secret_arn],
            ),
            # Its own log group only (CloudFormation's ARN of a log group ends in `:*`, its
            # streams); Lambda's basic execution policy would allow every log group.
            iam.PolicyStatement(
                sid="WriteOwnLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[log_group.log_group_arn],
            ),
        ):
            self.role.add_to_principal_policy(statement)


class SubmitterRole(Construct):
    """The role `wordfreq submit` assumes: upload files, collect results, nothing else."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        result_queue: sqs.IQueue,
        principal: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            description="Uploads files to the wordfreq bucket and collects their results",
            assumed_by=submitter_principal(principal),
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="UploadFiles",
                # Large files go up in parts; an upload that fails midway aborts its parts
                # rather than leave them to the bucket's one-day lifecycle rule.
                actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                resources=[bucket.arn_for_objects("*")],
            )
        )
        # The job path's prefixes are the service's: objects there are created only with
        # the API's signed URLs (jobs/) and by the workers (results/), so a compatible-path
        # client cannot plant an upload for someone's job or overwrite its counts.
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="KeepOffJobPrefixes",
                effect=iam.Effect.DENY,
                actions=["s3:PutObject"],
                resources=[
                    bucket.arn_for_objects(f"{JOB_KEY_PREFIX}*"),
                    bucket.arn_for_objects(f"{RESULTS_PREFIX}*"),
                ],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="CollectResults",
                actions=CONSUME_ACTIONS,
                resources=[result_queue.queue_arn],
            )
        )


def submitter_principal(principal: str | None) -> iam.IPrincipal:
    """The account itself by default; else an account ID or an IAM ARN from the context."""
    if principal is None:
        return iam.AccountRootPrincipal()
    if _ACCOUNT_ID.match(principal):
        return iam.AccountPrincipal(principal)
    if principal.startswith("arn:"):
        return iam.ArnPrincipal(principal)
    raise ValueError(
        f"submitterPrincipal must be a 12-digit account ID or an IAM ARN, got {principal!r}"
    )
