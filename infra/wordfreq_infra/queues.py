"""The work queue (fed by S3 notifications), its dead-letter queue and the result queue."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

# A message is tried this many times before it is parked on the dead-letter queue.
MAX_RECEIVE_COUNT = 5
WORK_RETENTION = Duration.days(4)
# The DLQ keeps a message's original enqueue time, so it must outlive the work queue's retention.
DEAD_LETTER_RETENTION = Duration.days(14)
RESULT_RETENTION = Duration.hours(2)


def _queue(
    scope: Construct,
    construct_id: str,
    *,
    retention: Duration,
    visibility_timeout: Duration | None = None,
    dead_letter_queue: sqs.DeadLetterQueue | None = None,
) -> sqs.Queue:
    return sqs.Queue(
        scope,
        construct_id,
        retention_period=retention,
        visibility_timeout=visibility_timeout,
        dead_letter_queue=dead_letter_queue,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
    )


class WorkQueues(Construct):
    """`work` receives upload notifications, `results` carries the counts back."""

    def __init__(
        self, scope: Construct, construct_id: str, *, visibility_timeout: Duration
    ) -> None:
        """`visibility_timeout` is the work queue's: the workers read it from the queue at
        start, receive with it and extend it while a job runs."""
        super().__init__(scope, construct_id)
        self.dead_letters = _queue(self, "DeadLetters", retention=DEAD_LETTER_RETENTION)
        self.work = _queue(
            self,
            "Work",
            retention=WORK_RETENTION,
            visibility_timeout=visibility_timeout,
            dead_letter_queue=sqs.DeadLetterQueue(
                max_receive_count=MAX_RECEIVE_COUNT, queue=self.dead_letters
            ),
        )
        self.results = _queue(self, "Results", retention=RESULT_RETENTION)
