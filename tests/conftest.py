"""Fixtures shared across the test tree."""

import logging
from collections.abc import Iterator

import pytest
import structlog

from tests.aws_fixtures import aws_session, aws_stack, moto_endpoint
from tests.fake_ecs_agent import fake_agent

__all__ = ["aws_session", "aws_stack", "fake_agent", "moto_endpoint"]


@pytest.fixture(autouse=True)
def _logging_left_as_found() -> Iterator[None]:
    """Put back the logging configuration a test changed: a service configured in
    process (the Lambda handler, a worker) sets structlog's level for the whole
    process, and a later test reading debug lines would see none of them."""
    saved = structlog.get_config()
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    structlog.configure(**saved)
    root.setLevel(level)
    root.handlers[:] = handlers
