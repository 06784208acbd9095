"""Alarms on the queues, sent to an encrypted SNS topic; log retention of every Lambda."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Template
from infra_support import Resources, find, get_att, only

FOURTEEN_DAYS, FOUR_DAYS = 1_209_600, 345_600


def _topic(resources: Resources) -> tuple[str, dict[str, Any]]:
    return only(resources, "AWS::SNS::Topic")


def _alarm_on(resources: Resources, queue_id: str, metric: str) -> dict[str, Any]:
    _, alarm = only(
        resources,
        "AWS::CloudWatch::Alarm",
        MetricName=metric,
        Dimensions=[{"Name": "QueueName", "Value": get_att(queue_id, "QueueName")}],
    )
    topic_id, _ = _topic(resources)
    # It goes off and clears on the topic.
    assert alarm["AlarmActions"] == [{"Ref": topic_id}]
    assert alarm["OKActions"] == [{"Ref": topic_id}]
    # An empty queue that nobody touches stops publishing metrics: that is not an alarm.
    assert alarm["TreatMissingData"] == "notBreaching"
    return alarm


def test_dead_letter_queue_not_empty_alarm(resources: Resources) -> None:
    dlq_id, _ = only(resources, "AWS::SQS::Queue", MessageRetentionPeriod=FOURTEEN_DAYS)
    alarm = _alarm_on(resources, dlq_id, "ApproximateNumberOfMessagesVisible")
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
    assert (alarm["Statistic"], alarm["EvaluationPeriods"]) == ("Maximum", 1)


def test_oldest_message_age_alarm(resources: Resources) -> None:
    work_id, _ = only(resources, "AWS::SQS::Queue", MessageRetentionPeriod=FOUR_DAYS)
    alarm = _alarm_on(resources, work_id, "ApproximateAgeOfOldestMessage")
    # cdk.json's messageAgeAlarmMinutes, 15.
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 900)
    assert alarm["Statistic"] == "Maximum"


def test_alarm_topic_is_encrypted_tls_only_and_an_output(
    template: Template, resources: Resources
) -> None:
    topic_id, topic = _topic(resources)
    key_id = topic["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key = resources[key_id]["Properties"]
    assert resources[key_id]["Type"] == "AWS::KMS::Key"
    assert key["EnableKeyRotation"] is True
    # The AWS managed aws/sns key would lock CloudWatch out: the key lets it encrypt.
    [for_alarms] = [
        s
        for s in key["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert set(for_alarms["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    _, policy = only(resources, "AWS::SNS::TopicPolicy", Topics=[{"Ref": topic_id}])
    statements = policy["PolicyDocument"]["Statement"]
    [deny] = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # The topic policy replaces SNS's default one: CloudWatch alarms of this account publish.
    [allow] = [s for s in statements if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert (allow["Action"], allow["Resource"]) == ("sns:Publish", {"Ref": topic_id})
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    source_arn = allow["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Join"][1]
    assert ":cloudwatch:" in source_arn and source_arn[-1] == ":alarm:*"
    assert template.to_json()["Outputs"]["alarmTopicArn"]["Value"] == {"Ref": topic_id}
    # No subscription unless alarmEmail is set (test_infra_stack sets it).
    assert not find(resources, "AWS::SNS::Subscription")


def test_every_lambda_logs_to_a_log_group_with_retention(resources: Resources) -> None:
    """CDK's own deploy-time functions (bucket notifications, emptying the bucket, the VPC's
    default security group) would otherwise log to groups kept forever, left behind."""
    functions = find(resources, "AWS::Lambda::Function")
    assert len(functions) >= 3
    groups = set()
    for function_id, function in functions.items():
        group = function.get("LoggingConfig", {}).get("LogGroup")
        assert group is not None, f"{function_id} has no log group of its own"
        group_id = group["Ref"]
        assert resources[group_id]["Type"] == "AWS::Logs::LogGroup"
        # cdk.json's logRetentionDays; the group goes with the stack.
        assert resources[group_id]["Properties"]["RetentionInDays"] == 30, function_id
        assert resources[group_id]["DeletionPolicy"] == "Delete"
        groups.add(group_id)
    assert len(groups) == len(functions)
