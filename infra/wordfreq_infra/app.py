"""Assembles the CDK app: the stack, configured from context, checked by cdk-nag."""

from __future__ import annotations

from aws_cdk import App, Aspects
from cdk_nag import AwsSolutionsChecks

from wordfreq_infra.config import WordfreqConfig
from wordfreq_infra.stack import WordfreqStack

STACK_NAME = "WordfreqStack"


def build_app(app: App) -> WordfreqStack:
    """Add WordfreqStack to `app`; every synthesis runs the AWS Solutions checks."""
    stack = WordfreqStack(
        app,
        STACK_NAME,
        config=WordfreqConfig.from_context(app.node),
        description=(
            "wordfreq: S3 uploads -> SQS -> Fargate word counters -> SQS results or job table;"
            " job API on API Gateway + Lambda"
        ),
    )
    Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    return stack
