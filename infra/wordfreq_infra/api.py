"""The job API on AWS: API Gateway HTTP API -> Lambda running the FastAPI app.

The function runs the repository's image, built with the Dockerfile's `api` target (Lambda's
runtime interface client calling the app's Mangum handler, as the Dockerfile's CMD says). An
HTTP API speaks HTTPS only and costs nothing idle; its one stage throttles every route.
Creating a job needs the key the stack generates in Secrets Manager, which the app checks
itself; reading a job needs that job's token.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsii
from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct
from wordfreq_service.api.settings import (
    API_KEY_SECRET_ENV,
    BUCKET_ENV,
    JOB_TABLE_ENV,
    MAX_UPLOAD_BYTES_ENV,
)
from wordfreq_service.service.jobs import MAX_WAIT_S, UPLOAD_EXPIRY_S

from wordfreq_infra.access import ApiRole
from wordfreq_infra.config import WordfreqConfig
from wordfreq_infra.image import API_TARGET, asset_options
from wordfreq_infra.lambda_logs import retained_log_group

# API Gateway gives up on an HTTP API's integration after at most 30 s (CDK allows 29): the
# function ends first, with room for the longest `?wait=` plus a cold start and the store's
# calls.
INTEGRATION_TIMEOUT = Duration.seconds(29)
FUNCTION_TIMEOUT = Duration.seconds(MAX_WAIT_S + 8)
# Signing URLs and reading small records. More memory is also more CPU for the cold start
# (Python, FastAPI, boto3). A Lambda response holds at most 6 MB: a larger counts CSV can
# only be handed out as a pre-signed GET of its `results/` object, which this role may sign.
FUNCTION_MEMORY_MIB = 1024
# The generated API key: letters and digits only, so it fits a header and a shell unquoted.
API_KEY_LENGTH = 48
# One JSON object per request. No query string (it holds nothing secret today, but the
# path and status say enough) and no headers: the key and the tokens travel in headers.
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "method": "$context.httpMethod",
    "path": "$context.path",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "latencyMs": "$context.responseLatency",
    "integrationError": "$context.integrationErrorMessage",
}


class JobApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: WordfreqConfig,
        bucket: s3.Bucket,
        job_table: dynamodb.ITable,
        source_dir: Path,
    ) -> None:
        super().__init__(scope, construct_id)
        # The SecretString is the key itself (no JSON): what clients send as X-Api-Key.
        self.api_key = secretsmanager.Secret(
            self,
            "ApiKey",
            description="Key of the wordfreq job API (header X-Api-Key on POST /jobs)",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=API_KEY_LENGTH, exclude_punctuation=True, include_space=False
            ),
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.function_logs = retained_log_group(self, "FunctionLogs", config.log_retention_days)
        self.role = ApiRole(
            self,
            "Access",
            bucket=bucket,
            job_table=job_table,
            api_key=self.api_key,
            log_group=self.function_logs,
        ).role
        self.function = lambda_.DockerImageFunction(
            self,
            "Function",
            description="wordfreq job API (FastAPI behind API Gateway)",
            code=lambda_.DockerImageCode.from_image_asset(
                str(source_dir), **asset_options(API_TARGET)
            ),
            architecture=lambda_.Architecture.X86_64,
            memory_size=FUNCTION_MEMORY_MIB,
            timeout=FUNCTION_TIMEOUT,
            role=self.role,
            log_group=self.function_logs,
            environment={
                BUCKET_ENV: bucket.bucket_name,
                JOB_TABLE_ENV: job_table.table_name,
                API_KEY_SECRET_ENV: self.api_key.secret_arn,
                MAX_UPLOAD_BYTES_ENV: str(config.api_max_upload_bytes),
            },
        )
        # Every method and path goes to the app ($default route), which answers 404 itself.
        self.http_api = apigwv2.HttpApi(
            self,
            "Http",
            api_name=f"{Stack.of(self).stack_name}-jobs",
            description="wordfreq job API",
            create_default_stage=False,
            default_integration=integrations.HttpLambdaIntegration(
                "App", self.function, timeout=INTEGRATION_TIMEOUT
            ),
        )
        self.access_logs = retained_log_group(self, "AccessLogs", config.log_retention_days)
        self.stage = apigwv2.HttpStage(
            self,
            "Stage",
            http_api=self.http_api,
            stage_name="$default",
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(
                rate_limit=config.api_throttle_rate, burst_limit=config.api_throttle_burst
            ),
            access_log_settings=_AccessLog(
                apigwv2.LogGroupLogDestination(self.access_logs),
                apigateway.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS)),
            ),
        )
        # The page (`GET /`, served from the API's origin) uploads straight to S3 with the
        # pre-signed URL, and large counts reach it as a redirect to a pre-signed GET:
        # cross-origin requests the bucket must allow, for that origin only.
        bucket.add_cors_rule(
            allowed_methods=[s3.HttpMethods.PUT, s3.HttpMethods.GET],
            allowed_origins=[self.http_api.api_endpoint],
            allowed_headers=["*"],
            max_age=UPLOAD_EXPIRY_S,
        )

    @property
    def url(self) -> str:
        """The API's HTTPS endpoint, with a trailing slash."""
        url = self.stage.url
        assert url is not None
        return url


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLog:
    def __init__(
        self, destination: apigwv2.IAccessLogDestination, log_format: apigateway.AccessLogFormat
    ) -> None:
        self._destination = destination
        self._format = log_format

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigateway.AccessLogFormat | None:
        return self._format
