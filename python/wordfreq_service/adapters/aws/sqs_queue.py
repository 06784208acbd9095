"""The message queue port on Amazon SQS."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from wordfreq_service.adapters.aws.boto_errors import translated
from wordfreq_service.errors import BackendError
from wordfreq_service.ports import MAX_BATCH, MAX_LONG_POLL_S, Message, check_delay

#: How long a queue's redrive policy is trusted before it is read again: a deployment
#: may change it under running workers, but it is wanted only when a job fails.
REDRIVE_POLICY_TTL_S = 300.0

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef


class SqsQueue:
    """One queue by URL; implements ``ports.MessageQueue``. Thread-safe, like its client."""

    def __init__(self, client: SQSClient, url: str) -> None:
        self._client = client
        self._url = url
        #: (when read, maxReceiveCount) of the redrive policy.
        self._redrive: tuple[float, int | None] | None = None

    @property
    def url(self) -> str:
        return self._url

    def send(self, body: str, delay_seconds: int = 0) -> str:
        check_delay(delay_seconds)
        with translated(f"sending to {self._url}"):
            return self._client.send_message(
                QueueUrl=self._url, MessageBody=body, DelaySeconds=delay_seconds
            )["MessageId"]

    def receive(
        self,
        max_messages: int = 1,
        wait_seconds: float = 0,
        visibility_timeout: int | None = None,
    ) -> list[Message]:
        if not 1 <= max_messages <= MAX_BATCH:
            raise ValueError(f"max_messages must be 1..{MAX_BATCH}, not {max_messages}")
        if not 0 <= wait_seconds <= MAX_LONG_POLL_S:
            raise ValueError(f"wait_seconds must be 0..{MAX_LONG_POLL_S}, not {wait_seconds}")
        # Omitted, VisibilityTimeout means the queue's own.
        override: dict[str, Any] = {}
        if visibility_timeout is not None:
            override["VisibilityTimeout"] = visibility_timeout
        with translated(f"receiving from {self._url}"):
            response = self._client.receive_message(
                QueueUrl=self._url,
                MaxNumberOfMessages=max_messages,
                WaitTimeSeconds=math.ceil(wait_seconds),
                MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
                **override,
            )
        return [_message(m) for m in response.get("Messages", [])]

    def delete(self, receipt_handle: str) -> None:
        with translated(f"deleting from {self._url}"):
            self._client.delete_message(QueueUrl=self._url, ReceiptHandle=receipt_handle)

    def delete_batch(self, receipt_handles: Sequence[str]) -> list[str]:
        if len(receipt_handles) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} receipt handles per batch")
        if not receipt_handles:
            return []  # SQS rejects an empty batch
        with translated(f"deleting from {self._url}"):
            response = self._client.delete_message_batch(
                QueueUrl=self._url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": handle}
                    for i, handle in enumerate(receipt_handles)
                ],
            )
        # HTTP 200 does not mean every entry was deleted: each reports on its own.
        failed = {entry["Id"] for entry in response.get("Failed", [])}
        return [handle for i, handle in enumerate(receipt_handles) if str(i) in failed]

    def change_visibility(self, receipt_handle: str, timeout: int) -> None:
        with translated(f"changing visibility in {self._url}"):
            self._client.change_message_visibility(
                QueueUrl=self._url, ReceiptHandle=receipt_handle, VisibilityTimeout=timeout
            )

    def approximate_count(self) -> int:
        with translated(f"counting {self._url}"):
            attributes = self._client.get_queue_attributes(
                QueueUrl=self._url, AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]
        return int(attributes.get("ApproximateNumberOfMessages", "0"))

    def visibility_timeout(self) -> int:
        with translated(f"reading the visibility timeout of {self._url}"):
            attributes = self._client.get_queue_attributes(
                QueueUrl=self._url, AttributeNames=["VisibilityTimeout"]
            ).get("Attributes", {})
        try:
            return int(attributes["VisibilityTimeout"])
        except (KeyError, ValueError) as exc:
            raise BackendError(f"{self._url}: no readable VisibilityTimeout") from exc

    def max_receive_count(self) -> int | None:
        cached = self._redrive
        if cached is not None and time.monotonic() - cached[0] < REDRIVE_POLICY_TTL_S:
            return cached[1]
        with translated(f"reading the redrive policy of {self._url}"):
            response = self._client.get_queue_attributes(
                QueueUrl=self._url, AttributeNames=["RedrivePolicy"]
            )
        # A queue without the attribute answers without "Attributes" at all.
        attributes = response.get("Attributes", {})
        count = _max_receive_count(attributes.get("RedrivePolicy"), self._url)
        self._redrive = (time.monotonic(), count)
        return count


def _max_receive_count(policy: str | None, url: str) -> int | None:
    """maxReceiveCount from a RedrivePolicy attribute (JSON; SQS has written the number
    both as a string and as a number)."""
    if not policy:
        return None
    try:
        return int(json.loads(policy)["maxReceiveCount"])
    except (ValueError, TypeError, KeyError) as exc:
        raise BackendError(f"{url}: unreadable RedrivePolicy {policy!r}") from exc


def _message(raw: MessageTypeDef) -> Message:
    attributes = raw.get("Attributes", {})
    sent_ms = attributes.get("SentTimestamp")
    return Message(
        message_id=raw["MessageId"],
        receipt_handle=raw["ReceiptHandle"],
        body=raw.get("Body", ""),
        receive_count=int(attributes.get("ApproximateReceiveCount", "1")),
        sent_timestamp=int(sent_ms) / 1000 if sent_ms else time.time(),
    )
