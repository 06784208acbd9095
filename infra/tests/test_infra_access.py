"""Least privilege: the exact permissions of the worker task role, the job API's role and the
submitter role."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from infra_support import (
    Resources,
    Synthesized,
    allow,
    find,
    get_att,
    grants,
    objects_of,
    only,
    role_statements,
    synthesize,
)
from wordfreq_service.formats.corpus import CORPORA_PREFIX
from wordfreq_service.formats.jobs import JOB_KEY_PREFIX, RESULTS_PREFIX

CONSUME = [
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
]
ACCOUNT_ROOT = {
    "Fn::Join": [
        "",
        ["arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "AWS::AccountId"}, ":root"],
    ]
}


def _ids(resources: Resources) -> dict[str, str]:
    return {
        "bucket": only(resources, "AWS::S3::Bucket")[0],
        "work": only(resources, "AWS::SQS::Queue", MessageRetentionPeriod=345_600)[0],
        "results": only(resources, "AWS::SQS::Queue", MessageRetentionPeriod=7_200)[0],
        "cluster": only(resources, "AWS::ECS::Cluster")[0],
        "table": only(resources, "AWS::DynamoDB::Table")[0],
        "secret": only(resources, "AWS::SecretsManager::Secret")[0],
    }


def _prefix_of(bucket_id: str, prefix: str) -> dict[str, Any]:
    """The ARN pattern of the bucket's objects under `prefix`, as CloudFormation has it."""
    return {"Fn::Join": ["", [get_att(bucket_id), f"/{prefix}*"]]}


def _task_role(resources: Resources) -> str:
    _, task = only(resources, "AWS::ECS::TaskDefinition")
    return str(task["TaskRoleArn"]["Fn::GetAtt"][0])


def _submitter_role(resources: Resources) -> str:
    [role_id] = [
        logical_id
        for logical_id, role in find(resources, "AWS::IAM::Role").items()
        if "AWS" in role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
    ]
    return role_id


def _assert_no_wildcards(statements: list[dict[str, Any]], allowed: list[object]) -> None:
    for effect, action, resource in grants(statements):
        assert effect == "Allow"
        assert "*" not in action, action
        assert "*" not in resource or json.loads(resource) in allowed, resource


def test_worker_task_role_exactly(resources: Resources) -> None:
    ids = _ids(resources)
    role_id = _task_role(resources)
    tasks_of_cluster = {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":ecs:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                ":task/",
                {"Ref": ids["cluster"]},
                "/*",
            ],
        ]
    }
    statements = role_statements(resources, role_id)
    assert grants(statements) == (
        # Consuming the work queue.
        allow(CONSUME, get_att(ids["work"]))
        | allow(["sqs:SendMessage"], get_att(ids["results"]))
        # A big object's range tasks go back to the work queue; each range is a ranged
        # GetObject, and its counts go under results/ and are read and deleted by the
        # merge, which the statements below already allow.
        | allow(["sqs:SendMessage"], get_att(ids["work"]))
        | allow(["s3:GetObject", "s3:DeleteObject"], objects_of(ids["bucket"]))
        # A job-path upload: its record moves along, its full counts go under results/.
        | allow(["dynamodb:GetItem", "dynamodb:UpdateItem"], get_att(ids["table"]))
        | allow(
            ["s3:PutObject", "s3:AbortMultipartUpload"], _prefix_of(ids["bucket"], RESULTS_PREFIX)
        )
        | allow(["ecs:UpdateTaskProtection"], tasks_of_cluster)
    )
    _assert_no_wildcards(
        statements,
        allowed=[
            objects_of(ids["bucket"]),
            _prefix_of(ids["bucket"], RESULTS_PREFIX),
            tasks_of_cluster,
        ],
    )
    role = resources[role_id]["Properties"]
    assert "ManagedPolicyArns" not in role
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "ecs-tasks.amazonaws.com"},
        }
    ]


def _api_role(resources: Resources) -> str:
    _, function = only(resources, "AWS::Lambda::Function", PackageType="Image")
    return str(function["Role"]["Fn::GetAtt"][0])


def test_api_role_exactly(resources: Resources) -> None:
    """Sign uploads under jobs/ (a pre-signed URL acts with its signer's rights), keep job
    and corpus records, read counts under results/ and store corpus jobs' merged counts
    under results/corpora/ only (never over a job's counts), read its key, write its
    logs. No queue, no listing, no reading of uploads, no other log group."""
    ids = _ids(resources)
    role_id = _api_role(resources)
    _, function = only(resources, "AWS::Lambda::Function", PackageType="Image")
    log_group_id = function["LoggingConfig"]["LogGroup"]["Ref"]
    statements = role_statements(resources, role_id)
    assert grants(statements) == (
        allow(["s3:PutObject"], _prefix_of(ids["bucket"], JOB_KEY_PREFIX))
        | allow(["s3:GetObject"], _prefix_of(ids["bucket"], RESULTS_PREFIX))
        | allow(
            ["s3:PutObject", "s3:AbortMultipartUpload"], _prefix_of(ids["bucket"], CORPORA_PREFIX)
        )
        | allow(
            [
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:BatchGetItem",
            ],
            get_att(ids["table"]),
        )
        | allow(["secretsmanager:GetSecretValue"], {"Ref": ids["secret"]})
        | allow(["logs:CreateLogStream", "logs:PutLogEvents"], get_att(log_group_id))
    )
    _assert_no_wildcards(
        statements,
        allowed=[
            _prefix_of(ids["bucket"], JOB_KEY_PREFIX),
            _prefix_of(ids["bucket"], RESULTS_PREFIX),
            _prefix_of(ids["bucket"], CORPORA_PREFIX),
        ],
    )
    role = resources[role_id]["Properties"]
    # No AWSLambdaBasicExecutionRole: it writes to every log group of the account.
    assert "ManagedPolicyArns" not in role
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
        }
    ]


def test_only_the_api_may_read_the_api_key(resources: Resources) -> None:
    secret = {"Ref": _ids(resources)["secret"]}
    readers = {
        role_id
        for role_id in find(resources, "AWS::IAM::Role")
        if any(json.loads(r) == secret for _, _, r in grants(role_statements(resources, role_id)))
    }
    assert readers == {_api_role(resources)}


def test_submitter_role_exactly(resources: Resources) -> None:
    ids = _ids(resources)
    role_id = _submitter_role(resources)
    statements = role_statements(resources, role_id)
    denied = {
        ("Deny", "s3:PutObject", json.dumps(_prefix_of(ids["bucket"], prefix), sort_keys=True))
        for prefix in (JOB_KEY_PREFIX, RESULTS_PREFIX)
    }
    assert grants(statements) == (
        # A failed multipart upload aborts its own parts.
        allow(["s3:PutObject", "s3:AbortMultipartUpload"], objects_of(ids["bucket"]))
        | allow(CONSUME, get_att(ids["results"]))
        # The job path's prefixes are the service's alone: no planted job upload, no
        # overwritten counts.
        | denied
    )
    _assert_no_wildcards(
        [s for s in statements if s["Effect"] == "Allow"], allowed=[objects_of(ids["bucket"])]
    )
    role = resources[role_id]["Properties"]
    assert "ManagedPolicyArns" not in role
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"AWS": ACCOUNT_ROOT}}
    ]


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        (
            "arn:aws:iam::123456789012:role/uploader",
            "arn:aws:iam::123456789012:role/uploader",
        ),
        (
            "210987654321",
            {
                "Fn::Join": [
                    "",
                    ["arn:", {"Ref": "AWS::Partition"}, ":iam::210987654321:root"],
                ]
            },
        ),
    ],
)
def test_submitter_principal_from_context(tmp_path: Path, principal: str, expected: object) -> None:
    synthesized: Synthesized = synthesize(tmp_path, {"submitterPrincipal": principal})
    resources = synthesized.resources
    role = resources[_submitter_role(resources)]["Properties"]
    [statement] = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"AWS": expected}


def test_submitter_principal_is_validated(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="submitterPrincipal"):
        synthesize(tmp_path, {"submitterPrincipal": "uploader"})
