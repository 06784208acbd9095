"""The job store's corpus methods (``ports.JobStore``: ``create_corpus``, ``get_corpus``,
``finish_corpus``, ``get_jobs``, ``purge_expired_corpora``), on SQLite and on DynamoDB
(moto).

What the corpus service relies on: a corpus record comes back exactly as stored, its ID
unique; it expires as a job does; it is finished once, by one atomic step, so of two
racing merges one marks it; ``get_jobs`` reads many jobs at once, leaving out unknown
and expired ones, and never mistakes a corpus for a job.
"""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
from wordfreq_service.errors import JobExists
from wordfreq_service.formats.corpus import MAX_CORPUS_JOBS, new_corpus_id
from wordfreq_service.formats.jobs import job_key, new_job_id
from wordfreq_service.ports import CorpusRecord, CorpusState, JobRecord, JobState, JobStore

NOW = 1_800_000_000.25
EXPIRES = 1_800_604_800.0


def _corpus(members: int = 3, *, expires_at: float = EXPIRES) -> CorpusRecord:
    return CorpusRecord(
        corpus_id=new_corpus_id(),
        token_hash="cd" * 32,
        options={"mode": "words", "top": 10, "stopwords": ["the", "é"]},
        members=tuple(new_job_id() for _ in range(members)),
        state=CorpusState.RUNNING,
        created_at=NOW,
        updated_at=NOW,
        expires_at=expires_at,
    )


def _job(*, expires_at: float = EXPIRES) -> JobRecord:
    job_id = new_job_id()
    return JobRecord(
        job_id=job_id,
        key=job_key(job_id),
        options={"mode": "words"},
        size=10,
        token_hash="ab" * 32,
        state=JobState.QUEUED,
        created_at=NOW,
        updated_at=NOW,
        expires_at=expires_at,
    )


def test_a_corpus_comes_back_exactly_as_stored_even_at_its_largest(job_store: JobStore) -> None:
    for record in (_corpus(), _corpus(MAX_CORPUS_JOBS)):
        job_store.create_corpus(record)
        assert job_store.get_corpus(record.corpus_id, now=NOW) == record


def test_an_unknown_corpus_is_none_and_a_taken_id_is_refused(job_store: JobStore) -> None:
    assert job_store.get_corpus(new_corpus_id(), now=NOW) is None
    record = _corpus()
    job_store.create_corpus(record)
    with pytest.raises(JobExists):
        job_store.create_corpus(replace(record, members=("x" * 32,)))
    assert job_store.get_corpus(record.corpus_id, now=NOW) == record


def test_a_corpus_is_finished_once(job_store: JobStore) -> None:
    record = _corpus()
    job_store.create_corpus(record)
    done = job_store.finish_corpus(record.corpus_id, now=NOW + 5)
    assert done == replace(record, state=CorpusState.DONE, updated_at=NOW + 5)
    assert job_store.finish_corpus(record.corpus_id, now=NOW + 6) is None
    assert job_store.get_corpus(record.corpus_id, now=NOW) == done
    # An unknown one is not created by finishing it.
    unknown = new_corpus_id()
    assert job_store.finish_corpus(unknown, now=NOW) is None
    assert job_store.get_corpus(unknown, now=NOW) is None


def test_an_expired_corpus_is_gone_for_reads_and_writes(job_store: JobStore) -> None:
    record = _corpus(expires_at=EXPIRES)
    job_store.create_corpus(record)
    assert job_store.get_corpus(record.corpus_id, now=EXPIRES) is None
    assert job_store.finish_corpus(record.corpus_id, now=EXPIRES) is None
    assert job_store.get_corpus(record.corpus_id, now=EXPIRES - 1) == record


@pytest.mark.only_backend(
    "embedded",
    reason="moto applies DynamoDB's conditional writes without a lock across its server "
    "threads, so two racers can both win there (DynamoDB itself is atomic per item)",
)
def test_of_racing_finishes_exactly_one_wins(job_store: JobStore) -> None:
    racers = 8
    record = _corpus()
    job_store.create_corpus(record)
    start = threading.Barrier(racers)
    outcomes: list[CorpusRecord | None] = [None] * racers

    def finish(index: int) -> None:
        start.wait(timeout=10)
        outcomes[index] = job_store.finish_corpus(record.corpus_id, now=NOW + index)

    threads = [threading.Thread(target=finish, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sum(outcome is not None for outcome in outcomes) == 1, outcomes


def test_get_jobs_reads_many_leaving_out_unknown_expired_and_corpora(job_store: JobStore) -> None:
    live = [_job() for _ in range(130)]  # more than one DynamoDB batch (100 keys)
    expired = _job(expires_at=float(int(NOW)))  # whole seconds, as DynamoDB keeps them
    corpus = _corpus()
    for record in [*live, expired]:
        job_store.create(record)
    job_store.create_corpus(corpus)
    asked = [r.job_id for r in live] + [expired.job_id, new_job_id(), corpus.corpus_id]
    found = job_store.get_jobs(asked, now=NOW)
    assert sorted(found, key=lambda r: r.job_id) == sorted(live, key=lambda r: r.job_id)
    assert job_store.get_jobs([], now=NOW) == []


@pytest.mark.only_backend("embedded", reason="DynamoDB's TTL deletes on its own")
def test_purge_deletes_expired_corpora_and_names_them(job_store: JobStore) -> None:
    expired, live = _corpus(expires_at=NOW), _corpus(expires_at=NOW + 1)
    job_store.create_corpus(expired)
    job_store.create_corpus(live)
    assert job_store.purge_expired_corpora(now=NOW) == [expired.corpus_id]
    assert job_store.get_corpus(expired.corpus_id, now=NOW - 10) is None
    assert job_store.get_corpus(live.corpus_id, now=NOW) == live


@pytest.mark.only_backend("aws", reason="the embedded store deletes when asked")
def test_purge_of_corpora_leaves_expiry_to_dynamodb(job_store: JobStore) -> None:
    record = _corpus(expires_at=NOW - 1)
    job_store.create_corpus(record)
    assert job_store.purge_expired_corpora(now=NOW) == []
    assert job_store.get_corpus(record.corpus_id, now=NOW) is None
