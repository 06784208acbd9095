"""The S3 → SQS wire format, against bodies captured from S3 and AWS's documentation."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from wordfreq_service.errors import BadMessage, WordfreqError
from wordfreq_service.formats.s3event import (
    S3Record,
    TestEvent,
    format_time,
    object_created_event,
    parse_message,
    test_event,
)

EVENTS = Path(__file__).parent / "events"


def _records(body: str) -> list[S3Record]:
    parsed = parse_message(body)
    assert isinstance(parsed, list)
    return parsed


def _captured(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return document


def test_parses_record_captured_from_a_deployed_stack() -> None:
    [record] = _records((EVENTS / "s3_item.json").read_text())
    assert record == S3Record(
        bucket="stack-contenetf097c3f7-6e6d-4ac6-8c27-731dc7fb4841",
        key="a367e3f7-1171-5934-92df-a664180a7175",
        size=557,
        etag="7bba457d8131d9b93d90f91a79c9ef36",
        event_time=datetime(2021, 8, 19, 0, 28, 7, 457000, tzinfo=UTC),
        event_name="ObjectCreated:Put",
        event_version="2.1",
        region="us-west-2",
        sequencer="00611DA59881DF8D3D",
    )
    assert record.is_object_created


def test_parses_aws_documented_example() -> None:
    [record] = _records((EVENTS / "example1.json").read_text())
    assert (record.bucket, record.key, record.size) == ("mybucket", "HappyFace.jpg", 1024)
    assert record.event_time == datetime(2021, 4, 20, tzinfo=UTC)


def test_parses_captured_test_event() -> None:
    parsed = parse_message((EVENTS / "test_message.json").read_text())
    assert parsed == TestEvent(
        bucket="bucketname",
        time=datetime(2014, 10, 13, 15, 57, 2, 89000, tzinfo=UTC),
        request_id="5582815E1AEA5ADF",
        host_id="8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE",
    )


def test_built_event_has_the_shape_s3_sends() -> None:
    # Given the record S3 sent, and ours for the same object
    captured = _captured("s3_item.json")["Records"][0]
    when = datetime(2021, 8, 19, 0, 28, 7, 457123, tzinfo=UTC)
    ours = json.loads(
        object_created_event("b-1", "k", 557, "7bba", region="us-west-2", event_time=when)
    )["Records"][0]

    # Then every field S3 writes is there, nested the same way
    def shape(value: object) -> object:
        if isinstance(value, dict):
            return {k: shape(v) for k, v in value.items()}
        return type(value).__name__

    assert shape(ours) == shape(captured)
    assert ours["eventTime"] == "2021-08-19T00:28:07.457Z"
    assert ours["eventVersion"] == "2.1"
    assert ours["s3"]["bucket"]["arn"] == "arn:aws:s3:::b-1"


def test_built_test_event_has_the_shape_s3_sends() -> None:
    body = test_event("b-1")
    ours = json.loads(body)
    assert set(ours) == set(_captured("test_message.json"))
    assert parse_message(body) == TestEvent(
        bucket="b-1",
        time=datetime.fromisoformat(ours["Time"]),
        request_id=ours["RequestId"],
        host_id=ours["HostId"],
    )


@pytest.mark.parametrize(
    ("key", "encoded"),
    [
        ("file with spaces.txt", "file+with+spaces.txt"),
        ("a+b.txt", "a%2Bb.txt"),
        ("dir/sub/c.txt", "dir/sub/c.txt"),
        ("résumé ü.txt", "r%C3%A9sum%C3%A9+%C3%BC.txt"),
    ],
)
def test_keys_are_form_encoded_like_s3(key: str, encoded: str) -> None:
    body = object_created_event("bucket", key, 1, "e")
    assert json.loads(body)["Records"][0]["s3"]["object"]["key"] == encoded
    assert _records(body)[0].key == key


# Lone surrogates (category Cs) cannot be encoded as UTF-8, so no S3 key holds one.
@given(st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=200))
def test_any_key_survives_the_round_trip(key: str) -> None:
    assert _records(object_created_event("bucket", key, 0, "e"))[0].key == key


def test_moto_style_slash_encoding_also_decodes() -> None:
    # moto encodes "/" as %2F; S3 leaves it alone. Both mean the same key.
    body = object_created_event("bucket", "x", 1, "e").replace('"key":"x"', '"key":"a%2Fb+c"')
    assert _records(body)[0].key == "a/b c"


@pytest.mark.parametrize("version", ["2.1", "2.2", "2.4", "2.10", "2.99"])
def test_accepts_every_later_minor_version(version: str) -> None:
    assert _records(_with_version(version))[0].event_version == version


@pytest.mark.parametrize(
    "version",
    ["2.0", "1.0", "3.0", "3.1", "2", "2.x", "", "v2.1", "2.1.0", "٢.١", "2." + "1" * 5000],
)
def test_rejects_other_versions(version: str) -> None:
    with pytest.raises(BadMessage, match="eventVersion"):
        parse_message(_with_version(version))


def test_several_records_in_one_message() -> None:
    first = json.loads(object_created_event("bucket", "one", 1, "a"))
    second = json.loads(object_created_event("bucket", "two words", 2, "b"))
    body = json.dumps({"Records": first["Records"] + second["Records"]})
    assert [(r.key, r.size, r.etag) for r in _records(body)] == [
        ("one", 1, "a"),
        ("two words", 2, "b"),
    ]


def test_removal_record_without_size_or_etag() -> None:
    document = json.loads(object_created_event("bucket", "gone", 1, "a"))
    obj = document["Records"][0]["s3"]["object"]
    del obj["size"], obj["eTag"]
    document["Records"][0]["eventName"] = "ObjectRemoved:Delete"
    [record] = _records(json.dumps(document))
    assert (record.size, record.etag, record.is_object_created) == (0, "", False)


def test_event_time_with_offset_is_converted_to_utc() -> None:
    body = object_created_event("bucket", "k", 1, "e").replace(
        '"eventTime":"', '"eventTime":"2024-01-01T02:00:00.000+02:00","x":"'
    )
    assert _records(body)[0].event_time == datetime(2024, 1, 1, tzinfo=UTC)


def test_format_time_rejects_naive_datetimes() -> None:
    with pytest.raises(ValueError):
        format_time(datetime(2024, 1, 1))


def _mutated(path: tuple[str | int, ...], value: object) -> str:
    document = json.loads(object_created_event("bucket", "k", 1, "e"))
    target = document
    for step in path[:-1]:
        target = target[step]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return json.dumps(document)


_DELETE = object()
_OBJ: tuple[str | int, ...] = ("Records", 0, "s3", "object")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("", id="empty"),
        pytest.param("{", id="truncated-json"),
        pytest.param("[]", id="array"),
        pytest.param('"Records"', id="string"),
        pytest.param("{}", id="empty-object"),
        pytest.param('{"Records": []}', id="no-records"),
        pytest.param('{"Records": {}}', id="records-not-list"),
        pytest.param('{"Records": [1]}', id="record-not-object"),
        pytest.param('{"Event": "s3:TestEvent"}', id="test-event-without-bucket"),
        pytest.param('{"Event": "s3:TestEvent", "Bucket": "b", "Time": "noon"}', id="bad-time"),
        pytest.param("[" * 100_000 + "]" * 100_000, id="deeply-nested"),
        pytest.param(_mutated(("Records", 0, "eventSource"), "aws:sqs"), id="foreign-source"),
        pytest.param(_mutated(("Records", 0, "eventTime"), _DELETE), id="no-time"),
        pytest.param(_mutated(("Records", 0, "s3"), "x"), id="s3-not-object"),
        pytest.param(_mutated((*_OBJ, "key"), _DELETE), id="no-key"),
        pytest.param(_mutated((*_OBJ, "key"), ""), id="empty-key"),
        pytest.param(_mutated((*_OBJ, "key"), 7), id="key-not-string"),
        pytest.param(_mutated((*_OBJ, "key"), "%FF"), id="key-not-utf8"),
        pytest.param(_mutated((*_OBJ, "size"), _DELETE), id="created-without-size"),
        pytest.param(_mutated((*_OBJ, "size"), "12"), id="size-as-string"),
        pytest.param(_mutated((*_OBJ, "size"), True), id="size-as-bool"),
        pytest.param(_mutated((*_OBJ, "size"), -1), id="negative-size"),
        pytest.param(_mutated((*_OBJ, "eTag"), _DELETE), id="created-without-etag"),
    ],
)
def test_malformed_bodies_raise_bad_message(body: str) -> None:
    with pytest.raises(BadMessage) as caught:
        parse_message(body)
    assert isinstance(caught.value, WordfreqError)
    assert str(caught.value)


def _with_version(version: str) -> str:
    return _mutated(("Records", 0, "eventVersion"), version)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
_PATHS = [
    ("Records",),
    ("Records", 0),
    ("Records", 0, "eventVersion"),
    ("Records", 0, "eventTime"),
    ("Records", 0, "eventName"),
    ("Records", 0, "s3"),
    ("Records", 0, "s3", "bucket"),
    ("Records", 0, "s3", "bucket", "name"),
    (*_OBJ,),
    (*_OBJ, "key"),
    (*_OBJ, "size"),
    (*_OBJ, "eTag"),
]


@given(st.sampled_from(_PATHS), _JSON)
def test_any_damage_to_a_record_is_a_bad_message_or_harmless(
    path: tuple[str | int, ...], value: object
) -> None:
    with contextlib.suppress(BadMessage):
        parse_message(_mutated(path, value))


@given(_JSON)
def test_any_json_is_a_bad_message_or_an_event(document: object) -> None:
    with contextlib.suppress(BadMessage):
        parse_message(json.dumps(document))
