"""boto3 sessions, optionally in an assumed role, and the stack's outputs.

The region and the endpoints come from the standard AWS configuration (environment,
profile, instance metadata); nothing here names one.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
import botocore.session
import structlog
from botocore.credentials import (
    AssumeRoleCredentialFetcher,
    CredentialProvider,
    DeferredRefreshableCredentials,
)
from botocore.exceptions import BotoCoreError, ClientError

from wordfreq_service.adapters.aws.boto_errors import translate, translated
from wordfreq_service.adapters.aws.clients import CLIENT_CONFIG, cloudformation_client
from wordfreq_service.errors import ConfigError

log = structlog.get_logger()

#: Credentials last an hour; botocore renews them 15 minutes before they expire.
ROLE_SESSION_SECONDS = 3600


def make_session(region: str | None = None, role_arn: str | None = None) -> boto3.Session:
    """A session for ``region`` (None: the configured one). With ``role_arn``, its
    credentials come from STS AssumeRole, using the default credentials, and renew
    themselves before they expire, so long-running services never see them lapse."""
    if role_arn is None:
        return boto3.Session(region_name=region)
    source = _botocore_session(region)
    with translated("loading the credentials to assume a role with"):
        source_credentials = source.get_credentials()
    if source_credentials is None:
        raise ConfigError(f"no AWS credentials to assume {role_arn} with")
    log.info("Creating new role provider for role", role_arn=role_arn, region=region)
    fetcher = AssumeRoleCredentialFetcher(
        client_creator=source.create_client,
        source_credentials=source_credentials,
        role_arn=role_arn,
        extra_args={
            "RoleSessionName": f"wordfreq-{os.getpid()}",
            "DurationSeconds": ROLE_SESSION_SECONDS,
        },
    )

    def fetch() -> dict[str, Any]:
        log.info("Requesting config from STS", role_arn=role_arn)
        credentials: dict[str, Any] = fetcher.fetch_credentials()
        return credentials

    target = _botocore_session(region)
    resolver = target.get_component("credential_provider")
    resolver.insert_before("env", _AssumedRoleProvider(fetch))
    return boto3.Session(botocore_session=target)


def stack_outputs(session: boto3.Session, stack_name: str) -> dict[str, str]:
    """The CloudFormation stack's outputs (``bucketName``, ``resultQueueUrl``,
    ``submitRoleArn``, ``InputQueueUrl``...) by output key."""
    client = cloudformation_client(session)
    try:
        stacks = client.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as exc:
        if "does not exist" in str(exc):
            raise ConfigError(f"no CloudFormation stack named {stack_name!r}") from exc
        raise translate(exc, f"describing stack {stack_name}") from exc
    except BotoCoreError as exc:
        raise translate(exc, f"describing stack {stack_name}") from exc
    if not stacks:
        raise ConfigError(f"no CloudFormation stack named {stack_name!r}")
    return {
        output["OutputKey"]: output["OutputValue"]
        for output in stacks[0].get("Outputs", [])
        if "OutputKey" in output and "OutputValue" in output
    }


def read_secret(session: boto3.Session, secret_id: str) -> str:
    """A Secrets Manager secret's string (the job API's key, ``apiKeySecretArn``)."""
    client = session.client("secretsmanager", config=CLIENT_CONFIG)
    try:
        return str(client.get_secret_value(SecretId=secret_id)["SecretString"])
    except (ClientError, BotoCoreError, KeyError) as exc:
        raise ConfigError(
            f"cannot read the job API's key from {secret_id}: {exc} "
            "(give it with --api-key or WORDFREQ_API_KEY)"
        ) from exc


def _botocore_session(region: str | None) -> botocore.session.Session:
    session = botocore.session.Session()
    if region is not None:
        session.set_config_variable("region", region)
    return session


class _AssumedRoleProvider(CredentialProvider):
    """Hands botocore credentials that renew themselves through ``fetch``."""

    METHOD = "assume-role"
    CANONICAL_NAME = "custom-wordfreq-assume-role"

    def __init__(self, fetch: Any) -> None:
        super().__init__()
        self._fetch = fetch

    def load(self) -> DeferredRefreshableCredentials:
        return DeferredRefreshableCredentials(refresh_using=self._fetch, method=self.METHOD)
