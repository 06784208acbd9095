"""The upload bucket and the three queues."""

from __future__ import annotations

from aws_cdk.assertions import Match, Template
from infra_support import Resources, find, get_att, only

FOURTEEN_DAYS, FOUR_DAYS, TWO_HOURS = 1_209_600, 345_600, 7_200
TLS_DENY = {
    "Effect": "Deny",
    "Principal": {"AWS": "*"},
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


def test_bucket_is_private_encrypted_unversioned_and_expires_uploads(template: Template) -> None:
    template.resource_count_is("AWS::S3::Bucket", 1)
    template.has_resource(
        "AWS::S3::Bucket",
        {
            "Properties": {
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                    ]
                },
                "VersioningConfiguration": Match.absent(),
                "LifecycleConfiguration": {
                    "Rules": Match.array_with(
                        [Match.object_like({"ExpirationInDays": 14, "Status": "Enabled"})]
                    )
                },
            },
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
        },
    )


def test_bucket_policy_denies_plain_http(resources: Resources) -> None:
    bucket_id, _ = only(resources, "AWS::S3::Bucket")
    _, policy = only(resources, "AWS::S3::BucketPolicy", Bucket={"Ref": bucket_id})
    deny = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert len(deny) == 1
    assert deny[0] | TLS_DENY == deny[0]
    assert deny[0]["Action"] == "s3:*"


def test_bucket_objects_are_deleted_with_the_stack(resources: Resources) -> None:
    bucket_id, _ = only(resources, "AWS::S3::Bucket")
    only(resources, "Custom::S3AutoDeleteObjects", BucketName={"Ref": bucket_id})


def test_new_objects_are_announced_on_the_work_queue(resources: Resources) -> None:
    bucket_id, _ = only(resources, "AWS::S3::Bucket")
    work_id, _ = only(resources, "AWS::SQS::Queue", MessageRetentionPeriod=FOUR_DAYS)
    _, notifications = only(resources, "Custom::S3BucketNotifications")
    assert notifications["BucketName"] == {"Ref": bucket_id}
    assert notifications["NotificationConfiguration"] == {
        "QueueConfigurations": [{"Events": ["s3:ObjectCreated:*"], "QueueArn": get_att(work_id)}]
    }
    # S3 may send to the work queue, and nothing else, for this bucket in this account only.
    queue_policy_id, queue_policy = only(
        resources, "AWS::SQS::QueuePolicy", Queues=[{"Ref": work_id}]
    )
    [from_s3] = [
        s
        for s in queue_policy["PolicyDocument"]["Statement"]
        if s.get("Principal") == {"Service": "s3.amazonaws.com"}
    ]
    assert (from_s3["Effect"], from_s3["Action"]) == ("Allow", "sqs:SendMessage")
    assert from_s3["Resource"] == get_att(work_id)
    assert from_s3["Condition"] == {
        "ArnLike": {"aws:SourceArn": get_att(bucket_id)},
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
    }
    # S3 checks that policy when the notification is configured: it must exist by then.
    notifications_id, _ = only(resources, "Custom::S3BucketNotifications")
    assert queue_policy_id in resources[notifications_id].get("DependsOn", [])


def test_queue_retention_and_dead_letter_redrive(resources: Resources) -> None:
    assert len(find(resources, "AWS::SQS::Queue")) == 3
    dlq_id, _ = only(resources, "AWS::SQS::Queue", MessageRetentionPeriod=FOURTEEN_DAYS)
    _, work = only(resources, "AWS::SQS::Queue", MessageRetentionPeriod=FOUR_DAYS)
    only(resources, "AWS::SQS::Queue", MessageRetentionPeriod=TWO_HOURS)
    assert work["RedrivePolicy"] == {"deadLetterTargetArn": get_att(dlq_id), "maxReceiveCount": 5}
    # cdk.json's visibilityTimeoutSeconds; the workers get the same figure (test_infra_workers).
    assert work["VisibilityTimeout"] == 90


def test_every_queue_is_encrypted_and_tls_only(resources: Resources) -> None:
    for queue_id, queue in find(resources, "AWS::SQS::Queue").items():
        assert queue["SqsManagedSseEnabled"] is True, queue_id
        _, policy = only(resources, "AWS::SQS::QueuePolicy", Queues=[{"Ref": queue_id}])
        [deny] = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
        assert deny | TLS_DENY == deny, queue_id
        assert (deny["Action"], deny["Resource"]) == ("sqs:*", get_att(queue_id))
