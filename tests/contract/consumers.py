"""A consumer process for the concurrency cases (importable by a spawned child)."""

from __future__ import annotations

import random
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

from wordfreq_service.adapters.embedded import SqliteDatabase, SqliteQueue


def consume_embedded(database: Path, name: str, start: Barrier, results: Any) -> None:
    """Receive and delete from the queue until it stays empty; report (id, body) pairs."""
    queue = SqliteQueue(SqliteDatabase(database), name)
    start.wait()
    seen = consume(queue, seed=hash(start) ^ id(queue))
    results.put(seen)


def consume(queue: Any, *, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    seen: list[tuple[str, str]] = []
    while True:
        batch = queue.receive(rng.randint(1, 3), wait_seconds=1, visibility_timeout=30)
        if not batch:
            return seen
        for message in batch:
            seen.append((message.message_id, message.body))
            queue.delete(message.receipt_handle)
