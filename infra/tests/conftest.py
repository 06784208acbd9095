"""Session fixtures: the stack is synthesized once, with cdk.json's context, as `cdk synth`
would."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from infra_support import Resources, Synthesized, synthesize

if TYPE_CHECKING:
    from aws_cdk.assertions import Template


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def template(synthesized: Synthesized) -> Template:
    return synthesized.template


@pytest.fixture(scope="session")
def resources(synthesized: Synthesized) -> Resources:
    return synthesized.resources
