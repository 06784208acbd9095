"""The job store contract (``ports.JobStore``), on SQLite and on DynamoDB (moto).

What callers rely on: a record comes back exactly as stored; IDs are unique; an expired
job is gone for reads and writes alike, whether or not the backend has deleted it; a job
only moves forward, by one atomic step, so of two racing writers exactly one wins and
an ended job's result is never overwritten.
"""

from __future__ import annotations

import gzip
import itertools
import random
import threading
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wordfreq_service.adapters.aws import DynamoJobStore
from wordfreq_service.adapters.embedded import SqliteDatabase
from wordfreq_service.adapters.embedded.jobs import SqliteJobStore
from wordfreq_service.errors import BackendError, JobExists, SplitPlanMismatch
from wordfreq_service.formats.jobs import INLINE_COUNTS_MAX_CSV_BYTES, job_key, new_job_id
from wordfreq_service.formats.results import MAX_RESULT_BYTES
from wordfreq_service.ports import JobRecord, JobState, JobStore

NOW = 1_800_000_000.25
#: Whole seconds: DynamoDB's TTL reads whole epoch seconds (the store rounds up).
EXPIRES = 1_800_604_800.0


def _record(
    state: JobState = JobState.WAITING_FOR_UPLOAD,
    *,
    expires_at: float = EXPIRES,
    result: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> JobRecord:
    job_id = new_job_id()
    return JobRecord(
        job_id=job_id,
        key=job_key(job_id),
        options={"mode": "words", "top": 10} if options is None else options,
        size=1234,
        token_hash="ab" * 32,
        state=state,
        created_at=NOW,
        updated_at=NOW,
        expires_at=expires_at,
        result=result,
    )


_json_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text()
_options = st.dictionaries(
    st.text(),
    st.recursive(
        _json_scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
        max_leaves=6,
    ),
    max_size=5,
)
#: Clock readings: seconds since the epoch to the microsecond, up to 2096.
_times = st.integers(0, 4 * 10**15).map(lambda micros: micros / 1e6)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    options=_options,
    result=st.none() | st.text(),
    lease=st.none() | _times,
    counts=st.none() | st.binary(max_size=64),
    state=st.sampled_from(JobState),
    size=st.integers(0, 2**62),
    created=_times,
    updated=_times,
    lifetime=st.integers(1, 10**8),
)
def test_a_record_comes_back_exactly_as_stored(
    job_store: JobStore,
    options: dict[str, Any],
    result: str | None,
    lease: float | None,
    counts: bytes | None,
    state: JobState,
    size: int,
    created: float,
    updated: float,
    lifetime: int,
) -> None:
    record = replace(
        _record(state, result=result, options=options),
        size=size,
        created_at=created,
        updated_at=updated,
        expires_at=float(int(created) + lifetime),
        lease_until=lease,
        counts=counts,
    )
    job_store.create(record)
    assert job_store.get(record.job_id, now=created) == record


def test_an_unknown_job_is_none(job_store: JobStore) -> None:
    assert job_store.get(new_job_id(), now=NOW) is None


def test_a_taken_id_is_refused_and_the_first_record_kept(job_store: JobStore) -> None:
    first = _record(JobState.QUEUED, result="first")
    job_store.create(first)
    with pytest.raises(JobExists):
        job_store.create(replace(first, state=JobState.WAITING_FOR_UPLOAD, result=None))
    assert job_store.get(first.job_id, now=NOW) == first


def test_an_expired_job_is_gone_for_reads_and_writes(job_store: JobStore) -> None:
    record = _record(expires_at=EXPIRES)
    job_store.create(record)
    assert job_store.get(record.job_id, now=EXPIRES - 1) == record
    assert job_store.get(record.job_id, now=EXPIRES) is None
    assert job_store.advance(record.job_id, JobState.QUEUED, now=EXPIRES) is None
    # The refused advance changed nothing.
    assert job_store.get(record.job_id, now=EXPIRES - 1) == record


def test_a_job_past_its_expiry_by_the_clock_is_gone(job_store: JobStore) -> None:
    # No ``now``: the store's own clock, as the job service in production uses it.
    record = _record(expires_at=1_000_000_000.0)
    job_store.create(record)
    assert job_store.get(record.job_id) is None
    assert job_store.advance(record.job_id, JobState.QUEUED) is None


def test_a_job_moves_only_forward(job_store: JobStore) -> None:
    for start, target in itertools.product(JobState, JobState):
        record = _record(start, result="kept" if start.ended else None)
        job_store.create(record)
        moved = job_store.advance(record.job_id, target, now=NOW + 5)
        stored = job_store.get(record.job_id, now=NOW)
        if target.rank > start.rank:
            expected = replace(record, state=target, updated_at=NOW + 5)
            assert moved == expected, (start, target)
            assert stored == expected, (start, target)
        else:
            assert moved is None, (start, target)
            assert stored == record, (start, target)


def test_advance_sets_the_result_only_when_given(job_store: JobStore) -> None:
    record = _record(JobState.QUEUED, result="from before")
    job_store.create(record)
    running = job_store.advance(record.job_id, JobState.RUNNING, now=NOW + 1)
    assert running is not None and running.result == "from before"
    done = job_store.advance(record.job_id, JobState.DONE, result='{"status": "ok"}', now=NOW + 2)
    assert done is not None and done.result == '{"status": "ok"}'
    assert job_store.get(record.job_id, now=NOW) == done


def test_the_largest_result_a_worker_writes_fits(job_store: JobStore) -> None:
    # A result is cut to fit a queue message; a DynamoDB item holds up to 400 KB.
    result = "é" * (MAX_RESULT_BYTES // 2)
    record = _record(JobState.RUNNING, options={"stopwords": ["w" * 30] * 60})
    job_store.create(record)
    assert job_store.advance(record.job_id, JobState.DONE, result=result, now=NOW) is not None
    stored = job_store.get(record.job_id, now=NOW)
    assert stored is not None and stored.result == result


def test_done_carries_its_counts_in_the_same_write(job_store: JobStore) -> None:
    record = _record(JobState.RUNNING)
    job_store.create(record)
    counts = gzip.compress(b"word,count\none,2\n")
    done = job_store.advance(record.job_id, JobState.DONE, result="ok", counts=counts, now=NOW)
    assert done is not None and (done.result, done.counts) == ("ok", counts)
    assert job_store.get(record.job_id, now=NOW) == done
    # Ended: a duplicate's counts are refused with its state, the first ones stay.
    again = b"other"
    assert job_store.advance(record.job_id, JobState.DONE, counts=again, now=NOW + 1) is None
    stored = job_store.get(record.job_id, now=NOW)
    assert stored is not None and stored.counts == counts


def test_the_largest_inline_counts_fit_beside_the_largest_result(job_store: JobStore) -> None:
    # The worst a worker writes at once: a result cut to fit a queue message and counts
    # whose CSV is at the inline limit, compressing not at all (gzip adds its framing).
    result = "é" * (MAX_RESULT_BYTES // 2)
    counts = gzip.compress(random.Random(7).randbytes(INLINE_COUNTS_MAX_CSV_BYTES))
    record = _record(JobState.RUNNING, options={"stopwords": ["w" * 30] * 60})
    job_store.create(record)
    done = job_store.advance(record.job_id, JobState.DONE, result=result, counts=counts, now=NOW)
    assert done is not None
    stored = job_store.get(record.job_id, now=NOW)
    assert stored is not None and (stored.result, stored.counts) == (result, counts)


@pytest.mark.parametrize("second", [JobState.DONE, JobState.FAILED])
def test_an_ended_job_keeps_its_first_result(job_store: JobStore, second: JobState) -> None:
    record = _record(JobState.RUNNING)
    job_store.create(record)
    first = job_store.advance(record.job_id, JobState.DONE, result="first", now=NOW + 1)
    assert first is not None
    assert job_store.advance(record.job_id, second, result="second", now=NOW + 2) is None
    assert job_store.get(record.job_id, now=NOW) == first


def test_advancing_an_unknown_job_creates_nothing(job_store: JobStore) -> None:
    job_id = new_job_id()
    assert job_store.advance(job_id, JobState.DONE, result="x", now=NOW) is None
    assert job_store.get(job_id, now=NOW) is None


@pytest.mark.only_backend(
    "embedded",
    reason="moto applies DynamoDB's conditional writes without a lock across its server "
    "threads, so two racers can both win there (DynamoDB itself is atomic per item)",
)
def test_of_racing_advances_exactly_one_wins(job_store: JobStore) -> None:
    racers = 8
    record = _record(JobState.RUNNING)
    job_store.create(record)
    start = threading.Barrier(racers)
    outcomes: list[JobRecord | None] = [None] * racers
    errors: list[BaseException] = []

    def finish(index: int) -> None:
        try:
            start.wait(timeout=10)
            outcomes[index] = job_store.advance(
                record.job_id, JobState.DONE, result=f"worker {index}", now=NOW + 1
            )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=finish, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    winners = [outcome for outcome in outcomes if outcome is not None]
    assert len(winners) == 1, outcomes
    assert job_store.get(record.job_id, now=NOW) == winners[0]


def test_a_lease_is_set_on_an_unended_job_and_changes_nothing_else(
    job_store: JobStore,
) -> None:
    for state in JobState:
        record = _record(state, result="kept" if state.ended else None)
        job_store.create(record)
        leased = job_store.lease(record.job_id, NOW + 30.5, now=NOW + 1)
        stored = job_store.get(record.job_id, now=NOW)
        if state.ended:
            # Ended: its lease means nothing any more, and is never written.
            assert leased is None, state
            assert stored == record, state
        else:
            assert leased == replace(record, lease_until=NOW + 30.5), state
            assert stored == leased, state


def test_a_renewed_lease_replaces_the_last_and_outlives_advances(job_store: JobStore) -> None:
    record = _record(JobState.QUEUED)
    job_store.create(record)
    job_store.lease(record.job_id, NOW + 10, now=NOW)
    running = job_store.advance(record.job_id, JobState.RUNNING, now=NOW + 1)
    assert running is not None and running.lease_until == NOW + 10
    renewed = job_store.lease(record.job_id, NOW + 20, now=NOW + 2)
    assert renewed == replace(running, lease_until=NOW + 20)
    done = job_store.advance(record.job_id, JobState.DONE, result="r", now=NOW + 3)
    assert done is not None
    # A renewal landing after the job ended (a worker's keeper thread) is refused.
    assert job_store.lease(record.job_id, NOW + 30, now=NOW + 4) is None
    assert job_store.get(record.job_id, now=NOW) == done


def test_a_lease_on_an_unknown_or_expired_job_writes_nothing(job_store: JobStore) -> None:
    unknown = new_job_id()
    assert job_store.lease(unknown, NOW + 30, now=NOW) is None
    assert job_store.get(unknown, now=NOW) is None
    record = _record(JobState.RUNNING, expires_at=EXPIRES)
    job_store.create(record)
    assert job_store.lease(record.job_id, EXPIRES + 30, now=EXPIRES) is None
    assert job_store.get(record.job_id, now=EXPIRES - 1) == record


@pytest.mark.only_backend("embedded", reason="DynamoDB's TTL deletes on its own")
def test_purge_deletes_expired_jobs_and_names_them(job_store: JobStore) -> None:
    expired = [_record(expires_at=NOW - 1), _record(expires_at=NOW)]
    live = _record(expires_at=NOW + 1)
    for record in [*expired, live]:
        job_store.create(record)
    assert sorted(job_store.purge_expired(now=NOW)) == sorted(r.job_id for r in expired)
    # Deleted, not only hidden: even a read as of before the expiry finds nothing.
    for record in expired:
        assert job_store.get(record.job_id, now=NOW - 10) is None
    assert job_store.get(live.job_id, now=NOW) == live
    assert job_store.purge_expired(now=NOW) == []


@pytest.mark.only_backend("aws", reason="the embedded store deletes when asked")
def test_purge_leaves_expiry_to_dynamodb(job_store: JobStore) -> None:
    record = _record(expires_at=NOW - 1)
    job_store.create(record)
    assert job_store.purge_expired(now=NOW) == []
    assert job_store.get(record.job_id, now=NOW) is None


def test_ping_answers(job_store: JobStore) -> None:
    job_store.ping()


def test_ping_fails_without_the_table(job_store: JobStore, tmp_path: Any) -> None:
    missing: JobStore
    if isinstance(job_store, DynamoJobStore):
        missing = DynamoJobStore(job_store._client, f"{job_store.table}-missing")
    else:
        assert isinstance(job_store, SqliteJobStore)
        missing = SqliteJobStore(SqliteDatabase(tmp_path / "empty.sqlite3"))
    with pytest.raises(BackendError):
        missing.ping()


# -- the splits of big objects -----------------------------------------------------------


def _split_id() -> str:
    return new_job_id()  # any unique text; the worker's are hex digests too


def test_parts_are_recorded_in_any_order_until_the_split_is_complete(job_store: JobStore) -> None:
    split = _split_id()
    seen = [job_store.add_part(split, part, 3, expires_at=EXPIRES, now=NOW) for part in (2, 0, 1)]
    assert [p.done for p in seen] == [{2}, {0, 2}, {0, 1, 2}]
    assert [p.complete for p in seen] == [False, False, True]
    assert all(p.parts == 3 and p.failure is None and not p.merged for p in seen)
    assert job_store.split_progress(split, now=NOW) == seen[-1]


def test_a_duplicate_part_changes_nothing(job_store: JobStore) -> None:
    split = _split_id()
    first = job_store.add_part(split, 1, 2, expires_at=EXPIRES, now=NOW)
    # A redelivered range task, which this time failed: its first outcome stands.
    again = job_store.add_part(split, 1, 2, failure="late failure", expires_at=EXPIRES, now=NOW)
    assert again == first
    assert again.done == {1} and again.failure is None


def test_a_part_of_another_plan_is_refused_and_changes_nothing(job_store: JobStore) -> None:
    split = _split_id()
    first = job_store.add_part(split, 0, 12, expires_at=EXPIRES, now=NOW)
    # A task claiming another part count for the same split (damaged: the ID names the
    # plan) is refused by both stores alike, new part or not, and records nothing.
    for part in (0, 1, 4):
        with pytest.raises(SplitPlanMismatch):
            job_store.add_part(split, part, 5, failure="other plan", expires_at=EXPIRES, now=NOW)
    assert job_store.split_progress(split, now=NOW) == first
    assert first.parts == 12 and first.done == {0} and first.failure is None


def test_the_first_failure_is_kept(job_store: JobStore) -> None:
    split = _split_id()
    job_store.add_part(split, 0, 3, failure="part 0: the object changed", expires_at=EXPIRES)
    job_store.add_part(split, 1, 3, expires_at=EXPIRES)
    last = job_store.add_part(split, 2, 3, failure="part 2: gone", expires_at=EXPIRES)
    assert last.complete
    assert last.failure == "part 0: the object changed"


def test_merged_is_recorded_once_and_for_all(job_store: JobStore) -> None:
    split = _split_id()
    job_store.add_part(split, 0, 1, expires_at=EXPIRES, now=NOW)
    job_store.mark_merged(split, now=NOW)
    job_store.mark_merged(split, now=NOW)
    progress = job_store.split_progress(split, now=NOW)
    assert progress is not None and progress.merged and progress.complete
    # A duplicate of the last part, seen after the merge, reads it as merged.
    assert job_store.add_part(split, 0, 1, expires_at=EXPIRES, now=NOW).merged


def test_an_unknown_split_is_none_and_marking_it_creates_nothing(job_store: JobStore) -> None:
    split = _split_id()
    assert job_store.split_progress(split, now=NOW) is None
    job_store.mark_merged(split, now=NOW)
    assert job_store.split_progress(split, now=NOW) is None


def test_an_expired_split_is_gone_and_starts_afresh(job_store: JobStore) -> None:
    split = _split_id()
    job_store.add_part(split, 0, 2, failure="old", expires_at=EXPIRES, now=NOW)
    assert job_store.split_progress(split, now=EXPIRES) is None
    # The same split seen again long after (a redelivery days later): a fresh record.
    fresh = job_store.add_part(split, 1, 2, expires_at=EXPIRES + 86_400, now=EXPIRES + 1)
    assert fresh.done == {1} and fresh.failure is None


@pytest.mark.only_backend(
    "embedded",
    reason="moto applies DynamoDB's updates without a lock across its server threads, so "
    "racing parts can lose one another there (DynamoDB itself is atomic per item)",
)
def test_racing_parts_are_all_recorded_and_exactly_one_completes(job_store: JobStore) -> None:
    split, parts = _split_id(), 8
    outcomes: list[bool] = []
    lock = threading.Lock()

    def record(part: int) -> None:
        progress = job_store.add_part(split, part, parts, expires_at=EXPIRES, now=NOW)
        with lock:
            outcomes.append(progress.complete)

    threads = [threading.Thread(target=record, args=(part,)) for part in range(parts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    final = job_store.split_progress(split, now=NOW)
    assert final is not None and final.done == set(range(parts))
    # The worker whose part completes the set merges; the others see it incomplete.
    assert outcomes.count(True) == 1


@pytest.mark.only_backend("embedded", reason="DynamoDB's TTL deletes on its own")
def test_purge_deletes_expired_splits_and_returns_them(job_store: JobStore) -> None:
    old, live = _split_id(), _split_id()
    job_store.add_part(old, 0, 2, expires_at=NOW - 1, now=NOW - 10)
    job_store.add_part(live, 0, 2, expires_at=NOW + 1, now=NOW)
    gone = job_store.purge_expired_splits(now=NOW)
    assert [(p.split_id, p.parts) for p in gone] == [(old, 2)]
    assert job_store.split_progress(old, now=NOW - 5) is None
    assert job_store.split_progress(live, now=NOW) is not None
