"""The range task: the work-queue message that asks a worker to count one byte range of a
big object (``service/worker/split.py``).

The worker that splits an object sends one per range to the work queue, beside the S3
events there. A body is ``{"RangeTask": {...}}``, a JSON object with that one member, so
it is told from S3's bodies (``{"Records": [...]}``, the ``s3:TestEvent``) by its shape;
the fields are those of :class:`RangeTask`. The original Go worker, sharing the queue,
cannot read one (it is not an S3 event): a stack that runs it beside wordfreq's must
not split (``--split-threshold`` above any upload's size).

The split ID is a digest of the object's bucket, key, ETag and size, of the event that
announced it (S3's ``sequencer``, else its time) and of the plan (the part count): a
redelivered event for the same object sends the same tasks again, which the job store's
per-part progress takes as duplicates, while the same bytes uploaded again (a new event)
are a new split, and a worker with another threshold (a redelivery during a rolling
configuration change) makes a split of its own rather than mix two plans in one progress
record. Every number is bounded (``MAX_OFFSET``, ``counting.ranges.MAX_PARTS``), so a
hostile task is a ``BadMessage``, not an overflow in a store.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Final

from wordfreq_service.counting.ranges import MAX_PARTS
from wordfreq_service.errors import BadMessage
from wordfreq_service.formats.jobs import RESULTS_PREFIX
from wordfreq_service.formats.s3event import format_time, parse_time

#: The one member of a range task's body.
RANGE_TASK: Final = "RangeTask"
#: Where the parts' counts go: under ``results/``, which workers ignore and the bucket's
#: lifecycle rule expires.
PARTS_PREFIX: Final = f"{RESULTS_PREFIX}parts/"
#: User metadata of a part's counts: the runs too long to count in its range.
SKIPPED_METADATA: Final = "skipped"
#: The largest size or offset a task may name: past any object, and within the 64-bit
#: integers of the stores' progress records.
MAX_OFFSET: Final = 1 << 62


def split_id_of(bucket: str, key: str, etag: str, size: int, event: str, parts: int) -> str:
    """The split of this version of this object, announced by ``event`` (its identity:
    S3's sequencer, else its time), into ``parts`` ranges: 32 hex digits."""
    text = json.dumps([bucket, key, etag, size, event, parts], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def part_key(split_id: str, part: int) -> str:
    """Where part ``part``'s full counts are stored (gzip-compressed counts CSV)."""
    return f"{PARTS_PREFIX}{split_id}/{part}.csv.gz"


@dataclass(frozen=True)
class RangeTask:
    bucket: str
    key: str
    #: The object as it was split, which is the event's upload (an object replaced
    #: before the split is not split); a range finding another ETag fails the object,
    #: and the result names it for the client that uploaded it.
    etag: str
    size: int
    split_id: str
    #: 0-based; the first part's input is counted from the object's start (BOM and all).
    part: int
    parts: int
    #: The nominal range ``[start, end)`` (``counting.ranges.plan_ranges``).
    start: int
    end: int
    #: The event time of the upload, which a result's Duration counts from.
    event_time: datetime
    #: The job request read from the object when it was split, in its API JSON form
    #: (``JobRequest.to_json``): every range and the merge count with the same one.
    options: Mapping[str, Any]
    #: The job whose upload the object is (the job path); None: the compatible path.
    job_id: str | None = None

    @property
    def part_key(self) -> str:
        return part_key(self.split_id, self.part)

    def to_json(self) -> str:
        fields = asdict(self)
        fields["event_time"] = format_time(self.event_time)
        fields["options"] = dict(self.options)
        return json.dumps({RANGE_TASK: fields}, ensure_ascii=False, separators=(",", ":"))


def parse_range_task(body: str) -> RangeTask | None:
    """The range task ``body`` holds; None when it is no range task (an S3 event, or
    anything else, left to the S3 event parser); ``BadMessage`` for a damaged one."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(document, dict) or RANGE_TASK not in document:
        return None
    fields = document[RANGE_TASK]
    if not isinstance(fields, dict):
        raise BadMessage(f"{RANGE_TASK}: expected an object")
    where = f"$.{RANGE_TASK}"
    job_id = fields.get("job_id")
    if job_id is not None and not isinstance(job_id, str):
        raise BadMessage(f"{where}.job_id: expected a string")
    options = fields.get("options")
    if not isinstance(options, dict):
        raise BadMessage(f"{where}.options: expected an object")
    task = RangeTask(
        bucket=_text(fields, "bucket", where),
        key=_text(fields, "key", where),
        etag=_text(fields, "etag", where),
        size=_count(fields, "size", where),
        split_id=_text(fields, "split_id", where),
        part=_count(fields, "part", where),
        parts=_count(fields, "parts", where),
        start=_count(fields, "start", where),
        end=_count(fields, "end", where),
        event_time=parse_time(_text(fields, "event_time", where), f"{where}.event_time"),
        options=options,
        job_id=job_id,
    )
    if not (
        task.part < task.parts <= MAX_PARTS and task.start <= task.end <= task.size <= MAX_OFFSET
    ):
        raise BadMessage(f"{where}: part or range out of bounds")
    return task


def _text(fields: dict[str, Any], name: str, where: str) -> str:
    value = fields.get(name)
    if not isinstance(value, str) or not value:
        raise BadMessage(f"{where}.{name}: expected a non-empty string")
    return value


def _count(fields: dict[str, Any], name: str, where: str) -> int:
    value = fields.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BadMessage(f"{where}.{name}: expected a whole number >= 0")
    return value
