"""The range task (``formats/ranges.py``): what the splitting worker sends is what the
counting worker reads, S3's bodies are never taken for one, and a damaged one is a
``BadMessage`` (the worker hands it to the dead-letter queue), never a crash."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from wordfreq_service.counting.ranges import MAX_PARTS
from wordfreq_service.errors import BadMessage
from wordfreq_service.formats.ranges import (
    MAX_OFFSET,
    RangeTask,
    parse_range_task,
    part_key,
    split_id_of,
)
from wordfreq_service.formats.s3event import object_created_event, parse_message, test_event


@st.composite
def tasks(draw: st.DrawFn) -> RangeTask:
    size = draw(st.integers(1, MAX_OFFSET))
    parts = draw(st.integers(1, MAX_PARTS))
    start = draw(st.integers(0, size))
    millis = draw(st.integers(0, 4 * 10**12))
    return RangeTask(
        bucket=draw(st.text(min_size=1)),
        key=draw(st.text(min_size=1)),
        etag=draw(st.text(min_size=1)),
        size=size,
        split_id=draw(st.text(min_size=1)),
        part=draw(st.integers(0, parts - 1)),
        parts=parts,
        start=start,
        end=draw(st.integers(start, size)),
        # S3's event times are whole milliseconds.
        event_time=datetime.fromtimestamp(millis / 1000, UTC),
        options=draw(st.dictionaries(st.text(), st.integers() | st.text(), max_size=4)),
        job_id=draw(st.none() | st.text(min_size=1)),
    )


@given(tasks())
def test_a_task_reads_back_as_sent(task: RangeTask) -> None:
    body = task.to_json()
    assert parse_range_task(body) == task
    # Not an S3 event: the worker's S3 parser refuses it.
    with pytest.raises(BadMessage):
        parse_message(body)


def test_s3_bodies_are_no_range_tasks() -> None:
    for body in (
        object_created_event("b", "k", 5, "etag"),
        test_event("b"),
        "not json",
        "[]",
        '{"Records": []}',
    ):
        assert parse_range_task(body) is None


def _good() -> dict[str, object]:
    task = RangeTask("b", "k", "e", 100, "s", 1, 2, 50, 100, datetime.now(UTC), {"mode": "words"})
    fields: dict[str, object] = json.loads(task.to_json())["RangeTask"]
    return fields


@pytest.mark.parametrize(
    "damage",
    [
        {"size": -1},
        {"part": 2},  # part of 2 parts
        {"start": 60, "end": 50},
        {"end": 101},
        {"part": True},
        {"key": ""},
        {"event_time": "yesterday"},
        {"options": "mode=words"},
        {"job_id": 5},
        # Past any object or plan: refused here, not an overflow in a store.
        {"parts": 10**30},
        {"parts": 10**30, "part": 10**30 - 1},
        {"size": 10**30, "start": 10**30, "end": 10**30},
        {"size": 2**63, "end": 2**63},
    ],
)
def test_a_damaged_task_is_a_bad_message(damage: dict[str, object]) -> None:
    body = json.dumps({"RangeTask": {**_good(), **damage}})
    with pytest.raises(BadMessage):
        parse_range_task(body)
    with pytest.raises(BadMessage):
        parse_range_task(json.dumps({"RangeTask": [1, 2]}))


def test_the_split_id_is_the_objects_version_event_and_plan() -> None:
    first = split_id_of("b", "k", "etag1", 10, "seq1", 4)
    # The same event seen again (a redelivery): the same split, so the same parts.
    assert split_id_of("b", "k", "etag1", 10, "seq1", 4) == first
    # Another version, key, bucket, upload of the same bytes (another event), or plan
    # (a worker with another threshold): another split.
    others = {
        split_id_of("b", "k", "etag2", 10, "seq1", 4),
        split_id_of("b", "k2", "etag1", 10, "seq1", 4),
        split_id_of("b2", "k", "etag1", 10, "seq1", 4),
        split_id_of("b", "k", "etag1", 10, "seq2", 4),
        split_id_of("b", "k", "etag1", 10, "seq1", 5),
    }
    assert len(others | {first}) == 6
    assert part_key(first, 3) == f"results/parts/{first}/3.csv.gz"
