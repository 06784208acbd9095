"""WordfreqStack: S3 upload -> SQS work queue -> Fargate workers -> SQS result queue."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from constructs import Construct

from wordfreq_infra.access import SubmitterRole, grant_worker
from wordfreq_infra.config import WordfreqConfig
from wordfreq_infra.nag import suppress_accepted_findings
from wordfreq_infra.queues import WorkQueues
from wordfreq_infra.storage import UploadBucket
from wordfreq_infra.workers import Workers

# The Docker build context: the repository root, filtered by its .dockerignore.
REPO_ROOT = Path(__file__).resolve().parents[2]
UPLOAD_EXPIRY = Duration.days(14)


class WordfreqStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: WordfreqConfig,
        source_dir: Path = REPO_ROOT,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.queues = queues = WorkQueues(self, "Queues")
        self.uploads = uploads = UploadBucket(
            self, "Uploads", notify=queues.work, expiry=UPLOAD_EXPIRY
        )
        self.workers = workers = Workers(
            self,
            "Workers",
            config=config,
            work_queue=queues.work,
            result_queue=queues.results,
            source_dir=source_dir,
        )
        grant_worker(
            workers.task_definition.task_role,
            bucket=uploads.bucket,
            result_queue=queues.results,
            cluster=workers.cluster,
        )
        self.submitter = submitter = SubmitterRole(
            self,
            "Submitter",
            bucket=uploads.bucket,
            result_queue=queues.results,
            principal=config.submitter_principal,
        )
        # Output names as the original sample had them; `wordfreq submit` reads them.
        CfnOutput(
            self,
            "InputQueueUrl",
            value=queues.work.queue_url,
            description="Work queue: S3 announces each upload here, the workers consume it",
        )
        CfnOutput(
            self,
            "bucketName",
            value=uploads.bucket.bucket_name,
            description="Bucket to upload files to (objects expire after 14 days)",
        )
        CfnOutput(
            self,
            "resultQueueUrl",
            value=queues.results.queue_url,
            description="Queue the workers post each file's word counts to",
        )
        CfnOutput(
            self,
            "submitRoleArn",
            value=submitter.role.role_arn,
            description="Role to assume to upload files and collect their results",
        )
        suppress_accepted_findings(
            self,
            bucket=uploads.bucket,
            results=queues.results,
            workers=workers,
            submitter=submitter.role,
        )
