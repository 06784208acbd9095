"""External checkers on the synthesized output: the CDK CLI, cfn-lint and hadolint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from infra_support import INFRA_DIR, REPO_ROOT, VENV_BIN, Synthesized

CDK_CLI = INFRA_DIR / "node_modules" / ".bin" / "cdk"
# Offline and quiet: no version check, no telemetry, no notices, no instance metadata.
CDK_ENV = {
    "CDK_DISABLE_VERSION_CHECK": "1",
    "CDK_DISABLE_CLI_TELEMETRY": "1",
    "AWS_EC2_METADATA_DISABLED": "true",
}
# W3005 (DependsOn already implied by a GetAtt/Ref): CDK writes these explicit DependsOn
# on its own custom-resource providers; they are redundant, not wrong.
CFN_LINT_IGNORED = ["W3005"]


def _run(
    args: list[str], cwd: Path, timeout: float, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_cdk_cli_synthesizes_the_app(tmp_path: Path) -> None:
    if not CDK_CLI.exists():
        pytest.fail(f"{CDK_CLI} is missing: run `make setup` (npm ci in infra/)")
    outdir = tmp_path / "cdk.out"
    # cdk.json's app is `python3 app.py` for an activated venv; here, this venv's python.
    result = _run(
        [
            str(CDK_CLI),
            "synth",
            "--app",
            f"{sys.executable} app.py",
            "--output",
            str(outdir),
            "--no-notices",
            "--no-version-reporting",
            "--quiet",
            "--context",
            "maxTasks=7",
        ],
        cwd=INFRA_DIR,
        timeout=180,
        **CDK_ENV,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    template = json.loads((outdir / "WordfreqStack.template.json").read_text())
    assert {"InputQueueUrl", "bucketName", "resultQueueUrl", "submitRoleArn"} <= set(
        template["Outputs"]
    )
    # -c maxTasks=7 reached the app; the other parameters came from cdk.json.
    [target] = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::ApplicationAutoScaling::ScalableTarget"
    ]
    assert target["MaxCapacity"] == 7
    retentions = [
        r["Properties"]["RetentionInDays"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Logs::LogGroup"
    ]
    assert retentions and set(retentions) == {30}


def test_cfn_lint_passes_on_the_template(synthesized: Synthesized) -> None:
    template = synthesized.outdir / "WordfreqStack.template.json"
    result = _run(
        [str(VENV_BIN / "cfn-lint"), "--ignore-checks", *CFN_LINT_IGNORED, "--", str(template)],
        cwd=REPO_ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_passes_on_the_dockerfile() -> None:
    result = _run([str(VENV_BIN / "hadolint"), "Dockerfile"], cwd=REPO_ROOT, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
