"""Least-privilege permissions of the workers and of the submitter role.

Explicit statements rather than the `grant_*` helpers, which add wildcard actions such as
`s3:GetObject*`, `s3:List*` or `s3:Abort*`.
"""

from __future__ import annotations

import re

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

# Consuming a queue: the submitter collects results with these.
CONSUME_ACTIONS = [
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
]
_ACCOUNT_ID = re.compile(r"^\d{12}$")


def grant_worker(
    role: iam.IRole,
    *,
    bucket: s3.IBucket,
    result_queue: sqs.IQueue,
    cluster: ecs.ICluster,
) -> None:
    """What the worker needs beyond consuming the work queue (which the ECS pattern grants).

    It reads and then deletes each uploaded object, sends its counts to the result queue,
    and protects its own task from scale-in while it holds a job.
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
            sid="ProtectOwnTask",
            actions=["ecs:UpdateTaskProtection"],
            resources=[tasks_of_cluster],
        ),
    ):
        role.add_to_principal_policy(statement)


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
