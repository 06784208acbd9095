"""Alarms on the queues, sent to an encrypted SNS topic (optionally mailed to someone)."""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

ALARM_PERIOD = Duration.minutes(1)
CLOUDWATCH = "cloudwatch.amazonaws.com"


class QueueAlarms(Construct):
    """`topic` receives a message when an alarm goes off and when it clears:

    - the dead-letter queue holds a message (a file failed 5 times: look at it, redrive it);
    - the oldest message on the work queue has waited longer than `max_message_age`
      (the workers are stuck, failing, or too few for the load).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        work_queue: sqs.IQueue,
        dead_letter_queue: sqs.IQueue,
        max_message_age: Duration,
        email: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        # SNS encrypts with a customer managed key: the AWS managed aws/sns key cannot let
        # CloudWatch in, and alarms could not publish.
        self.key = kms.Key(
            self,
            "Key",
            description="Encrypts the wordfreq alarm topic",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
            pending_window=Duration.days(7),
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                principals=[iam.ServicePrincipal(CLOUDWATCH)],
                # As AWS documents it for alarms on encrypted topics; the topic policy below
                # decides which alarms may publish.
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
            )
        )
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name="wordfreq alarms",
            master_key=self.key,
            enforce_ssl=True,
        )
        # The stack's topic policy replaces SNS's default one: let CloudWatch publish, for
        # this account's alarms only.
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                principals=[iam.ServicePrincipal(CLOUDWATCH)],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": Stack.of(self).account},
                    "ArnLike": {
                        "aws:SourceArn": Stack.of(self).format_arn(
                            service="cloudwatch",
                            resource="alarm",
                            resource_name="*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    },
                },
            )
        )
        if email is not None:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))

        self.dead_letters = cloudwatch.Alarm(
            self,
            "DeadLetters",
            alarm_description="A file failed 5 times and was parked on the dead-letter queue.",
            metric=dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=ALARM_PERIOD, statistic=cloudwatch.Stats.MAXIMUM
            ),
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            threshold=0,
            evaluation_periods=1,
            # SQS stops publishing for a queue that has been empty and untouched for 6 hours.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.message_age = cloudwatch.Alarm(
            self,
            "OldestMessage",
            alarm_description=(
                f"A file has waited on the work queue for over {max_message_age.to_minutes()}"
                " minutes: the workers are stuck, failing, or too few."
            ),
            metric=work_queue.metric_approximate_age_of_oldest_message(
                period=ALARM_PERIOD, statistic=cloudwatch.Stats.MAXIMUM
            ),
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            threshold=max_message_age.to_seconds(),
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        action = cloudwatch_actions.SnsAction(self.topic)
        for alarm in (self.dead_letters, self.message_age):
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)
