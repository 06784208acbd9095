"""Deployment parameters, read from CDK context (`cdk.json` or `cdk synth -c key=value`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from constructs import Node
from wordfreq_service.service.jobs import DEFAULT_MAX_UPLOAD_BYTES
from wordfreq_service.service.worker.settings import DEFAULT_SPLIT_THRESHOLD

# The retention periods CloudWatch Logs accepts (AWS::Logs::LogGroup RetentionInDays).
VALID_LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557}
    | {2922, 3288, 3653}
)
# Fargate task sizes: CPU units -> allowed memory in MiB (1024 units = 1 vCPU).
FARGATE_MEMORY_MIB: dict[int, range] = {
    256: range(512, 2049, 512),
    512: range(1024, 4097, 1024),
    1024: range(2048, 8193, 1024),
    2048: range(4096, 16385, 1024),
    4096: range(8192, 30721, 1024),
}
# SQS visibility timeouts run from 0 s to 12 hours; under 10 s the worker would spend its
# time extending the visibility of the messages it holds (it does so at a third of it).
VISIBILITY_TIMEOUT_SECONDS = range(10, 43_201)
# The work queue keeps a message 4 days: an age alarm past that could never fire.
MESSAGE_AGE_ALARM_MINUTES = range(1, 4 * 24 * 60)
# API Gateway's account-level limits per region (the stage's throttle cannot exceed them).
API_THROTTLE_RATE = range(1, 10_001)
API_THROTTLE_BURST = range(1, 5_001)
# S3 takes at most 5 GiB in one PUT, which is what a pre-signed upload URL allows.
API_MAX_UPLOAD_BYTES = range(1, 5 * 2**30 + 1)
# The split threshold: from 1 MiB (smaller ranges cost more in requests than they save)
# to 1 PiB (the worker's largest size).
SPLIT_THRESHOLD_BYTES = range(1 << 20, (1 << 50) + 1)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TRUE = frozenset(("1", "true", "yes", "on"))
_FALSE = frozenset(("0", "false", "no", "off", ""))


@dataclass(frozen=True, kw_only=True)
class WordfreqConfig:
    """Context parameters; the defaults match `cdk.json` (a test keeps them in step)."""

    max_tasks: int = 4
    task_cpu: int = 512
    task_memory_mib: int = 1024
    log_retention_days: int = 30
    worker_debug: bool = False
    submitter_principal: str | None = None
    # The one visibility timeout of the work queue; the workers read it from the queue.
    visibility_timeout_seconds: int = 90
    # Alarm when the oldest message on the work queue has waited longer than this.
    message_age_alarm_minutes: int = 15
    # Subscribe this address to the alarm topic (AWS mails it a confirmation link first).
    alarm_email: str | None = None
    # The job API stage's default route throttle: steady requests per second, and burst.
    api_throttle_rate: int = 50
    api_throttle_burst: int = 100
    # The largest upload `POST /jobs` accepts, in bytes.
    api_max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    # Objects larger than this are split into byte ranges that all tasks count.
    split_threshold_bytes: int = DEFAULT_SPLIT_THRESHOLD

    # The context key of each field, as written in cdk.json and on the command line.
    CONTEXT_KEYS: ClassVar[Mapping[str, str]] = {
        "max_tasks": "maxTasks",
        "task_cpu": "taskCpu",
        "task_memory_mib": "taskMemoryMiB",
        "log_retention_days": "logRetentionDays",
        "worker_debug": "workerDebug",
        "submitter_principal": "submitterPrincipal",
        "visibility_timeout_seconds": "visibilityTimeoutSeconds",
        "message_age_alarm_minutes": "messageAgeAlarmMinutes",
        "alarm_email": "alarmEmail",
        "api_throttle_rate": "apiThrottleRate",
        "api_throttle_burst": "apiThrottleBurst",
        "api_max_upload_bytes": "apiMaxUploadBytes",
        "split_threshold_bytes": "splitThresholdBytes",
    }
    # Parameters that are text; the others are integers, except the flag `workerDebug`.
    _TEXT: ClassVar[frozenset[str]] = frozenset({"submitter_principal", "alarm_email"})

    def __post_init__(self) -> None:
        if not 1 <= self.max_tasks <= 1000:
            raise ValueError(f"maxTasks must be between 1 and 1000, got {self.max_tasks}")
        memory = FARGATE_MEMORY_MIB.get(self.task_cpu)
        if memory is None:
            raise ValueError(f"taskCpu must be one of {sorted(FARGATE_MEMORY_MIB)}")
        if self.task_memory_mib not in memory:
            raise ValueError(
                f"taskMemoryMiB {self.task_memory_mib} is not valid with taskCpu {self.task_cpu}"
                f" (Fargate allows {memory.start}..{memory.stop - 1} in steps of {memory.step})"
            )
        if self.log_retention_days not in VALID_LOG_RETENTION_DAYS:
            raise ValueError(
                f"logRetentionDays must be one of {sorted(VALID_LOG_RETENTION_DAYS)},"
                f" got {self.log_retention_days}"
            )
        _check_range(
            "visibilityTimeoutSeconds", self.visibility_timeout_seconds, VISIBILITY_TIMEOUT_SECONDS
        )
        _check_range(
            "messageAgeAlarmMinutes", self.message_age_alarm_minutes, MESSAGE_AGE_ALARM_MINUTES
        )
        _check_range("apiThrottleRate", self.api_throttle_rate, API_THROTTLE_RATE)
        _check_range("apiThrottleBurst", self.api_throttle_burst, API_THROTTLE_BURST)
        _check_range("apiMaxUploadBytes", self.api_max_upload_bytes, API_MAX_UPLOAD_BYTES)
        _check_range("splitThresholdBytes", self.split_threshold_bytes, SPLIT_THRESHOLD_BYTES)
        if self.alarm_email is not None and not _EMAIL.match(self.alarm_email):
            raise ValueError(f"alarmEmail must be an email address, got {self.alarm_email!r}")

    @classmethod
    def from_context(cls, node: Node) -> WordfreqConfig:
        """Read every parameter present in the context; absent ones keep their default."""
        values: dict[str, Any] = {}
        for name, key in cls.CONTEXT_KEYS.items():
            raw = node.try_get_context(key)
            if raw is None:
                continue
            if name == "worker_debug":
                values[name] = _parse_bool(key, raw)
            elif name in cls._TEXT:
                values[name] = str(raw).strip() or None
            else:
                values[name] = _parse_int(key, raw)
        return cls(**values)


def _check_range(key: str, value: int, allowed: range) -> None:
    if value not in allowed:
        raise ValueError(
            f"{key} must be between {allowed.start} and {allowed.stop - 1}, got {value}"
        )


def _parse_int(key: str, raw: object) -> int:
    # `-c key=7` arrives as the string "7", cdk.json's 7 as a number.
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise ValueError(f"context {key} must be an integer, got {raw!r}")
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"context {key} must be an integer, got {raw!r}") from None


def _parse_bool(key: str, raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"context {key} must be true or false, got {raw!r}")
