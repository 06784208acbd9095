"""Fixtures shared across the test tree."""

from tests.aws_fixtures import aws_session, aws_stack, moto_endpoint
from tests.fake_ecs_agent import fake_agent

__all__ = ["aws_session", "aws_stack", "fake_agent", "moto_endpoint"]
