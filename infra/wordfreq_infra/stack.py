"""WordfreqStack: S3 upload -> SQS work queue -> Fargate workers -> SQS result queue, or the
job table and `results/`; the job API (API Gateway -> Lambda) in front."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from constructs import Construct
from wordfreq_service.api.settings import API_KEY_SECRET_OUTPUT, API_URL_OUTPUT

from wordfreq_infra.access import SubmitterRole, grant_worker
from wordfreq_infra.alarms import QueueAlarms
from wordfreq_infra.api import JobApi
from wordfreq_infra.config import WordfreqConfig
from wordfreq_infra.job_table import JobTable
from wordfreq_infra.lambda_logs import retain_lambda_logs
from wordfreq_infra.nag import suppress_accepted_findings
from wordfreq_infra.queues import WorkQueues
from wordfreq_infra.storage import UploadBucket
from wordfreq_infra.workers import Workers

# The Docker build context: the repository root, filtered by its .dockerignore.
REPO_ROOT = Path(__file__).resolve().parents[2]
UPLOAD_EXPIRY = Duration.days(14)
# The original Go sample's outputs and their CloudFormation export names, kept so that a stack
# importing them (Fn::ImportValue) works against this one: output -> export name.
SEED_EXPORTS = {
    "InputQueueUrl": "inputQueueUrl",
    "bucketName": "bucketName",
    "resultQueueUrl": "resultQueueUrl",
    "submitRoleArn": "submitRole",
}


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
        self.queues = queues = WorkQueues(
            self, "Queues", visibility_timeout=Duration.seconds(config.visibility_timeout_seconds)
        )
        self.uploads = uploads = UploadBucket(
            self, "Uploads", notify=queues.work, expiry=UPLOAD_EXPIRY
        )
        self.jobs = jobs = JobTable(self, "Jobs")
        self.workers = workers = Workers(
            self,
            "Workers",
            config=config,
            work_queue=queues.work,
            result_queue=queues.results,
            job_table=jobs.table,
            source_dir=source_dir,
        )
        grant_worker(
            workers.task_definition.task_role,
            bucket=uploads.bucket,
            work_queue=queues.work,
            result_queue=queues.results,
            job_table=jobs.table,
            cluster=workers.cluster,
        )
        self.api = api = JobApi(
            self,
            "Api",
            config=config,
            bucket=uploads.bucket,
            job_table=jobs.table,
            source_dir=source_dir,
        )
        self.submitter = submitter = SubmitterRole(
            self,
            "Submitter",
            bucket=uploads.bucket,
            result_queue=queues.results,
            principal=config.submitter_principal,
        )
        self.alarms = alarms = QueueAlarms(
            self,
            "Alarms",
            work_queue=queues.work,
            dead_letter_queue=queues.dead_letters,
            max_message_age=Duration.minutes(config.message_age_alarm_minutes),
            email=config.alarm_email,
        )
        # Output names (and export names) as the original sample had them; `wordfreq submit`
        # reads the outputs.
        for output_id, value, description in (
            (
                "InputQueueUrl",
                queues.work.queue_url,
                "Work queue: S3 announces each upload here, the workers consume it",
            ),
            (
                "bucketName",
                uploads.bucket.bucket_name,
                "Bucket to upload files to (objects expire after 14 days)",
            ),
            (
                "resultQueueUrl",
                queues.results.queue_url,
                "Queue the workers post each file's word counts to",
            ),
            (
                "submitRoleArn",
                submitter.role.role_arn,
                "Role to assume to upload files and collect their results",
            ),
        ):
            CfnOutput(
                self,
                output_id,
                value=value,
                description=description,
                export_name=SEED_EXPORTS[output_id],
            )
        CfnOutput(
            self,
            "alarmTopicArn",
            value=alarms.topic.topic_arn,
            description="SNS topic of the queue alarms (dead letters, messages waiting too long)",
        )
        CfnOutput(self, API_URL_OUTPUT, value=api.url, description="HTTPS endpoint of the job API")
        CfnOutput(
            self,
            API_KEY_SECRET_OUTPUT,
            value=api.api_key.secret_arn,
            description="Secrets Manager secret holding the API key (X-Api-Key on POST /jobs)",
        )
        retain_lambda_logs(self, config.log_retention_days)
        suppress_accepted_findings(
            self,
            bucket=uploads.bucket,
            results=queues.results,
            workers=workers,
            submitter=submitter.role,
            api=api,
        )
