"""The worker's settings and their defaults (the command line shows these)."""

from __future__ import annotations

from dataclasses import dataclass

from wordfreq_service.counting.inputs import DEFAULT_MAX_INPUT_BYTES
from wordfreq_service.counting.ranges import DEFAULT_SPLIT_THRESHOLD, SPLIT_THRESHOLD_ENV
from wordfreq_service.formats.job_request import DEFAULT_MODE
from wordfreq_service.ports import MAX_BATCH, MAX_LONG_POLL_S

__all__ = ["DEFAULT_SPLIT_THRESHOLD", "SPLIT_THRESHOLD_ENV", "WorkerSettings"]


@dataclass(frozen=True)
class WorkerSettings:
    #: Seconds a received message stays hidden (and what the keeper extends it to).
    #: None: the work queue's own, read from it once at start, so the queue's figure is
    #: the only one; a number overrides it on every receive.
    visibility_timeout: int | None = None
    wait_seconds: float = MAX_LONG_POLL_S
    batch_size: int = MAX_BATCH
    drain_seconds: float = 25.0
    chunk_size: int = 1 << 20
    #: For objects without a job request in their metadata (the Go uploader sets none).
    default_mode: str = DEFAULT_MODE
    max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES
    #: Threads that count one object (None: every core).
    threads: int | None = None
    #: How often to delete expired jobs and their stored counts; None: never (on AWS
    #: DynamoDB's TTL and the bucket's lifecycle rule do it).
    job_sweep_seconds: float | None = None
    #: Objects larger than this are split (where a job store keeps the parts' progress).
    split_threshold: int = DEFAULT_SPLIT_THRESHOLD
    #: After the store or a queue fails (unavailable, or a queue gone), the pause before
    #: trying again; doubled after each failure in a row up to ``max_backoff_seconds``,
    #: and back to this after a success.
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 30.0
