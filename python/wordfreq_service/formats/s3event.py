"""S3 event notifications, byte for byte as S3 delivers them to an SQS queue.

A queue subscribed to a bucket receives two kinds of bodies: the ``s3:TestEvent`` S3
sends once when the notification is configured, and ``{"Records": [...]}`` with one
record per object event. The embedded backend builds the same bodies, so workers parse
one format whichever backend runs.

S3 URL-encodes object keys in records the way HTML forms do (a space becomes ``+``);
:func:`parse_message` hands back the decoded key. Record layout:
https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote_plus, unquote_plus

from wordfreq_service.errors import BadMessage

#: The version S3 wrote for years; it sends 2.2 and later today with the same shape.
EVENT_VERSION = "2.1"
OBJECT_CREATED_PUT = "ObjectCreated:Put"
TEST_EVENT_NAME = "s3:TestEvent"

# ASCII digits only (\d would accept any script's), and few enough for int().
_VERSION = re.compile(r"([0-9]{1,9})\.([0-9]{1,9})")
_T = TypeVar("_T")


@dataclass(frozen=True)
class S3Record:
    """One entry of ``Records``, with the key decoded."""

    bucket: str
    key: str
    #: 0 for events S3 sends without a size (ObjectRemoved:*).
    size: int
    #: Empty for events S3 sends without an ETag (ObjectRemoved:*).
    etag: str
    event_time: datetime
    event_name: str
    event_version: str
    region: str = ""
    sequencer: str = ""

    @property
    def is_object_created(self) -> bool:
        return self.event_name.startswith("ObjectCreated:")

    @property
    def event_id(self) -> str:
        """What tells this event's upload from another of the same bytes to the same key:
        S3's sequencer, else (an event without one) its time. A redelivery keeps it."""
        return self.sequencer or format_time(self.event_time)


@dataclass(frozen=True)
class TestEvent:
    """S3's ``s3:TestEvent``: proof that a notification works; carries no object."""

    # Keeps pytest from mistaking this class for a test suite in modules importing it.
    __test__: ClassVar[bool] = False

    bucket: str
    time: datetime
    request_id: str = ""
    host_id: str = ""


def format_time(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and ``Z``, as S3 writes ``eventTime``."""
    if moment.tzinfo is None:
        raise ValueError("event times must be timezone-aware")
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def encode_key(key: str) -> str:
    """A key as S3 writes it into a record: form-encoded, slashes kept."""
    return quote_plus(key, safe="/")


def object_created_event(
    bucket: str,
    key: str,
    size: int,
    etag: str,
    *,
    region: str = "us-east-1",
    event_time: datetime | None = None,
    event_name: str = OBJECT_CREATED_PUT,
    sequencer: str | None = None,
    configuration_id: str = "wordfreq-uploads",
) -> str:
    """The SQS message body S3 sends for one created object."""
    record = {
        "eventVersion": EVENT_VERSION,
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": format_time(event_time or datetime.now(UTC)),
        "eventName": event_name,
        "userIdentity": {"principalId": "wordfreq"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {
            "x-amz-request-id": _request_id(),
            "x-amz-id-2": secrets.token_urlsafe(48),
        },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": "wordfreq"},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": {
                "key": encode_key(key),
                "size": size,
                "eTag": etag,
                # S3 orders events for one key by this hex string; time order is enough
                # for a single writer machine.
                "sequencer": sequencer or f"{time.time_ns():018X}",
            },
        },
    }
    return json.dumps({"Records": [record]}, separators=(",", ":"))


def test_event(bucket: str, *, event_time: datetime | None = None) -> str:
    """The body S3 sends when a notification to a queue is configured."""
    return json.dumps(
        {
            "Service": "Amazon S3",
            "Event": TEST_EVENT_NAME,
            "Time": format_time(event_time or datetime.now(UTC)),
            "Bucket": bucket,
            "RequestId": _request_id(),
            "HostId": secrets.token_urlsafe(48),
        },
        separators=(",", ":"),
    )


# Keeps pytest from collecting the builder as a test in modules that import it.
test_event.__test__ = False  # type: ignore[attr-defined]


def parse_message(body: str) -> TestEvent | list[S3Record]:
    """Decode an S3 notification body. Raises :class:`BadMessage` for anything else:
    invalid JSON, a foreign shape, or an ``eventVersion`` other than 2.x with x ≥ 1."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise BadMessage(f"not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise BadMessage(f"expected a JSON object, got {type(document).__name__}")
    if "Records" in document:
        records = document["Records"]
        if not isinstance(records, list) or not records:
            raise BadMessage("Records: expected a non-empty list")
        return [_parse_record(item, f"Records[{i}]") for i, item in enumerate(records)]
    if document.get("Event") == TEST_EVENT_NAME:
        return TestEvent(
            bucket=_field(document, "Bucket", str, "$"),
            time=parse_time(_field(document, "Time", str, "$"), "$.Time"),
            request_id=_optional(document, "RequestId", str, "$") or "",
            host_id=_optional(document, "HostId", str, "$") or "",
        )
    raise BadMessage("neither an S3 event record list nor an s3:TestEvent")


def _parse_record(item: object, where: str) -> S3Record:
    if not isinstance(item, dict):
        raise BadMessage(f"{where}: expected an object")
    version = _field(item, "eventVersion", str, where)
    _check_version(version, where)
    source = _optional(item, "eventSource", str, where)
    if source is not None and source != "aws:s3":
        raise BadMessage(f"{where}.eventSource: {source!r} is not aws:s3")
    event_name = _field(item, "eventName", str, where)
    s3 = _field(item, "s3", dict, where)
    bucket = _field(_field(s3, "bucket", dict, f"{where}.s3"), "name", str, f"{where}.s3.bucket")
    obj_where = f"{where}.s3.object"
    obj = _field(s3, "object", dict, f"{where}.s3")
    size = _optional(obj, "size", int, obj_where)
    etag = _optional(obj, "eTag", str, obj_where)
    # S3 omits both for deletions; a created object always has them.
    if event_name.startswith("ObjectCreated:") and (size is None or etag is None):
        raise BadMessage(f"{obj_where}: an ObjectCreated record needs size and eTag")
    if size is not None and size < 0:
        raise BadMessage(f"{obj_where}.size: negative")
    return S3Record(
        bucket=bucket,
        key=_decode_key(_field(obj, "key", str, obj_where), obj_where),
        size=size or 0,
        etag=etag or "",
        event_time=parse_time(_field(item, "eventTime", str, where), f"{where}.eventTime"),
        event_name=event_name,
        event_version=version,
        region=_optional(item, "awsRegion", str, where) or "",
        sequencer=_optional(obj, "sequencer", str, obj_where) or "",
    )


def _check_version(version: str, where: str) -> None:
    match = _VERSION.fullmatch(version)
    if match is None or int(match[1]) != 2 or int(match[2]) < 1:
        raise BadMessage(f"{where}.eventVersion: unsupported {version!r} (need 2.1 or later 2.x)")


def _decode_key(raw: str, where: str) -> str:
    try:
        key = unquote_plus(raw, errors="strict")
    except UnicodeDecodeError as exc:
        raise BadMessage(f"{where}.key: not URL-encoded UTF-8: {raw!r}") from exc
    if not key:
        raise BadMessage(f"{where}.key: empty")
    return key


def parse_time(text: str, where: str) -> datetime:
    """An ``eventTime`` as a UTC datetime; ``BadMessage`` naming ``where`` otherwise."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise BadMessage(f"{where}: not an ISO 8601 time: {text!r}") from exc
    # S3 always writes Z; a time without an offset can only mean UTC here.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _field(obj: dict[str, Any], name: str, kind: type[_T], where: str) -> _T:
    value = _optional(obj, name, kind, where)
    if value is None:
        raise BadMessage(f"{where}.{name}: missing")
    return value


def _optional(obj: dict[str, Any], name: str, kind: type[_T], where: str) -> _T | None:
    value = obj.get(name)
    if value is None:
        return None
    # bool is an int to Python but never a size to S3.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BadMessage(f"{where}.{name}: expected {kind.__name__}, got {type(value).__name__}")
    return value


def _request_id() -> str:
    return secrets.token_hex(8).upper()
