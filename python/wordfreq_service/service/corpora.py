"""Corpus jobs: many jobs of the job service counted as one, for the API's ``/corpora``.

A corpus is created from its members' job IDs and tokens (holding a job's token is the
right to read it, so it is the right to put it in a corpus); every member must have
the same options. Once every member has ended, the first reader to notice merges the
members' full counts (``results/<job_id>.csv.gz``, with ``Counter.merge_csv``) and
stores the merged counts and the result (under ``results/corpora/``: ``formats.corpus``),
then marks the corpus ``done``. Two readers that notice at once both merge and store the
same bytes; the job store's conditional ``finish_corpus`` lets one of them mark it. The
corpus token, like a job's, is stored only as its hash, and an unknown corpus, an expired
one and a wrong token are the same :class:`CorpusNotFound`.

The merge runs inside the request that notices, so a corpus job holds at most
``MAX_CORPUS_JOBS`` members: what merges well within the API's time limit.
"""

from __future__ import annotations

import hmac
import io
import json
import math
import secrets
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, Final

from wordfreq_service._core import Counter
from wordfreq_service.errors import NoSuchKey
from wordfreq_service.formats import corpus as fc
from wordfreq_service.formats.job_request import JobRequest, RequestError
from wordfreq_service.formats.jobs import (
    counts_csv,
    counts_key,
    counts_metadata,
    stored_result,
    write_counter_counts,
)
from wordfreq_service.formats.results import FAILURE, SUCCESS
from wordfreq_service.ports import CorpusRecord, CorpusState, JobRecord, JobState, ObjectStore
from wordfreq_service.service.jobs import (
    JobNotFound,
    JobService,
    hash_token,
    polled,
    wait_pauses,
)

#: Members' counts read at once while merging: a merge of thousands of small objects is
#: a wait on the store far more than work.
MERGE_THREADS: Final = 16
_DUMMY_HASH: Final = hash_token("no such corpus")


class CorpusNotFound(JobNotFound):
    """No corpus with this ID for this token (unknown, expired or wrong token alike)."""


@dataclass(frozen=True)
class CorpusStatus:
    record: CorpusRecord
    #: The merged result (``formats.corpus.corpus_result``) once done.
    result: dict[str, Any] | None

    def view(self) -> dict[str, Any]:
        return fc.corpus_view(self.record.corpus_id, self.record.state.value, self.result)


@dataclass(frozen=True)
class Member:
    """A corpus member that has ended, as the merge needs it."""

    job_id: str
    status: str
    status_message: str
    #: Its result's skipped runs, added to the merged counter's.
    skipped: int = 0
    #: Its counts when its record holds them (``JobRecord.counts``); None: stored apart.
    counts: bytes | None = None


def merge_members(
    store: ObjectStore, request: JobRequest, members: Sequence[Member]
) -> tuple[Counter, list[Member]]:
    """Merge the stored counts of the ``members`` that succeeded into a new counter;
    returns it (finished) and the members as they turned out (one whose counts are gone or
    unreadable becomes a failure). Reads up to ``MERGE_THREADS`` members' counts at once, each
    thread into a counter of its own, merged at the end."""
    ok = [m for m in members if m.status == SUCCESS]
    shares = [ok[i::MERGE_THREADS] for i in range(min(MERGE_THREADS, len(ok)))]
    lost: dict[str, str] = {}

    def merge_share(share: list[Member]) -> Counter:
        counter = request.new_counter(threads=1)
        for member in share:
            try:
                if member.counts is not None:
                    counter.merge_csv(counts_csv((member.counts,)), skipped=member.skipped)
                else:
                    merge_stored(counter, store, member.job_id, member.skipped)
            except NoSuchKey:
                lost[member.job_id] = "its counts have expired"
            except UNMERGEABLE as exc:
                # One bad member must not fail the corpus for every later reader.
                lost[member.job_id] = unmergeable(exc)
        return counter

    total = request.new_counter(threads=1)
    if shares:
        with ThreadPoolExecutor(len(shares), thread_name_prefix="corpus-merge") as pool:
            for counter in pool.map(merge_share, shares):
                total.merge(counter)
    total.finish()
    settled = [
        Member(m.job_id, FAILURE, lost[m.job_id]) if m.job_id in lost else m for m in members
    ]
    return total, settled


#: What reading a member's stored counts raises when they are not counts the merge
#: takes: malformed or truncated CSV (ValueError), a corrupt gzip stream (zlib.error).
UNMERGEABLE: Final = (ValueError, zlib.error)


def unmergeable(exc: Exception) -> str:
    """A member's failure message for counts the merge refused (``UNMERGEABLE``)."""
    return f"its counts could not be merged: {exc}"


def merge_stored(counter: Counter, store: ObjectStore, job_id: str, skipped: int) -> None:
    """Add job ``job_id``'s stored counts (and its ``skipped``) into ``counter``.
    Raises NoSuchKey when they are gone."""
    with store.get(counts_key(job_id)) as reader:
        counter.merge_csv(counts_csv(reader.iter_chunks()), skipped=skipped)


def member_of(record: JobRecord | None, job_id: str) -> Member | None:
    """A member as the merge sees it: None while it has not ended; a job gone (expired)
    is a failure."""
    if record is None:
        return Member(job_id, FAILURE, "the job has expired")
    if not record.state.ended:
        return None
    result = stored_result(record)
    if result is None:
        return Member(job_id, FAILURE, "the job ended without a result")
    if record.state is not JobState.DONE or not result.ok:
        # The worker's message names the stored object (``jobs/<id>``), which the
        # corpus's owner never sees: said as "the file", as the CLI says it.
        reason = fc.failure_reason(job_id, result.status_message or "failed", record.key)
        return Member(job_id, FAILURE, reason)
    return Member(job_id, SUCCESS, result.status_message, result.skipped or 0, record.counts)


class CorpusService:
    def __init__(self, jobs: JobService, *, clock: Callable[[], float] | None = None) -> None:
        self.jobs = jobs
        self.store = jobs.backend.store
        self._clock = clock or jobs.now

    def create(self, members: Sequence[tuple[str, str]]) -> tuple[CorpusRecord, str]:
        """A new corpus of the jobs ``members`` (``(job_id, token)`` pairs). Raises
        RequestError (none, too many, a job twice, different options) and JobNotFound
        (a job unknown, expired, or not its token)."""
        if not members:
            raise RequestError("jobs: a corpus needs at least one job")
        if len(members) > fc.MAX_CORPUS_JOBS:
            raise RequestError(
                f"jobs: {len(members)} jobs; a corpus holds at most {fc.MAX_CORPUS_JOBS}"
            )
        ids = [job_id for job_id, _ in members]
        if len(set(ids)) != len(ids):
            raise RequestError("jobs: a job appears twice")
        jobs = self.jobs.find_all(members)
        options = dict(jobs[0].options)
        first = JobRequest.from_json(options)
        for job in jobs[1:]:
            if not first.counts_alike(JobRequest.from_json(job.options)):
                raise RequestError(
                    f"jobs: job {job.job_id} has other options than job {ids[0]}: a corpus "
                    "is counted with one set of options"
                )
        token = secrets.token_urlsafe(32)
        now = self._clock()
        record = CorpusRecord(
            corpus_id=fc.new_corpus_id(),
            token_hash=hash_token(token),
            options=options,
            members=tuple(ids),
            state=CorpusState.RUNNING,
            created_at=now,
            updated_at=now,
            expires_at=float(math.ceil(now + self.jobs.settings.retention_s)),
        )
        self.jobs.jobs.create_corpus(record)
        return record, token

    def find(self, corpus_id: str, token: str) -> CorpusRecord:
        now = self._clock()
        known = fc.is_corpus_id(corpus_id)
        record = self.jobs.jobs.get_corpus(corpus_id, now=now) if known else None
        expected = record.token_hash if record is not None else _DUMMY_HASH
        if not hmac.compare_digest(hash_token(token), expected) or record is None:
            raise CorpusNotFound(f"no such corpus: {corpus_id}")
        return record

    def status(self, corpus_id: str, token: str) -> CorpusStatus:
        """The corpus, merged first if every member has ended since it was last read."""
        record = self.find(corpus_id, token)
        if record.state is CorpusState.DONE:
            return CorpusStatus(record, self._stored_result(record))
        members = self._ended_members(record)
        if members is None:
            return CorpusStatus(record, None)
        return self._merge(record, members)

    def wait(
        self,
        corpus_id: str,
        token: str,
        seconds: float,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> CorpusStatus:
        return polled(
            lambda: self.status(corpus_id, token),
            lambda s: s.result is not None,
            wait_pauses(seconds),
            sleep,
        )

    def counts(self, corpus_id: str, token: str) -> Iterator[bytes]:
        """The merged counts as CSV, streamed; CorpusNotFound until the corpus is done."""
        record = self.find(corpus_id, token)
        if record.state is not CorpusState.DONE:
            raise CorpusNotFound(f"corpus {corpus_id} has no counts yet ({record.state.value})")
        held = ExitStack()
        try:
            reader = held.enter_context(self.store.get(fc.corpus_counts_key(corpus_id)))
        except NoSuchKey as exc:
            raise CorpusNotFound(f"corpus {corpus_id}'s counts have expired") from exc

        def stream() -> Iterator[bytes]:
            with held:
                yield from counts_csv(reader.iter_chunks())

        return stream()

    # -- merging -------------------------------------------------------------------------

    def _ended_members(self, record: CorpusRecord) -> list[Member] | None:
        """Every member as ended, in order; None while any is still going."""
        now = self._clock()
        found = {r.job_id: r for r in self.jobs.jobs.get_jobs(record.members, now=now)}
        members = []
        for job_id in record.members:
            job = found.get(job_id)
            member = member_of(self.jobs.settled(job, now) if job is not None else None, job_id)
            if member is None:
                return None
            members.append(member)
        return members

    def _merge(self, record: CorpusRecord, members: list[Member]) -> CorpusStatus:
        request = JobRequest.from_json(record.options)
        counter, members = merge_members(self.store, request, members)
        stop, language = request.stop_words_for(counter)
        total, unique, words = counter.report(request.top, request.report_min_length, stop)
        result = fc.corpus_result(
            total,
            unique,
            words,
            ((m.job_id, m.status, m.status_message) for m in members),
            language=language,
        )
        with tempfile.TemporaryFile() as spool:
            csv_bytes = write_counter_counts(
                counter, spool, request.report_min_length, request.stop_words()
            )
            spool.seek(0)
            self.store.put(
                fc.corpus_counts_key(record.corpus_id), spool, counts_metadata(csv_bytes)
            )
        self.store.put(fc.corpus_result_key(record.corpus_id), io.BytesIO(fc.dump_result(result)))
        done = self.jobs.jobs.finish_corpus(record.corpus_id, now=self._clock())
        # None: another reader finished it meanwhile, with the same bytes.
        current = done or self.jobs.jobs.get_corpus(record.corpus_id, now=self._clock())
        return CorpusStatus(current or record, result)

    def _stored_result(self, record: CorpusRecord) -> dict[str, Any]:
        try:
            with self.store.get(fc.corpus_result_key(record.corpus_id)) as reader:
                body = b"".join(reader.iter_chunks())
        except NoSuchKey as exc:
            raise CorpusNotFound(f"corpus {record.corpus_id}'s result has expired") from exc
        result: dict[str, Any] = json.loads(body)
        return result
