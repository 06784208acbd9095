"""The job path on AWS: the job table, the `results/` prefix, and the job API (HTTP API ->
Lambda running the API image), its key and its outputs."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

from infra_support import Resources, Synthesized, find, get_att, only
from wordfreq_infra.image import API_TARGET
from wordfreq_service.api.settings import (
    API_KEY_SECRET_ENV,
    BUCKET_ENV,
    JOB_TABLE_ENV,
    MAX_UPLOAD_BYTES_ENV,
)
from wordfreq_service.formats.jobs import RESULTS_PREFIX
from wordfreq_service.ports import JobRecord
from wordfreq_service.service.jobs import DEFAULT_MAX_UPLOAD_BYTES, JOB_RETENTION_S, MAX_WAIT_S

# API Gateway's longest wait on an HTTP API integration.
HTTP_API_MAX_TIMEOUT_S = 30


def _function(resources: Resources) -> tuple[str, dict[str, Any]]:
    return only(resources, "AWS::Lambda::Function", PackageType="Image")


def _http_api(resources: Resources) -> tuple[str, dict[str, Any]]:
    return only(resources, "AWS::ApiGatewayV2::Api")


def test_job_table_is_keyed_by_job_id_with_ttl_on_demand(resources: Resources) -> None:
    table_id, table = only(resources, "AWS::DynamoDB::Table")
    assert table["KeySchema"] == [{"AttributeName": "job_id", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "job_id", "AttributeType": "S"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert "ProvisionedThroughput" not in table
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    # Like the bucket: the records go with the stack.
    assert resources[table_id]["DeletionPolicy"] == "Delete"
    assert resources[table_id]["UpdateReplacePolicy"] == "Delete"
    # The key and the TTL attribute are the job record's own fields, as the store writes them.
    fields = {f.name for f in dataclasses.fields(JobRecord)}
    assert {"job_id", "expires_at"} <= fields


def test_results_expire_with_their_jobs(resources: Resources) -> None:
    _, bucket = only(resources, "AWS::S3::Bucket")
    rules = {rule["Id"]: rule for rule in bucket["LifecycleConfiguration"]["Rules"]}
    assert rules["expire-results"] == {
        "Id": "expire-results",
        "Prefix": RESULTS_PREFIX,
        "ExpirationInDays": math.ceil(JOB_RETENTION_S / 86_400),
        "Status": "Enabled",
    }
    assert rules["expire-results"]["ExpirationInDays"] == 7
    # Uploads keep their 14 days; S3 applies the shorter rule where both match.
    assert rules["expire-uploads"]["ExpirationInDays"] == 14
    assert "Prefix" not in rules["expire-uploads"]


def test_function_runs_the_api_image_with_its_settings(
    resources: Resources, synthesized: Synthesized
) -> None:
    _, function = _function(resources)
    bucket_id, _ = only(resources, "AWS::S3::Bucket")
    table_id, _ = only(resources, "AWS::DynamoDB::Table")
    secret_id, _ = only(resources, "AWS::SecretsManager::Secret")
    assert function["Environment"]["Variables"] == {
        BUCKET_ENV: {"Ref": bucket_id},
        JOB_TABLE_ENV: {"Ref": table_id},
        API_KEY_SECRET_ENV: {"Ref": secret_id},
        MAX_UPLOAD_BYTES_ENV: str(DEFAULT_MAX_UPLOAD_BYTES),
    }
    assert function["Architectures"] == ["x86_64"]
    # The handler is the image's CMD (the Dockerfile names it once): no override here.
    assert "ImageConfig" not in function
    assert "Handler" not in function and "Runtime" not in function
    # The image built with the Dockerfile's `api` target.
    assets = json.loads(next(synthesized.outdir.glob("*.assets.json")).read_text())
    [api_image] = [
        image_hash
        for image_hash, image in assets["dockerImages"].items()
        if image["source"].get("dockerBuildTarget") == API_TARGET
    ]
    assert json.dumps(function["Code"]["ImageUri"]).endswith(f':{api_image}"}}')
    assert function["MemorySize"] >= 512


def test_function_outlasts_the_longest_wait_and_ends_before_the_gateway(
    resources: Resources,
) -> None:
    """`?wait=20` holds a request 20 s: the function has time for it, and gives up before
    API Gateway does (else the client gets the gateway's bare 503)."""
    _, function = _function(resources)
    _, integration = only(resources, "AWS::ApiGatewayV2::Integration")
    integration_s = integration["TimeoutInMillis"] / 1000
    assert MAX_WAIT_S + 5 <= function["Timeout"] < integration_s <= HTTP_API_MAX_TIMEOUT_S


def test_function_logs_to_its_own_group_with_the_stack_retention(resources: Resources) -> None:
    _, function = _function(resources)
    group_id = function["LoggingConfig"]["LogGroup"]["Ref"]
    assert resources[group_id]["Properties"]["RetentionInDays"] == 30  # cdk.json
    assert resources[group_id]["DeletionPolicy"] == "Delete"


def test_every_request_goes_to_the_function(resources: Resources) -> None:
    api_id, api = _http_api(resources)
    function_id, _ = _function(resources)
    assert api["ProtocolType"] == "HTTP"
    # One route for every method and path: the app answers 404 and 405 itself.
    [route] = find(resources, "AWS::ApiGatewayV2::Route").values()
    assert route["RouteKey"] == "$default"
    assert route["ApiId"] == {"Ref": api_id}
    integration_id, integration = only(resources, "AWS::ApiGatewayV2::Integration")
    assert route["Target"] == {"Fn::Join": ["", ["integrations/", {"Ref": integration_id}]]}
    assert integration["IntegrationType"] == "AWS_PROXY"
    assert integration["IntegrationUri"] == get_att(function_id)
    # Mangum reads the 2.0 event format.
    assert integration["PayloadFormatVersion"] == "2.0"
    # Only this API may invoke the function.
    [permission] = find(resources, "AWS::Lambda::Permission").values()
    assert permission["FunctionName"] == get_att(function_id)
    assert permission["Principal"] == "apigateway.amazonaws.com"
    assert {"Ref": api_id} in permission["SourceArn"]["Fn::Join"][1]
    # An HTTP API (HTTPS only), no REST API.
    assert not find(resources, "AWS::ApiGateway::RestApi")


def test_stage_is_throttled_and_logs_every_request(resources: Resources) -> None:
    api_id, _ = _http_api(resources)
    _, stage = only(resources, "AWS::ApiGatewayV2::Stage")
    assert stage["ApiId"] == {"Ref": api_id}
    assert (stage["StageName"], stage["AutoDeploy"]) == ("$default", True)
    # cdk.json's apiThrottleRate and apiThrottleBurst.
    assert stage["DefaultRouteSettings"] == {"ThrottlingRateLimit": 50, "ThrottlingBurstLimit": 100}
    logs = stage["AccessLogSettings"]
    group_id = logs["DestinationArn"]["Fn::GetAtt"][0]
    assert resources[group_id]["Type"] == "AWS::Logs::LogGroup"
    assert resources[group_id]["Properties"]["RetentionInDays"] == 30
    assert resources[group_id]["DeletionPolicy"] == "Delete"
    fields = json.loads(logs["Format"])
    assert fields["requestId"] == "$context.requestId"
    assert {"status", "path", "method", "ip"} <= set(fields)
    # The API key and the job tokens travel in headers, the wait in the query: none logged.
    assert not [v for v in fields.values() if "header" in v.lower() or "querystring" in v.lower()]


def test_api_key_is_a_generated_plain_string(resources: Resources) -> None:
    secret_id, secret = only(resources, "AWS::SecretsManager::Secret")
    generate = secret["GenerateSecretString"]
    # Not JSON: the SecretString is the key itself.
    assert "SecretStringTemplate" not in generate and "GenerateStringKey" not in generate
    assert "SecretString" not in secret
    assert generate["PasswordLength"] >= 40
    assert generate["ExcludePunctuation"] is True
    assert generate["IncludeSpace"] is False
    assert resources[secret_id]["DeletionPolicy"] == "Delete"


def test_outputs_name_the_api_and_its_key(synthesized: Synthesized, resources: Resources) -> None:
    outputs = synthesized.template.to_json()["Outputs"]
    api_id, _ = _http_api(resources)
    secret_id, _ = only(resources, "AWS::SecretsManager::Secret")
    assert outputs["apiUrl"]["Value"] == {
        "Fn::Join": [
            "",
            [
                "https://",
                {"Ref": api_id},
                ".execute-api.",
                {"Ref": "AWS::Region"},
                ".",
                {"Ref": "AWS::URLSuffix"},
                "/",
            ],
        ]
    }
    assert outputs["apiKeySecretArn"]["Value"] == {"Ref": secret_id}
    # Export names are unique per account and region: only the seed's outputs have them.
    assert "Export" not in outputs["apiUrl"] and "Export" not in outputs["apiKeySecretArn"]


def test_bucket_lets_the_page_upload_and_download_from_the_api_origin_only(
    resources: Resources,
) -> None:
    """The page, served by the API, PUTs each file to its pre-signed URL, and follows
    the redirect of large counts to a pre-signed GET: cross-origin requests S3 allows
    for the API's own origin only, and for those two methods only."""
    api_id, _ = _http_api(resources)
    _, bucket = only(resources, "AWS::S3::Bucket")
    [rule] = bucket["CorsConfiguration"]["CorsRules"]
    assert sorted(rule["AllowedMethods"]) == ["GET", "PUT"]
    assert rule["AllowedOrigins"] == [get_att(api_id, "ApiEndpoint")]
