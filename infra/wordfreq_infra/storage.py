"""The bucket uploads land in; every new object is announced on the work queue."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sqs as sqs
from constructs import Construct


class UploadBucket(Construct):
    """Private, encrypted, TLS-only bucket whose objects expire on their own."""

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
                )
            ],
            # The bucket holds only transient uploads: `cdk destroy` empties and removes it.
            auto_delete_objects=True,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.bucket.add_event_notification(s3.EventType.OBJECT_CREATED, s3n.SqsDestination(notify))
