"""A log group with a retention for every Lambda function of a stack, CDK's own included.

CDK 2.275 creates deploy-time Lambda functions for the bucket's notification configuration,
for emptying the bucket on `cdk destroy` and for locking the VPC's default security group.
Their logs would go to groups Lambda creates on first use, kept forever and left behind by
`cdk destroy`. `custom_resources.CustomResourceConfig.add_log_retention_lifetime` reaches
only the singleton functions of `custom_resources` (none here), not these providers
(aws/aws-cdk#33116, #32380; the auto-delete provider has no log group option, #24815).

So: an aspect gives each `AWS::Lambda::Function` that names no log group one of its own,
with the stack's retention, deleted with the stack, and points the function's
`LoggingConfig` at it.
"""

from __future__ import annotations

import jsii
from aws_cdk import AspectPriority, Aspects, CfnResource, IAspect, RemovalPolicy, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct

LAMBDA_FUNCTION = "AWS::Lambda::Function"


@jsii.implements(IAspect)
class LambdaLogRetention:
    """Gives every Lambda function without a log group of its own one with `retention_days`."""

    def __init__(self, retention_days: int) -> None:
        self.retention_days = retention_days
        self._done: set[str] = set()

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, CfnResource) or node.cfn_resource_type != LAMBDA_FUNCTION:
            return
        if isinstance(node, lambda_.CfnFunction) and node.logging_config is not None:
            return  # an L2 Function with a log group of its own, or one set explicitly
        if node.node.path in self._done:
            return
        self._done.add(node.node.path)
        scope = node.node.scope
        assert isinstance(scope, Construct)
        group = retained_log_group(scope, f"{node.node.id}Logs", self.retention_days)
        node.add_property_override("LoggingConfig.LogGroup", group.log_group_name)


def retained_log_group(scope: Construct, construct_id: str, retention_days: int) -> logs.LogGroup:
    """A log group kept `retention_days` days, deleted with the stack."""
    group = logs.LogGroup(scope, construct_id, removal_policy=RemovalPolicy.DESTROY)
    # The L2 takes a RetentionDays enum whose Python members carry names, not day counts;
    # the number is validated by WordfreqConfig and set on the CloudFormation resource.
    cfn_group = group.node.default_child
    assert isinstance(cfn_group, logs.CfnLogGroup)
    cfn_group.retention_in_days = retention_days
    return group


def retain_lambda_logs(stack: Stack, retention_days: int) -> None:
    """Run before the read-only checks (cdk-nag), which then see the new log groups."""
    Aspects.of(stack).add(LambdaLogRetention(retention_days), priority=AspectPriority.MUTATING)
