"""The worker's settings and their defaults (the command line shows these)."""

from __future__ import annotations

from dataclasses import dataclass

from wordfreq_service.counting.inputs import DEFAULT_MAX_INPUT_BYTES
from wordfreq_service.formats.job_request import DEFAULT_MODE

#: SQS's longest visibility timeout: 12 hours.
MAX_VISIBILITY_TIMEOUT = 43200


@dataclass(frozen=True)
class WorkerSettings:
    visibility_timeout: int = 30
    wait_seconds: float = 20.0
    batch_size: int = 10
    drain_seconds: float = 25.0
    chunk_size: int = 1 << 20
    #: For objects without a job request in their metadata (the Go uploader sets none).
    default_mode: str = DEFAULT_MODE
    max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES
