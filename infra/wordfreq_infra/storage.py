"""The bucket uploads land in; every new object is announced on the work queue."""

from __future__ import annotations

import math

import jsii
from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from aws_cdk.interfaces import aws_s3 as s3_refs
from constructs import Construct
from wordfreq_service.formats.jobs import RESULTS_PREFIX
from wordfreq_service.service.jobs import JOB_RETENTION_S

# A job's full counts (`results/<job_id>.csv.gz`) go with its record: S3 expires objects in
# whole days, so the retention rounded up. Where two rules match, S3 applies the shorter.
RESULTS_EXPIRY = Duration.days(math.ceil(JOB_RETENTION_S / 86_400))


class UploadBucket(Construct):
    """Private, encrypted, TLS-only bucket whose objects expire on their own: uploads (the
    compatible path's keys and the job path's `jobs/`) and the jobs' counts (`results/`)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, notify: sqs.IQueue, expiry: Duration
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=False,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-uploads",
                    expiration=expiry,
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                ),
                s3.LifecycleRule(
                    id="expire-results", prefix=RESULTS_PREFIX, expiration=RESULTS_EXPIRY
                ),
            ],
            # The bucket holds only transient uploads and results: `cdk destroy` empties and
            # removes it.
            auto_delete_objects=True,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.bucket.add_event_notification(s3.EventType.OBJECT_CREATED, QueueDestination(notify))


@jsii.implements(s3.IBucketNotificationDestination)
class QueueDestination:
    """An SQS queue as a notification destination, as `s3_notifications.SqsDestination`, but
    S3 may only send, and only for this bucket *in this account*.

    SqsDestination checks the bucket's ARN alone; bucket names are global, so a bucket of that
    name re-created in another account after this one is deleted would match it too.
    """

    def __init__(self, queue: sqs.IQueue) -> None:
        # A KMS-encrypted queue would also need S3 in its key policy; this stack's queues use
        # SQS-managed encryption.
        if queue.encryption_master_key is not None:
            raise ValueError("QueueDestination supports SQS-managed encryption only")
        self.queue = queue

    def bind(
        self, scope: Construct, bucket: s3_refs.IBucketRef
    ) -> s3.BucketNotificationDestinationConfig:
        bucket_arn = bucket.bucket_ref.bucket_arn
        self.queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid="S3Notifications",
                principals=[iam.ServicePrincipal("s3.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[self.queue.queue_arn],
                conditions={
                    "ArnLike": {"aws:SourceArn": bucket_arn},
                    "StringEquals": {"aws:SourceAccount": Stack.of(bucket).account},
                },
            )
        )
        # S3 checks the queue policy when the notification is configured: the configuration
        # depends on the queue, whose policy is one of its children.
        return s3.BucketNotificationDestinationConfig(
            arn=self.queue.queue_arn,
            type=s3.BucketNotificationDestinationType.QUEUE,
            dependencies=[self.queue],
        )
