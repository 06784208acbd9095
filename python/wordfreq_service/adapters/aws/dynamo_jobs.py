"""The job store port on a DynamoDB table; implements ``ports.JobStore``.

One item per job, keyed by ``job_id``, with the table's TTL on ``expires_at`` (whole
epoch seconds, as TTL reads them). TTL deletes expired items lazily, up to days late,
so every read and write here checks ``expires_at`` itself: an expired job is gone
whether or not DynamoDB has deleted it. ``advance`` is one conditional ``UpdateItem``,
so two workers finishing the same job cannot both write its result. Reads are strongly
consistent: a client waiting for its job must see the worker's write at once.

The splits of big objects (``service/worker/split.py``) keep their progress in the same
table, an item per split (``split:<split_id>``) whose parts done are a number set: adding
a part is one conditional ``UpdateItem`` that does nothing for a part already there.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, cast

from botocore.exceptions import ClientError

from wordfreq_service.adapters.aws.boto_errors import translated
from wordfreq_service.errors import BackendError, JobExists, SplitPlanMismatch, TransientError
from wordfreq_service.ports import CorpusRecord, CorpusState, JobRecord, JobState, SplitProgress

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, KeysAndAttributesTypeDef

#: The table's partition key and TTL attribute (the CDK stack and ``tools/local_aws.py``
#: create the table with these).
KEY_ATTRIBUTE: Final = "job_id"
TTL_ATTRIBUTE: Final = "expires_at"
_CONDITION_FAILED: Final = "ConditionalCheckFailedException"
#: ``ping`` reads this key: no job ID looks like it (``formats.jobs.is_job_id``).
_PING_KEY: Final = "ping"
# "state", "key", "size" and "result" are DynamoDB reserved words: expressions name
# every attribute through a placeholder.
_NAMES: Final = {
    "#id": KEY_ATTRIBUTE,
    "#state": "state",
    "#updated": "updated_at",
    "#expires": TTL_ATTRIBUTE,
    "#result": "result",
    "#lease": "lease_until",
    "#counts": "counts",
}


class DynamoJobStore:
    """One table. Thread-safe, like its client."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    @property
    def table(self) -> str:
        return self._table

    def create(self, record: JobRecord) -> None:
        with translated(f"creating job {record.job_id} in table {self._table}"):
            try:
                self._client.put_item(
                    TableName=self._table,
                    Item=_item(record),
                    ConditionExpression="attribute_not_exists(#id)",
                    ExpressionAttributeNames={"#id": KEY_ATTRIBUTE},
                )
            except ClientError as exc:
                if _code(exc) == _CONDITION_FAILED:
                    raise JobExists(f"job {record.job_id} exists already") from exc
                raise

    def get(self, job_id: str, *, now: float | None = None) -> JobRecord | None:
        with translated(f"reading job {job_id} from table {self._table}"):
            response = self._client.get_item(
                TableName=self._table,
                Key={KEY_ATTRIBUTE: {"S": job_id}},
                ConsistentRead=True,
            )
        item = response.get("Item")
        if item is None:
            return None
        record = _record(item)
        return record if record.expires_at > _now(now) else None

    def advance(
        self,
        job_id: str,
        state: JobState,
        *,
        result: str | None = None,
        counts: bytes | None = None,
        now: float | None = None,
    ) -> JobRecord | None:
        earlier = [s for s in JobState if s.rank < state.rank]
        if not earlier:
            return None
        update = "SET #state = :state, #updated = :now"
        values: dict[str, AttributeValueTypeDef] = {":state": {"S": state.value}}
        if result is not None:
            update += ", #result = :result"
            values[":result"] = {"S": result}
        if counts is not None:
            # A binary attribute: the item's 400 KB limit is why only small counts are
            # held here (``formats.jobs.INLINE_COUNTS_MAX_CSV_BYTES``).
            update += ", #counts = :counts"
            values[":counts"] = {"B": counts}
        return self._update_if_in(
            job_id,
            earlier,
            update,
            values,
            now=now,
            doing=f"moving job {job_id} to {state.value} in table {self._table}",
        )

    def lease(
        self, job_id: str, until: float | None, *, now: float | None = None
    ) -> JobRecord | None:
        return self._update_if_in(
            job_id,
            [s for s in JobState if not s.ended],
            "REMOVE #lease" if until is None else "SET #lease = :until",
            {} if until is None else {":until": {"N": _number(until)}},
            now=now,
            doing=f"renewing the lease of job {job_id} in table {self._table}",
        )

    def _update_if_in(
        self,
        job_id: str,
        states: list[JobState],
        update: str,
        values: dict[str, AttributeValueTypeDef],
        *,
        now: float | None,
        doing: str,
    ) -> JobRecord | None:
        """Apply ``update`` (which may use ``:now``) to the job if it is in one of
        ``states`` and not expired, in one conditional write; the new record, or None."""
        values = {**values, ":now": {"N": _number(_now(now))}}
        marks = []
        for index, state in enumerate(states):
            values[f":s{index}"] = {"S": state.value}
            marks.append(f":s{index}")
        condition = f"#state IN ({', '.join(marks)}) AND #expires > :now"
        used = f"{update} {condition}"
        names = {name: real for name, real in _NAMES.items() if name in used}
        with translated(doing):
            try:
                response = self._client.update_item(
                    TableName=self._table,
                    Key={KEY_ATTRIBUTE: {"S": job_id}},
                    UpdateExpression=update,
                    # A missing item has no state, so this also refuses unknown jobs
                    # (an UpdateItem would otherwise create one).
                    ConditionExpression=condition,
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                    ReturnValues="ALL_NEW",
                )
            except ClientError as exc:
                if _code(exc) == _CONDITION_FAILED:
                    return None
                raise
        return _record(response["Attributes"])

    def ping(self) -> None:
        # A read of a key no job has: the cheapest call the API's role may make that
        # proves the table exists and answers.
        with translated(f"reading table {self._table}"):
            self._client.get_item(
                TableName=self._table,
                Key={KEY_ATTRIBUTE: {"S": _PING_KEY}},
                ProjectionExpression="#id",
                ExpressionAttributeNames={"#id": KEY_ATTRIBUTE},
            )

    def purge_expired(self, *, now: float | None = None) -> list[str]:
        """Nothing to do: the table's TTL deletes expired items, and the bucket's
        lifecycle rule their counts."""
        del now
        return []

    # -- the splits of big objects ------------------------------------------------------

    def add_part(
        self,
        split_id: str,
        part: int,
        parts: int,
        *,
        failure: str | None = None,
        expires_at: float,
        now: float | None = None,
    ) -> SplitProgress:
        # The first part's expiry stands; a record past it is refreshed first (below).
        update = (
            f"SET {_PARTS} = if_not_exists({_PARTS}, :parts),"
            " #expires = if_not_exists(#expires, :expires)"
        )
        values: dict[str, AttributeValueTypeDef] = {
            ":parts": {"N": str(parts)},
            ":expires": {"N": str(math.ceil(expires_at))},
            ":part": {"N": str(part)},
            ":parts_done": {"NS": [str(part)]},
            ":now": {"N": _number(_now(now))},
        }
        if failure is not None:
            update += f", {_FAILURE} = if_not_exists({_FAILURE}, :failure)"
            values[":failure"] = {"S": failure}
        # ADD to a number set is idempotent by itself; the condition makes the whole
        # write so (a duplicate's failure is not recorded), and refuses an expired record.
        condition = (
            f"(attribute_not_exists(#id) OR #expires > :now)"
            f" AND (attribute_not_exists({_DONE}) OR NOT contains({_DONE}, :part))"
            f" AND (attribute_not_exists({_PARTS}) OR {_PARTS} = :parts)"
        )
        doing = f"recording part {part} of split {split_id} in table {self._table}"
        for _ in range(2):
            with translated(doing):
                try:
                    response = self._client.update_item(
                        TableName=self._table,
                        Key=_split_key(split_id),
                        UpdateExpression=f"{update} ADD {_DONE} :parts_done",
                        ConditionExpression=condition,
                        ExpressionAttributeNames={"#id": KEY_ATTRIBUTE, "#expires": TTL_ATTRIBUTE},
                        ExpressionAttributeValues=values,
                        ReturnValues="ALL_NEW",
                    )
                    return _progress(split_id, response["Attributes"])
                except ClientError as exc:
                    if _code(exc) != _CONDITION_FAILED:
                        raise
            progress = self.split_progress(split_id, now=now)
            if progress is not None and progress.parts != parts:
                raise SplitPlanMismatch(
                    f"part {part} of {parts} for split {split_id}, which has {progress.parts} parts"
                )
            if progress is not None:
                return progress  # the part was recorded already
            # Expired, and not yet deleted by the TTL: its record starts afresh (an update,
            # not a DeleteItem, which the worker's role has no need of otherwise).
            with translated(doing):
                try:
                    self._client.update_item(
                        TableName=self._table,
                        Key=_split_key(split_id),
                        UpdateExpression=(
                            f"SET #expires = :expires, {_PARTS} = :parts"
                            f" REMOVE {_DONE}, {_FAILURE}, {_MERGED}"
                        ),
                        ConditionExpression="#expires <= :now",
                        ExpressionAttributeNames={"#expires": TTL_ATTRIBUTE},
                        ExpressionAttributeValues={
                            ":now": values[":now"],
                            ":expires": values[":expires"],
                            ":parts": values[":parts"],
                        },
                    )
                except ClientError as exc:
                    if _code(exc) != _CONDITION_FAILED:
                        raise
        raise TransientError(f"{doing}: the split's record kept changing")

    def split_progress(self, split_id: str, *, now: float | None = None) -> SplitProgress | None:
        with translated(f"reading split {split_id} from table {self._table}"):
            response = self._client.get_item(
                TableName=self._table, Key=_split_key(split_id), ConsistentRead=True
            )
        item = response.get("Item")
        if item is None or float(str(item[TTL_ATTRIBUTE]["N"])) <= _now(now):
            return None
        return _progress(split_id, item)

    def mark_merged(self, split_id: str, *, now: float | None = None) -> None:
        with translated(f"marking split {split_id} merged in table {self._table}"):
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=_split_key(split_id),
                    UpdateExpression=f"SET {_MERGED} = :true",
                    ConditionExpression="#expires > :now",
                    ExpressionAttributeNames={"#expires": TTL_ATTRIBUTE},
                    ExpressionAttributeValues={
                        ":true": {"BOOL": True},
                        ":now": {"N": _number(_now(now))},
                    },
                )
            except ClientError as exc:
                if _code(exc) != _CONDITION_FAILED:
                    raise

    def purge_expired_splits(self, *, now: float | None = None) -> list[SplitProgress]:
        """Nothing to do: the table's TTL deletes expired splits, and the bucket's
        lifecycle rule their parts' counts."""
        del now
        return []

    # -- corpus jobs: items of their own in the same table (a corpus ID is never a job's) --

    def create_corpus(self, record: CorpusRecord) -> None:
        with translated(f"creating corpus {record.corpus_id} in table {self._table}"):
            try:
                self._client.put_item(
                    TableName=self._table,
                    Item=_corpus_item(record),
                    ConditionExpression="attribute_not_exists(#id)",
                    ExpressionAttributeNames={"#id": KEY_ATTRIBUTE},
                )
            except ClientError as exc:
                if _code(exc) == _CONDITION_FAILED:
                    raise JobExists(f"corpus {record.corpus_id} exists already") from exc
                raise

    def get_corpus(self, corpus_id: str, *, now: float | None = None) -> CorpusRecord | None:
        with translated(f"reading corpus {corpus_id} from table {self._table}"):
            response = self._client.get_item(
                TableName=self._table,
                Key={KEY_ATTRIBUTE: {"S": corpus_id}},
                ConsistentRead=True,
            )
        item = response.get("Item")
        if item is None or _MEMBERS not in item:
            return None
        record = _corpus_record(item)
        return record if record.expires_at > _now(now) else None

    def finish_corpus(self, corpus_id: str, *, now: float | None = None) -> CorpusRecord | None:
        with translated(f"finishing corpus {corpus_id} in table {self._table}"):
            try:
                response = self._client.update_item(
                    TableName=self._table,
                    Key={KEY_ATTRIBUTE: {"S": corpus_id}},
                    UpdateExpression="SET #state = :done, #updated = :now",
                    ConditionExpression=(
                        "#state = :running AND #expires > :now AND attribute_exists(#members)"
                    ),
                    ExpressionAttributeNames={
                        "#state": "state",
                        "#updated": "updated_at",
                        "#expires": TTL_ATTRIBUTE,
                        "#members": _MEMBERS,
                    },
                    ExpressionAttributeValues={
                        ":done": {"S": CorpusState.DONE.value},
                        ":running": {"S": CorpusState.RUNNING.value},
                        ":now": {"N": _number(_now(now))},
                    },
                    ReturnValues="ALL_NEW",
                )
            except ClientError as exc:
                if _code(exc) == _CONDITION_FAILED:
                    return None
                raise
        return _corpus_record(response["Attributes"])

    def get_jobs(self, job_ids: Sequence[str], *, now: float | None = None) -> list[JobRecord]:
        moment = _now(now)
        found: list[JobRecord] = []
        for start in range(0, len(job_ids), _BATCH_GET):
            batch = dict.fromkeys(job_ids[start : start + _BATCH_GET])  # no key twice
            keys = [{KEY_ATTRIBUTE: {"S": job_id}} for job_id in batch]
            request: dict[str, KeysAndAttributesTypeDef] = {
                self._table: {"Keys": keys, "ConsistentRead": True}
            }
            pause = 0.05
            while request:
                with translated(f"reading {len(keys)} jobs from table {self._table}"):
                    response = self._client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self._table, []):
                    if _MEMBERS not in item:
                        record = _record(item)
                        if record.expires_at > moment:
                            found.append(record)
                # Keys DynamoDB left unread (throttled): asked again after a pause, as
                # its documentation advises.
                request = cast(
                    "dict[str, KeysAndAttributesTypeDef]", response.get("UnprocessedKeys") or {}
                )
                if request:
                    time.sleep(pause)
                    pause = min(pause * 2, 1.0)
        return found

    def purge_expired_corpora(self, *, now: float | None = None) -> list[str]:
        """Nothing to do, as for jobs: the table's TTL and the bucket's lifecycle rule."""
        del now
        return []


#: A split's item shares the job table, under a key no job ID looks like
#: (``formats.jobs.is_job_id``); its attributes are none of a job's.
SPLIT_KEY_PREFIX: Final = "split:"
_PARTS: Final = "split_parts"
_DONE: Final = "split_done"
_FAILURE: Final = "split_failure"
_MERGED: Final = "split_merged"


def _split_key(split_id: str) -> dict[str, AttributeValueTypeDef]:
    return {KEY_ATTRIBUTE: {"S": f"{SPLIT_KEY_PREFIX}{split_id}"}}


def _progress(split_id: str, item: Mapping[str, Mapping[str, Any]]) -> SplitProgress:
    return SplitProgress(
        split_id=split_id,
        parts=int(str(item[_PARTS]["N"])),
        done=frozenset(int(str(n)) for n in item.get(_DONE, {}).get("NS", [])),
        failure=str(item[_FAILURE]["S"]) if _FAILURE in item else None,
        merged=bool(item.get(_MERGED, {}).get("BOOL", False)),
    )


def _now(now: float | None) -> float:
    return time.time() if now is None else now


def _number(value: float) -> str:
    # repr: the shortest text that reads back as the same float.
    return repr(value) if isinstance(value, float) else str(value)


def _item(record: JobRecord) -> dict[str, AttributeValueTypeDef]:
    item: dict[str, AttributeValueTypeDef] = {
        KEY_ATTRIBUTE: {"S": record.job_id},
        "key": {"S": record.key},
        "options": {"S": json.dumps(dict(record.options), ensure_ascii=False)},
        "size": {"N": str(record.size)},
        "token_hash": {"S": record.token_hash},
        "state": {"S": record.state.value},
        "created_at": {"N": _number(record.created_at)},
        "updated_at": {"N": _number(record.updated_at)},
        # TTL reads whole epoch seconds; rounding up keeps a job no shorter than asked.
        TTL_ATTRIBUTE: {"N": str(math.ceil(record.expires_at))},
    }
    if record.result is not None:
        item["result"] = {"S": record.result}
    if record.lease_until is not None:
        item["lease_until"] = {"N": _number(record.lease_until)}
    if record.counts is not None:
        item["counts"] = {"B": record.counts}
    return item


def _record(item: Mapping[str, Mapping[str, object]]) -> JobRecord:
    def text(name: str) -> str:
        return str(item[name]["S"])

    def number(name: str) -> str:
        return str(item[name]["N"])

    return JobRecord(
        job_id=text(KEY_ATTRIBUTE),
        key=text("key"),
        options=json.loads(text("options")),
        size=int(number("size")),
        token_hash=text("token_hash"),
        state=JobState(text("state")),
        created_at=float(number("created_at")),
        updated_at=float(number("updated_at")),
        expires_at=float(number(TTL_ATTRIBUTE)),
        result=text("result") if "result" in item else None,
        lease_until=float(number("lease_until")) if "lease_until" in item else None,
        counts=_binary(item["counts"]) if "counts" in item else None,
    )


def _binary(value: Mapping[str, object]) -> bytes:
    blob = value["B"]
    if not isinstance(blob, bytes):
        raise BackendError(f"a binary attribute holds {type(blob).__name__}")
    return blob


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


#: The attribute only a corpus item has: its members' job IDs, as a JSON list.
_MEMBERS: Final = "members"
#: BatchGetItem's most keys per call.
_BATCH_GET: Final = 100


def _corpus_item(record: CorpusRecord) -> dict[str, AttributeValueTypeDef]:
    return {
        KEY_ATTRIBUTE: {"S": record.corpus_id},
        "token_hash": {"S": record.token_hash},
        "options": {"S": json.dumps(dict(record.options), ensure_ascii=False)},
        _MEMBERS: {"S": json.dumps(list(record.members))},
        "state": {"S": record.state.value},
        "created_at": {"N": _number(record.created_at)},
        "updated_at": {"N": _number(record.updated_at)},
        TTL_ATTRIBUTE: {"N": str(math.ceil(record.expires_at))},
    }


def _corpus_record(item: Mapping[str, Mapping[str, object]]) -> CorpusRecord:
    return CorpusRecord(
        corpus_id=str(item[KEY_ATTRIBUTE]["S"]),
        token_hash=str(item["token_hash"]["S"]),
        options=json.loads(str(item["options"]["S"])),
        members=tuple(json.loads(str(item[_MEMBERS]["S"]))),
        state=CorpusState(str(item["state"]["S"])),
        created_at=float(str(item["created_at"]["N"])),
        updated_at=float(str(item["updated_at"]["N"])),
        expires_at=float(str(item[TTL_ATTRIBUTE]["N"])),
    )
