"""Fixtures shared across the test tree."""

from tests.aws_fixtures import aws_session, aws_stack, moto_endpoint

__all__ = ["aws_session", "aws_stack", "moto_endpoint"]
