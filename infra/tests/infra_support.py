"""Helpers for the infrastructure tests: synthesis, and lookups by property, never by the
hash-suffixed logical IDs CDK generates."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

INFRA_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = INFRA_DIR.parent
VENV_BIN = Path(sys.executable).parent
# The CDK app's package lives in infra/, which is not installed: import it from there.
if str(INFRA_DIR) not in sys.path:
    sys.path.insert(0, str(INFRA_DIR))
# jsii prints a banner on every start when Node.js is past its support window.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")

from aws_cdk import App, Stack  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402
from wordfreq_infra import build_app  # noqa: E402

CDK_JSON: dict[str, Any] = json.loads((INFRA_DIR / "cdk.json").read_text())
# Report cdk-nag errors as annotations (test_infra_nag asserts there are none) instead of
# failing synthesis, so one finding does not hide every other test's result.
COLLECT_ANNOTATIONS = {"@aws-cdk/core:annotationsInValidationReport": False}

Resources = dict[str, Any]


@dataclass(frozen=True)
class Synthesized:
    stack: Stack
    template: Template
    outdir: Path

    @property
    def resources(self) -> Resources:
        return dict(self.template.to_json()["Resources"])


def synthesize(outdir: Path, overrides: Mapping[str, object] | None = None) -> Synthesized:
    """Synthesize the app with cdk.json's context (what the CLI passes) plus `overrides`."""
    context = {**CDK_JSON["context"], **COLLECT_ANNOTATIONS, **(overrides or {})}
    app = App(context=context, outdir=str(outdir))
    stack = build_app(app)
    return Synthesized(stack=stack, template=Template.from_stack(stack), outdir=outdir)


def find(resources: Resources, type_: str, **props: object) -> dict[str, dict[str, Any]]:
    """Resources of `type_` whose Properties include `props` (top-level keys, equal values)."""
    return {
        logical_id: resource.get("Properties", {})
        for logical_id, resource in resources.items()
        if resource["Type"] == type_
        and all(resource.get("Properties", {}).get(k) == v for k, v in props.items())
    }


def only(resources: Resources, type_: str, **props: object) -> tuple[str, dict[str, Any]]:
    found = find(resources, type_, **props)
    assert len(found) == 1, f"expected one {type_} with {props}, found {sorted(found)}"
    return next(iter(found.items()))


def worker_log_group(resources: Resources) -> tuple[str, dict[str, Any]]:
    """The log group the worker container logs to (the stack has others, for its Lambdas)."""
    _, task = only(resources, "AWS::ECS::TaskDefinition")
    [container] = task["ContainerDefinitions"]
    log_group_id = str(container["LogConfiguration"]["Options"]["awslogs-group"]["Ref"])
    assert resources[log_group_id]["Type"] == "AWS::Logs::LogGroup"
    return log_group_id, resources[log_group_id]["Properties"]


def get_att(logical_id: str, attribute: str = "Arn") -> dict[str, list[str]]:
    return {"Fn::GetAtt": [logical_id, attribute]}


def objects_of(bucket_id: str) -> dict[str, Any]:
    return {"Fn::Join": ["", [get_att(bucket_id), "/*"]]}


def role_statements(resources: Resources, role_id: str) -> list[dict[str, Any]]:
    """Every statement of every policy attached to the role, inline or managed."""
    role = resources[role_id]["Properties"]
    statements = [s for p in role.get("Policies", []) for s in p["PolicyDocument"]["Statement"]]
    for policy in find(resources, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Roles"]:
            statements.extend(policy["PolicyDocument"]["Statement"])
    for policy in find(resources, "AWS::IAM::ManagedPolicy").values():
        if {"Ref": role_id} in policy.get("Roles", []):
            statements.extend(policy["PolicyDocument"]["Statement"])
    return statements


def grants(statements: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """(effect, action, resource as JSON) for every action x resource of the statements."""
    out = set()
    for statement in statements:
        assert "NotAction" not in statement and "NotResource" not in statement, statement
        actions = statement["Action"]
        targets = statement["Resource"]
        for action in [actions] if isinstance(actions, str) else actions:
            for target in targets if isinstance(targets, list) else [targets]:
                out.add((statement["Effect"], action, json.dumps(target, sort_keys=True)))
    return out


def allow(actions: list[str], resource: object) -> set[tuple[str, str, str]]:
    return {("Allow", a, json.dumps(resource, sort_keys=True)) for a in actions}
