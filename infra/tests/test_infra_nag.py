"""cdk-nag AwsSolutions checks: no unsuppressed error, and every suppression is explained."""

from __future__ import annotations

from aws_cdk import Aspects
from aws_cdk.assertions import Annotations, Match
from cdk_nag import AwsSolutionsChecks
from infra_support import Resources, Synthesized

# Each accepted finding is a decision; adding one must show up here.
ACCEPTED = {
    "AwsSolutions-S1",  # upload bucket: no server access logs
    "AwsSolutions-SQS3",  # result queue: no DLQ
    "AwsSolutions-VPC7",  # workers' VPC: no flow logs
    "AwsSolutions-ECS2",  # task definition: plain (non-secret) environment variables
    "AwsSolutions-IAM5",  # object-level (and jobs/, results/) and task-ARN patterns, ECR token
    "AwsSolutions-IAM4",  # CDK's bucket-notifications handler: AWSLambdaBasicExecutionRole
    "AwsSolutions-APIG4",  # job API: no gateway authorizer (API key and job tokens in the app)
    "AwsSolutions-SMG4",  # API key secret: no automatic rotation (a key handed to people)
}


def test_the_app_runs_the_aws_solutions_checks(synthesized: Synthesized) -> None:
    app = synthesized.stack.node.root
    assert any(isinstance(aspect, AwsSolutionsChecks) for aspect in Aspects.of(app).all)


def test_no_unsuppressed_nag_error(synthesized: Synthesized) -> None:
    annotations = Annotations.from_stack(synthesized.stack)
    errors = annotations.find_error("*", Match.string_like_regexp("AwsSolutions-.*"))
    assert errors == [], "\n".join(f"{e.id}: {e.entry.data}" for e in errors)
    warnings = annotations.find_warning("*", Match.string_like_regexp("AwsSolutions-.*"))
    assert warnings == [], "\n".join(f"{w.id}: {w.entry.data}" for w in warnings)


def test_every_suppression_has_a_written_reason(resources: Resources) -> None:
    suppressed = set()
    for logical_id, resource in resources.items():
        rules = resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
        for rule in rules:
            suppressed.add(rule["id"])
            reason = rule.get("reason", "")
            # Reasons are full sentences: more than a label.
            assert len(reason) >= 60 and " " in reason, (logical_id, rule)
    assert suppressed == ACCEPTED
