"""Stack outputs, context parameters and the Docker build context of the worker image."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from aws_cdk.assertions import Template
from infra_support import (
    CDK_JSON,
    REPO_ROOT,
    Resources,
    Synthesized,
    find,
    only,
    synthesize,
    worker_log_group,
)
from wordfreq_infra import WordfreqConfig
from wordfreq_infra.image import API_TARGET, WORKER_TARGET
from wordfreq_service.api.settings import MAX_UPLOAD_BYTES_ENV
from wordfreq_service.service.jobs import DEFAULT_MAX_UPLOAD_BYTES
from wordfreq_service.service.worker.settings import DEFAULT_SPLIT_THRESHOLD

# The export names of the original Go sample's CDK stack (its CfnOutputs' ExportName), so
# that a stack importing them (Fn::ImportValue) keeps working: output -> export name.
SEED_EXPORT_NAMES = {
    "InputQueueUrl": "inputQueueUrl",
    "bucketName": "bucketName",
    "resultQueueUrl": "resultQueueUrl",
    "submitRoleArn": "submitRole",
}


def test_outputs_keep_the_original_names(template: Template, resources: Resources) -> None:
    bucket_id, _ = only(resources, "AWS::S3::Bucket")
    work_id, _ = only(resources, "AWS::SQS::Queue", MessageRetentionPeriod=345_600)
    results_id, _ = only(resources, "AWS::SQS::Queue", MessageRetentionPeriod=7_200)
    outputs = template.to_json()["Outputs"]
    assert outputs["InputQueueUrl"]["Value"] == {"Ref": work_id}
    assert outputs["bucketName"]["Value"] == {"Ref": bucket_id}
    assert outputs["resultQueueUrl"]["Value"] == {"Ref": results_id}
    submit_role = outputs["submitRoleArn"]["Value"]["Fn::GetAtt"]
    assert resources[submit_role[0]]["Type"] == "AWS::IAM::Role"
    assert submit_role[1] == "Arn"
    # The four of the original sample, the alarm topic and the job API's two (README: "seven
    # outputs"; test_infra_api checks the API's).
    assert set(outputs) == {*SEED_EXPORT_NAMES, "alarmTopicArn", "apiUrl", "apiKeySecretArn"}


def test_seed_outputs_keep_the_original_export_names(template: Template) -> None:
    outputs = template.to_json()["Outputs"]
    exports = {name: out["Export"]["Name"] for name, out in outputs.items() if "Export" in out}
    assert exports == SEED_EXPORT_NAMES


def test_context_overrides_change_the_template(tmp_path: Path) -> None:
    # `cdk synth -c key=value` passes every value as a string.
    overrides = {
        "maxTasks": "7",
        "taskCpu": "1024",
        "taskMemoryMiB": "3072",
        "logRetentionDays": "7",
        "workerDebug": "true",
        "visibilityTimeoutSeconds": "300",
        "messageAgeAlarmMinutes": "45",
        "alarmEmail": "ops@example.com",
        "apiThrottleRate": "5",
        "apiThrottleBurst": "9",
        "apiMaxUploadBytes": "1048576",
        "splitThresholdBytes": str(64 << 20),
    }
    resources = synthesize(tmp_path, overrides).resources
    _, target = only(resources, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (0, 7)
    _, task = only(resources, "AWS::ECS::TaskDefinition")
    assert (task["Cpu"], task["Memory"]) == ("1024", "3072")
    [container] = task["ContainerDefinitions"]
    assert {"Name": "WORKER_DEBUG", "Value": "1"} in container["Environment"]
    assert {"Name": "WORKER_SPLIT_THRESHOLD", "Value": str(64 << 20)} in container["Environment"]
    _, log_group = worker_log_group(resources)
    assert log_group["RetentionInDays"] == 7
    # Every log group, the Lambdas' included.
    assert {g["RetentionInDays"] for g in find(resources, "AWS::Logs::LogGroup").values()} == {7}
    # The one visibility figure: the work queue's, which the workers read from it.
    _, work = only(resources, "AWS::SQS::Queue", MessageRetentionPeriod=345_600)
    assert work["VisibilityTimeout"] == 300
    _, age = only(resources, "AWS::CloudWatch::Alarm", MetricName="ApproximateAgeOfOldestMessage")
    assert age["Threshold"] == 45 * 60
    topic_id, _ = only(resources, "AWS::SNS::Topic")
    _, subscription = only(resources, "AWS::SNS::Subscription")
    assert subscription == {
        "Protocol": "email",
        "TopicArn": {"Ref": topic_id},
        "Endpoint": "ops@example.com",
    }
    _, stage = only(resources, "AWS::ApiGatewayV2::Stage")
    assert stage["DefaultRouteSettings"] == {"ThrottlingRateLimit": 5, "ThrottlingBurstLimit": 9}
    _, function = only(resources, "AWS::Lambda::Function", PackageType="Image")
    assert function["Environment"]["Variables"][MAX_UPLOAD_BYTES_ENV] == "1048576"


def test_cdk_json_context_matches_the_code_defaults() -> None:
    context = CDK_JSON["context"]
    defaults = WordfreqConfig()
    for field, key in WordfreqConfig.CONTEXT_KEYS.items():
        if key in context:
            assert getattr(defaults, field) == context[key], key
    assert CDK_JSON["app"] == "python3 app.py"
    # The upload limit is the service's own default unless set (one figure, not two).
    assert "apiMaxUploadBytes" not in context
    assert defaults.api_max_upload_bytes == DEFAULT_MAX_UPLOAD_BYTES
    # So is the split threshold: the worker's.
    assert "splitThresholdBytes" not in context
    assert defaults.split_threshold_bytes == DEFAULT_SPLIT_THRESHOLD


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"maxTasks": "0"}, "maxTasks"),
        ({"maxTasks": "many"}, "maxTasks"),
        ({"taskCpu": "300"}, "taskCpu"),
        ({"taskCpu": "256", "taskMemoryMiB": "4096"}, "taskMemoryMiB"),
        ({"logRetentionDays": "10"}, "logRetentionDays"),
        ({"workerDebug": "maybe"}, "workerDebug"),
        ({"visibilityTimeoutSeconds": "5"}, "visibilityTimeoutSeconds"),
        ({"visibilityTimeoutSeconds": "43201"}, "visibilityTimeoutSeconds"),
        ({"messageAgeAlarmMinutes": "0"}, "messageAgeAlarmMinutes"),
        ({"messageAgeAlarmMinutes": "5760"}, "messageAgeAlarmMinutes"),
        ({"alarmEmail": "ops at example.com"}, "alarmEmail"),
        ({"apiThrottleRate": "0"}, "apiThrottleRate"),
        ({"apiThrottleRate": "10001"}, "apiThrottleRate"),
        ({"apiThrottleBurst": "0"}, "apiThrottleBurst"),
        ({"apiThrottleBurst": "5001"}, "apiThrottleBurst"),
        ({"apiMaxUploadBytes": "0"}, "apiMaxUploadBytes"),
        # Over S3's 5 GiB for one PUT, which is what a pre-signed URL can do.
        ({"apiMaxUploadBytes": str(5 * 2**30 + 1)}, "apiMaxUploadBytes"),
        ({"splitThresholdBytes": "1000"}, "splitThresholdBytes"),
    ],
)
def test_invalid_context_is_refused(context: dict[str, str], message: str) -> None:
    from aws_cdk import App

    with pytest.raises(ValueError, match=message):
        WordfreqConfig.from_context(App(context=context).node)


def test_images_build_context_holds_the_package_sources_only(synthesized: Synthesized) -> None:
    """Two images from the one Dockerfile and build context: the worker and the API."""
    assets = json.loads(next(synthesized.outdir.glob("*.assets.json")).read_text())
    images = list(assets["dockerImages"].values())
    assert sorted(image["source"]["dockerBuildTarget"] for image in images) == sorted(
        [API_TARGET, WORKER_TARGET]
    )
    for image in images:
        assert image["source"]["dockerFile"] == "Dockerfile"
        assert image["source"]["platform"] == "linux/amd64"
        _assert_package_sources_only(synthesized.outdir / image["source"]["directory"])


def _assert_package_sources_only(staged: Path) -> None:
    names = {str(p.relative_to(staged)) for p in staged.rglob("*")}
    for needed in (
        "Dockerfile",
        "Cargo.toml",
        "pyproject.toml",
        "image-requirements.txt",
        "image-api-requirements.txt",
        "src/lib.rs",
    ):
        assert needed in names
    # The Python package maturin builds (python/<package>/), whatever it is called.
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    package = pyproject["tool"]["maturin"]["module-name"].split(".")[0]
    assert f"python/{package}/__init__.py" in names
    if (REPO_ROOT / "Cargo.lock").exists():
        assert "Cargo.lock" in names
    tops = {name.split("/")[0] for name in names}
    assert tops <= {"Dockerfile", ".dockerignore", "Cargo.toml", "Cargo.lock", "pyproject.toml"} | {
        "image-requirements.txt",
        "image-api-requirements.txt",
        "src",
        "python",
    }
    assert not [n for n in names if n.endswith((".so", ".pyc")) or "__pycache__" in n]


NODE_VERSIONS = "Node.js 22 or 24 (20 still works for the tests)"


def test_readmes_describe_this_stack(template: Template) -> None:
    """The output count, the supported Node.js versions and the context parameters, as the
    READMEs state them."""
    root = " ".join((REPO_ROOT / "README.md").read_text().split())
    infra = " ".join((REPO_ROOT / "infra" / "README.md").read_text().split())
    count = len(template.to_json()["Outputs"])
    word = {4: "four", 5: "five", 6: "six", 7: "seven"}[count]
    assert f"# prints the {word} outputs" in root
    assert f"with {word} outputs" in root
    assert f"the stack prints its {word} outputs" in infra
    for readme in (root, infra):
        assert NODE_VERSIONS in readme
        assert "Node.js 20+" not in readme
    for key in WordfreqConfig.CONTEXT_KEYS.values():
        assert f"| `{key}` |" in infra, key
        assert f"`{key}`" in root, key
