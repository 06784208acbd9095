"""The worker's settings."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WorkerSettings:
    visibility_timeout: int = 30
    wait_seconds: float = 20.0
    batch_size: int = 10
    drain_seconds: float = 25.0
    chunk_size: int = 1 << 20
    default_mode: str = "words"
    default_top: int = 10
