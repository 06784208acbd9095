"""The worker's settings and their defaults (the command line shows these)."""

from __future__ import annotations

from dataclasses import dataclass

#: SQS's longest visibility timeout: 12 hours.
MAX_VISIBILITY_TIMEOUT = 43200


@dataclass(frozen=True)
class WorkerSettings:
    visibility_timeout: int = 30
    wait_seconds: float = 20.0
    batch_size: int = 10
    drain_seconds: float = 25.0
    chunk_size: int = 1 << 20
    default_mode: str = "words"
    default_top: int = 10
