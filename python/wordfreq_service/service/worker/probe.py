"""Whether the object store takes writes again after a worker met it unavailable.

A tiny object is stored and deleted under ``results/``: workers take no events for that
prefix (the embedded store does not announce it; on AWS a worker ignores the events),
and the worker role may write and delete there already. Probing costs no message its
receive count, where receiving again to find out would spend one per try (five, then
the dead-letter queue)."""

from __future__ import annotations

import io
import uuid

from wordfreq_service.formats.jobs import RESULTS_PREFIX
from wordfreq_service.ports import ObjectStore

#: Where the probe objects go; one key per worker process and try, so workers never meet.
PROBE_PREFIX = f"{RESULTS_PREFIX}probe/"


def probe_store(store: ObjectStore) -> None:
    """Store and delete a one-byte object; raises what the store raises."""
    key = f"{PROBE_PREFIX}{uuid.uuid4().hex}"
    store.put(key, io.BytesIO(b"\n"))
    store.delete(key)
