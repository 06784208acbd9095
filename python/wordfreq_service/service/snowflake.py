"""Snowflake job IDs, as the seed's worker made them.

64 bits: 41 bits of milliseconds since the Twitter epoch (what the seed's snowflake
library used), 10 bits of node ID chosen at random per process, 12 bits of sequence.
IDs from one process are strictly increasing; rendered in base36 like the seed's.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time

EPOCH_MS = 1288834974657
NODE_BITS = 10
STEP_BITS = 12
_STEP_MASK = (1 << STEP_BITS) - 1
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def base36(value: int) -> str:
    if value == 0:
        return "0"
    digits = []
    while value:
        value, rem = divmod(value, 36)
        digits.append(_ALPHABET[rem])
    return "".join(reversed(digits))


def timestamp_ms(job_id: int) -> int:
    """When an ID was made, in milliseconds since the Unix epoch."""
    return (job_id >> (NODE_BITS + STEP_BITS)) + EPOCH_MS


def derived_id(unix_ms: int, name: str) -> int:
    """An ID of the same shape, the same every time for the same time and ``name``: for a
    result that more than one worker may deliver (a big object's merge), so repeats
    carry one ID. The node and sequence bits come from a digest of ``name``."""
    low = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big")
    ms = min(max(unix_ms - EPOCH_MS, 0), (1 << 41) - 1)
    return (ms << (NODE_BITS + STEP_BITS)) | (low & ((1 << (NODE_BITS + STEP_BITS)) - 1))


class Snowflake:
    def __init__(self, node: int | None = None) -> None:
        self.node = secrets.randbelow(1 << NODE_BITS) if node is None else node
        if not 0 <= self.node < 1 << NODE_BITS:
            raise ValueError("node out of range")
        self._lock = threading.Lock()
        self._last_ms = -1
        self._step = 0

    def next_id(self) -> int:
        with self._lock:
            now = max(int(time.time() * 1000) - EPOCH_MS, self._last_ms)
            if now == self._last_ms:
                self._step = (self._step + 1) & _STEP_MASK
                if self._step == 0:
                    # 4096 IDs in one millisecond: borrow the next one rather than wait.
                    now += 1
            else:
                self._step = 0
            self._last_ms = now
            return (now << (NODE_BITS + STEP_BITS)) | (self.node << STEP_BITS) | self._step

    def next_base36(self) -> str:
        return base36(self.next_id())
